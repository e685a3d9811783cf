"""Position sizing, loss caps, cooldowns and kill switches.

The risk manager only ever refuses NEW entries: exits, stops and targets always go through,
because a halted daemon that cannot close a position is more dangerous than one that trades.

Every time here is bar time (the ``ts`` of the bar being processed), never the wall clock, so a
backtest and a live run make the same decisions on the same bars. The one exception enters
from outside: the live runner reports wall-clock staleness through ``report_stale_data``.

Halts and how they clear:

* paused: until ``resume`` (operator);
* daily loss cap: equity fell ``daily_loss_cap`` below start-of-day equity; until the first
  bar of the next UTC day;
* cooldown: ``loss_streak_limit`` losing trades in a row; until ``cooldown_seconds`` of bar
  time have passed since the last loss;
* kill switch, stale market data: clears itself when a symbol's next bar follows its previous
  one within ``max_bar_gap_seconds``;
* kill switch, broker errors / abnormal slippage: latched until ``resume`` (operator);
* kill switch, account mismatch (live trading): set and cleared by the daemon's
  reconciliation, which compares the exchange's balances with the positions; a resume
  cannot clear it, because only the account agreeing again makes entries safe;
* shutting down: for good.
"""

from __future__ import annotations

from datetime import UTC, datetime

from grodtd.core.models import HaltReason, KillSwitchReason, RiskState
from grodtd.core.params import RiskParams

# Share of free cash an entry may commit at the reference price. The market order fills at
# the next bar's open plus slippage and fees, none of which the core knows; the margin keeps
# a fill from spending cash the account does not have.
CASH_USAGE = 0.98

_STALE = KillSwitchReason.STALE_MARKET_DATA
_BROKER = KillSwitchReason.BROKER_ERRORS
_SLIPPAGE = KillSwitchReason.ABNORMAL_SLIPPAGE
_ACCOUNT = KillSwitchReason.ACCOUNT_MISMATCH

_NOTHING: frozenset[HaltReason] = frozenset()
_COOLING = frozenset({HaltReason.COOLDOWN})


class RiskManager:
    """The one judge of new entries: sizing, loss caps, cooldowns and kill switches.

    Its state is its own: the engine tells it what happened (a bar, a fill, a closed trade,
    a broker error, an operator's command) and asks it questions (may an entry open now, how
    big, which halts hold and why). ``state()`` is what a restart needs to carry on.
    """

    __slots__ = (
        "_broker_errors",
        "_cooldown_until",
        "_daily_floor",
        "_daily_halted",
        "_day",
        "_day_start_equity",
        "_holding",
        "_kill_switches",
        "_loss_streak",
        "_max_gap",
        "_p",
        "_paused",
        "_shutting_down",
        "_stale_symbols",
        "_stale_wallclock",
        "_trips",
    )

    def __init__(self, params: RiskParams, state: RiskState | None = None) -> None:
        self._p = params
        self._max_gap = params.max_bar_gap_seconds
        state = state or RiskState()
        self._day = state.day
        self._day_start_equity = state.day_start_equity
        self._loss_streak = state.loss_streak
        self._cooldown_until = state.cooldown_until
        self._daily_halted = state.daily_halted
        self._kill_switches: dict[KillSwitchReason, str] = dict(state.kill_switches)
        self._stale_symbols: dict[str, str] = dict(state.stale_symbols)
        # A checkpoint that recorded no cause (written before causes were): any fresh bar clears.
        self._stale_wallclock = state.stale_wallclock or (
            _STALE in self._kill_switches and not self._stale_symbols
        )
        self._broker_errors = 0
        self._paused = False
        self._shutting_down = False
        # Kill switches tripped since the last ``take_trips``. Keyed by reason: a switch trips
        # only while it does not hold, so between two takes each reason trips at most once, and
        # an engine that never takes them (a backtest) keeps at most one entry per reason.
        self._trips: dict[KillSwitchReason, str] = {}
        # The halts other than the (time-based) cooldown, kept current by ``_refresh``: the
        # engine asks about them on every bar, so the answer is ready rather than computed.
        self._holding = _NOTHING
        # Equity at or below which the daily loss cap trips; -inf until a day has started.
        self._daily_floor = float("-inf")
        if self._day_start_equity > 0.0:
            self._daily_floor = self._day_start_equity * (1.0 - params.daily_loss_cap)
        self._refresh()

    # -- the questions the engine asks ---------------------------------------------------

    def review(self, symbol: str, ts: int, prev_ts: int, equity: float) -> bool:
        """Apply one bar's rules and say whether a new entry may open now.

        The bar of ``symbol`` at ``ts`` followed that symbol's bar at ``prev_ts`` (-1: its
        first) and marked the account at ``equity``: the stale-data switch looks at the gap,
        the daily loss cap at the equity. The engine's hot path: one call per bar.
        """
        if prev_ts >= 0 and (ts - prev_ts > self._max_gap or self._kill_switches):
            self.bar_gap(symbol, ts - prev_ts)
        if equity <= self._daily_floor and not self._daily_halted:
            self.check_daily_loss(equity)
        return not self._holding and ts >= self._cooldown_until

    def entries_allowed(self, ts: int) -> bool:
        """True if nothing refuses a new entry at bar time ``ts``."""
        return not self._holding and ts >= self._cooldown_until

    def halted(self, ts: int) -> frozenset[HaltReason]:
        """The reasons that refuse new entries at bar time ``ts`` (empty: entries allowed)."""
        if ts < self._cooldown_until:
            return self._holding | _COOLING
        return self._holding

    def halts(self, ts: int) -> tuple[tuple[HaltReason, str], ...]:
        """Every reason new entries are refused at bar time ``ts``, with what to do about it."""
        out: list[tuple[HaltReason, str]] = []
        if self._paused:
            out.append((HaltReason.PAUSED, "paused by the operator; resume to allow entries"))
        if self._daily_halted:
            out.append(
                (
                    HaltReason.DAILY_LOSS_CAP,
                    f"daily loss cap of {self._p.daily_loss_cap:.2%} of start-of-day equity "
                    f"{self._day_start_equity:.2f} reached; entries resume at 00:00 UTC",
                )
            )
        if ts < self._cooldown_until:
            out.append(
                (
                    HaltReason.COOLDOWN,
                    f"{self._p.loss_streak_limit} losing trades in a row; "
                    f"cooling down until {_market_time(self._cooldown_until)}",
                )
            )
        for reason, detail in self._kill_switches.items():
            out.append((HaltReason.KILL_SWITCH, f"{reason.value}: {detail}"))
        if self._shutting_down:
            out.append((HaltReason.SHUTTING_DOWN, "the daemon is shutting down"))
        return tuple(out)

    @property
    def paused(self) -> bool:
        return self._paused

    def take_trips(self) -> list[tuple[KillSwitchReason, str]]:
        """The kill switches tripped since the last call, in the order they tripped."""
        if not self._trips:
            return []
        trips = list(self._trips.items())
        self._trips.clear()
        return trips

    def size(
        self,
        equity: float,
        cash: float,
        committed: float,
        price: float,
        stop_distance: float,
        direction: int,
    ) -> float:
        """Quantity for an entry at ``price`` whose stop is ``stop_distance`` away; 0 = none.

        Risk of one stop-out is ``risk_per_trade`` of equity, then capped so the notional is
        at most ``max_position_notional`` of equity and, for a long, what cash can pay:
        ``CASH_USAGE`` of cash minus what is already ``committed`` (pending long entries,
        short positions to buy back). The margin is global, not per order, so several pending
        entries can never together spend more than the cash that is there.
        """
        p = self._p
        if stop_distance <= 0.0 or price <= 0.0 or equity <= 0.0:
            return 0.0
        qty = p.risk_per_trade * equity / stop_distance
        cap = p.max_position_notional * equity / price
        if qty > cap:
            qty = cap
        if direction > 0:
            cap = (CASH_USAGE * cash - committed) / price
            if qty > cap:
                qty = cap
        if qty * price < p.min_order_notional or qty <= 0.0:
            return 0.0
        return qty

    @property
    def max_open_positions(self) -> int:
        return self._p.max_open_positions

    # -- what happened -------------------------------------------------------------------

    def start_day(self, day: int, equity: float) -> None:
        """First bar of a later UTC day: new start-of-day equity, the daily cap lifts.

        A day at or before the current one changes nothing, so the engine can report every
        day boundary it sees without knowing which day the risk manager is in.
        """
        if day <= self._day:
            return
        self._day = day
        self._day_start_equity = equity
        floor = equity * (1.0 - self._p.daily_loss_cap)
        self._daily_floor = floor if equity > 0.0 else float("-inf")
        if self._daily_halted:
            self._daily_halted = False
            self._refresh()

    def check_daily_loss(self, equity: float) -> bool:
        """Halt entries for the rest of the day once the loss cap is hit; True if it just did."""
        if self._daily_halted:
            return False
        if equity <= self._daily_floor:
            self._daily_halted = True
            self._refresh()
            return True
        return False

    def trade_closed(self, pnl: float, ts: int) -> None:
        if pnl < 0.0:
            self._loss_streak += 1
            if self._loss_streak >= self._p.loss_streak_limit:
                self._cooldown_until = ts + self._p.cooldown_seconds
                self._loss_streak = 0
        else:
            # A win or a breakeven breaks the row of losses.
            self._loss_streak = 0

    def bar_gap(self, symbol: str, gap: int) -> None:
        """A symbol's bar arrived ``gap`` seconds after its previous one."""
        limit = self._max_gap
        if gap > limit:
            detail = (
                f"{symbol}: {gap} s between consecutive bars (limit {limit} s); "
                "check the market data feed, entries resume after fresh bars"
            )
            self._stale_symbols[symbol] = detail
            self._trip(_STALE, detail)
            return
        if self._stale_wallclock or symbol in self._stale_symbols:
            self._stale_symbols.pop(symbol, None)
            self._stale_wallclock = False
            if self._stale_symbols:
                self._kill_switches[_STALE] = next(iter(self._stale_symbols.values()))
            else:
                self._kill_switches.pop(_STALE, None)
                self._refresh()

    def report_stale_data(self, detail: str) -> None:
        self._stale_wallclock = True
        self._trip(_STALE, detail)

    def report_account_mismatch(self, detail: str | None) -> None:
        """What the last reconciliation found: ``detail`` says what differs, None that the
        exchange's balances agree with the positions again (which clears the switch)."""
        if detail is not None:
            self._trip(_ACCOUNT, detail)
        elif self._kill_switches.pop(_ACCOUNT, None) is not None:
            self._refresh()

    def broker_error(self, detail: str) -> None:
        self._broker_errors += 1
        limit = self._p.max_broker_errors
        if self._broker_errors >= limit:
            self._trip(
                _BROKER,
                f"{self._broker_errors} consecutive broker errors (limit {limit}), last: "
                f"{detail}; check the broker, then resume",
            )

    def broker_ok(self) -> None:
        self._broker_errors = 0

    def fill_slippage(self, symbol: str, price: float, slippage: float, direction: int) -> None:
        """Check one fill's adverse slippage against the reference price it implies.

        ``direction`` is +1 for a buy (it paid ``reference + slippage``), -1 for a sell.
        """
        if slippage <= 0.0:
            return
        reference = price - direction * slippage
        if reference <= 0.0:
            return
        bps = slippage / reference * 10_000.0
        limit = self._p.max_slippage_bps
        if bps > limit:
            self._trip(
                _SLIPPAGE,
                f"{symbol}: fill at {price:.8g} slipped {bps:.1f} bps (limit {limit:g} bps); "
                "check liquidity and the broker, then resume",
            )

    def pause(self) -> None:
        self._paused = True
        self._refresh()

    def resume(self) -> None:
        """Operator resume: unpause and clear latched kill switches (not the loss rules)."""
        self._paused = False
        self._broker_errors = 0
        self._kill_switches.pop(_BROKER, None)
        self._kill_switches.pop(_SLIPPAGE, None)
        self._refresh()

    def begin_shutdown(self) -> None:
        """Refuse entries for good; idempotent, and safe to call once without the engine's
        lock (a signal handler): a bar deciding at that instant may miss it, the next cannot,
        because the engine applies it again under its lock before that bar."""
        self._shutting_down = True
        self._refresh()

    def state(self) -> RiskState:
        return RiskState(
            day=self._day,
            day_start_equity=self._day_start_equity,
            loss_streak=self._loss_streak,
            cooldown_until=self._cooldown_until,
            daily_halted=self._daily_halted,
            kill_switches=tuple(self._kill_switches.items()),
            stale_symbols=tuple(self._stale_symbols.items()),
            stale_wallclock=self._stale_wallclock,
        )

    def _trip(self, reason: KillSwitchReason, detail: str) -> None:
        if reason not in self._kill_switches:
            self._trips.setdefault(reason, detail)
        self._kill_switches[reason] = detail
        self._refresh()

    def _refresh(self) -> None:
        holding: set[HaltReason] = set()
        if self._paused:
            holding.add(HaltReason.PAUSED)
        if self._daily_halted:
            holding.add(HaltReason.DAILY_LOSS_CAP)
        if self._kill_switches:
            holding.add(HaltReason.KILL_SWITCH)
        if self._shutting_down:
            holding.add(HaltReason.SHUTTING_DOWN)
        self._holding = frozenset(holding) if holding else _NOTHING


def _market_time(ts: int) -> str:
    """A bar time as people read it, labelled as the bars' clock (not the wall clock)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC (market)")
