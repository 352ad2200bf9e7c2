"""Schedules and running averages the training loop applies, as pure functions of the step.

- :func:`lr_factor`: the learning-rate multiplier (geometric decay, or CycleGAN's constant-then-linear);
- :func:`ema_update`: G's exponential moving average (Karras et al., 2018, appendix A.1; StyleGAN);
- :func:`lazy_due`: when a lazy regulariser runs (Karras et al., 2020, section 3.1);
- :func:`growth_stage`: ProGAN's resolution stage and fade-in weight alpha at a step (Karras et al., 2018,
  section 2 and figure 2: alpha rises linearly from 0 to 1 while a new block fades in, then the stage stabilises).
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn


def lr_factor(step: int, steps: int, lr_final: float = 1.0, schedule: str = "geometric",
              decay_start: float = 0.0) -> float:
    """The share of the starting learning rate used at generator step ``step`` of a ``steps``-step run.

    ``"geometric"``: lr_final ** (step / steps), from 1 down to ``lr_final``.
    ``"linear"``: 1 until ``decay_start * steps``, then linear down to ``lr_final`` at ``steps`` (CycleGAN:
    constant for the first half, then to 0; Zhu et al., 2017, section 7.1).
    Steps past ``steps`` keep the final value.
    """
    if steps <= 0 or lr_final == 1.0:
        return 1.0
    t = min(max(step / steps, 0.0), 1.0)
    if schedule == "geometric":
        return lr_final ** t
    if schedule == "linear":
        if t <= decay_start:
            return 1.0
        return 1.0 + (lr_final - 1.0) * (t - decay_start) / (1.0 - decay_start)
    raise ValueError(f"schedule must be 'geometric' or 'linear', got {schedule!r}")


@torch.no_grad()
def ema_update(average: nn.Module, model: nn.Module, beta: float) -> None:
    """theta_avg <- beta * theta_avg + (1 - beta) * theta for every parameter; buffers (batch-norm
    statistics, StyleGAN's running w_avg) are copied. ``average`` must be a copy of ``model``'s architecture."""
    for a, p in zip(average.parameters(), model.parameters()):
        a.lerp_(p.detach(), 1.0 - beta)
    for a, b in zip(average.buffers(), model.buffers()):
        a.copy_(b)


def lazy_due(count: int, every: int) -> bool:
    """True when the ``count``-th step (counted from 1) runs a regulariser applied every ``every`` steps
    (0 = never). StyleGAN2 runs R1 on D steps 16, 32, ... and path length on G steps 4, 8, ...; each time the
    term is multiplied by ``every`` so that its average strength equals the non-lazy one."""
    return every > 0 and count > 0 and count % every == 0


def growth_stage(step: int, stage_steps: int, fade_steps: int, n_stages: int) -> Tuple[int, float]:
    """ProGAN's schedule: (stage, alpha) at generator step ``step`` (from 0).

    Stage 0 (the lowest resolution) trains for ``stage_steps``. Each later stage s first fades in for
    ``fade_steps`` (alpha rising linearly from 0 to 1), then stabilises for ``stage_steps`` (alpha = 1).
    The last stage (``n_stages - 1``) keeps alpha = 1 for ever after its fade.
    """
    if stage_steps < 1 or fade_steps < 0 or n_stages < 1:
        raise ValueError(f"need stage_steps >= 1, fade_steps >= 0, n_stages >= 1; got {stage_steps}, "
                         f"{fade_steps}, {n_stages}")
    if step < stage_steps or n_stages == 1:
        return 0, 1.0
    rest = step - stage_steps
    period = fade_steps + stage_steps
    stage = min(1 + rest // period, n_stages - 1)
    into = rest - (stage - 1) * period
    alpha = 1.0 if fade_steps == 0 or into >= fade_steps else into / fade_steps
    return stage, float(alpha)
