"""The operator's instruments: health and readiness, Prometheus metrics, JSON logs, the
trading journal on stdout and the build identity."""
