"""Synthetic data sets: shapes, exact structure, statistics (with stated tolerances), seeding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linpc.data import (
    MNIST1D_SHAPE,
    MNIST_SHAPE,
    linear_teacher,
    matrix_completion,
    one_hot_classes,
    second_moments,
    toy_gaussian,
    toy_gaussian_sampler,
)
from linpc.numerics import EPS, MONTE_CARLO_SIGMAS


@settings(max_examples=20)
@given(st.integers(1, 64), st.integers(1, 4), st.sampled_from([-1.0, 1.0]),
       st.integers(0, 2**32 - 1))
def test_toy_gaussian(batch, dim, sign, seed):
    """y = sign·x exactly; x has mean 1 and std 0.1 per coordinate (mean within 5σ of 1,
    σ = 0.1/√(B·d)); same seed → same data; float64, batch-first."""
    x, y = toy_gaussian(batch, dim, sign=sign, rng=seed)
    assert x.shape == y.shape == (batch, dim) and x.dtype == np.float64
    np.testing.assert_array_equal(y, sign * x)
    assert abs(x.mean() - 1.0) <= MONTE_CARLO_SIGMAS * 0.1 / np.sqrt(batch * dim)
    np.testing.assert_array_equal(x, toy_gaussian(batch, dim, sign=sign, rng=seed)[0])


def test_toy_gaussian_variance():
    """Sample variance of 10⁵ draws within 5σ of 0.01 (σ² = 2·0.1⁴/n for a Gaussian)."""
    x, _ = toy_gaussian(100_000, 1, rng=0)
    assert abs(x.var() - 0.01) <= MONTE_CARLO_SIGMAS * np.sqrt(2 * 0.1**4 / x.size)


def test_fresh_batch_sampler():
    """The sampler draws a new batch per call from the generator it is given (reproducibly)."""
    s = toy_gaussian_sampler(8, 2)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    a, b = s(g1), s(g1)
    assert not np.array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[0], s(g2)[0])
    np.testing.assert_array_equal(a[1], -a[0])


@pytest.mark.parametrize("balanced", [False, True])
def test_one_hot_classes(balanced):
    """Rows of y are one-hot with the returned labels, so Σ_yy = diag(B_c/B) exactly (docs/theory.md
    §3.2); MNIST-1D shapes by default; balanced counts when asked."""
    x, y, labels = one_hot_classes(60, 10, rng=1, balanced=balanced)
    assert x.shape == (60, MNIST1D_SHAPE[0]) and y.shape == (60, 10)
    np.testing.assert_array_equal(y.argmax(axis=1), labels)
    np.testing.assert_array_equal(y.sum(axis=1), np.ones(60))
    counts = np.bincount(labels, minlength=10)
    np.testing.assert_array_equal(second_moments(x, y).yy, np.diag(counts / 60))
    if balanced:
        np.testing.assert_array_equal(counts, np.full(10, 6))
    assert MNIST_SHAPE == (784, 10)
    with pytest.raises(ValueError, match="multiple of n_classes"):
        one_hot_classes(61, 10, rng=1, balanced=True)


@pytest.mark.parametrize("rank", [None, 1, 3])
def test_linear_teacher(rank):
    """Noise-free teacher data are realisable (y = x Tᵀ exactly) and T has the requested rank."""
    x, y, T = linear_teacher(20, 6, 4, rank=rank, rng=2)
    np.testing.assert_allclose(y, x @ T.T, rtol=0, atol=0)
    expected = min(6, 4) if rank is None else rank
    s = np.linalg.svd(T, compute_uv=False)
    assert np.sum(s > 10 * 6 * EPS * s[0]) == expected
    with pytest.raises(ValueError, match="rank"):
        linear_teacher(5, 3, 2, rank=3)


def test_matrix_completion_task():
    """P1 Fig. 6's task: rank-3 10×10 target A B, binary mask with P(observed) = 0.8 (observed
    fraction over 200 draws within 5σ of 0.8, σ² = 0.16/(100·200)), inputs = mask ⊙ target, and
    the tracked loss = nn.MSELoss of the masked output and target."""
    t = matrix_completion(rng=3)
    s = np.linalg.svd(t.target, compute_uv=False)
    assert np.sum(s > 100 * EPS * s[0]) == 3
    np.testing.assert_array_equal(t.target, t.factors[0] @ t.factors[1])
    assert set(np.unique(t.mask)) <= {0.0, 1.0}
    np.testing.assert_array_equal(t.inputs, t.mask * t.target)
    pred = np.random.default_rng(0).standard_normal((10, 10))
    assert t.masked_mse(pred) == pytest.approx(np.sum((t.mask * (pred - t.target)) ** 2) / 100,
                                               rel=1e-15)
    frac = np.mean([matrix_completion(rng=k).mask.mean() for k in range(200)])
    assert abs(frac - 0.8) <= MONTE_CARLO_SIGMAS * np.sqrt(0.16 / (100 * 200))


def test_bad_input():
    """Non-positive sizes and mismatched batches raise ValueErrors naming the argument."""
    with pytest.raises(ValueError, match="batch"):
        toy_gaussian(0)
    with pytest.raises(ValueError, match="d_x"):
        one_hot_classes(5, 2, 0)
    with pytest.raises(ValueError, match="same number of rows"):
        second_moments(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="observed_threshold"):
        matrix_completion(observed_threshold=1.0)
