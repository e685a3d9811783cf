"""The daemon's configuration API; the implementation lives in ``grodtd.settings``.

Layers, lowest first: built-in defaults, configs/settings.yaml, risk.yaml, regime.yaml,
strategies.yaml, configs/environments/<GRODT_ENV>.yaml, the overlays named in
GRODT_CONFIG_OVERLAYS, GRODT_* environment variables, secret files.
"""

from grodtd.settings import (
    REDACTED,
    ConfigError,
    LoadedConfig,
    Settings,
    check_data_dir,
    load_config,
    load_settings,
)

__all__ = [
    "REDACTED",
    "ConfigError",
    "LoadedConfig",
    "Settings",
    "check_data_dir",
    "load_config",
    "load_settings",
]
