"""Checking functions for assignment 8 (StyleGAN, Karras et al., 2019; StyleGAN2, Karras et al., 2020),
in the verdict style of :mod:`gantutor.checks`: each check runs the student's code on fixed, seeded
inputs, prints exactly ONE line and returns True or False.

Common wrong answers are named: AdaIN normalising over the batch (batch norm) instead of per sample,
the unbiased variance, y_s and y_b swapped, |y_s| or StyleGAN code's (1 + y_s) instead of y_s; demodulating per input channel instead of per output
channel, over the batch as well, without eps, or modulating the output channels; truncation toward
zero (psi w) instead of toward w_avg, or with psi and 1 - psi swapped; changing w in place.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .common import _Fail, _call, _verdict

__all__ = ["check_adain", "check_modulated_conv", "check_truncation"]


def _tensor(out, shape, what: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise _Fail(f"return a torch.Tensor {list(shape)} ({what}), got {type(out).__name__}")
    if tuple(out.shape) != tuple(shape):
        raise _Fail(f"your output has shape {list(out.shape)}, expected {list(shape)} ({what})")
    if not torch.isfinite(out).all():
        raise _Fail("your output holds NaN or infinite values")
    return out.detach().double()


def _same(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-4) -> bool:
    return bool(torch.allclose(a.double(), b.double(), rtol=tol, atol=tol))


# ---- AdaIN --------------------------------------------------------------------------------------

def _adain(x, y_s, y_b, dims=(2, 3), unbiased=False, eps=1e-8):
    mu = x.mean(dim=dims, keepdim=True)
    sigma = (x.var(dim=dims, keepdim=True, unbiased=unbiased) + eps).sqrt()
    return y_s[:, :, None, None] * (x - mu) / sigma + y_b[:, :, None, None]


def check_adain(fn: Callable) -> bool:
    """``fn(x, y_s, y_b)``: AdaIN(x_i, y) = y_s,i (x_i - mu(x_i)) / sigma(x_i) + y_b,i, with mu and sigma the
    mean and (population) standard deviation of each sample's channel i over its pixels; x [N, C, H, W],
    y_s and y_b [N, C]."""
    def body():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(8)
            x = 2.0 * torch.randn(4, 3, 4, 4) + torch.randn(4, 3, 1, 1) * 3
            y_s, y_b = torch.rand(4, 3) + 0.5, torch.randn(4, 3)
            y_s[1, 0], y_s[3, 2] = -0.8, -1.3     # the formula multiplies by y_s itself, sign included
        got = _tensor(_call(fn, x.clone(), y_s.clone(), y_b.clone()), x.shape, "the shape of x")
        want = _adain(x, y_s, y_b)
        if _same(got, want):
            return
        named = [(_adain(x, y_s, y_b, dims=(0, 2, 3)), "you normalised over the batch as well (batch norm): AdaIN "
                  "normalises each sample's channel over its own H x W pixels, mean and std over dims (2, 3)"),
                 (_adain(x, y_s, y_b, unbiased=True), "you used the unbiased variance (divided by H W - 1); "
                  "instance normalisation uses the population variance: unbiased=False"),
                 (_adain(x, y_b, y_s), "y_s and y_b are swapped: y_s scales (the new standard deviation), "
                  "y_b shifts (the new mean)"),
                 (_adain(x, y_s.abs(), y_b), "you scaled by |y_s|: the formula multiplies the normalised map "
                  "by y_s itself, so a negative y_s flips the map (its standard deviation is then -y_s)"),
                 (_adain(x, 1 + y_s, y_b), "you scaled by (1 + y_s), the form of StyleGAN's code, whose affine "
                  "map has bias 0; here y_s is the scale itself (its affine map starts at bias 1): multiply by y_s")]
        for wrong, message in named:
            if _same(got, wrong):
                raise _Fail(message)
        raise _Fail("your output is not y_s[n, i] * (x[n, i] - mu) / sigma + y_b[n, i], with mu and sigma the "
                    "mean and population standard deviation of sample n's channel i over its pixels")
    return _verdict("check_adain", body)


# ---- modulated, demodulated convolution -------------------------------------------------------------

def _modconv(x, weight, s, eps=1e-8, demod_dims=(2, 3, 4), modulate="input", batch=False, use_eps=True):
    """Reference and wrong answers: weight [C_out, C_in, K, K], s [N, C]."""
    if modulate == "input":
        w = weight[None] * s[:, None, :, None, None]
    else:
        w = weight[None] * s[:, :, None, None, None]
    norm = w.square().sum(dim=demod_dims, keepdim=True)
    if batch:
        norm = w.square().sum(dim=(0, 2, 3, 4), keepdim=True)
    w = w / torch.sqrt(norm + (eps if use_eps else 0.0))
    outs = [F.conv2d(x[n:n + 1], w[n], padding=weight.shape[-1] // 2) for n in range(x.shape[0])]
    return torch.cat(outs)


def _modconv_cases():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(80)
        square = (torch.randn(3, 4, 5, 5), torch.randn(4, 4, 3, 3), torch.rand(3, 4) * 2 + 0.2)
        wide = (torch.randn(2, 3, 6, 6), torch.randn(5, 3, 3, 3), torch.rand(2, 3) * 2 + 0.2)
        # tiny styles: sum_{i,k} w'^2 is about 1e-12, far below eps = 1e-8
        tiny = (torch.randn(2, 3, 4, 4), torch.randn(2, 3, 3, 3), torch.full((2, 3), 1e-7))
        # a 1x1 kernel (toRGB): 'same' padding is K // 2 = 0, not a hard-coded 1
        one = (torch.randn(2, 4, 5, 5), torch.randn(3, 4, 1, 1), torch.rand(2, 4) * 2 + 0.2)
    return square, wide, tiny, one


def check_modulated_conv(fn: Callable) -> bool:
    """``fn(x, weight, s, eps=1e-8)``: w'_ijk = s_i w_ijk, w''_ijk = w'_ijk / sqrt(sum_{i,k} w'_ijk^2 + eps)
    per sample, then a 'same'-padded convolution of each sample with its own weights; x [N, C_in, H, W],
    weight [C_out, C_in, K, K] (j, i, k), s [N, C_in]; returns [N, C_out, H, W]."""
    def body():
        square, wide, tiny, one = _modconv_cases()
        for case in (square, wide, one):
            x, weight, s = case
            shape = (x.shape[0], weight.shape[0], x.shape[2], x.shape[3])
            out = _call(fn, x.clone(), weight.clone(), s.clone(), 1e-8)
            if case is one and isinstance(out, torch.Tensor) and tuple(out.shape) != shape:
                raise _Fail(f"with a 1x1 kernel (toRGB) your output has shape {list(out.shape)}, expected "
                            f"{list(shape)}: 'same' padding is K // 2 (0 for K = 1), not a fixed 1")
            got = _tensor(out, shape, "[N, C_out, H, W]")
            if _same(got, _modconv(x, weight, s)):
                continue
            named = [(dict(demod_dims=(1, 3, 4)), "you demodulated per INPUT channel (sum over j and k); "
                      "demodulation divides each OUTPUT channel j by sqrt(sum over i and k of w'_ijk^2 + eps)"),
                     (dict(batch=True), "your demodulation sums over the batch too: each sample has its own "
                      "styles, so each sample's weights are normalised on their own (sum over i and k only)"),
                     (dict(modulate="output"), "you scaled the OUTPUT channels by s; modulation scales the "
                      "INPUT channels: w'_ijk = s_i w_ijk, with s of shape [N, C_in]")]
            for kwargs, message in named:
                if case is square or kwargs.get("modulate") != "output":
                    if _same(got, _modconv(x, weight, s, **kwargs)):
                        raise _Fail(message)
            raise _Fail(f"your output differs from the modulated, demodulated convolution (case with C_in = "
                        f"{weight.shape[1]}, C_out = {weight.shape[0]})")
        x, weight, s = tiny
        for eps in (1e-8, 1e-4):    # a second eps: an answer that hard-codes 1e-8 ignores the argument
            _tiny_case(fn, x, weight, s, eps)
    return _verdict("check_modulated_conv", body)


def _tiny_case(fn, x, weight, s, eps):
    out = _call(fn, x.clone(), weight.clone(), s.clone(), eps)
    if isinstance(out, torch.Tensor) and out.shape == (2, 2, 4, 4) and \
            _same(out.detach(), _modconv(x, weight, s, use_eps=False), 1e-3):
        raise _Fail("eps is missing: with tiny styles (sum_{i,k} w'_ijk^2 about 1e-12, far below eps = 1e-8) "
                    "your w'' is still scaled up to unit norm, while sqrt(sum w'^2 + eps) is about sqrt(eps) "
                    "and leaves the output near 0 (and all-zero styles would give 0 / 0 = NaN); add eps "
                    "inside the square root")
    got = _tensor(out, (2, 2, 4, 4), "[N, C_out, H, W]")
    if not _same(got, _modconv(x, weight, s, eps), 1e-3):
        raise _Fail(f"with tiny styles and eps = {eps:g} your output differs from w' / sqrt(sum_{{i,k}} w'_ijk^2 "
                    "+ eps): add the eps INSIDE the square root, using the eps argument (not after the root, "
                    "and not a fixed value of your own)")


# ---- truncation ------------------------------------------------------------------------------------

def check_truncation(fn: Callable) -> bool:
    """``fn(w, w_avg, psi)``: w' = w_avg + psi (w - w_avg); w [N, D], w_avg [D], psi a number, also outside
    [0, 1] (psi > 1 or < 0 extrapolates; the chapter's explorer goes to 1.2); w and w_avg must not change."""
    def body():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(88)
            w, w_avg = torch.randn(5, 6), torch.randn(6) + 2.0
        for psi in (0.7, 0.0, 1.0, 1.2, -0.5):   # psi outside [0, 1] extrapolates (the task says so)
            w_in, w_avg_in = w.clone(), w_avg.clone()
            got = _tensor(_call(fn, w_in, w_avg_in, psi), w.shape, "the shape of w")
            if not (torch.equal(w_in, w) and torch.equal(w_avg_in, w_avg)):
                raise _Fail("your function changed its input w or w_avg in place (e.g. w.sub_(...)): the caller's "
                            "styles must stay as they were; compute a new tensor")
            if _same(got, w_avg + psi * (w - w_avg)):
                continue
            if _same(got, psi * w):
                raise _Fail("you truncated toward zero (psi * w): truncation pulls toward the average style, "
                            "w' = w_avg + psi (w - w_avg)")
            if _same(got, w_avg + (1 - psi) * (w - w_avg)):
                raise _Fail("psi and 1 - psi are swapped: psi = 1 must give w itself, psi = 0 gives w_avg")
            raise _Fail(f"for psi = {psi} your output is not w_avg + psi (w - w_avg)")
    return _verdict("check_truncation", body)
