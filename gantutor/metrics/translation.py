"""Scores of an image-to-image translation when the true counterpart of every test image is known
(chapter 9: the same emoji drawn in Google's and in Twitter's style).

Images are float tensors [N, C, H, W] in [-1, 1]; ``translated[i]`` is a model's output for test image i
and ``twins[i]`` its true counterpart in the target domain.

- :func:`paired_l1`: mean |translated - twin| per image, in [-1, 1] units (0 = identical, 2 = opposite);
- :func:`psnr`: peak signal-to-noise ratio per image, 10 log10(1 / MSE) with pixels rescaled to [0, 1];
- :func:`retrieval_rate`: share of i whose nearest twin (squared pixel distance) is twins[i];
- :func:`nearest_neighbour`: a baseline translation, each image replaced by its nearest image (in pixels)
  of a pool of target-domain images;
- :func:`translation_scores`: the three together.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

Tensor = torch.Tensor


def _check_pair(translated: Tensor, twins: Tensor) -> None:
    for name, t in (("translated", translated), ("twins", twins)):
        if not isinstance(t, Tensor) or t.ndim != 4 or not t.is_floating_point():
            got = f"{t.dtype} {list(t.shape)}" if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{name}: expected a float tensor [N, C, H, W] in [-1, 1], got {got}")
    if translated.shape != twins.shape:
        raise ValueError(f"twins: expected the shape of translated, {list(translated.shape)}, got {list(twins.shape)}")


def paired_l1(translated: Tensor, twins: Tensor) -> Tensor:
    """[N]: mean absolute pixel difference between each translated image and its twin."""
    _check_pair(translated, twins)
    return (translated - twins).abs().flatten(1).mean(1)


def psnr(translated: Tensor, twins: Tensor) -> Tensor:
    """[N]: 10 log10(1 / MSE) in dB, with pixels in [0, 1] (MSE of [-1, 1] images divided by 4);
    capped at 100 dB for identical images."""
    _check_pair(translated, twins)
    mse = ((translated - twins) / 2).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def pixel_distances(a: Tensor, b: Tensor) -> Tensor:
    """[len(a), len(b)] squared Euclidean distances between flattened images, in float64."""
    return torch.cdist(a.flatten(1).double(), b.flatten(1).double()).pow(2)


def retrieval_rate(translated: Tensor, twins: Tensor) -> float:
    """Share of i for which twins[i] is the nearest of all twins to translated[i] (chance: 1 / N)."""
    _check_pair(translated, twins)
    nearest = pixel_distances(translated, twins).argmin(1)
    return float((nearest == torch.arange(len(twins))).double().mean())


def nearest_neighbour(images: Tensor, pool: Tensor) -> Tensor:
    """Each of ``images`` replaced by its nearest image of ``pool`` (squared pixel distance): the
    translation a model would make by memorising target images and ignoring style."""
    if pool.ndim != 4 or images.shape[1:] != pool.shape[1:]:
        raise ValueError(f"pool: expected images of shape {list(images.shape[1:])}, got {list(pool.shape)}")
    return pool[pixel_distances(images, pool).argmin(1)]


@dataclass
class TranslationScores:
    l1: float
    psnr: float
    retrieval: float
    n: int

    def __str__(self) -> str:
        return (f"paired L1 {self.l1:.3f}, PSNR {self.psnr:.2f} dB, retrieval {100 * self.retrieval:.1f}% "
                f"(n = {self.n}, chance {100 / self.n:.1f}%)")


def translation_scores(translated: Tensor, twins: Tensor) -> TranslationScores:
    """Mean paired L1, mean PSNR and the retrieval rate of ``translated`` against ``twins``."""
    return TranslationScores(float(paired_l1(translated, twins).mean()), float(psnr(translated, twins).mean()),
                             retrieval_rate(translated, twins), len(twins))


SKIN_TONES = ("1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF")


def base_codepoint(codepoint: str) -> str:
    """The codepoint without its skin-tone modifiers ("1F385-1F3FB" -> "1F385"): variants of one emoji
    share a drawing and must fall on the same side of a split."""
    return "-".join(p for p in codepoint.split("-") if p not in SKIN_TONES) or codepoint


@dataclass
class UnpairedSplit:
    """Codepoints of domain X (drawn in the source style), of domain Y (target style, disjoint from X)
    and of the held-out test pairs (drawn in both styles, in neither training domain)."""
    x: list
    y: list
    test: list


def unpaired_split(codepoints, test_share: float = 0.1, seed: int = 0) -> UnpairedSplit:
    """Split emoji into disjoint X, Y and test sets by base emoji (skin-tone variants stay together):
    a share ``test_share`` of the base emoji is held out, the rest is halved at random between X and Y.
    Deterministic under ``seed``; the order of ``codepoints`` is kept within each set."""
    if not 0 < test_share < 1:
        raise ValueError(f"test_share: expected a share in (0, 1), got {test_share!r}")
    codepoints = list(codepoints)
    bases = sorted({base_codepoint(c) for c in codepoints})
    order = torch.randperm(len(bases), generator=torch.Generator().manual_seed(seed)).tolist()
    n_test = max(1, round(test_share * len(bases)))
    side = {}
    for rank, i in enumerate(order):
        side[bases[i]] = "test" if rank < n_test else ("x" if (rank - n_test) % 2 == 0 else "y")
    out = {"x": [], "y": [], "test": []}
    for c in codepoints:
        out[side[base_codepoint(c)]].append(c)
    return UnpairedSplit(out["x"], out["y"], out["test"])
