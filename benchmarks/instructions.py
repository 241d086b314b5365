"""Instructions per op and per training step, counted by valgrind's callgrind: the before/after
check for a change to the engine's per-op path, repeatable on a shared, noisy machine (it counts
instructions, not seconds).

    .venv/bin/python benchmarks/instructions.py                # HEAD against the working tree
    .venv/bin/python benchmarks/instructions.py e13ad3c HEAD   # two commits

Each tree runs two workloads of its own autograd_lite, each twice, short and long, in a fresh
``python -S`` (no site hooks: the venv's editable install would import the working tree); the
figure is (long - short) / the ops or steps between them, so the interpreter's start and the
imports cancel out.
- chain: W1's chain on (64,): add a constant, tanh, forward and backward, 5 chains.
- mlp step: an 8-16-16-3 MLP, cross-entropy, SGD, batch 4: zero_grad, forward, backward, step.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import site
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKTREE = "working tree"
PYCACHE = tempfile.TemporaryDirectory(prefix="instructions-pycache-")

CHAIN = """
import sys
import numpy as np
import autograd_lite as ag
n = int(sys.argv[1])
x = ag.tensor(np.linspace(0.1, 1, 64), requires_grad=True)
for _ in range(5):
    y = x
    for i in range(n):
        y = (y * 1.0001).tanh() if i % 2 else y + 0.5
    y.sum().backward()
"""

MLP_STEP = """
import sys
import numpy as np
import autograd_lite as ag
from autograd_lite import nn, optim
ag.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
opt = optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss()
x = ag.tensor(np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32))
y = ag.tensor(np.array([0, 1, 2, 1]))
for _ in range(int(sys.argv[1])):
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()
"""

# name: (script, argument of the short run, of the long run, units between them, unit)
WORKLOADS = {"chain": (CHAIN, 2, 4002, 5 * 4000, "op"),
             "mlp step": (MLP_STEP, 2, 1002, 1000, "step")}


def python(tree: str, args: list[str], prefix: tuple[str, ...] = ()):
    """Run ``python -S args`` (under ``prefix``, e.g. valgrind) with ``tree``'s autograd_lite,
    from ``tree``'s parent (``python -c`` puts the current folder first on the path), its
    bytecode cached in ``PYCACHE``."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([tree, *site.getsitepackages()]),
           # bytecode cached (outside the tree): compiling the package from source on every run
           # would add a billion instructions that vary by a few percent
           "PYTHONPYCACHEPREFIX": PYCACHE.name}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.run([*prefix, sys.executable, "-S", *args], cwd=os.path.dirname(tree),
                          env=env, capture_output=True, text=True, check=True)


def instructions(tree: str, script: str, arg: int) -> int:
    """What callgrind counts for ``script arg`` run with ``tree``'s autograd_lite."""
    run = python(tree, ["-c", script, str(arg)],
                 ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"))
    found = re.search(r"Collected\s*:\s*([\d,]+)", run.stderr) or re.search(
        r"I\s+refs:\s*([\d,]+)", run.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{run.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_unit(tree: str) -> dict[str, int]:
    """Instructions per op (chain) and per step (mlp step) with ``tree``'s package."""
    imported = python(tree, ["-c", "import autograd_lite; print(autograd_lite.__file__)"])
    if not imported.stdout.startswith(os.path.join(tree, "autograd_lite")):
        raise RuntimeError(f"{tree}'s autograd_lite was not the one imported: {imported.stdout}")
    counts = {}
    for name, (script, short, long, units, _) in WORKLOADS.items():
        instructions(tree, script, short)  # writes the bytecode caches first
        counts[name] = (instructions(tree, script, long) - instructions(tree, script, short)) \
            // units
    return counts


def checkout(rev: str, into: str) -> str:
    """``rev``'s autograd_lite/ extracted under ``into``; the folder to put on the path."""
    archive = subprocess.run(["git", "archive", rev, "autograd_lite"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    os.makedirs(into)
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revs", nargs="*", help="commits to compare (default: HEAD and the "
                        "working tree)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt install valgrind)")
    revs = args.revs or ["HEAD", WORKTREE]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for i, rev in enumerate(revs):
            print(f"counting {rev} ...", file=sys.stderr)
            tree = ROOT if rev == WORKTREE else checkout(rev, os.path.join(scratch, str(i)))
            rows.append((rev, per_unit(tree)))
    first = rows[0][1]
    print("| tree | " + " | ".join(f"{name}, per {WORKLOADS[name][4]}" for name in first) + " |")
    print("|" + " --- |" * (len(first) + 1))
    for rev, counts in rows:
        cells = [f"{counts[n]:,}" + ("" if counts is first else
                                     f" ({(counts[n] - first[n]) / first[n]:+.1%})")
                 for n in first]
        print(f"| {rev} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
