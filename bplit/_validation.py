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


class DtypeError(TypeError, ValueError):
    """An array whose dtype bplit cannot take (e.g. integers where real floats are needed).

    One error type for this one mistake, everywhere (the core and the notation views);
    it is both a ``TypeError`` and a ``ValueError``, so code catching either keeps working.
    """


def fp_guard() -> np.errstate:
    """The floating-point guard: overflow, invalid operations and division by zero raise."""
    return np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")


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
            with fp_guard():
                return method(self, *args, **kwargs)
        except FloatingPointError as err:
            history = getattr(err, "history", None)  # set by fit: the epochs that completed
            if history:
                kept = f"The parameters are those of epoch {len(history)}, the last that completed (see .history)."
            else:
                kept = "The network's parameters were not changed by this call."
            new = FloatingPointError(
                f"{method.__name__}: the computation left the range of {np.dtype(self.dtype)} ({err}); "
                f"inputs, targets or parameters are too large: scale the data or lower the learning rate. {kept}"
            )
            if history is not None:
                new.history = history  # type: ignore[attr-defined]
            raise new from None

    return wrapper  # type: ignore[return-value]


def all_finite(arr: Array) -> bool:
    """True when no entry of ``arr`` is NaN or infinite.

    A finite sum of squares proves every entry finite in one fast BLAS pass (any NaN
    or inf makes the dot product NaN or inf); only when it is not finite (bad values,
    or an overflow of huge finite ones) are the entries checked one by one.
    """
    return math.isfinite(norm(arr)) or bool(np.all(np.isfinite(arr.reshape(-1, order="A"))))


def norm(arr: Array) -> float:
    """The Frobenius norm :math:`\\sqrt{\\sum x^2}` of ``arr`` in one BLAS pass; ``inf`` or ``nan``
    when an entry is not finite or the sum of squares overflows."""
    flat = arr.reshape(-1, order="A")  # a view for C- and Fortran-ordered arrays
    return math.sqrt(np.vdot(flat, flat))  # vdot, unlike dot, never raises on overflow


def change_bounds(deltas: list[Array], a_norms: list[float]) -> list[float]:
    r"""Bounds of every entry of each layer's weight changes :math:`\delta_l^{\top}a_l`, then of
    its bias changes :math:`\sum_s \delta_{l,s}` (the order of ``weights + biases``).

    By Cauchy-Schwarz, :math:`|(\delta^{\top}a)_{jk}| \le \lVert\delta\rVert\,\lVert a\rVert` and
    :math:`|\sum_s \delta_{sj}| \le \sqrt{m}\,\lVert\delta\rVert` (Frobenius norms, ``m`` rows):
    norms of the small factors instead of a pass over each change. ``a_norms[l]`` is
    :math:`\lVert a_l\rVert`; a non-finite norm gives a non-finite bound.
    """
    sizes = [norm(delta) for delta in deltas]
    m = deltas[0].shape[0]
    return [s * n for s, n in zip(sizes, a_norms)] + [s * math.sqrt(m) for s in sizes]


@functools.cache
def _root_max(dtype: np.dtype) -> float:
    return math.sqrt(float(np.finfo(dtype).max))


def safe_to_add(params: list[Array], changes: list[Array], bounds: list[float] | None = None) -> bool:
    """True when ``p += dp`` cannot overflow for every pair: each entry of both finite and
    below half the dtype's largest value.

    One BLAS pass per array: a finite sum of squares bounds every entry by the square root
    of the largest float, far below half of it. Only when a sum is not finite are the
    entries compared one by one (which tells huge-but-safe values from overflowing ones).
    ``bounds[i]``, when given, bounds every entry of ``changes[i]`` from its factors (e.g.
    :math:`|(\\delta^{\\top}a)_{jk}| \\le \\lVert\\delta\\rVert\\,\\lVert a\\rVert`, finite
    factors make a finite product): a change whose bound is at most the square root of the
    largest float needs no pass of its own (rounding can at most double such a bound).
    """
    arrays = list(params)
    for dp, bound in zip(changes, bounds if bounds is not None else [math.inf] * len(changes)):
        if not bound <= _root_max(dp.dtype):  # also when the bound is nan
            arrays.append(dp)
    for arr in arrays:
        if not math.isfinite(norm(arr)):
            flat = arr.reshape(-1, order="A")
            half = np.finfo(arr.dtype).max / 2
            if not (np.all(np.isfinite(flat)) and np.max(np.abs(flat), initial=0) < half):
                return False
    return True


def _as_array(name: str, value: object, what: str) -> Array:
    """``value`` (an array, a list, a pandas Series or DataFrame, ...) as a NumPy array."""
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{name} must be {what}; could not read it as an array: {err}") from None


def _holds_text(arr: Array) -> bool:
    """Whether ``arr`` holds strings (a str/bytes array, or objects some of which are strings)."""
    if arr.dtype.kind in "US":
        return True
    return arr.dtype.kind == "O" and any(isinstance(v, (str, bytes)) for v in arr.ravel())


def _dtype_advice(name: str, arr: Array) -> str:
    """What to do with an array whose dtype is not a real floating-point one (advice that works)."""
    kind = arr.dtype.kind
    if kind in "biuO" and not _holds_text(arr):
        return f"convert it with np.asarray({name}, dtype=float)"
    if kind == "c":
        return (
            f"bplit computes with real numbers: pass np.real({name}), or real and imaginary parts as columns"
        )
    return "it holds text: encode it as numbers first (e.g. one column per category, 0/1)"


def as_batch(name: str, value: object, width: int, dtype: np.dtype, finite: bool = True) -> Array:
    """Return ``value`` as a C-contiguous ``(m, width)`` array of ``dtype``.

    Accepts real floating-point array-likes (NumPy arrays of float16/32/64, nested
    lists of floats, pandas DataFrames of floats); they are converted to ``dtype``.
    Rejects other dtypes (integer, boolean, complex, object, strings: :class:`DtypeError`, a ``TypeError``),
    other shapes, ragged lists, empty batches and non-finite entries (``ValueError``),
    each with a message naming the expected form and, for a dtype, how to convert it.
    With ``finite=False`` a NumPy array of the right dtype and shape is returned without
    the pass over its entries (for a caller that checks them with its own pass).
    """
    if (
        type(value) is np.ndarray
        and value.dtype == dtype
        and value.ndim == 2
        and value.shape[1] == width
        and value.shape[0] > 0
        and value.flags.c_contiguous
    ):  # the common case, checked with few calls
        if finite and not all_finite(value):
            raise ValueError(f"{name} contains NaN or infinite values")
        return value
    arr = _as_array(name, value, f"a 2-D array of shape (m, {width})")
    if arr.dtype.kind != "f":
        raise DtypeError(
            f"{name} must be a real floating-point array of shape (m, {width}), got dtype {arr.dtype}; "
            + _dtype_advice(name, arr)
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


def _text_targets_advice(name: str, arr: Array, width: int, loss: Any) -> str:
    """What to do with targets that are strings (class names): advice that works when followed."""
    flat = name if arr.ndim == 1 else f"np.ravel({name})"
    relabel = f"labels = np.unique({flat}, return_inverse=True)[1] gives integer labels (0, 1, ...)"
    if loss.from_labels is not None:
        return (
            f"{name} holds strings (class names); the network takes integer class labels: {relabel}, "
            "in the order of np.unique's first result; or use bplit.sklearn.NetworkClassifier, which "
            "takes any labels and gives them back"
        )
    return (
        f"{name} holds strings (class names), which loss {loss.name!r} cannot take: a classifier has one "
        f"output per class, output='softmax', loss='cross_entropy', and takes integer labels ({relabel}); "
        "or use bplit.sklearn.NetworkClassifier, which takes any labels and gives them back"
    )


def as_targets(name: str, value: object, width: int, dtype: np.dtype, loss: Any) -> Array:
    """Targets ``Y`` for ``loss`` as a C-contiguous ``(m, width)`` array of ``dtype``.

    Any array-like (NumPy arrays, lists, pandas Series and DataFrames) is read as a NumPy
    array and follows the same rules. Real floating-point rows as :func:`as_batch`. A
    1-D array is taken as class labels when the loss can take them (``loss.from_labels``:
    integer labels for ``cross_entropy``, 0/1 for ``binary_cross_entropy`` with one
    output); a 2-D integer or boolean array as exact one-hot rows for such a loss.
    Otherwise integers, and strings (class names), get a :class:`DtypeError` (a
    ``TypeError``) that says what to pass instead.
    """
    if type(value) is np.ndarray and value.dtype == dtype and value.ndim == 2:
        return as_batch(name, value, width, dtype)  # the common case first
    arr = _as_array(name, value, f"an array of shape (m, {width}) or (m,)")
    if _holds_text(arr):
        raise DtypeError(_text_targets_advice(name, arr, width, loss))
    if arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.dtype.kind == "f"):
        return as_batch(name, arr, width, dtype)
    if loss.from_labels is not None:
        if arr.ndim == 1:
            if arr.shape[0] == 0:
                raise ValueError(f"{name} must hold at least one label, got an empty array")
            return loss.from_labels(name, arr, width, dtype)
        if arr.ndim == 2 and arr.dtype.kind in "biu":
            return as_batch(name, arr.astype(dtype), width, dtype)
    if arr.ndim == 1 and width == 1:
        advice = f"for regression pass np.asarray({name}, dtype=float).reshape(-1, 1)"
    elif arr.ndim == 1 and arr.dtype.kind in "biu":
        advice = (
            f"integer class labels as one-hot rows are np.eye({width})[{name}]; or build the network with "
            "output='softmax', loss='cross_entropy', which takes the labels as they are"
        )
    elif arr.ndim == 1:
        advice = f"one row of {width} values per sample"
    else:
        advice = f"for regression pass np.asarray({name}, dtype=float)"
    raise DtypeError(
        f"{name} must be a real floating-point array of shape (m, {width}) for loss {loss.name!r}, got a "
        f"{arr.ndim}-D {arr.dtype} array of shape {arr.shape}: {advice}. Class labels go with "
        "loss='cross_entropy' (softmax output; integer labels or one-hot rows) or 'binary_cross_entropy' "
        "(one sigmoid output; 0/1)"
    )


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


def learning_rate_at(learning_rate: object, epoch: int) -> float:
    """The learning rate of ``epoch``: ``learning_rate`` itself, or ``learning_rate(epoch)``
    for a schedule, checked to be a positive finite number (the error names the epoch)."""
    if not callable(learning_rate):
        return positive_float("learning_rate", learning_rate)
    value = learning_rate(epoch)
    try:
        return positive_float("learning_rate", value)
    except ValueError:
        raise ValueError(
            f"the learning-rate schedule returned {value!r} at epoch {epoch}: learning_rate({epoch}) must be "
            "a positive finite number for every epoch (from 1)"
        ) from None


def in_range(name: str, value: object, low: float, high: float, high_ok: bool) -> float:
    """``value`` as a float in ``[low, high)`` (``[low, high]`` when ``high_ok``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (low <= value and (value <= high if high_ok else value < high)):
        interval = f"[{low}, {high}{']' if high_ok else ')'}"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return float(value)


NETWORK_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.longdouble))


def network_dtype(dtype: object) -> np.dtype:
    """``dtype`` as a numpy dtype, one of :data:`NETWORK_DTYPES`."""
    dt = np.dtype(dtype)
    if dt not in NETWORK_DTYPES:
        raise ValueError(f"dtype must be one of float32, float64, longdouble, got {dt}")
    return dt
