"""Prior distributions p(z) that the adversarial regularization imposes on the codes (docs/paper.md §2, §5).

Each prior draws `(n, dim)` float32 samples from an explicitly passed generator — never a global or
reseeded one, which would hand the discriminator the same "prior" batch every time (docs/paper.md §7).
Integer `labels` choose the mixture component or swiss-roll segment (docs/paper.md §4.2). Each prior owns
its geometry: `log_density`, `log_prob` (differentiable, for the VAE), `label_of`, `tour`. `PRIORS` names
them for the command line; a new prior is one class here and its entry in `PRIORS` (docs/extend.md).
"""

import math
import numbers

import numpy as np

from . import functional as F
from .autograd import Tensor, no_grad
from .backend import get_array_module, like

# --- argument checks shared by every prior -------------------------------------------------------------


def _check_n(n, name):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{name}: number of samples must be a non-negative integer, got {n!r}")


def _check_positive(value, what, name, integer=False):
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        raise ValueError(f"{name}: {what} must be a positive {'integer' if integer else 'number'}, got {value!r}")


def _check_labels(labels, n, n_classes, name):
    """`labels` as an (n,) integer array in [0, n_classes) of its own module, or None."""
    if labels is None:
        return None
    if n_classes is None:
        raise ValueError(f"{name}: this prior has no classes; labels must be None")
    labels = labels if hasattr(labels, "dtype") else np.asarray(labels)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"{name}: labels must be {n} integers, got shape {labels.shape} dtype {labels.dtype}")
    low, high = (int(labels.min()), int(labels.max())) if n else (0, 0)
    if low < 0 or high >= n_classes:
        raise ValueError(f"{name}: labels must lie in [0, {n_classes}), got [{low}, {high}]")
    return labels


def _points(z, dim, name):
    """z as a float64 (N, dim) array of its own module (NumPy or CuPy)."""
    xp = get_array_module(z)
    z = xp.asarray(z, dtype=xp.float64)
    if z.ndim != 2 or z.shape[1] != dim:
        raise ValueError(f"{name}: expected points of shape (N, {dim}), got {z.shape}")
    return z


def _logsumexp_rows(a):
    """log Σ_j exp(a_ij) per row, shifted by the row's maximum so that far-away points do not underflow."""
    xp = get_array_module(a)
    top = a.max(axis=1, keepdims=True)
    return (top + xp.log(xp.exp(a - top).sum(axis=1, keepdims=True)))[:, 0]


# --- the priors -----------------------------------------------------------------------------------------

class Prior:
    """What every prior offers besides `sample(n, rng, labels=None)`; the defaults say what it lacks."""

    n_classes = None  # or the number of components (segments) that labels choose

    def gaussian_kl(self, mu, logvar):  # KL(N(μ, σ²) ‖ p) in closed form, or None: the VAE then estimates it
        return None

    def log_prob(self, z):  # log p(z), differentiable: Tensor z (N, dim) -> (N,)
        raise ValueError(f"{type(self).__name__}: no differentiable density")

    def label_of(self, z):  # the component (or segment) of each point of z (N, dim), (N,) integers
        raise ValueError(f"{type(self).__name__}: this prior has no classes")


class Gaussian(Prior):
    """N(0, std² I) in `dim` dimensions (docs/paper.md §4: the likelihood experiment uses dim 8, std 5)."""

    def __init__(self, dim, std=1.0):
        _check_positive(dim, "dim", "Gaussian", integer=True)
        _check_positive(std, "std", "Gaussian")
        self.dim, self.std = dim, std

    def sample(self, n, rng, labels=None):
        """(n, dim) float32 draws of N(0, std² I) from `rng`."""
        _check_n(n, "Gaussian.sample")
        _check_labels(labels, n, None, "Gaussian.sample")
        return (rng.standard_normal((n, self.dim)) * self.std).astype(np.float32)

    def log_density(self, z):
        """log N(z; 0, std² I) per row of z (N, dim) -> (N,), float64."""
        z = _points(z, self.dim, "Gaussian.log_density")
        return -0.5 * (z**2).sum(1) / self.std**2 - self.dim * math.log(self.std * math.sqrt(2 * math.pi))

    def gaussian_kl(self, mu, logvar): return F.gaussian_kl(mu, logvar, self.std)


class GaussianMixture(Prior):
    """The paper's 2-D mixture of `n_components` Gaussians arranged on a circle (docs/paper.md §5).

    Component k is N(0, diag(std[0]², std[1]²)) rotated by the angle θ_k = 2πk/n and shifted by
    radius·(cos θ_k, sin θ_k): elongated blobs pointing away from the centre. Components are equally likely."""

    dim = 2

    def __init__(self, n_components=10, radius=1.4, std=(0.5, 0.1)):
        _check_positive(n_components, "n_components", "GaussianMixture", integer=True)
        if isinstance(radius, bool) or not isinstance(radius, numbers.Real) or not radius >= 0:
            raise ValueError(f"GaussianMixture: radius must be a non-negative number, got {radius!r}")
        if len(std) != 2:
            raise ValueError(f"GaussianMixture: std must be (radial, tangential), got {std!r}")
        for s in std:
            _check_positive(s, "each std", "GaussianMixture")
        self.n_classes = self.n_components = n_components
        self.radius, self.std = radius, tuple(std)

    def _rotations(self, k):
        angle = 2 * np.pi * k / self.n_classes
        xp = get_array_module(angle)
        return xp.cos(angle), xp.sin(angle)

    def sample(self, n, rng, labels=None):
        """(n, 2) float32 draws; label k (n,) picks component k, otherwise components are uniform."""
        _check_n(n, "GaussianMixture.sample")
        labels = _check_labels(labels, n, self.n_classes, "GaussianMixture.sample")
        # BEGIN EXERCISE 7: sampling the mixture of 10 Gaussians
        k = rng.integers(0, self.n_classes, size=n) if labels is None else labels
        u = rng.standard_normal((n, 2))
        xp = get_array_module(u)
        k = like(k, u)  # labels made on the host meet a GPU generator's draws
        u = u * xp.asarray(self.std)  # (along, across) the component's axis
        c, s = self._rotations(k)
        x = c * (u[:, 0] + self.radius) - s * u[:, 1]
        y = s * (u[:, 0] + self.radius) + c * u[:, 1]
        return xp.stack([x, y], axis=1).astype(np.float32)
        # END EXERCISE

    def centers(self):
        """(n_components, 2) NumPy array of the component means radius·(cos θ_k, sin θ_k)."""
        c, s = self._rotations(np.arange(self.n_classes))
        return self.radius * np.stack([c, s], axis=1)

    def component_log_probs(self, z):
        """log N_k(z) for every component k, differentiable: Tensor z (N, 2) -> (N, n_components). z − centre_k
        is rotated into component k's frame (along its axis, across it): there it is N(0, diag(std²))."""
        c, s = (Tensor(like(a.astype(z.dtype), z.data)) for a in self._rotations(np.arange(self.n_classes)))
        dx = z[:, 0:1] - self.radius * c  # (N, K): offsets from every centre
        dy = z[:, 1:2] - self.radius * s
        along, across = dx * c + dy * s, dy * c - dx * s
        a, b = self.std
        return (along * along) * (-0.5 / a**2) + (across * across) * (-0.5 / b**2) - float(np.log(2 * np.pi * a * b))

    def log_prob(self, z):
        """log p(z) = log (1/n) Σ_k N_k(z), differentiable: Tensor z (N, 2) -> (N,)."""
        return F.logsumexp(self.component_log_probs(z), axis=1) - float(np.log(self.n_classes))

    def component_log_densities(self, z):
        """log N_k(z) for every component k: z (N, 2) -> (N, n_components), float64."""
        with no_grad():
            return self.component_log_probs(Tensor(_points(z, 2, "GaussianMixture.component_log_densities"))).data

    def log_density(self, z):
        """log p(z) = log (1/n) Σ_k N_k(z) per row of z (N, 2) -> (N,), float64."""
        return _logsumexp_rows(self.component_log_densities(z)) - math.log(self.n_classes)

    def label_of(self, z):
        """The component of largest density at each point of z (N, 2), (N,) integers."""
        return self.component_log_densities(z).argmax(1)

    def tour(self, steps=12):
        """Points outward along each component's axis, (n_components · steps, 2), and the rows to show them in."""
        c, s = self._rotations(np.repeat(np.arange(self.n_classes), steps))
        r = np.tile(np.linspace(0.2, 2.6, steps), self.n_classes)
        return np.stack([r * c, r * s], axis=1).astype(np.float32), self.n_classes


class SwissRoll(Prior):
    """A 2-D swiss roll cut into `n_classes` segments along its length (docs/paper.md §5).

    For segment k: u = (U(0, 1) + k)/n, radius 3√u, angle 4π√u (√u spreads the points evenly along the
    spiral), plus N(0, noise² I). E‖z‖² = 9/2 + 2·noise², against ≈ 2.2 for the mixture and 2 for N(0, I):
    the same order, so one network and one learning rate serve all three."""

    dim = 2

    def __init__(self, n_classes=10, noise=0.05):
        _check_positive(n_classes, "n_classes", "SwissRoll", integer=True)
        if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not noise >= 0:
            raise ValueError(f"SwissRoll: noise must be a non-negative number, got {noise!r}")
        self.n_classes, self.noise = n_classes, noise

    def sample(self, n, rng, labels=None):
        """(n, 2) float32 draws; label k (n,) picks segment k, otherwise segments are uniform."""
        _check_n(n, "SwissRoll.sample")
        labels = _check_labels(labels, n, self.n_classes, "SwissRoll.sample")
        k = rng.integers(0, self.n_classes, size=n) if labels is None else labels
        u = rng.random(n)
        xp = get_array_module(u)
        u = (u + like(k, u)) / self.n_classes
        r, angle = 3 * xp.sqrt(u), 4 * np.pi * xp.sqrt(u)
        z = xp.stack([r * xp.cos(angle), r * xp.sin(angle)], axis=1)
        return (z + rng.standard_normal((n, 2)) * self.noise).astype(np.float32)

    def log_density(self, z, chunk=1024):
        """log p(z) per row of z (N, 2) -> (N,), float64, by quadrature along the spiral.

        With t = √u, which has density 2t on [0, 1], and the axis c(t) = 3t·(cos 4πt, sin 4πt):
        p(z) = ∫₀¹ 2t N(z; c(t), noise² I) dt. The integral is a 3-point Gauss–Legendre rule on panels at
        most one noise width long on the curve (its speed is at most 3√(1 + 16π²)); against adaptive
        quadrature its log is off by < 1e-4 on and around the roll and < 1e-3 four widths past its end."""
        if self.noise == 0:
            raise ValueError("SwissRoll.log_density: with noise 0 the prior lies on a curve and has no density")
        z = _points(z, 2, "SwissRoll.log_density")
        xp = get_array_module(z)
        panels = math.ceil(3 * math.hypot(1, 4 * math.pi) / self.noise)
        nodes, weights = (xp.asarray(a) for a in np.polynomial.legendre.leggauss(3))  # on [-1, 1]
        t = ((xp.arange(panels)[:, None] + (nodes + 1) / 2) / panels).ravel()
        log_weight = xp.log(2 * t * xp.tile(weights / (2 * panels), panels))
        axis = 3 * t[:, None] * xp.stack([xp.cos(4 * np.pi * t), xp.sin(4 * np.pi * t)], axis=1)
        out = []
        for i in range(0, len(z), chunk):  # chunks keep the (rows, nodes) block of distances small
            zi = z[i : i + chunk]
            sq = (zi[:, :1] - axis[:, 0]) ** 2 + (zi[:, 1:] - axis[:, 1]) ** 2  # 2-D: no matmul pays off
            out.append(_logsumexp_rows(log_weight - sq / (2 * self.noise**2)))
        return (xp.concatenate(out) if out else xp.zeros(0)) - math.log(2 * math.pi * self.noise**2)

    def label_of(self, z):
        """The segment of the nearest point on the roll's axis 3t·(cos 4πt, sin 4πt), u = t², for each point of z
        (N, 2): (N,) integers. (By radius alone, 16% of the prior's own samples at noise 0.05 fall in the next
        segment; by the nearest axis point, 2%.)"""
        t = np.linspace(0, 1, 4001)  # about 0.01 apart along the axis
        axis = 3 * t[:, None] * np.stack([np.cos(4 * np.pi * t), np.sin(4 * np.pi * t)], 1)
        z = np.asarray(z, dtype=np.float64).reshape(-1, 2)
        nearest = [((c[:, None] - axis) ** 2).sum(2).argmin(1) for c in np.array_split(z, len(z) // 1000 + 1)]
        return np.minimum((t[np.concatenate(nearest)] ** 2 * self.n_classes).astype(int), self.n_classes - 1)

    def tour(self, steps=100, rows=5):
        """Points along the roll's axis, u from 0.01 to 0.99: (steps, 2), shown in `rows` rows."""
        root_u = np.sqrt(np.linspace(0.01, 0.99, steps))
        z = 3 * root_u[:, None] * np.stack([np.cos(4 * np.pi * root_u), np.sin(4 * np.pi * root_u)], 1)
        return z.astype(np.float32), rows


class Categorical(Prior):
    """Uniform one-hot vectors (n, n_classes): the prior of the semi-supervised y head (docs/paper.md §4).

    Given labels, the one-hots of those labels, on the labels' device (no draw is made)."""

    def __init__(self, n_classes):
        _check_positive(n_classes, "n_classes", "Categorical", integer=True)
        self.n_classes = self.dim = n_classes

    def sample(self, n, rng, labels=None):
        """(n, n_classes) float32 one-hot rows."""
        _check_n(n, "Categorical.sample")
        labels = _check_labels(labels, n, self.n_classes, "Categorical.sample")
        k = rng.integers(0, self.n_classes, size=n) if labels is None else labels
        return get_array_module(k).eye(self.n_classes, dtype=np.float32)[k]


PRIORS = {"gaussian": Gaussian, "mixture": GaussianMixture, "swissroll": SwissRoll}  # the --prior names


def make_prior(name, dim=2, std=None):
    """The prior named on the command line (a key of PRIORS): 'gaussian' takes any dim and std (default 1);
    the others are 2-D with the paper's settings of docs/paper.md §5."""
    if name not in PRIORS:
        *others, last = map(repr, PRIORS)
        raise ValueError(f"unknown prior {name!r}; expected {', '.join(others)} or {last}")
    if name == "gaussian":
        return Gaussian(dim, 1.0 if std is None else std)
    if dim != 2:
        raise ValueError(f"prior {name!r} is 2-D, got dim={dim}")
    if std is not None:
        raise ValueError(f"prior {name!r} has the paper's fixed shape; std={std!r} applies to 'gaussian' only")
    return PRIORS[name]()
