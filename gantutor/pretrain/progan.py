"""ProGAN on emoji (chapter 7's colour example): the chapter's model classes and game, grown 4 -> 8 ->
16 -> 32 on every Google-style emoji (with skin-tone variants). It is NOT trained longer than the
chapter's MNIST run: it uses the chapter's schedule (120 steps per stable phase and per fade-in, 840
generator steps, batch 32) with wider networks (widths 64, 64, 32, 16 against the chapter's 32, 32, 16,
8; latent size 128 against 64) and three colour channels; what it saves the reader is the CPU time.

    python -m gantutor.pretrain progan-emoji --threads 1     # 3.5 to 5 min of CPU on one thread

(the shipped file: 297 s of CPU, measured on 2 cores shared with other jobs, load about 10).

The shipped network is the moving average of G (what the chapter samples from). Settings are the
paper's where a CPU allows (Karras et al., 2018, appendix A.1): WGAN-GP with lambda = 10 and
eps_drift = 0.001, Adam(lr 1e-3, beta1 = 0, beta2 = 0.99), one D step per G step, pixel norm,
equalised learning rate, minibatch standard deviation (groups of 4), linear toRGB and no output
activation (samples clamped to [-1, 1] only to be scored), Adam's state reset at every phase change,
G's running average (decay 0.99: the paper's 0.999 averages over too many steps for so short a run);
the widths and the steps per stage are much smaller (``EMOJI`` below). ``history`` holds the logged losses, the
stage and alpha of every logged step, and a grid of 16 fixed-noise samples at the end of every stage;
``info`` the settings and the emoji Frechet distance of ``EVAL_N`` samples.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Tuple

import torch
from torch import nn

from ..config import TrainConfig
from ..data.sampler import to_uint8
from ..models.progan import ProGANGame, ProGANGenerator, progan_pair, resolution
from ..train import GameTrainer, seed_everything
from . import Recipe

EVAL_N = 2000


@dataclass(frozen=True)
class ProGANRecipe:
    """Widths per resolution (4, 8, 16, 32), latent size, schedule and optimiser settings."""

    widths: Tuple[int, ...] = (64, 64, 32, 16)
    latent_dim: int = 128
    channels: int = 3
    stage_steps: int = 120
    fade_steps: int = 120
    batch_size: int = 32
    lr: float = 1e-3
    ema_decay: float = 0.99   # the paper: 0.999 over millions of images; 0.99 for a run of 840 steps
    seed: int = 0

    def total_steps(self, n_stages: int = 4) -> int:
        return self.stage_steps + (n_stages - 1) * (self.fade_steps + self.stage_steps)


EMOJI = ProGANRecipe()
TINY = ProGANRecipe(stage_steps=2, fade_steps=2, batch_size=8)


def build_emoji() -> ProGANGenerator:
    return ProGANGenerator(EMOJI.latent_dim, EMOJI.channels, EMOJI.widths)


def train_emoji(tiny: bool = False) -> Tuple[nn.Module, dict, dict]:
    from ..data.emoji import emoji_sampler

    r = TINY if tiny else EMOJI
    seed_everything(r.seed)
    G, D = progan_pair(r.latent_dim, r.channels, EMOJI.widths)
    sampler = emoji_sampler("google", 32)
    game = ProGANGame(G, D, sampler, r.stage_steps, r.fade_steps)
    config = TrainConfig(steps=r.total_steps(), batch_size=r.batch_size, lr_g=r.lr, lr_d=r.lr, betas=(0.0, 0.99),
                         gp_weight=10.0, ema_decay=r.ema_decay, latent_dim=r.latent_dim, seed=r.seed,
                         log_every=10 if not tiny else 1, progress=False)
    fixed_z = torch.randn(16, r.latent_dim, generator=torch.Generator().manual_seed(1))
    grids, stage_end = [], {}
    ends = [r.stage_steps + s * (r.fade_steps + r.stage_steps) for s in range(G.n_stages)]

    def snapshot(t: GameTrainer) -> None:
        if t.step_count in ends:
            stage = ends.index(t.step_count)
            grids.append(to_uint8(t.sample(16, z=fixed_z, stage=stage, alpha=1.0, full_size=True)))
            stage_end[str(resolution(stage))] = t.step_count

    trainer = GameTrainer(game, config, callbacks=[snapshot])
    trainer.run()
    hist = {k: v for k, v in trainer.history.as_dict().items()
            if k in ("step", "d_loss", "g_loss", "critic_gap", "stage", "alpha")}
    G_ema = trainer.sampling_generator()
    info = dict(asdict(r), steps=config.steps, stage_end_steps=stage_end, images=len(sampler), style="google")
    try:
        from ..metrics.emoji import emoji_fid

        torch.manual_seed(2)
        with torch.no_grad():
            samples = G_ema.eval()(torch.randn(EVAL_N if not tiny else 100, r.latent_dim)).clamp(-1.0, 1.0)
        result = emoji_fid(samples, "google")
        info.update(emoji_fd=result.fid, emoji_fd_baseline=result.baseline, emoji_fd_n=result.n)
    except (FileNotFoundError, ImportError) as exc:  # the feature network is not there: the page measures it
        info.update(emoji_fd=None, emoji_fd_note=str(exc)[:200])
    history = dict(hist, snapshots=torch.stack(grids) if grids else torch.zeros(0, dtype=torch.uint8))
    return G_ema, history, info


RECIPES = {
    "progan-emoji": Recipe("progan-emoji", "ch07_progan",
                           "ProGAN grown 4 -> 32 on Google-style emoji (WGAN-GP + drift, EMA of G)",
                           build_emoji, train_emoji),
}
