"""Every public name has a docstring: ag.__all__, nn.functional, nn's and optim's classes, and
every Tensor method, property, slot and operator dunder. Failures name what lacks one."""

import inspect
import types

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.nn import functional as F

# dunders Tensor defines whose meaning is Python's bookkeeping, not an operation to document
_PLUMBING = {"__module__", "__doc__", "__slots__", "__dict__", "__weakref__",
             "__array_priority__", "__hash__", "__annotations__", "__firstlineno__",
             "__static_attributes__"}


def _doc(obj) -> str:
    """The docstring of a function, class, property or op; a slot's comes from ``__slots__``."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, types.MemberDescriptorType):
        return inspect.getdoc(obj) or ""
    return (getattr(obj, "__doc__", None) or "").strip()


def _undocumented(pairs) -> list[str]:
    return sorted({name for name, obj in pairs if not _doc(obj)})


def _tensor_attributes():
    """(name, attribute) for every public or dunder attribute Tensor itself defines."""
    for name, obj in vars(ag.Tensor).items():
        dunder = name.startswith("__") and name.endswith("__")
        if (dunder and name not in _PLUMBING) or not name.startswith("_"):
            yield f"Tensor.{name}", obj


def _classes(package, label):
    for name in dir(package):
        obj = getattr(package, name)
        if not name.startswith("_") and inspect.isclass(obj):
            yield f"{label}.{name}", obj


def _functional():
    for name, obj in vars(F).items():
        ours = getattr(obj, "__module__", "") or ""
        if not name.startswith("_") and callable(obj) and ours.startswith("autograd_lite"):
            yield f"nn.functional.{name}", obj


def test_every_tensor_method_property_slot_and_operator_has_a_docstring():
    missing = _undocumented(_tensor_attributes())
    assert not missing, f"{len(missing)} Tensor attributes lack a docstring: {', '.join(missing)}"


def test_every_top_level_name_has_a_docstring():
    names = [(f"ag.{n}", getattr(ag, n)) for n in ag.__all__ if n != "__version__"]
    missing = _undocumented(names)
    assert not missing, f"{len(missing)} names in ag.__all__ lack a docstring: {missing}"


def test_every_functional_function_and_optimizer_has_a_docstring():
    missing = _undocumented([*_functional(), *_classes(optim, "optim")])
    assert not missing, f"{len(missing)} public names lack a docstring: {missing}"


def test_every_nn_class_has_a_docstring():
    missing = _undocumented(_classes(nn, "nn"))
    assert not missing, f"{len(missing)} nn classes lack a docstring: {missing}"


def test_the_walk_sees_methods_properties_slots_and_operators():
    names = {name for name, _ in [*_tensor_attributes(), *_functional(), *_classes(nn, "nn"),
                                  *_classes(optim, "optim")]}
    assert {"Tensor.add", "Tensor.shape", "Tensor.data", "Tensor.grad", "Tensor.__add__",
            "Tensor.__getitem__", "nn.functional.mse_loss", "nn.Linear", "optim.SGD"} <= names
    assert "Tensor._inplace" not in names and "Tensor.__slots__" not in names
    assert _doc(ag.Tensor.data) and not _doc(lambda: None)
