"""Small fixes to the HTML pages that the browser test (tests/browser) found.

* Sphinx 7.4 adds an inline script that an extension registers after the builder is set up
  (sphinx-thebe's ``const THEBE_JS_URL = ...``, sphinx-togglebutton's selector) twice to every
  page; the second ``const`` declaration is a JavaScript SyntaxError on every page.  Drop the
  repeated script tags.
* Tables with the class ``stack-on-phone`` (MyST: a ``{table}`` directive with
  ``:class: stack-on-phone``) get their column header repeated at the start of every
  cell, in a ``phone-label`` span that ``bplit.css`` shows only on a phone, where such a
  table's rows are stacked as cards instead of a grid too wide for the screen.
* ``bplit.css`` (next to this file): the book's style rules (code cells that fit the
  column at 88 characters, an API reference and an index that fit a phone). It is copied
  to ``_static/`` when the HTML build finishes, not kept in a ``_static`` folder of the
  book (Jupyter Book would add every file of such a folder to every page itself).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from docutils import nodes

CSS = Path(__file__).with_name("bplit.css")


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (
            getattr(script, "filename", script) or "",
            tuple(sorted((k, str(v)) for k, v in attributes.items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _label_stacked_tables(app, doctree, docname) -> None:
    for table in doctree.findall(nodes.table):
        if "stack-on-phone" not in table["classes"]:
            continue
        head = next(iter(table.findall(nodes.thead)), None)
        body = next(iter(table.findall(nodes.tbody)), None)
        if head is None or body is None:
            continue
        names = [entry.astext().strip() for entry in head.findall(nodes.entry)]
        for row in body.findall(nodes.row):
            for name, entry in zip(names, row.findall(nodes.entry)):
                label = nodes.inline("", f"{name}: ", classes=["phone-label"])
                first = entry.children[0] if entry.children else None
                if isinstance(first, nodes.paragraph):
                    first.insert(0, label)
                else:
                    entry.insert(0, nodes.paragraph("", "", label))


def _copy_css(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copyfile(CSS, Path(app.outdir) / "_static" / CSS.name)


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("doctree-resolved", _label_stacked_tables)
    app.add_css_file(CSS.name)
    app.connect("build-finished", _copy_css)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
