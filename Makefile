# Two commands for a newcomer: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))

LOCK := requirements.lock

.PHONY: venv lock demo test unit lab notebooks notebook-times bench clean

## venv: the exact versions of requirements.lock when present, else the ranges of pyproject.toml
venv: $(STAMP)

$(STAMP): pyproject.toml $(wildcard $(LOCK))
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null
	if [ -f $(LOCK) ]; then \
	  $(PY) -m pip install -r $(LOCK) && $(PY) -m pip install -e . --no-deps; \
	else \
	  $(PY) -m pip install -e ".[dev]"; \
	fi
	touch $(STAMP)

## lock: install the ranges of pyproject.toml (every extra) into .venv, then pin what is installed
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) tools/lock.py $(LOCK)

## demo: generate the embedded data (if missing), train, evaluate, write a report
demo: $(STAMP)
	$(PY) -m tsgan demo

## test: lint and format checks, unit tests and every notebook under strict nbval (docs/TEACHING.md)
test: $(STAMP)
	$(VENV)/bin/ruff check tsgan tests benchmarks
	$(VENV)/bin/ruff format --check tsgan tests benchmarks
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg tests notebooks

## unit: unit tests only (fast)
unit: $(STAMP)
	$(PY) -m pytest tests

## lab: JupyterLab on notebooks/
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

## notebooks: re-execute every notebook in place so stored outputs match the code
notebooks: $(STAMP)
	for nb in $(NOTEBOOKS); do \
	  $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=1800 $$nb || exit 1; \
	done

## notebook-times: execute every notebook cold and warm, write the times table into README.md
notebook-times: $(STAMP)
	$(PY) benchmarks/notebook_times.py

## bench: run the benchmark scripts
bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf runs .pytest_cache
