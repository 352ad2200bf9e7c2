"""The projection discriminator (Miyato and Koyama, 2018), an MLP version for MNIST and toys.

Instead of concatenating a label embedding with the input (``MLPDiscriminator(n_classes=...)``,
Mirza and Osindero, 2014), the projection discriminator judges realism and match separately:

    logit(x, y) = psi(phi(x)) + <embed(y), phi(x)>            (Miyato and Koyama, 2018, eq. 3)

``phi`` is a feature network shared by both parts, ``psi`` a linear "is it real?" head, and the inner
product with a learned class embedding the "does it match y?" score. The form follows from writing
the optimal logit log p(x, y) / p_g(x, y) as log p(y|x) / p_g(y|x) + log p(x) / p_g(x) with both
conditionals softmax models on the same features (eqs. 4-6 of the paper; checked in chapter 2).
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import torch
from torch import nn

from .. import validate as V
from .mlp import _check_input, _check_labels, _check_sizes, _mlp

Tensor = torch.Tensor


class MLPProjectionDiscriminator(nn.Module):
    """D(x, y) = psi(phi(x)) + <embed(y), phi(x)>: samples [N, *in_shape] and labels [N] to logits [N]."""

    def __init__(self, in_shape: Sequence[int], hidden: Sequence[int] = (512, 256), n_classes: int = 10,
                 slope: float = 0.2, dropout: float = 0.0):
        super().__init__()
        in_shape = V.shape_tuple("in_shape", in_shape)
        if V.non_negative_int("n_classes", n_classes) < 2:
            V.fail("n_classes", "at least 2 classes (n_classes >= 2)", n_classes)
        hidden = _check_sizes(hidden, n_classes, 1, slope, allow_empty=False)
        V.finite_number("dropout", dropout, low=0.0, high=1.0, high_open=True)
        self.in_shape, self.n_classes = tuple(in_shape), n_classes
        self.phi = nn.Sequential(*_mlp([math.prod(self.in_shape), *hidden], slope, dropout=dropout))
        self.psi = nn.Linear(hidden[-1], 1)
        self.embed = nn.Embedding(n_classes, hidden[-1])
        nn.init.normal_(self.embed.weight, std=1.0 / math.sqrt(hidden[-1]))  # match score starts O(1)

    def parts(self, x: Tensor, y: Tensor) -> Tuple[Tensor, Tensor]:
        """The two scores [N] whose sum is the logit: realism psi(phi(x)) and match <embed(y), phi(x)>."""
        x = _check_input("x", x, self.in_shape)
        y = _check_labels(y, x.shape[0], self.n_classes)
        h = self.phi(x.reshape(x.shape[0], -1))
        return self.psi(h)[:, 0], (self.embed(y) * h).sum(1)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        realism, match = self.parts(x, y)
        return realism + match
