"""grodt_reconcile_* and grodt_account_mismatch, as a scrape renders them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from grodtd.live.reconcile import ReconcileStatus
from grodtd.ops.reconcile_metrics import ReconcileCollector


def test_the_reconciliation_status_is_scraped_with_every_outcome() -> None:
    status = ReconcileStatus()
    registry = CollectorRegistry()
    registry.register(ReconcileCollector(status))
    empty = generate_latest(registry).decode()
    for outcome in ("clean", "mismatch", "failed"):
        assert f'grodt_reconcile_runs_total{{outcome="{outcome}"}} 0.0' in empty
    assert "grodt_account_mismatch 0.0" in empty
    status.runs["mismatch"] += 2
    status.missed_fills = 3
    status.foreign_orders = 1
    status.mismatch = "BTC-USDT: the exchange holds 0.5 BTC for GRODT, its positions 0"
    status.last_success = 1_767_225_600.0
    text = generate_latest(registry).decode()
    assert 'grodt_reconcile_runs_total{outcome="mismatch"} 2.0' in text
    assert "grodt_reconcile_missed_fills_total 3.0" in text
    assert "grodt_reconcile_foreign_orders_total 1.0" in text
    assert "grodt_account_mismatch 1.0" in text
    assert "grodt_reconcile_last_success_timestamp_seconds 1.7672256e+09" in text
    assert "BTC" not in text  # the detail is for the status and the log, never a label
