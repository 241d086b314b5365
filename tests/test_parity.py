"""Tensor methods that PyTorch also has mean what they mean in PyTorch (autograd_lite/_tensor.py).

Each test writes an idiom as a PyTorch user would (after ``import autograd_lite as ag``) and
compares it with values and gradients worked out by hand; no torch is needed. numpy's own
functions on Tensors (``np.std(t)``, ``np.transpose(t)``) keep numpy's meaning.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag
from autograd_lite.testing import gradcheck


def leaf(values):
    return ag.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def grad_of(x, out, weights=None):
    """d(sum(weights * out))/dx, the weights 1 unless given."""
    x.grad = None
    (out * (1.0 if weights is None else ag.tensor(weights, dtype=np.float64))).sum().backward()
    return x.grad.tolist()


# ---- shape: transpose, t, permute, size -------------------------------------------------------


def test_transpose_swaps_the_two_dims_it_is_given():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y = x.transpose(0, 1)
    assert y.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert grad_of(x, y, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]) == [[1.0, 3.0, 5.0],
                                                                   [2.0, 4.0, 6.0]]
    assert ag.zeros(2, 3, 4).transpose(-1, 0).shape == (4, 3, 2)
    assert x.transpose(1, 1).tolist() == x.tolist()


def test_transpose_wants_exactly_two_dims_and_numpys_transpose_keeps_numpys_meaning():
    x = ag.zeros(2, 3, 4)
    for bad in [(), (0,), (2, 1, 0)]:
        with pytest.raises(TypeError, match="two dims"):
            x.transpose(*bad)
    with pytest.raises(ValueError, match=r"transpose: .*axis 5 is out of bounds"):
        x.transpose(0, 5)
    assert np.transpose(x).shape == (4, 3, 2)  # numpy's function: all axes reversed
    assert x.permute(2, 0, 1).shape == (4, 2, 3) and x.permute((2, 0, 1)).shape == (4, 2, 3)


def test_t_transposes_a_matrix_and_leaves_vectors_alone_but_refuses_3d():
    assert ag.tensor([[1.0, 2.0]]).t().tolist() == [[1.0], [2.0]]
    assert ag.tensor([1.0, 2.0]).t().tolist() == [1.0, 2.0]
    assert ag.tensor(3.0).t().item() == 3.0
    with pytest.raises(RuntimeError, match=r"<= 2 dimensions.*\(2, 3, 4\)"):
        ag.zeros(2, 3, 4).t()


def test_T_and_mT_still_reverse_all_dims_and_swap_the_last_two():
    x = ag.zeros(2, 3, 4)
    assert x.T.shape == (4, 3, 2) and x.mT.shape == (2, 4, 3)


def test_size_is_the_shape_or_one_length_and_numel_dim_ndim_shape_agree():
    x = ag.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and isinstance(x.size(), tuple)
    assert x.size(0) == 2 and x.size(-1) == 4 and x.size(dim=1) == 3
    assert x.numel() == 24 and x.dim() == 3 and x.ndim == 3 and x.shape == (2, 3, 4)
    assert ag.tensor(1.0).size() == ()
    with pytest.raises(ValueError, match="size"):
        x.size(3)


# ---- std and var: Bessel's correction by default -------------------------------------------


def test_var_and_std_divide_by_n_minus_one_by_default():
    x = leaf([1.0, 2.0, 3.0, 4.0])  # mean 2.5, squared deviations sum to 5
    assert x.var().item() == pytest.approx(5 / 3)
    assert x.std().item() == pytest.approx(math.sqrt(5 / 3))
    # d var / dx_i = 2 (x_i - mean) / (N - 1)
    assert grad_of(x, x.var()) == pytest.approx([-1.0, -1 / 3, 1 / 3, 1.0])
    # d std / dx_i = (x_i - mean) / ((N - 1) std)
    s = math.sqrt(5 / 3)
    assert grad_of(x, x.std()) == pytest.approx([-1.5 / (3 * s), -0.5 / (3 * s),
                                                 0.5 / (3 * s), 1.5 / (3 * s)])


def test_var_correction_unbiased_and_numpys_ddof_are_one_setting():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    for biased in [x.var(correction=0), x.var(unbiased=False), x.var(False), x.var(ddof=0),
                   x.var(0, False)]:
        assert biased.item() == pytest.approx(1.25)
    assert x.var(correction=2).item() == pytest.approx(2.5)
    assert x.std(unbiased=True).item() == pytest.approx(math.sqrt(5 / 3))
    assert np.var(x).item() == pytest.approx(1.25)  # numpy's function keeps ddof=0
    with pytest.raises(TypeError, match="one of"):
        x.var(unbiased=True, correction=1)


def test_var_and_std_along_a_dim_with_keepdim_or_numpys_synonyms():
    x = leaf([[1.0, 3.0], [2.0, 6.0]])
    assert x.var(0).tolist() == [0.5, 4.5]
    assert x.var(dim=1, keepdim=True).tolist() == [[2.0], [8.0]]
    assert x.std(axis=1, keepdims=True).tolist() == [[math.sqrt(2.0)], [math.sqrt(8.0)]]
    assert x.var(dim=(0, 1)).item() == pytest.approx(14 / 3)  # mean 3: (4 + 0 + 1 + 9) / 3
    assert gradcheck(lambda t: t.std(1, correction=0), x)


# ---- max and min ---------------------------------------------------------------------------


def test_max_of_all_elements_is_0d_and_ties_share_its_gradient():
    x = leaf([[1.0, 3.0], [3.0, 0.0]])
    m = x.max()
    assert m.shape == () and m.item() == 3.0
    assert grad_of(x, m) == [[0.0, 0.5], [0.5, 0.0]]
    assert x.min().item() == 0.0


def test_max_along_a_dim_returns_values_and_indices_as_a_named_tuple():
    x = leaf([[1.0, 5.0, 2.0], [4.0, 0.0, 4.0]])
    out = x.max(1)
    assert out.values.tolist() == [5.0, 4.0] and out.indices.tolist() == [1, 0]
    values, indices = out
    assert values is out.values and indices is out.indices and out[0] is values
    assert type(out).__name__ == "max"
    kept = x.max(dim=1, keepdim=True)
    assert kept.values.shape == (2, 1) and kept.indices.tolist() == [[1], [0]]
    low = x.min(0)
    assert low.values.tolist() == [1.0, 0.0, 2.0] and low.indices.tolist() == [0, 1, 0]
    assert x.max(axis=0, keepdims=True).indices.tolist() == [[1, 0, 1]]


def test_max_along_a_dim_sends_the_gradient_to_the_one_index_it_returns():
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    out = x.max(1)
    assert out.indices.tolist() == [1, 0]  # the first of the tied maxima
    assert grad_of(x, out.values, [1.0, 2.0]) == [[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]]
    low = x.min(1, keepdim=True)
    assert grad_of(x, low.values) == [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]


def test_max_with_a_tensor_is_the_elementwise_maximum():
    x, y = leaf([1.0, 5.0, 2.0]), leaf([3.0, 4.0, 2.0])
    assert x.max(y).tolist() == [3.0, 5.0, 2.0] and x.min(y).tolist() == [1.0, 4.0, 2.0]
    x.max(y).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.5] and y.grad.tolist() == [1.0, 0.0, 0.5]


def test_max_refuses_several_dims_and_keepdim_without_a_dim():
    x = ag.zeros(2, 3)
    with pytest.raises(TypeError, match="one int"):
        x.max(dim=(0, 1))
    with pytest.raises(TypeError, match="keepdim needs a dim"):
        x.min(keepdim=True)
    assert np.max(x, axis=(0, 1)).shape == ()  # numpy's function keeps numpy's meaning


# ---- norm and cumsum -------------------------------------------------------------------------


def test_norm_is_the_2_norm_by_default_and_takes_p_and_dim():
    x = leaf([[3.0, -4.0], [0.0, 12.0]])
    assert x.norm().item() == pytest.approx(13.0)
    assert x.norm(p="fro").item() == pytest.approx(13.0)
    assert x.norm(dim=1).tolist() == pytest.approx([5.0, 12.0])
    assert x.norm(1, dim=0, keepdim=True).tolist() == [[3.0, 16.0]]
    assert x.norm(math.inf).item() == 12.0 and x.norm(-math.inf).item() == 0.0
    assert x.norm(0).item() == 3.0  # the count of non-zeros
    assert x.norm(3).item() == pytest.approx((27 + 64 + 1728) ** (1 / 3))
    # d|x|/dx = x / |x|
    np.testing.assert_allclose(grad_of(x, x.norm()), [[3 / 13, -4 / 13], [0.0, 12 / 13]])
    assert gradcheck(lambda t: t.norm(3, dim=1), leaf([[1.0, -2.0], [0.5, 3.0]]))


def test_norm_of_zeros_has_a_zero_gradient_and_nuc_is_refused():
    z = leaf([[0.0, 0.0], [1.0, 0.0]])
    n = z.norm(dim=1)
    assert n.tolist() == [0.0, 1.0]
    assert grad_of(z, n) == [[0.0, 0.0], [1.0, 0.0]]
    with pytest.raises(ValueError, match="nuc"):
        z.norm("nuc")
    with pytest.raises(RuntimeError, match="floating-point"):
        ag.tensor([1, 2]).norm()


def test_cumsum_runs_along_a_dim_and_its_gradient_sums_the_tail():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.cumsum(1).tolist() == [[1.0, 3.0, 6.0], [4.0, 9.0, 15.0]]
    assert x.cumsum(0).tolist() == [[1.0, 2.0, 3.0], [5.0, 7.0, 9.0]]
    assert grad_of(x, x.cumsum(1)) == [[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]]
    ints = ag.tensor([True, True, False]).cumsum(0)
    assert ints.tolist() == [1, 2, 2] and ints.dtype == np.int64


# ---- splitting, flipping, rolling, repeating ----------------------------------------------


def test_split_by_size_or_by_sections_and_chunk_by_count():
    x = leaf([1.0, 2.0, 3.0, 4.0, 5.0])
    assert [p.tolist() for p in x.split(2)] == [[1.0, 2.0], [3.0, 4.0], [5.0]]
    assert [p.tolist() for p in x.split([1, 4])] == [[1.0], [2.0, 3.0, 4.0, 5.0]]
    assert [p.tolist() for p in x.chunk(2)] == [[1.0, 2.0, 3.0], [4.0, 5.0]]
    assert [p.tolist() for p in ag.zeros(6).chunk(4)] == [[0.0, 0.0]] * 3  # ceil(6/4) each
    assert isinstance(x.split(2), tuple)
    first, rest = x.split([2, 3])
    assert grad_of(x, first * 2) == [2.0, 2.0, 0.0, 0.0, 0.0]
    m = ag.zeros(2, 5)
    assert [p.shape for p in m.split(2, dim=1)] == [(2, 2), (2, 2), (2, 1)]
    with pytest.raises(RuntimeError, match="sum to 5"):
        x.split([2, 2])
    with pytest.raises(RuntimeError, match="chunks must be positive"):
        x.chunk(0)


def test_flip_reverses_the_given_dims():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    assert x.flip(0).tolist() == [[3.0, 4.0], [1.0, 2.0]]
    assert x.flip(0, 1).tolist() == [[4.0, 3.0], [2.0, 1.0]]
    assert x.flip((1,)).tolist() == [[2.0, 1.0], [4.0, 3.0]]
    assert grad_of(x, x.flip(1), [[1.0, 2.0], [3.0, 4.0]]) == [[2.0, 1.0], [4.0, 3.0]]


def test_roll_shifts_with_wraparound_along_dims_or_the_flattened_tensor():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.roll(1).tolist() == [[6.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert x.roll(-1, 1).tolist() == [[2.0, 3.0, 1.0], [5.0, 6.0, 4.0]]
    assert x.roll((1, 1), (0, 1)).tolist() == [[6.0, 4.0, 5.0], [3.0, 1.0, 2.0]]
    assert grad_of(x, x.roll(1, 1), [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]) == [
        [2.0, 3.0, 1.0], [0.0, 0.0, 0.0]]
    with pytest.raises(RuntimeError, match="2 shifts for 1 dims"):
        x.roll((1, 2), 0)


def test_repeat_tiles_whole_tensors_and_sums_the_gradient_of_the_copies():
    x = leaf([1.0, 2.0])
    assert x.repeat(3).tolist() == [1.0, 2.0, 1.0, 2.0, 1.0, 2.0]
    assert x.repeat(2, 2).tolist() == [[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]]
    assert x.repeat((1, 1, 2)).shape == (1, 1, 4)
    assert grad_of(x, x.repeat(3)) == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="at least one per dimension"):
        ag.zeros(2, 2).repeat(2)


@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                    elements=st.floats(-10, 10)),
       reps=st.lists(st.integers(1, 3), min_size=3, max_size=4))
def test_repeat_is_numpys_tile_and_split_pieces_join_back(x, reps):
    t = ag.tensor(x)
    np.testing.assert_array_equal(t.repeat(*reps).numpy(), np.tile(x, reps))
    np.testing.assert_array_equal(ag.cat(t.split(2, dim=-1), -1).numpy(), x)


# ---- dtype, device, copies -----------------------------------------------------------------


def test_to_converts_dtype_and_returns_self_when_nothing_changes():
    x = leaf([1.5, -2.5])
    assert x.to(np.float64) is x and x.to("cpu") is x and x.to(device="cpu") is x
    assert x.to("cpu", np.float32).dtype == np.float32
    assert x.to(dtype=np.float32).dtype == np.float32
    assert x.to(ag.tensor([1])).tolist() == [1, -2]  # another tensor's dtype
    copy = x.to(np.float64, copy=True)
    assert copy is not x and not np.shares_memory(copy.numpy(), x.numpy())
    assert grad_of(x, x.to(np.float32) * 2) == [2.0, 2.0]


def test_only_the_cpu_exists():
    x = ag.zeros(2)
    assert x.device == "cpu" and x.cpu() is x and x.to("cpu:0") is x
    for call in [lambda: x.to("cuda"), lambda: x.to(device="mps"), lambda: x.cuda()]:
        with pytest.raises(RuntimeError, match="runs on the CPU only"):
            call()


def test_type_names_pytorchs_tensor_type_and_type_of_a_dtype_converts():
    assert ag.tensor([1.0]).type() == "torch.FloatTensor"
    assert ag.tensor([1.0], dtype=np.float64).type() == "torch.DoubleTensor"
    assert ag.tensor([1]).type() == "torch.LongTensor"
    assert ag.tensor([True]).type() == "torch.BoolTensor"
    x = ag.tensor([1.5])
    assert x.type(np.float64).dtype == np.float64 and x.type("torch.IntTensor").tolist() == [1]
    assert x.type("torch.FloatTensor") is x
    with pytest.raises(TypeError, match="no tensor type name for uint16"):
        ag.tensor(np.array([1], dtype=np.uint16)).type()
    with pytest.raises(TypeError, match="unknown type name 'float64'"):
        x.type("float64")


def test_float_double_long_int_bool_convert_and_return_self_when_already_so():
    x = ag.tensor([0.0, 1.5, -2.5], dtype=np.float64)
    assert x.double() is x
    single = ag.tensor([1.0])
    assert single.float() is single and ag.tensor([1]).long().int().int().dtype == np.int32
    assert x.float().dtype == np.float32
    assert x.long().tolist() == [0, 1, -2] and x.long().dtype == np.int64
    assert x.int().dtype == np.int32 and x.bool().tolist() == [False, True, True]
    y = leaf([1.0, 2.0])
    assert grad_of(y, y.float() * 3) == [3.0, 3.0]


def test_contiguous_is_self_or_a_c_ordered_copy_with_the_gradient_flowing_back():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.contiguous() is x
    for view in [x.t(), x[:, ::2], x.transpose(0, 1)[::-1], ag.zeros(3, 4, 2).permute(2, 0, 1)]:
        c = view.contiguous()
        assert c.numpy().flags.c_contiguous and c.tolist() == view.tolist()
    assert grad_of(x, x.t().contiguous(), [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]) == [
        [1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]


def test_detach__cuts_a_tensor_from_the_graph_in_place():
    x = leaf([1.0, 2.0])
    y = x * 2
    assert y.detach_() is y and y.grad_fn is None and not y.requires_grad
    assert y.tolist() == [2.0, 4.0]
    assert x.detach_() is x and not x.requires_grad
    with pytest.raises(RuntimeError, match="view"):
        leaf([1.0, 2.0])[:1].detach_()


def test_expand_as_and_view_as_take_the_other_tensors_shape():
    x = leaf([1.0, 2.0])
    e = x.expand_as(ag.zeros(3, 2))
    assert e.shape == (3, 2) and grad_of(x, e) == [3.0, 3.0]
    assert ag.zeros(6).view_as(ag.zeros(2, 3)).shape == (2, 3)


def test_new_factories_take_this_tensors_dtype():
    x = ag.tensor([1.0], dtype=np.float64)
    assert x.new_zeros(2, 3).dtype == np.float64 and x.new_zeros((2, 3)).shape == (2, 3)
    assert x.new_ones(2).tolist() == [1.0, 1.0]
    assert x.new_full((2,), 7).dtype == np.float64
    assert x.new_tensor([1, 2]).dtype == np.float64
    assert x.new_zeros(2, dtype=np.int64).dtype == np.int64
    assert x.new_ones(2, requires_grad=True).requires_grad
    data = np.array([1.0, 2.0])
    assert not np.shares_memory(x.new_tensor(data).numpy(), data)


def test_masked_fill_writes_value_where_the_bool_mask_is_true():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    mask = ag.tensor([True, False])  # broadcast over the rows
    out = x.masked_fill(mask, -1.0)
    assert out.tolist() == [[-1.0, 2.0], [-1.0, 4.0]] and out.dtype == np.float64
    assert grad_of(x, out) == [[0.0, 1.0], [0.0, 1.0]]
    v = leaf(5.0)
    x.masked_fill(mask, v).sum().backward()
    assert v.grad.item() == 2.0
    assert ag.tensor([1, 2]).masked_fill(ag.tensor([True, False]), 3.7).tolist() == [3, 2]
    with pytest.raises(RuntimeError, match="must be bool"):
        x.masked_fill(ag.tensor([1, 0]), 0.0)


def test_scatter_add_and_masked_fill_in_place_follow_the_in_place_rules():
    counts = ag.zeros(3, dtype=ag.float64)
    assert counts.scatter_add_(0, ag.tensor([2, 0, 2]), ag.ones(3, dtype=ag.float64)) is counts
    assert counts.tolist() == [1.0, 0.0, 2.0]
    x = leaf([1.0, -2.0, 3.0])
    h = x * 1.0  # a non-leaf: recorded in place, the gradient flows through both ops
    h.masked_fill_(h < 0, 0.0).scatter_add_(0, ag.tensor([0, 0]), leaf([1.0, 1.0]))
    assert h.tolist() == [3.0, 0.0, 3.0] and grad_of(x, h) == [1.0, 0.0, 1.0]
    with pytest.raises(RuntimeError, match="scatter_add_: a leaf tensor that requires grad"):
        x.scatter_add_(0, ag.tensor([0]), leaf([1.0]))
    with pytest.raises(RuntimeError, match="masked_fill_: a leaf tensor that requires grad"):
        x.masked_fill_(ag.tensor([True, False, False]), 0.0)
    assert x.tolist() == [1.0, -2.0, 3.0]


def test_allclose_and_equal_answer_with_a_python_bool():
    a = ag.tensor([1.0, 2.0, np.nan], dtype=np.float64)
    b = ag.tensor([1.0, 2.0 + 1e-9, np.nan], dtype=np.float64)
    assert a.allclose(b, equal_nan=True) is True and a.allclose(b) is False
    assert a[:2].allclose(b[:2]) and not a[:2].allclose(b[:2] + 1e-3)
    assert a[:2].allclose(b[:2] + 1e-3, atol=1e-2)
    assert a[:2].equal(a[:2]) and not a.equal(a) and not a[:2].equal(b[:2])
    assert not a.equal(a[:2])
    with pytest.raises(RuntimeError, match="different dtypes"):
        a.equal(ag.tensor([1.0, 2.0, 3.0], dtype=np.float32))
    with pytest.raises(TypeError, match="expected a Tensor"):
        a.allclose([1.0, 2.0, 3.0])


def test_cat_and_stack_take_pytorchs_dim():
    a, b = ag.tensor([[1.0], [2.0]]), ag.tensor([[3.0], [4.0]])
    assert ag.cat([a, b], dim=1).tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert ag.stack([a, b], dim=0).shape == (2, 2, 1)
    assert ag.concatenate((a, b), axis=0).tolist() == [[1.0], [2.0], [3.0], [4.0]]


# ---- indexing along a dim: gather, scatter_add, index_select, masked_select, nonzero, sort -----


def test_indexing_methods_take_pytorchs_spellings():
    x = leaf([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    assert x.gather(dim=1, index=ag.tensor([[0], [1]])).tolist() == [[3.0], [5.0]]
    assert ag.gather(x, 0, index=ag.tensor([[1, 0, 1]])).tolist() == [[0.0, 1.0, 4.0]]
    assert x.scatter_add(dim=0, index=ag.tensor([[1, 1, 1]]), src=ag.ones(1, 3, dtype=ag.float64)
                         ).tolist() == [[3.0, 1.0, 2.0], [1.0, 6.0, 5.0]]
    assert x.index_select(dim=1, index=ag.tensor([1])).tolist() == [[1.0], [5.0]]
    assert ag.masked_select(x, mask=x > 2.5).tolist() == [3.0, 5.0, 4.0]
    assert (x > 2.5).nonzero().tolist() == [[0, 0], [1, 1], [1, 2]]
    result = x.sort(dim=0, descending=True)
    assert type(result).__name__ == "sort" and result._fields == ("values", "indices")
    values, indices = result
    assert values.tolist() == [[3.0, 5.0, 4.0], [0.0, 1.0, 2.0]]
    assert indices.tolist() == [[0, 1, 1], [1, 0, 0]]
    assert ag.sort(x, stable=True).values.tolist() == [[1.0, 2.0, 3.0], [0.0, 4.0, 5.0]]
    top = ag.topk(x, k=1, dim=1, largest=True, sorted=True)
    assert type(top).__name__ == "topk" and top.values.tolist() == [[3.0], [5.0]]
    assert x.topk(2, largest=False).indices.tolist() == [[1, 2], [0, 2]]
    assert grad_of(x, x.topk(1, dim=0).values) == [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
