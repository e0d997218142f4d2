"""Save/load round trip and hostile files."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest

import bplit


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_exact(tmp_path, dtype):
    net = bplit.Network(
        [4, 5, 3], hidden=bplit.relu(1.0), output="softmax", loss="cross_entropy", dtype=dtype, seed=3
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
    assert back.hidden.derivative(np.zeros((1, 1)))[0, 0] == 1.0


def _write(path, config=None, **arrays):
    np.savez(path, **({"config": np.array(json.dumps(config))} if config is not None else {}), **arrays)


def _good(tmp_path):
    net = bplit.Network([2, 3], seed=0)
    path = tmp_path / "good.npz"
    net.save(path)
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files}
    return json.loads(str(arrays.pop("config"))), arrays


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
        (lambda c, a: c.__setitem__("sizes", "2,3"), "list of integers"),
        (lambda c, a: c.__setitem__("evil", 1), "exactly the keys"),
    ],
)
def test_hostile_contents_are_rejected(tmp_path, mutate, match):
    cfg, arrays = _good(tmp_path)
    mutate(cfg, arrays)
    path = tmp_path / "bad.npz"
    _write(path, cfg, **arrays)
    with pytest.raises(ValueError, match=match):
        bplit.load(path)
