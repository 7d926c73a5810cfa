"""Properties of the engine beyond single-function gradients (docs/autograd.md)."""

import sys
import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minaae as ma
import minaae.functional as F
from minaae import Tensor, backend

floats = st.floats(-3, 3, allow_nan=False)
vectors = hnp.arrays(np.float64, st.integers(1, 6), elements=floats)


@given(vectors, st.floats(-4, 4).filter(lambda a: abs(a) > 1e-3))
def test_backward_is_linear_in_the_output(x, a):
    """grad of a·f is a·(grad of f)."""
    f = lambda t: (F.tanh(t) * t).sum()
    t1, t2 = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    f(t1).backward()
    (f(t2) * a).backward()
    np.testing.assert_allclose(t2.grad, a * t1.grad, rtol=1e-12, atol=1e-12)


@given(vectors)
def test_a_tensor_used_twice_accumulates_both_gradients(x):
    t = Tensor(x, requires_grad=True)
    (t * t + F.exp(t) + t).sum().backward()
    np.testing.assert_allclose(t.grad, 2 * x + np.exp(x) + 1)


def test_gradients_accumulate_across_backward_calls_until_zeroed():
    t = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (t * 3).sum().backward()
    (t * 3).sum().backward()
    np.testing.assert_allclose(t.grad, [6.0, 6.0])
    t.zero_grad()
    assert t.grad is None


def test_a_plus_a_gradients_are_not_aliased_between_leaves():
    a, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    (a + b).sum().backward()
    a.grad *= 5
    np.testing.assert_array_equal(b.grad, np.ones(3))


def test_no_grad_records_nothing():
    t = Tensor(np.ones(3), requires_grad=True)
    with ma.no_grad():
        y = (t * 2).sum()
    assert not y.requires_grad and y._ctx is None
    assert ma.is_grad_enabled()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_detach_cuts_the_graph():
    t = Tensor(np.array([2.0]), requires_grad=True)
    y = (t * t).detach() * t
    y.sum().backward()
    np.testing.assert_allclose(t.grad, [4.0])  # only the un-detached factor contributes


@given(st.integers(1, 4), st.integers(1, 4))
def test_broadcast_backward_sums_back_exactly(n, m):
    a = Tensor(np.ones((n, m)), requires_grad=True)
    b = Tensor(np.ones((1, m)), requires_grad=True)
    c = Tensor(np.ones(()), requires_grad=True)
    (a * b + c).sum().backward()
    assert b.grad.shape == (1, m) and c.grad.shape == ()
    np.testing.assert_array_equal(b.grad, np.full((1, m), n))
    assert c.grad == n * m


def test_a_chain_of_ten_thousand_ops_does_not_recurse():
    t = Tensor(np.array(1.0), requires_grad=True)
    y = t
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(t.grad, 1.0001**10_000)


def test_backward_frees_the_graph_and_a_second_pass_through_it_is_an_error():
    t = Tensor(np.ones(2), requires_grad=True)
    h = t * 2
    y = h.sum()
    y.backward()
    assert vars(y._ctx) == {} and vars(h._ctx) == {}  # the saved arrays are released
    assert not h.is_leaf  # an intermediate stays one: it does not silently become a leaf
    with pytest.raises(RuntimeError, match="freed.*retain_graph=True"):
        y.backward()
    with pytest.raises(RuntimeError, match="freed"):  # an intermediate reused after backward
        (h * 3).sum().backward()
    assert np.array_equal(t.grad, [2.0, 2.0])  # unchanged by the refused passes


def test_retain_graph_allows_a_second_backward_that_accumulates():
    t = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    h = t * t
    h.sum().backward(retain_graph=True)
    (h * 3).sum().backward()  # the reused intermediate carries the gradient to t: d(3t²)/dt = 6t
    assert np.array_equal(t.grad, 2 * np.array([1.0, -2.0]) + 6 * np.array([1.0, -2.0]))


def test_a_gradient_has_its_tensors_dtype_when_float32_meets_float64():
    w = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    x = Tensor(np.array([0.1, 0.2, 0.3]))  # float64
    (w * x).sum().backward()
    assert w.grad.dtype == np.float32 and np.allclose(w.grad, [0.1, 0.2, 0.3])


def test_bool_of_one_element_is_its_value_of_more_an_error():
    assert bool(Tensor([0.0])) is False and bool(Tensor(np.array(3.0))) is True
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 1.0]))


def test_float32_stays_float32_with_python_scalars():
    t = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (t * 2.0 + 1.0) / 3.0 - 0.5
    assert y.dtype == np.float32
    y.sum().backward()
    assert t.grad.dtype == np.float32


def test_comparisons_give_boolean_arrays_without_grad():
    t = Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    np.testing.assert_array_equal(t > 0, [False, True])
    np.testing.assert_array_equal(t <= Tensor(np.array([0.0, 0.0])), [True, False])


def test_non_float_data_cannot_require_grad():
    with pytest.raises(TypeError, match="int64"):
        Tensor(np.array([1, 2]), requires_grad=True)


def test_backward_of_non_scalar_needs_a_gradient():
    t = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(3,\) is not a scalar"):
        (t * 2).backward()
    with pytest.raises(ValueError, match="gradient shape"):
        (t * 2).backward(np.ones(2))


def test_device_mix_is_a_clear_error(monkeypatch):
    """A numpy array meeting a cupy array names the mix (a stand-in cupy module: no GPU here)."""
    class FakeCupyArray(np.ndarray):
        pass

    fake = types.SimpleNamespace(ndarray=FakeCupyArray)
    monkeypatch.setattr(backend, "_cupy", fake)
    gpu = np.ones(3).view(FakeCupyArray)
    with pytest.raises(TypeError, match="device mix"):
        backend.get_array_module(np.ones(3), gpu)
    assert backend.get_array_module(gpu) is fake


def test_cuda_without_cupy_says_how_to_install(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    with pytest.raises(RuntimeError, match=r"pip install"):
        backend.to_device(np.ones(2), "cuda")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        backend.to_device(np.ones(2), "gpu")


def test_importing_minaae_does_not_need_cupy():
    assert "minaae" in sys.modules
    assert backend.get_array_module(np.ones(1)) is np
    assert Tensor(np.ones(2)).to("cpu").device == "cpu"
