"""Save/load round trip and hostile files."""

import io
import json
import pickle
import re
import zipfile

import numpy as np
import pytest

import bplit


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_exact(tmp_path, dtype):
    net = bplit.Network(
        [4, 5, 3],
        hidden=bplit.relu_activation(1.0),
        output="softmax",
        loss="cross_entropy",
        dtype=dtype,
        seed=3,
    )
    net.step(np.ones((2, 4)), np.eye(3)[[0, 2]], 0.1)
    path = tmp_path / "net.npz"
    net.save(path)
    back = bplit.load(path)
    assert back.config() == net.config()
    for a, b in zip(net.weights + net.biases, back.weights + back.biases):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    X = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(net.predict(X), back.predict(X))
    assert back.hidden_activation.derivative(np.zeros((1, 1)))[0, 0] == 1.0


def _write(path, config=None, **arrays):
    np.savez(path, **({"config": np.array(json.dumps(config))} if config is not None else {}), **arrays)


def _good(tmp_path, net=None):
    """The configuration and arrays of a genuine file (of a small Network unless ``net`` is given)."""
    path = tmp_path / "good.npz"
    bplit.save(bplit.Network([2, 3], seed=0) if net is None else net, path)
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files}
    return json.loads(str(arrays.pop("config"))), arrays


def _assert_rejected(tmp_path, good, mutate, match):
    cfg, arrays = good
    mutate(cfg, arrays)
    path = tmp_path / "bad.npz"
    _write(path, cfg, **arrays)
    with pytest.raises(ValueError, match=match):
        bplit.load(path)


def test_pickle_file_is_refused_without_running_it(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle executed')",))

    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ValueError, match="not a readable bplit network file"):
        bplit.load(path)
    # an object array inside a genuine archive is refused as well
    cfg, arrays = _good(tmp_path)
    arrays["weights_0"] = np.array([Boom()], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, config=np.array(json.dumps(cfg)), **arrays)
    evil2 = tmp_path / "evil2.npz"
    evil2.write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="not a readable bplit network file"):
        bplit.load(evil2)


def test_truncated_and_corrupted_files(tmp_path):
    net = bplit.Network([2, 3, 1], seed=0)
    path = tmp_path / "n.npz"
    net.save(path)
    raw = path.read_bytes()
    (tmp_path / "t.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a readable"):
        bplit.load(tmp_path / "t.npz")
    (tmp_path / "junk.npz").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match="not a readable"):
        bplit.load(tmp_path / "junk.npz")
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    with pytest.raises(ValueError, match="config"):
        bplit.load(tmp_path / "empty.npz")


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda c, a: a.__setitem__("weights_0", np.ones((2, 3))), r"weights_0 must have shape \(3, 2\)"),
        (lambda c, a: a.__setitem__("weights_0", np.ones((3, 2), dtype=np.float32)), "dtype float64"),
        (lambda c, a: a.__setitem__("extra", np.ones(2)), r"unexpected \['extra'\]"),
        (lambda c, a: a.pop("biases_0"), r"missing \['biases_0'\]"),
        (lambda c, a: a.__setitem__("biases_0", np.array([np.nan, 0, 0])), "NaN or infinite"),
        (lambda c, a: c.__setitem__("hidden", "swish"), "unknown activation 'swish'"),
        (lambda c, a: c.__setitem__("format_version", 99), "format_version"),
        (lambda c, a: c.__setitem__("sizes", "2,3"), "list of at least two positive integers"),
        (lambda c, a: c.__setitem__("evil", 1), "exactly the keys"),
    ],
)
def test_hostile_contents_are_rejected(tmp_path, mutate, match):
    _assert_rejected(tmp_path, _good(tmp_path), mutate, match)


# ---------------------------------------------------------------------------- both kinds, paths


def _assert_same_network(a, b):
    assert type(a) is type(b) and a.config() == b.config()
    for p, q in zip(a.weights + a.biases, b.weights + b.biases):
        assert p.dtype == q.dtype and np.array_equal(p, q)


def test_network_gradients_equal_after_reload(tmp_path):
    net = bplit.Network([3, 4, 2], hidden="tanh", output="sigmoid", loss="binary_cross_entropy", seed=5)
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((6, 3)), rng.uniform(0, 1, (6, 2))
    bplit.save(net, tmp_path / "n")
    back = bplit.load(tmp_path / "n")
    _assert_same_network(net, back)
    g, h = net.gradients(X, Y), back.gradients(X, Y)
    np.testing.assert_array_equal(g.flat(), h.flat())


@pytest.mark.parametrize(
    "given,written",
    [
        ("model", "model.npz"),  # NumPy appends the suffix; load finds it from the same name
        ("model.npz", "model.npz"),
        ("model.bin", "model.bin.npz"),
    ],
)
@pytest.mark.parametrize("as_path", [False, True])
def test_load_takes_the_path_given_to_save(tmp_path, monkeypatch, given, written, as_path):
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    net = bplit.Network([2, 3], seed=1)
    bplit.save(net, Path(given) if as_path else given)
    assert sorted(p.name for p in tmp_path.iterdir()) == [written]
    _assert_same_network(net, bplit.load(Path(given) if as_path else given))
    _assert_same_network(net, bplit.load(written))


def test_load_reads_a_file_named_exactly_when_only_it_exists(tmp_path):
    net = bplit.Network([2, 3], seed=1)
    net.save(tmp_path / "a.npz")
    (tmp_path / "a.npz").rename(tmp_path / "renamed")
    _assert_same_network(net, bplit.load(tmp_path / "renamed"))


def test_missing_file_names_both_candidates(tmp_path):
    with pytest.raises(
        ValueError, match=r"no file '.*nothing\.npz' \(what save wrote for it\) nor '.*nothing'"
    ):
        bplit.load(tmp_path / "nothing")


@pytest.mark.parametrize("bad", [None, 3, b"model", ["model"], io.BytesIO()])
def test_bad_paths_are_type_errors(tmp_path, bad):
    with pytest.raises(TypeError, match="path must be a file name: a str or an os.PathLike"):
        bplit.save(bplit.Network([2, 3]), bad)
    with pytest.raises(TypeError, match="path must be a file name"):
        bplit.save(bplit.GraphNetwork([[1], [2]], {2: [1]}), bad)
    with pytest.raises(TypeError, match="path must be a file name"):
        bplit.load(bad)


@pytest.mark.parametrize("bad", [None, {"sizes": [2, 3]}, "net", bplit.Network([2, 3]).weights])
def test_save_refuses_what_is_not_a_network(tmp_path, bad):
    with pytest.raises(TypeError, match="save expects a bplit.Network or a bplit.GraphNetwork, got"):
        bplit.save(bad, tmp_path / "x")
    assert not list(tmp_path.iterdir())


def _graph(ids, **kwargs):
    """Source 002's example shape with skip connections, the unit ids given by ``ids``."""
    u = dict(zip(range(1, 8), ids))
    layers = [[u[1], u[2]], [u[3], u[4], u[5]], [u[6], u[7]]]
    upstream = {u[3]: [u[1], u[2]], u[4]: [u[2]], u[5]: [u[1]], u[6]: [u[3], u[4], u[1]], u[7]: [u[5], u[2]]}
    acts = {u[3]: "tanh", u[4]: bplit.relu_activation(1.0), u[5]: "sigmoid", u[6]: "identity", u[7]: "relu"}
    return bplit.GraphNetwork(layers, upstream, acts, **kwargs), u


def _assert_same_graph(g, h):
    assert type(h) is bplit.GraphNetwork
    assert h.layers == g.layers and dict(h.S) == dict(g.S) and h.edges == g.edges
    assert [type(i) for i in h.units] == [type(i) for i in g.units]  # 1 stays int, "1" stays str
    assert {i: f.name for i, f in h.f.items()} == {i: f.name for i, f in g.f.items()}
    assert (h.loss_fn, h.reduction, h.init) == (g.loss_fn, g.reduction, g.init)
    for p, q in ((g.w.array, h.w.array), (g.b.array, h.b.array)):
        assert p.dtype == q.dtype and np.array_equal(p, q)


@pytest.mark.parametrize(
    "ids",
    [
        list(range(1, 8)),  # the source's ints
        ["x1", "x2", "h1", "h2", "h3", "out", "y"],
        [0, "a", 10**30, "", "ü n i t", -5, "7"],  # mixed, a big int, "7" beside ints
    ],
)
@pytest.mark.parametrize(
    "kwargs", [{}, {"loss": "mse", "reduction": "mean", "init": "he", "seed": 3}], ids=["default", "mse-he"]
)
def test_graph_network_round_trip(tmp_path, ids, kwargs):
    g, u = _graph(ids, **kwargs)
    rng = np.random.default_rng(8)
    X = rng.standard_normal((5, 2))
    X[0, :] = 0.0  # with relu_activation(1.0) and the biases, some x_i may sit at 0: the subgradient is kept
    Y = rng.standard_normal((5, 2))
    g.step(X, Y, 0.05)  # trained parameters, not the seeded ones
    bplit.save(g, tmp_path / "graph")
    h = bplit.load(tmp_path / "graph")
    _assert_same_graph(g, h)
    assert h.f[u[4]].derivative(np.zeros((1, 1)))[0, 0] == 1.0  # relu(derivative_at_zero=1.0)
    a, b = g.gradients(X, Y), h.gradients(X, Y)
    np.testing.assert_array_equal(a.flat(), b.flat())
    np.testing.assert_array_equal(a.p, b.p)
    assert h.w[u[6], u[1]] == g.w[u[6], u[1]]  # a skip connection, keyed by the reloaded ids
    assert h.loss(X, Y) == g.loss(X, Y)


def test_graph_from_network_round_trips_back_to_the_network(tmp_path):
    net = bplit.Network([3, 4, 2], hidden="relu", output="identity", loss="mse", init="he", seed=2)
    g = bplit.GraphNetwork.from_network(net)
    bplit.save(g, tmp_path / "g.npz")
    h = bplit.load(tmp_path / "g.npz")
    _assert_same_graph(g, h)
    _assert_same_network(g.to_network(), h.to_network())
    assert h.to_network().init == "he"


@pytest.mark.parametrize(
    "bad_id",
    [(1, 2), 1.5, np.int64(3), True, frozenset({1})],
    ids=["tuple", "float", "np.int64", "bool", "fset"],
)
def test_unit_ids_json_cannot_give_back_are_refused(tmp_path, bad_id):
    g = bplit.GraphNetwork([[10, bad_id], [30]], {30: [10, bad_id]})
    with pytest.raises(
        TypeError, match=rf"unit id {re.escape(repr(bad_id))} \({type(bad_id).__name__}\) cannot be saved"
    ):
        bplit.save(g, tmp_path / "g")
    assert not list(tmp_path.iterdir())


def _custom_sigmoid():
    return bplit.Activation("sigmoid", lambda z: 0.5 * (1 + np.tanh(z / 2)), lambda z: np.ones_like(z))


@pytest.mark.parametrize(
    "make,match",
    [
        (
            lambda: bplit.GraphNetwork(
                [[1], [2]], {2: [1]}, bplit.Activation("cube", lambda z: z**3, lambda z: 3 * z**2)
            ),
            "unit 2: activation 'cube' cannot be saved",
        ),
        (  # borrows a registered name but computes another derivative
            lambda: bplit.GraphNetwork([[1], [2]], {2: [1]}, _custom_sigmoid()),
            "activation 'sigmoid' cannot be saved",
        ),
        (
            lambda: bplit.Network([2, 3, 1], hidden=_custom_sigmoid()),
            "hidden layers: activation 'sigmoid' cannot be saved",
        ),
        (
            lambda: bplit.Network(
                [2, 1],
                loss=bplit.Loss("l1", lambda z, a, y: np.abs(a - y).sum(1), lambda a, y: np.sign(a - y)),
            ),
            "loss 'l1' cannot be saved",
        ),
        (
            lambda: bplit.GraphNetwork(
                [[1], [2]],
                {2: [1]},
                loss=bplit.Loss("half_sse", lambda z, a, y: 0 * a.sum(1), lambda a, y: a),
            ),
            "loss 'half_sse' cannot be saved",
        ),
    ],
)
def test_what_a_file_cannot_name_is_refused_at_save_time(tmp_path, make, match):
    with pytest.raises(TypeError, match=match):
        bplit.save(make(), tmp_path / "x")
    assert not list(tmp_path.iterdir())


def test_registered_activations_made_anew_can_be_saved(tmp_path):
    # relu_activation(0.0) is a new object equal in every value to the registered "relu"
    g = bplit.GraphNetwork([[1], [2]], {2: [1]}, bplit.relu_activation(0.0))
    bplit.save(g, tmp_path / "r")
    assert bplit.load(tmp_path / "r").f[2].name == "relu"


def test_graph_with_nan_parameter_is_not_saved(tmp_path):
    g, u = _graph(list(range(1, 8)))
    g.b.array[2] = np.nan
    with pytest.raises(ValueError, match="parameters b contain NaN"):
        bplit.save(g, tmp_path / "g")


def test_version_1_network_files_still_load(tmp_path):
    cfg, arrays = _good(tmp_path)
    assert cfg.pop("kind") == "Network"
    cfg["format_version"] = 1
    _write(tmp_path / "v1.npz", cfg, **arrays)
    back = bplit.load(tmp_path / "v1.npz")
    assert back.sizes == [2, 3] and np.array_equal(back.weights[0], arrays["weights_0"])


def _setkey(key, value):
    return lambda c, a: c.__setitem__(key, value)


@pytest.mark.parametrize(
    "mutate,match",
    [
        (_setkey("kind", "Tree"), "kind 'Tree'; expected 'Network' or 'GraphNetwork'"),
        (_setkey("format_version", True), "unsupported format_version True"),
        (_setkey("format_version", 2.0), "unsupported format_version 2.0"),
        (lambda c, a: c.pop("network"), "exactly the keys"),
        (_setkey("dtype", "float32"), "graph network dtype must be 'float64'"),
        (_setkey("layers", {"1": [1]}), "layers must be a list"),
        (lambda c, a: c["layers"][0].__setitem__(0, 1.0), r"layer U_1: unit id 1.0 is not an int or a str"),
        (lambda c, a: c["layers"][1].__setitem__(0, [3]), r"unit id \[3\] is not an int or a str"),
        (lambda c, a: c["upstream"].pop(), "upstream must be a list with one entry per non-input unit"),
        (lambda c, a: c["activations"].append("tanh"), "activations must be a list with one entry"),
        (
            lambda c, a: c["upstream"].__setitem__(0, [1, 4]),
            r"unit 3 \(in U_2\) has upstream unit 4 in the same",
        ),
        (lambda c, a: c["upstream"].__setitem__(0, [1, 99]), "contains unit 99, which is in no layer"),
        (  # the arrays fit the edges left; the structure is wrong
            lambda c, a: (c["upstream"].__setitem__(0, []), a.__setitem__("w", a["w"][2:])),
            "has no upstream units",
        ),
        (lambda c, a: c["layers"][2].__setitem__(1, 1), "appears in U_1 and again in U_3"),
        (lambda c, a: c["activations"].__setitem__(0, "softmax"), "is not element-wise"),
        (lambda c, a: c["activations"].__setitem__(0, "swish"), "unknown activation 'swish'"),
        (lambda c, a: c["activations"].__setitem__(0, "relu(derivative_at_zero=2)"), r"must lie in \[0, 1\]"),
        (lambda c, a: c["activations"].__setitem__(0, None), "an activation must be named by a string"),
        (_setkey("loss", "cross_entropy"), "fused with a softmax output"),
        (_setkey("loss", ["half_sse"]), "loss must be a name"),
        (_setkey("reduction", "max"), "reduction must be one of"),
        (_setkey("init", "xavier"), "init must be one of"),
        (_setkey("network", {"hidden": "tanh"}), "'hidden' and 'init'"),
        (_setkey("network", {"hidden": "tanh", "init": "zeros"}), "network init must be one of"),
        (_setkey("network", {"hidden": "gelu", "init": "he"}), "unknown activation 'gelu'"),
        (lambda c, a: a.__setitem__("w", a["w"][:-1]), r"w must have shape \(9,\)"),
        (lambda c, a: a.__setitem__("b", a["b"].astype(np.float32)), "dtype float64"),
        (lambda c, a: a.__setitem__("b", a["b"] * np.inf), "b contains NaN or infinite values"),
        (lambda c, a: a.__setitem__("weights_0", np.ones((2, 2))), r"unexpected \['weights_0'\]"),
        (lambda c, a: a.pop("w"), r"missing \['w'\]"),
    ],
)
def test_hostile_graph_files_are_rejected(tmp_path, mutate, match):
    _assert_rejected(tmp_path, _good(tmp_path, _graph(list(range(1, 8)))[0]), mutate, match)


@pytest.mark.parametrize(
    "text,match",
    [
        ("[" * 100_000 + "]" * 100_000, "corrupted 'config'"),  # too deep for the parser
        ('{"a": ' + "9" * 10_000 + "}", "corrupted 'config'"),  # more digits than int() takes
        ("[1, 2]", "config must be a JSON object"),
        ("{not json", "corrupted 'config'"),
    ],
)
def test_hostile_json_is_a_value_error(tmp_path, text, match):
    path = tmp_path / "j.npz"
    np.savez(path, config=np.array(text))
    with pytest.raises(ValueError, match=match):
        bplit.load(path)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.longdouble])
def test_every_network_dtype_round_trips(tmp_path, dtype):
    # bplit.save wrote longdouble networks that bplit.load then refused ("float128")
    net = bplit.Network([3, 4, 2], dtype=dtype, seed=2)
    bplit.save(net, tmp_path / "n")
    back = bplit.load(tmp_path / "n")
    _assert_same_network(net, back)
    assert back.dtype == np.dtype(dtype)


@pytest.mark.parametrize("name", ["float16", "int64", "object", ["float64"]])
def test_other_dtype_names_are_refused(tmp_path, name):
    _assert_rejected(
        tmp_path,
        _good(tmp_path),
        _setkey("dtype", name),
        r"network dtype must be one of \['float32', 'float64'",
    )
