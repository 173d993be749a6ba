# The two commands: `make demo` and `make test`. Each builds .venv from requirements.lock first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Two workers (the machine's cores); tests sharing a module-scoped fixture stay together (tests/conftest.py).
PYTEST_WORKERS ?= 2

.PHONY: venv demo test bench lint lock clean

# uv installs the 250-package lock in about 10 s where pip takes about 3 minutes. --compile-bytecode:
# uv writes no .pyc by default, and with PYTHONDONTWRITEBYTECODE=1 (common in containers and CI) Python
# never writes them either, so every process (kernel, pipeline step, test) would recompile feast, mlflow
# and evidently on import: importing the three took 12 s without bytecode, 7.5 s with it. (uv compiles
# only when it installs something: a venv made before this flag needs `make clean venv`.)
$(STAMP): requirements.lock pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "uv==$(UV_VERSION)"
	$(UV) pip install -q --compile-bytecode --python $(PY) -r requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps -e .
	touch $@

venv: $(STAMP)

demo: venv
	$(VENV)/bin/mlops-magics demo

test: venv
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: venv
	$(PY) bench/run.py $(BENCH)

lint: venv
	$(VENV)/bin/ruff check mlops_magics tests bench
	$(VENV)/bin/ruff format --check mlops_magics tests bench

# Re-resolve the lock (needs the registry); commit the result with the versions you tested.
lock: venv
	$(UV) pip compile pyproject.toml --extra kubeflow --extra redis --extra team --extra demo --extra test --extra dev \
		--python-version 3.11 -o requirements.lock
	cp requirements.lock binder/requirements.txt  # Binder installs exactly what was tested

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
