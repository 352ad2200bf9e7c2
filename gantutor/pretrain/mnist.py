"""Longer-trained twins of the MNIST runs of chapters 1, 2 and 6.

The pages train for the minutes a page build allows and say what that gives; these recipes train the
same networks (built here exactly as the chapters build them: same classes, widths, seeds, losses,
optimiser and learning rates) for longer, so the chapters can show beside the live run what the method
reaches. Two things differ from the live run and are recorded in each checkpoint's ``info``: the
number of generator steps, and a linear learning-rate decay over the second half of the run (to
``LR_FINAL`` of the start), the usual way to settle a long GAN run.

    python -m gantutor.pretrain mlp-mnist --threads 1      # chapter 1's MLP GAN, 8,000 steps (2x the chapter's)
    python -m gantutor.pretrain cgan-mnist --threads 1     # chapter 2's cGAN, 6,000 steps (3x)
    python -m gantutor.pretrain dcgan-mnist --threads 1    # chapter 6's DCGAN, 8,000 steps (5.3x)

Each shipped file's ``info`` records the CPU time it really took (``train_cpu_seconds``: training steps
only; ``cpu_seconds``: the whole recipe with its evaluations).

Each record's ``info`` holds the measured scores: MNIST-FID (:func:`gantutor.metrics.mnist_fid`) of
``EVAL_N`` samples, and for the conditional GAN the conditional accuracy of ``EVAL_N`` samples (each
digit requested ``EVAL_N / 10`` times); ``history`` holds the same scores along the run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Dict, Tuple

import torch
from torch import nn

from .. import metrics
from ..config import TrainConfig
from ..data import mnist_sampler
from ..models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from ..train import ConditionalTrainer, Trainer, seed_everything
from . import Recipe

EVAL_N = 2000          # samples per MNIST-FID and conditional accuracy
LR_FINAL = 0.1         # learning rates decay linearly to this share of their start ...
LR_DECAY_START = 0.5   # ... from this share of the run on
TINY_STEPS = 4         # what the tests run
TINY_EVAL_N = 100


@dataclass(frozen=True)
class ChapterRun:
    """One chapter's MNIST run: its networks (``networks() -> (G, D)``, built after
    ``seed_everything(seed)`` as in the chapter), its training settings and the longer budget."""

    chapter: str
    networks: Callable[[], Tuple[nn.Module, nn.Module]]
    config: Dict[str, object]          # TrainConfig fields of the chapter's live run
    steps: int                         # generator steps of the longer run
    eval_every: int                    # scores recorded every ... steps
    conditional: bool = False
    seed: int = 0

    def train_config(self, steps: int, latent_dim: int) -> TrainConfig:
        """The run's TrainConfig; ``latent_dim`` is G's, so that the record names the size of the codes
        the shipped G takes (TrainConfig's default, 64, would defer to G in training but be recorded)."""
        return TrainConfig(steps=steps, seed=self.seed, progress=False, lr_schedule="linear",
                           lr_final=LR_FINAL, lr_decay_start=LR_DECAY_START, latent_dim=latent_dim, **self.config)


# Chapter 1, section "MNIST": MLPGenerator(64 -> 256 -> 512 -> 784), MLPDiscriminator(784 -> 512 -> 256 -> 1).
def mlp_networks() -> Tuple[nn.Module, nn.Module]:
    return (MLPGenerator(latent_dim=64, out_shape=(1, 28, 28), hidden=(256, 512)),
            MLPDiscriminator(in_shape=(1, 28, 28), hidden=(512, 256)))


# Chapter 2, baseline "concat": label embeddings concatenated in G and D, D also scores mismatched pairs.
def cgan_networks() -> Tuple[nn.Module, nn.Module]:
    return (MLPGenerator(64, (1, 28, 28), n_classes=10), MLPDiscriminator((1, 28, 28), n_classes=10))


# Chapter 6: DCGAN at 28 x 28 with ngf = ndf = WIDTH = 32 and latent dimension 100.
def dcgan_networks() -> Tuple[nn.Module, nn.Module]:
    return (DCGANGenerator(latent_dim=100, image_size=28, channels=1, ngf=32),
            DCGANDiscriminator(image_size=28, channels=1, ndf=32))


RUNS: Dict[str, ChapterRun] = {
    "mlp-mnist": ChapterRun("ch01_gan_game", mlp_networks, dict(batch_size=64, lr_g=1e-3, lr_d=1e-3),
                            steps=8_000, eval_every=2_000),
    "cgan-mnist": ChapterRun("ch02_cgan", cgan_networks, dict(batch_size=64, lr_g=1e-3, lr_d=1e-3),
                             steps=6_000, eval_every=1_500, conditional=True),
    "dcgan-mnist": ChapterRun("ch06_dcgan", dcgan_networks,
                              dict(batch_size=64, lr_g=5e-4, lr_d=5e-4, betas=(0.5, 0.999), log_every=5),
                              steps=8_000, eval_every=2_000),
}


@torch.no_grad()
def evaluate(G: nn.Module, conditional: bool, n: int = EVAL_N, seed: int = 2) -> Dict[str, float]:
    """MNIST-FID of ``n`` samples of ``G`` (eval mode, fixed noise from ``seed``) and, for a conditional
    G, the share the classifier reads as the digit requested (each digit requested n / 10 times)."""
    was_training = G.training
    G.eval()
    z = torch.randn(n, G.latent_dim, generator=torch.Generator().manual_seed(seed))
    labels = torch.arange(n) % 10
    samples = (G(z, labels) if conditional else G(z)).clamp(-1, 1)
    G.train(was_training)
    fid = metrics.mnist_fid(samples)
    out = {"fid": round(fid.fid, 3), "fid_baseline": round(fid.baseline, 3)}
    if conditional:
        out["accuracy"] = round(metrics.conditional_accuracy(samples, labels).overall, 4)
    return out


def train_run(name: str, tiny: bool) -> Tuple[nn.Module, dict, dict]:
    """Train the chapter's networks of recipe ``name`` for its longer budget (or ``TINY_STEPS``) and
    return ``(G, history, info)``; only training steps count towards ``train_cpu_seconds``."""
    run = RUNS[name]
    steps, every, n = (TINY_STEPS, TINY_STEPS, TINY_EVAL_N) if tiny else (run.steps, run.eval_every, EVAL_N)
    seed_everything(run.seed)
    G, D = run.networks()
    config = run.train_config(steps, G.latent_dim)
    if run.conditional:
        trainer = ConditionalTrainer(G, D, mnist_sampler(labelled=True), config)
    else:
        trainer = Trainer(G, D, mnist_sampler(), config)
    history: Dict[str, list] = {"step": [], "train_cpu_seconds": [], "fid": []}
    if run.conditional:
        history["accuracy"] = []
    cpu = 0.0
    while trainer.step_count < steps:
        start = time.process_time()
        trainer.run(min(every, steps - trainer.step_count))
        cpu += time.process_time() - start
        scores = evaluate(trainer.G, run.conditional, n)
        history["step"].append(trainer.step_count)
        history["train_cpu_seconds"].append(round(cpu, 1))
        for key in history:
            if key in scores:
                history[key].append(scores[key])
    info = dict(steps=trainer.step_count, batch_size=config.batch_size, eval_n=n, train_cpu_seconds=round(cpu, 1),
                config=config.to_dict(), differs_from_chapter="steps and the linear decay of the second half",
                **{k: history[k][-1] for k in ("fid", "accuracy") if k in history},
                fid_baseline=scores["fid_baseline"])
    return trainer.G.eval(), history, info


def _recipe(name: str, what: str) -> Recipe:
    run = RUNS[name]
    return Recipe(name, run.chapter, f"{what}, {run.steps} generator steps (the chapter's networks and "
                  f"settings, learning rates decaying linearly to {LR_FINAL:g}x over the second half)",
                  build=lambda: run.networks()[0], train=lambda tiny: train_run(name, tiny))


RECIPES = {
    "mlp-mnist": _recipe("mlp-mnist", "Chapter 1's MLP GAN on MNIST"),
    "cgan-mnist": _recipe("cgan-mnist", "Chapter 2's conditional MLP GAN on MNIST (concatenated labels)"),
    "dcgan-mnist": _recipe("dcgan-mnist", "Chapter 6's DCGAN on MNIST (ngf = ndf = 32)"),
}
