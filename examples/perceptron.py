# %% [markdown]
"""Rosenblatt's perceptron: a step activation and its learning rule; where it fails, and the fix.

A perceptron learns two separable blobs with the perceptron rule (no backpropagation), then
fails on XOR, which no straight line can split; a 2-layer MLP trained by backpropagation solves
XOR. Writes decision-boundary plots into --out. Run:
    python examples/perceptron.py [--out runs/perceptron] [--seed 0] [--quick]
"""

# %% [markdown]
# # The perceptron (Rosenblatt, 1957)
#
# One neuron: a weighted sum of the inputs plus a bias, then a **step** activation, which
# answers 1 when the sum is >= 0 and 0 otherwise. That is a binary classifier whose decision
# boundary is the straight line `w1 x1 + w2 x2 + b = 0`.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from common import parse_args, show

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.data import DataLoader, TensorDataset
from autograd_lite.datasets import make_blobs, make_xor
from autograd_lite.plot import plot_decision_boundary, save_figure

args = parse_args("perceptron", __doc__.splitlines()[0])
out = args.out
started = time.perf_counter()
MAX_EPOCHS = 100                                  # the separable case needs far fewer
XOR_EPOCHS = 20 if args.quick else 200            # "many epochs" for the XOR attempt
MLP_EPOCHS = 60 if args.quick else 150

# %% [markdown]
# ## The model: `nn.Linear(2, 1)` followed by `nn.Step()`
#
# The weights start at zero, as in Rosenblatt's description. `nn.Step` is the Heaviside step;
# its output is 0.0 or 1.0.

# %%


def new_perceptron():
    perceptron = nn.Sequential(nn.Linear(2, 1), nn.Step())
    with ag.no_grad():
        perceptron[0].weight.zero_()
        perceptron[0].bias.zero_()
    return perceptron


# %% [markdown]
# ## The perceptron learning rule
#
# For each sample, predict `y_hat = step(w . x + b)`, then
#
#     w += lr * (y - y_hat) * x        b += lr * (y - y_hat)
#
# A correct prediction changes nothing; a wrong one moves the line so that the sample gets
# closer to (or onto) its correct side. This is *not* gradient descent: the step has no useful
# derivative (see the last section), so the rule uses the error `y - y_hat` directly. The
# updates run under `no_grad()`: nothing is recorded.
# Rosenblatt's convergence theorem: on linearly separable data this stops making mistakes
# after finitely many updates.

# %%


def accuracy_of(model, X, y):
    with ag.no_grad():
        return ag.accuracy(model(ag.tensor(X)), y)


def train_perceptron(perceptron, X, y, epochs, lr=0.1, seed=0, stop_when_perfect=True):
    """Returns the mistakes and the accuracy after each epoch (one entry per epoch run). The
    perceptron ends with the weights of its best epoch (Gallant's "pocket" variant), which is
    the last one when it stops with no mistakes."""
    layer = perceptron[0]
    best = (-1.0, None)
    rng = np.random.default_rng(seed)
    X_t = ag.tensor(X)
    mistakes_per_epoch, accuracies = [], []
    with ag.no_grad():
        for _ in range(epochs):
            mistakes = 0
            for i in rng.permutation(len(X)):            # a new order every epoch
                x_i = X_t[i:i + 1]                        # shape (1, 2)
                y_hat = perceptron(x_i).item()            # 0.0 or 1.0
                error = float(y[i]) - y_hat               # -1, 0 or +1
                if error != 0:
                    mistakes += 1
                    layer.weight += lr * error * x_i      # w += lr * (y - y_hat) * x
                    layer.bias += lr * error              # b += lr * (y - y_hat)
            mistakes_per_epoch.append(mistakes)
            accuracies.append(accuracy_of(perceptron, X, y))
            if accuracies[-1] > best[0]:
                best = (accuracies[-1], (layer.weight.numpy().copy(), layer.bias.numpy().copy()))
            if stop_when_perfect and mistakes == 0:
                break
        layer.weight.copy_(ag.tensor(best[1][0]))
        layer.bias.copy_(ag.tensor(best[1][1]))
    return mistakes_per_epoch, accuracies


# %% [markdown]
# ## 1. Linearly separable data: two blobs far apart
#
# Two Gaussian clouds (std 0.7) centred at (-2, -2) and (2, 2): a line separates them.

# %%
X_sep, y_sep = make_blobs(100, centers=[[-2.0, -2.0], [2.0, 2.0]], std=0.7, seed=args.seed)
perceptron = new_perceptron()
mistakes, _ = train_perceptron(perceptron, X_sep, y_sep, MAX_EPOCHS, seed=args.seed)
epochs = len(mistakes)
sep_accuracy = accuracy_of(perceptron, X_sep, y_sep)
w = perceptron[0].weight.numpy().ravel()
b = perceptron[0].bias.item()
print(f"separable: learned w = [{w[0]:.3f}, {w[1]:.3f}], b = {b:.3f}")
print(f"separable perceptron mistakes per epoch: {mistakes}")
print(f"separable perceptron epochs: {epochs}")
print(f"separable perceptron accuracy: {sep_accuracy:.3f}")

ax = plot_decision_boundary(perceptron, X_sep, y_sep)
ax.set_title(f"perceptron on separable blobs: {epochs} epochs, accuracy {sep_accuracy:.2f}")
show(save_figure(ax, out / "perceptron_separable.png"))
plt.close(ax.figure)

# %% [markdown]
# ## 2. XOR: the perceptron fails
#
# XOR's four corners: (0, 0) and (1, 1) are class 0, (0, 1) and (1, 0) are class 1 (here each
# corner is a small noisy cloud). **No straight line puts the two diagonals on different
# sides**: if `w . x + b >= 0` at (0, 1) and (1, 0), adding those gives
# `w1 + w2 + 2b >= 0`, while `< 0` at (0, 0) and (1, 1) gives `w1 + w2 + 2b < 0`. A
# contradiction, so any line gets at most three of the four corners right: accuracy <= 0.75
# (each corner holds a quarter of the points).
# The perceptron rule never settles (every epoch still has mistakes); we keep the weights of its
# best epoch (the "pocket" variant), and even those are at most 0.75 right: the plot shows the
# line leaving one corner on the wrong side. This is the limitation Minsky and Papert pointed
# out in 1969.

# %%
X_xor, y_xor = make_xor(200, noise=0.1, seed=args.seed)
xor_perceptron = new_perceptron()
xor_mistakes, xor_accs = train_perceptron(xor_perceptron, X_xor, y_xor, XOR_EPOCHS,
                                          seed=args.seed, stop_when_perfect=False)
xor_best = max(xor_accs)
print(f"xor perceptron epochs: {XOR_EPOCHS}, fewest mistakes in an epoch: {min(xor_mistakes)}")
print(f"xor perceptron last-epoch accuracy: {xor_accs[-1]:.3f}")
print(f"xor perceptron best accuracy: {xor_best:.3f}")

ax = plot_decision_boundary(xor_perceptron, X_xor, y_xor)
ax.set_title(f"perceptron on XOR, best of {XOR_EPOCHS} epochs: accuracy {xor_best:.2f}")
show(save_figure(ax, out / "perceptron_xor.png"))
plt.close(ax.figure)

# %% [markdown]
# ## 3. A 2-layer MLP, trained by backpropagation, solves XOR
#
# A hidden layer of 4 tanh units bends the boundary: each hidden unit draws a line, the output
# unit combines them. The activations are now smooth (tanh, sigmoid), so the gradient of the
# binary cross-entropy flows back to every weight and `fit` trains it with Adam. (Accuracy is
# measured on the same points: the question here is what the model *can* represent.)

# %%
ag.manual_seed(args.seed)
mlp = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
loader = DataLoader(TensorDataset(X_xor, y_xor.astype(np.float32)[:, None]), batch_size=32,
                    shuffle=True, seed=args.seed)
history = ag.fit(mlp, nn.BCELoss(), optim.Adam(mlp.parameters(), lr=0.05), loader,
                 epochs=MLP_EPOCHS, metrics={"accuracy": ag.accuracy}, progress=not args.quick)
mlp_accuracy = accuracy_of(mlp, X_xor, y_xor[:, None])
print(f"xor mlp final loss: {history.train_loss[-1]:.4f}")
print(f"xor mlp accuracy: {mlp_accuracy:.3f}")

ax = plot_decision_boundary(mlp, X_xor, y_xor)
ax.set_title(f"2-4-1 MLP on XOR: accuracy {mlp_accuracy:.2f}")
show(save_figure(ax, out / "mlp_xor.png"))
plt.close(ax.figure)

# %% [markdown]
# ## Why not train the perceptron by backpropagation?
#
# The step's derivative is 0 everywhere except at 0, where it does not exist: a gradient
# through it would be zero, and gradient descent would never move. `autograd_lite` refuses
# instead of silently returning zeros: `backward()` through `nn.Step` raises an error.

# %%
x4 = ag.tensor(X_sep[:4])
y4 = ag.tensor(y_sep[:4, None].astype(np.float32))
loss = ((perceptron(x4) - y4) ** 2).mean()       # a squared error, through the step
try:
    loss.backward()
    print("step backward error: none (unexpected)")
except RuntimeError as e:
    print("step backward error:", str(e).splitlines()[0])

# %%
print(f"done in {time.perf_counter() - started:.1f} s")
