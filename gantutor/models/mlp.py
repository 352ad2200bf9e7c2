"""Multilayer-perceptron generator and discriminator (Goodfellow et al., 2014, used on MNIST and toys).

Both take an optional class label (conditional GAN, Mirza and Osindero, 2014): a learned embedding of
the label is concatenated with z in the generator and with the flattened input in the discriminator.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import torch
from torch import nn

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
    raise ValueError(f"value_range must be None, (-1, 1) or (0, 1), got {value_range!r}")


def _check_labels(y: Optional[Tensor], n: int, n_classes: int) -> None:
    if n_classes == 0:
        if y is not None:
            raise ValueError("y was given but the model is unconditional (n_classes=0)")
        return
    if y is None:
        raise ValueError(f"y (class labels in [0, {n_classes})) is required: the model is conditional")
    if y.dtype not in (torch.int64, torch.int32) or y.shape != (n,):
        raise ValueError(f"y must be an integer tensor of shape [{n}], got {y.dtype} {tuple(y.shape)}")
    if n and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(f"y must hold class labels in [0, {n_classes}), got values in [{int(y.min())}, {int(y.max())}]")


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
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim}")
        self.latent_dim, self.out_shape, self.n_classes = latent_dim, tuple(out_shape), n_classes
        self.embed = nn.Embedding(n_classes, embed_dim) if n_classes else None
        sizes = [latent_dim + (embed_dim if n_classes else 0), *hidden]
        self.body = nn.Sequential(*_mlp(sizes, slope, batchnorm=batchnorm),
                                  nn.Linear(sizes[-1], math.prod(self.out_shape)),
                                  output_activation(value_range))

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape [N, {self.latent_dim}], got {tuple(z.shape)}")
        _check_labels(y, z.shape[0], self.n_classes)
        h = z if self.embed is None else torch.cat([z, self.embed(y)], 1)
        return self.body(h).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """D(x[, y]): samples [N, *in_shape] (and labels y [N]) to logits [N] (no sigmoid: see losses)."""

    def __init__(self, in_shape: Sequence[int], hidden: Sequence[int] = (512, 256), n_classes: int = 0,
                 embed_dim: int = 10, slope: float = 0.2, dropout: float = 0.0):
        super().__init__()
        self.in_shape, self.n_classes = tuple(in_shape), n_classes
        self.embed = nn.Embedding(n_classes, embed_dim) if n_classes else None
        sizes = [math.prod(self.in_shape) + (embed_dim if n_classes else 0), *hidden]
        self.body = nn.Sequential(*_mlp(sizes, slope, dropout=dropout), nn.Linear(sizes[-1], 1))

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"x must have shape [N, {', '.join(map(str, self.in_shape))}], got {tuple(x.shape)}")
        _check_labels(y, x.shape[0], self.n_classes)
        h = x.reshape(x.shape[0], -1)
        if self.embed is not None:
            h = torch.cat([h, self.embed(y)], 1)
        return self.body(h)[:, 0]
