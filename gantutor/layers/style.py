"""StyleGAN's layers (Karras et al., 2019, section 2; Karras et al., 2020, section 2.2).

- :func:`adain`, :class:`AdaIN`: adaptive instance normalisation with the learned affine map A (2019, eq. 1);
- :class:`NoiseInjection`: B, single-channel noise scaled by learned per-channel factors (2019, Fig. 1b);
- :func:`modulated_conv2d`: modulation w'_ijk = s_i w_ijk and demodulation w''_ijk = w'_ijk /
  sqrt(sum_{i,k} w'_ijk^2 + eps) (2020, eqs. 1-3), as ONE grouped convolution for the whole batch;
  :func:`modulated_conv2d_reference` is the same thing one sample at a time (for tests);
- :class:`ModulatedConv2d`: the layer (A, weights, optional 2x upsampling).

Index convention of the 2020 paper: i input channel, j output channel, k kernel position. The output
standard deviation is sigma_j = sqrt(sum_{i,k} w'_ijk^2): one per OUTPUT channel j (the seed writes
sigma_i, which is wrong).

Equalised learning rate (Karras et al., 2018, section 4.1): chapter 7's layers from
:mod:`gantutor.layers.progressive` at gain 1. :class:`EqualizedLinear` here is a thin subclass that adds
StyleGAN's learning-rate multiplier (weights stored N(0, 1) / lr_mul, used times c = lr_mul / sqrt(fan_in);
the mapping network needs lr_mul = 0.01), :class:`EqualizedConv2d` one that can drop the bias.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate as V
from .progressive import EqualizedConv2d as _ProgressiveConv2d, EqualizedLinear as _ProgressiveLinear

Tensor = torch.Tensor


def _check(x: Tensor, name: str, ndim: int, what: str) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != ndim or not x.is_floating_point():
        got = f"{x.dtype} {list(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name}: expected a float tensor {what}, got {got}")


class EqualizedLinear(_ProgressiveLinear):
    """Chapter 7's :class:`~gantutor.layers.progressive.EqualizedLinear` with StyleGAN's learning-rate
    multiplier: y = x (c W)^T + lr_mul b, W stored as N(0, 1) / lr_mul, c = lr_mul / sqrt(in_features)
    (gain 1: the book's leaky ReLU carries the sqrt(2) itself). With Adam, a learning rate lr on the stored
    W moves the used weight c W at lr * lr_mul / sqrt(fan_in): lr_mul = 0.01 is the mapping network's 100x
    slower learning (Karras et al., 2019, appendix C). A thin subclass, because chapter 7's layer has no
    multiplier and no bias initialisation; ``lr_mul = 1, bias_init = 0`` is chapter 7's layer at gain 1."""

    def __init__(self, in_features: int, out_features: int, lr_mul: float = 1.0, bias_init: float = 0.0):
        lr_mul = V.positive_number("lr_mul", lr_mul)
        super().__init__(in_features, out_features, gain=lr_mul)
        with torch.no_grad():
            self.weight.div_(lr_mul)
            self.bias.fill_(float(bias_init) / lr_mul)
        self.lr_mul = lr_mul

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.weight.shape[1]:
            raise ValueError(f"x: expected a tensor [N, {self.weight.shape[1]}], got {list(x.shape)}")
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqualizedConv2d(_ProgressiveConv2d):
    """Chapter 7's :class:`~gantutor.layers.progressive.EqualizedConv2d` at gain 1 (c = 1 / sqrt(C_in k^2)),
    optionally without a bias (``bias=False``: StyleGAN's convolutions before noise and the separate bias,
    and the residual shortcut of the discriminator)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel, gain=1.0)
        if not bias:
            self.bias = None


def adain(x: Tensor, y_s: Tensor, y_b: Tensor, eps: float = 1e-8) -> Tensor:
    """AdaIN(x_i, y) = y_s,i (x_i - mu(x_i)) / sigma(x_i) + y_b,i (Karras et al., 2019, eq. 1).

    mu and sigma are the mean and standard deviation of each feature map x_i over its H x W pixels,
    separately per sample (instance normalisation, not batch normalisation). x [N, C, H, W]; y_s, y_b
    [N, C]. The normalised map is multiplied by y_s,i itself (the paper's formula; a negative y_s flips the
    map, its standard deviation is then -y_s,i) and shifted by y_b,i: the output's channel i has mean y_b,i
    and, for y_s,i > 0 (A's bias starts y_s at 1), standard deviation y_s,i."""
    _check(x, "x", 4, "[N, C, H, W]")
    for name, y in (("y_s", y_s), ("y_b", y_b)):
        _check(y, name, 2, f"[N, C] = {list(x.shape[:2])}")
        if y.shape != x.shape[:2]:
            raise ValueError(f"{name}: expected shape {list(x.shape[:2])} ([N, C] of x), got {list(y.shape)}")
    mu = x.mean(dim=(2, 3), keepdim=True)
    sigma = (x.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return y_s[:, :, None, None] * (x - mu) / sigma + y_b[:, :, None, None]


class AdaIN(nn.Module):
    """AdaIN with its affine map A: y = (y_s, y_b) = A(w), y_s initialised around 1 (A's bias 1 for the
    scales; StyleGAN's code writes the same as (1 + y_s) with bias 0) and y_b around 0."""

    def __init__(self, channels: int, w_dim: int):
        super().__init__()
        self.affine = EqualizedLinear(w_dim, 2 * channels)
        with torch.no_grad():
            self.affine.bias[:channels] = 1.0
        self.channels = channels

    def style(self, w: Tensor) -> tuple:
        y = self.affine(w)
        return y[:, :self.channels], y[:, self.channels:]

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return adain(x, *self.style(w))


class NoiseInjection(nn.Module):
    """B: x + b_c * n, n ~ N(0, 1) one single-channel image per sample [N, 1, H, W], broadcast over the
    channels and scaled by a learned factor b_c per channel (initialised to 0)."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, noise: Optional[Tensor] = None) -> Tensor:
        n, _, h, w = x.shape
        if noise is None:
            noise = torch.randn(n, 1, h, w, device=x.device, dtype=x.dtype)
        elif tuple(noise.shape) != (n, 1, h, w):
            raise ValueError(f"noise: expected a tensor [N, 1, H, W] = {[n, 1, h, w]}, got {list(noise.shape)}")
        return x + self.weight[None, :, None, None] * noise


def modulated_weight(weight: Tensor, s: Tensor, demodulate: bool = True, eps: float = 1e-8) -> Tensor:
    """Per-sample weights [N, C_out, C_in, K, K] from weight [C_out, C_in, K, K] (j, i, k) and styles s [N, C_in].

    Modulation: w'_ijk = s_i w_ijk (each INPUT channel i scaled by its style). Demodulation:
    w''_ijk = w'_ijk / sqrt(sum_{i,k} w'_ijk^2 + eps), the sum over input channels and kernel positions
    for each output channel j (Karras et al., 2020, eqs. 1 and 3)."""
    _check(weight, "weight", 4, "[C_out, C_in, K, K]")
    _check(s, "s", 2, f"[N, C_in] with C_in = {weight.shape[1]}")
    if s.shape[1] != weight.shape[1]:
        raise ValueError(f"s: expected [N, C_in] with C_in = {weight.shape[1]}, got {list(s.shape)}")
    w = weight[None] * s[:, None, :, None, None]
    if demodulate:
        w = w * torch.rsqrt(w.square().sum(dim=(2, 3, 4), keepdim=True) + eps)
    return w


def modulated_conv2d(x: Tensor, weight: Tensor, s: Tensor, demodulate: bool = True, eps: float = 1e-8) -> Tensor:
    """Modulated (and demodulated) convolution of x [N, C_in, H, W], 'same' padding, as one grouped conv:
    the batch becomes N groups of a [1, N * C_in, H, W] input (Karras et al., 2020, appendix B)."""
    _check(x, "x", 4, "[N, C_in, H, W]")
    n, c_in, h, w_ = x.shape
    s = V.finite_values("s", V.float_tensor("s", s, f"a float tensor [N, C_in] with N = {n}"))
    if s.ndim != 2 or s.shape[0] != n:
        raise ValueError(f"s: expected [N, C_in] with N = {n} (the batch of x), got {list(s.shape)}")
    w = modulated_weight(weight, s, demodulate, eps)  # [N, C_out, C_in, K, K]
    c_out, k = w.shape[1], w.shape[-1]
    out = F.conv2d(x.reshape(1, n * c_in, h, w_), w.reshape(n * c_out, c_in, k, k), padding=k // 2, groups=n)
    return out.reshape(n, c_out, h, w_)


def modulated_conv2d_reference(x: Tensor, weight: Tensor, s: Tensor, demodulate: bool = True,
                               eps: float = 1e-8) -> Tensor:
    """The same convolution written the slow, obvious way: a loop over samples, each with its own weights."""
    outs = []
    for b in range(x.shape[0]):
        w = weight * s[b][None, :, None, None]
        if demodulate:
            w = w / torch.sqrt((w ** 2).sum(dim=(1, 2, 3), keepdim=True) + eps)
        outs.append(F.conv2d(x[b:b + 1], w, padding=weight.shape[-1] // 2))
    return torch.cat(outs)


class ModulatedConv2d(nn.Module):
    """A StyleGAN2 convolution: styles s = A(w) (bias initialised to 1), equalised weights, optional 2x
    bilinear upsampling before the convolution. That upsampling is a SUBSTITUTE for the paper's, not a
    checked equivalent. Bilinear 2x interpolation equals inserting zeros and filtering with the
    [1, 3, 3, 1] / 4 kernel per axis, exactly away from a one-pixel border (PyTorch repeats the edge pixel,
    the paper's ``upfirdn2d`` pads with zeros; tests/test_stylegan.py checks both facts). StyleGAN2's code
    instead runs a stride-2 transposed 3x3 convolution and then that low-pass filter: the same operations in
    another order, with other padding and alignment, and this module was not compared with it numerically.
    The skip generator's image upsampling (``models/stylegan.py``) is bilinear too, where the paper's code
    upsamples with the same filter (zero padding)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, w_dim: int, demodulate: bool = True,
                 upsample: bool = False):
        super().__init__()
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.scale = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.demodulate, self.upsample = demodulate, upsample

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return modulated_conv2d(x, self.weight * self.scale, self.affine(w), self.demodulate)
