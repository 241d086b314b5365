# %% [markdown]
"""An autoencoder that flags malignant tumours as anomalies, having seen only benign ones.

Course week 5 (Learning Strategies: Unsupervised Learning), with the anomaly detection of
weeks 9-10 in small. The breast-cancer data ships with scikit-learn (no network): 569 tumours,
30 measurements each. The autoencoder is trained on benign tumours only; a tumour it
reconstructs badly is flagged. Prints the test ROC AUC, the threshold (chosen on validation
data) and the precision and recall there; writes loss_curves.png, errors.png and roc.png into
--out. Run:
    python examples/autoencoder_anomaly.py [--out runs/autoencoder_anomaly/] [--seed 0] [--quick]
"""

# %% [markdown]
# # Anomaly detection with an autoencoder
#
# An *autoencoder* is a network trained to output its own input, through a narrow middle layer
# (the *code*): the encoder squeezes 30 numbers into 8, the decoder rebuilds the 30 from them.
# No labels are needed, the input is the target: this is unsupervised learning. To succeed
# through the bottleneck the network must learn what the training data has in common.
#
# Trained on *normal* data only, it learns to rebuild normal data well and nothing else. An
# input unlike anything it has seen comes out distorted: its *reconstruction error* is large.
# That error is an anomaly score, and one threshold turns it into a detector.
#
# Here "normal" is a benign tumour and "anomalous" a malignant one: real anomalies, not noise
# added by hand, which the network never sees while it learns.

# %%
import time
from collections import OrderedDict

import matplotlib.pyplot as plt
import numpy as np
from common import parse_args, show
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.data import train_val_test_split
from autograd_lite.plot import plot_loss, save_figure
from autograd_lite.utils.data import DataLoader, TensorDataset

args = parse_args("autoencoder_anomaly", "An autoencoder flags malignant tumours")
out = args.out
start = time.perf_counter()

# %% [markdown]
# ## The data
#
# The benign tumours are split into train (60%), validation (20%) and test (20%). The
# malignant ones all go to the test set: neither training nor the choice of the threshold
# looks at a single anomaly, as when a detector must be built before any fault has been seen
# (faults are rare, and each one is different).
#
# Standardisation uses the mean and standard deviation of the *normal training* data only:
# the detector's idea of "usual" must come from the data it learns from, and validation and
# test samples stay unseen.

# %%
X, y = load_breast_cancer(return_X_y=True)  # y: 0 malignant, 1 benign
X = X.astype(np.float32)
normal, anomalous = X[y == 1], X[y == 0]
(X_tr,), (X_va,), (X_te_normal,) = train_val_test_split(normal, val=0.2, test=0.2,
                                                        seed=args.seed)
mean, std = X_tr.mean(axis=0), X_tr.std(axis=0)
X_tr, X_va, X_te_normal, X_te_anomalous = ((part - mean) / std
                                          for part in (X_tr, X_va, X_te_normal, anomalous))
print(f"data: {len(X_tr)} train, {len(X_va)} validation, {len(X_te_normal)} test benign "
      f"tumours; {len(X_te_anomalous)} malignant ones, all in the test set; "
      f"{X.shape[1]} features")

# %% [markdown]
# ## The autoencoder
#
# `30 -> 16 -> 8 -> 16 -> 30`, tanh in the hidden layers, a linear code and a linear output
# (standardised features take any sign). The encoder and the decoder are two named
# `Sequential`s inside one: `model.encoder(x)` gives the code of `x`.

# %%
FEATURES, HIDDEN, CODE = X.shape[1], 16, 8


def make_autoencoder() -> nn.Module:
    encoder = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, CODE))
    decoder = nn.Sequential(nn.Linear(CODE, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, FEATURES))
    return nn.Sequential(OrderedDict(encoder=encoder, decoder=decoder))


ag.manual_seed(args.seed)
model = make_autoencoder()
print(model)

# %% [markdown]
# ## Training: the input is the target
#
# `TensorDataset(X_tr, X_tr)`: every sample is its own label, and the loss is the mean squared
# difference between the input and its reconstruction. The validation loss (benign tumours
# the network does not train on) shows whether it learns what benign tumours share or just
# memorises the training ones.

# %%
epochs = 20 if args.quick else 100
train_loader = DataLoader(TensorDataset(X_tr, X_tr), batch_size=32, shuffle=True,
                          seed=args.seed)
val_loader = DataLoader(TensorDataset(X_va, X_va), batch_size=1024)
optimizer = optim.Adam(model.parameters(), lr=1e-3)
train_start = time.perf_counter()
history = ag.fit(model, nn.MSELoss(), optimizer, train_loader, val_loader, epochs=epochs,
                 progress=not args.quick)
print(f"trained {history.epochs} epochs in {time.perf_counter() - train_start:.1f} s: "
      f"train loss {history.train_loss[-1]:.4f}, validation loss {history.val_loss[-1]:.4f}")

ax = plot_loss(history, title="Autoencoder on benign tumours: reconstruction MSE per epoch")
show(save_figure(ax, out / "loss_curves.png"))
plt.close(ax.figure)


# %% [markdown]
# ## The anomaly score: reconstruction error
#
# One number per tumour: the mean squared difference between its 30 standardised features and
# their reconstruction. `eval()` and `no_grad()`: scoring needs no graph.

# %%
def reconstruction_error(data: np.ndarray) -> np.ndarray:
    model.eval()
    with ag.no_grad():
        rebuilt = model(ag.tensor(data)).numpy()
    return ((rebuilt - data) ** 2).mean(axis=1)


err_va = reconstruction_error(X_va)
err_normal = reconstruction_error(X_te_normal)
err_anomalous = reconstruction_error(X_te_anomalous)
print(f"median reconstruction error: benign {np.median(err_normal):.3f}, "
      f"malignant {np.median(err_anomalous):.3f} (test set)")


# %% [markdown]
# ## How well does the score separate the two? ROC AUC
#
# The ROC curve plots, for every possible threshold, the share of anomalies caught (true
# positive rate, recall) against the share of normal samples wrongly flagged (false positive
# rate). The area under it (AUC) is the probability that a random anomaly scores higher than
# a random normal sample: 0.5 is a coin toss, 1.0 a perfect ranking. It needs no threshold.
#
# That probability is a count over all (anomaly, normal) pairs, which ranks give at once: rank
# all scores together (ties share their average rank); the anomalies' ranks sum to
# `n_a (n_a + 1) / 2` (the pairs among themselves) plus the number of pairs they win.

# %%
def roc_auc(normal_scores: np.ndarray, anomalous_scores: np.ndarray) -> float:
    scores = np.concatenate([normal_scores, anomalous_scores])
    _, tie_group = np.unique(scores, return_inverse=True)
    first_rank = np.concatenate([[1], 1 + np.cumsum(np.bincount(tie_group))[:-1]])
    counts = np.bincount(tie_group)
    ranks = (first_rank + (counts - 1) / 2)[tie_group]  # average rank within each tie
    n_a, n_n = len(anomalous_scores), len(normal_scores)
    wins = ranks[n_n:].sum() - n_a * (n_a + 1) / 2
    return float(wins / (n_a * n_n))


def roc_curve(normal_scores: np.ndarray, anomalous_scores: np.ndarray):
    """False and true positive rates for every threshold, from flagging nothing to all."""
    scores = np.unique(np.concatenate([normal_scores, anomalous_scores]))  # sorted
    thresholds = np.concatenate([[np.inf], scores[::-1]])
    fpr = (normal_scores[None, :] >= thresholds[:, None]).mean(axis=1)
    tpr = (anomalous_scores[None, :] >= thresholds[:, None]).mean(axis=1)
    return fpr, tpr


auc = roc_auc(err_normal, err_anomalous)
labels = np.r_[np.zeros(len(err_normal)), np.ones(len(err_anomalous))]
sklearn_auc = roc_auc_score(labels, np.r_[err_normal, err_anomalous])
print(f"test ROC AUC: {auc:.3f} (scikit-learn's roc_auc_score: {sklearn_auc:.3f})")

# %% [markdown]
# A fair yardstick: PCA keeps the 8 directions of largest variance of the training data and
# rebuilds each sample from its projection on them. That is exactly what the best *linear*
# autoencoder with an 8-unit code learns, so the gap to it is what the tanh layers add.

# %%
_, _, components = np.linalg.svd(X_tr, full_matrices=False)  # X_tr is centred: PCA
basis = components[:CODE].T


def pca_error(data: np.ndarray) -> np.ndarray:
    return ((data - data @ basis @ basis.T) ** 2).mean(axis=1)


print(f"PCA ({CODE} components) test ROC AUC: "
      f"{roc_auc(pca_error(X_te_normal), pca_error(X_te_anomalous)):.3f}")

# %% [markdown]
# ## The threshold, chosen on validation data
#
# A detector must say yes or no. The threshold is the 95th percentile of the reconstruction
# errors of the *validation* benign tumours: about 5% of normal samples will be flagged, a
# false-alarm rate we choose in advance. No anomaly is needed to pick it (a best-F1 threshold
# would need labelled anomalies in the validation set), and the test set plays no part, so
# the figures below are an honest estimate.
#
# Precision (of the flagged tumours, how many are malignant) depends on how common anomalies
# are in the data scored: here the test set holds about 3 malignant tumours per benign one,
# far more than a screening would see. The false-alarm rate does not depend on that mix.

# %%
threshold = float(np.percentile(err_va, 95))
flagged_normal = err_normal > threshold
flagged_anomalous = err_anomalous > threshold
true_pos = int(flagged_anomalous.sum())
precision = true_pos / max(true_pos + int(flagged_normal.sum()), 1)
recall = true_pos / len(err_anomalous)
false_alarms = float(flagged_normal.mean())
print(f"threshold: {threshold:.4f} (95th percentile of the validation errors)")
print(f"at the threshold: precision {precision:.3f}, recall {recall:.3f}, "
      f"false-alarm rate {false_alarms:.3f} (test set)")

# %% [markdown]
# ## The two pictures
#
# The errors of benign and malignant test tumours, with the threshold: everything right of the
# line is flagged. A log scale, since malignant errors span several orders of magnitude.

# %%
bins = np.geomspace(min(err_normal.min(), err_anomalous.min()),
                    max(err_normal.max(), err_anomalous.max()), 40)
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.hist(err_normal, bins=bins, alpha=0.6, label=f"benign (normal), {len(err_normal)}")
ax.hist(err_anomalous, bins=bins, alpha=0.6, label=f"malignant (anomalous), "
        f"{len(err_anomalous)}")
ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
ax.set_xscale("log")
ax.set_xlabel("reconstruction error (mean squared, standardised features)")
ax.set_ylabel("test tumours")
ax.set_title(f"Reconstruction errors on the test set: precision {precision:.2f}, "
             f"recall {recall:.2f}")
ax.legend()
fig.tight_layout()
show(save_figure(fig, out / "errors.png"))
plt.close(fig)

# %% [markdown]
# The ROC curve, with the point the threshold picks on it.

# %%
fpr, tpr = roc_curve(err_normal, err_anomalous)
fig, ax = plt.subplots(figsize=(5, 5))
ax.plot(fpr, tpr, label=f"autoencoder, AUC {auc:.3f}")  # the area under it is the AUC
ax.plot([0, 1], [0, 1], color="gray", linestyle=":", label="chance, AUC 0.5")
ax.plot(false_alarms, recall, "ko", label="the threshold")
ax.set_xlabel("false positive rate (benign flagged)")
ax.set_ylabel("true positive rate (malignant flagged)")
ax.set_title("ROC curve on the test set")
ax.set_aspect("equal")
ax.legend(loc="lower right")
fig.tight_layout()
show(save_figure(fig, out / "roc.png"))
plt.close(fig)

# %%
print(f"elapsed: {time.perf_counter() - start:.1f} s")
