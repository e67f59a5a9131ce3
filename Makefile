# Quick start (see README.md):
#   make book   # create .venv, install pinned requirements, build the book into _build/html
#   make test   # build the book with warnings as errors, then run every test
# Other targets: make lab | make page PAGE=notebooks/02-simple-rnn.ipynb | make bench | make clean
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book build . -W -n --keep-going

# One BLAS thread per process: the models' matrix products are small, and the test run
# uses two pytest workers on two cores; oversubscribed OpenBLAS threads made notebooks
# 10-20x slower on a busy 2-core machine. It also keeps every run's numbers identical.
# (Override on the command line, e.g. `make bench OPENBLAS_NUM_THREADS=2`.)
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: book test unit kernels lab page bench clear-outputs clean

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

# jupyter-cache re-executes a notebook only when its own code changes, and Sphinx rereads only
# changed pages. When the package, the benchmark code or results, or the data change, every
# notebook's outputs may change: drop both caches then, so that no page shows outputs of older
# code. _build/.code-stamp marks the last build.
CODE_STAMP := _build/.code-stamp
define fresh_cache
	@if [ -d _build/.jupyter_cache ] && { [ ! -f $(CODE_STAMP) ] || \
	    [ -n "$$(find rnn_core benchmarks data pyproject.toml requirements.txt -newer $(CODE_STAMP) -not -path "*/__pycache__/*" -print -quit)" ]; }; then \
	  echo "rnn_core, benchmarks or data changed since the last build: every notebook runs again"; \
	  rm -rf _build/.jupyter_cache _build/.doctrees; \
	fi
	@mkdir -p _build && touch $(CODE_STAMP).next
endef
# after a build without errors: the stamp is the time the build started
mark_built = @mv $(CODE_STAMP).next $(CODE_STAMP)

book: $(STAMP)
	$(fresh_cache)
	$(JB)
	$(mark_built)
	@echo
	@echo "Book built. Open $(CURDIR)/_build/html/index.html in your browser."

# Every test: the book build (warnings are errors, every notebook executed),
# unit tests, every notebook under nbval, browser tests of the built pages, and
# the unit tests again under other OpenBLAS kernels (`make kernels`).
test: $(STAMP)
	$(fresh_cache)
	$(JB)
	$(mark_built)
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax
	@$(MAKE) --no-print-directory kernels

unit: $(STAMP)
	$(BIN)/python -m pytest tests -n 2 -m "not browser"

# The unit tests (every cell, layer, model and gradient check) under other OpenBLAS
# kernels: they sum in different orders, so a check that only passes on one CPU family
# (issue 10: an AVX2 AMD machine failed a gradient check an Intel one passed) fails here.
# OPENBLAS_CORETYPE is set only in this target. x86-64 only: other CPUs have no such kernels.
KERNELS ?= Haswell Prescott
kernels: $(STAMP)
	@if [ "$$(uname -m)" != x86_64 ]; then \
	  echo "make kernels: skipped, OPENBLAS_CORETYPE kernels ($(KERNELS)) exist only on x86-64, this is $$(uname -m)"; \
	else \
	  for k in $(KERNELS); do \
	    echo "== unit tests under OPENBLAS_CORETYPE=$$k"; \
	    OPENBLAS_CORETYPE=$$k $(BIN)/python -m pytest tests -n 2 -m "not browser" || exit 1; \
	  done; \
	fi

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Rebuild a single page fast (executes only that notebook), e.g.
#   make page PAGE=notebooks/02-simple-rnn.ipynb
page: $(STAMP)
	$(BIN)/jupyter-book build $(PAGE)
	@echo "Open $(CURDIR)/_build/_page/$(subst /,-,$(basename $(PAGE)))/html/index.html"

# Speed of the cells against the article's style and PyTorch (2 BLAS threads, as PyTorch gets):
# checks the baselines, prints the table and the products/other split per cell and size, and
# rewrites benchmarks/results.json (which Appendix A reads). Run it on an idle machine.
bench: $(STAMP)
	OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 $(BIN)/python benchmarks/bench_cells.py --check --torch-threads 2 --out benchmarks/results.json

clear-outputs: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

clean:
	rm -rf _build notebooks/_build .pytest_cache
