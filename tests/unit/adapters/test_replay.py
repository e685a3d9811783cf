"""CSV replay: parsing, merging in time order, resuming, and errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from grodtd.adapters.markets.replay import CsvReplay, ReplayError
from grodtd.core.models import Bar
from grodtd.core.ports import MarketData

HEADER = "timestamp,open,high,low,close,volume\n"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def write(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.write_text(header + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def two_symbols(tmp_path: Path) -> dict[str, Path]:
    btc = write(
        tmp_path / "btc.csv",
        "2026-01-01T00:00:00Z,100,101,99,100.5,3.5",
        "2026-01-01T00:01:00+00:00,100.5,102,100,101,2",
        "2026-01-01 00:03:00,101,101.5,100.5,101.2,0",  # no offset: UTC; a gap is allowed
    )
    eth = write(
        tmp_path / "eth.csv",
        f"{T0},10,11,9,10.5,30",
        f"{T0 + 120},10.5,10.6,10.4,10.5,31",
        f"{T0 + 180},10.5,10.7,10.5,10.6,32",
        f"{T0 + 240}.0,10.6,10.8,10.6,10.7,33",  # integral float epoch is fine
        "",  # a trailing blank line carries no bar
    )
    return {"BTC-USD": btc, "ETH-USD": eth}


def test_merges_symbols_in_time_order_with_iso_and_epoch_timestamps(
    two_symbols: dict[str, Path],
) -> None:
    replay = CsvReplay(two_symbols)
    bars = list(replay.bars())

    assert replay.symbols == ("BTC-USD", "ETH-USD")
    assert [(b.symbol, b.ts - T0) for b in bars] == [
        ("BTC-USD", 0),
        ("ETH-USD", 0),
        ("BTC-USD", 60),
        ("ETH-USD", 120),
        ("BTC-USD", 180),
        ("ETH-USD", 180),
        ("ETH-USD", 240),
    ]
    assert bars[0] == Bar("BTC-USD", T0, 100.0, 101.0, 99.0, 100.5, 3.5)
    assert bars[-1] == Bar("ETH-USD", T0 + 240, 10.6, 10.8, 10.6, 10.7, 33.0)


def test_resume_yields_only_bars_after_each_symbols_checkpoint(
    two_symbols: dict[str, Path],
) -> None:
    replay = CsvReplay(two_symbols)
    full = list(replay.bars())
    after = {"BTC-USD": T0 + 60, "ETH-USD": T0 + 180}
    assert list(replay.bars(after)) == [b for b in full if b.ts > after[b.symbol]]
    assert list(replay.bars({"BTC-USD": T0 + 10**6, "ETH-USD": T0 + 10**6})) == []
    # The stream can be replayed again: each call reopens the files.
    assert list(replay.bars()) == full


def test_columns_may_come_in_any_order(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.csv",
        f"5,{T0},10,9,10.5,11",
        header="Volume, timestamp ,open,low,close,HIGH\n",
    )
    (bar,) = CsvReplay({"X": path}).bars()
    assert bar == Bar("X", T0, 10.0, 11.0, 9.0, 10.5, 5.0)


def test_rows_are_streamed_not_loaded(tmp_path: Path) -> None:
    path = write(
        tmp_path / "big.csv",
        f"{T0},1,2,0.5,1.5,1",
        f"{T0 + 60},1,2,0.5,1.5,1",
        "this row is broken",
    )
    stream = CsvReplay({"X": path}).bars()
    # The first bars arrive before the broken row is read.
    assert next(stream).ts == T0
    assert next(stream).ts == T0 + 60
    with pytest.raises(ReplayError, match="line 4"):
        next(stream)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (f"{T0 + 60},1,2,0.5,1.5", "expected 6 columns"),
        (f"{T0 + 60},1,2,0.5,1.5,1,7", "expected 6 columns"),
        (f"{T0 + 60},1,abc,0.5,1.5,1", "'high' is not a number ('abc'); fix or remove the row"),
        (f"{T0 + 60},1,2,0.5,,1", "'close' is not a number ('')"),
        (f"{T0 + 60},1,2,0.5,nan,1", "'close' is not a finite number"),
        (f"{T0 + 60},1,0.5,2,1.5,1", "'high' (0.5) is below 'low' (2.0)"),
        (f"{T0 + 60},3,2,0.5,1.5,1", "must lie within low..high"),
        (f"{T0 + 60},1,2,0.5,1.5,-4", "'volume' is negative"),
        (f"{T0 + 60},-1,2,-2,1.5,1", "prices must be positive"),
        (f"{T0},1,2,0.5,1.5,1", "is not after the previous row's 2026-01-01T00:00:00Z (line 2)"),
        (f"{T0 - 60},1,2,0.5,1.5,1", "sort the file"),
        ("yesterday,1,2,0.5,1.5,1", "neither epoch seconds nor an ISO 8601 time ('yesterday')"),
        (f"{T0 + 60}000,1,2,0.5,1.5,1", "divide the column by 1000"),
        (f"{T0 + 60}.5,1,2,0.5,1.5,1", "not a whole number of epoch seconds"),
        ("2026-01-01T00:01:00.250Z,1,2,0.5,1.5,1", "fractions of a second"),
    ],
)
def test_a_malformed_row_names_the_file_the_line_and_the_problem(
    tmp_path: Path, row: str, problem: str
) -> None:
    path = write(tmp_path / "btc.csv", f"{T0},1,2,0.5,1.5,1", row, f"{T0 + 600},1,2,0.5,1.5,1")
    replay = CsvReplay({"BTC-USD": path})
    with pytest.raises(ReplayError) as caught:
        list(replay.bars())
    message = str(caught.value)
    assert message.startswith(f"{path} line 3: ")
    assert problem in message
    assert isinstance(caught.value, ValueError)


def test_a_malformed_row_before_the_resume_point_is_still_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "btc.csv", f"{T0},1,2,0.5,1.5,1", f"{T0 + 60},1,2,oops,1.5,1")
    with pytest.raises(ReplayError, match="line 3: 'low' is not a number"):
        list(CsvReplay({"BTC-USD": path}).bars({"BTC-USD": T0 + 3600}))


def test_missing_file_is_reported_at_construction(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ReplayError, match=r"nope\.csv: replay file for BTC-USD not found"):
        CsvReplay({"BTC-USD": missing})


def test_missing_or_wrong_header_is_reported(tmp_path: Path) -> None:
    headerless = write(tmp_path / "a.csv", f"{T0},1,2,0.5,1.5,1", header="")
    with pytest.raises(ReplayError, match=r"a\.csv line 1: the header must name the columns"):
        CsvReplay({"A": headerless})
    empty = tmp_path / "b.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ReplayError, match=r"b\.csv: the file is empty"):
        CsvReplay({"B": empty})
    with pytest.raises(ReplayError, match="map at least one symbol"):
        CsvReplay({})


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text("\ufeff" + HEADER + f"{T0},1,2,0.5,1.5,1\n", encoding="utf-8")
    assert [b.ts for b in CsvReplay({"X": path}).bars()] == [T0]


def test_replay_serves_the_market_data_port(two_symbols: dict[str, Path]) -> None:
    market: MarketData = CsvReplay(two_symbols)  # checked by mypy
    assert next(iter(market.bars())).symbol == "BTC-USD"
