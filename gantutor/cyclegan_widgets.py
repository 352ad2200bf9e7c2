"""Chapter 9's widgets (ipywidgets 7.7 and 8): a CycleGAN training dashboard and an explorer of the
information a generator hides in its translation. Each draws a PNG into an ``Image`` widget, so the
saved widget state shows the last picture on a static page. They only call the rest of the package.

    CycleDashboard(trainer, x, y)          # Step: train further; both directions and both cycles
    HiddenSignalExplorer(pair, x, names)   # pick an emoji; x, G(x), amplified hidden signal, F(G(x)); noise
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as Fn
from matplotlib.figure import Figure

from . import plots
from .train.schedules import lr_factor

Tensor = torch.Tensor


def _rgb(img: Tensor) -> np.ndarray:
    """[C, H, W] in [-1, 1] to an [H, W, 3] array in [0, 1] for imshow."""
    a = ((img.detach().float().cpu().clamp(-1, 1) + 1) / 2)
    a = a.expand(3, *a.shape[1:]) if a.shape[0] == 1 else a
    return a.permute(1, 2, 0).numpy()


def high_frequencies(images: Tensor) -> Tensor:
    """Each image minus its 3 x 3 box blur (reflection-padded): the fine detail where a generator can
    hide a low-amplitude signal (Chu et al., 2017, amplify a difference image to make it visible)."""
    c = images.shape[1]
    kernel = torch.full((c, 1, 3, 3), 1 / 9, dtype=images.dtype)
    return images - Fn.conv2d(Fn.pad(images, (1, 1, 1, 1), mode="reflect"), kernel, groups=c)


def with_noise(images: Tensor, grey_levels: float, seed: int = 0) -> Tensor:
    """``images`` in [-1, 1] plus Gaussian noise with a standard deviation of ``grey_levels`` of 255."""
    g = torch.Generator().manual_seed(seed)
    return images + torch.randn(images.shape, generator=g) * (2 * grey_levels / 255)


class CycleDashboard:
    """Step trains ``steps_per_update`` more generator steps; the picture shows x, G(x), F(G(x)) and
    y, F(y), G(F(y)) for fixed images, and the losses so far. Training stops where the trainer's decay
    schedule ends (``config.steps``, where the learning rate reaches its final value, 0 for CycleGAN):
    Step then trains no further and is disabled; the status line shows the step, the planned steps and
    the learning rate of the next step."""

    def __init__(self, trainer, x: Tensor, y: Tensor, steps_per_update: int = 20):
        import ipywidgets as W

        self.trainer, self.x, self.y, self.steps_per_update = trainer, x, y, steps_per_update
        self.step_btn = W.Button(description=f"Step ({steps_per_update})", icon="step-forward")
        self.step_btn.on_click(lambda _: self.run(self.steps_per_update))
        self.status, self.image = W.HTML(), W.Image(format="png")
        self.widget = W.VBox([self.step_btn, self.status, self.image])
        self.refresh()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    @torch.no_grad()
    def refresh(self) -> None:
        pair = self.trainer.game.generator
        was = pair.training
        pair.eval()
        gx, fy = pair.G(self.x), pair.F(self.y)
        rows = [(self.x, gx, pair.F(gx), ("x (Google)", "G(x)", "F(G(x))")),
                (self.y, fy, pair.G(fy), ("y (Twitter)", "F(y)", "G(F(y))"))]
        pair.train(was)
        n = len(self.x)
        fig = Figure(figsize=(13, 4.2), layout="constrained")
        grid = fig.add_gridspec(2, 3 * n + 4)
        for r, (a, b, c, titles) in enumerate(rows):
            for j in range(n):
                for k, (img, title) in enumerate(zip((a, b, c), titles)):
                    ax = fig.add_subplot(grid[r, 3 * j + k])
                    ax.imshow(_rgb(img[j]))
                    ax.set_axis_off()
                    if j == 0:
                        ax.set_title(title, fontsize=8)
        ax = fig.add_subplot(grid[:, 3 * n:])
        h = self.trainer.history
        if h.step:   # markers: a run logged only a few times still shows its points
            ax.plot(h.step, np.add(h.adv_G, h.adv_F), "-o", ms=3, label="adversarial (G and F)")
            ax.plot(h.step, np.add(h.cyc_X, h.cyc_Y), "--s", ms=3, label="lambda x cycle")
            ax.plot(h.step, np.add(h.idt_X, h.idt_Y), ":^", ms=3, label="identity")
            ax.plot(h.step, h.d_loss, "-.v", ms=3, label="D_X + D_Y")
            ax.legend(fontsize=7)
        ax.set(xlabel="generator step", title="losses")
        self.image.value = plots.figure_png(fig)
        tail = f", G loss {h.g_loss[-1]:.3f}, D loss {h.d_loss[-1]:.3f}" if h.step else ""
        left, cfg = self.remaining(), self.trainer.config
        if left is None:
            plan = ""
        elif left > 0:
            lr = self.trainer.base_lr[0] * lr_factor(self.trainer.step_count, cfg.steps, cfg.lr_final,
                                                      cfg.lr_schedule, cfg.lr_decay_start)
            plan = f" of {cfg.steps} planned (next step's learning rate {lr:.2g})"
        else:
            plan = f" of {cfg.steps} planned: the schedule is done, its learning rate has reached {cfg.lr_final:g}"
        self.step_btn.disabled = left == 0
        self.status.value = f"<b>step {self.trainer.step_count}</b>{plan}{tail}"

    def remaining(self) -> Optional[int]:
        """Steps left before the trainer's learning-rate schedule ends (None: a constant rate, no end)."""
        cfg = self.trainer.config
        if cfg.lr_final == 1.0:
            return None
        return max(cfg.steps - self.trainer.step_count, 0)

    def run(self, steps: int) -> "CycleDashboard":
        """Train ``steps`` more generator steps, or as many as the schedule has left; then redraw."""
        left = self.remaining()
        steps = steps if left is None else min(steps, left)
        if steps > 0:
            self.trainer.run(steps, progress=False)
        self.refresh()
        return self


class HiddenSignalExplorer:
    """Pick an emoji of ``x`` [N, 3, H, W]: x, G(x), G(x)'s high frequencies times ``gain``, F(G(x)), and
    F(G(x) + noise) for the noise slider's standard deviation in grey levels; ``twins`` (optional) adds
    the true counterpart of each x."""

    def __init__(self, pair, x: Tensor, names: Optional[Sequence[str]] = None, twins: Optional[Tensor] = None,
                 index: int = 0, noise: float = 4.0, gain: float = 10.0):
        import ipywidgets as W

        self.pair, self.x, self.names, self.twins = pair.eval(), x, names, twins
        self.pick = W.IntSlider(value=index, min=0, max=len(x) - 1, description="emoji")
        # a label this long is cut to "noise (gre..." at the default label width (ipywidgets 7.7 and 8)
        self.noise = W.FloatSlider(value=noise, min=0, max=16, step=0.5, description="noise (grey levels)",
                                   style={"description_width": "initial"})
        self.gain = W.FloatSlider(value=gain, min=1, max=50, step=1, description="gain")
        for w in (self.pick, self.noise, self.gain):
            w.observe(lambda _: self.refresh(), names="value")
        self.status, self.image = W.HTML(), W.Image(format="png")
        self.widget = W.VBox([W.HBox([self.pick, self.noise, self.gain]), self.status, self.image])
        self.refresh()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    @torch.no_grad()
    def refresh(self) -> None:
        i, sigma = int(self.pick.value), float(self.noise.value)
        x = self.x[i:i + 1]
        gx = self.pair.G(x)
        noisy = with_noise(gx, sigma, seed=i)
        rec, rec_noisy = self.pair.F(gx), self.pair.F(noisy)
        signal = 0.5 + float(self.gain.value) * high_frequencies(gx)[0] / 2
        panels = [(_rgb(x[0]), "x"), (_rgb(gx[0]), "G(x)"),
                  (signal.clamp(0, 1).permute(1, 2, 0).numpy(), f"high freq. of G(x) x {self.gain.value:g}"),
                  (_rgb(rec[0]), "F(G(x))"), (_rgb(rec_noisy[0]), f"F(G(x) + noise {sigma:g})")]
        if self.twins is not None:
            panels.append((_rgb(self.twins[i]), "true twin"))
        fig = Figure(figsize=(2.1 * len(panels), 2.5), layout="constrained")
        for ax, (img, title) in zip(fig.subplots(1, len(panels)), panels):
            ax.imshow(img)
            ax.set_title(title, fontsize=8)
            ax.set_axis_off()
        self.image.value = plots.figure_png(fig)
        name = f"{self.names[i]}: " if self.names is not None else ""
        self.status.value = (f"{name}|F(G(x)) - x| = {float((rec - x).abs().mean()):.3f}, "
                             f"with noise {float((rec_noisy - x).abs().mean()):.3f} (mean over pixels, [-1, 1] units)")
