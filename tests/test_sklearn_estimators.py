"""bplit.sklearn: NetworkClassifier and NetworkRegressor as scikit-learn estimators.

Every check of scikit-learn's ``check_estimator`` (one test each, through
``parametrize_with_checks``, none marked as expected to fail); the meta-estimators
(Pipeline, GridSearchCV, cross_val_score, clone); labels and targets of every kind; the
swap with MLPClassifier / MLPRegressor (the same keyword arguments, and the same
trajectory from the same starting weights); and errors whose advice works when followed.
"""

import doctest
import inspect
import pickle
import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_diabetes, load_digits, load_iris, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import bplit.sklearn  # noqa: E402
from bplit.sklearn import NetworkClassifier, NetworkRegressor  # noqa: E402

# A fit that stops at max_iter warns, as MLPClassifier's does; the checks' small problems do.
no_convergence_warning = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SHARED = [  # the parameters with MLPClassifier's and MLPRegressor's names and meanings
    "hidden_layer_sizes", "activation", "solver", "alpha", "batch_size", "learning_rate",
    "learning_rate_init", "power_t", "max_iter", "shuffle", "random_state", "tol", "verbose",
    "warm_start", "momentum", "nesterovs_momentum", "early_stopping", "validation_fraction",
    "beta_1", "beta_2", "epsilon", "n_iter_no_change",
]  # fmt: skip


def digits(n=300, classes=10, seed=0):
    X, y = load_digits(return_X_y=True)
    keep = np.flatnonzero(y < classes)
    keep = np.random.default_rng(seed).permutation(keep)[:n]
    return X[keep] / 16.0, y[keep]


# ---------------------------------------------------------------------------- check_estimator
@no_convergence_warning
@parametrize_with_checks([NetworkClassifier(random_state=0), NetworkRegressor(random_state=0)])
def test_scikit_learn_check(estimator, check):
    check(estimator)


def test_import_bplit_does_not_import_scikit_learn():
    code = (
        "import sys, bplit; print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    code = "import sys, bplit.sklearn; print('sklearn' in sys.modules)"  # the module itself does
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        == "True\n"
    )


def test_docstring_examples_run():
    result = doctest.testmod(bplit.sklearn, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


# ---------------------------------------------------------------------------- meta-estimators
def test_pipeline_grid_search_cross_val_score_and_clone_on_digits():
    X, y = digits(n=300)
    net = NetworkClassifier(batch_size=32, learning_rate_init=0.01, random_state=0)
    pipe = make_pipeline(StandardScaler(), net)
    grid = {"networkclassifier__hidden_layer_sizes": [(8,), (32,)], "networkclassifier__alpha": [1e-4, 1.0]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X[:200], y[:200])
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and search.best_score_ == scores.max() > 0.7
    assert search.best_estimator_[-1].get_params()["alpha"] == search.best_params_["networkclassifier__alpha"]
    assert search.best_estimator_[-1].n_iter_ < 200  # stopped by tol, no ConvergenceWarning
    assert search.score(X[200:], y[200:]) > 0.8
    twin = clone(search.best_estimator_)
    assert twin.get_params().keys() == search.best_estimator_.get_params().keys()
    assert twin[-1].get_params() == search.best_estimator_[-1].get_params()
    assert not hasattr(twin[-1], "network_")  # clone copies the parameters, not the fit
    scores = cross_val_score(twin, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and scores.min() > 0.8


@no_convergence_warning  # some of the five folds need more than 200 epochs
def test_iris_string_labels_round_trip():
    X, y = load_iris(return_X_y=True)
    names = load_iris().target_names[y]  # 'setosa', 'versicolor', 'virginica'
    net = NetworkClassifier((16,), batch_size=32, learning_rate_init=0.01, random_state=0)
    clf = make_pipeline(StandardScaler(), net).fit(X, names)
    assert clf[-1].classes_.tolist() == ["setosa", "versicolor", "virginica"]
    predicted = clf.predict(X)
    assert predicted.dtype == names.dtype and set(predicted) == set(names)
    assert clf.score(X, names) > 0.95
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert (clf[-1].classes_[proba.argmax(axis=1)] == predicted).all()
    assert clf[-1].out_activation_ == "softmax" and clf[-1].n_outputs_ == 3
    scores = cross_val_score(clf, X, names, cv=StratifiedKFold(5, shuffle=True, random_state=0))
    assert scores.min() > 0.85


def test_binary_predict_proba_has_two_columns_and_feeds_roc_auc():
    X, y = digits(n=200, classes=2)
    labels = np.where(y == 1, "one", "zero")
    clf = NetworkClassifier((8,), batch_size=32, learning_rate_init=0.01, random_state=0).fit(X, labels)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"  # one sigmoid unit, as MLPClassifier
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert clf.classes_.tolist() == ["one", "zero"]
    assert (clf.predict(X) == clf.classes_[proba.argmax(axis=1)]).all()
    assert roc_auc_score(labels == "zero", proba[:, 1]) > 0.99
    assert np.allclose(np.exp(clf.predict_log_proba(X)), proba)
    two_units = clone(clf).set_params(loss="cross_entropy").fit(X, labels)
    assert two_units.n_outputs_ == 2 and two_units.predict_proba(X).shape == (200, 2)


def test_labels_as_lists_and_pandas():
    X, y = digits(n=120, classes=3)
    from_list = NetworkClassifier((8,), max_iter=30, random_state=0)
    with pytest.warns(ConvergenceWarning):
        from_list.fit(X.tolist(), [f"digit {d}" for d in y])
    assert from_list.classes_.tolist() == ["digit 0", "digit 1", "digit 2"]
    assert set(from_list.predict(X.tolist())) <= {"digit 0", "digit 1", "digit 2"}
    pd = pytest.importorskip(
        "pandas", reason="pandas is not installed: Series/DataFrame targets untested here"
    )
    series = pd.Series(y).map({0: "zero", 1: "one", 2: "two"})
    clf = NetworkClassifier((8,), max_iter=30, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(pd.DataFrame(X), series)
    assert set(clf.predict(pd.DataFrame(X))) <= {"zero", "one", "two"}
    reg = NetworkRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        reg.fit(pd.DataFrame(X), pd.DataFrame({"a": y * 1.0, "b": -y * 1.0}))
    assert reg.predict(X).shape == (120, 2)
    with pytest.warns(ConvergenceWarning):
        reg.fit(pd.DataFrame(X), pd.Series(y * 1.0))
    assert reg.predict(X).shape == (120,)


def test_regressor_one_target_in_and_out_and_several_targets():
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    net = NetworkRegressor(hidden_layer_sizes=(16,), batch_size=32, learning_rate_init=0.01, random_state=0)
    reg = make_pipeline(StandardScaler(), net).fit(X, y)
    assert reg.predict(X).shape == (442,) and reg.score(X, y) > 0.5
    assert reg[-1].n_outputs_ == 1 and reg[-1].out_activation_ == "identity"
    assert reg.fit(X, y.tolist()).predict(X[:3]).shape == (3,)  # a list works too
    with pytest.warns(DataConversionWarning, match="column-vector y"):  # as MLPRegressor: then 1-D
        assert reg.fit(X, y[:, None]).predict(X[:3]).shape == (3,)
    Y = np.column_stack([y, y**2])
    assert reg.fit(X, Y).predict(X).shape == (442, 2) and reg.score(X, Y) > 0.5
    assert reg[-1].n_outputs_ == 2 and reg[-1].coefs_[-1].shape == (16, 2)


# ---------------------------------------------------------------------------- the swap
@pytest.mark.parametrize(
    "ours, theirs", [(NetworkClassifier, MLPClassifier), (NetworkRegressor, MLPRegressor)]
)
def test_the_shared_parameters_have_the_same_names_and_defaults(ours, theirs):
    mine, sk = ours().get_params(), theirs().get_params()
    assert {name: mine[name] for name in SHARED} == {name: sk[name] for name in SHARED}
    kwargs = dict(
        hidden_layer_sizes=(7, 5), activation="logistic", solver="sgd", alpha=0.01, batch_size=16,
        learning_rate="invscaling", learning_rate_init=0.05, power_t=0.25, max_iter=9, shuffle=False,
        random_state=3, tol=1e-3, verbose=False, warm_start=True, momentum=0.5, nesterovs_momentum=False,
        early_stopping=True, validation_fraction=0.2, beta_1=0.8, beta_2=0.99, epsilon=1e-7, n_iter_no_change=4,
    )  # fmt: skip
    assert set(kwargs) == set(SHARED)
    mine, sk = ours(**kwargs).get_params(), theirs(**kwargs).get_params()
    assert {name: mine[name] for name in SHARED} == {name: sk[name] for name in SHARED} == kwargs
    assert inspect.signature(ours).parameters.keys() - {
        "dtype",
        "init",
        "relu_derivative_at_zero",
        "loss",
    } == (inspect.signature(theirs).parameters.keys() - {"max_fun", "loss"})  # every other parameter shared
    positional = [
        n for n, p in inspect.signature(theirs).parameters.items() if p.kind == p.POSITIONAL_OR_KEYWORD
    ]
    assert list(inspect.signature(ours).parameters)[: len(positional)] == positional  # same order too
    extra = set(mine) - set(sk)
    assert extra == {"dtype", "init", "relu_derivative_at_zero"} | (
        {"loss"} if ours is NetworkClassifier else set()
    )


def twins(ours, theirs, X, Y, **kwargs):
    """Both estimators after one epoch each, then ours with scikit-learn's parameters."""
    with pytest.warns(ConvergenceWarning):
        theirs.set_params(**kwargs, max_iter=1).fit(X, Y)
    with pytest.warns(ConvergenceWarning):
        ours.set_params(**kwargs, max_iter=1).fit(X, Y)
    for mine, sk in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        mine[...] = sk  # coefs_ and intercepts_ are views of the network's parameters
    return ours, theirs


TRAJECTORIES = {
    "10 classes, adam, alpha": (NetworkClassifier, MLPClassifier, dict(solver="adam", alpha=0.5)),
    "2 classes, sgd nesterov": (NetworkClassifier, MLPClassifier, dict(solver="sgd", activation="tanh")),
    "3 classes, sgd invscaling": (
        NetworkClassifier,
        MLPClassifier,
        dict(solver="sgd", activation="logistic", learning_rate="invscaling", power_t=0.3, momentum=0.5),
    ),
    "2 targets, adam": (NetworkRegressor, MLPRegressor, dict(solver="adam", alpha=0.1)),
    "1 target, sgd momentum": (NetworkRegressor, MLPRegressor, dict(solver="sgd", nesterovs_momentum=False)),
}


@pytest.mark.parametrize("case", list(TRAJECTORIES))
def test_the_trajectory_is_scikit_learns_from_the_same_start(case):
    ours, theirs, kwargs = TRAJECTORIES[case]
    X, y = digits(n=130, classes={"2 c": 2, "3 c": 3}.get(case[:3], 10))  # 130 = 4 batches of 30 + 10
    if ours is NetworkRegressor:
        y = np.column_stack([y / 9, (y / 9) ** 2]) if case.startswith("2") else y / 9
    common = dict(hidden_layer_sizes=(12,), batch_size=30, shuffle=False, warm_start=True, random_state=0)
    common.update(
        learning_rate_init=0.01 if kwargs["solver"] == "adam" else 0.1, tol=0.0, n_iter_no_change=99
    )
    mine, sk = twins(ours(), theirs(), X, y, **common, **kwargs)
    with pytest.warns(ConvergenceWarning):
        sk.set_params(max_iter=6).fit(X, y)  # warm start: a new optimizer, the same weights
    with pytest.warns(ConvergenceWarning):
        mine.set_params(max_iter=6).fit(X, y)
    assert len(mine.loss_curve_) == len(sk.loss_curve_) == 7 and sk.loss_curve_[-1] < 0.99 * sk.loss_curve_[1]
    np.testing.assert_allclose(mine.loss_curve_[1:], sk.loss_curve_[1:], rtol=1e-10)
    for a, b in zip(mine.coefs_ + mine.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mine.predict_proba(X) if ours is NetworkClassifier else mine.predict(X),
                               sk.predict_proba(X) if ours is NetworkClassifier else sk.predict(X), rtol=1e-9)  # fmt: skip


# ---------------------------------------------------------------------------- training
def test_partial_fit_continues_the_optimizer_as_fit_does():
    X, y = digits(n=100, classes=3)
    kwargs = dict(hidden_layer_sizes=(8,), batch_size=32, shuffle=False, random_state=0, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        whole = NetworkClassifier(**kwargs, max_iter=4).fit(X, y)
    steps = NetworkClassifier(**kwargs)
    for _ in range(4):
        steps.partial_fit(X, y, classes=[0, 1, 2])
    assert steps.n_iter_ == 1 and steps.t_ == whole.t_ == 400
    assert steps.loss_curve_ == whole.loss_curve_  # Adam's moments and step count carried over
    for a, b in zip(steps.coefs_, whole.coefs_):
        np.testing.assert_array_equal(a, b)
    restarted = NetworkClassifier(**kwargs)
    restarted.partial_fit(X, y, classes=[0, 1, 2])
    restarted = pickle.loads(pickle.dumps(restarted))  # the optimizer's state survives pickling
    for _ in range(3):
        restarted.partial_fit(X, y)
    np.testing.assert_array_equal(restarted.coefs_[0], whole.coefs_[0])


def test_early_stopping_keeps_the_best_epoch():
    X, y = digits(n=300)
    kwargs = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, early_stopping=True, random_state=0)
    clf = NetworkClassifier(**kwargs, n_iter_no_change=3).fit(X, y)
    scores = clf.validation_scores_
    assert clf.n_iter_ == len(scores) < 200 and clf.best_loss_ is None
    best = int(np.argmax(scores)) + 1  # the epoch, from 1
    assert clf.best_validation_score_ == max(scores) > 0.8
    assert clf.n_iter_ == best + 3 + 1  # more than n_iter_no_change epochs without improvement
    with pytest.warns(ConvergenceWarning):  # the same run, stopped at the best epoch
        at_best = NetworkClassifier(**kwargs, max_iter=best).fit(X, y)
    assert at_best.validation_scores_ == scores[:best]
    for kept, there in zip(clf.coefs_ + clf.intercepts_, at_best.coefs_ + at_best.intercepts_):
        np.testing.assert_array_equal(kept, there)
    without = NetworkClassifier((16,), learning_rate_init=0.01, random_state=0).fit(X, y)
    assert without.validation_scores_ is None and without.best_loss_ == min(without.loss_curve_)


def test_same_random_state_same_model_and_float32():
    X, y = digits(n=100, classes=3)
    kwargs = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=7)
    with pytest.warns(ConvergenceWarning):
        a, b = NetworkClassifier(**kwargs).fit(X, y), NetworkClassifier(**kwargs).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    with pytest.warns(ConvergenceWarning):
        c = NetworkClassifier(**kwargs, dtype="float32").fit(X, y)
    assert c.network_.dtype == np.float32 and c.predict_proba(X).dtype == np.float32
    assert c.coefs_[0].dtype == np.float32
    np.testing.assert_allclose(c.predict_proba(X), a.predict_proba(X), atol=1e-3)


def test_coefs_and_intercepts_are_views_shaped_like_scikit_learns():
    X, y = digits(n=60, classes=3)
    with pytest.warns(ConvergenceWarning):
        clf = NetworkClassifier((5, 4), max_iter=2, random_state=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(64, 5), (5, 4), (4, 3)]
    assert [b.shape for b in clf.intercepts_] == [(5,), (4,), (3,)] and clf.n_layers_ == 4
    clf.intercepts_[-1][...] = [0.0, 0.0, 100.0]
    assert (clf.predict(X) == 2).all()  # writing into the view changed the network
    assert clf.network_.biases[-1][2] == 100.0


def test_relu_derivative_at_zero_is_used():
    X = np.zeros((4, 2))  # every hidden z equals its bias, 0 with the glorot init: ReLU'(0) decides
    y = np.array([0.0, 1.0, 2.0, 3.0])
    kwargs = dict(hidden_layer_sizes=(3,), solver="sgd", momentum=0.0, max_iter=1, random_state=0)
    with pytest.warns(ConvergenceWarning):
        zero = NetworkRegressor(**kwargs).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        one = NetworkRegressor(**kwargs, relu_derivative_at_zero=1.0).fit(X, y)
    assert (zero.intercepts_[0] == 0).all() and (one.intercepts_[0] != 0).all()


@pytest.mark.parametrize("estimator", [NetworkClassifier(), NetworkRegressor()])
def test_not_fitted(estimator):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        estimator.predict(np.zeros((2, 3)))
    assert not hasattr(estimator, "coefs_")


# ---------------------------------------------------------------------------- errors and their advice
BAD = [
    ("activation", "sigmoid", r"one of 'identity', 'logistic', 'tanh', 'relu'; got 'sigmoid' \(bplit's 'sigmoid' is 'logistic'"),
    ("solver", "lbfgs", r"one of 'sgd', 'adam'; got 'lbfgs' \(bplit has no L-BFGS"),
    ("hidden_layer_sizes", (10, 0), r"positive integer or a sequence of them"),
    ("hidden_layer_sizes", "10", r"positive integer or a sequence of them"),
    ("alpha", -1.0, r"alpha must be a number in \[0, inf\), got -1.0"),
    ("batch_size", 0, r"batch_size must be 'auto' or an integer >= 1, got 0"),
    ("batch_size", "full", r"batch_size must be 'auto' or an integer >= 1, got 'full'"),
    ("learning_rate", "optimal", r"one of 'constant', 'invscaling', 'adaptive'; got 'optimal'"),
    ("learning_rate_init", 0, r"learning_rate_init must be a number in \(0, inf\), got 0"),
    ("max_iter", 2.5, r"max_iter must be an integer >= 1, got 2.5"),
    ("shuffle", "yes", r"shuffle must be True or False, got 'yes'"),
    ("momentum", 1.0, r"momentum must be a number in \[0, 1\), got 1.0"),
    ("validation_fraction", 1.0, r"validation_fraction must be a number in \[0, 1\), got 1.0"),
    ("beta_2", 1.0, r"beta_2 must be a number in \[0, 1\), got 1.0"),
    ("epsilon", 0.0, r"epsilon must be a number in \(0, inf\), got 0.0"),
    ("n_iter_no_change", 0, r"n_iter_no_change must be an integer >= 1 \(or numpy.inf\), got 0"),
    ("dtype", "float16", r"dtype must be one of 'float64', 'float32'; got 'float16'"),
    ("init", "zeros", r"init must be one of 'nielsen', 'glorot', 'he'; got 'zeros'"),
    ("relu_derivative_at_zero", 2, r"relu_derivative_at_zero must be a number in \[0, 1\], got 2"),
    ("loss", "hinge", r"loss must be one of 'auto', 'binary_cross_entropy', 'cross_entropy'; got 'hinge'"),
]  # fmt: skip


@pytest.mark.parametrize("name, value, message", BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_bad_parameters_name_the_expected_values(name, value, message):
    X, y = digits(n=20, classes=2)
    clf = NetworkClassifier(**{name: value})  # accepted here, checked by fit (scikit-learn's rule)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_regressor_loss_names_its_options():
    X, y = np.zeros((5, 2)), np.arange(5.0)
    with pytest.raises(
        ValueError, match=r"one of 'squared_error', 'half_sse', 'mse'; got 'poisson' \(bplit has no Poisson"
    ):
        NetworkRegressor(loss="poisson").fit(X, y)
    for loss in ("half_sse", "mse"):
        with pytest.warns(ConvergenceWarning):
            reg = NetworkRegressor(loss=loss, hidden_layer_sizes=(2,), max_iter=2, random_state=0).fit(X, y)
        assert reg.network_.loss_fn.name == loss


@no_convergence_warning
def test_advice_works_when_followed():
    X, y = digits(n=90, classes=3)
    small = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    # classes on the first partial_fit call
    with pytest.raises(ValueError, match=r"classes=numpy.unique\(y_all\)"):
        NetworkClassifier(**small).partial_fit(X[:30], y[:30])
    clf = NetworkClassifier(**small).partial_fit(X[:30], y[:30], classes=np.unique(y))
    clf.partial_fit(X[30:], y[30:])
    # a label the first call did not announce
    with pytest.raises(
        ValueError, match=r"not in classes_ \[0, 1, 2\]: \[7\]; pass every label with classes="
    ):
        clf.partial_fit(X[:3], [0, 1, 7])
    NetworkClassifier(**small).partial_fit(X[:3], [0, 1, 7], classes=[0, 1, 2, 7])
    # early stopping needs fit
    with pytest.raises(ValueError, match="set early_stopping=False"):
        NetworkClassifier(**small, early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    NetworkClassifier(**small, early_stopping=False).partial_fit(X, y, classes=[0, 1, 2])
    # binary cross-entropy with three classes
    with pytest.raises(ValueError, match="use loss='auto' or 'cross_entropy'"):
        NetworkClassifier(**small, loss="binary_cross_entropy").fit(X, y)
    assert NetworkClassifier(**small, loss="auto").fit(X, y).n_outputs_ == 3
    # warm start with other layers
    warm = NetworkClassifier(**small, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="call fit with warm_start=False to start afresh"):
        warm.set_params(hidden_layer_sizes=(6,)).fit(X, y)
    assert warm.set_params(warm_start=False).fit(X, y).coefs_[0].shape == (64, 6)
    # one class
    with pytest.raises(ValueError, match="at least two classes"):
        NetworkClassifier(**small).fit(X[y == 0], y[y == 0])
    # sparse input (scikit-learn's own message)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match=r"toarray\(\)"):
        NetworkClassifier(**small).fit(scipy_sparse.csr_matrix(X), y)
    NetworkClassifier(**small).fit(scipy_sparse.csr_matrix(X).toarray(), y)


def test_divergence_says_to_scale_and_scaling_works():
    X, y = make_regression(n_samples=60, n_features=4, random_state=0)
    reg = NetworkRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.1, random_state=0)
    with pytest.raises(FloatingPointError, match="StandardScaler in a Pipeline.*TransformedTargetRegressor"):
        reg.fit(X * 1e150, y)
    from sklearn.compose import TransformedTargetRegressor

    scaled = TransformedTargetRegressor(make_pipeline(StandardScaler(), reg), transformer=StandardScaler())
    assert scaled.fit(X * 1e150, y).score(X * 1e150, y) > 0.9


def test_without_scikit_learn_the_import_says_what_to_install():
    code = "import sys; sys.modules['sklearn'] = None\ntry:\n    import bplit.sklearn\nexcept ImportError as e:\n    print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'bplit[sklearn]'" in out
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert any(r.startswith("scikit-learn") for r in pyproject["project"]["optional-dependencies"]["sklearn"])


@no_convergence_warning
def test_a_failed_fit_leaves_no_fitted_state_and_early_stopping_needs_data():
    X, y = digits(n=40, classes=3)
    clf = NetworkClassifier((4,), max_iter=2, random_state=0)
    with pytest.raises(ValueError, match="one class only"):
        clf.fit(X[y == 1], y[y == 1])
    assert not hasattr(clf, "classes_") and not hasattr(clf, "network_")
    with pytest.raises(
        ValueError, match=r"early_stopping=True holds out validation_fraction .*set it in \(0, 1\)"
    ):
        clf.set_params(early_stopping=True, validation_fraction=0.0).fit(X, y)
    with pytest.raises(ValueError, match="validation set is too small.*increase validation_fraction"):
        NetworkRegressor(early_stopping=True, validation_fraction=0.05).fit(X[:20], y[:20] * 1.0)
    NetworkRegressor(early_stopping=True, validation_fraction=0.1, max_iter=2).fit(X[:20], y[:20] * 1.0)
    reg = NetworkRegressor(hidden_layer_sizes=(3,), max_iter=2, warm_start=True).fit(X, y * 1.0)
    with pytest.raises(ValueError, match=r"'loss': 'half_sse'.*'loss': 'mse'.*warm_start=False"):
        reg.set_params(loss="mse").fit(X, y * 1.0)
    reg.set_params(loss="half_sse").fit(X, y * 1.0)  # squared_error and half_sse train the same network
