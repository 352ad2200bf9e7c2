"""ProGAN (Karras et al., 2018, "Progressive Growing of GANs", arXiv 1710.10196), sized for a CPU.

Both networks grow 4 -> 8 -> 16 -> 32 (``widths`` gives the channels at each resolution; stage s works
at 4 * 2**s pixels). Table 2 of the paper, scaled down:

* G: z normalised by pixel norm; a dense layer to a 4 x 4 map and a 3 x 3 conv; then per stage a block
  "2x nearest upsampling, 3 x 3 conv, 3 x 3 conv", each conv followed by LeakyReLU(0.2) and pixel norm;
  ``toRGB`` is a linear 1 x 1 conv from any stage's features to the image, and there is NO output
  activation (as in the paper and the official code): G's images live in pixel space, unbounded, and
  are clamped to [-1, 1] only where they are shown or scored (:meth:`ProGANGame.sample`). During the
  fade-in of stage s (figure 2 b) the image is alpha * toRGB_s(block_s(h)) + (1 - alpha) *
  upsample(toRGB_{s-1}(h)): a blend of two images in pixel space, exactly the blend the real images get
  (:func:`gantutor.layers.progressive.blend_real`).
* D mirrors it: ``fromRGB`` 1 x 1 convs; per stage "3 x 3 conv, 3 x 3 conv, 2 x 2 average pooling";
  the 4 x 4 head is minibatch standard deviation, a 3 x 3 conv, a 4 x 4 conv (to 1 x 1) and a linear
  layer to one score. During a fade-in: alpha * block_s(fromRGB_s(x)) + (1 - alpha) * fromRGB_{s-1}(downsample(x)).
* every layer has an equalised learning rate (weights N(0, 1), scaled at run time by gain / sqrt(fan_in),
  gain sqrt(2)); as in the official code, toRGB and D's last linear layer use gain 1 and G's first dense
  layer (z -> 4 x 4 map) gain sqrt(2) / 4, i.e. scale sqrt(2) / (4 sqrt(latent_dim)) = sqrt(2 / (16
  latent_dim)): He's constant as if the fan-in were the 16 positions times the latent size.
* one deviation from the official code, kept because the shipped checkpoints depend on it: the dense
  layer's bias has ``widths[0] * 16`` entries, one per channel AND position of the 4 x 4 map, because it
  is added before the reshape; the official code (networks.py, G_paper, res == 2) reshapes first and
  applies one bias per channel. The function class is slightly larger (16 free offsets per channel); at
  initialisation (zero bias) the two compute the same.

:class:`ProGANGame` trains them with WGAN-GP plus the drift term eps_drift E[D(x)^2] (appendix A.1).
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from ..data import Sampler
from ..layers.progressive import (EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm,
                                  blend_real, downsample, fade_in, resize_to, upsample)
from ..train.core import Game, GameTrainer
from ..train.schedules import growth_stage
from .. import losses
from .. import validate as V

Tensor = torch.Tensor


def resolution(stage: int) -> int:
    """The image side at ``stage``: 4 * 2**stage."""
    return 4 * 2 ** stage


def _lrelu() -> nn.Module:
    return nn.LeakyReLU(0.2)


def _check_stage(stage: int, alpha: float, n_stages: int) -> None:
    if isinstance(stage, bool) or not isinstance(stage, int) or not 0 <= stage < n_stages:
        raise ValueError(f"stage: expected an integer in [0, {n_stages - 1}], got {stage!r}")
    V.probability("alpha", alpha)


class _ValidConv4(EqualizedConv2d):
    """The 4 x 4 convolution without padding that turns D's last 4 x 4 map into a vector."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(c_in, c_out, 4)
        self.padding = 0


class ProGANGenerator(nn.Module):
    """G(z, stage, alpha) -> images [N, channels, 4 * 2**stage, same], linear output (data scale [-1, 1],
    not clamped)."""

    def __init__(self, latent_dim: int = 128, channels: int = 1, widths: Sequence[int] = (128, 128, 64, 32),
                 pixelnorm: bool = True):
        super().__init__()
        V.positive_int("latent_dim", latent_dim)
        V.positive_int("channels", channels)
        widths = V.shape_tuple("widths", widths)
        self.latent_dim, self.channels, self.widths = latent_dim, channels, tuple(widths)
        self.n_stages = len(self.widths)
        norm = PixelNorm if pixelnorm else nn.Identity
        w0 = self.widths[0]
        self.normalize_z = norm()
        # the official code's gain; its bias is per channel and position (module docstring)
        self.dense = EqualizedLinear(latent_dim, w0 * 16, gain=math.sqrt(2) / 4)
        self.base = nn.Sequential(_lrelu(), norm(), EqualizedConv2d(w0, w0, 3), _lrelu(), norm())
        self.blocks = nn.ModuleList([nn.Identity()] + [
            nn.Sequential(EqualizedConv2d(a, b, 3), _lrelu(), norm(), EqualizedConv2d(b, b, 3), _lrelu(), norm())
            for a, b in zip(self.widths[:-1], self.widths[1:])])
        self.to_rgb = nn.ModuleList([EqualizedConv2d(w, channels, 1, gain=1.0) for w in self.widths])

    def features(self, z: Tensor, stage: int) -> Tuple[Tensor, Tensor]:
        """(features at ``stage``, features at ``stage - 1``) without toRGB."""
        z = V.float_tensor("z", z, f"a float tensor [N, {self.latent_dim}]")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z: expected a tensor [N, {self.latent_dim}], got {list(z.shape)}")
        V.finite_values("z", z)
        h = self.base(self.dense(self.normalize_z(z)).view(-1, self.widths[0], 4, 4))
        prev = h
        for s in range(1, stage + 1):
            prev, h = h, self.blocks[s](upsample(h))
        return h, prev

    def forward(self, z: Tensor, stage: Optional[int] = None, alpha: float = 1.0) -> Tensor:
        stage = self.n_stages - 1 if stage is None else stage
        _check_stage(stage, alpha, self.n_stages)
        h, prev = self.features(z, stage)
        out = self.to_rgb[stage](h)
        if stage > 0 and alpha < 1.0:  # two images blended in pixel space, like blend_real's reals
            out = fade_in(alpha, out, upsample(self.to_rgb[stage - 1](prev)))
        return out  # linear: no output activation (the paper's toRGB is the last layer)


class ProGANDiscriminator(nn.Module):
    """D(x, stage, alpha) -> scores [N] for images [N, channels, 4 * 2**stage, same]."""

    def __init__(self, channels: int = 1, widths: Sequence[int] = (128, 128, 64, 32), mbstd: bool = True,
                 group_size: int = 4):
        super().__init__()
        V.positive_int("channels", channels)
        widths = V.shape_tuple("widths", widths)
        self.channels, self.widths = channels, tuple(widths)
        self.n_stages = len(self.widths)
        w0 = self.widths[0]
        self.from_rgb = nn.ModuleList([nn.Sequential(EqualizedConv2d(channels, w, 1), _lrelu()) for w in self.widths])
        self.blocks = nn.ModuleList([nn.Identity()] + [
            nn.Sequential(EqualizedConv2d(b, b, 3), _lrelu(), EqualizedConv2d(b, a, 3), _lrelu())
            for a, b in zip(self.widths[:-1], self.widths[1:])])
        self.mbstd = MinibatchStdDev(group_size) if mbstd else None
        extra = 1 if mbstd else 0
        self.head = nn.Sequential(EqualizedConv2d(w0 + extra, w0, 3), _lrelu(), _ValidConv4(w0, w0), _lrelu())
        self.out = EqualizedLinear(w0, 1, gain=1.0)

    def forward(self, x: Tensor, stage: Optional[int] = None, alpha: float = 1.0) -> Tensor:
        stage = self.n_stages - 1 if stage is None else stage
        _check_stage(stage, alpha, self.n_stages)
        side = resolution(stage)
        x = V.float_tensor("x", x, f"a float image tensor [N, {self.channels}, {side}, {side}]")
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.channels, side, side):
            raise ValueError(f"x: expected images [N, {self.channels}, {side}, {side}] at stage {stage}, "
                             f"got {list(x.shape)}")
        V.in_range("x", x, -1.0, 1.0, tolerance=9.0, what="pixel values")
        h = self.from_rgb[stage](x)
        if stage > 0:
            h = downsample(self.blocks[stage](h))
            if alpha < 1.0:
                h = fade_in(alpha, h, self.from_rgb[stage - 1](downsample(x)))
        for s in range(stage - 1, 0, -1):
            h = downsample(self.blocks[s](h))
        if self.mbstd is not None:
            h = self.mbstd(h)
        return self.out(self.head(h).flatten(1)).squeeze(1)


class ProGANGame(Game):
    """Progressive growing with WGAN-GP (Gulrajani et al., 2017) and the drift term (appendix A.1):

        L_D = E[D(G(z))] - E[D(x)] + lambda E[(||grad D(x_hat)|| - 1)^2] + eps_drift E[D(x)^2],
        L_G = -E[D(G(z))],

    lambda = ``config.gp_weight`` (10), eps_drift = ``drift`` (0.001). :meth:`begin_step` sets (stage,
    alpha) from :func:`gantutor.train.schedules.growth_stage`; real images (at full size in the sampler)
    are average-pooled to the stage's side and blended at the same alpha as G's output
    (:func:`gantutor.layers.progressive.blend_real`), the same pixel-space blend as G's output.
    ``fade=False`` switches new blocks on at once (alpha = 1); ``fixed_stage`` trains one resolution
    from the start (the non-growing baseline).

    The gradient penalty's scale differs from the official code's. Here G and D run at the stage's own
    side 4 * 2**stage and grad D is taken with respect to that image. The official code runs both at full
    size (G's image upsampled, D average-pooling its full-size input down), and pooling by 2 halves a
    gradient's norm, so there ||grad D|| w.r.t. the full image = 2**-(last - stage) x the stage's own:
    this book's penalty (target 1 at the stage's size) is 2**(last - stage) times stricter in
    gradient-norm terms (8, 4, 2 at 4, 8, 16 px for 32 px images; tests/test_progan.py), and at a stage
    change (alpha = 0: the same function as the previous stage) the norm halves, so the penalty jumps.
    Everything else in the game is unchanged at alpha = 0.

    ``reset_optimizers`` (default True, as the official code's ``reset_opt_for_new_lod``): whenever a
    phase begins (a fade-in, or the stable phase after it; with ``fade=False`` a new stage), both
    optimisers' state (Adam's moments and step counts) is dropped, so the new layers and the changed
    problem start from fresh moment estimates. ``optimizer_resets`` lists the steps where it happened.
    """

    log_keys = ("d_loss", "g_loss", "critic_gap", "drift", "stage", "alpha", "resolution")

    def __init__(self, G: ProGANGenerator, D: ProGANDiscriminator, sampler: Sampler, stage_steps: int,
                 fade_steps: int, drift: float = 0.001, fade: bool = True, fixed_stage: Optional[int] = None,
                 reset_optimizers: bool = True):
        if G.n_stages != D.n_stages:
            raise ValueError(f"D: expected {G.n_stages} stages like G, got {D.n_stages}")
        side = resolution(G.n_stages - 1)
        if tuple(sampler.shape) != (G.channels, side, side):
            raise ValueError(f"sampler: expected images of shape {(G.channels, side, side)}, got {tuple(sampler.shape)}")
        self.G, self.D, self.sampler = G, D, sampler
        self.generator, self.latent_dim = G, G.latent_dim
        self.stage_steps, self.fade_steps, self.drift, self.fade = stage_steps, fade_steps, float(drift), fade
        self.fixed_stage = fixed_stage
        self.stage, self.alpha = (fixed_stage, 1.0) if fixed_stage is not None else (0, 1.0)
        self.reset_optimizers, self.optimizer_resets = bool(reset_optimizers), []
        self._phase: Optional[Tuple[int, bool]] = None
        self.device = torch.device("cpu")

    def networks(self) -> Dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def parameters(self, side: str):
        return (self.G if side == "generator" else self.D).parameters()

    def to(self, device) -> "ProGANGame":
        super().to(device)
        self.sampler = self.sampler.to(device)
        self.device = torch.device(device)
        return self

    def schedule(self, step: int) -> Tuple[int, float]:
        """(stage, alpha) at generator step ``step``."""
        if self.fixed_stage is not None:
            return self.fixed_stage, 1.0
        stage, alpha = growth_stage(step, self.stage_steps, self.fade_steps, self.G.n_stages)
        return stage, (alpha if self.fade else 1.0)

    def begin_step(self, trainer: GameTrainer) -> None:
        self.stage, self.alpha = self.schedule(trainer.step_count)
        phase = (self.stage, self.alpha < 1.0)      # (stage, fading?): the official code's floor/ceil of lod
        if self._phase is not None and phase != self._phase and self.reset_optimizers:
            for opt in (trainer.opt_g, trainer.opt_d):
                opt.state.clear()                   # Adam: m, v and the step count start again from 0
            self.optimizer_resets.append(trainer.step_count)
        self._phase = phase

    def real_batch(self, n: int) -> Tensor:
        """n real images at the current stage's side, blended at the current alpha during a fade-in."""
        x, _ = self.sampler.sample(n)
        x = resize_to(x, resolution(self.stage))
        return blend_real(x, self.alpha) if self.stage > 0 and self.alpha < 1.0 else x

    def d_loss(self, t: GameTrainer):
        x = self.real_batch(t.config.batch_size)
        z = torch.randn(x.shape[0], self.latent_dim, device=self.device)
        with torch.no_grad():
            fake = self.G(z, self.stage, self.alpha)
        real, fake_scores = self.D(x, self.stage, self.alpha), self.D(fake, self.stage, self.alpha)
        drift = real.pow(2).mean()
        loss = losses.d_wasserstein(real, fake_scores) + self.drift * drift
        if t.config.gp_weight:
            loss = loss + t.config.gp_weight * losses.gradient_penalty(self.D, x, fake, self.stage, self.alpha)
        return loss, {"real": real.detach(), "fake": fake_scores.detach(), "drift": drift.detach()}

    def g_loss(self, t: GameTrainer):
        z = torch.randn(t.config.batch_size, self.latent_dim, device=self.device)
        scores = self.D(self.G(z, self.stage, self.alpha), self.stage, self.alpha)
        return -scores.mean(), {"fake": scores.detach()}

    def record(self, d_loss, d_out, g_loss, g_out) -> Dict[str, float]:
        return dict(d_loss=float(d_loss), g_loss=float(g_loss),
                    critic_gap=float(d_out["real"].mean() - d_out["fake"].mean()), drift=float(d_out["drift"]),
                    stage=float(self.stage), alpha=float(self.alpha), resolution=float(resolution(self.stage)))

    def sample(self, t: GameTrainer, n: int, z: Optional[Tensor] = None, stage: Optional[int] = None,
               alpha: Optional[float] = None, full_size: bool = False, clamp: bool = True) -> Tensor:
        """n samples at the current (or given) stage and alpha; ``full_size`` upsamples them (nearest)
        to the last stage's side. G's output is linear; ``clamp`` (default) clips it to the data range
        [-1, 1] for display and scoring, as the official code does when it converts images to 8 bits."""
        stage = self.stage if stage is None else stage
        alpha = self.alpha if alpha is None else alpha
        if z is None:
            z = torch.randn(n, self.latent_dim, device=self.device)
        if tuple(z.shape) != (n, self.latent_dim):
            raise ValueError(f"z: expected shape [{n}, {self.latent_dim}], got {list(z.shape)}")
        out = t.sampling_generator()(z.to(self.device), stage, alpha)
        if clamp:
            out = out.clamp(-1.0, 1.0)
        while full_size and out.shape[-1] < resolution(self.G.n_stages - 1):
            out = upsample(out)
        return out


def progan_pair(latent_dim: int = 128, channels: int = 1, widths: Sequence[int] = (128, 128, 64, 32),
                pixelnorm: bool = True, mbstd: bool = True) -> Tuple[ProGANGenerator, ProGANDiscriminator]:
    """A matching (G, D)."""
    return ProGANGenerator(latent_dim, channels, widths, pixelnorm), ProGANDiscriminator(channels, widths, mbstd)
