"""CycleGAN's objective and training game (Zhu et al., 2017, eqs. 1-3, sections 4 and 5.2, appendix 7.1).

The full objective (eq. 3, with eq. 1's log-likelihood L_GAN, solved as min over G, F and max over D_X,
D_Y, eq. 4), plus the identity loss the paper adds for painting -> photo (section 5.2, the technique of
Taigman, Polyak and Wolf, 2017). For training, section 4 replaces each log-likelihood L_GAN by least
squares (Mao et al., 2017), which is not one min-max objective but two losses, one for the generator and
one for the discriminator (below):

    L(G, F, D_X, D_Y) = L_GAN(G, D_Y, X, Y) + L_GAN(F, D_X, Y, X) + lambda L_cyc(G, F)
                        [+ lambda_idt lambda L_identity(G, F)],

    L_cyc      = E_x ||F(G(x)) - x||_1 + E_y ||G(F(y)) - y||_1                    (eq. 2)
    L_identity = E_y ||G(y) - y||_1 + E_x ||F(x) - x||_1                       (section 5.2)

G: X -> Y is judged by D_Y and F: Y -> X by D_X (the second adversarial term is built from D_X(F(y))).
The identity term feeds each generator an image that is already in its target domain: G gets y, F gets x.
lambda = 10 (section 4); the identity weight 0.5 lambda is the authors' code's default (its
``lambda_identity = 0.5`` multiplies the cycle weight). ||.||_1 is taken as the mean absolute error per
pixel (as ``nn.L1Loss`` does), so the terms do not grow with the image size.

Least squares (Mao et al., 2017, with the 0-1 coding): D minimises 1/2 E(D(real) - 1)^2 + 1/2 E D(fake)^2
(:func:`gantutor.losses.d_least_squares`), the generator minimises E (D(fake) - 1)^2, mean over batch and
patches, with weight 1 (the paper's code: an MSE against 1 with no factor 1/2).
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Callable, Dict, Optional, Tuple

import torch
from torch import nn

from .. import losses
from ..data import Sampler
from ..train.core import Game, GameTrainer
from ..train.image_pool import ImagePool
from .cyclegan import CycleGenerators

Tensor = torch.Tensor


def lsgan_generator_term(fake_scores: Tensor) -> Tensor:
    """E (D(fake) - 1)^2 over batch and patches: the least-squares generator term of the paper's code
    (:func:`gantutor.losses.g_least_squares` has a factor 1/2; this is twice it)."""
    return 2.0 * losses.g_least_squares(fake_scores.reshape(-1), c=1.0)  # every patch score counts once


def l1(a: Tensor, b: Tensor) -> Tensor:
    """Mean absolute difference (||a - b||_1 per pixel, averaged over the batch)."""
    if a.shape != b.shape:
        raise ValueError(f"l1: the two batches differ in shape, {list(a.shape)} and {list(b.shape)}")
    return (a - b).abs().mean()


def generator_loss_terms(G: nn.Module, F: nn.Module, D_X: nn.Module, D_Y: nn.Module, x: Tensor, y: Tensor,
                         lambda_cycle: float = 10.0, lambda_identity: float = 0.5,
                         adversarial: bool = True, cycle: bool = True) -> Dict[str, Tensor]:
    """Every term of the generators' objective on a batch x (domain X) and y (domain Y), weighted:

    ``adv_G`` = E (D_Y(G(x)) - 1)^2, ``adv_F`` = E (D_X(F(y)) - 1)^2,
    ``cyc_X`` = lambda E|F(G(x)) - x|, ``cyc_Y`` = lambda E|G(F(y)) - y|,
    ``idt_Y`` = lambda_identity lambda E|G(y) - y|, ``idt_X`` = lambda_identity lambda E|F(x) - x|,
    ``total`` their sum, and the images ``fake_Y`` = G(x), ``fake_X`` = F(y) (for the discriminators).
    A weight of 0 skips its term's forward passes (its entry is then 0). For ablations, ``cycle=False``
    drops the cycle terms while the identity weight stays lambda_identity * lambda_cycle, and
    ``adversarial=False`` drops both adversarial terms."""
    fake_y, fake_x = G(x), F(y)
    zero = x.new_zeros(())
    t: Dict[str, Tensor] = {}
    t["adv_G"] = lsgan_generator_term(D_Y(fake_y)) if adversarial else zero
    t["adv_F"] = lsgan_generator_term(D_X(fake_x)) if adversarial else zero
    t["cyc_X"] = lambda_cycle * l1(F(fake_y), x) if lambda_cycle and cycle else zero
    t["cyc_Y"] = lambda_cycle * l1(G(fake_x), y) if lambda_cycle and cycle else zero
    w_idt = lambda_identity * lambda_cycle
    t["idt_Y"] = w_idt * l1(G(y), y) if w_idt else zero
    t["idt_X"] = w_idt * l1(F(x), x) if w_idt else zero
    t["total"] = sum(t[k] for k in ("adv_G", "adv_F", "cyc_X", "cyc_Y", "idt_Y", "idt_X"))
    t["fake_Y"], t["fake_X"] = fake_y, fake_x
    return t


def discriminator_loss(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """1/2 E (D(real) - 1)^2 + 1/2 E D(fake)^2 (least squares, 0-1 coding), means over batch and patches;
    ``fake`` is detached."""
    return losses.d_least_squares(D(real).reshape(-1), D(fake.detach()).reshape(-1), a=0.0, b=1.0)


class CycleGANGame(Game):
    """Two generators G: X -> Y, F: Y -> X against D_Y and D_X on unpaired batches from two samplers.

    Generator side: G and F (one Adam); discriminator side: D_X and D_Y. Each discriminator sees real
    images and fakes drawn through its own :class:`~gantutor.train.ImagePool` (``pool_size`` 50; 0 = the
    latest fakes only). Ablation switches: ``cycle=False`` drops the cycle loss (the identity loss keeps
    its weight lambda_identity * lambda_cycle), ``lambda_identity=0`` the identity loss (needed when X and
    Y have different channel counts), ``pool_size=0`` the buffer. The discriminators train on the
    fakes of the preceding generator step, as in the paper's code (G step, then D step on its fakes).
    Recommended config: ``TrainConfig(lr_schedule="linear", lr_decay_start=0.5, lr_final=0.0,
    betas=(0.5, 0.999))``, see :func:`cyclegan_config` (section 7.1 gives Adam, lr 2e-4 and the schedule;
    beta1 = 0.5 is the authors' code's ``--beta1`` default, not stated in the paper).
    """

    log_keys = ("d_loss", "g_loss", "adv_G", "adv_F", "cyc_X", "cyc_Y", "idt_Y", "idt_X", "d_X", "d_Y")

    def __init__(self, G: nn.Module, F: nn.Module, D_X: nn.Module, D_Y: nn.Module, sampler_x: Sampler,
                 sampler_y: Sampler, lambda_cycle: float = 10.0, lambda_identity: float = 0.5,
                 pool_size: int = 50, adversarial: bool = True, cycle: bool = True):
        for name, v in (("lambda_cycle", lambda_cycle), ("lambda_identity", lambda_identity)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf"):
                raise ValueError(f"{name}: expected a finite number >= 0, got {v!r}")
        self.G, self.F, self.D_X, self.D_Y = G, F, D_X, D_Y
        self.sampler_x, self.sampler_y = sampler_x, sampler_y
        self.lambda_cycle, self.lambda_identity = float(lambda_cycle), float(lambda_identity)
        self.adversarial, self.cycle = adversarial, cycle
        self.pool_X, self.pool_Y = ImagePool(pool_size), ImagePool(pool_size)
        self.generator = CycleGenerators(G, F)
        self._last: Optional[Tuple[Tensor, Tensor, Tensor, Tensor]] = None
        self.device = torch.device("cpu")

    def networks(self) -> Dict[str, nn.Module]:
        return {"G": self.G, "F": self.F, "D_X": self.D_X, "D_Y": self.D_Y}

    def parameters(self, side: str):
        if side == "generator":
            return list(self.G.parameters()) + list(self.F.parameters())
        if side == "discriminator":
            return list(self.D_X.parameters()) + list(self.D_Y.parameters())
        raise ValueError(f"side: expected 'generator' or 'discriminator', got {side!r}")

    def to(self, device) -> "CycleGANGame":
        super().to(device)
        self.sampler_x, self.sampler_y = self.sampler_x.to(device), self.sampler_y.to(device)
        self.device = torch.device(device)
        return self

    def batches(self, n: int) -> Tuple[Tensor, Tensor]:
        return self.sampler_x.sample(n)[0], self.sampler_y.sample(n)[0]

    def d_loss(self, t: GameTrainer):
        if self._last is None:  # the first step (or k > 1): fakes of the current generators
            x, y = self.batches(t.config.batch_size)
            with torch.no_grad():
                fake_y, fake_x = self.G(x), self.F(y)
        else:
            x, y, fake_y, fake_x = self._last
            self._last = None
        d_y = discriminator_loss(self.D_Y, y, self.pool_Y.query(fake_y))
        d_x = discriminator_loss(self.D_X, x, self.pool_X.query(fake_x))
        return d_x + d_y, {"d_X": d_x.detach(), "d_Y": d_y.detach()}

    def g_loss(self, t: GameTrainer):
        x, y = self.batches(t.config.batch_size)
        terms = generator_loss_terms(self.G, self.F, self.D_X, self.D_Y, x, y, self.lambda_cycle,
                                     self.lambda_identity, self.adversarial, self.cycle)
        self._last = (x, y, terms["fake_Y"].detach(), terms["fake_X"].detach())
        return terms["total"], {k: v.detach() for k, v in terms.items() if not k.startswith("fake")}

    def record(self, d_loss, d_out, g_loss, g_out) -> Dict[str, float]:
        out = {"d_loss": float(d_loss), "g_loss": float(g_loss)}
        out.update({k: float(v) for k, v in g_out.items() if k != "total"})
        out.update({k: float(v) for k, v in d_out.items()})
        return out

    def sample(self, t: GameTrainer, n: int, x: Optional[Tensor] = None, direction: str = "G") -> Tensor:
        """G(x) (``direction="G"``) or F(y) (``"F"``) of ``x`` [n, C, H, W] or of n images from the
        matching sampler; from the moving average of both generators when the trainer keeps one."""
        pair = t.sampling_generator()
        if direction not in ("G", "F"):
            raise ValueError(f"direction: expected 'G' or 'F', got {direction!r}")
        if x is None:
            x = (self.sampler_x if direction == "G" else self.sampler_y).sample(n)[0]
        net = pair.G if direction == "G" else pair.F
        return net(x.to(self.device))


def train_for_cpu(game: Game, seconds: float, config: "TrainConfig", probe_steps: int = 5,
                  timer: Callable[[], float] = time.process_time) -> Tuple[GameTrainer, float]:
    """Train ``game`` for about ``seconds`` of CPU with the decay schedule laid over the steps that budget
    buys, so that every step taken has a positive learning rate and the rate reaches 0 as the run ends.

    The first ``probe_steps`` steps are timed (they lie in the schedule's constant part, whatever the final
    length: section 7.1's rate is constant for the first half); the run's length is then fixed at
    N = max(floor(seconds / time per step), ceil(probe_steps / lr_decay_start)) steps, ``config.steps`` set
    to N, and the remaining N - probe_steps steps run. N depends on the machine's speed; everything else is
    deterministic under ``config.seed``. ``config`` must use a decay that starts after a share > 0 of the
    run (``lr_schedule="linear"``, ``lr_decay_start`` > 0), as :func:`cyclegan_config` does. Returns the
    trainer and the CPU seconds (``timer``) used."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
        raise ValueError(f"seconds: expected a positive finite CPU budget in seconds, got {seconds!r}")
    if isinstance(probe_steps, bool) or not isinstance(probe_steps, int) or probe_steps < 1:
        raise ValueError(f"probe_steps: expected an integer >= 1, got {probe_steps!r}")
    if config.lr_schedule != "linear" or not config.lr_decay_start > 0:
        raise ValueError("config: expected a linear decay that starts after a share > 0 of the run "
                         f"(lr_schedule='linear', lr_decay_start > 0), got {config.lr_schedule!r} from "
                         f"{config.lr_decay_start!r}: the timed first steps must not depend on the run's length")
    least = int(math.ceil(probe_steps / config.lr_decay_start))
    trainer = GameTrainer(game, replace(config, steps=least))
    start = timer()
    trainer.run(probe_steps, progress=False)
    per_step = max(timer() - start, 1e-9) / probe_steps
    total = max(int(seconds / per_step), least)
    trainer.config = replace(trainer.config, steps=total)
    trainer.run(total - probe_steps, progress=False)
    return trainer, timer() - start


def cyclegan_config(steps: int, **overrides) -> "TrainConfig":
    """The paper's optimiser settings (section 7.1): Adam, lr 2e-4, constant for the first half of the
    run and then linearly to 0; batch 1 there, 8 here by default. Betas (0.5, 0.999) are the authors'
    code's (its ``--beta1`` default 0.5); the paper does not state them."""
    from ..config import TrainConfig

    base = dict(steps=steps, batch_size=8, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), lr_schedule="linear",
                lr_decay_start=0.5, lr_final=0.0, log_every=10, progress=False)
    base.update(overrides)
    return TrainConfig(**base)
