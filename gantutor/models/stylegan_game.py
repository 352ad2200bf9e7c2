"""The StyleGAN2 game (Karras et al., 2020): non-saturating logistic loss, lazy R1 and path-length
regularisation, mixing regularisation inside G, EMA of G from the core (``TrainConfig.ema_decay``).

    game = StyleGANGame(StyleGenerator(), ResidualDiscriminator(), sampler, r1_gamma=0.1, pl_weight=2.0)
    GameTrainer(game, TrainConfig(d_reg_every=16, g_reg_every=4, ema_decay=0.999, ...)).run()

The core calls :meth:`StyleGANGame.d_regulariser` every ``d_reg_every`` D steps and
:meth:`StyleGANGame.g_regulariser` every ``g_reg_every`` G steps and multiplies each by its interval
(lazy regularisation, 2020, section 3.1).
"""
from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..data import Sampler
from ..train.core import Game, GameTrainer
from .stylegan import ResidualDiscriminator, StyleGenerator

Tensor = torch.Tensor


def r1_penalty(D: Callable[[Tensor], Tensor], x_real: Tensor) -> Tensor:
    """R1 = E_x ||grad_x D(x)||^2 over real images (Mescheder et al., 2018, section 4.1), without gamma / 2."""
    x = x_real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()


def path_lengths(synthesis: Callable[[Tensor], Tensor], w: Tensor, y: Tensor, create_graph: bool = True) -> Tensor:
    """||J_w^T y||_2 per sample (Karras et al., 2020, eq. 4), J_w = dg(w)/dw, by autograd of (g(w) y).sum().

    ``synthesis`` maps w [N, D] to images [N, C, H, W] (the same w at every level); y has the images'
    shape. The paper draws y ~ N(0, I); StyleGAN2's code divides it by sqrt(H W) so that the lengths do
    not grow with the resolution: pass y that way to follow the code. That code also differentiates with
    respect to each level's copy of w (and averages the squared norms over levels); here J_w is taken with
    respect to the one w all levels read, as in the paper's formula."""
    if not w.requires_grad:
        w = w.detach().requires_grad_(True)
    images = synthesis(w)
    if images.shape != y.shape:
        raise ValueError(f"y: expected the images' shape {list(images.shape)}, got {list(y.shape)}")
    (jty,) = torch.autograd.grad((images * y).sum(), w, create_graph=create_graph)
    return jty.square().sum(1).sqrt()


def ns_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The logistic discriminator loss softplus(-D(x)) + softplus(D(G(z))), averaged (Goodfellow, 2014)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def ns_g_loss(fake_logits: Tensor) -> Tensor:
    """The non-saturating generator loss softplus(-D(G(z))) = -log D(G(z)), averaged."""
    return F.softplus(-fake_logits).mean()


class StyleGANGame(Game):
    """A :class:`StyleGenerator` against a :class:`ResidualDiscriminator` on batches from ``sampler``.

    ``r1_gamma``: R1 weight gamma (the term is gamma / 2 R1). ``pl_weight``: path-length weight (2 in the
    paper; 0 = off); ``pl_decay``: a <- a + pl_decay (mean length - a); ``pl_batch_shrink``: the path-length
    batch is batch_size / this (2 in the paper's code)."""

    log_keys = ("d_loss", "g_loss", "d_real", "d_fake", "r1", "pl_length", "pl_mean")

    def __init__(self, G: StyleGenerator, D: ResidualDiscriminator, sampler: Sampler, r1_gamma: float = 0.1,
                 pl_weight: float = 2.0, pl_decay: float = 0.01, pl_batch_shrink: int = 2):
        for name, v in (("r1_gamma", r1_gamma), ("pl_weight", pl_weight)):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v < math.inf:
                raise ValueError(f"{name}: expected a finite number >= 0, got {v!r}")
        self.G, self.D, self.sampler, self.generator = G, D, sampler, G
        self.r1_gamma, self.pl_weight, self.pl_decay = float(r1_gamma), float(pl_weight), float(pl_decay)
        self.pl_batch_shrink = int(pl_batch_shrink)
        self.pl_mean = torch.zeros(())
        self.last = {"r1": math.nan, "pl_length": math.nan}
        self.device = torch.device("cpu")

    def networks(self) -> Dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def parameters(self, side: str):
        return (self.G if side == "generator" else self.D).parameters()

    def to(self, device) -> "StyleGANGame":
        super().to(device)
        self.sampler = self.sampler.to(device)
        self.device, self.pl_mean = torch.device(device), self.pl_mean.to(device)
        return self

    def _real(self, n: int) -> Tensor:
        x = self.sampler.sample(n)
        return x[0] if isinstance(x, (tuple, list)) else x

    def _z(self, n: int) -> Tensor:
        return torch.randn(n, self.G.z_dim, device=self.device)

    def d_loss(self, t: GameTrainer) -> Tuple[Tensor, Dict[str, Tensor]]:
        x = self._real(t.config.batch_size)
        with torch.no_grad():
            fake = self.G(self._z(x.shape[0]))
        real_logits, fake_logits = self.D(x), self.D(fake)
        return ns_d_loss(real_logits, fake_logits), {"real": real_logits.detach(), "fake": fake_logits.detach()}

    def g_loss(self, t: GameTrainer) -> Tuple[Tensor, Dict[str, Tensor]]:
        fake_logits = self.D(self.G(self._z(t.config.batch_size)))
        return ns_g_loss(fake_logits), {"fake": fake_logits.detach()}

    def d_regulariser(self, t: GameTrainer) -> Optional[Tensor]:
        """gamma / 2 * R1 on a real batch (the core multiplies it by d_reg_every)."""
        if not self.r1_gamma:
            return None
        r1 = r1_penalty(self.D, self._real(t.config.batch_size))
        self.last["r1"] = float(r1.detach())
        return 0.5 * self.r1_gamma * r1

    def g_regulariser(self, t: GameTrainer) -> Optional[Tensor]:
        """pl_weight * mean (||J_w^T y|| - a)^2, y ~ N(0, I) / sqrt(H W); a a moving average of lengths."""
        if not self.pl_weight:
            return None
        n = max(1, t.config.batch_size // self.pl_batch_shrink)
        w = self.G.mapping(self._z(n), update_avg=False)
        synth = lambda v: self.G.synthesis(v[:, None].repeat(1, self.G.num_ws, 1))
        with torch.no_grad():
            shape = synth(w[:1]).shape[1:]
        y = torch.randn(n, *shape, device=self.device) / math.sqrt(shape[-1] * shape[-2])
        lengths = path_lengths(synth, w, y)
        with torch.no_grad():
            self.pl_mean = self.pl_mean + self.pl_decay * (lengths.mean() - self.pl_mean)
        self.last["pl_length"] = float(lengths.detach().mean())
        return self.pl_weight * (lengths - self.pl_mean).square().mean()

    def record(self, d_loss, d_out, g_loss, g_out) -> Dict[str, float]:
        real, fake = d_out["real"], d_out["fake"]
        return dict(d_loss=float(d_loss), g_loss=float(g_loss), d_real=float(torch.sigmoid(real).mean()),
                    d_fake=float(torch.sigmoid(fake).mean()), r1=self.last["r1"],
                    pl_length=self.last["pl_length"], pl_mean=float(self.pl_mean))

    def sample(self, t: GameTrainer, n: int, z: Optional[Tensor] = None, psi=1.0, noise="random") -> Tensor:
        """n images from the sampling generator (EMA when on), with optional fixed z and truncation psi."""
        if z is None:
            z = self._z(n)
        elif tuple(z.shape) != (n, self.G.z_dim):
            raise ValueError(f"z: expected shape [{n}, {self.G.z_dim}], got {list(z.shape)}")
        return t.sampling_generator()(z.to(self.device), psi=psi, noise=noise)
