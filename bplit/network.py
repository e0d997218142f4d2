"""The core: a fully connected network, batch-first, with backpropagation.

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

The equations are derived, and checked against this file, in the book chapter
"Nielsen's notation (source 003)".
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from . import _blas
from . import _validation as V
from .activations import Activation, _softmax_into, get_activation
from .losses import REDUCTIONS, Loss, cross_entropy_from, get_loss

__all__ = ["Network", "Trace", "Gradients", "History", "INITIALIZERS"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _guarded(method: _F) -> _F:
    """Run ``method`` with floating-point overflow and invalid operations raising.

    Inputs and parameters are checked to be finite before any arithmetic, so with
    this guard every result a public method returns is finite; a computation that
    would overflow raises a :class:`FloatingPointError` that says so, instead of a
    warning and an ``inf`` or ``nan`` deep inside NumPy.
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
                return method(self, *args, **kwargs)
        except FloatingPointError as err:
            raise FloatingPointError(
                f"{method.__name__}: the computation left the range of {np.dtype(self.dtype)} ({err}); "
                "inputs, targets or parameters are too large: scale the data or lower the learning rate. "
                "The network's parameters were not changed by this call."
            ) from None

    return wrapper  # type: ignore[return-value]


Array = np.ndarray
_FUSED_MIN_SIZE = 4096  # smaller weight matrices: np.matmul and += cost less than a ctypes call
# the fused update runs only when it provably stays below this (a quarter of the largest float: rounding room)
_UPDATE_LIMIT = {np.dtype(t): 0.25 * float(np.finfo(t).max) for t in (np.float32, np.float64, np.longdouble)}
INITIALIZERS = ("nielsen", "glorot", "he")
# longdouble (80-bit extended on x86-64) is for reference computations, e.g. central differences
DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.longdouble))


@dataclass
class Trace:
    """What a forward pass computed.

    Attributes
    ----------
    z : list of ndarray
        ``z[l]`` of shape ``(m, sizes[l+1])``: weighted inputs of layer ``l+1``.
    a : list of ndarray
        ``a[0]`` is the input ``X``; ``a[l]`` of shape ``(m, sizes[l])``.
    """

    z: list[Array]
    a: list[Array]

    @property
    def output(self) -> Array:
        """The network's output ``a[-1]``."""
        return self.a[-1]


@dataclass
class Gradients:
    """Gradients of the batch cost, shaped like the parameters.

    Attributes
    ----------
    weights : list of ndarray
        ``weights[l]`` of shape ``(sizes[l+1], sizes[l])``: :math:`\\partial C/\\partial w`.
    biases : list of ndarray
        ``biases[l]`` of shape ``(sizes[l+1],)``.
    deltas : list of ndarray or None
        ``deltas[l]`` of shape ``(m, sizes[l+1])``: :math:`\\delta = \\partial C/\\partial z`
        for the batch cost (so with ``reduction="mean"`` each row carries the ``1/m``).
    """

    weights: list[Array]
    biases: list[Array]
    deltas: list[Array] | None = None

    def flat(self) -> Array:
        """All weight then bias gradients in one vector (layer by layer)."""
        return np.concatenate([g.ravel() for g in self.weights] + [g.ravel() for g in self.biases])


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


class _Workspace:
    """Scratch arrays reused across training steps, so a step allocates (almost) nothing.

    Large temporaries that are allocated and freed on every step cost page faults;
    reusing them is most of what makes :meth:`Network.step` close to its matrix products.
    One set per batch size ``m``, held in lists indexed by layer (no look-up by name).
    """

    def __init__(self, sizes: Sequence[int], m: int, dtype: np.dtype) -> None:
        out = sizes[1:]
        self.z = [np.empty((m, n), dtype) for n in out]
        self.a = [np.empty((m, n), dtype) for n in out]  # a[l] holds activation a[l+1]
        self.back = [np.empty((m, n), dtype) for n in sizes[:-1]]  # delta @ w, then delta of the layer below
        self.tmp = [np.empty((m, n), dtype) for n in sizes[:-1]]
        self.delta = np.empty((m, out[-1]), dtype)
        self.nb = [np.empty(n, dtype) for n in out]
        self.ones = np.ones(m, dtype)  # sum over the batch as a BLAS product: ones @ delta
        self.shifted = np.empty((m, out[-1]), dtype)  # softmax output: z - max and row sums, for the cost
        self.sums = np.empty(m, dtype)
        self.ones_out = np.ones(out[-1], dtype)
        self.nw: list[Array | None] = [None] * len(out)  # new weights, only when not updated in place

    def new_weights(self, l: int, shape: tuple[int, ...], dtype: np.dtype) -> Array:
        nw = self.nw[l]
        if nw is None or nw.shape != shape or nw.dtype != dtype:
            nw = self.nw[l] = np.empty(shape, dtype)
        return nw


class Network:
    r"""A fully connected feed-forward network, batch-first.

    .. math::
        z^{(l)} = a^{(l)} W_l^{\top} + b_l, \qquad a^{(l+1)} = f(z^{(l)})

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first, e.g. ``[3, 4, 2]``; at least two layers.
    hidden : str or Activation
        Activation of every hidden layer: ``"sigmoid"``, ``"tanh"``, ``"relu"``,
        ``"identity"`` (softmax is output-only).
    output : str or Activation
        Activation of the output layer; also ``"softmax"``.
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
    network's dtype. Integer, boolean, complex, object and string arrays raise
    ``TypeError``; wrong shapes, empty batches, NaN or inf, and targets the loss cannot
    take raise ``ValueError``; a computation that would overflow raises
    ``FloatingPointError``. A call that raises leaves the parameters unchanged.
    ``step`` and ``fit`` update ``weights[l]`` and ``biases[l]`` in place.

    The parameters are C-contiguous arrays; arrays of another layout may be assigned
    (Fortran-ordered weights are updated in place by the same fused product).

    Examples
    --------
    >>> import numpy as np, bplit
    >>> net = bplit.Network([3, 4, 2], seed=0)
    >>> X = np.zeros((5, 3)); Y = np.ones((5, 2))
    >>> [g.shape for g in net.gradients(X, Y).weights]
    [(4, 3), (2, 4)]
    """

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
        self.hidden = get_activation(hidden)
        self.output = get_activation(output)
        if not self.hidden.hidden_ok:
            raise ValueError(f"{self.hidden.name} may only be used as the output activation, not as hidden")
        self.loss_fn = get_loss(loss)
        if self.loss_fn.output is not None and self.output.name != self.loss_fn.output:
            raise ValueError(
                f"loss {self.loss_fn.name!r} requires output={self.loss_fn.output!r}, got output={self.output.name!r}"
            )
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {list(REDUCTIONS)}, got {reduction!r}")
        self.reduction = reduction
        self.dtype = np.dtype(dtype)
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of float32, float64, longdouble, got {self.dtype}")
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

    # ------------------------------------------------------------------ helpers
    def _workspace(self, m: int) -> _Workspace:
        cache = self.__dict__.get("_ws")
        if cache is None:
            cache = self._ws = {}
        ws = cache.get(m)
        if ws is None:
            if len(cache) >= 4:  # a few batch sizes (fit's last batch is often smaller), not every one
                cache.clear()
            ws = cache[m] = _Workspace(self.sizes, m, self.dtype)
        return ws

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
            yield self.output if l == self.n_layers - 1 else self.hidden

    def _check_params(self) -> list[float]:
        """Validate the parameters; return the Frobenius norm of each weight matrix (``inf`` if huge)."""
        norms = []
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
            sq = V.finite_sq(w)
            if sq is None or V.finite_sq(b) is None:
                raise ValueError(f"weights[{l}] or biases[{l}] contain NaN or infinite values")
            norms.append(math.sqrt(sq))
        return norms

    def _check_x(self, X: object) -> Array:
        self._check_params()
        return V.as_batch_sq("X", X, self.sizes[0], self.dtype)[0]

    def _check_xy(self, X: object, Y: object, names: tuple[str, str] = ("X", "Y")) -> tuple[Array, Array]:
        return self._check_data(X, Y, names)[:2]

    def _check_data(
        self, X: object, Y: object, names: tuple[str, str] = ("X", "Y")
    ) -> tuple[Array, Array, float, list[float]]:
        """Validated ``X``, ``Y``, the norm of ``X`` and the norms of the weight matrices."""
        norm_w = self._check_params()
        X, sq_x = V.as_batch_sq(names[0], X, self.sizes[0], self.dtype)
        Y = V.as_batch_sq(names[1], Y, self.sizes[-1], self.dtype)[0]
        if Y.shape[0] != X.shape[0]:
            raise ValueError(
                f"{names[0]} and {names[1]} must have the same number of rows, got {X.shape[0]} and {Y.shape[0]}"
            )
        V.check_targets(self.loss_fn.name, Y)
        return X, Y, math.sqrt(sq_x), norm_w

    # ------------------------------------------------------------------ forward
    def _forward(self, X: Array, ws: _Workspace | None = None) -> Trace:
        """Feedforward. With a workspace every array is a reused scratch buffer."""
        z: list[Array] = []
        a: list[Array] = [X]
        last = len(self.weights) - 1
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            f = self.output if l == last else self.hidden
            z_l = np.matmul(a[-1], w.T, out=None if ws is None else ws.z[l])
            z_l += b
            z.append(z_l)
            if ws is None:
                a.append(f.value(z_l))
            elif l == last and f.name == "softmax":  # keep what the cross-entropy needs
                a.append(_softmax_into(z_l, ws.a[l], ws.shifted, ws.sums, ws.ones_out))
            else:
                a.append(f.forward_into(z_l, ws.a[l]))
        return Trace(z, a)

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
            ``.z`` (weighted inputs per layer) and ``.a`` (activations, ``a[0] = X``).
        """
        return self._forward(self._check_x(X))

    @_guarded
    def predict(self, X: Array) -> Array:
        """Output activations, ndarray of shape ``(m, sizes[-1])``."""
        return self.forward(X).a[-1]

    def _cost(self, trace: Trace, Y: Array, ws: _Workspace | None = None) -> float:
        if ws is not None and self.loss_fn.name == "cross_entropy":  # from the forward pass's softmax
            c = cross_entropy_from(ws.shifted, ws.sums, Y, ones=ws.ones_out)
        else:
            c = self.loss_fn.total(trace.z[-1], trace.a[-1], Y)
        return c / Y.shape[0] if self.reduction == "mean" else c

    @_guarded
    def loss(self, X: Array, Y: Array) -> float:
        """The batch cost :math:`C` on ``(X, Y)`` (``Y`` of shape ``(m, sizes[-1])``)."""
        X, Y = self._check_xy(X, Y)
        return self._cost(self._forward(X), Y)

    # ------------------------------------------------------------------ backward
    def _deltas(
        self, trace: Trace, Y: Array, scale: float, ws: _Workspace | None = None
    ) -> Iterator[tuple[int, Array]]:
        """Yield ``(l, delta[l])`` from the output layer down, each times ``scale``.

        BP1 for the output layer, then BP2: ``delta[l-1] = (delta[l] @ w[l]) * f'(z[l-1])``.
        This is the one place the error recursion is written; gradients and training
        steps both consume it.
        """
        a, z = trace.a, trace.z
        delta = self.loss_fn.output_delta(z[-1], a[-1], Y, self.output, out=None if ws is None else ws.delta)
        delta *= scale  # BP1, per sample, times scale
        for l in range(self.n_layers - 1, -1, -1):
            yield l, delta
            if l > 0:  # BP2: back through w, then through f' of the layer below
                back = np.matmul(delta, self.weights[l], out=None if ws is None else ws.back[l])
                tmp = None if ws is None else ws.tmp[l]
                delta = self.hidden.backward(z[l - 1], a[l], back, overwrite=True, tmp=tmp)

    def _batch_scale(self, m: int) -> float:
        return 1.0 / m if self.reduction == "mean" else 1.0

    def _backward(self, trace: Trace, Y: Array) -> Gradients:
        """Gradients of the batch cost: BP3 and BP4 on each delta."""
        L = self.n_layers
        deltas: list[Array] = [Y] * L
        gw: list[Array] = [Y] * L
        gb: list[Array] = [Y] * L
        for l, delta in self._deltas(trace, Y, self._batch_scale(Y.shape[0])):
            deltas[l] = delta
            gw[l] = delta.T @ trace.a[l]  # BP4: sum over samples of delta a^T
            gb[l] = delta.sum(axis=0)  # BP3
        return Gradients(gw, gb, deltas)

    def _update(
        self,
        trace: Trace,
        Y: Array,
        eta: float,
        ws: _Workspace,
        norm_w: list[float],
        norm_x: float | None = None,
    ) -> None:
        r"""One gradient-descent step from a forward trace.

        The learning rate is folded into delta, so ``w - eta dC/dw = w + (-eta delta)^T a``
        needs no gradient arrays. The step is atomic: every delta and every new bias is
        computed (under the floating-point guard) before any parameter changes. Then
        each weight matrix is updated in place by one fused BLAS product
        (:mod:`bplit._blas`) when the update provably cannot overflow,

        .. math::
            \lVert W\rVert_F + \lVert a\rVert_F \lVert \delta\rVert_F \le \tfrac14\,\mathrm{max}

        (Cauchy-Schwarz bounds every entry of :math:`\delta^{\top} a`); otherwise its new
        value is built in a scratch buffer first. ``norm_w`` holds upper bounds of the
        weights' Frobenius norms and is updated (triangle inequality), so a loop of
        steps needs no extra pass over the weights; ``norm_x`` is the norm of ``a[0]``
        when the caller already has it.
        """
        dt = self.dtype
        limit = _UPDATE_LIMIT[dt]
        m = Y.shape[0]
        scale = -eta * self._batch_scale(m)
        deltas = dict(self._deltas(trace, Y, scale, ws))  # every delta first
        dnorm: list[float] | None = None  # computed when a layer is large enough for the fused update
        plan: list[tuple[int, Array | None]] = []
        for l in range(self.n_layers):
            w, b, a, delta = self.weights[l], self.biases[l], trace.a[l], deltas[l]
            gb = delta[0] if m == 1 else np.matmul(ws.ones, delta)  # BP3: sum over the batch
            np.add(b, gb, out=ws.nb[l])  # may raise: nothing has changed yet
            flags = w.flags
            fused = (
                _blas.gemm_acc is not None
                and w.size >= _FUSED_MIN_SIZE
                and dt in _blas.DTYPES
                and (flags.c_contiguous or flags.f_contiguous)
                and flags.writeable
                and flags.aligned
            )
            if fused:  # a priori bounds first (no pass over the arrays), exact norms if they do not suffice
                if dnorm is None:
                    dnorm = self._delta_norm_bounds(m, abs(scale), norm_w)
                f = self.hidden if l > 0 else None
                if l == 0 and norm_x is not None:
                    norm_a = norm_x
                elif f is not None and f.max_abs is not None:
                    norm_a = f.max_abs * math.sqrt(a.size)
                else:
                    norm_a = _norm(a)
                bound = norm_w[l] + norm_a * dnorm[l]
                if not bound <= limit:
                    bound = norm_w[l] + _norm(a) * _norm(delta)
                fused = bound <= limit
            if fused:
                plan.append((l, None))
                norm_w[l] = bound
            else:
                nw = np.matmul(delta.T, a, out=ws.new_weights(l, w.shape, dt))
                nw += w  # may raise (overflow): nothing has changed yet
                plan.append((l, nw))
        for l, nw in plan:  # commit: cannot fail
            w = self.weights[l]
            if nw is None and w.flags.c_contiguous:
                _blas.gemm_acc(w, deltas[l], trace.a[l])  # w += delta^T a, in place
            elif nw is None:
                _blas.gemm_acc(w.T, trace.a[l], deltas[l])  # the same, on the C-contiguous w^T
            else:
                np.copyto(w, nw)
                norm_w[l] = math.inf  # not tracked on this path
            np.copyto(self.biases[l], ws.nb[l])

    def _delta_norm_bounds(self, m: int, scale: float, norm_w: list[float]) -> list[float]:
        r"""Upper bounds of the Frobenius norms of the scaled deltas, without touching them.

        For cross-entropy with softmax each row of :math:`a - y` has norm at most
        :math:`\lVert a\rVert_1 + \lVert y\rVert_1 \le 2 + 10^{-4}`; for the binary
        cross-entropy every entry is at most 1. BP2 then gives
        :math:`\lVert\delta^{l-1}\rVert \le \lVert\delta^{l}\rVert\,\lVert W_l\rVert_F\,\sup|f'|`.
        ``inf`` where no bound is known (other losses, activations without ``max_slope``).
        """
        L = self.n_layers
        bounds = [math.inf] * L
        name = self.loss_fn.name
        if name == "cross_entropy":
            bounds[-1] = scale * 2.001 * math.sqrt(m)
        elif name == "binary_cross_entropy":
            bounds[-1] = scale * math.sqrt(m * self.sizes[-1])
        slope = self.hidden.max_slope
        for l in range(L - 1, 0, -1):
            bounds[l - 1] = math.inf if slope is None else bounds[l] * norm_w[l] * slope
        return bounds

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
        X, Y = self._check_xy(X, Y)
        return self._backward(self._forward(X), Y)

    # ------------------------------------------------------------------ training
    @_guarded
    def step(self, X: Array, Y: Array, learning_rate: float) -> float:
        r"""One gradient-descent update on the batch: :math:`w \to w - \eta\,\partial C/\partial w`.

        Returns the batch cost *before* the update. The step is atomic: the new
        parameter arrays replace ``net.weights[l]`` and ``net.biases[l]`` only when
        every input was valid and every new value is finite; otherwise an exception
        is raised and the network is unchanged.
        """
        eta = V.positive_float("learning_rate", learning_rate)
        X, Y, norm_x, norm_w = self._check_data(X, Y)
        ws = self._workspace(X.shape[0])
        trace = self._forward(X, ws)
        cost = self._cost(trace, Y, ws)
        self._update(trace, Y, eta, ws, norm_w, norm_x)
        return cost

    @_guarded
    def fit(
        self,
        X: Array,
        Y: Array,
        epochs: int,
        batch_size: int,
        learning_rate: float,
        seed: int | np.random.Generator = 0,
        validation_data: tuple[Array, Array] | None = None,
        progress: bool = False,
        callback: Callable[[int, Network], None] | None = None,
    ) -> History:
        """Mini-batch stochastic gradient descent, reshuffled every epoch.

        Parameters
        ----------
        X : ndarray of shape (n, sizes[0])
        Y : ndarray of shape (n, sizes[-1])
        epochs, batch_size : int
            Positive; the last mini-batch of an epoch may be smaller.
        learning_rate : float
            Positive step size :math:`\\eta`, applied to the batch cost (mean by default).
        seed : int or numpy.random.Generator
            Seeds the shuffling.
        validation_data : (X_val, Y_val), optional
            Evaluated after each epoch into ``history.val_loss`` and ``history.val_accuracy``.
        progress : bool
            Show a tqdm progress bar over epochs.
        callback : callable, optional
            ``callback(epoch, net)`` after each epoch (epochs count from 1), e.g. to
            record gradient norms.

        Returns
        -------
        History
            A list of per-epoch training losses (on the whole training set).

        If anything fails part-way (an overflow, an exception in ``callback``, an
        interrupt), the parameters are put back as they were before the call.
        """
        epochs = V.positive_int("epochs", epochs)
        batch_size = V.positive_int("batch_size", batch_size)
        eta = V.positive_float("learning_rate", learning_rate)
        X, Y = self._check_xy(X, Y)
        if validation_data is not None:
            if not isinstance(validation_data, tuple) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (X_val, Y_val)")
            Xv, Yv = self._check_xy(*validation_data, names=("X_val", "Y_val"))
        rng = np.random.default_rng(seed)
        history = History()
        bar = range(epochs)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(bar, desc="epochs")
        n = X.shape[0]
        saved = [p.copy() for p in self.weights + self.biases]
        try:
            for epoch in bar:
                order = rng.permutation(n)
                norm_w = self._check_params()  # exact once per epoch (a callback may change parameters)
                for start in range(0, n, batch_size):
                    idx = order[start : start + batch_size]
                    xb, yb = X[idx], Y[idx]
                    ws = self._workspace(xb.shape[0])
                    self._update(self._forward(xb, ws), yb, eta, ws, norm_w)
                history.append(self._cost(self._forward(X), Y))
                if validation_data is not None:
                    tv = self._forward(Xv)
                    history.val_loss.append(self._cost(tv, Yv))
                    history.val_accuracy.append(accuracy(tv.a[-1], Yv))
                if callback is not None:
                    callback(epoch + 1, self)
        except BaseException:
            for p, p0 in zip(self.weights + self.biases, saved):  # a failed fit changes nothing
                np.copyto(p, p0)
            raise
        return history

    # ------------------------------------------------------------------ utilities
    def copy(self) -> Network:
        """A deep copy (parameters copied)."""
        return self.astype(self.dtype)

    def astype(self, dtype: type | np.dtype) -> Network:
        """A copy of this network whose parameters and computations use ``dtype``."""
        new = Network.__new__(Network)
        new.__dict__.update(self.__dict__)
        new.__dict__.pop("_ws", None)  # scratch buffers are not shared
        new.dtype = np.dtype(dtype)
        if new.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of float32, float64, longdouble, got {new.dtype}")
        new.weights = [w.astype(new.dtype, copy=True) for w in self.weights]
        new.biases = [b.astype(new.dtype, copy=True) for b in self.biases]
        return new

    def config(self) -> dict:
        """The constructor arguments (JSON-serialisable) that rebuild this network's shape."""
        return {
            "sizes": list(self.sizes),
            "hidden": self.hidden.name,
            "output": self.output.name,
            "loss": self.loss_fn.name,
            "dtype": self.dtype.name,
            "reduction": self.reduction,
            "init": self.init,
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the parameters and configuration to an ``.npz`` file (no pickle); see :func:`bplit.load`."""
        from .io import save

        save(self, path)

    def __repr__(self) -> str:
        c = self.config()
        return (
            f"Network({c['sizes']}, hidden={c['hidden']!r}, output={c['output']!r}, "
            f"loss={c['loss']!r}, dtype={c['dtype']}, reduction={c['reduction']!r})"
        )


def _norm(arr: Array) -> float:
    """Frobenius norm, ``inf`` when it overflows or an entry is not finite."""
    sq = V.finite_sq(arr)
    return math.inf if sq is None else math.sqrt(sq)


def accuracy(A: Array, Y: Array) -> float:
    """Fraction of rows classified correctly: arg-max of ``A`` vs arg-max of ``Y``
    (for a single output unit, ``A > 0.5`` vs ``Y > 0.5``)."""
    if A.shape[1] == 1:
        return float(np.mean((A[:, 0] > 0.5) == (Y[:, 0] > 0.5)))
    return float(np.mean(A.argmax(axis=1) == Y.argmax(axis=1)))
