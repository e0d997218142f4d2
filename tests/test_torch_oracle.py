"""PyTorch autograd as an extra, independent oracle (skipped when torch is not installed).

The same network, parameters and batch in float64: bplit's cost, deltas, gradients and
training step against what ``torch.autograd`` computes from the loss written out in
torch's own functions.
"""

import numpy as np
import pytest

import bplit

torch = pytest.importorskip("torch")

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z}
CASES = [
    ("sigmoid", "sigmoid", "half_sse"),
    ("tanh", "identity", "mse"),
    ("relu", "softmax", "cross_entropy"),
    ("sigmoid", "sigmoid", "binary_cross_entropy"),
    ("identity", "softmax", "half_sse"),
    ("relu", "tanh", "half_sse"),
]


def _per_sample(output, loss, z, y):
    """The per-sample cost C_s from the output layer's weighted input, in torch."""
    if loss == "cross_entropy":
        return -(y * torch.log_softmax(z, dim=1)).sum(dim=1)
    if loss == "binary_cross_entropy":
        return torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none").sum(dim=1)
    a = torch.softmax(z, dim=1) if output == "softmax" else ACTIVATIONS[output](z)
    if loss == "mse":
        return ((a - y) ** 2).mean(dim=1)
    return 0.5 * ((a - y) ** 2).sum(dim=1)


def _targets(loss, rng, m, n):
    if loss == "cross_entropy":
        return np.eye(n)[rng.integers(0, n, m)]
    if loss == "binary_cross_entropy":
        return rng.random((m, n))
    return rng.standard_normal((m, n))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("m", [1, 3, 5])
@pytest.mark.parametrize("hidden,output,loss", CASES)
def test_bplit_agrees_with_torch_autograd(hidden, output, loss, m, reduction):
    torch.set_num_threads(1)
    rng = np.random.default_rng(m + len(hidden) + len(loss))
    sizes = [4, 5, 3, 3]
    net = bplit.Network(sizes, hidden=hidden, output=output, loss=loss, reduction=reduction, seed=m)
    X, Y = rng.standard_normal((m, sizes[0])), _targets(loss, rng, m, sizes[-1])
    W = [torch.tensor(w, requires_grad=True) for w in net.weights]
    B = [torch.tensor(b, requires_grad=True) for b in net.biases]
    a, zs = torch.tensor(X), []
    for l, (w, b) in enumerate(zip(W, B)):
        z = a @ w.T + b
        z.retain_grad()
        zs.append(z)
        if l < len(W) - 1:
            a = ACTIVATIONS[hidden](z)
    per_sample = _per_sample(output, loss, zs[-1], torch.tensor(Y))
    C = per_sample.mean() if reduction == "mean" else per_sample.sum()
    C.backward()

    np.testing.assert_allclose(net.loss(X, Y), C.item(), rtol=1e-12)
    g = net.gradients(X, Y)
    for mine, theirs in zip(g.weights + g.biases + g.deltas, W + B + zs):
        theirs = theirs.grad.numpy()
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-13 * max(1.0, np.abs(theirs).max()))
    eta = 0.3
    want = [p.detach().numpy() - eta * p.grad.numpy() for p in W + B]
    net.step(X, Y, eta)
    for p, w in zip(net.weights + net.biases, want):
        np.testing.assert_allclose(p, w, rtol=1e-12, atol=1e-14)
