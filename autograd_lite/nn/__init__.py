"""Neural-network building blocks with PyTorch's names: modules, layers, losses, init."""

from . import functional, init, utils
from .conv import (
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    MaxPool1d,
    MaxPool2d,
)
from .layers import (
    ELU,
    GELU,
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    Dropout2d,
    Embedding,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Step,
    Tanh,
    Unflatten,
)
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from .module import Module, Parameter
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = [
    "functional", "init", "utils", "Module", "Parameter",
    "Linear", "Identity", "Flatten", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
    "ParameterDict", "Dropout", "Dropout2d", "BatchNorm1d", "BatchNorm2d", "Unflatten",
    "Embedding",
    "Step", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softmax", "LogSoftmax",
    "MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
    "NLLLoss", "RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU",
    "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
]
