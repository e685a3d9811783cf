"""The one error type the store raises for problems an operator has to fix."""

from __future__ import annotations


class StoreError(OSError):
    """The database cannot be used as configured; the message says what to change.

    A subclass of ``OSError`` because ``StoreReader.check_writable`` promises ``OSError`` (or
    the driver's error) to readiness, and most of these problems are file-system problems.
    """
