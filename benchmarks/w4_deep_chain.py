"""W4 deep graphs: W1's chain (add, mul, tanh, exp, cycling) on shape (1,), 10^4..10^6 ops
long; forward + backward seconds and peak memory.

Run by run.py in a fresh process per framework and length, so that the peak resident memory is
this framework's alone:

    .venv/bin/python benchmarks/w4_deep_chain.py FRAMEWORK OPS REPEATS

prints one line of JSON. The framework runs first and its peak is read before the floor runs
(the floor's time, measured next in this process, gives the ratio; its own memory comes from
the ``numpy`` run). A recursive backward (micrograd's) fails here with RecursionError, which is
reported, not hidden.

``autograd_lite_compiled`` is ours through ``ag.compile`` (W1's compiled chain): the first call
traces the chain (running it eagerly, recording it) and builds the program, the second is the
first replay; the times are then those of further replays. Next, in the same process, one
eager step (ours, not compiled: what tracing is compared with) and the floor.
"""

from __future__ import annotations

import gc
import sys
import time

from common import answer, assert_close, current_rss_mib, peak_rss_mib
from w1_per_op import CHAINS, data


def timed(chain, x0, n, repeats):
    times, out = [], None
    for _ in range(repeats):
        out = None  # the previous run's result goes before the next run starts
        gc.collect()
        start = time.perf_counter()
        out = chain(x0, n)
        times.append(time.perf_counter() - start)
    return times, out


def main(framework: str, n: int, repeats: int) -> dict:
    x0 = data((1,))
    chain = CHAINS[framework]()
    chain(x0, 8)  # import-time work and first-call caches, out of the baseline and the timing
    gc.collect()
    baseline = current_rss_mib()
    result = {"framework": framework, "ops": n, "baseline_mib": baseline}
    try:
        times, grad = timed(chain, x0, n, repeats)
    except RecursionError as e:
        return {**result, "error": f"RecursionError ({e})"}
    result.update(times=times, peak_mib=peak_rss_mib())
    if framework != "numpy":
        del chain
        gc.collect()
        # the floor is cheap: at least 3 runs, so one noisy second does not skew the ratio
        floor_times, want = timed(CHAINS["numpy"](), x0, n, max(repeats, 3))
        try:
            assert_close(f"W4 {n} ops d/dx", grad, want)
            result["check"] = "ok"
        except AssertionError as e:
            result["check"] = "FAILED: " + " ".join(str(e).split())[:300]
        result["floor"] = floor_times
    return result


def main_compiled(n: int, repeats: int) -> dict:
    """Ours compiled: tracing and the first replay timed once each, then ``repeats`` replays;
    the peak is read after them. Then ``repeats`` eager steps and the floor, for the ratios."""
    x0 = data((1,))
    CHAINS["autograd_lite"]()(x0, 8)  # the imports and first-call caches, out of the baseline
    gc.collect()
    baseline = current_rss_mib()
    result = {"framework": "autograd_lite_compiled", "ops": n, "baseline_mib": baseline}
    chain = CHAINS["autograd_lite_compiled"]()
    start = time.perf_counter()
    try:
        chain(x0, n)  # traces
    except Exception as e:  # a CompileError (or a RecursionError in the program's build)
        return {**result, "error": f"{type(e).__name__}: " + " ".join(str(e).split())[:300]}
    result["trace_s"] = time.perf_counter() - start
    start = time.perf_counter()
    chain(x0, n)
    result["first_replay_s"] = time.perf_counter() - start
    times, grad = timed(chain, x0, n, repeats)
    result.update(times=times, peak_mib=peak_rss_mib())
    del chain
    gc.collect()
    result["eager"] = timed(CHAINS["autograd_lite"](), x0, n, repeats)[0]
    floor_times, want = timed(CHAINS["numpy"](), x0, n, max(repeats, 3))
    try:
        assert_close(f"W4 {n} ops d/dx, compiled", grad, want)
        result["check"] = "ok"
    except AssertionError as e:
        result["check"] = "FAILED: " + " ".join(str(e).split())[:300]
    result["floor"] = floor_times
    return result


if __name__ == "__main__":
    framework, ops, repeats = sys.argv[1], int(float(sys.argv[2])), int(sys.argv[3])
    answer(main_compiled(ops, repeats) if framework == "autograd_lite_compiled"
           else main(framework, ops, repeats))
