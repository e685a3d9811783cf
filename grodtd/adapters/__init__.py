"""Adapters of the core's ports: market data, brokers and the store."""
