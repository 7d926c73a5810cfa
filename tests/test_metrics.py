"""Evaluation metrics against independent references: the Parzen window (docs/paper.md §2, Table 1) against
a float64 double loop and scipy, σ selection, the clustering rules of docs/paper.md §4 on hand-made
assignments, MMD against its defining double sum, and the moment gap on known values."""

import json
import math
import os
import statistics
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special, stats

from minaae import backend, metrics

STORED = json.load(open(os.path.join(os.path.dirname(__file__), "expected_values.json")))["parzen_three_blobs"]


@st.composite
def parzen_case(draw):
    d = draw(st.integers(1, 5))
    elements = st.floats(-3, 3, allow_nan=False, width=64)
    x = draw(hnp.arrays(np.float64, (draw(st.integers(1, 6)), d), elements=elements))
    mu = draw(hnp.arrays(np.float64, (draw(st.integers(1, 9)), d), elements=elements))
    sigma = draw(st.floats(0.05, 3.0))
    return x, mu, sigma


# ---------------------------------------------------------------------------------------------------
# Parzen window
# ---------------------------------------------------------------------------------------------------


def parzen_direct(x, mu, sigma):
    """log (1/N) Σ_i N(x; μ_i, σ² I), one x and one μ at a time, in Python floats (float64)."""
    d = x.shape[1]
    out = []
    for xi in x:
        exponents = [-math.fsum((a - b) ** 2 for a, b in zip(xi, m)) / (2 * sigma**2) for m in mu]
        top = max(exponents)
        log_sum = top + math.log(math.fsum(math.exp(e - top) for e in exponents))
        out.append(log_sum - math.log(len(mu)) - d / 2 * math.log(2 * math.pi * sigma**2))
    return np.array(out)


# BEGIN INSTRUCTOR
def parzen_dense(x, mu, sigma):
    """The same formula with the whole (len(x), len(mu)) matrix of differences and scipy's logsumexp."""
    sq = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1)
    return (special.logsumexp(-sq / (2 * sigma**2), axis=1) - math.log(len(mu))
            - x.shape[1] / 2 * math.log(2 * math.pi * sigma**2))


def test_the_two_references_agree():
    rng = np.random.default_rng(10)
    x, mu = rng.random((5, 3)), rng.random((8, 3))
    np.testing.assert_allclose(parzen_dense(x, mu, 0.2), parzen_direct(x, mu, 0.2), rtol=1e-12)


def test_the_stored_parzen_values_are_the_references(three_blobs):
    val, samples = three_blobs
    for sigma, rows in STORED.items():
        np.testing.assert_allclose(rows, parzen_dense(val, samples, float(sigma)), rtol=1e-13)
    np.testing.assert_allclose(parzen_stored(0.4)[:5], parzen_direct(val[:5], samples, 0.4), rtol=1e-12)
# END INSTRUCTOR


def parzen_stored(sigma):
    """parzen_dense(three_blobs, σ) per row, stored in tests/expected_values.json (the student copy has no
    dense estimator: it would be the answer to exercise 9)."""
    return np.array(STORED[repr(float(sigma))])


@pytest.mark.parametrize("batch_size", [1, 2, 3, 4, 7, 11, 1000])
def test_parzen_equals_a_direct_double_loop_for_any_batch_size(batch_size):
    rng = np.random.default_rng(0)
    x, mu = rng.random((7, 5)), rng.random((11, 5))  # 11 samples: most batch sizes leave a ragged last block
    np.testing.assert_allclose(metrics.parzen_log_likelihood(x, mu, 0.3, batch_size=batch_size),
                               parzen_direct(x, mu, 0.3), rtol=1e-10)


@given(parzen_case(), st.integers(1, 10))
def test_parzen_equals_a_direct_double_loop_on_random_inputs(case, batch_size):
    x, mu, sigma = case
    got = metrics.parzen_log_likelihood(x, mu, sigma, batch_size=batch_size)
    assert got.shape == (len(x),)
    np.testing.assert_allclose(got, parzen_direct(x, mu, sigma), rtol=1e-9, atol=1e-9)


@given(parzen_case(), st.randoms(use_true_random=False))
def test_parzen_is_invariant_to_the_order_of_the_samples(case, random):
    x, mu, sigma = case
    order = list(range(len(mu)))
    random.shuffle(order)
    np.testing.assert_allclose(metrics.parzen_log_likelihood(x, mu[order], sigma, batch_size=2),
                               metrics.parzen_log_likelihood(x, mu, sigma), rtol=1e-12, atol=1e-12)


def test_parzen_with_one_sample_is_the_log_density_of_a_normal_around_it():
    rng = np.random.default_rng(1)
    x, mu = rng.random((6, 4)), rng.random((1, 4))
    for sigma in (0.1, 0.5, 2.0):
        np.testing.assert_allclose(metrics.parzen_log_likelihood(x, mu, sigma),
                                   stats.multivariate_normal(mu[0], sigma**2 * np.eye(4)).logpdf(x), rtol=1e-10)


def test_parzen_with_repeated_samples_equals_one_sample():
    # N copies of μ: the 1/N weights add back to one kernel, so the log density must not depend on N
    rng = np.random.default_rng(2)
    x, mu = rng.random((5, 3)), rng.random((1, 3))
    np.testing.assert_allclose(metrics.parzen_log_likelihood(x, np.repeat(mu, 13, 0), 0.4, batch_size=4),
                               metrics.parzen_log_likelihood(x, mu, 0.4), rtol=1e-12)


def test_parzen_stays_finite_and_exact_far_from_every_sample():
    # exp(−‖x − μ‖²/2σ²) underflows to 0 for every sample: only a log-space sum gets the answer
    x, mu = np.array([[100.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 0.0]])
    got = metrics.parzen_log_likelihood(x, mu, 0.1, batch_size=1)
    ref = np.logaddexp(*[stats.multivariate_normal(m, 0.01 * np.eye(2)).logpdf(x) for m in mu]) - math.log(2)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_parzen_never_exceeds_the_kernel_peak_even_where_rounding_goes_negative():
    # x = μ_i with large norms: ‖x‖² − 2x·μ + ‖μ‖² rounds to ±1e-7, and a negative "distance" over 2σ² would
    # lift log p̂ above its ceiling −log N − (d/2) log(2πσ²) (the other samples are too far away to count)
    mu = np.random.default_rng(14).standard_normal((200, 50)) * 1000
    sigma = 1e-3
    ceiling = -math.log(200) - 25 * math.log(2 * math.pi * sigma**2)
    got = metrics.parzen_log_likelihood(mu, mu, sigma, batch_size=64)
    assert np.all(got <= ceiling) and np.all(got > ceiling - 0.1)


def test_parzen_accepts_mnist_sized_rows_in_float32():
    rng = np.random.default_rng(3)
    x, mu = rng.random((4, 784), dtype=np.float32), rng.random((6, 784), dtype=np.float32)
    np.testing.assert_allclose(metrics.parzen_log_likelihood(x, mu, 0.2),
                               parzen_direct(x.astype(np.float64), mu.astype(np.float64), 0.2), rtol=1e-9)


def test_parzen_errors_name_the_problem():
    with pytest.raises(ValueError, match="sigma must be positive, got 0.0"):
        metrics.parzen_log_likelihood(np.ones((2, 3)), np.ones((2, 3)), 0.0)
    with pytest.raises(ValueError, match="sigma must be positive, got nan"):
        metrics.parzen_log_likelihood(np.ones((2, 3)), np.ones((2, 3)), float("nan"))
    with pytest.raises(ValueError, match="x has 3 dimensions, samples have 4"):
        metrics.parzen_log_likelihood(np.ones((2, 3)), np.ones((2, 4)), 0.1)
    with pytest.raises(ValueError, match=r"parzen samples: expected a non-empty \(N, D\) array, got shape \(0, 3\)"):
        metrics.parzen_log_likelihood(np.ones((2, 3)), np.ones((0, 3)), 0.1)
    with pytest.raises(ValueError, match=r"parzen x: expected a non-empty \(N, D\) array, got shape \(3,\)"):
        metrics.parzen_log_likelihood(np.ones(3), np.ones((2, 3)), 0.1)


@pytest.fixture(scope="module")
def three_blobs():
    rng = np.random.default_rng(4)
    centres = rng.random((3, 2)) * 10
    samples = centres[rng.integers(0, 3, 800)] + rng.standard_normal((800, 2)) * 0.4
    val = centres[rng.integers(0, 3, 200)] + rng.standard_normal((200, 2)) * 0.4
    return val, samples


def test_select_parzen_sigma_returns_the_argmax_of_scores_that_equal_recomputation(three_blobs):
    val, samples = three_blobs
    best, scores = metrics.select_parzen_sigma(val, samples)
    grid = 10 ** np.linspace(-1, 0, 10)  # the GAN paper's grid, 10 log-spaced values in [0.1, 1]
    assert scores.shape == (10,)
    np.testing.assert_allclose(scores, [parzen_stored(s).mean() for s in grid], rtol=1e-9)
    np.testing.assert_allclose(scores, [metrics.parzen_log_likelihood(val, samples, s).mean() for s in grid],
                               rtol=1e-12)
    assert best == pytest.approx(grid[np.argmax(scores)], rel=1e-12)
    assert 0.1 < best < 1  # the data's own scale (0.4) lies inside the grid, so an end point would be a bug


def test_select_parzen_sigma_with_a_given_grid(three_blobs):
    val, samples = three_blobs
    grid = [0.005, 0.15, 5.0]  # far too narrow for 800 samples, about right, far too wide
    best, scores = metrics.select_parzen_sigma(val, samples, grid)
    np.testing.assert_allclose(scores, [parzen_stored(s).mean() for s in grid], rtol=1e-9)
    assert best == 0.15 and scores[1] > max(scores[0], scores[2])


def test_parzen_report_is_the_mean_and_its_standard_error(three_blobs):
    val, samples = three_blobs
    mean, se = metrics.parzen_report(val, samples, 0.4)
    ll = list(parzen_stored(0.4))
    assert mean == pytest.approx(statistics.fmean(ll), rel=1e-10)
    assert se == pytest.approx(statistics.stdev(ll) / math.sqrt(len(ll)), rel=1e-9)
    assert isinstance(mean, float) and isinstance(se, float)


# ---------------------------------------------------------------------------------------------------
# Classification and clustering (docs/paper.md §4)
# ---------------------------------------------------------------------------------------------------


def test_classification_error_known_values():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert metrics.classification_error(scores, np.array([0, 1, 1, 0])) == 0.5
    assert metrics.classification_error(scores, np.array([0, 1, 0, 1])) == 0.0
    assert metrics.classification_error(scores, np.array([1, 0, 1, 0])) == 1.0
    logits = np.log(scores) + 5.0  # logits or probabilities: the argmax is the same
    assert metrics.classification_error(logits, np.array([0, 1, 1, 1])) == 0.25


@pytest.mark.parametrize("scores, labels", [(np.zeros((4, 2)), np.zeros(3, int)), (np.zeros(4), np.zeros(4, int)),
                                            (np.zeros((4, 2)), np.zeros((4, 1), int))])
def test_classification_error_names_mismatched_shapes(scores, labels):
    with pytest.raises(ValueError, match=rf"scores {re_shape(scores.shape)} and labels {re_shape(labels.shape)} "
                                         r"do not match"):
        metrics.classification_error(scores, labels)


def re_shape(shape):
    return str(shape).replace("(", r"\(").replace(")", r"\)")


# 6 examples, 3 clusters. The most confident member of cluster 0 is example 0 (a 7), of cluster 1
# example 2 (a 1), of cluster 2 example 4 (a 7).
PROBS = np.array([[0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.0, 0.1, 0.9],
                  [0.1, 0.2, 0.7]])
LABELS = np.array([7, 3, 1, 1, 7, 3])


def test_cluster_label_map_gives_each_cluster_the_label_of_its_most_confident_example():
    np.testing.assert_array_equal(metrics.cluster_label_map(PROBS, LABELS), [7, 1, 7])
    # the rule looks at the column (q(y = k|x) over examples), not at each example's own argmax
    probs = np.array([[0.5, 0.45, 0.05], [0.1, 0.3, 0.6], [0.2, 0.1, 0.7]])
    np.testing.assert_array_equal(metrics.cluster_label_map(probs, np.array([4, 5, 6])), [4, 4, 6])


def test_clustering_error_counts_test_points_whose_cluster_label_differs():
    mapping = metrics.cluster_label_map(PROBS, LABELS)
    assert metrics.clustering_error(PROBS, LABELS, mapping) == pytest.approx(2 / 6)  # examples 1 and 5
    assert metrics.clustering_error(PROBS, np.array([7, 7, 1, 1, 7, 7]), mapping) == 0.0
    assert metrics.clustering_error(PROBS, LABELS, np.array([7, 3, 3])) == pytest.approx(4 / 6)  # 1, 2, 3, 4 wrong


def test_majority_cluster_map_takes_the_most_frequent_label_and_gives_empty_clusters_the_overall_one():
    assignments = np.array([0, 0, 0, 1, 1, 2, 2, 4, 4, 4])
    labels = np.array([5, 5, 2, 8, 8, 3, 6, 9, 8, 8])
    # cluster 2 is a tie between 3 and 6 (the smaller wins); cluster 3 is empty and gets 8, the commonest label
    np.testing.assert_array_equal(metrics.majority_cluster_map(assignments, labels, 5), [5, 8, 3, 8, 8])
    mapping = metrics.majority_cluster_map(PROBS.argmax(1), LABELS, 3)
    np.testing.assert_array_equal(mapping, [3, 1, 3])  # clusters {7,3} and {7,3}: ties, 3 < 7
    assert metrics.clustering_error(PROBS, LABELS, mapping) == pytest.approx(2 / 6)


@given(st.integers(1, 6), st.data())
def test_majority_cluster_map_equals_counting_each_cluster_by_hand(n_clusters, data):
    pairs = data.draw(st.lists(st.tuples(st.integers(0, n_clusters - 1), st.integers(0, 4)), min_size=1))
    assignments, labels = (np.array(column) for column in zip(*pairs))
    overall = Counter(labels.tolist())
    expected = []
    for k in range(n_clusters):
        counts = Counter(label for cluster, label in pairs if cluster == k) or overall
        top = max(counts.values())
        expected.append(min(label for label, c in counts.items() if c == top))  # ties: the smaller label
    np.testing.assert_array_equal(metrics.majority_cluster_map(assignments, labels, n_clusters), expected)


@given(st.integers(1, 8), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_cluster_label_map_equals_a_loop_over_clusters(n, k, seed):
    rng = np.random.default_rng(seed)
    probs, labels = rng.dirichlet(np.ones(k), n), rng.integers(0, 10, n)
    expected = []
    for cluster in range(k):
        best = max(range(n), key=lambda i: (probs[i, cluster], -i))  # the first of equally confident examples
        expected.append(labels[best])
    np.testing.assert_array_equal(metrics.cluster_label_map(probs, labels), expected)


def test_majority_vote_is_never_worse_than_the_papers_rule_on_the_data_it_was_fitted_to():
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.ones(8) * 0.3, 300)
    labels = rng.integers(0, 10, 300)
    paper = metrics.clustering_error(probs, labels, metrics.cluster_label_map(probs, labels))
    majority = metrics.clustering_error(probs, labels, metrics.majority_cluster_map(probs.argmax(1), labels, 8))
    assert majority <= paper


def test_cluster_label_map_names_mismatched_shapes():
    with pytest.raises(ValueError, match=r"probs \(6, 3\) and labels \(5,\) do not match"):
        metrics.cluster_label_map(PROBS, LABELS[:5])


# ---------------------------------------------------------------------------------------------------
# Do codes match the prior?
# ---------------------------------------------------------------------------------------------------


def mmd_direct(a, b, h):
    """The unbiased MMD² with k(u, v) = exp(−‖u − v‖²/2h²), written as its three double sums."""
    k = lambda u, v: math.exp(-math.fsum((u - v) ** 2) / (2 * h * h))
    m, n = len(a), len(b)
    xx = math.fsum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = math.fsum(k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = math.fsum(k(u, v) for u in a for v in b) / (m * n)
    return xx + yy - 2 * xy


@given(st.integers(2, 7), st.integers(2, 7), st.integers(1, 4), st.floats(0.2, 3.0), st.integers(0, 2**32 - 1))
def test_mmd_equals_its_double_sum_definition(m, n, d, h, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((m, d)), rng.standard_normal((n, d)) + 0.5
    assert metrics.mmd_rbf(a, b, bandwidth=h) == pytest.approx(mmd_direct(a, b, h), rel=1e-9, abs=1e-12)


def test_mmd_default_bandwidth_is_the_median_pairwise_distance_of_the_pooled_samples():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((4, 2)), rng.standard_normal((3, 2)) * 2  # 7 points, 21 pairs: one median
    pooled = np.concatenate([a, b])
    h = statistics.median(math.dist(pooled[i], pooled[j]) for i in range(7) for j in range(i + 1, 7))
    assert metrics.mmd_rbf(a, b) == pytest.approx(mmd_direct(a, b, h), rel=1e-6)


def test_mmd_is_symmetric():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((20, 3)), rng.standard_normal((30, 3)) + 1
    assert metrics.mmd_rbf(a, b) == pytest.approx(metrics.mmd_rbf(b, a), rel=1e-12)


def test_mmd_is_near_zero_for_one_distribution_and_clearly_positive_for_shifted_ones():
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((500, 2)), rng.standard_normal((500, 2))
    same = metrics.mmd_rbf(a, b)
    assert abs(same) < 0.01
    for shift, at_least in ((0.5, 0.02), (1.0, 0.1), (3.0, 0.5)):
        assert metrics.mmd_rbf(a, rng.standard_normal((500, 2)) + shift) > max(at_least, 10 * abs(same))


def test_mmd_is_unbiased_its_mean_over_repeats_of_one_distribution_is_zero():
    # the biased (V-statistic) estimate would average ≈ 2(1 − E k)/m ≈ 0.2 here; the unbiased one ≈ 0
    rng = np.random.default_rng(9)
    values = [metrics.mmd_rbf(rng.standard_normal((5, 2)), rng.standard_normal((5, 2)), bandwidth=1.0)
              for _ in range(400)]
    assert abs(np.mean(values)) < 3 * np.std(values) / math.sqrt(len(values))


def test_mmd_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"mmd: need ≥ 2 samples of one dimension, got \(5, 2\) and \(5, 3\)"):
        metrics.mmd_rbf(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"got \(1, 2\) and \(5, 2\)"):
        metrics.mmd_rbf(np.zeros((1, 2)), np.zeros((5, 2)))


def test_moment_gap_known_values():
    a = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # mean 0, covariance (ddof 1) = 2/3 I
    b = 2 * a + [3.0, 4.0]  # mean (3, 4), covariance 8/3 I
    gap = metrics.moment_gap(a, b)
    assert gap["mean_gap"] == pytest.approx(5.0)
    assert gap["cov_gap"] == pytest.approx(2 * math.sqrt(2))  # ‖2 I‖_F
    assert metrics.moment_gap(a, a + 7.0) == pytest.approx({"mean_gap": 7 * math.sqrt(2), "cov_gap": 0.0})


def test_moment_gap_errors_name_the_shape():
    with pytest.raises(ValueError, match=r"codes: expected a non-empty \(N, D\) array, got shape \(4,\)"):
        metrics.moment_gap(np.zeros(4), np.zeros((4, 1)))


@pytest.mark.parametrize("labels", [LABELS[:1], LABELS[:, None]])
def test_clustering_error_names_mismatched_shapes(labels):
    with pytest.raises(ValueError, match="do not match"):
        metrics.clustering_error(PROBS, labels, np.array([7, 1, 7]))


def test_majority_map_rejects_out_of_range_assignments_and_mismatched_lengths():
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\)"):
        metrics.majority_cluster_map(np.array([0, 1, 5]), np.array([1, 2, 3]), 2)
    with pytest.raises(ValueError, match="do not match"):
        metrics.majority_cluster_map(np.array([0, 1]), np.array([1, 2, 3]), 2)


def test_moment_gap_equals_numpys_moments_on_random_data():
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((50, 3)), rng.standard_normal((70, 3)) * [1, 2, 3] + 1
    gap = metrics.moment_gap(a, b)
    assert gap["mean_gap"] == pytest.approx(np.linalg.norm(a.mean(0) - b.mean(0)), rel=1e-12)
    assert gap["cov_gap"] == pytest.approx(np.linalg.norm(np.cov(a.T) - np.cov(b.T), "fro"), rel=1e-12)
    one_dim = metrics.moment_gap(a[:, :1], b[:, :1])
    assert one_dim["cov_gap"] == pytest.approx(abs(np.var(a[:, 0], ddof=1) - np.var(b[:, 0], ddof=1)), rel=1e-12)


@pytest.mark.parametrize("a, b", [(np.zeros((1, 2)), np.zeros((5, 2))), (np.zeros((5, 2)), np.zeros((5, 3)))])
def test_moment_gap_needs_two_rows_of_one_dimension(a, b):
    with pytest.raises(ValueError, match=rf"moment_gap: need ≥ 2 rows of one dimension, got codes {re_shape(a.shape)}"):
        metrics.moment_gap(a, b)


def test_median_bandwidth_strides_through_large_inputs_so_sorted_samples_all_count():
    # 3 clusters sorted by label: a prefix of each sample would hold cluster 0 only and give h ≈ 0.14
    rng = np.random.default_rng(12)
    a = np.repeat([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], 400, axis=0) + rng.standard_normal((1200, 2)) * 0.1
    b = a + rng.standard_normal((1200, 2)) * 0.1
    pooled = np.concatenate([a, b])[::3]  # 2400 points, at most 1000: every 3rd
    h = math.sqrt(np.median([math.dist(pooled[i], pooled[j]) ** 2 for i in range(800) for j in range(i + 1, 800)]))
    assert metrics.median_bandwidth(a, b) == pytest.approx(h, rel=1e-9)
    assert h > 5


def test_mmd_bandwidth_must_be_positive():
    for bad in (0, -1.0, float("nan"), "wide"):
        with pytest.raises(ValueError, match="mmd: bandwidth must be"):
            metrics.mmd_rbf(np.zeros((3, 2)), np.ones((3, 2)), bandwidth=bad)


def test_gan_sigma_grid_is_ten_log_spaced_values_and_read_only():
    np.testing.assert_allclose(metrics.GAN_SIGMAS, [10 ** (-i / 9) for i in range(9, -1, -1)], rtol=1e-12)
    with pytest.raises(ValueError):
        metrics.GAN_SIGMAS[0] = 1.0


def test_parzen_inputs_are_checked():
    x = np.ones((3, 2))
    with pytest.raises(ValueError, match="parzen: sigma must be a positive number, got 'wide'"):
        metrics.parzen_log_likelihood(x, x, "wide")
    with pytest.raises(ValueError, match="sigma must be positive, got inf"):
        metrics.parzen_log_likelihood(x, x, float("inf"))
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="parzen: batch_size must be a positive integer"):
            metrics.parzen_log_likelihood(x, x, 0.1, batch_size=bad)
    with pytest.raises(ValueError, match="parzen samples: contains nan or inf"):
        metrics.parzen_log_likelihood(x, np.array([[0.0, np.nan]]), 0.1)
    with pytest.raises(ValueError, match=r"select_parzen_sigma: sigmas must be a non-empty 1-D grid, got shape \(0,\)"):
        metrics.select_parzen_sigma(x, x, [])
    with pytest.raises(ValueError, match="select_parzen_sigma: sigma must be positive, got -0.1"):
        metrics.select_parzen_sigma(x, x, [0.1, -0.1])
    with pytest.raises(ValueError, match="parzen_report: a standard error needs at least 2 test points, got 1"):
        metrics.parzen_report(x[:1], x, 0.1)


def test_classification_error_rejects_empty_inputs_and_labels_out_of_range():
    with pytest.raises(ValueError, match=r"scores \(0, 3\) and labels \(0,\) do not match"):
        metrics.classification_error(np.zeros((0, 3)), np.zeros(0, int))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got \[-1, 2\]"):
        metrics.classification_error(np.zeros((2, 3)), np.array([-1, 2]))  # e.g. the "unlabeled" marker −1
    with pytest.raises(ValueError, match=r"labels must be 2 integers, got shape \(2,\) dtype float64"):
        metrics.classification_error(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_clustering_rules_reject_empty_inputs():
    with pytest.raises(ValueError, match=r"cluster_label_map: probs \(0, 3\) and labels \(0,\) do not match"):
        metrics.cluster_label_map(np.zeros((0, 3)), np.zeros(0, int))
    with pytest.raises(ValueError, match="majority_cluster_map: assignments"):
        metrics.majority_cluster_map(np.zeros(0, int), np.zeros(0, int), 3)
    with pytest.raises(ValueError, match="majority_cluster_map: labels must be non-negative, got -1"):
        metrics.majority_cluster_map(np.array([0, 1]), np.array([-1, 2]), 2)
    with pytest.raises(ValueError, match=r"clustering_error: probs \(0, 3\)"):
        metrics.clustering_error(np.zeros((0, 3)), np.zeros(0, int), np.zeros(3, int))


# ---------------------------------------------------------------------------------------------------
# On a GPU: CuPy inputs give the NumPy answers (skipped without CuPy and a GPU)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.cuda
def test_parzen_and_mmd_on_cupy_arrays_equal_the_numpy_results():
    rng = np.random.default_rng(13)
    x, mu = rng.random((300, 20)), rng.random((500, 20))
    on_gpu = [backend.to_device(a, "cuda") for a in (x, mu)]
    got = metrics.parzen_log_likelihood(*on_gpu, 0.3, batch_size=128)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, metrics.parzen_log_likelihood(x, mu, 0.3), rtol=1e-10)
    assert metrics.mmd_rbf(*on_gpu) == pytest.approx(metrics.mmd_rbf(x, mu), rel=1e-9)
    assert metrics.moment_gap(*on_gpu) == pytest.approx(metrics.moment_gap(x, mu), rel=1e-9)
