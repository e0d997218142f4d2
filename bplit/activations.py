"""Activation functions, each with its value and its derivative as functions of ``z``.

Every activation maps a batch of weighted inputs ``z`` of shape ``(m, n)`` to
activations ``a`` of the same shape.  Besides ``value`` and ``derivative`` each one
knows how to pull a gradient back through itself (``backward``), which is all the
core needs: for the element-wise functions that is ``grad_a * f'(z)`` (the Hadamard
product of source 003's BP2), for softmax it is the product with its Jacobian.

Derived in the book, chapter "Nielsen's notation (source 003)", and for softmax in
the chapter on source 004.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "relu",
    "sigmoid",
    "softmax",
    "log_softmax",
]

Array = np.ndarray


def _real_float(name: str, z: object, min_ndim: int = 0) -> Array:
    arr = np.asarray(z)
    if arr.dtype.kind != "f":
        raise TypeError(f"{name} must be a real floating-point array, got dtype {arr.dtype}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    return arr


@dataclass(frozen=True)
class Activation:
    r"""A named activation function.

    Attributes
    ----------
    name : str
        The registry name (``"sigmoid"``, ``"tanh"``, ...).
    value : callable
        ``value(z) -> a``, shape preserved.
    derivative : callable
        ``derivative(z)``: for element-wise activations the array ``f'(z)`` of the
        same shape as ``z``; for softmax the Jacobian of shape ``(m, n, n)`` with
        ``J[s, k, j] = da_k / dz_j``.
    elementwise : bool
        ``True`` when ``a_j`` depends on ``z_j`` only.
    hidden_ok : bool
        ``False`` for activations that may only be used in the output layer.
    max_slope, max_abs : float or None
        Known bounds :math:`\sup|f'|` and :math:`\sup|f|` (``None``: unbounded or
        unknown). The training step uses them to prove, without a pass over the arrays,
        that an in-place update cannot overflow.
    value_into : callable or None
        Optional fast path ``value_into(z, out) -> out`` writing :math:`f(z)` into a
        preallocated array (used by the training step).
    mul_derivative : callable or None
        Optional fast path ``mul_derivative(z, a, g, tmp=None)`` that multiplies ``g`` in place
        by :math:`f'(z)`, free to use the activation ``a = f(z)`` instead of ``z``
        (e.g. :math:`\sigma' = a - a^2`).  Must agree with ``derivative``; the tests
        check that it does.
    """

    name: str
    value: Callable[[Array], Array]
    derivative: Callable[[Array], Array]
    elementwise: bool = True
    hidden_ok: bool = True
    mul_derivative: Callable[..., None] | None = field(default=None, repr=False, compare=False)
    value_into: Callable[[Array, Array], Array] | None = field(default=None, repr=False, compare=False)
    max_slope: float | None = field(default=None, repr=False, compare=False)
    max_abs: float | None = field(default=None, repr=False, compare=False)

    def __call__(self, z: Array) -> Array:
        return self.value(z)

    def forward_into(self, z: Array, out: Array) -> Array:
        """:math:`f(z)` written into ``out`` when a fast path exists (else a new array)."""
        return self.value(z) if self.value_into is None else self.value_into(z, out)

    def backward(
        self, z: Array, a: Array, grad_a: Array, overwrite: bool = False, tmp: Array | None = None
    ) -> Array:
        r"""Pull ``grad_a = dC/da`` back to ``dC/dz``.

        .. math::
            \frac{\partial C}{\partial z_j} = \sum_k \frac{\partial C}{\partial a_k}
            \frac{\partial a_k}{\partial z_j}

        which is ``grad_a * f'(z)`` for element-wise activations (the Hadamard
        product of BP1/BP2) and, for softmax, ``a * (grad_a - sum_k grad_a_k a_k)``.
        With ``overwrite=True`` the result is written into ``grad_a`` (no copy); ``tmp``
        is an optional scratch array shaped like ``z``.
        """
        if self.elementwise:
            g = grad_a if overwrite else grad_a.copy()
            if self.mul_derivative is not None:
                self.mul_derivative(z, a, g, tmp)
            else:
                g *= self.derivative(z)
            return g
        # softmax: J = diag(a) - a a^T, so J^T g = a * (g - <g, a>)
        return a * (grad_a - np.sum(grad_a * a, axis=-1, keepdims=True))

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


def sigmoid(z: Array) -> Array:
    r"""Logistic sigmoid :math:`\sigma(z) = 1/(1+e^{-z})`, for any ``z``.

    Computed as ``1 / (1 + exp(-z))`` in place: for very negative ``z`` the
    exponential overflows to ``inf`` and the result is the correct limit 0 (the
    overflow is expected and silenced here); both tails keep full relative accuracy.
    """
    z = _real_float("z", z)
    if z.ndim == 0:  # the in-place steps need an array
        return sigmoid(z.reshape(1))[0]
    with np.errstate(over="ignore"):  # exp(-z) = inf for very negative z gives the right limit 0
        return _sigmoid_into(z, np.empty_like(z))


def _sigmoid_mul(z: Array, a: Array, g: Array, tmp: Array | None = None) -> None:
    t = np.multiply(a, a, out=tmp)
    np.subtract(a, t, out=t)  # sigma' = a - a^2
    g *= t


def _tanh_mul(z: Array, a: Array, g: Array, tmp: Array | None = None) -> None:
    t = np.multiply(a, a, out=tmp)
    np.subtract(1.0, t, out=t)  # tanh' = 1 - a^2
    g *= t


def _relu_mul(z: Array, a: Array, g: Array, tmp: Array | None = None) -> None:
    mask = np.greater(z, 0, out=tmp)  # 1.0 where z > 0 (in the scratch array when given)
    np.multiply(g, mask, out=g)


def _sigmoid_into(z: Array, out: Array) -> Array:
    np.negative(z, out=out)
    try:  # exp(-z) = inf for very negative z gives the right limit 0: an overflow here is expected
        np.exp(out, out=out)
    except FloatingPointError:  # raised under bplit's guard; redone with the overflow silenced
        with np.errstate(over="ignore"):
            np.exp(np.negative(z, out=out), out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _softmax_into(
    z: Array, out: Array, shifted: Array | None = None, sums: Array | None = None, ones: Array | None = None
) -> Array:
    """Softmax of each row of ``z`` into ``out``; optionally keep ``z - max`` and the row sums.

    ``shifted`` (shape of ``z``) and ``sums`` (shape ``(m,)``) let the cross-entropy be
    computed from the same pass (see ``losses.cross_entropy_from``); with ``ones``
    (a vector of ``z.shape[-1]`` ones) the row sums are one BLAS matrix-vector product.
    """
    shifted = out if shifted is None else shifted
    np.subtract(z, np.maximum.reduce(z, axis=-1, keepdims=True), out=shifted)
    np.exp(shifted, out=out)
    if ones is not None and z.ndim == 2:
        sums = np.matmul(out, ones, out=sums)
    else:
        sums = np.add.reduce(out, axis=-1, out=sums)
    out /= sums[..., None]
    return out


def _sigmoid_prime(z: Array) -> Array:
    # sigma(z) (1 - sigma(z)) with 1 - sigma(z) = sigma(-z): no cancellation for large z
    return sigmoid(z) * sigmoid(-z)


def _tanh_prime(z: Array) -> Array:
    t = np.tanh(z)
    return 1.0 - t * t


def relu(derivative_at_zero: float = 0.0) -> Activation:
    r"""ReLU, :math:`\max(z, 0)`, with a chosen value of its derivative at ``z = 0``.

    ReLU has no derivative at 0.  ``bplit``'s registered ``"relu"`` takes 0 there,
    as PyTorch and JAX do; source 002 (eq. 17) takes 1, which is
    ``relu(derivative_at_zero=1.0)``.  Any value in [0, 1] is a valid subgradient.
    """
    if not 0.0 <= derivative_at_zero <= 1.0:
        raise ValueError(
            f"derivative_at_zero must lie in [0, 1] (a subgradient of ReLU), got {derivative_at_zero!r}"
        )

    def value(z: Array) -> Array:
        return np.maximum(z, 0)

    def derivative(z: Array) -> Array:
        z = np.asarray(z)
        return np.where(z > 0, 1.0, np.where(z == 0, derivative_at_zero, 0.0)).astype(z.dtype)

    if derivative_at_zero == 0.0:
        return Activation(
            "relu",
            value,
            derivative,
            mul_derivative=_relu_mul,
            value_into=lambda z, out: np.maximum(z, 0, out=out),
            max_slope=1.0,
        )
    return Activation(f"relu(derivative_at_zero={derivative_at_zero:g})", value, derivative, max_slope=1.0)


def log_softmax(z: Array) -> Array:
    r"""Row-wise :math:`\log \mathrm{softmax}(z) = z - \log\sum_j e^{z_j}`, computed stably."""
    z = _real_float("z", z, min_ndim=1)
    zmax = np.max(z, axis=-1, keepdims=True)
    shifted = z - zmax
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax(z: Array) -> Array:
    r"""Row-wise softmax :math:`a_k = e^{z_k} / \sum_j e^{z_j}`, shifted by the row maximum."""
    z = _real_float("z", z, min_ndim=1)
    shifted = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


def _softmax_jacobian(z: Array) -> Array:
    a = softmax(z)
    return a[..., :, None] * (np.eye(a.shape[-1], dtype=a.dtype) - a[..., None, :])


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(
        "sigmoid",
        sigmoid,
        _sigmoid_prime,
        mul_derivative=_sigmoid_mul,
        value_into=_sigmoid_into,
        max_slope=0.25,
        max_abs=1.0,
    ),
    "tanh": Activation(
        "tanh",
        np.tanh,
        _tanh_prime,
        mul_derivative=_tanh_mul,
        value_into=lambda z, out: np.tanh(z, out=out),
        max_slope=1.0,
        max_abs=1.0,
    ),
    "relu": relu(0.0),
    "identity": Activation(
        "identity",
        lambda z: z,
        np.ones_like,
        mul_derivative=lambda z, a, g, tmp=None: None,
        value_into=lambda z, out: z,
        max_slope=1.0,
    ),
    "softmax": Activation(
        "softmax",
        softmax,
        _softmax_jacobian,
        elementwise=False,
        hidden_ok=False,
        value_into=_softmax_into,
        max_abs=1.0,
    ),
}


def get_activation(name: str | Activation) -> Activation:
    """Look an activation up by name (an :class:`Activation` passes through).

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the valid names.
    """
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)} or an Activation"
        ) from None
