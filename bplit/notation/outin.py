r"""Source 000's ``out``/``in`` notation, as a thin view of :class:`bplit.Network`.

Source 000 (*Backpropagation: calculating the gradient for weight update*, 15 April
2018, author not stated) writes a fully connected network without biases as

.. math::
    in_k = \sum_{j \in l-1} w_{jk}\, out_j, \qquad out_k = f(in_k),

so its weight :math:`w_{jk}` goes **from** unit ``j`` of layer ``l-1`` **to** unit
``k`` of layer ``l``: the source's weight matrix of layer ``l`` has shape
``(n_{l-1}, n_l)`` and is ``net.weights[l-1].T``.  Layers are numbered from 0 (the
input, :math:`out^0 = x`), the batch has ``b`` rows, and the error is the batch-wise
mean squared error

.. math::
    E = \frac{1}{b\,|out|}\sum_{s=1}^{b}\sum_{k}(y_{sk} - out_{sk})^2,

which is bplit's ``loss="mse"`` with ``reduction="mean"``.  Every function here calls
the core and only converts index order, transposes and the batch scaling; the error
term :math:`\delta_k` is :math:`\partial E/\partial in_k`, which is what the source's
recursion computes (its text says :math:`\partial E/\partial out_k`; see the errata of
the chapter).  The functions that take a network accept any bplit loss (``E`` is
then that loss, averaged over the batch), but they refuse a network with non-zero
biases, because the source's model has none.

Derived in the book chapter "Source 000: out/in notation" (book/000_out_in.ipynb).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..losses import get_loss, reduction_factor
from ..network import Gradients, Network
from . import _args

__all__ = [
    "OutIn",
    "network",
    "w",
    "forward",
    "mse",
    "mse_gradient",
    "dE_dout",
    "delta_out_layer",
    "delta",
    "d_jk",
    "check_no_biases",
]

Array = np.ndarray


class OutIn(NamedTuple):
    """A forward pass in source 000's names.

    ``out[l]`` has shape ``(b, n_l)`` for ``l = 0 .. L`` (``out[0]`` is the input);
    ``in_[l]`` has shape ``(b, n_l)`` for ``l = 1 .. L`` and ``in_[0]`` is ``None``
    (the input layer has no weighted input). ``n_out`` below is the source's ``|out|``,
    the width of the output layer.
    """

    out: list[Array]
    in_: list[Array | None]


def network(
    sizes: list[int], hidden: str = "sigmoid", output: str = "sigmoid", loss: str = "mse", seed: int = 0
) -> Network:
    r"""A :class:`bplit.Network` shaped like source 000's model: no biases, MSE loss.

    The weights are drawn as bplit draws them (``init="nielsen"``) and every bias is
    then set to zero, so that :math:`in_k = \sum_j w_{jk}\,out_j` exactly.

    Parameters
    ----------
    sizes : list of int
        Units per layer, input first.
    hidden, output : str
        Activation names (see :mod:`bplit.activations`).
    loss : str
        ``"mse"`` (the source's :math:`E`) by default.
    seed : int
        Seeds the weights.

    Returns
    -------
    Network
        With ``reduction="mean"`` and all biases zero.
    """
    net = Network(sizes, hidden=hidden, output=output, loss=loss, seed=seed, reduction="mean")
    for b in net.biases:
        b[:] = 0.0
    return net


def check_no_biases(net: Network) -> None:
    """Raise ``ValueError`` unless every bias of ``net`` is zero (source 000 has none)."""
    for l, b in enumerate(_args.network(net).biases):
        if np.any(b != 0):
            raise ValueError(
                f"source 000's network has no biases, but net.biases[{l}] is not zero; "
                "set every net.biases[l][:] = 0 or build the network with outin.network(...)"
            )


def _check_layer(net: Network, l: object, lowest: int = 1) -> int:
    L = _args.network(net).n_layers
    return _args.layer(l, lowest, L, f"in [{lowest}, {L}] for this network")


def w(net: Network, l: int) -> Array:
    r"""The weights into layer ``l`` in the source's order, :math:`w_{jk}` from ``j`` to ``k``.

    .. math::
        w^{(l)}_{jk} = \texttt{net.weights[l-1][k, j]}

    Parameters
    ----------
    net : Network
    l : int
        ``1 <= l <= L`` (layer 0 is the input).

    Returns
    -------
    ndarray of shape (n_{l-1}, n_l)
        A copy of ``net.weights[l-1].T``.
    """
    check_no_biases(net)
    l = _check_layer(net, l)
    return net.weights[l - 1].T.copy()


def forward(net: Network, X: Array) -> OutIn:
    r"""The forward pass :math:`in_k = \sum_j w_{jk}\,out_j`, :math:`out_k = f(in_k)`.

    Parameters
    ----------
    net : Network
        With all biases zero.
    X : ndarray of shape (b, n_0)
        One row per sample of the batch.

    Returns
    -------
    OutIn
        ``out[l] = trace.a[l]`` and ``in_[l] = trace.z[l-1]``, each of shape ``(b, n_l)``.
    """
    check_no_biases(net)
    trace = net.forward(X)
    return OutIn(out=list(trace.a), in_=[None, *trace.z])


def _check_pair(name_a: str, a: object, name_y: str, y: object) -> tuple[Array, Array]:
    a_arr = _args.rows(name_a, a, expected="(b, |out|)")
    y_arr = _args.rows(name_y, y, expected="(b, |out|)")
    if a_arr.shape != y_arr.shape:
        raise ValueError(
            f"{name_a} and {name_y} must have the same shape, got {a_arr.shape} and {y_arr.shape}"
        )
    return a_arr, y_arr


def mse(out: Array, y: Array) -> float:
    r"""The batch-wise mean squared error of the source.

    .. math::
        E = \frac{1}{b\,|out|}\sum_{s=1}^{b}\sum_{k=1}^{|out|}(y_{sk} - out_{sk})^2

    Parameters
    ----------
    out, y : ndarray of shape (b, n_out)
        Network outputs and true labels, one row per sample.

    Returns
    -------
    float
        Computed with bplit's ``"mse"`` loss, averaged over the ``b`` rows.
    """
    out, y = _check_pair("out", out, "y", y)
    return get_loss("mse").total(out, out, y) * reduction_factor("mean", out.shape[0])


def mse_gradient(out: Array, y: Array) -> Array:
    r"""The derivative of :func:`mse` with respect to every output :math:`out_{sj}`.

    .. math::
        \frac{\partial E}{\partial out_{sj}} = \frac{2}{b\,|out|}\,(out_{sj} - y_{sj})

    Parameters
    ----------
    out, y : ndarray of shape (b, n_out)

    Returns
    -------
    ndarray of shape (b, n_out)
        bplit's per-sample ``"mse"`` gradient divided by the batch size ``b``.
    """
    out, y = _check_pair("out", out, "y", y)
    return get_loss("mse").grad_a(out, y) * reduction_factor("mean", out.shape[0])


def _batch_gradients(net: Network, X: Array, Y: Array) -> Gradients:
    """Core gradients of the batch *mean* of the per-sample costs, whatever net.reduction is."""
    check_no_biases(net)
    return _args.mean_gradients(net, X, Y)


def delta(net: Network, X: Array, Y: Array, l: int) -> Array:
    r"""The error term of layer ``l`` as the source's recursion computes it.

    .. math::
        \delta_k = \frac{\partial E}{\partial in_k}
        = \Big(\sum_{i \in l+1} \delta_i\, w_{ki}\Big) f'(in_k)

    (for the output layer :math:`\delta_k = \frac{\partial E}{\partial out_k} f'(in_k)`).

    Parameters
    ----------
    net : Network
        With all biases zero.
    X : ndarray of shape (b, n_0)
    Y : ndarray of shape (b, n_L)
    l : int
        ``1 <= l <= L``.

    Returns
    -------
    ndarray of shape (b, n_l)
        Row ``s`` is :math:`\partial E/\partial in_{sk}` for the batch error ``E``
        (so it carries the ``1/b``): bplit's ``deltas[l-1]``.
    """
    l = _check_layer(net, l)
    return _batch_gradients(net, X, Y).deltas[l - 1]


def delta_out_layer(net: Network, X: Array, Y: Array) -> Array:
    r"""The base case of the recursion, in the output layer ``L``.

    .. math::
        \delta_j = \frac{\partial E}{\partial out_j}\, f'(in_j)

    Parameters
    ----------
    net : Network
        With all biases zero.
    X : ndarray of shape (b, n_0)
    Y : ndarray of shape (b, n_L)

    Returns
    -------
    ndarray of shape (b, n_L)
        ``delta(net, X, Y, L)``.
    """
    check_no_biases(net)
    return delta(net, X, Y, net.n_layers)


def dE_dout(net: Network, X: Array, Y: Array, l: int) -> Array:
    r"""The quantity the source *names* :math:`\delta`: the derivative with respect to ``out``.

    .. math::
        \frac{\partial E}{\partial out_k} = \sum_{j \in l+1} \delta_j\, w_{kj}
        \quad (l < L), \qquad
        \frac{\partial E}{\partial out_k} = \frac{\partial E}{\partial out}\quad (l = L)

    Parameters
    ----------
    net : Network
        With all biases zero.
    X : ndarray of shape (b, n_0)
    Y : ndarray of shape (b, n_L)
    l : int
        ``1 <= l <= L``.

    Returns
    -------
    ndarray of shape (b, n_l)
        For ``l < L``: the next layer's :func:`delta` times ``w(net, l+1).T``
        (bplit: ``deltas[l] @ weights[l]``).  For ``l = L``: bplit's output gradient
        ``loss.grad_a`` divided by ``b`` (only for losses that have one).
    """
    l = _check_layer(net, l)
    if l < net.n_layers:
        return delta(net, X, Y, l + 1) @ net.weights[l]
    if net.loss_fn.grad_a is None:
        raise ValueError(
            f"loss {net.loss_fn.name!r} is fused with its output activation; "
            "it has no separate dE/dout in bplit"
        )
    out = forward(net, X).out[-1]
    Y = np.asarray(Y)
    out, Y = _check_pair("out", out, "Y", Y)
    return net.loss_fn.grad_a(out, Y) * reduction_factor("mean", out.shape[0])


def d_jk(net: Network, X: Array, Y: Array, l: int) -> Array:
    r"""The weight gradient of the source: :math:`d_{jk} = \delta_k\, out_j`, summed over the batch.

    .. math::
        d_{jk} = \frac{\partial E}{\partial w_{jk}} = \sum_{s=1}^{b} \delta_{sk}\, out_{sj}

    Parameters
    ----------
    net : Network
        With all biases zero.
    X : ndarray of shape (b, n_0)
    Y : ndarray of shape (b, n_L)
    l : int
        ``1 <= l <= L``: the weights from layer ``l-1`` into layer ``l``.

    Returns
    -------
    ndarray of shape (n_{l-1}, n_l)
        Shaped like :func:`w`: bplit's ``gradients.weights[l-1].T``.
    """
    l = _check_layer(net, l)
    return _batch_gradients(net, X, Y).weights[l - 1].T.copy()
