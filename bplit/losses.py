r"""Loss functions: a per-sample cost :math:`C_m` and a batch reduction.

Every loss here is defined per sample; the batch cost is

.. math::
    C = \frac{1}{m}\sum_{s=1}^{m} C_s \quad (\text{reduction="mean"}) \qquad\text{or}\qquad
    C = \sum_{s=1}^{m} C_s \quad (\text{reduction="sum"}).

``"mse"``
    :math:`C_s = \frac{1}{n_{out}}\sum_j (a_{sj} - y_{sj})^2`. With the mean
    reduction this is source 000's :math:`\frac{1}{b\,|out|}\sum (y - out)^2` and
    scikit-learn's ``mean_squared_error``. Not halved.
``"half_sse"``
    :math:`C_s = \frac12\lVert a_s - y_s\rVert^2` (sources 001, 002, 003). Its
    gradient is :math:`a - y` with no factor 2. scikit-learn's ``MLPRegressor``
    uses the halved *mean* squared error, i.e. ``half_sse`` divided by
    :math:`n_{out}`.
``"cross_entropy"``
    :math:`C_s = -\sum_j y_{sj}\log a_{sj}` with a softmax output; each target row
    must be a probability vector, which makes :math:`\delta^L = a - y` exact
    (source 004). Computed from log-probabilities, so it stays finite.
``"binary_cross_entropy"``
    :math:`C_s = -\sum_j [y_{sj}\log a_{sj} + (1-y_{sj})\log(1-a_{sj})]` with a
    sigmoid output and targets in [0, 1]; again :math:`\delta^L = a - y`.

The derivations are in the book: chapter "Nielsen's notation (source 003)" for
``half_sse`` and the per-sample average, the chapters on sources 000 and 004 for
``mse`` and the cross-entropies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .activations import Activation

__all__ = ["Loss", "LOSSES", "REDUCTIONS", "get_loss"]

Array = np.ndarray
REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class Loss:
    """A per-sample cost and its gradient.

    Attributes
    ----------
    name : str
        Registry name.
    per_sample : callable
        ``per_sample(z, a, y) -> ndarray of shape (m,)``: :math:`C_s` for each row.
        ``z`` is the output layer's weighted input, used for stable logarithms.
    grad_a : callable or None
        ``grad_a(a, y) -> ndarray of shape (m, n_out)``: :math:`\\partial C_s/\\partial a`.
    output : str or None
        The output activation this loss requires (``None``: any).  With it the
        output error is the fused :math:`\\delta^L = a - y`.
    """

    name: str
    per_sample: Callable[[Array, Array, Array], Array]
    grad_a: Callable[[Array, Array], Array] | None
    output: str | None = None
    sum_fn: Callable[[Array, Array, Array], float] | None = None

    def total(self, z: Array, a: Array, y: Array) -> float:
        """:math:`\\sum_s C_s`, the per-sample costs summed over the batch, as a float.

        The same number as ``per_sample(z, a, y).sum()`` up to rounding, with fewer
        temporaries (the training step reports it on every call).
        """
        if self.sum_fn is not None:
            return self.sum_fn(z, a, y)
        return float(self.per_sample(z, a, y).sum())

    def output_delta(
        self, z: Array, a: Array, y: Array, activation: Activation, out: Array | None = None
    ) -> Array:
        r"""Per-sample :math:`\partial C_s/\partial z^L`, shape ``(m, n_out)``.

        The fused :math:`a - y` when the loss comes with its own output activation,
        otherwise the output activation's ``backward`` applied to ``grad_a``
        (BP1: :math:`\nabla_a C \odot \sigma'(z^L)`). ``out`` optionally receives the
        fused result.
        """
        if self.output is not None:
            return np.subtract(a, y, out=out)
        return activation.backward(z, a, self.grad_a(a, y), overwrite=True)

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"


def _squares(a: Array, y: Array, per_sample: bool) -> Array | float:
    """:math:`\\sum_j (a_j - y_j)^2` for each row, or summed over the batch (one dot product)."""
    d = a - y
    if per_sample:
        return np.sum(d * d, axis=1)  # ufuncs, not einsum: overflow must raise under errstate
    d = d.reshape(-1)
    return float(d @ d)


def _mse(z: Array, a: Array, y: Array) -> Array:
    return _squares(a, y, True) / a.shape[1]


def _half_sse(z: Array, a: Array, y: Array) -> Array:
    return 0.5 * _squares(a, y, True)


def _softmax_parts(z: Array) -> tuple[Array, Array]:
    shifted = z - np.maximum.reduce(z, axis=1, keepdims=True)
    return shifted, np.exp(shifted).sum(axis=1)


def cross_entropy_from(
    shifted: Array, sums: Array, y: Array, per_sample: bool = False, ones: Array | None = None
) -> Array | float:
    r"""The cross-entropy from the softmax's own intermediates, per sample or summed.

    With :math:`u = z - \max_j z_j` (``shifted``), :math:`s = \sum_j e^{u_j}` (``sums``) and
    :math:`r = \sum_j y_j`: :math:`C_s = -\sum_j y_j \log a_j = r \log s - y \cdot u`, two
    sums of non-negative terms, so nothing cancels when the cost is small. ``per_sample``
    gives the vector of :math:`C_s`, otherwise their sum (dot products, no temporaries);
    ``ones``, a vector of ``y.shape[1]`` ones, turns the row sums into one BLAS call.
    """
    r = np.add.reduce(y, axis=1) if ones is None else np.matmul(y, ones)
    if per_sample:
        return np.log(sums) * r - np.sum(y * shifted, axis=1)
    return float(np.log(sums) @ r - y.reshape(-1) @ shifted.reshape(-1))


def _cross_entropy(z: Array, a: Array, y: Array) -> Array:
    return cross_entropy_from(*_softmax_parts(z), y, per_sample=True)


def _binary_cross_entropy(z: Array, a: Array, y: Array) -> Array:
    # -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z, written to never overflow
    softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    return np.sum(softplus - y * z, axis=1)


LOSSES: dict[str, Loss] = {
    "mse": Loss(
        "mse",
        _mse,
        lambda a, y: 2.0 * (a - y) / a.shape[1],
        sum_fn=lambda z, a, y: _squares(a, y, False) / a.shape[1],
    ),
    "half_sse": Loss(
        "half_sse", _half_sse, lambda a, y: a - y, sum_fn=lambda z, a, y: 0.5 * _squares(a, y, False)
    ),
    "cross_entropy": Loss(
        "cross_entropy",
        _cross_entropy,
        None,
        output="softmax",
        sum_fn=lambda z, a, y: cross_entropy_from(*_softmax_parts(z), y),
    ),
    "binary_cross_entropy": Loss("binary_cross_entropy", _binary_cross_entropy, None, output="sigmoid"),
}


def get_loss(name: str | Loss) -> Loss:
    """Look a loss up by name (a :class:`Loss` passes through).

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the valid names.
    """
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)} or a Loss") from None
