"""The form of the book's chapters, read from the notebooks themselves (no build, no browser).

* code lines fit 88 columns (book/ruff.toml), and no nbval marker is written as a comment
  (``# NBVAL_IGNORE_OUTPUT``): markers are cell tags, which readers do not see;
* every cell that shows a picture is a numbered figure: ``mystnb.figure.caption`` and
  ``name`` (``fig-...``) and ``mystnb.image.alt`` in its metadata, its code hidden, and
  its PNG sharp (at least 150 dpi);
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
