"""Optimizers and learning-rate schedulers, with PyTorch's names and rules.

The schedulers live in ``optim.lr_scheduler`` (as in PyTorch) and are also reachable here;
``clip_grad_norm_`` and ``clip_grad_value_`` live in ``nn.utils`` and are aliased here too.

>>> import autograd_lite as ag
>>> from autograd_lite import nn, optim
>>> model, x, y = nn.Linear(3, 1), ag.randn(8, 3), ag.randn(8, 1)
>>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> opt.zero_grad(); nn.MSELoss()(model(x), y).backward(); opt.step()
"""

from ..nn.utils import clip_grad_norm_, clip_grad_value_
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler",
    "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau",
    "LambdaLR", "MultiStepLR", "LinearLR", "OneCycleLR", "SequentialLR",
    "clip_grad_norm_", "clip_grad_value_",
]
