# %% [markdown]
"""Backpropagation by hand: the lecture's chain-rule example, checked against backward().

The slide's one-neuron example (a(L-1) = 0.48, a(L) = 0.66, C0 = (a(L) - y)^2): dC0/dw(L) by
the chain-rule formula and by backward(), the graph with every value and gradient, and the
backward pass step by step (frames and an HTML page). Then the "complex example", several units
per layer, where the gradient of a unit sums over the next layer's units. Run:
    python examples/backprop_by_hand.py [--out runs/backprop_by_hand] [--seed 0] [--quick]
"""

# %% [markdown]
# # Backpropagation by hand, then by `backward()`
#
# The lecture's simple example: the last two layers of a network, one neuron each.
#
#     z(L) = w(L) a(L-1) + b(L)        a(L) = sigmoid(z(L))        C0 = (a(L) - y)^2
#
# The chain rule splits the derivative of the cost along this path:
#
#     dC0/dw(L) = dz(L)/dw(L) * da(L)/dz(L) * dC0/da(L)
#               = a(L-1)      * sigmoid'(z(L)) * 2 (a(L) - y)

# %%
import math
import time

import numpy as np
from common import parse_args

import autograd_lite as ag
from autograd_lite import viz

args = parse_args("backprop_by_hand", __doc__.splitlines()[0])
out = args.out
started = time.perf_counter()

# %% [markdown]
# ## The slide's numbers
#
# The slide shows `a(L-1) = 0.48` and `a(L) = 0.66`, but not `w(L)`, `b(L)` or `y`. We pick
# `w(L) = 1` and `b(L) = logit(0.66) - 0.48` (logit, the inverse of sigmoid:
# `logit(p) = log(p / (1 - p))`), so that `z(L) = 1 * 0.48 + b(L) = logit(0.66)` and
# `a(L) = sigmoid(z(L)) = 0.66` (to rounding). The slide's text gives no target; we take
# `y = 1`, a neuron that should fire, as in 3Blue1Brown's "Backpropagation calculus" video,
# which uses the same 0.48 and 0.66.

# %%
A_PREV, A_L, Y = 0.48, 0.66, 1.0
W_L = 1.0
B_L = math.log(A_L / (1 - A_L)) - A_PREV
print(f"slide numbers: a(L-1) = {A_PREV}, a(L) = {A_L}; chosen w(L) = {W_L}, "
      f"b(L) = logit({A_L}) - {A_PREV} = {B_L:.6f}")
print(f"target y = {Y}")

# %% [markdown]
# ## 1. By the slide's formula
#
# `sigmoid'(z) = sigmoid(z) (1 - sigmoid(z)) = a(L) (1 - a(L))`, so every factor is one of the
# slide's numbers: `0.48 * 0.66 * 0.34 * 2 (0.66 - y)`.

# %%
dz_dw = A_PREV                        # dz(L)/dw(L) = a(L-1)
da_dz = A_L * (1 - A_L)               # da(L)/dz(L) = sigmoid'(z(L)) = a(L) (1 - a(L))
dC_da = 2 * (A_L - Y)                 # dC0/da(L) = 2 (a(L) - y)
by_formula = dz_dw * da_dz * dC_da
print(f"dz/dw = {dz_dw}, da/dz = {da_dz:.4f}, dC0/da = {dC_da:.4f}")
print(f"dC0/dw by formula: {by_formula:.12f}")

# %% [markdown]
# ## 2. By `backward()`
#
# The same computation on tensors (float64, so the two agree to rounding). `w(L)` and `b(L)`
# require gradients; `a(L-1)` and `y` are inputs. `viz.backward_steps` runs the real
# `backward()` and records every step: which op's local derivative ran, what gradient it
# received from above and what it sent down. Read it against the formula: `pow` sends
# `2 (a - y)`, `sigmoid` multiplies by `a (1 - a)`, `mul` multiplies by `a(L-1)`. (In the
# printed local derivatives, x and y are the op's two inputs, e.g. pow's base and exponent 2,
# not the target y.)

# %%


def scalar(value, name, requires_grad=False):
    t = ag.tensor(np.float64(value), requires_grad=requires_grad)
    t.name = name
    return t


a_prev = scalar(A_PREV, "a(L-1)")
w = scalar(W_L, "w(L)", requires_grad=True)
b = scalar(B_L, "b(L)", requires_grad=True)
y = scalar(Y, "y")
wa = w * a_prev
z = wa + b
a = ag.sigmoid(z)
error = a - y
C0 = error ** 2
C0.name = "C0"
wa.name, z.name, a.name, error.name = "w(L) a(L-1)", "z(L)", "a(L)", "a(L) - y"
C0  # noqa: B018 (the last line of a cell is what a notebook shows)

# %% [markdown]
# In a notebook, a tensor at the end of a cell is drawn as its graph: above, the forward pass,
# every tensor with its value. (A script passes over that bare `C0`.) Now backward:

# %%
steps = viz.backward_steps(C0)
print(steps)
by_backward = w.grad.item()
print(f"a(L) = {a.item():.12f}, C0 = {C0.item():.12f}")
print(f"dC0/dw by backward: {by_backward:.12f}")
print(f"dC0/dw difference: {abs(by_backward - by_formula):.3e}")
print(f"dC0/db by formula: {da_dz * dC_da:.12f}, by backward: {b.grad.item():.12f}")

# %% [markdown]
# ## 3. The pictures
#
# The whole graph after backward, every tensor with its value and gradient (SVG and PNG);
# one frame per backward step, the active op in red and the gradients it sends on its edges;
# and one HTML page with a slider over those frames.

# %%
print("wrote", viz.render(steps.digraph(), out / "backprop_graph.svg"))
print("wrote", viz.render(steps.digraph(), out / "backprop_graph.png"))
frames = steps.render_frames(out / "frames")
print(f"wrote {len(frames)} frames to {out / 'frames'}")
print("wrote", steps.to_html(out / "backprop_steps.html",
                             title="The slide's example: dC0/dw(L), step by step"))

# %% [markdown]
# ## 4. The complex example: several units per layer
#
# Now a 2-3-2 network with sigmoid units: input `a(L-2)` (2 values), layer `L-1` (3 units),
# layer `L` (2 units), and the cost sums over the output units:
#
#     z_j(L) = sum_k w_jk(L) a_k(L-1) + b_j(L)     a_j(L) = sigmoid(z_j(L))
#     C0 = sum_j (a_j(L) - y_j)^2
#
# A weight `w_jk(L)` reaches the cost only through unit j, so its gradient is the simple
# example's formula with indices:
#
#     dC0/dw_jk(L) = a_k(L-1) * sigmoid'(z_j(L)) * 2 (a_j(L) - y_j)
#
# But an activation `a_k(L-1)` feeds *every* unit of layer L, so its gradient **sums over the
# next layer's units** (the slide's formula):
#
#     dC0/da_k(L-1) = sum_j w_jk(L) * sigmoid'(z_j(L)) * 2 (a_j(L) - y_j)
#
# and from there the same pattern repeats one layer down, for `w(L-1)`. That recursion is
# backpropagation. First in numpy, by the formulas:

# %%
rng = np.random.default_rng(args.seed)
x_in = rng.uniform(0, 1, size=2)                                 # a(L-2)
W1, b1 = rng.normal(0, 1, size=(3, 2)), rng.normal(0, 1, size=3)  # layer L-1
W2, b2 = rng.normal(0, 1, size=(2, 3)), rng.normal(0, 1, size=2)  # layer L
y_vec = np.array([1.0, 0.0])


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


a1 = sigmoid(W1 @ x_in + b1)                     # a(L-1), 3 units
a2 = sigmoid(W2 @ a1 + b2)                       # a(L), 2 units
dC_da2 = 2 * (a2 - y_vec)                        # dC0/da_j(L)
delta2 = a2 * (1 - a2) * dC_da2                  # dC0/dz_j(L) = sigmoid'(z_j) 2 (a_j - y_j)
dW2 = np.outer(delta2, a1)                       # dC0/dw_jk(L) = a_k(L-1) delta_j
db2 = delta2
dC_da1 = np.array([sum(W2[j, k] * delta2[j] for j in range(2)) for k in range(3)])  # the sum
delta1 = a1 * (1 - a1) * dC_da1                  # one layer down: the same pattern
dW1 = np.outer(delta1, x_in)
terms = " + ".join(f"({W2[j, 0]:.4f})({delta2[j]:.4f})" for j in range(2))
print(f"complex: dC0/da_0(L-1) = sum_j w_j0(L) sigmoid'(z_j) 2(a_j - y_j) = {terms} "
      f"= {dC_da1[0]:.6f}")

# %% [markdown]
# Then with autograd. `retain_grad()` keeps the gradient of the intermediate `a(L-1)`, which
# backward would otherwise not store.

# %%


def param(value, name):
    t = ag.tensor(value, requires_grad=True)
    t.name = name
    return t


t_x = ag.tensor(x_in)
t_x.name = "a(L-2)"
t_W1, t_b1 = param(W1, "w(L-1)"), param(b1, "b(L-1)")
t_W2, t_b2 = param(W2, "w(L)"), param(b2, "b(L)")
t_y = ag.tensor(y_vec)
t_y.name = "y"
t_wa1 = t_W1 @ t_x
t_z1 = t_wa1 + t_b1
t_a1 = ag.sigmoid(t_z1)
t_a1.retain_grad()
t_wa2 = t_W2 @ t_a1
t_z2 = t_wa2 + t_b2
t_a2 = ag.sigmoid(t_z2)
t_error = t_a2 - t_y
t_squares = t_error ** 2
t_C0 = t_squares.sum()
t_C0.name = "C0"
for t, label in {t_wa1: "w(L-1) a(L-2)", t_z1: "z(L-1)", t_a1: "a(L-1)", t_wa2: "w(L) a(L-1)",
                 t_z2: "z(L)", t_a2: "a(L)", t_error: "a(L) - y",
                 t_squares: "(a(L) - y)^2"}.items():
    t.name = label
complex_steps = viz.backward_steps(t_C0)

differences = {
    "dC0/dw(L)": np.abs(t_W2.grad.numpy() - dW2).max(),
    "dC0/db(L)": np.abs(t_b2.grad.numpy() - db2).max(),
    "dC0/da(L-1)": np.abs(t_a1.grad.numpy() - dC_da1).max(),
    "dC0/dw(L-1)": np.abs(t_W1.grad.numpy() - dW1).max(),
}
print("complex: dC0/da(L-1) by formula: ", np.array2string(dC_da1, precision=6))
print("complex: dC0/da(L-1) by backward:", np.array2string(t_a1.grad.numpy(), precision=6))
for name, diff in differences.items():
    print(f"complex: {name} max |formula - backward| = {diff:.3e}")
print(f"complex example max difference: {max(differences.values()):.3e}")
for suffix in ("svg", "png"):
    print("wrote", viz.render(complex_steps.digraph(), out / f"complex_graph.{suffix}"))

# %%
print(f"done in {time.perf_counter() - started:.1f} s")
