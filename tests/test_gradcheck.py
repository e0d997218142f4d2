"""gradcheck on float32 networks: central differences in float64 by default.

Measured on the cases below (2026-11-30): the default reports 4e-8 to 1.6e-7 (float32's
own rounding in backprop); ``dtype=np.float32`` reports 3e-2 to 4e-1, because a step of
1e-6 is below the resolution of a float32 cost and the two costs cancel.
"""

import numpy as np
import pytest

import bplit

CASES = [
    ("sigmoid", "sigmoid", "half_sse"),
    ("tanh", "softmax", "cross_entropy"),
    ("relu", "identity", "mse"),
]


def _problem(hidden, output, loss, seed, dtype=np.float32):
    net = bplit.Network([5, 7, 3], hidden=hidden, output=output, loss=loss, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((8, 5))
    Y = np.eye(3)[rng.integers(0, 3, 8)] if loss == "cross_entropy" else rng.uniform(0, 1, (8, 3))
    return net, X, Y


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("hidden,output,loss", CASES)
def test_float32_default_is_differenced_in_float64(hidden, output, loss, seed):
    net, X, Y = _problem(hidden, output, loss, seed)
    # float32 backprop against float64 differences: float32's rounding (~1e-7), no more
    assert bplit.gradcheck(net, X, Y) < 1e-6
    # the default is what changed: float32 differences still cancel, as they always did
    assert bplit.gradcheck(net, X, Y, dtype=np.float32) > 1e-2


def test_float32_default_equals_explicit_float64_and_leaves_net_alone():
    net, X, Y = _problem("tanh", "sigmoid", "half_sse", 4)
    before = [p.copy() for p in net.weights + net.biases]
    default = bplit.numerical_gradients(net, X, Y)
    explicit = bplit.numerical_gradients(net, X, Y, dtype=np.float64)
    for a, b in zip(default.weights + default.biases, explicit.weights + explicit.biases):
        assert a.dtype == np.float32  # returned in the network's dtype
        np.testing.assert_array_equal(a, b)
    for p, q in zip(before, net.weights + net.biases):
        assert p.dtype == q.dtype == np.float32
        np.testing.assert_array_equal(p, q)


def test_float32_differences_use_the_float32_rounded_data():
    # The float64 copy must difference the function the float32 network computes: with
    # X and Y rounded to float32 first (data float32 cannot hold would otherwise shift
    # the reference); compare with a float64 copy given the rounded data directly.
    net, X, Y = _problem("sigmoid", "identity", "half_sse", 7)
    X, Y = X + 1e-4, Y + 1e-4  # not representable in float32
    net64 = net.astype(np.float64)
    ref = bplit.numerical_gradients(net64, X.astype(np.float32), Y.astype(np.float32))
    unrounded = bplit.numerical_gradients(net64, X, Y)
    assert not np.array_equal(unrounded.flat().astype(np.float32), ref.flat().astype(np.float32))
    got = bplit.numerical_gradients(net, X, Y)
    np.testing.assert_array_equal(got.flat(), ref.flat().astype(np.float32))


def test_float64_default_unchanged():
    net, X, Y = _problem("tanh", "softmax", "cross_entropy", 2, dtype=np.float64)
    np.testing.assert_array_equal(
        bplit.numerical_gradients(net, X, Y).flat(),
        bplit.numerical_gradients(net, X, Y, dtype=np.float64).flat(),
    )
    assert bplit.gradcheck(net, X, Y) < 1e-7


def test_float32_gradcheck_takes_integer_labels_like_one_hot_rows():
    net, X, Y = _problem("tanh", "softmax", "cross_entropy", 5)
    labels = np.argmax(Y, axis=1)
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(
        bplit.numerical_gradients(net, X, labels).flat(), bplit.numerical_gradients(net, X, Y).flat()
    )
    assert bplit.gradcheck(net, X, labels) < 1e-6


def test_count_forward_passes_counts_2P_for_central_differences_and_1_for_backprop():
    net = bplit.Network([3, 4, 2], seed=0)
    X, Y = np.ones((5, 3)), np.zeros((5, 2))
    with bplit.count_forward_passes(net) as passes:
        bplit.numerical_gradients(net, X, Y)
        assert passes.count == 2 * net.n_params  # live inside the block
    with bplit.count_forward_passes(net) as backprop:
        net.gradients(X, Y)
    net.loss(X, Y)  # after the block: not counted
    assert (passes.count, backprop.count) == (2 * net.n_params, 1)
    with pytest.raises(TypeError, match="Network"):
        with bplit.count_forward_passes(object()):
            pass


def test_both_networks_meet_the_model_contract():
    from bplit.contract import Model

    net = bplit.Network([2, 3, 1], seed=0)
    assert isinstance(net, Model) and isinstance(bplit.GraphNetwork.from_network(net), Model)
    weights, biases = net.parameters()
    assert weights is net.weights and biases is net.biases  # the live arrays
    X, Y = net.check_xy([[1.0, 2.0]], [[0.5]])
    cost, gw, gb = net.cost_and_gradients(X, Y)
    g = net.gradients(X, Y)
    assert cost == net.loss(X, Y) == net.evaluate(X, Y)[0]
    assert all(np.array_equal(a, b) for a, b in zip([*gw, *gb], [*g.weights, *g.biases]))
