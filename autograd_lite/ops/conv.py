"""Convolution, pooling and embedding, as torch.nn.functional's conv1d / conv2d, max_pool1d /
max_pool2d, avg_pool1d / avg_pool2d, adaptive_avg_pool2d and embedding: declared here, reached
as nn.functional's (they are not ``ag.*`` names).

Three primitives do all the convolving, for any number of spatial dims. ``convolution`` copies
the windows of the padded input (a ``sliding_window_view``) once, into one (C * kernel
positions, output positions) matrix per sample, and multiplies the weight by them in one
batched matmul, groups as a batch axis of it: the result lands in the output's own C-contiguous
(N, O, *out) layout, so nothing downstream works on a transposed array. Its input gradient
``conv_input_grad`` (a transposed convolution) is one matmul and then one strided slice-add per
kernel position (never a loop over output positions, samples or channels); its weight gradient
``conv_weight_grad`` is one matmul summed over the samples. Each of the three is linear in both
its inputs, and the gradients of each are the other two, so second derivatives need nothing
more.

Max-pooling takes the maximum one elementwise step per kernel position along each pooled dim in
turn; its gradient goes to each window's first maximum through a mask found one comparison per
kernel position (no argmax, no scatter): where the windows tile the input (stride == kernel) the
gradient is g spread over each tile times the mask, reshaped back to the input; elsewhere one
strided slice-add per kernel position. Average pooling is a convolution with a constant kernel,
adaptive average pooling two matmuls with averaging matrices; an embedding is an integer index
into the weight's rows (a ``getitem``, whose gradient adds up repeated indices).

>>> x = ag.tensor([[[1.0, 2.0, 4.0, 8.0]]], requires_grad=True)
>>> ag.nn.functional.conv1d(x, ag.tensor([[[-1.0, 1.0]]]))
tensor([[[1., 2., 4.]]], grad_fn=<convolution>)
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import registry
from .linalg import matmul
from .registry import composite, primitive
from .shape import add_at, as_index, getitem, reshape

if TYPE_CHECKING:
    from typing import TypeAlias

    from .._tensor import Tensor, TensorLike

    Size: TypeAlias = "int | tuple[int, ...]"  # one int for every dim, or one per dim

# ---- arguments ---------------------------------------------------------------------------------


def _operand(x, name):
    """A Tensor as it is; anything else as the array an op makes of it."""
    return x if isinstance(x, registry._Tensor) else np.asarray(registry.as_operand(x, name))


def _ints(value, dims, what, name, low):
    """``value`` (an int, or a sequence of ``dims`` ints) as a tuple of ``dims`` ints >= low."""
    items = (value,) * dims if isinstance(value, (int, np.integer)) else value
    try:
        items = tuple(operator.index(v) for v in items)
    except TypeError:
        raise TypeError(f"{name}: {what} must be an int or a tuple of {dims} ints, got "
                        f"{value!r}") from None
    if len(items) != dims:
        raise ValueError(f"{name}: {what} must be an int or a tuple of {dims} ints, got "
                         f"{value!r}")
    if any(v < low for v in items):
        sign = "positive" if low else "non-negative"
        raise ValueError(f"{name}: {what} must be {sign}, got {value!r}")
    return items


def _check_floating(name, **operands):
    """Floating operands of one dtype (PyTorch refuses mixing float32 and float64 here)."""
    dtypes = {what: x.dtype for what, x in operands.items() if x is not None}
    for what, dtype in dtypes.items():
        if dtype.kind != "f":
            raise TypeError(f"{name}: {what} must be floating-point, got {dtype}")
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{what} {dtype}" for what, dtype in dtypes.items())
        raise TypeError(f"{name}: {' and '.join(dtypes)} must have the same dtype, got {listed}")


def _check_ndim(name, x, dims):
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{name}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) "
                         f"input, got input of shape {tuple(x.shape)}")


# ---- convolution -------------------------------------------------------------------------------


def _conv_geometry(name, x_shape, w_shape, stride, padding, dilation, groups):
    """Check a convolution's shapes as PyTorch does; the spatial shape of its output.
    ``padding`` holds a (before, after) pair per spatial dim."""
    x_shape, w_shape, dims = tuple(x_shape), tuple(w_shape), len(w_shape) - 2
    if dims < 1 or len(x_shape) != len(w_shape):
        raise ValueError(f"{name}: input of shape {x_shape} and weight of shape {w_shape} must "
                         "have the same number of dims, at least 3 (batch or out channels, "
                         "channels, spatial dims)")
    groups = operator.index(groups)
    if groups < 1:
        raise ValueError(f"{name}: groups must be positive, got {groups}")
    if w_shape[0] % groups:
        raise ValueError(f"{name}: the weight's {w_shape[0]} out channels (weight {w_shape}) "
                         f"are not divisible by groups={groups}")
    if x_shape[1] != w_shape[1] * groups:
        raise ValueError(f"{name}: expected input with {w_shape[1] * groups} channels (weight "
                         f"{w_shape}, groups={groups}), got input of shape {x_shape}")
    kernel = w_shape[2:]
    if min(kernel) < 1:
        raise ValueError(f"{name}: the weight {w_shape} has an empty kernel")
    if not len(stride) == len(padding) == len(dilation) == dims or min(*stride, *dilation) < 1:
        raise ValueError(f"{name}: stride {stride}, padding {padding} and dilation {dilation} "
                         f"must hold one entry per spatial dim ({dims}), stride and dilation "
                         "positive")
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[2:], padding))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < e for p, e in zip(padded, extent)):
        pads = tuple(lo for lo, _ in padding) if all(lo == hi for lo, hi in padding) else padding
        raise ValueError(f"{name}: the kernel {kernel} (dilation {tuple(dilation)}: spanning "
                         f"{extent}) is larger than the padded input {padded} (input of shape "
                         f"{x_shape}, padding {tuple(pads)})")
    return tuple((p - e) // s + 1 for p, e, s in zip(padded, extent, stride))


def _im2col(x, kernel, stride, padding, dilation, groups):
    """The windows of ``x`` (N, C, *spatial), zero-padded, as one matrix per sample and group:
    (N, groups, C / groups * kernel positions, output positions), made by one copy of a window
    view. Multiplied from the left by the weight, these give the output in its own (N, O, *out)
    layout, with no transpose to copy afterwards."""
    dims = len(kernel)
    if any(lo or hi for lo, hi in padding):
        x = np.pad(x, ((0, 0), (0, 0), *padding))
    n, c = x.shape[:2]
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    view = sliding_window_view(x, extent, axis=tuple(range(2, 2 + dims)))
    view = view[(slice(None),) * 2 + tuple(slice(None, None, s) for s in stride)
                + tuple(slice(None, None, d) for d in dilation)]  # (N, C, *out, *kernel)
    out = view.shape[2:2 + dims]
    view = view.transpose(0, 1, *range(2 + dims, 2 + 2 * dims), *range(2, 2 + dims))
    return np.ascontiguousarray(view).reshape(n, groups, c // groups * math.prod(kernel),
                                              math.prod(out))


def _check_grad_shape(name, g, x_shape, w_shape, out):
    want = (x_shape[0], w_shape[0], *out)
    if tuple(g.shape) != want:
        raise ValueError(f"{name}: grad must have the convolution's output shape {want} (input "
                         f"{tuple(x_shape)}, weight {tuple(w_shape)}), got {tuple(g.shape)}")


def _convolution_input_vjp(g, out, input, weight, stride, padding, dilation, groups):
    return conv_input_grad.dispatch(g, weight, input.shape, stride, padding, dilation, groups)


def _convolution_weight_vjp(g, out, input, weight, stride, padding, dilation, groups):
    return conv_weight_grad.dispatch(input, g, weight.shape, stride, padding, dilation, groups)


@primitive(_convolution_input_vjp, _convolution_weight_vjp, saves=("weight", "input"),
           kind="conv", nin=2, public=False,
           derivative=("conv_input_grad(g, weight)", "conv_weight_grad(input, g)"))
def convolution(input, weight, stride, padding, dilation, groups):
    """The cross-correlation of ``input`` (N, C, *spatial) with ``weight`` (O, C / groups,
    *kernel), any number of spatial dims: ``padding`` is a (before, after) pair of zeros per
    spatial dim, ``stride`` and ``dilation`` an int per spatial dim. Under conv1d and conv2d."""
    x, w = np.asarray(input), np.asarray(weight)
    _check_floating("convolution", input=x, weight=w)
    out = _conv_geometry("convolution", x.shape, w.shape, stride, padding, dilation, groups)
    cols = _im2col(x, w.shape[2:], stride, padding, dilation, groups)
    kernel = w.reshape(groups, w.shape[0] // groups, math.prod(w.shape[1:]))
    # (groups, O / groups, C / groups * k) @ (N, groups, C / groups * k, out): (N, O, *out)
    return np.matmul(kernel, cols).reshape(x.shape[0], w.shape[0], *out)


def _input_grad_grad_vjp(g, out, grad, weight, input_shape, stride, padding, dilation, groups):
    return convolution.dispatch(g, weight, stride, padding, dilation, groups)


def _input_grad_weight_vjp(g, out, grad, weight, input_shape, stride, padding, dilation, groups):
    return conv_weight_grad.dispatch(g, grad, weight.shape, stride, padding, dilation, groups)


@primitive(_input_grad_grad_vjp, _input_grad_weight_vjp, saves=("weight", "grad"),
           kind="conv", nin=2, public=False,
           derivative=("convolution(g, weight)", "conv_weight_grad(g, grad)"))
def conv_input_grad(grad, weight, input_shape, stride, padding, dilation, groups):
    """The gradient of ``convolution`` for an input of ``input_shape``, given ``grad`` for its
    output (a transposed convolution)."""
    g, w = np.asarray(grad), np.asarray(weight)
    _check_floating("conv_input_grad", grad=g, weight=w)
    x_shape, kernel = tuple(input_shape), w.shape[2:]
    out = _conv_geometry("conv_input_grad", x_shape, w.shape, stride, padding, dilation, groups)
    _check_grad_shape("conv_input_grad", g, x_shape, w.shape, out)
    n, c, o = x_shape[0], x_shape[1], w.shape[0]
    padded = tuple(size + lo + hi for size, (lo, hi) in zip(x_shape[2:], padding))
    kernel_t = w.reshape(groups, o // groups, math.prod(w.shape[1:])).transpose(0, 2, 1)
    # (groups, C / groups * k, O / groups) @ (N, groups, O / groups, positions): the windows'
    # gradients, (N, C, *kernel, positions); each kernel position adds its slice into the input
    if len(kernel) > 1 and all(s == 1 for s in stride):
        # unit strides: g laid out on the padded input's grid (zeros past each row's outputs),
        # so that each kernel position's slice of the input is one contiguous run of it,
        # flattened: one long add per kernel position instead of one short one per row
        flat = tuple(math.prod(padded[i + 1:]) for i in range(len(padded)))  # its strides
        span = sum((m - 1) * f for m, f in zip(out, flat)) + 1
        wide = np.zeros((n, o, out[0] * flat[0]), g.dtype)
        rows: tuple[Any, ...] = (Ellipsis, *map(slice, out[1:]))  # (numpy's stubs refuse it inline)
        wide.reshape(n, o, out[0], *padded[1:])[rows] = g
        cols = np.matmul(kernel_t, wide[..., :span].reshape(n, groups, o // groups, span))
        cols = cols.reshape(n, c, math.prod(kernel), span)
        result = np.zeros((n, c, math.prod(padded)), cols.dtype)
        for j, k in enumerate(np.ndindex(*kernel)):
            at = sum(i * d * f for i, d, f in zip(k, dilation, flat))
            result[..., at:at + span] += cols[:, :, j]
        result = result.reshape(n, c, *padded)
    else:
        g = np.ascontiguousarray(g).reshape(n, groups, o // groups, math.prod(out))
        cols = np.matmul(kernel_t, g).reshape(n, c, *kernel, *out)
        result = np.zeros((n, c, *padded), cols.dtype)
        for k in np.ndindex(*kernel):  # each kernel position touches the input with a stride
            where = tuple(slice(i * d, i * d + s * (m - 1) + 1, s)
                          for i, d, s, m in zip(k, dilation, stride, out))
            result[(slice(None),) * 2 + where] += cols[(slice(None),) * 2 + k]
    if not any(lo or hi for lo, hi in padding):
        return result
    crop = tuple(slice(lo, lo + size) for (lo, _), size in zip(padding, x_shape[2:]))
    return np.ascontiguousarray(result[(slice(None),) * 2 + crop])


def _weight_grad_input_vjp(g, out, input, grad, weight_shape, stride, padding, dilation,
                           groups):
    return conv_input_grad.dispatch(grad, g, input.shape, stride, padding, dilation, groups)


def _weight_grad_grad_vjp(g, out, input, grad, weight_shape, stride, padding, dilation, groups):
    return convolution.dispatch(input, g, stride, padding, dilation, groups)


@primitive(_weight_grad_input_vjp, _weight_grad_grad_vjp, saves=("grad", "input"),
           kind="conv", nin=2, public=False,
           derivative=("conv_input_grad(grad, g)", "convolution(input, g)"))
def conv_weight_grad(input, grad, weight_shape, stride, padding, dilation, groups):
    """The gradient of ``convolution`` for a weight of ``weight_shape``, given its ``input`` and
    ``grad`` for its output."""
    x, g = np.asarray(input), np.asarray(grad)
    _check_floating("conv_weight_grad", input=x, grad=g)
    w_shape = tuple(weight_shape)
    out = _conv_geometry("conv_weight_grad", x.shape, w_shape, stride, padding, dilation, groups)
    _check_grad_shape("conv_weight_grad", g, x.shape, w_shape, out)
    cols = _im2col(x, w_shape[2:], stride, padding, dilation, groups)  # (N, G, C/G * k, out)
    n, per_group = x.shape[0], w_shape[0] // groups
    g = np.ascontiguousarray(g).reshape(n, groups, per_group, math.prod(out))  # (N, G, O/G, out)
    if per_group <= cols.shape[3]:
        # the sum over samples of one product each: cols @ g^T, (N, G, C/G * k, O/G), is no
        # bigger than cols. (g @ cols^T, a short, wide matrix times a tall one, is the slow
        # form for OpenBLAS.)
        product = np.matmul(cols, g.transpose(0, 1, 3, 2)).sum(axis=0)
    else:  # many channels, few positions: one product per group over all samples at once
        flat_cols = cols.transpose(1, 2, 0, 3).reshape(groups, cols.shape[2], n * cols.shape[3])
        product = np.matmul(flat_cols, g.transpose(1, 0, 3, 2).reshape(groups, n * cols.shape[3],
                                                                         per_group))
    return np.ascontiguousarray(product.transpose(0, 2, 1)).reshape(w_shape)


def _conv_padding(name, padding, stride, dilation, kernel):
    """PyTorch's ``padding`` (an int, a tuple, 'valid' or 'same') as (before, after) pairs."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * len(kernel)
        if padding != "same":
            raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', got "
                             f"{padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions "
                             f"(stride {stride})")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in total)  # the odd one after, as PyTorch
    return tuple((p, p) for p in _ints(padding, len(kernel), "padding", name, 0))


def _conv(name, dims, input, weight, bias, stride, padding, dilation, groups):
    """conv1d / conv2d: PyTorch's arguments checked and normalised, then ``convolution``."""
    input, weight = _operand(input, name), _operand(weight, name)
    bias = None if bias is None else _operand(bias, name)
    _check_ndim(name, input, dims)
    if weight.ndim != dims + 2:
        raise ValueError(f"{name}: weight must be {dims + 2}-D (out_channels, in_channels / "
                         f"groups, {dims} kernel dims), got shape {tuple(weight.shape)}")
    _check_floating(name, input=input, weight=weight, bias=bias)
    if bias is not None and tuple(bias.shape) != weight.shape[:1]:
        raise ValueError(f"{name}: bias must have shape ({weight.shape[0]},), one per out "
                         f"channel of weight {tuple(weight.shape)}, got {tuple(bias.shape)}")
    try:
        groups = operator.index(groups)
    except TypeError:
        raise TypeError(f"{name}: groups must be an int, got {groups!r}") from None
    stride = _ints(stride, dims, "stride", name, 1)
    dilation = _ints(dilation, dims, "dilation", name, 1)
    pads = _conv_padding(name, padding, stride, dilation, weight.shape[2:])
    batched = input.ndim == dims + 2
    shape = tuple(input.shape) if batched else (1, *input.shape)
    _conv_geometry(name, shape, weight.shape, stride, pads, dilation, groups)
    out = convolution(input if batched else reshape(input, shape), weight, stride=stride,
                      padding=pads, dilation=dilation, groups=groups)
    if bias is not None:
        out = out + reshape(bias, (-1,) + (1,) * dims)
    return out if batched else reshape(out, out.shape[1:])


@composite(kind="conv1d", nin=3, public=False)
def conv1d(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None, stride: Size = 1,
           padding: Size | str = 0, dilation: Size = 1, groups: int = 1) -> Tensor:
    """1-D convolution (cross-correlation) of ``input`` (N, C, L) or (C, L) with ``weight``
    (out_channels, C / groups, kernel), plus ``bias`` (out_channels,), as PyTorch's.
    ``padding``: an int, 'valid' (none) or 'same' (output as long as input; stride 1).

    >>> ag.nn.functional.conv1d(ag.tensor([[1.0, 2.0, 3.0]]), ag.tensor([[[1.0, 1.0]]]),
    ...                         padding=1)
    tensor([[1., 3., 5., 3.]])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


@composite(kind="conv2d", nin=3, public=False)
def conv2d(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None, stride: Size = 1,
           padding: Size | str = 0, dilation: Size = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) of ``input`` (N, C, H, W) or (C, H, W) with
    ``weight`` (out_channels, C / groups, kH, kW), plus ``bias`` (out_channels,), as PyTorch's.
    ``stride``, ``padding``, ``dilation``: an int or an (h, w) pair; ``padding`` may also be
    'valid' (none) or 'same' (output the input's size; stride 1).

    >>> x = ag.arange(9.0).reshape(1, 1, 3, 3)
    >>> ag.nn.functional.conv2d(x, ag.ones(1, 1, 2, 2), bias=ag.tensor([0.5]))
    tensor([[[[ 8.5, 12.5],
              [20.5, 24.5]]]])
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


# ---- pooling -----------------------------------------------------------------------------------


def _pool_geometry(name, shape, kernel, stride, padding):
    """Check a pooling over the last ``len(kernel)`` dims of ``shape`` as PyTorch does; the
    spatial shape of its output."""
    shape, dims = tuple(shape), len(kernel)
    if len(shape) < dims or not len(stride) == len(padding) == dims:
        raise ValueError(f"{name}: kernel_size {kernel}, stride {stride} and padding {padding} "
                         f"must have one entry per pooled dim of the input of shape {shape}")
    if min(*kernel, *stride) < 1 or min(padding) < 0:
        raise ValueError(f"{name}: kernel_size {kernel} and stride {stride} must be positive, "
                         f"padding {padding} non-negative")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: pad should be at most half of kernel size, but got "
                         f"padding={padding} and kernel_size={kernel}")
    padded = tuple(n + 2 * p for n, p in zip(shape[len(shape) - dims:], padding))
    if any(n < k for n, k in zip(padded, kernel)):
        raise ValueError(f"{name}: the kernel {kernel} is larger than the padded input {padded} "
                         f"(input of shape {shape}, padding {padding})")
    return tuple((n - k) // s + 1 for n, k, s in zip(padded, kernel, stride))


def _pool_windows(x, kernel, stride, padding, fill):
    """The windows of ``x`` over its last ``len(kernel)`` dims, padded with ``fill``, as a view
    (*leading dims, *out, *kernel); a reshape when they tile the input (stride == kernel)."""
    dims = len(kernel)
    lead = x.ndim - dims
    if any(padding):
        x = np.pad(x, ((0, 0),) * lead + tuple((p, p) for p in padding), constant_values=fill)
    out = tuple((n - k) // s + 1 for n, k, s in zip(x.shape[lead:], kernel, stride))
    if tuple(stride) == tuple(kernel):
        x = x[(Ellipsis,) + tuple(slice(0, o * k) for o, k in zip(out, kernel))]
        tiles = x.reshape(x.shape[:lead] + tuple(n for pair in zip(out, kernel) for n in pair))
        return tiles.transpose(*range(lead), *range(lead, lead + 2 * dims, 2),
                               *range(lead + 1, lead + 2 * dims, 2))
    view = sliding_window_view(x, kernel, axis=tuple(range(lead, x.ndim)))
    return view[(slice(None),) * lead + tuple(slice(None, None, s) for s in stride)]


def _pool_max(x, kernel, stride, padding):
    """The maximum of each window of ``x`` over its last ``len(kernel)`` dims, padded with
    -inf (NaN if the window holds one): the maximum along the last dim's windows, then along
    the dim before, and so on, each by one elementwise step per kernel position along that
    dim (numpy reduces over the strided axes of a window view far more slowly, and a 3x3
    window takes 2 + 2 steps so, not 8)."""
    dims = len(kernel)
    lead = x.ndim - dims
    if any(padding):
        x = np.pad(x, ((0, 0),) * lead + tuple((p, p) for p in padding),
                   constant_values=-np.inf)
    for axis, size, step in reversed(tuple(zip(range(lead, x.ndim), kernel, stride))):
        windows = sliding_window_view(x, size, axis=axis)[
            (slice(None),) * axis + (slice(None, None, step),)]  # (..., out along axis, size)
        best = windows[..., 0]
        for i in range(1, size):
            best = np.maximum(best, windows[..., i], out=None if i == 1 else best)
        x = best
    return x if x.base is None else x.copy()


def _first_max_masks(x, kernel, stride, padding):
    """Per kernel position (row-major), where it holds the first maximum of its window of
    ``x`` (the first NaN, in a window holding one), as PyTorch picks among ties: a boolean
    array of the pooled output's shape each, found one elementwise step per kernel position
    (no argmax)."""
    windows = _pool_windows(x, kernel, stride, padding, -np.inf)  # (*lead, *out, *kernel)
    best = _pool_max(x, kernel, stride, padding)
    nan = best != best
    if not nan.any():
        nan = None
    # a window of -inf only: its first element that is not padding, as PyTorch
    inside = None
    if any(padding) and np.isneginf(best).any():
        inside = _pool_windows(np.ones(x.shape[x.ndim - len(kernel):], bool), kernel, stride,
                               padding, False)
    free = None  # the windows whose first maximum is still to come
    positions = list(np.ndindex(*kernel))
    for k in positions:
        here = windows[(Ellipsis,) + k]
        hit = here == best
        if nan is not None:
            hit |= here != here
        if inside is not None:
            hit &= inside[(Ellipsis,) + k]
        if free is None:
            free = ~hit
        else:
            hit &= free
            if k != positions[-1]:
                free ^= hit
        yield k, hit


def _in_tiles(k):
    """The index of kernel position ``k`` in an (..., out1, k1, out2, k2, ...) array."""
    return (Ellipsis, *(i for pair in zip((slice(None),) * len(k), k) for i in pair))


def _max_pool_vjp(g, out, input, kernel_size, stride, padding):
    """g at each window's first maximum: with tiling windows (stride == kernel), g repeated
    over each tile times a mask of first maxima, reshaped back (no scatter); with overlapping
    windows, one strided slice-add per kernel position. The mask depends on the input only, so
    the rule is linear in g (its own gradient is this rule's transpose, built of the same
    ops)."""
    x = input.data if isinstance(input, registry._Tensor) else np.asarray(input)
    dims = len(kernel_size)
    lead = x.ndim - dims
    out_shape = _pool_geometry("max_pool", x.shape, kernel_size, stride, padding)
    padded = tuple(n + 2 * p for n, p in zip(x.shape[lead:], padding))
    if tuple(stride) == tuple(kernel_size):
        tiled = x.shape[:lead] + tuple(n for pair in zip(out_shape, kernel_size) for n in pair)
        positions = _first_max_masks(x, kernel_size, stride, padding)
        if not isinstance(g, registry._Tensor):  # a plain backward: g * hit, tile by tile
            grad = np.empty(tiled, g.dtype)
            for k, hit in positions:
                np.multiply(g, hit, out=grad[_in_tiles(k)])
        else:  # g repeated over each tile times the mask of first maxima
            mask = np.empty(tiled, bool)
            for k, hit in positions:
                mask[_in_tiles(k)] = hit
            spread = reshape.dispatch(g, x.shape[:lead] + tuple(n for o in out_shape
                                                                for n in (o, 1)))
            grad = spread * mask
        grad = reshape.dispatch(grad, x.shape[:lead] + tuple(
            o * k for o, k in zip(out_shape, kernel_size)))
        covered = tuple(o * k for o, k in zip(out_shape, kernel_size))
        if covered == tuple(x.shape[lead:]) and not any(padding):
            return grad
        # the tiles cover padded positions [0, o * k): input positions [-p, o * k - p)
        keep = tuple(min(n, c - p) for n, c, p in zip(x.shape[lead:], covered, padding))
        source = (Ellipsis,) + tuple(slice(p, p + m) for p, m in zip(padding, keep))
        target = (Ellipsis,) + tuple(slice(0, m) for m in keep)
        return add_at.dispatch(getitem.dispatch(grad, source), target, x.shape)
    crop = (Ellipsis,) + tuple(slice(p, p + n) for p, n in zip(padding, x.shape[lead:]))
    full = x.shape[:lead] + padded
    if not isinstance(g, registry._Tensor):  # a plain backward: add in place
        result = np.zeros(full, g.dtype)
        for k, hit in _first_max_masks(x, kernel_size, stride, padding):
            where = tuple(slice(i, i + s * (o - 1) + 1, s)
                          for i, s, o in zip(k, stride, out_shape))
            at: tuple[Any, ...] = (Ellipsis, *where)  # (numpy's stubs refuse it inline)
            result[at] += g * hit
        return np.ascontiguousarray(result[crop]) if any(padding) else result
    total = None
    for k, hit in _first_max_masks(x, kernel_size, stride, padding):
        where = tuple(slice(i, i + s * (o - 1) + 1, s) for i, s, o in zip(k, stride, out_shape))
        part = add_at.dispatch(g * hit, (Ellipsis, *where), full)
        total = part if total is None else total + part
    return getitem.dispatch(total, crop) if any(padding) else total


@primitive(_max_pool_vjp, saves="input", kind="max_pool", domain="unique", nin=1, public=False,
           derivative="1 at each window's first maximum (g times a mask)")
def max_pool(input, kernel_size, stride, padding):
    """The maximum of each window over the last ``len(kernel_size)`` dims of ``input``, padded
    with -inf; ``kernel_size``, ``stride`` and ``padding`` hold an int per pooled dim. Under
    max_pool1d and max_pool2d."""
    x = np.asarray(input)
    _check_floating("max_pool", input=x)
    _pool_geometry("max_pool", x.shape, kernel_size, stride, padding)
    return _pool_max(x, kernel_size, stride, padding)


def _pool_args(name, dims, input, kernel_size, stride, padding):
    """PyTorch's pooling arguments checked: (input, kernel, stride, padding) as tuples."""
    input = _operand(input, name)
    _check_ndim(name, input, dims)
    _check_floating(name, input=input)
    kernel = _ints(kernel_size, dims, "kernel_size", name, 1)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and not stride)
    stride = kernel if no_stride else _ints(stride, dims, "stride", name, 1)
    padding = _ints(padding, dims, "padding", name, 0)
    _pool_geometry(name, input.shape, kernel, stride, padding)
    return input, kernel, stride, padding


@composite(kind="pool1d", domain="unique", public=False)
def max_pool1d(input: TensorLike, kernel_size: Size, stride: Size | None = None,
               padding: Size = 0) -> Tensor:
    """The maximum of each window of ``kernel_size`` along the last dim of ``input`` (N, C, L)
    or (C, L), as PyTorch's: ``stride`` defaults to ``kernel_size``, ``padding`` (at most
    half the kernel) pads with -inf. The gradient goes to each window's first maximum.

    >>> ag.nn.functional.max_pool1d(ag.tensor([[1.0, 3.0, 2.0, 5.0, 4.0]]), 2)
    tensor([[3., 5.]])
    """
    input, kernel, stride, padding = _pool_args("max_pool1d", 1, input, kernel_size, stride,
                                                padding)
    return max_pool(input, kernel_size=kernel, stride=stride, padding=padding)


@composite(kind="pool2d", domain="unique", public=False)
def max_pool2d(input: TensorLike, kernel_size: Size, stride: Size | None = None,
               padding: Size = 0) -> Tensor:
    """The maximum of each (kH, kW) window of ``input`` (N, C, H, W) or (C, H, W), as
    PyTorch's: ``stride`` defaults to ``kernel_size``, ``padding`` (at most half the kernel)
    pads with -inf. The gradient goes to each window's first maximum.

    >>> ag.nn.functional.max_pool2d(ag.arange(16.0).reshape(1, 4, 4), 2)
    tensor([[[ 5.,  7.],
             [13., 15.]]])
    """
    input, kernel, stride, padding = _pool_args("max_pool2d", 2, input, kernel_size, stride,
                                                padding)
    return max_pool(input, kernel_size=kernel, stride=stride, padding=padding)


def _avg_pool(name, dims, input, kernel_size, stride, padding):
    """The mean of each window: a convolution of each channel with a constant kernel."""
    input, kernel, stride, padding = _pool_args(name, dims, input, kernel_size, stride, padding)
    lead, spatial = tuple(input.shape[:-dims]), tuple(input.shape[-dims:])
    mean = np.full((1, 1) + kernel, 1 / math.prod(kernel), input.dtype)
    out = convolution(reshape(input, (math.prod(lead), 1) + spatial), mean, stride=stride,
                      padding=tuple((p, p) for p in padding), dilation=(1,) * dims, groups=1)
    return reshape(out, lead + out.shape[2:])


@composite(kind="pool1d", public=False)
def avg_pool1d(input: TensorLike, kernel_size: Size, stride: Size | None = None,
               padding: Size = 0) -> Tensor:
    """The mean of each window of ``kernel_size`` along the last dim of ``input`` (N, C, L) or
    (C, L), as PyTorch's: ``stride`` defaults to ``kernel_size``; the zeros of ``padding``
    count in the mean (count_include_pad=True).

    >>> ag.nn.functional.avg_pool1d(ag.tensor([[1.0, 3.0, 2.0, 6.0]]), 2)
    tensor([[2., 4.]])
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding)


@composite(kind="pool2d", public=False)
def avg_pool2d(input: TensorLike, kernel_size: Size, stride: Size | None = None,
               padding: Size = 0) -> Tensor:
    """The mean of each (kH, kW) window of ``input`` (N, C, H, W) or (C, H, W), as PyTorch's:
    ``stride`` defaults to ``kernel_size``; the zeros of ``padding`` count in the mean
    (count_include_pad=True).

    >>> ag.nn.functional.avg_pool2d(ag.arange(16.0).reshape(1, 4, 4), 2)
    tensor([[[ 2.5,  4.5],
             [10.5, 12.5]]])
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding)


def _adaptive_weights(n_in, n_out, dtype):
    """(n_out, n_in): row i averages PyTorch's window for output i, the input positions
    floor(i n_in / n_out) to ceil((i + 1) n_in / n_out) - 1."""
    i = np.arange(n_out)[:, None]
    start, end = (i * n_in) // n_out, -(-(i + 1) * n_in // n_out)
    inside = (np.arange(n_in) >= start) & (np.arange(n_in) < end)
    return (inside / (end - start)).astype(dtype)


@composite(kind="adaptive_pool2d", nin=1, public=False)
def adaptive_avg_pool2d(input: Tensor,
                        output_size: int | None | tuple[int | None, ...]) -> Tensor:
    """The mean over windows of ``input`` (N, C, H, W) or (C, H, W) chosen to give an output
    of ``output_size`` (an int, or an (h, w) pair where None keeps that side), as PyTorch's:
    any size, the windows of uneven sizes where it does not divide the input's.

    >>> ag.nn.functional.adaptive_avg_pool2d(ag.arange(6.0).reshape(1, 2, 3), (1, 2))
    tensor([[[2., 3.]]])
    """
    input = _operand(input, "adaptive_avg_pool2d")
    _check_ndim("adaptive_avg_pool2d", input, 2)
    _check_floating("adaptive_avg_pool2d", input=input)
    pair = (output_size,) * 2 if not isinstance(output_size, (tuple, list)) else output_size
    if len(pair) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or an (h, w) pair, "
                         f"got {output_size!r}")
    sides = input.shape[-2:]
    if min(sides) < 1:
        raise ValueError(f"adaptive_avg_pool2d: the input's last two dims must not be empty, got "
                         f"input of shape {tuple(input.shape)}")
    pair = tuple(side if n is None else n for n, side in zip(pair, sides))
    size = _ints(pair, 2, "output_size", "adaptive_avg_pool2d", 1)
    rows, cols = (_adaptive_weights(n, m, input.dtype) for n, m in zip(sides, size))
    return matmul(matmul(rows, input), cols.T)


# ---- embedding ---------------------------------------------------------------------------------


@composite(kind="embedding", public=False)
def embedding(input: Tensor, weight: Tensor) -> Tensor:
    """The rows of ``weight`` (num_embeddings, embedding_dim) at the integer indices ``input``
    (any shape), giving shape input.shape + (embedding_dim,), as PyTorch's. The gradient of a
    row used several times is the sum of theirs.

    >>> w = ag.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    >>> ag.nn.functional.embedding(ag.tensor([[2, 0], [2, 2]]), w)
    tensor([[[4., 5.],
             [0., 1.]],
    <BLANKLINE>
            [[4., 5.],
             [4., 5.]]])
    """
    index = np.asarray(as_index(input))
    if index.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers (int64), got {index.dtype}")
    weight = _operand(weight, "embedding")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {tuple(weight.shape)}")
    n = weight.shape[0]
    if index.size and (index.min() < 0 or index.max() >= n):
        bad = index[(index < 0) | (index >= n)].flat[0]
        raise IndexError(f"embedding: index {bad} is out of range for a weight of {n} "
                         f"embeddings (shape {tuple(weight.shape)})")
    return getitem(weight, index.astype(np.intp, copy=False))
