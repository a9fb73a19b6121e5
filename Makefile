# vreid_lite — set-up, demo, tests. Every target creates what it needs and reuses what exists.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
SMOKE_NOTEBOOKS := $(sort $(wildcard notebooks/0[1-5]_*.ipynb))
# 07 (beyond the papers) is left out of the demo: the demo is already over its 8-minute goal.
DEMO_NOTEBOOKS := $(filter-out notebooks/07_%,$(NOTEBOOKS))
BROWSER_STAMP := $(VENV)/.browser-$(shell cksum pyproject.toml | cut -d' ' -f1)
CHROMIUM ?= /usr/bin/chromium
# Empty: every notebooks/0[0-7]_*.ipynb with widget outputs (the test's own list).
BROWSER_NOTEBOOKS ?=

export VREID_DATA_DIR ?= $(CURDIR)/data
export VREID_RUNS_DIR ?= $(CURDIR)/runs
export MPLBACKEND ?= Agg
DEMO_PRESET ?= quick

.PHONY: setup data demo test test-unit test-notebooks test-browser chromium lab notebooks bench bench-gpu smoke-standard clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name vreid-lite --display-name vreid-lite >/dev/null
	rm -f $(VENV)/.installed-*
	touch $@

data: setup
	$(BIN)/vreid data synth synth_quick --out $(VREID_DATA_DIR)/synth_quick
	$(BIN)/vreid data check veri776 $(VREID_DATA_DIR)/synth_quick

# Every numbered notebook but 07 in order at the quick preset, each into runs/<time>-<name>-demo/, in
# one process; a failing notebook does not stop the others, the summary shows it and the exit
# status says it.
demo: data
	@failed=0; \
	$(BIN)/vreid run $(DEMO_NOTEBOOKS) -p preset $(DEMO_PRESET) --tag demo || failed=1; \
	$(BIN)/vreid summary --html || failed=1; \
	exit $$failed

test: setup
	$(BIN)/python -m pytest tests -q
	$(BIN)/python -m pytest -q --nbval-lax --nbval-current-env $(NOTEBOOKS)

test-unit: setup
	$(BIN)/python -m pytest tests/unit -q

test-notebooks: setup
	$(BIN)/python -m pytest -q --nbval-lax --nbval-current-env $(NOTEBOOKS)

# Each notebook with widgets opened in JupyterLab in headless Chromium and run from the menu:
# every explorer control must change its view, every plotly figure must draw, no console
# error (tests/browser/). Screenshots go to $(VREID_RUNS_DIR)/browser/.
test-browser: $(BROWSER_STAMP) chromium
	CHROMIUM=$(CHROMIUM) \
	$(if $(strip $(BROWSER_NOTEBOOKS)),VREID_BROWSER_NOTEBOOKS="$(BROWSER_NOTEBOOKS)") \
		$(BIN)/python -m pytest -q tests/browser/check_notebook_widgets.py

$(BROWSER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,browser]'
	rm -f $(VENV)/.browser-*
	touch $@

# Debian's chromium, installed when missing (as root); Playwright's own browser download is
# never used.
chromium:
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
		else \
			echo "$(CHROMIUM) is missing: install Debian's chromium package as root" \
			     "(apt-get install chromium), or set CHROMIUM=/path/to/chromium" >&2; \
			exit 1; \
		fi; }

# Containers run as root, where Jupyter refuses to start without --allow-root.
lab: setup
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# Re-executes every notebook in place at the quick preset so the committed outputs are fresh
# (widget state left out: vreid_lite/runs/committed.py says why).
notebooks: setup
	cd notebooks && for nb in $(notdir $(NOTEBOOKS)); do \
		../$(BIN)/papermill --kernel vreid-lite "$$nb" "$$nb" || exit 1; \
		../$(BIN)/python -m vreid_lite.runs.committed "$$nb" >/dev/null || exit 1; done

bench: setup
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python "$$b" || exit 1; done

# One CUDA GPU, about 8 minutes: training throughput, input pipeline, evaluation, notebook 01
# (benchmarks/gpu_suite.sh); refuses to start without CUDA.
bench-gpu: setup
	VREID_PYTHON=$(BIN)/python benchmarks/gpu_suite.sh

# The paper notebooks at the smoke preset (the standard preset's ResNet-50 at 256×256, one
# small batch per stage, on a CPU): each notebook's wall time and kernel peak memory go to
# runs/smoke/smoke_standard.json and are printed as a table. Exits 1 when a notebook failed.
smoke-standard: setup
	$(BIN)/python -m vreid_lite.runs.smoke $(SMOKE_NOTEBOOKS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
