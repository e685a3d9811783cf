"""Logging: every logger in the process writes one JSON object per line (OPS-3).

structlog loggers and stdlib loggers (uvicorn, alembic, SQLAlchemy, warnings) end in the same
handler on the root logger, whose ``structlog.stdlib.ProcessorFormatter`` renders both. Keys:
``timestamp`` (ISO 8601, UTC, ``Z``), ``level``, ``event``, ``logger``, the context bound with
``structlog.contextvars`` (request_id, symbol, strategy, order_id...), and ``exception`` as one
JSON string when there is one. The last step before rendering replaces every configured secret
value, wherever it appears, with ``**********``.

Uvicorn: pass ``log_config=uvicorn_log_config()`` (None) to ``uvicorn.Config``, so uvicorn
keeps its loggers handler-less and they propagate here. SQLAlchemy: never set ``echo=True``,
which attaches a plain-text handler of its own.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from grodtd.config import REDACTED

# Third-party loggers that may have handlers of their own (uvicorn's dictConfig, a library's
# basicConfig) or propagate=False: they are reset to hand every record to the root handler.
ROUTED_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "uvicorn.asgi",
    "alembic",
    "sqlalchemy",
    "sqlalchemy.engine",
    "py.warnings",
)
# Libraries that are chatty below WARNING: SQLAlchemy logs every statement at INFO, asyncio
# and httpx narrate routine work, ccxt and urllib3 log every exchange request at DEBUG (nine
# lines in ten of a dev daemon on an exchange). They stay at WARNING or above whatever the
# daemon's level; the exchange's health is in /ready and the grodt_exchange_* metrics.
QUIET_LOGGERS = (
    "sqlalchemy",
    "asyncio",
    "httpx",
    "httpcore",
    "alembic.runtime.plugins",
    "ccxt",
    "urllib3",
)
# Marks the handler this module installs, so reconfiguring replaces it instead of adding one.
_HANDLER_FLAG = "_grodt_handler"


class Redactor:
    """Replaces each secret substring in every string of an event, keys and nesting included.

    Longest secrets first, so a URL containing a password is hidden whole before the password
    alone is looked for. Objects that are not JSON values are turned into text first: their
    ``repr`` could carry a secret past a type-based check.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        if not self._secrets:
            return event_dict
        return {self._text(str(k)): self._clean(v) for k, v in event_dict.items()}

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {self._text(str(k)): self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._clean(v) for v in value]
        return self._text(str(value))

    def _text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def _drop_internal(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """ProcessorFormatter's bookkeeping keys must not reach the output."""
    event_dict.pop("_record", None)
    event_dict.pop("_from_structlog", None)
    event_dict.pop("positional_args", None)
    return event_dict


def _lead_with_essentials(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """timestamp, level, logger, event first: what a person scanning raw lines reads."""
    head = {key: event_dict.pop(key) for key in _LEADING_KEYS if key in event_dict}
    return {**head, **event_dict}


_LEADING_KEYS = ("timestamp", "level", "logger", "event")


def configure_logging(
    level: str = "INFO",
    fmt: str = "json",
    secrets: Sequence[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Route every logger of the process to one handler on ``stream`` (default: stdout).

    Safe to call again (tests do, the CLI does once settings are loaded): the previous handler
    installed here is removed and structlog is reconfigured; loggers obtained earlier follow.
    """
    stream = sys.stdout if stream is None else stream
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR")

    # Run for records of both origins, before the renderer.
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    elif fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
    else:
        raise ValueError(f"unknown log format {fmt!r}: use json or console")

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            _drop_internal,
            structlog.processors.format_exc_info,
            structlog.processors.StackInfoRenderer(),
            Redactor(secrets),
            _lead_with_essentials,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_FLAG, True)

    root = logging.getLogger()
    # Other handlers on the root logger are left alone: pytest's capture lives there, and the
    # daemon itself never installs one elsewhere.
    for old in [h for h in root.handlers if getattr(h, _HANDLER_FLAG, False)]:
        root.removeHandler(old)
        old.close()  # flushes; a StreamHandler never closes the stream it was given
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in ROUTED_LOGGERS:
        routed = logging.getLogger(name)
        routed.handlers.clear()
        routed.propagate = True
        routed.setLevel(logging.NOTSET)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    logging.captureWarnings(True)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Caching would pin loggers created before a reconfiguration to the old setup.
        cache_logger_on_first_use=False,
    )


def uvicorn_log_config() -> dict[str, Any] | None:
    """What to pass as ``uvicorn.Config(log_config=...)``: None.

    Uvicorn's default dictConfig installs plain-text formatters and handlers with
    ``propagate=False`` on its loggers; None makes it install nothing, so its records reach
    the handler set up by ``configure_logging``. (Call ``configure_logging`` first.)
    """
    return None


def get_logger(name: str, **context: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger whose ``logger`` key is ``name``, with optional bound context."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**context) if context else logger


# Re-exported so callers bind request/trading context without importing structlog themselves.
bind_context: Callable[..., Mapping[str, Any]] = structlog.contextvars.bind_contextvars
bound_context = structlog.contextvars.bound_contextvars
clear_context: Callable[[], None] = structlog.contextvars.clear_contextvars
__all__ = [
    "REDACTED",
    "Redactor",
    "bind_context",
    "bound_context",
    "clear_context",
    "configure_logging",
    "get_logger",
    "uvicorn_log_config",
]
