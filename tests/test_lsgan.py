"""LSGAN (Mao et al., 2017): the least-squares losses against hand formulas and torch's MSELoss, their
registry names, the optimal discriminator and the Pearson chi-square identity of the theory helpers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gantutor import losses, theory


def _outputs(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 2 * torch.randn(n, generator=g, dtype=torch.float64), 2 * torch.randn(n, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("a,b", [(0.0, 1.0), (-1.0, 1.0), (0.3, 2.5)])
def test_d_least_squares_matches_hand_formula_and_mseloss(a, b):
    real, fake = _outputs()
    got = losses.d_least_squares(real, fake, a, b)
    hand = 0.5 * sum((r - b) ** 2 for r in real.tolist()) / len(real) + \
        0.5 * sum((f - a) ** 2 for f in fake.tolist()) / len(fake)
    mse = torch.nn.MSELoss()
    ref = 0.5 * mse(real, torch.full_like(real, b)) + 0.5 * mse(fake, torch.full_like(fake, a))
    assert math.isclose(float(got), hand, rel_tol=1e-12)
    assert torch.allclose(got, ref)


@pytest.mark.parametrize("c", [0.0, 1.0, -0.7])
def test_g_least_squares_matches_mseloss(c):
    _, fake = _outputs(seed=1)
    ref = 0.5 * torch.nn.MSELoss()(fake, torch.full_like(fake, c))
    assert torch.allclose(losses.g_least_squares(fake, c), ref)
    assert torch.allclose(losses.g_least_squares(fake[:, None], c), ref)  # shape [N, 1]


def test_least_squares_gradient_is_linear_in_the_output():
    l = torch.linspace(-50, 50, 11, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(losses.g_least_squares(l, 1.0) * len(l), l)
    assert torch.allclose(grad, l.detach() - 1.0)  # never saturates, unlike sigmoid(l) - 1


def test_registry_names_and_codings():
    real, fake = _outputs(seed=2)
    assert {"lsgan", "lsgan-8"} <= set(losses.D_LOSSES) and {"lsgan", "lsgan-8"} <= set(losses.G_LOSSES)
    assert torch.equal(losses.d_loss("lsgan")(real, fake), losses.d_least_squares(real, fake, 0.0, 1.0))
    assert torch.equal(losses.g_loss("lsgan")(fake), losses.g_least_squares(fake, 1.0))
    assert torch.equal(losses.d_loss("lsgan-8")(real, fake), losses.d_least_squares(real, fake, -1.0, 1.0))
    assert torch.equal(losses.g_loss("lsgan-8")(fake), losses.g_least_squares(fake, 0.0))
    for table in (losses.D_LOSSES, losses.G_LOSSES):
        assert all(fn.__doc__ and "eq." in fn.__doc__ for n, fn in table.items() if n.startswith("lsgan"))


def test_least_squares_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        losses.g_least_squares(torch.zeros(4, 2), 1.0)


@pytest.mark.parametrize("a,b", [(0.0, 1.0), (-1.0, 1.0), (2.0, -0.5)])
def test_optimal_discriminator_minimises_the_ls_objective_pointwise(a, b):
    rng = np.random.default_rng(3)
    for sparsity in (0.0, 0.5):
        p_d, p_g = theory.random_distribution(15, rng, sparsity), theory.random_distribution(15, rng, sparsity)
        d_star = theory.lsgan_optimal_discriminator(p_d, p_g, a, b)
        # pointwise: the quadratic p_d (y - b)^2 + p_g (y - a)^2 on a grid has its minimum at D*
        ys = np.linspace(-3, 3, 60001)
        for i in np.flatnonzero(p_d + p_g > 0):
            y_best = ys[np.argmin(p_d[i] * (ys - b) ** 2 + p_g[i] * (ys - a) ** 2)]
            assert abs(y_best - d_star[i]) < 2e-4
        v_star = theory.lsgan_d_objective(d_star, p_d, p_g, a, b)
        for _ in range(20):
            other = d_star + 0.1 * rng.standard_normal(15)
            assert theory.lsgan_d_objective(other, p_d, p_g, a, b) >= v_star - 1e-15


def test_chi2_identity_holds_for_eq8_and_fails_for_eq9():
    rng = np.random.default_rng(4)
    for sparsity in (0.0, 0.5):
        for _ in range(50):
            p_d, p_g = theory.random_distribution(20, rng, sparsity), theory.random_distribution(20, rng, sparsity)
            half = 0.5 * theory.lsgan_chi2(p_d, p_g)
            assert math.isclose(theory.lsgan_generator_value(p_d, p_g, -1, 1, 0), half, rel_tol=1e-10, abs_tol=1e-14)
            assert math.isclose(theory.lsgan_generator_value(p_d, p_g, 0, 2, 1), half, rel_tol=1e-10, abs_tol=1e-14)
    p_d, p_g = theory.random_distribution(20, rng), theory.random_distribution(20, rng)
    assert not math.isclose(theory.lsgan_generator_value(p_d, p_g, 0, 1, 1), 0.5 * theory.lsgan_chi2(p_d, p_g),
                            rel_tol=1e-3)


def test_lsgan_chi2_is_the_papers_formula_and_zero_at_the_optimum():
    rng = np.random.default_rng(5)
    p_d, p_g = theory.random_distribution(9, rng), theory.random_distribution(9, rng)
    s = p_d + p_g
    assert math.isclose(theory.lsgan_chi2(p_d, p_g), float(np.sum((2 * p_g - s) ** 2 / s)), rel_tol=1e-12)
    assert theory.lsgan_chi2(p_d, p_d) == 0.0
    assert np.allclose(theory.lsgan_optimal_discriminator(p_d, p_d, -1, 1), 0.0)
    assert np.allclose(theory.lsgan_optimal_discriminator([0.0, 1.0], [0.0, 1.0], -1, 3), [1.0, 1.0])


@pytest.mark.parametrize("abc", [(1.0, -1.0, 0.0), (2.0, 0.0, 1.0), (3.5, 1.5, 2.5)])
def test_chi2_identity_holds_for_the_sign_flip(abc):
    """b - c = -1 and b - a = -2: the numerator of step 5 is squared, so only (b - c)^2 = 1 and
    b - a = 2 (b - c) matter (chapter 3, thm-ls-chi2)."""
    rng = np.random.default_rng(6)
    for _ in range(50):
        p_d, p_g = theory.random_distribution(15, rng), theory.random_distribution(15, rng)
        assert math.isclose(theory.lsgan_generator_value(p_d, p_g, *abc), 0.5 * theory.lsgan_chi2(p_d, p_g),
                            rel_tol=1e-10, abs_tol=1e-14)


def test_eq9_value_has_second_derivative_pd2_over_sum_cubed():
    """For eq. (9), C(G) = 1/2 sum p_g^2 / (p_d + p_g): d^2 C / d p_g(x)^2 = p_d^2 / (p_d + p_g)^3 (that of
    2C is twice this), by central differences."""
    rng = np.random.default_rng(7)
    for _ in range(30):
        p_d, p_g = theory.random_distribution(8, rng), theory.random_distribution(8, rng)
        i, h = int(rng.integers(8)), 1e-4
        e = np.zeros(8)
        e[i] = h
        C = lambda q: theory.lsgan_generator_value(p_d, q, 0, 1, 1)  # noqa: E731
        fd = (C(p_g + e) - 2 * C(p_g) + C(p_g - e)) / h ** 2
        assert math.isclose(fd, p_d[i] ** 2 / (p_d[i] + p_g[i]) ** 3, rel_tol=1e-4)


def test_added_real_term_depends_on_g_at_dstar_and_frozen_step_is_not_chi2_descent():
    """C(G) = V(G)|_{D*} + 1/2 E_pd[(D* - c)^2]: the added term changes with p_g (through D*), so C(G) is
    not V(G) plus a constant; and against a frozen D* the generator's slope and that of chi2/2 can have
    opposite signs (eq. 8), while at p_g = p_d the frozen objective has zero slope (fixed point)."""
    rng = np.random.default_rng(8)
    a, b, c = -1.0, 1.0, 0.0
    opposite = 0
    for _ in range(100):
        p_d, p_g, q = (theory.random_distribution(10, rng) for _ in range(3))
        d = theory.lsgan_optimal_discriminator(p_d, p_g, a, b)
        fake_term, real_term = 0.5 * np.sum(p_g * (d - c) ** 2), 0.5 * np.sum(p_d * (d - c) ** 2)
        assert math.isclose(theory.lsgan_generator_value(p_d, p_g, a, b, c), fake_term + real_term, rel_tol=1e-12)
        d_q = theory.lsgan_optimal_discriminator(p_d, q, a, b)
        assert abs(0.5 * np.sum(p_d * (d_q - c) ** 2) - real_term) > 1e-8   # depends on p_g
        v = rng.standard_normal(10)
        v -= v.mean()
        v *= 0.5 * p_g.min() / np.abs(v).max()
        frozen = np.sum(v * 0.5 * (d - c) ** 2)
        h = 1e-5
        chi = (theory.lsgan_chi2(p_d, p_g + h * v) - theory.lsgan_chi2(p_d, p_g - h * v)) / (4 * h)
        opposite += np.sign(frozen) != np.sign(chi)
        d_eq = theory.lsgan_optimal_discriminator(p_d, p_d, a, b)
        assert abs(np.sum(v * 0.5 * (d_eq - c) ** 2)) < 1e-15
    assert opposite > 0


def _frozen_descent(p_d, p_g, a, b, c):
    """G's steepest-descent direction on the simplex against a frozen D*: -(g - mean g), g = 1/2 (D* - c)^2."""
    g = 0.5 * (theory.lsgan_optimal_discriminator(p_d, p_g, a, b) - c) ** 2
    v = -(g - g.mean())
    return v * 0.5 * p_g.min() / np.abs(v).max()


def test_frozen_steepest_step_ascends_chi2_for_eq8_never_its_own_value_for_eq9():
    """Chapter 3, after thm-ls-chi2: the theorem's conditions force c = (a + b)/2, so with eq. (8) the per-point
    loss is 1/2 (1 - 2r)^2, r = p_g / (p_d + p_g), as large where only data lives as where only fakes do;
    G's steepest step against a frozen D* raises chi2/2 on most random pairs. With eq. (9) the per-point loss
    r^2/2 and the gradient of its C(G), (2r - r^2)/2, are both increasing in r (Chebyshev's sum inequality):
    the step never raises eq. (9)'s C(G)."""
    for a, b, c in [(-1.0, 1.0, 0.0), (0.0, 2.0, 1.0), (1.0, -1.0, 0.0)]:
        assert c == (a + b) / 2
    rng = np.random.default_rng(11)
    ascends = {(-1.0, 1.0, 0.0): 0, (0.0, 2.0, 1.0): 0, (0.0, 1.0, 1.0): 0}
    n_pairs, h = 300, 1e-6
    for _ in range(n_pairs):
        p_d, p_g = theory.random_distribution(10, rng), theory.random_distribution(10, rng)
        r = p_g / (p_d + p_g)
        for abc in ascends:
            v = _frozen_descent(p_d, p_g, *abc)
            C = lambda q: theory.lsgan_generator_value(p_d, q, *abc)  # noqa: E731
            ascends[abc] += C(p_g + h * v) > C(p_g - h * v)
            d = theory.lsgan_optimal_discriminator(p_d, p_g, abc[0], abc[1])
            want = 0.5 * r ** 2 if abc == (0.0, 1.0, 1.0) else 0.5 * (1 - 2 * r) ** 2
            np.testing.assert_allclose(0.5 * (d - abc[2]) ** 2, want, rtol=1e-12, atol=1e-15)
    assert ascends[(-1.0, 1.0, 0.0)] > n_pairs / 2 and ascends[(0.0, 2.0, 1.0)] > n_pairs / 2
    assert ascends[(0.0, 1.0, 1.0)] == 0


def test_eq8_has_mode_dropping_equilibria_eq9_has_none():
    """Chapter 3: p_g = p_d restricted to a subset S of its support and renormalised. D* is D's best reply
    (prop-ls-dstar); against it G's per-point loss g = 1/2 (D* - c)^2 is constant on S. With eq. (8) it is
    below its value 1/2 off S (r = 0 there), so p_g is a best reply too: an equilibrium with chi2 > 0.
    With eq. (9) g = r^2/2 is 0 off S, below its value on S: G gains by moving mass to the dropped points."""
    rng = np.random.default_rng(13)
    for _ in range(50):
        p_d = theory.random_distribution(8, rng)
        S = rng.random(8) < 0.5
        S[rng.integers(8)] = True
        if S.all():
            S[0] = False
        p_g = np.where(S, p_d, 0.0) / p_d[S].sum()
        assert theory.lsgan_chi2(p_d, p_g) > 0
        for (a, b, c), is_equilibrium in (((-1.0, 1.0, 0.0), True), ((0.0, 2.0, 1.0), True), ((0.0, 1.0, 1.0), False)):
            g = 0.5 * (theory.lsgan_optimal_discriminator(p_d, p_g, a, b) - c) ** 2
            assert np.ptp(g[S]) < 1e-12
            assert (g[S].max() < g[~S].min()) == is_equilibrium
