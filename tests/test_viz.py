"""viz: the computation graph as DOT, rendered by a real Graphviz renderer."""

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import viz


def slide_graph():
    """The lecture's chain-rule example: C0 = (sigmoid(w a + b) - y)^2."""
    w = ag.tensor(0.5, requires_grad=True)
    b = ag.tensor(-0.1, requires_grad=True)
    w.name, b.name = "w", "b"
    cost = (ag.sigmoid(w * 0.48 + b) - 1.0) ** 2
    return cost, w, b


def test_graph_has_one_node_per_op_and_per_tensor():
    cost, _, _ = slide_graph()
    source = viz.draw_graph(cost).source
    ops = ["mul", "add", "sigmoid", "sub", "pow"]
    for op in ops:
        assert f"label={op} " in source
    # 5 op nodes; tensors: w, b, 4 intermediates, the output
    assert source.count("shape=ellipse") == len(ops)
    assert source.count("shape=box") == 2 + 4 + 1
    assert source.count("->") == 5 + 6  # each op -> its output; each tensor input -> its op


def test_leaves_show_names_values_and_grads_after_backward():
    cost, w, _ = slide_graph()
    cost.backward(retain_graph=True)
    source = viz.draw_graph(cost).source
    assert "w\nfloat32[]\nvalue 0.5" in source
    assert f"grad {np.array2string(w.grad.numpy(), precision=4)}" in source


def test_a_renderer_is_found():
    """CI installs one (system dot or graphviz-pure): rendering is tested, never skipped."""
    assert viz.find_dot() is not None


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_render_writes_a_real_image(tmp_path, fmt):
    cost, _, _ = slide_graph()
    path = viz.render(viz.draw_graph(cost), tmp_path / f"graph.{fmt}")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") if fmt == "png" else b"<svg" in data
    if fmt == "svg":
        assert b"sigmoid" in data
    assert not list(tmp_path.glob("*.tmp"))


def test_render_without_a_renderer_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(viz, "find_dot", lambda: None)
    cost, _, _ = slide_graph()
    with pytest.raises(RuntimeError, match="apt install graphviz"):
        viz.render(viz.draw_graph(cost), tmp_path / "graph.svg")
    assert not (tmp_path / "graph.svg").exists()


def test_render_rejects_unknown_formats(tmp_path):
    cost, _, _ = slide_graph()
    with pytest.raises(ValueError, match="svg, png or pdf"):
        viz.render(viz.draw_graph(cost), tmp_path / "graph.gif")
