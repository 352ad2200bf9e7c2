"""A history buffer of generated images (Shrivastava et al., 2017; used by CycleGAN, Zhu et al., 2017,
section 4: "we update the discriminators using a history of generated images rather than the ones
produced by the latest generators. We keep an image buffer that stores the 50 previously created images").

The CycleGAN authors' rule, per image of a new batch: while the buffer is not full, store the image
and return it; once full, with probability 1/2 return the new image unchanged, otherwise return a
uniformly chosen stored image and put the new image in its place.
"""
from __future__ import annotations

from typing import List, Optional

import torch


class ImagePool:
    """``pool.query(images)`` returns a batch of the same shape: a mix of new and stored images."""

    def __init__(self, size: int = 50):
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"size must be an integer >= 0 (0 = no buffer), got {size!r}")
        self.size = size
        self.images: List[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """A batch [N, ...] for the discriminator, drawn as the module docstring says (detached)."""
        if not isinstance(images, torch.Tensor) or images.ndim < 2:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"images must be a batch tensor [N, ...], got {got}")
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=generator) < 0.5:
                i = int(torch.randint(0, self.size, (), generator=generator))
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)
