"""Counting the forward passes a network runs: the cost of a gradient, measured.

Every cost, gradient and update of a :class:`bplit.Network` runs its forward pass
through one method, which adds one to the network's ``forward_passes``. Central
differences need :math:`2P` passes for :math:`P` parameters, backpropagation one:

>>> import numpy as np, bplit
>>> net = bplit.Network([2, 3, 1], seed=0)
>>> X, Y = np.ones((4, 2)), np.zeros((4, 1))
>>> with bplit.count_forward_passes(net) as passes:
...     _ = bplit.numerical_gradients(net, X, Y)
>>> passes.count == 2 * net.n_params
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["ForwardPasses", "count_forward_passes"]


class ForwardPasses:
    """The forward passes ``net`` has run since this counter was made (until the block ends)."""

    def __init__(self, net: Any) -> None:
        if not isinstance(getattr(net, "forward_passes", None), int):
            raise TypeError(f"count_forward_passes needs a bplit.Network, got {type(net).__name__}")
        self.net = net
        self.start = net.forward_passes
        self.stop: int | None = None

    @property
    def count(self) -> int:
        """Passes so far; after the ``with`` block, the passes run inside it."""
        return (self.net.forward_passes if self.stop is None else self.stop) - self.start


@contextmanager
def count_forward_passes(net: Any) -> Iterator[ForwardPasses]:
    """Count the forward passes of ``net`` inside a ``with`` block: ``passes.count``.

    Only passes of ``net`` itself count: a copy (``net.copy()``, ``net.astype(...)``,
    and so :func:`bplit.numerical_gradients` with a ``dtype`` other than the network's)
    keeps its own count.
    """
    passes = ForwardPasses(net)
    try:
        yield passes
    finally:
        passes.stop = net.forward_passes
