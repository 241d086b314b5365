"""Grad mode (autograd_lite/grad_mode.py): no_grad, enable_grad, set_grad_enabled; thread-local."""

import threading

import numpy as np
import pytest

import autograd_lite as ag


def f64(values, requires_grad=True):
    return ag.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_under_no_grad_results_do_not_require_grad_and_have_no_grad_fn():
    x = f64([1.0, 2.0])
    assert ag.is_grad_enabled()
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = x * 2.0 + x.exp()
    assert ag.is_grad_enabled()
    assert y.requires_grad is False and y.grad_fn is None
    assert (x * 2.0).requires_grad


def test_enable_grad_switches_recording_back_on_inside_no_grad():
    x = f64([1.0])
    with ag.no_grad():
        with ag.enable_grad():
            assert ag.is_grad_enabled()
            y = x * 2.0
        assert not ag.is_grad_enabled()
        z = x * 2.0
    assert y.requires_grad and not z.requires_grad


def test_set_grad_enabled_as_a_context_manager_and_as_a_call():
    with ag.set_grad_enabled(False):
        assert not ag.is_grad_enabled()
        with ag.set_grad_enabled(True):
            assert ag.is_grad_enabled()
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    try:
        ag.set_grad_enabled(False)  # a plain call takes effect at once
        assert not ag.is_grad_enabled()
    finally:
        ag.set_grad_enabled(True)
    assert ag.is_grad_enabled()


def test_grad_mode_context_managers_restore_the_mode_after_an_exception():
    with pytest.raises(KeyError):
        with ag.no_grad():
            raise KeyError
    assert ag.is_grad_enabled()


def test_grad_mode_objects_work_as_decorators():
    x = f64([1.0])

    @ag.no_grad()
    def evaluate():
        return x * 2.0, ag.is_grad_enabled()

    @ag.enable_grad()
    def train_step():
        return x * 2.0, ag.is_grad_enabled()

    @ag.set_grad_enabled(False)
    def frozen():
        return ag.is_grad_enabled()

    assert ag.is_grad_enabled()  # creating the decorators changed nothing
    y, enabled = evaluate()
    assert not enabled and not y.requires_grad
    assert ag.is_grad_enabled()
    assert frozen() is False and ag.is_grad_enabled()
    with ag.no_grad():
        y, enabled = train_step()
        assert enabled and y.requires_grad
        assert not ag.is_grad_enabled()
        y, enabled = evaluate()  # decorated calls nest
        assert not enabled
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()


def test_decorated_functions_are_reentrant():
    depths = []

    @ag.no_grad()
    def recurse(n):
        depths.append(ag.is_grad_enabled())
        if n:
            recurse(n - 1)
        return ag.is_grad_enabled()

    assert recurse(3) is False
    assert depths == [False] * 4
    assert ag.is_grad_enabled()


def test_grad_mode_is_thread_local():
    """A no_grad block in one thread does not stop another thread from recording."""
    inside, checked, seen = threading.Event(), threading.Event(), {}

    def other_thread():
        inside.wait(timeout=10)
        seen["enabled"] = ag.is_grad_enabled()
        seen["records"] = (f64([1.0]) * 2.0).requires_grad
        checked.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    with ag.no_grad():
        inside.set()
        assert checked.wait(timeout=10)
        assert not ag.is_grad_enabled()  # and the other thread did not turn it back on here
    worker.join()
    assert seen == {"enabled": True, "records": True}


def test_a_thread_starting_inside_no_grad_still_defaults_to_recording():
    seen = {}
    with ag.no_grad():
        worker = threading.Thread(target=lambda: seen.update(enabled=ag.is_grad_enabled()))
        worker.start()
        worker.join()
    assert seen["enabled"] is True
