"""Input checks shared by the public API: clear errors instead of silent broadcasts."""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

Array = np.ndarray
_F = TypeVar("_F", bound=Callable[..., Any])


def guarded(method: _F) -> _F:
    """Run ``method`` with floating-point overflow and invalid operations raising.

    Inputs and parameters are checked to be finite before any arithmetic, so with
    this guard every result a public method returns is finite; a computation that
    would overflow raises a :class:`FloatingPointError` that says so, instead of a
    warning and an ``inf`` or ``nan`` deep inside NumPy.
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
                return method(self, *args, **kwargs)
        except FloatingPointError as err:
            raise FloatingPointError(
                f"{method.__name__}: the computation left the range of {np.dtype(self.dtype)} ({err}); "
                "inputs, targets or parameters are too large: scale the data or lower the learning rate. "
                "The network's parameters were not changed by this call."
            ) from None

    return wrapper  # type: ignore[return-value]


def all_finite(arr: Array) -> bool:
    """True when no entry of ``arr`` is NaN or infinite.

    A finite sum of squares proves every entry finite in one fast BLAS pass (any NaN
    or inf makes the dot product NaN or inf); only when it is not finite (bad values,
    or an overflow of huge finite ones) are the entries checked one by one.
    """
    flat = arr.reshape(-1, order="A")  # a view for C- and Fortran-ordered arrays
    try:
        total = np.dot(flat, flat)
    except (FloatingPointError, RuntimeWarning):  # huge finite entries, under bplit's guard or -W error
        total = math.inf
    return math.isfinite(total) or bool(np.all(np.isfinite(flat)))


def as_batch(name: str, value: object, width: int, dtype: np.dtype) -> Array:
    """Return ``value`` as a C-contiguous ``(m, width)`` array of ``dtype``.

    Accepts real floating-point arrays (float16/32/64, or nested lists of floats);
    they are converted to ``dtype``.  Rejects other dtypes (integer, boolean, complex,
    object, strings: ``TypeError``), other shapes, ragged lists, empty batches and
    non-finite entries (``ValueError``), each with a message naming the expected form.
    """
    if (
        type(value) is np.ndarray
        and value.dtype == dtype
        and value.ndim == 2
        and value.shape[1] == width
        and value.shape[0] > 0
        and value.flags.c_contiguous
    ):  # the common case, checked with few calls
        if not all_finite(value):
            raise ValueError(f"{name} contains NaN or infinite values")
        return value
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
    return out


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
