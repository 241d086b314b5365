"""autograd_lite.Function: user-defined ops with forward/backward, as in PyTorch."""

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.testing import gradcheck, gradgradcheck


class Cube(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


class ScaledExp(ag.Function):
    """exp(x) * scale, saving its own output (as a real exp backward would)."""

    @staticmethod
    def forward(ctx, x, scale):
        out = ag.exp(x) * scale
        ctx.save_for_backward(out)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out, None


class Linear(ag.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        gx = grad @ w.T if ctx.needs_input_grad[0] else None
        return gx, x.T @ grad, grad.sum(axis=0)


def f64(values, requires_grad=True):
    return ag.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_apply_computes_forward_and_backward_gives_the_users_gradient():
    x = f64([1.0, -2.0, 0.5])
    y = Cube.apply(x)
    np.testing.assert_allclose(y.numpy(), [1.0, -8.0, 0.125])
    assert y.grad_fn.name == "Cube"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([1.0, -2.0, 0.5]) ** 2)


def test_gradcheck_works_on_functions_unchanged():
    rng = np.random.default_rng(0)
    x, w, b = f64(rng.standard_normal((4, 3))), f64(rng.standard_normal((3, 2))), f64([0.1, -0.2])
    assert gradcheck(Linear.apply, (x, w, b))
    assert gradcheck(lambda x: ScaledExp.apply(x, 2.0), f64([0.3, -0.7]))


def test_second_derivatives_flow_through_a_function_backward_built_from_ops():
    assert gradgradcheck(Cube.apply, f64([0.5, -1.5]))
    assert gradgradcheck(lambda x: ScaledExp.apply(x, 3.0), f64([0.2, 1.1]))


def test_needs_input_grad_tells_backward_what_to_compute():
    seen = []

    class Spy(ag.Function):
        @staticmethod
        def forward(ctx, x, w):
            return x * w

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            return None, grad

    x, w = f64([1.0, 2.0], requires_grad=False), f64([3.0, 4.0])
    Spy.apply(x, w).sum().backward()
    assert seen == [(False, True)]
    assert x.grad is None and w.grad.tolist() == [1.0, 1.0]


def test_forward_records_no_graph_and_output_does_not_require_grad_without_inputs_that_do():
    class Check(ag.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            assert y.grad_fn is None  # forward runs under no_grad
            return y

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    assert Check.apply(f64([1.0])).grad_fn.name == "Check"
    assert not Check.apply(f64([1.0], requires_grad=False)).requires_grad
    with ag.no_grad():
        assert not Check.apply(f64([1.0])).requires_grad


def test_backward_returning_the_wrong_number_of_gradients_names_the_function():
    class TooFew(ag.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, grad):
            return grad

    x, y = f64([1.0]), f64([2.0])
    with pytest.raises(RuntimeError, match=r"TooFew.backward returned 1 gradient\(s\), but "
                                           r"forward took 2 input\(s\)"):
        TooFew.apply(x, y).sum().backward()
    assert x.grad is None and y.grad is None


def test_backward_returning_a_wrong_shape_names_the_function_and_shapes():
    class BadShape(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return ag.ones(5)

    with pytest.raises(RuntimeError, match=r"backward of 'BadShape' returned a gradient of shape "
                                           r"\(5,\) for input 0, which cannot be summed to the "
                                           r"input's shape \(3,\)"):
        BadShape.apply(f64([1.0, 2.0, 3.0])).sum().backward()


def test_backward_gradient_with_broadcast_dims_is_summed_like_any_op():
    class Expand(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            return ag.broadcast_to(grad, (4,) + grad.shape)  # sums to x's shape

    x = f64([1.0, 2.0])
    Expand.apply(x).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_forward_must_return_a_tensor():
    class ReturnsArray(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x.numpy() * 2

    with pytest.raises(TypeError, match="ReturnsArray.forward must return one Tensor"):
        ReturnsArray.apply(f64([1.0]))


def test_a_saved_tensor_modified_in_place_makes_backward_fail():
    x = f64([1.0, 2.0])
    h = x * 1
    y = Cube.apply(h)
    h.mul_(2)
    with pytest.raises(RuntimeError, match="saved by Cube.forward was modified in place"):
        y.sum().backward()


def test_saved_tensors_are_freed_after_backward():
    x = f64([1.0, 2.0])
    y = Cube.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()
    assert y.grad_fn.ctx._saved is None


def test_saving_the_output_makes_no_reference_cycle():
    import gc
    import weakref

    gc.disable()
    try:
        y = ScaledExp.apply(f64([0.5]), 2.0)
        node = weakref.ref(y.grad_fn)
        del y
        assert node() is None
    finally:
        gc.enable()
