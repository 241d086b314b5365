"""The examples' command lines work and the README's code does what it says.

What each example computes, writes and shows is tested on its notebook run
(tests/test_notebooks.py, which also runs two examples as scripts to compare); the runs here
are command lines as a user types them, headless and without a warning.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import autograd_lite as ag

ROOT = Path(__file__).resolve().parent.parent


def run_example(name, out, *extra):
    """Run ``examples/<name>.py --quick --out <out> [extra]`` headless; return its stdout
    (it must exit 0 and write nothing to stderr: no warning)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / f"{name}.py"), "--quick", "--out", str(out),
         *extra], capture_output=True, text=True, timeout=600, cwd=out,
        env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0 and result.stderr == "", result.stdout + result.stderr
    return result.stdout


def test_every_example_takes_debug_which_turns_debug_mode_on(tmp_path):
    spec = importlib.util.spec_from_file_location("common", ROOT / "examples" / "common.py")
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    before = ag.is_debug_enabled()
    try:
        ag.set_debug(False)
        assert not common.parse_args("x", "", ["--out", str(tmp_path / "a")]).debug
        assert not ag.is_debug_enabled()
        assert common.parse_args("x", "", ["--debug", "--out", str(tmp_path / "b")]).debug
        assert ag.is_debug_enabled()
    finally:
        ag.set_debug(before)
    scripts = sorted(p for p in (ROOT / "examples").glob("*.py") if p.stem != "common")
    without = [p.name for p in scripts if not re.search(
        r"^from common import .*\b(parse_args|add_debug_flag)\b", p.read_text(), re.M)]
    assert not without, f"examples without --debug (common.parse_args/add_debug_flag): {without}"


# ---- the README's main job and its code -----------------------------------------------------


def test_tiny_mlp_learns_xor():
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "tiny_mlp.py"), "--seed",
                             "1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "predictions: [0, 1, 1, 0]" in result.stdout
    final = float(re.search(r"final loss: ([0-9.]+)", result.stdout).group(1))
    first = float(re.search(r"step +0 +loss ([0-9.]+)", result.stdout).group(1))
    assert final < first / 5


def test_readme_example_computes_the_gradient_it_prints():
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    x, w, y = (scope[k].numpy().astype(np.float64) for k in ("x", "w", "y"))
    pred = 1 / (1 + np.exp(-(x @ w)))
    expected = x.T @ (2 * (pred - y) * pred * (1 - pred)) / len(y)   # chain rule, by hand
    np.testing.assert_allclose(scope["w"].grad.numpy(), expected, rtol=1e-4, atol=1e-6)
    assert isinstance(scope["loss"], ag.Tensor)


def test_readme_train_a_model_section_trains_and_round_trips_a_checkpoint(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## Train a model\n\n```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["history"].metrics["val_accuracy"][-1] >= 0.95
    model, X_te, y_te = scope["model"], scope["X_te"], scope["y_te"]
    with ag.no_grad():
        assert ag.accuracy(model(ag.tensor(X_te)), y_te) >= 0.95
    assert (tmp_path / "moons.npz").is_file()


def test_draw_graph_example_writes_the_graph_and_the_backward_page(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "draw_graph.py"), "--out",
                             str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    svg = (tmp_path / "mlp_graph.svg").read_text()
    for name in ("0.weight", "0.bias", "2.weight", "2.bias", "loss"):
        assert f">{name}<" in svg
    assert "grad" in svg
    page = (tmp_path / "mlp_backward.html").read_text()
    printed_steps = re.findall(r"^step \d+: backward of", result.stdout, re.M)
    assert len(printed_steps) > 5  # one per op of the forward pass
    assert page.count('class="frame"') == len(printed_steps)
