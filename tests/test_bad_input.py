"""Bad input gets one clear message naming the argument, what was expected and what was got; nothing
is lost (no input overwritten, no trainer half-loaded); the divergence guard names the cause.

The table below holds the worst cases of issue 15, each with the fragment its message must contain;
``test_probe`` runs tools/probe_bad_input.py (over a thousand cases across the public API) and requires
no unclear error, no silent result, no hang and no crash.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gantutor import bench, conditional, layers, losses, metrics, plots, theory, validate, zoo
from gantutor.config import TrainConfig
from gantutor.data import TensorSampler, load_mnist, mnist_sampler, ring8, to_signed, to_uint8
from gantutor.models import DCGANDiscriminator, MLPDiscriminator, MLPGenerator
from gantutor.train import CheckpointError, MixedPrecisionTrainer, Trainer, TrainingDiverged, atomic_save

ROOT = Path(__file__).resolve().parents[1]
U8 = torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
IMG = to_signed(U8)
Y = torch.arange(8) % 10


def toy_trainer(**kw) -> Trainer:
    cfg = TrainConfig(**{**dict(steps=2, batch_size=8, progress=False, latent_dim=4), **kw})
    return Trainer(MLPGenerator(4, (2,), hidden=(8,), value_range=None), MLPDiscriminator((2,), hidden=(8,)),
                   ring8(), cfg)


# (call, bad value described, fragment the message must contain)
TABLE = [
    (lambda: to_signed(IMG), "float images", "expected a uint8 tensor"),
    (lambda: to_signed(IMG), "float images: the fix", "to_uint8"),
    (lambda: to_uint8(U8), "uint8 images", "images: expected a float tensor"),
    (lambda: to_uint8(IMG * 127.5 + 127.5), "[0, 255] floats", "[0, 255]"),
    (lambda: TensorSampler(U8, Y + 186, n_classes=10), "labels up to 195", "labels: expected"),
    (lambda: TensorSampler(U8, Y.float(), n_classes=10), "float labels", "labels: expected an integer tensor"),
    (lambda: TensorSampler(U8[:4]).sample(10), "10 from 4 images", "n: expected"),
    (lambda: TensorSampler(IMG), "float images", "images: expected a uint8 tensor"),
    (lambda: load_mnist(train=None), "train=None", "train: expected True or False"),
    (lambda: mnist_sampler(digits=[11]), "digits=[11]", "digits: expected"),
    (lambda: mnist_sampler(digits=3), "digits=3", "digits: expected"),
    (lambda: TrainConfig(lr_g=math.inf), "lr inf", "lr_g"),
    (lambda: TrainConfig(g_loss="foo"), "unknown loss", "g_loss: expected one of"),
    (lambda: TrainConfig(betas=(1.5, 0.999)), "betas 1.5", "betas[0]: expected a finite number in [0, 1)"),
    (lambda: TrainConfig(seed="a"), "seed 'a'", "seed: expected an integer"),
    (lambda: TrainConfig(device="gpu0"), "unknown device", "device: expected"),
    (lambda: toy_trainer(latent_dim=7), "config.latent_dim 7 vs G's 4", "latent_dim"),
    (lambda: toy_trainer().run(-5), "run(-5)", "steps: expected"),
    (lambda: toy_trainer().sample(4, z=[[0.0] * 4] * 4), "z as a list", "z: expected"),
    (lambda: Trainer(MLPGenerator(4, (2,)), MLPDiscriminator((2,)), torch.randn(10, 2), TrainConfig(latent_dim=4)),
     "a tensor as sampler", "sampler: expected"),
    (lambda: Trainer(MLPGenerator(4, (2,)), MLPDiscriminator((2,)), ring8(), TrainConfig(latent_dim=4), callbacks=[3]),
     "callbacks=[3]", "callbacks: expected"),
    (lambda: MLPGenerator(4, (2,))(torch.full((2, 4), math.nan)), "NaN z", "z: expected finite values"),
    (lambda: MLPDiscriminator((1, 28, 28))(IMG * 127.5 + 127.5), "D fed [0, 255]", "to_signed"),
    (lambda: DCGANDiscriminator(28, 1, 4)(U8.float()), "DCGAN D fed [0, 255]", "x: expected"),
    (lambda: MLPDiscriminator((1, 28, 28))(None), "None", "x: expected"),
    (lambda: MLPDiscriminator((1, 28, 28))(torch.zeros(2, 1, 32, 32)), "32x32 MNIST", "x: expected"),
    (lambda: MLPGenerator(4, (2,), n_classes=3)(torch.zeros(2, 4), [0, 1]), "labels as a list", "y: expected"),
    (lambda: losses.d_bce(torch.full((4,), math.nan), torch.zeros(4)), "NaN logits", "real_logits: expected finite"),
    (lambda: losses.gradient_penalty(MLPDiscriminator((2,)), torch.full((4, 2), math.nan), torch.zeros(4, 2)),
     "NaN data", "real: expected finite"),
    (lambda: losses.d_loss("foo"), "unknown name", "name: expected the name of a discriminator loss, one of"),
    (lambda: layers.power_iteration(torch.randn(3, 3), u=torch.zeros(3)), "u = 0", "u: expected a non-zero"),
    (lambda: layers.conv_operator_norm(torch.randn(2, 2, 3, 3), (2, 5, 5), n_iter=0), "n_iter=0", "n_iter: expected"),
    (lambda: layers.spectral_norm(torch.nn.Linear(3, 2), name="bias"), "name='bias'", "name: expected"),
    (lambda: metrics.classify((IMG + 1) / 2), "[0, 1] images", "[0, 1]"),
    (lambda: metrics.classify(U8), "uint8 images", "to_signed"),
    (lambda: metrics.classify(IMG.numpy()), "numpy", None),  # converted: no error
    (lambda: plots.image_grid(U8), "uint8 images", "images: expected a float"),
    (lambda: plots.saturation_figure("minimax"), "a string, not a list", "g_losses: expected"),
    (lambda: conditional.generate_digit(MLPGenerator(4, (1, 28, 28), n_classes=10), 11), "digit 11", "digit: expected"),
    (lambda: theory.kl([0.5, 0.5], [1.0, 0.0, 0.0]), "unequal lengths", "q"),
    (lambda: zoo.steps_for(10.0, 0.0), "per_step 0", "per_step: expected"),
    (lambda: bench.CGANSettings(eval_every=0), "eval_every=0 (hung)", "eval_every: expected"),
]


@pytest.mark.parametrize("call, what, fragment", TABLE, ids=[f"{i}-{t[1]}" for i, t in enumerate(TABLE)])
def test_bad_value_message(call, what, fragment, mnist_root, monkeypatch):
    monkeypatch.setenv("GANTUTOR_DATA", str(mnist_root))
    if fragment is None:
        call()
        return
    with pytest.raises(Exception) as info:
        call()
    assert fragment in str(info.value), f"{what}: {info.value}"
    assert not isinstance(info.value, (AttributeError, IndexError, ZeroDivisionError))


def test_to_signed_never_writes_into_its_input():
    x = IMG.clone()
    with pytest.raises(TypeError):
        to_signed(x)
    assert torch.equal(x, IMG)
    u = U8.clone()
    to_signed(u)
    assert torch.equal(u, U8)


def test_value_checks_are_off_inside_trusted_and_on_outside():
    x = torch.full((2, 4), math.nan)
    with validate.trusted():
        assert not validate.checking_values()
        validate.finite_values("x", x)  # no error inside the training loop
    assert validate.checking_values()
    with pytest.raises(ValueError, match="x: expected finite values"):
        validate.finite_values("x", x)


@pytest.mark.parametrize("kw", [{}, dict(d_loss="wasserstein", g_loss="wasserstein", optimizer="rmsprop"),
                                dict(d_loss="wasserstein", g_loss="wasserstein", optimizer="rmsprop", clip=0.01)],
                         ids=["bce-adam", "wgan-rmsprop", "wgan-clip"])
def test_guard_fires_at_lr_1e6_and_blames_the_step_size(kw):
    t = toy_trainer(lr_g=1e6, lr_d=1e6, **kw)
    with pytest.raises(TrainingDiverged, match="step size") as info:
        t.run(300)
    assert "learning rate" in str(info.value)
    assert all(torch.isfinite(p).all() for p in t.D.parameters())  # restored to the last good state


def test_guard_fires_for_the_mixed_precision_trainer():
    t = MixedPrecisionTrainer(MLPGenerator(4, (2,), hidden=(8,), value_range=None), MLPDiscriminator((2,), hidden=(8,)),
                              ring8(), TrainConfig(steps=2, batch_size=8, progress=False, latent_dim=4, lr_g=1e6, lr_d=1e6))
    with pytest.raises(TrainingDiverged, match="step size"):
        t.run(300)


def test_guard_blames_the_data_and_a_setting():
    class NaNRing(type(ring8())):
        def sample(self, n, generator=None):
            x, _ = super().sample(n, generator)
            x[0, 0] = math.nan
            return x, None
    t = Trainer(MLPGenerator(4, (2,), hidden=(8,), value_range=None), MLPDiscriminator((2,), hidden=(8,)),
                NaNRing(ring8().means, 0.01), TrainConfig(steps=2, batch_size=8, progress=False, latent_dim=4))
    with pytest.raises(TrainingDiverged, match="data"):
        t.run(5)
    t = toy_trainer()
    with torch.no_grad():
        next(t.D.parameters())[0, 0] = math.inf
    with pytest.raises(TrainingDiverged, match="setting"):
        t.run(5)


def _files(tmp_path: Path) -> dict:
    t = toy_trainer()
    t.run(2)
    t.save(tmp_path / "good.pt")
    raw = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "corrupt.pt").write_bytes(b"\x80\x04garbage" * 50)
    atomic_save(t.G.state_dict(), tmp_path / "state_dict.pt")
    toy_trainer(optimizer="rmsprop").save(tmp_path / "rmsprop.pt")
    Trainer(MLPGenerator(4, (2,), hidden=(8,), value_range=None), MLPDiscriminator((2,), hidden=(9,)), ring8(),
            TrainConfig(steps=2, batch_size=8, progress=False, latent_dim=4)).save(tmp_path / "wide_d.pt")
    return {"truncated": "truncated", "empty": "empty", "corrupt": "not a readable", "state_dict": "not a trainer checkpoint",
            "rmsprop": "another optimiser", "wide_d": "D."}


def test_bad_checkpoints_are_refused_whole_and_never_suggest_unpickling(tmp_path):
    for name, fragment in _files(tmp_path).items():
        t = toy_trainer()
        before = [p.detach().clone() for p in list(t.G.parameters()) + list(t.D.parameters())]
        with pytest.raises(CheckpointError) as info:
            t.load(tmp_path / f"{name}.pt")
        msg = str(info.value)
        assert fragment in msg, (name, msg)
        assert "weights_only=False" not in msg and "will likely succeed" not in msg
        after = list(t.G.parameters()) + list(t.D.parameters())
        assert all(torch.equal(a, b) for a, b in zip(before, after)), f"{name}: trainer half-loaded"
    with pytest.raises(FileNotFoundError, match="path"):
        toy_trainer().load(tmp_path / "missing.pt")


def test_a_students_systemexit_is_a_fail_and_ctrl_c_still_interrupts(capsys):
    from gantutor.checks import a01_gan_losses as a01

    def bye(*args):
        raise SystemExit(1)

    def interrupted(*args):
        raise KeyboardInterrupt

    assert a01.check_g_nonsaturating(bye) is False
    assert "check_g_nonsaturating: FAIL - your function raised SystemExit" in capsys.readouterr().out
    with pytest.raises(KeyboardInterrupt):
        a01.check_g_nonsaturating(interrupted)


def _run_probe(new: bool) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    import probe_bad_input as probe

    cases = probe.all_cases(new)
    out = probe.run(cases)
    bad = {k: out[k] for k in ("unclear", "silent", "hang", "crash") if out[k]}
    assert not bad, "\n".join(f"{k}: {label}: {detail[:200]}" for k, v in bad.items() for label, detail in v)
    return len(cases)


def test_probe_chapters_7_to_9():
    """The same probe over the ProGAN, StyleGAN, CycleGAN, emoji-metric and colour-MNIST modules."""
    assert _run_probe(new=True) >= 100


def test_probe(mnist_root, monkeypatch):
    """The probe of the whole public API: 0 unclear, 0 silent, 0 hangs, 0 crashes."""
    monkeypatch.setenv("GANTUTOR_DATA", str(mnist_root))
    assert _run_probe(new=False) >= 500
