r""":class:`bplit.GraphNetwork`: the graph core (:mod:`bplit.graph_core`) with ``fit``, ``save`` and conversions.

The graph counterpart of :mod:`bplit.network`: the mathematics of source 002 lives in
:mod:`bplit.graph_core` and the modules it uses; this class adds the training loop
(:mod:`bplit.training`), the file writer and the conversions to and from
:class:`bplit.Network` (:mod:`bplit.graph_convert`). Nothing below imports this module.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

from ._npz_writer import write_graph_network
from .gradcheck import central_differences, relative_error
from .graph_convert import GraphConversions
from .graph_core import GraphCore, GraphGradients, GraphTrace, NotAnEdgeError, ParamMap
from .training import Trainable

__all__ = [
    "GraphNetwork",
    "GraphTrace",
    "GraphGradients",
    "ParamMap",
    "NotAnEdgeError",
    "graph_numerical_gradients",
    "graph_gradcheck",
]

Array = np.ndarray


class GraphNetwork(GraphCore, GraphConversions, Trainable):
    r"""A non-recurrent network of units on a directed acyclic graph (source 002).

    .. math::
        x_i = \sum_{j \in \mathbb{S}_i} w_{ij} y_j + b_i, \qquad y_i = f_i(x_i)
        \quad (i \in \mathbb{U}_2 \cup \dots \cup \mathbb{U}_N); \qquad
        y_i = x_i \quad (i \in \mathbb{U}_1)

    and the mini-batch loss is eq. (8), :math:`E_{\mathbb{L}} = \sum_{l\in\mathbb{L}}
    E(\boldsymbol{x}^{*(l)}, \boldsymbol{y}^{*(l)})` (``reduction="sum"``, the default)
    or its mean over the runs (``reduction="mean"``, bplit's default elsewhere).

    Parameters
    ----------
    layers : sequence of sequences of unit ids
        :math:`\mathbb{U}_1, \dots, \mathbb{U}_N` (``N >= 2``): the input units first,
        the output units last.  Unit ids are any hashable values (ints in the
        source), each in exactly one layer.  The order within a layer fixes the
        column order of ``X``, ``Y`` and every batch array.
    upstream : mapping of unit id to sequence of unit ids
        :math:`\mathbb{S}_i` for every non-input unit ``i``: a non-empty set of units
        of *earlier* layers.  Input units take no entry (or an empty one).
    activation : str, Activation, or mapping of unit id to either
        :math:`f_i`: ``"sigmoid"`` (default), ``"tanh"``, ``"relu"``, ``"identity"`` or
        any element-wise :class:`~bplit.activations.Activation` (e.g.
        ``bplit.relu_activation(derivative_at_zero=1.0)``, eq. 17's convention),
        for all non-input units or, as a mapping, one per non-input unit.
    loss : str or Loss
        :math:`E` per run: ``"half_sse"`` (default, eq. 3) or ``"mse"``; the loss must
        provide :math:`\partial E/\partial y_i` (Algorithm 3, line 4).
    reduction : {"sum", "mean"}
        ``"sum"`` is eq. (8); ``"mean"`` divides it by :math:`|\mathbb{L}|`.
    seed : int or numpy.random.Generator
        Seeds the initial parameters.
    init : {"nielsen", "he"}
        ``"nielsen"``: :math:`w_{ij} \sim N(0, 1/|\mathbb{S}_i|)`, :math:`b_i \sim N(0, 1)`;
        ``"he"``: :math:`w_{ij} \sim N(0, 2/|\mathbb{S}_i|)`, :math:`b_i = 0`.
    weights : mapping of (i, j) to float, optional
        Initial :math:`w_{ij}` that replace the random ones; every key must be an edge.
    biases : mapping of unit id to float, optional
        Initial :math:`b_i` that replace the random ones (non-input units only).

    Raises
    ------
    ValueError
        For a bad graph, naming the unit(s): a cycle, an upstream unit in the same
        or a later layer, an unknown unit id, an input unit with upstream units, a
        non-input unit without any, a weight for a pair that is not an edge.

    Notes
    -----
    A batch has one run per row: ``X`` of shape ``(m, n_in)`` and ``Y`` of shape
    ``(m, n_out)``, with ``n_in`` :math:`= |\mathbb{U}_1|` and ``n_out``
    :math:`= |\mathbb{U}_N|` (attributes of the same names), columns in the order of
    ``layers[0]`` and ``layers[-1]``.  Parameters and all arithmetic are float64.  Derived in the book chapter
    "Source 002: back-propagation on a graph of units" (book/002_graph_network.ipynb).

    Examples
    --------
    A skip connection from input 1 to output 5:

    >>> import numpy as np
    >>> from bplit.graph import GraphNetwork
    >>> g = GraphNetwork([[1, 2], [3, 4], [5]], {3: [1, 2], 4: [2], 5: [3, 4, 1]}, seed=0)
    >>> g.D[1]
    (3, 5)
    >>> X = np.array([[0.5, -1.0]]); Y = np.array([[1.0]])
    >>> sorted(g.gradients(X, Y).dw) == sorted(g.edges)
    True
    """

    def save(self, path: str | os.PathLike) -> None:
        """Write the graph, its parameters and configuration to an ``.npz`` file (no pickle); see :func:`bplit.load`."""
        self.check_params()
        write_graph_network(self, path)


def graph_numerical_gradients(g: GraphNetwork, X: Array, Y: Array, eps: float = 1e-6) -> GraphGradients:
    r"""Gradients of ``g.loss(X, Y)`` by central differences, for checking backpropagation.

    .. math::
        \frac{\partial E_{\mathbb{L}}}{\partial \theta} \approx
        \frac{E_{\mathbb{L}}(\theta + \epsilon) - E_{\mathbb{L}}(\theta - \epsilon)}{2\epsilon}

    The graph counterpart of :func:`bplit.numerical_gradients` (which takes a
    :class:`~bplit.Network`).  Every parameter is restored exactly.

    Parameters
    ----------
    g : GraphNetwork
    X : ndarray of shape (m, n_in)
    Y : ndarray of shape (m, n_out)
    eps : float
        Positive step.

    Returns
    -------
    GraphGradients
        With ``p=None``.
    """
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    X, Y = g.check_xy(X, Y)

    def cost() -> float:
        return g.evaluate(X, Y)[0]

    dw, db = central_differences([g.w.array, g.b.array], cost, eps)
    return g.gradients_from_arrays(dw, db)


def graph_gradcheck(
    g: GraphNetwork, X: Array, Y: Array, eps: float = 1e-6, method: str = "vectorized"
) -> float:
    """Largest relative error (:func:`bplit.relative_error`) between backprop and central differences."""
    return relative_error(g.gradients(X, Y, method=method), graph_numerical_gradients(g, X, Y, eps))
