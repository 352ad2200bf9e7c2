"""gantutor.conditional and gantutor.models.conditional: shapes, label errors, the three-term loss
against its formula, the projection logit, one training step, sampling helpers, discrete theory."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gantutor import conditional, losses, theory
from gantutor.config import TrainConfig
from gantutor.data import TensorSampler
from gantutor.models import MLPDiscriminator, MLPGenerator, MLPProjectionDiscriminator

SHAPE = (1, 6, 6)


def _sampler(n=64, classes=4):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 6, 6), generator=g, dtype=torch.uint8)
    return TensorSampler(images, torch.arange(n) % classes, n_classes=classes)


def _models(classes=4, projection=False):
    torch.manual_seed(0)
    G = MLPGenerator(8, SHAPE, hidden=(16,), n_classes=classes)
    D = (MLPProjectionDiscriminator(SHAPE, hidden=(16, 8), n_classes=classes) if projection
         else MLPDiscriminator(SHAPE, hidden=(16,), n_classes=classes))
    return G, D


# ---- projection discriminator ------------------------------------------------------------------------

def test_projection_shapes_and_logit_formula():
    _, D = _models(projection=True)
    x, y = torch.randn(5, *SHAPE), torch.tensor([0, 1, 2, 3, 0])
    logits = D(x, y)
    assert logits.shape == (5,)
    h = D.phi(x.flatten(1))
    expected = D.psi(h)[:, 0] + (D.embed(y) * h).sum(1)
    assert torch.allclose(logits, expected, atol=1e-6)
    realism, match = D.parts(x, y)
    assert torch.allclose(realism + match, logits)
    # the realism part does not depend on the label, the match part does
    assert torch.allclose(D.parts(x, (y + 1) % 4)[0], realism)
    assert not torch.allclose(D.parts(x, (y + 1) % 4)[1], match)


@pytest.mark.parametrize("bad, message", [
    (None, "required"),
    (torch.tensor([0, 1, 2, 3, 4]), r"\[0, 4\)"),
    (torch.tensor([0.0, 1, 2, 3, 0]), "integer"),
    (torch.tensor([0, 1]), "shape"),
])
def test_projection_label_errors(bad, message):
    _, D = _models(projection=True)
    with pytest.raises(ValueError, match=message):
        D(torch.randn(5, *SHAPE), bad)


def test_projection_rejects_bad_construction_and_input_shape():
    with pytest.raises(ValueError, match="n_classes >= 2"):
        MLPProjectionDiscriminator(SHAPE, n_classes=1)
    with pytest.raises(ValueError, match="hidden"):
        MLPProjectionDiscriminator(SHAPE, hidden=())
    _, D = _models(projection=True)
    with pytest.raises(ValueError, match="x: expected a float tensor"):
        D(torch.randn(5, 1, 5, 5), torch.zeros(5, dtype=torch.long))


# ---- losses and labels -----------------------------------------------------------------------------------

def test_mismatched_labels_are_wrong_and_uniform():
    y = torch.full((20000,), 3)
    wrong = conditional.mismatched_labels(y, 10, generator=torch.Generator().manual_seed(0))
    assert wrong.dtype == y.dtype and wrong.shape == y.shape
    assert not (wrong == y).any() and int(wrong.min()) >= 0 and int(wrong.max()) <= 9
    freq = torch.bincount(wrong, minlength=10).float() / len(y)
    assert freq[3] == 0
    assert torch.allclose(freq[torch.arange(10) != 3], torch.full((9,), 1 / 9), atol=0.01)


def test_mismatched_labels_errors():
    with pytest.raises(ValueError, match="at least 2"):
        conditional.mismatched_labels(torch.zeros(3, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="integer"):
        conditional.mismatched_labels(torch.zeros(3), 10)


def test_three_term_loss_against_formula():
    g = torch.Generator().manual_seed(1)
    r, f, m = (3 * torch.randn(32, generator=g) for _ in range(3))
    sig = torch.sigmoid
    by_hand = -(torch.log(sig(r)).mean() + torch.log(1 - sig(f)).mean() + 0.7 * torch.log(1 - sig(m)).mean())
    assert torch.allclose(conditional.d_conditional_bce(r, f, m, 0.7), by_hand, atol=1e-5)
    assert torch.allclose(conditional.d_conditional_bce(r, f), losses.d_bce(r, f))
    assert torch.allclose(conditional.d_conditional_bce(r, f, m, 0.0), losses.d_bce(r, f))
    assert torch.allclose(conditional.d_conditional_bce(r[:, None], f[:, None], m[:, None], 0.7), by_hand, atol=1e-5)
    extreme = torch.tensor([120.0])
    assert torch.isfinite(conditional.d_conditional_bce(-extreme, extreme, extreme))


# ---- trainer ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("projection", [False, True])
@pytest.mark.parametrize("mismatch_weight, l1_weight", [(0.0, 0.0), (1.0, 0.0), (1.0, 0.05)])
def test_one_training_step_changes_both_networks(projection, mismatch_weight, l1_weight):
    G, D = _models(projection=projection)
    g0 = [p.detach().clone() for p in G.parameters()]
    d0 = [p.detach().clone() for p in D.parameters()]
    t = conditional.ConditionalTrainer(G, D, _sampler(), TrainConfig(batch_size=16, latent_dim=8, progress=False,
                                                                     log_every=1, device="cpu"),
                                       mismatch_weight=mismatch_weight, l1_weight=l1_weight)
    t.step()
    assert t.step_count == 1 and len(t.history.step) == 1
    assert all(np.isfinite(v[-1]) for k, v in t.history.as_dict().items() if k != "step")
    assert any(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))


def test_d_step_minimises_the_three_term_loss():
    """Replay the trainer's discriminator step by hand, with the same random draws."""
    G, D = _models()
    cfg = TrainConfig(batch_size=16, latent_dim=8, progress=False, device="cpu")
    t = conditional.ConditionalTrainer(G, D, _sampler(), cfg, mismatch_weight=0.5)
    t.sampler.sample(16)  # draw the epoch's permutation now, so both steps below use the same random draws
    state = {k: v.clone() for k, v in D.state_dict().items()}
    torch.manual_seed(5)
    loss, _ = t.d_step()
    D.load_state_dict(state)
    t.sampler._pos -= 16  # the same real batch again
    torch.manual_seed(5)
    x, y = t.sampler.sample(16)
    z, y_fake = t.noise(16)
    wrong = conditional.mismatched_labels(y, 4)
    with torch.no_grad():
        expected = conditional.d_conditional_bce(D(x, y), D(G(z, y_fake), y_fake), D(x, wrong), 0.5)
    assert torch.allclose(loss, expected, atol=1e-6)


def test_trainer_argument_errors():
    G, D = _models()
    unlabelled = TensorSampler(torch.zeros(8, 6, 6, dtype=torch.uint8))
    with pytest.raises(ValueError, match="labelled sampler"):
        conditional.ConditionalTrainer(G, D, unlabelled)
    with pytest.raises(ValueError, match=">= 0"):
        conditional.ConditionalTrainer(G, D, _sampler(), mismatch_weight=-1)
    with pytest.raises(ValueError, match="bce"):
        conditional.ConditionalTrainer(G, D, _sampler(), TrainConfig(d_loss="lsgan"), mismatch_weight=1.0)


def _replay_d_loss(t, name):
    """The trainer's D loss, and the named registered loss recomputed on the same random draws."""
    G, D = t.G, t.D
    t.sampler.sample(16)  # fix the epoch's permutation
    state = {k: v.clone() for k, v in D.state_dict().items()}
    torch.manual_seed(5)
    loss, _ = t.d_step()
    D.load_state_dict(state)
    t.sampler._pos -= 16
    torch.manual_seed(5)
    x, y = t.sampler.sample(16)
    z, y_fake = t.noise(16)
    with torch.no_grad():
        expected = losses.d_loss(name)(D(x, y), D(G(z, y_fake), y_fake))
    return loss, expected


def test_set_losses_applies_to_the_conditional_game():
    """A loss switched with set_losses is the one the next step uses (it was ignored by the mismatch path);
    with the mismatch term, a non-BCE discriminator loss is refused and nothing changes."""
    G, D = _models()
    cfg = TrainConfig(batch_size=16, latent_dim=8, progress=False, device="cpu")
    t = conditional.ConditionalTrainer(G, D, _sampler(), cfg, mismatch_weight=0.0)
    t.set_losses(d_loss="lsgan", g_loss="lsgan")
    loss, expected = _replay_d_loss(t, "lsgan")
    assert torch.allclose(loss, expected, atol=1e-6)
    assert not torch.allclose(expected, _replay_d_loss(t, "bce")[1])   # the two losses differ on this batch
    torch.manual_seed(6)
    g_loss, g_out = t.game.g_loss(t)
    assert torch.allclose(g_loss, losses.g_loss("lsgan")(g_out["fake"]), atol=1e-6)

    G, D = _models()
    t = conditional.ConditionalTrainer(G, D, _sampler(), TrainConfig(batch_size=16, latent_dim=8, progress=False,
                                                                     device="cpu"), mismatch_weight=1.0)
    with pytest.raises(ValueError, match="d_loss.*mismatch"):
        t.set_losses(d_loss="lsgan")
    assert t.config.d_loss == "bce"
    with pytest.raises(KeyError, match="nope"):
        t.set_losses(d_loss="nope")
    t.set_losses(g_loss="minimax", d_loss="bce")
    assert t.config.g_loss == "minimax"
    t.config.d_loss = "lsgan"                    # set behind the trainer's back: refused, not ignored
    with pytest.raises(ValueError, match="config.d_loss"):
        t.d_step()


# ---- sampling helpers ------------------------------------------------------------------------------------

def test_generate_digit_shape_labels_and_determinism():
    G, D = _models()
    out = conditional.generate_digit(G, 2, n=7, seed=0)
    assert out.shape == (7, *SHAPE) and out.device.type == "cpu"
    assert torch.equal(out, conditional.generate_digit(G, 2, n=7, seed=0))
    z = torch.randn(7, 8)
    with torch.no_grad():
        assert torch.allclose(conditional.generate_digit(G, 2, z=z), G(z, torch.full((7,), 2)))
    assert G.training  # restored
    for bad in (4, -1, 1.0, True):
        with pytest.raises(ValueError, match="digit"):
            conditional.generate_digit(G, bad)
    with pytest.raises(ValueError, match="conditional"):
        conditional.generate_digit(MLPGenerator(8, SHAPE), 0)


def test_interpolations():
    G, _ = _models()
    z0, z1 = torch.randn(8), torch.randn(8)
    line = conditional.interpolate_noise(G, z0, z1, digit=1, steps=5)
    assert line.shape == (5, *SHAPE)
    assert torch.allclose(line[0], conditional.generate_digit(G, 1, z=z0[None])[0], atol=1e-6)
    labels = conditional.interpolate_labels(G, z0, 0, 3, steps=4)
    assert labels.shape == (4, *SHAPE)
    assert torch.allclose(labels[0], conditional.generate_digit(G, 0, z=z0[None])[0], atol=1e-6)
    assert torch.allclose(labels[-1], conditional.generate_digit(G, 3, z=z0[None])[0], atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        conditional.generate_from_embedding(G, torch.randn(2, 8), torch.randn(2, 3))


def test_class_centres():
    images = torch.tensor([[0.0], [1.0], [5.0], [2.0], [4.0], [4.0]])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    assert torch.allclose(conditional.class_centres(images, labels, 2, "median"), torch.tensor([[1.0], [4.0]]))
    assert torch.allclose(conditional.class_centres(images, labels, 2, "mean"), torch.tensor([[2.0], [10 / 3]]))
    with pytest.raises(ValueError, match="no image of class 2"):
        conditional.class_centres(images, labels, 3)
    with pytest.raises(ValueError, match="kind"):
        conditional.class_centres(images, labels, 2, "mode")


# ---- discrete theory -------------------------------------------------------------------------------------

def test_conditional_optimum_reduces_to_per_class_and_js():
    rng = np.random.default_rng(0)
    p = theory.random_distribution(30, rng).reshape(3, 10)
    py = p.sum(1, keepdims=True)
    pg = py * np.stack([theory.random_distribution(10, rng) for _ in range(3)])
    d = conditional.optimal_conditional_discriminator(p, pg)
    for c in range(3):
        assert np.allclose(d[c], theory.optimal_discriminator(p[c] / py[c], pg[c] / py[c]))
    assert np.isclose(conditional.conditional_value(p, pg), 2 * theory.js(p.ravel(), pg.ravel()) - theory.LOG4)


def test_mismatch_density_and_generator_optimum():
    rng = np.random.default_rng(1)
    p = theory.random_distribution(30, rng).reshape(3, 10)
    q = conditional.mismatch_density(p)
    assert np.isclose(q.sum(), 1.0) and (q >= 0).all()
    assert np.allclose(conditional.generator_optimum(p, 0.0), p)
    best = conditional.generator_optimum(p, 1.0)
    assert np.allclose(best.sum(1), p.sum(1))
    c = conditional.conditional_value(p, best, 1.0)
    for _ in range(50):
        other = best * np.exp(0.2 * rng.standard_normal(best.shape)) + 1e-4
        other *= p.sum(1, keepdims=True) / other.sum(1, keepdims=True)
        assert conditional.conditional_value(p, other, 1.0) >= c - 1e-12
