"""Each exercise's own tests (markers ex1 ... ex10): independent references, stored values where the reference
would be the answer, and a message that names the typical mistake. tests/mutations.json plants such mistakes;
tests/test_course.py checks that these tests catch every one."""

import math

import numpy as np
import pytest

from minaae import Tensor, aae, kernels, nn, optim, priors
from minaae import functional as F
from minaae.autograd import unbroadcast
from minaae.gradcheck import gradcheck
from minaae.metrics import parzen_log_likelihood
from minaae.semisupervised import cluster_head_penalty

rng = np.random.default_rng(2024)


@pytest.mark.ex1
@pytest.mark.parametrize("shape, grad_shape", [((3,), (4, 3)), ((1, 3), (4, 3)), ((4, 1), (4, 3)),
                                               ((2, 1, 3), (5, 2, 4, 3)), ((), (2, 3)), ((4, 3), (4, 3))])
def test_ex1_unbroadcast_sums_every_copy(shape, grad_shape):
    g = rng.standard_normal(grad_shape)
    got = unbroadcast(g, shape)
    assert np.shape(got) == shape, f"unbroadcast returned shape {np.shape(got)}, expected {shape}"
    expected = g  # sum by hand: leading axes first, then the axes that had length 1
    for _ in range(g.ndim - len(shape)):
        expected = expected.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1:
            expected = expected.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(got, expected, rtol=1e-12,
                               err_msg="each broadcast copy's gradient must be summed (not averaged, not dropped)")


@pytest.mark.ex2
@pytest.mark.parametrize("n, k, m", [(3, 4, 2), (3, 3, 3)])
def test_ex2_matmul_backward_against_finite_differences(n, k, m):
    gradcheck(lambda a, b: F.matmul(a, b), [rng.standard_normal((n, k)), rng.standard_normal((k, m))])


@pytest.mark.ex2
def test_ex2_linear_backward_against_finite_differences():
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    gradcheck(lambda x, w, b: F.linear(x, w, b), [x, w, b])
    gradcheck(lambda x, w: F.linear(x, w), [x, w])


@pytest.mark.ex2
def test_ex2_matmul_gives_each_input_its_own_gradient():
    a, b = Tensor(rng.standard_normal((3, 4))), Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    g = rng.standard_normal((3, 2))
    F.matmul(a, b).backward(g)
    assert a.grad is None, "an input that needs no gradient must get None (self.needs_grad)"
    np.testing.assert_allclose(b.grad, a.data.T @ g, rtol=1e-12, err_msg="the gradient of b is aᵀ ȳ")
    a, b = Tensor(a.data, requires_grad=True), Tensor(b.data)
    F.matmul(a, b).backward(g)
    assert a.grad is not None, "a needs a gradient here: check which self.needs_grad flag guards which input"
    np.testing.assert_allclose(a.grad, g @ b.data.T, rtol=1e-12, err_msg="the gradient of a is ȳ bᵀ")


@pytest.mark.ex3
@pytest.mark.parametrize("axis", [-1, 0])
def test_ex3_log_softmax_backward_against_finite_differences(axis):
    gradcheck(lambda x: F.log_softmax(x, axis=axis), [rng.standard_normal((3, 5))])


@pytest.mark.ex3
def test_ex3_log_softmax_backward_of_a_uniform_cotangent_sums_to_zero_per_row():
    x = Tensor(rng.standard_normal((4, 6)) * 3, requires_grad=True)
    F.log_softmax(x, axis=1).backward(np.ones((4, 6)))
    np.testing.assert_allclose(x.grad, 1 - 6 * np.exp(F.log_softmax(x, axis=1).data), atol=1e-12,
                               err_msg="dℓ_i/dx_j = δ_ij − s_j: the softmax weighs the row's sum of the cotangent")


@pytest.mark.ex4
def test_ex4_bce_equals_the_textbook_form_where_that_is_finite():
    z, t = rng.standard_normal(50) * 5, rng.random(50)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(F.bce_elementwise(z, t), -(t * np.log(s) + (1 - t) * np.log(1 - s)), rtol=1e-9,
                               err_msg="−[t log σ(z) + (1−t) log(1−σ(z))]: check the signs and which term t weighs")


@pytest.mark.ex4
def test_ex4_bce_is_exact_and_silent_at_huge_logits():
    z, t = np.array([1e4, -1e4, 1e4, -1e4, 30.0]), np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = F.bce_elementwise(z, t)
    np.testing.assert_allclose(loss, [1e4, 1e4, 0, 0, math.exp(-30)], rtol=1e-9, atol=0,
                               err_msg="exp may only ever see −|z|; log1p keeps the tiny e^−|z| of a confident answer")


@pytest.mark.ex5
def test_ex5_batch_norm_backward_against_finite_differences():
    x, gamma, beta = rng.standard_normal((6, 3)), rng.standard_normal(3), rng.standard_normal(3)
    gradcheck(lambda x, g, b: F.batch_norm(x, g, b, np.zeros(3), np.ones(3), training=True), [x, gamma, beta],
              rtol=1e-4, atol=1e-6)


@pytest.mark.ex6
@pytest.mark.parametrize("kw", [dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
                                dict(lr=0.1, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1)])
def test_ex6_the_readable_adam_rule_takes_steps_of_about_lr_first(kw, monkeypatch):
    monkeypatch.setattr(kernels, "FUSED", False)
    p = nn.Parameter(np.array([1.0, -2.0, 3.0]))
    opt = optim.Adam([p], **kw)
    p.grad = np.array([1e-3, -10.0, 0.5])
    opt.step()
    d = p.grad + kw["weight_decay"] * np.array([1.0, -2.0, 3.0])
    first = np.array([1.0, -2.0, 3.0]) - kw["lr"] * d / (np.abs(d) + kw["eps"])  # m̂/√v̂ = d/|d| on step 1
    np.testing.assert_allclose(p.data, first, rtol=1e-12, err_msg="first step: bias-corrected m̂/(√v̂ + ε)")


@pytest.mark.ex6
def test_ex6_the_readable_adam_rule_matches_stored_values_with_eps_that_matters(monkeypatch):
    """Ten steps of g = p − 1 with ε = 0.01 (so ε's place shows) and weight decay; values stored from a
    float64 loop of torch.optim.Adam's documented rule."""
    monkeypatch.setattr(kernels, "FUSED", False)
    p = nn.Parameter(np.array([0.02, -0.5, 3.0]))
    opt = optim.Adam([p], lr=0.05, betas=(0.8, 0.9), eps=1e-2, weight_decay=0.1)
    for _ in range(10):
        p.grad = p.data - 1
        opt.step()
    np.testing.assert_allclose(p.data, ADAM_TEN_STEPS, rtol=1e-12,
                               err_msg="check ε (outside the root, after bias correction), v's d², weight decay")


ADAM_TEN_STEPS = [0.4989096879174218, -0.01151821934153996, 2.507189875574374]


@pytest.mark.ex7
def test_ex7_labelled_samples_have_the_component_mean_and_covariance():
    prior = priors.GaussianMixture()
    for k in (0, 3):
        x = prior.sample(20000, np.random.default_rng(k), labels=np.full(20000, k)).astype(np.float64)
        angle = 2 * np.pi * k / 10
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        np.testing.assert_allclose(x.mean(0), rot @ [1.4, 0], atol=0.02,
                                   err_msg=f"component {k}'s mean is radius·(cos θ_k, sin θ_k)")
        along_across = (x - x.mean(0)) @ rot  # back in the component's own frame
        np.testing.assert_allclose(np.cov(along_across.T), np.diag([0.5**2, 0.1**2]), rtol=0.1, atol=0.003,
                                   err_msg=f"component {k}: std 0.5 along its axis and 0.1 across, rotated by +θ_k")


@pytest.mark.ex7
def test_ex7_unlabelled_samples_use_only_the_given_generator_and_every_component():
    prior = priors.GaussianMixture()
    a, b = prior.sample(3000, np.random.default_rng(5)), prior.sample(3000, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b, err_msg="the same generator state must give the same samples")
    angle = np.mod(np.arctan2(a[:, 1], a[:, 0]), 2 * np.pi)
    counts = np.bincount(np.round(angle / (2 * np.pi / 10)).astype(int) % 10, minlength=10)
    assert counts.min() > 200, f"components drawn uniformly: counts {counts}"


@pytest.mark.ex8
def test_ex8_the_step_returns_its_loss_and_the_means_of_d_before_the_update():
    model, z_prior, codes = _discriminator_setup()
    with_grad = model.discriminate(Tensor(z_prior))
    real, fake = F.sigmoid(with_grad).data.mean(), F.sigmoid(model.discriminate(codes)).data.mean()
    loss_before = aae.discriminator_loss(model.discriminate(Tensor(z_prior)), model.discriminate(codes)).item()
    opt = optim.SGD(model.discriminator.named_parameters(), lr=0.1)
    loss, d_real, d_fake = aae.discriminator_step(model.discriminate, codes, z_prior, opt)
    assert (d_real, d_fake) != pytest.approx((fake, real)) or real == pytest.approx(fake), \
        "mean D(prior) and mean D(codes) come back swapped: return (loss, mean D(prior), mean D(codes))"
    assert d_real == pytest.approx(real, rel=1e-6) and d_fake == pytest.approx(fake, rel=1e-6), \
        f"means of D before the update: expected (prior {real:.6f}, codes {fake:.6f}), got ({d_real}, {d_fake})"
    assert loss == pytest.approx(loss_before, rel=1e-6), \
        f"the loss is L_D with prior samples REAL and codes FAKE: expected {loss_before:.6f}, got {loss}"


@pytest.mark.ex8
def test_ex8_the_step_clears_stale_gradients_and_descends_l_d():
    model, z_prior, codes = _discriminator_setup()
    params = dict(model.discriminator.named_parameters())
    loss = aae.discriminator_loss(model.discriminate(Tensor(z_prior)), model.discriminate(codes))
    loss.backward()
    expected = {k: p.data - 0.1 * p.grad for k, p in params.items()}  # one SGD step on L_D alone
    for p in params.values():
        p.grad = np.full_like(p.data, 100.0)  # a stale gradient from an earlier step
    aae.discriminator_step(model.discriminate, codes, z_prior, optim.SGD(list(params.items()), lr=0.1))
    for k, p in params.items():
        np.testing.assert_allclose(p.data, expected[k], rtol=1e-4, atol=1e-6, err_msg=(
            f"{k}: the update is not one step down L_D (prior REAL, codes FAKE) — a missing zero_grad adds the "
            "previous gradient, swapped labels climb L_D"))


def _discriminator_setup():
    rng = np.random.default_rng(3)
    model = aae.AAE(12, 2, (16, 16), rng=rng, init="he")
    z_prior = rng.standard_normal((64, 2)).astype(np.float32) * 2 + 1
    codes = Tensor(rng.standard_normal((64, 2)).astype(np.float32) * 0.3)
    return model, z_prior, codes


@pytest.mark.ex9
@pytest.mark.parametrize("batch_size", [2000, 3])
def test_ex9_parzen_equals_the_definition_for_any_block_size(batch_size):
    x, mu, sigma = rng.random((7, 3)), rng.random((10, 3)), 0.3
    expected = [math.log(sum(math.exp(-((xi - m) ** 2).sum() / (2 * sigma**2)) for m in mu) / len(mu))
                - 1.5 * math.log(2 * math.pi * sigma**2) for xi in x]
    np.testing.assert_allclose(parzen_log_likelihood(x, mu, sigma, batch_size=batch_size), expected, rtol=1e-10,
                               err_msg="log (1/M) Σ N(x; μ_i, σ²I): check 1/M, the 2σ², the (D/2) log 2πσ², and "
                                       "that every block of samples enters the running logsumexp")


@pytest.mark.ex9
def test_ex9_parzen_stays_finite_far_from_every_sample():
    x, mu = np.array([[50.0, 0.0]]), np.array([[0.0, 0.0], [0.0, 1.0]])
    got = parzen_log_likelihood(x, mu, 0.1)
    expected = np.logaddexp(-2500 / 0.02, -2501 / 0.02) - math.log(2) - math.log(2 * math.pi * 0.01)
    np.testing.assert_allclose(got, [expected], rtol=1e-12, err_msg="subtract the largest exponent before exp")


@pytest.mark.ex10
def test_ex10_penalty_counts_each_close_pair_once_and_has_the_distance_gradient():
    heads = Tensor(np.array([[0.0, 0.0], [0.3, 0.4], [3.0, 0.0]]), requires_grad=True)
    penalty = cluster_head_penalty(heads, 1.0)  # only the pair (0, 1) is closer than η = 1, at distance 0.5
    assert penalty.item() == pytest.approx(0.5, abs=1e-6), \
        f"Σ_(i<j) max(0, η − ‖W_i − W_j‖) is 0.5 here, got {penalty.item()}: each pair once, no pair (i, i)"
    penalty.backward()
    np.testing.assert_allclose(heads.grad, [[0.6, 0.8], [-0.6, -0.8], [0, 0]], atol=1e-5,
                               err_msg="the gradient pushes the close pair apart along their difference")
