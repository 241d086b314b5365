"""``ag.utils.data``: the data tools at torch.utils.data's path (the same objects as ag.data's).

>>> train, val = ag.utils.data.random_split(range(10), [0.8, 0.2])
>>> len(train), len(val)
(8, 2)
"""

from ..data import ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, random_split

__all__ = ["DataLoader", "Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"]
