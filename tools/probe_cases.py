"""The cases of tools/probe_bad_input.py: every public function of the user-facing modules with the bad
values a learner gives (None, a list, a string, numpy, NaN, infinity, the wrong dtype, shape or range,
numbers out of range, unknown names)."""
from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path

import numpy as np
import torch

IMG_KINDS = ("None", "list", "string", "numpy", "nan", "inf", "no-batch-axis", "empty", "uint8", "range255", "bool")
LOGIT_KINDS = ("None", "list", "string", "numpy", "nan", "inf", "extra-axis", "empty", "int64", "bool", "scalar")
VEC_KINDS = ("None", "list", "string", "numpy", "nan", "inf", "no-batch-axis", "empty", "int64")


def cases(f, P):
    C: list = []
    C += _data(f, P)
    C += _losses(f, P)
    C += _layers(f, P)
    C += _models(f, P)
    C += _train(f, P)
    C += _metrics(f, P)
    C += _plots(f, P)
    C += _rest(f, P)
    from probe_cases_more import more  # widgets, conditional, theory, zoo, bench, checks, checkpoints
    C += more(f, P)
    return C


def _data(f, P):
    from gantutor import data as d

    C = []
    img, u8, y = f["img"], f["img_u8"], f["labels"]
    C += P.tensor_battery("data.to_signed", "images_uint8", d.to_signed, u8.float() / 127.5 - 1,
                          ("None", "list", "string", "nan", "range255", "bool"))
    inp = img.clone()

    def signed_float():  # must refuse, and never write into its input
        try:
            return d.to_signed(inp)
        finally:
            assert torch.equal(inp, img), "to_signed wrote into its input"
    C.append(P.one("data.to_signed(images_uint8=float in [-1, 1])", "images_uint8", signed_float))
    C += [P.one("data.to_signed(images_uint8=numpy uint8)", "images_uint8", lambda: d.to_signed(u8.numpy()),
                ok=lambda r: torch.equal(r, d.to_signed(u8)))]
    C += P.tensor_battery("data.to_uint8", "images", d.to_uint8, img,
                          ("None", "list", "string", "nan", "inf", "range255", "bool", "int64"))
    C += [P.one("data.to_uint8(images=uint8)", "images", lambda: d.to_uint8(u8))]
    C += [P.one("data.to_uint8(images=numpy float)", "images", lambda: d.to_uint8(img.numpy()),
                ok=lambda r: r.dtype == torch.uint8)]
    C += P.tensor_battery("data.TensorSampler", "images", lambda v: d.TensorSampler(v), u8.float(),
                          ("None", "list", "string", "nan", "no-batch-axis", "empty", "bool"))
    C += [P.one("data.TensorSampler(images=float [-1, 1])", "images", lambda: d.TensorSampler(img)),
          P.one("data.TensorSampler(images=numpy uint8)", "images", lambda: d.TensorSampler(u8.numpy()),
                ok=lambda s: s.sample(4)[0].shape == (4, 1, 28, 28)),
          P.one("data.TensorSampler(labels=195 with n_classes=10)", "labels",
                lambda: d.TensorSampler(u8, y + 186, n_classes=10)),
          P.one("data.TensorSampler(labels=-1)", "labels", lambda: d.TensorSampler(u8, y - 1, n_classes=10)),
          P.one("data.TensorSampler(labels=float)", "labels", lambda: d.TensorSampler(u8, y.float(), n_classes=10)),
          P.one("data.TensorSampler(labels=list)", "labels", lambda: d.TensorSampler(u8, y.tolist(), n_classes=10)),
          P.one("data.TensorSampler(labels=wrong length)", "labels", lambda: d.TensorSampler(u8, y[:3], n_classes=10)),
          P.one("data.TensorSampler(labels=[N, 1])", "labels", lambda: d.TensorSampler(u8, y[:, None], n_classes=10)),
          P.one("data.TensorSampler(labels=int16)", "labels", lambda: d.TensorSampler(u8, y.short(), n_classes=10),
                ok=lambda s: s.sample(4)[1].dtype == torch.int64),
          P.one("data.TensorSampler(labels given, n_classes=0)", "n_classes", lambda: d.TensorSampler(u8, y)),
          P.one("data.TensorSampler(n_classes='10')", "n_classes", lambda: d.TensorSampler(u8, y, n_classes="10"))]
    C += P.number_battery("data.TensorSampler.sample", "n", lambda v: f["sampler"].sample(v), "pos_int")
    C += [P.one("data.TensorSampler.sample(n=10 from 4 images)", "n",
                lambda: d.TensorSampler(u8[:4]).sample(10), ok=lambda r: r[0].shape[0] == 10)]
    C += P.number_battery("data.ring8", "std", lambda v: d.ring8(std=v), "pos_float")
    C += P.number_battery("data.ring8", "radius", lambda v: d.ring8(radius=v), "pos_float")
    C += P.number_battery("data.grid25", "spacing", lambda v: d.grid25(spacing=v), "pos_float")
    C += P.number_battery("data.gaussian_mixture_1d", "stds", lambda v: d.gaussian_mixture_1d([0, 1], v), "pos_float")
    C += [P.one("data.gaussian_mixture_1d(means=None)", "means", lambda: d.gaussian_mixture_1d(None, 1.0)),
          P.one("data.gaussian_mixture_1d(means=[nan])", "means", lambda: d.gaussian_mixture_1d([float("nan")], 1.0)),
          P.one("data.gaussian_mixture_1d(means='ab')", "means", lambda: d.gaussian_mixture_1d("ab", 1.0)),
          P.one("data.gaussian_mixture_1d(weights=[2, -1])", "weights", lambda: d.gaussian_mixture_1d([0, 1], 1.0, [2, -1])),
          P.one("data.GaussianMixture(means=None)", "means", lambda: d.GaussianMixture(None, 1.0)),
          P.one("data.GaussianMixture(means=[[inf, 0]])", "means", lambda: d.GaussianMixture([[math.inf, 0.0]], 1.0)),
          P.one("data.GaussianMixture(means=[])", "means", lambda: d.GaussianMixture(torch.zeros(0, 2), 1.0))]
    C += P.number_battery("data.GaussianMixture.sample", "n", lambda v: f["ring"].sample(v), "pos_int")
    C += P.tensor_battery("data.GaussianMixture.density", "x", f["ring"].density, f["pts"],
                          ("None", "string", "nan", "extra-axis", "bool"), numpy_ok=P._finite_result)
    C += [P.one("data.GaussianMixture.density(x=[N, 3])", "x", lambda: f["ring"].density(torch.zeros(4, 3))),
          P.one("data.load_mnist(train=None)", "train", lambda: d.load_mnist(train=None)),
          P.one("data.load_mnist(train='test')", "train", lambda: d.load_mnist(train="test")),
          P.one("data.load_mnist(root=3)", "root", lambda: d.load_mnist(root=3)),
          P.one("data.load_mnist(root=missing, download=False)", "root",
                lambda: d.load_mnist(root="/nonexistent/mnist", download=False), names=("GANTUTOR_DATA",)),
          P.one("data.load_mnist(download='no')", "download", lambda: d.load_mnist(root="/nonexistent", download="no")),
          P.one("data.mnist_sampler(digits=[11])", "digits", lambda: d.mnist_sampler(digits=[11])),
          P.one("data.mnist_sampler(digits=[])", "digits", lambda: d.mnist_sampler(digits=[])),
          P.one("data.mnist_sampler(digits=3)", "digits", lambda: d.mnist_sampler(digits=3)),
          P.one("data.mnist_sampler(digits='37')", "digits", lambda: d.mnist_sampler(digits="37")),
          P.one("data.mnist_sampler(digits=[1.5])", "digits", lambda: d.mnist_sampler(digits=[1.5])),
          P.one("data.mnist_sampler(labelled='yes')", "labelled", lambda: d.mnist_sampler(labelled="yes")),
          P.one("data.mnist_sampler(train=None)", "train", lambda: d.mnist_sampler(train=None)),
          P.one("data.read_idx(path=not IDX)", "path", lambda: d.read_idx(Path(__file__)))]
    try:
        from gantutor.data import emoji  # noqa: F401
    except ImportError:
        return C
    C += [P.one("data.load_emoji(style='apple')", "style", lambda: d.load_emoji(style="apple")),
          P.one("data.load_emoji(size=28)", "size", lambda: d.load_emoji(size=28)),
          P.one("data.load_emoji(size='32')", "size", lambda: d.load_emoji(size="32")),
          P.one("data.emoji_sampler(style=None)", "style", lambda: d.emoji_sampler(style=None)),
          P.one("data.emoji_sampler(size=0)", "size", lambda: d.emoji_sampler(size=0)),
          P.one("data.emoji_sampler(codepoints='1F600')", "codepoints", lambda: d.emoji_sampler(codepoints="1F600")),
          P.one("data.emoji_sampler(codepoints=[])", "codepoints", lambda: d.emoji_sampler(codepoints=[])),
          P.one("data.load_emoji(root=3)", "root", lambda: d.load_emoji(root=3)),
          P.one("data.load_emoji(download='no')", "download", lambda: d.load_emoji(root="/nonexistent", download="no")),
          P.one("data.common_codepoints(root=3)", "root", lambda: d.common_codepoints(root=3))]
    return C


def _losses(f, P):
    from gantutor import losses as L

    C = []
    r = f["logits"]
    for name in ("d_bce", "d_lsgan", "d_lsgan8", "d_wasserstein", "d_hinge", "d_conditional_bce"):
        fn = getattr(L, name)
        arg = "real_logits" if name in ("d_bce", "d_conditional_bce") else "real_out"
        arg2 = "fake_logits" if name in ("d_bce", "d_conditional_bce") else "fake_out"
        C += P.tensor_battery(f"losses.{name}", arg, lambda v, fn=fn: fn(v, r), r, LOGIT_KINDS)
        C += P.tensor_battery(f"losses.{name}", arg2, lambda v, fn=fn: fn(r, v), r, ("None", "nan", "string"))
    for name in ("g_minimax", "g_nonsaturating", "g_lsgan", "g_lsgan8", "g_wasserstein", "g_hinge"):
        fn = getattr(L, name)
        arg = "fake_logits" if name in ("g_minimax", "g_nonsaturating") else "fake_out"
        C += P.tensor_battery(f"losses.{name}", arg, fn, r, ("None", "list", "numpy", "nan", "inf", "extra-axis", "empty", "int64"))
    C += P.number_battery("losses.d_least_squares", "a", lambda v: L.d_least_squares(r, r, a=v, b=1.0), "finite")
    C += P.number_battery("losses.d_least_squares", "b", lambda v: L.d_least_squares(r, r, a=0.0, b=v), "finite")
    C += P.number_battery("losses.g_least_squares", "c", lambda v: L.g_least_squares(r, c=v), "finite")
    C += P.number_battery("losses.d_conditional_bce", "mismatch_weight",
                          lambda v: L.d_conditional_bce(r, r, r, mismatch_weight=v), "nonneg_float")
    C += P.tensor_battery("losses.d_conditional_bce", "mismatch_logits", lambda v: L.d_conditional_bce(r, r, v),
                          r, ("list", "string", "nan", "extra-axis"))
    x = f["pts"][:8]
    D = f["tD"]
    C += P.tensor_battery("losses.gradient_penalty", "real", lambda v: L.gradient_penalty(D, v, x), x,
                          ("None", "list", "string", "numpy", "nan", "inf", "no-batch-axis", "empty", "int64"))
    C += P.tensor_battery("losses.gradient_penalty", "fake", lambda v: L.gradient_penalty(D, x, v), x,
                          ("None", "nan", "inf", "string"))
    C += [P.one("losses.gradient_penalty(D=None)", "D", lambda: L.gradient_penalty(None, x, x)),
          P.one("losses.gradient_penalty(D=not differentiable)", "D", lambda: L.gradient_penalty(lambda t: torch.ones(len(t)), x, x))]
    C += P.number_battery("losses.gradient_penalty", "center", lambda v: L.gradient_penalty(D, x, x, center=v), "finite")
    yl = f["labels"]
    C += P.tensor_battery("losses.mismatched_labels", "y", lambda v: L.mismatched_labels(v, 10), yl.float(),
                          ("None", "list", "string", "extra-axis", "bool"), numpy_ok=lambda r: r.shape == yl.shape)
    C += [P.one("losses.mismatched_labels(y=float)", "y", lambda: L.mismatched_labels(yl.float(), 10)),
          P.one("losses.mismatched_labels(y=12 with n_classes=10)", "y", lambda: L.mismatched_labels(yl + 3, 10)),
          P.one("losses.mismatched_labels(y=-1)", "y", lambda: L.mismatched_labels(yl - 1, 10))]
    C += P.number_battery("losses.mismatched_labels", "n_classes", lambda v: L.mismatched_labels(yl, v), "pos_int", extra=(1,))
    for fn, kind in ((L.d_loss, "discriminator"), (L.g_loss, "generator")):
        for bad in ("foo", None, 3, "BCE "):
            C.append(P.one(f"losses.{fn.__name__}(name={bad!r})", "name", (lambda fn=fn, b=bad: fn(b)),
                           names=("loss",)))
    return C


def _layers(f, P):
    from gantutor import layers as Y
    from torch import nn

    C = []
    W = f["W"]
    C += P.tensor_battery("layers.power_iteration", "W", Y.power_iteration, W,
                          ("None", "list", "string", "nan", "inf", "no-batch-axis", "extra-axis", "empty", "int64"),
                          numpy_ok=P._finite_result)
    C += [P.one("layers.power_iteration(u=0)", "u", lambda: Y.power_iteration(W, torch.zeros(5))),
          P.one("layers.power_iteration(u=nan)", "u", lambda: Y.power_iteration(W, torch.full((5,), math.nan))),
          P.one("layers.power_iteration(u=list)", "u", lambda: Y.power_iteration(W, [1.0] * 5)),
          P.one("layers.power_iteration(u=[4])", "u", lambda: Y.power_iteration(W, torch.ones(4)))]
    C += P.number_battery("layers.power_iteration", "n_iter", lambda v: Y.power_iteration(W, n_iter=v), "pos_int")
    C += P.number_battery("layers.power_iteration", "eps", lambda v: Y.power_iteration(W, eps=v), "pos_float")
    C += P.tensor_battery("layers.l2_normalize", "x", Y.l2_normalize, W[0], ("None", "list", "string", "nan", "int64"))
    w = f["conv_w"]
    C += P.tensor_battery("layers.conv_operator_norm", "weight", lambda v: Y.conv_operator_norm(v, (2, 6, 6)), w,
                          ("None", "list", "string", "nan", "inf", "no-batch-axis", "int64"), numpy_ok=P._finite_result)
    C += P.number_battery("layers.conv_operator_norm", "n_iter", lambda v: Y.conv_operator_norm(w, (2, 6, 6), n_iter=v), "pos_int")
    C += P.number_battery("layers.conv_operator_norm", "stride", lambda v: Y.conv_operator_norm(w, (2, 6, 6), stride=v), "pos_int")
    C += P.number_battery("layers.conv_operator_norm", "padding", lambda v: Y.conv_operator_norm(w, (2, 6, 6), padding=v), "nonneg_int")
    C += P.number_battery("layers.conv_operator_norm", "tol", lambda v: Y.conv_operator_norm(w, (2, 6, 6), tol=v), "nonneg_float")
    C += [P.one("layers.conv_operator_norm(input_shape=None)", "input_shape", lambda: Y.conv_operator_norm(w, None)),
          P.one("layers.conv_operator_norm(input_shape=(3, 6, 6))", "input_shape", lambda: Y.conv_operator_norm(w, (3, 6, 6))),
          P.one("layers.conv_operator_norm(input_shape=(2, 1, 1))", "input_shape", lambda: Y.conv_operator_norm(w, (2, 1, 1))),
          P.one("layers.conv_operator_norm(input_shape=(2, 6.5, 6))", "input_shape", lambda: Y.conv_operator_norm(w, (2, 6.5, 6))),
          P.one("layers.conv_operator(weight=None)", "weight", lambda: Y.conv_operator(None, (2, 6, 6))),
          P.one("layers.conv_operator(input_shape='abc')", "input_shape", lambda: Y.conv_operator(w, "abc")),
          P.one("layers.spectral_norm(name='bias')", "name", lambda: Y.spectral_norm(nn.Linear(3, 2), name="bias")),
          P.one("layers.spectral_norm(name='foo')", "name", lambda: Y.spectral_norm(nn.Linear(3, 2), name="foo")),
          P.one("layers.spectral_norm(module=None)", "module", lambda: Y.spectral_norm(None)),
          P.one("layers.spectral_norm(module=tensor)", "module", lambda: Y.spectral_norm(W)),
          P.one("layers.spectral_norm(n_power_iterations=0)", "n_power_iterations",
                lambda: Y.spectral_norm(nn.Linear(3, 2), n_power_iterations=0)),
          P.one("layers.spectral_norm(n_power_iterations=1.5)", "n_power_iterations",
                lambda: Y.spectral_norm(nn.Linear(3, 2), n_power_iterations=1.5)),
          P.one("layers.spectral_norm(dim=5)", "dim", lambda: Y.spectral_norm(nn.Linear(3, 2), dim=5)),
          P.one("layers.spectral_norm(seed='a')", "seed", lambda: Y.spectral_norm(nn.Linear(3, 2), seed="a")),
          P.one("layers.spectral_norm_all(model=None)", "model", lambda: Y.spectral_norm_all(None)),
          P.one("layers.spectral_norm_all(model=no Linear)", "model", lambda: Y.spectral_norm_all(nn.ReLU())),
          P.one("layers.spectral_norm_all(types=nn.Linear)", "types", lambda: Y.spectral_norm_all(nn.Linear(2, 2), types=nn.Linear)),
          P.one("layers.spectral_norms(model=None)", "model", lambda: Y.spectral_norms(None)),
          P.one("layers.SpectralNorm(weight=1D)", "weight", lambda: Y.SpectralNorm(torch.ones(3))),
          P.one("layers.SpectralNorm(weight=nan)", "weight", lambda: Y.SpectralNorm(torch.full((3, 3), math.nan)))]
    return C


def _models(f, P):
    from gantutor import models as M
    from gantutor.models import dcgan

    C = []
    img, z = f["img"], f["z"]
    for label, net in (("MLPDiscriminator", f["D"]), ("DCGANDiscriminator", f["dD"])):
        C += P.tensor_battery(f"models.{label}.forward", "x", net, img, IMG_KINDS)
    C += P.tensor_battery("models.MLPDiscriminator(toy).forward", "x", f["tD"], f["pts"][:4],
                          ("None", "list", "string", "nan", "inf", "no-batch-axis", "int64"))
    for label, net in (("MLPGenerator", f["G"]), ("DCGANGenerator", f["dG"])):
        C += P.tensor_battery(f"models.{label}.forward", "z", net, z,
                              ("None", "list", "string", "numpy", "nan", "inf", "no-batch-axis", "empty", "int64", "bool"))
    y = f["labels"][:4]
    for label, net, arg0 in (("cMLPGenerator", f["cG"], z), ("cMLPDiscriminator", f["cD"], img),
                             ("MLPProjectionDiscriminator", f["P"], img)):
        call = (lambda v, net=net, a=arg0: net(a, v))
        C += P.tensor_battery(f"models.{label}.forward", "y", call, y.float(),
                              ("None", "list", "string", "extra-axis", "bool", "empty"),
                              numpy_ok=lambda r: r.shape[0] == 4)
        C += [P.one(f"models.{label}.forward(y=10)", "y", lambda net=net, a=arg0: net(a, y * 0 + 10)),
              P.one(f"models.{label}.forward(y=float)", "y", lambda net=net, a=arg0: net(a, y.float())),
              P.one(f"models.{label}.forward(y=int16)", "y", lambda net=net, a=arg0: net(a, y.short()),
                    ok=P._finite_result)]
    C += [P.one("models.MLPGenerator.forward(y on unconditional)", "y", lambda: f["G"](z, y))]
    C += P.number_battery("models.MLPGenerator", "latent_dim", lambda v: M.MLPGenerator(v, (2,)), "pos_int")
    C += [P.one("models.MLPGenerator(out_shape=None)", "out_shape", lambda: M.MLPGenerator(4, None)),
          P.one("models.MLPGenerator(out_shape=(0,))", "out_shape", lambda: M.MLPGenerator(4, (0,))),
          P.one("models.MLPGenerator(out_shape=28)", "out_shape", lambda: M.MLPGenerator(4, 28)),
          P.one("models.MLPGenerator(hidden=(-1,))", "hidden", lambda: M.MLPGenerator(4, (2,), hidden=(-1,))),
          P.one("models.MLPGenerator(hidden=16)", "hidden", lambda: M.MLPGenerator(4, (2,), hidden=16)),
          P.one("models.MLPGenerator(value_range=(0, 255))", "value_range", lambda: M.MLPGenerator(4, (2,), value_range=(0, 255))),
          P.one("models.MLPGenerator(n_classes=-1)", "n_classes", lambda: M.MLPGenerator(4, (2,), n_classes=-1)),
          P.one("models.MLPGenerator(n_classes=1)", "n_classes", lambda: M.MLPGenerator(4, (2,), n_classes=1)),
          P.one("models.MLPGenerator(embed_dim=0)", "embed_dim", lambda: M.MLPGenerator(4, (2,), n_classes=3, embed_dim=0)),
          P.one("models.MLPGenerator(slope=nan)", "slope", lambda: M.MLPGenerator(4, (2,), slope=math.nan)),
          P.one("models.MLPDiscriminator(in_shape=None)", "in_shape", lambda: M.MLPDiscriminator(None)),
          P.one("models.MLPDiscriminator(in_shape=(28, -28))", "in_shape", lambda: M.MLPDiscriminator((28, -28))),
          P.one("models.MLPDiscriminator(hidden=(0,))", "hidden", lambda: M.MLPDiscriminator((2,), hidden=(0,))),
          P.one("models.MLPDiscriminator(n_classes='10')", "n_classes", lambda: M.MLPDiscriminator((2,), n_classes="10")),
          P.one("models.MLPDiscriminator(dropout=1.5)", "dropout", lambda: M.MLPDiscriminator((2,), dropout=1.5)),
          P.one("models.MLPProjectionDiscriminator(n_classes=1)", "n_classes", lambda: M.MLPProjectionDiscriminator((2,), n_classes=1)),
          P.one("models.MLPProjectionDiscriminator(hidden=())", "hidden", lambda: M.MLPProjectionDiscriminator((2,), hidden=())),
          P.one("models.MLPProjectionDiscriminator(in_shape=None)", "in_shape", lambda: M.MLPProjectionDiscriminator(None))]
    C += P.number_battery("models.DCGANGenerator", "latent_dim", lambda v: M.DCGANGenerator(latent_dim=v, image_size=28, channels=1, ngf=4), "pos_int")
    C += P.number_battery("models.DCGANGenerator", "ngf", lambda v: M.DCGANGenerator(8, 28, 1, ngf=v), "pos_int")
    C += P.number_battery("models.DCGANDiscriminator", "ndf", lambda v: M.DCGANDiscriminator(28, 1, ndf=v), "pos_int")
    C += P.number_battery("models.DCGANDiscriminator", "channels", lambda v: M.DCGANDiscriminator(28, channels=v, ndf=4), "pos_int")
    C += [P.one("models.DCGANDiscriminator(image_size=48)", "image_size", lambda: M.DCGANDiscriminator(48, 1, 4)),
          P.one("models.DCGANDiscriminator(image_size='28')", "image_size", lambda: M.DCGANDiscriminator("28", 1, 4)),
          P.one("models.DCGANDiscriminator(slope=-1)", "slope", lambda: M.DCGANDiscriminator(28, 1, 4, slope=-1)),
          P.one("models.DCGANDiscriminator.forward(x=32x32 MNIST)", "x", lambda: f["dD"](torch.zeros(2, 1, 32, 32))),
          P.one("models.MLPDiscriminator.forward(x=32x32 MNIST)", "x", lambda: f["D"](torch.zeros(2, 1, 32, 32)))]
    C += P.number_battery("models.dcgan.conv_transpose_output_size", "i", lambda v: dcgan.conv_transpose_output_size(v, 4, 2, 1), "pos_int")
    C += P.number_battery("models.dcgan.conv_transpose_output_size", "p", lambda v: dcgan.conv_transpose_output_size(4, 4, 2, v), "nonneg_int")
    C += [P.one("models.dcgan.conv_transpose_output_size(output size <= 0)", "p", lambda: dcgan.conv_transpose_output_size(1, 1, 1, 3))]
    x4 = torch.randn(1, 2, 3, 3)
    C += P.tensor_battery("models.dcgan.zero_insert", "x", lambda v: dcgan.zero_insert(v, 2), x4,
                          ("None", "list", "string", "no-batch-axis"), numpy_ok=P._finite_result)
    C += P.number_battery("models.dcgan.zero_insert", "s", lambda v: dcgan.zero_insert(x4, v), "pos_int")
    wt = torch.randn(2, 3, 4, 4)
    C += P.tensor_battery("models.dcgan.conv_transpose_as_conv", "weight", lambda v: dcgan.conv_transpose_as_conv(x4, v, 2, 1), wt,
                          ("None", "list", "string", "no-batch-axis"), numpy_ok=P._finite_result)
    C += P.tensor_battery("models.dcgan.conv_transpose_as_conv", "x", lambda v: dcgan.conv_transpose_as_conv(v, wt, 2, 1), x4,
                          ("None", "list", "string"), numpy_ok=P._finite_result)
    C += P.number_battery("models.dcgan.conv_transpose_as_conv", "p", lambda v: dcgan.conv_transpose_as_conv(x4, wt, 2, v), "nonneg_int", extra=(4,))
    z0 = torch.randn(3, 8)
    C += P.tensor_battery("models.dcgan.slerp", "z0", lambda v: dcgan.slerp(v, z0, torch.linspace(0, 1, 4)), z0,
                          ("None", "list", "string", "nan", "no-batch-axis"), numpy_ok=P._finite_result)
    C += P.tensor_battery("models.dcgan.slerp", "t", lambda v: dcgan.slerp(z0, z0, v), torch.linspace(0, 1, 4),
                          ("None", "string", "nan", "extra-axis"), numpy_ok=P._finite_result)
    C += [P.one("models.dcgan.trace_shapes(net=None)", "net", lambda: dcgan.trace_shapes(None, img)),
          P.one("models.dcgan.trace_shapes(x=wrong size)", "x", lambda: dcgan.trace_shapes(f["dD"], torch.zeros(1, 1, 32, 32))),
          P.one("models.dcgan.dcgan_init(module=None)", "module", lambda: dcgan.dcgan_init(None))]
    return C


def _train(f, P):
    from gantutor.config import TrainConfig
    from gantutor.train import ConditionalTrainer, GameTrainer, MixedPrecisionTrainer, Trainer

    C = []
    for field, spec in (("steps", "nonneg_int"), ("batch_size", "pos_int"), ("k", "pos_int"), ("lr_g", "pos_float"),
                        ("lr_d", "pos_float"), ("latent_dim", "pos_int"), ("seed", "int"), ("log_every", "pos_int"),
                        ("guard_every", "pos_int"), ("clip", "nonneg_float"), ("gp_weight", "nonneg_float"),
                        ("ema_decay", "prob"), ("lr_final", "pos_float"), ("progress", "bool"),
                        ("d_reg_every", "nonneg_int")):
        C += P.number_battery("train.TrainConfig", field, lambda v, fl=field: TrainConfig(**{fl: v}), spec)
    C += [P.one(f"train.TrainConfig(betas={b!r})", "betas", lambda b=b: TrainConfig(betas=b))
          for b in ((1.5, 0.999), (0.5, -0.1), (0.5,), None, "ab", (0.5, math.nan))]
    C += [P.one(f"train.TrainConfig({k}={v!r})", k, lambda k=k, v=v: TrainConfig(**{k: v}))
          for k, v in (("g_loss", "foo"), ("d_loss", "wgan"), ("g_loss", None), ("optimizer", "sgd"),
                       ("lr_schedule", "cosine"), ("device", "gpu0"), ("device", None), ("extra", [1]),
                       ("lr_decay_start", 2.0))]
    cfg = f["cfg"]
    G, D, ring = f["tG"], f["tD"], f["ring"]
    C += [P.one("train.Trainer(G=None)", "G", lambda: Trainer(None, D, ring, cfg())),
          P.one("train.Trainer(D=None)", "D", lambda: Trainer(G, None, ring, cfg())),
          P.one("train.Trainer(sampler=None)", "sampler", lambda: Trainer(G, D, None, cfg())),
          P.one("train.Trainer(sampler=tensor)", "sampler", lambda: Trainer(G, D, torch.randn(10, 2), cfg())),
          P.one("train.Trainer(config=dict)", "config", lambda: Trainer(G, D, ring, {"steps": 2})),
          P.one("train.Trainer(callbacks=[3])", "callbacks", lambda: Trainer(G, D, ring, cfg(), callbacks=[3])),
          P.one("train.Trainer(callbacks=print fn not list)", "callbacks", lambda: Trainer(G, D, ring, cfg(), callbacks=print)),
          P.one("train.Trainer(config.latent_dim=7 vs G's 4)", "latent_dim", lambda: Trainer(G, D, ring, cfg(latent_dim=7))),
          P.one("train.Trainer(G for images, D for 2D)", "G", lambda: Trainer(f["G"], D, ring, cfg(latent_dim=8)).run(1),
                names=("D", "x", "shape")),
          P.one("train.GameTrainer(game=None)", "game", lambda: GameTrainer(None, cfg())),
          P.one("train.GameTrainer(game=module)", "game", lambda: GameTrainer(D, cfg())),
          P.one("train.ConditionalTrainer(sampler=unlabelled)", "sampler",
                lambda: ConditionalTrainer(f["cG"], f["cD"], f["usampler"], cfg())),
          P.one("train.ConditionalTrainer(mismatch_weight=nan)", "mismatch_weight",
                lambda: ConditionalTrainer(f["cG"], f["cD"], f["sampler"], cfg(), mismatch_weight=math.nan)),
          P.one("train.ConditionalTrainer(l1_weight=-1)", "l1_weight",
                lambda: ConditionalTrainer(f["cG"], f["cD"], f["sampler"], cfg(), l1_weight=-1)),
          P.one("train.ConditionalTrainer(G unconditional)", "G",
                lambda: ConditionalTrainer(f["G"], f["cD"], f["sampler"], cfg(latent_dim=8)).run(1), names=("y",)),
          P.one("train.MixedPrecisionTrainer(sampler=None)", "sampler", lambda: MixedPrecisionTrainer(G, D, None, cfg()))]
    t = f["trainer"]()
    C += [c for c in P.number_battery("train.Trainer.run", "steps", lambda v: t.run(v), "nonneg_int", extra=(-5,))
          if "None" not in c.label]
    C += P.number_battery("train.Trainer.sample", "n", lambda v: t.sample(v), "pos_int")
    for arg in ("lr_g", "lr_d"):  # None means "unchanged"
        C += [c for c in P.number_battery("train.Trainer.set_lr", arg, lambda v, a=arg: t.set_lr(**{a: v}), "pos_float")
              if "None" not in c.label]
    C += [P.one(f"train.Trainer.set_losses(g_loss={v!r})", "g_loss", lambda v=v: t.set_losses(g_loss=v), names=("loss",))
          for v in ("foo", 3, "hinge ")]
    C += [P.one(f"train.Trainer.set_losses(d_loss={v!r})", "d_loss", lambda v=v: t.set_losses(d_loss=v), names=("loss",))
          for v in ("minimax", 3)]
    ct = f["ctrainer"]()
    C += P.tensor_battery("train.ConditionalTrainer.sample", "y", lambda v: ct.sample(4, y=v), torch.arange(4).float(),
                          ("list", "string", "extra-axis", "bool", "no-batch-axis"), numpy_ok=lambda r: r.shape[0] == 4)
    C += [P.one("train.ConditionalTrainer.sample(y=10)", "y", lambda: ct.sample(4, y=torch.full((4,), 10))),
          P.one("train.ConditionalTrainer.sample(y=float)", "y", lambda: ct.sample(4, y=torch.zeros(4))),
          P.one("train.ConditionalTrainer.sample(y=[3] for n=4)", "y", lambda: ct.sample(4, y=torch.zeros(3, dtype=torch.long))),
          P.one("train.Trainer.sample(y on unconditional)", "y", lambda: t.sample(4, y=torch.zeros(4, dtype=torch.long)))]
    C += P.tensor_battery("train.Trainer.sample", "z", lambda v: t.sample(4, z=v), torch.randn(4, 4),
                          ("list", "string", "nan", "inf", "no-batch-axis", "int64"), numpy_ok=lambda r: r.shape == (4, 2))
    C += [P.one("train.Trainer.sample(z=[5, 4] for n=4)", "z", lambda: t.sample(4, z=torch.randn(5, 4)))]
    return C


def _metrics(f, P):
    from gantutor import metrics as Me

    C = []
    img = f["img"]
    for name, fn in (("classify", Me.classify), ("features", Me.features), ("check_images", Me.check_images)):
        C += P.tensor_battery(f"metrics.{name}", "images", fn, img, IMG_KINDS + ("int64",),
                              numpy_ok=P._finite_result)
        C += [P.one(f"metrics.{name}(images=[0, 1])", "images", lambda fn=fn: fn((img + 1) / 2)),
              P.one(f"metrics.{name}(images=32x32)", "images", lambda fn=fn: fn(torch.zeros(2, 1, 32, 32))),
              P.one(f"metrics.{name}(images=[N, 28, 28])", "images", lambda fn=fn: fn(img[:, 0]))]
    C += P.tensor_battery("metrics.mnist_fid", "images", Me.mnist_fid, img, ("None", "list", "nan", "uint8", "range255", "empty"))
    C += [P.one("metrics.mnist_fid(images=4 samples)", "images", lambda: Me.mnist_fid(img))]
    C += P.tensor_battery("metrics.fid_between", "images_a", lambda v: Me.fid_between(v, img), img, ("None", "nan", "uint8"))
    y = f["labels"][:4]
    C += P.tensor_battery("metrics.conditional_accuracy", "labels", lambda v: Me.conditional_accuracy(img, v), y.float(),
                          ("None", "list", "string", "extra-axis", "empty", "bool"), numpy_ok=lambda r: 0 <= r.overall <= 1)
    C += [P.one("metrics.conditional_accuracy(labels=10)", "labels", lambda: Me.conditional_accuracy(img, y * 0 + 10)),
          P.one("metrics.conditional_accuracy(labels=float)", "labels", lambda: Me.conditional_accuracy(img, y.float())),
          P.one("metrics.conditional_accuracy(samples=range255)", "samples", lambda: Me.conditional_accuracy(img * 127.5 + 127.5, y))]
    C += P.number_battery("metrics.precision_recall", "k", lambda v: Me.precision_recall(img, img, k=v), "pos_int")
    C += P.tensor_battery("metrics.precision_recall", "real_images", lambda v: Me.precision_recall(v, img), img, ("None", "nan", "uint8"))
    feats = torch.randn(20, 3)
    C += P.tensor_battery("metrics.precision_recall_features", "real", lambda v: Me.precision_recall_features(v, feats), feats,
                          ("None", "list", "string", "nan", "no-batch-axis"), numpy_ok=P._finite_result)
    C += P.number_battery("metrics.precision_recall_features", "k", lambda v: Me.precision_recall_features(feats, feats, k=v), "pos_int")
    C += P.tensor_battery("metrics.feature_statistics", "feats", Me.feature_statistics, feats,
                          ("None", "list", "string", "nan", "no-batch-axis"), numpy_ok=_stats_ok)
    mu, sig = np.zeros(3), np.eye(3)
    C += [P.one("metrics.frechet_distance(mu1=None)", "mu1", lambda: Me.frechet_distance(None, sig, mu, sig)),
          P.one("metrics.frechet_distance(sigma1=[2, 2])", "sigma1", lambda: Me.frechet_distance(mu, np.eye(2), mu, sig)),
          P.one("metrics.frechet_distance(mu2=[4])", "mu2", lambda: Me.frechet_distance(mu, sig, np.zeros(4), sig)),
          P.one("metrics.frechet_distance(sigma2=nan)", "sigma2", lambda: Me.frechet_distance(mu, sig, mu, sig * math.nan)),
          P.one("metrics.frechet_distance(mu1=tensor)", "mu1", lambda: Me.frechet_distance(torch.zeros(3), sig, mu, sig),
                ok=lambda r: r == 0.0)]
    pts = f["pts"]
    C += P.tensor_battery("metrics.toy_scores", "samples", lambda v: Me.toy_scores(v, f["ring"]), pts,
                          ("None", "list", "string", "nan", "inf", "no-batch-axis", "empty", "int64"),
                          numpy_ok=lambda r: r.n_modes == 8)
    C += [P.one("metrics.toy_scores(mixture=None)", "mixture", lambda: Me.toy_scores(pts, None)),
          P.one("metrics.toy_scores(samples=[N, 3])", "samples", lambda: Me.toy_scores(torch.zeros(4, 3), f["ring"]))]
    C += P.number_battery("metrics.toy_scores", "n_std", lambda v: Me.toy_scores(pts, f["ring"], n_std=v), "pos_float")
    C += [P.one("metrics.train_classifier(epochs=0)", "epochs", lambda: Me.train_classifier(Path(tempfile.mkdtemp()) / "c.pt", epochs=0)),
          P.one("metrics.train_classifier(threads=0)", "threads", lambda: Me.train_classifier(Path(tempfile.mkdtemp()) / "c.pt", threads=0))]
    return C


def _stats_ok(r):
    return r[0].shape == (3,)


def _plots(f, P):
    from gantutor import plots as Pl
    import matplotlib.pyplot as plt

    C = []
    img = f["img"]
    for name, fn in (("image_grid", Pl.image_grid), ("sample_grid", Pl.sample_grid)):
        C += P.tensor_battery(f"plots.{name}", "images", fn, img,
                              ("None", "list", "string", "nan", "no-batch-axis", "empty", "uint8", "range255", "bool"),
                              numpy_ok=_any_ok)
        C += P.number_battery(f"plots.{name}", "nrow", lambda v, fn=fn: fn(img, nrow=v), "pos_int")
    C += [P.one("plots.image_grid(images=5 channels)", "images", lambda: Pl.image_grid(torch.zeros(2, 5, 8, 8)))]
    for name, fn in (("saturation_figure", Pl.saturation_figure), ("loss_zoo_figure", Pl.loss_zoo_figure)):
        C += [P.one(f"plots.{name}(g_losses='minimax')", "g_losses", lambda fn=fn: fn("minimax")),
              P.one(f"plots.{name}(g_losses=['foo'])", "g_losses", lambda fn=fn: fn(["foo"]), names=("loss",)),
              P.one(f"plots.{name}(g_losses=[])", "g_losses", lambda fn=fn: fn([])),
              P.one(f"plots.{name}(g_losses=None)", "g_losses", lambda fn=fn: fn(None))]
        C += P.number_battery(f"plots.{name}", "lim", lambda v, fn=fn: fn(["minimax"], lim=v), "pos_float")
    C += P.number_battery("plots.sigmoid_ce_figure", "lim", lambda v: Pl.sigmoid_ce_figure(lim=v), "pos_float")
    C += [P.one("plots.history_figure(history=None)", "history", lambda: Pl.history_figure(None)),
          P.one("plots.history_figure(history=list)", "history", lambda: Pl.history_figure([1, 2])),
          P.one("plots.history_figure(history=missing keys)", "history", lambda: Pl.history_figure({"step": [1], "d_loss": [1.0]})),
          P.one("plots.history_figure(history=unequal lengths)", "history",
                lambda: Pl.history_figure({k: [1.0, 2.0] for k in ("step", "d_loss", "g_loss", "d_real")} | {"d_fake": [1.0]}))]
    D = f["tD"]
    C += [P.one("plots.decision_map(D=None)", "D", lambda: Pl.decision_map(None, 1.0)),
          P.one("plots.decision_map(D=for images)", "D", lambda: Pl.decision_map(f["D"], 1.0), names=("x",))]
    C += P.number_battery("plots.decision_map", "lim", lambda v: Pl.decision_map(D, v), "pos_float")
    C += P.number_battery("plots.decision_map", "n", lambda v: Pl.decision_map(D, 1.0, n=v), "pos_int")
    pts = f["pts"]

    def ax():
        return plt.subplots()[1]
    C += P.tensor_battery("plots.scatter_2d", "real", lambda v: Pl.scatter_2d(ax(), v, pts), pts,
                          ("None", "string", "nan", "no-batch-axis"), numpy_ok=_any_ok)
    C += P.tensor_battery("plots.scatter_2d", "fake", lambda v: Pl.scatter_2d(ax(), pts, v), pts,
                          ("None", "string", "no-batch-axis"), numpy_ok=_any_ok)
    C += [P.one("plots.scatter_2d(ax=None)", "ax", lambda: Pl.scatter_2d(None, pts, pts)),
          P.one("plots.scatter_2d(real=[N, 3])", "real", lambda: Pl.scatter_2d(ax(), torch.zeros(4, 3), pts))]
    C += P.number_battery("plots.scatter_2d", "lim", lambda v: Pl.scatter_2d(ax(), pts, pts, lim=v), "pos_float")
    x = np.linspace(-1, 1, 5)
    C += [P.one("plots.density_1d(ax=None)", "ax", lambda: Pl.density_1d(None, x, x)),
          P.one("plots.density_1d(p_data=wrong length)", "p_data", lambda: Pl.density_1d(ax(), x, x[:3]))]
    return C


def _any_ok(r):
    return r is not None


def _rest(f, P):
    return []
