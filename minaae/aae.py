"""Adversarial autoencoders (docs/paper.md §1–§3): the networks and the phase updates.

An autoencoder (encoder q(z|x), decoder p(x|z)) is trained on two objectives at once:
1. reconstruction: the decoder reproduces x from z = enc(x);
2. adversarial regularization: a discriminator D learns to tell prior samples z ~ p(z) ("real", target 1)
   from codes z = enc(x) ("fake", target 0), and the encoder, as the GAN's generator, learns to fool it.
   This drives the aggregated posterior q(z) = ∫ q(z|x) p_d(x) dx toward p(z).

Each mini-batch runs the phases of §3, each with its own optimizer and touching only its own networks:
`reconstruction_step` (encoder + decoder), `discriminator_step` (each D), `generator_step` (encoder); they
serve every variant through one interface, `PhaseModel`. REAL = 1 for prior samples, FAKE = 0 for codes.
"""

import contextlib
from collections import namedtuple

import numpy as np

from . import functional as F
from . import nn, optim
from .autograd import Tensor, _raw, no_grad
from .backend import as_numpy, device_of, like, to_device

REAL, FAKE = 1.0, 0.0


# ---- Encoders: the three choices of q(z|x) in docs/paper.md §2 ------------------------------------

class DeterministicEncoder(nn.Module):
    """z = f(x): an MLP. All of the paper's reported results use this encoder."""

    def __init__(self, sizes, rng, init="normal"):
        super().__init__()
        self.net = nn.mlp(sizes, rng=rng, init=init)

    def forward(self, x): return self.net(x)


class GaussianEncoder(nn.Module):
    """z = μ(x) + σ(x) ⊙ ε, ε ~ N(0, I): the reparametrization trick (docs/paper.md §2, encoder 2). The trunk
    outputs 2·dim numbers: μ and log σ². In eval mode z = μ(x) (the posterior mean)."""

    def __init__(self, sizes, rng, init="normal"):
        super().__init__()
        *trunk, self.dim = sizes
        self.net = nn.mlp([*trunk, 2 * self.dim], rng=rng, init=init)
        self.rng = rng

    def posterior(self, x):
        """(μ, log σ²), each (N, dim)."""
        h = self.net(x)
        return h[:, : self.dim], h[:, self.dim :]

    def forward(self, x):
        mu, logvar = self.posterior(x)
        return F.gaussian_sample(mu, logvar, self.rng) if self.training else mu


class UniversalEncoder(nn.Module):
    """z = f(x, η), η ~ N(0, I) fed as an extra input (docs/paper.md §2, encoder 3): q(z|x) = ∫ q(z|x, η) p(η) dη
    can then be any distribution, stochastic without a parametric form. In eval mode η = 0."""

    def __init__(self, sizes, rng, noise_dim=None, init="normal"):
        super().__init__()
        self.noise_dim = noise_dim or sizes[-1]
        self.net = nn.mlp([sizes[0] + self.noise_dim, *sizes[1:]], rng=rng, init=init)
        self.rng = rng

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        shape = (x.shape[0], self.noise_dim)
        eta = self.rng.standard_normal(shape, dtype=x.dtype) if self.training else np.zeros(shape, x.dtype)
        return self.net(F.concat([x, Tensor(like(eta, x.data))], axis=1))


ENCODERS = {"deterministic": DeterministicEncoder, "gaussian": GaussianEncoder, "universal": UniversalEncoder}


# ---- The phase interface every variant speaks, and the AAE ----------------------------------------

# One adversarial regularizer: the discriminator `name` (an attribute of the model, and its optimizer's key),
# `discriminate` (D's input -> logits), D's inputs for prior samples `real` and for codes `fake` (still in the
# encoder's graph), any label beside them. Its log keys: `loss`, and `prob`_real / `prob`_fake for D's means.
Regularizer = namedtuple("Regularizer", "name loss prob discriminate real fake")


class PhaseModel(nn.Module):
    """The interface of the phase updates below; each variant is a declaration on it (docs/extend.md).

    A variant names its top-level modules by role: `encoder_modules` (moved by reconstruction and generator),
    `decoder_modules` (reconstruction), `discriminators` (a phase each), `classifier_modules` (classification,
    if any); defines `reconstruction_logits(x, labels)` and `regularizers(x, rng, drawn, labels)`; and may
    add `extra_cost()` to L_rec and draw before reconstruction in `prior_batch` (the `drawn` of regularizers)."""

    encoder_modules, decoder_modules, discriminators, classifier_modules = (), (), (), ()

    def named(self, *modules):
        """(name, Parameter) pairs of the given top-level modules, in registration order."""
        return [(n, p) for n, p in self.named_parameters() if n.split(".")[0] in modules]

    def parameter_groups(self):
        """The parameters each phase's optimizer moves, by phase name (docs/paper.md §3)."""
        groups = {"reconstruction": self.named(*self.encoder_modules, *self.decoder_modules)}
        groups.update({name: self.named(name) for name in self.discriminators})
        groups["generator"] = self.named(*self.encoder_modules)
        if self.classifier_modules:
            groups["classification"] = self.named(*self.classifier_modules)
        return groups

    def extra_cost(self):  # a cost added to L_rec (none by default)
        return 0.0

    def prior_batch(self, prior, n, rng, labels=None):  # draws made before reconstruction (none by default)
        return None


class AAE(PhaseModel):
    """Encoder, decoder (logits of the pixels) and discriminator (one logit) on the code space.

    dims: data_dim -> hidden... -> latent_dim for the encoder, the reverse for the decoder, and latent_dim
    (+ label classes, docs/paper.md §4.2) -> hidden... -> 1 for the discriminator. `d_label_classes` > 0: D also
    reads a one-hot of that many classes (the last means "unlabeled"). `decoder_classes` > 0: the supervised
    AAE of docs/paper.md §4, whose decoder reads the one-hot label beside z, leaving z to carry the style alone."""

    encoder_modules, decoder_modules, discriminators = ("encoder",), ("decoder",), ("discriminator",)

    def __init__(self, data_dim=784, latent_dim=2, hidden=(1000, 1000), encoder="deterministic",
                 d_hidden=None, d_label_classes=0, decoder_classes=0, rng=None, init="normal"):
        super().__init__()
        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r}; expected one of {sorted(ENCODERS)}")
        rng = np.random.default_rng(0) if rng is None else rng
        hidden, d_hidden = list(hidden), list(hidden if d_hidden is None else d_hidden)
        self.latent_dim, self.d_label_classes, self.decoder_classes = latent_dim, d_label_classes, decoder_classes
        self.encoder = ENCODERS[encoder]([data_dim, *hidden, latent_dim], rng=rng, init=init)
        self.decoder = nn.mlp([latent_dim + decoder_classes, *hidden[::-1], data_dim], rng=rng, init=init)
        self.discriminator = nn.mlp([latent_dim + d_label_classes, *d_hidden, 1], rng=rng, init=init)

    def decode(self, z, labels=None):
        """Pixel logits of z (and, for the supervised AAE, the integer labels), (N, data_dim)."""
        z = z if isinstance(z, Tensor) else to_device(z, self.device)
        if self.decoder_classes:
            if labels is None:
                raise ValueError(f"this decoder reads a label of {self.decoder_classes} classes beside z")
            z = F.concat([z, Tensor(like(F.one_hot(as_numpy(labels), self.decoder_classes), _raw(z)))], axis=1)
        return self.decoder(z)

    def reconstruction_logits(self, x, labels=None): return self.decode(self.encoder(x), labels)

    def reconstruct(self, x, labels=None):
        """Pixel probabilities of dec(enc(x)), (N, data_dim)."""
        return F.sigmoid(self.reconstruction_logits(x if isinstance(x, Tensor) else to_device(x, self.device), labels))

    def generate(self, z, labels=None):
        """Decode prior samples: the AAE as a generative model, (N, data_dim) in [0, 1]."""
        return F.sigmoid(self.decode(z, labels))

    def discriminate(self, z, labels_onehot=None):
        """D's logit that z came from the prior, (N, 1)."""
        if self.d_label_classes:
            if labels_onehot is None:
                raise ValueError(f"this discriminator reads a one-hot label of {self.d_label_classes} classes")
            onehot = labels_onehot.astype(z.dtype if isinstance(z, Tensor) else np.float32)
            z = F.concat([z, Tensor(like(onehot, _raw(z)))], axis=1)
        return self.discriminator(z)

    def prior_batch(self, prior, n, rng, labels=None):
        """D's one-hot label input (with a label-aware D) and n prior samples, drawn before reconstruction.
        A prior without classes (the Gaussian) ignores the labels: D then sees (z, y) pairs in which z is
        independent of y, and the encoder is pushed to keep the label out of z (docs/variants.md)."""
        onehot, prior_labels = None, None
        if self.d_label_classes:
            onehot, prior_labels = label_inputs(labels, self.d_label_classes, rng)
            if prior.n_classes is None:  # one prior for every label: D then learns to match q(z, y) to p(z) p(y)
                prior_labels = None
        return onehot, prior.sample(n, rng=rng, labels=prior_labels)

    def regularizers(self, x, rng, drawn, labels=None):
        onehot, z_prior = drawn
        real, fake = Tensor(to_device(z_prior, device_of(_raw(x)))), self.encoder(x)
        if self.d_label_classes:  # a label-aware D reads the one-hot label beside z, on both sides
            label = Tensor(like(onehot.astype(fake.dtype), _raw(fake)))
            real, fake = F.concat([real, label], axis=1), F.concat([fake, label], axis=1)
        return [Regularizer("discriminator", "d", "d", self.discriminator, real.data, fake)]


def make_optimizers(model, optimizer="adam", lr=1e-3, d_lr=None, beta1=0.5, momentum=0.9):
    """One optimizer per phase of `model.parameter_groups()` (docs/paper.md §3).

    lr: the autoencoder's phases; d_lr (default lr): the discriminators'. lr and momentum may also be
    dicts phase -> value (the paper's SGD settings, `semisupervised.PAPER_SGD`)."""
    def make(phase, params):
        rate = lr[phase] if isinstance(lr, dict) else d_lr if d_lr and phase in model.discriminators else lr
        if optimizer == "adam":
            return optim.Adam(params, lr=rate, betas=(beta1, 0.999))
        if optimizer == "sgd":
            return optim.SGD(params, lr=rate, momentum=momentum[phase] if isinstance(momentum, dict) else momentum)
        raise ValueError(f"unknown optimizer {optimizer!r}; expected 'adam' or 'sgd'")

    return {phase: make(phase, params) for phase, params in model.parameter_groups().items()}


def step_decays(opts, milestones=(50, 1000)):
    """Every learning rate ÷10 at each milestone epoch (the paper's by default); none for None or no milestones."""
    return [optim.MultiStepLR(opt, milestones, gamma=0.1) for opt in opts.values()] if milestones else []


@contextlib.contextmanager
def frozen(*modules):
    """Within this block the modules' parameters need no gradient: the graph skips their weight
    gradients (less work), and no optimizer could move them by mistake."""
    params = [p for m in modules for p in m.parameters()]
    for p in params:
        p.requires_grad = False
    try:
        yield
    finally:
        for p in params:
            p.requires_grad = True  # a Parameter always requires grad outside this block


# ---- Losses (docs/paper.md §2, "Losses as implemented") -------------------------------------------

def reconstruction_loss(logits, x):
    """L_rec: binary cross-entropy between the pixels x and the sigmoid decoder output, computed from
    its logits and averaged over pixels and images (a per-pixel scale, so the paper's SGD learning
    rates apply; ×784 gives nats per image)."""
    return F.binary_cross_entropy_with_logits(logits, x)


def discriminator_loss(d_real, d_fake):
    """L_D = −mean log D(z_prior) − mean log(1 − D(enc(x))), from logits (Eq. 1, the max over D)."""
    return F.binary_cross_entropy_with_logits(d_real, REAL) + F.binary_cross_entropy_with_logits(d_fake, FAKE)


def generator_loss(d_fake):
    """L_G = −mean log D(enc(x)): the non-saturating form of Eq. 1's min over the encoder."""
    return F.binary_cross_entropy_with_logits(d_fake, REAL)


# ---- The phases of docs/paper.md §3 ---------------------------------------------------------------

def reconstruction_step(model, x, opt, labels=None):
    """Phase 1: update encoder and decoder to reconstruct x (plus the model's extra cost). Returns the loss."""
    opt.zero_grad()
    loss = reconstruction_loss(model.reconstruction_logits(x, labels), x) + model.extra_cost()
    loss.backward()
    opt.step()
    return loss.item()


def discriminator_step(discriminate, z_fake, z_prior, opt):
    """Phase 2a: update D to tell prior samples (REAL) from codes (FAKE).

    discriminate: z -> logits (the discriminator). z_fake: codes enc(x) cut from the encoder's graph, so this
    step cannot touch the encoder. D judges prior samples and codes stacked in one batch (one matmul a layer).
    Returns (L_D, mean D(prior), mean D(codes)) — the diagnostics of docs/paper.md §7."""
    # BEGIN EXERCISE 8: the discriminator step
    opt.zero_grad()
    d = discriminate(F.concat([Tensor(z_prior), z_fake], axis=0))
    d_real, d_fake = d[: len(z_prior)], d[len(z_prior) :]
    loss = discriminator_loss(d_real, d_fake)
    loss.backward()
    opt.step()
    return loss.item(), _mean_probability(d_real), _mean_probability(d_fake)
    # END EXERCISE


def generator_step(discriminators, regularizers, opt):
    """Phase 2b: update the encoder so that every discriminator takes its codes for prior samples.

    The discriminators are frozen: the loss Σ L_G flows through them to the encoder but their own weights
    get no gradient. Returns Σ L_G."""
    opt.zero_grad()
    with frozen(*discriminators):
        loss = sum(generator_loss(r.discriminate(r.fake)) for r in regularizers)
    loss.backward()
    opt.step()
    return loss.item()


def regularization_step(model, regularizers, opts):
    """Phase 2: each discriminator learns its prior samples against its codes, then the encoder learns to fool
    them all. One encoder pass (the regularizers' codes) serves every update: the encoder does not change
    until the last one. Returns the losses and D's mean confidences."""
    losses, probs = {}, {}
    for r in regularizers:
        losses[r.loss], probs[f"{r.prob}_real"], probs[f"{r.prob}_fake"] = discriminator_step(
            r.discriminate, r.fake.detach(), r.real, opts[r.name])
    losses["g"] = generator_step([getattr(model, r.name) for r in regularizers], regularizers, opts["generator"])
    return {**losses, **probs}


def train_step(model, x, prior, rng, opts, labels=None, generator_steps=1):
    """One mini-batch of the AAE procedure (docs/paper.md §3): reconstruction, then regularization.

    labels: integer labels per example. For label-regularized training (docs/paper.md §4.2) -1 marks an
    unlabeled example; prior samples then come from the labeled component, and D sees the label.
    For the supervised AAE (docs/paper.md §4) the decoder reads them. prior: the AAE's p(z) (None for the
    categorical models, which carry their own). generator_steps: encoder updates against the same D per
    batch, each on fresh codes (docs/paper.md §7: 2 for the swiss roll; the paper's procedure is 1)."""
    if not nn._positive_int(generator_steps):
        raise ValueError(f"train_step: generator_steps must be a positive integer, got {generator_steps!r}")
    drawn = model.prior_batch(prior, len(x), rng, labels)
    stats = {"rec": reconstruction_step(model, x, opts["reconstruction"], labels)}
    stats.update(regularization_step(model, model.regularizers(x, rng, drawn, labels), opts))
    for _ in range(generator_steps - 1):
        regularizers = model.regularizers(x, rng, drawn, labels)
        stats["g"] = generator_step([getattr(model, r.name) for r in regularizers], regularizers, opts["generator"])
    return stats


def discriminator_warning(epoch, d_real, d_fake):
    """A message when D is stuck at chance from the start or pinned at certainty, else None.

    At the game's equilibrium D outputs ½ everywhere, so ½ late in training is success; no difference between
    prior samples and codes after the first epoch means D learned nothing (a wiring or learning-rate problem).
    D sure of every sample leaves the encoder no useful gradient (docs/paper.md §7, diagnostics)."""
    if epoch == 1 and abs(d_real - d_fake) < 0.005:
        return (f"discriminator at chance after the first epoch (mean D(prior)={d_real:.3f}, "
                f"mean D(codes)={d_fake:.3f}): is it learning? check its learning rate")
    if d_real > 0.99 and d_fake < 0.01:
        return (f"discriminator pinned at certainty (mean D(prior)={d_real:.3f}, mean D(codes)={d_fake:.3f}): "
                "the encoder gets little gradient; lower D's learning rate or add input noise")
    return None


def _mean_probability(logits):
    return float(F.sigmoid(logits.detach()).data.mean())


def label_inputs(labels, n_classes_plus_one, rng):
    """The one-hot label input of a label-aware discriminator (docs/paper.md §4.2), and prior labels.

    Fake side: the image's label, or the extra "unlabeled" class (the last one) where labels == -1. Real
    side: the same labels pick the prior's component, so each (code, label) pair D sees has a prior
    counterpart with the same label; an unlabeled example's component is drawn uniformly and D is told
    "unlabeled" on both sides. Returns (onehot, prior_labels)."""
    k = n_classes_plus_one - 1
    labels = np.asarray(labels)
    unlabeled = labels < 0
    prior_labels = np.where(unlabeled, rng.integers(0, k, size=labels.shape), labels)
    return F.one_hot(np.where(unlabeled, k, labels), n_classes_plus_one), prior_labels


# ---- Evaluation helpers ---------------------------------------------------------------------------

def batched(model, fn, x, batch_size=1000):
    """fn over x in chunks on the model's device, in eval mode and without a graph; one NumPy array.
    The model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return np.concatenate([as_numpy(fn(to_device(x[i : i + batch_size], model.device)).data)
                                   for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def encode(model, x, batch_size=1000):
    """Codes of x in eval mode, (N, latent_dim) as a plain array; the model's mode is left as it was."""
    return batched(model, model.encoder, x, batch_size)


def reconstruction_error(model, x, batch_size=1000, labels=None):
    """Mean over images of the squared error ‖x − x̂‖² (summed over pixels)."""
    chunks = [(x[i : i + batch_size], None if labels is None else labels[i : i + batch_size])
              for i in range(0, len(x), batch_size)]
    x_hat = np.concatenate([batched(model, lambda c, y=y: model.reconstruct(c, y), xc) for xc, y in chunks])
    return float(((x_hat - x) ** 2).sum(1).mean())


def discriminator_accuracy(model, x, z_prior, labels_onehot=None):
    """Fraction of prior samples called real plus codes called fake, over both sets."""
    real = batched(model, lambda z: model.discriminate(Tensor(z), labels_onehot), z_prior, len(z_prior)) > 0
    fake = batched(model, lambda c: model.discriminate(model.encoder(c), labels_onehot), x, len(x)) <= 0
    return float((real.sum() + fake.sum()) / (len(real) + len(fake)))


# ---- The VAE, for the paper's comparison (docs/paper.md §2 "Relation to the VAE", Fig. 2) ---------

class VAE(nn.Module):
    """A variational autoencoder with the AAE's networks: Gaussian encoder q(z|x), sigmoid decoder. Trained on
    the −ELBO: reconstruction + KL(q(z|x) ‖ p(z)), in closed form where the prior has one, else the one-sample
    estimate log q(z|x) − log p(z), which needs the prior's density — exactly what the AAE does without."""

    def __init__(self, data_dim=784, latent_dim=2, hidden=(1000, 1000), rng=None, init="normal"):
        super().__init__()
        rng = np.random.default_rng(0) if rng is None else rng
        self.latent_dim = latent_dim
        self.encoder = GaussianEncoder([data_dim, *hidden, latent_dim], rng=rng, init=init)
        self.decoder = nn.mlp([latent_dim, *list(hidden)[::-1], data_dim], rng=rng, init=init)


def vae_loss(model, x, prior):
    """−ELBO per image: Σ_pixels BCE + KL(q(z|x) ‖ p(z)), averaged over the batch. Returns (loss, rec, kl)."""
    mu, logvar = model.encoder.posterior(x)
    z = F.gaussian_sample(mu, logvar, model.encoder.rng)
    rec = reconstruction_loss(model.decoder(z), x) * x.shape[1]  # nats per image, to weigh against the KL
    kl = prior.gaussian_kl(mu, logvar)  # closed form where the prior has one (the Gaussian)
    if kl is None:  # one-sample Monte Carlo: log q(z|x) − log p(z)
        log_q = ((z - mu) * (z - mu) * F.exp(-logvar) + logvar).sum(axis=1) * -0.5 - model.latent_dim * 0.5 * float(
            np.log(2 * np.pi))
        kl = (log_q - prior.log_prob(z)).mean()
    return rec + kl, rec.item(), kl.item()


def vae_step(model, x, prior, opt):
    """One gradient step on the −ELBO."""
    opt.zero_grad()
    loss, rec, kl = vae_loss(model, x, prior)
    loss.backward()
    opt.step()
    return {"loss": loss.item(), "rec": rec, "kl": kl}
