"""Checking functions for assignment 3 (LSGAN, Mao et al., 2017), in the verdict style of
:mod:`gantutor.checks`: each check runs the student's function on fixed, seeded inputs, prints exactly
ONE line and returns True or False:

    check_d_least_squares: PASS
    check_d_least_squares: FAIL - your loss is the binary cross-entropy of the logits; LSGAN ...

Common wrong answers are named (BCE given where least squares is asked, a missing factor 1/2, real and
fake targets swapped, a sum instead of a mean, one mean over both batches, the eq. (9) coding used in the chi-square identity). A
check never raises on a wrong answer.
"""
from __future__ import annotations

from typing import Callable, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .. import theory
from .common import _Fail, _as_scalar, _call, _close, _to_numpy, _verdict

__all__ = ["check_d_least_squares", "check_g_least_squares", "check_lsgan_optimal_discriminator",
           "check_lsgan_generator_value", "check_chi2_identity"]

# Students' numbers may be float32 (torch's default): compare them with a relative tolerance of 1e-5 (float32
# carries ~7 digits; sums of a few dozen terms lose one or two). The coding itself is tested with the
# float64 reference functions and a strict tolerance.
_RTOL = 1e-5
CODINGS = [(-1.0, 1.0, 0.0), (0.0, 1.0, 1.0), (0.5, 2.0, -0.3)]  # eq. (8), eq. (9), an arbitrary one


def _output_cases(n_args: int) -> List[Tuple[str, Tuple[torch.Tensor, ...]]]:
    """Outputs of shape [8] and [8, 1], then (discriminator loss) a real batch of 8 and a fake batch of 5:
    one mean over both batches equals the average of the two means only for equal batch sizes."""
    gen = torch.Generator().manual_seed(2017)
    moderate = tuple(2.0 * torch.randn(8, generator=gen) for _ in range(n_args))
    cases = [("outputs of shape [8]", moderate), ("outputs of shape [8, 1]", tuple(t[:, None] for t in moderate))]
    if n_args == 2:
        cases.append(("a real batch of 8 and a fake batch of 5", (moderate[0], 2.0 * torch.randn(5, generator=gen))))
    return cases


def _check_ls(fn: Callable, n_args: int, reference: Callable, wrong: Callable):
    """``reference(*flat_outputs, *coding)`` is the expected value; ``wrong(...)`` lists (value, message)."""
    for label, args in _output_cases(n_args):
        for coding in CODINGS:
            targets = coding[:2] if n_args == 2 else coding[2:]
            inputs = [a.clone().requires_grad_(True) for a in args]
            value_t = _as_scalar(_call(fn, *inputs, *targets), args[0].shape[0])
            value = float(value_t.detach())
            flat = [a.reshape(-1).double() for a in args]
            expected = float(reference(*flat, *targets))
            if _close(value, expected):
                _check_gradient(value_t, inputs, args, targets)
                continue
            for other, message in wrong(*flat, *targets):
                if _close(value, float(other)):
                    raise _Fail(message)
            if _close(value, args[0].shape[0] * expected):
                raise _Fail("your loss is the sum over the batch; take the mean (an expectation is a batch mean)")
            if "[8, 1]" in label:
                raise _Fail(f"right for outputs of shape [N] but {value:.4g} instead of {expected:.4g} for shape "
                            f"[N, 1]: flatten D's outputs first (e.g. out.reshape(-1))")
            raise _Fail(f"for {label} and targets {targets} your loss is {value:.8g}, expected {expected:.8g}")


_NOT_DIFF = ("your loss is not differentiable with respect to D's outputs: do not use .item(), .detach(), "
             "numpy or Python floats inside the loss (a new torch.tensor(...) is cut off from them too)")


def _check_gradient(value_t: torch.Tensor, inputs, args, targets) -> None:
    """The right value is not enough: the gradient with respect to each batch of D's outputs must be that of
    the least-squares loss, (out - target) / N per sample (1/2 * 2 (out - target) / N). A loss computed in
    numpy and wrapped in torch.tensor(..., requires_grad=True) has the value but no path to the outputs."""
    if not value_t.requires_grad:
        raise _Fail(_NOT_DIFF)
    try:
        grads = torch.autograd.grad(value_t, inputs, allow_unused=True)
    except RuntimeError:
        raise _Fail(_NOT_DIFF) from None
    # targets: (a, b) for D (real batch -> b, fake batch -> a), (c,) for G (fake batch -> c)
    wanted = [args[0].reshape(-1).double() - targets[1], args[1].reshape(-1).double() - targets[0]] \
        if len(args) == 2 else [args[0].reshape(-1).double() - targets[0]]
    for grad, want, batch in zip(grads, wanted, ("real", "fake") if len(args) == 2 else ("fake",)):
        if grad is None or not bool(grad.abs().sum() > 0):
            raise _Fail(_NOT_DIFF)
        want = want / want.numel()
        if not torch.allclose(grad.reshape(-1).double(), want, rtol=1e-4, atol=1e-6):
            raise _Fail(f"your loss has the right value but the wrong gradient with respect to D's outputs on the "
                        f"{batch} batch (expected (D - target) / N per sample): is part of it detached or "
                        f"computed outside torch?")


_POOLED = ("you took one mean over the real and fake batches together; that weights the two terms by their "
           "batch sizes (it equals 1/2 mean + 1/2 mean only when they are equal): take the mean of each term")


def _ms(t, target):
    return ((t - target) ** 2).mean()


def check_d_least_squares(fn: Callable) -> bool:
    """``fn(real_out, fake_out, a, b)`` should be 1/2 mean((D(x) - b)^2) + 1/2 mean((D(G(z)) - a)^2)."""
    def wrong(r, f, a, b):
        return [
            (F.softplus(-r).mean() + F.softplus(f).mean(), "your loss is the binary cross-entropy of the logits "
             "(the GAN of chapter 1); LSGAN replaces it by squared errors: 1/2 mean((D(x) - b)^2) + "
             "1/2 mean((D(G(z)) - a)^2), on D's raw output, without sigmoid or log"),
            (0.5 * _ms(r, a) + 0.5 * _ms(f, b), "real and fake targets are swapped: real samples are "
             "regressed onto b, fakes onto a"),
            (_ms(r, b) + _ms(f, a), "the factor 1/2 is missing: each squared error is multiplied by 1/2"),
            (0.5 * _ms(torch.sigmoid(r), b) + 0.5 * _ms(torch.sigmoid(f), a), "you applied a sigmoid; LSGAN's "
             "discriminator output is unbounded and is used as it is"),
            (0.5 * _ms(r, b), "only the real term; add 1/2 mean((D(G(z)) - a)^2)"),
            (0.5 * _ms(f, a), "only the fake term; add 1/2 mean((D(x) - b)^2)"),
            (torch.cat([(r - b) ** 2, (f - a) ** 2]).mean(), _POOLED),
            (0.5 * torch.cat([(r - b) ** 2, (f - a) ** 2]).mean(), _POOLED),
            (0.5 * ((r - b) ** 2).sum() + 0.5 * ((f - a) ** 2).sum(), "your loss is the sum over the batch; "
             "take the mean of each term (an expectation is a batch mean)"),
        ]
    return _verdict("check_d_least_squares", lambda: _check_ls(
        fn, 2, lambda r, f, a, b: 0.5 * _ms(r, b) + 0.5 * _ms(f, a), wrong))


def check_g_least_squares(fn: Callable) -> bool:
    """``fn(fake_out, c)`` should be 1/2 mean((D(G(z)) - c)^2)."""
    def wrong(f, c):
        return [
            (F.softplus(-f).mean(), "your loss is the non-saturating BCE loss -log sigmoid(l); LSGAN's "
             "generator minimises 1/2 mean((D(G(z)) - c)^2)"),
            (_ms(f, c), "the factor 1/2 is missing"),
            (-0.5 * _ms(f, c), "sign error: the generator MINIMISES 1/2 mean((D(G(z)) - c)^2)"),
            (0.5 * _ms(torch.sigmoid(f), c), "you applied a sigmoid; use D's raw output as it is"),
        ]
    return _verdict("check_g_least_squares", lambda: _check_ls(fn, 1, lambda f, c: 0.5 * _ms(f, c), wrong))


def _distribution_cases():
    rng = np.random.default_rng(2017)
    return [("random distributions on 10 points", theory.random_distribution(10, rng),
             theory.random_distribution(10, rng)),
            ("distributions with zeros", np.array([0.5, 0.3, 0.2, 0.0, 0.0]), np.array([0.0, 0.2, 0.3, 0.25, 0.25]))]


def check_lsgan_optimal_discriminator(fn: Callable) -> bool:
    """``fn(p_data, p_g, a, b)`` should return D*(x) = (b p_data + a p_g) / (p_data + p_g) per point."""
    def body():
        for label, p, q in _distribution_cases():
            for a, b, _ in CODINGS:
                d = _to_numpy(_call(fn, p.copy(), q.copy(), a, b))
                want = (b * p + a * q) / (p + q)
                if d.shape != p.shape:
                    raise _Fail(f"your D* has shape {d.shape}; it should have one value per point, {p.shape}")
                if np.allclose(d, want, rtol=_RTOL, atol=1e-9):
                    continue
                if np.allclose(d, (a * p + b * q) / (p + q), rtol=_RTOL, atol=1e-9):
                    raise _Fail("a and b are swapped: D* leans towards b (the real target) where p_data is "
                                "large: D* = (b p_data + a p_g) / (p_data + p_g)")
                if np.allclose(d, p / (p + q), rtol=_RTOL, atol=1e-9):
                    raise _Fail("that is the optimal discriminator of the original GAN; with least squares and "
                                "targets a, b it is (b p_data + a p_g) / (p_data + p_g)")
                worst = int(np.argmax(np.abs(d - want)))
                raise _Fail(f"for {label}, a={a}, b={b}: at point {worst} your D* is {d[worst]:.8g}, "
                            f"expected {want[worst]:.8g}")
    return _verdict("check_lsgan_optimal_discriminator", body)


def check_lsgan_generator_value(fn: Callable) -> bool:
    """``fn(p_data, p_g, a, b, c)`` should return C(G) = 1/2 sum p_data (D* - c)^2 + 1/2 sum p_g (D* - c)^2."""
    def body():
        for label, p, q in _distribution_cases():
            for a, b, c in CODINGS:
                out = _to_numpy(_call(fn, p.copy(), q.copy(), a, b, c))
                if out.size != 1:
                    raise _Fail(f"your function returned {out.size} numbers; C(G) is one number (a sum over points)")
                value, want = float(out.reshape(())), theory.lsgan_generator_value(p, q, a, b, c)
                if _close(value, want, rtol=_RTOL, atol=1e-9):
                    continue
                d = (b * p + a * q) / (p + q)
                for other, message in [
                    (2 * want, "the factor 1/2 is missing: C(G) = 1/2 E_p_data[...] + 1/2 E_p_g[...]"),
                    (0.5 * np.sum(q * (d - c) ** 2), "only the fake term: C(G) also holds 1/2 E_p_data[(D* - c)^2], "
                     "the term Mao et al. add to make the identity appear (at D = D* it depends on p_g too)"),
                    (0.5 * np.mean((d - c) ** 2) * 2, "you averaged over points; weight each point by its probability"),
                ]:
                    if _close(value, float(other), rtol=_RTOL, atol=1e-9):
                        raise _Fail(message)
                raise _Fail(f"for {label} and (a, b, c) = {(a, b, c)} your C(G) is {value:.8g}, expected {want:.8g}")
    return _verdict("check_lsgan_generator_value", body)


def check_chi2_identity(coding, generator_value: Callable, half_chi2: Callable) -> bool:
    """``coding`` = (a, b, c) (or a function returning it) should be a coding for which C(G) equals
    half_chi2(p_d, p_g) = 1/2 sum (2 p_g - (p_d + p_g))^2 / (p_d + p_g) on every pair of distributions
    (Mao et al., 2017, sec. 3; chapter 3, thm-ls-chi2). The identity is tested numerically with the reference C(G) of
    :mod:`gantutor.theory`: it holds exactly when b - c = +-1 and b - a = 2 (b - c), which covers eq. (8),
    a = -1, b = 1, c = 0, and its sign flip a = 1, b = -1, c = 0. Then the student's ``generator_value``
    must agree too."""
    def body():
        # ``coding`` may be the student's function itself: calling it here turns a blank TODO into a
        # FAIL verdict instead of an error in the check cell.
        values = _call(coding) if callable(coding) else coding
        try:
            a, b, c = (float(v) for v in values)
        except (TypeError, ValueError):
            raise _Fail(f"coding() must return three numbers (a, b, c), got {values!r}") from None
        rng = np.random.default_rng(7)
        cases = [(theory.random_distribution(12, rng, s), theory.random_distribution(12, rng, s))
                 for s in (0.0, 0.0, 0.0)]  # dense: the student may assume p_d + p_g > 0
        for p, q in cases:
            half = float(_to_numpy(_call(half_chi2, p.copy(), q.copy())).reshape(()))
            want = 0.5 * theory.lsgan_chi2(p, q)
            if not _close(half, want, rtol=_RTOL, atol=1e-9):
                if _close(half, 2 * want, rtol=_RTOL, atol=1e-9):
                    raise _Fail("half_chi2 returns the whole chi-square; the generator's value is HALF of it")
                raise _Fail(f"half_chi2 is {half:.8g}, expected 1/2 sum (2 p_g - (p_d + p_g))^2 / (p_d + p_g) "
                            f"= {want:.8g}")
        if not all(_close(theory.lsgan_generator_value(p, q, a, b, c), 0.5 * theory.lsgan_chi2(p, q), 1e-7, 1e-9)
                   for p, q in cases):
            extra = " (eq. (9): the 0-1 labels of a classifier, outside the theorem)" if (a, b, c) == (0.0, 1.0, 1.0) else ""
            raise _Fail(f"with (a, b, c) = {(a, b, c)}{extra}, C(G) differs from half_chi2: b - c = {b - c:g}, "
                        f"b - a = {b - a:g}; the identity needs b - c = +-1 and b - a = 2 (b - c), e.g. eq. (8): "
                        f"a = -1, b = 1, c = 0")
        for p, q in cases:
            value = float(_to_numpy(_call(generator_value, p.copy(), q.copy(), a, b, c)).reshape(()))
            want = 0.5 * theory.lsgan_chi2(p, q)
            if not _close(value, want, rtol=_RTOL, atol=1e-9):
                raise _Fail(f"your coding is right, but generator_value gives {value:.8g} where 1/2 chi2 is "
                            f"{want:.8g}: check generator_value with check_lsgan_generator_value first")
    return _verdict("check_chi2_identity", body)
