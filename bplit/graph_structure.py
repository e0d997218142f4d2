r"""The graph of source 002's network: layers of units, upstream and downstream sets, and their checks.

A :class:`~bplit.GraphNetwork` is built from its layers :math:`\mathbb{U}_1, \dots,
\mathbb{U}_N` and the upstream set :math:`\mathbb{S}_i` of every unit; this module
checks that they describe a non-recurrent network (every unit in one layer, upstream
units in earlier layers only, no cycle), derives the downstream sets
:math:`\mathbb{D}_j = \{i \mid j \in \mathbb{S}_i\}` and the list of edges, and keys the
parameters by edge and by unit (:class:`ParamMap`).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .activations import Activation, get_activation

__all__ = ["GraphStructure", "GraphTrace", "GraphGradients", "ParamMap", "NotAnEdgeError"]

Array = np.ndarray
Unit = Hashable
Edge = tuple  # (i, j): the weight w_ij on y_j into unit i


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


def short_list(units: Sequence[Any], limit: int = 8) -> str:
    items = [repr(u) for u in units[:limit]]
    if len(units) > limit:
        items.append(f"... ({len(units)} in all)")
    return "[" + ", ".join(items) + "]"


class GraphStructure:
    r"""The layers, the sets :math:`\mathbb{S}_i` and :math:`\mathbb{D}_j`, the edges and the
    activations of a graph network, checked as they are set (a base of :class:`~bplit.GraphNetwork`)."""

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
                    f"input unit {i!r} (in U_1) has upstream units {short_list(list(s))}; "
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
                        f"the graph has a cycle through units {short_list(cycle)} ({links}); "
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
                raise ValueError(f"activation gives no f_i for units {short_list(missing)}")
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

    def __getstate__(self) -> dict:
        """For pickle: the read-only mappings as plain dicts (a mapping proxy cannot be pickled)."""
        return {k: dict(v) if isinstance(v, MappingProxyType) else v for k, v in self.__dict__.items()}

    def __setstate__(self, state: dict) -> None:
        read_only = ("layer_of", "index", "S", "D", "f")
        self.__dict__.update({k: MappingProxyType(v) if k in read_only else v for k, v in state.items()})

    def _explain_edge(self, key: Any) -> str:
        if not (isinstance(key, tuple) and len(key) == 2):
            return f"a weight is indexed by a pair (i, j), got {key!r}"
        i, j = key
        for u in (i, j):
            if not isinstance(u, Hashable) or u not in self.layer_of:
                return f"unit {u!r} is in no layer"
        if self.layer_of[i] == 1:
            return f"({i!r}, {j!r}) is not an edge: {i!r} is an input unit and has no weights"
        return f"({i!r}, {j!r}) is not an edge: unit {j!r} is not in S_{i!r} = {short_list(list(self.S[i]))}"

    def _explain_bias(self, key: Any) -> str:
        if not isinstance(key, Hashable) or key not in self.layer_of:
            return f"unit {key!r} is in no layer"
        return f"{key!r} is an input unit (in U_1) and has no bias"

    def is_layered(self) -> bool:
        """``True`` when every unit of :math:`\\mathbb{U}_{n+1}` reads exactly all of :math:`\\mathbb{U}_n`."""
        return all(
            set(self.S[i]) == set(self.layers[n]) for n in range(self.N - 1) for i in self.layers[n + 1]
        )

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
