"""W2 MLP training step: 784-256-128-10, ReLU, softmax cross-entropy on integer labels, batch
128, SGD lr 0.1; milliseconds per forward + backward + update, 100 steps after warm-up.

Here the matrix products dominate, so a ratio near 1 says the framework adds little on top of
BLAS. Every framework starts from the same weights (PyTorch's nn.Linear layout and init:
weight (out, in), U(-1/sqrt(in), 1/sqrt(in))) and trains on the same fixed batch.
Each ``<framework>_mlp(params, x, y)`` returns ``step()``, which trains one step and returns
the loss (a float) and the gradients of that step (numpy, in ``params`` order).

autograd_lite runs twice: eagerly, and with the step (zero_grad, forward, backward, SGD update)
compiled by ``ag.compile`` (traced on its first call, replayed after).

W5 (memory) runs autograd_lite's step 1,000 times.
"""

from __future__ import annotations

import numpy as np
from common import assert_close, measure

SIZES = [784, 256, 128, 10]
BATCH, LR = 128, 0.1


def data(seed: int = 0):
    """A fixed batch and initial weights [W1, b1, W2, b2, W3, b3], all float32."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return params, x, y


def numpy_mlp(params, x, y):
    """The floor: forward, the backward written out layer by layer, SGD in place."""
    params = [p.copy() for p in params]
    n = len(y)
    rows = np.arange(n)

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h1 = x @ w1.T + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2.T + b2
        a2 = np.maximum(h2, 0)
        logits = a2 @ w3.T + b3
        # log-softmax with the max shifted out, so exp never overflows
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = np.log(total[:, 0]).mean() - shifted[rows, y].mean()
        # d loss / d logits = (softmax - one_hot) / n
        g = e / total
        g[rows, y] -= 1
        g /= n
        gw3, gb3 = g.T @ a2, g.sum(axis=0)
        g = (g @ w3) * (h2 > 0)
        gw2, gb2 = g.T @ a1, g.sum(axis=0)
        g = (g @ w2) * (h1 > 0)
        gw1, gb1 = g.T @ x, g.sum(axis=0)
        grads = [gw1, gb1, gw2, gb2, gw3, gb3]
        for p, gp in zip(params, grads):
            p -= LR * gp
        return float(loss), grads

    return step


def _autograd_lite_mlp(params, x, y, compiled):
    import autograd_lite as ag
    from autograd_lite import nn, optim

    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    model.load_state_dict(dict(zip(model.state_dict(), params)))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=LR)
    xt, yt = ag.tensor(x), ag.tensor(y)

    def train_step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    train = ag.compile(train_step) if compiled else train_step

    def step():
        loss = train(xt, yt)
        return loss.item(), [p.grad.data for p in model.parameters()]

    if compiled:  # what each call checks before it replays: the guards, alone
        step.guards = lambda: train._cached((xt, yt))  # type: ignore[attr-defined]
    return step


def guard_microseconds(guards, rounds: int = 15, number: int = 2000) -> float:
    """The median time of one call of ``guards`` (the compiled step's check of its inputs and
    state), in microseconds."""
    import statistics
    import time

    assert guards() is not None  # it finds the program: the check ran in full
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            guards()
        times.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(times)


def autograd_lite_mlp(params, x, y):
    return _autograd_lite_mlp(params, x, y, compiled=False)


def autograd_lite_compiled_mlp(params, x, y):
    """Ours with the step compiled: the first call traces it (the check's), later calls replay."""
    return _autograd_lite_mlp(params, x, y, compiled=True)


def torch_mlp(params, x, y):
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in zip(model.state_dict(), params)})
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        optimizer.step()
        return loss.item(), [p.grad.numpy() for p in model.parameters()]

    return step


def autograd_mlp(params, x, y):
    """HIPS autograd has no layers or optimizers: a loss function of a list of arrays, its
    gradient by ``value_and_grad``, and SGD in numpy. Its ``maximum`` and ``mean`` send
    float64 gradients back for float32 inputs, so ReLU is ``where`` and the mean a sum / n."""
    import autograd.numpy as anp
    from autograd import value_and_grad
    from autograd.scipy.special import logsumexp

    params = [p.copy() for p in params]
    n = len(y)
    rows = np.arange(n)

    def loss(ps):
        w1, b1, w2, b2, w3, b3 = ps
        h = x @ w1.T + b1
        h = anp.where(h > 0, h, 0)
        h = h @ w2.T + b2
        h = anp.where(h > 0, h, 0)
        logits = h @ w3.T + b3
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        return -anp.sum(logp[rows, y]) / n

    loss_and_grads = value_and_grad(loss)

    def step():
        value, grads = loss_and_grads(params)
        for p, g in zip(params, grads):
            p -= LR * g
        return float(value), grads

    return step


def mygrad_mlp(params, x, y):
    """MyGrad: tensors and its fused softmax cross-entropy; SGD on ``.data`` in place."""
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy

    params = [mg.tensor(p) for p in params]

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h = relu(mg.matmul(x, w1.T) + b1)
        h = relu(mg.matmul(h, w2.T) + b2)
        loss = softmax_crossentropy(mg.matmul(h, w3.T) + b3, y)
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        return loss.item(), [p.grad for p in params]

    return step


MAKERS = {"numpy": numpy_mlp, "autograd_lite": autograd_lite_mlp,
          "autograd_lite_compiled": autograd_lite_compiled_mlp, "torch": torch_mlp,
          "autograd": autograd_mlp, "mygrad": mygrad_mlp}
# the rows a framework's run gives: (workload, maker); ours eagerly and compiled
VARIANTS = {"autograd_lite": [("W2 MLP step", "autograd_lite"),
                              ("W2 MLP step, compiled", "autograd_lite_compiled")]}


def run(framework: str, quick: bool) -> list[dict]:
    """The W2 rows for one framework, the floor timed alongside in this process."""
    if framework not in MAKERS:
        return []
    rows = []
    for workload, name in VARIANTS.get(framework, [("W2 MLP step", framework)]):
        params, x, y = data()
        floor, ours = numpy_mlp(params, x, y), MAKERS[name](params, x, y)

        def check(ours=ours, floor=floor):
            # three steps' losses and gradients: the updates match too (a compiled step traces
            # on the first and replays the others)
            for i in (1, 2, 3):
                (loss, grads), (want_loss, want) = ours(), floor()
                assert_close(f"W2 loss at step {i}", np.float32(loss), np.float32(want_loss))
                for param, g, w in zip(["W1", "b1", "W2", "b2", "W3", "b3"], grads, want):
                    assert_close(f"W2 d loss/d {param} at step {i}", g, w)

        # 100 timed steps (10 rounds of 10, taking turns with the floor) after 10 warm-up steps
        row = measure(workload, framework, "ms/step", 1e3, floor, ours, check,
                      rounds=2 if quick else 10, number=2 if quick else 10,
                      warmup=1 if quick else 10)
        if hasattr(ours, "guards") and row["check"] == "ok":
            row["guard_us"] = guard_microseconds(ours.guards, rounds=3 if quick else 15)
        rows.append(row)
    return rows
