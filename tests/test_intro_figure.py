"""The network figure of the book's first page (book/figures/intro_network.png).

The page is markdown and runs no code, so the picture is a committed PNG that
``tools/intro-figure`` draws (see that script for why not MyST-NB's glue). These tests
check that the file is current: the script writes it again byte for byte, it is the
picture chapter 003 stores for its own network figure (so the first page shows the
chapter's network as the chapter shows it), it records its labels' size for the browser
test, and book/intro.md shows it as the numbered figure ``fig-intro-network`` and
refers to it.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import re
from importlib.machinery import SourceFileLoader
from pathlib import Path

from PIL import Image

from bplit.draw import LABEL_PX_KEY

ROOT = Path(__file__).resolve().parents[1]
FIGURE = ROOT / "book" / "figures" / "intro_network.png"
INTRO = ROOT / "book" / "intro.md"
CHAPTER = ROOT / "book" / "003_nielsen.ipynb"
CHAPTER_FIGURE = "fig-003-network"
NAME = "fig-intro-network"
FIX = "run `.venv/bin/python tools/intro-figure` (after re-executing book/003_nielsen.ipynb)"


def _tool():
    loader = SourceFileLoader("intro_figure", str(ROOT / "tools" / "intro-figure"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def _chapter_png() -> bytes:
    """The PNG that chapter 003 stores in the output of its figure ``fig-003-network``."""
    cells = json.loads(CHAPTER.read_text(encoding="utf-8"))["cells"]
    found = [
        output["data"]["image/png"]
        for cell in cells
        if cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name") == CHAPTER_FIGURE
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(found) == 1, f"{CHAPTER.name}: {len(found)} PNG outputs in figure {CHAPTER_FIGURE}"
    data = found[0]
    return base64.b64decode("".join(data) if isinstance(data, list) else data)


def test_the_tool_writes_the_committed_file_again():
    tool = _tool()
    assert tool.FIGURE == FIGURE
    assert FIGURE.is_file(), f"{FIGURE} is missing: {FIX}"
    assert tool.render() == FIGURE.read_bytes(), f"{FIGURE.name} is not what the tool draws: {FIX}"


def test_the_figure_is_chapter_003s_network_figure():
    assert FIGURE.read_bytes() == _chapter_png(), f"{FIGURE.name} differs from {CHAPTER_FIGURE}: {FIX}"


def test_the_figure_records_its_label_sizes_in_pixels():
    with Image.open(io.BytesIO(FIGURE.read_bytes())) as png:
        recorded = png.text.get(LABEL_PX_KEY)
        width = png.width
    assert recorded, f"{FIGURE.name} has no {LABEL_PX_KEY!r} text chunk"
    smallest, largest = (float(v) for v in recorded.split())
    assert 0 < smallest <= largest < width


def test_the_first_page_shows_it_as_a_numbered_figure_and_refers_to_it():
    text = INTRO.read_text(encoding="utf-8")
    figure = re.search(r"^```\{figure\} (\S+)\n((?::\w+:.*\n)+)", text, re.MULTILINE)
    assert figure, f"{INTRO.name} has no figure directive"
    assert (INTRO.parent / figure.group(1)).resolve() == FIGURE
    options = dict(re.findall(r"^:(\w+):\s*(.*)$", figure.group(2), re.MULTILINE))
    assert options.get("name") == NAME and options.get("alt"), options
    assert f"{{numref}}`{NAME}`" in text, f"{INTRO.name} does not refer to {NAME}"
    # the figure stands with the four equations, before the description of the chapters
    assert figure.start() < text.index("## How each chapter is built")


def test_the_tool_writes_a_missing_or_stale_file_and_its_check_tells_them_apart(tmp_path, capsys):
    tool = _tool()
    tool.FIGURE = tmp_path / "figures" / "intro_network.png"
    tool.ROOT = tmp_path
    assert tool.main(["--check"]) == 1  # missing
    assert tool.main([]) == 0 and tool.main(["--check"]) == 0
    tool.FIGURE.write_bytes(tool.FIGURE.read_bytes()[:-1])
    assert tool.main(["--check"]) == 1  # stale
    assert capsys.readouterr().out.splitlines()[-1].endswith("differs: run tools/intro-figure")
