"""The rendered book in a real browser (headless Chromium, driven by Playwright).

Every page built from ``_toc.yml``, plus ``genindex.html`` and ``search.html``, is opened
from a local web server (the ``base_url`` fixture), and for each page:

* every resource loads: no failed request, no 4xx/5xx response, and no request to any
  host but 127.0.0.1 (the book must work offline; such requests are blocked and reported);
* MathJax typesets every formula: one ``mjx-container`` per math node of the page source,
  no ``mjx-merror``, no undefined TeX macro, and no raw TeX left in the visible text;
* no JavaScript error (uncaught exceptions and console errors) beyond ``ALLOWED_JS_ERRORS``;
* every internal link resolves to a built file, and its ``#fragment`` to an id on it;
* every image loads (``naturalWidth > 0``);
* every image of the text is a figure with a number, a caption and an alt text;
* every equation reference (``{eq}``) shows the number of the equation it links to;
* no test marker (``NBVAL_...``, ``nbval-...``) is in the page's text;
* at 1280 px no cell output and no shown code cell is wider than the text column
  (nothing in it sticks out of the column or has to scroll; at 390 px they may scroll
  inside their own box);

and, in a 1280 px and a 390 px (phone) window:

* the page does not scroll sideways (wide formulas and tables scroll in their own box);
* exactly one search box is shown (outside the page's own text);
* the site menu button is shown once, and a real click on it shows the links to every
  chapter (at 390 px it opens the menu; at 1280 px, where the menu is open, a click
  hides it and a second click shows it again);
* where the page has a table of contents, it is shown (1280 px) or its button opens it
  (390 px).

When ``$BPLIT_SCREENSHOT_DIR`` is set, a screenshot of each page (the full page at 1280 px,
the first screen at 390 px) is saved there (it costs about a minute, so ``make test`` takes
none). Run after ``make book``: ``python -m pytest tests/browser -q``;
``BPLIT_HTML_DIR`` points the test at another build (e.g. ``make preview``'s).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import probes
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _dir_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).resolve() if value else default


HTML_DIR = _dir_from_env("BPLIT_HTML_DIR", ROOT / "_build" / "html")
SCREENSHOT_DIR = (
    Path(os.environ["BPLIT_SCREENSHOT_DIR"]).resolve() if os.environ.get("BPLIT_SCREENSHOT_DIR") else None
)
# The book the HTML was built from: <book>/_build/html, else this repository.
_TOC_BESIDE = HTML_DIR.parent.parent / "_toc.yml"
TOC_FILE = _TOC_BESIDE if _TOC_BESIDE.is_file() else ROOT / "_toc.yml"

# JavaScript errors (uncaught page errors and console.error messages) that are tolerated,
# as (regular expression searched in the message, reason). Keep it short; every entry
# needs a reason. It is empty: the two errors the stock Jupyter Book 1.x stack shows on
# every page are fixed at their source instead, and must not come back:
#   "Identifier 'THEBE_JS_URL' has already been declared": Sphinx 7.4 writes inline scripts
#     that extensions add after the builder starts (sphinx-thebe's) twice; book/_ext drops
#     the repeated tags.
#   "Got invalid theme mode: . Resetting to auto.": pydata-sphinx-theme with no default
#     mode; _config.yml sets html_context.default_mode.
ALLOWED_JS_ERRORS: list[tuple[str, str]] = []

CHROMIUM = "/usr/bin/chromium"  # Debian's package: tools/install-chromium
# --headless and --no-sandbox are also added by Playwright itself; the profile is a fresh
# temporary user-data-dir that Playwright creates and removes.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# How long one page may take to load and typeset (ms). A long chapter takes ~5 s with its
# screenshot on a quiet machine; chapter 001's matrix chains took over 30 s once, on a
# machine busy with other work, so the limit leaves room (it bounds a hang, it times nothing).
PAGE_TIMEOUT_MS = 90_000
WIDE, NARROW = 1280, 390
VIEWPORTS = {WIDE: {"width": WIDE, "height": 900}, NARROW: {"width": NARROW, "height": 844}}
VIEWPORT = VIEWPORTS[WIDE]
CLICK_TIMEOUT_MS = 5_000
SETTLE_MS = 450  # the sidebars slide in and out in 0.25-0.3 s
# Test markers that must never reach a reader (nbval's comments and tags).
MARKER = re.compile(r"NBVAL_[A-Z_]+|nbval[-_](?:ignore|skip|check|raises|sanitize)\w*", re.IGNORECASE)


def _toc_pages() -> list[str]:
    """Pages of the book in ``_toc.yml`` order (``root:`` and every ``file:``), as html paths."""
    toc = yaml.safe_load(TOC_FILE.read_text())
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("root", "file") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    pages = [re.sub(r"\.(md|ipynb|rst)$", "", p) + ".html" for p in found]
    return list(dict.fromkeys(pages))  # unique, in order


TOC_PAGES = _toc_pages()
PAGES = [*TOC_PAGES, "genindex.html", "search.html"]


# --- the book on a local web server, and the browser ------------------------------------


# The session's fixtures (html_dir, screenshot_dir, base_url, browser, visits) are in
# conftest.py, shared with test_figure_labels.py: one server, one Chromium, one visit per page.


# --- the page source as Sphinx wrote it -------------------------------------------------


class _SourceScan(HTMLParser):
    """Math nodes and element ids in a page's HTML source."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.math_nodes = 0
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        if tag in ("span", "div") and {"math", "notranslate", "nohighlight"} <= classes:
            self.math_nodes += 1
        for key in ("id", "name"):
            if attributes.get(key):
                self.ids.add(attributes[key])


@functools.cache
def _scan(path: Path) -> _SourceScan:
    scan = _SourceScan()
    scan.feed(path.read_text(encoding="utf-8"))
    scan.close()
    return scan


# --- what is read from the page in the browser ------------------------------------------

WAIT_FOR_MATHJAX = """
async (timeoutMs) => {
  const MJ = window.MathJax;
  if (!MJ || !MJ.startup || !MJ.startup.promise) return 'MathJax did not load';
  const timeout = new Promise((resolve) =>
    setTimeout(() => resolve(`MathJax did not finish typesetting in ${timeoutMs} ms`), timeoutMs));
  return await Promise.race([MJ.startup.promise.then(() => null, (e) => `MathJax failed: ${e}`), timeout]);
}
"""

MATH_REPORT = r"""
() => {
  const nodes = [...document.querySelectorAll('span.math.notranslate, div.math.notranslate')];
  const untypeset = nodes.filter((n) => !n.querySelector('mjx-container'))
                         .map((n) => n.textContent.trim().slice(0, 120));
  const MJ = window.MathJax;
  const items = (MJ && MJ.startup && MJ.startup.document) ? Array.from(MJ.startup.document.math) : [];
  const merrors = [...document.querySelectorAll('mjx-merror')].map((e) => {
    const item = items.find((m) => m.typesetRoot && m.typesetRoot.contains(e));
    const tex = item ? JSON.stringify(String(item.math).slice(0, 100)) : '?';
    return `${(e.getAttribute('data-mjx-error') || e.textContent).slice(0, 200)} in ${tex}`;
  });
  // MathJax's noundefined extension shows an undefined macro \foo as red text "\foo".
  const undefinedMacros = [];
  if (MJ && MJ.startup && MJ.startup.toMML) {
    for (const item of items) {
      if (!item.root) continue;
      const mml = MJ.startup.toMML(item.root);
      for (const m of mml.matchAll(/<mtext mathcolor="red">(\\[^<]*)<\/mtext>/g)) {
        undefinedMacros.push(`${m[1]} in ${String(item.math).slice(0, 80)}`);
      }
    }
  }
  // Raw TeX in text a reader sees (code blocks and typeset math excluded).
  const skip = new Set(['SCRIPT', 'STYLE', 'TEXTAREA', 'NOSCRIPT', 'TEMPLATE', 'PRE', 'CODE',
                        'MJX-CONTAINER']);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let e = node.parentElement; e; e = e.parentElement) {
        if (skip.has(e.tagName)) return NodeFilter.FILTER_REJECT;
      }
      return NodeFilter.FILTER_ACCEPT;
    },
  });
  const rawTex = [];
  const texPattern = /\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\$\\[A-Za-z]/;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    const m = text.match(texPattern);
    if (m) rawTex.push(text.slice(Math.max(0, m.index - 40), m.index + 60).trim());
  }
  return {
    hasMathJax: !!(MJ && MJ.startup),
    containers: document.querySelectorAll('mjx-container').length,
    untypeset, merrors, undefinedMacros, rawTex,
  };
}
"""

IMAGES = """
async (timeoutMs) => {
  const images = [...document.images];
  for (const img of images) img.loading = 'eager';
  const settled = Promise.all(images.map((img) => img.complete ? null : new Promise((resolve) => {
    img.addEventListener('load', resolve);
    img.addEventListener('error', resolve);
  })));
  await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  return images.map((img) => ({src: img.currentSrc || img.src, width: img.naturalWidth,
                               complete: img.complete}));
}
"""

LINKS = "() => [...document.querySelectorAll('a[href]')].map((a) => a.href)"


@dataclass(repr=False)
class Visit:
    """Everything recorded while one page was open in the browser."""

    page: str
    url: str
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    mathjax_problem: str | None = None
    math: dict = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    scroll_width: int = 0  # of the whole page, in CSS pixels, at 1280 px
    scroll_widths: dict[int, int] = field(default_factory=dict)  # window width -> page width
    nav: dict[int, dict] = field(default_factory=dict)  # window width -> menu, contents, search
    wide_outputs: list[str] = field(default_factory=list)
    wide_code: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    equation_links: list[dict] = field(default_factory=list)
    text: str = ""
    chains: dict[int, list] = field(default_factory=dict)  # window width -> derivation chains
    stacked_tables: list[dict] = field(default_factory=list)  # at 390 px
    image_widths: dict[int, list] = field(default_factory=dict)  # window width -> natural/shown widths
    recording: bool = True  # False once the page is reloaded without MathJax for the menus

    def __repr__(self) -> str:  # short, for pytest's tracebacks
        return f"Visit({self.page!r})"


def _is_local(url: str, base_url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname == urlsplit(base_url).hostname


def _settle(page, visit: Visit) -> None:
    """Wait until MathJax has typeset the page and its fonts are loaded."""
    if page.locator("script[src*='mathjax']").count():
        problem = page.evaluate(WAIT_FOR_MATHJAX, PAGE_TIMEOUT_MS)
        visit.mathjax_problem = visit.mathjax_problem or problem
    page.evaluate("document.fonts.ready.then(() => true)")


def _click(page, selector: str) -> str | None:
    """Click the one visible element matching ``selector`` as a reader would; say what went wrong."""
    found = page.locator(selector)
    visible = [found.nth(i) for i in range(found.count()) if found.nth(i).is_visible()]
    if len(visible) != 1:
        return f"{len(visible)} visible {selector} buttons ({found.count()} in the page)"
    try:
        visible[0].click(timeout=CLICK_TIMEOUT_MS)
    except Exception as exc:  # e.g. covered by another element
        return f"clicking {selector} failed: {str(exc).splitlines()[0]}"
    page.wait_for_timeout(SETTLE_MS)
    return None


def _navigate(page, width: int, chapters: list[str]) -> dict:
    """Search boxes, then the site menu and the page contents, used with real clicks.

    At 390 px the page is loaded again for the page contents, without MathJax (the menus
    do not need the formulas, which are slow to typeset).
    """
    nav: dict = {"search": page.evaluate(probes.SEARCH_BOXES), "menu": [], "contents": {}}
    nav["menu"].append(("before any click", page.evaluate(probes.MENU, chapters)))
    for n in range(2 if width == WIDE else 1):  # wide: hide, then show again
        error = _click(page, ".primary-toggle")
        if error:
            nav["menu_error"] = error
            break
        page.evaluate(probes.SCROLL_INTO_VIEW, chapters[0])
        nav["menu"].append((f"after click {n + 1}", page.evaluate(probes.MENU, chapters)))
    if width == NARROW:  # the open menu covers the page: start again (wide: shown again)
        page.context.route("**/*mathjax*", lambda route: route.abort())
        page.reload(wait_until="load")
        page.wait_for_timeout(SETTLE_MS)
    contents = nav["contents"] = {"before": page.evaluate(probes.PAGE_CONTENTS)}
    if width == NARROW and contents["before"]["links"]:
        contents["error"] = _click(page, ".secondary-toggle")
        contents["after"] = page.evaluate(probes.PAGE_CONTENTS)
    return nav


def open_page(browser, base_url: str, page_path: str, screenshot_dir: Path | None) -> Visit:
    visit = Visit(page=page_path, url=urljoin(base_url, page_path))
    chapters = [urljoin(base_url, p) for p in TOC_PAGES]
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    try:

        def route(route):
            url = route.request.url
            if _is_local(url, base_url):
                route.continue_()
            else:
                visit.external_requests.append(url)
                route.abort("blockedbyclient")

        context.route("**/*", route)
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.on("pageerror", lambda exc: visit.recording and visit.js_errors.append(f"uncaught: {exc}"))
        page.on(
            "console",
            lambda msg: (
                visit.js_errors.append(f"console.error: {msg.text} ({msg.location.get('url', '')})")
                if msg.type == "error" and visit.recording
                else None
            ),
        )
        page.on(
            "requestfailed",
            lambda req: (
                visit.failed_requests.append(f"{req.url}: {req.failure}")
                if _is_local(req.url, base_url) and visit.recording
                else None
            ),
        )
        page.on(
            "response",
            lambda resp: (
                visit.bad_responses.append(f"{resp.url}: HTTP {resp.status}") if resp.status >= 400 else None
            ),
        )

        response = page.goto(visit.url, wait_until="load")
        if response is None or response.status != 200:
            visit.bad_responses.append(f"{visit.url}: {response and response.status}")
        _settle(page, visit)
        visit.images = page.evaluate(IMAGES, PAGE_TIMEOUT_MS)
        page.wait_for_load_state("networkidle")  # late requests (MathJax fonts) are seen too
        visit.math = page.evaluate(MATH_REPORT)
        visit.chains[WIDE] = page.evaluate(probes.CHAINS)
        visit.links = page.evaluate(LINKS)
        visit.scroll_width = visit.scroll_widths[WIDE] = page.evaluate("document.documentElement.scrollWidth")
        visit.wide_outputs = page.evaluate(probes.WIDE_CELLS, [".cell_output", "output"])
        visit.wide_code = page.evaluate(probes.WIDE_CELLS, [".cell_input", "code cell"])
        visit.figures = page.evaluate(probes.FIGURES)
        visit.image_widths[WIDE] = page.evaluate(probes.IMAGE_WIDTHS, PAGE_TIMEOUT_MS)
        visit.equation_links = page.evaluate(probes.EQUATION_LINKS)
        visit.text = page.evaluate(probes.ARTICLE_TEXT)
        if screenshot_dir is not None:
            shot = screenshot_dir / (page_path.removesuffix(".html") + ".png")
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        visit.nav[WIDE] = _navigate(page, WIDE, chapters)
        # The same page in a phone's window (the theme's layout follows the width; MathJax's
        # typeset formulas do not change).
        page.set_viewport_size(VIEWPORTS[NARROW])
        page.mouse.move(VIEWPORTS[NARROW]["width"] / 2, VIEWPORTS[NARROW]["height"] - 1)  # no tooltip
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.wait_for_timeout(SETTLE_MS)
        visit.scroll_widths[NARROW] = page.evaluate("document.documentElement.scrollWidth")
        visit.chains[NARROW] = page.evaluate(probes.CHAINS)
        visit.stacked_tables = page.evaluate(probes.STACKED_TABLES)
        visit.image_widths[NARROW] = page.evaluate(probes.IMAGE_WIDTHS, PAGE_TIMEOUT_MS)
        if screenshot_dir is not None:
            shot = screenshot_dir / f"{NARROW}px" / (page_path.removesuffix(".html") + ".png")
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot))  # what a phone shows first (a full page takes long)
        visit.recording = False  # the narrow menus are tested on a page reloaded without MathJax
        visit.nav[NARROW] = _navigate(page, NARROW, chapters)
    finally:
        context.close()
    return visit


@pytest.fixture(params=PAGES)
def visit(request, html_dir, visits) -> Visit:
    page_path = request.param
    if not (html_dir / page_path).is_file():
        pytest.fail(f"{page_path} (from _toc.yml) was not built in {html_dir}", pytrace=False)
    return visits(page_path)


def _listing(items, limit: int = 15) -> str:
    items = [str(i) for i in items]
    if len(items) > limit:
        items = [*items[:limit], f"... and {len(items) - limit} more"]
    return "\n  " + "\n  ".join(items)


# --- the checks ------------------------------------------------------------------------


def test_every_resource_loads_from_the_book_alone(visit):
    assert not visit.external_requests, (
        f"{visit.page} requests other hosts (the book must work offline):{_listing(visit.external_requests)}"
    )
    assert not visit.bad_responses, f"{visit.page}: error responses:{_listing(visit.bad_responses)}"
    assert not visit.failed_requests, f"{visit.page}: failed requests:{_listing(visit.failed_requests)}"


def test_mathjax_typesets_every_formula(visit, html_dir):
    expected = _scan(html_dir / visit.page).math_nodes
    math = visit.math
    problems = []
    if visit.mathjax_problem:
        problems.append(visit.mathjax_problem)
    elif expected and not math["hasMathJax"]:
        problems.append(f"{expected} formulas but MathJax is not loaded")
    if math["containers"] != expected:
        problems.append(
            f"{math['containers']} typeset formulas (mjx-container) but {expected} math nodes in the page source"
        )
    problems += [f"MathJax error: {e}" for e in math["merrors"]]
    problems += [f"undefined TeX macro: {e}" for e in math["undefinedMacros"]]
    problems += [f"formula not typeset: {e!r}" for e in math["untypeset"]]
    problems += [f"raw TeX in the visible text: {e!r}" for e in math["rawTex"]]
    assert not problems, f"{visit.page}:{_listing(problems)}"


def _allowed(message: str) -> bool:
    return any(re.search(pattern, message) for pattern, _reason in ALLOWED_JS_ERRORS)


def test_no_javascript_errors(visit):
    errors = [e for e in visit.js_errors if not _allowed(e)]
    assert not errors, f"{visit.page}: JavaScript errors:{_listing(errors)}"


def test_internal_links_resolve(visit, base_url, html_dir):
    base = urlsplit(base_url)
    broken = []
    for href in sorted(set(visit.links)):
        parts = urlsplit(href)
        if parts.scheme not in ("http", "https") or parts.netloc != base.netloc:
            continue  # links to other sites are not followed (no internet here)
        target = html_dir / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href}: no such file {target.relative_to(html_dir)}")
        elif parts.fragment and target.suffix == ".html":
            if unquote(parts.fragment) not in _scan(target).ids:
                broken.append(f"{href}: no id {parts.fragment!r} on {target.relative_to(html_dir)}")
    assert not broken, f"{visit.page}: broken internal links:{_listing(broken)}"


def test_every_image_loads(visit):
    broken = [img["src"] for img in visit.images if not img["complete"] or img["width"] == 0]
    assert not broken, f"{visit.page}: images that did not load:{_listing(broken)}"


def test_page_fits_the_window_width(visit):
    """Wide tables and formulas scroll in their own boxes; the page itself never scrolls sideways."""
    wide = [f"{w} px wide in a {width} px window" for width, w in visit.scroll_widths.items() if w > width]
    assert sorted(visit.scroll_widths) == sorted(VIEWPORTS), (
        f"{visit.page}: measured at {visit.scroll_widths}"
    )
    assert not wide, f"{visit.page} scrolls sideways:{_listing(wide)}"


def _names(urls: list[str], base_url: str, limit: int = 3) -> str:
    names = [u.removeprefix(base_url) for u in urls]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def test_site_menu_opens_and_shows_the_chapters(visit, base_url):
    """At 390 px a click opens the menu with a link to every chapter; at 1280 px the menu is
    open, a click hides it and a second click shows it again."""
    chapters = [urljoin(base_url, p) for p in TOC_PAGES]
    problems = []
    for width, nav in sorted(visit.nav.items()):
        if "menu_error" in nav:
            problems.append(f"{width} px: {nav['menu_error']}")
        states = dict(nav["menu"])
        expect = [True, False, True] if width == WIDE else [False, True]  # all chapters shown?
        for (when, state), want in zip(nav["menu"], expect):
            shown = len(state["shown"]) == len(chapters)
            if want and not shown:
                missing = _names(sorted(set(chapters) - set(state["shown"])), base_url)
                problems.append(f"{width} px, {when}: the menu does not show {missing}")
            elif want and state["firstClickable"] is False:
                problems.append(f"{width} px, {when}: the chapter links are covered by another element")
            elif not want and state["shown"]:
                problems.append(
                    f"{width} px, {when}: the menu is open ({len(state['shown'])} chapter links shown)"
                )
        if len(states) < len(expect) and "menu_error" not in nav:
            problems.append(f"{width} px: only {len(states)} of {len(expect)} menu states recorded")
    assert not problems, f"{visit.page}:{_listing(problems)}"


def test_page_contents_button_works(visit):
    problems = []
    for width, nav in sorted(visit.nav.items()):
        contents = nav["contents"]
        if not contents["before"]["links"]:
            continue  # a page without sections has no table of contents
        state = contents["before"] if width == WIDE else contents.get("after")
        if contents.get("error"):
            problems.append(f"{width} px: {contents['error']}")
        elif not state or not state["shown"]:
            how = "" if width == WIDE else " after a click on its button"
            problems.append(
                f"{width} px: the page contents ({contents['before']['links']} links) are not shown{how}"
            )
        elif state["firstClickable"] is False:
            problems.append(f"{width} px: the page contents are covered by another element")
    assert not problems, f"{visit.page}:{_listing(problems)}"


def test_exactly_one_search_box(visit):
    problems = [
        f"{width} px: {len(nav['search'])} search boxes shown: {nav['search']}"
        for width, nav in sorted(visit.nav.items())
        if len(nav["search"]) != 1
    ]
    assert sorted(visit.nav) == sorted(VIEWPORTS), f"{visit.page}: measured at {sorted(visit.nav)} px"
    assert not problems, f"{visit.page}:{_listing(problems)}"


def test_no_cell_output_wider_than_the_column(visit):
    """At 1280 px every output fits the text column: nothing sticks out of it, nothing has to scroll."""
    assert not visit.wide_outputs, f"{visit.page} at {WIDE} px:{_listing(visit.wide_outputs)}"


def test_no_code_cell_wider_than_the_column(visit):
    """At 1280 px a shown code cell of 88-column lines fits the column without scrolling."""
    assert not visit.wide_code, f"{visit.page} at {WIDE} px:{_listing(visit.wide_code)}"


# The source chapters show their derivations as rendered chains (bplit.derive.Chain).
CHAIN_PAGES = re.compile(r"book/00[0-4]_[a-z_]+\.html$")
MIN_CHAINS = 3


def test_derivation_chains_render_at_both_widths(visit):
    """Every chain is typeset without error, and at 1280 px and 390 px its box stays in the window.

    At 1280 px a chain fits the column (no scrolling); at 390 px it may scroll inside its
    own box. Each source chapter shows at least ``MIN_CHAINS`` chains.
    """
    assert sorted(visit.chains) == sorted(VIEWPORTS), f"{visit.page}: measured at {sorted(visit.chains)}"
    problems = []
    for width, chains in visit.chains.items():
        for c in chains:
            where = f"{width} px, {c['tex']!r}"
            if c["error"]:
                problems.append(f"MathJax error in a chain ({where})")
            if c["left"] < -1 or c["right"] > c["window"] + 1:
                problems.append(f"chain box {c['left']:.0f}..{c['right']:.0f} outside the window ({where})")
            if width == WIDE and c["scrolls"]:
                problems.append(f"chain wider than the column ({where})")
    if CHAIN_PAGES.search(visit.page):
        count = len(visit.chains[WIDE])
        if count < MIN_CHAINS:
            problems.append(f"{count} rendered derivation chains, expected at least {MIN_CHAINS}")
    assert not problems, f"{visit.page}:{_listing(problems)}"


def test_stacked_tables_fit_a_phone(visit):
    """At 390 px a table marked stack-on-phone (the errata tables) shows every cell: no column cut off."""
    bad = [t for t in visit.stacked_tables if t["outside"] or t["scrolls"] or not t["cells"]]
    assert not bad, f"{visit.page} at {NARROW} px: stacked tables that do not fit:{_listing(map(str, bad))}"
    if visit.page.endswith("errata.html"):
        assert len(visit.stacked_tables) == 5, (
            f"errata: {len(visit.stacked_tables)} stacked tables, expected 5"
        )


def test_every_figure_has_a_caption_and_alt_text(visit):
    assert not visit.figures, f"{visit.page}:{_listing(visit.figures)}"


@functools.cache
def _equations(path: Path) -> dict[str, str | None]:
    """Ids of the numbered-equation blocks of a built page -> their number, e.g. ``"(3)"``."""
    html = path.read_text(encoding="utf-8")
    found: dict[str, str | None] = {}
    for m in re.finditer(
        r'<div class="math[^"]*" id="(equation-[^"]+)">\s*(?:<span class="eqno">([^<]*))?', html
    ):
        found[m.group(1)] = m.group(2).strip() if m.group(2) else None
    return found


def test_equation_references_show_the_number_of_their_equation(visit, base_url, html_dir):
    base = urlsplit(base_url)
    problems = []
    for link in visit.equation_links:
        parts = urlsplit(link["href"])
        if parts.netloc != base.netloc:
            continue
        target = html_dir / unquote(parts.path).lstrip("/")
        fragment = unquote(parts.fragment)
        equations = _equations(target) if target.is_file() else {}
        if fragment not in equations:
            if target.is_file() and fragment not in _scan(target).ids:
                problems.append(f"{link['text']!r} links to {parts.path}#{fragment}, which does not exist")
            continue  # a link to a heading such as "Equation ledger"
        number = equations[fragment]
        if number is None:
            problems.append(f"{link['text']!r} links to equation {fragment}, which has no number")
        elif link["text"] != number:
            problems.append(f"{link['text']!r} links to equation {fragment}, numbered {number}")
    assert not problems, f"{visit.page}:{_listing(problems)}"


def test_no_test_marker_in_the_text(visit):
    markers = sorted(set(MARKER.findall(visit.text)))
    assert not markers, f"{visit.page} shows test markers to readers: {markers}"


def test_index_redirects_to_the_root_page(browser, base_url, html_dir):
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(urljoin(base_url, "index.html"))
        page.wait_for_url(urljoin(base_url, TOC_PAGES[0]), timeout=PAGE_TIMEOUT_MS)
    finally:
        context.close()


def test_search_finds_a_page(browser, base_url, html_dir):
    """The search page works offline: its index loads and a query lists pages."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(urljoin(base_url, "search.html?q=backpropagation"))
        results = page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=PAGE_TIMEOUT_MS)
        assert results.count() > 0
    finally:
        context.close()
