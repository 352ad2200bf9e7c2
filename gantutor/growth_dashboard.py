"""The live dashboard of a growing GAN (chapter 7): :class:`gantutor.widgets.Dashboard`'s buttons and
learning-rate sliders, with a picture that shows what growing is about: the losses with the stage
boundaries, the resolution and the fade-in weight alpha, and one sample grid per resolution reached
(the last one live, the earlier ones as they were when their stage ended).

    dash = GrowthDashboard(trainer)     # trainer = GameTrainer(ProGANGame(...), config)
    dash.run(steps)                     # or Start / Pause / Step in a notebook
"""
from __future__ import annotations

import io
import threading
import time
from typing import Dict, List, Optional

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from . import plots
from .train import GameTrainer, TrainingDiverged
from .widgets import Dashboard


class GrowthDashboard(Dashboard):
    """A :class:`Dashboard` for a :class:`gantutor.models.ProGANGame`. ``train_cpu`` counts the process
    CPU seconds spent inside training (not drawing)."""

    def __init__(self, trainer: GameTrainer, steps_per_update: int = 50, max_steps: int = 20_000,
                 n_show: int = 16, record_every: int = 1, seed: int = 0):
        import ipywidgets as W

        if steps_per_update < 1:
            raise ValueError(f"steps_per_update must be a positive integer, got {steps_per_update}")
        self.trainer, self.game = trainer, trainer.game
        self.steps_per_update, self.max_steps, self.record_every = steps_per_update, max_steps, record_every
        self.fixed_z = torch.randn(n_show, self.game.latent_dim, generator=torch.Generator().manual_seed(seed))
        self.frames: List[np.ndarray] = []
        self.frame_titles: List[str] = []
        self.stage_grids: Dict[int, torch.Tensor] = {}
        self.train_cpu = 0.0
        self._updates = 0
        self._stop, self._thread, self._lock = threading.Event(), None, threading.Lock()
        cfg = trainer.config
        self.start_btn = W.Button(description="Start", button_style="success", icon="play")
        self.pause_btn = W.Button(description="Pause", icon="pause")
        self.step_btn = W.Button(description=f"Step ({steps_per_update})", icon="step-forward")
        self.lr_g = W.FloatLogSlider(value=cfg.lr_g, base=10, min=-5, max=-1, step=0.1, description="lr G")
        self.lr_d = W.FloatLogSlider(value=cfg.lr_d, base=10, min=-5, max=-1, step=0.1, description="lr D")
        self.status, self.image = W.HTML(), W.Image(format="png")
        self.start_btn.on_click(lambda _: self.start())
        self.pause_btn.on_click(lambda _: self.pause())
        self.step_btn.on_click(lambda _: self.step())
        self.k = None
        controls = W.VBox([W.HBox([self.start_btn, self.pause_btn, self.step_btn]), W.HBox([self.lr_g, self.lr_d])])
        self.widget = W.VBox([controls, self.status, self.image])
        trainer.callbacks.append(self._keep_stage_end)
        self.refresh()

    def _keep_stage_end(self, t: GameTrainer) -> None:
        """At the last logged step of a stage, keep its sample grid (stage ends must be logged steps)."""
        if self.game.schedule(t.step_count)[0] != self.game.stage:
            self.stage_grids[self.game.stage] = t.sample(len(self.fixed_z), z=self.fixed_z)

    def _apply_controls(self) -> None:
        self.trainer.set_lr(self.lr_g.value, self.lr_d.value)

    def _chunk(self, steps: int) -> bool:
        """Train ``steps`` steps and redraw; False (with a message) if training diverged. Start runs this in
        a thread, where an uncaught exception would end training silently, so divergence is reported here."""
        start = time.process_time()
        with self._lock:
            self._apply_controls()
            try:
                self.trainer.run(steps, progress=False)
            except TrainingDiverged as exc:
                self.status.value = f"<b style='color:#b00'>Stopped:</b> {exc}"
                return False
            finally:
                self.train_cpu += time.process_time() - start
        with self._lock:
            self._updates += 1
            self.refresh(record=self._updates % self.record_every == 0)
        return True

    def _figure(self) -> Figure:
        t, game = self.trainer, self.game
        h = t.history.as_dict()
        fig = Figure(figsize=(13, 4.2), layout="constrained")
        n = game.G.n_stages
        grid = fig.add_gridspec(2, 2 + n, width_ratios=[2.2, 2.2] + [1] * n, height_ratios=[1, 1])
        ax_loss, ax_alpha = fig.add_subplot(grid[:, 0]), fig.add_subplot(grid[:, 1])
        steps = np.asarray(h["step"])
        if len(steps):
            ax_loss.plot(steps, h["d_loss"], color=plots.COLORS["disc"], label="D loss")
            ax_loss.plot(steps, h["g_loss"], color=plots.COLORS["gen"], ls="--", label="G loss")
            ax_alpha.plot(steps, h["alpha"], color="black", label=r"fade-in $\alpha$")
            ax_res = ax_alpha.twinx()
            ax_res.step(steps, h["resolution"], where="post", color=plots.COLORS["fake"], ls=":", label="resolution")
            ax_res.set(ylabel="resolution (pixels)", yscale="log", yticks=[4, 8, 16, 32], yticklabels=["4", "8", "16", "32"],
                       ylim=(3, 40))
            ax_res.minorticks_off()
            for s in np.flatnonzero(np.diff(np.asarray(h["stage"]))):
                ax_loss.axvline(steps[s + 1], color="grey", lw=0.6, ls=":")
            ax_loss.legend(fontsize=8)
            ax_alpha.legend(loc="lower right", fontsize=8)
            ax_res.legend(loc="center right", fontsize=8)
        ax_loss.set(xlabel="generator step", title="losses (dotted: a new stage)")
        ax_alpha.set(xlabel="generator step", ylim=(-0.05, 1.05), title=r"resolution and $\alpha$")
        self.stage_grids[game.stage] = t.sample(len(self.fixed_z), z=self.fixed_z)
        for s in range(n):
            ax = fig.add_subplot(grid[:, 2 + s])
            side = 4 * 2 ** s
            if s in self.stage_grids:
                live = s == game.stage
                title = f"{side}x{side}" + (f"\nnow, alpha {game.alpha:.2f}" if live else "\nend of stage")
                plots.sample_grid(self.stage_grids[s], nrow=4, ax=ax, title=title)
            else:
                ax.set_axis_off()
                ax.set_title(f"{side}x{side}\n(not yet)")
        return fig

    def refresh(self, record: bool = False) -> None:
        with matplotlib.rc_context({"figure.dpi": 80}):
            fig = self._figure()
        png = plots.figure_png(fig)
        self.image.value = png
        game = self.game
        title = f"step {self.trainer.step_count}: {4 * 2 ** game.stage}x{4 * 2 ** game.stage}, alpha {game.alpha:.2f}"
        if record:
            self.frames.append(plt.imread(io.BytesIO(png)))
            self.frame_titles.append(title)
        h = self.trainer.history
        tail = f", D loss {h.d_loss[-1]:.3f}, G loss {h.g_loss[-1]:.3f}" if h.step else ""
        self.status.value = f"<b>{title}</b>{tail}"

    def animation(self, interval: int = 400):
        return plots.frames_animation(self.frames, self.frame_titles, interval=interval, figsize=(13, 4.2))
