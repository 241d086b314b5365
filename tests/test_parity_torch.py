"""The same PyTorch idioms run on autograd_lite and on PyTorch itself, float64 values and
gradients compared (skipped when torch is not installed: ``pip install -e '.[bench]'``).

tests/test_parity.py checks the same idioms against values written out by hand, without torch;
this file catches what a hand-written value could share with our code: the same misreading."""

import numpy as np
import pytest

import autograd_lite as ag

torch = pytest.importorskip("torch")

VALUES = [[0.5, -1.2, 2.0], [1.5, 0.3, -0.7]]  # no ties, no zeros: every idiom is smooth here

IDIOMS = {  # name -> f(lib, F, x): lib is ag or torch, F its nn.functional, x a (2, 3) leaf
    "transpose(0, 1)": lambda lib, F, x: x.transpose(0, 1),
    "t()": lambda lib, F, x: x.t(),
    "permute(1, 0)": lambda lib, F, x: x.permute(1, 0),
    "var()": lambda lib, F, x: x.var(),
    "std()": lambda lib, F, x: x.std(),
    "var(1, keepdim=True)": lambda lib, F, x: x.var(1, keepdim=True),
    "std(dim=0, correction=0)": lambda lib, F, x: x.std(dim=0, correction=0),
    "var(unbiased=False)": lambda lib, F, x: x.var(unbiased=False),
    "max()": lambda lib, F, x: x.max(),
    "max(1).values": lambda lib, F, x: x.max(1).values,
    "max(1).indices": lambda lib, F, x: x.max(1).indices,
    "min(dim=0, keepdim=True).values": lambda lib, F, x: x.min(dim=0, keepdim=True).values,
    "max(other)": lambda lib, F, x: x.max(x * 0.5),
    "sum(dim=1, keepdim=True)": lambda lib, F, x: x.sum(dim=1, keepdim=True),
    "mean(1)": lambda lib, F, x: x.mean(1),
    "logsumexp(1)": lambda lib, F, x: x.logsumexp(1),
    "softmax(1)": lambda lib, F, x: x.softmax(1),
    "log_softmax(0)": lambda lib, F, x: x.log_softmax(0),
    "norm()": lambda lib, F, x: x.norm(),
    "norm(p=1, dim=1)": lambda lib, F, x: x.norm(p=1, dim=1),
    "cumsum(1)": lambda lib, F, x: x.cumsum(1),
    "flip(0)": lambda lib, F, x: x.flip(0),
    "roll(1, 1)": lambda lib, F, x: x.roll(1, 1),
    "repeat(2, 1)": lambda lib, F, x: x.repeat(2, 1),
    "chunk(3, 1)[2]": lambda lib, F, x: x.chunk(3, 1)[2],
    "split(1, 0)[1]": lambda lib, F, x: x.split(1, 0)[1],
    "split([1, 2], 1)[1]": lambda lib, F, x: x.split([1, 2], 1)[1],
    "masked_fill(x > 0, 0.5)": lambda lib, F, x: x.masked_fill(x > 0, 0.5),
    "view_as": lambda lib, F, x: x.reshape(3, 2).view_as(x),
    "expand_as": lambda lib, F, x: x[:1].expand_as(x),
    "clone": lambda lib, F, x: x.clone(),
    "clamp(-0.5, 0.6)": lambda lib, F, x: x.clamp(-0.5, 0.6),
    "cat(dim=1)": lambda lib, F, x: lib.cat([x, x * 2], dim=1),
    "stack(dim=1)": lambda lib, F, x: lib.stack([x, x * 2], dim=1),
    "where": lambda lib, F, x: lib.where(x > 0, x, x * 2),
    "lib.var(x, 1)": lambda lib, F, x: lib.var(x, 1),
    "lib.max(x, 0).values": lambda lib, F, x: lib.max(x, 0).values,
    "lib.transpose(x, 0, 1)": lambda lib, F, x: lib.transpose(x, 0, 1),
    "F.silu": lambda lib, F, x: F.silu(x),
    "F.mish": lambda lib, F, x: F.mish(x),
    "F.logsigmoid": lambda lib, F, x: F.logsigmoid(x),
    "F.softplus": lambda lib, F, x: F.softplus(x),
    "F.gelu": lambda lib, F, x: F.gelu(x),
    "F.gelu(tanh)": lambda lib, F, x: F.gelu(x, approximate="tanh"),
    "F.elu": lambda lib, F, x: F.elu(x, 0.7),
    "F.leaky_relu": lambda lib, F, x: F.leaky_relu(x, 0.1),
    "F.normalize(dim=1)": lambda lib, F, x: F.normalize(x, dim=1),
    "F.normalize(p=1, dim=0)": lambda lib, F, x: F.normalize(x, p=1, dim=0),
    "F.pad((1, 2, 0, 1))": lambda lib, F, x: F.pad(x, (1, 2, 0, 1), value=0.25),
    "F.pad((-1, 0))": lambda lib, F, x: F.pad(x, (-1, 0)),
    "F.mse_loss": lambda lib, F, x: F.mse_loss(x, x.detach() * 0.5),
    "F.cross_entropy": lambda lib, F, x: F.cross_entropy(x, lib.tensor([2, 0])),
    "F.cross_entropy(label_smoothing)": lambda lib, F, x: F.cross_entropy(
        x, lib.tensor([1, 0]), label_smoothing=0.2),
    "F.binary_cross_entropy_with_logits": lambda lib, F, x: F.binary_cross_entropy_with_logits(
        x, (x.detach() > 0).double()),
    "F.one_hot": lambda lib, F, x: F.one_hot(lib.tensor([0, 2, 1])),
    "size(1), dim(), numel()": lambda lib, F, x: (x.size(1), x.dim(), x.numel()),
    "size()": lambda lib, F, x: tuple(x.size()),
    "allclose, equal": lambda lib, F, x: (x.allclose(x + 1e-12), x.equal(x.clone())),
    "einsum('ij,kj->ik')": lambda lib, F, x: lib.einsum("ij,kj->ik", x, x * 2),
    "einsum('ij->j')": lambda lib, F, x: lib.einsum("ij->j", x),
    "einsum('...j,j', list)": lambda lib, F, x: lib.einsum(
        "...j,j", [x, lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)]),
    "einsum('ij,ij,ij')": lambda lib, F, x: lib.einsum("ij,ij,ij", x, x, x),
    "scatter_add_": lambda lib, F, x: (x * 1).scatter_add_(
        1, lib.tensor([[0, 0, 1], [2, 2, 2]]), x * 3),
    "masked_fill_": lambda lib, F, x: (x * 1).masked_fill_(x > 0, 0.5),
}


def _as_numpy(value):
    if isinstance(value, ag.Tensor):
        return value.numpy()
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(value)


def _run(lib, F, idiom):
    x = lib.tensor(VALUES, dtype=lib.float64, requires_grad=True)
    out = idiom(lib, F, x)
    grad = None
    if isinstance(out, (ag.Tensor, torch.Tensor)) and out.requires_grad:
        weights = np.linspace(0.5, 1.5, int(np.prod(tuple(out.shape)))).reshape(tuple(out.shape))
        (out * lib.tensor(weights, dtype=lib.float64)).sum().backward()
        grad = _as_numpy(x.grad)
    return _as_numpy(out), grad


@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_autograd_lite_agrees_with_pytorch(name):
    ours, our_grad = _run(ag, ag.nn.functional, IDIOMS[name])
    theirs, their_grad = _run(torch, torch.nn.functional, IDIOMS[name])
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} vs torch's {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, err_msg=name)
    assert (our_grad is None) == (their_grad is None), f"{name}: one side has no gradient"
    if our_grad is not None:
        np.testing.assert_allclose(our_grad, their_grad, rtol=1e-10, atol=1e-12, err_msg=name)
