"""Typed configuration: YAML layers, GRODT_* variables and secret files (docs/configuration.md).

Import from ``grodtd.config``; this package is its implementation, split by job.
"""

from grodtd.config.datadir import check_data_dir
from grodtd.config.errors import ConfigError
from grodtd.config.loader import LoadedConfig, load_config, load_settings
from grodtd.config.models import REDACTED, Settings

__all__ = [
    "REDACTED",
    "ConfigError",
    "LoadedConfig",
    "Settings",
    "check_data_dir",
    "load_config",
    "load_settings",
]
