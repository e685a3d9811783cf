# Shortcuts; each target is a thin wrapper over a script in scripts/.
.PHONY: run test backtest image stack clean

# --no-dev: the daemon's own dependencies only; --inexact: keep the test tools `make test`
# installed, if any, instead of uninstalling them.
run:  ## Run the daemon on the embedded simulator (dashboard: http://127.0.0.1:8000)
	@scripts/bootstrap.sh --no-dev --inexact
	.venv/bin/grodt run

test:  ## Every test tier, with coverage
	scripts/test.sh

backtest:  ## 30 simulated days, two symbols
	@scripts/bootstrap.sh --no-dev --inexact
	.venv/bin/grodt backtest --days 30

image:  ## Build the container image without a registry
	scripts/docker-build.sh

stack:  ## The whole stack: GRODT, Prometheus (and Grafana where images can be pulled)
	scripts/docker-dev.sh up dev

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov build
