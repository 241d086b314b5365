# %% [markdown]
"""Deploy a trained network without autograd_lite: export it to ONNX and run it in ONNX Runtime.

The digits MLP of neural_network.py (scikit-learn's 8x8 digits, no download), trained briefly,
is written to digits.onnx with ``ag.onnx.export``; ONNX Runtime, which knows nothing of
autograd_lite, loads the file and classifies the test images. Prints how far its scores are
from autograd_lite's and how often the two predict the same digit. Needs the ``onnx`` extra
(``pip install -e '.[onnx]'``). Writes digits.onnx into --out. Run:
    python examples/onnx_export.py [--out runs/onnx_export/] [--seed 0] [--quick]
"""

# %% [markdown]
# # From a trained model to a deployable file
#
# Training needs the whole library: tensors, the graph, gradients, an optimizer. Using the
# trained network needs far less: its weights and the sequence of operations of one forward
# pass. ONNX is a standard file format for exactly that, and ONNX Runtime (or TensorRT,
# OpenVINO, a browser's onnxruntime-web, ...) runs such files fast, with no Python training
# code around.

# %%
import numpy as np
import onnxruntime
from common import parse_args
from sklearn.datasets import load_digits

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.data import DataLoader, TensorDataset, train_val_test_split
from autograd_lite.onnx import export

args = parse_args("onnx_export", "Export the digits MLP to ONNX and run it in ONNX Runtime")

# %% [markdown]
# ## Train the digits network (as neural_network.py does, briefly)
#
# The same data, split and standardisation, the same `64 -> 128 -> 10` MLP, Adam, `fit`.

# %%
digits = load_digits()
X = digits.data.astype(np.float32)
y = digits.target.astype(np.int64)
(X_tr, y_tr), (X_va, y_va), (X_te, y_te) = train_val_test_split(
    X, y, val=0.2, test=0.2, seed=args.seed, stratify=y)
mean, std = X_tr.mean(axis=0), X_tr.std(axis=0)
std[std == 0] = 1.0
X_tr, X_va, X_te = ((part - mean) / std for part in (X_tr, X_va, X_te))

ag.manual_seed(args.seed)
model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
history = ag.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=2e-3),
                 DataLoader(TensorDataset(X_tr, y_tr), batch_size=32, shuffle=True,
                            seed=args.seed),
                 DataLoader(TensorDataset(X_va, y_va), batch_size=512),
                 epochs=2 if args.quick else 20, metrics={"accuracy": ag.accuracy},
                 progress=False)
print(f"trained {history.epochs} epochs: validation accuracy "
      f"{history.metrics['val_accuracy'][-1]:.3f}")

# %% [markdown]
# ## Export
#
# `export` runs the forward once on an example batch and records every op. The weights become
# the file's initializers, named as in `model.state_dict()`; the only input is the images,
# named `pixels`. `dynamic_axes` says the batch size may change: the example has 1 image, the
# test set hundreds. The model is exported in eval mode, as PyTorch's `torch.onnx.export` does.

# %%
path = args.out / "digits.onnx"
export(model, ag.tensor(X_te[:1]), path, input_names=["pixels"], output_names=["scores"],
       dynamic_axes={"pixels": {0: "batch"}, "scores": {0: "batch"}})
print(f"wrote {path} ({path.stat().st_size} bytes)")

# %% [markdown]
# ## Run it in ONNX Runtime
#
# A fresh session reads only the file. Its scores should equal autograd_lite's up to float32
# rounding (the two libraries add and multiply in different orders), so both pick the same
# digit for every image.

# %%
session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
print("ONNX Runtime sees inputs", [(i.name, i.shape) for i in session.get_inputs()],
      "and outputs", [(o.name, o.shape) for o in session.get_outputs()])
(onnx_scores,) = session.run(None, {"pixels": X_te})
with ag.no_grad():
    our_scores = model.eval()(ag.tensor(X_te)).numpy()
agree = int((onnx_scores.argmax(axis=1) == our_scores.argmax(axis=1)).sum())
print(f"largest score difference: {np.abs(onnx_scores - our_scores).max():.2e}")
print(f"predictions agree on {agree} of {len(X_te)} test images; test accuracy "
      f"{ag.accuracy(onnx_scores, y_te):.3f} (ONNX Runtime), "
      f"{ag.accuracy(our_scores, y_te):.3f} (autograd_lite)")
