r"""The vectorised path of :class:`bplit.graph.GraphNetwork`: one masked matrix per layer.

Number the units layer by layer, so that the units of :math:`\mathbb{U}_1 \cup \dots
\cup \mathbb{U}_{n-1}` are the first :math:`s_n` columns of a batch array.  Layer
:math:`n` then reads all earlier units through a dense matrix :math:`W_n` of shape
:math:`(|\mathbb{U}_n|, s_n)` that holds :math:`w_{ij}` where :math:`j \in \mathbb{S}_i`
and zero elsewhere (its mask :math:`M_n` marks the edges).  For a batch (rows are runs):

.. math::
    X_n = Y_{<n} W_n^{\top} + b_n, \qquad Y_n = f(X_n), \qquad
    P_n = G_n \odot f'(X_n), \qquad G_{<n} \mathrel{+}= P_n W_n, \qquad
    \Delta W_n = M_n \odot (P_n^{\top} Y_{<n}), \qquad \Delta b_n = \textstyle\sum_l P_n

where :math:`G = \partial E_{\mathbb{L}}/\partial y` (initialised with the loss gradient on
the output units).  This is eq. (14) for all runs and all units of a layer at once;
the chapter checks it equal to the per-unit loops of Algorithms 1-5.

Derived in the book chapter "Source 002: back-propagation on a graph of units"
(book/002_graph_network.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import Activation
from .graph_structure import GraphStructure as GraphNetwork  # the graph and its parameters ``w``, ``b``

__all__ = ["LayerBlock", "layer_blocks", "masked_matrices", "forward_arrays", "backward_arrays"]

Array = np.ndarray


@dataclass(frozen=True)
class LayerBlock:
    """Index arrays that place layer ``n``'s weights into its masked matrix.

    Attributes
    ----------
    start, stop : int
        Columns of layer ``n``'s units in a batch array (``units[start:stop]``);
        ``start`` is also the number of columns of :math:`W_n` (all earlier units).
    rows, cols : ndarray of int, shape (n_edges_n,)
        Position of each edge of the layer in :math:`W_n`.
    edges : ndarray of int, shape (n_edges_n,)
        Position of each of those edges in ``g.w.array``.
    groups : tuple of (Activation, ndarray of int)
        The layer's units grouped by activation (local column indices).
    """

    start: int
    stop: int
    rows: Array
    cols: Array
    edges: Array
    groups: tuple[tuple[Activation, Array], ...]


def layer_blocks(g: GraphNetwork) -> tuple[LayerBlock, ...]:
    """The :class:`LayerBlock` of layers :math:`\\mathbb{U}_2, \\dots, \\mathbb{U}_N` (cached on ``g``)."""
    cached = g.__dict__.get("_layer_blocks")
    if cached is not None:
        return cached
    edge_pos = {e: k for k, e in enumerate(g.edges)}
    blocks = []
    start = len(g.layers[0])
    for layer in g.layers[1:]:
        rows, cols, edges = [], [], []
        for r, i in enumerate(layer):
            for j in g.S[i]:
                rows.append(r)
                cols.append(g.index[j])
                edges.append(edge_pos[i, j])
        by_act: dict[int, tuple[Activation, list[int]]] = {}
        for r, i in enumerate(layer):
            by_act.setdefault(id(g.f[i]), (g.f[i], []))[1].append(r)
        groups = tuple((act, np.array(cs)) for act, cs in by_act.values())
        blocks.append(
            LayerBlock(start, start + len(layer), np.array(rows), np.array(cols), np.array(edges), groups)
        )
        start += len(layer)
    out = tuple(blocks)
    g.__dict__["_layer_blocks"] = out
    return out


def masked_matrices(g: GraphNetwork) -> list[tuple[Array, Array]]:
    """``(W_n, M_n)`` for each layer after the first: the dense weights (zero off the edges) and the mask."""
    out = []
    w = g.w.array
    for blk in layer_blocks(g):
        W = np.zeros((blk.stop - blk.start, blk.start))
        M = np.zeros(W.shape, dtype=bool)
        W[blk.rows, blk.cols] = w[blk.edges]
        M[blk.rows, blk.cols] = True
        out.append((W, M))
    return out


def _apply(groups: tuple, fn_name: str, X: Array) -> Array:
    if len(groups) == 1:
        return getattr(groups[0][0], fn_name)(X)
    out = np.empty_like(X)
    for act, cs in groups:
        out[:, cs] = getattr(act, fn_name)(X[:, cs])
    return out


def forward_arrays(g: GraphNetwork, X: Array) -> tuple[Array, Array]:
    """Eqs. (1)-(2) for a checked batch ``X`` of shape ``(m, n_in)``.

    Returns ``(x, y)``, both of shape ``(m, n_units)`` with columns in ``g.units`` order.
    """
    m = X.shape[0]
    n_units = len(g.units)
    x = np.empty((m, n_units))
    y = np.empty((m, n_units))
    k = len(g.layers[0])
    x[:, :k] = X  # eq. (1): given
    y[:, :k] = X  # eq. (2): y_i = x_i
    for blk, (W, _) in zip(layer_blocks(g), masked_matrices(g)):
        xn = y[:, : blk.start] @ W.T  # eq. (1): sum_j w_ij y_j ...
        xn += g.b.array[blk.start - k : blk.stop - k]  # ... + b_i
        x[:, blk.start : blk.stop] = xn
        y[:, blk.start : blk.stop] = _apply(blk.groups, "value", xn)  # eq. (2)
    return x, y


def backward_arrays(g: GraphNetwork, x: Array, y: Array, dE_dy_out: Array) -> tuple[Array, Array, Array]:
    r"""Eq. (14) and eqs. (11)-(12) for a whole batch, layer by layer from :math:`\mathbb{U}_N` down.

    Parameters
    ----------
    g : GraphNetwork
    x, y : ndarray of shape (m, n_units)
        From :func:`forward_arrays`.
    dE_dy_out : ndarray of shape (m, n_out)
        :math:`\partial E_{\mathbb{L}}/\partial y_i` on the output units (already
        carrying the batch reduction).

    Returns
    -------
    P : ndarray of shape (m, n_units)
        :math:`p_i` for every run and unit (on input units, :math:`\partial E_{\mathbb{L}}/\partial x_i`).
    dw : ndarray of shape (n_edges,)
        :math:`\Delta w_{ij}` in ``g.edges`` order.
    db : ndarray of shape (n_biases,)
        :math:`\Delta b_i` in ``g.hidden_and_output`` order.
    """
    m, n_units = x.shape
    k = len(g.layers[0])
    G = np.zeros((m, n_units))  # dE/dy_i, accumulated from downstream units
    G[:, n_units - dE_dy_out.shape[1] :] = dE_dy_out
    P = np.zeros((m, n_units))
    dw = np.zeros(len(g.edges))
    db = np.zeros(len(g.hidden_and_output))
    for blk, (W, _) in zip(reversed(layer_blocks(g)), reversed(masked_matrices(g))):
        s, t = blk.start, blk.stop
        Pn = G[:, s:t] * _apply(blk.groups, "derivative", x[:, s:t])  # eq. (14): p_i = (dE/dy_i) f_i'(x_i)
        P[:, s:t] = Pn
        G[:, :s] += Pn @ W  # dE/dy_j += sum_i p_i w_ij over the layer's units i
        dW = Pn.T @ y[:, :s]  # eq. (11) summed over runs (eq. 9), then masked to the edges
        dw[blk.edges] = dW[blk.rows, blk.cols]
        db[s - k : t - k] = Pn.sum(axis=0)  # eq. (12) summed over runs (eq. 10)
    P[:, :k] = G[:, :k]  # input units: p_i = dE/dx_i = dE/dy_i (y_i = x_i)
    return P, dw, db
