"""CycleGAN's networks (Zhu et al., 2017, section 4 and appendix 7.2), sized for 32 x 32 images.

- :class:`ResnetGenerator`: reflection padding, a 7 x 7 stem, stride-2 downsampling, residual blocks,
  upsampling back (resize-convolution or transposed convolution), a 7 x 7 tanh output. Instance norm
  (Ulyanov et al., 2016) throughout, as in the paper ("c7s1-k, dk, Rk, uk" of appendix 7.2).
- :class:`PatchDiscriminator`: the PatchGAN (Isola et al., 2017): a fully convolutional net whose every
  output scores one overlapping patch of the input; :func:`receptive_field` gives the patch size (70 for
  the paper's three stride-2 and two stride-1 layers of kernel 4; 34 for this book's ``n_layers=2``: two
  stride-2 and two stride-1).
- :class:`CycleGenerators`: G: X -> Y and F: Y -> X in one module (what a checkpoint ships).
- :func:`init_normal_`: weights from N(0, 0.02^2), biases 0 (section 7.1).

The losses and the training game are in :mod:`gantutor.models.cyclegan_game`.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
from torch import nn

from .. import validate as V

Tensor = torch.Tensor


def check_images(x: Tensor, name: str, channels: int) -> Tensor:
    """A float image batch [N, channels, H, W], N >= 1, in [-1, 1] (within [-10, 10]: [0, 255] pixels are
    caught; value checks skipped inside the training loop); a clear error otherwise."""
    if not isinstance(x, Tensor) or x.ndim != 4 or not x.is_floating_point() or x.shape[1] != channels \
            or x.shape[0] == 0:
        got = f"{x.dtype} {list(x.shape)}" if isinstance(x, Tensor) else V.describe(x)
        raise ValueError(f"{name}: expected a float tensor [N, {channels}, H, W], got {got}")
    return V.in_range(name, x, -1.0, 1.0, tolerance=9.0, what="pixel values")


def init_normal_(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Every convolution's weight from N(0, std^2) and its bias 0 (Zhu et al., 2017, section 7.1:
    "weights are initialized from a Gaussian distribution N(0, 0.02)"); returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class ResidualBlock(nn.Module):
    """x + [pad, conv 3x3, IN, ReLU, pad, conv 3x3, IN](x): the "Rk" block (He et al., 2016, as in
    Johnson et al., 2016), reflection padding so that the border is not a zero frame."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def upsample_block(c_in: int, c_out: int, mode: str) -> List[nn.Module]:
    """Double the side: ``"resize"`` = nearest-neighbour x2 then a 3 x 3 convolution (Odena et al.,
    2016: no checkerboard); ``"transposed"`` = ConvTranspose2d(k=3, s=2, p=1, output_padding=1), the
    paper's "uk" layer (k = 3 not divisible by s = 2: uneven overlap, chapter 6)."""
    if mode == "resize":
        conv = [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3)]
    elif mode == "transposed":
        conv = [nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)]
    else:
        raise ValueError(f"upsample: expected 'resize' or 'transposed', got {mode!r}")
    return conv + [nn.InstanceNorm2d(c_out), nn.ReLU(True)]


class ResnetGenerator(nn.Module):
    """The ResNet generator: c7s1-ngf, d(2 ngf), d(4 ngf), n_blocks x R(4 ngf), u(2 ngf), u(ngf),
    c7s1-out with tanh (Zhu et al., 2017, appendix 7.2, for ``n_down = 2``; they use 6 blocks at 128 px,
    9 at 256 px; here fewer and narrower for 32 px on a CPU). Images in [-1, 1], [N, in_channels, H, W]
    with H, W divisible by 2 ** n_down."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 16, n_blocks: int = 4,
                 n_down: int = 2, upsample: str = "resize"):
        super().__init__()
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels), ("ngf", ngf), ("n_down", n_down)):
            V.positive_int(arg, v)
        V.non_negative_int("n_blocks", n_blocks)
        self.in_channels, self.out_channels, self.n_down = in_channels, out_channels, n_down
        layers: List[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7),
                                   nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        c = ngf
        for _ in range(n_down):
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * c), nn.ReLU(True)]
            c *= 2
        layers += [ResidualBlock(c) for _ in range(n_blocks)]
        for _ in range(n_down):
            layers += upsample_block(c, c // 2, upsample)
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_normal_(self)

    def forward(self, x: Tensor) -> Tensor:
        check_images(x, "x", self.in_channels)
        step = 2 ** self.n_down
        if x.shape[-1] % step or x.shape[-2] % step:
            raise ValueError(f"x: height and width must be divisible by {step}, got {list(x.shape[-2:])}")
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN: C(ndf) without norm, then ``n_layers - 1`` more stride-2 layers C(2^i ndf) and one
    stride-1 layer, all 4 x 4 with instance norm and LeakyReLU(0.2), then a 4 x 4 convolution to one
    channel. Returns raw scores [N, 1, h, w], one per patch (the LSGAN loss takes them as they are).
    ``n_layers = 3`` is the paper's 70 x 70 PatchGAN (appendix 7.2: C64-C128-C256-C512)."""

    def __init__(self, in_channels: int = 3, ndf: int = 32, n_layers: int = 2):
        super().__init__()
        for arg, v in (("in_channels", in_channels), ("ndf", ndf), ("n_layers", n_layers)):
            V.positive_int(arg, v)
        self.in_channels = in_channels
        layers: List[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = ndf
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1
            c_out = ndf * min(2 ** i, 8)
            layers += [nn.Conv2d(c, c_out, 4, stride, 1), nn.InstanceNorm2d(c_out), nn.LeakyReLU(0.2, True)]
            c = c_out
        layers += [nn.Conv2d(c, 1, 4, 1, 1)]
        self.net = nn.Sequential(*layers)
        init_normal_(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(check_images(x, "x", self.in_channels))


def conv_geometry(net: nn.Module) -> List[Tuple[int, int]]:
    """(kernel, stride) of every convolution of ``net`` in order (pooling and padding layers excluded)."""
    out = []
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            out.append((m.kernel_size[0], m.stride[0]))
    return out


def receptive_field(layers: Sequence[Tuple[int, int]]) -> int:
    """Side of the input patch that one output unit sees, for a chain of (kernel k_l, stride s_l):
    r = 1 + sum_l (k_l - 1) * prod_{m < l} s_m. Paddings shift the patch, not its size."""
    r, jump = 1, 1
    for k, s in layers:
        r += (k - 1) * jump
        jump *= s
    return r


class CycleGenerators(nn.Module):
    """Both generators of a CycleGAN, G: X -> Y and F: Y -> X, as one module (one state dict)."""

    def __init__(self, G: nn.Module, F: nn.Module):
        super().__init__()
        self.G, self.F = G, F

    def forward(self, x: Tensor) -> Tensor:
        """G(x) (the X -> Y direction); use ``.F`` for the other one."""
        return self.G(x)


def emoji_generators(ngf: int = 16, n_blocks: int = 4, upsample: str = "resize") -> CycleGenerators:
    """The chapter's pair for 32 x 32 RGB emoji: two :class:`ResnetGenerator` of the same shape."""
    return CycleGenerators(ResnetGenerator(3, 3, ngf, n_blocks, 2, upsample),
                           ResnetGenerator(3, 3, ngf, n_blocks, 2, upsample))
