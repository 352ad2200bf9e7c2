"""Distances between sets of features: the Frechet distance of fitted Gaussians (Heusel et al., 2017)
and k-NN precision and recall (Kynkaanniemi et al., 2019). The feature networks live beside this
module (``mnist``, ``emoji``)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Tuple

import numpy as np
import torch

def feature_statistics(feats: torch.Tensor, name: str = "images") -> Tuple[np.ndarray, np.ndarray]:
    """Mean [d] and covariance [d, d] (float64) of features [N, d]; needs N > d."""
    n, d = feats.shape
    if n <= d:
        raise ValueError(f"{name} must hold more samples than the feature dimension to estimate a "
                         f"covariance: need n > {d}, got n = {n} (use at least a few thousand for a stable FID)")
    f = feats.double().numpy()
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) (Dowson and Landau, 1982; Heusel et al., 2017)."""
    from scipy import linalg

    # A ReLU unit that never fires makes a covariance singular; 1e-6 on the diagonal (as Heusel et
    # al.'s code does on failure) keeps sqrtm accurate and changes d^2 by about 1e-6 per feature.
    eps = 1e-6 * np.eye(sigma1.shape[0])
    with warnings.catch_warnings():  # the regularised product is ill-conditioned, not wrong
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm((sigma1 + eps) @ (sigma2 + eps)).real
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean), 0.0))


@dataclass
class PrecisionRecall:
    """Improved precision and recall (Kynkaanniemi et al., 2019)."""

    precision: float
    recall: float
    k: int

    def __str__(self) -> str:
        return f"precision {100 * self.precision:.1f}%, recall {100 * self.recall:.1f}% (k={self.k})"


def _knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest other row (the ball of the manifold estimate)."""
    return torch.cat([torch.cdist(x[i:i + 2000], x).kthvalue(k + 1, dim=1).values for i in range(0, len(x), 2000)])


def _coverage(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> float:
    """Share of points inside at least one ball (centre, radius)."""
    inside = [(torch.cdist(points[i:i + 2000], centres) <= radii[None]).any(1) for i in range(0, len(points), 2000)]
    return float(torch.cat(inside).double().mean())


def precision_recall_features(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> PrecisionRecall:
    """Precision: share of fake features inside the real k-NN manifold (union of balls reaching each
    real point's k-th neighbour); recall: share of real features inside the fake manifold (eq. 1-3)."""
    for name, f in (("real", real), ("fake", fake)):
        if f.ndim != 2 or f.shape[0] <= k:
            raise ValueError(f"{name} must be features [N, d] with N > k = {k}, got {tuple(f.shape)}")
        if not torch.isfinite(f).all():
            raise ValueError(f"{name} contain NaN or infinite values")
    real, fake = real.double(), fake.double()
    return PrecisionRecall(_coverage(fake, real, _knn_radii(real, k)),
                           _coverage(real, fake, _knn_radii(fake, k)), k)

