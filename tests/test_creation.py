"""Making tensors (autograd_lite/creation.py): PyTorch's factories, with values written out."""

import numpy as np
import pytest

import autograd_lite as ag


def test_eye_is_the_identity_square_or_rectangular_in_the_default_dtype():
    assert ag.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]] and ag.eye(2).dtype == np.float32
    assert ag.eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert ag.eye(1, dtype=ag.float64).dtype == np.float64


def test_linspace_includes_both_ends_and_logspace_raises_its_base_to_them():
    assert ag.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert ag.linspace(2, 2, 1).tolist() == [2.0]
    assert ag.logspace(0, 2, 3).tolist() == [1.0, 10.0, 100.0]
    assert ag.logspace(0, 3, 4, base=2).tolist() == [1.0, 2.0, 4.0, 8.0]


def test_randint_takes_high_and_size_or_low_high_and_size_and_stays_in_range():
    ag.manual_seed(0)
    a = ag.randint(3, (1000,))
    assert a.dtype == np.int64 and set(a.tolist()) == {0, 1, 2}
    b = ag.randint(5, 7, (10, 10))
    assert b.shape == (10, 10) and set(b.tolist()[0]) <= {5, 6}
    ag.manual_seed(1)
    first = ag.randint(100, (5,)).tolist()
    ag.manual_seed(1)
    assert ag.randint(100, (5,)).tolist() == first


def test_randperm_is_a_permutation_that_manual_seed_reproduces():
    ag.manual_seed(3)
    p = ag.randperm(6)
    assert sorted(p.tolist()) == list(range(6)) and p.dtype == np.int64
    ag.manual_seed(3)
    assert ag.randperm(6).tolist() == p.tolist()


def test_full_like_zeros_like_and_ones_like_take_the_shape_and_dtype():
    x = ag.zeros(2, 3, dtype=ag.float64)
    assert ag.full_like(x, 7).tolist() == [[7.0] * 3] * 2 and ag.full_like(x, 7).dtype == x.dtype
    assert ag.zeros_like(x).dtype == np.float64 and ag.ones_like(x).tolist() == [[1.0] * 3] * 2
    assert ag.full_like(x, 2, dtype=ag.int64).dtype == np.int64


def test_empty_has_the_shape_and_dtype_asked_for():
    assert ag.empty(2, 3).shape == (2, 3) and ag.empty((4,)).dtype == np.float32


@pytest.mark.parametrize("call, error, match", [
    (lambda: ag.eye(-1), ValueError, "eye: n must be at least 0"),
    (lambda: ag.eye(2.5), TypeError, "eye: n must be an int"),
    (lambda: ag.linspace(0, 1, "5"), TypeError, "linspace: steps must be an int"),
    (lambda: ag.randint(3), TypeError, r"randint: expected \(high, size\)"),
    (lambda: ag.randint(3, 3, (2,)), ValueError, "randint: high must be above low"),
    (lambda: ag.randint(3, (2,), generator=5), TypeError, "randint: generator must be"),
    (lambda: ag.randperm(-2), ValueError, "randperm: n must be at least 0"),
    (lambda: ag.full_like("ab", 1), TypeError, "full_like"),
    (lambda: ag.empty(2, dtype=complex), TypeError, "empty"),
])
def test_bad_arguments_are_clear_errors_naming_the_factory(call, error, match):
    with pytest.raises(error, match=match):
        call()
