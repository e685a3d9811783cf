"""`grodt version`: the version, the revision and whether the core runs compiled."""

from __future__ import annotations

import argparse
import json

from grodtd.cli.common import EXIT_OK


def cmd_version(args: argparse.Namespace) -> int:
    from grodtd.ops.version import core_build, revision, version

    if args.json:
        print(json.dumps({"version": version(), "revision": revision(), "core": core_build()}))
    else:
        print(f"grodt {version()} ({revision()}, {core_build()} core)")
    return EXIT_OK
