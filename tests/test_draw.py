"""Tests of bplit.draw: the pictures of networks that the book's chapters show."""

from __future__ import annotations

import io
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
    "outin": ["$out_{1}$", "$out_{9}$", "layer 0 (input)", "$w_{jk}$", "$w_{69}$", r"\delta_k"],
    "column": [
        "$a^{0}_{1}$",
        "$a^{2}_{2}$",
        "$a^{0}$ (input)",
        "$W^{2},\\ b^{2}$",
        "$W^{2}_{23}$",
        r"\delta^l",
    ],
    "nielsen": [
        "$a^{1}_{1}$",
        "$a^{3}_{2}$",
        "layer 1 (input)",
        "$w^{3},\\ b^{3}$",
        "$w^{3}_{23}$",
        r"\delta^l",
    ],
    "rowmajor": [
        "$a^{0}_{1}$",
        "$a^{2}_{2}$",
        "layer 2 (output)",
        "$w^{1},\\ b^{1}$",
        "$w^{1}_{32}$",
        r"\Delta^l",
    ],
    "bplit": [
        "$a^{(0)}_{0}$",
        "$a^{(2)}_{1}$",
        "layer 0 (input)",
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
        "$y_{7}$" in found and r"$\mathbb{U}_{1}$ (input)" in found and r"$\mathbb{U}_{4}$ (output)" in found
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
