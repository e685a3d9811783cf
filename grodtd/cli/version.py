"""`grodt version`: the version, the revision and whether the core runs compiled."""

from __future__ import annotations

import argparse
import json

from grodtd.cli.common import EXIT_OK, Commands


def cmd_version(args: argparse.Namespace) -> int:
    from grodtd.ops.version import core_build, revision, version

    if args.json:
        print(json.dumps({"version": version(), "revision": revision(), "core": core_build()}))
    else:
        print(f"grodt {version()} ({revision()}, {core_build()} core)")
    return EXIT_OK


def register(commands: Commands) -> None:
    ver = commands.add_parser(
        "version", help="print the version, the revision and whether the core is compiled"
    )
    ver.add_argument("--json", action="store_true")
    ver.set_defaults(handler=cmd_version)
