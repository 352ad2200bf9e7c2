"""``python -m gantutor.pretrain NAME [--tiny --out PATH] | --list``."""
import argparse
import sys
from pathlib import Path

import torch

from . import RECIPES, recipe, run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gantutor.pretrain", description=__doc__)
    parser.add_argument("name", nargs="?", help=f"one of {sorted(RECIPES)}")
    parser.add_argument("--tiny", action="store_true", help="a tiny budget (needs --out)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: gantutor's choice)")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        for name in sorted(RECIPES):
            print(f"{name:18s} {recipe(name).description}")
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    out = run(args.name, tiny=args.tiny, out=args.out)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


sys.exit(main())
