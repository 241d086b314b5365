"""Which module call made each graph node, so a drawing of a real model can show one box per layer.

``Module.__call__`` notes each call that made graph nodes: the module, its input and output
shapes, and the range of node numbers (``Node.sequence_nr``) handed out while it ran. Nothing is
attached to the nodes and the ops never look here, so the per-op path is untouched; a call
costs two counter reads and, when it made nodes, one small record (about a microsecond).
Under ``no_grad`` nothing is noted.
``innermost_calls`` (used by ``viz``) works out the rest when a graph is drawn: calls nest
exactly when their ranges do, and a node belongs to the innermost range around its number.

>>> model = ag.nn.Sequential(ag.nn.Linear(2, 3), ag.nn.ReLU())
>>> y = model(ag.ones(4, 2))
>>> call = innermost_calls([y.grad_fn])[y.grad_fn]
>>> call.module is model[1], call.parent.module is model, call.depth
(True, True, 1)
>>> call.inputs, call.outputs
(((4, 3),), ((4, 3),))
"""

from __future__ import annotations

import bisect
import weakref

from .. import engine
from .._tensor import Tensor

next_number = engine._node_count.__next__  # the counter that numbers the nodes
_recorded = []  # (first, last, module, input shapes, output shapes, weakrefs to output nodes)
_limit = 1024


def note(module, args, output, first: int) -> None:
    """Keep the call of ``module`` that started at number ``first`` if it made its output's
    node(s). Only weak references to those nodes are kept: a call is forgotten with its graph."""
    if isinstance(output, Tensor):  # the common call, spelled out
        node = output.grad_fn
        if node is None or node.sequence_nr < first:
            return
        outputs, refs = (output.data.shape,), (weakref.ref(node),)
    else:
        tensors = _tensors(output)
        refs = tuple(weakref.ref(t.grad_fn) for t in tensors
                     if t.grad_fn is not None and t.grad_fn.sequence_nr > first)
        if not refs:
            return
        outputs = tuple(t.data.shape for t in tensors)
    if len(args) == 1 and isinstance(args[0], Tensor):
        inputs = (args[0].data.shape,)
    else:
        inputs = tuple(t.data.shape for t in _tensors(args))
    _recorded.append((first, next_number(), module, inputs, outputs, refs))
    if len(_recorded) > _limit:
        _forget_dead_calls()


def _forget_dead_calls():
    # amortised: the limit doubles with what stays alive, so a call is checked O(1) times
    global _limit
    _recorded[:] = [c for c in _recorded if c[5][0]() is not None
                    or len(c[5]) > 1 and any(ref() is not None for ref in c[5])]
    _limit = max(1024, 2 * len(_recorded))


def _tensors(value) -> list:
    """The Tensors in a forward's arguments or result (in tuples and lists, as LSTM's (h, c))."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


class ModuleCall:
    """One call of a module, as ``innermost_calls`` reports it: the module, the call it ran
    inside (``parent``, None at the top), its input and output shapes, and the range of node
    numbers it spans (``first < sequence_nr < last``)."""

    def __init__(self, first, last, module, inputs, outputs, parent):
        self.first, self.last, self.module = first, last, module
        self.inputs, self.outputs, self.parent = inputs, outputs, parent
        self.depth = 0 if parent is None else parent.depth + 1

    def __repr__(self):
        return f"<call of {type(self.module).__name__} {self.inputs} -> {self.outputs}>"


def innermost_calls(nodes) -> dict:
    """Node -> the innermost ``ModuleCall`` that made it, for those of ``nodes`` made inside a
    module call (assumes the graph was built in one thread: other threads' calls would mix in)."""
    nodes = sorted(nodes, key=engine._creation)
    numbers = [node.sequence_nr for node in nodes]
    owner, open_calls = {}, []
    for first, last, module, inputs, outputs, _refs in sorted(_recorded, key=lambda c: c[0]):
        while open_calls and open_calls[-1].last < first:
            open_calls.pop()
        call = ModuleCall(first, last, module, inputs, outputs,
                          open_calls[-1] if open_calls else None)
        open_calls.append(call)
        # in order of start, a call inside another comes later and overwrites it
        for node in nodes[bisect.bisect_right(numbers, first):
                          bisect.bisect_left(numbers, last)]:
            owner[node] = call
    return owner
