"""The bad-input table: every public entry point, every kind of bad input.

Each row names a call and an input that must be refused, the exception type and a
regular expression the message must match (what was expected). After every refused
call the network's parameters must be exactly as before.
"""

import numpy as np
import pytest

import bplit

SIZES = [3, 4, 2]
GOOD_X = np.linspace(-1, 1, 15).reshape(5, 3)
GOOD_Y = np.full((5, 2), 0.5)


def _calls():
    """name -> function(net, X, Y) covering every public method that takes data."""
    return {
        "forward": lambda net, X, Y: net.forward(X),
        "predict": lambda net, X, Y: net.predict(X),
        "loss": lambda net, X, Y: net.loss(X, Y),
        "gradients": lambda net, X, Y: net.gradients(X, Y),
        "step": lambda net, X, Y: net.step(X, Y, 0.1),
        # descend checks X's entries itself (check_xy leaves them to it with check_params=False)
        "descend": lambda net, X, Y: net.descend(*net.check_xy(X, Y, check_params=False), 0.1),
        "fit": lambda net, X, Y: net.fit(X, Y, epochs=1, batch_size=2, learning_rate=0.1),
        "numerical_gradients": lambda net, X, Y: bplit.numerical_gradients(net, X, Y),
        "gradcheck": lambda net, X, Y: bplit.gradcheck(net, X, Y),
    }


X_ONLY = {"forward", "predict"}

BAD_X = [
    ("wrong width", np.ones((5, 4)), ValueError, r"X must have shape \(m, 3\), got shape \(5, 4\)"),
    ("1-D", np.ones(3), ValueError, r"X must have shape \(m, 3\), got shape \(3,\)"),
    ("3-D", np.ones((5, 3, 1)), ValueError, r"X must have shape \(m, 3\)"),
    ("empty batch", np.ones((0, 3)), ValueError, r"empty batch"),
    ("NaN", np.where(GOOD_X > 0.9, np.nan, GOOD_X), ValueError, r"X contains NaN or infinite"),
    ("inf", np.where(GOOD_X > 0.9, np.inf, GOOD_X), ValueError, r"X contains NaN or infinite"),
    ("-inf", np.where(GOOD_X > 0.9, -np.inf, GOOD_X), ValueError, r"X contains NaN or infinite"),
    ("integer", np.ones((5, 3), dtype=int), TypeError, r"X must be a real floating-point array.*int"),
    ("boolean", np.ones((5, 3), dtype=bool), TypeError, r"real floating-point.*bool"),
    ("complex", np.ones((5, 3), dtype=complex), TypeError, r"real floating-point.*complex"),
    ("object", np.array([[object()] * 3] * 5), TypeError, r"real floating-point.*object"),
    ("string", np.array([["a"] * 3] * 5), TypeError, r"real floating-point"),
    ("None", None, TypeError, r"real floating-point"),
    ("ragged list", [[1.0, 2.0, 3.0], [1.0]], ValueError, r"X must be a 2-D array of shape \(m, 3\)"),
    (
        "too large for float32",
        np.full((5, 3), 1e300),
        ValueError,
        r"too large for the network's dtype float32",
    ),
]

BAD_Y = [
    ("wrong width", np.ones((5, 3)), ValueError, r"Y must have shape \(m, 2\), got shape \(5, 3\)"),
    (
        "batch mismatch",
        np.ones((4, 2)),
        ValueError,
        r"X and Y must have the same number of rows, got 5 and 4",
    ),
    ("NaN", np.full((5, 2), np.nan), ValueError, r"Y contains NaN or infinite"),
    ("inf", np.full((5, 2), np.inf), ValueError, r"Y contains NaN or infinite"),
    ("integer", np.ones((5, 2), dtype=np.int64), TypeError, r"Y must be a real floating-point"),
    ("boolean", np.ones((5, 2), dtype=bool), TypeError, r"Y must be a real floating-point"),
    ("empty", np.ones((0, 2)), ValueError, r"empty batch"),
]


def _snapshot(net):
    return [p.copy() for p in net.weights + net.biases]


def _unchanged(net, snap):
    return all(np.array_equal(a, b) for a, b in zip(snap, net.weights + net.biases, strict=True))


@pytest.mark.parametrize("call", sorted(_calls()))
@pytest.mark.parametrize("case", BAD_X, ids=[c[0] for c in BAD_X])
def test_bad_X(call, case):
    _, X, exc, match = case
    dtype = np.float32 if "float32" in case[0] else np.float64
    net = bplit.Network(SIZES, dtype=dtype)
    snap = _snapshot(net)
    with pytest.raises(exc, match=match):
        _calls()[call](net, X, GOOD_Y)
    assert _unchanged(net, snap)


@pytest.mark.parametrize("call", sorted(set(_calls()) - X_ONLY))
@pytest.mark.parametrize("case", BAD_Y, ids=[c[0] for c in BAD_Y])
def test_bad_Y(call, case):
    _, Y, exc, match = case
    net = bplit.Network(SIZES)
    snap = _snapshot(net)
    with pytest.raises(exc, match=match):
        _calls()[call](net, GOOD_X, Y)
    assert _unchanged(net, snap)


BAD_TARGETS = [
    ("cross_entropy", "softmax", np.array([[1.0, 1.0]] * 5), r"probability rows"),
    ("cross_entropy", "softmax", np.array([[1.5, -0.5]] * 5), r"probability rows"),
    ("binary_cross_entropy", "sigmoid", np.array([[1.2, 0.0]] * 5), r"targets must lie in \[0, 1\]"),
    ("binary_cross_entropy", "sigmoid", np.array([[-0.1, 0.0]] * 5), r"targets must lie in \[0, 1\]"),
]


@pytest.mark.parametrize("call", sorted(set(_calls()) - X_ONLY))
@pytest.mark.parametrize("loss,output,Y,match", BAD_TARGETS)
def test_targets_invalid_for_the_loss(call, loss, output, Y, match):
    net = bplit.Network(SIZES, output=output, loss=loss)
    snap = _snapshot(net)
    with pytest.raises(ValueError, match=match):
        _calls()[call](net, GOOD_X, Y)
    assert _unchanged(net, snap)


BAD_PARAMS = [
    (
        "NaN weight",
        lambda net: net.weights[0].__setitem__((0, 0), np.nan),
        r"weights\[0\] or biases\[0\] contain NaN",
    ),
    (
        "inf bias",
        lambda net: net.biases[1].__setitem__(0, np.inf),
        r"weights\[1\] or biases\[1\] contain NaN",
    ),
    (
        "wrong shape",
        lambda net: net.weights.__setitem__(0, np.ones((3, 4))),
        r"weights\[0\] must be an array of shape \(4, 3\)",
    ),
    (
        "bias shape",
        lambda net: net.biases.__setitem__(1, np.ones((2, 1))),
        r"biases\[1\] must be an array of shape \(2,\)",
    ),
    (
        "int weights",
        lambda net: net.weights.__setitem__(1, np.ones((2, 4), dtype=int)),
        r"must have dtype float64",
    ),
    ("a list", lambda net: net.weights.__setitem__(1, [[0.0] * 4] * 2), r"weights\[1\] must be an array"),
]


@pytest.mark.parametrize("call", sorted(_calls()))
@pytest.mark.parametrize("case", BAD_PARAMS, ids=[c[0] for c in BAD_PARAMS])
def test_bad_parameters(call, case):
    _, corrupt, match = case
    net = bplit.Network(SIZES)
    corrupt(net)
    with pytest.raises(ValueError, match=match):
        _calls()[call](net, GOOD_X, GOOD_Y)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"sizes": [3]}, ValueError, r"at least two layer widths"),
        ({"sizes": "34"}, ValueError, r"at least two layer widths"),
        ({"sizes": [3, 0, 2]}, ValueError, r"sizes\[1\] must be a positive integer, got 0"),
        ({"sizes": [3, -4, 2]}, ValueError, r"sizes\[1\] must be a positive integer, got -4"),
        ({"sizes": [3, 4.0, 2]}, ValueError, r"sizes\[1\] must be a positive integer, got 4.0"),
        ({"sizes": [3, True, 2]}, ValueError, r"positive integer"),
        ({"hidden": "softmax"}, ValueError, r"softmax may only be used as the output activation"),
        (
            {"hidden": "swish"},
            ValueError,
            r"unknown activation 'swish'; expected one of \['identity', 'relu', 'sigmoid', 'softmax', 'tanh'\]",
        ),
        ({"output": None}, ValueError, r"unknown activation None"),
        (
            {"loss": "hinge"},
            ValueError,
            r"unknown loss 'hinge'; expected one of \['binary_cross_entropy', 'cross_entropy', 'half_sse', 'mse'\]",
        ),
        ({"loss": "cross_entropy"}, ValueError, r"requires output='softmax'"),
        ({"loss": "binary_cross_entropy", "output": "softmax"}, ValueError, r"requires output='sigmoid'"),
        ({"reduction": "max"}, ValueError, r"reduction must be one of \['mean', 'sum'\]"),
        ({"dtype": np.int32}, ValueError, r"dtype must be one of float32, float64, longdouble"),
        ({"dtype": np.complex128}, ValueError, r"dtype must be one of"),
        ({"init": "xavier"}, ValueError, r"init must be one of \['nielsen', 'glorot', 'he'\]"),
    ],
)
def test_bad_constructor_arguments(kwargs, exc, match):
    kwargs = {"sizes": SIZES, **kwargs}
    with pytest.raises(exc, match=match):
        bplit.Network(**kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"learning_rate": 0.0}, r"learning_rate must be a positive finite number, got 0.0"),
        ({"learning_rate": -0.1}, r"learning_rate must be a positive"),
        ({"learning_rate": np.nan}, r"learning_rate must be a positive finite"),
        ({"learning_rate": np.inf}, r"learning_rate must be a positive finite"),
        ({"learning_rate": "0.1"}, r"learning_rate must be a positive"),
        ({"epochs": 0}, r"epochs must be a positive integer, got 0"),
        ({"epochs": -2}, r"epochs must be a positive integer"),
        ({"epochs": 2.5}, r"epochs must be a positive integer"),
        ({"batch_size": 0}, r"batch_size must be a positive integer, got 0"),
        ({"batch_size": -1}, r"batch_size must be a positive integer"),
        ({"validation_data": GOOD_X}, r"validation_data must be a tuple \(X_val, Y_val\)"),
        ({"validation_data": (GOOD_X, np.ones((5, 3)))}, r"Y_val must have shape \(m, 2\)"),
        (
            {"validation_data": (np.ones((2, 3)), GOOD_Y)},
            r"X_val and Y_val must have the same number of rows",
        ),
    ],
)
def test_bad_training_arguments(kwargs, match):
    net = bplit.Network(SIZES)
    snap = _snapshot(net)
    args = {"epochs": 2, "batch_size": 2, "learning_rate": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        net.fit(GOOD_X, GOOD_Y, **args)
    if "learning_rate" in kwargs:
        with pytest.raises(ValueError, match=match):
            net.step(GOOD_X, GOOD_Y, kwargs["learning_rate"])
    assert _unchanged(net, snap)


def test_failed_fit_part_way_keeps_the_completed_epochs():
    net = bplit.Network(SIZES)
    one_epoch = net.copy()
    first = one_epoch.fit(GOOD_X, GOOD_Y, epochs=1, batch_size=2, learning_rate=0.1)

    def boom(epoch, n):
        if epoch == 2:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop") as info:
        net.fit(GOOD_X, GOOD_Y, epochs=3, batch_size=2, learning_rate=0.1, callback=boom)
    assert _unchanged(net, _snapshot(one_epoch))  # the end of epoch 1, not of the failed epoch 2
    assert list(info.value.history) == list(first)
    failing_first = bplit.Network(SIZES)
    snap = _snapshot(failing_first)
    with pytest.raises(ZeroDivisionError) as info:
        failing_first.fit(
            GOOD_X, GOOD_Y, epochs=3, batch_size=2, learning_rate=0.1, callback=lambda e, n: 1 / 0
        )
    assert _unchanged(failing_first, snap) and list(info.value.history) == []


def test_overflowing_step_is_refused_and_changes_nothing():
    net = bplit.Network([3, 4, 2], hidden="identity", output="identity", loss="half_sse")
    X = np.full((5, 3), 1e200)  # finite, but the squared error overflows float64
    snap = _snapshot(net)
    with pytest.raises(FloatingPointError, match=r"left the range of float64.*not changed"):
        net.step(X, GOOD_Y, 0.1)
    assert _unchanged(net, snap)
    huge = bplit.Network([3, 4, 2], hidden="identity", output="identity")
    snap = _snapshot(huge)
    with pytest.raises(FloatingPointError, match="lower the learning rate.*not changed") as info:
        huge.fit(GOOD_X, GOOD_Y * 1e10, epochs=50, batch_size=2, learning_rate=1e100)  # overflows in epoch 1
    assert _unchanged(huge, snap) and list(info.value.history) == []


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda: bplit.numerical_gradients(bplit.Network(SIZES), GOOD_X, GOOD_Y, eps=0.0),
            ValueError,
            "eps must be a positive",
        ),
        (
            lambda: bplit.numerical_gradients(bplit.Network(SIZES), GOOD_X, GOOD_Y, eps=-1e-6),
            ValueError,
            "eps must be a positive",
        ),
        (
            lambda: bplit.numerical_gradients(bplit.Network(SIZES), GOOD_X, GOOD_Y, dtype=np.int16),
            ValueError,
            "dtype must be one of",
        ),
        (
            lambda: bplit.relative_error(
                bplit.Network(SIZES).gradients(GOOD_X, GOOD_Y),
                bplit.Network([3, 2]).gradients(GOOD_X, GOOD_Y),
            ),
            ValueError,
            "gradients differ in size",
        ),
        (lambda: bplit.get_activation(3), ValueError, "unknown activation 3"),
        (lambda: bplit.get_loss(["mse"]), ValueError, "unknown loss"),
        (lambda: bplit.relu_activation(-0.5), ValueError, r"derivative_at_zero must lie in \[0, 1\]"),
        (lambda: bplit.sigmoid(np.arange(3)), TypeError, "z must be a real floating-point array"),
        (lambda: bplit.softmax(np.array(1.0)), ValueError, "at least 1 dimension"),
        (lambda: bplit.log_softmax(np.ones(3, dtype=complex)), TypeError, "real floating-point"),
        (lambda: bplit.Network(SIZES).astype(np.int8), ValueError, "dtype must be one of"),
        (lambda: bplit.load("/nonexistent/net.npz"), ValueError, "not a readable bplit network file"),
    ],
)
def test_other_public_functions(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("method", ["vectorized", "loops"])
def test_graph_network_overflow_is_refused_and_changes_nothing(method):
    g = bplit.GraphNetwork.from_network(bplit.Network([2, 3, 1], hidden="identity", output="identity"))
    w0, b0 = g.w.array.copy(), g.b.array.copy()
    X, Y = np.full((2, 2), 1e200), np.ones((2, 1))
    with pytest.raises(FloatingPointError, match="left the range of float64"):
        g.loss(X, Y)
    with pytest.raises(FloatingPointError, match="not changed"):
        g.step(X, Y, 0.1, method=method)
    # the update itself overflows: numpy's guard (vectorised) or the finite-value check of
    # the per-unit parameter store (loops) refuses it, and nothing is kept
    with pytest.raises((FloatingPointError, ValueError), match="range of float64|finite real number"):
        g.step(np.ones((2, 2)), np.ones((2, 1)) * 1e10, 1e300, method=method)
    np.testing.assert_array_equal(g.w.array, w0)
    np.testing.assert_array_equal(g.b.array, b0)


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-6), (np.float32, 1e-4)])
def test_cross_entropy_row_sums_are_checked_to_the_tolerance(dtype, atol):
    """Each target row must sum to 1 within atol: the cheap sum-of-squares test may only
    accept; a row just outside the tolerance is refused even when all others are exact."""
    net = bplit.Network([3, 4], output="softmax", loss="cross_entropy", dtype=dtype)
    m = 400
    X = np.zeros((m, 3), dtype)
    Y = np.full((m, 4), 0.25)
    Y[:, 0] += 0.9 * atol  # every row 0.9 atol off: the sum of squares exceeds atol^2, the maximum does not
    net.loss(X, Y.astype(dtype))
    Y[7, 1] += 0.3 * atol  # one row 1.2 atol off
    with pytest.raises(ValueError, match="summing to 1"):
        net.loss(X, Y.astype(dtype))
