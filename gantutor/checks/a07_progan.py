"""Checking functions for assignment 7 (ProGAN, Karras et al., 2018), in the verdict style of
:mod:`gantutor.checks`: each check runs the student's code on fixed, seeded inputs, prints exactly ONE
line and returns True or False:

    check_pixel_norm: PASS
    check_pixel_norm: FAIL - you normalised over the batch axis (dim 0); pixel norm divides ...

Common wrong answers are named: pixel norm over the wrong axis (batch, or the spatial axes, or channels
and pixels together), the missing square (the seed's formula), unit length instead of unit RMS, the
missing square root, the seed's C + 1 terms, no eps (NaN on an all-zero pixel vector); the He constant
computed from fan_out or without the kernel's k * k, the scale applied at initialisation instead of at
run time, divided instead of multiplied, a missing padding, stored weights not N(0, 1) (|std - 1| >=
0.15); the fade-in's alpha applied the wrong way round, an activation wrapped around the blend (tanh of
the blend) or applied to each image before it (the blend of tanh's), bilinear instead of
nearest-neighbour upsampling, or new_rgb or old_rgb changed in place (Task 3 asks for a new tensor).
(ProGAN's generator has no output activation: toRGB is linear, so the fade-in blends two images in pixel
space, exactly as the real images are blended. Nothing may follow the blend: tanh of the blend is not a
blend of images. A tanh applied to each path before the blend would still blend two images by the reals'
rule, but the task defines new_rgb and old_rgb as the raw, linear toRGB outputs and asks for ProGAN's
blend of them, so here it is a wrong answer relative to that spec.) A check never raises on a wrong
answer.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .common import _Fail, _call, _verdict

__all__ = ["check_pixel_norm", "check_equalized_conv", "check_fade_in_output"]

EPS = 1e-8


def _as_tensor(out, what: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise _Fail(f"{what} returned a {type(out).__name__}; return a torch.Tensor")
    return out.detach().double()


def _same(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-5) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))


def _pixel_norm_wrong_answers(a: torch.Tensor):
    sq = a.pow(2)
    return [
        (a / torch.sqrt(sq.mean(0, keepdim=True) + EPS), "you normalised over the batch axis (dim 0); pixel norm "
         "divides each pixel's feature vector by the RMS over its C channels: mean over dim=1"),
        (a / torch.sqrt(sq.mean((2, 3), keepdim=True) + EPS), "you normalised over the spatial axes (H, W); pixel "
         "norm works at each pixel separately, over its C channels: mean over dim=1"),
        (a / torch.sqrt(sq.mean((1, 2, 3), keepdim=True) + EPS), "you normalised over channels AND pixels together; "
         "pixel norm gives every pixel its own denominator: mean over dim=1 only"),
        (a / torch.sqrt(a.mean(1, keepdim=True) + EPS), "the square is missing (the seed's formula): the "
         "denominator is sqrt((1/C) sum_j (a^j)^2 + eps), a root mean SQUARE, never negative"),
        (a / torch.sqrt(a.sum(1, keepdim=True) + EPS), "the square is missing (the seed's formula): the "
         "denominator is sqrt((1/C) sum_j (a^j)^2 + eps), a root mean SQUARE, never negative"),
        (a / torch.sqrt(sq.sum(1, keepdim=True) + EPS), "you normalised to unit LENGTH (sum of squares); the "
         "paper divides by the root MEAN square, (1/C) sum_j (a^j)^2, so each pixel's vector has unit RMS "
         "(length sqrt(C))"),
        (a / (sq.mean(1, keepdim=True) + EPS), "the square root is missing: divide by sqrt((1/C) sum_j (a^j)^2 + eps)"),
        (a / torch.sqrt(sq.sum(1, keepdim=True) / (a.shape[1] + 1) + EPS), "you averaged over C + 1 terms (the "
         "seed's sum from j = 0 to C): a pixel has C channels, j = 0 ... C - 1, so divide the sum of squares by C"),
        (a / torch.sqrt(a.sum(1, keepdim=True) / (a.shape[1] + 1) + EPS), "the square is missing and you averaged "
         "over C + 1 terms (both errors of the seed's formula): use sqrt((1/C) sum_{j=0}^{C-1} (a^j)^2 + eps)"),
    ]


def check_pixel_norm(fn: Callable) -> bool:
    """``fn(a)`` for a [N, C, H, W] should return a / sqrt((1/C) sum_j (a^j)^2 + 1e-8), the sum over the
    C channels of each pixel (Karras et al., 2018, section 4.2)."""
    def body():
        g = torch.Generator().manual_seed(7)
        for shape, scale in (((4, 6, 3, 5), 3.0), ((2, 16, 2, 2), 0.01)):
            a = scale * torch.randn(*shape, generator=g) + 0.3 * scale
            given = a.clone()
            raw = _call(fn, given)
            out = _as_tensor(raw, "pixel_norm")
            if not torch.equal(given, a):
                raise _Fail("your function changed its input a (an in-place operation such as a.div_): return a "
                            "new tensor, a / sqrt(...), and leave a as it was")
            a64 = a.double()
            want = a64 / torch.sqrt(a64.pow(2).mean(1, keepdim=True) + EPS)
            if out.shape != want.shape:
                raise _Fail(f"the output has shape {list(out.shape)}, expected the input's {list(a.shape)} "
                            "(keepdim=True keeps the channel axis for broadcasting)")
            if _same(out, want, 1e-4):
                _check_pixel_norm_gradient(fn, a)
                continue
            for wrong, message in _pixel_norm_wrong_answers(a64):
                if _same(out, wrong, 1e-4):
                    raise _Fail(message)
            raise _Fail("your output differs from a / sqrt(mean over channels of a^2 + 1e-8) at each pixel")
        _check_pixel_norm_zero_pixel(fn)
    return _verdict("check_pixel_norm", body)


def _check_pixel_norm_zero_pixel(fn: Callable) -> None:
    """eps is what keeps an all-zero feature vector (a dead pixel after LeakyReLU and a zero-initialised
    bias can produce one) from giving 0 / 0 = NaN; random inputs never contain one, so test it."""
    a = torch.randn(2, 5, 3, 3, generator=torch.Generator().manual_seed(13))
    a[0, :, 1, 2] = 0.0
    a[1, :, 0, 0] = 0.0
    out = _as_tensor(_call(fn, a.clone()), "pixel_norm")
    if not bool(torch.isfinite(out).all()):
        raise _Fail("your output is NaN (or inf) where a pixel's feature vector is all zero: 0 / sqrt(0) is "
                    "undefined; add eps = 1e-8 inside the square root, sqrt((1/C) sum_j (a^j)^2 + eps)")
    if float(out[0, :, 1, 2].abs().max()) != 0.0 or float(out[1, :, 0, 0].abs().max()) != 0.0:
        raise _Fail("an all-zero pixel vector should stay zero (0 / sqrt(eps) = 0)")


def _check_pixel_norm_gradient(fn: Callable, a: torch.Tensor) -> None:
    """The right forward can hide a wrong backward (the denominator computed under torch.no_grad() or
    detached): compare the gradient of a fixed weighted sum with the formula's."""
    r = torch.randn(a.shape, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    mine = a.double().clone().requires_grad_(True)
    out = _call(fn, mine)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        raise _Fail("no gradient flows through your pixel norm: compute it with differentiable torch "
                    "operations, without torch.no_grad() or .detach()")
    (out * r).sum().backward()
    ref = a.double().clone().requires_grad_(True)
    (ref / torch.sqrt(ref.pow(2).mean(1, keepdim=True) + EPS) * r).sum().backward()
    # relative to the gradient's norm: eps-free variants (F.normalize) differ by ~1e-4 on tiny inputs,
    # a detached denominator by 0.2-0.5
    if mine.grad is None or float((mine.grad - ref.grad).norm() / ref.grad.norm()) > 1e-3:
        raise _Fail("the output is right but its gradient is not: the denominator sqrt(mean(a^2) + eps) must "
                    "stay in the graph (no torch.no_grad() or .detach() around it), since G's training "
                    "differentiates through it")


def check_equalized_conv(cls: Callable) -> bool:
    """``cls(in_channels, out_channels, kernel_size)`` should be an nn.Module holding ``weight`` [out, in,
    k, k] drawn from N(0, 1) and ``bias`` [out] (zeros), whose forward is a stride-1 convolution with
    padding k // 2 of the weight multiplied at run time by c = sqrt(2 / fan_in), fan_in = in * k * k."""
    def body():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(3)
            conv = _call(cls, 6, 4, 3)
        if not isinstance(conv, nn.Module) or not isinstance(getattr(conv, "weight", None), torch.Tensor) \
                or not isinstance(getattr(conv, "bias", None), torch.Tensor):
            raise _Fail("return an nn.Module with attributes weight and bias (nn.Parameter)")
        if tuple(conv.weight.shape) != (4, 6, 3, 3) or tuple(conv.bias.shape) != (4,):
            raise _Fail(f"weight must have shape [out, in, k, k] = [4, 6, 3, 3] and bias [4], got "
                        f"{list(conv.weight.shape)} and {list(conv.bias.shape)}")
        c, c_out = math.sqrt(2 / 54), math.sqrt(2 / 36)
        std = float(conv.weight.detach().std())
        if abs(std - c) < 0.35 * c or abs(std - c_out) < 0.35 * c_out:
            raise _Fail(f"the stored weights have std {std:.2f}, about He's constant: you scaled them at "
                        "initialisation. Equalised learning rate stores w ~ N(0, 1) and multiplies by c in forward()")
        if not abs(std - 1) < 0.15:  # 216 draws of N(0, 1): std 1 +- 0.05, so 0.15 is three sampling s.d.
            raise _Fail(f"the stored weights have std {std:.2f}, not about 1 (216 draws of N(0, 1) give "
                        "1 +- 0.05): draw them from N(0, 1) itself (torch.randn), unscaled")
        if float(conv.bias.detach().abs().max()) != 0:
            raise _Fail("the biases should start at 0")
        g = torch.Generator().manual_seed(4)
        w, b = torch.randn(4, 6, 3, 3, generator=g), torch.randn(4, generator=g)
        with torch.no_grad():
            conv.weight.copy_(w), conv.bias.copy_(b)
        x = torch.randn(2, 6, 5, 5, generator=g)
        out = _as_tensor(_call(conv, x), "forward")
        if out.shape == (2, 4, 3, 3):
            raise _Fail("the output is 3 x 3 for a 5 x 5 input: pad by k // 2 (padding=1 for k = 3)")

        def conv_with(scale):
            return F.conv2d(x.double(), w.double() * scale, b.double(), padding=1)

        if _same(out, conv_with(c), 1e-4):
            _check_equalized_conv_is_a_layer(cls, conv, x, w, b, c, out)
            return
        for scale, message in [
            (c_out, "you used fan_out = out_channels * k * k; He's constant uses fan_in = in_channels * k * k "
                    "(the number of inputs each output sums)"),
            (math.sqrt(2 / 6), "fan_in must count the kernel too: in_channels * k * k, not in_channels"),
            (1 / c, "you divided by sqrt(2 / fan_in); multiply the N(0, 1) weights by c = sqrt(2 / fan_in)"),
            (2 / 54, "the square root is missing: c = sqrt(2 / fan_in)"),
            (1.0, "the weights are used unscaled: multiply them by c = sqrt(2 / fan_in) in forward()"),
        ]:
            if _same(out, conv_with(scale), 1e-4):
                raise _Fail(message)
        raise _Fail("your forward differs from F.conv2d(x, weight * sqrt(2 / (in * k * k)), bias, padding=k // 2)")
    return _verdict("check_equalized_conv", body)

def _check_equalized_conv_is_a_layer(cls: Callable, conv: nn.Module, x, w, b, c: float, first) -> None:
    """What one forward on a 3x3 kernel cannot see: trainable registered parameters, a forward that does
    not change the stored weight, gradients that reach it (scaled by c), and padding k // 2 for any k."""
    named = dict(conv.named_parameters())
    if not isinstance(conv.weight, nn.Parameter) or not isinstance(conv.bias, nn.Parameter) or \
            not any(p is conv.weight for p in named.values()):
        raise _Fail("weight and bias must be nn.Parameter attributes, so that the optimiser trains them "
                    "(a plain tensor is never registered)")
    extra = [n for n, p in named.items() if p is not conv.weight and p is not conv.bias]
    if extra:
        raise _Fail(f"your layer has trainable parameters besides weight and bias: {', '.join(extra)}. The "
                    "constant c = sqrt(2 / fan_in) must stay fixed (a float or a buffer): as an nn.Parameter "
                    "the optimiser would move it")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(6)
        big = _call(cls, 64, 64, 3)
    w_big = big.weight.detach().double().flatten()
    kurtosis = float(((w_big - w_big.mean()) ** 4).mean() / w_big.var(unbiased=False) ** 2)
    if not 2.6 < kurtosis < 3.4:  # N(0, 1): 3 (+- 0.03 for 36,864 weights); uniform 1.8; truncated normal < 2.8
        raise _Fail(f"the stored weights of a 64 x 64 x 3 x 3 layer have kurtosis {kurtosis:.2f}, far from a "
                    "normal distribution's 3 (a uniform one has 1.8): draw them from N(0, 1) with torch.randn")
    raw = _call(conv, x)
    again = _as_tensor(raw, "forward")
    if not torch.equal(again, first) or not torch.allclose(conv.weight.detach(), w):
        raise _Fail("a second forward gives another output: do not scale the stored weight in place; compute "
                    "weight * c anew in every forward")
    conv.zero_grad(set_to_none=True)
    if not raw.requires_grad:
        raise _Fail("no gradient reaches the stored weight: multiply the parameter itself by c in forward, "
                    "without .detach() or torch.no_grad()")
    raw.sum().backward()
    ref = w.clone().requires_grad_(True)
    F.conv2d(x, ref * c, b, padding=1).sum().backward()
    grad = conv.weight.grad
    if grad is None or not torch.allclose(grad, ref.grad, rtol=1e-4, atol=1e-5):
        raise _Fail("no gradient reaches the stored weight (or a wrong one): multiply the parameter itself by c "
                    "in forward, without .detach() or torch.no_grad()")
    with torch.random.fork_rng(devices=[]):
        one = _call(cls, 6, 4, 1)
    g = torch.Generator().manual_seed(5)
    w1 = torch.randn(4, 6, 1, 1, generator=g)
    with torch.no_grad():
        one.weight.copy_(w1), one.bias.copy_(b)
        out1 = _as_tensor(_call(one, x), "forward")
    if tuple(out1.shape) != (2, 4, 5, 5):
        raise _Fail(f"with a 1x1 kernel (toRGB) the output has shape {list(out1.shape)}, expected [2, 4, 5, 5]: "
                    "pad by kernel_size // 2, not a fixed 1")
    if not _same(out1, F.conv2d(x.double(), w1.double() * math.sqrt(2 / 6), b.double()), 1e-4):
        raise _Fail("with a 1x1 kernel your output differs: fan_in = in_channels * k * k = 6 there")



def _check_fade_in_gradient(fn: Callable, new: torch.Tensor, old: torch.Tensor) -> None:
    """The right forward can cut the graph (upsampling under torch.no_grad(), a detached input), and then
    the old toRGB or the new block stops training. For L = sum(r * out): dL/dnew = alpha r, and each
    low-resolution pixel of old gets (1 - alpha) times the sum of r over its 2 x 2 block (4 (1 - alpha)
    for r = 1)."""
    alpha = 0.3
    r = torch.randn(new.shape, generator=torch.Generator().manual_seed(12), dtype=torch.float64)
    n, o = new.double().clone().requires_grad_(True), old.double().clone().requires_grad_(True)
    out = _call(fn, alpha, n, o)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        raise _Fail("no gradient flows through your blend: compute it with differentiable operations, "
                    "without torch.no_grad() or .detach()")
    (out * r).sum().backward()
    if n.grad is None or not _same(n.grad, alpha * r):
        raise _Fail("the gradient with respect to new_rgb is not alpha times the incoming gradient: the new "
                    "block must stay in the graph (no torch.no_grad() or .detach())")
    if o.grad is None or not _same(o.grad, (1 - alpha) * 4 * F.avg_pool2d(r, 2)):
        raise _Fail("the gradient with respect to old_rgb is missing or wrong (each low-resolution pixel should "
                    "get (1 - alpha) times the sum over its four copies): upsample old_rgb inside the graph, not "
                    "under torch.no_grad() or after .detach(), or the old toRGB stops training")


def check_fade_in_output(fn: Callable) -> bool:
    """``fn(alpha, new_rgb, old_rgb)``: the generator's image during a fade-in (Karras et al., 2018,
    figure 2 b), from the new block's toRGB output new_rgb [N, C, 2S, 2S] and the previous stage's toRGB
    output old_rgb [N, C, S, S]: alpha * new_rgb + (1 - alpha) * upsample_nearest(old_rgb). toRGB is
    linear and nothing follows (no output activation), so this is the same pixel-space blend as the
    real images' alpha * x + (1 - alpha) * upsample(downsample(x)); the check verifies that too."""
    def body():
        g = torch.Generator().manual_seed(5)
        new, old = 1.5 * torch.randn(3, 2, 8, 8, generator=g), 1.5 * torch.randn(3, 2, 4, 4, generator=g)
        up = F.interpolate(old, scale_factor=2, mode="nearest").double()
        up_bilinear = F.interpolate(old, scale_factor=2, mode="bilinear", align_corners=False).double()
        n64 = new.double()
        for alpha in (0.2, 0.0, 0.7, 1.0):
            given_new, given_old = new.clone(), old.clone()
            out = _as_tensor(_call(fn, alpha, given_new, given_old), "your function")
            for given, orig, name in ((given_new, new, "new_rgb"), (given_old, old, "old_rgb")):
                if not torch.equal(given, orig):
                    raise _Fail(f"your function changed its input {name} in place (an operation such as "
                                f"{name}.mul_ or .add_): return a new tensor, alpha * new_rgb + (1 - alpha) * "
                                "upsample(old_rgb), and leave new_rgb and old_rgb as they were")
            want = alpha * n64 + (1 - alpha) * up
            if out.shape != want.shape:
                raise _Fail(f"the output has shape {list(out.shape)}, expected {list(want.shape)}: upsample "
                            "old_rgb 2x (nearest neighbour) before blending")
            if _same(out, want):
                continue
            for wrong, message in [
                ((1 - alpha) * n64 + alpha * up, "alpha is applied the wrong way round: alpha weights the NEW "
                 "block (alpha = 0 is the old network, 1 the new one)"),
                (torch.tanh(alpha * n64 + (1 - alpha) * up), "you applied tanh after the blend: ProGAN's "
                 "generator has no output activation (toRGB is linear), and tanh(blend) is not the pixel-space "
                 "blend alpha * x + (1 - alpha) * up(down(x)) that the real images get, so D would see fakes "
                 "and reals faded differently"),
                (torch.tanh((1 - alpha) * n64 + alpha * up), "you applied tanh after the blend (the generator "
                 "has no output activation), and alpha is the wrong way round"),
                (alpha * torch.tanh(n64) + (1 - alpha) * torch.tanh(up), "you passed both images through tanh "
                 "before blending: toRGB is linear and the generator has no output activation; blend the raw "
                 "toRGB outputs"),
                (alpha * n64 + (1 - alpha) * up_bilinear, "upsample with nearest-neighbour filtering (the "
                 "paper's 2x, and the one the real images' blend uses), not bilinear"),
                ((alpha * n64 + (1 - alpha) * up).clamp(-1, 1), "you clamped the blend to [-1, 1]: the "
                 "generator's output is linear; clamp only when you display the images"),
            ]:
                if _same(out, wrong):
                    raise _Fail(message)
            raise _Fail(f"at alpha = {alpha} your output differs from alpha * new_rgb + (1 - alpha) * "
                        "upsample_nearest(old_rgb)")
        _check_fade_in_gradient(fn, new, old)
        # the blend the real images get: new = x, old = downsample(x); the same operation
        x = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
        out = _as_tensor(_call(fn, 0.4, x.clone(), F.avg_pool2d(x, 2)), "your function")
        real = 0.4 * x.double() + 0.6 * F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest").double()
        if not _same(out, real):
            raise _Fail("on new_rgb = x, old_rgb = downsample(x) your blend differs from the real images' "
                        "0.4 x + 0.6 upsample(downsample(x))")
    return _verdict("check_fade_in_output", body)
