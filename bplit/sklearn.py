r"""scikit-learn estimators on :class:`bplit.Network`: :class:`NetworkClassifier` and :class:`NetworkRegressor`.

They take the parameters of scikit-learn's ``MLPClassifier`` and ``MLPRegressor`` under
the same names, with the same defaults and meanings, so that swapping one for the other
is a one-word change; bplit's own choices are extra parameters (``dtype``, ``init``,
``relu_derivative_at_zero``, and the classifier's ``loss``; the regressor's ``loss``
adds bplit's names to scikit-learn's ``"squared_error"``). Both pass scikit-learn's
``check_estimator`` and work in ``Pipeline``, ``GridSearchCV``, ``cross_val_score`` and
``clone``. This module needs scikit-learn (the ``sklearn`` extra); ``import bplit`` does
not import it.

What equals scikit-learn's, to rounding, from equal starting weights and unshuffled batches
-------------------------------------------------------------------------------------------
* The updates: ``solver="sgd"`` is :class:`bplit.optim.SGD` (``momentum``,
  ``nesterovs_momentum``; ``learning_rate`` ``"constant"``, ``"invscaling"`` with
  ``power_t``, ``"adaptive"``), ``solver="adam"`` is :class:`bplit.optim.Adam`
  (``beta_1``, ``beta_2``, ``epsilon``), one update per mini-batch.
* ``alpha``: on a batch of :math:`m` samples the cost gets
  :math:`\frac{\alpha}{2m}\sum w^2` over the weights (not the biases), i.e. the
  optimizer's ``weight_decay`` is :math:`\alpha/m`, set per batch, so a smaller last
  batch gets its own :math:`\alpha/m` as in scikit-learn.
* ``loss_curve_[k]`` is the mean over epoch :math:`k` of the batch costs, each taken
  before its update and including the ``alpha`` term (the regressor's ``"squared_error"``
  divides the data term by the number of outputs, as scikit-learn reports it);
  ``loss_`` is the last one. Training stops when it has not improved by ``tol`` for
  more than ``n_iter_no_change`` epochs, or, with ``early_stopping``, when the score
  (accuracy, :math:`R^2`) on a held-out ``validation_fraction`` (stratified for the
  classifier) has not; the best epoch's parameters are then kept. Reaching ``max_iter``
  first warns with scikit-learn's ``ConvergenceWarning``.
* The networks: ``activation="logistic"`` is bplit's ``"sigmoid"``; a multiclass
  classifier has a softmax output and the cross-entropy, a binary one a single sigmoid
  unit and the binary cross-entropy (``predict_proba`` still has two columns,
  :math:`[1-p, p]`); the regressor has identity outputs and, for ``"squared_error"``,
  bplit's ``"half_sse"`` (the gradient scikit-learn follows).

What differs
------------
* ``solver="lbfgs"`` (and ``max_fun``) does not exist; ``momentum`` lies in [0, 1).
* Initial weights come from bplit's ``init`` (default ``"glorot"``:
  :math:`U(\pm\sqrt{6/(n_{in}+n_{out})})`, biases 0); scikit-learn draws the biases
  from the same range too and uses :math:`\sqrt{2/(n_{in}+n_{out})}` for ``"logistic"``.
  The random streams differ, so one ``random_state`` gives different numbers in the two.
* ``dtype`` (``"float64"`` or ``"float32"``) is the network's: ``X`` is converted to it.
* No ``sample_weight``, no sparse ``X``, no multilabel targets: each is refused with an
  error that says so. The regressor's ``loss`` has no ``"poisson"``.
* ``coefs_[l]`` and ``intercepts_[l]`` are views of ``network_.weights[l].T`` and
  ``network_.biases[l]`` (writing into them changes the network; assigning to them is
  refused).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

try:
    from sklearn.base import ClassifierMixin, RegressorMixin
    from sklearn.metrics import r2_score
    from sklearn.utils.multiclass import check_classification_targets, unique_labels
    from sklearn.utils.validation import column_or_1d
except ImportError as err:  # pragma: no cover - exercised without scikit-learn only
    raise ImportError(
        "bplit.sklearn needs scikit-learn >= 1.6: pip install 'bplit[sklearn]' (or pip install scikit-learn)"
    ) from err

from . import accuracy, optim
from ._sklearn_base import ATTRIBUTES_DOC, PARAMETERS_DOC, NetworkEstimator, one_of, store_params

__all__ = ["NetworkClassifier", "NetworkRegressor"]


class NetworkClassifier(ClassifierMixin, NetworkEstimator):
    _y_checks: dict = {}
    _stratify = True
    _scale_hint = ""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        loss="auto",
        dtype="float64",
        init="glorot",
        relu_derivative_at_zero=0.0,
    ):
        store_params(self, locals())

    def _check_loss(self) -> str:
        return one_of("loss", self.loss, ("auto", "binary_cross_entropy", "cross_entropy"))

    def _encode(self, y, first: bool, incremental: bool, classes, p: SimpleNamespace):
        """``classes_`` (set only when every check passed) and ``y`` as indices into it."""
        check_classification_targets(y)
        if incremental and classes is not None:
            classes = unique_labels(classes)
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} differs from the classes of the first partial_fit call, "
                    f"{self.classes_.tolist()}: pass the same classes, or none after the first call"
                )
        if first and incremental and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: "
                "partial_fit(X, y, classes=numpy.unique(y_all)), y_all the labels of the whole data set"
            )
        known = (classes if incremental else unique_labels(y)) if first else self.classes_
        unseen = np.setdiff1d(unique_labels(y), known)
        if unseen.size:
            how = "classes= of the first partial_fit call" if incremental else "fit with warm_start=False"
            raise ValueError(
                f"y has labels that are not in classes_ {known.tolist()}: {unseen.tolist()}; "
                f"pass every label with {how}"
            )
        k = len(known)
        if k < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least two classes to learn from; the labels have "
                f"one class only: {known[0]!r}"
            )
        if p.loss == "binary_cross_entropy" and k > 2:
            raise ValueError(
                f"loss='binary_cross_entropy' needs two classes, y has {k}: use loss='auto' or 'cross_entropy'"
            )
        self.classes_ = known
        return np.searchsorted(known, y), 1 if k == 2 and p.loss != "cross_entropy" else k

    def _architecture(self, n_out: int, p: SimpleNamespace) -> tuple[str, str]:
        return ("sigmoid", "binary_cross_entropy") if n_out == 1 else ("softmax", "cross_entropy")

    def _score_outputs(self, A: np.ndarray, Y: np.ndarray) -> float:
        return accuracy(A, Y)

    def fit(self, X, y):
        """Train a new network on ``X`` of shape (n_samples, n_features) and labels ``y`` of shape (n_samples,).

        Any labels (integers, strings, ...): ``classes_`` holds them sorted. Returns ``self``.
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over ``(X, y)``, continuing the network (and the optimizer's state).

        ``classes`` (every label of the whole data set) is required on the first call.
        Returns ``self``.
        """
        return self._fit(X, y, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities, ndarray of shape (n_samples, n_classes), columns in the order of ``classes_``."""
        A = self._outputs(X)
        return np.hstack([1.0 - A, A]) if A.shape[1] == 1 else A

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba` (``-inf`` where a probability is 0)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each sample, ndarray of shape (n_samples,), from ``classes_``."""
        A = self._outputs(X)
        return self.classes_[(A[:, 0] > 0.5).astype(np.intp) if A.shape[1] == 1 else A.argmax(axis=1)]


NetworkClassifier.__doc__ = f"""A classifier on a :class:`bplit.Network`, with ``MLPClassifier``'s parameters.

    Two classes: one sigmoid output unit and the binary cross-entropy; more: a softmax
    output and the cross-entropy. ``predict_proba`` has one column per class (two for a
    binary problem) and ``predict`` returns the labels ``y`` had. See :mod:`bplit.sklearn`
    for what equals ``MLPClassifier`` and what differs.

    Parameters
    ----------{PARAMETERS_DOC}    loss : {{"auto", "binary_cross_entropy", "cross_entropy"}}, default="auto"
        bplit's loss: ``"auto"`` is ``"binary_cross_entropy"`` (one sigmoid unit) for two
        classes and ``"cross_entropy"`` (softmax) for more; ``"cross_entropy"`` with two
        classes uses two softmax units.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted.{ATTRIBUTES_DOC}
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from bplit.sklearn import NetworkClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> names = load_iris().target_names[y]  # string labels
    >>> clf = make_pipeline(StandardScaler(), NetworkClassifier((16,), batch_size=32, random_state=0))
    >>> clf.set_params(networkclassifier__learning_rate_init=0.01).fit(X, names)[-1].n_iter_ < 200
    True
    >>> clf.predict(X[:2]).tolist(), clf.predict_proba(X[:2]).shape, clf.score(X, names) > 0.95
    (['setosa', 'setosa'], (2, 3), True)
    """


class NetworkRegressor(RegressorMixin, NetworkEstimator):
    _y_checks: dict = {"multi_output": True, "y_numeric": True}
    _stratify = False
    _scale_hint = " and the targets (e.g. TransformedTargetRegressor)"

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        dtype="float64",
        init="glorot",
        relu_derivative_at_zero=0.0,
    ):
        store_params(self, locals())

    def _check_loss(self) -> str:
        hint = " (bplit has no Poisson loss)" if self.loss == "poisson" else ""
        return one_of("loss", self.loss, ("squared_error", "half_sse", "mse"), hint)

    def _encode(self, y, first: bool, incremental: bool, classes, p: SimpleNamespace):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # as MLPRegressor: one target, 1-D predictions
        Y = y.reshape(y.shape[0], -1).astype(p.dtype)
        return Y, Y.shape[1]

    def _architecture(self, n_out: int, p: SimpleNamespace) -> tuple[str, str]:
        return "identity", "half_sse" if p.loss == "squared_error" else p.loss

    def _batch_loss(self, opt: optim.Optimizer, X: np.ndarray, Y: np.ndarray) -> float:
        n_out, decay = Y.shape[1], opt.weight_decay
        if self.loss != "squared_error" or n_out == 1:
            return opt.apply(self.network_, X, Y)
        penalty = 0.5 * decay * sum(float(np.vdot(w, w)) for w in self.network_.weights)
        return (opt.apply(self.network_, X, Y) - penalty) / n_out + penalty  # scikit-learn's report

    def _score_outputs(self, A: np.ndarray, Y: np.ndarray) -> float:
        return float(r2_score(Y, A))

    def fit(self, X, y):
        """Train a new network on ``X`` of shape (n_samples, n_features) and targets ``y`` of shape
        (n_samples,) or (n_samples, n_targets). Returns ``self``."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y):
        """One epoch over ``(X, y)``, continuing the network (and the optimizer's state). Returns ``self``."""
        return self._fit(X, y, incremental=True)

    def predict(self, X):
        """Predictions, ndarray of shape (n_samples,) for one target, else (n_samples, n_targets)."""
        A = self._outputs(X)
        return A.ravel() if A.shape[1] == 1 else A

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


NetworkRegressor.__doc__ = f"""A regressor on a :class:`bplit.Network`, with ``MLPRegressor``'s parameters.

    Identity outputs, one per target: a 1-D ``y`` gives 1-D predictions. Scale the
    inputs and the targets (a ``Pipeline`` with ``StandardScaler``, a
    ``TransformedTargetRegressor``). See :mod:`bplit.sklearn` for what equals
    ``MLPRegressor`` and what differs.

    Parameters
    ----------
    loss : {{"squared_error", "half_sse", "mse"}}, default="squared_error"
        ``"squared_error"`` is scikit-learn's: bplit's ``"half_sse"``,
        :math:`\\frac{{1}}{{m}}\\sum_s\\frac12\\lVert a_s - y_s\\rVert^2`, reported in
        ``loss_curve_`` divided by the number of targets; ``"half_sse"`` and ``"mse"``
        (:math:`\\frac{{1}}{{m\\,n_{{out}}}}\\sum (a - y)^2`, not halved) are trained and reported as
        they are.{PARAMETERS_DOC}
    Attributes
    ----------{ATTRIBUTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from bplit.sklearn import NetworkRegressor
    >>> X = np.linspace(-1, 1, 50)[:, None]
    >>> y = np.sin(3 * X[:, 0])  # one target: 1-D in, 1-D out
    >>> reg = NetworkRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.03, random_state=0).fit(X, y)
    >>> reg.n_iter_ < reg.max_iter, reg.predict(X[:3]).shape, reg.score(X, y) > 0.95
    (True, (3,), True)
    """
