"""Tests of bplit.graph (source 002): graph checks, Algorithms 1-5, equality with Network."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bplit
from bplit.activations import relu_activation
from bplit.graph import (
    GraphNetwork,
    NotAnEdgeError,
    graph_gradcheck,
    graph_numerical_gradients,
)
from bplit.graph_vectorized import masked_matrices

# A non-layered graph: skip connections 1 -> 5, 3 -> 6 and 2 -> 7, unit 3 feeds layers 3 and 4,
# unit 4 reads only one input (sparse).
SKIP_LAYERS = [[1, 2], [3, 4], [5], [6, 7]]
SKIP_UPSTREAM = {3: [1, 2], 4: [2], 5: [3, 4, 1], 6: [5, 3], 7: [5, 2]}


def skip_graph(**kw) -> GraphNetwork:
    kw.setdefault("activation", {3: "sigmoid", 4: "tanh", 5: "sigmoid", 6: "identity", 7: "sigmoid"})
    return GraphNetwork(SKIP_LAYERS, SKIP_UPSTREAM, seed=kw.pop("seed", 3), **kw)


def batch(rng: np.random.Generator, m: int, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((m, n_in)), rng.standard_normal((m, n_out))


# ---------------------------------------------------------------- structure


def test_downstream_sets_are_derived_from_upstream_sets():
    g = skip_graph()
    assert g.D == {1: (3, 5), 2: (3, 4, 7), 3: (5, 6), 4: (5,), 5: (6, 7), 6: (), 7: ()}
    for i in g.units:
        for j in g.S[i]:
            assert i in g.D[j]
    assert g.edges == ((3, 1), (3, 2), (4, 2), (5, 3), (5, 4), (5, 1), (6, 5), (6, 3), (7, 5), (7, 2))
    assert g.layer_of[5] == 3 and g.inputs == (1, 2) and g.outputs == (6, 7)
    assert g.n_params == len(g.edges) + 5
    assert not g.is_layered()


def test_seeded_initialisation():
    a, b, c = skip_graph(seed=7), skip_graph(seed=7), skip_graph(seed=8)
    np.testing.assert_array_equal(a.w.array, b.w.array)
    np.testing.assert_array_equal(a.b.array, b.b.array)
    assert not np.array_equal(a.w.array, c.w.array)
    d = skip_graph(seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a.w.array, d.w.array)
    he = skip_graph(init="he")
    np.testing.assert_array_equal(he.b.array, 0.0)


def test_given_weights_and_biases_override_the_random_ones():
    g = skip_graph(weights={(5, 1): 0.25}, biases={6: -1.5})
    assert g.w[5, 1] == 0.25 and g.b[6] == -1.5


def test_param_map_behaves_like_a_dict_with_fixed_keys():
    g = skip_graph()
    assert (5, 1) in g.w and (5, 2) not in g.w and 1 not in g.b
    assert g.w.get((5, 2)) is None
    g.w[5, 1] = 0.5
    assert g.w.array[g.edges.index((5, 1))] == 0.5
    with pytest.raises(ValueError, match=r"\(5, 2\) is not an edge.*S_5"):
        g.w[5, 2] = 1.0
    with pytest.raises(NotAnEdgeError, match="not an edge"):
        g.w[5, 2]
    with pytest.raises(ValueError, match="finite"):
        g.w[5, 1] = float("nan")
    with pytest.raises(ValueError, match="input unit"):
        g.b[1] = 0.0
    with pytest.raises(TypeError):
        del g.w[5, 1]


# ---------------------------------------------------------------- bad graphs


@pytest.mark.parametrize(
    ("layers", "upstream", "match"),
    [
        ([[1], [2], [3]], {2: [1, 3], 3: [2]}, r"cycle through units \[2, 3, 2\]"),
        ([[1], [2], [3]], {2: [1, 2], 3: [2]}, r"cycle through units \[2, 2\]"),
        (
            [[1], [2, 3], [4]],
            {2: [1], 3: [1, 2], 4: [3]},
            r"unit 3 \(in U_2\) has upstream unit 2 in the same layer",
        ),
        (
            [[1], [2], [3, 4]],
            {2: [1, 4], 3: [2], 4: [1]},
            r"unit 2 \(in U_2\) has upstream unit 4 in a later layer",
        ),
        ([[1], [2]], {2: [1, 9]}, r"S_2 contains unit 9, which is in no layer"),
        ([[1], [2]], {2: [1], 9: [1]}, r"upstream names unit 9"),
        ([[1, 2], [3]], {1: [2], 3: [1, 2]}, r"input unit 1 \(in U_1\) has upstream units"),
        ([[1], [2, 3]], {2: [1]}, r"unit 3 \(in U_2\) has no upstream units"),
        ([[1], [2, 1]], {2: [1]}, r"unit 1 appears in U_1 and again in U_2"),
        ([[1], [2]], {2: [1, 1]}, r"S_2 lists unit 1 more than once"),
        ([[1, 2]], {}, r"at least two layers"),
        ([[1], []], {}, r"layer U_2 must be a non-empty"),
    ],
)
def test_bad_graphs_raise_value_errors_naming_the_units(layers, upstream, match):
    with pytest.raises(ValueError, match=match):
        GraphNetwork(layers, upstream)


def test_bad_weights_activations_and_losses():
    with pytest.raises(ValueError, match=r"w\[\(3, 4\)\]: \(3, 4\) is not an edge: unit 4 is not in S_3"):
        GraphNetwork([[1, 2], [3, 4]], {3: [1], 4: [1, 2]}, weights={(3, 4): 1.0})
    with pytest.raises(ValueError, match=r"unit 9 is in no layer"):
        GraphNetwork([[1], [2]], {2: [1]}, weights={(2, 9): 1.0})
    with pytest.raises(ValueError, match=r"input unit 1"):
        GraphNetwork([[1], [2]], {2: [1]}, activation={1: "tanh", 2: "tanh"})
    with pytest.raises(ValueError, match=r"no f_i for units \[3\]"):
        GraphNetwork([[1], [2, 3]], {2: [1], 3: [1]}, activation={2: "tanh"})
    with pytest.raises(ValueError, match=r"unit 2: activation 'softmax' is not element-wise"):
        GraphNetwork([[1], [2]], {2: [1]}, activation="softmax")
    with pytest.raises(ValueError, match="unknown activation"):
        GraphNetwork([[1], [2]], {2: [1]}, activation="swish")
    with pytest.raises(ValueError, match="cross_entropy.*line 4"):
        GraphNetwork([[1], [2]], {2: [1]}, loss="cross_entropy")
    with pytest.raises(ValueError, match="reduction"):
        GraphNetwork([[1], [2]], {2: [1]}, reduction="max")


def test_bad_data():
    g = skip_graph()
    X, Y = batch(np.random.default_rng(0), 3, 2, 2)
    with pytest.raises(ValueError, match=r"X must have shape \(m, 2\)"):
        g.loss(X[:, :1], Y)
    with pytest.raises(ValueError, match=r"Y must have shape \(m, 2\)"):
        g.gradients(X, Y[:, :1])
    with pytest.raises(ValueError, match="same number of rows"):
        g.gradients(X, Y[:2])
    with pytest.raises(ValueError, match="NaN"):
        g.gradients(np.where(X > 0, np.nan, X), Y)
    with pytest.raises(TypeError, match="floating-point"):
        g.forward(np.ones((3, 2), dtype=int))
    with pytest.raises(ValueError, match="method"):
        g.gradients(X, Y, method="fast")
    with pytest.raises(ValueError, match="learning_rate"):
        g.step(X, Y, -1.0)


# ---------------------------------------------------------------- golden numbers


def test_hand_worked_example():
    # 1 -> 2 -> 3 and the skip 1 -> 3, identity units; x* = 1, y* = 0.
    # x2 = 2*1 + 0.5 = 2.5; x3 = -1*1 + 3*2.5 = 6.5; E = 6.5^2/2 = 21.125
    # p3 = 6.5; p2 = p3 w32 = 19.5; p1 = p3 w31 + p2 w21 = -6.5 + 39 = 32.5
    g = GraphNetwork(
        [[1], [2], [3]],
        {2: [1], 3: [1, 2]},
        activation="identity",
        weights={(2, 1): 2.0, (3, 1): -1.0, (3, 2): 3.0},
        biases={2: 0.5, 3: 0.0},
    )
    X, Y = np.array([[1.0]]), np.array([[0.0]])
    for method in ("vectorized", "loops"):
        gr = g.gradients(X, Y, method=method)
        assert dict(gr.dw) == {(2, 1): 19.5, (3, 1): 6.5, (3, 2): 16.25}
        assert dict(gr.db) == {2: 19.5, 3: 6.5}
        np.testing.assert_array_equal(gr.p, [[32.5, 19.5, 6.5]])
    assert g.loss(X, Y) == 21.125
    assert g.train_nn(X, Y, 0.1) == 21.125
    assert g.w[3, 2] == 3.0 - 0.1 * 16.25 and g.b[2] == 0.5 - 0.1 * 19.5


# ---------------------------------------------------------------- equal to the layered Network

NET_CONFIGS = [
    dict(sizes=[3, 4, 2], hidden="sigmoid", output="sigmoid", reduction="sum"),
    dict(sizes=[2, 5, 3, 2], hidden="tanh", output="identity", reduction="mean"),
    dict(sizes=[4, 3, 3, 3, 1], hidden="relu", output="sigmoid", reduction="sum", loss="mse"),
    dict(sizes=[3, 2], hidden="tanh", output="tanh", reduction="mean", init="glorot"),
]


@pytest.mark.parametrize("config", NET_CONFIGS)
def test_from_network_round_trip_and_equal_gradients(config):
    net = bplit.Network(seed=4, **config)
    g = GraphNetwork.from_network(net)
    assert g.is_layered()
    back = g.to_network()
    assert back.config() == net.config()
    for a, b in zip(back.weights + back.biases, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)
    X, Y = batch(np.random.default_rng(1), 7, net.sizes[0], net.sizes[-1])
    np.testing.assert_allclose(g.loss(X, Y), net.loss(X, Y), rtol=1e-12)
    np.testing.assert_allclose(g.predict(X), net.predict(X), rtol=1e-12)
    ng = net.gradients(X, Y)
    for method in ("vectorized", "loops"):
        gg = g.as_network_gradients(g.gradients(X, Y, method=method))
        assert bplit.relative_error(ng, gg) < 1e-12
        for d1, d2 in zip(ng.deltas, gg.deltas):
            np.testing.assert_allclose(d1, d2, rtol=1e-12, atol=1e-15)


def test_train_nn_equals_network_step():
    net = bplit.Network([3, 4, 2], hidden="tanh", reduction="sum", seed=5)
    g = GraphNetwork.from_network(net)
    X, Y = batch(np.random.default_rng(2), 6, 3, 2)
    e_net = net.step(X, Y, 0.05)
    e_graph = g.train_nn(X, Y, 0.05)
    np.testing.assert_allclose(e_graph, e_net, rtol=1e-12)
    back = g.to_network()
    for a, b in zip(back.weights + back.biases, net.weights + net.biases):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_float32_network_converts_exactly():
    net = bplit.Network([2, 3, 1], seed=1, dtype=np.float32)
    g = GraphNetwork.from_network(net)
    back = g.to_network()
    for a, b in zip(back.weights, net.weights):
        np.testing.assert_array_equal(a, b.astype(np.float64))


def test_to_network_refuses_non_layered_graphs():
    with pytest.raises(ValueError, match=r"unit 4 \(in U_2\) has S_i = \[2\], not exactly U_1 = \[1, 2\]"):
        skip_graph().to_network()
    g = GraphNetwork(
        [[1], [2, 3], [4]], {2: [1], 3: [1], 4: [2, 3]}, activation={2: "tanh", 3: "relu", 4: "tanh"}
    )
    with pytest.raises(ValueError, match="hidden units use different activations"):
        g.to_network()
    with pytest.raises(ValueError, match="from_network expects a bplit.Network"):
        GraphNetwork.from_network(g)
    with pytest.raises(ValueError, match="not element-wise"):
        GraphNetwork.from_network(bplit.Network([2, 3], output="softmax", loss="cross_entropy"))


# ---------------------------------------------------------------- central differences, loops vs vectorised


@pytest.mark.parametrize("method", ["vectorized", "loops"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_skip_graph_agrees_with_central_differences(method, reduction):
    g = skip_graph(reduction=reduction)
    X, Y = batch(np.random.default_rng(3), 4, 2, 2)
    before = g.w.array.copy()
    assert graph_gradcheck(g, X, Y, method=method) < 1e-7
    np.testing.assert_array_equal(g.w.array, before)


def test_input_gradient_is_p_on_input_units():
    g = skip_graph()
    X, Y = batch(np.random.default_rng(4), 3, 2, 2)
    P = g.gradients(X, Y).p
    eps = 1e-6
    for k in range(2):
        E = np.zeros(X.shape)
        E[:, k] = eps
        # one run at a time: the batch loss is a sum over runs
        for l in range(3):
            xp, xm = X.copy(), X.copy()
            xp[l, k] += eps
            xm[l, k] -= eps
            num = (g.loss(xp, Y) - g.loss(xm, Y)) / (2 * eps)
            np.testing.assert_allclose(P[l, g.index[g.inputs[k]]], num, rtol=1e-6, atol=1e-9)


@st.composite
def random_dag(draw):
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    layers, start = [], 0
    for s in sizes:
        layers.append(list(range(start, start + s)))
        start += s
    upstream = {}
    for n in range(1, len(layers)):
        earlier = [j for layer in layers[:n] for j in layer]
        for i in layers[n]:
            upstream[i] = draw(
                st.lists(st.sampled_from(earlier), min_size=1, max_size=len(earlier), unique=True)
            )
    acts = {i: draw(st.sampled_from(["sigmoid", "tanh", "relu", "identity"])) for i in upstream}
    seed = draw(st.integers(0, 2**16))
    m = draw(st.integers(1, 4))
    reduction = draw(st.sampled_from(["sum", "mean"]))
    return layers, upstream, acts, seed, m, reduction


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_dag())
def test_loops_equal_vectorized_on_random_dags(case):
    layers, upstream, acts, seed, m, reduction = case
    g = GraphNetwork(layers, upstream, acts, reduction=reduction, seed=seed)
    X, Y = batch(np.random.default_rng(seed), m, len(layers[0]), len(layers[-1]))
    a, b = g.gradients(X, Y), g.gradients(X, Y, method="loops")
    np.testing.assert_allclose(a.flat(), b.flat(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.p, b.p, rtol=1e-12, atol=1e-14)
    ta, tb = g.forward(X), g.forward(X, method="loops")
    np.testing.assert_allclose(ta.y, tb.y, rtol=1e-12, atol=1e-15)
    for (W, M), layer in zip(masked_matrices(g), layers[1:]):
        assert M.sum() == sum(len(upstream[i]) for i in layer)
        assert np.all(W[~M] == 0)


def test_step_equals_train_nn_and_sum_vs_mean_learning_rate():
    X, Y = batch(np.random.default_rng(6), 5, 2, 2)
    a, b = skip_graph(), skip_graph()
    a.step(X, Y, 0.1)
    b.train_nn(X, Y, 0.1)
    np.testing.assert_allclose(a.w.array, b.w.array, rtol=1e-12)
    s, mn = skip_graph(reduction="sum"), skip_graph(reduction="mean")
    s.train_nn(X, Y, 0.1 / 5)
    mn.train_nn(X, Y, 0.1)
    np.testing.assert_allclose(s.w.array, mn.w.array, rtol=1e-12)
    np.testing.assert_allclose(s.b.array, mn.b.array, rtol=1e-12)


def test_relu_derivative_at_zero_is_selectable():
    # x_3 = y_1 - y_2 = 0 exactly for x* = (1, 1)
    kw = dict(weights={(3, 1): 1.0, (3, 2): -1.0, (4, 3): 1.0}, biases={3: 0.0, 4: 0.0})
    layers, up = [[1, 2], [3], [4]], {3: [1, 2], 4: [3]}
    g0 = GraphNetwork(layers, up, {3: "relu", 4: "identity"}, **kw)
    g1 = GraphNetwork(layers, up, {3: relu_activation(1.0), 4: "identity"}, **kw)
    X, Y = np.array([[1.0, 1.0]]), np.array([[1.0]])
    for method in ("vectorized", "loops"):
        d0, d1 = g0.gradients(X, Y, method=method), g1.gradients(X, Y, method=method)
        assert d0.dw[3, 1] == 0.0 and d0.db[3] == 0.0
        assert d1.dw[3, 1] == -1.0 and d1.db[3] == -1.0  # p_3 = (0 - 1) * 1 * f'(0) = -1


def test_numerical_gradients_validates_eps_and_copy_is_independent():
    g = skip_graph()
    X, Y = batch(np.random.default_rng(0), 2, 2, 2)
    with pytest.raises(ValueError, match="eps"):
        graph_numerical_gradients(g, X, Y, eps=0)
    c = g.copy()
    c.w[5, 1] = 10.0
    assert g.w[5, 1] != 10.0
    with pytest.raises(ValueError, match="not an edge"):
        c.w[5, 2] = 1.0
