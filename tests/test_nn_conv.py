"""Convolution and pooling layers (autograd_lite/nn/conv.py): shapes, parameters and their
initialisation, reprs, errors naming the layer, and, where torch imports, a state_dict taken from
a torch model giving torch's outputs and gradients."""

import math

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn

RNG = np.random.default_rng(0)


def test_conv_layers_map_shapes_as_pytorch_documents():
    x = ag.randn(2, 3, 9, 8)
    assert nn.Conv2d(3, 6, 3)(x).shape == (2, 6, 7, 6)
    assert nn.Conv2d(3, 6, (3, 2), stride=2, padding=1)(x).shape == (2, 6, 5, 5)
    assert nn.Conv2d(3, 6, 3, padding="same", dilation=2, groups=3)(x).shape == (2, 6, 9, 8)
    assert nn.Conv2d(3, 6, 3)(x[0]).shape == (6, 7, 6)  # unbatched in, unbatched out
    assert nn.Conv1d(3, 4, 2, stride=3)(ag.randn(5, 3, 10)).shape == (5, 4, 3)


def test_pool_layers_map_shapes_as_pytorch_documents():
    x = ag.randn(2, 3, 9, 8)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert nn.MaxPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 9, 8)
    assert nn.AvgPool2d((3, 2))(x).shape == (2, 3, 3, 4)
    assert nn.MaxPool1d(2)(x[0]).shape == (3, 9, 4)
    assert nn.AvgPool1d(4, stride=2)(x[0, 0]).shape == (9, 3)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)
    assert nn.AdaptiveAvgPool2d((4, None))(x).shape == (2, 3, 4, 8)
    assert nn.AdaptiveAvgPool2d(5)(x).shape == (2, 3, 5, 5)  # 5 does not divide 9 or 8


def test_adaptive_avg_pool_of_a_dividing_size_is_avg_pool_and_of_one_the_mean():
    x = ag.randn(2, 3, 6, 4, dtype=np.float64)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d((3, 2))(x).numpy(),
                               nn.AvgPool2d(2)(x).numpy(), atol=1e-12)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).numpy(),
                               x.numpy().mean(axis=(2, 3), keepdims=True), atol=1e-12)


def test_conv_parameters_are_named_shaped_and_initialised_as_pytorchs():
    ag.manual_seed(0)
    conv = nn.Conv2d(4, 6, (3, 2), groups=2)
    assert [(name, p.shape) for name, p in conv.named_parameters()] == [
        ("weight", (6, 2, 3, 2)), ("bias", (6,))]
    assert conv.weight.dtype == np.float32 and conv.bias.dtype == np.float32
    bound = 1 / math.sqrt(2 * 3 * 2)  # fan_in = in_channels / groups * kernel positions
    for p in (conv.weight, conv.bias):
        assert np.abs(p.numpy()).max() <= bound
        assert np.abs(p.numpy()).max() > bound / 2  # spread over the range, not all near 0
    plain = nn.Conv1d(2, 3, 2, bias=False, dtype=np.float64)
    assert plain.bias is None and plain.weight.dtype == np.float64
    assert [name for name, _ in plain.named_parameters()] == ["weight"]


def test_a_float64_layer_gives_float64_and_a_float32_one_float32():
    conv64 = nn.Conv2d(2, 2, 2, dtype=np.float64)
    assert conv64(ag.randn(1, 2, 3, 3, dtype=np.float64)).dtype == np.float64
    assert nn.Conv1d(2, 2, 2)(ag.randn(1, 2, 3)).dtype == np.float32


def test_reprs_read_like_pytorchs():
    assert repr(nn.Conv2d(3, 8, 3)).startswith("Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))")
    assert repr(nn.Conv2d(4, 8, (3, 2), stride=2, padding=1, dilation=2, groups=2,
                          bias=False)).startswith(
        "Conv2d(4, 8, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
        "groups=2, bias=False)")
    assert repr(nn.Conv1d(3, 8, 3, padding="valid")).startswith(
        "Conv1d(3, 8, kernel_size=(3,), stride=(1,), padding=valid)")
    assert repr(nn.MaxPool2d((2, 3), 1, 1)) == "MaxPool2d(kernel_size=(2, 3), stride=1, padding=1)"
    assert repr(nn.AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.AvgPool1d(2)) == "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
    assert repr(nn.AdaptiveAvgPool2d((2, None))) == "AdaptiveAvgPool2d(output_size=(2, None))"


@pytest.mark.parametrize(("make", "message"), [
    (lambda: nn.Conv2d(3, 8, 3, groups=2), "Conv2d: in_channels must be divisible by groups"),
    (lambda: nn.Conv2d(4, 9, 3, groups=2), "Conv2d: out_channels must be divisible by groups"),
    (lambda: nn.Conv2d(4, 8, 3, stride=2, padding="same"),
     "Conv2d: padding='same' is not supported for strided convolutions"),
    (lambda: nn.Conv1d(4, 8, 3, padding="full"), "Conv1d: padding must be an int, a tuple"),
])
def test_bad_layer_settings_are_refused_naming_the_layer(make, message):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert message in str(info.value)


def test_wrong_input_is_refused_naming_the_layer_and_the_shapes():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d: expected input with 3 channels "
                                         r"\(in_channels=3\), got input of shape \(2, 4, 8, 8\)"):
        conv(ag.randn(2, 4, 8, 8))
    with pytest.raises(ValueError, match=r"Conv2d: expected a 3-D \(unbatched\) or 4-D"):
        conv(ag.randn(3, 8))
    with pytest.raises(RuntimeError, match="Conv2d: input is float64 but the layer's weight is "
                                           "float32"):
        conv(ag.randn(2, 3, 8, 8, dtype=np.float64))
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size must be positive"):
        nn.AdaptiveAvgPool2d(0)(ag.randn(1, 2, 2))


# ---- against PyTorch ---------------------------------------------------------------------------


def _models(torch):
    """The same small CNN in torch and here, module for module (so state_dict keys agree)."""
    tnn = torch.nn
    theirs = tnn.Sequential(
        tnn.Conv2d(3, 6, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(6, 6, (3, 2), stride=(1, 2), padding="valid", groups=3, bias=False),
        tnn.AvgPool2d(2, stride=1, padding=1), tnn.AdaptiveAvgPool2d((2, 3)), tnn.Flatten(),
        tnn.Linear(36, 4)).double()
    ours = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, dtype=np.float64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 6, (3, 2), stride=(1, 2), padding="valid", groups=3, bias=False,
                  dtype=np.float64),
        nn.AvgPool2d(2, stride=1, padding=1), nn.AdaptiveAvgPool2d((2, 3)), nn.Flatten(),
        nn.Linear(36, 4, dtype=np.float64))
    return theirs, ours


def test_a_torch_state_dict_gives_torchs_outputs_and_gradients():
    torch = pytest.importorskip("torch")
    theirs, ours = _models(torch)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((2, 3, 10, 11))
    xt = torch.tensor(x, requires_grad=True)
    xa = ag.tensor(x, requires_grad=True)
    out_t, out_a = theirs(xt), ours(xa)
    np.testing.assert_allclose(out_a.numpy(), out_t.detach().numpy(), atol=1e-12)
    out_t.square().sum().backward()
    (out_a ** 2).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), atol=1e-12,
                                   err_msg=name)


def test_conv_reprs_are_pytorchs():
    torch = pytest.importorskip("torch")
    for args, kwargs in [((3, 8, 3), {}), ((4, 8, (3, 2)), {"stride": 2, "padding": 1,
                                                             "dilation": 2, "groups": 2,
                                                             "bias": False}),
                         ((3, 8, 3), {"padding": "same"})]:
        ours = repr(nn.Conv2d(*args, **kwargs)).split("  #")[0]  # ours adds a parameter count
        assert ours == repr(torch.nn.Conv2d(*args, **kwargs))
    for layer in ("AvgPool1d", "AvgPool2d"):
        assert repr(getattr(nn, layer)(3, 2, 1)) == repr(getattr(torch.nn, layer)(3, 2, 1))
    assert repr(nn.AdaptiveAvgPool2d(1)) == repr(torch.nn.AdaptiveAvgPool2d(1))
