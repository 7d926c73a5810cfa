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

# ---- Initializers: weight arrays (in, out) from an explicit generator -----------------------------

def normal_(shape, std, rng, dtype=np.float32):
    """W ~ N(0, std²), an array of `shape`: the paper's initialization with std 0.01 (docs/paper.md §5).

    (Returns a new array; the underscore only echoes torch.nn.init.normal_.)"""
    return (rng.standard_normal(shape) * std).astype(dtype)


def he_normal(shape, rng, dtype=np.float32):
    """W ~ N(0, 2/fan_in) with fan_in = shape[0]: keeps the variance of ReLU activations constant across
    layers (He et al., 2015)."""
    return normal_(shape, math.sqrt(2 / shape[0]), rng, dtype)


def glorot_uniform(shape, rng, dtype=np.float32):
    """W ~ U(−a, a) with a = sqrt(6/(fan_in + fan_out)), so Var W = a²/3 = 2/(fan_in + fan_out)
    (Glorot & Bengio, 2010)."""
    limit = math.sqrt(6 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, shape).astype(dtype)


INITS = {"he": he_normal, "glorot": glorot_uniform, "normal": None}  # "normal" takes the std


def init_weight(init, shape, rng, std=0.01, dtype=np.float32):
    """The weight array of one layer for init in INITS; `std` is used by "normal" only."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; expected one of {sorted(INITS)}")
    return normal_(shape, std, rng, dtype) if init == "normal" else INITS[init](shape, rng, dtype)


# ---- Module ---------------------------------------------------------------------------------------

class Parameter(Tensor):
    """A leaf tensor that a Module owns and an optimizer updates (requires_grad is always True)."""

    def __init__(self, data):
        super().__init__(data, requires_grad=True)


class Module:
    """Base class: assign Parameters, Modules and buffers as attributes; define `forward`.

    Assignment registers them in insertion order (plain dicts keep it), which fixes the order of
    `named_parameters()`, of `state_dict()` and hence of every optimizer's state."""

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            self._buffers[name] = value  # bn.running_mean = array: the state dict must save the new array
        else:
            for registry in (self._parameters, self._modules, self._buffers):
                registry.pop(name, None)  # reassigning replaces: no stale entry stays behind
            if isinstance(value, Parameter):
                self._parameters[name] = value
            elif isinstance(value, Module):
                self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name, array):
        """State that is saved and moved with the module but not trained (e.g. running means)."""
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    def __call__(self, *args): return self.forward(*args)
    def forward(self, *args): raise NotImplementedError(f"{type(self).__name__} defines no forward")

    # -- traversal ---------------------------------------------------------------------------------
    def named_modules(self, prefix=""):
        """(dotted prefix, module) pairs, this module first ("" then "encoder.", "encoder.0.", ...)."""
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}{name}.")

    def named_parameters(self):
        """(dotted name, Parameter) pairs in registration order, e.g. ("encoder.0.weight", W).

        A parameter reachable twice (a module assigned under two names) is yielded once, under its first
        name, so an optimizer never updates it twice."""
        seen = set()  # ids for membership only; the order comes from the registries
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield prefix + name, p

    def parameters(self):
        """The parameters as a list, in the order of `named_parameters()`."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self):
        """The number of trainable scalars."""
        return sum(p.size for p in self.parameters())

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        """Set training mode (Dropout, GaussianNoise, BatchNorm1d act on it) here and in every submodule."""
        for _, module in self.named_modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self): return self.train(False)

    @property
    def device(self):
        """'cpu' or 'cuda': where the first parameter lives."""
        params = self.parameters()
        return device_of(params[0].data) if params else "cpu"

    def to(self, device):
        """Move every parameter (and its gradient) and every buffer to `device` ('cpu' or 'cuda') in place.

        The Parameter objects stay the same, so references held elsewhere still point at them; an
        optimizer's state, however, is not moved: build optimizers after `to`."""
        for _, module in self.named_modules():
            for p in module._parameters.values():
                p.data = to_device(p.data, device)
                if p.grad is not None:
                    p.grad = to_device(p.grad, device)
            for name, b in module._buffers.items():
                module.register_buffer(name, to_device(b, device))
        return self

    # -- state -------------------------------------------------------------------------------------
    def _state_arrays(self):
        """{dotted name: live array} of every parameter and buffer, module by module."""
        arrays = {}
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                arrays[prefix + name] = p.data
            for name, b in module._buffers.items():
                arrays[prefix + name] = b
        return arrays

    def state_dict(self):
        """{dotted name: NumPy copy} of every parameter and buffer, in registration order."""
        return {name: as_numpy(a).copy() for name, a in self._state_arrays().items()}

    def load_state_dict(self, state):
        """Copy the arrays of `state` into this module's parameters and buffers, in place.

        Names and shapes must match exactly; values are cast to each parameter's dtype and device.
        Everything is checked before anything is copied, so a failed load leaves the module unchanged.
        Raises KeyError listing missing and unexpected names, ValueError listing every shape mismatch."""
        targets = self._state_arrays()
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if missing or unexpected:
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        wrong = [f"'{k}' has shape {np.shape(state[k])}, expected {t.shape}" for k, t in targets.items()
                 if np.shape(state[k]) != t.shape]
        if wrong:
            raise ValueError("load_state_dict: " + "; ".join(wrong))
        for name, target in targets.items():
            target[...] = get_array_module(target).asarray(state[name], dtype=target.dtype)

    def __repr__(self):
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def extra_repr(self):
        """The settings shown between the parentheses of repr (e.g. "in_features=784, ...")."""
        return ""


# ---- Layers ---------------------------------------------------------------------------------------

class Linear(Module):
    """y = x W + b with x: (N, in), W: (in, out), b: (out,), y: (N, out) — the paper's row vectors.

    init: "normal" (N(0, std²), the paper's, std 0.01), "he" or "glorot"; the bias starts at zero.
    rng: the generator of the weights, the run's; None: seeded with 0 (a bare `Linear(3, 2)` is reproducible)."""

    def __init__(self, in_features, out_features, bias=True, init="normal", std=0.01, rng=None, dtype=np.float32):
        super().__init__()
        if not (_positive_int(in_features) and _positive_int(out_features)):
            raise ValueError(f"Linear: in_features and out_features must be positive integers, "
                             f"got {in_features!r}, {out_features!r}")
        if init != "normal" and std != 0.01:
            raise ValueError(f"Linear: std={std} applies to init='normal' only; init={init!r} sets its own scale")
        rng = np.random.default_rng(0) if rng is None else rng
        self.in_features, self.out_features, self.init = in_features, out_features, init
        self.weight = Parameter(init_weight(init, (in_features, out_features), rng, std, dtype))
        self.bias = Parameter(np.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, init={self.init!r}")


def _positive_int(n):
    return isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0


class Sequential(Module):
    """Modules applied in order, y = m_k(... m_1(m_0(x))); children are named "0", "1", ..."""

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: item {i} is a {type(m).__name__}, not a Module")
            setattr(self, str(i), m)

    def __getitem__(self, i): return list(self._modules.values())[i]
    def __len__(self): return len(self._modules)
    def __iter__(self): return iter(self._modules.values())

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


class ReLU(Module):
    """y = max(x, 0), elementwise."""

    def forward(self, x): return F.relu(x)


class LeakyReLU(Module):
    """y = x for x > 0, slope · x otherwise."""

    def __init__(self, slope=0.2):
        super().__init__()
        self.slope = slope

    def forward(self, x): return F.leaky_relu(x, self.slope)
    def extra_repr(self): return f"slope={self.slope}"


class Sigmoid(Module):
    """y = 1 / (1 + exp(−x)): the decoder's output for pixel intensities in [0, 1] (docs/paper.md §5)."""

    def forward(self, x): return F.sigmoid(x)


class Tanh(Module):
    """y = tanh(x)."""

    def forward(self, x): return F.tanh(x)


def _require_rng(layer, rng):
    if rng is None or not hasattr(rng, "standard_normal"):
        raise TypeError(f"{layer}: pass the run's random generator, e.g. rng=np.random.default_rng(seed); "
                        f"got {rng!r}")
    return rng


class Dropout(Module):
    """Inverted dropout: y = x · m / (1 − p) with m ~ Bernoulli(1 − p) per element, in training mode;
    y = x in eval mode, so nothing needs rescaling at test time. x: any shape. Masks come from `rng`."""

    def __init__(self, p, rng):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p, self.rng = p, _require_rng("Dropout", rng)

    def forward(self, x): return F.dropout(x, self.p, self.training, self.rng)
    def extra_repr(self): return f"p={self.p}"


class GaussianNoise(Module):
    """y = x + ε with ε ~ N(0, std²) per element, in training mode; y = x in eval mode.

    docs/paper.md §5: input noise of std 0.3 on the semi-supervised encoder; §7: on the discriminator's input.
    The noise is a constant, so the gradient passes through unchanged. Noise comes from `rng`."""

    def __init__(self, std, rng):
        super().__init__()
        if not std >= 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std}")
        self.std, self.rng = std, _require_rng("GaussianNoise", rng)

    def forward(self, x):
        if not self.training or self.std == 0:
            return x
        x = x if isinstance(x, Tensor) else Tensor(x)
        noise = self.rng.standard_normal(x.shape, dtype=x.dtype)  # drawn in x's dtype: no float64 temporary
        noise *= self.std
        return x + Tensor(like(noise, x.data))

    def extra_repr(self): return f"std={self.std}"


class BatchNorm1d(Module):
    """y = γ (x − μ)/sqrt(σ² + eps) + β per feature, x: (N, num_features); γ starts at 1, β at 0. μ and σ²:
    the batch's in training (moving the running estimates), the running estimates in eval (F.batch_norm)."""

    def __init__(self, num_features, momentum=0.1, eps=1e-5, dtype=np.float32):
        super().__init__()
        if not _positive_int(num_features):
            raise ValueError(f"BatchNorm1d: num_features must be a positive integer, got {num_features!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1], got {momentum}")
        if not eps > 0:
            raise ValueError(f"BatchNorm1d: eps must be > 0, got {eps}")
        self.num_features, self.momentum, self.eps = num_features, momentum, eps
        self.gamma = Parameter(np.ones(num_features, dtype=dtype))
        self.beta = Parameter(np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))

    def forward(self, x):
        return F.batch_norm(x, self.gamma, self.beta, self.running_mean, self.running_var, self.training,
                            self.momentum, self.eps)

    def extra_repr(self): return f"{self.num_features}, momentum={self.momentum}, eps={self.eps}"


def mlp(sizes, activation=ReLU, rng=None, init="normal", std=0.01, dtype=np.float32):
    """Linear layers of the given sizes with `activation()` between them, as a Sequential.

    mlp([784, 1000, 1000, 8]) is Linear(784, 1000), ReLU, Linear(1000, 1000), ReLU, Linear(1000, 8): the
    paper's networks (docs/paper.md §5), whose output is linear (logits or codes). All layers draw from one
    generator, `rng` (None: seeded with 0), so that no two layers get the same weights."""
    if len(sizes) < 2:
        raise ValueError(f"mlp: needs at least an input and an output size, got {sizes}")
    rng = np.random.default_rng(0) if rng is None else rng
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out, init=init, std=std, rng=rng, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(activation())
    return Sequential(*layers)
