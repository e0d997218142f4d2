"""Training features used by the chapter "Training on real data": history,
validation records, the per-epoch callback and the progress flag."""

import numpy as np
import pytest

import bplit


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((23, 4))
    Y = np.eye(3)[rng.integers(0, 3, 23)]
    return X, Y


def train(X, Y, **kwargs):
    net = bplit.Network([4, 5, 3], output="softmax", loss="cross_entropy", seed=0)
    history = net.fit(X, Y, epochs=4, batch_size=5, learning_rate=0.3, seed=1, **kwargs)
    return net, history


def test_history_is_the_full_training_loss_after_each_epoch_on_request(data):
    X, Y = data
    losses = []
    _, history = train(X, Y, callback=lambda epoch, net: losses.append(net.loss(X, Y)), train_loss="full")
    assert isinstance(history, bplit.History) and len(history) == 4 and history.train_loss == "full"
    assert history.loss == list(history) == losses
    assert history.val_loss == [] and history.val_accuracy == [] and history.epoch == [1, 2, 3, 4]


def test_history_is_by_default_the_mean_of_the_batch_costs_the_steps_computed(data):
    X, Y = data  # 23 samples in batches of 5: four of 5 and one of 3, weighted by size
    _, history = train(X, Y)
    net = bplit.Network([4, 5, 3], output="softmax", loss="cross_entropy", seed=0)
    rng = np.random.default_rng(1)
    for epoch_loss in history:
        order = rng.permutation(23)
        costs = [
            (net.step(X[order[s : s + 5]], Y[order[s : s + 5]], 0.3), len(order[s : s + 5]))
            for s in range(0, 23, 5)
        ]
        assert epoch_loss == pytest.approx(sum(c * m for c, m in costs) / 23, rel=1e-14)
    assert history.train_loss == "batches" and history[0] != net.loss(X, Y)


def test_callback_sees_epochs_from_one_and_the_network_being_trained(data):
    X, Y = data
    seen = []
    net, _ = train(X, Y, callback=lambda epoch, n: seen.append((epoch, n)))
    assert [e for e, _ in seen] == [1, 2, 3, 4]
    assert all(n is net for _, n in seen)


def test_validation_records_match_loss_and_accuracy(data):
    X, Y = data
    Xv, Yv = X[:7], Y[:7]
    records = []
    _, history = train(
        X,
        Y,
        validation_data=(Xv, Yv),
        callback=lambda e, n: records.append((n.loss(Xv, Yv), bplit.accuracy(n.predict(Xv), Yv))),
    )
    assert history.val_loss == [r[0] for r in records]
    assert history.val_accuracy == [r[1] for r in records]


def test_progress_bar_changes_nothing_but_the_display(data, capsys):
    X, Y = data
    quiet_net, quiet = train(X, Y, progress=False)
    assert capsys.readouterr().err == ""
    loud_net, loud = train(X, Y, progress=True)
    assert "epochs" in capsys.readouterr().err  # tqdm writes its bar to stderr
    assert list(quiet) == list(loud)
    for a, b in zip(quiet_net.weights + quiet_net.biases, loud_net.weights + loud_net.biases):
        assert np.array_equal(a, b)


def test_callback_may_inspect_gradients_without_disturbing_training(data):
    X, Y = data
    norms = []
    net_a, hist_a = train(
        X, Y, callback=lambda e, n: norms.append(np.linalg.norm(n.gradients(X, Y).weights[-1]))
    )
    net_b, hist_b = train(X, Y)
    assert len(norms) == 4 and all(np.isfinite(norms))
    assert list(hist_a) == list(hist_b)
    assert all(np.array_equal(a, b) for a, b in zip(net_a.weights, net_b.weights))
