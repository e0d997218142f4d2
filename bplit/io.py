"""Save and load networks as ``.npz`` files: parameters plus a JSON configuration, no pickle.

A file holds ``config`` (a JSON string), ``weights_0 … weights_{L-1}`` and
``biases_0 … biases_{L-1}``.  Loading never unpickles (``allow_pickle=False``) and
checks every array against the configuration, so a truncated, corrupted or hostile file
raises :class:`ValueError` instead of running code or yielding a broken network.
"""

from __future__ import annotations

import json
import os
import re
import zipfile

import numpy as np

from ._format import FORMAT_VERSION
from .activations import Activation, get_activation, relu
from .network import Network

__all__ = ["save", "load", "FORMAT_VERSION"]

_RELU = re.compile(r"^relu\(derivative_at_zero=([0-9.eE+-]+)\)$")


def _activation_from_name(name: object) -> Activation:
    if isinstance(name, str):
        m = _RELU.match(name)
        if m:
            return relu(float(m.group(1)))
    return get_activation(name)  # type: ignore[arg-type]


def save(net: Network, path: str | os.PathLike) -> None:
    """Write ``net`` to ``path`` (``.npz``; the suffix is added by NumPy if missing).

    Parameters
    ----------
    net : Network
    path : str or path-like
    """
    net.save(path)


def load(path: str | os.PathLike) -> Network:
    """Read a network written by :func:`save`.

    Raises
    ------
    ValueError
        If the file is not a bplit network file, contains pickled or unexpected
        arrays, or any array disagrees with the stored configuration.
    """
    try:
        with open(path, "rb") as fh:  # our own handle, closed even when NumPy gives up half-way
            data = np.load(fh, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("expected an .npz archive")
            with data:
                arrays = {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise ValueError(f"{os.fspath(path)!r} is not a readable bplit network file: {err}") from None
    if "config" not in arrays or arrays["config"].dtype.kind != "U" or arrays["config"].ndim != 0:
        raise ValueError("network file has no 'config' entry (a JSON string)")
    try:
        config = json.loads(str(arrays.pop("config")))
    except json.JSONDecodeError as err:
        raise ValueError(f"network file has a corrupted 'config': {err}") from None
    expected_keys = {"format_version", "sizes", "hidden", "output", "loss", "dtype", "reduction", "init"}
    if not isinstance(config, dict) or set(config) != expected_keys:
        raise ValueError(f"network config must have exactly the keys {sorted(expected_keys)}")
    if config["format_version"] != FORMAT_VERSION:
        raise ValueError(
            f"unsupported format_version {config['format_version']!r}; expected {FORMAT_VERSION}"
        )
    if config["dtype"] not in ("float32", "float64"):
        raise ValueError(f"network dtype must be 'float32' or 'float64', got {config['dtype']!r}")
    sizes = config["sizes"]
    if not isinstance(sizes, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in sizes):
        raise ValueError(f"network sizes must be a list of integers, got {sizes!r}")
    net = Network(
        sizes,
        hidden=_activation_from_name(config["hidden"]),
        output=_activation_from_name(config["output"]),
        loss=config["loss"],
        dtype=np.dtype(config["dtype"]),
        reduction=config["reduction"],
        init=config["init"],
    )
    L = net.n_layers
    wanted = {f"weights_{l}" for l in range(L)} | {f"biases_{l}" for l in range(L)}
    if set(arrays) != wanted:
        extra, missing = sorted(set(arrays) - wanted), sorted(wanted - set(arrays))
        raise ValueError(
            f"network file arrays do not match its config: unexpected {extra}, missing {missing}"
        )
    for l in range(L):
        for kind, shape in (("weights", (sizes[l + 1], sizes[l])), ("biases", (sizes[l + 1],))):
            arr = arrays[f"{kind}_{l}"]
            if arr.shape != shape or arr.dtype != net.dtype:
                raise ValueError(
                    f"{kind}_{l} must have shape {shape} and dtype {net.dtype}, got {arr.shape} and {arr.dtype}"
                )
    net.weights = [np.ascontiguousarray(arrays[f"weights_{l}"]) for l in range(L)]
    net.biases = [arrays[f"biases_{l}"] for l in range(L)]
    with np.errstate(
        over="raise"
    ):  # finite values (a sum of squares that overflows is checked entry by entry)
        net._check_params()
    return net
