"""autograd_lite.debug: graph size, the graph-growth guard for training loops, and debug mode
(a forgotten zero_grad warns; fit guards its metric sums)."""

import contextlib
import re
import warnings

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import debug, nn, optim


def test_graph_size_counts_the_ops_in_a_history():
    x = ag.tensor([1.0], requires_grad=True)
    assert ag.graph_size(x) == 0
    y = ag.exp(x * 2) + x       # mul, exp, add
    assert ag.graph_size(y) == 3
    assert ag.graph_size(y + y) == 4  # shared history is counted once


def test_guard_warns_once_about_an_accumulated_loss_and_says_how_to_fix_it():
    w = ag.tensor([1.0], requires_grad=True)
    guard = ag.GraphGrowthGuard(patience=3)
    total = 0.0
    with pytest.warns(ag.GraphGrowthWarning, match=r"total .*loss.item\(\).*detach\(\)") as record:
        for _ in range(8):
            loss = (w * 2).sum()
            total = total + loss
            guard.check(total, "total")
    assert len(record) == 1
    assert guard.sizes == [3 * k for k in range(1, 9)]  # each iteration adds mul, sum, add


def test_guard_is_quiet_for_a_correct_loop():
    w = ag.tensor([1.0], requires_grad=True)
    guard = ag.GraphGrowthGuard()
    total = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(10):
            loss = (w * 2).sum()
            loss.backward()
            total += loss.item()
            guard.check(loss, "loss")
    assert guard.sizes == [2] * 10


# ---- debug mode --------------------------------------------------------------------------------


def _debug(mode):
    before = ag.is_debug_enabled()
    ag.set_debug(mode)
    yield
    ag.set_debug(before)


@pytest.fixture
def debug_mode():
    """Debug mode on for one test, then back as it was."""
    yield from _debug(True)


@pytest.fixture
def debug_off():
    """Debug mode off for one test (AUTOGRAD_LITE_DEBUG=1 may have turned it on), then back."""
    yield from _debug(False)


def _setup():
    w = ag.Tensor([1.0, 2.0], requires_grad=True, name="w")
    b = ag.tensor(0.5, requires_grad=True)
    return w, b, optim.SGD([w, b], lr=0.1)


def _backward(w, b):
    ((w * w).sum() + b * 2).backward()  # w's gradient, 2w, changes at every step


def _forgotten_zero_grad_loop(steps=4):
    """A loop without zero_grad: every step uses the sum of all gradients so far."""
    w, b, opt = _setup()
    for _ in range(steps):
        _backward(w, b)
        opt.step()
    return w


@contextlib.contextmanager
def _no_warnings():
    """Inside, any warning is an error: a correct loop must stay silent."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


FORGOTTEN = ("SGD.step(): the gradient of parameter 0 of group 0 ('w'), shape (2,), was added "
             "into by backward() since the previous step() without being zeroed, so this step "
             "used the gradients of every step so far. Call optimizer.zero_grad() (or "
             "model.zero_grad()) before each backward(); to accumulate gradients on purpose, "
             "zero them after each step(). (autograd_lite debug mode; warned once per optimizer)")


def test_a_forgotten_zero_grad_warns_once_naming_the_optimizer_and_the_parameter(debug_mode):
    with pytest.warns(ag.ForgottenZeroGradWarning) as record:
        w = _forgotten_zero_grad_loop()
    assert [str(r.message) for r in record] == [FORGOTTEN]
    assert record[0].filename == __file__  # points at the user's step() call
    assert issubclass(ag.ForgottenZeroGradWarning, UserWarning)
    ag.set_debug(False)
    np.testing.assert_array_equal(w.numpy(), _forgotten_zero_grad_loop().numpy())  # a warning only


@pytest.mark.parametrize("zero", [
    lambda opt, model: opt.zero_grad(),
    lambda opt, model: opt.zero_grad(set_to_none=False),
    lambda opt, model: model.zero_grad(),
    lambda opt, model: model.zero_grad(set_to_none=False),
], ids=["optimizer", "optimizer-to-zeros", "module", "module-to-zeros"])
def test_a_loop_that_zeroes_every_step_is_silent(debug_mode, zero):
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]])
    with _no_warnings():
        for _ in range(5):
            zero(opt, model)
            (model(x) ** 2).sum().backward()  # gradients that change at every step
            opt.step()


def test_accumulating_over_two_backward_calls_per_step_is_silent(debug_mode):
    w, b, opt = _setup()
    with _no_warnings():
        for _ in range(4):
            _backward(w, b)
            _backward(w, b)  # two micro-batches, one step: legitimate accumulation
            opt.step()
            opt.zero_grad()


def test_stepping_twice_on_the_same_gradient_is_not_an_accumulation(debug_mode):
    w, b, opt = _setup()
    _backward(w, b)
    with _no_warnings():
        opt.step()
        opt.step()


def test_with_debug_mode_off_a_forgotten_zero_grad_is_silent(debug_off):
    with _no_warnings():
        _forgotten_zero_grad_loop()


def test_set_debug_switches_and_refuses_what_is_not_a_bool():
    before = ag.is_debug_enabled()
    try:
        ag.set_debug(True)
        assert ag.is_debug_enabled() and debug.enabled
        ag.set_debug(False)
        assert not ag.is_debug_enabled()
        with pytest.raises(TypeError, match=r"set_debug: mode must be True or False, got 1"):
            ag.set_debug(1)
        assert not ag.is_debug_enabled()
    finally:
        ag.set_debug(before)


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), (" ON ", True), ("yes", True),
    ("0", False), ("", False), ("false", False), ("off", False)])
def test_the_environment_variable_turns_debug_mode_on(monkeypatch, value, expected):
    monkeypatch.setenv("AUTOGRAD_LITE_DEBUG", value)
    assert debug.debug_from_env() is expected
    monkeypatch.delenv("AUTOGRAD_LITE_DEBUG")
    assert debug.debug_from_env() is False


def test_a_misspelt_environment_variable_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("AUTOGRAD_LITE_DEBUG", "maybe")
    with pytest.raises(ValueError, match=re.escape("AUTOGRAD_LITE_DEBUG='maybe': expected 1")):
        debug.debug_from_env()


def _fit_with_a_loss_as_metric():
    """fit with a metric that returns a Tensor with a history: its sum keeps every batch's graph."""
    ag.manual_seed(0)
    model = nn.Linear(1, 1)
    x, y = ag.randn(8, 1), ag.randn(8, 1)
    loader = [(x[i:i + 1], y[i:i + 1]) for i in range(8)]
    ag.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.01), loader,
           metrics={"mse": nn.functional.mse_loss}, progress=False)


def test_in_debug_mode_fit_guards_each_metric_sum(debug_mode):
    with pytest.warns(ag.GraphGrowthWarning, match=r"^the sum of metric 'mse' carries a "):
        _fit_with_a_loss_as_metric()


def test_without_debug_mode_fit_guards_the_loss_only(debug_off):
    with _no_warnings():
        _fit_with_a_loss_as_metric()
