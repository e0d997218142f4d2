"""What an in-place NumPy update of W costs right after a multi-threaded product that read W.

``Network.step`` adds the change into each weight matrix in place, with one NumPy pass (single-
threaded), after the forward pass's product ``W a^T`` (multi-threaded in OpenBLAS). With two
threads, the other core holds lines of W from that product, and the first write to each line
must take it from there. This script times, for case A's first layer (W of shape 100 x 784,
a batch of 64), each operation alone and right after the product, in fresh processes, at 1
and 2 BLAS threads. From the repository root::

    .venv/bin/python benchmarks/write_after_product.py --out benchmarks/results/write_after_product.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

OPS = ("W += dW", "W *= 1", "dW += 0 (another array)", "vdot(W, W) (read only)")


def worker(dtype: str, repeats: int) -> None:
    """Median microseconds of each operation alone and right after the product, as JSON."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 784)).astype(dtype)
    W = rng.standard_normal((100, 784)).astype(dtype)
    dW = np.zeros_like(W)
    zT = np.empty((100, 64), dtype)
    ops = dict(
        zip(
            OPS,
            (lambda: W.__iadd__(dW), lambda: W.__imul__(1), lambda: dW.__iadd__(0), lambda: np.vdot(W, W)),
        )
    )
    out = {}
    for name, op in ops.items():
        for after in (False, True):
            times = []
            for _ in range(repeats):
                if after:
                    np.matmul(W, X.T, out=zT)  # reads all of W, on every BLAS thread
                t = time.perf_counter()
                op()
                times.append(time.perf_counter() - t)
            out[f"{name}|{after}"] = float(np.median(times) * 1e6)
    print(json.dumps(out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="markdown results path")
    p.add_argument("--processes", type=int, default=3, help="fresh processes per setting")
    p.add_argument("--repeats", type=int, default=2000)
    args = p.parse_args()
    rows = []
    for threads in (1, 2):
        for dtype in ("float64", "float32"):
            env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
            runs = [
                json.loads(
                    subprocess.run(
                        [sys.executable, __file__, "--worker", dtype, str(args.repeats)],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                )
                for _ in range(args.processes)
            ]
            for name in OPS:
                alone = sorted(r[f"{name}|False"] for r in runs)
                after = sorted(r[f"{name}|True"] for r in runs)
                rows.append((threads, dtype, name, alone, after))
    lines = [
        "# An in-place update of W right after a product that read W",
        "",
        f"Command: `.venv/bin/python benchmarks/write_after_product.py {' '.join(sys.argv[1:])}`; "
        f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}; W 100 x 784, X 64 x 784 (case A's first layer); "
        f"median of {args.repeats} timings per process, one value per fresh process (sorted).",
        "",
        "| BLAS threads | dtype | operation | alone (µs) | right after `W @ X.T` (µs) |",
        "|---:|---|---|---|---|",
    ]
    for threads, dtype, name, alone, after in rows:
        fmt = lambda xs: ", ".join(f"{x:.1f}" for x in xs)  # noqa: E731
        lines.append(f"| {threads} | {dtype} | `{name}` | {fmt(alone)} | {fmt(after)} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]))
    else:
        main()
