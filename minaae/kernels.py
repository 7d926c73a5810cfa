"""Fused elementwise kernels: CUDA source in kernels.cu, and a NumPy twin of each for the CPU.

Each kernel replaces a chain of NumPy passes over memory with one (why it pays on a GPU, and what each
fuses: docs/kernels.md). The NumPy twin is both the CPU path and the specification: tests check each twin
against an independent formula and finite differences, and each CUDA kernel against its twin. Twins keep
the input dtype (no float64 promotion of float32 data) and update optimizer state in place.
"""

import os

import numpy as np

from .backend import get_array_module

FUSED = True  # student copy: FUSED = False
"""True: optimizer updates (and the GPU's cross-entropy) run as the fused kernels below; False: as the readable
rules in optim.py and functional.py, equal to float32 rounding. The default keeps every run bit-identical."""
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels.cu")
_module = None  # the compiled cupy.RawModule, built on first use


def _launch(name, arrays, scalars=()):
    """Run kernel `name` (with the dtype suffix) over arrays of n elements on the GPU: pointer arguments
    first, then scalar arguments, then n — the order of every kernel in kernels.cu."""
    global _module
    cp = get_array_module(*arrays)
    if _module is None:
        with open(SOURCE) as f:
            _module = cp.RawModule(code=f.read(), options=("--std=c++14",))
    dtype = arrays[0].dtype
    for a in arrays:
        if not a.flags.c_contiguous:
            raise ValueError(f"kernel {name}: arrays must be C-contiguous (got strides {a.strides})")
        if a.dtype != dtype:
            raise TypeError(f"kernel {name}: mixed dtypes {dtype} and {a.dtype}")
    suffix = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}.get(np.dtype(dtype))
    if suffix is None:
        raise TypeError(f"kernel {name}: dtype {dtype} not supported (float32 or float64)")
    kernel = _module.get_function(f"{name}_{suffix}")
    n = arrays[0].size
    threads = 256
    blocks = min(max((n + threads - 1) // threads, 1), 65535)
    args = (*arrays, *(dtype.type(s) if isinstance(s, float) else np.int32(s) for s in scalars), np.int64(n))
    kernel((blocks,), (threads,), args)


def _is_gpu(*arrays):
    return get_array_module(*arrays) is not np


def _gpu_out(x, *others):
    cp = get_array_module(x)
    return cp.empty_like(x), [cp.ascontiguousarray(cp.broadcast_to(o, x.shape)) for o in others]


# ---- Activations ----------------------------------------------------------------------------------

def relu(x):
    """y = max(x, 0)."""
    if _is_gpu(x):
        y, _ = _gpu_out(x)
        _launch("relu", [x, y])
        return y
    return np.maximum(x, 0, dtype=x.dtype)


def relu_backward(y, gy):
    """gx = gy where y > 0, else 0 (the mask comes from the saved output)."""
    if _is_gpu(y, gy):
        gx, (gy,) = _gpu_out(y, gy)
        _launch("relu_backward", [y, gy, gx])
        return gx
    return np.multiply(gy, y > 0, dtype=gy.dtype)


def leaky_relu(x, slope):
    """y = x where x > 0, else slope·x."""
    if _is_gpu(x):
        y, _ = _gpu_out(x)
        _launch("leaky_relu", [x, y], [float(slope)])
        return y
    return np.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_backward(x, gy, slope):
    """gx = gy where x > 0, else slope·gy."""
    if _is_gpu(x, gy):
        gx, (gy,) = _gpu_out(x, gy)
        _launch("leaky_relu_backward", [x, gy, gx], [float(slope)])
        return gx
    return np.where(x > 0, gy, gy * gy.dtype.type(slope))


def sigmoid(x):
    """σ(x) = 1/(1 + e^−x), computed from e^−|x| so that it never overflows."""
    if _is_gpu(x):
        y, _ = _gpu_out(x)
        _launch("sigmoid", [x, y])
        return y
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


# ---- Binary cross-entropy from logits -------------------------------------------------------------

def bce_with_logits(z, t):
    """Elementwise binary cross-entropy from logits on the GPU; the formula, and the CPU path, is
    functional.bce_elementwise."""
    loss, (t,) = _gpu_out(z, t)
    _launch("bce_with_logits", [z, t, loss])
    return loss


def bce_with_logits_backward(z, t, gy):
    """gz = gy·(σ(z) − t); gy may be a scalar (the mean's 1/n)."""
    if _is_gpu(z, t):
        gz, (t, gy) = _gpu_out(z, t, gy)
        _launch("bce_with_logits_backward", [z, t, gy, gz])
        return gz
    gz = sigmoid(z)
    gz -= t
    gz *= gy
    return gz


# ---- Optimizer updates (in place; the same rules as torch.optim) ----------------------------------

def sgd_step(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, first_step):
    """SGD: d = g + wd·p; buf = d (first step) or momentum·buf + (1−dampening)·d;
    d = d + momentum·buf (Nesterov) or buf; p −= lr·d. Updates p and buf in place; g is not changed."""
    if _is_gpu(p, g):
        buf_arg = buf if buf is not None else p  # never read when momentum == 0
        _launch("sgd_step", [p, g, buf_arg],
                [float(lr), float(momentum), float(dampening), float(weight_decay), int(nesterov), int(first_step)])
        return
    d = g + p * p.dtype.type(weight_decay) if weight_decay else g
    if momentum:
        if first_step:
            buf[...] = d
        else:
            buf *= momentum
            buf += (1 - dampening) * d if dampening else d
        d = d + momentum * buf if nesterov else buf
    p -= p.dtype.type(lr) * d


def adam_step(p, g, m, v, step, lr, beta1, beta2, eps, weight_decay):
    """The Adam update of optim._adam_rule fused into one pass, in place on p, m and v (t = step, from 1);
    g is not changed."""
    step_size = lr / (1 - beta1**step)
    bc2_sqrt = (1 - beta2**step) ** 0.5
    if _is_gpu(p, g):
        _launch("adam_step", [p, g, m, v],
                [float(step_size), float(bc2_sqrt), 1.0 - beta1, 1.0 - beta2, float(eps), float(weight_decay)])
        return
    # BEGIN EXERCISE 6: the Adam update
    d = g + p * p.dtype.type(weight_decay) if weight_decay else g
    # In place with one scratch array: m += (1−β1)(d − m) is β1 m + (1−β1) d in two passes.
    s = d - m
    s *= 1 - beta1
    m += s
    np.multiply(d, d, out=s)
    s -= v
    s *= 1 - beta2
    v += s
    np.sqrt(v, out=s)
    s *= 1 / bc2_sqrt
    s += eps
    np.divide(m, s, out=s)
    s *= step_size
    p -= s
    # END EXERCISE


# ---- The reparametrized Gaussian sample -----------------------------------------------------------

def gaussian_sample(mu, logvar, eps):
    """z = μ + exp(logvar/2)·ε."""
    if _is_gpu(mu, logvar, eps):
        z, _ = _gpu_out(mu)
        _launch("gaussian_sample", [mu, logvar, eps, z])
        return z
    return mu + np.exp(0.5 * logvar) * eps


def gaussian_sample_backward(logvar, eps, gz):
    """(gμ, glogvar) = (gz, gz·ε·exp(logvar/2)/2)."""
    if _is_gpu(logvar, eps, gz):
        glogvar, _ = _gpu_out(logvar)
        _launch("gaussian_sample_backward", [logvar, eps, gz, glogvar])
        return gz, glogvar
    return gz, gz * (0.5 * np.exp(0.5 * logvar)) * eps
