"""Assignment 5 (SNGAN): nbval passes on the solution and fails on wrong answers (u not normalised in
power iteration; sigma detached from the graph in the layer); the student version hides the answers;
the checks of gantutor.checks.a05_sngan give the right verdicts on right and wrong answers."""
from __future__ import annotations

import math

import nbformat
import pytest
import torch
from torch import nn

from gantutor.checks import a05_sngan as checks_sngan
from gantutor import layers

import nbhelpers as nb

FOLDER = nb.FOLDER
SOLUTION = FOLDER / "a05_sngan_solution.ipynb"
STUDENT = FOLDER / "a05_sngan.ipynb"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The notebook runs of this module, started at once and collected by name."""
    tmp = tmp_path_factory.mktemp("assignment_sngan")
    no_norm = nb.solution_with(SOLUTION, tmp / "no_norm", "t1-code", "        u = u / u.norm()\n", "")
    detached = nb.solution_with(SOLUTION, tmp / "detached", "t2-code",
                                "return W / (self.u.clone() @ W @ v)", "return W / (self.u @ W.detach() @ v)")
    runs = nb.NbvalRuns({"solution": nb.start_nbval(SOLUTION), "no_norm": nb.start_nbval(no_norm),
                         "detached": nb.start_nbval(detached)})
    yield runs
    runs.close()


def test_nbval_passes_on_the_solution(runs):
    rc, out, err = runs("solution")
    assert rc == 0, out[-4000:] + err[-2000:]


def test_nbval_fails_when_u_is_not_normalised(runs):
    rc, out, _ = runs("no_norm")
    assert rc != 0
    assert "check_power_iteration: FAIL - your estimate" in out and "u is not normalised" in out


def test_nbval_fails_when_sigma_is_detached(runs):
    rc, out, _ = runs("detached")
    assert rc != 0
    assert "1 failed" in out
    assert "check_spectral_norm_layer: FAIL - sigma is detached from the graph" in out


def test_student_version_is_generated_and_hides_answers():
    text = STUDENT.read_text(encoding="utf8")
    assert "BEGIN SOLUTION" not in text and "extra = h - ((out - 1)" not in text and "Instructor notes" not in text
    student = nbformat.read(STUDENT, as_version=4)
    checks = [c for c in student.cells if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert len(checks) == 4 and all(c.outputs[0]["text"].endswith(": PASS\n") for c in checks)


# ---- the check functions directly -------------------------------------------------------------------

class _Reference(nn.Module):
    """The reference layer, built the way the assignment's SpectralNorm(weight) is."""

    def __new__(cls, weight):
        return layers.SpectralNorm(weight)


def _conv_norm(w, shape, stride, padding):
    return layers.conv_operator_norm(w, shape, stride, padding, n_iter=3000, tol=1e-13)


def test_checks_pass_on_the_reference_implementations(capsys):
    assert checks_sngan.check_power_iteration(lambda W, u, n: layers.power_iteration(W, u, n))
    assert checks_sngan.check_spectral_norm_layer(_Reference)
    assert checks_sngan.check_lipschitz_bound(lambda m: math.prod(
        float(torch.linalg.matrix_norm(l.weight.detach(), 2)) for l in m.modules() if isinstance(l, nn.Linear)))
    assert checks_sngan.check_conv_operator_norm(_conv_norm)
    assert capsys.readouterr().out.count(": PASS\n") == 4


def test_checks_name_wrong_answers(capsys):
    def frobenius(W, u, n):
        return torch.linalg.matrix_norm(W), u, u
    assert not checks_sngan.check_power_iteration(frobenius)
    assert not checks_sngan.check_lipschitz_bound(lambda m: sum(
        float(torch.linalg.matrix_norm(l.weight.detach(), 2)) for l in m.modules() if isinstance(l, nn.Linear)))
    assert not checks_sngan.check_conv_operator_norm(lambda w, s, st, p: torch.linalg.matrix_norm(w.flatten(1), 2))
    assert not checks_sngan.check_spectral_norm_layer(lambda w: nn.Identity())
    out = capsys.readouterr().out
    for phrase in ("Frobenius norm", "PRODUCT", "reshaped kernel", "no buffer named u"):
        assert phrase in out, phrase
    assert out.count("\n") == 4  # one line per verdict
