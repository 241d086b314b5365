"""What every example shares: its command-line options and where its files go."""

import argparse
import sys
from pathlib import Path

import autograd_lite as ag


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


def parse_args(name: str, description: str, argv=None) -> argparse.Namespace:
    """``--out DIR`` (default ``runs/<name>/``), ``--seed``, ``--quick`` (a few seconds, for
    tests), ``--debug``; the output folder is created."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=Path("runs") / name,
                        help=f"folder for plots and files (default: runs/{name}/)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quick", action="store_true",
                        help="a few seconds of training instead of the full run")
    add_debug_flag(parser)
    if argv is None and "ipykernel" in sys.modules:
        argv = []  # run as a notebook: the kernel's own arguments are not ours
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return args
