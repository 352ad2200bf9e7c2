"""Batches by indexing: the :class:`Sampler` protocol, :class:`TensorSampler` over in-memory uint8
images, and the conversions between uint8 pixels and the [-1, 1] floats a tanh generator produces."""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from .. import validate as V


def to_signed(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 pixels in [0, 255] to a new float32 tensor in [-1, 1] (the range of a tanh generator).
    Floats are refused (they would be rescaled a second time); the input is never written to."""
    x = V.tensor_like("images_uint8", images_uint8, "a uint8 tensor of pixels in [0, 255]")
    if x.dtype != torch.uint8:
        fix = ("these are already floats: leave images in [-1, 1] as they are, or get pixels back with "
               "gantutor.data.to_uint8" if x.is_floating_point() else "convert pixels with .to(torch.uint8)")
        V.fail("images_uint8", "a uint8 tensor of pixels in [0, 255]", x, fix, error=TypeError)
    return x.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] back to uint8 pixels (values slightly outside are clamped)."""
    what = "a float tensor in [-1, 1]"
    x = V.tensor_like("images", images, what)
    if x.dtype == torch.uint8:
        V.fail("images", what, x, "these are already uint8 pixels: use them as they are", error=TypeError)
    V.float_tensor("images", x, what)
    V.in_range("images", x, -1.0, 1.0, tolerance=9.0)
    return x.detach().add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)


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
    V.integer("n", n, minimum=1)


class TensorSampler(Sampler):
    """Batches drawn by indexing an in-memory uint8 image tensor (no per-image work).

    Each epoch is a fresh random permutation; a batch is one slice of it, converted to [-1, 1] floats
    in one vectorised operation on the sampler's device.
    """

    def __init__(self, images: torch.Tensor, labels: Optional[torch.Tensor] = None, n_classes: int = 0):
        what = "a uint8 tensor [N, H, W] or [N, C, H, W] with N >= 1"
        images = V.tensor_like("images", images, what)
        if images.dtype != torch.uint8:
            fix = "convert [-1, 1] floats with gantutor.data.to_uint8" if images.is_floating_point() else None
            V.fail("images", what, images, fix, error=TypeError)
        if images.ndim not in (3, 4) or images.shape[0] == 0:
            V.fail("images", what, images)
        if images.ndim == 3:
            images = images.unsqueeze(1)
        V.non_negative_int("n_classes", n_classes)
        if labels is not None:
            if not n_classes:
                V.fail("n_classes", "the number of classes (>= 2) when labels are given", n_classes)
            labels = V.integer_labels("labels", labels, images.shape[0], n_classes)
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
        if n > len(self):
            V.fail("n", f"at most {len(self)} (the number of images)", n)
        if self._pos + n > self._order.numel():
            self._order = torch.randperm(len(self), generator=generator).to(self.images.device)
            self._pos = 0
        idx = self._order[self._pos:self._pos + n]
        self._pos += n
        x = to_signed(self.images[idx])
        y = self.labels[idx] if self.labels is not None else None
        return x, y

