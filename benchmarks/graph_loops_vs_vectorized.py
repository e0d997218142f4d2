"""Benchmark: GraphNetwork gradients by the per-unit loops (Algorithms 2-3) vs the masked matrices.

The graph for width ``h`` has layers of sizes [8, h, h, 4]: U_2 reads all inputs, U_3
reads all of U_2 plus every input (skip connections), U_4 reads all of U_3 plus every
second unit of U_2 (sparse skips).  Both paths are first checked equal (rtol 1e-12),
then each is timed ``--repeats`` times on the same batch; the table gives the median
and the quartiles of the wall time, and the ratio of the two medians of this run.

Usage (from the repository root)::

    .venv/bin/python benchmarks/graph_loops_vs_vectorized.py \
        --widths 4 8 16 32 64 128 256 --batch 32 --repeats 15 --threads 1 \
        --out benchmarks/results/graph_loops_vs_vectorized.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from bplit.graph import GraphNetwork


def make_graph(h: int, seed: int = 0) -> GraphNetwork:
    """The benchmark graph of width ``h`` (see the module docstring)."""
    sizes = [8, h, h, 4]
    layers, start = [], 0
    for s in sizes:
        layers.append(list(range(start, start + s)))
        start += s
    up = {}
    for i in layers[1]:
        up[i] = layers[0]
    for i in layers[2]:
        up[i] = layers[1] + layers[0]
    for i in layers[3]:
        up[i] = layers[2] + layers[1][::2]
    return GraphNetwork(layers, up, activation="tanh", seed=seed)


def timings(fn, repeats: int) -> np.ndarray:
    out = np.empty(repeats)
    for r in range(repeats):
        t0 = time.perf_counter()
        fn()
        out[r] = time.perf_counter() - t0
    return out


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[4, 8, 16, 32, 64, 128])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (the loops use one core)")
    parser.add_argument("--out", default=None, help="write the markdown table to this file")
    args = parser.parse_args(argv)
    with threadpool_limits(limits=args.threads):
        return run(args, argv)


def run(args: argparse.Namespace, argv: list[str] | None) -> str:
    load_before = os.getloadavg()[0]

    rng = np.random.default_rng(0)
    rows = []
    for h in args.widths:
        g = make_graph(h)
        X = rng.standard_normal((args.batch, 8))
        Y = rng.standard_normal((args.batch, 4))
        a, b = g.gradients(X, Y), g.gradients(X, Y, method="loops")
        np.testing.assert_allclose(a.flat(), b.flat(), rtol=1e-12, atol=1e-12)
        t_loop = timings(lambda g=g, X=X, Y=Y: g.gradients(X, Y, method="loops"), args.repeats)
        t_vec = timings(lambda g=g, X=X, Y=Y: g.gradients(X, Y), args.repeats)
        q_loop = np.percentile(t_loop, [25, 50, 75]) * 1e3
        q_vec = np.percentile(t_vec, [25, 50, 75]) * 1e3
        rows.append((h, len(g.edges), q_loop, q_vec, q_loop[1] / q_vec[1]))
        print(f"h={h}: loops {q_loop[1]:.2f} ms, vectorized {q_vec[1]:.3f} ms", file=sys.stderr)

    cmd = "python benchmarks/graph_loops_vs_vectorized.py " + shlex.join(
        argv if argv is not None else sys.argv[1:]
    )
    lines = [
        "# GraphNetwork.gradients: per-unit loops vs masked matrices",
        "",
        f"Command: `{cmd}` (run from the repository root with `.venv/bin/python`)",
        "",
        f"Python {platform.python_version()}, NumPy {np.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, BLAS limited to {args.threads} thread(s); 1-minute load average "
        f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after the run (a shared machine adds noise). "
        f"Batch m = {args.batch}, {args.repeats} repeats per cell; times in milliseconds per call of "
        "`g.gradients(X, Y, method=...)`; both paths checked equal (rtol 1e-12) first.",
        "",
        "| width h | edges | loops median [q1, q3] (ms) | vectorized median [q1, q3] (ms) | ratio of medians |",
        "|---:|---:|---:|---:|---:|",
    ]
    for h, n_edges, ql, qv, ratio in rows:
        lines.append(
            f"| {h} | {n_edges} | {ql[1]:.2f} [{ql[0]:.2f}, {ql[2]:.2f}] | "
            f"{qv[1]:.3f} [{qv[0]:.3f}, {qv[2]:.3f}] | {ratio:.0f} |"
        )
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
