"""bplit against references written here in plain NumPy, none of them calling bplit's formulas.

Each test guards formulas that a 0.1 % mutation (``tools/mutate``) could change without
any other test noticing: the per-sample and summed costs of every loss, the statistics
of the three initialisers, Nielsen's per-example gradients, BP3/BP4 for a batch and
gradcheck's relative error. All seeded and fast.
"""

from __future__ import annotations

import numpy as np
import pytest

import bplit
from bplit.graph import GraphNetwork
from bplit.losses import LOSSES
from bplit.notation import nielsen

RTOL = 1e-12


# --------------------------------------------------------------------------- references
def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ref_cost(name: str, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """C_s for every row, from the definition (module docstring of bplit.losses)."""
    if name == "mse":
        return ((a - y) ** 2).mean(axis=1)
    if name == "half_sse":
        return 0.5 * ((a - y) ** 2).sum(axis=1)
    if name == "cross_entropy":
        return -(y * np.log(a)).sum(axis=1)
    assert name == "binary_cross_entropy"
    log_a, log_1ma = -np.log1p(np.exp(-z)), -np.log1p(np.exp(z))  # log s(z), log(1 - s(z)) = log s(-z)
    return -(y * log_a + (1 - y) * log_1ma).sum(axis=1)


def _case(name: str, seed: int, m: int = 7, n: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted inputs z, outputs a and targets y for the loss ``name``."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(-3, 3, (m, n))
    if name == "cross_entropy":
        y = rng.uniform(0.05, 1, (m, n))
        return z, _softmax(z), y / y.sum(axis=1, keepdims=True)
    if name == "binary_cross_entropy":
        return z, _sigmoid(z), rng.uniform(0, 1, (m, n))
    return z, rng.standard_normal((m, n)), rng.standard_normal((m, n))


# --------------------------------------------------------------------------- costs
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_per_sample_and_summed_costs_are_the_definitions(name: str, seed: int) -> None:
    z, a, y = _case(name, seed)
    expected = _ref_cost(name, z, a, y)
    loss = LOSSES[name]
    np.testing.assert_allclose(loss.per_sample(z, a, y), expected, rtol=RTOL)
    assert loss.total(z, a, y) == pytest.approx(expected.sum(), rel=RTOL)
    if loss.sum_fn is not None:  # the fast sum, and the sum of the per-sample costs, both
        assert loss.sum_fn(z, a, y) == pytest.approx(expected.sum(), rel=RTOL)
        assert float(loss.per_sample(z, a, y).sum()) == pytest.approx(expected.sum(), rel=RTOL)


def test_cross_entropy_per_sample_of_one_hot_rows_is_minus_log_of_the_true_class() -> None:
    z = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [-4.0, 3.0, 1.0]])
    y = np.eye(3)[[0, 2, 1]]
    a = _softmax(z)
    expected = -np.log(a[np.arange(3), [0, 2, 1]])
    np.testing.assert_allclose(LOSSES["cross_entropy"].per_sample(z, a, y), expected, rtol=RTOL)
    np.testing.assert_allclose(expected[1], np.log(3.0), rtol=RTOL)  # uniform over 3 classes


def _ref_forward(weights: list[np.ndarray], biases: list[np.ndarray], X: np.ndarray, hidden, output):
    a, zs, acts = X, [], [X]
    for l, (W, b) in enumerate(zip(weights, biases)):
        zs.append(a @ W.T + b)
        a = (output if l == len(weights) - 1 else hidden)(zs[-1])
        acts.append(a)
    return zs, acts


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(
    "output, loss",
    [
        ("identity", "mse"),
        ("sigmoid", "half_sse"),
        ("softmax", "cross_entropy"),
        ("sigmoid", "binary_cross_entropy"),
    ],
)
def test_network_loss_is_the_reduced_sum_of_the_definitions(output: str, loss: str, reduction: str) -> None:
    net = bplit.Network([3, 5, 4], hidden="tanh", output=output, loss=loss, reduction=reduction, seed=5)
    rng = np.random.default_rng(6)
    X = rng.standard_normal((9, 3))
    y = rng.uniform(0.05, 1, (9, 4))
    Y = y / y.sum(axis=1, keepdims=True) if loss == "cross_entropy" else y
    out = {"identity": lambda t: t, "sigmoid": _sigmoid, "softmax": _softmax}[output]
    zs, acts = _ref_forward(net.weights, net.biases, X, np.tanh, out)
    C = _ref_cost(loss, zs[-1], acts[-1], Y).sum() / (9 if reduction == "mean" else 1)
    assert net.loss(X, Y) == pytest.approx(C, rel=RTOL)


@pytest.mark.parametrize("loss", ["mse", "half_sse"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_graph_network_loss_is_the_reduced_sum_of_the_definitions(loss: str, reduction: str) -> None:
    """GraphNetwork's loss goes through the per-sample costs (eq. 8)."""
    net = bplit.Network([2, 3, 2], loss=loss, reduction=reduction, seed=7)
    g = GraphNetwork.from_network(net)
    rng = np.random.default_rng(8)
    X, Y = rng.standard_normal((6, 2)), rng.uniform(0, 1, (6, 2))
    zs, acts = _ref_forward(net.weights, net.biases, X, _sigmoid, _sigmoid)
    C = _ref_cost(loss, zs[-1], acts[-1], Y).sum() / (6 if reduction == "mean" else 1)
    assert g.loss(X, Y) == pytest.approx(C, rel=RTOL)
    assert net.loss(X, Y) == pytest.approx(C, rel=RTOL)


# --------------------------------------------------------------------------- initialisation
# The sample standard deviation of N independent draws has relative standard error
# ~1/sqrt(2N) (normal) and ~0.45/sqrt(N) (uniform); with N >= 3e5 per layer that is
# <= 0.13 %, so a 1 % tolerance is > 7 standard errors, while sqrt(1/n) instead of
# sqrt(2/n) is 29 % off, and fan-out instead of fan-in a factor 2. The kurtosis
# E[w^4]/E[w^2]^2 (3 for a normal, 1.8 for a uniform) has standard error ~sqrt(24/N)
# <= 0.01 for a normal.
SIZES = [400, 1600, 200]  # fan-in 400, then 1600; fan-out differs from fan-in in each layer


def _stats(w: np.ndarray) -> tuple[float, float, float, int]:
    w = w.ravel()
    mean, std = float(w.mean()), float(w.std())
    kurt = float(np.mean((w - mean) ** 4) / std**4)
    return mean, std, kurt, w.size


def _check_normal(w: np.ndarray, std: float) -> None:
    """Mean, standard deviation and kurtosis of a normal's draws, each within >= 6 standard errors."""
    mean, s, kurt, n = _stats(w)
    assert abs(mean) < 6 * std / np.sqrt(n)
    assert s == pytest.approx(std, rel=max(0.01, 6 / np.sqrt(2 * n)))
    assert kurt == pytest.approx(3.0, abs=max(0.1, 6 * np.sqrt(24 / n)))


@pytest.mark.parametrize("seed", [0, 1])
def test_he_initialisation_is_normal_with_variance_2_over_fan_in(seed: int) -> None:
    net = bplit.Network(SIZES, hidden="relu", output="identity", loss="mse", init="he", seed=seed)
    for W, b, n_in in zip(net.weights, net.biases, SIZES[:-1]):
        _check_normal(W, np.sqrt(2.0 / n_in))
        assert not np.any(b)
    # the wrong scale sqrt(1/n) is far outside the tolerance (29 % off)
    assert not np.std(net.weights[0]) == pytest.approx(np.sqrt(1.0 / SIZES[0]), rel=0.1)


@pytest.mark.parametrize("seed", [0, 1])
def test_glorot_initialisation_is_uniform_within_sqrt_6_over_fan_in_plus_fan_out(seed: int) -> None:
    net = bplit.Network(SIZES, hidden="tanh", output="tanh", loss="mse", init="glorot", seed=seed)
    for W, b, n_in, n_out in zip(net.weights, net.biases, SIZES[:-1], SIZES[1:]):
        lim = np.sqrt(6.0 / (n_in + n_out))
        mean, s, kurt, n = _stats(W)
        assert abs(mean) < 6 * lim / np.sqrt(3 * n)
        assert s == pytest.approx(lim / np.sqrt(3.0), rel=0.01)  # a uniform on [-lim, lim]
        assert kurt == pytest.approx(1.8, abs=0.02)  # a uniform's, not a normal's 3
        assert np.max(np.abs(W)) <= lim
        assert np.max(np.abs(W)) > lim * (1 - 1e-3)  # the whole interval is used
        assert not np.any(b)


@pytest.mark.parametrize("seed", [0, 1])
def test_nielsen_initialisation_is_normal_with_variance_1_over_fan_in_and_unit_biases(seed: int) -> None:
    net = bplit.Network(SIZES, init="nielsen", seed=seed)
    for W, n_in in zip(net.weights, SIZES[:-1]):
        _check_normal(W, np.sqrt(1.0 / n_in))
    b = np.concatenate(net.biases)  # 1800 draws of N(0, 1): standard error of the std 1.7 %
    assert abs(b.mean()) < 6 / np.sqrt(b.size)
    assert b.std() == pytest.approx(1.0, rel=0.1)


def test_graph_he_and_nielsen_initialisation_scale_with_each_units_fan_in() -> None:
    """GraphNetwork draws w_ij per unit i: N(0, 2/|S_i|) for He, N(0, 1/|S_i|) for Nielsen."""
    n_in, n_hidden, n_out = 300, 400, 150  # fan-in 300 for the hidden units, 400 for the outputs
    ids = np.arange(1, n_in + n_hidden + n_out + 1)
    layers = [ids[:n_in].tolist(), ids[n_in : n_in + n_hidden].tolist(), ids[n_in + n_hidden :].tolist()]
    upstream = {i: layers[0] for i in layers[1]} | {i: layers[1] for i in layers[2]}
    for init, var in (("he", 2.0), ("nielsen", 1.0)):
        g = GraphNetwork(layers, upstream, activation="relu", init=init, seed=3)
        w = g.w.array
        first = n_hidden * n_in  # edges are listed unit by unit, hidden units first
        assert w.size == first + n_out * n_hidden
        _check_normal(w[:first], np.sqrt(var / n_in))
        _check_normal(w[first:], np.sqrt(var / n_hidden))
        if init == "he":
            assert not np.any(g.b.array)


# --------------------------------------------------------------------------- backprop
def _ref_example_gradients(net: bplit.Network, x: np.ndarray, y: np.ndarray):
    """BP1-BP4 for one example as column vectors: tanh hidden, sigmoid output, C = |a - y|^2 / 2."""
    a, zs, acts = x, [], [x]
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        zs.append(W @ a + b[:, None])
        a = np.tanh(zs[-1]) if l < net.n_layers - 1 else _sigmoid(zs[-1])
        acts.append(a)
    delta = (a - y) * a * (1 - a)
    nabla_w, nabla_b = [None] * net.n_layers, [None] * net.n_layers
    for l in range(net.n_layers - 1, -1, -1):
        nabla_w[l], nabla_b[l] = delta @ acts[l].T, delta
        if l:
            delta = (net.weights[l].T @ delta) * (1 - np.tanh(zs[l - 1]) ** 2)
    return nabla_w, nabla_b


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nielsen_backprop_nabla_w_and_nabla_b_against_per_example_backprop(seed: int) -> None:
    net = bplit.Network([3, 4, 5, 2], hidden="tanh", output="sigmoid", loss="half_sse", seed=seed)
    rng = np.random.default_rng(seed + 20)
    x, y = rng.standard_normal((3, 1)), rng.uniform(0, 1, (2, 1))
    ref_w, ref_b = _ref_example_gradients(net, x, y)
    _, nabla_b, nabla_w = nielsen.backprop(net, x, y)
    assert sorted(nabla_w) == sorted(nabla_b) == [2, 3, 4]
    for l in (2, 3, 4):
        assert nabla_w[l].shape == (net.sizes[l - 1], net.sizes[l - 2])
        np.testing.assert_allclose(nabla_w[l], ref_w[l - 2], rtol=RTOL, atol=1e-15)
        np.testing.assert_allclose(nabla_b[l], ref_b[l - 2], rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_batch_gradients_and_step_are_sums_of_per_example_backprop(reduction: str) -> None:
    """BP3 and BP4 for a batch: the (averaged) per-example gradients, in gradients and in step."""
    net = bplit.Network(
        [3, 4, 5, 2], hidden="tanh", output="sigmoid", loss="half_sse", reduction=reduction, seed=4
    )
    rng = np.random.default_rng(9)
    X, Y = rng.standard_normal((6, 3)), rng.uniform(0, 1, (6, 2))
    per_example = [_ref_example_gradients(net, x[:, None], y[:, None]) for x, y in zip(X, Y)]
    k = 1 / 6 if reduction == "mean" else 1.0
    ref_w = [k * sum(e[0][l] for e in per_example) for l in range(net.n_layers)]
    ref_b = [k * sum(e[1][l] for e in per_example)[:, 0] for l in range(net.n_layers)]
    g = net.gradients(X, Y)
    for l in range(net.n_layers):
        np.testing.assert_allclose(g.weights[l], ref_w[l], rtol=RTOL, atol=1e-15)
        np.testing.assert_allclose(g.biases[l], ref_b[l], rtol=RTOL, atol=1e-15)
    eta = 0.7
    w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    net.step(X, Y, eta)
    for l in range(net.n_layers):
        np.testing.assert_allclose(net.weights[l], w0[l] - eta * ref_w[l], rtol=RTOL, atol=1e-15)
        np.testing.assert_allclose(net.biases[l], b0[l] - eta * ref_b[l], rtol=RTOL, atol=1e-15)


def test_nielsen_update_mini_batch_is_the_averaged_per_example_step() -> None:
    net = bplit.Network([3, 4, 2], hidden="tanh", output="sigmoid", loss="half_sse", seed=11)
    rng = np.random.default_rng(12)
    xs, ys = rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 2))
    per_example = [_ref_example_gradients(net, x[:, None], y[:, None]) for x, y in zip(xs, ys)]
    eta = 0.9
    new_w = [w - eta / 5 * sum(e[0][l] for e in per_example) for l, w in enumerate(net.weights)]
    new_b = [b - eta / 5 * sum(e[1][l] for e in per_example)[:, 0] for l, b in enumerate(net.biases)]
    nielsen.update_mini_batch(net, xs, ys, eta)
    for l in range(net.n_layers):
        np.testing.assert_allclose(net.weights[l], new_w[l], rtol=RTOL, atol=1e-15)
        np.testing.assert_allclose(net.biases[l], new_b[l], rtol=RTOL, atol=1e-15)


# --------------------------------------------------------------------------- gradcheck
def test_relative_error_is_max_abs_difference_over_max_abs_entry() -> None:
    a = bplit.Gradients([np.array([[1.0, -4.0]])], [np.array([0.5])], None)
    b = bplit.Gradients([np.array([[1.5, -4.0]])], [np.array([0.25])], None)
    assert bplit.relative_error(a, b) == pytest.approx(0.5 / 4.0, rel=1e-15)
    assert bplit.relative_error(a, a) == 0.0
