# Two commands do everything (see README.md):
#   make book   set up .venv from requirements.txt, then build the HTML book (strict), executing
#               the chapters whose code or whose bplit changed since the last build
#   make test   set up .venv, then ruff, unit tests, nbval over every chapter (each executed once),
#               the strict book build from the outputs nbval verified, checks of the built HTML,
#               and every page opened in headless Chromium
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -W default
BOOK_FLAGS := -W -n --keep-going

.PHONY: setup book book-stored test lint unit nbval built browser bench notebooks clean preview mutate

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# `make book`: jupyter-book's cache mode re-executes a chapter when its code changed; a
# change to bplit/ (or to the installed packages) changes what every chapter computes, so
# it clears the execution cache and Sphinx's environment (autodoc reads bplit too), and
# every chapter runs again. With nothing changed the build re-executes and re-reads nothing.
BPLIT_SOURCES := $(shell find bplit -name '*.py')
BPLIT_STAMP := _build/.bplit-sources

$(BPLIT_STAMP): $(BPLIT_SOURCES) $(STAMP)
	rm -rf _build/.jupyter_cache _build/.doctrees
	mkdir -p _build
	touch $@

book: $(STAMP) $(BPLIT_STAMP)
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)

# `make test`'s book: the strict build renders the outputs stored in the notebooks, which
# nbval has just proved equal to a fresh execution, so no chapter is executed twice.
STORED_CONFIG := _build/stored/_config.yml
# A copy of _config.yml that executes nothing (paths made absolute for its other folder).
stored_config = sed -e 's/execute_notebooks: cache/execute_notebooks: "off"/' -e 's|: book/|: $(CURDIR)/book/|' -e 's|- book/|- $(CURDIR)/book/|' _config.yml > $(1) && grep -q 'execute_notebooks: "off"' $(1)

book-stored: $(STAMP)
	mkdir -p $(dir $(STORED_CONFIG))
	$(call stored_config,$(STORED_CONFIG))
	$(BIN)/jupyter-book build . --config $(STORED_CONFIG) $(BOOK_FLAGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(STAMP)
	$(BIN)/python -m pytest tests --ignore=tests/built --ignore=tests/browser -n 2 -q

nbval: $(STAMP)
	$(BIN)/python -m pytest book $(NBVAL_FLAGS) -n 2 --dist loadfile -q

built: $(STAMP)
	$(BIN)/python -m pytest tests/built -q

# Every page of the built book in headless Chromium (Debian's package, installed if missing).
browser: $(STAMP)
	tools/install-chromium
	$(BIN)/python -m pytest tests/browser -q

test: lint unit nbval book-stored built browser

# Benchmarks (not tests): optional extras (PyTorch CPU build), then the timed runs whose
# results benchmarks/results/ keeps and the chapter "How fast is backprop?" reads.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/step_benchmark.py --wait-idle 120 --retries 2
	$(BIN)/python benchmarks/graph_loops_vs_vectorized.py --widths 4 8 16 32 64 128 256 --batch 32 --repeats 15 --threads 1 --out benchmarks/results/graph_loops_vs_vectorized.md

# Mutation check (not part of `make test`): small wrong changes to bplit's formulas, each
# applied in a throw-away worktree, and which suite catches it (benchmarks/results/mutation.md).
mutate: $(STAMP)
	$(BIN)/python tools/mutate

# Re-execute every chapter and store its outputs (run after changing a chapter or bplit).
notebooks: $(STAMP)
	for nb in book/*.ipynb; do $(BIN)/jupyter execute --inplace "$$nb" || exit 1; done

clean:
	rm -rf _build .pytest_cache .ruff_cache .hypothesis

# Quick look at the rendered book from the notebooks' stored outputs (no execution), into
# OUT (default _build/preview). For checking a page while writing; `make book` is the real build.
OUT ?= _build/preview
preview: $(STAMP)
	mkdir -p $(OUT)
	$(call stored_config,$(OUT)/_config.yml)
	$(BIN)/jupyter-book build . --config $(OUT)/_config.yml --path-output $(OUT) $(BOOK_FLAGS)
