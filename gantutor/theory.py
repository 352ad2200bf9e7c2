"""Divergences and closed forms on discrete distributions and on 1D densities sampled on a grid.

Discrete distributions are 1D arrays of non-negative numbers summing to 1. A density on a uniform grid
is passed with its spacing ``dx``: every function then computes the Riemann sum, so the same code
serves both cases (``dx=1`` for discrete distributions).

Goodfellow et al. (2014), Proposition 1: D*(x) = p_data(x) / (p_data(x) + p_g(x)).
Theorem 1: C(G) = V(D*, G) = -log 4 + 2 JS(p_data || p_g), minimal (-log 4) iff p_g = p_data.
"""
from __future__ import annotations

import math
from typing import Tuple

import numpy as np
from scipy import optimize

from . import validate as V

LOG4 = math.log(4.0)


def _as_dist(name: str, p, dx: float = 1.0) -> np.ndarray:
    dx = V.positive_number("dx", dx)
    if p is None or isinstance(p, (str, bytes, dict)):
        V.fail(name, "a 1D array of probabilities", p, error=TypeError)
    try:
        p = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        V.fail(name, "a 1D array of probabilities", p, error=TypeError)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"{name} must be a non-empty 1D array, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{name} must hold finite non-negative numbers")
    total = p.sum() * dx
    if not math.isclose(total, 1.0, rel_tol=1e-3, abs_tol=1e-3):
        raise ValueError(f"{name} must sum (integrate) to 1, got {total:.6g}")
    return p


def _masses(p_data, p_g):
    """Two equally long 1D arrays of finite non-negative numbers (densities or masses, any total)."""
    out = []
    for name, v in (("p_data", p_data), ("p_g", p_g)):
        a = V.array_1d(name, v, "a non-empty 1D array of finite non-negative numbers")
        if np.any(a < 0):
            V.fail(name, "a non-empty 1D array of finite non-negative numbers", "negative entries")
        out.append(a)
    if out[1].shape != out[0].shape:
        V.fail("p_g", f"the shape of p_data {out[0].shape}", f"shape {out[1].shape}")
    return out


def _values_of_d(d, n: int, low: float = -math.inf, high: float = math.inf) -> np.ndarray:
    d = V.array_1d("d", d)
    if d.shape != (n,):
        V.fail("d", f"{n} values of D, one per point", f"shape {d.shape}")
    if np.any(d < low) or np.any(d > high):
        V.fail("d", f"values of D in [{low:g}, {high:g}]", f"values in [{d.min():.3g}, {d.max():.3g}]")
    return d


def _pair(p, q, dx):
    p, q = _as_dist("p", p, dx), _as_dist("q", q, dx)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    return p, q


def kl(p, q, dx: float = 1.0) -> float:
    """KL(p || q) = sum p log(p / q) (times dx), with 0 log 0 = 0; infinite where q = 0 < p."""
    p, q = _pair(p, q, dx)
    mask = p > 0
    if np.any(q[mask] == 0):
        return math.inf
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])) * dx)


def js(p, q, dx: float = 1.0) -> float:
    """Jensen-Shannon divergence JS(p || q) = KL(p || m)/2 + KL(q || m)/2 with m = (p + q)/2.
    Bounded by log 2, reached exactly when p and q have disjoint supports."""
    p, q = _pair(p, q, dx)
    m = 0.5 * (p + q)
    return 0.5 * kl(p, m, dx) + 0.5 * kl(q, m, dx)


def optimal_discriminator(p_data, p_g) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g) where p_data + p_g > 0 (Proposition 1); 1/2 elsewhere (any
    value is optimal where neither distribution has mass)."""
    p_data, p_g = _masses(p_data, p_g)
    s = p_data + p_g
    return np.divide(p_data, s, out=np.full_like(s, 0.5), where=s > 0)


def value(d, p_data, p_g, dx: float = 1.0) -> float:
    """V(D, G) = E_{p_data}[log D] + E_{p_g}[log(1 - D)] for a discriminator given by its values d."""
    p_data, p_g = _pair(p_data, p_g, dx)
    d = _values_of_d(d, p_data.shape[0], 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 * log 0 is masked to 0 below
        t1 = np.where(p_data > 0, p_data * np.log(d), 0.0)
        t2 = np.where(p_g > 0, p_g * np.log1p(-d), 0.0)
    return float((t1.sum() + t2.sum()) * dx)


def value_at_optimum(p_data, p_g, dx: float = 1.0) -> float:
    """C(G) = V(D*, G), computed from D* (not from the JS identity it is checked against).

    log D* = log p_data - log(p_data + p_g) and log(1 - D*) = log p_g - log(p_data + p_g) are used
    directly, so that a D* that rounds to 0 or 1 in the far tails does not produce log(0)."""
    p_data, p_g = _pair(p_data, p_g, dx)
    s = p_data + p_g
    a, b = p_data > 0, p_g > 0
    t1 = p_data[a] * (np.log(p_data[a]) - np.log(s[a]))
    t2 = p_g[b] * (np.log(p_g[b]) - np.log(s[b]))
    return float((t1.sum() + t2.sum()) * dx)


def pearson_chi2(p, q, dx: float = 1.0) -> float:
    """Pearson chi-square divergence chi2(p || q) = sum (p - q)^2 / q (times dx); infinite where q = 0 < p."""
    p, q = _pair(p, q, dx)
    if np.any((q == 0) & (p > 0)):
        return math.inf
    mask = q > 0
    return float(np.sum((p[mask] - q[mask]) ** 2 / q[mask]) * dx)


def random_distribution(n: int, rng: np.random.Generator, sparsity: float = 0.0) -> np.ndarray:
    """A random distribution on n points (Dirichlet(1)); a share ``sparsity`` of points set to zero."""
    V.positive_int("n", n)
    if not isinstance(rng, np.random.Generator):
        V.fail("rng", "a numpy Generator, e.g. np.random.default_rng(0)", rng, error=TypeError)
    V.probability("sparsity", sparsity)
    p = rng.dirichlet(np.ones(n))
    if sparsity > 0:
        p[rng.random(n) < sparsity] = 0.0
        if p.sum() == 0:
            p[rng.integers(n)] = 1.0
        p /= p.sum()
    return p


def gaussian_pdf(x, mu: float, sigma: float) -> np.ndarray:
    """The N(mu, sigma^2) density at x."""
    sigma, mu = V.positive_number("sigma", sigma), V.finite_number("mu", mu)
    if isinstance(x, (str, bytes)) or x is None:
        V.fail("x", "numbers (a float or an array)", x, error=TypeError)
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def mixture_pdf(x, means, sigmas, weights=None) -> np.ndarray:
    """Density of a 1D Gaussian mixture at x."""
    means = V.array_1d("means", np.atleast_1d(means) if means is not None else None)
    sig = V.array_1d("sigmas", np.atleast_1d(sigmas) if sigmas is not None else None)
    if np.any(sig <= 0) or sig.shape not in ((1,), means.shape):
        V.fail("sigmas", f"one positive number or {len(means)} (one per mean)", f"{sig.tolist()}")
    sigmas = np.broadcast_to(sig, means.shape)
    weights = np.full(len(means), 1 / len(means)) if weights is None else V.array_1d("weights", weights)
    if weights.shape != means.shape or np.any(weights < 0):
        V.fail("weights", f"{len(means)} non-negative weights (one per mean)", f"{weights.tolist()}")
    return sum(w * gaussian_pdf(x, m, s) for w, m, s in zip(weights, means, sigmas))


def _grid(x) -> Tuple[np.ndarray, float]:
    """A uniform increasing grid of at least 2 points and its spacing."""
    x = V.array_1d("x", x, "a uniform increasing grid of at least 2 points")
    dx = float(x[1] - x[0]) if x.size > 1 else 0.0
    if x.size < 2 or dx <= 0 or not np.allclose(np.diff(x), dx, rtol=1e-6, atol=1e-12):
        V.fail("x", "a uniform increasing grid of at least 2 points", f"{x.size} point(s)" if x.size < 2 else "an uneven grid")
    return x, dx


def fit_gaussian(p, x, direction: str) -> Tuple[float, float]:
    """Fit one Gaussian N(mu, sigma^2) to a density p on the uniform grid x by minimising a KL divergence.

    ``direction="forward"`` minimises KL(p || q) (mode covering; the optimum matches p's mean and
    variance); ``"reverse"`` minimises KL(q || p) (mode seeking), found numerically with several starts.
    Returns (mu, sigma).
    """
    V.one_of("direction", direction, ("forward", "reverse"))
    x, dx = _grid(x)
    p = _as_dist("p", p, dx)
    if p.shape != x.shape:
        V.fail("x", f"a grid of {p.shape[0]} points, one per entry of p", f"{x.shape[0]} points")
    if direction == "forward":
        mu = float(np.sum(x * p) * dx)
        return mu, float(math.sqrt(np.sum((x - mu) ** 2 * p) * dx))
    if direction != "reverse":
        raise ValueError(f"direction must be 'forward' or 'reverse', got {direction!r}")
    log_p = np.log(np.maximum(p, 1e-300))

    def reverse_kl(theta):
        q = gaussian_pdf(x, theta[0], math.exp(theta[1]))
        q = q / (q.sum() * dx)
        mask = q > 1e-300
        return float(np.sum(q[mask] * (np.log(q[mask]) - log_p[mask])) * dx)

    starts = [(m, math.log(0.5)) for m in np.quantile(x, [0.2, 0.35, 0.5, 0.65, 0.8])]
    best = min((optimize.minimize(reverse_kl, s, method="Nelder-Mead") for s in starts), key=lambda r: r.fun)
    return float(best.x[0]), float(math.exp(best.x[1]))


# ---- LSGAN (Mao et al., 2017): least squares with the a-b-c coding ------------------------------------
# a: target of D on fakes, b: target of D on real data, c: the value G wants D to give fakes.


def _pair_raw(p_data, p_g):
    p_data, p_g = _as_dist("p_data", p_data), _as_dist("p_g", p_g)
    if p_data.shape != p_g.shape:
        raise ValueError(f"p_data and p_g must have the same shape, got {p_data.shape} and {p_g.shape}")
    return p_data, p_g


def lsgan_optimal_discriminator(p_data, p_g, a: float, b: float) -> np.ndarray:
    """D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x)) (Mao et al., 2017, sec. 3), the minimiser
    of the LSGAN discriminator objective for a fixed G; (a + b)/2 where neither has mass (any value is
    optimal there)."""
    p_data, p_g = _masses(p_data, p_g)
    a, b = V.finite_number("a", a), V.finite_number("b", b)
    s = p_data + p_g
    return np.divide(b * p_data + a * p_g, s, out=np.full_like(s, 0.5 * (a + b)), where=s > 0)


def lsgan_d_objective(d, p_data, p_g, a: float, b: float) -> float:
    """V(D) = 1/2 E_{p_data}[(D(x) - b)^2] + 1/2 E_{p_g}[(D(x) - a)^2] for D given by its values d
    (the objective D minimises, Mao et al., 2017, sec. 3, with x = G(z) for the fake term)."""
    p_data, p_g = _pair_raw(p_data, p_g)
    d = _values_of_d(d, p_data.shape[0])
    a, b = V.finite_number("a", a), V.finite_number("b", b)
    return float(0.5 * np.sum(p_data * (d - b) ** 2) + 0.5 * np.sum(p_g * (d - a) ** 2))


def lsgan_generator_value(p_data, p_g, a: float, b: float, c: float) -> float:
    """C(G) = 1/2 E_{p_data}[(D*(x) - c)^2] + 1/2 E_{p_g}[(D*(x) - c)^2] (Mao et al., 2017, sec. 3: the
    generator's objective extended by the p_data term, at D = D*), computed from D* itself, not from the
    chi-square identity it is checked against. This C(G) is not chapter 1's max_D V(G, D).

    The second term is the generator's objective V(G) at D = D*. The first is the term Mao et al. add
    to make the identity appear; it does not involve G for a FIXED D, but at D = D*
    = (b p_data + a p_g)/(p_data + p_g) it depends on p_g through D*, so C(G) is not V(G) plus a
    constant. With b - c = +-1 and b - a = 2 (b - c), C(G) = 1/2 chi2_Pearson(p_data + p_g || 2 p_g)
    (:func:`lsgan_chi2`); those conditions force c = (a + b)/2, the value D* takes where p_g = p_data.
    For ANY coding, with p_data and p_g summing to 1, C(G) is an affine function of the same chi2
    (:func:`lsgan_value_via_chi2`), so every coding with a != b has its minimum at p_g = p_data.
    p_g = p_data is an equilibrium of the idealised game, but with eq. (8) not the only one (p_data
    restricted to a subset of its support and renormalised is one too), and the generator's
    steepest-descent step against a frozen D* (direction -(1/2 (D* - c)^2 minus its mean) on the simplex)
    need not descend chi2: for eq. (8) it ascends it for most random pairs (chapter 3 measures the share)."""
    p_data, p_g = _pair_raw(p_data, p_g)
    c = V.finite_number("c", c)
    d = lsgan_optimal_discriminator(p_data, p_g, a, b)
    return float(0.5 * np.sum(p_data * (d - c) ** 2) + 0.5 * np.sum(p_g * (d - c) ** 2))


def lsgan_chi2(p_data, p_g) -> float:
    """The paper's chi2_Pearson(p_d + p_g || 2 p_g) = sum (2 p_g - (p_d + p_g))^2 / (p_d + p_g)
    (Mao et al., 2017, sec. 3; the denominator is the FIRST argument there). Neither measure sums to
    1; with m = (p_d + p_g)/2 it equals 2 * pearson_chi2(p_g, m) in this module's convention."""
    p_data, p_g = _pair_raw(p_data, p_g)
    return 2.0 * pearson_chi2(p_g, 0.5 * (p_data + p_g))


def lsgan_value_via_chi2(p_data, p_g, a: float, b: float, c: float) -> float:
    """C(G) of :func:`lsgan_generator_value` computed from the chi-square instead of from D*:
    C(G) = 1/4 (2 (b - c) - (b - a))^2 + (b - a)^2 / 8 * chi2_Pearson(p_data + p_g || 2 p_g), for ANY coding.

    Why: step 4 of Mao et al.'s proof (chapter 3) gives 2 C(G) = sum ((b - c) s - (b - a) p_g)^2 / s with
    s = p_data + p_g. Expand and use sum s = 2, sum p_g = 1; with X = sum p_data p_g / s, sum p_g^2 / s = 1 - X
    and chi2 = sum (2 p_g - s)^2 / s = 2 - 4 X. The paper's conditions b - c = +-1, b - a = 2 (b - c) make the
    constant 0 and the factor 1/2; eq. (9) (a = 0, b = c = 1) gives C(G) = 1/4 + chi2 / 8. Needs probability
    distributions (the identity uses both sums)."""
    p_data, p_g = _pair_raw(p_data, p_g)
    a, b, c = (V.finite_number(n, v) for n, v in (("a", a), ("b", b), ("c", c)))
    return float(0.25 * (2 * (b - c) - (b - a)) ** 2 + (b - a) ** 2 / 8 * lsgan_chi2(p_data, p_g))


# ---- Wasserstein-1 (Arjovsky et al., 2017; optimal transport in 1D) ------------------------------------
# W1(p, q) = inf over couplings gamma of E_(x,y)~gamma |x - y|   (Arjovsky et al., 2017, eq. 1).
# In 1D the monotone (sorted) coupling is optimal, which gives the two formulas below.


def _samples_1d(name: str, x) -> np.ndarray:
    return V.array_1d(name, x, "a non-empty 1D array of finite samples")


def w1_sorted(x, y) -> float:
    """Exact W1 between the empirical distributions of two equally many 1D samples.

    The optimal coupling pairs the i-th smallest x with the i-th smallest y, so
    W1 = (1/n) sum_i |x_(i) - y_(i)|, the quantile form int_0^1 |F^-1(u) - G^-1(u)| du. Written out
    here (instead of calling scipy.stats.wasserstein_distance, which the tests compare it with)
    because the sorting IS the optimal transport plan the chapter teaches.
    """
    x, y = _samples_1d("x", x), _samples_1d("y", y)
    if x.size != y.size:
        raise ValueError(f"x and y must hold equally many samples, got {x.size} and {y.size}; "
                         "use w1_samples for unequal sizes")
    return float(np.mean(np.abs(np.sort(x) - np.sort(y))))


def w1_samples(x, y) -> float:
    """Exact W1 between the empirical distributions of 1D samples of any sizes:
    W1 = int |F_x(t) - F_y(t)| dt, the area between the two empirical CDFs (step functions, so the
    integral is a finite sum over the merged sample points)."""
    x, y = np.sort(_samples_1d("x", x)), np.sort(_samples_1d("y", y))
    t = np.concatenate([x, y])
    t.sort()
    f_x = np.searchsorted(x, t[:-1], side="right") / x.size
    f_y = np.searchsorted(y, t[:-1], side="right") / y.size
    return float(np.sum(np.abs(f_x - f_y) * np.diff(t)))


def w1_grid(p, q, dx: float = 1.0) -> float:
    """W1 = int |F_p - F_q| dx for densities p and q on a uniform grid of spacing ``dx`` (or discrete
    distributions on equally spaced points, ``dx`` = the spacing), with F the cumulative sums."""
    p, q = _pair(p, q, dx)
    return float(np.sum(np.abs(np.cumsum(p - q) * dx)) * dx)


def w1_optimal_critic(p, q, x) -> np.ndarray:
    """A maximiser f* of the Kantorovich-Rubinstein dual sup_{|f|_L <= 1} E_p[f] - E_q[f] (Arjovsky et
    al., 2017, eq. 2) for densities p, q on the uniform grid x: f*'(t) = sign(F_q(t) - F_p(t)), so f*
    climbs at slope 1 where q has more mass to its left and falls where p has. f*(x[0]) = 0."""
    x, dx = _grid(x)
    p, q = _pair(p, q, dx)
    if p.shape != x.shape:
        V.fail("x", f"a grid of {p.shape[0]} points, one per entry of p", f"{x.shape[0]} points")
    slope = np.sign(np.cumsum(q - p) * dx)
    return np.concatenate([[0.0], np.cumsum(slope[:-1]) * dx])


def parallel_lines(theta: float) -> dict:
    """KL, JS and W1 between P_0 and P_theta of Arjovsky et al. (2017), Example 1: P_theta is the
    distribution of (theta, Z) with Z ~ U[0, 1], a vertical segment at horizontal offset theta.

    For theta != 0 the supports are disjoint: KL(P_0 || P_theta) = KL(P_theta || P_0) = +inf,
    JS = log 2 and W1 = |theta| (move every point straight sideways). All three are 0 at theta = 0.
    """
    theta = V.finite_number("theta", theta)
    if theta == 0.0:
        return {"KL": 0.0, "JS": 0.0, "W1": 0.0}
    return {"KL": math.inf, "JS": math.log(2.0), "W1": abs(theta)}
