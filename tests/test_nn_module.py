"""nn.Module and nn.Parameter (autograd_lite/nn/module.py): attribute registration, traversal
with dotted names, train/eval, zero_grad, state_dict round trips and the tree repr."""

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn


class TwoLayer(nn.Module):
    """A model written the way users write them: sub-modules, a Parameter, a plain attribute."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 3)
        self.fc2 = nn.Linear(3, 1)
        self.scale = nn.Parameter(np.ones(1, np.float32))
        self.name = "two-layer"  # plain attribute: not a parameter, not a module

    def forward(self, x):
        return self.fc2(ag.tanh(self.fc1(x))) * self.scale


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter(np.array([1.0, 2.0]))
    assert isinstance(p, ag.Tensor)
    assert p.requires_grad and p.is_leaf
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad


def test_parameter_from_a_tensor_takes_its_values():
    p = nn.Parameter(ag.tensor([3.0, 4.0]))
    np.testing.assert_array_equal(p.numpy(), [3.0, 4.0])
    assert "Parameter containing" in repr(p)


# ---- registration ------------------------------------------------------------------------------


def test_assignment_registers_parameters_and_submodules_but_not_plain_attributes():
    m = TwoLayer()
    assert list(dict(m.named_children())) == ["fc1", "fc2"]
    assert [name for name, _ in m.named_parameters()] == [
        "scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert m.name == "two-layer"
    assert "name" not in dict(m.named_parameters()) and "name" not in m.state_dict()


def test_registered_attributes_read_back_as_the_same_objects():
    m = TwoLayer()
    params = dict(m.named_parameters())
    assert m.scale is params["scale"]
    assert m.fc1.weight is params["fc1.weight"]


def test_reassigning_a_plain_attribute_to_a_parameter_registers_it():
    """The old plain value must not shadow the new Parameter."""

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = 1.0
            self.w = nn.Parameter(np.ones(2))

    m = M()
    assert isinstance(m.w, nn.Parameter)
    assert list(dict(m.named_parameters())) == ["w"]


def test_a_parameter_or_submodule_is_replaced_only_by_its_kind_or_none_as_in_pytorch():
    m = TwoLayer()
    with pytest.raises(TypeError, match=r"cannot assign 'Tensor' as parameter 'scale' "
                                        r"\(ag.nn.Parameter or None expected\)"):
        m.scale = ag.tensor(2.0)  # would silently stop training it
    with pytest.raises(TypeError, match="cannot assign 'float' as parameter 'scale'"):
        m.scale = 2.0
    with pytest.raises(TypeError, match="cannot assign 'Linear' as parameter 'scale'"):
        m.scale = nn.Linear(1, 1)
    with pytest.raises(TypeError, match="cannot assign 'Parameter' as child module 'fc1'"):
        m.fc1 = nn.Parameter(ag.zeros(1))
    assert "scale" in dict(m.named_parameters()) and isinstance(m.fc1, nn.Linear)
    m.scale = nn.Parameter(ag.ones(1))
    m.fc1 = None  # None unregisters, as PyTorch leaves no parameters behind
    assert m.fc1 is None and list(dict(m.named_parameters())) == [
        "scale", "fc2.weight", "fc2.bias"]


def test_deleting_a_submodule_unregisters_it():
    m = TwoLayer()
    del m.fc2
    assert list(dict(m.named_children())) == ["fc1"]
    with pytest.raises(AttributeError):
        _ = m.fc2


def test_unknown_attribute_raises_attribute_error_naming_it():
    m = TwoLayer()
    with pytest.raises(AttributeError, match="TwoLayer.*'weights'"):
        _ = m.weights
    assert not hasattr(m, "weights")
    assert getattr(m, "weights", "default") == "default"


def test_assigning_before_super_init_is_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"'fc'.*super\(\).__init__\(\)"):
        Forgetful()


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        nn.Module()(ag.ones(1))


def test_call_runs_forward():
    m = TwoLayer()
    x = ag.tensor([[0.5, -1.0]])
    np.testing.assert_array_equal(m(x).numpy(), m.forward(x).numpy())


# ---- traversal ---------------------------------------------------------------------------------


def test_sequential_parameters_have_dotted_names():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))

    names = [name for name, _ in Net().named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]


def test_parameters_and_named_parameters_agree():
    m = TwoLayer()
    assert [id(p) for p in m.parameters()] == [id(p) for _, p in m.named_parameters()]


def test_non_recursive_parameters_are_the_module_own():
    m = TwoLayer()
    assert [name for name, _ in m.named_parameters(recurse=False)] == ["scale"]


def test_shared_parameter_is_listed_once():
    """Tied weights (one Linear used twice) are one Parameter: an optimizer must see it once."""
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias"]
    assert len(list(model.parameters())) == 2
    assert model.num_parameters() == 12


def test_shared_parameter_object_in_two_modules_is_listed_once():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    model = nn.Sequential(a, b)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_children_modules_and_named_modules():
    m = TwoLayer()
    assert list(m.children()) == [m.fc1, m.fc2]
    assert list(m.modules()) == [m, m.fc1, m.fc2]
    assert [(name, mod) for name, mod in m.named_modules()] == [
        ("", m), ("fc1", m.fc1), ("fc2", m.fc2)]


def test_named_modules_of_nested_sequential_and_shared_module_once():
    inner = nn.Linear(2, 2)
    model = nn.Sequential(nn.Sequential(inner, nn.ReLU()), inner)
    assert [name for name, _ in model.named_modules()] == ["", "0", "0.0", "0.1"]


# ---- train / eval ------------------------------------------------------------------------------


def test_modules_start_in_training_mode():
    assert all(mod.training for mod in TwoLayer().modules())


def test_train_and_eval_set_the_flag_recursively_and_return_self():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(2)))
    assert model.eval() is model
    assert [mod.training for mod in model.modules()] == [False] * 5
    assert model.train() is model
    assert [mod.training for mod in model.modules()] == [True] * 5
    model.train(False)
    assert not any(mod.training for mod in model.modules())


def test_eval_on_a_child_leaves_the_parent_alone():
    m = TwoLayer()
    m.fc1.eval()
    assert m.training and not m.fc1.training and m.fc2.training


# ---- zero_grad ---------------------------------------------------------------------------------


def _backward_once(m):
    m(ag.tensor([[1.0, 2.0], [0.5, -1.0]])).sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_zero_grad_sets_gradients_to_none_by_default():
    m = TwoLayer()
    _backward_once(m)
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_zero_grad_set_to_none_false_keeps_zeroed_arrays():
    m = TwoLayer()
    _backward_once(m)
    m.zero_grad(set_to_none=False)
    for p in m.parameters():
        assert p.grad is not None and p.grad.shape == p.shape
        np.testing.assert_array_equal(p.grad.numpy(), np.zeros(p.shape))


def test_zero_grad_set_to_none_false_on_a_fresh_model_leaves_none():
    m = TwoLayer()
    m.zero_grad(set_to_none=False)
    assert all(p.grad is None for p in m.parameters())


def test_gradients_accumulate_until_zero_grad():
    m = nn.Linear(1, 1)
    x = ag.tensor([[2.0]])
    m(x).sum().backward()
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), [[4.0]])  # d(w x + b)/dw = x, twice
    m.zero_grad()
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), [[2.0]])


# ---- buffers and state_dict --------------------------------------------------------------------


class WithBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.register_buffer("counts", np.zeros(2, np.float32))

    def forward(self, x):
        return self.fc(x) + self.counts


def test_buffers_are_in_state_dict_but_not_parameters():
    m = WithBuffer()
    assert set(m.state_dict()) == {"fc.weight", "fc.bias", "counts"}
    assert [name for name, _ in m.named_parameters()] == ["fc.weight", "fc.bias"]
    assert [name for name, _ in m.named_buffers()] == ["counts"]
    assert isinstance(m.counts, ag.Tensor) and not m.counts.requires_grad


def test_assigning_a_tensor_to_a_buffer_name_keeps_it_a_buffer():
    m = WithBuffer()
    m.counts = ag.tensor([5.0, 6.0])
    assert "counts" in m.state_dict()
    np.testing.assert_array_equal(m.state_dict()["counts"], [5.0, 6.0])


def test_state_dict_values_are_detached_tensors_sharing_memory_with_the_model():
    """As in PyTorch: a state_dict is a view of the model, not a snapshot."""
    m = WithBuffer()
    state = m.state_dict()
    assert all(type(v) is ag.Tensor and not v.requires_grad and v.grad_fn is None
               for v in state.values())
    with ag.no_grad():
        m.fc.weight.data[...] = 7.0
        m.counts.data[...] = 3.0
    np.testing.assert_array_equal(state["fc.weight"].numpy(), np.full((2, 2), 7.0))
    np.testing.assert_array_equal(state["counts"].numpy(), [3.0, 3.0])


def test_state_dict_keep_vars_gives_the_parameters_and_prefix_prefixes_the_keys():
    m = nn.Linear(2, 1)
    state = m.state_dict(keep_vars=True)
    assert state["weight"] is m.weight and state["bias"] is m.bias
    assert list(m.state_dict(prefix="head.")) == ["head.weight", "head.bias"]


def test_state_dict_is_ordered_module_by_module_like_pytorch():
    """Each module's parameters, then its buffers, then its children."""
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    assert list(model.state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked", "2.weight", "2.bias"]


def test_state_dict_lists_a_shared_parameter_under_every_name_and_loads_it():
    """PyTorch keeps tied weights under each of their names in a state_dict."""
    shared = nn.Linear(1, 1)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    state = {"0.weight": np.array([[2.0]]), "0.bias": np.array([1.0]),
             "2.weight": np.array([[2.0]]), "2.bias": np.array([1.0])}
    assert model.load_state_dict(state) == ([], [])
    np.testing.assert_array_equal(shared.weight.numpy(), [[2.0]])


def test_load_state_dict_of_a_models_own_state_dict_is_harmless():
    m = nn.Linear(2, 2)
    before = m.weight.numpy().copy()
    m.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(m.weight.numpy(), before)


def test_load_state_dict_does_not_alias_tensor_values():
    source, target = nn.Linear(2, 2), nn.Linear(2, 2)
    target.load_state_dict(source.state_dict())
    with ag.no_grad():
        source.weight.data[...] = 5.0
    assert not np.shares_memory(target.weight.data, source.weight.data)
    assert not (target.weight.numpy() == 5.0).any()


def test_state_dict_keys_are_dotted_parameter_and_buffer_names():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    assert set(model.state_dict()) == {
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked", "2.weight", "2.bias"}
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(model.state_dict()[name], p.numpy())


def test_load_state_dict_round_trip_gives_identical_outputs():
    ag.manual_seed(0)
    a = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1))
    a(ag.randn(8, 2))  # move BatchNorm's running statistics off their defaults
    b = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1))
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    a.eval(), b.eval()
    x = ag.randn(5, 2)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_load_state_dict_copies_values_in_place_and_does_not_alias():
    m = nn.Linear(2, 2)
    weight = m.weight
    state = {"weight": np.full((2, 2), 2.0, np.float32), "bias": np.zeros(2, np.float32)}
    m.load_state_dict(state)
    assert m.weight is weight  # an optimizer holding this Parameter sees the new values
    state["weight"][...] = 9.0
    np.testing.assert_array_equal(m.weight.numpy(), np.full((2, 2), 2.0))


def test_load_state_dict_accepts_tensors_as_values():
    m = nn.Linear(1, 1)
    m.load_state_dict({"weight": ag.tensor([[3.0]]), "bias": ag.tensor([1.0])})
    np.testing.assert_array_equal(m(ag.tensor([[2.0]])).numpy(), [[7.0]])


def _snapshot(m):
    return {k: v.numpy().copy() for k, v in m.state_dict().items()}


def _assert_unchanged(m, before):
    after = m.state_dict()
    assert list(after) == list(before)
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


def test_strict_load_rejects_missing_keys_by_name_and_changes_nothing():
    m = WithBuffer()
    before = _snapshot(m)
    state = {"fc.weight": np.zeros((2, 2), np.float32)}
    with pytest.raises(ValueError, match=r"missing keys: \['counts', 'fc.bias'\]"):
        m.load_state_dict(state)
    _assert_unchanged(m, before)


def test_strict_load_rejects_unexpected_keys_by_name_and_changes_nothing():
    m = WithBuffer()
    before = _snapshot(m)
    state = {k: np.zeros_like(v) for k, v in before.items()}
    state["fc.extra"] = np.zeros(1)
    with pytest.raises(ValueError, match=r"unexpected keys: \['fc.extra'\]"):
        m.load_state_dict(state)
    _assert_unchanged(m, before)


def test_load_rejects_wrong_shapes_naming_entry_and_shapes_and_changes_nothing():
    m = WithBuffer()
    before = _snapshot(m)
    state = {k: np.zeros_like(v) for k, v in before.items()}
    state["fc.weight"] = np.zeros((3, 2), np.float32)
    for strict in (True, False):
        with pytest.raises(ValueError, match=r"'fc.weight'.*\(3, 2\).*\(2, 2\)"):
            m.load_state_dict(state, strict=strict)
        _assert_unchanged(m, before)


def test_non_strict_load_returns_missing_and_unexpected_and_loads_the_rest():
    m = WithBuffer()
    before = _snapshot(m)
    state = {"fc.weight": np.full((2, 2), 5.0, np.float32), "other": np.zeros(3)}
    missing, unexpected = m.load_state_dict(state, strict=False)
    assert missing == ["counts", "fc.bias"]  # PyTorch's order: own buffers, then children
    assert unexpected == ["other"]
    np.testing.assert_array_equal(m.fc.weight.numpy(), np.full((2, 2), 5.0))
    np.testing.assert_array_equal(m.fc.bias.numpy(), before["fc.bias"])


def test_load_keeps_the_model_dtype():
    m = nn.Linear(1, 1)
    m.load_state_dict({"weight": np.array([[0.5]]), "bias": np.array([0.25])})  # float64 in
    assert m.weight.dtype == np.float32 and m.bias.dtype == np.float32
    np.testing.assert_array_equal(m.weight.numpy(), [[0.5]])


# ---- repr --------------------------------------------------------------------------------------


def test_repr_is_a_tree_with_parameter_counts():
    # Linear(2, 8): 2 * 8 weights + 8 biases = 24; Linear(8, 1): 8 + 1 = 9; total 33.
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    assert repr(model) == (
        "Sequential(  # 33 parameters\n"
        "  (0): Linear(in_features=2, out_features=8, bias=True)  # 24 parameters\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=8, out_features=1, bias=True)  # 9 parameters\n"
        ")")


def test_repr_nests_and_uses_thousands_separators():
    # Linear(100, 20): 2,000 + 20 = 2,020; Dropout has none.
    model = nn.Sequential(nn.Sequential(nn.Linear(100, 20), nn.Dropout(0.1)), nn.Identity())
    assert repr(model) == (
        "Sequential(  # 2,020 parameters\n"
        "  (0): Sequential(  # 2,020 parameters\n"
        "    (0): Linear(in_features=100, out_features=20, bias=True)  # 2,020 parameters\n"
        "    (1): Dropout(p=0.1)\n"
        "  )\n"
        "  (1): Identity()\n"
        ")")


def test_num_parameters_counts_every_element_once():
    assert TwoLayer().num_parameters() == (2 * 3 + 3) + (3 * 1 + 1) + 1


# ---- forward hooks -----------------------------------------------------------------------------


class Affine(nn.Module):
    """y = a * x + b, with a keyword argument to show kwargs reach forward untouched."""

    def forward(self, x, b=0.0):
        return x * 2.0 + b


def test_forward_hook_sees_module_inputs_and_output_after_forward():
    m = Affine()
    calls = []
    m.register_forward_hook(lambda mod, inputs, out: calls.append((mod, inputs, out)))
    x = ag.tensor([1.0, 2.0])
    y = m(x)
    assert len(calls) == 1
    mod, inputs, out = calls[0]
    assert mod is m and out is y
    assert isinstance(inputs, tuple) and len(inputs) == 1 and inputs[0] is x
    np.testing.assert_array_equal(out.numpy(), [2.0, 4.0])


def test_forward_hook_return_replaces_output_and_none_keeps_it():
    m = Affine()
    m.register_forward_hook(lambda mod, inputs, out: None)
    m.register_forward_hook(lambda mod, inputs, out: out + 100.0)
    m.register_forward_hook(lambda mod, inputs, out: out * -1.0)  # sees the previous hook's
    np.testing.assert_array_equal(m(ag.tensor([1.0])).numpy(), [-102.0])


def test_forward_hooks_run_in_registration_order():
    m = Affine()
    order = []
    for i in range(3):
        m.register_forward_hook(lambda mod, inputs, out, i=i: order.append(i))
    m(ag.tensor([0.0]))
    assert order == [0, 1, 2]


def test_removing_a_forward_hook_stops_it_and_removing_twice_is_harmless():
    m = Affine()
    calls = []
    keep = m.register_forward_hook(lambda mod, inputs, out: calls.append("keep"))
    handle = m.register_forward_hook(lambda mod, inputs, out: calls.append("gone"))
    m(ag.tensor([0.0]))
    handle.remove()
    handle.remove()
    m(ag.tensor([0.0]))
    assert calls == ["keep", "gone", "keep"]
    keep.remove()
    m(ag.tensor([0.0]))
    assert calls == ["keep", "gone", "keep"]


@pytest.mark.parametrize("pre", [False, True])
def test_a_hook_may_remove_itself_while_running(pre):
    m = Affine()
    calls = []
    handles = []

    def once(*args):
        calls.append("once")
        handles[0].remove()

    def always(*args):
        calls.append("always")

    register = m.register_forward_pre_hook if pre else m.register_forward_hook
    handles.append(register(once))
    register(always)
    m(ag.tensor([0.0]))
    m(ag.tensor([0.0]))
    assert calls == ["once", "always", "always"]


def test_module_without_hooks_skips_the_hook_path(monkeypatch):
    m = Affine()
    handle = m.register_forward_hook(lambda mod, inputs, out: None)
    handle.remove()

    def fail(self, args, kwargs):
        raise AssertionError("hook path taken without hooks")

    monkeypatch.setattr(nn.Module, "_call_with_hooks", fail)
    np.testing.assert_array_equal(m(ag.tensor([1.0])).numpy(), [2.0])


def test_pre_hook_replaces_inputs_and_wraps_a_non_tuple_return():
    m = Affine()
    seen = []
    m.register_forward_pre_hook(lambda mod, inputs: seen.append(inputs))
    m.register_forward_pre_hook(lambda mod, inputs: inputs[0] + 1.0)  # not a tuple: wrapped
    m.register_forward_pre_hook(lambda mod, inputs: seen.append(inputs))
    m.register_forward_pre_hook(lambda mod, inputs: (inputs[0] * 10.0,))
    post = []
    m.register_forward_hook(lambda mod, inputs, out: post.append(inputs))
    x = ag.tensor([1.0])
    np.testing.assert_array_equal(m(x).numpy(), [(1.0 + 1.0) * 10.0 * 2.0])
    assert len(seen[0]) == 1 and seen[0][0] is x  # the first pre-hook sees the original
    assert isinstance(seen[1], tuple) and len(seen[1]) == 1  # the Tensor was wrapped
    np.testing.assert_array_equal(seen[1][0].numpy(), [2.0])
    assert isinstance(post[0], tuple) and len(post[0]) == 1
    np.testing.assert_array_equal(post[0][0].numpy(), [20.0])  # the forward hook sees new inputs


def test_pre_hook_runs_before_forward_and_keyword_arguments_pass_through(monkeypatch):
    m = Affine()
    events = []
    m.register_forward_pre_hook(lambda mod, inputs: events.append("pre"))
    m.register_forward_hook(lambda mod, inputs, out: events.append("post"))
    original = Affine.forward
    monkeypatch.setattr(Affine, "forward",
                        lambda self, x, b=0.0: events.append("forward") or original(self, x, b))
    out = m(ag.tensor([1.0]), b=5.0)
    assert events == ["pre", "forward", "post"]
    np.testing.assert_array_equal(out.numpy(), [7.0])


def test_removed_pre_hook_no_longer_changes_inputs():
    m = Affine()
    handle = m.register_forward_pre_hook(lambda mod, inputs: (inputs[0] * 0.0,))
    np.testing.assert_array_equal(m(ag.tensor([3.0])).numpy(), [0.0])
    handle.remove()
    np.testing.assert_array_equal(m(ag.tensor([3.0])).numpy(), [6.0])


def test_hooks_on_a_submodule_fire_when_the_parent_is_called():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    captured = {}
    model[1].register_forward_hook(lambda mod, inputs, out: captured.update(relu=out.numpy()))
    x = ag.tensor([[1.0, -2.0], [0.5, 0.5]])
    model(x)
    expected = np.maximum(model[0](x).numpy(), 0)
    np.testing.assert_allclose(captured["relu"], expected)


def test_gradient_flows_through_a_replaced_output():
    m = nn.Linear(2, 1)
    x = ag.tensor([[1.0, 3.0]])
    m(x).sum().backward()
    plain = m.weight.grad.numpy().copy()
    m.zero_grad()
    m.register_forward_hook(lambda mod, inputs, out: out * 3.0)
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), 3.0 * plain)


@pytest.mark.parametrize("register", ["register_forward_hook", "register_forward_pre_hook"])
def test_registering_a_non_callable_hook_is_a_type_error(register):
    with pytest.raises(TypeError, match=f"{register}: expected a callable, got int"):
        getattr(Affine(), register)(3)


# ---- plain containers are refused ----------------------------------------------------------


@pytest.mark.parametrize("value, wrapper", [
    ([nn.Linear(1, 1)], "ModuleList"),
    ((nn.ReLU(), nn.Tanh()), "ModuleList"),
    ({"head": nn.Linear(1, 1)}, "ModuleDict"),
    ([nn.Parameter(np.ones(1))], "ParameterList"),
    ({"scale": nn.Parameter(np.ones(1))}, "ParameterDict"),
])
def test_a_plain_container_of_modules_or_parameters_is_a_type_error_naming_the_fix(value, wrapper):
    """A deliberate difference: PyTorch silently registers nothing here."""
    m = nn.Module()
    with pytest.raises(TypeError, match=rf"'blocks'.*nn\.{wrapper}"):
        m.blocks = value
    assert "blocks" not in m.__dict__ and list(m.parameters()) == []


def test_plain_containers_without_modules_stay_plain_attributes():
    m = nn.Module()
    m.sizes, m.names, m.options = [2, 3], ("a",), {"lr": 0.1}
    assert m.sizes == [2, 3] and m.names == ("a",) and m.options == {"lr": 0.1}


def test_object_setattr_keeps_a_list_of_modules_unregistered_on_purpose():
    m = nn.Module()
    object.__setattr__(m, "helpers", [nn.Linear(1, 1)])
    assert len(m.helpers) == 1 and list(m.parameters()) == []


# ---- to / float / double / half ------------------------------------------------------------


def test_to_a_dtype_casts_float_parameters_buffers_and_grads_in_place():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    weight = model[0].weight
    model[0].weight.grad = np.ones((2, 2), np.float32)
    assert model.to(np.float64) is model
    assert model[0].weight is weight  # an optimizer holding it keeps working
    assert weight.dtype == np.float64 and weight.grad.dtype == np.float64
    assert model[1].running_var.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64  # only floating-point tensors change
    np.testing.assert_array_equal(weight.grad.numpy(), np.ones((2, 2)))


@pytest.mark.parametrize("call", [lambda m: m.to(dtype=np.float64), lambda m: m.double(),
                                  lambda m: m.to("cpu", np.float64),
                                  lambda m: m.to(ag.zeros(1, dtype=np.float64))])
def test_every_way_of_asking_for_float64_gives_float64(call):
    m = nn.Linear(1, 1)
    assert call(m) is m and m.weight.dtype == np.float64 and m.bias.dtype == np.float64


def test_float_casts_back_to_float32_and_values_survive():
    m = nn.Linear(1, 1, dtype=np.float64)
    m.load_state_dict({"weight": np.array([[0.25]]), "bias": np.array([-1.5])})
    m.float()
    assert m.weight.dtype == np.float32
    np.testing.assert_array_equal(m(ag.tensor([[4.0]])).numpy(), [[-0.5]])


@pytest.mark.parametrize("device", ["cpu", "cpu:0"])
def test_to_the_cpu_changes_nothing_and_returns_self(device):
    m = nn.Linear(1, 1)
    weight = m.weight.data
    assert m.to(device) is m and m.to(device=device) is m
    assert m.weight.data is weight


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps"])
def test_to_another_device_is_a_runtime_error_naming_it(device):
    with pytest.raises(RuntimeError, match=rf"device '{device}' is not available.*CPU only"):
        nn.Linear(1, 1).to(device)


@pytest.mark.parametrize("call, message", [
    (lambda m: m.half(), r"Module.half: autograd_lite does not train in float16"),
    (lambda m: m.to(np.float16), r"Module.to: autograd_lite does not train in float16"),
    (lambda m: m.to(np.int64), r"Module.to: only floating-point dtypes.*got int64"),
    (lambda m: m.to(dtype=bool), r"only floating-point dtypes.*got bool"),
])
def test_unsupported_dtypes_are_type_errors_that_change_nothing(call, message):
    m = nn.Linear(1, 1)
    with pytest.raises(TypeError, match=message):
        call(m)
    assert m.weight.dtype == np.float32 and m.bias.dtype == np.float32


# ---- apply / requires_grad_ ------------------------------------------------------------------


def test_apply_visits_children_first_then_self_and_returns_self():
    inner = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    model = nn.Sequential(inner, nn.Tanh())
    seen = []
    assert model.apply(seen.append) is model
    assert seen == [inner[0], inner[1], inner, model[1], model]


def test_apply_can_reinitialise_weights():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))

    def fill(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    model.apply(fill)
    np.testing.assert_array_equal(model[2].weight.numpy(), [[0.5, 0.5]])


def test_requires_grad_freezes_and_unfreezes_every_parameter():
    m = TwoLayer()
    assert m.requires_grad_(False) is m
    assert not any(p.requires_grad for p in m.parameters())
    m.fc2.requires_grad_()
    assert [name for name, p in m.named_parameters() if p.requires_grad] == [
        "fc2.weight", "fc2.bias"]


# ---- named_modules like PyTorch --------------------------------------------------------------


def test_named_modules_takes_pytorchs_arguments_in_pytorchs_order():
    shared = nn.Linear(1, 1)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in model.named_modules(None, "net")] == ["net", "net.0", "net.1"]
    assert [n for n, _ in model.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert [n for n, _ in model.named_modules(memo={shared})] == ["", "1"]


def test_named_parameters_remove_duplicate_false_lists_every_name():
    shared = nn.Linear(1, 1)
    model = nn.Sequential(shared, shared)
    assert [n for n, _ in model.named_parameters(remove_duplicate=False)] == [
        "0.weight", "0.bias", "1.weight", "1.bias"]


def test_a_shared_buffer_is_listed_once():
    a, b = nn.BatchNorm1d(2), nn.BatchNorm1d(2)
    b.running_mean = a.running_mean
    names = [n for n, _ in nn.Sequential(a, b).named_buffers()]
    assert names == ["0.running_mean", "0.running_var", "0.num_batches_tracked",
                     "1.running_var", "1.num_batches_tracked"]


# ---- register_buffer / register_parameter / add_module -------------------------------------


def test_non_persistent_buffers_are_buffers_but_not_in_state_dict():
    m = WithBuffer()
    m.register_buffer("scratch", ag.zeros(2), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["counts", "scratch"]
    assert list(m.state_dict()) == ["counts", "fc.weight", "fc.bias"]
    m.load_state_dict(m.state_dict())  # strict: scratch is not expected
    m.scratch = ag.ones(2)  # a new value keeps it a non-persistent buffer
    assert "scratch" not in m.state_dict()
    m.register_buffer("scratch", ag.ones(2))  # registering again makes it persistent
    assert "scratch" in m.state_dict()


@pytest.mark.parametrize("register", [
    lambda m, name: m.register_buffer(name, ag.zeros(1)),
    lambda m, name: m.register_parameter(name, nn.Parameter(np.zeros(1))),
    lambda m, name: m.add_module(name, nn.ReLU()),
])
def test_registering_under_a_bad_name_is_pytorchs_error(register):
    m = TwoLayer()
    with pytest.raises(KeyError, match="contain no '.'"):
        register(m, "a.b")
    with pytest.raises(KeyError, match="non-empty"):
        register(m, "")
    with pytest.raises(KeyError, match="attribute 'name' already exists"):
        register(m, "name")
    with pytest.raises(TypeError, match="name should be a string, got int"):
        register(m, 3)


def test_register_parameter_and_add_module_refuse_the_wrong_kind():
    m = nn.Module()
    with pytest.raises(TypeError, match="cannot register a Tensor as parameter 'w'"):
        m.register_parameter("w", ag.zeros(1))
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("fc", 3)
    assert list(m.named_parameters()) == [] and list(m.children()) == []


def test_a_none_parameter_is_declared_but_absent():
    m = nn.Linear(2, 1, bias=False)
    assert m.bias is None and "bias" in m._parameters
    assert list(m.state_dict()) == ["weight"]
