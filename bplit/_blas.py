"""A fused GEMM update, ``C += A^T B``, through the BLAS that NumPy itself uses.

NumPy has no matrix product that accumulates into its output (BLAS ``gemm`` with
``beta = 1``), so ``w += delta.T @ a`` costs a temporary and two extra passes over
``w``. For a layer of 400,000 weights those passes take as long as a good part of
the product itself. This module calls ``cblas_?gemm`` of the OpenBLAS library that
NumPy's wheels bundle, located with :mod:`ctypes`; using NumPy's own copy matters:
a second BLAS (e.g. SciPy's) brings a second thread pool, and two pools that take
turns on the same cores slow every product by orders of magnitude.

When that library cannot be found (NumPy built against another BLAS, an unknown
platform) or fails its self-test, :func:`gemm_acc` is ``None`` and callers use
``np.matmul`` and ``+=`` instead; the results agree to rounding. Set the environment
variable ``BPLIT_FUSED_GEMM=0`` to turn the fused path off.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
from collections.abc import Callable

import numpy as np

__all__ = ["gemm_acc", "describe", "DTYPES"]

DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_SYMBOLS = (  # (suffix of the symbol, integer type): 64-bit-integer builds end in "64_"
    ("64_", ctypes.c_int64),
    ("", ctypes.c_int),
)
_status = "not loaded"


def _candidate_libraries() -> list[str]:
    """OpenBLAS libraries shipped inside the installed NumPy wheel (Linux, macOS, Windows)."""
    root = os.path.dirname(np.__file__)
    patterns = [
        os.path.join(root, os.pardir, "numpy.libs", "*openblas*"),  # Linux (auditwheel), Windows (delvewheel)
        os.path.join(root, ".dylibs", "*openblas*"),  # macOS (delocate)
    ]
    found = sorted({os.path.realpath(p) for pat in patterns for p in glob.glob(pat)})
    if sys.platform.startswith("linux"):  # only a library NumPy has already loaded: never a second copy
        try:
            with open("/proc/self/maps") as maps:
                loaded = {line.split()[-1] for line in maps if "openblas" in line}
        except OSError:
            return []
        found = [p for p in found if p in loaded]
    return found


def _bind(path: str) -> dict[np.dtype, Callable] | None:
    lib = ctypes.CDLL(path)
    for prefix in ("scipy_", ""):
        for suffix, blasint in _SYMBOLS:
            try:
                fns = {
                    np.dtype(np.float64): getattr(lib, f"{prefix}cblas_dgemm{suffix}"),
                    np.dtype(np.float32): getattr(lib, f"{prefix}cblas_sgemm{suffix}"),
                }
            except AttributeError:
                continue
            for dt, fn in fns.items():
                real = ctypes.c_double if dt == np.float64 else ctypes.c_float
                fn.restype = None
                # order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc
                ptr = ctypes.c_void_p
                fn.argtypes = [ctypes.c_int] * 3 + [blasint] * 3 + [real, ptr, blasint, ptr, blasint]
                fn.argtypes += [real, ptr, blasint]
            return fns
    return None


def _make(fns: dict[np.dtype, Callable]) -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    def gemm_acc(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
        """``c += a.T @ b`` in place; ``a`` (k, p), ``b`` (k, q), ``c`` (p, q), all C-contiguous, one dtype.

        The caller checks shapes, dtype and contiguity (a wrong call would read or write
        out of bounds) and that the result cannot overflow.
        """
        k, p = a.shape
        q = b.shape[1]
        fns[c.dtype](
            _ROW_MAJOR, _TRANS, _NO_TRANS, p, q, k,
            1.0, a.ctypes.data, p, b.ctypes.data, q,
            1.0, c.ctypes.data, q,
        )  # fmt: skip

    return gemm_acc


def _self_test(fn: Callable) -> bool:
    rng = np.random.default_rng(0)
    for dt in (np.float64, np.float32):
        a, b, c = (rng.standard_normal(s).astype(dt) for s in ((7, 5), (7, 3), (5, 3)))
        want = c + a.T @ b
        fn(c, a, b)
        if not np.allclose(c, want, rtol=1e-5, atol=1e-5):
            return False
    return True


def _load() -> Callable | None:
    global _status
    if os.environ.get("BPLIT_FUSED_GEMM", "1") == "0":
        _status = "off (BPLIT_FUSED_GEMM=0)"
        return None
    for path in _candidate_libraries():
        try:
            fns = _bind(path)
            if fns is None:
                continue
            fn = _make(fns)
            if _self_test(fn):
                _status = f"on: {os.path.basename(path)}"
                return fn
        except OSError:
            continue
    _status = "off: NumPy's bundled OpenBLAS was not found; np.matmul and += are used"
    return None


gemm_acc = _load()


def describe() -> str:
    """Whether the fused update is in use, and from which library."""
    return _status
