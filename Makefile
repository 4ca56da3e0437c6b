# Two commands set everything up on a machine with only Python >= 3.11 and pip:
#   make demo   - install the locked dependencies and build the demo report
#   make test   - install the locked dependencies and run the whole test suite
# uv is installed with pip into .tools/ (no global install, no venv module
# needed); it creates .venv/ from uv.lock exactly, with the `spark` extra
# (PySpark, sqlglot) so the Spark equality tests run everywhere; Java 17 must be
# installed for them. A user's `pip install pulse-reports` has no PySpark unless
# it asks for `pulse-reports[spark]`.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PULSE := $(VENV)/bin/pulse

.PHONY: install demo test golden bench clean

$(UV):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(TOOLS) uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	PYTHONPATH=$(TOOLS) $(UV) sync --frozen --extra spark --python $(PYTHON)
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

# benchmarks/ (not tests): adds pandas (the bench dependency group); ROWS=100k|1M|10M;
# SPARK=1 also runs Pulse on a local Spark session beside DuckDB
bench: install
	PYTHONPATH=$(TOOLS) $(UV) sync --frozen --extra spark --group bench
	$(VENV)/bin/python -m benchmarks.run --rows $(or $(ROWS),1M) --format csv $(if $(SPARK),--spark)

clean:
	rm -rf $(VENV) $(TOOLS) .pulse reports
