"""What the core returns: the arrays of a forward pass, the gradients of backpropagation, labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Trace", "Gradients", "predicted_labels"]

Array = np.ndarray


@dataclass
class Trace:
    """What a forward pass computed.

    Attributes
    ----------
    z : list of ndarray
        ``z[l]`` of shape ``(m, sizes[l+1])``: weighted inputs of layer ``l+1``.
    a : list of ndarray
        ``a[0]`` is the input ``X``; ``a[l]`` of shape ``(m, sizes[l])``.
    kept : list of (ndarray or None), or None
        What each hidden layer's activation kept for its derivative, shaped like ``z[l]``
        (the sigmoid's :math:`e^{-z}`), else ``None``; backpropagation works without it.
    """

    z: list[Array]
    a: list[Array]
    kept: list[Array | None] | None = None

    @property
    def output(self) -> Array:
        """The network's output ``a[-1]``."""
        return self.a[-1]


@dataclass
class Gradients:
    r"""Gradients of the batch cost, shaped like the parameters.

    Attributes
    ----------
    weights : list of ndarray
        ``weights[l]`` of shape ``(sizes[l+1], sizes[l])``: :math:`\partial C/\partial w`.
    biases : list of ndarray
        ``biases[l]`` of shape ``(sizes[l+1],)``.
    deltas : list of ndarray or None
        ``deltas[l]`` of shape ``(m, sizes[l+1])``: :math:`\delta = \partial C/\partial z`
        for the batch cost (so with ``reduction="mean"`` each row carries the ``1/m``).
    """

    weights: list[Array]
    biases: list[Array]
    deltas: list[Array] | None = None

    def flat(self) -> Array:
        """All weight then bias gradients in one vector (layer by layer)."""
        return np.concatenate([g.ravel() for g in self.weights] + [g.ravel() for g in self.biases])


def predicted_labels(A: Array) -> Array:
    """Class labels from output rows, shape ``(m,)``: the arg-max, or ``A > 0.5`` for a single output unit."""
    if A.shape[1] == 1:
        return (A[:, 0] > 0.5).astype(np.intp)
    return A.argmax(axis=1)
