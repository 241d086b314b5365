# %% [markdown]
"""A multilayer perceptron that reads handwritten digits: the lecture's network, end to end.

Real data (scikit-learn's bundled 8x8 digits, no download), a stratified train / validation /
test split, mini-batch training with ``fit``, loss curves, test accuracy, a confusion matrix,
the graph of one forward and backward pass, and a checkpoint that reloads to the same
predictions. Writes loss_curves.png, confusion_matrix.png, graph.svg, model.npz and
optimizer.npz into --out. Run:
    python examples/neural_network.py [--out runs/neural_network/] [--seed 0] [--quick]
"""

# %% [markdown]
# # Handwritten digits with a multilayer perceptron
#
# Everything the lecture builds, on real data: an MLP `64 -> 128 -> 10` with a ReLU hidden
# layer, the cross-entropy loss, mini-batch gradient descent (Adam), a validation set to watch
# for overfitting, and a test set touched once, at the end.

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

args = parse_args("neural_network", "An MLP on the handwritten digits")
out = args.out
start = time.perf_counter()

# %% [markdown]
# ## The data
#
# 1797 images of 8x8 pixels, each pixel a gray level 0..16, and the digit it shows.
#
# The split is *stratified*: every digit keeps its share in train (60%), validation (20%) and
# test (20%). Validation tells when training is good enough; the test set only reports, once.

# %%
digits = load_digits()
X = digits.data.astype(np.float32)   # (1797, 64): one row of 64 pixels per image
y = digits.target.astype(np.int64)   # (1797,): the digit, 0..9
(X_tr, y_tr), (X_va, y_va), (X_te, y_te) = train_val_test_split(
    X, y, val=0.2, test=0.2, seed=args.seed, stratify=y)
print(f"data: {len(X_tr)} train, {len(X_va)} validation, {len(X_te)} test images of "
      f"{X.shape[1]} pixels, {len(np.unique(y))} classes")

# %% [markdown]
# Gradient descent works best when every input has a similar, small scale, so each pixel is
# *standardised*: minus its mean, divided by its standard deviation. Both are measured on the
# training set only and then applied to all three sets: the validation and test images must
# stay unseen. (Corner pixels that are always blank have no spread; they are left at 0.)

# %%
mean, std = X_tr.mean(axis=0), X_tr.std(axis=0)
std[std == 0] = 1.0
X_tr, X_va, X_te = ((part - mean) / std for part in (X_tr, X_va, X_te))

# %% [markdown]
# Mini-batches of 32 shuffled images: each step sees a different sample of the data, which is
# cheaper than the full batch and its noise helps to generalise.

# %%
train_loader = DataLoader(TensorDataset(X_tr, y_tr), batch_size=32, shuffle=True,
                          seed=args.seed)
val_loader = DataLoader(TensorDataset(X_va, y_va), batch_size=512)


# %% [markdown]
# ## The network
#
# 64 inputs (the pixels), one hidden layer of 128 ReLU units, 10 outputs: one score (logit)
# per digit. No softmax at the end: `CrossEntropyLoss` applies log-softmax itself, which is
# numerically stable.

# %%
def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


ag.manual_seed(args.seed)
model = make_model()
print(model)

# %% [markdown]
# ## Training
#
# `fit` runs the loop of the lecture: forward, loss, `zero_grad`, `backward`, `step`, for every
# mini-batch, then the validation loss and accuracy after each epoch.

# %%
epochs = 4 if args.quick else 40
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=2e-3)
train_start = time.perf_counter()
history = ag.fit(model, loss_fn, optimizer, train_loader, val_loader, epochs=epochs,
                 metrics={"accuracy": ag.accuracy}, progress=not args.quick)
train_time = time.perf_counter() - train_start
print(f"trained {history.epochs} epochs in {train_time:.1f} s: train loss "
      f"{history.train_loss[-1]:.4f}, validation loss {history.val_loss[-1]:.4f}, "
      f"validation accuracy {history.metrics['val_accuracy'][-1]:.3f}")

# %% [markdown]
# The loss curves: training loss keeps falling; validation loss falls with it, then flattens.
# Where validation stops improving (the star), more epochs only fit the training set better.

# %%
ax = plot_loss(history, title="MLP on digits: cross-entropy per epoch")
show(save_figure(ax, out / "loss_curves.png"))
plt.close(ax.figure)

# %% [markdown]
# ## Test accuracy
#
# The network's prediction is the digit with the highest score. `eval()` switches layers such
# as Dropout to inference (none here, but it is the habit), and `no_grad()` records no graph.

# %%
model.eval()
with ag.no_grad():
    logits = model(ag.tensor(X_te)).numpy()
predicted = logits.argmax(axis=1)
test_accuracy = ag.accuracy(logits, y_te)
print(f"test accuracy: {test_accuracy:.3f}")

# %% [markdown]
# ## Confusion matrix
#
# Row: the true digit; column: the predicted one. The diagonal counts the correct answers;
# anything off it shows which digits the network confuses.

# %%
confusion = np.zeros((10, 10), dtype=np.int64)
np.add.at(confusion, (y_te, predicted), 1)
fig, ax = plt.subplots(figsize=(6, 5.5))
image = ax.imshow(confusion, cmap="Blues")
for true in range(10):
    for pred in range(10):
        count = confusion[true, pred]
        if count:
            dark = count > confusion.max() / 2
            ax.text(pred, true, str(count), ha="center", va="center",
                    color="white" if dark else "black", fontsize=9)
ax.set_xticks(range(10))
ax.set_yticks(range(10))
ax.set_xlabel("predicted digit")
ax.set_ylabel("true digit")
ax.set_title(f"Test set: {confusion.trace()} of {confusion.sum()} correct")
fig.colorbar(image, ax=ax, fraction=0.046)
show(save_figure(fig, out / "confusion_matrix.png"))
plt.close(fig)
off = confusion - np.diag(np.diag(confusion))
worst = np.unravel_index(off.argmax(), off.shape)
if off.max() > 0:
    print(f"most frequent mistake: {worst[0]} read as {worst[1]} ({off.max()} times)")

# %% [markdown]
# ## One forward and backward pass, drawn
#
# The same network on two images: every tensor is a box with its value and, after backward,
# its gradient (large tensors are summarised by mean/min/max); every op is an ellipse. The
# loss is the mean over the two images of `-log_softmax(scores)[digit]`: the `getitem`, `neg`,
# `mul` (by the per-sample weights, all 1 here), `sum` and `div` at the bottom.
# `backward_steps` runs the real backward and records it, so the gradients in the picture are
# exactly what the optimizer would use. Rendering needs Graphviz's `dot` or the
# `graphviz-pure` package; without either, the graph is saved as DOT source.

# %%
model.train()
xb, yb = ag.tensor(X_tr[:2]), ag.tensor(y_tr[:2])
xb.name = "2 images"  # named tensors are labelled so in the picture
loss = loss_fn(model(xb), yb)
loss.name = "loss"
model.zero_grad()
steps = viz.backward_steps(loss, params=model)
print(f"graph: {len(steps.graph.ops)} ops, {len(steps)} backward steps")
graph = steps.digraph(rankdir="TB")  # top to bottom: fits a page better than left to right
if viz.find_dot() is not None:
    show(viz.render(graph, out / "graph.svg"))
else:  # no Graphviz renderer installed: keep the DOT source, and say how to render it
    (out / "graph.dot").write_text(graph.source)
    print(f"wrote {out / 'graph.dot'}, not rendered: {viz.INSTALL_HINT}")
model.zero_grad()

# %% [markdown]
# ## Checkpoint
#
# `save` writes the weights (`state_dict`) to a `.npz` file with a JSON manifest and a
# checksum, no pickle; the optimizer's state (Adam's moment estimates) goes beside it, so
# training could resume exactly. A *fresh* network, with other random weights, loads the file
# and must predict exactly what the trained one does.

# %%
ag.save(model.state_dict(), out / "model.npz")
ag.save({"optimizer": optimizer.state_dict(), "epoch": history.epochs}, out / "optimizer.npz")
print("wrote", out / "model.npz", "and", out / "optimizer.npz")

ag.manual_seed(args.seed + 1)
fresh = make_model()
fresh.load_state_dict(ag.load(out / "model.npz"))
fresh_optimizer = optim.Adam(fresh.parameters(), lr=2e-3)
fresh_optimizer.load_state_dict(ag.load(out / "optimizer.npz")["optimizer"])
fresh.eval()
with ag.no_grad():
    reloaded = fresh(ag.tensor(X_te)).numpy()
assert np.array_equal(reloaded, logits), "the reloaded model predicts differently"
print("checkpoint reload: identical predictions")

# %%
print(f"elapsed: {time.perf_counter() - start:.1f} s")
