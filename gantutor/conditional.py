"""Conditional GANs (Mirza and Osindero, 2014): the three-term discriminator loss, an optional L1 term
for the generator, sampling one digit, interpolation, and the conditional optimum on discrete spaces.

The discriminator of a conditional GAN scores (image, label) pairs. Besides real pairs (score high)
and generated pairs (score low), it can be shown real images with a WRONG label (score low too): the
third term of the discriminator's objective in the source notes (seed 002),

    L_D = -E[log D(x|y)] - E[log(1 - D(G(z|y)|y))] - w E[log(1 - D(x|y'))],  y' != y,

implemented by :func:`gantutor.losses.d_conditional_bce` and trained by
:class:`gantutor.train.ConditionalTrainer`. This module holds sampling, interpolation and the theory on
discrete spaces.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from .losses import d_conditional_bce, mismatched_labels  # noqa: F401  (re-exported for chapter 2)
from .train import ConditionalTrainer  # noqa: F401

Tensor = torch.Tensor


# -- sampling -------------------------------------------------------------------------------------------
def _n_classes(G: nn.Module) -> int:
    n = getattr(G, "n_classes", 0)
    if n < 2:
        raise ValueError("G must be a conditional generator (n_classes >= 2)")
    return n


@torch.no_grad()
def generate_digit(G: nn.Module, digit: int, n: int = 1, z: Optional[Tensor] = None, seed: Optional[int] = None) -> Tensor:
    """``n`` samples [n, *out_shape] of class ``digit`` from G in eval mode, on the CPU.

    ``z`` [n, latent_dim] fixes the noise; otherwise it is drawn (from ``seed`` when given).
    """
    K = _n_classes(G)
    if isinstance(digit, bool) or not isinstance(digit, (int, np.integer)) or not 0 <= digit < K:
        raise ValueError(f"digit must be an integer class label in [0, {K}), got {digit!r}")
    device = next(G.parameters()).device
    if z is None:
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        z = torch.randn(n, G.latent_dim, generator=gen)
    y = torch.full((z.shape[0],), int(digit), dtype=torch.long)
    was_training = G.training
    G.eval()
    out = G(z.to(device), y.to(device)).cpu()
    G.train(was_training)
    return out


@torch.no_grad()
def generate_from_embedding(G: nn.Module, z: Tensor, e: Tensor) -> Tensor:
    """G's output for noise z [N, latent_dim] and label embeddings e [N, embed_dim] given directly
    (for interpolating between classes). Needs G = ``MLPGenerator(n_classes=...)`` (concatenation)."""
    if getattr(G, "embed", None) is None or not hasattr(G, "body"):
        raise ValueError("G must be a conditional MLPGenerator (with .embed and .body)")
    if e.shape != (z.shape[0], G.embed.embedding_dim):
        raise ValueError(f"e must have shape [{z.shape[0]}, {G.embed.embedding_dim}], got {tuple(e.shape)}")
    was_training = G.training
    G.eval()
    out = G.body(torch.cat([z, e], 1)).view(z.shape[0], *G.out_shape)
    G.train(was_training)
    return out


def interpolate_labels(G: nn.Module, z: Tensor, a: int, b: int, steps: int = 8) -> Tensor:
    """Samples [steps, *out_shape] for one noise vector z [latent_dim] and label embeddings moving in
    a straight line from embed(a) to embed(b)."""
    _n_classes(G)
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        ea, eb = G.embed.weight[a].cpu(), G.embed.weight[b].cpu()
    e = (1 - t) * ea + t * eb
    device = next(G.parameters()).device
    return generate_from_embedding(G, z.expand(steps, -1).to(device), e.to(device)).cpu()


def interpolate_noise(G: nn.Module, z0: Tensor, z1: Tensor, digit: int, steps: int = 8) -> Tensor:
    """Samples [steps, *out_shape] of class ``digit`` along the straight line from z0 to z1 [latent_dim]."""
    t = torch.linspace(0, 1, steps)[:, None]
    return generate_digit(G, digit, z=(1 - t) * z0 + t * z1)


# -- where an L1 term pulls ------------------------------------------------------------------------------
def class_centres(images: Tensor, labels: Tensor, n_classes: int = 10, kind: str = "median") -> Tensor:
    """The per-class, per-pixel median (minimiser of E|c - x|) or mean (minimiser of E(c - x)^2) of
    ``images`` [N, ...] grouped by ``labels`` [N]: a tensor [n_classes, ...]."""
    if kind not in ("median", "mean"):
        raise ValueError(f"kind must be 'median' or 'mean', got {kind!r}")
    out = []
    for c in range(n_classes):
        group = images[labels == c].float()
        if group.shape[0] == 0:
            raise ValueError(f"no image of class {c}")
        out.append(group.median(0).values if kind == "median" else group.mean(0))
    return torch.stack(out)


# -- theory on discrete spaces ---------------------------------------------------------------------------
def mismatch_density(p_xy: np.ndarray) -> np.ndarray:
    """q(x, y') of real images with wrong labels: x ~ p(x|y) with y ~ p(y), then y' uniform over the
    other K-1 classes. q(x, y') = (p(x) - p(x, y')) / (K - 1), arrays [K, n_x] (rows are classes)."""
    K = p_xy.shape[0]
    return (p_xy.sum(0, keepdims=True) - p_xy) / (K - 1)


def optimal_conditional_discriminator(p_xy: np.ndarray, pg_xy: np.ndarray, mismatch_weight: float = 0.0) -> np.ndarray:
    """D*(x|y) = p(x, y) / (p(x, y) + p_g(x, y) + w q(x, y)), arrays [K, n_x]. With w = 0 this is
    p(x|y) / (p(x|y) + p_g(x|y)) per class, since p_g(y) = p(y)."""
    return p_xy / (p_xy + pg_xy + mismatch_weight * mismatch_density(p_xy))


def generator_optimum(p_xy: np.ndarray, mismatch_weight: float, iters: int = 200) -> np.ndarray:
    """The p_g(x, y) minimising max_D of the three-term game, with p_g(y) = p(y) fixed:
    p_g(x, y) = max(k_y p(x, y) - w q(x, y), 0), k_y found by bisection so each class keeps its mass."""
    q = mismatch_weight * mismatch_density(p_xy)
    out = np.zeros_like(p_xy)
    for c in range(p_xy.shape[0]):
        target, lo, hi = p_xy[c].sum(), 0.0, 1.0
        while np.maximum(hi * p_xy[c] - q[c], 0).sum() < target:
            hi *= 2
        for _ in range(iters):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if np.maximum(mid * p_xy[c] - q[c], 0).sum() < target else (lo, mid)
        out[c] = np.maximum(hi * p_xy[c] - q[c], 0)
        out[c] *= target / out[c].sum()
    return out


def conditional_value(p_xy: np.ndarray, pg_xy: np.ndarray, mismatch_weight: float = 0.0) -> float:
    """max_D of the (three-term) conditional game on a discrete space, computed from D* directly:
    sum p log D* + sum (p_g + w q) log(1 - D*), with 0 log 0 = 0. Arrays [K, n_x] summing to 1."""
    d = optimal_conditional_discriminator(p_xy, pg_xy, mismatch_weight)
    fake = pg_xy + mismatch_weight * mismatch_density(p_xy)
    real_part = np.sum(p_xy[p_xy > 0] * np.log(d[p_xy > 0]))
    fake_part = np.sum(fake[fake > 0] * np.log1p(-d[fake > 0]))
    return float(real_part + fake_part)
