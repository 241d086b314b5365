"""Matrix product with numpy's semantics: 1-D vectors, 2-D matrices, broadcast batches."""

import numpy as np

from .registry import primitive

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
