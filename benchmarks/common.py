"""What every workload shares: the frameworks, interleaved timing, the gradient check, memory,
the environment record, and running a child process that answers in JSON.

Each workload module defines one small function per framework that builds the job and returns
a callable doing one timed unit of work (a chain, a training step, a fit). The numpy floor is
the same math with the backward written by hand: no graph, no Tensor objects.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

# The floor first, then ours, then the peers a user would pick instead (the `bench` extra).
FRAMEWORKS = ["numpy", "autograd_lite", "torch", "autograd", "mygrad", "micrograd"]
PEERS = ["torch", "autograd", "mygrad", "micrograd"]
LABELS = {"numpy": "numpy floor", "autograd": "HIPS autograd",
          "autograd_lite_compiled": "autograd_lite, compiled"}
# environment variables that decide how many threads the BLAS libraries use, and which kernel
THREAD_VARS = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]
BLAS_VARS = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]


def label(framework: str) -> str:
    return LABELS.get(framework, framework)


def installed(framework: str) -> bool:
    """Whether a framework can be imported, without importing it (torch takes seconds)."""
    return importlib.util.find_spec(framework) is not None


def version(framework: str) -> str:
    try:
        return importlib.metadata.version(framework)
    except importlib.metadata.PackageNotFoundError:
        return "?"


# ---------------------------------------------------------------------------------------------
# Timing


def interleaved(fns: dict, rounds: int, number: int) -> dict[str, list[float]]:
    """Seconds per call of each callable, one value per round (the mean of ``number`` calls).

    The callables take turns round by round, so that noise on a shared machine (another
    tenant, a frequency change) falls on the floor and the framework alike and their ratio
    stays fair. The garbage collector stays on, as in a user's program (micrograd's graphs
    are reference cycles that only it frees), but a collection runs before each block so one
    framework's garbage is not collected on another's time.
    """
    import gc

    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - start) / number)
    return times


def stats(values: list[float], scale: float = 1.0) -> dict:
    return {"median": statistics.median(values) * scale, "min": min(values) * scale,
            "max": max(values) * scale, "runs": len(values)}


def measure(workload: str, framework: str, unit: str, scale: float, floor, ours, check,
            rounds: int, number: int, warmup: int = 1) -> dict:
    """Run ``check`` (it compares ``ours`` with ``floor``, raising on a mismatch), then time
    both side by side. Returns a row: median/min/max of ours, the floor's median, their ratio;
    or, when the check failed, why, and no times."""
    row = {"workload": workload, "framework": framework, "unit": unit}
    try:
        check()
    except Exception as e:  # a wrong gradient, or a peer whose API changed: say which, go on
        what = "" if isinstance(e, AssertionError) else f"{type(e).__name__}: "
        return {**row, "check": "FAILED: " + what + " ".join(str(e).split())[:300]}
    interleaved({"floor": floor, "ours": ours}, 1, warmup)  # caches, lazy imports, first calls
    times = interleaved({"floor": floor, "ours": ours}, rounds, number)
    mine, base = stats(times["ours"], scale), stats(times["floor"], scale)
    return {**row, **mine, "floor": base["median"], "ratio": mine["median"] / base["median"],
            "check": "ok"}


# ---------------------------------------------------------------------------------------------
# Gradient check against the floor


def assert_close(name: str, got, want, rtol: float = 1e-3) -> None:
    """float32 values within rtol of the floor's; absolute slack scaled to the array's size,
    since two BLAS libraries sum in different orders. Raises AssertionError naming ``name``."""
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype != want.dtype:
        raise AssertionError(f"{name}: dtype {got.dtype}, the floor's is {want.dtype}")
    if got.shape != want.shape:
        raise AssertionError(f"{name}: shape {got.shape}, the floor's is {want.shape}")
    atol = rtol * float(np.max(np.abs(want), initial=0.0)) + 1e-7
    try:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    except AssertionError as e:  # numpy's "Mismatched elements ... Max relative difference"
        detail = "; ".join(line.strip() for line in str(e).splitlines()
                           if line.strip().startswith(("Mismatched", "Max")))
        raise AssertionError(f"{name} differs from the floor: {detail}") from None


# ---------------------------------------------------------------------------------------------
# Memory


def current_rss_mib() -> float:
    """Resident memory now (Linux /proc; elsewhere the peak, which can only grow)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return peak_rss_mib()


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# The environment: versions, threads, which BLAS kernel numpy runs


def environment() -> dict:
    """Versions, thread-related environment variables and the thread pools loaded in this
    process (threadpoolctl: which BLAS numpy uses, its kernel and its threads)."""
    env = {
        "python": platform.python_version(), "machine": platform.machine(),
        "cpu": _cpu_name(), "cores": os.cpu_count(), "numpy": np.__version__,
        "vars": {k: os.environ.get(k) for k in THREAD_VARS + BLAS_VARS},
        "pools": [],
    }
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        env["pools"] = None  # the note says so; threadpoolctl is in the bench extra
    else:
        for pool in threadpool_info():
            env["pools"].append({k: pool.get(k) for k in (
                "internal_api", "version", "num_threads", "threading_layer", "architecture")}
                | {"library": _last_two(pool.get("filepath") or "")})
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
        env["torch"] = {"intra_op_threads": torch.get_num_threads(),
                        "interop_threads": torch.get_num_interop_threads(),
                        "blas": blas.group(1) if blas else "?"}
    return env


def _last_two(path: str) -> str:
    """``numpy.libs/libscipy_openblas64_.so``: the folder says which package shipped it."""
    return os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# ---------------------------------------------------------------------------------------------
# Child processes: each framework runs in its own, which answers with one line of JSON


def child(script: str, *args, timeout: float = 900) -> dict:
    """Run ``benchmarks/<script> args`` in a fresh interpreter; its last stdout line is JSON.
    Progress it prints to stderr passes through. A crash returns {"error": ...}."""
    here = os.path.dirname(os.path.abspath(__file__))
    cmd = [sys.executable, os.path.join(here, script), *map(str, args)]
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        return {"error": f"exit status {out.returncode}: " + " | ".join(lines[-3:])}
    return json.loads(lines[-1])


def answer(result) -> None:
    """A child's reply: one line of JSON on stdout (numpy numbers made plain)."""
    print(json.dumps(result, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
