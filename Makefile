# The two set-up commands of the README, and what CI runs.
#   make demo   -> a virtualenv with jaxviz, then JupyterLab on the first demo notebook
#   make test   -> a virtualenv with jaxviz and its test tools, then the whole test suite
PYTHON ?= python3
VENV ?= .venv
OLDEST_VENV ?= .venv-oldest
#: The oldest jax jaxviz supports; `make test-oldest` runs the unit tests against it.
OLDEST_JAX ?= 0.7.0
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: test demo test-oldest

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip

test: $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -q -e ".[test]"
	$(VENV)/bin/python -m pytest

demo: $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -q -e ".[demo]"
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) demo_notebooks/01_getting_started.ipynb

test-oldest:
	$(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install -q "jax==$(OLDEST_JAX)" "jaxlib==$(OLDEST_JAX)"
	$(OLDEST_VENV)/bin/python -m pip install -q -e ".[test-core]"
	$(OLDEST_VENV)/bin/python -m pytest -m "not kernel and not browser"
