"""Assignment 3 (LSGAN): nbval passes on the solution and fails on wrong answers (BCE where least
squares is asked; the eq. (9) coding in the chi-square identity); the checks of gantutor.checks.a03_lsgan
give the right verdicts."""
from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch.nn.functional as F

from gantutor.checks import a03_lsgan as checks_lsgan
from gantutor import theory

import nbhelpers as nb

FOLDER = nb.FOLDER
SOLUTION = FOLDER / "a03_lsgan_solution.ipynb"
STUDENT = FOLDER / "a03_lsgan.ipynb"


def _solution_with(folder: Path, cell_id: str, old: str, new: str) -> Path:
    return nb.solution_with(SOLUTION, folder, cell_id, old, new)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The notebook runs of this module, started at once and collected by name."""
    tmp = tmp_path_factory.mktemp("assignment_lsgan")
    bce = _solution_with(tmp / "bce", "t1-code",
                         "return 0.5 * ((real_out - b) ** 2).mean() + 0.5 * ((fake_out - a) ** 2).mean()",
                         "return F.softplus(-real_out).mean() + F.softplus(fake_out).mean()")
    book = nbformat.read(bce, as_version=4)
    book.cells[3].source = "import torch.nn.functional as F\n" + book.cells[3].source
    nbformat.write(book, bce)
    eq9 = _solution_with(tmp / "eq9", "t5-code", "return (-1.0, 1.0, 0.0)", "return (0.0, 1.0, 1.0)")
    runs = nb.NbvalRuns({"solution": nb.start_nbval(SOLUTION), "bce": nb.start_nbval(bce),
                         "eq9": nb.start_nbval(eq9)})
    yield runs
    runs.close()


def test_nbval_passes_on_the_solution(runs):
    rc, out, err = runs("solution")
    assert rc == 0, out[-4000:] + err[-2000:]


def test_nbval_fails_when_bce_is_given_for_least_squares(runs):
    rc, out, _ = runs("bce")
    assert rc != 0
    assert "check_d_least_squares: FAIL - your loss is the binary cross-entropy" in out


def test_nbval_fails_with_the_eq9_coding_in_the_identity(runs):
    rc, out, _ = runs("eq9")
    assert rc != 0
    assert "1 failed" in out
    assert "check_chi2_identity: FAIL - with (a, b, c) = (0.0, 1.0, 1.0)" in out


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
