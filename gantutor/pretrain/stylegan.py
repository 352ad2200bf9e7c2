"""Chapter 8's shipped checkpoints: small StyleGANs on Google-style emoji at 32 x 32, one CPU thread.

- ``stylegan2-emoji``: the StyleGAN2 skip generator (demodulation), R1 and path-length regularisation;
- ``stylegan2-emoji-short``: the same, fewer steps; the two runs below differ from it in ONE thing each:
- ``stylegan1-emoji``: the AdaIN synthesis network instead (droplets, chapter 8);
- ``stylegan2-emoji-nopl``: no path-length regularisation.

    python -m gantutor.pretrain stylegan2-emoji

The shipped network is the moving average of G (what StyleGAN samples from), and only it: the raw G is not
saved. The average starts as a copy of the untrained G and is updated once per generator step with decay
``ema_decay`` = 0.99 and no warm-up, so after n steps the initial weights still carry a share 0.99**n of it:
0.30 after the ``SHORT`` = 120 steps of the comparison runs, 0.018 after 400 (chapter 8 prints and states
this). Against the paper's code: R1 gamma 0.05 (its code: 10), an average of half-life 10k images (decay about
0.9989 per step at batch 16; here 0.99, a half-life of 69 steps = 1,100 images), batch 16 (paper: 32).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Dict, Tuple

import torch
from torch import nn

from ..config import TrainConfig
from ..models.stylegan import ResidualDiscriminator, StyleGenerator
from ..models.stylegan_game import StyleGANGame
from ..train.core import GameTrainer
from . import Recipe


@dataclass(frozen=True)
class StyleRun:
    """The settings of one run (shared by the chapter's live run at a smaller budget)."""

    kind: str = "stylegan2"
    pl_weight: float = 2.0
    steps: int = 400
    batch_size: int = 16
    channels: Tuple[int, ...] = (64, 64, 32, 32)
    z_dim: int = 64
    w_dim: int = 64
    lr: float = 2e-3
    betas: Tuple[float, float] = (0.0, 0.99)
    r1_gamma: float = 0.05
    mixing_prob: float = 0.9
    ema_decay: float = 0.99
    seed: int = 0

    def networks(self, img_channels: int = 3) -> Tuple[StyleGenerator, ResidualDiscriminator]:
        G = StyleGenerator(self.z_dim, self.w_dim, self.channels, img_channels, self.kind,
                           mixing_prob=self.mixing_prob)
        return G, ResidualDiscriminator(self.channels, img_channels)

    def config(self, steps: int = None) -> TrainConfig:
        return TrainConfig(steps=self.steps if steps is None else steps, batch_size=self.batch_size, lr_g=self.lr,
                           lr_d=self.lr, betas=self.betas, ema_decay=self.ema_decay, d_reg_every=16,
                           g_reg_every=4, latent_dim=self.z_dim, seed=self.seed, log_every=25, progress=False,
                           device="cpu")

    def trainer(self, sampler, steps: int = None, callbacks=()) -> GameTrainer:
        torch.manual_seed(self.seed)
        x = sampler.sample(1)
        G, D = self.networks((x[0] if isinstance(x, (tuple, list)) else x).shape[1])
        game = StyleGANGame(G, D, sampler, r1_gamma=self.r1_gamma, pl_weight=self.pl_weight)
        return GameTrainer(game, self.config(steps), callbacks)


# The comparison runs are shorter (the CPU budget of a shared machine): each is compared only with
# ``stylegan2-emoji-short``, the same run as ``stylegan2-emoji`` stopped at the same step.
SHORT = 120
RUNS: Dict[str, StyleRun] = {
    "stylegan2-emoji": StyleRun(),
    "stylegan2-emoji-short": StyleRun(steps=SHORT),
    "stylegan1-emoji": StyleRun(kind="adain", steps=SHORT),
    "stylegan2-emoji-nopl": StyleRun(pl_weight=0.0, steps=SHORT),
}


def train_run(name: str, tiny: bool) -> Tuple[nn.Module, dict, dict]:
    from ..data.emoji import emoji_sampler

    torch.set_num_threads(1)
    run = RUNS[name]
    steps = 4 if tiny else run.steps
    trainer = run.trainer(emoji_sampler("google", 32), steps)
    start = time.process_time()
    trainer.run()
    info = dict(steps=steps, train_cpu_seconds=round(time.process_time() - start, 1),
                settings={k: (list(v) if isinstance(v, tuple) else v) for k, v in run.__dict__.items()},
                pl_mean=float(trainer.game.pl_mean), data="emoji-datasource-google 32x32, all 3786")
    return trainer.G_ema, trainer.history.as_dict(), info


def _recipe(name: str, what: str) -> Recipe:
    run = RUNS[name]
    return Recipe(name, "ch08_stylegan", f"{what}, {run.steps} generator steps at batch {run.batch_size} on "
                  f"Google-style emoji 32x32 (EMA of G)", build=lambda: run.networks(3)[0],
                  train=lambda tiny: train_run(name, tiny))


RECIPES = {
    "stylegan2-emoji": _recipe("stylegan2-emoji", "StyleGAN2 (skip generator, demodulation, R1, path length)"),
    "stylegan2-emoji-short": _recipe("stylegan2-emoji-short", "StyleGAN2 as stylegan2-emoji, stopped early"),
    "stylegan1-emoji": _recipe("stylegan1-emoji", "StyleGAN with AdaIN synthesis (otherwise as stylegan2-emoji)"),
    "stylegan2-emoji-nopl": _recipe("stylegan2-emoji-nopl", "StyleGAN2 without path-length regularisation"),
}
