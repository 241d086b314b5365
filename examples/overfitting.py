# %% [markdown]
"""Overfitting, and three cures: a too-large MLP on 150 handwritten digits.

Trains the same network four times, the same way: as is (its training and validation losses
drift apart), with weight decay, with dropout and with early stopping; plots the four loss
curves side by side (overfitting.png in --out) and prints each one's test accuracy and the gap
between its validation and training losses. Run:
    python examples/overfitting.py [--out runs/overfitting/] [--seed 0] [--quick]
"""

# %% [markdown]
# # Overfitting, and three ways to fight it
#
# A network with far more parameters than training examples can learn the examples by heart:
# its training loss goes to zero while the loss on unseen data stops falling and starts to
# climb. Here: about 300,000 weights, 150 training images.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from common import parse_args, show
from sklearn.datasets import load_digits

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.data import DataLoader, TensorDataset, train_val_test_split
from autograd_lite.plot import plot_loss, save_figure

args = parse_args("overfitting", "Overfitting and regularisation on the digits")
start = time.perf_counter()

# %% [markdown]
# ## A small training set
#
# The digits (8x8 images, pixels 0..16, scaled to [0, 1]) are split into validation (20%) and
# test (30%) sets as usual, but training gets only 150 of the remaining images, 15 per digit
# (a stratified draw): few examples, so memorising them is easy.

# %%
digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)
y = digits.target.astype(np.int64)
(X_pool, y_pool), (X_va, y_va), (X_te, y_te) = train_val_test_split(
    X, y, val=0.2, test=0.3, seed=args.seed, stratify=y)
(X_tr, y_tr), _, _ = train_val_test_split(X_pool, y_pool, test=len(X_pool) - 150,
                                          seed=args.seed, stratify=y_pool)  # keep 150
print(f"data: {len(X_tr)} train, {len(X_va)} validation, {len(X_te)} test images")

train_set = TensorDataset(X_tr, y_tr)
train_eval = DataLoader(train_set, batch_size=1024)  # the whole training set, for evaluation
val_loader = DataLoader(TensorDataset(X_va, y_va), batch_size=1024)
test_loader = DataLoader(TensorDataset(X_te, y_te), batch_size=1024)


# %% [markdown]
# ## A network much too large for its data
#
# `64 -> 512 -> 512 -> 10` with ReLUs. Every variant starts from the *same* initial weights
# (the seed is reset before each is built) and sees the same mini-batches in the same order,
# so the only difference between the runs is the regulariser.
#
# The dropout variant adds `Dropout` layers: while training, each one zeroes a random part of
# its inputs (20% of the pixels, half of the hidden units) at every step, so no unit can rely
# on a particular other one; in `eval()` mode they pass everything through.

# %%
def make_model(dropout: bool = False) -> nn.Module:
    ag.manual_seed(args.seed)
    drop = (lambda p: [nn.Dropout(p)]) if dropout else (lambda p: [])
    return nn.Sequential(*drop(0.2),
                         nn.Linear(64, 512), nn.ReLU(), *drop(0.5),
                         nn.Linear(512, 512), nn.ReLU(), *drop(0.5),
                         nn.Linear(512, 10))


print(make_model())

# %% [markdown]
# Training: plain mini-batch SGD with momentum, batch 32, the same number of epochs for all.
# After training, each model is measured in eval mode on the training and validation sets:
# the *gap* between the two losses is how much better it does on what it has seen than on
# what it has not. A large gap is the signature of overfitting.

# %%
epochs = 30 if args.quick else 150
loss_fn = nn.CrossEntropyLoss()
results = {}


def train(name: str, model: nn.Module, weight_decay: float = 0.0, callbacks=()) -> ag.History:
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=weight_decay)
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True, seed=args.seed)
    history = ag.fit(model, loss_fn, optimizer, train_loader, val_loader, epochs=epochs,
                     callbacks=callbacks, progress=not args.quick)
    train_loss = ag.evaluate(model, loss_fn, train_eval)["loss"]
    val_loss = ag.evaluate(model, loss_fn, val_loader)["loss"]
    test_acc = ag.evaluate(model, loss_fn, test_loader, {"accuracy": ag.accuracy})["accuracy"]
    results[name] = {"history": history, "gap": val_loss - train_loss, "test": test_acc,
                     "train_loss": train_loss, "val_loss": val_loss}
    print(f"{name}: {history.epochs} epochs, best validation loss "
          f"{min(history.val_loss):.3f} at epoch {history.best_epoch + 1}; final model: train "
          f"loss {train_loss:.4f}, validation loss {val_loss:.3f}")
    print(f"final val-train loss gap ({name}): {val_loss - train_loss:.3f}")
    print(f"test accuracy ({name}): {test_acc:.3f}")
    return history


# %% [markdown]
# ## 1. No regularisation: the curves diverge
#
# The training loss falls towards zero: the network has memorised its 150 images. The
# validation loss reaches its lowest point after a few epochs (the star), then *rises*: the
# network grows ever more confident, and when it is wrong it is confidently wrong, so the
# average loss on unseen images slowly grows while the training loss keeps shrinking.

# %%
train("baseline", make_model())

# %% [markdown]
# ## 2. Weight decay (L2 regularisation)
#
# Adds `weight_decay * w` to each gradient, the gradient of `weight_decay / 2 * ||w||^2`: every
# step pulls every weight a little towards zero, so the network cannot grow the large weights
# that make it overconfident. (`optim.AdamW` does the same for Adam, decoupled from its
# moment estimates.)

# %%
train("weight decay", make_model(), weight_decay=3e-3)

# %% [markdown]
# ## 3. Dropout
#
# The same training, with the dropout layers in the network. Each step trains a different
# random sub-network, which acts like averaging many smaller models. Its *training* curve is
# recorded during training, with dropout on, so it lies above the validation curve (measured
# in eval mode, the whole network): the fair comparison is the gap printed below, where both
# losses come from the model in eval mode.

# %%
train("dropout", make_model(dropout=True))

# %% [markdown]
# ## 4. Early stopping
#
# Watch the validation loss and stop when it has not improved for 10 epochs, then put back the
# weights of its best epoch (`restore_best_weights=True`): the model is the one from the
# bottom of the validation curve, found without knowing the right number of epochs in advance.

# %%
train("early stopping", make_model(),
      callbacks=[ag.EarlyStopping(patience=10, restore_best_weights=True)])

# %% [markdown]
# ## The four runs side by side
#
# Log-scaled loss: the training loss falls by orders of magnitude while the validation loss
# barely moves, so on a linear axis the interesting part would be squashed flat. The epoch
# axes are shared, so early stopping's short run shows where it stopped.

# %%
fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True, sharey=True)
for ax, (name, result) in zip(axes.flat, results.items()):
    plot_loss(result["history"], ax=ax, log=True,
              title=f"{name}: test accuracy {result['test']:.3f}, gap {result['gap']:.2f}")
    ax.label_outer()  # axis labels once per row and column
fig.suptitle(f"An MLP of 300k weights on {len(X_tr)} digits: cross-entropy per epoch")
fig.tight_layout()
show(save_figure(fig, args.out / "overfitting.png"))
plt.close(fig)

# %% [markdown]
# ## Summary
#
# Every regulariser shrinks the gap between validation and training loss. On so few examples
# the test accuracy moves less than the losses do: weight decay and early stopping mainly stop
# the network from becoming overconfident, while dropout, which in effect trains on noisy
# variants of the images, usually gains a point or two of accuracy as well (with other
# seeds, try `--seed 1`, the differences change; the smaller gaps remain).

# %%
print(f"{'':16}{'train loss':>12}{'val loss':>10}{'gap':>8}{'test acc':>10}")
for name, r in results.items():
    print(f"{name:16}{r['train_loss']:12.4f}{r['val_loss']:10.3f}{r['gap']:8.3f}"
          f"{r['test']:10.3f}")
print(f"elapsed: {time.perf_counter() - start:.1f} s")
