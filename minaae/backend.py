"""The array backend: NumPy on the CPU, CuPy on an NVIDIA GPU.

This is the only module that knows CuPy exists. Everything above it asks an array which module it
belongs to (`get_array_module`) and never imports cupy itself, so `import minaae` works without CuPy
and the same model code runs on either device.
"""

import numpy as np

DEVICES = ("cpu", "cuda")

try:  # CuPy is an optional extra: pip install "minaae[cuda]"
    import cupy as _cupy
except Exception:  # ImportError, or a CuPy without a usable CUDA driver
    _cupy = None


def cupy_available():
    """True when CuPy imports and sees at least one GPU."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def _require_cupy():
    if not cupy_available():
        raise RuntimeError(
            "device 'cuda' needs CuPy and an NVIDIA GPU; install it with "
            "`pip install \"minaae[cuda]\"` (or the cupy-cudaXXx wheel matching your CUDA), "
            "or use device='cpu'"
        )
    return _cupy


def check_device(device):
    """Return `device` if it is 'cpu' or 'cuda', else raise a ValueError naming it."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")
    return device


def is_cupy_array(x):
    return _cupy is not None and isinstance(x, _cupy.ndarray)


def get_array_module(*arrays):
    """The module (numpy or cupy) of the given arrays; a mix of the two is an error."""
    cupy_seen = [is_cupy_array(a) for a in arrays]
    if any(cupy_seen):
        if not all(cupy_seen[i] or np.isscalar(a) for i, a in enumerate(arrays)):
            kinds = ", ".join("cupy" if c else type(a).__name__ for c, a in zip(cupy_seen, arrays))
            raise TypeError(f"device mix: arrays live on different devices ({kinds}); move them with .to()")
        return _cupy
    return np


def device_of(x):
    """'cuda' for a CuPy array, 'cpu' for anything else."""
    return "cuda" if is_cupy_array(x) else "cpu"


def to_device(x, device):
    """Move an array to `device` ('cpu' or 'cuda'); a no-op when it is already there."""
    if check_device(device) == "cuda":
        return _require_cupy().asarray(x)
    return as_numpy(x)


def like(array, reference):
    """`array` moved to the device of `reference`: noise drawn by a NumPy generator meets GPU data."""
    return to_device(array, device_of(reference))


def as_numpy(x):
    """A NumPy array of `x` (copies from the GPU when needed)."""
    if is_cupy_array(x):
        return x.get()
    return np.asarray(x)


def default_rng(seed=None, device="cpu"):
    """A seeded random generator of the device's module (numpy.random.Generator or cupy's)."""
    if check_device(device) == "cuda":
        return _require_cupy().random.default_rng(seed)
    return np.random.default_rng(seed)
