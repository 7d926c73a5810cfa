"""Prior samplers (moments, labels, seeds) and metrics (Parzen, clustering, MMD) against independent
references."""

import math

import numpy as np
import pytest
from scipy import stats

from minaae import metrics, priors

# ---------------------------------------------------------------------------------------------------
# Priors
# ---------------------------------------------------------------------------------------------------


def test_gaussian_moments_and_dtype():
    z = priors.Gaussian(8, std=5.0).sample(200_000, np.random.default_rng(0))
    assert z.shape == (200_000, 8) and z.dtype == np.float32
    np.testing.assert_allclose(z.mean(0), 0, atol=0.05)
    np.testing.assert_allclose(z.std(0), 5, rtol=0.01)


@pytest.mark.parametrize("k", [0, 3, 7])
def test_mixture_component_k_has_the_rotated_mean_and_covariance(k):
    prior = priors.GaussianMixture()
    z = prior.sample(100_000, np.random.default_rng(k), labels=np.full(100_000, k))
    angle = 2 * np.pi * k / 10
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    np.testing.assert_allclose(z.mean(0), 1.4 * np.array([np.cos(angle), np.sin(angle)]), atol=0.01)
    np.testing.assert_allclose(np.cov(z.T), rot @ np.diag([0.25, 0.01]) @ rot.T, atol=0.005)


def test_mixture_log_density_matches_scipy_and_integrates_to_one():
    prior = priors.GaussianMixture()
    z = np.random.default_rng(0).standard_normal((50, 2)) * 1.5
    ref = np.zeros(50)
    for k in range(10):
        a = 2 * np.pi * k / 10
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        centre, cov = 1.4 * np.array([np.cos(a), np.sin(a)]), rot @ np.diag([0.25, 0.01]) @ rot.T
        ref += stats.multivariate_normal(centre, cov).pdf(z)
    np.testing.assert_allclose(prior.log_density(z), np.log(ref / 10), rtol=1e-9)
    g = np.linspace(-4, 4, 801)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    assert abs(np.exp(prior.log_density(grid)).sum() * (g[1] - g[0]) ** 2 - 1) < 1e-3


def test_swissroll_label_k_lies_on_segment_k():
    prior = priors.SwissRoll(noise=0.0)
    labels = np.random.default_rng(1).integers(0, 10, 5000)
    z = prior.sample(5000, np.random.default_rng(2), labels=labels)
    u = (np.hypot(z[:, 0], z[:, 1]) / 3) ** 2
    assert np.all((u >= labels / 10 - 1e-6) & (u < (labels + 1) / 10 + 1e-6))


def test_categorical_one_hots_are_uniform_and_follow_labels():
    prior = priors.Categorical(10)
    y = prior.sample(100_000, np.random.default_rng(0))
    assert np.all(y.sum(1) == 1) and set(np.unique(y)) == {0.0, 1.0}
    np.testing.assert_allclose(y.mean(0), 0.1, atol=0.005)
    np.testing.assert_array_equal(prior.sample(3, np.random.default_rng(0), labels=np.array([2, 0, 9])).argmax(1),
                                  [2, 0, 9])


@pytest.mark.parametrize("prior", [priors.Gaussian(3), priors.GaussianMixture(), priors.SwissRoll(),
                                   priors.Categorical(4)])
def test_same_seed_same_samples_and_successive_calls_differ(prior):
    a = prior.sample(50, np.random.default_rng(7))
    assert np.array_equal(a, prior.sample(50, np.random.default_rng(7)))
    rng = np.random.default_rng(7)
    assert not np.array_equal(prior.sample(50, rng), prior.sample(50, rng))  # no reseeding (PAPER.md §7)


def test_prior_errors():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        priors.GaussianMixture().sample(2, np.random.default_rng(0), labels=np.array([0, 10]))
    with pytest.raises(ValueError, match="has no classes"):
        priors.Gaussian(2).sample(2, np.random.default_rng(0), labels=np.array([0, 1]))
    with pytest.raises(ValueError, match="unknown prior 'banana'"):
        priors.make_prior("banana")
    with pytest.raises(ValueError, match="is 2-D"):
        priors.make_prior("mixture", 8)


# ---------------------------------------------------------------------------------------------------
# Parzen window
# ---------------------------------------------------------------------------------------------------


def parzen_direct(x, mu, sigma):
    out = []
    for xi in x:
        terms = [-np.sum((xi - m) ** 2) / (2 * sigma**2) for m in mu]
        mx = max(terms)
        out.append(mx + math.log(sum(math.exp(t - mx) for t in terms)) - math.log(len(mu))
                   - 0.5 * x.shape[1] * math.log(2 * math.pi * sigma**2))
    return np.array(out)


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
def test_parzen_equals_a_direct_double_loop(batch_size):
    rng = np.random.default_rng(0)
    x, mu = rng.random((7, 5)), rng.random((11, 5))
    np.testing.assert_allclose(metrics.parzen_log_likelihood(x, mu, 0.3, batch_size=batch_size),
                               parzen_direct(x, mu, 0.3), rtol=1e-10)


def test_parzen_is_invariant_to_the_order_of_samples_and_exact_for_one_sample():
    rng = np.random.default_rng(1)
    x, mu = rng.random((6, 4)), rng.random((9, 4))
    np.testing.assert_allclose(metrics.parzen_log_likelihood(x, mu, 0.2),
                               metrics.parzen_log_likelihood(x, mu[rng.permutation(9)], 0.2), rtol=1e-12)
    one = metrics.parzen_log_likelihood(x, mu[:1], 0.5)
    np.testing.assert_allclose(one, stats.multivariate_normal(mu[0], 0.25 * np.eye(4)).logpdf(x), rtol=1e-10)


def test_parzen_sigma_selection_maximizes_its_validation_scores():
    rng = np.random.default_rng(2)
    centres = rng.random((3, 2)) * 10
    samples = centres[rng.integers(0, 3, 3000)] + rng.standard_normal((3000, 2)) * 0.4
    val = centres[rng.integers(0, 3, 500)] + rng.standard_normal((500, 2)) * 0.4
    best, scores = metrics.select_parzen_sigma(val, samples)
    sigmas = np.logspace(-1, 0, 10)
    assert best == sigmas[np.argmax(scores)]
    np.testing.assert_allclose(scores[3], metrics.parzen_log_likelihood(val, samples, sigmas[3]).mean())
    mean, se = metrics.parzen_report(val, samples, best)
    ll = metrics.parzen_log_likelihood(val, samples, best)
    assert mean == pytest.approx(ll.mean()) and se == pytest.approx(ll.std(ddof=1) / math.sqrt(500))


def test_parzen_errors():
    with pytest.raises(ValueError, match="sigma must be positive"):
        metrics.parzen_log_likelihood(np.ones((2, 3)), np.ones((2, 3)), 0.0)
    with pytest.raises(ValueError, match="x has 3 dimensions, samples have 4"):
        metrics.parzen_log_likelihood(np.ones((2, 3)), np.ones((2, 4)), 0.1)


# ---------------------------------------------------------------------------------------------------
# Classification and clustering
# ---------------------------------------------------------------------------------------------------


def test_classification_error_known_values():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert metrics.classification_error(scores, np.array([0, 1, 1, 0])) == 0.5
    with pytest.raises(ValueError, match="do not match"):
        metrics.classification_error(scores, np.array([0, 1]))


def test_clustering_error_with_the_papers_rule_and_majority_vote():
    # 3 clusters; cluster 0's most confident member is a "7", cluster 1's a "1", cluster 2's a "7" as well
    probs = np.array([[0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.0, 0.1, 0.9],
                      [0.1, 0.2, 0.7]])
    labels = np.array([7, 3, 1, 1, 7, 3])
    mapping = metrics.cluster_label_map(probs, labels)
    np.testing.assert_array_equal(mapping, [7, 1, 7])
    assert metrics.clustering_error(probs, labels, mapping) == pytest.approx(2 / 6)
    majority = metrics.majority_cluster_map(probs.argmax(1), labels, 4)
    np.testing.assert_array_equal(majority, [3, 1, 3, 0])  # ties -> smallest label; empty cluster -> 0
    assert metrics.clustering_error(probs, labels, majority[:3]) == pytest.approx(2 / 6)


# ---------------------------------------------------------------------------------------------------
# Do codes match the prior?
# ---------------------------------------------------------------------------------------------------


def test_mmd_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(3)
    a, b, c = rng.standard_normal((500, 2)), rng.standard_normal((500, 2)), rng.standard_normal((500, 2)) + 1
    assert abs(metrics.mmd_rbf(a, b)) < 0.01 and metrics.mmd_rbf(a, c) > 0.1


def test_mmd_equals_the_direct_formula():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((6, 3)), rng.standard_normal((5, 3))
    k = lambda u, v: math.exp(-np.sum((u - v) ** 2) / 2)
    m, n = len(a), len(b)
    ref = (sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
           + sum(k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
           - 2 * sum(k(u, v) for u in a for v in b) / (m * n))
    assert metrics.mmd_rbf(a, b, bandwidth=1.0) == pytest.approx(ref, rel=1e-10)


def test_moment_gap_known_values():
    a = np.array([[1.0, 0.0], [3.0, 0.0], [1.0, 2.0], [3.0, 2.0]])
    b = a - [2.0, 1.0]
    gap = metrics.moment_gap(a, b)
    assert gap["mean_gap"] == pytest.approx(math.sqrt(5)) and gap["cov_gap"] == pytest.approx(0.0)
