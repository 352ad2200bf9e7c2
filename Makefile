# GAN Tutor: `make book` builds the website, `make test` runs every test. Both set everything up
# themselves (a virtualenv in .venv, the JavaScript assets the website serves offline).

SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := book/_static/vendor
NODE_STAMP := node_modules/.installed
HTML_MANAGER := node_modules/@jupyter-widgets/html-manager/dist
MATHJAX := node_modules/mathjax/es5

# Offline data: on the project's machines MNIST lives in ../shared/data.
ifeq ($(origin GANTUTOR_DATA),undefined)
  ifneq ($(wildcard $(CURDIR)/../shared/data),)
    export GANTUTOR_DATA := $(abspath $(CURDIR)/../shared/data)
  endif
endif

.PHONY: all venv assets book test bench bench-book student validate clean help

all: book

help:
	@echo "make book      build the website into _build/html (executes changed notebooks)"
	@echo "make test      unit tests, notebooks in FAST mode, and a full book build"
	@echo "make bench     the benchmark: speed and quality targets, whole book in FAST mode"
	@echo "make bench-book   time one complete website build from an empty cache"
	@echo "make student   generate student versions of the assignments"
	@echo "make validate NB=path/to/student.ipynb   validate one notebook with nbval"
	@echo "make clean     remove build outputs (keeps .venv and node_modules)"

# ---- set-up -------------------------------------------------------------------------------------

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install -e .
	@touch $@

# JavaScript served by the website itself: require.js, the ipywidgets HTML manager, MathJax 3.
assets: $(VENDOR)/.copied

$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

$(VENDOR)/.copied: $(NODE_STAMP)
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/html-manager $(VENDOR)/mathjax/output/chtml/fonts
	cp node_modules/requirejs/require.js $(VENDOR)/require.js
	cp $(HTML_MANAGER)/embed-amd.js $(HTML_MANAGER)/*.woff $(HTML_MANAGER)/*.woff2 \
	   $(HTML_MANAGER)/*.ttf $(HTML_MANAGER)/*.eot $(HTML_MANAGER)/*.svg $(VENDOR)/html-manager/
	cp $(MATHJAX)/tex-chtml-full.js $(VENDOR)/mathjax/
	cp -r $(MATHJAX)/output/chtml/fonts/woff-v2 $(VENDOR)/mathjax/output/chtml/fonts/
	cp -r $(MATHJAX)/a11y $(MATHJAX)/sre $(MATHJAX)/ui $(VENDOR)/mathjax/
	@touch $@

# ---- the book -----------------------------------------------------------------------------------

# jupyter-cache keys on a notebook's code only; when gantutor (or its shipped weights) changed since the
# last build, every page may be stale, so the cache is dropped and every notebook re-executes.
LIB_HASH = $(shell cat $$(find gantutor -name '*.py' -o -name '*.pt' | sort) 2>/dev/null | sha1sum | cut -c1-16)

book: venv assets
	@if [ -d _build/.jupyter_cache ] && [ "$$(cat _build/.gantutor-hash 2>/dev/null)" != "$(LIB_HASH)" ]; then \
	  echo "gantutor changed since the last build: re-executing every notebook"; rm -rf _build/.jupyter_cache; fi
	@# The cache now holds (or will hold) executions against this gantutor: record that before building, so
	@# an interrupted or failed build keeps the notebooks it did execute for the next one.
	@mkdir -p _build && echo "$(LIB_HASH)" > _build/.gantutor-hash
	$(BIN)/jupyter-book build .
	@# Sphinx copies _static only when some page is rewritten; keep the site's assets current.
	cp -R book/_static/. _build/html/_static/
	@# Page sizes, requests to other hosts, images without alt text (reported; the tests enforce them).
	-$(BIN)/python tools/check_site.py _build/html --sizes
	@echo "Front page: file://$(CURDIR)/_build/html/index.html"

test: venv assets
	@start=$$(date +%s); \
	$(BIN)/python -m pytest; status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s"; \
	exit $$status

bench: venv
	$(BIN)/python -m gantutor.bench
	$(BIN)/python tools/time_book.py --mode fast

# One complete website build from an empty cache, timed (about an hour on 2 cores).
bench-book: venv assets
	$(BIN)/python tools/time_book.py --mode build

# ---- instructors --------------------------------------------------------------------------------

student: venv
	$(BIN)/python book/assignments/make_student.py

validate: venv
	@test -n "$(NB)" || { echo "usage: make validate NB=path/to/student.ipynb"; exit 2; }
	$(BIN)/python book/assignments/make_student.py --validate "$(NB)"

clean:
	rm -rf _build $(VENDOR) .pytest_cache
	find . -path ./.venv -prune -o -path ./node_modules -prune -o -name __pycache__ -type d -print0 \
	  | xargs -0 rm -rf
