"""``ag.utils``: torch.utils's path to the data tools (``ag.utils.data``)."""

from . import data

__all__ = ["data"]
