"""``ag.compile``: run a training step once with a recorder on, then replay what it computed as
one straight-line Python function over numpy arrays, with no Tensor, Node or engine left in it.

>>> model = ag.nn.Linear(3, 1, dtype=np.float64)
>>> opt = ag.optim.SGD(model.parameters(), lr=0.1)
>>> def train_step(x, y):
...     opt.zero_grad()
...     loss = ag.nn.functional.mse_loss(model(x), y)
...     loss.backward()
...     opt.step()
...     return loss
>>> step = ag.compile(train_step)
>>> x, y = np.ones((4, 3)), np.zeros((4, 1))
>>> first = step(x, y)                  # traces: runs eagerly, recording every array it makes
>>> second = step(x, y)                 # replays the recording
>>> print(step.source.splitlines()[0])
def train_step(x, y, *, k):

What is recorded, in the order eager runs it: each op's forward (its numpy function), each
backward rule the engine calls, the sums of gradients sent to one node, the engine's shape and
dtype fitting, and the calls that change state outside the graph, replayed as calls to the very
same functions: ``optimizer.zero_grad()``, ``optimizer.step()``, a scheduler's ``step()``, the
delivery of each leaf's gradient into ``.grad`` and its post-accumulate-grad hooks (so
``DistributedDataParallel``'s averaging, with the wrapper's preparation before the forward),
dropout's random mask, BatchNorm's update of its running statistics, gradient clipping. A
tensor's value may be read inside those calls, as they run in full on every replay. The
replay therefore
computes bit for bit what eager does, updates the same parameters, optimizer state and
``.grad``s, and draws fresh random numbers from the same generators in the same order; the
learning rate and the other hyper-parameters are read when the update runs, so a schedule needs
no new trace.

Memory: where an op declares a form of its forward or rule that writes into a given array
(``Op.writes_into``), a line making an array over 1 KB writes, on the next call, into the array
it made on the previous one, if nothing outside the program holds that array any more (its
reference count says so): a ``.grad`` still set, a result or a view of one still held, an
optimizer's state keep theirs, and a new array takes the place. So a steady training step makes
no large array (``ag.testing.array_allocations`` counts them), and no one sees a value change.

Guards, checked on every call, pick the program: the inputs' types, shapes and dtypes, grad
mode, the ``training`` flag of each module called, and the identity of each of their parameters
and buffers. A changed guard traces again (up to ``cache_limit`` programs; then it warns once
and runs eagerly). What a program cannot see change is refused while tracing, naming the line:
reading a tensor's value into Python (``item()``, ``float(t)``, ``bool(t)``, ``numpy()``,
``tolist()``, ``np.asarray(t)``), in-place tensor ops, random numbers drawn inside the step
(dropout's excepted), inputs converted inside it, custom ``Function`` backwards,
``create_graph``, tensor hooks (``register_hook``) and ``ag.grad``. Python code around the
ops (a counter, a print) runs when tracing only. Results come back as fresh Tensors without a
graph; the recording runs in one thread, and calls of one compiled function must not overlap
(they share its arrays: one that would is refused). ``compile(fn, check=True)`` runs the first
replays beside eager and raises at the first line whose value differs.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import keyword
import math
import os
import sys
import threading
import types
import warnings
from typing import Any

import numpy as np

from . import anomaly_mode, creation, engine
from ._tensor import Tensor
from .distributed import DistributedDataParallel
from .errors import with_message
from .function import FunctionNode
from .grad_mode import grad_mode
from .nn import functional as F
from .nn import utils as nn_utils
from .nn.layers import _BatchNorm
from .nn.module import Module
from .ops.registry import REGISTRY
from .optim import lr_scheduler
from .optim.optimizer import Optimizer

__all__ = ["compile", "CompileError", "Compiled"]


class CompileError(RuntimeError):
    """The traced function did something a replay could not reproduce."""


def compile(fn=None, *, check: bool | int = False, cache_limit: int = 8):
    """Trace ``fn`` on its first call and replay the recording on later calls with inputs of
    the same kinds, shapes and dtypes (see the module docstring). Also ``@ag.compile``.

    ``check=True`` (or a number of calls; True is 3) runs each of the first replays side by
    side with eager, from the same state, and raises at the first array that differs, naming
    the program's line (the op, and the user's line that called it)."""
    if fn is None:
        return functools.partial(compile, check=check, cache_limit=cache_limit)
    if not callable(fn):
        raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
    return Compiled(fn, 3 if check is True else int(check), cache_limit)


class Compiled:
    """A compiled function: call it as the original. ``source`` is the program the last call
    ran, as Python; ``programs`` how many are cached."""

    def __init__(self, fn, checks, cache_limit):
        self.fn, self.checks, self.cache_limit = fn, checks, cache_limit
        self._programs = {}  # guard key -> the programs traced for it, each with its state
        self._last = None
        self._eager = False  # the cache limit was reached
        self._running = threading.Lock()  # held by the call running
        functools.update_wrapper(self, fn)

    @property
    def source(self) -> str:
        if self._last is None:
            raise RuntimeError(f"compile: {self.fn.__name__} has not been called yet, so there "
                               "is no program")
        return self._last.source

    @property
    def programs(self) -> int:
        return sum(len(programs) for programs in self._programs.values())

    def __call__(self, *args):
        if self._eager or anomaly_mode.enabled:  # anomaly mode checks every op: run them
            return self.fn(*args)
        if not self._running.acquire(blocking=False):
            raise RuntimeError(f"compile: {self.fn.__name__} was called while a call of it was "
                               "running (from another thread, or from inside it); its program "
                               "writes into the same arrays on every call, so calls must not "
                               "overlap")
        try:
            return self._call(args)
        finally:
            self._running.release()

    def _call(self, args):
        program = self._cached(args)
        if program is not None:
            self._last = program
            if self.checks:
                self.checks -= 1
                return _checked_replay(self.fn, program, args)
            return program.run(args)
        if self.programs >= self.cache_limit:
            warnings.warn(f"compile: {self.fn.__name__} needed more than {self.cache_limit} "
                          "programs (its inputs or state keep changing); running it eagerly "
                          "from now on", RuntimeWarning, stacklevel=3)
            self._eager = True
            return self.fn(*args)
        result, program = _trace(self.fn, args)
        self._programs.setdefault(_guard_key(args), []).append(program)
        self._last = program
        return result

    def _cached(self, args):
        """The program traced for arguments and state like these (what the guards check), or
        None."""
        for program in self._programs.get(_guard_key(args), ()):
            if program.state_holds():
                return program
        return None

    def explain(self) -> str:
        """What is cached: one paragraph per program, with the guards it was traced under and
        its size."""
        if not self._programs:
            return f"{self.fn.__name__}: not traced yet"
        parts = [f"{self.fn.__name__}: {self.programs} program(s) of at most {self.cache_limit}"
                 + (", now running eagerly" if self._eager else "")]
        for key, programs in self._programs.items():
            grad, *inputs = key
            shown = ", ".join(f"{kind} {shape} {dtype}" if kind != "value" else repr(dtype)
                              for kind, shape, dtype in inputs)
            for program in programs:
                lines = program.source.count("\n") - 2
                modes = ", ".join(f"{type(m).__name__}.training={t}"
                                  for m, t in program.modules[:4])
                more = ", ..." if len(program.modules) > 4 else ""
                parts.append(f"- inputs ({shown}); grad mode {'on' if grad else 'off'}; "
                             f"{modes}{more}; {len(program.leaves)} parameter/buffer arrays "
                             f"guarded; {lines} lines")
        return "\n".join(parts)


def _guard_key(args):
    """What a program is specialised to, besides the state it checks itself: grad mode and the
    inputs' kinds, shapes and dtypes (Python scalars by value)."""
    key: list[object] = [grad_mode.enabled]
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            if a._requires_grad:
                raise CompileError(f"compile: argument {i} requires grad; a compiled step "
                                   "computes the gradients of tensors it holds (parameters), "
                                   "not of its arguments. Pass x.detach(), or run eagerly")
            key.append(("Tensor", a.data.shape, a.data.dtype))
        elif isinstance(a, np.ndarray):
            key.append(("array", a.shape, a.dtype))
        elif a is None or isinstance(a, (bool, int, float, str)):
            key.append(("value", type(a), a))  # explain() shows the value
        else:
            raise TypeError(f"compile: arguments must be Tensors, numpy arrays or Python "
                            f"scalars, got {type(a).__name__}")
    return tuple(key)


# ---- the program ------------------------------------------------------------------------------


class _Program:
    """A recorded call: its steps and their source, what it returns, and the state it assumes.

    The first replay runs the steps one by one; the second writes the source and compiles it
    into a function, which later replays run. Compiling costs about 10 us a line, so a 10^5-op
    program would pay seconds before its first replay, and one traced for a single call never
    pays it. The steps hold numbers and names only (functions and values are kept in ``fixed``),
    so the garbage collector has no object per step to visit."""

    def __init__(self, render, steps, fixed, inputs, outputs, array_args, template, modules,
                 leaves):
        self._render = render  # () -> (source, constants); written when first needed
        self._source: str | None = None
        self._constants: types.SimpleNamespace | None = None
        self.inputs = inputs
        # (function, args, kwargs or None, output name), the function and each argument a slot:
        # the name of a value the program makes or takes in, or the number of a value in
        # ``fixed``, those it reads that it does not make. Both None once compiled.
        self.steps: list[tuple[Any, tuple[Any, ...], dict[str, Any] | None, Any]] | None = steps
        self.fixed: dict[int, Any] | None = fixed
        self.outputs = outputs  # their slots
        self.function = None  # compiled on the second replay
        self.replays = 0
        self.array_args, self.template = array_args, template
        self.modules = modules  # (module, its training flag when traced)
        self.leaves = leaves    # (registry dict, name, tensor, its array when traced)

    @property
    def source(self) -> str:
        """The program as Python source (written on the second call, or when asked for: a
        recording's first replay runs its steps, and does not need it)."""
        if self._source is None:
            self._source, self._constants = self._render()
            self._render = None
        return self._source

    @property
    def constants(self) -> types.SimpleNamespace:
        """What the source reads as ``k.<name>``: functions, parameters, optimizers."""
        self.source  # noqa: B018 (written with the source)
        assert self._constants is not None
        return self._constants

    def state_holds(self) -> bool:
        """The guards on state: the modules' ``training`` flags, and the same parameter and
        buffer objects holding the same arrays."""
        for module, training in self.modules:
            if module.training is not training:
                return False
        for registry, name, tensor, array in self.leaves:
            if registry.get(name) is not tensor or tensor.data is not array:
                return False
        return True

    def run(self, args, function=None):
        arrays = [a.data if isinstance(a, Tensor) else a for i, a in enumerate(args)
                  if i in self.array_args]
        self.replays += 1
        if function is None and self.function is None and self.replays > 1:
            self.function = _compiled(self.source, self.constants)
            self.steps = self.fixed = None  # only the first replay ran them
        function = function or self.function
        try:
            if function is None:
                with _collector_paused():
                    values = self._interpret(arrays)
            else:
                values = function(*arrays)
        except Exception as e:
            raise self._located(e) from None
        return _rebuild(self.template, iter(values))

    def _interpret(self, arrays):
        """What the generated function computes, step by step: the values of ``outputs``."""
        assert self.steps is not None and self.fixed is not None  # only before compiling
        slots = {**self.fixed, **dict(zip(self.inputs, arrays))}
        get = slots.__getitem__
        for at, (fn, args, kwargs, out) in enumerate(self.steps):
            try:
                if kwargs is None:
                    value = get(fn)(*map(get, args))
                else:
                    value = get(fn)(*map(get, args), **{k: get(v) for k, v in kwargs.items()})
            except Exception:
                self.failed_at = at
                raise
            if out is not None:
                slots[out] = value
        return tuple(map(get, self.outputs))

    def _located(self, e):
        """The error, saying which line of the program raised it (the op, and the user's line
        that called it, in its comment)."""
        tb = e.__traceback__
        lineno = None
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename == "<string>":
                lineno = tb.tb_lineno
            elif code is _Program._interpret.__code__:
                lineno = self.failed_at + 2  # the steps are the lines after the def line
            tb = tb.tb_next
        if lineno is None:
            return e
        line = self.source.splitlines()[lineno - 1].strip()
        return with_message(e, f"{e}\n  (in the compiled program, at: {line})")

    def run_keeping_values(self, args):
        """``run``, and a copy of each line's value as it is made (for ``check``)."""
        seen: list[np.ndarray] = []  # the values,
        made: list[str] = []         # and the lines that made them
        lines = self.source.splitlines()
        kept = [lines[0].replace("*, k):", "*, k, seen):")]
        for line in lines[1:]:
            kept.append(line)
            name, _, _ = line.strip().partition(" = ")
            if " = " in line and name.isidentifier():
                kept.append(f"    seen.append(np.array({name}))")
                made.append(line.strip())
        function = _compiled("\n".join(kept) + "\n", self.constants)
        return self.run(args, functools.partial(function, seen=seen)), list(zip(made, seen))


def _compiled(source, constants):
    """The function a program's source defines, bound to its constants."""
    namespace: dict[str, Any] = {"np": np}
    exec(source, namespace)  # our own generated code
    (function,) = (v for k, v in namespace.items() if k != "np" and not k.startswith("__"))
    return functools.partial(function, k=constants)


def _checked_replay(fn, program, args):
    """Run ``fn`` eagerly (a new trace, its values kept), put the state back as it was, replay
    ``program`` keeping its values, and compare them line by line, then the state."""
    state = _State(program)
    _, _, eager_values = _trace(fn, args, keep_values=True)
    eager_state = state.read()
    state.restore()
    result, replay_values = program.run_keeping_values(args)
    if len(replay_values) != len(eager_values):
        raise CompileError(f"compile(check=True): eager now runs {len(eager_values)} lines and "
                           f"the replay {len(replay_values)}: {fn.__name__} takes another path")
    for (eager_line, want), (line, got) in zip(eager_values, replay_values):
        if want.dtype != got.dtype or not np.array_equal(want, got, equal_nan=True):
            raise CompileError(f"compile(check=True): the replay of {fn.__name__} differs from "
                               f"eager at\n    {line}\nwhere eager now runs\n    "
                               f"{eager_line.strip()}")
    for (what, want), (_, got) in zip(eager_state, state.read()):
        if not _same(want, got):
            raise CompileError(f"compile(check=True): after the replay of {fn.__name__}, {what} "
                               "differs from eager's")
    return result


def _same(a, b):
    """Equal, bit for bit for arrays, through dicts and lists."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


class _State:
    """What a step changes outside its result: the parameters and buffers of the modules it
    called, the ``.grad`` of every tensor it reads, the optimizers' and schedulers' state and
    the random generators, read as copies and put back in place."""

    def __init__(self, program):
        k = vars(program.constants).values()
        self.tensors = {id(t): t for _, _, t, _ in program.leaves}
        self.tensors.update((id(t), t) for t in k if isinstance(t, Tensor))
        self.optimizers = [o for o in k if isinstance(o, Optimizer)]
        self.schedulers = [s for s in k if isinstance(s, lr_scheduler.LRScheduler)]
        self.generators = [creation.default_generator(),
                           *(g for g in k if isinstance(g, np.random.Generator))]
        self.saved = self.read()

    def read(self):
        found = []
        for t in self.tensors.values():
            found.append((f"a tensor of shape {t.shape}", t.data.copy()))
            found.append((f"the .grad of a tensor of shape {t.shape}",
                          None if t._grad is None else t._grad.data.copy()))
        for opt in self.optimizers:
            found.append((f"{type(opt).__name__}'s state", {
                id(p): {key: np.array(v) if isinstance(v, np.ndarray) else v
                        for key, v in s.items()} for p, s in opt.state.items()}))
            found.append((f"{type(opt).__name__}'s options", [
                {key: v for key, v in group.items() if key != "params"}
                for group in opt.param_groups]))
        for sched in self.schedulers:
            found.append((f"{type(sched).__name__}'s state", sched.state_dict()))
        for gen in self.generators:
            found.append(("a random generator", gen.bit_generator.state))
        return found

    def restore(self):
        values = iter(value for _, value in self.saved)
        for t in self.tensors.values():
            np.copyto(t.data, next(values))
            grad = next(values)
            t._grad = None if grad is None else Tensor._make(grad.copy(), None)
        for opt in self.optimizers:
            states, groups = next(values), next(values)
            for p in list(opt.state):
                opt.state[p] = {key: np.array(v) if isinstance(v, np.ndarray) else v
                                for key, v in states[id(p)].items()}
            for group, options in zip(opt.param_groups, groups):
                group.update(options)
        for sched in self.schedulers:
            sched.load_state_dict(next(values))
        for gen in self.generators:
            gen.bit_generator.state = next(values)


def _rebuild(template, values):
    """The traced function's result, its Tensors made from the replay's arrays."""
    if template is _TENSOR:
        return Tensor._make(next(values), None)
    if isinstance(template, (tuple, list)):
        return type(template)(_rebuild(t, values) for t in template)
    if isinstance(template, dict):
        return {k: _rebuild(t, values) for k, t in template.items()}
    return template


_TENSOR = object()  # marks a Tensor's place in a result template


# ---- tracing ----------------------------------------------------------------------------------


def _trace(fn, args, keep_values=False):
    """Run ``fn(*args)`` eagerly with the recorder installed; its result and the program (and,
    with ``keep_values``, a copy of each line's value, for ``check``)."""
    with _collector_paused():
        return _record(fn, args, keep_values)


@contextlib.contextmanager
def _collector_paused():
    """The cyclic garbage collector paused, while tracing and while a recording's steps run: both
    make a few objects per line, none of them garbage, and the collector's full passes over the
    growing heap took a third of a 10^5-op trace and a third of its first replay."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _record(fn, args, keep_values):
    """``_trace``'s work: the call, recorded, then the program made of the recording."""
    names = _argument_names(fn, len(args))
    tracer = _Tracer(keep_values)
    array_args = []
    for i, (name, a) in enumerate(zip(names, args)):
        array = a.data if isinstance(a, Tensor) else a
        if isinstance(array, np.ndarray):
            tracer.name_input(array, name)
            array_args.append(i)
    with tracer.installed():
        result = fn(*args)
    outputs: list[str | int] = []  # the slot of each Tensor returned
    template = _template(result, outputs, tracer)
    inputs = [names[i] for i in array_args]
    steps = tracer.steps
    program = _Program(lambda: tracer.source(fn.__name__, inputs, steps, outputs), steps,
                       tracer.fixed, inputs, outputs, set(array_args), template,
                       [(m, m.training) for m in tracer.modules.values()], tracer.leaves())
    values = tracer.values
    tracer.finished()
    if values is None:
        return result, program
    lines = program.source.splitlines()[1:]
    return result, program, [(lines[i].strip(), value) for i, value in values]


def _argument_names(fn, count):
    """Names for the inputs: the function's own parameter names where it has them."""
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) and params[i].isidentifier() else f"arg{i}"
            for i in range(count)]


def _template(value, outputs, tracer):
    """The result's shape with each Tensor replaced by a marker, its array's reference and slot
    appended to ``outputs``; a Python number or array result would be frozen, so it is refused."""
    if isinstance(value, Tensor):
        outputs.append(tracer.arg(value.data))
        return _TENSOR
    if isinstance(value, (tuple, list)):
        return type(value)(_template(v, outputs, tracer) for v in value)
    if isinstance(value, dict):
        return {k: _template(v, outputs, tracer) for k, v in value.items()}
    if value is None or isinstance(value, str):
        return value
    raise CompileError(f"compile: the traced function returned a {type(value).__name__}; a "
                       "replay could only return the value it had when traced. Return Tensors "
                       "(e.g. the loss, not loss.item()) and read them after the call")


class _Tracer:
    """Records the arrays a traced call makes, as lines of the program."""

    def __init__(self, keep_values=False):
        # (step number, a copy of its value), for check
        self.values: list[tuple[int, np.ndarray]] | None = [] if keep_values else None
        self.steps = []       # each line as (function, args, kwargs, output name), for _interpret
        # each line as (the form called instead of the step's function, or None; name hint;
        # buffer number or None; comment)
        self.notes = []
        self.checked = set()  # ids of the arrays read as constants, checked when first read
        self.fixed = {}       # number -> a value the steps read that the program does not make
        self.function_numbers = {}  # id(function) -> its number in fixed
        self.names = {}       # id(array) -> its name in the program
        self.arrays = []      # every named array, kept alive so that ids stay unique
        self.inputs = []      # the input arrays
        self.constants = {}   # name -> object the program reads (functions, live objects)
        self.constant_names = {}  # id(object) -> name
        self.pending = {}     # gradient destination (Node or leaf) -> arrays sent to it, in order
        self.depth = 0        # > 0 inside a recorded call: what it calls is part of it
        self.modules = {}     # id -> module called
        self.counter = 0
        # the arrays the lines calling a form write into, by number
        self.buffers: list[np.ndarray] = []
        self.spare = functools.partial(_spare, self.buffers)

    # -- names and references

    def name_input(self, array, name):
        self.names[id(array)] = name
        self.arrays.append(array)
        self.inputs.append(array)

    def fresh(self, hint):
        self.counter += 1
        return f"{_identifier(hint)}_{self.counter}"

    def constant(self, value, hint):
        """The program's name for a non-array object it reads (``k.<name>``)."""
        known = self.constant_names.get(id(value))
        if known is None:
            known = _identifier(hint)
            while known in self.constants:
                known = self.fresh(hint)
            self.constants[known] = value
            self.constant_names[id(value)] = known
        return f"k.{known}"

    def ref(self, value):
        """How the program's source refers to a value it reads but does not make."""
        if isinstance(value, np.ndarray):
            return self.constant(value, self._array_hint(value))
        if isinstance(value, float) and not math.isfinite(value):
            return f"float({str(value)!r})"  # repr gives nan or inf, which are not names here
        if value is None or isinstance(value, (bool, int, float, str)):
            return repr(value)
        if isinstance(value, tuple) and all(v is None or isinstance(v, (bool, int, float, str))
                                            for v in value):
            return repr(value)
        if isinstance(value, np.dtype):
            return f"np.dtype({str(value)!r})"
        if isinstance(value, Tensor):
            return self.constant(value, self._leaf_name(lambda t: t is value) + "_tensor")
        return self.constant(value, getattr(value, "__name__", type(value).__name__.lower()))

    def arg(self, value):
        """How the program reads a value, its slot: its name for a value the program makes or
        takes in, else the number it is kept under in ``fixed`` (an array read so is checked
        here, while tracing: one made from the step's arrays outside the ops is refused)."""
        name = self.names.get(id(value))
        if name is not None:
            return name
        if isinstance(value, np.ndarray) and id(value) not in self.checked:
            self._refuse_made_outside(value)
            self.checked.add(id(value))
        number = len(self.fixed)
        self.fixed[number] = value
        return number

    def _array_hint(self, array):
        return self._leaf_name(lambda t: t.data is array)

    def _leaf_name(self, matches):
        """The qualified name of a parameter or buffer of a module called, found by ``matches``
        (``constant`` if none)."""
        for module in self.modules.values():
            for name, t in [*module.named_parameters(), *module.named_buffers()]:
                if t is not None and matches(t):
                    return name
        return "constant"

    def _refuse_made_outside(self, array):
        """An array no recorded call made is read as a constant (a parameter, a buffer). One
        that views a recorded array, or equals an input, was made from them by code outside the
        ops: its replay would keep the first call's values."""
        if array.base is not None and any(np.may_share_memory(array, a) for a in self.arrays):
            raise CompileError(
                f"compile: an array viewing one the step computed was taken outside the ops (at "
                f"{_user_line()}), e.g. by indexing a tensor's .data; its replay would keep the "
                "first call's values. Index the tensor itself")
        for inp in self.inputs:
            if (inp.shape == array.shape and inp.dtype.kind == array.dtype.kind and inp.size > 1
                    and not np.all(inp == inp.flat[0]) and np.array_equal(inp, array)):
                raise CompileError(
                    f"compile: an input was converted inside the traced function (at "
                    f"{_user_line()}); its replay would keep the values of the first call. "
                    "Convert inputs before calling it (pass ag.tensor(x), not x to be "
                    "converted inside)")

    def emit(self, fn, hint, args, kwargs, out, comment="", into=None):
        """Add ``out = fn(*args, **kwargs)`` to the program (``out`` None: a call only): a line of
        source, and the same as a step for ``_Program._interpret``. ``into``, a form of ``fn``
        that writes into a given array, and the input shaping its scratch space (None: the
        result's), makes the source line call the form with an array kept between calls."""
        arg = self.arg
        slots = tuple(map(arg, args))
        kwarg_slots = {key: arg(v) for key, v in kwargs.items()} if kwargs else None
        buffer = None if into is None else self._buffer(args, out, *into)
        if buffer is None:  # no function in the note: the collector lets go of such tuples
            self.notes.append((None, hint, None, comment))
        else:  # the source calls the form; the steps (run once) keep fn
            self.notes.append((into[0], hint + "_into", len(self.buffers), comment))
            self.buffers.append(buffer)
        name = None if out is None else self.fresh(hint)
        # the function as a number too: with no object in it, the collector lets go of the step
        self.steps.append((self.function_slot(fn), slots, kwarg_slots, name))
        if out is not None:
            self.names[id(out)] = name
            self.arrays.append(out)
            if self.values is not None:
                self.values.append((len(self.steps) - 1, np.array(out)))

    def function_slot(self, fn):
        """The number ``fn`` is kept under in ``fixed`` (one per function)."""
        number = self.function_numbers.get(id(fn))
        if number is None:
            number = self.function_numbers[id(fn)] = len(self.fixed)
            self.fixed[number] = fn
        return number

    def _buffer(self, args, out, form, like):
        """The array a line computing ``out`` writes into on the next call, or None where no
        array is worth keeping: a result that is small, or not a new array of its own (a view,
        an input passed through). Scratch space (``like``, an input) starts empty."""
        if like is not None:
            return np.empty_like(like) if like.nbytes > _KEPT_BYTES else None
        if (type(out) is np.ndarray and out.nbytes > _KEPT_BYTES and out.flags.owndata
                and out.flags.c_contiguous and out.flags.writeable
                and not any(a is out for a in args)):
            return out
        return None

    # -- gradients sent to one node, summed as the engine sums them

    def send(self, dest, g):
        self.pending.setdefault(dest, []).append(g)

    def receive(self, dest, g):
        """Name ``g``, the sum the engine made of the gradients sent to ``dest`` (a root's seed
        when none were)."""
        sent = self.pending.pop(dest, [])
        if not sent or (len(sent) == 1 and sent[0] is g):
            return
        total = sent[0]
        for part in sent[1:]:
            new = _add_gradients(total, part)
            self.emit(_add_gradients, "add_gradients", (total, part), {}, new)
            total = new
        if not np.array_equal(total, g, equal_nan=True) or total.dtype != g.dtype:
            raise CompileError("compile: a gradient reaching a node is not the sum of those "
                               "sent to it (a root that is also used elsewhere?)")
        self.names[id(g)] = self.names[id(total)]
        self.arrays.append(g)

    # -- the patches

    def installed(self):
        return _Patches(self)

    def leaves(self):
        """(registry, name, tensor, array) of every parameter and buffer of the modules called,
        for the identity guards."""
        found = []
        for module in self.modules.values():
            for registry in (module._parameters, module._buffers):
                for name, t in registry.items():
                    if t is not None:
                        found.append((registry, name, t, t.data))
        return found

    def finished(self):
        """Let go of what only tracing needs (every array the call made, by id), keeping what
        writing the source needs."""
        del self.names, self.arrays, self.inputs, self.pending, self.values

    def source(self, name, inputs, steps, outputs):
        """The program as Python source, and the namespace of what it reads: a line per step,
        ``out = k.<function>(arguments)  # comment``."""
        def text(slot):
            return slot if type(slot) is str else self.ref(self.fixed[slot])

        lines = [f"def {_identifier(name)}({', '.join(inputs)}{', ' if inputs else ''}*, k):"]
        for (fn, args, kwargs, out), (called, hint, buffer, comment) in zip(steps, self.notes):
            texts = [*map(text, args), *(f"{key}={text(v)}" for key, v in (kwargs or {}).items())]
            if buffer is not None:
                texts.append(f"into={self.constant(self.spare, 'spare')}({buffer})")
            line = f"{self.constant(called or self.fixed[fn], hint)}({', '.join(texts)})"
            lines.append(f"    {'' if out is None else f'{out} = '}{line}"
                         + (f"  # {comment}" if comment else ""))
        returned = ", ".join(map(text, outputs)) + ("," if len(outputs) == 1 else "")
        lines.append(f"    return ({returned})")
        return "\n".join(lines) + "\n", types.SimpleNamespace(**self.constants)


_KEPT_BYTES = 1024  # smaller arrays come from numpy's own cache of small blocks: none is kept


def _spare(buffers, i):
    """``buffers[i]``, the array line ``i`` wrote into on the previous call, if nothing else
    holds it now; else a new array like it, kept in its place. So an array someone can still
    see (a ``.grad``, a returned result, a view, an optimizer's state) is never written into."""
    array = buffers[i]
    if sys.getrefcount(array) != _HELD_BY_BUFFERS_ONLY:
        array = buffers[i] = np.empty_like(array)
    return array


def _references_when_held_by_a_list_only():
    """What ``sys.getrefcount`` says in ``_spare`` of an array nothing else holds."""
    buffers = [np.empty(0)]
    array = buffers[0]
    return sys.getrefcount(array)


_HELD_BY_BUFFERS_ONLY = _references_when_held_by_a_list_only()


def _add_gradients(a, b):
    """Two gradients sent to one node, summed as the engine sums them."""
    total = a + b
    return total if type(total) is np.ndarray else np.asarray(total)


@functools.lru_cache(maxsize=4096)  # called for every line, with a few distinct hints
def _identifier(text):
    """``text`` as a Python name: other characters become ``_``; a keyword gets one appended."""
    name = "".join(c if c.isalnum() else "_" for c in str(text)).strip("_") or "value"
    name = f"_{name}" if name[0].isdigit() else name
    return f"{name}_" if keyword.iskeyword(name) else name


def _user_line():
    """file:line of the user's code that is running (the innermost frame outside the package)."""
    frame = engine.user_frame(sys._getframe(1))
    return f"{_basename(frame.f_code.co_filename)}:{frame.f_lineno}"


_basename = functools.lru_cache(maxsize=256)(os.path.basename)  # once per file, not per line



# ---- the recorder's patches -------------------------------------------------------------------


class _Patches:
    """While tracing: each op's forward and the engine's backward steps record themselves, the
    stateful calls record a call of themselves, and what a replay cannot reproduce raises."""

    def __init__(self, tracer):
        self.tracer = tracer
        self.saved = []

    def set(self, owner, name, value):
        assert all(o is not owner or n != name for o, n, _ in self.saved), (owner, name)
        self.saved.append((owner, name, owner.__dict__[name] if isinstance(owner, type)
                           else getattr(owner, name)))
        setattr(owner, name, value)

    def __enter__(self):
        t = self.tracer
        for op in REGISTRY.values():
            self.set(op, "forward", _recording_forward(t, op, op.forward))
        self.set(engine.Node, "vjp", _recording_vjp(t))
        self.set(FunctionNode, "vjp", _refusing_function_backward)
        self.set(engine, "_accumulate", _recording_accumulate(t, engine._accumulate))
        self.set(engine, "roots_and_seeds", _recording_seeds(t, engine.roots_and_seeds))
        self.set(engine, "run_backward", _no_capture(engine.run_backward))
        self.set(engine, "_run_post_accumulate_hooks", _recording_call(
            t, engine._run_post_accumulate_hooks, "post_accumulate_grad_hooks"))
        self.set(DistributedDataParallel, "_prepare", _recording_call(
            t, DistributedDataParallel._prepare, "DistributedDataParallel_prepare"))
        self.set(Module, "__call__", _noting_module(t, Module.__call__))
        self.set(_BatchNorm, "_track", _recording_call(t, _BatchNorm._track,
                                                       "track_running_stats"))
        self.set(F, "_dropout_mask", _recording_call(t, F._dropout_mask, "dropout_mask"))
        self.set(nn_utils, "_clip_norm", _recording_call(t, nn_utils._clip_norm, "clip_grad_norm"))
        self.set(nn_utils, "_clip_value", _recording_call(t, nn_utils._clip_value,
                                                          "clip_grad_value"))
        self.set(creation, "random_generator", _no_random(t, creation.random_generator))
        schedulers = [cls for cls in vars(lr_scheduler).values() if isinstance(cls, type)
                      and cls.__module__ == lr_scheduler.__name__ and "step" in vars(cls)]
        for owner, method in [(Optimizer, "zero_grad"), (Optimizer, "step"),
                              *((cls, "step") for cls in schedulers)]:
            self.set(owner, method, _recording_call(t, vars(owner)[method],
                                                    f"{owner.__name__}_{method}"))
        for method, what in _VALUE_READS.items():
            self.set(Tensor, method, _refusing(t, vars(Tensor)[method], what))
        self.set(Tensor, "_inplace", _refusing_inplace(Tensor._inplace))
        self.set(Tensor, "grad", _recording_grad_reset(t, vars(Tensor)["grad"]))
        return self

    def __exit__(self, *exc):
        for owner, name, value in reversed(self.saved):
            setattr(owner, name, value)


_VALUE_READS = {"item": "t.item()", "tolist": "t.tolist()", "numpy": "t.numpy()",
                "__bool__": "bool(t) (an if or while on a tensor)", "__float__": "float(t)",
                "__int__": "int(t)", "__index__": "a tensor used as an index",
                "__array__": "np.asarray(t) / np.array(t)", "__repr__": "printing a tensor"}


def _recording_forward(tracer, op, forward):
    def recorded(*arrays, **params):
        out = forward(*arrays, **params)
        if tracer.depth:
            return out
        if type(out) is not np.ndarray:  # the op makes an array of it: record the same
            scalar = out
            out = np.asarray(out)
            tracer.emit(forward, op.name, arrays, params, scalar, _user_line(),
                        _form(op, None, arrays))
            tracer.emit(np.asarray, "asarray", (scalar,), {}, out)
        else:
            tracer.emit(forward, op.name, arrays, params, out, _user_line(),
                        _form(op, None, arrays))
        return out
    return recorded


def _recording_vjp(tracer):
    def vjp(node, g, create_graph):
        """Node.vjp for a plain backward, each step recorded (the engine's code, mirrored)."""
        if create_graph:
            raise CompileError(f"compile: backward(create_graph=True) is not supported (at "
                               f"{_user_line()})")
        if node.hooks:
            raise CompileError(f"compile: a hook on the '{node.name}' node's tensor is not "
                               "supported; register it outside the compiled function's graph")
        tracer.receive(node, g)
        op, args, out, params = node.op, node.args, node.out, node.params or {}
        result = []
        for i, dest in enumerate(node.inputs):
            if dest is None:
                continue
            rule = op.vjps[0 if op.variadic else i]
            kwargs = {**params, "argnum": i} if op.variadic else params
            tracer.depth += 1
            try:
                gi = rule(g, out, *args, **kwargs)
            finally:
                tracer.depth -= 1
            hint, comment = _rule_names(op, i)
            tracer.emit(rule, hint, (g, out, *args), kwargs, gi, comment,
                        _form(op, 0 if op.variadic else i, args))
            if type(gi) is not np.ndarray:
                scalar, gi = gi, np.asarray(gi)
                tracer.emit(np.asarray, "asarray", (scalar,), {}, gi)
            saved = args[i]
            if gi.dtype is not saved.dtype or gi.shape != saved.shape:
                fitted = engine.fit_gradient(gi, saved.shape, saved.dtype, node.name, i)
                tracer.emit(engine.fit_gradient, "fit_gradient",
                            (gi, saved.shape, saved.dtype, node.name, i), {}, fitted)
                gi = fitted
            tracer.send(dest, gi)
            result.append((dest, gi))
        return result
    return vjp


@functools.lru_cache(maxsize=1024)  # once per op and input, not per line
def _rule_names(op, i):
    """The name hint and the comment of a line applying ``op``'s rule for input ``i``."""
    formula = op.derivative[i] if isinstance(op.derivative, tuple) else op.derivative
    wrt = op.input_names[min(i, len(op.input_names) - 1)]
    return f"{op.name}_grad_{wrt}", f"d {op.name} / d {wrt}" + (f" = {formula}" if formula else "")


def _form(op, rule, args):
    """(the form of ``op``'s forward or rule writing into an array, the input its scratch
    space is shaped like, or None), or None if it has none."""
    declared = op.into.get(rule)
    if declared is None:
        return None
    form, like = declared
    return form, None if like is None else args[op.input_names.index(like)]


def _refusing_function_backward(node, g, create_graph):
    raise CompileError(f"compile: the backward of the custom Function {node.name} is not "
                       "recorded yet; run steps that use it eagerly")


def _recording_accumulate(tracer, accumulate):
    def recorded(leaf, g, create_graph, fresh=False):
        if getattr(leaf, "_hooks", None):
            raise CompileError("compile: a hook on a leaf tensor is not supported")
        tracer.receive(leaf, g)
        accumulate(leaf, g, create_graph, fresh)
        tracer.emit(accumulate, "accumulate_grad", (leaf, g, create_graph, fresh), {}, None)
    return recorded


def _recording_seeds(tracer, roots_and_seeds):
    def recorded(outputs, grads, create_graph, caller):
        roots, seeds = roots_and_seeds(outputs, grads, create_graph, caller)
        for s in seeds:
            if isinstance(s, np.ndarray) and id(s) not in tracer.names:
                tracer.emit(np.ones, "ones", (s.shape, s.dtype), {}, s, "the seed: d loss/d loss")
        return roots, seeds
    return recorded


def _clear_grad(tensor):
    """``tensor.grad = None``, as a call a program can make."""
    tensor.grad = None


def _recording_grad_reset(tracer, grad):
    """The ``grad`` property, its resets to None recorded (``model.zero_grad()``); any other
    value assigned would be the first call's."""
    def assign(tensor, value):
        if not tracer.depth:
            if value is not None:
                raise CompileError(f"compile: assigning a gradient (at {_user_line()}) is not "
                                   "supported in a compiled function; only resetting it to None")
            tracer.emit(_clear_grad, "clear_grad", (tensor,), {}, None)
        grad.fset(tensor, value)
    return property(grad.fget, assign, doc=grad.__doc__)


def _recording_call(tracer, fn, hint):
    """A call that changes state outside the graph (an optimizer step, a random draw),
    recorded as a call of the same function, so the replay makes it again."""
    @functools.wraps(fn)
    def recorded(*args, **kwargs):
        if tracer.depth:
            return fn(*args, **kwargs)
        tracer.depth += 1
        try:
            result = fn(*args, **kwargs)
        finally:
            tracer.depth -= 1
        tracer.emit(fn, hint, args, kwargs, result if isinstance(result, np.ndarray) else None)
        return result
    return recorded


def _noting_module(tracer, call):
    def noted(module, *args, **kwargs):
        tracer.modules.setdefault(id(module), module)
        return call(module, *args, **kwargs)
    return noted


def _no_capture(run_backward):
    def checked(roots, seeds, *, capture=None, **kwargs):
        if capture is not None:
            raise CompileError(f"compile: ag.grad / autograd.grad is not supported (at "
                               f"{_user_line()}); use loss.backward()")
        return run_backward(roots, seeds, **kwargs)
    return checked


def _no_random(tracer, random_generator):
    def checked(seed, name, *, seeds=True):
        if not tracer.depth:
            raise CompileError(f"compile: {name} draws random numbers inside the traced "
                               f"function (at {_user_line()}); the replay would reuse the "
                               "first call's. Draw them outside and pass them in")
        return random_generator(seed, name, seeds=seeds)
    return checked


def _refusing(tracer, method, what):
    """``method``, refused while tracing, except inside a recorded call (a hook, an optimizer's
    step), which runs again in full on every replay."""
    @functools.wraps(method)
    def refused(self, *args, **kwargs):
        if tracer.depth:
            return method(self, *args, **kwargs)
        raise CompileError(f"compile: {what} at {_user_line()} reads a tensor's value into "
                           "Python while tracing; the replay would keep the value of the first "
                           "call. Return the tensor and read it after the call")
    return refused


def _refusing_inplace(method):
    @functools.wraps(method)
    def refused(self, name, *args, **kwargs):
        raise CompileError(f"compile: the in-place op {name} at {_user_line()} is not "
                           "supported in a compiled function; use the out-of-place op")
    return refused
