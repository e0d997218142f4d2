"""Benchmark: one training step (forward + backward + update) of bplit against its references.

Cases A (batch 64, [784, 100, 10], sigmoid, softmax + cross-entropy), B (batch 256,
[784, 512, 512, 10], ReLU, softmax + cross-entropy) and C (batch 1, [3, 4, 2], sigmoid,
half sum of squares), in float64 and float32. Implementations: ``bplit`` (``net.step``),
``baseline`` (the same on another checkout, ``--baseline DIR``, imported beside this one),
``bound`` (the matrix products alone), ``bare`` (the leanest NumPy step: products and the
unavoidable element-wise work, no checks), ``torch`` (PyTorch eager), ``sklearn``
(``partial_fit``) and ``loop`` (Nielsen's per-sample algorithm). Each is first checked to
make bplit's update, then timed in contiguous blocks (``--rounds`` interleaved rounds,
samples pooled); the report gives medians, quartiles and the ratios of medians of the run.
benchmarks/README.md describes it all. From the repository root::

    .venv/bin/python benchmarks/step_benchmark.py --wait-idle 120 --retries 2
    .venv/bin/python benchmarks/step_benchmark.py --quick
    .venv/bin/python benchmarks/step_benchmark.py --impls bplit baseline bound torch \
        --baseline /tmp/bplit-old --rounds 5 --out benchmarks/results/step_before_after.json

Writes ``benchmarks/results/step_benchmark.json`` and ``.md`` (``--out``: the JSON path, the
markdown beside it); ``--quick`` writes to the temporary directory unless ``--out`` is given.
"""

from __future__ import annotations

import os
import sys

# --threads N must act before NumPy, SciPy or PyTorch start their thread pools (and reach the
# worker processes of the before/after comparison), so it is read here, ahead of argparse.
if "--threads" in sys.argv[1:-1]:
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _n

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import NamedTuple  # noqa: E402

import numpy as np  # noqa: E402
from step_impls import BASELINE, FACTORIES, LR, OtherProcess, impl_bplit, load_baseline
from timing import BUSY, ROOT, fmt, git, interleaved_blocks, machine_facts, time_block, wait_for_idle

import bplit

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "step_benchmark.json"
IMPLS = ("bplit", "baseline", "bound", "bare", "torch", "sklearn", "loop")
# (numerator, denominator, {case: target}): the ratio of median step times must be <= target
TARGETS = (
    ("bplit", "baseline", {"A": 1.08, "B": 1.05}),  # issue 19: A within 8 %, B within 5 % of 46cc9c9
    ("bplit", "bound", {"A": 1.25, "B": 1.15}),
    ("bplit", "torch", {"A": 1.0, "B": 1.0, "C": 1.0}),  # faster than PyTorch eager in every setting
    ("bplit", "sklearn", {"A": 0.4, "B": 0.4}),
    ("bplit", "loop", {}),
    ("bplit", "bare", {}),
)
FLOORS = {"floor": "bound", "floor_bare": "bare"}  # a reference's floor: that impl's time over its


class Case(NamedTuple):
    name: str
    batch: int
    sizes: tuple[int, ...]
    hidden: str
    output: str
    loss: str
    init: str

    def as_dict(self) -> dict:
        desc = f"batch {self.batch}, sizes {list(self.sizes)}, {self.hidden} hidden, {self.output} output"
        n_params = sum((i + 1) * o for i, o in zip(self.sizes[:-1], self.sizes[1:]))
        return dict(self._asdict(), description=f"{desc}, {self.loss}", n_params=n_params)


CASES = {
    "A": Case("A", 64, (784, 100, 10), "sigmoid", "softmax", "cross_entropy", "nielsen"),
    "B": Case("B", 256, (784, 512, 512, 10), "relu", "softmax", "cross_entropy", "he"),
    "C": Case("C", 1, (3, 4, 2), "sigmoid", "sigmoid", "half_sse", "nielsen"),
}


def make_problem(case: Case, dtype: np.dtype, lib=bplit):
    """The network (seed 0) and the data: inputs, targets (one-hot rows or values in (0, 1)), labels."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((case.batch, case.sizes[0])).astype(dtype)
    n_out = case.sizes[-1]
    labels = np.arange(case.batch) % n_out  # every class present
    rng.shuffle(labels)
    if case.loss == "cross_entropy":
        Y = np.eye(n_out, dtype=dtype)[labels]
    else:
        Y = rng.uniform(0.1, 0.9, (case.batch, n_out)).astype(dtype)
    kw = dict(hidden=case.hidden, output=case.output, loss=case.loss, init=case.init)
    return lib.Network(list(case.sizes), dtype=dtype, seed=0, **kw), X, Y, labels


def check_same_step(case: Case, impls: list[str]) -> dict[str, str]:
    """One float64 step from the same parameters: every implementation must make bplit's update."""
    net, X, Y, labels = make_problem(case, np.dtype(np.float64))
    ref_step, ref_params = impl_bplit(case, net, X, Y, labels)
    ref_step()
    ref = np.concatenate(
        [(p1 - p0).ravel() for p1, p0 in zip(sum(ref_params(), []), net.weights + net.biases)]
    )
    out = {}
    for name in impls:
        if name in ("bplit", "bound") or (name == "sklearn" and case.loss != "cross_entropy"):
            continue
        step, params = FACTORIES[name](case, net, X, Y, labels)
        before = [np.array(p) for p in sum(map(list, params()), [])]
        step()
        upd = np.concatenate(
            [(np.asarray(p1) - p0).ravel() for p1, p0 in zip(sum(map(list, params()), []), before)]
        )
        err = float(np.max(np.abs(upd - ref)) / np.max(np.abs(ref)))
        if not err < 1e-9:
            raise AssertionError(
                f"case {case.name}: {name}'s step differs from bplit's (relative error {err:.2e})"
            )
        out[name] = f"same update as bplit (relative error {err:.1e})"
    return out


# ---------------------------------------------------------------------------- report
def ratios(res: dict, impls: list[str], cases: list[str], dtypes: list[str]) -> list[dict]:
    """Ratios of medians numerator / denominator from this run, with targets and floors."""
    ok = {k: r["median_s"] for k, r in res.items() if r["status"] == "ok"}
    out = []
    for num, den, targets in TARGETS:
        for c in cases:
            for d in dtypes:
                if num not in impls or den not in impls:
                    continue
                a, b = ok.get((c, d, num)), ok.get((c, d, den))
                ratio = None if a is None or b is None else a / b
                target = targets.get(c)
                row = dict(case=c, dtype=d, numerator=num, denominator=den, ratio=ratio, target=target)
                row["pass"] = None if ratio is None or target is None else bool(ratio <= target)
                for key, impl in FLOORS.items():  # no NumPy step doing that work has a smaller ratio
                    f = ok.get((c, d, impl))
                    row[key] = None if den == impl or f is None or b is None else f / b
                out.append(row)
    return out


def markdown(rep: dict) -> str:
    s, mf, base = rep["settings"], rep["machine"], rep.get("baseline")
    pools = "; ".join(
        f"{t['internal_api']} {t.get('version')} ({t['num_threads']} threads)" for t in mf["threadpools"]
    )
    env = ", ".join(f"{k}={v}" for k, v in mf["env"].items() if v) or "none set"
    based = f"; baseline: `{base['dir']}` at {base['commit']}" if base else ""
    head = f"Command: `{rep['command']}` (from the repository root), {rep['date_utc']}, {rep['duration_s']:.0f} s"
    lines = [
        "# Training step: bplit against its references",
        "",
        f"{head}; commit {rep['git']['commit']}{based}.",
        "",
    ]
    lines += [f"Machine: {mf['cpu_model']}, {mf['cpus_available']} CPUs; NumPy {mf['numpy']}, scikit-learn "
              f"{mf['sklearn']}, PyTorch {mf['torch']}; BLAS/OpenMP: {pools}; environment: {env}.", ""]  # fmt: skip
    lines += [f"Time per step, median [quartiles] over the samples of {s['rounds']} round(s) of one block per "
              f"implementation (a sample: k steps, at least {s['min_sample_ms']:g} ms); `*`: a block disturbed "
              f"by other processes (over {BUSY} CPUs).", ""]  # fmt: skip
    lines += [f"- {n}" for n in rep["notes"]] + ([""] if rep["notes"] else [])
    res = {(r["case"], r["dtype"], r["impl"]): r for r in rep["results"]}
    lines += ["| case | dtype | " + " | ".join(s["impls"]) + " |", "|---|---|" + "---:|" * len(s["impls"])]
    for c in s["cases"]:
        for d in s["dtypes"]:
            cells = []
            for r in (res[c, d, i] for i in s["impls"]):
                star = "*" if (r.get("others_cpus") or 0) > BUSY else ""
                ok = r["status"] == "ok"
                cells.append(
                    f"{fmt(r['median_s'])} [{fmt(r['q1_s'])}, {fmt(r['q3_s'])}]{star}" if ok else "skipped"
                )
            lines.append(f"| {c} | {d} | " + " | ".join(cells) + " |")
    lines += ["", "Ratios of medians of this run (a target is met when the ratio is at most it); floors: the "
              "bound's and the bare step's time over the reference's (no NumPy step doing that work goes below).",
              "", "| case | dtype | ratio | value | target | pass | floor (bound) | floor (bare) |",
              "|---|---|---|---:|---:|:---:|---:|---:|"]  # fmt: skip
    for r in (r for r in rep["ratios"] if r["ratio"] is not None):
        cells = [f"{r['numerator']} / {r['denominator']}", f"{r['ratio']:.3g}"]
        cells += [
            "—" if r["target"] is None else f"≤ {r['target']}",
            {True: "pass", False: "FAIL", None: "—"}[r["pass"]],
        ]
        cells += ["" if r[k] is None else f"{r[k]:.3g}" for k in FLOORS]
        lines.append(f"| {r['case']} | {r['dtype']} | " + " | ".join(cells) + " |")
    lines += ["", "Cases:", ""] + [
        f"- {n}: {c['description']}; {c['n_params']} parameters." for n, c in rep["cases"].items()
    ]
    lines += ["", "Checks before timing (one float64 step from the same parameters):", ""]
    lines += [f"- {c}, {i}: {msg}" for c, checks in rep["checks"].items() for i, msg in checks.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- main
def worker(case: str, dtype: str, block: str) -> None:
    """Time one block of this process's ``bplit`` step and print the samples as JSON."""
    net, X, Y, labels = make_problem(CASES[case], np.dtype(dtype))
    times, k = time_block(impl_bplit(CASES[case], net, X, Y, labels)[0], **json.loads(block))
    print(json.dumps({"times": times, "k": k, "bplit": bplit.__file__}))


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = p.add_argument
    add("--quick", action="store_true", help="few, short samples: a smoke test")
    add("--out", help="JSON results path (markdown beside it)")
    add("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    add("--impls", nargs="+", default=[i for i in IMPLS if i != "baseline"], choices=IMPLS)
    add("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    add("--baseline", metavar="DIR", help="checkout whose bplit the impl 'baseline' runs")
    add("--rounds", type=int, default=1, help="interleaved blocks per implementation")
    add("--min-sample-ms", type=float, help="shortest sample (default 20; quick 5)")
    add("--samples", type=int, help="fewest samples per block (default 30; quick 5)")
    add("--budget", type=float, help="seconds per block after --samples (default 3; quick 0.3)")
    add("--wait-idle", type=float, default=0.0, metavar="S", help="wait for a quiet machine")
    add("--retries", type=int, default=0, help="re-time a block disturbed by others")
    add("--threads", type=int, help="threads of every BLAS, OpenMP and PyTorch pool (default: the machine's)")
    args = p.parse_args(argv)
    raw = sys.argv[1:] if argv is None else argv
    block = dict(
        min_sample_s=(args.min_sample_ms or (5.0 if args.quick else 20.0)) / 1e3,
        n_min=args.samples or (5 if args.quick else 30),
        budget_s=args.budget or (0.3 if args.quick else 3.0),
        warmup_s=0.05 if args.quick else 0.3,
    )
    block["n_max"] = max(block["n_min"], 10 if args.quick else 200)
    impls, notes, torch_version = list(args.impls), [], None
    if "baseline" in impls:
        if not args.baseline:
            p.error("--impls baseline needs --baseline DIR")
        load_baseline(args.baseline)
    if "torch" in impls:
        try:
            import torch

            torch_version = torch.__version__
        except ImportError as exc:
            notes.append(f"PyTorch is not importable ({exc}); skipped (benchmarks/requirements.txt).")
    if "sklearn" in impls and "C" in args.cases:
        notes.append("scikit-learn on C is MLPRegressor: identity output, half mean squared error.")
    facts = machine_facts(torch_version)
    facts["others_cpus_before_start"] = wait_for_idle(args.wait_idle) if args.wait_idle > 0 else None
    t_start, checks, results = time.perf_counter(), {}, []
    todo = [i for i in impls if i != "torch" or torch_version is not None]
    for cname in args.cases:
        case = CASES[cname]
        checks[cname] = check_same_step(case, todo)
        for dt in args.dtypes:
            net, X, Y, labels = make_problem(case, np.dtype(dt))
            steps = {i: FACTORIES[i](case, net, X, Y, labels)[0] for i in todo}
            if "baseline" in todo:  # before/after: both versions of bplit, each in its own processes
                steps.update(
                    bplit=OtherProcess(str(ROOT), case, dt), baseline=OtherProcess(BASELINE["dir"], case, dt)
                )
            stats = interleaved_blocks(steps, args.rounds, args.retries, args.wait_idle, **block)
            for impl in impls:
                row = {"case": cname, "dtype": dt, "impl": impl, "status": "skipped"}
                if impl in stats:
                    row.update(status="ok", **stats[impl])
                    print(f"{cname} {dt:7s} {impl:8s} {fmt(row['median_s']):>10s}", file=sys.stderr)
                results.append(row)
    busy = [r for r in results if (r.get("others_cpus") or 0) > BUSY]
    if busy:
        notes.append(f"{len(busy)} of {len(results)} rows (*) had a block disturbed by other processes.")
    settings = dict(vars(args), impls=impls, learning_rate=LR, min_sample_ms=block["min_sample_s"] * 1e3)
    settings.update(block)
    res = {(r["case"], r["dtype"], r["impl"]): r for r in results}
    report = {
        "benchmark": "training step: forward + backward + update",
        "command": shlex.join([".venv/bin/python", "benchmarks/step_benchmark.py", *raw]),
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": time.perf_counter() - t_start,
        "git": {"commit": git("rev-parse", "HEAD"), "bplit_changes": git("status", "--porcelain", "bplit")},
        "baseline": {k: v for k, v in BASELINE.items() if k != "module"} if BASELINE["module"] else None,
        "machine": facts,
        "settings": settings,
        "cases": {n: CASES[n].as_dict() for n in args.cases},
        "checks": checks,
        "notes": notes,
        "results": results,
        "ratios": ratios(res, impls, args.cases, args.dtypes),
    }
    out = Path(args.out or (Path(tempfile.gettempdir()) / "step_quick.json" if args.quick else DEFAULT_OUT))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    print(f"wrote {out} and {out.with_suffix('.md')}", file=sys.stderr)
    return report


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(*sys.argv[2:5])
    else:
        main()
