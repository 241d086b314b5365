"""W7 CNN training step: a batch of 64 1x28x28 images (fixed random data, float32), conv 3x3
1->16 (no padding), ReLU, max-pool 2, conv 3x3 16->32, ReLU, max-pool 2, flatten, linear
32*5*5 -> 10, cross-entropy on integer labels, SGD lr 0.01; milliseconds per forward +
backward + update.

The floor is the same step written out by hand and vectorised: im2col by
``sliding_window_view`` and one matrix product per convolution (forward, weight gradient and
input gradient each), col2im for the input gradient by a loop over the 9 kernel positions only,
max-pool by a reshape (its stride equals its kernel). The first convolution's input is data,
so nobody computes a gradient for it. Every framework starts from the same weights (PyTorch's
layout and init, U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and trains on the same batch.
Each ``<framework>_cnn(params, x, y)`` returns ``step()``, which trains one step and returns the
loss (a float) and the gradients of that step (numpy, in ``params`` order).
"""

from __future__ import annotations

import numpy as np
from common import assert_close, measure
from numpy.lib.stride_tricks import sliding_window_view

BATCH, LR, K = 64, 0.01, 3
NAMES = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"]


def data(seed: int = 0):
    """A fixed batch and initial weights [conv1 w, b, conv2 w, b, fc w, b], all float32."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    params = []
    for shape in [(16, 1, K, K), (32, 16, K, K), (10, 32 * 5 * 5)]:
        bound = 1 / np.sqrt(np.prod(shape[1:]))
        params.append(rng.uniform(-bound, bound, shape).astype(np.float32))
        params.append(rng.uniform(-bound, bound, shape[0]).astype(np.float32))
    return params, x, y


def _im2col(x):
    """(N, H, W, C) -> (N*Ho*Wo, C*K*K), columns in PyTorch's weight order (C, kh, kw)."""
    n, h, w, c = x.shape
    windows = sliding_window_view(x, (K, K), axis=(1, 2))  # (N, Ho, Wo, C, K, K), a view
    ho, wo = h - K + 1, w - K + 1
    return windows.reshape(n * ho * wo, c * K * K), (n, ho, wo)  # the copy


def _conv(x, w, b):
    """Valid 3x3 convolution, stride 1, channels last: (N, Ho, Wo, O) and the columns."""
    cols, (n, ho, wo) = _im2col(x)
    out = cols @ w.reshape(len(w), -1).T + b  # (N*Ho*Wo, O)
    return out.reshape(n, ho, wo, -1), cols


def _conv_backward(g, cols, w, x_shape=None):
    """Gradients of a convolution from d out (N, Ho, Wo, O): weight, bias and, when
    ``x_shape`` is given, the input (col2im: one strided add per kernel position)."""
    n, ho, wo, o = g.shape
    gm = g.reshape(-1, o)  # (N*Ho*Wo, O)
    gw = (gm.T @ cols).reshape(w.shape)
    gb = gm.sum(axis=0)
    if x_shape is None:
        return gw, gb, None
    # d cols with the channels last, (N, Ho, Wo, K, K, C), so that each add reads runs of C
    c = x_shape[3]
    gcols = (gm @ w.transpose(0, 2, 3, 1).reshape(o, -1)).reshape(n, ho, wo, K, K, c)
    gx = np.zeros(x_shape, dtype=g.dtype)
    for i in range(K):
        for j in range(K):
            gx[:, i:i + ho, j:j + wo, :] += gcols[:, :, :, i, j]
    return gw, gb, gx


def _relu_pool(h):
    """ReLU then 2x2 max-pool, stride 2, odd edges dropped as PyTorch does; channels last.
    Returns the output and the mask of where each window's gradient goes (its max, if > 0)."""
    n, hh, ww, c = h.shape
    h2, w2 = hh // 2, ww // 2
    windows = h[:, :2 * h2, :2 * w2].reshape(n, h2, 2, w2, 2, c)
    out = np.maximum(windows.max(axis=(2, 4)), 0)
    # ties inside a window (ReLU's zeros) send the gradient nowhere, the mask being 0 where
    # h <= 0; positive ties do not happen with these random floats (PyTorch picks the first)
    return out, (windows == out[:, :, None, :, None]) & (windows > 0)


def _relu_pool_backward(g, mask, shape):
    n, hh, ww, c = shape
    h2, w2 = hh // 2, ww // 2
    gh = (mask * g[:, :, None, :, None]).reshape(n, 2 * h2, 2 * w2, c)
    if (2 * h2, 2 * w2) == (hh, ww):
        return gh
    out = np.zeros(shape, dtype=g.dtype)
    out[:, :2 * h2, :2 * w2] = gh
    return out


def numpy_cnn(params, x, y):
    """The floor: forward, the backward written out layer by layer, SGD in place. It computes
    channels last (N, H, W, C), so that im2col is one copy of a window view and the pools run
    over contiguous channels; the flatten goes back to PyTorch's (C, H, W) order."""
    params = [p.copy() for p in params]
    x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # the data, once: C is 1
    n = len(y)
    rows = np.arange(n)

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h1, cols1 = _conv(x, w1, b1)
        p1, mask1 = _relu_pool(h1)
        h2, cols2 = _conv(p1, w2, b2)
        p2, mask2 = _relu_pool(h2)
        flat = p2.transpose(0, 3, 1, 2).reshape(n, -1)
        logits = flat @ w3.T + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = np.log(total[:, 0]).mean() - shifted[rows, y].mean()
        g = e / total
        g[rows, y] -= 1
        g /= n
        gw3, gb3 = g.T @ flat, g.sum(axis=0)
        g = (g @ w3).reshape(n, *p2.shape[3:], *p2.shape[1:3]).transpose(0, 2, 3, 1)
        g = _relu_pool_backward(g, mask2, h2.shape)
        gw2, gb2, g = _conv_backward(g, cols2, w2, p1.shape)
        g = _relu_pool_backward(g, mask1, h1.shape)
        gw1, gb1, _ = _conv_backward(g, cols1, w1)
        grads = [gw1, gb1, gw2, gb2, gw3, gb3]
        for p, gp in zip(params, grads):
            p -= LR * gp
        return float(loss), grads

    return step


def autograd_lite_cnn(params, x, y):
    import autograd_lite as ag
    from autograd_lite import nn, optim

    model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 5 * 5, 10))
    model.load_state_dict(dict(zip(model.state_dict(), params)))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=LR)
    xt, yt = ag.tensor(x), ag.tensor(y)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        optimizer.step()
        return loss.item(), [p.grad.data for p in model.parameters()]

    return step


def torch_cnn(params, x, y):
    import torch
    from torch import nn

    model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 5 * 5, 10))
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


MAKERS = {"numpy": numpy_cnn, "autograd_lite": autograd_lite_cnn, "torch": torch_cnn}


def maker(name: str):
    """``step_memory.py``'s way in: the step of a framework (or variant) on the fixed data."""
    return MAKERS[name](*data())


def run(framework: str, quick: bool) -> list[dict]:
    """The W7 row for one framework, the floor timed alongside in this process."""
    if framework not in MAKERS:
        return []
    params, x, y = data()
    floor, ours = numpy_cnn(params, x, y), MAKERS[framework](params, x, y)

    def check():
        # the first step's loss and gradients, then two more steps: the updates match too
        (loss, grads), (want_loss, want) = ours(), floor()
        assert_close("W7 loss", np.float32(loss), np.float32(want_loss))
        for name, g, w in zip(NAMES, grads, want):
            assert_close(f"W7 d loss/d {name}", g, w)
        for i in (2, 3):
            assert_close(f"W7 loss after step {i}", np.float32(ours()[0]),
                         np.float32(floor()[0]))

    # full: 50 timed steps (10 rounds of 5, taking turns with the floor) after 5 warm-up steps
    return [measure("W7 CNN step", framework, "ms/step", 1e3, floor, ours, check,
                    rounds=2 if quick else 10, number=1 if quick else 5,
                    warmup=1 if quick else 5)]
