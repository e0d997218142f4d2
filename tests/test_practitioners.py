"""Issue 13 (core part): class labels, predict_proba/classify, schedules, early stopping,
callbacks that stop, training that keeps its progress, GraphNetwork.fit."""

import sys

import numpy as np
import pytest

import bplit

RNG = np.random.default_rng(0)
X = RNG.standard_normal((30, 4))
LABELS = RNG.integers(0, 3, 30)
ONE_HOT = np.eye(3)[LABELS]
BIN = (X[:, 0] > 0).astype(int)


def softmax_net(**kw):
    return bplit.Network([4, 5, 3], output="softmax", loss="cross_entropy", seed=0, **kw)


def sigmoid_net(**kw):
    return bplit.Network([4, 5, 1], output="sigmoid", loss="binary_cross_entropy", seed=0, **kw)


def params(net):
    return [p.copy() for p in net.weights + net.biases]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------------------- labels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_integer_labels_equal_one_hot_rows_everywhere(dtype):
    net = softmax_net(dtype=dtype)
    assert net.loss(X, LABELS) == net.loss(X, ONE_HOT)
    g_lab, g_hot = net.gradients(X, LABELS), net.gradients(X, ONE_HOT)
    assert same(g_lab.weights + g_lab.biases, g_hot.weights + g_hot.biases)
    a, b = net.copy(), net.copy()
    assert a.step(X, LABELS, 0.1) == b.step(X, ONE_HOT, 0.1) and same(params(a), params(b))
    a, b = net.copy(), net.copy()
    ha = a.fit(X, LABELS, 3, 7, 0.2, validation_data=(X[:9], LABELS[:9]))
    hb = b.fit(X, ONE_HOT, 3, 7, 0.2, validation_data=(X[:9], ONE_HOT[:9]))
    assert list(ha) == list(hb) and ha.val_loss == hb.val_loss and ha.val_accuracy == hb.val_accuracy
    assert same(params(a), params(b))
    assert net.loss(X, LABELS.astype(np.uint8)) == net.loss(X, ONE_HOT)  # any integer dtype
    assert net.loss(X, ONE_HOT.astype(int)) == net.loss(X, ONE_HOT)  # integer one-hot rows are exact


def test_binary_labels_equal_a_column_of_targets():
    net = sigmoid_net()
    column = BIN[:, None].astype(float)
    for labels in (BIN, BIN.astype(bool), BIN.astype(float)):
        assert net.loss(X, labels) == net.loss(X, column)
    a, b = net.copy(), net.copy()
    a.fit(X, BIN, 2, 8, 0.3)
    b.fit(X, column, 2, 8, 0.3)
    assert same(params(a), params(b))


@pytest.mark.parametrize(
    "net,Y,exc,match",
    [
        (softmax_net, np.array([0, 1, 3] * 10), ValueError, r"lie in \[0, 3\).*got 3"),
        (softmax_net, np.array([0, -1, 2] * 10), ValueError, r"got -1"),
        (softmax_net, LABELS.astype(float), TypeError, "must be integers.*astype\\(int\\).*one-hot"),
        (sigmoid_net, np.array([0, 1, 2] * 10), ValueError, "must be 0 or 1, got 2"),
        (lambda: bplit.Network([4, 5, 3]), LABELS, TypeError, r"half_sse.*np\.eye\(3\)\[Y\].*cross_entropy"),
        (
            lambda: bplit.Network([4, 5, 3]),
            ONE_HOT.astype(int),
            TypeError,
            "real floating-point.*cross_entropy",
        ),
        (
            lambda: bplit.Network([4, 5, 1], output="sigmoid", loss="binary_cross_entropy"),
            BIN[:29],
            ValueError,
            "same number of rows",
        ),
        (
            lambda: bplit.Network([4, 5, 2], output="sigmoid", loss="binary_cross_entropy"),
            BIN,
            ValueError,
            "single sigmoid output",
        ),
    ],
)
def test_labels_the_loss_cannot_take_say_what_to_pass(net, Y, exc, match):
    n = net()
    before = params(n)
    for call in (lambda: n.loss(X, Y), lambda: n.step(X, Y, 0.1), lambda: n.fit(X, Y, 1, 5, 0.1)):
        with pytest.raises(exc, match=match):
            call()
    assert same(before, params(n))


def test_accuracy_takes_labels_or_rows():
    A = softmax_net().predict(X)
    assert bplit.accuracy(A, LABELS) == bplit.accuracy(A, ONE_HOT) == np.mean(A.argmax(1) == LABELS)
    p = sigmoid_net().predict(X)
    assert bplit.accuracy(p, BIN) == np.mean((p[:, 0] > 0.5) == (BIN == 1))
    with pytest.raises(ValueError, match=r"shape \(30, 3\) or \(30,\)"):
        bplit.accuracy(A, ONE_HOT[:, :2])
    with pytest.raises(TypeError, match="integer class labels"):
        bplit.accuracy(A, LABELS.astype(float))
    with pytest.raises(ValueError, match="same number of rows"):
        bplit.accuracy(A, LABELS[:5])


def test_predict_proba_and_classify():
    net = softmax_net()
    P = net.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    assert np.array_equal(net.classify(X), np.argmax(P, axis=1)) and net.classify(X).dtype.kind == "i"
    b = sigmoid_net()
    p = b.predict_proba(X)[:, 0]
    assert np.array_equal(b.classify(X), (p > 0.5).astype(int))
    assert set(np.unique(b.classify(X))) <= {0, 1}
    with pytest.raises(ValueError, match="softmax or sigmoid"):
        bplit.Network([4, 3, 2], output="identity").predict_proba(X)
    with pytest.raises(ValueError, match="sigmoid output"):
        bplit.Network([4, 3, 1], output="identity").classify(X)


# ---------------------------------------------------------------------------- schedules
def manual_epochs(net, Y, epochs, batch_size, rate, seed=0):
    """The same training written out: one permutation per epoch, one step per batch."""
    rng = np.random.default_rng(seed)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(X.shape[0])
        for start in range(0, X.shape[0], batch_size):
            idx = order[start : start + batch_size]
            net.step(X[idx], Y[idx], rate(epoch))


def test_a_callable_learning_rate_is_a_schedule_counted_from_epoch_one():
    schedule = lambda epoch: 0.5 / epoch  # noqa: E731
    a, b = softmax_net(), softmax_net()
    seen = []
    a.fit(X, LABELS, 4, 8, lambda e: seen.append(e) or schedule(e))
    manual_epochs(b, ONE_HOT, 4, 8, schedule)
    assert same(params(a), params(b))
    assert seen == [1, 2, 3, 4]  # once per epoch
    with pytest.raises(ValueError, match=r"learning_rate\(3\)"):
        softmax_net().fit(X, LABELS, 4, 8, lambda e: 0.1 if e < 3 else -1.0)


def test_exactly_one_of_learning_rate_and_optimizer():
    with pytest.raises(ValueError, match="exactly one of learning_rate"):
        softmax_net().fit(X, LABELS, 1, 8)
    with pytest.raises(TypeError, match="bplit.optim"):
        softmax_net().fit(X, LABELS, 1, 8, optimizer="adam")


# ---------------------------------------------------------------------------- stopping
def test_callback_returning_false_stops_after_that_epoch_and_keeps_it():
    a, b = softmax_net(), softmax_net()
    h = a.fit(X, LABELS, 10, 8, 0.3, callback=lambda e, n: e < 3)
    b.fit(X, LABELS, 3, 8, 0.3)
    assert len(h) == 3 and h.stopped_epoch == 3 and same(params(a), params(b))
    h = softmax_net().fit(X, LABELS, 4, 8, 0.3, callback=lambda e, n: None)  # None does not stop
    assert len(h) == 4 and h.stopped_epoch is None


def test_patience_stops_and_restore_best_keeps_the_best_epoch():
    Xv, Yv = X[:10], (LABELS[:10] + 1) % 3  # a validation set training cannot fit: its loss rises
    net = softmax_net()
    snapshots = {}
    h = net.fit(
        X, LABELS, 50, 8, 0.5, validation_data=(Xv, Yv), patience=3, restore_best=True,
        callback=lambda e, n: snapshots.__setitem__(e, params(n)),
    )  # fmt: skip
    best = int(np.argmin(h.val_loss)) + 1
    assert h.best_epoch == best and h.stopped_epoch == best + 3 == len(h)
    assert all(v >= h.val_loss[best - 1] for v in h.val_loss[best:])
    assert same(params(net), snapshots[best])
    kept_last = softmax_net()
    kept_last.fit(X, LABELS, 50, 8, 0.5, validation_data=(Xv, Yv), patience=3)
    assert same(params(kept_last), snapshots[len(h)])
    with pytest.raises(ValueError, match="validation_data"):
        softmax_net().fit(X, LABELS, 5, 8, 0.5, patience=2)
    with pytest.raises(ValueError, match="patience"):
        softmax_net().fit(X, LABELS, 5, 8, 0.5, validation_data=(Xv, Yv), patience=0)


# ---------------------------------------------------------------------------- progress is kept
def test_an_overflow_late_in_training_keeps_the_completed_epochs():
    net = bplit.Network([4, 5, 3], hidden="identity", output="identity", seed=0)
    Y = np.ones((30, 3))
    rate = lambda e: 1e-3 if e < 4 else 1e160  # noqa: E731  epoch 4 overflows
    ref = bplit.Network([4, 5, 3], hidden="identity", output="identity", seed=0)
    ref_history = ref.fit(X, Y, 3, 10, 1e-3)
    with pytest.raises(FloatingPointError, match="epoch 3, the last that completed") as info:
        net.fit(X, Y, 6, 10, rate)
    assert list(info.value.history) == list(ref_history)
    assert same(params(net), params(ref))


def test_an_interrupt_keeps_the_completed_epochs_and_the_callback():
    net, ref = softmax_net(), softmax_net()

    def callback(epoch, n):
        n.biases[0][:] = epoch  # the callback's change is part of the completed epoch
        if epoch == 3:
            raise KeyboardInterrupt

    ref.fit(X, LABELS, 2, 8, 0.3, callback=lambda e, n: n.biases[0].__setitem__(slice(None), e))
    with pytest.raises(KeyboardInterrupt) as info:
        net.fit(X, LABELS, 5, 8, 0.3, callback=callback)
    assert len(info.value.history) == 2 and same(params(net), params(ref))


def test_val_accuracy_only_for_classification():
    h = bplit.Network([4, 5, 3], seed=0).fit(X, ONE_HOT, 2, 8, 0.3, validation_data=(X, ONE_HOT))
    assert len(h.val_loss) == 2 and h.val_accuracy == []
    h = softmax_net().fit(X, LABELS, 2, 8, 0.3, validation_data=(X, LABELS))
    assert len(h.val_accuracy) == 2


def test_progress_without_tqdm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r"bplit\[progress\]"):
        softmax_net().fit(X, LABELS, 1, 8, 0.3, progress=True)


# ---------------------------------------------------------------------------- graph networks
def graph(**kw):
    return bplit.GraphNetwork(
        [[1, 2, 3, 4], [5, 6], [7, 8, 9]],
        {5: [1, 2], 6: [2, 3, 4], 7: [5, 6, 1], 8: [6], 9: [5, 4]},
        seed=0,
        **kw,
    )


def test_graph_network_fit_is_its_steps_in_shuffled_batches():
    Y = np.tanh(X[:, :3])
    a, b = graph(), graph()
    h = a.fit(X, Y, 3, 7, 0.2, validation_data=(X[:5], Y[:5]), train_loss="full")
    rng = np.random.default_rng(0)
    for _ in range(3):
        order = rng.permutation(30)
        for start in range(0, 30, 7):
            b.step(X[order[start : start + 7]], Y[order[start : start + 7]], 0.2)
    assert np.array_equal(a.w.array, b.w.array) and np.array_equal(a.b.array, b.b.array)
    assert h[-1] == b.loss(X, Y) and h.val_loss[-1] == b.loss(X[:5], Y[:5]) and h.val_accuracy == []
    linear, ref = graph(activation="identity"), graph(activation="identity")
    ref.fit(X, Y, 1, 7, 0.01)
    with pytest.raises(FloatingPointError, match="epoch 1") as info:
        linear.fit(X, Y, 3, 7, lambda e: 0.01 if e == 1 else 1e305)
    assert len(info.value.history) == 1 and np.array_equal(linear.w.array, ref.w.array)


def test_graph_network_save_method_round_trips(tmp_path):
    g = graph(activation="tanh")
    g.save(tmp_path / "g")
    h = bplit.load(tmp_path / "g")
    assert isinstance(h, bplit.GraphNetwork) and h.layers == g.layers
    assert np.array_equal(h.w.array, g.w.array) and h.loss(X, np.tanh(X[:, :3])) == g.loss(
        X, np.tanh(X[:, :3])
    )
