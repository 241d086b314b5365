"""W7/W8 memory: how much memory one training step takes on top of what stays between steps,
per framework, in a fresh process (run by run.py):

    .venv/bin/python benchmarks/step_memory.py MODULE MAKER STEPS    # e.g. w7_cnn torch 3

prints one line of JSON. The method, the same for every framework:
- build the step (``MODULE.maker(MAKER)``), run one warm-up step, collect garbage and give the
  heap's free memory back to the system (glibc's ``malloc_trim``), then read the resident
  memory: the baseline (the interpreter, the imports, the data, the weights, the gradients);
- reset the kernel's record of the peak (``/proc/self/clear_refs``, Linux) and run STEPS
  steps: the step's memory is that peak (VmHWM) less the baseline. Where the peak cannot be
  reset, the process's peak since it started is used, and ``method`` says so.
- for the numpy-based frameworks also tracemalloc's count over one step (numpy reports its
  buffers to it): the peak of the bytes allocated less those held before the step. torch's
  allocations are invisible to tracemalloc, so only the resident figure compares all three.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import sys
import tracemalloc

from common import answer, current_rss_mib, peak_rss_mib


def _trim() -> None:
    """Return free heap memory to the system, so the baseline is what is really held."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak resident memory, to the current value
        return True
    except OSError:
        return False


def _hwm_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise OSError("no VmHWM in /proc/self/status")


def main(module: str, maker: str, steps: int) -> dict:
    step = importlib.import_module(module).maker(maker)
    step()  # first calls, caches, lazy imports; the gradient buffers exist from here on
    gc.collect()
    _trim()
    baseline = current_rss_mib()
    reset = _reset_peak()
    for _ in range(steps):
        step()
    if reset:
        peak, method = _hwm_mib(), "RSS: peak (VmHWM, reset after warm-up) - RSS after warm-up"
    else:
        peak, method = peak_rss_mib(), "RSS: process peak (could not reset) - RSS after warm-up"
    result = {"module": module, "maker": maker, "steps": steps, "baseline_mib": baseline,
              "peak_mib": peak, "step_mib": peak - baseline, "method": method}
    if "torch" not in maker:
        tracemalloc.start()
        step()  # the first traced step: what it leaves behind is now traced, too
        gc.collect()
        tracemalloc.reset_peak()
        held = tracemalloc.get_traced_memory()[0]
        step()
        result["tracemalloc_mib"] = (tracemalloc.get_traced_memory()[1] - held) / 2**20
        tracemalloc.stop()
    return result


if __name__ == "__main__":
    answer(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
