"""Market data sources: the embedded simulator and CSV replay (each implements
``grodtd.core.ports.MarketData``)."""
