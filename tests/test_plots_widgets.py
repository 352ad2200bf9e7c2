"""gantutor.plots and gantutor.widgets, only called: figures draw with Agg, the dashboard trains."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gantutor import plots  # noqa: E402
from gantutor.config import TrainConfig  # noqa: E402
from gantutor.data import TensorSampler, ring8  # noqa: E402
from gantutor.models import MLPDiscriminator, MLPGenerator  # noqa: E402
from gantutor.train import Trainer  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def drawn(fig, n_axes):
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == n_axes
    fig.canvas.draw()
    return fig


def test_backend_is_agg():
    assert matplotlib.get_backend().lower() == "agg"


def test_saturation_and_ce_figures():
    drawn(plots.saturation_figure(), 4)
    drawn(plots.saturation_figure(g_losses=("nonsaturating",), lim=3.0), 4)
    fig = drawn(plots.sigmoid_ce_figure(), 1)
    assert len(fig.axes[0].lines) >= 2


def test_sample_grid_and_history():
    imgs = torch.rand(6, 1, 5, 5) * 2 - 1
    grid = plots.image_grid(imgs, nrow=3)
    assert grid.ndim == 2 and grid.shape == (2 * 5 + 3 * 2, 3 * 5 + 4 * 2)
    assert plots.image_grid(torch.rand(4, 3, 5, 5), nrow=2).shape[-1] == 3
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        plots.image_grid(torch.rand(4, 5, 5))
    drawn(plots.sample_grid(imgs, nrow=3, title="x"), 1)
    h = {"step": [1, 2, 3], "d_loss": [1.0, 0.9, 0.8], "g_loss": [0.7, 0.8, 0.9],
         "d_real": [0.6, 0.55, 0.5], "d_fake": [0.3, 0.4, 0.5]}
    fig = drawn(plots.history_figure(h), 2)
    assert len(fig.axes[0].lines) == 2


def test_density_and_scatter():
    fig, ax = plt.subplots()
    x = np.linspace(-3, 3, 50)
    out = plots.density_1d(ax, x, np.exp(-x ** 2), np.exp(-(x - 1) ** 2), d=np.full(50, 0.5), title="t")
    assert out is ax and len(ax.lines) == 3
    drawn(fig, 1)
    torch.manual_seed(0)
    D = MLPDiscriminator((2,), hidden=(4,))
    xs, ys, prob = plots.decision_map(D, 1.5, n=20)
    assert prob.shape == (20, 20) and ((prob > 0) & (prob < 1)).all()
    fig, ax = plt.subplots()
    real, fake = torch.randn(30, 2), torch.randn(30, 2)
    plots.scatter_2d(ax, real, fake, D=D, lim=2.0, title="s")
    plots.scatter_2d(ax, real, fake, D=D, lim=2.0)  # a second call adds no second colour bar
    drawn(fig, 2)
    fig, ax = plt.subplots()
    plots.scatter_2d(ax, real, fake)
    drawn(fig, 1)


def test_frames_animation():
    frames = [np.random.default_rng(i).random((8, 8, 3)) for i in range(3)]
    html = plots.frames_animation(frames, ["a", "b", "c"], figsize=(2, 2)).data
    assert "<script" in html and "anim" in html.lower()
    with pytest.raises(ValueError, match="empty"):
        plots.frames_animation([])


def _trainer(kind):
    torch.manual_seed(0)
    cfg = TrainConfig(batch_size=8, latent_dim=3, device="cpu", log_every=1, progress=False)
    if kind == "2d":
        return Trainer(MLPGenerator(3, (2,), hidden=(8,), value_range=None),
                       MLPDiscriminator((2,), hidden=(8,)), ring8(), cfg)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (16, 28, 28), dtype=torch.uint8, generator=g)
    labelled = kind == "mnist-conditional"
    sampler = TensorSampler(images, torch.arange(16) % 10 if labelled else None, n_classes=10 if labelled else 0)
    nc = 10 if labelled else 0
    return Trainer(MLPGenerator(3, (1, 28, 28), hidden=(8,), n_classes=nc),
                   MLPDiscriminator((1, 28, 28), hidden=(8,), n_classes=nc), sampler, cfg)


@pytest.mark.parametrize("kind", ["2d", "mnist", "mnist-conditional"])
def test_dashboard_runs_and_records(kind):
    from gantutor.widgets import Dashboard

    dash = Dashboard(_trainer(kind), steps_per_update=1, n_show=4)
    assert dash.is_2d == (kind == "2d")
    first = dash.image.value
    assert bytes(first).startswith(PNG)
    dash.pause()  # harmless without start
    dash.run(2)
    assert dash.trainer.step_count == 2
    assert bytes(dash.image.value).startswith(PNG) and dash.image.value != first
    assert len(dash.frames) == 2 and dash.frame_titles[-1] == "generator step 2"
    assert "step 2" in dash.status.value
    html = dash.animation().data
    assert "<script" in html and "anim" in html.lower()


def test_dashboard_controls_apply():
    from gantutor.widgets import Dashboard

    dash = Dashboard(_trainer("2d"), steps_per_update=1)
    dash.k.value, dash.g_loss.value, dash.lr_g.value = 2, "minimax", 1e-3
    dash.step()
    t = dash.trainer
    assert t.config.k == 2 and t.config.g_loss == "minimax" and t.opt_g.param_groups[0]["lr"] == pytest.approx(1e-3)
    assert t.step_count == 1
    with pytest.raises(ValueError, match="steps_per_update"):
        Dashboard(t, steps_per_update=0)


def test_dashboard_start_trains_in_background_until_pause_or_max_steps():
    import time

    from gantutor.widgets import Dashboard

    dash = Dashboard(_trainer("2d"), steps_per_update=1, max_steps=1000)
    dash.start_btn.click()  # the real button, as a reader clicks it
    deadline = time.time() + 30
    while dash.trainer.step_count < 3 and time.time() < deadline:
        time.sleep(0.05)
    dash.pause_btn.click()
    stopped_at = dash.trainer.step_count
    assert 3 <= stopped_at < 1000 and not dash._thread.is_alive()
    time.sleep(0.2)
    assert dash.trainer.step_count == stopped_at  # paused means paused
    dash.max_steps = stopped_at + 2
    dash.start()
    dash._thread.join(timeout=30)
    assert dash.trainer.step_count == stopped_at + 2  # Start stops by itself at max_steps


def test_dashboard_reports_divergence_instead_of_raising():
    from gantutor.widgets import Dashboard

    dash = Dashboard(_trainer("2d"), steps_per_update=1)
    with torch.no_grad():
        for p in dash.trainer.D.parameters():
            p.fill_(float("nan"))
    dash.step()  # the discriminator loss is NaN: the dashboard says so and keeps the good weights
    assert "Stopped" in dash.status.value and "diverged" in dash.status.value
    assert all(torch.isfinite(p).all() for p in dash.trainer.D.parameters())
