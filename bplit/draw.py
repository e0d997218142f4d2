r"""Pictures of networks, labelled in the notation of each source of the book.

``bplit.draw`` needs matplotlib (``pip install "bplit[draw]"``); ``import bplit`` does
not import it, ``import bplit.draw`` (or ``from bplit import draw``) does.

* :func:`network` draws a layered :class:`bplit.Network`: units as circles in columns
  (input on the left), every weight as a line, one weight optionally emphasised with
  its name, and two arrows that mark the forward pass (above, left to right) and the
  backward pass (below, right to left).
* :func:`graph` draws a :class:`bplit.GraphNetwork` (source 002): units by layer,
  every edge :math:`j \to i` (for :math:`j \in \mathbb{S}_i`) as an arrow, and for one
  chosen unit its upstream set :math:`\mathbb{S}_i` and downstream set
  :math:`\mathbb{D}_i`.
* :func:`describe` writes the alt text of such a picture (one paragraph).

Labels use matplotlib's mathtext. The notations (keys of :data:`NOTATIONS`):

``"outin"`` (source 000)
    layers ``0 .. L``; units numbered 1, 2, ... through the whole network (the
    source's neuron ``k`` has no layer index); unit outputs :math:`out_j`, inputs
    :math:`in_k`; the weight
    :math:`w_{jk}` goes from unit ``j`` of layer ``l-1`` to unit ``k`` of layer ``l``.
``"column"`` (source 001)
    column vectors :math:`a^0` (input), :math:`z^l, a^l`; :math:`W^l, b^l` between
    layers ``l-1`` and ``l``.
``"nielsen"`` (source 003)
    the input layer is layer 1; :math:`w^l_{jk}` goes from neuron ``k`` of layer
    ``l-1`` to neuron ``j`` of layer ``l``; :math:`z^l, a^l, \delta^l`.
``"rowmajor"`` (source 004)
    layers ``0 .. L``, layer ``l`` feeds ``l+1`` through :math:`w^l, b^l`
    (:math:`w^l_{kj}` from unit ``k`` of layer ``l`` to unit ``j`` of layer ``l+1``),
    errors :math:`\Delta^l`, :math:`\theta^l = f'(z^l)`; rows are samples.
``"bplit"``
    the library's own names: ``weights[l][j, k]`` from unit ``k`` of layer ``l`` to
    unit ``j`` of layer ``l+1``, ``a[l]``, ``z[l]``, ``deltas[l]``.

Indices passed to these functions are always bplit's (0-based, ``weights[l][j, k]``);
the labels show them the way the chosen source writes them.

The figures are not registered with ``matplotlib.pyplot``: in Jupyter make the figure
the last expression of a cell (no ``;``) or call ``display(fig)``; elsewhere use
``fig.savefig(path, dpi=160)``.

Examples
--------
>>> import bplit
>>> from bplit import draw
>>> net = bplit.Network([3, 4, 2], seed=0)
>>> fig = draw.network(net, "column", highlight=(1, 0, 2))
>>> print(draw.describe(net, "column", highlight=(1, 0, 2))[:51])
A layered network with 3 layers of 3, 4 and 2 units
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import matplotlib.axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from . import GraphNetwork, Network  # the public names (bplit.graph may be split)
from ._draw_labels import (
    MAX_UNITS,
    NOTATIONS,
    Notation,
    check_highlight,
    check_max_units,
    check_network,
    describe,
    make_notation,
)

__all__ = ["MAX_UNITS", "NOTATIONS", "Notation", "describe", "graph", "network"]

FORWARD, BACKWARD, HIGHLIGHT, EDGE = "#1f5fa8", "#c4470a", "#b0007a", "#9a9a9a"
UPSTREAM, DOWNSTREAM = "#1f5fa8", "#c4470a"
_SCALE = 0.62  # inches per data unit: one unit slot is 1.0 high
_DX = 2.6  # distance between columns
_DX_GRAPH = 2.0  # between the layers of a graph (its arrows need less room than labelled weights)


def _check_ax(ax: object) -> None:
    if ax is not None and not isinstance(ax, matplotlib.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")


# ---------------------------------------------------------------------- layout
def _slots(n: int, max_units: int, keep: Sequence[int] = ()) -> list[int | None]:
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


def _new_axes(ax: Any) -> tuple[Figure, Any]:
    if ax is not None:
        return ax.figure, ax
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure()
    FigureCanvasAgg(fig)
    return fig, fig.add_axes((0, 0, 1, 1))


def _finish(fig: Figure, ax: Any, own: bool, x: tuple[float, float], y: tuple[float, float]) -> None:
    """Limits that hold every artist; for a figure of our own, a size that fits them at _SCALE."""
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_xlim(*x)
    ax.set_ylim(*y)
    if not own:
        return
    fig.set_size_inches((x[1] - x[0]) * _SCALE, (y[1] - y[0]) * _SCALE)
    renderer = fig.canvas.get_renderer()
    inv = ax.transData.inverted()
    x0, x1, y0, y1 = *x, *y
    for t in ax.texts:
        (a, b), (c, d) = inv.transform(t.get_window_extent(renderer).get_points())
        x0, x1, y0, y1 = min(x0, a - 0.15), max(x1, c + 0.15), min(y0, b - 0.1), max(y1, d + 0.1)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    fig.set_size_inches((x1 - x0) * _SCALE, (y1 - y0) * _SCALE)


def _arrows(ax: Any, x0: float, x1: float, top: float, bottom: float, fwd: str, bwd: str) -> None:
    for y, a, b, text, colour, va, dy in (
        (top, x0, x1, fwd, FORWARD, "bottom", 0.12),
        (bottom, x1, x0, bwd, BACKWARD, "top", -0.12),
    ):
        arrow = FancyArrowPatch((a, y), (b, y), arrowstyle="-|>", mutation_scale=16, lw=1.6, color=colour)
        arrow.set_gid("forward" if colour == FORWARD and va == "bottom" else "backward")
        ax.add_patch(arrow)
        label = ax.text((x0 + x1) / 2, y + dy, text, ha="center", va=va, fontsize=12, color=colour)
        label.set_gid(arrow.get_gid())


def _unit(
    ax: Any, xy: tuple[float, float], text: str, r: float, colour: str = "white", lw: float = 1.2
) -> Circle:
    circle = Circle(xy, r, facecolor=colour, edgecolor="#222222", lw=lw, zorder=3, gid="unit")
    ax.add_patch(circle)
    ax.text(*xy, text, ha="center", va="center", fontsize=11, zorder=4, gid="unit-label")
    return circle


# ---------------------------------------------------------------------- layered
def network(
    net: Network,
    notation: str = "bplit",
    *,
    ax: Any = None,
    highlight: tuple[int, int, int] | None = None,
    max_units: int = MAX_UNITS,
    **labels: Any,
) -> Figure:
    r"""Draw a layered network, labelled in one source's notation.

    Parameters
    ----------
    net : bplit.Network
        The network to draw (its ``sizes``).
    notation : str
        A key of :data:`NOTATIONS`: ``"outin"``, ``"column"``, ``"nielsen"``,
        ``"rowmajor"`` or ``"bplit"`` (default).
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (their figure is returned, its size left alone);
        by default a new figure sized to the drawing.
    highlight : tuple of int, optional
        ``(l, j, k)``: emphasise the weight ``net.weights[l][j, k]`` (bplit's 0-based
        indices, from unit ``k`` of layer ``l`` to unit ``j`` of layer ``l+1``) and
        write its name, e.g. ``(1, 1, 3)`` is :math:`w^3_{24}` in ``"nielsen"``.
    max_units : int
        Layers with more units show the first and last few and a vertical ellipsis,
        with the count ("784 units") under the column.
    **labels
        Override parts of the notation (see :class:`Notation`): ``unit(l, j)``,
        ``layer(l, L)``, ``params(l)``, ``weight(l, j, k)`` (callables returning
        text, mathtext allowed) and ``forward``, ``backward`` (str).

    Returns
    -------
    matplotlib.figure.Figure
        Units are circles (gid ``"unit"``), weights lines (gid ``"edge"``, the
        highlighted one ``"highlight"``), the arrows have gids ``"forward"`` and
        ``"backward"``.

    Raises
    ------
    TypeError
        If ``net`` is not a :class:`bplit.Network`, or a label has the wrong type.
    ValueError
        For an unknown notation or a ``highlight`` outside the network.
    """
    net = check_network(net)
    nt = make_notation(notation, labels, net.sizes)
    hl = check_highlight(net, highlight)
    _check_ax(ax)
    max_units = check_max_units(max_units)
    own = ax is None
    fig, ax = _new_axes(ax)
    sizes, L = net.sizes, len(net.sizes) - 1
    keep = {l: [] for l in range(L + 1)}
    if hl is not None:
        keep[hl[0]].append(hl[2])
        keep[hl[0] + 1].append(hl[1])
    slots = [_slots(n, max_units, keep[l]) for l, n in enumerate(sizes)]
    pos: list[dict[int, tuple[float, float]]] = []
    r = 0.34
    for l, column in enumerate(slots):
        x, top = l * _DX, (len(column) - 1) / 2
        pos.append({})
        for s, i in enumerate(column):
            y = top - s
            if i is None:
                ax.text(x, y, r"$\vdots$", ha="center", va="center", fontsize=14, gid="ellipsis")
            else:
                pos[l][i] = (x, y)
                _unit(ax, (x, y), nt.unit(l, i), r)
        if len(column) < sizes[l] or None in column:
            ax.text(x, -top - 0.6, f"{sizes[l]} units", ha="center", va="top", fontsize=10, gid="count")
    ymax = max((len(c) - 1) / 2 for c in slots)
    for l in range(L):
        for j, (xj, yj) in pos[l + 1].items():
            for k, (xk, yk) in pos[l].items():
                emph = hl == (l, j, k)
                ax.plot(
                    [xk + r, xj - r],
                    [yk, yj],
                    color=HIGHLIGHT if emph else EDGE,
                    lw=2.6 if emph else 0.8,
                    zorder=2 if emph else 1,
                    gid="highlight" if emph else "edge",
                )
        ax.text(
            (l + 0.5) * _DX, -ymax - 1.1, nt.params(l), ha="center", va="center", fontsize=11, gid="params"
        )
    for l in range(L + 1):
        ax.text(l * _DX, ymax + 0.7, nt.layer(l, L), ha="center", va="bottom", fontsize=11, gid="layer")
    if hl is not None:
        l, j, k = hl
        (xk, yk), (xj, yj) = pos[l][k], pos[l + 1][j]
        t = 0.5
        ax.text(
            xk + r + t * (xj - xk - 2 * r),
            yk + t * (yj - yk) + 0.32,
            nt.weight(l, j, k),
            ha="center",
            va="bottom",
            fontsize=12,
            color=HIGHLIGHT,
            zorder=5,
            gid="highlight-label",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    x1 = L * _DX
    _arrows(ax, 0.0, x1, ymax + 1.6, -ymax - 1.8, nt.forward, nt.backward)
    _finish(fig, ax, own, (-0.8, x1 + 0.8), (-ymax - 2.6, ymax + 2.4))
    return fig


# ---------------------------------------------------------------------- graph
_GRAPH_FORWARD = r"forward: $x_i = {\sum}_{j \in \mathbb{S}_i} w_{ij}\,y_j + b_i$,  $y_i = f_i(x_i)$"
_GRAPH_BACKWARD = r"backward: $p_i = ({\sum}_{k \in \mathbb{D}_i} p_k\,w_{ki})\,f_i\,'(x_i)$"


def _set(units: Sequence[Hashable]) -> str:
    return "\\{" + ", ".join(str(u) for u in units) + "\\}"


def graph(
    gnet: GraphNetwork,
    *,
    unit: Hashable | None = None,
    ax: Any = None,
    label: Callable[[Hashable], str] | None = None,
    forward: str = _GRAPH_FORWARD,
    backward: str = _GRAPH_BACKWARD,
) -> Figure:
    r"""Draw a network of units on a directed acyclic graph (source 002's notation).

    Parameters
    ----------
    gnet : bplit.GraphNetwork
        Its layers :math:`\mathbb{U}_1, \dots, \mathbb{U}_N` become columns (unit order
        within a layer kept), every edge :math:`j \to i`, :math:`j \in \mathbb{S}_i`,
        an arrow; edges that skip a layer are drawn curved.
    unit : hashable, optional
        A unit id: its upstream units :math:`\mathbb{S}_i` and their edges are coloured
        blue, its downstream units :math:`\mathbb{D}_i` orange, and both sets are
        written out under the picture.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes; by default a new figure sized to the drawing.
    label : callable ``unit id -> str``, optional
        Text inside a unit (default: :math:`y_i` with the unit's id).
    forward, backward : str
        Texts of the arrows marking the two passes (defaults: eqs. (1)-(2) and (14)
        of source 002).

    Returns
    -------
    matplotlib.figure.Figure
        Units are circles (gid ``"unit"``), edges arrows (gid ``"edge"``; those into
        ``unit`` ``"upstream"``, those out of it ``"downstream"``).

    Raises
    ------
    TypeError
        If ``gnet`` is not a :class:`bplit.GraphNetwork`, or ``label`` not callable.
    ValueError
        If ``unit`` is not a unit of ``gnet``.
    """
    if isinstance(gnet, Network) or not isinstance(gnet, GraphNetwork):
        hint = "; for a layered bplit.Network use bplit.draw.network()" if isinstance(gnet, Network) else ""
        raise TypeError(f"graph() draws a bplit.GraphNetwork, got {type(gnet).__name__}{hint}")
    if unit is not None and unit not in gnet.layer_of:
        raise ValueError(f"unit {unit!r} is not a unit of the network; its units are {list(gnet.units)}")
    if label is not None and not callable(label):
        raise TypeError(f"label must be a callable unit id -> str, got {type(label).__name__}")
    for name, value in (("forward", forward), ("backward", backward)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    _check_ax(ax)
    label = label or (lambda i: f"$y_{{{i}}}$")
    own = ax is None
    fig, ax = _new_axes(ax)
    r, ymax = 0.38, max((len(layer) - 1) / 2 for layer in gnet.layers) * 1.3
    pos, circles = {}, {}
    S = set(gnet.S[unit]) if unit is not None else set()
    D = set(gnet.D[unit]) if unit is not None else set()
    for n, layer in enumerate(gnet.layers):
        x, top = n * _DX_GRAPH, (len(layer) - 1) / 2 * 1.3
        for s, i in enumerate(layer):
            pos[i] = (x, top - 1.3 * s)
            colour = "#f3d34a" if i == unit else "#cfe0f5" if i in S else "#fad7c4" if i in D else "white"
            circles[i] = _unit(ax, pos[i], label(i), r, colour, 2.0 if i == unit else 1.2)
        role = " (input)" if n == 0 else " (output)" if n == gnet.N - 1 else ""
        ax.text(
            x,
            ymax + 0.75,
            f"$\\mathbb{{U}}_{{{n + 1}}}${role}",
            ha="center",
            va="bottom",
            fontsize=11,
            gid="layer",
        )
    for i, j in gnet.edges:  # j in S_i: an arrow j -> i
        gap = gnet.layer_of[i] - gnet.layer_of[j]
        kind = "upstream" if i == unit else "downstream" if j == unit else "edge"
        colour = {"upstream": UPSTREAM, "downstream": DOWNSTREAM, "edge": EDGE}[kind]
        arrow = FancyArrowPatch(
            pos[j],
            pos[i],
            patchA=circles[j],
            patchB=circles[i],
            connectionstyle=f"arc3,rad={0.18 * (gap - 1)}",
            arrowstyle="-|>",
            mutation_scale=11,
            lw=1.0 if kind == "edge" else 2.0,
            color=colour,
            zorder=1 if kind == "edge" else 2,
        )
        arrow.set_gid(kind)
        ax.add_patch(arrow)
    x1 = (gnet.N - 1) * _DX_GRAPH
    bottom = -ymax - 1.0
    if unit is not None:
        words = [
            (rf"$\mathbb{{S}}_{{{unit}}} = {_set(gnet.S[unit])}$ (upstream)", UPSTREAM, "upstream-set"),
            (rf"$\mathbb{{D}}_{{{unit}}} = {_set(gnet.D[unit])}$ (downstream)", DOWNSTREAM, "downstream-set"),
        ]
        for text, colour, gid in words:
            ax.text(x1 / 2, bottom, text, ha="center", va="center", fontsize=12, color=colour, gid=gid)
            bottom -= 0.6
        bottom -= 0.2
    _arrows(ax, 0.0, x1, ymax + 1.6, bottom - 0.3, forward, backward)
    _finish(fig, ax, own, (-0.8, x1 + 0.8), (bottom - 1.1, ymax + 2.4))
    return fig
