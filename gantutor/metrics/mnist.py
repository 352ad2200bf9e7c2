"""MNIST scores from a small CNN trained on MNIST (its weights ship with the package in
``gantutor/_weights``; ``python -m gantutor.metrics train-classifier`` reproduces them): MNIST-FID on
its penultimate-layer features, conditional accuracy, and k-NN precision and recall.
"""
from __future__ import annotations

import argparse
import math
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from .. import validate as V
from ..train.checkpoint import atomic_save, float16_state, float32_state
from .distances import PrecisionRecall, feature_statistics, frechet_distance, precision_recall_features

WEIGHTS = Path(__file__).resolve().parents[1] / "_weights" / "mnist_classifier.pt"
FEATURE_DIM = 64


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
    and no NaN (numpy arrays are converted); raise ``ValueError`` naming the argument otherwise. A
    batch with bright pixels but none below 0 is refused too: MNIST digits in [-1, 1] have a background
    of -1, so such a batch is [0, 1] pixels (map them with 2 x - 1)."""
    images = V.image_batch(name, images, channels=1, size=28, value_range=(-1, 1), tolerance=0.001)
    images = images.detach().float().cpu()
    if float(images.min()) >= 0 and float(images.max()) > 0.5:
        V.fail(name, "MNIST images in [-1, 1] (background -1)",
               f"values in [{float(images.min()):.3g}, {float(images.max()):.3g}]",
               "these look like pixels in [0, 1]: map them with 2 * x - 1")
    return images


@lru_cache(maxsize=1)
def classifier() -> MNISTClassifier:
    """The shipped MNIST classifier in eval mode, float32 on the CPU (loaded once, then cached)."""
    if not WEIGHTS.is_file():
        raise FileNotFoundError(f"no classifier weights at {WEIGHTS}; run `python -m gantutor.metrics train-classifier`")
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    net = MNISTClassifier()
    net.load_state_dict(float32_state(state))
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

def fid_between(images_a: torch.Tensor, images_b: torch.Tensor) -> float:
    """MNIST-FID between two sets of images [N, 1, 28, 28] in [-1, 1]."""
    a = feature_statistics(features(check_images(images_a, "images_a")), "images_a")
    b = feature_statistics(features(check_images(images_b, "images_b")), "images_b")
    return frechet_distance(*a, *b)


@lru_cache(maxsize=1)
def _test_statistics() -> Tuple:
    """Mean and covariance of the classifier's features of the 10,000 MNIST test digits."""
    from ..data import load_mnist, to_signed

    return feature_statistics(features(to_signed(load_mnist(train=False).images[:, None])))


@lru_cache(maxsize=8)
def real_baseline(n: int) -> float:
    """The real-vs-real floor at sample size ``n``: MNIST-FID of ``n`` training digits (a fixed seeded
    draw) against the test set. FID is biased upward for finite n (both its mean and its trace terms),
    so a score means something only beside this floor at the same n."""
    from ..data import load_mnist, to_signed

    train = load_mnist(train=True).images
    if not 64 < n <= train.shape[0]:
        raise ValueError(f"n: expected a sample size in (64, {train.shape[0]}], got {n}")
    pick = torch.randperm(train.shape[0], generator=torch.Generator().manual_seed(0))[:n]
    return frechet_distance(*feature_statistics(features(to_signed(train[pick][:, None]))), *_test_statistics())


@dataclass
class FIDResult:
    """MNIST-FID of ``n`` generated images against the test digits, beside the real-vs-real baseline
    (``n`` real training digits scored the same way)."""

    fid: float
    baseline: float
    n: int

    def __str__(self) -> str:
        return (f"MNIST-FID {self.fid:.2f} ({self.n} samples vs 10,000 test digits; {self.n} real training "
                f"digits score {self.baseline:.2f}; lower is better, not comparable with Inception FID)")


def mnist_fid(images: torch.Tensor) -> FIDResult:
    """MNIST-FID: the Frechet distance between Gaussians fitted to the shipped classifier's 64
    penultimate features of ``images`` [N, 1, 28, 28] in [-1, 1] and of the 10,000 MNIST test digits.

    Always read it beside ``baseline``, :func:`real_baseline` at the same N: N real training digits
    scored the same way, what "as good as real data" scores with N samples. Use the same N when
    comparing models (FID is biased upward for small N; N > 64 is required, 10,000 recommended).

    Never compare it with Inception-based FID (Heusel et al., 2017, on Inception-v3 pool features,
    2048-d, trained on ImageNet): the feature space, its dimension and its scale are different, so the
    numbers live on unrelated scales; only MNIST-FIDs computed by this function are comparable.
    """
    images = check_images(images)
    mu, sigma = feature_statistics(features(images), "images")
    n = images.shape[0]
    return FIDResult(frechet_distance(mu, sigma, *_test_statistics()), float(real_baseline(min(n, 60000))), n)


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
    labels = V.integer_labels("labels", labels, samples.shape[0], n_classes=10).cpu()
    hit = (classify(samples) == labels).double()
    per = tuple(float(hit[labels == d].mean()) if (labels == d).any() else math.nan for d in range(10))
    return ConditionalAccuracy(float(hit.mean()), per)



def precision_recall(real_images: torch.Tensor, fake_images: torch.Tensor, k: int = 3) -> PrecisionRecall:
    """k-NN precision and recall of images [N, 1, 28, 28] on the classifier's penultimate features."""
    return precision_recall_features(features(check_images(real_images, "real_images")),
                                     features(check_images(fake_images, "fake_images")), k)


# -- training the feature network (python -m gantutor.metrics train-classifier) ---------------------
def train_classifier(out: Path = WEIGHTS, epochs: int = 4, seed: int = 0, threads: int = 1) -> float:
    """Train :class:`MNISTClassifier` (Adam, one-cycle schedule, batch 128, seeded), save it in half
    precision atomically to ``out`` and return the test accuracy of the saved weights."""
    from ..data import load_mnist, to_signed

    V.positive_int("epochs", epochs)
    V.positive_int("threads", threads)
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
    state = float16_state(net.state_dict())
    atomic_save(state, out)
    net.load_state_dict(float32_state(state))
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

