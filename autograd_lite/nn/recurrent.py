"""Recurrent layers with PyTorch's names, arguments, parameter layout and results: the cells
``RNNCell``, ``LSTMCell`` and ``GRUCell`` (one time step) and the sequence layers ``RNN``,
``LSTM`` and ``GRU`` (stacked layers, either direction, dropout between layers).

Every step is built from the engine's ops (``linear``, ``sigmoid``, ``tanh``, slicing), so a
step draws op by op and its gradient is the chain rule's. ``LSTM`` and ``LSTMCell`` also take
``fused=True``: each step is then two nodes with hand-written backwards, ``lstm_gates`` and
``lstm_update`` (see ``ops/recurrent.py``), several times faster to train, with the same values
and gradients.

>>> _ = ag.manual_seed(0)
>>> lstm = ag.nn.LSTM(3, 5, num_layers=2, batch_first=True)
>>> output, (h_n, c_n) = lstm(ag.randn(4, 7, 3))       # a batch of 4 sequences of length 7
>>> output.shape, h_n.shape, c_n.shape
((4, 7, 5), (2, 4, 5), (2, 4, 5))
>>> [name for name, _ in lstm.named_parameters()][:4]
['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .. import ops as _ops
from .._tensor import Tensor, as_array
from . import functional as F
from . import init
from .layers import _check_input_dtype
from .module import Module, Parameter

if TYPE_CHECKING:
    from ..creation import SeedLike

_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


# ---- one time step ------------------------------------------------------------------------------
# ``xi`` is the input's share of the gates, x w_ih^T + b_ih: a sequence layer computes it for all
# time steps with one linear op, then runs the steps.


def _rnn_step(xi, h, w_hh, b_hh, nonlinearity):
    a = xi + F.linear(h, w_hh, b_hh)
    return _ops.tanh(a) if nonlinearity == "tanh" else _ops.relu(a)


def _lstm_step(xi, h, c, w_hh, b_hh):
    i, f, g, o = (xi + F.linear(h, w_hh, b_hh)).chunk(4, -1)
    c = _ops.sigmoid(f) * c + _ops.sigmoid(i) * _ops.tanh(g)
    return _ops.sigmoid(o) * _ops.tanh(c), c


def _fused_lstm_steps(xs, state, w_ih, w_hh, b_ih, b_hh, order):
    """The ``lstm_cell`` op over the time steps ``xs`` (a list) in ``order``, from ``state`` =
    [h, c]: each step's whole output ([h', c', gates], see ops/recurrent.py), in time order."""
    if b_ih is None:  # bias=False: the fused op always adds two biases
        b_ih = b_hh = np.zeros(w_ih.shape[0], w_ih.dtype)
    outs: list[Any] = [None] * len(xs)
    for t in order:
        state = outs[t] = _ops.lstm_cell(xs[t], state, w_ih, w_hh, b_ih, b_hh)
    return outs


def _time_steps(x):
    """The (L, N, features) input as a list of its L steps (a getitem each, a graph node only
    when x requires grad). The layers work on such lists and stack once at the end: slicing a
    stacked tensor at every step would send a full-size gradient back per step, L^2 work."""
    return [x[t] for t in range(x.shape[0])]


def _gru_step(xi, h, w_hh, b_hh):
    xr, xz, xn = xi.chunk(3, -1)
    hr, hz, hn = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r = _ops.sigmoid(xr + hr)
    z = _ops.sigmoid(xz + hz)
    n = _ops.tanh(xn + r * hn)
    return n + z * (h - n)  # (1 - z) n + z h, as PyTorch writes it


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(as_array(x))


def _check_nonlinearity(nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")


def _check_sizes(input_size, hidden_size):
    for name, n in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < (name[0] == "h"):
            raise ValueError(f"{name} must be {'a positive' if name[0] == 'h' else 'an'} "
                             f"integer, got {n!r}")


# ---- cells --------------------------------------------------------------------------------------


class _CellBase(Module):
    # What the three cells share: parameters weight_ih (gates * hidden, input), weight_hh
    # (gates * hidden, hidden), bias_ih and bias_hh (gates * hidden), and the argument checks.

    def __init__(self, input_size, hidden_size, bias, gates, dtype, generator):
        super().__init__()
        _check_sizes(input_size, hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(np.empty((gates * hidden_size, input_size), dtype))
        self.weight_hh = Parameter(np.empty((gates * hidden_size, hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(np.empty(gates * hidden_size, dtype))
            self.bias_hh = Parameter(np.empty(gates * hidden_size, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: SeedLike = None) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound, generator)

    def _name(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _check(self, x, states):
        """The input and the states as Tensors (zeros for a state not given), each checked
        against the cell's sizes and dtype before anything is computed."""
        x = _as_tensor(x)
        name = self._name()
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: expected input of shape (N, {self.input_size}) or "
                               f"({self.input_size},), got {x.shape}")
        _check_input_dtype(self, x, "weight_ih", self.weight_ih)
        want = x.shape[:-1] + (self.hidden_size,)
        checked = []
        for label, s in states:
            if s is None:
                checked.append(np.zeros(want, self.weight_ih.dtype))
                continue
            s = _as_tensor(s)
            if s.shape != want:
                raise RuntimeError(f"{name}: expected {label} of shape {want} for an input of "
                                   f"shape {x.shape}, got {s.shape}")
            _check_input_dtype(self, s, "weight_hh", self.weight_hh)
            checked.append(s)
        return x, checked

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        if getattr(self, "fused", False):
            text += ", fused=True"
        return text


class RNNCell(_CellBase):
    """One step of an Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu, with
    ``nonlinearity="relu"``). Input (N, input_size) or unbatched (input_size,); ``hx`` of the
    same batch shape with hidden_size features, zeros if not given; returns h'.

    >>> cell = ag.nn.RNNCell(3, 2)
    >>> cell(ag.ones(4, 3)).shape, cell(ag.ones(3)).shape
    ((4, 2), (2,))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, dtype: npt.DTypeLike = np.float32,
                 generator: SeedLike = None) -> None:
        _check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, bias, 1, dtype, generator)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,) = self._check(input, [("hx", hx)])
        xi = F.linear(x, self.weight_ih, self.bias_ih)
        return _rnn_step(xi, h, self.weight_hh, self.bias_hh, self.nonlinearity)


class LSTMCell(_CellBase):
    """One LSTM step, gates in PyTorch's order i, f, g, o: c' = f c + i g, h' = o tanh(c').
    Input (N, input_size) or unbatched (input_size,); ``hx`` a pair (h, c), zeros if not given;
    returns (h', c'). ``fused=True`` computes the step as two fused nodes (``lstm_cell``).

    >>> cell = ag.nn.LSTMCell(3, 2)
    >>> h, c = cell(ag.ones(4, 3))
    >>> h.shape, c.shape
    ((4, 2), (4, 2))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype: npt.DTypeLike = np.float32, generator: SeedLike = None,
                 fused: bool = False) -> None:
        super().__init__(input_size, hidden_size, bias, 4, dtype, generator)
        self.fused = fused

    def forward(self, input: Tensor,
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"{self._name()}: hx must be a pair (h, c), got "
                            f"{type(hx).__name__}")
        h, c = (None, None) if hx is None else hx
        x, (h, c) = self._check(input, [("h", h), ("c", c)])
        if self.fused:
            n = self.hidden_size
            out = _fused_lstm_steps([x], _ops.concatenate([h, c], axis=-1), self.weight_ih,
                                    self.weight_hh, self.bias_ih, self.bias_hh, [0])[0]
            return out[..., :n], out[..., n:2 * n]
        xi = F.linear(x, self.weight_ih, self.bias_ih)
        return _lstm_step(xi, h, c, self.weight_hh, self.bias_hh)


class GRUCell(_CellBase):
    """One GRU step, gates in PyTorch's order r, z, n: r = sigmoid(W_ir x + b_ir + W_hr h +
    b_hr), z likewise, n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h.
    Input (N, input_size) or unbatched (input_size,); ``hx`` zeros if not given; returns h'.

    >>> ag.nn.GRUCell(3, 2)(ag.ones(4, 3)).shape
    (4, 2)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype: npt.DTypeLike = np.float32, generator: SeedLike = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, dtype, generator)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,) = self._check(input, [("hx", hx)])
        xi = F.linear(x, self.weight_ih, self.bias_ih)
        return _gru_step(xi, h, self.weight_hh, self.bias_hh)


# ---- sequence layers ----------------------------------------------------------------------------


class _RNNBase(Module):
    # What RNN, LSTM and GRU share: PyTorch's parameters weight_ih_l{k}, weight_hh_l{k},
    # bias_ih_l{k}, bias_hh_l{k} (and *_reverse for the backward direction), registered layer by
    # layer, direction by direction; the argument checks; the loop over layers and directions.

    def __init__(self, mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                 bidirectional, dtype, generator):
        super().__init__()
        _check_sizes(input_size, hidden_size)
        if not isinstance(num_layers, numbers.Integral) or num_layers < 1:
            raise ValueError(f"num_layers must be greater than zero, got {num_layers!r}")
        # (numbers.Number declares no comparisons or float(): mypy#3186)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) \
                or not 0 <= dropout <= 1:  # type: ignore[operator]
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:  # type: ignore[operator]
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers: int  # (an Integral, checked above; to mypy not an int: mypy#3186)
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first  # type: ignore[assignment]
        self.dropout, self.bidirectional = float(dropout), bidirectional  # type: ignore[arg-type]
        gates = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else hidden_size * directions
            for suffix in self._suffixes(layer):
                setattr(self, "weight_ih" + suffix, Parameter(np.empty((gates, n_in), dtype)))
                setattr(self, "weight_hh" + suffix,
                        Parameter(np.empty((gates, hidden_size), dtype)))
                if bias:
                    setattr(self, "bias_ih" + suffix, Parameter(np.empty(gates, dtype)))
                    setattr(self, "bias_hh" + suffix, Parameter(np.empty(gates, dtype)))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: SeedLike = None) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound, generator)

    def _suffixes(self, layer):
        return [f"_l{layer}", f"_l{layer}_reverse"][:2 if self.bidirectional else 1]

    def _weights(self, suffix):
        return [getattr(self, name + suffix, None)
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def _name(self):
        return f"{self.mode}({self.input_size}, {self.hidden_size})"

    def _check(self, x, states):
        """The input as a (L, N, input_size) Tensor, each state as (layers * directions, N,
        hidden) (None where not given), all checked before anything is computed; and whether
        the input is batched."""
        x = _as_tensor(x)
        name, n_in = self._name(), self.input_size
        seq = "(N, L, {0}) or (L, {0})" if self.batch_first else "(L, N, {0}) or (L, {0})"
        if x.ndim not in (2, 3) or x.shape[-1] != n_in:
            raise RuntimeError(f"{name}: expected input of shape {seq.format(n_in)}, got "
                               f"{x.shape}")
        _check_input_dtype(self, x, "weight_ih_l0", self.weight_ih_l0)
        batched = x.ndim == 3
        layers = self.num_layers * (2 if self.bidirectional else 1)
        batch = (x.shape[0 if self.batch_first else 1],) if batched else ()
        want = (layers,) + batch + (self.hidden_size,)
        checked = []
        for label, s in states:
            if s is not None:
                s = _as_tensor(s)
                if s.shape != want:
                    raise RuntimeError(f"{name}: expected {label} of shape {want} for an input "
                                       f"of shape {x.shape}, got {s.shape}")
                _check_input_dtype(self, s, "weight_hh_l0", self.weight_hh_l0)
                s = s if batched else _ops.unsqueeze(s, 1)
            checked.append(s)
        if not batched:
            x = _ops.unsqueeze(x, 1)
        elif self.batch_first:
            x = _ops.swapaxes(x, 0, 1)
        return x, checked, batched

    def _run(self, x: Tensor, states: list[Tensor | None],
             step: Callable[..., Any]) -> tuple[Tensor, list[Tensor]]:
        """Run ``step(xs, suffix, reverse, first_states)`` (the outputs at every t, as a list,
        and the final states) layer by layer and direction by direction, on the input's time
        steps as a list; the last layer's output stacked as (L, N, hidden * directions), and
        each state's final values stacked as (layers * directions, N, hidden)."""
        finals: list[list[Tensor]] = [[] for _ in states]
        xs = _time_steps(x)
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(self._suffixes(layer)):
                k = layer * len(self._suffixes(layer)) + d
                first = [None if s is None else s[k] for s in states]
                ys, last = step(xs, suffix, d == 1, first)
                outputs.append(ys)
                for done, value in zip(finals, last):
                    done.append(value)
            xs = outputs[0] if len(outputs) == 1 else [
                _ops.concatenate(both, axis=-1) for both in zip(*outputs)]
            if self.dropout and self.training and layer < self.num_layers - 1:
                xs = [F.dropout(y, self.dropout, True) for y in xs]
        return _ops.stack(xs), [_ops.stack(done) for done in finals]

    def _forward_one_state(self, input, hx, cell):
        """RNN's and GRU's forward: ``h = cell(x_t W_ih^T + b_ih, h, w_hh, b_hh)`` at every
        step of every layer and direction; returns ``(output, h_n)``."""
        x, (h0,), batched = self._check(input, [("hx", hx)])

        def step(xs, suffix, reverse, first):
            w_ih, w_hh, b_ih, b_hh = self._weights(suffix)
            h = self._zeros(xs) if first[0] is None else first[0]
            ys = [None] * len(xs)
            for t in _steps(len(xs), reverse):
                h = ys[t] = cell(F.linear(xs[t], w_ih, b_ih), h, w_hh, b_hh)
            return ys, [h]

        output, (h_n,) = self._finish(*self._run(x, [h0], step), batched)
        return output, h_n

    def _finish(self, output: Tensor, finals: list[Tensor],
                batched: bool) -> tuple[Tensor, list[Tensor]]:
        """Back to the caller's layout: batch first if asked, no batch axis if none came in."""
        if not batched:
            return output[:, 0], [s[:, 0] for s in finals]
        if self.batch_first:
            output = _ops.swapaxes(output, 0, 1)
        return output, finals

    def _zeros(self, xs):
        return np.zeros((xs[0].shape[0], self.hidden_size), self.weight_ih_l0.dtype)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        defaults = {"num_layers": 1, "nonlinearity": "tanh", "bias": True, "batch_first": False,
                    "dropout": 0.0, "bidirectional": False}
        for key, default in defaults.items():
            value = getattr(self, key, default)
            if value != default:
                text += f", {key}={value!r}"
        if getattr(self, "fused", False):
            text += ", fused=True"
        return text


def _steps(length, reverse):
    return range(length - 1, -1, -1) if reverse else range(length)


class RNN(_RNNBase):
    """A multi-layer Elman RNN over a sequence: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T +
    b_hh) (or relu), as PyTorch's ``nn.RNN``. Input (L, N, input_size), (N, L, input_size) with
    ``batch_first``, or unbatched (L, input_size); ``hx`` (num_layers * directions, N,
    hidden_size), zeros if not given. Returns ``(output, h_n)``: output holds the last layer's
    h_t for every t (both directions side by side when ``bidirectional``), h_n each layer's
    and direction's final h. ``dropout`` applies to every layer's output but the last while
    training.

    >>> rnn = ag.nn.RNN(3, 4, num_layers=2, bidirectional=True)
    >>> output, h_n = rnn(ag.ones(5, 2, 3))
    >>> output.shape, h_n.shape
    ((5, 2, 8), (4, 2, 4))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, *,
                 dtype: npt.DTypeLike = np.float32, generator: SeedLike = None) -> None:
        _check_nonlinearity(nonlinearity)
        super().__init__("RNN", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, generator)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        def cell(xi, h, w_hh, b_hh):
            return _rnn_step(xi, h, w_hh, b_hh, self.nonlinearity)

        return self._forward_one_state(input, hx, cell)


class LSTM(_RNNBase):
    """A multi-layer LSTM over a sequence, as PyTorch's ``nn.LSTM`` (gates i, f, g, o). Input
    and layout as for ``RNN``; ``hx`` a pair (h_0, c_0), zeros if not given. Returns
    ``(output, (h_n, c_n))``. ``fused=True`` runs each step as two fused nodes (``lstm_cell``)
    with hand-written backwards: several times faster to train, the same numbers; the default builds
    each step from ``linear``, ``sigmoid``, ``tanh`` and slicing, so it draws op by op.

    >>> lstm = ag.nn.LSTM(3, 4, batch_first=True, fused=True)
    >>> output, (h_n, c_n) = lstm(ag.ones(2, 5, 3))
    >>> output.shape, h_n.shape, c_n.shape
    ((2, 5, 4), (1, 2, 4), (1, 2, 4))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, *, dtype: npt.DTypeLike = np.float32,
                 generator: SeedLike = None, fused: bool = False) -> None:
        if proj_size:
            raise NotImplementedError("LSTM: proj_size is not supported")
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype, generator)
        self.fused = fused

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"{self._name()}: hx must be a pair (h_0, c_0), got "
                            f"{type(hx).__name__}")
        h0, c0 = (None, None) if hx is None else hx
        x, states, batched = self._check(input, [("h_0", h0), ("c_0", c0)])

        def step(xs, suffix, reverse, first):
            w_ih, w_hh, b_ih, b_hh = self._weights(suffix)
            h, c = [self._zeros(xs) if s is None else s for s in first]
            order = _steps(len(xs), reverse)
            if self.fused:  # two nodes per step; h and c are sliced off each step's output
                n = self.hidden_size
                outs = _fused_lstm_steps(xs, _ops.concatenate([h, c], axis=-1), w_ih, w_hh,
                                         b_ih, b_hh, order)
                last = outs[order[-1]]
                return [out[..., :n] for out in outs], [last[..., :n], last[..., n:2 * n]]
            ys = [None] * len(xs)
            for t in order:
                h, c = _lstm_step(F.linear(xs[t], w_ih, b_ih), h, c, w_hh, b_hh)
                ys[t] = h
            return ys, [h, c]

        output, (h_n, c_n) = self._finish(*self._run(x, states, step), batched)
        return output, (h_n, c_n)


class GRU(_RNNBase):
    """A multi-layer GRU over a sequence, as PyTorch's ``nn.GRU`` (gates r, z, n; n = tanh(W_in
    x + b_in + r (W_hn h + b_hn))). Input, ``hx`` and results as for ``RNN``.

    >>> output, h_n = ag.nn.GRU(3, 4)(ag.ones(5, 3))        # unbatched: (L, input_size)
    >>> output.shape, h_n.shape
    ((5, 4), (1, 4))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 *, dtype: npt.DTypeLike = np.float32, generator: SeedLike = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, generator)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._forward_one_state(input, hx, _gru_step)
