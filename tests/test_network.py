"""The core network: gradients vs central differences, a golden example, errors, training."""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bplit

HIDDEN = ["sigmoid", "tanh", "relu", "identity"]
OUTPUT_LOSS = [
    ("sigmoid", "half_sse"),
    ("identity", "mse"),
    ("tanh", "half_sse"),
    ("relu", "mse"),
    ("softmax", "cross_entropy"),
    ("softmax", "half_sse"),
    ("sigmoid", "binary_cross_entropy"),
]


def _targets(loss, rng, m, n):
    if loss == "cross_entropy":
        Y = rng.random((m, n)) + 0.01
        return Y / Y.sum(axis=1, keepdims=True)
    if loss == "binary_cross_entropy":
        return rng.random((m, n))
    return rng.standard_normal((m, n))


@settings(max_examples=300, deadline=None)
@given(
    widths=st.lists(st.integers(1, 8), min_size=2, max_size=5),  # 1-4 weight layers
    m=st.integers(1, 7),
    hidden=st.sampled_from(HIDDEN),
    output_loss=st.sampled_from(OUTPUT_LOSS),
    reduction=st.sampled_from(["mean", "sum"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_backprop_matches_central_differences(widths, m, hidden, output_loss, reduction, seed):
    output, loss = output_loss
    rng = np.random.default_rng(seed)
    net = bplit.Network(widths, hidden=hidden, output=output, loss=loss, seed=rng, reduction=reduction)
    X = rng.standard_normal((m, widths[0]))
    Y = _targets(loss, rng, m, widths[-1])
    # costs in extended precision: float64 central differences cannot resolve a
    # gradient that is ~1e-5 of the cost (saturated outputs), backprop can
    assert bplit.gradcheck(net, X, Y, dtype=np.longdouble) < 1e-6
    # and the float64 reference, wherever its round-off (~2e-10 |C|) lets it resolve the gradient
    if np.max(np.abs(net.gradients(X, Y).flat())) > 1e-3 * max(net.loss(X, Y), 1.0):
        assert bplit.gradcheck(net, X, Y) < 1e-6


def test_golden_example_by_hand():
    """A 1-1-1 sigmoid network with half_sse, worked by hand (see comments)."""
    net = bplit.Network([1, 1, 1])
    net.weights = [np.array([[0.5]]), np.array([[-1.0]])]
    net.biases = [np.array([0.0]), np.array([0.5])]
    X, Y = np.array([[2.0]]), np.array([[1.0]])
    # z1 = 0.5*2 + 0 = 1, a1 = s(1); z2 = -s(1) + 0.5, a2 = s(z2)
    s = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    a1 = s(1.0)
    z2 = -a1 + 0.5
    a2 = s(z2)
    d2 = (a2 - 1.0) * a2 * (1 - a2)  # BP1
    d1 = d2 * (-1.0) * a1 * (1 - a1)  # BP2
    g = net.gradients(X, Y)
    np.testing.assert_allclose(net.loss(X, Y), 0.5 * (a2 - 1.0) ** 2, rtol=1e-15)
    np.testing.assert_allclose(g.weights[1], [[d2 * a1]], rtol=1e-14)
    np.testing.assert_allclose(g.biases[1], [d2], rtol=1e-14)
    np.testing.assert_allclose(g.weights[0], [[d1 * 2.0]], rtol=1e-14)
    np.testing.assert_allclose(g.biases[0], [d1], rtol=1e-14)
    # the numbers themselves, from the same formulas in 30-digit mpmath arithmetic
    np.testing.assert_allclose(net.predict(X)[0, 0], 0.442490985892538803510861285477, rtol=1e-14)
    np.testing.assert_allclose(g.weights[1][0, 0], -0.100544980235671293821697103924, rtol=1e-13)
    np.testing.assert_allclose(g.weights[0][0, 0], 0.0540814197923990095046054952592, rtol=1e-13)


def test_shapes_and_mean_vs_sum():
    rng = np.random.default_rng(3)
    net = bplit.Network([3, 4, 2], seed=1)
    X, Y = rng.standard_normal((5, 3)), rng.random((5, 2))
    tr = net.forward(X)
    assert [z.shape for z in tr.z] == [(5, 4), (5, 2)]
    assert [a.shape for a in tr.a] == [(5, 3), (5, 4), (5, 2)]
    assert tr.a[0] is not X or np.shares_memory(tr.a[0], X)
    g = net.gradients(X, Y)
    assert [w.shape for w in g.weights] == [(4, 3), (2, 4)]
    assert [b.shape for b in g.biases] == [(4,), (2,)]
    assert [d.shape for d in g.deltas] == [(5, 4), (5, 2)]
    net_sum = net.copy()
    net_sum.reduction = "sum"
    gs = net_sum.gradients(X, Y)
    for a, b in zip(g.weights + g.biases, gs.weights + gs.biases):
        np.testing.assert_allclose(5 * a, b, rtol=1e-13)
    np.testing.assert_allclose(5 * net.loss(X, Y), net_sum.loss(X, Y), rtol=1e-14)


def test_weights_are_plain_arrays_users_can_assign():
    net = bplit.Network([2, 2, 1])
    net.weights[0] = np.zeros((2, 2))
    net.biases[0] = np.zeros(2)  # so the hidden layer outputs sigmoid(0) = 0.5
    net.biases[1] = np.array([3.0])
    np.testing.assert_allclose(
        net.predict(np.ones((1, 2))), 1 / (1 + np.exp(-(net.weights[1].sum() * 0.5 + 3.0)))
    )


@pytest.mark.parametrize(
    "X,Y,match",
    [
        (np.ones((4, 2)), np.ones((4, 2)), r"X must have shape \(m, 3\), got shape \(4, 2\)"),
        (np.ones(3), np.ones((1, 2)), r"X must have shape \(m, 3\)"),
        (np.ones((4, 3)), np.ones((4, 3)), r"Y must have shape \(m, 2\), got shape \(4, 3\)"),
        (np.ones((4, 3)), np.ones((5, 2)), r"same number of rows, got 4 and 5"),
        (np.ones((0, 3)), np.ones((0, 2)), r"empty batch"),
        (np.full((1, 3), np.nan), np.ones((1, 2)), r"NaN or infinite"),
    ],
)
def test_wrong_shapes_raise_value_error_naming_expected_shape(X, Y, match):
    net = bplit.Network([3, 4, 2])
    for call in (net.gradients, net.loss, lambda x, y: net.step(x, y, 0.1)):
        with pytest.raises(ValueError, match=match):
            call(X, Y)


def test_bad_parameters_and_config_are_rejected():
    net = bplit.Network([3, 4, 2])
    net.weights[1] = np.ones((4, 2))
    with pytest.raises(ValueError, match=r"weights\[1\] must be an array of shape \(2, 4\)"):
        net.predict(np.ones((1, 3)))
    with pytest.raises(ValueError, match="positive integer"):
        bplit.Network([3, 0, 2])
    with pytest.raises(ValueError, match="output activation"):
        bplit.Network([3, 4, 2], hidden="softmax")
    with pytest.raises(ValueError, match="requires output='softmax'"):
        bplit.Network([3, 2], loss="cross_entropy")
    with pytest.raises(TypeError, match="floating-point"):
        bplit.Network([1, 1]).predict(np.ones((1, 1), dtype=int))
    with pytest.raises(ValueError, match="learning_rate must be a positive"):
        bplit.Network([1, 1]).step(np.ones((1, 1)), np.ones((1, 1)), 0.0)


def test_failed_step_leaves_parameters_unchanged():
    net = bplit.Network([2, 3, 1])
    before = [w.copy() for w in net.weights + net.biases]
    with pytest.raises(ValueError):
        net.step(np.ones((2, 2)), np.ones((3, 1)), 0.5)
    for a, b in zip(before, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)


def test_step_is_one_gradient_descent_update():
    rng = np.random.default_rng(0)
    net = bplit.Network([3, 5, 2], seed=4)
    X, Y = rng.standard_normal((6, 3)), rng.random((6, 2))
    g = net.gradients(X, Y)
    expected = [w - 0.3 * gw for w, gw in zip(net.weights, g.weights)]
    c0 = net.step(X, Y, 0.3)
    for w, e in zip(net.weights, expected):
        np.testing.assert_allclose(w, e, rtol=1e-15)
    assert net.loss(X, Y) < c0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    rng = np.random.default_rng(0)
    net = bplit.Network([4, 6, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype=dtype)
    X = rng.standard_normal((5, 4))  # float64 input is converted
    Y = np.eye(3)[rng.integers(0, 3, 5)]
    tr = net.forward(X)
    g = net.gradients(X, Y)
    assert all(a.dtype == dtype for a in tr.a + tr.z + g.weights + g.biases + g.deltas)
    net.step(X, Y, 0.1)
    assert all(p.dtype == dtype for p in net.weights + net.biases)
    if dtype == np.float32:  # float32 gradients agree with a float64 copy to float32 precision
        g64 = net.astype(np.float64).gradients(X, Y)
        assert bplit.relative_error(net.gradients(X, Y), g64) < 1e-5


def test_seeds_are_deterministic():
    a, b = bplit.Network([3, 4, 2], seed=7), bplit.Network([3, 4, 2], seed=np.random.default_rng(7))
    c = bplit.Network([3, 4, 2], seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights))
    assert not np.array_equal(a.weights[0], c.weights[0])


def test_fit_learns_xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    Y = np.array([[0], [1], [1], [0]], dtype=float)
    net = bplit.Network([2, 4, 1], seed=0)
    history = net.fit(X, Y, epochs=3000, batch_size=4, learning_rate=3.0, seed=0)
    assert len(history) == 3000
    assert history[-1] < 0.01
    assert history[-1] < history[0]
    np.testing.assert_array_equal(net.predict(X) > 0.5, Y > 0.5)


def test_fit_records_validation_and_reshuffles_with_seed():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 3))
    Y = np.eye(2)[(X[:, 0] > 0).astype(int)]
    runs = []
    for _ in range(2):
        net = bplit.Network([3, 5, 2], output="softmax", loss="cross_entropy", seed=2)
        seen = []
        h = net.fit(
            X,
            Y,
            epochs=5,
            batch_size=7,
            learning_rate=0.5,
            seed=3,
            validation_data=(X, Y),
            callback=lambda epoch, n, seen=seen: seen.append((epoch, n.loss(X, Y))),
            train_loss="full",  # the whole set's cost after each epoch, as n.loss gives it
        )
        runs.append(h)
        assert [e for e, _ in seen] == [1, 2, 3, 4, 5]
        np.testing.assert_allclose([c for _, c in seen], h, rtol=1e-14)
    assert runs[0] == runs[1]
    assert len(runs[0].val_loss) == 5 and len(runs[0].val_accuracy) == 5
    np.testing.assert_allclose(runs[0].val_loss, runs[0].loss, rtol=1e-14)
    assert all(0.0 <= acc <= 1.0 for acc in runs[0].val_accuracy)


def test_public_api_is_exported():
    assert sorted(bplit.__all__) == sorted(set(bplit.__all__))
    for name in bplit.__all__:
        assert getattr(bplit, name) is not None
    for name in ("Network", "numerical_gradients", "gradcheck", "GraphNetwork", "save", "load"):
        assert name in bplit.__all__


# ------------------------------------------------------------------ the training step is gradient descent
STEP_CASES = [
    ("sigmoid", "sigmoid", "half_sse"),
    ("relu", "softmax", "cross_entropy"),
    ("tanh", "identity", "mse"),
    ("identity", "sigmoid", "binary_cross_entropy"),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("hidden,output,loss", STEP_CASES)
def test_step_equals_w_minus_eta_gradients(hidden, output, loss, m, reduction, dtype):
    """Every parameter, every batch size: step is w - eta dC/dw with the gradients of `gradients`
    (a bias update that used only some samples of the batch would fail here)."""
    rng = np.random.default_rng(m)
    net = bplit.Network(
        [4, 6, 5, 3], hidden=hidden, output=output, loss=loss, reduction=reduction, dtype=dtype
    )
    X = rng.standard_normal((m, 4))
    Y = _targets(loss, rng, m, 3)
    eta = 0.7
    g = net.gradients(X, Y)
    want = [p - eta * gp for p, gp in zip(net.weights + net.biases, g.weights + g.biases)]
    held = net.weights + net.biases
    net.step(X, Y, eta)
    tol = 1e-13 if dtype == np.float64 else 2e-6
    for p, h, w in zip(net.weights + net.biases, held, want):
        assert p is h  # updated in place
        np.testing.assert_allclose(p, w, rtol=tol, atol=tol * np.abs(w).max())
    # BP3: the bias gradient sums the deltas of *all* samples
    np.testing.assert_allclose(g.biases[-1], g.deltas[-1].sum(axis=0), rtol=100 * tol)


def test_step_returns_the_cost_before_the_update():
    rng = np.random.default_rng(2)
    net = bplit.Network([3, 4, 2], output="softmax", loss="cross_entropy")
    X, Y = rng.standard_normal((5, 3)), np.eye(2)[[0, 1, 1, 0, 1]]
    before = net.loss(X, Y)
    assert net.step(X, Y, 0.1) == before
    assert net.loss(X, Y) != before


@pytest.mark.parametrize("layout", ["fortran", "strided"])
def test_weights_of_any_layout_are_updated_in_place(layout):
    rng = np.random.default_rng(0)
    ref, net = bplit.Network([5, 4, 3], seed=1), bplit.Network([5, 4, 3], seed=1)
    if layout == "fortran":
        net.weights = [np.asfortranarray(w) for w in net.weights]
    else:
        big = np.zeros((8, 5))
        big[::2] = net.weights[0]
        net.weights[0] = big[::2]
    held = list(net.weights)
    X, Y = rng.standard_normal((6, 5)), rng.random((6, 3))
    ref.step(X, Y, 0.3)
    net.step(X, Y, 0.3)
    for w, h, r in zip(net.weights, held, ref.weights):
        assert w is h
        np.testing.assert_allclose(w, r, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_overflowing_update_changes_nothing(dtype):
    """The learning rate grows until the update overflows. The second layer's update overflows
    (large hidden activations) after the first layer's new values were computed (tiny
    second-layer weights keep its delta small): still nothing is stored."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((8, 4)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[rng.integers(0, 3, 8)]
    outcomes = []
    big = float(np.finfo(dtype).max)
    for eta in (1.0, big / 1e9, big / 1e4, big):
        net = bplit.Network([4, 5, 3], hidden="relu", output="softmax", loss="cross_entropy", dtype=dtype)
        net.weights[1] *= 1e-20
        net.biases[0][:] = 1e3
        before = [p.copy() for p in net.weights + net.biases]
        try:
            net.step(X, Y, eta)
        except FloatingPointError as err:
            assert "not changed" in str(err)
            for p, p0 in zip(net.weights + net.biases, before):
                np.testing.assert_array_equal(p, p0)
            outcomes.append("raised")
        else:
            assert all(np.isfinite(p).all() for p in net.weights + net.biases)
            outcomes.append("ok")
    assert outcomes[0] == "ok" and outcomes[-1] == "raised", outcomes


def test_a_custom_loss_keeps_its_target_checks():
    import dataclasses

    renamed = dataclasses.replace(bplit.LOSSES["cross_entropy"], name="my_cross_entropy")
    net = bplit.Network([2, 3], output="softmax", loss=renamed)
    with pytest.raises(ValueError, match="probability rows"):
        net.step(np.ones((1, 2)), np.array([[1.0, 1.0, 0.0]]), 0.1)
    seen = []
    own = dataclasses.replace(bplit.LOSSES["half_sse"], name="checked", check_targets=seen.append)
    bplit.Network([2, 3], loss=own).gradients(np.ones((4, 2)), np.zeros((4, 3)))
    assert len(seen) == 1 and seen[0].shape == (4, 3)


def test_fit_is_a_sequence_of_steps():
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((11, 3)), rng.random((11, 2))
    a, b = bplit.Network([3, 4, 2], seed=5), bplit.Network([3, 4, 2], seed=5)
    a.fit(X, Y, epochs=2, batch_size=4, learning_rate=0.2, seed=6)
    order = np.random.default_rng(6)
    for _ in range(2):
        perm = order.permutation(11)
        for s in range(0, 11, 4):
            b.step(X[perm[s : s + 4]], Y[perm[s : s + 4]], 0.2)
    for p, q in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(p, q)


def test_forward_returns_c_contiguous_rows_as_before_issue_12():
    net = bplit.Network([4, 5, 3], output="softmax", loss="cross_entropy", seed=0)
    X = np.random.default_rng(0).random((6, 4))
    trace = net.forward(X)
    assert all(z.flags.c_contiguous for z in trace.z) and all(a.flags.c_contiguous for a in trace.a)
    assert net.predict(X).flags.c_contiguous


def test_weight_and_bias_gradients_and_its_deprecated_name():
    from bplit.network import bp3_bp4, weight_and_bias_gradients

    rng = np.random.default_rng(0)
    delta, a = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    dW, db = weight_and_bias_gradients(delta, a)
    np.testing.assert_array_equal(dW, delta.T @ a)
    np.testing.assert_array_equal(db, delta.sum(axis=0))
    with pytest.warns(DeprecationWarning, match="use bplit.network.weight_and_bias_gradients"):
        old = bp3_bp4(delta, a)
    np.testing.assert_array_equal(old[0], dW)
    np.testing.assert_array_equal(old[1], db)


def test_activation_attributes_and_their_deprecated_names():
    net = bplit.Network([2, 3, 1], hidden="tanh", output="sigmoid")
    assert net.hidden_activation is bplit.get_activation("tanh")
    assert net.output_activation is bplit.get_activation("sigmoid")
    with pytest.warns(
        DeprecationWarning, match=r"Network.output is deprecated; use Network.output_activation"
    ):
        assert net.output is net.output_activation
    with pytest.warns(
        DeprecationWarning, match=r"Network.hidden is deprecated; use Network.hidden_activation"
    ):
        assert net.hidden is net.hidden_activation
    with pytest.warns(DeprecationWarning, match="output_activation"):
        net.output = bplit.get_activation("identity")
    assert net.output_activation.name == "identity"
    assert isinstance(bplit.Network.output, object)  # the class attribute itself does not warn


def test_bp1_to_bp4_are_one_line_each_in_the_path_gradients_and_step_share():
    """The reader's promise of bplit/network_core.py: BP1-BP4 as one NumPy line each, in
    ``backprop``, which both ``gradients`` and ``step`` (through ``descend``) call."""
    import inspect

    from bplit.network_core import NetworkCore

    source = inspect.getsource(NetworkCore.backprop)
    for eq in ("BP1", "BP2", "BP3", "BP4"):
        lines = [ln for ln in source.splitlines() if ln.rstrip().endswith(f"# {eq}")]
        assert len(lines) == 1, (eq, lines)
    # no scratch-buffer branches: arrays for the results are passed in (out=None: NumPy allocates)
    assert (
        not re.search(r"\bws\b", source)
        and "if out is None" not in source
        and source.count("is not None") == 1
    )
    calls = {
        name: "self.backprop(" in inspect.getsource(getattr(NetworkCore, name))
        for name in ("gradients", "descend", "cost_and_gradients", "backward")
    }
    assert calls == dict.fromkeys(calls, True)
    assert "self.descend(" in inspect.getsource(NetworkCore.step)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_step_equals_w_minus_eta_gradients_in_both_dtypes(dtype):
    rng = np.random.default_rng(3)
    net = bplit.Network(
        [5, 7, 4, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype=dtype, seed=1
    )
    X = rng.standard_normal((9, 5)).astype(dtype)
    Y = rng.integers(0, 3, 9)
    g = net.gradients(X, Y)
    before = net.copy()
    cost = net.step(X, Y, 0.25)
    assert cost == pytest.approx(before.loss(X, Y), rel=1e-6 if dtype == np.float32 else 1e-12)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for w, w0, gw in zip(net.weights, before.weights, g.weights):
        np.testing.assert_allclose(w, w0 - 0.25 * gw, **tol)
    for b, b0, gb in zip(net.biases, before.biases, g.biases):
        np.testing.assert_allclose(b, b0 - 0.25 * gb, **tol)


def test_a_step_that_would_overflow_changes_nothing_and_says_so():
    net = bplit.Network([2, 3, 1], hidden="identity", output="identity", loss="half_sse", seed=0)
    X = np.array([[1e150, -1e150]])
    Y = np.array([[0.0]])
    before = [p.copy() for p in net.weights + net.biases]
    with pytest.raises(FloatingPointError, match="parameters were not changed"):
        net.step(X, Y, 1e10)
    for p, p0 in zip(net.weights + net.biases, before):
        np.testing.assert_array_equal(p, p0)
    net.weights[0][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"weights\[0\] or biases\[0\] contain NaN"):
        net.step(np.ones((1, 2)), Y, 0.1)


def test_safe_to_add_proves_an_in_place_update_cannot_overflow():
    from bplit import _validation as V

    big = np.finfo(np.float64).max
    for dtype in (np.float64, np.float32):
        half = float(np.finfo(dtype).max) / 2
        ok, over = np.array([0.9 * half], dtype), np.array([1.1 * half], dtype)
        assert V.safe_to_add([ok, np.ones(3, dtype)], [ok, np.ones(3, dtype)])  # huge but safe
        assert not V.safe_to_add([over], [ok])
        assert not V.safe_to_add([ok], [over])
        for bad in (np.nan, np.inf, -np.inf):
            assert not V.safe_to_add([np.array([1.0, bad], dtype)], [np.zeros(2, dtype)])
            assert not V.safe_to_add([np.zeros(2, dtype)], [np.array([bad, 1.0], dtype)])
    assert V.safe_to_add([np.full((2, 2), 1e150)], [np.full((2, 2), -1e150)])  # sum of squares overflows
    assert big / 2 + big / 2 == big  # why half: two halves cannot overflow
    over = np.array([0.6 * big])
    assert not V.safe_to_add([np.zeros(1)], [over], [math.inf])  # no bound: the pass is made
    assert not V.safe_to_add([np.zeros(1)], [over], [math.nan])
    assert not V.safe_to_add([np.zeros(1)], [over], [1e200])  # above sqrt(max): no proof


def test_change_bounds_hold_for_every_entry_and_are_reached():
    from bplit import _validation as V

    rng = np.random.default_rng(5)
    for m, n, k in [(1, 1, 1), (7, 3, 5), (64, 10, 100)]:
        delta, a = rng.standard_normal((m, n)), rng.standard_normal((m, k)) * 3
        bound_w, bound_b = V.change_bounds([delta], [np.linalg.norm(a)])
        assert np.max(np.abs(delta.T @ a)) <= bound_w and np.max(np.abs(delta.sum(axis=0))) <= bound_b
    # equal rows reach both bounds (Cauchy-Schwarz holds with equality): a smaller bound would be wrong
    delta, a = np.full((9, 1), -0.5), np.full((9, 1), 2.0)
    bound_w, bound_b = V.change_bounds([delta], [np.linalg.norm(a)])
    assert bound_w == pytest.approx(abs((delta.T @ a)[0, 0]), rel=1e-15)
    assert bound_b == pytest.approx(abs(delta.sum()), rel=1e-15)
    assert V.change_bounds([np.array([[np.nan]])], [1.0])[0] != V.change_bounds([np.ones((1, 1))], [1.0])[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_step_whose_change_alone_would_overflow_is_refused(dtype):
    """Parameters and data are ordinary; only eta times the gradient passes half the largest float."""
    net = bplit.Network([3, 4, 2], dtype=dtype, seed=0, reduction="sum")
    X, Y = np.linspace(-1, 1, 15, dtype=dtype).reshape(5, 3), np.zeros((5, 2), dtype)
    before = [p.copy() for p in net.weights + net.biases]
    with pytest.raises(FloatingPointError, match="not changed"):
        net.step(X, Y, float(np.finfo(dtype).max))
    for p, p0 in zip(net.weights + net.biases, before):
        np.testing.assert_array_equal(p, p0)


@pytest.mark.parametrize(
    "hidden", ["sigmoid", "tanh", "relu", "identity", bplit.relu_activation(derivative_at_zero=1.0)]
)
def test_networks_pickle_and_come_back_the_same(hidden):
    import pickle

    rng = np.random.default_rng(0)
    net = bplit.Network([4, 5, 3], hidden=hidden, output="softmax", loss="cross_entropy", seed=2)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    back = pickle.loads(pickle.dumps(net))
    assert back.config() == net.config() and type(back) is bplit.Network
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    for g, h in zip(back.gradients(X, y).weights, net.gradients(X, y).weights):
        np.testing.assert_array_equal(g, h)
    back.step(X, y, 0.5)  # its own arrays
    assert not np.array_equal(back.weights[0], net.weights[0])


def test_a_graph_network_pickles():
    import pickle

    g = bplit.GraphNetwork(
        [[1, 2], [3, 4], [5]], {3: [1, 2], 4: [2], 5: [3, 4, 1]}, activation="tanh", seed=1
    )
    back = pickle.loads(pickle.dumps(g))
    X, Y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([[1.0], [0.0]])
    np.testing.assert_array_equal(back.gradients(X, Y).dw.array, g.gradients(X, Y).dw.array)
    assert back.S == g.S and back.D[1] == g.D[1]
    with pytest.raises(TypeError):
        back.S[3] = (1,)  # still read-only
