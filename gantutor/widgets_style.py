"""Chapter 8's sliders: a StyleGAN explorer and a live-run panel, built from ipywidgets 7.7/8 widgets.

The picture is a PNG in an ``Image`` widget, so the saved widget state shows the last picture on a
static web page; in a live kernel every slider redraws it.

    StyleExplorer(G)      # psi, per-level-group psi, two seeds and a crossover level, noise per resolution
    LiveRun(trainer)      # "Train" button: more steps of a StyleGAN2 run, losses and samples redrawn
"""
from __future__ import annotations

from typing import List

import numpy as np
import torch
from matplotlib.figure import Figure

from . import plots
from .models.stylegan import RESOLUTIONS, StyleGenerator, describe_levels, level_resolution


class StyleExplorer:
    """Sliders over a trained :class:`StyleGenerator` (eval mode, no gradients).

    Top row: source A, source B and their mix (levels below the crossover from A, the rest from B).
    Bottom: 16 samples. Every picture uses the global psi times a per-level psi (one slider per group of
    levels, grouped by the highest resolution each level modulates, see
    :func:`~gantutor.models.stylegan.level_layers`; the tooltip lists the layers), and noise only at
    the resolutions ticked (the noise maps are fixed per seed, so toggling shows their effect)."""

    def __init__(self, G: StyleGenerator, seed_a: int = 1, seed_b: int = 2, n_grid: int = 16):
        import ipywidgets as W

        self.G = G.eval()
        self.n_grid = n_grid
        self.psi = W.FloatSlider(value=0.7, min=0.0, max=1.2, step=0.05, description="psi")
        # each level's psi slider is the one of the highest resolution it modulates (models.stylegan.level_layers)
        self.slider_of_level = [RESOLUTIONS.index(level_resolution(i, G.kind)) for i in range(G.num_ws)]
        self.level_psi = []
        for k, r in enumerate(RESOLUTIONS):
            levels = [i for i, s in enumerate(self.slider_of_level) if s == k]
            span = f"w{levels[0]}" + (f"-{levels[-1]}" if len(levels) > 1 else "")
            slider = W.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.1, description=f"psi {span}")
            tip = f"levels {span}: {describe_levels(levels[0], levels[-1] + 1, G.kind)}"
            setattr(slider, "tooltip" if "tooltip" in slider.keys else "description_tooltip", tip)  # 8.x / 7.7
            self.level_psi.append(slider)
        self.seed_a = W.IntSlider(value=seed_a, min=0, max=99, description="seed A")
        self.seed_b = W.IntSlider(value=seed_b, min=0, max=99, description="seed B")
        self.crossover = W.IntSlider(value=4, min=0, max=G.num_ws, description="crossover")
        self.noise = [W.Checkbox(value=True, description=f"noise {r}x{r}", indent=False) for r in RESOLUTIONS]
        self.image = W.Image(format="png")
        for w in [self.psi, self.seed_a, self.seed_b, self.crossover, *self.level_psi, *self.noise]:
            w.observe(lambda _: self.refresh(), names="value")
        self.widget = W.VBox([W.HBox([self.psi, self.seed_a, self.seed_b, self.crossover]),
                              W.HBox(self.level_psi), W.HBox(self.noise), self.image])
        self.refresh()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def psi_per_level(self) -> List[float]:
        return [self.psi.value * self.level_psi[self.slider_of_level[i]].value for i in range(self.G.num_ws)]

    def _noise(self, seed: int, n: int):
        g = torch.Generator().manual_seed(10_000 + seed)
        on = {r for r, box in zip(RESOLUTIONS, self.noise) if box.value}
        return [torch.randn(n, 1, r, r, generator=g) * (r in on) for r in self.G.noise_resolutions]

    @torch.no_grad()
    def images(self):
        """(source A, source B, mix) [3, C, 32, 32] and the grid [n_grid, C, 32, 32] at the current settings."""
        G, psi = self.G, self.psi_per_level()
        z = lambda s, n=1: torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(s))
        za, zb = z(self.seed_a.value), z(self.seed_b.value)
        # the three top images share one set of noise maps, so the mix differs from A and B only by its
        # styles (crossover = num_ws gives source A exactly, crossover = 0 source B)
        top = G.synthesis(torch.cat([G.styles(za, psi), G.styles(zb, psi),
                                     G.styles(za, psi, z2=zb, crossover=self.crossover.value)]),
                          [m.repeat(3, 1, 1, 1) for m in self._noise(0, 1)])
        grid = G.synthesis(G.styles(z(self.seed_a.value + 1000, self.n_grid), psi), self._noise(1, self.n_grid))
        return top, grid

    def refresh(self) -> None:
        top, grid = self.images()
        fig = Figure(figsize=(10, 3.6), layout="constrained")
        axes = fig.subplots(1, 4, width_ratios=[1, 1, 1, 2.2])
        c = self.crossover.value
        names = ["source A", "source B", f"mix: w0-{c - 1} from A" if c > 0 else "mix: all from B"]
        for ax, img, name in zip(axes, top, names):
            plots.sample_grid(img[None].clamp(-1, 1), nrow=1, ax=ax, title=name)
        plots.sample_grid(grid.clamp(-1, 1), nrow=int(np.ceil(np.sqrt(self.n_grid))), ax=axes[3],
                          title=f"psi = {self.psi.value:.2f} x per-resolution psi")
        self.image.value = plots.figure_png(fig)


class LiveRun:
    """A "Train" button that runs ``steps_per_click`` more generator steps of a StyleGAN ``trainer``
    (:class:`gantutor.train.GameTrainer` with a :class:`~gantutor.models.stylegan_game.StyleGANGame`), then
    redraws the losses, the path-length average and 16 samples of the moving average of G."""

    def __init__(self, trainer, steps_per_click: int = 20, seed: int = 0):
        import ipywidgets as W

        self.trainer, self.steps = trainer, steps_per_click
        self.z = torch.randn(16, trainer.game.G.z_dim, generator=torch.Generator().manual_seed(seed))
        self.button = W.Button(description=f"Train {steps_per_click} steps", icon="play")
        self.status, self.image = W.HTML(), W.Image(format="png")
        self.button.on_click(lambda _: self.train())
        self.widget = W.VBox([self.button, self.status, self.image])
        self.refresh()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def train(self, steps: int = None) -> "LiveRun":
        steps = self.steps if steps is None else steps
        # a click trains for a while (seconds to minutes): say so, and ignore clicks until it is done
        self.button.disabled = True
        self.status.value = f"<b>step {self.trainer.step_count}</b>: training {steps} more steps..."
        try:
            self.trainer.run(steps, progress=False)
        finally:
            self.button.disabled = False
            self.refresh()
        return self

    def refresh(self) -> None:
        t, h = self.trainer, self.trainer.history
        fig = Figure(figsize=(12, 3.4), layout="constrained")
        ax_loss, ax_pl, ax_img = fig.subplots(1, 3, width_ratios=[1.2, 1.2, 1])
        if h.step:
            ax_loss.plot(h.step, h.d_loss, "-o", ms=3, label="D loss", color="#0072B2")
            ax_loss.plot(h.step, h.g_loss, "--s", ms=3, label="G loss", color="#D55E00")
            ax_loss.legend()
            ax_pl.plot(h.step, h.pl_mean, "-o", ms=3, color="#009E73", label="a (path-length average)")
            ax_pl.legend()
        ax_loss.set(xlabel="generator step", title="losses")
        ax_pl.set(xlabel="generator step", title="path length")
        plots.sample_grid(t.sample(16, z=self.z).clamp(-1, 1), nrow=4, ax=ax_img, title=f"EMA of G, step {t.step_count}")
        self.image.value = plots.figure_png(fig)
        self.status.value = f"<b>step {t.step_count}</b>" + (
            f", D loss {h.d_loss[-1]:.3f}, G loss {h.g_loss[-1]:.3f}" if h.step else "")
