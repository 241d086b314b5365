"""W5 memory: resident memory over 1,000 W2 training steps (autograd_lite). After warm-up it
must stay flat: a graph, a saved array or a gradient buffer that outlives its step would show
as growth here, long before it shows as slowness.

Run by run.py in a fresh process, so the peak is this loop's alone:

    .venv/bin/python benchmarks/w5_memory.py STEPS

prints one line of JSON: resident memory every STEPS/10 steps, and the peak.
"""

from __future__ import annotations

import gc
import sys

from common import answer, current_rss_mib, peak_rss_mib
from w2_mlp import autograd_lite_mlp, data


def main(steps: int) -> dict:
    step = autograd_lite_mlp(*data())
    every = max(1, steps // 10)
    rss = {}
    for i in range(1, steps + 1):
        step()
        if i % every == 0:
            # collect first: only memory that something still holds counts as growth
            gc.collect()
            rss[i] = current_rss_mib()
    # growth is measured from the first sample (after 10% of the steps: the warm-up)
    first, last = min(rss), max(rss)
    return {"steps": steps, "rss": rss, "warmup_step": first, "growth_mib": rss[last] - rss[first],
            "peak_mib": peak_rss_mib()}


if __name__ == "__main__":
    answer(main(int(sys.argv[1])))
