"""The loss zoo (chapter 10): every adversarial loss of the book, side by side.

Three things live here, each used by the chapter and by :class:`gantutor.widgets.Playground`:

* ``DEFAULT_SETTINGS``: for each loss of the zoo, the registered loss names (:mod:`gantutor.losses`)
  and its settings (optimiser, critic steps k, clipping, gradient penalty, spectral norm): the paper's
  or the authors' released code's where the loss needs them, the book's own for ``hinge-sn`` (see the
  comments). Everything else (networks, batch, learning-rate schedule) comes from the shared
  :class:`~gantutor.config.ToySettings`.
* ``FORMULAS``: each registered loss as a LaTeX formula with an independent reference implementation
  (written from the formula with sigmoids and logs, not from ``losses``), so that a table of formulas
  can be checked against the code that trains (on moderate outputs; the LaTeX itself only by reading).
* an experiment runner: train one loss on a toy set for a number of generator steps fitted to a CPU
  time budget (:func:`seconds_per_step`), score it with :func:`gantutor.metrics.toy_scores`, and
  summarise seeds as mean +- sd in a Markdown table.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from . import losses, metrics, theory
from . import validate as V
from .config import ToySettings
from .train import Trainer, seed_everything

# Per-loss settings: TrainConfig overrides, plus ``spectral_norm`` (applied to D's Linear layers).
DEFAULT_SETTINGS: Dict[str, dict] = {
    "minimax": dict(d_loss="bce", g_loss="minimax"),
    "nonsaturating": dict(d_loss="bce", g_loss="nonsaturating"),
    "lsgan-9": dict(d_loss="lsgan", g_loss="lsgan"),
    "lsgan-8": dict(d_loss="lsgan-8", g_loss="lsgan-8"),
    "wgan-clip": dict(d_loss="wasserstein", g_loss="wasserstein", optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5,
                      clip=0.01, k=5),
    # Gulrajani et al. (2017): lambda = 10, n_critic = 5; Adam betas (0.5, 0.9) of their released toy/MNIST
    # code (Algorithm 1 lists beta = (0, 0.9) and lr 1e-4); the learning rate is the shared one.
    "wgan-gp": dict(d_loss="wasserstein", g_loss="wasserstein", gp_weight=10.0, k=5, betas=(0.5, 0.9)),
    # The book's choice, not Miyato et al.'s (2018). Their Table 1 tests six Adam settings on images, all with
    # beta1 >= 0.5, none with betas (0.5, 0.9) and one D step (the only ones with n_dis 1, B and C, use betas
    # (0.5, 0.999); C, lr 2e-4, is DCGAN's); their ResNet runs (Appendix B.2) and released hinge-loss code
    # (pfnet-research/sngan_projection) use lr 2e-4, betas (0, 0.9), n_dis 5. Here k = 1 at the shared
    # learning rate keeps the toy runs cheap.
    "hinge-sn": dict(d_loss="hinge", g_loss="hinge", spectral_norm=True, k=1, betas=(0.5, 0.9)),
}

Tensor = torch.Tensor


def _bce_ref(r: Tensor, f: Tensor) -> Tensor:
    return -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean()


# Registered name -> (LaTeX, reference implementation). r: D's raw outputs on real data, f: on fakes.
D_FORMULAS: Dict[str, Tuple[str, Callable]] = {
    "bce": (r"$-\mathbb{E}\log\sigma(r) - \mathbb{E}\log(1 - \sigma(f))$", _bce_ref),
    "lsgan": (r"$\frac12\mathbb{E}(r - 1)^2 + \frac12\mathbb{E}f^2$",
              lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean()),
    "lsgan-8": (r"$\frac12\mathbb{E}(r - 1)^2 + \frac12\mathbb{E}(f + 1)^2$",
                lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * ((f + 1) ** 2).mean()),
    "wasserstein": (r"$\mathbb{E}f - \mathbb{E}r$", lambda r, f: f.mean() - r.mean()),
    "hinge": (r"$\mathbb{E}\max(0, 1 - r) + \mathbb{E}\max(0, 1 + f)$",
              lambda r, f: torch.clamp(1 - r, min=0).mean() + torch.clamp(1 + f, min=0).mean()),
}
G_FORMULAS: Dict[str, Tuple[str, Callable]] = {
    "minimax": (r"$\mathbb{E}\log(1 - \sigma(f))$", lambda f: torch.log(1 - torch.sigmoid(f)).mean()),
    "nonsaturating": (r"$-\mathbb{E}\log\sigma(f)$", lambda f: -torch.log(torch.sigmoid(f)).mean()),
    "lsgan": (r"$\frac12\mathbb{E}(f - 1)^2$", lambda f: 0.5 * ((f - 1) ** 2).mean()),
    "lsgan-8": (r"$\frac12\mathbb{E}f^2$", lambda f: 0.5 * (f ** 2).mean()),
    "wasserstein": (r"$-\mathbb{E}f$", lambda f: -f.mean()),
    "hinge": (r"$-\mathbb{E}f$", lambda f: -f.mean()),
}


def formula_errors(n: int = 512, scale: float = 4.0, seed: int = 0) -> Dict[str, float]:
    """|registered loss - reference formula| on one batch of ``n`` random raw outputs ``scale`` * N(0, 1)
    in float64 (both are batch means, so this is one difference per loss, not a maximum over samples), for
    every loss in ``losses.D_LOSSES`` and ``losses.G_LOSSES`` (keys ``"D bce"``, ``"G minimax"``, ...).
    The outputs are moderate (|l| below about 15), where log(sigmoid(l)) and the registry's softplus agree:
    this checks that the code computes the formula, not its stability at large outputs (tests/test_zoo.py
    checks that in float32 at +-50 and +-200). A registered loss without a formula raises ``KeyError``,
    so this check cannot silently miss one. (The chapter's formula table lists the losses that
    ``DEFAULT_SETTINGS`` uses, not the registry: a loss no setting uses would be missing from it.)"""
    V.positive_int("n", n)
    V.positive_number("scale", scale)
    g = torch.Generator().manual_seed(V.integer("seed", seed))
    r, f = (scale * torch.randn(n, generator=g, dtype=torch.float64) for _ in range(2))
    errors = {}
    for kind, table, formulas in (("D", losses.D_LOSSES, D_FORMULAS), ("G", losses.G_LOSSES, G_FORMULAS)):
        for name, fn in table.items():
            if name not in formulas:
                raise KeyError(f"registered {kind} loss {name!r} has no formula in gantutor.zoo")
            args = (r, f) if kind == "D" else (f,)
            errors[f"{kind} {name}"] = float((fn(*args) - formulas[name][1](*args)).abs())
    return errors


# -- the losses on discrete distributions (the theory column) ------------------------------------------
def _t(x, name: str = "out") -> Tensor:
    return torch.as_tensor(V.array_1d(name, x))


def _weights(name: str, p, n: int) -> np.ndarray:
    p = V.array_1d(name, p, "a 1D array of probabilities")
    if p.shape != (n,):
        V.fail(name, f"{n} probabilities, one per entry of out", f"shape {p.shape}")
    return p


def expected_d_loss(name: str, out, p_d, p_g) -> float:
    """E_{x ~ p_d, x' ~ p_g}[L_D(D(x), D(x'))] for a discriminator with raw outputs ``out`` on n points,
    computed by calling the registered loss on every (real, fake) pair of single samples."""
    fn, out = losses.d_loss(name), _t(out)
    p_d, p_g = _weights("p_d", p_d, len(out)), _weights("p_g", p_g, len(out))
    pair = np.array([[float(fn(out[i:i + 1], out[j:j + 1])) for j in range(len(out))] for i in range(len(out))])
    return float(np.asarray(p_d) @ pair @ np.asarray(p_g))


def expected_g_loss(name: str, out, p) -> float:
    """E_{x ~ p}[L_G(D(x))] for raw outputs ``out`` on n points, from the registered generator loss."""
    fn, out = losses.g_loss(name), _t(out)
    p = _weights("p", p, len(out))
    return float(sum(p_i * float(fn(out[i:i + 1])) for i, p_i in enumerate(np.asarray(p))))


def optimal_output(d_loss: str, p_d, p_g) -> np.ndarray:
    """The raw output D*(x) minimising the discriminator loss ``d_loss`` pointwise, for p_d, p_g > 0:
    the logit log(p_d / p_g) for BCE (chapter 1), (b p_d + a p_g)/(p_d + p_g) for least squares
    (chapter 3), sign(p_d - p_g) for the hinge loss (chapter 10). WGAN's critic has no pointwise
    optimum (its loss is unbounded without the Lipschitz constraint): see :func:`optimal_critic_1d`."""
    V.one_of("d_loss", d_loss, ("bce", "lsgan", "lsgan-8", "hinge"),
             what="a loss with a pointwise optimum (WGAN's critic has none: see optimal_critic_1d), one of")
    p_d, p_g = V.array_1d("p_d", p_d), V.array_1d("p_g", p_g)
    if p_g.shape != p_d.shape:
        V.fail("p_g", f"the shape of p_d {p_d.shape}", f"shape {p_g.shape}")
    for name, v in (("p_d", p_d), ("p_g", p_g)):
        if np.any(v <= 0):
            V.fail(name, "positive probabilities (the optimum is a log-ratio)", f"values down to {v.min():.3g}")
    if d_loss == "bce":
        return np.log(p_d / p_g)
    if d_loss in ("lsgan", "lsgan-8"):
        return theory.lsgan_optimal_discriminator(p_d, p_g, a=0.0 if d_loss == "lsgan" else -1.0, b=1.0)
    if d_loss == "hinge":
        return np.sign(p_d - p_g)
    raise ValueError(f"no pointwise optimal discriminator for {d_loss!r}")


def optimal_critic_1d(p_d, p_g, dx: float) -> np.ndarray:
    """A 1-Lipschitz critic maximising E_{p_d} f - E_{p_g} f for probability masses on a uniform 1D grid
    of spacing ``dx``: chapter 4's :func:`gantutor.theory.w1_optimal_critic` on the densities p / dx
    (f steps by dx * sign(F_g - F_d); summation by parts gives E_{p_d} f - E_{p_g} f = W1)."""
    p_d, p_g = V.array_1d("p_d", p_d), V.array_1d("p_g", p_g)
    dx = V.positive_number("dx", dx)
    return theory.w1_optimal_critic(p_d / dx, p_g / dx, np.arange(len(p_d)) * dx)


# -- the experiment ------------------------------------------------------------------------------------
def add_spectral_norm(net: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al., 2018) of every ``nn.Linear`` in ``net``, in place:
    :func:`gantutor.layers.spectral_norm_all` (chapter 5; one power iteration per forward pass in
    training mode: a standard game's D loss calls D on reals and fakes, G's loss once, so three per step)."""
    from .layers import spectral_norm_all

    V.module("net", net)
    return spectral_norm_all(net, types=(nn.Linear,))


def _split(name: str, settings: Dict[str, dict]) -> Tuple[dict, bool]:
    if not isinstance(settings, dict):
        V.fail("settings", "a dict {loss name: TrainConfig overrides}", settings, error=TypeError)
    if not isinstance(name, str) or name not in settings:
        V.fail("name", f"a zoo loss, one of {list(settings)}", repr(name) if isinstance(name, str) else name,
               error=KeyError)
    overrides = dict(settings[name])
    sn = bool(overrides.pop("spectral_norm", False))
    from .config import TrainConfig
    unknown = sorted(set(overrides) - set(TrainConfig.__dataclass_fields__))
    if unknown:
        V.fail("settings", f"TrainConfig fields (and spectral_norm) for {name!r}", f"unknown fields {unknown}")
    return overrides, sn


def toy_trainer(name: str, mixture, toy: ToySettings, steps: int, seed: int = 0,
                settings: Dict[str, dict] = DEFAULT_SETTINGS) -> Trainer:
    """A :class:`Trainer` for loss ``name`` of ``settings`` on ``mixture``: networks and optimiser from
    ``toy`` (initial weights seeded by ``seed``), the loss's overrides on top."""
    overrides, sn = _split(name, settings)
    from .data import GaussianMixture
    if not isinstance(mixture, GaussianMixture):
        V.fail("mixture", "a gantutor.data.GaussianMixture (e.g. ring8())", mixture, error=TypeError)
    if not isinstance(toy, ToySettings):
        V.fail("toy", "a gantutor.config.ToySettings (e.g. RING_SETTINGS)", toy, error=TypeError)
    V.non_negative_int("steps", steps)
    seed_everything(V.integer("seed", seed))
    G, D = toy.models(mixture.means.shape[1])
    if sn:
        add_spectral_norm(D)
    return Trainer(G, D, mixture, toy.config(steps=steps, seed=seed, **overrides))


def mnist_trainer(name: str, sampler, steps: int, seed: int = 0,
                  settings: Dict[str, dict] = DEFAULT_SETTINGS) -> Trainer:
    """The MLP GAN of chapters 1 and 3 on MNIST (hidden 256-512 / 512-256, batch 64, Adam 1e-3 with
    beta1 = 0.5, initial weights seeded by ``seed``) with loss ``name``'s overrides on top."""
    from .config import TrainConfig
    from .models import MLPDiscriminator, MLPGenerator

    overrides, sn = _split(name, settings)
    seed_everything(seed)
    G, D = MLPGenerator(64, (1, 28, 28), hidden=(256, 512)), MLPDiscriminator((1, 28, 28), hidden=(512, 256))
    if sn:
        add_spectral_norm(D)
    base = dict(batch_size=64, lr_g=1e-3, lr_d=1e-3, seed=seed, steps=steps, progress=False)
    return Trainer(G, D, sampler, TrainConfig(**{**base, **overrides}))


def _trainer(trainer) -> None:
    if not isinstance(trainer, Trainer):
        V.fail("trainer", "a gantutor.train.Trainer", trainer, error=TypeError)


def seconds_per_step(trainer: Trainer, n: int = 20, warmup: int = 5) -> float:
    """CPU seconds (process time) per generator step of ``trainer`` (a throw-away one: it trains),
    k critic steps included, measured after ``warmup`` steps. Meaningful with one torch thread."""
    _trainer(trainer)
    V.positive_int("n", n)
    V.non_negative_int("warmup", warmup)
    trainer.run(warmup, progress=False)
    start = time.process_time()
    trainer.run(n, progress=False)
    return (time.process_time() - start) / n


def timed_run(trainer: Trainer) -> float:
    """Train ``trainer`` for its configured steps; return the CPU seconds it took."""
    _trainer(trainer)
    start = time.process_time()
    trainer.run(progress=False)
    return time.process_time() - start


def run_toy(name: str, mixture, toy: ToySettings, steps: int, seed: int = 0, n_eval: int = 2500,
            settings: Dict[str, dict] = DEFAULT_SETTINGS) -> Tuple[dict, Trainer]:
    """Train loss ``name`` for ``steps`` generator steps and score ``n_eval`` samples (PacGAN's 2,500).
    Returns (record, trainer); the record holds the scores, steps and CPU seconds."""
    V.positive_int("n_eval", n_eval)
    trainer = toy_trainer(name, mixture, toy, steps, seed, settings)
    cpu = timed_run(trainer)
    s = metrics.toy_scores(trainer.sample(n_eval), mixture)
    return {"loss": name, "set": mixture.name, "seed": seed, "steps": steps, "cpu": cpu, "modes": s.modes,
            "n_modes": s.n_modes, "hq": s.high_quality, "rkl": s.reverse_kl}, trainer


def mean_sd(values: Sequence[float], fmt: str = ".2f", scale: float = 1.0) -> str:
    """``"m ± s"`` over seeds (sample sd); ``"inf"`` entries (no high-quality sample) are counted."""
    if values is None or isinstance(values, (str, bytes)) or len(values) == 0:
        V.fail("values", "a non-empty list of numbers (one per seed)", values, error=TypeError)
    v = np.asarray(values, dtype=np.float64) * scale
    if not np.all(np.isfinite(v)):
        return f"inf in {int(np.sum(~np.isfinite(v)))}/{len(v)}"
    sd = v.std(ddof=1) if len(v) > 1 else 0.0
    return f"{format(v.mean(), fmt)} ± {format(sd, fmt)}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown (MyST) table from a header and rows of strings."""
    for i, row in enumerate(rows):
        if len(row) != len(header):
            V.fail("rows", f"rows of {len(header)} cells (one per header entry)", f"row {i} with {len(row)}")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def toy_summary(records: List[dict]) -> str:
    """One row per (loss, toy set): modes, high-quality share and reverse KL as mean ± sd over seeds,
    with the generator steps and the mean CPU seconds per run."""
    need = {"loss", "set", "modes", "n_modes", "hq", "rkl", "steps", "cpu"}
    for i, r in enumerate(records):
        if not isinstance(r, dict) or need - set(r):
            V.fail("records", f"records of run_toy (keys {sorted(need)})",
                   f"record {i} missing {sorted(need - set(r)) if isinstance(r, dict) else type(r).__name__}")
    rows, keys = [], []
    for r in records:
        if (r["loss"], r["set"]) not in keys:
            keys.append((r["loss"], r["set"]))
    for loss, name in keys:
        rs = [r for r in records if r["loss"] == loss and r["set"] == name]
        rows.append([loss, name, f"{mean_sd([r['modes'] for r in rs], '.1f')} / {rs[0]['n_modes']}",
                     mean_sd([r["hq"] for r in rs], ".1f", 100.0), mean_sd([r["rkl"] for r in rs], ".2f"),
                     ", ".join(sorted({str(r["steps"]) for r in rs})), f"{np.mean([r['cpu'] for r in rs]):.1f}",
                     str(len(rs))])
    header = ["loss", "set", "modes", "high quality (%)", "reverse KL", "G steps", "CPU s / run", "seeds"]
    return markdown_table(header, rows)


def steps_for(seconds: float, per_step: float, least: int = 10) -> int:
    """Generator steps that fit into ``seconds`` of CPU time at ``per_step`` seconds each."""
    seconds, per_step = V.finite_number("seconds", seconds, low=0.0), V.positive_number("per_step", per_step)
    return max(least, int(math.floor(seconds / per_step)))
