"""Evaluation: Parzen-window log-likelihood (docs/paper.md §2, Table 1), classification and clustering error
(docs/paper.md §4, Tables 2–3), and how well the codes match the prior (MMD, moments). Sums run in float64.

The Parzen window and the MMD compute in the module of their inputs (NumPy, or CuPy on a GPU); every
function returns NumPy arrays or Python floats, ready for metrics.json (docs/metrics.md).
"""

import math

import numpy as np

from .backend import as_numpy, get_array_module

# The GAN paper's grid for σ: 10 values log-spaced in [0.1, 1] (read-only, as it is a default argument)
GAN_SIGMAS = np.logspace(-1, 0, 10)
GAN_SIGMAS.flags.writeable = False


def _as_2d(name, a):
    """a as a non-empty, finite float64 (N, D) array of its own module."""
    xp = get_array_module(a)
    a = xp.asarray(a, dtype=xp.float64)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty (N, D) array, got shape {a.shape}")
    if not bool(xp.isfinite(a).all()):
        raise ValueError(f"{name}: contains nan or inf")
    return a


def _positive(value, what, name):
    """value as a positive finite float, or a ValueError naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {what} must be a positive number, got {value!r}") from None
    if not (number > 0 and math.isfinite(number)):
        raise ValueError(f"{name}: {what} must be positive, got {value}")
    return number


def _int_labels(name, labels, n):
    """labels as a NumPy (n,) integer array."""
    labels = as_numpy(labels)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"{name}: labels must be {n} integers, got shape {labels.shape} dtype {labels.dtype}")
    return labels


# ---- Parzen window (docs/paper.md §2, Table 1) ----------------------------------------------------

def parzen_log_likelihood(x, samples, sigma, batch_size=2000):
    """log p̂(x) per row of x (N, D) -> (N,), for the Parzen window of `samples` (M, D), bandwidth σ:

    log p̂(x) = logsumexp_i(−‖x − μ_i‖² / 2σ²) − log M − (D/2) log(2πσ²)      (docs/paper.md §2)

    Both x and the samples are processed in blocks of `batch_size` rows, and the blocks over samples are
    combined with a running logsumexp, so 10,000 × 10,000 × 784 keeps one (batch, batch) block in memory.
    The matmul expansion of the distance costs about 1e-16·‖x‖² of absolute precision: nothing for images
    in [0, 1], but σ far below that scale would need the direct difference."""
    x, mu = _as_2d("parzen x", x), _as_2d("parzen samples", samples)
    if x.shape[1] != mu.shape[1]:
        raise ValueError(f"parzen: x has {x.shape[1]} dimensions, samples have {mu.shape[1]}")
    sigma = _positive(sigma, "sigma", "parzen")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"parzen: batch_size must be a positive integer, got {batch_size!r}")
    # BEGIN EXERCISE 9: the Parzen-window log-likelihood
    xp = get_array_module(x, mu)
    m, d = mu.shape
    mu_sq = (mu**2).sum(1)
    out = xp.empty(len(x))
    for a in range(0, len(x), batch_size):
        xb = x[a : a + batch_size]
        xb_sq = (xb**2).sum(1, keepdims=True)
        running = xp.full(len(xb), -xp.inf)  # logsumexp over the sample blocks seen so far
        for b in range(0, m, batch_size):
            # ‖x − μ‖² = ‖x‖² − 2 x·μ + ‖μ‖²: one matmul; in place, as the blocks are the memory traffic
            e = xb @ mu[b : b + batch_size].T
            e *= -2
            e += xb_sq
            e += mu_sq[b : b + batch_size]
            xp.maximum(e, 0, out=e)  # rounding can leave tiny negatives where x ≈ μ
            e *= -0.5 / sigma**2
            top = xp.maximum(running, e.max(1))
            e -= top[:, None]
            running = top + xp.log(xp.exp(running - top) + xp.exp(e, out=e).sum(1))
        out[a : a + batch_size] = running
    return as_numpy(out - math.log(m) - 0.5 * d * math.log(2 * math.pi * sigma**2))
    # END EXERCISE


def select_parzen_sigma(x_val, samples, sigmas=GAN_SIGMAS, batch_size=2000):
    """The σ of the grid with the highest mean validation log-likelihood: (best σ, scores per σ).

    The default grid is the GAN paper's protocol (docs/paper.md §2): 10 values, log-spaced in [0.1, 1].
    Choose σ on validation data; the test set is then scored once with it (docs/paper.md §7)."""
    sigmas = np.asarray(sigmas, dtype=np.float64)
    if sigmas.ndim != 1 or len(sigmas) == 0:
        raise ValueError(f"select_parzen_sigma: sigmas must be a non-empty 1-D grid, got shape {sigmas.shape}")
    for s in sigmas:  # before the long computation, not after the first σ
        _positive(s, "sigma", "select_parzen_sigma")
    scores = np.array([parzen_log_likelihood(x_val, samples, s, batch_size).mean() for s in sigmas])
    return float(sigmas[int(np.argmax(scores))]), scores


def parzen_report(x_test, samples, sigma, batch_size=2000):
    """(mean test log-likelihood, its standard error) — the numbers of Table 1 (docs/paper.md §4)."""
    if len(x_test) < 2:  # checked first: the likelihoods take minutes at full size
        raise ValueError(f"parzen_report: a standard error needs at least 2 test points, got {len(x_test)}")
    ll = parzen_log_likelihood(x_test, samples, sigma, batch_size)
    return float(ll.mean()), float(ll.std(ddof=1) / math.sqrt(len(ll)))


# ---- Classification and clustering (docs/paper.md §4) ---------------------------------------------

def classification_error(scores, labels):
    """Fraction of rows whose argmax differs from the label; scores (N, C) logits or probabilities,
    labels (N,) integers in [0, C)."""
    scores, labels = as_numpy(scores), as_numpy(labels)
    if scores.ndim != 2 or len(scores) == 0 or labels.shape != (len(scores),):
        raise ValueError(f"classification_error: scores {scores.shape} and labels {labels.shape} do not match "
                         "(expected (N, C) with N > 0 and (N,))")
    labels = _int_labels("classification_error", labels, len(scores))
    if labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise ValueError(f"classification_error: labels must lie in [0, {scores.shape[1]}), "
                         f"got [{labels.min()}, {labels.max()}]")
    return float((scores.argmax(1) != labels).mean())


def cluster_label_map(cluster_probs, labels):
    """The paper's rule (docs/paper.md §4): cluster k takes the label of the example with the largest q(y = k|x).

    cluster_probs (N, K) on labeled training or validation data — q or, free of ties, log q (see
    semisupervised.class_log_probabilities) — labels (N,); returns (K,) labels."""
    cluster_probs, labels = as_numpy(cluster_probs), as_numpy(labels)
    if cluster_probs.ndim != 2 or len(cluster_probs) == 0 or labels.shape != (len(cluster_probs),):
        raise ValueError(f"cluster_label_map: probs {cluster_probs.shape} and labels {labels.shape} do not match "
                         "(expected (N, K) with N > 0 and (N,))")
    return labels[cluster_probs.argmax(0)]


def majority_cluster_map(assignments, labels, n_clusters):
    """Each cluster takes the most frequent label of the examples assigned to it: (n_clusters,) labels.

    On the data it is fitted to this is the best label per cluster, so it is an optimistic bound beside
    the paper's rule (docs/paper.md §7). Ties go to the smaller label. A cluster with no example gets the most
    frequent label overall — the best guess without evidence — since test points may still land in it."""
    assignments, labels = as_numpy(assignments), as_numpy(labels)
    if assignments.ndim != 1 or len(assignments) == 0 or assignments.shape != labels.shape:
        raise ValueError(f"majority_cluster_map: assignments {assignments.shape} and labels {labels.shape} "
                         "do not match (expected two (N,) arrays with N > 0)")
    labels = _int_labels("majority_cluster_map", labels, len(labels))
    if labels.min() < 0:
        raise ValueError(f"majority_cluster_map: labels must be non-negative, got {labels.min()}")
    if assignments.min() < 0 or assignments.max() >= n_clusters:
        raise ValueError(f"majority_cluster_map: assignments must lie in [0, {n_clusters}), "
                         f"got [{assignments.min()}, {assignments.max()}]")
    counts = np.zeros((n_clusters, labels.max() + 1), dtype=np.int64)
    np.add.at(counts, (assignments, labels), 1)  # counts[k, c]: examples of label c in cluster k
    mapping = counts.argmax(1)
    mapping[counts.sum(1) == 0] = np.bincount(labels).argmax()
    return mapping


def clustering_error(test_probs, test_labels, mapping):
    """Test error when each test point (N, K) goes to its most probable cluster and takes that cluster's
    label from mapping (K,) (docs/paper.md §4.6, Table 3)."""
    test_probs, test_labels, mapping = as_numpy(test_probs), as_numpy(test_labels), as_numpy(mapping)
    if (test_probs.ndim != 2 or len(test_probs) == 0 or test_labels.shape != (len(test_probs),)
            or mapping.shape != (test_probs.shape[1],)):
        raise ValueError(f"clustering_error: probs {test_probs.shape}, labels {test_labels.shape} and mapping "
                         f"{mapping.shape} do not match (expected (N, K), (N,), (K,) with N > 0)")
    return float((mapping[test_probs.argmax(1)] != test_labels).mean())


# ---- Do the codes match the prior? ----------------------------------------------------------------

def _squared_distances(u, v):
    """‖u_i − v_j‖² (len(u), len(v)), by the expansion of the square; clamped at 0 against rounding."""
    return get_array_module(u, v).maximum((u**2).sum(1)[:, None] - 2 * u @ v.T + (v**2).sum(1)[None], 0)


def median_bandwidth(a, b, max_points=1000):
    """The median heuristic: the median pairwise distance of the pooled samples a (M, D) and b (N, D).

    Above `max_points` in all, an evenly strided subset is used (a stride, not a prefix, so that samples
    ordered by label still contribute every label)."""
    pooled = get_array_module(a, b).concatenate([a, b])
    pooled = pooled[:: max(1, math.ceil(len(pooled) / max_points))]
    i, j = np.triu_indices(len(pooled), 1)
    median_sq = float(np.median(as_numpy(_squared_distances(pooled, pooled))[i, j]))
    return math.sqrt(median_sq + 1e-12)  # identical points give a tiny h rather than 0


def mmd_rbf(a, b, bandwidth=None):
    """Unbiased squared maximum mean discrepancy between samples a (M, D) and b (N, D) with the kernel
    k(u, v) = exp(−‖u − v‖² / 2h²); h = median_bandwidth(a, b) when not given.

    MMD² = mean_{i≠j} k(a_i, a_j) + mean_{i≠j} k(b_i, b_j) − 2 mean_{i,j} k(a_i, b_j): about 0 (and may
    be slightly negative) when a and b come from one distribution, positive when they differ. Memory
    grows as (M + N)²; a few thousand points each is the intended size."""
    a, b = _as_2d("mmd a", a), _as_2d("mmd b", b)
    if a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"mmd: need ≥ 2 samples of one dimension, got {a.shape} and {b.shape}")
    h = median_bandwidth(a, b) if bandwidth is None else _positive(bandwidth, "bandwidth", "mmd")
    xp = get_array_module(a, b)

    def mean_off_diagonal(u):  # the i = j terms (k = 1) would bias the estimate upwards
        k = xp.exp(-_squared_distances(u, u) / (2 * h**2))
        return (k.sum() - xp.trace(k)) / (len(u) * (len(u) - 1))

    cross = xp.exp(-_squared_distances(a, b) / (2 * h**2)).mean()
    return float(mean_off_diagonal(a) + mean_off_diagonal(b) - 2 * cross)


def moment_gap(codes, prior_samples):
    """Distances between the first two moments of codes (M, D) and prior samples (N, D):
    {"mean_gap": ‖mean_a − mean_b‖, "cov_gap": ‖Cov_a − Cov_b‖_F} (covariances with ddof 1)."""
    a, b = _as_2d("codes", codes), _as_2d("prior samples", prior_samples)
    if a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"moment_gap: need ≥ 2 rows of one dimension, got codes {a.shape} and prior samples "
                         f"{b.shape}")
    a, b = as_numpy(a), as_numpy(b)

    def covariance(u):
        centred = u - u.mean(0)
        return centred.T @ centred / (len(u) - 1)

    return {"mean_gap": float(np.linalg.norm(a.mean(0) - b.mean(0))),
            "cov_gap": float(np.linalg.norm(covariance(a) - covariance(b)))}
