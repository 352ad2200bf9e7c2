"""Toy distributions: Gaussian mixtures in 1 and 2 dimensions.

Toy sets follow PacGAN (Lin et al., 2018, section 5): the ring of 8 has means (cos 2 pi i/8,
sin 2 pi i/8) and variance 1e-4 (std 0.01); the grid of 25 has means (-4 + 2i, -4 + 2j), i, j in 0..4,
and variance 0.0025 (std 0.05).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from .. import validate as V
from .sampler import Sampler, _check_n

@dataclass
class GaussianMixture(Sampler):
    """Isotropic Gaussian mixture in d dimensions: ``means`` [K, d], one ``std``, optional weights."""

    means: torch.Tensor
    std: float
    weights: Optional[torch.Tensor] = None
    name: str = "mixture"

    def __post_init__(self) -> None:
        what = "a tensor [K, d] of K >= 1 finite mode centres"
        if self.means is None or isinstance(self.means, str):
            V.fail("means", what, self.means, error=TypeError)
        try:
            self.means = torch.as_tensor(self.means, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError):
            V.fail("means", what, self.means, error=TypeError)
        if self.means.ndim == 1:
            self.means = self.means[:, None]
        if self.means.ndim != 2 or self.means.numel() == 0 or not bool(torch.isfinite(self.means).all()):
            V.fail("means", what, self.means)
        V.positive_number("std", self.std)
        k = self.means.shape[0]
        w = torch.full((k,), 1.0 / k) if self.weights is None else torch.as_tensor(self.weights, dtype=torch.float32)
        if w.shape != (k,) or (w < 0).any() or not math.isclose(float(w.sum()), 1.0, rel_tol=1e-5):
            V.fail("weights", f"{k} non-negative numbers summing to 1", repr(self.weights))
        self.weights = w
        self.shape = (self.means.shape[1],)
        self.value_range = None
        self.n_classes = 0

    def sample(self, n: int, generator: Optional[torch.Generator] = None):
        """``(x, None)`` with x of shape [n, d]."""
        _check_n(n)
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.means.shape[1], generator=generator)
        return self.means[comp] + self.std * noise, None

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """The mixture's density at points x [n, d] (or [n] in 1D)."""
        d = self.means.shape[1]
        what = f"a float tensor [n, {d}]" + (" or [n]" if d == 1 else "")
        x = V.float_tensor("x", x, what).float()
        if x.ndim == 1 and d == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != d:
            V.fail("x", what, x)
        V.finite_values("x", x)
        sq = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        norm = (2 * math.pi * self.std ** 2) ** (-d / 2)
        return (self.weights[None] * norm * torch.exp(-sq / (2 * self.std ** 2))).sum(1)


def gaussian_mixture_1d(means: Sequence[float], stds: float, weights: Optional[Sequence[float]] = None) -> GaussianMixture:
    """A 1D mixture of Gaussians with a common standard deviation."""
    means = V.array_1d("means", means)
    return GaussianMixture(torch.tensor(means, dtype=torch.float32)[:, None], V.positive_number("stds", stds),
                           None if weights is None else torch.tensor(list(weights)), name="1d")


def ring8(radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """PacGAN's 2D ring: 8 Gaussians at (cos 2 pi i/8, sin 2 pi i/8) with std 0.01."""
    V.positive_number("radius", radius)
    angles = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], 1)
    return GaussianMixture(means, std, name="ring8")


def grid25(spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """PacGAN's 2D grid: 25 Gaussians at (-4 + 2i, -4 + 2j), i, j in 0..4, with std 0.05."""
    ticks = (torch.arange(5, dtype=torch.float32) - 2) * V.positive_number("spacing", spacing)
    means = torch.cartesian_prod(ticks, ticks)
    return GaussianMixture(means, std, name="grid25")
