"""Automatic mixed precision for the Colab GPU (chapter 6); on a CPU it is the plain :class:`Trainer`."""
from __future__ import annotations

import torch

from .games import Trainer


class MixedPrecisionTrainer(Trainer):
    """:class:`~gantutor.train.Trainer` with automatic mixed precision on CUDA: forward passes under
    ``torch.autocast`` (float16), backward passes through a ``GradScaler`` per network (one scaler per
    optimiser, since D and G step separately). On a CPU both are switched off and it equals Trainer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.amp = self.device.type == "cuda"
        self.scalers = {"discriminator": torch.amp.GradScaler("cuda", enabled=self.amp),
                        "generator": torch.amp.GradScaler("cuda", enabled=self.amp)}

    def d_step(self):
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            return super().d_step()

    def g_step(self):
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            return super().g_step()

    def _descend(self, which: str, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        self._guard(which, loss.float())
        scaler = self.scalers["discriminator" if which.startswith("discriminator") else "generator"]
        opt.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=False):  # backward outside autocast
            scaler.scale(loss.float()).backward()
        scaler.step(opt)
        scaler.update()
        self._clip(which)  # WGAN's weight clipping, as in every other trainer
