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
* :func:`panels` puts several such drawings in a grid, each at the scale of a
  figure of its own (the book's notation map).

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

Every label is :data:`FONTSIZE` points; a figure is sized to its drawing (0.62 inches per
unit height), and its PNG records its labels' size in pixels (:data:`LABEL_PX_KEY`), which
the book's browser tests turn into CSS pixels at a phone's and a desktop's width.

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
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Circle, FancyArrowPatch
from matplotlib.textpath import TextToPath

from . import GraphNetwork, Network  # the public names (bplit.graph may be split)
from ._draw_labels import (
    GRAPH_BACKWARD,
    GRAPH_FORWARD,
    MAX_UNITS,
    NOTATIONS,
    Notation,
    check_drawings,
    check_highlight,
    check_max_units,
    check_network,
    check_spacing,
    describe,
    label_spot,
    make_notation,
    slots,
    two_lines,
    unit_set,
)

__all__ = [
    "FONTSIZE",
    "LABEL_PX_KEY",
    "MAX_UNITS",
    "NOTATIONS",
    "Notation",
    "describe",
    "graph",
    "network",
    "panels",
]

FONTSIZE = 10.5
"""Size of every label, in points (23.3 pixels at 160 dpi)."""
LABEL_PX_KEY = "bplit label px"
"""Text chunk of a PNG written from a figure of :mod:`bplit.draw`: the font size of its
smallest and its largest label in the PNG's pixels (``"23.33 23.33"``)."""
FORWARD, BACKWARD, HIGHLIGHT, EDGE = "#1f5fa8", "#c4470a", "#b0007a", "#9a9a9a"
UPSTREAM, DOWNSTREAM = "#1f5fa8", "#c4470a"
_SCALE = 0.62  # inches per data unit: one unit slot is 1.0 high
_R, _R_GRAPH = 0.34, 0.38  # unit radii
_MARGIN = 0.5  # left and right of the outer columns (the headings are on two lines)


def _check_ax(ax: object) -> None:
    if ax is not None and not isinstance(ax, matplotlib.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")


class _Canvas(FigureCanvasAgg):
    """An Agg canvas whose PNGs record the size of the figure's labels (:data:`LABEL_PX_KEY`).
    (``print_figure`` also passes ``dpi``, ``facecolor``, ... to it: applied already.)"""

    def print_figure(self, *args: Any, pad_inches: Any = None, **kwargs: Any) -> Any:
        # The figure is sized to its drawing, margins included: a tight box needs little padding.
        return super().print_figure(*args, pad_inches=0.03 if pad_inches is None else pad_inches, **kwargs)

    def print_png(
        self, filename_or_obj: Any, *, metadata: Any = None, pil_kwargs: Any = None, **_: Any
    ) -> None:
        sizes = [
            t.get_fontsize() * self.figure.dpi / 72
            for ax in self.figure.axes
            for t in [*ax.texts, ax.title]
            if t.get_visible() and t.get_text().strip() and t.get_gid() != "ellipsis"
        ]
        if sizes:
            metadata = {LABEL_PX_KEY: f"{min(sizes):.2f} {max(sizes):.2f}", **(metadata or {})}
        super().print_png(filename_or_obj, metadata=metadata, pil_kwargs=pil_kwargs)


def _new_axes(ax: Any) -> tuple[Figure, Any]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure()
    _Canvas(fig)
    return fig, fig.add_axes((0, 0, 1, 1))


def _extent(text: str) -> tuple[float, float]:
    """Width and height of a label, in data units at _SCALE."""
    prop = FontProperties(size=FONTSIZE)
    lines = [TextToPath().get_text_width_height_descent(s, prop, ismath="$" in s) for s in text.split("\n")]
    return max(w for w, _, _ in lines) / 72 / _SCALE, 1.25 * FONTSIZE * len(lines) / 72 / _SCALE


def _natural(fig: Figure, ax: Any) -> None:
    """Grow the limits of ``ax`` (filling ``fig``) to hold its texts; size ``fig`` to them at _SCALE."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    fig.set_size_inches((x1 - x0) * _SCALE, (y1 - y0) * _SCALE)
    renderer = fig.canvas.get_renderer()
    inv = ax.transData.inverted()
    for t in ax.texts:
        (a, b), (c, d) = inv.transform(t.get_window_extent(renderer).get_points())
        x0, x1, y0, y1 = min(x0, a - 0.08), max(x1, c + 0.08), min(y0, b - 0.08), max(y1, d + 0.08)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    fig.set_size_inches((x1 - x0) * _SCALE, (y1 - y0) * _SCALE)


def _finish(fig: Figure, ax: Any, own: bool, x: tuple[float, float], y: tuple[float, float]) -> None:
    """Limits that hold every artist; for a figure of our own, a size that fits them at _SCALE."""
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_xlim(*x)
    ax.set_ylim(*y)
    if own:
        _natural(fig, ax)


def _arrows(ax: Any, x0: float, x1: float, top: float, bottom: float, fwd: str, bwd: str) -> None:
    for y, a, b, text, colour, va, dy in (
        (top, x0, x1, fwd, FORWARD, "bottom", 0.12),
        (bottom, x1, x0, bwd, BACKWARD, "top", -0.12),
    ):
        arrow = FancyArrowPatch((a, y), (b, y), arrowstyle="-|>", mutation_scale=16, lw=1.6, color=colour)
        arrow.set_gid("forward" if colour == FORWARD and va == "bottom" else "backward")
        ax.add_patch(arrow)
        label = ax.text((x0 + x1) / 2, y + dy, text, ha="center", va=va, fontsize=FONTSIZE, color=colour)
        label.set_gid(arrow.get_gid())


def _unit(
    ax: Any, xy: tuple[float, float], text: str, r: float, colour: str = "white", lw: float = 1.2
) -> Circle:
    circle = Circle(xy, r, facecolor=colour, edgecolor="#222222", lw=lw, zorder=3, gid="unit")
    ax.add_patch(circle)
    ax.text(*xy, text, ha="center", va="center", fontsize=FONTSIZE, zorder=4, gid="unit-label")
    return circle


# ---------------------------------------------------------------------- layered
def network(
    net: Network,
    notation: str = "bplit",
    *,
    ax: Any = None,
    highlight: tuple[int, int, int] | None = None,
    max_units: int = MAX_UNITS,
    spacing: float = 2.0,
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
    spacing : float
        Distance between the columns, in unit heights (a unit is 0.68 across):
        smaller values make a narrower picture (the notation map uses 1.25).
    **labels
        Override parts of the notation (see :class:`Notation`): ``unit(l, j)``,
        ``layer(l, L)``, ``params(l)``, ``weight(l, j, k)`` (callables returning
        text, mathtext allowed) and ``forward``, ``backward`` (str). A heading
        that ends in a plain ``(...)`` shows it on a second line.

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
        For an unknown notation, a ``highlight`` outside the network, or a
        ``spacing`` not above 0.68.
    """
    net = check_network(net)
    nt = make_notation(notation, labels, net.sizes)
    hl = check_highlight(net, highlight)
    _check_ax(ax)
    max_units = check_max_units(max_units)
    dx = check_spacing(spacing, 2 * _R)
    own = ax is None
    fig, ax = _new_axes(ax)
    sizes, L, r = net.sizes, len(net.sizes) - 1, _R
    keep = {l: [] for l in range(L + 1)}
    if hl is not None:
        keep[hl[0]].append(hl[2])
        keep[hl[0] + 1].append(hl[1])
    columns = [slots(n, max_units, keep[l]) for l, n in enumerate(sizes)]
    pos: list[dict[int, tuple[float, float]]] = []
    for l, column in enumerate(columns):
        x, top = l * dx, (len(column) - 1) / 2
        pos.append({})
        for s, i in enumerate(column):
            y = top - s
            if i is None:
                ax.text(x, y, r"$\vdots$", ha="center", va="center", fontsize=14, gid="ellipsis")
            else:
                pos[l][i] = (x, y)
                _unit(ax, (x, y), nt.unit(l, i), r)
        if len(column) < sizes[l] or None in column:
            ax.text(x, -top - 0.6, f"{sizes[l]} units", ha="center", va="top", fontsize=FONTSIZE, gid="count")
    ymax = max((len(c) - 1) / 2 for c in columns)
    params = [nt.params(l) for l in range(L)]
    extents = [_extent(p) for p in params]
    touch = any(a[0] + b[0] > 2 * dx - 0.2 for a, b in zip(extents, extents[1:]))
    drop = max(h for _, h in extents) + 0.05 if touch else 0.0
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
        y = -ymax - 1.1 - (drop if l % 2 else 0.0)  # every other one lower if they would touch
        ax.text((l + 0.5) * dx, y, params[l], ha="center", va="center", fontsize=FONTSIZE, gid="params")
    for l in range(L + 1):
        head = two_lines(nt.layer(l, L))
        ax.text(l * dx, ymax + 0.7, head, ha="center", va="bottom", fontsize=FONTSIZE, gid="layer")
    if hl is not None:
        l, j, k = hl
        (xk, yk), (xj, yj) = pos[l][k], pos[l + 1][j]
        name = nt.weight(l, j, k)
        units = [p for column in pos for p in column.values()]
        x, y, va, turn = label_spot(*_extent(name), (xk + r, yk), (xj - r, yj), units, r)
        ax.text(
            x,
            y,
            name,
            ha="center",
            va=va,
            rotation=turn,
            fontsize=FONTSIZE,
            color=HIGHLIGHT,
            zorder=5,
            gid="highlight-label",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    x1 = L * dx
    _arrows(ax, 0.0, x1, ymax + 1.6, -ymax - 1.8 - drop, nt.forward, nt.backward)
    _finish(fig, ax, own, (-_MARGIN, x1 + _MARGIN), (-ymax - 2.6 - drop, ymax + 2.4))
    return fig


# ---------------------------------------------------------------------- graph
def graph(
    gnet: GraphNetwork,
    *,
    unit: Hashable | None = None,
    ax: Any = None,
    label: Callable[[Hashable], str] | None = None,
    forward: str = GRAPH_FORWARD,
    backward: str = GRAPH_BACKWARD,
    spacing: float = 1.5,
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
        written out under the picture (each on two lines if it is wider than the graph).
    ax : matplotlib.axes.Axes, optional
        Draw into these axes; by default a new figure sized to the drawing.
    label : callable ``unit id -> str``, optional
        Text inside a unit (default: :math:`y_i` with the unit's id).
    forward, backward : str
        Texts of the arrows marking the two passes (defaults: eqs. (1)-(2) and (14)
        of source 002).
    spacing : float
        Distance between the layers, in unit heights (a unit is 0.76 across).

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
        If ``unit`` is not a unit of ``gnet``, or ``spacing`` is not above 0.76.
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
    dx = check_spacing(spacing, 2 * _R_GRAPH)
    label = label or (lambda i: f"$y_{{{i}}}$")
    own = ax is None
    fig, ax = _new_axes(ax)
    r, ymax = _R_GRAPH, max((len(layer) - 1) / 2 for layer in gnet.layers) * 1.3
    pos, circles = {}, {}
    S = set(gnet.S[unit]) if unit is not None else set()
    D = set(gnet.D[unit]) if unit is not None else set()
    for n, layer in enumerate(gnet.layers):
        x, top = n * dx, (len(layer) - 1) / 2 * 1.3
        for s, i in enumerate(layer):
            pos[i] = (x, top - 1.3 * s)
            colour = "#f3d34a" if i == unit else "#cfe0f5" if i in S else "#fad7c4" if i in D else "white"
            circles[i] = _unit(ax, pos[i], label(i), r, colour, 2.0 if i == unit else 1.2)
        role = " (input)" if n == 0 else " (output)" if n == gnet.N - 1 else ""
        head = two_lines(f"$\\mathbb{{U}}_{{{n + 1}}}${role}")
        ax.text(x, ymax + 0.75, head, ha="center", va="bottom", fontsize=FONTSIZE, gid="layer")
    low = -ymax - r  # the lowest point of the picture so far: curved edges sag below their ends
    for i, j in gnet.edges:  # j in S_i: an arrow j -> i
        gap = gnet.layer_of[i] - gnet.layer_of[j]
        low = min(low, (pos[i][1] + pos[j][1]) / 2 - 0.09 * (gap - 1) * (pos[i][0] - pos[j][0]))
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
    x1 = (gnet.N - 1) * dx
    bottom = low - 0.35
    if unit is not None:
        words = [
            (rf"$\mathbb{{S}}_{{{unit}}} = {unit_set(gnet.S[unit])}$ (upstream)", UPSTREAM, "upstream-set"),
            (
                rf"$\mathbb{{D}}_{{{unit}}} = {unit_set(gnet.D[unit])}$ (downstream)",
                DOWNSTREAM,
                "downstream-set",
            ),
        ]
        for text, colour, gid in words:
            text = two_lines(text) if _extent(text)[0] > x1 + 2 * _MARGIN else text
            ax.text(x1 / 2, bottom, text, ha="center", va="top", fontsize=FONTSIZE, color=colour, gid=gid)
            bottom -= _extent(text)[1] + 0.15
        bottom -= 0.2
    _arrows(ax, 0.0, x1, ymax + 1.6, bottom - 0.3, forward, backward)
    _finish(fig, ax, own, (-_MARGIN, x1 + _MARGIN), (bottom - 1.1, ymax + 2.4))
    return fig


# ---------------------------------------------------------------------- panels
def panels(drawings: Sequence[tuple[str, Callable[[Any], object]]], ncols: int = 2) -> Figure:
    """Several drawings in a grid, each titled and at the scale of a figure of its own.

    Parameters
    ----------
    drawings : sequence of (str, callable) pairs
        A title, and a callable that draws into the matplotlib axes it is given, e.g.
        ``("003", lambda ax: draw.network(net, "nielsen", ax=ax))``. Each is called twice
        (once to measure the drawing, once to draw it).
    ncols : int
        Drawings per row, filled left to right.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per drawing; its labels keep :data:`FONTSIZE` and each drawing its
        own proportions, so the figure is as wide as its widest row needs.

    Raises
    ------
    TypeError, ValueError
        If an item is not a (str, callable) pair; if there are none, or ``ncols`` < 1.
    """
    drawings, ncols = check_drawings(drawings, ncols)

    def titled(fig: Figure, rect: tuple[float, float, float, float], title: str, draw: Callable) -> Any:
        ax = fig.add_axes(rect)
        draw(ax)
        (x0, x1), (_, y1) = ax.get_xlim(), ax.get_ylim()
        ax.text(
            (x0 + x1) / 2, y1, title, ha="center", va="bottom", fontsize=FONTSIZE, weight="bold", gid="title"
        )
        return ax

    boxes = []  # each drawing's limits and size at _SCALE, texts included
    for title, draw in drawings:
        fig = Figure()
        FigureCanvasAgg(fig)
        ax = titled(fig, (0, 0, 1, 1), title, draw)
        _natural(fig, ax)
        boxes.append((ax.get_xlim(), ax.get_ylim(), *fig.get_size_inches()))
    gap, rows = 0.1, range(-(-len(drawings) // ncols))
    widths = [max(b[2] for b in boxes[c::ncols]) for c in range(min(ncols, len(drawings)))]
    heights = [max(b[3] for b in boxes[r * ncols : (r + 1) * ncols]) for r in rows]
    W, H = sum(widths) + gap * (len(widths) - 1), sum(heights) + gap * (len(heights) - 1)
    fig = Figure(figsize=(W, H))
    _Canvas(fig)
    for n, ((title, draw), (xlim, ylim, w, h)) in enumerate(zip(drawings, boxes)):
        r, c = divmod(n, ncols)
        left, top = sum(widths[:c]) + gap * c + (widths[c] - w) / 2, sum(heights[:r]) + gap * r
        ax = titled(fig, (left / W, 1 - (top + h) / H, w / W, h / H), title, draw)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
    return fig
