# Two commands do everything (see README.md):
#   make book   set up .venv from requirements.txt, then build the HTML book (strict)
#   make test   set up .venv, then ruff, unit tests, nbval over every chapter, strict book build,
#               checks of the built HTML, and every page opened in headless Chromium
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -W default
BOOK_FLAGS := -W -n --keep-going

.PHONY: setup book test lint unit nbval built browser bench notebooks clean preview mutate

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)

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

test: lint unit nbval book built browser

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
	sed -e 's/execute_notebooks: force/execute_notebooks: "off"/' -e 's#: book/#: $(CURDIR)/book/#' -e 's#- book/#- $(CURDIR)/book/#' _config.yml > $(OUT)/_config.yml
	$(BIN)/jupyter-book build . --config $(OUT)/_config.yml --path-output $(OUT) $(BOOK_FLAGS)
