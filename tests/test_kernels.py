"""The fused kernels, three ways (DESIGN.md): each NumPy twin against an independent formula and finite
differences; the CUDA source through nvcc; the same source compiled for the host and run against the
twins; and, on a GPU machine, each CuPy kernel against its twin (the `cuda` marker)."""

import ctypes
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minaae import kernels

values = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6),
                    elements=st.floats(-20, 20, allow_nan=False))


def sigmoid_ref(x):
    return 0.5 * (1 + np.tanh(0.5 * x))  # an independent closed form of 1 / (1 + e^-x)


# ---------------------------------------------------------------------------------------------------
# 1. Twins against independent formulas
# ---------------------------------------------------------------------------------------------------


@given(values)
def test_activation_twins(x):
    np.testing.assert_array_equal(kernels.relu(x), np.where(x > 0, x, 0))
    np.testing.assert_allclose(kernels.leaky_relu(x, 0.2), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(kernels.sigmoid(x), sigmoid_ref(x), rtol=1e-12, atol=1e-15)
    g = np.cos(x)
    np.testing.assert_array_equal(kernels.relu_backward(kernels.relu(x), g), g * (x > 0))
    np.testing.assert_allclose(kernels.leaky_relu_backward(x, g, 0.2), np.where(x > 0, g, 0.2 * g))


@given(values, st.data())
def test_bce_twin_and_its_gradient(z, data):
    t = data.draw(hnp.arrays(np.float64, z.shape, elements=st.floats(0, 1)))
    p = sigmoid_ref(z)
    ref = -(t * np.log(p) + (1 - t) * np.log1p(-p))
    np.testing.assert_allclose(kernels.bce_with_logits(z, t), ref, rtol=1e-7, atol=1e-9)
    g = np.random.default_rng(0).standard_normal(z.shape)
    h = 1e-6
    numeric = (kernels.bce_with_logits(z + h, t) - kernels.bce_with_logits(z - h, t)) / (2 * h) * g
    np.testing.assert_allclose(kernels.bce_with_logits_backward(z, t, g), numeric, rtol=1e-5, atol=1e-7)


def test_float32_stays_float32_and_huge_logits_are_exact():
    z = np.array([1e4, -1e4, 0.0, 30.0], dtype=np.float32)
    t = np.array([0.0, 1.0, 0.5, 1.0], dtype=np.float32)
    for out in (kernels.sigmoid(z), kernels.bce_with_logits(z, t), kernels.relu(z),
                kernels.bce_with_logits_backward(z, t, np.float32(1.0))):
        assert out.dtype == np.float32 and np.all(np.isfinite(out))
    np.testing.assert_array_equal(kernels.sigmoid(z)[:2], [1.0, 0.0])
    np.testing.assert_allclose(kernels.bce_with_logits(z, t), [1e4, 1e4, np.log(2), np.log1p(np.exp(-30))])


@given(hnp.arrays(np.float64, (3, 4), elements=st.floats(-3, 3)), st.integers(0, 50))
def test_gaussian_sample_twin_and_gradient(logvar, seed):
    rng = np.random.default_rng(seed)
    mu, eps, gz = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(kernels.gaussian_sample(mu, logvar, eps), mu + np.sqrt(np.exp(logvar)) * eps)
    gmu, glogvar = kernels.gaussian_sample_backward(logvar, eps, gz)
    h = 1e-6
    numeric = (kernels.gaussian_sample(mu, logvar + h, eps) - kernels.gaussian_sample(mu, logvar - h, eps)) / (2 * h)
    np.testing.assert_allclose(gmu, gz)
    np.testing.assert_allclose(glogvar, gz * numeric, rtol=1e-6, atol=1e-9)


def sgd_reference(p, grads, lr, momentum, dampening, wd, nesterov):
    """torch.optim.SGD's documented rule, written out step by step in float64."""
    p, buf = p.copy(), None
    for g in grads:
        d = g + wd * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
    return p


@pytest.mark.parametrize("momentum, dampening, wd, nesterov", [
    (0.0, 0.0, 0.0, False), (0.9, 0.0, 0.0, False), (0.9, 0.3, 1e-2, False), (0.9, 0.0, 1e-2, True)])
def test_sgd_step_twin_follows_torch_rule(momentum, dampening, wd, nesterov):
    rng = np.random.default_rng(1)
    p0, grads = rng.standard_normal(5), [rng.standard_normal(5) for _ in range(6)]
    p, buf = p0.copy(), np.zeros(5)
    for i, g in enumerate(grads):
        g_before = g.copy()
        kernels.sgd_step(p, g, buf if momentum else None, 0.1, momentum, dampening, wd, nesterov, i == 0)
        np.testing.assert_array_equal(g, g_before)  # the gradient is never modified
    np.testing.assert_allclose(p, sgd_reference(p0, grads, 0.1, momentum, dampening, wd, nesterov), rtol=1e-12)


def test_adam_step_twin_follows_torch_rule_and_first_step_is_lr_times_sign():
    rng = np.random.default_rng(2)
    p0, grads = rng.standard_normal(6), [rng.standard_normal(6) for _ in range(5)]
    lr, b1, b2, eps, wd = 1e-2, 0.9, 0.999, 1e-8, 1e-3
    p, m, v = p0.copy(), np.zeros(6), np.zeros(6)
    ref, rm, rv = p0.copy(), np.zeros(6), np.zeros(6)
    for t, g in enumerate(grads, start=1):
        kernels.adam_step(p, g, m, v, t, lr, b1, b2, eps, wd)
        d = g + wd * ref
        rm, rv = b1 * rm + (1 - b1) * d, b2 * rv + (1 - b2) * d * d
        ref = ref - lr / (1 - b1**t) * rm / (np.sqrt(rv) / np.sqrt(1 - b2**t) + eps)
        if t == 1:  # m̂ / sqrt(v̂) = g / |g| on the first step
            np.testing.assert_allclose(p, p0 - lr * np.sign(grads[0] + wd * p0), rtol=1e-6)
    np.testing.assert_allclose(p, ref, rtol=1e-12)


# ---------------------------------------------------------------------------------------------------
# 2. The CUDA source compiles
# ---------------------------------------------------------------------------------------------------

KERNEL_NAMES = ["relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid", "bce_with_logits",
                "bce_with_logits_backward", "sgd_step", "adam_step", "gaussian_sample", "gaussian_sample_backward"]


def test_cuda_source_compiles_with_nvcc(tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not found on PATH: the CUDA compile check needs the CUDA toolkit")
    ptx = tmp_path / "kernels.ptx"
    result = subprocess.run([nvcc, "-ptx", "-arch=sm_75", kernels.SOURCE, "-o", str(ptx)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    entries = set(re.findall(r"\.entry\s+(\w+)", ptx.read_text()))
    assert entries == {f"{n}_{s}" for n in KERNEL_NAMES for s in ("f32", "f64")}


# ---------------------------------------------------------------------------------------------------
# 3. The same source, compiled for the host, against the twins
# ---------------------------------------------------------------------------------------------------

SHIM = """
#include <math.h>
struct dim { unsigned x; };
static dim blockIdx = {0}, threadIdx = {0}, blockDim = {1}, gridDim = {1};  // one thread covers every i
#define __global__
"""


@pytest.fixture(scope="session")
def host_kernels(tmp_path_factory):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler found: cannot run the CUDA source on the host")
    folder = tmp_path_factory.mktemp("host_kernels")
    (folder / "shim.h").write_text(SHIM)
    lib = folder / "libkernels.so"
    subprocess.run([cxx, "-O1", "-shared", "-fPIC", "-x", "c++", "-include", str(folder / "shim.h"), kernels.SOURCE,
                    "-o", str(lib)], check=True, capture_output=True)
    return ctypes.CDLL(str(lib))


def host_call(lib, name, dtype, arrays, scalars=()):
    ctype = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    fn = getattr(lib, f"{name}_{'f32' if dtype == np.float32 else 'f64'}")
    args = [a.ctypes.data_as(ctypes.c_void_p) for a in arrays]
    args += [ctypes.c_int(s) if isinstance(s, bool) else ctype(s) for s in scalars]
    fn(*args, ctypes.c_longlong(arrays[0].size))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_host_compiled_elementwise_kernels_match_twins(host_kernels, dtype):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(1000) * 5).astype(dtype)
    x[:2] = [1e4, -1e4]
    t, g = rng.random(1000).astype(dtype), rng.standard_normal(1000).astype(dtype)
    tol = dict(rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6 if dtype == np.float32 else 1e-14)
    cases = [("relu", [x], kernels.relu(x), ()), ("sigmoid", [x], kernels.sigmoid(x), ()),
             ("relu_backward", [kernels.relu(x), g], kernels.relu_backward(kernels.relu(x), g), ()),
             ("leaky_relu", [x], kernels.leaky_relu(x, 0.2), (0.2,)),
             ("leaky_relu_backward", [x, g], kernels.leaky_relu_backward(x, g, 0.2), (0.2,)),
             ("bce_with_logits", [x, t], kernels.bce_with_logits(x, t), ()),
             ("bce_with_logits_backward", [x, t, g], kernels.bce_with_logits_backward(x, t, g), ()),
             ("gaussian_sample", [g, t, x / 5], kernels.gaussian_sample(g, t, x / 5), ()),
             ("gaussian_sample_backward", [t, x / 5, g], kernels.gaussian_sample_backward(t, x / 5, g)[1], ())]
    for name, inputs, expected, scalars in cases:
        out = np.zeros_like(x)
        inputs = [np.ascontiguousarray(a, dtype=dtype) for a in inputs]
        host_call(host_kernels, name, dtype, [*inputs, out], scalars)
        np.testing.assert_allclose(out, expected, **tol, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_host_compiled_optimizer_kernels_match_twins(host_kernels, dtype):
    rng = np.random.default_rng(4)
    p0, g = rng.standard_normal(500).astype(dtype), rng.standard_normal(500).astype(dtype)
    p1, buf1 = p0.copy(), rng.standard_normal(500).astype(dtype)
    p2, buf2 = p0.copy(), buf1.copy()
    kernels.sgd_step(p1, g, buf1, 0.1, 0.9, 0.0, 1e-2, True, False)
    host_call(host_kernels, "sgd_step", dtype, [p2, g, buf2], (0.1, 0.9, 0.0, 1e-2, True, False))
    np.testing.assert_allclose(p2, p1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(buf2, buf1, rtol=1e-6)
    m1, v1 = rng.standard_normal(500).astype(dtype), rng.random(500).astype(dtype)
    p3, m3, v3, p4, m4, v4 = p0.copy(), m1.copy(), v1.copy(), p0.copy(), m1.copy(), v1.copy()
    step, lr, b1, b2 = 3, 1e-3, 0.9, 0.999
    kernels.adam_step(p3, g, m3, v3, step, lr, b1, b2, 1e-8, 0.0)
    host_call(host_kernels, "adam_step", dtype, [p4, g, m4, v4],
              (lr / (1 - b1**step), (1 - b2**step) ** 0.5, b1, b2, 1e-8, 0.0))
    for a, b in ((p3, p4), (m3, m4), (v3, v4)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------------
# 4. On a GPU: each CuPy kernel against its twin
# ---------------------------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_kernels_match_twins(dtype):
    import cupy as cp

    rng = np.random.default_rng(5)
    x, t, g = (rng.standard_normal(4096) * 4).astype(dtype), rng.random(4096).astype(dtype), \
        rng.standard_normal(4096).astype(dtype)
    X, T, G = cp.asarray(x), cp.asarray(t), cp.asarray(g)
    pairs = [(kernels.relu(X), kernels.relu(x)), (kernels.sigmoid(X), kernels.sigmoid(x)),
             (kernels.relu_backward(X, G), kernels.relu_backward(x, g)),
             (kernels.leaky_relu(X, 0.2), kernels.leaky_relu(x, 0.2)),
             (kernels.leaky_relu_backward(X, G, 0.2), kernels.leaky_relu_backward(x, g, 0.2)),
             (kernels.bce_with_logits(X, T), kernels.bce_with_logits(x, t)),
             (kernels.bce_with_logits_backward(X, T, G), kernels.bce_with_logits_backward(x, t, g)),
             (kernels.gaussian_sample(G, T, X), kernels.gaussian_sample(g, t, x))]
    for gpu, cpu in pairs:
        np.testing.assert_allclose(cp.asnumpy(gpu), cpu, rtol=1e-5)
    p, P, buf, BUF = x.copy(), X.copy(), g.copy(), G.copy()
    kernels.sgd_step(p, g, buf, 0.1, 0.9, 0.0, 0.0, False, False)
    kernels.sgd_step(P, G, BUF, 0.1, 0.9, 0.0, 0.0, False, False)
    np.testing.assert_allclose(cp.asnumpy(P), p, rtol=1e-5)
    m, v, M, V = np.zeros_like(x), np.zeros_like(x), cp.zeros_like(X), cp.zeros_like(X)
    kernels.adam_step(p, g, m, v, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0)
    kernels.adam_step(P, G, M, V, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0)
    np.testing.assert_allclose(cp.asnumpy(P), p, rtol=1e-5)


def test_kernel_source_is_packaged_next_to_the_module():
    assert os.path.exists(kernels.SOURCE) and kernels.SOURCE.endswith("kernels.cu")


def test_cupy_arrays_dispatch_to_the_cuda_kernels(monkeypatch):
    """Without a GPU: a stand-in cupy module and array type; each public function must launch its kernel."""
    import types

    from minaae import backend

    class FakeGPUArray(np.ndarray):
        pass

    fake = types.SimpleNamespace(ndarray=FakeGPUArray, empty_like=lambda a: np.empty_like(a).view(FakeGPUArray),
                                 ascontiguousarray=lambda a: np.ascontiguousarray(a).view(FakeGPUArray),
                                 broadcast_to=np.broadcast_to)
    monkeypatch.setattr(backend, "_cupy", fake)
    launched = []
    monkeypatch.setattr(kernels, "_launch", lambda name, arrays, scalars=(): launched.append(name))
    x = np.ones(4, np.float32).view(FakeGPUArray)
    kernels.relu(x), kernels.sigmoid(x), kernels.bce_with_logits(x, x), kernels.bce_with_logits_backward(x, x, x)
    kernels.leaky_relu(x, 0.2), kernels.relu_backward(x, x), kernels.leaky_relu_backward(x, x, 0.2)
    kernels.sgd_step(x, x, x, 0.1, 0.9, 0.0, 0.0, False, True)
    kernels.adam_step(x, x, x, x, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0)
    kernels.gaussian_sample(x, x, x), kernels.gaussian_sample_backward(x, x, x)
    assert launched == ["relu", "sigmoid", "bce_with_logits", "bce_with_logits_backward", "leaky_relu",
                        "relu_backward", "leaky_relu_backward", "sgd_step", "adam_step", "gaussian_sample",
                        "gaussian_sample_backward"]
