"""Serve MathJax 3 from the pip package ``django-static-mathjax`` instead of a CDN.

At build start ``mathjax_path`` is pointed at ``_static/mathjax/tex-chtml.js``; when
the HTML build finishes the package's ``es5`` tree is copied there.  The book then
typesets its formulas with no network at all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import mathjax  # django-static-mathjax: ships the MathJax 3 distribution as package data

SOURCE = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
TARGET = "mathjax"  # under the output _static/


def _config_inited(app, config) -> None:
    if not (SOURCE / "tex-chtml.js").is_file():
        raise RuntimeError(
            f"MathJax not found at {SOURCE}; is django-static-mathjax installed?"
        )
    config.mathjax_path = f"{TARGET}/tex-chtml.js"


def _build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        dest = Path(app.outdir) / "_static" / TARGET
        shutil.copytree(SOURCE, dest, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _config_inited, priority=900)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
