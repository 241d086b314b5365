"""W9 data-parallel training: samples per second of the W2 MLP step (784-256-128-10, global
batch 128, SGD) wrapped in ``DistributedDataParallel``, on 1 and 2 MPI ranks, and the scaling
efficiency (2-rank throughput over twice the 1-rank one).

Each rank runs one BLAS thread (OPENBLAS_NUM_THREADS=1, set here for every launch): with more,
2 ranks on a 2-core machine would fight over the cores and measure the oversubscription, not
the data parallelism. The row "1 rank, 2 BLAS threads" is the other way to spend the same two
cores, for comparison. The batch is the global one (strong scaling): 2 ranks take 64 samples
each and all-reduce the whole gradient (one 0.94 MB bucket) every step, so the share of the step
spent in Allreduce says what the communication costs.

    .venv/bin/python benchmarks/w9_distributed.py            # prints the rows and a table
    .venv/bin/python benchmarks/w9_distributed.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
from common import answer, progress, stats

BATCH = 128
# (ranks, BLAS threads per rank) for each row
LAUNCHES = [(1, 1), (2, 1), (1, 2)]


def worker(steps: int, rounds: int) -> None:
    """On each rank: time ``rounds`` blocks of ``steps`` W2 steps; rank 0 answers in JSON."""
    from mpi4py import MPI
    from w2_mlp import data

    import autograd_lite as ag
    import autograd_lite.distributed as dist
    from autograd_lite import nn, optim

    comm = _TimedComm(MPI.COMM_WORLD)
    dist.init(comm)
    rank, world = dist.rank(), dist.world_size()
    params, x, y = data()
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    model.load_state_dict(dict(zip(model.state_dict(), params)))
    ddp = dist.DistributedDataParallel(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(ddp.parameters(), lr=0.1)
    xb, yb = ag.tensor(x[rank::world]), ag.tensor(y[rank::world])  # this rank's half

    def step():
        optimizer.zero_grad()
        loss_fn(ddp(xb), yb).backward()
        optimizer.step()

    for _ in range(5):  # warm-up: first calls, caches
        step()
    rates, shares = [], []
    for _ in range(rounds):
        comm.Barrier()
        comm.seconds = 0.0
        start = time.perf_counter()
        for _ in range(steps):
            step()
        comm.Barrier()
        elapsed = time.perf_counter() - start
        rates.append(steps * BATCH / elapsed)
        shares.append(comm.seconds / elapsed)
    # the communication alone: the gradient's Allreduce with both ranks arriving together
    flat = np.zeros(sum(p.data.size for p in model.parameters()) + 1, np.float32)
    alone = []
    for _ in range(20):
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        alone.append(time.perf_counter() - start)
    if rank == 0:
        answer({"rates": rates, "allreduce_share": statistics.median(shares),
                "allreduce_ms": statistics.median(alone) * 1e3})


class _TimedComm:
    """MPI.COMM_WORLD, adding up the seconds spent in Allreduce."""

    def __init__(self, comm):
        self.comm, self.seconds = comm, 0.0

    def Allreduce(self, *args, **kwargs):  # noqa: N802 (mpi4py's name)
        start = time.perf_counter()
        self.comm.Allreduce(*args, **kwargs)
        self.seconds += time.perf_counter() - start

    def __getattr__(self, name):
        return getattr(self.comm, name)


def _launch(ranks: int, threads: int, steps: int, rounds: int) -> dict:
    """Run the worker under ``mpiexec -n ranks``; rank 0's JSON reply, or {"error": ...}."""
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or \
        shutil.which("mpiexec")
    if mpiexec is None:
        return {"error": "mpiexec not found (pip install mpi4py mpich)"}
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads)}
    cmd = [mpiexec, "-n", str(ranks), sys.executable, os.path.abspath(__file__), "--worker",
           str(steps), str(rounds)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 600 s"}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        return {"error": f"exit status {out.returncode}: {out.stderr.strip()[-300:]}"}
    return json.loads(lines[-1])


def run(quick: bool) -> list[dict]:
    """The W9 rows: samples/s for each (ranks, BLAS threads), the 2-rank row with its scaling
    efficiency over the 1-rank, 1-thread row."""
    steps, rounds = (5, 2) if quick else (20, 7)
    rows = []
    for ranks, threads in LAUNCHES:
        progress(f"  w9_distributed {ranks} rank(s), {threads} BLAS thread(s)")
        reply = _launch(ranks, threads, steps, rounds)
        row = {"workload": "W9 DDP W2 MLP", "framework": "autograd_lite", "ranks": ranks,
               "blas_threads": threads, "unit": "samples/s"}
        if "error" in reply:
            rows.append({**row, "check": "FAILED: " + reply["error"]})
            continue
        rows.append({**row, **stats(reply["rates"]), "allreduce_share": reply["allreduce_share"],
                     "allreduce_ms": reply["allreduce_ms"], "check": "ok"})
    base = next((r for r in rows if (r["ranks"], r["blas_threads"]) == (1, 1)
                 and r["check"] == "ok"), None)
    for r in rows:
        if base is not None and r["check"] == "ok" and r["blas_threads"] == 1:
            r["efficiency"] = r["median"] / (r["ranks"] * base["median"])
    return rows


def markdown(rows: list[dict]) -> list[str]:
    """The W9 section of RESULTS.md."""
    lines = ["", "## W9 data-parallel W2 MLP (DistributedDataParallel on MPI)", "",
             "Global batch 128 split over the ranks; medians of samples per second.", "",
             "| ranks | BLAS threads / rank | samples/s (min-max) | step time in Allreduce "
             "| one Allreduce alone | scaling efficiency |", "|" + " --- |" * 6]
    for r in rows:
        if r["check"] != "ok":
            lines.append(f"| {r['ranks']} | {r['blas_threads']} | {r['check']} | | | |")
            continue
        eff = f"{r['efficiency']:.0%}" if "efficiency" in r else ""
        lines.append(f"| {r['ranks']} | {r['blas_threads']} | {r['median']:,.0f} "
                     f"({r['min']:,.0f}-{r['max']:,.0f}) | {r['allreduce_share']:.1%} | "
                     f"{r['allreduce_ms']:.2f} ms | {eff} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, seconds")
    parser.add_argument("--worker", nargs=2, type=int, metavar=("STEPS", "ROUNDS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    rows = run(args.quick)
    print("\n".join(markdown(rows)))
    if any(r["check"] != "ok" for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
