"""The writer of bplit's ``.npz`` network files: parameters plus a JSON configuration, no pickle.

The format (its versions and entries) is documented in :mod:`bplit.io`, which reads
and checks the files; the networks' ``save`` methods call this module's
:func:`write_network` and :func:`write_graph_network`, and ``bplit.save`` with an
optimizer (a checkpoint) adds the optimizer to :func:`network_contents` or
:func:`graph_contents` and writes the whole with :func:`write_npz`.  It refuses at save
time anything a file could not name exactly (a custom activation or loss, a unit id
that JSON would not give back as itself), checking each activation's name with
:func:`activation_from_name`, the lookup the reader uses, so that every file written
here loads back as the same network.  (The network modules cannot import
:mod:`bplit.io`, which imports them; hence a module of its own.)
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .activations import ACTIVATIONS, Activation, activation_from_name, get_activation
from .losses import LOSSES, Loss

FORMAT_VERSION = 2  # the version written; bplit.io reads it and version 1

# Where a custom activation that borrows a name must agree with the named one.
_PROBE = np.array([[-30.0, -3.0, -1.0, -0.25, -1e-3, 0.0, 1e-3, 0.25, 1.0, 3.0, 30.0]])


def npz_path(path: object) -> str:
    """The file :func:`bplit.save` writes for ``path``: ``path`` if it ends in ``.npz``, else ``path + ".npz"``.

    The rule of :func:`numpy.savez`, applied by bplit itself so that
    :func:`bplit.load` can apply it too.

    Raises
    ------
    TypeError
        If ``path`` is not a ``str`` or an ``os.PathLike`` naming a ``str`` path.
    """
    name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(name, str):
        raise TypeError(
            "path must be a file name: a str or an os.PathLike such as pathlib.Path "
            f"('.npz' is added when missing), got {type(path).__name__} {path!r}"
        )
    return name if name.endswith(".npz") else name + ".npz"


def _same_activation(act: Activation, ref: Activation) -> bool:
    if (act.elementwise, act.hidden_ok) != (ref.elementwise, ref.hidden_ok):
        return False
    try:
        with np.errstate(all="ignore"):
            pairs = [(act.value(_PROBE), ref.value(_PROBE)), (act.derivative(_PROBE), ref.derivative(_PROBE))]
        return all(
            np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-12, atol=1e-300, equal_nan=True)
            for a, b in pairs
        )
    except Exception:  # a custom function that fails on the probe is not the named one
        return False


def activation_name(act: Activation, where: str) -> str:
    """``act.name`` when loading that name gives back the same function, else a ``TypeError``."""
    try:
        ref = activation_from_name(act.name)
    except ValueError:
        ref = None
    if ref is None or (ref is not act and not _same_activation(act, ref)):
        raise TypeError(
            f"{where}: activation {act.name!r} cannot be saved: a file names its activations, and "
            f"only the registered ones {sorted(ACTIVATIONS)} and relu(derivative_at_zero=d) can be "
            "named (a custom Activation, or one that computes other values than the one of its name, "
            "cannot)"
        )
    return act.name


def loss_name(loss: Loss) -> str:
    """``loss.name`` when it is the registered loss of that name, else a ``TypeError``."""
    if LOSSES.get(loss.name) is not loss:
        raise TypeError(
            f"loss {loss.name!r} cannot be saved: a file names its loss, and only the registered "
            f"losses {sorted(LOSSES)} can be named (a custom Loss cannot)"
        )
    return loss.name


def _unit_id(i: object) -> int | str:
    if type(i) not in (int, str):
        raise TypeError(
            f"unit id {i!r} ({type(i).__name__}) cannot be saved: a file keeps unit ids as JSON, "
            "which gives back exactly only int and str ids; renumber the units with ints or strs"
        )
    return i  # type: ignore[return-value]


def write_npz(path: str | os.PathLike, config: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write ``config`` (as the JSON entry ``config``) and ``arrays`` to ``path`` (``.npz`` added when missing).

    The file is written under a temporary name and then renamed, so an interrupted save
    (say, of a checkpoint overwriting the previous one) leaves the old file whole.
    """
    target = npz_path(path)
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, config=np.array(json.dumps(config, allow_nan=False)), **arrays)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def network_contents(net: Any) -> tuple[dict, dict[str, np.ndarray]]:
    """The configuration and arrays of a :class:`~bplit.Network`'s file.

    Raises
    ------
    TypeError
        For a custom activation or loss.
    """
    activation_name(net.hidden_activation, "hidden layers")
    activation_name(net.output_activation, "output layer")
    loss_name(net.loss_fn)
    config = {"format_version": FORMAT_VERSION, "kind": "Network", **net.config()}
    arrays = {f"weights_{l}": w for l, w in enumerate(net.weights)}
    arrays.update({f"biases_{l}": b for l, b in enumerate(net.biases)})
    return config, arrays


def write_network(net: Any, path: str | os.PathLike) -> None:
    """Write ``net`` (a checked :class:`~bplit.Network`) to ``path`` (``.npz`` added when missing)."""
    npz_path(path)
    write_npz(path, *network_contents(net))


def write_graph_network(g: Any, path: str | os.PathLike) -> None:
    """Write the :class:`~bplit.GraphNetwork` ``g`` (with checked parameters) to ``path`` (``.npz`` added when missing).

    Raises
    ------
    TypeError
        For a unit id other than an int or a str, a custom activation or loss.
    """
    npz_path(path)  # a bad path fails before anything else is looked at
    write_npz(path, *graph_contents(g))


def graph_contents(g: Any) -> tuple[dict, dict[str, np.ndarray]]:
    """The configuration and arrays of a :class:`~bplit.GraphNetwork`'s file.

    Raises
    ------
    TypeError
        For a unit id other than an int or a str, a custom activation or loss.
    """
    layers = [[_unit_id(i) for i in layer] for layer in g.layers]
    rest = g.hidden_and_output
    activations = [activation_name(g.f[i], f"unit {i!r}") for i in rest]
    network = None
    if g.network_config:  # made by GraphNetwork.from_network: what to_network gives back
        hidden = get_activation(g.network_config["hidden"])
        network = {"hidden": activation_name(hidden, "hidden layers"), "init": g.network_config["init"]}
    config = {
        "format_version": FORMAT_VERSION,
        "kind": "GraphNetwork",
        "layers": layers,
        "upstream": [list(g.S[i]) for i in rest],
        "activations": activations,
        "loss": loss_name(g.loss_fn),
        "reduction": g.reduction,
        "init": g.init,
        "dtype": g.dtype.name,
        "network": network,
    }
    return config, {"w": g.w.array, "b": g.b.array}
