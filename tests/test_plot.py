"""Plots (autograd_lite/plot.py), checked through the artists' data: loss curves and the best
epoch marker, decision regions probed against the model, the regression line, gradient-flow
bars and highlights; headless saving to PNG and SVG; the install hint without matplotlib."""

import os
import sys
import xml.etree.ElementTree as ET

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # headless: no display needed

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

import autograd_lite as ag  # noqa: E402
from autograd_lite import nn, plot  # noqa: E402
from autograd_lite.diagnostics import gradient_flow  # noqa: E402
from autograd_lite.training import History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _line(ax, label):
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line


# ---- plot_loss ---------------------------------------------------------------------------------


def test_loss_curves_from_lists_and_the_best_epoch_at_the_lowest_validation_loss():
    train = [2.0, 1.2, 0.8, 0.6, 0.5]
    val = [2.1, 1.5, 1.1, 1.3, 1.6]
    ax = plot.plot_loss(train, val, title="run 1")
    epochs = np.arange(1, 6)
    np.testing.assert_array_equal(_line(ax, "train").get_xdata(), epochs)
    np.testing.assert_array_equal(_line(ax, "train").get_ydata(), train)
    np.testing.assert_array_equal(_line(ax, "validation").get_ydata(), val)
    marker = _line(ax, "best epoch (3)")
    assert list(marker.get_xdata()) == [np.argmin(val) + 1]
    assert list(marker.get_ydata()) == [1.1]
    (note,) = ax.texts
    assert note.get_text() == "best: epoch 3\n1.1" and note.xy == (3, 1.1)
    assert ax.get_title() == "run 1" and ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "train", "validation", "best epoch (3)"]


def test_loss_from_a_history_marks_its_best_epoch():
    h = History()
    for tr, va in [(1.0, 1.2), (0.7, 0.9), (0.5, 0.85), (0.4, 0.95)]:
        h.record("train_loss", tr)
        h.record("val_loss", va)
    h.best_epoch = 1  # e.g. EarlyStopping with min_delta: not the argmin (2)
    ax = plot.plot_loss(h, log=True)
    np.testing.assert_array_equal(_line(ax, "train").get_ydata(), h.train_loss)
    np.testing.assert_array_equal(_line(ax, "validation").get_ydata(), h.val_loss)
    marker = _line(ax, "best epoch (2)")
    assert (list(marker.get_xdata()), list(marker.get_ydata())) == ([2], [0.9])
    assert ax.get_yscale() == "log"


def test_history_without_best_epoch_uses_the_validation_argmin():
    h = History()
    h.train_loss, h.val_loss = [3.0, 2.0, 1.0], [3.0, 1.0, 2.0]
    ax = plot.plot_loss(h)
    assert list(_line(ax, "best epoch (2)").get_ydata()) == [1.0]


def test_training_loss_alone_has_no_best_marker():
    ax = plot.plot_loss(np.array([1.0, 0.5, 0.25]))
    assert [ln.get_label() for ln in ax.get_lines()] == ["train"]
    assert len(ax.texts) == 0


def test_plot_loss_draws_on_a_given_axes():
    ax = Figure().add_subplot()
    assert plot.plot_loss([1.0, 0.5], [1.1, 0.6], ax=ax) is ax
    assert len(ax.get_lines()) == 3


def test_plot_loss_rejects_empty_input_and_a_history_with_extra_lists():
    with pytest.raises(ValueError, match="no losses"):
        plot.plot_loss([])
    with pytest.raises(ValueError, match="no losses"):
        plot.plot_loss(History())
    with pytest.raises(TypeError, match="either a History or lists"):
        plot.plot_loss(History(), [1.0])


# ---- plot_decision_boundary ---------------------------------------------------------------------


def _band_paths(contour_set):
    """One (compound) path per filled band, on old and new matplotlib alike."""
    try:
        return contour_set.get_paths()  # matplotlib >= 3.8: ContourSet is a Collection
    except AttributeError:
        return [MplPath.make_compound_path(*c.get_paths()) for c in contour_set.collections]


def _three_class_model():
    """Scores (x1, x2, -x1 - x2): class 0 right, class 1 top, class 2 bottom-left."""
    m = nn.Linear(2, 3)
    m.weight.data[...] = [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]
    m.bias.data[...] = 0.0
    return m


def _classes_of(model, points):
    with ag.no_grad():
        return model(ag.tensor(np.asarray(points, np.float32))).numpy().argmax(axis=1)


def test_decision_regions_cover_the_grid_and_match_the_model_at_probe_points():
    model = _three_class_model()
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(60, 2)).astype(np.float32)
    y = _classes_of(model, X)
    ax = plot.plot_decision_boundary(model, X, y, resolution=60, padding=0.5)
    contour = ax.collections[0]
    bands = _band_paths(contour)
    np.testing.assert_array_equal(contour.levels, [-0.5, 0.5, 1.5, 2.5])
    # the bands together span the whole grid: the data's range plus the padding
    vertices = np.concatenate([p.vertices for p in bands])
    np.testing.assert_allclose(vertices.min(axis=0), X.min(axis=0) - 0.5, atol=1e-6)
    np.testing.assert_allclose(vertices.max(axis=0), X.max(axis=0) + 0.5, atol=1e-6)
    np.testing.assert_allclose(ax.get_xlim(), [X[:, 0].min() - 0.5, X[:, 0].max() + 0.5])
    # away from the boundaries, each probe point lies in the band of the model's class only
    probes = [(1.5, -1.0), (2.0, 0.3), (-1.0, 1.5), (0.2, 2.0), (-1.5, -1.5), (-2.0, -0.3)]
    for point, cls in zip(probes, _classes_of(model, probes)):
        assert [band.contains_point(point) for band in bands] == [k == cls for k in range(3)]
    assert list(_classes_of(model, probes)) == [0, 0, 1, 1, 2, 2]


def test_decision_boundary_scatters_the_points_by_class():
    model = _three_class_model()
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [2.0, 1.0]], np.float32)
    y = np.array([0, 1, 2, 0])
    ax = plot.plot_decision_boundary(model, X, y, resolution=20)
    scatters = ax.collections[1:]
    assert [s.get_label() for s in scatters] == ["class 0", "class 1", "class 2"]
    for k, s in enumerate(scatters):
        np.testing.assert_array_equal(s.get_offsets(), X[y == k])


@pytest.mark.parametrize("sigmoid", [True, False])
def test_single_output_is_thresholded_probabilities_at_half_logits_at_zero(sigmoid):
    linear = nn.Linear(2, 1)
    linear.weight.data[...] = [[1.0, 1.0]]  # class 1 where x1 + x2 > 0
    linear.bias.data[...] = 0.0
    model = nn.Sequential(linear, nn.Sigmoid()) if sigmoid else linear
    X = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.5], [1.0, -1.5]], np.float32)
    y = np.array([0, 1, 1, 0])
    threshold = 0.5 if sigmoid else 0.0
    ax = plot.plot_decision_boundary(model, X, y, resolution=41, threshold=threshold)
    low, high = _band_paths(ax.collections[0])
    for point in [(-1.0, -1.0), (1.0, -1.6), (-0.6, 0.2)]:
        assert low.contains_point(point) and not high.contains_point(point)
    for point in [(1.0, 1.0), (-1.0, 1.6), (0.6, -0.2)]:
        assert high.contains_point(point) and not low.contains_point(point)


def test_decision_boundary_evaluates_in_eval_mode_and_restores_the_mode():
    # Dropout(p=1) zeroes everything while training: the plot must not see that
    model = nn.Sequential(_three_class_model(), nn.Dropout(1.0))
    model.train()
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], np.float32)
    ax = plot.plot_decision_boundary(model, X, [0, 1, 2], resolution=30)
    assert len(_band_paths(ax.collections[0])) == 3
    assert _band_paths(ax.collections[0])[1].contains_point((0.0, 1.0))
    assert all(m.training for m in model.modules())


def test_decision_boundary_takes_a_plain_function():
    ax = plot.plot_decision_boundary(lambda t: t[:, 0] - 0.25, np.array([[0.0, 0.0], [1.0, 1.0]]),
                                     np.array([0.0, 1.0]), resolution=30, threshold=0.0)
    low, high = _band_paths(ax.collections[0])
    assert low.contains_point((-0.2, 0.5)) and high.contains_point((0.7, 0.5))


def test_decision_boundary_rejects_bad_shapes_and_labels():
    model = _three_class_model()
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plot.plot_decision_boundary(model, np.ones((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="class indices"):
        plot.plot_decision_boundary(model, np.ones((2, 2)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="2 rows but y has 3"):
        plot.plot_decision_boundary(model, np.ones((2, 2)), np.zeros(3))


# ---- plot_regression ---------------------------------------------------------------------------


def test_regression_line_is_the_model_prediction_over_a_sorted_grid():
    model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
    rng = np.random.default_rng(1)
    X = rng.uniform(-3, 3, size=(25, 1)).astype(np.float32)
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=25)
    ax = plot.plot_regression(model, X, y)
    line = _line(ax, "model")
    xs = line.get_xdata()
    assert np.all(np.diff(xs) > 0) and (xs[0], xs[-1]) == (X.min(), X.max())
    with ag.no_grad():
        expected = model(ag.tensor(np.asarray(xs, np.float32).reshape(-1, 1))).numpy()[:, 0]
    np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-6)
    (points,) = ax.collections
    np.testing.assert_allclose(points.get_offsets(), np.column_stack([X[:, 0], y]))


def test_regression_with_one_dimensional_inputs_and_a_function():
    X = np.array([3.0, -1.0, 2.0, 0.0])
    ax = plot.plot_regression(lambda t: t * 2.0 + 1.0, X, 2 * X + 1)
    line = _line(ax, "model")
    np.testing.assert_allclose(line.get_ydata(), 2 * line.get_xdata() + 1)


def test_regression_rejects_multi_feature_inputs_and_multi_output_models():
    with pytest.raises(ValueError, match=r"shape \(N,\) or \(N, 1\)"):
        plot.plot_regression(nn.Linear(2, 1), np.ones((4, 2)), np.ones(4))
    with pytest.raises(ValueError, match="one value per input"):
        plot.plot_regression(nn.Linear(1, 2), np.ones((4, 1)), np.ones(4))


# ---- plot_gradient_flow ------------------------------------------------------------------------


class Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.spare = nn.Linear(3, 2), nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x)


def test_gradient_flow_bars_are_the_row_statistics_and_missing_gradients_are_red():
    model = Unused()
    model(ag.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))).sum().backward()
    model.fc.bias.grad = np.full(2, 1e-9, np.float32)  # vanishing: orange
    ax = plot.plot_gradient_flow(model)
    rows = gradient_flow(model)
    mean_bars, max_bars = ax.containers
    assert (mean_bars.get_label(), max_bars.get_label()) == ("mean |grad|", "max |grad|")
    np.testing.assert_allclose([b.get_height() for b in mean_bars][:2],
                               [r.mean_abs for r in rows[:2]], rtol=1e-6)
    np.testing.assert_allclose([b.get_height() for b in max_bars][:2],
                               [r.max_abs for r in rows[:2]], rtol=1e-6)
    assert all(np.isnan(b.get_height()) for b in list(mean_bars)[2:])  # no gradient: no bar
    assert ax.get_yscale() == "log"
    ax.figure.canvas.draw()  # the highlights must survive drawing
    labels = ax.get_xticklabels()
    assert [t.get_text() for t in labels] == ["fc.weight", "fc.bias", "spare.weight",
                                              "spare.bias"]
    colors = [matplotlib.colors.to_hex(t.get_color()) for t in labels]
    red, orange = (matplotlib.colors.to_hex(c) for c in ("tab:red", "tab:orange"))
    assert colors[1:] == [orange, red, red] and colors[0] not in (red, orange)


def test_gradient_flow_plot_takes_rows():
    model = nn.Linear(2, 1)
    model(ag.tensor([[1.0, 2.0]])).sum().backward()
    rows = gradient_flow(model)
    ax = plot.plot_gradient_flow(rows, ax=Figure().add_subplot())
    np.testing.assert_allclose([b.get_height() for b in ax.containers[1]], [2.0, 1.0])


# ---- save_figure -------------------------------------------------------------------------------


def test_save_png_from_an_axes_and_svg_from_a_figure(tmp_path):
    ax = plot.plot_loss([1.0, 0.5], [1.2, 0.7])
    png = plot.save_figure(ax, tmp_path / "loss.png")
    assert png == tmp_path / "loss.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plot.save_figure(ax.figure, str(tmp_path / "loss.SVG"))
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert sorted(os.listdir(tmp_path)) == ["loss.SVG", "loss.png"]  # no temporary files left


def test_save_replaces_atomically_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "plot.png"
    target.write_bytes(b"old image")
    fig = Figure()
    fig.add_subplot().plot([0, 1])

    def broken(f, **kwargs):
        f.write(b"half an image")
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        plot.save_figure(fig, target)
    assert target.read_bytes() == b"old image"
    assert os.listdir(tmp_path) == ["plot.png"]
    monkeypatch.undo()
    plot.save_figure(fig, target)
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_save_rejects_an_unknown_suffix_and_non_figures(tmp_path):
    ax = Figure().add_subplot()
    with pytest.raises(ValueError, match=r"'plot\.xyz'.*\.png.*\.svg"):
        plot.save_figure(ax, tmp_path / "plot.xyz")
    with pytest.raises(ValueError, match="cannot tell the format"):
        plot.save_figure(ax, tmp_path / "plot")
    with pytest.raises(TypeError, match="expected a matplotlib Figure or Axes"):
        plot.save_figure(np.ones(3), tmp_path / "plot.png")
    assert os.listdir(tmp_path) == []


# ---- without matplotlib ------------------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda: plot.plot_loss([1.0]),
    lambda: plot.plot_decision_boundary(nn.Linear(2, 2), np.ones((2, 2)), [0, 1]),
    lambda: plot.plot_regression(nn.Linear(1, 1), np.ones(2), np.ones(2)),
    lambda: plot.plot_gradient_flow(nn.Linear(1, 1)),
    lambda: plot.save_figure(None, "x.png"),
], ids=["loss", "boundary", "regression", "gradient_flow", "save"])
def test_without_matplotlib_every_function_says_how_to_install_it(monkeypatch, call):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'autograd_lite\[plot\]'"):
        call()


def test_importing_the_module_does_not_import_matplotlib(monkeypatch):
    import importlib

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "autograd_lite.plot")
    monkeypatch.delattr(ag, "plot")  # the package attribute comes back afterwards too
    fresh = importlib.import_module("autograd_lite.plot")
    assert fresh is not plot and callable(fresh.plot_loss)
