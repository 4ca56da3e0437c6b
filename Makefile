# Two commands set everything up on a machine with only Python >= 3.11 and pip:
#   make demo   - install the locked dependencies and build the demo report
#   make test   - install the locked dependencies and run the whole test suite
# uv is installed with pip into .tools/ (no global install, no venv module
# needed); it creates .venv/ from uv.lock exactly, with the `spark` extra
# (PySpark, sqlglot) so the Spark equality tests run everywhere; Java 17 must be
# installed for them. A user's `pip install pulse-reports` has no PySpark unless
# it asks for `pulse-reports[spark]`. VERBOSE=1 shows the commands and the
# installer's package listing.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PULSE := $(VENV)/bin/pulse
ifeq ($(VERBOSE),1)
Q :=
QUIET :=
HUSH :=
else
Q := @
QUIET := --quiet
HUSH := >/dev/null
endif

.PHONY: install demo test golden bench clean

$(UV):
	$(Q)PIP_ROOT_USER_ACTION=ignore $(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(TOOLS) uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(Q)echo "installing the locked dependencies into $(VENV)/ (make VERBOSE=1 lists them)"
	$(Q)PYTHONPATH=$(TOOLS) $(UV) sync --frozen --extra spark $(QUIET) --python $(PYTHON)
	$(Q)touch $@

install: $(VENV)/.synced

# the demo exports up to the last complete month, then the report; the last line names its files
demo: install
	$(Q)$(VENV)/bin/python -m pipeline.demo data --until last $(HUSH)
	$(Q)files="$$($(PULSE) run)" && echo "demo report:" $$files

test: install
	$(Q)$(VENV)/bin/python -m pytest -q -n auto --dist loadfile --no-loadscope-reorder

# tests/golden/: the demo period's report HTML, email and manifest; rewrite them after an
# intended change to the output, then read `git diff tests/golden/` before committing
golden: install
	$(Q)PULSE_UPDATE_GOLDEN=1 $(VENV)/bin/python -m pytest -q tests/integration/test_golden.py
	$(Q)git --no-pager diff --stat -- tests/golden/

# benchmarks/ (not tests): adds pandas (the bench dependency group); ROWS=100k|1M|10M;
# SPARK=1 also runs Pulse on a local Spark session beside DuckDB
bench: install
	$(Q)PYTHONPATH=$(TOOLS) $(UV) sync --frozen --extra spark $(QUIET) --group bench
	$(Q)$(VENV)/bin/python -m benchmarks.run --rows $(or $(ROWS),1M) --format csv $(if $(SPARK),--spark)

clean:
	rm -rf $(VENV) $(TOOLS) .pulse reports
