"""Data-parallel training (autograd_lite/distributed.py) on real MPI ranks.

Pinned here:

* 2 ranks training on their halves of each global batch end with the parameters of 1 process
  on the global batch (to 1e-10 in float64), for several bucket sizes, with a last batch that
  splits 3 + 2 (each rank's gradient weighted by its batch size), under ``fit`` unchanged;
* one Allreduce per bucket per step: one for the W2 MLP at the default bucket size;
* DistributedSampler's shards are disjoint and complete (padded as PyTorch's), reshuffled per
  epoch the same way on every rank;
* ``dist.save`` writes on rank 0 only; a rank that raises makes every rank exit with an error.

The ranks run tests/mpi_scripts/ddp_worker.py: one ``mpiexec -n 2`` launch for every check
(each launch costs seconds), one more for the failing rank. The hook DDP is built on,
``Tensor.register_post_accumulate_grad_hook``, and the sampler's arithmetic run in this process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_lite as ag
import autograd_lite.distributed as dist
from autograd_lite import nn, optim
from autograd_lite.data import DataLoader, TensorDataset

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_scripts")
WORKER_PATH = os.path.join(SCRIPTS, "ddp_worker.py")
MPIEXEC = (shutil.which("mpiexec", path=os.path.dirname(sys.executable))
           or shutil.which("mpiexec"))
HAVE_MPI = importlib.util.find_spec("mpi4py") is not None and MPIEXEC is not None
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="needs mpi4py and mpiexec (pip install "
                                                    "mpi4py mpich, or the 'distributed' extra)")
TIMEOUT = 120  # seconds for the launch of every check; a hang fails the test, not the suite
ABORT_TIMEOUT = 30  # a failing rank's launch: ends in about a second with the abort


def _load_worker():
    """The worker script as a module, for its data and model (it imports mpi4py only in main)."""
    spec = importlib.util.spec_from_file_location("ddp_worker", WORKER_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = _load_worker()


def _mpiexec(out_dir, *args, timeout=TIMEOUT):
    """Run the worker on 2 ranks (one BLAS thread each: the machine has few cores)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([MPIEXEC, "-n", "2", sys.executable, WORKER_PATH, str(out_dir), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """What each of the 2 ranks reported (a list indexed by rank)."""
    out = tmp_path_factory.mktemp("ddp")
    run = _mpiexec(out)
    assert run.returncode == 0, f"mpiexec exited with {run.returncode}:\n{run.stderr[-3000:]}"
    reports = []
    for r in range(2):
        with open(out / f"rank{r}.json") as f:
            reports.append(json.load(f))
    return reports


# ---- training on 2 ranks == 1 process on the global batch ------------------------------------


def _one_process_params():
    """fit() on one process: the same model, data, optimizer and global batches."""
    X, y = worker.data()
    model = worker.mlp(seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=worker.BATCH)
    ag.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
           loader, epochs=worker.EPOCHS, progress=False)
    return {k: v.data for k, v in model.state_dict().items()}


def test_the_worker_splits_every_global_batch_and_the_last_one_unevenly():
    shards = [worker.shard(r, 2) for r in range(2)]
    assert sorted(shards[0] + shards[1]) == list(range(worker.N))
    assert worker.N % worker.BATCH == 5  # the last global batch splits 3 + 2
    assert (len(shards[0]), len(shards[1])) == (12, 11)


@needs_mpi
@pytest.mark.parametrize("config", list(worker.RUNS))
def test_two_ranks_train_to_the_parameters_of_one_process_on_the_global_batch(ranks, config):
    want = _one_process_params()
    for r, report in enumerate(ranks):
        got = report["train"][config]["params"]
        assert list(got) == list(want)
        for name, value in got.items():
            np.testing.assert_allclose(np.array(value), want[name], rtol=0, atol=1e-10,
                                       err_msg=f"rank {r}, buckets {config}, {name}")


@needs_mpi
def test_each_bucket_is_one_allreduce_per_step(ranks):
    for report in ranks:
        train = report["train"]
        # the MLP has 4 parameters: a bucket each, two buckets of two, or one of all
        assert {k: v["buckets"] for k, v in train.items()} == {
            "default": 1, "per_parameter": 4, "two_buckets": 2, "two_buckets_compiled": 2}
        for config, result in train.items():
            assert result["allreduces_per_step"] == result["buckets"], config
        assert report["w2_allreduces_per_step"] == 1


@needs_mpi
def test_a_compiled_step_averages_as_the_eager_one_bit_for_bit(ranks):
    """ag.compile replays the wrapper's preparation and the reducer's hooks, so fit(compile=True)
    on 2 ranks ends with eager's parameters exactly, with the same Allreduce calls."""
    for report in ranks:
        eager, compiled = report["train"]["two_buckets"], report["train"]["two_buckets_compiled"]
        assert compiled["params"] == eager["params"]
        assert compiled["allreduces_per_step"] == eager["allreduces_per_step"] == 2


@needs_mpi
def test_the_state_dict_keys_are_the_module_s_under_module_as_pytorch(ranks):
    assert ranks[0]["train"]["default"]["keys"] == [
        "module.0.weight", "module.0.bias", "module.2.weight", "module.2.bias"]


@needs_mpi
def test_buffers_are_rank_0_s_after_wrapping_and_after_each_forward(ranks):
    for report in ranks:
        assert report["buffers"] == {"after_wrapping": [0.0] * 3, "after_forward": [10.0] * 3}


@needs_mpi
def test_a_backward_that_misses_a_parameter_is_refused_at_the_next_forward(ranks):
    for report in ranks:
        message = report["unused_parameter_error"]
        assert message is not None and "['unused.bias', 'unused.weight']" in message


# ---- the sampler, the checkpoint and a failing rank ------------------------------------------


@needs_mpi
def test_the_sampler_shards_are_disjoint_complete_and_reshuffled_each_epoch(ranks):
    assert ranks[0]["world"] == ranks[1]["world"] == 2
    for key, (n, length, distinct) in {"12/False": (12, 6, 12), "11/False": (11, 6, 11),
                                       "11/True": (11, 5, 10)}.items():
        epochs = [ranks[r]["sampler"][key]["epochs"] for r in range(2)]
        for r in range(2):
            assert ranks[r]["sampler"][key]["len"] == length
        for e in range(3):
            both = epochs[0][e] + epochs[1][e]
            assert len(epochs[0][e]) == len(epochs[1][e]) == length, key
            assert len(set(both)) == distinct and set(both) <= set(range(n)), (key, e)
        assert epochs[0][0] != epochs[0][1] != epochs[0][2], key


@needs_mpi
def test_dist_save_writes_on_rank_0_only_and_every_rank_reads_it_back(ranks):
    assert [report["checkpoint"]["writes"] for report in ranks] == [1, 0]
    assert [report["checkpoint"]["loaded_rank"] for report in ranks] == [0, 0]


@needs_mpi
def test_a_rank_that_raises_makes_every_rank_exit_with_an_error(tmp_path):
    start = time.monotonic()
    # rank 0 waits in a Barrier rank 1 never reaches: without the abort, a TimeoutExpired
    run = _mpiexec(tmp_path, "--raise", timeout=ABORT_TIMEOUT)
    assert time.monotonic() - start < ABORT_TIMEOUT
    assert run.returncode != 0
    assert "ValueError: rank 1 fails on purpose" in run.stderr
    assert "rank 0 finished" not in run.stdout


# ---- in this process: the sampler's arithmetic, the hook, the errors -------------------------


@given(n=st.integers(0, 40), replicas=st.integers(1, 5), drop_last=st.booleans(),
       shuffle=st.booleans(), epoch=st.integers(0, 3))
def test_sampler_shards_partition_the_dataset_padded_or_dropped_as_pytorch(
        n, replicas, drop_last, shuffle, epoch):
    shards = []
    for r in range(replicas):
        sampler = dist.DistributedSampler(range(n), num_replicas=replicas, rank=r,
                                          shuffle=shuffle, seed=7, drop_last=drop_last)
        sampler.set_epoch(epoch)
        shards.append(list(sampler))
        assert len(shards[-1]) == len(sampler)
    lengths = {len(s) for s in shards}
    assert lengths == {n // replicas if drop_last else -(-n // replicas)}
    every = [i for s in shards for i in s]
    if drop_last:
        assert len(set(every)) == len(every)  # disjoint; the tail of the order is dropped
    elif n:
        assert set(every) == set(range(n))  # complete; the padding repeats the first indices
        assert len(every) - n < replicas


def test_sampler_order_depends_on_seed_and_epoch_only():
    def order(seed, epoch):
        sampler = dist.DistributedSampler(range(50), num_replicas=1, rank=0, seed=seed)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert order(0, 1) == order(0, 1)
    assert order(0, 0) != order(0, 1) != order(1, 1)
    unshuffled = dist.DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False)
    unshuffled.set_epoch(3)
    assert list(unshuffled) == [1, 3, 0]


def test_sampler_refuses_a_rank_outside_the_replicas_and_needs_init_for_defaults():
    with pytest.raises(ValueError, match=r"DistributedSampler: Invalid rank 2, .* \[0, 1\]"):
        dist.DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(TypeError, match="DistributedSampler: num_replicas must be an int"):
        dist.DistributedSampler(range(4), num_replicas=2.0, rank=0)
    with pytest.raises(RuntimeError, match=r"DistributedSampler: .*call .*init\(\) first"):
        dist.DistributedSampler(range(4))


def test_ddp_refuses_a_bad_module_or_bucket_size_and_needs_init():
    with pytest.raises(TypeError, match="DistributedDataParallel: module must be .* got list"):
        dist.DistributedDataParallel([nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="DistributedDataParallel: bucket_cap_mb must be "
                                         "positive, got 0"):
        dist.DistributedDataParallel(nn.Linear(2, 2), bucket_cap_mb=0)
    with pytest.raises(TypeError, match="bucket_cap_mb must be a number of MiB, got str '1'"):
        dist.DistributedDataParallel(nn.Linear(2, 2), bucket_cap_mb="1")
    with pytest.raises(RuntimeError, match=r"DistributedDataParallel: .*init\(\) first"):
        dist.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match=r"rank: .*init\(\) first"):
        dist.rank()
    assert not dist.is_initialized()


def test_init_without_mpi4py_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # makes ``import mpi4py`` fail
    with pytest.raises(ImportError, match=r"mpi4py is not installed.*autograd_lite\[distributed\]"):
        dist.init()
    assert not dist.is_initialized()


def test_post_accumulate_grad_hook_sees_the_accumulated_grad_after_every_backward():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)  # runs before accumulation: the post hook sees its result
    seen = []
    handle = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (x * x).sum().backward()
    (3 * x).sum().backward()
    assert seen == [[20.0, 40.0], [50.0, 70.0]]
    ag.grad((x * x).sum(), x)  # accumulates nothing, so no post-accumulate hook
    handle.remove()
    x.sum().backward()
    assert len(seen) == 2


def test_post_accumulate_grad_hook_is_refused_where_nothing_accumulates():
    x = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        (x * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.tensor([1.0]).register_post_accumulate_grad_hook(print)
    with pytest.raises(TypeError, match="expected a callable, got int"):
        x.register_post_accumulate_grad_hook(3)
