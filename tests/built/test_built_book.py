"""Checks of the built HTML book (run by `make test` after the strict build).

The book must read offline: MathJax comes from the build's own _static folder, and no
page loads a script from another host.
"""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# BPLIT_HTML_DIR points the checks at another build (e.g. `make preview OUT=...`'s).
HTML = Path(os.environ["BPLIT_HTML_DIR"]) if os.environ.get("BPLIT_HTML_DIR") else ROOT / "_build" / "html"
TOC = (ROOT / "_toc.yml").read_text()
PAGES = sorted(set(re.findall(r"(?:root|file):\s*(\S+)", TOC)))


@pytest.fixture(scope="module")
def built():
    if not (HTML / "index.html").is_file():
        pytest.fail("the book is not built: run `make book` first")
    return HTML


@pytest.mark.parametrize("page", PAGES)
def test_page_serves_mathjax_locally(built, page):
    html_file = built / f"{page}.html"
    assert html_file.is_file(), f"{page} is in _toc.yml but was not built"
    text = html_file.read_text()
    scripts = [s.split("?")[0] for s in re.findall(r'<script[^>]*src="([^"]+)"', text)]
    assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))], scripts
    for s in scripts:  # every script the page loads is part of the build
        assert (html_file.parent / s).resolve().is_file(), s
    if 'class="math' in text:
        mathjax = [s for s in scripts if s.endswith("_static/mathjax/tex-chtml.js")]
        assert len(mathjax) == 1, scripts


def test_mathjax_distribution_is_complete(built):
    mj = built / "_static" / "mathjax"
    for part in ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions"):
        assert (mj / part).exists(), part
