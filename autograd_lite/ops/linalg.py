"""Matrix products with numpy's semantics (1-D vectors, 2-D matrices, broadcast batches),
PyTorch's linear, and einsum."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .registry import composite, primitive

if TYPE_CHECKING:
    from .._tensor import Tensor

# Both rules lift 1-D operands to matrices (a row for x, a column for y), take the matrix
# gradient, and drop the added axis again; the engine sums over broadcast batch dimensions.


def _matmul_vjp_x(g, out, x, y):
    if y.ndim == 1:
        g, y = g[..., None], y[:, None]
    if x.ndim == 1:
        return (g[..., None, :] @ y.swapaxes(-1, -2))[..., 0, :]
    return g @ y.swapaxes(-1, -2)


def _matmul_vjp_y(g, out, x, y):
    if y.ndim == 1:
        g = g[..., None]
    if x.ndim == 1:
        g, x = g[..., None, :], x[None, :]
    gy = x.swapaxes(-1, -2) @ g
    return gy[..., 0] if y.ndim == 1 else gy


@primitive(_matmul_vjp_x, _matmul_vjp_y, saves=("y", "x"), kind="matmul",
           derivative=("g y^T", "x^T g"), numpy=np.matmul)
def matmul(x, y):
    """Matrix product x @ y, as numpy.matmul (vectors, matrices and stacks of matrices)."""
    return np.matmul(x, y)


@matmul.writes_into()
def _matmul_into(x, y, *, into):
    return np.matmul(x, y, out=into)


@matmul.writes_into(0)
def _matmul_grad_x_into(g, out, x, y, *, into):
    if x.ndim == 1 or y.ndim == 1:  # the lifted axes: a view of a product, not worth keeping
        into[...] = _matmul_vjp_x(g, out, x, y)
        return into
    return np.matmul(g, y.swapaxes(-1, -2), out=into)


@matmul.writes_into(1)
def _matmul_grad_y_into(g, out, x, y, *, into):
    if x.ndim == 1 or y.ndim == 1:
        into[...] = _matmul_vjp_y(g, out, x, y)
        return into
    return np.matmul(x.swapaxes(-1, -2), g, out=into)


# x @ weight.T + bias in one op: the weight's gradient comes out contiguous, in its own layout,
# and no transpose or add node is recorded (the layer every MLP is made of).
@primitive(lambda g, out, x, weight, bias: g @ weight,
           lambda g, out, x, weight, bias:
           g.reshape(-1, g.shape[-1]).T @ x.reshape(-1, x.shape[-1]),
           lambda g, out, x, weight, bias: g,
           saves=("weight", "x", ""), kind="linear", derivative=("weight", "g^T x", "1"))
def linear(x, weight, bias):
    """x @ weight.T + bias, with weight of shape (out_features, in_features) as in PyTorch."""
    out = np.matmul(x, weight.T)
    if isinstance(bias, np.ndarray) and bias.dtype == out.dtype and bias.shape == out.shape[-1:]:
        out += bias  # the product is a new array: add in place, no second (batch, out) array
        return out
    return out + bias


@linear.writes_into()
def _linear_into(x, weight, bias, *, into):
    if into.shape != x.shape[:-1] + weight.shape[:-1] or into.dtype != np.result_type(x, weight):
        into[...] = linear.forward(x, weight, bias)  # a bias that broadcasts or widens
        return into
    return np.add(np.matmul(x, weight.T, out=into), bias, out=into)


@linear.writes_into(0)
def _linear_grad_x_into(g, out, x, weight, bias, *, into):
    return np.matmul(g, weight, out=into)


@linear.writes_into(1)
def _linear_grad_weight_into(g, out, x, weight, bias, *, into):
    return np.matmul(g.reshape(-1, g.shape[-1]).T, x.reshape(-1, x.shape[-1]), out=into)


# ---- einsum -----------------------------------------------------------------------------------
# Two primitives, of one and of two operands, take an explicit equation without "..."; the
# public einsum spells the equation out and contracts its operands pairwise, left to right.
# Every gradient is itself an einsum: of g with the other operand, summing what the output and
# the other operand do not carry, times ones for the letters only this operand has and an
# identity for each repeated letter (the diagonal "ii" it read).


def _einsum_vjp(g, out_subs, others, target_subs, shape):
    """The gradient for an operand with subscripts ``target_subs`` and ``shape``, given ``g``
    (subscripts ``out_subs``) and the other operands as (array, subscripts) pairs."""
    operands, terms = [g, *(a for a, _ in others)], [out_subs, *(s for _, s in others)]
    known = set("".join(terms))
    free = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
            if c not in known and c not in target_subs)
    result, seen = [], {}
    for c, n in zip(target_subs, shape):
        if c in seen:  # a repeated letter: the identity puts g on the diagonal
            fresh = next(free)
            operands.append(np.eye(n, dtype=g.dtype))
            terms.append(c + fresh)
            result.append(fresh)
            continue
        seen[c] = n
        if c not in known:  # summed over by this operand alone: every entry gets g
            operands.append(np.ones(n, dtype=g.dtype))
            terms.append(c)
        result.append(c)
    return np.einsum(",".join(terms) + "->" + "".join(result), *operands)


def _sides(equation):
    inputs, out = equation.split("->")
    return inputs.split(","), out


@primitive(lambda g, out, x, equation: _einsum_vjp(g, _sides(equation)[1], (),
                                                   _sides(equation)[0][0], x.shape),
           saves="", kind="einsum", nin=1, derivative="g (summed, or spread over the diagonal)",
           name="einsum1", public=False)
def _einsum1(x, equation):
    """One operand's einsum with an explicit output and no ellipsis ("ii->i", "ij->ji")."""
    return np.einsum(equation, x)


def _einsum2_vjp(g, out, x, y, equation, argnum):
    (xs, ys), out_subs = _sides(equation)
    if argnum == 0:
        return _einsum_vjp(g, out_subs, ((y, ys),), xs, x.shape)
    return _einsum_vjp(g, out_subs, ((x, xs),), ys, y.shape)


@primitive(lambda g, out, x, y, equation: _einsum2_vjp(g, out, x, y, equation, 0),
           lambda g, out, x, y, equation: _einsum2_vjp(g, out, x, y, equation, 1),
           saves=("y", "x"), kind="einsum", nin=2, derivative=("einsum(g, y)", "einsum(g, x)"),
           name="einsum2", public=False)
def _einsum2(x, y, equation):
    """Two operands' einsum with an explicit output and no ellipsis ("ij,jk->ik")."""
    return np.einsum(equation, x, y, optimize=True)


_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _explicit(equation, shapes):
    """``equation`` with its output written out and each "..." replaced by letters of its
    own, checked against the operands' shapes, as (input subscripts, output subscripts)."""
    equation = equation.replace(" ", "")
    inputs, arrow, out = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operand(s), "
                         f"got {len(shapes)}")
    bad = set(equation) - _LETTERS - set(",.->")
    if bad or any(t.replace("...", "").count(".") for t in [*terms, out]):
        raise ValueError(f"einsum: subscripts are letters a-z, A-Z and '...'; got {equation!r}")
    spare = [c for c in sorted(_LETTERS) if c not in equation]
    ellipsis_dims = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes)
                         if "..." in t), default=0)
    dots = "".join(spare[:ellipsis_dims])
    explicit: list[str] = []
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if ("..." not in term and named != len(shape)) or named > len(shape):
            raise ValueError(f"einsum: operand {len(explicit)} has subscripts {term!r} for "
                             f"{named} dim(s), but shape {tuple(shape)}")
        explicit.append(term.replace("...", dots[ellipsis_dims - (len(shape) - named):]))
    if not arrow:  # implicit: the letters used once, in alphabetical order, after "..."
        letters = "".join(explicit)
        out = "..." * bool(dots) + "".join(sorted(c for c in set(inputs) - {".", ","}
                                                  if letters.count(c) == 1))
    out = out.replace("...", dots)
    unknown = set(out) - set("".join(explicit))
    if unknown or len(set(out)) != len(out):
        raise ValueError(f"einsum: the output {out!r} must name each input letter at most once "
                         f"({equation!r})")
    sizes: dict[str, int] = {}
    for term, shape in zip(explicit, shapes):
        for c, n in zip(term, shape):
            if sizes.setdefault(c, n) != n and 1 not in (n, sizes[c]):
                raise ValueError(f"einsum: subscript {c!r} has size {sizes[c]} in one place "
                                 f"and {n} in another (shapes {[tuple(s) for s in shapes]})")
            sizes[c] = max(n, sizes[c])
    return explicit, out


@composite(kind="einsum", nin=0, numpy=np.einsum)
def einsum(equation: str, *operands: Any) -> Tensor:  # Tensors, arrays, or one list of them
    """Sum of products over the subscripts ``equation`` names, as torch.einsum and
    numpy.einsum ("ij,jk->ik" is a matrix product, "ii" a trace, "...ij->...ji" a transpose).
    Operands may also come as one list.

    >>> a = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> ag.einsum("ij,j->i", a, ag.tensor([1.0, 1.0]))
    tensor([3., 7.], grad_fn=<einsum2>)
    >>> ag.einsum("ii", a)
    tensor(5., grad_fn=<einsum1>)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation comes first, as a string; got "
                        f"{type(equation).__name__}")
    shapes = [a.shape if hasattr(a, "shape") else np.shape(a) for a in operands]
    terms, out = _explicit(equation, shapes)
    if len(operands) == 1:
        return _einsum1(operands[0], equation=f"{terms[0]}->{out}")
    acc, acc_subs = operands[0], terms[0]
    for k in range(1, len(operands)):
        needed = set(out).union(*terms[k + 1:])
        subs = out if k == len(operands) - 1 else "".join(
            dict.fromkeys(c for c in acc_subs + terms[k] if c in needed))
        acc = _einsum2(acc, operands[k], equation=f"{acc_subs},{terms[k]}->{subs}")
        acc_subs = subs
    return acc
