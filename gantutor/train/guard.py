"""The divergence guard of the training core: every loss is looked at before its step; a NaN, infinite
or absurdly large one restores the last good state (kept every ``config.guard_every`` steps) and stops
training with :class:`TrainingDiverged`, naming the likely cause: the data, a setting, or the step size.

:class:`DivergenceGuard` is a mixin of :class:`~gantutor.train.core.GameTrainer` (it uses the trainer's
``game``, ``config``, optimisers, ``G_ema``, step counters, ``history`` and ``base_lr``); it lives here so
that the training loop in ``core.py`` reads as the algorithm.
"""
from __future__ import annotations

import copy
import math

import torch

Tensor = torch.Tensor
# A loss beyond this size is not a loss any game here reaches while learning: the step size, a setting
# or the data has sent training off (at lr 1e6 losses reach 1e24 while staying finite).
ABSURD_LOSS = 1e10


class TrainingDiverged(RuntimeError):
    """A loss became NaN, infinite or absurdly large; the weights were restored to the last good state."""


class DivergenceGuard:
    """Snapshot, restore and diagnosis for :class:`~gantutor.train.core.GameTrainer`."""

    def _snapshot(self) -> dict:
        nets = {name: copy.deepcopy(net.state_dict()) for name, net in self.game.networks().items()}
        return {"step": self.step_count, "d_steps": self.d_steps, "g_steps": self.g_steps, "nets": nets,
                "ema": copy.deepcopy(self.G_ema.state_dict()) if self.G_ema is not None else None,
                "opt_g": copy.deepcopy(self.opt_g.state_dict()), "opt_d": copy.deepcopy(self.opt_d.state_dict())}

    def _restore(self, state: dict) -> None:
        for name, net in self.game.networks().items():
            net.load_state_dict(state["nets"][name])
        if self.G_ema is not None and state.get("ema") is not None:
            self.G_ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"]), self.opt_d.load_state_dict(state["opt_d"])
        self.step_count = int(state["step"])
        self.d_steps, self.g_steps = int(state.get("d_steps", 0)), int(state.get("g_steps", 0))

    def _cause(self, which: str, value: float) -> str:
        """Which of three things sent training off: the data, a setting, or the step size. Runs only
        when the guard trips, so it may look at the weights, the last good state and a fresh batch."""
        side = "discriminator" if which.startswith("discriminator") else "generator"
        bad = [name for name, p in self._named_side(side) if not torch.isfinite(p).all()]
        good_nets = self._good["nets"]
        was_bad = [n for n in bad if n.split(".", 1)[0] in good_nets and
                   not torch.isfinite(good_nets[n.split(".", 1)[0]].get(n.split(".", 1)[1], torch.zeros(()))).all()]
        lrs = f"lr_g={self.base_lr[0]:g}, lr_d={self.base_lr[1]:g}"
        if was_bad or (bad and self.step_count == 0):
            return (f"a setting: a weight of the {side} ({(was_bad or bad)[0]}) was NaN or infinite from the start "
                    f"(an initial weight, or a NaN/infinite setting such as the learning rate)")
        if self._data_not_finite():
            return ("the data: a batch from the sampler holds NaN or infinite values; check the data (the "
                    "learning rates are not the cause)")
        if bad:
            return (f"the step size: the {side}'s weights ({bad[0]}) were finite at step {self._good['step']} "
                    f"and the updates since made them NaN or infinite; the learning rates ({lrs}) are too large "
                    f"for this loss: try 10 times smaller")
        return (f"the step size: the weights are finite but the learning rates ({lrs}) are too large for this "
                f"loss and it left any sensible range; try 10 times smaller")

    def _data_not_finite(self) -> bool:
        sampler = getattr(self.game, "sampler", None)
        if sampler is None or not callable(getattr(sampler, "sample", None)):
            return False
        try:
            batch = sampler.sample(self.config.batch_size)
        except Exception:  # noqa: BLE001  (diagnosis only: a sampler that cannot be asked again is no evidence)
            return False
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return isinstance(x, torch.Tensor) and x.is_floating_point() and not bool(torch.isfinite(x).all())

    def _named_side(self, side: str):
        ids = {id(p) for p in self.game.parameters(side)}
        for name, net in self.game.networks().items():
            for pname, p in net.named_parameters():
                if id(p) in ids:
                    yield f"{name}.{pname}", p

    def _guard(self, which: str, loss: Tensor) -> None:
        value = float(loss.detach())
        if math.isfinite(value) and abs(value) < ABSURD_LOSS:
            return
        cause = self._cause(which, value)
        good, failed_at = self._good, self.step_count + 1
        self._restore(good)
        self.history.truncate(sum(s <= good["step"] for s in self.history.step))
        what = "is" if not math.isfinite(value) else f"reached an absurd size (|loss| >= {ABSURD_LOSS:g}):"
        raise TrainingDiverged(
            f"training diverged at generator step {failed_at}: the {which} loss {what} {value:.4g}; cause: {cause}. "
            f"The weights were restored to step {good['step']}, the last good state.")
