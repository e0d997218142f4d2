"""One epoch of ``fit`` at MNIST size, before and after a change, beside scikit-learn (issue 20 item 4).

Usage (from the repository root)::

    git worktree add --detach /tmp/before-fit <commit before the change>
    git worktree add --detach /tmp/after-fit <commit after it>
    nice .venv/bin/python benchmarks/fit_epoch.py --before /tmp/before-fit --after /tmp/after-fit \\
        --out benchmarks/results/fit_epoch.json

Measured, each in its own worker process with the checkout's ``bplit`` first on ``sys.path``:

* **epoch time**: ``net.fit(X, y, epochs=1, batch_size=200, optimizer=Adam(0.001), seed=r)``
  on 60,000 x 784 float64 inputs (``default_rng(0).random``) with integer labels 0..9,
  network [784, 100, 10] (ReLU, softmax, cross-entropy, He init): scikit-learn's
  ``MLPClassifier`` defaults. scikit-learn: ``MLPClassifier(hidden_layer_sizes=(100,),
  solver="adam", alpha=0, batch_size=200, max_iter=1, random_state=r).fit(X, y)``: one
  epoch, its input checks, label binarisation and initialisation included. Each worker
  times one warm-up epoch and ``--reps`` timed ones; the versions alternate in ``--rounds``
  rounds; the medians of all timed epochs are reported, at 1 and 2 BLAS threads
  (threadpoolctl). ``others_cpus``: the CPUs other processes kept busy during a worker.
* **peak allocation**: ``tracemalloc``'s peak during one epoch of ``fit`` (batch 128,
  learning rate 0.01) of a [256, 256, 10] network on 20,000 x 256 float64 inputs (39 MiB)
  and one-hot targets, the data made before tracing starts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

N, N_IN, HIDDEN, BATCH = 60_000, 784, 100, 200


def mnist_like():
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.random((N, N_IN)), rng.integers(0, 10, N)


def worker(kind: str, threads: int, reps: int) -> dict:
    """Run in a fresh process: the epoch times (or the peak) of one implementation."""
    import warnings

    import numpy as np
    from threadpoolctl import threadpool_limits

    if kind == "peak":
        import tracemalloc

        import bplit

        rng = np.random.default_rng(0)
        X = rng.standard_normal((20_000, 256))
        Y = np.eye(10)[rng.integers(0, 10, 20_000)]
        net = bplit.Network([256, 256, 10], "relu", "softmax", "cross_entropy", seed=0, init="he")
        tracemalloc.start()
        net.fit(X, Y, epochs=1, batch_size=128, learning_rate=0.01)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return {"peak_bytes": peak, "data_bytes": X.nbytes + Y.nbytes, "X_bytes": X.nbytes}
    X, y = mnist_like()
    times, cpu = [], []
    with threadpool_limits(limits=threads):
        for r in range(reps + 1):
            if kind == "sklearn":
                from sklearn.exceptions import ConvergenceWarning
                from sklearn.neural_network import MLPClassifier

                clf = MLPClassifier(
                    hidden_layer_sizes=(HIDDEN,), solver="adam", alpha=0.0, batch_size=BATCH, max_iter=1,
                    random_state=r,
                )  # fmt: skip
                t, c = time.perf_counter(), time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch, on purpose
                    clf.fit(X, y)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            else:
                import bplit
                from bplit.optim import Adam

                net = bplit.Network([N_IN, HIDDEN, 10], "relu", "softmax", "cross_entropy", seed=r, init="he")
                t, c = time.perf_counter(), time.process_time()
                history = net.fit(X, y, epochs=1, batch_size=BATCH, optimizer=Adam(0.001), seed=r)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                assert len(history) == 1 and np.isfinite(history[0])
    import bplit

    return {"times_s": times[1:], "cpu_s": cpu[1:], "warmup_s": times[0], "bplit_file": bplit.__file__}


def run_worker(checkout: str | None, kind: str, threads: int, reps: int) -> dict:
    from timing import OthersMeter

    env = dict(os.environ, PYTHONPATH=checkout or "")
    code = f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import fit_epoch as f; "
    code += f"print(json.dumps(f.worker({kind!r}, {threads}, {reps})))"
    meter = OthersMeter()
    meter.start()
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=checkout or "/", capture_output=True, text=True
    )
    others = meter.stop()
    if out.returncode:
        raise RuntimeError(out.stderr)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["others_cpus"] = None if others is None else round(others, 2)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--before", required=True, help="checkout of the version before the change")
    p.add_argument("--after", required=True, help="checkout of the version after the change")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=2, help="timed epochs per worker, after one warm-up")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--out", type=Path, default=Path("/tmp/fit_epoch.json"))
    args = p.parse_args()
    from timing import git, machine_facts

    impls = {"before": args.before, "after": args.after, "sklearn": args.after}
    report = {
        "command": " ".join(["python", *sys.argv]),
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "machine": machine_facts(),
        "commits": {k: git("rev-parse", "--short", "HEAD", cwd=Path(v)) for k, v in impls.items()},
        "settings": {
            "n": N,
            "sizes": [N_IN, HIDDEN, 10],
            "batch_size": BATCH,
            "rounds": args.rounds,
            "reps": args.reps,
        },  # fmt: skip
        "peak": {k: run_worker(impls[k], "peak", 1, 0) for k in ("before", "after")},
        "epoch": {},
    }
    for threads in args.threads:
        samples, cpu, files = {k: [] for k in impls}, {k: [] for k in impls}, {}
        others = {k: [] for k in impls}
        for rnd in range(args.rounds):
            for name in list(impls) if rnd % 2 == 0 else list(impls)[::-1]:
                res = run_worker(impls[name], name if name == "sklearn" else "bplit", threads, args.reps)
                samples[name] += res["times_s"]
                cpu[name] += res["cpu_s"]
                files[name] = res["bplit_file"]
                others[name].append(res["others_cpus"])
                print(
                    f"{threads} thread(s) round {rnd} {name}: {res['times_s']}", file=sys.stderr, flush=True
                )
        report["epoch"][str(threads)] = {
            k: {
                "median_s": statistics.median(v),
                "cpu_median_s": statistics.median(cpu[k]),
                "times_s": v,
                "cpu_s": cpu[k],
                "others_cpus": others[k],
                "bplit": files[k],
            }
            for k, v in samples.items()
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# One epoch of fit at MNIST size, before and after (issue 20 item 4)",
        "",
        f"Command: `{r['command']}`  ",
        f"Date (UTC): {r['date_utc']}; before {r['commits']['before']}, after {r['commits']['after']}  ",
        f"Machine: {m['cpu_model']}, {m['cpus_available']} CPUs, NumPy {m['numpy']}, "
        f"scikit-learn {m['sklearn']}",
        "",
        f"Epoch of 60,000 x 784 float64, [784, 100, 10] ReLU/softmax, Adam, batch 200; "
        f"median of {r['settings']['rounds'] * r['settings']['reps']} timed epochs each "
        "(wall-clock seconds, and CPU seconds of the process, which other processes on a busy machine "
        "disturb less; others_cpus: CPUs other processes kept busy, per worker):",
        "",
        "| threads | clock | before (s) | after (s) | after / before | MLPClassifier (s) | others_cpus |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for threads, e in r["epoch"].items():
        busy = max(o for k in e for o in e[k]["others_cpus"] if o is not None)
        for clock, key in (("wall", "median_s"), ("CPU", "cpu_median_s")):
            b, a, s = (e[k][key] for k in ("before", "after", "sklearn"))
            lines.append(
                f"| {threads} | {clock} | {b:.2f} | {a:.2f} | {a / b:.2f} | {s:.2f} | up to {busy:.2f} |"
            )
    lines += [
        "",
        "Peak allocation (tracemalloc) of one epoch of fit, [256, 256, 10] on 20,000 x 256 float64:",
        "",
        "| version | peak (MiB) | X (MiB) | peak / X |",
        "|---|---:|---:|---:|",
    ]
    for k, v in r["peak"].items():
        lines.append(
            f"| {k} | {v['peak_bytes'] / 2**20:.1f} | {v['X_bytes'] / 2**20:.1f} | "
            f"{v['peak_bytes'] / v['X_bytes']:.3f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
