"""Time the whole book: the benchmark's fourth measurement (DESIGN.md, "Targets").

    .venv/bin/python tools/time_book.py                 # every notebook of _toc.yml, FAST mode
    .venv/bin/python tools/time_book.py --mode full     # every notebook at full budgets (tens of minutes)
    .venv/bin/python tools/time_book.py --mode build    # one complete website build from an empty cache

``fast`` and ``full`` execute each notebook listed in ``_toc.yml`` in a fresh kernel (nbclient, the
executor Jupyter Book uses) and keep nothing: the notebooks on disk are not changed. ``build`` runs
``jupyter-book build`` on a copy of the repository in a temporary folder, so the real build cache is
not touched and every notebook really executes. Each writes ``bench/book_<mode>.json`` and
``bench/book_<mode>.md`` (included by the Performance page) and prints the table.

This lives in ``tools/``, not in ``gantutor``, because it reads the book: the package never depends on
the book (DESIGN.md, "one obvious place for each thing").
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"fast": 10 * 60, "full": None, "build": 60 * 60}


def toc_notebooks(root: Path = ROOT) -> List[Path]:
    """The .ipynb files of ``_toc.yml``, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf8"))
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            for part in entry.get("parts", []) or []:
                walk(part.get("chapters"))
    walk(toc.get("chapters"))
    for part in toc.get("parts", []) or []:
        walk(part.get("chapters"))
    return [root / f"{n}.ipynb" for n in names if (root / f"{n}.ipynb").is_file()]


def execute(path: Path, fast: bool, timeout: int = 3600) -> float:
    """Seconds to execute ``path`` top to bottom in a fresh kernel (outputs discarded)."""
    import nbformat
    from nbclient import NotebookClient

    os.environ["GANTUTOR_FAST"] = "1" if fast else "0"  # the kernel inherits this process's environment
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def build(timeout: int = 3 * 3600) -> float:
    """Seconds of one ``jupyter-book build`` of a copy of the book with an empty execution cache."""
    jb = Path(sys.executable).with_name("jupyter-book")
    with tempfile.TemporaryDirectory(prefix="gantutor-build-") as tmp:
        copy = Path(tmp) / "book-copy"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "_build", "__pycache__", ".pytest_cache", ".ipynb_checkpoints"))
        env = dict(os.environ)
        env.pop("GANTUTOR_FAST", None)
        start = time.perf_counter()
        subprocess.run([str(jb), "build", str(copy)], check=True, env=env, timeout=timeout,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - start


def to_markdown(result: Dict) -> str:
    mode, total, target = result["mode"], result["total_seconds"], TARGETS[result["mode"]]
    title = {"fast": "every notebook in FAST mode", "full": "every notebook at full budgets",
             "build": "one complete website build, empty cache"}[mode]
    lines = [f"Book timing, {title}: measured {result['date']} on {result['machine']}.", "",
             "| notebook | seconds |", "| --- | --- |"]
    lines += [f"| {name} | {sec:.0f} |" for name, sec in result["notebooks"].items()]
    verdict = "" if target is None else f" (target under {target // 60} minutes: {'met' if total < target else 'NOT met'})"
    lines.append(f"| **total** | **{total:.0f}** ({total / 60:.1f} min){verdict} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=sorted(TARGETS), default="fast")
    parser.add_argument("--out", default=str(ROOT / "bench"), help="folder for book_<mode>.json/.md")
    args = parser.parse_args(argv)
    if args.mode == "build":
        notebooks = {"jupyter-book build": build()}
    else:
        notebooks = {}
        for path in toc_notebooks():
            notebooks[str(path.relative_to(ROOT))] = execute(path, fast=args.mode == "fast")
            print(f"{path.relative_to(ROOT)}: {notebooks[str(path.relative_to(ROOT))]:.0f} s", flush=True)
    result = {"mode": args.mode, "notebooks": notebooks, "total_seconds": sum(notebooks.values()),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # write to a temporary file, then rename: an interrupted run never leaves half a table
    for suffix, text in (("json", json.dumps(result, indent=2)), ("md", to_markdown(result))):
        tmp = out / f".book_{args.mode}.{suffix}.tmp"
        tmp.write_text(text)
        os.replace(tmp, out / f"book_{args.mode}.{suffix}")
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
