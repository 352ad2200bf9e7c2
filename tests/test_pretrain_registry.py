"""Every registered pretraining recipe resolves, ships its checkpoint (< 5 MB, weights only) and loads
into the network its recipe builds; no recipe module defines a recipe the registry does not know."""
import importlib

import pytest
import torch

from gantutor import pretrain

NAMES = sorted(pretrain.RECIPES)


@pytest.mark.parametrize("name", NAMES)
def test_recipe_resolves_and_its_checkpoint_ships(name):
    r = pretrain.recipe(name)
    assert r.name == name and r.chapter and r.description
    path = pretrain.weights_path(name)
    assert path.is_file(), f"{path} is not shipped: `python -m gantutor.pretrain {name}`, then commit it"
    assert path.stat().st_size < pretrain.MAX_BYTES
    raw = torch.load(path, weights_only=True)  # tensors and plain types only
    assert raw["format"] == pretrain.FORMAT and raw["name"] == name and not raw["info"]["tiny"]
    assert raw["info"]["cpu_seconds"] > 0 and raw["info"]["threads"] >= 1
    net, record = pretrain.load(name)
    assert not net.training and set(record) >= {"history", "info", "description"}
    fresh = r.build().state_dict()
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == {k: tuple(v.shape) for k, v in fresh.items()}


@pytest.mark.parametrize("module", sorted(set(pretrain.RECIPES.values())))
def test_no_recipe_is_left_unregistered(module):
    defined = importlib.import_module(f"gantutor.pretrain.{module}").RECIPES
    assert all(pretrain.RECIPES.get(name) == module for name in defined), (module, sorted(defined))


def test_unknown_recipe_names_the_known_ones():
    with pytest.raises(KeyError, match="mlp-mnist"):
        pretrain.recipe("no-such-recipe")
    with pytest.raises(ValueError, match="out"):
        pretrain.run("mlp-mnist", tiny=True)
