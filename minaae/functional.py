"""Differentiable functions: each is a `Function` with its forward and its hand-derived backward.

Every function takes Tensors (or arrays / numbers) and returns a Tensor. The derivatives are written
out in docs/functional.md; every one of them is checked against finite differences in
tests/test_functional.py. Elementwise work that a GPU kernel fuses goes through `kernels`, whose NumPy
twins are the CPU path.
"""

import math

import numpy as np

from . import kernels
from .autograd import Function, Max, Tensor, as_tensor, unbroadcast
from .backend import get_array_module, like

__all__ = [
    "exp", "log", "sqrt", "abs", "clip", "relu", "leaky_relu", "sigmoid", "tanh", "softplus",
    "softmax", "log_softmax", "logsumexp", "matmul", "linear", "concat", "stack", "where", "maximum",
    "dropout", "batch_norm", "mse_loss", "binary_cross_entropy_with_logits", "cross_entropy",
    "gaussian_sample", "gaussian_kl", "one_hot", "max",
]


# ---- Elementwise math -----------------------------------------------------------------------------

class Exp(Function):
    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, g):  # d exp(x) = exp(x)
        return g * self.y


class Log(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, g):  # d log(x) = 1/x
        return g / self.x


class Sqrt(Function):
    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):  # d sqrt(x) = 1 / (2 sqrt(x))
        return g / (2 * self.y)


class Abs(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, g):  # sign(x); 0 at the kink
        return g * get_array_module(g).sign(self.x)


class Clip(Function):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        self.x = x
        return get_array_module(x).clip(x, self.low, self.high)

    def backward(self, g):  # 1 inside [low, high], 0 outside
        inside = self.x >= (-np.inf if self.low is None else self.low)
        inside &= self.x <= (np.inf if self.high is None else self.high)
        return g * inside


def exp(x): return Exp()(x)
def log(x): return Log()(x)
def sqrt(x): return Sqrt()(x)
def abs(x): return Abs()(x)  # noqa: A001 - the math name


def clip(x, low=None, high=None):
    """min(max(x, low), high); the gradient is 1 strictly inside, 0 where clipped."""
    return Clip(low, high)(x)


def max(x, axis=None, keepdims=False):  # noqa: A001 - the math name
    return Max(axis, keepdims)(x)


# ---- Activations (through the fused kernels) ------------------------------------------------------

class ReLU(Function):
    def forward(self, x):
        self.y = kernels.relu(x)
        return self.y

    def backward(self, g):  # 1 where the output is positive
        return kernels.relu_backward(self.y, g)


class LeakyReLU(Function):
    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        self.x = x
        return kernels.leaky_relu(x, self.slope)

    def backward(self, g): return kernels.leaky_relu_backward(self.x, g, self.slope)


class Sigmoid(Function):
    def forward(self, x):
        self.y = kernels.sigmoid(x)
        return self.y

    def backward(self, g):  # σ' = σ (1 − σ)
        return g * self.y * (1 - self.y)


class Tanh(Function):
    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, g):  # tanh' = 1 − tanh²
        return g * (1 - self.y * self.y)


class Softplus(Function):
    def forward(self, x):
        self.x = x
        xp = get_array_module(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # log(1 + e^x) without overflow

    def backward(self, g):  # softplus' = σ
        return g * kernels.sigmoid(self.x)


def relu(x): return ReLU()(x)
def leaky_relu(x, slope=0.2): return LeakyReLU(slope)(x)
def sigmoid(x): return Sigmoid()(x)
def tanh(x): return Tanh()(x)


def softplus(x):
    """log(1 + exp(x)), stable for large |x|."""
    return Softplus()(x)


# ---- Softmax family (along the last axis by default) ----------------------------------------------

def _logsumexp(x, axis):
    xp = get_array_module(x)
    m = x.max(axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)  # a row of -inf must give -inf, not nan
    return m + xp.log(xp.exp(x - m).sum(axis=axis, keepdims=True))


class LogSumExp(Function):
    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x = x
        self.out = _logsumexp(x, self.axis)
        return self.out if self.keepdims else self.out.squeeze(self.axis)

    def backward(self, g):  # d lse / dx = softmax(x)
        if not self.keepdims:
            g = get_array_module(g).expand_dims(g, self.axis)
        return g * get_array_module(g).exp(self.x - self.out)


class LogSoftmax(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.y = x - _logsumexp(x, self.axis)
        return self.y

    def backward(self, g):
        # BEGIN EXERCISE 3: the backward of log-softmax
        return g - get_array_module(g).exp(self.y) * g.sum(axis=self.axis, keepdims=True)
        # END EXERCISE


class Softmax(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.y = get_array_module(x).exp(x - _logsumexp(x, self.axis))
        return self.y

    def backward(self, g):  # y ⊙ (g − Σ g y)
        return self.y * (g - (g * self.y).sum(axis=self.axis, keepdims=True))


def logsumexp(x, axis=-1, keepdims=False): return LogSumExp(axis, keepdims)(x)
def log_softmax(x, axis=-1): return LogSoftmax(axis)(x)
def softmax(x, axis=-1): return Softmax(axis)(x)


# ---- Linear algebra and joining -------------------------------------------------------------------

def matmul(a, b):
    return as_tensor(a) @ b


class Linear(Function):
    """y = x W + b in one node: x (N, in), W (in, out), b (out,)."""

    def forward(self, x, w, b=None):
        if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
            raise ValueError(f"linear: input of shape {x.shape} does not fit weight of shape {w.shape} "
                             f"(expected (N, {w.shape[0] if w.ndim == 2 else '?'}))")
        self.x, self.w = x, w
        y = x @ w
        if b is not None:
            y += b
        return y

    def backward(self, g):
        # BEGIN EXERCISE 2: the backward of matmul
        gx = g @ self.w.T if self.needs_grad[0] else None
        gw = self.x.T @ g if self.needs_grad[1] else None
        # END EXERCISE
        if len(self.needs_grad) == 2:
            return gx, gw
        return gx, gw, (g.sum(axis=0) if self.needs_grad[2] else None)


def linear(x, weight, bias=None):
    """x @ weight + bias, the paper's row-vector layer (weight of shape (in, out))."""
    return Linear()(x, weight) if bias is None else Linear()(x, weight, bias)


class Concat(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        xp = get_array_module(*xs)
        self.bounds = np.cumsum([x.shape[self.axis] for x in xs])[:-1]
        try:
            return xp.concatenate(xs, axis=self.axis)
        except ValueError:
            raise ValueError(f"concat: shapes {[x.shape for x in xs]} differ outside axis {self.axis}") from None

    def backward(self, g): return tuple(get_array_module(g).split(g, self.bounds, axis=self.axis))


class Stack(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        if len({x.shape for x in xs}) != 1:
            raise ValueError(f"stack: all shapes must be equal, got {[x.shape for x in xs]}")
        return get_array_module(*xs).stack(xs, axis=self.axis)

    def backward(self, g):
        xp = get_array_module(g)
        return tuple(xp.take(g, i, axis=self.axis) for i in range(g.shape[self.axis]))


def concat(tensors, axis=-1): return Concat(axis)(*tensors)
def stack(tensors, axis=0): return Stack(axis)(*tensors)


class Where(Function):
    """cond ? a : b, with cond a boolean array (no gradient)."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return get_array_module(a, b).where(self.cond, a, b)

    def backward(self, g):
        zero = g.dtype.type(0)
        return (unbroadcast(g * self.cond, self.shapes[0]) if self.needs_grad[0] else None,
                unbroadcast(get_array_module(g).where(self.cond, zero, g), self.shapes[1])
                if self.needs_grad[1] else None)


def where(cond, a, b):
    cond = cond.data if isinstance(cond, Tensor) else cond
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    return Where(cond)(as_tensor(a, like), as_tensor(b, like))


def maximum(a, b):
    """Elementwise max; where a == b the gradient goes to a."""
    like = a if isinstance(a, Tensor) else as_tensor(b)
    a, b = as_tensor(a, like), as_tensor(b, like)
    return where(a.data >= b.data, a, b)


# ---- Regularization layers ------------------------------------------------------------------------

class Dropout(Function):
    def __init__(self, mask):
        self.mask = mask

    def forward(self, x): return x * self.mask
    def backward(self, g): return g * self.mask


def dropout(x, p, training, rng):
    """Inverted dropout: zero each unit with probability p and scale the rest by 1/(1−p).

    In eval mode (training=False) it is the identity, so no rescaling is needed at test time."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    x = as_tensor(x)
    if not training or p == 0:
        return x
    keep = rng.random(x.shape) >= p
    return Dropout(like((keep / (1 - p)).astype(x.dtype), x.data))(x)


class BatchNorm(Function):
    """Training-mode batch normalization over axis 0: y = γ (x − μ_B)/sqrt(σ²_B + eps) + β."""

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, gamma, beta):
        xp = get_array_module(x)
        self.mean = x.mean(axis=0)
        self.var = x.var(axis=0)
        self.inv_std = 1 / xp.sqrt(self.var + self.eps)
        self.xhat = (x - self.mean) * self.inv_std
        self.gamma = gamma
        return self.xhat * gamma + beta

    def backward(self, g):
        # BEGIN EXERCISE 5: the backward of batch normalization
        n = g.shape[0]
        gbeta = g.sum(axis=0)
        ggamma = (g * self.xhat).sum(axis=0)
        gxhat = g * self.gamma
        # dx = (1/N) inv_std (N gxhat − Σ gxhat − xhat Σ gxhat·xhat)
        gx = (self.inv_std / n) * (n * gxhat - gxhat.sum(axis=0) - self.xhat * (gxhat * self.xhat).sum(axis=0))
        return gx, ggamma, gbeta
        # END EXERCISE


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalization of x (N, D); running statistics are updated in place while training.

    Training uses the batch's mean and biased variance and moves the running estimates toward them
    (running ← (1 − momentum) running + momentum · batch, with the unbiased variance, as PyTorch does);
    evaluation uses the running estimates, so the layer is then a fixed affine map."""
    x = as_tensor(x)
    if x.ndim != 2:
        raise ValueError(f"batch_norm: expected input of shape (N, D), got {x.shape}")
    if training:
        n = x.shape[0]
        if n < 2:
            raise ValueError("batch_norm: training needs at least 2 examples per batch")
        node = BatchNorm(eps)
        out = node(x, gamma, beta)
        mean, var = node.mean, node.var
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * (n / (n - 1))
        return out
    xp = get_array_module(x.data)
    scale = as_tensor(gamma) * Tensor((1 / xp.sqrt(running_var + eps)).astype(x.dtype))
    return (x - Tensor(running_mean.astype(x.dtype))) * scale + beta


# ---- Losses (all from logits where a probability is involved) -------------------------------------

class MSELoss(Function):
    def forward(self, x, t):
        if x.shape != t.shape:
            raise ValueError(f"mse_loss: prediction shape {x.shape} != target shape {t.shape}")
        self.diff = x - t
        return (self.diff * self.diff).mean()

    def backward(self, g):
        gx = g * (2 / self.diff.size) * self.diff
        return gx, (-gx if self.needs_grad[1] else None)


def mse_loss(prediction, target):
    """mean((prediction − target)²) over all elements."""
    like = prediction if isinstance(prediction, Tensor) else None
    return MSELoss()(prediction, as_tensor(target, like))


class BCEWithLogits(Function):
    def forward(self, z, t):
        if z.shape != t.shape:
            raise ValueError(f"binary_cross_entropy_with_logits: logits shape {z.shape} != "
                             f"target shape {t.shape}")
        self.z, self.t = z, t
        gpu = get_array_module(z) is not np
        return (kernels.bce_with_logits(z, t) if gpu and kernels.FUSED else bce_elementwise(z, t)).mean()

    def backward(self, g):
        gz = kernels.bce_with_logits_backward(self.z, self.t, g / self.z.size)
        gt = -(g / self.z.size) * self.z if self.needs_grad[1] else None  # d/dt of −z·t
        return gz, gt


def bce_elementwise(z, t):
    """−[t log σ(z) + (1 − t) log(1 − σ(z))] of arrays, elementwise, stable for any z (docs/functional.md)."""
    xp = get_array_module(z)
    # BEGIN EXERCISE 4: binary cross-entropy from logits, stable for any z
    return xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))
    # END EXERCISE


def binary_cross_entropy_with_logits(logits, targets):
    """mean over elements of −[t log σ(z) + (1 − t) log(1 − σ(z))], computed from the logits z; written so
    that it never takes the log of 0 or the exp of a large number (bce_elementwise, docs/functional.md)."""
    z = as_tensor(logits)
    if np.isscalar(targets):
        targets = get_array_module(z.data).full(z.shape, targets, dtype=z.dtype)
    return BCEWithLogits()(z, as_tensor(targets, z))


class CrossEntropy(Function):
    def __init__(self, labels):
        self.labels = labels

    def forward(self, z):
        xp = get_array_module(z)
        self.logp = z - _logsumexp(z, axis=1)
        self.rows = xp.arange(z.shape[0])
        return -self.logp[self.rows, self.labels].mean()

    def backward(self, g):  # (softmax − onehot) / N
        xp = get_array_module(g)
        grad = xp.exp(self.logp)
        grad[self.rows, self.labels] -= 1
        return grad * (g / self.logp.shape[0])


def cross_entropy(logits, labels):
    """mean over the batch of −log softmax(logits)[label]; logits (N, C), labels (N,) integers."""
    z = as_tensor(logits)
    labels = labels.data if isinstance(labels, Tensor) else labels
    xp = get_array_module(z.data)
    labels = xp.asarray(labels)
    if z.ndim != 2 or labels.shape != (z.shape[0],):
        raise ValueError(f"cross_entropy: expected logits (N, C) and labels (N,), got {z.shape} and {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= z.shape[1]):
        raise ValueError(f"cross_entropy: labels must lie in [0, {z.shape[1]}), got [{labels.min()}, {labels.max()}]")
    return CrossEntropy(labels)(z)


def one_hot(labels, n_classes, dtype=np.float32):
    """Integer labels (N,) -> a constant one-hot array (N, n_classes)."""
    xp = get_array_module(labels)
    labels = xp.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {n_classes}), got [{labels.min()}, {labels.max()}]")
    out = xp.zeros((labels.shape[0], n_classes), dtype=dtype)
    out[xp.arange(labels.shape[0]), labels] = 1
    return out


# ---- The Gaussian posterior (docs/paper.md §2, encoder 2; the VAE of §2 "Relation to the VAE") ----

class GaussianSample(Function):
    def __init__(self, eps):
        self.eps = eps

    def forward(self, mu, logvar):
        if mu.shape != logvar.shape or mu.shape != self.eps.shape:
            raise ValueError(f"gaussian_sample: mu {mu.shape}, logvar {logvar.shape} and noise "
                             f"{self.eps.shape} must have one shape")
        self.logvar = logvar
        return kernels.gaussian_sample(mu, logvar, self.eps)

    def backward(self, g): return kernels.gaussian_sample_backward(self.logvar, self.eps, g)


def gaussian_sample(mu, logvar, rng):
    """The reparametrization trick: z = μ + σ ⊙ ε with σ = exp(logvar / 2), ε ~ N(0, I) from `rng`.

    The noise is an input, not a function of the parameters, so gradients flow to μ and logvar."""
    mu = as_tensor(mu)
    eps = like(rng.standard_normal(mu.shape, dtype=mu.dtype), mu.data)
    return GaussianSample(eps)(mu, as_tensor(logvar, mu))


def gaussian_kl(mu, logvar, prior_std=1.0):
    """KL(N(μ, σ²) ‖ N(0, s² I)) summed over dimensions, averaged over the batch (closed form).

    KL = ½ Σ [ (σ² + μ²)/s² − 1 − log σ² + log s² ]; built from differentiable pieces."""
    s2 = prior_std**2
    mu, logvar = as_tensor(mu), as_tensor(logvar)
    per_dim = (exp(logvar) + mu * mu) * (1 / s2) - 1 - logvar + math.log(s2)
    return per_dim.sum(axis=1).mean() * 0.5
