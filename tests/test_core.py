"""The training core (gantutor.train.core) and its schedules: one loop serving games with any number of
networks; the fade-in, moving-average and learning-rate arithmetic; lazy-regularisation intervals; the
history buffer; checkpoints that restore everything or nothing."""
import math

import pytest
import torch
from torch import nn

from gantutor.config import TrainConfig
from gantutor.train import (CheckpointError, Game, GameTrainer, ImagePool, TrainingDiverged, ema_update,
                            growth_stage, lazy_due, lr_factor)


# -- schedules ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("step, expected", [
    (0, (0, 1.0)), (9, (0, 1.0)),            # stage 0 (4x4): 10 steps, no fade
    (10, (1, 0.0)), (12, (1, 0.5)), (13, (1, 0.75)), (14, (1, 1.0)), (23, (1, 1.0)),  # fade 4, stable 10
    (24, (2, 0.0)), (26, (2, 0.5)), (38, (3, 0.0)), (40, (3, 0.5)), (1000, (3, 1.0)),  # last stage stays
])
def test_growth_stage_fades_alpha_linearly_then_stabilises(step, expected):
    assert growth_stage(step, stage_steps=10, fade_steps=4, n_stages=4) == expected


def test_growth_stage_without_fade_and_bad_arguments():
    assert growth_stage(10, 10, 0, 3) == (1, 1.0)
    assert growth_stage(5, 10, 4, 1) == (0, 1.0)
    with pytest.raises(ValueError, match="stage_steps"):
        growth_stage(0, 0, 4, 3)


def test_ema_update_is_the_convex_combination_and_copies_buffers():
    torch.manual_seed(0)
    model, avg = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    with torch.no_grad():
        model.weight.copy_(torch.randn(3)), avg.weight.copy_(torch.randn(3))
        model.running_mean.copy_(torch.randn(3))
    expected = 0.9 * avg.weight.detach().clone() + 0.1 * model.weight.detach()
    ema_update(avg, model, 0.9)
    assert torch.allclose(avg.weight, expected, atol=1e-7)
    assert torch.equal(avg.running_mean, model.running_mean)
    ema_update(avg, model, 0.0)
    assert torch.equal(avg.weight, model.weight)


def test_lr_factor_schedules():
    assert lr_factor(50, 100, 0.01) == pytest.approx(0.1)  # geometric: 0.01 ** 0.5
    assert lr_factor(0, 100, 0.01) == 1.0 and lr_factor(200, 100, 0.01) == pytest.approx(0.01)
    lin = [lr_factor(s, 100, 0.0, "linear", 0.5) for s in (0, 50, 75, 100, 150)]
    assert lin == pytest.approx([1.0, 1.0, 0.5, 0.0, 0.0])  # CycleGAN: constant half, then to zero
    assert lr_factor(10, 100, 1.0, "linear", 0.5) == 1.0
    with pytest.raises(ValueError, match="schedule"):
        lr_factor(1, 10, 0.5, "cosine")


def test_lazy_due_counts_from_one():
    assert [c for c in range(1, 50) if lazy_due(c, 16)] == [16, 32, 48]
    assert not any(lazy_due(c, 0) for c in range(1, 50))


def test_image_pool_follows_the_cyclegan_rule():
    gen = torch.Generator().manual_seed(0)
    pool = ImagePool(4)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first, gen), first) and len(pool) == 4  # filling: new images pass
    new = 100 + torch.arange(400.0).view(400, 1, 1, 1)
    out = pool.query(new, gen)
    assert out.shape == new.shape and len(pool) == 4
    from_buffer = (out != new).sum().item()
    assert 150 < from_buffer < 250  # about half come from the buffer
    stored = {float(x) for x in out.flatten()} - {float(x) for x in new.flatten()}
    assert stored <= {0.0, 1.0, 2.0, 3.0} | {float(x) for x in new.flatten()}
    assert torch.equal(ImagePool(0).query(first), first)
    with pytest.raises(ValueError, match="size"):
        ImagePool(-1)


# -- a game with two generators and two discriminators (CycleGAN's shape) -------------------------------
class TwoByTwo(Game):
    """Toy 1D cycle game: G: X -> Y, F: Y -> X, D_X, D_Y; counts its hooks."""

    log_keys = ("d_loss", "g_loss")

    def __init__(self, reg: bool = False):
        torch.manual_seed(1)
        self.G, self.F, self.DX, self.DY = (nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 1), nn.Linear(2, 1))
        self.generator = self.G
        self.calls = {"begin": 0, "d": 0, "g": 0, "d_reg": 0, "g_reg": 0}
        self.reg = reg

    def networks(self):
        return {"G": self.G, "F": self.F, "D_X": self.DX, "D_Y": self.DY}

    def parameters(self, side):
        nets = (self.G, self.F) if side == "generator" else (self.DX, self.DY)
        return [p for n in nets for p in n.parameters()]

    def begin_step(self, trainer):
        self.calls["begin"] += 1

    def _batch(self):
        return torch.randn(8, 2), torch.randn(8, 2) + 3

    def d_loss(self, trainer):
        self.calls["d"] += 1
        x, y = self._batch()
        with torch.no_grad():
            fy, gx = self.F(y), self.G(x)
        loss = ((self.DX(x) - 1) ** 2).mean() + (self.DX(fy) ** 2).mean() + ((self.DY(y) - 1) ** 2).mean() \
            + (self.DY(gx) ** 2).mean()
        return loss, {}

    def g_loss(self, trainer):
        self.calls["g"] += 1
        x, y = self._batch()
        gx, fy = self.G(x), self.F(y)
        cycle = (self.F(gx) - x).abs().mean() + (self.G(fy) - y).abs().mean()
        return ((self.DY(gx) - 1) ** 2).mean() + ((self.DX(fy) - 1) ** 2).mean() + 10 * cycle, {}

    def d_regulariser(self, trainer):
        self.calls["d_reg"] += 1
        value = (self.DX.weight ** 2).sum()
        self.values = getattr(self, "values", []) + [("d", float(value.detach()))]
        return value if self.reg else None

    def g_regulariser(self, trainer):
        self.calls["g_reg"] += 1
        value = (self.G.weight ** 2).sum()
        self.values = getattr(self, "values", []) + [("g", float(value.detach()))]
        return value if self.reg else None

    def sample(self, trainer, n, **kw):
        return trainer.sampling_generator()(torch.randn(n, 2))


def _cfg(**kw):
    base = dict(steps=20, batch_size=8, device="cpu", progress=False, log_every=1, guard_every=5)
    base.update(kw)
    return TrainConfig(**base)


def test_core_trains_every_network_of_a_four_network_game():
    game = TwoByTwo()
    before = {k: {n: v.clone() for n, v in net.state_dict().items()} for k, net in game.networks().items()}
    t = GameTrainer(game, _cfg(k=2))
    t.run(5)
    assert game.calls["begin"] == 5 and game.calls["d"] == 10 and game.calls["g"] == 5
    for name, net in game.networks().items():
        assert any(not torch.equal(before[name][n], v) for n, v in net.state_dict().items()), name
    assert t.history.step == [1, 2, 3, 4, 5] and len(t.history.d_loss) == 5


def test_lazy_regularisers_run_at_their_interval_scaled_by_it():
    game = TwoByTwo(reg=True)
    t = GameTrainer(game, _cfg(k=1, d_reg_every=4, g_reg_every=2))
    seen = []
    original = t._descend

    def spy(which, loss, opt):
        seen.append((which, float(loss.detach())))
        return original(which, loss, opt)

    t._descend = spy
    t.run(8)
    assert game.calls["d_reg"] == 2 and game.calls["g_reg"] == 4  # D steps 4, 8; G steps 2, 4, 6, 8
    names = [w for w, _ in seen]
    assert names.count("discriminator regulariser") == 2 and names.count("generator regulariser") == 4
    scaled = [v for w, v in seen if w.endswith("regulariser")]
    unscaled = [(4 if side == "d" else 2) * v for side, v in game.values]
    assert scaled == pytest.approx(unscaled, rel=1e-6)  # each term times its interval
    assert names.index("discriminator regulariser") == names.index("discriminator", 6) + 1


def test_no_regulariser_without_an_interval():
    game = TwoByTwo(reg=True)
    GameTrainer(game, _cfg()).run(6)
    assert game.calls["d_reg"] == game.calls["g_reg"] == 0


def test_ema_follows_the_generator_and_samples_come_from_it():
    game = TwoByTwo()
    t = GameTrainer(game, _cfg(ema_decay=0.5))
    start = t.G_ema.weight.detach().clone()
    t.step()
    assert torch.allclose(t.G_ema.weight, 0.5 * start + 0.5 * game.G.weight.detach(), atol=1e-7)
    assert t.sampling_generator() is t.G_ema and not t.G_ema.weight.requires_grad
    assert t.sample(3).shape == (3, 2)
    assert GameTrainer(TwoByTwo(), _cfg()).sampling_generator() is not None


def test_linear_decay_reaches_zero_at_the_end():
    t = GameTrainer(TwoByTwo(), _cfg(steps=10, lr_g=1e-3, lr_d=2e-3, lr_schedule="linear", lr_decay_start=0.5,
                                      lr_final=0.0))
    lrs = []
    for _ in range(10):
        t.step()
        lrs.append(t.opt_g.param_groups[0]["lr"])
    assert lrs[:6] == pytest.approx([1e-3] * 6) and lrs[-1] == pytest.approx(1e-3 * 0.2)
    assert t.opt_d.param_groups[0]["lr"] == pytest.approx(2e-3 * 0.2)


def test_checkpoint_round_trip_restores_all_four_networks_and_the_average(tmp_path):
    t = GameTrainer(TwoByTwo(), _cfg(ema_decay=0.9))
    t.run(7)
    t.save(tmp_path / "run.pt")
    u = GameTrainer(TwoByTwo(), _cfg(ema_decay=0.9))
    u.load(tmp_path / "run.pt")
    assert u.step_count == 7 and u.history.step == t.history.step
    for name, net in t.game.networks().items():
        other = u.game.networks()[name]
        assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), other.state_dict().values()))
    assert torch.equal(u.G_ema.weight, t.G_ema.weight)
    u.step()
    assert u.step_count == 8


def test_a_checkpoint_that_does_not_fit_changes_nothing(tmp_path):
    t = GameTrainer(TwoByTwo(), _cfg())
    t.run(3)
    t.save(tmp_path / "run.pt")
    other = TwoByTwo()
    other.DY = nn.Linear(2, 3)  # D_Y of another shape: G, F and D_X would fit
    u = GameTrainer(other, _cfg())
    before = {k: v.clone() for k, v in other.G.state_dict().items()}
    with pytest.raises(CheckpointError, match="D_Y"):
        u.load(tmp_path / "run.pt")
    assert all(torch.equal(before[k], v) for k, v in other.G.state_dict().items())
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        u.load(tmp_path / "empty.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError) as info:
        u.load(tmp_path / "junk.pt")
    assert "weights_only=False" not in str(info.value)


class Exploding(TwoByTwo):
    def g_loss(self, trainer):
        loss, out = super().g_loss(trainer)
        return loss * (1e12 if trainer.step_count >= 6 else 1.0), out


def test_guard_trips_on_finite_but_absurd_losses_and_restores():
    t = GameTrainer(Exploding(), _cfg(guard_every=5))
    with pytest.raises(TrainingDiverged, match="absurd"):
        t.run(10)
    assert t.step_count == 5 and t.history.step[-1] == 5 and math.isfinite(t.history.g_loss[-1])


def test_atomic_save_gives_torch_save_permissions_and_half_float_round_trip(tmp_path):
    """atomic_save writes through a private temporary file; the result must have torch.save's usual mode
    (readable by all under the umask), so shipped package data is readable; float16/float32_state
    round-trip floating tensors and leave integer buffers alone."""
    import os
    import stat

    from gantutor.train.checkpoint import atomic_save, float16_state, float32_state
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    half = float16_state(net.state_dict())
    assert half["0.weight"].dtype == torch.float16 and half["1.num_batches_tracked"].dtype == torch.int64
    back = float32_state(half)
    assert back["0.weight"].dtype == torch.float32 and back["1.num_batches_tracked"].dtype == torch.int64
    mask = os.umask(0o022)
    try:
        atomic_save(half, tmp_path / "w.pt")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "w.pt").stat().st_mode) == 0o644
    assert not list(tmp_path.glob("*.tmp"))
