"""Data-parallel training on MPI (mpi4py): one process per rank, each on its shard of the data.

A training script runs unchanged under ``mpiexec -n 4 python train.py`` once it wraps its model
and shards its data::

    import autograd_lite.distributed as dist

    dist.init()                                    # MPI.COMM_WORLD; an uncaught error aborts all
    model = dist.DistributedDataParallel(model)    # rank 0's parameters, on every rank
    sampler = dist.DistributedSampler(dataset)     # this rank's share of the samples
    loader = DataLoader(dataset, batch_size=B // dist.world_size(), sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                   # a new shuffle, the same on every rank
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()        # gradients averaged across ranks here
            optimizer.step()
    dist.save(model.module.state_dict(), "model.npz")   # written by rank 0 only

How the gradients are averaged, as PyTorch's DistributedDataParallel does:

* each parameter has a ``register_post_accumulate_grad_hook``: when backward has added its
  gradient into ``.grad``, the parameter is ready. Parameters are grouped, last first, into
  buckets of about ``bucket_cap_mb`` MiB; once all of a bucket's are ready, their gradients are
  flattened into one buffer, summed over the ranks by one ``Allreduce``, and copied back. The
  buckets go in the same order on every rank, so the collectives always match.
* One difference: each rank's gradient is weighted by its batch size (the length of the first
  argument of the forward), which the first bucket carries in its last element. With a mean
  loss this is the gradient of the global batch even when the ranks' batches differ (a last
  batch of 5 split 3 + 2); PyTorch divides by the number of ranks, the same when they are equal.
* Every rank runs every step, and every parameter that requires grad gets a gradient in each
  backward (else the next forward raises; there is no ``find_unused_parameters``).
  ``ag.compile`` (and ``fit(compile=True)``) replays a DDP step bit for bit: the wrapper's
  preparation and each gradient's hook (which all-reduces the buckets) are recorded as calls.

Only mpi4py's buffer methods (``Bcast``, ``Allreduce``) move arrays: no pickling. ``init()``
makes an uncaught exception on any rank abort them all, so a failed rank never leaves the others
waiting in a collective.
"""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np

from . import io
from ._tensor import Tensor
from .grad_mode import is_grad_enabled
from .nn.module import Module

__all__ = ["init", "is_initialized", "rank", "world_size", "save", "DistributedDataParallel",
           "DistributedSampler"]

_comm = None  # the communicator init() chose


def init(comm=None) -> None:
    """Train on ``comm`` (default ``mpi4py.MPI.COMM_WORLD``). An uncaught exception then prints
    its traceback and exits through ``MPI_Abort``, ending every rank (as ``python -m mpi4py``)."""
    global _comm
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"autograd_lite.distributed.init: mpi4py is not installed ({e}); "
                          "pip install 'autograd_lite[distributed]' (mpi4py and MPICH), or "
                          "mpi4py built against your system's MPI") from e
    _comm = MPI.COMM_WORLD if comm is None else comm
    if not getattr(sys.excepthook, "aborts_all_ranks", False):
        sys.excepthook = _aborting_excepthook(sys.excepthook)


def _aborting_excepthook(previous):
    """``previous``, then MPI_Abort(1) at exit: after the traceback is written, so mpiexec shows
    it (an immediate Abort sometimes cut it short)."""
    from mpi4py.run import set_abort_status

    def excepthook(kind, value, traceback):
        previous(kind, value, traceback)
        set_abort_status(1)

    # a mark on the function, which init() reads back (setattr would trip ruff's B010)
    excepthook.aborts_all_ranks = True  # type: ignore[attr-defined]
    return excepthook


def is_initialized() -> bool:
    """Whether ``init()`` has been called in this process."""
    return _comm is not None


def _communicator(caller: str):
    """The communicator init() chose; an error naming ``caller`` before init()."""
    if _comm is None:
        raise RuntimeError(f"{caller}: autograd_lite.distributed is not initialized; call "
                           "autograd_lite.distributed.init() first")
    return _comm


def rank() -> int:
    """This process's rank: 0 .. world_size() - 1."""
    return _communicator("rank").Get_rank()


def world_size() -> int:
    """The number of processes training together."""
    return _communicator("world_size").Get_size()


def save(obj, path) -> None:
    """``ag.save(obj, path)`` on rank 0 only; call it on every rank: all return once it is
    written, so any rank may load it next."""
    comm = _communicator("save")
    if comm.Get_rank() == 0:
        io.save(obj, path)
    comm.Barrier()


def _broadcast(tensors, comm) -> None:
    """Overwrite each tensor's values with rank 0's, one ``Bcast`` per tensor."""
    for t in tensors:
        buf = np.ascontiguousarray(t.data)
        comm.Bcast(buf, root=0)
        if buf is not t.data:
            t.data[...] = buf


# ---------------------------------------------------------------------------------------------
# Gradient averaging


class DistributedDataParallel(Module):
    """``module`` whose ``backward()`` leaves on every rank the gradient of all ranks' batches
    together, as ``torch.nn.parallel.DistributedDataParallel`` (see the module's docstring).

    Args:
        module: the model (``ddp.module``); rank 0's parameters and buffers are copied to every
            rank here. ``state_dict()`` keys start with ``module.``, as PyTorch's.
        broadcast_buffers: copy rank 0's buffers to every rank at each forward that records a
            graph, as PyTorch.
        bucket_cap_mb: MiB of gradients per ``Allreduce`` (None: 25, PyTorch's default).
    """

    def __init__(self, module: Module, broadcast_buffers: bool = True,
                 bucket_cap_mb: float | None = None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(module, Module):
            raise TypeError(f"{name}: module must be an autograd_lite Module, got "
                            f"{type(module).__name__}")
        if bucket_cap_mb is None:
            bucket_cap_mb = 25
        # int and float spelled out: mypy does not know they are numbers.Real
        if isinstance(bucket_cap_mb, bool) or \
                not isinstance(bucket_cap_mb, (int, float, numbers.Real)):
            raise TypeError(f"{name}: bucket_cap_mb must be a number of MiB, got "
                            f"{type(bucket_cap_mb).__name__} {bucket_cap_mb!r}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"{name}: bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        comm = _communicator(name)
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_bytes_cap = int(bucket_cap_mb * 1024 * 1024)
        _broadcast([*module.parameters(), *module.buffers()], comm)
        trained = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._reducer = _Reducer(comm, trained, self.bucket_bytes_cap)

    def forward(self, *inputs, **kwargs):
        """``module(*inputs, **kwargs)``; with grad enabled, the next backward is averaged."""
        if is_grad_enabled():
            self._prepare(_batch_size(inputs, type(self).__name__))
        return self.module(*inputs, **kwargs)

    def _prepare(self, count: int) -> None:
        """Before a forward on ``count`` samples: rank 0's buffers to every rank, and the next
        backward's gradients averaged (one call, which ``ag.compile`` replays)."""
        if self.broadcast_buffers:
            _broadcast(list(self.module.buffers()), self._reducer.comm)
        self._reducer.prepare(count)


def _batch_size(inputs, caller: str) -> int:
    """The length of the first positional input: the number of samples of this rank's batch."""
    first = inputs[0] if inputs else None
    if isinstance(first, Tensor):
        shape = first.shape
    else:
        shape = () if first is None else np.shape(first)  # np.shape(None) is () too
    if not shape:
        raise ValueError(f"{caller}: the first positional input must be a batch (an array with a "
                         f"first dimension); its length weights this rank's gradient")
    return shape[0]


def _buckets(named_params, cap_bytes: int) -> list[list[tuple[str, Tensor]]]:
    """Group the parameters, last first (their gradients arrive first), into buckets of one
    dtype, each closed once it holds ``cap_bytes`` or more (PyTorch's assignment)."""
    closed: list[list[tuple[str, Tensor]]] = []
    open_: dict[np.dtype, list[tuple[str, Tensor]]] = {}  # dtype -> the bucket filling up
    for name, p in reversed(named_params):
        bucket = open_.setdefault(p.dtype, [])
        bucket.append((name, p))
        if sum(q.data.nbytes for _, q in bucket) >= cap_bytes:
            closed.append(open_.pop(p.dtype))
    return closed + list(open_.values())


class _Reducer:
    """Averages the gradients across ranks as backward accumulates them: a bucket is all-reduced
    once all its parameters have their gradient, the buckets always in the same order."""

    def __init__(self, comm, named_params, cap_bytes: int):
        self.comm = comm
        self.buckets = _buckets(named_params, cap_bytes)
        self.bucket_of = {id(p): i for i, b in enumerate(self.buckets) for _, p in b}
        # per bucket, gradients still to come this step; None: no step
        self.waiting: list[int] | None = None
        self.arrived: set[int] = set()  # id() of the parameters whose gradient arrived
        self.next = 0  # the next bucket to all-reduce
        self.count = self.total = 0  # this rank's samples, and all ranks' (from bucket 0)
        for _, p in named_params:
            p.register_post_accumulate_grad_hook(self.ready)

    def prepare(self, count: int) -> None:
        """A forward ran on ``count`` samples: the next backward's gradients are averaged."""
        if self.arrived and self.waiting is not None:
            missing = [n for b in self.buckets for n, p in b if id(p) not in self.arrived]
            raise RuntimeError(
                f"DistributedDataParallel: the parameters {missing} received no gradient in the "
                "last backward, so their gradients were not averaged across ranks (and the other "
                "ranks' would wait for them); every parameter that requires grad must contribute "
                "to the loss, or set requires_grad=False on it before wrapping the model")
        self.waiting = [len(b) for b in self.buckets]
        self.arrived = set()
        self.next = 0
        self.count = count

    def ready(self, param: Tensor) -> None:
        """``param``'s gradient is complete: all-reduce the buckets now complete, in order."""
        if self.waiting is None:
            return  # a backward without a forward of the wrapper: not averaged (as PyTorch)
        self.arrived.add(id(param))
        self.waiting[self.bucket_of[id(param)]] -= 1
        while self.next < len(self.buckets) and self.waiting[self.next] == 0:
            self.reduce(self.next)
            self.next += 1
        if self.next == len(self.buckets):
            self.waiting = None
            self.arrived = set()

    def reduce(self, i: int) -> None:
        """One Allreduce: the bucket's gradients times this rank's sample count, flattened into
        one buffer (bucket 0's carries the count too), summed, divided by all ranks' count."""
        from mpi4py import MPI

        params = [p for _, p in self.buckets[i]]
        grads: list[np.ndarray] = []
        for p in params:
            grad = p.grad
            assert grad is not None  # a bucket is reduced once all its gradients arrived
            grads.append(grad.data)
        ends = np.cumsum([p.data.size for p in params]).tolist()
        flat = np.empty(ends[-1] + (i == 0), grads[0].dtype)
        for p, g, start, end in zip(params, grads, [0, *ends], ends):
            np.multiply(g, self.count, out=flat[start:end].reshape(p.shape))
        if i == 0:
            flat[-1] = self.count
        self.comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        if i == 0:
            self.total = flat[-1]
        for p, g, start, end in zip(params, grads, [0, *ends], ends):
            np.divide(flat[start:end].reshape(p.shape), self.total, out=g)


# ---------------------------------------------------------------------------------------------
# Sharding the data


class DistributedSampler:
    """This rank's indices of ``dataset``, as ``torch.utils.data.distributed.DistributedSampler``:
    rank ``r`` takes every ``num_replicas``-th index of the epoch's order from position ``r``.

    Args:
        num_replicas: how many ranks share the data (None: ``world_size()``).
        rank: this rank's number (None: ``rank()``).
        shuffle: each epoch's order is a permutation drawn from ``seed + epoch`` (numpy's, so
            not PyTorch's numbers); call ``set_epoch(epoch)`` before each epoch.
        drop_last: drop the tail so the shards are disjoint with ``len // num_replicas`` each;
            otherwise the order is padded with its first indices to ``ceil(len / num_replicas)``.

    >>> [list(DistributedSampler(range(5), num_replicas=2, rank=r, shuffle=False))
    ...  for r in (0, 1)]
    [[0, 2, 4], [1, 3, 0]]
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        name = type(self).__name__
        if num_replicas is None or rank is None:
            comm = _communicator(name)
            num_replicas = comm.Get_size() if num_replicas is None else num_replicas
            rank = comm.Get_rank() if rank is None else rank
        for arg, value in (("num_replicas", num_replicas), ("rank", rank), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name}: {arg} must be an int, got {type(value).__name__} "
                                f"{value!r}")
        if num_replicas < 1:
            raise ValueError(f"{name}: num_replicas must be >= 1, got {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"{name}: Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        self.num_samples = n // self.num_replicas if self.drop_last else \
            math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self):
        n = len(self.dataset)
        order = (np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle
                 else np.arange(n))
        if self.total_size > n:  # pad with the first indices, over again if need be
            order = np.resize(order, self.total_size)
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order next (with ``shuffle``): call it before each epoch."""
        self.epoch = epoch
