"""Thin views of the core in each source's own notation.

Each module here exposes one source's formulas under that source's names and
index conventions, implemented by calling :class:`bplit.Network` (never by
re-deriving the math).  Import the module you need, e.g.
``from bplit.notation import outin``.
"""
