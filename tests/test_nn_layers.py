"""nn layers (autograd_lite/nn/layers.py): Linear, Sequential, Flatten, Identity, Dropout,
BatchNorm1d and the activation modules, each against numpy written out here; gradients
against finite differences."""

import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag
from autograd_lite import nn
from autograd_lite.nn import functional as F
from autograd_lite.testing import gradcheck


def arrays(elements=None, min_dims=1, max_dims=3, max_side=4):
    elements = elements if elements is not None else st.floats(-3, 3)
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=min_dims, max_dims=max_dims,
                                                   max_side=max_side), elements=elements)


AWAY_FROM_ZERO = st.floats(0.1, 3) | st.floats(-3, -0.1)  # off the kinks of relu and friends


def functional_call(model, tensors, *args):
    """Run ``model`` with its parameters replaced by ``tensors`` (dotted name -> Tensor), so a
    gradient check can treat the parameters as inputs (torch.func.functional_call's idea)."""
    owners = {}
    for name in tensors:
        path, _, attr = name.rpartition(".")
        owner = model
        for part in filter(None, path.split(".")):
            owner = getattr(owner, part)
        owners[name] = (owner, attr, getattr(owner, attr))
    try:  # in the registry itself: assigning a plain Tensor over a Parameter is refused
        for name, t in tensors.items():
            owner, attr, _ = owners[name]
            owner._parameters[attr] = t
        return model(*args)
    finally:
        for owner, attr, original in owners.values():
            owner._parameters[attr] = original


# ---- Linear ------------------------------------------------------------------------------------


def test_linear_parameter_shapes_follow_pytorch():
    layer = nn.Linear(3, 5)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (5,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer(ag.randn(4, 3)).shape == (4, 5)


def test_linear_applies_to_the_last_dimension_of_batched_input():
    layer = nn.Linear(3, 2)
    x = ag.randn(2, 4, 3)
    out = layer(x)
    assert out.shape == (2, 4, 2)
    expected = x.numpy() @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_linear_forward_is_x_times_w_transposed_plus_b():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    W, b = layer.weight.numpy(), layer.bias.numpy()
    expected = np.array([[W[j] @ x[i] + b[j] for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(layer(ag.tensor(x)).numpy(), expected, rtol=1e-12)


def test_linear_default_init_is_within_pytorch_bounds_and_fills_them():
    """PyTorch draws weight and bias from U(-1/sqrt(in), 1/sqrt(in))."""
    ag.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight.numpy(), layer.bias.numpy()):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.98 * bound  # the whole interval is used, not a narrower one
    # The std of U(-a, a) is a / sqrt(3); 120,000 draws pin it to well under 1%.
    np.testing.assert_allclose(layer.weight.numpy().std(), bound / math.sqrt(3), rtol=0.01)
    assert abs(layer.weight.numpy().mean()) < 0.01 * bound


def test_linear_init_is_reproducible_with_manual_seed():
    ag.manual_seed(123)
    a = nn.Linear(4, 3)
    ag.manual_seed(123)
    b = nn.Linear(4, 3)
    c = nn.Linear(4, 3)  # the generator moved on
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    np.testing.assert_array_equal(a.bias.numpy(), b.bias.numpy())
    assert not np.array_equal(b.weight.numpy(), c.weight.numpy())


def test_linear_init_is_reproducible_with_a_generator():
    a = nn.Linear(4, 3, generator=np.random.default_rng(5))
    b = nn.Linear(4, 3, generator=np.random.default_rng(5))
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    np.testing.assert_array_equal(a.bias.numpy(), b.bias.numpy())


def test_linear_without_bias():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    x = np.array([[1.0, -2.0, 0.5]], np.float32)
    np.testing.assert_allclose(layer(ag.tensor(x)).numpy(), x @ layer.weight.numpy().T,
                               rtol=1e-6)
    assert "bias=False" in repr(layer)


def test_linear_float64_option():
    layer = nn.Linear(3, 2, dtype=np.float64)
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64
    assert layer(ag.randn(2, 3, dtype=np.float64)).dtype == np.float64


def test_linear_gradients_by_hand():
    """d sum(x W^T + b) / dW[j, k] = sum_i x[i, k]; / db[j] = N."""
    layer = nn.Linear(2, 3)
    x = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    layer(ag.tensor(x)).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.tile(x.sum(0), (3, 1)))
    np.testing.assert_allclose(layer.bias.grad.numpy(), [2.0, 2.0, 2.0])


def test_mlp_gradients_match_finite_differences_for_every_parameter():
    ag.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Tanh(),
                          nn.Linear(4, 2, dtype=np.float64), nn.Sigmoid())
    names = [name for name, _ in model.named_parameters()]
    params = [ag.Tensor(p.numpy().copy(), requires_grad=True) for p in model.parameters()]
    x = ag.Tensor(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)

    def run(x, *ps):
        return functional_call(model, dict(zip(names, ps)), x)

    # the substitution is real: same values, same output, and every input gets a gradient
    np.testing.assert_array_equal(run(x, *params).numpy(), model(x).numpy())
    run(x, *params).sum().backward()
    assert all(np.abs(p.grad.numpy()).max() > 0 for p in params)
    assert gradcheck(run, [x, *params])
    # functional_call put the real Parameters back
    assert [name for name, _ in model.named_parameters()] == names
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())


# ---- Identity, Flatten, Sequential -------------------------------------------------------------


def test_identity_returns_its_input():
    x = ag.randn(2, 3)
    assert nn.Identity()(x) is x


def test_flatten_keeps_the_batch_dimension_by_default():
    x = np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5)
    out = nn.Flatten()(ag.tensor(x))
    np.testing.assert_array_equal(out.numpy(), x.reshape(2, 60))


def test_flatten_with_start_and_end_dims():
    x = ag.randn(2, 3, 4, 5)
    assert nn.Flatten(start_dim=2)(x).shape == (2, 3, 20)
    assert nn.Flatten(start_dim=0, end_dim=1)(x).shape == (6, 4, 5)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)


def test_flatten_passes_gradients_back_in_the_input_shape():
    x = ag.randn(2, 3, 4, requires_grad=True)
    (nn.Flatten()(x) * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3, 4), 2.0))


def test_sequential_applies_modules_in_order():
    double, shift = nn.Linear(1, 1, bias=True), nn.Linear(1, 1, bias=True)
    double.load_state_dict({"weight": np.array([[2.0]]), "bias": np.array([0.0])})
    shift.load_state_dict({"weight": np.array([[1.0]]), "bias": np.array([3.0])})
    x = ag.tensor([[1.0], [2.0]])
    np.testing.assert_array_equal(nn.Sequential(double, shift)(x).numpy(), [[5.0], [7.0]])
    np.testing.assert_array_equal(nn.Sequential(shift, double)(x).numpy(), [[8.0], [10.0]])


def test_sequential_indexing_len_iteration():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3
    assert list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2]
    with pytest.raises(IndexError):
        model[3]


def test_sequential_slicing_shares_the_modules():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head) == layers[1:]
    x = ag.randn(4, 2)
    np.testing.assert_array_equal(head(model[0](x)).numpy(), model(x).numpy())


def test_sequential_slice_keeps_the_names_so_state_dict_keys_match_the_whole():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    tail = model[1:]
    assert [name for name, _ in tail.named_parameters()] == ["2.weight", "2.bias"]
    whole = model.state_dict()
    for key, value in tail.state_dict().items():
        np.testing.assert_array_equal(value, whole[key])


def test_sequential_from_an_ordered_dict_uses_its_names():
    hidden, out = nn.Linear(2, 3), nn.Linear(3, 1)
    model = nn.Sequential(OrderedDict([("hidden", hidden), ("act", nn.Tanh()), ("out", out)]))
    assert model.hidden is hidden and model[-1] is out and len(model) == 3
    assert [name for name, _ in model.named_parameters()] == [
        "hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    x = ag.randn(4, 2)
    np.testing.assert_array_equal(model(x).numpy(), out(ag.tanh(hidden(x))).numpy())
    with pytest.raises(ValueError, match="without '.'"):
        nn.Sequential(OrderedDict([("a.b", nn.Tanh())]))
    with pytest.raises(TypeError, match="'act' is a function, not a Module"):
        nn.Sequential(OrderedDict([("act", lambda x: x)]))


def test_sequential_index_out_of_range_says_how_many_modules():
    with pytest.raises(IndexError, match="index 2 is out of range for 2 modules"):
        nn.Sequential(nn.Tanh(), nn.ReLU())[2]


def test_sequential_append_and_insert_refuse_to_replace_a_module():
    tail = nn.Sequential(nn.Tanh(), nn.ReLU(), nn.Sigmoid())[1:]  # named "1" and "2"
    with pytest.raises(ValueError, match=r"named \['1', '2'\], not numbered 0..1"):
        tail.append(nn.Tanh())  # PyTorch would name it "2", replacing the Sigmoid
    with pytest.raises(ValueError, match="Sequential.insert: .* not numbered"):
        tail.insert(0, nn.Tanh())
    assert len(tail) == 2


def test_sequential_insert_pop_del_and_setitem_edit_it_like_a_list_renumbering_as_pytorch():
    a, b, c = nn.Linear(1, 1), nn.Tanh(), nn.Linear(1, 1)
    model = nn.Sequential(a, c)
    assert model.insert(1, b) is model and list(model) == [a, b, c]
    assert model.pop(0) is a and list(model._modules) == ["0", "1"]
    assert [name for name, _ in model.named_parameters()] == ["1.weight", "1.bias"]
    model[0] = nn.ReLU()
    del model[-1]
    model.extend([nn.Sigmoid(), a])
    assert [type(m).__name__ for m in model] == ["ReLU", "Sigmoid", "Linear"]
    with pytest.raises(IndexError, match="Sequential.insert: index 5 is out of range for 3"):
        model.insert(5, nn.Tanh())
    with pytest.raises(TypeError, match="Sequential.insert: int is not a Module"):
        model.insert(0, 3)
    assert len(model) == 3


def test_sequential_append_registers_the_next_index():
    model = nn.Sequential(nn.Linear(2, 2))
    assert model.append(nn.Tanh()) is model
    model.append(nn.Linear(2, 1))
    assert len(model) == 3 and isinstance(model[1], nn.Tanh)
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"]


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="argument 1 is a function, not a Module"):
        nn.Sequential(nn.Linear(1, 1), lambda x: 2 * x)


# ---- dtype of the input against the layer's -----------------------------------------------------


@pytest.mark.parametrize("make, param", [(lambda: nn.Linear(2, 3), "weight"),
                                         (lambda: nn.BatchNorm1d(2), "weight"),
                                         (lambda: nn.BatchNorm1d(2, affine=False),
                                          "running_mean")])
def test_a_float64_input_to_a_float32_layer_is_pytorchs_runtime_error(make, param):
    layer = make()
    name = type(layer).__name__
    x = ag.tensor(np.ones((4, 2)))  # numpy's default dtype: float64
    with pytest.raises(RuntimeError) as info:
        layer(x)
    assert str(info.value) == (
        f"{name}: input is float64 but the layer's {param} is float32; convert the input "
        "with x.float() or the layer with model.double()")
    assert layer(x.float()).dtype == np.float32
    assert layer.double()(x).dtype == np.float64


def test_a_float32_input_to_a_float64_layer_names_the_other_fixes():
    with pytest.raises(RuntimeError, match=r"^Linear: input is float32 but the layer's weight "
                                           r"is float64; convert the input with x\.double\(\) "
                                           r"or the layer with model\.float\(\)$"):
        nn.Linear(2, 1, dtype=np.float64)(ag.ones(3, 2))


@pytest.mark.parametrize("layer", [nn.Linear(2, 1), nn.BatchNorm1d(2)])
def test_an_integer_input_is_refused_with_the_conversion_to_use(layer):
    with pytest.raises(RuntimeError, match=r"input is int64 but the layer's weight is float32; "
                                           r"convert the input with x\.float\(\)$"):
        layer(ag.tensor(np.ones((3, 2), np.int64)))


def test_a_numpy_input_is_checked_too():
    with pytest.raises(RuntimeError, match="input is float64"):
        nn.Linear(2, 1)(np.ones((1, 2)))


def test_batchnorm_without_weight_or_running_stats_needs_a_float_input():
    bn = nn.BatchNorm1d(2, affine=False, track_running_stats=False)
    assert bn(ag.tensor(np.ones((3, 2)))).dtype == np.float64  # no dtype of its own: any float
    with pytest.raises(RuntimeError, match="BatchNorm1d: input is int64, a floating-point "
                                           "input is required"):
        bn(ag.tensor(np.ones((3, 2), np.int64)))


# ---- ModuleList, ModuleDict ---------------------------------------------------------------------


def _linears(n):
    return [nn.Linear(1, 1) for _ in range(n)]


def test_modulelist_registers_its_modules_under_their_positions():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(_linears(2))

    net = Net()
    assert list(net.state_dict()) == ["blocks.0.weight", "blocks.0.bias",
                                      "blocks.1.weight", "blocks.1.bias"]
    assert len(list(net.parameters())) == 4
    net.eval()
    assert not net.blocks[1].training


def test_modulelist_indexes_iterates_and_tests_membership_like_a_list():
    a, b, c = _linears(3)
    layers = nn.ModuleList([a, b, c])
    assert len(layers) == 3 and list(layers) == [a, b, c]
    assert layers[0] is a and layers[-1] is c
    assert b in layers and nn.Linear(1, 1) not in layers
    with pytest.raises(IndexError, match="ModuleList: index 3 is out of range for 3 modules"):
        layers[3]
    with pytest.raises(TypeError):
        layers["0"]


def test_modulelist_slice_is_a_modulelist_of_the_same_modules_renumbered():
    a, b, c = _linears(3)
    tail = nn.ModuleList([a, b, c])[1:]
    assert type(tail) is nn.ModuleList and list(tail) == [b, c]
    assert list(tail.state_dict())[:2] == ["0.weight", "0.bias"]


def test_modulelist_append_extend_insert_setitem_keep_positions_as_names():
    a, b, c, d, e = _linears(5)
    layers = nn.ModuleList()
    assert layers.append(a) is layers and layers.extend([b]) is layers
    layers.insert(0, c)
    layers.insert(-1, d)  # before the last, as list.insert does
    layers[1] = e
    assert list(layers) == [c, e, d, b]
    assert list(layers._modules) == ["0", "1", "2", "3"]
    layers += [a]
    assert list(layers) == [c, e, d, b, a]


def test_modulelist_del_and_pop_renumber_the_rest():
    a, b, c, d = _linears(4)
    layers = nn.ModuleList([a, b, c, d])
    del layers[0]
    assert layers.pop(1) is c
    assert list(layers) == [b, d] and list(layers._modules) == ["0", "1"]
    del layers[:]
    assert len(layers) == 0


def test_modulelist_plus_is_a_new_list_and_leaves_both_alone():
    a, b = _linears(2)
    left, right = nn.ModuleList([a]), nn.ModuleList([b])
    both = left + right
    assert list(both) == [a, b] and len(left) == 1 and len(right) == 1


def test_modulelist_refuses_non_modules_and_non_iterables_and_changes_nothing():
    layers = nn.ModuleList(_linears(1))
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        layers.append(3)
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable, "
                                        "but got Linear"):
        layers.extend(nn.Linear(1, 1))
    with pytest.raises(TypeError, match="str is not a Module subclass"):
        layers.insert(0, "relu")
    assert len(layers) == 1


def test_modulelist_repr_is_the_module_tree():
    layers = nn.ModuleList([nn.Linear(1, 2), nn.ReLU()])
    assert repr(layers) == (
        "ModuleList(  # 4 parameters\n"
        "  (0): Linear(in_features=1, out_features=2, bias=True)  # 4 parameters\n"
        "  (1): ReLU()\n"
        ")")


def test_modulelist_cannot_be_called():
    with pytest.raises(NotImplementedError, match="ModuleList must define forward"):
        nn.ModuleList()(ag.ones(1))


def test_moduledict_registers_under_its_keys_in_insertion_order():
    cls, box = nn.Linear(1, 2), nn.Linear(1, 3)
    heads = nn.ModuleDict({"cls": cls, "box": box})
    assert list(heads) == ["cls", "box"] and list(heads.keys()) == ["cls", "box"]
    assert list(heads.values()) == [cls, box] and list(heads.items()) == [("cls", cls),
                                                                           ("box", box)]
    assert heads["box"] is box and "cls" in heads and "other" not in heads
    assert len(heads) == 2
    assert list(heads.state_dict()) == ["cls.weight", "cls.bias", "box.weight", "box.bias"]
    with pytest.raises(KeyError):
        heads["other"]


def test_moduledict_setitem_del_pop_update_clear():
    a, b, c = _linears(3)
    d = nn.ModuleDict()
    d["a"] = a
    d.update([("b", b), ("c", c)])
    d.update(nn.ModuleDict({"a": c}))  # replaces, keeping its place
    assert list(d.items()) == [("a", c), ("b", b), ("c", c)]
    del d["b"]
    assert d.pop("c") is c and list(d) == ["a"]
    d.clear()
    assert len(d) == 0 and list(d.parameters()) == []


@pytest.mark.parametrize("bad, error, message", [
    ([("a", nn.ReLU(), 1)], ValueError, "element #1 has length 3; 2 is required"),
    ([nn.ReLU()], TypeError, "element #1 should be a \\(key, value\\) pair, got ReLU"),
    (["ab"], TypeError, "element #1 should be a \\(key, value\\) pair, got str"),
    (5, TypeError, "ModuleDict.update should be called with an iterable, but got int"),
])
def test_moduledict_update_refuses_malformed_pairs_before_changing_anything(bad, error, message):
    d = nn.ModuleDict({"x": nn.ReLU()})
    with pytest.raises(error, match=message):
        d.update([("y", nn.Tanh())] + bad if isinstance(bad, list) else bad)
    assert list(d) == ["x"]


@pytest.mark.parametrize("key, error, message", [
    ("a.b", KeyError, "contain no '.'"), ("keys", KeyError, "attribute 'keys' already exists"),
    (1, TypeError, "module name should be a string, got int")])
def test_moduledict_keys_follow_pytorchs_naming_rules(key, error, message):
    with pytest.raises(error, match=message):
        nn.ModuleDict()[key] = nn.ReLU()


# ---- ParameterList, ParameterDict ---------------------------------------------------------------


def test_parameterlist_wraps_tensors_and_arrays_as_parameters_under_positions():
    p = nn.Parameter(np.zeros(2))
    params = nn.ParameterList([p, ag.ones(3), np.ones((2, 2))])
    assert params[0] is p
    assert all(type(q) is nn.Parameter and q.requires_grad for q in params)
    assert [n for n, _ in params.named_parameters()] == ["0", "1", "2"]
    assert len(params) == 3 and params[-1].shape == (2, 2)
    with pytest.raises(IndexError, match="ParameterList: index -4 is out of range for 3 entries"):
        params[-4]


def test_parameterlist_inside_a_model_is_trained():
    class Scales(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList([np.array([2.0]), np.array([3.0])])

        def forward(self, x):
            for s in self.scales:
                x = x * s
            return x

    model = Scales()
    assert list(model.state_dict()) == ["scales.0", "scales.1"]
    model(ag.tensor([1.0])).sum().backward()
    np.testing.assert_array_equal([s.grad.item() for s in model.scales], [3.0, 2.0])


def test_parameterlist_append_extend_setitem_slice():
    a, b, c = (nn.Parameter(np.full(1, v)) for v in (1.0, 2.0, 3.0))
    params = nn.ParameterList()
    assert params.append(a) is params and params.extend([b]) is params
    params += [c]
    params[1] = np.array([9.0])
    assert [q.item() for q in params] == [1.0, 9.0, 3.0]
    tail = params[1:]
    assert type(tail) is nn.ParameterList and tail[1] is c and len(tail) == 2
    with pytest.raises(TypeError, match="ParameterList.extend should be called with an "
                                        "iterable, but got Tensor"):
        params.extend(ag.ones(2))


def test_parameterlist_refuses_an_integer_tensor_and_stays_the_same_length():
    params = nn.ParameterList()
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        params.append(np.arange(3))
    assert len(params) == 0


def test_parameterlist_keeps_other_objects_as_they_are():
    params = nn.ParameterList([ag.ones(1), "note"])
    assert params[1] == "note" and len(list(params.parameters())) == 1


def test_parameterlist_and_dict_reprs_list_each_entry_like_pytorch():
    params = nn.ParameterList([ag.zeros(2, 3), "x"])
    assert repr(params) == ("ParameterList(  # 6 parameters\n"
                            "  (0): Parameter containing: [float32 of size 2x3]\n"
                            "  (1): Object of type: str\n"
                            ")")
    d = nn.ParameterDict({"w": np.zeros(4)})
    assert repr(d) == ("ParameterDict(  # 4 parameters\n"
                       "  (w): Parameter containing: [float64 of size 4]\n"
                       ")")
    assert repr(nn.ParameterList()) == "ParameterList()"


def test_parameterdict_registers_under_its_keys_and_acts_like_a_dict():
    alpha = nn.Parameter(np.ones(1))
    d = nn.ParameterDict({"alpha": alpha, "beta": ag.zeros(2)})
    assert d["alpha"] is alpha and type(d["beta"]) is nn.Parameter
    assert list(d) == ["alpha", "beta"] and list(d.keys()) == ["alpha", "beta"]
    assert [v.shape for v in d.values()] == [(1,), (2,)]
    assert [k for k, _ in d.items()] == ["alpha", "beta"]
    assert "beta" in d and "gamma" not in d and len(d) == 2
    assert d.get("gamma") is None and d.get("alpha") is alpha
    assert [n for n, _ in d.named_parameters()] == ["alpha", "beta"]
    with pytest.raises(KeyError):
        d["gamma"]


def test_parameterdict_setitem_update_pop_del_clear():
    d = nn.ParameterDict()
    d["a"] = np.ones(1)
    d.update([("b", ag.ones(2)), ("c", "not a tensor")])
    d["c"] = ag.ones(3)  # an object replaced by a tensor becomes a Parameter
    with pytest.raises(TypeError, match="cannot assign 'str' as parameter 'a'"):
        d["a"] = "plain"  # but not the other way round, as in PyTorch
    assert list(d) == ["a", "b", "c"]
    assert [n for n, _ in d.named_parameters()] == ["a", "b", "c"]
    assert d.pop("b").shape == (2,) and "b" not in d
    del d["a"]
    assert list(d) == ["c"]
    d.clear()
    assert len(d) == 0 and list(d.parameters()) == []


@pytest.mark.parametrize("key, error, message", [
    ("a.b", KeyError, "contain no '.'"), ("update", KeyError, "attribute 'update' already"),
    (0, TypeError, "parameter name should be a string, got int")])
def test_parameterdict_keys_follow_pytorchs_naming_rules(key, error, message):
    d = nn.ParameterDict()
    with pytest.raises(error, match=message):
        d[key] = ag.ones(1)
    assert len(d) == 0


def test_containers_follow_to_and_optimizers_see_their_parameters():
    model = nn.ModuleList([nn.Linear(1, 1), nn.ParameterList([np.ones(1, np.float32)])])
    opt = ag.optim.SGD(model.parameters(), lr=0.5)
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert len(opt.param_groups[0]["params"]) == 3


# ---- Dropout -----------------------------------------------------------------------------------


def test_dropout_in_eval_mode_is_the_identity():
    x = ag.randn(50, 20)
    out = nn.Dropout(0.5).eval()(x)
    np.testing.assert_array_equal(out.numpy(), x.numpy())


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_zeroes_about_p_of_the_elements(p):
    ag.manual_seed(0)
    x = ag.ones(200, 500)  # 100,000 elements: the dropped fraction is within ~0.005 of p
    out = nn.Dropout(p)(x).numpy()
    assert abs(np.mean(out == 0) - p) < 0.01


@pytest.mark.parametrize("p", [0.5, 0.75])
def test_dropout_scales_kept_elements_by_exactly_one_over_keep_probability(p):
    ag.manual_seed(1)
    x = np.random.default_rng(0).uniform(0.5, 2.0, (40, 30)).astype(np.float32)  # never 0
    out = nn.Dropout(p)(ag.tensor(x)).numpy()
    kept = out != 0
    assert kept.any() and (~kept).any()
    np.testing.assert_array_equal(out[kept], x[kept] / np.float32(1 - p))


def test_dropout_scale_for_an_inexact_keep_probability():
    ag.manual_seed(2)
    x = np.random.default_rng(0).uniform(0.5, 2.0, (40, 30))
    out = nn.Dropout(0.3)(ag.tensor(x)).numpy()
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / 0.7, rtol=1e-15)


def test_dropout_gradient_is_the_mask_times_the_scale():
    ag.manual_seed(3)
    x = ag.ones(10, 10, requires_grad=True)
    out = nn.Dropout(0.5)(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.where(out.numpy() != 0, 2.0, 0.0))


def test_dropout_p_zero_keeps_everything_in_training():
    x = ag.randn(20, 20)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(), x.numpy())


def test_dropout_p_one_zeroes_everything_and_its_gradient():
    x = ag.randn(20, 20, requires_grad=True)
    out = nn.Dropout(1.0)(x)
    np.testing.assert_array_equal(out.numpy(), np.zeros((20, 20)))
    out.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((20, 20)))


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        F.dropout(ag.ones(2), p)


def test_dropout_masks_are_reproducible_with_a_seeded_generator():
    x = ag.ones(30, 30)
    a = nn.Dropout(0.5, generator=np.random.default_rng(7))
    b = nn.Dropout(0.5, generator=np.random.default_rng(7))
    first = a(x).numpy()
    np.testing.assert_array_equal(first, b(x).numpy())
    assert not np.array_equal(first, a(x).numpy())  # a fresh mask on every call
    with pytest.raises(TypeError, match="dropout: generator must be None or a numpy.random."
                                        "Generator, got int 7"):
        F.dropout(x, 0.5, generator=7)  # a seed is not a generator (PyTorch's rule too)


def test_dropout_masks_are_reproducible_with_manual_seed():
    x = ag.ones(30, 30)
    ag.manual_seed(11)
    first = nn.Dropout(0.5)(x).numpy()
    ag.manual_seed(11)
    np.testing.assert_array_equal(first, nn.Dropout(0.5)(x).numpy())


# ---- BatchNorm1d -------------------------------------------------------------------------------


def _batch(shape, seed=0, loc=3.0, scale=2.0):
    return np.random.default_rng(seed).normal(loc, scale, shape)


def test_batchnorm_training_output_has_zero_mean_unit_variance_per_feature():
    x = _batch((64, 4))
    out = nn.BatchNorm1d(4, dtype=np.float64)(ag.tensor(x)).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    # biased variance is v / (v + eps), a hair under 1
    v = x.var(axis=0)
    np.testing.assert_allclose(out.var(axis=0), v / (v + 1e-5), rtol=1e-10)
    np.testing.assert_allclose(out.var(axis=0), 1, atol=1e-5)


def test_batchnorm_training_output_matches_the_formula_with_affine_parameters():
    x = _batch((16, 3))
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    w, b = np.array([0.5, 2.0, -1.0]), np.array([1.0, 0.0, 3.0])
    bn.load_state_dict({**bn.state_dict(), "weight": w, "bias": b})
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) * w + b
    np.testing.assert_allclose(bn(ag.tensor(x)).numpy(), expected, rtol=1e-10, atol=1e-12)


def test_batchnorm_running_stats_use_momentum_and_the_unbiased_variance():
    """PyTorch: running = (1 - momentum) running + momentum batch_stat, with the batch variance
    unbiased (divided by n - 1) for the running estimate but biased for normalising."""
    bn = nn.BatchNorm1d(3, momentum=0.3, dtype=np.float64)
    mean, var = np.zeros(3), np.ones(3)
    for seed in range(3):
        x = _batch((10, 3), seed=seed)
        bn(ag.tensor(x))
        mean = 0.7 * mean + 0.3 * x.mean(axis=0)
        var = 0.7 * var + 0.3 * x.var(axis=0, ddof=1)
        np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-12)
        np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-12)


def test_batchnorm_default_momentum_is_one_tenth():
    x = _batch((8, 2))
    bn = nn.BatchNorm1d(2)
    bn(ag.tensor(x.astype(np.float32)))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-5)


def test_batchnorm_eval_uses_running_stats_and_does_not_update_them():
    bn = nn.BatchNorm1d(2, dtype=np.float64)
    running_mean, running_var = np.array([1.0, -2.0]), np.array([4.0, 0.25])
    w, b = np.array([2.0, 3.0]), np.array([0.5, -0.5])
    bn.load_state_dict({"weight": w, "bias": b, "running_mean": running_mean,
                        "running_var": running_var, "num_batches_tracked": 7})
    bn.eval()
    x = _batch((5, 2))
    expected = (x - running_mean) / np.sqrt(running_var + 1e-5) * w + b
    np.testing.assert_allclose(bn(ag.tensor(x)).numpy(), expected, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean.numpy(), running_mean)
    np.testing.assert_array_equal(bn.running_var.numpy(), running_var)
    assert bn.num_batches_tracked.item() == 7


def test_batchnorm_counts_training_batches():
    bn = nn.BatchNorm1d(2)
    for _ in range(3):
        bn(ag.tensor(_batch((4, 2))).float())
    bn.eval()
    bn(ag.tensor(_batch((4, 2))).float())
    assert bn.num_batches_tracked.item() == 3 and bn.num_batches_tracked.dtype == np.int64


def test_batchnorm_momentum_none_averages_every_batch_equally():
    """PyTorch's cumulative moving average: after k batches, the plain mean of their
    statistics (the variance unbiased, as for momentum)."""
    bn = nn.BatchNorm1d(3, momentum=None, dtype=np.float64)
    batches = [np.random.default_rng(seed).normal(seed, 1 + seed, (5, 3)) for seed in range(4)]
    for x in batches:
        bn(ag.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in batches], 0),
                               rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               np.mean([x.var(0, ddof=1) for x in batches], 0), rtol=1e-12)


def test_batchnorm_refuses_a_momentum_outside_0_1():
    with pytest.raises(ValueError, match="momentum must be in \\[0, 1\\] or None, got 1.5"):
        nn.BatchNorm1d(2, momentum=1.5)


def test_batchnorm_eval_accepts_a_single_sample_but_training_refuses_it():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"more than 1 value per feature.*\(1, 3\)"):
        bn(ag.randn(1, 3))
    assert bn.eval()(ag.randn(1, 3)).shape == (1, 3)


def test_batchnorm_three_dimensional_input_normalises_over_batch_and_length():
    x = _batch((4, 3, 5))
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    out = bn(ag.tensor(x)).numpy()
    mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    expected = (x - mean[None, :, None]) / np.sqrt(var[None, :, None] + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean, rtol=1e-12)
    n = 4 * 5
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var * n / (n - 1),
                               rtol=1e-12)


@pytest.mark.parametrize("shape", [(4,), (4, 2), (4, 2, 5), (2, 3, 4, 5)])
def test_batchnorm_wrong_input_shapes_are_clear_errors(shape):
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected input of shape \(N, 3\) "
                                         r"or \(N, 3, L\), got " + re_shape(shape)):
        nn.BatchNorm1d(3)(ag.randn(*shape))


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_batchnorm_without_affine_or_running_stats():
    bn = nn.BatchNorm1d(2, affine=False, track_running_stats=False, dtype=np.float64)
    assert list(bn.parameters()) == [] and list(bn.state_dict()) == []
    x = _batch((6, 2))
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(bn(ag.tensor(x)).numpy(), expected, rtol=1e-10, atol=1e-12)
    # without running statistics, eval mode normalises by the batch too
    np.testing.assert_allclose(bn.eval()(ag.tensor(x)).numpy(), expected, rtol=1e-10,
                               atol=1e-12)


def test_batchnorm_state_dict_holds_weights_and_running_stats():
    assert list(nn.BatchNorm1d(2).state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


@pytest.mark.parametrize("shape", [(6, 3), (3, 3, 2)])
def test_batchnorm_training_gradients_match_finite_differences(shape):
    rng = np.random.default_rng(0)
    x = ag.Tensor(rng.standard_normal(shape), requires_grad=True)
    w = ag.Tensor(rng.uniform(0.5, 2, 3), requires_grad=True)
    b = ag.Tensor(rng.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                     [x, w, b])


def test_batchnorm_module_gradient_wrt_input_matches_finite_differences():
    bn = nn.BatchNorm1d(2, dtype=np.float64)
    x = ag.Tensor(_batch((5, 2)), requires_grad=True)
    assert gradcheck(bn, x)


# ---- BatchNorm2d, Dropout2d, Unflatten: the layers of a CNN ------------------------------------


def test_batchnorm2d_normalises_each_channel_over_batch_height_and_width():
    x = _batch((4, 3, 5, 6))
    bn = nn.BatchNorm2d(3, momentum=0.5, dtype=np.float64)
    out = bn(ag.tensor(x)).numpy()
    mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-10, atol=1e-12)
    n = 4 * 5 * 6  # the running variance is the unbiased one, as in BatchNorm1d
    np.testing.assert_allclose(bn.running_var.numpy(), 0.5 + 0.5 * var.ravel() * n / (n - 1))
    bn.eval()
    expected = (x - bn.running_mean.numpy()[:, None, None]) / np.sqrt(
        bn.running_var.numpy()[:, None, None] + 1e-5)
    np.testing.assert_allclose(bn(ag.tensor(x)).numpy(), expected, rtol=1e-10)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]


def test_batchnorm2d_refuses_anything_but_images_with_its_channel_count():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input of shape "
                                         r"\(N, 3, H, W\), got \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(ag.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"got \(2, 3\)"):
        nn.BatchNorm2d(3)(ag.zeros(2, 3))


def test_batchnorm2d_gradients_match_finite_differences():
    bn = nn.BatchNorm2d(2, dtype=np.float64)
    x = ag.Tensor(_batch((3, 2, 2, 3)), requires_grad=True)
    assert gradcheck(bn, x)


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    x = ag.ones(8, 16, 3, 3)
    out = nn.Dropout2d(0.5, generator=np.random.default_rng(0))(x).numpy()
    per_channel = out.reshape(8, 16, 9)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(axis=2) == per_channel.max(axis=2)).all()  # a channel is one value
    assert 0.3 < (per_channel[:, :, 0] == 0).mean() < 0.7
    unbatched = nn.Dropout2d(0.5, generator=np.random.default_rng(0))(ag.ones(16, 3, 3))
    assert (unbatched.numpy().reshape(16, 9).std(axis=1) == 0).all()
    assert nn.Dropout2d(0.5).eval()(x) is x
    with pytest.raises(ValueError, match=r"dropout2d: expected input of shape \(N, C, H, W\) "
                                         r"or \(C, H, W\), got \(8, 16\)"):
        nn.Dropout2d()(ag.ones(8, 16))
    with pytest.raises(ValueError, match="Dropout2d: p must be in"):
        nn.Dropout2d(1.5)


def test_unflatten_splits_one_dim_and_inverts_flatten():
    x = ag.arange(24.0).reshape(2, 12)
    y = nn.Unflatten(1, (3, 2, 2))(x)
    assert y.shape == (2, 3, 2, 2) and nn.Flatten()(y).tolist() == x.tolist()
    assert nn.Unflatten(-1, (-1, 4))(x).shape == (2, 3, 4)
    assert repr(nn.Unflatten(1, (3, 4))) == "Unflatten(dim=1, unflattened_size=(3, 4))"
    with pytest.raises(ValueError, match=r"Unflatten: cannot split dim 1 of size 12 \(input "
                                         r"shape \(2, 12\)\) into \(5, 2\)"):
        nn.Unflatten(1, (5, 2))(x)


def test_batchnorm2d_and_unflatten_agree_with_torch_given_the_same_state():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Unflatten(1, (2, 3, 3)), torch.nn.BatchNorm2d(2)).double()
    ours = nn.Sequential(nn.Unflatten(1, (2, 3, 3)), nn.BatchNorm2d(2, dtype=np.float64))
    with torch.no_grad():
        theirs[1].weight.uniform_(0.5, 1.5), theirs[1].bias.uniform_(-1, 1)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = _batch((4, 18))
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        np.testing.assert_allclose(ours(ag.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours[1].running_var.numpy(), theirs[1].running_var.numpy())


# ---- Embedding ---------------------------------------------------------------------------------


def test_embedding_looks_up_rows_and_repeated_indices_add_their_gradients():
    emb = nn.Embedding(4, 3, dtype=np.float64)
    table = emb.weight.numpy().copy()
    index = ag.tensor([[2, 0], [2, 2]])
    out = emb(index)
    assert out.shape == (2, 2, 3) and out.numpy().tolist() == table[[[2, 0], [2, 2]]].tolist()
    out.sum().backward()
    assert emb.weight.grad.numpy()[:, 0].tolist() == [1.0, 0.0, 3.0, 0.0]


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    emb = nn.Embedding(4, 2, padding_idx=-1)  # -1: the last row, as in PyTorch
    assert emb.padding_idx == 3 and emb.weight.numpy()[3].tolist() == [0.0, 0.0]
    emb.weight.data[3] = 5.0  # whatever the padding row holds is what the lookup gives
    out = emb(ag.tensor([3, 1, 3]))
    assert out.numpy()[0].tolist() == [5.0, 5.0]
    out.sum().backward()
    assert emb.weight.grad.numpy()[:, 0].tolist() == [0.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be within num_embeddings "
                                         r"\(4\), got 4"):
        nn.Embedding(4, 2, padding_idx=4)


def test_embedding_from_pretrained_is_frozen_unless_asked_and_refuses_what_it_cannot_do():
    table = np.arange(6.0).reshape(3, 2)
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and frozen(ag.tensor([2])).tolist() == [[4.0, 5.0]]
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    with pytest.raises(NotImplementedError, match=r"Embedding: \['max_norm', 'sparse'\] are "
                                                  "not supported"):
        nn.Embedding(3, 2, max_norm=1.0, sparse=True)
    with pytest.raises(IndexError, match=r"embedding: index 3 is out of range for a weight of 3 "
                                         r"embeddings \(shape \(3, 2\)\)"):
        frozen(ag.tensor([0, 3]))
    with pytest.raises(TypeError, match="embedding: indices must be integers"):
        frozen(ag.tensor([0.0]))


def test_embedding_agrees_with_torch_given_the_same_table():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding(6, 3, padding_idx=1).double()
    ours = nn.Embedding(6, 3, padding_idx=1, dtype=np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    index = [[1, 4, 4], [0, 1, 5]]
    weights = np.linspace(0.5, 1.5, 18).reshape(2, 3, 3)
    (ours(ag.tensor(index)) * ag.tensor(weights)).sum().backward()
    (theirs(torch.tensor(index)) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy())


# ---- activations -------------------------------------------------------------------------------


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


ACTIVATIONS = {
    "Sigmoid": (nn.Sigmoid(), np_sigmoid),
    "Tanh": (nn.Tanh(), np.tanh),
    "ReLU": (nn.ReLU(), lambda x: np.maximum(x, 0)),
    "LeakyReLU": (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
    "LeakyReLU(0.2)": (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "ELU": (nn.ELU(), lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    "ELU(0.5)": (nn.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0)))),
    "GELU": (nn.GELU(), np_gelu),
    "GELU(tanh)": (nn.GELU(approximate="tanh"), np_gelu_tanh),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
@given(x=arrays())
def test_activation_matches_numpy_formula(name, x):
    module, formula = ACTIVATIONS[name]
    np.testing.assert_allclose(module(ag.tensor(x)).numpy(), formula(x), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("name", ACTIVATIONS)
@given(x=arrays(AWAY_FROM_ZERO, max_side=3))
def test_activation_gradient_matches_finite_differences(name, x):
    module, _ = ACTIVATIONS[name]
    assert gradcheck(module, ag.Tensor(x, requires_grad=True))


def test_gelu_values_by_hand():
    # Phi(1) = 0.841344746..., so GELU(1) = 0.841344746; GELU(-1) = -(1 - Phi(1))
    out = nn.GELU()(ag.tensor(np.array([1.0, -1.0, 0.0]))).numpy()
    np.testing.assert_allclose(out, [0.8413447460685429, -0.15865525393145707, 0.0], rtol=1e-12)
    approx = nn.GELU("tanh")(ag.tensor(np.array([1.0]))).numpy()
    np.testing.assert_allclose(approx, [0.8411919906082768], rtol=1e-12)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU("fast")(ag.ones(2))


def test_leaky_relu_slope_on_both_sides():
    x = ag.tensor(np.array([-2.0, 3.0]), requires_grad=True)
    nn.LeakyReLU(0.1)(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.1, 1.0])


def test_elu_is_finite_with_huge_inputs_and_gradients():
    x = ag.tensor(np.array([1e4, 1000.0, 710.0, -1000.0, -1e4]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow in exp
        out = nn.ELU()(x)
        out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), [1e4, 1000.0, 710.0, -1.0, -1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0, 0.0, 0.0])


@pytest.mark.parametrize("dim", [0, 1, -1])
@given(x=arrays(min_dims=2, max_dims=2))
def test_softmax_and_log_softmax_match_formulas_along_dim(dim, x):
    shifted = x - x.max(axis=dim, keepdims=True)
    e = np.exp(shifted)
    expected = e / e.sum(axis=dim, keepdims=True)
    np.testing.assert_allclose(nn.Softmax(dim)(ag.tensor(x)).numpy(), expected, rtol=1e-12)
    log_expected = shifted - np.log(e.sum(axis=dim, keepdims=True))
    np.testing.assert_allclose(nn.LogSoftmax(dim)(ag.tensor(x)).numpy(), log_expected,
                               rtol=1e-12, atol=1e-12)


def test_softmax_is_stable_for_large_logits():
    out = nn.Softmax(dim=-1)(ag.tensor(np.array([[1000.0, 1000.0, -1000.0]]))).numpy()
    np.testing.assert_allclose(out, [[0.5, 0.5, 0.0]])
    logp = nn.LogSoftmax(dim=-1)(ag.tensor(np.array([[1000.0, 0.0]]))).numpy()
    np.testing.assert_allclose(logp, [[0.0, -1000.0]])


@pytest.mark.parametrize("module", [nn.Softmax(0), nn.Softmax(1), nn.LogSoftmax(0),
                                    nn.LogSoftmax(-1)], ids=repr)
def test_softmax_gradients_match_finite_differences(module):
    x = ag.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(module, x)


def test_step_forward_is_heaviside_with_one_at_zero():
    out = nn.Step()(ag.tensor(np.array([-2.0, -1e-9, 0.0, 1e-9, 5.0])))
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.0, 1.0, 1.0, 1.0])


def test_step_of_integers_gives_floats():
    out = nn.Step()(ag.tensor([-1, 0, 3]))
    assert out.dtype.kind == "f"
    np.testing.assert_array_equal(out.numpy(), [0.0, 1.0, 1.0])


def test_step_refuses_backward_explaining_why():
    x = ag.tensor(np.array([-1.0, 2.0]), requires_grad=True)
    out = nn.Step()(x)
    np.testing.assert_array_equal(out.numpy(), [0.0, 1.0])
    with pytest.raises(RuntimeError, match="step .* is not differentiable"):
        out.sum().backward()


def test_activation_reprs_show_their_settings():
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.ELU()) == "ELU(alpha=1.0)"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.Softmax(1)) == "Softmax(dim=1)"
    assert repr(nn.LogSoftmax()) == "LogSoftmax(dim=-1)"
