"""Cases of tools/probe_bad_input.py for the chapter 7-9 modules (ProGAN, StyleGAN, CycleGAN, emoji
metrics, colour MNIST, translation scores). Run with ``--new``; tests/test_bad_input.py requires them
clean in a test of their own."""
from __future__ import annotations

import math

import torch

IMG_KINDS = ("None", "list", "string", "numpy", "nan", "no-batch-axis", "empty", "uint8", "range255")


def cases(f, P):
    C = []
    g = torch.Generator().manual_seed(0)
    try:
        from gantutor.models import progan
        G, D = progan.progan_pair(latent_dim=8, channels=1, widths=(8, 8, 8, 8))
        z = torch.randn(2, 8, generator=g)
        C += P.tensor_battery("models.progan.ProGANGenerator.forward", "z", lambda v: G(v, stage=0), z,
                              ("None", "list", "string", "nan", "no-batch-axis", "int64"), numpy_ok=P._finite_result)
        C += [c for c in P.number_battery("models.progan.ProGANGenerator.forward", "stage", lambda v: G(z, stage=v),
                                          "nonneg_int", extra=(7,)) if "None" not in c.label]  # None = last stage
        C += P.number_battery("models.progan.ProGANGenerator.forward", "alpha", lambda v: G(z, stage=1, alpha=v), "prob")
        x = torch.rand(2, 1, 4, 4, generator=g) * 2 - 1
        C += P.tensor_battery("models.progan.ProGANDiscriminator.forward", "x", lambda v: D(v, stage=0), x, IMG_KINDS,
                              numpy_ok=P._finite_result)
        C += P.number_battery("models.progan.progan_pair", "latent_dim", lambda v: progan.progan_pair(latent_dim=v), "pos_int")
    except ImportError:
        pass
    try:
        from gantutor.models import stylegan
        M = stylegan.MappingNetwork(z_dim=8, w_dim=8, n_layers=2)
        C += P.tensor_battery("models.stylegan.MappingNetwork.forward", "z", M, torch.randn(2, 8, generator=g),
                              ("None", "list", "string", "nan", "no-batch-axis", "int64"), numpy_ok=P._finite_result)
        w = torch.randn(2, 8, generator=g)
        ws = w[:, None].repeat(1, 3, 1)
        C += [P.one("models.stylegan.truncate(psi=nan)", "psi", lambda: stylegan.truncate(ws, w[0], math.nan)),
              P.one("models.stylegan.truncate(ws=None)", "ws", lambda: stylegan.truncate(None, w[0], 0.5)),
              P.one("models.stylegan.mix_styles(crossover=-1)", "crossover", lambda: stylegan.mix_styles(w, w, -1)),
              P.one("models.stylegan.mix_styles(w2=None)", "w2", lambda: stylegan.mix_styles(w, None, 2))]
    except ImportError:
        pass
    try:
        from gantutor.models import cyclegan
        R = cyclegan.ResnetGenerator(ngf=4, n_blocks=1)
        PD = cyclegan.PatchDiscriminator(ndf=4, n_layers=1)
        x = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
        C += P.tensor_battery("models.cyclegan.ResnetGenerator.forward", "x", R, x, IMG_KINDS, numpy_ok=P._finite_result)
        C += P.tensor_battery("models.cyclegan.PatchDiscriminator.forward", "x", PD, x, IMG_KINDS, numpy_ok=P._finite_result)
        C += P.number_battery("models.cyclegan.ResnetGenerator", "ngf", lambda v: cyclegan.ResnetGenerator(ngf=v), "pos_int")
        C += P.number_battery("models.cyclegan.PatchDiscriminator", "n_layers", lambda v: cyclegan.PatchDiscriminator(n_layers=v), "pos_int")
    except ImportError:
        pass
    try:
        from gantutor.layers import progressive as pr, style as st
        a = torch.randn(2, 4, 3, 3, generator=g)
        # (NaN through pixel_norm, a layer inside the training loop, is left to the divergence guard)
        C += P.tensor_battery("layers.progressive.pixel_norm", "a", pr.pixel_norm, a, ("None", "list", "string", "int64"),
                              numpy_ok=P._finite_result)
        C += P.tensor_battery("layers.progressive.minibatch_stddev", "x", pr.minibatch_stddev, a,
                              ("None", "list", "string", "no-batch-axis", "int64"), numpy_ok=P._finite_result)
        C += P.number_battery("layers.progressive.minibatch_stddev", "group_size", lambda v: pr.minibatch_stddev(a, v), "pos_int")
        C += P.number_battery("layers.progressive.EqualizedLinear", "in_features", lambda v: pr.EqualizedLinear(v, 2), "pos_int")
        s = torch.ones(2, 4)
        wt = torch.randn(5, 4, 3, 3, generator=g)
        C += P.tensor_battery("layers.style.modulated_conv2d", "x", lambda v: st.modulated_conv2d(v, wt, s), a,
                              ("None", "list", "string", "no-batch-axis", "int64"), numpy_ok=P._finite_result)
        C += P.tensor_battery("layers.style.modulated_conv2d", "s", lambda v: st.modulated_conv2d(a, wt, v), s,
                              ("None", "list", "string", "nan", "no-batch-axis"), numpy_ok=P._finite_result)
        C += P.tensor_battery("layers.style.adain", "x", lambda v: st.adain(v, torch.ones(2, 4), torch.zeros(2, 4)), a,
                              ("None", "list", "string", "no-batch-axis", "int64"), numpy_ok=P._finite_result)
    except ImportError:
        pass
    try:
        from gantutor.metrics import translation as tr
        x = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1
        for name in ("paired_l1", "psnr", "retrieval_rate", "translation_scores"):
            fn = getattr(tr, name)
            C += P.tensor_battery(f"metrics.translation.{name}", "translated", lambda v, fn=fn: fn(v, x), x,
                                  ("None", "list", "string", "nan", "uint8", "no-batch-axis"), numpy_ok=lambda r: True)
    except ImportError:
        pass
    try:
        from gantutor.metrics import emoji as me
        x = torch.rand(4, 3, 32, 32, generator=g) * 2 - 1
        for name in ("emoji_features", "style_probability", "category_probabilities"):
            fn = getattr(me, name)
            C += P.tensor_battery(f"metrics.emoji.{name}", "images", fn, x, IMG_KINDS, numpy_ok=P._finite_result)
        C += [P.one("metrics.emoji.style_accuracy(style='apple')", "style", lambda: me.style_accuracy(x, "apple"))]
    except ImportError:
        pass
    try:
        from gantutor.data import colour_mnist as cm
        grey = torch.rand(4, 1, 8, 8, generator=g) * 2 - 1
        C += P.tensor_battery("data.colour_mnist.colourise", "grey", lambda v: cm.colourise(v, torch.rand(4)), grey,
                              ("None", "list", "string", "nan", "uint8", "no-batch-axis"), numpy_ok=P._finite_result)
        C += P.tensor_battery("data.colour_mnist.colourise", "hue", lambda v: cm.colourise(grey, v), torch.rand(4),
                              ("None", "list", "string", "nan", "extra-axis"), numpy_ok=P._finite_result)
    except ImportError:
        pass
    return C
