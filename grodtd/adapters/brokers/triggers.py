"""When a bar executes a working stop or target: one rule for every broker that fills on bars.

The paper broker fills on it; the live broker sends its watched stops and targets on it, so
paper and live trading exit on the same bars. A sell stop triggers when the bar's low reaches
its level (a buy stop, the high), a sell target when the high reaches it (a buy target, the
low). What the open already satisfies comes first, then stops, then the rest (the path inside
a bar is unknown: the stop is assumed first, the conservative choice), submission order within
each; exits of one symbol are one-cancels-other, so a bar executes at most one of them.
"""

from __future__ import annotations

from grodtd.core.models import Bar, Order, OrderKind, OrderPurpose, Side

EXIT_PURPOSES = frozenset(
    {OrderPurpose.STOP, OrderPurpose.TARGET, OrderPurpose.TREND_BREAK, OrderPurpose.FLATTEN}
)
_INTRABAR_RANK = {OrderPurpose.STOP: 0}


def crossed(order: Order, level: float, bar: Bar) -> bool | None:
    """None if ``bar`` does not reach ``level`` for ``order``; else whether it opened beyond."""
    sell = order.side is Side.SELL
    if order.kind is OrderKind.STOP:
        if sell:
            return bar.open <= level if bar.low <= level else None
        return bar.open >= level if bar.high >= level else None
    if sell:
        return bar.open >= level if bar.high >= level else None
    return bar.open <= level if bar.low <= level else None


def rank(order: Order, opened_beyond: bool) -> int:
    """Where a triggered order stands in its bar: -1 at the open, 0 a stop, 1 the rest."""
    return -1 if opened_beyond else _INTRABAR_RANK.get(order.purpose, 1)


def in_turn[T](hits: list[tuple[int, Order, T]]) -> tuple[list[T], bool]:
    """The items of a bar's ``(rank, order, item)`` hits that execute, in the order they
    happen (sorted by rank, stable), at most one exit among them; and whether one did."""
    hits.sort(key=lambda hit: hit[0])
    chosen: list[T] = []
    exit_done = False
    for _, order, item in hits:
        is_exit = order.purpose in EXIT_PURPOSES
        if is_exit and exit_done:
            continue  # one-cancels-other: its sibling already closed the position
        chosen.append(item)
        exit_done = exit_done or is_exit
    return chosen, exit_done
