"""Save and load networks as ``.npz`` files: parameters plus a JSON configuration, no pickle.

:func:`save` writes a :class:`~bplit.Network` or a :class:`~bplit.GraphNetwork` (through
the writer in ``bplit/_npz_writer.py``, which the networks' ``save`` methods share);
:func:`load`, here, reads either back, exactly (same parameters, bit for bit, same structure,
activations, loss, reduction and initialisation scheme).

File format (``FORMAT_VERSION`` = 2)
------------------------------------
An ``.npz`` archive (NumPy's zip of ``.npy`` arrays) with an entry ``config``: a 0-d
unicode array holding a JSON object with ``format_version`` (2) and ``kind``
(``"Network"`` or ``"GraphNetwork"``), and the arrays of that kind.

``kind = "Network"``
    The other keys are :meth:`Network.config`: ``sizes``, ``hidden``, ``output``,
    ``loss``, ``dtype``, ``reduction``, ``init``.  Arrays ``weights_0 …
    weights_{L-1}`` of shape ``(sizes[l+1], sizes[l])`` and ``biases_0 …
    biases_{L-1}`` of shape ``(sizes[l+1],)``, in the network's dtype.
``kind = "GraphNetwork"``
    ``layers`` (:math:`\\mathbb{U}_1, \\dots, \\mathbb{U}_N`: lists of unit ids);
    ``upstream`` (:math:`\\mathbb{S}_i` of every non-input unit, listed in the order of
    the layers) and ``activations`` (:math:`f_i`, same order); ``loss``,
    ``reduction``, ``init``, ``dtype`` (``"float64"``); ``network``: ``null``, or for
    a graph made by :meth:`GraphNetwork.from_network` the ``hidden`` activation and
    ``init`` that :meth:`GraphNetwork.to_network` gives back.  Arrays ``w`` (one
    weight per edge, in the order of :attr:`GraphNetwork.edges`: unit by unit, ``j``
    in :math:`\\mathbb{S}_i`'s order) and ``b`` (one bias per non-input unit), float64.

Names, not code: an activation is a registered name (``"sigmoid"``, ``"tanh"``,
``"relu"``, ``"identity"``, ``"softmax"``) or ``"relu(derivative_at_zero=d)"``; a
loss is a registered name.  A custom :class:`~bplit.Activation` or
:class:`~bplit.Loss` cannot be named, so :func:`save` refuses it (``TypeError``).
Unit ids are stored as JSON, which gives back exactly ``int`` and ``str`` ids; a
graph with other ids (tuples, floats, NumPy integers, ...) is refused the same way.

Version 1 files (bplit 0.1: a ``Network`` without ``kind``) are still read.

Paths follow :func:`numpy.savez`'s rule: ``save(net, "model")`` writes
``model.npz``; a path that already ends in ``.npz`` is used as it is.  ``load`` takes
the same path and reads the same file (or, if only that exists, the file named
exactly ``path``).

Loading never unpickles (``allow_pickle=False``) and checks the configuration (key by
key, types, versions), every array (names, shapes, dtype, finite values) and the
structure (by the constructors' own checks), so a truncated, corrupted or hostile
file raises :class:`ValueError` instead of running code or yielding a broken network.
"""

from __future__ import annotations

import json
import os
import reprlib
import zipfile

import numpy as np

from ._npz_writer import FORMAT_VERSION, activation_from_name, npz_path
from .graph import GraphNetwork
from .network import INITIALIZERS, Network

__all__ = ["save", "load", "FORMAT_VERSION"]

READABLE_VERSIONS = (1, 2)  # 1: Network only (no "kind"); 2: "kind" = "Network" or "GraphNetwork"
_NETWORK_KEYS = {"sizes", "hidden", "output", "loss", "dtype", "reduction", "init"}
_GRAPH_KEYS = {"layers", "upstream", "activations", "loss", "reduction", "init", "dtype", "network"}
_repr = reprlib.Repr()  # hostile values stay short in error messages
_repr.maxlist, _repr.maxdict, _repr.maxstring, _repr.maxother = 8, 8, 60, 60
_short = _repr.repr


def save(net: Network | GraphNetwork, path: str | os.PathLike) -> None:
    """Write ``net`` to ``path`` (``.npz``, added when missing; no pickle).

    Parameters
    ----------
    net : Network or GraphNetwork
    path : str or os.PathLike
        ``"model"`` writes ``model.npz``; :func:`load` takes the same ``path``.

    Raises
    ------
    TypeError
        If ``net`` is neither kind of network, ``path`` is not a file name, or the
        network holds something a file cannot name (a custom activation or loss, a
        unit id other than an int or a str; see the module docstring).
    ValueError
        If a parameter is NaN or infinite.
    """
    npz_path(path)
    if not isinstance(net, (Network, GraphNetwork)):
        raise TypeError(f"save expects a bplit.Network or a bplit.GraphNetwork, got {type(net).__name__}")
    net.save(path)


def load(path: str | os.PathLike) -> Network | GraphNetwork:
    """Read a network written by :func:`save` (given the same ``path``).

    Returns
    -------
    Network or GraphNetwork
        Whichever the file holds.

    Raises
    ------
    TypeError
        If ``path`` is not a ``str`` or an ``os.PathLike``.
    ValueError
        If the file is missing or not a bplit network file, contains pickled or
        unexpected arrays, or anything disagrees with the stored configuration.
    """
    config, arrays = _read(path)
    version = config.get("format_version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise ValueError(
            f"unsupported format_version {_short(version)}; this bplit reads {list(READABLE_VERSIONS)}"
        )
    kind = "Network" if version == 1 else config.get("kind")
    if kind == "Network":
        return _load_network(config, arrays, version)
    if kind == "GraphNetwork":
        return _load_graph(config, arrays)
    raise ValueError(f"network file has kind {_short(kind)}; expected 'Network' or 'GraphNetwork'")


def _read(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON configuration and the arrays of the file :func:`save` wrote for ``path``."""
    name = npz_path(path)
    given = os.fspath(path)
    if not os.path.exists(name) and os.path.isfile(given):
        name = given
    try:
        with open(name, "rb") as fh:  # our own handle, closed even when NumPy gives up half-way
            data = np.load(fh, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("expected an .npz archive")
            with data:
                arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        tried = repr(name) if name == given else f"{name!r} (what save wrote for it) nor {given!r}"
        raise ValueError(
            f"{given!r} is not a readable bplit network file: there is no file {tried}"
        ) from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise ValueError(f"{name!r} is not a readable bplit network file: {err}") from None
    if "config" not in arrays or arrays["config"].dtype.kind != "U" or arrays["config"].ndim != 0:
        raise ValueError("network file has no 'config' entry (a JSON string)")
    try:
        config = json.loads(str(arrays.pop("config")))
    except (ValueError, RecursionError) as err:  # JSONDecodeError, too many digits, too deep
        raise ValueError(f"network file has a corrupted 'config': {_short(str(err))}") from None
    if not isinstance(config, dict):
        raise ValueError(f"network file's config must be a JSON object, got {_short(config)}")
    return config, arrays


def _check_keys(config: dict, expected: set[str], kind: str) -> None:
    if set(config) != expected:
        raise ValueError(
            f"{kind} config must have exactly the keys {sorted(expected)}, got {_short(sorted(config))}"
        )


def _check_arrays(arrays: dict[str, np.ndarray], shapes: dict[str, tuple], dtype: np.dtype) -> None:
    if set(arrays) != set(shapes):
        extra, missing = sorted(set(arrays) - set(shapes)), sorted(set(shapes) - set(arrays))
        raise ValueError(
            f"network file arrays do not match its config: unexpected {_short(extra)}, missing {_short(missing)}"
        )
    for name, shape in shapes.items():
        arr = arrays[name]
        if arr.shape != shape or arr.dtype != dtype:
            raise ValueError(
                f"{name} must have shape {shape} and dtype {dtype}, got {arr.shape} and {arr.dtype}"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values")


def _load_network(config: dict, arrays: dict[str, np.ndarray], version: int) -> Network:
    _check_keys(config, _NETWORK_KEYS | {"format_version"} | ({"kind"} if version > 1 else set()), "Network")
    if config["dtype"] not in ("float32", "float64"):
        raise ValueError(f"network dtype must be 'float32' or 'float64', got {_short(config['dtype'])}")
    sizes = config["sizes"]
    if not isinstance(sizes, list) or not all(type(n) is int for n in sizes):
        raise ValueError(f"network sizes must be a list of integers, got {_short(sizes)}")
    try:
        net = Network(
            sizes,
            hidden=activation_from_name(config["hidden"]),
            output=activation_from_name(config["output"]),
            loss=config["loss"],
            dtype=np.dtype(config["dtype"]),
            reduction=config["reduction"],
            init=config["init"],
        )
    except (ValueError, TypeError) as err:
        raise ValueError(f"network file describes no valid Network: {err}") from None
    L = net.n_layers
    shapes = {f"weights_{l}": (sizes[l + 1], sizes[l]) for l in range(L)}
    shapes.update({f"biases_{l}": (sizes[l + 1],) for l in range(L)})
    _check_arrays(arrays, shapes, net.dtype)
    net.weights = [np.ascontiguousarray(arrays[f"weights_{l}"]) for l in range(L)]
    net.biases = [arrays[f"biases_{l}"] for l in range(L)]
    net.check_params()
    return net


def _unit_ids(value: object, what: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list of unit ids, got {_short(value)}")
    for i in value:
        if type(i) not in (int, str):
            raise ValueError(f"{what}: unit id {_short(i)} is not an int or a str")
    return value


def _load_graph(config: dict, arrays: dict[str, np.ndarray]) -> GraphNetwork:
    _check_keys(config, _GRAPH_KEYS | {"format_version", "kind"}, "GraphNetwork")
    if config["dtype"] != "float64":
        raise ValueError(f"graph network dtype must be 'float64', got {_short(config['dtype'])}")
    layers = config["layers"]
    if not isinstance(layers, list):
        raise ValueError(f"layers must be a list of layers (lists of unit ids), got {_short(layers)}")
    layers = [_unit_ids(layer, f"layer U_{n}") for n, layer in enumerate(layers, start=1)]
    rest = [i for layer in layers[1:] for i in layer]
    for key in ("upstream", "activations"):
        if not isinstance(config[key], list) or len(config[key]) != len(rest):
            raise ValueError(f"{key} must be a list with one entry per non-input unit ({len(rest)})")
    upstream = [_unit_ids(s, f"upstream of unit {i!r}") for i, s in zip(rest, config["upstream"])]
    if not isinstance(config["loss"], str):
        raise ValueError(f"loss must be a name, got {_short(config['loss'])}")
    try:
        g = GraphNetwork(
            layers,
            dict(zip(rest, upstream)),
            {i: activation_from_name(a) for i, a in zip(rest, config["activations"])},
            loss=config["loss"],
            reduction=config["reduction"],
            init=config["init"],
        )
    except (ValueError, TypeError) as err:
        raise ValueError(f"network file describes no valid GraphNetwork: {err}") from None
    network = config["network"]
    if network is not None:
        if not isinstance(network, dict) or set(network) != {"hidden", "init"}:
            raise ValueError("network must be null or an object with the keys 'hidden' and 'init'")
        if not isinstance(network["init"], str) or network["init"] not in INITIALIZERS:
            raise ValueError(
                f"network init must be one of {list(INITIALIZERS)}, got {_short(network['init'])}"
            )
        g.network_config = {"hidden": activation_from_name(network["hidden"]), "init": network["init"]}
    _check_arrays(arrays, {"w": (len(g.edges),), "b": (len(g.hidden_and_output),)}, g.dtype)
    np.copyto(g.w.array, arrays["w"])
    np.copyto(g.b.array, arrays["b"])
    return g
