"""``load_settings``: merge every layer, validate once, report every problem at once.

The layers are merged here rather than with pydantic-settings' sources because an operator's
error must name the file or variable that supplied the bad value, and those sources do not
say where a value came from; the environment is also passed in as a mapping so tests never
touch ``os.environ``. Pydantic does all of the validation.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from grodtd.config.envvars import (
    SECRETS,
    apply_environment,
    apply_secret_files,
    known_keys,
)
from grodtd.config.errors import ConfigError
from grodtd.config.files import (
    apply_base_files,
    apply_environment_overlay,
    apply_named_overlays,
    check_unknown_files,
)
from grodtd.config.layers import DEFAULTS, KeyPath, Layers
from grodtd.config.models import ENVIRONMENTS, Settings

DEFAULT_SECRETS_DIR = Path("/run/secrets")
_SECRET_PATHS = {path for path in SECRETS.values()}


# A value given on the command line: (key path, value, label such as "option --symbols").
Override = tuple[KeyPath, Any, str]


@dataclass(frozen=True)
class LoadedConfig:
    """The settings plus what an operator asks about them: which files were read, where
    each value came from, and files in the configuration directory that were not read."""

    settings: Settings
    layers: Layers
    warnings: tuple[str, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """Every layer that was applied, lowest first (files, variables, secret files)."""
        return tuple(self.layers.sources)

    def source_of(self, path: KeyPath) -> str:
        """The file, variable or option that set ``path``; ``built-in defaults`` if none."""
        hit = self.layers.origin.get(path)
        return hit[1] if hit is not None else DEFAULTS


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    secrets_dir: Path = DEFAULT_SECRETS_DIR,
    overrides: Sequence[Override] = (),
) -> Settings:
    """Build the settings from, lowest first: built-in defaults, configs/settings.yaml,
    risk.yaml, regime.yaml, strategies.yaml, environments/<GRODT_ENV>.yaml, the overlays named
    in GRODT_CONFIG_OVERLAYS, GRODT_* variables, secret files, then command-line ``overrides``.

    ``env`` defaults to ``os.environ``; tests pass a dict and their own ``secrets_dir``.
    Raises ConfigError listing every problem found, each naming its file or variable and key.
    """
    return load_config(env, secrets_dir=secrets_dir, overrides=overrides).settings


def load_config(
    env: Mapping[str, str] | None = None,
    *,
    secrets_dir: Path = DEFAULT_SECRETS_DIR,
    overrides: Sequence[Override] = (),
) -> LoadedConfig:
    """``load_settings`` with the provenance of every value (``grodt check-config``)."""
    env = dict(os.environ if env is None else env)
    environment = env.get("GRODT_ENV") or "dev"
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            [
                f"environment variable GRODT_ENV: must be one of {', '.join(ENVIRONMENTS)} "
                f"(got {environment!r})"
            ]
        )
    config_dir = Path(env.get("GRODT_CONFIG_DIR") or "configs")
    if not config_dir.is_dir():
        where = "environment variable GRODT_CONFIG_DIR"
        if not env.get("GRODT_CONFIG_DIR"):
            where = f"default configuration directory (working directory {Path.cwd()})"
        raise ConfigError(
            [
                f"{where}: configuration directory {config_dir} does not exist or is not a "
                "directory: set GRODT_CONFIG_DIR to the directory holding settings.yaml"
            ]
        )

    problems: list[str] = []
    warnings: list[str] = []
    layers = Layers()
    check_unknown_files(config_dir, ENVIRONMENTS, problems, warnings)
    apply_base_files(config_dir, layers, problems)
    apply_environment_overlay(config_dir, environment, layers, problems)
    apply_named_overlays(config_dir, env.get("GRODT_CONFIG_OVERLAYS", ""), layers, problems)
    apply_environment(env, Settings, layers, problems)
    apply_secret_files(env, secrets_dir, layers, problems, warnings)
    for path, value, label in overrides:
        layers.set(path, value, label)

    tree: dict[str, Any] = {**layers.tree, "environment": environment, "config_dir": config_dir}
    for key, variable in (("environment", "GRODT_ENV"), ("config_dir", "GRODT_CONFIG_DIR")):
        if env.get(variable):
            layers.origin[(key,)] = (0, f"environment variable {variable}")
    try:
        settings = Settings.model_validate(tree)
    except ValidationError as exc:
        problems += [_describe(error, layers) for error in exc.errors(include_url=False)]
    else:
        for paths, message in settings.cross_problems():
            path, source = layers.latest_source(paths)
            problems.append(f"{source}: {'.'.join(path)}: {message}")
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(settings, layers, tuple(warnings))


def _describe(error: ErrorDetails, layers: Layers) -> str:
    """One line: where the value came from, the key, what is wrong, what was given."""
    loc = error["loc"]
    key = ".".join(str(part) for part in loc) or "(top level)"
    source = layers.source_of(loc)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "conflict":
        here = tuple(str(part) for part in loc)
        involved = (here, *((*here[:-1], sibling) for sibling in ctx["siblings"]))
        _, source = layers.latest_source(involved)
        return f"{source}: {key}: {error['msg']}"
    if kind == "extra_forbidden":
        known = known_keys(Settings, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        listing = f" (valid keys here: {', '.join(known)})" if known and not close else ""
        return f"{source}: {key}: unknown key: {hint}fix the spelling or remove it{listing}"
    message = _MESSAGES.get(kind, "")
    if message:
        message = message.format(**ctx)
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        if message.startswith("Input should be"):
            message = "must be" + message.removeprefix("Input should be")
    secret = tuple(str(p) for p in loc[:2]) in _SECRET_PATHS or (str(loc[0]),) in _SECRET_PATHS
    if secret or kind in ("value_error", "missing") or "(got " in message:
        return f"{source}: {key}: {message}"
    return f"{source}: {key}: {message} (got {_show(error.get('input'))})"


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict | list):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


# Pydantic's wording rewritten as a rule the operator can act on.
_MESSAGES = {
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text (quote it in YAML)",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "must match {pattern}",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} items",
    "list_type": "must be a list (YAML `[a, b]`, or `a,b` in an environment variable)",
    "dict_type": "must be a mapping of keys",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
    "datetime_parsing": "must be an ISO 8601 time such as 2025-01-01T00:00:00Z",
    "datetime_from_date_parsing": "must be an ISO 8601 time such as 2025-01-01T00:00:00Z",
    "datetime_type": "must be an ISO 8601 time such as 2025-01-01T00:00:00Z",
    "path_type": "must be a path",
    "missing": "is required",
}
