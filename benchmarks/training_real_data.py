"""Benchmark: the full-size runs of the chapter "Training on real data" (book/training_real_data.ipynb).

The chapter executes a few of these runs (fewer seeds) and shows this script's table for
the rest. Two comparisons on scikit-learn's handwritten digits, both against
``MLPClassifier`` with the same settings:

* **constant rate**: the 64-30-10 sigmoid network with softmax and cross-entropy, 40
  epochs of mini-batch gradient descent (batches of 10, eta 0.5), ``bplit`` (Nielsen's
  initialisation) and ``MLPClassifier`` (its own), one fit per seed;
* **practice**: integer labels, three optimizers (SGD and SGD with momentum under the
  ``invscaling`` schedule, Adam), early stopping on a validation split, each run three
  ways: ``bplit`` stopping on the validation loss, ``bplit`` stopping by scikit-learn's
  accuracy rule (a callback), and ``MLPClassifier(early_stopping=True)``, both libraries
  starting from the same parameters.

Every seed is run once per thread count in ``--threads`` (``threadpoolctl`` limits the
BLAS pools of the process). The report gives the test accuracies, epochs and best epochs
(the same for every thread count when ``same_results_across_threads`` is true) and, per
thread count, the median seconds per fit and the milliseconds per epoch (all fits' time
over all their epochs). ``--wait-idle S`` first waits, before each pass, up to S seconds
for other processes to leave the machine nearly idle. From the repository root::

    .venv/bin/python benchmarks/training_real_data.py --wait-idle 120

Writes ``benchmarks/results/training_real_data.json`` and ``.md`` (``--out``: the JSON
path, the markdown beside it). The settings below must stay those of the chapter, which
checks them against the JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits
from timing import ROOT, OthersMeter, git, machine_facts, wait_for_idle

import bplit
from bplit.optim import SGD, Adam

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "training_real_data.json"
# the chapter's settings (its cells real-09, real-12, b5afd4e2, ae922318 and 547ef155)
SPLIT_SEED, VAL_FRACTION, VAL_SEED = 0, 0.2, 1
SIZES, EPOCHS, BATCH_SIZE, ETA = [64, 30, 10], 40, 10, 0.5
HIDDEN, BATCH, MAX_EPOCHS, PATIENCE, POWER_T = 30, 32, 200, 10, 0.25
N_ITER_NO_CHANGE, TOL = PATIENCE - 1, 1e-9
CLASSES = np.arange(10)
RUNS = ("bplit, loss", "bplit, accuracy", "scikit-learn")
# name: (eta_0 or eta, momentum or None for Adam)
OPTIMIZERS = {"SGD": (2.0, 0.0), "SGD+momentum": (0.2, 0.9), "Adam": (0.01, None)}


def data() -> dict[str, np.ndarray]:
    """The chapter's split: training and test (stratified, seed 0), then fit and validation."""
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.25, random_state=SPLIT_SEED, stratify=digits.target
    )
    X_fit, X_val, y_fit, y_val = train_test_split(
        X_train, y_train, test_size=VAL_FRACTION, random_state=VAL_SEED, stratify=y_train
    )
    return dict(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        X_fit=X_fit,
        y_fit=y_fit,
        X_val=X_val,
        y_val=y_val,
    )


def invscaling(eta0: float, n: int):
    """MLPClassifier's learning_rate="invscaling" as a function of the epoch (from 1)."""
    return lambda epoch: eta0 / ((epoch - 1) * n + 1) ** POWER_T


def constant_rate(d: dict, seed: int) -> dict[str, dict]:
    """One seed of the chapter's constant-rate comparison: a bplit fit and an MLPClassifier fit."""
    net = bplit.Network(SIZES, hidden="sigmoid", output="softmax", loss="cross_entropy", seed=seed)
    Y_train = np.eye(10)[d["y_train"]]
    start = time.perf_counter()
    history = net.fit(d["X_train"], Y_train, EPOCHS, BATCH_SIZE, ETA, seed=seed)
    seconds = time.perf_counter() - start
    accuracy = bplit.accuracy(net.predict(d["X_test"]), np.eye(10)[d["y_test"]])
    out = {"bplit": dict(accuracy=float(accuracy), epochs=len(history), seconds=seconds)}
    clf = MLPClassifier(
        hidden_layer_sizes=(SIZES[1],),
        activation="logistic",
        solver="sgd",
        alpha=0.0,
        batch_size=BATCH_SIZE,
        learning_rate="constant",
        learning_rate_init=ETA,
        max_iter=EPOCHS,
        shuffle=True,
        random_state=seed,
        tol=0.0,
        n_iter_no_change=EPOCHS + 1,
        momentum=0.0,
        nesterovs_momentum=False,
        early_stopping=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached on purpose
        start = time.perf_counter()
        clf.fit(d["X_train"], d["y_train"])
        seconds = time.perf_counter() - start
    out["scikit-learn"] = dict(
        accuracy=float(clf.score(d["X_test"], d["y_test"])), epochs=clf.n_iter_, seconds=seconds
    )
    return out


def mlp(seed: int, **settings) -> MLPClassifier:
    """MLPClassifier at the practice section's settings, with ``settings`` added or replaced."""
    common = dict(
        hidden_layer_sizes=(HIDDEN,),
        activation="logistic",
        alpha=0.0,
        batch_size=BATCH,
        max_iter=MAX_EPOCHS,
        shuffle=True,
        random_state=seed,
        early_stopping=True,
        validation_fraction=VAL_FRACTION,
        n_iter_no_change=N_ITER_NO_CHANGE,
        tol=TOL,
    )
    return MLPClassifier(**(common | settings))


def sklearn_settings(name: str) -> dict:
    eta, momentum = OPTIMIZERS[name]
    if momentum is None:
        return dict(solver="adam", learning_rate_init=eta)
    return dict(
        solver="sgd",
        learning_rate="invscaling",
        learning_rate_init=eta,
        power_t=POWER_T,
        momentum=momentum,
        nesterovs_momentum=False,
    )


def bplit_optimizer(name: str, n_fit: int):
    eta, momentum = OPTIMIZERS[name]
    return Adam(eta) if momentum is None else SGD(invscaling(eta, n_fit), momentum=momentum)


def sklearn_start(d: dict, seed: int) -> bplit.Network:
    """A bplit network holding the parameters MLPClassifier's fit starts from (seed ``seed``)."""
    probe = mlp(seed, early_stopping=False, solver="sgd", learning_rate_init=1e-300)
    probe.partial_fit(d["X_fit"][:BATCH], d["y_fit"][:BATCH], classes=CLASSES)  # moves nothing
    net = bplit.Network([64, HIDDEN, 10], hidden="sigmoid", output="softmax", loss="cross_entropy")
    for w, b, coef, intercept in zip(net.weights, net.biases, probe.coefs_, probe.intercepts_):
        np.copyto(w, coef.T)
        np.copyto(b, intercept)
    return net


class AccuracyRule:
    """MLPClassifier's early stopping as a fit callback (the chapter's cell cd115bda)."""

    def __init__(self, X, y):
        self.X, self.y = X, y
        self.best, self.best_epoch, self.count, self.kept = -np.inf, None, 0, None

    def __call__(self, epoch, net):
        score = np.mean(net.classify(self.X) == self.y)
        self.count = self.count + 1 if score < self.best + TOL else 0
        if score > self.best:
            self.best, self.best_epoch = score, epoch
            self.kept = [p.copy() for p in (*net.weights, *net.biases)]
        return self.count <= N_ITER_NO_CHANGE

    def restore(self, net):
        for p, kept in zip((*net.weights, *net.biases), self.kept):
            np.copyto(p, kept)


def practice(d: dict, name: str, seed: int) -> dict[str, dict]:
    """One seed of one optimizer in the practice section: the three runs."""
    out = {}
    for run in RUNS[:2]:
        rule = None if run == RUNS[0] else AccuracyRule(d["X_val"], d["y_val"])
        stopping = dict(patience=PATIENCE, restore_best=True) if rule is None else dict(callback=rule)
        net = sklearn_start(d, seed)
        start = time.perf_counter()
        history = net.fit(
            d["X_fit"],
            d["y_fit"],
            epochs=MAX_EPOCHS,
            batch_size=BATCH,
            optimizer=bplit_optimizer(name, len(d["X_fit"])),
            seed=seed,
            validation_data=(d["X_val"], d["y_val"]),
            **stopping,
        )
        if rule is not None:
            rule.restore(net)
        seconds = time.perf_counter() - start
        best = history.best_epoch if rule is None else rule.best_epoch
        accuracy = float(np.mean(net.classify(d["X_test"]) == d["y_test"]))
        out[run] = dict(accuracy=accuracy, epochs=len(history), best=int(best), seconds=seconds)
    clf = mlp(seed, **sklearn_settings(name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(d["X_train"], d["y_train"])
        seconds = time.perf_counter() - start
    best = 1 + int(np.argmax(clf.validation_scores_))
    accuracy = float(clf.score(d["X_test"], d["y_test"]))
    out[RUNS[2]] = dict(accuracy=accuracy, epochs=clf.n_iter_, best=best, seconds=seconds)
    return out


def one_pass(d: dict, seeds: list[int], threads: int) -> dict:
    """Every run of both comparisons, for every seed, with the BLAS pools limited to ``threads``."""
    meter = OthersMeter()
    meter.start()
    with threadpool_limits(limits=threads):
        const = {lib: [] for lib in ("bplit", "scikit-learn")}
        for seed in seeds:
            for lib, row in constant_rate(d, seed).items():
                const[lib].append(dict(seed=seed, **row))
        prac = {name: {run: [] for run in RUNS} for name in OPTIMIZERS}
        for name in OPTIMIZERS:
            for seed in seeds:
                for run, row in practice(d, name, seed).items():
                    prac[name][run].append(dict(seed=seed, **row))
                print(f"threads {threads}: {name}, seed {seed} done", file=sys.stderr, flush=True)
    others = meter.stop()
    return dict(
        threads=threads,
        others_cpus=None if others is None else round(others, 3),
        constant_rate=const,
        practice=prac,
    )


def outcomes(p: dict) -> list:
    """What does not depend on the clock: every accuracy, epoch count and best epoch of a pass."""
    rows = [
        (lib, r["seed"], r["accuracy"], r["epochs"]) for lib, rs in p["constant_rate"].items() for r in rs
    ]
    for name, runs in p["practice"].items():
        rows += [
            (name, run, r["seed"], r["accuracy"], r["epochs"], r["best"])
            for run, rs in runs.items()
            for r in rs
        ]
    return rows


def summary(rows: list[dict]) -> dict:
    """Mean accuracy, median epochs, best and seconds per fit, and milliseconds per epoch."""
    acc, ep, sec = (np.array([r[k] for r in rows], dtype=float) for k in ("accuracy", "epochs", "seconds"))
    out = dict(
        mean_accuracy=float(acc.mean()),
        median_epochs=float(np.median(ep)),
        median_s_per_fit=float(np.median(sec)),
    )
    out["ms_per_epoch"] = float(1000 * sec.sum() / ep.sum())
    if "best" in rows[0]:
        out["median_best"] = float(np.median([r["best"] for r in rows]))
    return out


def markdown(rep: dict) -> str:
    passes, m = rep["passes"], rep["machine"]
    threads = [p["threads"] for p in passes]
    first = passes[0]
    lines = [
        '# "Training on real data": the full-size runs',
        "",
        f"Command: `{rep['command']}` (run from the repository root)",
        "",
        f"Date (UTC) {rep['date_utc']}; commit {rep['git']['commit']}"
        + (" with uncommitted changes in bplit/" if rep["git"]["bplit_changes"] else "")
        + f"; {m['cpu_model']}, {m['cpus_available']} CPUs; Python {m['python']}, NumPy {m['numpy']}, "
        f"scikit-learn {m['sklearn']}; BLAS pools: "
        + ", ".join(
            f"{t.get('internal_api')} {t.get('version')} ({t.get('num_threads')} threads)"
            for t in m["threadpools"]
        )
        + f". Seeds {rep['seeds']}, each run once per thread count ({', '.join(map(str, threads))}); other processes "
        "kept "
        + ", ".join(f"{p['others_cpus']} CPUs busy during the {p['threads']}-thread pass" for p in passes)
        + ". "
        "Accuracies, epochs and best epochs are "
        + (
            "the same for every thread count."
            if rep["same_results_across_threads"]
            else "**not** the same for every thread count; shown from the first pass."
        )
        + " Times are wall-clock (`time.perf_counter`) on a shared machine: indicative only.",
        "",
        f"## Constant rate: {EPOCHS} epochs, batches of {BATCH_SIZE}, eta {ETA}",
        "",
        "| library | mean test acc. | per seed | "
        + " | ".join(f"s/fit, {t} thr. | ms/epoch, {t} thr." for t in threads)
        + " |",
        "|---|---:|---|" + "---:|---:|" * len(threads),
    ]
    for lib, rows in first["constant_rate"].items():
        per_seed = ", ".join(f"{r['accuracy']:.4f}" for r in rows)
        s = [summary(p["constant_rate"][lib]) for p in passes]
        times = " | ".join(f"{x['median_s_per_fit']:.2f} | {x['ms_per_epoch']:.1f}" for x in s)
        lines.append(f"| {lib} | {s[0]['mean_accuracy']:.4f} | {per_seed} | {times} |")
    lines += [
        "",
        f"## Practice: early stopping (patience {PATIENCE}, at most {MAX_EPOCHS} epochs, batches of {BATCH})",
        "",
        "Test accuracy: mean over the seeds; epochs, best epoch and seconds per fit: medians.",
        "",
        "| optimizer | run | test acc. | epochs | best | "
        + " | ".join(f"s/fit, {t} thr. | ms/epoch, {t} thr." for t in threads)
        + " | epochs per seed |",
        "|---|---|---:|---:|---:|" + "---:|---:|" * len(threads) + "---|",
    ]
    for name, runs in first["practice"].items():
        for run, rows in runs.items():
            s = [summary(p["practice"][name][run]) for p in passes]
            times = " | ".join(f"{x['median_s_per_fit']:.2f} | {x['ms_per_epoch']:.1f}" for x in s)
            epochs = ", ".join(str(r["epochs"]) for r in rows)
            lines.append(
                f"| {name} | {run} | {s[0]['mean_accuracy']:.4f} | {s[0]['median_epochs']:.0f} | "
                f"{s[0]['median_best']:.0f} | {times} | {epochs} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=int, default=5, help="seeds 0 .. N-1 (default 5, as the chapter's table)"
    )
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="BLAS thread counts, one pass each"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="the JSON path; the markdown goes beside it"
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        help="before each pass, wait up to this long (s) for a quiet machine",
    )
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    command = shlex.join([".venv/bin/python", "benchmarks/training_real_data.py", *given])
    d, seeds = data(), list(range(args.seeds))
    machine = machine_facts()
    passes = []
    for threads in args.threads:
        if args.wait_idle > 0:
            wait_for_idle(args.wait_idle)
        passes.append(one_pass(d, seeds, threads))
    machine["load_average_end"] = os.getloadavg()
    rep = {
        "command": command,
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": {"commit": git("rev-parse", "HEAD"), "bplit_changes": git("status", "--porcelain", "bplit")},
        "bplit_file": os.path.relpath(Path(bplit.__file__).resolve(), ROOT),
        "machine": machine,
        "settings": dict(
            split_seed=SPLIT_SEED,
            val_fraction=VAL_FRACTION,
            val_seed=VAL_SEED,
            sizes=SIZES,
            epochs=EPOCHS,
            batch_size=BATCH_SIZE,
            eta=ETA,
            hidden=HIDDEN,
            batch=BATCH,
            max_epochs=MAX_EPOCHS,
            patience=PATIENCE,
            power_t=POWER_T,
            tol=TOL,
            optimizers={k: dict(eta=e, momentum=mu) for k, (e, mu) in OPTIMIZERS.items()},
        ),
        "seeds": seeds,
        "same_results_across_threads": all(outcomes(p) == outcomes(passes[0]) for p in passes),
        "passes": passes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rep, indent=1) + "\n")
    md = markdown(rep)
    args.out.with_suffix(".md").write_text(md)
    print(md)
    return rep


if __name__ == "__main__":
    main()
