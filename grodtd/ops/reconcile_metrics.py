"""Metrics of live trading's reconciliation with the exchange, read at every scrape.

``grodtd.live.reconcile`` counts what each run found in a plain object; this collector turns
it into ``grodt_reconcile_*`` series and ``grodt_account_mismatch``, registered only when the
daemon trades live. An operator alerts on a mismatch, on fills found by reconciliation (an
order whose answer was lost, a fill made while the daemon was down) and on foreign orders.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from grodtd.ops.exchange_metrics import StatusCollector

OUTCOMES = ("clean", "mismatch", "failed")


class ReconcileCounts(Protocol):
    """What ``grodtd.live.reconcile.ReconcileStatus`` offers (read-only here)."""

    @property
    def runs(self) -> Mapping[str, int]: ...
    @property
    def missed_fills(self) -> int: ...
    @property
    def foreign_orders(self) -> int: ...
    @property
    def mismatch(self) -> str | None: ...
    @property
    def last_success(self) -> float | None: ...


class ReconcileCollector(StatusCollector):
    def __init__(self, status: ReconcileCounts) -> None:
        self._status = status

    def _families(
        self, *, describe_only: bool
    ) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        status = self._status
        runs = CounterMetricFamily(
            "grodt_reconcile_runs",
            "Reconciliations with the exchange, by outcome (clean, mismatch, failed).",
            labels=["outcome"],
        )
        missed = CounterMetricFamily(
            "grodt_reconcile_missed_fills",
            "Fills found on the exchange that the store had not booked (then booked).",
        )
        foreign = CounterMetricFamily(
            "grodt_reconcile_foreign_orders",
            "Orders found on the exchange under client ids GRODT never sent.",
        )
        mismatch = GaugeMetricFamily(
            "grodt_account_mismatch",
            "1 while the exchange's balances disagree with the positions (entries halt).",
        )
        last = GaugeMetricFamily(
            "grodt_reconcile_last_success_timestamp_seconds",
            "Wall-clock time of the last reconciliation that completed (0 before the first).",
        )
        if not describe_only:
            counts = dict(status.runs)
            for outcome in OUTCOMES:
                runs.add_metric([outcome], counts.get(outcome, 0))
            missed.add_metric([], status.missed_fills)
            foreign.add_metric([], status.foreign_orders)
            mismatch.add_metric([], 1 if status.mismatch else 0)
            last.add_metric([], status.last_success or 0.0)
        yield from (runs, missed, foreign, mismatch, last)
