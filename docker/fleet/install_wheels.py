"""Unpack hash-checked wheels into a site-packages tree (docker/fleet/Dockerfile).

Usage: install_wheels.py REQUIREMENTS TARGET WHEEL...

REQUIREMENTS is `uv export` output: every wheel's sha256 must be one of its --hash values,
else nothing is installed. Only wheels without a .data directory are accepted: those are
installed completely by unpacking (no scripts, headers or data files to place elsewhere).
"""

import hashlib
import re
import sys
import zipfile
from pathlib import Path


def main(requirements: str, target: str, *wheels: str) -> int:
    allowed = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", Path(requirements).read_text()))
    if not wheels:
        print("install_wheels: no wheels given", file=sys.stderr)
        return 1
    for wheel in wheels:
        digest = hashlib.sha256(Path(wheel).read_bytes()).hexdigest()
        if digest not in allowed:
            print(
                f"install_wheels: {wheel} (sha256 {digest}) is not in {requirements}",
                file=sys.stderr,
            )
            return 1
        with zipfile.ZipFile(wheel) as archive:
            if any(".data/" in name for name in archive.namelist()):
                print(
                    f"install_wheels: {wheel} has a .data directory: install it with pip",
                    file=sys.stderr,
                )
                return 1
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(target)
        print(f"install_wheels: {Path(wheel).name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
