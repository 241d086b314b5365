"""The lecture's perceptron, activation and backpropagation examples run with --quick, write
their pictures, and print figures that are right (not just "it ran")."""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TOLERANCE = 1e-6


def run_example(name, out, seed=0):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / f"{name}.py"), "--quick", "--out", str(out),
         "--seed", str(seed)],
        capture_output=True, text=True, timeout=120, cwd=out,
        env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def number(pattern, text):
    found = re.search(pattern, text, re.M)
    assert found, f"no line matching {pattern!r} in:\n{text}"
    return float(found.group(1))


def assert_png(path):
    assert path.is_file(), path
    assert path.read_bytes()[:8] == PNG_MAGIC, f"{path} is not a PNG"


def assert_svg(path):
    assert path.is_file(), path
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg"), f"{path} is not an SVG ({root.tag})"
    return path.read_text()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each example run once; tests read its output folder and what it printed."""
    results = {}
    for name in ("perceptron", "activations", "backprop_by_hand"):
        out = tmp_path_factory.mktemp(name)
        results[name] = (out, run_example(name, out))
    return results


def test_perceptron_learns_separable_data_fails_on_xor_and_an_mlp_solves_it(runs):
    out, text = runs["perceptron"]
    assert number(r"^separable perceptron accuracy: ([0-9.]+)$", text) == 1.0
    epochs = number(r"^separable perceptron epochs: (\d+)$", text)
    mistakes = re.search(r"^separable perceptron mistakes per epoch: \[(.*)\]$", text, re.M)
    counts = [int(m) for m in mistakes.group(1).split(",")]
    assert len(counts) == epochs and counts[-1] == 0 and all(c > 0 for c in counts[:-1])
    assert number(r"^xor perceptron best accuracy: ([0-9.]+)$", text) <= 0.75
    assert number(r"^xor mlp accuracy: ([0-9.]+)$", text) == 1.0
    assert re.search(r"^step backward error: .*not differentiable", text, re.M)
    for name in ("perceptron_separable.png", "perceptron_xor.png", "mlp_xor.png"):
        assert_png(out / name)


def test_perceptron_is_deterministic_for_a_seed(runs, tmp_path):
    def figures(text):  # everything but the timing and the output paths
        return [line for line in text.splitlines()
                if not line.startswith(("done in", "wrote"))]

    _, first = runs["perceptron"]
    assert figures(run_example("perceptron", tmp_path)) == figures(first)


def test_activation_derivatives_by_autograd_match_the_formulas(runs):
    out, text = runs["activations"]
    for name in ("sigmoid", "tanh", "ReLU", "LeakyReLU", "ELU", "GELU"):
        diff = number(rf"^{name}: max \|autograd - formula\| = (\S+) ", text)
        assert diff < TOLERANCE, (name, diff)
    assert re.search(r"^step: no derivative by autograd: .*not differentiable", text, re.M)
    assert_png(out / "activations.png")


def test_backprop_by_hand_formula_equals_backward_and_pictures_are_written(runs):
    out, text = runs["backprop_by_hand"]
    y = number(r"^target y = (\S+)$", text)
    by_formula = number(r"^dC0/dw by formula: (\S+)$", text)
    by_backward = number(r"^dC0/dw by backward: (\S+)$", text)
    assert by_formula == pytest.approx(0.48 * 0.66 * 0.34 * 2 * (0.66 - y), abs=1e-10)
    assert abs(by_formula - by_backward) < TOLERANCE
    assert number(r"^dC0/dw difference: (\S+)$", text) < TOLERANCE

    svg = assert_svg(out / "backprop_graph.svg")
    for label in ("w(L)", "b(L)", "a(L-1)", "z(L)", "C0", "grad"):
        assert label.replace("-", "&#45;") in svg, label
    assert_png(out / "backprop_graph.png")
    steps = re.findall(r"^step \d+: backward of", text, re.M)
    assert len(steps) >= 5  # pow, sub, sigmoid, add, mul
    frames = sorted((out / "frames").glob("step_*.png"))
    assert len(frames) == len(steps)
    for frame in frames:
        assert_png(frame)
    page = (out / "backprop_steps.html").read_text()
    assert 'type="range"' in page
    assert page.count('class="frame"') == len(steps)


def test_backprop_complex_example_sums_over_the_next_layer(runs):
    out, text = runs["backprop_by_hand"]
    for name in ("dC0/dw(L)", "dC0/db(L)", "dC0/da(L-1)", "dC0/dw(L-1)"):
        diff = number(rf"^complex: {re.escape(name)} max \|formula - backward\| = (\S+)$", text)
        assert diff < TOLERANCE, (name, diff)
    assert number(r"^complex example max difference: (\S+)$", text) < TOLERANCE
    assert_svg(out / "complex_graph.svg")
    assert_png(out / "complex_graph.png")
