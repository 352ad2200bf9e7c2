"""Matplotlib figures used across the book.

Every function returns the figure (or draws on a given axis) and never calls ``plt.show``; in a
notebook the figure is shown by returning it or by the inline backend.
"""
from __future__ import annotations

import textwrap
from typing import Callable, Dict, Optional, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch

from . import losses
from . import validate as V

# Okabe and Ito's palette (2008), distinguishable with every common colour-vision deficiency. Importing
# this module makes it matplotlib's default colour cycle ("C0", "C1", ...), each colour with its own
# line style, so that no distinction rests on colour alone.
OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "bluish green": "#009E73", "vermillion": "#D55E00",
             "reddish purple": "#CC79A7", "sky blue": "#56B4E9", "black": "#000000", "yellow": "#F0E442"}
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), (0, (3, 1, 1, 1, 1, 1)))
COLORS = {"data": OKABE_ITO["black"], "gen": OKABE_ITO["bluish green"], "disc": OKABE_ITO["blue"],
          "minimax": OKABE_ITO["vermillion"], "nonsaturating": OKABE_ITO["blue"], "real": OKABE_ITO["orange"],
          "fake": OKABE_ITO["reddish purple"]}


def use_colorblind_palette() -> None:
    """Make :data:`OKABE_ITO` (with :data:`LINESTYLES`) matplotlib's default property cycle, and show
    images as their pixels (nearest-neighbour): a 32 x 32 sample is drawn as 32 x 32 flat squares, not
    smoothed into detail it does not have, and the PNG of an emoji grid is about 3 times smaller than
    with matplotlib's default anti-aliased resampling (measured: 148 KB vs 43 KB for four 4 x 4 grids)."""
    from cycler import cycler

    matplotlib.rcParams["axes.prop_cycle"] = cycler(color=list(OKABE_ITO.values()), linestyle=list(LINESTYLES))
    matplotlib.rcParams["image.interpolation"] = "nearest"


use_colorblind_palette()


def _loss_names(g_losses) -> list:
    """A non-empty list of registered generator-loss names (a single string is refused, not split)."""
    what = f"a list of generator-loss names from {sorted(losses.G_LOSSES)}"
    if isinstance(g_losses, (str, bytes)):
        V.fail("g_losses", what, V.describe(g_losses), f"for one loss write [{g_losses!r}]", error=TypeError)
    if not isinstance(g_losses, (list, tuple)) or not g_losses:
        V.fail("g_losses", what, g_losses, error=TypeError)
    for name in g_losses:
        if name not in losses.G_LOSSES:
            V.fail("g_losses", what, f"{name!r}", error=KeyError)
    return list(g_losses)


def _elementwise(fn: Callable, logits: torch.Tensor):
    """Value and derivative of a batch-mean loss at each logit separately (by autograd)."""
    l = logits.clone().requires_grad_(True)
    vals = torch.stack([fn(l[i:i + 1]) for i in range(len(l))])
    (grad,) = torch.autograd.grad(vals.sum(), l)
    return vals.detach().numpy(), grad.numpy()


# One colour (Okabe-Ito palette, safe for colour-blind readers) AND one line style per generator loss,
# so the curves stay apart in greyscale too.
LOSS_STYLES = {"minimax": dict(color="#D55E00", ls="--"), "nonsaturating": dict(color="#0072B2", ls="-"),
               "lsgan": dict(color="#009E73", ls="-."), "lsgan-8": dict(color="#CC79A7", ls=":")}


def saturation_figure(g_losses: Sequence[str] = ("minimax", "nonsaturating"), lim: float = 8.0,
                      xlabel: Optional[str] = None, probability_row: bool = True):
    """The generator's loss and its gradient, minimax vs non-saturating, computed from
    :mod:`gantutor.losses` by autograd. Top: against the discriminator's logit l on fakes, where the
    minimax loss log(1 - sigmoid(l)) is flat for fakes that D rejects (l -> -inf, gradient -sigmoid(l)
    -> 0). Bottom: against D(G(z)) = sigmoid(l). There the minimax loss is NOT flat (its slope
    -1/(1 - D) tends to -1 at D = 0); what vanishes is the sigmoid's own derivative dD/dl = D (1 - D),
    which the logit gradient carries as a factor. The saturation is a property of the loss as a function
    of the logit, i.e. of the network's parameters, not of D's probability.

    For losses of an unbounded raw output (LSGAN's least squares), pass ``xlabel`` to name the top row's
    x axis (the raw output of D) and ``probability_row=False`` to leave out the bottom row, whose
    sigmoid axis means nothing for them. The defaults draw the original 2 x 2 figure."""
    g_losses = _loss_names(g_losses)
    lim = V.positive_number("lim", lim)
    l = torch.linspace(-lim, lim, 401, dtype=torch.float64)
    d = torch.sigmoid(l).numpy()
    rows = 2 if probability_row else 1
    fig, axes = plt.subplots(rows, 2, figsize=(10, 3.5 * rows), constrained_layout=True, squeeze=False)
    for i, name in enumerate(g_losses):
        val, grad = _elementwise(losses.g_loss(name), l)
        style = dict(LOSS_STYLES.get(name, dict(color=f"C{i}", ls=("-", "--", "-.", ":")[i % 4])), lw=1.8)
        axes[0, 0].plot(l, val, label=name, **style)
        axes[0, 1].plot(l, np.abs(grad), label=name, **style)
        if probability_row:
            axes[1, 0].plot(d, val, label=name, **style)
            # dL/dD = dL/dl * dl/dD, with dD/dl = D (1 - D)
            axes[1, 1].plot(d, np.abs(grad / (d * (1 - d))), label=name, **style)
    axes[0, 0].set(xlabel=xlabel or "discriminator logit on a fake, $l$", ylabel="generator loss",
                   title="loss vs logit" if xlabel is None else "loss vs output")
    axes[0, 1].set(xlabel=xlabel or "$l$", ylabel=r"$|\partial L_G / \partial l|$",
                   title="gradient vs logit (what reaches G)" if xlabel is None else "gradient vs output")
    if probability_row:
        axes[1, 0].set(xlabel="$D(G(z))$", ylabel="generator loss", title="loss vs $D(G(z))$")
        axes[1, 1].set(xlabel="$D(G(z))$", ylabel=r"$|\partial L_G / \partial D|$", yscale="log",
                       title="gradient vs $D(G(z))$: no loss is flat here")
    for ax in axes.flat:
        ax.axvline(0.0 if ax in axes[0] else 0.5, color="grey", lw=0.5)
        ax.legend()
    return fig


def sigmoid_ce_figure(lim: float = 10.0):
    """Sigmoid cross-entropy with target 1, -log sigmoid(l), against the logit l, with its derivative
    sigmoid(l) - 1: both flatten for l > 2 (the saturation that motivates LSGAN)."""
    lim = V.positive_number("lim", lim)
    l = torch.linspace(-lim, lim, 401, dtype=torch.float64)
    val, grad = _elementwise(lambda t: torch.nn.functional.softplus(-t).mean(), l)
    fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
    ax.plot(l, val, color="#0072B2", ls="-", label=r"loss $-\log\sigma(l)$")
    ax.plot(l, grad, color="#D55E00", ls="--", label=r"derivative $\sigma(l) - 1$")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="logit $l$", title="sigmoid cross-entropy, target 1")
    ax.legend()
    return fig


def figure_png(fig) -> bytes:
    """``fig`` as PNG bytes at the figure's own dpi: the picture an ipywidgets Image shows."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def image_grid(images: torch.Tensor, nrow: int = 8) -> np.ndarray:
    """A [H, W] (grey) or [H, W, 3] array tiling images [N, C, H, W] in [-1, 1] (values slightly
    outside are clamped; uint8 pixels and [0, 255] floats are refused with the fix)."""
    from torchvision.utils import make_grid

    images = V.image_batch("images", images, tolerance=9.0)
    if images.shape[1] not in (1, 3):
        V.fail("images", "grey (C = 1) or colour (C = 3) images [N, C, H, W]", images)
    nrow = V.positive_int("nrow", nrow)
    grid = make_grid(images.detach().cpu().float().clamp(-1, 1), nrow=nrow, padding=2, normalize=True,
                     value_range=(-1, 1), pad_value=1.0)
    grid = grid.permute(1, 2, 0).numpy()
    return grid[..., 0] if images.shape[1] == 1 else grid


def sample_grid(images: torch.Tensor, nrow: int = 8, ax=None, title: Optional[str] = None):
    """Show images [N, C, H, W] in [-1, 1] as one grid."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 5), constrained_layout=True)
    ax.imshow(image_grid(images, nrow), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax.figure


def history_figure(history: Dict[str, list], axes=None):
    """Losses (left) and mean D(x), D(G(z)) (right) against the generator step."""
    what = "a trainer's history (trainer.history) or a dict of lists with step, d_loss, g_loss, d_real, d_fake"
    if not isinstance(history, dict) and not callable(getattr(history, "as_dict", None)):
        V.fail("history", what, history, error=TypeError)
    h = history if isinstance(history, dict) else history.as_dict()
    keys = ("step", "d_loss", "g_loss", "d_real", "d_fake")
    missing = [k for k in keys if k not in h]
    if missing or len({len(h[k]) for k in keys}) != 1:
        V.fail("history", what, f"missing {missing}" if missing else
               "lists of unequal lengths " + str({k: len(h[k]) for k in keys}))
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), constrained_layout=True)
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
    _check_ax(ax)
    n = len(V.array_1d("x", x))
    for name, v in (("p_data", p_data), ("p_g", p_g), ("d", d)):
        if v is not None and len(V.array_1d(name, v)) != n:
            V.fail(name, f"{n} values, one per point of x", f"{len(V.array_1d(name, v))}")
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
    V.module("D", D, "a discriminator of 2D points (a torch.nn.Module)")
    lim, n = V.positive_number("lim", lim), V.positive_int("n", n)
    xs = np.linspace(-lim, lim, n, dtype=np.float32)
    gx, gy = np.meshgrid(xs, xs)
    pts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1))
    dev = next(D.parameters()).device
    was_training = D.training
    D.eval()
    prob = torch.sigmoid(D(pts.to(dev))).cpu().numpy().reshape(n, n)
    D.train(was_training)
    return xs, xs, prob


def _check_ax(ax) -> None:
    if not callable(getattr(ax, "plot", None)):
        V.fail("ax", "a matplotlib Axes (e.g. plt.subplots()[1])", ax, error=TypeError)


def _points(name: str, x) -> torch.Tensor:
    x = V.float_tensor(name, x, "a float tensor of 2D points [N, 2]")
    if x.ndim != 2 or x.shape[1] != 2:
        V.fail(name, "a float tensor of 2D points [N, 2]", x)
    return V.finite_values(name, x.detach().cpu())


def scatter_2d(ax, real: torch.Tensor, fake: torch.Tensor, D: Optional[torch.nn.Module] = None,
               lim: float = 1.5, title: Optional[str] = None):
    """Real (orange dots) and generated (purple crosses) 2D points over the discriminator's map D(x) (blue = real)."""
    _check_ax(ax)
    real, fake = _points("real", real), _points("fake", fake)
    lim = V.positive_number("lim", lim)
    if D is not None:
        xs, ys, prob = decision_map(D, lim)
        im = ax.contourf(xs, ys, prob, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.6)
        if not getattr(ax, "_gantutor_cbar", False):
            ax.figure.colorbar(im, ax=ax, label="$D(x)$")
            ax._gantutor_cbar = True
    ax.scatter(real[:, 0], real[:, 1], s=3, marker="o", color=COLORS["real"], label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=6, marker="x", linewidths=0.6, color=COLORS["fake"], label="generated")
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8, markerscale=3)
    return ax


def animate(fig, update: Callable[[int], None], n_frames: int, interval: int = 200, alt: Optional[str] = None):
    """Frames ``update(0) ... update(n_frames - 1)`` of ``fig`` as HTML that plays in a static web page
    without a kernel: an H.264 video with controls (:mod:`gantutor.animation`; without ffmpeg, fewer
    JPEG frames in matplotlib's player). ``interval`` is milliseconds per frame; ``alt`` the text
    alternative (default: described from the figure's titles, labels and legends). Closes ``fig``."""
    from IPython.display import HTML
    from matplotlib import animation as mpl_animation

    from . import animation

    if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 1:
        raise ValueError(f"n_frames: expected a positive integer, got {n_frames!r}")
    try:
        update(0)
        first_titles = [ax.get_title() for ax in fig.axes]
        ffmpeg = animation.ffmpeg_executable()
        if ffmpeg is not None:
            frames = animation.figure_frames(fig, update, range(n_frames))
            mp4 = animation.encode_mp4(frames, 1000.0 / interval, ffmpeg=ffmpeg)
            text = animation.video_html(mp4, alt or animation.describe(fig, n_frames, first_titles), frames[0].shape[1])
        else:
            keep = animation.subsample(n_frames, animation.FALLBACK_FRAMES)
            anim = mpl_animation.FuncAnimation(fig, update, frames=keep, interval=interval * n_frames / len(keep))
            with matplotlib.rc_context({"animation.frame_format": "jpeg", "savefig.dpi": animation.FALLBACK_DPI,
                                        "animation.embed_limit": 40}):
                js = anim.to_jshtml(default_mode="once")
            text = animation.offline_jshtml(js, alt or animation.describe(fig, n_frames, first_titles))
    finally:
        plt.close(fig)
    return HTML(text)


def frames_animation(frames: Sequence[np.ndarray], titles: Optional[Sequence[str]] = None, interval: int = 250,
                     figsize=None, alt: Optional[str] = None):
    """Animate pre-rendered RGB(A) frames (for example the dashboard's recorded pictures) with
    :func:`animate`. With ``figsize=None`` each frame pixel is one pixel of the animation."""
    if not len(frames):
        raise ValueError("frames is empty: record at least one frame before animating")
    h, w = np.asarray(frames[0]).shape[:2]
    top = 0.93 if titles else 1.0
    dpi = 100
    fig = plt.figure(figsize=figsize or (w / dpi, h / dpi / top), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, top))
    ax.set_axis_off()
    im = ax.imshow(frames[0], interpolation="nearest")

    def update(i):
        im.set_data(frames[i])
        if titles:
            ax.set_title(titles[i], fontsize=9)

    return animate(fig, update, len(frames), interval, alt=alt)


def loss_zoo_figure(g_losses: Sequence[str], lim: float = 4.0, labels: Optional[Dict[str, str]] = None):
    """Every generator loss (left) and its derivative (right) against the discriminator's raw output on
    a fake, computed from :mod:`gantutor.losses` by autograd. For the BCE losses the raw output is the
    logit l and D(G(z)) = sigmoid(l) is marked on a second x axis at the top. Losses with identical
    curves (WGAN's and the hinge generator loss) share one line and one legend entry."""
    g_losses = _loss_names(g_losses)
    lim = V.positive_number("lim", lim)
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


def pretrained_caption(record: dict) -> str:
    """One line on a shipped checkpoint's record (:func:`gantutor.pretrain.load`): steps, CPU time and
    the measured scores stored by its recipe."""
    info = record["info"]
    threads = info.get("threads", "?")
    text = (f"{info['steps']:,} generator steps in {info['train_cpu_seconds'] / 60:.1f} min of CPU "
            f"({threads} thread{'s' if threads != 1 else ''}); MNIST-FID {info['fid']:.1f} "
            f"(n = {info['eval_n']:,}; real digits {info['fid_baseline']:.1f})")
    if "accuracy" in info:
        text += f", conditional accuracy {100 * info['accuracy']:.1f}%"
    return text


def pretrained_panel(name: str, n: int = 64, seed: int = 0):
    """``n`` samples of the shipped checkpoint ``name`` (for example ``"dcgan-mnist"``) from fixed noise
    (``seed``), titled with the recipe's name and captioned with :func:`pretrained_caption`. A
    conditional generator draws digit ``i % 10`` in column i of each row."""
    from . import pretrain

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive integer, got {n!r}")
    G, record = pretrain.load(name)
    z = torch.randn(n, G.latent_dim, generator=torch.Generator().manual_seed(seed))
    n_classes = getattr(G, "n_classes", 0)
    with torch.no_grad():
        images = G(z, torch.arange(n) % n_classes) if n_classes else G(z)
    nrow = n_classes or int(np.ceil(np.sqrt(n)))
    fig, ax = plt.subplots(figsize=(5.5, 5.5 * np.ceil(n / nrow) / nrow + 0.9), constrained_layout=True)
    sample_grid(images, nrow=nrow, ax=ax, title=f"shipped checkpoint {name!r}" +
                (": column d = digit d" if n_classes else ""))
    fig.supxlabel(textwrap.fill(pretrained_caption(record), 72), fontsize=8)
    return fig
