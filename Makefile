PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint check bench clean

$(STAMP): pyproject.toml
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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
