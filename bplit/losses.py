r"""Loss functions: a per-sample cost :math:`C_s` and a batch reduction.

Every loss here is defined per sample; the batch cost is

.. math::
    C = \frac{1}{m}\sum_{s=1}^{m} C_s \quad (\text{reduction="mean"}) \qquad\text{or}\qquad
    C = \sum_{s=1}^{m} C_s \quad (\text{reduction="sum"}),

that is :math:`C = \omega \sum_s C_s` with the reduction factor :math:`\omega` of
:func:`reduction_factor`, the one place the reduction is written.

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
    (source 004). Computed from the logits, so it stays finite.
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

from ._deprecated import renamed_function
from ._validation import DtypeError
from .activations import Activation

__all__ = [
    "Loss",
    "LOSSES",
    "REDUCTIONS",
    "get_loss",
    "reduction_factor",
    "sample_weight",
    "probability_rows",
    "one_hot",
]

Array = np.ndarray
REDUCTIONS = ("mean", "sum")


def reduction_factor(reduction: str, m: int) -> float:
    r"""The factor :math:`\omega` of the batch cost :math:`C = \omega\sum_s C_s` of ``m`` samples.

    :math:`1/m` for ``"mean"``, 1 for ``"sum"``: the same for every sample (not a
    per-sample weight). Every gradient of :math:`C` carries the same factor
    (:math:`\delta = \omega\,\partial C_s/\partial z`).
    """
    return 1.0 / m if reduction == "mean" else 1.0


sample_weight = renamed_function(reduction_factor, "sample_weight", " (it was never a per-sample weight)")


def probability_rows(Y: Array) -> bool:
    r"""Whether every row of ``Y`` (shape ``(m, n)``) is a probability vector.

    Non-negative entries and :math:`|\sum_j y_{sj} - 1| \le` ``atol`` for every row,
    with ``atol`` = 1e-6 in float64 (and wider types), 1e-4 in float32 and below.
    Cross-entropy with a softmax output needs it for :math:`\delta^L = a - y`: in
    general :math:`\partial C_s/\partial z_j = a_j \sum_k y_k - y_j`.
    """
    atol = 1e-6 if Y.dtype.itemsize >= 8 else 1e-4
    rows = np.matmul(Y, np.ones(Y.shape[1], Y.dtype))  # row sums, one BLAS call
    rows -= 1.0
    # max |row - 1| <= (sum of squares)^(1/2): the cheap test settles the usual case
    rows_ok = float(rows @ rows) <= atol * atol or np.maximum.reduce(np.abs(rows)) <= atol
    return bool(rows_ok and np.minimum.reduce(Y, axis=None) >= 0)


def _check_probability_rows(Y: Array) -> None:
    if not probability_rows(Y):
        raise ValueError(
            "cross_entropy targets must be probability rows: non-negative, each row summing to 1 "
            "(one-hot labels are); the fused output error a - y relies on it"
        )


def one_hot(labels: Array, n_classes: int, dtype: type | np.dtype = np.float64, name: str = "Y") -> Array:
    r"""Class labels as one-hot rows: :math:`y_{sj} = 1` if ``labels[s] == j`` else 0.

    Parameters
    ----------
    labels : ndarray of shape (m,)
        Integers in ``[0, n_classes)``.
    n_classes : int
    dtype : numpy dtype
    name : str
        The argument's name in error messages.

    Returns
    -------
    ndarray of shape (m, n_classes)
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DtypeError(
            f"{name}: class labels must be a 1-D integer array, got {labels.dtype} of shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)][0]
        raise ValueError(
            f"{name}: class labels must lie in [0, {n_classes}) (one per output unit), got {bad}"
        )
    out = np.zeros((labels.shape[0], n_classes), dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def _labels_one_hot(name: str, labels: Array, width: int, dtype: np.dtype) -> Array:
    if labels.dtype.kind not in "iu":
        raise DtypeError(
            f"{name}: 1-D targets for cross_entropy are class labels and must be integers, got dtype "
            f"{labels.dtype}; pass np.asarray({name}).astype(int) (whole numbers), or one-hot/probability rows of shape (m, {width})"
        )
    return one_hot(labels, width, dtype, name)


def _labels_binary(name: str, labels: Array, width: int, dtype: np.dtype) -> Array:
    if width != 1:
        raise ValueError(
            f"{name}: 1-D 0/1 labels need a single sigmoid output unit; this network has {width} "
            f"outputs, so pass rows of shape (m, {width}) with entries in [0, 1]"
        )
    if labels.dtype.kind not in "biuf":
        raise DtypeError(
            f"{name}: binary labels must be 0/1 (integers, booleans or floats), got dtype {labels.dtype}"
        )
    values = labels.astype(dtype)
    if not np.all((values == 0) | (values == 1)):
        raise ValueError(
            f"{name}: 1-D binary labels must be 0 or 1, got {labels[(values != 0) & (values != 1)][0]}"
        )
    return values.reshape(-1, 1)


def _check_unit_interval(Y: Array) -> None:
    if np.minimum.reduce(Y, axis=None) < 0 or np.maximum.reduce(Y, axis=None) > 1:
        raise ValueError("binary_cross_entropy targets must lie in [0, 1]")


@dataclass(frozen=True)
class Loss:
    r"""A per-sample cost, its gradient, and what it needs of its targets.

    Attributes
    ----------
    name : str
        Registry name.
    per_sample : callable
        ``per_sample(z, a, y) -> ndarray of shape (m,)``: :math:`C_s` for each row.
        ``z`` is the output layer's weighted input, used for stable logarithms.
    grad_a : callable or None
        ``grad_a(a, y) -> ndarray of shape (m, n_out)``: :math:`\partial C_s/\partial a`.
    output : str or None
        The output activation this loss requires (``None``: any).  With it the
        output error is the fused :math:`\delta^L = a - y`.
    sum_fn : callable or None
        Optional ``sum_fn(z, a, y) -> float``, :math:`\sum_s C_s` with fewer temporaries.
    check_targets : callable or None
        ``check_targets(Y)`` raises ``ValueError`` for a target array ``Y`` of shape
        ``(m, n_out)`` that the loss cannot take (e.g. rows that are not probability
        vectors for the cross-entropy); the network calls it on every target batch.
    from_labels : callable or None
        ``from_labels(name, labels, n_out, dtype) -> ndarray of shape (m, n_out)``: the
        target rows for a 1-D array of class labels (``None``: the loss takes no labels).
    classification : bool
        Whether the outputs are class probabilities (accuracy is then meaningful).
    """

    name: str
    per_sample: Callable[[Array, Array, Array], Array]
    grad_a: Callable[[Array, Array], Array] | None
    output: str | None = None
    sum_fn: Callable[[Array, Array, Array], float] | None = None
    check_targets: Callable[[Array], None] | None = None
    from_labels: Callable[[str, Array, int, np.dtype], Array] | None = None
    classification: bool = False

    def total(self, z: Array, a: Array, y: Array) -> float:
        r""":math:`\sum_s C_s`, the per-sample costs summed over the batch, as a float."""
        if self.sum_fn is not None:
            return self.sum_fn(z, a, y)
        return float(self.per_sample(z, a, y).sum())

    def output_delta(
        self, z: Array, a: Array, y: Array, activation: Activation, out: Array | None = None
    ) -> Array:
        r"""Per-sample :math:`\partial C_s/\partial z^L`, shape ``(m, n_out)`` (BP1).

        The fused :math:`a - y` when the loss comes with its own output activation,
        otherwise :math:`\nabla_a C_s \odot \sigma'(z^L)` through the output
        activation's ``backward``. ``out`` optionally receives the fused result.
        """
        if self.output is not None:
            return np.subtract(a, y, out=out)
        return activation.backward(z, a, self.grad_a(a, y), overwrite=True)

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"

    def __reduce__(self) -> tuple:
        """Pickle a registered loss by its name (its functions are lambdas); a custom one field by field."""
        if LOSSES.get(self.name) is self:
            return (get_loss, (self.name,))
        return (Loss, tuple(getattr(self, f) for f in self.__dataclass_fields__))


def _squares(a: Array, y: Array, per_sample: bool) -> Array | float:
    r""":math:`\sum_j (a_j - y_j)^2` for each row, or summed over the batch (one dot product)."""
    d = a - y
    if per_sample:
        return np.sum(d * d, axis=1)  # ufuncs, not einsum: overflow must raise under errstate
    d = d.reshape(-1)
    return float(d @ d)


def _cross_entropy(z: Array, a: Array, y: Array, per_sample: bool) -> Array | float:
    r""":math:`C_s = -\sum_j y_j \log a_j = r \log s - y \cdot u` from the logits ``z`` and the softmax ``a``.

    With :math:`u = z - \max_j z_j`, :math:`s = \sum_j e^{u_j}` and :math:`r = \sum_j y_j`:
    two sums of non-negative terms, so nothing cancels when the cost is small, and no
    logarithm of an entry of ``a`` that may have underflowed. :math:`\log s` is read off the
    softmax itself: at the largest logit :math:`u = 0` and :math:`a = 1/s \ge 1/n`.
    Per sample, or summed (dot products).
    """
    u = z - np.maximum.reduce(z, axis=1, keepdims=True)
    log_s = np.log(np.maximum.reduce(a, axis=1))
    np.negative(log_s, out=log_s)
    r = np.add.reduce(y, axis=1)
    if per_sample:
        return log_s * r - np.add.reduce(y * u, axis=1)
    return float(log_s @ r - y.reshape(-1) @ u.reshape(-1))


def _binary_cross_entropy(z: Array, a: Array, y: Array) -> Array:
    # -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z, written to never overflow
    softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    return np.sum(softplus - y * z, axis=1)


LOSSES: dict[str, Loss] = {
    "mse": Loss(
        "mse",
        lambda z, a, y: _squares(a, y, True) / a.shape[1],
        lambda a, y: 2.0 * (a - y) / a.shape[1],
        sum_fn=lambda z, a, y: _squares(a, y, False) / a.shape[1],
    ),
    "half_sse": Loss(
        "half_sse",
        lambda z, a, y: 0.5 * _squares(a, y, True),
        lambda a, y: a - y,
        sum_fn=lambda z, a, y: 0.5 * _squares(a, y, False),
    ),
    "cross_entropy": Loss(
        "cross_entropy",
        lambda z, a, y: _cross_entropy(z, a, y, True),
        None,
        output="softmax",
        sum_fn=lambda z, a, y: _cross_entropy(z, a, y, False),
        check_targets=_check_probability_rows,
        from_labels=_labels_one_hot,
        classification=True,
    ),
    "binary_cross_entropy": Loss(
        "binary_cross_entropy",
        _binary_cross_entropy,
        None,
        output="sigmoid",
        check_targets=_check_unit_interval,
        from_labels=_labels_binary,
        classification=True,
    ),
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
