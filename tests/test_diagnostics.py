"""Gradient-flow diagnostics (autograd_lite/diagnostics.py): the statistics against numpy on
known gradients, the flags (no gradient, zero, vanishing, exploding, non-finite, frozen), the
text table, params_without_grad, and dead ReLU fractions measured with forward hooks."""

import math

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn
from autograd_lite.diagnostics import (
    GradientFlowRow,
    dead_relu_fraction,
    format_gradient_flow,
    gradient_flow,
    params_without_grad,
)


class WithUnusedHead(nn.Module):
    """``head2`` is registered but forward never uses it: broken wiring."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 4)
        self.head = nn.Linear(4, 1)
        self.head2 = nn.Linear(4, 1)

    def forward(self, x):
        return self.head(ag.tanh(self.body(x)))


def _set_grads(model, grads):
    for name, p in model.named_parameters():
        p.grad = None if grads.get(name) is None else np.asarray(grads[name], p.dtype)


# ---- gradient_flow -----------------------------------------------------------------------------


def test_gradient_flow_statistics_match_numpy_on_assigned_gradients():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    rng = np.random.default_rng(0)
    grads = {name: rng.normal(size=p.shape) for name, p in model.named_parameters()}
    _set_grads(model, grads)
    rows = gradient_flow(model)
    assert [r.name for r in rows] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for row in rows:
        g = np.abs(grads[row.name].astype(np.float32).astype(np.float64))
        assert row.shape == g.shape
        assert row.mean_abs == pytest.approx(g.mean(), rel=1e-12)
        assert row.max_abs == pytest.approx(g.max(), rel=1e-12)
        assert row.norm == pytest.approx(np.linalg.norm(g), rel=1e-12)
        assert row.flag == "" and row.has_grad


def test_gradient_flow_of_a_real_backward_matches_the_hand_derived_gradient():
    # loss = sum(x W^T + b): dL/dW[i, j] = sum_n x[n, j] for every i, dL/db = N
    m = nn.Linear(3, 2)
    x = np.array([[1.0, -2.0, 0.5], [3.0, 1.0, -4.0]], np.float32)
    m(ag.tensor(x)).sum().backward()
    weight, bias = gradient_flow(m)
    expected_w = np.tile(x.sum(axis=0), (2, 1))
    assert weight.mean_abs == pytest.approx(np.abs(expected_w).mean())
    assert weight.max_abs == pytest.approx(4.0)
    assert weight.norm == pytest.approx(np.linalg.norm(expected_w))
    assert (bias.mean_abs, bias.max_abs) == (2.0, 2.0)
    assert bias.norm == pytest.approx(math.sqrt(8))


def test_unused_layer_is_flagged_and_listed_as_without_grad():
    model = WithUnusedHead()
    model(ag.tensor(np.ones((5, 3), np.float32))).sum().backward()
    flags = {r.name: r.flag for r in gradient_flow(model)}
    assert flags == {"body.weight": "", "body.bias": "", "head.weight": "", "head.bias": "",
                     "head2.weight": "no grad", "head2.bias": "no grad"}
    assert params_without_grad(model) == ["head2.weight", "head2.bias"]
    missing = [r for r in gradient_flow(model) if not r.has_grad]
    assert all(math.isnan(v) for r in missing for v in (r.mean_abs, r.max_abs, r.norm))


def test_a_parameter_multiplied_by_zero_gets_an_all_zero_gradient_flag():
    class Gated(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(np.ones(3, np.float32))
            self.v = nn.Parameter(np.ones(3, np.float32))

        def forward(self, x):
            return (x * self.w).sum() + (x * self.v * 0.0).sum()

    model = Gated()
    model(ag.tensor([1.0, 2.0, 3.0])).backward()
    rows = {r.name: r for r in gradient_flow(model)}
    assert rows["w"].flag == ""
    assert rows["v"].flag == "zero" and rows["v"].has_grad
    assert (rows["v"].mean_abs, rows["v"].max_abs, rows["v"].norm) == (0.0, 0.0, 0.0)
    assert params_without_grad(model) == []  # a zero gradient is still a gradient


def test_vanishing_and_exploding_flags_follow_the_thresholds():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    _set_grads(model, {"0.weight": np.full((2, 2), 1e-9), "0.bias": [5e3, 1.0],
                       "1.weight": np.full((2, 2), 0.5), "1.bias": [1e-8, 2e-3]})
    flags = [r.flag for r in gradient_flow(model)]
    assert flags == ["vanishing", "exploding", "", ""]  # 1.bias: its max 2e-3 is healthy
    custom = [r.flag for r in gradient_flow(model, vanishing=1e-2, exploding=1e4)]
    assert custom == ["vanishing", "", "", "vanishing"]


@pytest.mark.parametrize("vanishing, exploding", [(1.0, 1.0), (5.0, 1.0), (-1.0, 1.0)])
def test_inconsistent_thresholds_are_rejected(vanishing, exploding):
    with pytest.raises(ValueError, match="vanishing < exploding"):
        gradient_flow(nn.Linear(1, 1), vanishing=vanishing, exploding=exploding)


def test_nan_or_inf_gradients_are_flagged_non_finite():
    m = nn.Linear(2, 1)
    _set_grads(m, {"weight": [[np.nan, 1.0]], "bias": [np.inf]})
    assert [r.flag for r in gradient_flow(m)] == ["non-finite", "non-finite"]
    assert all(r.has_grad for r in gradient_flow(m))


def test_frozen_parameters_are_marked_frozen_and_not_reported_missing():
    model = WithUnusedHead()
    model.head2.weight.requires_grad = False
    model.head2.bias.requires_grad = False
    model(ag.tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert [r.flag for r in gradient_flow(model)][-2:] == ["frozen", "frozen"]
    assert params_without_grad(model) == []
    assert format_gradient_flow(gradient_flow(model)).endswith("no problems found in 6 "
                                                              "parameters")


def test_gradient_flow_accepts_named_parameter_pairs_and_rejects_other_things():
    model = WithUnusedHead()
    model(ag.tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert gradient_flow(model.head.named_parameters("head")) == gradient_flow(model)[2:4]
    assert params_without_grad(model.head2.named_parameters()) == ["weight", "bias"]
    with pytest.raises(TypeError, match="named_parameters"):
        gradient_flow([np.ones(3)])


# ---- the text table ----------------------------------------------------------------------------


def test_format_gradient_flow_is_an_aligned_table_with_a_summary():
    model = WithUnusedHead()
    model(ag.tensor(np.ones((2, 3), np.float32))).sum().backward()
    rows = gradient_flow(model)
    lines = format_gradient_flow(rows).splitlines()
    header, rule, body, summary = lines[0], lines[1], lines[2:-1], lines[-1]
    assert header.split("  ")[0].strip() == "parameter"
    assert len(body) == len(rows)
    # every column starts where its header does
    starts = [header.index(h) for h in ("shape", "mean |grad|", "max |grad|", "norm", "flag")]
    for line, row in zip(body, rows):
        assert line.startswith(row.name + " ")
        assert line[starts[0]:].startswith(str(row.shape))
        if row.has_grad:
            assert line[starts[1]:].startswith(f"{row.mean_abs:.3e}")
            assert line[starts[2]:].startswith(f"{row.max_abs:.3e}")
            assert line[starts[3]:].startswith(f"{row.norm:.3e}")
            assert len(line.rstrip()) < starts[4]  # no flag
        else:
            assert line[starts[1]:].startswith("- ") and line[starts[4]:] == "no grad"
    assert set(rule.replace(" ", "")) == {"-"}
    assert summary == ("2 of 6 parameters flagged: head2.weight (no grad), "
                       "head2.bias (no grad)")


def test_format_gradient_flow_of_no_rows_says_so():
    assert format_gradient_flow([]).splitlines()[-1] == "no parameters"


def test_rows_are_plain_comparable_records():
    row = GradientFlowRow("w", (2,), 1.0, 2.0, 3.0)
    assert row.flag == "" and row.has_grad
    assert row == GradientFlowRow("w", (2,), 1.0, 2.0, 3.0, "")


# ---- dead ReLU fraction ------------------------------------------------------------------------


def _mlp():
    gen = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 5), nn.ReLU(),
                          nn.Linear(5, 1))
    for p in model.parameters():
        p.data[...] = gen.normal(size=p.shape)
    return model


def _numpy_dead_fraction(pre_activation):
    return float(np.mean(np.all(np.maximum(pre_activation, 0) == 0, axis=0)))


def test_a_layer_with_a_very_negative_bias_is_entirely_dead():
    model = _mlp()
    model[2].bias.data[...] = -1e6
    x = np.random.default_rng(2).normal(size=(32, 3))
    fractions = dead_relu_fraction(model, x)
    assert fractions["3"] == 1.0
    assert set(fractions) == {"1", "3"}


def test_dead_fraction_of_a_normal_layer_matches_a_numpy_count():
    model = _mlp()
    model[0].bias.data[:3] = -50.0  # three of six units never fire; the others do
    x = np.random.default_rng(3).normal(size=(40, 3))
    w0, b0 = model[0].weight.data, model[0].bias.data
    h1 = x @ w0.T + b0
    w2, b2 = model[2].weight.data, model[2].bias.data
    h2 = np.maximum(h1, 0) @ w2.T + b2
    fractions = dead_relu_fraction(model, ag.tensor(x))
    assert fractions["1"] == pytest.approx(_numpy_dead_fraction(h1)) == pytest.approx(0.5)
    assert fractions["3"] == pytest.approx(_numpy_dead_fraction(h2))


def test_units_are_all_features_except_the_batch_axis():
    x = np.abs(np.random.default_rng(4).normal(size=(3, 2, 4))) + 0.1  # all alive, then:
    x[:, 1, :2] = -1.0  # 2 of the 8 units are negative for every sample
    x[:, 0, 0] = [-1.0, -2.0, 5.0]  # negative for some samples only: alive
    assert dead_relu_fraction(nn.Sequential(nn.ReLU()), x) == {"0": 2 / 8}


def test_measures_in_eval_mode_without_a_graph_and_restores_each_module_mode():
    model = nn.Sequential(nn.Linear(3, 6), nn.Dropout(0.9), nn.ReLU(), nn.BatchNorm1d(6))
    model.train()
    model[3].eval()  # mixed modes must come back as they were
    seen = []
    model[2].register_forward_hook(
        lambda m, inputs, out: seen.append((m.training, model[1].training, out.grad_fn)))
    x = np.random.default_rng(5).normal(size=(20, 3))
    fractions = dead_relu_fraction(model, x)
    assert seen == [(False, False, None)]
    h = x @ model[0].weight.data.T + model[0].bias.data  # dropout is the identity in eval
    assert fractions == {"2": pytest.approx(_numpy_dead_fraction(h))}
    assert [m.training for m in model] == [True, True, True, False]
    assert len(model[2]._forward_hooks) == 1  # only the test's own hook is left


def test_hooks_are_removed_and_modes_restored_when_forward_fails():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.ReLU()

        def forward(self, x):
            self.act(x)
            raise RuntimeError("boom")

    model = Broken()
    with pytest.raises(RuntimeError, match="boom"):
        dead_relu_fraction(model, np.ones((2, 2)))
    assert model.act._forward_hooks == []
    assert model.training and model.act.training


def test_a_shared_relu_gets_one_entry_per_call_and_leaky_relu_is_ignored():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(2, 4), nn.Linear(4, 3)
            self.act, self.leaky = nn.ReLU(), nn.LeakyReLU()
            self.unused = nn.ReLU()

        def forward(self, x):
            return self.leaky(self.act(self.fc2(self.act(self.fc1(x)))))

    model = Shared()
    model.fc2.bias.data[...] = -1e6
    x = np.random.default_rng(6).normal(size=(10, 2)).astype(np.float32)
    h1 = x @ model.fc1.weight.data.T + model.fc1.bias.data
    fractions = dead_relu_fraction(model, x)
    assert list(fractions) == ["act (call 1)", "act (call 2)"]
    assert fractions["act (call 1)"] == pytest.approx(_numpy_dead_fraction(h1))
    assert fractions["act (call 2)"] == 1.0


def test_dead_relu_fraction_rejects_bad_arguments():
    with pytest.raises(TypeError, match="expected a Module"):
        dead_relu_fraction(lambda x: x, np.ones((2, 2)))
    with pytest.raises(ValueError, match="batch of at least one sample"):
        dead_relu_fraction(nn.ReLU(), np.ones((0, 2)))
    assert dead_relu_fraction(nn.Linear(2, 2), np.ones((3, 2))) == {}
