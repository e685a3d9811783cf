"""``LiveBroker`` against the Binance emulator, with the real ccxt client over real HTTP.

No mock of ours: each test starts a ``BinanceEmulator`` on an ephemeral 127.0.0.1 port and a
broker on ``open_exchange`` pointed at it, with the venue's rules learnt the way the daemon
learns them (``factories.venue_rules`` of the loaded markets). The market clock is frozen
(``speed=0``), so a market order fills at a price the test knows; the bars shown through
``on_bar`` are made up by the test, since the broker uses them only to trigger watched orders
and as the reference price of slippage. What is checked is what the engine and the operator
rely on: every exchange fill reported once, never a second exchange order for one id, the
exchange's reasons in the errors, and no secret in any message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import ccxt
import pytest
import structlog

from grodtd.adapters.brokers.exchange_orders import exchange_client_id
from grodtd.adapters.brokers.live import LiveBroker
from grodtd.adapters.brokers.rules import venue_rules
from grodtd.adapters.markets.exchange.client import open_exchange
from grodtd.core.models import Bar, Fill, Order, OrderKind, OrderPurpose, Side
from grodtd.core.ports import BrokerError
from tests.support.exchange import MINUTE_MS, BinanceEmulator, point_ccxt_at

MINUTE_OPEN = 28_333_334 * MINUTE_MS
START_MS = MINUTE_OPEN + 30_000
T = MINUTE_OPEN // 1000 - 60  # the bar the engine decided on: the one before the forming one
ENTRY_ID = f"s1_trend-BTC-USDT-{T}-entry"  # 34 characters: sent as it is
EXIT_ID = f"s1_trend-BTC-USDT-{T}-trend_break"  # 40: shortened with a hash


@pytest.fixture
def emu() -> Iterator[BinanceEmulator]:
    with BinanceEmulator(
        ["BTC/USDT"], speed=0.0, seed=1, start_ms=START_MS, history_minutes=60
    ) as emulator:
        yield emulator


def broker_for(emu: BinanceEmulator, *, timeout_s: float = 2.0, **options: Any) -> LiveBroker:
    exchange = open_exchange(
        "binance",
        base_url=emu.url,
        timeout_s=timeout_s,
        credentials={"apiKey": emu.api_key, "secret": emu.api_secret},
    )
    exchange.session.trust_env = False  # loopback only, whatever proxy the environment names
    exchange.enableRateLimit = False
    params: dict[str, Any] = {"retry_wait_s": 0.05, "sleep": lambda s: time.sleep(min(s, 0.05))}
    params.update(options)
    broker = LiveBroker(exchange, ["BTC-USDT"], **params)
    broker.set_rules({symbol: venue_rules(m) for symbol, m in broker.markets().items()})
    return broker


def plain_client(emu: BinanceEmulator) -> Any:
    """A ccxt client of the same account that is not the broker (a human, another program)."""
    exchange = ccxt.binance(
        {"apiKey": emu.api_key, "secret": emu.api_secret, "enableRateLimit": False}
    )
    exchange.session.trust_env = False
    return point_ccxt_at(exchange, emu.url)


def order(
    qty: float,
    *,
    oid: str = ENTRY_ID,
    side: Side = Side.BUY,
    kind: OrderKind = OrderKind.MARKET,
    purpose: OrderPurpose = OrderPurpose.ENTRY,
    price: float | None = None,
) -> Order:
    return Order(
        client_order_id=oid,
        symbol="BTC-USDT",
        side=side,
        kind=kind,
        purpose=purpose,
        qty=qty,
        created_ts=T,
        strategy="s1_trend",
        price=price,
    )


def bar(
    ts: int,
    close: float,
    *,
    low: float | None = None,
    high: float | None = None,
    open_: float | None = None,
) -> Bar:
    return Bar(
        symbol="BTC-USDT",
        ts=ts,
        open=open_ if open_ is not None else close,
        high=high if high is not None else close,
        low=low if low is not None else close,
        close=close,
        volume=1.0,
    )


def price(emu: BinanceEmulator) -> float:
    return float(emu.price("BTC/USDT"))


def posts(emu: BinanceEmulator) -> int:
    return emu.journal.count(path="/api/v3/order", method="POST")


def free(emu: BinanceEmulator, asset: str) -> Decimal:
    return emu.balances()[asset][0]


# -- market orders ----------------------------------------------------------------------------


def test_a_market_entry_fills_and_is_reported_once_with_qty_price_and_fee(
    emu: BinanceEmulator,
) -> None:
    broker = broker_for(emu)
    p = price(emu)
    broker.on_bar(bar(T, p - 10.0))  # the close the decision saw: the slippage reference

    broker.submit(order(0.01))

    (fill,) = broker.take_fills()
    assert broker.take_fills() == ()
    # The account receives 0.01 BTC less Binance's 0.1% fee in BTC: the fill says what it
    # holds, and the fee in USDT, so qty * price + fee is exactly what the exchange charged.
    assert fill == Fill(
        client_order_id=ENTRY_ID,
        symbol="BTC-USDT",
        side=Side.BUY,
        qty=0.00999,
        price=p,
        fee=pytest.approx(0.00001 * p),
        ts=START_MS // 1000,
        slippage=pytest.approx(10.0),
    )
    assert fill.qty * fill.price + fill.fee == pytest.approx(0.01 * p)
    assert free(emu, "BTC") == Decimal("0.00999")
    assert free(emu, "USDT") == Decimal(100_000) - Decimal("0.01") * emu.price("BTC/USDT")
    (placed,) = emu.orders()
    assert placed["clientOrderId"] == ENTRY_ID and placed["type"] == "MARKET"
    assert broker.is_filled(ENTRY_ID) and broker.unsettled() == []


def test_submitting_an_id_twice_places_one_exchange_order_even_after_a_restart(
    emu: BinanceEmulator,
) -> None:
    broker = broker_for(emu)
    broker.submit(order(0.01))
    broker.submit(order(0.01))
    assert len(broker.take_fills()) == 1

    # A restarted daemon re-submits the pending intent from its store: the new broker looks
    # the id up before sending (Binance refuses a repeated id only while the order is open)
    # and reports the fill the old one had, once.
    restarted = broker_for(emu)
    restarted.submit(order(0.01))
    restarted.submit(order(0.01))

    assert len(emu.orders()) == 1 and posts(emu) == 1
    assert [f.client_order_id for f in restarted.take_fills()] == [ENTRY_ID]
    assert restarted.take_fills() == ()


def test_a_lost_response_is_looked_up_and_adopted_never_sent_again(emu: BinanceEmulator) -> None:
    broker = broker_for(emu)
    lost = emu.faults.add("lost_response", count=1)

    broker.submit(order(0.01))

    assert lost.hits == 1
    assert emu.journal.count(path="/api/v3/order", method="POST", status=0) == 1
    assert len(emu.orders()) == 1 and posts(emu) == 1
    (fill,) = broker.take_fills()
    assert fill.client_order_id == ENTRY_ID and fill.qty == 0.00999
    assert broker.take_fills() == ()


def test_a_rejected_order_raises_the_exchanges_reason_and_may_be_sent_again(
    emu: BinanceEmulator,
) -> None:
    broker = broker_for(emu)
    emu.faults.add("reject", count=1)

    with pytest.raises(BrokerError, match=r"refused it: InsufficientFunds: .*insufficient balance"):
        broker.submit(order(0.01))
    assert broker.take_fills() == () and broker.unsettled() == []
    with pytest.raises(BrokerError, match="insufficient balance"):  # 10 BTC cost 600 000 USDT
        broker.submit(order(10.0, oid="s1_trend-BTC-USDT-1-entry"))

    broker.submit(order(0.01))  # refused means nothing is on the exchange: an exit is retried
    assert [f.client_order_id for f in broker.take_fills()] == [ENTRY_ID]
    assert [o["status"] for o in emu.orders()] == ["FILLED"]


@pytest.mark.parametrize("fault", ["503", "timeout"])
def test_an_unknown_outcome_during_submit_is_looked_up_and_gives_one_order(
    emu: BinanceEmulator, fault: str
) -> None:
    # 503: the gateway answers before the order is processed, so it does not exist and is
    # sent again. timeout: the exchange holds the request past the client's patience and
    # processes it afterwards, so whichever arrives second is refused as a duplicate.
    broker = broker_for(emu, timeout_s=0.5)
    options: dict[str, Any] = {"seconds": 1.5} if fault == "timeout" else {}
    emu.faults.add(fault, count=1, path_prefix="/api/v3/order", method="POST", **options)

    broker.submit(order(0.01))

    if fault == "timeout":
        time.sleep(1.6)  # the held request has been processed by now
    assert posts(emu) == 2
    assert len(emu.orders()) == 1
    assert [f.client_order_id for f in broker.take_fills()] == [ENTRY_ID]
    assert free(emu, "BTC") == Decimal("0.00999")


def test_an_order_left_in_doubt_by_an_outage_is_settled_with_the_next_bar(
    emu: BinanceEmulator,
) -> None:
    broker = broker_for(emu)
    emu.faults.add("lost_response", count=1)
    # The exchange takes the order, loses the answer, then goes down: after the lookup that
    # came before the send, every lookup fails.
    outage = emu.faults.add("503", after=1, path_prefix="/api/v3/order", method="GET")

    with pytest.raises(BrokerError, match="cannot look it up"):
        broker.submit(order(0.01))
    assert broker.unsettled() == [ENTRY_ID] and broker.take_fills() == ()

    broker.on_bar(bar(T + 60, price(emu)))  # still down: still in doubt, nothing sent
    assert broker.unsettled() == [ENTRY_ID] and posts(emu) == 1

    emu.faults.remove(outage)
    broker.on_bar(bar(T + 120, price(emu)))
    assert broker.unsettled() == []
    assert [f.client_order_id for f in broker.take_fills()] == [ENTRY_ID]
    assert len(emu.orders()) == 1


def test_a_partial_fill_reports_what_filled_and_the_rest_expires(emu: BinanceEmulator) -> None:
    broker = broker_for(emu)
    emu.faults.add("partial", count=1, fraction=0.4)

    broker.submit(order(0.01))

    (fill,) = broker.take_fills()
    assert fill.qty == pytest.approx(0.004 * 0.999)
    assert emu.order_by_client_id(ENTRY_ID)["status"] == "EXPIRED"  # type: ignore[index]
    assert free(emu, "BTC") == Decimal("0.003996")


def test_the_quantity_is_floored_to_the_lot_step_and_a_small_order_refused(
    emu: BinanceEmulator,
) -> None:
    broker = broker_for(emu)
    broker.on_bar(bar(T, price(emu)))

    broker.submit(order(0.0123456789))
    assert emu.orders()[0]["origQty"] == "0.01234000"
    assert broker.take_fills()[0].qty == pytest.approx(0.01234 * 0.999)

    with pytest.raises(BrokerError, match=r"notional .* under the venue's minimum of 5"):
        broker.submit(order(0.00005, oid="s1_trend-BTC-USDT-2-entry"))  # about 3 USDT
    with pytest.raises(BrokerError, match="under the venue's minimum"):
        broker.submit(order(0.000004, oid="s1_trend-BTC-USDT-3-entry"))  # under one step
    assert posts(emu) == 1


# -- watched stops and targets ----------------------------------------------------------------


def protective(kind: OrderKind, level: float, qty: float) -> Order:
    purpose = OrderPurpose.STOP if kind is OrderKind.STOP else OrderPurpose.TARGET
    return order(
        qty,
        oid=f"s1_trend-BTC-USDT-{T}-{purpose.value}",
        side=Side.SELL,
        kind=kind,
        purpose=purpose,
        price=level,
    )


def test_a_watched_stop_sends_a_market_sell_when_a_bar_crosses_it(emu: BinanceEmulator) -> None:
    broker = broker_for(emu)
    p = price(emu)
    broker.submit(order(0.01))
    (entry,) = broker.take_fills()
    stop = protective(OrderKind.STOP, round(p * 0.99, 2), entry.qty)
    target = protective(OrderKind.LIMIT, round(p * 1.02, 2), entry.qty)
    broker.submit(stop)
    broker.submit(target)
    assert posts(emu) == 1  # watched here, not sent
    assert broker.watched_orders("BTC-USDT") == [stop, target]

    broker.on_bar(bar(T, p, low=p * 0.9))  # the bar that placed them never triggers them
    broker.on_bar(bar(T + 60, p, low=p * 0.995))  # above the stop
    assert posts(emu) == 1 and broker.take_fills() == ()

    close = p * 0.985
    # The bar touches the stop and the target: the stop first, the target dropped (OCO).
    broker.on_bar(bar(T + 120, close, open_=p * 0.999, low=p * 0.98, high=p * 1.03))

    (exit_fill,) = broker.take_fills()
    sold = emu.orders()[-1]
    assert sold["clientOrderId"] == stop.client_order_id and sold["type"] == "MARKET"
    assert sold["side"] == "SELL" and sold["origQty"] == "0.00999000"
    assert exit_fill.client_order_id == stop.client_order_id and exit_fill.side is Side.SELL
    assert exit_fill.qty == 0.00999 and exit_fill.price == p
    assert exit_fill.fee == pytest.approx(0.00999 * p * 0.001)  # a sell pays its fee in USDT
    assert exit_fill.slippage == pytest.approx(close - p)  # against the close, adverse > 0
    assert broker.watched_orders() == []
    assert free(emu, "BTC") == 0

    broker.on_bar(bar(T + 180, p * 1.05, high=p * 1.05))  # the target is gone
    broker.cancel(target.client_order_id)  # the engine cancels the sibling: a no-op
    assert posts(emu) == 2 and broker.take_fills() == ()


def test_a_triggered_stop_the_exchange_refuses_is_sent_again_with_the_next_bar(
    emu: BinanceEmulator,
) -> None:
    broker = broker_for(emu)
    p = price(emu)
    broker.submit(order(0.01))
    (entry,) = broker.take_fills()
    stop = protective(OrderKind.STOP, round(p * 0.99, 2), entry.qty)
    broker.submit(stop)
    emu.faults.add("reject", count=1)

    broker.on_bar(bar(T + 60, p * 0.98))  # triggers; the exchange refuses; on_bar never raises
    assert broker.take_fills() == () and broker.unsettled() == [stop.client_order_id]

    broker.on_bar(bar(T + 120, p * 1.01))  # the stop was crossed once: it is the broker's now
    assert [f.client_order_id for f in broker.take_fills()] == [stop.client_order_id]
    assert [o["status"] for o in emu.orders()] == ["FILLED", "FILLED"]

    # A triggered stop the engine cancels (say its target filled first) is not sent again.
    broker.submit(order(0.01, oid="s1_trend-BTC-USDT-2-entry"))
    broker.take_fills()
    second = protective(OrderKind.STOP, round(p * 0.99, 2), 0.00999)
    second = replace(second, client_order_id="s1_trend-BTC-USDT-2-stop")
    broker.submit(second)
    emu.faults.add("reject", count=1)
    broker.on_bar(bar(T + 180, p * 0.98))
    broker.cancel(second.client_order_id)
    broker.on_bar(bar(T + 240, p * 0.98))
    assert broker.unsettled() == [] and broker.take_fills() == ()
    assert len(emu.orders()) == 3


def test_a_trend_break_exit_goes_out_at_once_under_a_shortened_id(emu: BinanceEmulator) -> None:
    broker = broker_for(emu)
    broker.submit(order(0.01))
    (entry,) = broker.take_fills()

    broker.submit(order(entry.qty, oid=EXIT_ID, side=Side.SELL, purpose=OrderPurpose.TREND_BREAK))

    sent_as = exchange_client_id(EXIT_ID)
    assert len(sent_as) == 36 and sent_as.startswith("s1_trend-BTC-USDT-")
    assert emu.orders()[-1]["clientOrderId"] == sent_as
    assert [f.client_order_id for f in broker.take_fills()] == [EXIT_ID]


# -- reconciliation ---------------------------------------------------------------------------


def test_reconcile_reports_missed_fills_once_and_lists_orders_it_never_sent(
    emu: BinanceEmulator,
) -> None:
    p = price(emu)
    other = plain_client(emu)
    # While no broker ran: an entry of ours filled (its response never reached a daemon) ...
    other.create_order("BTC/USDT", "market", "buy", 0.02, params={"clientOrderId": ENTRY_ID})
    # ... a watched stop a previous process had already sent before it died ...
    stop = protective(OrderKind.STOP, round(p * 0.99, 2), 0.00999)
    other.create_order(
        "BTC/USDT", "market", "sell", 0.00999, params={"clientOrderId": stop.client_order_id}
    )
    # ... and two orders that are not ours: one filled, one resting.
    other.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "by-hand-1"})
    low = float(emu.market.spec("BTCUSDT").round_price(p * 0.8))
    other.create_order(
        "BTC/USDT", "limit", "buy", 0.001, low, params={"clientOrderId": "by-hand-2"}
    )

    broker = broker_for(emu)
    broker.submit(stop)  # the restarted engine re-arms the stop it still holds as pending
    report = broker.reconcile(START_MS - 60 * MINUTE_MS, known=[ENTRY_ID])

    assert [f.client_order_id for f in report.missed_fills] == [ENTRY_ID, stop.client_order_id]
    assert report.missed_fills[0].qty == pytest.approx(0.02 * 0.999)
    assert report.missed_fills[1].side is Side.SELL and report.missed_fills[1].qty == 0.00999
    assert list(broker.take_fills()) == list(report.missed_fills)
    assert broker.take_fills() == ()
    assert broker.watched_orders() == []  # the stop is done, it is no longer watched
    foreign = {o.client_id: o for o in report.foreign_orders}
    assert set(foreign) == {"by-hand-1", "by-hand-2"}
    assert foreign["by-hand-1"].status == "closed" and foreign["by-hand-2"].status == "open"
    assert not report.clean

    again = broker.reconcile(START_MS - 60 * MINUTE_MS, known=[ENTRY_ID])
    assert again.missed_fills == () and broker.take_fills() == ()
    assert {o.client_id for o in again.foreign_orders} == {"by-hand-1", "by-hand-2"}
    assert len(emu.orders()) == 4  # reconciliation never places or cancels anything


def test_fills_are_handed_over_once_while_reconcile_runs_on_another_thread(
    emu: BinanceEmulator,
) -> None:
    broker = broker_for(emu)
    stop = threading.Event()
    errors: list[BaseException] = []

    def reconcile_forever() -> None:
        while not stop.is_set():
            try:
                broker.reconcile(START_MS - MINUTE_MS)
            except BaseException as exc:  # the test fails below, with what it was
                errors.append(exc)
                return

    thread = threading.Thread(target=reconcile_forever)
    thread.start()
    taken: list[Fill] = []
    try:
        for n in range(8):
            broker.submit(order(0.001, oid=f"s1_trend-BTC-USDT-{n}-entry"))
            taken += broker.take_fills()
    finally:
        stop.set()
        thread.join(10)
    taken += broker.take_fills()

    assert errors == []
    assert sorted(f.client_order_id for f in taken) == sorted(
        f"s1_trend-BTC-USDT-{n}-entry" for n in range(8)
    )
    assert len(emu.orders()) == 8


# -- secrets ----------------------------------------------------------------------------------


def test_no_secret_or_signature_reaches_a_log_line_or_an_error(emu: BinanceEmulator) -> None:
    broker = broker_for(emu)
    seen: list[str] = []
    with structlog.testing.capture_logs() as logs:
        emu.faults.add("lost_response", count=1)
        emu.faults.add("503", count=20, after=1, path_prefix="/api/v3/order", method="GET")
        with pytest.raises(BrokerError) as looked_up:
            broker.submit(order(0.01))
        seen.append(str(looked_up.value))
        emu.faults.clear()
        emu.faults.add("reject", count=1)
        with pytest.raises(BrokerError) as refused:
            broker.submit(order(0.01, oid="s1_trend-BTC-USDT-9-entry"))
        seen.append(str(refused.value))
        broker.on_bar(bar(T + 60, price(emu)))
    seen += [repr(entry) for entry in logs]
    seen.append(broker.venue.status.last_error)

    assert "<query hidden>" in seen[0]  # the failed lookup's URL, without its query
    text = "\n".join(seen)
    for secret in (emu.api_key, emu.api_secret, "signature", "recvWindow"):
        assert secret not in text
    assert any(entry.get("event") == "order filled" for entry in logs)
