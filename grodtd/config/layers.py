"""The merged configuration tree and where each of its values came from.

Validation errors have to name the file or variable that set the bad value, but pydantic only
knows the key path. So every layer records, per key path it touches, a label such as
``configs/risk.yaml`` or ``environment variable GRODT_WEB_PORT``; an error's location is then
looked up here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KeyPath = tuple[str, ...]
DEFAULTS = "built-in defaults"


@dataclass
class Layers:
    """A deep-merged tree plus, for every key path set, (layer rank, source label)."""

    tree: dict[str, Any] = field(default_factory=dict)
    origin: dict[KeyPath, tuple[int, str]] = field(default_factory=dict)
    # Every layer applied, lowest first (a file that set nothing is still listed).
    sources: list[str] = field(default_factory=list)
    _rank: int = 0

    def apply(self, data: Mapping[str, Any], source: str) -> None:
        """Merge ``data`` over the tree: mappings merge key by key, anything else replaces."""
        self._rank += 1
        if source not in self.sources:
            self.sources.append(source)
        self._merge(self.tree, data, (), source)

    def set(self, path: KeyPath, value: Any, source: str) -> None:
        """Set one key (creating parents), as a layer of its own."""
        nested: Any = value
        for key in reversed(path):
            nested = {key: nested}
        self.apply(nested, source)

    def source_of(self, loc: tuple[str | int, ...]) -> str:
        """The label of the layer that set ``loc`` (or its nearest recorded parent)."""
        path = tuple(str(part) for part in loc)
        for end in range(len(path), 0, -1):
            hit = self.origin.get(path[:end])
            if hit is not None:
                return hit[1]
        return DEFAULTS

    def latest_source(self, paths: tuple[KeyPath, ...]) -> tuple[KeyPath, str]:
        """Of several keys, the one set by the highest layer: the likeliest culprit."""
        ranked = [(self.origin.get(p, (0, DEFAULTS)), p) for p in paths]
        (_, label), path = max(ranked, key=lambda item: item[0][0])
        return path, label

    def _merge(
        self, target: dict[str, Any], data: Mapping[str, Any], prefix: KeyPath, source: str
    ) -> None:
        for raw_key, value in data.items():
            key = str(raw_key)
            path = (*prefix, key)
            self.origin[path] = (self._rank, source)
            if isinstance(value, Mapping) and isinstance(target.get(key), dict):
                self._merge(target[key], value, path, source)
            elif isinstance(value, Mapping):
                target[key] = {}
                self._merge(target[key], value, path, source)
            else:
                target[key] = copy.deepcopy(value)
