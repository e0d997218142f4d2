"""The labels of the book's network figures, as large as a reader sees them.

A network figure is a PNG written by ``bplit.draw`` (``draw.network``, ``draw.graph``,
``draw.panels``): it records the font size of its smallest and largest label in its own
pixels (the text chunk ``bplit.draw.LABEL_PX_KEY``). The page scales the image to its
column, so a label shows at ``size in the PNG x displayed width / natural width`` CSS
pixels; this is measured in headless Chromium for every network figure of the built book:

* in a 390 px (phone) window, the smallest label is at least ``MIN_PHONE_PX``;
* in a 1280 px window, the largest label is at most ``MAX_DESKTOP_PX`` (a figure shown
  at desktop width must not blow its labels up either).

A figure whose id ends in ``-network`` must be such a PNG (so that a figure drawn some
other way is not skipped silently). Run after ``make book`` (or ``make preview`` with
``BPLIT_HTML_DIR``), like test_rendered_book.py, whose visits of the pages (one per page and
session, at both widths) measured the images' natural and shown widths.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image
from test_rendered_book import HTML_DIR, NARROW, TOC_PAGES, WIDE

from bplit.draw import LABEL_PX_KEY

MIN_PHONE_PX = 10.0  # CSS px: the smallest label a phone shows (issue 19, item 6)
MAX_DESKTOP_PX = 24.0  # CSS px: labels at desktop width stay within 1.5 times the body text
NETWORK_ID = re.compile(r"-network$")


class _Images(HTMLParser):
    """``(figure id or None, src)`` of every image of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figure: str | None = None
        self.found: list[tuple[str | None, str]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "figure":
            self.figure = attributes.get("id")
        elif tag == "img" and attributes.get("src"):
            self.found.append((self.figure, attributes["src"]))

    def handle_endtag(self, tag):
        if tag == "figure":
            self.figure = None


def _images(page: str) -> list[dict]:
    """Every image of a built page: its figure id, file name and recorded label sizes."""
    path = HTML_DIR / page
    if not path.is_file():
        return []
    parser = _Images()
    parser.feed(path.read_text(encoding="utf-8"))
    found = []
    for figure, src in parser.found:
        file = (path.parent / unquote(src)).resolve()
        sizes = None
        if file.suffix == ".png" and file.is_file():
            with Image.open(file) as png:
                text = getattr(png, "text", {}).get(LABEL_PX_KEY)
            sizes = tuple(float(v) for v in text.split()) if text else None
        found.append({"figure": figure, "name": Path(src).name, "label_px": sizes})
    return found


NETWORK_PAGES = [p for p in TOC_PAGES if any(i["label_px"] for i in _images(p))]


def _shown_label_px(visit, page: str, width: int) -> dict[str, tuple[float, float]]:
    """CSS px of the smallest and largest label of each network figure of ``page`` (by figure
    id) in a ``width`` px window, from the image widths test_rendered_book.py's visit measured."""
    images = _images(page)
    recorded = {i["name"]: i["label_px"] for i in images if i["label_px"]}
    figures = {i["name"]: i["figure"] or i["name"] for i in images}
    shown = {}
    for img in visit.image_widths[width]:
        if img["name"] in recorded:
            assert img["natural"] > 0, f"{page}: {img['name']} did not load"
            scale = img["shown"] / img["natural"]
            smallest, largest = recorded[img["name"]]
            shown[figures[img["name"]]] = (smallest * scale, largest * scale)
    assert len(shown) == len(recorded), f"{page}: network figures missing from the page: {recorded}"
    return shown


def test_the_book_has_network_figures(html_dir):
    """The network figures are found at all (the check below is not vacuous), and every
    figure named ``*-network`` is one (a PNG that records its label sizes)."""
    assert NETWORK_PAGES, f"no network figure (a PNG with {LABEL_PX_KEY!r}) in {html_dir}"
    unmarked = [
        f"{page}: {i['figure']} ({i['name']})"
        for page in TOC_PAGES
        for i in _images(page)
        if i["figure"] and NETWORK_ID.search(i["figure"]) and not i["label_px"]
    ]
    assert not unmarked, "network figures that do not record their label sizes:\n  " + "\n  ".join(unmarked)


@pytest.mark.parametrize("page", NETWORK_PAGES, ids=lambda p: Path(p).stem)
def test_network_figure_labels_legible_on_a_phone_and_not_huge_on_a_desktop(page, html_dir, visits):
    phone, desktop = (_shown_label_px(visits(page), page, w) for w in (NARROW, WIDE))
    problems = [
        f"{name}: smallest label {small:.1f} CSS px at {NARROW} px (at least {MIN_PHONE_PX} wanted)"
        for name, (small, _) in phone.items()
        if small < MIN_PHONE_PX
    ]
    problems += [
        f"{name}: largest label {large:.1f} CSS px at {WIDE} px (at most {MAX_DESKTOP_PX} wanted)"
        for name, (_, large) in desktop.items()
        if large > MAX_DESKTOP_PX
    ]
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)
