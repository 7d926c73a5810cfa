"""The fused kernels, four ways (DESIGN.md, docs/kernels.md):

1. each NumPy twin against an independent float64 formula and against central differences;
2. the CUDA source through `nvcc -ptx`, including the parameter list of every entry point against the
   arguments kernels.py passes when it launches it;
3. the same source compiled for the host with a shim, launched through kernels.py's own GPU path (a
   stand-in CuPy whose RawModule runs every thread of the grid on the CPU) and compared with the twins;
4. on a GPU machine, each CuPy kernel against its twin (the `cuda` marker).
"""

import ctypes
import re
import shutil
import subprocess
import types
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minaae import backend, kernels
from minaae import functional as F

INSTRUCTOR = True  # student copy: INSTRUCTOR = False

DTYPES = [np.float32, np.float64]
KERNEL_NAMES = ["relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid", "bce_with_logits",
                "bce_with_logits_backward", "sgd_step", "adam_step", "gaussian_sample", "gaussian_sample_backward"]


def arrays(dtype=np.float64, low=-20.0, high=20.0, shape=None):
    shape = hnp.array_shapes(min_dims=1, max_dims=2, max_side=6) if shape is None else shape
    return hnp.arrays(dtype, shape, elements=st.floats(low, high, allow_nan=False, width=np.dtype(dtype).itemsize * 8))


def assert_close(actual, desired, rtol, atol=0.0, what=""):
    """|actual − desired| <= atol + rtol·|desired| elementwise; atol may be an array."""
    actual, desired = np.asarray(actual), np.asarray(desired, dtype=np.float64)
    bad = ~(np.abs(actual.astype(np.float64) - desired) <= atol + rtol * np.abs(desired))
    assert not bad.any(), f"{what}: {actual[bad][:5]} != {desired[bad][:5]}"


# Independent references in float64, written from the definitions rather than from kernels.py.
def sigmoid_ref(x):
    """σ(x) = exp(−log(1 + e^−x)): relatively accurate in both tails."""
    return np.exp(-np.logaddexp(0, -np.asarray(x, np.float64)))


def bce_ref(z, t):
    """−[t log σ(z) + (1 − t) log(1 − σ(z))] with log σ(z) = −log(1 + e^−z), via logaddexp."""
    z, t = np.asarray(z, np.float64), np.asarray(t, np.float64)
    return t * np.logaddexp(0, -z) + (1 - t) * np.logaddexp(0, z)


def tolerance(dtype):
    return dict(rtol=2e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------------
# 1. Twins against independent formulas
# ---------------------------------------------------------------------------------------------------


@given(st.sampled_from(DTYPES).flatmap(lambda d: arrays(d)), st.floats(0.01, 0.99))
def test_relu_and_leaky_relu_twins_are_the_piecewise_definitions(x, slope):
    x64 = x.astype(np.float64)
    for out in (kernels.relu(x), kernels.leaky_relu(x, slope)):
        assert out.dtype == x.dtype and out.shape == x.shape
    np.testing.assert_array_equal(kernels.relu(x), np.where(x64 > 0, x64, 0).astype(x.dtype))
    assert_close(kernels.leaky_relu(x, slope), np.where(x64 > 0, x64, slope * x64), **tolerance(x.dtype),
                 what="leaky_relu")


@given(st.sampled_from(DTYPES).flatmap(lambda d: arrays(d)), st.floats(0.01, 0.99), st.integers(0, 99))
def test_activation_backward_twins_mask_the_cotangent(x, slope, seed):
    g = np.random.default_rng(seed).standard_normal(x.shape).astype(x.dtype)
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    gx = kernels.relu_backward(kernels.relu(x), g)
    assert gx.dtype == x.dtype
    np.testing.assert_array_equal(gx, np.where(x64 > 0, g64, 0).astype(x.dtype))
    gl = kernels.leaky_relu_backward(x, g, slope)
    assert gl.dtype == x.dtype
    assert_close(gl, np.where(x64 > 0, g64, slope * g64), **tolerance(x.dtype), what="leaky_relu_backward")


@given(st.sampled_from(DTYPES).flatmap(lambda d: arrays(d, -60, 60)))
def test_sigmoid_twin_equals_the_tanh_form(x):
    y = kernels.sigmoid(x)
    assert y.dtype == x.dtype and y.shape == x.shape
    tol = dict(rtol=1e-6, atol=0) if x.dtype == np.float32 else dict(rtol=1e-13, atol=0)
    assert_close(y, sigmoid_ref(x), what="sigmoid", **tol)  # relative: small tails must be accurate too
    assert_close(y, 0.5 * (1 + np.tanh(0.5 * x.astype(np.float64))), rtol=0, atol=4 * np.finfo(x.dtype).eps,
                 what="sigmoid, tanh form")
    assert np.all((y >= 0) & (y <= 1))


@given(st.sampled_from(DTYPES).flatmap(lambda d: arrays(d, -50, 50)), st.data())
def test_bce_twin_equals_the_textbook_cross_entropy(z, data):
    t = data.draw(hnp.arrays(z.dtype, z.shape, elements=st.floats(0, 1, width=z.dtype.itemsize * 8)))
    loss = F.bce_elementwise(z, t)
    assert loss.dtype == z.dtype and loss.shape == z.shape
    # The loss is a difference of terms of size |z|: float32 can only be exact to a few ulps of |z|.
    eps = np.finfo(z.dtype).eps
    assert_close(loss, bce_ref(z, t), rtol=8 * eps, atol=8 * eps * (1 + np.abs(z.astype(np.float64))), what="bce")
    if z.dtype == np.float64:
        moderate = np.abs(z) < 15  # where log(σ) and log(1 − σ) themselves are accurate
        p = 0.5 * (1 + np.tanh(0.5 * z[moderate]))
        textbook = -(t[moderate] * np.log(p) + (1 - t[moderate]) * np.log(1 - p))
        assert_close(loss[moderate], textbook, rtol=1e-8, atol=1e-9, what="bce, textbook form")


@given(st.sampled_from(DTYPES).flatmap(lambda d: arrays(d, -50, 50)), st.integers(0, 99))
def test_bce_backward_twin_is_sigmoid_minus_target_times_cotangent(z, seed):
    rng = np.random.default_rng(seed)
    t, g = rng.random(z.shape).astype(z.dtype), rng.standard_normal(z.shape).astype(z.dtype)
    gz = kernels.bce_with_logits_backward(z, t, g)
    assert gz.dtype == z.dtype
    tol = dict(rtol=1e-5, atol=1e-6) if z.dtype == np.float32 else dict(rtol=1e-12, atol=1e-15)
    assert_close(gz, (sigmoid_ref(z) - t) * g, what="bce backward", **tol)
    scale = z.dtype.type(1 / z.size)  # a scalar cotangent: the mean's 1/n
    assert_close(kernels.bce_with_logits_backward(z, t, scale), (sigmoid_ref(z) - t) * float(scale),
                 what="bce backward, scalar cotangent", **tol)


@given(st.sampled_from(DTYPES), st.integers(1, 12), st.integers(0, 99))
def test_gaussian_sample_twin_and_backward_are_the_reparametrization(dtype, n, seed):
    rng = np.random.default_rng(seed)
    mu, eps, gz = (rng.standard_normal((n, 3)).astype(dtype) for _ in range(3))
    logvar = rng.uniform(-6, 6, (n, 3)).astype(dtype)
    z = kernels.gaussian_sample(mu, logvar, eps)
    gmu, glogvar = kernels.gaussian_sample_backward(logvar, eps, gz)
    assert z.dtype == glogvar.dtype == dtype
    sigma = np.sqrt(np.exp(logvar.astype(np.float64)))  # σ = sqrt(e^logvar): another route to exp(logvar/2)
    ulp = np.finfo(dtype).eps
    assert_close(z, mu + sigma * eps, rtol=0, atol=8 * ulp * (np.abs(mu) + sigma * np.abs(eps)), what="gaussian_sample")
    np.testing.assert_array_equal(gmu, gz)
    assert_close(glogvar, gz * eps * sigma / 2, rtol=8 * ulp, what="gaussian_sample_backward")


# -- backward twins against central differences of the forward twins (float64, random cotangent) --------

H = 1e-6


def central(f, x):
    return (f(x + H) - f(x - H)) / (2 * H)


@given(arrays(np.float64, -8, 8), st.floats(0.01, 0.99), st.integers(0, 99))
def test_backward_twins_match_central_differences_of_their_forwards(x, slope, seed):
    rng = np.random.default_rng(seed)
    x = np.where(np.abs(x) < 1e-3, x + 0.5, x)  # away from the kink at 0
    g, t = rng.standard_normal(x.shape), rng.random(x.shape)
    logvar, eps = rng.uniform(-3, 3, x.shape), rng.standard_normal(x.shape)
    fd = dict(rtol=1e-6, atol=1e-7)  # rounding in the differences: ~1e-16 · |f| / H
    assert_close(kernels.relu_backward(kernels.relu(x), g), g * central(kernels.relu, x), what="relu", **fd)
    assert_close(kernels.leaky_relu_backward(x, g, slope), g * central(lambda v: kernels.leaky_relu(v, slope), x),
                 what="leaky_relu", **fd)
    assert_close(kernels.bce_with_logits_backward(x, t, g), g * central(lambda v: F.bce_elementwise(v, t), x),
                 what="bce", **fd)
    gmu, glogvar = kernels.gaussian_sample_backward(logvar, eps, g)
    assert_close(gmu, g * central(lambda v: kernels.gaussian_sample(v, logvar, eps), x), what="d/dmu", **fd)
    assert_close(glogvar, g * central(lambda v: kernels.gaussian_sample(x, v, eps), logvar), what="d/dlogvar", **fd)


@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_twins_are_exact_and_silent_at_huge_inputs(dtype):
    """±1e4 overflows e^|x| in both precisions; the twins only ever exponentiate −|x|."""
    z = np.array([1e4, -1e4, 1e4, -1e4, 0.0, 800.0, -800.0], dtype)
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.5, 1.0, 0.0], dtype)
    one = np.ones_like(z)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        outs = {"sigmoid": kernels.sigmoid(z), "relu": kernels.relu(z), "leaky": kernels.leaky_relu(z, 0.2),
                "bce": F.bce_elementwise(z, t), "dbce": kernels.bce_with_logits_backward(z, t, one),
                "sample": kernels.gaussian_sample(z, np.zeros_like(z), one),
                "dsample": kernels.gaussian_sample_backward(np.zeros_like(z), one, z)[1]}
    for name, out in outs.items():
        assert out.dtype == dtype and np.all(np.isfinite(out)), name
    np.testing.assert_array_equal(outs["sigmoid"][:4], [1, 0, 1, 0])
    np.testing.assert_array_equal(outs["bce"][:4], [1e4, 1e4, 0, 0])  # a confident right answer costs nothing
    np.testing.assert_array_equal(outs["dbce"][:4], [1, -1, 0, 0])
    np.testing.assert_array_equal(outs["leaky"][:2], [1e4, -2e3])
    assert_close(outs["bce"][4:], [np.log(2), 0.0, 0.0], rtol=1e-6, atol=0, what="bce")


@pytest.mark.parametrize("dtype, z", [(np.float32, 20.0), (np.float64, 40.0)])
def test_bce_of_a_confident_right_answer_keeps_its_tiny_value(dtype, z):
    """log(1 + e^−z) would round to 0 where 1 + e^−z == 1; log1p keeps the e^−z the loss really is."""
    z, t = np.array([z, -z], dtype), np.array([1.0, 0.0], dtype)
    assert_close(F.bce_elementwise(z, t), np.exp(-np.abs(z.astype(np.float64))), rtol=1e-6, what="bce tail")


# -- optimizer twins against step-by-step transcriptions of torch.optim's documented rules ---------------


def sgd_reference(p, grads, lr, momentum, dampening, wd, nesterov):
    """torch.optim.SGD (docs): g += λθ; b = g on the first step, else μb + (1−τ)g; g = g + μb (Nesterov) or b;
    θ −= γg. Float64, one line per rule."""
    p, buf = p.astype(np.float64), None
    for g in grads:
        d = g + wd * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
    return p, buf


# BEGIN INSTRUCTOR
def adam_reference(p, grads, lr, b1, b2, eps, wd):
    """torch.optim.Adam (docs): g += λθ; m, v moving averages; m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ); θ −= γ m̂/(√v̂ + ε)."""
    p, m, v = p.astype(np.float64), 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        d = g + wd * p
        m = b1 * m + (1 - b1) * d
        v = b2 * v + (1 - b2) * d * d
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p, m, v


# END INSTRUCTOR


sgd_settings = st.tuples(st.floats(1e-3, 0.5), st.sampled_from([0.0, 0.5, 0.9]), st.sampled_from([0.0, 0.3]),
                         st.sampled_from([0.0, 1e-2]), st.booleans()).filter(
    lambda s: not s[4] or (s[1] > 0 and s[2] == 0))  # Nesterov needs momentum and no dampening


@given(st.sampled_from(DTYPES), sgd_settings, st.integers(1, 6), st.integers(0, 99))
def test_sgd_step_twin_follows_the_torch_rule_in_place(dtype, settings, steps, seed):
    lr, momentum, dampening, wd, nesterov = settings
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(7).astype(dtype)
    grads = [rng.standard_normal(7).astype(dtype) for _ in range(steps)]
    p, buf = p0.copy(), np.zeros_like(p0)
    p_id, buf_id = id(p), id(buf)
    for i, g in enumerate(grads):
        g_before = g.copy()
        kernels.sgd_step(p, g, buf if momentum else None, lr, momentum, dampening, wd, nesterov, i == 0)
        np.testing.assert_array_equal(g, g_before)  # the gradient is read, never written
    assert id(p) == p_id and id(buf) == buf_id and p.dtype == buf.dtype == dtype
    ref_p, ref_buf = sgd_reference(p0, [g.astype(np.float64) for g in grads], lr, momentum, dampening, wd, nesterov)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    assert_close(p, ref_p, what="p", **tol)
    if momentum:
        assert_close(buf, ref_buf, what="momentum buffer", **tol)


# BEGIN INSTRUCTOR
@given(st.sampled_from(DTYPES), st.floats(1e-4, 0.1), st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)]),
       st.sampled_from([1e-8, 1e-3]), st.sampled_from([0.0, 1e-2]), st.integers(1, 6), st.integers(0, 99))
def test_adam_step_twin_follows_the_torch_rule_in_place(dtype, lr, betas, eps, wd, steps, seed):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(6).astype(dtype)
    grads = [rng.standard_normal(6).astype(dtype) for _ in range(steps)]
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(grads, start=1):
        g_before = g.copy()
        kernels.adam_step(p, g, m, v, t, lr, *betas, eps, wd)
        np.testing.assert_array_equal(g, g_before)
        if t == 1 and eps == 1e-8 and wd == 0:  # m̂/√v̂ = g/|g| on the first step: a step of exactly lr
            assert_close(p0.astype(np.float64) - p, lr * np.sign(g), rtol=1e-5,
                         atol=2 * np.finfo(dtype).eps * (1 + np.abs(p0)), what="first step")
    assert p.dtype == m.dtype == v.dtype == dtype
    ref_p, ref_m, ref_v = adam_reference(p0, [g.astype(np.float64) for g in grads], lr, *betas, eps, wd)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-14)
    for name, got, ref in (("p", p, ref_p), ("m", m, ref_m), ("v", v, ref_v)):
        assert_close(got, ref, what=name, **tol)
# END INSTRUCTOR


# ---------------------------------------------------------------------------------------------------
# A table of calls to every public kernel function, shared by the dispatch, host and GPU tests below.
# Each case: (label, function of the input arrays returning the arrays it produced or updated, inputs).
# ---------------------------------------------------------------------------------------------------


def kernel_cases(dtype, n=700, seed=0, solutions=INSTRUCTOR):
    """[(label, fn, inputs)]; without `solutions` (the student copy) no case whose CUDA body is an exercise."""
    rng = np.random.default_rng(seed)

    def normal(scale=1.0):
        return (rng.standard_normal(n) * scale).astype(dtype)

    x, g, logvar, eps = normal(5), normal(), normal(), normal()
    x[:4] = [1e4, -1e4, 0.0, 30.0]
    t = rng.random(n).astype(dtype)
    t[:4] = [0.0, 1.0, 0.5, 1.0]  # exact products z·t at the huge logits
    y = kernels.relu(x)
    mean_scale = np.array(1 / n, dtype)  # 0-d: the cotangent of a mean, as functional.py passes it
    m, v = normal(0.1), rng.random(n).astype(dtype) * 0.01

    def sgd(momentum, dampening, wd, nesterov, first):
        def call(p, g, buf=None):
            kernels.sgd_step(p, g, buf, 0.1, momentum, dampening, wd, nesterov, first)
            return (p,) if buf is None else (p, buf)
        return call

    def adam(step, wd):
        def call(p, g, m, v):
            kernels.adam_step(p, g, m, v, step, 1e-2, 0.9, 0.999, 1e-8, wd)
            return p, m, v
        return call

    cases = [
        ("relu", lambda x: (kernels.relu(x),), (x,)),
        ("relu_backward", lambda y, g: (kernels.relu_backward(y, g),), (y, g)),
        ("leaky_relu", lambda x: (kernels.leaky_relu(x, 0.2),), (x,)),
        ("leaky_relu_backward", lambda x, g: (kernels.leaky_relu_backward(x, g, 0.2),), (x, g)),
        ("sigmoid", lambda x: (kernels.sigmoid(x),), (x,)),
        ("bce_with_logits", lambda z, t: (bce(z, t),), (x, t)),
        ("bce_with_logits_backward", lambda z, t, g: (kernels.bce_with_logits_backward(z, t, g),), (x, t, g)),
        ("bce_with_logits_backward, 0-d cotangent", lambda z, t, s: (kernels.bce_with_logits_backward(z, t, s),),
         (x, t, mean_scale)),
        ("gaussian_sample", lambda mu, lv, e: (kernels.gaussian_sample(mu, lv, e),), (g, logvar, eps)),
        ("gaussian_sample_backward", lambda lv, e, gz: kernels.gaussian_sample_backward(lv, e, gz), (logvar, eps, x)),
        ("sgd_step, plain", sgd(0.0, 0.0, 0.0, False, True), (g, x)),
        ("sgd_step, weight decay", sgd(0.0, 0.0, 1e-2, False, False), (g, x)),
        ("sgd_step, momentum, first step", sgd(0.9, 0.0, 0.0, False, True), (g, x, eps)),
        ("sgd_step, momentum, dampening", sgd(0.9, 0.3, 1e-2, False, False), (g, x, eps)),
        ("sgd_step, Nesterov", sgd(0.9, 0.0, 1e-2, True, False), (g, x, eps)),
        ("adam_step, t=1", adam(1, 0.0), (g, x, np.zeros_like(m), np.zeros_like(v))),
        ("adam_step, t=5, weight decay", adam(5, 1e-2), (g, x, m, v)),
    ]
    return [c for c in cases if solutions or not (c[0] == "bce_with_logits" or c[0].startswith("adam"))]


def bce(z, t):
    """The forward cross-entropy: its NumPy path is functional.bce_elementwise, the kernel is for the GPU."""
    return F.bce_elementwise(z, t) if type(z) is np.ndarray else kernels.bce_with_logits(z, t)


def compare_with_twins(case, to_device, to_host, rtol, atol):
    """Run a case on the twin (NumPy inputs) and on `to_device` copies; every output must agree."""
    label, fn, inputs = case
    expected = fn(*[a.copy() for a in inputs])
    got = fn(*[to_device(a.copy()) for a in inputs])
    assert len(got) == len(expected), label
    for out, ref in zip(got, expected):
        out = to_host(out)
        assert out.dtype == ref.dtype and out.shape == ref.shape, label
        np.testing.assert_allclose(ref, out, rtol=rtol, atol=atol,
                                   err_msg=f"{label}: ACTUAL is the NumPy function, DESIRED the kernel")


CASE_LABELS = [label for label, _, _ in kernel_cases(np.float32, n=4)]
def cases_by_dtype():
    """pytest params (dtype, case label)."""
    return [pytest.param(dtype, label) for dtype in DTYPES for label in CASE_LABELS]


def get_case(dtype, label, n=700):
    return next(case for case in kernel_cases(dtype, n) if case[0] == label)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_twin_keeps_the_input_dtype_and_changes_no_input_but_its_state(dtype):
    for label, fn, inputs in kernel_cases(dtype, n=50):
        copies = [a.copy() for a in inputs]
        outs = fn(*copies)
        assert all(o.dtype == dtype for o in outs), label
        updated = {id(o) for o in outs}
        for before, after in zip(inputs, copies):
            if id(after) not in updated:
                np.testing.assert_array_equal(after, before, err_msg=f"{label} wrote to an input")


# ---------------------------------------------------------------------------------------------------
# A stand-in CuPy: kernels.py's GPU path (dispatch, _gpu_out, _launch) runs with "device" arrays that
# are NumPy arrays of a marker type, and RawModule hands each launch to a callback.
# ---------------------------------------------------------------------------------------------------


class FakeDeviceArray(np.ndarray):
    """Marks an array as living on the stand-in GPU."""


def fake_cupy(on_launch):
    """A module with what kernels.py uses of CuPy; on_launch(kernel name, grid, block, args) runs a kernel."""

    class RawModule:
        def __init__(self, code, options=()):
            self.code = code

        def get_function(self, name):
            return lambda grid, block, args: on_launch(name, grid, block, args)

    def device(a):
        return np.asarray(a).view(FakeDeviceArray)

    return types.SimpleNamespace(ndarray=FakeDeviceArray, RawModule=RawModule, broadcast_to=np.broadcast_to,
                                 empty_like=lambda a: device(np.empty_like(a)),
                                 ascontiguousarray=lambda a: device(np.ascontiguousarray(a)))


@pytest.fixture
def stand_in_gpu(monkeypatch):
    """Install a stand-in CuPy; returns a function taking the launch callback."""

    def install(on_launch):
        monkeypatch.setattr(backend, "_cupy", fake_cupy(on_launch))
        monkeypatch.setattr(kernels, "_module", None)

    return install


def to_fake_device(a):
    return np.array(a).view(FakeDeviceArray)


def recorded_launches(stand_in_gpu, dtype):
    """{kernel entry name: argument tuple} for every case of the table, without running anything."""
    launches = {}
    stand_in_gpu(lambda name, grid, block, args: launches.setdefault(name, args))
    for _, fn, inputs in kernel_cases(dtype, n=8, solutions=True):
        fn(*[to_fake_device(a) for a in inputs])
    return launches


def test_every_public_function_launches_its_kernel_for_device_arrays(stand_in_gpu):
    for dtype, suffix in ((np.float32, "f32"), (np.float64, "f64")):
        assert set(recorded_launches(stand_in_gpu, dtype)) == {f"{n}_{suffix}" for n in KERNEL_NAMES}


def test_launch_rejects_strided_mixed_and_unsupported_arrays(stand_in_gpu):
    stand_in_gpu(lambda *launch: None)
    x = to_fake_device(np.arange(8, dtype=np.float32))
    with pytest.raises(ValueError, match=r"kernel relu: arrays must be C-contiguous \(got strides \(8,\)\)"):
        kernels.relu(x[::2])
    with pytest.raises(TypeError, match="kernel relu_backward: mixed dtypes float32 and float64"):
        kernels.relu_backward(x, x.astype(np.float64))
    with pytest.raises(TypeError, match="kernel sigmoid: dtype float16 not supported"):
        kernels.sigmoid(x.astype(np.float16))


# ---------------------------------------------------------------------------------------------------
# 2. The CUDA source compiles, and each entry point takes what kernels.py passes
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ptx(tmp_path_factory):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not found on PATH")
    out = tmp_path_factory.mktemp("ptx") / "kernels.ptx"
    result = subprocess.run([nvcc, "-ptx", "-arch=sm_75", kernels.SOURCE, "-o", str(out)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    return out.read_text()


def ptx_entries(ptx):
    """{entry name: [parameter types]} from the PTX text."""
    return {name: re.findall(r"\.param\s+\.(\w+)", params)
            for name, params in re.findall(r"\.entry\s+(\w+)\s*\(([^)]*)\)", ptx)}


def test_cuda_source_compiles_with_nvcc_to_all_22_entry_points(ptx):
    assert set(ptx_entries(ptx)) == {f"{n}_{s}" for n in KERNEL_NAMES for s in ("f32", "f64")}


def test_each_entry_point_takes_the_arguments_that_launch_passes(ptx, stand_in_gpu):
    entries = ptx_entries(ptx)
    for dtype in DTYPES:
        for name, args in recorded_launches(stand_in_gpu, dtype).items():
            passed = []
            for a in args:
                if isinstance(a, np.ndarray) and a.ndim:
                    passed.append({"u64"})  # a pointer
                else:
                    passed.append({np.dtype(np.float32): {"f32"}, np.dtype(np.float64): {"f64"},
                                   np.dtype(np.int32): {"u32", "s32"}, np.dtype(np.int64): {"u64", "s64"}}
                                  [np.asarray(a).dtype])
            assert len(entries[name]) == len(passed), f"{name}: PTX {entries[name]}, launch passes {args}"
            for i, (declared, allowed) in enumerate(zip(entries[name], passed)):
                assert declared in allowed, f"{name} parameter {i}: PTX .{declared}, launch passes {allowed}"


# ---------------------------------------------------------------------------------------------------
# 3. The same source, compiled for the host, launched through kernels.py and compared with the twins
# ---------------------------------------------------------------------------------------------------

# CUDA's built-in index variables become plain globals that the test sets before calling each "thread".
SHIM = """
#include <cmath>
struct minaae_dim3 { unsigned x; };
extern "C" { minaae_dim3 blockIdx, threadIdx, blockDim, gridDim; }
#define __global__
"""


class HostGPU:
    """kernels.cu compiled with g++; `launch` runs every thread of a grid, one after another."""

    def __init__(self, lib):
        self.lib = lib
        self.index = {k: ctypes.c_uint.in_dll(lib, k) for k in ("blockIdx", "threadIdx", "blockDim", "gridDim")}

    @staticmethod
    def c_argument(a):
        if isinstance(a, np.ndarray) and a.ndim:
            assert a.flags.c_contiguous
            return ctypes.c_void_p(a.ctypes.data)
        kind = {np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double,
                np.dtype(np.int32): ctypes.c_int, np.dtype(np.int64): ctypes.c_longlong}[np.asarray(a).dtype]
        return kind(np.asarray(a).item())

    def launch(self, name, grid, block, args):
        fn = getattr(self.lib, name)
        c_args = [self.c_argument(a) for a in args]
        self.index["gridDim"].value, self.index["blockDim"].value = grid, block
        for b in range(grid):
            self.index["blockIdx"].value = b
            for t in range(block):
                self.index["threadIdx"].value = t
                fn(*c_args)


@pytest.fixture(scope="session")
def host_gpu(tmp_path_factory):
    cxx = shutil.which("g++")
    if cxx is None:
        pytest.skip("g++ not found on PATH: cannot compile the CUDA source for the host")
    folder = tmp_path_factory.mktemp("host_kernels")
    (folder / "shim.h").write_text(SHIM)
    lib = folder / "libk.so"
    result = subprocess.run([cxx, "-O1", "-shared", "-fPIC", "-x", "c++", "-include", str(folder / "shim.h"),
                             kernels.SOURCE, "-o", str(lib)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return HostGPU(ctypes.CDLL(str(lib)))


HOST_TOLERANCE = {np.float32: dict(rtol=2e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


@pytest.mark.parametrize("dtype, label", cases_by_dtype())
def test_host_compiled_kernels_launched_by_kernels_py_match_the_twins(host_gpu, stand_in_gpu, dtype, label):
    """n = 700 is not a multiple of the 256-thread block: the last block's spare threads must do nothing."""
    grids = []

    def run(name, grid, block, args):
        grids.append((grid[0], block[0]))
        host_gpu.launch(name, grid[0], block[0], args)

    stand_in_gpu(run)
    compare_with_twins(get_case(dtype, label), to_fake_device, np.asarray, **HOST_TOLERANCE[dtype])
    assert grids and set(grids) == {(3, 256)}  # ceil(700 / 256) blocks


@pytest.mark.parametrize("dtype, label", cases_by_dtype())
def test_host_kernels_cover_every_element_once_when_the_grid_is_smaller_than_n(host_gpu, stand_in_gpu, dtype, label):
    """Six threads for 700 elements: each thread strides through the array. The in-place optimizer updates
    would show an element visited twice, every case one never visited."""
    stand_in_gpu(lambda name, grid, block, args: host_gpu.launch(name, 2, 3, args))
    compare_with_twins(get_case(dtype, label), to_fake_device, np.asarray, **HOST_TOLERANCE[dtype])


# BEGIN INSTRUCTOR
def test_float32_adam_kernel_decays_the_second_moment_by_float32_of_one_minus_beta2(host_gpu):
    """v = β2·0 + (1 − β2)·1² on the first step from zero state: the twin (and torch.optim) give float32(0.001)."""
    p, g, m, v = np.zeros(1, np.float32), np.ones(1, np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32)
    scalars = np.float32([1e-3 / (1 - 0.9), (1 - 0.999) ** 0.5, 1 - 0.9, 1 - 0.999, 1e-8, 0.0])  # c1, c2: host
    host_gpu.launch("adam_step_f32", 1, 1, (p, g, m, v, *scalars, np.int64(1)))
    assert abs(v[0] / np.float32(0.001) - 1) < 4 * np.finfo(np.float32).eps, v[0]
# END INSTRUCTOR


def test_host_kernels_touch_only_the_first_n_elements(host_gpu):
    x = np.linspace(-1, 1, 10)
    y = np.full(10, 7.0)
    host_gpu.launch("relu_f64", 1, 4, (x, y, np.int64(6)))
    np.testing.assert_array_equal(y, np.concatenate([np.maximum(x[:6], 0), np.full(4, 7.0)]))
    p, g = np.ones(10, np.float32), np.ones(10, np.float32)
    host_gpu.launch("sgd_step_f32", 2, 2, (p, g, p, *np.float32([0.5, 0, 0, 0]), np.int32(0), np.int32(1),
                                            np.int64(3)))
    np.testing.assert_array_equal(p, [0.5] * 3 + [1.0] * 7)


def test_the_gpu_module_is_built_from_the_packaged_source(stand_in_gpu):
    stand_in_gpu(lambda *launch: None)
    kernels.relu(to_fake_device(np.ones(3, np.float32)))
    with open(kernels.SOURCE) as f:
        assert kernels._module.code == f.read()


# ---------------------------------------------------------------------------------------------------
# 4. On a GPU: each CuPy kernel against its twin
# ---------------------------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.parametrize("dtype, label", cases_by_dtype())
def test_cuda_kernels_match_twins(dtype, label):
    import cupy as cp

    # The GPU may fuse multiply-adds and uses its own exp: a few ulps, not bits.
    tol = dict(rtol=5e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    compare_with_twins(get_case(dtype, label, n=5000), cp.asarray, cp.asnumpy, **tol)


@pytest.mark.cuda
def test_cuda_kernels_cover_arrays_larger_than_one_grid_pass():
    import cupy as cp

    n = 65535 * 256 + 1000  # more elements than the capped grid has threads: the loop strides
    x = cp.arange(n, dtype=cp.float32) - n // 2
    y = kernels.relu(x)
    assert int(cp.count_nonzero(y != cp.maximum(x, 0))) == 0


@pytest.mark.cuda
def test_cuda_launch_rejects_strided_arrays():
    import cupy as cp

    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.relu(cp.ones(8, dtype=cp.float32)[::2])
