"""The machinery :mod:`bplit.sklearn`'s two estimators share: parameter checks, the training loop, pickling.

Imported by :mod:`bplit.sklearn` only (which says what to install when scikit-learn is missing).
"""

from __future__ import annotations

import math
import numbers
import warnings
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import INITIALIZERS, Network, optim, relu_activation

__all__ = ["NetworkEstimator", "PARAMETERS_DOC", "ATTRIBUTES_DOC", "one_of", "store_params"]

ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
SOLVERS = ("sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")


# ---------------------------------------------------------------------------- parameter checks
def one_of(name: str, value: object, options: tuple, hint: str = "") -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}{hint}")
    return value


def number(name: str, value: object, interval: str) -> float:
    """``value`` as a float in ``interval``, written as ``"[0, inf)"``, ``"(0, 1]"``, ..."""
    low, high = (float(s) for s in interval[1:-1].split(", "))
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(value)
    if ok:
        ok = (low <= value if interval[0] == "[" else low < value) and (
            value <= high if interval[-1] == "]" else value < high
        )
    if not ok:
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return float(value)


def count(name: str, value: object, inf_ok: bool = False) -> int | float:
    if inf_ok and isinstance(value, numbers.Real) and value == math.inf:
        return math.inf
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        also = " (or numpy.inf)" if inf_ok else ""
        raise ValueError(f"{name} must be an integer >= 1{also}, got {value!r}")
    return int(value)


def flag(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def hidden_sizes(value: object) -> list[int]:
    sizes = [value] if isinstance(value, numbers.Integral) else value
    try:
        sizes = list(sizes)
    except TypeError:
        sizes = None
    if (
        sizes is None
        or isinstance(value, (str, bool))
        or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in sizes)
    ):
        raise ValueError(
            "hidden_layer_sizes must be a positive integer or a sequence of them (the widths of the "
            f"hidden layers, e.g. (100,) or (64, 32)), got {value!r}"
        )
    return [int(n) for n in sizes]


# ---------------------------------------------------------------------------- the shared machinery
class NetworkEstimator(BaseEstimator):
    """What the classifier and the regressor share: parameters, the training loop, pickling."""

    def _params(self) -> SimpleNamespace:
        """Every parameter checked (in ``fit``, as scikit-learn does, never in ``__init__``)."""
        p = SimpleNamespace(
            hidden=hidden_sizes(self.hidden_layer_sizes),
            activation=one_of("activation", self.activation, tuple(ACTIVATIONS), self._hint_activation()),
            solver=one_of("solver", self.solver, SOLVERS, " (bplit has no L-BFGS: use 'adam' or 'sgd')"),
            alpha=number("alpha", self.alpha, "[0, inf)"),
            learning_rate=one_of("learning_rate", self.learning_rate, LEARNING_RATES),
            learning_rate_init=number("learning_rate_init", self.learning_rate_init, "(0, inf)"),
            power_t=number("power_t", self.power_t, "[0, inf)"),
            max_iter=count("max_iter", self.max_iter),
            shuffle=flag("shuffle", self.shuffle),
            tol=number("tol", self.tol, "[0, inf)"),
            warm_start=flag("warm_start", self.warm_start),
            momentum=number("momentum", self.momentum, "[0, 1)"),
            nesterovs_momentum=flag("nesterovs_momentum", self.nesterovs_momentum),
            early_stopping=flag("early_stopping", self.early_stopping),
            validation_fraction=number("validation_fraction", self.validation_fraction, "[0, 1)"),
            beta_1=number("beta_1", self.beta_1, "[0, 1)"),
            beta_2=number("beta_2", self.beta_2, "[0, 1)"),
            epsilon=number("epsilon", self.epsilon, "(0, inf)"),
            n_iter_no_change=count("n_iter_no_change", self.n_iter_no_change, inf_ok=True),
            init=one_of("init", self.init, INITIALIZERS),
            relu0=number("relu_derivative_at_zero", self.relu_derivative_at_zero, "[0, 1]"),
            loss=self._check_loss(),
        )
        p.batch_size = b = self.batch_size
        if not (isinstance(b, str) and b == "auto") and (
            isinstance(b, bool) or not isinstance(b, numbers.Integral) or b < 1
        ):
            raise ValueError(f"batch_size must be 'auto' or an integer >= 1, got {b!r}")
        try:
            p.dtype = np.dtype(self.dtype)
        except TypeError:
            p.dtype = None
        if p.dtype not in (np.float64, np.float32):
            raise ValueError(f"dtype must be one of 'float64', 'float32'; got {self.dtype!r}")
        p.random = check_random_state(self.random_state)
        return p

    def _hint_activation(self) -> str:
        return " (bplit's 'sigmoid' is 'logistic' here)" if self.activation == "sigmoid" else ""

    # ------------------------------------------------------------------ fitting
    def _fit(self, X: object, y: object, incremental: bool, classes: object = None) -> NetworkEstimator:
        p = self._params()
        fitted = hasattr(self, "network_")
        first = not fitted or not (incremental or p.warm_start)
        if incremental and p.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True: set early_stopping=False")
        if p.early_stopping and p.validation_fraction == 0:
            raise ValueError(
                "early_stopping=True holds out validation_fraction of the data: set it in (0, 1)"
            )
        X, y = validate_data(self, X, y, reset=first, dtype=p.dtype, **self._y_checks)
        y, n_out = self._encode(y, first, incremental, classes, p)
        output, loss = self._architecture(n_out, p)
        hidden = relu_activation(p.relu0) if p.activation == "relu" else ACTIVATIONS[p.activation]
        sizes = [X.shape[1], *p.hidden, n_out]
        relu0 = p.relu0 if p.activation == "relu" else 0.0
        arch = dict(sizes=sizes, hidden=(p.activation, relu0), output=output, loss=loss, dtype=p.dtype.name)
        rng = np.random.default_rng(p.random.randint(np.iinfo(np.int32).max))
        if first:
            self._arch = dict(arch, init=p.init)  # what __setstate__ rebuilds the network from
            self.network_ = Network(sizes, hidden, output, loss, seed=rng, dtype=p.dtype, init=p.init)
            self.n_iter_, self.t_, self.loss_curve_, self._no_improvement_count = 0, 0, [], 0
            self.validation_scores_ = self.best_validation_score_ = self.best_loss_ = None
            self._solver_state = None
        elif (fitted_arch := {key: self._arch[key] for key in arch}) != arch:
            what = "partial_fit" if incremental else "warm_start=True"
            raise ValueError(
                f"{what} continues the fitted network {fitted_arch}, but the parameters now ask for {arch}: "
                "call fit with warm_start=False to start afresh"
            )
        self.n_outputs_, self.n_layers_ = n_out, len(sizes)
        self.out_activation_ = "logistic" if output == "sigmoid" else output
        if p.early_stopping and self.validation_scores_ is None:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -math.inf, None
        elif not p.early_stopping and self.best_loss_ is None:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, math.inf
        if not incremental:
            self._no_improvement_count = 0
        val = None
        if p.early_stopping:
            stratify = y if self._stratify else None
            X, Xv, y, yv = train_test_split(
                X, y, test_size=p.validation_fraction, stratify=stratify, random_state=p.random
            )
            if Xv.shape[0] < 2:
                raise ValueError(
                    f"The validation set is too small ({Xv.shape[0]} sample): increase validation_fraction "
                    f"(now {p.validation_fraction}) or use more data, or set early_stopping=False"
                )
            val = self.network_.check_xy(Xv, yv, names=("X_val", "y_val"))
        X, Y = self.network_.check_xy(X, y, names=("X", "y"))
        try:
            self._train(X, Y, val, incremental, p, rng)
        except FloatingPointError as err:
            raise FloatingPointError(
                f"{type(self).__name__}: training diverged in iteration {self.n_iter_ + 1} ({err}). Scale the "
                f"inputs (e.g. StandardScaler in a Pipeline){self._scale_hint} or lower learning_rate_init "
                f"(now {p.learning_rate_init}); the network keeps the parameters of the last update that worked."
            ) from None
        return self

    def _optimizer(self, p: SimpleNamespace, incremental: bool) -> optim.Optimizer:
        if p.solver == "sgd":
            opt = optim.SGD(p.learning_rate_init, momentum=p.momentum, nesterov=p.nesterovs_momentum)
        else:
            opt = optim.Adam(p.learning_rate_init, p.beta_1, p.beta_2, p.epsilon)
        saved = self._solver_state
        if incremental and saved is not None and saved[0] == p.solver:  # partial_fit continues
            opt.load_state_dict(self.network_, saved[1])
            opt.learning_rate = saved[2]
        return opt

    def _batch_loss(self, opt: optim.Optimizer, X: np.ndarray, Y: np.ndarray) -> float:
        """One update on a mini-batch; the batch cost before it, as scikit-learn reports it."""
        return opt.apply(self.network_, X, Y)

    def _train(self, X, Y, val, incremental: bool, p: SimpleNamespace, rng: np.random.Generator) -> None:
        """The epochs of scikit-learn's ``_fit_stochastic``, made of ``opt.apply`` updates."""
        net, opt = self.network_, self._optimizer(p, incremental)
        n = X.shape[0]
        batch = min(200, n) if p.batch_size == "auto" else min(p.batch_size, n)
        if p.batch_size != "auto" and p.batch_size > n:  # scikit-learn warns too
            warnings.warn(
                f"batch_size={p.batch_size} is larger than the {n} training samples: using {n}", stacklevel=4
            )
        adaptive = p.solver == "sgd" and p.learning_rate == "adaptive"
        best = None
        self.n_iter_ = 0
        for _ in range(1 if incremental else p.max_iter):
            order = rng.permutation(n) if p.shuffle else None
            total = 0.0
            for start in range(0, n, batch):
                idx = slice(start, start + batch) if order is None else order[start : start + batch]
                Xb, Yb = X[idx], Y[idx]
                opt.weight_decay = p.alpha / Xb.shape[0]  # scikit-learn's alpha / m, batch by batch
                total += self._batch_loss(opt, Xb, Yb) * Xb.shape[0]
            self.n_iter_ += 1
            self.t_ += n
            self.loss_ = total / n
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
            if val is not None:
                score = self._score_outputs(net.predict(val[0]), val[1])
                self.validation_scores_.append(score)
                worse = score < self.best_validation_score_ + p.tol
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    best = [a.copy() for group in net.parameters() for a in group]
            else:
                worse = self.loss_ > self.best_loss_ - p.tol
                self.best_loss_ = min(self.best_loss_, self.loss_)
            self._no_improvement_count = self._no_improvement_count + 1 if worse else 0
            if p.solver == "sgd" and p.learning_rate == "invscaling":
                opt.learning_rate = p.learning_rate_init / (self.t_ + 1) ** p.power_t
            if self._no_improvement_count > p.n_iter_no_change:
                if not adaptive or opt.learning_rate <= 1e-6:
                    break
                opt.learning_rate = opt.learning_rate / 5.0  # "adaptive": divide, go on
                self._no_improvement_count = 0
            if not incremental and self.n_iter_ == p.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({p.max_iter}) reached and the optimization "
                    "hasn't converged yet; raise max_iter to train longer.",
                    ConvergenceWarning,
                    stacklevel=4,
                )
        if best is not None:  # early stopping keeps the best epoch
            for a, keep in zip([a for group in net.parameters() for a in group], best):
                np.copyto(a, keep)
        self._solver_state = (p.solver, opt.state_dict(net), opt.learning_rate)

    # ------------------------------------------------------------------ predicting
    def _outputs(self, X: object) -> np.ndarray:
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=self.network_.dtype)
        return self.network_.predict(X)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """``coefs_[l]``, shape ``(sizes[l], sizes[l+1])``: a view of ``network_.weights[l].T``."""
        check_is_fitted(self, "network_")
        return [w.T for w in self.network_.weights]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """``intercepts_[l]``, shape ``(sizes[l+1],)``: ``network_.biases[l]`` itself."""
        check_is_fitted(self, "network_")
        return list(self.network_.biases)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict:
        """``network_`` as its parameter arrays (a bplit.Network holds functions pickle cannot take)."""
        state = dict(super().__getstate__())  # object.__getstate__ gives __dict__ itself
        if "network_" in state:
            net = state["network_"]
            state["network_"] = ([w.copy() for w in net.weights], [b.copy() for b in net.biases])
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        if "network_" in state:
            weights, biases = state.pop("network_")
            a = state["_arch"]
            name, relu0 = a["hidden"]
            hidden = relu_activation(relu0) if name == "relu" else ACTIVATIONS[name]
            net = Network(a["sizes"], hidden, a["output"], a["loss"], dtype=a["dtype"], init=a["init"])
            for p, saved in zip([*net.weights, *net.biases], [*weights, *biases]):
                np.copyto(p, saved)
            state["network_"] = net
        super().__setstate__(state)


def store_params(est: BaseEstimator, args: dict) -> None:
    """``__init__``: keep every parameter as given (scikit-learn checks them in ``fit``)."""
    for name, value in args.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


PARAMETERS_DOC = """
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Widths of the hidden layers (``()``: none).
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of every hidden layer (``"logistic"`` is bplit's ``"sigmoid"``).
    solver : {"adam", "sgd"}, default="adam"
        :class:`bplit.optim.Adam` or :class:`bplit.optim.SGD`.
    alpha : float, default=1e-4
        L2 penalty: :math:`\\frac{\\alpha}{2m}\\sum w^2` added to the cost of each batch of
        :math:`m` samples (weights only).
    batch_size : int or "auto", default="auto"
        Samples per update; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Schedule of the SGD step (Adam ignores it): ``"invscaling"`` takes
        ``learning_rate_init / (t + 1) ** power_t`` after each epoch, ``t`` the samples
        seen; ``"adaptive"`` divides the step by 5 instead of stopping (down to 1e-6).
    learning_rate_init : float, default=1e-3
        The step size :math:`\\eta`.
    power_t : float, default=0.5
        Exponent of ``"invscaling"``.
    max_iter : int, default=200
        Epochs at most (each a pass over the training samples).
    shuffle : bool, default=True
        Reshuffle the samples every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling and the early-stopping split.
    tol : float, default=1e-4
        The improvement of the loss (or validation score) that counts.
    verbose : bool, default=False
        Print the loss of every epoch.
    warm_start : bool, default=False
        ``fit`` continues from the fitted network instead of a new one.
    momentum : float in [0, 1), default=0.9
        SGD's momentum :math:`\\mu`.
    nesterovs_momentum : bool, default=True
        Nesterov's form of the momentum (SGD).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its score stalls and
        keep the best epoch's parameters.
    validation_fraction : float in [0, 1), default=0.1
        Share of the data held out for ``early_stopping`` (then above 0).
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Adam's decay rates.
    epsilon : float, default=1e-8
        Adam's :math:`\\epsilon`.
    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` tolerated before stopping.
    dtype : {"float64", "float32"}, default="float64"
        The network's floating-point type (bplit).
    init : {"glorot", "he", "nielsen"}, default="glorot"
        bplit's initialisation of the weights (see :class:`bplit.Network`).
    relu_derivative_at_zero : float in [0, 1], default=0.0
        The value bplit takes for ReLU's derivative at 0 (scikit-learn's is 0).
"""

ATTRIBUTES_DOC = """
    network_ : bplit.Network
        The fitted network.
    n_features_in_ : int
    n_outputs_ : int
        Output units of the network.
    n_layers_ : int
        Layers, input and output included.
    out_activation_ : str
        ``"logistic"``, ``"softmax"`` or ``"identity"``.
    coefs_ : list of ndarray
        ``coefs_[l]`` of shape ``(sizes[l], sizes[l+1])``: a view of ``network_.weights[l].T``.
    intercepts_ : list of ndarray
        ``intercepts_[l]`` of shape ``(sizes[l+1],)``: ``network_.biases[l]``.
    loss_ : float
        The last entry of ``loss_curve_``.
    loss_curve_ : list of float
        Per epoch, the mean of the batch costs, each before its update, with the
        ``alpha`` term.
    best_loss_ : float or None
        The lowest ``loss_curve_`` entry (``None`` with ``early_stopping``).
    validation_scores_ : list of float or None
        Score on the held-out data after each epoch (with ``early_stopping``).
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run by the last ``fit`` (1 for ``partial_fit``).
    t_ : int
        Training samples seen, over every call.
"""
