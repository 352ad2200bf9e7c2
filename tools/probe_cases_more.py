"""More cases of tools/probe_bad_input.py: checkpoints, the divergence guard, widgets, conditional,
theory, zoo, bench and the assignment checks."""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import torch


def more(f, P):
    C = []
    C += _checkpoints(f, P)
    C += _guard(f, P)
    C += _widgets(f, P)
    C += _conditional(f, P)
    C += _theory(f, P)
    C += _zoo_bench(f, P)
    C += _checks(f, P)
    return C


def _checkpoints(f, P):
    from gantutor.models import MLPDiscriminator, MLPGenerator
    from gantutor.train import Trainer, atomic_save

    folder = Path(tempfile.mkdtemp(prefix="gantutor-probe-"))
    t = f["trainer"]()
    t.run(2)
    good = folder / "good.pt"
    t.save(good)
    raw = good.read_bytes()
    (folder / "truncated.pt").write_bytes(raw[: len(raw) // 2])
    (folder / "empty.pt").write_bytes(b"")
    (folder / "corrupt.pt").write_bytes(b"\x80\x04garbage" * 50)
    (folder / "text.pt").write_text("hello")
    atomic_save(t.G.state_dict(), folder / "state_dict.pt")
    atomic_save({"G": t.G.state_dict()}, folder / "g_only.pt")
    rms = f["trainer"](optimizer="rmsprop")
    rms.save(folder / "rmsprop.pt")
    wide = Trainer(MLPGenerator(4, (2,), hidden=(8,), value_range=None), MLPDiscriminator((2,), hidden=(9,)),
                   f["ring"], f["cfg"]())
    wide.save(folder / "wide_d.pt")

    def load_unchanged(name):
        def call():
            t2 = f["trainer"]()
            before = {k: v.clone() for k, v in t2.G.state_dict().items()}
            try:
                t2.load(folder / name)
            finally:
                assert all(torch.equal(before[k], v) for k, v in t2.G.state_dict().items()), "half-loaded trainer"
        return call
    C = [P.one(f"train.Trainer.load(path={name})", "path", load_unchanged(name), names=("checkpoint",))
         for name in ("missing.pt", "truncated.pt", "empty.pt", "corrupt.pt", "text.pt", "state_dict.pt",
                      "g_only.pt", "rmsprop.pt", "wide_d.pt")]
    C += [P.one("train.Trainer.load(path=None)", "path", lambda: f["trainer"]().load(None)),
          P.one("train.Trainer.load(path=folder)", "path", lambda: f["trainer"]().load(folder), names=("checkpoint",)),
          P.one("train.Trainer.save(path=None)", "path", lambda: t.save(None)),
          P.one("train.Trainer.save(path=folder)", "path", lambda: t.save(folder)),
          P.one("train.Trainer.save(path=3)", "path", lambda: t.save(3)),
          P.one("train.load_checkpoint(path=corrupt)", "path", lambda: __import__("gantutor.train", fromlist=["x"]).load_checkpoint(folder / "corrupt.pt")),
          P.one("train.Trainer.load(good) round trip", "path", lambda: f["trainer"]().load(good), ok=lambda r: True)]
    return C


def _diverges(make, words):
    """The call must raise TrainingDiverged naming one of ``words`` as the cause."""
    from gantutor.train import TrainingDiverged

    def call():
        try:
            make().run(200)
        except TrainingDiverged as e:
            if any(w in str(e) for w in words):
                return "diverged, cause named"
            raise
        return "no divergence"
    return call


def _named(r) -> bool:
    return r == "diverged, cause named"


def _guard(f, P):
    from gantutor.data import GaussianMixture
    from gantutor.train import MixedPrecisionTrainer

    cfg, ring = f["cfg"], f["ring"]
    C = []
    for label, kw in (("BCE/Adam", {}), ("WGAN/RMSprop", dict(d_loss="wasserstein", g_loss="wasserstein", optimizer="rmsprop")),
                      ("WGAN-clip", dict(d_loss="wasserstein", g_loss="wasserstein", optimizer="rmsprop", clip=0.01)),
                      ("hinge", dict(d_loss="hinge", g_loss="hinge")), ("LSGAN", dict(d_loss="lsgan", g_loss="lsgan"))):
        C.append(P.one(f"train guard: lr 1e6 {label}", "guard",
                       _diverges(lambda kw=kw: f["trainer"](lr_g=1e6, lr_d=1e6, **kw), ("step size", "learning rate")),
                       ok=_named, timeout=30))
    C.append(P.one("train guard: lr 1e6 MixedPrecisionTrainer", "guard",
                   _diverges(lambda: MixedPrecisionTrainer(f["tG"].__class__(4, (2,), hidden=(8,), value_range=None),
                                                           f["tD"].__class__((2,), hidden=(8,)), ring,
                                                           cfg(lr_g=1e6, lr_d=1e6)), ("step size", "learning rate")), ok=_named, timeout=30))

    class NaNData(GaussianMixture):
        def sample(self, n, generator=None):
            x, _ = super().sample(n, generator)
            x[0, 0] = math.nan
            return x, None
    C.append(P.one("train guard: NaN in the data", "guard",
                   _diverges(lambda: __import__("gantutor.train", fromlist=["Trainer"]).Trainer(
                       f["tG"].__class__(4, (2,), hidden=(8,), value_range=None), f["tD"].__class__((2,), hidden=(8,)),
                       NaNData(ring.means, 0.01), cfg()), ("the data",)), ok=_named))

    def nan_weight():
        t = f["trainer"]()
        with torch.no_grad():
            next(t.D.parameters())[0, 0] = math.nan
        return t
    C.append(P.one("train guard: NaN weight setting", "guard", _diverges(nan_weight, ("a setting",)), ok=_named))
    return C


def _widgets(f, P):
    from gantutor.widgets import Dashboard, Playground

    C = []
    t = f["trainer"]
    C += [P.one("widgets.Dashboard(trainer=None)", "trainer", lambda: Dashboard(None)),
          P.one("widgets.Dashboard(trainer=GameTrainer-less)", "trainer", lambda: Dashboard(f["D"])),
          P.one("widgets.Dashboard(lr_g=1.0 in config)", "lr", lambda: Dashboard(t(lr_g=1.0)),
                ok=lambda d: d.lr_g.value == 1.0, names=("lr_g",)),
          P.one("widgets.Dashboard(lr_d=1e-7 in config)", "lr", lambda: Dashboard(t(lr_d=1e-7)),
                ok=lambda d: math.isclose(d.lr_d.value, 1e-7), names=("lr_d",)),
          P.one("widgets.Dashboard(k=20 in config)", "k", lambda: Dashboard(t(k=20)), ok=lambda d: d.k.value == 20)]
    for arg, spec in (("steps_per_update", "pos_int"), ("max_steps", "nonneg_int"), ("n_show", "pos_int"),
                      ("record_every", "pos_int")):
        C += P.number_battery("widgets.Dashboard", arg, lambda v, a=arg: Dashboard(t(), **{a: v}), spec)
    C += P.number_battery("widgets.Dashboard", "lim", lambda v: Dashboard(t(), lim=v), "pos_float")[:4]
    C += P.number_battery("widgets.Dashboard.run", "steps", lambda v: Dashboard(t()).run(v), "nonneg_int")
    C += [P.one("widgets.Playground(loss='foo')", "loss", lambda: Playground(loss="foo")),
          P.one("widgets.Playground(toy='ring')", "toy", lambda: Playground(toy="ring")),
          P.one("widgets.Playground(settings=[1])", "settings", lambda: Playground(settings=[1])),
          P.one("widgets.Playground(steps=10)", "steps", lambda: Playground(steps=10), ok=lambda p: p.steps.value == 10),
          P.one("widgets.Playground(steps=20000)", "steps", lambda: Playground(steps=20000), ok=lambda p: p.steps.value == 20000)]
    C += P.number_battery("widgets.Playground", "steps", lambda v: Playground(steps=v), "pos_int")[1:]
    C += P.number_battery("widgets.Playground", "seed", lambda v: Playground(seed=v), "int")
    C += P.number_battery("widgets.Playground", "updates", lambda v: Playground(updates=v), "pos_int")
    return C


def _conditional(f, P):
    from gantutor import conditional as Co

    C = []
    cG = f["cG"]
    C += [P.one(f"conditional.generate_digit(digit={v!r})", "digit", lambda v=v: Co.generate_digit(cG, v))
          for v in (10, -1, 1.5, "3", None)]
    C += P.number_battery("conditional.generate_digit", "n", lambda v: Co.generate_digit(cG, 3, n=v), "pos_int")
    C += [P.one("conditional.generate_digit(G=unconditional)", "G", lambda: Co.generate_digit(f["G"], 3)),
          P.one("conditional.generate_digit(G=None)", "G", lambda: Co.generate_digit(None, 3)),
          P.one("conditional.generate_digit(seed='a')", "seed", lambda: Co.generate_digit(cG, 3, seed="a")),
          P.one("conditional.generate_digit(z=wrong width)", "z", lambda: Co.generate_digit(cG, 3, z=torch.randn(2, 5))),
          P.one("conditional.generate_digit(z=list)", "z", lambda: Co.generate_digit(cG, 3, z=[[0.0] * 8])),
          P.one("conditional.generate_digit(n=5, z=[2, 8])", "z", lambda: Co.generate_digit(cG, 3, n=5, z=torch.randn(2, 8)))]
    z = torch.randn(8)
    C += [P.one("conditional.interpolate_labels(a=10)", "a", lambda: Co.interpolate_labels(cG, z, 10, 1)),
          P.one("conditional.interpolate_labels(b=-1)", "b", lambda: Co.interpolate_labels(cG, z, 1, -1)),
          P.one("conditional.interpolate_labels(z=None)", "z", lambda: Co.interpolate_labels(cG, None, 1, 2)),
          P.one("conditional.interpolate_labels(z=[5])", "z", lambda: Co.interpolate_labels(cG, torch.randn(5), 1, 2))]
    C += P.number_battery("conditional.interpolate_labels", "steps", lambda v: Co.interpolate_labels(cG, z, 1, 2, steps=v), "pos_int")
    C += [P.one("conditional.interpolate_noise(z0=None)", "z0", lambda: Co.interpolate_noise(cG, None, z, 3)),
          P.one("conditional.interpolate_noise(z1=[5])", "z1", lambda: Co.interpolate_noise(cG, z, torch.randn(5), 3)),
          P.one("conditional.interpolate_noise(digit=12)", "digit", lambda: Co.interpolate_noise(cG, z, z, 12))]
    C += P.number_battery("conditional.interpolate_noise", "steps", lambda v: Co.interpolate_noise(cG, z, z, 3, steps=v), "pos_int")
    C += [P.one("conditional.generate_from_embedding(e=None)", "e", lambda: Co.generate_from_embedding(cG, torch.randn(2, 8), None)),
          P.one("conditional.generate_from_embedding(z=None)", "z", lambda: Co.generate_from_embedding(cG, None, torch.randn(2, 10)))]
    img, y = f["img"], f["labels"][:4]
    C += [P.one("conditional.class_centres(labels=wrong length)", "labels", lambda: Co.class_centres(img, y[:3], 4)),
          P.one("conditional.class_centres(labels=None)", "labels", lambda: Co.class_centres(img, None, 4)),
          P.one("conditional.class_centres(images=None)", "images", lambda: Co.class_centres(None, y, 4)),
          P.one("conditional.class_centres(kind='mode')", "kind", lambda: Co.class_centres(img, y, 4, kind="mode")),
          P.one("conditional.class_centres(n_classes=0)", "n_classes", lambda: Co.class_centres(img, y, 0)),
          P.one("conditional.class_centres(class absent)", "labels", lambda: Co.class_centres(img, y, 10))]
    p = np.full((3, 4), 1 / 12)
    for name, call in (("mismatch_density", lambda v: Co.mismatch_density(v)),
                       ("optimal_conditional_discriminator", lambda v: Co.optimal_conditional_discriminator(v, p)),
                       ("generator_optimum", lambda v: Co.generator_optimum(v, 1.0)),
                       ("conditional_value", lambda v: Co.conditional_value(v, p))):
        for label, v in (("None", None), ("list", p.tolist()), ("negative", -p), ("1D", p[0]), ("sum 2", 2 * p),
                         ("nan", p * math.nan), ("one class", p[:1] * 3)):
            ok = (lambda r: np.all(np.isfinite(r))) if label == "list" else None
            C.append(P.one(f"conditional.{name}(p_xy={label})", "p_xy", lambda c=call, v=v: c(v), ok=ok))
    C += [P.one("conditional.optimal_conditional_discriminator(pg_xy=[2, 4])", "pg_xy",
                lambda: Co.optimal_conditional_discriminator(p, p[:2] * 1.5)),
          P.one("conditional.generator_optimum(mismatch_weight=-1)", "mismatch_weight", lambda: Co.generator_optimum(p, -1.0)),
          P.one("conditional.generator_optimum(mismatch_weight=nan)", "mismatch_weight", lambda: Co.generator_optimum(p, math.nan)),
          P.one("conditional.conditional_value(mismatch_weight=-1)", "mismatch_weight", lambda: Co.conditional_value(p, p, -1.0))]
    return C


def _theory(f, P):
    from gantutor import theory as T

    C = []
    p = np.array([0.25, 0.25, 0.5])
    bad = (("None", None), ("string", "abc"), ("2D", np.eye(2) / 2), ("negative", np.array([1.5, -0.5])),
           ("sum 2", 2 * p), ("nan", p * math.nan), ("empty", np.zeros(0)), ("wrong length", np.array([0.5, 0.5])))
    for name in ("kl", "js", "pearson_chi2", "w1_grid", "lsgan_chi2", "value_at_optimum"):
        fn = getattr(T, name)
        for label, v in bad:
            C.append(P.one(f"theory.{name}(p={label})", "p", lambda fn=fn, v=v: fn(v, p), names=("p_data", "q")))
    for name in ("optimal_discriminator",):
        for label, v in bad:
            if label == "sum 2":  # densities on a grid may have any total: not a bad value here
                continue
            C.append(P.one(f"theory.{name}(p_data={label})", "p_data", lambda v=v: T.optimal_discriminator(v, p), names=("p",)))
    C += [P.one("theory.lsgan_optimal_discriminator(p_data=wrong length)", "p_data",
                lambda: T.lsgan_optimal_discriminator(np.array([0.5, 0.5]), p, 0.0, 1.0)),
          P.one("theory.lsgan_optimal_discriminator(a=nan)", "a", lambda: T.lsgan_optimal_discriminator(p, p, math.nan, 1.0)),
          P.one("theory.lsgan_optimal_discriminator(p_data=None)", "p_data", lambda: T.lsgan_optimal_discriminator(None, p, 0.0, 1.0)),
          P.one("theory.lsgan_generator_value(c='x')", "c", lambda: T.lsgan_generator_value(p, p, 0.0, 1.0, "x")),
          P.one("theory.lsgan_d_objective(d=wrong length)", "d", lambda: T.lsgan_d_objective(np.zeros(2), p, p, 0.0, 1.0)),
          P.one("theory.value(d=wrong length)", "d", lambda: T.value(np.full(2, 0.5), p, p)),
          P.one("theory.value(d=1.5)", "d", lambda: T.value(np.full(3, 1.5), p, p)),
          P.one("theory.value(d=None)", "d", lambda: T.value(None, p, p))]
    for name in ("kl", "js", "w1_grid"):
        C += P.number_battery(f"theory.{name}", "dx", lambda v, n=name: getattr(T, n)(p, p, dx=v), "pos_float")
    C += [P.one(f"theory.random_distribution(n={v!r})", "n", lambda v=v: T.random_distribution(v, np.random.default_rng(0)))
          for v in (0, -1, 1.5, "3")]
    C += [P.one("theory.random_distribution(rng=None)", "rng", lambda: T.random_distribution(3, None)),
          P.one("theory.random_distribution(rng=0)", "rng", lambda: T.random_distribution(3, 0)),
          P.one("theory.random_distribution(sparsity=1.5)", "sparsity", lambda: T.random_distribution(3, np.random.default_rng(0), 1.5))]
    C += P.number_battery("theory.gaussian_pdf", "sigma", lambda v: T.gaussian_pdf(0.0, 0.0, v), "pos_float")
    C += [P.one("theory.gaussian_pdf(mu=nan)", "mu", lambda: T.gaussian_pdf(0.0, math.nan, 1.0)),
          P.one("theory.gaussian_pdf(x='a')", "x", lambda: T.gaussian_pdf("a", 0.0, 1.0)),
          P.one("theory.mixture_pdf(weights=wrong length)", "weights", lambda: T.mixture_pdf(0.0, [0, 1], 1.0, [1.0])),
          P.one("theory.mixture_pdf(sigmas=0)", "sigmas", lambda: T.mixture_pdf(0.0, [0, 1], 0.0)),
          P.one("theory.mixture_pdf(means=None)", "means", lambda: T.mixture_pdf(0.0, None, 1.0))]
    x = np.linspace(-3, 3, 61)
    px = T.gaussian_pdf(x, 0, 1)
    px = px / (px.sum() * (x[1] - x[0]))
    C += [P.one("theory.fit_gaussian(direction='both')", "direction", lambda: T.fit_gaussian(px, x, "both")),
          P.one("theory.fit_gaussian(x=one point)", "x", lambda: T.fit_gaussian(np.ones(1), np.zeros(1), "forward")),
          P.one("theory.fit_gaussian(x=wrong length)", "x", lambda: T.fit_gaussian(px, x[:10], "forward")),
          P.one("theory.fit_gaussian(x=unevenly spaced)", "x", lambda: T.fit_gaussian(px, x ** 3, "forward")),
          P.one("theory.fit_gaussian(p=None)", "p", lambda: T.fit_gaussian(None, x, "forward"))]
    for name in ("w1_sorted", "w1_samples"):
        fn = getattr(T, name)
        C += [P.one(f"theory.{name}(x={label})", "x", lambda fn=fn, v=v: fn(v, [0.0, 1.0, 2.0]))
              for label, v in (("None", None), ("string", "abc"), ("nan", [math.nan, 0.0, 1.0]), ("empty", []),
                               ("2D", np.zeros((3, 2))))]
    C += [P.one("theory.w1_sorted(y=other size)", "y", lambda: T.w1_sorted([0.0, 1.0], [0.0]), names=("x",)),
          P.one("theory.w1_optimal_critic(x=wrong length)", "x", lambda: T.w1_optimal_critic(p, p, np.arange(5))),
          P.one("theory.w1_optimal_critic(x=None)", "x", lambda: T.w1_optimal_critic(p, p, None))]
    C += [P.one(f"theory.parallel_lines(theta={v!r})", "theta", lambda v=v: T.parallel_lines(v))
          for v in (math.nan, math.inf, "a", None)]
    return C


def _zoo_bench(f, P):
    from gantutor import bench, zoo
    from gantutor.config import RING_SETTINGS

    C = []
    p = np.array([0.5, 0.5])
    C += [P.one(f"zoo.optimal_output(d_loss={v!r})", "d_loss", lambda v=v: zoo.optimal_output(v, p, p))
          for v in ("wasserstein", "foo", None)]
    C += [P.one("zoo.optimal_output(p_d=0 somewhere)", "p_d", lambda: zoo.optimal_output("bce", np.array([1.0, 0.0]), p)),
          P.one("zoo.optimal_output(p_g=wrong length)", "p_g", lambda: zoo.optimal_output("bce", p, np.ones(3) / 3)),
          P.one("zoo.expected_d_loss(name='foo')", "name", lambda: zoo.expected_d_loss("foo", [0.0, 1.0], p, p), names=("loss",)),
          P.one("zoo.expected_d_loss(out=wrong length)", "out", lambda: zoo.expected_d_loss("bce", [0.0], p, p)),
          P.one("zoo.expected_g_loss(out=None)", "out", lambda: zoo.expected_g_loss("minimax", None, p)),
          P.one("zoo.expected_g_loss(p=wrong length)", "p", lambda: zoo.expected_g_loss("minimax", [0.0, 1.0], np.ones(3) / 3)),
          P.one("zoo.optimal_critic_1d(dx=0)", "dx", lambda: zoo.optimal_critic_1d(p, p, 0.0)),
          P.one("zoo.optimal_critic_1d(dx=-1)", "dx", lambda: zoo.optimal_critic_1d(p, p, -1.0)),
          P.one("zoo.add_spectral_norm(net=None)", "net", lambda: zoo.add_spectral_norm(None)),
          P.one("zoo.toy_trainer(name='foo')", "name", lambda: zoo.toy_trainer("foo", f["ring"], RING_SETTINGS, 10), names=("loss",)),
          P.one("zoo.toy_trainer(mixture=None)", "mixture", lambda: zoo.toy_trainer("minimax", None, RING_SETTINGS, 10)),
          P.one("zoo.toy_trainer(toy=None)", "toy", lambda: zoo.toy_trainer("minimax", f["ring"], None, 10)),
          P.one("zoo.toy_trainer(steps=-1)", "steps", lambda: zoo.toy_trainer("minimax", f["ring"], RING_SETTINGS, -1)),
          P.one("zoo.toy_trainer(settings=bad override)", "settings",
                lambda: zoo.toy_trainer("x", f["ring"], RING_SETTINGS, 10, settings={"x": {"lr": 1.0}}), names=("lr",)),
          P.one("zoo.mnist_trainer(name='foo')", "name", lambda: zoo.mnist_trainer("foo", f["usampler"], 10), names=("loss",)),
          P.one("zoo.seconds_per_step(n=0)", "n", lambda: zoo.seconds_per_step(f["trainer"](), n=0)),
          P.one("zoo.seconds_per_step(trainer=None)", "trainer", lambda: zoo.seconds_per_step(None)),
          P.one("zoo.timed_run(trainer=None)", "trainer", lambda: zoo.timed_run(None)),
          P.one("zoo.run_toy(n_eval=0)", "n_eval", lambda: zoo.run_toy("minimax", f["ring"], RING_SETTINGS, 2, n_eval=0)),
          P.one("zoo.mean_sd(values=[])", "values", lambda: zoo.mean_sd([])),
          P.one("zoo.mean_sd(values=None)", "values", lambda: zoo.mean_sd(None)),
          P.one("zoo.markdown_table(rows=wrong width)", "rows", lambda: zoo.markdown_table(["a", "b"], [["1"]])),
          P.one("zoo.toy_summary(records=missing keys)", "records", lambda: zoo.toy_summary([{"loss": "x"}])),
          P.one("zoo.steps_for(per_step=0)", "per_step", lambda: zoo.steps_for(10.0, 0.0)),
          P.one("zoo.steps_for(seconds=nan)", "seconds", lambda: zoo.steps_for(math.nan, 0.1)),
          P.one("zoo.formula_errors(n=0)", "n", lambda: zoo.formula_errors(n=0))]
    C += [P.one(f"bench.CGANSettings({k}={v!r})", k, lambda k=k, v=v: bench.CGANSettings(**{k: v}))
          for k, v in (("eval_every", 0), ("eval_every", -5), ("eval_n", 0), ("target", 1.5), ("cap_seconds", -1.0),
                       ("batch_size", 0), ("lr_g", math.inf))]
    C += [P.one("bench.bench_time_to_quality(eval_every=0)", "eval_every",
                lambda: bench.bench_time_to_quality(bench.CGANSettings(eval_every=0)),
                timeout=8),
          P.one("bench.bench_throughput(steps=0)", "steps", lambda: bench.bench_throughput(0, 1)),
          P.one("bench.bench_throughput(rounds=0)", "rounds", lambda: bench.bench_throughput(5, 0)),
          P.one("bench.bench_toys(seconds=0)", "seconds", lambda: bench.bench_toys(seconds=0.0)),
          P.one("bench.matmul_peak(n=0)", "n", lambda: bench.matmul_peak(n=0)),
          P.one("bench.matmul_peak(clock='cpu-time')", "clock", lambda: bench.matmul_peak(n=8, seconds=0.01, clock="cpu-time"))]
    return C


def _checks(f, P):
    from gantutor.checks import a01_gan_losses as a01

    def raises(exc):
        def fn(*args):
            raise exc
        return fn
    C = []
    for name in ("check_d_loss", "check_g_minimax", "check_g_nonsaturating", "check_training_step"):
        fn = getattr(a01, name)
        C += [P.one(f"checks.a01.{name}(student raises SystemExit)", "fn", lambda fn=fn: fn(raises(SystemExit(3))),
                    ok=lambda r: r is False),
              P.one(f"checks.a01.{name}(student calls exit())", "fn", lambda fn=fn: fn(raises(SystemExit("bye"))),
                    ok=lambda r: r is False),
              P.one(f"checks.a01.{name}(student raises KeyboardInterrupt)", "fn",
                    lambda fn=fn: fn(raises(KeyboardInterrupt())), passes=(KeyboardInterrupt,)),
              P.one(f"checks.a01.{name}(student returns None)", "fn", lambda fn=fn: fn(lambda *a: None),
                    ok=lambda r: r is False),
              P.one(f"checks.a01.{name}(student raises StopIteration)", "fn",
                    lambda fn=fn: fn(raises(StopIteration())), ok=lambda r: r is False)]
    return C
