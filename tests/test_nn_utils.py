"""nn.utils: gradient clipping by joint norm (PyTorch's clip coefficient, other norms, corner
cases) and by value, in place on .grad."""

import math

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn


def param(values, dtype=np.float64):
    return ag.tensor(np.array(values, dtype=dtype), requires_grad=True)


def with_grads(*grads, dtype=np.float64):
    params = []
    for g in grads:
        p = param(np.zeros(len(g)), dtype)
        p.grad = ag.tensor(np.array(g, dtype=dtype))
        params.append(p)
    return params


def test_clip_grad_norm_scales_all_gradients_by_one_factor():
    a, b = with_grads([3.0, 4.0], [12.0])             # joint 2-norm: sqrt(9 + 16 + 144) = 13
    total = nn.utils.clip_grad_norm_([a, b], max_norm=6.5)
    assert isinstance(total, ag.Tensor) and total.shape == () and total.dtype == np.float64
    assert total.item() == pytest.approx(13.0)       # PyTorch returns the norm as a tensor
    coef = 6.5 / (13.0 + 1e-6)                        # PyTorch's clip_coef
    np.testing.assert_allclose(a.grad.data, [3.0 * coef, 4.0 * coef], rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, [12.0 * coef], rtol=1e-12)


def test_clip_grad_norm_leaves_small_gradients_alone_and_supports_other_norms():
    a, b = with_grads([3.0, -4.0], [12.0])
    assert nn.utils.clip_grad_norm_([a, b], max_norm=100.0).item() == pytest.approx(13.0)
    np.testing.assert_array_equal(a.grad.data, [3.0, -4.0])
    assert nn.utils.clip_grad_norm_([a, b], 100.0, norm_type=1).item() == pytest.approx(19.0)
    assert nn.utils.clip_grad_norm_([a, b], 100.0, norm_type=math.inf).item() == 12.0
    assert nn.utils.clip_grad_norm_([a, b], 6.0, norm_type="inf").item() == 12.0
    np.testing.assert_allclose(b.grad.data, [12.0 * 6.0 / (12.0 + 1e-6)], rtol=1e-12)


def test_clip_grad_norm_corner_cases():
    (a,) = with_grads([3.0, 4.0], dtype=np.float32)
    no_grad = param([1.0])
    total = nn.utils.clip_grad_norm_(a, 1.0)                 # a single Tensor is fine
    assert total.item() == pytest.approx(5.0) and total.dtype == a.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad.data, [0.6, 0.8], rtol=1e-5)
    assert nn.utils.clip_grad_norm_([no_grad], 1.0).item() == 0.0
    (inf,) = with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite|inf"):
        nn.utils.clip_grad_norm_([inf], 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm"):
        nn.utils.clip_grad_norm_([a], -1.0)


def test_clip_grad_value_clamps_each_entry():
    a, b = with_grads([-3.0, 0.5, 2.0], [0.1])
    nn.utils.clip_grad_value_([a, b, param([0.0])], 1.0)
    np.testing.assert_array_equal(a.grad.data, [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad.data, [0.1])
    with pytest.raises(ValueError, match="clip_value"):
        nn.utils.clip_grad_value_([a], -1.0)


def test_parameters_to_vector_flattens_and_joins_in_order_and_is_differentiable():
    a = param([[1.0, 2.0], [3.0, 4.0]])
    b = param([5.0])
    vec = nn.utils.parameters_to_vector([a, b])
    assert vec.shape == (5,) and vec.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    (vec * ag.tensor(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))).sum().backward()
    assert a.grad.tolist() == [[1.0, 2.0], [3.0, 4.0]] and b.grad.tolist() == [5.0]
    model = nn.Linear(3, 2)                       # weight (2, 3) then bias (2,)
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.tolist() == model.weight.data.ravel().tolist() + model.bias.data.tolist()


def test_vector_to_parameters_gives_each_parameter_its_slice_as_a_view():
    a, b = param(np.zeros((2, 2))), param([0.0])
    vec = ag.tensor(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))   # one more than needed: unused
    nn.utils.vector_to_parameters(vec, [a, b])
    assert a.tolist() == [[1.0, 2.0], [3.0, 4.0]] and b.tolist() == [5.0]
    assert a.requires_grad and a.shape == (2, 2)
    vec.data[0] = 10.0                            # shares memory, as PyTorch's param.data = ...
    assert a.data[0, 0] == 10.0
    nn.utils.vector_to_parameters(nn.utils.parameters_to_vector([b, a]) * 0, [a, b])
    assert a.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_vector_to_parameters_refuses_bad_input():
    a = param([0.0, 0.0])
    with pytest.raises(TypeError, match="vector_to_parameters: expected a Tensor"):
        nn.utils.vector_to_parameters([1.0, 2.0], [a])
    with pytest.raises(ValueError, match="1-D"):
        nn.utils.vector_to_parameters(ag.zeros(1, 2), [a])
    with pytest.raises(ValueError, match="vec has 1 entries, the parameters need 2"):
        nn.utils.vector_to_parameters(ag.zeros(1), [a])
    with pytest.raises(TypeError, match="parameters_to_vector: parameter 1 is a list"):
        nn.utils.parameters_to_vector([a, [1.0]])
    with pytest.raises(ValueError, match="no parameters"):
        nn.utils.parameters_to_vector([])
    assert a.tolist() == [0.0, 0.0]
