# %% [markdown]
"""A small convolutional network reads the handwritten digits: week 6 of the course.

The same 8x8 digits as neural_network.py (scikit-learn's, no download), now as images: two
3x3 convolutions with ReLU and max-pooling, then one linear layer. Prints the test accuracy,
and writes loss_curves.png, filters.png (the 16 learned first-layer filters),
feature_maps.png (what those filters make of one test digit) and graph.svg (one training step,
drawn one box per layer) into --out. Run:
    python examples/cnn.py [--out runs/cnn/] [--seed 0] [--quick]
"""

# %% [markdown]
# # Handwritten digits with a convolutional network
#
# An MLP sees an image as a list of 64 unrelated numbers: moving a digit by one pixel gives it
# a completely different input. A *convolution* slides one small filter (here 3x3 weights)
# over every position of the image, so the same pattern (an edge, a corner) is detected
# wherever it is, with 9 weights instead of one per pixel pair. *Max-pooling* then keeps the
# strongest response of each 2x2 block: the map gets smaller and a small shift matters less.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from common import parse_args, show
from sklearn.datasets import load_digits

import autograd_lite as ag
from autograd_lite import nn, optim, viz
from autograd_lite.data import DataLoader, TensorDataset, train_val_test_split
from autograd_lite.plot import plot_loss, save_figure

args = parse_args("cnn", "A convolutional network on the handwritten digits")
out = args.out
start = time.perf_counter()

# %% [markdown]
# ## The data, as images
#
# The split and the scaling are neural_network.py's: stratified train (60%), validation (20%)
# and test (20%); pixels divided by 16, their maximum, so they lie in [0, 1]. A convolution
# wants images with a channel axis: (N, 1, 8, 8), one gray channel.

# %%
digits = load_digits()
X = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8)
y = digits.target.astype(np.int64)
(X_tr, y_tr), (X_va, y_va), (X_te, y_te) = train_val_test_split(
    X, y, val=0.2, test=0.2, seed=args.seed, stratify=y)
print(f"data: {len(X_tr)} train, {len(X_va)} validation, {len(X_te)} test images of shape "
      f"{X.shape[1:]}, {len(np.unique(y))} classes")
train_loader = DataLoader(TensorDataset(X_tr, y_tr), batch_size=32, shuffle=True,
                          seed=args.seed)
val_loader = DataLoader(TensorDataset(X_va, y_va), batch_size=512)


# %% [markdown]
# ## The network
#
# `padding=1` keeps each map 8x8 through a 3x3 convolution; each max-pool halves it.
#
# | layer | output shape | parameters |
# |---|---|---|
# | Conv2d(1, 16, 3, padding=1) + ReLU | (16, 8, 8) | 16 * 9 + 16 = 160 |
# | MaxPool2d(2) | (16, 4, 4) | |
# | Conv2d(16, 32, 3, padding=1) + ReLU | (32, 4, 4) | 32 * 16 * 9 + 32 = 4,640 |
# | MaxPool2d(2) | (32, 2, 2) | |
# | Flatten + Dropout(0.25) + Linear(128, 10) | (10,) | 1,290 |
#
# 6,090 parameters, against the MLP's 9,610: sharing each filter over the image is cheap.

# %%
def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 2 * 2, 10))


ag.manual_seed(args.seed)
model = make_model()
print(model)

# %% [markdown]
# ## Training
#
# The loop of the MLP: cross-entropy, Adam, mini-batches of 32, validation after every epoch.

# %%
epochs = 3 if args.quick else 30
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=3e-3)
train_start = time.perf_counter()
history = ag.fit(model, loss_fn, optimizer, train_loader, val_loader, epochs=epochs,
                 metrics={"accuracy": ag.accuracy}, progress=not args.quick)
print(f"trained {history.epochs} epochs in {time.perf_counter() - train_start:.1f} s: "
      f"train loss {history.train_loss[-1]:.4f}, validation loss {history.val_loss[-1]:.4f}, "
      f"validation accuracy {history.metrics['val_accuracy'][-1]:.3f}")
ax = plot_loss(history, title="CNN on digits: cross-entropy per epoch")
show(save_figure(ax, out / "loss_curves.png"))
plt.close(ax.figure)

# %% [markdown]
# ## Test accuracy

# %%
model.eval()
with ag.no_grad():
    logits = model(ag.tensor(X_te)).numpy()
print(f"test accuracy: {ag.accuracy(logits, y_te):.3f}")

# %% [markdown]
# ## What the first layer learned
#
# Each of the 16 filters is a 3x3 patch of weights (red positive, blue negative). Training
# turns them into detectors of strokes: bright on one side and dark on the other is an edge
# in that direction.

# %%
filters = model[0].weight.numpy()[:, 0]  # (16, 3, 3)
fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
bound = np.abs(filters).max()
for k, ax in enumerate(axes.flat):
    ax.imshow(filters[k], cmap="RdBu_r", vmin=-bound, vmax=bound)
    ax.set_title(f"filter {k}", fontsize=7)
    ax.axis("off")
fig.suptitle("The 16 first-layer 3x3 filters, after training")
show(save_figure(fig, out / "filters.png"))
plt.close(fig)

# %% [markdown]
# ## Feature maps: the filters applied to one digit
#
# The first layer's output for one test image (after its ReLU): each map is bright where its
# filter's pattern occurs. Slicing the Sequential (`model[:2]`) runs just those layers.

# %%
digit = X_te[:1]
with ag.no_grad():
    maps = model[:2](ag.tensor(digit)).numpy()[0]  # (16, 8, 8)
fig, axes = plt.subplots(2, 9, figsize=(9, 2.4))
axes.flat[0].imshow(digit[0, 0], cmap="gray_r")
axes.flat[0].set_title(f"digit {y_te[0]}", fontsize=7)
axes.flat[9].axis("off")
for k, ax in enumerate([a for i, a in enumerate(axes.flat) if i not in (0, 9)]):
    ax.imshow(maps[k], cmap="viridis")
    ax.set_title(f"map {k}", fontsize=7)
for ax in axes.flat:
    ax.set_xticks([]), ax.set_yticks([])
fig.suptitle("One test digit and its 16 first-layer feature maps")
show(save_figure(fig, out / "feature_maps.png"))
plt.close(fig)

# %% [markdown]
# ## One training step, drawn one box per layer
#
# A CNN makes too many small ops to draw one by one, so `collapse="modules"` draws each
# layer's call as one box, with its input and output shapes and its parameter count; the loss
# ops are drawn as they are. `expand=["0"]` would open the first convolution to its ops.

# %%
model.train()
loss = loss_fn(model(ag.tensor(X_tr[:8])), ag.tensor(y_tr[:8]))
graph = viz.draw_graph(loss, params=model, collapse="modules", rankdir="TB")
print(viz.graph_text(loss, params=model, collapse="modules"))
if viz.find_dot() is not None:
    show(viz.render(graph, out / "graph.svg"))
else:  # no Graphviz renderer installed: keep the DOT source, and say how to render it
    (out / "graph.dot").write_text(graph.source)
    print(f"wrote {out / 'graph.dot'}, not rendered: {viz.INSTALL_HINT}")
print(f"done in {time.perf_counter() - start:.1f} s")
