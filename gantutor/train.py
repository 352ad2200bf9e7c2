"""One training loop for every chapter (Goodfellow et al., 2014, Algorithm 1).

Each generator step is preceded by ``k`` discriminator steps. The loop seeds itself for repeatable
runs on the CPU, picks a device, records a history, calls callbacks, guards against divergence and
saves checkpoints atomically.

    trainer = Trainer(G, D, sampler, TrainConfig(steps=2000))
    trainer.run()                 # or trainer.step() one generator step at a time (the dashboard)
"""
from __future__ import annotations

import copy
import math
import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from . import losses
from .config import TrainConfig
from .data import Sampler


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the trainer's weights were restored to the last good state."""


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch so that a CPU run repeats exactly."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple's MPS, then the CPU; any other name is used as given."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass
class History:
    """Per-logged-step records: losses; mean D(x) and mean D(G(z)) as sigmoid probabilities, D(G(z))
    both in the last discriminator step (``d_fake``) and in the generator step that followed
    (``d_fake_g``, before G's update: the PyTorch DCGAN tutorial's D(G(z)) pair); and ``critic_gap``,
    mean raw output on real minus on fake data (WGAN's estimate of W1 when D is 1-Lipschitz)."""

    step: List[int] = field(default_factory=list)
    d_loss: List[float] = field(default_factory=list)
    g_loss: List[float] = field(default_factory=list)
    d_real: List[float] = field(default_factory=list)
    d_fake: List[float] = field(default_factory=list)
    d_fake_g: List[float] = field(default_factory=list)
    critic_gap: List[float] = field(default_factory=list)

    def append(self, **values: float) -> None:
        for key, value in values.items():
            getattr(self, key).append(value)

    def as_dict(self) -> Dict[str, list]:
        return {k: list(v) for k, v in self.__dict__.items()}


Callback = Callable[["Trainer"], None]


class Trainer:
    """Trains ``G`` against ``D`` on batches from ``sampler`` under ``config``.

    ``callbacks`` are called after every logged step with the trainer (see :attr:`history`,
    :attr:`step_count`). Labels from a labelled sampler are passed to both networks (conditional GAN);
    fake samples get labels drawn uniformly.
    """

    def __init__(self, G: nn.Module, D: nn.Module, sampler: Sampler, config: Optional[TrainConfig] = None,
                 callbacks: Sequence[Callback] = ()):
        self.config = config or TrainConfig()
        cfg = self.config
        seed_everything(cfg.seed)
        self.device = pick_device(cfg.device)
        self.G, self.D = G.to(self.device), D.to(self.device)
        self.sampler = sampler.to(self.device)
        self.latent_dim = getattr(G, "latent_dim", cfg.latent_dim)
        self.n_classes = getattr(sampler, "n_classes", 0)
        self.d_loss_fn, self.g_loss_fn = losses.d_loss(cfg.d_loss), losses.g_loss(cfg.g_loss)
        # Adam's update rule in one fused kernel per step (CUDA; CPU from torch 2.4), else the
        # multi-tensor ("foreach") one: the same algorithm, less per-parameter overhead.
        version = tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2])
        fast = {"fused": True} if self.device.type == "cuda" or (self.device.type == "cpu" and version >= (2, 4)) \
            else {"foreach": True}
        self.opt_d = self._optimizer(D, cfg.lr_d, fast)
        self.opt_g = self._optimizer(G, cfg.lr_g, fast)
        self.base_lr = (cfg.lr_g, cfg.lr_d)
        self.callbacks = list(callbacks)
        self.history = History()
        self.step_count = 0
        self._good = self._snapshot()

    def _optimizer(self, net: nn.Module, lr: float, fast: dict) -> torch.optim.Optimizer:
        if self.config.optimizer == "rmsprop":  # WGAN: momentum-free, as Arjovsky et al. recommend
            return torch.optim.RMSprop(net.parameters(), lr=lr, foreach=True)
        return torch.optim.Adam(net.parameters(), lr=lr, betas=tuple(self.config.betas), **fast)

    # -- one step -------------------------------------------------------------------------------
    def noise(self, n: int):
        """z ~ N(0, I) and, for a conditional model, uniform labels."""
        z = torch.randn(n, self.latent_dim, device=self.device)
        y = torch.randint(0, self.n_classes, (n,), device=self.device) if self.n_classes else None
        return z, y

    def set_losses(self, g_loss: Optional[str] = None, d_loss: Optional[str] = None) -> None:
        """Switch losses by name mid-run (the dashboard's loss selector)."""
        if g_loss is not None:
            self.g_loss_fn, self.config.g_loss = losses.g_loss(g_loss), g_loss
        if d_loss is not None:
            self.d_loss_fn, self.config.d_loss = losses.d_loss(d_loss), d_loss

    def set_lr(self, lr_g: Optional[float] = None, lr_d: Optional[float] = None) -> None:
        """Change the starting learning rates (the decay of ``config.lr_final`` still applies)."""
        for lr in (lr_g, lr_d):
            if lr is not None and not lr > 0:
                raise ValueError(f"learning rates must be positive, got {lr!r}")
        self.base_lr = (self.base_lr[0] if lr_g is None else lr_g, self.base_lr[1] if lr_d is None else lr_d)
        self._apply_lr()

    def _apply_lr(self) -> None:
        """lr = base lr * lr_final ** (step / steps): a geometric decay over the configured run."""
        cfg = self.config
        factor = cfg.lr_final ** min(self.step_count / max(cfg.steps, 1), 1.0) if cfg.lr_final != 1.0 else 1.0
        for opt, lr in zip((self.opt_g, self.opt_d), self.base_lr):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    def d_step(self):
        x, y = self.sampler.sample(self.config.batch_size)
        z, y_fake = self.noise(x.shape[0])
        with torch.no_grad():
            fake = self.G(z, y_fake) if self.n_classes else self.G(z)
        real_logits = self.D(x, y) if self.n_classes else self.D(x)
        fake_logits = self.D(fake, y_fake) if self.n_classes else self.D(fake)
        loss = self.d_loss_fn(real_logits, fake_logits) + self.penalty(x, fake, y)
        self._descend("discriminator", loss, self.opt_d)
        return loss.detach(), real_logits.detach(), fake_logits.detach()

    def penalty(self, x, fake, y=None) -> torch.Tensor:
        """lambda * WGAN-GP's gradient penalty (:func:`gantutor.losses.gradient_penalty`) when
        ``config.gp_weight`` > 0, else 0. A conditional critic scores the interpolates with the real
        samples' labels."""
        if not self.config.gp_weight:
            return torch.zeros((), device=self.device)
        args = (y,) if self.n_classes else ()
        return self.config.gp_weight * losses.gradient_penalty(self.D, x, fake, *args)

    def g_step(self):
        """One generator step; returns the loss and D's outputs on the fakes it used (before the step)."""
        z, y = self.noise(self.config.batch_size)
        fake = self.G(z, y) if self.n_classes else self.G(z)
        fake_logits = self.D(fake, y) if self.n_classes else self.D(fake)
        loss = self.g_loss_fn(fake_logits)
        self._descend("generator", loss, self.opt_g)
        return loss.detach(), fake_logits.detach()

    def _descend(self, which: str, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        """One optimiser step on ``loss`` after the divergence guard (shared by every d_step/g_step);
        after a discriminator step, WGAN's weight clipping when ``config.clip`` > 0."""
        self._guard(which, loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if which == "discriminator" and self.config.clip:
            with torch.no_grad():
                for p in self.D.parameters():
                    p.clamp_(-self.config.clip, self.config.clip)

    def step(self) -> None:
        """One generator step, preceded by ``config.critic_steps(step)`` discriminator steps (``k``, or
        WGAN's burst schedule)."""
        if self.config.lr_final != 1.0:
            self._apply_lr()
        for _ in range(self.config.critic_steps(self.step_count)):
            d_loss, real_logits, fake_logits = self.d_step()
        g_loss, fake_logits_g = self.g_step()
        self.step_count += 1
        if self.step_count % self.config.log_every == 0:
            self.history.append(step=self.step_count, d_loss=float(d_loss), g_loss=float(g_loss),
                                d_real=float(torch.sigmoid(real_logits).mean()),
                                d_fake=float(torch.sigmoid(fake_logits).mean()),
                                d_fake_g=float(torch.sigmoid(fake_logits_g).mean()),
                                critic_gap=float(real_logits.mean() - fake_logits.mean()))
            for cb in self.callbacks:
                cb(self)
        if self.step_count % self.config.guard_every == 0:
            self._good = self._snapshot()

    def run(self, steps: Optional[int] = None, progress: Optional[bool] = None) -> "Trainer":
        """Run ``steps`` generator steps (default: ``config.steps``) with a tqdm progress bar."""
        steps = self.config.steps if steps is None else steps
        show = self.config.progress if progress is None else progress
        from tqdm.auto import tqdm

        self.G.train(), self.D.train()
        for _ in tqdm(range(steps), disable=not show, desc="training", leave=False):
            self.step()
        return self

    # -- divergence guard -----------------------------------------------------------------------
    def _snapshot(self) -> dict:
        return {"step": self.step_count, "G": copy.deepcopy(self.G.state_dict()),
                "D": copy.deepcopy(self.D.state_dict()),
                "opt_g": copy.deepcopy(self.opt_g.state_dict()), "opt_d": copy.deepcopy(self.opt_d.state_dict())}

    def _guard(self, which: str, loss: torch.Tensor) -> None:
        value = float(loss.detach())
        if math.isfinite(value):
            return
        good = self._good
        self.G.load_state_dict(good["G"]), self.D.load_state_dict(good["D"])
        self.opt_g.load_state_dict(good["opt_g"]), self.opt_d.load_state_dict(good["opt_d"])
        failed_at = self.step_count + 1
        self.step_count = good["step"]
        keep = sum(s <= good["step"] for s in self.history.step)  # forget the records after that state
        for records in self.history.__dict__.values():
            del records[keep:]
        raise TrainingDiverged(
            f"training diverged at generator step {failed_at}: the {which} loss "
            f"({self.config.g_loss if which == 'generator' else self.config.d_loss}) is {value}. The weights "
            f"were restored to step {good['step']}, the last good state; try smaller learning rates.")

    # -- sampling and checkpoints ---------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, y: Optional[torch.Tensor] = None, z: Optional[torch.Tensor] = None) -> torch.Tensor:
        """n samples from G in eval mode (on the CPU), with optional fixed z and labels."""
        was_training = self.G.training
        self.G.eval()
        z_new, y_new = self.noise(n)
        z = z_new if z is None else z.to(self.device)
        y = y_new if y is None else y.to(self.device)
        out = self.G(z, y) if self.n_classes else self.G(z)
        self.G.train(was_training)
        return out.cpu()

    def save(self, path: str) -> None:
        save_checkpoint(path, self)

    def load(self, path: str) -> None:
        ckpt = load_checkpoint(path, map_location=self.device)
        self.G.load_state_dict(ckpt["G"]), self.D.load_state_dict(ckpt["D"])
        self.opt_g.load_state_dict(ckpt["opt_g"]), self.opt_d.load_state_dict(ckpt["opt_d"])
        self.step_count = int(ckpt["step"])
        self.history = History(**ckpt["history"])
        self._good = self._snapshot()


def save_checkpoint(path: str, trainer: Trainer) -> None:
    """Write the trainer's state to ``path`` atomically: a temporary file in the same folder, then
    ``os.replace``, so a crash never leaves a half-written checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"step": trainer.step_count, "G": trainer.G.state_dict(), "D": trainer.D.state_dict(),
             "opt_g": trainer.opt_g.state_dict(), "opt_d": trainer.opt_d.state_dict(),
             "history": trainer.history.as_dict(), "config": trainer.config.to_dict()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str, map_location="cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` with ``weights_only=True`` (no pickled code)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location=map_location, weights_only=True)
