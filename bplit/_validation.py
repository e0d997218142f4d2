"""Input checks shared by the public API: clear errors instead of silent broadcasts."""

from __future__ import annotations

import math
import numbers

import numpy as np

Array = np.ndarray


def finite_sq(arr: Array) -> float | None:
    """The sum of squares of the entries, or ``None`` when one is NaN or infinite.

    A finite sum of squares proves every entry finite in one fast BLAS pass (any NaN
    or inf makes the dot product NaN or inf); only when it is not finite (bad values,
    or an overflow of huge finite ones, then reported as ``inf``) are the entries
    checked one by one. For callers inside :func:`bplit.network._guarded`, where an
    overflow raises; the training step uses both the check and the norm.
    """
    flat = arr.reshape(-1, order="A")  # a view for C- and Fortran-ordered arrays
    try:
        total = float(np.dot(flat, flat))
    except FloatingPointError:
        total = math.inf
    if math.isfinite(total):
        return total
    return math.inf if bool(np.all(np.isfinite(flat))) else None


def all_finite(arr: Array) -> bool:
    """True when no entry is NaN or infinite (:func:`finite_sq`, callable anywhere)."""
    with np.errstate(over="raise", invalid="ignore"):
        return finite_sq(arr) is not None


def as_batch(name: str, value: object, width: int, dtype: np.dtype) -> Array:
    """Return ``value`` as a C-contiguous ``(m, width)`` array of ``dtype``.

    Accepts real floating-point arrays (float16/32/64, or nested lists of floats);
    they are converted to ``dtype``.  Rejects other dtypes (integer, boolean, complex,
    object, strings: ``TypeError``), other shapes, ragged lists, empty batches and
    non-finite entries (``ValueError``), each with a message naming the expected form.
    """
    return as_batch_sq(name, value, width, dtype, guarded=False)[0]


def as_batch_sq(
    name: str, value: object, width: int, dtype: np.dtype, guarded: bool = True
) -> tuple[Array, float]:
    """:func:`as_batch`, also returning the sum of squares of the entries (``inf`` on overflow).

    ``guarded=True`` is for callers inside :func:`bplit.network._guarded`; otherwise the
    sum returned is 0.
    """
    if (
        type(value) is np.ndarray
        and value.dtype == dtype
        and value.ndim == 2
        and value.shape[1] == width
        and value.shape[0] > 0
        and value.flags.c_contiguous
    ):  # the common case, checked with few calls
        sq = finite_sq(value) if guarded else (0.0 if all_finite(value) else None)
        if sq is None:
            raise ValueError(f"{name} contains NaN or infinite values")
        return value, sq
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{name} must be a 2-D array of shape (m, {width}); could not read it: {err}"
        ) from None
    if arr.dtype.kind != "f":
        raise TypeError(
            f"{name} must be a real floating-point array of shape (m, {width}), got dtype {arr.dtype}; "
            f"convert it with {name}.astype(float)"
        )
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{name} must have shape (m, {width}), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape (m, {width}) with m >= 1, got an empty batch")
    if not all_finite(arr):
        raise ValueError(f"{name} contains NaN or infinite values")
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=dtype)
    if out.dtype != arr.dtype and not all_finite(out):
        raise ValueError(f"{name} has values too large for the network's dtype {np.dtype(dtype)}")
    return out, ((finite_sq(out) or 0.0) if guarded else 0.0)


def positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def positive_float(name: str, value: object) -> float:
    if type(value) is float and 0.0 < value < math.inf:  # the common case, without the ABC check
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


_ONES: dict[tuple[int, np.dtype], Array] = {}


def _ones(n: int, dtype: np.dtype) -> Array:
    """A read-only vector of ``n`` ones (cached): sums as matrix-vector products."""
    key = (n, dtype)
    v = _ONES.get(key)
    if v is None:
        v = _ONES[key] = np.ones(n, dtype)
        v.flags.writeable = False
    return v


def check_targets(loss_name: str, Y: Array) -> None:
    """Targets that the loss cannot take raise ``ValueError``."""
    if loss_name == "cross_entropy":
        atol = 1e-6 if Y.dtype.itemsize >= 8 else 1e-4
        rows = np.matmul(Y, _ones(Y.shape[1], Y.dtype))  # row sums, one BLAS call
        rows -= 1.0
        # max |row - 1| <= (sum of squares)^(1/2): the cheap test settles the usual case
        rows_ok = float(rows @ rows) <= atol * atol or np.maximum.reduce(np.abs(rows)) <= atol
        if np.minimum.reduce(Y, axis=None) < 0 or not rows_ok:
            raise ValueError(
                "cross_entropy targets must be probability rows: non-negative, each row summing to 1 "
                "(one-hot labels are); the fused output error a - y relies on it"
            )
    elif loss_name == "binary_cross_entropy":
        if Y.min() < 0 or Y.max() > 1:
            raise ValueError("binary_cross_entropy targets must lie in [0, 1]")
