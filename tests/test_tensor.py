"""The Tensor object and the factories that make one (autograd_lite/tensor.py, creation.py).

A Tensor is a numpy array (``.data``) plus what autograd needs: ``requires_grad``, the
accumulated ``.grad`` and ``grad_fn``, the graph node of the op that produced it.
"""

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Tensor

# ---- array attributes ----------------------------------------------------------------------


def test_shape_ndim_size_and_dtype_describe_the_underlying_array():
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = ag.tensor(data)
    assert t.shape == (2, 3, 4)
    assert t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.numel() == 24
    assert t.dtype == np.float32
    assert len(t) == 2


def test_a_zero_dimensional_tensor_has_empty_shape_and_no_len():
    t = ag.tensor(2.5)
    assert t.shape == () and t.ndim == 0 and t.size() == () and t.numel() == 1
    with pytest.raises(TypeError):
        len(t)


def test_T_reverses_all_axes_and_mT_swaps_the_last_two():
    data = np.arange(24.0).reshape(2, 3, 4)
    t = ag.tensor(data)
    np.testing.assert_array_equal(t.T.numpy(), data.transpose(2, 1, 0))
    assert t.mT.shape == (2, 4, 3)
    np.testing.assert_array_equal(t.mT.numpy(), np.swapaxes(data, -1, -2))
    m = ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert m.T.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]


def test_item_returns_a_python_number_for_one_element_tensors():
    assert ag.tensor(2.5).item() == 2.5
    assert type(ag.tensor(2.5).item()) is float
    assert ag.tensor([[7]]).item() == 7
    assert type(ag.tensor([[7]]).item()) is int
    assert float(ag.tensor([1.5])) == 1.5 and int(ag.tensor(3)) == 3


def test_item_on_several_elements_raises_and_names_the_shape():
    with pytest.raises(ValueError, match=r"item\(\).*\(2,\)"):
        ag.tensor([1.0, 2.0]).item()


def test_numpy_returns_the_shared_underlying_array():
    t = ag.tensor([1.0, 2.0, 3.0])
    arr = t.numpy()
    assert isinstance(arr, np.ndarray)
    arr[0] = 10.0
    assert t.tolist() == [10.0, 2.0, 3.0]


def test_tolist_gives_nested_python_lists():
    t = ag.tensor([[1, 2], [3, 4]])
    assert t.tolist() == [[1, 2], [3, 4]]
    assert ag.tensor(1.5).tolist() == 1.5


def test_iterating_yields_the_rows():
    t = ag.tensor([[1.0, 2.0], [3.0, 4.0]])
    rows = list(t)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    assert all(isinstance(r, Tensor) for r in rows)


# ---- autograd attributes -------------------------------------------------------------------


def test_new_tensors_do_not_require_grad_and_have_no_grad():
    t = ag.tensor([1.0, 2.0])
    assert t.requires_grad is False
    assert t.grad is None
    assert t.grad_fn is None
    assert t.is_leaf


def test_a_tensor_made_by_an_op_is_a_non_leaf_with_a_grad_fn_naming_the_op():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    assert x.is_leaf and x.grad_fn is None
    assert not y.is_leaf
    assert y.requires_grad
    assert y.grad_fn is not None and y.grad_fn.name == "mul"
    assert y.grad_fn.next_functions == (x,)  # a leaf: its gradient goes straight into x.grad
    z = y.exp()
    assert z.grad_fn.next_functions == (y.grad_fn,)


def test_an_op_on_inputs_that_do_not_require_grad_records_nothing():
    y = ag.tensor([1.0, 2.0]) * 3.0
    assert y.requires_grad is False and y.grad_fn is None and y.is_leaf


def test_requires_grad_can_be_switched_on_for_a_leaf_with_requires_grad_():
    x = ag.tensor([1.0, 2.0])
    assert x.requires_grad_() is x
    assert x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    x.requires_grad = True
    assert x.requires_grad


@pytest.mark.parametrize("make", [
    lambda: ag.tensor([1, 2, 3], requires_grad=True),
    lambda: ag.tensor([True, False], requires_grad=True),
    lambda: ag.zeros(3, dtype=np.int64, requires_grad=True),
    lambda: ag.arange(5, requires_grad=True),
    lambda: ag.tensor([1, 2]).requires_grad_(),
    lambda: Tensor(np.array([1, 2], dtype=np.int32), requires_grad=True),
], ids=["int-list", "bool-list", "int-zeros", "int-arange", "requires_grad_", "int32-array"])
def test_integer_and_bool_tensors_cannot_require_grad(make):
    with pytest.raises(TypeError, match="floating-point"):
        make()


def test_casting_to_an_integer_dtype_gives_a_tensor_that_does_not_require_grad():
    """An integer tensor never requires grad, even when it is computed from one that does."""
    x = ag.tensor([1.5, 2.5], requires_grad=True)
    n = x.long()
    assert n.dtype == np.int64
    assert n.requires_grad is False
    assert n.grad_fn is None
    assert x.double().requires_grad  # a float cast stays differentiable


def test_requires_grad_cannot_be_turned_off_on_a_non_leaf():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    y.requires_grad = True  # already true: allowed, nothing changes
    assert y.requires_grad and y.grad_fn is not None


def test_detach_shares_data_but_is_cut_from_the_graph():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert d.requires_grad is False and d.grad_fn is None and d.is_leaf
    np.testing.assert_array_equal(d.numpy(), [2.0, 4.0])
    d.numpy()[0] = -1.0  # shares memory with y
    assert y.tolist() == [-1.0, 4.0]


def test_zero_fills_in_place_and_returns_self():
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]])
    data = x.numpy()
    assert x.zero_() is x
    assert x.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert x.numpy() is data


def test_grad_is_filled_by_backward_and_can_be_zeroed_or_reset_to_none():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    x.grad = None
    assert x.grad is None
    (3.0 * x).sum().backward()  # starts afresh, nothing left over from before
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0, 3.0])


def test_assigning_a_grad_of_the_wrong_shape_is_an_error():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    x.grad = ag.tensor([0.5, 0.5])
    assert x.grad.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="shape"):
        x.grad = ag.tensor([1.0, 2.0, 3.0])


def test_repr_shows_the_values():
    assert repr(ag.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(ag.tensor([1, 2])) == "tensor([1, 2])"


def test_repr_shows_requires_grad_for_leaves_and_grad_fn_for_op_results():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    r = repr(x * 2.0)
    assert r.startswith("tensor([2., 4.]")
    assert "grad_fn" in r and "mul" in r


def test_repr_names_a_non_default_dtype():
    assert "float64" in repr(ag.tensor([1.0], dtype=np.float64))
    assert "int32" in repr(ag.tensor(np.array([1], dtype=np.int32)))
    assert "float32" not in repr(ag.tensor([1.0]))


# ---- factories: dtypes and copies ----------------------------------------------------------


@pytest.mark.parametrize("data, dtype", [
    (1.5, np.float32),
    ([1.0, 2.0], np.float32),
    ([[1, 2.5], [3, 4]], np.float32),
    (3, np.int64),
    ([1, 2, 3], np.int64),
    (True, np.bool_),
    ([True, False], np.bool_),
    (np.array([1.0, 2.0]), np.float64),
    (np.array([1.0], dtype=np.float16), np.float16),
    (np.array([1, 2], dtype=np.int32), np.int32),
    (np.array([1.0], dtype=np.float32), np.float32),
], ids=["py-float", "float-list", "mixed-list", "py-int", "int-list", "py-bool", "bool-list",
        "np-float64", "np-float16", "np-int32", "np-float32"])
def test_tensor_dtype_python_floats_are_float32_ints_int64_arrays_keep_theirs(data, dtype):
    t = ag.tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))


def test_an_explicit_dtype_wins():
    assert ag.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert ag.tensor(np.array([1.0, 2.0]), dtype=np.float32).dtype == np.float32
    assert ag.Tensor([1.0], dtype=np.float64).dtype == np.float64


def test_tensor_copies_a_numpy_array():
    arr = np.array([1.0, 2.0, 3.0])
    t = ag.tensor(arr)
    arr[0] = 100.0
    assert t.tolist() == [1.0, 2.0, 3.0]
    t.numpy()[1] = -5.0
    assert arr[1] == 2.0


def test_tensor_of_a_tensor_is_a_detached_copy():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    t = ag.tensor(x)
    assert t.requires_grad is False
    t.numpy()[0] = 9.0
    assert x.tolist() == [1.0, 2.0]


def test_from_numpy_shares_memory_with_the_array_and_keeps_its_dtype():
    arr = np.array([1.0, 2.0, 3.0])
    t = ag.from_numpy(arr)
    assert t.dtype == np.float64
    arr[0] = 100.0
    assert t.tolist() == [100.0, 2.0, 3.0]
    t.numpy()[2] = -1.0
    assert arr[2] == -1.0


def test_from_numpy_rejects_anything_but_an_array():
    with pytest.raises(TypeError, match="from_numpy"):
        ag.from_numpy([1.0, 2.0])


def test_requires_grad_keyword_makes_a_leaf_that_requires_grad():
    for t in [ag.tensor([1.0], requires_grad=True), ag.zeros(2, requires_grad=True),
              ag.ones(2, requires_grad=True), ag.full(2, 3.0, requires_grad=True),
              ag.randn(2, requires_grad=True), ag.rand(2, requires_grad=True),
              ag.arange(0.0, 3.0, requires_grad=True),
              ag.zeros_like(np.zeros(2), requires_grad=True)]:
        assert t.requires_grad and t.is_leaf and t.grad is None


# ---- factories: shapes ---------------------------------------------------------------------


SHAPED = {
    "zeros": ag.zeros,
    "ones": ag.ones,
    "randn": ag.randn,
    "rand": ag.rand,
}


@pytest.mark.parametrize("name", sorted(SHAPED))
@pytest.mark.parametrize("args, shape", [
    ((2, 3), (2, 3)), (((2, 3),), (2, 3)), (([4, 1, 2],), (4, 1, 2)), ((5,), (5,)), ((), ()),
], ids=["ints", "tuple", "list", "one-int", "scalar"])
def test_factories_take_the_shape_as_ints_or_as_one_tuple(name, args, shape):
    t = SHAPED[name](*args)
    assert t.shape == shape
    assert t.dtype == np.float32


def test_zeros_and_ones_hold_zeros_and_ones():
    np.testing.assert_array_equal(ag.zeros(2, 3).numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(ag.ones((3, 1)).numpy(), np.ones((3, 1)))
    assert ag.zeros(2, dtype=np.float64).dtype == np.float64
    assert ag.ones(2, dtype=np.int64).tolist() == [1, 1]


def test_full_fills_the_given_shape_with_the_value():
    t = ag.full((2, 3), 2.5)
    assert t.shape == (2, 3) and t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), 2.5))
    assert ag.full(4, -1.0).tolist() == [-1.0] * 4
    assert ag.full((2,), 7, dtype=np.int64).tolist() == [7, 7]


@pytest.mark.parametrize("like", [
    np.arange(6, dtype=np.float64).reshape(2, 3),
    ag.tensor([[1, 2, 3]]),
    ag.tensor([1.0, 2.0], requires_grad=True),
], ids=["float64-array", "int-tensor", "float-tensor-requiring-grad"])
def test_zeros_like_and_ones_like_copy_shape_and_dtype(like):
    z, o = ag.zeros_like(like), ag.ones_like(like)
    data = np.asarray(like)
    for t, value in [(z, 0), (o, 1)]:
        assert t.shape == data.shape and t.dtype == data.dtype
        assert (t.numpy() == value).all()
        assert t.requires_grad is False
    assert ag.zeros_like(like, dtype=np.float32).dtype == np.float32


def test_arange_follows_numpy_with_float_ranges_in_float32():
    ints = ag.arange(5)
    assert ints.dtype == np.int64 and ints.tolist() == [0, 1, 2, 3, 4]
    assert ag.arange(2, 8, 2).tolist() == [2, 4, 6]
    floats = ag.arange(0.0, 1.0, 0.25)
    assert floats.dtype == np.float32
    np.testing.assert_array_equal(floats.numpy(), [0.0, 0.25, 0.5, 0.75])
    assert ag.arange(3, dtype=np.float64).dtype == np.float64


def test_rand_draws_from_the_unit_interval_and_randn_looks_standard_normal():
    ag.manual_seed(0)
    u = ag.rand(10_000).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.02
    z = ag.randn(10_000).numpy()
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05
    assert ag.randn(3, dtype=np.float64).dtype == np.float64


# ---- random numbers: seeding ---------------------------------------------------------------


def test_manual_seed_makes_randn_and_rand_reproducible():
    ag.manual_seed(1234)
    a, b = ag.randn(5), ag.rand(2, 2)
    ag.manual_seed(1234)
    c, d = ag.randn(5), ag.rand(2, 2)
    np.testing.assert_array_equal(a.numpy(), c.numpy())
    np.testing.assert_array_equal(b.numpy(), d.numpy())
    ag.manual_seed(4321)
    assert not np.array_equal(ag.randn(5).numpy(), a.numpy())


def test_successive_draws_differ():
    ag.manual_seed(0)
    assert not np.array_equal(ag.randn(5).numpy(), ag.randn(5).numpy())


def test_manual_seed_returns_the_generator_that_default_generator_reports():
    gen = ag.manual_seed(7)
    assert isinstance(gen, np.random.Generator)
    assert ag.default_generator() is gen


def test_a_generator_argument_is_used_instead_of_the_default_one():
    a = ag.randn(4, generator=np.random.default_rng(99))
    b = ag.randn(4, generator=np.random.default_rng(99))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    u = ag.rand(4, generator=np.random.default_rng(99))
    v = ag.rand(4, generator=np.random.default_rng(99))
    np.testing.assert_array_equal(u.numpy(), v.numpy())

    # Drawing from a private generator leaves the default stream where it was.
    ag.manual_seed(5)
    expected = ag.randn(3)
    ag.manual_seed(5)
    ag.randn(10, generator=np.random.default_rng(0))
    ag.rand(10, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(ag.randn(3).numpy(), expected.numpy())


def test_a_generator_argument_is_advanced_by_the_draw():
    gen = np.random.default_rng(3)
    first = ag.randn(4, generator=gen)
    second = ag.randn(4, generator=gen)
    assert not np.array_equal(first.numpy(), second.numpy())


# ---- bad inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize("data", [[[1, 2], [3]], [1.0, [2.0, 3.0]], [[1.0], []]],
                         ids=["ragged-rows", "scalar-and-list", "empty-row"])
def test_ragged_nested_lists_are_a_value_error_naming_the_factory(data):
    with pytest.raises(ValueError, match="tensor"):
        ag.tensor(data)


@pytest.mark.parametrize("data", [
    [1 + 2j], np.array([1j]), ["a", "b"], np.array(["x"]), [object()], None, {"a": 1},
], ids=["complex-list", "complex-array", "strings", "string-array", "object", "none", "dict"])
def test_complex_string_and_object_data_are_a_type_error_naming_the_dtype(data):
    with pytest.raises(TypeError, match="(?i)tensor.*(unsupported|cannot)"):
        ag.tensor(data)


def test_the_tensor_constructor_rejects_unsupported_dtypes_too():
    with pytest.raises(TypeError, match="complex"):
        Tensor(np.array([1 + 1j]))
    with pytest.raises(TypeError, match="object"):
        Tensor([object()])


# ---- in-place operations: PyTorch's rules ------------------------------------------------------


def test_a_leaf_that_requires_grad_cannot_be_modified_in_place_while_recording():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    for modify in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.__setitem__(0, 5.0),
                   lambda: w.fill_(0), lambda: w.zero_()):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            modify()
    assert w.tolist() == [1.0, 2.0] and w.grad_fn is None


def test_augmented_assignment_on_a_leaf_is_refused_and_leaves_it_unchanged():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: a leaf tensor"):
        w += 1
    assert w.tolist() == [1.0, 2.0]


def test_parameters_are_updated_in_place_under_no_grad():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    data = w.data
    (w * w).sum().backward()
    with ag.no_grad():
        w -= 0.1 * w.grad
    assert w.data is data  # the same memory, updated
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6])
    assert w.is_leaf and w.requires_grad


def test_in_place_on_a_non_leaf_joins_the_graph():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y += 1
    y *= y          # y = (2x + 1)^2; mul_ saved the old y, so its gradient uses it
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * (2 * np.array([1.0, 2.0]) + 1))
    assert y.grad_fn.name == "mul"


def test_a_value_saved_for_backward_and_modified_in_place_makes_backward_raise():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    out = ag.exp(h)     # exp's rule reads its output
    loss = out.sum()
    out += 1
    with pytest.raises(RuntimeError, match=r"gradient of 'exp' was modified by an in-place "
                                           r"operation: its output is at version 1, but was at "
                                           r"version 0"):
        loss.backward()
    assert x.grad is None  # raised before any gradient was accumulated


def _modify_in_place_under_no_grad(t):
    with ag.no_grad():
        t.add_(1)


@pytest.mark.parametrize("modify", [
    pytest.param(_modify_in_place_under_no_grad, id="under no_grad"),
    pytest.param(lambda out: _modify_in_place_under_no_grad(out[:1]), id="through a view"),
    pytest.param(lambda out: out.detach().zero_(), id="through detach"),
])
@pytest.mark.parametrize("op", [ag.exp, ag.tanh, ag.sqrt, ag.sigmoid])
def test_an_output_its_rule_reads_is_watched_however_it_is_modified(op, modify):
    """The output's version counter is made only when something could modify it; the op that
    made it starts watching it then."""
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    out = op(x)
    loss = out.sum()
    modify(out)
    with pytest.raises(RuntimeError, match=f"gradient of '{op.name}'.*its output"):
        loss.backward()


def test_an_output_viewed_before_the_change_is_watched_too():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    out = ag.exp(x)
    view = out.reshape(2, 1)
    loss = (view * 2).sum() + out.sum()
    _modify_in_place_under_no_grad(out)
    with pytest.raises(RuntimeError, match="gradient of 'exp'.*its output"):
        loss.backward()


def test_modifying_an_input_that_backward_does_not_read_is_fine():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    c = ag.tensor([3.0, 4.0])
    y = x + c            # add's rules read neither input
    c += 1
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_modifying_an_input_that_backward_reads_names_the_op_and_input():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    c = ag.tensor([3.0, 4.0])
    y = x * c            # the gradient of x is g * c
    c += 1
    with pytest.raises(RuntimeError, match="'mul'.*its input 1 is at version 1"):
        y.sum().backward()


def test_setitem_records_the_write_in_the_graph():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1
    h[0] = x[2] * 5.0
    assert h.tolist() == [15.0, 2.0, 3.0]
    h.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 6.0]


def test_setitem_under_no_grad_writes_into_memory():
    t = ag.zeros(2, 3)
    t[1] = ag.tensor([1.0, 2.0, 3.0])
    t[:, 0] = 9.0
    assert t.tolist() == [[9.0, 0.0, 0.0], [9.0, 2.0, 3.0]]


def test_in_place_errors_come_before_any_change():
    t = ag.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"add_: the result has shape \(2, 2\).*shape \(2,\)"):
        t += ag.ones(2, 2)
    i = ag.tensor([1, 2])
    with pytest.raises(TypeError, match="cannot write a float"):
        i += 0.5
    frozen = ag.Tensor(np.broadcast_to(np.float32(1), (3,)))
    with pytest.raises(ValueError, match="read-only"):
        frozen += 1
    assert t.tolist() == [1.0, 2.0] and i.tolist() == [1, 2]


def test_zero_fill_and_copy():
    t = ag.tensor([1.0, float("nan"), 3.0])
    t.zero_()
    assert t.tolist() == [0.0, 0.0, 0.0]
    t.fill_(2.5)
    assert t.tolist() == [2.5, 2.5, 2.5]
    t.copy_(ag.tensor([1.0, 2.0, 3.0]))
    assert t.tolist() == [1.0, 2.0, 3.0]


# ---- views -------------------------------------------------------------------------------------


def test_slices_share_memory_like_numpy_views():
    t = ag.tensor([1.0, 2.0, 3.0])
    v = t[1:]
    v += 10
    assert t.tolist() == [1.0, 12.0, 13.0]
    t[0] = -1.0
    r = t.reshape(3, 1)
    assert r[0, 0].item() == -1.0


def test_gradients_flow_through_views_to_the_base():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x[1:] * 2).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 2.0]


def test_in_place_through_a_view_while_recording_is_refused():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1
    v = h[1:]
    with pytest.raises(RuntimeError, match="in-place modification of a view"):
        v += 1
    assert h.tolist() == [1.0, 2.0, 3.0]


def test_modifying_a_base_invalidates_backward_through_its_views():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1
    y = h[1:] * h[1:]     # mul reads the view, which shares h's memory
    with ag.no_grad():
        h[2] = 100.0
    with pytest.raises(RuntimeError, match="'mul'.*version"):
        y.sum().backward()


def test_detach_shares_memory_and_version():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = h * h
    h.detach().mul_(3)
    assert h.tolist() == [3.0, 6.0]
    with pytest.raises(RuntimeError, match="version"):
        y.sum().backward()


# ---- hooks and retain_grad ---------------------------------------------------------------------


def test_a_hook_sees_the_gradient_and_can_replace_it():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert seen == [[30.0, 30.0]]
    assert x.grad.tolist() == [30.0, 30.0]


def test_a_removed_hook_no_longer_runs():
    x = ag.tensor([1.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0]


def test_a_hook_returning_a_wrong_shape_is_an_error():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: ag.ones(3))
    with pytest.raises(ValueError, match=r"hook .* returned a gradient of shape \(3,\)"):
        (x * 2).sum().backward()


def test_hooks_need_a_tensor_that_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.ones(2).register_hook(print)


def test_retain_grad_keeps_the_gradient_of_a_non_leaf():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0]
    assert x.grad.tolist() == [18.0, 36.0]
    z = x * 3
    (z * z).sum().backward()
    assert z.grad is None  # not retained


def test_pytorch_dim_and_keepdim_work_beside_numpys_axis_and_keepdims():
    data = np.arange(6.0).reshape(2, 3)
    t = ag.tensor(data)
    np.testing.assert_allclose(t.sum(dim=0).numpy(), data.sum(axis=0))
    assert t.mean(dim=1, keepdim=True).shape == (2, 1)
    np.testing.assert_allclose(t.softmax(dim=0).numpy().sum(axis=0), [1.0, 1.0, 1.0], rtol=1e-6)
    assert t.argmax(dim=1).tolist() == [2, 2]
    values, indices = t.max(dim=1)  # PyTorch's (values, indices), whichever spelling
    assert values.tolist() == [2.0, 5.0] and indices.tolist() == [2, 2]
    assert t.max(axis=1).values.tolist() == [2.0, 5.0]


def test_repr_shows_four_decimals_like_pytorch():
    assert repr(ag.tensor([0.123456789, 2.0])) == "tensor([0.1235, 2.    ])"


# ---- numpy's __array__ protocol, clone, the module name ----------------------------------------


def test_np_array_of_a_tensor_is_a_copy_and_np_asarray_shares_its_memory():
    t = ag.tensor([1.0, 2.0])
    copy = np.array(t)
    copy[0] = 9.0
    assert t.tolist() == [1.0, 2.0]
    shared = np.asarray(t)
    shared[0] = 7.0
    assert t.tolist() == [7.0, 2.0]


def test_np_asarray_without_copy_refuses_a_dtype_that_needs_one():
    t = ag.tensor([1.0, 2.0])
    assert np.asarray(t, dtype=np.float32, copy=False) is not None
    with pytest.raises(ValueError, match="float32 tensor cannot be viewed as float64"):
        np.asarray(t, dtype=np.float64, copy=False)


def test_clone_records_a_clone_node_and_passes_the_gradient_through():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    assert y.grad_fn.name == "clone" and not np.shares_memory(y.numpy(), x.numpy())
    (y * y).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_the_tensor_module_does_not_shadow_the_tensor_factory():
    """As in PyTorch (torch._tensor): ``ag.tensor`` is the factory, the class lives in _tensor."""
    import importlib

    assert callable(ag.tensor) and ag.tensor([1.0]).tolist() == [1.0]
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("autograd_lite.tensor")
    assert importlib.import_module("autograd_lite._tensor").Tensor is ag.Tensor


def test_modifying_a_value_that_no_rule_reads_is_fine_and_one_a_rule_reads_is_refused():
    """Declared in each op's saves= (the same on every Python: no bytecode is inspected)."""
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    h = a * 1
    s = h.sum()  # sum's rule reads only h's shape
    h += 1
    s.backward()
    assert a.grad.tolist() == [1.0, 1.0]
    h = a * 1
    s = (h * h).sum()  # mul's rules read h
    h += 1
    with pytest.raises(RuntimeError, match="'mul' was modified by an in-place operation"):
        s.backward()
