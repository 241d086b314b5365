"""W4 deep graphs: W1's chain (add, mul, tanh, exp, cycling) on shape (1,), 10^4..10^6 ops
long; forward + backward seconds and peak memory.

Run by run.py in a fresh process per framework and length, so that the peak resident memory is
this framework's alone:

    .venv/bin/python benchmarks/w4_deep_chain.py FRAMEWORK OPS REPEATS

prints one line of JSON. The framework runs first and its peak is read before the floor runs
(the floor's time, measured next in this process, gives the ratio; its own memory comes from
the ``numpy`` run). A recursive backward (micrograd's) fails here with RecursionError, which is
reported, not hidden.
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


if __name__ == "__main__":
    answer(main(sys.argv[1], int(float(sys.argv[2])), int(sys.argv[3])))
