"""AAEs with a categorical code: semi-supervised classification, clustering, dimensionality reduction
(docs/paper.md §4.5–§4.7). Split from aae.py because these models have two codes and two discriminators.

The encoder has two heads on one trunk: q(y|x), a softmax over `n_classes`, and q(z|x), a linear
"style" code. The decoder reconstructs x from [y, z]. Two discriminators regularize the heads: one
imposes the categorical prior Cat(n_classes) on y, one the Gaussian N(0, I) on z. So y is pushed toward
one-hot vectors carrying the class, and z toward a class-free style. Per mini-batch (docs/paper.md §4) the
phases of aae.py run, then (semi-supervised only) the classification phase on a labeled batch: `train_step`.
"""

import numpy as np

from . import aae, nn, priors
from . import functional as F
from .aae import PhaseModel, Regularizer, batched
from .autograd import Tensor, _raw, no_grad
from .backend import as_numpy, get_array_module, like, to_device


class CategoricalAAE(PhaseModel):
    """The semi-supervised / clustering AAE of docs/paper.md §4.5–§4.6.

    x (N, data_dim) -> trunk -> y logits (N, n_classes), z (N, style_dim); decoder [softmax(y), z] -> x.
    input_noise: std of Gaussian noise on the encoder's input in training (docs/paper.md §5: 0.3);
    input_dropout / batch_norm: the clustering settings of docs/paper.md §5 (input dropout 0.2, batch
    normalization in the encoder only — never in a discriminator, docs/paper.md §7).
    joint_discriminator (ours, not the paper's; docs/variants.md): D_gauss judges [z, y] against [N(0, I),
    independent Cat] samples, so q(z, y) is matched to p(z) p(y) and z cannot carry the class.
    output_batch_norm: batch normalization on the cluster logits and the style code (a recipe of two public
    reimplementations, not stated in the paper; docs/variants.md): logits whose batch statistics are pinned
    cannot push one cluster above the rest for every image, so clusters stay alive and q(y|x) stays soft.
    d_input_noise: std of Gaussian noise on both discriminators' inputs in training (docs/paper.md §7; 0, the
    paper's model, by default). D_cat can then not tell a one-hot from a nearly one-hot softmax, so the
    encoder is not pushed to saturate q(y|x), whose gradient could then no longer move an image's cluster."""

    encoder_modules = ("trunk", "y_head", "z_head", "y_norm", "z_norm")  # the norms only with output_batch_norm
    decoder_modules, discriminators = ("decoder",), ("d_cat", "d_gauss")
    classifier_modules = ("trunk", "y_head", "y_norm")

    def __init__(self, rng, data_dim=784, n_classes=10, style_dim=10, hidden=(1000, 1000),
                 d_hidden=(1000, 1000), input_noise=0.3, input_dropout=0.0, batch_norm=False, init="normal",
                 joint_discriminator=False, d_input_noise=0.0, output_batch_norm=False):
        super().__init__()
        self.n_classes, self.style_dim = n_classes, style_dim
        self.joint_discriminator = joint_discriminator
        layers = [nn.GaussianNoise(input_noise, rng)] if input_noise else []
        if input_dropout:
            layers.append(nn.Dropout(input_dropout, rng))
        width = data_dim
        for h in hidden:
            layers.append(nn.Linear(width, h, rng=rng, init=init))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU())
            width = h
        self.trunk = nn.Sequential(*layers)
        self.y_head = nn.Linear(width, n_classes, rng=rng, init=init)
        self.z_head = nn.Linear(width, style_dim, rng=rng, init=init)
        self.output_batch_norm = output_batch_norm
        if output_batch_norm:  # no random draws: the weights are those of the model without it
            self.y_norm, self.z_norm = nn.BatchNorm1d(n_classes), nn.BatchNorm1d(style_dim)
        self.decoder = nn.mlp([self.decoder_input(n_classes, style_dim), *hidden[::-1], data_dim], rng=rng, init=init)

        def discriminator(width):
            net = nn.mlp([width, *d_hidden, 1], rng=rng, init=init)
            return nn.Sequential(nn.GaussianNoise(d_input_noise, rng), *net) if d_input_noise else net

        self.d_cat = discriminator(n_classes)
        self.d_gauss = discriminator(style_dim + (n_classes if joint_discriminator else 0))

    def encode(self, x):
        """(y logits (N, n_classes), z (N, style_dim))."""
        h = self.trunk(x)
        if self.output_batch_norm:
            return self.y_norm(self.y_head(h)), self.z_norm(self.z_head(h))
        return self.y_head(h), self.z_head(h)

    def decoder_input(self, n_classes, style_dim):  # the decoder reads [y, z]
        return n_classes + style_dim

    def decode(self, y, z):
        """Pixel logits from a class vector y (N, n_classes) and a style z (N, style_dim)."""
        return self.decoder(F.concat([y, z], axis=1))

    def reconstruction_logits(self, x, labels=None):
        """x -> (softmax y, z) -> pixel logits of x̂."""
        y_logits, z = self.encode(x)
        return self.decode(F.softmax(y_logits), z)

    def regularizers(self, x, rng, drawn=None, labels=None):
        """D_cat: Cat(n) samples vs softmax(y); D_gauss: N(0, I) vs z (with `joint_discriminator`:
        [N(0, I), Cat(n)] vs [z, y], the Cat sample drawn independently of D_cat's)."""
        n = len(x)
        y_logits, z = self.encode(x)
        y = F.softmax(y_logits)
        y_prior = like(priors.Categorical(self.n_classes).sample(n, rng), _raw(x))
        gauss_real, gauss_fake = priors.Gaussian(self.style_dim).sample(n, rng), z
        if self.joint_discriminator:
            y_free = priors.Categorical(self.n_classes).sample(n, rng)  # independent of gauss_real and y_prior
            gauss_real = get_array_module(gauss_real).concatenate([gauss_real, like(y_free, gauss_real)], axis=1)
            gauss_fake = F.concat([z, y], axis=1)
        return [Regularizer("d_cat", "d_cat", "dc", self.d_cat, y_prior, y),
                Regularizer("d_gauss", "d_gauss", "dg", self.d_gauss, like(gauss_real, _raw(x)), gauss_fake)]


class DimReductionAAE(CategoricalAAE):
    """Dimensionality reduction (docs/paper.md §4.7): the representation is W_Cᵀ y + z.

    The class head y (one of m clusters) selects a learned cluster head, a row of W_C (m, n), and the
    n-D style z places the image around it; the decoder reconstructs x from that n-D representation.
    The penalty max(0, η − ‖W_C[i] − W_C[j]‖) for every pair of heads keeps the heads apart."""

    decoder_modules = ("decoder", "heads")

    def __init__(self, rng, n_clusters=10, dim=2, eta=None, init="normal", **kw):
        super().__init__(rng, n_classes=n_clusters, style_dim=dim, init=init, **kw)
        self.eta = 6.0 if eta is None else eta
        # the heads start on a circle whose neighbours are 1.05 η apart: the penalty starts at zero
        angles = 2 * np.pi * np.arange(n_clusters) / n_clusters
        radius = 1.05 * self.eta / (2 * np.sin(np.pi / n_clusters)) if n_clusters > 1 else 0.0
        heads = np.zeros((n_clusters, dim), np.float32)
        heads[:, 0], heads[:, 1 % dim] = radius * np.cos(angles), radius * np.sin(angles)
        self.heads = nn.Parameter(heads)

    def represent(self, y, z):
        """W_Cᵀ y + z: (N, m) @ (m, n) + (N, n)."""
        return y @ self.heads + z

    def decoder_input(self, n_classes, style_dim):  # the decoder reads the n-D representation alone
        return style_dim

    def decode(self, y, z): return self.decoder(self.represent(y, z))
    def extra_cost(self): return cluster_head_penalty(self.heads, self.eta)


def cluster_head_penalty(heads, eta):
    """Σ over pairs i < j of max(0, η − ‖W_C[i] − W_C[j]‖): heads closer than η are pushed apart."""
    # BEGIN EXERCISE 10: the cluster-head penalty
    m = heads.shape[0]
    diff = heads.reshape(m, 1, -1) - heads.reshape(1, m, -1)  # (m, m, n)
    i, j = np.triu_indices(m, 1)
    dist = F.sqrt((diff * diff).sum(axis=2)[i, j] + 1e-12)
    return F.relu(eta - dist).sum()
    # END EXERCISE


# ---- The classification phase, and the optimizers' settings ---------------------------------------

def classification_step(model, x, labels, opt):
    """Phase 3 (semi-supervised only): cross-entropy of q(y|x) on a labeled batch."""
    opt.zero_grad()
    loss = F.cross_entropy(model.encode(x)[0], labels)
    loss.backward()
    opt.step()
    return loss.item()


def train_step(model, x, rng, opts, labeled=None):
    """One mini-batch: reconstruction and regularization (`aae.train_step`), then classification of `labeled`."""
    stats = aae.train_step(model, x, None, rng, opts)
    if labeled is not None:
        stats["ce"] = classification_step(model, *labeled, opts["classification"])
    return stats


# The paper's SGD (docs/paper.md §5), for aae.make_optimizers(model, **PAPER_SGD): momentum 0.9 for reconstruction and
# classification, 0.1 for the adversarial networks; lr 0.01 (reconstruction), 0.1 (the rest), ÷10 at epochs 50
# and 1000 (aae.step_decays). Or Adam, lr 1e-4 and β1 = 0.1 for every phase (docs/paper.md §7: worked for others).
PAPER_SGD = {"optimizer": "sgd",
             "lr": {"reconstruction": 0.01, "d_cat": 0.1, "d_gauss": 0.1, "generator": 0.1, "classification": 0.1},
             "momentum": {"reconstruction": 0.9, "d_cat": 0.1, "d_gauss": 0.1, "generator": 0.1,
                          "classification": 0.9}}


# ---- Evaluation -----------------------------------------------------------------------------------

def class_probabilities(model, x, batch_size=1000):
    """q(y|x) in eval mode, (N, n_classes) as a plain array; the model's mode is left as it was."""
    return batched(model, lambda c: F.softmax(model.encode(c)[0]), x, batch_size)


def class_log_probabilities(model, x, batch_size=1000):
    """log q(y|x) in float64 from the logits, without ties: float32 q rounds to exactly 1 for hundreds of
    images per cluster, and an argmax over a column (the paper's clustering rule) would pick the first."""
    logits = batched(model, lambda c: model.encode(c)[0], x, batch_size).astype(np.float64)
    top = logits.max(1, keepdims=True)
    rest = np.where(logits == top, 0.0, np.exp(logits - top)).sum(1, keepdims=True)  # Σ over the smaller logits
    return logits - top - np.log1p(rest)


def representations(model, x, batch_size=1000):
    """The n-D representation W_Cᵀ y + z of a DimReductionAAE in eval mode, (N, n)."""

    def represent(chunk):
        y_logits, z = model.encode(chunk)
        return model.represent(F.softmax(y_logits), z)

    return batched(model, represent, x, batch_size)


def decode_heads(model, z=None):
    """Each cluster's head: decode the one-hot y_k with style z (zero by default), (n_classes, data_dim)."""
    eye = np.eye(model.n_classes, dtype=np.float32)
    z = np.zeros((model.n_classes, model.style_dim), np.float32) if z is None else z
    with no_grad():
        return as_numpy(F.sigmoid(model.decode(Tensor(to_device(eye, model.device)),
                                               Tensor(to_device(z, model.device)))).data)
