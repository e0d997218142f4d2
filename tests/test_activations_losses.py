"""Every activation's derivative and every loss gradient against SymPy."""

import numpy as np
import pytest
import sympy as sp

import bplit
from bplit.activations import ACTIVATIONS

z = sp.Symbol("z", real=True)
SYMPY_ACTIVATIONS = {
    "sigmoid": 1 / (1 + sp.exp(-z)),
    "tanh": sp.tanh(z),
    "identity": z,
}
POINTS = np.array([[-30.0, -3.1, -0.7, -1e-3, 0.4, 2.5, 29.0]])


@pytest.mark.parametrize("name", sorted(SYMPY_ACTIVATIONS))
def test_elementwise_value_and_derivative_match_sympy(name):
    f = SYMPY_ACTIVATIONS[name]
    value = sp.lambdify(z, f, "numpy")
    deriv = sp.lambdify(z, sp.diff(f, z), "numpy")
    act = ACTIVATIONS[name]
    np.testing.assert_allclose(act.value(POINTS), value(POINTS) + 0 * POINTS, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(act.derivative(POINTS), deriv(POINTS) + 0 * POINTS, rtol=1e-12, atol=1e-300)


def test_relu_derivative_matches_sympy_away_from_zero_and_convention_at_zero():
    f = sp.Max(z, 0)
    deriv = sp.diff(f, z)  # Heaviside(z)
    pts = POINTS[POINTS != 0]
    expect = np.array([float(deriv.subs(z, float(p))) for p in pts])
    np.testing.assert_array_equal(ACTIVATIONS["relu"].derivative(pts), expect)
    np.testing.assert_array_equal(ACTIVATIONS["relu"].value(pts), np.maximum(pts, 0))
    zero = np.zeros((1, 1))
    assert ACTIVATIONS["relu"].derivative(zero)[0, 0] == 0.0
    assert bplit.relu_activation(1.0).derivative(zero)[0, 0] == 1.0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bplit.relu_activation(2.0)


def test_softmax_jacobian_matches_sympy():
    zs = sp.symbols("z0:3", real=True)
    denom = sum(sp.exp(v) for v in zs)
    a = [sp.exp(v) / denom for v in zs]
    jac = sp.Matrix(3, 3, lambda k, j: sp.diff(a[k], zs[j]))
    pt = np.array([[0.3, -1.2, 2.0]])
    expect = np.array(jac.subs(dict(zip(zs, pt[0]))).evalf(30), dtype=float)
    np.testing.assert_allclose(ACTIVATIONS["softmax"].derivative(pt)[0], expect, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(
        ACTIVATIONS["softmax"].value(pt)[0], [float(v.subs(dict(zip(zs, pt[0])))) for v in a]
    )
    # backward is the Jacobian-transpose product
    g = np.array([[0.5, -2.0, 1.5]])
    np.testing.assert_allclose(ACTIVATIONS["softmax"].backward(pt, bplit.softmax(pt), g)[0], expect.T @ g[0])


def test_log_softmax_matches_sympy_and_stays_finite():
    zs = sp.symbols("z0:3", real=True)
    log_a = [v - sp.log(sum(sp.exp(u) for u in zs)) for v in zs]
    pt = np.array([[0.3, -1.2, 2.0], [5.0, 5.0, -3.5]])
    expect = np.array([[float(e.subs(dict(zip(zs, row))).evalf(30)) for e in log_a] for row in pt])
    np.testing.assert_allclose(bplit.log_softmax(pt), expect, rtol=1e-14)
    big = bplit.log_softmax(np.array([[1000.0, 0.0, -1000.0]]))  # softmax underflows; its log does not
    np.testing.assert_allclose(big, [[0.0, -1000.0, -2000.0]], rtol=1e-15, atol=1e-300)


def _sym_loss(name, a, y, zsym):
    n = len(a)
    if name == "mse":
        return sum((ai - yi) ** 2 for ai, yi in zip(a, y)) / n
    if name == "half_sse":
        return sp.Rational(1, 2) * sum((ai - yi) ** 2 for ai, yi in zip(a, y))
    if name == "cross_entropy":
        return -sum(yi * sp.log(ai) for ai, yi in zip(a, y))
    return -sum(yi * sp.log(ai) + (1 - yi) * sp.log(1 - ai) for ai, yi in zip(a, y))


@pytest.mark.parametrize(
    "name,output",
    [
        ("mse", "identity"),
        ("half_sse", "sigmoid"),
        ("cross_entropy", "softmax"),
        ("binary_cross_entropy", "sigmoid"),
    ],
)
def test_loss_value_and_output_delta_match_sympy(name, output):
    """dC_s/dz^L of loss composed with its output activation, symbolically vs bplit."""
    n = 3
    zs = sp.symbols(f"z0:{n}", real=True)
    ys = sp.symbols(f"y0:{n}", real=True)
    if output == "softmax":
        den = sum(sp.exp(v) for v in zs)
        a = [sp.exp(v) / den for v in zs]
    elif output == "sigmoid":
        a = [1 / (1 + sp.exp(-v)) for v in zs]
    else:
        a = list(zs)
    C = _sym_loss(name, a, ys, zs)
    grad = [sp.diff(C, v) for v in zs]
    zpt = np.array([0.4, -1.3, 0.9])
    ypt = np.array([0.2, 0.5, 0.3])  # a probability row, inside [0, 1]
    subs = {**dict(zip(zs, zpt)), **dict(zip(ys, ypt))}
    loss = bplit.get_loss(name)
    act = bplit.get_activation(output)
    Z, Y = zpt[None, :], ypt[None, :]
    A = act.value(Z)
    np.testing.assert_allclose(loss.per_sample(Z, A, Y)[0], float(C.subs(subs)), rtol=1e-13)
    expect = np.array([float(g.subs(subs)) for g in grad])
    np.testing.assert_allclose(loss.output_delta(Z, A, Y, act)[0], expect, rtol=1e-12)


def test_cross_entropy_fused_delta_needs_probability_rows():
    net = bplit.Network([2, 3], output="softmax", loss="cross_entropy")
    X = np.ones((1, 2))
    with pytest.raises(ValueError, match="probability rows"):
        net.gradients(X, np.array([[1.0, 1.0, 0.0]]))


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="sigmoid"):
        bplit.get_activation("swish")
    with pytest.raises(ValueError, match="half_sse"):
        bplit.get_loss("hinge")


def test_extreme_preactivations_stay_finite():
    Z = np.array([[-1000.0, 0.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for name in ("sigmoid", "tanh", "softmax"):
            assert np.all(np.isfinite(ACTIVATIONS[name].value(Z)))
        Y = np.array([[0.0, 0.0, 1.0]])
        for loss, out in (("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid")):
            act = ACTIVATIONS[out]
            c = bplit.get_loss(loss).per_sample(Z, act.value(Z), Y)
            assert np.all(np.isfinite(c))


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "identity"])
def test_fast_backward_path_agrees_with_derivative(name):
    act = ACTIVATIONS[name]
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((6, 5)) * 3
    Z[0, 0] = 0.0
    G = rng.standard_normal((6, 5))
    G0 = G.copy()
    expect = G * act.derivative(Z)
    got = act.backward(Z, act.value(Z), G)
    np.testing.assert_array_equal(G, G0)  # not overwritten by default
    np.testing.assert_allclose(got, expect, rtol=1e-13, atol=1e-300)
    assert act.derivative_into is not None
    G2 = G.copy()
    out = act.backward(Z, act.value(Z), G2, overwrite=True)
    assert out is G2
    np.testing.assert_allclose(G2, expect, rtol=1e-13, atol=1e-300)


def test_all_finite_detects_bad_values_and_survives_overflowing_sums():
    from bplit._validation import all_finite

    big = np.full(10, 1e308)
    assert all_finite(big)  # the sum overflows, the entries are fine
    for bad in (np.nan, np.inf, -np.inf):
        x = np.ones(10)
        x[3] = bad
        assert not all_finite(x)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "identity"])
@pytest.mark.parametrize("z0", [-2.5, 0.0, 0.75])
def test_scalars_and_zero_dim_arrays_work(name, z0):
    act = ACTIVATIONS[name]
    for z in (np.float64(z0), np.array(z0)):
        v, d = act.value(z), act.derivative(z)
        assert np.ndim(v) == 0 and np.ndim(d) == 0
        np.testing.assert_allclose(v, act.value(np.array([z0]))[0], rtol=1e-15)
        np.testing.assert_allclose(d, act.derivative(np.array([z0]))[0], rtol=1e-15)
    assert np.ndim(bplit.relu_activation(1.0).derivative(np.float64(0.0))) == 0


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "identity"])
def test_in_place_derivative_is_the_same_formula(name):
    """derivative_into (used by the training step) gives bit for bit what derivative gives."""
    f = bplit.get_activation(name)
    z = np.concatenate([np.linspace(-800, 800, 4001), np.linspace(-3, 3, 6001), [0.0]]).reshape(1, -1)
    with np.errstate(over="raise", invalid="raise", under="ignore"):
        np.testing.assert_array_equal(f.derivative_into(z, f.value(z), np.empty_like(z)), f.derivative(z))
        np.testing.assert_array_equal(f.value_into(z, np.empty_like(z)), f.value(z))
    r1 = bplit.relu_activation(derivative_at_zero=1.0)
    zero = np.zeros((1, 3))
    np.testing.assert_array_equal(r1.derivative_into(zero, zero, np.empty_like(zero)), 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_computes_like_sigmoid(dtype):
    """bplit.relu(z) is max(z, 0) element-wise, shape and dtype kept (issue 19 item 3)."""
    z = np.array([[1.0, -1.0, 0.0], [-0.5, 2.5, -3.0]], dtype=dtype)
    a = bplit.relu(z)
    assert a.dtype == dtype and a.shape == z.shape
    np.testing.assert_array_equal(a, np.maximum(z, 0))
    np.testing.assert_array_equal(bplit.relu(np.array([1.0, -1.0])), [1.0, 0.0])
    assert bplit.relu(np.float64(-2.0)) == 0.0 and np.ndim(bplit.relu(np.array(3.0))) == 0
    np.testing.assert_array_equal(bplit.relu(z), bplit.get_activation("relu")(z))
    with pytest.raises(TypeError, match="floating-point"):
        bplit.relu(np.array([1, -1]))


@pytest.mark.parametrize(
    ("call", "d0"),
    [
        (lambda: bplit.relu(), 0.0),
        (lambda: bplit.relu(derivative_at_zero=1.0), 1.0),
        (lambda: bplit.relu(1.0), 1.0),
    ],
)
def test_relu_factory_calls_are_deprecated(call, d0):
    with pytest.warns(DeprecationWarning, match=r"relu_activation\(derivative_at_zero="):
        act = call()
    new = bplit.relu_activation(d0)
    assert isinstance(act, bplit.Activation) and act.name == new.name
    zero = np.zeros((1, 1))
    assert act.derivative(zero)[0, 0] == d0
    with pytest.raises(TypeError, match="both"):
        bplit.relu(np.zeros(2), derivative_at_zero=1.0)


def test_reduction_factor_and_its_deprecated_name():
    from bplit.losses import reduction_factor, sample_weight

    assert reduction_factor("mean", 4) == 0.25 and reduction_factor("sum", 4) == 1.0
    with pytest.warns(DeprecationWarning, match="use bplit.losses.reduction_factor"):
        assert sample_weight("mean", 4) == 0.25


@pytest.mark.parametrize("dtype,span", [(np.float64, 800.0), (np.float32, 100.0)])
@pytest.mark.parametrize("errors", ["raise", "warn"])
def test_sigmoid_derivative_from_the_kept_exponential_is_accurate_in_both_tails(dtype, span, errors):
    """The forward pass keeps e^{-z}; sigma'(z) = e^{-z} a^2 from it agrees with sigma(z) sigma(-z)
    to a few ulps everywhere, including where e^{-z} overflows (z below about -709, or -88 in float32)."""
    f = bplit.get_activation("sigmoid")
    z = np.concatenate([np.linspace(-span, span, 4001), np.linspace(-3, 3, 601)]).astype(dtype).reshape(1, -1)
    kept = np.empty_like(z)
    with np.errstate(over=errors, invalid="raise", under="ignore"):
        a = f.apply(z, keep=kept)
        got = f.derivative_given(z, a, kept)
    np.testing.assert_array_equal(a, f.value(z))  # keeping e^{-z} does not change the value
    assert np.all(np.isfinite(kept)) and np.all(kept >= 0)  # inf lowered to the largest float
    zl = z.astype(np.longdouble)
    e = np.exp(-np.abs(zl))
    exact = e / (1 + e) ** 2  # sigma'(z) = e^{-|z|} / (1 + e^{-|z|})^2, in extended precision
    tiny = np.finfo(dtype).tiny  # below it (a subnormal sigma'), both formulas give 0 or lose digits
    np.testing.assert_allclose(got, exact.astype(dtype), rtol=8 * np.finfo(dtype).eps, atol=tiny)
    np.testing.assert_allclose(got, f.derivative(z), rtol=8 * np.finfo(dtype).eps, atol=tiny)


def test_the_network_reuses_the_kept_exponential_and_gets_the_same_gradients():
    net = bplit.Network([4, 6, 5, 3], hidden="sigmoid", output="softmax", loss="cross_entropy", seed=2)
    X = np.random.default_rng(0).standard_normal((7, 4)) * 30  # saturated units: both tails
    Y = np.eye(3)[np.arange(7) % 3]
    with_kept = net.gradients(X, Y)
    trace = net.forward(X)
    assert trace.kept is None  # forward returns z and a only: backward then recomputes sigma(-z)
    without = net.backward(trace, Y)
    for g1, g0 in zip(with_kept.weights + with_kept.biases, without.weights + without.biases):
        np.testing.assert_allclose(g1, g0, rtol=1e-13, atol=1e-300)
    tanh = bplit.Network([4, 6, 3], hidden="tanh", output="softmax", loss="cross_entropy")
    assert bplit.get_activation("tanh").keeps is False and tanh.gradients(X, Y).weights[0].shape == (6, 4)
