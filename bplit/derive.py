r"""Derivations as chains of equal expressions, each step checked by SymPy when it is added.

``bplit.derive`` is the book's tool for showing a derivation and proving it at once. It
needs SymPy (``pip install "bplit[derive]"``) and nothing else of bplit: it never imports
the NumPy core, so a chain is an independent witness of what the core computes.

A chain starts at an expression and grows one equality at a time::

    import sympy as sp
    from bplit.derive import Chain

    z = sp.Symbol("z")
    sigma = sp.Function("sigma")
    s = 1 / (1 + sp.exp(-z))
    Chain(sp.Derivative(s, z)).step(
        sp.exp(-z) / (1 + sp.exp(-z)) ** 2, "quotient rule"
    ).step(s * (1 - s), "$1 - s = e^{-z} s$")

Each :meth:`Chain.step` checks that the new right-hand side equals the previous one: the
difference, after every definition in ``where`` has been substituted and every
``Derivative``, ``Subs``, ``Sum`` and ``KroneckerDelta`` evaluated, must simplify to zero.
A step that does not follow raises :class:`StepError` naming the step (the first
``.step`` is step 1), its reason and the simplified difference, and the chain is left as
it was. Where SymPy cannot decide (sums with symbolic bounds, for example) a step may ask
for ``numeric=True``: the difference is then evaluated at several random points, with
every integer symbol given a small value, every undefined function a concrete smooth
body, and every other symbol and indexed entry a random real number; the rendered chain
marks such steps.

In Jupyter (and in the built book) a chain renders as one aligned display,

.. math::

    \begin{aligned} \text{lhs} &= e_1 && \text{why}_1 \\ &= e_2 && \text{why}_2 \end{aligned}

through ``_repr_latex_``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

try:
    import sympy as sp
    from sympy.core.function import AppliedUndef
except ImportError as error:  # SymPy is the optional extra "derive"
    raise ImportError('bplit.derive needs SymPy: pip install "bplit[derive]"') from error

__all__ = ["Chain", "Step", "StepError", "check_equal"]

#: How many random points a numerical step is evaluated at, by default.
NUMERIC_POINTS = 5
#: Relative tolerance of a numerical step (double precision, with room for cancellation).
NUMERIC_RTOL = 1e-9


class StepError(AssertionError):
    """A step of a :class:`Chain` that does not follow from the previous expression.

    Attributes
    ----------
    number : int
        The step's number in its chain (the first ``.step`` is step 1).
    why : str
        The reason the step gave.
    difference : sympy expression or Matrix
        The simplified difference, previous expression minus the step's right-hand side
        (for a numerical step, the largest relative difference found).
    """

    def __init__(self, number: int, why: str, difference, detail: str = ""):
        self.number, self.why, self.difference = number, why, difference
        message = f"step {number} ({why}) does not follow: the difference simplifies to {difference}"
        super().__init__(message + (f"; {detail}" if detail else ""))

    #: LaTeX shown for the difference instead of SymPy's printing of it (set by
    #: :meth:`Chain.fails`'s ``shown=``), e.g. a name for a long expanded column.
    shown: str | None = None

    def show(self, expected, latex: str | None = None) -> StepError:
        """Display the difference as ``expected`` (checked equal to it); return the error.

        For a long difference, e.g. a column expanded in the raw parameters: ``expected``
        is a shorter SymPy form of it, and ``latex`` (default SymPy's printing of
        ``expected``) is what the display shows. Raises ``AssertionError`` if
        ``expected`` is not the difference.
        """
        expected = _sympify(expected, "expected")
        if not isinstance(self.difference, (sp.Basic, sp.MatrixBase)):
            raise AssertionError(f"step {self.number}: a numerical difference cannot be shown as {expected}")
        if _shape(expected) != _shape(self.difference):
            raise AssertionError(f"step {self.number}: expected has another shape than the difference")
        rest = _difference(self.difference, expected, {}, self.number, self.why)
        if not _is_zero(rest):
            raise AssertionError(
                f"step {self.number}: the difference is not {expected}; they differ by {rest}"
            )
        self.shown = latex if latex is not None else sp.latex(expected)
        return self

    def _repr_latex_(self) -> str:
        diff = self.difference
        if self.shown is not None:
            shown = self.shown
        elif isinstance(diff, (sp.Basic, sp.MatrixBase)):
            shown = sp.latex(diff)
        else:
            shown = rf"\text{{{diff}}}"
        return (  # two rows, so that a refusal fits a narrow column
            "$$\n\\begin{aligned}\n"
            rf"&\text{{step {self.number} (}}{_text(self.why)}\text{{) fails:}} \\"
            "\n"
            rf"&\text{{previous}} - \text{{right-hand side}} = {shown} \neq 0"
            "\n\\end{aligned}\n$$"
        )


@dataclass(frozen=True)
class Step:
    """One checked equality of a chain: ``= rhs`` for the reason ``why``.

    ``how`` is ``"symbolic"`` (the difference simplified to zero) or ``"numeric"``
    (it vanished, within ``NUMERIC_RTOL``, at ``points`` random points).
    """

    rhs: object
    why: str
    how: str = "symbolic"
    points: int = 0
    latex: str | None = None


@dataclass
class Chain:
    r"""A derivation: ``lhs = e_1 = e_2 = ...``, every ``=`` checked as it is added.

    Parameters
    ----------
    lhs : sympy expression or Matrix
        Where the derivation starts (for example ``sp.Derivative(E, w)``).
    where : mapping, optional
        Definitions used by every step: each key (a symbol, or an undefined function
        applied to its arguments, such as ``delta(j)``) is replaced by its value before
        two expressions are compared. The display keeps the keys.
    latex : str, optional
        How to show ``lhs`` (for example ``r"\frac{\partial E}{\partial w_{jk}}"``) when
        SymPy's own printing of it would be less clear. Only the display changes.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> c = Chain((x + 1) ** 2).step(x**2 + 2 * x + 1, "expand")
    >>> c.result
    x**2 + 2*x + 1
    >>> Chain(x**2).step(2 * x, "wrong")
    Traceback (most recent call last):
    ...
    bplit.derive.StepError: step 1 (wrong) does not follow: the difference simplifies to x**2 - 2*x
    """

    lhs: object
    where: Mapping = field(default_factory=dict)
    latex: str | None = None
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self):
        self.lhs = _sympify(self.lhs, "lhs")
        self.where = _definitions(self.where)

    @property
    def result(self):
        """The last right-hand side (``lhs`` while the chain has no step)."""
        return self.steps[-1].rhs if self.steps else self.lhs

    def step(
        self,
        rhs,
        why: str,
        *,
        where: Mapping | None = None,
        numeric: bool = False,
        points: int = NUMERIC_POINTS,
        functions: Mapping | None = None,
        at: Mapping | None = None,
        seed: int = 0,
        latex: str | None = None,
    ) -> Chain:
        """Append ``= rhs`` for the reason ``why``, after checking it; return the chain.

        Parameters
        ----------
        rhs : sympy expression or Matrix
            The next expression of the chain.
        why : str
            A short reason shown beside the step ("chain rule", "BP1", ...).
        where : mapping, optional
            Definitions for this step only, added to the chain's.
        numeric : bool
            Check at ``points`` random points instead of symbolically (for steps SymPy
            cannot simplify, such as sums with symbolic bounds). Marked in the display.
        functions : mapping, optional
            For a numerical step: concrete bodies for undefined functions, e.g.
            ``{sigma: sp.Lambda(x, 1 / (1 + sp.exp(-x)))}``; the others get random
            smooth bodies.
        at : mapping, optional
            For a numerical step: fixed values for some symbols (e.g. a sum's bound).
        seed : int
            Seed of the random points of a numerical step.
        latex : str, optional
            How to show ``rhs``; only the display changes.

        Raises
        ------
        StepError
            If the step does not follow; the chain is unchanged.
        """
        rhs = _sympify(rhs, "rhs")
        number = len(self.steps) + 1
        if not isinstance(why, str) or not why.strip():
            raise TypeError(f"step {number}: why must be a non-empty string, got {why!r}")
        _text(why)  # a reason the display cannot show is refused now, not at render time
        defs = _resolve({**self.where, **_definitions(where or {})})
        if numeric:
            if not isinstance(points, int) or points < 1:
                raise ValueError(f"points must be a positive integer, got {points!r}")
            _check_numeric(self.result, rhs, defs, number, why, points, functions, at, seed)
            self.steps.append(Step(rhs, why, "numeric", points, latex))
        else:
            difference = _difference(self.result, rhs, defs, number, why)
            if not _is_zero(difference):
                raise StepError(number, why, difference)
            self.steps.append(Step(rhs, why, "symbolic", 0, latex))
        return self

    def fails(self, rhs, why: str, *, shown: str | None = None, **kwargs) -> StepError:
        """Check that ``= rhs`` does **not** follow, and return the :class:`StepError`.

        For errata: the source's step is tried and refused. The chain is unchanged.
        ``shown`` is LaTeX to display for the difference (when SymPy's own printing of it
        would be too long); the other keywords are those of :meth:`step`.
        Raises ``AssertionError`` if the step does follow.
        """
        try:
            self.step(rhs, why, **kwargs)
        except StepError as error:
            error.shown = shown
            return error
        self.steps.pop()
        raise AssertionError(f"step {len(self.steps) + 1} ({why}) follows; it was expected to fail")

    def latex_lines(self) -> list[str]:
        """The chain's rows in LaTeX: ``lhs &= e_1 && \\text{why}``, one per step."""
        left = self.latex if self.latex is not None else sp.latex(self.lhs)
        if not self.steps:
            return [left]
        rows = []
        for k, s in enumerate(self.steps):
            shown = s.latex if s.latex is not None else sp.latex(s.rhs)
            why = _text(s.why)
            if s.how == "numeric":
                why += rf"\ \text{{(numerically, {s.points} points)}}"
            rows.append(rf"{left if k == 0 else ''} &= {shown} && {why}")
        return rows

    def to_latex(self) -> str:
        """The whole chain as one ``aligned`` environment (without ``$$``)."""
        return "\\begin{aligned}\n" + " \\\\\n".join(self.latex_lines()) + "\n\\end{aligned}"

    def _repr_latex_(self) -> str:
        return "$$\n" + self.to_latex() + "\n$$"

    def __repr__(self) -> str:
        parts = [str(self.lhs)] + [f"{s.rhs}  [{s.why}]" for s in self.steps]
        return "Chain(" + "\n  = ".join(parts) + ")"


def check_equal(lhs, rhs, why: str = "equal", **kwargs) -> Chain:
    """A one-step chain: ``Chain(lhs).step(rhs, why, **kwargs)``."""
    return Chain(lhs).step(rhs, why, **kwargs)


# --------------------------------------------------------------------------------------
# checking


def _sympify(expr, name: str):
    if isinstance(expr, sp.MatrixBase):
        return sp.ImmutableMatrix(expr)
    try:
        return sp.sympify(expr, strict=True)
    except (sp.SympifyError, TypeError) as error:
        raise TypeError(f"{name} must be a SymPy expression or Matrix, got {type(expr).__name__}") from error


def _text(why: str) -> str:
    """A reason as LaTeX: plain text, with ``$...$`` parts passed through as mathematics."""
    parts = why.split("$")
    if len(parts) % 2 == 0:
        raise ValueError(f"unbalanced $ in the reason {why!r}")
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(part)
        elif part:
            if any(ch in part for ch in "\\{}"):
                raise ValueError(
                    f"the reason {why!r} has a backslash or a brace outside $...$: "
                    "write its mathematics between dollar signs"
                )
            out.append(rf"\text{{{part}}}")
    return " ".join(out) if out else r"\text{}"


def _definitions(where: Mapping) -> dict:
    """``where`` with keys and values as SymPy objects (``{y: 1}`` is ``{y: Integer(1)}``)."""
    if not isinstance(where, Mapping):
        raise TypeError(f"where must be a mapping of names to definitions, got {type(where).__name__}")
    return {_sympify(k, "a key of where"): _sympify(v, f"the definition of {k}") for k, v in where.items()}


def _resolve(defs: Mapping) -> dict:
    """The definitions with every defined name in their values replaced, to a fixed point."""
    resolved = dict(defs)
    for _ in range(len(resolved) + 1):
        new = {k: v.xreplace(resolved) for k, v in resolved.items()}
        if new == resolved:
            break
        resolved = new
    if all(not v.has(k) for k, v in resolved.items()):
        return resolved
    raise ValueError(f"the definitions refer to one another in a cycle: {sorted(map(str, defs))}")


def _expand(expr, defs: Mapping):
    """Substitute the (resolved) definitions structurally, then evaluate.

    ``xreplace``, not ``subs``: a defined name inside a ``Derivative`` is replaced by its
    value before differentiating (``subs`` would hold it constant and return ``Subs``).
    """
    return (expr.xreplace(defs) if defs else expr).doit()


def _shape(expr):
    return expr.shape if getattr(expr, "is_Matrix", False) else None


def _difference(a, b, defs, number, why):
    if _shape(a) != _shape(b):
        raise StepError(
            number,
            why,
            "a shape mismatch",
            f"previous has shape {_shape(a) or 'scalar'}, right-hand side has shape {_shape(b) or 'scalar'}",
        )
    d = _expand(a, defs) - _expand(b, defs)
    if getattr(d, "is_Matrix", False):
        d = d.as_explicit() if not isinstance(d, sp.MatrixBase) else d
        return d.applyfunc(_simplify)
    return _simplify(d)


def _simplify(e):
    e = sp.expand(e)
    if e == 0:
        return sp.S.Zero
    return sp.simplify(e)


def _is_zero(d) -> bool:
    if isinstance(d, sp.MatrixBase):
        return all(x == 0 for x in d)
    return d == 0


def _random_body(n: int, rng: random.Random):
    """A smooth, non-polynomial body for an undefined function of ``n`` arguments."""
    xs = sp.symbols(f"_u0:{n}")
    terms = [sp.Float(rng.uniform(-1, 1))]
    for x in xs:
        a, b, c = (sp.Float(rng.uniform(0.5, 1.5)) for _ in range(3))
        terms.append(a * sp.sin(b * x + c) + sp.Float(rng.uniform(-0.5, 0.5)) * x**2)
    if n > 1:
        terms.append(sp.Float(rng.uniform(0.2, 0.8)) * sp.Mul(*xs))
    return sp.Lambda(xs, sp.Add(*terms))


def _prepare(expr, defs, bodies, integers):
    """Definitions substituted, functions given bodies, integers fixed, sums expanded."""
    expr = expr.xreplace(defs) if defs else expr
    for fn, body in bodies.items():
        expr = expr.replace(fn, body)
    return expr.subs(integers).doit()


def _random_point(exprs, rng):
    """One random value for every indexed entry and free symbol left in ``exprs``."""
    values = {}
    indexed = set().union(*(e.atoms(sp.Indexed) for e in exprs))
    for atom in sorted(indexed, key=sp.default_sort_key):
        values[atom] = sp.Float(rng.uniform(-1, 1))
    symbols = set().union(*(e.xreplace(values).free_symbols for e in exprs))
    for s in sorted(symbols, key=sp.default_sort_key):
        lo = 0.2 if (s.is_positive or s.is_nonnegative) else -1.0
        values[s] = sp.Float(rng.uniform(lo, 1.2))
    return values


def _check_numeric(a, b, defs, number, why, points, functions, at, seed):
    if _shape(a) != _shape(b):
        raise StepError(number, why, "a shape mismatch", f"shapes {_shape(a)} and {_shape(b)}")
    rng = random.Random(seed)
    both = [a, b, *defs.values()]
    arity = {}  # each undefined function, with the number of arguments it is applied to
    for e in both:
        for f in e.atoms(AppliedUndef):
            arity.setdefault(f.func, len(f.args))
    integer_symbols = set()
    for e in both:
        integer_symbols |= {s for s in e.free_symbols if s.is_integer and s not in defs}
    worst = 0.0
    for _ in range(points):
        bodies = dict(functions or {})
        for fn in sorted(set(arity) - set(bodies), key=str):
            bodies[fn] = _random_body(arity[fn], rng)
        integers = dict(at or {})
        for s in sorted(integer_symbols - set(integers), key=sp.default_sort_key):
            integers[s] = rng.randint(2, 4) if s.is_positive else rng.randint(1, 3)
        pa, pb = (_prepare(e, defs, bodies, integers) for e in (a, b))
        values = _random_point([pa, pb], rng)
        va, vb = (e.xreplace(values).doit().evalf() for e in (pa, pb))
        pairs = zip(va, vb) if isinstance(va, sp.MatrixBase) else [(va, vb)]
        for x, y in pairs:
            try:
                x, y = complex(x), complex(y)
            except TypeError as error:
                raise StepError(
                    number, why, sp.simplify(x - y), "a numerical step left symbols unevaluated"
                ) from error
            worst = max(worst, abs(x - y) / max(1.0, abs(x), abs(y)))
    if not worst <= NUMERIC_RTOL:
        raise StepError(number, why, f"{worst:.3g} (largest relative difference at {points} random points)")
