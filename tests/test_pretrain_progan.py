"""gantutor.pretrain.progan: chapter 7's emoji ProGAN. The recipe builds the chapter's generator class,
runs end to end at a tiny budget and loads back with weights_only=True; the shipped checkpoint draws
32 x 32 colour images (linear output, most pixels in the data range [-1, 1]) and records its schedule, training time and one grid per stage."""
import pytest
import torch

from gantutor import pretrain
from gantutor.models.progan import ProGANGenerator
from gantutor.pretrain import progan as recipes


def _emoji_available() -> bool:
    from gantutor.data import DataNotFoundError
    from gantutor.data.emoji import load_emoji

    try:
        load_emoji("google", 32, download=False)
    except (DataNotFoundError, OSError):
        return False
    return True


def test_recipe_builds_the_chapters_generator():
    G = pretrain.recipe("progan-emoji").build()
    assert type(G) is ProGANGenerator and G.widths == recipes.EMOJI.widths and G.channels == 3
    assert recipes.EMOJI.total_steps() == recipes.EMOJI.stage_steps + 3 * (recipes.EMOJI.fade_steps + recipes.EMOJI.stage_steps)


def test_tiny_run_writes_a_checkpoint_that_loads_back(tmp_path):
    if not _emoji_available():
        pytest.skip("the emoji sprite sheets are not on disk (npm ci)")
    out = pretrain.run("progan-emoji", tiny=True, out=tmp_path / "progan-emoji.pt")
    raw = torch.load(out, weights_only=True)
    assert raw["name"] == "progan-emoji" and raw["info"]["tiny"] is True
    G, record = pretrain.load("progan-emoji", out)
    assert isinstance(G, ProGANGenerator) and not G.training
    assert record["info"]["steps"] == recipes.TINY.total_steps()
    assert record["history"]["snapshots"].shape == (4, 16, 3, 32, 32)
    assert record["history"]["stage"][-1] == 3


def test_shipped_checkpoint_draws_colour_images():
    path = pretrain.weights_path("progan-emoji")
    assert path.is_file(), f"{path} is not shipped: run `python -m gantutor.pretrain progan-emoji --threads 1`"
    assert path.stat().st_size < pretrain.MAX_BYTES
    G, record = pretrain.load("progan-emoji")
    with torch.no_grad():
        x = G(torch.randn(8, G.latent_dim, generator=torch.Generator().manual_seed(0)))
    assert x.shape == (8, 3, 32, 32) and torch.isfinite(x).all() and float(x.clamp(-1, 1).std()) > 0.1
    assert float((x.abs() <= 1.05).double().mean()) > 0.8      # G is linear: trained toward the data's range
    assert not any(isinstance(m, torch.nn.Tanh) for m in G.modules())
    info = record["info"]
    assert not info["tiny"] and info["threads"] == 1 and info["steps"] == recipes.EMOJI.total_steps()
    assert info["cpu_seconds"] > 0 and record["history"]["snapshots"].shape == (4, 16, 3, 32, 32)
