"""Layers: `Module` (parameters, modes, devices, state dicts) and the building blocks of the AAE networks.

Parameters and sub-modules are registered in the order they are assigned, and named by their path
("encoder.net.0.weight"), so the order — and with it every state dict and optimizer state — is the same
in every process. `Linear` computes x @ W + b with W of shape (in, out): the paper's row vectors.
"""

import math

import numpy as np

from . import functional as F
from .autograd import Tensor
from .backend import as_numpy, device_of, get_array_module, like, to_device

# ---------------------------------------------------------------------------------------------------
# Initializers: weight arrays (in, out) from an explicit generator
# ---------------------------------------------------------------------------------------------------


def normal_init(shape, rng, std=0.01, dtype=np.float32):
    """N(0, std²): the paper's initialization (std 0.01, PAPER.md §5)."""
    return (rng.standard_normal(shape) * std).astype(dtype)


def he_init(shape, rng, dtype=np.float32):
    """N(0, 2/fan_in): keeps the variance of ReLU activations constant across layers."""
    return normal_init(shape, rng, math.sqrt(2 / shape[0]), dtype)


def glorot_init(shape, rng, dtype=np.float32):
    """U(−a, a) with a = sqrt(6/(fan_in + fan_out)): variance 2/(fan_in + fan_out)."""
    limit = math.sqrt(6 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, shape).astype(dtype)


INITS = {"normal": normal_init, "he": he_init, "glorot": glorot_init}


# ---------------------------------------------------------------------------------------------------
# Module
# ---------------------------------------------------------------------------------------------------


class Parameter(Tensor):
    """A leaf tensor that a Module owns and an optimizer updates."""

    def __init__(self, data):
        super().__init__(data, requires_grad=True)


class Module:
    """Base class: assign Parameters, Modules and buffers as attributes; define `forward`."""

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        for registry in (self._parameters, self._modules):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name, array):
        """State that is saved and moved with the module but not trained (e.g. running means)."""
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    def __call__(self, *args):
        return self.forward(*args)

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} defines no forward")

    # -- traversal ---------------------------------------------------------------------------------
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}{name}.")

    def named_parameters(self):
        """(dotted name, Parameter) pairs in registration order."""
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                yield prefix + name, p

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def num_parameters(self):
        return sum(p.size for p in self.parameters())

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        for _, module in self.named_modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    @property
    def device(self):
        """'cpu' or 'cuda': where the first parameter lives."""
        params = self.parameters()
        return device_of(params[0].data) if params else "cpu"

    def to(self, device):
        """Move every parameter and buffer to `device` ('cpu' or 'cuda') in place."""
        for _, module in self.named_modules():
            for p in module._parameters.values():
                p.data = to_device(p.data, device)
                p.grad = None
            for name, b in module._buffers.items():
                module.register_buffer(name, to_device(b, device))
        return self

    # -- state -------------------------------------------------------------------------------------
    def state_dict(self):
        """{name: NumPy copy} of every parameter and buffer."""
        state = {}
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                state[prefix + name] = as_numpy(p.data).copy()
            for name, b in module._buffers.items():
                state[prefix + name] = as_numpy(b).copy()
        return state

    def load_state_dict(self, state):
        """Copy arrays from `state` into this module; names and shapes must match exactly."""
        targets = {}
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                targets[prefix + name] = p.data
            for name, b in module._buffers.items():
                targets[prefix + name] = b
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if missing or unexpected:
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        for name, target in targets.items():
            value = np.asarray(state[name])
            if value.shape != target.shape:
                raise ValueError(f"load_state_dict: '{name}' has shape {value.shape}, expected {target.shape}")
            xp = get_array_module(target)
            target[...] = xp.asarray(value, dtype=target.dtype)

    def __repr__(self):
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def extra_repr(self):
        return ""


# ---------------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------------


class Linear(Module):
    """y = x W + b; x (N, in), W (in, out), b (out,)."""

    def __init__(self, in_features, out_features, bias=True, rng=None, init="normal", dtype=np.float32):
        super().__init__()
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; expected one of {sorted(INITS)}")
        rng = np.random.default_rng(0) if rng is None else rng  # models should pass the run's generator
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(INITS[init]((in_features, out_features), rng, dtype=dtype))
        self.bias = Parameter(np.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.in_features} -> {self.out_features}"


class Sequential(Module):
    """Modules applied in order; children are named "0", "1", ..."""

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, slope=0.2):
        super().__init__()
        self.slope = slope

    def forward(self, x):
        return F.leaky_relu(x, self.slope)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Identity(Module):
    def forward(self, x):
        return x


class Dropout(Module):
    """Inverted dropout with probability p in training mode; the identity in eval mode."""

    def __init__(self, p, rng):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p, self.rng = p, rng

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self):
        return f"p={self.p}"


class GaussianNoise(Module):
    """x + N(0, std²) noise in training mode (PAPER.md §5: std 0.3 on the encoder input); identity in eval."""

    def __init__(self, std, rng):
        super().__init__()
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std}")
        self.std, self.rng = std, rng

    def forward(self, x):
        if not self.training or self.std == 0:
            return x
        x = x if isinstance(x, Tensor) else Tensor(x)
        noise = self.rng.standard_normal(x.shape, dtype=x.dtype)
        noise *= self.std
        return x + Tensor(like(noise, x.data))

    def extra_repr(self):
        return f"std={self.std}"


class BatchNorm1d(Module):
    """Batch normalization of (N, D) inputs with learned scale γ and shift β (F.batch_norm)."""

    def __init__(self, num_features, momentum=0.1, eps=1e-5, dtype=np.float32):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.gamma = Parameter(np.ones(num_features, dtype=dtype))
        self.beta = Parameter(np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))

    def forward(self, x):
        return F.batch_norm(x, self.gamma, self.beta, self.running_mean, self.running_var, self.training,
                            self.momentum, self.eps)


def mlp(sizes, rng=None, activation=ReLU, init="normal", final=None):
    """Linear layers of the given sizes with `activation` between them, e.g. [784, 1000, 1000, 8].

    final: an optional module applied after the last layer (None: the output is linear — logits or codes).
    """
    if len(sizes) < 2:
        raise ValueError(f"mlp: needs at least an input and an output size, got {sizes}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out, rng=rng, init=init))
        if i < len(sizes) - 2:
            layers.append(activation())
    if final is not None:
        layers.append(final)
    return Sequential(*layers)
