"""``fit``: the training loop every course writes, once — epochs of mini-batch steps, validation,
metrics, a progress bar, early stopping — returning a ``History`` of the loss curves.

It uses only the public API (``model.train()``, ``loss.backward()``, ``optimizer.step()``...),
so a hand-written loop can do everything it does.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from . import debug
from ._tensor import Tensor, as_array
from .compiler import compile as compile_step
from .debug import GraphGrowthGuard
from .grad_mode import no_grad
from .optim.lr_scheduler import ReduceLROnPlateau


def accuracy(output, target, threshold: float = 0.5) -> float:
    """Fraction of correct predictions: argmax over classes for (N, C) outputs; for one output
    per sample, ``output >= threshold`` — 0.5 for probabilities (after a sigmoid), pass
    ``threshold=0.0`` for logits (e.g. ``lambda o, y: accuracy(o, y, threshold=0.0)``)."""
    out = as_array(output)
    y = as_array(target)
    if out.ndim > 1 and out.shape[-1] > 1:
        predicted = out.argmax(axis=-1)
    else:
        predicted = (out >= threshold).astype(y.dtype).reshape(y.shape)
    return float(np.mean(predicted.reshape(y.shape) == y))


class History:
    """Per-epoch losses and metrics from ``fit``: ``train_loss``, ``val_loss`` and, per metric
    name, ``metrics['train_accuracy']`` / ``metrics['val_accuracy']`` lists; ``batch_loss`` holds
    the loss of every training step (the noisy curve of stochastic gradient descent)."""

    def __init__(self):
        self.train_loss: list[float] = []
        self.batch_loss: list[float] = []  # every step's loss, for per-update loss curves
        self.val_loss: list[float] = []
        self.metrics: dict[str, list[float]] = {}
        self.best_epoch: int | None = None  # an index into the lists: 0 is the first epoch
        self.stopped_early = False

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def record(self, name: str, value: float) -> None:
        if name == "train_loss":
            self.train_loss.append(value)
        elif name == "val_loss":
            self.val_loss.append(value)
        else:
            self.metrics.setdefault(name, []).append(value)

    def last(self) -> dict[str, float]:
        """The latest value of everything recorded."""
        logs = {"train_loss": self.train_loss[-1]} if self.train_loss else {}
        if self.val_loss:
            logs["val_loss"] = self.val_loss[-1]
        logs.update({k: v[-1] for k, v in self.metrics.items()})
        return logs

    def __repr__(self):
        items = ", ".join(f"{k}={v:.4g}" for k, v in self.last().items())
        return f"History(epochs={self.epochs}, {items})"


class EarlyStopping:
    """Stop when ``monitor`` ('val_loss' by default) has not improved by ``min_delta`` for
    ``patience`` epochs, and put back the weights of the best epoch."""

    def __init__(self, patience: int = 5, monitor: str = "val_loss", min_delta: float = 0.0,
                 mode: str = "min", restore_best_weights: bool = True):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.monitor, self.min_delta, self.mode = patience, monitor, min_delta, mode
        self.restore_best_weights = restore_best_weights
        self.on_train_begin(None)

    def on_train_begin(self, model) -> None:
        """Forget any earlier run, so one EarlyStopping can serve several ``fit`` calls."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, Tensor] | None = None
        self.wait = 0

    def on_epoch_end(self, epoch: int, logs: dict, model) -> bool:
        """Return True to stop training."""
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors '{self.monitor}', which fit did not "
                             f"record; recorded: {sorted(logs)} (pass a val_loader?)")
        value = logs[self.monitor]
        improved = (value < self.best - self.min_delta if self.mode == "min"
                    else value > self.best + self.min_delta)
        if improved:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                # a copy: state_dict() shares memory with the weights training goes on to change
                self.best_state = {k: v.clone() for k, v in model.state_dict().items()}
            return False
        self.wait += 1
        return self.wait >= self.patience

    def on_train_end(self, model) -> None:
        if self.restore_best_weights and self.best_state is not None:
            model.load_state_dict(self.best_state)


def _progress(total, enabled):
    """A tqdm progress bar over ``total`` steps when tqdm is installed; a plain-text stand-in
    (one line per epoch) otherwise; nothing at all when disabled."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _TextProgress(total)
    return tqdm(total=total, unit="batch", leave=True)


class _TextProgress:
    def __init__(self, total):
        self.total = total

    def update(self, n=1):
        pass

    def set_postfix(self, logs, refresh=True):
        print("  ".join(f"{k} {v:.4g}" for k, v in logs.items()), file=sys.stderr)

    def close(self):
        pass


def _batches(loader):
    for batch in loader:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError("fit: each batch must be an (inputs, targets) pair")
        yield batch


def evaluate(model, loss_fn, loader, metrics=None) -> dict[str, float]:
    """Mean loss (and metrics) of ``model`` over ``loader``, in eval mode, without a graph;
    averages are weighted by batch size."""
    metrics = metrics or {}
    was_training = model.training
    model.eval()
    totals = dict.fromkeys(["loss", *metrics], 0.0)
    count = 0
    with no_grad():
        for x, y in _batches(loader):
            out = model(x)
            n = len(x)
            totals["loss"] += loss_fn(out, y).item() * n
            for name, fn in metrics.items():
                totals[name] += fn(out, y) * n
            count += n
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return {name: total / count for name, total in totals.items()}


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, epochs: int = 1,
        metrics: dict | None = None, scheduler=None, callbacks=(), progress: bool = True,
        compile: bool = False) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; returns a ``History``.

    Each step: forward, ``loss_fn(output, target)``, ``zero_grad``, ``backward``, ``step``.
    After each epoch: the validation loss and ``metrics`` (name -> fn(output, target) ->
    float, e.g. ``{"accuracy": accuracy}``), ``scheduler.step()`` (``step(val_loss)`` for
    ReduceLROnPlateau), then each callback's ``on_epoch_end(epoch, logs, model)``; a True
    return stops training (see ``EarlyStopping``). Callbacks may also define
    ``on_train_begin(model)`` and ``on_train_end(model)``. ``progress=False`` prints nothing.
    A ``GraphGrowthGuard`` watches the loss (and, in debug mode, each metric's running sum).
    ``compile=True`` runs each training step through ``ag.compile`` (the same numbers, faster
    for small models; see autograd_lite/compiler.py for what a compiled step may contain).
    """
    metrics = metrics or {}
    history = History()
    for cb in callbacks:
        if hasattr(cb, "on_train_begin"):
            cb.on_train_begin(model)
    bar = _progress(epochs * len(train_loader), progress)
    guard = GraphGrowthGuard()  # on the loss, always; debug mode adds one per metric's sum
    metric_guards = {name: GraphGrowthGuard() for name in metrics} if debug.enabled else {}

    def train_step(x, y):
        out = model(x)
        loss = loss_fn(out, y)
        guard.check(loss, "the loss")  # compiled: checked on the traced step (replays repeat it)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return out, loss

    if compile:
        train_step = compile_step(train_step)
    try:
        for epoch in range(epochs):
            model.train()
            total, count = 0.0, 0
            sums = dict.fromkeys(metrics, 0.0)
            for x, y in _batches(train_loader):
                out, loss = train_step(x, y)
                n = len(x)
                step_loss = loss.item()
                history.batch_loss.append(step_loss)
                total += step_loss * n
                count += n
                for name, fn in metrics.items():
                    sums[name] += fn(out, y) * n
                    total_metric = sums[name]
                    if name in metric_guards and isinstance(total_metric, Tensor):
                        metric_guards[name].check(total_metric, f"the sum of metric {name!r}")
                if bar is not None:
                    bar.update(1)
            if count == 0:
                raise ValueError("fit: train_loader yielded no batches")
            history.record("train_loss", total / count)
            for name in metrics:
                history.record(f"train_{name}", sums[name] / count)
            if val_loader is not None:
                results = evaluate(model, loss_fn, val_loader, metrics)
                history.record("val_loss", results["loss"])
                for name in metrics:
                    history.record(f"val_{name}", results[name])
            logs = history.last()
            if scheduler is not None:
                if isinstance(scheduler, ReduceLROnPlateau):
                    scheduler.step(logs.get("val_loss", logs["train_loss"]))
                else:
                    scheduler.step()
            if bar is not None:
                bar.set_postfix({"epoch": epoch + 1, **logs}, refresh=True)
            stop = False
            for cb in callbacks:
                stop |= bool(cb.on_epoch_end(epoch, logs, model))
            if stop:
                history.stopped_early = True
                break
    finally:
        if bar is not None:
            bar.close()
    for cb in callbacks:
        if hasattr(cb, "on_train_end"):
            cb.on_train_end(model)
        if getattr(cb, "best_epoch", None) is not None:
            history.best_epoch = cb.best_epoch
    if history.best_epoch is None and history.val_loss:
        history.best_epoch = int(np.argmin(history.val_loss))
    return history
