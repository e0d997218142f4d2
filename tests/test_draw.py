"""Tests of bplit.draw: the pictures of networks that the book's chapters show."""

from __future__ import annotations

import io
import math
import subprocess
import sys

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import bplit  # noqa: E402
from bplit import draw  # noqa: E402

SKIP_LAYERS = [[1, 2], [3, 4], [5], [6, 7]]
SKIP_UPSTREAM = {3: [1, 2], 4: [2], 5: [3, 4, 1], 6: [5, 3], 7: [5, 2]}


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def artists(fig, gid: str) -> list:
    found = [a for ax in fig.axes for a in [*ax.patches, *ax.lines, *ax.texts] if a.get_gid() == gid]
    return found


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=160)
    return buf.getvalue()


# One expected label of each kind per notation, for a 3-4-2 network, highlighting
# weights[1][1, 2] (unit 2 of layer 1 -> unit 1 of layer 2, 0-based).
EXPECTED = {
    "outin": ["$out_{1}$", "$out_{9}$", "layer 0\n(input)", "$w_{jk}$", "$w_{69}$", r"\delta_k"],
    "column": [
        "$a^{0}_{1}$",
        "$a^{2}_{2}$",
        "$a^{0}$\n(input)",
        "$W^{2},\\ b^{2}$",
        "$W^{2}_{23}$",
        r"\delta^l",
    ],
    "nielsen": [
        "$a^{1}_{1}$",
        "$a^{3}_{2}$",
        "layer 1\n(input)",
        "$w^{3},\\ b^{3}$",
        "$w^{3}_{23}$",
        r"\delta^l",
    ],
    "rowmajor": [
        "$a^{0}_{1}$",
        "$a^{2}_{2}$",
        "layer 2\n(output)",
        "$w^{1},\\ b^{1}$",
        "$w^{1}_{32}$",
        r"\Delta^l",
    ],
    "bplit": [
        "$a^{(0)}_{0}$",
        "$a^{(2)}_{1}$",
        "layer 0\n(input)",
        "weights[1]\nbiases[1]",
        "weights[1][1, 2]",
        "deltas[l]",
    ],
}


@pytest.mark.parametrize("notation", sorted(EXPECTED))
def test_labels_units_edges_and_arrows_of_each_notation(notation):
    net = bplit.Network([3, 4, 2], seed=0)
    fig = draw.network(net, notation, highlight=(1, 1, 2))
    found = texts(fig)
    for label in EXPECTED[notation][:4]:
        assert label in found, (label, found)
    assert EXPECTED[notation][4] in [t.get_text() for t in artists(fig, "highlight-label")]
    assert len(artists(fig, "unit")) == 9
    assert len(artists(fig, "edge")) == 3 * 4 + 4 * 2 - 1
    assert len(artists(fig, "highlight")) == 1
    forward = [t.get_text() for t in artists(fig, "forward") if hasattr(t, "get_text")]
    backward = [t.get_text() for t in artists(fig, "backward") if hasattr(t, "get_text")]
    assert forward and forward[0].startswith("forward: ")
    assert backward and backward[0].startswith("backward: ") and EXPECTED[notation][5] in backward[0]
    arrows = [a for a in artists(fig, "forward") + artists(fig, "backward") if not hasattr(a, "get_text")]
    (fx0, _), (fx1, _) = arrows[0]._posA_posB
    (bx0, _), (bx1, _) = arrows[1]._posA_posB
    assert fx0 < fx1 and bx0 > bx1  # forward points right, backward left
    assert png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_highlighted_edge_joins_the_right_units():
    net = bplit.Network([2, 3, 2], seed=0)
    fig = draw.network(net, "nielsen", highlight=(0, 2, 1))
    (line,) = artists(fig, "highlight")
    units = {t.get_text(): t.get_position() for t in artists(fig, "unit-label")}
    assert tuple(line.get_xdata()) == pytest.approx(
        (units["$a^{1}_{2}$"][0] + 0.34, units["$a^{2}_{3}$"][0] - 0.34)
    )
    assert tuple(line.get_ydata()) == pytest.approx((units["$a^{1}_{2}$"][1], units["$a^{2}_{3}$"][1]))


def test_big_layers_are_abbreviated_with_an_ellipsis_and_their_count():
    net = bplit.Network([784, 30, 10], seed=0)
    fig = draw.network(net, "nielsen", highlight=(0, 5, 400))
    labels = [t.get_text() for t in artists(fig, "unit-label")]
    per_layer = [sum(1 for t in labels if t.startswith(f"$a^{{{n}}}")) for n in (1, 2, 3)]
    assert all(n <= draw.MAX_UNITS for n in per_layer)
    assert "$a^{1}_{784}$" in labels and "$a^{1}_{1}$" in labels and "$a^{1}_{401}$" in labels
    assert "$a^{3}_{10}$" in labels
    assert {t.get_text() for t in artists(fig, "count")} == {"784 units", "30 units", "10 units"}
    assert len(artists(fig, "ellipsis")) >= 3  # 784 (twice: around unit 401), 30, 10
    edges = len(artists(fig, "edge")) + len(artists(fig, "highlight"))
    assert edges == per_layer[0] * per_layer[1] + per_layer[1] * per_layer[2]
    assert [t.get_text() for t in artists(fig, "highlight-label")] == ["$w^{2}_{6,401}$"]
    width, height = fig.get_size_inches()
    assert width < 8 and height < 10
    png(fig)


def test_small_layers_are_not_abbreviated():
    fig = draw.network(bplit.Network([8, 2], seed=0), max_units=8)
    assert not artists(fig, "ellipsis") and not artists(fig, "count")
    assert len(artists(fig, "unit")) == 10


def test_labels_can_be_overridden_and_axes_given():
    fig0 = matplotlib.figure.Figure(figsize=(4, 3))
    ax = fig0.add_subplot()
    fig = draw.network(
        bplit.Network([2, 2], seed=0),
        "column",
        ax=ax,
        unit=lambda l, j: f"u{l}.{j}",
        layer=lambda l, L: f"L{l}/{L}",
        forward="go",
        backward="come back",
    )
    assert fig is fig0 and tuple(fig.get_size_inches()) == (4, 3)
    found = texts(fig)
    assert {"u0.0", "u1.1", "L0/1", "L1/1", "go", "come back"} <= set(found)
    assert "$W^{1},\\ b^{1}$" in found  # not overridden: the preset's


def test_graph_units_edges_and_unit_sets():
    g = bplit.GraphNetwork(SKIP_LAYERS, SKIP_UPSTREAM, seed=0)
    fig = draw.graph(g, unit=5)
    assert len(artists(fig, "unit")) == 7
    edges = [a for gid in ("edge", "upstream", "downstream") for a in artists(fig, gid)]
    assert len(edges) == len(g.edges) == 10
    assert len(artists(fig, "upstream")) == 3 and len(artists(fig, "downstream")) == 2
    found = texts(fig)
    assert r"$\mathbb{S}_{5} = \{3, 4, 1\}$ (upstream)" in found
    assert r"$\mathbb{D}_{5} = \{6, 7\}$ (downstream)" in found
    assert (
        "$y_{7}$" in found
        and "$\\mathbb{U}_{1}$\n(input)" in found
        and "$\\mathbb{U}_{4}$\n(output)" in found
    )
    assert any(t.startswith("forward: ") and "x_i" in t for t in found)
    assert any(t.startswith("backward: ") and r"\mathbb{D}_i" in t for t in found)
    plain = draw.graph(g)
    assert not artists(plain, "upstream") and len(artists(plain, "edge")) == 10
    png(fig)
    png(plain)


def test_describe_layered():
    net = bplit.Network([784, 30, 10], seed=0)
    text = draw.describe(net, "nielsen", highlight=(1, 2, 3))
    assert "3 layers of 784, 30 and 10 units" in text and "1 hidden layer" in text
    assert "source 003" in text and "(784 units)" in text and "ellipsis" in text
    assert "w^3_34" in text and "weights[1][2, 3]" in text
    assert "forward" in text and "backward" in text and "$" not in text
    assert f"({784 * 30 + 30 * 10} weights)" in text
    small = draw.describe(bplit.Network([2, 3, 2], seed=0), "outin")
    assert "source 000" in small and "ellipsis" not in small and "highlighted" not in small


def test_describe_graph():
    g = bplit.GraphNetwork(SKIP_LAYERS, SKIP_UPSTREAM, seed=0)
    text = draw.describe(g, unit=5)
    assert "7 units" in text and "4 layers" in text and "10 edges" in text
    assert "S_5 = {3, 4, 1}" in text and "D_5 = {6, 7}" in text
    assert "3 of them skip a layer" in text  # 1 -> 5, 3 -> 6, 2 -> 7
    assert "forward" in text and "backward" in text


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: draw.network([3, 4, 2]), TypeError, "expected a bplit.Network, got list"),
        (lambda: draw.network(bplit.GraphNetwork([[1], [2]], {2: [1]})), TypeError, "use bplit.draw.graph"),
        (lambda: draw.graph(bplit.Network([2, 2])), TypeError, "use bplit.draw.network"),
        (
            lambda: draw.network(bplit.Network([2, 2]), "feynman"),
            ValueError,
            "unknown notation 'feynman'; known notations: bplit, column, nielsen, outin, rowmajor",
        ),
        (lambda: draw.network(bplit.Network([2, 2]), 3), TypeError, "notation must be a str"),
        (
            lambda: draw.network(bplit.Network([3, 4, 2]), highlight=(2, 0, 0)),
            ValueError,
            r"weights\[l\] exists for 0 <= l <= 1",
        ),
        (
            lambda: draw.network(bplit.Network([3, 4, 2]), highlight=(0, 4, 0)),
            ValueError,
            r"shape \(4, 3\), so 0 <= j <= 3 and 0 <= k <= 2",
        ),
        (lambda: draw.network(bplit.Network([3, 4, 2]), highlight=(0, 1)), TypeError, r"tuple \(l, j, k\)"),
        (lambda: draw.network(bplit.Network([2, 2]), colour="red"), TypeError, r"unknown label keyword\(s\)"),
        (lambda: draw.network(bplit.Network([2, 2]), unit="x"), TypeError, "unit must be a callable"),
        (lambda: draw.network(bplit.Network([2, 2]), forward=1), TypeError, "forward must be a str"),
        (lambda: draw.network(bplit.Network([2, 2]), ax="here"), TypeError, "ax must be a matplotlib Axes"),
        (
            lambda: draw.network(bplit.Network([2, 2]), max_units=2),
            ValueError,
            "max_units must be an int >= 3",
        ),
        (
            lambda: draw.graph(bplit.GraphNetwork([[1], [2]], {2: [1]}), unit=9),
            ValueError,
            "unit 9 is not a unit",
        ),
        (lambda: draw.describe(bplit.GraphNetwork([[1], [2]], {2: [1]}), unit=9), ValueError, "unit 9"),
        (
            lambda: draw.network(bplit.Network([2, 2]), spacing=0.6),
            ValueError,
            "spacing must be a number > 0.68",
        ),
        (lambda: draw.network(bplit.Network([2, 2]), spacing=True), ValueError, "spacing must be a number"),
        (lambda: draw.graph(bplit.GraphNetwork([[1], [2]], {2: [1]}), spacing="1"), ValueError, "> 0.76"),
        (lambda: draw.panels([]), ValueError, "non-empty sequence of \\(title, draw\\) pairs"),
        (lambda: draw.panels([("a", 3)]), TypeError, r"\(title, callable\(ax\)\) pair, got \('a', 3\)"),
        (lambda: draw.panels([("a", print)], ncols=0), ValueError, "ncols must be a positive int, got 0"),
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_import_bplit_does_not_import_matplotlib_and_draw_is_a_submodule():
    code = (
        "import sys, bplit\n"
        "assert 'matplotlib' not in sys.modules, 'import bplit imported matplotlib'\n"
        "from bplit import draw\n"
        "assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n"
        "assert draw.network and bplit.draw is draw\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_module_example_runs():
    import doctest

    result = doctest.testmod(draw)
    assert result.attempted >= 5 and result.failed == 0


# ---------------------------------------------------------------- sizes on a page
# The text column of the book at a 390 px (phone) window is 342 CSS px wide (measured by
# tests/browser/test_figure_labels.py, which checks the built book itself).
PHONE_COLUMN_PX = 342


def png_meta(fig, **kwargs):
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", **kwargs)
    buf.seek(0)
    with Image.open(buf) as image:
        return image.size, dict(image.text)


def chapter_figures():
    """The book's network figures, drawn as the chapters draw them."""
    graph = bplit.GraphNetwork(SKIP_LAYERS, SKIP_UPSTREAM, seed=0)
    net = bplit.Network([3, 4, 5], seed=11)
    narrow = {"forward": "forward", "backward": "backward", "spacing": 1.25}
    return {
        "000": draw.network(bplit.Network([2, 3, 2], seed=1), "outin", highlight=(0, 2, 1)),
        "001": draw.network(bplit.Network([3, 4, 2], seed=0), "column"),
        "002": draw.graph(graph, unit=3, label=lambda i: f"$x_{i}$\n$y_{i}$"),
        "004": draw.network(bplit.Network([2, 2, 3], seed=0), "rowmajor", highlight=(1, 1, 0)),
        "map": draw.panels(
            [
                ("000", lambda ax: draw.network(net, "outin", ax=ax, highlight=(1, 0, 3), **narrow)),
                ("002", lambda ax: draw.graph(bplit.GraphNetwork.from_network(net), unit=7, ax=ax, **narrow)),
            ]
        ),
    }


@pytest.mark.parametrize("dpi", [100, 160])
def test_every_label_is_fontsize_and_the_png_records_it(dpi):
    for name, fig in chapter_figures().items():
        labels = [t for ax in fig.axes for t in ax.texts if t.get_gid() != "ellipsis"]
        assert {t.get_fontsize() for t in labels} == {draw.FONTSIZE}, name
        (width, _), meta = png_meta(fig, dpi=dpi, bbox_inches="tight")
        px = draw.FONTSIZE * dpi / 72
        assert meta[draw.LABEL_PX_KEY] == f"{px:.2f} {px:.2f}", name
        assert width < fig.get_size_inches()[0] * dpi + 0.1 * dpi  # padded by less than the default
    big = draw.network(bplit.Network([784, 30, 10], seed=0), "nielsen", highlight=(0, 5, 400))
    assert {t.get_fontsize() for t in big.axes[0].texts} == {draw.FONTSIZE, 14}  # 14: the ellipsis glyph
    assert png_meta(big, dpi=dpi)[1][draw.LABEL_PX_KEY].split() == [f"{draw.FONTSIZE * dpi / 72:.2f}"] * 2
    own = matplotlib.figure.Figure()
    draw.network(bplit.Network([2, 2], seed=0), ax=own.add_subplot())
    assert draw.LABEL_PX_KEY not in png_meta(own, dpi=dpi)[1]  # a figure of the caller's: nothing claimed


def test_jupyter_inline_display_keeps_the_record():
    pylabtools = pytest.importorskip("IPython.core.pylabtools")
    fig = chapter_figures()["001"]
    from PIL import Image

    data = pylabtools.print_figure(fig, "png")  # what the book's chapters store (bbox_inches="tight")
    with Image.open(io.BytesIO(data)) as image:
        assert image.text[draw.LABEL_PX_KEY].split() == [f"{draw.FONTSIZE * fig.dpi / 72:.2f}"] * 2


def test_the_chapter_figures_keep_their_labels_legible_in_a_phone_column():
    for name, fig in chapter_figures().items():
        (width, _), _ = png_meta(fig, dpi=160, bbox_inches="tight")
        shown = draw.FONTSIZE * 160 / 72 * PHONE_COLUMN_PX / width
        assert shown >= (10.5 if name == "map" else 13), (name, width, shown)


def test_headings_put_a_plain_parenthesis_on_a_second_line():
    net = bplit.Network([2, 3, 2], seed=0)
    heads = [t.get_text() for t in artists(draw.network(net, "nielsen"), "layer")]
    assert heads == ["layer 1\n(input)", "layer 2", "layer 3\n(output)"]
    mine = draw.network(net, layer=lambda l, L: f"L{l} (x)" if l else "$f(a) (b)$")
    assert [t.get_text() for t in artists(mine, "layer")] == ["$f(a) (b)$", "L1\n(x)", "L2\n(x)"]


def _unit_circles(fig, renderer):
    return [(c.get_window_extent(renderer), c) for c in artists(fig, "unit")]


def test_a_steep_highlighted_weight_is_named_on_its_line_clear_of_the_units():
    net = bplit.Network([3, 4, 5], seed=0)
    fig = draw.network(net, "nielsen", highlight=(1, 0, 3), spacing=1.25)
    renderer = fig.canvas.get_renderer()
    (label,) = artists(fig, "highlight-label")
    (line,) = artists(fig, "highlight")
    box = label.get_bbox_patch().get_window_extent(renderer)
    assert label.get_rotation() == 0 and label.get_va() == "center"
    for extent, _ in _unit_circles(fig, renderer):
        cx, cy, radius = extent.x0 + extent.width / 2, extent.y0 + extent.height / 2, extent.width / 2
        dx, dy = max(box.x0 - cx, 0, cx - box.x1), max(box.y0 - cy, 0, cy - box.y1)
        assert dx**2 + dy**2 >= radius**2, "the label covers a unit"
    (x0, x1), (y0, y1) = line.get_xdata(), line.get_ydata()
    t = (label.get_position()[0] - x0) / (x1 - x0)
    assert label.get_position()[1] == pytest.approx(y0 + t * (y1 - y0))  # centred on the line
    # a name too wide for the gap between two columns runs along the line, at its middle
    wide = draw.network(net, highlight=(1, 0, 3), spacing=1.25, weight=lambda l, j, k: "weights[1]\n[0, 3]")
    (label,) = artists(wide, "highlight-label")
    assert label.get_rotation() == pytest.approx(math.degrees(math.atan2(y1 - y0, x1 - x0)) % 360)
    assert label.get_position() == pytest.approx(((x0 + x1) / 2, (y0 + y1) / 2))
    # a shallow line keeps its name above its middle
    (label,) = artists(
        draw.network(bplit.Network([2, 3, 2], seed=1), "outin", highlight=(0, 2, 1)), "highlight-label"
    )
    assert label.get_rotation() == 0 and label.get_va() == "bottom"


def test_parameter_labels_step_down_only_when_they_would_touch():
    net = bplit.Network([3, 4, 5], seed=0)
    for spacing, apart in ((1.25, True), (2.0, False)):
        fig = draw.network(net, "bplit", spacing=spacing)
        renderer = fig.canvas.get_renderer()
        first, second = (t.get_window_extent(renderer) for t in artists(fig, "params"))
        assert not first.overlaps(second)
        assert bool(second.y1 < first.y1) is apart


def test_panels_keep_each_drawing_at_the_scale_of_its_own_figure():
    net = bplit.Network([2, 3, 2], seed=0)
    graph = bplit.GraphNetwork(SKIP_LAYERS, SKIP_UPSTREAM, seed=0)
    alone = [draw.network(net, "nielsen"), draw.graph(graph)]
    fig = draw.panels(
        [("N", lambda ax: draw.network(net, "nielsen", ax=ax)), ("G", lambda ax: draw.graph(graph, ax=ax))]
    )
    assert len(fig.axes) == 2 and [t.get_text() for t in artists(fig, "title")] == ["N", "G"]
    radii = [
        c.get_window_extent(f.canvas.get_renderer()).width
        for f in [*alone, fig]
        for c in artists(f, "unit")[:1]
    ]
    panel_radii = [c.get_window_extent(fig.canvas.get_renderer()).width for c in artists(fig, "unit")]
    assert radii[0] == pytest.approx(panel_radii[0]) and radii[1] == pytest.approx(panel_radii[-1])
    widths = [f.get_size_inches()[0] for f in alone]
    assert fig.get_size_inches()[0] == pytest.approx(sum(widths) + 0.1, abs=0.3)
    tall = draw.panels([("N", lambda ax: draw.network(net, ax=ax))] * 3, ncols=1)
    assert tall.get_size_inches()[1] > 2.5 * alone[0].get_size_inches()[1]
