"""Save and load networks, and checkpoints of training, as ``.npz`` files: numbers and JSON, no pickle.

:func:`save` writes a :class:`~bplit.Network` or a :class:`~bplit.GraphNetwork` (through
the writer in ``bplit/_npz_writer.py``, which the networks' ``save`` methods share);
with ``optimizer=opt`` it writes a *checkpoint*: the network plus the optimizer's
class, hyper-parameters, :attr:`~bplit.Optimizer.epoch` and state for that network.
:func:`load` reads either kind of network back, exactly (same parameters, bit for bit,
same structure, activations, loss, reduction and initialisation scheme), and
:func:`load_checkpoint` the network and the optimizer, so that training resumes as if
it had not stopped.

File format
-----------
An ``.npz`` archive (NumPy's zip of uncompressed ``.npy`` arrays) with an entry
``config``: a 0-d unicode array holding a JSON object with ``format_version`` and
``kind`` (``"Network"`` or ``"GraphNetwork"``), and the arrays of that kind.

``kind = "Network"``
    The other keys are :meth:`Network.config`: ``sizes``, ``hidden``, ``output``,
    ``loss``, ``dtype``, ``reduction``, ``init``.  Arrays ``weights_0 …
    weights_{L-1}`` of shape ``(sizes[l+1], sizes[l])`` and ``biases_0 …
    biases_{L-1}`` of shape ``(sizes[l+1],)``, in the network's dtype (``float32``,
    ``float64``, or ``longdouble``, which reads back only where it has the same size).
``kind = "GraphNetwork"``
    ``layers`` (:math:`\\mathbb{U}_1, \\dots, \\mathbb{U}_N`: lists of unit ids);
    ``upstream`` (:math:`\\mathbb{S}_i` of every non-input unit, listed in the order of
    the layers) and ``activations`` (:math:`f_i`, same order); ``loss``,
    ``reduction``, ``init``, ``dtype`` (``"float64"``); ``network``: ``null``, or for
    a graph made by :meth:`GraphNetwork.from_network` the ``hidden`` activation and
    ``init`` that :meth:`GraphNetwork.to_network` gives back.  Arrays ``w`` (one
    weight per edge, in the order of :attr:`GraphNetwork.edges`: unit by unit, ``j``
    in :math:`\\mathbb{S}_i`'s order) and ``b`` (one bias per non-input unit), float64.

Versions: 1 (bplit 0.1: a ``Network`` without ``kind``) is still read; 2
(``FORMAT_VERSION``) is a network file as above; 3 (``CHECKPOINT_VERSION``) is a
checkpoint: version 2 plus the key ``optimizer``, an object with ``class`` (a name in
:data:`bplit.optim.OPTIMIZERS`: ``"SGD"`` or ``"Adam"``), ``hyperparameters`` (the
optimizer's :meth:`~bplit.optim.SGD.config`), ``epoch`` and ``step`` (``null`` when the
optimizer keeps no state for the network yet, or none at all), and for every name
``k`` in the class's ``state_keys`` the arrays ``optimizer_{k}_{i}``, one per
parameter array ``i`` of ``net.parameters()`` (weights, then biases), in its shape and
dtype.

Names, not code: an activation is a registered name (``"sigmoid"``, ``"tanh"``,
``"relu"``, ``"identity"``, ``"softmax"``) or ``"relu(derivative_at_zero=d)"``; a
loss is a registered name; an optimizer is one of bplit's own classes with a number
as learning rate.  A custom :class:`~bplit.Activation`, :class:`~bplit.Loss` or
:class:`~bplit.Optimizer` (a subclass of SGD or Adam included), or a learning-rate
schedule (a callable), cannot be named, so :func:`save` refuses it (``TypeError``).
Unit ids are stored as JSON, which gives back exactly ``int`` and ``str`` ids; a
graph with other ids (tuples, floats, NumPy integers, ...) is refused the same way.

Paths follow :func:`numpy.savez`'s rule: ``save(net, "model")`` writes
``model.npz``; a path that already ends in ``.npz`` is used as it is.  ``load`` takes
the same path and reads the same file (or, if only that exists, the file named
exactly ``path``).  A save writes a temporary file and renames it, so an interrupted
save leaves an older file of that name whole.

Reading never unpickles and never trusts a size: it parses the configuration first and
checks it key by key (types, versions), derives from it the shape and dtype of every
array, compares them with each member's ``.npy`` header and the member's size in the
zip directory *before reading any array or building anything*, then reads the arrays
(checked finite) into the network, built with the constructors' own checks.  So a
truncated, corrupted or hostile file raises :class:`ValueError` naming what is wrong,
and :func:`load` never allocates more than the file's own arrays (the network is made
of them; a buffer of 256 KB aside): not what a configuration claims.  (Measured with
tracemalloc: 2.6 MB to load 2.0 MB of arrays; :func:`load_checkpoint` once more the
optimizer's state, which :meth:`~bplit.Optimizer.load_state_dict` copies.)
"""

from __future__ import annotations

import inspect
import json
import os
import reprlib
from collections.abc import Callable

import numpy as np

from . import _npz_writer as W
from . import _validation as V
from ._npz_reader import Archive, ArchiveError
from .graph import GraphNetwork
from .network import INITIALIZERS, Network
from .optim import OPTIMIZERS, Optimizer

__all__ = ["save", "load", "load_checkpoint", "FORMAT_VERSION", "CHECKPOINT_VERSION"]

FORMAT_VERSION = W.FORMAT_VERSION  # 2: a network
CHECKPOINT_VERSION = 3  # a network and an optimizer
READABLE_VERSIONS = (1, 2, 3)
_NETWORK_KEYS = {"sizes", "hidden", "output", "loss", "dtype", "reduction", "init"}
_GRAPH_KEYS = {"layers", "upstream", "activations", "loss", "reduction", "init", "dtype", "network"}
_OPTIMIZER_KEYS = {"class", "hyperparameters", "epoch", "step"}
_repr = reprlib.Repr()  # hostile values stay short in error messages
_repr.maxlist, _repr.maxdict, _repr.maxstring, _repr.maxother = 8, 8, 60, 60
_short = _repr.repr

Shape = tuple[tuple[int, ...], np.dtype]  # (shape, dtype) of an array
Shapes = dict[str, Shape]  # array name -> (shape, dtype)


def save(net: Network | GraphNetwork, path: str | os.PathLike, optimizer: Optimizer | None = None) -> None:
    """Write ``net`` to ``path`` (``.npz``, added when missing; no pickle), with ``optimizer`` a checkpoint.

    Parameters
    ----------
    net : Network or GraphNetwork
    path : str or os.PathLike
        ``"model"`` writes ``model.npz``; :func:`load` (or :func:`load_checkpoint`)
        takes the same ``path``.
    optimizer : bplit.optim.SGD or bplit.optim.Adam, optional
        Also write the optimizer: its hyper-parameters (:meth:`~bplit.optim.SGD.config`),
        its :attr:`~bplit.Optimizer.epoch` and its state for ``net``
        (:meth:`~bplit.Optimizer.state_dict`, e.g. the momentum velocity or Adam's
        moments and step count). Only bplit's own optimizer classes, with a number as
        learning rate, can be saved; the state kept for other networks is not.

    Raises
    ------
    TypeError
        If ``net`` is neither kind of network, ``path`` is not a file name, the network
        holds something a file cannot name (a custom activation or loss, a unit id other
        than an int or a str; see the module docstring), or ``optimizer`` is not an
        :class:`~bplit.optim.SGD` or :class:`~bplit.optim.Adam` with a numeric learning rate.
    ValueError
        If a parameter is NaN or infinite.

    Examples
    --------
    >>> import numpy as np, bplit, tempfile, os
    >>> net, opt = bplit.Network([2, 3, 1], seed=0), bplit.optim.Adam(0.01)
    >>> _ = opt.step(net, np.ones((4, 2)), np.zeros((4, 1)))
    >>> path = os.path.join(tempfile.mkdtemp(), "run")
    >>> bplit.save(net, path, optimizer=opt)
    >>> net2, opt2 = bplit.load_checkpoint(path)
    >>> opt2.state_dict(net2)["step"], opt2.config() == opt.config()
    (1, True)
    """
    W.npz_path(path)
    if not isinstance(net, (Network, GraphNetwork)):
        raise TypeError(f"save expects a bplit.Network or a bplit.GraphNetwork, got {type(net).__name__}")
    if optimizer is None:
        net.save(path)
        return
    name = _saveable_optimizer(optimizer)
    net.check_params()
    config, arrays = W.network_contents(net) if isinstance(net, Network) else W.graph_contents(net)
    state = optimizer.state_dict(net)
    config["format_version"] = CHECKPOINT_VERSION
    config["optimizer"] = {
        "class": name,
        "hyperparameters": optimizer.config(),
        "epoch": optimizer.epoch,
        "step": None if state is None else int(state["step"]),
    }
    for key in [] if state is None else type(optimizer).state_keys:
        arrays.update({f"optimizer_{key}_{i}": a for i, a in enumerate(state[key])})
    W.write_npz(path, config, arrays)


def _saveable_optimizer(opt: object) -> str:
    """The class name of ``opt`` if a checkpoint can hold it, else a ``TypeError`` saying why."""
    name = type(opt).__name__
    if OPTIMIZERS.get(name) is not type(opt):
        raise TypeError(
            f"optimizer must be a bplit.optim.{' or '.join(sorted(OPTIMIZERS))} to be saved, got {name}: "
            "a checkpoint names the optimizer's class and stores its numbers, so only bplit's own "
            "classes can be rebuilt from it (not a subclass of them, nor another Optimizer)"
        )
    if callable(opt.learning_rate):  # type: ignore[attr-defined]
        raise TypeError(
            f"{name}'s learning rate is a schedule (a callable), which a checkpoint cannot store: it "
            "holds numbers, not code. Save an optimizer with a number as learning rate, and after "
            "load_checkpoint set opt.learning_rate to the schedule again"
        )
    return name


def load(path: str | os.PathLike) -> Network | GraphNetwork:
    """Read a network written by :func:`save` (given the same ``path``).

    A checkpoint is read (and checked) whole, and its network returned.

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
        unexpected arrays, or anything disagrees with the stored configuration; the
        message names the entry and, for an array, the expected and the found shape
        and dtype.
    """
    return _read(path)[0]


def load_checkpoint(path: str | os.PathLike) -> tuple[Network | GraphNetwork, Optimizer]:
    """Read a checkpoint written by ``save(net, path, optimizer=opt)``: ``net, opt = load_checkpoint(path)``.

    Returns
    -------
    net : Network or GraphNetwork
        As :func:`load` gives it.
    opt : bplit.optim.SGD or bplit.optim.Adam
        The optimizer's class with the saved hyper-parameters and
        :attr:`~bplit.Optimizer.epoch`, holding the saved state for ``net``: its next
        step on ``net`` is the one the saved optimizer would have made, bit for bit.

    Raises
    ------
    TypeError
        If ``path`` is not a ``str`` or an ``os.PathLike``.
    ValueError
        As :func:`load`, or if the file holds a network without an optimizer, or the
        optimizer's class, hyper-parameters or state do not fit the network.
    """
    net, opt = _read(path)
    if opt is None:
        raise ValueError(
            f"{os.fspath(path)!r} holds a network without an optimizer (written by save without "
            "optimizer=); read it with bplit.load"
        )
    return net, opt


# ---------------------------------------------------------------------------- reading


def _read(path: str | os.PathLike) -> tuple[Network | GraphNetwork, Optimizer | None]:
    """The network and the optimizer (``None`` unless a checkpoint) of the file for ``path``."""
    name = W.npz_path(path)
    given = os.fspath(path)
    if not os.path.exists(name) and os.path.isfile(given):
        name = given
    try:
        archive = Archive(name)
    except FileNotFoundError:
        tried = repr(name) if name == given else f"{name!r} (what save wrote for it) nor {given!r}"
        raise ValueError(
            f"{given!r} is not a readable bplit network file: there is no file {tried}"
        ) from None
    except (OSError, ArchiveError) as err:
        raise ValueError(f"{name!r} is not a readable bplit network file: {err}") from None
    try:
        with archive:
            config = _config(archive)
            version = config.get("format_version")
            if type(version) is not int or version not in READABLE_VERSIONS:
                raise ValueError(
                    f"unsupported format_version {_short(version)}; this bplit reads {list(READABLE_VERSIONS)}"
                )
            kind = "Network" if version == 1 else config.get("kind")
            extra = {"format_version"} | ({"kind"} if version > 1 else set())
            extra |= {"optimizer"} if version == CHECKPOINT_VERSION else set()
            if kind == "Network":
                _check_keys(config, _NETWORK_KEYS | extra, "Network")
                shapes, params, build = _network_spec(config, len(archive.names) - 1)
            elif kind == "GraphNetwork":
                _check_keys(config, _GRAPH_KEYS | extra, "GraphNetwork")
                shapes, params, build = _graph_spec(config)
            else:
                raise ValueError(
                    f"network file has kind {_short(kind)}; expected 'Network' or 'GraphNetwork'"
                )
            opt, state_shapes = None, {}
            if version == CHECKPOINT_VERSION:
                opt, step, state_shapes = _optimizer_spec(config["optimizer"], params)
            _check_headers(archive, {**shapes, **state_shapes})  # nothing is read nor built before this
            net = build(archive)
            if opt is not None and step is not None:
                keys = type(opt).state_keys
                arrays = {
                    k: [_finite(archive, f"optimizer_{k}_{i}") for i in range(len(params))] for k in keys
                }
                opt.load_state_dict(net, {"step": step, **arrays})
    except ArchiveError as err:
        raise ValueError(f"{name!r} is not a readable bplit network file: {err}") from None
    return net, opt


def _config(archive: Archive) -> dict:
    """The file's JSON configuration (an object), its member checked before it is read."""
    if "config" not in archive.names:
        raise ValueError("network file has no 'config' entry (a JSON string)")
    shape, dtype = archive.header("config")
    if shape != () or dtype.kind != "U":
        raise ValueError(
            f"network file's 'config' must be a JSON string, got shape {shape} and dtype {dtype}"
        )
    try:
        config = json.loads(str(archive.read("config")))
    except (ValueError, RecursionError) as err:  # JSONDecodeError, too many digits, too deep
        raise ValueError(f"network file has a corrupted 'config': {_short(str(err))}") from None
    if not isinstance(config, dict):
        raise ValueError(f"network file's config must be a JSON object, got {_short(config)}")
    return config


def _check_keys(config: dict, expected: set[str], kind: str) -> None:
    if set(config) != expected:
        raise ValueError(
            f"{kind} config must have exactly the keys {sorted(expected)}, got {_short(sorted(config))}"
        )


def _check_headers(archive: Archive, shapes: Shapes) -> None:
    """Every array the configuration implies is in the file with that shape and dtype, and no other."""
    found = archive.names - {"config"}
    if found != set(shapes):
        extra, missing = sorted(found - set(shapes)), sorted(set(shapes) - found)
        raise ValueError(
            f"network file arrays do not match its config: unexpected {_short(extra)}, missing {_short(missing)}"
        )
    for name, (shape, dtype) in shapes.items():
        got_shape, got_dtype = archive.header(name)
        if got_shape != shape or got_dtype != dtype:
            raise ValueError(
                f"{name} must have shape {_short(shape)} and dtype {dtype} (from the file's config), "
                f"got {_short(got_shape)} and {got_dtype}"
            )


def _finite(archive: Archive, name: str) -> np.ndarray:
    arr = archive.read(name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _network_spec(config: dict, n_arrays: int) -> tuple[Shapes, list[Shape], Callable[[Archive], Network]]:
    """The arrays a Network file must hold (it holds ``n_arrays``), its parameters' shapes, and the builder."""
    names = [d.name for d in V.NETWORK_DTYPES]  # float32, float64 and this machine's longdouble
    if config["dtype"] not in names:
        raise ValueError(f"network dtype must be one of {names}, got {_short(config['dtype'])}")
    dtype = np.dtype(config["dtype"])
    sizes = config["sizes"]
    if not (isinstance(sizes, list) and len(sizes) >= 2 and all(type(n) is int and n > 0 for n in sizes)):
        raise ValueError(
            f"network sizes must be a list of at least two positive integers, got {_short(sizes)}"
        )
    L = len(sizes) - 1
    if L > n_arrays:  # before lists as long as the claim are made (a near miss is named below)
        raise ValueError(
            f"network sizes describe {L} layers (2 arrays each), but the file holds {n_arrays} arrays"
        )
    params = [((sizes[l + 1], sizes[l]), dtype) for l in range(L)] + [
        ((sizes[l + 1],), dtype) for l in range(L)
    ]
    names = [f"weights_{l}" for l in range(L)] + [f"biases_{l}" for l in range(L)]
    shapes = dict(zip(names, params))

    def build(archive: Archive) -> Network:
        # The constructor checks every name on a network of width 1, so that no random start
        # as large as the file's arrays is made only to be replaced (a constructor taking the
        # arrays is asked for in notes/core-requests.md); then come the file's sizes and arrays,
        # read one at a time, and check_params compares them.
        try:
            net = Network(
                [1] * len(sizes),
                hidden=W.activation_from_name(config["hidden"]),
                output=W.activation_from_name(config["output"]),
                loss=config["loss"],
                dtype=dtype,
                reduction=config["reduction"],
                init=config["init"],
            )
        except (ValueError, TypeError) as err:
            raise ValueError(f"network file describes no valid Network: {err}") from None
        net.sizes = list(sizes)
        net.weights = [np.ascontiguousarray(_finite(archive, f"weights_{l}")) for l in range(L)]
        net.biases = [_finite(archive, f"biases_{l}") for l in range(L)]
        net.check_params()
        return net

    return shapes, params, build


def _unit_ids(value: object, what: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list of unit ids, got {_short(value)}")
    for i in value:
        if type(i) not in (int, str):
            raise ValueError(f"{what}: unit id {_short(i)} is not an int or a str")
    return value


def _graph_spec(config: dict) -> tuple[Shapes, list[Shape], Callable[[Archive], GraphNetwork]]:
    """The arrays a GraphNetwork file must hold, its parameters' shapes, and the builder."""
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
    network = config["network"]
    if network is not None:
        if not isinstance(network, dict) or set(network) != {"hidden", "init"}:
            raise ValueError("network must be null or an object with the keys 'hidden' and 'init'")
        if not isinstance(network["init"], str) or network["init"] not in INITIALIZERS:
            raise ValueError(
                f"network init must be one of {list(INITIALIZERS)}, got {_short(network['init'])}"
            )
        network = {"hidden": W.activation_from_name(network["hidden"]), "init": network["init"]}
    float64 = np.dtype(np.float64)
    params = [((sum(len(s) for s in upstream),), float64), ((len(rest),), float64)]  # per edge, per unit
    shapes = {"w": params[0], "b": params[1]}

    def build(archive: Archive) -> GraphNetwork:
        try:  # the numbers of edges and units match the file's own arrays by now
            g = GraphNetwork(
                layers,
                dict(zip(rest, upstream)),
                {i: W.activation_from_name(a) for i, a in zip(rest, config["activations"])},
                loss=config["loss"],
                reduction=config["reduction"],
                init=config["init"],
            )
        except (ValueError, TypeError) as err:
            raise ValueError(f"network file describes no valid GraphNetwork: {err}") from None
        if [g.w.array.shape, g.b.array.shape] != [s for s, _ in params]:  # cannot differ: a check
            raise ValueError(f"network file describes no valid GraphNetwork: parameters {params} expected")
        g.network_config = network
        np.copyto(g.w.array, _finite(archive, "w"))
        np.copyto(g.b.array, _finite(archive, "b"))
        return g

    return shapes, params, build


def _optimizer_spec(spec: object, params: list[Shape]) -> tuple[Optimizer, int | None, Shapes]:
    """The optimizer a checkpoint describes (without state), its step count, and the state arrays' shapes."""
    if not isinstance(spec, dict) or set(spec) != _OPTIMIZER_KEYS:
        raise ValueError(f"checkpoint optimizer must be an object with the keys {sorted(_OPTIMIZER_KEYS)}")
    cls = OPTIMIZERS.get(spec["class"]) if isinstance(spec["class"], str) else None
    if cls is None:
        raise ValueError(
            f"checkpoint optimizer class must be one of {sorted(OPTIMIZERS)}, got {_short(spec['class'])}"
        )
    hyper = spec["hyperparameters"]
    accepted = set(inspect.signature(cls).parameters)
    if not isinstance(hyper, dict) or set(hyper) != accepted:
        raise ValueError(f"{cls.__name__} hyperparameters must have exactly the keys {sorted(accepted)}")
    try:
        opt = cls(**hyper)
    except (ValueError, TypeError) as err:
        raise ValueError(f"checkpoint optimizer: {err}") from None
    epoch, step = spec["epoch"], spec["step"]
    if type(epoch) is not int or epoch < 1:
        raise ValueError(f"checkpoint optimizer epoch must be a positive integer, got {_short(epoch)}")
    opt.epoch = epoch
    if step is None:
        return opt, None, {}
    if type(step) is not int or step < 0:
        raise ValueError(f"checkpoint optimizer step must be null or an integer >= 0, got {_short(step)}")
    if opt.init_state([]) is None:
        raise ValueError(f"{opt!r} keeps no state, but the checkpoint has a state (step {step})")
    return opt, step, {f"optimizer_{k}_{i}": p for k in cls.state_keys for i, p in enumerate(params)}
