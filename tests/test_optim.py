"""bplit.optim against hand-written NumPy references of each update rule.

The references below share no code with bplit: their own forward and backward pass
for a tiny tanh network (half_sse, mean over the batch) and their own update loops,
written from the formulas (Adam in Kingma & Ba's bias-corrected form).
"""

import gc
import math
import weakref

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import bplit
from bplit.optim import SGD, Adam, Optimizer

SIZES = [3, 4, 2]
STEPS = 6


def make_net(dtype=np.float64, seed=0):
    return bplit.Network(SIZES, hidden="tanh", output="identity", loss="half_sse", seed=seed, dtype=dtype)


def batches(n_batches=STEPS, m=5, seed=1):
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((m, SIZES[0])), rng.standard_normal((m, SIZES[-1]))) for _ in range(n_batches)
    ]


def ref_cost_grads(params, X, Y):
    """C = (1/m) sum_s 1/2 |a_s - y_s|^2 and its gradients, params = [W1, W2, b1, b2]."""
    W1, W2, b1, b2 = params
    m = X.shape[0]
    a1 = np.tanh(X @ W1.T + b1)
    out = a1 @ W2.T + b2
    d2 = (out - Y) / m
    d1 = (d2 @ W2) * (1 - a1**2)
    cost = 0.5 * np.sum((out - Y) ** 2) / m
    return cost, [d1.T @ X, d2.T @ a1, d1.sum(0), d2.sum(0)]


def params_of(net):
    return [p.copy() for p in [*net.weights, *net.biases]]


def ref_sgd(params, data, eta, mu=0.0, nesterov=False, lam=0.0):
    """v <- mu v - eta g; theta <- theta + v (or + mu v - eta g); g += lam w on weights."""
    params = [p.copy() for p in params]
    vel = [np.zeros_like(p) for p in params]
    costs, traj = [], []
    for X, Y in data:
        cost, grads = ref_cost_grads(params, X, Y)
        costs.append(cost + lam / 2 * sum(np.sum(w**2) for w in params[:2]))
        grads = [g + lam * p if k < 2 else g for k, (g, p) in enumerate(zip(grads, params))]
        for k in range(4):
            vel[k] = mu * vel[k] - eta * grads[k]
            params[k] = params[k] + (mu * vel[k] - eta * grads[k] if nesterov else vel[k])
        traj.append([p.copy() for p in params])
    return costs, traj, vel


def ref_adam(params, data, eta, b1=0.9, b2=0.999, eps=1e-8, lam=0.0, eps_hat=True):
    """Kingma & Ba with bias-corrected moments; eps_hat=True uses eps / sqrt(1 - b2^t) there."""
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    traj = []
    for t, (X, Y) in enumerate(data, start=1):
        _, grads = ref_cost_grads(params, X, Y)
        grads = [g + lam * p if k < 2 else g for k, (g, p) in enumerate(zip(grads, params))]
        for k in range(4):
            m[k] = b1 * m[k] + (1 - b1) * grads[k]
            v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
            m_hat = m[k] / (1 - b1**t)
            v_hat = v[k] / (1 - b2**t)
            e = eps / math.sqrt(1 - b2**t) if eps_hat else eps
            params[k] = params[k] - eta * m_hat / (np.sqrt(v_hat) + e)
        traj.append([p.copy() for p in params])
    return traj


def run(opt, net, data):
    costs, traj = [], []
    for X, Y in data:
        costs.append(opt.step(net, X, Y))
        traj.append(params_of(net))
    return costs, traj


def assert_traj(traj, ref, rtol=1e-12, atol=1e-14):
    assert len(traj) == len(ref)
    for got, want in zip(traj, ref):
        for g, w in zip(got, want):
            assert_allclose(g, w, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------- the reference itself
def test_reference_gradients_are_the_networks():
    net = make_net()
    X, Y = batches(1)[0]
    cost, grads = ref_cost_grads(params_of(net), X, Y)
    g = net.gradients(X, Y)
    assert cost == pytest.approx(net.loss(X, Y), rel=1e-14)
    for a, b in zip(grads, [*g.weights, *g.biases]):
        assert_allclose(a, b, rtol=1e-13)


# ---------------------------------------------------------------------- each rule
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"momentum": 0.9}, {"momentum": 0.7, "nesterov": True}, {"momentum": 0.5, "weight_decay": 0.3}],
    ids=["plain", "momentum", "nesterov", "momentum+decay"],
)
def test_sgd_follows_the_reference(kwargs):
    net, data = make_net(), batches()
    eta = 0.2
    costs, traj = run(SGD(eta, **kwargs), net, data)
    ref = ref_sgd(
        params_of(make_net()),
        data,
        eta,
        kwargs.get("momentum", 0.0),
        kwargs.get("nesterov", False),
        kwargs.get("weight_decay", 0.0),
    )
    assert_allclose(costs, ref[0], rtol=1e-13)
    assert_traj(traj, ref[1])


def test_plain_sgd_is_networks_own_step():
    net, other, data = make_net(), make_net(), batches()
    opt = SGD(0.3)
    for X, Y in data:
        assert opt.step(net, X, Y) == pytest.approx(other.step(X, Y, 0.3), rel=1e-14)
    for a, b in zip(params_of(net), params_of(other)):
        assert_allclose(a, b, rtol=1e-14, atol=1e-15)
    assert opt.state_dict(net) is None  # mu = 0 keeps no state


@pytest.mark.parametrize("decay", [0.0, 0.05])
def test_adam_follows_kingma_ba_with_eps_hat(decay):
    net, data = make_net(), batches()
    _, traj = run(Adam(0.05, beta1=0.8, beta2=0.95, eps=1e-3, weight_decay=decay), net, data)
    ref = ref_adam(params_of(make_net()), data, 0.05, 0.8, 0.95, 1e-3, decay)
    assert_traj(traj, ref)


def test_adam_eps_placement_is_scikit_learns_not_algorithm_1():
    """With eps comparable to sqrt(v) the two placements differ visibly: bplit is eps_hat."""
    data = batches()
    _, traj = run(Adam(0.05, eps=1e-2), make_net(), data)
    alg1 = ref_adam(params_of(make_net()), data, 0.05, eps=1e-2, eps_hat=False)
    diff = max(np.max(np.abs(a - b)) for a, b in zip(traj[-1], alg1[-1]))
    assert diff > 1e-4


def test_adam_state_is_the_moments():
    net, data = make_net(), batches(3)
    opt = Adam(0.01, beta1=0.5, beta2=0.6)
    grads = []
    for X, Y in data:
        g = net.gradients(X, Y)
        grads.append([*g.weights, *g.biases])
        opt.step(net, X, Y)
    state = opt.state_dict(net)
    assert state["step"] == 3
    for k in range(4):
        g = [gs[k] for gs in grads]
        assert_allclose(state["m"][k], 0.5 * (0.5 * 0.5 * g[0] + 0.5 * g[1]) + 0.5 * g[2], rtol=1e-13)
        assert_allclose(
            state["v"][k], 0.4 * (0.6 * 0.6 * g[0] ** 2 + 0.6 * g[1] ** 2 + g[2] ** 2), rtol=1e-13
        )


# ---------------------------------------------------------------------- momentum, weight decay
def test_velocity_is_a_discounted_sum_of_past_gradients():
    net, data = make_net(), batches()
    eta, mu = 0.1, 0.8
    opt = SGD(eta, momentum=mu)
    start, grads = params_of(net), []
    for X, Y in data:
        g = net.gradients(X, Y)
        grads.append([*g.weights, *g.biases])
        opt.step(net, X, Y)
    t = len(data)
    velocity = opt.state_dict(net)["velocity"]
    for k in range(4):
        v_t = -eta * sum(mu ** (t - j) * grads[j - 1][k] for j in range(1, t + 1))
        assert_allclose(velocity[k], v_t, rtol=1e-12, atol=1e-15)
        # theta_t - theta_0 = sum of the velocities = -eta sum_j (1 - mu^(t-j+1)) / (1 - mu) g_j
        moved = -eta * sum((1 - mu ** (t - j + 1)) / (1 - mu) * grads[j - 1][k] for j in range(1, t + 1))
        assert_allclose(params_of(net)[k] - start[k], moved, rtol=1e-11, atol=1e-14)


def test_weight_decay_adds_half_lambda_sum_w2_to_the_cost_and_shrinks_weights():
    lam, eta = 0.4, 0.25
    net = make_net()
    X, Y = batches(1)[0]
    w0, b0, g = params_of(net)[:2], params_of(net)[2:], net.gradients(X, Y)
    C = net.loss(X, Y)
    cost = SGD(eta, weight_decay=lam).step(net, X, Y)
    assert cost == pytest.approx(C + lam / 2 * sum(np.sum(w**2) for w in w0), rel=1e-14)
    assert cost > C + 0.01
    for w_new, w, gw in zip(net.weights, w0, g.weights):
        assert_allclose(w_new, (1 - eta * lam) * w - eta * gw, rtol=1e-13, atol=1e-15)
    for b_new, b, gb in zip(net.biases, b0, g.biases):  # biases are not decayed
        assert_allclose(b_new, b - eta * gb, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------- state
@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.02)], ids=["sgd", "adam"])
def test_state_is_per_network(make):
    data = batches()
    shared, alone = make(), make()
    a, b, b_alone = make_net(seed=0), make_net(seed=3), make_net(seed=3)
    for X, Y in data:
        shared.step(a, X, Y)
        shared.step(b, X, Y)
        alone.step(b_alone, X, Y)
    for p, q in zip(params_of(b), params_of(b_alone)):
        assert_array_equal(p, q)
    refs = [weakref.ref(net) for net in (a, b, b_alone)]
    del a, b, b_alone
    gc.collect()
    assert all(ref() is None for ref in refs)  # the state is weakly keyed: it keeps no network alive


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.02)], ids=["sgd", "adam"])
def test_get_and_set_state_round_trip(make):
    data = batches()
    opt, net, twin, twin_net = make(), make_net(), make(), make_net()
    assert opt.state_dict(net) is None
    for X, Y in data[:3]:
        opt.step(net, X, Y)
        twin.step(twin_net, X, Y)
    key = opt.state_keys[0]
    saved, saved_params = opt.state_dict(net), params_of(net)
    opt.state_dict(net)[key][0] += 1.0  # a copy: changing it does not touch the optimizer
    for X, Y in data[3:]:
        opt.step(net, X, Y)
        twin.step(twin_net, X, Y)
    after = params_of(twin_net)
    for p, q in zip(params_of(net), after):
        assert_array_equal(p, q)
    for p, q in zip(net.parameters()[0] + net.parameters()[1], saved_params):
        np.copyto(p, q)
    opt.load_state_dict(net, saved)
    saved[key][0] += 1.0  # load_state_dict kept a copy too
    for X, Y in data[3:]:
        opt.step(net, X, Y)
    for p, q in zip(params_of(net), after):
        assert_array_equal(p, q)
    opt.reset(net)
    assert opt.state_dict(net) is None


class BrokenNetwork:
    """Follows the network contract, but its gradients are not finite."""

    dtype = np.dtype(np.float64)

    def __init__(self):
        self.w, self.b = np.ones((2, 3)), np.zeros(2)

    def check_xy(self, X, Y):
        return np.asarray(X, float), np.asarray(Y, float)

    def parameters(self):
        return [self.w], [self.b]

    def cost_and_gradients(self, X, Y):
        return 1.0, [np.full((2, 3), np.inf)], [np.zeros(2)]


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.02)], ids=["sgd", "adam"])
def test_non_finite_gradients_of_any_network_change_nothing(make):
    opt, net = make(), BrokenNetwork()
    with pytest.raises(FloatingPointError, match="were not changed"):
        opt.step(net, np.ones((1, 3)), np.ones((1, 2)))
    assert_array_equal(net.w, 1.0)
    assert opt.state_dict(net) is None


def test_set_state_refuses_a_foreign_state():
    net = make_net()
    with pytest.raises(ValueError, match="not a state"):
        Adam().load_state_dict(net, {"step": 1, "velocity": []})
    with pytest.raises(ValueError, match="'velocity' does not match"):
        SGD(0.1, momentum=0.5).load_state_dict(net, {"step": 1, "velocity": [np.zeros(3)] * 4})


# ---------------------------------------------------------------------- atomicity
@pytest.mark.parametrize(
    "make", [lambda: SGD(0.1, momentum=0.9, weight_decay=0.1), lambda: Adam(0.02)], ids=["sgd", "adam"]
)
def test_a_step_that_overflows_changes_nothing(make):
    opt = make()
    net = bplit.Network(SIZES, hidden="identity", output="identity", seed=0)
    X, Y = batches(1)[0]
    opt.step(net, X, Y)
    state, params = opt.state_dict(net), params_of(net)
    with pytest.raises(FloatingPointError, match="were not changed"):
        opt.step(net, X * 1e200, Y)
    for p, q in zip(params_of(net), params):
        assert_array_equal(p, q)
    after = opt.state_dict(net)
    assert after["step"] == state["step"] == 1
    for key in opt.state_keys:
        for p, q in zip(after[key], state[key]):
            assert_array_equal(p, q)


def test_an_update_that_overflows_changes_nothing():
    """The gradients are finite, only theta - eta g overflows: still nothing is stored."""
    opt = SGD(1e306, momentum=0.5)
    net = bplit.Network(SIZES, hidden="identity", output="identity", seed=0)
    X, Y = batches(1)[0]
    params = params_of(net)
    with pytest.raises(FloatingPointError, match="SGD.step"):
        opt.step(net, X, Y + 100)
    for p, q in zip(params_of(net), params):
        assert_array_equal(p, q)
    assert opt.state_dict(net) is None


# ---------------------------------------------------------------------- schedules and fit
def test_schedule_is_evaluated_at_the_epoch_and_velocity_carries_the_rate():
    data = batches(4)
    seen = []

    def schedule(epoch):
        seen.append(epoch)
        return 0.4 / epoch

    opt, net = SGD(schedule, momentum=0.5), make_net()
    params = params_of(net)
    vel = [np.zeros_like(p) for p in params]
    for step, (X, Y) in enumerate(data):
        opt.epoch = 1 + step // 2
        _, grads = ref_cost_grads(params, X, Y)
        eta = 0.4 / opt.epoch
        vel = [0.5 * v - eta * g for v, g in zip(vel, grads)]
        params = [p + v for p, v in zip(params, vel)]
        opt.step(net, X, Y)
    assert seen == [1, 1, 2, 2]
    assert opt.learning_rate_at(5) == pytest.approx(0.08)
    for p, q in zip(params_of(net), params):
        assert_allclose(p, q, rtol=1e-12, atol=1e-15)


def test_fit_with_an_optimizer_is_the_loop_of_steps():
    X = np.concatenate([b[0] for b in batches(2)])
    Y = np.concatenate([b[1] for b in batches(2)])
    make = lambda: Adam(lambda epoch: 0.05 / epoch, weight_decay=0.01)  # noqa: E731
    net, opt = make_net(), make()
    history = net.fit(X, Y, epochs=3, batch_size=len(X), optimizer=opt, seed=0, train_loss="full")
    loop, opt2 = make_net(), make()
    for epoch in (1, 2, 3):
        opt2.epoch = epoch
        opt2.step(loop, X, Y)
    assert opt.epoch == 3 and opt.state_dict(net)["step"] == 3
    for p, q in zip(params_of(net), params_of(loop)):
        assert_allclose(p, q, rtol=1e-12, atol=1e-15)
    assert history[-1] == pytest.approx(loop.loss(X, Y), rel=1e-12)


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SGD(0.0), "learning_rate .* got 0.0"),
        (lambda: SGD(-1), "learning_rate .* got -1"),
        (lambda: SGD("0.1"), "learning_rate .* got '0.1'"),
        (lambda: SGD(0.1, momentum=-0.1), r"momentum must be a number in \[0.0, 1.0\), got -0.1"),
        (lambda: SGD(0.1, momentum=1.0), "momentum .* got 1.0"),
        (lambda: SGD(0.1, momentum=float("nan")), "momentum .* got nan"),
        (lambda: SGD(0.1, nesterov="yes"), "nesterov must be True or False, got 'yes'"),
        (lambda: SGD(0.1, weight_decay=-0.5), "weight_decay .* got -0.5"),
        (lambda: Adam(beta1=1.0), "beta1 .* got 1.0"),
        (lambda: Adam(beta2=-0.1), "beta2 .* got -0.1"),
        (lambda: Adam(eps=0), "eps .* got 0"),
        (lambda: Adam(learning_rate=float("inf")), "learning_rate .* got inf"),
    ],
)
def test_bad_hyper_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_a_non_network_is_a_type_error():
    X, Y = batches(1)[0]
    with pytest.raises(TypeError, match="net must be a bplit.Network or bplit.GraphNetwork.*got ndarray"):
        SGD(0.1).step(X, Y, make_net())
    with pytest.raises(TypeError, match="got str"):
        Adam().load_state_dict("net", None)


@pytest.mark.parametrize("bad", [0.0, -0.1, float("nan"), None, "fast"])
def test_a_bad_schedule_value_names_the_epoch(bad):
    opt = SGD(lambda epoch: 0.1 if epoch < 4 else bad)
    net, (X, Y) = make_net(), batches(1)[0]
    opt.step(net, X, Y)
    opt.epoch = 4
    params = params_of(net)
    with pytest.raises(ValueError, match=f"schedule returned {bad!r} at epoch 4"):
        opt.step(net, X, Y)
    for p, q in zip(params_of(net), params):
        assert_array_equal(p, q)


def test_epoch_must_be_a_positive_integer():
    opt = Adam()
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="epoch must be a positive integer"):
            opt.epoch = bad


def test_bad_data_is_refused_before_anything_changes():
    opt, net = Adam(), make_net()
    with pytest.raises(ValueError, match="shape"):
        opt.step(net, np.ones((5, 2)), np.ones((5, 2)))
    assert opt.state_dict(net) is None


def test_optimizers_share_the_base_class():
    assert issubclass(SGD, Optimizer) and issubclass(Adam, Optimizer)
    assert "momentum=0.9" in repr(SGD(0.1, momentum=0.9)) and "beta2=0.999" in repr(Adam())


# ---------------------------------------------------------------------- float32, GraphNetwork
@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9, nesterov=True), lambda: Adam(0.02)])
def test_float32_keeps_float32_and_follows_float64(make):
    data = batches()
    net32, net64 = make_net(np.float32), make_net(np.float32).astype(np.float64)
    opt = make()
    for X, Y in data:
        opt.step(net32, X, Y)
        opt.step(net64, X.astype(np.float32).astype(np.float64), Y.astype(np.float32).astype(np.float64))
    state = opt.state_dict(net32)
    assert all(a.dtype == np.float32 for key in opt.state_keys for a in state[key])
    for p, q in zip(params_of(net32), params_of(net64)):
        assert p.dtype == np.float32
        assert_allclose(p, q, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize(
    "make", [lambda: SGD(0.2, momentum=0.8, weight_decay=0.1), lambda: Adam(0.05, weight_decay=0.1)]
)
def test_graph_network_follows_the_same_network(make):
    net = bplit.Network([3, 4, 2], hidden="tanh", output="identity", seed=2)
    graph = bplit.GraphNetwork.from_network(net)
    opt = make()
    for X, Y in batches():
        c_graph = opt.step(graph, X, Y)
        assert opt.step(net, X, Y) == pytest.approx(c_graph, rel=1e-13)
    back = graph.to_network()
    for p, q in zip(params_of(back), params_of(net)):
        assert_allclose(p, q, rtol=1e-12, atol=1e-15)
    assert opt.state_dict(graph)["step"] == STEPS


def test_the_api_pages_custom_optimizer_trains_a_network():
    # book/api.md shows sign-SGD, a subclass of bplit.Optimizer that defines only
    # update, trained by fit; run the page's code and check what it prints and does
    import contextlib
    import io
    import re
    from pathlib import Path

    api = (Path(__file__).resolve().parents[1] / "book" / "api.md").read_text()
    section = api.split("## The contract: models and optimizers")[1].split("\n## ")[0]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    shown = code.rstrip().splitlines()[-1].removeprefix("# ")
    scope: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "api.md", "exec"), scope)
    assert out.getvalue().strip() == shown
    assert scope["history"][-1] < 0.01 * scope["history"][0]
    # one step is exactly theta - eta sign(g), and the optimizer keeps no state
    opt, net = scope["SignSGD"](0.05), make_net()
    X, Y = batches()[0]
    g = net.gradients(X, Y)
    before = params_of(net)
    opt.step(net, X, Y)
    expected = [p - 0.05 * np.sign(q) for p, q in zip(before, [*g.weights, *g.biases])]
    for p, q in zip(params_of(net), expected):
        assert_array_equal(p, q)
    assert opt.state_dict(net) is None


def test_fit_refuses_an_optimizer_that_is_not_an_optimizer():
    class Duck:
        def step(self, net, X, Y):
            return 0.0

    X, Y = batches()[0]
    with pytest.raises(TypeError, match="bplit.optim.Optimizer"):
        make_net().fit(X, Y, epochs=1, batch_size=2, optimizer=Duck())


def test_an_optimizer_without_update_says_so():
    X, Y = batches()[0]
    with pytest.raises(NotImplementedError, match="update"):
        Optimizer(0.1).step(make_net(), X, Y)
