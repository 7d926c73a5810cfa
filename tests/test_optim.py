"""Optimizers against hand-written reference loops on a quadratic, and exact resume."""

import numpy as np
import pytest

from minaae import nn, optim

A = np.array([[3.0, 0.5], [0.5, 1.0]])
B = np.array([1.0, -2.0])


def grad(p):
    """∇ of f(p) = ½ pᵀAp − bᵀp."""
    return A @ p - B


def run(opt_cls, steps, p0, **kw):
    p = nn.Parameter(p0.copy())
    opt = opt_cls([p], **kw)
    for _ in range(steps):
        p.grad = grad(p.data).astype(p.dtype)
        opt.step()
    return p.data


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, momentum=0.9),
                                dict(lr=0.05, momentum=0.9, dampening=0.5), dict(lr=0.05, momentum=0.9, nesterov=True),
                                dict(lr=0.1, weight_decay=0.1, momentum=0.5)])
def test_sgd_matches_the_reference_loop(kw):
    p0 = np.array([2.0, 1.0])
    lr, mu = kw["lr"], kw.get("momentum", 0.0)
    tau, wd, nesterov = kw.get("dampening", 0.0), kw.get("weight_decay", 0.0), kw.get("nesterov", False)
    p, buf = p0.copy(), None
    for _ in range(7):
        d = grad(p) + wd * p
        if mu:
            buf = d if buf is None else mu * buf + (1 - tau) * d
            d = d + mu * buf if nesterov else buf
        p = p - lr * d
    np.testing.assert_allclose(run(optim.SGD, 7, p0, **kw), p, rtol=1e-12)


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_matches_the_reference_loop(wd):
    p0 = np.array([2.0, 1.0])
    lr, (b1, b2), eps = 0.05, (0.9, 0.999), 1e-8
    p, m, v = p0.copy(), 0.0, 0.0
    for t in range(1, 9):
        g = grad(p) + wd * p
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    np.testing.assert_allclose(run(optim.Adam, 8, p0, lr=lr, weight_decay=wd), p, rtol=1e-9)


def test_sgd_with_momentum_converges_to_the_minimizer():
    np.testing.assert_allclose(run(optim.SGD, 300, np.zeros(2), lr=0.1, momentum=0.5), np.linalg.solve(A, B),
                               atol=1e-8)


@pytest.mark.parametrize("opt_cls, kw", [(optim.SGD, dict(lr=0.1, momentum=0.9)), (optim.Adam, dict(lr=0.05))])
def test_resume_from_state_dict_is_bit_identical(opt_cls, kw):
    p0 = np.array([2.0, 1.0], np.float32)
    straight = run(opt_cls, 10, p0, **kw)
    p = nn.Parameter(p0.copy())
    opt = opt_cls([("w", p)], **kw)
    for _ in range(4):
        p.grad = grad(p.data).astype(np.float32)
        opt.step()
    saved, p_saved = opt.state_dict(), p.data.copy()
    q = nn.Parameter(p_saved)
    fresh = opt_cls([("w", q)], lr=123.0)
    fresh.load_state_dict(saved)
    for _ in range(6):
        q.grad = grad(q.data).astype(np.float32)
        fresh.step()
    assert np.array_equal(q.data, straight)
    assert list(saved["state"]) == ["w"]  # keyed by name


def test_a_parameter_without_gradient_is_skipped_and_gradients_are_untouched():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.Adam([("a", a), ("b", b)], lr=0.1)
    a.grad = np.array([1.0, -1.0])
    opt.step()
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    np.testing.assert_array_equal(a.grad, [1.0, -1.0])
    np.testing.assert_allclose(a.data, [0.9, 1.1])


def test_bad_hyperparameters_name_the_value():
    p = [nn.Parameter(np.ones(1))]
    with pytest.raises(ValueError, match="lr must be >= 0, got -1"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"betas must lie in \[0, 1\), got \(0.9, 1.0\)"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([("w", p[0]), ("w", p[0])], lr=0.1)
    with pytest.raises(KeyError, match="missing"):
        optim.SGD([("v", p[0])], lr=0.1).load_state_dict(optim.SGD([("w", p[0])], lr=0.1).state_dict())


def test_multistep_schedule_divides_by_ten_at_each_milestone_and_resumes():
    opt = optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    schedule = optim.MultiStepLR(opt, [2, 4], gamma=0.1)
    lrs = []
    for _ in range(5):
        schedule.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs, [0.1, 0.01, 0.01, 0.001, 0.001])
    opt2 = optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    again = optim.MultiStepLR(opt2, [2, 4])
    again.load_state_dict(schedule.state_dict())
    assert opt2.lr == pytest.approx(0.001)
