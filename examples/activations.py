# %% [markdown]
"""Activation functions and their derivatives, the derivatives computed by autograd.

Plots step, sigmoid, tanh, ReLU, LeakyReLU, ELU and GELU with their derivatives on [-5, 5]; each
derivative comes from backward(), then is checked against the textbook formula. Run:
    python examples/activations.py [--out runs/activations] [--seed 0] [--quick]
"""

# %% [markdown]
# # Activation functions and their derivatives
#
# A neuron's activation bends its weighted sum; backpropagation then multiplies by the
# activation's **derivative** at every layer. Its shape decides how well gradients flow:
# sigmoid's never exceeds 0.25 (gradients shrink layer after layer), ReLU's is exactly 1 for
# positive inputs, and the step's is 0 everywhere (nothing to learn from).

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
from common import parse_args, show

import autograd_lite as ag
from autograd_lite.nn import functional as F
from autograd_lite.plot import save_figure

args = parse_args("activations", __doc__.splitlines()[0])
started = time.perf_counter()
# float64, so autograd and the formulas agree to ~1e-16; an even number of points leaves x = 0
# (the kinks) off the grid; --quick uses fewer points
x_grid = np.linspace(-5.0, 5.0, 200 if args.quick else 2000)

# %% [markdown]
# ## The derivative by autograd, not by formula
#
# Every activation acts elementwise, so `y_i` depends only on `x_i` and
# `d(sum_i y_i)/dx_i = dy_i/dx_i`: one `backward()` of the sum over the whole grid gives the
# derivative at every grid point at once.

# %%


def derivative_by_autograd(activation, x_values):
    x = ag.tensor(x_values, requires_grad=True)
    activation(x).sum().backward()
    return x.grad.numpy()


# %% [markdown]
# ## The activations and their textbook derivatives
#
# Written with numpy only, to check autograd against. ReLU, LeakyReLU and ELU (unless
# alpha = 1) have a kink at 0, where the derivative does not exist and autograd returns some
# convention; the check skips points within 1e-3 of a kink. LeakyReLU's slope is 0.1
# (PyTorch's default 0.01 is invisible on a plot), ELU's alpha is 1.

# %%
ALPHA, SLOPE = 1.0, 0.1
erf = np.vectorize(math.erf)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def normal_pdf(x):
    return np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


# name -> (the activation on Tensors, its value in numpy, its derivative in numpy, kinks)
ACTIVATIONS = {
    "sigmoid": (F.sigmoid, sigmoid,
                lambda x: sigmoid(x) * (1 - sigmoid(x)), []),                # s (1 - s)
    "tanh": (F.tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2, []),           # 1 - tanh^2
    "ReLU": (F.relu, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0, [0.0]),
    "LeakyReLU": (lambda x: F.leaky_relu(x, SLOPE), lambda x: np.where(x > 0, x, SLOPE * x),
                  lambda x: np.where(x > 0, 1.0, SLOPE), [0.0]),
    "ELU": (lambda x: F.elu(x, ALPHA), lambda x: np.where(x > 0, x, ALPHA * np.expm1(x)),
            lambda x: np.where(x > 0, 1.0, ALPHA * np.exp(x)), [0.0]),      # elu(x) + alpha
    "GELU": (F.gelu, lambda x: x * 0.5 * (1 + erf(x / math.sqrt(2))),        # x Phi(x)
             lambda x: 0.5 * (1 + erf(x / math.sqrt(2))) + x * normal_pdf(x), []),
}

# %% [markdown]
# ## Check: autograd's derivative equals the formula
#
# The maximum absolute difference over the grid, away from kinks. Also the values themselves:
# the library's activation against the numpy formula.

# %%
derivatives = {}
for name, (activation, value, formula, kinks) in ACTIVATIONS.items():
    d_auto = derivative_by_autograd(activation, x_grid)
    derivatives[name] = d_auto
    smooth = np.ones_like(x_grid, dtype=bool)
    for k in kinks:
        smooth &= np.abs(x_grid - k) > 1e-3
    diff = np.max(np.abs(d_auto[smooth] - formula(x_grid[smooth])))
    value_diff = np.max(np.abs(activation(ag.tensor(x_grid)).numpy() - value(x_grid)))
    print(f"{name}: max |autograd - formula| = {diff:.2e} (values: {value_diff:.2e}), "
          f"derivative range [{d_auto.min():.3f}, {d_auto.max():.3f}]")

# %% [markdown]
# ## The step: no derivative to compute
#
# The step's derivative is 0 everywhere except at 0, where it does not exist (the jump). A
# gradient of 0 teaches nothing, so `autograd_lite` refuses to backpropagate through it and
# says why; the plot draws its derivative as 0 (dashed) with a note.

# %%
try:
    derivative_by_autograd(F.step, x_grid)
    print("step: autograd returned a derivative (unexpected)")
except RuntimeError as e:
    print("step: no derivative by autograd:", str(e).splitlines()[0])

# %% [markdown]
# ## The picture: each activation (blue) and its derivative (orange, by autograd)
#
# The last panel puts the derivatives side by side: compare sigmoid's peak of 0.25 with
# tanh's 1 and ReLU's flat 1.

# %%
fig, axes = plt.subplots(2, 4, figsize=(16, 7.5), sharex=True)
panels = ["step", *ACTIVATIONS]
with ag.no_grad():
    for ax, name in zip(axes.flat, panels):
        if name == "step":
            y = F.step(ag.tensor(x_grid)).numpy()
            d = np.zeros_like(x_grid)
        else:
            y = ACTIVATIONS[name][0](ag.tensor(x_grid)).numpy()
            d = derivatives[name]
        ax.plot(x_grid, y, color="C0", label=name)
        ax.plot(x_grid, d, color="C1", linestyle="--" if name == "step" else "-",
                label=f"{name}' (autograd)" if name != "step" else "step' = 0 (not by autograd)")
        ax.axhline(0, color="gray", linewidth=0.5)
        ax.axvline(0, color="gray", linewidth=0.5)
        ax.set_title(name)
        ax.legend(loc="upper left", fontsize=8)
        if name == "step":
            ax.text(0.5, 0.35, "not differentiable at 0,\nderivative 0 elsewhere:\n"
                    "autograd refuses", transform=ax.transAxes, fontsize=8, color="C3")
last = axes.flat[-1]
for name, d in derivatives.items():
    last.plot(x_grid, d, label=name)
last.set_title("all derivatives")
last.legend(fontsize=8)
for ax in axes[-1]:
    ax.set_xlabel("x")
fig.suptitle("Activation functions and their derivatives (computed by autograd)")
fig.tight_layout()
show(save_figure(fig, args.out / "activations.png"))
plt.close(fig)

# %%
print(f"done in {time.perf_counter() - started:.1f} s")
