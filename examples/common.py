"""What every example shares: its command-line options, where its files go, how it shows them.

Every example is a script and, opened with jupytext, a notebook. A notebook's ``sys.argv`` is
the kernel's own, so there the options come from the environment variable ``EXAMPLE_ARGS``
(e.g. ``EXAMPLE_ARGS="--quick --out /tmp/runs"``; unset: the defaults), and the pictures a
script only writes are shown inline as well.
"""

import argparse
import os
import shlex
import sys
from pathlib import Path

import autograd_lite as ag

NOTEBOOK = "ipykernel" in sys.modules  # run in a Jupyter kernel, not as a script


class _DebugFlag(argparse.Action):
    """``--debug``: turns on autograd_lite's debug mode as soon as it is parsed."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        ag.set_debug(True)
        setattr(namespace, self.dest, True)


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` the ``--debug`` option every example has (``ag.set_debug(True)``)."""
    parser.add_argument("--debug", action=_DebugFlag,
                        help="autograd_lite's debug mode: warn about silent training-loop traps "
                             "(a forgotten zero_grad, a graph kept across iterations)")


def command_line() -> list[str]:
    """The example's options: the command line's, or ``$EXAMPLE_ARGS`` in a notebook."""
    if NOTEBOOK:
        return shlex.split(os.environ.get("EXAMPLE_ARGS", ""))
    return sys.argv[1:]


def show(path: Path) -> None:
    """Say that the picture ``path`` (.png or .svg) was written; a notebook also shows it."""
    print("wrote", path)
    if NOTEBOOK:
        from IPython.display import SVG, Image, display

        display(SVG(filename=path) if Path(path).suffix == ".svg" else Image(filename=path))


def parse_args(name: str, description: str, argv=None) -> argparse.Namespace:
    """``--out DIR`` (default ``runs/<name>/``), ``--seed``, ``--quick`` (a few seconds, for
    tests), ``--debug``, parsed from ``argv`` or ``command_line()``; the output folder is
    created."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=Path("runs") / name,
                        help=f"folder for plots and files (default: runs/{name}/)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quick", action="store_true",
                        help="a few seconds of training instead of the full run")
    add_debug_flag(parser)
    args = parser.parse_args(command_line() if argv is None else argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return args
