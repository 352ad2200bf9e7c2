"""Batches by indexing: the :class:`Sampler` protocol, :class:`TensorSampler` over in-memory uint8
images, and the conversions between uint8 pixels and the [-1, 1] floats a tanh generator produces."""
from __future__ import annotations

from typing import Optional, Tuple

import torch

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

