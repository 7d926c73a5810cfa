"""Prior samplers p(z) (docs/paper.md §5): moments and geometry against closed forms, the mixture's density
against scipy, labels, seeds (the reseeding bug of docs/paper.md §7), dtypes, shapes and errors."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special, stats

from minaae import backend, priors

N_BIG = 100_000


def rotation(angle):
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def mixture_component(k, n_components=10, radius=1.4, std=(0.5, 0.1)):
    """Mean and covariance of component k, written out from docs/paper.md §5."""
    angle = 2 * np.pi * k / n_components
    rot = rotation(angle)
    return radius * np.array([np.cos(angle), np.sin(angle)]), rot @ np.diag(np.square(std)) @ rot.T


def scipy_mixture_log_density(z, n_components=10, **kw):
    """log of the equal-weight mixture of scipy normals, combined in log space (no underflow far out)."""
    logpdf = [stats.multivariate_normal(*mixture_component(k, n_components, **kw)).logpdf(z)
              for k in range(n_components)]
    return special.logsumexp(logpdf, axis=0) - math.log(n_components)


# ---------------------------------------------------------------------------------------------------
# Gaussian
# ---------------------------------------------------------------------------------------------------


def test_gaussian_has_mean_0_and_covariance_std_squared_identity():
    z = priors.Gaussian(8, std=5.0).sample(N_BIG, np.random.default_rng(0))
    np.testing.assert_allclose(z.mean(0), 0, atol=5 * 5 / math.sqrt(N_BIG))
    np.testing.assert_allclose(np.cov(z.T), 25 * np.eye(8), atol=0.5)  # sd of each entry ≈ 25·√(2/N) ≈ 0.11


def test_gaussian_log_density_matches_scipy():
    z = np.random.default_rng(1).standard_normal((20, 3)) * 4
    np.testing.assert_allclose(priors.Gaussian(3, std=2.5).log_density(z),
                               stats.multivariate_normal(np.zeros(3), 6.25 * np.eye(3)).logpdf(z), rtol=1e-12)


def test_gaussian_samples_pass_a_normality_test_per_axis():
    z = priors.Gaussian(2, std=3.0).sample(5000, np.random.default_rng(2))
    for axis in range(2):
        assert stats.kstest(z[:, axis] / 3.0, "norm").pvalue > 1e-3


# ---------------------------------------------------------------------------------------------------
# Mixture of 10 Gaussians
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", range(10))
def test_mixture_component_k_has_the_rotated_mean_and_covariance(k):
    z = priors.GaussianMixture().sample(20_000, np.random.default_rng(k), labels=np.full(20_000, k))
    mean, cov = mixture_component(k)
    np.testing.assert_allclose(z.mean(0), mean, atol=0.02)  # sd of the mean ≤ 0.5/√20000 ≈ 0.0035
    np.testing.assert_allclose(np.cov(z.T), cov, atol=0.01)
    # the long axis points away from the centre: the leading eigenvector is parallel to the mean
    eigvals, eigvecs = np.linalg.eigh(np.cov(z.T))
    assert abs(eigvecs[:, -1] @ mean / np.linalg.norm(mean)) > 0.999
    np.testing.assert_allclose(np.sqrt(eigvals), [0.1, 0.5], rtol=0.03)


def test_mixture_samples_with_label_k_lie_nearest_centre_k_and_are_most_probable_under_component_k():
    labels = np.random.default_rng(20).integers(0, 10, 20_000)
    z = priors.GaussianMixture().sample(20_000, np.random.default_rng(21), labels=labels).astype(np.float64)
    centres = np.array([mixture_component(k)[0] for k in range(10)])
    nearest = ((z[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    # a miss needs a radial draw that throws the point back across the origin's crowded middle: about 1.6%
    # (0.9836 in 400,000 draws), so 0.975 leaves 9 standard deviations of margin; a wrong angle scores ≈ 0
    assert np.mean(nearest == labels) > 0.975
    logpdf = np.stack([stats.multivariate_normal(*mixture_component(k)).logpdf(z) for k in range(10)], 1)
    assert np.mean(logpdf.argmax(1) == labels) > 0.975


@given(st.integers(0, 9), st.integers(0, 2**32 - 1))
def test_mixture_component_k_is_component_0_rotated_by_2_pi_k_over_10(k, seed):
    # with labels given, the draws do not depend on k, so one seed gives the same points up to the rotation
    zero = priors.GaussianMixture().sample(30, np.random.default_rng(seed), labels=np.zeros(30, int))
    kth = priors.GaussianMixture().sample(30, np.random.default_rng(seed), labels=np.full(30, k))
    np.testing.assert_allclose(kth, zero.astype(np.float64) @ rotation(2 * np.pi * k / 10).T, atol=1e-5)


def test_mixture_without_labels_picks_each_component_one_time_in_ten():
    z = priors.GaussianMixture().sample(N_BIG, np.random.default_rng(3)).astype(np.float64)
    sector = np.round(np.arctan2(z[:, 1], z[:, 0]) / (2 * np.pi / 10)).astype(int) % 10
    np.testing.assert_allclose(np.bincount(sector, minlength=10) / N_BIG, 0.1, atol=0.006)


def test_mixture_with_other_radius_std_and_component_count():
    prior = priors.GaussianMixture(n_components=4, radius=3.0, std=(0.2, 0.05))
    z = prior.sample(20_000, np.random.default_rng(4), labels=np.full(20_000, 1))
    mean, cov = mixture_component(1, 4, radius=3.0, std=(0.2, 0.05))
    np.testing.assert_allclose(mean, [0, 3], atol=1e-12)
    np.testing.assert_allclose(z.mean(0), mean, atol=0.01)
    np.testing.assert_allclose(np.cov(z.T), cov, atol=0.002)
    np.testing.assert_allclose(prior.centers(), [mixture_component(k, 4, radius=3.0)[0] for k in range(4)],
                               atol=1e-12)


def test_mixture_log_density_matches_an_independent_scipy_mixture():
    prior = priors.GaussianMixture()
    rng = np.random.default_rng(5)
    z = np.concatenate([rng.standard_normal((40, 2)) * 1.5, prior.sample(40, rng), [[0.0, 0.0], [6.0, -6.0]]])
    np.testing.assert_allclose(prior.log_density(z), scipy_mixture_log_density(z), rtol=1e-10)
    other = priors.GaussianMixture(n_components=3, radius=2.0, std=(0.3, 0.2))
    np.testing.assert_allclose(other.log_density(z), scipy_mixture_log_density(z, 3, radius=2.0, std=(0.3, 0.2)),
                               rtol=1e-10)


def test_mixture_component_log_densities_match_scipy_per_component():
    z = np.random.default_rng(6).standard_normal((30, 2)) * 2
    got = priors.GaussianMixture().component_log_densities(z)
    assert got.shape == (30, 10)
    for k in range(10):
        np.testing.assert_allclose(got[:, k], stats.multivariate_normal(*mixture_component(k)).logpdf(z), rtol=1e-10)


def test_mixture_log_density_stays_finite_far_from_every_component():
    far = np.array([[200.0, 0.0], [0.0, -500.0]])  # exp(log density) underflows; its log must not
    got = priors.GaussianMixture().log_density(far)
    assert np.all(np.isfinite(got)) and np.all(got < -1e4)
    np.testing.assert_allclose(got, scipy_mixture_log_density(far), rtol=1e-9)


@pytest.fixture(scope="module")
def grid():
    g = np.linspace(-4.5, 4.5, 451)  # step 0.02, a fifth of the narrowest std
    return g, np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)


def test_mixture_density_integrates_to_one_over_a_fine_grid(grid):
    g, points = grid
    mass = np.exp(priors.GaussianMixture().log_density(points)).sum() * (g[1] - g[0]) ** 2
    assert mass == pytest.approx(1, abs=1e-3)


def test_mixture_samples_and_density_agree_on_the_second_moment(grid):
    # links sample() to log_density(): E[z zᵀ] from 100k samples, from the density on a grid, and in closed form
    g, points = grid
    prior = priors.GaussianMixture()
    weights = np.exp(prior.log_density(points)) * (g[1] - g[0]) ** 2
    from_density = (points * weights[:, None]).T @ points
    closed_form = np.mean([np.outer(m, m) + c for m, c in map(mixture_component, range(10))], axis=0)
    z = prior.sample(N_BIG, np.random.default_rng(7)).astype(np.float64)
    np.testing.assert_allclose(from_density, closed_form, atol=2e-3)
    np.testing.assert_allclose(z.T @ z / N_BIG, closed_form, atol=0.02)
    np.testing.assert_allclose(closed_form, (1.4**2 + 0.25 + 0.01) / 2 * np.eye(2), atol=1e-12)  # isotropic


# ---------------------------------------------------------------------------------------------------
# Swiss roll
# ---------------------------------------------------------------------------------------------------


def test_swissroll_label_k_lies_on_segment_k_of_the_spiral():
    labels = np.random.default_rng(8).integers(0, 10, 5000)
    z = priors.SwissRoll(noise=0.0).sample(5000, np.random.default_rng(9), labels=labels).astype(np.float64)
    r = np.hypot(z[:, 0], z[:, 1])
    u = (r / 3) ** 2
    assert np.all((u >= labels / 10 - 1e-6) & (u < (labels + 1) / 10 + 1e-6))
    angle = 4 * np.pi * np.sqrt(u)  # on the spiral: the polar angle is 4π√u
    np.testing.assert_allclose(z, np.stack([r * np.cos(angle), r * np.sin(angle)], 1), atol=1e-5)


def test_swissroll_u_is_uniform_within_each_segment():
    z = priors.SwissRoll(noise=0.0).sample(5000, np.random.default_rng(10), labels=np.full(5000, 3))
    within = 10 * (np.hypot(z[:, 0], z[:, 1]).astype(np.float64) / 3) ** 2 - 3
    assert stats.kstest(within, "uniform").pvalue > 1e-3


def test_swissroll_with_noise_stays_within_the_noise_of_segment_k():
    noise = 0.05
    labels = np.random.default_rng(11).integers(0, 10, 2000)
    z = priors.SwissRoll(noise=noise).sample(2000, np.random.default_rng(12), labels=labels).astype(np.float64)
    # distance of each point to a dense noise-free drawing of its own segment: ≈ |normal noise component|
    t = np.linspace(0, 1, 400)
    distances = []
    for k in range(10):
        u = (t + k) / 10
        curve = np.stack([3 * np.sqrt(u) * np.cos(4 * np.pi * np.sqrt(u)),
                          3 * np.sqrt(u) * np.sin(4 * np.pi * np.sqrt(u))], 1)
        mine = z[labels == k]
        distances.append(np.sqrt(((mine[:, None] - curve[None]) ** 2).sum(-1)).min(1))
    distances = np.concatenate(distances)
    assert math.sqrt(np.mean(distances**2)) == pytest.approx(noise, rel=0.15)
    assert distances.max() < 6 * noise


def test_swissroll_without_labels_uses_every_segment_equally():
    z = priors.SwissRoll(noise=0.0).sample(N_BIG, np.random.default_rng(13)).astype(np.float64)
    segment = np.floor(10 * (np.hypot(z[:, 0], z[:, 1]) / 3) ** 2).astype(int).clip(0, 9)
    np.testing.assert_allclose(np.bincount(segment, minlength=10) / N_BIG, 0.1, atol=0.006)


@given(st.lists(st.integers(0, 9), min_size=1, max_size=50), st.integers(0, 2**32 - 1))
def test_swissroll_radius_recovers_the_segment_of_any_labels(labels, seed):
    labels = np.array(labels)
    z = priors.SwissRoll(noise=0.0).sample(len(labels), np.random.default_rng(seed), labels=labels)
    u = (np.hypot(*z.astype(np.float64).T) / 3) ** 2
    assert np.all((u > labels / 10 - 1e-6) & (u < (labels + 1) / 10 + 1e-6))


def test_swissroll_second_moment_has_its_closed_form():
    # the documented scale: E‖z‖² = 9·E[u] + 2·noise² = 4.5 + 2·noise² (u uniform on [0, 1])
    for noise in (0.0, 0.3):
        z = priors.SwissRoll(noise=noise).sample(N_BIG, np.random.default_rng(15)).astype(np.float64)
        assert (z**2).sum(1).mean() == pytest.approx(4.5 + 2 * noise**2, abs=0.04)  # sd of the mean ≈ 0.008


def swissroll_density_by_adaptive_quadrature(point, noise):
    """p(z) = ∫₀¹ 2t N(z; 3t(cos 4πt, sin 4πt), noise² I) dt by scipy's adaptive quadrature (t = √u)."""
    def integrand(t):
        sq = (point[0] - 3 * t * np.cos(4 * np.pi * t)) ** 2 + (point[1] - 3 * t * np.sin(4 * np.pi * t)) ** 2
        return 2 * t * np.exp(-sq / (2 * noise**2)) / (2 * np.pi * noise**2)
    return integrate.quad(integrand, 0, 1, limit=2000, points=np.linspace(0, 1, 100)[1:-1], epsabs=0,
                          epsrel=1e-11)[0]


def test_swissroll_log_density_matches_adaptive_quadrature():
    prior = priors.SwissRoll()
    z = np.concatenate([prior.sample(6, np.random.default_rng(16)),  # on the roll
                        [[0.0, 0.0], [1.0, 1.0], [3.1, 0.0], [3.0, 0.1], [-2.0, 2.5]]])  # centre, gap, the end
    reference = np.log([swissroll_density_by_adaptive_quadrature(p, 0.05) for p in z.astype(np.float64)])
    np.testing.assert_allclose(prior.log_density(z), reference, atol=1e-4)


def test_swissroll_density_integrates_to_one_and_matches_the_samples():
    prior = priors.SwissRoll(noise=0.2)
    g = np.linspace(-4.5, 4.5, 181)  # step 0.05, a quarter of the noise
    points = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    density = np.exp(prior.log_density(points))
    assert density.sum() * (g[1] - g[0]) ** 2 == pytest.approx(1, abs=1e-3)
    # the samples and the density agree on E‖z‖² = 4.5 + 2·0.2²
    second = ((points**2).sum(1) * density).sum() * (g[1] - g[0]) ** 2
    assert second == pytest.approx(4.5 + 2 * 0.2**2, abs=5e-3)


def test_swissroll_without_noise_has_no_density():
    with pytest.raises(ValueError, match="noise 0 the prior lies on a curve"):
        priors.SwissRoll(noise=0.0).log_density(np.zeros((1, 2)))


# ---------------------------------------------------------------------------------------------------
# Categorical
# ---------------------------------------------------------------------------------------------------


def test_categorical_rows_are_one_hot_with_uniform_frequencies():
    y = priors.Categorical(10).sample(N_BIG, np.random.default_rng(14))
    assert y.shape == (N_BIG, 10) and y.dtype == np.float32
    assert np.all((y == 0) | (y == 1)) and np.all(y.sum(1) == 1)
    np.testing.assert_allclose(y.mean(0), 0.1, atol=0.005)
    assert stats.chisquare(y.sum(0)).pvalue > 1e-3


def test_categorical_follows_the_labels():
    labels = np.array([2, 0, 9, 9, 4])
    y = priors.Categorical(10).sample(5, np.random.default_rng(0), labels=labels)
    np.testing.assert_array_equal(y, np.eye(10, dtype=np.float32)[labels])


@given(st.integers(1, 12), st.data())
def test_categorical_with_any_labels_gives_exactly_their_one_hots(n_classes, data):
    labels = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), max_size=30)), dtype=np.int64)
    y = priors.Categorical(n_classes).sample(len(labels), np.random.default_rng(0), labels=labels)
    assert y.shape == (len(labels), n_classes) and y.dtype == np.float32
    for row, k in zip(y, labels):
        assert row[k] == 1 and row.sum() == 1


# ---------------------------------------------------------------------------------------------------
# Seeds, shapes, dtypes (all priors)
# ---------------------------------------------------------------------------------------------------

ALL = [priors.Gaussian(3), priors.Gaussian(8, std=5.0), priors.GaussianMixture(), priors.SwissRoll(),
       priors.Categorical(4)]
IDS = ["gaussian3", "gaussian8", "mixture", "swissroll", "categorical"]


@pytest.mark.parametrize("prior", ALL, ids=IDS)
@pytest.mark.parametrize("n", [0, 1, 37])
def test_samples_are_float32_of_shape_n_by_dim(prior, n):
    z = prior.sample(n, np.random.default_rng(0))
    assert z.shape == (n, prior.dim) and z.dtype == np.float32


@given(st.integers(0, 200), st.integers(1, 16), st.integers(1, 12))
def test_any_sample_count_and_size_gives_float32_of_shape_n_by_dim(n, dim, n_classes):
    for prior in (priors.Gaussian(dim), priors.GaussianMixture(n_classes), priors.SwissRoll(n_classes),
                  priors.Categorical(n_classes)):
        z = prior.sample(n, np.random.default_rng(n))
        assert z.shape == (n, prior.dim) and z.dtype == np.float32 and np.all(np.isfinite(z))


@pytest.mark.parametrize("prior", ALL, ids=IDS)
def test_same_seed_gives_the_same_samples(prior):
    seeded = lambda seed: prior.sample(50, np.random.default_rng(seed))
    np.testing.assert_array_equal(seeded(7), seeded(7))
    assert not np.array_equal(seeded(7), seeded(8))


@pytest.mark.parametrize("prior", ALL, ids=IDS)
def test_successive_calls_with_one_generator_give_new_samples(prior):
    # docs/paper.md §7: a sampler that reseeds on every call hands the discriminator the same "prior" batch forever
    rng = np.random.default_rng(7)
    first, second = prior.sample(50, rng), prior.sample(50, rng)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("prior", ALL, ids=IDS)
def test_sampling_neither_uses_nor_reseeds_numpys_global_generator(prior):
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    prior.sample(20, np.random.default_rng(0))
    np.testing.assert_array_equal(np.random.random(3), expected)


@pytest.mark.parametrize("prior", [priors.GaussianMixture(), priors.SwissRoll()], ids=["mixture", "swissroll"])
def test_labelled_samples_of_one_class_differ_between_calls(prior):
    rng, labels = np.random.default_rng(0), np.full(20, 3)
    assert prior.n_classes == 10
    assert not np.array_equal(prior.sample(20, rng, labels=labels), prior.sample(20, rng, labels=labels))


# ---------------------------------------------------------------------------------------------------
# make_prior and errors
# ---------------------------------------------------------------------------------------------------


def test_make_prior_builds_the_named_prior():
    g = priors.make_prior("gaussian", dim=8, std=5.0)
    assert isinstance(g, priors.Gaussian) and (g.dim, g.std) == (8, 5.0)
    assert isinstance(priors.make_prior("mixture"), priors.GaussianMixture)
    assert isinstance(priors.make_prior("swissroll"), priors.SwissRoll)
    assert priors.make_prior("gaussian", dim=3).std == 1.0
    assert [type(priors.make_prior(name)).__name__ for name in priors.PRIORS] == [
        "Gaussian", "GaussianMixture", "SwissRoll"]


def test_label_of_finds_the_component_or_segment_a_sample_was_drawn_from():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 10, 2000)
    mixture = priors.GaussianMixture()
    assert (mixture.label_of(mixture.sample(2000, rng, labels=labels)) == labels).mean() > 0.95
    roll = priors.SwissRoll(noise=0.0)  # on the axis the segment is exact (but for rounding at its edges)
    assert (roll.label_of(roll.sample(2000, rng, labels=labels)) == labels).mean() > 0.99
    roll = priors.SwissRoll()  # noise 0.05: by the radius alone 16% would land in the next segment
    assert (roll.label_of(roll.sample(2000, rng, labels=labels)) == labels).mean() > 0.96
    # a point just off the roll belongs to the segment of the axis point it lies beside: t = 0.5 is u = 0.25,
    # segment 2, at radius 1.5 on the positive x axis; moved outwards by 0.2 (radius 1.7 alone says segment 3)
    assert roll.label_of(np.array([[1.7, 0.0], [1.5, 0.0]])).tolist() == [2, 2]
    with pytest.raises(ValueError, match="Gaussian: this prior has no classes"):
        priors.Gaussian(2).label_of(np.zeros((1, 2)))


def test_mixture_log_prob_is_the_numpy_density_and_differentiable():
    from minaae import Tensor, gradcheck

    prior, z = priors.GaussianMixture(), np.random.default_rng(4).normal(size=(6, 2)) * 1.5
    np.testing.assert_allclose(prior.log_prob(Tensor(z)).data, scipy_mixture_log_density(z), rtol=1e-10)
    assert gradcheck(prior.log_prob, [z], rtol=1e-4)


@pytest.mark.parametrize("prior", [priors.GaussianMixture(), priors.SwissRoll(), priors.Categorical(10)],
                         ids=["mixture", "swissroll", "categorical"])
@pytest.mark.parametrize("labels, message", [
    ([0, 10], r"labels must lie in \[0, 10\), got \[0, 10\]"),
    ([-1, 3], r"labels must lie in \[0, 10\), got \[-1, 3\]"),
    ([0, 1, 2], r"labels must be 2 integers, got shape \(3,\)"),
    ([0.0, 1.0], "labels must be 2 integers, got shape .* dtype float64"),
])
def test_bad_labels_are_rejected(prior, labels, message):
    with pytest.raises(ValueError, match=message):
        prior.sample(2, np.random.default_rng(0), labels=np.array(labels))


def test_labels_to_a_gaussian_are_rejected():
    with pytest.raises(ValueError, match="Gaussian.sample: this prior has no classes; labels must be None"):
        priors.Gaussian(2).sample(2, np.random.default_rng(0), labels=np.array([0, 1]))


def test_a_negative_sample_count_is_rejected():
    with pytest.raises(ValueError, match="non-negative integer, got -1"):
        priors.GaussianMixture().sample(-1, np.random.default_rng(0))


def test_unknown_prior_name_and_2d_priors_of_other_dims_are_rejected():
    with pytest.raises(ValueError, match="unknown prior 'banana'; expected 'gaussian', 'mixture' or 'swissroll'"):
        priors.make_prior("banana")
    with pytest.raises(ValueError, match=r"prior 'mixture' is 2-D, got dim=8"):
        priors.make_prior("mixture", dim=8)
    with pytest.raises(ValueError, match=r"prior 'swissroll' is 2-D, got dim=3"):
        priors.make_prior("swissroll", dim=3)


def test_a_float_sample_count_is_a_clear_error():
    with pytest.raises(ValueError, match="non-negative integer, got 3.0"):
        priors.GaussianMixture().sample(3.0, np.random.default_rng(0))


def test_a_std_for_a_fixed_2d_prior_is_rejected_rather_than_ignored():
    with pytest.raises(ValueError, match="prior 'mixture' has the paper's fixed shape; std=5.0 applies to 'gaussian'"):
        priors.make_prior("mixture", std=5.0)


@pytest.mark.parametrize("make, message", [
    (lambda: priors.Gaussian(0), "Gaussian: dim must be a positive integer, got 0"),
    (lambda: priors.Gaussian(2.0), "Gaussian: dim must be a positive integer, got 2.0"),
    (lambda: priors.Gaussian(2, std=0), "Gaussian: std must be a positive number, got 0"),
    (lambda: priors.GaussianMixture(0), "GaussianMixture: n_components must be a positive integer, got 0"),
    (lambda: priors.GaussianMixture(radius=-1), "GaussianMixture: radius must be a non-negative number, got -1"),
    (lambda: priors.GaussianMixture(std=(0.5,)), r"GaussianMixture: std must be \(radial, tangential\)"),
    (lambda: priors.GaussianMixture(std=(0.5, -0.1)), "GaussianMixture: each std must be a positive number"),
    (lambda: priors.SwissRoll(noise=-0.1), "SwissRoll: noise must be a non-negative number, got -0.1"),
    (lambda: priors.Categorical(0), "Categorical: n_classes must be a positive integer, got 0"),
])
def test_bad_constructor_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_labels_as_a_list_are_accepted_and_log_density_names_wrong_shapes():
    z = priors.GaussianMixture().sample(3, np.random.default_rng(0), labels=[0, 5, 9])
    assert z.shape == (3, 2)
    for prior in (priors.Gaussian(3), priors.GaussianMixture(), priors.SwissRoll()):
        with pytest.raises(ValueError, match=r"expected points of shape \(N, \d\), got \(4,\)"):
            prior.log_density(np.zeros(4))


# ---------------------------------------------------------------------------------------------------
# On a GPU: a CuPy generator gives CuPy samples with the same laws (skipped without CuPy and a GPU)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.parametrize("prior", ALL, ids=IDS)
def test_a_cupy_generator_gives_cupy_samples_of_the_same_shape_and_law(prior):
    rng = backend.default_rng(0, device="cuda")
    z = prior.sample(20_000, rng)
    assert backend.device_of(z) == "cuda" and z.shape == (20_000, prior.dim) and z.dtype == np.float32
    on_cpu = prior.sample(20_000, np.random.default_rng(0)).astype(np.float64)
    np.testing.assert_allclose(backend.as_numpy(z).mean(0), on_cpu.mean(0), atol=0.05 * on_cpu.std(0).max())
    if prior.n_classes is not None:
        host_labels = np.array([0, 1, 2, 3, 0])
        assert backend.device_of(prior.sample(5, rng, labels=backend.to_device(host_labels, "cuda"))) == "cuda"
        if not isinstance(prior, priors.Categorical):  # host labels meet the GPU generator's draws
            assert backend.device_of(prior.sample(5, rng, labels=host_labels)) == "cuda"
