"""Every differentiable function: forward against an independent NumPy expression, backward against
central finite differences (minaae.gradcheck), over shapes and values drawn by Hypothesis.

A failing test names the function that is wrong: test_<function>_...
"""

import functools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minaae as ma
import minaae.functional as F
from minaae import Tensor, gradcheck

assert_close = functools.partial(np.testing.assert_allclose, rtol=1e-9, atol=1e-12)

# ---------------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------------

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
matrix_shapes = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5)


def arrays(shape, low=-3.0, high=3.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, width=64))


def away_from(x, points, margin=1e-3):
    """True when no element of x lies within `margin` of a kink or pole."""
    return all(np.all(np.abs(x - p) > margin) for p in points)


@st.composite
def broadcast_pair(draw):
    """Two different arrays whose shapes broadcast (one side may lose axes or have length-1 axes)."""
    shape = draw(shapes)
    other = list(shape[draw(st.integers(0, len(shape))):])
    other = tuple(1 if draw(st.booleans()) else n for n in other)
    if draw(st.booleans()):
        shape, other = other, shape
    a, b = draw(arrays(shape)), draw(arrays(other))
    return a, b


def check(fn, *inputs, **kw):
    assert gradcheck(fn, list(inputs), **kw)


# ---------------------------------------------------------------------------------------------------
# The checker itself must catch a wrong backward
# ---------------------------------------------------------------------------------------------------


class WrongSquare(ma.Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return g * self.x  # forgot the factor 2


class ForgetsTranspose(ma.Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        return g @ self.b, self.a @ g  # wrong: b and a should be transposed


def test_gradcheck_rejects_a_wrong_backward():
    with pytest.raises(ma.GradcheckError, match="analytic"):
        gradcheck(lambda x: WrongSquare()(x), [np.array([1.0, 2.0, -0.5])])


def test_gradcheck_rejects_a_forgotten_transpose_on_square_inputs():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    assert not gradcheck(lambda a, b: ForgetsTranspose()(a, b), [a, b], raise_exception=False)


def test_gradcheck_reports_worst_element_index():
    with pytest.raises(ma.GradcheckError, match=r"index \(2,\)"):
        gradcheck(lambda x: WrongSquare()(x), [np.array([0.1, 0.2, 5.0])])


# ---------------------------------------------------------------------------------------------------
# Arithmetic with broadcasting
# ---------------------------------------------------------------------------------------------------


@given(broadcast_pair())
def test_add_sub_mul_match_numpy_and_gradients(pair):
    a, b = pair
    assume(not np.array_equal(np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)),
                              np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape))))
    for op, ref in [(lambda x, y: x + y, np.add), (lambda x, y: x - y, np.subtract),
                    (lambda x, y: x * y, np.multiply)]:
        assert_close(op(Tensor(a), Tensor(b)).data, ref(a, b))
        check(op, a, b)


@given(broadcast_pair())
def test_div_gradients_away_from_zero_denominator(pair):
    a, b = pair
    b = np.where(np.abs(b) < 0.5, 0.5 + np.abs(b), b)
    assert_close((Tensor(a) / Tensor(b)).data, a / b)
    check(lambda x, y: x / y, a, b)


@given(arrays(shapes, 0.2, 3.0), st.sampled_from([2, 3, 0.5, -1.0, -2.5]))
def test_pow_constant_exponent(x, p):
    assert_close((Tensor(x) ** p).data, x**p)
    check(lambda t: t**p, x)


@given(arrays(shapes))
def test_neg_and_scalar_ops(x):
    assert_close((-Tensor(x)).data, -x)
    check(lambda t: 2.5 - t * 3.0 + 1.0 / (t * t + 1.0), x)


@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.data())
def test_matmul_rectangular(n, k, m, data):
    a, b = data.draw(arrays((n, k))), data.draw(arrays((k, m)))
    assert_close((Tensor(a) @ Tensor(b)).data, a @ b)
    check(lambda x, y: x @ y, a, b)


@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.booleans(), st.data())
def test_linear_equals_x_w_plus_b(n, k, m, with_bias, data):
    x, w, b = data.draw(arrays((n, k))), data.draw(arrays((k, m))), data.draw(arrays((m,)))
    if with_bias:
        assert_close(F.linear(x, w, b).data, x @ w + b)
        check(F.linear, x, w, b)
    else:
        assert_close(F.linear(x, w).data, x @ w)
        check(F.linear, x, w)


# ---------------------------------------------------------------------------------------------------
# Reductions, shapes, indexing
# ---------------------------------------------------------------------------------------------------


@st.composite
def array_and_axis(draw):
    x = draw(arrays(shapes))
    axis = draw(st.none() | st.integers(-x.ndim, x.ndim - 1)) if x.ndim else None
    return x, axis, draw(st.booleans())


@given(array_and_axis())
def test_sum_mean(args):
    x, axis, keepdims = args
    assert_close(Tensor(x).sum(axis, keepdims).data, x.sum(axis=axis, keepdims=keepdims))
    assert_close(Tensor(x).mean(axis, keepdims).data, x.mean(axis=axis, keepdims=keepdims))
    check(lambda t: t.sum(axis, keepdims), x)
    check(lambda t: t.mean(axis, keepdims), x)


@given(array_and_axis())
def test_max_away_from_ties(args):
    x, axis, keepdims = args
    x = x + np.arange(x.size).reshape(x.shape) * 0.01  # distinct values: no ties at the kink
    assert_close(Tensor(x).max(axis, keepdims).data, x.max(axis=axis, keepdims=keepdims))
    check(lambda t: t.max(axis, keepdims), x)


def test_max_splits_gradient_between_ties():
    x = Tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    x.max().backward()
    assert_close(x.grad, [0.0, 0.5, 0.5])


@given(arrays(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)))
def test_reshape_transpose(x):
    np.testing.assert_array_equal(Tensor(x).reshape(-1).data, x.reshape(-1))
    np.testing.assert_array_equal(Tensor(x).T.data, x.T)
    check(lambda t: t.reshape(x.size, 1), x)
    check(lambda t: t.T, x)
    axes = tuple(np.random.default_rng(x.size).permutation(x.ndim))
    check(lambda t: t.transpose(axes), x)


@given(arrays(hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=5)), st.data())
def test_getitem_slices_and_repeated_fancy_index(x, data):
    rows = data.draw(st.lists(st.integers(0, x.shape[0] - 1), min_size=1, max_size=6))
    np.testing.assert_array_equal(Tensor(x)[rows].data, x[rows])
    check(lambda t: t[rows], x)
    check(lambda t: t[1:, ::2], x)
    check(lambda t: t[:, -1], x)


# ---------------------------------------------------------------------------------------------------
# Elementwise math and activations
# ---------------------------------------------------------------------------------------------------


@given(arrays(shapes))
def test_exp_tanh_sigmoid_softplus(x):
    sig = 1 / (1 + np.exp(-x))
    for fn, ref in [(F.exp, np.exp(x)), (F.tanh, np.tanh(x)), (F.sigmoid, sig),
                    (F.softplus, np.log1p(np.exp(x)))]:
        assert_close(fn(x).data, ref, rtol=1e-12, atol=1e-12)
        check(fn, x)


@given(arrays(shapes, 0.05, 5.0))
def test_log_sqrt_positive_domain(x):
    assert_close(F.log(x).data, np.log(x))
    assert_close(F.sqrt(x).data, np.sqrt(x))
    check(F.log, x)
    check(F.sqrt, x)


@given(arrays(shapes))
def test_abs_relu_leaky_relu_away_from_zero(x):
    assume(away_from(x, [0.0]))
    np.testing.assert_array_equal(F.abs(x).data, np.abs(x))
    np.testing.assert_array_equal(F.relu(x).data, np.maximum(x, 0))
    assert_close(F.leaky_relu(x, 0.2).data, np.where(x > 0, x, 0.2 * x))
    check(F.abs, x)
    check(F.relu, x)
    check(lambda t: F.leaky_relu(t, 0.2), x)


@given(arrays(shapes))
def test_clip_away_from_bounds(x):
    assume(away_from(x, [-1.0, 1.5]))
    np.testing.assert_array_equal(F.clip(x, -1.0, 1.5).data, np.clip(x, -1.0, 1.5))
    check(lambda t: F.clip(t, -1.0, 1.5), x)


@given(broadcast_pair())
def test_maximum_and_where_away_from_ties(pair):
    a, b = pair
    full = np.broadcast_shapes(a.shape, b.shape)
    assume(away_from(np.broadcast_to(a, full) - np.broadcast_to(b, full), [0.0]))
    np.testing.assert_array_equal(F.maximum(Tensor(a), Tensor(b)).data, np.maximum(a, b))
    check(F.maximum, a, b)
    cond = np.broadcast_to(a, full) > 0
    np.testing.assert_array_equal(F.where(cond, Tensor(a), Tensor(b)).data, np.where(cond, a, b))
    check(lambda x, y: F.where(cond, x, y), a, b)


# ---------------------------------------------------------------------------------------------------
# Softmax family
# ---------------------------------------------------------------------------------------------------


@given(arrays(matrix_shapes, -5, 5), st.sampled_from([0, 1, -1]))
def test_softmax_log_softmax_logsumexp(x, axis):
    m = x.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    assert_close(F.logsumexp(x, axis).data, lse.squeeze(axis))
    assert_close(F.log_softmax(x, axis).data, x - lse)
    assert_close(F.softmax(x, axis).data, np.exp(x - lse))
    check(lambda t: F.logsumexp(t, axis), x)
    check(lambda t: F.logsumexp(t, axis, keepdims=True), x)
    check(lambda t: F.log_softmax(t, axis), x)
    check(lambda t: F.softmax(t, axis), x)


def test_log_softmax_is_finite_for_huge_logits():
    x = np.array([[1e4, -1e4, 0.0]], dtype=np.float32)
    out = F.log_softmax(x).data
    assert np.all(np.isfinite(out)) and out.dtype == np.float32
    assert_close(out, [[0.0, -2e4, -1e4]])


# ---------------------------------------------------------------------------------------------------
# Joining
# ---------------------------------------------------------------------------------------------------


@given(st.integers(1, 4), st.lists(st.integers(1, 3), min_size=1, max_size=3), st.data())
def test_concat_along_features(n, widths, data):
    parts = [data.draw(arrays((n, w))) for w in widths]
    np.testing.assert_array_equal(F.concat(parts, axis=1).data, np.concatenate(parts, axis=1))
    check(lambda *ts: F.concat(ts, axis=1), *parts)


@given(arrays(hnp.array_shapes(min_dims=1, max_dims=2, max_side=3)), st.integers(1, 3), st.data())
def test_stack(x, k, data):
    parts = [x] + [data.draw(arrays(x.shape)) for _ in range(k)]
    axis = data.draw(st.integers(0, x.ndim))
    np.testing.assert_array_equal(F.stack(parts, axis).data, np.stack(parts, axis))
    check(lambda *ts: F.stack(ts, axis), *parts)


# ---------------------------------------------------------------------------------------------------
# Dropout and batch norm
# ---------------------------------------------------------------------------------------------------


@given(arrays((4, 6)), st.sampled_from([0.2, 0.5]), st.integers(0, 100))
def test_dropout_train_scales_survivors_and_eval_is_identity(x, p, seed):
    out = F.dropout(x, p, training=True, rng=np.random.default_rng(seed)).data
    keep = np.random.default_rng(seed).random(x.shape) >= p
    assert_close(out, np.where(keep, x / (1 - p), 0.0))
    np.testing.assert_array_equal(F.dropout(x, p, training=False, rng=None).data, x)
    check(lambda t: F.dropout(t, p, True, np.random.default_rng(seed)), x)


def test_dropout_keeps_the_expected_value():
    x = np.ones((200, 500))
    out = F.dropout(x, 0.3, True, np.random.default_rng(0)).data
    assert abs(out.mean() - 1.0) < 0.01


@given(st.integers(2, 6), st.integers(1, 4), st.data())
def test_batch_norm_training_forward_and_gradients(n, d, data):
    x = data.draw(arrays((n, d)))
    assume(np.all(x.std(axis=0) > 0.1))
    gamma, beta = data.draw(arrays((d,), 0.5, 2.0)), data.draw(arrays((d,)))
    ref = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) * gamma + beta
    out = F.batch_norm(x, gamma, beta, np.zeros(d), np.ones(d), training=True)
    assert_close(out.data, ref, atol=1e-10)
    check(lambda t, g, b: F.batch_norm(t, g, b, np.zeros(d), np.ones(d), True), x, gamma, beta, rtol=1e-4)


def test_batch_norm_running_statistics_and_eval_mode():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3)) * 2 + 5
    rm, rv = np.zeros(3), np.ones(3)
    F.batch_norm(x, np.ones(3), np.zeros(3), rm, rv, training=True, momentum=0.1)
    assert_close(rm, 0.1 * x.mean(0))
    assert_close(rv, 0.9 + 0.1 * x.var(0, ddof=1))
    out = F.batch_norm(x, np.full(3, 2.0), np.full(3, 1.0), rm, rv, training=False)
    assert_close(out.data, (x - rm) / np.sqrt(rv + 1e-5) * 2 + 1)
    check(lambda t: F.batch_norm(t, np.full(3, 2.0), np.ones(3), rm, rv, False), x[:4])


# ---------------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------------


@given(arrays(matrix_shapes), st.data())
def test_mse_loss(x, data):
    t = data.draw(arrays(x.shape))
    assert_close(F.mse_loss(x, t).data, ((x - t) ** 2).mean())
    check(F.mse_loss, x, t)


@given(arrays(matrix_shapes, -8, 8), st.data())
def test_bce_with_logits_matches_the_probability_form(z, data):
    t = data.draw(hnp.arrays(np.float64, z.shape, elements=st.floats(0, 1)))
    p = 1 / (1 + np.exp(-z))
    ref = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
    assert_close(F.binary_cross_entropy_with_logits(z, t).data, ref, rtol=1e-9)
    check(F.binary_cross_entropy_with_logits, z, t)


def test_bce_with_logits_is_exact_at_huge_logits():
    z = Tensor(np.array([1e4, -1e4, 1e4, -1e4], dtype=np.float32), requires_grad=True)
    t = np.array([1.0, 0.0, 0.0, 1.0], dtype=np.float32)
    loss = F.binary_cross_entropy_with_logits(z, t)
    assert_close(loss.data, (0 + 0 + 1e4 + 1e4) / 4)
    loss.backward()
    assert_close(z.grad, [0.0, 0.0, 0.25, -0.25])
    assert loss.dtype == np.float32 and np.all(np.isfinite(z.grad))


@given(arrays(matrix_shapes, -5, 5), st.data())
def test_cross_entropy_with_integer_labels(z, data):
    labels = np.array(data.draw(st.lists(st.integers(0, z.shape[1] - 1), min_size=z.shape[0],
                                         max_size=z.shape[0])))
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    assert_close(F.cross_entropy(z, labels).data, -logp[np.arange(len(z)), labels].mean())
    check(lambda t: F.cross_entropy(t, labels), z)


# ---------------------------------------------------------------------------------------------------
# Reparametrization and the Gaussian KL
# ---------------------------------------------------------------------------------------------------


@given(arrays(matrix_shapes), st.data(), st.integers(0, 100))
def test_gaussian_sample_is_mu_plus_sigma_eps(mu, data, seed):
    logvar = data.draw(arrays(mu.shape, -2, 2))
    eps = np.random.default_rng(seed).standard_normal(mu.shape)
    z = F.gaussian_sample(mu, logvar, np.random.default_rng(seed))
    assert_close(z.data, mu + np.exp(0.5 * logvar) * eps)
    check(lambda m, lv: F.gaussian_sample(m, lv, np.random.default_rng(seed)), mu, logvar)


def test_gaussian_kl_against_monte_carlo():
    rng = np.random.default_rng(1)
    mu, logvar, s = rng.standard_normal((2, 3)), rng.standard_normal((2, 3)) * 0.5, 2.0
    closed = F.gaussian_kl(mu, logvar, prior_std=s).item()
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal((200_000, 2, 3))
    log_q = -0.5 * ((z - mu) ** 2 / np.exp(logvar) + logvar + np.log(2 * np.pi))
    log_p = -0.5 * (z**2 / s**2 + np.log(2 * np.pi * s**2))
    mc = (log_q - log_p).sum(-1).mean(0).mean()
    assert abs(closed - mc) < 0.02
    check(lambda m, lv: F.gaussian_kl(m, lv, s), mu, logvar)


# ---------------------------------------------------------------------------------------------------
# Clear errors
# ---------------------------------------------------------------------------------------------------


def test_error_messages_name_the_problem():
    with pytest.raises(ValueError, match=r"\(100, 784\) and \(100, 1000\)"):
        Tensor(np.zeros((100, 784))) @ Tensor(np.zeros((100, 1000)))
    with pytest.raises(ValueError, match="linear"):
        F.linear(np.zeros((2, 3)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="target shape"):
        F.binary_cross_entropy_with_logits(np.zeros((2, 1)), np.zeros((2,)))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integers"):
        F.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(np.zeros(3), 1.0, True, np.random.default_rng(0))
