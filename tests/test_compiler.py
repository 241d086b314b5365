"""ag.compile: a training step traced once and replayed gives bit for bit what eager gives
(losses, parameters, gradients, optimizer state, dropout masks); changed inputs or state trace
again; what a replay could not reproduce is refused while tracing, naming the line."""

from pathlib import Path

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn, optim

ROOT = Path(__file__).resolve().parent.parent


def _mlp(dtype):
    return nn.Sequential(nn.Linear(4, 8, dtype=dtype), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(8, 3, dtype=dtype))


def _cnn(dtype):
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8, 3, dtype=dtype))


def _batchnorm(dtype):
    """BatchNorm in training mode: its running statistics (one with momentum None, a plain
    average over the batches) change on every step, outside the graph."""
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, dtype=dtype),
                         nn.BatchNorm2d(2, dtype=dtype), nn.ReLU(), nn.Flatten(),
                         nn.Linear(32, 5, dtype=dtype),
                         nn.BatchNorm1d(5, momentum=None, dtype=dtype),
                         nn.Linear(5, 3, dtype=dtype))


class _Recurrent(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.rnn = layer
        self.head = nn.Linear(5, 3, dtype=layer.weight_ih_l0.dtype)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def _wide_mlp(dtype):
    """Arrays over 1 KB, which a replay writes into again instead of making anew."""
    return nn.Sequential(nn.Linear(40, 64, dtype=dtype), nn.ReLU(), nn.Linear(64, 3, dtype=dtype))


MODELS = {"mlp": (_mlp, (6, 4)), "wide mlp": (_wide_mlp, (128, 40)), "cnn": (_cnn, (6, 1, 4, 4)),
          "batchnorm": (_batchnorm, (6, 1, 4, 4)),
          "lstm": (lambda dtype: _Recurrent(nn.LSTM(4, 5, batch_first=True, dtype=dtype)),
                   (6, 3, 4)),
          "fused lstm": (lambda dtype: _Recurrent(nn.LSTM(4, 5, batch_first=True, dtype=dtype,
                                                          fused=True)), (6, 3, 4)),
          "gru": (lambda dtype: _Recurrent(nn.GRU(4, 5, batch_first=True, dtype=dtype)),
                  (6, 3, 4))}
OPTIMIZERS = {"sgd": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
              "adam": lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.01),
              "rmsprop": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5),
              "adagrad": lambda ps: optim.Adagrad(ps, lr=0.1)}


def _train_step(model, opt):
    """One training step of ``model``: zero_grad, cross-entropy, backward, step; the loss."""
    def train_step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return train_step


def _setup(model_name, optimizer_name, dtype):
    """A model, its optimizer and a training step, from seed 0."""
    ag.manual_seed(0)
    make, _ = MODELS[model_name]
    model = make(dtype)
    opt = OPTIMIZERS[optimizer_name](model.parameters())
    return model, opt, _train_step(model, opt)


def _batches(model_name, dtype, count=4):
    rng = np.random.default_rng(1)
    shape = MODELS[model_name][1]
    return [(ag.tensor(rng.standard_normal(shape).astype(dtype)),
             ag.tensor(rng.integers(0, 3, shape[0]))) for _ in range(count)]


def _state(model, opt):
    arrays = [t.data.copy() for t in [*model.parameters(), *model.buffers()]]
    arrays += [p.grad.data.copy() for p in model.parameters()]
    arrays += [np.array(v) for s in opt.state.values() for v in s.values()]
    return arrays


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_compiled_steps_equal_eager_steps_bit_for_bit(model_name, optimizer_name, dtype):
    eager_model, eager_opt, eager_step = _setup(model_name, optimizer_name, dtype)
    eager = [eager_step(x, y).item() for x, y in _batches(model_name, dtype)]
    model, opt, train_step = _setup(model_name, optimizer_name, dtype)
    step = ag.compile(train_step)
    compiled = [step(x, y).item() for x, y in _batches(model_name, dtype)]
    assert compiled == eager  # dropout draws the same masks: the same generator, in order
    for want, got in zip(_state(eager_model, eager_opt), _state(model, opt), strict=True):
        assert want.dtype == got.dtype and np.array_equal(want, got)
    assert step.programs == 1


def test_gradient_clipping_is_replayed_and_its_norm_returned_fresh():
    def setup():
        model, opt, _ = _setup("mlp", "sgd", np.float64)

        def train_step(x, y):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
            optim.clip_grad_value_(model.parameters(), 0.05)  # the same function, re-exported
            opt.step()
            return norm
        return model, opt, train_step

    batches = _batches("mlp", np.float64, count=5)
    eager_model, eager_opt, eager_step = setup()
    eager = [eager_step(x, y).item() for x, y in batches]
    model, opt, train_step = setup()
    step = ag.compile(train_step)
    compiled = [step(x, y) for x, y in batches]
    assert [norm.item() for norm in compiled] == eager and len(set(eager)) == 5
    for want, got in zip(_state(eager_model, eager_opt), _state(model, opt), strict=True):
        assert np.array_equal(want, got)
    assert "k.clip_grad_norm(" in step.source and "k.clip_grad_value(" in step.source


def test_the_source_is_the_step_unrolled_with_each_derivative_as_a_comment():
    model, opt, train_step = _setup("mlp", "sgd", np.float64)
    step = ag.compile(train_step)
    x, y = _batches("mlp", np.float64, 1)[0]
    step(x, y)
    source = step.source
    assert source.startswith("def train_step(x, y, *, k):\n")
    lines = source.splitlines()
    assert lines[1] == "    k.Optimizer_zero_grad(k.sgd)"
    assert any(line.startswith("    linear_1 = k.linear(x, k._0_weight, k._0_bias)  # ")
               for line in lines)
    assert any("# d relu / d x = 1 if x > 0 else 0" in line for line in lines)
    assert "k.dropout_mask(" in source  # the random draw is a call, made again each replay
    assert "k.accumulate_grad(" in source and lines[-1].startswith("    return (")


def test_new_shapes_or_module_modes_trace_again_and_a_learning_rate_change_does_not():
    model, opt, train_step = _setup("mlp", "sgd", np.float64)
    step = ag.compile(train_step)
    (x, y), (x2, y2) = _batches("mlp", np.float64, 2)
    step(x, y)
    step(x[:3], y[:3])        # another batch size
    assert step.programs == 2
    model.eval()              # dropout off: another program
    step(x, y)
    assert step.programs == 3
    model.train()
    opt.param_groups[0]["lr"] = 0.0  # read when the update runs: no new trace, and it counts
    before = [p.data.copy() for p in model.parameters()]
    step(x2, y2)
    assert step.programs == 3
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))


def test_a_replaced_parameter_traces_again():
    model, opt, train_step = _setup("mlp", "sgd", np.float64)
    step = ag.compile(train_step)
    x, y = _batches("mlp", np.float64, 1)[0]
    step(x, y)
    model[0].weight = nn.Parameter(np.zeros((8, 4)))
    opt.param_groups[0]["params"][0] = model[0].weight
    step(x, y)
    assert step.programs == 2 and model[0].weight.grad is not None


def test_after_the_cache_limit_it_warns_once_and_runs_eagerly():
    model, opt, train_step = _setup("mlp", "sgd", np.float64)
    step = ag.compile(train_step, cache_limit=2)
    x, y = _batches("mlp", np.float64, 1)[0]
    step(x[:1], y[:1])
    step(x[:2], y[:2])
    with pytest.warns(RuntimeWarning, match="needed more than 2 programs"):
        step(x[:3], y[:3])
    assert step.programs == 2
    assert step(x[:4], y[:4]).grad_fn is not None  # eager from now on


UNSAFE = {
    "item": (lambda loss: loss.item(), r"t\.item\(\) at test_compiler\.py:\d+"),
    "float": (lambda loss: float(loss), r"float\(t\) at"),
    "branch": (lambda loss: 1 if loss > 0 else 0, r"bool\(t\) \(an if or while"),
    "numpy": (lambda loss: loss.numpy(), r"t\.numpy\(\) at"),
    "asarray": (lambda loss: np.asarray(loss), r"np\.asarray\(t\)"),
    "print": (lambda loss: repr(loss), "printing a tensor"),
    "in place": (lambda loss: loss.add_(1.0), "the in-place op add_ at"),
    "randn": (lambda loss: ag.randn(3), "randn draws random numbers inside the traced"),
    "grad": (lambda loss: ag.grad(loss, [loss]), "ag.grad / autograd.grad is not supported"),
}


@pytest.mark.parametrize("what", sorted(UNSAFE))
def test_what_a_replay_cannot_reproduce_is_refused_while_tracing(what):
    read, message = UNSAFE[what]
    model = nn.Linear(4, 1, dtype=np.float64)

    def step(x):
        loss = model(x).sum()
        read(loss)
        return loss

    with pytest.raises(ag.CompileError, match=message):
        ag.compile(step)(ag.tensor(np.arange(8.0).reshape(2, 4)))


def test_a_python_number_result_or_an_input_converted_inside_is_refused():
    model = nn.Linear(4, 1, dtype=np.float64)
    x = np.arange(8.0).reshape(2, 4)
    with pytest.raises(ag.CompileError, match="returned a float"):
        ag.compile(lambda x: 2.0)(x)
    with pytest.raises(ag.CompileError, match="an input was converted inside"):
        ag.compile(lambda x: model(ag.tensor(x)).sum())(x)


def test_hooks_and_create_graph_are_refused():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    w.register_hook(lambda g: g)
    with pytest.raises(ag.CompileError, match="a hook on a leaf tensor"):
        ag.compile(lambda x: (w * x).sum().backward())(np.ones(2))
    v = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ag.CompileError, match="create_graph=True"):
        ag.compile(lambda x: (v * x).sum().backward(create_graph=True))(np.ones(2))


def test_post_accumulate_grad_hooks_run_in_every_replay_as_in_eager():
    """A post-accumulate-grad hook (DistributedDataParallel's averaging is one) is replayed as
    a call, after its leaf's gradient is accumulated: what it does, it does on every call."""
    def setup():
        w = ag.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        w.register_post_accumulate_grad_hook(lambda t: (seen.append(t.grad.tolist()),
                                                        np.multiply(t.grad.data, 0.5,
                                                                    out=t.grad.data)))
        opt = optim.SGD([w], lr=0.1)

        def train_step(x):
            opt.zero_grad()
            (w * w * x).sum().backward()
            opt.step()
            return w * 1.0
        return w, seen, train_step

    w_eager, seen_eager, eager = setup()
    w, seen, step = setup()
    step = ag.compile(step)
    for x in ([3.0, -1.0], [1.5, 2.0], [0.5, 0.25], [2.0, 4.0]):
        eager(np.array(x))
        step(np.array(x))
    assert seen == seen_eager and len(seen) == 4
    assert np.array_equal(w.data, w_eager.data)
    lines = [line.strip() for line in step.source.splitlines()]
    hooks = lines.index("k.post_accumulate_grad_hooks(k.constant_tensor)")
    assert lines[hooks - 1].startswith("k.accumulate_grad(k.constant_tensor,")


def test_the_recorder_is_removed_after_tracing_even_when_it_fails():
    model = nn.Linear(2, 1)
    with pytest.raises(ag.CompileError):
        ag.compile(lambda x: model(x).sum().item())(np.ones((1, 2), np.float32))
    assert model(ag.ones(1, 2)).sum().item() == pytest.approx(model(ag.ones(1, 2)).sum().item())
    assert ag.Tensor.item.__qualname__ == "Tensor.item"


def test_the_readme_shows_the_source_its_example_prints(capsys):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Compile a training step"):]
    code, counting = (part.split("```")[0] for part in section.split("```python\n")[1:3])
    shown = section.split("```text\n")[1].split("```")[0]
    namespace = {"ag": ag, "np": np, "nn": nn, "optim": optim}
    exec(compile(code, "README.md", "exec"), namespace)
    assert capsys.readouterr().out.rstrip("\n") == shown.rstrip("\n")
    exec(compile(counting, "README.md", "exec"), namespace)  # its arrays are all small
    assert capsys.readouterr().out == "[]\n"


def test_compile_refuses_what_it_cannot_take():
    with pytest.raises(TypeError, match="compile: expected a function, got int"):
        ag.compile(3)
    with pytest.raises(TypeError, match="compile: arguments must be Tensors, numpy arrays or "
                                        "Python scalars, got list"):
        ag.compile(lambda x: x)([1.0])
    with pytest.raises(RuntimeError, match="has not been called yet"):
        _ = ag.compile(lambda x: x).source
    assert ag.compile(cache_limit=3)(lambda x: x).cache_limit == 3  # as a decorator factory


def test_model_zero_grad_inside_is_replayed_and_a_gradient_assigned_is_refused():
    model, opt, _ = _setup("mlp", "sgd", np.float64)
    model.eval()

    def step(x, y):
        model.zero_grad()  # each parameter's .grad = None, replayed as such
        nn.functional.cross_entropy(model(x), y).backward()
        return model[0].weight.grad

    x, y = _batches("mlp", np.float64, 1)[0]
    compiled = ag.compile(step)
    first, again = compiled(x, y).data.copy(), compiled(x, y).data
    assert np.array_equal(first, again)  # not accumulated into the first call's gradient
    with pytest.raises(ag.CompileError, match="assigning a gradient"):
        ag.compile(lambda x: setattr(model[0].weight, "grad", ag.zeros(8, 4,
                                                                       dtype=np.float64)))(x)


def test_an_argument_that_requires_grad_is_refused():
    w = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(ag.CompileError, match="argument 0 requires grad"):
        ag.compile(lambda w: (w * 2).sum())(w)


@pytest.mark.parametrize("optimizer_name", ["sgd", "adam"])
def test_check_runs_eager_beside_the_first_replays_and_keeps_eagers_numbers(optimizer_name):
    eager_model, eager_opt, eager_step = _setup("mlp", optimizer_name, np.float64)
    eager = [eager_step(x, y).item() for x, y in _batches("mlp", np.float64)]
    model, opt, train_step = _setup("mlp", optimizer_name, np.float64)
    step = ag.compile(train_step, check=2)
    assert [step(x, y).item() for x, y in _batches("mlp", np.float64)] == eager
    assert step.checks == 0
    for want, got in zip(_state(eager_model, eager_opt), _state(model, opt), strict=True):
        assert np.array_equal(want, got)


def test_check_names_the_line_where_the_replay_parts_from_eager():
    scale = {"value": 2.0}  # a Python value the program baked in, changed behind its back
    w = ag.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)

    def step(x):
        w.grad = None
        loss = (w * scale["value"] * x).sum()
        loss.backward()
        return loss

    compiled = ag.compile(step, check=True)
    x = np.ones(2)
    compiled(x)
    scale["value"] = 3.0
    with pytest.raises(ag.CompileError, match=r"differs from eager at\n    mul_1 = k\.mul\("
                                              r"k\.constant, 2\.0\)  # test_compiler\.py:\d+\n"
                                              r"where eager now runs\n    mul_1 = k\.mul\(k\."
                                              r"constant, 3\.0\)"):
        compiled(x)


def test_an_error_in_a_replay_names_the_program_line_and_the_users():
    step = ag.compile(lambda x: ag.exp(ag.tensor([1.0, 2.0], dtype=np.float64) * x))
    step(np.ones(2))
    # the first replay runs the steps one by one; the second runs the compiled source
    for replay in ("stepped", "compiled"):
        with np.errstate(over="raise"), pytest.raises(
                FloatingPointError, match=r"in the compiled program, at: exp_\d+ = "
                                          r"k\.exp\(mul_\d+\)  # test_compiler\.py:\d+"):
            step(np.full(2, 1000.0))
        assert (step._last.function is None) == (replay == "stepped")


def test_the_first_replay_runs_the_steps_and_later_ones_the_compiled_source():
    batches = _batches("mlp", np.float64, count=4)
    _, _, eager_step = _setup("mlp", "adam", np.float64)
    eager = [eager_step(x, y).item() for x, y in batches]
    _, _, train_step = _setup("mlp", "adam", np.float64)  # seeds again: the same dropout masks
    step = ag.compile(train_step)
    losses = [step(*batches[0]).item()]  # traced
    losses.append(step(*batches[1]).item())
    assert step._last.function is None  # a program replayed once is never compiled
    losses += [step(x, y).item() for x, y in batches[2:]]
    assert step._last.function is not None and losses == eager


def test_explain_lists_each_program_with_its_guards():
    model, opt, train_step = _setup("mlp", "sgd", np.float64)
    step = ag.compile(train_step)
    assert step.explain() == "train_step: not traced yet"
    (x, y), = _batches("mlp", np.float64, 1)
    step(x, y)
    step(x[:2], y[:2])
    text = step.explain()
    assert text.startswith("train_step: 2 program(s) of at most 8\n")
    assert "- inputs (Tensor (6, 4) float64, Tensor (6,) int64); grad mode on; " \
           "Sequential.training=True, Linear.training=True" in text
    assert "- inputs (Tensor (2, 4) float64, Tensor (2,) int64)" in text


def test_anomaly_mode_runs_the_step_eagerly_so_every_op_is_checked():
    model, opt, train_step = _setup("mlp", "sgd", np.float64)
    step = ag.compile(train_step)
    (x, y), = _batches("mlp", np.float64, 1)
    step(x, y)
    with ag.detect_anomaly():
        assert step(x, y).grad_fn is not None  # eager: the loss has its graph
    assert step.programs == 1


def test_ten_thousand_replays_keep_memory_flat():
    import tracemalloc

    w = ag.tensor(np.ones(8), requires_grad=True)
    opt = optim.SGD([w], lr=1e-6)

    def step(x):
        opt.zero_grad()
        loss = (ag.tanh(w * x) ** 2).sum()
        loss.backward()
        opt.step()
        return loss

    compiled = ag.compile(step)
    x = np.linspace(0, 1, 8)
    for _ in range(100):
        compiled(x)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(10_000):
        compiled(x)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 64 * 1024, grown


W2_OPTIMIZERS = {"sgd": lambda ps: optim.SGD(ps, lr=0.1),
                 "sgd momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                 "adam": lambda ps: optim.Adam(ps, lr=1e-3)}


@pytest.mark.parametrize("optimizer_name", sorted(W2_OPTIMIZERS))
def test_a_steady_replay_of_the_w2_step_makes_no_array_over_1_kb(optimizer_name):
    """The benchmark's MLP step (784-256-128-10, batch 128, float32): each line writes into the
    array it wrote into on the previous call, the optimizer its update into memory it keeps;
    what is left are small arrays (a row's label, its loss), from numpy's cache of blocks."""
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    opt = W2_OPTIMIZERS[optimizer_name](model.parameters())
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((128, 784)).astype(np.float32))
    y = ag.tensor(rng.integers(0, 10, 128))
    train_step = ag.compile(_train_step(model, opt))
    for _ in range(3):  # traces, runs the steps, compiles
        train_step(x, y)
    with ag.testing.array_allocations() as sizes:
        loss = train_step(x, y)
    assert [n for n in sizes if n > 1024] == []
    assert 0 < len(sizes) < 200 and np.isfinite(loss.item())


def test_an_array_someone_still_holds_is_never_written_into():
    """A replay writes into an array again only when nothing outside holds it: a ``.grad``
    kept from the previous step, a returned result, a view of one keep their values."""
    ag.manual_seed(0)
    model = _wide_mlp(np.float64)
    opt = optim.SGD(model.parameters(), lr=0.1)

    @ag.compile
    def train_step(x, y):
        opt.zero_grad()
        hidden = model[1](model[0](x))
        loss = nn.functional.cross_entropy(model[2](hidden), y)
        loss.backward()
        opt.step()
        return hidden, hidden[:2], loss

    batches = _batches("wide mlp", np.float64, count=6)
    kept = []
    for x, y in batches:
        hidden, view, _ = train_step(x, y)
        grad = model[0].weight.grad
        kept.append((hidden, hidden.data.copy(), view, view.data.copy(), grad, grad.data.copy()))
    assert "into=k.spare(" in train_step.source
    for hidden, hidden_then, view, view_then, grad, grad_then in kept:
        assert np.array_equal(hidden.data, hidden_then) and np.array_equal(view.data, view_then)
        assert np.array_equal(grad.data, grad_then)
    assert len({id(h.data) for h, *_ in kept}) == len(kept)  # each call made its own
    # dropped, they are written into again: the step makes no large array
    del kept, hidden, view, grad
    train_step(*batches[0])
    with ag.testing.array_allocations() as sizes:
        train_step(*batches[1])
    assert [n for n in sizes if n > 1024] == []


def test_a_call_overlapping_a_running_one_is_refused():
    """A program writes into the same arrays on every call, so a second thread calling it while
    a replay runs is refused instead of mixing the two calls' values."""
    import threading

    class WaitingSGD(optim.SGD):  # its update (replayed as part of step()) waits to be let go
        release = threading.Event()

        def _update(self, p, g, state, group):
            assert self.release.wait(timeout=30)
            super()._update(p, g, state, group)

    w = ag.tensor(np.ones(3), requires_grad=True)
    opt = WaitingSGD([w], lr=0.1)

    @ag.compile
    def train_step(x):
        opt.zero_grad()
        (w * x).sum().backward()
        opt.step()
        return w * 1.0

    WaitingSGD.release.set()
    train_step(np.ones(3))  # traces
    WaitingSGD.release.clear()
    replay = threading.Thread(target=train_step, args=(np.ones(3),))
    replay.start()  # runs until the optimizer step, which waits
    with pytest.raises(RuntimeError, match="called while a call of it was running"):
        while replay.is_alive():
            train_step(np.ones(3))
    WaitingSGD.release.set()
    replay.join()
    assert np.array_equal(train_step(np.ones(3)).data, np.ones(3) - 0.1 - 0.1 - 0.1)  # 3 steps


def test_infinite_and_nan_constants_are_written_as_floats():
    step = ag.compile(lambda x: ag.clip(x, -np.inf, np.inf) + np.nan)
    step(np.ones(2))
    assert "min=float('-inf'), max=float('inf')" in step.source
    assert np.isnan(step(np.ones(2)).data).all()


def test_a_custom_function_backward_is_refused():
    class Double(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    w = ag.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    with pytest.raises(ag.CompileError, match="the backward of the custom Function Double"):
        ag.compile(lambda x: (Double.apply(w) * x).sum().backward())(np.ones(2))
