# Machine Learning with JAX: the two commands are `make book` and `make test` (see README.md).
# Everything runs inside .venv, created from requirements.txt on first use and whenever that file changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
JB     := $(VENV)/bin/jupyter-book
STAMP  := $(VENV)/.installed

# Any Sphinx warning fails the build (-W), unresolved references warn (-n), and --keep-going reports them all.
BUILD_FLAGS := --warningiserror --nitpick --keep-going
BOOK ?= .
# How many lectures execute at once in a build, and how many pytest workers share `make test`: one per CPU.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
# Kernels side by side share a GPU where there is one: JAX must not claim most of its memory up front (its default).
export XLA_PYTHON_CLIENT_PREALLOCATE ?= false

.PHONY: book html pdf page run test notebooks bench canary clean help

help:
	@echo "make book       build the HTML into _build/html (executes changed lectures)"
	@echo "make test       build the book and its PDF, then run every test in tests/ (nbval, results, Colab, browser, PDF)"
	@echo "make pdf        the whole book as one PDF: _build/pdf/machine-learning-with-jax.pdf"
	@echo "make page LECTURE=autodiff   build one lecture alone into _build/page/autodiff/_build/html"
	@echo "make run LECTURE=autodiff    execute one lecture alone: time, stderr, glued values against their ranges"
	@echo "make notebooks  build the book, then regenerate the Colab notebooks lectures/*.ipynb from it"
	@echo "make bench      time a cold build (each lecture's execution and compile time), a warm rebuild and"
	@echo "                \`make test\` in a fresh clone, phase by phase (_build/bench.json; BENCH_TEST=0 skips make test)"
	@echo "make canary     run every Colab notebook with the newest releases of what the lectures import, on the"
	@echo "                newest Python (3.13+); fails on an error or anything on stderr (_build/canary/report.json)"

$(STAMP): requirements.txt tools/axe.py
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed, found " + sys.version'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m tools axe
	touch $(STAMP)

book: $(STAMP)
	$(MAKE) --no-print-directory html

# Build the book in $(BOOK) with the strict flags; used by `book` and by the failing-cell test. First the lectures
# whose code is not in the execution cache run, $(JOBS) at a time, into that cache; Sphinx then finds them there.
html:
	JOBS=$(JOBS) $(PY) -m tools execute $(BOOK)
	@# The root on PYTHONPATH: Sphinx loads tools.numbering (tools/numbering.py), an extension of the book's own.
	PYTHONPATH=$(CURDIR) $(JB) build $(BOOK) $(BUILD_FLAGS)
	@# Sphinx copies _static/ only when it writes a page, so a changed stylesheet or script alone would not reach
	@# the site: copy what differs.
	@for f in $(BOOK)/_static/*; do t=$(BOOK)/_build/html/_static/$$(basename $$f); \
	  if [ -f "$$f" ] && [ -e "$$t" ] && ! cmp -s "$$f" "$$t"; then cp "$$f" "$$t"; echo "updated $$t"; fi; done
	$(PY) -m tools downloads $(BOOK)

# The whole book as one PDF: every page of the built site, in TOC order, printed by Chromium (equations typeset by
# MathJax, folded solutions opened) and joined by pdfunite. Nothing is executed again.
pdf: book
	$(PY) -m tools pdf

# One lecture on its own, for writing and debugging it: make page LECTURE=autodiff
page: $(STAMP)
	@test -n "$(LECTURE)" || { echo "usage: make page LECTURE=<name of lectures/NAME.md>"; exit 2; }
	$(PY) -m tools page $(LECTURE)
	$(MAKE) --no-print-directory html BOOK=_build/page/$(LECTURE) BUILD_FLAGS="--nitpick --keep-going"
	@echo "Page: _build/page/$(LECTURE)/_build/html/lectures/$(LECTURE).html (warnings above about other lectures' pages are expected here)"

run: $(STAMP)
	@test -n "$(LECTURE)" || { echo "usage: make run LECTURE=<name of lectures/NAME.md>"; exit 2; }
	$(PY) -m tools run $(LECTURE)

# The notebooks show the numbers of the book's run, so the book is built (or found up to date) first.
notebooks: book
	$(PY) -m tools notebooks

# The tests re-run every lecture twice with the course's jaxlib (nbval, the "pins" Colab runtime): they share one JAX
# compilation cache, emptied first, so the second finds compiled what the first compiled (tests/conftest.py).
JAX_CACHE := JAX_COMPILATION_CACHE_DIR=$(CURDIR)/_build/jax-cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
             JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0

test: book pdf
	$(PY) -m tools export
	rm -rf _build/jax-cache
	$(JAX_CACHE) $(PY) -m pytest tests _build/executed -p no:cacheprovider -ra -n $(JOBS) \
	  --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout=600

bench: $(STAMP)
	$(PY) -m tools bench

# Not part of `make test`: it tests what the package registry offers today, not this commit. A scheduled workflow
# (.github/workflows/canary.yml) runs it every week.
canary: $(STAMP)
	$(PY) -m tools canary

clean:
	rm -rf _build
