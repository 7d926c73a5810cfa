"""Optimizers with the update rules of torch.optim, so that published hyperparameters carry over.

The arithmetic of each update is one fused kernel (kernels.sgd_step / kernels.adam_step) that changes
the parameter and its state in place. State is keyed by parameter *name*, in insertion order, so a
saved optimizer resumes exactly in another process (docs/optim.md).
"""

import numpy as np

from . import kernels
from .backend import as_numpy, get_array_module
from .nn import Parameter


class Optimizer:
    """Holds named parameters and per-parameter state; subclasses define `_update(name, p, g)`."""

    hyperparameters = ()

    def __init__(self, params):
        params = list(params)
        if params and isinstance(params[0], Parameter):
            params = [(str(i), p) for i, p in enumerate(params)]
        self.params = {}
        for name, p in params:
            if name in self.params:
                raise ValueError(f"optimizer: parameter name {name!r} appears twice")
            self.params[name] = p
        if not self.params:
            raise ValueError("optimizer: got an empty parameter list")
        self.state = {name: {} for name in self.params}
        self.steps = 0

    def zero_grad(self):
        for p in self.params.values():
            p.grad = None

    def step(self):
        """Apply one update to every parameter that has a gradient."""
        self.steps += 1
        for name, p in self.params.items():
            if p.grad is not None:
                self._update(name, p.data, p.grad)

    def _update(self, name, p, g):
        raise NotImplementedError

    def _buffer(self, name, key, like):
        state = self.state[name]
        if key not in state:
            state[key] = get_array_module(like).zeros_like(like)
        return state[key]

    def state_dict(self):
        return {"hyperparameters": {k: getattr(self, k) for k in self.hyperparameters}, "steps": self.steps,
                "state": {name: {k: as_numpy(v).copy() if hasattr(v, "shape") else v for k, v in s.items()}
                          for name, s in self.state.items()}}

    def load_state_dict(self, d):
        names = set(d["state"])
        if names != set(self.params):
            raise KeyError(f"optimizer state: missing {sorted(set(self.params) - names)}, "
                           f"unexpected {sorted(names - set(self.params))}")
        for k, v in d["hyperparameters"].items():
            setattr(self, k, tuple(v) if isinstance(v, list) else v)
        self.steps = int(d["steps"])
        for name, saved in d["state"].items():
            p = self.params[name].data
            xp = get_array_module(p)
            restored = {}
            for k, v in saved.items():
                if hasattr(v, "shape") and np.shape(v) != p.shape:
                    raise ValueError(f"optimizer state '{name}/{k}' has shape {np.shape(v)}, expected {p.shape}")
                restored[k] = xp.array(v, dtype=p.dtype) if hasattr(v, "shape") else v  # a copy, not the caller's
            self.state[name] = restored


def _check(condition, message):
    if not condition:
        raise ValueError(message)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay:

    d = g + λp;  b ← μ b + (1 − τ) d  (b = d on the first step);  d ← d + μ b (Nesterov) or b;  p ← p − η d
    """

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
        kernels.sgd_step(p, g, buf, self.lr, self.momentum, self.dampening, self.weight_decay,
                         self.nesterov, first)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction, eps outside the square root as in PyTorch:

    m ← β1 m + (1 − β1) d;  v ← β2 v + (1 − β2) d²;  p ← p − η/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
    """

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
        kernels.adam_step(p, g, m, v, state["step"], self.lr, *self.betas, self.eps, self.weight_decay)


class MultiStepLR:
    """lr = base_lr · γ^(number of milestones reached); `step()` once per epoch (the paper's step decays)."""

    def __init__(self, optimizer, milestones, gamma=0.1):
        self.optimizer, self.milestones, self.gamma = optimizer, sorted(milestones), gamma
        self.base_lr, self.epoch = optimizer.lr, 0

    def step(self):
        self.epoch += 1
        self.optimizer.lr = self.base_lr * self.gamma ** sum(self.epoch >= m for m in self.milestones)

    def state_dict(self):
        return {"epoch": self.epoch, "base_lr": self.base_lr}

    def load_state_dict(self, d):
        self.epoch, self.base_lr = int(d["epoch"]), float(d["base_lr"])
        self.optimizer.lr = self.base_lr * self.gamma ** sum(self.epoch >= m for m in self.milestones)
