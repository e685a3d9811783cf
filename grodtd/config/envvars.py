"""GRODT_* environment variables and secret files, the two highest layers.

Mapping: ``GRODT_<SECTION>__<KEY>`` (double underscore nests, names upper-cased) sets
``section.key``; a handful of flat names from the product contract (``GRODT_WEB_PORT``...) are
aliases. Every other ``GRODT_`` variable is an error, so a misspelt override cannot be ignored.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from grodtd.config.layers import KeyPath, Layers

PREFIX = "GRODT_"
# Read by the loader itself before any layer is merged.
LOADER_VARIABLES = frozenset({"GRODT_ENV", "GRODT_CONFIG_DIR", "GRODT_CONFIG_OVERLAYS"})
# GRODT_ variables that are not settings: the revision the image build stamps in
# (grodtd.ops.version) and the interpreter scripts/bootstrap.sh is told to use.
PROCESS_VARIABLES = frozenset({"GRODT_REVISION", "GRODT_PYTHON"})
_NOT_SETTINGS = LOADER_VARIABLES | PROCESS_VARIABLES
# Secret name -> key path. Each is also read from GRODT_<NAME>_FILE and the secrets directory.
SECRETS: dict[str, KeyPath] = {
    "control_token": ("secrets", "control_token"),
    "database_url": ("database_url",),
    # The exchange account's API key pair (live trading): files only, never a variable.
    "exchange_api_key": ("secrets", "exchange_api_key"),
    "exchange_api_secret": ("secrets", "exchange_api_secret"),
}
FLAT: dict[str, KeyPath] = {
    "WEB_HOST": ("web", "host"),
    "WEB_PORT": ("web", "port"),
    "METRICS_HOST": ("metrics", "host"),
    "METRICS_PORT": ("metrics", "port"),
    "LOG_LEVEL": ("log", "level"),
    "LOG_FORMAT": ("log", "format"),
    "DATA_DIR": ("data_dir",),
    "DATABASE_URL": ("database_url",),
    "CONTROL_TOKEN": ("secrets", "control_token"),
}
_LOADER_KEYS = {"environment": "GRODT_ENV", "config_dir": "GRODT_CONFIG_DIR"}


def apply_environment(
    env: Mapping[str, str], model: type[BaseModel], layers: Layers, problems: list[str]
) -> None:
    """Every GRODT_* variable except the loader's own and the *_FILE secret pointers.

    An empty value counts as unset: compose files often pass ``GRODT_X=${X:-}``.
    """
    seen: dict[KeyPath, tuple[str, str]] = {}
    secret_files = {f"{PREFIX}{name.upper()}_FILE" for name in SECRETS}
    for name in sorted(env):
        raw = env[name]
        if not name.startswith(PREFIX) or name in _NOT_SETTINGS or name in secret_files:
            continue
        if raw == "":
            continue
        label = f"environment variable {name}"
        path = _path_for(name[len(PREFIX) :], model)
        if path is None:
            problems.append(f"{label}: not a GRODT setting: {_suggest(name, model)}")
            continue
        if path[0] in _LOADER_KEYS:
            problems.append(f"{label}: use {_LOADER_KEYS[path[0]]} instead")
            continue
        if path in seen and seen[path][1] != raw:
            problems.append(
                f"{label}: conflicts with {seen[path][0]} (both set {'.'.join(path)}): "
                "unset one of them"
            )
            continue
        seen[path] = (name, raw)
        try:
            value = _parse(raw, _annotation(model, path))
        except ValueError as exc:
            problems.append(f"{label}: {'.'.join(path)}: {exc}")
            continue
        layers.set(path, value, label)


def apply_secret_files(
    env: Mapping[str, str],
    secrets_dir: Path,
    layers: Layers,
    problems: list[str],
    warnings: list[str] | None = None,
) -> None:
    """GRODT_<NAME>_FILE, else <secrets_dir>/grodt_<name> (Docker and Compose secrets).

    A secret file any user of the machine may read earns a warning (not an error: the
    operator may have reasons). Files under ``secrets_dir`` are exempt: there the
    orchestrator mounts them into this container alone, with its own modes (Swarm: 0444).
    """
    for name, path in SECRETS.items():
        variable = f"{PREFIX}{name.upper()}_FILE"
        pointer = env.get(variable, "")
        if pointer:
            file, label = Path(pointer), f"environment variable {variable}"
        else:
            file, label = secrets_dir / f"grodt_{name}", ""
            if not file.exists():
                continue
        try:
            value = read_secret(file)
        except ValueError as exc:
            prefix = f"{label}: " if label else ""
            problems.append(f"{prefix}secret file {file}: {exc}")
            continue
        layers.set(path, value, f"secret file {file}")
        if warnings is not None and _world_readable(file) and not _under(file, secrets_dir):
            warnings.append(
                f"secret file {file} is readable by every user of this machine "
                f"(mode {file.stat().st_mode & 0o777:04o}): run `chmod 600 {file}` "
                "(or 640 with the daemon's group)"
            )


def _world_readable(file: Path) -> bool:
    try:
        return bool(file.stat().st_mode & 0o004)
    except OSError:
        return False


def _under(file: Path, directory: Path) -> bool:
    try:
        return file.resolve().is_relative_to(directory.resolve())
    except OSError:
        return False


def read_secret(file: Path) -> str:
    """The file's text minus one trailing newline (what `echo x > file` adds)."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError("does not exist: create it or fix the path") from None
    except UnicodeDecodeError:
        raise ValueError("is not UTF-8 text") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(
            f"cannot be read ({reason}): make it readable by uid/gid of the daemon"
        ) from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise ValueError("is empty: write the secret into it")
    return text


def known_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys valid at ``loc`` (for "did you mean" hints); empty if ``loc`` is not a model."""
    target = _annotation(model, tuple(str(part) for part in loc))
    return list(target.model_fields) if _is_model(target) else []


def _path_for(rest: str, model: type[BaseModel]) -> KeyPath | None:
    if "__" in rest:
        parts = tuple(part.lower() for part in rest.split("__"))
        return parts if all(parts) else None
    if rest in FLAT:
        return FLAT[rest]
    key = rest.lower()
    field = model.model_fields.get(key)
    if field is not None and not _is_model(_unwrap(field.annotation)):
        return (key,)
    return None


def _suggest(name: str, model: type[BaseModel]) -> str:
    candidates = [PREFIX + flat for flat in FLAT] + sorted(LOADER_VARIABLES)
    candidates += [f"{PREFIX}{secret.upper()}_FILE" for secret in SECRETS]
    for section, field in model.model_fields.items():
        sub = _unwrap(field.annotation)
        if _is_model(sub):
            candidates += [f"{PREFIX}{section.upper()}__{key.upper()}" for key in sub.model_fields]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"{hint}unset it, or see the table in docs/configuration.md"


def _parse(raw: str, annotation: Any) -> Any:
    text = raw.strip()
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if typing.get_origin(annotation) in (list, tuple, set, frozenset):
        return [item.strip() for item in text.split(",") if item.strip()]
    return raw


def _annotation(model: type[BaseModel], path: KeyPath) -> Any:
    current: Any = model
    for part in path:
        if not _is_model(current) or part not in current.model_fields:
            return None
        current = _unwrap(current.model_fields[part].annotation)
    return current


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``: optional sections and keys are looked through."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)
