"""Feeding data (autograd_lite/data.py): TensorDataset, DataLoader, train_val_test_split.

The loader covers the three regimes of gradient descent with one argument: ``batch_size=None``
(or anything >= the dataset) is full-batch gradient descent, ``batch_size=1`` is SGD, and
anything between is mini-batch. Pinned here:

* every epoch visits every sample exactly once (``drop_last`` skips only the short last batch);
* shuffling is reproducible: the same seed gives the same sequence of epochs, and each epoch
  (each new ``for``) gets a new permutation;
* batches are tuples of Tensors stacked on a new first axis, keeping their dtypes;
* a split is a partition of the samples with sizes ``test = ceil(test * n)``,
  ``val = ceil(val * n)``, train the rest; ``stratify`` keeps every class's share in every
  split to within one sample, with exactly the same split sizes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_lite as ag
from autograd_lite import Tensor
from autograd_lite.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    random_split,
    train_val_test_split,
)

# ---- TensorDataset ---------------------------------------------------------------------------


def test_a_tensor_dataset_item_is_a_tuple_of_tensors_one_row_of_each():
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.array([0, 1, 0, 1])
    ds = TensorDataset(X, ag.tensor(y))
    assert len(ds) == 4
    x2, y2 = ds[2]
    assert isinstance(x2, Tensor) and x2.tolist() == [6.0, 7.0, 8.0] and x2.dtype == np.float32
    assert isinstance(y2, Tensor) and y2.shape == () and y2.item() == 0 and y2.dtype == np.int64
    assert ds[-1][0].tolist() == [9.0, 10.0, 11.0]
    xb, yb = ds[np.array([3, 0])]  # an index array gives a batch
    assert xb.shape == (2, 3) and yb.tolist() == [1, 0]


def test_a_tensor_dataset_shares_the_arrays_and_keeps_no_graph():
    X = np.zeros((3, 2), np.float32)
    w = ag.ones(3, 2, requires_grad=True)
    ds = TensorDataset(X, w, [[1.0], [2.0], [3.0]])
    assert ds.arrays[0] is X and ds.arrays[1] is w.data
    assert ds.arrays[2].dtype == np.float32  # Python floats become float32, as in ag.tensor
    assert all(not t.requires_grad for t in ds.tensors + ds[0])


@pytest.mark.parametrize("args, error, message", [
    ((), ValueError, "at least one"),
    ((np.zeros((3, 2)), np.zeros(4)), ValueError, r"lengths \[3, 4\]"),
    ((np.zeros(3), np.zeros(3), np.zeros(2)), ValueError, r"\[3, 3, 2\]"),
    ((np.float32(1.0),), ValueError, "0-d"),
    ((np.array(["a", "b"]),), TypeError, "dtype"),
    ((np.array([object(), object()]),), TypeError, "object"),
])
def test_tensor_dataset_errors_name_the_problem(args, error, message):
    with pytest.raises(error, match=message):
        TensorDataset(*args)


def test_tensor_dataset_index_out_of_range_names_the_size():
    with pytest.raises(IndexError, match="3 samples"):
        TensorDataset(np.zeros(3))[3]


# ---- DataLoader: batches ---------------------------------------------------------------------


def numbered(n, features=2):
    """A dataset whose sample i is (row of i's, i): batches say which samples they hold."""
    X = np.repeat(np.arange(n, dtype=np.float32)[:, None], features, axis=1)
    return TensorDataset(X, np.arange(n))


def test_batches_are_stacked_along_a_new_first_axis_and_the_last_may_be_short():
    loader = DataLoader(numbered(10), batch_size=3)
    batches = list(loader)
    assert len(loader) == 4 == len(batches)
    assert [xb.shape for xb, _ in batches] == [(3, 2), (3, 2), (3, 2), (1, 2)]
    assert [yb.tolist() for _, yb in batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_drop_last_skips_only_the_short_last_batch():
    loader = DataLoader(numbered(10), batch_size=3, drop_last=True)
    assert len(loader) == 3
    assert [yb.tolist() for _, yb in loader] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(DataLoader(numbered(9), batch_size=3, drop_last=True)) == 3  # nothing to drop


@pytest.mark.parametrize("batch_size", [None, 10, 11, 1000])
def test_full_batch_gradient_descent_is_one_batch_of_everything(batch_size):
    for drop_last in (False, True):
        loader = DataLoader(numbered(10), batch_size=batch_size, drop_last=drop_last)
        (xb, yb), = list(loader)
        assert len(loader) == 1 and xb.shape == (10, 2) and yb.tolist() == list(range(10))


def test_batch_size_one_is_stochastic_gradient_descent():
    loader = DataLoader(numbered(5), batch_size=1, shuffle=True, seed=0)
    batches = list(loader)
    assert len(loader) == 5 == len(batches)
    assert all(xb.shape == (1, 2) and yb.shape == (1,) for xb, yb in batches)
    assert sorted(yb.item() for _, yb in batches) == [0, 1, 2, 3, 4]


@given(n=st.integers(1, 40), batch_size=st.one_of(st.none(), st.integers(1, 45)),
       shuffle=st.booleans(), drop_last=st.booleans(), seed=st.integers(0, 2**32))
def test_every_epoch_sees_every_sample_exactly_once(n, batch_size, shuffle, drop_last, seed):
    loader = DataLoader(numbered(n), batch_size=batch_size, shuffle=shuffle,
                        drop_last=drop_last, seed=seed)
    size = n if batch_size is None else min(batch_size, n)
    for _ in range(2):  # two epochs
        batches = [yb.tolist() for _, yb in loader]
        assert len(batches) == len(loader)
        seen = [i for b in batches for i in b]
        assert len(set(seen)) == len(seen)  # no sample twice
        if drop_last:
            assert all(len(b) == size for b in batches) and len(seen) == n - n % size
        else:
            assert sorted(seen) == list(range(n))
            assert all(len(b) == size for b in batches[:-1]) and 1 <= len(batches[-1]) <= size
        if not shuffle:
            assert seen == list(range(len(seen)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.bool_])
def test_batches_keep_the_dtypes_labels_stay_integers(dtype):
    X = np.ones((6, 2), dtype=dtype)
    y = np.arange(6)
    for xb, yb in DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True, seed=0):
        assert xb.dtype == dtype and yb.dtype == np.int64


def test_batches_are_copies_the_dataset_is_never_modified_through_them():
    ds = numbered(4)
    for shuffle in (False, True):
        for xb, _ in DataLoader(ds, batch_size=2, shuffle=shuffle, seed=0):
            xb.data[:] = -1
    assert ds.arrays[0][:, 0].tolist() == [0, 1, 2, 3]


# ---- DataLoader: shuffling -------------------------------------------------------------------


def epochs(loader, count=3):
    return [[i for _, yb in loader for i in yb.tolist()] for _ in range(count)]


def test_shuffling_is_reproducible_with_a_new_order_every_epoch():
    first = epochs(DataLoader(numbered(50), batch_size=8, shuffle=True, seed=7))
    again = epochs(DataLoader(numbered(50), batch_size=8, shuffle=True, seed=7))
    other = epochs(DataLoader(numbered(50), batch_size=8, shuffle=True, seed=8))
    assert first == again  # same seed: the same sequence of epochs
    assert first[0] != first[1] != first[2] != first[0]  # each epoch its own permutation
    assert first != other
    assert all(sorted(e) == list(range(50)) for e in first)


def test_without_a_seed_runs_differ_and_a_generator_can_be_shared():
    assert epochs(DataLoader(numbered(50), batch_size=50, shuffle=True), 1) != epochs(
        DataLoader(numbered(50), batch_size=50, shuffle=True), 1)
    a = DataLoader(numbered(50), shuffle=True, seed=np.random.default_rng(3))
    b = DataLoader(numbered(50), shuffle=True, seed=np.random.default_rng(3))
    assert epochs(a, 2) == epochs(b, 2)


def test_each_iter_starts_a_new_epoch_even_if_the_last_was_not_finished():
    loader = DataLoader(numbered(30), batch_size=10, shuffle=True, seed=0)
    reference = epochs(DataLoader(numbered(30), batch_size=10, shuffle=True, seed=0))
    first = iter(loader)
    next(first)  # abandon this epoch after one batch
    assert epochs(loader, 2) == reference[1:]


# ---- DataLoader: any Dataset -----------------------------------------------------------------


class Squares(Dataset):
    """Samples built on the fly, as Python numbers: (x, x^2 label)."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return float(i), i * i


def test_any_dataset_is_batched_by_stacking_its_samples():
    loader = DataLoader(Squares(), batch_size=3)
    assert len(loader) == 3
    xb, yb = next(iter(loader))
    assert xb.dtype == np.float32 and xb.tolist() == [0.0, 1.0, 2.0]  # Python floats: float32
    assert yb.dtype == np.int64 and yb.tolist() == [0, 1, 4]


def test_samples_that_are_single_values_give_one_tuples():
    class Rows(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.full(3, i, np.float64)

    for (xb,) in DataLoader(Rows(), batch_size=2):
        assert xb.shape == (2, 3) and xb.dtype == np.float64


def test_the_fast_path_for_tensor_datasets_agrees_with_stacking_samples():
    class Slow(TensorDataset):  # overriding __getitem__ turns the fancy-indexing path off
        def __getitem__(self, index):
            return super().__getitem__(index)

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((23, 3)).astype(np.float32), rng.integers(0, 3, 23)
    fast = DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, seed=1)
    slow = DataLoader(Slow(X, y), batch_size=5, shuffle=True, seed=1)
    for _ in range(2):
        for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
            assert xf.dtype == xs.dtype and yf.dtype == ys.dtype
            np.testing.assert_array_equal(xf.data, xs.data)
            np.testing.assert_array_equal(yf.data, ys.data)


@pytest.mark.parametrize("items, error, message", [
    ([(np.zeros(2), 0), (np.zeros(3), 1)], ValueError, "different shapes"),
    ([(np.zeros(2), 0), (np.zeros(2),)], ValueError, "same structure"),
    ([{"x": 1}, {"x": 2}], TypeError, "dicts"),
    ([("a", 0), ("b", 1)], TypeError, "dtype"),
])
def test_samples_that_cannot_be_stacked_are_clear_errors(items, error, message):
    class Listed(Dataset):
        def __len__(self):
            return len(items)

        def __getitem__(self, i):
            return items[i]

    with pytest.raises(error, match=message):
        list(DataLoader(Listed(), batch_size=2))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"batch_size": 0}, ValueError, ">= 1"),
    ({"batch_size": -3}, ValueError, ">= 1"),
    ({"batch_size": 2.5}, TypeError, "batch_size"),
    ({"batch_size": "32"}, TypeError, "batch_size"),
    ({"batch_size": True}, TypeError, "batch_size"),
    ({"shuffle": "yes"}, TypeError, "shuffle"),
    ({"drop_last": 1}, TypeError, "drop_last"),
    ({"seed": "abc"}, TypeError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"seed": -1}, ValueError, "seed"),
])
def test_bad_loader_arguments_are_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(numbered(4), **kwargs)


@pytest.mark.parametrize("dataset, error, message", [
    ((np.zeros((4, 2)), np.zeros(4)), TypeError, "TensorDataset"),
    (np.zeros((4, 2)), TypeError, "TensorDataset"),
    (ag.zeros(4, 2), TypeError, "TensorDataset"),
    (42, TypeError, "__len__"),
    (TensorDataset(np.zeros((0, 2))), ValueError, "empty"),
])
def test_a_loader_needs_a_non_empty_dataset(dataset, error, message):
    with pytest.raises(error, match=message):
        DataLoader(dataset)


def test_the_three_regimes_all_fit_a_line():
    """Batch GD, SGD and mini-batch, written with the public API only."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (64, 1)).astype(np.float32)
    y = (2 * X + 1).astype(np.float32)
    for batch_size, lr, epochs_ in [(None, 0.5, 200), (1, 0.05, 10), (16, 0.2, 40)]:
        w = ag.zeros(1, 1, requires_grad=True)
        b = ag.zeros(1, requires_grad=True)
        loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, seed=0)
        for _ in range(epochs_):
            for xb, yb in loader:
                loss = ((xb @ w + b - yb) ** 2).mean()
                w.grad = b.grad = None
                loss.backward()
                with ag.no_grad():
                    w -= lr * w.grad
                    b -= lr * b.grad
        assert abs(w.item() - 2) < 1e-2 and abs(b.item() - 1) < 1e-2, batch_size


# ---- train_val_test_split --------------------------------------------------------------------


def rows(n):
    """Arrays whose rows say which sample they are: X[i] = (i, i), y[i] = i."""
    return np.repeat(np.arange(n)[:, None], 2, axis=1).astype(np.float32), np.arange(n)


@pytest.mark.parametrize("n, val, test, sizes", [
    (10, 0.2, 0.2, (6, 2, 2)),
    (10, 0.25, 0.25, (4, 3, 3)),  # ceil(2.5) = 3 for each
    (30, 0.0, 0.1, (27, 0, 3)),  # 0.1 * 30 is 3.0000000000000004 in floats: still 3
    (7, 0.1, 0.1, (5, 1, 1)),
    (100, 10, 5, (85, 10, 5)),  # ints are counts
    (100, 0.1, 5, (85, 10, 5)),
    (5, 0, 0, (5, 0, 0)),
    (3, 1, 1, (1, 1, 1)),
])
def test_split_sizes_round_up_test_then_val_and_train_gets_the_rest(n, val, test, sizes):
    X, y = rows(n)
    train, valid, tst = train_val_test_split(X, y, val=val, test=test, seed=0)
    assert (len(train[0]), len(valid[0]), len(tst[0])) == sizes
    assert valid[0].shape == (sizes[1], 2)  # an empty split keeps the row shape


@given(n=st.integers(2, 60), val=st.floats(0, 0.45), test=st.floats(0, 0.45),
       seed=st.integers(0, 100), shuffle=st.booleans())
def test_a_split_is_a_partition_that_keeps_rows_together(n, val, test, seed, shuffle):
    X, y = rows(n)
    n_test, n_val = math.ceil(round(test * n, 6)), math.ceil(round(val * n, 6))
    if n - n_test - n_val < 1:
        with pytest.raises(ValueError, match="no samples left for training"):
            train_val_test_split(X, y, val=val, test=test, seed=seed, shuffle=shuffle)
        return
    parts = train_val_test_split(X, y, val=val, test=test, seed=seed, shuffle=shuffle)
    assert [len(p[1]) for p in parts] == [n - n_val - n_test, n_val, n_test]
    for Xp, yp in parts:
        np.testing.assert_array_equal(Xp[:, 0], yp)  # X and y were cut the same way
    ids = np.concatenate([yp for _, yp in parts])
    assert sorted(ids.tolist()) == list(range(n))
    if not shuffle:  # contiguous blocks: train first, then val, then test
        assert ids.tolist() == list(range(n))


def test_splits_are_reproducible_per_seed():
    X, y = rows(50)
    a = train_val_test_split(X, y, val=0.2, test=0.2, seed=1)
    b = train_val_test_split(X, y, val=0.2, test=0.2, seed=1)
    c = train_val_test_split(X, y, val=0.2, test=0.2, seed=2)
    assert all(np.array_equal(p[1], q[1]) for p, q in zip(a, b))
    assert not np.array_equal(a[0][1], c[0][1])


def test_parts_are_the_same_kind_as_the_inputs():
    X, y = rows(10)
    (Xt, yt, lt), _, (Xs, ys, ls) = train_val_test_split(
        ag.tensor(X), y, y.tolist(), test=0.3, seed=0)
    assert isinstance(Xt, Tensor) and Xt.dtype == np.float32 and Xt.shape == (7, 2)
    assert isinstance(yt, np.ndarray) and yt.dtype == np.int64
    assert isinstance(lt, list) and lt == yt.tolist() and ls == ys.tolist()
    assert not Xt.requires_grad


def counts(labels, classes):
    return np.array([(np.asarray(labels) == c).sum() for c in classes])


def test_stratify_keeps_the_class_proportions_in_every_split():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = np.arange(100, dtype=np.float32)[:, None]
    (_, y_tr), (_, y_va), (_, y_te) = train_val_test_split(X, y, val=0.2, test=0.2, seed=0,
                                                           stratify=y)
    assert counts(y_tr, [0, 1, 2]).tolist() == [36, 18, 6]
    assert counts(y_va, [0, 1, 2]).tolist() == [12, 6, 2]
    assert counts(y_te, [0, 1, 2]).tolist() == [12, 6, 2]


def test_stratified_shares_are_within_one_sample_and_split_sizes_are_unchanged():
    """Many small, awkward cases: each class's count in each split is its exact share rounded
    down or up, and the split sizes are exactly those of an unstratified split."""
    rng = np.random.default_rng(0)
    for _ in range(400):
        k = int(rng.integers(1, 6))
        sizes = rng.integers(2, 7, k)
        y = rng.permutation(np.repeat(np.arange(k), sizes))
        n = len(y)
        n_val = int(rng.integers(0, n // 2))
        n_test = int(rng.integers(0, n - n_val))
        parts = train_val_test_split(np.arange(n), y, val=n_val, test=n_test,
                                     seed=int(rng.integers(1000)), stratify=y)
        for (ids, labels), total in zip(parts, [n - n_val - n_test, n_val, n_test]):
            assert len(ids) == total
            np.testing.assert_array_equal(y[ids], labels)
            share = sizes * total / n
            got = counts(labels, range(k))
            assert (np.floor(share) <= got).all() and (got <= np.ceil(share)).all()
        assert sorted(np.concatenate([p[0] for p in parts]).tolist()) == list(range(n))


def test_stratify_accepts_tensor_or_list_labels_of_any_kind():
    y = np.array(["cat", "dog"] * 10)
    X = ag.tensor(np.arange(20.0))
    (X_tr,), _, (X_te,) = train_val_test_split(X, test=0.5, seed=0, stratify=y.tolist())
    assert isinstance(X_te, Tensor) and len(X_te) == 10
    assert counts(y[X_te.data.astype(int)], ["cat", "dog"]).tolist() == [5, 5]
    labels = ag.tensor(np.arange(20) % 2)
    (_, l_tr), _, _ = train_val_test_split(X, labels, test=0.5, seed=0, stratify=labels)
    assert counts(l_tr.data, [0, 1]).tolist() == [5, 5]


def test_stratify_without_shuffle_cuts_each_class_in_order():
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    (tr,), (va,), (te,) = train_val_test_split(np.arange(10), val=0.2, test=0.2,
                                               shuffle=False, stratify=y)
    assert tr.tolist() == [0, 1, 2, 3, 4, 5] and va.tolist() == [6, 7] and te.tolist() == [8, 9]


@pytest.mark.parametrize("seed, shuffle", [(0, True), (1, True), (2, True), (None, False)])
def test_stratified_leftover_rows_go_to_the_largest_remainders(seed, shuffle):
    """7 rows of class 0, 3 of class 1, val=3: class 0's exact shares are 4.9 train and 2.1
    val, class 1's 2.1 and 0.9. The floors (4 and 2, 2 and 0) leave one row of each class and
    one of each split over; the largest remainders, the two 0.9s, take them (not the 0.1s):
    train gets 5 and 2, val 2 and 1, so class 1 has its validation row."""
    y = np.repeat([0, 1], [7, 3])
    (_, y_tr), (_, y_va), _ = train_val_test_split(np.arange(10), y, val=3, seed=seed,
                                                   shuffle=shuffle, stratify=y)
    assert counts(y_tr, [0, 1]).tolist() == [5, 2]
    assert counts(y_va, [0, 1]).tolist() == [2, 1]


def test_stratify_shuffles_within_each_class_so_the_seed_picks_the_rows():
    y = np.tile([0, 0, 1], 10)  # 20 rows of class 0, 10 of class 1: exact shares, no rounding

    def split(seed):
        return train_val_test_split(np.arange(30), val=0.2, test=0.2, seed=seed, stratify=y)

    (_, (val0,), (test0,)), (_, (val1,), (test1,)) = split(0), split(1)
    for rows in (val0, test0, val1, test1):
        assert counts(y[rows], [0, 1]).tolist() == [4, 2]
    assert set(val0.tolist()) != set(val1.tolist())  # the same class counts, other rows
    assert all(np.array_equal(a, b) for (a,), (b,) in zip(split(0), split(0)))  # reproducible


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((), {}, ValueError, "at least one array"),
    ((np.zeros(5), np.zeros(4)), {}, ValueError, r"lengths \[5, 4\]"),
    ((np.zeros(10),), {"val": 0.5, "test": 0.5}, ValueError, "sum to 1 >= 1"),
    ((np.zeros(10),), {"val": 0.7, "test": 0.6}, ValueError, ">= 1"),
    ((np.zeros(3),), {"val": 1, "test": 2}, ValueError, "no samples left for training"),
    ((np.zeros(3),), {"val": 0.4, "test": 0.4}, ValueError, "no samples left"),
    ((np.zeros(10),), {"test": 1.0}, ValueError, r"\[0, 1\)"),
    ((np.zeros(10),), {"test": -0.1}, ValueError, r"\[0, 1\)"),
    ((np.zeros(10),), {"test": float("nan")}, ValueError, r"\[0, 1\)"),
    ((np.zeros(10),), {"val": 11}, ValueError, r"not in \[0, 10\]"),
    ((np.zeros(10),), {"val": -1}, ValueError, r"not in \[0, 10\]"),
    ((np.zeros(10),), {"test": True}, TypeError, "fraction"),
    ((np.zeros(10),), {"test": "20%"}, TypeError, "fraction"),
    ((np.zeros(10),), {"seed": "x"}, TypeError, "seed"),
    ((np.zeros(10),), {"shuffle": None}, TypeError, "shuffle"),
    ((np.array(1.0),), {}, ValueError, "0-d"),
    ((np.float32(1),), {}, TypeError, "float32"),
    (({"a": 1},), {}, TypeError, "dict"),
    ((np.zeros(4),), {"test": 0.5, "stratify": [0, 1]}, ValueError, r"shape \(4,\)"),
    ((np.zeros(4),), {"test": 0.5, "stratify": np.eye(4)}, ValueError, "argmax"),
    ((np.zeros(5),), {"test": 0.4, "stratify": [0, 0, 1, 1, 2]}, ValueError, "class 2"),
])
def test_split_errors_name_the_problem(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        train_val_test_split(*args, **kwargs)


# ---- Subset, ConcatDataset, random_split, ag.utils.data -------------------------------------


def test_subset_maps_positions_to_the_datasets_indices():
    ds = TensorDataset(np.arange(5) * 10)
    part = Subset(ds, [4, 1, 3])
    assert len(part) == 3 and part[0][0].item() == 40 and part[-1][0].item() == 30
    assert part[[0, 2]][0].tolist() == [40, 30]                  # a list gives a batch
    assert [xb.tolist() for (xb,) in DataLoader(part, batch_size=2)] == [[40, 10], [30]]


def test_adding_datasets_concatenates_them():
    a, b = TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 12))
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 5
    assert [both[i][0].item() for i in range(5)] == [0, 1, 2, 10, 11]
    assert both[-1][0].item() == 11 and both[-5][0].item() == 0
    with pytest.raises(IndexError, match="index 5 is out of range for 5 samples"):
        both[5]
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        both[-6]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


def test_random_split_by_counts_is_a_seeded_partition():
    ds = TensorDataset(np.arange(10))
    parts = random_split(ds, [3, 7], generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == [3, 7]
    seen = sorted(i for p in parts for i in p.indices)
    assert seen == list(range(10))
    again = random_split(ds, [3, 7], generator=np.random.default_rng(0))
    assert [p.indices for p in again] == [p.indices for p in parts]
    ag.manual_seed(5)
    first = random_split(ds, [5, 5])[0].indices
    ag.manual_seed(5)
    assert random_split(ds, [5, 5])[0].indices == first           # the default generator


def test_random_split_fractions_deal_the_remainder_round_robin():
    # floors 3, 3, 4 (of 3.3, 3.3, 4.4) leave 1, which goes to the first split; PyTorch's rule
    assert [len(p) for p in random_split(range(11), [0.3, 0.3, 0.4])] == [4, 3, 4]
    assert [len(p) for p in random_split(range(10), [0.25, 0.25, 0.5])] == [3, 2, 5]
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        assert [len(p) for p in random_split(range(2), [0.9, 0.1])] == [2, 0]


@pytest.mark.parametrize("lengths, error, match", [
    ([3, 3], ValueError, "Sum of input lengths does not equal"),
    ([0.5, 0.4], ValueError, "Sum of input lengths"),
    ([1.5, -0.5], ValueError, "Fraction at index 0 is not between 0 and 1"),
    ([5, "5"], TypeError, "lengths must be ints or fractions"),
])
def test_random_split_refuses_lengths_that_do_not_add_up(lengths, error, match):
    with pytest.raises(error, match=f"random_split: {match}"):
        random_split(range(10), lengths)
    with pytest.raises(TypeError, match="generator"):
        random_split(range(10), [5, 5], generator=3)


def test_the_data_tools_are_at_torchs_paths():
    assert ag.utils.data.DataLoader is DataLoader and ag.utils.data.Subset is Subset
    assert ag.utils.data.random_split is random_split
    assert ag.autograd.grad is ag.grad and ag.autograd.Function is ag.Function
    assert ag.autograd.no_grad is ag.no_grad


def test_manual_seed_makes_an_unseeded_shuffling_loader_reproducible():
    """As in PyTorch: the loader draws from the default generator that manual_seed seeds."""
    def first_epoch():
        loader = DataLoader(TensorDataset(np.arange(20)), batch_size=5, shuffle=True)
        return [batch[0].tolist() for batch in loader]

    ag.manual_seed(11)
    a = first_epoch()
    ag.manual_seed(11)
    assert first_epoch() == a
    ag.manual_seed(12)
    assert first_epoch() != a


def test_a_sampler_picks_the_samples_and_their_order_anew_each_epoch():
    from autograd_lite.distributed import DistributedSampler

    X = np.arange(10, dtype=np.float32).reshape(10, 1)
    dataset = TensorDataset(X, np.arange(10))
    sampler = DistributedSampler(dataset, num_replicas=2, rank=1, seed=3)
    loader = DataLoader(dataset, batch_size=2, sampler=sampler)
    assert len(loader) == 3  # 5 samples for this rank, in batches of 2
    epochs = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        epochs.append([int(i) for _, yb in loader for i in yb.data])
        assert epochs[-1] == list(sampler)  # the sampler's indices, in its order
    assert epochs[0] != epochs[1] and len(set(epochs[0])) == 5
    in_order = DataLoader(dataset, batch_size=4, sampler=[9, 0, 5])
    assert [yb.tolist() for _, yb in in_order] == [[9, 0, 5]]
    assert len(DataLoader(dataset, sampler=[])) == 0 and list(DataLoader(dataset, sampler=[])) == []


def test_a_sampler_with_shuffle_or_without_a_length_is_refused():
    dataset = TensorDataset(np.zeros((4, 1)))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(dataset, shuffle=True, sampler=[0, 1])
    with pytest.raises(TypeError, match="sampler must be an iterable of indices with a length"):
        DataLoader(dataset, sampler=iter([0, 1]))
