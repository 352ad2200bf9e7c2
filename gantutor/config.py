"""Settings as dataclasses, and the FAST switch.

``GANTUTOR_FAST=1`` in the environment shrinks every training budget, so tests and CI execute every
notebook quickly. Notebooks declare their budgets at the top with :func:`budget`, for example
``STEPS = budget(3000, fast=60)``, so a reader sees both numbers in one place.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Tuple


def is_fast() -> bool:
    """True when the environment variable ``GANTUTOR_FAST`` is set to ``1`` (or ``true``/``yes``)."""
    return os.environ.get("GANTUTOR_FAST", "").strip().lower() in {"1", "true", "yes"}


FAST = is_fast()


def budget(full: Any, fast: Any) -> Any:
    """Return ``fast`` in FAST mode and ``full`` otherwise (read from the environment at call time)."""
    return fast if is_fast() else full


@dataclass
class TrainConfig:
    """Settings of one GAN training run (used by :class:`gantutor.train.Trainer`).

    ``k`` is the number of discriminator steps per generator step (Algorithm 1 of Goodfellow et al.,
    2014). Loss names are looked up in :mod:`gantutor.losses`.
    """

    steps: int = 2000
    batch_size: int = 64
    k: int = 1
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: Tuple[float, float] = (0.5, 0.999)
    lr_final: float = 1.0  # learning rates decay to this share of their start over `steps` (1 = constant)
    lr_schedule: str = "geometric"  # "geometric": lr_final ** (step / steps); "linear": constant until
    lr_decay_start: float = 0.0  # this share of `steps`, then linear to lr_final (CycleGAN: 0.5, lr_final 0)
    g_loss: str = "nonsaturating"
    d_loss: str = "bce"
    optimizer: str = "adam"  # "adam", or "rmsprop" (WGAN with clipping: Arjovsky et al., 2017)
    clip: float = 0.0  # WGAN weight clipping: D's weights clamped to [-clip, clip] after each step (0 = off)
    gp_weight: float = 0.0  # lambda of WGAN-GP's gradient penalty (Gulrajani et al. use 10; 0 = off)
    k_burst: int = 0  # WGAN's critic schedule: this many D steps for the first `k_burst_first` and
    k_burst_first: int = 25  # every `k_burst_every`-th generator step (100, 25, 500 in the WGAN code;
    k_burst_every: int = 500  # 0 = off, always `k`)
    ema_decay: float = 0.0  # beta of an exponential moving average of G's weights (0 = off; ProGAN 0.999)
    d_reg_every: int = 0  # lazy regularisation (StyleGAN2): the game's D regulariser every this many D
    g_reg_every: int = 0  # steps (16) and its G regulariser every this many G steps (4), each x interval
    latent_dim: int = 64
    seed: int = 0
    device: str = "auto"
    log_every: int = 10
    guard_every: int = 50
    progress: bool = True
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check_names_and_types()
        if self.lr_schedule not in ("geometric", "linear"):
            raise ValueError(f"TrainConfig.lr_schedule must be 'geometric' or 'linear', got {self.lr_schedule!r}")
        if not isinstance(self.lr_decay_start, (int, float)) or not 0 <= self.lr_decay_start <= 1:
            raise ValueError(f"TrainConfig.lr_decay_start must be a share of the run in [0, 1], got {self.lr_decay_start!r}")
        if not isinstance(self.ema_decay, (int, float)) or isinstance(self.ema_decay, bool) or not 0 <= self.ema_decay < 1:
            raise ValueError(f"TrainConfig.ema_decay must be a number in [0, 1) (0 = off), got {self.ema_decay!r}")
        if self.optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"TrainConfig.optimizer must be 'adam' or 'rmsprop', got {self.optimizer!r}")
        for name in ("clip", "gp_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < float("inf"):
                raise ValueError(f"TrainConfig.{name} must be a finite number >= 0 (0 = off), got {value!r}")
        for name in ("k_burst", "k_burst_first", "k_burst_every", "d_reg_every", "g_reg_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"TrainConfig.{name} must be a non-negative integer, got {value!r}")
        for name in ("steps", "batch_size", "k", "latent_dim", "log_every", "guard_every"):
            value = getattr(self, name)
            least = 0 if name == "steps" else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                kind = "a non-negative" if least == 0 else "a positive"
                raise ValueError(f"TrainConfig.{name} must be {kind} integer, got {value!r}")
        for name in ("lr_g", "lr_d", "lr_final"):
            value = getattr(self, name)
            zero_ok = name == "lr_final" and self.lr_schedule == "linear"
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not (value >= 0 if zero_ok else value > 0) \
                    or value == float("inf"):
                kind = "a finite number >= 0" if zero_ok else "a positive finite number"
                raise ValueError(f"TrainConfig.{name} must be {kind}, got {value!r}")

    def _check_names_and_types(self) -> None:
        """Loss names, betas, seed, device and flags (messages in gantutor.validate's one voice)."""
        from . import losses
        from . import validate as V

        for name, table in (("g_loss", losses.G_LOSSES), ("d_loss", losses.D_LOSSES)):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in table:
                V.fail(f"TrainConfig.{name}", f"one of {sorted(table)}", repr(value) if isinstance(value, str) else value,
                       error=KeyError)
        betas = self.betas
        if isinstance(betas, (str, bytes)) or not isinstance(betas, (tuple, list)) or len(betas) != 2:
            V.fail("TrainConfig.betas", "two numbers (beta1, beta2) in [0, 1)", betas, error=TypeError)
        for i, b in enumerate(betas):
            V.finite_number(f"TrainConfig.betas[{i}]", b, 0.0, 1.0, high_open=True)
        V.integer("TrainConfig.seed", self.seed)
        V.boolean("TrainConfig.progress", self.progress)
        if not isinstance(self.extra, dict):
            V.fail("TrainConfig.extra", "a dict", self.extra, error=TypeError)
        if not isinstance(self.device, str) and not hasattr(self.device, "type"):
            V.fail("TrainConfig.device", "'auto', 'cpu', 'cuda', 'mps' or a torch.device", self.device, error=TypeError)
        if self.device != "auto":
            import torch
            try:
                torch.device(self.device)
            except (RuntimeError, ValueError, TypeError):
                V.fail("TrainConfig.device", "'auto', 'cpu', 'cuda', 'cuda:0', 'mps' or a torch.device",
                       repr(self.device), error=KeyError)

    def critic_steps(self, step: int) -> int:
        """Discriminator steps before generator step ``step`` (counted from 0): ``k``, or ``k_burst`` in
        WGAN's schedule (the first ``k_burst_first`` steps and every ``k_burst_every``-th step)."""
        if self.k_burst and (step < self.k_burst_first or (self.k_burst_every and step % self.k_burst_every == 0)):
            return self.k_burst
        return self.k

    def with_overrides(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (per-chapter overrides)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain-type dictionary (safe for ``torch.load(weights_only=True)``)."""
        d = asdict(self)
        d["betas"] = list(d["betas"])
        return d


@dataclass(frozen=True)
class ToySettings:
    """Networks and optimiser of a toy 2D GAN (ring of 8, grid of 25), shared by chapters and bench.

    Tuned by the benchmark (``python -m gantutor.bench``): batch norm in G and a learning rate decaying
    from 2e-3 to 1e-5 over the run roughly doubled the share of high-quality samples on the ring.
    """

    latent_dim: int = 8
    g_hidden: Tuple[int, ...] = (256, 256)
    d_hidden: Tuple[int, ...] = (128, 128)
    batch_size: int = 256
    lr_g: float = 2e-3
    lr_d: float = 2e-3
    betas: Tuple[float, float] = (0.5, 0.999)
    steps: int = 4000
    lr_final: float = 0.005
    g_batchnorm: bool = True
    seed: int = 0

    def models(self, dim: int = 2):
        """A fresh (generator, discriminator) pair for ``dim``-dimensional data."""
        from .models import MLPDiscriminator, MLPGenerator

        G = MLPGenerator(self.latent_dim, (dim,), hidden=self.g_hidden, value_range=None,
                         batchnorm=self.g_batchnorm)
        D = MLPDiscriminator((dim,), hidden=self.d_hidden)
        return G, D

    def config(self, **overrides: Any) -> TrainConfig:
        """The matching :class:`TrainConfig`, with optional overrides (``steps``, ``g_loss``, ...)."""
        cfg = TrainConfig(steps=self.steps, batch_size=self.batch_size, lr_g=self.lr_g, lr_d=self.lr_d,
                          betas=self.betas, lr_final=self.lr_final, latent_dim=self.latent_dim,
                          seed=self.seed, progress=False, log_every=10)
        return cfg.with_overrides(**overrides)


RING_SETTINGS = ToySettings()
GRID_SETTINGS = ToySettings(d_hidden=(256, 256))
# The ring of 8 with a full minute of CPU (the target on the performance page, book/appendix_performance.md:
# 8/8 modes, >= 90% high quality in 60 s), as the benchmark trains it. Tuned there, in runs of about a
# minute with the non-saturating loss: a 2D latent and a slower decay (to 2% of the starting learning
# rate) gave 88%, 81% and 79% high-quality samples (three seeds, 11,000 steps) where RING_SETTINGS gave
# 61% (9,000 steps). The chapters keep RING_SETTINGS because they train several rings in a fraction of a
# minute each.
RING_TARGET_SETTINGS = ToySettings(latent_dim=2, steps=11000, lr_final=0.02)
