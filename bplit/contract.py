r"""The contract between networks and optimizers: what each side may use of the other.

A *model* is anything :class:`Model` describes: :class:`bplit.Network` and
:class:`bplit.GraphNetwork` are models. An *optimizer* is a subclass of
:class:`Optimizer` (:class:`bplit.optim.SGD`, :class:`bplit.optim.Adam`, or your own):
it turns the gradients a model gives into new values of the model's parameters.
``net.fit(X, Y, epochs, batch_size, optimizer=opt)`` and ``opt.step(net, X, Y)`` use
only the names below, so a new optimizer needs only :meth:`Optimizer.update` (and
:meth:`Optimizer.init_state` when it keeps state between steps).
"""

from __future__ import annotations

import copy
import math
import weakref
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from . import _validation as V

__all__ = ["Model", "Optimizer"]

Array = np.ndarray
Rate = float | Callable[[int], float]


@runtime_checkable
class Model(Protocol):
    """What training and the optimizers use of a network.

    Attributes
    ----------
    dtype : numpy.dtype
        The floating-point type of the parameters and of every computation.
    loss_fn : bplit.Loss
        The loss (``classification`` says whether accuracy means anything).
    """

    dtype: np.dtype
    loss_fn: Any

    def parameters(self) -> tuple[list[Array], list[Array]]:
        """The live parameter arrays, ``(weights, biases)``: changing them changes the network."""
        ...

    def check_params(self) -> None:
        """Raise ``ValueError`` unless every parameter has its shape and dtype and is finite."""
        ...

    def check_xy(self, X: object, Y: object, names: tuple[str, str] = ("X", "Y")) -> tuple[Array, Array]:
        """Validated inputs and targets, as arrays in :attr:`dtype` (``names`` appear in errors)."""
        ...

    def evaluate(self, X: Array, Y: Array) -> tuple[float, Array]:
        """The batch cost and the outputs, on arrays that :meth:`check_xy` returned."""
        ...

    def cost_and_gradients(self, X: Array, Y: Array) -> tuple[float, list[Array], list[Array]]:
        """The batch cost and its gradients from one forward and one backward pass, on
        arrays that :meth:`check_xy` returned: ``(cost, weight_grads, bias_grads)``,
        fresh arrays in the order of :meth:`parameters` (the caller may overwrite them)."""
        ...


MODEL_METHODS = ("check_xy", "parameters", "cost_and_gradients")


def check_model(net: object) -> None:
    """Raise ``TypeError`` unless ``net`` has the methods of :class:`Model` that a step uses."""
    if not hasattr(net, "dtype") or not all(callable(getattr(net, n, None)) for n in MODEL_METHODS):
        raise TypeError(
            "net must be a bplit.Network or bplit.GraphNetwork (an object with dtype, check_xy, "
            f"parameters and cost_and_gradients), got {type(net).__name__}; call opt.step(net, X, Y)"
        )


class Optimizer:
    r"""Base class: learning rate (or schedule), weight decay, and state per network.

    A subclass provides :meth:`update` (and :meth:`init_state` when it keeps state,
    with :attr:`state_keys` naming its lists of arrays). The base class does the
    rest for every optimizer alike: :meth:`step` validates the batch and asks the
    model for its cost and gradients (:meth:`Model.cost_and_gradients`), adds the
    weight decay, calls :meth:`update`, and stores the new parameters and state only
    when every value is finite; it keeps one state per network (weakly: a network
    that is gone takes its state with it), which :meth:`state_dict` copies out and
    :meth:`load_state_dict` puts back.

    Parameters
    ----------
    learning_rate : float or callable
        :math:`\eta > 0`, or a schedule ``epoch -> eta`` evaluated at :attr:`epoch`
        (epochs count from 1).
    weight_decay : float
        :math:`\lambda \ge 0`: adds :math:`\frac{\lambda}{2}\sum w^2` over the weights
        (not the biases) to the batch cost.

    Attributes
    ----------
    epoch : int
        The epoch the schedule is evaluated at (default 1); ``fit`` sets it at the
        start of every epoch, a loop calling :meth:`step` may set it.
    """

    state_keys: tuple[str, ...] = ()
    """The keys of the state's lists of arrays (one array per parameter), e.g. ``("m", "v")``."""

    def __init__(self, learning_rate: Rate, weight_decay: float = 0.0) -> None:
        self.learning_rate = learning_rate
        self.weight_decay = V.in_range("weight_decay", weight_decay, 0.0, math.inf, False)
        self.epoch = 1
        self._states: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @property
    def learning_rate(self) -> Rate:
        """The learning rate :math:`\\eta`: a positive float or a callable ``epoch -> float``."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Rate) -> None:
        self._learning_rate = value if callable(value) else V.positive_float("learning_rate", value)

    @property
    def epoch(self) -> int:
        return self._epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._epoch = V.positive_int("epoch", value)

    def learning_rate_at(self, epoch: int | None = None) -> float:
        """The learning rate of ``epoch`` (default :attr:`epoch`), checked positive and finite.

        Raises
        ------
        ValueError
            If the schedule returns anything but a positive finite number, naming the epoch.
        """
        epoch = self.epoch if epoch is None else V.positive_int("epoch", epoch)
        return V.learning_rate_at(self._learning_rate, epoch)

    # ------------------------------------------------------------------ one update
    def step(self, net: Any, X: Any, Y: Any) -> float:
        r"""One update of ``net``'s parameters on the batch ``(X, Y)``.

        Parameters
        ----------
        net : bplit.Network or bplit.GraphNetwork
        X : ndarray of shape (m, n_in)
        Y : ndarray of shape (m, n_out), or (m,) class labels (as for ``net.loss``)

        Returns
        -------
        float
            The batch cost *before* the update, :math:`C + \frac{\lambda}{2}\sum w^2`.

        Raises
        ------
        TypeError
            If ``net`` is not a network.
        FloatingPointError
            If a value would overflow or is not finite. A failed step changes
            neither the network nor the optimizer's state.
        """
        check_model(net)
        try:
            with V.fp_guard():
                X, Y = net.check_xy(X, Y)
                return self.apply(net, X, Y)
        except FloatingPointError as err:
            raise FloatingPointError(
                f"{type(self).__name__}.step: the computation left the range of {np.dtype(net.dtype)} ({err}); "
                "inputs, targets, parameters or the learning rate are too large. The network's parameters "
                "and the optimizer's state were not changed by this call."
            ) from None

    def init_state(self, params: list[Array]) -> dict | None:
        """The state before the first step on a network with parameters ``params``
        (weights, then biases): ``None`` (the default) keeps none, otherwise a dict with
        ``"step": 0`` and a list of arrays like ``params`` under each of :attr:`state_keys`."""
        return None

    def update(
        self, params: list[Array], grads: list[Array], state: dict | None, eta: float
    ) -> tuple[list[Array], dict | None]:
        """The new parameters and the new state, as *new* arrays, from the parameters,
        their gradients (weight decay included), the state and the learning rate of
        this epoch; the arguments must be left untouched. Every optimizer defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define update(params, grads, state, eta)")

    def apply(self, net: Any, X: Array, Y: Array) -> float:
        """:meth:`step` on arrays already returned by ``net.check_xy``: the update, atomic.

        Returns the batch cost before the update, weight-decay term included (the sum
        of the two numbers :meth:`apply_terms` returns).
        """
        cost, decay = self.apply_terms(net, X, Y)
        return float(cost + decay)

    def apply_terms(self, net: Any, X: Array, Y: Array) -> tuple[float, float]:
        r""":meth:`apply`, returning the batch cost :math:`C` and the weight-decay term
        :math:`\frac{\lambda}{2}\sum w^2` (0 without decay) apart, both before the update.

        ``fit`` records :math:`C` alone in its history, as it records ``val_loss``.
        """
        eta = self.learning_rate_at()
        with V.fp_guard():
            cost, gw, gb = net.cost_and_gradients(X, Y)
            weights, biases = net.parameters()
            lam = self.weight_decay
            decay = 0.0
            if lam > 0:
                decay = 0.5 * lam * sum(float(np.vdot(w, w)) for w in weights)
                for g, w in zip(gw, weights):
                    g += lam * w  # fresh arrays: the contract lets us overwrite them
            params = [*weights, *biases]
            state = self._states.get(net)
            if state is None:
                state = self.init_state(params)
            new_params, new_state = self.update(params, [*gw, *gb], state, eta)
            arrays = [*new_params, *self._state_arrays(new_state)]
            if not (math.isfinite(cost + decay) and all(V.all_finite(a) for a in arrays)):
                raise FloatingPointError("the update gave values that are not finite")
        for p, new in zip(params, new_params):  # store: cannot fail
            np.copyto(p, new)
        if new_state is not None:
            self._states[net] = new_state
        return float(cost), float(decay)

    # ------------------------------------------------------------------ state
    def _state_arrays(self, state: dict | None) -> list[Array]:
        return [] if state is None else [a for key in self.state_keys for a in state[key]]

    def state_dict(self, net: Any) -> dict | None:
        """A copy of the state kept for ``net`` (``"step"`` and the arrays under each of
        :attr:`state_keys`), or ``None`` when there is none yet; changing it changes nothing."""
        return copy.deepcopy(self._states.get(net))

    def load_state_dict(self, net: Any, state: dict | None) -> None:
        """Replace the state kept for ``net`` by a copy of ``state`` (``None`` forgets it).

        Raises
        ------
        ValueError
            If ``state`` is not a state of this optimizer for ``net``'s parameters.
        """
        check_model(net)
        if state is None:
            self._states.pop(net, None)
            return
        params = [p for group in net.parameters() for p in group]
        if not isinstance(state, dict) or set(state) != {"step", *self.state_keys}:
            raise ValueError(f"{type(self).__name__}: not a state of this optimizer: {state!r:.80}")
        for key in self.state_keys:
            arrays = state[key]
            if len(arrays) != len(params) or any(
                not isinstance(a, np.ndarray) or a.shape != p.shape or a.dtype != p.dtype
                for a, p in zip(arrays, params)
            ):
                raise ValueError(
                    f"{type(self).__name__}: state {key!r} does not match the network's parameters"
                )
        self._states[net] = copy.deepcopy(state)

    def reset(self, net: Any = None) -> None:
        """Forget the state kept for ``net`` (velocity, moments, step count), or for every network."""
        if net is None:
            self._states.clear()
        else:
            self._states.pop(net, None)
