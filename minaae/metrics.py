"""Evaluation: Parzen-window log-likelihood, classification and clustering error, and how well the
codes match the prior (MMD, moments). NumPy, float64 where sums are long (docs/metrics.md)."""

import math

import numpy as np


def _as_2d(name, a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or len(a) == 0:
        raise ValueError(f"{name}: expected a non-empty (N, D) array, got shape {a.shape}")
    return a


# ---------------------------------------------------------------------------------------------------
# Parzen window (PAPER.md §2, Table 1)
# ---------------------------------------------------------------------------------------------------


def parzen_log_likelihood(x, samples, sigma, batch_size=1000):
    """log p̂(x) per row of x, for the Parzen window of `samples` with bandwidth σ:

    log p̂(x) = logsumexp_i(−‖x − μ_i‖² / 2σ²) − log N − (d/2) log(2πσ²).

    Both x and the samples are processed in blocks, and the blocks over samples are combined with a
    running logsumexp, so 10,000 × 10,000 × 784 needs only a block of distances in memory.
    """
    x, mu = _as_2d("parzen x", x), _as_2d("parzen samples", samples)
    if x.shape[1] != mu.shape[1]:
        raise ValueError(f"parzen: x has {x.shape[1]} dimensions, samples have {mu.shape[1]}")
    if not sigma > 0:
        raise ValueError(f"parzen: sigma must be positive, got {sigma}")
    # BEGIN EXERCISE 9: the Parzen-window log-likelihood
    n, d = mu.shape
    mu_sq = (mu**2).sum(1)
    out = np.empty(len(x))
    for a in range(0, len(x), batch_size):
        xb = x[a : a + batch_size]
        xb_sq = (xb**2).sum(1, keepdims=True)
        running = np.full(len(xb), -np.inf)
        for b in range(0, n, batch_size):
            # ‖x − μ‖² = ‖x‖² − 2 x·μ + ‖μ‖²; clamp the tiny negatives that rounding can produce
            dist = np.maximum(xb_sq - 2 * xb @ mu[b : b + batch_size].T + mu_sq[b : b + batch_size], 0)
            block = -dist / (2 * sigma**2)
            m = np.maximum(running, block.max(1))
            running = m + np.log(np.exp(running - m) + np.exp(block - m[:, None]).sum(1))
        out[a : a + batch_size] = running
    return out - math.log(n) - 0.5 * d * math.log(2 * math.pi * sigma**2)
    # END EXERCISE


def select_parzen_sigma(x_val, samples, sigmas=None):
    """The σ of the grid with the highest mean validation log-likelihood: (best σ, scores per σ).

    The default grid is the GAN paper's protocol: 10 values, log-spaced in [0.1, 1].
    """
    sigmas = np.logspace(-1, 0, 10) if sigmas is None else np.asarray(sigmas, dtype=np.float64)
    scores = np.array([parzen_log_likelihood(x_val, samples, s).mean() for s in sigmas])
    return float(sigmas[int(np.argmax(scores))]), scores


def parzen_report(x_test, samples, sigma):
    """(mean test log-likelihood, its standard error) — the numbers of Table 1."""
    ll = parzen_log_likelihood(x_test, samples, sigma)
    return float(ll.mean()), float(ll.std(ddof=1) / math.sqrt(len(ll)))


# ---------------------------------------------------------------------------------------------------
# Classification and clustering (PAPER.md §4)
# ---------------------------------------------------------------------------------------------------


def classification_error(scores, labels):
    """Fraction of rows whose argmax differs from the label; scores (N, C) logits or probabilities."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    if scores.ndim != 2 or labels.shape != (len(scores),):
        raise ValueError(f"classification_error: scores {scores.shape} and labels {labels.shape} do not match")
    return float((scores.argmax(1) != labels).mean())


def cluster_label_map(cluster_probs, labels):
    """The paper's rule: cluster k takes the label of the example with the largest q(y = k|x).

    cluster_probs (N, K) on labeled data (training or validation); returns (K,) labels.
    """
    cluster_probs, labels = np.asarray(cluster_probs), np.asarray(labels)
    if cluster_probs.ndim != 2 or labels.shape != (len(cluster_probs),):
        raise ValueError(f"cluster_label_map: probs {cluster_probs.shape} and labels {labels.shape} do not match")
    return labels[cluster_probs.argmax(0)]


def majority_cluster_map(assignments, labels, n_clusters):
    """Each cluster takes its most frequent label (an optimistic bound); an empty cluster gets label 0
    (it receives no test point under the same assignment rule, so the choice never counts)."""
    assignments, labels = np.asarray(assignments), np.asarray(labels)
    if assignments.shape != labels.shape or assignments.ndim != 1:
        raise ValueError(f"majority_cluster_map: assignments {assignments.shape} and labels {labels.shape} "
                         "do not match")
    if assignments.size and (assignments.min() < 0 or assignments.max() >= n_clusters):
        raise ValueError(f"majority_cluster_map: assignments must lie in [0, {n_clusters}), "
                         f"got [{assignments.min()}, {assignments.max()}]")
    mapping = np.zeros(n_clusters, dtype=np.int64)
    for k in range(n_clusters):
        members = labels[assignments == k]
        if len(members):
            mapping[k] = np.bincount(members).argmax()
    return mapping


def clustering_error(test_probs, test_labels, mapping):
    """Test error when each test point takes the label of its most probable cluster."""
    test_probs, test_labels, mapping = np.asarray(test_probs), np.asarray(test_labels), np.asarray(mapping)
    if test_probs.ndim != 2 or test_labels.shape != (len(test_probs),) or mapping.shape != (test_probs.shape[1],):
        raise ValueError(f"clustering_error: probs {test_probs.shape}, labels {test_labels.shape} and mapping "
                         f"{mapping.shape} do not match (expected (N, K), (N,), (K,))")
    return float((mapping[test_probs.argmax(1)] != test_labels).mean())


# ---------------------------------------------------------------------------------------------------
# Do the codes match the prior?
# ---------------------------------------------------------------------------------------------------


def mmd_rbf(a, b, bandwidth=None):
    """Unbiased squared maximum mean discrepancy between samples a and b with the kernel
    exp(−‖u − v‖² / 2h²); h is the median pairwise distance of the pooled samples when not given.
    About 0 when a and b come from one distribution, positive when they differ."""
    a, b = _as_2d("mmd a", a), _as_2d("mmd b", b)
    if a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"mmd: need ≥ 2 samples of one dimension, got {a.shape} and {b.shape}")

    def sq_dist(u, v):
        return np.maximum((u**2).sum(1)[:, None] - 2 * u @ v.T + (v**2).sum(1)[None], 0)

    if bandwidth is None:
        pooled = np.concatenate([a[:500], b[:500]])  # both samples, so h reflects the pooled spread
        bandwidth = math.sqrt(np.median(sq_dist(pooled, pooled)[np.triu_indices(len(pooled), 1)]) + 1e-12)
    k = lambda u, v: np.exp(-sq_dist(u, v) / (2 * bandwidth**2))
    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    m, n = len(a), len(b)
    return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
                 - 2 * kab.mean())


def moment_gap(codes, prior_samples):
    """Distances between the first two moments of the codes and of the prior samples."""
    a, b = _as_2d("codes", codes), _as_2d("prior samples", prior_samples)
    return {"mean_gap": float(np.linalg.norm(a.mean(0) - b.mean(0))),
            "cov_gap": float(np.linalg.norm(np.cov(a.T) - np.cov(b.T)))}
