r"""The core of :class:`bplit.GraphNetwork` (source 002): a network on any directed acyclic graph of units, trained by Algorithms 1-5.

This module holds the mathematics; :class:`bplit.GraphNetwork` (:mod:`bplit.graph`) adds
``fit``, ``save`` and the conversions to and from :class:`bplit.Network`.

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

:class:`GraphCore` keeps the source's names: ``S`` and ``D`` (upstream and
downstream sets), ``w[i, j]`` and ``b[i]``, and, as the state of Algorithms 1-5,
``x``, ``y``, ``p``, ``v`` (per unit, one run), ``dw`` and ``db`` (:math:`\Delta w_{ij}`,
:math:`\Delta b_i`).  The methods :meth:`~GraphCore.train_nn`,
:meth:`~GraphCore.init_grad`, :meth:`~GraphCore.back_propagate`,
:meth:`~GraphCore.init_param` and :meth:`~GraphCore.update_nn` are the
pseudo-code, line for line (the comments give the line numbers).  They loop over
units and runs in Python; :mod:`bplit.graph_vectorized` computes the same numbers
with one masked matrix per layer and is what :meth:`~GraphCore.gradients` uses by
default.

Derived in the book chapter "Source 002: back-propagation on a graph of units"
(book/002_graph_network.ipynb).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import _validation as V
from . import graph_vectorized as _vec
from ._validation import guarded as _guarded
from .activations import Activation
from .graph_algorithms import GraphAlgorithms
from .graph_structure import Edge, GraphGradients, GraphStructure, GraphTrace, NotAnEdgeError, ParamMap, Unit
from .losses import REDUCTIONS, Loss, get_loss, reduction_factor

__all__ = ["GraphCore", "GraphTrace", "GraphGradients", "ParamMap", "NotAnEdgeError", "METHODS"]

Array = np.ndarray
METHODS = ("vectorized", "loops")
GRAPH_INITIALIZERS = ("nielsen", "he")


class GraphCore(GraphStructure, GraphAlgorithms):
    """The mathematics of :class:`bplit.GraphNetwork` (see its parameters there).

    :class:`bplit.GraphNetwork` is this class with ``fit`` (:mod:`bplit.training`),
    ``save`` and the conversions to and from :class:`bplit.Network` added.
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

    def copy(self) -> GraphCore:
        """A copy with its own parameters (the graph structure is shared: it is read-only)."""
        new = type(self).__new__(type(self))
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
        return self.gradients_from_arrays(dw, db, P)

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

    def descend(self, X: Array, Y: Array, eta: float) -> float:
        """Eqs. (4)-(5) on checked arrays (:meth:`step` without its checks), atomic; returns the loss before.

        The update is applied in place only when no entry can overflow (every parameter
        and every change finite and below half the largest float); otherwise a
        ``FloatingPointError`` is raised and nothing has changed.
        """
        before, _, dw, db = self._vectorized(X, Y)
        params, changes = [self.w.array, self.b.array], [-eta * dw, -eta * db]
        if not V.safe_to_add(params, changes):
            raise FloatingPointError(f"a step of size {eta!r} would overflow {self.dtype}")
        for p, dp in zip(params, changes):
            p += dp
        return before

    def cost_and_gradients(self, X: Array, Y: Array) -> tuple[float, list[Array], list[Array]]:
        """The batch loss and its gradients on checked arrays, in the order of :meth:`parameters`."""
        cost, _, dw, db = self._vectorized(X, Y)
        return cost, [dw], [db]

    def gradients_from_arrays(self, dw: Array, db: Array, P: Array | None = None) -> GraphGradients:
        """:class:`GraphGradients` from arrays in the order of ``edges`` and ``hidden_and_output``."""
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
        return self.descend(X, Y, eta)
