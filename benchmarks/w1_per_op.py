"""W1 per-op overhead: a chain of 200 small ops cycling add, mul by a scalar, tanh, exp on shape
(1,) and (64,), forward + backward; microseconds per op. On arrays this small the arithmetic is
nearly free, so what is measured is each framework's bookkeeping per op.

The chain functions take the length as an argument: W4 (deep graphs) runs the same chains with
10^4..10^6 ops. Each ``<framework>_chain()`` imports its framework and returns ``chain(x0, n)``,
which builds the chain from a fresh leaf and returns d(sum of the output)/dx as numpy.

``autograd_lite_compiled_chain()`` is ours through ``ag.compile``: the whole chain, forward and
backward, one compiled function (traced on its first call, replayed after), timed on replays.

Also here: what anomaly mode costs autograd_lite per op.
"""

from __future__ import annotations

import math
import time

import numpy as np
from common import assert_close, interleaved, measure, stats

CHAIN = 200
ONE, HALF = np.float32(1.0), np.float32(0.5)  # numpy float32 scalars: no upcast anywhere


def numpy_forward(x0, n):
    """The floor's forward: the chain's output, and what its backward reads (the outputs of
    tanh and exp, as a graph would keep them)."""
    y, saved = x0, [None] * n
    for i in range(n):
        k = i % 4
        if k == 0:
            y = y + ONE
        elif k == 1:
            y = y * HALF
        elif k == 2:
            y = saved[i] = np.tanh(y)
        else:
            y = saved[i] = np.exp(y)
    return y, saved


def numpy_backward(y, saved):
    """The floor's backward, written by hand: d(sum of y)/dx from what the forward saved."""
    g = np.ones_like(y)
    for i in reversed(range(len(saved))):
        k = i % 4
        if k == 1:
            g = g * HALF
        elif k == 2:
            g = g * (1 - saved[i] * saved[i])
        elif k == 3:
            g = g * saved[i]
    return g


def numpy_chain():
    """The floor: the same forward, then the backward by hand."""
    return lambda x0, n: numpy_backward(*numpy_forward(x0, n))


def autograd_lite_chain():
    import autograd_lite as ag

    def chain(x0, n):
        x = ag.tensor(x0, requires_grad=True)
        y = x
        for i in range(n):
            k = i % 4
            y = y + 1.0 if k == 0 else y * 0.5 if k == 1 else ag.tanh(y) if k == 2 else ag.exp(y)
        y.sum().backward()
        return x.grad.data

    return chain


def autograd_lite_compiled_chain():
    """Ours, compiled: ``ag.compile`` of a function running the chain forward and backward from
    a leaf, one compiled function per shape and length (the first call traces it; later calls
    replay it). The leaf is made once and held by the function, as a model holds its parameters
    (a compiled step refuses an argument that requires grad, and converting an input inside it);
    new values of x0 are copied into the leaf's array in place. ``.grad`` is reset to None
    before each call, as a fresh leaf's is; the function returns the loss (a Tensor) and the
    gradient is read from ``.grad`` after the call. A CompileError raised while tracing
    propagates (the gradient check records it)."""
    import autograd_lite as ag

    made = {}  # (shape, dtype, n) -> [the array last copied in, the leaf, the compiled function]

    def chain(x0, n):
        key = (x0.shape, x0.dtype, n)
        if key not in made:
            x = ag.tensor(x0, requires_grad=True)

            def forward_backward():
                y = x
                for i in range(n):
                    k = i % 4
                    y = y + 1.0 if k == 0 else y * 0.5 if k == 1 else ag.tanh(y) if k == 2 \
                        else ag.exp(y)
                loss = y.sum()
                loss.backward()
                return loss

            made[key] = [x0, x, ag.compile(forward_backward)]
        entry = made[key]
        x = entry[1]
        if entry[0] is not x0:  # new values, same leaf: the program reads its array
            np.copyto(x.data, x0)
            entry[0] = x0
        x.grad = None
        entry[2]()
        return x.grad.data

    return chain


def torch_chain():
    import torch

    def chain(x0, n):
        x = torch.from_numpy(x0).requires_grad_()
        y = x
        for i in range(n):
            k = i % 4
            y = y + 1.0 if k == 0 else y * 0.5 if k == 1 else torch.tanh(y) if k == 2 \
                else torch.exp(y)
        y.sum().backward()
        return x.grad.numpy()

    return chain


def autograd_chain():
    """HIPS autograd: differentiate a plain function; the chain is traced on every call."""
    import autograd.numpy as anp
    from autograd import grad

    def f(x, n):
        y = x
        for i in range(n):
            k = i % 4
            y = y + 1.0 if k == 0 else y * 0.5 if k == 1 else anp.tanh(y) if k == 2 \
                else anp.exp(y)
        return anp.sum(y)

    df = grad(f)
    return lambda x0, n: df(x0, n)


def mygrad_chain():
    import mygrad as mg

    def chain(x0, n):
        x = mg.tensor(x0)
        y = x
        for i in range(n):
            k = i % 4
            # numpy float32 constants: mygrad turns a Python float into a float64 array
            y = y + ONE if k == 0 else y * HALF if k == 1 else mg.tanh(y) if k == 2 \
                else mg.exp(y)
        mg.sum(y).backward()
        return x.grad

    return chain


def micrograd_chain():
    """micrograd works on Python floats, so only the (1,) case. The PyPI release (0.1.0) has
    neither tanh nor exp; they are added in micrograd's own style, as in its lecture version."""
    from micrograd.engine import Value

    if not hasattr(Value, "tanh"):
        def tanh(self):
            t = math.tanh(self.data)
            out = Value(t, (self,), "tanh")

            def _backward():
                self.grad += (1 - t * t) * out.grad
            out._backward = _backward
            return out

        def exp(self):
            e = math.exp(self.data)
            out = Value(e, (self,), "exp")

            def _backward():
                self.grad += e * out.grad
            out._backward = _backward
            return out

        Value.tanh, Value.exp = tanh, exp

    def chain(x0, n):
        x = Value(float(x0[0]))
        y = x
        for i in range(n):
            k = i % 4
            y = y + 1.0 if k == 0 else y * 0.5 if k == 1 else y.tanh() if k == 2 else y.exp()
        y.backward()
        return np.array([x.grad], np.float32)

    return chain


CHAINS = {"numpy": numpy_chain, "autograd_lite": autograd_lite_chain,
          "autograd_lite_compiled": autograd_lite_compiled_chain, "torch": torch_chain,
          "autograd": autograd_chain, "mygrad": mygrad_chain, "micrograd": micrograd_chain}
# the rows a framework's run gives: (suffix of the workload's name, chain); ours twice
VARIANTS = {"autograd_lite": [("", "autograd_lite"), (", compiled", "autograd_lite_compiled")]}


def data(shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def run(framework: str, quick: bool) -> list[dict]:
    """W1 rows for one framework (ours: eager, then compiled), the floor timed alongside in
    this process. A compiled chain is traced by the check's call, so it is timed on replays."""
    floor = numpy_chain()
    shapes = [(1,)] if framework == "micrograd" else [(1,), (64,)]
    rows = []
    for suffix, name in VARIANTS.get(framework, [("", framework)]):
        ours = CHAINS[name]()
        for shape in shapes:
            x0 = data(shape)

            def check(x0=x0, shape=shape, ours=ours):
                # twice: a compiled chain traces on the first call and replays on the second
                for _ in range(2):
                    assert_close(f"W1 {shape} d/dx", ours(x0, CHAIN), floor(x0, CHAIN))

            rows.append(measure(f"W1 {shape}{suffix}", framework, "µs/op", 1e6 / CHAIN,
                                lambda x0=x0: floor(x0, CHAIN),
                                lambda x0=x0, ours=ours: ours(x0, CHAIN), check,
                                rounds=3 if quick else 15, number=2 if quick else 20))
    return rows


def _split_timings(rounds: int, number: int) -> dict[str, float]:
    """W1 (64,) taken apart, µs per op: the floor's forward and backward alone, and ours:
    forward under ``no_grad`` (dispatch and Tensor objects only), forward recording the graph,
    and backward alone (graphs built beforehand, outside the timing)."""
    import gc

    import autograd_lite as ag

    x0 = data((64,))
    x = ag.tensor(x0, requires_grad=True)

    def forward(y, n=CHAIN):
        for i in range(n):
            k = i % 4
            y = y + 1.0 if k == 0 else y * 0.5 if k == 1 else ag.tanh(y) if k == 2 else ag.exp(y)
        return y

    y, saved = numpy_forward(x0, CHAIN)

    def no_grad_forward():
        with ag.no_grad():
            forward(x)

    times = {"numpy forward": [], "numpy backward": [], "forward, no_grad": [],
             "forward, recording": [], "backward": []}
    for _ in range(rounds):
        for name, fn in [("numpy forward", lambda: numpy_forward(x0, CHAIN)),
                         ("numpy backward", lambda: numpy_backward(y, saved)),
                         ("forward, no_grad", no_grad_forward),
                         ("forward, recording", lambda: forward(x))]:
            gc.collect()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - start) / number)
        losses = [forward(x).sum() for _ in range(number)]
        gc.collect()
        start = time.perf_counter()
        for loss in losses:
            loss.backward()
        times["backward"].append((time.perf_counter() - start) / number)
    return {name: stats(t, 1e6 / CHAIN)["median"] for name, t in times.items()}


def diagnostics(quick: bool) -> list[dict]:
    """Where autograd_lite's time per W1 (64,) op goes (each part against the numpy floor's
    share), and what anomaly mode costs: the flag test every op pays while it is off (the
    default), and for contrast W1 with it on. The flag test reads the engine's
    ``anomaly_enabled``; if the engine no longer has that name, the row says so."""
    import autograd_lite as ag
    from autograd_lite import engine

    chain, x0 = autograd_lite_chain(), data((64,))

    def anomaly_on():
        with ag.detect_anomaly():
            chain(x0, CHAIN)

    rounds, number = (3, 2) if quick else (15, 20)
    times = interleaved({"off": lambda: chain(x0, CHAIN), "on": anomaly_on}, rounds, number)
    off, on = (stats(times[k], 1e6 / CHAIN)["median"] for k in ("off", "on"))
    split = _split_timings(rounds, number)
    rows = [{"what": "W1 (64,) forward + backward, anomaly mode off (the default)",
             "us_per_op": off},
            {"what": "numpy floor: forward", "us_per_op": split["numpy forward"]},
            {"what": "numpy floor: backward", "us_per_op": split["numpy backward"]},
            {"what": "forward under no_grad (numpy's forward, dispatch, the Tensor)",
             "us_per_op": split["forward, no_grad"]},
            {"what": "recording the graph (forward recording less forward under no_grad)",
             "us_per_op": split["forward, recording"] - split["forward, no_grad"]},
            {"what": "backward (numpy's backward, the walk, the rules' calls)",
             "us_per_op": split["backward"]}]
    n = 20_000 if quick else 200_000
    if hasattr(engine, "anomaly_enabled"):
        start = time.perf_counter()
        for _ in range(n):
            if engine.anomaly_enabled:
                pass
        rows.append({"what": "anomaly flag test per op (off)",
                     "us_per_op": (time.perf_counter() - start) / n * 1e6})
    else:
        rows.append({"what": "anomaly flag test per op (off)", "missing": "engine.anomaly_enabled"})
    rows.append({"what": "W1 (64,) anomaly mode on", "us_per_op": on})
    for row in rows:
        if "us_per_op" in row:
            row["share"] = row["us_per_op"] / off
    return rows
