"""Longer-trained twins of the MNIST runs of chapters 1, 2 and 6.

The pages train for the minutes a page build allows and say what that gives; these recipes train the
same networks (built here with the chapters' classes and widths, and trained with the same losses,
optimiser, batch size and initial learning rates) for longer, so the chapters can show beside the live
run what the method reaches. They differ from the live run in

1. the number of generator steps;
2. the learning-rate schedule: a linear decay over the second half of the run (to ``LR_FINAL`` of the
   start), the usual way to settle a long GAN run; the live runs keep their rates constant;
3. the evaluation: scores on ``EVAL_N`` samples, while each page scores its own number of samples
   (MNIST-FID depends on the sample count, so only scores at equal counts compare);
4. for chapter 2 only, the initial weights of D: the recipe builds D right after G under one
   ``seed_everything(seed)``, while chapter 2 seeds before building each network, so G starts
   from the page's weights and D from other ones (chapters 1 and 6 build G then D under one seed, as here).

Each checkpoint's ``info["differs_from_chapter"]`` names them (``ChapterRun.differences``; the files
shipped before this list was written record only the first two, and their ``config`` records the
schedule and ``eval_n`` the sample count).

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
    other_differences: str = ""        # beyond steps, schedule and evaluation (see the module docstring)

    def differences(self, eval_n: int) -> str:
        """What differs from the chapter's live run, as recorded in ``info["differs_from_chapter"]``."""
        base = (f"steps, the linear decay of the second half, and scores on {eval_n:,} samples instead of "
                f"the page's number")
        return f"{base}; {self.other_differences}" if self.other_differences else base

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
                             steps=6_000, eval_every=1_500, conditional=True,
                             other_differences="D's initial weights (built right after G under one seed; the "
                                               "chapter seeds before building each network)"),
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
                config=config.to_dict(), differs_from_chapter=run.differences(n),
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
