"""StyleGAN's layers, networks and game against their formulas (Karras et al., 2019; 2020)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gantutor.config import TrainConfig
from gantutor.data import TensorSampler
from gantutor.layers.style import (AdaIN, NoiseInjection, ModulatedConv2d, adain, modulated_conv2d,
                                   modulated_conv2d_reference, modulated_weight, EqualizedLinear,
                                   EqualizedConv2d)
from gantutor.layers.progressive import EqualizedConv2d as ProgressiveConv2d, minibatch_stddev
from gantutor.models.stylegan import (MappingNetwork, ResidualDiscriminator, StyleGenerator, describe_levels,
                                      level_groups, level_layers, level_resolution, mix_styles, truncate)
from gantutor.models.stylegan_game import StyleGANGame, ns_d_loss, ns_g_loss, path_lengths, r1_penalty
from gantutor.train.core import GameTrainer

SMALL = (16, 16, 8, 8)


def test_adain_output_has_the_styles_mean_and_std():
    torch.manual_seed(0)
    x = 3 * torch.randn(4, 5, 8, 8) + 2
    y_s, y_b = torch.rand(4, 5) + 0.5, torch.randn(4, 5)
    out = adain(x, y_s, y_b)
    assert torch.allclose(out.mean(dim=(2, 3)), y_b, atol=1e-5)
    assert torch.allclose(out.std(dim=(2, 3), unbiased=False), y_s, atol=1e-4)
    # per sample: one sample's statistics do not depend on the others (instance, not batch, norm)
    assert torch.allclose(adain(x[:1], y_s[:1], y_b[:1]), out[:1])


def test_adain_module_starts_as_instance_norm_and_rejects_bad_shapes():
    layer = AdaIN(3, 6)
    with torch.no_grad():
        layer.affine.weight.zero_()
    x = torch.randn(2, 3, 4, 4)
    out = layer(x, torch.randn(2, 6))
    assert torch.allclose(out.std(dim=(2, 3), unbiased=False), torch.ones(2, 3), atol=1e-4)
    with pytest.raises(ValueError, match="y_s: expected shape"):
        adain(x, torch.ones(2, 4), torch.zeros(2, 4))


def test_noise_injection_scales_one_map_per_channel():
    layer = NoiseInjection(3)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.0, 1.0, -2.0]))
    x, n = torch.zeros(2, 3, 4, 4), torch.randn(2, 1, 4, 4)
    out = layer(x, n)
    assert torch.equal(out[:, 0], torch.zeros(2, 4, 4))
    assert torch.allclose(out[:, 1], n[:, 0]) and torch.allclose(out[:, 2], -2 * n[:, 0])
    with pytest.raises(ValueError, match=r"noise: expected a tensor \[N, 1, H, W\]"):
        layer(x, torch.randn(2, 3, 4, 4))


def test_demodulated_weights_have_unit_norm_per_output_channel():
    torch.manual_seed(1)
    w = modulated_weight(torch.randn(6, 4, 3, 3), torch.rand(2, 4) * 3, eps=0.0)
    assert torch.allclose(w.square().sum(dim=(2, 3, 4)), torch.ones(2, 6), atol=1e-5)
    # modulation scales input channel i: w'_ijk / w_ijk = s_i
    base, s = torch.randn(6, 4, 3, 3), torch.rand(2, 4) + 0.5
    mod = modulated_weight(base, s, demodulate=False)
    assert torch.allclose(mod / base, s[:, None, :, None, None].expand_as(mod), atol=1e-5)


def test_demodulated_conv_of_unit_variance_inputs_gives_unit_variance_outputs():
    torch.manual_seed(2)
    x = torch.randn(4, 16, 64, 64, dtype=torch.float64)
    out = modulated_conv2d(x, torch.randn(8, 16, 3, 3, dtype=torch.float64),
                           torch.rand(4, 16, dtype=torch.float64) * 4)
    inner = out[:, :, 1:-1, 1:-1]  # zero padding lowers the variance at the border
    assert abs(float(inner.var()) - 1.0) < 0.05
    assert torch.allclose(inner.var(dim=(0, 2, 3)), torch.ones(8, dtype=torch.float64), atol=0.15)


@pytest.mark.parametrize("demodulate", [True, False])
def test_grouped_convolution_equals_the_per_sample_form(demodulate):
    torch.manual_seed(3)
    x, weight, s = torch.randn(3, 5, 7, 7), torch.randn(4, 5, 3, 3), torch.randn(3, 5)
    assert torch.allclose(modulated_conv2d(x, weight, s, demodulate), modulated_conv2d_reference(x, weight, s, demodulate),
                          atol=1e-5)
    with pytest.raises(ValueError, match=r"s: expected \[N, C_in\]"):
        modulated_conv2d(x, weight, torch.randn(3, 4))


def test_modulated_conv_layer_upsamples():
    layer = ModulatedConv2d(4, 6, 3, 8, upsample=True)
    assert layer(torch.randn(2, 4, 5, 5), torch.randn(2, 8)).shape == (2, 6, 10, 10)


def test_bilinear_upsampling_is_zero_insertion_and_the_1331_filter_except_at_the_border():
    """ModulatedConv2d's docstring: bilinear 2x = zeros inserted, then [1, 3, 3, 1] / 4 per axis (the paper's
    upfirdn2d filter, zero padding), exactly in the interior; at the border the two differ."""
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    bilinear = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    stuffed = torch.zeros(2, 3, 12, 12, dtype=torch.float64)
    stuffed[..., ::2, ::2] = x
    k = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=torch.float64)
    kernel = (k[:, None] * k[None, :] / 16).expand(3, 1, 4, 4)
    fir = F.conv2d(F.pad(stuffed, (2, 1, 2, 1)), kernel, groups=3)
    assert torch.allclose(bilinear[..., 1:-1, 1:-1], fir[..., 1:-1, 1:-1], atol=1e-12)
    assert not torch.allclose(bilinear, fir, atol=1e-3)


def test_equalised_linear_scales_at_run_time_by_lr_mul_over_sqrt_fan_in():
    layer = EqualizedLinear(16, 3, lr_mul=0.01)
    x = torch.randn(5, 16)
    want = x @ (layer.weight * 0.01 / 4).T + layer.bias * 0.01
    assert torch.allclose(layer(x), want, atol=1e-6)
    assert 50 < float(layer.weight.detach().std()) < 200  # stored N(0, 1) / lr_mul
    with pytest.raises(ValueError, match="lr_mul"):
        EqualizedLinear(4, 2, lr_mul=0.0)


def test_equalised_conv_is_chapter_7s_layer_at_gain_1_with_optional_bias():
    conv = EqualizedConv2d(3, 5, 3)
    assert isinstance(conv, ProgressiveConv2d) and conv.scale == pytest.approx(1 / 27 ** 0.5)
    x = torch.randn(2, 3, 6, 6)
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1), atol=1e-6)
    plain = EqualizedConv2d(3, 5, 1, bias=False)
    assert plain.bias is None and set(plain.state_dict()) == {"weight"}
    assert torch.allclose(plain(x), F.conv2d(x, plain.weight / 3 ** 0.5), atol=1e-6)


def test_mapping_tracks_w_avg_and_truncation_moves_toward_it():
    torch.manual_seed(4)
    f = MappingNetwork(8, 8, n_layers=2, avg_beta=0.5)
    w = f(torch.randn(16, 8))  # training mode: w_avg <- 0 + 0.5 (mean w - 0)
    assert torch.allclose(f.w_avg, 0.5 * w.mean(0), atol=1e-6)
    f.eval()
    before = f.w_avg.clone()
    f(torch.randn(4, 8))
    assert torch.equal(f.w_avg, before)
    ws, avg = torch.randn(3, 8, 8), torch.randn(8)
    assert torch.allclose(truncate(ws, avg, 0.0), avg.expand(3, 8, 8))
    assert torch.allclose(truncate(ws, avg, 1.0), ws)
    half = truncate(ws, avg, 0.5)
    assert torch.allclose((half - avg).norm(dim=2), 0.5 * (ws - avg).norm(dim=2), atol=1e-5)
    per = truncate(ws, avg, [0.0] * 4 + [1.0] * 4)
    assert torch.allclose(per[:, :4], avg.expand(3, 4, 8)) and torch.allclose(per[:, 4:], ws[:, 4:])
    with pytest.raises(ValueError, match="psi: expected one value per level"):
        truncate(ws, avg, [0.5] * 3)


def test_mixing_takes_levels_below_the_crossover_from_w1():
    w1, w2 = torch.zeros(2, 4), torch.ones(2, 4)
    ws = mix_styles(w1, w2, 3)
    assert ws.shape == (2, 8, 4) and ws[:, :3].eq(0).all() and ws[:, 3:].eq(1).all()
    assert [level_resolution(i, "adain") for i in range(8)] == [4, 4, 8, 8, 16, 16, 32, 32]
    assert [level_resolution(i) for i in range(8)] == [4, 8, 8, 16, 16, 32, 32, 32]
    assert level_groups() == {"coarse": (0, 3), "middle": (3, 5), "fine": (5, 8)}
    assert level_groups("adain") == {"coarse": (0, 4), "middle": (4, 6), "fine": (6, 8)}
    assert describe_levels(0, 2) == "conv 4, toRGB 4, conv up 8"


@pytest.mark.parametrize("kind", ["stylegan2", "adain"])
def test_level_layers_is_what_synthesis_does(kind):
    """Measured, not read from block_levels: change one level of ws, see which styled layers get a new w."""
    torch.manual_seed(12)
    G = StyleGenerator(8, 8, SMALL, kind=kind, mapping_layers=2).eval()
    names = {}
    for b, block in enumerate(G.blocks):
        r = 4 * 2 ** b
        if kind == "adain":
            names[block.adain0.affine], names[block.adain1.affine] = ("AdaIN 0", r), ("AdaIN 1", r)
        else:
            if block.conv0 is not None:
                names[block.conv0.affine] = ("conv up", r)
            names[block.conv1.affine], names[block.to_rgb.affine] = ("conv", r), ("toRGB", r)
    seen = {}
    hooks = [m.register_forward_hook(lambda m, inp, out: seen.__setitem__(m, inp[0].clone())) for m in names]
    ws = G.styles(torch.randn(1, 8))
    with torch.no_grad():
        G.synthesis(ws, "zero")
        base = dict(seen)
        for level, expected in enumerate(level_layers(kind)):
            moved = ws.clone()
            moved[:, level] += 1.0
            G.synthesis(moved, "zero")
            changed = sorted((names[m] for m in names if not torch.equal(seen[m], base[m])), key=lambda t: t[1])
            assert changed == expected, (level, changed)
    for h in hooks:
        h.remove()


@pytest.mark.parametrize("kind", ["stylegan2", "adain"])
def test_mixing_crossover_changes_only_the_levels_after_it(kind):
    torch.manual_seed(5)
    G = StyleGenerator(8, 8, SMALL, kind=kind, mapping_layers=2).eval()
    z1, z2 = torch.randn(2, 8), torch.randn(2, 8)
    a = G.synthesis(G.styles(z1), noise="zero")
    # crossover 8: nothing from z2; crossover 0: all from z2
    assert torch.allclose(G.synthesis(G.styles(z1, z2=z2, crossover=8), noise="zero"), a)
    assert torch.allclose(G.synthesis(G.styles(z1, z2=z2, crossover=0), noise="zero"),
                          G.synthesis(G.styles(z2), noise="zero"), atol=1e-6)
    mixed = G.synthesis(G.styles(z1, z2=z2, crossover=4), noise="zero")
    assert not torch.allclose(mixed, a)


@pytest.mark.parametrize("kind", ["stylegan2", "adain"])
def test_generator_and_discriminator_shapes(kind):
    G = StyleGenerator(8, 8, SMALL, img_channels=3, kind=kind, mapping_layers=2)
    img = G(torch.randn(4, 8))
    assert img.shape == (4, 3, 32, 32)
    assert len(G.make_noise(4)) == len(G.noise_resolutions)
    D = ResidualDiscriminator(SMALL, img_channels=3)
    assert D(img).shape == (4,)
    with pytest.raises(ValueError, match=r"x: expected a float tensor \[N, 3, 32, 32\]"):
        D(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="kind"):
        StyleGenerator(kind="progan")


def test_noise_changes_the_image_and_zero_noise_is_deterministic():
    torch.manual_seed(6)
    G = StyleGenerator(8, 8, SMALL, mapping_layers=2).eval()
    for block in G.blocks:
        for m in block.modules():
            if isinstance(m, NoiseInjection):
                torch.nn.init.constant_(m.weight, 0.5)
    ws = G.styles(torch.randn(2, 8))
    assert torch.equal(G.synthesis(ws, "zero"), G.synthesis(ws, "zero"))
    assert not torch.allclose(G.synthesis(ws, "random"), G.synthesis(ws, "random"))


def test_minibatch_stddev_appends_the_group_std():
    x = torch.randn(8, 3, 4, 4)
    out = minibatch_stddev(x, 4)
    assert out.shape == (8, 4, 4, 4)
    want = x.reshape(4, 2, 3, 4, 4).std(dim=0, unbiased=False).mean(dim=(1, 2, 3))
    assert torch.allclose(out[:2, 3, 0, 0], want, atol=1e-4) and torch.allclose(out[2:4, 3, 0, 0], want, atol=1e-4)


def test_path_length_by_autograd_matches_finite_differences():
    torch.manual_seed(7)
    G = StyleGenerator(4, 4, SMALL, mapping_layers=2).double().eval()
    synth = lambda v: G.synthesis(v[:, None].repeat(1, G.num_ws, 1), noise="zero")
    w = torch.randn(2, 4, dtype=torch.float64)
    y = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    got = path_lengths(synth, w, y, create_graph=False)
    h, jty = 1e-7, torch.zeros(2, 4, dtype=torch.float64)  # small: leaky ReLU kinks
    with torch.no_grad():
        for d in range(4):
            e = torch.zeros(4, dtype=torch.float64)
            e[d] = h
            jty[:, d] = ((synth(w + e) - synth(w - e)) * y).flatten(1).sum(1) / (2 * h)
    assert torch.allclose(got, jty.norm(dim=1), rtol=1e-5)


def test_r1_is_the_squared_input_gradient_norm():
    torch.manual_seed(9)
    a, x = torch.randn(1, 3, 2, 2), torch.randn(5, 3, 2, 2)
    D = lambda v: (a * v).flatten(1).sum(1) + v.square().flatten(1).sum(1)  # grad_x D = a + 2x
    assert torch.allclose(r1_penalty(D, x), (a + 2 * x).square().flatten(1).sum(1).mean(), atol=1e-5)


def test_logistic_losses():
    r, f = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    want_d = -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean())
    assert torch.allclose(ns_d_loss(r, f), want_d, atol=1e-6)
    assert torch.allclose(ns_g_loss(f), -torch.log(torch.sigmoid(f)).mean(), atol=1e-6)


def test_one_training_run_with_lazy_regularisers_and_ema():
    torch.manual_seed(8)
    images = (torch.rand(64, 1, 32, 32) * 255).to(torch.uint8)
    G = StyleGenerator(8, 8, SMALL, img_channels=1, mapping_layers=2)
    D = ResidualDiscriminator(SMALL, img_channels=1)
    game = StyleGANGame(G, D, TensorSampler(images), r1_gamma=1.0, pl_weight=2.0)
    cfg = TrainConfig(steps=4, batch_size=8, d_reg_every=2, g_reg_every=2, ema_decay=0.9, progress=False,
                      log_every=2, device="cpu")
    trainer = GameTrainer(game, cfg).run()
    h = trainer.history.as_dict()
    assert len(h["step"]) == 2 and all(math.isfinite(v) for v in h["r1"] + h["pl_length"])
    assert float(game.pl_mean) > 0
    assert torch.equal(trainer.G_ema.mapping.w_avg, G.mapping.w_avg)  # buffers copied
    assert trainer.sample(3, psi=0.5).shape == (3, 1, 32, 32)
    with pytest.raises(ValueError, match="r1_gamma"):
        StyleGANGame(G, D, TensorSampler(images), r1_gamma=-1)


def test_style_explorer_and_live_run_draw_pictures():
    pytest.importorskip("ipywidgets")
    from gantutor.widgets_style import LiveRun, StyleExplorer

    torch.manual_seed(10)
    G = StyleGenerator(8, 8, SMALL, mapping_layers=2)
    explorer = StyleExplorer(G, n_grid=4)
    first = explorer.image.value
    assert first[:4] == b"\x89PNG"
    explorer.psi.value = 0.0                             # a slider change redraws the picture
    assert bytes(explorer.image.value) != bytes(first)
    explorer.level_psi[0].value = 0.5
    explorer.psi.value = 0.8
    assert explorer.psi_per_level() == pytest.approx([0.4] + [0.8] * 7)   # slider 4x4 = level 0 only (StyleGAN2)
    with torch.no_grad():                                # noise strengths start at 0: switch them on
        for m in G.modules():
            if isinstance(m, NoiseInjection):
                m.weight.fill_(0.5)
    explorer.crossover.value = G.num_ws                  # the mix shares A's and B's noise maps: all from A is A
    top, _ = explorer.images()
    assert torch.equal(top[2], top[0]) and not torch.equal(top[2], top[1])
    explorer.crossover.value = 0                         # all from B is B
    top, _ = explorer.images()
    assert torch.equal(top[2], top[1])
    images = (torch.rand(32, 3, 32, 32) * 255).to(torch.uint8)
    game = StyleGANGame(G, ResidualDiscriminator(SMALL), TensorSampler(images))
    trainer = GameTrainer(game, TrainConfig(steps=2, batch_size=4, log_every=1, progress=False, device="cpu"))
    panel = LiveRun(trainer, steps_per_click=2).train()
    assert trainer.step_count == 2 and panel.image.value[:4] == b"\x89PNG"


def test_emoji_recipe_runs_tiny_and_loads(tmp_path):
    from gantutor import pretrain
    from gantutor.data import DataNotFoundError

    try:
        path = pretrain.run("stylegan2-emoji", tiny=True, out=tmp_path / "sg.pt")
    except DataNotFoundError as exc:
        pytest.skip(f"emoji data not available: {exc}")
    G, record = pretrain.load("stylegan2-emoji", path)
    assert isinstance(G, StyleGenerator) and record["info"]["steps"] == 4 and record["info"]["tiny"]
    assert G(torch.randn(2, G.z_dim)).shape == (2, 3, 32, 32)
