"""Assignment 3 (LSGAN): nbval passes on the solution and fails on wrong answers (BCE where least
squares is asked; the eq. (9) coding in the chi-square identity); the checks of gantutor.checks_lsgan
give the right verdicts."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch.nn.functional as F

from gantutor import checks_lsgan, theory

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "book" / "assignments"
SOLUTION = FOLDER / "a03_lsgan_solution.ipynb"
STUDENT = FOLDER / "a03_lsgan.ipynb"


def _nbval(path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "pytest", "--nbval", str(path), "--nbval-current-env",
                           "-p", "no:cacheprovider", "-q", "--rootdir", str(path.parent)],
                          cwd=path.parent, env=env, capture_output=True, text=True, timeout=300)


def _solution_with(tmp: Path, cell_id: str, old: str, new: str) -> Path:
    nb = nbformat.read(SOLUTION, as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    assert old in cell.source, f"{old!r} not in cell {cell_id}"
    cell.source = cell.source.replace(old, new)
    path = tmp / "submission.ipynb"
    nbformat.write(nb, path)
    return path


def test_nbval_passes_on_the_solution():
    proc = _nbval(SOLUTION)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_nbval_fails_when_bce_is_given_for_least_squares(tmp_path):
    path = _solution_with(tmp_path, "t1-code",
                          "return 0.5 * ((real_out - b) ** 2).mean() + 0.5 * ((fake_out - a) ** 2).mean()",
                          "return F.softplus(-real_out).mean() + F.softplus(fake_out).mean()")
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].source = "import torch.nn.functional as F\n" + nb.cells[3].source
    nbformat.write(nb, path)
    proc = _nbval(path)
    assert proc.returncode != 0
    assert "check_d_least_squares: FAIL - your loss is the binary cross-entropy" in proc.stdout


def test_nbval_fails_with_the_eq9_coding_in_the_identity(tmp_path):
    proc = _nbval(_solution_with(tmp_path, "t5-code", "return (-1.0, 1.0, 0.0)", "return (0.0, 1.0, 1.0)"))
    assert proc.returncode != 0
    assert "1 failed" in proc.stdout
    assert "check_chi2_identity: FAIL - with (a, b, c) = (0.0, 1.0, 1.0)" in proc.stdout


def test_student_version_is_generated_and_hides_answers():
    text = STUDENT.read_text(encoding="utf8")
    assert "BEGIN SOLUTION" not in text and "(-1.0, 1.0, 0.0)" not in text and "Instructor notes" not in text
    student = nbformat.read(STUDENT, as_version=4)
    checks = [c for c in student.cells if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert len(checks) == 5 and all(c.outputs[0]["text"].endswith(": PASS\n") for c in checks)


# ---- the check functions directly -------------------------------------------------------------------

def _ls_d(r, f, a, b):
    return 0.5 * ((r.reshape(-1) - b) ** 2).mean() + 0.5 * ((f.reshape(-1) - a) ** 2).mean()


def test_checks_pass_on_right_answers(capsys):
    assert checks_lsgan.check_d_least_squares(_ls_d)
    assert checks_lsgan.check_g_least_squares(lambda f, c: 0.5 * ((f.reshape(-1) - c) ** 2).mean())
    assert checks_lsgan.check_lsgan_optimal_discriminator(theory.lsgan_optimal_discriminator)
    assert checks_lsgan.check_lsgan_generator_value(theory.lsgan_generator_value)
    assert checks_lsgan.check_chi2_identity((0, 2, 1), theory.lsgan_generator_value,
                                            lambda p, q: 0.5 * theory.lsgan_chi2(p, q))
    assert capsys.readouterr().out.count(": PASS\n") == 5


@pytest.mark.parametrize("fn,message", [
    (lambda r, f, a, b: F.softplus(-r.reshape(-1)).mean() + F.softplus(f.reshape(-1)).mean(), "binary cross-entropy"),
    (lambda r, f, a, b: _ls_d(r, f, b, a), "swapped"),
    (lambda r, f, a, b: 2 * _ls_d(r, f, a, b), "factor 1/2"),
    (lambda r, f, a, b: 0.5 * ((r.reshape(-1) - b) ** 2).sum() + 0.5 * ((f.reshape(-1) - a) ** 2).sum(), "sum over the batch"),
])
def test_d_check_names_wrong_answers(fn, message, capsys):
    assert not checks_lsgan.check_d_least_squares(fn)
    assert message in capsys.readouterr().out


def test_g_check_and_theory_checks_name_wrong_answers(capsys):
    assert not checks_lsgan.check_g_least_squares(lambda f, c: F.softplus(-f.reshape(-1)).mean())
    assert not checks_lsgan.check_lsgan_optimal_discriminator(lambda p, q, a, b: (a * p + b * q) / (p + q))
    assert not checks_lsgan.check_lsgan_generator_value(lambda p, q, a, b, c: 2 * theory.lsgan_generator_value(p, q, a, b, c))
    assert not checks_lsgan.check_chi2_identity((0, 1, 1), theory.lsgan_generator_value,
                                                lambda p, q: 0.5 * theory.lsgan_chi2(p, q))
    out = capsys.readouterr().out
    for phrase in ("non-saturating BCE", "a and b are swapped", "factor 1/2 is missing", "eq. (9)"):
        assert phrase in out, phrase
    assert out.count("\n") == 4  # one line per verdict
