"""A PyTorch twin of every AAE family, as a differential test of minaae's engine (marker `twin`).

Each model is built twice: by minaae, and in PyTorch from the paper's procedure and minaae's docs
(docs/aae.md, docs/variants.md, docs/gan.md, docs/optim.md) — torch.nn layers, torch.autograd,
torch.optim — starting from minaae's initial weights. Both sides get the same batches and the same prior
samples (minaae draws them; a recorder hands copies to the twin), run 100 iterations of every phase, and
must agree on every loss of every iteration and on every parameter and running statistic at the end:

- in float64 to 1e-10 relative: any difference is a bug, not rounding;
- in float32 to 1e-4 relative (measured: either side's float32 run drifts at most ~2e-6 from its float64
  run over the 100 iterations, so 1e-4 is ~50 times what rounding alone explains) — and minaae's float32
  drift from the float64 truth may be at most 10 times PyTorch's.

minaae builds its models in float32; the float64 runs cast every parameter and buffer after construction
(the same initial values) and before the optimizers are made.

Run with `python -m pytest -q -m twin tests/test_torch_twin.py`; skipped when torch is not installed
(torch is never a dependency of minaae).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from minaae import aae, nn, priors, semisupervised  # noqa: E402

pytestmark = pytest.mark.twin

ITERATIONS, BATCH, DATA_DIM, HIDDEN = 100, 32, 64, (32, 32)


# ---------------------------------------------------------------------------------------------------
# Adapters: every call into minaae's model and training API goes through these few functions.
# ---------------------------------------------------------------------------------------------------


def minaae_aae(latent_dim, decoder_classes=0, d_label_classes=0):
    return aae.AAE(data_dim=DATA_DIM, latent_dim=latent_dim, hidden=HIDDEN, decoder_classes=decoder_classes,
                   d_label_classes=d_label_classes, rng=np.random.default_rng(1))


def minaae_aae_optimizers(model, optimizer, lr):
    return aae.make_optimizers(model, optimizer=optimizer, lr=lr)


def minaae_aae_iteration(model, x, labels, prior, rng, opts):
    """One mini-batch: reconstruction, D step, generator step. Returns {"rec", "d", "g"}."""
    stats = aae.train_step(model, x, prior, rng, opts, labels=labels)
    return {k: stats[k] for k in ("rec", "d", "g")}


def minaae_categorical(input_noise, batch_norm, output_batch_norm):
    return semisupervised.CategoricalAAE(np.random.default_rng(2), data_dim=DATA_DIM, n_classes=10, style_dim=5,
                                         hidden=HIDDEN, d_hidden=HIDDEN, input_noise=input_noise,
                                         batch_norm=batch_norm, output_batch_norm=output_batch_norm)


def minaae_categorical_optimizers(model, preset):
    if preset == "sgd":
        return aae.make_optimizers(model, **semisupervised.PAPER_SGD)
    return aae.make_optimizers(model, "adam", lr=1e-3, beta1=0.1)


def minaae_categorical_iteration(model, x, labeled, rng, opts):
    """Reconstruction, regularization (both Ds, then the encoder), classification on `labeled` = (x_l, y_l).
    Returns {"rec", "d_cat", "d_gauss", "g", "ce"}."""
    stats = semisupervised.train_step(model, x, rng, opts, labeled=labeled)
    return {k: stats[k] for k in ("rec", "d_cat", "d_gauss", "g", "ce")}


def to_float64(model):
    """Cast every parameter and buffer of a minaae model to float64, in place (same values)."""
    for _, module in model.named_modules():
        for p in module._parameters.values():
            p.data = p.data.astype(np.float64)
        for name, b in list(module._buffers.items()):
            module.register_buffer(name, b.astype(np.float64))
    return model


def freeze_minaae_parameter(model, name):
    """Keep one parameter of a minaae model fixed (no gradient, so no optimizer moves it)."""
    dict(model.named_parameters())[name].requires_grad = False


@pytest.fixture
def prior_draws(monkeypatch):
    """Record every sample minaae draws from a Gaussian or Categorical prior: {"Gaussian": [...], ...}."""
    draws = {"Gaussian": [], "Categorical": []}
    for cls in (priors.Gaussian, priors.Categorical):
        original = cls.sample

        def recording(self, n, rng, labels=None, _original=original, _name=cls.__name__):
            z = _original(self, n, rng, labels=labels)
            draws[_name].append(np.array(z, copy=True))
            return z

        monkeypatch.setattr(cls, "sample", recording)
    return draws


class RecordingRng:
    """A numpy Generator that keeps a copy of every standard-normal draw (minaae's input-noise layers).

    Draws are made in float32 and cast, so a float64 run gets the same noise as a float32 run.
    """

    def __init__(self, rng):
        self.rng, self.normals = rng, []

    def standard_normal(self, shape, dtype=np.float64):
        out = self.rng.standard_normal(shape, dtype=np.float32).astype(dtype)
        self.normals.append(out.copy())
        return out

    def __getattr__(self, name):
        return getattr(self.rng, name)


def record_input_noise(model):
    """Give each GaussianNoise layer of `model` a recording generator; returns the recorders."""
    recorders = []
    for _, module in model.named_modules():
        if isinstance(module, nn.GaussianNoise):
            module.rng = RecordingRng(module.rng)
            recorders.append(module)
    return [m.rng for m in recorders]


# ---------------------------------------------------------------------------------------------------
# The PyTorch twin, from the paper's procedure (docs/aae.md, docs/gan.md, docs/variants.md)
# ---------------------------------------------------------------------------------------------------

tnn, tF = torch.nn, torch.nn.functional


def torch_mlp(state, prefix, dtype):
    """A torch MLP (Linear, ReLU, ..., Linear) holding minaae's weights `prefix.{i}.weight` (in, out).
    Returns the module and {minaae name: torch tensor, transposed where minaae stores (in, out)}."""
    indices = sorted(int(k.split(".")[-2]) for k in state if k.startswith(prefix + ".") and k.endswith(".weight"))
    layers, names = [], {}
    for j, i in enumerate(indices):
        w, b = state[f"{prefix}.{i}.weight"], state[f"{prefix}.{i}.bias"]
        layer = linear_from(w, b, dtype)
        names[f"{prefix}.{i}.weight"], names[f"{prefix}.{i}.bias"] = layer.weight, layer.bias
        layers += [layer] + ([tnn.ReLU()] if j < len(indices) - 1 else [])
    return tnn.Sequential(*layers), names


def linear_from(w, b, dtype):
    layer = tnn.Linear(*w.shape, dtype=dtype)  # torch's weight is (out, in): y = x Wᵀ + b
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w.T.copy()))
        layer.bias.copy_(torch.from_numpy(b))
    return layer


def batch_norm_from(state, prefix, dtype):
    bn = tnn.BatchNorm1d(len(state[prefix + ".gamma"]), eps=1e-5, momentum=0.1, dtype=dtype)
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(state[prefix + ".gamma"]))
        bn.bias.copy_(torch.from_numpy(state[prefix + ".beta"]))
    names = {f"{prefix}.gamma": bn.weight, f"{prefix}.beta": bn.bias,
             f"{prefix}.running_mean": bn.running_mean, f"{prefix}.running_var": bn.running_var}
    return bn, names


def bce(logits, target):
    """Mean binary cross-entropy against a constant target (1 = prior sample, 0 = code)."""
    return tF.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def discriminator_update(d, opt, real, fake):
    """L_D = −mean log D(prior) − mean log(1 − D(code)); `fake` is detached from the encoder."""
    opt.zero_grad()
    loss = bce(d(real), 1.0) + bce(d(fake.detach()), 0.0)
    loss.backward()
    opt.step()
    return loss.item()


class Frozen:
    """D's weights take no gradient while the encoder learns to fool it."""

    def __init__(self, *modules):
        self.params = [p for m in modules for p in m.parameters()]

    def __enter__(self):
        for p in self.params:
            p.requires_grad_(False)

    def __exit__(self, *exc):
        for p in self.params:
            p.requires_grad_(True)


class TorchAAE:
    """Encoder, decoder (pixel logits; reads [z, one-hot y] in the supervised AAE), discriminator."""

    def __init__(self, state, dtype, decoder_classes=0, d_label_classes=0):
        self.encoder, n_enc = torch_mlp(state, "encoder.net", dtype)
        self.decoder, n_dec = torch_mlp(state, "decoder", dtype)
        self.discriminator, n_d = torch_mlp(state, "discriminator", dtype)
        self.names = {**n_enc, **n_dec, **n_d}
        self.decoder_classes, self.d_label_classes, self.dtype = decoder_classes, d_label_classes, dtype

    def onehot(self, labels, classes):
        return tF.one_hot(torch.from_numpy(labels), classes).to(self.dtype)

    def decode(self, z, labels):
        if self.decoder_classes:
            z = torch.cat([z, self.onehot(labels, self.decoder_classes)], dim=1)
        return self.decoder(z)

    def discriminate(self, z, labels):
        if self.d_label_classes:  # every example is labeled here: D reads its label on both sides
            z = torch.cat([z, self.onehot(labels, self.d_label_classes)], dim=1)
        return self.discriminator(z)

    def iteration(self, x, labels, z_prior, opts):
        """docs/paper.md §3: reconstruction (enc + dec), then D on prior vs codes, then the encoder vs D."""
        opts["reconstruction"].zero_grad()
        rec = tF.binary_cross_entropy_with_logits(self.decode(self.encoder(x), labels), x)
        rec.backward()
        opts["reconstruction"].step()
        z = self.encoder(x)  # after the reconstruction update
        d = discriminator_update(lambda c: self.discriminate(c, labels), opts["discriminator"], z_prior, z)
        opts["generator"].zero_grad()
        with Frozen(self.discriminator):
            g = bce(self.discriminate(z, labels), 1.0)
        g.backward()
        opts["generator"].step()
        return {"rec": rec.item(), "d": d, "g": g.item()}

    def optimizers(self, optimizer, lr):
        """docs/optim.md: one optimizer per phase; Adam β = (0.5, 0.999), ε = 1e-8; SGD momentum 0.9."""
        def make(modules):
            params = [p for m in modules for p in m.parameters()]
            if optimizer == "adam":
                return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999), eps=1e-8)
            return torch.optim.SGD(params, lr=lr, momentum=0.9)
        return {"reconstruction": make([self.encoder, self.decoder]), "discriminator": make([self.discriminator]),
                "generator": make([self.encoder])}


class TorchCategoricalAAE:
    """docs/variants.md: trunk -> (y logits, z); decoder reads [softmax(y), z]; D_cat on y, D_gauss on z."""

    def __init__(self, state, dtype, batch_norm, output_batch_norm, input_noise):
        self.names, layers, i = {}, [], 0
        linear_indices = sorted(int(k.split(".")[1]) for k in state if k.startswith("trunk.") and k.endswith("weight"))
        for i in linear_indices:
            layers.append(linear_from(state[f"trunk.{i}.weight"], state[f"trunk.{i}.bias"], dtype))
            self.names[f"trunk.{i}.weight"], self.names[f"trunk.{i}.bias"] = layers[-1].weight, layers[-1].bias
            if batch_norm:  # minaae puts the BatchNorm1d right after its Linear
                bn, names = batch_norm_from(state, f"trunk.{i + 1}", dtype)
                layers.append(bn)
                self.names.update(names)
            layers.append(tnn.ReLU())
        self.trunk = tnn.Sequential(*layers)
        self.heads = {}
        for head in ("y_head", "z_head"):
            self.heads[head] = linear_from(state[f"{head}.weight"], state[f"{head}.bias"], dtype)
            self.names[f"{head}.weight"], self.names[f"{head}.bias"] = self.heads[head].weight, self.heads[head].bias
        self.norms = {}
        if output_batch_norm:
            for norm in ("y_norm", "z_norm"):
                self.norms[norm], names = batch_norm_from(state, norm, dtype)
                self.names.update(names)
        self.decoder, names = torch_mlp(state, "decoder", dtype)
        self.names.update(names)
        self.d_cat, names = torch_mlp(state, "d_cat", dtype)
        self.names.update(names)
        self.d_gauss, names = torch_mlp(state, "d_gauss", dtype)
        self.names.update(names)
        self.input_noise = input_noise

    def encode(self, x, noise):
        """(y logits, z); `noise` is minaae's standard-normal draw for this pass (None without input noise)."""
        if noise is not None:
            x = x + torch.from_numpy(noise) * self.input_noise
        h = self.trunk(x)
        y, z = self.heads["y_head"](h), self.heads["z_head"](h)
        if self.norms:
            y, z = self.norms["y_norm"](y), self.norms["z_norm"](z)
        return y, z

    def encoder_modules(self, heads=("y", "z")):
        return [self.trunk, *(self.heads[f"{h}_head"] for h in heads),
                *(self.norms[f"{h}_norm"] for h in heads if self.norms)]

    def iteration(self, x, x_l, y_l, y_prior, z_prior, noises, opts):
        """docs/variants.md: reconstruction; D_cat and D_gauss, then the encoder against both; classification."""
        opts["reconstruction"].zero_grad()
        y_logits, z = self.encode(x, noises[0])
        rec = tF.binary_cross_entropy_with_logits(self.decoder(torch.cat([tF.softmax(y_logits, 1), z], 1)), x)
        rec.backward()
        opts["reconstruction"].step()

        y_logits, z = self.encode(x, noises[1])
        y = tF.softmax(y_logits, 1)
        d_cat = discriminator_update(self.d_cat, opts["d_cat"], y_prior, y)
        d_gauss = discriminator_update(self.d_gauss, opts["d_gauss"], z_prior, z)
        opts["generator"].zero_grad()
        with Frozen(self.d_cat, self.d_gauss):
            g = bce(self.d_cat(y), 1.0) + bce(self.d_gauss(z), 1.0)
        g.backward()
        opts["generator"].step()

        opts["classification"].zero_grad()
        ce = tF.cross_entropy(self.encode(x_l, noises[2])[0], torch.from_numpy(y_l))
        ce.backward()
        opts["classification"].step()
        return {"rec": rec.item(), "d_cat": d_cat, "d_gauss": d_gauss, "g": g.item(), "ce": ce.item()}

    def optimizers(self, preset):
        """docs/optim.md's table ("sgd", the paper's) or Adam lr 1e-3, β = (0.1, 0.999) for every phase."""
        groups = {"reconstruction": [*self.encoder_modules(), self.decoder], "d_cat": [self.d_cat],
                  "d_gauss": [self.d_gauss], "generator": self.encoder_modules(),
                  "classification": self.encoder_modules(heads=("y",))}
        lr = {"reconstruction": 0.01, "d_cat": 0.1, "d_gauss": 0.1, "generator": 0.1, "classification": 0.1}
        momentum = {"reconstruction": 0.9, "d_cat": 0.1, "d_gauss": 0.1, "generator": 0.1, "classification": 0.9}
        opts = {}
        for k, modules in groups.items():
            params = [p for m in modules for p in m.parameters()]
            opts[k] = (torch.optim.Adam(params, lr=1e-3, betas=(0.1, 0.999), eps=1e-8) if preset == "adam"
                       else torch.optim.SGD(params, lr=lr[k], momentum=momentum[k]))
        return opts


# ---------------------------------------------------------------------------------------------------
# Running both sides
# ---------------------------------------------------------------------------------------------------


def batches(seed, iterations, n_labels=10):
    """`iterations` (x, labels, x_labeled, labels_labeled) of synthetic data in [0, 1]."""
    rng = np.random.default_rng(seed)
    return [(rng.uniform(size=(BATCH, DATA_DIM)), rng.integers(0, n_labels, BATCH),
             rng.uniform(size=(BATCH // 2, DATA_DIM)), rng.integers(0, n_labels, BATCH // 2))
            for _ in range(iterations)]


def final_state(twin):
    """The twin's parameters and buffers under minaae's names, (in, out) like minaae's weights."""
    return {k: (t.detach().numpy().T if k.endswith("weight") and t.ndim == 2 else t.detach().numpy()).copy()
            for k, t in twin.names.items()}


def run_aae(dtype, iterations, prior_draws, optimizer, lr, decoder_classes=0, d_label_classes=0):
    np_dtype, t_dtype = (np.float64, torch.float64) if dtype == "float64" else (np.float32, torch.float32)
    model = minaae_aae(4, decoder_classes, d_label_classes)
    state0 = {k: v.astype(np_dtype) for k, v in model.state_dict().items()}
    if dtype == "float64":
        to_float64(model)
    twin = TorchAAE(state0, t_dtype, decoder_classes, d_label_classes)
    assert set(twin.names) == set(state0), "the twin must hold every parameter of the minaae model"
    opts, t_opts = minaae_aae_optimizers(model, optimizer, lr), twin.optimizers(optimizer, lr)
    prior, rng = priors.Gaussian(4), np.random.default_rng(3)
    ours, theirs = [], []
    for x, labels, _, _ in batches(4, iterations):
        x = x.astype(np_dtype)
        ours.append(minaae_aae_iteration(model, x, labels, prior, rng, opts))
        (z_prior,) = prior_draws["Gaussian"][-1:]  # this iteration's draw
        theirs.append(twin.iteration(torch.from_numpy(x), labels, torch.from_numpy(z_prior.astype(np_dtype)), t_opts))
    assert len(prior_draws["Gaussian"]) == iterations, "one prior draw per iteration"
    return ours, theirs, model.state_dict(), final_state(twin), state0


def run_categorical(dtype, iterations, prior_draws, preset, batch_norm, output_batch_norm, input_noise):
    np_dtype, t_dtype = (np.float64, torch.float64) if dtype == "float64" else (np.float32, torch.float32)
    model = minaae_categorical(input_noise, batch_norm, output_batch_norm)
    state0 = {k: v.astype(np_dtype) for k, v in model.state_dict().items()}
    if dtype == "float64":
        to_float64(model)
    recorders = record_input_noise(model)
    twin = TorchCategoricalAAE(state0, t_dtype, batch_norm, output_batch_norm, input_noise)
    assert set(twin.names) == set(state0), "the twin must hold every parameter and buffer of the minaae model"
    for name in biases_before_batch_norm(state0):
        freeze_minaae_parameter(model, name)
        twin.names[name].requires_grad_(False)
    opts, t_opts = minaae_categorical_optimizers(model, preset), twin.optimizers(preset)
    rng = np.random.default_rng(3)
    ours, theirs = [], []
    for x, _, x_l, y_l in batches(5, iterations):
        x, x_l = x.astype(np_dtype), x_l.astype(np_dtype)
        ours.append(minaae_categorical_iteration(model, x, (x_l, y_l), rng, opts))
        y_prior, z_prior = prior_draws["Categorical"][-1], prior_draws["Gaussian"][-1]
        noises = [None] * 3
        if input_noise:
            noises = recorders[0].normals[-3:]  # the reconstruction, regularization, classification passes
            assert [n.shape for n in noises] == [x.shape, x.shape, x_l.shape]
        theirs.append(twin.iteration(torch.from_numpy(x), torch.from_numpy(x_l), y_l,
                                     torch.from_numpy(y_prior.astype(np_dtype)),
                                     torch.from_numpy(z_prior.astype(np_dtype)), noises, t_opts))
    assert len(prior_draws["Categorical"]) == len(prior_draws["Gaussian"]) == iterations
    return ours, theirs, model.state_dict(), final_state(twin), state0


def biases_before_batch_norm(state):
    """Names of the biases of Linear layers followed by a batch norm.

    Their exact gradient is zero (the batch norm subtracts the batch mean, bias included), so all either
    side computes is rounding noise — which Adam scales up to steps of lr·noise/ε (~1e-12 per step), and
    which then enters the next running mean one for one. Both sides keep them frozen at zero.
    """
    names = [k for k in state if k.endswith(".bias") and k.startswith("trunk.")
             and f"trunk.{int(k.split('.')[1]) + 1}.gamma" in state]
    return names + (["y_head.bias", "z_head.bias"] if "y_norm.gamma" in state else [])


def relative_errors(ours, theirs, state, twin_state):
    """Largest relative difference of the losses (per loss, over iterations) and of each array (max-norm)."""
    errors = {}
    for key in ours[0]:
        a, b = np.array([s[key] for s in ours]), np.array([s[key] for s in theirs])
        errors[f"loss {key}"] = float(np.max(np.abs(a - b) / np.abs(b)))
    for key, b in twin_state.items():
        # relative to the array's size, or to the initial weight scale 0.01 for arrays that stay smaller
        errors[key] = float(np.max(np.abs(state[key] - b)) / max(np.max(np.abs(b)), 0.01))
    return errors


def assert_twins_agree(errors, rtol):
    bad = {k: f"{e:.2e}" for k, e in errors.items() if not e <= rtol}
    assert not bad, f"minaae and its PyTorch twin differ by more than {rtol:g} (relative): {bad}"


AAE_CASES = {
    "plain-adam": dict(optimizer="adam", lr=1e-3),
    "plain-sgd": dict(optimizer="sgd", lr=0.05),
    "supervised-adam": dict(optimizer="adam", lr=1e-3, decoder_classes=10),
    "supervised-label-aware-d": dict(optimizer="adam", lr=1e-3, decoder_classes=10, d_label_classes=11),
}
CATEGORICAL_CASES = {
    "sgd": dict(preset="sgd", batch_norm=False, output_batch_norm=False, input_noise=0.0),
    "adam-input-noise": dict(preset="adam", batch_norm=False, output_batch_norm=False, input_noise=0.3),
    "sgd-batch-norm": dict(preset="sgd", batch_norm=True, output_batch_norm=True, input_noise=0.3),
    "adam-batch-norm": dict(preset="adam", batch_norm=True, output_batch_norm=True, input_noise=0.0),
}


def run(family, case, dtype, prior_draws, iterations=ITERATIONS):
    for draws in prior_draws.values():
        draws.clear()
    if family == "aae":
        return run_aae(dtype, iterations, prior_draws, **AAE_CASES[case])
    return run_categorical(dtype, iterations, prior_draws, **CATEGORICAL_CASES[case])


CASES = [("aae", c) for c in AAE_CASES] + [("categorical", c) for c in CATEGORICAL_CASES]


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("family, case", CASES, ids=[f"{f}-{c}" for f, c in CASES])
def test_float64_twin_agrees_to_1e_10(family, case, prior_draws):
    ours, theirs, state, twin_state, state0 = run(family, case, "float64", prior_draws)
    assert all(a.dtype == np.float64 for a in state.values()), "the float64 run stayed in float64"
    moved = max(float(np.max(np.abs(twin_state[k] - state0[k])) / np.max(np.abs(twin_state[k])))
                for k in twin_state if k.endswith("weight"))
    assert moved > 1e-2, f"training moved the weights by only {moved:.1e}: the comparison would be empty"
    assert_twins_agree(relative_errors(ours, theirs, state, twin_state), 1e-10)


def uses_adam(family, case):
    settings = (AAE_CASES if family == "aae" else CATEGORICAL_CASES)[case]
    return "adam" in (settings.get("optimizer"), settings.get("preset"))


@pytest.mark.parametrize("family, case", CASES, ids=[f"{f}-{c}" for f, c in CASES])
def test_float32_twin_agrees_and_drifts_no_more_than_torch(family, case, prior_draws):
    """SGD: 100 iterations, losses and parameters. Adam: the losses of the first 10 iterations only — Adam
    moves a coordinate whose gradient is rounding noise by up to ±lr, so its float32 runs are chaotic on
    both sides: PyTorch's own float32 run leaves its float64 run by 1e-3 to 1 within 100 iterations."""
    adam = uses_adam(family, case)
    iterations = 10 if adam else ITERATIONS
    ours32, theirs32, state32, twin32, _ = run(family, case, "float32", prior_draws, iterations)
    assert all(a.dtype == np.float32 for a in state32.values())
    _, theirs64, _, twin64, _ = run(family, case, "float64", prior_draws, iterations)
    if adam:
        state32 = twin32 = twin64 = {}
    assert_twins_agree(relative_errors(ours32, theirs32, state32, twin32), 1e-4)
    ours_drift = relative_errors(ours32, theirs64, state32, twin64)
    torch_drift = relative_errors(theirs32, theirs64, twin32, twin64)
    worse = {k: f"{ours_drift[k]:.1e} vs {torch_drift[k]:.1e}" for k in ours_drift
             if ours_drift[k] > 10 * torch_drift[k] + 1e-7}
    assert not worse, f"minaae's float32 run strays from the float64 result more than PyTorch's: {worse}"
