"""ONNX export: what ``autograd_lite.onnx.export`` writes passes ONNX's checker and, run by ONNX
Runtime, computes what the model computes (within 1e-5 in float32), at the traced batch size
and, along a dynamic axis, at another; what it cannot export is refused, naming the op and its
module, and leaves no file behind."""

import os
import re
import subprocess
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

import autograd_lite as ag
from autograd_lite import nn
from autograd_lite.ops import REGISTRY
from autograd_lite.testing.strategies import op_arguments

onnx = pytest.importorskip("onnx")  # the onnx extra: pip install -e '.[onnx]'
ort = pytest.importorskip("onnxruntime")

from autograd_lite.onnx import OnnxExporterError, UnsupportedOperatorError, export  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-5


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # the test machine's cores are shared
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def eager(model, *inputs):
    """The model's outputs in eval mode, as a flat list of arrays."""
    with ag.no_grad():
        out = model.eval()(*(ag.tensor(a) for a in inputs))
    return flat(out)


def flat(out):
    return [out.numpy()] if isinstance(out, ag.Tensor) else [a for o in out for a in flat(o)]


def assert_runs_like_the_model(model, inputs, path, **options):
    """Export ``model`` on ``inputs`` (arrays) to ``path``, check the file, and compare ONNX
    Runtime's outputs with the model's; return the session."""
    export(model, tuple(ag.tensor(a) for a in inputs), path, **options)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    sess = session(path)
    names = [i.name for i in onnx.load(str(path)).graph.input]
    assert [i.name for i in sess.get_inputs()] == names
    assert_same_outputs(model, sess, inputs)
    return sess


def assert_same_outputs(model, sess, inputs):
    feed = {i.name: a for i, a in zip(sess.get_inputs(), inputs)}
    got = sess.run(None, feed)
    want = eager(model, *inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=TOLERANCE, atol=TOLERANCE)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---- the examples' models ------------------------------------------------------------------------


class Forecaster(nn.Module):
    """sequence_model.py's GRU: a window of a series -> the next value."""

    def __init__(self, hidden=32, fused_lstm=False):
        super().__init__()
        self.rnn = (nn.LSTM(1, hidden, batch_first=True, fused=True) if fused_lstm
                    else nn.GRU(1, hidden, batch_first=True))
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1]).reshape(-1)


def digits_mlp():  # neural_network.py
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def digits_cnn():  # cnn.py
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 2 * 2, 10))


def autoencoder():  # autoencoder_anomaly.py, on breast-cancer's 30 features
    encoder = nn.Sequential(nn.Linear(30, 16), nn.Tanh(), nn.Linear(16, 4))
    decoder = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 30))
    return nn.Sequential(OrderedDict(encoder=encoder, decoder=decoder))


EXAMPLES = {"neural_network": (digits_mlp, (64,)), "cnn": (digits_cnn, (1, 8, 8)),
            "sequence_model": (Forecaster, (12, 1)), "autoencoder_anomaly": (autoencoder, (30,)),
            # the forecaster with a fused LSTM (two nodes a step: lstm_gates, lstm_update)
            "sequence_model, fused LSTM": (lambda: Forecaster(fused_lstm=True), (12, 1))}


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_model_runs_in_onnx_runtime_as_in_autograd_lite(name, tmp_path):
    make, features = EXAMPLES[name]
    ag.manual_seed(0)
    model = make()
    sess = assert_runs_like_the_model(model, [randn(4, *features)], tmp_path / "m.onnx",
                                      input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    assert [i.name for i in sess.get_inputs()] == ["x"]
    assert sess.get_inputs()[0].shape[0] == "batch"
    for batch in (1, 7):  # the dynamic axis: other batch sizes than the traced one
        assert_same_outputs(model, sess, [randn(batch, *features, seed=batch)])


def test_parameters_are_initializers_named_as_in_the_state_dict_and_not_inputs(tmp_path):
    model = autoencoder()
    export(model, ag.randn(2, 30), tmp_path / "m.onnx")
    graph = onnx.load(str(tmp_path / "m.onnx")).graph
    assert [i.name for i in graph.input] == ["x"]
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(weights[name], value.numpy())


def test_names_and_a_list_of_dynamic_axes_mean_what_they_mean_in_pytorch(tmp_path):
    lstm = nn.LSTM(3, 4, num_layers=2)
    path = tmp_path / "lstm.onnx"
    sess = assert_runs_like_the_model(
        lstm, [randn(5, 2, 3)], path, input_names=["seq"],
        output_names=["output", "h_n", "c_n"], dynamic_axes={"seq": [1], "output": {1: "n"}})
    assert [o.name for o in sess.get_outputs()] == ["output", "h_n", "c_n"]
    assert sess.get_inputs()[0].shape == [5, "seq_dynamic_axes_1", 3]
    assert sess.get_outputs()[0].shape == [5, "n", 4]
    assert_same_outputs(lstm, sess, [randn(5, 6, 3, seed=1)])


# ---- generated layer stacks ----------------------------------------------------------------------


@st.composite
def dense_stacks(draw):
    """(model, input shape): Linear layers and activations, BatchNorm1d with drawn running
    statistics, Dropout, maybe a softmax at the end."""
    ag.manual_seed(draw(st.integers(0, 2**16)))
    width = first = draw(st.integers(1, 6))
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["linear", "relu", "leaky", "elu", "gelu", "sigmoid",
                                     "tanh", "batchnorm", "dropout", "identity"]))
        if kind == "linear":
            out = draw(st.integers(1, 6))
            layers.append(nn.Linear(width, out, bias=draw(st.booleans())))
            width = out
        elif kind == "batchnorm":
            bn = nn.BatchNorm1d(width, affine=draw(st.booleans()))
            bn.running_mean.data[:] = randn(width, seed=1)
            bn.running_var.data[:] = 0.5 + randn(width, seed=2) ** 2
            layers.append(bn)
        else:
            layers.append({
                "relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(),
                "identity": nn.Identity(), "dropout": nn.Dropout(0.5),
                "leaky": nn.LeakyReLU(draw(st.sampled_from([0.01, 0.2]))),
                "elu": nn.ELU(draw(st.sampled_from([1.0, 0.5]))),
                "gelu": nn.GELU(draw(st.sampled_from(["none", "tanh"])))}[kind])
    end = draw(st.sampled_from([None, nn.Softmax(dim=-1), nn.LogSoftmax(dim=1)]))
    return nn.Sequential(*layers, *([end] if end else [])), (first,)


def _conv_size(n, kernel, stride, padding, dilation=1):
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@st.composite
def conv_stacks(draw):
    """(model, input shape): Conv1d/2d (stride, padding, dilation, groups), max and average
    pooling, BatchNorm, ReLU, global average pooling; then Flatten and Linear."""
    ag.manual_seed(draw(st.integers(0, 2**16)))
    dims = draw(st.sampled_from([1, 2]))
    channels = first = draw(st.integers(1, 4))
    size = start = draw(st.integers(4, 9))
    Conv, MaxPool, AvgPool, BatchNorm = ((nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d, nn.BatchNorm1d)
                                         if dims == 1 else
                                         (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.BatchNorm2d))
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "conv", "maxpool", "avgpool", "batchnorm", "relu"]))
        kernel, stride = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        padding = draw(st.integers(0, kernel // 2))
        if kind == "conv":
            dilation = draw(st.integers(1, 2))
            groups = draw(st.sampled_from([g for g in (1, 2) if channels % g == 0]))
            out = groups * draw(st.integers(1, 2))
            new = _conv_size(size, kernel, stride, padding, dilation)
            if new >= 1:
                layers.append(Conv(channels, out, kernel, stride=stride, padding=padding,
                                   dilation=dilation, groups=groups))
                channels, size = out, new
        elif kind in ("maxpool", "avgpool"):
            new = _conv_size(size, kernel, stride, padding)
            if new >= 1:
                layers.append((MaxPool if kind == "maxpool" else AvgPool)(kernel, stride,
                                                                             padding))
                size = new
        elif kind == "batchnorm":
            bn = BatchNorm(channels)
            bn.running_mean.data[:] = randn(channels, seed=3)
            bn.running_var.data[:] = 0.5 + randn(channels, seed=4) ** 2
            layers.append(bn)
        else:
            layers.append(nn.ReLU())
    if dims == 2 and draw(st.booleans()):
        layers.append(nn.AdaptiveAvgPool2d(1))
        size = 1
    layers += [nn.Flatten(), nn.Linear(channels * size ** dims, 3)]
    return nn.Sequential(*layers), (first,) + (start,) * dims


@given(st.one_of(dense_stacks(), conv_stacks()), st.integers(1, 4))
def test_generated_layer_stacks_run_in_onnx_runtime_as_in_autograd_lite(stack, batch):
    model, features = stack
    with tempfile.TemporaryDirectory() as folder:
        sess = assert_runs_like_the_model(model, [randn(batch, *features)],
                                          Path(folder) / "m.onnx",
                                          dynamic_axes={"x": {0: "batch"}})
        assert_same_outputs(model, sess, [randn(batch + 2, *features, seed=5)])


# ---- every primitive, on the arguments the registry test draws for it ---------------------------

# primitives no forward of a model needs, or with no ONNX counterpart: refused, by name
UNMAPPED = {"add_at", "setitem", "scatter_add", "nonzero", "conv_input_grad",
            "conv_weight_grad", "cross_entropy", "binary_cross_entropy_elementwise"}


class Call(nn.Module):
    """A model calling one op, its array arguments the model's inputs."""

    def __init__(self, op, args, params):
        super().__init__()
        self.op, self.args, self.params = op, args, params

    def forward(self, *inputs):
        given_inputs = iter(inputs)
        args = [next(given_inputs) if isinstance(a, np.ndarray) else a for a in self.args]
        return self.op(*args, **self.params)


def float32(a):
    return a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float64 else a


@pytest.mark.parametrize("name", sorted(REGISTRY))
@settings(max_examples=10)  # x 66 ops: each example runs the op twice and starts a session
@given(data=st.data())
def test_every_primitive_runs_in_onnx_runtime_as_in_autograd_lite_or_is_refused_by_name(
        name, data):
    op = REGISTRY[name]
    args, params = data.draw(op_arguments(op))
    args = [float32(a) for a in args]
    inputs = [a for a in args if isinstance(a, np.ndarray)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.onnx"
        if name in UNMAPPED:
            with pytest.raises(UnsupportedOperatorError, match=f"'{name}'"):
                export(Call(op, args, params), tuple(ag.tensor(a) for a in inputs), path)
            return
        try:
            sess = assert_runs_like_the_model(Call(op, args, params), inputs, path)
        except UnsupportedOperatorError as e:
            if name == "getitem" and "mixes integer arrays or masks" in str(e):
                reject()  # numpy's rules for arrays among other indices: not mapped
            raise
        assert [i.name for i in sess.get_inputs()] == [f"input_{i}" for i in range(len(inputs))]


# ---- the other primitives the layers use ---------------------------------------------------------


class Everything(nn.Module):
    """Embedding, an RNN (relu, two layers, bidirectional) and a GRU, and the shape, reduction
    and comparison ops a forward may call on its own."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.rnn = nn.RNN(4, 3, num_layers=2, nonlinearity="relu", bidirectional=True)
        self.gru = nn.GRU(6, 2)
        self.unflatten = nn.Unflatten(1, (2, 3))

    def forward(self, tokens, x):
        e = self.embed(tokens).transpose(0, 1)              # (L, N, 4)
        seq, _ = self.rnn(e)                                # (L, N, 6)
        out, h = self.gru(seq)                              # (L, N, 2), (1, N, 2)
        y = self.unflatten(x)                               # (N, 2, 3)
        parts = [
            out[-1], h[0],
            y.permute(0, 2, 1).mean(dim=2), y.var(dim=1), y.logsumexp(dim=-1),
            y.std(dim=(1, 2), keepdim=True).squeeze(-1),
            ag.stack([y[:, 0], y[:, 1, ::-1]], dim=-1).sum(-1),
            ag.where(x[:, :3] > 0, x[:, 3:], x[:, :3] ** 2),
            ag.clip(x[..., 1:4], -0.5, 0.5) * 2 - x.max(dim=1, keepdim=True).values,
            ag.concatenate([x, x.abs().sqrt()], axis=1)[:, None, 4].squeeze(1),
        ]
        return ag.concatenate([p.reshape(x.shape[0], -1) for p in parts], axis=1)


@pytest.mark.parametrize("opset", [17, 18])
def test_embedding_recurrent_shape_and_reduction_ops_match_at_each_opset(opset, tmp_path):
    ag.manual_seed(0)
    model = Everything()
    tokens = np.random.default_rng(0).integers(0, 10, (3, 5))
    sess = assert_runs_like_the_model(
        model, [tokens, randn(3, 6)], tmp_path / "m.onnx", opset_version=opset,
        dynamic_axes={"tokens": {0: "batch"}, "x": {0: "batch"}})
    assert onnx.load(str(tmp_path / "m.onnx")).opset_import[0].version == opset
    other = np.random.default_rng(1).integers(0, 10, (6, 5))
    assert_same_outputs(model, sess, [other, randn(6, 6, seed=1)])


# ---- modes -------------------------------------------------------------------------------------


def test_a_model_in_training_mode_is_exported_in_eval_mode_and_left_in_its_modes(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 2))
    model.train()
    model[3].eval()  # a mix, to see that each module gets its own mode back
    x = randn(8, 4)
    model(ag.tensor(x))  # moves the running statistics off their start
    modes = [m.training for m in model.modules()]
    export(model, ag.tensor(x), tmp_path / "m.onnx")
    assert [m.training for m in model.modules()] == modes
    assert_same_outputs(model, session(tmp_path / "m.onnx"), [x])  # eager in eval mode
    ops = [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    assert "BatchNormalization" in ops and "Dropout" not in ops


# ---- what is refused -----------------------------------------------------------------------------


class HardStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.step = nn.Step()  # a custom Function

    def forward(self, x):
        return self.step(self.fc(x))


class NonZero(nn.Module):
    def forward(self, x):
        return ag.ops.nonzero(x)


class Masked(nn.Module):
    def forward(self, x):
        return x[x > 0], x[:, x[0] > 0]  # a mask leading, and after a slice (not mapped)


@pytest.mark.parametrize("model, shape, names", [
    (nn.Sequential(OrderedDict(where=NonZero())), (2, 3), ["'nonzero'", "'where' (NonZero)"]),
    (HardStep(), (2, 3), ["Function _Step", "'step' (Step)"]),
    (Masked(), (2, 3), ["x[:, <bool array (3,)>]", "the model (Masked)"]),
])
def test_an_op_with_no_mapping_is_an_error_naming_it_and_its_module_and_writes_nothing(
        model, shape, names, tmp_path):
    with pytest.raises(UnsupportedOperatorError) as info:
        export(model, ag.randn(*shape), tmp_path / "m.onnx")
    for name in names:
        assert name in str(info.value)
    assert os.listdir(tmp_path) == []


class Positive(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        y = self.fc(x)
        return y[y > 0]


def test_a_mask_selects_as_many_values_as_it_holds(tmp_path):
    model = Positive()
    sess = assert_runs_like_the_model(model, [randn(4, 3)], tmp_path / "m.onnx",
                                      dynamic_axes={"x": {0: "batch"}})
    assert_same_outputs(model, sess, [randn(9, 3, seed=2)])


class SizedConstant(nn.Module):
    def forward(self, x):
        return x * ag.arange(x.shape[0]).reshape(-1, 1)  # a constant shaped by the batch


class ValueConstant(nn.Module):
    def forward(self, x):
        return x - ag.tensor(x.numpy().mean())  # computed outside the ops


@pytest.mark.parametrize("model, what", [(SizedConstant(), "size of a dynamic axis"),
                                         (ValueConstant(), "input's values")])
def test_a_value_computed_outside_the_ops_from_the_input_is_refused(model, what, tmp_path):
    with pytest.raises(OnnxExporterError, match=what):
        export(model, ag.randn(3, 2), tmp_path / "m.onnx", dynamic_axes={"x": {0: "batch"}})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kwargs, error", [
    ({"opset_version": 16}, "opset_version must be an int from 17"),
    ({"dynamic_axes": {"y": {0: "batch"}}}, "neither an input"),
    ({"dynamic_axes": {"x": {5: "batch"}}}, "out of range"),
    ({"input_names": ["a", "b"]}, "2 input_names for 1 input"),
    ({"input_names": [""]}, "non-empty"),
    ({"output_names": ["x"]}, "reuse input names"),
])
def test_bad_arguments_are_errors_naming_the_argument(kwargs, error, tmp_path):
    with pytest.raises(ValueError, match=error):
        export(nn.Linear(2, 2), ag.randn(3, 2), tmp_path / "m.onnx", **kwargs)


def test_what_is_not_a_model_an_input_or_a_path_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="expected an nn.Module"):
        export(lambda x: x, ag.randn(3, 2), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="f must be a file path"):
        export(nn.Linear(2, 2), ag.randn(3, 2), None)
    with pytest.raises(TypeError, match="got list at position 0"):
        export(nn.Linear(2, 2), [ag.randn(3, 2)], tmp_path / "m.onnx")


def test_a_file_is_never_half_written(tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"the previous model")
    with pytest.raises(UnsupportedOperatorError):
        export(HardStep(), ag.randn(2, 3), path)
    assert path.read_bytes() == b"the previous model"

    def interrupted(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", interrupted)  # the write fails after the bytes went out
    with pytest.raises(OSError, match="disk full"):
        export(nn.Linear(3, 2), ag.randn(2, 3), path)
    assert path.read_bytes() == b"the previous model"
    assert os.listdir(tmp_path) == ["m.onnx"]  # no temporary file left


# ---- the example -------------------------------------------------------------------------------


def test_the_example_exports_the_digits_model_and_onnx_runtime_agrees(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "onnx_export.py"), "--quick", "--out",
         str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "digits.onnx").is_file()
    agree, total = re.search(r"predictions agree on (\d+) of (\d+) test images",
                             result.stdout).groups()
    assert agree == total and int(total) > 300, result.stdout
