"""Colourised MNIST, a data set with a known hidden variable (chapter 9's steganography experiment,
after Chu, Zhmoginov and Sandler, 2017).

Each digit gets one hue h in [0, 1) (a turn of the colour wheel): its ink is painted in the fully
saturated colour of hue h on black. A greyscale image of the same digit cannot show h; a CycleGAN from
colour to grey and back must still return h to close its cycle.

- :func:`hue_to_rgb`: the RGB colour of hue h at saturation 1 and value 1 (the HSV hexcone);
- :func:`colourise`: grey digits [N, 1, H, W] and hues [N] to colour digits [N, 3, H, W], all in [-1, 1];
- :func:`ink_hue`: the hue of the mean colour of an image's ink, the inverse of :func:`colourise`;
- :func:`hue_error_degrees`, :func:`circular_correlation`: how well recovered hues match true ones.
"""
from __future__ import annotations

import math

import torch

from .. import validate as V

Tensor = torch.Tensor


def hue_to_rgb(h: Tensor) -> Tensor:
    """[N] hues in [0, 1) to [N, 3] RGB in [0, 1]: r = clip(|6h - 3| - 1), g = clip(2 - |6h - 2|),
    b = clip(2 - |6h - 4|), the HSV colour with S = V = 1."""
    h6 = (h % 1.0)[:, None] * 6
    r = (h6 - 3).abs() - 1
    g = 2 - (h6 - 2).abs()
    b = 2 - (h6 - 4).abs()
    return torch.cat([r, g, b], 1).clamp(0, 1)


def rgb_hue(rgb: Tensor) -> Tensor:
    """[N, 3] RGB in [0, 1] to [N] HSV hues in [0, 1) (0 where the colour is grey)."""
    r, g, b = rgb.unbind(1)
    mx, mn = rgb.max(1).values, rgb.min(1).values
    d = (mx - mn).clamp_min(1e-8)
    h = torch.where(mx == r, ((g - b) / d) % 6, torch.where(mx == g, (b - r) / d + 2, (r - g) / d + 4))
    return (h / 6) % 1.0


def colourise(grey: Tensor, hue: Tensor) -> Tensor:
    """Grey digits [N, 1, H, W] in [-1, 1] (white ink on black) and hues [N] to [N, 3, H, W] in [-1, 1]:
    ink (grey + 1) / 2 times the colour of the hue."""
    grey = V.float_tensor("grey", grey, "a float tensor [N, 1, H, W] in [-1, 1]")
    hue = V.finite_values("hue", V.float_tensor("hue", hue, "a float tensor [N] of hues"))
    if grey.ndim != 4 or grey.shape[1] != 1:
        raise ValueError(f"grey: expected a float tensor [N, 1, H, W], got {list(grey.shape)}")
    if hue.shape != (grey.shape[0],):
        raise ValueError(f"hue: expected shape [{grey.shape[0]}] (one hue per image), got {list(hue.shape)}")
    V.in_range("grey", grey, -1.0, 1.0)
    ink = (grey + 1) / 2
    return ink * hue_to_rgb(hue)[:, :, None, None] * 2 - 1


def ink_hue(images: Tensor, ink: Tensor) -> Tensor:
    """[N] hue of the ink-weighted mean colour of colour images [N, 3, H, W] in [-1, 1]; ``ink``
    [N, 1, H, W] in [0, 1] gives each pixel's weight (the true digit's ink)."""
    colour = ((images + 1) / 2).clamp(0, 1)
    mean = (colour * ink).sum((2, 3)) / ink.sum((2, 3)).clamp_min(1e-8)
    return rgb_hue(mean)


def hue_error_degrees(true: Tensor, recovered: Tensor) -> Tensor:
    """[N] angle between true and recovered hues on the colour wheel, in degrees (0 to 180; 90 on
    average for unrelated uniform hues)."""
    d = (true - recovered).abs() % 1.0
    return 360 * torch.minimum(d, 1 - d)


def circular_correlation(a: Tensor, b: Tensor) -> float:
    """Correlation of two sets of hues as unit vectors: the mean of the Pearson correlations of their
    cosines and of their sines (angles 2 pi h). 1 for identical hues, near 0 for independent ones, -1 for
    opposite hues. (The circular correlation of Jammalamadaka and SenGupta centres each set on its
    circular mean, which is undefined for hues spread evenly round the wheel, as here.)"""
    ta, tb = 2 * math.pi * a.double(), 2 * math.pi * b.double()

    def pearson(u: Tensor, v: Tensor) -> Tensor:
        u, v = u - u.mean(), v - v.mean()
        return (u * v).sum() / (u.pow(2).sum() * v.pow(2).sum()).sqrt().clamp_min(1e-12)

    return float((pearson(ta.cos(), tb.cos()) + pearson(ta.sin(), tb.sin())) / 2)
