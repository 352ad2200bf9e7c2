"""gantutor.theory against numerical integration, closed forms and the propositions of Goodfellow et al."""
import math

import numpy as np
import pytest
from scipy import integrate, stats

from gantutor import theory

X = np.linspace(-15, 15, 30001)
DX = float(X[1] - X[0])


def _kl_gauss(m1, s1, m2, s2):
    return math.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5


GAUSS_PAIRS = [(0.0, 1.0, 1.0, 1.5), (-1.0, 0.5, 2.0, 1.0), (0.3, 2.0, 0.0, 0.7)]


@pytest.mark.parametrize("m1,s1,m2,s2", GAUSS_PAIRS)
def test_kl_between_gaussians(m1, s1, m2, s2):
    p, q = theory.gaussian_pdf(X, m1, s1), theory.gaussian_pdf(X, m2, s2)
    got = theory.kl(p, q, DX)
    quad, _ = integrate.quad(lambda t: stats.norm.pdf(t, m1, s1) * (stats.norm.logpdf(t, m1, s1) - stats.norm.logpdf(t, m2, s2)),
                             -np.inf, np.inf)
    assert got == pytest.approx(quad, rel=1e-4, abs=1e-6)
    assert got == pytest.approx(_kl_gauss(m1, s1, m2, s2), rel=1e-4, abs=1e-6)
    assert theory.kl(p, p, DX) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("m1,s1,m2,s2", GAUSS_PAIRS)
def test_js_between_gaussians(m1, s1, m2, s2):
    p, q = theory.gaussian_pdf(X, m1, s1), theory.gaussian_pdf(X, m2, s2)

    def integrand(t):
        a, b = stats.norm.pdf(t, m1, s1), stats.norm.pdf(t, m2, s2)
        m = 0.5 * (a + b)
        out = 0.0
        if a > 0:
            out += 0.5 * a * math.log(a / m)
        if b > 0:
            out += 0.5 * b * math.log(b / m)
        return out

    quad, _ = integrate.quad(integrand, -30, 30, limit=200, points=[m1, m2])
    got = theory.js(p, q, DX)
    assert got == pytest.approx(quad, rel=1e-4, abs=1e-6)
    assert 0 < got < math.log(2)
    assert theory.js(q, p, DX) == pytest.approx(got, rel=1e-12)


def test_gaussian_pdf_integrates_to_one_and_rejects_bad_sigma():
    assert theory.gaussian_pdf(X, 0.4, 1.3).sum() * DX == pytest.approx(1.0, rel=1e-9)
    assert theory.gaussian_pdf(0.0, 0.0, 2.0) == pytest.approx(1 / (2 * math.sqrt(2 * math.pi)))
    with pytest.raises(ValueError, match="sigma"):
        theory.gaussian_pdf(X, 0.0, 0.0)
    mix = theory.mixture_pdf(X, [-2, 3], [0.5, 1.0], [0.3, 0.7])
    assert mix.sum() * DX == pytest.approx(1.0, rel=1e-9)
    assert mix[np.argmin(abs(X - 3))] == pytest.approx(0.7 * theory.gaussian_pdf(3.0, 3, 1.0), rel=1e-3)


def test_kl_infinite_and_zero_conventions():
    assert theory.kl([0.5, 0.5, 0.0], [1.0, 0.0, 0.0]) == math.inf
    assert theory.kl([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))


def test_proposition1_optimal_discriminator_maximises_value():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, q = theory.random_distribution(12, rng), theory.random_distribution(12, rng)
        d_star = theory.optimal_discriminator(p, q)
        np.testing.assert_allclose(d_star, p / (p + q))
        v_star = theory.value(d_star, p, q)
        for _ in range(25):
            d = np.clip(d_star + rng.normal(scale=rng.choice([1e-3, 0.05, 0.3]), size=12), 1e-6, 1 - 1e-6)
            assert theory.value(d, p, q) <= v_star + 1e-12
        assert theory.value(np.full(12, 0.5), p, q) < v_star


@pytest.mark.parametrize("sparsity", [0.0, 0.5])
def test_theorem1_value_at_optimum_is_2js_minus_log4(sparsity):
    rng = np.random.default_rng(1)
    for _ in range(30):
        p = theory.random_distribution(20, rng, sparsity)
        q = theory.random_distribution(20, rng, sparsity)
        assert theory.value_at_optimum(p, q) == pytest.approx(2 * theory.js(p, q) - math.log(4), abs=1e-10)
    assert theory.value_at_optimum(p, p) == pytest.approx(-math.log(4), abs=1e-12)


def test_disjoint_supports_give_log2():
    rng = np.random.default_rng(2)
    for _ in range(10):
        p, q = np.zeros(16), np.zeros(16)
        idx = rng.permutation(16)
        p[idx[:5]] = rng.dirichlet(np.ones(5))
        q[idx[5:11]] = rng.dirichlet(np.ones(6))
        assert theory.js(p, q) == pytest.approx(math.log(2), abs=1e-12)
        assert theory.value_at_optimum(p, q) == pytest.approx(0.0, abs=1e-12)
        assert theory.kl(p, q) == math.inf


def test_js_symmetric_and_bounded():
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = theory.random_distribution(8, rng, 0.3)
        q = theory.random_distribution(8, rng, 0.3)
        a, b = theory.js(p, q), theory.js(q, p)
        assert a == pytest.approx(b, abs=1e-14)
        assert -1e-15 <= a <= math.log(2) + 1e-12
        assert theory.js(p, p) == pytest.approx(0.0, abs=1e-15)


def test_pearson_chi2_closed_form():
    assert theory.pearson_chi2([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25 ** 2 / 0.25 + 0.25 ** 2 / 0.75)
    # chi2(p || q) = sum p^2 / q - 1
    rng = np.random.default_rng(4)
    p, q = theory.random_distribution(6, rng), theory.random_distribution(6, rng)
    assert theory.pearson_chi2(p, q) == pytest.approx(np.sum(p ** 2 / q) - 1)
    assert theory.pearson_chi2(p, p) == pytest.approx(0.0, abs=1e-15)
    assert theory.pearson_chi2([0.5, 0.5, 0.0], [1.0, 0.0, 0.0]) == math.inf
    assert theory.pearson_chi2([1.0, 0.0], [0.5, 0.5]) == pytest.approx(1.0)
    # continuous: chi2 between N(0,1) and N(0, s^2) is s / sqrt(2 s^2 - 1) ... for s^2 > 1/2, minus 1
    s = 1.5
    closed = s ** 2 / math.sqrt(2 * s ** 2 - 1) - 1
    got = theory.pearson_chi2(theory.gaussian_pdf(X, 0, 1), theory.gaussian_pdf(X, 0, s), DX)
    assert got == pytest.approx(closed, rel=1e-6)


def test_fit_gaussian_forward_is_moment_matching():
    p = theory.mixture_pdf(X, [-3.0, 2.0], 0.6, [0.3, 0.7])
    mu, sigma = theory.fit_gaussian(p, X, "forward")
    mean = 0.3 * -3 + 0.7 * 2
    var = 0.6 ** 2 + 0.3 * (-3 - mean) ** 2 + 0.7 * (2 - mean) ** 2
    assert mu == pytest.approx(mean, abs=1e-6)
    assert sigma == pytest.approx(math.sqrt(var), rel=1e-6)


def test_fit_gaussian_reverse_picks_one_mode():
    x = np.linspace(-8, 8, 1601)
    p = theory.mixture_pdf(x, [-3.0, 3.0], 0.5)
    mu, sigma = theory.fit_gaussian(p, x, "reverse")
    assert min(abs(mu - 3.0), abs(mu + 3.0)) < 0.1
    assert sigma == pytest.approx(0.5, rel=0.1)
    mu_f, sigma_f = theory.fit_gaussian(p, x, "forward")
    assert abs(mu_f) < 1e-6 and sigma_f > 2.5
    with pytest.raises(ValueError, match="direction"):
        theory.fit_gaussian(p, x, "sideways")


@pytest.mark.parametrize("fn", [theory.kl, theory.js, theory.pearson_chi2, theory.value_at_optimum])
def test_invalid_distributions(fn):
    good = [0.25, 0.75]
    with pytest.raises(ValueError, match="non-negative"):
        fn([-0.5, 1.5], good)
    with pytest.raises(ValueError, match="sum"):
        fn(good, [0.2, 0.3])
    with pytest.raises(ValueError, match="same shape"):
        fn(good, [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="1D"):
        fn([[0.5, 0.5]], [[0.5, 0.5]])
    with pytest.raises(ValueError, match="non-negative"):
        fn([float("nan"), 1.0], good)
    with pytest.raises(ValueError, match="q must"):
        fn(good, [1.2, -0.2])


def test_density_needs_dx():
    p = theory.gaussian_pdf(X, 0, 1)
    with pytest.raises(ValueError, match="integrate"):
        theory.kl(p, p)  # forgetting dx: the Riemann sum is not 1


# ---- Wasserstein-1 -------------------------------------------------------------------------------------

def test_w1_sorted_and_samples_match_scipy_and_assignment():
    from scipy.optimize import linear_sum_assignment
    rng = np.random.default_rng(0)
    for n, m in [(50, 50), (7, 13), (200, 80)]:
        x, y = rng.normal(0, 1, n), rng.exponential(2.0, m)
        assert theory.w1_samples(x, y) == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-10)
        if n == m:
            assert theory.w1_sorted(x, y) == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-10)
            rows, cols = linear_sum_assignment(np.abs(x[:, None] - y[None, :]))  # the LP's optimum
            assert theory.w1_sorted(x, y) == pytest.approx(np.abs(x[rows] - y[cols]).mean(), rel=1e-10)
    x = rng.normal(size=100)
    assert theory.w1_sorted(x, x + 2.5) == pytest.approx(2.5)   # a translation costs its length
    assert theory.w1_sorted(x, rng.permutation(x)) == 0.0


def test_w1_grid_and_optimal_critic_on_gaussians():
    for (m1, s1), (m2, s2) in [((0, 1), (1.5, 1)), ((0, 1), (0, 2)), ((-1, 0.5), (2, 1.5))]:
        p, q = theory.gaussian_pdf(X, m1, s1), theory.gaussian_pdf(X, m2, s2)
        ref = integrate.quad(lambda t: abs(stats.norm.cdf(t, m1, s1) - stats.norm.cdf(t, m2, s2)), -15, 15,
                             limit=200, points=[m1, m2])[0]
        w = theory.w1_grid(p, q, DX)
        assert w == pytest.approx(ref, rel=1e-3)
        f = theory.w1_optimal_critic(p, q, X)
        assert np.all(np.abs(np.diff(f)) <= DX * (1 + 1e-9))           # 1-Lipschitz
        assert np.sum(f * (p - q)) * DX == pytest.approx(w, rel=1e-3)     # attains the dual's supremum
    p = theory.gaussian_pdf(X, 0, 1)
    assert theory.w1_grid(p, theory.gaussian_pdf(X, 3, 1), DX) == pytest.approx(3.0, rel=1e-4)


def test_w1_rejects_bad_input():
    with pytest.raises(ValueError, match="equally many"):
        theory.w1_sorted([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="x: expected"):
        theory.w1_samples([[1.0]], [1.0])
    with pytest.raises(ValueError, match="y: expected .* finite"):
        theory.w1_samples([1.0], [np.nan])
    with pytest.raises(ValueError, match="theta"):
        theory.parallel_lines(math.inf)


def test_parallel_lines_closed_forms_and_discretisation():
    assert theory.parallel_lines(0.0) == {"KL": 0.0, "JS": 0.0, "W1": 0.0}
    for theta in (-1.0, 0.02, 3.0):
        d = theory.parallel_lines(theta)
        assert d["KL"] == math.inf and d["JS"] == pytest.approx(math.log(2)) and d["W1"] == abs(theta)
        # discretised: two columns of a grid, identical vertical profiles
        p, q = np.zeros((2, 10)), np.zeros((2, 10))
        p[0], q[1] = 0.1, 0.1
        assert theory.kl(p.ravel(), q.ravel()) == math.inf
        assert theory.js(p.ravel(), q.ravel()) == pytest.approx(math.log(2))


def test_lsgan_value_is_an_affine_function_of_chi2_for_every_coding():
    """Chapter 3 (after thm-ls-chi2): with sum p_d = sum p_g = 1, every coding gives
    C(G) = 1/4 (2 (b - c) - (b - a))^2 + (b - a)^2 / 8 * chi2; eq. (9) gives 1/4 + chi2 / 8, eq. (8) chi2 / 2."""
    rng = np.random.default_rng(12)
    for sparsity in (0.0, 0.5):
        for _ in range(200):
            p_d, p_g = theory.random_distribution(12, rng, sparsity), theory.random_distribution(12, rng, sparsity)
            a, b, c = rng.uniform(-3, 3, 3)
            assert math.isclose(theory.lsgan_value_via_chi2(p_d, p_g, a, b, c),
                                theory.lsgan_generator_value(p_d, p_g, a, b, c), rel_tol=1e-12, abs_tol=1e-13)
            chi2 = theory.lsgan_chi2(p_d, p_g)
            assert math.isclose(theory.lsgan_generator_value(p_d, p_g, 0, 1, 1), 0.25 + chi2 / 8,
                                rel_tol=1e-12, abs_tol=1e-13)
            assert math.isclose(theory.lsgan_value_via_chi2(p_d, p_g, -1, 1, 0), chi2 / 2, rel_tol=1e-12, abs_tol=1e-13)
    # the identity uses both sums: with masses that do not sum to 1 it is refused, not silently wrong
    with pytest.raises(ValueError, match="p_g must sum"):
        theory.lsgan_value_via_chi2([0.5, 0.5], [0.5, 0.7], 0, 1, 1)
    with pytest.raises(ValueError, match="c"):
        theory.lsgan_value_via_chi2([0.5, 0.5], [0.5, 0.5], 0, 1, math.nan)
