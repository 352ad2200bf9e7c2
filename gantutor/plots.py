"""Matplotlib figures used across the book.

Every function returns the figure (or draws on a given axis) and never calls ``plt.show``; in a
notebook the figure is shown by returning it or by the inline backend.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch

from . import losses

COLORS = {"data": "black", "gen": "tab:green", "disc": "tab:blue", "minimax": "tab:red",
          "nonsaturating": "tab:blue", "real": "tab:orange", "fake": "tab:purple"}


def _elementwise(fn: Callable, logits: torch.Tensor):
    """Value and derivative of a batch-mean loss at each logit separately (by autograd)."""
    l = logits.clone().requires_grad_(True)
    vals = torch.stack([fn(l[i:i + 1]) for i in range(len(l))])
    (grad,) = torch.autograd.grad(vals.sum(), l)
    return vals.detach().numpy(), grad.numpy()


def saturation_figure(g_losses: Sequence[str] = ("minimax", "nonsaturating"), lim: float = 8.0,
                      xlabel: Optional[str] = None, probability_row: bool = True):
    """The generator's loss and its gradient, minimax vs non-saturating, computed from
    :mod:`gantutor.losses` by autograd. Top: against the discriminator's logit l on fakes. Bottom:
    against D(G(z)) = sigmoid(l), the probability that D calls a fake real. Fakes that D rejects sit on
    the left of each panel, where the minimax loss is flat.

    For losses of an unbounded raw output (LSGAN's least squares), pass ``xlabel`` to name the top row's
    x axis (the raw output of D) and ``probability_row=False`` to leave out the bottom row, whose
    sigmoid axis means nothing for them. The defaults draw the original 2 x 2 figure."""
    l = torch.linspace(-lim, lim, 401, dtype=torch.float64)
    d = torch.sigmoid(l).numpy()
    rows = 2 if probability_row else 1
    fig, axes = plt.subplots(rows, 2, figsize=(10, 3.5 * rows), constrained_layout=True, squeeze=False)
    extra_colors = {"lsgan": "tab:green", "lsgan-8": "tab:olive"}
    for name in g_losses:
        val, grad = _elementwise(losses.g_loss(name), l)
        c = COLORS.get(name, extra_colors.get(name))
        axes[0, 0].plot(l, val, color=c, label=name)
        axes[0, 1].plot(l, np.abs(grad), color=c, label=name)
        if probability_row:
            axes[1, 0].plot(d, val, color=c, label=name)
            # dL/dD = dL/dl * dl/dD, with dD/dl = D (1 - D)
            axes[1, 1].plot(d, np.abs(grad / (d * (1 - d))), color=c, label=name)
    axes[0, 0].set(xlabel=xlabel or "discriminator logit on a fake, $l$", ylabel="generator loss",
                   title="loss vs logit" if xlabel is None else "loss vs output")
    axes[0, 1].set(xlabel=xlabel or "$l$", ylabel=r"$|\partial L_G / \partial l|$",
                   title="gradient vs logit" if xlabel is None else "gradient vs output")
    if probability_row:
        axes[1, 0].set(xlabel="$D(G(z))$", ylabel="generator loss", title="loss vs $D(G(z))$")
        axes[1, 1].set(xlabel="$D(G(z))$", ylabel=r"$|\partial L_G / \partial D|$", yscale="log",
                       title="gradient vs $D(G(z))$")
    for ax in axes.flat:
        ax.axvline(0.0 if ax in axes[0] else 0.5, color="grey", lw=0.5)
        ax.legend()
    return fig


def sigmoid_ce_figure(lim: float = 10.0):
    """Sigmoid cross-entropy with target 1, -log sigmoid(x), against the logit x, with its gradient:
    both flatten for x > 2 (the saturation that motivates LSGAN)."""
    l = torch.linspace(-lim, lim, 401, dtype=torch.float64)
    val, grad = _elementwise(lambda t: torch.nn.functional.softplus(-t).mean(), l)
    fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
    ax.plot(l, val, label=r"loss $-\log\sigma(x)$")
    ax.plot(l, grad, "--", label=r"gradient $\sigma(x) - 1$")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="logit $x$", title="sigmoid cross-entropy, target 1")
    ax.legend()
    return fig


def image_grid(images: torch.Tensor, nrow: int = 8) -> np.ndarray:
    """A [H, W] (grey) or [H, W, 3] array tiling images [N, C, H, W] in [-1, 1]."""
    from torchvision.utils import make_grid

    if images.ndim != 4:
        raise ValueError(f"images must have shape [N, C, H, W], got {tuple(images.shape)}")
    grid = make_grid(images.detach().cpu().float().clamp(-1, 1), nrow=nrow, padding=2, normalize=True,
                     value_range=(-1, 1), pad_value=1.0)
    grid = grid.permute(1, 2, 0).numpy()
    return grid[..., 0] if images.shape[1] == 1 else grid


def sample_grid(images: torch.Tensor, nrow: int = 8, ax=None, title: Optional[str] = None):
    """Show images [N, C, H, W] in [-1, 1] as one grid."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 5), constrained_layout=True)
    ax.imshow(image_grid(images, nrow), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax.figure


def history_figure(history: Dict[str, list], axes=None):
    """Losses (left) and mean D(x), D(G(z)) (right) against the generator step."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), constrained_layout=True)
    h = history if isinstance(history, dict) else history.as_dict()
    axes[0].plot(h["step"], h["d_loss"], label="discriminator loss")
    axes[0].plot(h["step"], h["g_loss"], label="generator loss")
    axes[0].set(xlabel="generator step", title="losses")
    axes[1].plot(h["step"], h["d_real"], color=COLORS["real"], label="mean $D(x)$, real")
    axes[1].plot(h["step"], h["d_fake"], color=COLORS["fake"], label="mean $D(G(z))$, fake")
    axes[1].axhline(0.5, color="grey", lw=0.5, ls="--")
    axes[1].set(xlabel="generator step", ylim=(0, 1), title="discriminator outputs")
    for ax in axes:
        ax.legend(loc="best", fontsize=8)
    return axes[0].figure


def density_1d(ax, x, p_data, p_g=None, d=None, title: Optional[str] = None):
    """Goodfellow et al. (2014), figure 1: data density (black, dotted), generator density (green,
    solid) and the discriminator D(x) (blue, dashed) on a shared x axis."""
    ax.plot(x, p_data, ":", color=COLORS["data"], lw=2, label="$p_{data}$")
    if p_g is not None:
        ax.plot(x, p_g, "-", color=COLORS["gen"], label="$p_g$")
    if d is not None:
        ax.plot(x, d, "--", color=COLORS["disc"], label="$D(x)$")
    ax.set(xlabel="x")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return ax


@torch.no_grad()
def decision_map(D: torch.nn.Module, lim: float, n: int = 120):
    """sigmoid(D) on an n x n grid over [-lim, lim]^2: returns (xs, ys, probabilities)."""
    xs = np.linspace(-lim, lim, n, dtype=np.float32)
    gx, gy = np.meshgrid(xs, xs)
    pts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1))
    dev = next(D.parameters()).device
    was_training = D.training
    D.eval()
    prob = torch.sigmoid(D(pts.to(dev))).cpu().numpy().reshape(n, n)
    D.train(was_training)
    return xs, xs, prob


def scatter_2d(ax, real: torch.Tensor, fake: torch.Tensor, D: Optional[torch.nn.Module] = None,
               lim: float = 1.5, title: Optional[str] = None):
    """Real (orange) and generated (purple) 2D points over the discriminator's map D(x) (blue = real)."""
    if D is not None:
        xs, ys, prob = decision_map(D, lim)
        im = ax.contourf(xs, ys, prob, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.6)
        if not getattr(ax, "_gantutor_cbar", False):
            ax.figure.colorbar(im, ax=ax, label="$D(x)$")
            ax._gantutor_cbar = True
    ax.scatter(real[:, 0], real[:, 1], s=3, color=COLORS["real"], label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=3, color=COLORS["fake"], label="generated")
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8, markerscale=3)
    return ax


def animate(fig, update: Callable[[int], None], n_frames: int, interval: int = 200):
    """A matplotlib animation as HTML with play controls (jshtml), which plays in a static web page
    without a kernel. ``update(i)`` redraws frame i on ``fig``. The figure is closed afterwards."""
    from IPython.display import HTML
    from matplotlib import animation

    matplotlib.rcParams["animation.embed_limit"] = 40  # MB
    anim = animation.FuncAnimation(fig, update, frames=n_frames, interval=interval)
    html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    return HTML(html)


def frames_animation(frames: Sequence[np.ndarray], titles: Optional[Sequence[str]] = None, interval: int = 250,
                     figsize=(9, 3.2)):
    """Animate a list of pre-rendered RGB frames (for example the dashboard's recorded states)."""
    if not frames:
        raise ValueError("frames is empty: record at least one frame before animating")
    fig, ax = plt.subplots(figsize=figsize)
    fig.subplots_adjust(0, 0, 1, 0.93 if titles else 1)
    ax.set_axis_off()
    im = ax.imshow(frames[0])

    def update(i):
        im.set_data(frames[i])
        if titles:
            ax.set_title(titles[i], fontsize=9)

    return animate(fig, update, len(frames), interval)


def loss_zoo_figure(g_losses: Sequence[str], lim: float = 4.0, labels: Optional[Dict[str, str]] = None):
    """Every generator loss (left) and its derivative (right) against the discriminator's raw output on
    a fake, computed from :mod:`gantutor.losses` by autograd. For the BCE losses the raw output is the
    logit l and D(G(z)) = sigmoid(l) is marked on a second x axis at the top. Losses with identical
    curves (WGAN's and the hinge generator loss) share one line and one legend entry."""
    l = torch.linspace(-lim, lim, 401, dtype=torch.float64)
    curves: Dict[str, tuple] = {}
    for name in g_losses:
        val, grad = _elementwise(losses.g_loss(name), l)
        label = (labels or {}).get(name, name)
        same = [k for k, (v, _) in curves.items() if np.allclose(v, val)]
        if same:
            curves[f"{same[0]} = {label}"] = curves.pop(same[0])
        else:
            curves[label] = (val, grad)
    fig, axes = plt.subplots(2, 1, figsize=(8, 8), constrained_layout=True, sharex=True)
    for i, (label, (val, grad)) in enumerate(curves.items()):
        style = dict(color=f"C{i}", lw=1.8, ls=("-", "--", "-.", ":")[i % 4])
        axes[0].plot(l, val, label=label, **style)
        axes[1].plot(l, grad, label=label, **style)
    axes[0].set(ylabel="generator loss $L_G$", title="generator loss", ylim=(-lim - 1, lim + 3))
    axes[1].set(xlabel="raw output of D on a fake (logit $l$ for BCE)",
                ylabel=r"$\partial L_G / \partial (\mathrm{output})$", title="its gradient", ylim=(-lim - 1, 2))
    for ax in axes:
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        top = ax.secondary_xaxis("top", functions=(lambda x: 1 / (1 + np.exp(-x)),
                                                   lambda p: np.log(np.clip(p, 1e-9, 1 - 1e-9) / (1 - np.clip(p, 1e-9, 1 - 1e-9)))))
        top.set_xticks([0.02, 0.1, 0.5, 0.9, 0.98])
        top.set_xlabel(r"$D(G(z)) = \sigma(l)$ (BCE losses only)", fontsize=8)
    axes[0].legend(fontsize=9, loc="upper center", ncol=2)
    return fig
