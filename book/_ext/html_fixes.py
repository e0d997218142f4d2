"""Small fixes to the HTML pages that the browser test (tests/browser) found.

* Sphinx 7.4 adds an inline script that an extension registers after the builder is set up
  (sphinx-thebe's ``const THEBE_JS_URL = ...``, sphinx-togglebutton's selector) twice to every
  page; the second ``const`` declaration is a JavaScript SyntaxError on every page.  Drop the
  repeated script tags.
"""

from __future__ import annotations


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


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
