"""The operator's control of a running daemon: record the intent, then let the engine obey.

Order matters: the intent is written to the store first, in its own transaction, so that a
pause answered 200 is still in force after a crash, an upgrade or a restart (``app.py`` hands
the stored intent to the engine before the first bar). The engine is told in any case: if the
store cannot take the write, the pause still holds in memory and the answer says it is not
durable, rather than leaving a misbehaving bot trading while the store is down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

import structlog

from grodtd.core.models import OperatorIntent
from grodtd.core.snapshot import Control
from grodtd.web.contracts import ControlOutcome

log = structlog.stdlib.get_logger("grodtd.live.control")


class DurableControl:
    """``grodtd.web.contracts.OperatorControl`` over the engine's ``Control`` and the store."""

    def __init__(
        self,
        engine: Control,
        save: Callable[[OperatorIntent], None],
        intent: OperatorIntent,
        *,
        flatten: Callable[[str], int] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._flatten = flatten
        self._save = save
        self._clock = clock
        self._lock = threading.Lock()
        self._intent = intent

    @property
    def intent(self) -> OperatorIntent:
        return self._intent

    def pause(self, by: str, reason: str) -> ControlOutcome:
        return self._apply(OperatorIntent(True, int(self._clock()), by, reason), self._engine.pause)

    def resume(self, by: str, reason: str) -> ControlOutcome:
        return self._apply(
            OperatorIntent(False, int(self._clock()), by, reason), self._engine.resume
        )

    def flatten(self, by: str, reason: str) -> ControlOutcome:
        """Pause entries (durably, like ``pause``), then close every position at market."""
        if self._flatten is None:
            raise RuntimeError("this daemon was built without a flatten")
        why = f"flatten: {reason}" if reason else "flatten"
        outcome = self._apply(OperatorIntent(True, int(self._clock()), by, why), self._engine.pause)
        sent = self._flatten(why)
        log.warning("control_flatten", by=by, reason=reason, exits_sent=sent)
        said = (
            f"{sent} position(s) closing at market, their stops and targets cancelled; "
            "entries stay paused until a resume"
        )
        return replace(outcome, detail=f"{said}. {outcome.detail}" if outcome.detail else said)

    def _apply(self, intent: OperatorIntent, obey: Callable[[], None]) -> ControlOutcome:
        # One command at a time, so the stored intent and the engine's never disagree.
        with self._lock:
            try:
                self._save(intent)
            except Exception as exc:  # the store is down: obey anyway, say it is not durable
                detail = (
                    f"obeyed now but NOT recorded in the store ({type(exc).__name__}: {exc}); "
                    "it will not survive a restart: fix the store, then repeat the command"
                )
                log.error("control_not_durable", paused=intent.paused, by=intent.by, error=detail)
                durable = False
            else:
                detail, durable = "", True
            obey()
            self._intent = intent
        log.info(
            "control_pause" if intent.paused else "control_resume",
            by=intent.by,
            reason=intent.reason,
            durable=durable,
        )
        return ControlOutcome(intent, durable, detail)
