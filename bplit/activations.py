r"""Activation functions: each one a value :math:`f(z)` and one derivative :math:`f'(z)`.

Every activation maps a batch of weighted inputs ``z`` of shape ``(m, n)`` to
activations ``a`` of the same shape. Each formula is written once: the built-in
functions compute :math:`f(z)` and :math:`f'(z)` into a given array (``value_into``,
``derivative_into``), and the array-returning ``value`` and ``derivative`` call those.
Pulling a gradient back through the activation (``backward``) is, for the element-wise
functions, the Hadamard product :math:`\partial C/\partial a \odot f'(z)` of source
003's BP1/BP2; for softmax, the product with its Jacobian.

Derived in the book, chapter "Nielsen's notation (source 003)", and for softmax in
the chapter on source 004.
"""

from __future__ import annotations

import re
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Activation",
    "activation_from_name",
    "ACTIVATIONS",
    "get_activation",
    "relu",
    "relu_activation",
    "sigmoid",
    "softmax",
    "log_softmax",
]

Array = np.ndarray
# the activations this module makes (pickled by name): the registered ones and ReLU's variants
_BUILT_INS: weakref.WeakSet = weakref.WeakSet()


def _real_float(name: str, z: object, min_ndim: int = 0) -> Array:
    arr = np.asarray(z)
    if arr.dtype.kind != "f":
        raise TypeError(f"{name} must be a real floating-point array, got dtype {arr.dtype}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    return arr


def _array_function(into: Callable[..., Array], with_value: Callable[[Array], Array] | None = None):
    """``fn(z) -> array`` from an in-place form ``into(z, out)`` (or ``into(z, f(z), out)``).

    Accepts any real floating-point ``z``, scalars and 0-d arrays included; an
    overflow of an intermediate (e.g. :math:`e^{-z}` in the sigmoid's tail) is silenced.
    """

    def fn(z: Array) -> Array:
        z = _real_float("z", z)
        flat = z.reshape(1) if z.ndim == 0 else z  # the in-place steps need an array
        out = np.empty_like(flat)
        with np.errstate(over="ignore"):
            if with_value is None:
                into(flat, out)
            else:
                into(flat, with_value(flat), out)
        return out[0] if z.ndim == 0 else out

    return fn


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
    value_into : callable or None
        Optional in-place form ``value_into(z, out) -> out`` of ``value`` (the same
        formula; used by the training step to reuse its arrays).
    derivative_into : callable or None
        Optional in-place form ``derivative_into(z, a, out) -> out`` of ``derivative``
        for element-wise activations, given also ``a = f(z)``. The same formula as
        ``derivative``: the built-ins define ``derivative`` through it.
    keeps : bool
        ``True`` when ``value_into(z, out, keep=keep)`` can also write into ``keep`` what
        ``derivative_into(z, a, out, kept)`` reuses (the sigmoid keeps :math:`e^{-z}`, so
        its derivative needs no second exponential).
    """

    name: str
    value: Callable[[Array], Array]
    derivative: Callable[[Array], Array]
    elementwise: bool = True
    hidden_ok: bool = True
    value_into: Callable[[Array, Array], Array] | None = field(default=None, repr=False, compare=False)
    derivative_into: Callable[..., Array] | None = field(default=None, repr=False, compare=False)
    keeps: bool = field(default=False, repr=False, compare=False)

    def __call__(self, z: Array) -> Array:
        return self.value(z)

    def __reduce__(self) -> tuple:
        """Pickle a built-in activation by its name (its functions are closures).

        A custom activation is pickled field by field, which works when its functions
        are importable (module-level) and raises pickle's error otherwise.
        """
        if any(self is act for act in _BUILT_INS):
            return (activation_from_name, (self.name,))
        return (Activation, tuple(getattr(self, f) for f in self.__dataclass_fields__))

    def apply(self, z: Array, out: Array | None = None, keep: Array | None = None) -> Array:
        """:math:`f(z)` of a float array, for the core's forward pass (no input checks): into
        ``out`` when given and the activation has an in-place form, else a new array. An
        activation that ``keeps`` writes into ``keep`` (when given) what its derivative reuses."""
        if self.value_into is None:
            return self.value(z)
        out = np.empty_like(z) if out is None else out
        return self.value_into(z, out) if keep is None else self.value_into(z, out, keep=keep)

    def forward_into(self, z: Array, out: Array) -> Array:
        """:math:`f(z)` written into ``out`` when an in-place form exists (else a new array)."""
        return self.value(z) if self.value_into is None else self.value_into(z, out)

    def derivative_given(self, z: Array, a: Array, kept: Array | None = None) -> Array:
        """:math:`f'(z)` of an element-wise activation, given also ``a = f(z)`` (a new array).

        The built-ins use ``a`` where it saves work (tanh's :math:`1-a^2`), and ``kept``,
        what :meth:`apply` kept (the sigmoid's :math:`e^{-z}`), when given; otherwise this
        is ``derivative(z)``.
        """
        if not self.elementwise:
            raise ValueError(f"{self.name} is not element-wise: its derivative is a Jacobian, use backward")
        if self.derivative_into is None:
            return self.derivative(z)
        out = np.empty_like(z)
        return self.derivative_into(z, a, out) if kept is None else self.derivative_into(z, a, out, kept)

    def backward(
        self, z: Array, a: Array, grad_a: Array, overwrite: bool = False, tmp: Array | None = None
    ) -> Array:
        r"""Pull ``grad_a = dC/da`` (shape ``(m, n)``) back to ``dC/dz`` (same shape).

        .. math::
            \frac{\partial C}{\partial z_j} = \sum_k \frac{\partial C}{\partial a_k}
            \frac{\partial a_k}{\partial z_j}

        which is ``grad_a * f'(z)`` for element-wise activations (the Hadamard
        product of BP1/BP2) and, for softmax, the row vector ``grad_a`` times the
        Jacobian ``derivative(z)``. With ``overwrite=True`` an element-wise result is
        written into ``grad_a`` (no copy); ``tmp`` is an optional scratch array shaped
        like ``z`` that receives :math:`f'(z)`.
        """
        if not self.elementwise:
            return np.matmul(grad_a[..., None, :], self.derivative(z))[..., 0, :]
        g = grad_a if overwrite else grad_a.copy()
        if self.derivative_into is None:
            g *= self.derivative(z)
        else:
            g *= self.derivative_into(z, a, np.empty_like(z) if tmp is None else tmp)
        return g

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


# ---------------------------------------------------------------------------- sigmoid
def _sigmoid_into(z: Array, out: Array, sign: float = 1.0, keep: Array | None = None) -> Array:
    r""":math:`\sigma(z) = 1/(1+e^{-z})` into ``out``; with ``sign=-1``, :math:`\sigma(-z)`.

    For very negative arguments :math:`e^{-z}` overflows to ``inf`` and the result is the
    correct limit 0: that overflow is expected (silenced by the public functions; under
    bplit's guard, where it raises, the exponential is redone with it silenced). Both
    tails keep full relative accuracy. ``keep`` receives :math:`e^{-z}` for the
    derivative, with ``inf`` lowered to the largest float (there :math:`\sigma = 0`).
    """
    if keep is None:
        _exp_into(z, out, sign)
    else:
        with np.errstate(over="raise"):  # to see an overflow, whatever the caller's setting
            overflow = _exp_into(z, keep, sign)
    np.add(out if keep is None else keep, 1.0, out=out)
    np.reciprocal(out, out=out)
    if keep is not None and overflow:
        np.minimum(keep, np.finfo(keep.dtype).max, out=keep)
    return out


def _exp_into(z: Array, out: Array, sign: float) -> bool:
    """:math:`e^{-z}` (``sign=1``) or :math:`e^{z}` into ``out``; ``True`` when an overflow
    raised (under the caller's error setting) and the exponential was redone with it silenced."""
    try:
        np.exp(np.negative(z, out=out) if sign > 0 else z, out=out)
        return False
    except FloatingPointError:
        with np.errstate(over="ignore"):
            np.exp(np.negative(z, out=out) if sign > 0 else z, out=out)
        return True


def _sigmoid_prime_into(z: Array, a: Array, out: Array, kept: Array | None = None) -> Array:
    r""":math:`\sigma'(z) = \sigma(z)\,\sigma(-z)`: no cancellation in either tail.

    With ``kept`` :math:`= e^{-z}` from the forward pass, :math:`\sigma(-z) = e^{-z}a`, so
    :math:`\sigma'(z) = e^{-z}a^2` with no second exponential (accurate in both tails too:
    no difference is taken; where :math:`e^{-z}` was lowered from ``inf``, ``a`` is 0).
    """
    if kept is None:
        _sigmoid_into(z, out, sign=-1.0)
    else:
        np.multiply(kept, a, out=out)
    out *= a
    return out


_sigmoid_value = _array_function(_sigmoid_into)


def sigmoid(z: Array) -> Array:
    r"""Logistic sigmoid :math:`\sigma(z) = 1/(1+e^{-z})`, for any real ``z`` (arrays or scalars).

    Computed as ``1 / (1 + exp(-z))``: for very negative ``z`` the exponential
    overflows to ``inf`` (silenced) and the result is the correct limit 0.
    """
    return _sigmoid_value(z)


# ---------------------------------------------------------------------------- tanh
def _tanh_prime_into(z: Array, a: Array, out: Array) -> Array:
    r""":math:`\tanh'(z) = 1 - \tanh^2(z) = 1 - a^2`."""
    np.multiply(a, a, out=out)
    return np.subtract(1.0, out, out=out)


# ---------------------------------------------------------------------------- ReLU
def relu_activation(derivative_at_zero: float = 0.0) -> Activation:
    r"""ReLU as an :class:`Activation`, with a chosen value of its derivative at ``z = 0``.

    ReLU has no derivative at 0.  ``bplit``'s registered ``"relu"`` takes 0 there,
    as PyTorch and JAX do; source 002 (eq. 17) takes 1, which is
    ``relu_activation(derivative_at_zero=1.0)``.  Any value in [0, 1] is a valid
    subgradient.
    """
    if not 0.0 <= derivative_at_zero <= 1.0:
        raise ValueError(
            f"derivative_at_zero must lie in [0, 1] (a subgradient of ReLU), got {derivative_at_zero!r}"
        )
    d0 = float(derivative_at_zero)

    def value_into(z: Array, out: Array) -> Array:
        return np.maximum(z, 0, out=out)

    def derivative_into(z: Array, a: Array, out: Array) -> Array:
        np.greater(z, 0, out=out)  # 1 where z > 0, else 0 ...
        if d0 != 0.0:
            out += d0 * (z == 0)  # ... and the chosen subgradient at 0
        return out

    name = "relu" if d0 == 0.0 else f"relu(derivative_at_zero={d0:g})"
    value = _array_function(value_into)
    act = Activation(
        name,
        value,
        _array_function(derivative_into, value),
        value_into=value_into,
        derivative_into=derivative_into,
    )
    _BUILT_INS.add(act)
    return act


_relu_value = _array_function(lambda z, out: np.maximum(z, 0, out=out))
_FACTORY = object()  # "not given", to tell the deprecated factory calls apart


def relu(z: Array = _FACTORY, derivative_at_zero: float = _FACTORY) -> Array:
    r"""ReLU :math:`\max(z, 0)`, element-wise, same shape and dtype (arrays or NumPy scalars).

    The activation, with a chosen derivative at 0, is :func:`relu_activation`. The old
    factory calls ``relu()``, ``relu(derivative_at_zero=d)`` and ``relu(d)`` with a
    Python number still return that :class:`Activation` for one release, with a
    ``DeprecationWarning`` naming ``relu_activation``.
    """
    python_number = isinstance(z, (int, float)) and not isinstance(z, (bool, np.generic))
    if z is _FACTORY or derivative_at_zero is not _FACTORY or python_number:
        if z is not _FACTORY and derivative_at_zero is not _FACTORY:
            raise TypeError("relu() got both z and derivative_at_zero")
        d0 = derivative_at_zero if z is _FACTORY else z
        d0 = 0.0 if d0 is _FACTORY else d0
        warnings.warn(
            "bplit.relu() as an Activation factory is deprecated; use "
            f"bplit.relu_activation(derivative_at_zero={d0!r}) (bplit.relu(z) computes max(z, 0))",
            DeprecationWarning,
            stacklevel=2,
        )
        return relu_activation(d0)
    return _relu_value(z)


# ---------------------------------------------------------------------------- identity
def _identity_into(z: Array, out: Array) -> Array:
    return z


def _one_into(z: Array, a: Array, out: Array) -> Array:
    out.fill(1.0)
    return out


# ---------------------------------------------------------------------------- softmax
def _softmax_parts(z: Array, out: Array, shifted: Array | None = None) -> Array:
    r"""The pieces of the softmax of each row: :math:`u = z - \max_j z_j` and :math:`e^u`.

    Writes :math:`u` into ``shifted`` (when given) and :math:`e^{u}` into ``out``;
    returns the row sums :math:`s = \sum_j e^{u_j}`, shape ``z.shape[:-1]``. Then
    :math:`\mathrm{softmax}(z) = e^u / s` and :math:`\log\mathrm{softmax}(z) = u - \log s`
    (the cross-entropy uses both).
    """
    u = out if shifted is None else shifted
    np.subtract(z, np.maximum.reduce(z, axis=-1, keepdims=True), out=u)
    np.exp(u, out=out)
    return np.add.reduce(out, axis=-1)


def _softmax_into(z: Array, out: Array) -> Array:
    r""":math:`a_k = e^{z_k} / \sum_j e^{z_j}` for each row, shifted by the row maximum."""
    sums = _softmax_parts(z, out)
    out /= sums[..., None]
    return out


def softmax(z: Array) -> Array:
    r"""Row-wise softmax :math:`a_k = e^{z_k} / \sum_j e^{z_j}`, shifted by the row maximum."""
    z = _real_float("z", z, min_ndim=1)
    return _softmax_into(z, np.empty_like(z))


def log_softmax(z: Array) -> Array:
    r"""Row-wise :math:`\log \mathrm{softmax}(z) = u - \log\sum_j e^{u_j}`, :math:`u = z - \max_j z_j`."""
    z = _real_float("z", z, min_ndim=1)
    u = np.empty_like(z)
    sums = _softmax_parts(z, np.empty_like(z), shifted=u)
    u -= np.log(sums)[..., None]
    return u


def _softmax_jacobian(z: Array) -> Array:
    r""":math:`J_{kj} = \partial a_k/\partial z_j = a_k(\delta_{kj} - a_j)`, shape ``(m, n, n)``."""
    a = softmax(z)
    return a[..., :, None] * (np.eye(a.shape[-1], dtype=a.dtype) - a[..., None, :])


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(
        "sigmoid",
        sigmoid,
        _array_function(_sigmoid_prime_into, sigmoid),
        value_into=_sigmoid_into,
        derivative_into=_sigmoid_prime_into,
        keeps=True,
    ),
    "tanh": Activation(
        "tanh",
        np.tanh,
        _array_function(_tanh_prime_into, np.tanh),
        value_into=lambda z, out: np.tanh(z, out=out),
        derivative_into=_tanh_prime_into,
    ),
    "relu": relu_activation(0.0),
    "identity": Activation(
        "identity",
        lambda z: z,
        _array_function(_one_into, lambda z: z),
        value_into=_identity_into,
        derivative_into=_one_into,
    ),
    "softmax": Activation(
        "softmax",
        softmax,
        _softmax_jacobian,
        elementwise=False,
        hidden_ok=False,
        value_into=_softmax_into,
    ),
}


_RELU_NAME = re.compile(r"^relu\(derivative_at_zero=([0-9.eE+-]+)\)$")


def activation_from_name(name: object) -> Activation:
    """The activation a name stands for: a registered name or ``relu(derivative_at_zero=d)``.

    The inverse of ``Activation.name`` for the built-ins (files and pickles store names).

    Raises
    ------
    ValueError
        If the name is neither (unknown, or not a string).
    """
    if not isinstance(name, str):
        raise ValueError(f"an activation must be named by a string, got {name!r}")
    m = _RELU_NAME.match(name)
    if m is None:
        return get_activation(name)
    try:
        d0 = float(m.group(1))
    except ValueError:
        raise ValueError(f"unknown activation {name!r}") from None
    return relu_activation(d0)


_BUILT_INS.update(ACTIVATIONS.values())


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
