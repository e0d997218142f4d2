r"""Source 003 in its own notation: Nielsen's :math:`w^l_{jk}, b^l_j, z^l, a^l, \delta^l`.

One training example is a **column** vector and the input layer is layer 1, so the
first weight matrix is :math:`w^2`. The core is batch-first and counts from 0:

================================  =============================================
source 003                        bplit core
================================  =============================================
:math:`w^l` (n^l x n^{l-1})       ``net.weights[l - 2]`` (same orientation)
:math:`b^l` (column)              ``net.biases[l - 2][:, None]``
:math:`z^l`, :math:`a^l`          ``trace.z[l - 2].T``, ``trace.a[l - 1].T``
:math:`\delta^l` of :math:`C_x`   row ``x`` of ``M * gradients.deltas[l - 2]``
================================  =============================================

(:math:`C_x` is the cost of example ``x`` of a mini-batch of ``M``; the factor ``M``
undoes the core's mean reduction.)

Every function below calls :class:`bplit.Network`; none re-derives backprop.
Derived in the book chapter "Source 003: Nielsen's notation" (book/003_nielsen.ipynb).
"""

from __future__ import annotations

import numpy as np

from ..network import Network
from . import _args

__all__ = ["w", "b", "feedforward", "backprop", "update_mini_batch"]


def _layer(net: Network, l: int) -> int:
    L = len(_args.network(net).sizes)
    return _args.layer(l, 2, L, f"with 2 <= l <= L = {L} (layer 1 is the input)") - 2


def w(net: Network, l: int) -> np.ndarray:
    r""":math:`w^l`, shape ``(n^l, n^{l-1})``: entry ``[j-1, k-1]`` is :math:`w^l_{jk}` (a view)."""
    return net.weights[_layer(net, l)]


def b(net: Network, l: int) -> np.ndarray:
    r""":math:`b^l` as a column of shape ``(n^l, 1)`` (a view of ``net.biases[l-2]``)."""
    return net.biases[_layer(net, l)][:, None]


def feedforward(net: Network, x: np.ndarray) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    r"""Step 2 of the source's algorithm for one example.

    .. math:: z^l = w^l a^{l-1} + b^l, \qquad a^l = \sigma(z^l), \qquad l = 2, \dots, L

    Parameters
    ----------
    x : ndarray of shape (n^1, 1)

    Returns
    -------
    z, a : dict of int to ndarray of shape (n^l, 1)
        ``z`` for ``l = 2..L``; ``a`` for ``l = 1..L`` with ``a[1] = x``.
    """
    x = _args.column("x", x, _args.network(net).sizes[0])
    tr = net.forward(x.T)  # one example = one row in the core
    z = {l: tr.z[l - 2].T for l in range(2, len(net.sizes) + 1)}
    a = {l: tr.a[l - 1].T for l in range(1, len(net.sizes) + 1)}
    return z, a


def backprop(
    net: Network, x: np.ndarray, y: np.ndarray
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], dict[int, np.ndarray]]:
    r"""BP1-BP4 for one training example: the gradient of :math:`C_m`.

    .. math::
        \delta^L = \nabla_{a^L} C_m \odot \sigma'(z^L), \quad
        \delta^{l} = (w^{l+1})^T \delta^{l+1} \odot \sigma'(z^{l}), \quad
        \nabla_{b^l} C_m = \delta^l, \quad
        \nabla_{w^l} C_m = \delta^l (a^{l-1})^T

    Parameters
    ----------
    x : ndarray of shape (n^1, 1)
    y : ndarray of shape (n^L, 1)

    Returns
    -------
    delta, nabla_b, nabla_w : dict of int to ndarray, keyed by ``l = 2..L``
        ``delta[l]`` and ``nabla_b[l]`` of shape ``(n^l, 1)``, ``nabla_w[l]`` of
        shape ``(n^l, n^{l-1})``.
    """
    x = _args.column("x", x, _args.network(net).sizes[0])
    y = _args.column("y", y, net.sizes[-1])
    g = net.gradients(x.T, y.T)  # a batch of one: mean and sum reductions coincide
    Ls = range(2, len(net.sizes) + 1)
    delta = {l: g.deltas[l - 2].T for l in Ls}
    nabla_b = {l: g.biases[l - 2][:, None] for l in Ls}
    nabla_w = {l: g.weights[l - 2] for l in Ls}
    return delta, nabla_b, nabla_w


def update_mini_batch(net: Network, xs: np.ndarray, ys: np.ndarray, eta: float) -> None:
    r"""The source's gradient-descent step over a mini-batch of :math:`M` examples, corrected.

    .. math::
        w^l \to w^l - \frac{\eta}{M}\sum_{m=1}^{M} \nabla_{w^l} C_m, \qquad
        b^l \to b^l - \frac{\eta}{M}\sum_{m=1}^{M} \nabla_{b^l} C_m

    (the source prints :math:`\nabla_{b^l}` in the weight rule and
    :math:`\nabla_{w^l}` in the bias rule; see the chapter's errata). With the
    core's mean reduction this is exactly ``net.step(X, Y, eta)``.

    Parameters
    ----------
    xs : ndarray of shape (M, n^1)
        The mini-batch, one example per row (the core's layout).
    ys : ndarray of shape (M, n^L)
    eta : float
        Learning rate :math:`\eta > 0`.
    """
    if net.reduction != "mean":
        raise ValueError("update_mini_batch averages over the mini-batch: the network needs reduction='mean'")
    net.step(xs, ys, eta)
