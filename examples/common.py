"""What every example shares: its command-line options and where its files go."""

import argparse
import sys
from pathlib import Path


def parse_args(name: str, description: str, argv=None) -> argparse.Namespace:
    """``--out DIR`` (default ``runs/<name>/``), ``--seed``, ``--quick`` (a few seconds, for
    tests); the output folder is created."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=Path("runs") / name,
                        help=f"folder for plots and files (default: runs/{name}/)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quick", action="store_true",
                        help="a few seconds of training instead of the full run")
    if argv is None and "ipykernel" in sys.modules:
        argv = []  # run as a notebook: the kernel's own arguments are not ours
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return args
