"""gantutor.zoo and the playground: formulas against the registry (moderate outputs in float64, and large
ones in float32), the theory helpers against closed forms, spectral norm, trainers for every zoo loss
(one step each), the summary table."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402

from gantutor import losses, plots, theory, zoo  # noqa: E402
from gantutor.config import RING_SETTINGS  # noqa: E402
from gantutor.data import ring8  # noqa: E402

TINY = RING_SETTINGS.__class__(g_hidden=(8,), d_hidden=(8,), batch_size=16, steps=3)


def test_every_registered_loss_has_a_checked_formula():
    errors = zoo.formula_errors()
    assert set(errors) == {f"D {n}" for n in losses.D_LOSSES} | {f"G {n}" for n in losses.G_LOSSES}
    assert max(errors.values()) < 1e-12


# -- large outputs in float32: formula_errors draws moderate float64 outputs (4 N(0, 1)), where a naive
# -log(sigmoid(l)) and the registry's softplus agree; here every registered loss must stay exact where the
# naive forms overflow (float32 sigmoid(-200) = 0) and must not clamp its outputs.
LARGE = (-200.0, -50.0, 50.0, 200.0)


def _softplus(x: float) -> float:  # log(1 + e^x), exact in float64 at any x (numpy's logaddexp)
    return float(np.logaddexp(0.0, x))


EXACT_D = {  # each registered D loss on one real output r and one fake output f, in float64
    "bce": lambda r, f: _softplus(-r) + _softplus(f),
    "lsgan": lambda r, f: 0.5 * (r - 1) ** 2 + 0.5 * f ** 2,
    "lsgan-8": lambda r, f: 0.5 * (r - 1) ** 2 + 0.5 * (f + 1) ** 2,
    "wasserstein": lambda r, f: f - r,
    "hinge": lambda r, f: max(0.0, 1 - r) + max(0.0, 1 + f),
}
EXACT_G = {
    "minimax": lambda f: -_softplus(f),
    "nonsaturating": lambda f: _softplus(-f),
    "lsgan": lambda f: 0.5 * (f - 1) ** 2,
    "lsgan-8": lambda f: 0.5 * f ** 2,
    "wasserstein": lambda f: -f,
    "hinge": lambda f: -f,
}


def _exact_grad(fn, args, i, h=1e-3):  # central difference in float64 (no kink within h of +-50, +-200)
    up, down = list(args), list(args)
    up[i], down[i] = args[i] + h, args[i] - h
    return (fn(*up) - fn(*down)) / (2 * h)


def large_output_failures(dtype=torch.float32) -> list:
    """Every registered loss at outputs in LARGE (all real/fake pairs for D): the value and the gradient
    in ``dtype`` must be finite and equal the exact float64 ones (relative 1e-5). Returns one message per
    failure, starting with "D <name>" or "G <name>"."""
    failures = []
    for kind, table, exact in (("D", losses.D_LOSSES, EXACT_D), ("G", losses.G_LOSSES, EXACT_G)):
        for name, fn in table.items():
            if name not in exact:
                failures.append(f"{kind} {name} has no exact reference in tests/test_zoo.py")
                continue
            grid = [(r, f) for r in LARGE for f in LARGE] if kind == "D" else [(f,) for f in LARGE]
            for args in grid:
                ts = [torch.tensor([a], dtype=dtype, requires_grad=True) for a in args]
                value = fn(*ts)
                grads = torch.autograd.grad(value, ts)
                want = exact[name](*args)
                got = [float(value.detach())] + [float(g) for g in grads]
                wants = [want] + [_exact_grad(exact[name], args, i) for i in range(len(args))]
                if not all(np.isfinite(g) and abs(g - w) <= 1e-5 * max(1.0, abs(w)) for g, w in zip(got, wants)):
                    failures.append(f"{kind} {name} at {args}: value and gradients {got}, exact {wants}")
    return failures


def test_every_registered_loss_is_exact_at_large_float32_outputs():
    assert large_output_failures() == []


def _naive_bce(r, f):
    return -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean()


@pytest.mark.parametrize("kind, name, wrong", [
    ("D", "bce", _naive_bce),                                                  # log(sigmoid) underflows
    ("G", "nonsaturating", lambda f: -torch.log(torch.sigmoid(f)).mean()),
    ("G", "minimax", lambda f: torch.log(1 - torch.sigmoid(f)).mean()),
    ("D", "hinge", lambda r, f: torch.relu(1 - r.clamp(-20, 20)).mean() + torch.relu(1 + f.clamp(-20, 20)).mean()),
    ("G", "lsgan", lambda f: 0.5 * (f.clamp(-20, 20) - 1).pow(2).mean()),    # clamped: zero gradient
])
def test_large_output_check_catches_unstable_and_clamped_losses(monkeypatch, kind, name, wrong):
    # These pass formula_errors (moderate outputs); the large-output check names them and only them.
    monkeypatch.setitem(losses.D_LOSSES if kind == "D" else losses.G_LOSSES, name, wrong)
    failures = large_output_failures()
    assert failures and all(msg.startswith(f"{kind} {name} ") for msg in failures), failures
    assert max(zoo.formula_errors().values()) < 1e-12


def test_settings_use_registered_losses():
    for name, s in zoo.DEFAULT_SETTINGS.items():
        assert s["d_loss"] in losses.D_LOSSES and s["g_loss"] in losses.G_LOSSES, name


def test_bce_at_optimum_is_js():
    rng = np.random.default_rng(0)
    p_d, p_g = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    l_star = zoo.optimal_output("bce", p_d, p_g)
    assert np.isclose(-zoo.expected_d_loss("bce", l_star, p_d, p_g), 2 * theory.js(p_d, p_g) - theory.LOG4)


def test_hinge_optimum_is_total_variation():
    rng = np.random.default_rng(1)
    p_d, p_g = rng.dirichlet(np.ones(7)), rng.dirichlet(np.ones(7))
    best = zoo.expected_d_loss("hinge", zoo.optimal_output("hinge", p_d, p_g), p_d, p_g)
    assert np.isclose(best, 2 - np.abs(p_d - p_g).sum())
    for _ in range(20):
        other = zoo.optimal_output("hinge", p_d, p_g) + 0.5 * rng.standard_normal(7)
        assert zoo.expected_d_loss("hinge", other, p_d, p_g) >= best - 1e-12


def test_optimal_critic_reaches_w1_and_is_lipschitz():
    rng = np.random.default_rng(2)
    x = np.arange(12) * 0.5
    p_d, p_g = rng.dirichlet(np.ones(12)), rng.dirichlet(np.ones(12))
    f = zoo.optimal_critic_1d(p_d, p_g, 0.5)
    assert np.all(np.abs(np.diff(f)) <= 0.5 + 1e-12)
    assert np.isclose(p_d @ f - p_g @ f, stats.wasserstein_distance(x, x, p_d, p_g))
    with pytest.raises(ValueError, match="wasserstein"):
        zoo.optimal_output("wasserstein", p_d, p_g)


def test_spectral_norm_bounds_every_linear_layer():
    torch.manual_seed(0)
    D = zoo.add_spectral_norm(RING_SETTINGS.models()[1])
    for _ in range(30):  # power iterations converge over training-mode forwards
        D(torch.randn(4, 2))
    linears = [m for m in D.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(torch.linalg.matrix_norm(m.weight, 2) < 1.05 for m in linears)


@pytest.mark.parametrize("name", list(zoo.DEFAULT_SETTINGS))
def test_every_zoo_loss_trains_one_step(name):
    trainer = zoo.toy_trainer(name, ring8(), TINY, steps=2, seed=0)
    assert trainer.config.d_loss == zoo.DEFAULT_SETTINGS[name]["d_loss"]
    record, _ = zoo.run_toy(name, ring8(), TINY, steps=2, n_eval=50)
    assert record["steps"] == 2 and 0 <= record["hq"] <= 1 and record["n_modes"] == 8


def test_unknown_loss_names_the_choices():
    with pytest.raises(KeyError, match="minimax"):
        zoo.toy_trainer("nope", ring8(), TINY, steps=1)


def test_summary_table_and_steps():
    recs = [{"loss": "a", "set": "ring8", "seed": s, "steps": 10, "cpu": 1.0, "modes": m, "n_modes": 8,
             "hq": 0.5, "rkl": 0.1} for s, m in enumerate((7, 8, 9))]
    table = zoo.toy_summary(recs)
    assert "8.0 ± 1.0 / 8" in table and "50.0 ± 0.0" in table and table.count("\n") == 2
    assert zoo.mean_sd([1.0, float("inf")]) == "inf in 1/2"
    assert zoo.steps_for(1.0, 0.01) == 100 and zoo.steps_for(0.0, 1.0) == 10


def test_loss_zoo_figure_merges_identical_losses():
    fig = plots.loss_zoo_figure(["nonsaturating", "wasserstein", "hinge"], lim=2.0)
    labels = [line.get_label() for line in fig.axes[0].lines if not line.get_label().startswith("_")]
    assert labels == ["nonsaturating", "wasserstein = hinge"]


def test_playground_trains_and_reports_scores():
    from gantutor.widgets import Playground

    settings = {"nonsaturating": zoo.DEFAULT_SETTINGS["nonsaturating"]}
    pg = Playground(settings, loss="nonsaturating", toy="grid of 25", steps=50, updates=2)
    scores = pg.train()
    assert pg.dashboard.trainer.step_count == 50 and scores.n_modes == 25
    assert pg.holder.children == (pg.dashboard.widget,) and "step 50" in pg.scores.value
    with pytest.raises(ValueError, match="loss must be one of"):
        Playground(settings, loss="hinge-sn")
