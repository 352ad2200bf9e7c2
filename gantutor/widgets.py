"""A live training dashboard in the spirit of GAN Lab, built from ipywidgets.

It only calls the rest of the package: :class:`~gantutor.train.Trainer` trains, :mod:`gantutor.plots`
draws. Works with ipywidgets 7.7 (Colab) and 8 (JupyterLab): it uses only widgets and traits common to
both. The picture is a PNG in an ``Image`` widget, so the saved widget state shows the last picture on
a static web page; :meth:`Dashboard.animation` replays the recorded pictures without a kernel.

    dash = Dashboard(trainer, mixture=ring8())
    dash               # Start / Pause / Step, learning rates, k, generator loss
    dash.run(2000)     # or train from code (blocking), updating the same picture
"""
from __future__ import annotations

import io
import math
import threading
from typing import List, Optional

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
import torch

from . import losses, plots
from . import validate as V
from .train import Trainer, TrainingDiverged


class Dashboard:
    """Start, Pause and Step buttons; live loss curves, mean D(x) and D(G(z)); a sample grid (images)
    or a real/fake scatter over D's decision map (2D data); learning rates, k and the generator loss.

    ``steps_per_update`` generator steps run between redraws; every ``record_every`` redraws a frame is
    recorded for :meth:`animation`. ``max_steps`` stops Start (it does not limit :meth:`run`).
    """

    def __init__(self, trainer: Trainer, mixture=None, steps_per_update: int = 50, max_steps: int = 5000,
                 n_show: int = 64, lim: Optional[float] = None, record_every: int = 1, seed: int = 0):
        import ipywidgets as W

        from .train import GameTrainer

        if not isinstance(trainer, GameTrainer) or not hasattr(trainer, "sampler"):
            V.fail("trainer", "a gantutor.train.Trainer (G, D and a sampler)", trainer, error=TypeError)
        V.positive_int("steps_per_update", steps_per_update)
        V.non_negative_int("max_steps", max_steps)
        V.positive_int("n_show", n_show)
        V.positive_int("record_every", record_every)
        V.integer("seed", seed)
        if lim is not None:
            V.positive_number("lim", lim)
        self.trainer, self.mixture = trainer, mixture
        self.steps_per_update, self.max_steps, self.record_every = steps_per_update, max_steps, record_every
        self.is_2d = len(trainer.sampler.shape) == 1 and trainer.sampler.shape[0] == 2
        gen = torch.Generator().manual_seed(seed)
        self.fixed_z = torch.randn(n_show if not self.is_2d else 512, trainer.latent_dim, generator=gen)
        self.fixed_y = (torch.arange(len(self.fixed_z)) % trainer.n_classes) if trainer.n_classes else None
        self.real = trainer.sampler.sample(512, generator=gen)[0].cpu() if self.is_2d else None
        if lim is None and self.is_2d:
            lim = float(self.real.abs().max()) * 1.3
        self.lim = lim
        self.frames: List[np.ndarray] = []
        self.frame_titles: List[str] = []
        self._updates = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

        cfg = trainer.config
        self.start_btn = W.Button(description="Start", button_style="success", icon="play")
        self.pause_btn = W.Button(description="Pause", icon="pause")
        self.step_btn = W.Button(description=f"Step ({steps_per_update})", icon="step-forward")
        # The sliders' ranges include the trainer's own settings: a slider that clamped lr 1.0 to 0.1
        # would change the run without saying so.
        lrs = [float(v) for v in trainer.base_lr]
        lo, hi = min(-5, math.floor(math.log10(min(lrs)))), max(-1, math.ceil(math.log10(max(lrs))))
        # The sliders set the STARTING rates (Trainer.set_lr); the configured decay still scales them, and
        # past the schedule's end a run keeps its final factor, so the label says "start".
        wide = {"description_width": "initial"}
        self.lr_g = W.FloatLogSlider(value=lrs[0], base=10, min=lo, max=hi, step=0.1, description="lr G (start)",
                                     style=wide)
        self.lr_d = W.FloatLogSlider(value=lrs[1], base=10, min=lo, max=hi, step=0.1, description="lr D (start)",
                                     style=wide)
        self.k = W.IntSlider(value=cfg.k, min=1, max=max(10, cfg.k), description="k (D steps)")
        self.g_loss = W.Dropdown(options=sorted(losses.G_LOSSES), value=cfg.g_loss, description="G loss")
        self.status = W.HTML()
        self.image = W.Image(format="png")
        self.start_btn.on_click(lambda _: self.start())
        self.pause_btn.on_click(lambda _: self.pause())
        self.step_btn.on_click(lambda _: self.step())
        controls = W.VBox([W.HBox([self.start_btn, self.pause_btn, self.step_btn]),
                           W.HBox([self.lr_g, self.lr_d]), W.HBox([self.k, self.g_loss])])
        self.widget = W.VBox([controls, self.status, self.image])
        self.refresh()

    # -- display ----------------------------------------------------------------------------------
    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def _figure(self):
        t = self.trainer
        # A bare Figure, not pyplot: the Start button draws from a background thread, and pyplot's
        # global state is neither thread-safe nor wanted (the inline backend would show the figure).
        fig = Figure(figsize=(13, 3.8), layout="constrained")
        axes = fig.subplots(1, 3)
        if t.history.step:
            plots.history_figure(t.history, axes=axes[:2])
        else:
            for ax, title in zip(axes[:2], ("losses", "discriminator outputs")):
                ax.set(title=title, xlabel="generator step")
        fake = t.sample(len(self.fixed_z), y=self.fixed_y, z=self.fixed_z)
        if self.is_2d:
            plots.scatter_2d(axes[2], self.real, fake, D=t.D, lim=self.lim, title=f"step {t.step_count}")
        else:
            plots.sample_grid(fake, nrow=int(np.sqrt(len(fake))), ax=axes[2], title=f"samples, step {t.step_count}")
        return fig

    def refresh(self, record: bool = False) -> None:
        """Redraw the picture (and record it as an animation frame when ``record``)."""
        with matplotlib.rc_context({"figure.dpi": 80}):
            fig = self._figure()
        png = plots.figure_png(fig)
        self.image.value = png
        if "tooltip" in self.image.trait_names():  # ipywidgets 8: the picture's title, its text alternative
            shows = "real and generated points over D's map" if self.is_2d else "samples from fixed noise"
            self.image.tooltip = (f"Training dashboard at generator step {self.trainer.step_count}: losses, "
                                  f"mean D(x) and D(G(z)) against the step, and {shows}")
        if record:
            self.frames.append(plt.imread(io.BytesIO(png)))
            self.frame_titles.append(f"generator step {self.trainer.step_count}")
        h = self.trainer.history
        tail = (f", D loss {h.d_loss[-1]:.3f}, G loss {h.g_loss[-1]:.3f}, mean D(x) {h.d_real[-1]:.2f}, "
                f"mean D(G(z)) {h.d_fake[-1]:.2f}") if h.step else ""
        self.status.value = f"<b>step {self.trainer.step_count}</b>{tail}"

    # -- training -------------------------------------------------------------------------------
    def _apply_controls(self) -> None:
        t = self.trainer
        t.set_lr(self.lr_g.value, self.lr_d.value)
        t.config.k = int(self.k.value)
        t.set_losses(g_loss=self.g_loss.value)

    def _chunk(self, steps: int) -> bool:
        """Train ``steps`` steps and redraw; False (with a message) if training diverged."""
        with self._lock:
            self._apply_controls()
            try:
                self.trainer.run(steps, progress=False)
            except TrainingDiverged as exc:
                self.status.value = f"<b style='color:#b00'>Stopped:</b> {exc}"
                return False
            self._updates += 1
            self.refresh(record=self._updates % self.record_every == 0)
        return True

    def step(self) -> None:
        """Train one chunk of ``steps_per_update`` generator steps (the Step button)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._chunk(self.steps_per_update)

    def start(self) -> None:
        """Train in a background thread until Pause, divergence or ``max_steps`` (the Start button)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()

        def loop():
            while not self._stop.is_set() and self.trainer.step_count < self.max_steps:
                if not self._chunk(self.steps_per_update):
                    break

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def pause(self) -> None:
        """Stop the background training after the current chunk."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def run(self, steps: int) -> "Dashboard":
        """Train ``steps`` generator steps in the foreground, redrawing every ``steps_per_update``."""
        V.non_negative_int("steps", steps)
        done = 0
        while done < steps:
            n = min(self.steps_per_update, steps - done)
            if not self._chunk(n):
                break
            done += n
        return self

    def animation(self, interval: int = 300, alt: Optional[str] = None):
        """The recorded pictures as an animation that plays in a static web page (a video; see
        :func:`gantutor.plots.animate`), each frame pixel for pixel, with a text alternative."""
        if not self.frames:
            raise ValueError("no frames recorded: train with dash.run(steps) (or Step) before dash.animation()")
        first, last = self.frame_titles[0], self.frame_titles[-1]
        shows = ("the real and generated points over the discriminator's map D(x)" if self.is_2d
                 else "samples from fixed noise")
        alt = alt or (f"Replay of the training dashboard in {len(self.frames)} frames, {first} to {last}: "
                      f"losses, mean D(x) and D(G(z)) against the generator step, and {shows}.")
        return plots.frames_animation(self.frames, alt=alt, interval=interval)


class Playground:
    """The loss zoo's playground (chapter 10): pick a loss, a toy set, a budget and a seed; Train builds
    a fresh :class:`~gantutor.train.Trainer` (:func:`gantutor.zoo.toy_trainer` on ``RING_SETTINGS`` or
    ``GRID_SETTINGS`` with the loss's settings), trains it in a :class:`Dashboard` and prints PacGAN's
    scores of 2,500 samples. The dashboard stays live: Start, Pause and its controls keep working.

    ``settings`` maps loss names to their settings (default :data:`gantutor.zoo.DEFAULT_SETTINGS`).
    """

    def __init__(self, settings: Optional[dict] = None, loss: str = "nonsaturating", toy: str = "ring of 8",
                 steps: int = 1000, seed: int = 0, updates: int = 10):
        import ipywidgets as W

        from . import zoo
        from .config import GRID_SETTINGS, RING_SETTINGS
        from .data import grid25, ring8

        if settings is not None and not isinstance(settings, dict):
            V.fail("settings", "a dict {loss name: TrainConfig overrides}, like gantutor.zoo.DEFAULT_SETTINGS",
                   settings, error=TypeError)
        V.positive_int("steps", steps)
        V.integer("seed", seed)
        V.positive_int("updates", updates)
        self.settings = dict(zoo.DEFAULT_SETTINGS if settings is None else settings)
        self.toys = {"ring of 8": (ring8(), RING_SETTINGS), "grid of 25": (grid25(), GRID_SETTINGS)}
        for name, value, options in (("loss", loss, self.settings), ("toy", toy, self.toys)):
            if value not in options:
                raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")
        self.updates = updates
        self.loss = W.Dropdown(options=list(self.settings), value=loss, description="loss")
        self.toy = W.Dropdown(options=list(self.toys), value=toy, description="toy set")
        # The slider's range includes the requested steps (a slider would clamp 10 to 50 silently).
        self.steps = W.IntSlider(value=steps, min=min(50, steps), max=max(10000, steps), step=min(50, steps),
                                 description="G steps")
        self.seed = W.IntText(value=seed, description="seed")
        self.train_btn = W.Button(description="Train", button_style="success", icon="play")
        self.train_btn.on_click(lambda _: self.train())
        self.scores = W.HTML()
        self.holder = W.VBox()
        self.dashboard: Optional[Dashboard] = None
        self.widget = W.VBox([W.HBox([self.loss, self.toy]), W.HBox([self.steps, self.seed, self.train_btn]),
                              self.scores, self.holder])
        self.build()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def build(self) -> Dashboard:
        """A fresh trainer and dashboard for the current choices (untrained), shown below the controls."""
        from . import zoo

        if self.dashboard is not None:
            self.dashboard.pause()
        mixture, toy = self.toys[self.toy.value]
        steps = int(self.steps.value)
        trainer = zoo.toy_trainer(self.loss.value, mixture, toy, steps, int(self.seed.value), self.settings)
        self.dashboard = Dashboard(trainer, mixture=mixture, steps_per_update=max(steps // self.updates, 1),
                                   max_steps=max(steps, 20_000))
        self.holder.children = (self.dashboard.widget,)
        self.scores.value = f"<i>{self.loss.value} on the {self.toy.value}: not trained yet; press Train</i>"
        return self.dashboard

    def train(self):
        """Build a fresh run for the current choices, train it for the chosen steps (blocking) and
        return its :class:`~gantutor.metrics.ToyScores`."""
        from . import metrics

        dash = self.build()
        self.scores.value = f"<i>training {self.loss.value} on the {self.toy.value}...</i>"
        dash.run(int(self.steps.value))
        scores = metrics.toy_scores(dash.trainer.sample(2500), dash.mixture)
        cfg = dash.trainer.config
        self.scores.value = (f"<b>{self.loss.value}</b> ({cfg.d_loss} / {cfg.g_loss}, k = {cfg.k}) on the "
                             f"{self.toy.value}, step {dash.trainer.step_count}: {scores}")
        return scores
