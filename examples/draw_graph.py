# %% [markdown]
"""Draw the computation graph of a small MLP, with every value and gradient on it.

One forward and backward pass of a 2-3-1 network on one sample; writes the graph after
backward (values and gradients of every tensor) and the backward pass as an HTML page with a
slider over its steps. Run:
    python examples/draw_graph.py [--out docs/] [--debug]
"""

# %% [markdown]
# # The graph of a tiny MLP, forward values and backward gradients

# %%
import argparse
from pathlib import Path

from common import add_debug_flag, command_line, show

import autograd_lite as ag
from autograd_lite import nn, viz

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="docs", help="folder for mlp_graph.svg / .html")
parser.add_argument("--seed", type=int, default=0)
add_debug_flag(parser)
args = parser.parse_args(command_line())  # in a notebook: $EXAMPLE_ARGS
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# A 2-3-1 MLP with a tanh hidden layer and a sigmoid output, one sample, squared error.

# %%
ag.manual_seed(args.seed)
model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid())
x = ag.tensor([[0.5, -1.0]])
y = ag.tensor([[1.0]])
x.name, y.name = "x", "y"
loss = nn.functional.mse_loss(model(x), y)
loss.name = "loss"

# %% [markdown]
# `backward_steps` runs the real backward and records each step; its last state has every
# tensor's gradient, which is what the picture shows.

# %%
steps = viz.backward_steps(loss, params=model)
print(steps)
graph = steps.digraph()
show(viz.render(graph, out / "mlp_graph.svg"))
print("wrote", steps.to_html(out / "mlp_backward.html"))
