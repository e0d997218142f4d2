"""Conversions between source 002's graph network and the layered :class:`~bplit.Network`.

A fully connected layered graph and a :class:`~bplit.Network` hold the same
parameters in different layouts; these methods move them exactly (float64) in both
directions, and rearrange graph gradients into the core's :class:`~bplit.Gradients`.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from .graph_structure import GraphGradients, short_list
from .network import Gradients, Network

__all__ = ["GraphConversions"]


class GraphConversions:
    """``from_network``, ``to_network`` and ``as_network_gradients`` (a base of :class:`~bplit.GraphNetwork`)."""

    @classmethod
    def from_network(cls, net: Network) -> Self:
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
            i: (net.output_activation if l == len(ids) - 1 else net.hidden_activation)
            for l in range(1, len(ids))
            for i in ids[l]
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
        g.network_config = {"hidden": net.hidden_activation, "init": net.init}
        return g

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
                        f"unit {i!r} (in U_{n + 2}) has S_i = {short_list(list(self.S[i]))}, not exactly "
                        f"U_{n + 1} = {short_list(list(self.layers[n]))}; "
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
        config = self.network_config or {}
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
