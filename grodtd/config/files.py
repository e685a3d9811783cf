"""Reading the YAML layers: configs/*.yaml, configs/environments/<env>.yaml, named overlays."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from grodtd.config.layers import Layers

# The base files, lowest first, and the top-level sections each may hold (None: any section
# that does not belong to another file). Splitting the domain tuning from the operational
# settings lets an operator diff "what the bot trades" separately from "where it runs".
BASE_FILES: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("settings.yaml", None),
    ("risk.yaml", frozenset({"risk"})),
    ("regime.yaml", frozenset({"regime"})),
    ("strategies.yaml", frozenset({"indicators", "strategies"})),
)
_HOME = {
    section: name for name, sections in BASE_FILES if sections is not None for section in sections
}
# Keys no file may set, and why (the reason is the fix shown to the operator).
_NOT_IN_FILES = {
    "environment": "the environment is chosen with GRODT_ENV, not in a file",
    "config_dir": "the configuration directory is chosen with GRODT_CONFIG_DIR",
    "secrets": (
        "secrets are never read from configuration files: use GRODT_<NAME>_FILE or "
        "/run/secrets/grodt_<name> (see docs/configuration.md)"
    ),
}
_OVERLAY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping.

    Plain YAML keeps the last one silently, so a second `risk_per_trade:` further down a file
    would quietly win over the one the operator is editing.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """The mapping in ``path``, or None after appending a one-line problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read the file ({_reason(exc)}): check its permissions")
        return None
    try:
        # _StrictLoader is a SafeLoader: no arbitrary Python objects are constructed.
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(f"{path}: {where}invalid YAML: {what}")
        return None
    if data is None:  # an empty file, or only comments
        return {}
    if not isinstance(data, dict):
        problems.append(
            f"{path}: must hold a mapping of keys (got a {type(data).__name__}): "
            "write `section:` followed by indented `key: value` lines"
        )
        return None
    return data


def apply_base_files(config_dir: Path, layers: Layers, problems: list[str]) -> None:
    """The four base files; a missing one simply leaves the built-in defaults in place."""
    for name, allowed in BASE_FILES:
        path = config_dir / name
        if not path.exists():
            continue
        data = load_yaml(path, problems)
        if data is None:
            continue
        kept = {}
        for key, value in data.items():
            if allowed is None and key in _HOME:
                problems.append(
                    f"{path}: {key}: belongs in {config_dir / _HOME[key]}: move the section there"
                )
            elif allowed is not None and key not in allowed and key not in _NOT_IN_FILES:
                home = config_dir / _HOME.get(str(key), "settings.yaml")
                only = ", ".join(sorted(allowed))
                problems.append(
                    f"{path}: {key}: this file holds only {only}: "
                    f"move the section to {home} or fix the spelling"
                )
            else:
                kept[key] = value
        _apply_checked(kept, path, layers, problems)


def apply_environment_overlay(
    config_dir: Path, environment: str, layers: Layers, problems: list[str]
) -> None:
    """configs/environments/<env>.yaml over the merged base files, if the file exists."""
    path = config_dir / "environments" / f"{environment}.yaml"
    if path.exists():
        data = load_yaml(path, problems)
        if data is not None:
            _apply_checked(data, path, layers, problems)


def apply_named_overlays(config_dir: Path, names: str, layers: Layers, problems: list[str]) -> None:
    """GRODT_CONFIG_OVERLAYS="docker,local": each named file must exist, in that order."""
    base = {name.removesuffix(".yaml") for name, _ in BASE_FILES}
    for name in (n.strip() for n in names.split(",")):
        if not name:
            continue
        if not _OVERLAY_NAME.match(name) or name in base:
            problems.append(
                f"environment variable GRODT_CONFIG_OVERLAYS: {name!r} is not an overlay name: "
                f"give file stems of {config_dir} such as docker (not {', '.join(sorted(base))})"
            )
            continue
        path = config_dir / f"{name}.yaml"
        if not path.is_file():
            problems.append(
                f"environment variable GRODT_CONFIG_OVERLAYS: overlay {name!r} needs {path}, "
                "which does not exist: create it or remove the name"
            )
            continue
        data = load_yaml(path, problems)
        if data is not None:
            _apply_checked(data, path, layers, problems)


def _apply_checked(
    data: Mapping[str, Any], path: Path, layers: Layers, problems: list[str]
) -> None:
    kept = {}
    for key, value in data.items():
        if key in _NOT_IN_FILES:
            problems.append(f"{path}: {key}: {_NOT_IN_FILES[key]}")
        elif key == "database_url" and _has_password(value):
            problems.append(
                f"{path}: database_url: holds a password: move the URL to a secret file "
                "named by GRODT_DATABASE_URL_FILE (or /run/secrets/grodt_database_url)"
            )
        else:
            kept[key] = value
    layers.apply(kept, str(path))


def _has_password(value: object) -> bool:
    try:
        return isinstance(value, str) and bool(urlsplit(value).password)
    except ValueError:
        return False


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


def check_unknown_files(
    config_dir: Path, environments: tuple[str, ...], problems: list[str], warnings: list[str]
) -> None:
    """Files in the configuration directory that GRODT would not read.

    A ``risk.yml`` (or ``environments/production.yaml``) is almost always a setting the
    operator believes is in force, so it is an error rather than a silently ignored file;
    anything else (notes, backups) only earns a warning. Every other ``*.yaml`` at the top
    is a possible named overlay (GRODT_CONFIG_OVERLAYS) and is fine.
    """
    for path in sorted(config_dir.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            # fleet/ holds the Swarm fleet's file and its bots' overlays: scripts/fleet.sh
            # reads it and mounts one overlay into each bot, the daemon never looks inside.
            if path.name not in _KNOWN_DIRS:
                warnings.append(f"{path}: a directory GRODT does not read (only environments/)")
            continue
        _check_file(path, path.suffix == ".yaml", problems, warnings)
    env_dir = config_dir / "environments"
    if not env_dir.is_dir():
        return
    for path in sorted(env_dir.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        known = path.suffix == ".yaml" and path.stem in environments
        if path.suffix == ".yaml" and not known:
            problems.append(
                f"{path}: not an environment, so it is never read: GRODT_ENV is one of "
                f"{', '.join(environments)}; rename the file to one of them or remove it"
            )
            continue
        _check_file(path, known, problems, warnings)


_KNOWN_DIRS = frozenset({"environments", "fleet"})


def _check_file(path: Path, known: bool, problems: list[str], warnings: list[str]) -> None:
    if known:
        return
    if path.suffix == ".yml":
        problems.append(
            f"{path}: GRODT reads only .yaml files, so this one is ignored: rename it to "
            f"{path.with_suffix('.yaml').name}"
        )
    else:
        warnings.append(f"{path}: not a configuration file; GRODT ignores it")
