"""Measured quality of generators.

Toy sets (the ring of 8 and the grid of 25) are scored with the definitions of VEEGAN (Srivastava et
al., 2017) and PacGAN (Lin et al., 2018): a sample is *high quality* when it lies within three standard
deviations of its nearest mode; a mode is *captured* when at least one high-quality sample is nearest
to it; the *reverse KL* is KL(q || uniform), with q the histogram of the high-quality samples over the
modes (PacGAN: 2,500 samples).

MNIST samples are scored with a small CNN trained on MNIST (its weights ship with the package in
``gantutor/_weights``; ``python -m gantutor.metrics train-classifier`` reproduces them): MNIST-FID on
its penultimate-layer features, conditional accuracy, and k-NN precision and recall.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from torch import nn

from .data import GaussianMixture

WEIGHTS = Path(__file__).parent / "_weights" / "mnist_classifier.pt"
FEATURE_DIM = 64


@dataclass
class ToyScores:
    """Scores of samples from a generator against a Gaussian mixture's modes."""

    modes: int
    n_modes: int
    high_quality: float
    reverse_kl: float

    def __str__(self) -> str:
        return (f"modes captured {self.modes}/{self.n_modes}, high-quality samples "
                f"{100 * self.high_quality:.1f}%, reverse KL {self.reverse_kl:.3f}")


def toy_scores(samples: torch.Tensor, mixture: GaussianMixture, n_std: float = 3.0) -> ToyScores:
    """Modes captured, share of high-quality samples and reverse KL of samples [N, d] (see module doc)."""
    if not isinstance(samples, torch.Tensor) or samples.ndim != 2 or samples.shape[1] != mixture.means.shape[1]:
        got = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise ValueError(f"samples must be a tensor [N, {mixture.means.shape[1]}], got {got}")
    if samples.shape[0] == 0:
        raise ValueError("samples must hold at least one sample")
    samples = samples.detach().float().cpu()
    if not torch.isfinite(samples).all():
        raise ValueError("samples contain NaN or infinite values")
    dist = torch.cdist(samples, mixture.means)
    nearest_d, nearest = dist.min(1)
    hq = nearest_d <= n_std * mixture.std
    k = mixture.means.shape[0]
    counts = torch.bincount(nearest[hq], minlength=k).double()
    captured = int((counts > 0).sum())
    if counts.sum() == 0:
        rkl = math.inf
    else:
        q = counts / counts.sum()
        nz = q > 0
        rkl = float((q[nz] * torch.log(q[nz] * k)).sum())
    return ToyScores(captured, k, float(hq.double().mean()), rkl)


# -- the MNIST feature network ----------------------------------------------------------------------
class MNISTClassifier(nn.Module):
    """Two 5x5 conv blocks (16, 32 channels, max-pool) and a 64-unit hidden layer: x [N,1,28,28] in
    [-1, 1] to logits [N, 10]. :meth:`features` returns the 64 penultimate activations."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Flatten(), nn.Linear(32 * 7 * 7, FEATURE_DIM), nn.ReLU())
        self.head = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x))


def check_images(images, name: str = "images") -> torch.Tensor:
    """Return ``images`` as a float32 CPU tensor after checking shape [N, 1, 28, 28], values in [-1, 1]
    and no NaN; raise ``ValueError`` naming the argument otherwise."""
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor [N, 1, 28, 28], got {type(images).__name__}")
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28) or images.shape[0] == 0:
        raise ValueError(f"{name} must have shape [N, 1, 28, 28] with N >= 1, got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"{name} must be floats in [-1, 1], got dtype {images.dtype} "
                         "(convert uint8 pixels with gantutor.data.to_signed)")
    images = images.detach().float().cpu()
    if not torch.isfinite(images).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1.001 or hi > 1.001:
        raise ValueError(f"{name} must lie in [-1, 1] (the range of a tanh generator), got [{lo:.3g}, {hi:.3g}]")
    return images


@lru_cache(maxsize=1)
def classifier() -> MNISTClassifier:
    """The shipped MNIST classifier in eval mode, float32 on the CPU (loaded once, then cached)."""
    if not WEIGHTS.is_file():
        raise FileNotFoundError(f"no classifier weights at {WEIGHTS}; run `python -m gantutor.metrics train-classifier`")
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    net = MNISTClassifier()
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return net.eval().requires_grad_(False)


@torch.no_grad()
def _apply(fn, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    return torch.cat([fn(images[i:i + batch]) for i in range(0, images.shape[0], batch)])


def classify(images: torch.Tensor) -> torch.Tensor:
    """Predicted digits [N] (int64) of images [N, 1, 28, 28] in [-1, 1]."""
    return _apply(classifier(), check_images(images)).argmax(1)


def features(images: torch.Tensor) -> torch.Tensor:
    """Penultimate-layer features [N, 64] of the classifier for images [N, 1, 28, 28] in [-1, 1]."""
    return _apply(classifier().features, check_images(images))


# -- MNIST-FID --------------------------------------------------------------------------------------
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


def fid_between(images_a: torch.Tensor, images_b: torch.Tensor) -> float:
    """MNIST-FID between two sets of images [N, 1, 28, 28] in [-1, 1]."""
    a = feature_statistics(features(check_images(images_a, "images_a")), "images_a")
    b = feature_statistics(features(check_images(images_b, "images_b")), "images_b")
    return frechet_distance(*a, *b)


@lru_cache(maxsize=1)
def _real_statistics() -> Dict[str, object]:
    """Test-set statistics and the real-vs-real baseline (10,000 training digits vs the test set)."""
    from .data import load_mnist, to_signed

    test = to_signed(load_mnist(train=False).images[:, None])
    train = load_mnist(train=True).images
    pick = torch.randperm(train.shape[0], generator=torch.Generator().manual_seed(0))[:10000]
    stats = feature_statistics(features(test))
    baseline = frechet_distance(*feature_statistics(features(to_signed(train[pick][:, None]))), *stats)
    return {"stats": stats, "baseline": baseline}


@dataclass
class FIDResult:
    """MNIST-FID of ``n`` generated images against the test digits, beside the real-vs-real baseline."""

    fid: float
    baseline: float
    n: int

    def __str__(self) -> str:
        return (f"MNIST-FID {self.fid:.2f} ({self.n} samples vs 10,000 test digits; real training digits "
                f"score {self.baseline:.2f}; lower is better, not comparable with Inception FID)")


def mnist_fid(images: torch.Tensor) -> FIDResult:
    """MNIST-FID: the Frechet distance between Gaussians fitted to the shipped classifier's 64
    penultimate features of ``images`` [N, 1, 28, 28] in [-1, 1] and of the 10,000 MNIST test digits.

    Always read it beside ``baseline``, the same distance for 10,000 real training digits: that is
    what "as good as real data" scores with finite samples. Use the same N when comparing models (FID
    is biased upward for small N; N > 64 is required, 10,000 recommended).

    Never compare it with Inception-based FID (Heusel et al., 2017, on Inception-v3 pool features,
    2048-d, trained on ImageNet): the feature space, its dimension and its scale are different, so the
    numbers live on unrelated scales; only MNIST-FIDs computed by this function are comparable.
    """
    images = check_images(images)
    real = _real_statistics()
    mu, sigma = feature_statistics(features(images))
    return FIDResult(frechet_distance(mu, sigma, *real["stats"]), float(real["baseline"]), images.shape[0])


# -- conditional accuracy, precision and recall -----------------------------------------------------
@dataclass
class ConditionalAccuracy:
    """Share of samples classified as their requested digit, overall and per digit (NaN if absent)."""

    overall: float
    per_digit: Tuple[float, ...]

    def __str__(self) -> str:
        per = ", ".join(f"{d}: {100 * a:.0f}%" for d, a in enumerate(self.per_digit))
        return f"conditional accuracy {100 * self.overall:.1f}% ({per})"


def conditional_accuracy(samples: torch.Tensor, labels: torch.Tensor) -> ConditionalAccuracy:
    """How often the classifier reads ``samples`` [N, 1, 28, 28] as the digits ``labels`` [N] requested."""
    samples = check_images(samples, "samples")
    if not isinstance(labels, torch.Tensor) or labels.shape != (samples.shape[0],) or labels.is_floating_point():
        got = (labels.dtype, tuple(labels.shape)) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"labels must be an integer tensor [{samples.shape[0]}] of digits 0-9, got {got}")
    labels = labels.cpu().long()
    if int(labels.min()) < 0 or int(labels.max()) > 9:
        raise ValueError(f"labels must be digits 0-9, got values in [{int(labels.min())}, {int(labels.max())}]")
    hit = (classify(samples) == labels).double()
    per = tuple(float(hit[labels == d].mean()) if (labels == d).any() else math.nan for d in range(10))
    return ConditionalAccuracy(float(hit.mean()), per)


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


def precision_recall(real_images: torch.Tensor, fake_images: torch.Tensor, k: int = 3) -> PrecisionRecall:
    """k-NN precision and recall of images [N, 1, 28, 28] on the classifier's penultimate features."""
    return precision_recall_features(features(check_images(real_images, "real_images")),
                                     features(check_images(fake_images, "fake_images")), k)


# -- training the feature network (python -m gantutor.metrics train-classifier) ---------------------
def train_classifier(out: Path = WEIGHTS, epochs: int = 4, seed: int = 0, threads: int = 1) -> float:
    """Train :class:`MNISTClassifier` (Adam, one-cycle schedule, batch 128, seeded), save it in half
    precision atomically to ``out`` and return the test accuracy of the saved weights."""
    from .data import load_mnist, to_signed

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    train, test = load_mnist(train=True), load_mnist(train=False)
    x, y = to_signed(train.images[:, None]), train.labels
    net, batch = MNISTClassifier(), 128
    steps = epochs * math.ceil(len(y) / batch)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    start = time.time()
    for epoch in range(epochs):
        order = torch.randperm(len(y))
        for i in range(0, len(y), batch):
            idx = order[i:i + batch]
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step(), sched.step()
        print(f"epoch {epoch + 1}/{epochs}: loss {float(loss.detach()):.4f}, {time.time() - start:.0f} s", flush=True)
    state = {k: v.half() for k, v in net.state_dict().items()}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; package data must be readable by all
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    net.load_state_dict({k: v.float() for k, v in state.items()})
    with torch.no_grad():
        pred = _apply(net.eval(), to_signed(test.images[:, None])).argmax(1)
    return float((pred == test.labels).double().mean())


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gantutor.metrics")
    sub = parser.add_subparsers(dest="command", required=True)
    tc = sub.add_parser("train-classifier", help="train the MNIST feature network and write its weights")
    tc.add_argument("--out", default=str(WEIGHTS))
    tc.add_argument("--epochs", type=int, default=4)
    tc.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    start = time.time()
    acc = train_classifier(Path(args.out), epochs=args.epochs, threads=args.threads)
    print(f"test accuracy {100 * acc:.2f}%, {Path(args.out).stat().st_size / 1024:.0f} KiB written to "
          f"{args.out} in {time.time() - start:.0f} s")
    return 0 if acc >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())
