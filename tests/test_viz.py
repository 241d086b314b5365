"""viz: the graph as DOT and as pictures (real renderer), and backprop replayed step by step."""

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn, viz

A_PREV, A_L, Y = 0.48, 0.66, 1.0  # the lecture's chain-rule slide: a(L-1), a(L), target


def slide_graph():
    """C0 = (a(L) - y)^2, a(L) = sigmoid(z), z = w a(L-1) + b, with w, b giving a(L) = 0.66."""
    z = math.log(A_L / (1 - A_L))
    w = ag.tensor(np.float64(1.0), requires_grad=True)
    b = ag.tensor(np.float64(z - A_PREV), requires_grad=True)
    a = ag.tensor(np.float64(A_PREV))
    y = ag.tensor(np.float64(Y))
    w.name, b.name, a.name, y.name = "w(L)", "b(L)", "a(L-1)", "y"
    cost = (ag.sigmoid(w * a + b) - y) ** 2
    return cost, w, b


def counts(source):
    boxes = len(re.findall(r'shape="?box', source))
    ellipses = len(re.findall(r'shape="?ellipse', source))
    edges = source.count("->")
    return boxes, ellipses, edges


# ---- the graph as DOT ----------------------------------------------------------------------------


def test_one_box_per_tensor_one_ellipse_per_op_and_an_edge_per_use():
    cost, _, _ = slide_graph()
    graph = viz.build_graph(cost)
    source = viz.draw_graph(cost).source
    # tensors: w, a, b, y (4 leaves/inputs) + mul, add, sigmoid, sub outputs + the cost
    assert len(graph.tensors) == 9 and len(graph.ops) == 5
    boxes, ellipses, edges = counts(source)
    assert (boxes, ellipses) == (9, 5)
    # each op: one edge to its output, one from each tensor input (the exponent 2 is an attribute)
    assert edges == 5 + sum(len(op.inputs) for op in graph.ops.values()) == 5 + 8
    assert "pow\nexponent=2" in source


def test_labels_carry_names_shapes_values_and_gradients_when_asked():
    cost, w, _ = slide_graph()
    cost.backward(retain_graph=True)
    source = viz.draw_graph(cost).source
    assert "w(L)\nfloat64[]\nvalue 1\n" in source
    assert "a(L-1)\nfloat64[]\nvalue 0.48" in source
    assert f"grad {w.grad.item():.4g}" in source
    bare = viz.draw_graph(cost, show_values=False, show_grads=False, show_shapes=False).source
    assert "value" not in bare and "grad" not in bare and "float64" not in bare


def test_large_values_are_summarised():
    x = ag.tensor(np.arange(100.0), requires_grad=True)
    source = viz.draw_graph((x * 2).sum()).source
    assert "mean 49.5, min 0, max 99" in source


def test_module_parameters_are_named_and_styled_apart_from_inputs():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    x = ag.tensor([[0.5, -1.0]])
    source = viz.draw_graph(model(x).sum(), params=model).source
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f'"{name}\n' in source
    param_fill = viz.STYLES["param"]["fillcolor"]
    input_fill = viz.STYLES["input"]["fillcolor"]
    assert len(re.findall(re.escape(param_fill), source)) == 4
    assert len(re.findall(re.escape(input_fill), source)) == 1


def test_a_graph_beyond_max_nodes_is_refused_with_a_way_out():
    x = ag.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(30):
        y = y * 1.0
    with pytest.raises(ValueError, match=r"more than max_nodes=10 ops.*draw_graph\(hidden\)"):
        viz.draw_graph(y, max_nodes=10)
    assert counts(viz.draw_graph(y, max_nodes=None).source)[1] == 30


def test_text_tree_works_without_graphviz(monkeypatch):
    monkeypatch.setattr(viz, "find_dot", lambda: None)
    cost, _, _ = slide_graph()
    text = viz.graph_text(cost)
    assert text.splitlines()[0].startswith("output float64[] = pow(exponent=2)")
    assert "w(L) float64[]" in text and "a(L-1) float64[]" in text
    assert viz.draw_graph(cost).source.startswith("digraph")  # DOT source needs no renderer
    with pytest.raises(RuntimeError, match="apt install graphviz"):
        viz.render(viz.draw_graph(cost), "never.svg")


# ---- rendering, with a real renderer -------------------------------------------------------


def test_a_renderer_is_found():
    """CI installs one (system dot or graphviz-pure): rendering is tested, never skipped."""
    assert viz.find_dot() is not None


def test_render_svg_is_valid_xml_with_a_text_per_label(tmp_path):
    cost, _, _ = slide_graph()
    path = viz.render(viz.draw_graph(cost), tmp_path / "graph.svg")
    root = ET.fromstring(path.read_bytes())
    assert root.tag.endswith("svg")
    texts = [t.text for t in root.iter() if t.tag.endswith("text")]
    assert "sigmoid" in texts and "w(L)" in texts
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("write", [
    lambda cost, path: viz.render(viz.draw_graph(cost), path),
    lambda cost, path: viz.backward_steps(cost).to_html(path),
], ids=["render", "to_html"])
def test_a_failed_write_leaves_no_temporary_file(tmp_path, write):
    cost, _, _ = slide_graph()
    (tmp_path / "out").mkdir()  # the final rename onto a directory fails
    with pytest.raises(OSError):
        write(cost, tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_render_png(tmp_path):
    cost, _, _ = slide_graph()
    data = viz.render(viz.draw_graph(cost), tmp_path / "graph.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000


def test_render_rejects_unknown_formats(tmp_path):
    cost, _, _ = slide_graph()
    with pytest.raises(ValueError, match="svg, png or pdf"):
        viz.render(viz.draw_graph(cost), tmp_path / "graph.gif")


def test_jupyter_shows_a_tensor_as_text_and_its_graph_as_svg(monkeypatch):
    cost, _, _ = slide_graph()
    bundle = cost._repr_mimebundle_()
    assert bundle["text/plain"] == repr(cost)
    ET.fromstring(bundle["image/svg+xml"])
    assert "image/svg+xml" in viz.draw_graph(cost)._repr_mimebundle_()
    monkeypatch.setattr(viz, "find_dot", lambda: None)
    assert set(cost._repr_mimebundle_()) == {"text/plain"}


# ---- backprop, step by step ------------------------------------------------------------------


def test_the_replay_is_a_real_backward():
    cost, w, b = slide_graph()
    steps = viz.backward_steps(cost)
    cost2, w2, b2 = slide_graph()
    cost2.backward()
    assert w.grad.item() == w2.grad.item() and b.grad.item() == b2.grad.item()
    with pytest.raises(RuntimeError, match="second time"):
        cost.backward()  # the graph was freed, as after backward()
    assert [s.op for s in steps] == ["pow", "sub", "sigmoid", "add", "mul"]


def test_the_slides_chain_rule_appears_step_by_step():
    """dC0/dw(L) = a(L-1) * sigmoid'(z(L)) * 2 (a(L) - y), with the slide's numbers."""
    cost, w, _ = slide_graph()
    steps = viz.backward_steps(cost)
    pow_step, _, sigmoid_step, _, mul_step = steps
    assert pow_step.sent["sub 1"] == pytest.approx(2 * (A_L - Y))
    assert sigmoid_step.derivative == "sigmoid(x) (1 - sigmoid(x))"
    assert sigmoid_step.upstream == pytest.approx(2 * (A_L - Y))
    expected = A_PREV * A_L * (1 - A_L) * 2 * (A_L - Y)
    assert mul_step.sent["w(L)"] == pytest.approx(expected)
    assert mul_step.grads["w(L)"] == pytest.approx(expected) == w.grad.item()
    assert "local derivative: sigmoid(x) (1 - sigmoid(x))" in str(steps)


def test_gradients_so_far_accumulate_over_fan_out():
    x = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.name = "x"
    y = (x * x + x).sum()                 # x feeds two ops: two steps send to it
    steps = viz.backward_steps(y)
    sends = [s.sent["x"] for s in steps if "x" in s.sent]
    assert len(sends) == 2                # mul sends x + x (x * x), add sends 1
    np.testing.assert_allclose(steps[-1].grads["x"], 2 * np.array([1.0, 2.0]) + 1)
    np.testing.assert_allclose(sum(sends), x.grad.numpy())


def test_frames_render_as_numbered_images_with_the_active_op_highlighted(tmp_path):
    cost, _, _ = slide_graph()
    steps = viz.backward_steps(cost)
    paths = steps.render_frames(tmp_path, format="png")
    assert [p.name for p in paths] == [f"step_{i:03d}.png" for i in range(5)]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    source = steps.digraph(2).source
    assert source.count(viz.ACTIVE_OP_STYLE["fillcolor"]) == 1
    assert "local derivative: sigmoid(x) (1 - sigmoid(x))" in source


def test_html_page_is_self_contained_with_a_slider_over_the_frames(tmp_path):
    cost, _, _ = slide_graph()
    page = viz.backward_steps(cost).to_html(tmp_path / "bp.html").read_text()
    assert '<input type="range"' in page and 'max="4"' in page
    assert page.count('class="frame"') == 5 and page.count("<svg") == 5
    assert "http://" not in page.split("<svg")[0] and "<script src" not in page
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        ET.fromstring(svg)


def test_a_frame_shows_only_the_gradients_computed_so_far():
    x = ag.tensor(np.float64(2.0), requires_grad=True)
    x.name = "x"
    steps = viz.backward_steps(ag.sigmoid(x * 3.0))
    first = steps.digraph(0).source            # sigmoid ran; mul (and so x) not yet
    assert re.search(r'"x\nfloat64\[\]\nvalue 2"', first)
    assert "grad" not in first.split('"x\n')[1].split('"')[0]
    assert f"grad {x.grad.item():.4g}" in steps.digraph(1).source


def test_named_intermediates_keep_their_names_and_derivatives_name_only_inputs_with_grads():
    w = ag.tensor(np.float64(0.5), requires_grad=True)
    z = w * 0.48
    z.name = "z(L)"
    steps = viz.backward_steps(ag.sigmoid(z))
    assert [s.op for s in steps] == ["sigmoid", "mul"]
    assert steps[0].sent == {"z(L)": pytest.approx(steps[0].sent["z(L)"])}
    assert steps[1].output == "z(L)"
    assert steps[1].derivative == "d/dx = y"   # only w gets a gradient: no d/dy term


def gradient_edges(source):
    """The active op, and (tensor name, op, label) for each edge that carries a label."""
    names = dict(re.findall(r'\t(t\d+) \[label="([^"\n]*)', source))
    active = re.findall(r'\t(op\d+) \[label=[^\]]*' + viz.ACTIVE_OP_STYLE["fillcolor"], source)
    edges = re.findall(r'\t(t\d+) -> (op\d+) \[label="([^"]*)"', source)
    return active, sorted((names[t], op, label) for t, op, label in edges)


def test_a_frame_labels_the_active_ops_input_edges_with_the_gradients_it_sent():
    x = ag.tensor(np.float64(3.0), requires_grad=True)
    x.name = "x"
    steps = viz.backward_steps(x * x + x)   # add sends 1 and 1; mul sends 3 + 3 to x
    assert [s.op for s in steps] == ["add", "mul"]
    assert gradient_edges(steps.digraph(0).source) == (
        ["op0"], [("mul 1", "op0", "grad 1"), ("x", "op0", "grad 1")])
    # x's edges into mul carry what mul sent (6), not x's gradient so far (7); add's are plain
    assert gradient_edges(steps.digraph(1).source) == (
        ["op1"], [("x", "op1", "grad 6"), ("x", "op1", "grad 6")])
    assert gradient_edges(steps.digraph().source) == ([], [])


# ---- real models: one box per module call ----------------------------------------------------


def mlp_and_loss(batch=4):
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    x = ag.randn(batch, 2)
    x.name = "x"
    return model, (model(x) ** 2).mean()


def boxes(source):
    """The labels of the module boxes in DOT source."""
    fill = viz.MODULE_STYLE["fillcolor"]
    return re.findall(r'\tm\d+ \[label="([^"]*)"[^\]]*' + re.escape(fill), source)


def test_a_sequential_collapses_to_one_box_per_layer_with_shapes_and_parameter_counts():
    model, loss = mlp_and_loss()
    source = viz.draw_graph(loss, params=model, collapse="modules").source
    assert boxes(source) == ["0: Linear\n[4, 2] -> [4, 8]\n24 params, 1 op",
                             "1: ReLU\n[4, 8] -> [4, 8]\n0 params, 1 op",
                             "2: Linear\n[4, 8] -> [4, 1]\n9 params, 1 op"]
    # the loss's own ops stay ops; the layers' weights are inside their boxes
    assert counts(source)[1] == 2 and "weight" not in source
    assert re.search(r'\tt\d+ -> m0\n', source) and "\tm0 -> m1\n" in source
    text = viz.graph_text(loss, params=model, collapse="modules")
    assert text.splitlines()[2] == "    [2: Linear; [4, 8] -> [4, 1]; 9 params, 1 op]"
    assert text.splitlines()[-1].strip() == "x float32[4, 2]"


def test_depth_zero_is_the_model_as_one_box_and_names_need_no_params():
    model, loss = mlp_and_loss()
    assert boxes(viz.draw_graph(loss, depth=0).source) == [
        "Sequential\n[4, 2] -> [4, 1]\n33 params, 3 ops"]
    # without params the names are still the model's own (from the outermost call)
    assert [b.split("\n")[0] for b in boxes(viz.draw_graph(loss, depth=1).source)] == [
        "0: Linear", "1: ReLU", "2: Linear"]


def test_expand_opens_a_named_module_down_to_its_ops_in_a_frame():
    model, loss = mlp_and_loss()
    source = viz.draw_graph(loss, params=model, expand=["2"]).source
    assert [b.split("\n")[0] for b in boxes(source)] == ["0: Linear", "1: ReLU"]
    frame = source.split("subgraph cluster_0 {")[1].split("}")[0]
    assert 'label="2: Linear" style=dashed' in frame
    assert '"linear"' in frame and '"2.weight\n' in frame and '"2.bias\n' in frame
    by_object = viz.draw_graph(loss, expand=[model[2]]).source  # a Module names itself
    assert boxes(by_object) == boxes(source) and 'label="2: Linear" style=dashed' in by_object


def test_a_module_called_twice_is_two_boxes():
    ag.manual_seed(0)
    cell = nn.Linear(3, 3)
    h = ag.zeros(1, 3)
    for x in ag.randn(2, 1, 3):  # an RNN cell over two time steps
        h = ag.tanh(cell(x) + h)
    labels = boxes(viz.draw_graph(h.sum(), collapse="modules").source)
    assert [label.split("\n")[0] for label in labels] == [
        "Linear (call 1 of 2)", "Linear (call 2 of 2)"]
    assert all("[1, 3] -> [1, 3]\n12 params, 1 op" in label for label in labels)


def test_a_graph_beyond_max_nodes_made_by_modules_collapses_instead_of_refusing():
    ag.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.Tanh()) for _ in range(10)])
    loss = model(ag.randn(2, 4)).sum()
    source = viz.draw_graph(loss, max_nodes=10).source
    assert len(boxes(source)) == 10 and "more than max_nodes=10" in source
    assert counts(viz.draw_graph(loss, max_nodes=100).source)[1] == 21  # small: every op
    assert viz.graph_text(loss, max_nodes=10).count("Sequential") == 10
    with pytest.raises(ValueError, match="more than max_nodes=10"):
        viz.draw_graph(loss, max_nodes=10, collapse="none")
    with pytest.raises(ValueError, match="collapse must be"):
        viz.draw_graph(loss, collapse="layers")


def test_graphs_made_without_modules_are_drawn_as_before():
    cost, _, _ = slide_graph()
    plain = viz.draw_graph(cost, collapse="none").source
    assert viz.draw_graph(cost).source == viz.draw_graph(cost, collapse="modules").source == plain
    assert viz.graph_text(cost, collapse="modules") == viz.graph_text(cost, collapse="none")


def test_module_calls_are_noted_on_their_output_node_and_go_with_the_graph():
    import gc
    import weakref

    model, _ = mlp_and_loss()
    with ag.no_grad():
        assert model(ag.ones(4, 2)).grad_fn is None  # no graph: nothing to note, or to draw
    out = model(ag.ones(4, 2))
    record, inner = out.grad_fn.module_calls  # the Sequential's, then its last layer's
    assert record[2] is model and inner[0][2] is model[-1] and inner[1] is None
    assert record[0] < out.grad_fn.sequence_nr < record[1]  # the range of numbers it handed out
    node = weakref.ref(out.grad_fn)
    del out, record, inner
    gc.collect()
    assert node() is None  # the notes lived on the graph, and went with it


def test_backward_steps_runs_through_module_nodes_and_ops_without_a_derivative():
    @ag.primitive(lambda g, out, x: 3 * g)
    def triple_without_a_derivative(x):
        return 3 * x

    try:
        model, _ = mlp_and_loss()
        loss = triple_without_a_derivative(model(ag.ones(4, 2))).sum()
        steps = viz.backward_steps(loss, params=model)
        assert [s.op for s in steps] == ["sum", "triple_without_a_derivative", "linear", "relu",
                                         "linear"]
        assert steps[1].derivative is None and "local derivative" not in steps[1].describe()
        assert model[0].weight.grad is not None
        assert len(boxes(steps.digraph().source)) == 0  # frames show every op
    finally:
        ag.ops.REGISTRY.pop("triple_without_a_derivative", None)


# ---- params=: a Module, a dict name -> Tensor, or (name, Tensor) pairs ----------------------

PARAM_FORMS = {  # how a user may name the parameters; a generator can be read once
    "Module": lambda model: model,
    "dict": lambda model: dict(model.named_parameters()),
    "list of pairs": lambda model: list(model.named_parameters()),
    "named_parameters()": lambda model: model.named_parameters(),
}


@pytest.mark.parametrize("form", PARAM_FORMS)
def test_every_function_taking_params_names_them_from_any_accepted_form(form):
    model, loss = mlp_and_loss()
    names = {"0.weight", "0.bias", "2.weight", "2.bias"}
    given = PARAM_FORMS[form]
    graph = viz.build_graph(loss, params=given(model))
    assert names <= {info.label for info in graph.tensors.values()}
    assert all(f'"{name}\n' in viz.draw_graph(loss, params=given(model)).source
               for name in names)
    text = viz.graph_text(loss, params=given(model), collapse="none")
    assert all(f" {name} float32" in text for name in names)
    boxed = viz.collapse_graph(graph, params=given(model))
    assert [box.name for box in boxed.boxes.values()] == ["0", "1", "2"]
    steps = viz.backward_steps(loss, params=given(model))
    assert names <= set(steps[-1].grads)


def test_a_dict_gives_the_parameters_the_users_own_names():
    cost, w, b = slide_graph()
    steps = viz.backward_steps(cost, params={"weight": w, "bias": b})
    assert set(steps[-1].sent) == {"weight"} and steps[-1].grads["weight"] == w.grad.item()
    assert "bias" in steps[-2].sent


VIZ_TAKING_PARAMS = {
    "draw_graph": lambda loss, params: viz.draw_graph(loss, params=params),
    "graph_text": lambda loss, params: viz.graph_text(loss, params=params),
    "build_graph": lambda loss, params: viz.build_graph(loss, params=params),
    "collapse_graph": lambda loss, params: viz.collapse_graph(viz.build_graph(loss), params),
    "backward_steps": lambda loss, params: viz.backward_steps(loss, params=params),
}
NOT_PARAMS = {  # what was given -> what the message says was given
    "a Tensor": (lambda model: model[0].weight, "got Parameter$"),
    "a number": (lambda model: 3, "got int$"),
    "parameters()": (lambda model: model.parameters(), "got generator holding Parameter"),
    "a dict of arrays": (lambda model: {"w": np.ones(2)}, r"got dict holding \(str, ndarray\)"),
    "a list of names": (lambda model: ["0.weight"], "got list holding str"),
}


@pytest.mark.parametrize("function", VIZ_TAKING_PARAMS)
@pytest.mark.parametrize("bad", NOT_PARAMS)
def test_params_of_another_kind_is_a_type_error_naming_the_function_and_the_forms(function, bad):
    model, loss = mlp_and_loss()
    make, given = NOT_PARAMS[bad]
    forms = r"a Module, a dict name -> Tensor, or \(name, Tensor\) pairs"
    with pytest.raises(TypeError, match=rf"^{function}: params must be {forms}.*; {given}"):
        VIZ_TAKING_PARAMS[function](loss, make(model))
    assert model[0].weight.grad is None
    loss.backward()  # refused before backward_steps ran backward: the graph is still there
