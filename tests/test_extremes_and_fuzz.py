"""Numerical extremes and property-based fuzzing of the public API.

Extremes: weighted inputs of +-1000 must give finite losses and gradients without a
single warning (pytest turns warnings into errors for this suite).

Fuzzing: whatever hypothesis feeds the public methods, an accepted input gives
finite results and a rejected one a ValueError, TypeError or FloatingPointError with
a message; never a warning, a NaN, or another exception from deep inside NumPy.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import bplit

COMBOS = [
    (hidden, output, loss)
    for hidden in ("sigmoid", "tanh", "relu", "identity")
    for output, loss in (
        ("sigmoid", "half_sse"),
        ("sigmoid", "binary_cross_entropy"),
        ("softmax", "cross_entropy"),
        ("softmax", "half_sse"),
        ("tanh", "mse"),
        ("identity", "mse"),
        ("relu", "half_sse"),
    )
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden,output,loss", COMBOS)
def test_preactivations_of_plus_minus_1000_stay_finite(hidden, output, loss, dtype):
    net = bplit.Network([2, 2, 2], hidden=hidden, output=output, loss=loss, dtype=dtype)
    net.weights = [np.eye(2, dtype=dtype), np.eye(2, dtype=dtype)]
    net.biases = [np.zeros(2, dtype=dtype), np.zeros(2, dtype=dtype)]
    X = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    tr = net.forward(X)
    if hidden == "identity":
        np.testing.assert_array_equal(tr.z[-1], X)  # the output layer really sees +-1000
    assert np.all(np.isfinite(tr.a[-1]))
    c = net.loss(X, Y)
    g = net.gradients(X, Y)
    assert np.isfinite(c)
    assert all(np.all(np.isfinite(a)) for a in g.weights + g.biases + g.deltas)
    net.step(X, Y, 0.01)
    assert all(np.all(np.isfinite(p)) for p in net.weights + net.biases)


def test_cross_entropy_of_a_confident_wrong_answer_is_large_but_finite():
    net = bplit.Network([1, 2], output="softmax", loss="cross_entropy")
    net.weights[0][:] = [[1.0], [-1.0]]
    net.biases[0][:] = 0
    c = net.loss(np.array([[500.0]]), np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(c, 1000.0, rtol=1e-12)  # log-sum-exp: -log softmax = 1000
    bce = bplit.Network([1, 1], output="sigmoid", loss="binary_cross_entropy")
    bce.weights[0][:] = 1.0
    bce.biases[0][:] = 0
    np.testing.assert_allclose(bce.loss(np.array([[-800.0]]), np.array([[1.0]])), 800.0, rtol=1e-12)


# ---------------------------------------------------------------- fuzzing
ALLOWED = (ValueError, TypeError, FloatingPointError)
OUTPUT_LOSS = [
    ("sigmoid", "half_sse"),
    ("identity", "mse"),
    ("softmax", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy"),
]

networks = st.builds(
    lambda widths, hidden, ol, dtype, reduction, seed: bplit.Network(
        widths, hidden=hidden, output=ol[0], loss=ol[1], dtype=dtype, reduction=reduction, seed=seed
    ),
    widths=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    hidden=st.sampled_from(["sigmoid", "tanh", "relu", "identity"]),
    ol=st.sampled_from(OUTPUT_LOSS),
    dtype=st.sampled_from([np.float32, np.float64]),
    reduction=st.sampled_from(["mean", "sum"]),
    seed=st.integers(0, 2**16),
)

elements = st.one_of(
    st.floats(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, 1.0, -1.0, 1e30, -1e30, 1e200, 1e-300]),
)


def _cast(a, dtype):
    with np.errstate(over="ignore"):  # a float64 value too large for dtype becomes inf: a bad input too
        return a.astype(dtype)


def arrays_for(width):
    """Mostly well-shaped float arrays, sometimes wrong shapes or dtypes."""
    rows = st.integers(0, 5)
    shape = st.one_of(
        rows.map(lambda m: (m, width)),
        st.tuples(rows, st.integers(1, 6)),
        st.tuples(st.integers(1, 4)),
        st.tuples(rows, st.just(width), st.integers(1, 2)),
    )
    good_float = st.sampled_from([np.float64, np.float32, np.float16])
    floats = st.tuples(shape, good_float).flatmap(
        lambda sd: hnp.arrays(np.float64, sd[0], elements=elements).map(lambda a: _cast(a, sd[1]))
    )
    other = st.tuples(shape, st.sampled_from([np.int64, np.bool_, np.complex128])).flatmap(
        lambda sd: hnp.arrays(sd[1], sd[0])
    )
    valid = st.tuples(st.integers(1, 5), st.sampled_from([np.float64, np.float32])).flatmap(
        lambda md: hnp.arrays(md[1], (md[0], width), elements=st.floats(-5, 5, width=32))
    )
    large = st.integers(1, 5).flatmap(
        lambda m: hnp.arrays(
            np.float64, (m, width), elements=st.sampled_from([-1e30, 1e30, 1e160, -3.0, 0.5])
        )
    )
    return st.one_of(valid, valid, valid, valid, valid, large, floats, other)


def _targets(net, data, m):
    loss = net.loss_fn.name
    n = net.sizes[-1]
    if loss == "cross_entropy" and data.draw(st.booleans()):
        idx = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
        return np.eye(n)[idx]
    if loss == "binary_cross_entropy" and data.draw(st.booleans()):
        return data.draw(hnp.arrays(np.float64, (m, n), elements=st.floats(0, 1)))
    return data.draw(arrays_for(n))


def _check_finite(result):
    if isinstance(result, float):
        assert np.isfinite(result)
    elif isinstance(result, np.ndarray):
        assert np.all(np.isfinite(result))
    elif isinstance(result, bplit.Gradients):
        for a in result.weights + result.biases + (result.deltas or []):
            assert np.all(np.isfinite(a))
    elif isinstance(result, bplit.Trace):
        for a in result.z + result.a:
            assert np.all(np.isfinite(a))
    elif isinstance(result, list):  # History
        assert all(np.isfinite(v) for v in result)


METHODS = ["forward", "predict", "loss", "gradients", "step", "fit"]


@settings(
    max_examples=2500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(net=networks, method=st.sampled_from(METHODS), data=st.data())
def test_fuzz_public_methods(net, method, data):
    X = data.draw(arrays_for(net.sizes[0]))
    m = X.shape[0] if X.ndim >= 1 else 1
    Y = _targets(net, data, m)
    before = [p.copy() for p in net.weights + net.biases]
    lr = data.draw(st.sampled_from([0.1, 1.0, 1e-3, 0.5, 0.0, -1.0, float("nan"), 1e300]))
    try:
        if method in ("forward", "predict"):
            result = getattr(net, method)(X)
        elif method in ("loss", "gradients"):
            result = getattr(net, method)(X, Y)
        elif method == "step":
            result = net.step(X, Y, lr)
        else:
            result = net.fit(
                X,
                Y,
                epochs=data.draw(st.integers(1, 2)),
                batch_size=data.draw(st.integers(1, 3)),
                learning_rate=lr,
            )
    except ALLOWED as err:
        event(f"{method}: rejected with {type(err).__name__}")
        assert str(err)  # a message that says what was expected
        params = net.weights + net.biases
        if getattr(err, "history", None):  # fit failed after completed epochs: it keeps the last one
            assert all(np.all(np.isfinite(p)) for p in params)
        else:
            assert all(np.array_equal(a, b) for a, b in zip(before, params, strict=True))
        return
    event(f"{method}: accepted")
    _check_finite(result)
    assert all(np.all(np.isfinite(p)) for p in net.weights + net.biases)


@settings(max_examples=500, deadline=None)
@given(
    sizes=st.one_of(
        st.lists(st.integers(-2, 4), max_size=4),
        st.lists(st.floats(-2, 4), min_size=2, max_size=3),
        st.text(max_size=3),
        st.none(),
    ),
    hidden=st.one_of(st.sampled_from(["sigmoid", "softmax", "relu", "gelu"]), st.integers()),
    output=st.sampled_from(["sigmoid", "softmax", "identity", "??"]),
    loss=st.sampled_from(["mse", "half_sse", "cross_entropy", "binary_cross_entropy", "hinge"]),
    reduction=st.sampled_from(["mean", "sum", "max"]),
    dtype=st.sampled_from([np.float32, np.float64, np.int32, np.complex64]),
)
def test_fuzz_constructor(sizes, hidden, output, loss, reduction, dtype):
    try:
        net = bplit.Network(sizes, hidden=hidden, output=output, loss=loss, reduction=reduction, dtype=dtype)
    except ALLOWED as err:
        assert str(err)
        return
    assert all(isinstance(n, int) and n > 0 for n in net.sizes) and len(net.sizes) >= 2
    out = net.predict(np.zeros((1, net.sizes[0])))
    assert out.shape == (1, net.sizes[-1]) and np.all(np.isfinite(out))
