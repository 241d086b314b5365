"""fit / evaluate / History / EarlyStopping / accuracy (autograd_lite/training.py).

Loaders here are plain lists of (inputs, targets) batches: fit needs only ``len`` and
iteration. Where exact expectations matter, a scripted optimizer moves the weights along a
known path, so every recorded loss can be computed by hand.
"""

import sys
import warnings

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.nn import functional as F


def batches(X, y, size):
    """A list of (inputs, targets) Tensor pairs; the last batch may be smaller."""
    return [(ag.tensor(X[i:i + size]), ag.tensor(y[i:i + size])) for i in range(0, len(X), size)]


class Offset(nn.Module):
    """Predicts the constant ``w`` for every sample: the loss curve is a function of w alone."""

    def __init__(self, w=0.0):
        super().__init__()
        self.w = nn.Parameter(np.array([w]))

    def forward(self, x):
        return x * 0 + self.w


class ScriptedOptimizer:
    """Sets ``param`` to the next value of ``path`` at every step (zero_grad does nothing)."""

    def __init__(self, param, path):
        self.param, self.path, self.steps = param, list(path), 0

    def zero_grad(self):
        pass

    def step(self):
        with ag.no_grad():
            self.param.data[...] = self.path[self.steps]
        self.steps += 1


class NoOpOptimizer:
    def __init__(self):
        self.steps = 0

    def zero_grad(self):
        pass

    def step(self):
        self.steps += 1


# One batch per epoch, target 3 for every sample: after epoch e, w = PATH[e] and the
# validation loss is (PATH[e] - 3)^2 = 4, 1, 0, 1, 4, 9, ...: best at epoch 2.
PATH = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
TARGET = 3.0
ONE_BATCH = [(ag.tensor(np.zeros((4, 1))), ag.tensor(np.full((4, 1), TARGET)))]


def scripted_fit(**kwargs):
    model = Offset()
    opt = ScriptedOptimizer(model.w, PATH)
    kwargs.setdefault("epochs", len(PATH))
    kwargs.setdefault("progress", False)
    history = ag.fit(model, nn.MSELoss(), opt, ONE_BATCH, val_loader=ONE_BATCH, **kwargs)
    return model, opt, history


# ---- learning ----------------------------------------------------------------------------------


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def test_a_two_layer_mlp_learns_xor():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    loader = batches(XOR_X, XOR_Y, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ag.GraphGrowthWarning)  # an honest loop never warns
        history = ag.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05),
                         loader, val_loader=loader, epochs=150,
                         metrics={"accuracy": ag.accuracy}, progress=False)
    assert history.metrics["val_accuracy"][-1] == 1.0
    assert history.train_loss[-1] < 0.05 < history.train_loss[0]
    predictions = model.eval()(ag.tensor(XOR_X)).numpy().argmax(axis=1)
    np.testing.assert_array_equal(predictions, XOR_Y)


def test_xor_with_a_single_logit_and_sgd_in_mini_batches():
    ag.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    y = XOR_Y.reshape(-1, 1).astype(np.float32)
    history = ag.fit(model, nn.BCEWithLogitsLoss(),
                     optim.SGD(model.parameters(), lr=0.5, momentum=0.9),
                     batches(XOR_X, y, 2), epochs=150, metrics={"accuracy": logit_accuracy},
                     progress=False)
    assert history.metrics["train_accuracy"][-1] == 1.0
    assert ag.evaluate(model, nn.BCEWithLogitsLoss(), batches(XOR_X, y, 4),
                       {"accuracy": logit_accuracy})["accuracy"] == 1.0


def logit_accuracy(output, target):
    return ag.accuracy(output, target, threshold=0.0)


# ---- History -----------------------------------------------------------------------------------


def test_history_records_one_entry_per_epoch():
    ag.manual_seed(2)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    loader = batches(XOR_X, XOR_Y, 3)
    history = ag.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                     loader, val_loader=loader, epochs=5, metrics={"accuracy": ag.accuracy},
                     progress=False)
    assert history.epochs == 5
    assert len(history.train_loss) == len(history.val_loss) == 5
    assert sorted(history.metrics) == ["train_accuracy", "val_accuracy"]
    assert all(len(v) == 5 for v in history.metrics.values())
    assert not history.stopped_early
    assert history.best_epoch == int(np.argmin(history.val_loss))


def test_final_validation_entries_match_an_independent_evaluate():
    ag.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    train, val = batches(XOR_X, XOR_Y, 2), batches(XOR_X[::-1].copy(), XOR_Y[::-1].copy(), 3)
    metrics = {"accuracy": ag.accuracy}
    history = ag.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01),
                     train, val_loader=val, epochs=3, metrics=metrics, progress=False)
    after = ag.evaluate(model, nn.CrossEntropyLoss(), val, metrics)
    assert history.val_loss[-1] == pytest.approx(after["loss"], rel=1e-12)
    assert history.metrics["val_accuracy"][-1] == after["accuracy"]


def test_losses_are_averaged_over_samples_not_batches():
    """Batches of 3, 3 and 1 samples: the epoch loss is the mean over all 7 samples."""
    X = np.arange(7, dtype=np.float64).reshape(-1, 1)
    y = np.array([0.0, 2.0, 1.0, 5.0, 4.0, 4.0, 10.0]).reshape(-1, 1)
    loader = batches(X, y, 3)
    model = Offset(w=1.5)  # predicts 1.5 everywhere, and a no-op optimizer keeps it there
    history = ag.fit(model, nn.MSELoss(), NoOpOptimizer(), loader, val_loader=loader, epochs=2,
                     progress=False)
    expected = np.mean((1.5 - y) ** 2)
    assert history.train_loss == pytest.approx([expected, expected], rel=1e-12)
    assert history.val_loss == pytest.approx([expected, expected], rel=1e-12)


def test_train_and_val_losses_follow_the_weights_epoch_by_epoch():
    _, opt, history = scripted_fit(epochs=3)
    # the train loss is measured before each epoch's single step: w = 0, then PATH[0], PATH[1]
    assert history.train_loss == pytest.approx([9.0, 4.0, 1.0])
    assert history.val_loss == pytest.approx([4.0, 1.0, 0.0])  # after the steps
    assert opt.steps == 3


def test_history_last_and_repr():
    _, _, history = scripted_fit(epochs=2)
    assert history.last() == {"train_loss": 4.0, "val_loss": 1.0}
    assert repr(history) == "History(epochs=2, train_loss=4, val_loss=1)"


# ---- progress ----------------------------------------------------------------------------------


def test_progress_false_prints_nothing(capsys):
    scripted_fit(epochs=3)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_true_shows_a_tqdm_bar(capsys):
    pytest.importorskip("tqdm")
    scripted_fit(epochs=3, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "3/3" in captured.err and "val_loss" in captured.err


def test_progress_true_without_tqdm_prints_one_line_per_epoch(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm...` fail
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    scripted_fit(epochs=3, progress=True)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == ""
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1") and "train_loss 9" in lines[0] and "val_loss 4" in \
        lines[0]


# ---- early stopping ----------------------------------------------------------------------------


class Snapshots:
    """A callback that keeps the state_dict at the end of every epoch."""

    def __init__(self):
        self.states = []

    def on_epoch_end(self, epoch, logs, model):
        self.states.append({k: v.clone() for k, v in model.state_dict().items()})


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    snapshots = Snapshots()
    stopper = ag.EarlyStopping(patience=2)
    model, opt, history = scripted_fit(callbacks=[snapshots, stopper])
    # val losses 4, 1, 0 (best, epoch 2), 1, 4: two epochs without improvement, stop
    assert history.val_loss == pytest.approx([4.0, 1.0, 0.0, 1.0, 4.0])
    assert history.stopped_early and history.epochs == 5 and opt.steps == 5
    assert history.best_epoch == stopper.best_epoch == 2
    assert model.state_dict().keys() == snapshots.states[2].keys()
    np.testing.assert_array_equal(model.state_dict()["w"], snapshots.states[2]["w"])
    np.testing.assert_array_equal(model.w.numpy(), [3.0])
    assert ag.evaluate(model, nn.MSELoss(), ONE_BATCH)["loss"] == 0.0


def test_early_stopping_without_restoring_keeps_the_last_weights():
    model, _, history = scripted_fit(callbacks=[ag.EarlyStopping(patience=1,
                                                                  restore_best_weights=False)])
    assert history.epochs == 4 and history.best_epoch == 2
    np.testing.assert_array_equal(model.w.numpy(), [4.0])


def test_early_stopping_min_delta_demands_a_real_improvement():
    # improvements 4 -> 1 (3.0) and 1 -> 0 (1.0); with min_delta 1.5 only the first counts
    _, _, history = scripted_fit(callbacks=[ag.EarlyStopping(patience=2, min_delta=1.5)])
    assert history.best_epoch == 1 and history.epochs == 4


def test_early_stopping_on_a_metric_to_maximise():
    def closeness(out, target):
        return -float(np.abs(out.numpy() - target.numpy()).mean())  # 0 is best

    model, _, history = scripted_fit(
        metrics={"closeness": closeness},
        callbacks=[ag.EarlyStopping(patience=3, monitor="val_closeness", mode="max")])
    assert history.metrics["val_closeness"] == pytest.approx([-2, -1, 0, -1, -2, -3])
    assert history.best_epoch == 2 and history.epochs == 6
    np.testing.assert_array_equal(model.w.numpy(), [3.0])


def test_early_stopping_without_the_monitored_value_is_a_clear_error():
    model = Offset()
    with pytest.raises(ValueError, match="monitors 'val_loss'.*recorded: \\['train_loss'\\]"):
        ag.fit(model, nn.MSELoss(), NoOpOptimizer(), ONE_BATCH, epochs=2, progress=False,
               callbacks=[ag.EarlyStopping()])


def test_one_early_stopping_can_serve_two_fits():
    """The second run starts fresh: no stale best value, patience count or saved weights."""
    stopper = ag.EarlyStopping(patience=2)
    scripted_fit(callbacks=[stopper])  # best val loss 0 at w = 3
    model = Offset()
    # a worse run: val losses 49, 36, 25, 36, 49 -> best at epoch 2 (w = 8)
    history = ag.fit(model, nn.MSELoss(), ScriptedOptimizer(model.w, [10, 9, 8, 9, 10]),
                     ONE_BATCH, val_loader=ONE_BATCH, epochs=5, callbacks=[stopper],
                     progress=False)
    assert history.epochs == 5 and history.best_epoch == 2
    np.testing.assert_array_equal(model.w.numpy(), [8.0])  # its own best, not the first run's


def test_early_stopping_rejects_a_bad_mode():
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        ag.EarlyStopping(mode="lowest")


# ---- schedulers and callbacks ------------------------------------------------------------------


class CountingScheduler:
    def __init__(self, optimizer):
        self.optimizer, self.optimizer_steps_seen = optimizer, []

    def step(self):
        self.optimizer_steps_seen.append(self.optimizer.steps)


class ReduceLROnPlateau(optim.ReduceLROnPlateau):
    """A plateau scheduler (fit steps those with the monitored loss) that only records."""

    def __init__(self):
        self.values = []

    def step(self, metric):
        self.values.append(metric)


def test_scheduler_steps_once_per_epoch_after_the_optimizer():
    opt = NoOpOptimizer()
    scheduler = CountingScheduler(opt)
    loader = batches(np.zeros((6, 1)), np.zeros((6, 1)), 2)  # 3 batches per epoch
    ag.fit(Offset(), nn.MSELoss(), opt, loader, epochs=4, scheduler=scheduler, progress=False)
    assert scheduler.optimizer_steps_seen == [3, 6, 9, 12]


def test_plateau_scheduler_gets_the_validation_loss():
    scheduler = ReduceLROnPlateau()
    _, _, history = scripted_fit(epochs=4, scheduler=scheduler)
    assert scheduler.values == history.val_loss == pytest.approx([4.0, 1.0, 0.0, 1.0])


def test_fit_works_with_a_real_scheduler():
    model = nn.Linear(1, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.StepLR(opt, step_size=1, gamma=0.5)
    loader = batches(np.ones((2, 1), np.float32), np.ones((2, 1), np.float32), 2)
    ag.fit(model, nn.MSELoss(), opt, loader, epochs=3, scheduler=scheduler, progress=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)


class Recorder:
    def __init__(self, stop_at=None):
        self.calls, self.began, self.ended, self.stop_at = [], [], [], stop_at

    def on_epoch_end(self, epoch, logs, model):
        self.calls.append((epoch, dict(logs), model))
        return epoch == self.stop_at

    def on_train_begin(self, model):
        self.began.append(model)

    def on_train_end(self, model):
        self.ended.append(model)


def test_callbacks_receive_the_epoch_logs_and_the_model():
    recorder = Recorder()
    model, _, history = scripted_fit(epochs=3, callbacks=[recorder],
                                     metrics={"mse": lambda o, t: F.mse_loss(o, t).item()})
    assert [epoch for epoch, _, _ in recorder.calls] == [0, 1, 2]
    assert all(m is model for _, _, m in recorder.calls)
    for e, (_, logs, _) in enumerate(recorder.calls):
        assert logs == {"train_loss": history.train_loss[e], "val_loss": history.val_loss[e],
                        "train_mse": history.metrics["train_mse"][e],
                        "val_mse": history.metrics["val_mse"][e]}
    assert recorder.began == [model] and recorder.ended == [model]


def test_a_callback_returning_true_stops_training():
    recorder = Recorder(stop_at=1)
    _, opt, history = scripted_fit(callbacks=[recorder])
    assert history.epochs == 2 and history.stopped_early and opt.steps == 2


# ---- the graph-leak guard ----------------------------------------------------------------------


def test_a_loss_whose_graph_grows_every_step_warns():
    """A loss_fn that drags more history behind every call (here: one more term per call, as
    when a running total or a list of past tensors feeds the loss) triggers the guard."""
    calls = []

    def growing_loss(out, target):
        calls.append(out)
        loss = F.mse_loss(out, target)
        for _ in calls:
            loss = loss + 0 * out.sum()
        return loss

    loader = batches(np.zeros((8, 1)), np.ones((8, 1)), 1)
    with pytest.warns(ag.GraphGrowthWarning, match="the loss carries a computation graph"):
        ag.fit(nn.Linear(1, 1, dtype=np.float64), growing_loss, NoOpOptimizer(), loader,
               epochs=1, progress=False)


# ---- evaluate ----------------------------------------------------------------------------------


class Probe(nn.Module):
    """Records the mode and grad state its forward sees."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 1, dtype=np.float64)
        self.seen = []

    def forward(self, x):
        out = self.fc(x)
        self.seen.append((self.training, ag.is_grad_enabled(), out.requires_grad))
        return out


def test_evaluate_runs_in_eval_mode_without_a_graph_and_restores_the_mode():
    model = Probe()
    loader = batches(np.ones((4, 1)), np.ones((4, 1)), 2)
    ag.evaluate(model, nn.MSELoss(), loader)
    assert model.seen == [(False, False, False)] * 2
    assert model.training and model.fc.training
    model.eval()
    ag.evaluate(model, nn.MSELoss(), loader)
    assert not model.training
    assert all(p.grad is None for p in model.parameters())


def test_evaluate_dropout_is_off():
    model = nn.Sequential(nn.Dropout(0.9))
    X = np.ones((50, 4), np.float32)
    result = ag.evaluate(model, nn.MSELoss(), batches(X, X, 25))
    assert result == {"loss": 0.0}


def test_evaluate_weights_batches_by_size():
    X = np.arange(5, dtype=np.float64).reshape(-1, 1)
    y = (X > 1.5).astype(np.float64)
    loader = batches(X, y, 2)  # sizes 2, 2, 1
    model = Offset(w=0.25)
    result = ag.evaluate(model, nn.MSELoss(), loader, {"accuracy": ag.accuracy})
    assert result["loss"] == pytest.approx(np.mean((0.25 - y) ** 2), rel=1e-12)
    assert result["accuracy"] == pytest.approx(2 / 5)  # 0.25 < 0.5 predicts 0 everywhere


def test_evaluate_and_fit_reject_empty_or_malformed_loaders():
    with pytest.raises(ValueError, match="yielded no batches"):
        ag.evaluate(Offset(), nn.MSELoss(), [])
    with pytest.raises(ValueError, match="yielded no batches"):
        ag.fit(Offset(), nn.MSELoss(), NoOpOptimizer(), [], progress=False)
    with pytest.raises(ValueError, match=r"\(inputs, targets\) pair"):
        ag.fit(Offset(), nn.MSELoss(), NoOpOptimizer(), [ag.ones(2, 1)], progress=False)


# ---- accuracy ----------------------------------------------------------------------------------


def test_accuracy_of_class_logits_uses_argmax():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.1, 0.2, 0.3], [5.0, 0.0, 6.0]])
    assert ag.accuracy(logits, np.array([0, 1, 0, 2])) == 0.75
    assert ag.accuracy(ag.tensor(logits), ag.tensor([0, 1, 2, 2])) == 1.0


def test_accuracy_of_single_logits_thresholds_at_zero_when_asked():
    logits = np.array([[-2.0], [0.5], [3.0], [-0.1]])
    assert ag.accuracy(logits, np.array([[0.0], [1.0], [0.0], [0.0]]), threshold=0.0) == 0.75
    assert ag.accuracy(logits.ravel(), np.array([0, 1, 1, 0]), threshold=0.0) == 1.0
    assert ag.accuracy(ag.tensor(logits), ag.tensor([0, 0, 0, 0]), threshold=0.0) == 0.5
    # small logits are not mistaken for probabilities: the threshold is what you say
    assert ag.accuracy(np.array([0.2, 0.4]), np.array([1, 1]), threshold=0.0) == 1.0
    assert ag.accuracy(np.array([0.2, 0.4]), np.array([1, 1])) == 0.0


def test_accuracy_of_probabilities_thresholds_at_one_half():
    probs = np.array([0.1, 0.6, 0.5, 0.49, 0.9])
    assert ag.accuracy(probs, np.array([0, 1, 1, 0, 0])) == 0.8
    assert ag.accuracy(probs.reshape(-1, 1), np.array([[0], [1], [1], [1], [1]])) == 0.8


def test_accuracy_returns_a_python_float():
    assert type(ag.accuracy(np.array([[1.0, 0.0]]), np.array([0]))) is float


def test_history_keeps_every_steps_loss():
    loader = batches(np.zeros((6, 1)), np.zeros((6, 1)), 2)  # 3 batches per epoch
    history = ag.fit(Offset(w=0.5), nn.MSELoss(), NoOpOptimizer(), loader, epochs=2,
                     progress=False)
    assert history.batch_loss == [0.25] * 6  # (0.5 - 0)^2 at every step


def test_fit_with_compile_trains_to_the_same_numbers_as_eager():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 3)), rng.integers(0, 2, 50)  # 50: the last batch is short

    def run(compile):
        ag.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.Tanh(), nn.Dropout(0.2),
                              nn.Linear(8, 2, dtype=np.float64))
        loader = ag.utils.data.DataLoader(ag.utils.data.TensorDataset(X, y), batch_size=16,
                                          shuffle=True)
        history = ag.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05),
                         loader, epochs=3, metrics={"accuracy": ag.accuracy}, progress=False,
                         compile=compile)
        return history, [p.data for p in model.parameters()]

    (eager, eager_params), (compiled, compiled_params) = run(False), run(True)
    assert compiled.batch_loss == eager.batch_loss and len(eager.batch_loss) == 12
    assert compiled.metrics["train_accuracy"] == eager.metrics["train_accuracy"]
    assert all(np.array_equal(a, b) for a, b in zip(eager_params, compiled_params))
