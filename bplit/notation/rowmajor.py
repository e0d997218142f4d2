r"""Source 004's row-per-sample notation (:math:`\Delta`, :math:`\theta`), as a view of :class:`bplit.Network`.

Source 004 (Hikmat Farhat, *Backpropagation*, 18 November 2020) keeps one sample per
row, like bplit, numbers the layers ``0 .. L`` (``L + 1`` layers, ``a^0`` the input) and
writes its weights the other way round:

.. math::
    z^{l+1}_{sj} = \sum_k a^l_{sk} w^l_{kj} + b^l_j,
    \qquad a^l_{sj} = f(z^l_{sj}), \qquad
    \mathcal{L} = -\sum_s \sum_k y_{sk} \log a^L_{sk}.

So :math:`w^l` has shape ``(n_l, n_{l+1})`` and is ``net.weights[l].T``; :math:`b^l` is
``net.biases[l]``; :math:`z^l` is ``trace.z[l-1]`` and :math:`a^l` is ``trace.a[l]``.
:math:`\Delta^l_{sj} = \partial\mathcal{L}/\partial z^l_{sj}` is the error of sample
``s`` alone (no ``1/m``), :math:`\theta^l = f'(z^l)`, and the parameter gradients are
averaged over the ``m`` samples, whatever the network's ``reduction``.  The source's
loss is bplit's ``"cross_entropy"`` with a softmax output (or, for two classes, one
sigmoid unit with ``"binary_cross_entropy"``); the functions below work for any
bplit loss, reading :math:`\mathcal{L}` as the sum of that loss's per-sample costs.

Derived in the book chapter "Source 004: softmax and cross-entropy"
(book/004_softmax_cross_entropy.ipynb).
"""

from __future__ import annotations

import numpy as np

from ..activations import get_activation
from ..losses import get_loss, probability_rows, reduction_factor
from ..network import Network
from . import _args

__all__ = [
    "w",
    "b",
    "z",
    "a",
    "theta",
    "softmax_jacobian",
    "output_Delta",
    "Delta",
    "loss",
    "dL_dw",
    "dL_db",
]

Array = np.ndarray


def _check_layer(net: object, l: object, lowest: int, highest: int) -> int:
    L = _args.network(net).n_layers
    return _args.layer(
        l, lowest, highest, f"in [{lowest}, {highest}] here (this network has layers 0 .. L = {L})"
    )


def w(net: Network, l: int) -> Array:
    r"""The source's weight matrix :math:`w^l`, from layer ``l`` to layer ``l+1``.

    .. math::
        w^l_{kj} = \texttt{net.weights[l][j, k]}

    Parameters
    ----------
    net : Network
    l : int
        ``0 <= l <= L-1``.

    Returns
    -------
    ndarray of shape (n_l, n_{l+1})
        A copy of ``net.weights[l].T``.
    """
    l = _check_layer(net, l, 0, net.n_layers - 1)
    return net.weights[l].T.copy()


def b(net: Network, l: int) -> Array:
    r"""The bias :math:`b^l` added to :math:`z^{l+1}`: a copy of ``net.biases[l]``, shape ``(n_{l+1},)``.

    Parameters
    ----------
    net : Network
    l : int
        ``0 <= l <= L-1``.

    Returns
    -------
    ndarray of shape (n_{l+1},)
    """
    l = _check_layer(net, l, 0, net.n_layers - 1)
    return net.biases[l].copy()


def z(net: Network, X: Array, l: int) -> Array:
    r"""The weighted inputs :math:`z^l = a^{l-1} w^{l-1} + b^{l-1}`, one row per sample.

    Parameters
    ----------
    net : Network
    X : ndarray of shape (m, n_0)
    l : int
        ``1 <= l <= L``.

    Returns
    -------
    ndarray of shape (m, n_l)
        bplit's ``trace.z[l-1]``.
    """
    l = _check_layer(net, l, 1, net.n_layers)
    return net.forward(X).z[l - 1]


def a(net: Network, X: Array, l: int) -> Array:
    r"""The activations :math:`a^l = f(z^l)` (``a^0 = X``), one row per sample.

    Parameters
    ----------
    net : Network
    X : ndarray of shape (m, n_0)
    l : int
        ``0 <= l <= L``.

    Returns
    -------
    ndarray of shape (m, n_l)
        bplit's ``trace.a[l]``.
    """
    l = _check_layer(net, l, 0, net.n_layers)
    return net.forward(X).a[l]


def theta(net: Network, X: Array, l: int) -> Array:
    r"""The derivative of layer ``l``'s activation at its weighted input.

    .. math::
        \theta^l_{sj} \equiv \frac{\partial a^l_{sj}}{\partial z^l_{sj}} = f'(z^l_{sj})

    Parameters
    ----------
    net : Network
    X : ndarray of shape (m, n_0)
    l : int
        ``1 <= l <= L``.

    Returns
    -------
    ndarray of shape (m, n_l)
        The core activation's ``derivative(z[l-1])``.

    Raises
    ------
    ValueError
        For a softmax layer, whose derivative is a Jacobian (see :func:`softmax_jacobian`).
    """
    l = _check_layer(net, l, 1, net.n_layers)
    f = list(net.activations())[l - 1]
    if not f.elementwise:
        raise ValueError(
            f"theta is defined for element-wise activations; layer {l} uses {f.name}, "
            "whose derivative is the Jacobian softmax_jacobian(z)"
        )
    return f.derivative(net.forward(X).z[l - 1])


def softmax_jacobian(z: Array) -> Array:
    r"""The softmax Jacobian, one matrix per sample.

    .. math::
        \frac{\partial a_k}{\partial z_j} = a_k(\delta_{jk} - a_j)

    Parameters
    ----------
    z : ndarray of shape (m, n)

    Returns
    -------
    ndarray of shape (m, n, n)
        ``J[s, k, j]`` is :math:`\partial a_{sk}/\partial z_{sj}` (bplit's softmax ``derivative``).
    """
    z = _args.rows("z", z)
    return get_activation("softmax").derivative(z)


def output_Delta(A: Array, Y: Array) -> Array:
    r"""The output error of softmax with cross-entropy, :math:`\Delta^L = a - y`.

    .. math::
        \Delta^L_{sj} = \frac{\partial \mathcal{L}}{\partial z^L_{sj}} = a_{sj} - y_{sj}
        \qquad \text{if } \textstyle\sum_k y_{sk} = 1

    Parameters
    ----------
    A : ndarray of shape (m, n)
        Softmax outputs.
    Y : ndarray of shape (m, n)
        Target rows; each must be a probability vector (one-hot labels are).

    Returns
    -------
    ndarray of shape (m, n)
        bplit's fused ``cross_entropy`` output error.

    Raises
    ------
    ValueError
        If the shapes differ or a row of ``Y`` is negative or does not sum to 1 (then
        :math:`\partial\mathcal{L}/\partial z_j = a_j\sum_k y_k - y_j \ne a_j - y_j`).
    """
    A = _args.rows("A", A)
    Y = _args.rows("Y", Y, A.shape[1])
    if Y.shape != A.shape:
        raise ValueError(f"A and Y must have the same shape, got {A.shape} and {Y.shape}")
    if not probability_rows(Y):
        raise ValueError(
            "Delta^L = a - y needs every row of Y to be a probability vector (sum_k y_k = 1); "
            "otherwise dL/dz_j = a_j * sum_k y_k - y_j"
        )
    # bplit's fused output error of cross-entropy; z is not used by it, A stands in
    return get_loss("cross_entropy").output_delta(A, A, Y, get_activation("softmax"))


def _per_sample_deltas(net: Network, X: Array, Y: Array) -> list[Array]:
    g = net.gradients(X, Y)
    weight = reduction_factor(net.reduction, len(g.deltas[0]))  # the core's deltas carry it
    return [d / weight for d in g.deltas]


def Delta(net: Network, X: Array, Y: Array, l: int) -> Array:
    r"""The per-sample error :math:`\Delta^l_{sj} = \partial\mathcal{L}/\partial z^l_{sj}`.

    .. math::
        \Delta^L_{sj} = a_{sj} - y_{sj}, \qquad
        \Delta^l_{sj} = \sum_k \Delta^{l+1}_{sk}\, w^l_{jk}\, \theta^l_{sj}

    Parameters
    ----------
    net : Network
    X : ndarray of shape (m, n_0)
    Y : ndarray of shape (m, n_L)
    l : int
        ``1 <= l <= L``.

    Returns
    -------
    ndarray of shape (m, n_l)
        bplit's ``deltas[l-1]`` times ``m`` (the core's deltas carry the ``1/m`` of the
        mean reduction; the source's :math:`\Delta` is per sample).
    """
    l = _check_layer(net, l, 1, net.n_layers)
    return _per_sample_deltas(net, X, Y)[l - 1]


def loss(net: Network, X: Array, Y: Array) -> float:
    r"""The source's loss as written: summed, not averaged, over the samples.

    .. math::
        \mathcal{L} = -\sum_s \sum_k y_{sk} \log a^L_{sk}

    Parameters
    ----------
    net : Network
        With ``loss="cross_entropy"`` this is the formula above; other losses give the
        sum of their per-sample costs.
    X : ndarray of shape (m, n_0)
    Y : ndarray of shape (m, n_L)

    Returns
    -------
    float
        ``net.loss(X, Y)`` times ``m`` for the mean reduction.
    """
    c = _args.network(net).loss(X, Y)
    return c / reduction_factor(net.reduction, np.asarray(X).shape[0])


def dL_dw(net: Network, X: Array, Y: Array, l: int) -> Array:
    r"""The weight gradient averaged over the ``m`` samples, in the source's orientation.

    .. math::
        \frac{\partial \mathcal{L}}{\partial w^l_{ij}} = \frac{1}{m}\sum_s a^l_{si}\, \Delta^{l+1}_{sj}

    Parameters
    ----------
    net : Network
    X : ndarray of shape (m, n_0)
    Y : ndarray of shape (m, n_L)
    l : int
        ``0 <= l <= L-1``.

    Returns
    -------
    ndarray of shape (n_l, n_{l+1})
        bplit's ``gradients.weights[l].T`` for the mean reduction.
    """
    l = _check_layer(net, l, 0, net.n_layers - 1)
    return _args.mean_gradients(net, X, Y).weights[l].T.copy()


def dL_db(net: Network, X: Array, Y: Array, l: int) -> Array:
    r"""The bias gradient averaged over the ``m`` samples.

    .. math::
        \frac{\partial \mathcal{L}}{\partial b^l_j} = \frac{1}{m}\sum_s \Delta^{l+1}_{sj}

    Parameters
    ----------
    net : Network
    X : ndarray of shape (m, n_0)
    Y : ndarray of shape (m, n_L)
    l : int
        ``0 <= l <= L-1``.

    Returns
    -------
    ndarray of shape (n_{l+1},)
        bplit's ``gradients.biases[l]`` for the mean reduction.
    """
    l = _check_layer(net, l, 0, net.n_layers - 1)
    return _args.mean_gradients(net, X, Y).biases[l].copy()
