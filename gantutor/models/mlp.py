"""Multilayer-perceptron generator and discriminator (Goodfellow et al., 2014, used on MNIST and toys).

Both take an optional class label (conditional GAN, Mirza and Osindero, 2014): a learned embedding of
the label is concatenated with z in the generator and with the flattened input in the discriminator.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import torch
from torch import nn

from .. import validate as V

Tensor = torch.Tensor


def output_activation(value_range: Optional[Tuple[float, float]]) -> nn.Module:
    """The generator's last activation chosen by the data's range: tanh for [-1, 1], sigmoid for
    [0, 1], identity for unbounded data (toy distributions)."""
    if value_range is None:
        return nn.Identity()
    if tuple(value_range) == (-1.0, 1.0):
        return nn.Tanh()
    if tuple(value_range) == (0.0, 1.0):
        return nn.Sigmoid()
    V.fail("value_range", "None, (-1, 1) or (0, 1)", repr(value_range))


def _check_labels(y: Optional[Tensor], n: int, n_classes: int) -> Optional[Tensor]:
    """The labels as int64 [n] in [0, n_classes) (None for an unconditional model), or a clear error."""
    if n_classes == 0:
        if y is not None:
            V.fail("y", "None: the model is unconditional (n_classes=0)", y)
        return None
    if y is None:
        V.fail("y", f"class labels in [0, {n_classes}) (required: the model is conditional)", y)
    return V.integer_labels("y", y, n, n_classes)


def _check_input(name: str, x, shape: Tuple[int, ...]) -> Tensor:
    """x as a float tensor [N, *shape], N >= 1, with finite values; images (3D ``shape``) within
    [-10, 10] (generous: noise is fine, [0, 255] pixels are caught and the fix named)."""
    what = f"a float tensor [N, {', '.join(map(str, shape))}]"
    x = V.tensor_like(name, x, what)
    if tuple(x.shape[1:]) != tuple(shape) or x.shape[0] == 0:
        V.fail(name, what + " with N >= 1", x, "add the batch axis with x[None]" if tuple(x.shape) == tuple(shape) else None)
    V.float_tensor(name, x, what)
    if len(shape) == 3:
        return V.in_range(name, x, -1.0, 1.0, tolerance=9.0, what="pixel values")
    return V.finite_values(name, x)


def _check_sizes(hidden, n_classes: int, embed_dim: int, slope: float, allow_empty: bool = True) -> Tuple[int, ...]:
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (tuple, list)) \
            or not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden) \
            or (not hidden and not allow_empty):
        V.fail("hidden", "a tuple of positive layer widths, e.g. (256, 512)", hidden, error=TypeError)
    V.non_negative_int("n_classes", n_classes)
    if n_classes == 1:
        V.fail("n_classes", "0 (unconditional) or at least 2 classes", n_classes)
    V.positive_int("embed_dim", embed_dim)
    V.finite_number("slope", slope, low=0.0)
    return tuple(hidden)


def _mlp(sizes: Sequence[int], slope: float, dropout: float = 0.0, batchnorm: bool = False) -> list:
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers.append(nn.Linear(a, b))
        if batchnorm:
            layers.append(nn.BatchNorm1d(b))
        layers.append(nn.LeakyReLU(slope))
        if dropout:
            layers.append(nn.Dropout(dropout))
    return layers


class MLPGenerator(nn.Module):
    """G(z[, y]): z [N, latent_dim] (and labels y [N]) to samples [N, *out_shape]."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], hidden: Sequence[int] = (256, 512),
                 value_range: Optional[Tuple[float, float]] = (-1.0, 1.0), n_classes: int = 0,
                 embed_dim: int = 10, slope: float = 0.2, batchnorm: bool = False):
        super().__init__()
        V.positive_int("latent_dim", latent_dim)
        out_shape = V.shape_tuple("out_shape", out_shape)
        hidden = _check_sizes(hidden, n_classes, embed_dim, slope)
        V.boolean("batchnorm", batchnorm)
        self.latent_dim, self.out_shape, self.n_classes = latent_dim, tuple(out_shape), n_classes
        self.embed = nn.Embedding(n_classes, embed_dim) if n_classes else None
        sizes = [latent_dim + (embed_dim if n_classes else 0), *hidden]
        self.body = nn.Sequential(*_mlp(sizes, slope, batchnorm=batchnorm),
                                  nn.Linear(sizes[-1], math.prod(self.out_shape)),
                                  output_activation(value_range))

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        z = _check_input("z", z, (self.latent_dim,))
        y = _check_labels(y, z.shape[0], self.n_classes)
        h = z if self.embed is None else torch.cat([z, self.embed(y)], 1)
        return self.body(h).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """D(x[, y]): samples [N, *in_shape] (and labels y [N]) to logits [N] (no sigmoid: see losses)."""

    def __init__(self, in_shape: Sequence[int], hidden: Sequence[int] = (512, 256), n_classes: int = 0,
                 embed_dim: int = 10, slope: float = 0.2, dropout: float = 0.0):
        super().__init__()
        in_shape = V.shape_tuple("in_shape", in_shape)
        hidden = _check_sizes(hidden, n_classes, embed_dim, slope)
        V.finite_number("dropout", dropout, low=0.0, high=1.0, high_open=True)
        self.in_shape, self.n_classes = tuple(in_shape), n_classes
        self.embed = nn.Embedding(n_classes, embed_dim) if n_classes else None
        sizes = [math.prod(self.in_shape) + (embed_dim if n_classes else 0), *hidden]
        self.body = nn.Sequential(*_mlp(sizes, slope, dropout=dropout), nn.Linear(sizes[-1], 1))

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        x = _check_input("x", x, self.in_shape)
        y = _check_labels(y, x.shape[0], self.n_classes)
        h = x.reshape(x.shape[0], -1)
        if self.embed is not None:
            h = torch.cat([h, self.embed(y)], 1)
        return self.body(h)[:, 0]
