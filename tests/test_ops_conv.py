"""Convolution, pooling and embedding (autograd_lite/ops/conv.py, nn.functional's names).

Gradients (first and second order, float32) of every op are checked generically by
tests/test_registry.py. Here: small cases worked out by hand, a plain-loop reference of a
convolution compared over many strides, paddings, dilations and groups (values and gradients),
PyTorch's conventions pinned (padding='same', first maximum wins a tie, repeated embedding
indices add up), bad input, and, where torch imports, torch.nn.functional itself.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_lite as ag
from autograd_lite.nn import functional as F
from autograd_lite.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def leaf(values):
    return ag.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ---- a plain-loop reference -------------------------------------------------------------------


def loop_conv(x, w, b, stride, padding, dilation, groups):
    """Convolution of x (N, C, *spatial) with w (O, C / groups, *kernel), one output element
    at a time, straight from the definition; padding holds (before, after) per spatial dim."""
    dims = x.ndim - 2
    xp = np.pad(x, ((0, 0), (0, 0), *padding))
    kernel = w.shape[2:]
    out_shape = tuple((xp.shape[2 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                      for i in range(dims))
    out = np.zeros((x.shape[0], w.shape[0], *out_shape))
    per_group_out, per_group_in = w.shape[0] // groups, w.shape[1]
    for n, o, *pos in itertools.product(range(x.shape[0]), range(w.shape[0]),
                                        *map(range, out_shape)):
        g = o // per_group_out
        total = 0.0 if b is None else b[o]
        for c, *k in itertools.product(range(per_group_in), *map(range, kernel)):
            at = tuple(p * s + i * d for p, s, i, d in zip(pos, stride, k, dilation))
            total += xp[(n, g * per_group_in + c, *at)] * w[(o, c, *k)]
        out[(n, o, *pos)] = total
    return out


def loop_conv_grads(x, w, g, stride, padding, dilation, groups):
    """The gradients of loop_conv for x and w given g for its output, by the same loops."""
    xp_grad = np.zeros(np.pad(x, ((0, 0), (0, 0), *padding)).shape)
    w_grad = np.zeros(w.shape)
    xp = np.pad(x, ((0, 0), (0, 0), *padding))
    per_group_out, per_group_in = w.shape[0] // groups, w.shape[1]
    for n, o, *pos in itertools.product(range(g.shape[0]), range(g.shape[1]),
                                        *map(range, g.shape[2:])):
        grp = o // per_group_out
        for c, *k in itertools.product(range(per_group_in), *map(range, w.shape[2:])):
            at = (n, grp * per_group_in + c,
                  *(p * s + i * d for p, s, i, d in zip(pos, stride, k, dilation)))
            xp_grad[at] += g[(n, o, *pos)] * w[(o, c, *k)]
            w_grad[(o, c, *k)] += g[(n, o, *pos)] * xp[at]
    crop = tuple(slice(lo, lo + size) for (lo, _), size in zip(padding, x.shape[2:]))
    return xp_grad[(slice(None), slice(None), *crop)], w_grad


CONV_CASES = [  # (dims, input shape, out channels, kernel, stride, padding, dilation, groups)
    (dims, (2, 4) + (7,) * dims, 6, kernel[:dims], stride, padding, dilation, groups)
    for dims in (1, 2)
    for kernel, stride, padding, dilation, groups in itertools.product(
        [(3, 2), (1, 1)], [1, 2, 3], [0, 1, 2], [1, 2], [1, 2])]


@pytest.mark.parametrize(("dims", "shape", "out_channels", "kernel", "stride", "padding",
                          "dilation", "groups"), CONV_CASES)
def test_conv_matches_a_plain_loop_in_values_and_gradients(dims, shape, out_channels, kernel,
                                                           stride, padding, dilation, groups):
    x = RNG.standard_normal(shape)
    w = RNG.standard_normal((out_channels, shape[1] // groups, *kernel))
    b = RNG.standard_normal(out_channels)
    conv = F.conv1d if dims == 1 else F.conv2d
    xt, wt, bt = leaf(x), leaf(w), leaf(b)
    out = conv(xt, wt, bt, stride=stride, padding=padding, dilation=dilation, groups=groups)
    pads = ((padding, padding),) * dims
    expected = loop_conv(x, w, b, (stride,) * dims, pads, (dilation,) * dims, groups)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)

    g = RNG.standard_normal(expected.shape)
    out.backward(g)
    x_grad, w_grad = loop_conv_grads(x, w, g, (stride,) * dims, pads, (dilation,) * dims, groups)
    np.testing.assert_allclose(xt.grad.numpy(), x_grad, atol=1e-12)
    np.testing.assert_allclose(wt.grad.numpy(), w_grad, atol=1e-12)
    np.testing.assert_allclose(bt.grad.numpy(), g.sum(axis=(0, *range(2, 2 + dims))))


@given(stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       groups=st.sampled_from([1, 3]), size=st.tuples(st.integers(5, 7), st.integers(5, 7)))
def test_conv2d_with_different_settings_per_dim_matches_a_plain_loop(stride, padding, dilation,
                                                                     groups, size):
    x = RNG.standard_normal((1, 3, *size))
    w = RNG.standard_normal((3, 3 // groups, 2, 3))
    out = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    expected = loop_conv(x, w, None, stride, tuple((p, p) for p in padding), dilation, groups)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)


# ---- by hand ------------------------------------------------------------------------------------


def test_conv1d_by_hand_with_stride_padding_and_dilation():
    x = ag.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    w = ag.tensor([[[1.0, 10.0]]])
    assert F.conv1d(x, w).tolist() == [[[21.0, 32.0, 43.0, 54.0]]]
    assert F.conv1d(x, w, stride=2).tolist() == [[[21.0, 43.0]]]
    # padding 1: [0, 1, 2, 3, 4, 5, 0]
    assert F.conv1d(x, w, padding=1).tolist() == [[[10.0, 21.0, 32.0, 43.0, 54.0, 5.0]]]
    # dilation 2: x[i] + 10 x[i + 2]
    assert F.conv1d(x, w, dilation=2).tolist() == [[[31.0, 42.0, 53.0]]]


def test_conv2d_by_hand_with_bias_and_groups():
    x = ag.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[10.0, 20.0], [30.0, 40.0]]]])  # (1, 2, 2, 2)
    # groups=2: each out channel sees its own input channel
    assert F.conv2d(x, ag.ones(2, 1, 2, 2), groups=2).tolist() == [[[[10.0]], [[100.0]]]]
    # groups=1: both out channels see both input channels
    assert F.conv2d(x, ag.ones(2, 2, 2, 2), bias=[0.5, -0.5]).tolist() == [
        [[[110.5]], [[109.5]]]]


def test_conv_gradients_by_hand():
    x = leaf([[[1.0, 2.0, 3.0]]])
    w = leaf([[[1.0, -1.0]]])
    F.conv1d(x, w).sum().backward()  # out = [x0 - x1, x1 - x2]
    assert x.grad.tolist() == [[[1.0, 0.0, -1.0]]]
    assert w.grad.tolist() == [[[1.0 + 2.0, 2.0 + 3.0]]]


def test_unbatched_input_gives_an_unbatched_output():
    x = RNG.standard_normal((3, 5, 4))
    w = RNG.standard_normal((2, 3, 3, 3))
    out = F.conv2d(x, w, padding=1)
    assert out.shape == (2, 5, 4)
    np.testing.assert_allclose(out.numpy(), F.conv2d(x[None], w, padding=1).numpy()[0])
    assert F.conv1d(np.ones((3, 4)), np.ones((1, 3, 2))).shape == (1, 3)


@pytest.mark.parametrize(("kernel", "dilation"), [(3, 1), (4, 1), (2, 3), (1, 1)])
def test_padding_same_keeps_the_size_and_pads_an_odd_total_more_after(kernel, dilation):
    """PyTorch's rule: total padding dilation * (kernel - 1), half before, the rest after."""
    x = RNG.standard_normal((1, 2, 6))
    w = RNG.standard_normal((3, 2, kernel))
    total = dilation * (kernel - 1)
    out = F.conv1d(x, w, padding="same", dilation=dilation)
    assert out.shape == (1, 3, 6)
    expected = loop_conv(x, w, None, (1,), ((total // 2, total - total // 2),), (dilation,), 1)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)
    assert F.conv1d(x, w, padding="valid").shape == (1, 3, 6 - kernel + 1)


def test_max_pool_by_hand():
    x = ag.tensor([[[1.0, 5.0, 2.0, 0.0, 3.0]]])
    assert F.max_pool1d(x, 2).tolist() == [[[5.0, 2.0]]]  # the last, partial window is dropped
    assert F.max_pool1d(x, 3, stride=1).tolist() == [[[5.0, 5.0, 3.0]]]
    # padding pads with -inf: a negative edge is still the edge's maximum
    assert F.max_pool1d(-x, 2, padding=1).tolist() == [[[-1.0, -2.0, -0.0]]]
    y = ag.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    assert F.max_pool2d(y, 2).tolist() == [[[[6.0, 8.0], [14.0, 16.0]]]]
    assert F.max_pool2d(y, (1, 4)).tolist() == [[[[4.0], [8.0], [12.0], [16.0]]]]


def test_avg_pool_by_hand_counts_the_padding_zeros():
    x = ag.tensor([[[2.0, 4.0, 6.0, 8.0]]])
    assert F.avg_pool1d(x, 2).tolist() == [[[3.0, 7.0]]]
    assert F.avg_pool1d(x, 2, stride=1).tolist() == [[[3.0, 5.0, 7.0]]]
    assert F.avg_pool1d(x, 2, padding=1).tolist() == [[[1.0, 5.0, 4.0]]]  # (0 + 2) / 2 ...
    y = ag.arange(16.0).reshape(1, 4, 4)
    assert F.avg_pool2d(y, 2, stride=2).tolist() == [[[2.5, 4.5], [10.5, 12.5]]]


def test_pool_gradients_by_hand():
    x = leaf([[[1.0, 5.0, 2.0, 0.0]]])
    F.max_pool1d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[0.0, 1.0, 1.0, 0.0]]]
    x.grad = None
    F.max_pool1d(x, 3, stride=1).sum().backward()  # windows [1 5 2], [5 2 0]: 5 twice
    assert x.grad.tolist() == [[[0.0, 2.0, 0.0, 0.0]]]
    x.grad = None
    F.avg_pool1d(x, 2, stride=1).sum().backward()  # the middle elements are in two windows
    assert x.grad.tolist() == [[[0.5, 1.0, 1.0, 0.5]]]


def test_max_pool_gradient_of_a_tie_goes_to_the_first_maximum_only():
    """As PyTorch: the first maximum in the window, row by row, takes the whole gradient."""
    x = leaf([[[[1.0, 3.0], [3.0, 3.0]]]])
    F.max_pool2d(x, 2).backward(np.array([[[[7.0]]]]))
    assert x.grad.tolist() == [[[[0.0, 7.0], [0.0, 0.0]]]]
    y = leaf([[2.0, 2.0, 2.0]])
    F.max_pool1d(y, 2, stride=1).sum().backward()  # windows [2 2] and [2 2]: first of each
    assert y.grad.tolist() == [[1.0, 1.0, 0.0]]


@pytest.mark.parametrize("size", [4, 5, 7])
def test_max_pool_tiling_and_sliding_windows_agree(size):
    """stride == kernel takes the reshape path; stride (2, 1) + a (2, 2) kernel the windows."""
    x = RNG.standard_normal((2, 3, size, size))
    tiled = F.max_pool2d(x, 2).numpy()
    strided = F.max_pool2d(x, 2, stride=1).numpy()[:, :, ::2, ::2]
    np.testing.assert_array_equal(tiled, strided[:, :, :tiled.shape[2], :tiled.shape[3]])


def test_adaptive_avg_pool_by_hand_windows_of_uneven_size():
    """5 inputs to 3 outputs: PyTorch's windows [0, 2), [1, 4), [3, 5), overlapping."""
    x = leaf([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    out = F.adaptive_avg_pool2d(x, (1, 3))
    np.testing.assert_allclose(out.numpy(), [[[1.5, 3.0, 4.5]]])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[[1 / 2, 1 / 2 + 1 / 3, 1 / 3, 1 / 3 + 1 / 2,
                                                  1 / 2]]])
    assert F.adaptive_avg_pool2d(x, (None, 1)).tolist() == [[[3.0]]]


def test_embedding_picks_rows_and_repeated_indices_add_their_gradients():
    w = leaf([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    index = ag.tensor([[2, 0], [2, 2]])
    out = F.embedding(index, w)
    assert out.shape == (2, 2, 2)
    assert out.tolist() == [[[4.0, 5.0], [0.0, 1.0]], [[4.0, 5.0], [4.0, 5.0]]]
    out.backward(np.ones((2, 2, 2)))
    assert w.grad.tolist() == [[1.0, 1.0], [0.0, 0.0], [3.0, 3.0]]
    assert F.embedding(1, w).tolist() == [2.0, 3.0]  # a 0-d index gives one row


def test_second_derivatives_of_conv_and_pools():
    x = leaf(RNG.standard_normal((2, 2, 5, 4)))
    w = leaf(RNG.standard_normal((4, 1, 2, 3)))
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2),
                                               groups=2), [x, w])
    distinct = leaf(RNG.permutation(40).reshape(2, 4, 5) / 10)
    assert gradgradcheck(lambda x: F.max_pool1d(x, 3, stride=2, padding=1) ** 2, [distinct])
    tiles = leaf(RNG.permutation(2 * 3 * 6 * 5).reshape(2, 3, 6, 5) / 10)
    assert gradgradcheck(lambda x: F.max_pool2d(x, 2) ** 2, [tiles])  # 5 columns: one dropped
    assert gradgradcheck(lambda x: F.max_pool2d(x, 3, padding=1) ** 2, [tiles])
    assert gradgradcheck(lambda x: F.avg_pool2d(x, 2, stride=1, padding=1) ** 2, [distinct])
    assert gradcheck(lambda x: F.conv1d(x, w[:, :, 0], groups=4) ** 2, [distinct])


# ---- dtypes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda x, w: F.conv2d(x, w, w[:, 0, 0, 0], padding="same"),
    lambda x, w: F.conv1d(x[..., 0], w[..., 0], stride=2),
    lambda x, w: F.max_pool2d(x, 2, padding=1),
    lambda x, w: F.max_pool2d(x, 2),
    lambda x, w: F.max_pool2d(x, 3, stride=1),
    lambda x, w: F.avg_pool2d(x, (2, 3)),
    lambda x, w: F.adaptive_avg_pool2d(x, 3),
    lambda x, w: F.embedding(ag.tensor([1, 0, 1]), w[:, :, 0, 0]),
])
def test_float32_in_gives_float32_out_and_gradients(call):
    x = ag.tensor(RNG.standard_normal((2, 3, 4, 4)).astype(np.float32), requires_grad=True)
    w = ag.tensor(RNG.standard_normal((2, 3, 3, 3)).astype(np.float32), requires_grad=True)
    out = call(x, w)
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(t.grad is None or t.grad.dtype == np.float32 for t in (x, w))


# ---- the fast paths ----------------------------------------------------------------------------


def test_conv_results_are_float32_and_c_contiguous_in_their_own_layout():
    """The output lands in (N, O, *out) as it is computed (a transposed result would slow
    every elementwise op after it), and so do both gradients."""
    x = ag.tensor(RNG.standard_normal((4, 3, 9, 8)).astype(np.float32), requires_grad=True)
    w = ag.tensor(RNG.standard_normal((6, 3, 3, 3)).astype(np.float32), requires_grad=True)
    for groups in (1, 3):
        weight = w[:, :3 // groups]
        out = F.conv2d(x, weight, groups=groups)
        assert out.dtype == np.float32 and out.numpy().flags.c_contiguous
        gx, gw = ag.grad(out.sum(), [x, weight])
        for g in (gx, gw):
            assert g.dtype == np.float32 and g.numpy().flags.c_contiguous


def test_tiled_max_pool_gradient_is_a_mask_not_a_scatter(monkeypatch):
    """stride == kernel, no padding, sizes divisible: the gradient is g spread over each tile
    times a mask of first maxima, reshaped back; no add_at."""
    from autograd_lite.ops import conv

    def refuse(*args, **kwargs):
        raise AssertionError("the tiled max-pool gradient must not scatter")

    monkeypatch.setattr(conv, "add_at", refuse)
    x = leaf(np.maximum(RNG.standard_normal((2, 3, 6, 4)), 0))  # ReLU's zeros: ties
    out = F.max_pool2d(x, 2)
    g = RNG.standard_normal(out.shape)
    out.backward(g)
    windows = x.numpy().reshape(2, 3, 3, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(
        2, 3, 3, 2, 4)
    first = windows.argmax(axis=-1)  # the first maximum, row by row
    expected = (np.arange(4) == first[..., None]) * g[..., None]
    expected = expected.reshape(2, 3, 3, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(x.shape)
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    (gx,) = ag.grad(F.max_pool2d(x, 2).sum(), [x], create_graph=True)  # the Tensor path too
    np.testing.assert_array_equal(gx.numpy(), (np.arange(4) == first[..., None]).astype(float)
                                  .reshape(2, 3, 3, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
                                  .reshape(x.shape))


@pytest.mark.parametrize(("size", "kernel", "stride", "padding"), [
    ((6, 6), 2, None, 0), ((7, 5), 2, None, 0), ((7, 7), 3, None, 1), ((6, 6), 2, None, 1),
    ((6, 7), (2, 3), None, (1, 0)), ((6, 6), 3, 1, 1), ((7, 6), 2, 1, 0), ((8, 8), 3, 2, 0)])
def test_max_pool_with_ties_matches_torch_in_first_and_second_order(size, kernel, stride,
                                                                    padding):
    """Tiled (stride == kernel, with and without padding, sizes that do and do not divide) and
    sliding windows; rounded values make ties; -inf inputs make windows of -inf only, whose
    gradient goes to their first element inside the input (PyTorch's), never to padding."""
    torch = pytest.importorskip("torch")
    values = np.round(RNG.standard_normal((2, 3, *size)))
    values[0, 0, :, :2] = -np.inf
    x, xt = _torch_pair(values)
    ours = F.max_pool2d(x, kernel, stride, padding)
    theirs = torch.nn.functional.max_pool2d(xt, kernel, stride, padding)
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    g, gt = _torch_pair(RNG.standard_normal(ours.shape))
    (gx,) = ag.grad(ours, [x], g, create_graph=True)
    (gxt,) = torch.autograd.grad(theirs, [xt], gt, create_graph=True)
    np.testing.assert_allclose(gx.numpy(), gxt.detach().numpy(), atol=1e-12)
    v = RNG.standard_normal(values.shape)
    (gx * v).sum().backward()
    (gxt * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(g.grad.numpy(), gt.grad.numpy(), atol=1e-12)


# ---- bad input ----------------------------------------------------------------------------------


def _x():
    return ag.tensor(RNG.standard_normal((2, 4, 8, 8)), requires_grad=True)


BAD_CALLS = {  # case -> (call on a (2, 4, 8, 8) float64 x, error, what the message must say)
    "wrong channel count": (
        lambda x: F.conv2d(x, np.ones((8, 3, 3, 3))), ValueError,
        "conv2d: expected input with 3 channels (weight (8, 3, 3, 3), groups=1), got input of "
        "shape (2, 4, 8, 8)"),
    "kernel larger than the padded input": (
        lambda x: F.conv2d(x, np.ones((1, 4, 9, 9))), ValueError, "larger than the padded input"),
    "dilated kernel larger than the input": (
        lambda x: F.conv2d(x, np.ones((1, 4, 3, 3)), dilation=4), ValueError,
        "larger than the padded input (8, 8)"),
    "zero stride": (lambda x: F.conv2d(x, np.ones((1, 4, 3, 3)), stride=0), ValueError,
                    "conv2d: stride must be positive"),
    "negative padding": (lambda x: F.conv2d(x, np.ones((1, 4, 3, 3)), padding=-1), ValueError,
                         "conv2d: padding must be non-negative"),
    "groups not dividing channels": (
        lambda x: F.conv2d(x, np.ones((4, 1, 3, 3)), groups=3), ValueError,
        "the weight's 4 out channels (weight (4, 1, 3, 3)) are not divisible by groups=3"),
    "groups not dividing input channels": (
        lambda x: F.conv2d(x, np.ones((3, 1, 3, 3)), groups=3), ValueError,
        "expected input with 3 channels"),
    "same with a stride": (lambda x: F.conv2d(x, np.ones((1, 4, 3, 3)), stride=2, padding="same"),
                           ValueError, "padding='same' is not supported for strided"),
    "unknown padding string": (lambda x: F.conv2d(x, np.ones((1, 4, 3, 3)), padding="full"),
                               ValueError, "'full'"),
    "stride of three numbers": (lambda x: F.conv2d(x, np.ones((1, 4, 3, 3)), stride=(1, 1, 1)),
                                ValueError, "stride must be an int or a tuple of 2 ints"),
    "stride of the wrong type": (lambda x: F.conv2d(x, np.ones((1, 4, 3, 3)), stride=1.5),
                                 TypeError, "conv2d: stride"),
    "weight of the wrong ndim": (lambda x: F.conv2d(x, np.ones((4, 3, 3))), ValueError,
                                 "weight must be 4-D"),
    "input of the wrong ndim": (lambda x: F.conv1d(x, np.ones((1, 4, 3))), ValueError,
                                "expected a 2-D (unbatched) or 3-D (batched) input"),
    "bias of the wrong shape": (lambda x: F.conv2d(x, np.ones((2, 4, 3, 3)), np.ones(3)),
                                ValueError, "bias must have shape (2,)"),
    "float32 weight for a float64 input": (
        lambda x: F.conv2d(x, np.ones((1, 4, 3, 3), np.float32)), TypeError,
        "must have the same dtype"),
    "integer input": (lambda x: F.conv2d(np.ones((1, 4, 3, 3), np.int64), np.ones((1, 4, 3, 3))),
                      TypeError, "input must be floating-point"),
    "max_pool padding over half the kernel": (
        lambda x: F.max_pool2d(x, 3, padding=2), ValueError,
        "max_pool2d: pad should be at most half of kernel size"),
    "avg_pool padding over half the kernel": (
        lambda x: F.avg_pool1d(x[0], 2, padding=2), ValueError, "avg_pool1d: pad should be"),
    "pool kernel larger than the input": (lambda x: F.max_pool2d(x, 9), ValueError,
                                          "larger than the padded input"),
    "pool zero stride": (lambda x: F.avg_pool2d(x, 2, stride=0), ValueError,
                         "avg_pool2d: stride must be positive"),
    "pool of a 5-d input": (lambda x: F.max_pool2d(x[None], 2), ValueError,
                            "expected a 3-D (unbatched) or 4-D (batched) input"),
    "adaptive pool to size 0": (lambda x: F.adaptive_avg_pool2d(x, (0, 2)), ValueError,
                                "adaptive_avg_pool2d: output_size must be positive"),
    "adaptive pool to three sizes": (lambda x: F.adaptive_avg_pool2d(x, (1, 2, 3)), ValueError,
                                     "output_size must be an int or an (h, w) pair"),
    "embedding index out of range": (
        lambda x: F.embedding(ag.tensor([0, 8]), x[0, 0]), IndexError,
        "embedding: index 8 is out of range for a weight of 8 embeddings (shape (8, 8))"),
    "embedding negative index": (lambda x: F.embedding([-1], x[0, 0]), IndexError, "index -1"),
    "embedding float index": (lambda x: F.embedding(ag.tensor([0.0]), x[0, 0]), TypeError,
                              "embedding: indices must be integers"),
    "embedding 3-d weight": (lambda x: F.embedding([0], x[0]), ValueError,
                             "weight must be 2-D"),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_is_a_clear_error_naming_the_op_and_changes_nothing(case):
    call, error, message = BAD_CALLS[case]
    x = _x()
    before = x.numpy().copy()
    with pytest.raises(error) as info:
        call(x)
    assert message in str(info.value)
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None and x.grad_fn is None


# ---- against PyTorch ---------------------------------------------------------------------------


def _torch_pair(values):
    torch = pytest.importorskip("torch")
    return leaf(values), torch.tensor(values, requires_grad=True)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's, about its speed
@pytest.mark.parametrize(("dims", "stride", "padding", "dilation", "groups"), [
    (1, 1, 0, 1, 1), (1, 2, 1, 2, 3), (1, 1, "same", 2, 1), (1, 3, "valid", 1, 3),
    (2, 1, "same", 1, 1), (2, (2, 1), (1, 0), (1, 2), 3), (2, 1, "same", (2, 1), 3),
    (2, 2, 2, 1, 1)])
def test_conv_matches_torch_in_values_and_gradients(dims, stride, padding, dilation, groups):
    torch = pytest.importorskip("torch")
    x, xt = _torch_pair(RNG.standard_normal((2, 3) + (6,) * dims))
    w, wt = _torch_pair(RNG.standard_normal((6, 3 // groups) + (2, 3)[:dims]))
    b, bt = _torch_pair(RNG.standard_normal(6))
    ours = (F.conv1d if dims == 1 else F.conv2d)(x, w, b, stride, padding, dilation, groups)
    conv = torch.nn.functional.conv1d if dims == 1 else torch.nn.functional.conv2d
    theirs = conv(xt, wt, bt, stride, padding, dilation, groups)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), atol=1e-12)
    g = RNG.standard_normal(ours.shape)
    ours.backward(g)
    theirs.backward(torch.tensor(g))
    for mine, torchs in ((x, xt), (w, wt), (b, bt)):
        np.testing.assert_allclose(mine.grad.numpy(), torchs.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("name", ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"])
@pytest.mark.parametrize(("kernel", "stride", "padding"), [
    (2, None, 0), (3, 1, 1), (3, 2, 1), (2, 3, 0), (3, None, 1)])
def test_pools_match_torch_in_values_and_gradients(name, kernel, stride, padding):
    torch = pytest.importorskip("torch")
    dims = int(name[-2])
    x, xt = _torch_pair(RNG.permutation(2 * 3 * 7 ** dims).reshape((2, 3) + (7,) * dims) / 10)
    ours = getattr(F, name)(x, kernel, stride, padding)
    theirs = getattr(torch.nn.functional, name)(xt, kernel, stride, padding)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), atol=1e-12)
    g = RNG.standard_normal(ours.shape)
    ours.backward(g)
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("size", [1, 3, (2, 5), (None, 4), 8])
def test_adaptive_avg_pool_matches_torch_in_values_and_gradients(size):
    torch = pytest.importorskip("torch")
    x, xt = _torch_pair(RNG.standard_normal((2, 3, 7, 6)))
    ours = F.adaptive_avg_pool2d(x, size)
    theirs = torch.nn.functional.adaptive_avg_pool2d(xt, size)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), atol=1e-12)
    g = RNG.standard_normal(ours.shape)
    ours.backward(g)
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), atol=1e-12)


def test_max_pool_ties_and_embedding_repeats_match_torch():
    torch = pytest.importorskip("torch")
    x, xt = _torch_pair(np.array([[[[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]]]))
    F.max_pool2d(x, 2, stride=1).sum().backward()
    torch.nn.functional.max_pool2d(xt, 2, stride=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    w, wt = _torch_pair(RNG.standard_normal((4, 3)))
    index = np.array([[3, 0, 3], [3, 1, 0]])
    F.embedding(index, w).sum().backward()
    torch.nn.functional.embedding(torch.tensor(index), wt).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), wt.grad.numpy())


def test_conv_second_derivatives_match_torch():
    torch = pytest.importorskip("torch")
    x, xt = _torch_pair(RNG.standard_normal((2, 2, 5, 5)))
    w, wt = _torch_pair(RNG.standard_normal((4, 1, 3, 2)))
    (gx,) = ag.grad((F.conv2d(x, w, stride=2, padding=1, groups=2) ** 2).sum(), [x],
                    create_graph=True)
    (gxt,) = torch.autograd.grad((torch.nn.functional.conv2d(xt, wt, stride=2, padding=1,
                                                              groups=2) ** 2).sum(), [xt],
                                 create_graph=True)
    np.testing.assert_allclose(gx.numpy(), gxt.detach().numpy(), atol=1e-12)
    (gx ** 2).sum().backward()
    (gxt ** 2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), atol=1e-10)
