"""The README's commands are the ones CI and users run."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_COMMAND = ("python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && "
                ".venv/bin/python -m pytest")


def test_ci_runs_exactly_the_readme_test_command():
    assert TEST_COMMAND in (ROOT / "README.md").read_text()
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text().splitlines()


def test_readme_main_job_runs_an_existing_example():
    readme = (ROOT / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if ln.startswith(
        "python3 -m venv .venv && .venv/bin/pip install -e '.[examples]' "))
    script = line.rsplit(" ", 1)[-1]
    assert script == "examples/neural_network.py" and (ROOT / script).is_file()
