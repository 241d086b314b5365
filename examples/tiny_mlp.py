# %% [markdown]
"""Train a 2-8-1 multi-layer perceptron on XOR with plain gradient descent.

The whole training loop uses only the core: tensors, ops, backward() and .grad. Run:
    python examples/tiny_mlp.py [--steps 2000] [--lr 1.0] [--seed 0] [--debug]
"""

# %% [markdown]
# # XOR with a tiny MLP
# XOR is the classic problem a single perceptron cannot solve; one hidden layer can.

# %%
import argparse

import numpy as np
from common import add_debug_flag, command_line

import autograd_lite as ag

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=2000)
parser.add_argument("--lr", type=float, default=1.0)
parser.add_argument("--seed", type=int, default=0)
add_debug_flag(parser)
args = parser.parse_args(command_line())  # in a notebook: $EXAMPLE_ARGS

# %% [markdown]
# Data: the four XOR points. Parameters: small random weights, zero biases.

# %%
X = ag.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y = ag.tensor([[0.0], [1.0], [1.0], [0.0]])

ag.manual_seed(args.seed)
W1 = (ag.randn(2, 8)).requires_grad_()
b1 = ag.zeros(8, requires_grad=True)
W2 = (ag.randn(8, 1)).requires_grad_()
b2 = ag.zeros(1, requires_grad=True)
params = [W1, b1, W2, b2]

# %% [markdown]
# Training: forward, mean squared error, backward, then a gradient step taken under no_grad
# so the update itself is not recorded in the graph.

# %%
for step in range(args.steps + 1):
    hidden = ag.tanh(X @ W1 + b1)
    pred = ag.sigmoid(hidden @ W2 + b2)
    loss = ((pred - y) ** 2).mean()
    loss.backward()
    with ag.no_grad():
        for p in params:
            p.data -= args.lr * p.grad.data
            p.grad = None
    if step % (args.steps // 4 or 1) == 0:
        print(f"step {step:5d}  loss {loss.item():.5f}")

# %%
predictions = (pred.numpy() > 0.5).astype(int).ravel()
print("predictions:", predictions.tolist(), "targets:", y.numpy().astype(int).ravel().tolist())
print(f"final loss: {loss.item():.5f}")
assert np.array_equal(predictions, [0, 1, 1, 0]), "XOR was not learned"
