"""The games of chapters 1 to 6 and 10: one generator G against one discriminator D on batches from a
sampler, unconditional or conditional, and their familiar front doors :class:`Trainer` and
:class:`ConditionalTrainer`.

    Trainer(G, D, sampler, TrainConfig(steps=2000)).run()

Each game says only what one discriminator step and one generator step compute; the loop in
``core.py`` does the rest. Losses are looked up by name in :mod:`gantutor.losses` from the trainer's
config at every step, so the dashboard can switch them mid-run.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from .. import losses
from .. import validate as V
from ..config import TrainConfig
from ..data import Sampler
from .core import Callback, Game, GameTrainer

Tensor = torch.Tensor


class StandardGame(Game):
    """G(z[, y]) against D(x[, y]); labels from a labelled sampler go to both networks and fakes get
    uniform labels (a conditional GAN). Optional WGAN-GP penalty from ``config.gp_weight``."""

    log_keys = ("d_loss", "g_loss", "d_real", "d_fake", "d_fake_g", "critic_gap")

    def __init__(self, G: nn.Module, D: nn.Module, sampler: Sampler, latent_dim: int):
        V.module("G", G, "the generator (a torch.nn.Module)")
        V.module("D", D, "the discriminator (a torch.nn.Module)")
        if not callable(getattr(sampler, "sample", None)) or not callable(getattr(sampler, "to", None)):
            V.fail("sampler", "a gantutor.data.Sampler (with .sample(n)), e.g. TensorSampler(images) or ring8()",
                   sampler, "wrap uint8 images in gantutor.data.TensorSampler" if isinstance(sampler, Tensor) else None,
                   error=TypeError)
        self.G, self.D, self.sampler = G, D, sampler
        self.generator = G
        g_dim = getattr(G, "latent_dim", None)
        default = TrainConfig.__dataclass_fields__["latent_dim"].default
        if g_dim is not None and latent_dim != g_dim and latent_dim != default:
            V.fail("TrainConfig.latent_dim", f"G's latent_dim {g_dim} (or the default {default}, which defers to G)",
                   latent_dim)
        self.latent_dim = g_dim if g_dim is not None else latent_dim
        self.n_classes = getattr(sampler, "n_classes", 0)

    def networks(self) -> Dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def parameters(self, side: str):
        return (self.G if side == "generator" else self.D).parameters()

    def to(self, device) -> "StandardGame":
        super().to(device)
        self.sampler = self.sampler.to(device)
        self.device = torch.device(device)
        return self

    def noise(self, n: int):
        """z ~ N(0, I) and, for a conditional model, uniform labels."""
        z = torch.randn(n, self.latent_dim, device=self.device)
        y = torch.randint(0, self.n_classes, (n,), device=self.device) if self.n_classes else None
        return z, y

    def generate(self, G: nn.Module, z: Tensor, y: Optional[Tensor]) -> Tensor:
        return G(z, y) if self.n_classes else G(z)

    def score(self, x: Tensor, y: Optional[Tensor]) -> Tensor:
        return self.D(x, y) if self.n_classes else self.D(x)

    def penalty(self, t: GameTrainer, x: Tensor, fake: Tensor, y: Optional[Tensor] = None) -> Tensor:
        """lambda * WGAN-GP's gradient penalty (:func:`gantutor.losses.gradient_penalty`) when
        ``config.gp_weight`` > 0, else 0. A conditional critic scores the interpolates with the real
        samples' labels."""
        if not t.config.gp_weight:
            return torch.zeros((), device=self.device)
        args = (y,) if self.n_classes else ()
        return t.config.gp_weight * losses.gradient_penalty(self.D, x, fake, *args)

    def d_loss(self, t: GameTrainer):
        x, y = self.sampler.sample(t.config.batch_size)
        z, y_fake = self.noise(x.shape[0])
        with torch.no_grad():
            fake = self.generate(self.G, z, y_fake)
        real_logits, fake_logits = self.score(x, y), self.score(fake, y_fake)
        loss = losses.d_loss(t.config.d_loss)(real_logits, fake_logits) + self.penalty(t, x, fake, y)
        return loss, {"real": real_logits.detach(), "fake": fake_logits.detach()}

    def g_loss(self, t: GameTrainer):
        z, y = self.noise(t.config.batch_size)
        fake_logits = self.score(self.generate(self.G, z, y), y)
        return losses.g_loss(t.config.g_loss)(fake_logits), {"fake": fake_logits.detach()}

    def record(self, d_loss, d_out, g_loss, g_out) -> Dict[str, float]:
        """Losses; mean D(x) and D(G(z)) as sigmoid probabilities, D(G(z)) both in the last D step
        (``d_fake``) and in the G step that followed (``d_fake_g``, before G's update, on the fresh batch of
        fakes that step draws; the PyTorch DCGAN tutorial's second number re-scores the D step's own fakes
        after D's update); ``critic_gap``, mean raw output on real minus fake (WGAN's W1 estimate)."""
        real, fake = d_out["real"], d_out["fake"]
        return dict(d_loss=float(d_loss), g_loss=float(g_loss), d_real=float(torch.sigmoid(real).mean()),
                    d_fake=float(torch.sigmoid(fake).mean()), d_fake_g=float(torch.sigmoid(g_out["fake"]).mean()),
                    critic_gap=float(real.mean() - fake.mean()))

    def sample(self, t: GameTrainer, n: int, y: Optional[Tensor] = None, z: Optional[Tensor] = None) -> Tensor:
        """n samples with optional fixed z [n, latent_dim] and labels y [n]; only what is not given is drawn."""
        if z is not None:
            what = f"a float tensor [{n}, {self.latent_dim}] (n, latent_dim)"
            z = V.finite_values("z", V.float_tensor("z", z, what))
            if tuple(z.shape) != (n, self.latent_dim):
                V.fail("z", what, z)
        if y is not None and not self.n_classes:
            V.fail("y", "None: the game is unconditional (the sampler has no labels)", y)
        if y is not None:
            y = V.integer_labels("y", y, n, self.n_classes)
        if z is None:
            z = torch.randn(n, self.latent_dim, device=self.device)
        if y is None and self.n_classes:
            y = torch.randint(0, self.n_classes, (n,), device=self.device)
        y = y.to(self.device) if y is not None else None
        return self.generate(t.sampling_generator(), z.to(self.device), y)


class ConditionalGame(StandardGame):
    """The conditional GAN of Mirza and Osindero (2014, eq. 2: G(z|y), D(x|y)) with two optional terms.

    ``mismatch_weight`` w: D also sees each real batch with wrong labels, scored as fake, the
    "matching-aware" discriminator of Reed et al. (2016, GAN-CLS) that the book's course notes use
    (:func:`gantutor.losses.d_conditional_bce`, written for BCE: it needs ``config.d_loss == "bce"``;
    with w = 0 any registered loss works). ``l1_weight`` lambda: G's loss gains
    lambda * mean |G(z, y) - x| with x a real image of the same label y (a term of the course notes,
    not of either paper; chapter 2 shows it pulls toward the per-class median image).
    The losses are read from ``config`` at every step, so :meth:`Trainer.set_losses` applies mid-run.
    """

    def __init__(self, G, D, sampler, latent_dim: int, mismatch_weight: float = 1.0, l1_weight: float = 0.0):
        super().__init__(G, D, sampler, latent_dim)
        self.mismatch_weight, self.l1_weight = float(mismatch_weight), float(l1_weight)

    def d_loss(self, t: GameTrainer):
        if not self.mismatch_weight:
            return super().d_loss(t)
        if t.config.d_loss != "bce":
            raise ValueError(f"config.d_loss: the mismatch term is written for 'bce', got {t.config.d_loss!r}; "
                             "set mismatch_weight=0 to train with another discriminator loss")
        x, y = self.sampler.sample(t.config.batch_size)
        z, y_fake = self.noise(x.shape[0])
        with torch.no_grad():
            fake = self.G(z, y_fake)
        real_logits, fake_logits = self.D(x, y), self.D(fake, y_fake)
        mismatch_logits = self.D(x, losses.mismatched_labels(y, self.n_classes))
        loss = losses.d_conditional_bce(real_logits, fake_logits, mismatch_logits, self.mismatch_weight)
        loss = loss + self.penalty(t, x, fake, y)
        return loss, {"real": real_logits.detach(), "fake": fake_logits.detach()}

    def g_loss(self, t: GameTrainer):
        if not self.l1_weight:
            return super().g_loss(t)
        x, y = self.sampler.sample(t.config.batch_size)  # labels from the data, and one real image each
        z, _ = self.noise(x.shape[0])
        fake = self.G(z, y)
        fake_logits = self.D(fake, y)
        loss = losses.g_loss(t.config.g_loss)(fake_logits) + self.l1_weight * (fake - x).abs().mean()
        return loss, {"fake": fake_logits.detach()}


def _config(config) -> TrainConfig:
    if config is None:
        return TrainConfig()
    if not isinstance(config, TrainConfig):
        V.fail("config", "a gantutor.TrainConfig", config, "write TrainConfig(**settings)", error=TypeError)
    return config


class Trainer(GameTrainer):
    """Trains ``G`` against ``D`` on batches from ``sampler`` (a :class:`StandardGame`) under ``config``."""

    def __init__(self, G: nn.Module, D: nn.Module, sampler: Sampler, config: Optional[TrainConfig] = None,
                 callbacks: Sequence[Callback] = (), game: Optional[StandardGame] = None):
        config = _config(config)
        losses.d_loss(config.d_loss), losses.g_loss(config.g_loss)  # an unknown name fails here, clearly
        super().__init__(game or StandardGame(G, D, sampler, config.latent_dim), config, callbacks)

    # The networks, data and helpers of the game, under the names the chapters use.
    G = property(lambda self: self.game.G)
    D = property(lambda self: self.game.D)
    sampler = property(lambda self: self.game.sampler)
    latent_dim = property(lambda self: self.game.latent_dim)
    n_classes = property(lambda self: self.game.n_classes)
    d_loss_fn = property(lambda self: losses.d_loss(self.config.d_loss))
    g_loss_fn = property(lambda self: losses.g_loss(self.config.g_loss))

    def noise(self, n: int):
        return self.game.noise(n)

    def penalty(self, x: Tensor, fake: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.game.penalty(self, x, fake, y)

    def set_losses(self, g_loss: Optional[str] = None, d_loss: Optional[str] = None) -> None:
        """Switch losses by name mid-run (the dashboard's loss selector)."""
        if g_loss is not None:
            losses.g_loss(g_loss)  # raises a clear error for an unknown name
            self.config.g_loss = g_loss
        if d_loss is not None:
            losses.d_loss(d_loss)
            self.config.d_loss = d_loss

    def sample(self, n: int, y: Optional[Tensor] = None, z: Optional[Tensor] = None) -> Tensor:
        """n samples from G in eval mode (on the CPU), with optional fixed z and labels."""
        return super().sample(n, y=y, z=z)


class ConditionalTrainer(Trainer):
    """:class:`Trainer` for labelled data with the mismatch and L1 terms of :class:`ConditionalGame`."""

    def __init__(self, G: nn.Module, D: nn.Module, sampler: Sampler, config: Optional[TrainConfig] = None,
                 callbacks: Sequence[Callback] = (), mismatch_weight: float = 1.0, l1_weight: float = 0.0):
        if getattr(sampler, "n_classes", 0) < 2:
            V.fail("sampler", "a labelled sampler, e.g. mnist_sampler(labelled=True)", sampler)
        for name, value in (("mismatch_weight", mismatch_weight), ("l1_weight", l1_weight)):
            V.finite_number(name, value, low=0.0)
        config = _config(config)
        if mismatch_weight and config.d_loss != "bce":
            raise ValueError("the mismatch term is written for the 'bce' discriminator loss; "
                             "set mismatch_weight=0 to use another loss")
        game = ConditionalGame(G, D, sampler, config.latent_dim, mismatch_weight, l1_weight)
        super().__init__(G, D, sampler, config, callbacks, game=game)
        self.mismatch_weight, self.l1_weight = game.mismatch_weight, game.l1_weight

    def set_losses(self, g_loss: Optional[str] = None, d_loss: Optional[str] = None) -> None:
        """As :meth:`Trainer.set_losses`; a discriminator loss other than 'bce' needs mismatch_weight=0
        (the mismatch term is a BCE term), and is refused with that message before anything changes."""
        if d_loss is not None and d_loss != "bce" and self.game.mismatch_weight:
            losses.d_loss(d_loss)  # an unknown name is reported as such first
            raise ValueError(f"d_loss: the mismatch term (mismatch_weight={self.game.mismatch_weight:g}) is written "
                             f"for 'bce', got {d_loss!r}; build the trainer with mismatch_weight=0 for another loss")
        super().set_losses(g_loss=g_loss, d_loss=d_loss)
