PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUILT := $(VENV)/.compiled
# The modules mypyc compiles (gslb/compiled.py MODULES).
COMPILED := $(shell $(PYTHON) -c 'import runpy; print(*runpy.run_path("gslb/compiled.py")["MODULES"])')
# The query path's tests, run a second time from its Python sources
# (GSLB_PURE=1): unit tests, the plan-equivalence test (tests/unit/decide),
# and through real sockets the TCP conformance tests and the answers (the
# UDP conformance tests run both ways in the first pass).
PURE_TESTS := tests/unit/dns tests/unit/decide tests/unit/algorithms tests/unit/test_proximity.py \
	tests/unit/test_compiled.py tests/integration/test_dns_tcp.py \
	tests/integration/test_gslb_answers.py tests/integration/test_steering.py

.PHONY: venv run test lint check bench clean

# setup.py builds gslb/server/_batchio.c and compiles the query path with
# mypyc (both optional: without a compiler they stay pure Python). The venv
# is made without mypyc (GSLB_PURE=1 at build time), then gslb is built
# again with it: a changed compiled module rebuilds only that (a stale
# build would run the sources, and warn), a changed C or setup file both.
$(STAMP): pyproject.toml setup.py gslb/server/_batchio.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	GSLB_PURE=1 $(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(BUILT): $(STAMP) gslb/compiled.py $(COMPILED)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(BUILT)

venv: $(BUILT)

run: $(BUILT)
	$(BIN)/gslbd --config etc

check: $(BUILT)
	$(BIN)/gslbctl check etc

lint: $(BUILT)
	$(BIN)/ruff check gslb tests bench setup.py
	$(BIN)/ruff format --check gslb tests bench setup.py
	$(BIN)/mypy gslb

test: $(BUILT) lint
	$(BIN)/pytest -q
	GSLB_PURE=1 $(BIN)/pytest -q $(PURE_TESTS)

# Peer benchmark (bench/README.md): installs dnsperf and the peer servers if
# missing, runs about 25 minutes on loopback (three workloads); not part of
# `make test`, never CI.
# Options through BENCH_ARGS, e.g. make bench BENCH_ARGS="--runs 1 --duration 5".
bench: $(BUILT)
	$(BIN)/python bench/peers.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build gslb/_compiled.txt
	find gslb -name '*.so' -delete
