"""What the risk manager's state changes mean to observers: trips, halts and resumptions.

The risk manager answers which halts hold; the engine remembers which ones it last announced
and turns the difference into events, in ``HaltReason``'s order.
"""

from __future__ import annotations

from grodtd.core.events import EntriesHalted, EntriesResumed, Event, KillSwitchTripped
from grodtd.core.models import HaltReason
from grodtd.core.risk import RiskManager

_HALT_ORDER = tuple(HaltReason)


class HaltNews:
    """The halts last announced, and the events that bring observers up to date."""

    __slots__ = ("_announced",)

    def __init__(self, announced: frozenset[HaltReason]) -> None:
        # What already holds when the engine starts (a stored pause) is not news.
        self._announced = announced

    def since_last(self, risk: RiskManager, ts: int) -> list[Event]:
        """Kill switches tripped and halts started or ended since the last call."""
        events: list[Event] = [KillSwitchTripped(r, d) for r, d in risk.take_trips()]
        halted = risk.halted(ts)
        previous = self._announced
        if halted == previous:
            return events
        self._announced = halted
        # The first detail of each reason: several kill switches are one KILL_SWITCH halt.
        details = dict(reversed(risk.halts(ts)))
        for reason in _HALT_ORDER:
            if reason in halted and reason not in previous:
                events.append(EntriesHalted(reason, details.get(reason, "")))
            elif reason in previous and reason not in halted:
                events.append(EntriesResumed(reason))
        return events
