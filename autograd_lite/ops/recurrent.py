"""A fused LSTM step in two nodes with hand-written backwards: ``lstm_gates`` (the four gate
pre-activations, two matmuls) and ``lstm_update`` (the activations, the new cell state and the
new hidden state). ``nn.LSTM(..., fused=True)`` and ``nn.LSTMCell(..., fused=True)`` run one
``lstm_cell`` (the pair) per time step; without ``fused`` they build the same step from
``linear``, ``sigmoid``, ``tanh`` and slicing, which draws op by op.

An op has one output, so ``lstm_update`` returns ``[h', c', i, f, g, o]`` side by side on the
last axis (six blocks of ``hidden`` columns), and both ops take the state the same way: ``state``
is ``[h, c]`` or a previous step's whole output, of which they read the first two blocks. A
sequence of steps needs no slicing between them; the rules read the activated gates back from
the output instead of recomputing them (as ``tanh``'s rule reads ``out``). The gate gradient is
the one rule of ``lstm_update`` for ``pre``, computed once per step; ``lstm_gates``'s rules are
the matmuls of a linear layer.

>>> H = 2
>>> x = ag.ones(3, 4, dtype=np.float64)                   # (N, input)
>>> state = ag.zeros(3, 2 * H, dtype=np.float64)          # [h, c]
>>> w_ih, w_hh = ag.zeros(4 * H, 4, dtype=np.float64), ag.zeros(4 * H, H, dtype=np.float64)
>>> b = ag.zeros(4 * H, dtype=np.float64)
>>> out = ag.ops.lstm_cell(x, state, w_ih, w_hh, b, b)
>>> out.shape                                             # (N, 6 hidden)
(3, 12)
>>> out[0, 2 * H:].tolist()        # zero weights: i = f = o = sigmoid(0), g = tanh(0)
[0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.5, 0.5]
>>> ag.ops.lstm_cell(x, out, w_ih, w_hh, b, b).shape      # the next step takes it whole
(3, 12)
"""

import numpy as np

from .registry import composite, primitive


def _blocks(a, n, size):
    """The first ``n`` blocks of ``size`` columns of ``a``'s last axis (views; getitem nodes on
    Tensors)."""
    return [a[..., k * size:(k + 1) * size] for k in range(n)]


def _columns(n, dtype, values):
    """A (4 n,) row holding ``values[k]`` in gate k's columns (i, f, g, o), cached."""
    key = (n, np.dtype(dtype), values)
    if key not in _COLUMNS:
        _COLUMNS[key] = np.repeat(np.array(values, dtype), n)
        _COLUMNS[key].flags.writeable = False
    return _COLUMNS[key]


_COLUMNS: dict[tuple[int, np.dtype, tuple[float, ...]], np.ndarray] = {}
_HALF = (0.5, 0.5, 1.0, 0.5)  # sigmoid(a) = tanh(a/2)/2 + 1/2 in i, f, o; g is tanh(a)
_SHIFT = (0.5, 0.5, 0.0, 0.5)
_AT_G = (0.0, 0.0, 1.0, 0.0)


def _weight_grad(g, v):
    """sum over the batch of g^T v: (4 hidden, features), for any batch shape."""
    return g.reshape(-1, g.shape[-1]).T @ v.reshape(-1, v.shape[-1])


def _state_h_grad(g, out, x, state, w_ih, w_hh, b_ih, b_hh):
    """h's share of the state's gradient, g w_hh; c and any gate columns get none here."""
    dh = g @ w_hh
    rest = np.zeros(state.shape[:-1] + (state.shape[-1] - dh.shape[-1],), dh.dtype)
    return np.concatenate([dh, rest], axis=-1)


@primitive(lambda g, out, x, state, w_ih, w_hh, b_ih, b_hh: g @ w_ih,
           _state_h_grad,
           lambda g, out, x, state, w_ih, w_hh, b_ih, b_hh: _weight_grad(g, x),
           lambda g, out, x, state, w_ih, w_hh, b_ih, b_hh:
           _weight_grad(g, state[..., :w_hh.shape[1]]),
           lambda g, out, x, state, w_ih, w_hh, b_ih, b_hh: g,
           lambda g, out, x, state, w_ih, w_hh, b_ih, b_hh: g,
           saves=("w_ih", "w_hh", "x", "state", "", ""), kind="lstm_gates", public=False,
           derivative=("w_ih", "[w_hh, 0]", "g^T x", "g^T h", "1", "1"))
def lstm_gates(x, state, w_ih, w_hh, b_ih, b_hh):
    """An LSTM step's four gate pre-activations, in PyTorch's order i, f, g, o:
    ``x w_ih^T + b_ih + h w_hh^T + b_hh``, ``h`` being the first ``hidden`` columns of ``state``
    ([h, c], or a previous step's ``lstm_update`` output)."""
    n = w_hh.shape[1]
    if state.shape[-1] not in (2 * n, 6 * n):
        raise ValueError(f"state has {state.shape[-1]} columns; [h, c] has {2 * n} and a "
                         f"previous step's output {6 * n} (hidden size {n})")
    h = state[..., :n]
    # (w_hh h^T)^T is h w_hh^T; BLAS computes it about twice as fast this way round
    a = np.matmul(x, w_ih.T) + ((w_hh @ h.T).T if h.ndim == 2 else np.matmul(h, w_hh.T))
    a += b_ih + b_hh  # a is a new array: add in place
    return a


def _cell_grad(g, out):
    """dc', the gradient reaching the new cell state directly and through h' = o tanh(c')."""
    n = out.shape[-1] // 6
    t = np.tanh(out[..., n:2 * n])
    return g[..., n:2 * n] + g[..., :n] * out[..., 5 * n:] * (1 - t * t)


def _pre_grad(g, out, pre, state):
    """dA: each gate's gradient (from c' and h', plus any reaching the gate columns of the
    output) times its activation's slope."""
    n = out.shape[-1] // 6
    dc = _cell_grad(g, out)
    i, f, gate, o = _blocks(out[..., 2 * n:], 4, n)
    tanh_c = np.tanh(out[..., n:2 * n])
    sent = np.concatenate([dc * gate, dc * state[..., n:2 * n], dc * i, g[..., :n] * tanh_c],
                          axis=-1)
    # sigmoid'(a) = s (1 - s) and tanh'(a) = (1 + g)(1 - g): (1 - gates)(gates + 1 at g's block)
    gates = out[..., 2 * n:]
    slope = (1 - gates) * (gates + _columns(n, out.dtype, _AT_G))
    return (g[..., 2 * n:] + sent) * slope


def _state_c_grad(g, out, pre, state):
    """c's share of the state's gradient, dc' f; h and any gate columns get none here."""
    n = out.shape[-1] // 6
    dc = _cell_grad(g, out) * out[..., 3 * n:4 * n]
    before = np.zeros(dc.shape[:-1] + (n,), dc.dtype)
    after = np.zeros(dc.shape[:-1] + (state.shape[-1] - 2 * n,), dc.dtype)
    return np.concatenate([before, dc, after], axis=-1)


@primitive(_pre_grad, _state_c_grad, saves=("out state", "out"), kind="lstm_update",
           public=False, derivative=("gates' slopes x [dc' g, dc' c, dc' i, dh' tanh(c')]",
                                     "[0, dc' f]"))
def lstm_update(pre, state):
    """An LSTM step's new state from its gate pre-activations ``pre`` (``lstm_gates``) and the
    cell state ``c`` (columns hidden..2 hidden of ``state``): c' = f c + i g; h' = o tanh(c').
    Returns ``[h', c', i, f, g, o]`` on the last axis, activations applied."""
    n = pre.shape[-1] // 4
    if state.shape[-1] not in (2 * n, 6 * n) or pre.shape[-1] != 4 * n:
        raise ValueError(f"pre has {pre.shape[-1]} columns and state {state.shape[-1]}: expected "
                         f"4 hidden and 2 or 6 hidden")
    c = state[..., n:2 * n]
    # all four activations in one tanh: sigmoid(a) = tanh(a / 2) / 2 + 1/2 (it never overflows)
    half = _columns(n, pre.dtype, _HALF)
    gates = np.tanh(pre * half)
    gates *= half
    gates += _columns(n, pre.dtype, _SHIFT)
    i, f, gate, o = _blocks(gates, 4, n)
    c_new = f * c + i * gate
    return np.concatenate([o * np.tanh(c_new), c_new, gates], axis=-1)


@composite(kind="lstm_cell", public=False)
def lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh):
    """One LSTM step as PyTorch's LSTMCell computes it, gates in the order i, f, g, o, as two
    nodes: ``lstm_gates`` then ``lstm_update``. Returns ``[h', c', i, f, g, o]``."""
    return lstm_update(lstm_gates(x, state, w_ih, w_hh, b_ih, b_hh), state)
