"""Recurrent layers (autograd_lite/nn/recurrent.py): RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU.

First what can be worked out by hand (zero weights, hidden size 1, an RNN that adds up its
input), then shapes for every layout, PyTorch's parameter names and order, the errors, the fused
LSTM step against the composite one, and gradients against finite differences. Last, with
PyTorch installed, the same models with PyTorch's weights give PyTorch's values and gradients.
"""

import itertools
import math
import warnings

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn
from autograd_lite.testing import gradcheck

F64 = {"dtype": np.float64}


def sigmoid(a):
    return 1 / (1 + math.exp(-a))


def filled(model, value):
    """``model`` with every parameter set to ``value``."""
    for p in model.parameters():
        p.data[...] = value
    return model


# ---- worked by hand ----------------------------------------------------------------------------


def test_lstm_cell_with_zero_weights_halves_the_cell_state():
    """Zero weights: i = f = o = sigmoid(0) = 1/2 and g = tanh(0) = 0, so c' = c / 2 and
    h' = tanh(c / 2) / 2, whatever the input."""
    cell = filled(nn.LSTMCell(3, 2, **F64), 0.0)
    c = np.array([[1.0, -4.0]])
    h, c_new = cell(ag.tensor(np.ones((1, 3))), (ag.zeros(1, 2, dtype=np.float64), c))
    np.testing.assert_allclose(c_new.numpy(), c / 2)
    np.testing.assert_allclose(h.numpy(), np.tanh(c / 2) / 2)


def test_gru_cell_with_zero_weights_averages_the_state_with_zero():
    """r = z = 1/2, n = tanh(0) = 0: h' = (1 - z) n + z h = h / 2."""
    cell = filled(nn.GRUCell(3, 2, **F64), 0.0)
    h = ag.tensor([[2.0, -6.0]], dtype=np.float64)
    np.testing.assert_allclose(cell(ag.tensor(np.ones((1, 3))), h).numpy(), [[1.0, -3.0]])


def test_rnn_with_hidden_size_one_step_by_step():
    """h_t = tanh(w x_t + u h_{t-1} + b + b'), written out for three steps."""
    rnn = nn.RNN(1, 1, **F64)
    w, u, b, b2 = 0.5, -0.3, 0.1, 0.2
    rnn.load_state_dict({"weight_ih_l0": [[w]], "weight_hh_l0": [[u]], "bias_ih_l0": [b],
                         "bias_hh_l0": [b2]})
    xs = [1.0, -2.0, 0.5]
    output, h_n = rnn(ag.tensor(np.array(xs).reshape(3, 1, 1)))
    h, expected = 0.0, []
    for x in xs:
        h = math.tanh(w * x + u * h + b + b2)
        expected.append(h)
    np.testing.assert_allclose(output.numpy().ravel(), expected)
    np.testing.assert_allclose(h_n.numpy(), [[[expected[-1]]]])


def test_relu_rnn_with_identity_weights_is_a_running_sum():
    """W_ih = W_hh = I, no bias, relu: h_t = x_1 + ... + x_t for non-negative input."""
    rnn = nn.RNN(2, 2, nonlinearity="relu", bias=False, **F64)
    rnn.load_state_dict({"weight_ih_l0": np.eye(2), "weight_hh_l0": np.eye(2)})
    x = np.abs(np.random.default_rng(0).standard_normal((5, 3, 2)))
    output, h_n = rnn(ag.tensor(x))
    np.testing.assert_allclose(output.numpy(), np.cumsum(x, axis=0))
    np.testing.assert_allclose(h_n.numpy()[0], x.sum(axis=0))


def test_lstm_with_hidden_size_one_step_by_step():
    lstm = nn.LSTM(1, 1, **F64)
    wi, wh, b = [0.3, -0.2, 0.5, 0.1], [0.4, 0.2, -0.6, 0.3], [0.05, 0.1, -0.1, 0.2]
    lstm.load_state_dict({"weight_ih_l0": np.array(wi)[:, None],
                          "weight_hh_l0": np.array(wh)[:, None],
                          "bias_ih_l0": b, "bias_hh_l0": np.zeros(4)})
    xs = [1.0, -0.5]
    h = c = 0.0
    expected = []
    for x in xs:
        a = [wi[k] * x + wh[k] * h + b[k] for k in range(4)]
        i, f, g, o = sigmoid(a[0]), sigmoid(a[1]), math.tanh(a[2]), sigmoid(a[3])
        c = f * c + i * g
        h = o * math.tanh(c)
        expected.append(h)
    for fused in (False, True):
        lstm.fused = fused
        output, (h_n, c_n) = lstm(ag.tensor(np.array(xs).reshape(2, 1)))  # unbatched
        np.testing.assert_allclose(output.numpy().ravel(), expected)
        np.testing.assert_allclose(c_n.numpy(), [[c]])


def test_gru_with_hidden_size_one_step_by_step():
    """n = tanh(W_in x + b_in + r (W_hn h + b_hn)): r multiplies the hidden part with its bias."""
    gru = nn.GRU(1, 1, **F64)
    wi, wh, bi, bh = [0.3, -0.2, 0.5], [0.4, 0.2, -0.6], [0.05, 0.1, -0.1], [0.2, -0.3, 0.7]
    gru.load_state_dict({"weight_ih_l0": np.array(wi)[:, None],
                         "weight_hh_l0": np.array(wh)[:, None], "bias_ih_l0": bi,
                         "bias_hh_l0": bh})
    h, expected = 0.5, []
    for x in [1.0, -0.5, 2.0]:
        r = sigmoid(wi[0] * x + bi[0] + wh[0] * h + bh[0])
        z = sigmoid(wi[1] * x + bi[1] + wh[1] * h + bh[1])
        n = math.tanh(wi[2] * x + bi[2] + r * (wh[2] * h + bh[2]))
        h = (1 - z) * n + z * h
        expected.append(h)
    output, h_n = gru(ag.tensor([[1.0], [-0.5], [2.0]], dtype=np.float64),
                      ag.tensor([[0.5]], dtype=np.float64))
    np.testing.assert_allclose(output.numpy().ravel(), expected)


def test_the_reverse_direction_reads_the_sequence_backwards():
    """A bidirectional layer's second half at t is the reverse direction's state after reading
    x_L ... x_t: the same as a one-way layer with those weights run on the flipped input."""
    bi = nn.GRU(2, 3, bidirectional=True, **F64)
    one = nn.GRU(2, 3, **F64)
    one.load_state_dict({k.replace("_reverse", ""): v for k, v in bi.state_dict().items()
                         if k.endswith("_reverse")})
    x = ag.tensor(np.random.default_rng(1).standard_normal((4, 2, 2)))
    output, h_n = bi(x)
    flipped, h_one = one(x.flip(0))
    np.testing.assert_allclose(output.numpy()[..., 3:], flipped.numpy()[::-1])
    np.testing.assert_allclose(h_n.numpy()[1], h_one.numpy()[0])


# ---- shapes, names, settings -------------------------------------------------------------------

LAYOUTS = list(itertools.product(["RNN", "LSTM", "GRU"], [1, 2], [False, True], [False, True],
                                 [False, True]))


@pytest.mark.parametrize(("kind", "layers", "bidirectional", "batch_first", "batched"), LAYOUTS)
def test_output_and_state_shapes(kind, layers, bidirectional, batch_first, batched):
    L, N, n_in, H = 5, 3, 4, 6
    D = 2 if bidirectional else 1
    model = getattr(nn, kind)(n_in, H, num_layers=layers, bidirectional=bidirectional,
                              batch_first=batch_first)
    if batched:
        shape = (N, L, n_in) if batch_first else (L, N, n_in)
        out_shape = (N, L, D * H) if batch_first else (L, N, D * H)
        state_shape = (layers * D, N, H)
    else:
        shape, out_shape, state_shape = (L, n_in), (L, D * H), (layers * D, H)
    for given in (False, True):  # without and with an initial state
        state = ag.zeros(*state_shape) if given else None
        if kind == "LSTM" and given:
            state = (state, ag.zeros(*state_shape))
        output, h_n = model(ag.ones(*shape), state)
        assert output.shape == out_shape and output.dtype == np.float32
        for s in (h_n if kind == "LSTM" else (h_n,)):
            assert s.shape == state_shape


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_shapes_batched_and_unbatched(kind):
    cell = getattr(nn, kind)(4, 3)
    for shape in [(2, 4), (4,)]:
        result = cell(ag.ones(*shape))
        for r in (result if kind == "LSTMCell" else (result,)):
            assert r.shape == shape[:-1] + (3,)


def test_parameter_names_shapes_and_order_are_pytorchs():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    names = [f"{w}_l{layer}{suffix}" for layer in range(2) for suffix in ("", "_reverse")
             for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert list(lstm.state_dict()) == names
    shapes = {name: p.shape for name, p in lstm.named_parameters()}
    assert shapes["weight_ih_l0"] == (20, 3) and shapes["weight_hh_l0_reverse"] == (20, 5)
    assert shapes["weight_ih_l1"] == (20, 10)  # a later layer reads both directions
    assert shapes["bias_hh_l1_reverse"] == (20,)
    gru = nn.GRU(3, 5, bias=False)
    assert [(n, p.shape) for n, p in gru.named_parameters()] == [
        ("weight_ih_l0", (15, 3)), ("weight_hh_l0", (15, 5))]
    cell = nn.RNNCell(3, 5)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (5, 3)), ("weight_hh", (5, 5)), ("bias_ih", (5,)), ("bias_hh", (5,))]


def test_every_parameter_starts_uniform_within_one_over_sqrt_hidden():
    model = nn.GRU(2, 16, num_layers=2, generator=np.random.default_rng(0))
    values = np.concatenate([p.numpy().ravel() for p in model.parameters()])
    assert np.abs(values).max() <= 1 / 4 and np.abs(values).max() > 0.24
    assert abs(values.mean()) < 0.01
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert all(p.dtype == np.float64 for p in nn.LSTMCell(2, 3, **F64).parameters())


def test_repr_shows_the_settings_that_differ_from_pytorchs_defaults():
    assert repr(nn.LSTM(3, 4)).startswith("LSTM(3, 4)")
    assert repr(nn.GRU(3, 4, num_layers=2, batch_first=True, bidirectional=True)).startswith(
        "GRU(3, 4, num_layers=2, batch_first=True, bidirectional=True)")
    assert repr(nn.RNNCell(3, 4, bias=False, nonlinearity="relu")).startswith(
        "RNNCell(3, 4, bias=False, nonlinearity='relu')")
    assert repr(nn.LSTM(3, 4, dropout=0.5, num_layers=2, fused=True)).startswith(
        "LSTM(3, 4, num_layers=2, dropout=0.5, fused=True)")


def test_dropout_between_layers_only_while_training():
    ag.manual_seed(0)
    model = nn.LSTM(3, 4, num_layers=2, dropout=0.5, **F64)
    x = ag.tensor(np.random.default_rng(0).standard_normal((6, 2, 3)))
    model.eval()
    first, _ = model(x)
    again, _ = model(x)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    model.train()
    trained, _ = model(x)
    assert not np.allclose(trained.numpy(), first.numpy())


def test_dropout_with_one_layer_warns_as_pytorch_does():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.RNN(2, 3, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.RNN(2, 3, num_layers=2, dropout=0.2)


# ---- errors: named, with the shapes, before anything is computed ------------------------------


@pytest.mark.parametrize(("make", "args", "message"), [
    (lambda: nn.LSTM(4, 3), [ag.ones(5, 2, 7)], r"LSTM\(4, 3\): expected input of shape "
                                                r"\(L, N, 4\) or \(L, 4\), got \(5, 2, 7\)"),
    (lambda: nn.GRU(4, 3), [ag.ones(2, 5, 2, 4)], r"GRU\(4, 3\): expected input of shape"),
    (lambda: nn.RNN(4, 3, batch_first=True), [ag.ones(2, 5, 3)], r"\(N, L, 4\)"),
    (lambda: nn.RNN(4, 3, num_layers=2), [ag.ones(5, 2, 4), ag.zeros(1, 2, 3)],
     r"RNN\(4, 3\): expected hx of shape \(2, 2, 3\) for an input of shape \(5, 2, 4\), "
     r"got \(1, 2, 3\)"),
    (lambda: nn.GRU(4, 3), [ag.ones(5, 4), ag.zeros(1, 2, 3)], r"expected hx of shape \(1, 3\)"),
    (lambda: nn.LSTM(4, 3), [ag.ones(5, 2, 4), (ag.zeros(1, 2, 3), ag.zeros(1, 2, 4))],
     r"expected c_0 of shape \(1, 2, 3\)"),
    (lambda: nn.LSTMCell(4, 3), [ag.ones(2, 4), (ag.zeros(3, 3), ag.zeros(2, 3))],
     r"LSTMCell\(4, 3\): expected h of shape \(2, 3\) for an input of shape \(2, 4\), "
     r"got \(3, 3\)"),
    (lambda: nn.RNNCell(4, 3), [ag.ones(4)], None),  # fine: unbatched
    (lambda: nn.RNNCell(4, 3), [ag.ones(2, 2, 4)], r"RNNCell\(4, 3\): expected input of shape "
                                                   r"\(N, 4\) or \(4,\), got \(2, 2, 4\)"),
    (lambda: nn.GRUCell(4, 3), [ag.ones(4), ag.zeros(1, 3)], r"expected hx of shape \(3,\)"),
])
def test_bad_shapes_raise_naming_the_layer_and_both_shapes(make, args, message):
    model = make()
    if message is None:
        model(*args)
        return
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with pytest.raises(RuntimeError, match=message):
        model(*args)
    assert all(np.array_equal(v.numpy(), before[k]) for k, v in model.state_dict().items())


def test_dtype_mismatch_raises_naming_the_layer():
    with pytest.raises(RuntimeError, match="LSTM: input is float64 but the layer's "
                                           "weight_ih_l0 is float32"):
        nn.LSTM(2, 3)(ag.ones(4, 2, dtype=np.float64))
    with pytest.raises(RuntimeError, match="GRUCell: input is float32 but the layer's "
                                           "weight_hh is float64"):
        nn.GRUCell(2, 3, **F64)(ag.ones(2, dtype=np.float64), ag.zeros(3))


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: nn.RNN(2, 3, nonlinearity="sigmoid"), ValueError, "Unknown nonlinearity"),
    (lambda: nn.RNNCell(2, 3, nonlinearity="gelu"), ValueError, "Unknown nonlinearity"),
    (lambda: nn.LSTM(2, 0), ValueError, "hidden_size must be a positive integer"),
    (lambda: nn.GRU(2, 3, num_layers=0), ValueError, "num_layers must be greater than zero"),
    (lambda: nn.GRU(2, 3, num_layers=2, dropout=1.5), ValueError, r"range \[0, 1\]"),
    (lambda: nn.LSTM(2, 3, proj_size=2), NotImplementedError, "proj_size"),
])
def test_bad_constructor_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_lstm_state_must_be_a_pair():
    with pytest.raises(TypeError, match=r"LSTM\(2, 3\): hx must be a pair"):
        nn.LSTM(2, 3)(ag.ones(4, 2), ag.zeros(1, 3))
    with pytest.raises(TypeError, match=r"LSTMCell\(2, 3\): hx must be a pair"):
        nn.LSTMCell(2, 3)(ag.ones(2), ag.zeros(3))


# ---- the fused LSTM step -----------------------------------------------------------------------


@pytest.mark.parametrize(("layers", "bidirectional", "batch_first", "bias"),
                         [(1, False, False, True), (2, True, True, True), (2, False, False, False)])
def test_fused_and_composite_lstm_agree_in_values_and_gradients(layers, bidirectional,
                                                                batch_first, bias):
    model = nn.LSTM(3, 4, num_layers=layers, bidirectional=bidirectional,
                    batch_first=batch_first, bias=bias, **F64)
    rng = np.random.default_rng(0)
    D = 2 if bidirectional else 1
    x = rng.standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    h0, c0 = rng.standard_normal((2, layers * D, 2, 4))
    results = []
    for fused in (False, True):
        model.fused = fused
        model.zero_grad()
        inputs = [ag.tensor(a, requires_grad=True) for a in (x, h0, c0)]
        output, (h_n, c_n) = model(inputs[0], tuple(inputs[1:]))
        (output.sum() * 0.5 + (h_n * c_n).sum()).backward()
        results.append([output.numpy(), h_n.numpy(), c_n.numpy(),
                        *(t.grad.numpy() for t in inputs),
                        *(p.grad.numpy() for p in model.parameters())])
    for composite, fused in zip(*results):
        np.testing.assert_allclose(fused, composite, rtol=0, atol=1e-10)


def test_fused_and_composite_lstm_cell_agree():
    cell = nn.LSTMCell(3, 4, **F64)
    rng = np.random.default_rng(1)
    results = []
    for fused in (False, True):
        cell.fused = fused
        cell.zero_grad()
        x, h, c = (ag.tensor(rng.standard_normal(s), requires_grad=True)
                   for s in [(2, 3), (2, 4), (2, 4)])
        rng = np.random.default_rng(1)
        h_new, c_new = cell(x, (h, c))
        (h_new.sum() + (c_new * c_new).sum()).backward()
        results.append([h_new.numpy(), c_new.numpy(), x.grad.numpy(), h.grad.numpy(),
                        c.grad.numpy(), *(p.grad.numpy() for p in cell.parameters())])
    for composite, fused in zip(*results):
        np.testing.assert_allclose(fused, composite, rtol=0, atol=1e-10)


def test_fused_lstm_draws_two_nodes_per_step():
    model = nn.LSTM(2, 3, fused=True)
    output, _ = model(ag.ones(7, 1, 2))
    seen, todo = set(), [output.grad_fn]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(n for n in node.next_functions if not isinstance(n, ag.Tensor))
    names = sorted(node.name for node in seen)
    # per step: the two fused nodes, and h sliced off the step's output ([h', c', gates])
    assert names == ["getitem"] * 7 + ["lstm_gates"] * 7 + ["lstm_update"] * 7 + ["stack"]


# ---- gradients against finite differences -----------------------------------------------------


@pytest.mark.parametrize(("kind", "options"), [
    ("RNN", {"num_layers": 2, "nonlinearity": "tanh"}), ("GRU", {"bidirectional": True}),
    ("LSTM", {"batch_first": True}), ("LSTM", {"fused": True, "bidirectional": True}),
])
def test_sequence_gradients_match_finite_differences(kind, options):
    model = getattr(nn, kind)(2, 3, **options, **F64)
    x = ag.tensor(np.random.default_rng(2).standard_normal((3, 2, 2)), requires_grad=True)

    def loss(x, w_ih, w_hh):
        model._parameters["weight_ih_l0"], model._parameters["weight_hh_l0"] = w_ih, w_hh
        output, _ = model(x)
        return (output * output).sum()

    w_ih = ag.tensor(model.weight_ih_l0.numpy().copy(), requires_grad=True)
    w_hh = ag.tensor(model.weight_hh_l0.numpy().copy(), requires_grad=True)
    assert gradcheck(loss, [x, w_ih, w_hh])


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_input_and_state_gradients_match_finite_differences(kind):
    cell = getattr(nn, kind)(3, 2, **F64)
    rng = np.random.default_rng(3)
    x, h, c = (ag.tensor(rng.standard_normal((2, n)), requires_grad=True) for n in (3, 2, 2))

    def run(x, h, c=None):
        result = cell(x, (h, c)) if kind == "LSTMCell" else cell(x, h)
        return result[0] * result[1] if kind == "LSTMCell" else result

    assert gradcheck(run, [x, h, c] if kind == "LSTMCell" else [x, h, c][:2])


# ---- against PyTorch, with PyTorch's weights ---------------------------------------------------

TORCH_CASES = [(kind, layers, bidirectional, batch_first, fused)
               for kind in ("RNN", "LSTM", "GRU") for layers in (1, 2)
               for bidirectional in (False, True) for batch_first in (False, True)
               for fused in ((False, True) if kind == "LSTM" else (False,))
               if layers == 2 or not (bidirectional and batch_first)]


@pytest.mark.parametrize(("kind", "layers", "bidirectional", "batch_first", "fused"),
                         TORCH_CASES)
def test_sequence_layers_match_pytorch(kind, layers, bidirectional, batch_first, fused):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=layers, bidirectional=bidirectional,
                                     batch_first=batch_first).double()
    ours = getattr(nn, kind)(3, 4, num_layers=layers, bidirectional=bidirectional,
                             batch_first=batch_first, **F64, **({"fused": fused} if fused else {}))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    states = rng.standard_normal((2 if kind == "LSTM" else 1, layers * (1 + bidirectional), 2, 4))

    def run(module, lib):
        inputs = [lib.tensor(a, requires_grad=True) for a in (x, *states)]
        hx = tuple(inputs[1:]) if kind == "LSTM" else inputs[1]
        output, h = module(inputs[0], hx)
        finals = h if kind == "LSTM" else (h,)
        loss = (output * output).sum() + sum((s * s * s).sum() for s in finals)
        loss.backward()
        return ([output.detach().numpy(), *(s.detach().numpy() for s in finals)],
                [t.grad.numpy() for t in inputs],
                {n: p.grad.numpy() for n, p in module.named_parameters()})

    (v1, g1, p1), (v2, g2, p2) = run(ours, ag), run(theirs, torch)
    for a, b in zip(v1 + g1, v2 + g2):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)
    assert list(p1) == list(p2)
    for name in p1:
        np.testing.assert_allclose(p1[name], p2[name], rtol=1e-9, atol=1e-10, err_msg=name)


@pytest.mark.parametrize(("kind", "fused", "batched"),
                         [("RNNCell", False, True), ("RNNCell", False, False),
                          ("LSTMCell", False, True), ("LSTMCell", True, True),
                          ("LSTMCell", True, False), ("GRUCell", False, True),
                          ("GRUCell", False, False)])
def test_cells_match_pytorch(kind, fused, batched):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4).double()
    ours = getattr(nn, kind)(3, 4, **F64, **({"fused": fused} if fused else {}))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    batch = (2,) if batched else ()
    x = rng.standard_normal(batch + (3,))
    states = rng.standard_normal((2,) + batch + (4,))

    def run(module, lib):
        inputs = [lib.tensor(a, requires_grad=True) for a in (x, *states)]
        if kind == "LSTMCell":
            h, c = module(inputs[0], (inputs[1], inputs[2]))
            loss = (h * c).sum() + (c * c).sum()
            values = [h, c]
        else:
            inputs = inputs[:2]
            h = module(*inputs)
            loss = (h * h * h).sum()
            values = [h]
        loss.backward()
        return ([v.detach().numpy() for v in values] + [t.grad.numpy() for t in inputs]
                + [p.grad.numpy() for p in module.parameters()])

    for a, b in zip(run(ours, ag), run(theirs, torch), strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)
