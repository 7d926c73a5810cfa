"""Optimizers with the update rules of torch.optim, so that published hyperparameters carry over.

Each update rule is written here as docs/optim.md writes it, in plain NumPy (`_sgd_rule`, `_adam_rule`).
By default it runs as one fused kernel per parameter instead (kernels.sgd_step / adam_step: the same rule
in fewer passes over memory); `kernels.FUSED = False` switches to the readable rules, equal to float32
rounding. State is keyed by parameter *name*, so a saved optimizer resumes exactly in another process.
"""

import numpy as np

from . import kernels
from .autograd import Tensor
from .backend import as_numpy, get_array_module


class Optimizer:
    """Holds named parameters and their per-parameter state; subclasses define `_update(name, p, g)`.

    params: a list of Parameters (named "0", "1", ... by position) or (name, Parameter) pairs such as
    `model.named_parameters()`. State is a dict name -> {buffer name: array}, in the order given."""

    hyperparameters = ()  # attribute names saved by state_dict (subclasses list theirs)

    def __init__(self, params):
        self.params = {}
        for name, p in _named(list(params)):
            if name in self.params:
                raise ValueError(f"optimizer: parameter name {name!r} appears twice")
            twin = next((n for n, q in self.params.items() if q is p), None)
            if twin is not None:  # it would be updated twice per step
                raise ValueError(f"optimizer: parameters {twin!r} and {name!r} are the same tensor")
            self.params[name] = p
        if not self.params:
            raise ValueError("optimizer: got an empty parameter list")
        self.state = {name: {} for name in self.params}
        self.steps = 0

    def zero_grad(self):
        """Set every gradient to None (the next backward then stores instead of adding)."""
        for p in self.params.values():
            p.grad = None

    def step(self):
        """Apply one update, in place, to every parameter that has a gradient; the others are skipped."""
        self.steps += 1
        for name, p in self.params.items():
            g = p.grad
            if g is None:
                continue
            if g.shape != p.shape:
                raise ValueError(f"{type(self).__name__}: gradient of {name!r} has shape {g.shape}, "
                                 f"expected {p.shape}")
            # the kernels want one dtype and contiguous memory; this copies only when that is not so already
            g = get_array_module(p.data, g).ascontiguousarray(g, dtype=p.dtype)
            self._update(name, p.data, g)

    def _update(self, name, p, g): raise NotImplementedError

    def _buffer(self, name, key, like):
        """The state array `key` of parameter `name`, zeros of p's shape on first use."""
        state = self.state[name]
        if key not in state:
            state[key] = get_array_module(like).zeros_like(like)
        return state[key]

    def state_dict(self):
        """{"hyperparameters": {"lr": ..., ...}, "steps": int, "state": {name: {key: NumPy copy or int}}}."""
        return {"hyperparameters": {k: getattr(self, k) for k in self.hyperparameters}, "steps": self.steps,
                "state": {name: {k: as_numpy(v).copy() if hasattr(v, "shape") else v for k, v in s.items()}
                          for name, s in self.state.items()}}

    def load_state_dict(self, d):
        """Restore what `state_dict` returned: hyperparameters (lr included), step count and state arrays,
        copied to each parameter's device and dtype. Everything is checked before anything changes."""
        kind = type(self).__name__
        missing = [n for n in self.params if n not in d["state"]]
        unexpected = [n for n in d["state"] if n not in self.params]
        if missing or unexpected:
            raise KeyError(f"optimizer state: missing {missing}, unexpected {unexpected}")
        if sorted(d["hyperparameters"]) != sorted(self.hyperparameters):
            raise ValueError(f"optimizer state: hyperparameters {sorted(d['hyperparameters'])} are not {kind}'s "
                             f"{sorted(self.hyperparameters)} (a state dict of another optimizer?)")
        restored = {}
        for name in self.params:
            p = self.params[name].data
            xp = get_array_module(p)
            restored[name] = {}
            for k, v in d["state"][name].items():
                if np.ndim(v) == 0:  # a count such as Adam's "step"
                    restored[name][k] = v.item() if hasattr(v, "item") else v
                elif np.shape(v) != p.shape:
                    raise ValueError(f"optimizer state '{name}/{k}' has shape {np.shape(v)}, expected {p.shape}")
                else:
                    restored[name][k] = xp.array(v, dtype=p.dtype)  # a copy: never the caller's array
        for k, v in d["hyperparameters"].items():
            setattr(self, k, tuple(v) if isinstance(v, list) else v)  # betas come back from JSON as a list
        self.steps = int(d["steps"])
        self.state = restored


def _named(params):
    """[(name, tensor)] from a list of tensors (named by position) or of (name, tensor) pairs."""
    if all(isinstance(p, Tensor) for p in params):
        return [(str(i), p) for i, p in enumerate(params)]
    for item in params:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], Tensor)):
            raise TypeError(f"optimizer: params must be all Parameters or all (name, Parameter) pairs; "
                            f"got {type(item).__name__} {item!r:.60}")
    return params


def _check(condition, message):
    if not condition:
        raise ValueError(message)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay:

    d = g + λp;  b ← μ b + (1 − τ) d  (b = d on the first step);  d ← d + μ b (Nesterov) or b;  p ← p − η d"""

    hyperparameters = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        _check(lr >= 0, f"SGD: lr must be >= 0, got {lr}")
        _check(momentum >= 0, f"SGD: momentum must be >= 0, got {momentum}")
        _check(weight_decay >= 0, f"SGD: weight_decay must be >= 0, got {weight_decay}")
        _check(not nesterov or (momentum > 0 and dampening == 0),
               f"SGD: Nesterov momentum needs momentum > 0 and dampening 0 (got {momentum}, {dampening})")
        super().__init__(params)
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov

    def _update(self, name, p, g):
        first = "momentum_buffer" not in self.state[name]
        buf = self._buffer(name, "momentum_buffer", p) if self.momentum else None
        if kernels.FUSED:
            kernels.sgd_step(p, g, buf, self.lr, self.momentum, self.dampening, self.weight_decay,
                             self.nesterov, first)
        else:
            _sgd_rule(p, g, buf, first, self.lr, self.momentum, self.dampening, self.weight_decay, self.nesterov)


def _sgd_rule(p, g, b, first, lr, momentum, dampening, weight_decay, nesterov):
    """One SGD step on arrays, in place on p and b, as docs/optim.md writes it."""
    d = g + weight_decay * p
    if momentum:
        b[...] = d if first else momentum * b + (1 - dampening) * d
        d = d + momentum * b if nesterov else b
    p -= (lr * d).astype(p.dtype)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction and torch.optim.Adam's coupled weight decay; the rule, and
    where its ε goes, in docs/optim.md."""

    hyperparameters = ("lr", "betas", "eps", "weight_decay")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        _check(lr >= 0, f"Adam: lr must be >= 0, got {lr}")
        _check(all(0 <= b < 1 for b in betas), f"Adam: betas must lie in [0, 1), got {betas}")
        _check(eps >= 0, f"Adam: eps must be >= 0, got {eps}")
        _check(weight_decay >= 0, f"Adam: weight_decay must be >= 0, got {weight_decay}")
        super().__init__(params)
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay

    def _update(self, name, p, g):
        state = self.state[name]
        state["step"] = state.get("step", 0) + 1  # per parameter, as in PyTorch
        m, v = self._buffer(name, "exp_avg", p), self._buffer(name, "exp_avg_sq", p)
        if kernels.FUSED:
            kernels.adam_step(p, g, m, v, state["step"], self.lr, *self.betas, self.eps, self.weight_decay)
        else:
            _adam_rule(p, g, m, v, state["step"], self.lr, *self.betas, self.eps, self.weight_decay)


def _adam_rule(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    """One Adam step on arrays (t counts from 1), in place on p, m and v, as docs/optim.md writes it."""
    xp = get_array_module(p)
    # BEGIN EXERCISE 6: the Adam update
    d = g + weight_decay * p
    m[...] = beta1 * m + (1 - beta1) * d
    v[...] = beta2 * v + (1 - beta2) * d * d
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    p -= (lr * m_hat / (xp.sqrt(v_hat) + eps)).astype(p.dtype)
    # END EXERCISE


class MultiStepLR:
    """lr = base_lr · γ^(number of milestones ≤ epoch), the paper's step decays (docs/paper.md §5: ÷10 at epochs
    50 and 1000). Call `step()` once at the end of every epoch; `epoch` counts the finished ones."""

    def __init__(self, optimizer, milestones, gamma=0.1):
        milestones = list(milestones)
        if not all(isinstance(m, (int, np.integer)) and not isinstance(m, bool) and m > 0 for m in milestones):
            raise ValueError(f"MultiStepLR: milestones must be positive integers (epochs), got {milestones}")
        _check(gamma > 0, f"MultiStepLR: gamma must be > 0, got {gamma}")
        self.optimizer, self.milestones, self.gamma = optimizer, sorted(milestones), gamma
        self.base_lr, self.epoch = optimizer.lr, 0

    def _set_lr(self):
        self.optimizer.lr = self.base_lr * self.gamma ** sum(self.epoch >= m for m in self.milestones)

    def step(self):
        self.epoch += 1
        self._set_lr()

    def state_dict(self): return {"epoch": self.epoch, "base_lr": self.base_lr}

    def load_state_dict(self, d):
        """Continue from a saved epoch count; also sets the optimizer's lr to that epoch's value."""
        self.epoch, self.base_lr = int(d["epoch"]), float(d["base_lr"])
        self._set_lr()
