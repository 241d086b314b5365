"""The package's surface: every public submodule is an attribute after `import autograd_lite`
(as torch.testing, np.linalg), and the ones that need optional packages load on first use.

Each check that depends on what is imported runs in a new interpreter: this one has long since
imported everything.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import autograd_lite as ag

OPTIONAL = ["graphviz", "matplotlib", "hypothesis", "tqdm", "onnx", "mpi4py"]
LAZY = ["autograd_lite.viz", "autograd_lite.plot", "autograd_lite.testing"]


def fresh(code: str):
    """Run ``code`` in a new interpreter and return what it printed, read as JSON."""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def public_modules() -> list[str]:
    """Every module of the package whose dotted name has no part starting with '_'."""
    root = Path(ag.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if not any(part.startswith("_") for part in parts):
            names.append(".".join(parts))
    return names


def test_importing_the_package_loads_no_optional_package_and_no_lazy_submodule():
    loaded = fresh(f"import sys, json, autograd_lite; "
                   f"print(json.dumps([m for m in {OPTIONAL + LAZY} if m in sys.modules]))")
    assert loaded == []


def test_lazy_submodules_work_on_first_use_and_stay_bound():
    assert fresh("""if True:
        import json, sys
        import autograd_lite as ag
        x = ag.tensor([0.5, -1.0], dtype=ag.float64, requires_grad=True)
        print(json.dumps({
            "viz": ag.viz.graph_text(ag.tanh(x).sum()).splitlines()[0],
            "testing": ag.testing.gradcheck(ag.tanh, x),
            "plot": callable(ag.plot.plot_loss),
            "nn.functional": ag.nn.functional.relu(x).tolist(),
            "bound": [name in vars(ag) for name in ("viz", "testing", "plot")],
            "same": ag.viz is sys.modules["autograd_lite.viz"],
        }))
    """) == {"viz": "output float64[] = sum", "testing": True, "plot": True,
             "nn.functional": [0.5, 0.0], "bound": [True, True, True], "same": True}


def test_dir_lists_the_submodules_without_importing_them():
    listed, imported = fresh("import json, sys, autograd_lite as ag; "
                             "print(json.dumps([dir(ag), 'autograd_lite.viz' in sys.modules]))")
    assert {"viz", "testing", "plot", "nn", "optim", "data", "io", "utils"} <= set(listed)
    assert listed == sorted(listed) and not imported


def test_every_public_submodule_is_an_attribute_after_importing_the_package():
    modules = public_modules()
    assert {"autograd_lite.viz", "autograd_lite.nn.functional", "autograd_lite.utils.data"} \
        <= set(modules)
    unreachable = fresh(f"""if True:
        import functools, json
        import autograd_lite
        def reachable(name):
            try:
                functools.reduce(getattr, name.split(".")[1:], autograd_lite)
            except AttributeError:
                return False
            except ImportError:  # there, but its optional package is not installed
                pass
            return True
        print(json.dumps([m for m in {modules} if not reachable(m)]))
    """)
    assert unreachable == []


def test_testing_strategies_is_an_attribute_after_importing_the_package():
    assert fresh("import json, autograd_lite as ag; "
                 "print(json.dumps(callable(ag.testing.strategies.arrays)))")


def test_an_unknown_attribute_is_still_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="module 'autograd_lite' has no attribute 'vizz'"):
        ag.vizz  # noqa: B018
    assert not hasattr(ag, "vizz")


def test_star_import_brings_the_lazy_submodules_too():
    namespace = {}
    exec("from autograd_lite import *", namespace)
    assert namespace["viz"] is ag.viz and namespace["testing"] is ag.testing
