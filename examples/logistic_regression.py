# %% [markdown]
"""Logistic regression on the breast-cancer data, trained by batch, stochastic and mini-batch
gradient descent, with the three loss curves on one figure as on the lecture's slide.

The data ships with scikit-learn (no network): 569 tumours, 30 measurements each, labelled
malignant (0) or benign (1). Run:
    python examples/logistic_regression.py [--out runs/logistic_regression] [--seed 0] [--quick]
"""

# %% [markdown]
# # Logistic regression: batch, stochastic and mini-batch gradient descent
#
# Logistic regression is one neuron with a sigmoid: `y_hat = sigmoid(w x + b)`, the probability
# of class 1. It is trained by minimising the log loss (binary cross-entropy)
#
# `L = -1/N sum [y log y_hat + (1 - y) log(1 - y_hat)]`,
#
# whose gradient is, as the lecture derives, `dL/dw = 1/N sum (y_hat - y) x` and
# `dL/db = 1/N sum (y_hat - y)`: the same shape as linear regression's, with the sigmoid's
# output in place of the line's. There is no closed form this time, so gradient descent it is.
#
# The lecture's three variants differ only in how many samples each update looks at:
#
# * **batch**: all N samples per update: the exact gradient, a smooth loss curve, a heavy step;
# * **stochastic** (SGD): one sample per update: cheap, but a noisy estimate of the gradient;
# * **mini-batch**: a few dozen samples: in between, and what everybody uses in practice.
#
# In autograd_lite the choice is one argument, `DataLoader(batch_size=None / 1 / 32)`.

# %%

import matplotlib.pyplot as plt
import numpy as np
from common import parse_args, show
from sklearn.datasets import load_breast_cancer
from tqdm.auto import tqdm

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.data import DataLoader, TensorDataset, train_val_test_split
from autograd_lite.plot import save_figure

args = parse_args("logistic_regression", "Logistic regression: batch vs SGD vs mini-batch")
UPDATES = 500 if args.quick else 3000  # parameter updates per regime
LR = 0.1
print(f"seed {args.seed}, {'quick' if args.quick else 'full'} run, plots in {args.out}/")

# %% [markdown]
# ## The data
#
# 80% for training, 20% for testing, stratified so both keep the classes' proportions. The
# features span very different scales (areas in the thousands, smoothness around 0.1), so they
# are standardised, with the mean and standard deviation of the **training** set only: the test
# set stands for patients not seen yet, whose statistics we could not know. No hyperparameter is
# tuned here, so there is no validation set (`neural_network.py` has one).

# %%
X, y = load_breast_cancer(return_X_y=True)
X = X.astype(np.float32)
y = y.astype(np.float32).reshape(-1, 1)  # (N, 1), the shape nn.Linear(30, 1) predicts
(X_train, y_train), _, (X_test, y_test) = train_val_test_split(
    X, y, test=0.2, seed=args.seed, stratify=y[:, 0])
mean, std = X_train.mean(axis=0), X_train.std(axis=0)
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
n_train = len(X_train)
print(f"breast cancer: {n_train} train / {len(X_test)} test samples, {X.shape[1]} features, "
      f"{y_train.mean():.0%} benign in training")

# %% [markdown]
# ## The model, and its gradient checked against the lecture's formula
#
# `nn.Linear(30, 1)` computes the logit `z = w x + b`; `nn.BCEWithLogitsLoss` applies the
# sigmoid and the log loss in one step, computed from `z` so that it never takes `log(0)`
# (same value as `nn.Sigmoid()` followed by `nn.BCELoss()`, but exact for large `|z|`).
#
# At the first step, on the whole training set, autograd's gradient should be the formula.

# %%
loss_fn = nn.BCEWithLogitsLoss()
X_train_t, y_train_t = ag.tensor(X_train), ag.tensor(y_train)

ag.manual_seed(args.seed)
model = nn.Linear(30, 1)
logits = model(X_train_t)
loss_fn(logits, y_train_t).backward()
y_hat = 1 / (1 + np.exp(-logits.numpy().astype(np.float64)))  # sigmoid, by hand
formula_w = (y_hat - y_train).T @ X_train / n_train          # 1/N sum (y_hat - y) x
formula_b = np.mean(y_hat - y_train)                          # 1/N sum (y_hat - y)
grad_diff = max(np.max(np.abs(model.weight.grad.numpy() - formula_w)),
                abs(model.bias.grad.item() - formula_b))
print(f"first step: dL/db autograd {model.bias.grad.item():.6f}, formula {formula_b:.6f}")
print(f"max |autograd - formula| (logistic regression, 31 derivatives): {grad_diff:.1e}")

# %% [markdown]
# ## Three ways to descend
#
# Each regime starts from the same initial weights (`manual_seed`) and takes the same number of
# updates with the same learning rate; only the batch size differs. The loop is written out
# (it is what `fit` does) so that it can record two curves at every update:
#
# * the loss of the batch the update used: what the optimiser sees;
# * the loss on the whole training set after the update: the real objective.

# %%
REGIMES = {"batch": None, "stochastic": 1, "mini-batch": 32}


def train(batch_size, updates):
    ag.manual_seed(args.seed)  # the same starting point for every regime
    model = nn.Linear(30, 1)
    optimizer = optim.SGD(model.parameters(), lr=LR)
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size,
                        shuffle=batch_size is not None, seed=args.seed)
    batch_losses, train_losses = [], []
    with tqdm(total=updates, desc=f"batch_size={batch_size}", disable=args.quick) as bar:
        while len(batch_losses) < updates:
            for xb, yb in loader:  # one epoch
                loss = loss_fn(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                batch_losses.append(loss.item())
                with ag.no_grad():
                    train_losses.append(loss_fn(model(X_train_t), y_train_t).item())
                bar.update(1)
                if len(batch_losses) == updates:
                    break
    return model, np.array(batch_losses), np.array(train_losses)


results = {}
for name, batch_size in REGIMES.items():
    model, batch_losses, train_losses = train(batch_size, UPDATES)
    with ag.no_grad():
        accuracy = ag.accuracy(model(ag.tensor(X_test)), y_test, threshold=0.0)  # logit >= 0
    per_update = batch_size or n_train
    results[name] = dict(batch_losses=batch_losses, train_losses=train_losses,
                         accuracy=accuracy, per_update=per_update)
    print(f"{name:>10}: {per_update:3d} samples/update, {UPDATES} updates = "
          f"{UPDATES * per_update / n_train:7.1f} epochs; final training loss "
          f"{train_losses[-1]:.4f}, spread of the last 100 batch losses "
          f"{np.std(batch_losses[-100:]):.4f}")

# %% [markdown]
# ## The slide's picture
#
# Left, the loss of each update's own batch: smooth for batch gradient descent, a noisy cloud
# for SGD (one sample's loss jumps between ~0 and several units), in between for mini-batches.
# Right, the loss on the whole training set against the number of passes over the data
# (epochs, log scale): per update batch descent is the steadiest, but each of its updates costs
# a full pass, so per pass over the data SGD and mini-batches get much further.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
styles = {"stochastic": dict(color="C2", linewidth=0.6, alpha=0.6),
          "mini-batch": dict(color="C1", linewidth=0.8, alpha=0.8),
          "batch": dict(color="C0", linewidth=2.0)}
updates = np.arange(1, UPDATES + 1)
for name, style in styles.items():  # batch last, on top
    r = results[name]
    label = f"{name} ({r['per_update']} per update)"
    left.plot(updates, r["batch_losses"], label=label, **style)
    right.plot(updates * r["per_update"] / n_train, r["train_losses"], label=label, **style)
left.set(xlabel="update", ylabel="loss of the update's batch", ylim=(0, 1.2),
         title="what each update sees")
right.set(xlabel="epochs (passes over the training set)", ylabel="training-set loss",
          xscale="log", yscale="log", title="the whole training set")
for ax in (left, right):
    ax.legend()
fig.suptitle(f"logistic regression on breast cancer: batch vs stochastic vs mini-batch "
             f"gradient descent (lr {LR})")
show(save_figure(fig, args.out / "gradient_descent_variants.png"))
plt.close(fig)

# %% [markdown]
# ## Summary
#
# All three reach the same kind of solution on this convex problem; they differ in cost and
# noise on the way.

# %%
print("\nsummary")
print(f"  max |autograd - formula| (logistic regression): {grad_diff:.1e}")
for name, r in results.items():
    print(f"  test accuracy ({name}): {r['accuracy']:.3f}")
