"""Run by tests/test_distributed.py under ``mpiexec -n 2``: every data-parallel check that needs
real ranks, in one launch (each launch costs seconds). Each rank writes what it saw to
``<out>/rank<r>.json``; the tests compare it with one process.

    mpiexec -n 2 python tests/mpi_scripts/ddp_worker.py OUT_DIR
    mpiexec -n 2 python tests/mpi_scripts/ddp_worker.py OUT_DIR --raise   # rank 1 fails
"""

import json
import os
import sys

import numpy as np

import autograd_lite as ag
import autograd_lite.distributed as dist
from autograd_lite import io, nn, optim
from autograd_lite.data import DataLoader, Subset, TensorDataset

# the training runs: samples, global batch, epochs (the last batch of 23 is 5: 3 + 2 samples)
N, BATCH, EPOCHS, SIZES = 23, 6, 3, (5, 8, 3)
BUCKET_CAPS = {"default": None, "per_parameter": 1e-6, "two_buckets": 200 / 2**20}
# the training runs: (bucket cap, whether fit compiles its step)
RUNS = {**{name: (cap, False) for name, cap in BUCKET_CAPS.items()},
        "two_buckets_compiled": (BUCKET_CAPS["two_buckets"], True)}


class CountingComm:
    """MPI.COMM_WORLD, counting the Allreduce calls made through it."""

    def __init__(self, comm):
        self.comm, self.allreduces = comm, 0

    def Allreduce(self, *args, **kwargs):  # noqa: N802 (mpi4py's name)
        self.allreduces += 1
        return self.comm.Allreduce(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.comm, name)


def data():
    """The classification data every run (and the tests' one-process reference) uses."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((N, SIZES[0])), rng.integers(0, SIZES[-1], N)


def mlp(seed):
    ag.manual_seed(seed)
    return nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.Tanh(),
                         nn.Linear(SIZES[1], SIZES[2])).double()


def shard(rank, world):
    """This rank's samples: its share ``batch[rank::world]`` of each global batch, in order."""
    return [i for start in range(0, N, BATCH) for i in range(start, min(start + BATCH, N))
            [rank::world]]


def train(comm, rank, world, cap, compile):
    """fit() on a DDP model, on this rank's shard (``compile``: each step through ag.compile);
    the Allreduce calls of each step."""
    model = dist.DistributedDataParallel(mlp(seed=rank), bucket_cap_mb=cap)  # rank 0's weights
    X, y = data()
    loader = DataLoader(Subset(TensorDataset(X, y), shard(rank, world)), batch_size=BATCH // world)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = comm.allreduces
    history = ag.fit(model, nn.CrossEntropyLoss(), optimizer, loader, epochs=EPOCHS,
                     progress=False, compile=compile)
    return {"params": {k: v.data.tolist() for k, v in model.module.state_dict().items()},
            "allreduces_per_step": (comm.allreduces - before) / len(history.batch_loss),
            "buckets": len(model._reducer.buckets),
            "keys": list(model.state_dict())}


def w2_allreduces(comm, world):
    """Allreduce calls per training step of the W2 MLP (784-256-128-10, float32)."""
    model = dist.DistributedDataParallel(nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(comm.Get_rank())
    x = ag.tensor(rng.standard_normal((128 // world, 784)).astype(np.float32))
    y = ag.tensor(rng.integers(0, 10, 128 // world))
    before, steps = comm.allreduces, 3
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return (comm.allreduces - before) / steps


def sampler_shards():
    """Each epoch's indices on this rank, for 12 and 11 samples, padded and drop_last."""
    shards = {}
    for n, drop_last in ((12, False), (11, False), (11, True)):
        sampler = dist.DistributedSampler(range(n), seed=3, drop_last=drop_last)
        epochs = []
        for epoch in range(3):
            sampler.set_epoch(epoch)
            epochs.append(list(sampler))
        shards[f"{n}/{drop_last}"] = {"epochs": epochs, "len": len(sampler)}
    return shards


def checkpoint(out, rank):
    """dist.save from every rank: which ranks wrote, and what every rank reads back after."""
    writes = []
    io_save = io.save
    io.save = lambda obj, path: (writes.append(path), io_save(obj, path))
    try:
        path = os.path.join(out, "checkpoint.npz")
        dist.save({"rank": np.array(rank), "w": np.full(3, float(rank))}, path)
    finally:
        io.save = io_save
    loaded = ag.load(path)
    return {"writes": len(writes), "loaded_rank": int(loaded["rank"])}


def buffers(rank):
    """BatchNorm's running mean, made different on each rank: after wrapping, and after a forward
    (eval mode, so the forward itself changes nothing) that followed another change."""
    bn = nn.BatchNorm1d(3)
    bn.running_mean.data[:] = rank
    model = dist.DistributedDataParallel(nn.Sequential(nn.Linear(3, 3), bn))
    wrapped = bn.running_mean.tolist()
    bn.running_mean.data[:] = 10 + rank
    model.eval()(ag.ones(2, 3))
    return {"after_wrapping": wrapped, "after_forward": bn.running_mean.tolist()}


class PartlyUsed(nn.Module):
    def __init__(self):
        super().__init__()
        self.used, self.unused = nn.Linear(2, 1), nn.Linear(2, 1)

    def forward(self, x):
        return self.used(x)


def unused_parameter_error():
    """The error a forward raises after a backward that left a parameter without gradient."""
    model = dist.DistributedDataParallel(PartlyUsed())
    x = ag.ones(4, 2)
    model(x).sum().backward()
    try:
        model(x)
    except RuntimeError as e:
        return str(e)
    return None


def main(out, fail):
    from mpi4py import MPI  # here: the tests import this file for its data, without MPI

    comm = CountingComm(MPI.COMM_WORLD)
    dist.init(comm)
    rank, world = dist.rank(), dist.world_size()
    if fail:
        if rank == 1:
            raise ValueError("rank 1 fails on purpose")
        comm.Barrier()  # rank 0 would wait here for ever, but for the abort
        print("rank 0 finished", flush=True)
        return
    result = {"world": world,
              "train": {name: train(comm, rank, world, *run) for name, run in RUNS.items()},
              "w2_allreduces_per_step": w2_allreduces(comm, world),
              "sampler": sampler_shards(),
              "checkpoint": checkpoint(out, rank),
              "buffers": buffers(rank),
              "unused_parameter_error": unused_parameter_error()}
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1], "--raise" in sys.argv[2:])
