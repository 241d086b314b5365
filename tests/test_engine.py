"""The reverse-mode engine (autograd_lite/engine.py): backward, grad(), higher order, provenance.

Expected gradients are written out by hand from calculus, never read off the library.
"""

import weakref

import numpy as np
import pytest

import autograd_lite as ag


def f64(values, requires_grad=True):
    return ag.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def close(actual, expected, rtol=1e-10, atol=1e-12):
    actual = actual.numpy() if isinstance(actual, ag.Tensor) else actual
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# ---- backward ------------------------------------------------------------------------------


def test_backward_on_a_scalar_fills_the_grad_of_every_leaf():
    xv, wv = np.array([0.5, -1.0, 2.0]), np.array([3.0, 0.25, -2.0])
    x, w = f64(xv), f64(wv)
    loss = (w * x.sin() + x * x).sum()
    loss.backward()
    close(x.grad, wv * np.cos(xv) + 2 * xv)
    close(w.grad, np.sin(xv))


def test_backward_on_a_one_element_tensor_of_any_shape_needs_no_gradient():
    x = f64([[2.0]])
    (x * 3.0).backward()
    close(x.grad, [[3.0]])


def test_backward_on_a_non_scalar_without_a_gradient_is_a_clear_error():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*gradient"):
        (x * 2.0).backward()
    assert x.grad is None


def test_backward_with_an_explicit_gradient_computes_a_vector_jacobian_product():
    xv, v = np.array([1.0, -2.0, 3.0]), np.array([0.5, 1.0, -1.0])
    x = f64(xv)
    (x * x).backward(gradient=f64(v, requires_grad=False))
    close(x.grad, 2 * xv * v)
    x.grad = None
    (x * x).backward(v)  # a numpy array works too
    close(x.grad, 2 * xv * v)


def test_backward_with_a_gradient_of_the_wrong_shape_is_an_error():
    x = f64([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2.0).backward(gradient=ag.ones(3))
    assert x.grad is None


def test_backward_on_a_tensor_that_does_not_require_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (ag.ones(2) * 2.0).sum().backward()


def test_backward_function_takes_several_outputs_and_their_gradients():
    x = f64([1.0, 2.0])
    ag.backward([(x * x).sum(), x * 3.0], [None, np.array([1.0, -1.0])])
    close(x.grad, [2 * 1.0 + 3.0, 2 * 2.0 - 3.0])


def test_gradients_accumulate_into_leaves_across_backward_calls():
    x = f64([1.0, 2.0])
    (x * x).sum().backward()
    (x * 10.0).sum().backward()
    close(x.grad, [2.0 + 10.0, 4.0 + 10.0])


def test_a_tensor_used_several_times_sums_the_contributions():
    x = f64([3.0])
    (x * x).backward()
    close(x.grad, [6.0])  # d(x^2) = 2x
    x.grad = None
    (x + x).backward()
    close(x.grad, [2.0])
    x.grad = None
    y = x * 2.0
    (y * y + y).backward()  # 4x^2 + 2x -> 8x + 2 through the shared non-leaf y
    close(x.grad, [26.0])


def test_broadcast_gradients_are_summed_back_to_each_inputs_shape():
    a = f64(np.arange(3.0).reshape(3, 1))   # (3, 1)
    b = f64(np.arange(4.0) + 1.0)           # (4,)
    c = f64(2.0)                            # ()
    (a * b + c).sum().backward()            # (3, 4)
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,) and c.grad.shape == ()
    close(a.grad, np.full((3, 1), 1.0 + 2.0 + 3.0 + 4.0))
    close(b.grad, np.full(4, 0.0 + 1.0 + 2.0))
    close(c.grad, 12.0)


def test_non_leaf_tensors_get_no_grad():
    x = f64([1.0, 2.0])
    y = x * 2.0
    (y * y).sum().backward()
    assert y.grad is None
    close(x.grad, [8.0, 16.0])


# ---- retain_graph --------------------------------------------------------------------------


def test_a_second_backward_through_a_freed_graph_is_an_error_naming_retain_graph():
    x = f64([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()
    close(x.grad, [2.0, 4.0])


def test_retain_graph_allows_a_second_backward():
    x = f64([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    close(x.grad, [4.0, 8.0])


def test_a_failing_backward_changes_no_grad():
    """The freed node is found before any gradient is accumulated."""
    a, fresh = f64([1.0, 2.0]), f64([5.0])
    z = (a * a).sum()
    z.backward()
    before = a.grad.numpy().copy()
    w = z + (a * 3.0).sum() + (fresh * 2.0).sum()  # the new branches would be walked first
    with pytest.raises(RuntimeError, match="retain_graph"):
        w.backward()
    close(a.grad, before)
    assert fresh.grad is None


def test_backward_releases_the_saved_arrays_unless_retain_graph():
    x = f64([1.0, 2.0])
    y = x.exp()
    loss = (y * 2.0).sum()
    nodes = [loss.grad_fn, loss.grad_fn.next_functions[0], y.grad_fn]
    assert all(node.args is not None for node in nodes)
    loss.backward(retain_graph=True)
    assert all(node.args is not None for node in nodes)
    loss.backward()
    assert all(node.args is None for node in nodes)


def test_a_large_intermediate_is_freed_after_backward():
    x = ag.randn(500, 500, requires_grad=True)
    h = x.exp()
    ref = weakref.ref(h.numpy())
    loss = h.sum()
    del h
    assert ref() is not None  # the graph keeps what the gradient rules need
    loss.backward()
    assert ref() is None      # ... and drops it once they ran


def test_a_large_intermediate_is_freed_when_the_output_goes_out_of_scope():
    x = ag.randn(500, 500, requires_grad=True)
    h = x.exp()
    ref = weakref.ref(h.numpy())
    loss = h.sum()
    del h
    assert ref() is not None
    del loss  # no reference cycles: plain reference counting frees the graph at once
    assert ref() is None


def test_a_chain_of_a_million_ops_backpropagates_without_recursion():
    x = ag.tensor(np.float64(1.0), requires_grad=True)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0000001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0000001 ** 1_000_000, rel=1e-9)


# ---- autograd_lite.grad --------------------------------------------------------------------


def test_grad_returns_the_gradients_and_leaves_grad_untouched():
    xv = np.array([1.0, 2.0])
    x, w = f64(xv), f64([3.0, -1.0])
    w.grad = ag.tensor(np.array([7.0, 7.0]))
    dx, dw = ag.grad((w * x * x).sum(), (x, w))
    close(dx, 2 * np.array([3.0, -1.0]) * xv)
    close(dw, xv ** 2)
    assert x.grad is None
    close(w.grad, [7.0, 7.0])


def test_grad_of_a_single_input_is_a_one_tuple():
    x = f64(2.0)
    result = ag.grad(x ** 3, x)
    assert isinstance(result, tuple) and len(result) == 1
    close(result[0], 12.0)


def test_grad_outputs_weights_a_non_scalar_output():
    xv, v = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, -2.0])
    x = f64(xv)
    (dx,) = ag.grad(x.exp(), x, grad_outputs=ag.tensor(v))
    close(dx, np.exp(xv) * v)
    with pytest.raises(RuntimeError, match="gradient"):
        ag.grad(x.exp(), x)


def test_grad_of_an_input_not_used_raises_unless_allow_unused():
    a, b = f64(1.0), f64(2.0)
    with pytest.raises(ValueError, match="allow_unused"):
        ag.grad(a * 3.0, (a, b))
    da, db = ag.grad(a * 3.0, (a, b), allow_unused=True)
    close(da, 3.0)
    assert db is None


def test_grad_of_an_input_that_does_not_require_grad_is_an_error():
    a = f64(1.0)
    with pytest.raises(ValueError, match="requires grad"):
        ag.grad(a * 2.0, ag.tensor(1.0))


def test_grad_with_respect_to_a_non_leaf():
    a = f64(2.0)
    h = a * 3.0           # 6
    y = h * h + a         # dy/dh = 2h, holding a fixed
    (dh,) = ag.grad(y, h, retain_graph=True)
    close(dh, 12.0)
    (da,) = ag.grad(y, a)  # total derivative: 2h * 3 + 1
    close(da, 37.0)
    assert a.grad is None and h.grad is None


def test_grad_frees_the_graph_unless_retain_graph():
    x = f64(2.0)
    y = x ** 2
    ag.grad(y, x, retain_graph=True)
    (dx,) = ag.grad(y, x)
    close(dx, 4.0)
    with pytest.raises(RuntimeError, match="retain_graph"):
        ag.grad(y, x)


# ---- higher order: create_graph ------------------------------------------------------------

SECOND_DERIVATIVES = {  # f, f', f''
    "cube": (lambda t: t ** 3, lambda v: 3 * v ** 2, lambda v: 6 * v),
    "sin": (ag.sin, np.cos, lambda v: -np.sin(v)),
    "exp": (ag.exp, np.exp, np.exp),
    "tanh": (ag.tanh, lambda v: 1 - np.tanh(v) ** 2,
             lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
    "sigmoid": (ag.sigmoid,
                lambda v: np.exp(-v) / (1 + np.exp(-v)) ** 2,
                lambda v: np.exp(-v) * (np.exp(-v) - 1) / (1 + np.exp(-v)) ** 3),
}


@pytest.mark.parametrize("name", sorted(SECOND_DERIVATIVES))
def test_create_graph_gives_differentiable_first_derivatives(name):
    f, df, d2f = SECOND_DERIVATIVES[name]
    xv = np.array([-1.3, -0.2, 0.4, 2.1])
    x = f64(xv)
    (g,) = ag.grad(f(x).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    close(g, df(xv))
    (h,) = ag.grad(g.sum(), x)
    close(h, d2f(xv))


def test_backward_with_create_graph_records_the_grad_so_it_can_be_differentiated():
    xv = np.array([0.5, 1.5])
    x = f64(xv)
    (x ** 3).sum().backward(create_graph=True)
    close(x.grad, 3 * xv ** 2)
    assert x.grad.grad_fn is not None
    (g,) = ag.grad(x.grad.sum(), x)
    close(g, 6 * xv)


def test_third_derivative():
    x = f64(0.7)
    (d1,) = ag.grad(x ** 4, x, create_graph=True)
    (d2,) = ag.grad(d1, x, create_graph=True)
    (d3,) = ag.grad(d2, x)
    close(d1, 4 * 0.7 ** 3)
    close(d2, 12 * 0.7 ** 2)
    close(d3, 24 * 0.7)


def test_hessian_of_a_quadratic_form_is_the_symmetric_part_of_its_matrix():
    """f(x) = 0.5 x^T A x has gradient (A + A^T)/2 x and Hessian (A + A^T)/2 everywhere."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    xv = rng.standard_normal(4)
    x = f64(xv)
    f = 0.5 * (x @ ag.tensor(A) @ x)
    (g,) = ag.grad(f, x, create_graph=True)
    sym = (A + A.T) / 2
    close(g, sym @ xv)
    rows = [ag.grad(g[i], x, retain_graph=True)[0].numpy() for i in range(4)]
    close(np.stack(rows), sym)


def test_hessian_vector_product_by_double_backward():
    """f(x) = sum(x^4)/4 + 0.5 x^T A x: H = diag(3 x^2) + (A + A^T)/2."""
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 3))
    xv, v = rng.standard_normal(3), rng.standard_normal(3)
    hessian = np.diag(3 * xv ** 2) + (A + A.T) / 2
    x = f64(xv)
    f = (x ** 4).sum() / 4 + 0.5 * (x @ (ag.tensor(A) @ x))
    (g,) = ag.grad(f, x, create_graph=True)
    (hv,) = ag.grad(g, x, grad_outputs=ag.tensor(v), retain_graph=True)
    close(hv, hessian @ v)
    (hv_dot,) = ag.grad((g * ag.tensor(v)).sum(), x)  # the same, as grad of <g, v>
    close(hv_dot, hessian @ v)


# ---- detach -------------------------------------------------------------------------------


def test_detach_cuts_the_graph():
    x = f64([2.0])
    y = x * x
    z = y.detach() * x + y  # d/dx = x^2 (y treated as a constant) + 2x
    z.backward()
    close(x.grad, [4.0 + 4.0])


def test_updating_a_parameter_under_no_grad_keeps_it_a_leaf():
    w = f64([1.0, -1.0])
    (w * w).sum().backward()
    with ag.no_grad():
        w.data -= 0.1 * w.grad.numpy()
    assert w.is_leaf and w.requires_grad
    close(w.numpy(), [0.8, -0.8])


# ---- provenance ---------------------------------------------------------------------------


def _line_of(marker):
    """The line number in this file of the line containing ``marker``."""
    lines = open(__file__).read().splitlines()
    return next(i for i, text in enumerate(lines, 1) if marker in text and "_line_of" not in text)


def test_an_error_in_backward_names_the_forward_line_that_created_the_op():
    @ag.primitive(lambda g, out, x: g[..., None] * np.ones(3))
    def widen_badly(x):
        return x * 1.0

    x = f64([1.0, 2.0])
    y = widen_badly(x)  # marker: created here
    with pytest.raises(RuntimeError) as info:  # a rule's bug, as in PyTorch (and Function)
        y.sum().backward()
    text = str(info.value)
    assert "backward of 'widen_badly' returned a gradient of shape (2, 3) for input 0" in text
    assert f"test_engine.py:{_line_of('marker: created here')}" in text


# ---- memory: the graph is freed, and never held by reference cycles ---------------------------


def test_no_intermediate_array_outlives_backward_and_the_output():
    import gc

    x = f64(np.ones(1000))
    hidden = ag.tanh(x * 2.0)
    out = (ag.exp(hidden) * hidden).sum()
    watched = [weakref.ref(hidden.data), weakref.ref(out.grad_fn.args[0])]
    del hidden
    out.backward()
    gc.disable()
    try:
        del out
        assert [ref() for ref in watched] == [None, None]
    finally:
        gc.enable()


def test_tensors_and_nodes_form_no_reference_cycles():
    import gc

    gc.disable()
    try:
        x = f64([1.0, 2.0])
        y = ag.exp(x) * x
        y.retain_grad()
        y.register_hook(lambda g: g)
        h = y * 1
        h += 1
        refs = [weakref.ref(y), weakref.ref(y.grad_fn), weakref.ref(h), weakref.ref(h.grad_fn)]
        del y, h
        assert [r() for r in refs] == [None] * 4
    finally:
        gc.enable()


def test_leaf_gradients_never_share_memory_with_each_other_or_the_caller():
    """Rules may pass the incoming gradient on unchanged (add does): each leaf's .grad must still
    be its own array, so modifying one never changes another."""
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    seed = np.array([1.0, 1.0])
    (a + b).backward(seed)
    a.grad.zero_()
    assert b.grad.tolist() == [1.0, 1.0] and seed.tolist() == [1.0, 1.0]
    w = f64([[1.0, 2.0], [3.0, 4.0]])
    x = ag.tensor(np.array([[1.0, 0.0]]))
    bias = f64([0.5, 0.5])
    ag.linear(x, w, bias).sum().backward()
    w.grad.zero_()
    assert bias.grad.tolist() == [1.0, 1.0]


# ---- hooks on leaves ---------------------------------------------------------------------------


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_tensor_a_leafs_hook_returns_is_copied_into_grad_never_shared(create_graph):
    """The next backward adds into .grad in place: it must not write into the hook's tensor."""
    w = f64([1.0, 2.0])
    mine = f64([5.0, 5.0], requires_grad=False)
    w.register_hook(lambda g: mine)
    (w * 1.0).sum().backward(create_graph=create_graph)
    (w * 1.0).sum().backward(create_graph=create_graph)
    close(w.grad, [10.0, 10.0])
    close(mine, [5.0, 5.0])
