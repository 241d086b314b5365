"""W3 logistic regression: full-batch gradient descent on N=10,000 x D=30, 200 iterations;
milliseconds per fit. The loss is the mean of log(1 + e^z) - y z over z = X w^T + b (binary
cross-entropy on the logits), lr 0.5, starting from the same small weights every fit.

Medium-sized arrays and few ops per iteration: between W1 (all overhead) and W2 (all BLAS).
Each ``<framework>_fit(X, y, w0, b0)`` returns ``fit(iterations)``, which trains from (w0, b0)
and returns the last loss, the last gradients [dw, db] and the final [w, b], as numpy.
autograd_lite runs twice: eagerly, and with the per-iteration step (zero_grad, forward,
backward, SGD update) compiled by ``ag.compile``, the loop calling the compiled step.
"""

from __future__ import annotations

import numpy as np
from common import assert_close, measure

N, D, ITERATIONS, LR = 10_000, 30, 200, 0.5


def data(seed: int = 0):
    """Two overlapping classes, labels (N, 1) as float32 0/1, and the initial (w0, b0)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D)).astype(np.float32)
    w_true = rng.standard_normal(D)
    y = (X @ w_true + rng.standard_normal(N) > 0).astype(np.float32)[:, None]
    w0 = rng.uniform(-0.1, 0.1, (1, D)).astype(np.float32)  # nn.Linear's layout: (out, in)
    b0 = np.zeros(1, np.float32)
    return X, y, w0, b0


def numpy_fit(X, y, w0, b0):
    """The floor: loss forward (as the frameworks compute it), gradient by hand, update."""
    n = len(y)

    def fit(iterations):
        w, b = w0.copy(), b0.copy()
        for _ in range(iterations):
            z = X @ w.T + b
            loss = np.mean(np.logaddexp(0, z) - y * z)
            p = 0.5 * (1 + np.tanh(0.5 * z))  # sigmoid(z), without exp overflow
            g = (p - y) / n
            gw, gb = g.T @ X, g.sum(axis=0)
            w -= LR * gw
            b -= LR * gb
        return float(loss), [gw, gb], [w, b]

    return fit


def autograd_lite_fit(X, y, w0, b0):
    import autograd_lite as ag
    from autograd_lite import nn, optim

    Xt, yt = ag.tensor(X), ag.tensor(y)
    loss_fn = nn.BCEWithLogitsLoss()

    def fit(iterations):
        model = nn.Linear(D, 1)
        model.load_state_dict({"weight": w0, "bias": b0})
        optimizer = optim.SGD(model.parameters(), lr=LR)
        for _ in range(iterations):
            optimizer.zero_grad()
            loss = loss_fn(model(Xt), yt)
            loss.backward()
            optimizer.step()
        return (loss.item(), [model.weight.grad.data, model.bias.grad.data],
                [model.weight.data, model.bias.data])

    return fit


def autograd_lite_compiled_fit(X, y, w0, b0):
    """Ours with the per-iteration step compiled by ``ag.compile``. The program reads the
    parameters' arrays by identity (a new model would need a new trace), so one model and
    optimizer serve every fit, their weights reset in place at its start; the step is traced
    on the first call of the first fit (the check's) and replayed ever after."""
    import autograd_lite as ag
    from autograd_lite import nn, optim

    Xt, yt = ag.tensor(X), ag.tensor(y)
    loss_fn = nn.BCEWithLogitsLoss()
    model = nn.Linear(D, 1)
    model.load_state_dict({"weight": w0, "bias": b0})
    optimizer = optim.SGD(model.parameters(), lr=LR)

    def train_step(X, y):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        return loss

    step = ag.compile(train_step)

    def fit(iterations):
        np.copyto(model.weight.data, w0)
        np.copyto(model.bias.data, b0)
        for _ in range(iterations):
            loss = step(Xt, yt)
        return (loss.item(), [model.weight.grad.data, model.bias.grad.data],
                [model.weight.data.copy(), model.bias.data.copy()])

    return fit


def torch_fit(X, y, w0, b0):
    import torch
    from torch import nn

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = nn.BCEWithLogitsLoss()

    def fit(iterations):
        model = nn.Linear(D, 1)
        model.load_state_dict({"weight": torch.from_numpy(w0), "bias": torch.from_numpy(b0)})
        optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        for _ in range(iterations):
            optimizer.zero_grad()
            loss = loss_fn(model(Xt), yt)
            loss.backward()
            optimizer.step()
        return (loss.item(), [model.weight.grad.numpy(), model.bias.grad.numpy()],
                [model.weight.detach().numpy(), model.bias.detach().numpy()])

    return fit


def autograd_fit(X, y, w0, b0):
    """HIPS autograd: the loss as a function of (w, b); its ``mean`` would send a float64
    gradient back, so the mean is a sum / n."""
    import autograd.numpy as anp
    from autograd import value_and_grad

    n = len(y)

    def loss(w, b):
        z = X @ w.T + b
        return anp.sum(anp.logaddexp(0, z) - y * z) / n

    loss_and_grads = value_and_grad(loss, argnum=(0, 1))

    def fit(iterations):
        w, b = w0.copy(), b0.copy()
        for _ in range(iterations):
            value, (gw, gb) = loss_and_grads(w, b)
            w -= LR * gw
            b -= LR * gb
        return float(value), [gw, gb], [w, b]

    return fit


def mygrad_fit(X, y, w0, b0):
    import mygrad as mg

    zero = np.float32(0)  # mygrad turns a Python 0 into an int64 array, then float64

    def fit(iterations):
        w, b = mg.tensor(w0), mg.tensor(b0)  # copies
        for _ in range(iterations):
            z = mg.matmul(X, w.T) + b
            loss = mg.mean(mg.logaddexp(zero, z) - y * z)
            loss.backward()
            w.data -= LR * w.grad
            b.data -= LR * b.grad
        return loss.item(), [w.grad, b.grad], [w.data, b.data]

    return fit


MAKERS = {"numpy": numpy_fit, "autograd_lite": autograd_lite_fit,
          "autograd_lite_compiled": autograd_lite_compiled_fit, "torch": torch_fit,
          "autograd": autograd_fit, "mygrad": mygrad_fit}
# the rows a framework's run gives: (workload, maker); ours eagerly and compiled
VARIANTS = {"autograd_lite": [("W3 logistic regression", "autograd_lite"),
                              ("W3 logistic regression, compiled", "autograd_lite_compiled")]}


def run(framework: str, quick: bool) -> list[dict]:
    """The W3 rows for one framework, the floor timed alongside in this process."""
    if framework not in MAKERS:
        return []
    X, y, w0, b0 = data()
    iterations = 20 if quick else ITERATIONS
    unit = f"ms/{iterations} it"
    rows = []
    for workload, name in VARIANTS.get(framework, [("W3 logistic regression", framework)]):
        floor, ours = numpy_fit(X, y, w0, b0), MAKERS[name](X, y, w0, b0)

        def check(ours=ours, floor=floor):
            # the gradient at the start, then the loss, gradient and weights at the end
            for steps in (1, iterations):
                (loss, grads, params), (want_loss, want, want_params) = ours(steps), floor(steps)
                assert_close(f"W3 loss after {steps}", np.float32(loss), np.float32(want_loss))
                for param, got, expected in zip(["dw", "db", "w", "b"], grads + params,
                                                want + want_params):
                    assert_close(f"W3 {param} after {steps} iterations", got, expected)

        rows.append(measure(workload, framework, unit, 1e3, lambda floor=floor: floor(iterations),
                            lambda ours=ours: ours(iterations), check,
                            rounds=2 if quick else 7, number=1))
    return rows
