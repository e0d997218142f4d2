"""Hostile and damaged files (issue 20 item 3): loading checks sizes before it allocates.

A file's configuration says how large its arrays are; loading believed it and built the
network first, so a 2 KB file whose configuration says ``sizes: [3, 1000000000, 2]``
made :func:`bplit.load` ask for 22.4 GiB. Now every array's shape and dtype (from its
``.npy`` header) and size (from the zip directory) are compared with the configuration
before anything is read or built. The memory checks below measure allocations with
tracemalloc (NumPy reports its array buffers to it), not time.
"""

import io
import json
import pickle
import tracemalloc
import zipfile

import numpy as np
import pytest

import bplit
from bplit.optim import SGD, Adam

HUGE = 1_000_000_000
SMALL_PEAK = 2_000_000  # bytes: a refusal allocates next to nothing


def _members(path):
    """The raw bytes of every member of a zip file."""
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, raw in members.items():
            zf.writestr(name, raw)
    return path


def _npy(arr=None, *, shape=None, descr="<f8", data=b"", fortran=False, version=(1, 0)):
    """A member's bytes: what NumPy writes for ``arr``, or a header claiming ``shape`` and ``descr``
    followed by ``data``."""
    buf = io.BytesIO()
    if arr is not None:
        np.lib.format.write_array(buf, arr, allow_pickle=True)
    else:
        header = {"shape": shape, "fortran_order": fortran, "descr": descr}
        write = (
            np.lib.format.write_array_header_1_0
            if version == (1, 0)
            else np.lib.format.write_array_header_2_0
        )
        write(buf, header)
        buf.write(data)
    return buf.getvalue()


def _config_npy(config):
    return _npy(np.array(json.dumps(config)))


def _genuine(tmp_path, kind="network", name="good"):
    """A genuine file of ``kind`` ("network", "graph", "checkpoint"): its path, config and arrays."""
    if kind == "graph":
        net = bplit.GraphNetwork([[1, 2], [3, 4], [5]], {3: [1, 2], 4: [2], 5: [3, 4, 1]}, seed=1)
    else:
        net = bplit.Network([3, 4, 2], seed=0)
    path = tmp_path / f"{name}.npz"
    if kind == "checkpoint":
        opt = SGD(0.1, momentum=0.9)
        opt.step(net, np.ones((2, 3)), np.zeros((2, 2)))
        bplit.save(net, path, optimizer=opt)
    else:
        bplit.save(net, path)
    with np.load(path) as d:  # our own file: NumPy may read it
        arrays = {k: d[k] for k in d.files}
    return path, json.loads(str(arrays.pop("config"))), arrays


def _peak(call):
    """The largest amount of memory traced while ``call`` runs, in bytes."""
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _refused(path, match, reader=bplit.load):
    """``reader(path)`` raises a ValueError matching ``match``, allocating little; its peak."""

    def call():
        with pytest.raises(ValueError, match=match):
            reader(path)

    peak = _peak(call)
    assert peak < SMALL_PEAK
    return peak


# ---------------------------------------------------------------------------- huge claims


def test_the_issue_file_claiming_a_billion_units_is_refused_before_anything_is_allocated(tmp_path):
    _, config, arrays = _genuine(tmp_path)
    config["sizes"] = [3, HUGE, 2]
    path = tmp_path / "huge.npz"
    np.savez(path, config=np.array(json.dumps(config)), **arrays)
    assert path.stat().st_size < 3_000
    _refused(
        path, r"weights_0 must have shape \(1000000000, 3\) and dtype float64 .*got \(4, 3\) and float64"
    )


def test_a_config_claiming_a_hundred_thousand_layers_is_refused_before_listing_them(tmp_path):
    _, config, arrays = _genuine(tmp_path)
    config["sizes"] = [3] + [1] * 100_000
    path = tmp_path / "deep.npz"
    np.savez(path, config=np.array(json.dumps(config)), **arrays)

    def call():
        with pytest.raises(
            ValueError, match=r"sizes describe 100000 layers \(2 arrays each\), but the file holds 4"
        ):
            bplit.load(path)

    assert _peak(call) < 4 * path.stat().st_size  # measured 2.5x; 57x without the check


@pytest.mark.parametrize(
    "kind,member", [("network", "weights_0"), ("graph", "w"), ("checkpoint", "optimizer_velocity_0")]
)
def test_headers_claiming_what_the_file_does_not_hold_are_refused(tmp_path, kind, member):
    """An .npy header claiming a huge shape over a few bytes of data (the size check comes
    before the comparison with the config, so the config may say anything)."""
    path, config, arrays = _genuine(tmp_path, kind)
    raw = _members(path)
    shape = arrays[member].shape
    claimed = (shape[0] * HUGE, *shape[1:])  # 10**9 times the rows
    raw[f"{member}.npy"] = _npy(shape=claimed, data=arrays[member].tobytes())
    _zip(path, raw)
    _refused(
        path,
        rf"'{member}.npy' holds {arrays[member].nbytes} bytes of data, but its header describes {8 * np.prod(claimed)}",
    )


def test_a_zip_directory_claiming_more_bytes_than_the_file_has_is_refused(tmp_path):
    path, _, _ = _genuine(tmp_path)
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02"))  # central directory entries
    while data[entry + 46 : entry + 46 + len(b"weights_0.npy")] != b"weights_0.npy":
        entry = data.index(b"PK\x01\x02", entry + 1)
    data[entry + 20 : entry + 28] = (0xFFFFFF00).to_bytes(4, "little") * 2  # compressed, uncompressed sizes
    path.write_bytes(bytes(data))
    _refused(path, r"'weights_0.npy' claims 4294967040 bytes at offset .* but the file has only")


def test_compressed_archives_are_refused(tmp_path):
    path, config, arrays = _genuine(tmp_path)
    np.savez_compressed(path, config=np.array(json.dumps(config)), **arrays)
    _refused(path, r"'config.npy' is compressed .*uncompressed members numpy.savez writes")


# ---------------------------------------------------------------------------- shapes and dtypes


@pytest.mark.parametrize(
    "replace,match",
    [
        (
            lambda a: a.T.copy(),
            r"weights_0 must have shape \(4, 3\) and dtype float64 .*got \(3, 4\) and float64",
        ),
        (
            lambda a: a.astype(np.float32),
            r"weights_0 must have shape \(4, 3\) and dtype float64 .*got \(4, 3\) and float32",
        ),
        (lambda a: a.astype(np.int64), r"and dtype float64 .*got \(4, 3\) and int64"),
        (lambda a: a[None], r"got \(1, 4, 3\)"),
        (lambda a: a.astype(">f8"), r"'weights_0.npy' has dtype >f8, not in this machine's byte order"),
        (lambda a: a.astype(complex), r"got \(4, 3\) and complex128"),
    ],
    ids=["transposed", "float32", "int64", "3-d", "big-endian", "complex"],
)
def test_an_array_of_another_shape_or_dtype_is_named(tmp_path, replace, match):
    path, config, arrays = _genuine(tmp_path)
    arrays["weights_0"] = replace(arrays["weights_0"])
    np.savez(path, config=np.array(json.dumps(config)), **arrays)
    _refused(path, match)


def test_a_float32_network_refuses_float64_arrays(tmp_path):
    net = bplit.Network([2, 3], dtype=np.float32, seed=0)
    bplit.save(net, tmp_path / "f32")
    raw = _members(tmp_path / "f32.npz")
    raw["biases_0.npy"] = _npy(net.biases[0].astype(np.float64))
    _zip(tmp_path / "f32.npz", raw)
    _refused(
        tmp_path / "f32.npz", r"biases_0 must have shape \(3,\) and dtype float32 .*got \(3,\) and float64"
    )


def test_fortran_ordered_arrays_of_the_right_shape_load_as_themselves(tmp_path):
    path, config, arrays = _genuine(tmp_path)
    arrays["weights_0"] = np.asfortranarray(arrays["weights_0"])
    np.savez(path, config=np.array(json.dumps(config)), **arrays)
    net = bplit.load(path)
    assert np.array_equal(net.weights[0], arrays["weights_0"]) and net.weights[0].flags.c_contiguous


# ---------------------------------------------------------------------------- pickles, members, headers


class Boom:
    def __reduce__(self):
        return (exec, ("raise SystemExit('pickle executed')",))


@pytest.mark.parametrize("member", ["weights_0", "config"])
def test_object_arrays_are_refused_without_being_unpickled(tmp_path, member):
    path, config, arrays = _genuine(tmp_path)
    raw = _members(path)
    raw[f"{member}.npy"] = _npy(np.array([Boom()], dtype=object))
    _zip(path, raw)
    _refused(path, rf"'{member}.npy' holds Python objects \(dtype object\), which only pickle can store")


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda raw: raw.pop("biases_1.npy"), r"missing \['biases_1'\]"),
        (lambda raw: raw.__setitem__("extra.npy", _npy(np.ones(2))), r"unexpected \['extra'\]"),
        (
            lambda raw: raw.__setitem__("notes.txt", b"hello"),
            "a member that is not an .npy array: 'notes.txt'",
        ),
        (lambda raw: raw.pop("config.npy"), "no 'config' entry"),
        (
            lambda raw: raw.__setitem__("config.npy", _npy(np.ones(3))),
            "'config' must be a JSON string, got shape",
        ),
        (lambda raw: raw.__setitem__("config.npy", _npy(np.array(["{}", "{}"]))), r"got shape \(2,\)"),
        (lambda raw: raw.__setitem__("config.npy", _npy(np.array("{sizes: [3, 4]"))), "corrupted 'config'"),
        (
            lambda raw: raw.__setitem__("weights_0.npy", b"\x93NUMPY garbage"),
            "'weights_0.npy' has no valid .npy header",
        ),
        (lambda raw: raw.__setitem__("weights_0.npy", b"PK not numpy"), "has no valid .npy header"),
        (
            lambda raw: raw.__setitem__("weights_0.npy", _npy(shape=(4, 3), version=(2, 0), data=bytes(96))),
            None,  # version 2.0 headers are read: this file loads
        ),
        (
            lambda raw: raw.__setitem__(
                "weights_0.npy", raw["weights_0.npy"].replace(b"(4, 3)", b"(-4, -3)")
            ),
            r"'weights_0.npy' has an invalid shape \(-4, -3\)",
        ),
        (
            lambda raw: raw.__setitem__(
                "weights_0.npy", _npy(shape=(4, 3), descr="<f8" + " " * 20_000, data=bytes(96))
            ),
            "has no valid .npy header: Header info length",
        ),
    ],
    ids=[
        "missing",
        "extra",
        "not-npy",
        "no-config",
        "config-numbers",
        "config-1d",
        "config-not-json",
        "bad-magic",
        "no-magic",
        "npy-2.0",
        "negative-shape",
        "header-too-long",
    ],
)
def test_members_and_headers(tmp_path, edit, match):
    path, _, _ = _genuine(tmp_path)
    raw = _members(path)
    edit(raw)
    _zip(path, raw)
    if match is None:
        assert np.array_equal(bplit.load(path).weights[0], np.zeros((4, 3)))
    else:
        _refused(path, match)


def test_a_member_twice_is_refused(tmp_path):
    path, _, _ = _genuine(tmp_path)
    raw = _members(path)
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "a") as zf:
        zf.writestr("weights_0.npy", raw["weights_0.npy"])
    _refused(path, "the archive has a second member: 'weights_0.npy'")


# ---------------------------------------------------------------------------- truncated and damaged bytes


@pytest.mark.parametrize("kind", ["network", "graph", "checkpoint"])
def test_every_truncation_is_a_value_error(tmp_path, kind):
    path, _, _ = _genuine(tmp_path, kind)
    whole = path.read_bytes()
    cut = tmp_path / "cut.npz"
    for n in [0, 1, 10, *range(30, len(whole), max(1, len(whole) // 60)), len(whole) - 22, len(whole) - 1]:
        cut.write_bytes(whole[:n])
        with pytest.raises(ValueError, match="is not a readable bplit network file"):
            bplit.load(cut)


@pytest.mark.parametrize("kind", ["network", "graph", "checkpoint"])
def test_flipped_bytes_give_a_value_error_or_the_same_kind_of_file(tmp_path, kind):
    """Every 7th byte flipped in turn: a refusal, or (a byte no check covers, e.g. a timestamp)
    a network of the same kind; never another exception."""
    path, _, _ = _genuine(tmp_path, kind)
    whole = path.read_bytes()
    bad = tmp_path / "bad.npz"
    refused = 0
    for i in range(0, len(whole), 7):
        data = bytearray(whole)
        data[i] ^= 0xFF
        bad.write_bytes(bytes(data))
        try:
            net = bplit.load(bad)
        except ValueError:
            refused += 1
        else:
            assert type(net) is (bplit.GraphNetwork if kind == "graph" else bplit.Network)
    assert refused > len(whole) // 7 // 2  # most bytes are checked (data by the CRC)


def test_a_damaged_array_fails_its_checksum(tmp_path):
    path, _, arrays = _genuine(tmp_path)
    data = bytearray(path.read_bytes())
    at = data.index(arrays["weights_0"].tobytes())
    data[at + 5] ^= 0x01
    path.write_bytes(bytes(data))
    _refused(path, r"'weights_0.npy' cannot be read: Bad CRC-32")


@pytest.mark.parametrize(
    "content", [pickle.dumps(Boom()), b"", b"\x00garbage" * 10, b"PK\x05\x06" + bytes(18)]
)
def test_files_that_are_no_zip_at_all(tmp_path, content):
    (tmp_path / "x.npz").write_bytes(content)
    empty_zip = content.startswith(b"PK")
    _refused(tmp_path / "x.npz", "no 'config' entry" if empty_zip else "is not a readable bplit network file")


# ---------------------------------------------------------------------------- graphs and checkpoints


def _rewrite(path, config, arrays):
    np.savez(path, config=np.array(json.dumps(config)), **arrays)
    return path


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda c, a: c["upstream"][0].append(3), r"w must have shape \(7,\) and dtype float64 .*got \(6,\)"),
        (
            lambda c, a: c["layers"].append(list(range(10, 10 + 1000))),
            "upstream must be a list with one entry",
        ),
        (lambda c, a: a.__setitem__("w", a["w"].astype(np.float32)), r"got \(6,\) and float32"),
        (lambda c, a: a.__setitem__("b", a["b"].reshape(3, 1)), r"b must have shape \(3,\) .*got \(3, 1\)"),
    ],
)
def test_graph_files(tmp_path, mutate, match):
    path, config, arrays = _genuine(tmp_path, "graph")
    mutate(config, arrays)
    _refused(_rewrite(path, config, arrays), match)


def _opt(**changes):
    def mutate(c, a):
        c["optimizer"].update(changes)

    return mutate


def _hyper(**changes):
    def mutate(c, a):
        c["optimizer"]["hyperparameters"].update(changes)

    return mutate


@pytest.mark.parametrize(
    "mutate,match",
    [
        (
            lambda c, a: a.__setitem__("optimizer_velocity_0", a["optimizer_velocity_0"].T.copy()),
            r"optimizer_velocity_0 must have shape \(4, 3\) and dtype float64 .*got \(3, 4\)",
        ),
        (
            lambda c, a: a.__setitem__("optimizer_velocity_3", a["optimizer_velocity_3"].astype(np.float32)),
            r"optimizer_velocity_3 must have shape \(2,\) and dtype float64 .*got \(2,\) and float32",
        ),
        (lambda c, a: a.pop("optimizer_velocity_2"), r"missing \['optimizer_velocity_2'\]"),
        (_opt(step=None), r"unexpected \['optimizer_velocity_0', 'optimizer_velocity_1'"),
        (lambda c, a: a.__setitem__("optimizer_m_0", a["weights_0"]), r"unexpected \['optimizer_m_0'\]"),
        (
            lambda c, a: a.__setitem__("optimizer_velocity_1", a["optimizer_velocity_1"] * np.nan),
            "optimizer_velocity_1 contains NaN or infinite values",
        ),
        (_opt(**{"class": "RMSprop"}), r"class must be one of \['Adam', 'SGD'\], got 'RMSprop'"),
        (_opt(**{"class": ["SGD"]}), "class must be one of"),
        (_hyper(momentum=1.5), r"momentum must be a number in \[0.0, 1.0\)"),
        (_hyper(learning_rate=float("inf")), "learning_rate must be a positive finite number"),
        (_hyper(learning_rate="0.1"), "learning_rate must be a positive finite number"),
        (_hyper(betas=[0.9, 0.99]), "SGD hyperparameters must have exactly the keys"),
        (lambda c, a: c["optimizer"]["hyperparameters"].pop("nesterov"), "exactly the keys"),
        (_opt(epoch=0), "epoch must be a positive integer, got 0"),
        (_opt(epoch=True), "epoch must be a positive integer, got True"),
        (_opt(step=-1), "step must be null or an integer >= 0, got -1"),
        (_opt(step=2.0), "step must be null or an integer >= 0, got 2.0"),
        (_hyper(momentum=0.0), r"momentum=0.0.* keeps no state, but the checkpoint has a state \(step 1\)"),
        (lambda c, a: c.__setitem__("optimizer", "SGD"), "optimizer must be an object with the keys"),
        (lambda c, a: c.pop("optimizer"), "Network config must have exactly the keys"),
        (lambda c, a: c.__setitem__("format_version", 2), "Network config must have exactly the keys"),
    ],
)
def test_checkpoint_files(tmp_path, mutate, match):
    path, config, arrays = _genuine(tmp_path, "checkpoint")
    mutate(config, arrays)
    _refused(_rewrite(path, config, arrays), match, reader=bplit.load_checkpoint)


def test_a_checkpoint_claiming_a_huge_state_is_refused_before_anything_is_allocated(tmp_path):
    path, config, arrays = _genuine(tmp_path, "checkpoint")
    config["sizes"] = [3, HUGE, 2]
    _refused(
        _rewrite(path, config, arrays), r"weights_0 must have shape \(1000000000, 3\)", bplit.load_checkpoint
    )
    path, config, arrays = _genuine(tmp_path, "checkpoint")
    arrays["optimizer_velocity_0"] = np.zeros((4, 3 * 1000))
    _refused(
        _rewrite(path, config, arrays),
        r"optimizer_velocity_0 must have shape \(4, 3\)",
        bplit.load_checkpoint,
    )


# ---------------------------------------------------------------------------- what a good load costs


@pytest.mark.parametrize("checkpoint", [False, True], ids=["network", "adam-checkpoint"])
def test_a_genuine_load_allocates_about_what_the_file_holds(tmp_path, checkpoint):
    """The network is made of the arrays read (one buffer each, filled 256 KB at a time), not
    a random start replaced by them: measured 2.55 MB for 2.01 MB of arrays (the code before
    this test: 5.66 MB). A checkpoint's state is copied once more by opt.load_state_dict."""
    net = bplit.Network([400, 500, 100], seed=0)
    opt = Adam()
    opt.step(net, np.ones((2, 400)), np.zeros((2, 100)))
    bplit.save(net, tmp_path / "n", optimizer=opt if checkpoint else None)
    with np.load(tmp_path / "n.npz") as d:
        held = {k: d[k].nbytes for k in d.files}
    state = sum(n for k, n in held.items() if k.startswith("optimizer_"))
    assert (state > 0) == checkpoint
    peak = _peak(lambda: (bplit.load_checkpoint if checkpoint else bplit.load)(tmp_path / "n"))
    assert peak < sum(held.values()) + state + 1_000_000
