r"""Optimizers: gradient descent with momentum (plain or Nesterov), Adam, and L2 weight decay.

Each optimizer turns the batch gradients of a network into one update of its
parameters. With :math:`g = \partial C/\partial\theta` (plus :math:`\lambda w` on the
weights when ``weight_decay`` :math:`=\lambda > 0`, see below) and :math:`\eta` the
learning rate:

.. math::
    \textbf{SGD:}\quad v_t = \mu\, v_{t-1} - \eta\, g_t, \qquad
    \theta_t = \theta_{t-1} + \begin{cases} v_t & \text{(momentum)} \\
    \mu\, v_t - \eta\, g_t & \text{(Nesterov)}\end{cases}, \qquad v_0 = 0;

.. math::
    \textbf{Adam:}\quad m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \quad
    v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \quad
    \eta_t = \eta\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}, \quad
    \theta_t = \theta_{t-1} - \eta_t\,\frac{m_t}{\sqrt{v_t} + \epsilon}.

With :math:`\mu = 0` SGD is plain gradient descent, :math:`\theta \leftarrow \theta -
\eta g`. The velocity :math:`v` carries the learning rate, so for a constant
:math:`\eta` it is the discounted sum :math:`v_t = -\eta\sum_{k\le t}\mu^{t-k} g_k`; a
schedule changes only the new term (PyTorch's ``SGD`` keeps :math:`\eta` outside the
velocity instead; the two agree for a constant :math:`\eta`).

**Adam's** :math:`\epsilon`. The form above is the one Kingma & Ba give for efficiency
(section 2 of the paper) and scikit-learn implements. Their Algorithm 1 (and PyTorch)
divides the bias-corrected moments, :math:`\hat m_t/(\sqrt{\hat v_t} + \hat\epsilon)`
with :math:`\hat m_t = m_t/(1-\beta_1^t)`, :math:`\hat v_t = v_t/(1-\beta_2^t)`; that is
the same update with :math:`\hat\epsilon = \epsilon/\sqrt{1-\beta_2^t}`. The two differ
only while :math:`\sqrt{v_t}` is comparable to :math:`\epsilon`. bplit follows
scikit-learn so that its trajectories equal scikit-learn's to rounding.

**Weight decay** :math:`\lambda` (L2 regularisation, not the decoupled "AdamW" decay)
adds :math:`\frac{\lambda}{2}\sum w^2` over the weights (not the biases) to the batch
cost, so :math:`\lambda w` to each weight gradient; for plain SGD the step is
:math:`w \leftarrow (1-\eta\lambda)\,w - \eta\,\partial C/\partial w`. ``step`` returns
the batch cost including that term; ``fit``'s history records :math:`C` without it.

**Mapping to scikit-learn's** ``MLPClassifier`` / ``MLPRegressor``:

* ``SGD(eta, momentum=mu, nesterov=nest)`` is ``solver="sgd", learning_rate="constant",
  learning_rate_init=eta, momentum=mu, nesterovs_momentum=nest``. scikit-learn's
  defaults are ``momentum=0.9, nesterovs_momentum=True``: its plain SGD needs
  ``momentum=0``. ``Adam(eta, beta1, beta2, eps)`` is ``solver="adam"`` with
  ``learning_rate_init, beta_1, beta_2, epsilon``.
* ``alpha``: scikit-learn adds :math:`\frac{\alpha}{2}\sum w^2 / m` to the mean cost of
  a batch of :math:`m` samples, so ``weight_decay = alpha / batch_size`` with bplit's
  ``reduction="mean"``. A smaller last batch (``batch_size`` not dividing ``n``) gets
  ``alpha / m`` there, a constant ``weight_decay`` does not: equal trajectories need
  ``batch_size`` to divide ``n``.
* Networks: ``coefs_[l]`` is ``weights[l].T`` and ``intercepts_[l]`` is ``biases[l]``;
  ``activation="logistic"`` is ``hidden="sigmoid"`` (``"relu"``, ``"tanh"``,
  ``"identity"`` keep their names). ``MLPClassifier`` with more than two classes is
  ``output="softmax", loss="cross_entropy"``, with two classes ``output="sigmoid",
  loss="binary_cross_entropy"`` (one output unit); ``MLPRegressor`` is
  ``output="identity", loss="half_sse"``: its updates follow the gradient of
  :math:`\frac1m\sum_s \frac12\lVert a_s - y_s\rVert^2` (the loss it reports,
  ``loss_``, is that divided by the number of outputs). All with ``reduction="mean"``.

**Checkpoints.** ``opt.config()`` gives an optimizer's constructor arguments
(``OPTIMIZERS[name](**opt.config())`` rebuilds it, without state);
``bplit.save(net, path, optimizer=opt)`` writes them with the optimizer's ``epoch`` and
its state for ``net``, and ``bplit.load_checkpoint(path)`` gives back both, for SGD and
Adam with a number as learning rate (a schedule is code, which a file does not store).

Derived with SymPy, and checked against this module, in the book chapter "Optimizers:
momentum, Adam and weight decay" (book/optimizers.ipynb).
"""

from __future__ import annotations

import math

import numpy as np

from . import _validation as V
from .contract import Optimizer, Rate

__all__ = ["Optimizer", "SGD", "Adam", "OPTIMIZERS"]

Array = np.ndarray


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum (plain or Nesterov) and weight decay.

    .. math::
        v_t = \mu\, v_{t-1} - \eta\, g_t, \qquad
        \theta_t = \theta_{t-1} + v_t \quad\text{or, Nesterov,}\quad
        \theta_t = \theta_{t-1} + \mu\, v_t - \eta\, g_t

    with :math:`v_0 = 0` and :math:`g_t = \partial C/\partial\theta` (plus
    :math:`\lambda w` on the weights), scikit-learn's ``SGDOptimizer`` exactly. With
    :math:`\mu = 0` it is :math:`\theta \leftarrow \theta - \eta g` and keeps no state.

    Parameters
    ----------
    learning_rate : float or callable
        :math:`\eta > 0`, or a schedule ``epoch -> eta`` (epochs from 1).
    momentum : float
        :math:`\mu \in [0, 1)`.
    nesterov : bool
        Nesterov's momentum (the look-ahead form above).
    weight_decay : float
        :math:`\lambda \ge 0`.

    Examples
    --------
    >>> import numpy as np, bplit
    >>> from bplit.optim import SGD
    >>> net = bplit.Network([2, 3, 1], seed=0)
    >>> opt = SGD(0.5, momentum=0.9)
    >>> X, Y = np.ones((4, 2)), np.zeros((4, 1))
    >>> opt.step(net, X, Y) > opt.step(net, X, Y)
    True
    """

    state_keys = ("velocity",)

    def __init__(
        self, learning_rate: Rate, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.momentum = V.in_range("momentum", momentum, 0.0, 1.0, False)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ValueError(f"nesterov must be True or False, got {nesterov!r}")
        self.nesterov = bool(nesterov)

    def init_state(self, params: list[Array]) -> dict | None:
        if self.momentum == 0:
            return None
        return {"step": 0, "velocity": [np.zeros_like(p) for p in params]}

    def update(
        self, params: list[Array], grads: list[Array], state: dict | None, eta: float
    ) -> tuple[list[Array], dict | None]:
        if state is None:  # mu = 0: theta - eta g
            return [p - eta * g for p, g in zip(params, grads)], None
        mu = self.momentum
        velocity = [mu * v - eta * g for v, g in zip(state["velocity"], grads)]
        updates = [mu * v - eta * g for v, g in zip(velocity, grads)] if self.nesterov else velocity
        return [p + u for p, u in zip(params, updates)], {"step": state["step"] + 1, "velocity": velocity}

    def config(self) -> dict:
        """The constructor's arguments: ``SGD(**opt.config())`` is an optimizer like this one
        (without its state). JSON-able when the learning rate is a number, not a schedule."""
        return {
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
        }

    def __repr__(self) -> str:
        return (
            f"SGD(learning_rate={self.learning_rate!r}, momentum={self.momentum}, "
            f"nesterov={self.nesterov}, weight_decay={self.weight_decay})"
        )


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), in the form scikit-learn's ``AdamOptimizer`` computes.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \qquad
        \theta_t = \theta_{t-1} - \eta\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,
        \frac{m_t}{\sqrt{v_t} + \epsilon}

    with :math:`m_0 = v_0 = 0` and :math:`t` the step count per network. This is
    :math:`\theta_t = \theta_{t-1} - \eta\,\hat m_t / (\sqrt{\hat v_t} + \hat\epsilon)` with
    the bias-corrected :math:`\hat m_t = m_t/(1-\beta_1^t)`,
    :math:`\hat v_t = v_t/(1-\beta_2^t)` and :math:`\hat\epsilon = \epsilon/\sqrt{1-\beta_2^t}`
    (Kingma & Ba's Algorithm 1, and PyTorch, use :math:`\epsilon` there instead).

    Parameters
    ----------
    learning_rate : float or callable
        :math:`\eta > 0` (default 0.001), or a schedule ``epoch -> eta``.
    beta1, beta2 : float
        Decay rates of the moment estimates, in :math:`[0, 1)`.
    eps : float
        :math:`\epsilon > 0`.
    weight_decay : float
        :math:`\lambda \ge 0`: L2 regularisation, added to the gradient before the moments.
    """

    state_keys = ("m", "v")

    def __init__(
        self,
        learning_rate: Rate = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.beta1 = V.in_range("beta1", beta1, 0.0, 1.0, False)
        self.beta2 = V.in_range("beta2", beta2, 0.0, 1.0, False)
        self.eps = V.positive_float("eps", eps)

    def init_state(self, params: list[Array]) -> dict:
        return {"step": 0, "m": [np.zeros_like(p) for p in params], "v": [np.zeros_like(p) for p in params]}

    def update(
        self, params: list[Array], grads: list[Array], state: dict | None, eta: float
    ) -> tuple[list[Array], dict]:
        assert state is not None
        b1, b2, t = self.beta1, self.beta2, state["step"] + 1
        m = [b1 * m + (1 - b1) * g for m, g in zip(state["m"], grads)]
        v = [b2 * v + (1 - b2) * (g * g) for v, g in zip(state["v"], grads)]
        eta_t = float(eta * math.sqrt(1 - b2**t) / (1 - b1**t))  # a Python float keeps float32 arrays float32
        new = [p + -eta_t * mt / (np.sqrt(vt) + self.eps) for p, mt, vt in zip(params, m, v)]
        return new, {"step": t, "m": m, "v": v}

    def config(self) -> dict:
        """The constructor's arguments: ``Adam(**opt.config())`` is an optimizer like this one
        (without its state). JSON-able when the learning rate is a number, not a schedule."""
        return {
            "learning_rate": self.learning_rate,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
        }

    def __repr__(self) -> str:
        return (
            f"Adam(learning_rate={self.learning_rate!r}, beta1={self.beta1}, beta2={self.beta2}, "
            f"eps={self.eps}, weight_decay={self.weight_decay})"
        )


OPTIMIZERS: dict[str, type[Optimizer]] = {"SGD": SGD, "Adam": Adam}
"""The optimizers a checkpoint can name (:func:`bplit.save` with ``optimizer=``), by class name:
each rebuilds from its :meth:`config` as ``OPTIMIZERS[name](**config)``."""
