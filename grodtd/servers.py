"""Embedded uvicorn servers that share the daemon's event loop.

uvicorn normally installs its own SIGTERM/SIGINT handlers and re-raises the signal after
shutting down; inside GRODT the composition root owns signals (it must flip readiness and
drain the engine first), so those handlers are switched off here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import Any

import uvicorn


class EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def embedded_server(app: Any, host: str, port: int) -> EmbeddedServer:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        # Logging is configured once by grodtd.logs; uvicorn must not replace it.
        log_config=None,
        # grodtd.web_app logs each request itself, with the request id.
        access_log=False,
        # OPS-4: no Server header.
        server_header=False,
        date_header=True,
        lifespan="off",
        # The C parser, named rather than "auto" so that a missing httptools fails loudly
        # instead of silently falling back to the slower pure-Python h11.
        http="httptools",
        timeout_graceful_shutdown=2,
    )
    return EmbeddedServer(config)
