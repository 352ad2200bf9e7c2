"""DCGAN generator and discriminator (Radford et al., 2016), sized by arguments.

The paper's guidelines for stable deep convolutional GANs (section 3), all followed here:

* no pooling: the discriminator downsamples with strided convolutions, the generator upsamples with
  fractionally strided (transposed) convolutions, so each network learns its own resampling;
* batch normalisation in both networks, except at the generator's output and the discriminator's
  input;
* no fully connected hidden layers: G's first layer maps z (seen as a 1 x 1 image with ``latent_dim``
  channels) to a small feature map, D's last layer maps its last feature map to one logit;
* ReLU in G, with tanh on the output (images in [-1, 1]); LeakyReLU (slope 0.2) in D;
* convolution weights drawn from a zero-centred normal distribution with standard deviation 0.02,
  N(0, 0.02^2) (section 4; :func:`dcgan_init`); batch-norm scales from N(1, 0.02^2), as in the PyTorch
  tutorial, dcgan.torch and the authors' Theano code.

One departure from the paper: the stride-2 layers use k = 4, p = 1, the choice of the Torch and PyTorch
implementations (the PyTorch DCGAN tutorial); the paper's Fig. 1 and the authors' Theano code
(Newmu/dcgan_code, faces/train_uncond_dcgan.py) use k = 5, s = 2, p = 2, whose stamps overlap unevenly
(Odena et al., 2016; soumith/dcgan.torch issue #11).

Sizes: ``image_size`` 28 (MNIST; a 7 x 7 base and two upsampling stages), 32 (a 4 x 4 base, three
stages) or 64 (a 4 x 4 base, four stages: the paper's LSUN model and the PyTorch tutorial's).
``ngf``/``ndf`` are the channels of the widest-resolution feature map; each stage towards the base
doubles them. D returns logits [N] (no sigmoid: :mod:`gantutor.losses` takes logits).

The transposed-convolution helpers (:func:`conv_transpose_output_size`,
:func:`conv_transpose_as_conv`) and the latent helpers (:func:`slerp`) are what chapter 6 checks and
uses; the Colab GPU path is :class:`gantutor.train.MixedPrecisionTrainer`.
"""
from __future__ import annotations

import math
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate as V

Tensor = torch.Tensor
BASE = {28: 7, 32: 4, 64: 4}  # image size -> side of the first (smallest) feature map


def conv_transpose_output_size(i: int, k: int, s: int = 1, p: int = 0, output_padding: int = 0) -> int:
    """o = (i - 1) s - 2p + k + output_padding (Dumoulin and Visin, 2016, relationship 14, their a is
    output_padding). Like PyTorch (dilation 1), output_padding must be smaller than the stride s."""
    for name, v in (("i", i), ("k", k), ("s", s)):
        V.positive_int(name, v)
    V.non_negative_int("p", p)
    V.non_negative_int("output_padding", output_padding)
    if output_padding >= s:
        V.fail("output_padding", f"an integer smaller than the stride s = {s} (PyTorch refuses larger ones)",
               output_padding)
    o = (i - 1) * s - 2 * p + k + output_padding
    if o < 1:
        V.fail("p", f"a padding that leaves an output of at least 1 pixel (here p <= {((i - 1) * s + k + output_padding - 1) // 2})", p)
    return o


def zero_insert(x: Tensor, s: int) -> Tensor:
    """Put s - 1 zeros between neighbouring pixels of x [N, C, H, W]: [N, C, (H-1)s+1, (W-1)s+1]."""
    x = V.tensor_like("x", x, "a tensor [N, C, H, W]")
    if x.ndim != 4:
        V.fail("x", "a tensor [N, C, H, W]", x)
    V.positive_int("s (the stride)", s)
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, (h - 1) * s + 1, (w - 1) * s + 1)
    out[:, :, ::s, ::s] = x
    return out


def conv_transpose_as_conv(x: Tensor, weight: Tensor, s: int = 1, p: int = 0) -> Tensor:
    """ConvTranspose2d(x) computed as a plain stride-1 convolution: insert s - 1 zeros between the
    pixels of x, pad by k - 1 - p on every side, and convolve with the kernel flipped in both spatial
    axes and with its in/out channels swapped. ``weight`` has ConvTranspose2d's layout [C_in, C_out, k, k]."""
    x = V.float_tensor("x", x, "a float tensor [N, C_in, H, W]")
    if x.ndim != 4:
        V.fail("x", "a float tensor [N, C_in, H, W]", x)
    weight = V.float_tensor("weight", weight, f"a ConvTranspose2d weight [C_in={x.shape[1]}, C_out, k, k]")
    k = weight.shape[-1]
    if weight.ndim != 4 or weight.shape[-2] != k or x.shape[1] != weight.shape[0]:
        V.fail("weight", f"a ConvTranspose2d weight [C_in={x.shape[1]}, C_out, k, k]", weight)
    V.integer("p", p, minimum=0, maximum=k - 1)
    flipped = weight.flip(-1, -2).transpose(0, 1)  # [C_out, C_in, k, k]
    return F.conv2d(F.pad(zero_insert(x, s), [k - 1 - p] * 4), flipped)


def slerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation (Shoemake, 1985; White, 2016) between rows z0, z1 [N, d] at t [T]:
    sin((1 - t) W) / sin W * z0 + sin(t W) / sin W * z1, W the angle between z0 and z1; returns [N, T, d]."""
    z0 = V.finite_values("z0", V.float_tensor("z0", z0, "a float tensor [N, d]"))
    z1 = V.finite_values("z1", V.float_tensor("z1", z1, "a float tensor [N, d]"))
    if z0.ndim != 2:
        V.fail("z0", "a float tensor [N, d]", z0)
    if z1.shape != z0.shape:
        V.fail("z1", f"the same shape as z0 {tuple(z0.shape)}", z1)
    t = V.finite_values("t", V.float_tensor("t", t, "a float tensor [T] of positions in [0, 1]"))
    if t.ndim != 1:
        V.fail("t", "a float tensor [T] of positions in [0, 1]", t)
    cos = (F.normalize(z0, dim=1) * F.normalize(z1, dim=1)).sum(1).clamp(-1, 1)
    omega = torch.acos(cos)[:, None, None]
    t = torch.as_tensor(t, dtype=z0.dtype)[None, :, None]
    so = torch.sin(omega)
    near = so.abs() < 1e-6  # (anti)parallel: fall back to linear interpolation
    so = torch.where(near, torch.ones_like(so), so)
    a = torch.where(near, 1 - t, torch.sin((1 - t) * omega) / so)
    b = torch.where(near, t, torch.sin(t * omega) / so)
    return a * z0[:, None] + b * z1[:, None]


def dcgan_init(module: nn.Module) -> None:
    """Radford et al., section 4: convolution weights from N(0, 0.02^2) (mean 0, standard deviation 0.02);
    batch-norm scales from N(1, 0.02^2) and shifts 0 (as in the PyTorch DCGAN tutorial). Use as ``net.apply(dcgan_init)``."""
    V.module("module", module)
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _check_size(image_size: int, channels: int, width: int, width_name: str) -> int:
    if isinstance(image_size, bool) or image_size not in BASE:
        V.fail("image_size", f"one of {sorted(BASE)}", image_size)
    for name, v in (("channels", channels), (width_name, width)):
        V.positive_int(name, v)
    return int(math.log2(image_size // BASE[image_size]))  # number of x2 stages


class DCGANGenerator(nn.Module):
    """G(z): z [N, latent_dim] (or [N, latent_dim, 1, 1]) to images [N, channels, S, S] in [-1, 1].

    ConvTranspose(k = base, stride 1) maps z to a base x base map with ngf * 2^(n-1) channels; each of
    the n stages ConvTranspose(k=4, s=2, p=1; the tutorial's kernel, the paper's is 5) doubles the side ((i - 1) 2 - 2 + 4 = 2i) and halves the
    channels; the last one outputs ``channels`` maps through tanh. BN + ReLU after every layer but the last.
    """

    def __init__(self, latent_dim: int = 100, image_size: int = 64, channels: int = 3, ngf: int = 64):
        super().__init__()
        V.positive_int("latent_dim", latent_dim)
        n = _check_size(image_size, channels, ngf, "ngf")
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels
        widths = [ngf * 2 ** i for i in reversed(range(n))]  # e.g. 64: [8ngf, 4ngf, 2ngf, ngf]
        layers: List[nn.Module] = [nn.ConvTranspose2d(latent_dim, widths[0], BASE[image_size], 1, 0, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: Tensor) -> Tensor:
        what = f"a float tensor [N, {self.latent_dim}] or [N, {self.latent_dim}, 1, 1] with N >= 1"
        z = V.tensor_like("z", z, what)
        if z.ndim == 2:
            z = z[:, :, None, None]
        if z.ndim != 4 or z.shape[1:] != (self.latent_dim, 1, 1) or z.shape[0] == 0:
            V.fail("z", what, z)
        V.finite_values("z", V.float_tensor("z", z, what))
        x = self.main(z)
        want = (z.shape[0], self.channels, self.image_size, self.image_size)
        if x.shape != want:  # a wrong kernel, stride or padding in a stage shows up here
            raise RuntimeError(f"generator produced {tuple(x.shape)}, expected {want}")
        return x


class DCGANDiscriminator(nn.Module):
    """D(x): images [N, channels, S, S] to logits [N].

    n stages Conv(k=4, s=2, p=1) halve the side (floor((i + 2 - 4) / 2) + 1 = i / 2) and double the
    channels from ndf; LeakyReLU(0.2) after each, BN after all but the first; a last Conv(k = base,
    stride 1) reduces the base x base map to one logit.
    """

    def __init__(self, image_size: int = 64, channels: int = 3, ndf: int = 64, slope: float = 0.2):
        super().__init__()
        n = _check_size(image_size, channels, ndf, "ndf")
        V.finite_number("slope", slope, low=0.0)
        self.image_size, self.channels = image_size, channels
        widths = [ndf * 2 ** i for i in range(n)]  # e.g. 64: [ndf, 2ndf, 4ndf, 8ndf]
        layers: List[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(slope, True)]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(slope, True)]
        layers += [nn.Conv2d(widths[-1], 1, BASE[image_size], 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: Tensor) -> Tensor:
        x = V.image_batch("x", x, self.channels, self.image_size, tolerance=9.0)
        return self.main(x).reshape(x.shape[0])


def trace_shapes(net: nn.Module, x: Tensor) -> List[Tuple[str, Tuple[int, ...]]]:
    """(layer, output shape) for every layer of ``net.main`` on input x, by forward hooks."""
    V.module("net", net)
    if not isinstance(getattr(net, "main", None), nn.Sequential):
        V.fail("net", "a DCGAN network (with a .main Sequential)", net, error=TypeError)
    rows: List[Tuple[str, Tuple[int, ...]]] = []
    hooks = [m.register_forward_hook(lambda m, i, o: rows.append((_describe(m), tuple(o.shape))))
             for m in net.main]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in hooks:
            h.remove()
    return rows


def _describe(m: nn.Module) -> str:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        k, s, p = m.kernel_size[0], m.stride[0], m.padding[0]
        return f"{type(m).__name__}({m.in_channels}, {m.out_channels}, k={k}, s={s}, p={p})"
    return type(m).__name__
