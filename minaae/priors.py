"""Prior distributions p(z) that the adversarial regularization imposes on the codes (PAPER.md §2, §5).

An AAE needs only to *sample* its prior (a VAE would need its density in closed form). Each prior
draws `(n, dim)` float32 samples from an explicitly passed generator — never a global or reseeded one,
which would hand the discriminator the same "prior" batch every time (PAPER.md §7). Integer `labels`
choose the mixture component or swiss-roll segment, for label-regularized training (PAPER.md §2.3).
"""

import math

import numpy as np


def _check_labels(labels, n, n_classes, name):
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"{name}: labels must be {n} integers, got shape {labels.shape} dtype {labels.dtype}")
    if n and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{name}: labels must lie in [0, {n_classes}), got [{labels.min()}, {labels.max()}]")
    return labels


def _check_n(n, name):
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{name}: number of samples must be a non-negative integer, got {n!r}")


class Gaussian:
    """N(0, std² I) in `dim` dimensions (the likelihood experiment uses dim 8, std 5)."""

    n_classes = None

    def __init__(self, dim, std=1.0):
        self.dim, self.std = dim, std

    def sample(self, n, rng, labels=None):
        _check_n(n, "Gaussian.sample")
        if labels is not None:
            raise ValueError("Gaussian.sample: this prior has no classes; labels must be None")
        return (rng.standard_normal((n, self.dim)) * self.std).astype(np.float32)

    def log_density(self, z):
        """log N(z; 0, std² I) per row."""
        z = np.asarray(z, dtype=np.float64)
        return -0.5 * (z**2).sum(1) / self.std**2 - self.dim * math.log(self.std * math.sqrt(2 * math.pi))


class GaussianMixture:
    """The paper's 2-D mixture of `n_components` Gaussians arranged on a circle.

    Component k is N(0, diag(std_radial², std_tangential²)) rotated by the angle θ_k = 2πk/n and
    shifted by radius·(cos θ_k, sin θ_k): elongated blobs pointing away from the centre.
    """

    dim = 2

    def __init__(self, n_components=10, radius=1.4, std=(0.5, 0.1)):
        self.n_classes = n_components
        self.radius, self.std = radius, std

    def _rotations(self, k):
        angle = 2 * np.pi * k / self.n_classes
        return np.cos(angle), np.sin(angle)

    def sample(self, n, rng, labels=None):
        _check_n(n, "GaussianMixture.sample")
        labels = _check_labels(labels, n, self.n_classes, "GaussianMixture.sample")
        # BEGIN EXERCISE 7: sampling the mixture of 10 Gaussians
        k = rng.integers(0, self.n_classes, size=n) if labels is None else labels
        u = rng.standard_normal((n, 2)) * self.std  # along, across the component's axis
        c, s = self._rotations(k)
        x = c * (u[:, 0] + self.radius) - s * u[:, 1]
        y = s * (u[:, 0] + self.radius) + c * u[:, 1]
        return np.stack([x, y], axis=1).astype(np.float32)
        # END EXERCISE

    def centers(self):
        c, s = self._rotations(np.arange(self.n_classes))
        return self.radius * np.stack([c, s], axis=1)

    def component_log_densities(self, z):
        """log N_k(z) for every component k, (N, n_components)."""
        z = np.asarray(z, dtype=np.float64)
        c, s = self._rotations(np.arange(self.n_classes))
        d = z[:, None, :] - self.centers()[None]
        along = d[..., 0] * c + d[..., 1] * s  # coordinates in each component's rotated frame
        across = -d[..., 0] * s + d[..., 1] * c
        a, b = self.std
        return -0.5 * ((along / a) ** 2 + (across / b) ** 2) - math.log(2 * math.pi * a * b)

    def log_density(self, z):
        """log p(z) of the equal-weight mixture, per row."""
        log_comp = self.component_log_densities(z)
        m = log_comp.max(1, keepdims=True)
        return (m + np.log(np.exp(log_comp - m).sum(1, keepdims=True))).ravel() - math.log(self.n_classes)


class SwissRoll:
    """A 2-D swiss roll cut into `n_classes` segments along its length.

    For segment k: u = (U(0, 1) + k)/n, radius 3√u, angle 4π√u, plus Gaussian noise of std `noise`
    around the roll's axis. √u spreads the points evenly along the spiral; the scale (radius ≤ 3) makes
    it comparable with the mixture.
    """

    dim = 2

    def __init__(self, n_classes=10, noise=0.05):
        self.n_classes, self.noise = n_classes, noise

    def sample(self, n, rng, labels=None):
        _check_n(n, "SwissRoll.sample")
        labels = _check_labels(labels, n, self.n_classes, "SwissRoll.sample")
        k = rng.integers(0, self.n_classes, size=n) if labels is None else labels
        u = (rng.random(n) + k) / self.n_classes
        r, angle = 3 * np.sqrt(u), 4 * np.pi * np.sqrt(u)
        z = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
        return (z + rng.standard_normal((n, 2)) * self.noise).astype(np.float32)


class Categorical:
    """Uniform one-hot vectors (n, n_classes): the prior of the semi-supervised y head (PAPER.md §4)."""

    def __init__(self, n_classes):
        self.n_classes = self.dim = n_classes

    def sample(self, n, rng, labels=None):
        _check_n(n, "Categorical.sample")
        labels = _check_labels(labels, n, self.n_classes, "Categorical.sample")
        k = rng.integers(0, self.n_classes, size=n) if labels is None else labels
        out = np.zeros((n, self.n_classes), np.float32)
        out[np.arange(n), k] = 1
        return out


def make_prior(name, dim=2, std=1.0):
    """The prior named on the command line: 'gaussian' (any dim), 'mixture' or 'swissroll' (2-D)."""
    if name == "gaussian":
        return Gaussian(dim, std)
    if name in ("mixture", "swissroll"):
        if dim != 2:
            raise ValueError(f"prior {name!r} is 2-D, got dim={dim}")
        return GaussianMixture() if name == "mixture" else SwissRoll()
    raise ValueError(f"unknown prior {name!r}; expected 'gaussian', 'mixture' or 'swissroll'")
