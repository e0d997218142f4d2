"""The notation views (sources 000, 001, 004) against the core, on seeded random networks."""

from __future__ import annotations

import numpy as np
import pytest

import bplit
from bplit.notation import column, outin, rowmajor

RTOL = 1e-12


def _batch(net: bplit.Network, m: int, seed: int, onehot: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, net.sizes[0]))
    if onehot:
        Y = np.eye(net.sizes[-1])[rng.integers(0, net.sizes[-1], m)]
    else:
        Y = rng.uniform(0.0, 1.0, (m, net.sizes[-1]))
    return X, Y


# --------------------------------------------------------------------------- source 000


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh"])
def test_outin_matches_core(seed: int, hidden: str) -> None:
    net = outin.network([3, 5, 4, 2], hidden=hidden, seed=seed)
    assert all(np.all(b == 0) for b in net.biases)
    X, Y = _batch(net, 6, seed + 10)
    g = net.gradients(X, Y)
    trace = net.forward(X)
    fi = outin.forward(net, X)
    assert fi.in_[0] is None
    for l in range(1, net.n_layers + 1):
        w = outin.w(net, l)
        assert w.shape == (net.sizes[l - 1], net.sizes[l])
        # in_k = sum_j w_jk out_j, written with the source's matrix
        np.testing.assert_allclose(fi.out[l - 1] @ w, fi.in_[l], rtol=RTOL)
        np.testing.assert_allclose(fi.in_[l], trace.z[l - 1], rtol=RTOL)
        np.testing.assert_allclose(outin.delta(net, X, Y, l), g.deltas[l - 1], rtol=RTOL)
        np.testing.assert_allclose(outin.d_jk(net, X, Y, l), g.weights[l - 1].T, rtol=RTOL)
        # d_jk = sum_s delta_sk out_sj
        np.testing.assert_allclose(
            outin.d_jk(net, X, Y, l), fi.out[l - 1].T @ outin.delta(net, X, Y, l), rtol=RTOL
        )
    np.testing.assert_allclose(outin.delta_out_layer(net, X, Y), g.deltas[-1], rtol=RTOL)


def test_outin_mse_and_gradient_against_core_and_differences() -> None:
    net = outin.network([2, 3, 3], seed=4)
    X, Y = _batch(net, 5, 5)
    out = net.predict(X)
    assert outin.mse(out, Y) == pytest.approx(net.loss(X, Y), rel=RTOL)
    b, n = out.shape
    np.testing.assert_allclose(outin.mse_gradient(out, Y), 2.0 / (b * n) * (out - Y), rtol=RTOL)
    # dE/dout of the output layer, and delta = dE/dout * f'(in)
    L = net.n_layers
    dout = outin.dE_dout(net, X, Y, L)
    np.testing.assert_allclose(dout, outin.mse_gradient(out, Y), rtol=RTOL)
    fi = outin.forward(net, X)
    fprime = net.output_activation.derivative(fi.in_[L])
    np.testing.assert_allclose(outin.delta_out_layer(net, X, Y), dout * fprime, rtol=RTOL)
    # hidden layer: dE/dout_k = sum_j delta_j w_kj and delta_k = dE/dout_k f'(in_k)
    np.testing.assert_allclose(
        outin.dE_dout(net, X, Y, 1), outin.delta(net, X, Y, 2) @ outin.w(net, 2).T, rtol=RTOL
    )
    np.testing.assert_allclose(
        outin.delta(net, X, Y, 1),
        outin.dE_dout(net, X, Y, 1) * net.hidden_activation.derivative(fi.in_[1]),
        rtol=RTOL,
    )
    num = bplit.numerical_gradients(net, X, Y)
    for l in (1, 2):
        np.testing.assert_allclose(outin.d_jk(net, X, Y, l), num.weights[l - 1].T, rtol=1e-6, atol=1e-9)


def test_outin_reduction_sum_is_converted_to_the_batch_mean() -> None:
    net = outin.network([2, 3, 2], seed=7)
    X, Y = _batch(net, 4, 8)
    net_sum = net.copy()
    net_sum.reduction = "sum"
    for l in (1, 2):
        np.testing.assert_allclose(outin.d_jk(net_sum, X, Y, l), outin.d_jk(net, X, Y, l), rtol=RTOL)
        np.testing.assert_allclose(outin.delta(net_sum, X, Y, l), outin.delta(net, X, Y, l), rtol=RTOL)


def test_outin_golden_value() -> None:
    # Worked by hand: one identity unit, w = 2, out_0 = 1, y = 0, one sample, mse:
    # in = 2, out = 2, E = (0 - 2)^2 = 4, dE/dout = 2 (2 - 0) = 4, delta = 4, d = delta * out_0 = 4.
    net = outin.network([1, 1], output="identity", seed=0)
    net.weights[0][:] = 2.0
    X, Y = np.array([[1.0]]), np.array([[0.0]])
    assert outin.mse(net.predict(X), Y) == 4.0
    assert outin.delta_out_layer(net, X, Y)[0, 0] == 4.0
    assert outin.d_jk(net, X, Y, 1)[0, 0] == 4.0


def test_outin_errors() -> None:
    net = outin.network([3, 4, 2], seed=0)
    X, Y = _batch(net, 3, 0)
    with pytest.raises(ValueError, match="layer l"):
        outin.delta(net, X, Y, 0)
    with pytest.raises(ValueError, match="layer l"):
        outin.d_jk(net, X, Y, 3)
    with pytest.raises(ValueError, match="layer l"):
        outin.w(net, 1.0)
    with pytest.raises(ValueError, match="shape"):
        outin.delta(net, X[:, :2], Y, 1)
    with pytest.raises(ValueError, match="shape"):
        outin.mse(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="shape"):
        outin.mse_gradient(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="floating"):
        outin.mse(np.zeros((2, 2), dtype=int), np.zeros((2, 2)))
    with_bias = bplit.Network([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match="no biases"):
        outin.d_jk(with_bias, X, Y, 1)
    with pytest.raises(ValueError, match="no biases"):
        outin.forward(with_bias, X)
    with pytest.raises(ValueError, match="bplit.Network"):
        outin.w("not a network", 1)


# --------------------------------------------------------------------------- source 001


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_column_matches_core_on_the_3_4_2_network(seed: int) -> None:
    net = bplit.Network([3, 4, 2], seed=seed)
    rng = np.random.default_rng(100 + seed)
    a0 = rng.standard_normal((3, 1))
    t = rng.uniform(0, 1, (2, 1))
    g = net.gradients(a0.T, t.T)
    trace = net.forward(a0.T)
    assert column.W(net, 1).shape == (4, 3) and column.W(net, 2).shape == (2, 4)
    for l in (1, 2):
        zl = column.W(net, l) @ column.a(net, a0, l - 1) + column.b(net, l)
        assert zl.shape == (net.sizes[l], 1)
        np.testing.assert_allclose(column.z(net, a0, l), zl, rtol=RTOL)
        np.testing.assert_allclose(column.z(net, a0, l), trace.z[l - 1].T, rtol=RTOL)
        np.testing.assert_allclose(column.a(net, a0, l), trace.a[l].T, rtol=RTOL)
        d = column.delta(net, a0, t, l)
        assert d.shape == (net.sizes[l], 1)
        np.testing.assert_allclose(d, g.deltas[l - 1].T, rtol=RTOL)
        dW = column.dC_dW(net, a0, t, l)
        assert dW.shape == (net.sizes[l], net.sizes[l - 1])
        np.testing.assert_allclose(dW, d @ column.a(net, a0, l - 1).T, rtol=RTOL)
        np.testing.assert_allclose(column.dC_db(net, a0, t, l), d, rtol=RTOL)
    # the source's two deltas
    a2 = column.a(net, a0, 2)
    d2 = (a2 - t) * column.sigma_prime(net, a0, 2)
    np.testing.assert_allclose(column.delta(net, a0, t, 2), d2, rtol=RTOL)
    d1 = (column.W(net, 2).T @ d2) * column.sigma_prime(net, a0, 1)
    np.testing.assert_allclose(column.delta(net, a0, t, 1), d1, rtol=RTOL)
    assert column.cost(net, a0, t) == pytest.approx(0.5 * float(np.sum((a2 - t) ** 2)), rel=RTOL)


def test_column_gradient_step() -> None:
    net = bplit.Network([3, 4, 2], hidden="tanh", seed=3)
    rng = np.random.default_rng(3)
    a0, t = rng.standard_normal((3, 1)), rng.uniform(0, 1, (2, 1))
    alpha = 0.25
    new = column.gradient_step(net, a0, t, alpha)
    assert new is not net
    for l in (1, 2):
        np.testing.assert_allclose(
            column.W(new, l), column.W(net, l) - alpha * column.dC_dW(net, a0, t, l), rtol=RTOL
        )
        np.testing.assert_allclose(
            column.b(new, l), column.b(net, l) - alpha * column.dC_db(net, a0, t, l), rtol=RTOL
        )
    num = bplit.numerical_gradients(net, a0.T, t.T)
    np.testing.assert_allclose(column.dC_dW(net, a0, t, 1), num.weights[0], rtol=1e-6, atol=1e-9)


def test_column_golden_value() -> None:
    # By hand: one identity unit, W = 3, b = 1, a0 = 2, t = 5: z = 7, C = 0.5 * 4 = 2,
    # delta = a - t = 2, dC/dW = delta * a0 = 4, dC/db = 2.
    net = bplit.Network([1, 1], output="identity", seed=0)
    net.weights[0][:] = 3.0
    net.biases[0][:] = 1.0
    a0, t = np.array([[2.0]]), np.array([[5.0]])
    assert column.cost(net, a0, t) == 2.0
    assert column.dC_dW(net, a0, t, 1)[0, 0] == 4.0
    assert column.dC_db(net, a0, t, 1)[0, 0] == 2.0


def test_column_errors() -> None:
    net = bplit.Network([3, 4, 2], seed=0)
    a0, t = np.ones((3, 1)), np.ones((2, 1))
    with pytest.raises(ValueError, match=r"column vector of shape \(3, 1\)"):
        column.delta(net, np.ones((1, 3)), t, 1)
    with pytest.raises(ValueError, match=r"column vector of shape \(2, 1\)"):
        column.dC_dW(net, a0, np.ones(2), 1)
    with pytest.raises(ValueError, match="layer l"):
        column.delta(net, a0, t, 3)  # the source's delta^3 does not exist
    with pytest.raises(ValueError, match="layer l"):
        column.W(net, 0)
    with pytest.raises(ValueError, match="floating"):
        column.a(net, np.ones((3, 1), dtype=int), 1)
    with pytest.raises(ValueError, match="learning_rate"):
        column.gradient_step(net, a0, t, -1.0)
    soft = bplit.Network([3, 2], output="softmax", loss="cross_entropy", seed=0)
    with pytest.raises(ValueError, match="element-wise"):
        column.sigma_prime(soft, a0, 1)


# --------------------------------------------------------------------------- source 004


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_rowmajor_matches_core(seed: int, reduction: str) -> None:
    net = bplit.Network(
        [4, 5, 3, 3], hidden="tanh", output="softmax", loss="cross_entropy", seed=seed, reduction=reduction
    )
    m = 7
    X, Y = _batch(net, m, 50 + seed, onehot=True)
    mean_net = net.copy()
    mean_net.reduction = "mean"
    g = mean_net.gradients(X, Y)
    L = net.n_layers
    for l in range(L):
        wl = rowmajor.w(net, l)
        assert wl.shape == (net.sizes[l], net.sizes[l + 1])
        np.testing.assert_allclose(
            rowmajor.a(net, X, l) @ wl + rowmajor.b(net, l), rowmajor.z(net, X, l + 1), rtol=RTOL
        )
        np.testing.assert_allclose(rowmajor.dL_dw(net, X, Y, l), g.weights[l].T, rtol=RTOL)
        np.testing.assert_allclose(rowmajor.dL_db(net, X, Y, l), g.biases[l], rtol=RTOL)
        # (1/m) sum_s a_si Delta_sj
        np.testing.assert_allclose(
            rowmajor.dL_dw(net, X, Y, l),
            rowmajor.a(net, X, l).T @ rowmajor.Delta(net, X, Y, l + 1) / m,
            rtol=RTOL,
        )
    for l in range(1, L + 1):
        np.testing.assert_allclose(rowmajor.Delta(net, X, Y, l), m * g.deltas[l - 1], rtol=RTOL)
    # Delta^L = a - y and the recursion with theta
    A = rowmajor.a(net, X, L)
    np.testing.assert_allclose(rowmajor.Delta(net, X, Y, L), A - Y, rtol=RTOL)
    np.testing.assert_allclose(rowmajor.output_Delta(A, Y), A - Y, rtol=RTOL)
    for l in range(1, L):
        rec = (rowmajor.Delta(net, X, Y, l + 1) @ rowmajor.w(net, l).T) * rowmajor.theta(net, X, l)
        np.testing.assert_allclose(rowmajor.Delta(net, X, Y, l), rec, rtol=1e-11)
    # the loss is the sum over samples
    assert rowmajor.loss(net, X, Y) == pytest.approx(m * mean_net.loss(X, Y), rel=RTOL)


def test_rowmajor_softmax_jacobian_and_gradcheck() -> None:
    rng = np.random.default_rng(9)
    Z = rng.standard_normal((3, 4))
    J = rowmajor.softmax_jacobian(Z)
    A = bplit.softmax(Z)
    expected = A[:, :, None] * (np.eye(4)[None] - A[:, None, :])
    np.testing.assert_allclose(J, expected, rtol=RTOL)
    # against central differences of the softmax itself
    eps = 1e-6
    for j in range(4):
        dz = np.zeros_like(Z)
        dz[:, j] = eps
        num = (bplit.softmax(Z + dz) - bplit.softmax(Z - dz)) / (2 * eps)
        np.testing.assert_allclose(J[:, :, j], num, rtol=1e-7, atol=1e-10)
    net = bplit.Network([3, 4, 3], output="softmax", loss="cross_entropy", seed=2)
    X, Y = _batch(net, 5, 2, onehot=True)
    num = bplit.numerical_gradients(net, X, Y)
    for l in (0, 1):
        np.testing.assert_allclose(rowmajor.dL_dw(net, X, Y, l), num.weights[l].T, rtol=1e-6, atol=1e-9)


def test_rowmajor_two_class_sigmoid() -> None:
    net = bplit.Network([3, 4, 1], output="sigmoid", loss="binary_cross_entropy", seed=1)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((6, 3))
    Y = rng.integers(0, 2, (6, 1)).astype(float)
    np.testing.assert_allclose(rowmajor.Delta(net, X, Y, 2), net.predict(X) - Y, rtol=RTOL)
    np.testing.assert_allclose(rowmajor.theta(net, X, 2), net.predict(X) * (1 - net.predict(X)), rtol=RTOL)


def test_rowmajor_golden_value() -> None:
    # By hand: z = (0, 0) gives a = (1/2, 1/2); with y = (1, 0), Delta = (-1/2, 1/2) and
    # L = -log(1/2) = log 2.
    A = np.array([[0.5, 0.5]])
    np.testing.assert_array_equal(rowmajor.output_Delta(A, np.array([[1.0, 0.0]])), [[-0.5, 0.5]])
    np.testing.assert_array_equal(
        rowmajor.softmax_jacobian(np.zeros((1, 2)))[0], [[0.25, -0.25], [-0.25, 0.25]]
    )
    net = bplit.Network([1, 2], output="softmax", loss="cross_entropy", seed=0)
    net.weights[0][:] = 0.0
    net.biases[0][:] = 0.0
    assert rowmajor.loss(net, np.array([[1.0], [2.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(
        2 * np.log(2.0), rel=RTOL
    )


def test_rowmajor_errors() -> None:
    net = bplit.Network([3, 4, 2], output="softmax", loss="cross_entropy", seed=0)
    X, Y = _batch(net, 3, 0, onehot=True)
    with pytest.raises(ValueError, match="layer l"):
        rowmajor.w(net, 2)
    with pytest.raises(ValueError, match="layer l"):
        rowmajor.Delta(net, X, Y, 0)
    with pytest.raises(ValueError, match="layer l"):
        rowmajor.dL_dw(net, X, Y, -1)
    with pytest.raises(ValueError, match="element-wise"):
        rowmajor.theta(net, X, 2)
    with pytest.raises(ValueError, match="shape"):
        rowmajor.Delta(net, X[:, :2], Y, 1)
    with pytest.raises(ValueError, match="shape"):
        rowmajor.softmax_jacobian(np.zeros(3))
    with pytest.raises(ValueError, match="sum_k y_k = 1"):
        rowmajor.output_Delta(np.full((1, 2), 0.5), np.array([[1.0, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        rowmajor.output_Delta(np.full((1, 2), 0.5), np.array([[1.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="probability rows"):
        rowmajor.Delta(net, X, 2 * Y, 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nielsen_backprop_deltas_are_bp1_bp2_written_out(seed: int) -> None:
    """nielsen.backprop's delta^l against BP1/BP2 computed here in plain NumPy."""
    from bplit.notation import nielsen

    net = bplit.Network([3, 4, 5, 2], hidden="tanh", output="sigmoid", loss="half_sse", seed=seed)
    rng = np.random.default_rng(seed + 10)
    x, y = rng.standard_normal((3, 1)), rng.uniform(0, 1, (2, 1))
    a, zs = x, []
    for W, b in zip(net.weights, net.biases):
        zs.append(W @ a + b[:, None])
        a = np.tanh(zs[-1]) if len(zs) < len(net.weights) else 1 / (1 + np.exp(-zs[-1]))
    expected = {4: (a - y) * a * (1 - a)}  # BP1 for C = |a - y|^2 / 2 and the sigmoid
    for l in (3, 2):  # BP2 with tanh' = 1 - tanh^2
        expected[l] = (net.weights[l - 1].T @ expected[l + 1]) * (1 - np.tanh(zs[l - 2]) ** 2)
    delta, nabla_b, nabla_w = nielsen.backprop(net, x, y)
    for l in (2, 3, 4):
        np.testing.assert_allclose(delta[l], expected[l], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(nabla_b[l], expected[l], rtol=1e-12, atol=1e-15)


def test_a_wrong_dtype_is_one_error_everywhere_both_a_type_and_a_value_error():
    from bplit.notation import nielsen

    net = bplit.Network([3, 4, 2], seed=0)
    x_int = np.ones((3, 1), dtype=int)
    calls = [
        lambda: nielsen.feedforward(net, x_int),  # raised TypeError before issue 12
        lambda: column.a(net, x_int, 2),  # raised ValueError before issue 12
        lambda: net.forward(x_int.T),  # the core: TypeError
    ]
    for call in calls:
        with pytest.raises(bplit.DtypeError, match="real floating-point") as info:
            call()
        assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
