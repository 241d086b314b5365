"""Hypothesis strategies for testing ops and models: shapes, arrays, tensors, op arguments.

>>> from hypothesis import given
>>> from autograd_lite.testing import strategies as ags
>>> @given(ags.tensors(domain="positive"))
... def test_log_gradient(x):
...     assert gradcheck(ag.log, x)

``op_arguments(op)`` draws valid arguments for any registered primitive or composite from the
hints in its declaration (``kind``, ``domain``, a composite's ``draw``); the registry-wide
gradient test is built on it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .._tensor import Tensor

if TYPE_CHECKING:
    from ..ops.registry import Composite, Op

# ---- values ----------------------------------------------------------------------------------

BOUND = 2.0
"""Elements are drawn from [-BOUND, BOUND]: large enough to matter, small enough that exp,
pow and friends stay well conditioned for finite differences."""


def elements(domain: str = "real", dtype: npt.DTypeLike = np.float64) -> st.SearchStrategy[Any]:
    """Element values for a declared input domain.

    "real": [-2, 2]; "positive": [0.1, 2]; "probability": [0.05, 0.95]; "nonzero": +-[0.1, 2];
    "ongrid": multiples of 0.1;
    "offgrid": multiples of 0.1 plus 0.05 (so never at a kink placed on the grid, and never equal
    to an "ongrid" value); "unique": "ongrid" values, all distinct in one array; "bool".
    """
    if domain == "bool":
        return st.booleans()
    width: Literal[32, 64] = 32 if np.dtype(dtype) == np.float32 else 64
    if domain == "real":
        return st.floats(-BOUND, BOUND, width=width)
    if domain == "positive":
        return st.floats(0.1, BOUND, width=width)
    if domain == "probability":
        return st.floats(0.05, 0.95, width=width)
    if domain == "nonzero":
        return st.floats(0.1, BOUND, width=width) | st.floats(-BOUND, -0.1, width=width)
    if domain in ("ongrid", "unique"):
        return st.integers(-20, 20).map(lambda k: k / 10)
    if domain == "offgrid":
        return st.integers(-20, 19).map(lambda k: k / 10 + 0.05)
    raise ValueError(f"unknown domain {domain!r}; expected one of real, positive, probability, "
                     "nonzero, ongrid, offgrid, unique, bool")


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 3) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes, 0-d and size-1 dimensions included."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def arrays(shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
           dtype: npt.DTypeLike = np.float64,
           domain: str = "real") -> st.SearchStrategy[np.ndarray]:
    """numpy arrays of ``shape`` (drawn when None) with elements from ``domain``."""
    dtype = np.bool_ if domain == "bool" else dtype
    return hnp.arrays(dtype, shapes() if shape is None else shape,
                      elements=elements(domain, dtype), unique=domain == "unique")


def tensors(shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
            dtype: npt.DTypeLike = np.float64, domain: str = "real",
            requires_grad: bool = True) -> st.SearchStrategy[Tensor]:
    """Tensors of ``shape`` (drawn when None); floating ones require grad by default."""
    return arrays(shape, dtype, domain).map(
        lambda a: Tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"))


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3,
                         max_side: int = 3) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """Tuples of shapes that broadcast together (size-1 and missing dims included)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, max_side=max_side).map(
        lambda r: r.input_shapes)


# ---- arguments for registered ops, by the op's declared kind ----------------------------------


def _domains(op):
    return op.domain if isinstance(op.domain, tuple) else (op.domain,) * max(op.nin, 1)


def op_arguments(op: Op | Composite) -> st.SearchStrategy[tuple[list[Any], dict[str, Any]]]:
    """Draw ``(args, params)`` for a registered primitive or composite from its declared kind,
    each parameter in a composite's ``draw`` table sampled from the values listed there."""
    try:
        build = _KINDS[op.kind]
    except KeyError:
        raise ValueError(f"op '{op.name}' declares kind={op.kind!r}, which has no argument "
                         f"strategy; known kinds: {sorted(_KINDS)}") from None
    table = st.fixed_dictionaries({name: st.sampled_from(values)
                                   for name, values in getattr(op, "draw", {}).items()})
    return st.tuples(build(op), table).map(lambda both: (both[0][0], {**both[0][1], **both[1]}))


def _split(op, values, params):
    """Named values as the op's inputs (in its order) and, for the names it takes as
    parameters instead, added to ``params``: one strategy serves a primitive taking
    ``target`` as a parameter and a composite taking it as an input."""
    return [values.pop(name) for name in op.input_names], {**params, **values}


_REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


@st.composite
def _elementwise(draw, op):
    domains = _domains(op)
    shapes_ = draw(broadcastable_shapes(len(domains)))
    return [draw(arrays(s, domain=d)) for s, d in zip(shapes_, domains)], {}


@st.composite
def _axis(draw, ndim, allow_none=True, allow_tuple=True):
    options: list[st.SearchStrategy[Any]] = [st.integers(-ndim, ndim - 1)] if ndim else []
    if allow_tuple:
        options.append(hnp.valid_tuple_axes(ndim))
    if allow_none:
        options.append(st.none())
    return draw(st.one_of(options))


@st.composite
def _reduce(draw, op, one_axis=False):
    """x, axis and keepdims (and ddof where the op takes it); ``one_axis``: an int or None, as
    argmax takes, never a tuple."""
    x = draw(arrays(domain=_domains(op)[0]))
    axis = draw(_axis(x.ndim, allow_tuple=not one_axis))
    params = {"axis": axis, "keepdims": draw(st.booleans())}
    if "ddof" in op.param_names:
        count = x.size // max(np.sum(x, axis=axis).size, 1)
        params["ddof"] = draw(st.integers(0, 1 if count > 1 else 0))
    return [x], params


@st.composite
def _softmax(draw, op):
    """x and one axis, passed by the op's own name for it (``axis``, or ``dim`` in nn)."""
    x = draw(arrays(shapes(min_dims=1), domain=_domains(op)[0]))
    name = next((n for n in ("dim", "axis") if n in op.param_names), op.param_names[0])
    return [x], {name: draw(_axis(x.ndim, allow_none=False, allow_tuple=False))}


@st.composite
def _pad(draw, op):
    """x and (left, right) sizes for some of its last dims, negative ones cropping."""
    x = draw(arrays(shapes(min_dims=1)))
    sizes = []
    for n in x.shape[::-1][:draw(st.integers(1, x.ndim))]:
        left = draw(st.integers(-n, 2))
        sizes += [left, draw(st.integers(-(n + min(left, 0)), 2))]
    return [x], {"pad": tuple(sizes)}


@st.composite
def _matmul(draw, op):
    pair = draw(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=3,
                                                  max_side=3))
    return [draw(arrays(s)) for s in pair.input_shapes], {}


@st.composite
def _linear(draw, op):
    """x of shape (*batch, in), weight (out, in), bias (out,); a bias the op takes as an
    optional parameter may be None."""
    n_in, n_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    bias = draw(arrays((n_out,)))
    if "bias" in op.param_names:
        bias = draw(st.sampled_from([bias, None]))
    return _split(op, {"x": draw(arrays(batch + (n_in,))), "weight": draw(arrays((n_out, n_in))),
                       "bias": bias}, {})


@st.composite
def _reshape(draw, op):
    x = draw(arrays())
    dims = list(draw(st.permutations(x.shape)))
    for _ in range(draw(st.integers(0, 2))):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return [x], {"shape": tuple(dims)}


@st.composite
def _transpose(draw, op):
    """Mostly 3 or 4 axes: a rule applying the permutation instead of its inverse is only wrong
    for a permutation that is not its own inverse, and those need 3 axes or more."""
    x = draw(arrays(shapes(min_dims=3, max_dims=4) | shapes()))
    axes = draw(st.permutations(range(x.ndim)).map(tuple) | st.none())
    return [x], {"axes": axes}


@st.composite
def _swapaxes(draw, op):
    x = draw(arrays(shapes(min_dims=1)))
    axis = st.integers(-x.ndim, x.ndim - 1)
    return [x], {"axis1": draw(axis), "axis2": draw(axis)}


@st.composite
def _flatten(draw, op):
    """x and start_dim <= end_dim, each maybe counted from the end."""
    x = draw(arrays())
    if not x.ndim:
        return [x], {}
    start = draw(st.integers(0, x.ndim - 1))
    end = draw(st.integers(start, x.ndim - 1))
    return [x], {"start_dim": start - x.ndim * draw(st.booleans()),
                 "end_dim": end - x.ndim * draw(st.booleans())}


@st.composite
def _broadcast_to(draw, op):
    x = draw(arrays())
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    dims = [draw(st.integers(1, 3)) if n == 1 else n for n in x.shape]
    return [x], {"shape": tuple(lead + dims)}


@st.composite
def _squeeze(draw, op):
    x = draw(arrays())
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    axis = draw(st.none() | st.lists(st.sampled_from(ones), unique=True).map(tuple)) if ones \
        else None
    return [x], {"axis": axis}


@st.composite
def _unsqueeze(draw, op):
    x = draw(arrays())
    return [x], {"axis": draw(st.integers(-x.ndim - 1, x.ndim))}


@st.composite
def _index(draw, shape):
    """basic slices (with Ellipsis and None), integer arrays (with repeats) or a boolean mask."""
    options: list[st.SearchStrategy[Any]] = [
        hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True)]
    if shape:
        options.append(hnp.integer_array_indices(shape))
        options.append(hnp.arrays(np.bool_, shape))
    return draw(st.one_of(options))


@st.composite
def _getitem(draw, op):
    x = draw(arrays())
    return [x], {"index": draw(_index(x.shape))}


@st.composite
def _add_at(draw, op):
    shape = draw(shapes())
    index = draw(_index(shape))
    src = draw(arrays(np.zeros(shape)[index].shape))
    return [src], {"index": index, "shape": shape}


@st.composite
def _setitem(draw, op):
    """Distinct written positions (basic slices or a mask), a value broadcast into them."""
    x = draw(arrays())
    options: list[st.SearchStrategy[Any]] = [
        hnp.basic_indices(x.shape, allow_newaxis=False, allow_ellipsis=True)]
    if x.shape:
        options.append(hnp.arrays(np.bool_, x.shape))
    index = draw(st.one_of(options))
    target = np.zeros(x.shape)[index].shape
    shape = tuple(draw(st.sampled_from([n, 1])) for n in target)
    return [x, draw(arrays(shape[draw(st.integers(0, len(shape))):]))], {"index": index}


@st.composite
def _gather(draw, op, longer_src=False):
    """input, a dim, an int64 index of input's ndim (no longer than input off ``dim``, any
    length along it, repeats included) and, where the op takes one, a src of index's shape
    (``longer_src``: maybe longer in some dims, as scatter_add allows)."""
    x = draw(arrays(domain=_domains(op)[0]))
    d = draw(st.integers(-x.ndim, x.ndim - 1)) if x.ndim else draw(st.sampled_from([0, -1]))
    shape = tuple(draw(st.integers(1, 3)) if k == d % x.ndim else draw(st.integers(1, n))
                  for k, n in enumerate(x.shape))
    high = x.shape[d] - 1 if x.ndim else 0
    values = {"input": x, "dim": d,
              "index": draw(hnp.arrays(np.int64, shape, elements=st.integers(0, high)))}
    if "src" in op.input_names:
        more = [draw(st.integers(0, 1)) if longer_src else 0 for _ in shape]
        values["src"] = draw(arrays(tuple(n + m for n, m in zip(shape, more))))
    return _split(op, values, {})


@st.composite
def _index_select(draw, op):
    """input, a dim and a 1-D (or 0-d) int64 index into it, repeats included."""
    x = draw(arrays(domain=_domains(op)[0]))
    d = draw(st.integers(-x.ndim, x.ndim - 1)) if x.ndim else 0
    shape = draw(st.sampled_from([(), (draw(st.integers(1, 3)),)])) if x.ndim else (1,)
    high = x.shape[d] - 1 if x.ndim else 0
    index = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, high)))
    return [x], {"dim": d, "index": index}


@st.composite
def _masked_select(draw, op):
    """input and a bool mask of a shape broadcasting with it."""
    shape, mask_shape = draw(broadcastable_shapes(2))
    x = draw(arrays(shape, domain=_domains(op)[0]))
    return [x, draw(arrays(mask_shape, domain="bool"))], {}


@st.composite
def _topk(draw, op):
    """input (1-d or more), a dim and a k from 1 to its length."""
    x = draw(arrays(shapes(min_dims=1), domain=_domains(op)[0]))
    d = draw(st.integers(-x.ndim, x.ndim - 1))
    return [x], {"k": draw(st.integers(1, x.shape[d])), "dim": d}


@st.composite
def _einsum(draw, op):
    """Operands with subscripts from "ijk" (a letter may repeat in one operand: a diagonal) and
    an output naming some of them: the primitives take one or two operands and the explicit
    equation; the public einsum (``nin=0``) takes the equation first, then one to three
    operands, and may leave the output implicit or batch over "..."."""
    public = op.nin == 0
    sizes = {c: draw(st.integers(1, 3)) for c in "ijk"}
    count = draw(st.integers(1, 3)) if public else op.nin
    terms = [draw(st.text("ijk", max_size=3)) for _ in range(count)]
    used = sorted(set("".join(terms)))
    out = "".join(draw(st.permutations(used))[:draw(st.integers(0, len(used)))])
    batch = draw(shapes(max_dims=2)) if public and draw(st.booleans()) else None
    operands = [draw(arrays(((*batch,) if batch else ()) + tuple(sizes[c] for c in t)))
                for t in terms]
    if batch is not None:
        terms, out = ["..." + t for t in terms], "..." + out
    implicit = public and draw(st.booleans())
    equation = ",".join(terms) + ("" if implicit else "->" + out)
    if public:
        return [equation, *operands], {}
    return operands, {"equation": equation}


@st.composite
def _concatenate(draw, op):
    base = list(draw(shapes(min_dims=1)))
    axis = draw(st.integers(-len(base), len(base) - 1))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        base[axis] = draw(st.integers(1, 3))
        parts.append(draw(arrays(tuple(base))))
    return parts, {"axis": axis}


@st.composite
def _stack(draw, op):
    shape = draw(shapes())
    parts = [draw(arrays(shape)) for _ in range(draw(st.integers(1, 3)))]
    return parts, {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}


@st.composite
def _clip(draw, op):
    x = draw(arrays(domain="offgrid"))
    lo = draw(st.none() | elements("ongrid"))
    hi = draw(st.none() | elements("ongrid"))
    assume(lo is not None or hi is not None)
    if lo is not None and hi is not None:
        assume(lo != hi)  # else x = min = max is a kink on both sides
        lo, hi = sorted((lo, hi))
    return [x], {"min": lo, "max": hi}


@st.composite
def _where(draw, op):
    shapes_ = draw(broadcastable_shapes(3))
    return [draw(arrays(s, domain=d)) for s, d in zip(shapes_, _domains(op))], {}


@st.composite
def _class_logits(draw, op, soft=False):
    """Logits (N, C), integer targets (N,), a reduction, maybe class weights and an ignored
    label. ``soft``: logits may be (N, C, d) and targets class probabilities of their shape."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    shape = (n, c) + tuple(draw(st.lists(st.integers(1, 3), max_size=1 if soft else 0)))
    params = {"reduction": draw(_REDUCTIONS)}
    if draw(st.booleans()):
        params["weight"] = draw(arrays((c,), domain="positive"))
    if soft and draw(st.booleans()):
        target = draw(arrays(shape, domain="probability"))
    else:
        target = draw(hnp.arrays(np.int64, (n,) + shape[2:], elements=st.integers(0, c - 1)))
        if draw(st.booleans()):
            params["ignore_index"] = draw(st.sampled_from(sorted(set(target.ravel().tolist()))))
            assume(params["reduction"] != "mean" or (target != params["ignore_index"]).any())
    return _split(op, {"input": draw(arrays(shape)), "target": target}, params)


@st.composite
def _loss(draw, op):
    """Input and target of one shape (from the op's two domains), a reduction, and elementwise
    ``weight`` / ``pos_weight`` broadcasting against them (or None) where the op takes them."""
    shape = draw(shapes())
    params = {"reduction": draw(_REDUCTIONS)}
    for name in ("weight", "pos_weight"):
        if name in op.param_names:
            lead = draw(st.integers(0, len(shape)))
            params[name] = draw(st.none() | arrays(shape[lead:], domain="positive"))
    return [draw(arrays(shape, domain=d)) for d in _domains(op)], params


@st.composite
def _batch_norm(draw, op):
    """x (N, C, *L) with N >= 2, then per-channel running mean and variance, weight and bias,
    each from the op's domains (distinct values in x keep a batch's variance away from 0)."""
    shape = (draw(st.integers(2, 3)), draw(st.integers(1, 3)))
    shape += tuple(draw(st.lists(st.integers(1, 3), max_size=1)))
    shapes_ = [shape] + [shape[1:2]] * (op.nin - 1)
    return [draw(arrays(s, domain=d)) for s, d in zip(shapes_, _domains(op))], {}


class _Replay(np.random.Generator):
    """A numpy Generator whose ``random`` gives the same numbers on every call: finite
    differences then see one fixed draw (one dropout mask), not a new one per evaluation."""

    def __init__(self, seed):
        super().__init__(np.random.PCG64(seed))
        self.seed = seed

    def random(self, size=None, dtype=np.float64, out=None):
        return np.random.default_rng(self.seed).random(size, dtype, out)

    def __repr__(self):
        return f"_Replay({self.seed})"


@st.composite
def _random(draw, op):
    """An op that draws random numbers: its input, and a ``generator`` that replays them."""
    x = draw(arrays(domain=_domains(op)[0]))
    return [x], {"generator": _Replay(draw(st.integers(0, 2**32 - 1)))}


@st.composite
def _random_channels(draw, op):
    """An image batch (N, C, H, W) or one image (C, H, W), and a ``generator`` that replays."""
    x = draw(arrays(shapes(min_dims=3, max_dims=4), domain=_domains(op)[0]))
    return [x], {"generator": _Replay(draw(st.integers(0, 2**32 - 1)))}


def _spelled(values):
    """A tuple of ints as it is, or as one int when they are all equal (PyTorch takes both)."""
    return st.sampled_from([values, values[0]] if len(set(values)) == 1 else [values])


@st.composite
def _conv_geometry(draw, dims, symmetric):
    """A valid convolution: (input shape, weight shape, stride, padding as (before, after) pairs,
    dilation, groups); batch <= 2, channels <= 3, spatial sides <= 6."""
    groups = draw(st.integers(1, 3))
    channels, out_channels = (groups * draw(st.integers(1, 3 // groups)) for _ in range(2))
    kernel, stride, dilation, padding, spatial = [], [], [], [], []
    for _ in range(dims):
        k, d = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        lo = draw(st.integers(0, 2))
        hi = lo if symmetric else draw(st.integers(0, 2))
        extent = d * (k - 1) + 1
        spatial.append(draw(st.integers(max(1, extent - lo - hi), 6)))
        kernel.append(k)
        dilation.append(d)
        padding.append((lo, hi))
        stride.append(draw(st.integers(1, 3)))
    return ((draw(st.integers(1, 2)), channels, *spatial),
            (out_channels, channels // groups, *kernel),
            tuple(stride), tuple(padding), tuple(dilation), groups)


@st.composite
def _conv(draw, op, dims=None):
    """conv1d / conv2d (``dims``): input (maybe unbatched), weight, bias, and PyTorch's stride,
    padding (an int, a tuple, 'valid' or 'same') and dilation, each an int or a tuple. The
    convolution primitives (``dims`` None: 1 or 2): their inputs of one geometry, padding as
    (before, after) pairs, and the input or weight shape where the op takes it."""
    spatial = dims or draw(st.integers(1, 2))
    x_shape, w_shape, stride, padding, dilation, groups = draw(
        _conv_geometry(spatial, symmetric=dims is not None))
    if dims is None:
        padded = [n + lo + hi for n, (lo, hi) in zip(x_shape[2:], padding)]
        out = [(p - d * (k - 1) - 1) // s + 1
               for p, d, k, s in zip(padded, dilation, w_shape[2:], stride)]
        values = {"input": draw(arrays(x_shape)), "weight": draw(arrays(w_shape)),
                  "grad": draw(arrays((x_shape[0], w_shape[0], *out))),
                  "input_shape": x_shape, "weight_shape": w_shape}
        values = {k: v for k, v in values.items() if k in op.input_names + op.param_names}
        return _split(op, values, {"stride": stride, "padding": padding, "dilation": dilation,
                                   "groups": groups})
    if x_shape[0] == 1 and draw(st.booleans()):
        x_shape = x_shape[1:]  # unbatched
    pads = tuple(lo for lo, _ in padding)
    choices = [pads, pads[0]] if len(set(pads)) == 1 else [pads]
    if not any(pads):
        choices.append("valid")
    if all(s == 1 for s in stride):
        choices.append("same")
    params = {"stride": draw(_spelled(stride)), "padding": draw(st.sampled_from(choices)),
              "dilation": draw(_spelled(dilation)), "groups": groups}
    return [draw(arrays(x_shape)), draw(arrays(w_shape)), draw(arrays(w_shape[:1]))], params


@st.composite
def _pool(draw, op, dims=None):
    """max_pool1d / avg_pool1d ... (``dims``): input (N, C, *spatial) or (C, *spatial),
    kernel_size, stride (maybe None) and padding (at most half the kernel), each an int or a
    tuple; the max_pool primitive (``dims`` None): 1 or 2 pooled dims after 0 to 2 others, and
    tuples. Values distinct where the op declares "unique" (ties in a window are a kink)."""
    spatial = dims or draw(st.integers(1, 2))
    lead = [draw(st.integers(1, 2)) for _ in range(draw(st.integers(1, 2)) if dims else
                                                   draw(st.integers(0, 2)))]
    kernel, stride, padding, sides = [], [], [], []
    for _ in range(spatial):
        k = draw(st.integers(1, 3))
        p = draw(st.integers(0, k // 2))
        kernel.append(k)
        padding.append(p)
        stride.append(draw(st.integers(1, 3)))
        sides.append(draw(st.integers(max(1, k - 2 * p), 6)))
    shape = tuple(lead + sides)
    if _domains(op)[0] == "unique":  # wider than "unique" elements: pools see up to 72 values
        x = draw(hnp.arrays(np.float64, shape, unique=True,
                            elements=st.integers(-2000, 2000).map(lambda k: k / 1000)))
    else:
        x = draw(arrays(shape))
    kernel_t, stride_t, padding_t = tuple(kernel), tuple(stride), tuple(padding)
    if dims is None:
        return [x], {"kernel_size": kernel_t, "stride": stride_t, "padding": padding_t}

    spelled = None if stride_t == kernel_t and draw(st.booleans()) else draw(_spelled(stride_t))
    return [x], {"kernel_size": draw(_spelled(kernel_t)), "stride": spelled,
                 "padding": draw(_spelled(padding_t))}


@st.composite
def _adaptive_pool(draw, op):
    """input (N, C, H, W) or (C, H, W), and an output size (an int or a pair, maybe with None)
    that need not divide it, larger included."""
    x = draw(arrays(tuple(draw(st.lists(st.integers(1, 2), min_size=1, max_size=2)))
                    + (draw(st.integers(1, 5)), draw(st.integers(1, 5)))))
    size = st.integers(1, 4)
    return [x], {"output_size": draw(size | st.tuples(size | st.none(), size | st.none()))}


@st.composite
def _embedding(draw, op):
    """int64 indices of any shape (repeats included) into a weight (num_embeddings, dim)."""
    n, dim = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    index = draw(hnp.arrays(np.int64, shapes(), elements=st.integers(0, n - 1)))
    return [index, draw(arrays((n, dim)))], {}


@st.composite
def _astype(draw, op):
    return [draw(arrays())], {"dtype": np.float64}


@st.composite
def _lstm_cell(draw, op):
    """x (*batch, in), a state (*batch, 2 or 6 hidden), w_ih (4 hidden, in), w_hh (4 hidden,
    hidden), b_ih and b_hh (4 hidden,): a batch of at most one dimension, small sides."""
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=1)))
    n_in, hidden = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    width = draw(st.sampled_from([2, 6])) * hidden
    shapes_ = [batch + (n_in,), batch + (width,), (4 * hidden, n_in), (4 * hidden, hidden),
               (4 * hidden,), (4 * hidden,)]
    return [draw(arrays(s)) for s in shapes_], {}


@st.composite
def _lstm_update(draw, op):
    """Gate pre-activations (*batch, 4 hidden) and a state (*batch, 2 or 6 hidden)."""
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=1)))
    hidden = draw(st.integers(1, 2))
    width = draw(st.sampled_from([2, 6])) * hidden
    return [draw(arrays(batch + (4 * hidden,))), draw(arrays(batch + (width,)))], {}


_KINDS: dict[str, Callable[..., st.SearchStrategy[Any]]] = {
    "elementwise": _elementwise, "compare": _elementwise, "reduce": _reduce,
    "argreduce": functools.partial(_reduce, one_axis=True),
    "softmax": _softmax, "matmul": _matmul, "linear": _linear, "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to, "squeeze": _squeeze, "unsqueeze": _unsqueeze,
    "getitem": _getitem, "add_at": _add_at, "setitem": _setitem,
    "concatenate": _concatenate,
    "stack": _stack, "clip": _clip, "where": _where, "astype": _astype,
    "class_logits": _class_logits, "class_targets": functools.partial(_class_logits, soft=True),
    "flatten": _flatten, "swapaxes": _swapaxes, "loss": _loss, "batch_norm": _batch_norm,
    "random": _random, "random_channels": _random_channels, "pad": _pad,
    "gather": _gather, "scatter_add": functools.partial(_gather, longer_src=True),
    "index_select": _index_select, "masked_select": _masked_select, "topk": _topk,
    "nonzero": _elementwise, "einsum": _einsum,
    "conv": _conv, "conv1d": functools.partial(_conv, dims=1),
    "conv2d": functools.partial(_conv, dims=2), "max_pool": _pool,
    "pool1d": functools.partial(_pool, dims=1), "pool2d": functools.partial(_pool, dims=2),
    "adaptive_pool2d": _adaptive_pool, "embedding": _embedding,
    "lstm_cell": _lstm_cell, "lstm_gates": _lstm_cell, "lstm_update": _lstm_update,
}
