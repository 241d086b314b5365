"""Feeding data to a training loop: datasets, batches, and train/validation/test splits.

``DataLoader`` covers the three regimes of gradient descent with one argument:

    loader = DataLoader(TensorDataset(X, y), batch_size=None)   # full batch: batch GD
    loader = DataLoader(TensorDataset(X, y), batch_size=1)      # one sample: SGD
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)  # mini-batch

    for xb, yb in loader:       # each batch is a tuple of Tensors, stacked on a new first axis
        ...

Shuffling draws from a numpy Generator seeded once by ``seed``: every epoch (every new
``for``) gets a new permutation, and two loaders with the same seed give the same sequence of
permutations, so a run can be repeated exactly.
"""

from __future__ import annotations

import bisect
import itertools
import math
import numbers
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._tensor import Tensor, as_array
from .creation import random_generator
from .ops.registry import check_dtype, to_array

if TYPE_CHECKING:
    from ._tensor import TensorLike
    from .creation import SeedLike

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "DataLoader",
           "train_val_test_split"]


class Dataset:
    """A sized collection of samples: subclasses define ``__len__`` and ``__getitem__``.

    ``__getitem__(i)`` returns one sample, usually a tuple such as ``(x, y)``; its parts may be
    Tensors, numpy arrays or Python numbers. ``DataLoader`` stacks the parts into batches.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 10
    ...     def __getitem__(self, i): return (float(i), i * i)
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        """``a + b``: the samples of ``a``, then those of ``b`` (a ConcatDataset)."""
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are rows: item ``i`` is ``(t[i] for t in tensors)``, as a tuple of Tensors.

    Args:
        *tensors: Tensors, numpy arrays (or nested lists) with the same first dimension. The
            arrays are shared, not copied; a Tensor's graph is not kept (data is data).

    >>> ds = TensorDataset(np.zeros((5, 2), np.float32), np.arange(5))
    >>> len(ds), ds[0][1]
    (5, tensor(0))
    """

    def __init__(self, *tensors: TensorLike) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor or array")
        arrays = []
        for i, t in enumerate(tensors):
            if isinstance(t, Tensor):
                a = t.data
            elif isinstance(t, np.ndarray):
                check_dtype(t.dtype, "TensorDataset")
                a = t
            else:
                a = to_array(t, "TensorDataset")
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is 0-d (a scalar); every tensor "
                                 "needs a first dimension that indexes the samples")
            arrays.append(a)
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) > 1:
            raise ValueError(f"TensorDataset: all tensors must have the same first dimension (one "
                             f"row per sample), got lengths {lengths}")
        self.arrays: tuple[np.ndarray, ...] = tuple(arrays)

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        """The data as Tensors (sharing memory with ``arrays``), as PyTorch's attribute."""
        return tuple(Tensor(a) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        """Row ``index`` of every tensor; an index array or slice gives a whole batch."""
        n = len(self)
        if isinstance(index, numbers.Integral) and not -n <= index < n:  # type: ignore[operator]  # numbers' ABCs declare no comparisons (mypy#3186)
            raise IndexError(f"TensorDataset: index {index} is out of range for {n} samples")
        try:
            return tuple(Tensor(np.asarray(a[index])) for a in self.arrays)
        except IndexError as e:
            raise IndexError(f"TensorDataset: {e} (the dataset has {n} samples)") from None


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: item ``i`` is
    ``dataset[indices[i]]`` (a list of positions gives ``dataset[[indices[j] for j in i]]``).

    >>> part = Subset(TensorDataset(np.arange(5) * 10), [4, 0])
    >>> len(part), part[0]
    (2, (tensor(40),))
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """The samples of several datasets one after another (what ``a + b`` makes).

    >>> both = TensorDataset(np.zeros(3, np.float32)) + TensorDataset(np.ones(2, np.float32))
    >>> len(both), both[3]
    (5, (tensor(1.),))
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: Any) -> Any:
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"ConcatDataset: an index must be an int, got {index!r}")
        if index < 0:
            if -index > n:  # type: ignore[operator]  # (numbers' ABCs: mypy#3186) PyTorch's error
                raise ValueError(f"ConcatDataset: absolute value of index should not exceed "
                                 f"dataset length ({index} for {n} samples)")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(dataset: Dataset, lengths: Sequence[float],
                 generator: np.random.Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random Subsets of the given ``lengths``.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1: each gets
    ``floor(frac * n)`` samples and the remainder is dealt out one by one, round-robin from the
    first split (as PyTorch). ``generator`` is a numpy Generator; None draws from the default
    one that ``ag.manual_seed`` seeds.

    >>> train, val, test = random_split(range(10), [0.5, 0.3, 0.2],
    ...                                 generator=np.random.default_rng(0))
    >>> len(train), len(val), len(test)
    (5, 3, 2)
    >>> sorted(list(train) + list(val) + list(test)) == list(range(10))
    True
    """
    name = "random_split"
    rng = random_generator(generator, name, seeds=False)
    lengths = list(lengths)
    for i, length in enumerate(lengths):
        if isinstance(length, bool) or not isinstance(length, numbers.Real):
            raise TypeError(f"{name}: lengths must be ints or fractions, got {length!r} at "
                            f"index {i}")
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"{name}: Fraction at index {i} is not between 0 and 1")
            counts.append(math.floor(n * frac))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"{name}: Length of split at index {i} is 0. This might result in "
                              "an empty dataset.", stacklevel=2)
        lengths = counts
    if any(not isinstance(length, numbers.Integral) or length < 0 for length in lengths) \
            or sum(lengths) != n:
        raise ValueError(f"{name}: Sum of input lengths does not equal the length of the input "
                         f"dataset! Got lengths {lengths} for {n} samples (counts summing to "
                         f"{n}, or fractions summing to 1)")
    order = rng.permutation(n).tolist()
    ends = list(itertools.accumulate(lengths))
    return [Subset(dataset, order[end - length:end]) for end, length in zip(ends, lengths)]


def _is_plain_tensor_dataset(dataset) -> bool:
    """True when batches can be cut from the arrays directly (``__getitem__`` not overridden)."""
    return (isinstance(dataset, TensorDataset)
            and type(dataset).__getitem__ is TensorDataset.__getitem__)


class DataLoader:
    """Iterate over a dataset in batches: each batch is a tuple of Tensors.

    Args:
        dataset: a ``Dataset`` (anything with ``__len__`` and ``__getitem__``).
        batch_size: samples per batch. ``None``, or any value >= ``len(dataset)``, gives one
            batch of everything (full-batch gradient descent); ``1`` gives SGD.
        shuffle: visit the samples in a new random order every epoch.
        drop_last: skip the last batch when it is smaller than ``batch_size``. (A batch size
            larger than the dataset is the full dataset, so full-batch loaders drop nothing.)
        seed: seeds the numpy Generator that draws the permutations (an int, a Generator, or
            None for fresh entropy). Each iteration draws the next permutation, so epochs
            differ, and the same seed repeats the same sequence of epochs.
        sampler: an iterable of dataset indices with a length (such as
            ``distributed.DistributedSampler``), read anew each epoch, in place of ``shuffle``
            (as in PyTorch, giving both is an error).

    Batches stack the samples along a new first axis and keep their dtypes (integer labels
    stay int64, float32 data stays float32; Python floats become float32, as in
    ``ag.tensor``). A sample that is a single value, not a tuple, gives 1-tuples:
    ``for (xb,) in loader``. Batches are copies: modifying one never changes the dataset.

    >>> X, y = np.zeros((50, 2), np.float32), np.arange(50) % 2
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
    >>> len(loader)            # number of batches per epoch
    2
    >>> [tuple(xb.shape) for xb, yb in loader]
    [(32, 2), (18, 2)]
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: SeedLike = None, sampler=None) -> None:
        if isinstance(dataset, (tuple, list, np.ndarray, Tensor)):
            raise TypeError(f"DataLoader expects a Dataset, got a {type(dataset).__name__}; wrap "
                            "arrays as DataLoader(TensorDataset(X, y), ...)")
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader expects a Dataset (with __len__ and __getitem__), got "
                            f"{type(dataset).__name__}")
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
                raise TypeError(f"DataLoader: batch_size must be a positive int or None (full "
                                f"batch), got {type(batch_size).__name__} {batch_size!r}")
            if batch_size < 1:
                raise ValueError(f"DataLoader: batch_size must be >= 1 (or None for the full "
                                 f"dataset), got {batch_size}")
            batch_size = int(batch_size)
        for flag, value in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"DataLoader: {flag} must be True or False, got "
                                f"{type(value).__name__} {value!r}")
        if len(dataset) == 0:
            raise ValueError("DataLoader: the dataset is empty (len 0); there is nothing to load")
        if sampler is not None:
            if not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
                raise TypeError(f"DataLoader: sampler must be an iterable of indices with a "
                                f"length, got {type(sampler).__name__}")
            if shuffle:
                raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        self.sampler = sampler
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._rng = random_generator(seed, "DataLoader")

    def _batch_size(self, n: int) -> int:
        return n if self.batch_size is None else min(self.batch_size, n)

    def __len__(self) -> int:
        """Number of batches in one epoch."""
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        if n == 0:  # an empty sampler: no batches
            return 0
        size = self._batch_size(n)
        return n // size if self.drop_last else math.ceil(n / size)

    def __iter__(self) -> Iterator[Any]:
        # The permutation is drawn here, not on the first next(): each iter() is one epoch.
        order: np.ndarray | None
        if self.sampler is not None:
            order = np.array(list(self.sampler), dtype=np.intp)
            return self._batches(len(order), order) if len(order) else iter(())
        n = len(self.dataset)
        order = self._rng.permutation(n) if self.shuffle else None
        return self._batches(n, order)

    def _batches(self, n, order):
        size = self._batch_size(n)
        stop = n - n % size if self.drop_last else n
        fast = _is_plain_tensor_dataset(self.dataset)
        for start in range(0, stop, size):
            end = min(start + size, n)
            index = slice(start, end) if order is None else order[start:end]
            if fast:  # one fancy-indexing (or slicing) copy per array, no per-sample work
                arrays = self.dataset.arrays  # type: ignore[attr-defined]  # a TensorDataset
                yield tuple(Tensor(np.array(a[index])) for a in arrays)
            else:
                rows = range(start, end) if isinstance(index, slice) else index.tolist()
                yield _collate([self.dataset[i] for i in rows])

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size="
                f"{self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"seed={self.seed!r})")


def _collate(samples: list) -> tuple[Tensor, ...]:
    """Stack a list of samples (tuples of parts, or single values) into a tuple of Tensors."""
    first = samples[0]
    if isinstance(first, dict):
        raise TypeError("DataLoader: samples that are dicts are not supported; return a tuple "
                        "such as (x, y) from __getitem__")
    if not isinstance(first, (tuple, list)):
        return (_stack(samples, 0),)
    width = len(first)
    for s in samples:
        if not isinstance(s, (tuple, list)) or len(s) != width:
            got = len(s) if isinstance(s, (tuple, list)) else type(s).__name__
            raise ValueError(f"DataLoader: every sample must have the same structure; the first "
                             f"has {width} parts, another has {got}")
    return tuple(_stack(list(field), i) for i, field in enumerate(zip(*samples)))


def _stack(values: list, part: int) -> Tensor:
    arrays = [v.data if isinstance(v, Tensor) else v if isinstance(v, np.ndarray)
              else to_array(v, "DataLoader") for v in values]
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        raise ValueError(f"DataLoader: cannot stack part {part} of the samples into a batch: "
                         f"they have different shapes {shapes}")
    out = np.stack(arrays)
    check_dtype(out.dtype, "DataLoader")
    return Tensor(out)


# ---- train / validation / test split ---------------------------------------------------------


def _split_count(value, n: int, name: str) -> int:
    """A split size given as a fraction of ``n`` (rounded up) or as an absolute count."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"train_val_test_split: {name} must be a fraction in [0, 1) or a count, "
                        f"got {value!r}")
    if isinstance(value, numbers.Integral):
        if not 0 <= value <= n:  # type: ignore[operator]  # numbers' ABCs declare no comparisons (mypy#3186)
            raise ValueError(f"train_val_test_split: {name}={value} samples is not in [0, {n}] "
                             f"(the arrays have {n} samples)")
        return int(value)
    if isinstance(value, numbers.Real):
        if not 0.0 <= value < 1.0:  # type: ignore[operator]  # (as above) also refuses NaN
            raise ValueError(f"train_val_test_split: {name}={value!r} must be a fraction in "
                             f"[0, 1) or an int count of samples")
        # Round away float noise first: 0.1 * 30 is 3.0000000000000004, which is 3 samples.
        return math.ceil(round(float(value) * n, 6))
    raise TypeError(f"train_val_test_split: {name} must be a fraction in [0, 1) or an int "
                    f"count, got {type(value).__name__} {value!r}")


def _round_table(sizes: np.ndarray, totals: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Samples per (class, split): each entry is its exact share ``sizes[c] * totals[s] / n``
    rounded down or up, every row sums to its class size and every column to its split size.

    Start from the floors, then give the missing units to the cells with the largest fractional
    parts (``tiebreak`` orders equal ones); when that greedy pass gets stuck, move units along
    an augmenting path (a bipartite b-matching). Such a rounding always exists, because the
    exact shares are a fractional one (a transportation polytope has integral vertices).
    Integer arithmetic throughout.
    """
    n = int(sizes.sum())
    exact = np.outer(sizes, totals)  # n times the shares
    table, frac = exact // n, exact % n
    need_row, need_col = sizes - table.sum(1), totals - table.sum(0)
    up = np.zeros(table.shape, dtype=bool)
    for i in np.lexsort((tiebreak.ravel(), -frac.ravel())):
        c, s = divmod(int(i), table.shape[1])
        if frac[c, s] and need_row[c] and need_col[s]:
            up[c, s] = True
            need_row[c] -= 1
            need_col[s] -= 1
    while need_row.any():
        start = ("row", int(np.flatnonzero(need_row)[0]))
        parent: dict[tuple[str, int], tuple[str, int] | None] = {start: None}
        queue, end = [start], None
        while end is None:  # breadth first: row -(unused cell)-> split -(used cell)-> row
            if not queue:
                raise RuntimeError("train_val_test_split: no stratified rounding found (a bug)")
            kind, i = queue.pop(0)
            if kind == "row":
                steps: list[tuple[str, Any]] = [
                    ("col", s) for s in np.flatnonzero((frac[i] > 0) & ~up[i])]
            else:
                steps = [("row", c) for c in np.flatnonzero(up[:, i])]
            for node in steps:
                node = (node[0], int(node[1]))
                if node not in parent:
                    parent[node] = (kind, i)
                    queue.append(node)
                    if node[0] == "col" and need_col[node[1]]:
                        end = node
                        break
        node = end
        while (prev := parent[node]) is not None:
            if node[0] == "col":
                up[prev[1], node[1]] = True
            else:
                up[node[1], prev[1]] = False
            node = prev
        need_row[start[1]] -= 1
        need_col[end[1]] -= 1
    return table + up


def _take(a, index: np.ndarray):
    if isinstance(a, Tensor):
        return Tensor(a.data[index])
    if isinstance(a, np.ndarray):
        return a[index]
    return type(a)(a[i] for i in index.tolist())


def train_val_test_split(*arrays: Any, val: float = 0.0, test: float = 0.0,
                         seed: SeedLike = None, stratify: TensorLike | None = None,
                         shuffle: bool = True) -> tuple[tuple[Any, ...], ...]:
    """Split arrays (rows are samples) into train, validation and test parts.

    Args:
        *arrays: numpy arrays, Tensors or lists with the same length; each part comes back as
            the same kind (Tensors are new tensors holding copies, outside any graph).
        val: the size of the validation split, as a fraction of the samples in [0, 1) or as
            an int count. Rounding follows scikit-learn: ``n_test = ceil(test * n)``, then
            ``n_val = ceil(val * n)``, and train is the rest, which must not be empty.
        test: the size of the test split, as ``val``.
        seed: seeds the shuffle (an int, a numpy Generator, or None for fresh entropy).
        stratify: class labels, one per sample (often ``y`` itself): each class is split
            separately, so every split keeps the class proportions: the split sizes are those
            above, and each class's count in each split is its exact share
            ``class size * split size / n`` rounded down or up. Every class needs 2 samples.
        shuffle: False keeps the order and cuts contiguous blocks, train first, then val, then
            test (for time series: fit on the past, test on the future); with ``stratify``,
            each class is cut so.

    Returns:
        ``(train, val, test)``, each a tuple with one part per input array (empty parts when a
        size is 0).

    >>> X, y = np.arange(20.0).reshape(10, 2), np.array([0, 1] * 5)
    >>> (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = train_val_test_split(
    ...     X, y, val=0.2, test=0.2, seed=0, stratify=y)
    >>> len(X_tr), len(X_va), len(X_te)
    (6, 2, 2)
    >>> np.bincount(y_va), np.bincount(y_te)  # stratified: each class in every part
    (array([1, 1]), array([1, 1]))
    """
    name = "train_val_test_split"
    if not arrays:
        raise ValueError(f"{name}: give at least one array to split")
    for i, a in enumerate(arrays):
        if not isinstance(a, (np.ndarray, Tensor, list, tuple)):
            raise TypeError(f"{name}: argument {i} is a {type(a).__name__}; pass numpy arrays, "
                            "Tensors or lists")
        if isinstance(a, (np.ndarray, Tensor)) and a.ndim == 0:
            raise ValueError(f"{name}: argument {i} is 0-d; arrays to split need a first "
                             "dimension (one row per sample)")
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(f"{name}: all arrays must have the same number of samples (rows), got "
                         f"lengths {lengths}")
    n = lengths[0]
    n_test = _split_count(test, n, "test")
    n_val = _split_count(val, n, "val")
    fractions = [isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral)
                 for v in (val, test)]
    if all(fractions) and val + test >= 1:
        raise ValueError(f"{name}: the fractions val={val} and test={test} sum to "
                         f"{val + test:g} >= 1, which leaves no training data")
    n_train = n - n_val - n_test
    if n_train < 1:
        raise ValueError(f"{name}: no samples left for training: {n} samples, val={val!r} takes "
                         f"{n_val} and test={test!r} takes {n_test}")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"{name}: shuffle must be True or False, got {shuffle!r}")
    rng = random_generator(seed, name)

    if stratify is None:
        order = rng.permutation(n) if shuffle else np.arange(n)
        splits = [order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]]
    else:
        splits = _stratified(stratify, n, n_val, n_test, rng, bool(shuffle))
    return tuple(tuple(_take(a, idx) for a in arrays) for idx in splits)


def _stratified(stratify, n, n_val, n_test, rng, shuffle):
    name = "train_val_test_split"
    labels = as_array(stratify)
    if labels.shape != (n,):
        hint = "; for one-hot labels pass y.argmax(axis=1)" if labels.ndim == 2 else ""
        raise ValueError(f"{name}: stratify must hold one class label per sample, shape ({n},), "
                         f"got shape {labels.shape}{hint}")
    classes, codes = np.unique(labels, return_inverse=True)
    codes = codes.reshape(-1)
    sizes = np.bincount(codes, minlength=len(classes)).astype(np.int64)
    if (n_val or n_test) and sizes.min() < 2:
        rare = classes[np.argmin(sizes)].item()
        raise ValueError(f"{name}: stratify: class {rare!r} has only 1 sample, too few to keep "
                         "class proportions across splits; drop stratify or the class")
    totals = np.array([n - n_val - n_test, n_val, n_test])
    tiebreak = rng.random((len(classes), 3)) if shuffle else np.arange(3 * len(classes))
    table = _round_table(sizes, totals, tiebreak.reshape(len(classes), 3))
    parts: tuple[list[np.ndarray], ...] = ([], [], [])
    for c in range(len(classes)):
        members = np.flatnonzero(codes == c)
        if shuffle:
            members = rng.permutation(members)
        cuts = np.cumsum(table[c])[:2]
        for part, piece in zip(parts, np.split(members, cuts)):
            part.append(piece)
    splits = [np.concatenate(p) for p in parts]
    return [rng.permutation(s) if shuffle else np.sort(s) for s in splits]
