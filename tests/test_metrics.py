"""Tests of gantutor.metrics (and a smoke run of gantutor.bench)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gantutor import metrics
from gantutor.data import DataNotFoundError, grid25, load_mnist, ring8, to_signed


def _mnist(train: bool = False):
    try:
        return load_mnist(train=train, download=False)
    except DataNotFoundError:
        pytest.skip("MNIST files absent (set GANTUTOR_DATA)")


@pytest.fixture(scope="module")
def test_digits():
    data = _mnist(train=False)
    return to_signed(data.images[:, None]), data.labels


# -- toy scores ---------------------------------------------------------------------------------------
def test_all_samples_at_the_modes():
    ring = ring8()
    s = metrics.toy_scores(ring.means.repeat(10, 1), ring)
    assert (s.modes, s.n_modes, s.high_quality) == (8, 8, 1.0)
    assert s.reverse_kl == pytest.approx(0.0, abs=1e-9)


def test_all_samples_at_one_mode():
    ring = ring8()
    s = metrics.toy_scores(ring.means[3:4].repeat(50, 1), ring)
    assert (s.modes, s.high_quality) == (1, 1.0)
    assert s.reverse_kl == pytest.approx(math.log(8))


def test_points_far_away_are_not_high_quality():
    grid = grid25()
    s = metrics.toy_scores(torch.full((100, 2), 50.0), grid)
    assert (s.modes, s.high_quality, s.reverse_kl) == (0, 0.0, math.inf)


def test_samples_from_the_mixture_score_well():
    ring = ring8()
    s = metrics.toy_scores(ring.sample(2500, torch.Generator().manual_seed(0))[0], ring)
    assert s.modes == 8 and s.high_quality > 0.98 and s.reverse_kl < 0.01


# -- classifier and MNIST-FID -------------------------------------------------------------------------
def test_classifier_weights_are_small_and_load_safely():
    assert metrics.WEIGHTS.stat().st_size < 1_000_000
    state = torch.load(metrics.WEIGHTS, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert metrics.classifier() is metrics.classifier()


def test_classifier_accuracy_on_test_digits(test_digits):
    x, y = test_digits
    assert float((metrics.classify(x) == y).double().mean()) >= 0.99


def test_features_shape(test_digits):
    f = metrics.features(test_digits[0][:10])
    assert f.shape == (10, metrics.FEATURE_DIM) and torch.isfinite(f).all()


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_noise(test_digits):
    x = test_digits[0][:2000]
    assert metrics.fid_between(x, x) == pytest.approx(0.0, abs=1e-3)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=g)
    fids = [metrics.fid_between(x, (x + s * noise).clamp(-1, 1)) for s in (0.1, 0.3, 0.6, 1.0)]
    assert all(a < b for a, b in zip(fids, fids[1:])), fids
    assert fids[0] > 0


def test_mnist_fid_reports_baseline(test_digits):
    r = metrics.mnist_fid(test_digits[0][:1000])
    assert r.n == 1000 and r.fid >= 0 and r.baseline > 0
    noise = metrics.mnist_fid(torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    assert r.fid < noise.fid / 10  # real digits (n=1000 is biased upward) score far below noise
    assert "1000 real training digits" in str(r)
    # the floor is computed at the scored n: fewer samples, a higher floor (FID's upward bias)
    assert r.baseline == pytest.approx(metrics.real_baseline(1000))
    assert metrics.real_baseline(200) > metrics.real_baseline(2000) > 0


def test_conditional_accuracy(test_digits):
    x, y = test_digits[0][:500], test_digits[1][:500]
    right = metrics.conditional_accuracy(x, y)
    assert right.overall >= 0.97 and len(right.per_digit) == 10
    wrong = metrics.conditional_accuracy(x, (y + 1) % 10)
    assert wrong.overall <= 0.03


def test_precision_recall_identical_and_disjoint():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(500, 8, generator=g)
    same = metrics.precision_recall_features(a, a.clone())
    assert same.precision == pytest.approx(1.0) and same.recall == pytest.approx(1.0)
    far = metrics.precision_recall_features(a, torch.randn(500, 8, generator=g) + 100.0)
    assert far.precision == 0.0 and far.recall == 0.0


def test_precision_recall_on_images(test_digits):
    x = test_digits[0]
    pr = metrics.precision_recall(x[:600], x[600:1200])
    assert pr.precision > 0.6 and pr.recall > 0.6


# -- errors -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, words", [
    (torch.zeros(5, 28, 28), "shape"),
    (torch.zeros(5, 3, 28, 28), "shape"),
    (torch.zeros(5, 1, 28, 28, dtype=torch.uint8), "to_signed"),
    (torch.full((5, 1, 28, 28), 2.0), "[-1, 1]"),
    (torch.full((5, 1, 28, 28), float("nan")), "NaN"),
])
def test_bad_images_raise(bad, words):
    with pytest.raises(ValueError, match="images") as info:
        metrics.features(bad)
    assert words in str(info.value)


def test_too_few_samples_for_a_covariance():
    with pytest.raises(ValueError, match=r"n > 64"):
        metrics.mnist_fid(torch.zeros(10, 1, 28, 28))


def test_bad_labels_raise():
    x = torch.zeros(4, 1, 28, 28)
    with pytest.raises(ValueError, match="labels"):
        metrics.conditional_accuracy(x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels"):
        metrics.conditional_accuracy(x, torch.tensor([0, 1, 2, 10]))


def test_precision_recall_errors():
    with pytest.raises(ValueError, match="fake"):
        metrics.precision_recall_features(torch.randn(10, 2), torch.full((10, 2), float("nan")))
    with pytest.raises(ValueError, match="real"):
        metrics.precision_recall_features(torch.randn(2, 2), torch.randn(10, 2))


# -- the benchmark's smoke run ------------------------------------------------------------------------
def test_bench_quick_writes_valid_json(tmp_path):
    _mnist(train=True)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "gantutor.bench", "--quick", "--threads", "1", "--out", str(tmp_path)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((tmp_path / "results.json").read_text())
    assert result["quick"] is True
    assert result["throughput"]["ratio"] > 0
    assert {row["set"] for row in result["toys"]} == {"ring8", "grid25"}
    assert (tmp_path / "results.md").read_text().startswith("# gantutor benchmark")
