"""Data: MNIST as in-memory uint8 tensors, and toy distributions.

MNIST is read once from the IDX files into memory and batched by indexing, so the training loop does
no per-image Python work. Where the files come from, in order: the ``root`` argument, the environment
variable ``GANTUTOR_DATA``, the cache folder ``~/.cache/gantutor`` (where torchvision downloads them
when the machine is online).

Toy sets follow PacGAN (Lin et al., 2018, section 5): the ring of 8 has means (cos 2 pi i/8,
sin 2 pi i/8) and variance 1e-4 (std 0.01); the grid of 25 has means (-4 + 2i, -4 + 2j), i, j in 0..4,
and variance 0.0025 (std 0.05).
"""
from __future__ import annotations

import gzip
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gantutor"
NO_DATA_MESSAGE = (
    "MNIST was not found and could not be downloaded: set the environment variable GANTUTOR_DATA to a "
    "folder holding MNIST/raw/train-images-idx3-ubyte (plain or .gz) and the three other IDX files, or "
    "connect to the internet so that torchvision can download them into {cache}."
)


class DataNotFoundError(FileNotFoundError):
    """MNIST is neither on disk nor downloadable; the message says what to set."""


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (plain or gzip) into a numpy array of its declared shape (uint8 data only)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise ValueError(f"{path} is truncated: expected {expected} bytes of data, found {len(raw) - offset}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _find_file(folder: Path, stem: str) -> Optional[Path]:
    for sub in ("MNIST/raw", "raw", "."):
        for suffix in ("", ".gz"):
            p = folder / sub / (stem + suffix)
            if p.is_file():
                return p
    return None


def _candidate_roots(root: Optional[str]) -> list:
    if root is not None:
        return [Path(root).expanduser()]
    roots = []
    if os.environ.get("GANTUTOR_DATA"):
        roots.append(Path(os.environ["GANTUTOR_DATA"]).expanduser())
    roots.append(CACHE_DIR)
    return roots


def _download(cache: Path) -> None:
    """Let torchvision download MNIST into ``cache``; any failure becomes one clear error."""
    try:
        from torchvision.datasets import MNIST

        MNIST(str(cache), train=True, download=True)
        MNIST(str(cache), train=False, download=True)
    except Exception as exc:  # no network, no torchvision, a proxy error: all mean the same to a reader
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        # `from None`: the reader gets one message, not a stack trace from deep inside torchvision.
        raise DataNotFoundError(NO_DATA_MESSAGE.format(cache=cache) + f" (download failed: {reason})") from None


@dataclass
class MNISTData:
    """MNIST in memory: ``images`` uint8 [N, 28, 28], ``labels`` int64 [N]."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return self.images.shape[0]


def load_mnist(root: Optional[str] = None, train: bool = True, download: bool = True) -> MNISTData:
    """Load the MNIST training (``train=True``) or test split as uint8 tensors.

    Raises :class:`DataNotFoundError` with one sentence saying what to do when the files are neither
    on disk nor downloadable.
    """
    stems = MNIST_FILES[bool(train)]
    for folder in _candidate_roots(root):
        paths = [_find_file(folder, s) for s in stems]
        if all(paths):
            images = torch.from_numpy(read_idx(paths[0]).copy())
            labels = torch.from_numpy(read_idx(paths[1]).astype(np.int64))
            if images.ndim != 3 or images.shape[0] != labels.shape[0]:
                raise ValueError(f"MNIST files in {folder} disagree: {tuple(images.shape)} images, {labels.shape[0]} labels")
            return MNISTData(images, labels)
    if root is not None and not download:
        raise DataNotFoundError(NO_DATA_MESSAGE.format(cache=CACHE_DIR) + f" (looked in {root})")
    if not download:
        raise DataNotFoundError(NO_DATA_MESSAGE.format(cache=CACHE_DIR))
    target = Path(root).expanduser() if root is not None else CACHE_DIR
    _download(target)
    return load_mnist(str(target), train=train, download=False)


def to_signed(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 pixels in [0, 255] to float32 in [-1, 1] (the range of a tanh generator)."""
    return images_uint8.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] back to uint8 pixels, clamped."""
    return images.detach().add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)


class Sampler:
    """A source of training batches. ``sample(n)`` returns ``(x, y)``; ``y`` is None when unlabelled.

    ``shape`` is the shape of one sample, ``value_range`` the range of x (None when unbounded), and
    ``n_classes`` the number of labels (0 when unlabelled).
    """

    shape: Tuple[int, ...] = ()
    value_range: Optional[Tuple[float, float]] = None
    n_classes: int = 0

    def sample(self, n: int, generator: Optional[torch.Generator] = None):
        raise NotImplementedError

    def to(self, device) -> "Sampler":
        return self


def _check_n(n: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n (the batch size) must be a positive integer, got {n!r}")


class TensorSampler(Sampler):
    """Batches drawn by indexing an in-memory uint8 image tensor (no per-image work).

    Each epoch is a fresh random permutation; a batch is one slice of it, converted to [-1, 1] floats
    in one vectorised operation on the sampler's device.
    """

    def __init__(self, images: torch.Tensor, labels: Optional[torch.Tensor] = None, n_classes: int = 0):
        if images.dtype != torch.uint8 or images.ndim < 3:
            raise ValueError(f"images must be a uint8 tensor [N, H, W] or [N, C, H, W], got {images.dtype} {tuple(images.shape)}")
        if images.ndim == 3:
            images = images.unsqueeze(1)
        if labels is not None and labels.shape[0] != images.shape[0]:
            raise ValueError(f"labels must have one entry per image: {labels.shape[0]} labels for {images.shape[0]} images")
        self.images, self.labels = images, labels
        self.shape = tuple(images.shape[1:])
        self.value_range = (-1.0, 1.0)
        self.n_classes = n_classes if labels is not None else 0
        self._order = torch.empty(0, dtype=torch.long)
        self._pos = 0

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device) -> "TensorSampler":
        self.images = self.images.to(device)
        if self.labels is not None:
            self.labels = self.labels.to(device)
        return self

    def sample(self, n: int, generator: Optional[torch.Generator] = None):
        _check_n(n)
        if self._pos + n > self._order.numel():
            self._order = torch.randperm(len(self), generator=generator).to(self.images.device)
            self._pos = 0
        idx = self._order[self._pos:self._pos + n]
        self._pos += n
        x = to_signed(self.images[idx])
        y = self.labels[idx] if self.labels is not None else None
        return x, y


def mnist_sampler(root: Optional[str] = None, train: bool = True, labelled: bool = False,
                  digits: Optional[Sequence[int]] = None) -> TensorSampler:
    """MNIST as a :class:`TensorSampler` over [-1, 1] images of shape (1, 28, 28).

    ``labelled=True`` returns labels with each batch (for conditional GANs); ``digits`` keeps a subset.
    """
    data = load_mnist(root, train=train)
    images, labels = data.images, data.labels
    if digits is not None:
        keep = torch.isin(labels, torch.as_tensor(list(digits)))
        images, labels = images[keep], labels[keep]
    return TensorSampler(images, labels if labelled else None, n_classes=10 if labelled else 0)


@dataclass
class GaussianMixture(Sampler):
    """Isotropic Gaussian mixture in d dimensions: ``means`` [K, d], one ``std``, optional weights."""

    means: torch.Tensor
    std: float
    weights: Optional[torch.Tensor] = None
    name: str = "mixture"

    def __post_init__(self) -> None:
        self.means = torch.as_tensor(self.means, dtype=torch.float32)
        if self.means.ndim == 1:
            self.means = self.means[:, None]
        if not self.std > 0:
            raise ValueError(f"std must be positive, got {self.std!r}")
        k = self.means.shape[0]
        w = torch.full((k,), 1.0 / k) if self.weights is None else torch.as_tensor(self.weights, dtype=torch.float32)
        if w.shape != (k,) or (w < 0).any() or not math.isclose(float(w.sum()), 1.0, rel_tol=1e-5):
            raise ValueError(f"weights must be {k} non-negative numbers summing to 1, got {self.weights!r}")
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
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.ndim == 1:
            x = x[:, None]
        d = x.shape[1]
        sq = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        norm = (2 * math.pi * self.std ** 2) ** (-d / 2)
        return (self.weights[None] * norm * torch.exp(-sq / (2 * self.std ** 2))).sum(1)


def gaussian_mixture_1d(means: Sequence[float], stds: float, weights: Optional[Sequence[float]] = None) -> GaussianMixture:
    """A 1D mixture of Gaussians with a common standard deviation."""
    return GaussianMixture(torch.tensor(list(means), dtype=torch.float32)[:, None], float(stds),
                           None if weights is None else torch.tensor(list(weights)), name="1d")


def ring8(radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """PacGAN's 2D ring: 8 Gaussians at (cos 2 pi i/8, sin 2 pi i/8) with std 0.01."""
    angles = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], 1)
    return GaussianMixture(means, std, name="ring8")


def grid25(spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """PacGAN's 2D grid: 25 Gaussians at (-4 + 2i, -4 + 2j), i, j in 0..4, with std 0.05."""
    ticks = (torch.arange(5, dtype=torch.float32) - 2) * spacing
    means = torch.cartesian_prod(ticks, ticks)
    return GaussianMixture(means, std, name="grid25")
