"""StyleGAN (Karras et al., 2019) and StyleGAN2 (Karras et al., 2020) generators and the residual
discriminator, small enough for a CPU at 32 x 32 (4 x 4 -> 8 -> 16 -> 32, no progressive growing).

- :class:`MappingNetwork` f: z -> w, 8 equalised fully connected layers with learning-rate multiplier 0.01,
  and ``w_avg``, a moving average of w updated in training (for the truncation trick);
- :func:`truncate`: w' = w_avg + psi (w - w_avg) with one psi per level (2019, appendix B);
- :func:`mix_styles`: levels below ``crossover`` take w1, the rest w2 (style mixing, 2019, section 3.1);
- :class:`StyleGenerator`: ``kind="adain"`` (StyleGAN1 synthesis: constant 4 x 4 input, noise B, AdaIN
  after every convolution) or ``kind="stylegan2"`` (skip generator, modulated and demodulated
  convolutions, noise outside the style block, toRGB outputs summed across resolutions);
- :class:`ResidualDiscriminator` with minibatch standard deviation (2020, Fig. 7c; Karras et al., 2018).

A level is one of the ``num_ws`` = 8 copies of w the synthesis network reads. Which layers a level
modulates depends on the generator: :func:`level_layers` lists them (read from the same wiring
:meth:`StyleGenerator.synthesis` uses). In StyleGAN (AdaIN) levels 2b, 2b + 1 drive the two AdaINs at
resolution 4 * 2^b. In StyleGAN2, as in the paper's code, a toRGB layer shares its w with the next
resolution's first (upsampling) convolution: level 0 = conv 4; 1 = toRGB 4 + conv 8 (up); 2 = conv 8;
3 = toRGB 8 + conv 16 (up); 4 = conv 16; 5 = toRGB 16 + conv 32 (up); 6 = conv 32; 7 = toRGB 32.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.progressive import minibatch_stddev
from ..layers.style import AdaIN, EqualizedConv2d, EqualizedLinear, ModulatedConv2d, NoiseInjection
from .. import validate as V

Tensor = torch.Tensor
RESOLUTIONS = (4, 8, 16, 32)
NUM_WS = 2 * len(RESOLUTIONS)
SQRT2 = math.sqrt(2.0)


def lrelu(x: Tensor) -> Tensor:
    """Leaky ReLU (slope 0.2) times sqrt(2), the gain that keeps unit variance (as StyleGAN's code does)."""
    return F.leaky_relu(x, 0.2) * SQRT2


KINDS = ("stylegan2", "adain")


def block_levels(kind: str, b: int) -> List[Tuple[int, str, int]]:
    """(level, layer, resolution) for each styled layer of synthesis block ``b`` (0 = 4 x 4), in the
    order the block applies them. The one source of the level wiring: synthesis reads it, and so do
    :func:`level_layers` and the chapter's labels."""
    V.one_of("kind", kind, KINDS)
    V.integer("b", b, 0, len(RESOLUTIONS) - 1)
    r = RESOLUTIONS[b]
    if kind == "adain":
        return [(2 * b, "AdaIN 0", r), (2 * b + 1, "AdaIN 1", r)]
    if b == 0:
        return [(0, "conv", r), (1, "toRGB", r)]
    return [(2 * b - 1, "conv up", r), (2 * b, "conv", r), (2 * b + 1, "toRGB", r)]


def level_layers(kind: str = "stylegan2") -> List[List[Tuple[str, int]]]:
    """Per level (index of w, 0-7): the (layer, resolution) pairs it modulates, from :func:`block_levels`.
    StyleGAN2: [[conv 4], [toRGB 4, conv up 8], [conv 8], [toRGB 8, conv up 16], [conv 16],
    [toRGB 16, conv up 32], [conv 32], [toRGB 32]]."""
    out: List[List[Tuple[str, int]]] = [[] for _ in range(NUM_WS)]
    for b in range(len(RESOLUTIONS)):
        for level, layer, r in block_levels(kind, b):
            out[level].append((layer, r))
    return [sorted(layers, key=lambda lr: lr[1]) for layers in out]


def level_resolution(level: int, kind: str = "stylegan2") -> int:
    """The highest resolution among the layers a level modulates (:func:`level_layers`). StyleGAN2:
    0 -> 4, 1-2 -> 8, 3-4 -> 16, 5-7 -> 32; StyleGAN (AdaIN): 0-1 -> 4, 2-3 -> 8, 4-5 -> 16, 6-7 -> 32."""
    V.integer("level", level, 0, NUM_WS - 1)
    return max(r for _, r in level_layers(kind)[level])


def level_groups(kind: str = "stylegan2") -> Dict[str, Tuple[int, int]]:
    """The paper's coarse / middle / fine styles as level ranges [lo, hi): levels whose highest resolution
    (:func:`level_resolution`) is 4-8, 16 and 32 pixels. StyleGAN2: coarse [0, 3), middle [3, 5), fine [5, 8)."""
    res = [level_resolution(i, kind) for i in range(NUM_WS)]
    groups = {}
    for name, rs in (("coarse", (4, 8)), ("middle", (16,)), ("fine", (32,))):
        levels = [i for i, r in enumerate(res) if r in rs]
        groups[name] = (levels[0], levels[-1] + 1)
    return groups


def describe_levels(lo: int, hi: int, kind: str = "stylegan2") -> str:
    """The layers levels [lo, hi) modulate, as text: e.g. "conv 4, toRGB 4, conv up 8, conv 8"."""
    layers = level_layers(kind)[lo:hi]
    return ", ".join(f"{name} {r}" for level in layers for name, r in level)


class MappingNetwork(nn.Module):
    """f: z -> w. z is normalised to unit mean square first (pixel norm), then ``n_layers`` equalised
    linear layers with leaky ReLU, all with learning-rate multiplier ``lr_mul`` (0.01 in the paper).
    ``w_avg`` (a buffer) follows w_avg <- w_avg + (1 - beta) (mean_batch w - w_avg) in training mode."""

    def __init__(self, z_dim: int = 64, w_dim: int = 64, n_layers: int = 8, lr_mul: float = 0.01,
                 avg_beta: float = 0.995):
        super().__init__()
        dims = [z_dim] + [w_dim] * n_layers
        self.layers = nn.ModuleList(EqualizedLinear(a, b, lr_mul=lr_mul) for a, b in zip(dims, dims[1:]))
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.z_dim, self.w_dim, self.avg_beta = z_dim, w_dim, avg_beta

    def forward(self, z: Tensor, update_avg: Optional[bool] = None) -> Tensor:
        z = V.float_tensor("z", z, f"a float tensor [N, {self.z_dim}]")
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z: expected a float tensor [N, {self.z_dim}], got {list(z.shape)}")
        V.finite_values("z", z)
        x = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
        for layer in self.layers:
            x = lrelu(layer(x))
        if self.training if update_avg is None else update_avg:
            with torch.no_grad():
                self.w_avg.lerp_(x.detach().mean(0), 1.0 - self.avg_beta)
        return x


def truncate(ws: Tensor, w_avg: Tensor, psi: Union[float, Sequence[float], Tensor]) -> Tensor:
    """w' = w_avg + psi (w - w_avg) per level: ws [N, L, D]; psi a number or L numbers (per-level psi)."""
    ws = V.float_tensor("ws", ws, "a float tensor [N, L, D]")
    w_avg = V.float_tensor("w_avg", w_avg, "a float tensor [D]")
    if ws.ndim != 3 or w_avg.shape != ws.shape[2:]:
        raise ValueError(f"ws: expected [N, L, D] with D = {list(w_avg.shape)}, got {list(ws.shape)}")
    if isinstance(psi, (str, bytes)) or psi is None:
        V.fail("psi", "a number or one number per level", psi, error=TypeError)
    psi = torch.as_tensor(psi, dtype=ws.dtype, device=ws.device)
    if not bool(torch.isfinite(psi).all()):
        V.fail("psi", "finite numbers (1 = no truncation, 0 = the average w)", f"{psi.tolist()}")
    if psi.ndim == 1:
        if psi.shape[0] != ws.shape[1]:
            raise ValueError(f"psi: expected one value per level ({ws.shape[1]}), got {psi.shape[0]}")
        psi = psi[None, :, None]
    return w_avg + psi * (ws - w_avg)


def mix_styles(w1: Tensor, w2: Tensor, crossover: int, num_ws: int = NUM_WS) -> Tensor:
    """Levels [0, crossover) from w1 and [crossover, num_ws) from w2: [N, num_ws, D] from two [N, D]."""
    V.integer("crossover", crossover, 0, num_ws)
    w1 = V.float_tensor("w1", w1, "a float tensor [N, D]")
    w2 = V.float_tensor("w2", w2, "a float tensor [N, D]")
    if w1.ndim != 2 or w2.shape != w1.shape:
        V.fail("w2" if w1.ndim == 2 else "w1", f"a float tensor [N, D] like w1 {tuple(w1.shape)}", w2 if w1.ndim == 2 else w1)
    ws = w1[:, None].repeat(1, num_ws, 1)
    ws[:, crossover:] = w2[:, None]
    return ws


class _AdaINBlock(nn.Module):
    """StyleGAN1 at one resolution: [upsample, conv] or constant, noise, bias + lrelu, AdaIN; twice."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, first: bool):
        super().__init__()
        self.first = first
        self.conv0 = None if first else EqualizedConv2d(c_in, c_out, 3, bias=False)
        self.conv1 = EqualizedConv2d(c_out, c_out, 3, bias=False)
        self.noise0, self.noise1 = NoiseInjection(c_out), NoiseInjection(c_out)
        self.bias0, self.bias1 = nn.Parameter(torch.zeros(c_out)), nn.Parameter(torch.zeros(c_out))
        self.adain0, self.adain1 = AdaIN(c_out, w_dim), AdaIN(c_out, w_dim)

    def forward(self, x: Tensor, w0: Tensor, w1: Tensor, noise: List[Optional[Tensor]], taps=None) -> Tensor:
        if not self.first:
            x = self.conv0(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
        x = lrelu(self.noise0(x, noise[0]) + self.bias0[None, :, None, None])
        if taps is not None:
            taps.append(x)
        x = self.adain0(x, w0)
        x = lrelu(self.noise1(self.conv1(x), noise[1]) + self.bias1[None, :, None, None])
        if taps is not None:
            taps.append(x)
        return self.adain1(x, w1)


class _SkipBlock(nn.Module):
    """StyleGAN2 at one resolution: modulated convs (the first upsampling, or one conv at 4 x 4), each
    followed by noise, bias and lrelu; a toRGB (modulated 1 x 1, not demodulated) added to the image."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, img_channels: int, first: bool):
        super().__init__()
        self.first = first
        self.conv0 = None if first else ModulatedConv2d(c_in, c_out, 3, w_dim, upsample=True)
        self.conv1 = ModulatedConv2d(c_in if first else c_out, c_out, 3, w_dim)
        self.noise0 = None if first else NoiseInjection(c_out)
        self.noise1 = NoiseInjection(c_out)
        self.bias0, self.bias1 = nn.Parameter(torch.zeros(c_out)), nn.Parameter(torch.zeros(c_out))
        self.to_rgb = ModulatedConv2d(c_out, img_channels, 1, w_dim, demodulate=False)
        self.rgb_bias = nn.Parameter(torch.zeros(img_channels))

    def forward(self, x, img, ws: List[Tensor], noise: List[Optional[Tensor]], taps=None):
        """ws: the levels this block reads (conv0 or none, conv1, toRGB)."""
        if not self.first:
            x = lrelu(self.noise0(self.conv0(x, ws[0]), noise[0]) + self.bias0[None, :, None, None])
            if taps is not None:
                taps.append(x)
        x = lrelu(self.noise1(self.conv1(x, ws[-2]), noise[-1]) + self.bias1[None, :, None, None])
        if taps is not None:
            taps.append(x)
        rgb = self.to_rgb(x, ws[-1]) + self.rgb_bias[None, :, None, None]
        img = rgb if img is None else F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False) + rgb
        return x, img


class StyleGenerator(nn.Module):
    """G = synthesis(mapping(z)) at 32 x 32. ``kind``: ``"stylegan2"`` (default) or ``"adain"`` (StyleGAN1).

    ``forward(z, psi=1, noise="random")``; ``mapping(z)`` -> w [N, w_dim]; ``synthesis(ws, noise)`` with
    ws [N, 8, w_dim]; ``noise`` is ``"random"``, ``"zero"`` or a list of [N, 1, H, W] tensors (or None for
    zero) per noise layer, see ``noise_resolutions``. ``mixing_prob``: in training, the share of batches
    that use two latents with a random crossover level (mixing regularisation; 0.9 in the paper)."""

    def __init__(self, z_dim: int = 64, w_dim: int = 64, channels: Sequence[int] = (128, 128, 64, 32),
                 img_channels: int = 3, kind: str = "stylegan2", mapping_layers: int = 8, mixing_prob: float = 0.9):
        super().__init__()
        if kind not in ("stylegan2", "adain"):
            raise ValueError(f"kind: expected 'stylegan2' or 'adain', got {kind!r}")
        if len(channels) != len(RESOLUTIONS):
            raise ValueError(f"channels: expected {len(RESOLUTIONS)} widths (4, 8, 16, 32), got {list(channels)}")
        self.kind, self.z_dim, self.w_dim, self.img_channels = kind, z_dim, w_dim, img_channels
        self.num_ws, self.mixing_prob = NUM_WS, mixing_prob
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers)
        self.const = nn.Parameter(torch.randn(1, channels[0], 4, 4))
        ins = [channels[0]] + list(channels[:-1])
        if kind == "adain":
            self.blocks = nn.ModuleList(_AdaINBlock(a, b, w_dim, i == 0) for i, (a, b) in enumerate(zip(ins, channels)))
            self.to_rgb = EqualizedConv2d(channels[-1], img_channels, 1)
            self.noise_resolutions = [r for r in RESOLUTIONS for _ in range(2)]
        else:
            self.blocks = nn.ModuleList(_SkipBlock(a, b, w_dim, img_channels, i == 0)
                                        for i, (a, b) in enumerate(zip(ins, channels)))
            self.noise_resolutions = [4] + [r for r in RESOLUTIONS[1:] for _ in range(2)]

    def make_noise(self, n: int, mode="random", device=None) -> List[Optional[Tensor]]:
        """One noise image [n, 1, r, r] per noise layer ("random"), or None everywhere ("zero")."""
        if not isinstance(mode, str):
            if len(mode) != len(self.noise_resolutions):
                raise ValueError(f"noise: expected {len(self.noise_resolutions)} maps, got {len(mode)}")
            return list(mode)
        if mode not in ("random", "zero"):
            raise ValueError(f"noise: expected 'random', 'zero' or a list of maps, got {mode!r}")
        device = device or self.const.device
        return [torch.randn(n, 1, r, r, device=device) if mode == "random" else None for r in self.noise_resolutions]

    def synthesis(self, ws: Tensor, noise="random", taps: Optional[list] = None) -> Tensor:
        """Images [N, C, 32, 32] from per-level styles ws [N, 8, w_dim]; ``taps`` collects feature maps."""
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws: expected [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        n = ws.shape[0]
        noise = [torch.zeros(n, 1, r, r, device=ws.device) if m is None else m
                 for m, r in zip(self.make_noise(n, noise, ws.device), self.noise_resolutions)]
        x = self.const.expand(n, -1, -1, -1)
        if self.kind == "adain":
            for b, block in enumerate(self.blocks):
                (l0, _, _), (l1, _, _) = block_levels(self.kind, b)
                x = block(x, ws[:, l0], ws[:, l1], noise[2 * b:2 * b + 2], taps)
            return self.to_rgb(x)
        img, k = None, 0
        for b, block in enumerate(self.blocks):
            levels = [ws[:, level] for level, _, _ in block_levels(self.kind, b)]
            used = len(levels) - 1            # one noise map per convolution (not the toRGB)
            x, img = block(x, img, levels, noise[k:k + used], taps)
            k += used
        return img

    def styles(self, z: Tensor, psi=1.0, z2: Optional[Tensor] = None, crossover: Optional[int] = None) -> Tensor:
        """ws [N, 8, w_dim]: mapping, optional mixing with z2 from level ``crossover``, truncation by psi."""
        w = self.mapping(z)
        if z2 is None:
            ws = w[:, None].repeat(1, self.num_ws, 1)
        else:
            ws = mix_styles(w, self.mapping(z2), self.num_ws if crossover is None else crossover, self.num_ws)
        if not (isinstance(psi, (int, float)) and psi == 1.0):
            ws = truncate(ws, self.mapping.w_avg, psi)
        return ws

    def forward(self, z: Tensor, psi=1.0, noise="random") -> Tensor:
        z2 = crossover = None
        if self.training and self.mixing_prob > 0 and float(torch.rand(())) < self.mixing_prob:
            z2 = torch.randn_like(z)
            crossover = int(torch.randint(1, self.num_ws, ()))
        return self.synthesis(self.styles(z, psi, z2, crossover), noise)


class _ResBlock(nn.Module):
    """(conv 3x3, lrelu, conv 3x3, lrelu, 2x average pool) + (2x average pool, 1x1 conv), divided by sqrt(2)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv0, self.conv1 = EqualizedConv2d(c_in, c_in, 3), EqualizedConv2d(c_in, c_out, 3)
        self.skip = EqualizedConv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        y = F.avg_pool2d(lrelu(self.conv1(lrelu(self.conv0(x)))), 2)
        return (y + self.skip(F.avg_pool2d(x, 2))) / SQRT2


class ResidualDiscriminator(nn.Module):
    """D: fromRGB at 32 x 32, residual blocks down to 4 x 4, minibatch stddev, conv, two linear layers."""

    def __init__(self, channels: Sequence[int] = (128, 128, 64, 32), img_channels: int = 3, mbstd_group: int = 4):
        super().__init__()
        c = list(channels)[::-1]  # widths at 32, 16, 8, 4
        self.from_rgb = EqualizedConv2d(img_channels, c[0], 1)
        self.blocks = nn.ModuleList(_ResBlock(a, b) for a, b in zip(c, c[1:]))
        self.conv = EqualizedConv2d(c[-1] + 1, c[-1], 3)
        self.fc = EqualizedLinear(c[-1] * 16, c[-1])
        self.out = EqualizedLinear(c[-1], 1)
        self.img_channels, self.mbstd_group = img_channels, mbstd_group

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1:] != (self.img_channels, 32, 32) or not x.is_floating_point():
            raise ValueError(f"x: expected a float tensor [N, {self.img_channels}, 32, 32], "
                             f"got {x.dtype} {list(x.shape)}")
        h = lrelu(self.from_rgb(x))
        for block in self.blocks:
            h = block(h)
        group = min(self.mbstd_group, h.shape[0])
        group = group if h.shape[0] % group == 0 else 1   # a batch the group does not divide: groups of 1
        h = lrelu(self.conv(minibatch_stddev(h, group)))
        return self.out(lrelu(self.fc(h.flatten(1)))).squeeze(1)
