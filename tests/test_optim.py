"""Optimizers against independent float64 loops written from torch.optim's documented update rules, on the
quadratic f(p) = ½ pᵀAp − bᵀp; exact resume from a state dict; schedules."""

import json
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minaae import Tensor, nn, optim

rng = np.random.default_rng(42)
Q = rng.standard_normal((4, 4))
A = Q @ Q.T + 4 * np.eye(4)  # symmetric positive definite: f is strictly convex
B = rng.standard_normal(4)
P0 = np.array([2.0, 1.0, -1.5, 0.5])
STORED = json.load(open(os.path.join(os.path.dirname(__file__), "expected_values.json")))
STORED_STEPS = (1, 2, 6, 8)


def grad(p):
    """∇f(p) = Ap − b."""
    return A @ p - B


def sgd_reference(p, steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """torch.optim.SGD, as documented: g ← g + λθ; if μ ≠ 0: b ← g at t = 1, else b ← μb + (1 − τ)g;
    g ← g + μb if nesterov else b; θ ← θ − γg."""
    p, b = p.astype(np.float64), None
    for t in range(1, steps + 1):
        g = grad(p) + weight_decay * p
        if momentum != 0:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
    return p


# BEGIN INSTRUCTOR
def adam_reference(p, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """torch.optim.Adam, as documented: g ← g + λθ; m ← β1m + (1 − β1)g; v ← β2v + (1 − β2)g²;
    m̂ = m/(1 − β1ᵗ); v̂ = v/(1 − β2ᵗ); θ ← θ − γ m̂/(√v̂ + ε)."""
    (b1, b2), p, m, v = betas, p.astype(np.float64), 0.0, 0.0
    for t in range(1, steps + 1):
        g = grad(p) + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p
# END INSTRUCTOR


def adam_stored(steps, **kw):
    """adam_reference(P0, steps, **kw) as stored in tests/expected_values.json (the student copy has no
    reference: its float64 Adam would be the answer to exercise 6)."""
    return np.array(STORED["adam"][adam_key(steps, kw)])


def adam_key(steps, kw):
    return f"{steps} " + ", ".join(f"{k}={kw[k]}" for k in sorted(kw))


def run(opt_cls, steps, p0=P0, **kw):
    """`steps` updates of one parameter with the exact gradient; returns the parameter and the optimizer."""
    p = nn.Parameter(p0.copy())
    opt = opt_cls([("p", p)], **kw)
    for _ in range(steps):
        p.grad = grad(p.data).astype(p.dtype)
        opt.step()
    return p.data, opt


SGD_SETTINGS = [dict(lr=0.05), dict(lr=0.05, weight_decay=0.1), dict(lr=0.02, momentum=0.9),
                dict(lr=0.02, momentum=0.9, dampening=0.5), dict(lr=0.02, momentum=0.9, nesterov=True),
                dict(lr=0.02, momentum=0.5, weight_decay=0.1, nesterov=True),
                dict(lr=0.02, momentum=0.9, dampening=0.3, weight_decay=0.05)]
ADAM_SETTINGS = [dict(lr=0.05), dict(lr=0.05, weight_decay=0.1), dict(lr=0.1, betas=(0.8, 0.99), eps=1e-3),
                 dict(lr=0.05, betas=(0.0, 0.9), weight_decay=0.01)]


@pytest.mark.parametrize("kw", SGD_SETTINGS, ids=str)
def test_sgd_matches_the_torch_rule_step_by_step(kw):
    for steps in (1, 2, 7):
        np.testing.assert_allclose(run(optim.SGD, steps, **kw)[0], sgd_reference(P0, steps, **kw), rtol=1e-13)


@pytest.mark.parametrize("kw", ADAM_SETTINGS, ids=str)
def test_adam_matches_the_torch_rule_step_by_step(kw):
    for steps in (1, 2, 8):
        np.testing.assert_allclose(run(optim.Adam, steps, **kw)[0], adam_stored(steps, **kw), rtol=1e-12)


@given(lr=st.floats(0.001, 0.05), momentum=st.sampled_from([0.0, 0.5, 0.9]), dampening=st.floats(0, 0.9),
       weight_decay=st.sampled_from([0.0, 0.01, 0.3]), nesterov=st.booleans(), steps=st.integers(1, 6))
def test_sgd_matches_the_torch_rule_for_any_settings(lr, momentum, dampening, weight_decay, nesterov, steps):
    if nesterov:
        momentum, dampening = momentum or 0.5, 0.0
    kw = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
    np.testing.assert_allclose(run(optim.SGD, steps, **kw)[0], sgd_reference(P0, steps, **kw), rtol=1e-12)


# BEGIN INSTRUCTOR
@given(lr=st.floats(1e-4, 0.1), b1=st.floats(0, 0.99), b2=st.floats(0.5, 0.9999), eps=st.sampled_from([1e-8, 1e-3]),
       weight_decay=st.sampled_from([0.0, 0.05]), steps=st.integers(1, 6))
def test_adam_matches_the_torch_rule_for_any_settings(lr, b1, b2, eps, weight_decay, steps):
    kw = dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay)
    np.testing.assert_allclose(run(optim.Adam, steps, **kw)[0], adam_reference(P0, steps, **kw), rtol=1e-10)


def test_the_stored_adam_values_are_the_reference_rule():
    assert len(STORED["adam"]) == len(ADAM_SETTINGS) * len(STORED_STEPS)
    for kw in ADAM_SETTINGS:
        for steps in STORED_STEPS:
            np.testing.assert_allclose(adam_stored(steps, **kw), adam_reference(P0, steps, **kw), rtol=1e-14)
# END INSTRUCTOR


@pytest.mark.parametrize("opt_cls, kw", [(optim.SGD, SGD_SETTINGS[-1]), (optim.Adam, ADAM_SETTINGS[1])])
def test_float32_parameters_stay_float32_and_track_the_float64_rule(opt_cls, kw):
    p, opt = run(opt_cls, 6, P0.astype(np.float32), **kw)
    assert p.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state["p"].values() if hasattr(v, "dtype"))
    reference = sgd_reference(P0, 6, **kw) if opt_cls is optim.SGD else adam_stored(6, **kw)
    np.testing.assert_allclose(p, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(lr=0.05), dict(lr=0.02, momentum=0.9), dict(lr=0.02, momentum=0.9, nesterov=True)],
                         ids=str)
def test_sgd_converges_to_the_minimizer_of_a_convex_quadratic(kw):
    np.testing.assert_allclose(run(optim.SGD, 1500, np.zeros(4), **kw)[0], np.linalg.solve(A, B), atol=1e-10)


def test_adam_first_step_moves_every_coordinate_by_lr_against_the_gradient_sign():
    p, _ = run(optim.Adam, 1, lr=0.01)
    np.testing.assert_allclose(P0 - p, 0.01 * np.sign(grad(P0)), rtol=1e-6)


# ---------------------------------------------------------------------------------------------------
# Several named parameters, missing gradients, untouched gradients
# ---------------------------------------------------------------------------------------------------


def test_state_is_keyed_by_the_models_parameter_names_in_order():
    model = nn.mlp([3, 4, 2], rng=np.random.default_rng(0))
    opt = optim.Adam(model.named_parameters(), lr=0.1)
    names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(opt.params) == names and list(opt.state_dict()["state"]) == names
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    opt.step()
    assert list(opt.state_dict()["state"]) == names
    assert all(opt.state_dict()["state"][n]["exp_avg"].shape == p.shape for n, p in model.named_parameters())


def test_an_unnamed_parameter_list_is_named_by_position():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.SGD([a, b], lr=0.1)
    assert list(opt.params) == ["0", "1"] and opt.params["1"] is b


def test_each_parameter_is_updated_by_its_own_gradient():
    a, b = nn.Parameter(P0.copy()), nn.Parameter(-P0.copy())
    opt = optim.SGD([("a", a), ("b", b)], lr=0.02, momentum=0.9, nesterov=True)
    for _ in range(5):
        a.grad, b.grad = grad(a.data), grad(b.data)
        opt.step()
    np.testing.assert_allclose(a.data, sgd_reference(P0, 5, lr=0.02, momentum=0.9, nesterov=True), rtol=1e-13)
    np.testing.assert_allclose(b.data, sgd_reference(-P0, 5, lr=0.02, momentum=0.9, nesterov=True), rtol=1e-13)


@pytest.mark.parametrize("opt_cls, kw", [(optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
                                         (optim.Adam, dict(lr=0.1, weight_decay=0.1))])
def test_a_parameter_without_gradient_is_skipped_and_gets_no_state(opt_cls, kw):
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = opt_cls([("a", a), ("b", b)], **kw)
    a.grad = np.array([1.0, -1.0])
    opt.step()
    np.testing.assert_array_equal(b.data, [1.0, 1.0])  # not even weight decay touches it
    assert opt.state["b"] == {} and opt.state["a"] != {}


def test_sgd_momentum_starts_from_the_first_gradient_a_parameter_receives():
    """torch.optim.SGD sets the buffer to the gradient itself (no dampening) on the parameter's own first step."""
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(2))
    opt = optim.SGD([("a", a), ("b", b)], lr=0.1, momentum=0.9, dampening=0.5)
    for step in range(3):
        a.grad = np.array([1.0, -1.0])
        b.grad = np.array([0.5, -2.0]) if step == 2 else None
        opt.step()
    np.testing.assert_allclose(b.data, [-0.05, 0.2], rtol=1e-15)
    np.testing.assert_allclose(opt.state["b"]["momentum_buffer"], [0.5, -2.0], rtol=1e-15)


def test_adam_counts_steps_per_parameter_as_torch_does():
    """A parameter that first gets a gradient at step 3 takes Adam's first step (size lr), not a third."""
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(2))
    opt = optim.Adam([("a", a), ("b", b)], lr=0.1)
    for step in range(3):
        a.grad = np.array([1.0, -1.0])
        b.grad = np.array([0.5, -2.0]) if step == 2 else None
        opt.step()
    assert opt.state["a"]["step"] == 3 and opt.state["b"]["step"] == 1
    np.testing.assert_allclose(b.data, [-0.1, 0.1], rtol=1e-6)


@pytest.mark.parametrize("opt_cls, kw", [(optim.SGD, kw) for kw in SGD_SETTINGS] +
                         [(optim.Adam, kw) for kw in ADAM_SETTINGS])
def test_step_never_modifies_or_keeps_a_reference_to_the_gradient(opt_cls, kw):
    p = nn.Parameter(P0.copy())
    opt = opt_cls([("p", p)], **kw)
    for _ in range(3):
        p.grad = grad(p.data)
        g = p.grad.copy()
        opt.step()
        np.testing.assert_array_equal(p.grad, g)
        state = {k: v.copy() for k, v in opt.state["p"].items() if hasattr(v, "copy")}
        p.grad[...] = 1e9  # the caller may reuse its gradient array
        for k, v in state.items():
            np.testing.assert_array_equal(opt.state["p"][k], v, err_msg=k)


@pytest.mark.parametrize("opt_cls", [optim.SGD, optim.Adam])
def test_a_float64_or_strided_gradient_updates_a_float32_parameter_like_its_float32_contiguous_copy(opt_cls):
    """The kernels want one dtype and contiguous memory: step converts, and leaves the caller's array alone."""
    base = np.random.default_rng(0).standard_normal((3, 4))
    p, q = nn.Parameter(base.astype(np.float32)), nn.Parameter(base.astype(np.float32))
    opt_p, opt_q = opt_cls([("w", p)], lr=0.1), opt_cls([("w", q)], lr=0.1)
    g = np.random.default_rng(1).standard_normal((4, 3)).T  # float64, not C-contiguous
    kept = g.copy()
    p.grad, q.grad = g, np.ascontiguousarray(g, dtype=np.float32)
    opt_p.step()
    opt_q.step()
    assert p.dtype == np.float32
    np.testing.assert_array_equal(p.data, q.data)
    np.testing.assert_array_equal(g, kept)


def test_a_gradient_of_the_wrong_shape_is_an_error_naming_the_parameter():
    p = nn.Parameter(np.ones((2, 3)))
    opt = optim.SGD([("enc.w", p)], lr=0.1)
    p.grad = np.ones(3)
    with pytest.raises(ValueError, match=r"SGD: gradient of 'enc.w' has shape \(3,\), expected \(2, 3\)"):
        opt.step()


def test_steps_run_on_raw_arrays_and_record_no_graph():
    p = nn.Parameter(P0.copy())
    opt = optim.Adam([("p", p)], lr=0.1)
    p.grad = grad(p.data)
    data = p.data
    opt.step()
    assert p.data is data and p.is_leaf and p.requires_grad  # updated in place, still the same leaf


def test_zero_grad_clears_every_gradient():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([("a", a), ("b", b)], lr=0.1)
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


# ---------------------------------------------------------------------------------------------------
# Resume
# ---------------------------------------------------------------------------------------------------


def model_and_batches():
    model = nn.mlp([3, 4, 2], rng=np.random.default_rng(0))
    data = np.random.default_rng(1)
    return model, [data.standard_normal((5, 3)).astype(np.float32) for _ in range(10)]


def train(model, opt, batches, skip_bias_until=0):
    """Gradients of ½‖model(x)‖² by hand; the last layer's bias gets no gradient for the first steps."""
    for i, x in enumerate(batches):
        out = model(x)
        out.backward(out.data)
        if i < skip_bias_until:
            model[2].bias.grad = None  # its optimizer state stays empty until then: resume must cope
        opt.step()
        opt.zero_grad()


@pytest.mark.parametrize("opt_cls, kw", [(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
                                         (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.2)),
                                         (optim.Adam, dict(lr=0.05, weight_decay=0.01)),
                                         (optim.Adam, dict(lr=0.05, betas=(0.5, 0.9)))])
def test_resume_from_state_dict_is_bit_identical(opt_cls, kw):
    model, batches = model_and_batches()
    train(model, opt_cls(model.named_parameters(), **kw), batches, skip_bias_until=6)
    straight = model.state_dict()

    model, _ = model_and_batches()
    opt = opt_cls(model.named_parameters(), **kw)
    train(model, opt, batches[:4], skip_bias_until=6)
    saved, weights = opt.state_dict(), model.state_dict()
    assert saved["state"]["2.bias"] == {}

    resumed, _ = model_and_batches()
    resumed.load_state_dict(weights)
    fresh = opt_cls(resumed.named_parameters(), lr=123.0)  # hyperparameters come from the state dict
    fresh.load_state_dict(saved)
    train(resumed, fresh, batches[4:], skip_bias_until=2)
    for name, value in resumed.state_dict().items():
        assert np.array_equal(value, straight[name]), name


def test_state_dict_is_a_snapshot():
    p, opt = run(optim.Adam, 2, lr=0.1)
    saved = opt.state_dict()
    m = saved["state"]["p"]["exp_avg"].copy()
    p_param = opt.params["p"]
    p_param.grad = np.ones(4)
    opt.step()
    np.testing.assert_array_equal(saved["state"]["p"]["exp_avg"], m)
    assert saved["state"]["p"]["step"] == 2 and saved["steps"] == 2


def test_load_state_dict_does_not_share_arrays_with_the_given_dict():
    _, opt = run(optim.Adam, 2, lr=0.1)
    saved = opt.state_dict()
    m = saved["state"]["p"]["exp_avg"].copy()
    q = nn.Parameter(P0.copy())
    fresh = optim.Adam([("p", q)], lr=0.1)
    fresh.load_state_dict(saved)
    q.grad = np.ones(4)
    fresh.step()
    np.testing.assert_array_equal(saved["state"]["p"]["exp_avg"], m)


def test_state_that_went_through_a_checkpoint_file_loads():
    """JSON gives betas back as a list, and npz may give counts back as 0-d arrays."""
    _, opt = run(optim.Adam, 3, lr=0.1, betas=(0.5, 0.9))
    saved = opt.state_dict()
    saved["hyperparameters"]["betas"] = [0.5, 0.9]
    saved["state"]["p"]["step"] = np.array(3)
    fresh = optim.Adam([("p", nn.Parameter(P0.copy()))])
    fresh.load_state_dict(saved)
    assert fresh.betas == (0.5, 0.9) and fresh.lr == 0.1 and fresh.state["p"]["step"] == 3
    assert type(fresh.state["p"]["step"]) is int


def test_a_failed_load_leaves_the_optimizer_unchanged():
    _, opt = run(optim.Adam, 2, lr=0.1)
    before = opt.state_dict()
    saved = opt.state_dict()
    saved["hyperparameters"]["lr"] = 5.0
    saved["state"]["p"]["exp_avg_sq"] = np.zeros(3)
    with pytest.raises(ValueError, match="exp_avg_sq"):
        opt.load_state_dict(saved)
    after = opt.state_dict()
    assert after["hyperparameters"] == before["hyperparameters"]
    for k, v in before["state"]["p"].items():
        np.testing.assert_array_equal(after["state"]["p"][k], v)


def test_the_state_of_another_optimizer_is_refused():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match=r"hyperparameters \['betas', 'eps', 'lr', 'weight_decay'\] are not SGD's"):
        optim.SGD([("p", p)], lr=0.1).load_state_dict(optim.Adam([("p", p)]).state_dict())


def test_load_state_dict_names_missing_unexpected_and_mismatched_state():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(KeyError, match=r"missing \['v'\], unexpected \['w'\]"):
        optim.SGD([("v", p)], lr=0.1).load_state_dict(optim.SGD([("w", p)], lr=0.1).state_dict())
    _, opt = run(optim.Adam, 1, lr=0.1)
    saved = opt.state_dict()
    with pytest.raises(ValueError, match=r"'p/exp_avg' has shape \(4,\), expected \(2,\)"):
        optim.Adam([("p", p)]).load_state_dict(saved)


# ---------------------------------------------------------------------------------------------------
# Invalid settings
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda ps: optim.SGD(ps, lr=-1), "SGD: lr must be >= 0, got -1"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), "SGD: momentum must be >= 0, got -0.5"),
    (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-0.01), "SGD: weight_decay must be >= 0, got -0.01"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), r"Nesterov momentum needs momentum > 0 and dampening 0 "
                                                       r"\(got 0.0, 0.0\)"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), r"\(got 0.9, 0.1\)"),
    (lambda ps: optim.Adam(ps, lr=-0.001), "Adam: lr must be >= 0, got -0.001"),
    (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), r"Adam: betas must lie in \[0, 1\), got \(0.9, 1.0\)"),
    (lambda ps: optim.Adam(ps, betas=(-0.1, 0.9)), r"got \(-0.1, 0.9\)"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "Adam: eps must be >= 0, got -1e-08"),
    (lambda ps: optim.Adam(ps, weight_decay=-1), "Adam: weight_decay must be >= 0, got -1"),
    (lambda ps: optim.SGD([("w", ps[0]), ("w", ps[0])], lr=0.1), "parameter name 'w' appears twice"),
    (lambda ps: optim.Adam([]), "empty parameter list"),
    (lambda ps: optim.SGD([("a", ps[0]), ("b", ps[0])], lr=0.1), "parameters 'a' and 'b' are the same tensor"),
    (lambda ps: optim.SGD(ps, lr=float("nan")), "SGD: lr must be >= 0, got nan"),
    (lambda ps: optim.MultiStepLR(optim.SGD(ps, lr=0.1), [10, 0]), r"milestones must be positive integers.*\[10, 0\]"),
    (lambda ps: optim.MultiStepLR(optim.SGD(ps, lr=0.1), [2.5]), r"milestones must be positive integers"),
    (lambda ps: optim.MultiStepLR(optim.SGD(ps, lr=0.1), [2], gamma=0), "gamma must be > 0, got 0"),
])
def test_bad_settings_are_value_errors_that_name_the_value(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(np.ones(1))])


def test_params_must_be_all_parameters_or_all_named_pairs():
    p = nn.Parameter(np.ones(1))
    with pytest.raises(TypeError, match=r"all Parameters or all \(name, Parameter\) pairs; got Parameter"):
        optim.SGD([p, ("b", nn.Parameter(np.ones(1)))], lr=0.1)
    opt = optim.SGD([["w", p]], lr=0.1)  # a pair may be a list (as after a JSON round trip)
    assert list(opt.params) == ["w"]
    assert optim.SGD([Tensor(np.ones(1), requires_grad=True)], lr=0.1).params["0"].shape == (1,)


# ---------------------------------------------------------------------------------------------------
# MultiStepLR
# ---------------------------------------------------------------------------------------------------


def test_multistep_schedule_multiplies_by_gamma_at_each_milestone():
    opt = optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    schedule = optim.MultiStepLR(opt, [5, 2], gamma=0.5)  # order of milestones does not matter
    lrs = [opt.lr]
    for _ in range(6):
        schedule.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], rtol=1e-15)


def test_step_decays_gives_one_schedule_per_optimizer_and_none_without_milestones():
    from minaae import aae

    opts = {name: optim.SGD([nn.Parameter(np.ones(1))], lr=0.1) for name in ("reconstruction", "discriminator")}
    assert aae.step_decays(opts, None) == [] and aae.step_decays(opts, []) == []
    schedules = aae.step_decays(opts, [1])
    assert len(schedules) == 2
    for schedule in schedules:
        schedule.step()
    assert [opt.lr for opt in opts.values()] == pytest.approx([0.01, 0.01])


def test_multistep_schedule_resumes_where_it_stopped():
    def fresh():
        opt = optim.Adam([nn.Parameter(np.ones(1))], lr=0.01)
        return opt, optim.MultiStepLR(opt, [2, 4], gamma=0.1)

    opt, schedule = fresh()
    straight = []
    for _ in range(6):
        schedule.step()
        straight.append(opt.lr)
    opt, schedule = fresh()
    for _ in range(3):
        schedule.step()
    saved = schedule.state_dict()
    opt2, schedule2 = fresh()
    opt2.lr = 99.0  # whatever the optimizer holds, the schedule sets it on load
    schedule2.load_state_dict(saved)
    assert opt2.lr == pytest.approx(straight[2], rel=1e-15)
    resumed = straight[:3]
    for _ in range(3):
        schedule2.step()
        resumed.append(opt2.lr)
    np.testing.assert_allclose(resumed, straight, rtol=1e-15)
    np.testing.assert_allclose(straight, [0.01, 0.001, 0.001, 1e-4, 1e-4, 1e-4], rtol=1e-12)


def test_the_papers_schedule_divides_by_ten_after_epochs_50_and_1000():
    """docs/paper.md §5: epochs 1–50 at lr, 51–1000 at lr/10, later at lr/100; step() ends an epoch."""
    opt = optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    schedule = optim.MultiStepLR(opt, [50, 1000], gamma=0.1)
    lr_of_epoch = {}
    for epoch in range(1, 1201):
        lr_of_epoch[epoch] = opt.lr
        schedule.step()
    assert lr_of_epoch[1] == lr_of_epoch[50] == 0.1
    assert lr_of_epoch[51] == lr_of_epoch[1000] == pytest.approx(0.01, rel=1e-15)
    assert lr_of_epoch[1001] == pytest.approx(0.001, rel=1e-15)


@pytest.mark.parametrize("opt_cls, kw", [(optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
                                         (optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3)),
                                         (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         (optim.Adam, dict(lr=0.05, weight_decay=0.1)),
                                         (optim.Adam, dict(lr=0.1, betas=(0.5, 0.99), eps=1e-3))])
def test_the_readable_rules_and_the_fused_kernels_agree_to_float32_rounding(opt_cls, kw, monkeypatch):
    from minaae import kernels

    results = {}
    for fused in (True, False):
        monkeypatch.setattr(kernels, "FUSED", fused)
        p = Tensor(P0.astype(np.float32), requires_grad=True)
        opt = opt_cls([p], **kw)
        for _ in range(20):
            p.grad = grad(p.data.astype(np.float64)).astype(np.float32)
            opt.step()
        assert p.dtype == np.float32
        results[fused] = p.data.copy()
    np.testing.assert_allclose(results[False], results[True], rtol=2e-6, atol=2e-6)
    assert not np.array_equal(P0.astype(np.float32), results[False])  # it moved
