"""CycleGAN (chapter 9): networks, receptive field, every term of the objective against its formula,
the identity wiring, the history buffer, the linear learning-rate decay, one training step, the
translation scores and the colourised-MNIST helpers."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gantutor.config import TrainConfig
from gantutor.data import TensorSampler
from gantutor.data.colour_mnist import (circular_correlation, colourise, hue_error_degrees, hue_to_rgb, ink_hue,
                                        rgb_hue)
from gantutor.metrics.translation import (base_codepoint, nearest_neighbour, paired_l1, psnr, retrieval_rate,
                                          translation_scores, unpaired_split)
from gantutor.models.cyclegan import (CycleGenerators, PatchDiscriminator, ResnetGenerator, conv_geometry,
                                      init_normal_, receptive_field)
from gantutor.models.cyclegan_game import (CycleGANGame, cyclegan_config, discriminator_loss,
                                           generator_loss_terms, train_for_cpu)
from gantutor.train import ImagePool
from gantutor.train.core import GameTrainer
from gantutor.train.schedules import lr_factor


def _nets(seed=0, ngf=4):
    torch.manual_seed(seed)
    return (ResnetGenerator(3, 3, ngf, 1), ResnetGenerator(3, 3, ngf, 1), PatchDiscriminator(3, 4, 2),
            PatchDiscriminator(3, 4, 2))


@pytest.mark.parametrize("upsample", ["resize", "transposed"])
def test_generator_shapes_range_and_layers(upsample):
    G = ResnetGenerator(3, 1, ngf=4, n_blocks=2, upsample=upsample)
    out = G(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert out.shape == (2, 1, 32, 32) and out.abs().max() <= 1
    kinds = {type(m) for m in G.modules()}
    assert nn.ReflectionPad2d in kinds and nn.InstanceNorm2d in kinds
    assert (nn.ConvTranspose2d in kinds) == (upsample == "transposed")
    assert (nn.Upsample in kinds) == (upsample == "resize")


def test_generator_rejects_bad_input():
    G = ResnetGenerator(3, 3, 4, 1)
    with pytest.raises(ValueError, match=r"x: expected a float tensor \[N, 3, H, W\], got torch.uint8"):
        G(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="divisible by 4"):
        G(torch.zeros(1, 3, 30, 30))
    with pytest.raises(ValueError, match="upsample"):
        ResnetGenerator(upsample="bilinear-ish")


def test_residual_block_adds_its_input():
    from gantutor.models.cyclegan import ResidualBlock
    block = ResidualBlock(4)
    for m in block.body:
        if isinstance(m, nn.Conv2d):
            nn.init.zeros_(m.weight), nn.init.zeros_(m.bias)
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(block(x), x)


def test_init_is_normal_002():
    torch.manual_seed(0)
    net = init_normal_(nn.Sequential(*[nn.Conv2d(64, 64, 3) for _ in range(4)]))
    w = torch.cat([m.weight.detach().flatten() for m in net])
    assert abs(float(w.mean())) < 1e-3 and abs(float(w.std()) - 0.02) < 5e-4
    assert all(float(m.bias.detach().abs().max()) == 0 for m in net)


def test_receptive_field_formula_and_the_papers_70():
    assert receptive_field(conv_geometry(PatchDiscriminator(3, 64, 3))) == 70
    assert receptive_field(conv_geometry(PatchDiscriminator(3, 32, 2))) == 34
    assert receptive_field(conv_geometry(PatchDiscriminator(3, 32, 1))) == 16
    assert receptive_field([(3, 1), (3, 1)]) == 5 and receptive_field([(2, 2), (2, 2)]) == 4
    # empirically: an output unit of the paper's D depends on a 70-pixel span of the input, once instance
    # norm is removed (its mean and variance are taken over the whole map, so with it every unit sees all)
    D = PatchDiscriminator(1, 2, 3).double()
    D.net = nn.Sequential(*[nn.Identity() if isinstance(m, nn.InstanceNorm2d) else m for m in D.net])
    x = torch.zeros(1, 1, 128, 128, dtype=torch.float64, requires_grad=True)
    D(x)[0, 0, 5, 5].backward()
    rows = (x.grad[0, 0].abs().sum(1) > 0).nonzero()[:, 0]
    assert int(rows.max() - rows.min() + 1) == 70


def test_patch_discriminator_output_grid():
    assert PatchDiscriminator(3, 8, 2)(torch.zeros(2, 3, 32, 32)).shape == (2, 1, 6, 6)
    assert PatchDiscriminator(3, 8, 3)(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)


def test_generator_loss_term_by_term():
    G, F, D_X, D_Y = _nets()
    torch.manual_seed(1)
    x, y = torch.rand(3, 3, 16, 16) * 2 - 1, torch.rand(3, 3, 16, 16) * 2 - 1
    t = generator_loss_terms(G, F, D_X, D_Y, x, y, lambda_cycle=10.0, lambda_identity=0.5)
    want = {"adv_G": ((D_Y(G(x)) - 1) ** 2).mean(), "adv_F": ((D_X(F(y)) - 1) ** 2).mean(),
            "cyc_X": 10 * (F(G(x)) - x).abs().mean(), "cyc_Y": 10 * (G(F(y)) - y).abs().mean(),
            "idt_Y": 5 * (G(y) - y).abs().mean(), "idt_X": 5 * (F(x) - x).abs().mean()}
    for k, v in want.items():
        assert torch.allclose(t[k], v, atol=1e-6), k
    assert torch.allclose(t["total"], sum(want.values()), atol=1e-5)
    # the identity terms are G on y and F on x, not the other way round
    assert not torch.allclose(t["idt_Y"], 5 * (F(y) - y).abs().mean(), atol=1e-4)
    off = generator_loss_terms(G, F, D_X, D_Y, x, y, lambda_cycle=0.0, lambda_identity=0.5, adversarial=False)
    assert float(off["total"]) == 0.0
    no_cycle = generator_loss_terms(G, F, D_X, D_Y, x, y, 10.0, 0.5, cycle=False)
    assert float(no_cycle["cyc_X"]) == float(no_cycle["cyc_Y"]) == 0.0
    assert torch.allclose(no_cycle["idt_Y"], t["idt_Y"]) and torch.allclose(no_cycle["adv_G"], t["adv_G"])


def test_discriminator_loss_is_half_least_squares():
    _, _, D, _ = _nets()
    real, fake = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32, requires_grad=True)
    loss = discriminator_loss(D, real, fake)
    assert torch.allclose(loss, 0.5 * ((D(real) - 1) ** 2).mean() + 0.5 * (D(fake) ** 2).mean(), atol=1e-6)
    loss.backward()
    assert fake.grad is None  # the fakes are detached


def test_image_pool_fills_then_mixes():
    pool = ImagePool(4)
    first = torch.arange(4.0)[:, None]
    assert torch.equal(pool.query(first), first) and len(pool) == 4
    g = torch.Generator().manual_seed(0)
    new = 10 + torch.arange(200.0)[:, None]
    out = pool.query(new, generator=g)
    old = (out != new).sum().item()
    assert 60 < old < 140  # about half the batch comes from the buffer
    stored = torch.stack(pool.images).flatten()
    assert len(pool) == 4 and (stored >= 10).all()  # the buffer was refreshed with new images
    assert torch.equal(ImagePool(0).query(new), new)


def test_linear_decay_schedule():
    cfg = cyclegan_config(200)
    assert (cfg.lr_schedule, cfg.lr_decay_start, cfg.lr_final, tuple(cfg.betas)) == ("linear", 0.5, 0.0, (0.5, 0.999))
    f = [lr_factor(s, 200, 0.0, "linear", 0.5) for s in (0, 50, 100, 150, 200, 250)]
    assert f == [1.0, 1.0, 1.0, 0.5, 0.0, 0.0]


def _game(**kw):
    G, F, D_X, D_Y = _nets()
    sx = TensorSampler(torch.randint(0, 256, (12, 3, 16, 16), dtype=torch.uint8))
    sy = TensorSampler(torch.randint(0, 256, (12, 3, 16, 16), dtype=torch.uint8))
    return CycleGANGame(G, F, D_X, D_Y, sx, sy, **kw)


def test_one_training_step_updates_all_four_networks_and_logs():
    game = _game()
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in game.networks().items()}
    trainer = GameTrainer(game, cyclegan_config(4, batch_size=4, device="cpu", log_every=1))
    trainer.run(2)
    for k, n in game.networks().items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], n.parameters())), k
    h = trainer.history
    assert len(h.step) == 2 and set(CycleGANGame.log_keys) <= set(h.as_dict())
    assert len(game.pool_X) == 8 and len(game.pool_Y) == 8
    # the discriminators' step after the first uses the fakes of the preceding generator step
    assert game._last is not None
    assert trainer.sample(3).shape == (3, 3, 16, 16) and trainer.sample(2, direction="F").shape == (2, 3, 16, 16)
    assert isinstance(game.generator, CycleGenerators)
    assert math.isclose(trainer.opt_g.param_groups[0]["lr"], 2e-4 * lr_factor(1, 4, 0.0, "linear", 0.5))


def _timed_run(seconds, probe_steps=2, per_step=0.5):
    """train_for_cpu on the small game with a clock that advances per_step s per generator step; returns
    the trainer and the learning rates (G and D) every step was taken at."""
    game, lrs, clock = _game(), [], [0.0]
    g_loss = game.g_loss

    def counted(t):
        lrs.append((t.opt_g.param_groups[0]["lr"], t.opt_d.param_groups[0]["lr"]))
        clock[0] += per_step
        return g_loss(t)

    game.g_loss = counted
    cfg = cyclegan_config(1, batch_size=4, device="cpu", log_every=1)
    trainer, used = train_for_cpu(game, seconds, cfg, probe_steps=probe_steps, timer=lambda: clock[0])
    return trainer, used, lrs


def test_train_for_cpu_lays_the_decay_over_the_steps_the_budget_buys():
    trainer, used, lrs = _timed_run(10.0)          # 0.5 s per step: 20 steps
    assert trainer.step_count == trainer.config.steps == len(lrs) == 20 and used == 10.0
    assert all(g > 0 and d > 0 for g, d in lrs)    # no step at learning rate 0 (the old planner's bug)
    assert all(g == 2e-4 for g, _ in lrs[:11]) and lrs[11][0] < 2e-4   # constant up to half-way
    assert math.isclose(lrs[-1][0], 2e-4 * 2 / 20)    # the last step, then 0 where the run ends
    assert lr_factor(trainer.step_count, trainer.config.steps, 0.0, "linear", 0.5) == 0.0
    short, _, lrs = _timed_run(0.1, probe_steps=3)  # a budget below the probe: the shortest valid run
    assert short.step_count == short.config.steps == 6 and all(g > 0 for g, _ in lrs)
    real, used = train_for_cpu(_game(), 0.3, cyclegan_config(1, batch_size=4, device="cpu"), probe_steps=2)
    assert real.step_count == real.config.steps >= 4 and used > 0 and real.opt_g.param_groups[0]["lr"] > 0
    with pytest.raises(ValueError, match="seconds"):
        train_for_cpu(_game(), 0, cyclegan_config(1))
    with pytest.raises(ValueError, match="config"):
        train_for_cpu(_game(), 1.0, TrainConfig(steps=1, lr_final=0.1))


def test_emoji_game_variants_are_built_identically():
    from gantutor.pretrain.cyclegan import EmojiTranslationData, make_game

    imgs = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    data = EmojiTranslationData(imgs, imgs, imgs, imgs, None, [])
    games = []
    for upsample in ("resize", "transposed"):
        torch.manual_seed(0)
        games.append(make_game(data, upsample=upsample))
    a, b = games
    for name in ("D_X", "D_Y"):   # the transposed-convolution row starts from the same discriminators
        for (k, p), (_, q) in zip(a.networks()[name].state_dict().items(), b.networks()[name].state_dict().items()):
            assert torch.equal(p, q), (name, k)
    assert torch.equal(a.G.net[1].weight, b.G.net[1].weight)
    assert any(isinstance(m, nn.ConvTranspose2d) for m in b.G.modules())
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in a.G.modules())


def test_dashboard_stops_where_the_schedule_ends():
    pytest.importorskip("ipywidgets")
    from gantutor.cyclegan_widgets import CycleDashboard

    trainer = GameTrainer(_game(), cyclegan_config(4, batch_size=2, device="cpu", log_every=1))
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    dash = CycleDashboard(trainer, x, x, steps_per_update=3)
    dash.run(3)
    assert trainer.step_count == 3 and "of 4 planned" in dash.status.value and not dash.step_btn.disabled
    dash.run(3)
    assert trainer.step_count == 4 and dash.remaining() == 0 and dash.step_btn.disabled
    assert "schedule is done" in dash.status.value


def test_game_flags_and_errors():
    assert _game(pool_size=0).pool_X.size == 0
    with pytest.raises(ValueError, match="lambda_cycle"):
        _game(lambda_cycle=-1)
    with pytest.raises(ValueError, match="side"):
        _game().parameters("critic")


def test_translation_scores():
    torch.manual_seed(0)
    twins = torch.rand(5, 3, 8, 8) * 2 - 1
    assert float(paired_l1(twins, twins).max()) == 0 and retrieval_rate(twins, twins) == 1.0
    half = twins * 0.5
    assert torch.allclose(paired_l1(half, twins), (0.5 * twins).abs().flatten(1).mean(1))
    mse = ((half - twins) / 2).pow(2).flatten(1).mean(1)
    assert torch.allclose(psnr(half, twins), -10 * torch.log10(mse))
    assert retrieval_rate(twins.roll(1, 0), twins) == 0.0
    pool = torch.rand(7, 3, 8, 8)
    assert torch.equal(nearest_neighbour(pool[[3, 5]] + 0.01, pool), pool[[3, 5]])
    s = translation_scores(twins, twins)
    assert s.retrieval == 1.0 and s.n == 5 and "retrieval 100.0%" in str(s)
    with pytest.raises(ValueError, match="twins: expected the shape"):
        paired_l1(twins, twins[:2])


def test_unpaired_split_is_disjoint_and_keeps_variants_together():
    cps = ["1F600", "1F385", "1F385-1F3FB", "1F385-1F3FF", "2764", "1F44D", "1F44D-1F3FD", "1F1EB-1F1F7"] * 1
    cps += [f"E{i:03d}" for i in range(40)]
    s = unpaired_split(cps, 0.2, seed=1)
    sets = [set(s.x), set(s.y), set(s.test)]
    assert sum(map(len, sets)) == len(cps) and not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    for group in (["1F385", "1F385-1F3FB", "1F385-1F3FF"], ["1F44D", "1F44D-1F3FD"]):
        assert sum(all(c in part for c in group) for part in sets) == 1
    assert base_codepoint("1F385-1F3FB") == "1F385" and s == unpaired_split(cps, 0.2, seed=1)


def test_colour_mnist_round_trip_and_hue_scores():
    h = torch.tensor([0.0, 1 / 6, 1 / 3, 0.5, 2 / 3, 0.9])
    assert torch.allclose(hue_to_rgb(h)[:3], torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 1, 0]]))
    assert torch.allclose(rgb_hue(hue_to_rgb(h)), h, atol=1e-6)
    grey = torch.zeros(6, 1, 8, 8) - 1
    grey[:, :, 2:6, 2:6] = 1
    col = colourise(grey, h)
    assert col.shape == (6, 3, 8, 8) and float(col[:, :, 0, 0].max()) == -1
    assert torch.allclose(ink_hue(col, (grey + 1) / 2), h, atol=1e-5)
    assert torch.allclose(hue_error_degrees(torch.tensor([0.05, 0.5]), torch.tensor([0.95, 0.25])),
                          torch.tensor([36.0, 90.0]))
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(2000, generator=g), torch.rand(2000, generator=g)
    assert circular_correlation(a, a) == pytest.approx(1.0) and abs(circular_correlation(a, b)) < 0.1
    assert circular_correlation(a, (a + 0.5) % 1) == pytest.approx(-1.0)
    assert circular_correlation(a, (a + 0.02 * torch.randn(2000, generator=g)) % 1) > 0.95
    with pytest.raises(ValueError, match="hue"):
        colourise(grey, h[:2])


# ---- the shipped checkpoint (recipe cyclegan-emoji) ---------------------------------------------------

def _emoji_or_skip():
    from gantutor.data import DataNotFoundError
    from gantutor.data.emoji import load_emoji
    try:
        load_emoji("google", 32, download=False), load_emoji("twitter", 32, download=False)
    except DataNotFoundError as e:
        pytest.skip(f"emoji data not available: {e}")


def test_shipped_cyclegan_loads_and_translates():
    from gantutor import pretrain
    from gantutor.pretrain.cyclegan import SETTINGS

    path = pretrain.weights_path("cyclegan-emoji")
    assert path.is_file() and path.stat().st_size < pretrain.MAX_BYTES
    pair, record = pretrain.load("cyclegan-emoji")
    assert isinstance(pair, CycleGenerators) and not pair.training
    info = record["info"]
    assert not info["tiny"] and info["steps"] == SETTINGS["steps"] and info["threads"] == 1
    assert info["n_test"] > 100 and 0 < info["g_l1"] < 2 and 0 <= info["g_retrieval"] <= 1
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        y, back = pair.G(x), pair.F(x)
    assert y.shape == back.shape == (2, 3, 32, 32) and float(y.abs().max()) <= 1


def test_cyclegan_recipe_tiny_run(tmp_path):
    from gantutor import pretrain

    _emoji_or_skip()
    out = pretrain.run("cyclegan-emoji", tiny=True, out=tmp_path / "c.pt")
    pair, record = pretrain.load("cyclegan-emoji", out)
    assert record["info"]["tiny"] and record["info"]["steps"] == 3 and len(record["history"]["step"]) == 3
    split = record["info"]
    assert split["n_x"] > 0 and split["n_y"] > 0 and split["n_test"] > 0
