"""ProGAN (Karras et al., 2018): every layer against its formula (pixel norm, He constant with fan_in,
equalised convolution and linear layers, minibatch standard deviation, fade-in and real-image blend),
shapes at every stage, the linear output and the pixel-space blend, the reset of Adam's state at phase changes, one training step per stage, and growth across a
stage boundary through the common GameTrainer."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gantutor.config import TrainConfig
from gantutor.data import TensorSampler
from gantutor.layers.progressive import (EqualizedConv2d, EqualizedLinear, PixelNorm, blend_real, downsample,
                                         fade_in, he_constant, minibatch_stddev, pixel_norm, resize_to, upsample)
from gantutor.models.progan import ProGANGame, ProGANGenerator, progan_pair, resolution
from gantutor.train import GameTrainer

WIDTHS = (8, 8, 4, 4)


def test_pixel_norm_gives_unit_rms_over_channels_at_every_pixel():
    torch.manual_seed(0)
    a = 5 * torch.randn(3, 7, 4, 5, dtype=torch.float64)
    b = pixel_norm(a, eps=0.0)
    rms = b.pow(2).mean(dim=1).sqrt()
    assert torch.allclose(rms, torch.ones_like(rms))
    # against the formula written out, one pixel at a time
    for n, y, x in [(0, 0, 0), (2, 3, 4), (1, 2, 1)]:
        v = a[n, :, y, x]
        assert torch.allclose(b[n, :, y, x], v / torch.sqrt((v ** 2).sum() / 7 + 0.0))
    # it is NOT unit length (the length is sqrt(C)), and it leaves batch and spatial statistics alone
    assert torch.allclose(b.norm(dim=1), torch.full_like(rms, math.sqrt(7)))
    assert not torch.allclose(b.pow(2).mean(dim=0).sqrt(), torch.ones(7, 4, 5, dtype=torch.float64))
    # scale invariance per pixel, and eps keeps an all-zero pixel at zero
    assert torch.allclose(pixel_norm(3 * a, 0.0), b)
    assert torch.equal(pixel_norm(torch.zeros(1, 4, 2, 2)), torch.zeros(1, 4, 2, 2))
    z = torch.randn(5, 9, dtype=torch.float64)
    assert torch.allclose(PixelNorm(0.0)(z).pow(2).mean(1), torch.ones(5, dtype=torch.float64))


def test_pixel_norm_rejects_bad_input():
    with pytest.raises(ValueError, match=r"a: expected a float tensor \[N, C, H, W\], got torch.uint8"):
        pixel_norm(torch.zeros(2, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="a: expected"):
        pixel_norm(torch.zeros(3, 4))


def test_he_constant_uses_fan_in():
    assert he_constant(9 * 16) == pytest.approx(math.sqrt(2 / 144))
    conv = EqualizedConv2d(16, 3, 3)
    assert conv.scale == pytest.approx(math.sqrt(2 / (16 * 9)))  # fan_in = C_in k^2, not C_out k^2 = 27
    assert EqualizedLinear(50, 7).scale == pytest.approx(math.sqrt(2 / 50))
    assert EqualizedConv2d(16, 3, 1, gain=1.0).scale == pytest.approx(1 / 4)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="fan_in"):
            he_constant(bad)


def test_equalized_layers_store_n01_weights_and_scale_at_run_time():
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 32, 3)
    assert abs(float(conv.weight.detach().std()) - 1) < 0.02 and float(conv.bias.detach().abs().max()) == 0
    x = torch.randn(2, 64, 5, 5)
    want = F.conv2d(x, conv.weight * math.sqrt(2 / (64 * 9)), conv.bias, padding=1)
    assert torch.allclose(conv(x), want, atol=1e-6) and conv(x).shape == (2, 32, 5, 5)
    with torch.no_grad():
        conv.weight.mul_(2)  # run-time scaling: the output follows the stored weight
    assert torch.allclose(conv(x), 2 * want, atol=1e-5)
    lin = EqualizedLinear(10, 4)
    v = torch.randn(3, 10)
    assert torch.allclose(lin(v), v @ (lin.weight * math.sqrt(2 / 10)).T)
    with pytest.raises(ValueError, match="x: expected 64 channels, got 3"):
        conv(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match=r"x: expected a tensor \[N, 10\]"):
        lin(torch.zeros(2, 9))


def test_equalized_learning_rate_makes_adam_updates_proportional_to_the_scale():
    """Adam's first step moves every stored weight by about lr; the effective weight c * w moves by lr * c,
    the same fraction of its own typical size c for every layer."""
    torch.manual_seed(0)
    layers = [EqualizedConv2d(4, 4, 3), EqualizedConv2d(64, 4, 3)]
    opt = torch.optim.Adam([p for m in layers for p in m.parameters()], lr=1e-3)
    x1, x2 = torch.randn(2, 4, 6, 6), torch.randn(2, 64, 6, 6)
    (layers[0](x1).square().mean() + layers[1](x2).square().mean()).backward()
    before = [m.weight.detach().clone() for m in layers]
    opt.step()
    for m, w0 in zip(layers, before):
        rel = float(((m.weight.detach() - w0) * m.scale).abs().mean() / (w0 * m.scale).abs().mean())
        assert 0.5e-3 < rel < 2e-3


def test_minibatch_stddev_feature():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 2, 2, dtype=torch.float64)
    y = minibatch_stddev(x, group_size=4, eps=0.0)
    assert y.shape == (8, 4, 2, 2) and torch.equal(y[:, :3], x)
    for m in range(2):  # group m holds samples m, m + 2, m + 4, m + 6
        members = x[m::2]
        want = members.std(dim=0, unbiased=False).mean()
        assert torch.allclose(y[m::2, 3], want.expand(4, 2, 2))
    # group size = batch: one statistic for everybody; identical samples give 0 (before eps)
    whole = minibatch_stddev(x, group_size=8, eps=0.0)[:, 3]
    assert torch.allclose(whole, x.std(dim=0, unbiased=False).mean().expand(8, 2, 2))
    same = minibatch_stddev(x[:1].expand(4, 3, 2, 2).contiguous(), eps=0.0)
    assert float(same[:, 3].abs().max()) == 0
    assert minibatch_stddev(torch.randn(2, 3, 4, 4)).shape == (2, 4, 4, 4)  # a batch smaller than a group
    with pytest.raises(ValueError, match="multiple of the group size"):
        minibatch_stddev(torch.randn(6, 3, 4, 4), group_size=4)


def test_fade_in_arithmetic_and_resampling():
    new, old = torch.full((1, 1, 2, 2), 10.0), torch.full((1, 1, 2, 2), 2.0)
    assert torch.equal(fade_in(0.0, new, old), old) and torch.equal(fade_in(1.0, new, old), new)
    assert torch.allclose(fade_in(0.25, new, old), torch.full((1, 1, 2, 2), 0.25 * 10 + 0.75 * 2))
    with pytest.raises(ValueError, match="alpha"):
        fade_in(1.5, new, old)
    with pytest.raises(ValueError, match="old: expected the shape"):
        fade_in(0.5, new, torch.zeros(1, 1, 4, 4))
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(upsample(torch.tensor([[[[1.0, 2], [3, 4]]]])),
                       torch.tensor([[[[1.0, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]]))
    assert torch.equal(downsample(x), torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))
    assert torch.equal(resize_to(x, 1), x.mean().reshape(1, 1, 1, 1))
    # the real images' blend: downsample then upsample, weighted (1 - alpha)
    assert torch.allclose(blend_real(x, 0.3), 0.3 * x + 0.7 * upsample(downsample(x)))
    assert torch.equal(blend_real(x, 1.0), x)


@pytest.mark.parametrize("stage", range(4))
def test_shapes_at_every_stage(stage):
    torch.manual_seed(0)
    G, D = progan_pair(latent_dim=6, channels=3, widths=WIDTHS)
    z = torch.randn(4, 6)
    for alpha in (0.0, 0.5, 1.0):
        x = G(z, stage, alpha)
        side = resolution(stage)
        assert x.shape == (4, 3, side, side) and torch.isfinite(x).all()
        assert D(x, stage, alpha).shape == (4,)
    if stage < 3:
        with pytest.raises(ValueError, match=f"x: expected images \\[N, 3, {side}, {side}\\] at stage {stage}"):
            D(torch.zeros(4, 3, 2 * side, 2 * side), stage)


def test_blend_order_in_both_networks():
    """G: alpha * toRGB_s(block(h)) + (1 - alpha) * upsample(toRGB_{s-1}(h)) with linear toRGB and no output
    activation: the same pixel-space blend as blend_real's (G's two images as new and old); D at alpha = 0
    is the previous stage's D on the downsampled image."""
    torch.manual_seed(0)
    G, D = progan_pair(latent_dim=6, channels=1, widths=WIDTHS)
    z = torch.randn(4, 6)
    h, prev = G.features(z, 2)
    new, old = G.to_rgb[2](h), upsample(G.to_rgb[1](prev))
    assert torch.allclose(G(z, 2, 0.3), 0.3 * new + 0.7 * old, atol=1e-6)
    assert torch.allclose(G(z, 2, 0.3), fade_in(0.3, G(z, 2), upsample(G(z, 1))), atol=1e-6)
    assert not torch.allclose(G(z, 2, 0.3), torch.tanh(0.3 * new + 0.7 * old), atol=1e-3)
    assert float(G(z * 50, 3).abs().max()) > 0  # linear: nothing bounds the output
    assert torch.allclose(blend_real(old, 0.3), 0.3 * old + 0.7 * upsample(downsample(old)))
    assert torch.allclose(G(z, 2, 0.0), upsample(G(z, 1)), atol=1e-6)  # alpha = 0: the old image, upsampled
    x = torch.rand(4, 1, 16, 16) * 2 - 1
    assert torch.allclose(D(x, 2, 0.0), D(downsample(x), 1), atol=1e-5)


def _grad_norms(f, x):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x).sum(), x)
    return g.flatten(1).norm(dim=1)


def test_gradient_penalty_scale_against_the_official_full_size_networks():
    """ProGANGame's docstring: the gradient is taken at the stage's own side. At alpha = 0 D_s(x) =
    D_{s-1}(down x), and ||grad|| w.r.t. x is exactly half the one w.r.t. down x; the official code's D
    reads full-size images and pools them, so its ||grad|| is 2**-(last - stage) times this book's."""
    torch.manual_seed(1)
    _, D = progan_pair(latent_dim=6, channels=1, widths=WIDTHS)
    D = D.double()
    x = torch.rand(8, 1, 32, 32, dtype=torch.float64) * 2 - 1
    for s in (1, 2, 3):
        ratio = _grad_norms(lambda y: D(y, s, 0.0), resize_to(x, resolution(s))) / \
            _grad_norms(lambda y: D(y, s - 1), resize_to(x, resolution(s - 1)))
        assert torch.allclose(ratio, torch.full_like(ratio, 0.5), rtol=1e-9, atol=0)
    for s in range(4):
        ratio = _grad_norms(lambda y: D(resize_to(y, resolution(s)), s), x) / \
            _grad_norms(lambda y: D(y, s), resize_to(x, resolution(s)))
        assert torch.allclose(ratio, torch.full_like(ratio, 2.0 ** -(3 - s)), rtol=1e-9, atol=0)


def _tiny_game(**kw):
    torch.manual_seed(0)
    images = torch.randint(0, 256, (40, 1, 32, 32), dtype=torch.uint8)
    G, D = progan_pair(latent_dim=6, channels=1, widths=WIDTHS)
    return ProGANGame(G, D, TensorSampler(images), **kw)


@pytest.mark.parametrize("stage", range(4))
def test_one_training_step_per_stage(stage):
    game = _tiny_game(stage_steps=1, fade_steps=1, fixed_stage=stage)
    t = GameTrainer(game, TrainConfig(steps=1, batch_size=8, gp_weight=10.0, lr_g=1e-3, lr_d=1e-3,
                                      betas=(0.0, 0.99), log_every=1, progress=False, ema_decay=0.9))
    before = [p.detach().clone() for p in game.G.parameters()]
    t.run()
    h = t.history
    assert h.stage == [stage] and h.resolution == [resolution(stage)] and math.isfinite(h.d_loss[0])
    changed = [not torch.equal(a, b) for a, b in zip(before, game.G.parameters())]
    assert any(changed)
    assert t.sample(3).shape == (3, 1, resolution(stage), resolution(stage))
    assert t.sample(3, full_size=True).shape == (3, 1, 32, 32)


def test_drift_term_and_loss_formula():
    game = _tiny_game(stage_steps=1, fade_steps=1, fixed_stage=1, drift=0.5)
    t = GameTrainer(game, TrainConfig(steps=1, batch_size=8, gp_weight=0.0, progress=False, seed=3))
    game.begin_step(t)
    torch.manual_seed(7)
    loss, out = game.d_loss(t)
    want = out["fake"].mean() - out["real"].mean() + 0.5 * out["real"].pow(2).mean()
    assert torch.allclose(loss, want) and torch.allclose(out["drift"], out["real"].pow(2).mean())


def test_growth_across_a_stage_boundary():
    game = _tiny_game(stage_steps=2, fade_steps=4)
    t = GameTrainer(game, TrainConfig(steps=9, batch_size=8, gp_weight=10.0, log_every=1, progress=False))
    t.run()
    h = t.history
    assert h.stage == [0, 0, 1, 1, 1, 1, 1, 1, 2]
    assert h.alpha == [1.0, 1.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.0]
    assert h.resolution[-1] == 16 and all(math.isfinite(v) for v in h.d_loss)
    # real images during the fade-in are blended at the same alpha
    game.stage, game.alpha = 1, 0.25
    x = game.real_batch(8)
    assert x.shape == (8, 1, 8, 8)
    no_fade = _tiny_game(stage_steps=2, fade_steps=4, fade=False)
    assert [no_fade.schedule(s) for s in (1, 2, 3, 7)] == [(0, 1.0), (1, 1.0), (1, 1.0), (1, 1.0)]


def test_adam_state_is_reset_when_a_phase_begins():
    """The official code's reset_opt_for_new_lod: at the start of every fade-in and of every stable phase
    after it, both optimisers forget their moments and step counts."""
    game = _tiny_game(stage_steps=2, fade_steps=2)
    cfg = TrainConfig(steps=7, batch_size=8, gp_weight=10.0, lr_g=1e-3, lr_d=1e-3, betas=(0.0, 0.99),
                      log_every=1, progress=False)
    t = GameTrainer(game, cfg)
    steps_seen = []
    t.callbacks.append(lambda tr: steps_seen.append(max(int(s["step"]) for s in tr.opt_g.state.values())))
    t.run()
    assert game.optimizer_resets == [2, 4, 6]   # fade of 8x8, stable 8x8, fade of 16x16
    # Adam's step count after each step: 1, 2, then from 1 again after each reset
    assert steps_seen == [1, 2, 1, 2, 1, 2, 1]
    kept = _tiny_game(stage_steps=2, fade_steps=2, reset_optimizers=False)
    t2 = GameTrainer(kept, cfg)
    t2.run()
    assert kept.optimizer_resets == [] and max(int(s["step"]) for s in t2.opt_d.state.values()) == 7
    no_fade = _tiny_game(stage_steps=2, fade_steps=2, fade=False)
    GameTrainer(no_fade, cfg).run()
    assert no_fade.optimizer_resets == [2, 6]    # new stages only


def test_samples_are_clamped_only_for_display():
    game = _tiny_game(stage_steps=1, fade_steps=1, fixed_stage=1)
    t = GameTrainer(game, TrainConfig(steps=1, batch_size=8, progress=False))
    with torch.no_grad():
        game.G.to_rgb[1].bias.fill_(3.0)      # push the raw output out of [-1, 1]
    z = torch.randn(5, 6)
    raw = game.G(z, 1)
    assert float(raw.max()) > 1
    assert torch.equal(t.sample(5, z=z), raw.clamp(-1, 1).detach())
    assert torch.equal(t.sample(5, z=z, clamp=False), raw.detach())


def test_game_rejects_mismatched_data():
    G, D = progan_pair(latent_dim=6, widths=WIDTHS)
    with pytest.raises(ValueError, match=r"sampler: expected images of shape \(1, 32, 32\)"):
        ProGANGame(G, D, TensorSampler(torch.zeros(4, 1, 28, 28, dtype=torch.uint8)), 1, 1)


def test_growth_dashboard_keeps_a_grid_per_stage_and_records_frames():
    pytest.importorskip("ipywidgets")
    from gantutor.growth_dashboard import GrowthDashboard

    game = _tiny_game(stage_steps=2, fade_steps=2)
    t = GameTrainer(game, TrainConfig(steps=8, batch_size=8, gp_weight=10.0, log_every=1, progress=False))
    dash = GrowthDashboard(t, steps_per_update=3, n_show=4)
    dash.run(8)
    assert t.step_count == 8 and len(dash.frames) == 3 and dash.train_cpu > 0
    assert sorted(dash.stage_grids) == [0, 1, 2]  # stages 0 and 1 kept at their ends, stage 2 live
    assert dash.stage_grids[1].shape == (4, 1, 8, 8) and "alpha" in dash.status.value
    assert dash.image.value[:4] == b"\x89PNG"


def test_growth_dashboard_start_reports_divergence_instead_of_dying_silently():
    pytest.importorskip("ipywidgets")
    from gantutor.growth_dashboard import GrowthDashboard
    from gantutor.train import TrainingDiverged

    game = _tiny_game(stage_steps=2, fade_steps=2)
    t = GameTrainer(game, TrainConfig(steps=8, batch_size=8, gp_weight=10.0, log_every=1, progress=False))
    dash = GrowthDashboard(t, steps_per_update=2, n_show=4)

    def diverge(steps, progress=False):
        raise TrainingDiverged("D loss nan at step 0")

    t.run = diverge
    dash.start()                                   # Start trains in a thread: it must end and say why
    dash._thread.join(timeout=30)
    assert not dash._thread.is_alive() and "Stopped" in dash.status.value and "nan" in dash.status.value
    assert dash.run(4) is dash and t.step_count == 0


def test_dense_bias_is_per_channel_and_position_as_documented():
    """The documented deviation from the official code (referee ch7, finding 7): the dense layer's bias
    has widths[0] * 16 entries (added before the reshape), where the official code has one per channel.
    A per-channel bias is the special case of 16 equal offsets per channel."""
    G = ProGANGenerator(8, 1, (6, 4))
    assert G.dense.bias.shape == (6 * 16,)
    assert "per channel AND position" in __import__("gantutor.models.progan", fromlist=["x"]).__doc__
    torch.manual_seed(0)
    z = torch.randn(3, 8)
    per_channel = torch.randn(6)
    with torch.no_grad():
        G.dense.bias.copy_(per_channel.repeat_interleave(16))
        mine = G.dense(G.normalize_z(z)).view(-1, 6, 4, 4)
        official = (F.linear(G.normalize_z(z), G.dense.weight * G.dense.scale).view(-1, 6, 4, 4)
                    + per_channel.view(1, 6, 1, 1))
    assert torch.allclose(mine, official, atol=1e-6)
