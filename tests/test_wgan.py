"""WGAN and WGAN-GP (chapter 4): the checks of gantutor.checks.a04_wgan give the right verdicts on right and
wrong answers, and the claims the chapter makes about the critic hold at a small scale."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gantutor.checks import a04_wgan as checks_wgan
from gantutor import losses, theory


def _gp(D, real, fake, lam=10.0, alpha_shape=None, create_graph=True, one_sided=False, dim=None):
    shape = alpha_shape(real) if alpha_shape else (real.shape[0], *[1] * (real.ndim - 1))
    alpha = torch.rand(shape)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=create_graph)
    norm = g.flatten(1).norm(dim=1) if dim is None else g.norm(dim=dim)
    gap = F.relu(norm - 1) if one_sided else norm - 1
    return lam * (gap ** 2).mean()


def test_checks_pass_on_right_answers(capsys):
    assert checks_wgan.check_w1_sorted(theory.w1_sorted)
    assert checks_wgan.check_gradient_penalty(_gp)
    assert checks_wgan.check_gradient_penalty(lambda D, r, f, lam: lam * losses.gradient_penalty(D, r, f))
    assert checks_wgan.check_critic_loss(lambda D, r, f, lam: D(f).mean() - D(r).mean() + _gp(D, r, f, lam))
    assert capsys.readouterr().out.count(": PASS\n") == 4


@pytest.mark.parametrize("kwargs,message", [
    (dict(alpha_shape=lambda r: r.shape), "alpha is drawn per pixel"),
    (dict(alpha_shape=lambda r: (1,) * r.ndim), "one alpha for the whole batch"),
    (dict(create_graph=False), "cannot be minimised"),
    (dict(one_sided=True), "one-sided penalty"),
    (dict(dim=1), "norm over dim 1 only"),
    (dict(lam=1.0), "lambda is missing"),
])
def test_penalty_check_names_wrong_answers(kwargs, message, capsys):
    lam = kwargs.pop("lam", None)
    fn = (lambda D, r, f, l: _gp(D, r, f, lam, **kwargs)) if lam is not None else \
        (lambda D, r, f, l: _gp(D, r, f, l, **kwargs))
    assert not checks_wgan.check_gradient_penalty(fn)
    out = capsys.readouterr().out
    assert message in out and out.count("\n") == 1


def test_w1_and_critic_checks_name_wrong_answers(capsys):
    assert not checks_wgan.check_w1_sorted(lambda x, y: float(np.mean(np.abs(x - y))))
    assert not checks_wgan.check_w1_sorted(lambda x, y: float(np.sqrt(np.mean((np.sort(x) - np.sort(y)) ** 2))))
    assert not checks_wgan.check_critic_loss(lambda D, r, f, lam: D(r).mean() - D(f).mean() + _gp(D, r, f, lam))
    assert not checks_wgan.check_critic_loss(lambda D, r, f, lam: D(f).mean() - D(r).mean())
    assert not checks_wgan.check_gradient_penalty(lambda D, r, f, lam: 1 / 0)
    out = capsys.readouterr().out
    for phrase in ("sort both first", "that is W2", "sign error", "penalty is missing", "ZeroDivisionError"):
        assert phrase in out, phrase


def test_a_linear_critic_cannot_see_how_alpha_is_drawn():
    """The chapter's remark: for D(x) = w.x the penalty is (|w| - 1)^2 wherever x_hat is."""
    w = torch.tensor([0.3, -2.0, 1.0])
    D = lambda x: x @ w  # noqa: E731
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    want = 10 * (w.norm() - 1) ** 2
    for shape in (lambda r: (r.shape[0], 1), lambda r: r.shape):
        assert torch.allclose(_gp(D, real, fake, alpha_shape=shape), want)


def test_soft_penalty_inflates_the_estimate_by_w1_over_2_lambda():
    """A critic trained with the two-sided penalty estimates about W1 (1 + W1 / (2 lambda)) in 1D."""
    loss = lambda D, r, f, lam: D(f).mean() - D(r).mean() + _gp(D, r, f, lam)  # noqa: E731
    estimate, exact, grad_norm = checks_wgan._train_critic(loss)
    assert estimate == pytest.approx(exact * (1 + exact / 20), rel=0.03)
    assert grad_norm == pytest.approx(1 + exact / 20, abs=0.03)


def test_gradient_penalty_check_rejects_bad_alphas_and_a_fixed_lambda(capsys):
    """A referee's wrong answers that passed: alpha in {0, 1}, alpha in [0, 0.1], alpha about 0.5, and a
    penalty that ignores lam and writes 10."""
    def penalty(alpha_fn, fixed=None):
        def fn(D, real, fake, lam):
            shape = (real.shape[0],) + (1,) * (real.ndim - 1)
            alpha = alpha_fn(real.shape[0]).view(shape)
            x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
            return (fixed or lam) * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
        return fn

    for alpha_fn in (lambda n: torch.randint(0, 2, (n,)).float(), lambda n: 0.1 * torch.rand(n),
                     lambda n: 0.5 + 1e-3 * torch.rand(n)):
        capsys.readouterr()
        assert not checks_wgan.check_gradient_penalty(penalty(alpha_fn))
        out = capsys.readouterr().out
        # alpha in {0, 1} is caught first as reused values ("... alphas repeat another one ... torch.rand(N, ...)")
        assert "uniformly" in out or "alphas repeat another one" in out, out
    assert not checks_wgan.check_gradient_penalty(penalty(torch.rand, fixed=10.0))
    assert "lam = 3.7" in capsys.readouterr().out
    assert checks_wgan.check_gradient_penalty(penalty(torch.rand))
