"""MNIST as in-memory uint8 tensors.

MNIST is read once from the IDX files into memory and batched by indexing, so the training loop does
no per-image Python work. Where the files come from, in order: the ``root`` argument, the environment
variable ``GANTUTOR_DATA``, the cache folder ``~/.cache/gantutor`` (where torchvision downloads them
when the machine is online).
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .. import validate as V
from .sampler import TensorSampler

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
        raise ValueError(f"path: expected an unsigned-byte IDX file, got {path} (bad magic number)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise ValueError(f"path: expected {expected} bytes of data in {path}, got {len(raw) - offset} (truncated)")
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
    stems = MNIST_FILES[V.boolean("train", train)]
    V.boolean("download", download)
    if root is not None:
        V.path_like("root", root)
    for folder in _candidate_roots(root):
        paths = [_find_file(folder, s) for s in stems]
        if all(paths):
            images = torch.from_numpy(read_idx(paths[0]).copy())
            labels = torch.from_numpy(read_idx(paths[1]).astype(np.int64))
            if images.ndim != 3 or images.shape[0] != labels.shape[0]:
                raise ValueError(f"MNIST files in {folder} disagree: {tuple(images.shape)} images, {labels.shape[0]} labels")
            if tuple(images.shape[1:]) != (28, 28) or int(labels.max()) > 9:
                V.fail(f"the MNIST files in {folder}", "28 x 28 images with digit labels 0-9",
                       f"images {tuple(images.shape)} and labels up to {int(labels.max())}")
            return MNISTData(images, labels)
    if root is not None and not download:
        raise DataNotFoundError(NO_DATA_MESSAGE.format(cache=CACHE_DIR) + f" (looked in {root})")
    if not download:
        raise DataNotFoundError(NO_DATA_MESSAGE.format(cache=CACHE_DIR))
    target = Path(root).expanduser() if root is not None else CACHE_DIR
    _download(target)
    return load_mnist(str(target), train=train, download=False)



def mnist_sampler(root: Optional[str] = None, train: bool = True, labelled: bool = False,
                  digits: Optional[Sequence[int]] = None) -> TensorSampler:
    """MNIST as a :class:`TensorSampler` over [-1, 1] images of shape (1, 28, 28).

    ``labelled=True`` returns labels with each batch (for conditional GANs); ``digits`` keeps a subset.
    """
    V.boolean("labelled", labelled)
    if digits is not None:
        what = "a non-empty list of digits 0-9"
        if isinstance(digits, (str, bytes)) or not isinstance(digits, (Sequence, set, range, np.ndarray, torch.Tensor)):
            V.fail("digits", what, V.describe(digits), "for one digit write digits=[3]", error=TypeError)
        digits = [d.item() if hasattr(d, "item") else d for d in digits]
        if not digits or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and 0 <= d <= 9
                                 for d in digits):
            V.fail("digits", what, repr(digits))
    data = load_mnist(root, train=train)
    images, labels = data.images, data.labels
    if digits is not None:
        keep = torch.isin(labels, torch.as_tensor(list(digits)))
        images, labels = images[keep], labels[keep]
    return TensorSampler(images, labels if labelled else None, n_classes=10 if labelled else 0)


