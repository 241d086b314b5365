# %% [markdown]
"""A recurrent network forecasting the yearly sunspot numbers, against two baselines.

Course week 7 (Model Architecture: Sequence Models), with the time series of weeks 10-11 in
small. The sunspot series ships with statsmodels (no network): the yearly sunspot number,
1700-2008. Each model reads the last 12 years and forecasts the next one; a GRU is compared
with the naive forecast (next year = this year) and a linear autoregression fitted by least
squares. Prints each one's test error; writes loss_curves.png and forecasts.png into --out.
Run:
    python examples/sequence_model.py [--out runs/sequence_model/] [--seed 0] [--quick]
"""

# %% [markdown]
# # Forecasting sunspots with a recurrent network
#
# A recurrent network reads a sequence one step at a time and carries a *hidden state* from
# step to step: a summary of everything read so far. The same weights are used at every step,
# so it handles sequences of any length with a fixed number of parameters.
#
# The series: the number of sunspots each year since 1700. It rises and falls in a cycle of
# about 11 years, but not like a sine wave: each cycle has its own height, and a cycle climbs
# faster than it falls. That asymmetry is what a linear model cannot express.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from common import parse_args, show
from statsmodels.datasets import sunspots

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.plot import plot_loss, save_figure
from autograd_lite.utils.data import DataLoader, TensorDataset

args = parse_args("sequence_model", "A GRU forecasting the yearly sunspot numbers")
out = args.out
start = time.perf_counter()

# %% [markdown]
# ## The data, split in time
#
# A forecast must never peek at the future, so the split is chronological, not random:
# the model is fitted on 1700-1920, its settings (training epochs, the autoregression's order)
# are chosen on 1921-1955, and the test years 1956-2008 are touched once, at the end. The test
# period holds the highest cycle on record (1957): harder than anything in training.
#
# The values are standardised with the mean and standard deviation of the training years.

# %%
data = sunspots.load_pandas().data
years = data["YEAR"].to_numpy().astype(int)
series = data["SUNACTIVITY"].to_numpy().astype(np.float64)
VAL_START, TEST_START = 1921, 1956
train_end = int(np.searchsorted(years, VAL_START))
mean, std = series[:train_end].mean(), series[:train_end].std()
scaled = ((series - mean) / std).astype(np.float32)
print(f"data: yearly sunspot numbers {years[0]}-{years[-1]} ({len(series)} years); train "
      f"until {VAL_START - 1}, validation {VAL_START}-{TEST_START - 1}, test from {TEST_START}")

# %% [markdown]
# ## Windows: the last 12 years -> the next one
#
# Every year from 1712 on is a target; its input is the window of the 12 years before it
# (one solar cycle and a bit). A window may reach back into an earlier part of the split:
# those years are known when the forecast is made. All three models see the same windows.

# %%
WINDOW = 12
targets = np.arange(WINDOW, len(scaled))  # index of the forecast year
windows = np.stack([scaled[t - WINDOW:t] for t in targets])  # (n, 12)
part = np.where(years[targets] < VAL_START, "train",
                np.where(years[targets] < TEST_START, "val", "test"))
train, val, test = (part == name for name in ("train", "val", "test"))
print(f"windows: {train.sum()} train, {val.sum()} validation, {test.sum()} test")


def rmse(forecast_scaled: np.ndarray, where: np.ndarray) -> float:
    """Root mean squared error in sunspots (the forecasts are unscaled first)."""
    forecast = forecast_scaled[where] * std + mean
    return float(np.sqrt(np.mean((forecast - series[targets[where]]) ** 2)))


# %% [markdown]
# ## Baseline 1: next year = this year
#
# The naive forecast. Any model worth its training must beat it.

# %%
naive = windows[:, -1]

# %% [markdown]
# ## Baseline 2: linear autoregression
#
# `x_t = w_1 x_{t-1} + ... + w_p x_{t-p} + b`, fitted by least squares on the training
# windows (`np.linalg.lstsq`, the normal equation's safe form). The order `p` (how many past
# years) is chosen on the validation years, as the GRU's number of epochs is.

# %%
def fit_autoregression(p: int) -> np.ndarray:
    design = np.c_[windows[:, WINDOW - p:], np.ones(len(windows))]
    weights, *_ = np.linalg.lstsq(design[train], scaled[targets[train]], rcond=None)
    return design @ weights


order = min(range(1, WINDOW + 1), key=lambda p: rmse(fit_autoregression(p), val))
autoregression = fit_autoregression(order)
print(f"autoregression order chosen on validation: AR({order})")

# %% [markdown]
# ## The recurrent network
#
# A GRU (gated recurrent unit) with 32 hidden units reads the 12 years one at a time; a linear
# layer turns its last output (the hidden state after the last year) into the forecast.
# `nn.GRU(input_size, hidden_size, batch_first=True)` takes a batch shaped
# `(batch, time, features)`, here `(n, 12, 1)`, and returns `(output, h_n)`: the hidden state at
# every step, and the last one per layer. `nn.LSTM` is the same call; it returns
# `(output, (h_n, c_n))`, a cell state beside the hidden one.

# %%
class Forecaster(nn.Module):
    def __init__(self, hidden: int = 32):
        super().__init__()
        self.rnn = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        output, _ = self.rnn(x)                      # (batch, time, hidden)
        return self.head(output[:, -1]).reshape(-1)  # the last step -> one number per window


ag.manual_seed(args.seed)
model = Forecaster()
print(model)

# %% [markdown]
# ## Training
#
# Mean squared error, Adam, mini-batches of 16 windows in a new random order each epoch
# (each window holds its own history, so shuffling windows loses nothing). Early stopping
# watches the validation loss and restores the weights of its best epoch.

# %%
epochs = 25 if args.quick else 80
inputs = windows[..., None]  # one feature per time step
train_loader = DataLoader(TensorDataset(inputs[train], scaled[targets[train]]), batch_size=16,
                          shuffle=True, seed=args.seed)
val_loader = DataLoader(TensorDataset(inputs[val], scaled[targets[val]]), batch_size=1024)
optimizer = optim.Adam(model.parameters(), lr=3e-3)
train_start = time.perf_counter()
history = ag.fit(model, nn.MSELoss(), optimizer, train_loader, val_loader, epochs=epochs,
                 callbacks=[ag.EarlyStopping(patience=20, restore_best_weights=True)],
                 progress=not args.quick)
print(f"trained {history.epochs} epochs in {time.perf_counter() - train_start:.1f} s; best "
      f"validation loss {min(history.val_loss):.4f} at epoch {history.best_epoch + 1}")
ax = plot_loss(history, title="GRU on sunspots: MSE of standardised forecasts per epoch")
show(save_figure(ax, out / "loss_curves.png"))
plt.close(ax.figure)

model.eval()
with ag.no_grad():
    recurrent = model(ag.tensor(inputs)).numpy()

# %% [markdown]
# ## Test errors
#
# Root mean squared error in sunspots, one forecast a year ahead. The validation column is
# where the choices were made; the test column is the verdict.

# %%
forecasts = {"naive last value": naive, f"linear AR({order})": autoregression,
             "GRU": recurrent}
for name, forecast in forecasts.items():
    print(f"validation RMSE ({name}): {rmse(forecast, val):.2f}")
for name, forecast in forecasts.items():
    print(f"test RMSE ({name}): {rmse(forecast, test):.2f}")
errors = {name: rmse(forecast, test) for name, forecast in forecasts.items()}
best_baseline = min(errors[name] for name in errors if name != "GRU")
print(f"GRU vs best baseline: {errors['GRU']:.2f} vs {best_baseline:.2f} "
      f"({'better' if errors['GRU'] < best_baseline else 'not better'})")

# %% [markdown]
# ## Forecasts against the truth
#
# Validation and test years. The naive forecast is the truth shifted by a year: always late.
# The autoregression follows the cycle but misjudges its turning points and its peaks; the
# GRU's state lets it treat a rising cycle differently from a falling one.

# %%
shown = val | test
fig, ax = plt.subplots(figsize=(11, 4.5))
ax.plot(years[targets[shown]], series[targets[shown]], color="black", linewidth=2,
        label="observed")
for name, forecast in forecasts.items():
    ax.plot(years[targets[shown]], forecast[shown] * std + mean, linewidth=1.2,
            label=f"{name} (test RMSE {errors[name]:.1f})")
ax.axvspan(TEST_START - 0.5, years[-1] + 0.5, color="gray", alpha=0.12,
           label=f"test years ({TEST_START}-{years[-1]})")
ax.set_xlabel("year")
ax.set_ylabel("sunspot number")
ax.set_title("One-year-ahead forecasts of the yearly sunspot number: validation and test years")
ax.legend(loc="upper left", fontsize=8)
fig.tight_layout()
show(save_figure(fig, out / "forecasts.png"))
plt.close(fig)

# %% [markdown]
# With about 200 years to learn from, how the data is presented matters as much as the model:
# try the square root of the counts (it evens out the cycles' heights) for all three models.

# %%
print(f"elapsed: {time.perf_counter() - start:.1f} s")
