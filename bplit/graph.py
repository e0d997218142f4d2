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
from collections.abc import Callable, Hashable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from . import _validation as V
from . import graph_vectorized as _vec
from .activations import Activation, get_activation
from .gradcheck import central_differences, relative_error
from .losses import REDUCTIONS, Loss, get_loss
from .network import Gradients, Network, _guarded

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
Unit = Hashable
Edge = tuple  # (i, j): the weight w_ij on y_j into unit i
METHODS = ("vectorized", "loops")
GRAPH_INITIALIZERS = ("nielsen", "he")


class NotAnEdgeError(KeyError, ValueError):
    """A weight or bias key that the graph does not have.

    A ``ValueError`` (what the graph's checks raise) that is also a ``KeyError``, so
    that ``key in g.w`` and ``g.w.get(key)`` behave like a dictionary's.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ParamMap(MutableMapping):
    r"""A dictionary view of a parameter vector: ``w[i, j]`` for :math:`w_{ij}`, ``b[i]`` for :math:`b_i`.

    The keys are fixed when the graph is built (the edges ``(i, j)`` with
    :math:`j \in \mathbb{S}_i`, or the non-input units); reading or writing any other
    key raises :class:`NotAnEdgeError` (a ``ValueError``) naming it, and values must be
    finite real numbers.  Keys cannot be deleted.

    Attributes
    ----------
    array : ndarray of shape (len(keys),)
        The values in key order (edges in the order of :attr:`GraphNetwork.edges`,
        biases in the order of :attr:`GraphNetwork.hidden_and_output`).  Writing into
        it changes the mapping.
    """

    def __init__(
        self, symbol: str, keys: Sequence[Any], array: Array, explain: Callable[[Any], str] | None = None
    ) -> None:
        self._symbol = symbol
        self._keys = tuple(keys)
        self._index = {k: n for n, k in enumerate(self._keys)}
        if array.shape != (len(self._keys),):
            raise ValueError(f"{symbol}: array must have shape ({len(self._keys)},), got {array.shape}")
        self.array = array
        self._explain = explain

    def _position(self, key: Any) -> int:
        try:
            return self._index[key]
        except (KeyError, TypeError):
            detail = self._explain(key) if self._explain is not None else f"{key!r} is not a key"
            raise NotAnEdgeError(f"{self._symbol}[{key!r}]: {detail}") from None

    def __getitem__(self, key: Any) -> float:
        return float(self.array[self._position(key)])

    def __setitem__(self, key: Any, value: float) -> None:
        pos = self._position(key)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise ValueError(f"{self._symbol}[{key!r}] must be a finite real number, got {value!r}")
        self.array[pos] = value

    def __delitem__(self, key: Any) -> None:
        raise TypeError(f"{self._symbol}: the keys are fixed by the graph; set a weight to 0.0 instead")

    def __contains__(self, key: object) -> bool:
        try:
            return key in self._index
        except TypeError:
            return False

    def __iter__(self) -> Iterator[Any]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"ParamMap({self._symbol}, {dict(self)!r})"


@dataclass
class GraphTrace:
    """What a forward pass (eqs. 1-2) computed for a batch.

    Attributes
    ----------
    units : tuple
        Unit ids in column order (layer by layer, as :attr:`GraphNetwork.units`).
    x : ndarray of shape (m, n_units)
        :math:`x_i` of every unit for every run (input units: the given inputs).
    y : ndarray of shape (m, n_units)
        :math:`y_i` of every unit for every run.
    n_outputs : int
        :math:`|\\mathbb{U}_N|`; the output units are the last columns.
    """

    units: tuple
    x: Array
    y: Array
    n_outputs: int

    @property
    def output(self) -> Array:
        """The network's output :math:`\\{y_i | i \\in \\mathbb{U}_N\\}`, shape ``(m, n_out)``."""
        return self.y[:, -self.n_outputs :]


@dataclass
class GraphGradients:
    r"""Gradients of the batch loss, keyed like the parameters.

    Attributes
    ----------
    dw : ParamMap
        :math:`\Delta w_{ij} = \partial E_{\mathbb{L}}/\partial w_{ij}`, keyed by edge ``(i, j)``.
    db : ParamMap
        :math:`\Delta b_i = \partial E_{\mathbb{L}}/\partial b_i`, keyed by non-input unit.
    p : ndarray of shape (m, n_units) or None
        :math:`p_i = \partial E_{\mathbb{L}}/\partial x_i` for each run (row) and unit
        (column, in :attr:`GraphNetwork.units` order).  On input units this is the
        gradient with respect to the input.  With ``reduction="sum"`` (eq. 8) a row is
        the per-run :math:`p_i` of eq. (13); with ``"mean"`` it carries the factor
        :math:`1/|\mathbb{L}|`.  ``None`` for central differences.
    """

    dw: ParamMap
    db: ParamMap
    p: Array | None = None

    def flat(self) -> Array:
        """All weight gradients (edge order) then all bias gradients, as one vector."""
        return np.concatenate([self.dw.array, self.db.array])


def _scalar(fn: Callable[[Array], Array], t: float) -> float:
    """Evaluate an array function of the core (an activation or its derivative) at one number."""
    return float(fn(np.array([t], dtype=np.float64))[0])


def _short(units: Sequence[Any], limit: int = 8) -> str:
    items = [repr(u) for u in units[:limit]]
    if len(units) > limit:
        items.append(f"... ({len(units)} in all)")
    return "[" + ", ".join(items) + "]"


class GraphNetwork:
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
        ``bplit.activations.relu(derivative_at_zero=1.0)``, eq. 17's convention),
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
        self._network_config: dict[str, Any] | None = None

    # ------------------------------------------------------------------ construction
    def _set_layers(self, layers: Sequence[Sequence[Unit]]) -> None:
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or len(layers) < 2:
            raise ValueError(
                "layers must be a sequence of at least two layers U_1 (inputs), ..., U_N (outputs), "
                f"got {layers!r}"
            )
        seen: dict[Unit, int] = {}
        out = []
        for n, layer in enumerate(layers, start=1):
            if isinstance(layer, (str, bytes)) or not isinstance(layer, Sequence) or len(layer) == 0:
                raise ValueError(f"layer U_{n} must be a non-empty sequence of unit ids, got {layer!r}")
            for i in layer:
                if not isinstance(i, Hashable) or i is None:
                    raise ValueError(f"unit id {i!r} in U_{n} must be hashable and not None")
                if i in seen:
                    raise ValueError(f"unit {i!r} appears in U_{seen[i]} and again in U_{n}")
                seen[i] = n
            out.append(tuple(layer))
        self.layers: tuple[tuple[Unit, ...], ...] = tuple(out)
        self.N = len(out)
        self.units: tuple[Unit, ...] = tuple(i for layer in out for i in layer)
        self.inputs = self.layers[0]
        self.outputs = self.layers[-1]
        self.hidden_and_output: tuple[Unit, ...] = tuple(i for layer in out[1:] for i in layer)
        self.layer_of: Mapping[Unit, int] = MappingProxyType(seen)
        self.index: Mapping[Unit, int] = MappingProxyType({i: k for k, i in enumerate(self.units)})

    def _set_upstream(self, upstream: Mapping[Unit, Sequence[Unit]]) -> None:
        if not isinstance(upstream, Mapping):
            raise ValueError(
                f"upstream must be a mapping unit -> S_i (a sequence of unit ids), got {upstream!r}"
            )
        for i, s in upstream.items():
            if i not in self.layer_of:
                raise ValueError(f"upstream names unit {i!r}, which is in no layer")
            if isinstance(s, (str, bytes)) or not isinstance(s, (Sequence, set, frozenset)):
                raise ValueError(f"S_{i!r} must be a sequence of unit ids, got {s!r}")
            for j in s:
                if not isinstance(j, Hashable) or j not in self.layer_of:
                    raise ValueError(f"S_{i!r} contains unit {j!r}, which is in no layer")
            if len(set(s)) != len(tuple(s)):
                dup = [j for j in s if list(s).count(j) > 1]
                raise ValueError(f"S_{i!r} lists unit {dup[0]!r} more than once")
            if self.layer_of[i] == 1 and len(s) > 0:
                raise ValueError(
                    f"input unit {i!r} (in U_1) has upstream units {_short(list(s))}; "
                    "input units take x_i as given (eq. 1) and have no S_i"
                )
        S: dict[Unit, tuple[Unit, ...]] = {}
        for i in self.units:
            s = tuple(upstream.get(i, ()))
            if self.layer_of[i] > 1 and len(s) == 0:
                raise ValueError(
                    f"unit {i!r} (in U_{self.layer_of[i]}) has no upstream units; every unit of "
                    "U_2, ..., U_N needs a non-empty S_i"
                )
            S[i] = s
        D: dict[Unit, list[Unit]] = {i: [] for i in self.units}
        for i in self.units:  # D_j = {i | j in S_i}, in unit order
            for j in S[i]:
                D[j].append(i)
        self.S: Mapping[Unit, tuple[Unit, ...]] = MappingProxyType(S)
        self.D: Mapping[Unit, tuple[Unit, ...]] = MappingProxyType({j: tuple(d) for j, d in D.items()})
        self.edges: tuple[Edge, ...] = tuple((i, j) for i in self.hidden_and_output for j in S[i])

    def _check_acyclic(self) -> None:
        # Depth-first search along "j in S_i" links; a grey unit met again closes a cycle.
        white, grey, black = 0, 1, 2
        colour = dict.fromkeys(self.units, white)
        for root in self.units:
            if colour[root] != white:
                continue
            path = [root]
            stack = [iter(self.S[root])]
            colour[root] = grey
            while stack:
                j = next(stack[-1], None)
                if j is None:
                    colour[path.pop()] = black
                    stack.pop()
                elif colour[j] == grey:
                    cycle = path[path.index(j) :] + [j]
                    links = ", ".join(f"{a!r} in S_{b!r}" for b, a in zip(cycle, cycle[1:]))
                    raise ValueError(
                        f"the graph has a cycle through units {_short(cycle)} ({links}); "
                        "the network must be non-recurrent"
                    )
                elif colour[j] == white:
                    colour[j] = grey
                    path.append(j)
                    stack.append(iter(self.S[j]))

    def _check_layer_order(self) -> None:
        for i in self.hidden_and_output:
            n = self.layer_of[i]
            for j in self.S[i]:
                if self.layer_of[j] >= n:
                    where = "the same layer" if self.layer_of[j] == n else "a later layer"
                    raise ValueError(
                        f"unit {i!r} (in U_{n}) has upstream unit {j!r} in {where} (U_{self.layer_of[j]}); "
                        f"S_i must lie in U_1, ..., U_(n-1), which Propagate and Algorithm 3 rely on"
                    )

    def _set_activations(self, activation: str | Activation | Mapping[Unit, str | Activation]) -> None:
        if isinstance(activation, Mapping):
            for i in activation:
                if i not in self.layer_of:
                    raise ValueError(f"activation names unit {i!r}, which is in no layer")
                if self.layer_of[i] == 1:
                    raise ValueError(
                        f"activation names input unit {i!r}; input units have no f_i (eq. 2: y_i = x_i)"
                    )
            missing = [i for i in self.hidden_and_output if i not in activation]
            if missing:
                raise ValueError(f"activation gives no f_i for units {_short(missing)}")
            chosen = {i: activation[i] for i in self.hidden_and_output}
        else:
            chosen = dict.fromkeys(self.hidden_and_output, activation)
        f: dict[Unit, Activation] = {}
        for i, a in chosen.items():
            act = get_activation(a)
            if not act.elementwise:
                raise ValueError(
                    f"unit {i!r}: activation {act.name!r} is not element-wise; f_i must be a function of x_i alone"
                )
            f[i] = act
        self.f: Mapping[Unit, Activation] = MappingProxyType(f)

    def _explain_edge(self, key: Any) -> str:
        if not (isinstance(key, tuple) and len(key) == 2):
            return f"a weight is indexed by a pair (i, j), got {key!r}"
        i, j = key
        for u in (i, j):
            if not isinstance(u, Hashable) or u not in self.layer_of:
                return f"unit {u!r} is in no layer"
        if self.layer_of[i] == 1:
            return f"({i!r}, {j!r}) is not an edge: {i!r} is an input unit and has no weights"
        return f"({i!r}, {j!r}) is not an edge: unit {j!r} is not in S_{i!r} = {_short(list(self.S[i]))}"

    def _explain_bias(self, key: Any) -> str:
        if not isinstance(key, Hashable) or key not in self.layer_of:
            return f"unit {key!r} is in no layer"
        return f"{key!r} is an input unit (in U_1) and has no bias"

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

    # ------------------------------------------------------------------ conversions
    @classmethod
    def from_network(cls, net: Network) -> GraphNetwork:
        """The fully connected :class:`~bplit.Network` ``net`` as a graph network.

        Units are numbered ``1, 2, ...`` layer by layer (input layer first), so unit
        ``k`` of layer ``l`` (0-based, as in ``net.sizes``) has id
        ``1 + sum(net.sizes[:l]) + k`` and ``w[i, j] = net.weights[l][k_i, k_j]``.  The
        loss and reduction are ``net``'s; float32 parameters are converted exactly to
        float64.  :meth:`to_network` converts back exactly.

        Raises
        ------
        ValueError
            If ``net`` has a non-element-wise activation (softmax) or a fused loss.
        """
        if not isinstance(net, Network):
            raise ValueError(f"from_network expects a bplit.Network, got {type(net).__name__}")
        ids, start = [], 1
        for size in net.sizes:
            ids.append(list(range(start, start + size)))
            start += size
        upstream = {i: ids[l - 1] for l in range(1, len(ids)) for i in ids[l]}
        acts = {
            i: (net.output if l == len(ids) - 1 else net.hidden) for l in range(1, len(ids)) for i in ids[l]
        }
        weights = {
            (i, j): float(net.weights[l - 1][r, c])
            for l in range(1, len(ids))
            for r, i in enumerate(ids[l])
            for c, j in enumerate(ids[l - 1])
        }
        biases = {i: float(net.biases[l - 1][r]) for l in range(1, len(ids)) for r, i in enumerate(ids[l])}
        g = cls(
            ids, upstream, acts, loss=net.loss_fn, reduction=net.reduction, weights=weights, biases=biases
        )
        g._network_config = {"hidden": net.hidden, "init": net.init}
        return g

    def is_layered(self) -> bool:
        """``True`` when every unit of :math:`\\mathbb{U}_{n+1}` reads exactly all of :math:`\\mathbb{U}_n`."""
        return all(
            set(self.S[i]) == set(self.layers[n]) for n in range(self.N - 1) for i in self.layers[n + 1]
        )

    def to_network(self) -> Network:
        """This graph as a fully connected :class:`~bplit.Network` (float64).

        Exact inverse of :meth:`from_network`.

        Raises
        ------
        ValueError
            If the graph is not fully connected layer to layer (a skip or a missing
            connection), or the hidden units (or the output units) do not all share
            one activation.
        """
        for n in range(self.N - 1):
            for i in self.layers[n + 1]:
                if set(self.S[i]) != set(self.layers[n]):
                    raise ValueError(
                        f"unit {i!r} (in U_{n + 2}) has S_i = {_short(list(self.S[i]))}, not exactly "
                        f"U_{n + 1} = {_short(list(self.layers[n]))}; "
                        "only a fully connected layered graph converts to a Network"
                    )
        names = {}
        for label, units in (
            ("hidden", self.hidden_and_output[: -len(self.outputs)]),
            ("output", self.outputs),
        ):
            found = {self.f[i].name for i in units}
            if len(found) > 1:
                raise ValueError(
                    f"the {label} units use different activations {sorted(found)}; a Network has one"
                )
            names[label] = self.f[units[0]] if units else None
        config = self._network_config or {}
        hidden = names["hidden"] or config.get("hidden", "sigmoid")
        net = Network(
            [len(u) for u in self.layers],
            hidden=hidden,
            output=names["output"],
            loss=self.loss_fn,
            seed=0,
            reduction=self.reduction,
            init=config.get("init", "nielsen"),
        )
        for l in range(self.N - 1):
            rows, cols = self.layers[l + 1], self.layers[l]
            net.weights[l] = np.array([[self.w[i, j] for j in cols] for i in rows], dtype=np.float64)
            net.biases[l] = np.array([self.b[i] for i in rows], dtype=np.float64)
        return net

    def as_network_gradients(self, grads: GraphGradients) -> Gradients:
        """Rearrange graph gradients of a fully connected layered graph into a :class:`~bplit.Gradients`.

        ``weights[l][r, c]`` is :math:`\\Delta w_{ij}` with ``i`` the ``r``-th unit of
        :math:`\\mathbb{U}_{l+2}` and ``j`` the ``c``-th of :math:`\\mathbb{U}_{l+1}`;
        ``deltas[l]`` holds the :math:`p_i` of :math:`\\mathbb{U}_{l+2}` (when known).
        """
        if not self.is_layered():
            raise ValueError("only a fully connected layered graph has the layout of a Network")
        gw, gb, deltas = [], [], []
        for l in range(self.N - 1):
            rows, cols = self.layers[l + 1], self.layers[l]
            gw.append(np.array([[grads.dw[i, j] for j in cols] for i in rows]))
            gb.append(np.array([grads.db[i] for i in rows]))
            if grads.p is not None:
                deltas.append(grads.p[:, [self.index[i] for i in rows]])
        return Gradients(gw, gb, deltas if grads.p is not None else None)

    def copy(self) -> GraphNetwork:
        """A copy with its own parameters (the graph structure is shared: it is read-only)."""
        new = GraphNetwork.__new__(GraphNetwork)
        new.__dict__.update(self.__dict__)
        new.w = ParamMap("w", self.edges, self.w.array.copy(), new._explain_edge)
        new.b = ParamMap("b", self.hidden_and_output, self.b.array.copy(), new._explain_bias)
        new.x, new.y, new.p, new.v, new.dw, new.db = {}, {}, {}, {}, {}, {}
        return new

    @property
    def n_in(self) -> int:
        r"""Number of input units, :math:`|\mathbb{U}_1|`."""
        return len(self.inputs)

    @property
    def n_out(self) -> int:
        r"""Number of output units, :math:`|\mathbb{U}_N|`."""
        return len(self.outputs)

    @property
    def n_params(self) -> int:
        """Number of weights and biases."""
        return len(self.edges) + len(self.hidden_and_output)

    def __repr__(self) -> str:
        sizes = [len(u) for u in self.layers]
        return (
            f"GraphNetwork(layer sizes {sizes}, {len(self.edges)} edges, loss={self.loss_fn.name!r}, "
            f"reduction={self.reduction!r})"
        )

    # ------------------------------------------------------------------ data checks
    def _check_x(self, X: object) -> Array:
        for name, arr in (("w", self.w.array), ("b", self.b.array)):
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"the parameters {name} contain NaN or infinite values")
        return V.as_batch("X", X, len(self.inputs), self.dtype)

    def _check_xy(self, X: object, Y: object) -> tuple[Array, Array]:
        X = self._check_x(X)
        Y = V.as_batch("Y", Y, len(self.outputs), self.dtype)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"X and Y must have the same number of rows, got {X.shape[0]} and {Y.shape[0]}")
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
        return float(e.sum() if self.reduction == "sum" else e.mean())

    @_guarded
    def loss(self, X: Array, Y: Array) -> float:
        r"""The mini-batch loss: :math:`E_{\mathbb{L}} = \sum_l E^{(l)}` (eq. 8) or its mean.

        ``X`` of shape ``(m, n_in)``, ``Y`` of shape ``(m, n_out)``.
        """
        X, Y = self._check_xy(X, Y)
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
        X, Y = self._check_xy(X, Y)
        m = X.shape[0]
        if self._check_method(method) == "vectorized":
            x, y = _vec.forward_arrays(self, X)
            k = len(self.outputs)
            dE_dy = self.loss_fn.grad_a(y[:, -k:], Y)
            if self.reduction == "mean":
                dE_dy = dE_dy / m
            P, dw, db = _vec.backward_arrays(self, x, y, dE_dy)
        else:
            P = self._loops_gradients(X, Y)
            dw = np.array([self.dw[e] for e in self.edges])
            db = np.array([self.db[i] for i in self.hidden_and_output])
        return self._gradients_from_arrays(dw, db, P)

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
        X, Y = self._check_xy(X, Y)
        before = self._batch_loss(self.forward(X), Y)
        g = self.gradients(X, Y)
        new_w = self.w.array - eta * g.dw.array  # both built before either is stored: atomic
        new_b = self.b.array - eta * g.db.array
        np.copyto(self.w.array, new_w)
        np.copyto(self.b.array, new_b)
        return before

    # ------------------------------------------------------------------ Algorithms 1-5
    # Read these beside the memo's pseudo-code; "line k" is the line of the algorithm.
    # Two corrections (see the chapter's Errata): the bias is b_i (the memo writes d_i
    # in Algorithms 3 and 5), and v_i = f_i'(x_i) is only taken for units that have an
    # activation function (Algorithm 4 also takes it for the input units).

    def propagate(self, x_star: Sequence[float]) -> None:
        """Propagate (eqs. 1-2) for one run: fills ``self.x`` and ``self.y``.

        ``x_star`` has length :math:`|\\mathbb{U}_1|` (values in the order of ``layers[0]``).
        """
        x, y, w, b, S, f = self.x, self.y, self.w, self.b, self.S, self.f
        for k, i in enumerate(self.layers[0]):  # i in U_1
            x[i] = float(x_star[k])  # eq. (1): given
            y[i] = x[i]  # eq. (2): y_i = x_i
        for layer in self.layers[1:]:  # U_2, ..., U_N, in order
            for i in layer:
                x[i] = sum(w[i, j] * y[j] for j in S[i]) + b[i]  # eq. (1)
                y[i] = _scalar(f[i].value, x[i])  # eq. (2): y_i = f_i(x_i)

    @_guarded
    def train_nn(self, X: Array, Y: Array, eta: float) -> float:
        r"""Algorithm 1, TrainNN: one gradient-descent update on the mini-batch ``(X, Y)``.

        .. math::
            w_{ij} \leftarrow w_{ij} - \eta \frac{\partial E_{\mathbb{L}}}{\partial w_{ij}}, \qquad
            b_i \leftarrow b_i - \eta \frac{\partial E_{\mathbb{L}}}{\partial b_i}

        Parameters
        ----------
        X : ndarray of shape (m, n_in)
            The inputs :math:`\boldsymbol{x}^{*(l)}`, one row per run :math:`l \in \mathbb{L}`.
        Y : ndarray of shape (m, n_out)
            The desired outputs :math:`\boldsymbol{y}^{*(l)}`.
        eta : float
            The learning rate :math:`\eta > 0`.

        Returns
        -------
        float
            :math:`E_{\mathbb{L}}` before the update.
        """
        eta = V.positive_float("eta", eta)
        X, Y = self._check_xy(X, Y)
        E_L = 0.0
        self.init_grad()  # line 1: InitGrad
        weight = 1.0 if self.reduction == "sum" else 1.0 / X.shape[0]
        for l in range(X.shape[0]):  # line 2: for l in L
            E_L += weight * self.back_propagate(X[l], Y[l], weight)  # line 3: BackPropagate
        # line 4: end for
        saved = self.w.array.copy(), self.b.array.copy()
        try:
            self.update_nn(eta)  # line 5: UpdateNN
        except BaseException:  # a failure part-way (e.g. an overflow): put every parameter back
            np.copyto(self.w.array, saved[0])
            np.copyto(self.b.array, saved[1])
            raise
        return E_L

    def init_grad(self) -> None:
        r"""Algorithm 2, InitGrad: :math:`\Delta w_{ij} \leftarrow 0`, :math:`\Delta b_i \leftarrow 0`."""
        dw, db, S = self.dw, self.db, self.S
        dw.clear()
        db.clear()
        for i in self.hidden_and_output:  # line 1: for i in U_2 u ... u U_N
            for j in S[i]:  # line 2: for j in S_i
                dw[i, j] = 0.0  # line 3: Delta w_ij <- 0
            # line 4: end for
            db[i] = 0.0  # line 5: Delta b_i <- 0

    def back_propagate(self, x_star: Sequence[float], y_star: Sequence[float], weight: float = 1.0) -> float:
        r"""Algorithm 3, BackPropagate: add one run's :math:`p_i y_j` and :math:`p_i` to :math:`\Delta w_{ij}`, :math:`\Delta b_i`.

        .. math::
            p_i \leftarrow \frac{\partial E}{\partial y_i}\ (i \in \mathbb{U}_N);\quad
            p_i \leftarrow p_i v_i,\quad p_j \leftarrow p_j + p_i w_{ij},\quad
            \Delta w_{ij} \leftarrow \Delta w_{ij} + p_i y_j,\quad \Delta b_i \leftarrow \Delta b_i + p_i

        Parameters
        ----------
        x_star : sequence of float, length n_in
        y_star : sequence of float, length n_out
        weight : float
            Factor on this run's :math:`E` in the batch loss: 1 for eq. (8)'s sum,
            :math:`1/|\mathbb{L}|` for the mean.  It scales :math:`\partial E/\partial y_i`.

        Returns
        -------
        float
            This run's (unweighted) loss :math:`E`.
        """
        x, y, p, v, w, S, dw, db = self.x, self.y, self.p, self.v, self.w, self.S, self.dw, self.db
        self.propagate(x_star)  # line 1: Propagate
        self.init_param()  # line 2: InitParam
        a = np.array([[y[i] for i in self.outputs]])
        t = np.asarray(y_star, dtype=np.float64).reshape(1, -1)
        dE_dy = self.loss_fn.grad_a(a, t)[0] * weight  # dE/dy_i from the core's loss (eq. 15 for half_sse)
        for k, i in enumerate(self.outputs):  # line 3: for i in U_N
            p[i] = float(dE_dy[k])  # line 4: p_i <- dE/dy_i
        # line 5: end for
        for n in range(self.N, 1, -1):  # line 6: for n = N downto 2
            for i in self.layers[n - 1]:  # line 7: for i in U_n
                p[i] = p[i] * v[i]  # line 8: p_i <- p_i v_i
                for j in S[i]:  # line 9: for j in S_i
                    p[j] = p[j] + p[i] * w[i, j]  # line 10: p_j <- p_j + p_i w_ij
                    dw[i, j] = dw[i, j] + p[i] * y[j]  # line 11: Delta w_ij <- Delta w_ij + p_i y_j
                # line 12: end for
                db[i] = db[i] + p[i]  # line 13: Delta b_i <- Delta b_i + p_i (memo: Delta d_i)
        zs = np.array([[x[i] for i in self.outputs]])
        return float(self.loss_fn.per_sample(zs, a, t)[0])

    def init_param(self) -> None:
        r"""Algorithm 4, InitParam: :math:`p_i \leftarrow 0` for every unit, :math:`v_i \leftarrow f_i'(x_i)`.

        Needs ``self.x`` from :meth:`propagate`.  :math:`v_i` is set for the units of
        :math:`\mathbb{U}_2, \dots, \mathbb{U}_N` only: input units have no :math:`f_i`.
        """
        p, v, x, f = self.p, self.v, self.x, self.f
        v.clear()
        for i in self.units:  # line 1: for i in U_1 u ... u U_N
            p[i] = 0.0  # line 2: p_i <- 0
            if i in f:  # (correction: the memo also takes f' of input units)
                v[i] = _scalar(f[i].derivative, x[i])  # line 3: v_i <- f_i'(x_i)
        # line 4: end for

    def update_nn(self, eta: float) -> None:
        r"""Algorithm 5, UpdateNN: :math:`b_i \leftarrow b_i - \eta \Delta b_i`, :math:`w_{ij} \leftarrow w_{ij} - \eta \Delta w_{ij}`.

        Needs ``self.dw`` and ``self.db`` from Algorithms 2-3.
        """
        w, b, S, dw, db = self.w, self.b, self.S, self.dw, self.db
        for i in self.hidden_and_output:  # line 1: for i in U_2 u ... u U_N
            b[i] = b[i] - eta * db[i]  # line 2: b_i <- b_i - eta Delta b_i (memo: d_i)
            for j in S[i]:  # line 3: for j in S_i
                w[i, j] = w[i, j] - eta * dw[i, j]  # line 4: w_ij <- w_ij - eta Delta w_ij
            # line 5: end for

    def _loops_gradients(self, X: Array, Y: Array) -> Array:
        """Algorithms 2 and 3 over the batch (no update); returns the :math:`p_i` of every run."""
        P = np.empty((X.shape[0], len(self.units)))
        weight = 1.0 if self.reduction == "sum" else 1.0 / X.shape[0]
        self.init_grad()
        for l in range(X.shape[0]):
            self.back_propagate(X[l], Y[l], weight)
            P[l] = [self.p[i] for i in self.units]
        return P


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
    X, Y = g._check_xy(X, Y)

    def cost() -> float:
        x, y = _vec.forward_arrays(g, X)
        return g._batch_loss(GraphTrace(g.units, x, y, len(g.outputs)), Y)

    dw, db = central_differences([g.w.array, g.b.array], cost, eps)
    return g._gradients_from_arrays(dw, db, None)


def graph_gradcheck(
    g: GraphNetwork, X: Array, Y: Array, eps: float = 1e-6, method: str = "vectorized"
) -> float:
    """Largest relative error (:func:`bplit.relative_error`) between backprop and central differences."""
    return relative_error(g.gradients(X, Y, method=method), graph_numerical_gradients(g, X, Y, eps))
