"""Assignments: the student notebooks are up to date, nbval passes on the solutions and fails on blank
or wrong answers, instructors' validation cannot be fooled by stored outputs, and each check function
in gantutor.checks gives the right verdict (and the right diagnosis) on right and wrong answers."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gantutor import losses, theory
from gantutor.checks import a01_gan_losses as checks

import nbhelpers as nb

ROOT, FOLDER = nb.ROOT, nb.FOLDER
SOLUTION = FOLDER / "a01_gan_losses_solution.ipynb"
STUDENT = FOLDER / "a01_gan_losses.ipynb"
MAKE_STUDENT = nb.MAKE_STUDENT


def _make_student_module():
    spec = importlib.util.spec_from_file_location("make_student", MAKE_STUDENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _solution_with(folder: Path, cell_id: str, old: str, new: str) -> Path:
    return nb.solution_with(SOLUTION, folder, cell_id, old, new)


def _blank_but_run(folder: Path) -> Path:
    """The blank student notebook as a student would save it: its check cells store their FAIL lines."""
    nb = nbformat.read(STUDENT, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.startswith("# NBVAL_CHECK_OUTPUT"):
            name = cell.source.split("check_")[1].split("(")[0]
            cell.execution_count = i
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text=f"check_{name}: FAIL - not implemented yet (NotImplementedError)\n")]
    folder.mkdir()
    path = folder / "blank_but_run.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every notebook run of this module, started at once (each spends most of its time starting a
    kernel and importing torch, so they overlap well), collected by name."""
    tmp = tmp_path_factory.mktemp("assignments")
    minimax = _solution_with(tmp / "minimax", "t3-code", "return F.softplus(-fake_logits).mean()",
                             "return -F.softplus(fake_logits).mean()")
    unstable = _solution_with(tmp / "unstable", "t1-code",
                              "return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()",
                              "return -(torch.log(torch.sigmoid(real_logits)).mean() "
                              "+ torch.log(1 - torch.sigmoid(fake_logits)).mean())")
    procs = {"solution": nb.start_nbval(SOLUTION), "blank": nb.start([MAKE_STUDENT, "--validate", STUDENT], cwd=ROOT),
             "minimax": nb.start_nbval(minimax), "unstable": nb.start_nbval(unstable),
             "validate_blank": nb.start([MAKE_STUDENT, "--validate", _blank_but_run(tmp / "blank")], cwd=ROOT)}
    runs = nb.NbvalRuns(procs)
    yield runs
    runs.close()


# ---- notebooks ---------------------------------------------------------------------------------------

def test_student_notebooks_are_up_to_date():
    proc = nb.run([MAKE_STUDENT, "--check"], cwd=ROOT)
    assert proc.returncode == 0, f"run `make student`:\n{proc.stdout}{proc.stderr}"


def test_student_version_hides_solutions_and_stores_no_verdicts():
    student = nbformat.read(STUDENT, as_version=4)
    text = STUDENT.read_text(encoding="utf8")
    for secret in ("BEGIN SOLUTION", "softplus(-real_logits)", "Instructor notes", "saturates"):
        assert secret not in text, secret
    check_cells = [c for c in student.cells if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert len(check_cells) == 6
    assert all(not c.outputs and c.execution_count is None for c in check_cells)  # no PASS under a stub
    others = [c for c in student.cells if c.cell_type == "code" and c not in check_cells]
    assert all(not c.outputs for c in others)
    assert sum("raise NotImplementedError" in c.source for c in others) == 6
    assert "*Your answer here.*" in text


def test_nbval_passes_on_the_solution(runs):
    rc, out, err = runs("solution")
    assert rc == 0, out[-4000:] + err[-2000:]


def test_validate_fails_on_the_blank_student_notebook(runs):
    """The student version stores no verdicts; --validate puts the expected PASS lines back and fails."""
    rc, out, _ = runs("blank")
    assert rc != 0
    assert "6 failed, 8 passed" in out, "a cell raised instead of failing its check"
    assert "check_d_loss: FAIL - not implemented yet (NotImplementedError)" in out


def test_nbval_fails_when_minimax_is_given_for_nonsaturating(runs):
    rc, out, _ = runs("minimax")
    assert rc != 0
    assert "1 failed" in out
    assert "check_g_nonsaturating: FAIL - your loss equals the minimax loss" in out


def test_nbval_fails_on_an_unstable_discriminator_loss(runs):
    rc, out, _ = runs("unstable")
    assert rc != 0
    assert "1 failed" in out
    assert "check_d_loss: FAIL - your loss is inf for extreme logits" in out


def test_validate_ignores_the_students_stored_verdicts(runs):
    """A submitted notebook stores the student's own FAIL lines; plain nbval would compare FAIL with FAIL."""
    rc, out, err = runs("validate_blank")
    assert rc != 0, out + err
    assert "6 failed" in out


def test_validate_rejects_edited_check_cells():
    make_student = _make_student_module()
    nb = nbformat.read(SOLUTION, as_version=4)
    assert make_student.prepare_for_validation(nb) is None
    cell = next(c for c in nb.cells if c.get("id") == "t3-check")
    cell.source = '# NBVAL_CHECK_OUTPUT\nprint("check_g_nonsaturating: PASS")'
    assert "edited" in make_student.prepare_for_validation(nb)
    nb.cells.remove(cell)
    assert "missing" in make_student.prepare_for_validation(nb)


def test_stub_keeps_signature_and_refuses_top_level_regions():
    make_student = _make_student_module()
    src = "def f(x):\n    \"\"\"doc\"\"\"\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n"
    assert make_student.strip_code(src, "t") == ('def f(x):\n    """doc"""\n    # TODO: your code here\n'
                                                 '    raise NotImplementedError("f() is not implemented yet")\n')
    with pytest.raises(ValueError, match="inside a function"):
        make_student.strip_code("# BEGIN SOLUTION\nx = 1\n# END SOLUTION", "t")
    with pytest.raises(ValueError, match="no"):
        make_student.strip_code("def f():\n    # BEGIN SOLUTION\n    pass", "t")


# ---- check functions -----------------------------------------------------------------------------------

def _verdict(capsys, check, fn):
    ok = check(fn)
    out = capsys.readouterr()
    assert out.err == ""
    lines = out.out.splitlines()
    assert len(lines) == 1, out.out
    assert lines[0].startswith(check.__name__ + ": ")
    assert ok == lines[0].endswith(": PASS")
    return ok, lines[0]


def _todo(*args):
    raise NotImplementedError("todo")


def _step(D, G, opt, x, z, *, zero=True, swap=False, detach=True):
    fake = G(z).detach() if detach else G(z)
    real_l, fake_l = D(x), D(fake)
    loss = losses.d_bce(fake_l, real_l) if swap else losses.d_bce(real_l, fake_l)
    if zero:
        opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _value(p, q):
    d = p / (p + q)
    return float(np.sum(p * np.log(d)) + np.sum(q * np.log(1 - d)))  # nan where p or q is 0


def _pooled(r, f, times=1.0):
    return times * torch.cat([F.softplus(-r.reshape(-1)), F.softplus(f.reshape(-1))]).mean()


def _step_pooled(D, G, opt, x, z, times=2.0):
    with torch.no_grad():
        fake = G(z)
    logits = torch.cat([D(x).reshape(-1), D(fake).reshape(-1)])
    loss = times * F.binary_cross_entropy_with_logits(logits, torch.cat([torch.ones(len(x)), torch.zeros(len(z))]))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _step_smoothed(D, G, opt, x, z):
    """Label smoothing (real target 0.9): a plausible wrong answer no message names."""
    with torch.no_grad():
        fake = G(z)
    real_l = D(x)
    loss = F.binary_cross_entropy_with_logits(real_l, torch.full_like(real_l, 0.9)) + F.softplus(D(fake)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _step_ascend(D, G, opt, x, z):
    loss = losses.d_bce(D(x), D(G(z).detach()))
    opt.zero_grad()
    (-loss).backward()
    opt.step()
    return loss


def _step_g_zero_grad(D, G, opt, x, z):
    """Fakes with gradients into G, whose traces are then wiped by G.zero_grad() (a referee's wrong answer)."""
    loss = losses.d_bce(D(x), D(G(z)))
    opt.zero_grad()
    loss.backward()
    G.zero_grad()
    opt.step()
    return loss


def _step_g_changed(D, G, opt, x, z):
    loss = _step(D, G, opt, x, z)
    with torch.no_grad():
        next(G.parameters()).add_(1.0)
    return loss


def _step_returns(value):
    def step(D, G, opt, x, z):
        _step(D, G, opt, x, z)
        return value
    return step


def _step_pre_update_loss(D, G, opt, x, z):
    loss = _step(D, G, opt, x, z)
    return losses.d_bce(D(x), D(G(z).detach()))  # the loss AFTER the update: a different number


def _step_freeze_g(D, G, opt, x, z, *, restore=False):
    """G.requires_grad_(False) to keep gradients out of G (a referee's answer), undone only if ``restore``."""
    G.requires_grad_(False)
    loss = _step(D, G, opt, x, z, detach=False)
    if restore:
        G.requires_grad_(True)
    return loss


def _step_mode(net, mode):
    """A right step that leaves G or D in eval mode, or D frozen, afterwards."""
    def step(D, G, opt, x, z):
        loss = _step(D, G, opt, x, z)
        target = {"G": G, "D": D}[net]
        if mode == "eval":
            target.eval()
        else:
            target.requires_grad_(False)
        return loss
    return step


def _step_g_eval_fakes(D, G, opt, x, z):
    """Fakes made with G in eval mode, G then put back in training mode (referee ch1, finding 6): with the
    check's batch-norm G these fakes use running statistics, not the batch's as the training loop does."""
    G.eval()
    with torch.no_grad():
        fake = G(z)
    G.train()
    loss = losses.d_bce(D(x), D(fake))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _step_one_d_call(D, G, opt, x, z):
    """Right, written differently: one D call on the real and fake batches together, then split."""
    with torch.no_grad():
        fake = G(z)
    logits = D(torch.cat([x, fake]))
    loss = losses.d_bce(logits[:len(x)], logits[len(x):])
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _step_backward_inputs(D, G, opt, x, z):
    """Right, written differently: no no_grad, but backward(inputs=D's parameters) and p.grad = None."""
    loss = losses.d_bce(D(x), D(G(z)))
    for p in D.parameters():
        p.grad = None
    loss.backward(inputs=list(D.parameters()))
    opt.step()
    return loss.item()


def _value_by_js(p, q):
    """V(D*, G) by the JS route, (KL(p||m) + KL(q||m)) - log 4 with xlogy (referee ch1, finding 5): the
    route Task 5 asks not to take, but the right number; a value check cannot see the route, and the
    task text says so (the instructor reads the code)."""
    from scipy.special import xlogy
    m = (p + q) / 2
    return float(np.sum(xlogy(p, p) - xlogy(p, m)) + np.sum(xlogy(q, q) - xlogy(q, m)) - np.log(4))


def _softplus_where(t):
    """softplus written "stably" with torch.where: right values, but the discarded branch's gradient is
    nan at |t| = 1000 (exp overflows; 0 * inf = nan), a referee's wrong answer."""
    return torch.where(t > 0, t + torch.log1p(torch.exp(-t)), torch.log1p(torch.exp(t)))


def _softplus_max_abs(t):
    """max(t, 0) + log1p(exp(-|t|)): a right softplus, whose autograd slope at t = 0 is one-sided."""
    return torch.clamp(t, min=0) + torch.log1p(torch.exp(-t.abs()))


def _half_gradient(loss):
    """The right value with half its gradient (a straight-through trick): unnamed wrong gradient."""
    return loss.detach() + 0.5 * (loss - loss.detach())


def _unweighted(p, q):
    d = p / (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.mean(np.log(d)) + np.mean(np.log1p(-d)))


GENERIC = "expected"  # the generic verdict "... your loss is X, expected Y" of an unnamed wrong answer

# Every message each check can print is named by at least one wrong answer below; the ones marked
# "unnamed" are plausible wrong answers that no message names and that must still FAIL.
CASES = [
    (checks.check_d_loss, losses.d_bce, None),
    (checks.check_d_loss, lambda r, f: F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
     + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)), None),
    (checks.check_d_loss, lambda r, f: losses.d_bce(f, r), "labels are swapped"),
    (checks.check_d_loss, lambda r, f: -losses.d_bce(r, f), "sign error"),
    (checks.check_d_loss, lambda r, f: losses.d_bce(r, f) / 2, "half the expected value"),
    (checks.check_d_loss, lambda r, f: F.softplus(-r.reshape(-1)).mean(), "only the real term"),
    (checks.check_d_loss, lambda r, f: F.softplus(f.reshape(-1)).mean(), "only the fake term"),
    (checks.check_d_loss, lambda r, f: _pooled(r, f, 2.0), "one mean over the real and fake batches together"),
    (checks.check_d_loss, lambda r, f: F.softplus(-r) + F.softplus(f), "take the mean over the batch"),
    (checks.check_d_loss, lambda r, f: F.softplus(-r).sum() + F.softplus(f).sum(), "sum over the batch"),
    (checks.check_d_loss, lambda r, f: -torch.log(torch.sigmoid(r)).mean()
     - torch.log(1 - torch.sigmoid(f)).mean(), "inf for extreme logits"),
    (checks.check_d_loss, lambda r, f: -torch.log(torch.sigmoid(r) + 1e-8).mean()
     - torch.log(1 - torch.sigmoid(f) + 1e-8).mean(), "right for moderate logits"),
    # log(sigmoid(l)) in float64 survives +-120 but not l = -1000 (a referee's answer)
    (checks.check_d_loss, lambda r, f: -torch.log(torch.sigmoid(r.double())).mean()
     - torch.log(torch.sigmoid(-f.double())).mean(), "inf for extreme logits"),
    (checks.check_d_loss, lambda r, f: -torch.log(r).mean() - torch.log(1 - f).mean(), "log of the logits"),
    (checks.check_d_loss, lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean() if r.dim() == 1
     else F.softplus(-r).mean() + F.softplus(f.T).mean() * 1.5, "flatten the logits first"),
    (checks.check_d_loss, lambda r, f: F.softplus(-r.reshape(-1, 1) + 0 * f.reshape(1, -1)), "not a scalar"),
    (checks.check_d_loss, lambda r, f: float(losses.d_bce(r, f)), "returned a float"),
    (checks.check_d_loss, lambda r, f: torch.tensor(float(losses.d_bce(r, f))), "not differentiable"),
    (checks.check_d_loss, _todo, "not implemented yet (NotImplementedError)"),
    (checks.check_d_loss, lambda r, f: r.no_such_method(), "raised AttributeError"),
    # unnamed: one-sided label smoothing (real target 0.9)
    (checks.check_d_loss, lambda r, f: F.binary_cross_entropy_with_logits(r, torch.full_like(r, 0.9))
     + F.softplus(f).mean(), GENERIC),
    # right values, but a term without gradient or with a nan gradient (a referee's wrong answers)
    (checks.check_d_loss, lambda r, f: F.softplus(-r).mean() + F.softplus(f.detach()).mean(),
     "no gradient reaches the fake logits"),
    (checks.check_d_loss, lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean().item(),
     "no gradient reaches the fake logits"),
    (checks.check_d_loss, lambda r, f: F.softplus(-r.detach()).mean() + F.softplus(f).mean(),
     "no gradient reaches the real logits"),
    (checks.check_d_loss, lambda r, f: _softplus_where(-r).mean() + _softplus_where(f).mean(),
     "gradient is nan or inf for extreme logits"),
    (checks.check_d_loss, lambda r, f: _half_gradient(losses.d_bce(r, f)),
     "the gradient with respect to the real logits differs"),
    # right answers written differently
    (checks.check_d_loss, lambda r, f: -F.logsigmoid(r).mean() - F.logsigmoid(-f).mean(), None),
    (checks.check_d_loss, lambda r, f: _softplus_max_abs(-r).mean() + _softplus_max_abs(f).mean(), None),
    (checks.check_d_loss, lambda r, f: torch.nn.BCEWithLogitsLoss()(r.reshape(-1), torch.ones(r.numel()))
     + torch.nn.BCEWithLogitsLoss()(f.flatten(), torch.zeros(f.numel())), None),
    (checks.check_g_minimax, losses.g_minimax, None),
    (checks.check_g_minimax, lambda f: F.logsigmoid(-f.double()).mean(), None),
    (checks.check_g_minimax, lambda f: -_softplus_max_abs(f).mean(), None),
    (checks.check_g_minimax, lambda f: -_softplus_where(f).mean(), "gradient is nan or inf for extreme logits"),
    (checks.check_g_minimax, lambda f: -F.softplus(f.detach()).mean() + 0 * f.sum(),
     "no gradient reaches the fake logits"),
    (checks.check_g_minimax, losses.g_nonsaturating, "equals the non-saturating loss"),
    (checks.check_g_minimax, lambda f: F.softplus(f).mean(), "sign error"),
    (checks.check_g_minimax, lambda f: F.logsigmoid(f).mean(), "your loss is log D(G(z))"),
    (checks.check_g_minimax, lambda f: torch.log(1 - torch.sigmoid(f)).mean(), "-inf for extreme logits"),
    (checks.check_g_minimax, lambda f: torch.log(torch.sigmoid(-f.double())).mean(), "-inf for extreme logits"),
    # unnamed: 1 - D(G(z)) confused with the logit 1 - l
    (checks.check_g_minimax, lambda f: F.logsigmoid(1 - f).mean(), GENERIC),
    (checks.check_g_nonsaturating, losses.g_nonsaturating, None),
    (checks.check_g_nonsaturating, lambda f: -F.logsigmoid(f.reshape(-1)).mean(), None),
    (checks.check_g_nonsaturating, lambda f: _softplus_max_abs(-f).mean(), None),
    (checks.check_g_nonsaturating, lambda f: _softplus_where(-f).mean(), "gradient is nan or inf for extreme logits"),
    (checks.check_g_nonsaturating, lambda f: _half_gradient(losses.g_nonsaturating(f)),
     "the gradient with respect to the fake logits differs"),
    (checks.check_g_nonsaturating, losses.g_minimax, "your loss equals the minimax loss log(1 - D(G(z))); "
     "the non-saturating loss is -log D(G(z))"),
    (checks.check_g_nonsaturating, lambda f: F.softplus(f).mean(), "the discriminator's fake term"),
    (checks.check_g_nonsaturating, lambda f: -losses.g_nonsaturating(f), "sign error"),
    (checks.check_g_nonsaturating, lambda f: -torch.log(torch.sigmoid(f)).mean(), "inf for extreme logits"),
    (checks.check_g_nonsaturating, lambda f: -torch.log(torch.sigmoid(f.double())).mean(), "inf for extreme logits"),
    # unnamed: "make D's output large", minus the mean logit
    (checks.check_g_nonsaturating, lambda f: -f.mean(), GENERIC),
    (checks.check_optimal_discriminator, theory.optimal_discriminator, None),
    (checks.check_optimal_discriminator, lambda p, q: torch.tensor(p) / torch.tensor(p + q), None),
    (checks.check_optimal_discriminator, lambda p, q: q / (p + q), "1 - D*"),
    (checks.check_optimal_discriminator, lambda p, q: p / q, "density ratio"),
    (checks.check_optimal_discriminator, lambda p, q: np.full_like(p, 0.5), "1/2 everywhere"),
    (checks.check_optimal_discriminator, lambda p, q: (p / (p + q))[:, None], "has shape"),
    (checks.check_optimal_discriminator, lambda p, q: (p / q) / (1 + p / q), "nan or inf"),
    # unnamed: the mixture m = (p + q) / 2 in place of D*
    (checks.check_optimal_discriminator, lambda p, q: (p + q) / 2, "your D* is"),
    (checks.check_value_at_optimum, theory.value_at_optimum, None),
    (checks.check_value_at_optimum, _value, "0 * log 0 counts as 0"),
    (checks.check_value_at_optimum, lambda p, q: 2 * theory.js(p, q), "2 JS"),
    (checks.check_value_at_optimum, lambda p, q: theory.js(p, q) - theory.LOG4, "JS - log 4"),
    (checks.check_value_at_optimum, lambda p, q: -theory.value_at_optimum(p, q), "sign error"),
    (checks.check_value_at_optimum, _unweighted, "averaged over points"),
    (checks.check_value_at_optimum, lambda p, q: np.array([1.0, 2.0]), "returned 2 numbers"),
    # unnamed: the wrong constant, 2 JS - log 2
    (checks.check_value_at_optimum, lambda p, q: 2 * theory.js(p, q) - np.log(2), "expected 2 JS - log 4"),
    (checks.check_training_step, _step, None),
    (checks.check_training_step, lambda *a: _step(*a, zero=False), "zero_grad"),
    (checks.check_training_step, lambda *a: _step(*a, swap=True), "swapped"),
    (checks.check_training_step, _step_ascend, "climbed the loss"),
    (checks.check_training_step, lambda *a: _step_pooled(*a, times=2.0), "one BCE over the real and fake batches"),
    (checks.check_training_step, lambda *a: _step_pooled(*a, times=1.0), "one BCE over the real and fake batches"),
    (checks.check_training_step, lambda *a: _step(*a, detach=False), "gradients flowed into G"),
    (checks.check_training_step, _step_g_changed, "G's weights changed"),
    (checks.check_training_step, _step_freeze_g, "G.requires_grad_(False) never undone"),
    (checks.check_training_step, lambda *a: _step_freeze_g(*a, restore=True), None),
    (checks.check_training_step, _step_mode("G", "eval"), "left G (or one of its layers) in eval mode"),
    (checks.check_training_step, _step_mode("D", "eval"), "left D (or one of its layers) in eval mode"),
    (checks.check_training_step, _step_mode("D", "freeze"), "D.requires_grad_(False) never undone"),
    (checks.check_training_step, _step_g_zero_grad, "G.zero_grad() cleared"),
    (checks.check_training_step, lambda D, G, opt, x, z: None, "did not change"),
    (checks.check_training_step, lambda D, G, opt, x, z: (_step(D, G, opt, x, z), None)[1], "return the loss"),
    (checks.check_training_step, _step_returns([1.0, 2.0]), "return the loss as a number"),
    (checks.check_training_step, _step_pre_update_loss, "but you returned"),
    # unnamed: one-sided label smoothing
    (checks.check_training_step, _step_smoothed, "differ from one optimiser step"),
    # referee ch1, finding 6: eval-mode fakes, G restored afterwards; and right answers written differently
    (checks.check_training_step, _step_g_eval_fakes, "fakes were made with G in eval mode"),
    (checks.check_training_step, _step_one_d_call, None),
    (checks.check_training_step, _step_backward_inputs, None),
    # referee ch1, finding 5: the right number by the JS route passes (values only; see Task 5's text)
    (checks.check_value_at_optimum, _value_by_js, None),
]


@pytest.mark.parametrize("check, fn, diagnosis", CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_check_functions(capsys, check, fn, diagnosis):
    ok, line = _verdict(capsys, check, fn)
    if diagnosis is None:
        assert ok, line
        assert line == f"{check.__name__}: PASS"
    else:
        assert not ok
        assert diagnosis in line, line


def test_checks_are_silent_and_deterministic(capsys):
    def noisy(fake_logits):
        print("debugging output")
        return losses.g_minimax(fake_logits)

    first = _verdict(capsys, checks.check_g_nonsaturating, noisy)
    assert first == _verdict(capsys, checks.check_g_nonsaturating, noisy)
    assert "debugging" not in first[1]
