"""W6 graph drawing: DOT source (values and gradients included) for a graph of 10,000 ops,
autograd_lite only: no peer draws graphs the same way, so there is no floor, only seconds.
"""

from __future__ import annotations

import time

import numpy as np
from common import stats

OPS = 10_000


def run(quick: bool) -> list[dict]:
    import autograd_lite as ag
    from autograd_lite import viz

    n = 1_000 if quick else OPS
    x = ag.tensor(np.ones(4, np.float32), requires_grad=True)
    y = x
    for i in range(n):
        y = ag.tanh(y) if i % 2 else y * 0.5
    times = []
    for _ in range(1 if quick else 5):
        start = time.perf_counter()
        source = viz.draw_graph(y, max_nodes=None).source
        times.append(time.perf_counter() - start)
    check = "ok" if source.count('shape="ellipse"') == n else "FAILED: not one ellipse per op"
    return [{"workload": f"W6 DOT source, {n:,}-op graph", "framework": "autograd_lite",
             "unit": "s", **stats(times), "check": check}]
