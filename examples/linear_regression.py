# %% [markdown]
"""Linear regression as in the lecture: one neuron y = wx + b, solved two ways.

House size -> price (synthetic, from a seeded formula), then size, bedrooms, zip code and
wealth -> price; each solved by the normal equation and by batch gradient descent with
autograd_lite. Then a singular X^T X, where the normal equation fails and gradient descent does
not, and finally scikit-learn's (bundled) diabetes data with a train/validation/test split. Run:
    python examples/linear_regression.py [--out runs/linear_regression] [--seed 0] [--quick]
"""

# %% [markdown]
# # Linear regression: the normal equation versus gradient descent
#
# A single neuron without an activation is linear regression: `y_hat = w x + b`, trained by
# minimising the mean squared error `L = 1/N sum (y - y_hat)^2`. The lecture gives two ways to
# find the best `w` and `b`:
#
# * **the normal equation** `w* = (X^T X)^-1 X^T y`, exact in one step, where `X` has a column
#   of ones appended so that `b` is the last entry of `w*`. It needs `X^T X` to be invertible,
#   and costs O(n^3) in the number of features n, so it fails on singular or huge problems;
# * **gradient descent**, which repeats `w <- w - lr dL/dw` with
#   `dL/dw = -2/N sum (y - y_hat) x` and `dL/db = -2/N sum (y - y_hat)`. It works whatever
#   `X^T X` is, and autograd computes those derivatives for us.
#
# This script runs both on the same data and checks that they agree.

# %%

import matplotlib.pyplot as plt
import numpy as np
from common import parse_args, show
from sklearn.datasets import load_diabetes

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.data import DataLoader, TensorDataset, train_val_test_split
from autograd_lite.plot import plot_loss, plot_regression, save_figure

args = parse_args("linear_regression",
                  "Linear regression: normal equation vs gradient descent")
rng = np.random.default_rng(args.seed)
ag.manual_seed(args.seed)
EPOCHS_1, EPOCHS_4, EPOCHS_DIABETES = (100, 300, 60) if args.quick else (200, 1000, 300)
print(f"seed {args.seed}, {'quick' if args.quick else 'full'} run, plots in {args.out}/")

# %% [markdown]
# ## The two solvers
#
# `normal_equation` appends the column of ones and solves `(X^T X) w = X^T y` (the formula,
# without forming the inverse, which is slower and less accurate). Before solving it checks the
# rank of `X`: when a column is a combination of others, `X^T X` has no inverse, and the error
# names the columns involved (they are the non-zero entries of a null vector of `X`).
#
# `gradient_descent` trains `nn.Linear(n, 1)` with `nn.MSELoss` and plain `optim.SGD` on the
# whole training set at every step (`DataLoader(batch_size=None)`: batch gradient descent).
# It first **standardises** the features (zero mean, unit variance): raw sizes of ~150 m^2 next
# to bedroom counts of ~3 make the loss a long narrow valley, where a learning rate small enough
# for the steep direction crawls along the flat one. Afterwards the weights are mapped back to
# the original units, `w = w_s / sigma`, `b = b_s - sum(w_s mu / sigma)`, to compare them with
# the normal equation. Everything is float64 here so that the two solutions can agree to many
# digits (float32 would stop the comparison at ~1e-7 relative).


# %%
def design_matrix(X):
    """[X, 1]: the features with a column of ones, whose weight is the bias b."""
    return np.column_stack([X, np.ones(len(X))]).astype(np.float64)


def normal_equation(X, y, names):
    """w* = (X^T X)^-1 X^T y on [X, 1]; returns [w_1 .. w_n, b]. Raises LinAlgError naming the
    dependent columns when X^T X is singular."""
    A = design_matrix(X)
    rank = np.linalg.matrix_rank(A)
    if rank < A.shape[1]:
        null = np.linalg.svd(A)[2][-1]  # A @ null = 0: a combination of columns that vanishes
        involved = [n for n, v in zip([*names, "bias"], null) if abs(v) > 1e-6 * abs(null).max()]
        raise np.linalg.LinAlgError(
            f"X^T X is singular (rank {rank} < {A.shape[1]} unknowns, condition number "
            f"{np.linalg.cond(A.T @ A):.1e}): the columns {', '.join(involved)} are linearly "
            f"dependent, so (X^T X)^-1 does not exist and infinitely many w fit equally well")
    return np.linalg.solve(A.T @ A, A.T @ y.reshape(-1))


def standardise(X, mean, std):
    return (X - mean) / std


def gradient_descent(X, y, epochs, lr, model=None):
    """Batch gradient descent on standardised features; returns ([w_1 .. w_n, b] in original
    units, History, model, (mean, std))."""
    mean, std = X.mean(axis=0), X.std(axis=0)
    if model is None:
        model = nn.Linear(X.shape[1], 1, dtype=np.float64)
    loader = DataLoader(TensorDataset(standardise(X, mean, std), y), batch_size=None)
    history = ag.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=lr), loader,
                     epochs=epochs, progress=not args.quick)
    w_s, b_s = model.weight.numpy().reshape(-1), model.bias.item()
    w = w_s / std
    return np.append(w, b_s - w @ mean), history, model, (mean, std)


def mse(X, y, theta):
    return float(np.mean((design_matrix(X) @ theta - y.reshape(-1)) ** 2))


# %% [markdown]
# ## 1. House size -> price, one neuron
#
# The data: 100 houses with
#
# `size ~ Uniform(50, 250)` (m^2), `price = 100 + 3 * size + 40 * eps`, `eps ~ Normal(0, 1)`
#
# (price in thousands of dollars), all drawn from the seed. So the true line is `w = 3`,
# `b = 100`; the noise keeps any method from recovering it exactly, but both methods should find
# the same least-squares line.

# %%
size = rng.uniform(50, 250, size=(100, 1))
price = 100 + 3 * size + 40 * rng.standard_normal((100, 1))

theta_ne = normal_equation(size, price, ["size"])

# %% [markdown]
# Before training, one look at the first step: the gradient that `backward()` computes for the
# standardised size `x` is the lecture's formula, `dL/dw = -2/N sum (y - y_hat) x` and
# `dL/db = -2/N sum (y - y_hat)`.

# %%
model = nn.Linear(1, 1, dtype=np.float64)
mean1, std1 = size.mean(axis=0), size.std(axis=0)
x = standardise(size, mean1, std1)
y_hat = model(ag.tensor(x))
nn.MSELoss()(y_hat, ag.tensor(price)).backward()
residual = price - y_hat.numpy()
formula_w = -2 / len(x) * np.sum(residual * x)
formula_b = -2 / len(x) * np.sum(residual)
grad_diff = max(abs(model.weight.grad.item() - formula_w), abs(model.bias.grad.item() - formula_b))
print(f"first step: dL/dw autograd {model.weight.grad.item():.6f}, formula {formula_w:.6f}; "
      f"dL/db autograd {model.bias.grad.item():.6f}, formula {formula_b:.6f}")
print(f"max |autograd - formula| (linear regression): {grad_diff:.1e}")

# %% [markdown]
# Now train that neuron (fit zeroes the gradient before each step) and compare.

# %%
theta_gd, history1, model1, (mean1, std1) = gradient_descent(size, price, EPOCHS_1, lr=0.1,
                                                              model=model)
gap1 = float(np.max(np.abs(theta_gd - theta_ne)))
print("\n1 feature, house size -> price ($1000)")
print(f"  normal equation:  w = {theta_ne[0]:.6f}, b = {theta_ne[1]:.6f}")
print(f"  gradient descent: w = {theta_gd[0]:.6f}, b = {theta_gd[1]:.6f}  ({EPOCHS_1} steps)")
print("  true formula:     w = 3, b = 100")
print(f"  1-feature gap: {gap1:.1e} (largest |difference| of w, b in original units)")
print(f"  MSE: normal equation {mse(size, price, theta_ne):.4f}, "
      f"gradient descent {mse(size, price, theta_gd):.4f}")

# %% [markdown]
# The fitted line over the data (the normal equation's line dashed on top), and the loss per
# step: it falls to the normal equation's MSE (the dotted line), the least any line can do.

# %%
ax = plot_regression(lambda t: model1(standardise(t, mean1, std1)), size, price)
grid = np.linspace(size.min(), size.max(), 2)
ax.plot(grid, theta_ne[0] * grid + theta_ne[1], "k--", linewidth=1, label="normal equation")
ax.set(xlabel="size (m$^2$)", ylabel="price ($1000)", title="one neuron: price = w size + b")
ax.legend()
show(save_figure(ax, args.out / "house_price_fit.png"))
plt.close(ax.figure)

ax = plot_loss(history1, log=True, title="batch gradient descent, 1 feature")
ax.set_xlabel("epoch (full batch: one step each)")
ax.axhline(mse(size, price, theta_ne), color="k", linestyle=":", label="normal equation MSE")
ax.legend()
show(save_figure(ax, args.out / "house_price_loss.png"))
plt.close(ax.figure)

# %% [markdown]
# ## 2. Four inputs: size, bedrooms, zip code, wealth -> price
#
# 200 houses from the formula (sizes in m^2, prices in $1000):
#
# * `size ~ Uniform(50, 250)`
# * `bedrooms = clip(round(size / 50 + 0.7 eps1), 1, 6)` (bigger houses have more bedrooms)
# * `zip ~ {1, ..., 9}` uniformly: the district, numbered here by distance from the centre,
#   so that a larger number means further out (real zip codes are labels, not quantities; a
#   model would one-hot encode them)
# * `wealth = 90 - 5 zip + 10 eps2`: median neighbourhood income ($1000 / year)
# * `price = 50 + 2.5 size + 10 bedrooms - 8 zip + 1.2 wealth + 30 eps3`
#
# with independent `eps_i ~ Normal(0, 1)`. The features are correlated (size with bedrooms, zip
# with wealth), which is what standardising helps gradient descent with.

# %%
names4 = ["size", "bedrooms", "zip", "wealth"]
true4 = np.array([2.5, 10, -8, 1.2, 50])
n4 = 200
size4 = rng.uniform(50, 250, n4)
bedrooms = np.clip(np.round(size4 / 50 + 0.7 * rng.standard_normal(n4)), 1, 6)
zip_code = rng.integers(1, 10, n4).astype(np.float64)
wealth = 90 - 5 * zip_code + 10 * rng.standard_normal(n4)
X4 = np.column_stack([size4, bedrooms, zip_code, wealth])
y4 = (design_matrix(X4) @ true4 + 30 * rng.standard_normal(n4)).reshape(-1, 1)

theta4_ne = normal_equation(X4, y4, names4)
theta4_gd, history4, _, _ = gradient_descent(X4, y4, EPOCHS_4, lr=0.2)
gap4 = float(np.max(np.abs(theta4_gd - theta4_ne)))
print("\n4 features -> price ($1000)")
print(f"  {'':9} {'normal eq.':>12} {'grad. descent':>14} {'true':>7}")
for name, a, b, t in zip([*names4, "bias b"], theta4_ne, theta4_gd, true4):
    print(f"  {name:9} {a:12.6f} {b:14.6f} {t:7g}")
print(f"  4-feature gap: {gap4:.1e} (largest |difference|, original units, {EPOCHS_4} steps)")

ax = plot_loss(history4, log=True, title="batch gradient descent, 4 features")
ax.set_xlabel("epoch (full batch: one step each)")
ax.axhline(mse(X4, y4, theta4_ne), color="k", linestyle=":", label="normal equation MSE")
ax.legend()
show(save_figure(ax, args.out / "house_4_features_loss.png"))
plt.close(ax.figure)

# %% [markdown]
# ## 3. When the normal equation fails: a singular X^T X
#
# Suppose the listings give the size twice (say from the agent and from the land registry),
# and both columns go into `X`. One column is now a copy of another, `X` has rank 5 for 6
# unknowns, and `X^T X` has no inverse: the normal equation has no unique answer. (The same
# happens with any exact linear relation, e.g. the size in m^2 and in square feet, and almost
# happens, with a huge condition number, when features are nearly collinear.)
#
# Gradient descent does not need the inverse. It still walks downhill, to one of the infinitely
# many minimisers: the two size columns get identical gradients, so it only learns their sum.

# %%
names_dup = ["size", "size (again)", "bedrooms", "zip", "wealth"]
X_dup = np.column_stack([size4, X4])
try:
    normal_equation(X_dup, y4, names_dup)
    singular_message = "normal equation unexpectedly succeeded"
except np.linalg.LinAlgError as e:
    singular_message = f"normal equation failed: {e}"
print("\nduplicated size column")
print(f"  singular: {singular_message}")
try:  # what numpy alone says (it may also return huge, meaningless numbers instead)
    np.linalg.inv(design_matrix(X_dup).T @ design_matrix(X_dup))
    print("  (np.linalg.inv alone did not notice: round-off hid the singularity)")
except np.linalg.LinAlgError as e:
    print(f"  (np.linalg.inv alone raises LinAlgError: {e})")

theta_dup, _, _, _ = gradient_descent(X_dup, y4, EPOCHS_4, lr=0.1)
loss_dup = mse(X_dup, y4, theta_dup)
best = np.linalg.lstsq(design_matrix(X_dup), y4.reshape(-1), rcond=None)[0]  # SVD: no inverse
print(f"  singular: gradient descent final MSE: {loss_dup:.4f} "
      f"(least-squares minimum {mse(X_dup, y4, best):.4f})")
print(f"  w_size + w_size_again = {theta_dup[0] + theta_dup[1]:.6f} "
      f"(= the normal equation's w_size without the copy, {theta4_ne[0]:.6f})")

# %% [markdown]
# ## 4. Real data: diabetes progression
#
# scikit-learn ships the diabetes data (442 patients, 10 measurements such as age, BMI, blood
# pressure and six blood serum values; the target is a measure of disease progression one year
# later), so it loads without a network. We split it 60/20/20 into train, validation and test,
# standardise with the *training* statistics only (the test set must stay unseen), and train with
# mini-batches of 32 through `fit`, watching the validation loss. The normal equation on the same
# training set is the reference: the lowest training MSE any linear model can reach. (On the test
# set, gradient descent that has not fully converged may land slightly above or below it.)

# %%
diabetes = load_diabetes()
Xd, yd = diabetes.data, diabetes.target.reshape(-1, 1)
(Xd_tr, yd_tr), (Xd_va, yd_va), (Xd_te, yd_te) = train_val_test_split(
    Xd, yd, val=0.2, test=0.2, seed=args.seed)
mean_d, std_d = Xd_tr.mean(axis=0), Xd_tr.std(axis=0)


def loader(X, y, **kwargs):
    return DataLoader(TensorDataset(standardise(X, mean_d, std_d), y), **kwargs)


model_d = nn.Linear(10, 1, dtype=np.float64)
history_d = ag.fit(model_d, nn.MSELoss(), optim.SGD(model_d.parameters(), lr=0.02),
                   loader(Xd_tr, yd_tr, batch_size=32, shuffle=True, seed=args.seed),
                   loader(Xd_va, yd_va, batch_size=None), epochs=EPOCHS_DIABETES,
                   progress=not args.quick)


def r_squared(prediction, y):
    """1 - SS_res / SS_tot: the fraction of the target's variance the model explains."""
    return 1 - np.sum((y - prediction) ** 2) / np.sum((y - y.mean()) ** 2)


with ag.no_grad():
    pred_gd = model_d(ag.tensor(standardise(Xd_te, mean_d, std_d))).numpy()
theta_d = normal_equation(Xd_tr, yd_tr, diabetes.feature_names)
pred_ne = (design_matrix(Xd_te) @ theta_d).reshape(-1, 1)
mse_gd, mse_ne = np.mean((pred_gd - yd_te) ** 2), np.mean((pred_ne - yd_te) ** 2)
r2_gd, r2_ne = r_squared(pred_gd, yd_te), r_squared(pred_ne, yd_te)
print(f"\ndiabetes: {len(Xd_tr)} train / {len(Xd_va)} validation / {len(Xd_te)} test")
print(f"  gradient descent ({EPOCHS_DIABETES} epochs): test MSE {mse_gd:.1f}, test R^2 {r2_gd:.3f}")
print(f"  normal equation:                test MSE {mse_ne:.1f}, test R^2 {r2_ne:.3f}")

ax = plot_loss(history_d, log=True, title="diabetes: mini-batch gradient descent")
ax.axhline(mse(Xd_tr, yd_tr, theta_d), color="k", linestyle=":",
           label="normal equation (train MSE)")
ax.legend()
show(save_figure(ax, args.out / "diabetes_loss.png"))
plt.close(ax.figure)

fig, ax = plt.subplots()
ax.scatter(yd_te, pred_gd, s=15, label=f"gradient descent (R$^2$ {r2_gd:.2f})")
ax.scatter(yd_te, pred_ne, s=15, marker="x", label=f"normal equation (R$^2$ {r2_ne:.2f})")
lims = [yd_te.min(), yd_te.max()]
ax.plot(lims, lims, "k--", linewidth=1, label="perfect prediction")
ax.set(xlabel="true progression", ylabel="predicted", title="diabetes: test set")
ax.legend()
show(save_figure(fig, args.out / "diabetes_predictions.png"))
plt.close(fig)

# %% [markdown]
# ## Summary

# %%
print("\nsummary")
print(f"  max |autograd - formula| (linear regression): {grad_diff:.1e}")
print(f"  1-feature gap: {gap1:.1e}")
print(f"  4-feature gap: {gap4:.1e}")
print(f"  singular: {singular_message.split(':')[0]}; gradient descent final MSE: {loss_dup:.4f}")
print(f"  diabetes test R^2: {r2_gd:.3f} (normal equation {r2_ne:.3f})")
print(f"  diabetes test MSE: {mse_gd:.1f} (normal equation {mse_ne:.1f})")
