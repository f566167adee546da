PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint check bench clean

# setup.py builds gslb/server/_batchio.c (optional: without a compiler the
# UDP loop stays pure Python); a changed C file rebuilds it.
$(STAMP): pyproject.toml setup.py gslb/server/_batchio.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/gslbd --config etc

check: $(STAMP)
	$(BIN)/gslbctl check etc

lint: $(STAMP)
	$(BIN)/ruff check gslb tests bench
	$(BIN)/ruff format --check gslb tests bench
	$(BIN)/mypy gslb

test: $(STAMP) lint
	$(BIN)/pytest -q

# Peer benchmark (bench/README.md): installs dnsperf and the peer servers if
# missing, runs about 25 minutes on loopback (three workloads); not part of
# `make test`, never CI.
# Options through BENCH_ARGS, e.g. make bench BENCH_ARGS="--runs 1 --duration 5".
bench: $(STAMP)
	$(BIN)/python bench/peers.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build gslb/server/_batchio*.so
