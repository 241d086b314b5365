"""dtype names (numpy dtype objects under torch's names) and the default float dtype, which
governs Python floats in ag.tensor and the float factories."""

import numpy as np
import pytest

import autograd_lite as ag


@pytest.fixture(autouse=True)
def restore_default_dtype():
    saved = ag.get_default_dtype()
    yield
    ag.set_default_dtype(saved)


def test_dtype_names_are_numpy_dtypes():
    assert ag.float32 is np.dtype("float32") and ag.float32 == np.float32
    assert (ag.float64, ag.int32, ag.int64, ag.bool) == (np.float64, np.int32, np.int64, np.bool_)
    assert ag.zeros(2, dtype=ag.int64).dtype == np.int64
    assert not hasattr(ag, "float16")


def test_the_default_is_float32_and_governs_floats_and_factories():
    assert ag.get_default_dtype() is ag.float32
    assert ag.tensor([1.5]).dtype == np.float32
    ag.set_default_dtype(ag.float64)
    assert ag.get_default_dtype() is ag.float64
    assert ag.tensor([1.5, 2]).dtype == np.float64 and ag.tensor(0.5).dtype == np.float64
    for t in (ag.zeros(2), ag.ones(2), ag.full((2,), 3.0), ag.randn(2), ag.rand(2),
              ag.arange(0.0, 1.0, 0.5)):
        assert t.dtype == np.float64
    # what it does not govern: ints, numpy arrays, explicit dtypes
    assert ag.tensor([1, 2]).dtype == np.int64 and ag.arange(3).dtype == np.int64
    assert ag.tensor(np.zeros(2, np.float32)).dtype == np.float32
    assert ag.zeros(2, dtype=np.float32).dtype == np.float32
    ag.set_default_dtype(np.float32)
    assert ag.zeros(2).dtype == np.float32 and ag.tensor([1.5]).dtype == np.float32


@pytest.mark.parametrize("bad", [ag.int64, ag.bool, np.float16, "complex64", None, "nonsense"])
def test_set_default_dtype_takes_float32_or_float64_only(bad):
    with pytest.raises(TypeError, match="set_default_dtype: only floating-point types"):
        ag.set_default_dtype(bad)
    assert ag.get_default_dtype() is ag.float32
