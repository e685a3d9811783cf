"""The start-up check that the data directory is really writable."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from grodtd.config.errors import ConfigError


def check_data_dir(path: Path) -> None:
    """Create the directory if needed, then create and remove a file in it.

    Permission bits are not consulted (``os.access``) because they lie: root bypasses them, a
    read-only mount or volume ignores them, and ACLs add to them. Only a real write tells the
    truth. The usual failure in a container is a volume owned by another uid, hence the chown
    in the message (OPS-7).
    """
    uid, gid = os.getuid(), os.getgid()
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".grodt-write-check-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            [
                f"data directory {path} is not writable by uid {uid} gid {gid}: run "
                f"`sudo chown -R {uid}:{gid} <the host directory or volume>` "
                f"(or mount a writable volume); the system said: {reason}"
            ]
        ) from None
