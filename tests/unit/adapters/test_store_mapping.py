"""The store's row mapping: every domain value survives the trip through rows and JSON."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from grodtd.adapters.store import mapping
from grodtd.adapters.store.schema import checkpoint as checkpoint_table
from grodtd.core.models import Checkpoint, KillSwitchReason, RiskState

finite = st.floats(allow_nan=False, allow_infinity=False)
epoch = st.integers(min_value=0, max_value=2**40)

risk_states = st.builds(
    RiskState,
    day=st.integers(min_value=-1, max_value=10**6),
    day_start_equity=finite,
    loss_streak=st.integers(min_value=0, max_value=100),
    cooldown_until=epoch,
    daily_halted=st.booleans(),
    kill_switches=st.lists(
        st.tuples(st.sampled_from(KillSwitchReason), st.text(max_size=40)), max_size=3
    ).map(tuple),
    stale_symbols=st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=40)).map(
        lambda d: tuple(d.items())
    ),
    stale_wallclock=st.booleans(),
)

checkpoints = st.builds(
    Checkpoint,
    last_ts=st.dictionaries(st.text(min_size=1, max_size=12), epoch, max_size=5),
    bars_processed=st.integers(min_value=0, max_value=2**40),
    cash=finite,
    realized_pnl=finite,
    fees=finite,
    peak_equity=finite,
    risk=risk_states,
)


@given(checkpoints)
def test_checkpoint_round_trips_exactly(checkpoint: Checkpoint) -> None:
    row = mapping.checkpoint_to_row(checkpoint, checkpoint_id=1, now=5)
    assert set(row) == {c.name for c in checkpoint_table.columns}
    assert mapping.checkpoint_from_row(row) == checkpoint


def test_risk_state_from_another_build_still_loads() -> None:
    """Unknown keys (a newer build) are ignored; missing ones (an older build) take defaults."""
    text = json.dumps(
        {
            "day": 20_454,
            "loss_streak": 3,
            "kill_switches": [["broker_errors", "5 in a row"]],
            "some_future_field": 1,
        }
    )
    assert mapping.risk_from_json(text) == RiskState(
        day=20_454,
        loss_streak=3,
        kill_switches=((KillSwitchReason.BROKER_ERRORS, "5 in a row"),),
    )
