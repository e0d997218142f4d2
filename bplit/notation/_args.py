"""Argument checks shared by the notation views: one helper and one error type per mistake.

Every mistake in a view's arguments raises ``ValueError`` with a message naming what
was expected: a network that is not a :class:`bplit.Network`, a layer number outside
the source's range, an array of the wrong shape; an array that is not real
floating-point raises :class:`bplit.DtypeError` (a ``TypeError`` and a ``ValueError``),
as the core does.
"""

from __future__ import annotations

import numpy as np

from .._validation import DtypeError
from ..losses import reduction_factor
from ..network import Gradients, Network

Array = np.ndarray


def network(net: object) -> Network:
    """``net`` itself when it is a :class:`bplit.Network`."""
    if not isinstance(net, Network):
        raise ValueError(f"net must be a bplit.Network, got {type(net).__name__}")
    return net


def layer(l: object, lowest: int, highest: int, where: str) -> int:
    """The layer number ``l`` as an ``int`` when ``lowest <= l <= highest``.

    ``where`` completes the message in the source's numbering, e.g.
    ``"in [1, 2] for this network"``.
    """
    if isinstance(l, bool) or not isinstance(l, (int, np.integer)) or not lowest <= l <= highest:
        raise ValueError(f"layer l must be an integer {where}, got {l!r}")
    return int(l)


def real(name: str, v: object, what: str = "array") -> Array:
    """``v`` as an array of a real floating-point dtype."""
    arr = np.asarray(v)
    if arr.dtype.kind != "f":
        raise DtypeError(f"{name} must be a real floating-point {what}, got dtype {arr.dtype}")
    return arr


def column(name: str, v: object, n: int) -> Array:
    """A real column vector of shape ``(n, 1)``: one sample in the column-vector notations."""
    arr = real(name, v, "column vector")
    if arr.shape != (n, 1):
        raise ValueError(f"{name} must be a column vector of shape ({n}, 1), got shape {arr.shape}")
    return arr


def rows(name: str, v: object, width: int | None = None, expected: str = "(m, n)") -> Array:
    """A real 2-D array with at least one row (and column), ``width`` columns when given."""
    arr = real(name, v)
    if (
        arr.ndim != 2
        or arr.shape[0] == 0
        or arr.shape[1] == 0
        or (width is not None and arr.shape[1] != width)
    ):
        shape = expected if width is None else f"(m, {width})"
        raise ValueError(f"{name} must have shape {shape} with at least one row, got shape {arr.shape}")
    return arr


def mean_factor(net: Network, m: int) -> float:
    r"""The factor that turns the gradients of ``net``'s batch cost into those of the batch *mean*.

    The core's cost is :math:`\omega \sum_s C_s` (:func:`bplit.losses.reduction_factor`); the
    mean is :math:`\frac1m \sum_s C_s`, so the factor is :math:`1/(m\,\omega)`.
    """
    return 1.0 / (m * reduction_factor(net.reduction, m))


def mean_gradients(net: Network, X: object, Y: object) -> Gradients:
    """The core's gradients of the batch mean of the per-sample costs, whatever ``net.reduction`` is."""
    g = net.gradients(X, Y)
    k = mean_factor(net, len(g.deltas[0]))
    if k == 1.0:
        return g
    return Gradients([w * k for w in g.weights], [b * k for b in g.biases], [d * k for d in g.deltas])
