r"""The core of :class:`bplit.Network`: a fully connected network, batch-first, with backpropagation.

This module holds the mathematics only: the forward pass, BP1-BP4 and the gradient
step. :class:`bplit.Network` (:mod:`bplit.network`) adds ``fit`` (:mod:`bplit.training`)
and ``save`` (the file writer) on top; nothing here imports either.

Conventions (one set of names for the whole library)
----------------------------------------------------
* A batch is an array of shape ``(m, n)``: one **row per sample**.
* ``weights[l]`` has shape ``(sizes[l+1], sizes[l])``: row ``j``, column ``k`` holds
  :math:`w_{jk}`, from unit ``k`` of layer ``l`` to unit ``j`` of layer ``l+1`` (as
  ``torch.nn.Linear``). ``biases[l]`` has shape ``(sizes[l+1],)``.
* Layers are numbered from 0 (the input). ``z[l]`` and ``deltas[l]`` belong to layer
  ``l+1``: ``z[l] = a[l] @ weights[l].T + biases[l]``. Source 003 numbers the input
  layer 1, so its :math:`w^l` is ``weights[l-2]`` and its :math:`z^l` is ``z[l-2]``.
* ``C`` is the **batch** cost (``reduction="mean"`` by default), and every gradient,
  including ``deltas``, is a derivative of that ``C``.

Backpropagation reads as source 003's four equations, for a batch (one row per sample):

.. math::
    \delta^{L} = \omega\,\nabla_a C_s \odot f'(z^{L}) \;\text{(BP1)},\quad
    \delta^{l} = (\delta^{l+1} W_{l+1}) \odot f'(z^{l}) \;\text{(BP2)},\quad
    \frac{\partial C}{\partial b_l} = \textstyle\sum_s \delta^{l}_{s} \;\text{(BP3)},\quad
    \frac{\partial C}{\partial W_l} = (\delta^{l})^{\top} a^{(l)} \;\text{(BP4)}

with :math:`\omega` the reduction factor, 1/m or 1 (:func:`bplit.losses.reduction_factor`).
They are one line each in :meth:`NetworkCore.backprop`, which both
:meth:`NetworkCore.gradients` and :meth:`NetworkCore.step` call. The equations are
derived, and checked against this file, in the book chapter "Nielsen's notation (source 003)".
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from . import _validation as V
from ._deprecated import RenamedAttribute
from ._validation import guarded as _guarded
from .activations import Activation, get_activation
from .losses import REDUCTIONS, Loss, get_loss, reduction_factor
from .results import Gradients, Trace, predicted_labels

__all__ = ["NetworkCore", "INITIALIZERS", "weight_and_bias_gradients"]

Array = np.ndarray
INITIALIZERS = ("nielsen", "glorot", "he")
# longdouble (80-bit extended on x86-64) is for reference computations, e.g. central differences
DTYPES = V.NETWORK_DTYPES


def weight_and_bias_gradients(delta: Array, a: Array) -> tuple[Array, Array]:
    r"""``(dC/dW, dC/db)``, shapes ``(n_out, n_in)`` and ``(n_out,)``, of one layer from its error (BP4, BP3).

    .. math::
        \frac{\partial C}{\partial W} = \delta^{\top} a, \qquad
        \frac{\partial C}{\partial b_j} = \sum_s \delta_{sj}

    (BP4 and BP3 of :meth:`NetworkCore.backprop`, for one layer.)

    Parameters
    ----------
    delta : ndarray of shape (m, n_out)
        :math:`\delta = \partial C/\partial z` of the layer, one row per sample.
    a : ndarray of shape (m, n_in)
        The activations feeding the layer.
    """
    return delta.T @ a, delta.sum(axis=0)


class NetworkCore:
    r"""A fully connected feed-forward network, batch-first: the mathematics of :class:`bplit.Network`.

    :class:`bplit.Network` is this class with ``fit`` (:mod:`bplit.training`) and
    ``save`` added.

    .. math::
        z^{(l)} = a^{(l)} W_l^{\top} + b_l, \qquad a^{(l+1)} = f(z^{(l)})

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first, e.g. ``[3, 4, 2]``; at least two layers.
    hidden : str or Activation
        Activation of every hidden layer (attribute ``hidden_activation``): ``"sigmoid"``, ``"tanh"``, ``"relu"``,
        ``"identity"`` (softmax is output-only).
    output : str or Activation
        Activation of the output layer (``output_activation``); also ``"softmax"``.
    loss : str or Loss
        ``"half_sse"`` (default), ``"mse"``, ``"cross_entropy"`` (softmax output) or
        ``"binary_cross_entropy"`` (sigmoid output). See :mod:`bplit.losses`.
    seed : int or numpy.random.Generator
        Seeds the initial parameters.
    dtype : numpy dtype
        ``float64`` (default) or ``float32``; every computation keeps it.
        ``numpy.longdouble`` is accepted for reference computations (no BLAS: slow).
    reduction : {"mean", "sum"}
        Batch cost: mean (default) or sum of the per-sample costs.
    init : {"nielsen", "glorot", "he"}
        ``"nielsen"``: :math:`w \sim N(0, 1/n_{in})`, :math:`b \sim N(0, 1)` (Nielsen's
        ``default_weight_initializer``); ``"glorot"``: :math:`w \sim U(\pm\sqrt{6/(n_{in}+n_{out})})`,
        :math:`b = 0`; ``"he"``: :math:`w \sim N(0, 2/n_{in})`, :math:`b = 0`.

    Notes
    -----
    Accepted data: ``X`` and ``Y`` are real floating-point arrays (float16, float32 or
    float64, or nested lists of floats) of shape ``(m, sizes[0])`` and
    ``(m, sizes[-1])`` with ``m >= 1`` and finite entries; they are converted to the
    network's dtype. For ``cross_entropy``, ``Y`` may also be a 1-D array of integer
    class labels (or integer one-hot rows); for ``binary_cross_entropy`` with one
    output, a 1-D array of 0/1. Other integer, boolean, complex, object and string
    arrays raise :class:`bplit.DtypeError` (a ``TypeError``); wrong shapes, empty
    batches, NaN or inf, and targets the loss cannot take (its ``check_targets``)
    raise ``ValueError``; a computation that would overflow raises
    ``FloatingPointError``. A call that raises leaves the parameters unchanged, except
    ``fit``, which keeps the epochs that completed (see :meth:`fit`). ``step`` and
    ``fit`` update ``weights[l]`` and ``biases[l]`` in place. ``forward_passes`` counts
    the forward passes run (see :func:`bplit.count_forward_passes`).

    Examples
    --------
    >>> import numpy as np, bplit
    >>> net = bplit.Network([3, 4, 2], seed=0)
    >>> X = np.zeros((5, 3)); Y = np.ones((5, 2))
    >>> [g.shape for g in net.gradients(X, Y).weights]
    [(4, 3), (2, 4)]
    """

    forward_passes = 0  # counted by bplit.count_forward_passes
    hidden = RenamedAttribute("hidden_activation")  # the old names, deprecated
    output = RenamedAttribute("output_activation")

    def __init__(
        self,
        sizes: Sequence[int],
        hidden: str | Activation = "sigmoid",
        output: str | Activation = "sigmoid",
        loss: str | Loss = "half_sse",
        seed: int | np.random.Generator = 0,
        dtype: type | np.dtype = np.float64,
        reduction: str = "mean",
        init: str = "nielsen",
    ) -> None:
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
            raise ValueError(f"sizes must be a sequence of at least two layer widths, got {sizes!r}")
        self.sizes = [V.positive_int(f"sizes[{i}]", n) for i, n in enumerate(sizes)]
        self.hidden_activation = get_activation(hidden)
        self.output_activation = get_activation(output)
        if not (h := self.hidden_activation).hidden_ok:
            raise ValueError(f"{h.name} may only be used as the output activation, not as hidden")
        self.loss_fn = get_loss(loss)
        if self.loss_fn.output is not None and self.output_activation.name != self.loss_fn.output:
            raise ValueError(
                f"loss {self.loss_fn.name!r} requires output={self.loss_fn.output!r}, got output={self.output_activation.name!r}"
            )
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {list(REDUCTIONS)}, got {reduction!r}")
        self.reduction = reduction
        self.dtype = V.network_dtype(dtype)
        if init not in INITIALIZERS:
            raise ValueError(f"init must be one of {list(INITIALIZERS)}, got {init!r}")
        self.init = init
        rng = np.random.default_rng(seed)
        self.weights: list[Array] = []
        self.biases: list[Array] = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            if init == "nielsen":
                w = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
                b = rng.standard_normal(n_out)
            elif init == "glorot":
                lim = np.sqrt(6.0 / (n_in + n_out))
                w = rng.uniform(-lim, lim, (n_out, n_in))
                b = np.zeros(n_out)
            else:  # he
                w = rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)
                b = np.zeros(n_out)
            self.weights.append(w.astype(self.dtype))
            self.biases.append(b.astype(self.dtype))

    @property
    def n_layers(self) -> int:
        """Number of weight layers (``len(sizes) - 1``)."""
        return len(self.sizes) - 1

    @property
    def n_params(self) -> int:
        """Number of weights and biases."""
        return sum(w.size + b.size for w, b in zip(self.weights, self.biases))

    def activations(self) -> Iterator[Activation]:
        """The activation of each weight layer, in order."""
        for l in range(self.n_layers):
            yield self.output_activation if l == self.n_layers - 1 else self.hidden_activation

    def check_params(self, finite: bool = True) -> None:
        """Every parameter an array of the right shape and dtype, with finite entries (unless ``finite=False``)."""
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            shape_w = (self.sizes[l + 1], self.sizes[l])
            if not isinstance(w, np.ndarray) or w.shape != shape_w:
                raise ValueError(
                    f"weights[{l}] must be an array of shape {shape_w}, got {getattr(w, 'shape', type(w))}"
                )
            if not isinstance(b, np.ndarray) or b.shape != (shape_w[0],):
                raise ValueError(
                    f"biases[{l}] must be an array of shape ({shape_w[0]},), got {getattr(b, 'shape', type(b))}"
                )
            if w.dtype != self.dtype or b.dtype != self.dtype:
                raise ValueError(
                    f"weights[{l}] and biases[{l}] must have dtype {self.dtype}, got {w.dtype} and {b.dtype}"
                )
            if finite and not (V.all_finite(w) and V.all_finite(b)):
                raise ValueError(f"weights[{l}] or biases[{l}] contain NaN or infinite values")

    def _check_x(self, X: object) -> Array:
        self.check_params()
        return V.as_batch("X", X, self.sizes[0], self.dtype)

    def check_xy(
        self, X: object, Y: object, names: tuple[str, str] = ("X", "Y"), check_params: bool = True
    ) -> tuple[Array, Array]:
        """Validated parameters, inputs ``X`` and targets ``Y`` (including the loss's own target checks).

        With ``check_params=False`` the parameters' shapes and dtype are checked, and the
        finiteness of the parameters and of ``X`` is left to the caller (:meth:`descend`
        checks them with the update).
        """
        self.check_params(finite=check_params)
        X = V.as_batch(names[0], X, self.sizes[0], self.dtype, finite=check_params)
        Y = V.as_targets(names[1], Y, self.sizes[-1], self.dtype, self.loss_fn)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(
                f"{names[0]} and {names[1]} must have the same number of rows, got {X.shape[0]} and {Y.shape[0]}"
            )
        if self.loss_fn.check_targets is not None:
            self.loss_fn.check_targets(Y)
        return X, Y

    # ------------------------------------------------------------------ forward
    def _forward(self, X: Array, out: tuple[list, list] | None = None) -> Trace:
        r"""Feedforward, :math:`z^{(l)} = a^{(l)} W_l^{\top} + b_l`, :math:`a^{(l+1)} = f(z^{(l)})`.

        ``out``: arrays for :math:`z^{\top}`, :math:`a` and what the activations keep, of this
        batch size, which the step reuses (:meth:`_step_buffers`); without them all are new.
        """
        self.forward_passes += 1
        zT, act, keep = out if out is not None else ([None] * self.n_layers,) * 3
        z: list[Array] = []
        a: list[Array] = [X]
        kept: list[Array | None] = [None] * self.n_layers
        for l, (w, b, f) in enumerate(zip(self.weights, self.biases, self.activations())):
            z.append(np.matmul(w, a[-1].T, out=zT[l]).T)  # a W^T, computed as (W a^T)^T: faster for BLAS
            z[-1] += b
            if f.keeps and l < self.n_layers - 1:  # e.g. the sigmoid's e^{-z}, for BP2's f'(z)
                kept[l] = np.empty_like(z[-1]) if keep[l] is None else keep[l]
            a.append(f.apply(z[-1], out=act[l], keep=kept[l]))
        return Trace(z, a, kept)

    @_guarded
    def forward(self, X: Array) -> Trace:
        """Run the network on a batch.

        Parameters
        ----------
        X : ndarray of shape (m, sizes[0])
            Real floating-point inputs, one row per sample.

        Returns
        -------
        Trace
            ``.z`` (weighted inputs per layer) and ``.a`` (activations, ``a[0] = X``),
            C-contiguous arrays of shape ``(m, sizes[l])``.
        """
        trace = self._forward(self._check_x(X))
        return Trace([np.ascontiguousarray(z) for z in trace.z], [np.ascontiguousarray(a) for a in trace.a])

    @_guarded
    def predict(self, X: Array) -> Array:
        """Output activations, ndarray of shape ``(m, sizes[-1])``."""
        return self.forward(X).a[-1]

    def predict_proba(self, X: Array) -> Array:
        """Class probabilities: the softmax or sigmoid outputs, ndarray of shape ``(m, sizes[-1])``:
        rows summing to 1 (softmax), or each entry its own class's probability (sigmoid).

        Raises
        ------
        ValueError
            If the output activation is neither softmax nor sigmoid.
        """
        if self.output_activation.name not in ("softmax", "sigmoid"):
            raise ValueError(
                f"predict_proba needs a softmax or sigmoid output (probabilities), this network's output is "
                f"{self.output_activation.name!r}; use predict for its outputs"
            )
        return self.predict(X)

    def classify(self, X: Array) -> Array:
        """Class labels, ndarray of shape ``(m,)`` of integers: the arg-max of each output row;
        for a single sigmoid output unit, 1 where the output exceeds 0.5, else 0.

        Raises
        ------
        ValueError
            For a single output unit that is not a sigmoid (there is nothing to compare).
        """
        if self.sizes[-1] == 1 and self.output_activation.name != "sigmoid":
            raise ValueError(
                f"classify with one output unit needs a sigmoid output (thresholded at 0.5), got {self.output_activation.name!r}"
            )
        return predicted_labels(self.predict(X))

    def _cost(self, trace: Trace, Y: Array) -> float:
        r"""The batch cost :math:`C = \omega\sum_s C_s`."""
        return self.loss_fn.total(trace.z[-1], trace.a[-1], Y) * reduction_factor(self.reduction, Y.shape[0])

    def evaluate(self, X: Array, Y: Array) -> tuple[float, Array]:
        """The batch cost and the outputs on checked arrays."""
        trace = self._forward(X)
        return self._cost(trace, Y), trace.a[-1]

    @_guarded
    def loss(self, X: Array, Y: Array) -> float:
        """The batch cost :math:`C` on ``(X, Y)`` (``Y`` of shape ``(m, sizes[-1])``)."""
        X, Y = self.check_xy(X, Y)
        return self._cost(self._forward(X), Y)

    # ------------------------------------------------------------------ backward
    def backprop(
        self, trace: Trace, Y: Array, scale: float = 1.0, out: tuple[list, list] | None = None
    ) -> Gradients:
        r"""BP1-BP4 from a forward pass's ``trace``: the gradients of ``scale`` times the batch cost.

        ``Y`` as :meth:`check_xy` returns it. ``scale=1`` gives the gradients (:meth:`gradients`);
        the equations are linear in the cost, so :meth:`step` passes :math:`-\eta` and gets the
        update itself, into ``out`` (lists shaped like ``(weights, biases)``, reused every step).
        """
        z, a, w, f = trace.z, trace.a, self.weights, self.hidden_activation
        L = self.n_layers
        e = trace.kept or [None] * L  # what f kept in the forward pass, e.g. the sigmoid's e^{-z}
        nabla_w, nabla_b = out if out is not None else ([None] * L, [None] * L)
        deltas = [None] * L
        omega = scale * reduction_factor(self.reduction, Y.shape[0])
        delta = omega * self.loss_fn.output_delta(z[-1], a[-1], Y, self.output_activation)  # BP1
        for l in range(L - 1, -1, -1):
            deltas[l] = delta
            nabla_b[l] = delta.sum(axis=0, out=nabla_b[l])  # BP3
            nabla_w[l] = np.matmul(delta.T, a[l], out=nabla_w[l])  # BP4
            if l > 0:
                # BP2, delta W computed as (W^T delta^T)^T: laid out like z (column-major), so the
                # product with f'(z) runs over both arrays in the same order (mixed orders cost 3-10x)
                delta = (w[l].T @ delta.T).T * f.derivative_given(z[l - 1], a[l], e[l - 1])  # BP2
        return Gradients(nabla_w, nabla_b, deltas)

    def backward(self, trace: Trace, Y: Array) -> Gradients:
        """Gradients of the batch cost from the ``trace`` of :meth:`forward` (:meth:`backprop` with ``scale=1``)."""
        return self.backprop(trace, Y)

    def parameters(self) -> tuple[list[Array], list[Array]]:
        """The parameter arrays themselves (updated in place): ``(weights, biases)``."""
        return self.weights, self.biases

    def cost_and_gradients(self, X: Array, Y: Array) -> tuple[float, list[Array], list[Array]]:
        """The batch cost and its gradients on checked arrays, in the order of :meth:`parameters`."""
        trace = self._forward(X)
        g = self.backprop(trace, Y)
        return self._cost(trace, Y), g.weights, g.biases

    @_guarded
    def gradients(self, X: Array, Y: Array) -> Gradients:
        r"""Backpropagation: gradients of the batch cost :math:`C` on ``(X, Y)``.

        .. math::
            \delta^{L} = \nabla_a C \odot f'(z^{L}),\quad
            \delta^{l} = (\delta^{l+1} W_{l+1}) \odot f'(z^{l}),\quad
            \frac{\partial C}{\partial W_l} = (\delta^{l})^{\top} a^{(l)},\quad
            \frac{\partial C}{\partial b_l} = \textstyle\sum_s \delta^{l}_{s}

        Parameters
        ----------
        X : ndarray of shape (m, sizes[0])
        Y : ndarray of shape (m, sizes[-1])

        Returns
        -------
        Gradients
            ``.weights``, ``.biases`` shaped like the parameters and ``.deltas``.
        """
        X, Y = self.check_xy(X, Y)
        return self.backprop(self._forward(X), Y)

    # ------------------------------------------------------------------ training
    def descend(self, X: Array, Y: Array, eta: float) -> float:
        r"""One gradient-descent step on checked arrays (:meth:`step` without its input checks).

        :math:`W \leftarrow W - \eta\,\partial C/\partial W`, :math:`b \leftarrow b -
        \eta\,\partial C/\partial b`, in place and atomic: applied only when no entry can
        overflow (each change bounded by the norms of its factors: no pass over it); else a
        ``ValueError`` names a non-finite ``X`` or parameter, or a ``FloatingPointError`` is
        raised, and nothing has changed. Returns the batch cost before the step."""
        x_norm = V.norm(X)  # proves X finite, and bounds the change of weights[0]
        if not math.isfinite(x_norm) and not V.all_finite(X):
            raise ValueError("X contains NaN or infinite values")
        forward_arrays, change_arrays = self._step_buffers(X.shape[0])
        trace = self._forward(X, out=forward_arrays)
        cost = self._cost(trace, Y)
        change = self.backprop(trace, Y, scale=-eta, out=change_arrays)  # -eta dC/dW and -eta dC/db
        params, changes = self.weights + self.biases, change.weights + change.biases
        a_norms = [x_norm] + [V.norm(a) for a in trace.a[1:-1]]
        if not V.safe_to_add(params, changes, V.change_bounds(change.deltas, a_norms)):
            self.check_params()
            raise FloatingPointError(f"a step of size {eta!r} would overflow {self.dtype}")
        for p, dp in zip(params, changes):
            p += dp
        return cost

    @_guarded
    def step(self, X: Array, Y: Array, learning_rate: float) -> float:
        r"""One gradient-descent update on the batch: :math:`w \to w - \eta\,\partial C/\partial w`.

        The forward pass, BP1-BP4 (:meth:`backprop`, as in :meth:`gradients`) and the
        update (:meth:`descend`). Returns the batch cost *before* the update. The step is
        atomic: the parameters change only when every input was valid and every new value
        is finite; otherwise an exception is raised and the network is unchanged.
        """
        eta = V.positive_float("learning_rate", learning_rate)
        X, Y = self.check_xy(X, Y, check_params=False)  # descend checks them with the update
        try:
            return self.descend(X, Y, eta)
        except FloatingPointError:
            self.check_params()  # a non-finite parameter is named, not reported as an overflow
            raise

    def _step_buffers(
        self, m: int
    ) -> tuple[tuple[list[Array], list[Array]], tuple[list[Array], list[Array]]]:
        """Arrays :meth:`descend` reuses every step: ``z^T`` and ``a`` for batches of ``m`` rows (a
        few batch sizes kept) and changes shaped like the parameters (allocating these megabytes
        afresh cost several percent of benchmark case B's step in page faults, 1 thread)."""
        cache = self.__dict__.setdefault("_buffers", {})
        key = (self.dtype.str, *self.sizes)  # dtype as a string: np.dtype("float64") == None is True
        if cache.get("key") != key:
            cache.clear()
            cache["key"] = key
            cache["change"] = (
                [np.empty_like(w) for w in self.weights],
                [np.empty_like(b) for b in self.biases],
            )
        if m not in cache:
            if len(cache) > 5:  # a few batch sizes (fit's last batch is often smaller), not every one
                for k in [k for k in cache if isinstance(k, int)]:
                    del cache[k]
            cache[m] = (
                [np.empty((n, m), self.dtype) for n in self.sizes[1:]],
                [np.empty((n, m), self.dtype).T for n in self.sizes[1:]],  # column-major, as z
                [
                    np.empty((n, m), self.dtype).T if f.keeps else None
                    for n, f in zip(self.sizes[1:], self.activations())
                ],
            )
        return cache[m], cache["change"]

    def __getstate__(self) -> dict:
        """For pickle and copies: everything but the step's reusable arrays."""
        return {k: v for k, v in self.__dict__.items() if k != "_buffers"}

    # ------------------------------------------------------------------ utilities
    def copy(self) -> NetworkCore:
        """A deep copy (parameters copied)."""
        return self.astype(self.dtype)

    def astype(self, dtype: type | np.dtype) -> NetworkCore:
        """A copy of this network whose parameters and computations use ``dtype``."""
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__getstate__())  # the step's reusable arrays are not shared
        new.dtype = V.network_dtype(dtype)
        new.weights = [w.astype(new.dtype, copy=True) for w in self.weights]
        new.biases = [b.astype(new.dtype, copy=True) for b in self.biases]
        return new

    def config(self) -> dict:
        """The constructor arguments (JSON-serialisable) that rebuild this network's shape."""
        return {
            "sizes": list(self.sizes),
            "hidden": self.hidden_activation.name,
            "output": self.output_activation.name,
            "loss": self.loss_fn.name,
            "dtype": self.dtype.name,
            "reduction": self.reduction,
            "init": self.init,
        }

    def __repr__(self) -> str:
        c = self.config()
        return (
            f"{type(self).__name__}({c['sizes']}, hidden={c['hidden']!r}, output={c['output']!r}, "
            f"loss={c['loss']!r}, dtype={c['dtype']}, reduction={c['reduction']!r})"
        )
