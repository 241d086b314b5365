"""W8 LSTM training step: a batch of 32 sequences of 50 time steps, 16 inputs, one LSTM layer
of 64 units (``nn.LSTM(16, 64, batch_first=True)``), a Linear(64, 1) on the last output, mean
squared error against fixed targets, SGD lr 0.1; milliseconds per forward + backward + update.

Here the time steps run one after another, each with small matrix products, so the cost per
op (the graph's bookkeeping) counts far more than in W2 or W7. The floor is the same step
written by hand: the input's share of the gates for every step in one matrix product, then per
step one product for the four gates (PyTorch's order i, f, g, o), and backpropagation through
time with one product per step, the weight gradients summed over the steps in one product each.
Every framework starts from the same weights (PyTorch's names weight_ih_l0, weight_hh_l0,
bias_ih_l0, bias_hh_l0 and init, U(-1/sqrt(hidden), 1/sqrt(hidden)); the head's as nn.Linear's).
autograd_lite runs twice: by default (each step built from the engine's ops) and with
``fused=True`` (each step one ``lstm_cell`` node with a hand-written backward), each also with
the training step compiled by ``ag.compile`` (traced on its first call, replayed after).
Each ``<framework>_lstm(params, x, target)`` returns ``step()``, which trains one step and
returns the loss (a float) and the gradients of that step (numpy, in ``params`` order).
"""

from __future__ import annotations

import numpy as np
from common import assert_close, measure

BATCH, STEPS, INPUT, HIDDEN, LR = 32, 50, 16, 64, 0.1
NAMES = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "fc.weight", "fc.bias"]


def data(seed: int = 0):
    """Fixed sequences, targets and initial weights [w_ih, w_hh, b_ih, b_hh, fc w, fc b]."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, STEPS, INPUT)).astype(np.float32)
    target = rng.standard_normal((BATCH, 1)).astype(np.float32)
    bound = 1 / np.sqrt(HIDDEN)
    params = [rng.uniform(-bound, bound, shape).astype(np.float32)
              for shape in [(4 * HIDDEN, INPUT), (4 * HIDDEN, HIDDEN), 4 * HIDDEN, 4 * HIDDEN,
                            (1, HIDDEN), 1]]
    return params, x, target


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_lstm(params, x, target):
    """The floor: forward through time, backward through time by hand, SGD in place."""
    params = [p.copy() for p in params]
    n, t_max, h_size = BATCH, STEPS, HIDDEN
    xs = np.ascontiguousarray(x.transpose(1, 0, 2))  # the data, once: time first
    flat_x = xs.reshape(t_max * n, INPUT)

    def step():
        w_ih, w_hh, b_ih, b_hh, w_out, b_out = params
        xi = (flat_x @ w_ih.T + (b_ih + b_hh)).reshape(t_max, n, 4 * h_size)
        hs = np.zeros((t_max + 1, n, h_size), np.float32)  # hs[t]: h before step t
        cs = np.zeros((t_max + 1, n, h_size), np.float32)
        acts = np.empty((t_max, n, 4 * h_size), np.float32)  # i, f, g, o after activation
        tanh_c = np.empty((t_max, n, h_size), np.float32)
        w_hh_t = w_hh.T
        for t in range(t_max):
            z = xi[t] + hs[t] @ w_hh_t
            a = acts[t]
            a[:, :2 * h_size] = _sigmoid(z[:, :2 * h_size])
            a[:, 2 * h_size:3 * h_size] = np.tanh(z[:, 2 * h_size:3 * h_size])
            a[:, 3 * h_size:] = _sigmoid(z[:, 3 * h_size:])
            i, f, g, o = np.split(a, 4, axis=1)
            cs[t + 1] = f * cs[t] + i * g
            tanh_c[t] = np.tanh(cs[t + 1])
            hs[t + 1] = o * tanh_c[t]
        pred = hs[-1] @ w_out.T + b_out
        diff = pred - target
        loss = np.mean(diff * diff)

        gpred = (2 / diff.size) * diff
        gw_out, gb_out = gpred.T @ hs[-1], gpred.sum(axis=0)
        dh, dc = gpred @ w_out, np.zeros((n, h_size), np.float32)
        dz = np.empty_like(acts)
        for t in reversed(range(t_max)):
            i, f, g, o = np.split(acts[t], 4, axis=1)
            tc = tanh_c[t]
            dc = dc + dh * o * (1 - tc * tc)
            d = dz[t]
            d[:, :h_size] = dc * g * i * (1 - i)
            d[:, h_size:2 * h_size] = dc * cs[t] * f * (1 - f)
            d[:, 2 * h_size:3 * h_size] = dc * i * (1 - g * g)
            d[:, 3 * h_size:] = dh * tc * o * (1 - o)
            dc = dc * f
            dh = d @ w_hh
        flat_dz = dz.reshape(t_max * n, 4 * h_size)
        gw_ih = flat_dz.T @ flat_x
        gw_hh = flat_dz.T @ hs[:-1].reshape(t_max * n, h_size)
        gb = flat_dz.sum(axis=0)
        grads = [gw_ih, gw_hh, gb, gb.copy(), gw_out, gb_out]
        for p, gp in zip(params, grads):
            p -= LR * gp
        return float(loss), grads

    return step


def _autograd_lite_lstm(params, x, target, fused, compiled=False):
    import autograd_lite as ag
    from autograd_lite import nn, optim

    lstm = nn.LSTM(INPUT, HIDDEN, batch_first=True, fused=fused)
    head = nn.Linear(HIDDEN, 1)
    lstm.load_state_dict(dict(zip(lstm.state_dict(), params[:4])))
    head.load_state_dict(dict(zip(head.state_dict(), params[4:])))
    weights = list(lstm.parameters()) + list(head.parameters())
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(weights, lr=LR)
    xt, tt = ag.tensor(x), ag.tensor(target)

    def train_step(x, target):
        optimizer.zero_grad()
        out, _ = lstm(x)
        loss = loss_fn(head(out[:, -1]), target)
        loss.backward()
        optimizer.step()
        return loss

    train = ag.compile(train_step) if compiled else train_step

    def step():
        loss = train(xt, tt)
        return loss.item(), [p.grad.data for p in weights]

    return step


def autograd_lite_lstm(params, x, target):
    return _autograd_lite_lstm(params, x, target, fused=False)


def autograd_lite_fused_lstm(params, x, target):
    return _autograd_lite_lstm(params, x, target, fused=True)


def autograd_lite_compiled_lstm(params, x, target):
    return _autograd_lite_lstm(params, x, target, fused=False, compiled=True)


def autograd_lite_fused_compiled_lstm(params, x, target):
    return _autograd_lite_lstm(params, x, target, fused=True, compiled=True)


def torch_lstm(params, x, target):
    import torch
    from torch import nn

    lstm = nn.LSTM(INPUT, HIDDEN, batch_first=True)
    head = nn.Linear(HIDDEN, 1)
    lstm.load_state_dict({k: torch.from_numpy(v) for k, v in zip(lstm.state_dict(), params[:4])})
    head.load_state_dict({k: torch.from_numpy(v) for k, v in zip(head.state_dict(), params[4:])})
    weights = list(lstm.parameters()) + list(head.parameters())
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.SGD(weights, lr=LR)
    xt, tt = torch.from_numpy(x), torch.from_numpy(target)

    def step():
        optimizer.zero_grad()
        out, _ = lstm(xt)
        loss = loss_fn(head(out[:, -1]), tt)
        loss.backward()
        optimizer.step()
        return loss.item(), [p.grad.numpy() for p in weights]

    return step


MAKERS = {"numpy": numpy_lstm, "autograd_lite": autograd_lite_lstm,
          "autograd_lite_fused": autograd_lite_fused_lstm,
          "autograd_lite_compiled": autograd_lite_compiled_lstm,
          "autograd_lite_fused_compiled": autograd_lite_fused_compiled_lstm, "torch": torch_lstm}
# the rows a framework's run gives: (workload, maker)
VARIANTS = {"autograd_lite": [("W8 LSTM step", "autograd_lite"),
                              ("W8 LSTM step, fused=True", "autograd_lite_fused"),
                              ("W8 LSTM step, compiled", "autograd_lite_compiled"),
                              ("W8 LSTM step, fused=True, compiled",
                               "autograd_lite_fused_compiled")],
            "torch": [("W8 LSTM step", "torch")]}


def maker(name: str):
    """``step_memory.py``'s way in: the step of a framework (or variant) on the fixed data."""
    return MAKERS[name](*data())


def run(framework: str, quick: bool) -> list[dict]:
    """The W8 rows for one framework, the floor timed alongside in this process."""
    rows = []
    for workload, name in VARIANTS.get(framework, []):
        params, x, target = data()
        floor, ours = numpy_lstm(params, x, target), MAKERS[name](params, x, target)

        def check(ours=ours, floor=floor):
            # three steps' losses and gradients: the updates match too (a compiled step traces
            # on the first and replays the others)
            for i in (1, 2, 3):
                (loss, grads), (want_loss, want) = ours(), floor()
                assert_close(f"W8 loss at step {i}", np.float32(loss), np.float32(want_loss))
                for param, g, w in zip(NAMES, grads, want):
                    assert_close(f"W8 d loss/d {param} at step {i}", g, w)

        # full: 50 timed steps (10 rounds of 5, taking turns with the floor) after 5 warm-up
        rows.append(measure(workload, framework, "ms/step", 1e3, floor, ours, check,
                            rounds=2 if quick else 10, number=1 if quick else 5,
                            warmup=1 if quick else 5))
    return rows
