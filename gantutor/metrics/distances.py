"""Distances between sets of features: the Frechet distance of fitted Gaussians (Heusel et al., 2017)
and k-NN precision and recall (Kynkaanniemi et al., 2019). The feature networks live beside this
module (``mnist``, ``emoji``)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Tuple

import numpy as np
import torch

from .. import validate as V

def feature_statistics(feats: torch.Tensor, name: str = "feats") -> Tuple[np.ndarray, np.ndarray]:
    """Mean [d] and covariance [d, d] (float64) of features [N, d]; needs N > d."""
    feats = V.finite_values(name, V.float_tensor(name, feats, "a float tensor of features [N, d]"))
    if feats.ndim != 2:
        V.fail(name, "a float tensor of features [N, d]", feats)
    n, d = feats.shape
    if n <= d:
        raise ValueError(f"{name} must hold more samples than the feature dimension to estimate a "
                         f"covariance: need n > {d}, got n = {n} (use at least a few thousand for a stable FID)")
    f = feats.double().numpy()
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     clip: bool = True) -> float:
    """d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) (Dowson and Landau, 1982; Heusel et al., 2017).

    Returns max(d^2, 0); with ``clip=False`` the value as computed, which can be slightly negative
    (rounding, and the regularisation below). Estimated from samples, both terms are biased upward:
    E|mu1_hat - mu2_hat|^2 = |mu1 - mu2|^2 + Tr(S1)/n1 + Tr(S2)/n2, and the trace term too; compare
    values only at equal sample sizes, beside a real-vs-real baseline."""
    from scipy import linalg

    mu1, mu2 = V.array_1d("mu1", mu1), V.array_1d("mu2", mu2)
    d = mu1.shape[0]
    if mu2.shape != (d,):
        V.fail("mu2", f"a mean vector [{d}] like mu1", f"shape {mu2.shape}")
    for name, sig in (("sigma1", sigma1), ("sigma2", sigma2)):
        if isinstance(sig, torch.Tensor):
            sig = sig.detach().cpu().numpy()
        sig = np.asarray(sig, dtype=np.float64) if isinstance(sig, (np.ndarray, list)) else sig
        if not isinstance(sig, np.ndarray) or sig.shape != (d, d) or not np.all(np.isfinite(sig)):
            V.fail(name, f"a finite covariance matrix [{d}, {d}]", sig if not isinstance(sig, np.ndarray) else
                   f"shape {sig.shape}" + ("" if sig.shape != (d, d) else " with NaN or infinite entries"))
    sigma1, sigma2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    # A ReLU unit that never fires makes a covariance singular, and sqrtm of a singular product is
    # inaccurate. Heusel et al.'s code adds 1e-6 to the diagonals only when sqrtm fails; this adds it
    # always, and only inside the square root. Effects: identical well-conditioned statistics give
    # d^2 = -2e-6 d (hence the clip at 0), and in a direction where one covariance is singular and the
    # other has variance s, d^2 drops by up to about 2 sqrt(1e-6 s) (5e-3 for s = 6).
    eps = 1e-6 * np.eye(sigma1.shape[0])
    with warnings.catch_warnings():  # the regularised product is ill-conditioned, not wrong
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm((sigma1 + eps) @ (sigma2 + eps)).real
    diff = mu1 - mu2
    d2 = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))
    return max(d2, 0.0) if clip else d2


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
    k = V.positive_int("k", k)
    real = V.float_tensor("real", real, "a float tensor of features [N, d]")
    fake = V.float_tensor("fake", fake, "a float tensor of features [N, d]")
    for name, f in (("real", real), ("fake", fake)):
        if f.ndim != 2 or f.shape[0] <= k:
            V.fail(name, f"a float tensor of features [N, d] with N > k = {k}", f)
        V.finite_values(name, f)
    if fake.shape[1] != real.shape[1]:
        V.fail("fake", f"features of real's dimension {real.shape[1]}", fake)
    real, fake = real.double(), fake.double()
    return PrecisionRecall(_coverage(fake, real, _knn_radii(real, k)),
                           _coverage(real, fake, _knn_radii(fake, k)), k)

