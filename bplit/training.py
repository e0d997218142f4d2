r"""The epoch loop of :meth:`bplit.Network.fit` and :meth:`bplit.GraphNetwork.fit`.

Each epoch reshuffles the samples and makes one update per mini-batch: plain gradient
descent :math:`w \leftarrow w - \eta_e\,\partial C/\partial w` (with :math:`\eta_e` the
learning rate of epoch :math:`e`, a number or a schedule), or an optimizer of
:mod:`bplit.optim`. After the epoch it records the cost on the whole training set (and
on the validation set), calls the callback, and only then counts the epoch as completed:
its parameters (and the optimizer's state) are kept as the point training returns to if
a later epoch fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _validation as V
from .contract import Optimizer
from .results import predicted_labels

__all__ = ["History", "Trainable", "accuracy", "train"]

Array = np.ndarray


class History(list):
    """Per-epoch training loss (the list itself) plus the other per-epoch records.

    Attributes
    ----------
    loss : list of float
        Training cost :math:`C` after each completed epoch (the same numbers as the
        list; without an optimizer's weight-decay term).
    val_loss : list of float
        Filled when ``fit`` is given ``validation_data``.
    val_accuracy : list of float
        Filled when ``fit`` is given ``validation_data`` and the loss is a
        classification loss (``cross_entropy``, ``binary_cross_entropy``); see :func:`accuracy`.
    best_epoch : int or None
        The epoch (from 1) with the lowest ``val_loss``, when there is validation data.
    stopped_epoch : int or None
        The last epoch when training stopped early (patience, or a callback returning
        ``False``); ``None`` when every epoch ran.
    """

    def __init__(self) -> None:
        super().__init__()
        self.val_loss: list[float] = []
        self.val_accuracy: list[float] = []
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None

    @property
    def loss(self) -> list[float]:
        return list(self)


def accuracy(A: Array, Y: Array) -> float:
    """Fraction of rows classified correctly.

    Parameters
    ----------
    A : ndarray of shape (m, n_out)
        Network outputs; the predicted class is the arg-max of a row (for a single
        output unit, ``A > 0.5``).
    Y : ndarray of shape (m, n_out) or (m,)
        Target rows (their arg-max, or ``Y > 0.5`` for one unit) or integer class labels.
    """
    A = np.asarray(A)
    Y = np.asarray(Y)
    if A.ndim != 2 or A.shape[0] == 0:
        raise ValueError(f"accuracy: outputs must have shape (m, n_out) with m >= 1, got {A.shape}")
    if Y.ndim == 1:
        if Y.dtype.kind not in "biu":
            raise TypeError(f"accuracy: 1-D targets must be integer class labels, got dtype {Y.dtype}")
        labels = Y
    elif Y.ndim == 2 and Y.shape[1] == A.shape[1]:
        labels = predicted_labels(Y)
    else:
        raise ValueError(
            f"accuracy: targets must have shape ({A.shape[0]}, {A.shape[1]}) or ({A.shape[0]},), got {Y.shape}"
        )
    if labels.shape[0] != A.shape[0]:
        raise ValueError(
            f"accuracy: outputs and targets must have the same number of rows, got {A.shape[0]} and {labels.shape[0]}"
        )
    return float(np.mean(predicted_labels(A) == labels))


def check_rate_or_optimizer(learning_rate: Any, optimizer: Any) -> None:
    """Check that exactly one of ``learning_rate`` (a positive float or a schedule) and
    ``optimizer`` is given."""
    if (learning_rate is None) == (optimizer is None):
        raise ValueError(
            "pass exactly one of learning_rate (a positive float, or a callable epoch -> float) "
            f"and optimizer (from bplit.optim); got learning_rate={learning_rate!r}, optimizer={optimizer!r}"
        )
    if optimizer is not None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"optimizer must be a bplit.optim.Optimizer (SGD, Adam, or a subclass), got {optimizer!r}"
            )
    elif not callable(learning_rate):
        V.positive_float("learning_rate", learning_rate)


def _progress_bar(epochs: int, progress: bool) -> Any:
    if not progress:
        return range(1, epochs + 1)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            "progress=True needs tqdm: pip install 'bplit[progress]' (or pip install tqdm)"
        ) from None
    return tqdm(range(1, epochs + 1), desc="epochs")


def train(
    net: Any,
    X: Array,
    Y: Array,
    epochs: int,
    batch_size: int,
    epoch_update: Callable[[int], Callable[[Array, Array], Any]],
    seed: int | np.random.Generator,
    validation: tuple[Array, Array] | None,
    progress: bool,
    callback: Callable[[int, Any], Any] | None,
    patience: int | None,
    restore_best: bool,
    optimizer: Any = None,
) -> History:
    """The epochs of ``fit`` on checked arguments; see :meth:`bplit.Network.fit`.

    ``epoch_update(epoch)`` gives the function that makes one update on a mini-batch
    ``(Xb, Yb)`` during ``epoch``. ``net`` is a :class:`bplit.contract.Model`; the
    optimizer, if any, a :class:`bplit.contract.Optimizer`. If an epoch fails (an overflow, an exception in the callback, an
    interrupt), the parameters and the optimizer's state go back to the end of the last
    completed epoch and the exception is re-raised carrying the history as ``.history``.
    """
    if (patience is not None or restore_best) and validation is None:
        raise ValueError("patience and restore_best watch the validation loss: pass validation_data too")
    if patience is not None:
        patience = V.positive_int("patience", patience)
    rng = np.random.default_rng(seed)
    history = History()
    params = [p for group in net.parameters() for p in group]
    completed = [p.copy() for p in params]  # the end of the last completed epoch
    state = optimizer.state_dict(net) if optimizer is not None else None
    best, since_best = None, 0
    n = X.shape[0]
    try:
        for epoch in _progress_bar(epochs, progress):
            net.check_params()  # once per epoch: a callback may change the parameters
            order = rng.permutation(n)
            update = epoch_update(epoch)
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                update(X[idx], Y[idx])
            loss = net.evaluate(X, Y)[0]
            if validation is not None:
                val_loss, outputs = net.evaluate(*validation)
            stop = callback is not None and callback(epoch, net) is False
            # the epoch is complete: record it and keep its parameters
            history.append(loss)
            for p, keep in zip(params, completed):
                np.copyto(keep, p)
            if optimizer is not None:
                state = optimizer.state_dict(net)
            if validation is not None:
                history.val_loss.append(val_loss)
                if net.loss_fn.classification:
                    history.val_accuracy.append(accuracy(outputs, validation[1]))
                if best is None or val_loss < best[0]:
                    best, since_best = (val_loss, [p.copy() for p in params] if restore_best else None), 0
                    history.best_epoch = epoch
                else:
                    since_best += 1
                    stop = stop or (patience is not None and since_best >= patience)
            if stop:
                history.stopped_epoch = epoch
                break
    except BaseException as exc:
        for p, keep in zip(params, completed):
            np.copyto(p, keep)
        if optimizer is not None:
            optimizer.load_state_dict(net, state)
        try:
            exc.history = history  # type: ignore[attr-defined]
        except AttributeError:  # an exception type without attributes: re-raised as it is
            pass
        raise
    if restore_best and best is not None:  # the optimizer keeps the state of the last epoch
        for p, keep in zip(params, best[1]):
            np.copyto(p, keep)
    return history


class Trainable:
    """``fit`` for a network class: :class:`bplit.Network` and :class:`bplit.GraphNetwork`.

    The class is a :class:`bplit.contract.Model` and also provides its own
    ``descend(X, Y, eta)`` (one gradient-descent step on checked arrays), which
    ``fit`` uses when it is given a learning rate rather than an optimizer.
    """

    @V.guarded
    def fit(
        self,
        X: Array,
        Y: Array,
        epochs: int,
        batch_size: int,
        learning_rate: float | Callable[[int], float] | None = None,
        seed: int | np.random.Generator = 0,
        validation_data: tuple[Array, Array] | None = None,
        progress: bool = False,
        callback: Callable[[int, Any], bool | None] | None = None,
        *,
        optimizer: Any = None,
        patience: int | None = None,
        restore_best: bool = False,
    ) -> History:
        r"""Mini-batch training, reshuffled every epoch.

        Parameters
        ----------
        X : ndarray of shape (n, n_in)
        Y : ndarray of shape (n, n_out), or (n,) class labels
            Targets as for ``loss``: rows, or 1-D integer labels for
            ``cross_entropy`` (0/1 for ``binary_cross_entropy`` with one output).
        epochs, batch_size : int
            Positive; the last mini-batch of an epoch may be smaller.
        learning_rate : float or callable, optional
            Plain gradient descent :math:`w \leftarrow w - \eta\,\partial C/\partial w`
            on the batch cost, with step size :math:`\eta`; a callable ``epoch -> eta``
            (epochs count from 1, called once per epoch) is a schedule.
        seed : int or numpy.random.Generator
            Seeds the shuffling.
        validation_data : (X_val, Y_val), optional
            Evaluated after each epoch into ``history.val_loss`` (and, for a
            classification loss, ``history.val_accuracy``).
        progress : bool
            Show a progress bar over epochs (needs the ``progress`` extra: tqdm).
        callback : callable, optional
            ``callback(epoch, net)`` after each epoch (epochs count from 1); returning
            ``False`` stops training after that epoch, keeping it.
        optimizer : bplit.optim.Optimizer, optional
            Instead of ``learning_rate`` (pass exactly one of the two), e.g.
            ``bplit.optim.SGD(0.1, momentum=0.9)`` or ``bplit.optim.Adam()``; its
            ``epoch`` is set at the start of every epoch (for a schedule).
        patience : int, optional
            Stop when ``val_loss`` has not improved for this many epochs (needs
            ``validation_data``).
        restore_best : bool
            At the end, put back the parameters of the epoch with the lowest
            ``val_loss`` (``history.best_epoch``; needs ``validation_data``).

        Returns
        -------
        History
            The per-epoch training costs, with ``val_loss``, ``val_accuracy``,
            ``best_epoch`` and ``stopped_epoch``.

        Notes
        -----
        Progress is kept: if epoch :math:`k` fails (an overflow, an exception in the
        callback, ``KeyboardInterrupt``), the parameters (and the optimizer's state)
        are put back as they were at the end of epoch :math:`k-1`, callback included,
        and the exception is re-raised with the completed :class:`History` as its
        ``.history`` attribute.
        """
        epochs = V.positive_int("epochs", epochs)
        batch_size = V.positive_int("batch_size", batch_size)
        check_rate_or_optimizer(learning_rate, optimizer)
        X, Y = self.check_xy(X, Y)
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, tuple) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (X_val, Y_val)")
            validation = self.check_xy(*validation_data, names=("X_val", "Y_val"))

        def epoch_update(epoch: int) -> Callable[[Array, Array], Any]:
            """One update on a mini-batch during ``epoch``: the optimizer's, or plain gradient descent."""
            if optimizer is not None:
                optimizer.epoch = epoch
                return lambda Xb, Yb: optimizer.apply(self, Xb, Yb)
            eta = V.learning_rate_at(learning_rate, epoch)  # once per epoch
            return lambda Xb, Yb: self.descend(Xb, Yb, eta)

        return train(
            self,
            X,
            Y,
            epochs,
            batch_size,
            epoch_update,
            seed,
            validation,
            progress,
            callback,
            patience,
            restore_best,
            optimizer,
        )
