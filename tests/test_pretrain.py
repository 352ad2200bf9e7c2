"""gantutor.pretrain.mnist: the longer-trained twins of chapters 1, 2 and 6.

Each recipe runs end to end at a tiny budget and loads back with weights_only=True into its model; each
shipped checkpoint loads into the network the chapter trains and draws images of the right shape and
range; its record holds the scores the recipe measured.
"""
import math

import pytest
import torch

from gantutor import pretrain
from gantutor.models import DCGANGenerator, MLPGenerator
from gantutor.pretrain import mnist as recipes

NAMES = ("mlp-mnist", "cgan-mnist", "dcgan-mnist")
MODELS = {"mlp-mnist": (MLPGenerator, 64, 0), "cgan-mnist": (MLPGenerator, 64, 10),
          "dcgan-mnist": (DCGANGenerator, 100, 0)}


def _draw(G, n=12):
    z = torch.randn(n, G.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return G(z, torch.arange(n) % 10) if getattr(G, "n_classes", 0) else G(z)


@pytest.mark.parametrize("name", NAMES)
def test_recipe_is_the_chapters_network(name):
    r = pretrain.recipe(name)
    cls, latent, classes = MODELS[name]
    G = r.build()
    assert type(G) is cls and G.latent_dim == latent and getattr(G, "n_classes", 0) == classes
    G_chapter, _ = recipes.RUNS[name].networks()  # the pair the chapter builds; the shipped G is its G
    assert [(k, v.shape) for k, v in G.state_dict().items()] == [(k, v.shape) for k, v in G_chapter.state_dict().items()]


@pytest.mark.parametrize("name", NAMES)
def test_tiny_run_writes_a_checkpoint_that_loads_back(name, tmp_path, mnist_root, monkeypatch):
    monkeypatch.setenv("GANTUTOR_DATA", str(mnist_root))
    out = pretrain.run(name, tiny=True, out=tmp_path / f"{name}.pt")
    raw = torch.load(out, weights_only=True)  # only tensors and plain types
    assert raw["name"] == name and raw["info"]["tiny"] is True
    G, record = pretrain.load(name, out)
    cls, _, _ = MODELS[name]
    assert isinstance(G, cls) and not G.training
    info = record["info"]
    assert info["steps"] == recipes.TINY_STEPS and info["eval_n"] == recipes.TINY_EVAL_N
    assert math.isfinite(info["fid"]) and info["fid"] > 0 and info["cpu_seconds"] > 0
    assert ("accuracy" in info) == (name == "cgan-mnist")
    assert info["config"]["latent_dim"] == G.latent_dim == MODELS[name][1]
    assert record["history"]["step"] == [recipes.TINY_STEPS]
    trained = {k: v for k, v in raw["state_dict"].items()}
    for k, v in G.state_dict().items():  # the weights loaded are the ones written
        assert torch.equal(v, trained[k].to(v.dtype)), k


@pytest.mark.parametrize("name", NAMES)
def test_shipped_checkpoint_loads_and_draws_digits(name):
    path = pretrain.weights_path(name)
    assert path.is_file(), f"{path} is not shipped: run `python -m gantutor.pretrain {name}` and commit it"
    assert path.stat().st_size < pretrain.MAX_BYTES
    G, record = pretrain.load(name)
    x = _draw(G)
    assert x.shape == (12, 1, 28, 28) and x.dtype == torch.float32
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0 and float(x.std()) > 0.1
    info = record["info"]
    assert not info["tiny"] and info["steps"] == recipes.RUNS[name].steps
    assert info["eval_n"] == recipes.EVAL_N and info["threads"] == 1 and info["train_cpu_seconds"] > 0
    assert 0 < info["fid"] < 1000 and info["fid_baseline"] < info["fid"]
    # the record names the size of the codes G takes (it said 64, TrainConfig's default, for dcgan-mnist's 100)
    assert info["config"]["latent_dim"] == G.latent_dim == MODELS[name][1]
    assert len(record["history"]["fid"]) == len(record["history"]["step"]) >= 2
    if name == "cgan-mnist":
        assert 0.1 < info["accuracy"] <= 1.0  # better than chance, which is 0.1


def test_shipped_conditional_generator_follows_its_labels(mnist_root, monkeypatch):
    """The classifier reads most of the shipped cGAN's digits as the digit requested (chance: 10%)."""
    from gantutor import metrics

    monkeypatch.setenv("GANTUTOR_DATA", str(mnist_root))
    G, _ = pretrain.load("cgan-mnist")
    labels = torch.arange(200) % 10
    with torch.no_grad():
        x = G(torch.randn(200, 64, generator=torch.Generator().manual_seed(5)), labels)
    assert metrics.conditional_accuracy(x, labels).overall > 0.5


def test_bad_names_and_paths_give_clear_errors(tmp_path):
    with pytest.raises(KeyError, match=r"name: no pretraining recipe 'mlp-mnsit'; there are \[.*'mlp-mnist'"):
        pretrain.load("mlp-mnsit")
    with pytest.raises(FileNotFoundError, match="python -m gantutor.pretrain dcgan-mnist"):
        pretrain.load("dcgan-mnist", tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="out: a tiny run"):
        pretrain.run("mlp-mnist", tiny=True)
    torch.save({"format": pretrain.FORMAT, "name": "cgan-mnist", "state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="is not the shipped checkpoint of 'mlp-mnist'"):
        pretrain.load("mlp-mnist", tmp_path / "other.pt")


def test_pretrained_panel_captions_the_measured_score():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gantutor import plots

    fig = plots.pretrained_panel("cgan-mnist", n=20)
    _, record = pretrain.load("cgan-mnist")
    caption = fig._supxlabel.get_text().replace("\n", " ")
    assert f"MNIST-FID {record['info']['fid']:.1f}" in caption and "conditional accuracy" in caption
    assert f"{record['info']['steps']:,} generator steps" in caption
    fig.canvas.draw()
    plt.close(fig)
    with pytest.raises(ValueError, match="n: expected a positive integer"):
        plots.pretrained_panel("mlp-mnist", n=0)
