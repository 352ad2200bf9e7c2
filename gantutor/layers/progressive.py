"""The layers of ProGAN (Karras et al., 2018, "Progressive Growing of GANs", arXiv 1710.10196).

* :func:`pixel_norm` (section 4.2): b_{x,y} = a_{x,y} / sqrt((1/N) sum_{j=0}^{N-1} (a^j_{x,y})^2 + eps),
  each pixel's feature vector scaled to unit root mean square over its N channels;
* equalised learning rate (section 4.1): weights drawn from N(0, 1) and multiplied at run time by He's
  constant c = gain / sqrt(fan_in) (:func:`he_constant`, gain sqrt(2)): :class:`EqualizedConv2d`,
  :class:`EqualizedLinear`;
* :func:`minibatch_stddev` (section 3, "increasing variation using minibatch standard deviation"): the
  standard deviation of each feature at each pixel over a group of M samples, averaged into one number
  per group and appended as one constant feature map, so that D can see how varied its batch is;
* the fade-in of a new block (section 2, figure 2): :func:`fade_in` = alpha * new + (1 - alpha) * old,
  with :func:`upsample` (nearest neighbour, 2x) and :func:`downsample` (2 x 2 average pooling), and the
  real images blended the same way, :func:`blend_real`. The generator's toRGB is linear and it has no
  output activation, so its faded image is a blend of two images in pixel space, the same operation.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate as V

Tensor = torch.Tensor


def _check_maps(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor) or x.ndim != 4 or not x.is_floating_point():
        got = f"{x.dtype} {list(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name}: expected a float tensor [N, C, H, W], got {got}")


def pixel_norm(a: Tensor, eps: float = 1e-8) -> Tensor:
    """Section 4.2: a [N, C, H, W] divided, at every pixel, by the root mean square of its C channels
    sqrt((1/C) sum_j (a^j)^2 + eps). (The sum is of SQUARES and runs over the C channels j = 0 .. C-1;
    the output's feature vector has length sqrt(C), i.e. unit RMS, not unit length.)"""
    _check_maps(a, "a")
    return a * torch.rsqrt(a.pow(2).mean(dim=1, keepdim=True) + eps)


class PixelNorm(nn.Module):
    """:func:`pixel_norm` as a layer (no trainable weights); also normalises latent vectors [N, C]."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, a: Tensor) -> Tensor:
        if a.ndim == 2:  # a latent vector z [N, C]: the same formula with one "pixel"
            return pixel_norm(a[:, :, None, None], self.eps)[:, :, 0, 0]
        return pixel_norm(a, self.eps)


def he_constant(fan_in: int, gain: float = math.sqrt(2.0)) -> float:
    """He et al.'s per-layer normalisation constant c = gain / sqrt(fan_in), fan_in = C_in * k * k
    (the inputs each output sums over; NOT fan_out = C_out * k * k)."""
    if isinstance(fan_in, bool) or not isinstance(fan_in, int) or fan_in < 1:
        raise ValueError(f"fan_in: expected a positive integer, got {fan_in!r}")
    return gain / math.sqrt(fan_in)


class EqualizedConv2d(nn.Module):
    """A k x k convolution (stride 1, 'same' padding) with an equalised learning rate (section 4.1):
    the stored weight w ~ N(0, 1) is used as w_hat = c * w, c = :func:`he_constant` (fan_in = C_in k^2),
    at every forward pass. Biases start at 0. Adam's update of w is about lr whatever the layer's
    fan-in, so every layer's effective weights w_hat change at a rate proportional to their scale c."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, gain: float = math.sqrt(2.0)):
        super().__init__()
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels), ("kernel_size", kernel_size)):
            V.positive_int(arg, v)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = he_constant(in_channels * kernel_size * kernel_size, gain)
        self.padding = kernel_size // 2

    def forward(self, x: Tensor) -> Tensor:
        _check_maps(x, "x")
        if x.shape[1] != self.weight.shape[1]:
            raise ValueError(f"x: expected {self.weight.shape[1]} channels, got {x.shape[1]} ({list(x.shape)})")
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        o, i, k, _ = self.weight.shape
        return f"{i}, {o}, kernel_size={k}, scale={self.scale:.4g}"


class EqualizedLinear(nn.Module):
    """A fully connected layer with an equalised learning rate: w ~ N(0, 1) used as c * w, c =
    gain / sqrt(in_features)."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2.0)):
        super().__init__()
        V.positive_int("in_features", in_features)
        V.positive_int("out_features", out_features)
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = he_constant(in_features, gain)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.weight.shape[1]:
            raise ValueError(f"x: expected a tensor [N, {self.weight.shape[1]}], got {list(x.shape)}")
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self) -> str:
        o, i = self.weight.shape
        return f"{i}, {o}, scale={self.scale:.4g}"


def minibatch_stddev(x: Tensor, group_size: int = 4, eps: float = 1e-8) -> Tensor:
    """Section 3: x [N, C, H, W] -> [N, C + 1, H, W]. The batch is split into groups of M = ``group_size``
    samples (sample n in group n mod (N / M), as the official code's reshape [M, N/M, ...] does); in
    each group, the standard deviation of every feature at every pixel over the group's M samples,
    sqrt(mean((x - mean)^2) + eps), is averaged over features and pixels into one number, which fills the
    extra feature map of every sample in that group. M = min(group_size, N) must divide N. (The paper
    introduces it to increase the variation of the generated images: D can tell a batch of too-similar
    fakes from a batch of reals by this one statistic.)"""
    _check_maps(x, "x")
    V.positive_int("group_size", group_size)
    n, c, h, w = x.shape
    m = min(group_size, n)
    if m < 1 or n % m:
        raise ValueError(f"x: the batch size {n} must be a multiple of the group size {m}")
    y = x.reshape(m, n // m, c, h, w)
    y = y - y.mean(dim=0, keepdim=True)
    std = (y.pow(2).mean(dim=0) + eps).sqrt()        # [N/M, C, H, W]
    s = std.mean(dim=(1, 2, 3))                      # [N/M]: one number per group
    s = s.repeat(m)[:, None, None, None].expand(n, 1, h, w)
    return torch.cat([x, s], dim=1)


class MinibatchStdDev(nn.Module):
    """:func:`minibatch_stddev` as a layer (adds one feature map)."""

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: Tensor) -> Tensor:
        return minibatch_stddev(x, self.group_size)


def upsample(x: Tensor) -> Tensor:
    """Nearest-neighbour 2x upsampling ("2x" in the paper's figure 2): every pixel becomes a 2 x 2 block."""
    _check_maps(x, "x")
    return F.interpolate(x, scale_factor=2, mode="nearest")


def downsample(x: Tensor) -> Tensor:
    """2 x 2 average pooling ("0.5x" in figure 2)."""
    _check_maps(x, "x")
    if x.shape[-1] % 2 or x.shape[-2] % 2:
        raise ValueError(f"x: expected an even height and width, got {list(x.shape)}")
    return F.avg_pool2d(x, 2)


def resize_to(x: Tensor, side: int) -> Tensor:
    """Average-pool x [N, C, S, S] down to ``side`` x ``side`` (S / side a power of 2)."""
    _check_maps(x, "x")
    if x.shape[-1] % side or x.shape[-1] < side:
        raise ValueError(f"side: {side} does not divide the image side {x.shape[-1]}")
    return F.avg_pool2d(x, x.shape[-1] // side) if x.shape[-1] != side else x


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha: the fade-in weight must lie in [0, 1], got {alpha}")
    return alpha


def fade_in(alpha: float, new: Tensor, old: Tensor) -> Tensor:
    """Figure 2 (b): alpha * new + (1 - alpha) * old. ``new`` comes through the new block, ``old`` is the
    previous resolution's output brought to the same size (G: upsampled toRGB; D: fromRGB of the
    downsampled image). alpha = 0 is the old network, alpha = 1 the new one."""
    alpha = _check_alpha(alpha)
    if new.shape != old.shape:
        raise ValueError(f"old: expected the shape of new {list(new.shape)}, got {list(old.shape)}")
    return alpha * new + (1.0 - alpha) * old


def blend_real(x: Tensor, alpha: float) -> Tensor:
    """Real images x [N, C, S, S] at the current resolution during a fade-in (figure 2's caption, and the
    official code's process_reals): alpha * x + (1 - alpha) * upsample(downsample(x)), a blend of two
    images in pixel space. G's faded output is the same operation, alpha * new image + (1 - alpha) *
    upsample(old image), because nothing follows the blend: ProGAN's toRGB layers are linear and its
    generator has no output activation (appendix A.1, official code). An activation AFTER the blend
    would break it: tanh(alpha a + (1 - alpha) b) differs from alpha tanh(a) + (1 - alpha) tanh(b) in
    between, and D would see fakes and reals blended differently. An activation applied to each path
    BEFORE the blend (alpha tanh(a) + (1 - alpha) up(tanh(b))) would still blend two images by the reals'
    rule; it is simply not ProGAN's design."""
    return fade_in(alpha, x, upsample(downsample(x)))
