"""Running notebooks under nbval in a subprocess, shared by the assignment tests.

Each assignment test starts its notebook runs at once (each spends most of its time starting a kernel
and importing torch, so they overlap well) and collects them by name through :class:`NbvalRuns`.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "book" / "assignments"
MAKE_STUDENT = FOLDER / "make_student.py"


# Check cells' outputs are recorded on the machine's own CPU code path with 2 threads
# (tools/refresh_outputs.py, make_student.py's record); the tests re-execute them on another one: ATen's
# portable kernels (no AVX) and 1 thread. Equal outputs on both paths = outputs that do not depend on the
# CPU, its instruction set or the thread count (the CI machine may be another CPU).
CHECK_PATH_ENV = {"ATEN_CPU_CAPABILITY": "default", "GANTUTOR_THREADS": "1", "OMP_NUM_THREADS": "1"}
RECORD_PATH_ENV = {"GANTUTOR_THREADS": "2"}  # and ATEN_CPU_CAPABILITY unset: the machine's own kernels


def env() -> dict:
    """The environment of a child process: the repository on PYTHONPATH, the checking CPU code path."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                **CHECK_PATH_ENV)


_CWD: Dict[int, Path] = {}


def proc_cwd(proc: subprocess.Popen) -> Path:
    """The folder a process of :func:`start` was started in."""
    return _CWD[id(proc)]


def start(args, cwd) -> subprocess.Popen:
    """``python args...`` in ``cwd``, started without waiting."""
    proc = subprocess.Popen([sys.executable, *map(str, args)], cwd=cwd, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _CWD[id(proc)] = Path(cwd)
    return proc


def run(args, cwd, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python args...`` in ``cwd``, waited for."""
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env(), capture_output=True,
                          text=True, timeout=timeout)


def start_nbval(nb_path: Path) -> subprocess.Popen:
    """``pytest --nbval`` on one notebook (strict: every stored output is compared)."""
    return start(["-m", "pytest", "--nbval", nb_path, "--nbval-current-env", "-p", "no:cacheprovider",
                  "-q", "--rootdir", nb_path.parent], cwd=nb_path.parent)


def solution_with(solution: Path, folder: Path, cell_id: str, old: str, new: str) -> Path:
    """A copy of ``solution`` in the new ``folder`` with ``old`` replaced by ``new`` in one cell (a
    wrong answer); fails if ``old`` is not in that cell, so the wrong answer cannot silently vanish."""
    nb = nbformat.read(solution, as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    assert old in cell.source, f"{old!r} not in cell {cell_id}"
    cell.source = cell.source.replace(old, new)
    folder.mkdir()
    path = folder / "submission.ipynb"
    nbformat.write(nb, path)
    return path


class NbvalRuns:
    """Processes started at once, collected by name: ``runs.result(name)`` is (returncode, stdout, stderr)."""

    def __init__(self, procs: Dict[str, subprocess.Popen]):
        self.procs, self.done = procs, {}

    def result(self, name: str):
        if name not in self.done:
            proc = self.procs[name]
            out, err = proc.communicate(timeout=300)
            if "Kernel died before replying" in out:
                # Many kernels started at once can lose a start-up race (a kernel that dies before its
                # first cell, not a verdict); run that notebook once more, alone.
                proc = subprocess.Popen(proc.args, cwd=proc_cwd(proc), env=env(), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                out, err = proc.communicate(timeout=300)
            self.done[name] = (proc.returncode, out, err)
        return self.done[name]

    def __call__(self, name: str):
        return self.result(name)

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.communicate()
