"""What every command shares: the exit codes, the one-line error contract, loading settings.

Exit codes are a contract (DESIGN.md): 0 after a clean stop, 2 for a configuration problem
(one line per problem on stderr, naming the file and the key), 1 for any other fatal error.
Configuration errors are printed plainly rather than logged as JSON because the log format is
itself configuration that could not be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from grodtd.config import LoadedConfig

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_CONFIG = 2
# A backtest longer than ten years of 1-minute bars is a typo, not a plan.
MAX_BACKTEST_DAYS = 3650.0


class Parser(argparse.ArgumentParser):
    """argparse with the CLI's error contract: one line naming the option, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"{self.prog}: {message} (see {self.prog} --help)\n")


def print_problems(problems: Sequence[str]) -> None:
    for problem in problems:
        print(f"grodt: {problem}", file=sys.stderr)


def load(overrides: Sequence[tuple[tuple[str, ...], Any, str]] = ()) -> LoadedConfig:
    # Imported here: `grodt healthcheck`, which Docker runs every few seconds, must start fast
    # and needs neither pydantic nor YAML.
    from grodtd.config import load_config

    return load_config(overrides=overrides)


# What ``register(commands)`` of every command module receives: the subcommand table (a lazy
# alias: the class is generic only to the type checker, never subscripted at run time).
type Commands = argparse._SubParsersAction[argparse.ArgumentParser]
