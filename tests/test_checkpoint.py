"""Checkpoints (issue 20 item 3): bplit.save(net, path, optimizer=opt) and bplit.load_checkpoint.

Pausing and resuming must change nothing: the optimizer read back has the same class,
hyper-parameters, epoch and state (array for array, bit for bit), and its next step is
the step the original would have made.
"""

import json

import numpy as np
import pytest

import bplit
from bplit.optim import OPTIMIZERS, SGD, Adam

OPTIMIZER_CASES = {
    "sgd-momentum-decay": lambda: SGD(0.05, momentum=0.9, weight_decay=1e-3),
    "sgd-nesterov": lambda: SGD(0.1 + 0.2, momentum=0.5, nesterov=True),  # 0.30000000000000004 kept
    "sgd-plain": lambda: SGD(0.1),  # keeps no state
    "adam-decay": lambda: Adam(0.01, beta1=0.8, beta2=0.99, eps=1e-7, weight_decay=1e-3),
    "adam": lambda: Adam(),
}


def _data(n_in, n_out, seed=0, m=24):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n_in)), rng.standard_normal((m, n_out))


def _nets():
    return {
        "network-f64": lambda: bplit.Network([3, 6, 2], hidden="tanh", output="identity", loss="mse", seed=4),
        "network-f32": lambda: bplit.Network(
            [3, 6, 2], hidden="relu", output="identity", loss="mse", seed=4, dtype=np.float32, init="he"
        ),
        "network-longdouble": lambda: bplit.Network(
            [3, 6, 2], output="identity", seed=4, dtype=np.longdouble
        ),
        "graph": lambda: bplit.GraphNetwork(
            [[1, 2, 3], [4, 5], [6, 7]],
            {4: [1, 2], 5: [2, 3], 6: [4, 5, 1], 7: [5, 3]},
            {4: "tanh", 5: "sigmoid", 6: "identity", 7: "identity"},
            loss="mse",
            reduction="mean",
            seed=4,
        ),
    }


def _params(net):
    return [p for group in net.parameters() for p in group]


def _assert_same_state(a, b):
    assert (a is None) == (b is None)
    if a is None:
        return
    assert a.keys() == b.keys() and a["step"] == b["step"] and type(b["step"]) is int
    for key in a.keys() - {"step"}:
        assert len(a[key]) == len(b[key])
        for x, y in zip(a[key], b[key]):
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)


@pytest.mark.parametrize("make_net", _nets().values(), ids=_nets().keys())
@pytest.mark.parametrize("make_opt", OPTIMIZER_CASES.values(), ids=OPTIMIZER_CASES.keys())
def test_a_checkpoint_gives_back_the_optimizer_and_its_next_step(tmp_path, make_net, make_opt):
    net, opt = make_net(), make_opt()
    n_in, n_out = (3, 2)
    X, Y = _data(n_in, n_out)
    net.fit(X, Y, epochs=3, batch_size=8, optimizer=opt, seed=1)
    bplit.save(net, tmp_path / "ck", optimizer=opt)
    net2, opt2 = bplit.load_checkpoint(tmp_path / "ck")

    assert type(opt2) is type(opt) and opt2.config() == opt.config() and opt2.epoch == opt.epoch == 3
    _assert_same_state(opt.state_dict(net), opt2.state_dict(net2))
    if opt.config().get("momentum", 1) != 0:
        assert opt2.state_dict(net2)["step"] == 9  # 3 epochs of 3 batches
    for p, q in zip(_params(net), _params(net2)):
        assert p.dtype == q.dtype and np.array_equal(p, q)

    Xc, Yc = net.check_xy(X, Y)
    cost = opt.apply(net, Xc, Yc)
    assert opt2.apply(net2, *net2.check_xy(X, Y)) == cost
    for p, q in zip(_params(net), _params(net2)):
        assert np.array_equal(p, q)  # bit-identical after one more step
    _assert_same_state(opt.state_dict(net), opt2.state_dict(net2))


@pytest.mark.parametrize("make_opt", OPTIMIZER_CASES.values(), ids=OPTIMIZER_CASES.keys())
def test_pausing_and_resuming_is_the_same_run(tmp_path, make_opt):
    """Ten steps in one go equal five steps, a checkpoint, and five steps of what it loads."""
    X, Y = _data(3, 2, seed=2)
    batches = [(X[i : i + 6], Y[i : i + 6]) for i in range(0, 24, 6)] * 3
    straight, opt = _nets()["network-f64"](), make_opt()
    for xb, yb in batches[:10]:
        opt.step(straight, xb, yb)

    paused, opt_a = _nets()["network-f64"](), make_opt()
    for xb, yb in batches[:5]:
        opt_a.step(paused, xb, yb)
    bplit.save(paused, tmp_path / "run.npz", optimizer=opt_a)
    del paused, opt_a
    resumed, opt_b = bplit.load_checkpoint(tmp_path / "run.npz")
    for xb, yb in batches[5:10]:
        opt_b.step(resumed, xb, yb)
    for p, q in zip(_params(straight), _params(resumed)):
        assert np.array_equal(p, q)
    _assert_same_state(opt.state_dict(straight), opt_b.state_dict(resumed))


def test_an_optimizer_that_has_not_stepped_yet_is_saved_without_state(tmp_path):
    net, opt = bplit.Network([2, 3, 1], seed=0), Adam(0.02)
    opt.epoch = 7
    bplit.save(net, tmp_path / "fresh", optimizer=opt)
    with np.load(tmp_path / "fresh.npz") as d:
        config = json.loads(str(d["config"]))
        assert not [k for k in d.files if k.startswith("optimizer_")]
    assert config["format_version"] == bplit.io.CHECKPOINT_VERSION
    assert config["optimizer"] == {"class": "Adam", "hyperparameters": opt.config(), "epoch": 7, "step": None}
    net2, opt2 = bplit.load_checkpoint(tmp_path / "fresh")
    assert opt2.state_dict(net2) is None and opt2.epoch == 7
    X, Y = _data(2, 1)
    assert opt.step(net, X, Y) == opt2.step(net2, X, Y)
    assert all(np.array_equal(p, q) for p, q in zip(_params(net), _params(net2)))


def test_only_the_state_of_the_saved_network_is_written(tmp_path):
    a, b = bplit.Network([2, 3, 1], seed=0), bplit.Network([2, 5, 4, 1], seed=1)
    opt = SGD(0.1, momentum=0.9)
    opt.step(a, *_data(2, 1))
    opt.step(b, *_data(2, 1))
    bplit.save(a, tmp_path / "a", optimizer=opt)
    with np.load(tmp_path / "a.npz") as d:
        state_names = sorted(k for k in d.files if k.startswith("optimizer_"))
    assert state_names == [f"optimizer_velocity_{i}" for i in range(4)]  # a's 2 weights, 2 biases


def test_load_reads_the_network_of_a_checkpoint_and_load_checkpoint_needs_one(tmp_path):
    net, opt = bplit.Network([2, 3, 1], seed=0), SGD(0.1, momentum=0.5)
    opt.step(net, *_data(2, 1))
    bplit.save(net, tmp_path / "ck", optimizer=opt)
    back = bplit.load(tmp_path / "ck")
    assert type(back) is bplit.Network and back.config() == net.config()
    assert all(np.array_equal(p, q) for p, q in zip(_params(net), _params(back)))
    bplit.save(net, tmp_path / "plain")
    with pytest.raises(ValueError, match="holds a network without an optimizer .* read it with bplit.load"):
        bplit.load_checkpoint(tmp_path / "plain")


class MySGD(SGD):
    pass


class Halving(bplit.Optimizer):
    def update(self, params, grads, state, eta):
        return [p - eta * g / 2 for p, g in zip(params, grads)], None


@pytest.mark.parametrize(
    "opt,match",
    [
        (SGD(lambda epoch: 0.1 / epoch), "SGD's learning rate is a schedule \\(a callable\\)"),
        (Adam(lambda epoch: 0.01), "Adam's learning rate is a schedule"),
        (MySGD(0.1), "must be a bplit.optim.Adam or SGD to be saved, got MySGD"),
        (Halving(0.1), "got Halving: a checkpoint names the optimizer's class"),
        ("adam", "got str"),
    ],
    ids=["sgd-schedule", "adam-schedule", "subclass", "custom", "a-name"],
)
def test_what_a_checkpoint_cannot_hold_is_refused_at_save_time(tmp_path, opt, match):
    net = bplit.Network([2, 3, 1], seed=0)
    with pytest.raises(TypeError, match=match):
        bplit.save(net, tmp_path / "x", optimizer=opt)
    assert not list(tmp_path.iterdir())


def test_the_optimizers_are_rebuilt_from_their_config():
    for make in OPTIMIZER_CASES.values():
        opt = make()
        again = OPTIMIZERS[type(opt).__name__](**opt.config())
        assert type(again) is type(opt) and again.config() == opt.config() and repr(again) == repr(opt)
        assert json.loads(json.dumps(opt.config())) == opt.config()


def test_an_interrupted_save_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    net, opt = bplit.Network([2, 3, 1], seed=0), Adam(0.01)
    opt.step(net, *_data(2, 1))
    bplit.save(net, tmp_path / "ck", optimizer=opt)
    before = (tmp_path / "ck.npz").read_bytes()
    opt.step(net, *_data(2, 1))

    def savez_then_fail(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="disk full"):
        bplit.save(net, tmp_path / "ck", optimizer=opt)
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]  # no temporary file left
    assert (tmp_path / "ck.npz").read_bytes() == before
    monkeypatch.undo()
    net2, opt2 = bplit.load_checkpoint(tmp_path / "ck")
    assert opt2.state_dict(net2)["step"] == 1  # the first save's
