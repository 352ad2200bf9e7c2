"""gantutor.train: one step, k, repeatability, divergence guard, checkpoints."""
import math

import pytest
import torch

from gantutor import losses, train
from gantutor.config import TrainConfig
from gantutor.data import TensorSampler, ring8
from gantutor.models import MLPDiscriminator, MLPGenerator
from gantutor.train import Trainer, TrainingDiverged, load_checkpoint, save_checkpoint


def make_trainer(seed=0, model_seed=0, labelled=False, **cfg):
    torch.manual_seed(model_seed)
    if labelled:
        g = torch.Generator().manual_seed(1)
        sampler = TensorSampler(torch.randint(0, 256, (32, 4, 4), dtype=torch.uint8, generator=g),
                                torch.arange(32) % 3, n_classes=3)
        G = MLPGenerator(3, (1, 4, 4), hidden=(8,), n_classes=3)
        D = MLPDiscriminator((1, 4, 4), hidden=(8,), n_classes=3)
    else:
        sampler = ring8()
        G = MLPGenerator(3, (2,), hidden=(8, 8), value_range=None)
        D = MLPDiscriminator((2,), hidden=(8, 8))
    options = dict(steps=5, batch_size=16, latent_dim=3, device="cpu", log_every=1, progress=False, seed=seed)
    options.update(cfg)
    return Trainer(G, D, sampler, TrainConfig(**options))


def weights(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("labelled", [False, True])
def test_one_step_changes_both_networks(labelled):
    t = make_trainer(labelled=labelled)
    g0, d0 = weights(t.G), weights(t.D)
    t.step()
    assert t.step_count == 1
    for before, module in ((g0, t.G), (d0, t.D)):
        after = weights(module)
        assert all(torch.isfinite(v).all() for v in after.values())
        assert not same(before, after)
    h = t.history
    assert h.step == [1] and len(h.d_loss) == len(h.g_loss) == 1
    assert 0 < h.d_real[0] < 1 and 0 < h.d_fake[0] < 1 and math.isfinite(h.d_loss[0])


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_steps_per_generator_step(k):
    t = make_trainer(k=k)
    counts = {"d": 0, "g": 0}
    for name, opt in (("d", t.opt_d), ("g", t.opt_g)):
        original = opt.step

        def counted(*a, _name=name, _orig=original, **kw):
            counts[_name] += 1
            return _orig(*a, **kw)

        opt.step = counted
    t.run(4)
    assert counts == {"d": 4 * k, "g": 4}


def test_callbacks_and_log_every():
    seen = []
    t = make_trainer(log_every=2)
    t.callbacks.append(lambda tr: seen.append(tr.step_count))
    t.run(5)
    assert seen == [2, 4] and t.history.step == [2, 4]


def _run(seed, model_seed=0):
    t = make_trainer(seed=seed, model_seed=model_seed)
    t.run(6)
    return weights(t.G), weights(t.D), t.history.as_dict()


def test_repeatable_under_a_seed():
    g1, d1, h1 = _run(0)
    g2, d2, h2 = _run(0)
    assert same(g1, g2) and same(d1, d2) and h1 == h2
    g3, d3, h3 = _run(1)
    assert not same(g1, g3) and not same(d1, d3) and h1 != h3


def test_samples_and_fixed_noise():
    t = make_trainer(labelled=True)
    z = torch.randn(5, 3)
    y = torch.tensor([0, 1, 2, 0, 1])
    a, b = t.sample(5, y=y, z=z), t.sample(5, y=y, z=z)
    assert tuple(a.shape) == (5, 1, 4, 4) and torch.equal(a, b) and a.device.type == "cpu"
    assert t.G.training
    assert tuple(t.sample(7).shape) == (7, 1, 4, 4)


@pytest.fixture
def nan_loss(monkeypatch):
    """A generator loss registered for the test that returns NaN at its 7th call."""
    calls = {"n": 0}

    def nan_at_7(fake_logits):
        calls["n"] += 1
        loss = losses.g_nonsaturating(fake_logits)
        return loss * float("nan") if calls["n"] == 7 else loss

    monkeypatch.setitem(losses.G_LOSSES, "nan_at_7", nan_at_7)
    return calls


def test_divergence_guard_restores_last_good_state(nan_loss):
    t = make_trainer(g_loss="nan_at_7", guard_every=5)
    t.run(5)
    good_g, good_d = weights(t.G), weights(t.D)
    t.step()  # step 6 changes the weights, step 7 diverges
    assert not same(good_g, weights(t.G))
    with pytest.raises(TrainingDiverged) as info:
        t.step()
    msg = str(info.value)
    assert "step 7" in msg and "generator loss" in msg and "nan" in msg and "step 5" in msg
    assert same(good_g, weights(t.G)) and same(good_d, weights(t.D))
    assert all(torch.isfinite(v).all() for v in weights(t.G).values())
    assert t.step_count == 5
    assert t.history.step == [1, 2, 3, 4, 5]  # nothing recorded after the restored state
    t.step()  # training can continue from the restored state
    assert t.step_count == 6 and t.history.step[-1] == 6


def test_huge_learning_rate_diverges_to_finite_weights():
    t = make_trainer(lr_g=1e30, lr_d=1e30, guard_every=1000)
    g0, d0 = weights(t.G), weights(t.D)
    with pytest.raises(TrainingDiverged, match=r"step \d+: the (generator|discriminator) loss (is|reached an absurd size)"):
        t.run(50)
    assert same(g0, weights(t.G)) and same(d0, weights(t.D))
    assert t.step_count == 0


def test_set_lr_and_losses():
    t = make_trainer()
    t.set_lr(lr_g=1e-3)
    assert t.opt_g.param_groups[0]["lr"] == 1e-3 and t.opt_d.param_groups[0]["lr"] == 2e-4
    with pytest.raises(ValueError, match="positive"):
        t.set_lr(lr_d=0.0)
    t.set_losses(g_loss="minimax")
    assert t.g_loss_fn is losses.g_minimax and t.config.g_loss == "minimax"
    with pytest.raises(KeyError, match="nonsaturating"):
        t.set_losses(g_loss="nope")
    with pytest.raises(KeyError, match="bce"):
        make_trainer(d_loss="nope")


def test_checkpoint_round_trip(tmp_path, monkeypatch):
    t = make_trainer()
    t.run(4)
    path = tmp_path / "sub" / "ckpt.pt"
    t.save(str(path))
    assert path.is_file() and list(path.parent.glob("*.tmp")) == []
    assert sorted(p.name for p in path.parent.iterdir()) == ["ckpt.pt"]

    seen = {}
    real_load = torch.load

    def spy(*a, **kw):
        seen.update(kw)
        return real_load(*a, **kw)

    monkeypatch.setattr(torch, "load", spy)
    fresh = make_trainer(model_seed=1)
    assert not same(weights(t.G), weights(fresh.G))
    fresh.load(str(path))
    assert seen.get("weights_only") is True
    assert same(weights(t.G), weights(fresh.G)) and same(weights(t.D), weights(fresh.D))
    assert fresh.step_count == 4 and fresh.history.as_dict() == t.history.as_dict()
    assert fresh.opt_g.state_dict()["state"][0]["step"] == t.opt_g.state_dict()["state"][0]["step"]
    ckpt = load_checkpoint(str(path))
    assert ckpt["config"]["steps"] == t.config.steps and ckpt["step"] == 4
    # continuing after a load matches continuing the original
    fresh.run(1), t.run(1)
    assert fresh.step_count == 5


def test_checkpoint_overwrite_and_missing(tmp_path):
    t = make_trainer()
    path = tmp_path / "c.pt"
    save_checkpoint(str(path), t)
    t.run(2)
    save_checkpoint(str(path), t)
    assert load_checkpoint(str(path))["step"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(str(tmp_path / "missing.pt"))


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    t = make_trainer()

    def broken(obj, f, *a, **kw):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        t.save(str(tmp_path / "c.pt"))
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    t = make_trainer()
    path = tmp_path / "c.pt"
    t.save(str(path))
    before = path.read_bytes()
    monkeypatch.setattr(torch, "save", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    t.run(1)
    with pytest.raises(KeyboardInterrupt):
        t.save(str(path))
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_pick_device():
    assert train.pick_device("cpu").type == "cpu"
    assert train.pick_device("auto").type in {"cpu", "cuda", "mps"}


def test_lr_final_decays_learning_rates_geometrically():
    import torch
    from gantutor import data, models, train
    from gantutor.config import TrainConfig

    mix = data.ring8()
    G = models.MLPGenerator(2, (2,), hidden=(8,), value_range=None)
    D = models.MLPDiscriminator((2,), hidden=(8,))
    t = train.Trainer(G, D, mix, TrainConfig(steps=10, batch_size=8, latent_dim=2, lr_g=1e-2, lr_d=1e-3,
                                             lr_final=0.01, progress=False))
    t.run(5)
    t.step()  # the 6th step runs with factor 0.01 ** (5 / 10) = 0.1
    assert abs(t.opt_g.param_groups[0]["lr"] - 1e-3) < 1e-12
    assert abs(t.opt_d.param_groups[0]["lr"] - 1e-4) < 1e-12
    t.set_lr(lr_g=2e-2)  # a new start rate keeps the decay: now 6 of 10 steps are done
    assert abs(t.opt_g.param_groups[0]["lr"] - 2e-2 * 0.01 ** 0.6) < 1e-12


def test_weight_clipping_and_rmsprop():
    t = make_trainer(clip=0.01, optimizer="rmsprop", d_loss="wasserstein", g_loss="wasserstein")
    assert isinstance(t.opt_d, torch.optim.RMSprop) and isinstance(t.opt_g, torch.optim.RMSprop)
    t.run(3)
    assert max(p.abs().max().item() for p in t.D.parameters()) <= 0.01 + 1e-9
    assert max(p.abs().max().item() for p in t.G.parameters()) > 0.01  # G is never clipped


def test_gradient_penalty_enters_the_discriminator_loss():
    plain, gp = make_trainer(d_loss="wasserstein", g_loss="wasserstein"), \
        make_trainer(d_loss="wasserstein", g_loss="wasserstein", gp_weight=10.0)
    l_plain, _ = plain.d_step()
    l_gp, _ = gp.d_step()
    assert l_gp.item() > l_plain.item()  # same seed, same batch: the difference is lambda * penalty >= 0
    torch.manual_seed(0)
    assert gp.penalty(*[torch.randn(16, 2)] * 2).item() >= 0
    assert plain.penalty(torch.randn(4, 2), torch.randn(4, 2)).item() == 0


def test_history_records_d_after_and_critic_gap():
    t = make_trainer(k_burst=4, k_burst_first=1)
    t.run(2)
    h = t.history
    assert len(h.d_fake_g) == len(h.critic_gap) == 2
    assert all(0 < v < 1 for v in h.d_fake_g) and all(math.isfinite(v) for v in h.critic_gap)
