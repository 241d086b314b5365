"""Which module call made each graph node, so a drawing of a real model can show one box per layer.

``Module.__call__`` notes each call that made graph nodes on the node(s) of its output: the
module, its input and output shapes, and the range of node numbers (``Node.sequence_nr``) handed
out while it ran. The note lives and dies with that node, and the ops never look at it, so the
per-op path is untouched. Under ``no_grad`` nothing is noted.
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
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import engine
from .._tensor import Tensor

if TYPE_CHECKING:
    from typing import TypeAlias

    from ..engine import Node
    from .module import Module

    Shapes: TypeAlias = "tuple[tuple[int, ...], ...]"

next_number = engine._node_count.__next__  # the counter that numbers the nodes


def note(module: Module, args: tuple[Any, ...], output: Any, first: int) -> None:
    """Note the call of ``module`` that started at number ``first`` on its output's node(s), if
    it made them, as ``node.module_calls``: (first, last, module, input shapes, output shapes),
    chained to the notes already there (calls inside this one that returned the same node)."""
    nodes: tuple[Node, ...]
    outputs: Shapes
    inputs: Shapes
    if isinstance(output, Tensor):  # the common call, spelled out
        node = output.grad_fn
        if node is None or node.sequence_nr < first:
            return
        nodes, outputs = (node,), (output.data.shape,)
    else:
        tensors = _tensors(output)
        nodes = tuple({id(t.grad_fn): t.grad_fn for t in tensors
                       if t.grad_fn is not None and t.grad_fn.sequence_nr > first}.values())
        if not nodes:
            return
        outputs = tuple(t.data.shape for t in tensors)
    if len(args) == 1 and isinstance(args[0], Tensor):
        inputs = (args[0].data.shape,)
    else:
        inputs = tuple(t.data.shape for t in _tensors(args))
    record = (first, next_number(), module, inputs, outputs)
    for node in nodes:
        node.module_calls = (record, getattr(node, "module_calls", None))


def _tensors(value: Any) -> list[Tensor]:
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

    def __init__(self, first: int, last: int, module: Module, inputs: Shapes, outputs: Shapes,
                 parent: ModuleCall | None) -> None:
        self.first, self.last, self.module = first, last, module
        self.inputs, self.outputs, self.parent = inputs, outputs, parent
        self.depth: int = 0 if parent is None else parent.depth + 1

    def __repr__(self):
        return f"<call of {type(self.module).__name__} {self.inputs} -> {self.outputs}>"


def innermost_calls(nodes: Iterable[Node]) -> dict[Node, ModuleCall]:
    """Node -> the innermost ``ModuleCall`` that made it, for those of ``nodes`` made inside a
    module call whose output is among ``nodes`` (the graph built in one thread: a call's range
    would take in another thread's nodes)."""
    nodes = sorted(nodes, key=engine._creation)
    numbers = [node.sequence_nr for node in nodes]
    noted = {}
    for node in nodes:
        chain = getattr(node, "module_calls", None)
        while chain is not None:
            record, chain = chain
            noted[id(record)] = record
    owner: dict[Node, ModuleCall] = {}
    open_calls: list[ModuleCall] = []
    for first, last, module, inputs, outputs in sorted(noted.values(), key=lambda c: c[0]):
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
