"""Finite-difference gradient checking: is a backward right?

For a function f and inputs x_k, pick a random cotangent v for the output (not all ones: then a backward
that forgets a transpose can still pass) and compare, for every input element, the analytic ∂(v·f)/∂x_k[i]
from backward with the central difference (v·f(x + h e_i) − v·f(x − h e_i)) / 2h, all in float64.
"""

import numpy as np

from .autograd import Tensor, no_grad
from .backend import as_numpy


class GradcheckError(AssertionError):
    """A backward disagrees with finite differences; the message names the worst element."""


def gradcheck(fn, inputs, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0, raise_exception=True):
    """Check fn's backward against central differences; return True, or raise GradcheckError.

    fn: takes Tensors (one per entry of `inputs`) and returns a Tensor.
    inputs: arrays or Tensors; each is converted to a float64 leaf that requires grad.
    The error message gives, for the worst element: the input, its index, analytic and numeric values."""
    arrays = [np.array(as_numpy(x.data if isinstance(x, Tensor) else x), dtype=np.float64) for x in inputs]
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    v = np.random.default_rng(seed).standard_normal(out.shape)
    if out.requires_grad:
        out.backward(v)

    def weighted_output():
        with no_grad():
            return float((as_numpy(fn(*[Tensor(a) for a in arrays]).data) * v).sum())

    worst = None  # (excess error, input number, index, analytic, numeric)
    for k, a in enumerate(arrays):
        analytic = np.zeros_like(a) if leaves[k].grad is None else as_numpy(leaves[k].grad)
        for index in np.ndindex(a.shape):
            saved = a[index]
            a[index] = saved + eps
            up = weighted_output()
            a[index] = saved - eps
            down = weighted_output()
            a[index] = saved
            numeric = (up - down) / (2 * eps)
            excess = abs(analytic[index] - numeric) - (atol + rtol * abs(numeric))
            if worst is None or excess > worst[0]:
                worst = (excess, k, index, analytic[index], numeric)
    if worst is not None and worst[0] > 0:
        _, k, index, analytic, numeric = worst
        message = (f"gradcheck: gradient of input {k} at index {index}: analytic {analytic:.8g}, "
                   f"numeric {numeric:.8g} (rtol={rtol}, atol={atol})")
        if raise_exception:
            raise GradcheckError(message)
        return False
    return True
