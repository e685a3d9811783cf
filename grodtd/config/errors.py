"""The one exception configuration raises."""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` holds one operator-facing line each.

    Every problem names where the bad value came from (a file, an environment variable or a
    secret file), the key, and what to do. Collecting all of them at once spares the operator a
    fix-one-rerun-find-the-next loop; ``grodt`` prints them and exits with code 2.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems) or "invalid configuration")
