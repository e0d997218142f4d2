"""Benchmark: one training step (forward + backward + update) of bplit against four references.

Three cases, each in float64 and float32:

* A: batch 64, sizes [784, 100, 10], sigmoid hidden, softmax output, cross-entropy;
* B: batch 256, sizes [784, 512, 512, 10], ReLU hidden, softmax output, cross-entropy;
* C: batch 1, sizes [3, 4, 2], sigmoid hidden and output, half sum of squares.

Implementations (each timed in its own contiguous block, after a warm-up):

* ``bplit``: ``net.step(X, Y, 1e-3)`` (mean reduction);
* ``bound``: the step's matrix products alone on preallocated arrays: forward
  ``np.matmul(a, W.T, out=...)`` per layer, backward ``delta.T @ a`` per layer and
  ``delta @ W`` per layer except the first, all with ``out=`` (the GEMM-only bound);
* ``bare``: the leanest NumPy step written for this one network: the bound's products
  plus only the element-wise work a step cannot skip (bias adds, activations, their
  derivatives, output error, bias sums), the weights updated in place by the same fused
  product ``bplit`` uses (``bplit._blas``); no input checks, no floating-point guard,
  no cost. ``bplit / bare`` is the price of ``bplit``'s checks, cost and generality, and
  ``bare / reference`` is a floor for what any NumPy step can reach;
* ``torch``: PyTorch eager on the CPU, ``nn.Linear`` layers, the same loss,
  ``loss.backward()`` and a manual SGD update under ``torch.no_grad()`` (optional);
* ``sklearn``: ``MLPClassifier.partial_fit`` on one batch (A, B) or
  ``MLPRegressor.partial_fit`` (C; its output is the identity, not a sigmoid, and its
  loss is the half *mean* squared error), solver="sgd", momentum=0, alpha=0;
* ``loop``: a per-sample loop in the style of Nielsen's ``network.py`` (column vectors,
  one forward and one backward pass per sample, gradients accumulated, then one update),
  written here in NumPy as a baseline.

Before timing, one step of every implementation is checked against bplit's from the
same parameters (float64; scikit-learn only where its model is the same, A and B).

Every sample of a block times ``k`` consecutive steps with ``time.perf_counter``, ``k``
chosen so that a sample lasts at least ``--min-sample-ms``; the table reports the median
and the quartiles of the per-step time over the samples, and the ratios of medians
from this one run, with the performance targets as pass/fail columns.

Usage (from the repository root)::

    .venv/bin/python benchmarks/step_benchmark.py            # full run, ~3 minutes
    .venv/bin/python benchmarks/step_benchmark.py --quick    # smoke test, ~20 s

Writes ``benchmarks/results/step_benchmark.json`` and ``.md`` (``--out PATH`` sets the
JSON path; the markdown goes beside it with the suffix ``.md``).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import bplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "step_benchmark.json"
LEARNING_RATE = 1e-3
BUSY_THRESHOLD = 0.25  # CPUs kept busy by other processes during a block, above which it is marked
IMPLS = ("bplit", "bound", "bare", "torch", "sklearn", "loop")
DTYPES = ("float64", "float32")
# (numerator, denominator, {case: target}): bplit's median step time over the reference's must be <= target
TARGETS = (
    ("bplit", "bound", {"A": 1.25, "B": 1.15}),
    ("bplit", "torch", {"A": 0.8, "B": 1.1, "C": 0.2}),
    ("bplit", "sklearn", {"A": 0.4, "B": 0.4}),
    ("bplit", "loop", {}),
    ("bplit", "bare", {}),
)


@dataclass(frozen=True)
class Case:
    name: str
    batch: int
    sizes: tuple[int, ...]
    hidden: str  # "sigmoid" or "relu"
    output: str  # "softmax" or "sigmoid"
    loss: str  # "cross_entropy" or "half_sse"
    init: str

    @property
    def n_params(self) -> int:
        return sum((i + 1) * o for i, o in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def gemm_madds(self) -> int:
        """Multiply-adds of the bound's products: forward, delta^T a, and delta W except the first layer."""
        m, s = self.batch, self.sizes
        per_layer = [m * i * o for i, o in zip(s[:-1], s[1:])]
        return 2 * sum(per_layer) + sum(per_layer[1:])

    def describe(self) -> str:
        return (
            f"batch {self.batch}, sizes {list(self.sizes)}, {self.hidden} hidden, "
            f"{self.output} output, {self.loss}"
        )


CASES = {
    "A": Case("A", 64, (784, 100, 10), "sigmoid", "softmax", "cross_entropy", "nielsen"),
    "B": Case("B", 256, (784, 512, 512, 10), "relu", "softmax", "cross_entropy", "he"),
    "C": Case("C", 1, (3, 4, 2), "sigmoid", "sigmoid", "half_sse", "nielsen"),
}


# ---------------------------------------------------------------------------- data and networks
def make_data(case: Case, dtype: np.dtype, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs X, targets Y (one-hot rows for the classifiers, values in (0, 1) for C) and labels."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((case.batch, case.sizes[0])).astype(dtype)
    n_out = case.sizes[-1]
    if case.loss == "cross_entropy":
        labels = np.arange(case.batch) % n_out  # every class present
        rng.shuffle(labels)
        Y = np.eye(n_out, dtype=dtype)[labels]
    else:
        labels = np.zeros(case.batch, dtype=int)
        Y = rng.uniform(0.1, 0.9, (case.batch, n_out)).astype(dtype)
    return X, Y, labels


def make_net(case: Case, dtype: np.dtype) -> bplit.Network:
    return bplit.Network(
        list(case.sizes),
        hidden=case.hidden,
        output=case.output,
        loss=case.loss,
        dtype=dtype,
        seed=0,
        init=case.init,
    )


# ---------------------------------------------------------------------------- implementations
# Each factory returns step(), a zero-argument callable doing one training step, and
# params(), the current (weights, biases) as NumPy arrays in bplit's layout, for the check.
def impl_bplit(case, net, X, Y, labels):
    net = net.copy()
    return (lambda: net.step(X, Y, LEARNING_RATE)), (lambda: (net.weights, net.biases))


def impl_bound(case, net, X, Y, labels):
    dt = net.dtype
    m, L = case.batch, len(case.sizes) - 1
    W = [w.copy() for w in net.weights]
    a = [np.ascontiguousarray(X)] + [np.zeros((m, n), dtype=dt) for n in case.sizes[1:]]
    rng = np.random.default_rng(2)
    d = [rng.standard_normal((m, n)).astype(dt) * 1e-3 for n in case.sizes[1:]]
    dprev = [np.zeros((m, n), dtype=dt) for n in case.sizes[1:-1]]
    gW = [np.zeros_like(w) for w in W]
    matmul = np.matmul

    def step():
        for l in range(L):
            matmul(a[l], W[l].T, out=a[l + 1])
        for l in range(L - 1, -1, -1):
            matmul(d[l].T, a[l], out=gW[l])
            if l > 0:
                matmul(d[l], W[l], out=dprev[l - 1])

    return step, None


def impl_bare(case, net, X, Y, labels):
    """The leanest step: preallocated buffers, in-place element-wise work, fused updates."""
    from bplit import _blas

    dt, m, sizes = net.dtype, case.batch, case.sizes
    L = len(sizes) - 1
    W = [w.copy() for w in net.weights]
    B = [b.copy() for b in net.biases]
    z = [np.empty((m, n), dt) for n in sizes[1:]]
    a = [np.ascontiguousarray(X)] + [np.empty((m, n), dt) for n in sizes[1:]]
    back = [np.empty((m, n), dt) for n in sizes[:-1]]
    tmp = [np.empty((m, n), dt) for n in sizes]
    d_out = np.empty((m, sizes[-1]), dt)
    ones_m, ones_out = np.ones(m, dt), np.ones(sizes[-1], dt)
    scale = dt.type(-LEARNING_RATE / m)
    gemm = _blas.gemm_acc

    def sigmoid_into(src, out):
        np.negative(src, out=out)
        np.exp(out, out=out)
        out += 1.0
        np.reciprocal(out, out=out)

    def times_sigmoid_prime(g, act, t):  # g *= act - act^2
        np.multiply(act, act, out=t)
        np.subtract(act, t, out=t)
        g *= t

    def step():
        for l in range(L):
            np.matmul(a[l], W[l].T, out=z[l])
            z[l] += B[l]
            if l < L - 1 and case.hidden == "relu":
                np.maximum(z[l], 0, out=a[l + 1])
            elif l < L - 1 or case.output == "sigmoid":
                sigmoid_into(z[l], a[l + 1])
            else:  # softmax
                np.subtract(z[l], np.maximum.reduce(z[l], axis=1, keepdims=True), out=a[l + 1])
                np.exp(a[l + 1], out=a[l + 1])
                a[l + 1] /= (a[l + 1] @ ones_out)[:, None]
        d = np.subtract(a[L], Y, out=d_out)  # cross-entropy with softmax: a - y
        if case.loss == "half_sse":  # (a - y) * sigma'(z) with a sigmoid output
            times_sigmoid_prime(d, a[L], tmp[L])
        d *= scale
        deltas = [d] * L
        for l in range(L - 1, 0, -1):
            g = np.matmul(deltas[l], W[l], out=back[l])
            if case.hidden == "relu":
                g *= np.greater(z[l - 1], 0, out=tmp[l])  # 1.0 where z > 0
            else:
                times_sigmoid_prime(g, a[l], tmp[l])
            deltas[l - 1] = g
        for l in range(L):
            B[l] += ones_m @ deltas[l]
            if gemm is not None and W[l].size >= 4096:
                gemm(W[l], deltas[l], a[l])  # W += delta^T a in place
            else:
                W[l] += deltas[l].T @ a[l]

    return step, (lambda: (W, B))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))  # as network.py writes it


def impl_loop(case, net, X, Y, labels):
    """Nielsen's network.py update_mini_batch + backprop, with its activations swapped in."""
    weights = [w.copy() for w in net.weights]
    biases = [b.copy()[:, None] for b in net.biases]
    mini_batch = [(X[s][:, None], Y[s][:, None]) for s in range(case.batch)]  # column vectors
    hidden, output = case.hidden, case.output
    eta = net.dtype.type(LEARNING_RATE)

    def f_hidden(z):
        return _sigmoid(z) if hidden == "sigmoid" else np.maximum(z, 0)

    def f_hidden_prime(z, a):
        return a * (1 - a) if hidden == "sigmoid" else (z > 0).astype(z.dtype)

    def backprop(x, y):
        activation, activations, zs = x, [x], []
        for l, (b, w) in enumerate(zip(biases, weights)):
            z = w @ activation + b
            zs.append(z)
            if l < len(weights) - 1:
                activation = f_hidden(z)
            elif output == "softmax":
                e = np.exp(z - z.max())
                activation = e / e.sum()
            else:
                activation = _sigmoid(z)
            activations.append(activation)
        if output == "softmax":  # cross-entropy with softmax: delta = a - y
            delta = activations[-1] - y
        else:  # half sum of squares with sigmoid: (a - y) * sigma'(z)
            delta = (activations[-1] - y) * activations[-1] * (1 - activations[-1])
        nabla_b = [None] * len(weights)
        nabla_w = [None] * len(weights)
        nabla_b[-1] = delta
        nabla_w[-1] = delta @ activations[-2].T
        for l in range(2, len(weights) + 1):
            delta = (weights[-l + 1].T @ delta) * f_hidden_prime(zs[-l], activations[-l])
            nabla_b[-l] = delta
            nabla_w[-l] = delta @ activations[-l - 1].T
        return nabla_b, nabla_w

    def step():
        nabla_b = [np.zeros_like(b) for b in biases]
        nabla_w = [np.zeros_like(w) for w in weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        scale = eta / len(mini_batch)
        for l in range(len(weights)):
            weights[l] = weights[l] - scale * nabla_w[l]
            biases[l] = biases[l] - scale * nabla_b[l]

    return step, (lambda: (weights, [b[:, 0] for b in biases]))


def impl_torch(case, net, X, Y, labels):
    import torch
    from torch import nn

    tdt = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}[net.dtype]
    layers: list[nn.Module] = []
    L = len(case.sizes) - 1
    for l, (n_in, n_out) in enumerate(zip(case.sizes[:-1], case.sizes[1:])):
        lin = nn.Linear(n_in, n_out, dtype=tdt)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(net.weights[l]))
            lin.bias.copy_(torch.from_numpy(net.biases[l]))
        layers.append(lin)
        if l < L - 1:
            layers.append(nn.Sigmoid() if case.hidden == "sigmoid" else nn.ReLU())
    if case.output == "sigmoid":
        layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers)
    params = list(model.parameters())
    xt = torch.from_numpy(np.ascontiguousarray(X))
    if case.loss == "cross_entropy":  # logits in, mean over the batch
        target = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        loss_fn = nn.CrossEntropyLoss(reduction="mean")
    else:  # 0.5 * sum of squares per sample, mean over the batch
        target = torch.from_numpy(np.ascontiguousarray(Y))

        def loss_fn(out, t):
            return 0.5 * ((out - t) ** 2).sum(dim=1).mean()

    def step():
        for p in params:
            p.grad = None
        loss = loss_fn(model(xt), target)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=LEARNING_RATE)
        return loss.item()

    def current():
        ws = [lin.weight.detach().numpy() for lin in model if isinstance(lin, nn.Linear)]
        bs = [lin.bias.detach().numpy() for lin in model if isinstance(lin, nn.Linear)]
        return ws, bs

    return step, current


def impl_sklearn(case, net, X, Y, labels):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    common = dict(
        hidden_layer_sizes=tuple(case.sizes[1:-1]),
        activation="logistic" if case.hidden == "sigmoid" else "relu",
        solver="sgd",
        alpha=0.0,
        batch_size=case.batch,
        learning_rate="constant",
        learning_rate_init=LEARNING_RATE,
        momentum=0.0,
        nesterovs_momentum=False,
        shuffle=False,
        random_state=0,
    )
    if case.loss == "cross_entropy":
        model = MLPClassifier(**common)
        classes = np.arange(case.sizes[-1])
        model.partial_fit(X, labels, classes=classes)  # first call sets up the layers (and steps once)
        y_fit = labels
    else:
        model = MLPRegressor(**common)  # identity output, half mean squared error
        model.partial_fit(X, Y)
        y_fit = Y
    assert model.coefs_[0].dtype == X.dtype, "scikit-learn changed the dtype"
    for l in range(len(net.weights)):  # start from bplit's parameters, in place (the optimizer holds them)
        model.coefs_[l][...] = net.weights[l].T
        model.intercepts_[l][...] = net.biases[l]

    def step():
        model.partial_fit(X, y_fit)

    return step, (lambda: ([c.T for c in model.coefs_], list(model.intercepts_)))


FACTORIES: dict[str, Callable] = {
    "bplit": impl_bplit,
    "bound": impl_bound,
    "bare": impl_bare,
    "torch": impl_torch,
    "sklearn": impl_sklearn,
    "loop": impl_loop,
}


def check_same_step(case: Case, impls: list[str]) -> dict[str, str]:
    """One step from the same float64 parameters: every implementation must land where bplit does."""
    net = make_net(case, np.float64)
    X, Y, labels = make_data(case, np.float64)
    ref_step, ref_params = impl_bplit(case, net, X, Y, labels)
    ref_step()
    ref_w, ref_b = ref_params()
    # compare the *updates* (parameter changes), which are ~1e-3 of the parameters
    ref = np.concatenate([(w1 - w0).ravel() for w1, w0 in zip(ref_w + ref_b, net.weights + net.biases)])
    out = {}
    for name in impls:
        if name in ("bplit", "bound"):
            continue
        if name == "sklearn" and case.loss != "cross_entropy":
            out[name] = "not compared (MLPRegressor: identity output, half mean squared error)"
            continue
        step, params = FACTORIES[name](case, net, X, Y, labels)
        w_before, b_before = (list(map(np.array, p)) for p in params())
        step()
        w_after, b_after = params()
        upd = np.concatenate(
            [
                (np.asarray(p1) - p0).ravel()
                for p1, p0 in zip(list(w_after) + list(b_after), w_before + b_before)
            ]
        )
        err = float(np.max(np.abs(upd - ref)) / np.max(np.abs(ref)))
        if not err < 1e-9:
            raise AssertionError(
                f"case {case.name}: {name}'s step differs from bplit's (relative error {err:.2e})"
            )
        out[name] = f"same update as bplit (relative error {err:.1e})"
    return out


# ---------------------------------------------------------------------------- timing
def machine_busy_seconds() -> float | None:
    """CPU-seconds all processes have spent busy since boot (from /proc/stat), or None."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class OthersMeter:
    """How many CPUs other processes kept busy, on average, between start() and stop()."""

    def start(self) -> None:
        self.busy0, self.own0, self.wall0 = machine_busy_seconds(), time.process_time(), time.perf_counter()

    def stop(self) -> float | None:
        busy1, own1, wall1 = machine_busy_seconds(), time.process_time(), time.perf_counter()
        if busy1 is None or self.busy0 is None:
            return None
        others = (busy1 - self.busy0) - (own1 - self.own0)
        return max(0.0, others / (wall1 - self.wall0))


def wait_for_idle(max_wait_s: float, threshold: float = 0.25) -> float | None:
    """Wait (at most ``max_wait_s``) until other processes use under ``threshold`` CPUs over 2 s."""
    meter = OthersMeter()
    deadline = time.perf_counter() + max_wait_s
    while True:
        meter.start()
        time.sleep(2.0)
        others = meter.stop()
        if others is None or others < threshold or time.perf_counter() >= deadline:
            return others
        print(
            f"waiting for an idle machine: other processes use {others:.2f} CPUs", file=sys.stderr, flush=True
        )


def time_block(step: Callable, min_sample_s: float, n_min: int, n_max: int, budget_s: float, warmup_s: float):
    """Per-step times (s) of ``n`` samples of ``k`` steps each, after a warm-up, GC off while timing."""
    perf = time.perf_counter
    t0 = perf()
    n_warm = 0
    while n_warm < 3 or perf() - t0 < warmup_s:
        step()
        n_warm += 1
    per_step = (perf() - t0) / n_warm
    k = max(1, math.ceil(min_sample_s / per_step))
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        times = []
        start = perf()
        while len(times) < n_min or (len(times) < n_max and perf() - start < budget_s):
            t = perf()
            for _ in range(k):
                step()
            times.append((perf() - t) / k)
    finally:
        if gc_was_enabled:
            gc.enable()
    return np.array(times), k


# ---------------------------------------------------------------------------- facts about the machine
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> list[str]:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return sorted(f for f in flags if f.startswith(("avx", "fma", "sse4")))
    except OSError:
        pass
    return []


def git_facts() -> dict:
    def run(*args):
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    status = run("status", "--porcelain", "--", "bplit")
    return {
        "commit": run("rev-parse", "HEAD"),
        "bplit_uncommitted_changes": bool(status) if status is not None else None,
    }


def machine_facts(torch_version: str | None) -> dict:
    import scipy
    import sklearn
    import threadpoolctl

    facts = {
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "logical_cpus": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "torch": torch_version,
        "bplit": bplit.__version__,
        "env": {
            k: os.environ.get(k)
            for k in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
                "MKL_NUM_THREADS",
            )
        },
        "threadpools": [
            {
                k: v
                for k, v in info.items()
                if k
                in (
                    "user_api",
                    "internal_api",
                    "version",
                    "num_threads",
                    "architecture",
                    "filepath",
                    "threading_layer",
                )
            }
            for info in threadpoolctl.threadpool_info()
        ],
    }
    if torch_version is not None:
        import torch

        facts["torch_num_threads"] = torch.get_num_threads()
        facts["torch_blas"] = torch.backends.mkl.is_available() and "MKL" or "other"
    return facts


# ---------------------------------------------------------------------------- report
def fmt_time(s: float) -> str:
    if s >= 1e-1:
        return f"{s * 1e3:.0f} ms"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def markdown(report: dict) -> str:
    mf = report["machine"]
    env = ", ".join(f"{k}={v}" for k, v in mf["env"].items() if v is not None) or "none set"
    blas = "; ".join(
        f"{t['internal_api']} {t.get('version')} ({t['num_threads']} threads"
        + (f", {t['architecture']}" if t.get("architecture") else "")
        + ")"
        for t in mf["threadpools"]
    )
    lines = [
        "# Training step: bplit against the GEMM-only bound, PyTorch, scikit-learn and a per-sample loop",
        "",
        f"Command: `{report['command']}` (from the repository root), {report['date_utc']}, "
        f"{report['duration_s']:.0f} s.",
        "",
        f"Machine: {mf['cpu_model']}, {mf['cpus_available']} CPUs available; Python {mf['python']}, "
        f"NumPy {mf['numpy']}, scikit-learn {mf['sklearn']}, PyTorch {mf['torch'] or 'not importable'}"
        + (f" ({mf['torch_num_threads']} threads)" if mf.get("torch_num_threads") else "")
        + f"; BLAS/OpenMP: {blas}; environment: {env}."
        + (
            f" Load average (1 min) {mf['load_average_start'][0]:.2f} at the start, "
            f"{mf['load_average_end'][0]:.2f} at the end."
            if mf.get("load_average_start")
            else ""
        ),
        "",
        "Time per training step (forward, backward, update), median [first quartile, third quartile] over "
        f"the samples of one block; each sample times k consecutive steps and lasts at least "
        f"{report['settings']['min_sample_ms']:g} ms.",
        "",
    ]
    if report["notes"]:
        lines += [f"- {n}" for n in report["notes"]] + [""]
    res = {(r["case"], r["dtype"], r["impl"]): r for r in report["results"]}
    impls = report["settings"]["impls"]
    lines.append("| case | dtype | " + " | ".join(impls) + " |")
    lines.append("|---|---|" + "---:|" * len(impls))
    for case in report["settings"]["cases"]:
        for dt in report["settings"]["dtypes"]:
            cells = []
            for impl in impls:
                r = res.get((case, dt, impl))
                if r is None or r["status"] != "ok":
                    cells.append("skipped")
                else:
                    star = "*" if (r.get("others_cpus") or 0) > BUSY_THRESHOLD else ""
                    cells.append(
                        f"{fmt_time(r['median_s'])} [{fmt_time(r['q1_s'])}, {fmt_time(r['q3_s'])}]{star}"
                    )
            lines.append(f"| {case} | {dt} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Ratios of medians (bplit's time over the reference's); a target is met when the ratio is at "
        "most the target.",
        "",
    ]
    pairs = [(num, den) for num, den, _ in TARGETS if den in impls and num in impls]
    header = "| case | dtype | " + " | ".join(f"{n} / {d} | target | pass" for n, d in pairs) + " |"
    lines.append(header)
    lines.append("|---|---|" + "---:|---:|:---:|" * len(pairs))
    rat = {(r["case"], r["dtype"], r["denominator"]): r for r in report["ratios"]}
    for case in report["settings"]["cases"]:
        for dt in report["settings"]["dtypes"]:
            cells = []
            for _, den in pairs:
                r = rat.get((case, dt, den))
                if r is None or r["ratio"] is None:
                    cells.append("n/a | " + (f"≤ {r['target']}" if r and r["target"] else "—") + " | n/a")
                    continue
                tgt = f"≤ {r['target']}" if r["target"] is not None else "—"
                ok = {True: "pass", False: "FAIL", None: "—"}[r["pass"]]
                cells.append(f"{r['ratio']:.3g} | {tgt} | {ok}")
            lines.append(f"| {case} | {dt} | " + " | ".join(cells) + " |")
    floor_cols = [("bound", "floor", d) for _, d in pairs if d not in ("bound", "bare") and "bound" in impls]
    floor_cols += [
        ("bare", "floor_bare", d) for _, d in pairs if d not in ("bound", "bare") and "bare" in impls
    ]
    if "bare" in impls and "bound" in impls:
        floor_cols.insert(0, ("bare", "floor_bare", "bound"))
    if floor_cols:
        lines += [
            "",
            "Floors: the median of the bound (the products alone) and of the bare step (the products and "
            "the element-wise work, nothing else) over each reference's. No step that does the same matrix "
            "products in NumPy can have a smaller ratio to that reference than the bound's, and none that also "
            "does the element-wise work a smaller one than the bare step's; a target below its floor cannot be "
            "met by tuning the code around the products.",
            "",
            "| case | dtype | " + " | ".join(f"{n} / {d}" for n, _, d in floor_cols) + " |",
            "|---|---|" + "---:|" * len(floor_cols),
        ]
        for case in report["settings"]["cases"]:
            for dt in report["settings"]["dtypes"]:
                cells = []
                for _, key, den in floor_cols:
                    r = rat.get((case, dt, den))
                    fl = None if r is None else r.get(key)
                    below = r is not None and fl is not None and r["target"] is not None and fl > r["target"]
                    cells.append(
                        "n/a" if fl is None else f"{fl:.3g}" + (" (above the target)" if below else "")
                    )
                lines.append(f"| {case} | {dt} | " + " | ".join(cells) + " |")
    lines += ["", "Cases:", ""]
    for name in report["settings"]["cases"]:
        c = report["cases"][name]
        lines.append(f"- {name}: {c['description']}; {c['n_params']} parameters.")
    lines += ["", "Checks before timing (one float64 step from the same parameters):", ""]
    for name, checks in report["checks"].items():
        for impl, msg in checks.items():
            lines.append(f"- {name}, {impl}: {msg}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few, short samples: a smoke test (~20 s)")
    parser.add_argument(
        "--out",
        default=None,
        help=f"JSON results path, markdown written beside it (default {DEFAULT_OUT.relative_to(ROOT)}; "
        "with --quick a file in the temporary directory, so a smoke test never overwrites the results)",
    )
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--impls", nargs="+", default=list(IMPLS), choices=list(IMPLS))
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument(
        "--min-sample-ms", type=float, default=None, help="shortest sample (default 20; quick 5)"
    )
    parser.add_argument(
        "--samples", type=int, default=None, help="fewest samples per block (default 30; quick 5)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds per block once --samples are in (default 3; quick 0.3)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for other processes to use under 0.25 CPUs (default 0: start at once); "
        "then up to 60 s before each block",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=0,
        help="time a block again (at most this many times) when other processes kept over 0.25 CPUs busy during it",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit NumPy's BLAS, OpenMP and PyTorch to this many threads (default: as the machine gives)",
    )
    args = parser.parse_args(argv)
    raw_argv = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join([".venv/bin/python", "benchmarks/step_benchmark.py", *raw_argv])

    min_sample_ms = args.min_sample_ms if args.min_sample_ms is not None else (5.0 if args.quick else 20.0)
    n_min = args.samples if args.samples is not None else (5 if args.quick else 30)
    budget = args.budget if args.budget is not None else (0.3 if args.quick else 3.0)
    n_max = max(n_min, 10 if args.quick else 200)
    warmup = 0.05 if args.quick else 0.3

    notes = []
    impls = list(args.impls)
    torch_version = None
    if "torch" in impls:
        try:
            import torch

            torch_version = torch.__version__
        except ImportError as exc:
            notes.append(
                f"PyTorch is not importable ({exc}); its column is skipped. Install it with "
                "`.venv/bin/pip install -r benchmarks/requirements.txt`."
            )
    if args.threads is not None:
        import scipy.linalg  # noqa: F401 (load every BLAS first, so that the limit reaches them all)
        import sklearn.neural_network  # noqa: F401
        import threadpoolctl

        _limits = threadpoolctl.threadpool_limits(limits=args.threads)  # noqa: F841 (kept for the run)
        if torch_version is not None:
            import torch

            torch.set_num_threads(args.threads)
        notes.append(
            f"Run with --threads {args.threads}: every BLAS, OpenMP and PyTorch pool was limited to it."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # threadpoolctl may warn about several OpenMP libraries
        facts = machine_facts(torch_version)
    if "sklearn" in impls and "C" in args.cases:
        notes.append(
            "scikit-learn on C is MLPRegressor with a logistic hidden layer: its output is the identity, "
            "not a sigmoid, and its loss is the half mean squared error (half_sse / n_out), so its step "
            "does a little less element-wise work than the others."
        )
    if "loop" in impls:
        notes.append(
            "loop: Nielsen's network.py update_mini_batch (per-sample column vectors, gradients "
            "accumulated into new lists, one update); it does not compute the cost, the others do."
        )
    if facts["env"].get("OPENBLAS_CORETYPE"):
        notes.append(
            f"OPENBLAS_CORETYPE={facts['env']['OPENBLAS_CORETYPE']} was set in the environment and left "
            "as it is: NumPy's OpenBLAS runs that kernel family (see the threadpools in the JSON)."
        )

    others_at_start = wait_for_idle(args.wait_idle) if args.wait_idle > 0 else None
    load_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    t_start = time.perf_counter()
    checks: dict[str, dict[str, str]] = {}
    results = []
    for cname in args.cases:
        case = CASES[cname]
        todo = [i for i in impls if i != "torch" or torch_version is not None]
        checks[cname] = check_same_step(case, todo)
        for dt_name in args.dtypes:
            dtype = np.dtype(dt_name)
            net = make_net(case, dtype)
            X, Y, labels = make_data(case, dtype)
            for impl in impls:
                row = {"case": cname, "dtype": dt_name, "impl": impl}
                if impl == "torch" and torch_version is None:
                    row.update(status="skipped", note="torch not importable")
                    results.append(row)
                    continue
                step, _ = FACTORIES[impl](case, net, X, Y, labels)
                for attempt in range(1, args.retries + 2):
                    if args.wait_idle > 0:
                        wait_for_idle(min(args.wait_idle, 60.0))
                    time.sleep(0.2)  # let the previous library's spinning worker threads go idle
                    meter = OthersMeter()
                    meter.start()
                    times, k = time_block(step, min_sample_ms / 1e3, n_min, n_max, budget, warmup)
                    others = meter.stop()
                    if others is None or others <= BUSY_THRESHOLD or attempt > args.retries:
                        break
                    print(
                        f"{cname} {dt_name} {impl}: other processes used {others:.2f} CPUs, timing the block again",
                        file=sys.stderr,
                        flush=True,
                    )
                q1, med, q3 = np.percentile(times, [25, 50, 75])
                row.update(
                    status="ok",
                    median_s=float(med),
                    q1_s=float(q1),
                    q3_s=float(q3),
                    min_s=float(times.min()),
                    steps_per_sample=int(k),
                    samples=len(times),
                    others_cpus=None if others is None else round(others, 3),
                    attempts=attempt,
                )
                results.append(row)
                print(
                    f"{cname} {dt_name:7s} {impl:8s} {fmt_time(med):>10s}  [{fmt_time(q1)}, {fmt_time(q3)}]"
                    f"  k={k} n={len(times)} others={others if others is None else round(others, 2)}",
                    file=sys.stderr,
                    flush=True,
                )
                del step
                gc.collect()

    res = {(r["case"], r["dtype"], r["impl"]): r for r in results}
    ratios = []
    for num, den, targets in TARGETS:
        if num not in impls or den not in impls:
            continue
        for cname in args.cases:
            for dt_name in args.dtypes:
                a, b = res.get((cname, dt_name, num)), res.get((cname, dt_name, den))
                target = targets.get(cname)
                ratio = None
                if a and b and a["status"] == "ok" and b["status"] == "ok":
                    ratio = a["median_s"] / b["median_s"]
                passed = None if ratio is None or target is None else bool(ratio <= target)
                floor = None  # the bound's time over the reference's: no NumPy step doing the same products beats it
                bound = res.get((cname, dt_name, "bound"))
                if den != "bound" and bound and b and bound["status"] == "ok" and b["status"] == "ok":
                    floor = bound["median_s"] / b["median_s"]
                floor_bare = None  # the same for the leanest step that also does the element-wise work
                bare = res.get((cname, dt_name, "bare"))
                if den != "bare" and bare and b and bare["status"] == "ok" and b["status"] == "ok":
                    floor_bare = bare["median_s"] / b["median_s"]
                ratios.append(
                    {
                        "case": cname,
                        "dtype": dt_name,
                        "numerator": num,
                        "denominator": den,
                        "ratio": ratio,
                        "target": target,
                        "pass": passed,
                        "floor": floor,
                        "floor_bare": floor_bare,
                    }
                )

    load_end = os.getloadavg() if hasattr(os, "getloadavg") else None
    facts["load_average_start"] = load_start
    facts["load_average_end"] = load_end
    facts["others_cpus_before_start"] = others_at_start
    busy_blocks = [r for r in results if (r.get("others_cpus") or 0) > BUSY_THRESHOLD]
    if busy_blocks:
        notes.append(
            f"{len(busy_blocks)} of {len(results)} blocks (marked *) ran while other processes kept more than "
            f"{BUSY_THRESHOLD} CPUs busy on average (column others_cpus in the JSON): their times are inflated."
        )
    metered = [r for r in results if r.get("others_cpus") is not None]
    if (  # the load average lags and counts this run too: only a fallback when /proc/stat is missing
        not metered
        and load_start is not None
        and max(load_start[0], load_end[0]) > 0.5 * (facts["cpus_available"] or 1) + 1
    ):
        notes.append(
            f"The machine was busy (1-minute load average {load_start[0]:.1f} at the start, "
            f"{load_end[0]:.1f} at the end, on {facts['cpus_available']} CPUs, this run included): "
            "other processes competed for the cores, so times are inflated and noisier than on an idle machine."
        )
    report = {
        "benchmark": "training step: forward + backward + update",
        "command": command,
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": time.perf_counter() - t_start,
        "git": git_facts(),
        "machine": facts,
        "settings": {
            "quick": args.quick,
            "cases": list(args.cases),
            "dtypes": list(args.dtypes),
            "impls": impls,
            "learning_rate": LEARNING_RATE,
            "min_sample_ms": min_sample_ms,
            "min_samples": n_min,
            "max_samples": n_max,
            "budget_s_per_block": budget,
            "warmup_s": warmup,
            "timer": "time.perf_counter; garbage collector off while a block is timed",
            "threads": args.threads,
            "retries": args.retries,
            "wait_idle_s": args.wait_idle,
        },
        "cases": {
            name: {
                "description": c.describe(),
                "batch": c.batch,
                "sizes": list(c.sizes),
                "hidden": c.hidden,
                "output": c.output,
                "loss": c.loss,
                "init": c.init,
                "n_params": c.n_params,
                "gemm_multiply_adds": c.gemm_madds,
            }
            for name, c in CASES.items()
            if name in args.cases
        },
        "checks": checks,
        "notes": notes,
        "results": results,
        "ratios": ratios,
    }
    if args.out is not None:
        out = Path(args.out)
    elif args.quick:
        out = Path(tempfile.gettempdir()) / "bplit_step_benchmark_quick.json"
    else:
        out = DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    md = markdown(report)
    out.with_suffix(".md").write_text(md)
    print(md)
    print(f"wrote {out} and {out.with_suffix('.md')}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
