"""bplit.optim against scikit-learn's MLP solvers: equal trajectories, update by update.

Each case starts bplit and scikit-learn from identical weights (scikit-learn's
``coefs_[l]`` is bplit's ``weights[l].T``) and feeds both the same mini-batches, one
``partial_fit`` call per batch (``shuffle=False``, ``batch_size`` = the batch, so one
update per call; the first call only builds the model, whose parameters and optimizer
are then replaced). After every update the parameters are compared; the largest
relative difference, max_l |a_l - b_l|_inf / |b_l|_inf over every weight and bias
array, is kept in ``AGREEMENT`` and printed at the end of the module (``pytest -s``).

The conventions mapped (see :mod:`bplit.optim`): ``alpha`` is ``weight_decay =
alpha / batch_size``; ``MLPClassifier`` is softmax + cross_entropy (10 classes) or
sigmoid + binary_cross_entropy (2 classes); ``MLPRegressor`` is identity + half_sse,
all with the mean over the batch.
"""

import numpy as np
import pytest

import bplit
from bplit.optim import SGD, Adam

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_diabetes, load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402

BATCH = 20
EPOCHS = 2
AGREEMENT: dict[str, tuple[float, int]] = {}  # case -> (max relative difference, updates compared)


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    print("\nbplit.optim vs scikit-learn: max relative difference over every update")
    for case, (diff, n) in AGREEMENT.items():
        print(f"  {case:<34} {diff:.1e}  ({n} updates)")


def digits(n=200, classes=10):
    d = load_digits()
    keep = d.target < classes
    return d.data[keep][:n] / 16.0, d.target[keep][:n]


def diabetes(n=200):
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    Y = np.column_stack([y, (y**2 - 1) / 2])  # two outputs: the gradient is not divided by n_out
    return X[:n] / X[:n].std(axis=0), Y[:n]


def mini_batches(X, Y, epochs=EPOCHS):
    return [(X[s : s + BATCH], Y[s : s + BATCH]) for _ in range(epochs) for s in range(0, len(X), BATCH)]


def sklearn_twin(est, net, X, Y, **first_call):
    """``est`` with ``net``'s parameters and a fresh optimizer (zero velocity, t = 0)."""
    est.partial_fit(X[:BATCH], Y[:BATCH], **first_call)  # builds coefs_, intercepts_, _optimizer
    est.coefs_ = [w.T.copy() for w in net.weights]
    est.intercepts_ = [b.copy() for b in net.biases]
    del est._optimizer  # the next partial_fit starts a new one
    return est


def relative_difference(est, net):
    pairs = [*zip(est.coefs_, (w.T for w in net.weights)), *zip(est.intercepts_, net.biases)]
    return max(np.max(np.abs(a - b)) / np.max(np.abs(a)) for a, b in pairs)


def compare(case, est, net, opt, batches):
    worst = 0.0
    before = relative_difference(est, net)  # 0: the same start
    start = [w.copy() for w in net.weights]
    for Xb, Yb in batches:
        est.partial_fit(Xb, Yb)
        opt.step(net, Xb, Yb)
        worst = max(worst, relative_difference(est, net))
    AGREEMENT[case] = (worst, len(batches))
    assert before == 0.0
    travelled = max(np.max(np.abs(w - s)) / np.max(np.abs(s)) for w, s in zip(net.weights, start))
    assert travelled > 1e-3  # the comparison is over a real trajectory
    return worst


def sk_kwargs(solver, alpha, **kw):
    return dict(
        solver=solver,
        alpha=alpha,
        batch_size=BATCH,
        shuffle=False,
        learning_rate="constant",
        n_iter_no_change=10**6,
        tol=0.0,
        random_state=0,
        **kw,
    )


SGD_CASES = {
    "sgd": dict(momentum=0.0, nesterov=False, alpha=0.0),
    "sgd momentum 0.9": dict(momentum=0.9, nesterov=False, alpha=0.0),
    "sgd nesterov 0.9": dict(momentum=0.9, nesterov=True, alpha=0.0),
    "sgd momentum 0.8, alpha 0.05": dict(momentum=0.8, nesterov=False, alpha=0.05),
}


@pytest.mark.parametrize("case", list(SGD_CASES))
def test_sgd_classifier_digits_10_classes(case):
    c = SGD_CASES[case]
    X, y = digits()
    net = bplit.Network([64, 16, 10], hidden="sigmoid", output="softmax", loss="cross_entropy", seed=0)
    est = MLPClassifier(
        hidden_layer_sizes=(16,),
        activation="logistic",
        learning_rate_init=0.3,
        momentum=c["momentum"],
        nesterovs_momentum=c["nesterov"],
        **sk_kwargs("sgd", c["alpha"]),
    )
    sklearn_twin(est, net, X, y, classes=np.arange(10))
    opt = SGD(0.3, momentum=c["momentum"], nesterov=c["nesterov"], weight_decay=c["alpha"] / BATCH)
    assert compare(f"classifier 10 classes, {case}", est, net, opt, mini_batches(X, y)) < 1e-10


def test_sgd_classifier_two_classes_is_sigmoid_and_binary_cross_entropy():
    X, y = digits(classes=2)
    net = bplit.Network([64, 8, 1], hidden="tanh", output="sigmoid", loss="binary_cross_entropy", seed=1)
    est = MLPClassifier(
        hidden_layer_sizes=(8,),
        activation="tanh",
        learning_rate_init=0.2,
        momentum=0.9,
        nesterovs_momentum=True,
        **sk_kwargs("sgd", 0.01),
    )
    sklearn_twin(est, net, X, y, classes=np.arange(2))
    opt = SGD(0.2, momentum=0.9, nesterov=True, weight_decay=0.01 / BATCH)
    assert compare("classifier 2 classes, sgd nesterov, alpha", est, net, opt, mini_batches(X, y)) < 1e-10


def test_sgd_regressor_follows_half_sse():
    X, Y = diabetes()
    net = bplit.Network([10, 12, 2], hidden="relu", output="identity", loss="half_sse", seed=2)
    est = MLPRegressor(
        hidden_layer_sizes=(12,),
        activation="relu",
        learning_rate_init=0.02,
        momentum=0.9,
        nesterovs_momentum=True,
        **sk_kwargs("sgd", 0.1),
    )
    sklearn_twin(est, net, X, Y)
    opt = SGD(0.02, momentum=0.9, nesterov=True, weight_decay=0.1 / BATCH)
    assert compare("regressor 2 outputs, sgd nesterov, alpha", est, net, opt, mini_batches(X, Y)) < 1e-10


@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_adam_classifier_digits(alpha):
    X, y = digits()
    net = bplit.Network([64, 16, 10], hidden="relu", output="softmax", loss="cross_entropy", seed=3)
    est = MLPClassifier(
        hidden_layer_sizes=(16,), activation="relu", learning_rate_init=0.01, **sk_kwargs("adam", alpha)
    )
    sklearn_twin(est, net, X, y, classes=np.arange(10))
    opt = Adam(0.01, weight_decay=alpha / BATCH)
    assert compare(f"classifier 10 classes, adam, alpha {alpha}", est, net, opt, mini_batches(X, y)) < 1e-10


def test_adam_regressor_with_other_betas():
    X, Y = diabetes()
    net = bplit.Network([10, 12, 2], hidden="tanh", output="identity", loss="half_sse", seed=4)
    est = MLPRegressor(
        hidden_layer_sizes=(12,),
        activation="tanh",
        learning_rate_init=0.01,
        beta_1=0.8,
        beta_2=0.99,
        epsilon=1e-6,
        **sk_kwargs("adam", 0.01),
    )
    sklearn_twin(est, net, X, Y)
    opt = Adam(0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.01 / BATCH)
    assert compare("regressor 2 outputs, adam, alpha 0.01", est, net, opt, mini_batches(X, Y)) < 1e-10


def test_invscaling_is_a_schedule_and_the_velocity_carries_the_rate():
    """scikit-learn's own epoch loop (``fit``, warm start): 'invscaling' sets the rate of
    epoch e to eta0 / ((e - 1) n + 1) ** power_t; with momentum the velocity keeps the
    earlier rates, as bplit's does."""
    X, y = digits(n=100)
    n, epochs, power_t = len(X), 3, 0.25
    net = bplit.Network([64, 16, 10], hidden="sigmoid", output="softmax", loss="cross_entropy", seed=5)
    kwargs = sk_kwargs(
        "sgd", 0.0, momentum=0.9, nesterovs_momentum=False, power_t=power_t, warm_start=True, max_iter=epochs
    )
    kwargs["learning_rate"] = "invscaling"
    est = sklearn_twin(
        MLPClassifier(hidden_layer_sizes=(16,), activation="logistic", learning_rate_init=0.5, **kwargs),
        net,
        X,
        y,
        classes=np.arange(10),
    )
    est.t_ = 0  # samples seen: the first partial_fit counted its batch
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    opt = SGD(lambda e: 0.5 / ((e - 1) * n + 1) ** power_t, momentum=0.9)
    for epoch in range(1, epochs + 1):
        opt.epoch = epoch
        for Xb, yb in mini_batches(X, y, epochs=1):
            opt.step(net, Xb, yb)
    AGREEMENT["classifier, sgd momentum, invscaling"] = (relative_difference(est, net), epochs * n // BATCH)
    assert relative_difference(est, net) < 1e-10
