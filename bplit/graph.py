r"""Source 002: a network on any directed acyclic graph of units, trained by Algorithms 1-5.

Sugihara's memo ("Memo: Back-propagation", 27 March 2021) numbers the units of a
non-recurrent network ``i = 1, 2, ...`` and groups them into layers
:math:`\mathbb{U}_1, \dots, \mathbb{U}_N`.  Unit ``i`` reads the outputs of its upstream
set :math:`\mathbb{S}_i` (any units of earlier layers: skip connections, sparse
connections and a unit feeding several later layers are all allowed):

.. math::
    x_i = \sum_{j \in \mathbb{S}_i} w_{ij} y_j + b_i, \qquad y_i = f_i(x_i)
    \qquad (i \notin \mathbb{U}_1), \qquad\qquad y_i = x_i \quad (i \in \mathbb{U}_1).

Backpropagation carries :math:`p_i = \partial E/\partial x_i` from the output layer down:

.. math::
    p_i = \begin{cases} \dfrac{\partial E}{\partial y_i} f_i'(x_i) & i \in \mathbb{U}_N \\
    \Bigl(\sum_{k \in \mathbb{D}_i} p_k w_{ki}\Bigr) f_i'(x_i) & \text{otherwise,}\end{cases}
    \qquad \frac{\partial E}{\partial w_{ij}} = p_i y_j, \qquad \frac{\partial E}{\partial b_i} = p_i .

:class:`GraphNetwork` keeps the source's names: ``S`` and ``D`` (upstream and
downstream sets), ``w[i, j]`` and ``b[i]``, and, as the state of Algorithms 1-5,
``x``, ``y``, ``p``, ``v`` (per unit, one run), ``dw`` and ``db`` (:math:`\Delta w_{ij}`,
:math:`\Delta b_i`).  The methods :meth:`~GraphNetwork.train_nn`,
:meth:`~GraphNetwork.init_grad`, :meth:`~GraphNetwork.back_propagate`,
:meth:`~GraphNetwork.init_param` and :meth:`~GraphNetwork.update_nn` are the
pseudo-code, line for line (the comments give the line numbers).  They loop over
units and runs in Python; :mod:`bplit.graph_vectorized` computes the same numbers
with one masked matrix per layer and is what :meth:`~GraphNetwork.gradients` uses by
default.

Derived in the book chapter "Source 002: back-propagation on a graph of units"
(book/002_graph_network.ipynb).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import _validation as V
from . import graph_vectorized as _vec
from ._npz_writer import write_graph_network
from ._validation import guarded as _guarded
from .activations import Activation
from .gradcheck import central_differences, relative_error
from .graph_algorithms import GraphAlgorithms
from .graph_convert import GraphConversions
from .graph_structure import Edge, GraphGradients, GraphStructure, GraphTrace, NotAnEdgeError, ParamMap, Unit
from .losses import REDUCTIONS, Loss, get_loss, reduction_factor
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
METHODS = ("vectorized", "loops")
GRAPH_INITIALIZERS = ("nielsen", "he")


class GraphNetwork(GraphStructure, GraphAlgorithms, GraphConversions, Trainable):
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

    def __init__(
        self,
        layers: Sequence[Sequence[Unit]],
        upstream: Mapping[Unit, Sequence[Unit]],
        activation: str | Activation | Mapping[Unit, str | Activation] = "sigmoid",
        loss: str | Loss = "half_sse",
        reduction: str = "sum",
        seed: int | np.random.Generator = 0,
        init: str = "nielsen",
        weights: Mapping[Edge, float] | None = None,
        biases: Mapping[Unit, float] | None = None,
    ) -> None:
        self.dtype = np.dtype(np.float64)
        self._set_layers(layers)
        self._set_upstream(upstream)
        self._check_acyclic()
        self._check_layer_order()
        self._set_activations(activation)
        self.loss_fn = get_loss(loss)
        if self.loss_fn.grad_a is None:
            raise ValueError(
                f"loss {self.loss_fn.name!r} is fused with a {self.loss_fn.output} output and has no "
                "dE/dy_i per unit, which Algorithm 3 (line 4) needs; use 'half_sse' (eq. 3) or 'mse'"
            )
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {list(REDUCTIONS)}, got {reduction!r}")
        self.reduction = reduction
        if init not in GRAPH_INITIALIZERS:
            raise ValueError(f"init must be one of {list(GRAPH_INITIALIZERS)}, got {init!r}")
        self.init = init
        self._init_params(np.random.default_rng(seed), weights, biases)
        # State of Algorithms 1-5 (one run at a time): filled by the algorithms.
        self.x: dict[Unit, float] = {}
        self.y: dict[Unit, float] = {}
        self.p: dict[Unit, float] = {}
        self.v: dict[Unit, float] = {}
        self.dw: dict[Edge, float] = {}
        self.db: dict[Unit, float] = {}
        self.network_config: dict[str, Any] | None = None

    def _init_params(
        self,
        rng: np.random.Generator,
        weights: Mapping[Edge, float] | None,
        biases: Mapping[Unit, float] | None,
    ) -> None:
        w = np.empty(len(self.edges))
        b = np.empty(len(self.hidden_and_output))
        k = 0
        for n, i in enumerate(self.hidden_and_output):
            fan_in = len(self.S[i])
            scale = np.sqrt((1.0 if self.init == "nielsen" else 2.0) / fan_in)
            w[k : k + fan_in] = rng.standard_normal(fan_in) * scale
            b[n] = rng.standard_normal() if self.init == "nielsen" else 0.0
            k += fan_in
        self.w = ParamMap("w", self.edges, w, self._explain_edge)
        self.b = ParamMap("b", self.hidden_and_output, b, self._explain_bias)
        for given, target, name in ((weights, self.w, "weights"), (biases, self.b, "biases")):
            if given is None:
                continue
            if not isinstance(given, Mapping):
                raise ValueError(f"{name} must be a mapping, got {given!r}")
            for key, value in given.items():
                target[key] = value

    def save(self, path: str | os.PathLike) -> None:
        """Write the graph, its parameters and configuration to an ``.npz`` file (no pickle); see :func:`bplit.load`."""
        self.check_params()
        write_graph_network(self, path)

    def copy(self) -> GraphNetwork:
        """A copy with its own parameters (the graph structure is shared: it is read-only)."""
        new = GraphNetwork.__new__(GraphNetwork)
        new.__dict__.update(self.__dict__)
        # the explanations read only the structure, which the copy shares
        new.w = ParamMap("w", self.edges, self.w.array.copy(), self._explain_edge)
        new.b = ParamMap("b", self.hidden_and_output, self.b.array.copy(), self._explain_bias)
        new.x, new.y, new.p, new.v, new.dw, new.db = {}, {}, {}, {}, {}, {}
        return new

    def __repr__(self) -> str:
        sizes = [len(u) for u in self.layers]
        return (
            f"GraphNetwork(layer sizes {sizes}, {len(self.edges)} edges, loss={self.loss_fn.name!r}, "
            f"reduction={self.reduction!r})"
        )

    # ------------------------------------------------------------------ data checks
    def check_params(self) -> None:
        for name, arr in (("w", self.w.array), ("b", self.b.array)):
            if not V.all_finite(arr):
                raise ValueError(f"the parameters {name} contain NaN or infinite values")

    def _check_x(self, X: object, name: str = "X") -> Array:
        self.check_params()
        return V.as_batch(name, X, len(self.inputs), self.dtype)

    def check_xy(self, X: object, Y: object, names: tuple[str, str] = ("X", "Y")) -> tuple[Array, Array]:
        X = self._check_x(X, names[0])
        Y = V.as_targets(names[1], Y, len(self.outputs), self.dtype, self.loss_fn)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(
                f"{names[0]} and {names[1]} must have the same number of rows, got {X.shape[0]} and {Y.shape[0]}"
            )
        return X, Y

    @staticmethod
    def _check_method(method: str) -> str:
        if method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
        return method

    # ------------------------------------------------------------------ public batch API
    @_guarded
    def forward(self, X: Array, method: str = "vectorized") -> GraphTrace:
        """Propagate a batch (eqs. 1-2).

        Parameters
        ----------
        X : ndarray of shape (m, n_in)
            Inputs :math:`x_i` of the input units, one row per run, columns in the
            order of ``layers[0]``.
        method : {"vectorized", "loops"}
            Masked matrices per layer, or Propagate unit by unit and run by run.

        Returns
        -------
        GraphTrace
            ``.x`` and ``.y`` of shape ``(m, n_units)``; ``.output`` of shape ``(m, n_out)``.
        """
        X = self._check_x(X)
        if self._check_method(method) == "vectorized":
            x, y = _vec.forward_arrays(self, X)
        else:
            x = np.empty((X.shape[0], len(self.units)))
            y = np.empty_like(x)
            for l in range(X.shape[0]):
                self.propagate(X[l])
                x[l] = [self.x[i] for i in self.units]
                y[l] = [self.y[i] for i in self.units]
        return GraphTrace(self.units, x, y, len(self.outputs))

    @_guarded
    def predict(self, X: Array) -> Array:
        """The outputs :math:`y_i, i \\in \\mathbb{U}_N`: ndarray of shape ``(m, n_out)``."""
        return self.forward(X).output

    def _batch_loss(self, trace: GraphTrace, Y: Array) -> float:
        k = len(self.outputs)
        e = self.loss_fn.per_sample(trace.x[:, -k:], trace.output, Y)
        return float(e.sum()) * reduction_factor(self.reduction, Y.shape[0])  # eq. (8), or its mean

    @_guarded
    def loss(self, X: Array, Y: Array) -> float:
        r"""The mini-batch loss: :math:`E_{\mathbb{L}} = \sum_l E^{(l)}` (eq. 8) or its mean.

        ``X`` of shape ``(m, n_in)``, ``Y`` of shape ``(m, n_out)``.
        """
        X, Y = self.check_xy(X, Y)
        return self._batch_loss(self.forward(X), Y)

    @_guarded
    def gradients(self, X: Array, Y: Array, method: str = "vectorized") -> GraphGradients:
        r"""Backpropagation: :math:`\Delta w_{ij}`, :math:`\Delta b_i` and :math:`p_i` for the batch loss.

        .. math::
            \Delta w_{ij} = \sum_{l \in \mathbb{L}} p_i^{(l)} y_j^{(l)}, \qquad
            \Delta b_i = \sum_{l \in \mathbb{L}} p_i^{(l)}  \qquad \text{(eqs. 9-12)}

        Parameters
        ----------
        X : ndarray of shape (m, n_in)
        Y : ndarray of shape (m, n_out)
            Desired outputs :math:`y_i^*`, columns in the order of ``layers[-1]``.
        method : {"vectorized", "loops"}
            ``"loops"`` runs Algorithms 2 and 3 (InitGrad, then BackPropagate per
            run), leaving the parameters unchanged.

        Returns
        -------
        GraphGradients
        """
        X, Y = self.check_xy(X, Y)
        if self._check_method(method) == "vectorized":
            _, P, dw, db = self._vectorized(X, Y)
        else:
            P = self._loops_gradients(X, Y)
            dw = np.array([self.dw[e] for e in self.edges])
            db = np.array([self.db[i] for i in self.hidden_and_output])
        return self._gradients_from_arrays(dw, db, P)

    def parameters(self) -> tuple[list[Array], list[Array]]:
        """The parameter arrays themselves (updated in place): ``([w.array], [b.array])``."""
        return [self.w.array], [self.b.array]

    def _vectorized(self, X: Array, Y: Array) -> tuple[float, Array, Array, Array]:
        r"""Loss, :math:`p_i` per run, :math:`\Delta w` and :math:`\Delta b` by the masked-matrix path."""
        x, y = _vec.forward_arrays(self, X)
        trace = GraphTrace(self.units, x, y, len(self.outputs))
        dE_dy = self.loss_fn.grad_a(trace.output, Y) * reduction_factor(self.reduction, X.shape[0])
        P, dw, db = _vec.backward_arrays(self, x, y, dE_dy)
        return self._batch_loss(trace, Y), P, dw, db

    def evaluate(self, X: Array, Y: Array) -> tuple[float, Array]:
        """The batch loss and the outputs on checked arrays."""
        trace = GraphTrace(self.units, *_vec.forward_arrays(self, X), len(self.outputs))
        return self._batch_loss(trace, Y), trace.output

    def _sgd_update(self, X: Array, Y: Array, eta: float) -> float:
        """Eqs. (4)-(5) on checked arrays (:meth:`step` without its checks), atomic; returns the loss before."""
        before, _, dw, db = self._vectorized(X, Y)
        new_w = self.w.array - eta * dw  # both built before either is stored
        new_b = self.b.array - eta * db
        np.copyto(self.w.array, new_w)
        np.copyto(self.b.array, new_b)
        return before

    def cost_and_gradients(self, X: Array, Y: Array) -> tuple[float, list[Array], list[Array]]:
        """The batch loss and its gradients on checked arrays, in the order of :meth:`parameters`."""
        cost, _, dw, db = self._vectorized(X, Y)
        return cost, [dw], [db]

    def _gradients_from_arrays(self, dw: Array, db: Array, P: Array | None) -> GraphGradients:
        return GraphGradients(
            ParamMap("dw", self.edges, dw, self._explain_edge),
            ParamMap("db", self.hidden_and_output, db, self._explain_bias),
            P,
        )

    @_guarded
    def step(self, X: Array, Y: Array, learning_rate: float, method: str = "vectorized") -> float:
        r"""One update :math:`w_{ij} \leftarrow w_{ij} - \eta\,\Delta w_{ij}`, :math:`b_i \leftarrow b_i - \eta\,\Delta b_i` (eqs. 4-5).

        With ``method="loops"`` this is :meth:`train_nn` (Algorithm 1).  Returns the
        batch loss *before* the update; the parameters change only after every input
        has been checked.
        """
        eta = V.positive_float("learning_rate", learning_rate)
        if self._check_method(method) == "loops":
            return self.train_nn(X, Y, eta)
        X, Y = self.check_xy(X, Y)
        return self._sgd_update(X, Y, eta)


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
    return GraphNetwork._gradients_from_arrays(g, dw, db, None)


def graph_gradcheck(
    g: GraphNetwork, X: Array, Y: Array, eps: float = 1e-6, method: str = "vectorized"
) -> float:
    """Largest relative error (:func:`bplit.relative_error`) between backprop and central differences."""
    return relative_error(g.gradients(X, Y, method=method), graph_numerical_gradients(g, X, Y, eps))
