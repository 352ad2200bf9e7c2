"""Assignment 1 (the GAN game): the discriminator's and generator's losses, D*, V(D*, G) and one
discriminator step.

Common wrong answers are named (minimax given for non-saturating, a missing mean, overflow at large
logits, swapped real/fake labels, sign errors, a term detached or turned into a number by .item(), a
NaN gradient from torch.where). The losses' gradients with respect to the logits are compared as well
as their values. See :mod:`gantutor.checks.common` for how a check reports.
"""
from __future__ import annotations

import math
from typing import Callable, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .. import losses, theory
from ..models import MLPDiscriminator, MLPGenerator
from .common import STABILITY_HINT, _as_scalar, _call, _close, _Fail, _to_numpy, _verdict, compare_d_step

__all__ = ["check_d_loss", "check_g_minimax", "check_g_nonsaturating", "check_optimal_discriminator",
           "check_value_at_optimum", "check_training_step"]



# ---- losses of logits -----------------------------------------------------------------------------

def _logit_cases(n_args: int) -> List[Tuple[str, Tuple[torch.Tensor, ...]]]:
    """Moderate logits of shape [N] and [N, 1], then (two-argument losses) a real batch of 8 and a
    fake batch of 5, then extreme ones (real -> -120, fake -> +120 and so on, up to +-1000: log(sigmoid(l))
    computed in float64 survives +-120 but is -inf at l = -1000). The unequal batches catch one mean over
    both batches, which equals the sum of the two means only for equal sizes."""
    gen = torch.Generator().manual_seed(1234)
    moderate = tuple(3.0 * torch.randn(8, generator=gen) for _ in range(n_args))
    extreme_real = torch.tensor([-50.0, 50.0, -120.0, 120.0, 0.0, -1000.0, 1000.0])
    extreme_fake = torch.tensor([50.0, -50.0, 120.0, -120.0, 1.0, 1000.0, -1000.0])
    extreme = (extreme_fake,) if n_args == 1 else (extreme_real, extreme_fake)
    cases = [("logits of shape [8]", moderate), ("logits of shape [8, 1]", tuple(t[:, None] for t in moderate))]
    if n_args == 2:
        cases.append(("a real batch of 8 and a fake batch of 5", (moderate[0], 3.0 * torch.randn(5, generator=gen))))
    return cases + [("extreme logits (+-50, +-120, +-1000)", extreme)]




def _check_loss(fn: Callable, n_args: int, reference: Callable, wrong: Sequence[Tuple[Callable, str]]):
    for label, args in _logit_cases(n_args):
        inputs = [a.clone().requires_grad_(True) for a in args]
        value_t = _as_scalar(_call(fn, *inputs), args[0].shape[0])
        value = float(value_t.detach())
        flat = [a.reshape(-1).double() for a in args]
        expected = float(reference(*flat))
        extreme = label.startswith("extreme")
        if not math.isfinite(value):
            if extreme:
                raise _Fail(f"your loss is {value} for {label}: {STABILITY_HINT}")
            raise _Fail(f"your loss is {value} for {label}: are you taking the log of the logits "
                        f"themselves? D returns logits l, and D(x) = sigmoid(l)")
        if _close(value, expected):
            if not value_t.requires_grad:
                raise _Fail("your loss is not differentiable with respect to the logits: do not use "
                            ".item(), .detach(), numpy or Python floats inside the loss")
            _check_gradients(value_t, inputs, flat, reference, label)
            continue
        for wrong_fn, message in wrong:
            if _close(value, float(wrong_fn(*flat))):
                raise _Fail(message)
        if _close(value, args[0].shape[0] * expected):
            raise _Fail("your loss is the sum over the batch; take the mean (every loss here is a batch mean)")
        if extreme:
            raise _Fail(f"right for moderate logits but {value:.4g} instead of {expected:.4g} for {label}: "
                        f"an epsilon inside the log, clamping, or F.binary_cross_entropy on sigmoid(l) distort "
                        f"the loss there; use F.softplus or F.logsigmoid")
        if "[8, 1]" in label:
            raise _Fail(f"right for logits of shape [N] but {value:.4g} instead of {expected:.4g} for shape "
                        f"[N, 1]: flatten the logits first (e.g. logits.reshape(-1))")
        raise _Fail(f"for {label} your loss is {value:.6g}, expected {expected:.6g}")


_NAMES = {1: ("fake",), 2: ("real", "fake")}


def _check_gradients(value_t: torch.Tensor, inputs, flat, reference: Callable, label: str) -> None:
    """The loss's gradient with respect to each batch of logits must be finite and equal the reference's:
    d/dl mean softplus(-l) = -sigmoid(-l) / n and d/dl mean softplus(l) = sigmoid(l) / n. A right value
    can hide a term with no gradient (``.detach()`` or ``.item()`` on it) or a NaN gradient (a "stable"
    softplus written with torch.where, whose discarded branch overflows: 0 * inf = nan)."""
    try:
        grads = torch.autograd.grad(value_t, inputs, allow_unused=True)
    except RuntimeError as e:
        raise _Fail(f"right values, but backpropagating through your loss failed: {e}") from None
    ref_inputs = [t.detach().clone().requires_grad_(True) for t in flat]
    want = torch.autograd.grad(reference(*ref_inputs), ref_inputs)
    for name, got, ref, at in zip(_NAMES[len(inputs)], grads, want, flat):
        if got is not None and not bool(torch.isfinite(got).all()):
            raise _Fail(f"right values, but your loss's gradient is nan or inf for {label}: torch.where (or "
                        f"masking) still backpropagates through the branch it discards, and 0 * inf = nan "
                        f"there; use F.softplus or F.logsigmoid")
        if got is None or not bool(got.abs().sum() > 0):
            raise _Fail(f"right values, but no gradient reaches the {name} logits: .detach() or .item() on "
                        f"a term inside the loss cuts it off (detach G's output in the D step, never D's logits)")
        got = got.detach().double().reshape(-1)
        # at l = 0 exactly, max(l, 0) + log1p(exp(-|l|)) (smooth there) gets a one-sided slope from autograd
        smooth = at != 0
        if got.shape != ref.shape or not torch.allclose(got[smooth], ref[smooth], rtol=1e-4, atol=1e-7):
            raise _Fail(f"right values, but for {label} the gradient with respect to the {name} logits differs "
                        f"from that of the reference loss (it is d/dl of the batch mean, e.g. sigmoid(l) / N "
                        f"for mean softplus(l))")


def _sp(t):
    return F.softplus(t).mean()


_POOLED = ("you took one mean over the real and fake batches together; that weights the two terms by "
           "their batch sizes (right only when they are equal): take the mean of each term separately")


def check_d_loss(fn: Callable) -> bool:
    """``fn(real_logits, fake_logits)`` should be mean(softplus(-l_real)) + mean(softplus(l_fake))."""
    wrong = [
        (lambda r, f: _sp(r) + _sp(-f), "real and fake labels are swapped: real samples are labelled 1 "
         "(-log D(x) = softplus(-l_real)) and fakes 0 (-log(1 - D(G(z))) = softplus(l_fake))"),
        (lambda r, f: -_sp(-r) - _sp(f), "sign error: you returned V(D, G) = E[log D(x)] + "
         "E[log(1 - D(G(z)))], which D maximises; the loss to minimise is its negative"),
        (lambda r, f: (_sp(-r) + _sp(f)) / 2, "your loss is half the expected value: the loss is the SUM of "
         "the real mean and the fake mean (not their average)"),
        (lambda r, f: torch.cat([F.softplus(-r), F.softplus(f)]).mean(), _POOLED),
        (lambda r, f: 2 * torch.cat([F.softplus(-r), F.softplus(f)]).mean(), _POOLED),
        (lambda r, f: F.softplus(-r).sum() + F.softplus(f).sum(), "your loss is the sum over the batch; take "
         "the mean of each term (every loss here is a batch mean)"),
        (lambda r, f: _sp(-r), "your loss has only the real term -log D(x); add the fake term -log(1 - D(G(z)))"),
        (lambda r, f: _sp(f), "your loss has only the fake term -log(1 - D(G(z))); add the real term -log D(x)"),
    ]
    return _verdict("check_d_loss", lambda: _check_loss(fn, 2, lambda r, f: _sp(-r) + _sp(f), wrong))


def check_g_minimax(fn: Callable) -> bool:
    """``fn(fake_logits)`` should be E[log(1 - D(G(z)))] = -mean(softplus(l_fake))."""
    wrong = [
        (lambda f: _sp(-f), "your loss equals the non-saturating loss -log D(G(z)); the minimax loss is "
         "log(1 - D(G(z)))"),
        (lambda f: _sp(f), "sign error: your loss is -log(1 - D(G(z))); the generator MINIMISES "
         "E[log(1 - D(G(z)))] (a negative number)"),
        (lambda f: -_sp(-f), "your loss is log D(G(z)); the minimax generator loss is log(1 - D(G(z)))"),
    ]
    return _verdict("check_g_minimax", lambda: _check_loss(fn, 1, lambda f: -_sp(f), wrong))


def check_g_nonsaturating(fn: Callable) -> bool:
    """``fn(fake_logits)`` should be -E[log D(G(z))] = mean(softplus(-l_fake))."""
    wrong = [
        (lambda f: -_sp(f), "your loss equals the minimax loss log(1 - D(G(z))); the non-saturating loss "
         "is -log D(G(z))"),
        (lambda f: _sp(f), "your loss is -log(1 - D(G(z))), the discriminator's fake term; the "
         "non-saturating loss is -log D(G(z))"),
        (lambda f: -_sp(-f), "sign error: your loss is log D(G(z)); the generator minimises -log D(G(z))"),
    ]
    return _verdict("check_g_nonsaturating", lambda: _check_loss(fn, 1, lambda f: _sp(-f), wrong))


# ---- theory on discrete distributions --------------------------------------------------------------

def _distribution_cases() -> List[Tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(2014)
    a, b = theory.random_distribution(10, rng), theory.random_distribution(10, rng)
    c = np.array([0.5, 0.3, 0.2, 0.0, 0.0])
    d = np.array([0.0, 0.2, 0.3, 0.25, 0.25])
    same = theory.random_distribution(6, rng)
    return [("random p_data and p_g on 10 points", a, b),
            ("p_data and p_g with zeros", c, d),
            ("p_g = p_data", same, same.copy()),
            ("disjoint supports", np.array([0.6, 0.4, 0.0, 0.0]), np.array([0.0, 0.0, 0.7, 0.3]))]




def check_optimal_discriminator(fn: Callable) -> bool:
    """``fn(p_data, p_g)`` (numpy arrays) should return D*(x) = p_data / (p_data + p_g) per point."""
    def body():
        for label, p, q in _distribution_cases():
            d = _to_numpy(_call(fn, p.copy(), q.copy()))
            want = p / (p + q)
            if d.shape != p.shape:
                raise _Fail(f"your D* has shape {d.shape}; it should have one value per point, shape {p.shape}")
            if not np.all(np.isfinite(d)):
                raise _Fail(f"your D* has nan or inf for {label}: D* = p_data / (p_data + p_g) is finite "
                            f"wherever p_data + p_g > 0")
            if np.allclose(d, want, rtol=1e-5, atol=1e-7):
                continue
            if np.allclose(d, q / (p + q), rtol=1e-5, atol=1e-7):
                raise _Fail("you computed p_g / (p_data + p_g) = 1 - D*; D is the probability that x is REAL: "
                            "D*(x) = p_data / (p_data + p_g)")
            if np.all(q > 0) and np.allclose(d, p / q, rtol=1e-5):
                raise _Fail("you computed the density ratio p_data / p_g; D*(x) = p_data / (p_data + p_g)")
            if np.allclose(d, 0.5):
                raise _Fail("you returned 1/2 everywhere, which is D* only when p_g = p_data")
            worst = int(np.argmax(np.abs(d - want)))
            raise _Fail(f"for {label}, at point {worst} your D* is {d[worst]:.6g}, expected {want[worst]:.6g}")
    return _verdict("check_optimal_discriminator", body)


def check_value_at_optimum(fn: Callable) -> bool:
    """``fn(p_data, p_g)`` should return V(D*, G) = sum p_data log D* + sum p_g log(1 - D*), which
    Theorem 1 says equals 2 JS(p_data || p_g) - log 4 (compared with :mod:`gantutor.theory`)."""
    def body():
        for label, p, q in _distribution_cases():
            out = _to_numpy(_call(fn, p.copy(), q.copy()))
            if out.size != 1:
                raise _Fail(f"your function returned {out.size} numbers; V(D*, G) is one number (a sum over points)")
            value, js = float(out.reshape(())), theory.js(p, q)
            expected = 2 * js - theory.LOG4
            if math.isnan(value) or math.isinf(value):
                raise _Fail(f"your value is {value} for {label}: where p_data(x) = 0 or p_g(x) = 0, "
                            f"0 * log 0 counts as 0, so leave those points out of the sum")
            if _close(value, expected, rtol=1e-6, atol=1e-7):
                continue
            dstar = p / (p + q)
            with np.errstate(divide="ignore", invalid="ignore"):
                unweighted = np.mean(np.log(dstar)) + np.mean(np.log1p(-dstar))
            for other, message in [
                (-expected, "sign error: V(D*, G) = E_p_data[log D*] + E_p_g[log(1 - D*)] is <= 0"),
                (2 * js, "you returned 2 JS(p_data || p_g); V(D*, G) = 2 JS - log 4"),
                (js - theory.LOG4, "you returned JS - log 4; V(D*, G) = 2 JS - log 4 (JS has a factor 1/2)"),
                (unweighted, "you averaged over points; an expectation weights each point by its "
                             "probability: E_p_data[log D*] = sum_x p_data(x) log D*(x)"),
            ]:
                if _close(value, other, rtol=1e-6, atol=1e-7):
                    raise _Fail(message)
            raise _Fail(f"for {label} your value is {value:.6g}, expected 2 JS - log 4 = {expected:.6g}")
    return _verdict("check_value_at_optimum", body)


# ---- one discriminator step --------------------------------------------------------------------------

def _step_setup():
    """Tiny seeded G and D on 2D data, an SGD optimiser for D, and stale gradients from 'a previous step'.
    G has batch norm, like the chapter's ring generator: fakes made in eval mode (running statistics)
    differ from the training loop's (batch statistics), so such a step is caught."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        G = MLPGenerator(4, (2,), hidden=(16,), value_range=None, batchnorm=True)
        D = MLPDiscriminator((2,), hidden=(16,))
        x_real, z = torch.randn(32, 2) + 2.0, torch.randn(24, 4)   # unequal batches: see _logit_cases
        for p in list(D.parameters()) + list(G.parameters()):
            p.grad = 0.5 * torch.randn_like(p)
    return D, G, torch.optim.SGD(D.parameters(), lr=0.1), x_real, z


def _replay(zero_grad: bool = True, swap: bool = False, sign: float = 1.0, pooled: float = 0.0,
            g_eval: bool = False):
    """The right step, or a wrong one: no zero_grad, swapped labels, ascent (sign -1), ``pooled`` times
    one BCE over both batches together (``pooled`` = 1 or 2), or fakes made with G in eval mode."""
    D, G, opt, x_real, z = _step_setup()
    G.train(not g_eval)
    with torch.no_grad():
        fake = G(z)
    G.train()
    real_logits, fake_logits = D(x_real), D(fake)
    loss = losses.d_bce(fake_logits, real_logits) if swap else losses.d_bce(real_logits, fake_logits)
    if pooled:
        logits = torch.cat([real_logits.reshape(-1), fake_logits.reshape(-1)])
        targets = torch.cat([torch.ones(len(x_real)), torch.zeros(len(z))])
        loss = pooled * F.binary_cross_entropy_with_logits(logits, targets)
    if zero_grad:
        opt.zero_grad()
    (sign * loss).backward()
    opt.step()
    return [p.detach().clone() for p in D.parameters()], float(loss.detach())






def check_training_step(fn: Callable) -> bool:
    """``fn(D, G, opt_d, x_real, z)`` should do one discriminator update with ``losses.d_bce`` (fakes made
    without gradients into G) and return the loss. Checked by replaying the step on identical networks."""
    def body():
        compare_d_step(fn, _step_setup, _replay, [
            (dict(zero_grad=False), "gradients from an earlier step were not cleared: call "
             "opt_d.zero_grad() before loss.backward()"),
            (dict(swap=True), "real and fake labels are swapped: use losses.d_bce(D(x_real), D(fake))"),
            (dict(sign=-1.0), "D climbed the loss instead of descending it (sign error): minimise "
             "losses.d_bce(real_logits, fake_logits)"),
            (dict(pooled=1.0), _POOLED.replace("one mean", "one BCE")),
            (dict(pooled=2.0), _POOLED.replace("one mean", "one BCE")),
            (dict(g_eval=True), "your fakes were made with G in eval mode (G.eval() before G(z)): its batch "
             "norm then uses running statistics, not the batch's; make the fakes with G in training mode, "
             "as the training loop does (torch.no_grad() alone keeps gradients out of G)"),
        ], "D's weights after your step differ from one optimiser step on losses.d_bce(D(x_real), D(G(z)))")
    return _verdict("check_training_step", body)
