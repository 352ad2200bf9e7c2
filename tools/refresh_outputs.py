"""Re-execute book notebooks in FAST mode and keep only the outputs that nbval compares.

Chapters are committed with the outputs of their ``# NBVAL_CHECK_OUTPUT`` cells (budget-independent
numerical checks, compared by ``pytest --nbval-lax`` in ``make test``) and with every other output
cleared: the website re-executes each chapter with full budgets, and FAST-mode pictures in the
committed file would mislead a reader on GitHub or Colab.

    .venv/bin/python tools/refresh_outputs.py book/ch01_gan_game.ipynb [more notebooks]
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "# NBVAL_CHECK_OUTPUT"


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    os.environ["GANTUTOR_FAST"] = "1"
    # Record on the machine's own CPU code path with 2 threads; the tests check on another (portable
    # kernels, 1 thread: tests/nbhelpers.py), so only CPU-independent outputs survive both.
    for name in ("ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS"):
        os.environ.pop(name, None)
    os.environ["GANTUTOR_THREADS"] = "2"
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if not cell.source.lstrip().startswith(MARK):
            cell.outputs = []
            cell.execution_count = None  # nbval needs the counts of the cells it compares; keep those
    nb.metadata.pop("widgets", None)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)  # never leave a half-written notebook
    print(f"refreshed {path}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        refresh(Path(arg))
