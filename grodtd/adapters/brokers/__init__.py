"""Brokers (``grodtd.core.ports.Broker``): the paper broker, a simulated venue that fills
against the market data it is shown, and the live broker, a real exchange through ccxt."""
