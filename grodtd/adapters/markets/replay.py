"""Historical bars from CSV files, one file per symbol, merged in time order.

Files are streamed row by row (a year of 1-minute bars is half a million rows per symbol, and a
backtest may replay several years). Every row is checked, because a silently wrong bar
becomes a wrong fill: the first bad row stops the replay with a ``ReplayError`` that names the
file, the line, what is wrong and what to do.
"""

from __future__ import annotations

import csv
import heapq
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TextIO

from grodtd.core.models import Bar

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
_HEADER_HINT = ",".join(COLUMNS)
# Epoch values beyond this are milliseconds (or worse): 10**11 seconds is the year 5138.
_MAX_EPOCH_SECONDS = 10**11


class ReplayError(ValueError):
    """A replay file is missing, unreadable or holds a malformed row."""


# Builds the error for the row being parsed from a description of what is wrong.
type _Bad = Callable[[str], ReplayError]


class CsvReplay:
    """Implements ``MarketData`` over CSV files headed ``timestamp,open,high,low,close,volume``.

    ``timestamp`` is a bar's open time, as integer epoch seconds or ISO 8601 (a time without an
    offset is taken as UTC). Bars of different symbols with the same time come out in the order
    of ``paths``.
    """

    def __init__(self, paths: Mapping[str, Path | str]) -> None:
        if not paths:
            raise ReplayError("no replay files given; map at least one symbol to a CSV file")
        self._paths = {symbol: Path(path) for symbol, path in paths.items()}
        self.symbols: Sequence[str] = tuple(self._paths)
        # Fail at start-up, not minutes into a backtest, when a file is missing or not a CSV.
        for symbol, path in self._paths.items():
            with _open(symbol, path) as handle:
                _read_header(path, csv.reader(handle))

    def bars(self, after: dict[str, int] | None = None) -> Iterator[Bar]:
        """All bars in time order, for each symbol strictly after ``after[symbol]``."""
        after = after or {}
        rank = {symbol: i for i, symbol in enumerate(self.symbols)}
        streams = [_rows(symbol, path, after.get(symbol)) for symbol, path in self._paths.items()]
        if len(streams) == 1:
            return streams[0]
        return heapq.merge(*streams, key=lambda bar: (bar.ts, rank[bar.symbol]))


def _open(symbol: str, path: Path) -> TextIO:
    try:
        return path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReplayError(
            f"{path}: replay file for {symbol} not found; check the path or create the file"
        ) from None
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read the replay file for {symbol}: {exc}") from None


def _read_header(path: Path, reader: Iterator[list[str]]) -> tuple[int, ...]:
    """Column positions of ``COLUMNS``; any column order is accepted, no other column."""
    try:
        header = next(reader)
    except StopIteration:
        raise ReplayError(
            f"{path}: the file is empty; it needs the header line {_HEADER_HINT} and then "
            "one bar per line"
        ) from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ReplayError(
            f"{path} line 1: unreadable header ({exc}); save it as UTF-8 CSV"
        ) from None
    names = [name.strip().lower() for name in header]
    if sorted(names) != sorted(COLUMNS):
        raise ReplayError(
            f"{path} line 1: the header must name the columns {_HEADER_HINT} (got "
            f"{','.join(header)!r}); add or fix the header line"
        )
    return tuple(names.index(column) for column in COLUMNS)


def _rows(symbol: str, path: Path, after: int | None) -> Iterator[Bar]:
    with _open(symbol, path) as handle:
        reader = csv.reader(handle)
        columns = _read_header(path, reader)
        previous_ts: int | None = None
        previous_line = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                raise ReplayError(
                    f"{path} line {reader.line_num}: unreadable row ({exc}); fix or remove the row"
                ) from None
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank lines (a trailing newline, say) carry no bar
            bar = _parse_row(symbol, row, columns) or _diagnose_row(
                symbol, row, columns, partial(_bad, path, line)
            )
            if previous_ts is not None and bar.ts <= previous_ts:
                raise _bad(
                    path,
                    line,
                    f"timestamp {_iso(bar.ts)} is not after the previous row's "
                    f"{_iso(previous_ts)} (line {previous_line}); rows must be in increasing "
                    "time order without duplicates: sort the file and drop duplicate rows",
                    suffix=False,
                )
            previous_ts, previous_line = bar.ts, line
            if after is None or bar.ts > after:
                yield bar


def _bad(path: Path, line: int, what: str, *, suffix: bool = True) -> ReplayError:
    return ReplayError(
        f"{path} line {line}: {what}" + ("; fix or remove the row" if suffix else "")
    )


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_row(symbol: str, row: list[str], columns: tuple[int, ...]) -> Bar | None:
    """The bar of a well-formed epoch-stamped row; None sends the row to ``_diagnose_row``.

    One compound check instead of one per rule keeps the common case fast; NaN fails every
    comparison, so it is caught here too.
    """
    if len(row) != len(COLUMNS):
        return None
    i_ts, i_open, i_high, i_low, i_close, i_volume = columns
    try:
        ts = int(row[i_ts])
        open_, high = float(row[i_open]), float(row[i_high])
        low, close, volume = float(row[i_low]), float(row[i_close]), float(row[i_volume])
    except ValueError:
        return None
    if (
        0.0 < low <= open_ <= high < math.inf
        and low <= close <= high
        and 0.0 <= volume < math.inf
        and ts < _MAX_EPOCH_SECONDS
    ):
        return Bar(symbol, ts, open_, high, low, close, volume)
    return None


def _diagnose_row(
    symbol: str,
    row: list[str],
    columns: tuple[int, ...],
    bad: _Bad,
) -> Bar:
    """Parse a row the fast path refused: ISO timestamps, or say precisely what is wrong."""
    if len(row) != len(COLUMNS):
        raise bad(f"expected {len(COLUMNS)} columns ({_HEADER_HINT}), found {len(row)}")
    ts = _parse_ts(row[columns[0]].strip(), bad)
    values = []
    for name, index in zip(COLUMNS[1:], columns[1:], strict=True):
        text = row[index].strip()
        try:
            value = float(text)
        except ValueError:
            raise bad(f"{name!r} is not a number ({text!r})") from None
        if not math.isfinite(value):
            raise bad(f"{name!r} is not a finite number ({text!r})")
        values.append(value)
    open_, high, low, close, volume = values
    if min(open_, high, low, close) <= 0:
        raise bad(f"prices must be positive (open {open_}, high {high}, low {low}, close {close})")
    if high < low:
        raise bad(f"'high' ({high}) is below 'low' ({low})")
    if not low <= open_ <= high or not low <= close <= high:
        raise bad(
            f"'open' ({open_}) and 'close' ({close}) must lie within low..high ({low}..{high})"
        )
    if volume < 0:
        raise bad(f"'volume' is negative ({volume})")
    return Bar(symbol, ts, open_, high, low, close, volume)


def _parse_ts(text: str, bad: _Bad) -> int:
    try:
        ts = int(text)
    except ValueError:
        ts = _parse_non_integer_ts(text, bad)
    if ts >= _MAX_EPOCH_SECONDS:
        raise bad(
            f"'timestamp' {text} is too large for epoch seconds; if it is in milliseconds, "
            "divide the column by 1000"
        )
    return ts


def _parse_non_integer_ts(text: str, bad: _Bad) -> int:
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(number) and number == int(number):
            return int(number)
        raise bad(f"'timestamp' {text} is not a whole number of epoch seconds")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad(
            f"'timestamp' is neither epoch seconds nor an ISO 8601 time ({text!r}); use e.g. "
            "1767225600 or 2026-01-01T00:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.microsecond:
        raise bad(f"'timestamp' {text} has fractions of a second; bar times are whole seconds")
    return int(moment.timestamp())
