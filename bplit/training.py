r"""The epoch loop of :meth:`bplit.Network.fit` and :meth:`bplit.GraphNetwork.fit`, and :func:`accuracy`.

Each epoch reshuffles the samples and makes one update per mini-batch (plain gradient
descent with the epoch's learning rate, or an optimizer of :mod:`bplit.optim`); the
epoch's loss combines the batch costs the updates computed, so an epoch costs its steps.
After the validation set and the callback the epoch is complete: its parameters (and
the optimizer's state) are the point training returns to if a later epoch fails.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _validation as V
from .contract import Optimizer
from .losses import probability_rows
from .results import predicted_labels

__all__ = ["History", "Trainable", "accuracy", "train", "TRAIN_LOSSES", "EVALUATION_ROWS"]

Array = np.ndarray
TRAIN_LOSSES = ("batches", "full")
EVALUATION_ROWS = 1024  # rows per chunk (at least batch_size) when fit evaluates a whole set


class History(list):
    """What ``fit`` recorded, one entry per completed epoch; the list itself is the training loss.

    Attributes
    ----------
    epoch : list of int
        The epochs' numbers, from ``initial_epoch + 1``.
    loss : list of float
        The training loss of each epoch (the list's own numbers), without weight decay:
        with ``train_loss="batches"`` (default) the mean of the batch costs the
        epoch's steps computed, each *before* its step, weighted by batch size (with
        ``reduction="sum"``, their sum), as Keras reports ``loss``; with
        ``train_loss="full"`` (:attr:`train_loss`), the whole set's cost after the epoch.
    val_loss, val_accuracy : list of float
        The validation cost after each epoch (given ``validation_data``), and the
        :func:`accuracy` for a classification loss whose targets name one class each.
    best_epoch, stopped_epoch : int or None
        The epoch with the lowest ``val_loss``; the last epoch when training stopped
        early (patience, or a callback returning a false value other than ``None``).
    """

    def __init__(self, train_loss: str = "batches") -> None:
        super().__init__()
        self.epoch: list[int] = []
        self.val_loss: list[float] = []
        self.val_accuracy: list[float] = []
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.train_loss = train_loss

    @property
    def loss(self) -> list[float]:
        return list(self)

    def to_dict(self) -> dict[str, list]:
        """Columns of equal length, ``epoch``, ``loss``, ``val_loss``, ``val_accuracy``, for
        ``pandas.DataFrame(history.to_dict())``; a column not recorded is all NaN."""
        n, columns = len(self), (self.epoch, self, self.val_loss, self.val_accuracy)
        names = ("epoch", "loss", "val_loss", "val_accuracy")
        return {k: list(v) if len(v) == n else [math.nan] * n for k, v in zip(names, columns)}

    def record(self, epoch: int, loss: float, val: tuple[float, float | None] | None) -> None:
        """Add an epoch: its number, loss and ``(val_loss, val_accuracy or None)`` or ``None`` (``fit`` calls it)."""
        self.append(loss)
        self.epoch.append(epoch)
        if val is not None:
            self.val_loss.append(val[0])
            if val[1] is not None:
                self.val_accuracy.append(val[1])

    def drop_last(self) -> None:
        """Forget the last epoch's records (its callback failed: the epoch did not complete)."""
        n = len(self) - 1
        del self[n:], self.epoch[n:], self.val_loss[n:], self.val_accuracy[n:]


# ---------------------------------------------------------------------------- accuracy
def target_labels(Y: object, n_out: int) -> Array:
    """The class of each target, shape ``(m,)``, for ``n_out`` output columns; as :func:`accuracy` checks."""
    Y = np.asarray(Y)
    if Y.ndim == 1:
        if Y.dtype.kind not in "biu":
            hint = "; for strings use np.unique(Y, return_inverse=True)[1]" if Y.dtype.kind in "USO" else ""
            raise TypeError(f"accuracy: 1-D targets must be integer class labels, got dtype {Y.dtype}{hint}")
        top = 2 if n_out == 1 else n_out
        if Y.size and (Y.min() < 0 or Y.max() >= top):
            raise ValueError(f"accuracy: class labels must lie in [0, {top}) for {n_out} output column(s)")
        return Y.astype(np.intp)
    if Y.ndim != 2 or Y.shape[1] != n_out:
        m = Y.shape[0] if Y.ndim else "m"
        raise ValueError(f"accuracy: targets must have shape ({m}, {n_out}) or ({m},), got {Y.shape}")
    if Y.dtype.kind not in "biuf":
        raise TypeError(f"accuracy: targets must be numbers, got dtype {Y.dtype}")
    rows = Y.astype(np.float64) if Y.dtype.kind != "f" else Y
    if n_out == 1:
        if not (np.all(np.isfinite(rows)) and rows.min(initial=0) >= 0 and rows.max(initial=0) <= 1):
            raise ValueError(
                "accuracy: one target column must hold class-1 probabilities in [0, 1] (0/1 labels); "
                "other values are regression targets, which have no accuracy"
            )
    elif rows.shape[0] and not probability_rows(rows):
        raise ValueError(
            "accuracy: target rows must be one-hot (or probability) rows, one class per sample, "
            "each non-negative and summing to 1; these are not (regression targets have no accuracy)"
        )
    return predicted_labels(rows)


def output_labels(A: object) -> Array:
    """The predicted class of each row of class scores ``A`` (see :func:`accuracy`)."""
    A = np.asarray(A)
    if A.ndim != 2 or A.shape[0] == 0:
        raise ValueError(f"accuracy: outputs must have shape (m, n_out) with m >= 1, got {A.shape}")
    if A.dtype.kind not in "biuf" or not np.all(np.isfinite(A)):
        raise ValueError(f"accuracy: outputs must be finite real numbers, got dtype {A.dtype}")
    if A.shape[1] == 1 and (A.min() < 0 or A.max() > 1):
        raise ValueError(
            "accuracy: a single output column must be the probability of class 1, in [0, 1] (a sigmoid "
            f"output); these outputs range over [{A.min():.3g}, {A.max():.3g}]: regression outputs have "
            "no accuracy"
        )
    return predicted_labels(A)


def accuracy(A: Array, Y: Array) -> float:
    """Fraction of samples classified correctly, from class scores and class targets.

    Parameters
    ----------
    A : array-like of shape (m, n_out)
        Finite class scores. Two or more columns: any scores (probabilities, logits);
        the class is a row's arg-max. One column: the probability of class 1, in
        [0, 1] (a sigmoid output); class 1 where it exceeds 0.5.
    Y : array-like of shape (m,) or (m, n_out)
        Integer labels in ``[0, n_out)`` (0/1 or booleans for one column); or rows:
        one column in [0, 1] (class 1 above 0.5), more columns one-hot or probability
        rows (non-negative, summing to 1), whose arg-max is the class.

    Raises
    ------
    ValueError
        For outputs or targets that are not classes (regression ones have no
        accuracy): one output column outside [0, 1], target rows that are not
        probability rows, labels out of range, non-finite values; unequal shapes.
    TypeError
        For 1-D targets that are not integer labels.
    """
    predicted = output_labels(A)
    labels = target_labels(Y, np.shape(A)[1])
    if labels.shape[0] != predicted.shape[0]:
        raise ValueError(
            "accuracy: outputs and targets must have the same number of rows, "
            f"got {predicted.shape[0]} and {labels.shape[0]}"
        )
    return float(np.mean(predicted == labels))


# ---------------------------------------------------------------------------- the loop
def check_rate_or_optimizer(learning_rate: Any, optimizer: Any) -> None:
    """Exactly one of ``learning_rate`` (a positive float or a schedule) and ``optimizer``."""
    if (learning_rate is None) == (optimizer is None):
        raise ValueError(
            "pass exactly one of learning_rate (a positive float, or a callable epoch -> float) "
            f"and optimizer (from bplit.optim); got learning_rate={learning_rate!r}, optimizer={optimizer!r}"
        )
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer must be a bplit.optim.Optimizer (SGD, Adam, or a subclass), got {optimizer!r}"
        )
    if optimizer is None and not callable(learning_rate):
        V.positive_float("learning_rate", learning_rate)


def _progress_bar(first: int, last: int, progress: bool) -> Any:
    epochs = range(first, last + 1)
    if not progress:
        return epochs
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError("progress=True needs tqdm: pip install 'bplit[progress]' (or tqdm)") from None
    return tqdm(epochs, desc="epochs", initial=first - 1, total=last)


def _callback_caller(callback: Callable | None) -> Callable[[int, Any, History], Any] | None:
    """``callback(epoch, net)``, or ``callback(epoch, net, history=history)`` when it takes ``history``."""
    if callback is None:
        return None
    if not callable(callback):
        raise TypeError(f"callback must be callable as callback(epoch, net), got {callback!r}")
    try:
        kinds = {p.name: p.kind for p in inspect.signature(callback).parameters.values()}
    except (TypeError, ValueError):  # no signature to read (some builtins): the two arguments
        kinds = {}
    P = inspect.Parameter
    if P.VAR_KEYWORD in kinds.values() or kinds.get("history") in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY):
        return lambda epoch, net, history: callback(epoch, net, history=history)
    return lambda epoch, net, history: callback(epoch, net)


def _stops(result: object) -> bool:
    """Whether a callback's return value stops training: any false value but ``None``."""
    if result is None:
        return False
    try:
        return not result
    except ValueError:  # e.g. an array of several booleans
        raise TypeError(
            f"callback returned {type(result).__name__} {result!r:.60}, which is neither true nor false: "
            "return None (or nothing) to go on, or a single truth value (False, np.False_) to stop"
        ) from None


def _shuffles(seed: int | np.random.Generator, initial_epoch: int, n: int) -> np.random.Generator:
    """The shuffling at the start of epoch ``initial_epoch + 1``: epoch ``e`` uses the ``e``-th
    permutation of ``default_rng(seed)`` (a Generator is used as it is)."""
    rng = np.random.default_rng(seed)
    if not isinstance(seed, np.random.Generator):
        for _ in range(initial_epoch):
            rng.permutation(n)
    return rng


def evaluate_in_chunks(
    net: Any, X: Array, Y: Array, rows: int, labels: Array | None = None
) -> tuple[float, float | None]:
    """The cost of ``net`` on a whole set of checked arrays, evaluated ``rows`` samples at a
    time (memory stays that of a chunk), and the accuracy against ``labels`` if given.

    Equal to ``net.evaluate(X, Y)[0]`` when ``len(X) <= rows``, else up to rounding.
    """
    n, mean = X.shape[0], getattr(net, "reduction", "mean") == "mean"
    cost, correct = 0.0, 0
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        chunk_cost, outputs = net.evaluate(X[start:stop], Y[start:stop])
        cost += chunk_cost * ((stop - start) / n if mean else 1.0)  # the reduction factors' ratio
        if labels is not None:
            correct += int(np.count_nonzero(predicted_labels(outputs) == labels[start:stop]))
    return float(cost), (None if labels is None else correct / n)


def train(
    net, X, Y, epochs, batch_size, learning_rate, seed, validation_data, progress, callback, optimizer,
    patience, restore_best, initial_epoch, train_loss,
) -> History:  # fmt: skip
    """:meth:`Trainable.fit` of ``net`` (a :class:`bplit.contract.Model` with ``descend``): the
    arguments checked, then the epochs ``initial_epoch + 1`` to ``epochs``."""
    epochs = V.positive_int("epochs", epochs)
    batch_size = V.positive_int("batch_size", batch_size)
    initial_epoch = check_initial_epoch(initial_epoch, epochs)
    if train_loss not in TRAIN_LOSSES:
        raise ValueError(f"train_loss must be one of {list(TRAIN_LOSSES)}, got {train_loss!r}")
    check_rate_or_optimizer(learning_rate, optimizer)
    X, Y = net.check_xy(X, Y)
    validation = None
    if validation_data is not None:
        if not isinstance(validation_data, tuple) or len(validation_data) != 2:
            raise ValueError("validation_data must be a tuple (X_val, Y_val)")
        validation = net.check_xy(*validation_data, names=("X_val", "Y_val"))

    def epoch_update(epoch: int) -> Callable[[Array, Array], float]:
        """One update on a mini-batch during ``epoch``, returning the batch cost before it."""
        if optimizer is not None:
            optimizer.epoch = epoch
            return lambda Xb, Yb: optimizer.apply_terms(net, Xb, Yb)[0]
        eta = V.learning_rate_at(learning_rate, epoch)  # once per epoch
        return lambda Xb, Yb: net.descend(Xb, Yb, eta)

    if (patience is not None or restore_best) and validation is None:
        raise ValueError("patience and restore_best watch the validation loss: pass validation_data too")
    patience = None if patience is None else V.positive_int("patience", patience)
    call = _callback_caller(callback)
    n, mean = X.shape[0], getattr(net, "reduction", "mean") == "mean"
    rows = max(batch_size, EVALUATION_ROWS)
    val_labels = None
    if validation is not None and net.loss_fn.classification:
        try:
            val_labels = target_labels(validation[1], validation[1].shape[1])
        except (TypeError, ValueError):  # targets that are not one class each: no accuracy
            pass
    bar = _progress_bar(initial_epoch + 1, epochs, progress)
    rng = _shuffles(seed, initial_epoch, n)
    history = History(train_loss)
    params = [p for group in net.parameters() for p in group]
    completed = [p.copy() for p in params]  # the end of the last completed epoch
    state, opt_epoch = (None, None) if optimizer is None else (optimizer.state_dict(net), optimizer.epoch)
    best, since_best = None, 0
    try:
        for epoch in bar:
            net.check_params()  # once per epoch: a callback may change the parameters
            order = rng.permutation(n)
            update = epoch_update(epoch)
            total = 0.0
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                total += update(X[idx], Y[idx]) * (idx.shape[0] / n if mean else 1.0)  # the mean over samples
            loss = float(total) if train_loss == "batches" else evaluate_in_chunks(net, X, Y, rows)[0]
            val = None if validation is None else evaluate_in_chunks(net, *validation, rows, val_labels)
            history.record(epoch, loss, val)
            try:
                stop = call is not None and _stops(call(epoch, net, history))
            except BaseException:
                history.drop_last()
                raise
            # the epoch is complete: keep its parameters (and the optimizer's state)
            for p, keep in zip(params, completed):
                np.copyto(keep, p)
            if optimizer is not None:
                state, opt_epoch = optimizer.state_dict(net), optimizer.epoch
            if val is not None:
                if best is None or val[0] < best[0]:
                    kept = ([p.copy() for p in params], state, opt_epoch) if restore_best else None
                    best, since_best = (val[0], kept), 0
                    history.best_epoch = epoch
                else:
                    since_best += 1
                    stop = stop or (patience is not None and since_best >= patience)
            if progress:
                shown = {"loss": f"{loss:.4g}"} | ({} if val is None else {"val_loss": f"{val[0]:.4g}"})
                bar.set_postfix(shown)
            if stop:
                history.stopped_epoch = epoch
                break
    except BaseException as exc:
        for p, keep in zip(params, completed):
            np.copyto(p, keep)
        if optimizer is not None:
            optimizer.load_state_dict(net, state)
            optimizer.epoch = opt_epoch
        try:
            exc.history = history  # type: ignore[attr-defined]
        except AttributeError:  # an exception type without attributes: re-raised as it is
            pass
        raise
    finally:
        if progress:
            bar.close()
    if restore_best and best is not None:
        saved_params, saved_state, saved_epoch = best[1]
        for p, keep in zip(params, saved_params):
            np.copyto(p, keep)
        if optimizer is not None:
            optimizer.load_state_dict(net, saved_state)
            optimizer.epoch = saved_epoch
    return history


def check_initial_epoch(initial_epoch: object, epochs: int) -> int:
    """``initial_epoch`` checked: an integer in ``[0, epochs)``."""
    whole = isinstance(initial_epoch, (int, np.integer)) and not isinstance(initial_epoch, bool)
    if not (whole and 0 <= initial_epoch < epochs):
        raise ValueError(
            f"initial_epoch (the epochs already done) must be an integer in [0, {epochs}), got {initial_epoch!r}: "
            "epochs is the number of the last epoch, as in Keras (fit(epochs=5, initial_epoch=2) runs 3 to 5)"
        )
    return int(initial_epoch)


def fit_error(err: FloatingPointError, dtype: np.dtype) -> FloatingPointError:
    """``fit``'s overflow message, naming the epoch whose parameters the network keeps."""
    history = getattr(err, "history", None)
    kept = "The network's parameters were not changed by this call."
    if history:
        kept = (
            f"The parameters are those of epoch {history.epoch[-1]}, the last that completed (see .history)."
        )
    new = FloatingPointError(
        f"fit: the computation left the range of {np.dtype(dtype)} ({err}); inputs, targets or "
        f"parameters are too large: scale the data or lower the learning rate. {kept}"
    )
    if history is not None:
        new.history = history  # type: ignore[attr-defined]
    return new


class Trainable:
    """``fit`` for a network class: :class:`bplit.Network` and :class:`bplit.GraphNetwork`.

    The class is a :class:`bplit.contract.Model` and also provides its own
    ``descend(X, Y, eta)`` (one gradient-descent step on checked arrays, returning the
    batch cost before it), which ``fit`` uses when it is given a learning rate rather
    than an optimizer.
    """

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
        callback: Callable[..., Any] | None = None,
        *,
        optimizer: Any = None,
        patience: int | None = None,
        restore_best: bool = False,
        initial_epoch: int = 0,
        train_loss: str = "batches",
    ) -> History:
        r"""Mini-batch training, reshuffled every epoch.

        Parameters
        ----------
        X : array-like of shape (n, n_in)
        Y : array-like of shape (n, n_out), or (n,) class labels
            Targets as for ``loss`` (arrays, lists, pandas Series or DataFrames): rows,
            or 1-D integer labels for ``cross_entropy`` (0/1 for ``binary_cross_entropy``
            with one output).
        epochs : int
            The number of the last epoch (as in Keras): epochs ``initial_epoch + 1``
            to ``epochs`` run.
        batch_size : int
            Positive; the last mini-batch of an epoch may be smaller.
        learning_rate : float or callable, optional
            Plain gradient descent :math:`w \leftarrow w - \eta\,\partial C/\partial w`
            on the batch cost; a callable ``epoch -> eta`` (epochs from 1, called once
            per epoch) is a schedule.
        seed : int or numpy.random.Generator
            Seeds the shuffling: epoch :math:`e` uses the :math:`e`-th permutation drawn
            from ``numpy.random.default_rng(seed)``, whatever epoch the call starts at.
            A Generator is drawn from as it is, one permutation per epoch (a resumed run
            repeats an uninterrupted one only if given it as the first call left it).
        validation_data : (X_val, Y_val), optional
            Evaluated after each epoch into ``history.val_loss`` (and, for a
            classification loss, ``history.val_accuracy``).
        progress : bool
            A progress bar over the epochs showing each one's ``loss`` (and
            ``val_loss``); needs the ``progress`` extra (tqdm).
        callback : callable, optional
            ``callback(epoch, net)`` after each epoch, or ``callback(epoch, net,
            history=history)`` if it takes ``history`` (or ``**kwargs``): the
            :class:`History` so far, this epoch included. A false return value other
            than ``None`` (``False``, ``np.False_``, 0) stops training after that
            epoch, keeping it; ``None`` (no ``return``) goes on.
        optimizer : bplit.optim.Optimizer, optional
            Instead of ``learning_rate`` (pass exactly one), e.g. ``SGD(0.1,
            momentum=0.9)`` or ``Adam()``; its ``epoch`` is set at the start of every
            epoch (for a schedule).
        patience : int, optional
            Stop when ``val_loss`` has not improved for this many epochs.
        restore_best : bool
            At the end, put back the parameters of the epoch with the lowest
            ``val_loss`` (``history.best_epoch``), and the optimizer's state and
            ``epoch`` after that epoch. ``patience`` and ``restore_best`` need
            ``validation_data``.
        initial_epoch : int
            Epochs already done (default 0): training continues at epoch
            ``initial_epoch + 1``, so a schedule and the shuffling carry on: with the
            same ``seed``, ``fit(epochs=5)`` equals, bit for bit, ``fit(epochs=2)``,
            ``bplit.save(net, path, optimizer=opt)``, ``net, opt =
            bplit.load_checkpoint(path)``, ``fit(epochs=5, initial_epoch=2, optimizer=opt)``.
        train_loss : {"batches", "full"}
            What ``history.loss`` records, without weight decay. ``"batches"``
            (default): the mean of the batch costs the steps computed anyway, each
            before its step, weighted by batch size (for ``reduction="sum"``, their
            sum), as Keras reports it; free. ``"full"``: the exact cost of the whole
            training set after the epoch, one more forward pass over it (in chunks of
            ``max(batch_size, EVALUATION_ROWS)`` rows).

        Returns
        -------
        History
            The per-epoch training losses, with ``epoch``, ``val_loss``,
            ``val_accuracy``, ``best_epoch``, ``stopped_epoch`` and ``to_dict()``.

        Notes
        -----
        Memory: each step copies its batch; nothing else grows with the number of
        samples but a permutation of their indices (validation sets, and the training
        set for ``train_loss="full"``, are evaluated in chunks).

        Progress is kept: if epoch :math:`k` fails (an overflow, an exception in the
        callback, ``KeyboardInterrupt``), the parameters (and the optimizer's state
        and ``epoch``) are put back as they were at the end of epoch :math:`k-1`,
        callback included, and the exception is re-raised with the completed
        :class:`History` as its ``.history`` attribute.
        """
        try:
            with V.fp_guard():
                return train(
                    self, X, Y, epochs, batch_size, learning_rate, seed, validation_data, progress, callback,
                    optimizer, patience, restore_best, initial_epoch, train_loss,
                )  # fmt: skip
        except FloatingPointError as err:
            raise fit_error(err, self.dtype) from None
