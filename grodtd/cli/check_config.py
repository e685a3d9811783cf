"""`grodt check-config`: validate, print the effective settings, the files read, the sources."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from grodtd.cli.common import EXIT_CONFIG, EXIT_OK, Commands, load, print_problems

if TYPE_CHECKING:
    from grodtd.config import LoadedConfig


def cmd_check_config(args: argparse.Namespace) -> int:
    import yaml

    loaded = load()
    settings = loaded.settings
    effective = settings.redacted()
    if args.sources is not None:
        _print_sources(loaded, effective, args.sources)
    elif args.json:
        print(json.dumps(effective, indent=2, sort_keys=True, default=str))
    else:
        print(yaml.safe_dump(effective, sort_keys=True, default_flow_style=False), end="")
    for source in loaded.sources:
        print(f"grodt: read {source}", file=sys.stderr)
    for warning in loaded.warnings:
        print(f"grodt: warning: {warning}", file=sys.stderr)
    mode, why = settings.trading_mode()
    print(f"grodt: trading {mode} ({why})", file=sys.stderr)
    print(f"grodt: configuration in {settings.config_dir} is valid", file=sys.stderr)
    return EXIT_OK


def _print_sources(loaded: LoadedConfig, effective: dict[str, Any], prefix: str) -> None:
    """One line per effective value: key, value (secrets redacted) and where it came from."""
    rows: list[tuple[str, str, str]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict) and node:
            for key in sorted(node):
                walk(node[key], (*path, str(key)))
            return
        dotted = ".".join(path)
        if dotted == prefix or dotted.startswith(prefix + ".") or not prefix:
            source = loaded.source_of(path)
            rows.append((dotted, json.dumps(node, default=str), source))

    walk(effective, ())
    if not rows:
        print_problems([f"check-config --sources {prefix}: no such key; try without a key"])
        raise SystemExit(EXIT_CONFIG)
    width = max(len(key) for key, _, _ in rows)
    for key, value, source in rows:
        print(f"{key:<{width}}  {value}  # {source}")


def register(commands: Commands) -> None:
    check = commands.add_parser(
        "check-config", help="validate the configuration and print it, secrets redacted"
    )
    check.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    check.add_argument(
        "--sources",
        nargs="?",
        const="",
        metavar="KEY",
        help="show where each effective value comes from (file, overlay, variable or "
        "default); KEY such as market or risk.risk_per_trade narrows the list",
    )
    check.set_defaults(handler=cmd_check_config)
