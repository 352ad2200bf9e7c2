"""gantutor.losses against closed forms, against torch's BCE, and at extreme logits."""
import pytest
import torch
import torch.nn.functional as F

from gantutor import losses
from gantutor.losses import d_bce, g_minimax, g_nonsaturating

torch.set_default_dtype(torch.float32)


def _logits(n=17, scale=3.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, generator=g, dtype=dtype)


def test_d_bce_equals_torch_bce_with_logits():
    r, f = _logits(17, seed=1), _logits(23, seed=2)
    bce = torch.nn.BCEWithLogitsLoss()
    expected = bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f))
    torch.testing.assert_close(d_bce(r, f), expected)
    # and the sigmoid + BCELoss route of a classic tutorial
    expected2 = F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r)) + \
        F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f))
    torch.testing.assert_close(d_bce(r, f), expected2)


def test_d_bce_closed_form():
    r, f = _logits(9, seed=3), _logits(11, seed=4)
    expected = -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean()
    torch.testing.assert_close(d_bce(r, f), expected)


def test_generator_losses_closed_form():
    f = _logits(13, seed=5)
    torch.testing.assert_close(g_minimax(f), torch.log(1 - torch.sigmoid(f)).mean())
    torch.testing.assert_close(g_nonsaturating(f), -torch.log(torch.sigmoid(f)).mean())
    assert not torch.allclose(g_minimax(f), g_nonsaturating(f))


def test_accepts_column_logits():
    f = _logits(7, seed=6)
    torch.testing.assert_close(g_minimax(f[:, None]), g_minimax(f))
    torch.testing.assert_close(d_bce(f[:, None], f[:, None]), d_bce(f, f))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stable_at_extreme_logits(dtype):
    ext = torch.tensor([-200.0, 200.0], dtype=dtype)
    # the naive formulas break here
    naive = -torch.log(torch.sigmoid(ext)).mean() - torch.log(1 - torch.sigmoid(ext)).mean()
    assert not torch.isfinite(naive)
    for fn, args in ((d_bce, 2), (g_minimax, 1), (g_nonsaturating, 1)):
        ls = [ext.clone().requires_grad_(True) for _ in range(args)]
        out = fn(*ls)
        out.backward()
        assert torch.isfinite(out), fn.__name__
        for l in ls:
            assert torch.isfinite(l.grad).all(), fn.__name__
    # values at the extremes: -log sigmoid(200) ~ 0, -log sigmoid(-200) = 200
    torch.testing.assert_close(g_nonsaturating(ext), torch.tensor(100.0, dtype=dtype))
    torch.testing.assert_close(g_minimax(ext), torch.tensor(-100.0, dtype=dtype))


def _grad(fn, l):
    l = l.clone().requires_grad_(True)
    fn(l).backward()
    return l.grad


@pytest.mark.parametrize("scale", [3.0, 200.0])
def test_gradients_match_closed_forms(scale):
    l = _logits(19, scale=scale, seed=7)
    n = l.numel()
    s = torch.sigmoid(l)
    torch.testing.assert_close(_grad(g_minimax, l), -s / n)
    torch.testing.assert_close(_grad(g_nonsaturating, l), (s - 1) / n)
    r, f = l.clone().requires_grad_(True), _logits(5, scale=scale, seed=8).requires_grad_(True)
    d_bce(r, f).backward()
    torch.testing.assert_close(r.grad, (torch.sigmoid(r.detach()) - 1) / n)
    torch.testing.assert_close(f.grad, torch.sigmoid(f.detach()) / 5)


def test_saturation_minimax_vs_nonsaturating():
    rejected = torch.tensor([-10.0], dtype=torch.float64)
    assert _grad(g_minimax, rejected).abs().item() < 1e-4
    assert _grad(g_nonsaturating, rejected).abs().item() > 0.99


def test_registry_lookup():
    assert losses.d_loss("bce") is d_bce
    assert losses.g_loss("minimax") is g_minimax
    assert losses.g_loss("nonsaturating") is g_nonsaturating
    assert losses.G_LOSSES["nonsaturating"] is g_nonsaturating


@pytest.mark.parametrize("lookup,kind", [(losses.g_loss, "generator"), (losses.d_loss, "discriminator")])
def test_unknown_name_lists_options(lookup, kind):
    table = losses.G_LOSSES if kind == "generator" else losses.D_LOSSES
    with pytest.raises(KeyError) as info:
        lookup("nonsaturatin")
    msg = str(info.value)
    assert kind in msg and "nonsaturatin" in msg
    for name in table:
        assert name in msg


@pytest.mark.parametrize("bad,exc,pattern", [
    (torch.zeros(4, 2), ValueError, r"\[4, 2\]"),
    (torch.tensor(0.5), ValueError, r"scalar"),
    (torch.zeros(0), ValueError, r"\[0\]"),
    (torch.zeros(3, dtype=torch.int64), TypeError, "int64"),
    ([0.1, 0.2], TypeError, "list"),
])
def test_shape_and_dtype_errors_name_the_argument(bad, exc, pattern):
    ok = torch.zeros(3)
    with pytest.raises(exc, match="fake_logits") as info:
        g_nonsaturating(bad)
    assert info.match(pattern)
    with pytest.raises(exc, match="fake_logits"):
        g_minimax(bad)
    with pytest.raises(exc, match="real_logits"):
        d_bce(bad, ok)
    with pytest.raises(exc, match="fake_logits"):
        d_bce(ok, bad)


# ---- Wasserstein, hinge and the gradient penalty ----------------------------------------------------
def test_wasserstein_and_hinge_closed_forms():
    r, f = _logits(9, seed=7), _logits(11, seed=8)
    torch.testing.assert_close(losses.d_wasserstein(r, f), f.mean() - r.mean())
    torch.testing.assert_close(losses.g_wasserstein(f), -f.mean())
    expected = torch.clamp(1 - r, min=0).mean() + torch.clamp(1 + f, min=0).mean()
    torch.testing.assert_close(losses.d_hinge(r, f), expected)
    torch.testing.assert_close(losses.g_hinge(f), -f.mean())
    # beyond the margins the hinge loss is exactly zero and so is its gradient
    far = torch.tensor([2.0, 3.0], requires_grad=True)
    out = losses.d_hinge(far, -far)
    out.backward()
    assert out.item() == 0 and far.grad.abs().sum().item() == 0
    assert losses.d_loss("wasserstein") is losses.d_wasserstein and losses.g_loss("hinge") is losses.g_hinge


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = w . x has gradient w everywhere: the penalty is (||w|| - 1)^2 exactly
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)
    D = lambda x: x @ w
    real, fake = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    torch.testing.assert_close(losses.gradient_penalty(D, real, fake), torch.tensor(16.0, dtype=torch.float64))
    torch.testing.assert_close(losses.gradient_penalty(D, real, fake, one_sided=True), torch.tensor(16.0, dtype=torch.float64))
    small = lambda x: x @ (w / 10)  # ||w|| = 0.5: two-sided penalises, one-sided does not
    torch.testing.assert_close(losses.gradient_penalty(small, real, fake), torch.tensor(0.25, dtype=torch.float64))
    assert losses.gradient_penalty(small, real, fake, one_sided=True).item() == 0


def test_gradient_penalty_draws_one_alpha_per_sample():
    # D(x) = 1/2 ||x||^2 has gradient x_hat itself; with real = 1 and fake = 0, x_hat = alpha per sample,
    # so every row of the gradient is constant iff alpha is shared across the sample's pixels
    seen = {}

    def D(x):
        seen["x_hat"] = x.detach().clone()
        return 0.5 * (x ** 2).flatten(1).sum(1)

    real, fake = torch.ones(8, 1, 4, 4), torch.zeros(8, 1, 4, 4)
    gp = losses.gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(0))
    x_hat = seen["x_hat"].flatten(1)
    assert torch.allclose(x_hat, x_hat[:, :1].expand_as(x_hat)), "alpha must be one number per sample"
    assert x_hat[:, 0].unique().numel() == 8, "each sample gets its own alpha"
    expected = ((x_hat.norm(dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(gp, expected)


def test_gradient_penalty_is_differentiable_and_checks_shapes():
    lin = torch.nn.Linear(3, 1)
    gp = losses.gradient_penalty(lin, torch.randn(5, 3), torch.randn(5, 3))
    gp.backward()
    assert lin.weight.grad is not None and torch.isfinite(lin.weight.grad).all()
    with pytest.raises(ValueError, match="same shape"):
        losses.gradient_penalty(lin, torch.randn(5, 3), torch.randn(4, 3))
