"""Backtests over the same core as the live daemon: same engine, strategy, risk and broker."""
