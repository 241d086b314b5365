"""Plots for training: loss curves, decision boundaries, regression fits, gradient flow.

matplotlib is an optional extra (``pip install 'autograd_lite[plot]'``), imported only when a
function here is called. Every function draws on ``ax`` when given, else on a new pyplot figure
(shown by ``plt.show()`` or inline in Jupyter; close it with ``plt.close(ax.figure)`` when
drawing many), and returns the Axes. ``save_figure`` writes a PNG or SVG atomically.

>>> import matplotlib; matplotlib.use("Agg")  # no window: draw to files
>>> X, y = ag.datasets.make_moons(64, seed=0)
>>> loader = ag.data.DataLoader(ag.data.TensorDataset(X, y), batch_size=16)
>>> model = ag.nn.Sequential(ag.nn.Linear(2, 8), ag.nn.ReLU(), ag.nn.Linear(8, 2))
>>> optimizer = ag.optim.SGD(model.parameters(), lr=0.1)
>>> history = ag.fit(model, ag.nn.CrossEntropyLoss(), optimizer, loader, loader, epochs=3,
...                  progress=False)
>>> ax = plot_loss(history, log=True)
>>> save_figure(ax, "loss.png")
PosixPath('loss.png')
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._tensor import Tensor, as_array
from .diagnostics import (
    MAGNITUDE_FLAGS,
    WIRING_FLAGS,
    GradientFlowRow,
    _inference,
    _model_input,
    gradient_flow,
)
from .grad_mode import no_grad
from .io import atomic_write
from .nn.module import Module
from .training import History

_INSTALL_HINT = "pip install 'autograd_lite[plot]'"


def _pyplot():
    """matplotlib.pyplot, or an ImportError that says how to install it (each public function
    calls this first, so a missing matplotlib is reported before any other check)."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(f"autograd_lite.plot needs matplotlib, which is not installed: "
                          f"{_INSTALL_HINT}") from e
    return plt


def _axes(ax):
    if ax is None:
        _, ax = _pyplot().subplots()
    return ax


def _numpy(x, what) -> np.ndarray:
    arr = as_array(x)
    if arr.dtype == object:
        raise TypeError(f"{what}: expected numbers, got {arr.dtype} values")
    return arr


def _predict(model_or_fn, points: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """The model's outputs on ``points`` (as a numpy array): a Module runs in eval mode (its
    modes restored after), anything else is called as is; both without recording a graph."""
    if not callable(model_or_fn):
        raise TypeError(f"expected a Module or a function of a Tensor, got "
                        f"{type(model_or_fn).__name__}")
    context = (_inference(model_or_fn) if isinstance(model_or_fn, Module)
               else no_grad())
    outputs = []
    with context:
        for start in range(0, len(points), batch_size):
            batch = points[start:start + batch_size]
            out = model_or_fn(_model_input(model_or_fn, batch) if isinstance(model_or_fn, Module)
                              else Tensor(batch))
            outputs.append(_numpy(out, "model output"))
    return np.concatenate(outputs)


# ---- loss curves -------------------------------------------------------------------------------


def plot_loss(history_or_train, val=None, *, ax=None, title: str | None = None,
              log: bool = False, xlabel: str = "epoch"):
    """Training (and validation) loss per epoch, epochs numbered from 1 as ``fit`` prints them.

    Takes a ``History`` (its ``best_epoch`` is marked) or a list of training losses and an
    optional list of validation losses (the epoch of the lowest validation loss is marked).
    ``log=True`` uses a log-scaled loss axis; ``xlabel`` names the x axis (e.g. "step" for
    per-update losses such as ``History.batch_loss``). Returns the Axes.

    >>> ax = plot_loss([0.9, 0.5, 0.4], val=[1.0, 0.7, 0.8])
    >>> ax.get_legend_handles_labels()[1]
    ['train', 'validation', 'best epoch (2)']
    >>> plot_loss([1.0, 0.1, 0.01], log=True).get_yscale()
    'log'
    """
    _pyplot()
    if isinstance(history_or_train, History):
        if val is not None:
            raise TypeError("plot_loss: a History already holds the validation loss; pass "
                            "either a History or lists, not both")
        train, val = history_or_train.train_loss, history_or_train.val_loss
        best = history_or_train.best_epoch
    else:
        train, best = history_or_train, None
    losses = _numpy(train, "plot_loss").astype(np.float64).reshape(-1)
    val = None if val is None or len(val) == 0 else \
        _numpy(val, "plot_loss").astype(np.float64).reshape(-1)
    if len(losses) == 0 and val is None:
        raise ValueError("plot_loss: no losses to plot (the History or lists are empty)")
    if best is None and val is not None and not np.all(np.isnan(val)):
        best = int(np.nanargmin(val))
    ax = _axes(ax)
    if len(losses):
        ax.plot(np.arange(1, len(losses) + 1), losses, label="train", color="C0")
    if val is not None:
        ax.plot(np.arange(1, len(val) + 1), val, label="validation", color="C1")
    curve = val if val is not None else losses
    if best is not None and 0 <= best < len(curve):
        epoch, value = best + 1, curve[best]
        ax.plot([epoch], [value], linestyle="none", marker="*", markersize=14, color="C3",
                zorder=3, label=f"best epoch ({epoch})")
        ax.annotate(f"best: epoch {epoch}\n{value:.4g}", xy=(epoch, value),
                    xytext=(0, 18), textcoords="offset points", ha="center", va="bottom",
                    arrowprops={"arrowstyle": "-", "color": "C3"})
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    if title is not None:
        ax.set_title(title)
    ax.legend()
    return ax


# ---- decision boundary and regression fit ------------------------------------------------------


def _class_indices(y: np.ndarray) -> np.ndarray:
    labels = y.reshape(-1)
    rounded = np.rint(labels) if labels.dtype.kind == "f" else labels
    if labels.dtype.kind not in "iubf" or np.any(rounded != labels) or np.any(labels < 0):
        raise ValueError("plot_decision_boundary: y must hold class indices 0, 1, ..., K-1")
    return rounded.astype(np.int64)


def _predicted_classes(out: np.ndarray, n: int, threshold: float) -> np.ndarray:
    if out.shape[0] != n:
        raise ValueError(f"plot_decision_boundary: the model returned {out.shape[0]} rows for "
                         f"{n} grid points (output shape {out.shape})")
    out = out.reshape(n, -1)
    if out.shape[1] > 1:
        return out.argmax(axis=1)  # (N, C) scores: the highest wins
    return (out[:, 0] >= threshold).astype(np.int64)


def plot_decision_boundary(model_or_fn, X, y, *, ax=None, resolution: int = 200,
                           padding: float = 0.5, threshold: float = 0.5):
    """Class regions of a classifier of 2-D inputs, with the points ``X`` coloured by class
    ``y`` (indices 0..K-1). Returns the Axes.

    The model is evaluated on a ``resolution`` x ``resolution`` grid spanning ``X`` plus
    ``padding`` on every side, without a graph (a Module in eval mode, restored after). (N, C)
    outputs are classified by argmax; a single output per sample by ``output >= threshold``:
    0.5 (the default) suits probabilities from a Sigmoid, pass ``threshold=0.0`` for logits.
    ``model_or_fn`` is a Module or any function of a Tensor.

    >>> X, y = ag.datasets.make_moons(64, seed=0)
    >>> model = ag.nn.Sequential(ag.nn.Linear(2, 8), ag.nn.ReLU(), ag.nn.Linear(8, 2))
    >>> ax = plot_decision_boundary(model, X, y)                 # (N, C) logits
    >>> ax = plot_decision_boundary(ag.nn.Linear(2, 1), X, y, threshold=0.0)  # one logit each
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('$x_1$', '$x_2$')
    """
    _pyplot()
    X = _numpy(X, "plot_decision_boundary")
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (N, 2), got {X.shape}")
    labels = _class_indices(_numpy(y, "plot_decision_boundary"))
    if len(labels) != len(X):
        raise ValueError(f"plot_decision_boundary: X has {len(X)} rows but y has "
                         f"{len(labels)} labels")
    if len(X) == 0 or resolution < 2:
        raise ValueError("plot_decision_boundary: need at least one point and resolution >= 2")
    dtype = X.dtype if X.dtype.kind == "f" else np.float64
    xs = np.linspace(X[:, 0].min() - padding, X[:, 0].max() + padding, resolution)
    ys = np.linspace(X[:, 1].min() - padding, X[:, 1].max() + padding, resolution)
    xx, yy = np.meshgrid(xs, ys)
    grid = np.column_stack([xx.ravel(), yy.ravel()]).astype(dtype)
    classes = _predicted_classes(_predict(model_or_fn, grid), len(grid), threshold)
    classes = classes.reshape(xx.shape)
    n_classes = int(max(classes.max(), labels.max())) + 1
    ax = _axes(ax)
    import matplotlib

    palette = matplotlib.colormaps["tab10"]
    colors = [palette(k % palette.N) for k in range(n_classes)]
    # one filled band per class: levels halfway between the class indices
    ax.contourf(xx, yy, classes, levels=np.arange(n_classes + 1) - 0.5, colors=colors,
                alpha=0.3)
    for k in range(n_classes):
        mask = labels == k
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], color=colors[k], edgecolors="black",
                       linewidths=0.5, s=20, label=f"class {k}")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="best")
    return ax


def plot_regression(model_or_fn, X, y, *, ax=None, resolution: int = 200):
    """The data ``(X, y)`` as points and the model's prediction as a line over ``resolution``
    evenly spaced inputs from min(X) to max(X). ``X`` has shape (N,) or (N, 1); the model is
    given inputs of the same kind and must return one value per input. Returns the Axes.

    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> y = 2 * X[:, 0] + 1
    >>> ax = plot_regression(ag.nn.Linear(1, 1), X, y)
    >>> ax.get_legend_handles_labels()[1]
    ['data', 'model']
    """
    _pyplot()
    X = _numpy(X, "plot_regression")
    y = _numpy(y, "plot_regression").reshape(-1)
    if not (X.ndim == 1 or (X.ndim == 2 and X.shape[1] == 1)):
        raise ValueError(f"plot_regression: X must have shape (N,) or (N, 1), got {X.shape}")
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"plot_regression: X has {len(X)} rows and y has {len(y)} values; "
                         "they must match and not be empty")
    dtype = X.dtype if X.dtype.kind == "f" else np.float64
    xs = np.linspace(X.min(), X.max(), resolution).astype(dtype)
    predictions = _predict(model_or_fn, xs.reshape((-1,) + X.shape[1:]))
    if predictions.size != len(xs):
        raise ValueError(f"plot_regression: the model must return one value per input; it "
                         f"returned shape {predictions.shape} for {len(xs)} inputs")
    ax = _axes(ax)
    ax.scatter(X.reshape(-1), y, s=15, alpha=0.7, color="C0", label="data")
    ax.plot(xs, predictions.reshape(-1), color="C1", linewidth=2, label="model")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()
    return ax


# ---- gradient flow -----------------------------------------------------------------------------

_WIRING_COLOR, _MAGNITUDE_COLOR = "tab:red", "tab:orange"


def plot_gradient_flow(model_or_rows, *, ax=None):
    """Mean and max |grad| per parameter as bars on a log scale, after ``backward()``.
    Parameters that received no gradient (or an all-zero one) are shaded red and their names
    written in red; vanishing, exploding or non-finite ones orange (see
    ``diagnostics.gradient_flow``). Takes a Module or ``gradient_flow`` rows. Returns the Axes.

    >>> model = ag.nn.Sequential(ag.nn.Linear(2, 3), ag.nn.ReLU(), ag.nn.Linear(3, 1))
    >>> loss = model(ag.ones((4, 2))).sum()
    >>> loss.backward()
    >>> ax = plot_gradient_flow(model)
    >>> [label.get_text() for label in ax.get_xticklabels()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """
    _pyplot()
    if isinstance(model_or_rows, (list, tuple)) and all(
            isinstance(r, GradientFlowRow) for r in model_or_rows):
        rows = list(model_or_rows)
    else:
        rows = gradient_flow(model_or_rows)
    if not rows:
        raise ValueError("plot_gradient_flow: the model has no parameters")
    ax = _axes(ax)
    from matplotlib.patches import Patch

    def heights(values):  # a log axis cannot show 0, NaN or inf: leave those bars out
        v = np.array(values, dtype=np.float64)
        return np.where(np.isfinite(v) & (v > 0), v, np.nan)

    x = np.arange(len(rows))
    width = 0.4
    ax.bar(x - width / 2, heights([r.mean_abs for r in rows]), width, color="C0",
           label="mean |grad|")
    ax.bar(x + width / 2, heights([r.max_abs for r in rows]), width, color="C9",
           label="max |grad|")
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([r.name for r in rows], rotation=90)
    handles, _ = ax.get_legend_handles_labels()
    for color, flags, text in [(_WIRING_COLOR, WIRING_FLAGS, "no / zero gradient"),
                               (_MAGNITUDE_COLOR, MAGNITUDE_FLAGS,
                                "vanishing / exploding / non-finite")]:
        flagged = [i for i, r in enumerate(rows) if r.flag in flags]
        for i in flagged:
            ax.axvspan(i - 0.5, i + 0.5, color=color, alpha=0.15, zorder=0)
            ax.get_xticklabels()[i].set_color(color)
        if flagged:
            handles.append(Patch(color=color, alpha=0.3, label=text))
    ax.set_xlim(-0.5, len(rows) - 0.5)
    ax.set_ylabel("|grad|")
    ax.set_title("gradient flow")
    ax.legend(handles=handles)
    return ax


# ---- saving ------------------------------------------------------------------------------------


def save_figure(fig_or_ax, path) -> Path:
    """Write the figure (or the figure of an Axes) to ``path``, its format from the suffix
    (.png, .svg, .pdf, ...). Atomic (``io.atomic_write``): written to a temporary file beside
    ``path`` and moved into place, so a failure never leaves a half-written image. Returns the
    path.

    >>> save_figure(plot_loss([0.9, 0.5, 0.4]), "loss.svg")
    PosixPath('loss.svg')
    """
    _pyplot()
    from matplotlib.backend_bases import FigureCanvasBase

    fig = fig_or_ax
    for _ in range(3):  # an Axes -> its (sub)figure -> the figure
        if hasattr(fig, "savefig"):
            break
        fig = getattr(fig, "figure", None)
    if not hasattr(fig, "savefig"):
        raise TypeError(f"save_figure: expected a matplotlib Figure or Axes, got "
                        f"{type(fig_or_ax).__name__}")
    path = Path(path)
    fmt = path.suffix[1:].lower()
    supported = FigureCanvasBase.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(f"save_figure: cannot tell the format from '{path.name}': use one of "
                         + ", ".join(f".{k}" for k in sorted(supported)))
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, bbox_inches="tight"))
    return path
