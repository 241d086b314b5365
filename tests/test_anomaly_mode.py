"""Anomaly mode (autograd_lite/anomaly_mode.py): the op that first made a NaN or Inf, and where."""

import numpy as np
import pytest

import autograd_lite as ag


def f64(values, requires_grad=True):
    return ag.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def _line_of(marker):
    """The line number in this file of the line containing ``marker``."""
    lines = open(__file__).read().splitlines()
    return next(i for i, text in enumerate(lines, 1) if marker in text and "_line_of" not in text)


def test_anomaly_mode_is_off_by_default_and_nan_passes_silently():
    x = f64([-1.0, 4.0])
    y = ag.log(x)
    assert np.isnan(y.numpy()[0])


def test_anomaly_mode_names_the_op_that_made_a_nan_in_the_forward():
    x = f64([-1.0, 4.0])
    with ag.detect_anomaly():
        with pytest.raises(RuntimeError) as info:
            ag.sqrt(x)  # marker: forward nan
    text = str(info.value)
    assert "'sqrt' produced NaN or Inf in its forward output" in text
    assert f"line {_line_of('marker: forward nan')}" in text


def test_anomaly_mode_names_the_op_whose_backward_made_a_nan_and_its_creation_traceback():
    x = f64([0.0, 4.0])
    with ag.detect_anomaly():
        y = ag.sqrt(x)  # marker: backward nan
        loss = (y * 0.0).sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    text = str(info.value)
    assert "the backward of 'sqrt' produced NaN or Inf in the gradient of its input 0" in text
    assert f"line {_line_of('marker: backward nan')}" in text
    assert x.grad is None or not np.isnan(x.grad.numpy()).any()


def test_anomaly_mode_ignores_nan_that_came_in_with_the_inputs():
    with ag.detect_anomaly():
        y = ag.exp(f64([np.nan, 1.0]))
    assert np.isnan(y.numpy()[0])


def test_anomaly_mode_is_restored_after_the_block():
    from autograd_lite import anomaly_mode

    with ag.detect_anomaly():
        assert anomaly_mode.enabled
    assert not anomaly_mode.enabled
