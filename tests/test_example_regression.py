"""examples/linear_regression.py and examples/logistic_regression.py run with --quick and print
figures in range: the normal equation and gradient descent agree, the singular case fails
cleanly while gradient descent trains, autograd's gradient is the lecture's formula, and the
real-data results are what a linear model should reach."""

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_example(name, out):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name), "--quick", "--out",
                             str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"no line matching {pattern!r} in:\n{text}"
    return float(match.group(1))


def assert_pngs(folder, names):
    for name in names:
        path = folder / name
        assert path.is_file(), f"{name} was not written"
        assert path.read_bytes()[:8] == PNG_MAGIC, f"{name} is not a PNG"


FLOAT = r"([-+0-9.eE]+|nan|inf)"


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    out = tmp_path_factory.mktemp("linear_regression")
    return out, run_example("linear_regression.py", out)


@pytest.fixture(scope="module")
def logistic(tmp_path_factory):
    out = tmp_path_factory.mktemp("logistic_regression")
    return out, run_example("logistic_regression.py", out)


def test_linear_regression_writes_its_plots(linear):
    out, _ = linear
    assert_pngs(out, ["house_price_fit.png", "house_price_loss.png", "house_4_features_loss.png",
                      "diabetes_loss.png", "diabetes_predictions.png"])


def test_normal_equation_and_gradient_descent_agree(linear):
    _, stdout = linear
    # prices are in $1000 and coefficients range from ~1 to ~100: 1e-3 is far below noise
    assert number(r"1-feature gap: " + FLOAT, stdout) < 1e-3
    assert number(r"4-feature gap: " + FLOAT, stdout) < 1e-3


def test_autograd_gradient_is_the_lectures_formula(linear, logistic):
    assert number(r"max \|autograd - formula\| \(linear regression\): " + FLOAT,
                  linear[1]) < 1e-5
    assert number(r"max \|autograd - formula\| \(logistic regression\): " + FLOAT,
                  logistic[1]) < 1e-5


def test_singular_normal_equation_fails_cleanly_while_gradient_descent_trains(linear):
    _, stdout = linear
    assert re.search(r"singular: normal equation failed: X\^T X is singular .*size, "
                     r"size \(again\)", stdout), stdout
    loss = number(r"singular: gradient descent final MSE: " + FLOAT, stdout)
    minimum = number(r"least-squares minimum " + FLOAT, stdout)
    assert math.isfinite(loss)
    assert loss <= minimum * 1.01  # it reaches the least-squares minimum


def test_diabetes_regression_explains_the_variance_a_linear_model_can(linear):
    _, stdout = linear
    r2 = number(r"diabetes test R\^2: " + FLOAT, stdout)
    r2_normal_equation = number(r"diabetes test R\^2: [-0-9.]+ \(normal equation " + FLOAT,
                                stdout)
    assert r2 > 0.3
    assert abs(r2 - r2_normal_equation) < 0.05


def test_logistic_regression_plots_the_three_regimes(logistic):
    out, _ = logistic
    assert_pngs(out, ["gradient_descent_variants.png"])


def test_logistic_regression_reaches_95_percent_in_every_regime(logistic):
    _, stdout = logistic
    for regime in ("batch", "stochastic", "mini-batch"):
        assert number(rf"test accuracy \({regime}\): " + FLOAT, stdout) >= 0.95, regime


def test_stochastic_updates_are_noisier_than_batch_ones(logistic):
    _, stdout = logistic
    spread = {name: number(rf"{name}:.*spread of the last 100 batch losses " + FLOAT, stdout)
              for name in ("batch", "stochastic", "mini-batch")}
    assert spread["batch"] < spread["mini-batch"] < spread["stochastic"]
