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


def test_importing_plots_sets_a_colour_blind_safe_cycle_with_line_styles():
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()
    assert cycle["color"] == list(plots.OKABE_ITO.values()) and len(set(cycle["linestyle"])) == len(cycle["color"])
    fig, ax = plt.subplots()
    a, b = ax.plot([0, 1], [0, 1]), ax.plot([0, 1], [1, 0], color=plots.COLORS["fake"])
    assert a[0].get_linestyle() != b[0].get_linestyle()  # never colour alone
    assert set(plots.COLORS.values()) <= set(plots.OKABE_ITO.values())


def test_images_are_drawn_as_their_pixels():
    assert matplotlib.rcParams["image.interpolation"] == "nearest"
    fig = plots.sample_grid(torch.rand(4, 1, 8, 8) * 2 - 1, nrow=2)
    assert fig.axes[0].images[0].get_interpolation() == "nearest"


def _mp4_from(html):
    import base64
    import re

    found = re.search(r'src="data:video/mp4;base64,([^"]+)"', html)
    assert found, html[:300]
    return base64.b64decode(found.group(1))


def _frames_in(mp4, tmp_path):
    import imageio_ffmpeg

    path = tmp_path / "a.mp4"
    path.write_bytes(mp4)
    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def test_frames_animation_is_a_labelled_video(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    frames = [np.random.default_rng(i).random((21, 33, 3)) for i in range(5)]  # odd sides are padded
    html = plots.frames_animation(frames, ["a", "b", "c", "d", "e"], alt="five noise pictures").data
    assert html.startswith("<video") and 'aria-label="five noise pictures"' in html and "controls" in html
    assert "://" not in html  # nothing fetched from anywhere
    mp4 = _mp4_from(html)
    assert mp4[4:8] == b"ftyp" and _frames_in(mp4, tmp_path) == 5
    with pytest.raises(ValueError, match="empty"):
        plots.frames_animation([])


def test_animate_describes_the_figure_when_no_alt_is_given(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    fig, ax = plt.subplots(figsize=(3, 2))
    xs = np.linspace(0, 1, 20)

    def draw(i):
        ax.clear()
        ax.plot(xs, xs * i, label="$p_g$")
        ax.set(title=f"generator step {10 * i}", xlabel="x")
        ax.legend()

    html = plots.animate(fig, draw, 4, interval=100).data
    assert "Animation in 4 frames, from &#x27;generator step 0&#x27; to &#x27;generator step 30&#x27;" in html
    assert "showing p_g" in html and _frames_in(_mp4_from(html), tmp_path) == 4
    with pytest.raises(ValueError, match="n_frames"):
        plots.animate(plt.figure(), draw, 0)


def test_animation_without_ffmpeg_falls_back_to_fewer_jpeg_frames_without_a_cdn(monkeypatch):
    from gantutor import animation

    monkeypatch.setenv("GANTUTOR_NO_FFMPEG", "1")
    assert animation.ffmpeg_executable() is None
    frames = [np.full((10, 12, 3), i / 60) for i in range(60)]
    html = plots.frames_animation(frames, alt="sixty grey squares").data
    assert "<script" in html and "font-awesome" not in html and "://" not in html.replace("http://www.w3.org", "")
    assert 'alt="sixty grey squares"' in html and "image/jpeg" in html and "image/png" not in html
    assert html.count("image/jpeg;base64") == animation.FALLBACK_FRAMES
    assert animation.subsample(60, 24)[0] == 0 and animation.subsample(60, 24)[-1] == 59
    assert animation.subsample(5, 24) == [0, 1, 2, 3, 4]


def test_encode_mp4_refuses_bad_frames():
    pytest.importorskip("imageio_ffmpeg")
    from gantutor import animation

    with pytest.raises(ValueError, match=r"frames\[1\]: expected size 4 x 4 like frames\[0\], got 4 x 6"):
        animation.encode_mp4([np.zeros((4, 4, 3)), np.zeros((4, 6, 3))], fps=2)
    with pytest.raises(ValueError, match=r"frames\[0\]: expected an image"):
        animation.encode_mp4([np.zeros((4, 4, 2))], fps=2)
    assert animation.as_uint8_rgb(np.ones((2, 2))).tolist() == [[[255] * 3] * 2] * 2


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
    if "tooltip" in dash.image.trait_names():  # ipywidgets 8 shows it as the picture's title
        assert dash.image.tooltip.startswith("Training dashboard at generator step 2: losses")
    html = dash.animation().data
    assert "Replay of the training dashboard in 2 frames, generator step 1 to generator step 2" in html
    if kind != "2d":
        assert "samples from fixed noise" in html


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
