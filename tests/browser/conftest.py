"""The browser checks' session: one web server for the built book, one Chromium, one visit per page.

test_rendered_book.py and test_figure_labels.py share these fixtures, so each page is opened
(and typeset) once per run, at both window widths, and every check reads that visit.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_rendered_book import CHROMIUM, CHROMIUM_ARGS, HTML_DIR, SCREENSHOT_DIR, Visit, open_page


@pytest.fixture(scope="session")
def html_dir() -> Path:
    if not (HTML_DIR / "index.html").is_file():
        pytest.fail(f"{HTML_DIR / 'index.html'} is missing: run `make book` first", pytrace=False)
    return HTML_DIR


@pytest.fixture(scope="session")
def screenshot_dir() -> Path | None:
    if SCREENSHOT_DIR is None:
        return None
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for stale in SCREENSHOT_DIR.rglob("*.png"):  # no screenshots of pages that are gone
        stale.unlink()
    return SCREENSHOT_DIR


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the browser closing a connection early is not a failure of the book


@pytest.fixture(scope="session")
def base_url(html_dir: Path) -> Iterator[str]:
    """Serve ``html_dir`` on 127.0.0.1 at an ephemeral port; yield its root URL."""
    server = _QuietServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(html_dir)))
    thread = threading.Thread(target=server.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `tools/install-chromium` first", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run `make setup` (requirements.txt)", pytrace=False)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def visits(browser, base_url, screenshot_dir):
    """``visits(page)`` opens a page once per session and returns its :class:`Visit`."""
    cache: dict[str, Visit | Exception] = {}

    def get(page_path: str) -> Visit:
        if page_path not in cache:
            try:
                cache[page_path] = open_page(browser, base_url, page_path, screenshot_dir)
            except Exception as exc:  # e.g. a timeout: report it once per check, without retrying
                cache[page_path] = exc
        result = cache[page_path]
        if isinstance(result, Exception):
            pytest.fail(f"{page_path} could not be checked: {result}", pytrace=False)
        return result

    return get
