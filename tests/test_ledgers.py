"""The equation ledgers of the source chapters point at cells that exist and can fail.

Each source chapter ends with an *equation ledger*: a markdown cell tagged ``ledger``
holding one pipe table ``| source item | derived | checked | note |`` with a row for
every displayed equation, equation chain and algorithm step of its source.  The list of
those items is kept, independently of the chapter, in ``tests/ledgers/<chapter>.txt``.

This test fails when

* a chapter has no ledger, or more than one;
* the ledger's rows and the list of source items differ (an item without a row, a row
  for an unknown item, or an item listed twice);
* a ``derived`` or ``checked`` entry names a label that no markdown cell of the chapter
  defines as ``(label)=``;
* the first code cell after such a label contains no assertion (and, for ``derived``,
  does not use SymPy);
* a row has neither a derivation nor a check and no note saying why.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
LEDGERS = Path(__file__).resolve().parent / "ledgers"
HEADER = ["source item", "derived", "checked", "note"]
REF = re.compile(r"\{ref\}`(?:[^`<]*<)?([A-Za-z0-9_.:-]+)>?`")
TARGET = re.compile(r"^\(([A-Za-z0-9_.:-]+)\)=\s*$", re.MULTILINE)
ASSERTION = re.compile(r"\bassert\b|assert_allclose|assert_array_equal|testing\.assert_|pytest\.raises")
EMPTY = {"", "—", "-", "–"}

CHAPTERS = sorted(p.stem for p in LEDGERS.glob("*.txt")) if LEDGERS.is_dir() else []


def _cells(stem: str) -> list[dict]:
    nb = json.loads((BOOK / f"{stem}.ipynb").read_text(encoding="utf-8"))
    return nb["cells"]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _split_row(line: str) -> list[str]:
    inner = line.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|"):
        inner = inner[:-1]
    # a '|' inside backticks or escaped as '\|' does not split a cell
    cells, current, in_code = [], [], False
    i = 0
    while i < len(inner):
        ch = inner[i]
        if ch == "\\" and i + 1 < len(inner) and inner[i + 1] == "|":
            current.append("|")
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    cells.append("".join(current).strip())
    return cells


def _ledger_rows(stem: str) -> list[list[str]]:
    ledgers = [c for c in _cells(stem) if "ledger" in c.get("metadata", {}).get("tags", [])]
    assert len(ledgers) == 1, f"{stem}: expected one markdown cell tagged 'ledger', found {len(ledgers)}"
    cell = ledgers[0]
    assert cell["cell_type"] == "markdown", f"{stem}: the ledger cell must be markdown"
    lines = [ln for ln in _source(cell).splitlines() if ln.strip().startswith("|")]
    assert len(lines) >= 3, f"{stem}: the ledger has no table rows"
    header = [h.lower() for h in _split_row(lines[0])]
    assert header == HEADER, f"{stem}: ledger header {header}, expected {HEADER}"
    assert set(lines[1].replace("|", "").replace(":", "").strip()) <= {"-", " "}, (
        f"{stem}: second line of the ledger must be the table's separator row"
    )
    rows = [_split_row(ln) for ln in lines[2:]]
    for row in rows:
        assert len(row) == 4, f"{stem}: ledger row with {len(row)} columns instead of 4: {row}"
    return rows


def _items(stem: str) -> list[str]:
    text = (LEDGERS / f"{stem}.txt").read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _first_code_after(stem: str, label: str) -> str | None:
    cells = _cells(stem)
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown" and label in TARGET.findall(_source(cell)):
            for later in cells[i + 1 :]:
                if later["cell_type"] == "code":
                    return _source(later)
            return ""
    return None


def test_every_source_chapter_has_a_list_of_items():
    stems = {p.stem for p in BOOK.glob("00[0-4]_*.ipynb")}
    assert stems, "no source chapters found"
    assert stems == set(CHAPTERS), (
        f"chapters without tests/ledgers/<stem>.txt: {sorted(stems - set(CHAPTERS))}"
    )


@pytest.mark.parametrize("stem", CHAPTERS)
def test_ledger_rows_match_the_source_items(stem):
    items = _items(stem)
    assert len(items) == len(set(items)), f"{stem}: an item is listed twice in tests/ledgers/{stem}.txt"
    ids = [row[0] for row in _ledger_rows(stem)]
    assert len(ids) == len(set(ids)), f"{stem}: a source item has two rows in the ledger"
    missing = [i for i in items if i not in ids]
    unknown = [i for i in ids if i not in items]
    assert not missing, f"{stem}: source items without a ledger row: {missing}"
    assert not unknown, f"{stem}: ledger rows for items not in tests/ledgers/{stem}.txt: {unknown}"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_ledger_entries_point_at_cells_that_can_fail(stem):
    problems = []
    for item, derived, checked, note in _ledger_rows(stem):
        if derived in EMPTY and checked in EMPTY and not note:
            problems.append(f"{item}: neither derived nor checked, and no note says why")
        for column, text in (("derived", derived), ("checked", checked)):
            if text in EMPTY:
                continue
            labels = REF.findall(text)
            if not labels:
                problems.append(f"{item}: '{column}' holds '{text}', not a {{ref}} to a cell label")
            for label in labels:
                code = _first_code_after(stem, label)
                if code is None:
                    problems.append(f"{item}: label '{label}' is not defined as '({label})=' in {stem}")
                elif not ASSERTION.search(code):
                    problems.append(f"{item}: the cell after '{label}' asserts nothing")
                elif column == "derived" and "sp." not in code and "sympy" not in code:
                    problems.append(f"{item}: the derivation cell after '{label}' does not use SymPy")
    assert not problems, f"{stem}:\n" + "\n".join(problems)
