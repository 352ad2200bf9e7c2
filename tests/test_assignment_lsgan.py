"""Assignment 3 (LSGAN): nbval passes on the solution and fails on wrong answers (BCE where least
squares is asked; the eq. (9) coding in the chi-square identity); the checks of gantutor.checks.a03_lsgan
give the right verdicts."""
from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
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
    assert len(checks) == 5 and all(not c.outputs for c in checks)  # no stored PASS under a stub


# ---- the check functions directly -------------------------------------------------------------------
# Each check: right answers (also written differently from the solution), every wrong answer its
# messages name, and plausible wrong answers no message names (marked "unnamed"), which must still FAIL.

def _ls_d(r, f, a, b):
    return 0.5 * ((r.reshape(-1) - b) ** 2).mean() + 0.5 * ((f.reshape(-1) - a) ** 2).mean()


def _ls_g(f, c):
    return 0.5 * ((f.reshape(-1) - c) ** 2).mean()


def _dstar(p, q, a, b):
    return (b * p + a * q) / (p + q)


def _half(p, q):
    return 0.5 * theory.lsgan_chi2(p, q)


def _c_float32(p, q, a, b, c):
    """A right C(G) computed in float32 torch (~7 digits): must PASS."""
    p, q = torch.tensor(p, dtype=torch.float32), torch.tensor(q, dtype=torch.float32)
    d = (b * p + a * q) / (p + q)
    return (0.5 * (p * (d - c) ** 2).sum() + 0.5 * (q * (d - c) ** 2).sum()).item()


def _half_float32(p, q):
    """A right half_chi2 with float32 terms summed in float32 numpy: must PASS."""
    terms = ((q - p) ** 2 / (p + q)).astype(np.float32)
    return float(0.5 * np.sum(terms, dtype=np.float32))


def _pooled(r, f, a, b, times=1.0):
    return times * torch.cat([(r.reshape(-1) - b) ** 2, (f.reshape(-1) - a) ** 2]).mean()


CASES = [
    (checks_lsgan.check_d_least_squares, (_ls_d,), None),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: 0.5 * F.mse_loss(r.flatten(), torch.full_like(r.flatten(), b))
                                          + 0.5 * F.mse_loss(f.flatten(), torch.full_like(f.flatten(), a)),), None),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: F.softplus(-r.reshape(-1)).mean()
                                          + F.softplus(f.reshape(-1)).mean(),), "binary cross-entropy"),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: _ls_d(r, f, b, a),), "swapped"),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: 2 * _ls_d(r, f, a, b),), "factor 1/2"),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: _ls_d(torch.sigmoid(r), torch.sigmoid(f), a, b),),
     "applied a sigmoid"),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: 0.5 * ((r.reshape(-1) - b) ** 2).mean(),), "only the real term"),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: 0.5 * ((f.reshape(-1) - a) ** 2).mean(),), "only the fake term"),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: _pooled(r, f, a, b),), "one mean over the real and fake"),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: 0.5 * ((r.reshape(-1) - b) ** 2).sum()
                                          + 0.5 * ((f.reshape(-1) - a) ** 2).sum(),), "sum over the batch"),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: torch.tensor(float(_ls_d(r, f, a, b))),), "not differentiable"),
    # the value computed in numpy and wrapped in a tensor that requires grad: right value, no gradient path
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: torch.tensor(
        0.5 * np.mean((r.detach().numpy().reshape(-1) - b) ** 2) + 0.5 * np.mean((f.detach().numpy().reshape(-1) - a) ** 2),
        requires_grad=True),), "not differentiable"),
    # only the fake term detached: the value is right, the gradient on the fake batch is missing
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: _ls_d(r, f.detach(), a, b),), "not differentiable"),
    # the right value plus a term whose value is 0 but whose gradient is not: wrong gradient
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: _ls_d(r, f, a, b) + (f - f.detach()).sum(),), "wrong gradient"),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: 0.5 * ((r - b) ** 2).mean() + 0.5 * ((f.T - a) ** 2).mean()
                                          * (1 if r.dim() == 1 else 1.3),), "flatten D's outputs"),
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: 0.5 * (r - b) ** 2 + 0.5 * (f - a) ** 2,), "one value per sample"),
    # unnamed: the fake target taken as 0 whatever a is
    (checks_lsgan.check_d_least_squares, (lambda r, f, a, b: _ls_d(r, f, 0.0, b),), "expected"),
    (checks_lsgan.check_g_least_squares, (_ls_g,), None),
    (checks_lsgan.check_g_least_squares, (lambda f, c: F.softplus(-f.reshape(-1)).mean(),), "non-saturating BCE"),
    (checks_lsgan.check_g_least_squares, (lambda f, c: torch.tensor(
        0.5 * np.mean((f.detach().numpy().reshape(-1) - c) ** 2), requires_grad=True),), "not differentiable"),
    (checks_lsgan.check_g_least_squares, (lambda f, c: _ls_g(f.double(), c),), None),   # float64 inside is fine
    (checks_lsgan.check_g_least_squares, (lambda f, c: 2 * _ls_g(f, c),), "factor 1/2 is missing"),
    (checks_lsgan.check_g_least_squares, (lambda f, c: -_ls_g(f, c),), "sign error"),
    (checks_lsgan.check_g_least_squares, (lambda f, c: _ls_g(torch.sigmoid(f), c),), "applied a sigmoid"),
    # unnamed: the square of the mean instead of the mean of squares
    (checks_lsgan.check_g_least_squares, (lambda f, c: 0.5 * (f.reshape(-1) - c).mean() ** 2,), "expected"),
    (checks_lsgan.check_lsgan_optimal_discriminator, (theory.lsgan_optimal_discriminator,), None),
    (checks_lsgan.check_lsgan_optimal_discriminator, (lambda p, q, a, b: a + (b - a) * p / (p + q),), None),
    (checks_lsgan.check_lsgan_optimal_discriminator, (lambda p, q, a, b: _dstar(p, q, b, a),), "a and b are swapped"),
    (checks_lsgan.check_lsgan_optimal_discriminator, (lambda p, q, a, b: p / (p + q),), "original GAN"),
    (checks_lsgan.check_lsgan_optimal_discriminator, (lambda p, q, a, b: _dstar(p, q, a, b)[None],), "has shape"),
    # unnamed: the average of the targets weighted by the densities but not normalised
    (checks_lsgan.check_lsgan_optimal_discriminator, (lambda p, q, a, b: (b * p + a * q) / 2,), "your D* is"),
    (checks_lsgan.check_lsgan_generator_value, (theory.lsgan_generator_value,), None),
    (checks_lsgan.check_lsgan_generator_value, (lambda p, q, a, b, c: 0.5 * float(np.sum((p + q) * (_dstar(p, q, a, b) - c) ** 2)),),
     None),
    (checks_lsgan.check_lsgan_generator_value, (_c_float32,), None),   # right, computed in float32
    (checks_lsgan.check_lsgan_generator_value, (lambda p, q, a, b, c: 2 * theory.lsgan_generator_value(p, q, a, b, c),),
     "factor 1/2 is missing"),
    (checks_lsgan.check_lsgan_generator_value, (lambda p, q, a, b, c: 0.5 * np.sum(q * (_dstar(p, q, a, b) - c) ** 2),),
     "only the fake term"),
    (checks_lsgan.check_lsgan_generator_value, (lambda p, q, a, b, c: np.mean((_dstar(p, q, a, b) - c) ** 2),),
     "averaged over points"),
    (checks_lsgan.check_lsgan_generator_value, (lambda p, q, a, b, c: (_dstar(p, q, a, b) - c) ** 2,), "returned"),
    # unnamed: distance to b instead of c
    (checks_lsgan.check_lsgan_generator_value, (lambda p, q, a, b, c: theory.lsgan_generator_value(p, q, a, b, b),), "expected"),
    (checks_lsgan.check_chi2_identity, ((-1, 1, 0), theory.lsgan_generator_value, _half), None),
    (checks_lsgan.check_chi2_identity, ((0, 2, 1), theory.lsgan_generator_value, _half), None),
    (checks_lsgan.check_chi2_identity, ((1, -1, 0), theory.lsgan_generator_value, _half), None),  # the sign flip
    (checks_lsgan.check_chi2_identity, (lambda: [3.0, 1.0, 2.0], theory.lsgan_generator_value, _half), None),
    (checks_lsgan.check_chi2_identity, ((-1, 1, 0), theory.lsgan_generator_value, _half_float32), None),
    (checks_lsgan.check_chi2_identity, ((-1, 1, 0), _c_float32, _half), None),
    (checks_lsgan.check_chi2_identity, ((0, 1, 1), theory.lsgan_generator_value, _half), "eq. (9)"),
    (checks_lsgan.check_chi2_identity, ((0, 1, 0), theory.lsgan_generator_value, _half), "the identity needs"),
    (checks_lsgan.check_chi2_identity, ((-1, 1), theory.lsgan_generator_value, _half), "three numbers"),
    (checks_lsgan.check_chi2_identity, ((-1, 1, 0), theory.lsgan_generator_value, theory.lsgan_chi2), "whole chi-square"),
    (checks_lsgan.check_chi2_identity, ((-1, 1, 0), theory.lsgan_generator_value,
                                        lambda p, q: 0.5 * theory.pearson_chi2(p, q)), "half_chi2 is"),
    (checks_lsgan.check_chi2_identity, ((-1, 1, 0), lambda p, q, a, b, c: 2 * theory.lsgan_generator_value(p, q, a, b, c),
                                        _half), "check generator_value"),
    # unnamed: only one of the two conditions (b - c = 1) met
    (checks_lsgan.check_chi2_identity, ((-2, 1, 0), theory.lsgan_generator_value, _half), "the identity needs"),
]


@pytest.mark.parametrize("check, args, diagnosis", CASES, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_check_functions(capsys, check, args, diagnosis):
    ok = check(*args)
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert out.err == "" and len(lines) == 1, out
    assert lines[0].startswith(check.__name__ + ": ") and ok == lines[0].endswith(": PASS")
    if diagnosis is None:
        assert ok, lines[0]
    else:
        assert not ok and diagnosis in lines[0], lines[0]
