r"""Labels and alt text of :mod:`bplit.draw` (no matplotlib here): the notation presets.

Kept apart so that :mod:`bplit.draw` stays short; import from :mod:`bplit.draw`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from numbers import Real
from typing import Any

from . import GraphNetwork, Network  # the public names (bplit.graph may be split)

MAX_UNITS = 8
"""At most this many units of one layer are drawn; the rest are a vertical ellipsis."""

GRAPH_FORWARD = r"forward: $x_i = {\sum}_{j \in \mathbb{S}_i} w_{ij}\,y_j + b_i$,  $y_i = f_i(x_i)$"
GRAPH_BACKWARD = r"backward: $p_i = ({\sum}_{k \in \mathbb{D}_i} p_k\,w_{ki})\,f_i\,'(x_i)$"


def _ix(*idx: int) -> str:
    """1-based indices written together (``24``), with commas once one has two digits."""
    parts = [str(i + 1) for i in idx]
    return ("," if any(len(p) > 1 for p in parts) else "").join(parts)


def _role(l: int, L: int) -> str:
    return " (input)" if l == 0 else " (output)" if l == L else ""


@dataclass(frozen=True)
class Notation:
    """How a picture names things: each field can be overridden in :func:`network`.

    Attributes
    ----------
    name, source : str
        Key in :data:`NOTATIONS` and the words used for it in alt text.
    unit : callable ``(l, j) -> str``
        Label inside unit ``j`` of layer ``l`` (bplit's 0-based indices).
    layer : callable ``(l, L) -> str``
        Heading of layer ``l`` (``L`` is the index of the output layer).
    params : callable ``l -> str``
        Label of the parameters between layer ``l`` and ``l + 1`` (``weights[l]``).
    weight : callable ``(l, j, k) -> str``
        Name of ``weights[l][j, k]`` (from unit ``k`` of layer ``l`` to ``j`` of ``l+1``).
    forward, backward : str
        Texts of the arrows that mark the forward and the backward pass.
    words : str
        The notation in plain words, for :func:`describe`.
    """

    name: str
    source: str
    unit: Callable[[int, int], str]
    layer: Callable[[int, int], str]
    params: Callable[[int], str]
    weight: Callable[[int, int, int], str]
    forward: str
    backward: str
    words: str
    global_numbers: bool = False


NOTATIONS: dict[str, Notation] = {
    n.name: n
    for n in [
        Notation(
            "outin",
            "source 000's out/in notation",
            unit=lambda l, j: f"$out_{{{_ix(j)}}}$",  # j: a number over the whole network
            layer=lambda l, L: f"layer {l}{_role(l, L)}",
            params=lambda l: "$w_{jk}$",
            weight=lambda l, j, k: f"$w_{{{_ix(k, j)}}}$",
            forward=r"forward: $in_k = {\sum}_j w_{jk}\,out_j$,  $out_k = f(in_k)$",
            backward=r"backward: $\delta_k = f\,'(in_k) {\sum}_i w_{ki}\,\delta_i$",
            words="the out/in notation of source 000 (units numbered 1, 2, ... through the whole "
            "network, unit outputs out_j, inputs in_k, weight w_jk from unit j of layer l-1 to "
            "unit k of layer l, layers counted from 0)",
            global_numbers=True,
        ),
        Notation(
            "column",
            "source 001's column-vector notation",
            unit=lambda l, j: f"$a^{{{l}}}_{{{_ix(j)}}}$",
            layer=lambda l, L: f"$a^{{{l}}}$ (input)" if l == 0 else f"$z^{{{l}}},\\ a^{{{l}}}${_role(l, L)}",
            params=lambda l: f"$W^{{{l + 1}}},\\ b^{{{l + 1}}}$",
            weight=lambda l, j, k: f"$W^{{{l + 1}}}_{{{_ix(j, k)}}}$",
            forward=r"forward: $z^l = W^l a^{l-1} + b^l$,  $a^l = \sigma(z^l)$",
            backward=r"backward: $\delta^l = (W^{l+1})^\top \delta^{l+1} \circ \sigma'(z^l)$",
            words="the column-vector notation of source 001 (input a^0, layer l computes "
            "z^l = W^l a^(l-1) + b^l and a^l = sigma(z^l), weight matrix W^l and bias b^l "
            "between layers l-1 and l)",
        ),
        Notation(
            "nielsen",
            "source 003's notation (Nielsen's)",
            unit=lambda l, j: f"$a^{{{l + 1}}}_{{{_ix(j)}}}$",
            layer=lambda l, L: f"layer {l + 1}{_role(l, L)}",
            params=lambda l: f"$w^{{{l + 2}}},\\ b^{{{l + 2}}}$",
            weight=lambda l, j, k: f"$w^{{{l + 2}}}_{{{_ix(j, k)}}}$",
            forward=r"forward: $z^l = w^l a^{l-1} + b^l$,  $a^l = \sigma(z^l)$",
            backward=r"backward: $\delta^l = ((w^{l+1})^\top \delta^{l+1}) \odot \sigma'(z^l)$",
            words="the notation of source 003 (Nielsen's: the input is layer 1, w^l_jk is the "
            "weight from neuron k of layer l-1 to neuron j of layer l, activations a^l, "
            "weighted inputs z^l, errors delta^l)",
        ),
        Notation(
            "rowmajor",
            "source 004's row-per-sample notation",
            unit=lambda l, j: f"$a^{{{l}}}_{{{_ix(j)}}}$",
            layer=lambda l, L: f"layer {l}{_role(l, L)}",
            params=lambda l: f"$w^{{{l}}},\\ b^{{{l}}}$",
            weight=lambda l, j, k: f"$w^{{{l}}}_{{{_ix(k, j)}}}$",
            forward=r"forward: $z^{l+1} = a^l w^l + b^l$,  $a^l = f(z^l)$",
            backward=r"backward: $\Delta^l = (\Delta^{l+1} (w^l)^\top) \circ \theta^l$",
            words="the row-per-sample notation of source 004 (layers 0 to L, layer l feeds "
            "layer l+1 through w^l and b^l, w^l_kj from unit k of layer l to unit j of "
            "layer l+1, errors Delta^l, theta^l = f'(z^l), one sample per row)",
        ),
        Notation(
            "bplit",
            "bplit's own names",
            unit=lambda l, j: f"$a^{{({l})}}_{{{j}}}$",
            layer=lambda l, L: f"layer {l}{_role(l, L)}",
            params=lambda l: f"weights[{l}]\nbiases[{l}]",
            weight=lambda l, j, k: f"weights[{l}][{j}, {k}]",
            forward=r"forward: $z^{(l)} = a^{(l)} W_l^\top + b_l$,  $a^{(l+1)} = f(z^{(l)})$",
            backward=r"backward: deltas[l] $= \partial C / \partial z^{(l)}$",
            words="bplit's own names (layers from 0, weights[l][j, k] from unit k of layer l "
            "to unit j of layer l+1, activations a[l], errors deltas[l])",
        ),
    ]
}
_LABEL_KEYS = ("unit", "layer", "params", "weight", "forward", "backward")


# ---------------------------------------------------------------------- layout
def slots(n: int, max_units: int, keep: Sequence[int] = ()) -> list[int | None]:
    """Unit indices to draw, top to bottom, with ``None`` where an ellipsis stands."""
    if n <= max_units:
        return list(range(n))
    tail = (max_units - 1) // 2
    shown = set(range(max_units - 1 - tail)) | set(range(n - tail, n))
    for i in keep:
        if i not in shown:  # swap the last unit of the head for the one that must show
            shown.discard(max(s for s in shown if s < n - tail))
            shown.add(i)
    out: list[int | None] = []
    for i in sorted(shown):
        if out and out[-1] is not None and i > out[-1] + 1:
            out.append(None)
        out.append(i)
    return out


def two_lines(text: str) -> str:
    """``"layer 2 (output)"`` as ``"layer 2\\n(output)"``: a final plain-text ``( ... )``
    goes on a line of its own, so that a heading is no wider than its column."""
    head, sep, tail = text.rpartition(" (")
    if not sep or not head or "\n" in text or "$" in tail or not tail.endswith(")"):
        return text
    return f"{head}\n({tail}"


def label_spot(
    w: float, h: float, a: tuple[float, float], b: tuple[float, float], units: list, r: float
) -> tuple[float, float, str, float]:
    """Centre ``(x, y)``, vertical alignment and rotation (degrees) of a ``w`` by ``h`` label
    naming the line a-b: above its middle; when the line is too steep for that, on the line
    where the label covers the least of the units (circles of radius ``r`` at ``units``);
    and if it covers some wherever it goes, along the line at its middle."""
    (xa, ya), (xb, yb) = a, b
    if abs((yb - ya) / (xb - xa)) * w / 2 < 0.25:
        return (xa + xb) / 2, (ya + yb) / 2 + 0.32, "bottom", 0.0

    def covered(t: float) -> float:
        x, y = xa + t * (xb - xa), ya + t * (yb - ya)
        return sum(
            max(0.0, min(x + w / 2, ux + r) - max(x - w / 2, ux - r))
            * max(0.0, min(y + h / 2, uy + r) - max(y - h / 2, uy - r))
            for ux, uy in units
        )

    ts = [0.5 + d * s / 20 for d in range(7) for s in (1, -1)]  # 0.2 .. 0.8, the middle first
    t = min(ts, key=lambda t: (round(covered(t), 4), abs(t - 0.5)))
    if covered(t) > 0.01:
        return (xa + xb) / 2, (ya + yb) / 2, "center", math.degrees(math.atan((yb - ya) / (xb - xa)))
    return xa + t * (xb - xa), ya + t * (yb - ya), "center", 0.0


def unit_set(units: Sequence[Hashable]) -> str:
    """Mathtext of a set of unit ids, ``\\{1, 2\\}``."""
    return "\\{" + ", ".join(str(u) for u in units) + "\\}"


# ---------------------------------------------------------------------- checks
def check_spacing(spacing: object, least: float) -> float:
    if isinstance(spacing, bool) or not isinstance(spacing, Real) or not spacing > least:
        raise ValueError(
            f"spacing must be a number > {least:g} (the distance between columns, in unit heights, "
            f"more than a unit's diameter), got {spacing!r}"
        )
    return float(spacing)


def check_drawings(drawings: object, ncols: object) -> tuple[list, int]:
    items = list(drawings) if isinstance(drawings, Sequence) and not isinstance(drawings, str) else None
    if not items:
        raise ValueError(f"panels() needs a non-empty sequence of (title, draw) pairs, got {drawings!r}")
    for item in items:
        if not (
            isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and callable(item[1])
        ):
            raise TypeError(f"each drawing must be a (title, callable(ax)) pair, got {item!r}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    return items, ncols


def make_notation(notation: object, labels: dict[str, Any], sizes: Sequence[int]) -> Notation:
    if not isinstance(notation, str):
        raise TypeError(f"notation must be a str, one of {sorted(NOTATIONS)}, got {type(notation).__name__}")
    if notation not in NOTATIONS:
        raise ValueError(f"unknown notation {notation!r}; known notations: {', '.join(sorted(NOTATIONS))}")
    unknown = sorted(set(labels) - set(_LABEL_KEYS))
    if unknown:
        raise TypeError(f"unknown label keyword(s) {unknown}; labels can be {list(_LABEL_KEYS)}")
    for key, value in labels.items():
        if key in ("forward", "backward") and not isinstance(value, str):
            raise TypeError(f"{key} must be a str (the arrow's text), got {type(value).__name__}")
        if key not in ("forward", "backward") and not callable(value):
            raise TypeError(f"{key} must be a callable returning the label text, got {type(value).__name__}")
    nt = NOTATIONS[notation]
    if nt.global_numbers:  # the preset's own labels number units through the network
        off = [sum(sizes[:l]) for l in range(len(sizes))]
        unit, weight = nt.unit, nt.weight
        nt = replace(
            nt,
            unit=lambda l, j: unit(l, off[l] + j),
            weight=lambda l, j, k: weight(l, off[l + 1] + j, off[l] + k),
        )
    return replace(nt, **labels)


def check_network(net: object) -> Network:
    if isinstance(net, GraphNetwork):
        raise TypeError(
            "network() draws a layered bplit.Network; for a bplit.GraphNetwork use bplit.draw.graph()"
        )
    if not isinstance(net, Network):
        raise TypeError(f"expected a bplit.Network, got {type(net).__name__}")
    return net


def check_highlight(net: Network, highlight: object) -> tuple[int, int, int] | None:
    if highlight is None:
        return None
    L = len(net.sizes) - 1
    if (
        not isinstance(highlight, Sequence)
        or len(highlight) != 3
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in highlight)
    ):
        raise TypeError(
            f"highlight must be a tuple (l, j, k) of three ints naming weights[l][j, k], got {highlight!r}"
        )
    l, j, k = highlight
    if not 0 <= l < L:
        raise ValueError(f"highlight layer l={l} out of range: weights[l] exists for 0 <= l <= {L - 1}")
    n_to, n_from = net.sizes[l + 1], net.sizes[l]
    if not (0 <= j < n_to and 0 <= k < n_from):
        raise ValueError(
            f"highlight (l, j, k) = {tuple(highlight)} out of range: weights[{l}] has shape "
            f"({n_to}, {n_from}), so 0 <= j <= {n_to - 1} and 0 <= k <= {n_from - 1}"
        )
    return l, j, k


def check_max_units(max_units: object) -> int:
    if not isinstance(max_units, int) or isinstance(max_units, bool) or max_units < 3:
        raise ValueError(f"max_units must be an int >= 3, got {max_units!r}")
    return max_units


# ---------------------------------------------------------------------- alt text
def describe(
    net: Network | GraphNetwork,
    notation: str = "bplit",
    *,
    highlight: tuple[int, int, int] | None = None,
    unit: Hashable | None = None,
    max_units: int = MAX_UNITS,
    **labels: Any,
) -> str:
    """One paragraph of alt text for :func:`network` or :func:`graph` called alike.

    Parameters
    ----------
    net : bplit.Network or bplit.GraphNetwork
        The drawn network.
    notation : str
        As in :func:`network` (ignored for a graph, always source 002's notation).
    highlight : tuple of int, optional
        As in :func:`network`: the alt text names the emphasised weight.
    unit : hashable, optional
        As in :func:`graph`: the alt text lists its upstream and downstream sets.
    max_units : int
        As in :func:`network`: layers above it are said to be abbreviated.
    **labels
        As in :func:`network`; ``weight`` is used to name the highlighted weight.

    Returns
    -------
    str
        Plain text (no mathtext), for a figure's ``alt``.
    """
    if isinstance(net, GraphNetwork):
        if unit is not None and unit not in net.layer_of:
            raise ValueError(f"unit {unit!r} is not a unit of the network; its units are {list(net.units)}")
        sizes = ", ".join(f"{len(layer)}" for layer in net.layers)
        skips = sum(1 for i, j in net.edges if net.layer_of[i] - net.layer_of[j] > 1)
        text = (
            f"A network of {len(net.units)} units on a directed acyclic graph, in {net.N} layers "
            f"U_1 to U_{net.N} of {sizes} units (inputs on the left), drawn in source 002's notation: "
            f"unit i receives x_i and outputs y_i, and each of the {len(net.edges)} edges is an arrow "
            f"from an upstream unit j in S_i to unit i"
            + (f" ({skips} of them skip a layer and are curved)" if skips else "")
            + ". "
        )
        if unit is not None:
            text += (
                f"Unit {unit} is highlighted: its upstream set S_{unit} = "
                f"{{{', '.join(map(str, net.S[unit]))}}} is coloured blue and its downstream set "
                f"D_{unit} = {{{', '.join(map(str, net.D[unit]))}}} orange. "
            )
        return text + (
            "An arrow above the picture points from left to right and marks the forward pass "
            "x_i = sum over j in S_i of w_ij y_j + b_i, y_i = f_i(x_i); an arrow below points from right "
            "to left and marks the backward pass p_i = (sum over k in D_i of p_k w_ki) f_i'(x_i)."
        )
    net = check_network(net)
    nt = make_notation(notation, labels, net.sizes)
    hl = check_highlight(net, highlight)
    max_units = check_max_units(max_units)
    sizes = net.sizes
    listed = ", ".join(map(str, sizes[:-1])) + f" and {sizes[-1]}"
    hidden = len(sizes) - 2
    text = (
        f"A layered network with {len(sizes)} layers of {listed} units "
        f"({sizes[0]} inputs, {hidden} hidden layer{'s' if hidden != 1 else ''}, {sizes[-1]} outputs), "
        f"drawn in {nt.words}. Units are circles in columns, inputs on the left, and every unit "
        f"is joined by a line to every unit of the next layer ({sum(w.size for w in net.weights)} weights)."
    )
    big = [f"layer {l} ({n} units)" for l, n in enumerate(sizes) if n > max_units]
    if big:
        text += f" Large layers are abbreviated to a few units and a vertical ellipsis: {', '.join(big)}."
    if hl is not None:
        l, j, k = hl
        name = nt.weight(l, j, k).replace("$", "").replace("{", "").replace("}", "")
        text += (
            f" One weight is highlighted and labelled {name}: the one from unit {k + 1} (counting from "
            f"the top) of the {_ordinal(l + 1)} column to unit {j + 1} of the {_ordinal(l + 2)} "
            f"(weights[{l}][{j}, {k}] in bplit)."
        )
    return text + (
        " An arrow above the columns points from left to right and marks the forward pass; an arrow "
        "below points from right to left and marks the backward pass of the errors."
    )


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}.get(n, f"{n}th")
