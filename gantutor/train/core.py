"""The training core: one loop for every game in the book (Goodfellow et al., 2014, Algorithm 1).

What differs between GANs is what one discriminator step and one generator step compute: that is a
:class:`Game` (``games.py``: plain and conditional; ``models/progan.py``, ``models/stylegan.py``,
``models/cyclegan.py`` add growing, style-based and cycle games). Everything else is written once here:
seeding, device, the k-discriminator-steps schedule, learning-rate decay, lazy regularisation, an
exponential moving average of G, the divergence guard, callbacks, the progress bar and checkpoints.

    trainer = GameTrainer(game, TrainConfig(steps=2000))
    trainer.run()          # or trainer.step(), one generator step at a time (the dashboards)
"""
from __future__ import annotations

import copy
import math
import random
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .. import validate as V
from ..config import TrainConfig
from .guard import ABSURD_LOSS, DivergenceGuard, TrainingDiverged  # noqa: F401  (re-exported)
from .schedules import ema_update, lazy_due, lr_factor

Tensor = torch.Tensor
Callback = Callable[["GameTrainer"], None]


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


class Game:
    """What one discriminator step and one generator step of a GAN compute; the loop does the rest.

    A game holds its networks and data. It implements :meth:`networks` (every module by name, saved in
    checkpoints), :meth:`parameters` (what each optimiser updates), :meth:`d_loss` and :meth:`g_loss`
    (each returns ``(loss, outputs)``, ``outputs`` a dict of detached tensors for :meth:`record`), and
    optionally the lazy regularisers, :meth:`begin_step` (schedules such as ProGAN's alpha) and
    :meth:`sample`. ``generator`` is the network the moving average tracks.
    """

    generator: nn.Module
    log_keys: Tuple[str, ...] = ("d_loss", "g_loss")

    def networks(self) -> Dict[str, nn.Module]:
        raise NotImplementedError

    def parameters(self, side: str) -> Iterator[nn.Parameter]:
        """Parameters of the ``"generator"`` or ``"discriminator"`` side (several networks may share one)."""
        raise NotImplementedError

    def to(self, device: torch.device) -> "Game":
        for net in self.networks().values():
            net.to(device)
        return self

    def begin_step(self, trainer: "GameTrainer") -> None:
        """Called before every generator step (with its discriminator steps): update schedules here."""

    def d_loss(self, trainer: "GameTrainer") -> Tuple[Tensor, Dict[str, Tensor]]:
        raise NotImplementedError

    def g_loss(self, trainer: "GameTrainer") -> Tuple[Tensor, Dict[str, Tensor]]:
        raise NotImplementedError

    def d_regulariser(self, trainer: "GameTrainer") -> Optional[Tensor]:
        """A lazy discriminator regulariser (R1), run every ``config.d_reg_every`` D steps; None = none."""
        return None

    def g_regulariser(self, trainer: "GameTrainer") -> Optional[Tensor]:
        """A lazy generator regulariser (path length), run every ``config.g_reg_every`` G steps."""
        return None

    def record(self, d_loss: Tensor, d_out: Dict[str, Tensor], g_loss: Tensor,
               g_out: Dict[str, Tensor]) -> Dict[str, float]:
        """The numbers the history keeps at a logged step (keys: ``log_keys``)."""
        return {"d_loss": float(d_loss), "g_loss": float(g_loss)}

    def sample(self, trainer: "GameTrainer", n: int, **kwargs) -> Tensor:
        raise NotImplementedError


class History:
    """Records per logged step: ``history.step`` and one list per key of the game's ``log_keys``."""

    def __init__(self, keys: Sequence[str] = (), **records: List[float]):
        object.__setattr__(self, "_records", {"step": []})
        for key in keys:
            self._records.setdefault(key, [])
        for key, values in records.items():
            self._records[key] = list(values)

    def __getattr__(self, name: str) -> list:
        records = self.__dict__.get("_records", {})
        if name in records:
            return records[name]
        raise AttributeError(f"the history has no record {name!r}; it has {sorted(records)}")

    def append(self, **values: float) -> None:
        for key, value in values.items():
            self._records.setdefault(key, [math.nan] * (len(self._records["step"]) - ("step" in values)))
            self._records[key].append(value)

    def truncate(self, keep: int) -> None:
        """Forget every record after the first ``keep`` (the divergence guard's rollback)."""
        for records in self._records.values():
            del records[keep:]

    def as_dict(self) -> Dict[str, list]:
        return {k: list(v) for k, v in self._records.items()}


class GameTrainer(DivergenceGuard):
    """Trains a :class:`Game` under a :class:`~gantutor.config.TrainConfig`.

    ``callbacks`` are called after every logged step with the trainer (:attr:`history`, :attr:`step_count`).
    With ``config.ema_decay`` > 0, :attr:`G_ema` is the moving average of ``game.generator`` and
    :meth:`sample` draws from it.
    """

    def __init__(self, game: Game, config: Optional[TrainConfig] = None, callbacks: Sequence[Callback] = ()):
        if not all(callable(getattr(game, m, None)) for m in ("networks", "parameters", "d_loss", "g_loss")):
            V.fail("game", "a gantutor.train.Game (networks, parameters, d_loss, g_loss)", game, error=TypeError)
        if config is not None and not isinstance(config, TrainConfig):
            V.fail("config", "a gantutor.TrainConfig", config, "write TrainConfig(**settings)", error=TypeError)
        if callable(callbacks) or isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
            V.fail("callbacks", "a list of functions f(trainer)", callbacks, "wrap one function in a list: [f]",
                   error=TypeError)
        callbacks = list(callbacks)
        if not all(callable(cb) for cb in callbacks):
            V.fail("callbacks", "a list of functions f(trainer)", f"a list holding {[type(cb).__name__ for cb in callbacks]}",
                   error=TypeError)
        self.config = config or TrainConfig()
        cfg = self.config
        seed_everything(cfg.seed)
        self.device = pick_device(cfg.device)
        self.game = game.to(self.device)
        self.opt_d = self._optimizer("discriminator", cfg.lr_d)
        self.opt_g = self._optimizer("generator", cfg.lr_g)
        self.base_lr = (cfg.lr_g, cfg.lr_d)
        self.G_ema = None
        if cfg.ema_decay:
            self.G_ema = copy.deepcopy(game.generator).eval().requires_grad_(False)
        self.callbacks = list(callbacks)
        self.history = History(game.log_keys)
        self.step_count = 0
        self.d_steps = self.g_steps = 0
        self._good = self._snapshot()

    def _optimizer(self, side: str, lr: float) -> torch.optim.Optimizer:
        params = list(self.game.parameters(side))
        if self.config.optimizer == "rmsprop":  # WGAN: momentum-free, as Arjovsky et al. recommend
            return torch.optim.RMSprop(params, lr=lr, foreach=True)
        # Adam's update in one fused kernel per step (CUDA; CPU from torch 2.4), else the multi-tensor
        # ("foreach") one: the same algorithm, less per-parameter overhead.
        version = tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2])
        fused = self.device.type == "cuda" or (self.device.type == "cpu" and version >= (2, 4))
        fast = {"fused": True} if fused else {"foreach": True}
        return torch.optim.Adam(params, lr=lr, betas=tuple(self.config.betas), **fast)

    # -- learning rates -------------------------------------------------------------------------
    def set_lr(self, lr_g: Optional[float] = None, lr_d: Optional[float] = None) -> None:
        """Change the starting learning rates (the configured decay still applies)."""
        for name, lr in (("lr_g", lr_g), ("lr_d", lr_d)):
            if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf):
                raise ValueError(f"{name} must be a positive finite number, got {lr!r}")
        self.base_lr = (self.base_lr[0] if lr_g is None else lr_g, self.base_lr[1] if lr_d is None else lr_d)
        self._apply_lr()

    def _apply_lr(self) -> None:
        cfg = self.config
        factor = lr_factor(self.step_count, cfg.steps, cfg.lr_final, cfg.lr_schedule, cfg.lr_decay_start)
        for opt, lr in zip((self.opt_g, self.opt_d), self.base_lr):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    # -- one step: the whole algorithm ----------------------------------------------------------
    def step(self) -> None:
        """One generator step, preceded by ``config.critic_steps(step)`` discriminator steps. Value checks
        of the networks' inputs are off inside (:func:`gantutor.validate.trusted`): the guard watches."""
        with V.trusted():
            self._step()

    def _step(self) -> None:
        cfg = self.config
        if cfg.lr_final != 1.0:
            self._apply_lr()
        self.game.begin_step(self)
        for _ in range(cfg.critic_steps(self.step_count)):
            d_loss, d_out = self.d_step()
        g_loss, g_out = self.g_step()
        self.step_count += 1
        if self.step_count % cfg.log_every == 0:
            self.history.append(step=self.step_count, **self.game.record(d_loss, d_out, g_loss, g_out))
            for cb in self.callbacks:
                cb(self)
        if self.step_count % cfg.guard_every == 0:
            self._good = self._snapshot()

    def d_step(self) -> Tuple[Tensor, Dict[str, Tensor]]:
        """One discriminator update, then (every ``d_reg_every`` D steps) its lazy regulariser x interval."""
        loss, out = self.game.d_loss(self)
        self._descend("discriminator", loss, self.opt_d)
        self.d_steps += 1
        if lazy_due(self.d_steps, self.config.d_reg_every):
            reg = self.game.d_regulariser(self)
            if reg is not None:
                self._descend("discriminator regulariser", self.config.d_reg_every * reg, self.opt_d)
        return loss.detach(), out

    def g_step(self) -> Tuple[Tensor, Dict[str, Tensor]]:
        """One generator update, its lazy regulariser when due, then the moving average of G."""
        loss, out = self.game.g_loss(self)
        self._descend("generator", loss, self.opt_g)
        self.g_steps += 1
        if lazy_due(self.g_steps, self.config.g_reg_every):
            reg = self.game.g_regulariser(self)
            if reg is not None:
                self._descend("generator regulariser", self.config.g_reg_every * reg, self.opt_g)
        if self.G_ema is not None:
            ema_update(self.G_ema, self.game.generator, self.config.ema_decay)
        return loss.detach(), out

    def _descend(self, which: str, loss: Tensor, opt: torch.optim.Optimizer) -> None:
        """One optimiser step on ``loss`` after the divergence guard (shared by every step); after a
        discriminator step, WGAN's weight clipping when ``config.clip`` > 0."""
        self._guard(which, loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        self._clip(which)

    def _clip(self, which: str) -> None:
        """WGAN's weight clipping: after a discriminator step, D's weights into [-clip, clip]."""
        if which.startswith("discriminator") and self.config.clip:
            with torch.no_grad():
                for p in self.game.parameters("discriminator"):
                    p.clamp_(-self.config.clip, self.config.clip)

    def run(self, steps: Optional[int] = None, progress: Optional[bool] = None) -> "GameTrainer":
        """Run ``steps`` generator steps (default: ``config.steps``) with a tqdm progress bar."""
        steps = self.config.steps if steps is None else V.non_negative_int("steps", steps)
        show = self.config.progress if progress is None else V.boolean("progress", progress)
        from tqdm.auto import tqdm

        for net in self.game.networks().values():
            net.train()
        for _ in tqdm(range(steps), disable=not show, desc="training", leave=False):
            self.step()
        return self

    # -- sampling and checkpoints ---------------------------------------------------------------
    def sampling_generator(self) -> nn.Module:
        """The network samples come from: the moving average when ``config.ema_decay`` > 0, else G."""
        return self.G_ema if self.G_ema is not None else self.game.generator

    @torch.no_grad()
    def sample(self, n: int, **kwargs) -> Tensor:
        """``n`` samples (on the CPU) from :meth:`sampling_generator` in eval mode."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n (the number of samples) must be a positive integer, got {n!r}")
        G = self.sampling_generator()
        was_training = G.training
        G.eval()
        try:
            return self.game.sample(self, n, **kwargs).cpu()
        finally:
            G.train(was_training)

    def save(self, path: str) -> None:
        from .checkpoint import save_checkpoint
        save_checkpoint(V.path_like("path", path), self)

    def load(self, path: str) -> None:
        from .checkpoint import load_into
        load_into(self, V.path_like("path", path))
