# Two commands set everything up on a machine with only Python >= 3.11 and pip:
#   make demo   - install the locked dependencies and build the demo report
#   make test   - install the locked dependencies and run the whole test suite
# uv is installed with pip into .tools/ (no global install, no venv module
# needed); it creates .venv/ from uv.lock exactly.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PULSE := $(VENV)/bin/pulse

.PHONY: install demo test golden bench clean

$(UV):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(TOOLS) uv==$(UV_VERSION)

# --compile-bytecode and compileall: the libraries' and Pulse's modules are compiled once here, not
# at every command's start (which costs seconds where Python may not write .pyc files itself)
$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	PYTHONPATH=$(TOOLS) $(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	$(VENV)/bin/python -m compileall -q pipeline
	touch $@

install: $(VENV)/.synced

demo: install
	$(VENV)/bin/python -m pipeline.demo data --until last
	$(PULSE) run

test: install
	$(VENV)/bin/python -m pytest -q -n auto

# tests/golden/: the demo period's report HTML, email and manifest; rewrite them after an
# intended change to the output, then read `git diff tests/golden/` before committing
golden: install
	PULSE_UPDATE_GOLDEN=1 $(VENV)/bin/python -m pytest -q tests/integration/test_golden.py
	git --no-pager diff --stat -- tests/golden/

# benchmarks/ (not tests): adds pandas (the bench dependency group); ROWS=100k|1M|10M
bench: install
	PYTHONPATH=$(TOOLS) $(UV) sync --frozen --compile-bytecode --group bench
	$(VENV)/bin/python -m benchmarks.run --rows $(or $(ROWS),1M) --format csv

clean:
	rm -rf $(VENV) $(TOOLS) .pulse reports
