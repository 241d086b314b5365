"""One generic test over the op registry: every differentiable primitive autograd_lite ships
is gradchecked against finite differences in float64, on Hypothesis-drawn arguments from the
hints declared next to the op (kind, domain). Registering a new op is all it takes to be covered.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as ag
from autograd_lite.ops import REGISTRY
from autograd_lite.testing import gradcheck, gradgradcheck
from autograd_lite.testing.strategies import op_arguments

SHIPPED = {name: op for name, op in REGISTRY.items() if op.__module__.startswith("autograd_lite.")}
DIFFERENTIABLE = sorted(name for name, op in SHIPPED.items() if op.differentiable)

# The ops the core issue requires; the registry may hold more.
REQUIRED = """add sub mul div neg pow exp log sqrt abs sin cos tanh sigmoid relu maximum minimum
clip where matmul sum mean max min var reshape transpose broadcast_to squeeze unsqueeze getitem
concatenate stack logsumexp softmax log_softmax""".split()


def test_every_required_op_is_a_registered_differentiable_primitive():
    missing = [name for name in REQUIRED if name not in DIFFERENTIABLE]
    assert not missing, f"not registered as differentiable primitives: {missing}"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_op_declares_a_drawable_kind(name):
    """op_arguments raises for a kind without a strategy: a new op cannot slip past the tests."""
    assert op_arguments(SHIPPED[name]) is not None


def _as_inputs(op, arrays):
    """Floating inputs that have a rule become Tensors requiring grad; the rest stay arrays."""
    rules = op.vjps
    return [ag.Tensor(a, requires_grad=True)
            if a.dtype.kind == "f" and (op.variadic or rules[i] is not None) else a
            for i, a in enumerate(arrays)]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@given(data=st.data())
def test_gradient_matches_finite_differences(name, data):
    op = SHIPPED[name]
    arrays, params = data.draw(op_arguments(op), label="args, params")
    assert gradcheck(lambda *xs: op(*xs, **params), _as_inputs(op, arrays))


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@settings(max_examples=10)
@given(data=st.data())
def test_second_derivative_matches_finite_differences(name, data):
    """create_graph runs the same rules on Tensors; this checks them, for every op."""
    op = SHIPPED[name]
    arrays, params = data.draw(op_arguments(op), label="args, params")
    assert gradgradcheck(lambda *xs: op(*xs, **params), _as_inputs(op, arrays))


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@given(data=st.data())
def test_float32_in_float32_out_and_gradient(name, data):
    op = SHIPPED[name]
    arrays, params = data.draw(op_arguments(op), label="args, params")
    params = {k: (np.float32 if v is np.float64 else v) for k, v in params.items()}
    inputs = _as_inputs(op, [a.astype(np.float32) if a.dtype.kind == "f" else a for a in arrays])
    out = op(*inputs, **params)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    for t in inputs:
        if isinstance(t, ag.Tensor):
            assert t.grad.dtype == np.float32 and t.grad.shape == t.shape
