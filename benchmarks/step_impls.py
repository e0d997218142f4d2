"""The training steps that benchmarks/step_benchmark.py compares, one factory each.

Every factory takes ``(case, net, X, Y, labels)`` (a case of the benchmark, a bplit network
holding the starting parameters, and the batch) and returns ``(step, params)``: ``step()``
does one training step with learning rate ``LR``; ``params()`` gives the current
``(weights, biases)`` in bplit's layout (``None`` for the bound, which updates nothing).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from timing import git

import bplit

LR = 1e-3
BASELINE: dict = {"module": None, "dir": None}


def impl_bplit(case, net, X, Y, labels, lib=bplit):
    own = lib.Network(
        list(case.sizes), dtype=net.dtype, hidden=case.hidden, output=case.output, loss=case.loss
    )
    own.weights = [w.copy() for w in net.weights]
    own.biases = [b.copy() for b in net.biases]
    return (lambda: own.step(X, Y, LR)), (lambda: (own.weights, own.biases))


def impl_baseline(case, net, X, Y, labels):
    return impl_bplit(case, net, X, Y, labels, lib=BASELINE["module"])


class OtherProcess:
    """``net.step`` of the bplit in ``root``, timed block by block in a fresh Python process.

    Used for before/after runs: two versions of bplit in one process slow each other
    down (measured here: both steps 30-50 % slower than each alone), so each block runs
    ``step_benchmark.py --worker`` with ``PYTHONPATH=root``, which prints its samples.
    """

    def __init__(self, root: str, case, dtype) -> None:
        self.root, self.case, self.dtype = root, case, np.dtype(dtype).name

    def __call__(self) -> None:  # a step is only ever timed in the worker
        raise RuntimeError("OtherProcess is timed with run_block")

    def run_block(self, **block) -> tuple[list[float], int]:
        script = Path(__file__).with_name("step_benchmark.py")
        cmd = [sys.executable, str(script), "--worker", self.case.name, self.dtype, json.dumps(block)]
        env = {**os.environ, "PYTHONPATH": self.root}
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        data = json.loads(out.splitlines()[-1])
        return data["times"], data["k"]


def _buffers(case, net, X):
    m, dt = case.batch, net.dtype
    z = [np.empty((m, n), dt) for n in case.sizes[1:]]
    a = [np.ascontiguousarray(X)] + [np.empty((m, n), dt) for n in case.sizes[1:]]
    back = [np.empty((m, n), dt) for n in case.sizes[:-1]]
    dW = [np.empty_like(w) for w in net.weights]
    return z, a, back, dW, [w.copy() for w in net.weights], [b.copy() for b in net.biases]


def impl_bound(case, net, X, Y, labels):
    z, a, back, dW, W, _ = _buffers(case, net, X)
    d = [np.random.default_rng(2).standard_normal(zl.shape).astype(net.dtype) * 1e-3 for zl in z]

    def step():
        for l in range(len(W)):
            np.matmul(a[l], W[l].T, out=a[l + 1])
        for l in range(len(W) - 1, -1, -1):
            np.matmul(d[l].T, a[l], out=dW[l])
            if l > 0:
                np.matmul(d[l], W[l], out=back[l])

    return step, None


def impl_bare(case, net, X, Y, labels):
    z, a, back, dW, W, B = _buffers(case, net, X)
    L, scale = len(W), net.dtype.type(-LR / case.batch)
    tmp = [np.empty_like(zl) for zl in z]

    def sigmoid_into(src, out):
        np.exp(np.negative(src, out=out), out=out)
        out += 1.0
        np.reciprocal(out, out=out)

    def step():
        for l in range(L):
            np.matmul(a[l], W[l].T, out=z[l])
            z[l] += B[l]
            if l < L - 1 and case.hidden == "relu":
                np.maximum(z[l], 0, out=a[l + 1])
            elif l < L - 1 or case.output == "sigmoid":
                sigmoid_into(z[l], a[l + 1])
            else:  # softmax
                np.exp(np.subtract(z[l], z[l].max(axis=1, keepdims=True), out=a[l + 1]), out=a[l + 1])
                a[l + 1] /= a[l + 1].sum(axis=1, keepdims=True)
        d = np.subtract(a[L], Y, out=tmp[-1])  # softmax + cross-entropy: a - y
        if case.loss == "half_sse":  # (a - y) sigma'(z) = (a - y) a (1 - a)
            d *= a[L] * (1 - a[L])
        d *= scale
        deltas = [d] * L
        for l in range(L - 1, 0, -1):
            g = np.matmul(deltas[l], W[l], out=back[l])
            g *= (z[l - 1] > 0) if case.hidden == "relu" else a[l] * (1 - a[l])
            deltas[l - 1] = g
        for l in range(L):
            B[l] += deltas[l].sum(axis=0)
            W[l] += np.matmul(deltas[l].T, a[l], out=dW[l])

    return step, (lambda: (W, B))


def impl_loop(case, net, X, Y, labels):
    """Nielsen's network.py update_mini_batch + backprop, with the case's activations."""
    weights = [w.copy() for w in net.weights]
    biases = [b.copy()[:, None] for b in net.biases]
    batch = [(X[s][:, None], Y[s][:, None]) for s in range(case.batch)]

    def sigmoid(t):
        return 1.0 / (1.0 + np.exp(-t))

    def backprop(x, y):
        act, acts, zs = x, [x], []
        for l, (b, w) in enumerate(zip(biases, weights)):
            zs.append(w @ act + b)
            if l < len(weights) - 1:
                act = sigmoid(zs[-1]) if case.hidden == "sigmoid" else np.maximum(zs[-1], 0)
            elif case.output == "softmax":
                e = np.exp(zs[-1] - zs[-1].max())
                act = e / e.sum()
            else:
                act = sigmoid(zs[-1])
            acts.append(act)
        delta = acts[-1] - y
        if case.output != "softmax":
            delta = delta * acts[-1] * (1 - acts[-1])
        nb, nw = [delta], [delta @ acts[-2].T]
        for l in range(2, len(weights) + 1):
            prime = (
                acts[-l] * (1 - acts[-l]) if case.hidden == "sigmoid" else (zs[-l] > 0).astype(zs[-l].dtype)
            )
            delta = (weights[-l + 1].T @ delta) * prime
            nb.insert(0, delta)
            nw.insert(0, delta @ acts[-l - 1].T)
        return nb, nw

    def step():
        nabla_b = [np.zeros_like(b) for b in biases]
        nabla_w = [np.zeros_like(w) for w in weights]
        for x, y in batch:
            db, dw = backprop(x, y)
            nabla_b = [n + d for n, d in zip(nabla_b, db)]
            nabla_w = [n + d for n, d in zip(nabla_w, dw)]
        eta = net.dtype.type(LR) / len(batch)
        weights[:] = [w - eta * n for w, n in zip(weights, nabla_w)]
        biases[:] = [b - eta * n for b, n in zip(biases, nabla_b)]

    return step, (lambda: (weights, [b[:, 0] for b in biases]))


def impl_torch(case, net, X, Y, labels):
    import torch
    from torch import nn

    tdt = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}[net.dtype]
    layers: list = []
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        lin = nn.Linear(w.shape[1], w.shape[0], dtype=tdt)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if l < len(net.weights) - 1:
            layers.append(nn.Sigmoid() if case.hidden == "sigmoid" else nn.ReLU())
    if case.output == "sigmoid":
        layers.append(nn.Sigmoid())
    model, xt = nn.Sequential(*layers), torch.from_numpy(np.ascontiguousarray(X))
    params = list(model.parameters())
    if case.loss == "cross_entropy":  # logits in, mean over the batch
        target, loss_fn = torch.from_numpy(labels.astype(np.int64)), nn.CrossEntropyLoss()
    else:
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
                p.sub_(p.grad, alpha=LR)
        return loss.item()

    lins = [m for m in model if isinstance(m, nn.Linear)]
    return step, (
        lambda: ([m.weight.detach().numpy() for m in lins], [m.bias.detach().numpy() for m in lins])
    )


def impl_sklearn(case, net, X, Y, labels):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    kw = dict(
        hidden_layer_sizes=case.sizes[1:-1], activation="logistic" if case.hidden == "sigmoid" else "relu"
    )
    kw.update(solver="sgd", alpha=0.0, batch_size=case.batch, learning_rate_init=LR, momentum=0.0)
    kw.update(nesterovs_momentum=False, shuffle=False, random_state=0)
    if case.loss == "cross_entropy":
        model, target = MLPClassifier(**kw), labels
        model.partial_fit(X, labels, classes=np.arange(case.sizes[-1]))  # sets up the layers
    else:
        model, target = MLPRegressor(**kw), Y
        model.partial_fit(X, Y)
    assert model.coefs_[0].dtype == X.dtype, "scikit-learn changed the dtype"
    for l in range(len(net.weights)):  # from bplit's parameters, in place (the optimizer holds them)
        model.coefs_[l][...] = net.weights[l].T
        model.intercepts_[l][...] = net.biases[l]
    return (lambda: model.partial_fit(X, target)), (
        lambda: ([c.T for c in model.coefs_], list(model.intercepts_))
    )


FACTORIES = {
    n: globals()[f"impl_{n}"] for n in ("bplit", "baseline", "bound", "bare", "torch", "sklearn", "loop")
}


def load_baseline(directory: str) -> None:
    """Import the package ``bplit`` of another checkout as ``bplit_baseline``."""
    pkg = Path(directory).resolve() / "bplit"
    spec = importlib.util.spec_from_file_location(
        "bplit_baseline", pkg / "__init__.py", submodule_search_locations=[str(pkg)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["bplit_baseline"] = module
    spec.loader.exec_module(module)
    BASELINE.update(module=module, dir=str(pkg.parent), commit=git("rev-parse", "HEAD", cwd=pkg.parent))
