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
* shutting down: for good.
"""

from __future__ import annotations

from grodtd.core.models import HaltReason, KillSwitchReason, RiskState
from grodtd.core.params import RiskParams

# Share of free cash an entry may commit at the reference price. The market order fills at
# the next bar's open plus slippage and fees, none of which the core knows; the margin keeps
# a fill from spending cash the account does not have.
CASH_USAGE = 0.98

_STALE = KillSwitchReason.STALE_MARKET_DATA
_BROKER = KillSwitchReason.BROKER_ERRORS
_SLIPPAGE = KillSwitchReason.ABNORMAL_SLIPPAGE

# Bits of the halt mask: cheap to compare bar by bar to notice halts starting or ending.
PAUSED_BIT = 1
DAILY_BIT = 2
COOLDOWN_BIT = 4
KILL_BIT = 8
SHUTDOWN_BIT = 16


class RiskManager:
    __slots__ = (
        "_p",
        "blocked",
        "broker_errors",
        "cooldown_until",
        "daily_floor",
        "daily_halted",
        "day",
        "day_start_equity",
        "kill_switches",
        "loss_streak",
        "new_trips",
        "paused",
        "shutting_down",
        "stale_symbols",
        "stale_wallclock",
    )

    def __init__(self, params: RiskParams, state: RiskState | None = None) -> None:
        self._p = params
        state = state or RiskState()
        self.day = state.day
        self.day_start_equity = state.day_start_equity
        self.loss_streak = state.loss_streak
        self.cooldown_until = state.cooldown_until
        self.daily_halted = state.daily_halted
        self.kill_switches: dict[KillSwitchReason, str] = dict(state.kill_switches)
        self.stale_symbols: dict[str, str] = dict(state.stale_symbols)
        # A checkpoint that recorded no cause (written before causes were): any fresh bar clears.
        self.stale_wallclock = state.stale_wallclock or (
            _STALE in self.kill_switches and not self.stale_symbols
        )
        self.broker_errors = 0
        self.paused = False
        self.shutting_down = False
        # Kill switches tripped since the engine last drained this list (for events).
        self.new_trips: list[tuple[KillSwitchReason, str]] = []
        # True while any halt other than the (time-based) cooldown refuses entries.
        self.blocked = False
        # Equity at or below which the daily loss cap trips; -inf until a day has started.
        self.daily_floor = float("-inf")
        if self.day_start_equity > 0.0:
            self.daily_floor = self.day_start_equity * (1.0 - params.daily_loss_cap)
        self._refresh()

    # -- the questions the engine asks on every bar -------------------------------------

    def entries_blocked(self, ts: int) -> bool:
        return self.blocked or ts < self.cooldown_until

    def halt_mask(self, ts: int) -> int:
        mask = 0
        if self.paused:
            mask |= PAUSED_BIT
        if self.daily_halted:
            mask |= DAILY_BIT
        if ts < self.cooldown_until:
            mask |= COOLDOWN_BIT
        if self.kill_switches:
            mask |= KILL_BIT
        if self.shutting_down:
            mask |= SHUTDOWN_BIT
        return mask

    def halts(self, ts: int) -> tuple[tuple[HaltReason, str], ...]:
        """Every reason new entries are refused at bar time ``ts``, with what to do about it."""
        out: list[tuple[HaltReason, str]] = []
        if self.paused:
            out.append((HaltReason.PAUSED, "paused by the operator; resume to allow entries"))
        if self.daily_halted:
            out.append(
                (
                    HaltReason.DAILY_LOSS_CAP,
                    f"daily loss cap of {self._p.daily_loss_cap:.2%} of start-of-day equity "
                    f"{self.day_start_equity:.2f} reached; entries resume at 00:00 UTC",
                )
            )
        if ts < self.cooldown_until:
            out.append(
                (
                    HaltReason.COOLDOWN,
                    f"{self._p.loss_streak_limit} losing trades in a row; "
                    f"cooling down until ts {self.cooldown_until}",
                )
            )
        for reason, detail in self.kill_switches.items():
            out.append((HaltReason.KILL_SWITCH, f"{reason.value}: {detail}"))
        if self.shutting_down:
            out.append((HaltReason.SHUTTING_DOWN, "the daemon is shutting down"))
        return tuple(out)

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
        """First bar of a new UTC day: new start-of-day equity, the daily cap lifts."""
        self.day = day
        self.day_start_equity = equity
        floor = equity * (1.0 - self._p.daily_loss_cap)
        self.daily_floor = floor if equity > 0.0 else float("-inf")
        if self.daily_halted:
            self.daily_halted = False
            self._refresh()

    def check_daily_loss(self, equity: float) -> bool:
        """Halt entries for the rest of the day once the loss cap is hit; True if it just did."""
        if self.daily_halted:
            return False
        if equity <= self.daily_floor:
            self.daily_halted = True
            self._refresh()
            return True
        return False

    def trade_closed(self, pnl: float, ts: int) -> None:
        if pnl < 0.0:
            self.loss_streak += 1
            if self.loss_streak >= self._p.loss_streak_limit:
                self.cooldown_until = ts + self._p.cooldown_seconds
                self.loss_streak = 0
        else:
            # A win or a breakeven breaks the row of losses.
            self.loss_streak = 0

    def bar_gap(self, symbol: str, gap: int) -> None:
        """A symbol's bar arrived ``gap`` seconds after its previous one."""
        limit = self._p.max_bar_gap_seconds
        if gap > limit:
            detail = (
                f"{symbol}: {gap} s between consecutive bars (limit {limit} s); "
                "check the market data feed, entries resume after fresh bars"
            )
            self.stale_symbols[symbol] = detail
            self._trip(_STALE, detail)
            return
        if self.stale_wallclock or symbol in self.stale_symbols:
            self.stale_symbols.pop(symbol, None)
            self.stale_wallclock = False
            if self.stale_symbols:
                self.kill_switches[_STALE] = next(iter(self.stale_symbols.values()))
            else:
                self.kill_switches.pop(_STALE, None)
                self._refresh()

    def report_stale_data(self, detail: str) -> None:
        self.stale_wallclock = True
        self._trip(_STALE, detail)

    def broker_error(self, detail: str) -> None:
        self.broker_errors += 1
        limit = self._p.max_broker_errors
        if self.broker_errors >= limit:
            self._trip(
                _BROKER,
                f"{self.broker_errors} consecutive broker errors (limit {limit}), last: "
                f"{detail}; check the broker, then resume",
            )

    def broker_ok(self) -> None:
        self.broker_errors = 0

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
        self.paused = True
        self._refresh()

    def resume(self) -> None:
        """Operator resume: unpause and clear latched kill switches (not the loss rules)."""
        self.paused = False
        self.broker_errors = 0
        self.kill_switches.pop(_BROKER, None)
        self.kill_switches.pop(_SLIPPAGE, None)
        self._refresh()

    def begin_shutdown(self) -> None:
        self.shutting_down = True
        self._refresh()

    def state(self) -> RiskState:
        return RiskState(
            day=self.day,
            day_start_equity=self.day_start_equity,
            loss_streak=self.loss_streak,
            cooldown_until=self.cooldown_until,
            daily_halted=self.daily_halted,
            kill_switches=tuple(self.kill_switches.items()),
            stale_symbols=tuple(self.stale_symbols.items()),
            stale_wallclock=self.stale_wallclock,
        )

    def _trip(self, reason: KillSwitchReason, detail: str) -> None:
        if reason not in self.kill_switches:
            self.new_trips.append((reason, detail))
        self.kill_switches[reason] = detail
        self._refresh()

    def _refresh(self) -> None:
        self.blocked = (
            self.paused or self.daily_halted or bool(self.kill_switches) or self.shutting_down
        )
