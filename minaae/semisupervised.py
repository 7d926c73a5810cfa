"""AAEs with a categorical code: semi-supervised classification, clustering, dimensionality reduction
(PAPER.md §4 rows 5–7). Split from aae.py because these models have two codes and two discriminators.

The encoder has two heads on one trunk: q(y|x), a softmax over `n_classes`, and q(z|x), a linear
"style" code. The decoder reconstructs x from [y, z]. Two discriminators regularize the heads: one
imposes the categorical prior Cat(n_classes) on y, one the Gaussian N(0, I) on z. So y is pushed toward
one-hot vectors carrying the class, and z toward a class-free style. Per mini-batch (PAPER.md §4):

1. reconstruction phase (an unlabeled batch): encoder + decoder;
2. regularization phase: both discriminators, then the encoder as their generator;
3. classification phase (a labeled batch; none for clustering): cross-entropy of q(y|x).
"""

import numpy as np

from . import functional as F
from . import nn, priors
from .aae import batched, discriminator_step, frozen, generator_loss, reconstruction_loss
from .autograd import Tensor, no_grad
from .backend import as_numpy, get_array_module, like, to_device


class CategoricalAAE(nn.Module):
    """The semi-supervised / clustering AAE of PAPER.md §4 rows 5–6.

    x (N, data_dim) -> trunk -> y logits (N, n_classes), z (N, style_dim); decoder [softmax(y), z] -> x.
    input_noise: std of Gaussian noise on the encoder's input in training (PAPER.md §5: 0.3);
    input_dropout / batch_norm: the clustering settings of PAPER.md §5 (input dropout 0.2, batch
    normalization in the encoder only — never in a discriminator, PAPER.md §7).
    joint_discriminator (our addition, not in the paper; docs/variants.md): D_gauss judges the pair
    [z, y] against [N(0, I) sample, independent Cat sample], so q(z, y) is matched to p(z) p(y) and z
    cannot carry the class. The paper's D_gauss sees z alone.
    output_batch_norm: batch normalization on the encoder's two outputs — the cluster logits before the
    softmax, and the style code (a recipe of two public reimplementations of the clustering model, not
    stated in the paper; docs/variants.md). A logit layer whose batch statistics are pinned cannot push
    one cluster's logit far above the rest for every image, so clusters stay alive and q(y|x) stays soft.
    d_input_noise: std of Gaussian noise on both discriminators' inputs in training, real and fake alike
    (PAPER.md §7: reported to stabilize D; 0, the paper's model, by default). D_cat can then no longer tell
    an exact one-hot from a nearly one-hot softmax, so the encoder is not pushed to saturate q(y|x) — a
    saturated softmax passes no gradient that could move an image to another (or a dead) cluster.
    """

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
        self.decoder = nn.mlp([n_classes + style_dim, *hidden[::-1], data_dim], rng=rng, init=init)

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

    def decode(self, y, z):
        """Pixel logits from a class vector y (N, n_classes) and a style z (N, style_dim)."""
        return self.decoder(F.concat([y, z], axis=1))

    def decoder_parameters(self):
        return _named("decoder", self.decoder)

    def extra_cost(self):
        """A cost added to the reconstruction phase (none here; the cluster-head penalty below)."""
        return 0.0

    def encoder_parameters(self):
        heads = ("y_head", "z_head", "y_norm", "z_norm") if self.output_batch_norm else ("y_head", "z_head")
        return [(f"{m}.{n}", p) for m in ("trunk", *heads) for n, p in getattr(self, m).named_parameters()]

    def classifier_parameters(self):
        heads = ("y_head", "y_norm") if self.output_batch_norm else ("y_head",)
        return [(f"{m}.{n}", p) for m in ("trunk", *heads) for n, p in getattr(self, m).named_parameters()]


class DimReductionAAE(CategoricalAAE):
    """Dimensionality reduction (PAPER.md §4 row 7): the representation is W_Cᵀ y + z.

    The class head y (one of m clusters) selects a learned cluster head, a row of W_C (m, n), and the
    n-D style z places the image around it; the decoder reconstructs x from that n-D representation.
    The penalty max(0, η − ‖W_C[i] − W_C[j]‖) for every pair of heads keeps the heads apart.
    """

    def __init__(self, rng, n_clusters=10, dim=2, eta=None, init="normal", **kw):
        super().__init__(rng, n_classes=n_clusters, style_dim=dim, init=init, **kw)
        hidden = [layer.out_features for layer in self.decoder if isinstance(layer, nn.Linear)][:-1]
        self.decoder = nn.mlp([dim, *hidden, kw.get("data_dim", 784)], rng=rng, init=init)
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

    def decode(self, y, z):
        return self.decoder(self.represent(y, z))

    def extra_cost(self):
        return cluster_head_penalty(self.heads, self.eta)

    def decoder_parameters(self):
        return [*_named("decoder", self.decoder), ("heads", self.heads)]


def cluster_head_penalty(heads, eta):
    """Σ over pairs i < j of max(0, η − ‖W_C[i] − W_C[j]‖): heads closer than η are pushed apart."""
    # BEGIN EXERCISE 10: the cluster-head penalty
    m = heads.shape[0]
    diff = heads.reshape(m, 1, -1) - heads.reshape(1, m, -1)  # (m, m, n)
    i, j = np.triu_indices(m, 1)
    dist = F.sqrt((diff * diff).sum(axis=2)[i, j] + 1e-12)
    return F.relu(eta - dist).sum()
    # END EXERCISE


# ---------------------------------------------------------------------------------------------------
# The three phases
# ---------------------------------------------------------------------------------------------------


def reconstruction_step(model, x, opt):
    """Phase 1: x -> (softmax y, z) -> x̂ ; update encoder and decoder. Returns L_rec."""
    opt.zero_grad()
    y_logits, z = model.encode(x)
    loss = reconstruction_loss(model.decode(F.softmax(y_logits), z), x) + model.extra_cost()
    loss.backward()
    opt.step()
    return loss.item()


def regularization_step(model, x, rng, opts):
    """Phase 2: D_cat learns Cat(n) samples vs softmax(y); D_gauss learns N(0, I) vs z (with
    `joint_discriminator`: [N(0, I), Cat(n)] vs [z, y], the Cat sample drawn independently of D_cat's);
    then the encoder learns to fool both. One encoder pass serves the three updates (the encoder is
    unchanged until the last one). Returns the losses and D's mean confidences."""
    n = len(x)
    y_logits, z = model.encode(x)
    y = F.softmax(y_logits)
    y_prior = like(priors.Categorical(model.n_classes).sample(n, rng), _raw(x))
    # D_gauss's real and fake inputs: N(0, I) vs z, or with `joint_discriminator` [N(0, I), Cat] vs [z, y]
    gauss_real, gauss_fake = priors.Gaussian(model.style_dim).sample(n, rng), z
    if model.joint_discriminator:
        y_free = priors.Categorical(model.n_classes).sample(n, rng)  # independent of gauss_real and y_prior
        gauss_real = get_array_module(gauss_real).concatenate([gauss_real, like(y_free, gauss_real)], axis=1)
        gauss_fake = F.concat([z, y], axis=1)
    gauss_real = like(gauss_real, _raw(x))
    dc, dc_real, dc_fake = discriminator_step(model.d_cat, y.detach(), y_prior, opts["d_cat"])
    dg, dg_real, dg_fake = discriminator_step(model.d_gauss, gauss_fake.detach(), gauss_real, opts["d_gauss"])
    opts["generator"].zero_grad()
    with frozen(model.d_cat), frozen(model.d_gauss):
        loss = generator_loss(model.d_cat(y)) + generator_loss(model.d_gauss(gauss_fake))
    loss.backward()
    opts["generator"].step()
    return {"d_cat": dc, "d_gauss": dg, "g": loss.item(), "dc_real": dc_real, "dc_fake": dc_fake,
            "dg_real": dg_real, "dg_fake": dg_fake}


def classification_step(model, x, labels, opt):
    """Phase 3 (semi-supervised only): cross-entropy of q(y|x) on a labeled batch."""
    opt.zero_grad()
    y_logits, _ = model.encode(x)
    loss = F.cross_entropy(y_logits, labels)
    loss.backward()
    opt.step()
    return loss.item()


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def train_step(model, x, rng, opts, labeled=None):
    """One mini-batch: reconstruction, regularization, and (when `labeled` = (x_l, y_l)) classification."""
    stats = {"rec": reconstruction_step(model, x, opts["reconstruction"])}
    stats.update(regularization_step(model, x, rng, opts))
    if labeled is not None:
        stats["ce"] = classification_step(model, *labeled, opts["classification"])
    return stats


def make_optimizers(model, preset="sgd", adam_lr=1e-4):
    """One optimizer per phase.

    "sgd": the paper's settings (PAPER.md §5): SGD, momentum 0.9 for reconstruction and classification,
    0.1 for the adversarial networks; learning rates 0.01 (reconstruction), 0.1 (classification),
    0.1 (adversarial), to be divided by 10 at epoch 50 and at 1000 (see `paper_schedules`).
    "adam": Adam with lr `adam_lr` (1e-4) and β1 = 0.1 for every phase (PAPER.md §7, a preset that
    worked for others).
    """
    from . import optim

    groups = {
        "reconstruction": [*model.encoder_parameters(), *model.decoder_parameters()],
        "d_cat": _named("d_cat", model.d_cat),
        "d_gauss": _named("d_gauss", model.d_gauss),
        "generator": model.encoder_parameters(),
        "classification": model.classifier_parameters(),
    }
    if preset == "adam":
        return {k: optim.Adam(p, lr=adam_lr, betas=(0.1, 0.999)) for k, p in groups.items()}
    if preset != "sgd":
        raise ValueError(f"unknown optimizer preset {preset!r}; expected 'sgd' or 'adam'")
    lr = {"reconstruction": 0.01, "d_cat": 0.1, "d_gauss": 0.1, "generator": 0.1, "classification": 0.1}
    momentum = {"reconstruction": 0.9, "d_cat": 0.1, "d_gauss": 0.1, "generator": 0.1, "classification": 0.9}
    return {k: optim.SGD(p, lr=lr[k], momentum=momentum[k]) for k, p in groups.items()}


def paper_schedules(opts, milestones=(50, 1000)):
    """Step decays (the paper's by default): every learning rate ÷10 at each milestone epoch; none for no
    milestones."""
    from . import optim

    return [optim.MultiStepLR(opt, milestones, gamma=0.1) for opt in opts.values()] if milestones else []


def _named(prefix, module):
    return [(f"{prefix}.{name}", p) for name, p in module.named_parameters()]


# ---------------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------------


def class_probabilities(model, x, batch_size=1000):
    """q(y|x) in eval mode, (N, n_classes) as a plain array."""
    model.eval()
    return batched(model, lambda c: F.softmax(model.encode(c)[0]), x, batch_size)


def representations(model, x, batch_size=1000):
    """The n-D representation W_Cᵀ y + z of a DimReductionAAE in eval mode, (N, n)."""
    model.eval()

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
