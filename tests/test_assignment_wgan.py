"""Assignment 4 (WGAN-GP): nbval passes on the solution and fails on wrong gradient penalties (alpha drawn
per pixel, no create_graph, a one-sided penalty); the student version hides the answers; every check of
gantutor.checks.a04_wgan passes right answers written differently from the solution, names the wrong
answers its messages name, and fails plausible wrong answers that no message names."""
from __future__ import annotations

import nbformat
import numpy as np
import pytest
import torch

from gantutor import losses
from gantutor.checks import a04_wgan as checks_wgan

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
    assert len(checks) == 3 and all(not c.outputs and c.execution_count is None for c in checks)  # no PASS under a stub
    assert "raise NotImplementedError" in text


# ---- each check: right answers written differently, named and unnamed wrong answers ----------------

def _penalty(variant="right"):
    def fn(D, real, fake, lam=10.0):
        alpha = torch.rand(real.shape[0], *[1] * (real.ndim - 1))
        if variant == "narrow":      # alpha ~ U[0.1, 0.9]: a 64-draw KS test passed it
            alpha = 0.1 + 0.8 * alpha
        elif variant == "beta22":    # Beta(2, 2), also too close to U[0, 1] for 64 draws
            alpha = torch.distributions.Beta(2.0, 2.0).sample(alpha.shape)
        elif variant == "reseeded":  # the referee's: reseeds the global generator at every call
            torch.manual_seed(0)
            alpha = torch.rand(alpha.shape)
        elif variant == "linspace":  # the referee's: fixed alphas, uniform enough for the KS test
            alpha = torch.linspace(0, 1, len(real)).reshape(alpha.shape)
        if variant == "shuffled":    # the fakes re-paired: x_hat between real[i] and some other fake
            fake = fake[torch.randperm(len(fake))]
        if variant == "half_batch":  # the referee's: a penalty on half of the pairs
            real, fake, alpha = real[: len(real) // 2], fake[: len(fake) // 2], alpha[: len(alpha) // 2]
        x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        if variant == "with_ends":   # the referee's: the penalty also at the real and fake points, one call
            x_all = torch.cat([real, fake, x_hat.detach()]).requires_grad_(True)
            (g,) = torch.autograd.grad(D(x_all).sum(), x_all, create_graph=True)
            return lam * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
        out = D(x_hat)
        (g,) = torch.autograd.grad(out.mean() if variant == "mean" else out, x_hat,
                                   grad_outputs=None if variant == "mean" else torch.ones_like(out),
                                   create_graph=True)
        if variant == "per_channel":
            norm = g.flatten(2).norm(dim=2) if g.ndim > 2 else g.norm(dim=1)
        elif variant == "l1":
            norm = g.flatten(1).abs().sum(dim=1)
        else:
            norm = g.reshape(len(g), -1).pow(2).sum(dim=1).sqrt()
        return lam * (norm - 1).pow(2).mean()
    return fn


def _critic(variant="right"):
    def fn(D, real, fake, lam=10.0):
        gp = (10.0 if variant == "ignores_lam" else lam) * losses.gradient_penalty(D, real, fake)
        if variant == "pooled":   # right: with paired batches of equal size this is the same number
            return 2 * torch.cat([D(fake), -D(real)]).mean() + gp
        if variant == "one_call":  # right: real, fake and interpolates scored in ONE call of the critic
            alpha = torch.rand(real.shape[0], *[1] * (real.ndim - 1))
            x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            d_real, d_fake, d_hat = D(torch.cat([real, fake, x_hat])).split(len(real))
            (g,) = torch.autograd.grad(d_hat.sum(), x_hat, create_graph=True)
            return d_fake.mean() - d_real.mean() + lam * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
        if variant == "maximised":  # unnamed wrong answer: the estimate to maximise, minus the penalty
            return D(real).mean() - D(fake).mean() - gp
        # the referee's wrong answers: right values, a term cut out of the graph
        if variant == "real_detached":
            return D(fake).mean() - D(real).mean().detach() + gp
        if variant == "real_item":
            return D(fake).mean() - D(real).mean().item() + gp
        if variant == "fake_no_grad":
            with torch.no_grad():
                d_fake = D(fake)
            return d_fake.mean() - D(real).mean() + gp
        if variant == "penalty_detached":
            return D(fake).mean() - D(real).mean() + gp.detach()
        if variant == "half_detached":  # unnamed: half of the real term detached
            return D(fake).mean() - 0.5 * D(real).mean() - 0.5 * D(real).mean().detach() + gp
        return (D(fake) - D(real)).mean() + gp
    return fn


def _penalty_own_rng(source, lam_used=None):
    """Right penalties (unless lam_used) whose alphas do not come from torch's global generator."""
    gen = torch.Generator().manual_seed(123)
    rng = np.random.default_rng(7)

    def fn(D, real, fake, lam=10.0):
        shape = (real.shape[0], *[1] * (real.ndim - 1))
        alpha = (torch.from_numpy(rng.random(shape)).float() if source == "numpy"
                 else torch.rand(shape, generator=gen))
        x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        return (lam if lam_used is None else lam_used) * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
    return fn


def _penalty_r5(variant):
    """Referee round 5: answers that use D as an nn.Module (right) and penalties with side effects (wrong)."""
    def fn(D, real, fake, lam=10.0):
        if variant == "module":  # right: D.parameters() must work in every call, also while training
            dev = next(D.parameters()).device
            alpha = torch.rand(real.shape[0], *[1] * (real.ndim - 1), device=dev)
        else:
            alpha = torch.rand(real.shape[0], *[1] * (real.ndim - 1))
        if variant == "in_place":
            x_hat = real.mul_(alpha).add_((1 - alpha) * fake).requires_grad_(True)
        elif variant == "real_twice":
            x_hat = (alpha * real + (1 - alpha) * real).requires_grad_(True)
        elif variant == "repeated":
            half = torch.rand(real.shape[0] // 2, *[1] * (real.ndim - 1))
            alpha = half.repeat(2, *[1] * (real.ndim - 1))
            x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        elif variant == "grad_on_real":
            real.requires_grad_(True)
            x_hat = (alpha * real + (1 - alpha) * fake)
        else:
            x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        if variant == "eval":
            D.eval()
        (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        if variant == "detached":
            g = g.detach()
        return lam * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
    return fn


def _critic_backward(D, real, fake, lam=10.0):
    """Referee round 5, finding 4: backward() inside the loss frees the graph."""
    loss = D(fake).mean() - D(real).mean() + lam * losses.gradient_penalty(D, real, fake)
    loss.backward()
    return loss


def _w1_float32(x, y):
    """Right, in float32 (about 7 significant digits): the referee's numpy version."""
    return float(np.mean(np.abs(np.sort(x.astype(np.float32)) - np.sort(y.astype(np.float32)))))


@pytest.mark.parametrize("check,answer", [
    (checks_wgan.check_w1_sorted, lambda x, y: np.abs(np.sort(x) - np.sort(y)).sum() / len(x)),
    (checks_wgan.check_gradient_penalty, _penalty("right")),
    (checks_wgan.check_gradient_penalty, lambda D, r, f, lam: lam * losses.gradient_penalty(D, r, f)),
    (checks_wgan.check_critic_loss, _critic("right")),
    (checks_wgan.check_critic_loss, _critic("pooled")),
    (checks_wgan.check_w1_sorted, _w1_float32),
    (checks_wgan.check_w1_sorted, lambda x, y: float((torch.Tensor(x).sort().values
                                                      - torch.Tensor(y).sort().values).abs().mean())),
    (checks_wgan.check_gradient_penalty, _penalty_own_rng("numpy")),
    (checks_wgan.check_gradient_penalty, _penalty_own_rng("generator")),
    (checks_wgan.check_critic_loss, lambda D, r, f, lam: D(f).mean() - D(r).mean() + _penalty_own_rng("numpy")(D, r, f, lam)),
    (checks_wgan.check_critic_loss, _critic("one_call")),
    (checks_wgan.check_w1_sorted, lambda x, y: float(np.mean(np.abs(np.sort(y)[::-1] - np.sort(x)[::-1])))),
    # referee round 5, finding 1: D used as an nn.Module (next(D.parameters()).device), Task 2 and Task 3
    (checks_wgan.check_gradient_penalty, _penalty_r5("module")),
    (checks_wgan.check_critic_loss, lambda D, r, f, lam=10.0: D(f).mean() - D(r).mean() + _penalty_r5("module")(D, r, f, lam)),
])
def test_checks_pass_right_answers_written_differently(check, answer, capsys):
    assert check(answer), capsys.readouterr().out


@pytest.mark.parametrize("check,answer,phrase", [
    (checks_wgan.check_w1_sorted, lambda x, y: float(np.mean(np.abs(x - y))), "sort both first"),
    (checks_wgan.check_gradient_penalty, _penalty("mean"), "you differentiated D(x_hat).mean()"),
    (checks_wgan.check_gradient_penalty, _penalty("per_channel"), "one norm per channel"),
    (checks_wgan.check_critic_loss, lambda D, r, f, lam: D(r).mean() - D(f).mean()
     + lam * losses.gradient_penalty(D, r, f), "sign error"),
    (checks_wgan.check_gradient_penalty, _penalty("shuffled"), "keep the pairing"),
    (checks_wgan.check_gradient_penalty, _penalty("narrow"), "not spread uniformly over [0, 1]"),
    (checks_wgan.check_gradient_penalty, _penalty("beta22"), "not spread uniformly over [0, 1]"),
    (checks_wgan.check_critic_loss, _critic("ignores_lam"), "your loss ignores its argument lam"),
    (checks_wgan.check_gradient_penalty, _penalty_own_rng("numpy", lam_used=10.0), "multiply by the argument lam"),
    (checks_wgan.check_critic_loss, _critic("real_detached"), "no gradient reaches D(real)"),
    (checks_wgan.check_critic_loss, _critic("real_item"), "no gradient reaches D(real)"),
    (checks_wgan.check_critic_loss, _critic("fake_no_grad"), "no gradient reaches D(fake)"),
    (checks_wgan.check_critic_loss, _critic("penalty_detached"), "no gradient reaches the penalty"),
    # the referee's (round 3): each passed when the samples were stochastically ordered (W1 = |mean difference|)
    (checks_wgan.check_w1_sorted, lambda x, y: abs(x.mean() - y.mean()), "only a lower bound of W1"),
    (checks_wgan.check_w1_sorted, lambda x, y: float(np.mean(np.sort(y) - np.sort(x))), "only a lower bound of W1"),
    (checks_wgan.check_w1_sorted, lambda x, y: float(abs(np.mean(x - y))), "only a lower bound of W1"),
    (checks_wgan.check_w1_sorted, lambda x, y: float(np.sqrt(np.mean((np.sort(x) - np.sort(y)) ** 2))), "that is W2"),
    (checks_wgan.check_w1_sorted, lambda x, y: float(np.mean((np.sort(x) - np.sort(y)) ** 2)), "you squared"),
    (checks_wgan.check_w1_sorted, lambda x, y: float(np.sum(np.abs(np.sort(x) - np.sort(y)))), "a sum"),
    (checks_wgan.check_gradient_penalty, _penalty("reseeded"), "draw fresh alphas at every call"),
    (checks_wgan.check_gradient_penalty, _penalty("linspace"), "draw fresh alphas at every call"),
    (checks_wgan.check_gradient_penalty, _penalty("half_batch"), "never called on a batch of 2048 interpolates"),
    # referee round 5: findings 2-7
    (checks_wgan.check_gradient_penalty, _penalty_r5("in_place"), "changed the caller's real batch in place"),
    (checks_wgan.check_gradient_penalty, _penalty_r5("grad_on_real"), "switched on real.requires_grad_(True)"),
    (checks_wgan.check_critic_loss, lambda D, r, f, lam=10.0: D(f).mean() - D(r).mean() + _penalty_r5("in_place")(D, r, f, lam),
     "changed the caller's real batch in place"),
    (checks_wgan.check_gradient_penalty, _penalty_r5("real_twice"), "x_hat equals the real batch"),
    (checks_wgan.check_critic_loss, lambda D, r, f, lam=10.0: D(f).mean() - D(r).mean() + lam * losses.gradient_penalty(D, r, r),
     "x_hat equals the real batch"),
    (checks_wgan.check_critic_loss, _critic_backward, "do not call backward() inside the function"),
    (checks_wgan.check_w1_sorted, lambda x, y: None, "returned None"),
    (checks_wgan.check_w1_sorted, lambda x, y: np.abs(np.sort(x) - np.sort(y)), "take the mean over the pairs"),
    (checks_wgan.check_gradient_penalty, _penalty_r5("detached"), "do not .detach() or .item() the gradient"),
    (checks_wgan.check_gradient_penalty, _penalty_r5("eval"), "leave D as you found it"),
    (checks_wgan.check_gradient_penalty, _penalty_r5("repeated"), "alphas repeat another one"),
])
def test_checks_name_each_wrong_answer(check, answer, phrase, capsys):
    assert not check(answer)
    out = capsys.readouterr().out
    assert phrase in out and out.count("\n") == 1, out


@pytest.mark.parametrize("check,answer,expected", [
    (checks_wgan.check_w1_sorted, lambda x, y: float(np.mean(np.abs(np.sort(x) - y))), "expected"),
    (checks_wgan.check_gradient_penalty, _penalty("l1"), "at the interpolates your function used it should be"),
    (checks_wgan.check_critic_loss, _critic("maximised"), "expected E[D(fake)] - E[D(real)] + penalty"),
    (checks_wgan.check_critic_loss, _critic("half_detached"), "keep every term in the graph"),
    (checks_wgan.check_w1_sorted, lambda x, y: float(np.mean(np.abs(np.sort(x) - np.sort(y)))) * (1 + 1e-4),
     "expected"),
    (checks_wgan.check_w1_sorted, lambda x, y: float(np.mean(np.abs(np.sort(x) - np.sort(y)[::-1]))), "expected"),
    (checks_wgan.check_w1_sorted, lambda x, y: float(np.max(np.abs(np.sort(x) - np.sort(y)))), "expected"),
    (checks_wgan.check_gradient_penalty, _penalty("with_ends"), "at the interpolates your function used it should be"),
])
def test_checks_fail_plausible_wrong_answers_no_message_names(check, answer, expected, capsys):
    """Wrong answers a student might write that the checks do not diagnose: they still FAIL."""
    assert not check(answer)
    assert expected in capsys.readouterr().out


def test_w1_samples_separate_every_named_wrong_answer():
    """Referee round 3, finding 1: on stochastically ordered samples W1 = |mean(x) - mean(y)|, and the named
    'difference of the means' could never fire. On the check's samples every named wrong answer differs from
    W1 by far more than the tolerance (rtol 1e-5), and the quantile functions cross."""
    from scipy import stats
    for x, y in checks_wgan._w1_cases():
        w1 = stats.wasserstein_distance(x, y)
        diff = np.sort(y) - np.sort(x)
        assert (diff > 0).any() and (diff < 0).any()
        for other, message in checks_wgan._w1_wrong_answers(x, y):
            assert abs(float(other) - w1) > 1e-3 * w1, message
