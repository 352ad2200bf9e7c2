"""Adversarial losses as pure functions of the discriminator's raw outputs (logits).

A discriminator here returns a logit ``l``; its probability that x is real is D(x) = sigmoid(l).
Working with logits lets every loss use log-sigmoid (``softplus``), which is exact where
``log(sigmoid(l))`` underflows: ``log D = -softplus(-l)`` and ``log(1 - D) = -softplus(l)``.

Goodfellow et al. (2014), eq. (1): min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))].

Every function returns the scalar to *minimise* (a batch mean). Losses are registered by name in
``D_LOSSES`` and ``G_LOSSES``; look them up with :func:`d_loss` and :func:`g_loss`.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional

import torch
import torch.nn.functional as F

from . import validate as V

Tensor = torch.Tensor
D_LOSSES: Dict[str, Callable[[Tensor, Tensor], Tensor]] = {}
G_LOSSES: Dict[str, Callable[[Tensor], Tensor]] = {}


def _register(table: dict, name: str):
    def deco(fn):
        table[name] = fn
        return fn
    return deco


def check_logits(name: str, logits: Tensor) -> Tensor:
    """Return ``logits`` flattened to [N] after checking it is a float tensor of shape [N] or [N, 1]
    with N >= 1 and (outside the training loop) finite values. numpy arrays are refused: a loss must
    stay in the autograd graph."""
    what = "a float tensor [N] or [N, 1] of discriminator outputs, N >= 1"
    if not isinstance(logits, torch.Tensor):
        V.fail(name, what, logits, "pass D's output tensor (a loss must stay differentiable)", error=TypeError)
    if not logits.is_floating_point():
        V.fail(name, what, logits, "convert with .float()", error=TypeError)
    if logits.ndim == 2 and logits.shape[1] == 1:
        logits = logits[:, 0]
    if logits.ndim != 1 or logits.shape[0] == 0:
        V.fail(name, what, logits)
    return V.finite_values(name, logits)


@_register(D_LOSSES, "bce")
def d_bce(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Discriminator loss: binary cross-entropy, real labelled 1 and fake labelled 0.

    L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))]  (the negative of V(D, G), eq. 1),
    computed as mean(softplus(-l_real)) + mean(softplus(l_fake)).
    """
    real_logits = check_logits("real_logits", real_logits)
    fake_logits = check_logits("fake_logits", fake_logits)
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


@_register(G_LOSSES, "minimax")
def g_minimax(fake_logits: Tensor) -> Tensor:
    """Generator loss of the original minimax game (saturating).

    L_G = E_z[log(1 - D(G(z)))] = -mean(softplus(l_fake)). Its gradient with respect to the logit is
    -sigmoid(l), which vanishes when D confidently rejects fakes (l -> -inf): early in training.
    """
    fake_logits = check_logits("fake_logits", fake_logits)
    return -F.softplus(fake_logits).mean()


@_register(G_LOSSES, "nonsaturating")
def g_nonsaturating(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss (Goodfellow et al., 2014, section 3).

    L_G = -E_z[log D(G(z))] = mean(softplus(-l_fake)). Same fixed point as the minimax loss, but its
    gradient with respect to the logit, sigmoid(l) - 1, is close to -1 exactly when D rejects fakes.
    """
    fake_logits = check_logits("fake_logits", fake_logits)
    return F.softplus(-fake_logits).mean()


# ---- least squares (LSGAN, Mao et al., 2017) --------------------------------------------------------
# Here the discriminator's raw output is used as it is: a real number D(x), no sigmoid, no log.


def d_least_squares(real_out: Tensor, fake_out: Tensor, a: float, b: float) -> Tensor:
    """Discriminator loss of LSGAN (Mao et al., 2017, eq. 2) with the a-b coding.

    min_D V(D) = 1/2 E_x[(D(x) - b)^2] + 1/2 E_z[(D(G(z)) - a)^2]: real samples are regressed onto the
    target b, fakes onto a. ``real_out`` and ``fake_out`` are the raw (unbounded) outputs of D.
    """
    real_out = check_logits("real_out", real_out)
    fake_out = check_logits("fake_out", fake_out)
    a, b = V.finite_number("a", a), V.finite_number("b", b)
    return 0.5 * ((real_out - b) ** 2).mean() + 0.5 * ((fake_out - a) ** 2).mean()


def g_least_squares(fake_out: Tensor, c: float) -> Tensor:
    """Generator loss of LSGAN (Mao et al., 2017, eq. 2): min_G V(G) = 1/2 E_z[(D(G(z)) - c)^2],
    where c is the value G wants D to believe for fake data."""
    fake_out = check_logits("fake_out", fake_out)
    return 0.5 * ((fake_out - V.finite_number("c", c)) ** 2).mean()


@_register(D_LOSSES, "lsgan")
def d_lsgan(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """LSGAN discriminator loss with the 0-1 coding of Mao et al. (2017), eq. (9): a = 0, b = 1.
    L_D = 1/2 mean((D(x) - 1)^2) + 1/2 mean(D(G(z))^2)."""
    return d_least_squares(real_out, fake_out, a=0.0, b=1.0)


@_register(G_LOSSES, "lsgan")
def g_lsgan(fake_out: Tensor) -> Tensor:
    """LSGAN generator loss with the 0-1 coding of Mao et al. (2017), eq. (9): c = 1.
    L_G = 1/2 mean((D(G(z)) - 1)^2)."""
    return g_least_squares(fake_out, c=1.0)


@_register(D_LOSSES, "lsgan-8")
def d_lsgan8(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """LSGAN discriminator loss with the coding of Mao et al. (2017), eq. (8): a = -1, b = 1.
    It satisfies b - a = 2, a condition of the Pearson chi-square result (their eq. 7)."""
    return d_least_squares(real_out, fake_out, a=-1.0, b=1.0)


@_register(G_LOSSES, "lsgan-8")
def g_lsgan8(fake_out: Tensor) -> Tensor:
    """LSGAN generator loss with the coding of Mao et al. (2017), eq. (8): c = 0, so b - c = 1.
    L_G = 1/2 mean(D(G(z))^2)."""
    return g_least_squares(fake_out, c=0.0)


# ---- Wasserstein and hinge (Arjovsky et al., 2017; Gulrajani et al., 2017; Miyato et al., 2018) -----
# The discriminator is a critic f with a raw, unbounded output: no sigmoid, no log.


@_register(D_LOSSES, "wasserstein")
def d_wasserstein(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """Critic loss of WGAN (Arjovsky et al., 2017, eq. 3 and Algorithm 1).

    The critic maximises E_x[f(x)] - E_z[f(G(z))], the Kantorovich-Rubinstein estimate of W1 when f is
    1-Lipschitz; as a loss to minimise: L_D = mean f(G(z)) - mean f(x). The Lipschitz constraint is not
    in the loss: weight clipping (``TrainConfig.clip``) or a gradient penalty (:func:`gradient_penalty`).
    """
    real_out = check_logits("real_out", real_out)
    fake_out = check_logits("fake_out", fake_out)
    return fake_out.mean() - real_out.mean()


@_register(G_LOSSES, "wasserstein")
def g_wasserstein(fake_out: Tensor) -> Tensor:
    """Generator loss of WGAN: L_G = -E_z[f(G(z))] (Arjovsky et al., 2017, Algorithm 1, line 10)."""
    fake_out = check_logits("fake_out", fake_out)
    return -fake_out.mean()


@_register(D_LOSSES, "hinge")
def d_hinge(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """Hinge discriminator loss (Lim and Ye, 2017; Miyato et al., 2018, eq. 16):

    L_D = E_x[max(0, 1 - D(x))] + E_z[max(0, 1 + D(G(z)))]. Samples beyond the margins (D(x) > 1,
    D(G(z)) < -1) contribute nothing, so D stops pushing on points it already separates.
    """
    real_out = check_logits("real_out", real_out)
    fake_out = check_logits("fake_out", fake_out)
    return F.relu(1.0 - real_out).mean() + F.relu(1.0 + fake_out).mean()


@_register(G_LOSSES, "hinge")
def g_hinge(fake_out: Tensor) -> Tensor:
    """Generator loss paired with the hinge discriminator (Miyato et al., 2018, eq. 17):
    L_G = -E_z[D(G(z))], the same formula as :func:`g_wasserstein`."""
    return g_wasserstein(fake_out)


def gradient_penalty(D, real: Tensor, fake: Tensor, *args, center: float = 1.0, one_sided: bool = False,
                     generator: "torch.Generator | None" = None) -> Tensor:
    """WGAN-GP's penalty (Gulrajani et al., 2017, eq. 3), without its weight lambda:

        E_{x_hat}[(||grad_x_hat D(x_hat)||_2 - center)^2],   x_hat = alpha x + (1 - alpha) G(z),

    with ONE alpha ~ U[0, 1] per sample (broadcast over that sample's features, not drawn per pixel).
    ``one_sided=True`` penalises only norms above ``center``: max(0, ||grad|| - center)^2.
    ``args`` are passed on to D after x_hat (the labels of a conditional critic).
    The result stays in the autograd graph (``create_graph=True``) so that it can be minimised.
    """
    if not callable(D):
        V.fail("D", "the critic (a callable torch.nn.Module)", D, error=TypeError)
    real = V.float_tensor("real", real, "a float tensor batch [N, ...]")
    fake = V.float_tensor("fake", fake, "a float tensor batch [N, ...]")
    for name, t in (("real", real), ("fake", fake)):
        if t.ndim < 2 or t.shape[0] == 0:
            V.fail(name, "a float tensor batch [N, ...] with N >= 1 (one sample per row)", t)
        V.finite_values(name, t)
    if real.shape != fake.shape:
        V.fail("fake", f"the same shape as real {tuple(real.shape)}", fake)
    center = V.finite_number("center", center)
    alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), generator=generator,
                       dtype=real.dtype, device="cpu" if generator is not None else real.device).to(real.device)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = D(x_hat, *args)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        V.fail("D", "a critic whose output depends differentiably on its input", out)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    gap = norms - center
    if one_sided:
        gap = F.relu(gap)
    return (gap ** 2).mean()


# -- the conditional GAN's three-term discriminator loss (chapter 2) -----------------------------
def mismatched_labels(y: Tensor, n_classes: int, generator: Optional[torch.Generator] = None) -> Tensor:
    """A wrong label for every entry of ``y`` [N], uniform over the other ``n_classes - 1`` classes.

    y' = (y + s) mod K with s uniform in {1, ..., K-1}: never equal to y, every wrong class equally likely.
    """
    if V.non_negative_int("n_classes", n_classes) < 2:
        V.fail("n_classes", "at least 2 classes (n_classes >= 2)", n_classes)
    y = V.integer_labels("y", y, n_classes=n_classes)
    shift = torch.randint(1, n_classes, y.shape, generator=generator, device="cpu").to(y.device)
    return (y + shift) % n_classes


def d_conditional_bce(real_logits: Tensor, fake_logits: Tensor, mismatch_logits: Optional[Tensor] = None,
                      mismatch_weight: float = 1.0) -> Tensor:
    """The three-term discriminator loss, as binary cross-entropy on logits.

    L_D = mean softplus(-l(x, y)) + mean softplus(l(G(z, y), y)) + w * mean softplus(l(x, y'))
    (real pair labelled 1; fake pair and real image with a wrong label y' labelled 0). Without
    ``mismatch_logits`` (or with w = 0) it is the two-term loss ``losses.d_bce``.
    """
    real_logits = check_logits("real_logits", real_logits)
    fake_logits = check_logits("fake_logits", fake_logits)
    loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    mismatch_weight = V.finite_number("mismatch_weight", mismatch_weight, low=0.0)
    if mismatch_logits is not None and mismatch_weight:
        loss = loss + mismatch_weight * F.softplus(check_logits("mismatch_logits", mismatch_logits)).mean()
    return loss



def _lookup(table: dict, kind: str, name: str):
    if not isinstance(name, str) or name not in table:
        V.fail("name", f"the name of a {kind} loss, one of {sorted(table)}", repr(name) if isinstance(name, str) else name,
               error=KeyError)
    return table[name]


def d_loss(name: str) -> Callable[[Tensor, Tensor], Tensor]:
    """The discriminator loss registered as ``name`` (see ``D_LOSSES``)."""
    return _lookup(D_LOSSES, "discriminator", name)


def g_loss(name: str) -> Callable[[Tensor], Tensor]:
    """The generator loss registered as ``name`` (see ``G_LOSSES``)."""
    return _lookup(G_LOSSES, "generator", name)
