"""Assignment 4 (WGAN-GP): nbval passes on the solution and fails on wrong gradient penalties (alpha drawn
per pixel, no create_graph, a one-sided penalty); the student version hides the answers."""
from __future__ import annotations

import nbformat
import pytest

import nbhelpers as nb

SOLUTION = nb.FOLDER / "a04_wgan_solution.ipynb"
STUDENT = nb.FOLDER / "a04_wgan.ipynb"
ALPHA = "alpha = torch.rand(real.shape[0], *[1] * (real.ndim - 1))"
GRAD = "(grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)"
PENALTY = "return lam * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()"
WRONG = {
    "per_pixel": (ALPHA, "alpha = torch.rand_like(real)"),
    "no_create_graph": (GRAD, "(grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat)"),
    "one_sided": (PENALTY, "return lam * (torch.relu(grad.flatten(1).norm(dim=1) - 1) ** 2).mean()"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The solution and each wrong answer under nbval, started at once and collected by name."""
    tmp = tmp_path_factory.mktemp("assignment_wgan")
    procs = {"solution": nb.start_nbval(SOLUTION)}
    for name, (old, new) in WRONG.items():
        procs[name] = nb.start_nbval(nb.solution_with(SOLUTION, tmp / name, "t2-code", old, new))
    runs = nb.NbvalRuns(procs)
    yield runs
    runs.close()


def test_nbval_passes_on_the_solution(runs):
    rc, out, err = runs("solution")
    assert rc == 0, out[-4000:] + err[-2000:]


@pytest.mark.parametrize("name,verdict", [
    ("per_pixel", "check_gradient_penalty: FAIL - alpha is drawn per pixel"),
    ("no_create_graph", "check_gradient_penalty: FAIL - the value is right but it cannot be minimised"),
    ("one_sided", "check_gradient_penalty: FAIL - one-sided penalty"),
])
def test_nbval_fails_on_a_wrong_penalty(runs, name, verdict):
    rc, out, _ = runs(name)
    assert rc != 0
    assert verdict in out


def test_student_version_is_generated_and_hides_answers():
    text = STUDENT.read_text(encoding="utf8")
    assert "BEGIN SOLUTION" not in text and "x_hat, create_graph=True)" not in text and "Instructor notes" not in text
    student = nbformat.read(STUDENT, as_version=4)
    checks = [c for c in student.cells if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert len(checks) == 3 and all(c.outputs[0]["text"].endswith(": PASS\n") for c in checks)
    assert "raise NotImplementedError" in text
