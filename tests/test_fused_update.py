"""The training step's fused in-place weight update (``bplit._blas``) and its safe fallback.

Large weight matrices are updated by one BLAS product ``w += delta^T a`` in place when an
a-priori bound proves the result finite; otherwise (or without the library) the new
weights are built in a scratch buffer. Both paths must give the update
``w - eta dC/dw`` that ``gradients`` defines, and a step that fails must change nothing.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import bplit
from bplit import _blas

LARGE = [90, 70, 64, 10]  # weight matrices of 6300 and 4480 entries: above the fused threshold
RTOL = {np.float64: 1e-12, np.float32: 2e-5}


def _data(sizes, m=32, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, sizes[0])).astype(dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], m)]
    return X, Y


def _net(dtype=np.float64, hidden="relu"):
    return bplit.Network(LARGE, hidden=hidden, output="softmax", loss="cross_entropy", dtype=dtype, seed=3)


@pytest.fixture
def gemm_calls(monkeypatch):
    """Count calls of the fused product (skips when this NumPy has no bundled OpenBLAS)."""
    if _blas.gemm_acc is None:
        pytest.skip(f"fused update unavailable here: {_blas.describe()}")
    calls = []
    real = _blas.gemm_acc

    def counting(c, a, b):
        calls.append(c.shape)
        real(c, a, b)

    monkeypatch.setattr(_blas, "gemm_acc", counting)
    return calls


def _expected(net, X, Y, eta):
    g = net.gradients(X, Y)
    return [w - eta * gw for w, gw in zip(net.weights, g.weights)], [
        b - eta * gb for b, gb in zip(net.biases, g.biases)
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hidden", ["relu", "sigmoid"])
def test_fused_step_is_gradient_descent(gemm_calls, dtype, hidden):
    net = _net(dtype, hidden)
    X, Y = _data(LARGE, dtype=dtype)
    want_w, want_b = _expected(net, X, Y, 0.5)
    held = list(net.weights)
    net.step(X, Y, 0.5)
    assert sorted(gemm_calls) == [(64, 70), (70, 90)]  # the two large layers, fused; the 10x64 one not
    for w, h, ww in zip(net.weights, held, want_w):
        assert w is h  # updated in place
        np.testing.assert_allclose(w, ww, rtol=RTOL[dtype], atol=RTOL[dtype] * np.abs(ww).max())
    for b, wb in zip(net.biases, want_b):
        np.testing.assert_allclose(b, wb, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fallback_path_gives_the_same_step(monkeypatch, dtype):
    X, Y = _data(LARGE, dtype=dtype)
    fused, plain = _net(dtype), _net(dtype)
    fused.step(X, Y, 0.3)
    monkeypatch.setattr(_blas, "gemm_acc", None)
    plain.step(X, Y, 0.3)
    for a, b in zip(fused.weights + fused.biases, plain.weights + plain.biases):
        np.testing.assert_allclose(a, b, rtol=RTOL[dtype], atol=RTOL[dtype] * np.abs(b).max())


def test_fortran_ordered_weights_are_updated_in_place(gemm_calls):
    X, Y = _data(LARGE)
    ref, net = _net(), _net()
    net.weights = [np.asfortranarray(w) for w in net.weights]
    held = list(net.weights)
    ref.step(X, Y, 0.2)
    del gemm_calls[:]
    net.step(X, Y, 0.2)
    assert sorted(gemm_calls) == [(70, 64), (90, 70)]  # on the C-contiguous transposes
    for w, h, r in zip(net.weights, held, ref.weights):
        assert w is h and w.flags.f_contiguous
        np.testing.assert_allclose(w, r, rtol=1e-12, atol=1e-14)


def test_read_only_or_strided_weights_take_the_safe_path(gemm_calls):
    X, Y = _data(LARGE)
    ref, net = _net(), _net()
    big = np.zeros((2 * LARGE[1], LARGE[0]))
    big[::2] = net.weights[0]
    net.weights[0] = big[::2]  # a strided view: no BLAS on it, still updated in place
    ref.step(X, Y, 0.2)
    del gemm_calls[:]
    net.step(X, Y, 0.2)
    assert gemm_calls == [(LARGE[2], LARGE[1])]  # only the second layer was fused
    np.testing.assert_allclose(big[::2], ref.weights[0], rtol=1e-12, atol=1e-14)


def test_huge_updates_are_atomic(gemm_calls):
    """Learning rates up to the overflow: a step either succeeds with finite parameters
    (through the scratch path once the bound no longer holds) or raises and changes nothing."""
    X, Y = _data(LARGE)
    X *= 100.0  # so that the largest learning rates overflow the first layer's update
    outcomes = []
    for eta in [1e2, 1e100, 1e290, 1e300, 1e303, 1e305, 1e306, 1e307, 1e308]:
        net = _net(hidden="relu")  # unbounded activations: gradients up to ~60 here
        before = [p.copy() for p in net.weights + net.biases]
        del gemm_calls[:]
        try:
            net.step(X, Y, eta)
        except FloatingPointError as err:
            assert "not changed" in str(err)
            for p, p0 in zip(net.weights + net.biases, before):
                np.testing.assert_array_equal(p, p0)
            outcomes.append("raised")
        else:
            assert all(np.isfinite(p).all() for p in net.weights + net.biases)
            outcomes.append("fused" if len(gemm_calls) == 2 else "scratch")
    assert outcomes[0] == "fused" and outcomes[-1] == "raised", outcomes
    assert "scratch" in outcomes, outcomes  # the bound failed, yet the update fitted: done safely


def test_huge_but_finite_weights_take_the_safe_path(gemm_calls):
    net = _net(np.float32, hidden="sigmoid")
    X, Y = _data(LARGE, dtype=np.float32)
    net.weights[0][0, 0] = 1e30  # its square overflows float32: the norm is unknown, so no fused update
    ref = net.copy()
    net.step(X, Y, 0.1)
    assert gemm_calls == [(LARGE[2], LARGE[1])]
    want_w, _ = _expected(ref, X, Y, 0.1)
    np.testing.assert_allclose(net.weights[0], want_w[0], rtol=2e-5, atol=1e-5)


def test_fit_tracks_the_norm_bound_and_matches_steps(gemm_calls):
    X, Y = _data(LARGE, m=100)
    a, b = _net(), _net()
    a.fit(X, Y, epochs=2, batch_size=32, learning_rate=0.1, seed=5)
    rng = np.random.default_rng(5)
    for _ in range(2):
        order = rng.permutation(100)
        for s in range(0, 100, 32):
            idx = order[s : s + 32]
            b.step(X[idx], Y[idx], 0.1)
    assert len(gemm_calls) > 0
    for p, q in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_allclose(p, q, rtol=1e-11, atol=1e-13)


def test_the_library_is_numpys_own_and_can_be_turned_off():
    code = "import bplit._blas as b, sys; print(b.gemm_acc is None); print(b.describe())"
    off = subprocess.run(
        [sys.executable, "-c", code],
        env={"BPLIT_FUSED_GEMM": "0", "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert off.returncode == 0, off.stderr
    assert off.stdout.splitlines() == ["True", "off (BPLIT_FUSED_GEMM=0)"]
    if _blas.gemm_acc is not None:
        assert _blas.describe().startswith("on: ") and "openblas" in _blas.describe()
        maps = ""
        if sys.platform.startswith("linux"):
            with open("/proc/self/maps") as f:
                maps = f.read()
        assert not maps or _blas.describe()[4:] in maps  # the copy NumPy loaded, not a second one


@pytest.mark.parametrize(
    "hidden, output, loss",
    [
        ("sigmoid", "softmax", "cross_entropy"),
        ("relu", "softmax", "cross_entropy"),
        ("tanh", "sigmoid", "binary_cross_entropy"),
    ],
)
@pytest.mark.parametrize("seed", range(5))
def test_a_priori_delta_bounds_hold(hidden, output, loss, seed):
    """The bounds that let the step skip a pass over each delta are upper bounds of the true norms."""
    rng = np.random.default_rng(seed)
    sizes = [int(n) for n in rng.integers(2, 40, size=4)]
    net = bplit.Network(sizes, hidden=hidden, output=output, loss=loss, seed=seed)
    net.weights = [w * rng.uniform(0.1, 10) for w in net.weights]
    m = int(rng.integers(1, 50))
    X = rng.standard_normal((m, sizes[0])) * 10
    Y = rng.uniform(size=(m, sizes[-1]))
    if loss == "cross_entropy":
        Y /= Y.sum(axis=1, keepdims=True)
    eta = 0.37
    g = net.gradients(X, Y)  # deltas of the batch cost (mean): the step scales them by -eta
    norms = [np.linalg.norm(w) for w in net.weights]
    bounds = net._delta_norm_bounds(m, eta / m, norms)
    for d, bound in zip(g.deltas, bounds):
        assert np.linalg.norm(eta * d) <= bound
