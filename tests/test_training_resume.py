"""Issue 20, items 2-5 for fit: resuming bit for bit (initial_epoch with checkpoints), the epoch
loss from the steps, callbacks that stop and read the history, History.to_dict, accuracy's
refusals, array-like targets, fit's peak memory, and error advice that works when followed."""

import re
import tracemalloc
import warnings

import numpy as np
import pytest

import bplit
from bplit.optim import SGD, Adam

RNG = np.random.default_rng(20)
X = RNG.standard_normal((37, 4))
LABELS = RNG.integers(0, 3, 37)
Y_REG = np.tanh(X[:, :3] + 0.5)  # regression targets for the graph network's 3 outputs


def softmax_net(**kw):
    return bplit.Network([4, 6, 3], "tanh", "softmax", "cross_entropy", seed=1, **kw)


def graph_net():
    return bplit.GraphNetwork(
        [[1, 2, 3, 4], [5, 6], [7, 8, 9]],
        {5: [1, 2], 6: [2, 3, 4], 7: [5, 6, 1], 8: [6], 9: [5, 4]},
        activation="tanh",
        seed=1,
    )


def params(net):
    return [p.copy() for group in net.parameters() for p in group]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def schedule(epoch):
    return 0.8**epoch  # a factor on the optimizer's rate, epochs from 1


def scheduled(make, rate):
    opt = make(rate)
    opt.learning_rate = lambda epoch: rate * schedule(epoch)
    return opt


# ---------------------------------------------------------------------------- resume, bit for bit
OPTIMIZERS = {
    "sgd-momentum-decay": lambda rate: SGD(rate, momentum=0.9, weight_decay=1e-2),
    "adam-decay": lambda rate: Adam(rate, weight_decay=1e-3),
}
NETWORKS = {"network": (softmax_net, LABELS, 0.1), "graph": (graph_net, Y_REG, 0.02)}


@pytest.mark.parametrize("kind", NETWORKS)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_fit_5_equals_fit_2_save_load_fit_3_more_bit_for_bit(tmp_path, kind, name):
    make_net, Y, rate = NETWORKS[kind]
    make = OPTIMIZERS[name]
    if name.startswith("adam"):
        rate /= 10
    val = (X[:9], Y[:9])
    straight, opt = make_net(), scheduled(make, rate)
    whole = straight.fit(X, Y, epochs=5, batch_size=8, optimizer=opt, seed=3, validation_data=val)

    first, opt_a = make_net(), scheduled(make, rate)
    head = first.fit(X, Y, epochs=2, batch_size=8, optimizer=opt_a, seed=3, validation_data=val)
    opt_a.learning_rate = rate  # a checkpoint holds numbers, not the schedule (bplit.io)
    bplit.save(first, tmp_path / "run", optimizer=opt_a)
    resumed, opt_b = bplit.load_checkpoint(tmp_path / "run")
    assert opt_b.epoch == 2
    opt_b.learning_rate = lambda epoch: rate * schedule(epoch)
    tail = resumed.fit(
        X, Y, epochs=5, batch_size=8, optimizer=opt_b, seed=3, validation_data=val, initial_epoch=2
    )

    assert same(params(resumed), params(straight))
    assert opt_b.epoch == opt.epoch == 5
    state_a, state_b = opt.state_dict(straight), opt_b.state_dict(resumed)
    assert state_a["step"] == state_b["step"] == 5 * 5  # 37 samples: 5 batches an epoch
    for key in type(opt).state_keys:
        assert same(state_a[key], state_b[key])
    assert tail.epoch == [3, 4, 5] and head.epoch == [1, 2] and whole.epoch == [1, 2, 3, 4, 5]
    assert list(head) + list(tail) == list(whole)
    assert head.val_loss + tail.val_loss == whole.val_loss
    assert head.val_accuracy + tail.val_accuracy == whole.val_accuracy


@pytest.mark.parametrize("kind", NETWORKS)
def test_a_learning_rate_schedule_resumes_from_a_saved_network(tmp_path, kind):
    make_net, Y, rate = NETWORKS[kind]
    rates = lambda epoch: rate * schedule(epoch)  # noqa: E731
    straight = make_net()
    straight.fit(X, Y, epochs=4, batch_size=5, learning_rate=rates, seed=7)
    first = make_net()
    first.fit(X, Y, epochs=1, batch_size=5, learning_rate=rates, seed=7)
    first.save(tmp_path / "net")
    resumed = bplit.load(tmp_path / "net")
    resumed.fit(X, Y, epochs=4, batch_size=5, learning_rate=rates, seed=7, initial_epoch=1)
    assert same(params(resumed), params(straight))


def test_a_generator_seed_resumes_when_given_as_the_first_call_left_it():
    straight = softmax_net()
    straight.fit(X, LABELS, 4, 8, 0.2, seed=np.random.default_rng(5))
    net, rng = softmax_net(), np.random.default_rng(5)
    net.fit(X, LABELS, 2, 8, 0.2, seed=rng)
    net.fit(X, LABELS, 4, 8, 0.2, seed=rng, initial_epoch=2)
    assert same(params(net), params(straight))


def test_the_schedule_sees_the_resumed_epochs_and_a_fresh_fit_starts_at_one():
    seen = []
    softmax_net().fit(X, LABELS, 6, 8, lambda e: seen.append(e) or 0.1, initial_epoch=3)
    assert seen == [4, 5, 6]
    opt = SGD(0.1)
    softmax_net().fit(X, LABELS, 2, 8, optimizer=opt)
    assert opt.epoch == 2


@pytest.mark.parametrize(
    "initial_epoch, match",
    [(5, r"in \[0, 5\), got 5"), (7, "got 7"), (-1, "got -1"), (True, "got True"), (1.0, "got 1.0")],
)
def test_initial_epoch_must_be_below_epochs(initial_epoch, match):
    net = softmax_net()
    before = params(net)
    with pytest.raises(ValueError, match=match) as info:
        net.fit(X, LABELS, 5, 8, 0.1, initial_epoch=initial_epoch)
    assert "epochs is the number of the last epoch" in str(info.value)
    assert same(before, params(net))


def test_a_failure_in_a_resumed_run_names_the_last_completed_epoch():
    net = bplit.Network([4, 5, 3], hidden="identity", output="identity", seed=0)
    ref = net.copy()
    Y = np.ones((37, 3))
    rates = lambda e: 1e-3 if e < 5 else 1e160  # noqa: E731  epoch 5 overflows
    ref.fit(X, Y, 4, 10, rates, initial_epoch=2)
    with pytest.raises(FloatingPointError, match="epoch 4, the last that completed") as info:
        net.fit(X, Y, 8, 10, rates, initial_epoch=2)
    assert info.value.history.epoch == [3, 4] and same(params(net), params(ref))


def test_a_failed_epoch_puts_back_the_optimizers_state_and_epoch():
    net, opt = softmax_net(), SGD(0.1, momentum=0.9)

    def boom(epoch, n):
        if epoch == 3:
            raise RuntimeError("stop")

    ref, ref_opt = softmax_net(), SGD(0.1, momentum=0.9)
    ref.fit(X, LABELS, 2, 8, optimizer=ref_opt)
    with pytest.raises(RuntimeError):
        net.fit(X, LABELS, 5, 8, optimizer=opt, callback=boom)
    assert opt.epoch == 2 and same(params(net), params(ref))
    assert same(opt.state_dict(net)["velocity"], ref_opt.state_dict(ref)["velocity"])


# ---------------------------------------------------------------------------- restore_best
@pytest.mark.parametrize("make", [lambda: SGD(0.3, momentum=0.9), lambda: Adam(0.05)], ids=["sgd", "adam"])
def test_restore_best_restores_the_optimizer_state_of_the_best_epoch(make):
    Xv, Yv = X[:10], (LABELS[:10] + 1) % 3  # a validation set training cannot fit: its loss rises
    net, opt = softmax_net(), make()
    snapshots = {}

    def keep(epoch, n):
        snapshots[epoch] = (params(n), opt.state_dict(n), opt.epoch)

    h = net.fit(X, LABELS, 12, 8, optimizer=opt, validation_data=(Xv, Yv), restore_best=True, callback=keep)
    best = h.best_epoch
    assert best == int(np.argmin(h.val_loss)) + 1 and best < len(h)  # a later epoch was worse
    saved_params, saved_state, saved_epoch = snapshots[best]
    assert same(params(net), saved_params) and opt.epoch == saved_epoch == best
    state = opt.state_dict(net)
    assert state["step"] == saved_state["step"] == best * 5
    for key in type(opt).state_keys:
        assert same(state[key], saved_state[key])
        assert not same(state[key], snapshots[len(h)][1][key])  # not the last epoch's


# ---------------------------------------------------------------------------- the epoch loss
def test_the_epoch_loss_is_the_cost_the_steps_computed_without_weight_decay():
    net, opt = softmax_net(), SGD(0.1, weight_decay=0.5)
    before = net.copy()
    h = net.fit(X, LABELS, 1, len(X), optimizer=opt)  # one batch: the cost before its step
    assert h[0] == before.loss(X, LABELS)
    assert h[0] != net.loss(X, LABELS)


def test_with_reduction_sum_the_epoch_loss_is_the_sum_of_the_batch_costs():
    g, ref = graph_net(), graph_net()
    assert g.reduction == "sum"
    h = g.fit(X, Y_REG, 2, 10, 0.01, seed=4)
    rng = np.random.default_rng(4)
    for epoch_loss in h:
        order = rng.permutation(37)
        costs = [ref.step(X[order[s : s + 10]], Y_REG[order[s : s + 10]], 0.01) for s in range(0, 37, 10)]
        assert epoch_loss == pytest.approx(sum(costs), rel=1e-14)
    full = graph_net().fit(X, Y_REG, 2, 10, 0.01, seed=4, train_loss="full")
    assert full[-1] == g.loss(X, Y_REG)


def test_the_full_loss_in_chunks_equals_the_loss_on_the_whole_set(monkeypatch):
    monkeypatch.setattr(bplit.training, "EVALUATION_ROWS", 10)  # 37 samples: four chunks
    seen = []
    net = softmax_net()
    h = net.fit(
        X, LABELS, 3, 4, 0.1, train_loss="full", validation_data=(X[:25], LABELS[:25]),
        callback=lambda e, n: seen.append((n.loss(X, LABELS), n.loss(X[:25], LABELS[:25]),
                                           bplit.accuracy(n.predict(X[:25]), LABELS[:25]))),
    )  # fmt: skip
    np.testing.assert_allclose(h, [s[0] for s in seen], rtol=1e-14)
    np.testing.assert_allclose(h.val_loss, [s[1] for s in seen], rtol=1e-14)
    assert h.val_accuracy == [s[2] for s in seen]


def test_train_loss_must_be_batches_or_full():
    with pytest.raises(ValueError, match=r"train_loss must be one of \['batches', 'full'\]"):
        softmax_net().fit(X, LABELS, 1, 8, 0.1, train_loss="exact")


# ---------------------------------------------------------------------------- callbacks
@pytest.mark.parametrize(
    "result, stops",
    [(np.False_, True), (np.bool_(True), False), (False, True), (0, True), (None, False), (True, False)],
    ids=["np.False_", "np.True_", "False", "0", "None", "True"],
)
def test_a_callback_stops_on_any_false_value_but_none(result, stops):
    net, ref = softmax_net(), softmax_net()
    h = net.fit(X, LABELS, 5, 8, 0.2, callback=lambda e, n: result if e == 2 else None)
    assert (len(h), h.stopped_epoch) == ((2, 2) if stops else (5, None))
    ref.fit(X, LABELS, len(h), 8, 0.2)
    assert same(params(net), params(ref))


def test_a_numpy_comparison_stops_training():
    # the case: `return acc < 0.9` with acc from np.mean ran every epoch
    def keep_going(epoch, net):
        acc = np.mean(net.classify(X) == LABELS)
        return acc < 2.0 if epoch < 3 else acc > 2.0  # np.True_, then np.False_ at epoch 3

    h = softmax_net().fit(X, LABELS, 15, 8, 0.2, callback=keep_going)
    assert len(h) == 3 and h.stopped_epoch == 3


def test_a_callback_that_returns_an_array_is_told_what_to_return():
    net = softmax_net()
    with pytest.raises(TypeError, match=r"neither true nor false.*np.False_") as info:
        net.fit(X, LABELS, 5, 8, 0.2, callback=lambda e, n: np.array([True, False]))
    assert info.value.history.epoch == []


def test_a_callback_reads_the_losses_recorded_so_far():
    seen = []

    def stop_when_flat(epoch, net, history):
        seen.append((epoch, list(history.loss), list(history.val_loss), list(history.epoch)))
        return not (len(history) >= 3 and history.loss[-1] > history.loss[-2] - 1.0)

    val = (X[:9], LABELS[:9])
    h = softmax_net().fit(X, LABELS, 10, 8, 0.2, validation_data=val, callback=stop_when_flat)
    assert len(h) == 3 and h.stopped_epoch == 3
    for k, (epoch, losses, val_losses, epochs) in enumerate(seen, start=1):
        assert epoch == k and losses == h.loss[:k] and val_losses == h.val_loss[:k] and epochs == h.epoch[:k]
    # **kwargs receives it too; keyword-only as well; (epoch, net) callbacks as before
    got = {}
    softmax_net().fit(X, LABELS, 2, 8, 0.2, callback=lambda e, n, **kw: got.setdefault("kw", kw))
    assert set(got["kw"]) == {"history"} and isinstance(got["kw"]["history"], bplit.History)
    softmax_net().fit(X, LABELS, 2, 8, 0.2, callback=lambda e, n, *, history: got.setdefault("h", history))
    assert len(got["h"]) == 2


def test_a_failing_callback_leaves_its_epoch_out_of_the_history():
    def fail_at_3(epoch, net, history):
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        softmax_net().fit(X, LABELS, 5, 8, 0.2, validation_data=(X[:9], LABELS[:9]), callback=fail_at_3)
    h = info.value.history
    assert h.epoch == [1, 2] and len(h) == len(h.val_loss) == len(h.val_accuracy) == 2


def test_a_callback_must_be_callable():
    with pytest.raises(TypeError, match=r"callback must be callable as callback\(epoch, net\)"):
        softmax_net().fit(X, LABELS, 2, 8, 0.2, callback="print")


# ---------------------------------------------------------------------------- History.to_dict
def test_to_dict_gives_equal_length_columns():
    h = softmax_net().fit(X, LABELS, 4, 8, 0.2, validation_data=(X[:9], LABELS[:9]))
    d = h.to_dict()
    assert list(d) == ["epoch", "loss", "val_loss", "val_accuracy"]
    assert d == {
        "epoch": [1, 2, 3, 4],
        "loss": list(h),
        "val_loss": h.val_loss,
        "val_accuracy": h.val_accuracy,
    }
    bare = graph_net().fit(X, Y_REG, 3, 8, 0.01, initial_epoch=1).to_dict()  # no validation
    assert {k: len(v) for k, v in bare.items()} == dict.fromkeys(d, 2) and bare["epoch"] == [2, 3]
    assert np.isnan(bare["val_loss"]).all() and np.isnan(bare["val_accuracy"]).all()
    regression = graph_net().fit(X, Y_REG, 2, 8, 0.01, validation_data=(X[:5], Y_REG[:5])).to_dict()
    assert len(regression["val_loss"]) == 2 and np.isnan(regression["val_accuracy"]).all()


def test_a_pandas_data_frame_from_the_history():
    pd = pytest.importorskip("pandas")
    h = softmax_net().fit(X, LABELS, 3, 8, 0.2, validation_data=(X[:9], LABELS[:9]))
    frame = pd.DataFrame(h.to_dict())
    assert frame.shape == (3, 4) and list(frame["loss"]) == list(h)
    assert list(frame.set_index("epoch")["val_accuracy"]) == h.val_accuracy


def test_val_accuracy_needs_one_class_per_target():
    net = bplit.Network([4, 5, 2], output="sigmoid", loss="binary_cross_entropy", seed=0)
    multi_label = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(float)  # rows like [1, 1]
    h = net.fit(X, multi_label, 2, 8, 0.2, validation_data=(X[:9], multi_label[:9]))
    assert len(h.val_loss) == 2 and h.val_accuracy == []


# ---------------------------------------------------------------------------- progress bar
def test_the_progress_bar_shows_each_epochs_loss(capsys):
    pytest.importorskip("tqdm")
    h = softmax_net().fit(
        X, LABELS, 6, 8, 0.2, progress=True, validation_data=(X[:9], LABELS[:9]), initial_epoch=3
    )
    err = capsys.readouterr().err
    assert f"loss={h[-1]:.4g}" in err and f"val_loss={h.val_loss[-1]:.4g}" in err
    assert "6/6" in err  # counts the epochs up to the last, from initial_epoch


# ---------------------------------------------------------------------------- accuracy
def test_accuracy_refuses_outputs_and_targets_that_are_not_classes():
    regression = bplit.Network([4, 5, 1], output="identity", seed=0)
    y = X[:, :1] * 3.0  # regression targets
    A = regression.predict(X)
    assert A.min() < 0 or A.max() > 1
    with pytest.raises(ValueError, match=r"single output column.*\[0, 1\].*regression"):
        bplit.accuracy(A, y)
    sigmoid_outputs = 1 / (1 + np.exp(-A))
    with pytest.raises(ValueError, match=r"one target column.*\[0, 1\].*regression"):
        bplit.accuracy(sigmoid_outputs, y)
    scores = softmax_net().predict(X)
    with pytest.raises(ValueError, match=r"one-hot \(or probability\) rows"):
        bplit.accuracy(scores, np.tanh(X[:, :3]))  # rows of 3 real targets
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        bplit.accuracy(scores, np.full(37, 3))
    with pytest.raises(ValueError, match=r"lie in \[0, 2\)"):
        bplit.accuracy(sigmoid_outputs, np.full(37, 2))
    with pytest.raises(ValueError, match="finite"):
        bplit.accuracy(np.full((3, 2), np.nan), np.array([0, 1, 1]))
    with pytest.raises(TypeError, match=r"np.unique\(Y, return_inverse=True\)"):
        bplit.accuracy(scores, np.array(["a", "b", "c"] * 12 + ["a"]))


def test_accuracy_takes_what_classifiers_give():
    scores = softmax_net().predict(X)
    logits = np.log(scores) + 5.0  # any scores with two or more columns: arg-max
    expected = np.mean(scores.argmax(1) == LABELS)
    assert bplit.accuracy(scores, LABELS) == bplit.accuracy(logits, LABELS) == expected
    assert (
        bplit.accuracy(scores, np.eye(3)[LABELS])
        == bplit.accuracy(scores, np.eye(3, dtype=int)[LABELS])
        == expected
    )
    p = bplit.Network([4, 5, 1], output="sigmoid", loss="binary_cross_entropy", seed=0).predict(X)
    binary = (X[:, 0] > 0).astype(int)
    expected = np.mean((p[:, 0] > 0.5) == binary)
    assert bplit.accuracy(p, binary) == bplit.accuracy(p, binary.astype(bool)) == expected
    assert bplit.accuracy(p, binary[:, None].astype(float)) == expected
    assert bplit.accuracy(p.tolist(), list(binary)) == expected  # array-likes


# ---------------------------------------------------------------------------- array-like targets
def _array_likes(Y):
    yield "list", Y.tolist()
    yield "tuple", tuple(Y.tolist())
    try:
        import pandas as pd
    except ImportError:
        return
    yield "pandas", pd.Series(Y) if Y.ndim == 1 else pd.DataFrame(Y)


@pytest.mark.parametrize(
    "make, Y",
    [
        (softmax_net, LABELS),
        (softmax_net, np.eye(3)[LABELS]),
        (
            lambda: bplit.Network([4, 5, 1], output="sigmoid", loss="binary_cross_entropy", seed=0),
            X[:, 0] > 0,
        ),
        (lambda: bplit.Network([4, 5, 3], seed=0), Y_REG),
        (graph_net, Y_REG),
    ],
    ids=["labels", "one-hot", "binary", "rows", "graph"],
)
def test_every_method_taking_targets_takes_array_likes_as_it_takes_arrays(make, Y):
    net = make()
    for kind, like in _array_likes(Y):
        assert net.loss(X, like) == net.loss(X, Y), kind
        g_like, g_arr = net.gradients(X, like), net.gradients(X, Y)
        for a, b in zip(getattr(g_like, "weights", [getattr(g_like, "dw", None)]),
                        getattr(g_arr, "weights", [getattr(g_arr, "dw", None)])):  # fmt: skip
            assert np.array_equal(getattr(a, "array", a), getattr(b, "array", b)), kind
        a, b = make(), make()
        assert a.step(X, like, 0.1) == b.step(X, Y, 0.1) and same(params(a), params(b)), kind
        a, b = make(), make()
        ha = a.fit(
            X, like, 2, 8, 0.1, validation_data=(X[:9], like[:9] if kind != "pandas" else like.iloc[:9])
        )
        hb = b.fit(X, Y, 2, 8, 0.1, validation_data=(X[:9], Y[:9]))
        assert list(ha) == list(hb) and ha.val_loss == hb.val_loss and same(params(a), params(b)), kind
        opt_a, opt_b, a, b = SGD(0.1), SGD(0.1), make(), make()
        assert opt_a.step(a, X, like) == opt_b.step(b, X, Y), kind


def test_pandas_inputs_too():
    pd = pytest.importorskip("pandas")
    net = softmax_net()
    frame, labels = pd.DataFrame(X, columns=list("abcd")), pd.Series(LABELS, name="digit")
    assert net.loss(frame, labels) == net.loss(X, LABELS)
    categories = pd.Series(LABELS).astype("category")  # integer categories: labels as they are
    assert net.loss(frame, categories) == net.loss(X, LABELS)


# ---------------------------------------------------------------------------- advice that works
def _advice(err: BaseException, pattern: str) -> str:
    found = re.search(pattern, str(err))
    assert found, (pattern, str(err))
    return found.group(1)


def _follow(expression: str, Y):
    return eval(expression, {"np": np, "Y": Y})  # the message's own code, run as printed


TEXT = np.array(["cat", "dog", "owl"])[LABELS]


@pytest.mark.parametrize("kind", ["array", "list", "pandas", "column"])
def test_string_labels_point_to_np_unique_and_it_works(kind):
    Y = {"array": TEXT, "list": TEXT.tolist(), "column": TEXT[:, None]}.get(kind)
    if kind == "pandas":
        Y = pytest.importorskip("pandas").Series(TEXT, dtype="category")
    net = softmax_net()
    with pytest.raises(bplit.DtypeError, match="holds strings") as info:
        net.fit(X, Y, 2, 8, 0.2)
    assert "bplit.sklearn.NetworkClassifier" in str(info.value)
    labels = _follow(_advice(info.value, r"labels = (np\.unique\(.*?\)\[1\])"), Y)
    h = net.fit(X, labels, 2, 8, 0.2)
    assert len(h) == 2 and np.array_equal(labels, LABELS)  # sorted names: cat, dog, owl = 0, 1, 2


def test_string_labels_on_a_regression_network_say_how_to_build_a_classifier():
    with pytest.raises(bplit.DtypeError, match="holds strings") as info:
        bplit.Network([4, 5, 3], seed=0).loss(X, TEXT)
    message = str(info.value)
    assert "output='softmax', loss='cross_entropy'" in message
    labels = _follow(_advice(info.value, r"labels = (np\.unique\(.*?\)\[1\])"), TEXT)
    classifier = bplit.Network([4, 5, 3], output="softmax", loss="cross_entropy", seed=0)
    assert np.isfinite(classifier.loss(X, labels))


def test_the_estimator_the_string_advice_names_takes_the_strings():
    sk = pytest.importorskip("bplit.sklearn")
    with pytest.raises(bplit.DtypeError, match="bplit.sklearn.NetworkClassifier"):
        softmax_net().fit(X, TEXT, 1, 8, 0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # five iterations do not converge, and need not
        clf = sk.NetworkClassifier((6,), max_iter=5, random_state=0).fit(X, TEXT)
    assert set(clf.predict(X)) <= {"cat", "dog", "owl"}


@pytest.mark.parametrize(
    "sizes, Y, pattern",
    [
        ([4, 5, 3], LABELS, r"are (np\.eye\(3\)\[Y\])"),
        ([4, 5, 1], LABELS, r"pass (np\.asarray\(Y, dtype=float\)\.reshape\(-1, 1\))"),
        ([4, 5, 1], list(LABELS), r"pass (np\.asarray\(Y, dtype=float\)\.reshape\(-1, 1\))"),
        ([4, 5, 3], np.eye(3, dtype=int)[LABELS].tolist(), r"pass (np\.asarray\(Y, dtype=float\))"),
    ],
    ids=["labels-3-outputs", "labels-1-output", "list-1-output", "integer-rows"],
)
def test_integer_targets_for_regression_get_advice_that_works(sizes, Y, pattern):
    net = bplit.Network(sizes, seed=0)
    with pytest.raises(bplit.DtypeError) as info:
        net.fit(X, Y, 1, 8, 0.1)
    fixed = _follow(_advice(info.value, pattern), Y)
    assert len(net.fit(X, fixed, 1, 8, 0.1)) == 1


def test_pandas_integer_targets_for_regression_get_advice_that_works():
    pd = pytest.importorskip("pandas")
    Y = pd.Series(LABELS)
    net = bplit.Network([4, 5, 1], seed=0)
    with pytest.raises(bplit.DtypeError) as info:
        net.loss(X, Y)
    fixed = _follow(_advice(info.value, r"pass (np\.asarray\(Y, dtype=float\)\.reshape\(-1, 1\))"), Y)
    assert net.loss(X, fixed) == net.loss(X, LABELS[:, None].astype(float))


def test_integer_inputs_get_advice_that_works():
    net = softmax_net()
    X_int = np.round(X * 10).astype(int).tolist()
    with pytest.raises(bplit.DtypeError) as info:
        net.fit(X_int, LABELS, 1, 8, 0.1)
    X_fixed = eval(
        _advice(info.value, r"convert it with (np\.asarray\(X, dtype=float\))"), {"np": np, "X": X_int}
    )
    assert len(net.fit(X_fixed, LABELS, 1, 8, 0.1)) == 1


# ---------------------------------------------------------------------------- peak memory
def _fit_peak(n: int, **kwargs) -> tuple[int, int]:
    rng = np.random.default_rng(0)
    X_big = rng.standard_normal((n, 256))
    Y_big = np.eye(10)[rng.integers(0, 10, n)]
    net = bplit.Network([256, 32, 10], "relu", "softmax", "cross_entropy", seed=0, init="he")
    tracemalloc.start()
    try:
        net.fit(X_big, Y_big, epochs=1, batch_size=100, learning_rate=0.01, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, X_big.nbytes


@pytest.mark.parametrize("kwargs", [{}, {"train_loss": "full"}], ids=["batches", "full"])
def test_fits_peak_allocation_does_not_grow_with_the_training_set(kwargs):
    small, _ = _fit_peak(5_000, **kwargs)
    peak, data = _fit_peak(20_000, **kwargs)  # 39 MiB of inputs
    assert peak <= 0.15 * data, (peak, data)
    assert peak - small <= 0.02 * data  # four times the samples: only the index permutation grows
