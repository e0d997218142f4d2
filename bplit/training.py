r"""Training by mini-batch stochastic gradient descent: the epoch loop of :meth:`bplit.Network.fit`.

Each epoch reshuffles the samples, takes one gradient-descent step
(:math:`w \leftarrow w - \eta\,\partial C/\partial w`, :meth:`bplit.Network.step`
without its checks) per mini-batch, and records the cost on the whole training set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["History", "accuracy", "sgd_epochs"]

Array = np.ndarray


class History(list):
    """Per-epoch training loss (the list itself) plus the other per-epoch records.

    Attributes
    ----------
    loss : list of float
        Training loss after each epoch (the same numbers as the list).
    val_loss, val_accuracy : list of float
        Filled when ``fit`` is given ``validation_data``; accuracy compares the
        arg-max of outputs and targets (or thresholds at 0.5 for one output unit).
    """

    def __init__(self) -> None:
        super().__init__()
        self.val_loss: list[float] = []
        self.val_accuracy: list[float] = []

    @property
    def loss(self) -> list[float]:
        return list(self)


def accuracy(A: Array, Y: Array) -> float:
    """Fraction of rows classified correctly: arg-max of ``A`` vs arg-max of ``Y``
    (for a single output unit, ``A > 0.5`` vs ``Y > 0.5``)."""
    if A.shape[1] == 1:
        return float(np.mean((A[:, 0] > 0.5) == (Y[:, 0] > 0.5)))
    return float(np.mean(A.argmax(axis=1) == Y.argmax(axis=1)))


def sgd_epochs(
    net: Any,
    X: Array,
    Y: Array,
    epochs: int,
    batch_size: int,
    eta: float,
    seed: int | np.random.Generator,
    validation: tuple[Array, Array] | None,
    progress: bool,
    callback: Callable[[int, Any], None] | None,
) -> History:
    """The epochs of :meth:`bplit.Network.fit` on checked arguments; see there.

    If anything fails part-way (an overflow, an exception in ``callback``, an
    interrupt), the parameters are put back as they were before the call.
    """
    rng = np.random.default_rng(seed)
    history = History()
    bar = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc="epochs")
    n = X.shape[0]
    saved = [p.copy() for p in net.weights + net.biases]
    try:
        for epoch in bar:
            order = rng.permutation(n)
            net._check_params()  # once per epoch: a callback may change the parameters
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                ws = net._workspace(idx.size)
                net._update(net._forward(X[idx], ws), Y[idx], eta, ws)
            history.append(net._cost(net._forward(X), Y))
            if validation is not None:
                Xv, Yv = validation
                tv = net._forward(Xv)
                history.val_loss.append(net._cost(tv, Yv))
                history.val_accuracy.append(accuracy(tv.a[-1], Yv))
            if callback is not None:
                callback(epoch + 1, net)
    except BaseException:
        for p, p0 in zip(net.weights + net.biases, saved):  # a failed fit changes nothing
            np.copyto(p, p0)
        raise
    return history
