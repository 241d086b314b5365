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


@primitive(_matmul_vjp_x, _matmul_vjp_y, kind="matmul", derivative=("g y^T", "x^T g"))
def matmul(x, y):
    """Matrix product x @ y, as numpy.matmul (vectors, matrices and stacks of matrices)."""
    return np.matmul(x, y)


__all__ = ["matmul"]
