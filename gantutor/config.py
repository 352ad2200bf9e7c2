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
    g_loss: str = "nonsaturating"
    d_loss: str = "bce"
    latent_dim: int = 64
    seed: int = 0
    device: str = "auto"
    log_every: int = 10
    guard_every: int = 50
    progress: bool = True
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "k", "latent_dim", "log_every", "guard_every"):
            value = getattr(self, name)
            least = 0 if name == "steps" else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                kind = "a non-negative" if least == 0 else "a positive"
                raise ValueError(f"TrainConfig.{name} must be {kind} integer, got {value!r}")
        for name in ("lr_g", "lr_d"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"TrainConfig.{name} must be a positive number, got {value!r}")

    def with_overrides(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (per-chapter overrides)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain-type dictionary (safe for ``torch.load(weights_only=True)``)."""
        d = asdict(self)
        d["betas"] = list(d["betas"])
        return d
