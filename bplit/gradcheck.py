r"""Central differences: the slow, obviously-correct gradient that backprop is tested against.

.. math::
    \frac{\partial C}{\partial \theta_i} \approx
    \frac{C(\theta + \epsilon e_i) - C(\theta - \epsilon e_i)}{2\epsilon}

Two forward passes per parameter; the chapter "Nielsen's notation (source 003)"
counts them against backprop's one forward and one backward pass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .network_core import NetworkCore as Network
from .results import Gradients

__all__ = ["numerical_gradients", "gradcheck", "relative_error", "central_differences"]


def numerical_gradients(
    net: Network, X: np.ndarray, Y: np.ndarray, eps: float = 1e-6, dtype: type | None = None
) -> Gradients:
    """Gradients of ``net.loss(X, Y)`` by central differences.

    The costs are evaluated with the parameters nudged by ``±eps`` in place and
    restored exactly (on a copy, ``net.astype(dtype)``, when ``dtype`` differs from the
    network's), so ``net`` ends as it was.  The round-off of each difference quotient is about
    ``machine_eps * abs(C) / eps``: in float64 that is ``2e-10 * abs(C)``, fine unless
    the gradient is tiny next to the cost (a saturated output, say).

    **A float32 network is differenced in float64 by default.**  In float32 the
    round-off would be ``6e-8 * abs(C) / 1e-6``, about ``0.06 * abs(C)``: a step of
    ``1e-6`` lies below the cost's resolution (most nudges round away, the difference
    of two nearly equal costs cancels), and the "error" would measure float32, not
    backprop.  So the default copy is float64, holding the float32 parameters and the
    float32-rounded ``X`` and ``Y`` exactly: it is the same function, differenced
    accurately, and :func:`gradcheck` then compares it with the float32 backprop
    gradients (relative error ~1e-7, float32's own rounding).  ``dtype=np.float32``
    gives the float32 differences all the same; ``numpy.longdouble`` (64-bit mantissa
    on x86-64) cuts the round-off of a float64 network ~2000x.

    Parameters
    ----------
    net : Network
    X : ndarray of shape (m, sizes[0])
    Y : ndarray of shape (m, sizes[-1])
    eps : float
        Positive step.
    dtype : numpy dtype, optional
        Precision of the cost evaluations.  Default: float64 for a float32 network,
        otherwise the network's own dtype.

    Returns
    -------
    Gradients
        Same structure as :meth:`Network.gradients` (in the network's dtype), with
        ``deltas=None``.
    """
    if isinstance(eps, bool) or not (isinstance(eps, (int, float)) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    out_dtype = net.dtype
    X, Y = net.check_xy(X, Y)  # rounded to the network's dtype, as its own gradients see them
    if dtype is None:
        dtype = np.float64 if out_dtype == np.float32 else out_dtype
    if np.dtype(dtype) == out_dtype:  # nudged in place and restored exactly
        work = net
    else:  # a copy in the wider (or other) dtype
        work = net.astype(dtype)
        X, Y = work.check_xy(X, Y)  # exact when widening

    def cost() -> float:
        return work.evaluate(X, Y)[0]

    gw = [g.astype(out_dtype) for g in central_differences(work.weights, cost, eps)]
    gb = [g.astype(out_dtype) for g in central_differences(work.biases, cost, eps)]
    return Gradients(gw, gb, None)


def central_differences(params: list[np.ndarray], cost: Callable[[], float], eps: float) -> list[np.ndarray]:
    """Central differences of ``cost()`` with respect to every entry of every array.

    Each entry is set to ``old + eps`` and ``old - eps`` in place and then restored
    exactly; ``cost`` must read the arrays afresh on every call. Shared by
    :func:`numerical_gradients` and the graph network's check.
    """
    grads = []
    for p in params:
        if not (p.flags.c_contiguous or p.flags.f_contiguous):
            raise ValueError(
                "central_differences needs contiguous arrays (it perturbs them through flat views)"
            )
        g = np.zeros_like(p)  # same layout as p, so both flat views list the entries in the same order
        flat, gflat = p.reshape(-1, order="A"), g.reshape(-1, order="A")  # views (C or Fortran order)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            c_plus = cost()
            flat[i] = old - eps
            c_minus = cost()
            flat[i] = old
            gflat[i] = (c_plus - c_minus) / (2 * eps)
        grads.append(g)
    return grads


def relative_error(a: Gradients, b: Gradients) -> float:
    r"""Largest entry-wise difference relative to the largest gradient entry.

    .. math::
        \frac{\max_i |a_i - b_i|}{\max(\max_i |a_i|, \max_i |b_i|, 10^{-300})}

    Scaling by the whole gradient (not entry by entry) keeps entries that are
    exactly zero in one and round-off in the other from dominating.
    """
    fa, fb = a.flat().astype(np.float64), b.flat().astype(np.float64)
    if fa.shape != fb.shape:
        raise ValueError(f"gradients differ in size: {fa.shape} vs {fb.shape}")
    scale = max(np.max(np.abs(fa)), np.max(np.abs(fb)), 1e-300)
    return float(np.max(np.abs(fa - fb)) / scale)


def gradcheck(
    net: Network, X: np.ndarray, Y: np.ndarray, eps: float = 1e-6, dtype: type | None = None
) -> float:
    """Largest relative error between :meth:`Network.gradients` and central differences.

    Returns :func:`relative_error` of the two; below ~1e-7 means agreement, in float64
    and (with the default ``dtype``, see :func:`numerical_gradients`) for a float32
    network as well.  ``eps`` and ``dtype`` are passed to :func:`numerical_gradients`;
    ``dtype=np.float32`` on a float32 network reports errors of 0.03-0.4 that measure
    float32's cancellation, not backprop.
    """
    return relative_error(net.gradients(X, Y), numerical_gradients(net, X, Y, eps, dtype))
