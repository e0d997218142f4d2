"""The form of the book's chapters, read from the notebooks themselves (no build, no browser).

* code lines fit 88 columns (book/ruff.toml), and no nbval marker is written as a comment
  (``# NBVAL_IGNORE_OUTPUT``): markers are cell tags, which readers do not see;
* every cell that shows a picture is a numbered figure: ``mystnb.figure.caption`` and
  ``name`` (``fig-...``) and ``mystnb.image.alt`` in its metadata, its code hidden, and
  its PNG sharp (at least 150 dpi);
* the source chapters (``book/00N_*.ipynb``) read as mathematics with the code behind it:
  at most ``MAX_VISIBLE_CODE`` visible code lines each, every code cell of the exercises
  folded with its output (``hide-cell``), the equation ledger folded in a dropdown, and
  at least ``MIN_CHAINS`` derivation chains (``text/latex`` outputs of an aligned display);
* no notebook shows a raw SymPy printout (an expression printed as code, not as math);
* the errata page and the chapters agree: every ``{ref}`` and ``{eq}`` of
  book/errata.md names a label that some chapter defines, and every erratum of a
  chapter, ``(erratum-XXX-N)=``, is listed on the errata page.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from functools import cache
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
ERRATA = BOOK / "errata.md"
MAX_LINE = 88
MIN_DPI = 150
IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")
HIDDEN = {"remove-input", "hide-input", "remove-cell", "hide-cell"}
SOURCE_CHAPTERS = sorted(BOOK.glob("00[0-4]_*.ipynb"))
MAX_VISIBLE_CODE = 100  # lines of shown code per source chapter
MIN_CHAINS = 3
FOLDED_WITH_OUTPUT = {"hide-cell", "remove-cell"}
# What SymPy's str() of an expression looks like, and prose or a table never does.
SYMPY_PRINTOUT = re.compile(
    r"\b(?:Derivative|Subs|Sum|Matrix|KroneckerDelta|Piecewise|Function)\(|\bexp\(|\bsqrt\(|\blog\(|"
    r"[A-Za-z0-9_)\]]\*\*[A-Za-z0-9_(]"
)

# `(label)=` on its own line; `$$ ... $$ (label)` after display math; `:label: label`.
TARGET = re.compile(r"^\(([A-Za-z0-9_.:-]+)\)=\s*$", re.MULTILINE)
MATH_LABEL = re.compile(r"\$\$\s*\(([A-Za-z0-9_.:-]+)\)\s*$", re.MULTILINE)
DIRECTIVE_LABEL = re.compile(r"^\s*:label:\s*(\S+)\s*$", re.MULTILINE)
# {ref}`label` or {ref}`text <label>` (and the same for {eq} and {numref}).
ROLE = re.compile(r"\{(ref|eq|numref)\}`(?:[^`<]*<([^`>]+)>|([^`<>]+))`")
NBVAL_COMMENT = re.compile(r"#\s*NBVAL_[A-Z_]*")


@cache
def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@cache
def _defined_labels() -> dict[str, str]:
    """Every label a chapter (or a markdown page) defines -> the file defining it."""
    texts = {p.name: "\n".join(_source(c) for c in _cells(p)) for p in NOTEBOOKS}
    texts |= {p.name: p.read_text(encoding="utf-8") for p in BOOK.glob("*.md")}
    found: dict[str, str] = {}
    for name, text in texts.items():
        for pattern in (TARGET, MATH_LABEL, DIRECTIVE_LABEL):
            for label in pattern.findall(text):
                found.setdefault(label, name)
    for p in NOTEBOOKS:  # figure names from cell metadata
        for cell in _cells(p):
            name = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")
            if name:
                found.setdefault(name, p.name)
    return found


def _roles(text: str) -> list[tuple[str, str]]:
    return [(role, (a or b).strip()) for role, a, b in ROLE.findall(text)]


def _png_dpi(data: bytes) -> float | None:
    """The resolution a PNG declares (pHYs chunk, pixels per metre), in dots per inch."""
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"pHYs":
            x, _y, unit = struct.unpack(">IIB", data[pos + 8 : pos + 17])
            return x * 0.0254 if unit == 1 else None
        if kind == b"IDAT":
            return None  # pHYs must come before the image data
        pos += 12 + length
    return None


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_code_lines_fit_88_columns(notebook):
    long = []
    for n, cell in enumerate(_cells(notebook)):
        if cell["cell_type"] != "code":
            continue
        for line in _source(cell).splitlines():
            if len(line) > MAX_LINE:
                long.append(f"cell {n}: {len(line)} characters: {line[:60]}...")
    assert not long, f"{notebook.name}: {len(long)} code lines over {MAX_LINE} characters:\n" + "\n".join(
        long[:15]
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_nbval_marker_in_code(notebook):
    found = [
        f"cell {n}: {m.group(0)}"
        for n, cell in enumerate(_cells(notebook))
        if cell["cell_type"] == "code"
        for m in NBVAL_COMMENT.finditer(_source(cell))
    ]
    assert not found, f"{notebook.name}: nbval markers as comments (use the cell tags):\n" + "\n".join(found)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_picture_is_a_captioned_figure_with_alt_text(notebook):
    problems = []
    for n, cell in enumerate(_cells(notebook)):
        if cell["cell_type"] != "code":
            continue
        images = [
            o["data"] for o in cell.get("outputs", []) if any(t in o.get("data", {}) for t in IMAGE_TYPES)
        ]
        if not images:
            continue
        meta = cell.get("metadata", {}).get("mystnb", {})
        figure, image = meta.get("figure", {}), meta.get("image", {})
        where = f"cell {n} ({figure.get('name') or 'unnamed'})"
        if not str(figure.get("caption", "")).strip():
            problems.append(f"{where}: no mystnb.figure.caption")
        if not str(figure.get("name", "")).startswith("fig-"):
            problems.append(f"{where}: mystnb.figure.name must be a label fig-...")
        alt = str(image.get("alt", "")).strip()
        if len(alt.split()) < 4:
            problems.append(f"{where}: mystnb.image.alt must describe the picture, got {alt!r}")
        if not HIDDEN & set(cell.get("metadata", {}).get("tags", [])):
            problems.append(f"{where}: the drawing code is shown (tag it remove-input or hide-input)")
        if len(images) > 1:
            problems.append(f"{where}: {len(images)} pictures in one figure cell")
        for data in images:
            if "image/png" in data:
                dpi = _png_dpi(base64.b64decode(data["image/png"]))
                if dpi is None or dpi < MIN_DPI - 0.5:
                    problems.append(f"{where}: PNG at {dpi and round(dpi)} dpi, below {MIN_DPI}")
    assert not problems, f"{notebook.name}:\n" + "\n".join(problems)


def test_errata_page_links_only_to_labels_the_chapters_define():
    defined = _defined_labels()
    used = _roles(ERRATA.read_text(encoding="utf-8"))
    assert used, "book/errata.md references nothing"
    missing = sorted({f"{{{role}}}`{label}`" for role, label in used if label not in defined})
    assert not missing, "book/errata.md uses labels no chapter defines:\n" + "\n".join(missing)


def test_every_erratum_of_a_chapter_is_on_the_errata_page():
    listed = {label for role, label in _roles(ERRATA.read_text(encoding="utf-8")) if role == "ref"}
    missing = []
    for notebook in NOTEBOOKS:
        text = "\n".join(_source(c) for c in _cells(notebook) if c["cell_type"] == "markdown")
        for label in TARGET.findall(text):
            if re.fullmatch(r"(erratum|proof)-\w+-\d+", label) and label not in listed:
                missing.append(f"{notebook.name}: {label}")
    assert not missing, "errata or proofs missing from book/errata.md:\n" + "\n".join(missing)


def test_label_patterns_find_what_the_conventions_write():
    """The patterns above must see the forms the book uses (or the checks pass vacuously)."""
    text = "(erratum-003-1)=\n:::{admonition} x\n$$ a = b $$ (eq-003-bp1)\n"
    assert TARGET.findall(text) == ["erratum-003-1"]
    assert MATH_LABEL.findall(text) == ["eq-003-bp1"]
    assert DIRECTIVE_LABEL.findall("```{math}\n:label: eq-x\n") == ["eq-x"]
    assert _roles("{ref}`Erratum 1 <erratum-000-1>` and {eq}`eq-000-mse`") == [
        ("ref", "erratum-000-1"),
        ("eq", "eq-000-mse"),
    ]
    assert NBVAL_COMMENT.search("x = 1  # NBVAL_IGNORE_OUTPUT")


def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _visible_code_lines(notebook: Path) -> int:
    return sum(
        len(_source(c).splitlines())
        for c in _cells(notebook)
        if c["cell_type"] == "code" and not HIDDEN & _tags(c)
    )


@pytest.mark.parametrize("notebook", SOURCE_CHAPTERS, ids=_ids(SOURCE_CHAPTERS))
def test_source_chapters_show_at_most_a_hundred_lines_of_code(notebook):
    lines = _visible_code_lines(notebook)
    assert lines <= MAX_VISIBLE_CODE, (
        f"{notebook.name}: {lines} visible code lines (at most {MAX_VISIBLE_CODE}); fold symbol "
        "construction and plumbing (hide-input / remove-input)"
    )


def _section(notebook: Path, heading: re.Pattern) -> list[dict]:
    """The cells from a level-2 heading matching ``heading`` to the next level-2 heading."""
    inside, cells = False, []
    for cell in _cells(notebook):
        if cell["cell_type"] == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("## "):
                    inside = bool(heading.match(line[3:]))
        if inside:
            cells.append(cell)
    return cells


@pytest.mark.parametrize("notebook", SOURCE_CHAPTERS, ids=_ids(SOURCE_CHAPTERS))
def test_exercise_answers_are_folded(notebook):
    cells = _section(notebook, re.compile(r"Exercises"))
    assert cells, f"{notebook.name}: no '## Exercises' section"
    shown = [
        f"cell {_cells(notebook).index(c)}: {_source(c).splitlines()[0][:60] if _source(c) else ''}"
        for c in cells
        if c["cell_type"] == "code" and not FOLDED_WITH_OUTPUT & _tags(c)
    ]
    assert not shown, (
        f"{notebook.name}: exercise code cells whose answer a reader sees unasked "
        "(tag them hide-cell):\n" + "\n".join(shown)
    )
    solutions = [c for c in cells if c["cell_type"] == "markdown" and "Solution" in _source(c)]
    unfolded = [c for c in solutions if "{dropdown}" not in _source(c)]
    assert not unfolded, f"{notebook.name}: a solution's prose is not in a dropdown"


@pytest.mark.parametrize("notebook", SOURCE_CHAPTERS, ids=_ids(SOURCE_CHAPTERS))
def test_equation_ledger_is_folded(notebook):
    ledgers = [c for c in _cells(notebook) if "ledger" in _tags(c)]
    assert len(ledgers) == 1, f"{notebook.name}: {len(ledgers)} cells tagged ledger"
    text = _source(ledgers[0])
    assert re.search(r"^:{3,}\{dropdown\}", text, re.MULTILINE), (
        f"{notebook.name}: the equation ledger is not inside a dropdown"
    )


def _latex_outputs(cell: dict) -> list[str]:
    found = []
    for out in cell.get("outputs", []):
        latex = out.get("data", {}).get("text/latex")
        if latex:
            found.append("".join(latex) if isinstance(latex, list) else latex)
    return found


@pytest.mark.parametrize("notebook", SOURCE_CHAPTERS, ids=_ids(SOURCE_CHAPTERS))
def test_source_chapters_show_derivation_chains(notebook):
    chains = [
        t for c in _cells(notebook) if c["cell_type"] == "code" for t in _latex_outputs(c) if "aligned" in t
    ]
    assert len(chains) >= MIN_CHAINS, (
        f"{notebook.name}: {len(chains)} rendered chains (at least {MIN_CHAINS})"
    )


def _plain_outputs(cell: dict) -> list[str]:
    """Text a reader sees as plain text: streams, and text/plain with no richer form."""
    texts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            texts.append("".join(out["text"]) if isinstance(out["text"], list) else out["text"])
        data = out.get("data", {})
        if "text/plain" in data and not {"text/latex", "text/html", "text/markdown"} & set(data):
            if not any(t in data for t in IMAGE_TYPES):
                plain = data["text/plain"]
                texts.append("".join(plain) if isinstance(plain, list) else plain)
    return texts


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_raw_sympy_printout(notebook):
    found = []
    for n, cell in enumerate(_cells(notebook)):
        if cell["cell_type"] != "code" or "remove-cell" in _tags(cell) or "remove-output" in _tags(cell):
            continue
        for text in _plain_outputs(cell):
            for line in text.splitlines():
                if SYMPY_PRINTOUT.search(line):
                    found.append(f"cell {n}: {line[:80]}")
    assert not found, (
        f"{notebook.name}: SymPy expressions printed as text (render them as math):\n" + "\n".join(found[:10])
    )


def test_the_printout_pattern_sees_sympy_and_not_prose():
    assert SYMPY_PRINTOUT.search("J[0, 1] = -exp(z_1 + z_2)/(exp(z_1) + exp(z_2))**2")
    assert SYMPY_PRINTOUT.search("likelihood: p_1**y_1*p_2**y_2")
    assert SYMPY_PRINTOUT.search("e**2*(b + 1)/b")
    assert SYMPY_PRINTOUT.search("Derivative(sigma(z), z)")
    assert not SYMPY_PRINTOUT.search("network  F / m  B / m  1.0126")
    assert not SYMPY_PRINTOUT.search("test accuracy 0.9611 after 30 epochs (2.3 s)")
