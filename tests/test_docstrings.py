"""Every public name has a docstring: every name the documentation site's reference pages list
(ag.__all__, nn, nn.functional, optim, data, io, viz, testing... as docs/_hooks/reference.py
finds them; the pages are the nav entries of mkdocs.yml), and every Tensor method, property,
slot and operator dunder. Failures name what lacks one."""

import importlib.util
import inspect
import types
from pathlib import Path

import autograd_lite as ag

_HOOK = Path(__file__).resolve().parent.parent / "docs" / "_hooks" / "reference.py"
_spec = importlib.util.spec_from_file_location("docs_reference", _HOOK)
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)  # the site's own list of pages and names: no second list here

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


def test_every_tensor_method_property_slot_and_operator_has_a_docstring():
    missing = _undocumented(_tensor_attributes())
    assert not missing, f"{len(missing)} Tensor attributes lack a docstring: {', '.join(missing)}"


def test_every_name_the_reference_pages_list_has_a_docstring():
    """A value (a dtype, a constant) is documented by its page's module docstring."""
    pairs = []
    for page, name, obj in reference.documented():
        label = f"{reference.title(page)}.{name}"
        if reference.kind(obj) == "value":
            pairs.append((f"{label} (by the module docstring)", reference.resolve(page)))
        else:
            pairs.append((label, obj))
    missing = _undocumented(pairs)
    assert not missing, f"{len(missing)} public names lack a docstring: {missing}"


def test_every_module_a_reference_page_lists_has_a_page_of_its_own():
    pages = reference.reference_pages()
    orphans = sorted({f"{page}: {name}" for page, name, obj in reference.documented(pages)
                      if reference.kind(obj) == "module" and reference.home(obj, pages) is None})
    assert not orphans, (f"modules listed on a reference page but without one of their own: "
                         f"{orphans}; add `reference/<module>.md` to mkdocs.yml's nav")


def test_the_walk_sees_methods_properties_slots_operators_and_every_namespace():
    names = {name for name, _ in _tensor_attributes()}
    assert {"Tensor.add", "Tensor.shape", "Tensor.data", "Tensor.grad", "Tensor.__add__",
            "Tensor.__getitem__"} <= names
    assert "Tensor._inplace" not in names and "Tensor.__slots__" not in names
    assert _doc(ag.Tensor.data) and not _doc(lambda: None)
    listed = {f"{reference.title(page)}.{name}" for page, name, _ in reference.documented()}
    assert {"ag.tensor", "ag.exp", "ag.var", "ag.nn.Linear", "ag.nn.functional.mse_loss",
            "ag.nn.functional.relu", "ag.optim.SGD", "ag.optim.lr_scheduler.StepLR",
            "ag.utils.data.DataLoader", "ag.io.save", "ag.viz.draw_graph", "ag.plot.plot_loss",
            "ag.testing.check_op", "ag.testing.strategies.tensors",
            "ag.compiler.compile"} <= listed
    assert {f"ag.{name}" for name in ag.__all__ if name != "__version__"} <= listed
