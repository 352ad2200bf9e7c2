"""Conditional GANs (Mirza and Osindero, 2014): the three-term discriminator loss, an optional L1 term
for the generator, sampling one digit, interpolation, and the conditional optimum on discrete spaces.

The discriminator of a conditional GAN scores (image, label) pairs. Besides real pairs (score high)
and generated pairs (score low), it can be shown real images with a WRONG label (score low too): the
"matching-aware" discriminator of Reed et al. (2016, GAN-CLS), the third term in the course notes the
book follows (with a weight w),

    L_D = -E[log D(x|y)] - E[log(1 - D(G(z|y)|y))] - w E[log(1 - D(x|y'))],  y' != y,

implemented by :func:`gantutor.losses.d_conditional_bce` and trained by
:class:`gantutor.train.ConditionalTrainer`. This module holds sampling, interpolation and the theory on
discrete spaces.
"""
from __future__ import annotations

from typing import Optional, Sequence

import math

import numpy as np
import torch
from torch import nn

from . import validate as V
from .losses import d_conditional_bce, mismatched_labels  # noqa: F401  (re-exported for chapter 2)
from .train import ConditionalTrainer  # noqa: F401

Tensor = torch.Tensor


# -- sampling -------------------------------------------------------------------------------------------
def _n_classes(G: nn.Module) -> int:
    n = getattr(G, "n_classes", 0) if isinstance(G, nn.Module) else 0
    if not isinstance(n, int) or n < 2:
        V.fail("G", "a conditional generator (n_classes >= 2), e.g. MLPGenerator(..., n_classes=10)", G,
               error=TypeError)
    return n


def _z(name: str, z, latent_dim: int, ndim: int = 2) -> Tensor:
    what = f"a float tensor [n, {latent_dim}]" if ndim == 2 else f"a float vector [{latent_dim}]"
    z = V.finite_values(name, V.float_tensor(name, z, what))
    if z.ndim != ndim or z.shape[-1] != latent_dim or z.shape[0] == 0:
        V.fail(name, what, z)
    return z


def _label(name: str, v, K: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < K:
        V.fail(name, f"an integer class label in [0, {K})", v)
    return int(v)


@torch.no_grad()
def generate_digit(G: nn.Module, digit: int, n: int = 1, z: Optional[Tensor] = None, seed: Optional[int] = None) -> Tensor:
    """``n`` samples [n, *out_shape] of class ``digit`` from G in eval mode, on the CPU.

    ``z`` [n, latent_dim] fixes the noise; otherwise it is drawn (from ``seed`` when given).
    """
    K = _n_classes(G)
    digit = _label("digit", digit, K)
    V.positive_int("n", n)
    device = next(G.parameters()).device
    if z is None:
        gen = torch.Generator().manual_seed(V.integer("seed", seed)) if seed is not None else None
        z = torch.randn(n, G.latent_dim, generator=gen)
    else:
        z = _z("z", z, G.latent_dim)
        if n != 1 and z.shape[0] != n:
            V.fail("z", f"a float tensor [{n}, {G.latent_dim}] (n rows), or leave n at 1 to take z's rows", z)
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
        V.fail("G", "a conditional MLPGenerator (with .embed and .body)", G, error=TypeError)
    z = _z("z", z, G.latent_dim)
    e = V.finite_values("e", V.float_tensor("e", e, f"a float tensor [{z.shape[0]}, {G.embed.embedding_dim}]"))
    if e.shape != (z.shape[0], G.embed.embedding_dim):
        V.fail("e", f"a float tensor [{z.shape[0]}, {G.embed.embedding_dim}] (one embedding per row of z)", e)
    was_training = G.training
    G.eval()
    out = G.body(torch.cat([z, e], 1)).view(z.shape[0], *G.out_shape)
    G.train(was_training)
    return out


def interpolate_labels(G: nn.Module, z: Tensor, a: int, b: int, steps: int = 8) -> Tensor:
    """Samples [steps, *out_shape] for one noise vector z [latent_dim] and label embeddings moving in
    a straight line from embed(a) to embed(b)."""
    K = _n_classes(G)
    a, b = _label("a", a, K), _label("b", b, K)
    z = _z("z", z, G.latent_dim, ndim=1)
    t = torch.linspace(0, 1, V.positive_int("steps", steps))[:, None]
    with torch.no_grad():
        ea, eb = G.embed.weight[a].cpu(), G.embed.weight[b].cpu()
    e = (1 - t) * ea + t * eb
    device = next(G.parameters()).device
    return generate_from_embedding(G, z.expand(steps, -1).to(device), e.to(device)).cpu()


def interpolate_noise(G: nn.Module, z0: Tensor, z1: Tensor, digit: int, steps: int = 8) -> Tensor:
    """Samples [steps, *out_shape] of class ``digit`` along the straight line from z0 to z1 [latent_dim]."""
    _label("digit", digit, _n_classes(G))
    z0, z1 = _z("z0", z0, G.latent_dim, ndim=1), _z("z1", z1, G.latent_dim, ndim=1)
    t = torch.linspace(0, 1, V.positive_int("steps", steps))[:, None]
    return generate_digit(G, digit, z=(1 - t) * z0 + t * z1)


# -- where an L1 term pulls ------------------------------------------------------------------------------
def class_centres(images: Tensor, labels: Tensor, n_classes: int = 10, kind: str = "median") -> Tensor:
    """The per-class, per-pixel median (minimiser of E|c - x|) or mean (minimiser of E(c - x)^2) of
    ``images`` [N, ...] grouped by ``labels`` [N]: a tensor [n_classes, ...]."""
    V.one_of("kind", kind, ("median", "mean"))
    V.positive_int("n_classes", n_classes)
    images = V.tensor_like("images", images, "a tensor of images [N, ...]")
    if images.ndim < 2 or images.shape[0] == 0:
        V.fail("images", "a tensor of images [N, ...] with N >= 1", images)
    labels = V.integer_labels("labels", labels, images.shape[0], n_classes)
    out = []
    for c in range(n_classes):
        group = images[labels == c].float()
        if group.shape[0] == 0:
            V.fail("labels", f"at least one image of every class 0..{n_classes - 1}", f"no image of class {c}")
        out.append(group.median(0).values if kind == "median" else group.mean(0))
    return torch.stack(out)


# -- theory on discrete spaces ---------------------------------------------------------------------------
def _joint(name: str, p) -> np.ndarray:
    """A joint distribution p(x, y) as an array [K, n_x], K >= 2 classes, non-negative, summing to 1."""
    what = "an array [K, n_x] of K >= 2 rows (classes), non-negative, summing to 1"
    if p is None or isinstance(p, (str, bytes)):
        V.fail(name, what, p, error=TypeError)
    try:
        p = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        V.fail(name, what, p, error=TypeError)
    if p.ndim != 2 or p.shape[0] < 2 or p.shape[1] == 0:
        V.fail(name, what, f"shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or not math.isclose(float(p.sum()), 1.0, rel_tol=1e-6, abs_tol=1e-9):
        V.fail(name, what, f"values in [{np.nanmin(p):.3g}, {np.nanmax(p):.3g}] summing to {p.sum():.6g}")
    return p


def _pair_xy(p_xy, pg_xy):
    p_xy, pg_xy = _joint("p_xy", p_xy), _joint("pg_xy", pg_xy)
    if pg_xy.shape != p_xy.shape:
        V.fail("pg_xy", f"the shape of p_xy {p_xy.shape}", f"shape {pg_xy.shape}")
    return p_xy, pg_xy


def mismatch_density(p_xy: np.ndarray) -> np.ndarray:
    """q(x, y') of real images with wrong labels: x ~ p(x|y) with y ~ p(y), then y' uniform over the
    other K-1 classes. q(x, y') = (p(x) - p(x, y')) / (K - 1), arrays [K, n_x] (rows are classes)."""
    p_xy = _joint("p_xy", p_xy)
    K = p_xy.shape[0]
    return (p_xy.sum(0, keepdims=True) - p_xy) / (K - 1)


def optimal_conditional_discriminator(p_xy: np.ndarray, pg_xy: np.ndarray, mismatch_weight: float = 0.0) -> np.ndarray:
    """D*(x|y) = p(x, y) / (p(x, y) + p_g(x, y) + w q(x, y)), arrays [K, n_x]. With w = 0 this is
    p(x|y) / (p(x|y) + p_g(x|y)) per class, since p_g(y) = p(y)."""
    p_xy, pg_xy = _pair_xy(p_xy, pg_xy)
    mismatch_weight = V.finite_number("mismatch_weight", mismatch_weight, low=0.0)
    return p_xy / (p_xy + pg_xy + mismatch_weight * mismatch_density(p_xy))


def generator_optimum(p_xy: np.ndarray, mismatch_weight: float, iters: int = 200) -> np.ndarray:
    """The p_g(x, y) minimising max_D of the three-term game, with p_g(y) = p(y) fixed:
    p_g(x, y) = max(k_y p(x, y) - w q(x, y), 0), k_y found by bisection so each class keeps its mass."""
    p_xy = _joint("p_xy", p_xy)
    mismatch_weight = V.finite_number("mismatch_weight", mismatch_weight, low=0.0)
    V.positive_int("iters", iters)
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
    p_xy, pg_xy = _pair_xy(p_xy, pg_xy)
    d = optimal_conditional_discriminator(p_xy, pg_xy, mismatch_weight)
    fake = pg_xy + mismatch_weight * mismatch_density(p_xy)
    real_part = np.sum(p_xy[p_xy > 0] * np.log(d[p_xy > 0]))
    fake_part = np.sum(fake[fake > 0] * np.log1p(-d[fake > 0]))
    return float(real_part + fake_part)
