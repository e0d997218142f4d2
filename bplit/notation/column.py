r"""Source 001's column-vector notation, as a thin view of :class:`bplit.Network`.

Source 001 (*Backpropagation in Neural Networks: Backpropagation of Gradients*, author
and date not stated) keeps one sample as a column vector and numbers the input layer 0:

.. math::
    z^l = W^l a^{l-1} + b^l, \qquad a^l = \sigma(z^l), \qquad
    C = \tfrac12 \lVert a^L - t \rVert^2 .

Its :math:`W^l` has shape ``(n_l, n_{l-1})``, exactly bplit's ``net.weights[l-1]``; its
column vectors are the transposes of bplit's one-row batches: :math:`a^l` is
``trace.a[l].T`` and :math:`z^l` is ``trace.z[l-1].T``, each of shape ``(n_l, 1)``.
The source's cost is bplit's ``loss="half_sse"``; with a batch of one sample the
``"mean"`` and ``"sum"`` reductions agree, so the gradients here are the core's
gradients, transposed where a column is needed.

Derived in the book chapter "Source 001: column vectors" (book/001_column_vectors.ipynb).
"""

from __future__ import annotations

import numpy as np

from ..network import Gradients, Network
from . import _args

__all__ = ["W", "b", "z", "a", "sigma_prime", "delta", "dC_dW", "dC_db", "cost", "gradient_step"]

Array = np.ndarray


def _check_layer(net: Network, l: object, lowest: int = 1) -> int:
    L = _args.network(net).n_layers
    return _args.layer(l, lowest, L, f"in [{lowest}, {L}]: this network has layers 0 (input) to {L}")


def _row_batch(net: Network, a0: object, t: object | None = None) -> tuple[Array, Array | None]:
    """The column vectors a^0 (n_0, 1) and t (n_L, 1) as bplit's one-row batches."""
    X = _args.column("a0", a0, _args.network(net).sizes[0]).T
    Y = None if t is None else _args.column("t", t, net.sizes[-1]).T
    return X, Y


def _grads(net: Network, a0: Array, t: Array) -> Gradients:
    X, Y = _row_batch(net, a0, t)
    return net.gradients(X, Y)  # m = 1: mean and sum reductions coincide


def W(net: Network, l: int) -> Array:
    r"""The weight matrix :math:`W^l` of shape ``(n_l, n_{l-1})``: a copy of ``net.weights[l-1]``.

    .. math::
        z^l = W^l a^{l-1} + b^l

    Parameters
    ----------
    net : Network
    l : int
        ``1 <= l <= L``.

    Returns
    -------
    ndarray of shape (n_l, n_{l-1})
    """
    l = _check_layer(net, l)
    return net.weights[l - 1].copy()


def b(net: Network, l: int) -> Array:
    r"""The bias column :math:`b^l` of shape ``(n_l, 1)``: ``net.biases[l-1]`` as a column.

    Parameters
    ----------
    net : Network
    l : int
        ``1 <= l <= L``.

    Returns
    -------
    ndarray of shape (n_l, 1)
    """
    l = _check_layer(net, l)
    return net.biases[l - 1].reshape(-1, 1).copy()


def a(net: Network, a0: Array, l: int) -> Array:
    r"""The activation column :math:`a^l = \sigma(z^l)` (``a^0`` is the input).

    Parameters
    ----------
    net : Network
    a0 : ndarray of shape (n_0, 1)
        One input sample as a column.
    l : int
        ``0 <= l <= L``.

    Returns
    -------
    ndarray of shape (n_l, 1)
        ``net.forward(a0.T).a[l].T``.
    """
    X, _ = _row_batch(net, a0)
    l = _check_layer(net, l, lowest=0)
    return net.forward(X).a[l].T.copy()


def z(net: Network, a0: Array, l: int) -> Array:
    r"""The weighted input column :math:`z^l = W^l a^{l-1} + b^l`.

    Parameters
    ----------
    net : Network
    a0 : ndarray of shape (n_0, 1)
    l : int
        ``1 <= l <= L``.

    Returns
    -------
    ndarray of shape (n_l, 1)
        ``net.forward(a0.T).z[l-1].T``.
    """
    X, _ = _row_batch(net, a0)
    l = _check_layer(net, l)
    return net.forward(X).z[l - 1].T.copy()


def sigma_prime(net: Network, a0: Array, l: int) -> Array:
    r"""The column :math:`\sigma'(z^l)` of the (element-wise) activation of layer ``l``.

    Parameters
    ----------
    net : Network
    a0 : ndarray of shape (n_0, 1)
    l : int
        ``1 <= l <= L``.

    Returns
    -------
    ndarray of shape (n_l, 1)
        The core activation's ``derivative`` at :math:`z^l`.

    Raises
    ------
    ValueError
        If the activation of layer ``l`` is not element-wise (softmax).
    """
    zl = z(net, a0, l)
    f = list(net.activations())[l - 1]
    if not f.elementwise:
        raise ValueError(f"the activation of layer {l} ({f.name}) is not element-wise; sigma' is a Jacobian")
    return f.derivative(zl.T).T


def cost(net: Network, a0: Array, t: Array) -> float:
    r"""The network's cost on one sample; with ``loss="half_sse"`` it is the source's :math:`C`.

    .. math::
        C = \tfrac12 \lVert a^L - t \rVert^2

    Parameters
    ----------
    net : Network
    a0 : ndarray of shape (n_0, 1)
    t : ndarray of shape (n_L, 1)

    Returns
    -------
    float
    """
    X, Y = _row_batch(net, a0, t)
    return net.loss(X, Y)


def delta(net: Network, a0: Array, t: Array, l: int) -> Array:
    r"""The error column :math:`\delta^l = \partial C/\partial z^l` of layer ``l``.

    .. math::
        \delta^L = (a^L - t) \circ \sigma'(z^L), \qquad
        \delta^l = \big([W^{l+1}]^\top \delta^{l+1}\big) \circ \sigma'(z^l)

    Parameters
    ----------
    net : Network
    a0 : ndarray of shape (n_0, 1)
    t : ndarray of shape (n_L, 1)
    l : int
        ``1 <= l <= L`` (the source's network has ``L = 2``: there is no :math:`\delta^3`).

    Returns
    -------
    ndarray of shape (n_l, 1)
        bplit's ``deltas[l-1]`` (one row) transposed.
    """
    l = _check_layer(net, l)
    return _grads(net, a0, t).deltas[l - 1].T.copy()


def dC_dW(net: Network, a0: Array, t: Array, l: int) -> Array:
    r"""The weight gradient :math:`\partial C/\partial W^l = \delta^l [a^{l-1}]^\top`.

    .. math::
        \Big[\frac{\partial C}{\partial W^l}\Big]_{n_l \times n_{l-1}}
        = [\delta^l]_{n_l \times 1}\, [a^{l-1}]^\top_{1 \times n_{l-1}}

    Parameters
    ----------
    net : Network
    a0 : ndarray of shape (n_0, 1)
    t : ndarray of shape (n_L, 1)
    l : int
        ``1 <= l <= L``.

    Returns
    -------
    ndarray of shape (n_l, n_{l-1})
        bplit's ``gradients.weights[l-1]`` (already in this orientation).
    """
    l = _check_layer(net, l)
    return _grads(net, a0, t).weights[l - 1].copy()


def dC_db(net: Network, a0: Array, t: Array, l: int) -> Array:
    r"""The bias gradient :math:`\partial C/\partial b^l = \delta^l`.

    Parameters
    ----------
    net : Network
    a0 : ndarray of shape (n_0, 1)
    t : ndarray of shape (n_L, 1)
    l : int
        ``1 <= l <= L``.

    Returns
    -------
    ndarray of shape (n_l, 1)
        bplit's ``gradients.biases[l-1]`` as a column.
    """
    l = _check_layer(net, l)
    return _grads(net, a0, t).biases[l - 1].reshape(-1, 1).copy()


def gradient_step(net: Network, a0: Array, t: Array, alpha: float) -> Network:
    r"""One gradient-descent step on one sample, returned as a new network.

    .. math::
        W^l \leftarrow W^l - \alpha \frac{\partial C}{\partial W^l}, \qquad
        b^l \leftarrow b^l - \alpha \frac{\partial C}{\partial b^l}, \qquad l = 1, \dots, L

    Parameters
    ----------
    net : Network
        Left unchanged.
    a0 : ndarray of shape (n_0, 1)
    t : ndarray of shape (n_L, 1)
    alpha : float
        Positive learning rate :math:`\alpha`.

    Returns
    -------
    Network
        A copy of ``net`` after ``net.step(a0.T, t.T, alpha)``.
    """
    X, Y = _row_batch(net, a0, t)
    new = net.copy()
    new.step(X, Y, alpha)
    return new
