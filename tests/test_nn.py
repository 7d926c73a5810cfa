"""Layers and modules against NumPy references, closed forms and finite differences."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minaae.functional as F
from minaae import Tensor, gradcheck, nn
from minaae.backend import cupy_available, to_device

# ---------------------------------------------------------------------------------------------------
# Linear and mlp
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_is_x_w_plus_b_with_w_in_by_out(dtype):
    rng = np.random.default_rng(0)
    layer = nn.Linear(4, 3, rng=rng, dtype=dtype)
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (3,)
    assert layer.weight.dtype == layer.bias.dtype == dtype
    layer.bias.data[:] = [1.0, -2.0, 0.5]
    x = rng.standard_normal((5, 4)).astype(dtype)
    y = layer(x).data
    assert y.dtype == dtype and y.shape == (5, 3)
    w, b = layer.weight.data.astype(np.float64), layer.bias.data.astype(np.float64)
    expected = np.einsum("ni,io->no", x.astype(np.float64), w) + b
    np.testing.assert_allclose(y, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-7)


@given(n=st.integers(1, 6), n_in=st.integers(1, 7), n_out=st.integers(1, 7), seed=st.integers(0, 2**32 - 1))
def test_linear_matches_numpy_for_any_sizes(n, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(n_in, n_out, rng=rng, dtype=np.float64, init="glorot")
    layer.bias.data[:] = rng.standard_normal(n_out)
    x = rng.standard_normal((n, n_in))
    w, b = layer.weight.data, layer.bias.data
    expected = [[sum(x[i, k] * w[k, j] for k in range(n_in)) + b[j] for j in range(n_out)] for i in range(n)]
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12, atol=1e-12)


def test_linear_rejects_bad_sizes_and_a_std_that_its_init_would_ignore():
    with pytest.raises(ValueError, match=r"positive integers, got 0, 3"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match=r"positive integers, got 2.5, 3"):
        nn.Linear(2.5, 3)
    with pytest.raises(ValueError, match=r"std=0.1 applies to init='normal' only; init='he'"):
        nn.Linear(2, 3, init="he", std=0.1)


def test_linear_without_bias_has_only_a_weight():
    layer = nn.Linear(3, 2, bias=False, rng=np.random.default_rng(0))
    assert [name for name, _ in layer.named_parameters()] == ["weight"] and layer.bias is None
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data, rtol=1e-6)


def test_linear_weights_depend_only_on_the_generator_seed():
    a = nn.Linear(5, 4, rng=np.random.default_rng(7)).weight.data
    b = nn.Linear(5, 4, rng=np.random.default_rng(7)).weight.data
    c = nn.Linear(5, 4, rng=np.random.default_rng(8)).weight.data
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_mlp_parameter_names_are_deterministic_and_ordered():
    model = nn.mlp([6, 5, 4, 2], rng=np.random.default_rng(0))
    names = ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert [n for n, _ in model.named_parameters()] == names
    assert list(model.state_dict()) == names
    assert [p.shape for p in model.parameters()] == [(6, 5), (5,), (5, 4), (4,), (4, 2), (2,)]
    assert model.num_parameters() == 6 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2


def test_mlp_forward_is_the_numpy_composition_of_its_layers():
    rng = np.random.default_rng(1)
    model = nn.Sequential(*nn.mlp([6, 5, 4, 2], rng=rng, activation=nn.LeakyReLU), nn.Sigmoid())
    assert [type(m).__name__ for m in model] == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear", "Sigmoid"]
    for p in model.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    x = rng.standard_normal((3, 6)).astype(np.float32)
    h = x.astype(np.float64)
    for i in (0, 2, 4):
        h = h @ model[i].weight.data + model[i].bias.data
        if i < 4:
            h = np.where(h > 0, h, 0.2 * h)
    np.testing.assert_allclose(model(x).data, 1 / (1 + np.exp(-h)), rtol=1e-5)


def test_mlp_without_a_generator_is_reproducible_and_its_layers_differ():
    """rng=None seeds one generator for the whole network: layers of equal shape must not be copies."""
    a, b = nn.mlp([5, 5, 5, 5]), nn.mlp([5, 5, 5, 5])
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert np.array_equal(p.data, q.data), name
    assert not np.array_equal(a[0].weight.data, a[2].weight.data)
    assert not np.array_equal(a[2].weight.data, a[4].weight.data)


def test_mlp_passes_init_std_and_dtype_to_every_layer():
    model = nn.mlp([300, 200, 100], rng=np.random.default_rng(0), std=0.05, dtype=np.float64)
    assert all(p.dtype == np.float64 for p in model.parameters())
    for i in (0, 2):
        assert abs(model[i].weight.data.std() - 0.05) < 0.001


def test_mlp_needs_two_sizes():
    with pytest.raises(ValueError, match=r"at least an input and an output size, got \[5\]"):
        nn.mlp([5])


def test_nested_modules_are_named_by_their_path():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4))
            self.head = nn.Linear(4, 1)

        def forward(self, x):
            return self.head(self.encoder(x))

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["encoder.0.weight", "encoder.0.bias", "encoder.2.gamma",
                                                      "encoder.2.beta", "head.weight", "head.bias"]
    assert list(net.state_dict()) == ["encoder.0.weight", "encoder.0.bias", "encoder.2.gamma", "encoder.2.beta",
                                      "encoder.2.running_mean", "encoder.2.running_var", "head.weight", "head.bias"]
    net.head = nn.Linear(4, 2)  # reassigning replaces: no stale parameters left behind
    assert sum(n.startswith("head.") for n, _ in net.named_parameters()) == 2 and net.head.weight.shape == (4, 2)


def test_a_module_that_skips_super_init_gets_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"Broken.__init__ must call super\(\).__init__\(\) first"):
        Broken()


def test_a_module_registered_twice_yields_its_parameters_once():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = nn.Linear(2, 2)
            self.again = self.first

    names = [n for n, _ in Tied().named_parameters()]
    assert names == ["first.weight", "first.bias"]


def test_reassigning_a_buffer_updates_what_the_state_dict_saves():
    bn = nn.BatchNorm1d(2)
    bn.running_mean = np.array([3.0, 4.0], np.float32)
    np.testing.assert_array_equal(bn.state_dict()["running_mean"], [3.0, 4.0])
    assert list(bn.state_dict()) == ["gamma", "beta", "running_mean", "running_var"]  # order kept


def test_sequential_accepts_modules_only():
    with pytest.raises(TypeError, match="item 1 is a function, not a Module"):
        nn.Sequential(nn.ReLU(), F.relu)


def test_repr_shows_the_tree_and_each_layers_settings():
    inner = nn.Sequential(nn.BatchNorm1d(4), nn.Dropout(0.2, np.random.default_rng(0)))
    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.1), inner)
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True, init='normal')\n"
        "  (1): LeakyReLU(slope=0.1)\n"
        "  (2): Sequential(\n"
        "    (0): BatchNorm1d(4, momentum=0.1, eps=1e-05)\n"
        "    (1): Dropout(p=0.2)\n"
        "  )\n"
        ")")


def test_zero_grad_clears_every_parameter_gradient():
    model = nn.mlp([3, 4, 2], rng=np.random.default_rng(0))
    F.mse_loss(model(np.ones((2, 3), np.float32)), np.zeros((2, 2), np.float32)).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------------------------------------------
# State dicts
# ---------------------------------------------------------------------------------------------------


def test_state_dict_round_trip_reproduces_outputs_exactly():
    a = nn.Sequential(nn.Linear(6, 8, rng=np.random.default_rng(1)), nn.BatchNorm1d(8), nn.ReLU(),
                      nn.Linear(8, 3, rng=np.random.default_rng(2)))
    b = nn.Sequential(nn.Linear(6, 8, rng=np.random.default_rng(3)), nn.BatchNorm1d(8), nn.ReLU(),
                      nn.Linear(8, 3, rng=np.random.default_rng(4)))
    x = np.random.default_rng(5).standard_normal((16, 6)).astype(np.float32)
    a(x)  # moves a's running statistics away from their initial values
    a.eval()
    b.eval()
    assert not np.array_equal(a(x).data, b(x).data)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x).data, b(x).data)
    np.testing.assert_array_equal(b[1].running_mean, a[1].running_mean)


def test_state_dict_and_load_state_dict_copy_rather_than_share():
    model = nn.mlp([3, 2], rng=np.random.default_rng(0))
    state = model.state_dict()
    state["0.weight"][:] = 0
    assert np.any(model[0].weight.data != 0)  # the dict is a snapshot
    fresh = {k: np.ones_like(v) for k, v in state.items()}
    model.load_state_dict(fresh)
    fresh["0.weight"][:] = 5
    np.testing.assert_array_equal(model[0].weight.data, 1)  # the model owns its arrays


def test_load_state_dict_keeps_the_models_dtype_and_arrays():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    weight, running_mean = model[0].weight.data, model[1].running_mean
    state = {k: np.full(v.shape, 0.25, np.float64) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert model[0].weight.data is weight and model[1].running_mean is running_mean  # filled in place
    assert weight.dtype == running_mean.dtype == np.float32 and np.all(weight == 0.25)


def test_load_state_dict_names_missing_unexpected_and_mismatched_keys():
    model = nn.mlp([3, 4, 2], rng=np.random.default_rng(0))
    state = model.state_dict()
    del state["2.bias"]
    state["9.weight"] = np.zeros(1)
    with pytest.raises(KeyError, match=r"missing keys \['2.bias'\], unexpected keys \['9.weight'\]"):
        model.load_state_dict(state)
    state = model.state_dict()
    state["0.weight"] = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(4, 3\), expected \(3, 4\)"):
        model.load_state_dict(state)


def test_a_failed_load_lists_every_mismatch_and_changes_nothing():
    model = nn.mlp([3, 4, 2], rng=np.random.default_rng(0))
    before = model.state_dict()
    state = {k: np.zeros_like(v) for k, v in before.items()}
    state["2.weight"], state["2.bias"] = np.zeros((2, 4)), np.zeros(3)  # 0.* would load before these fail
    with pytest.raises(ValueError, match=r"'2.weight' has shape \(2, 4\), expected \(4, 2\); "
                                         r"'2.bias' has shape \(3,\), expected \(2,\)"):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4), seed=st.integers(0, 1000))
def test_state_dict_round_trip_for_any_mlp(sizes, seed):
    a = nn.mlp(sizes, rng=np.random.default_rng(seed), init="he")
    b = nn.mlp(sizes, rng=np.random.default_rng(seed + 1), init="he")
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(seed).standard_normal((3, sizes[0])).astype(np.float32)
    np.testing.assert_array_equal(a(x).data, b(x).data)


# ---------------------------------------------------------------------------------------------------
# Initializers: statistics within five standard errors of the sample estimates
# ---------------------------------------------------------------------------------------------------

FAN_IN, FAN_OUT = 400, 300  # different, so that a swapped fan shows
N = FAN_IN * FAN_OUT


def test_normal_init_is_gaussian_with_std_0_01():
    w = nn.Linear(FAN_IN, FAN_OUT, rng=np.random.default_rng(0), init="normal").weight.data.astype(np.float64)
    assert abs(w.std() - 0.01) < 5 * 0.01 / math.sqrt(2 * N)
    assert abs(w.mean()) < 5 * 0.01 / math.sqrt(N)
    within_one_std = np.mean(np.abs(w) < 0.01)  # 0.6827 for a Gaussian, 0.577 for a uniform of that std
    assert abs(within_one_std - 0.6827) < 5 * math.sqrt(0.6827 * 0.3173 / N)


def test_he_init_has_std_sqrt_2_over_fan_in():
    w = nn.Linear(FAN_IN, FAN_OUT, rng=np.random.default_rng(0), init="he").weight.data.astype(np.float64)
    std = math.sqrt(2 / FAN_IN)
    assert abs(w.std() - std) < 5 * std / math.sqrt(2 * N)
    assert abs(w.mean()) < 5 * std / math.sqrt(N)


def test_glorot_init_is_uniform_within_the_bound_with_variance_2_over_fan_sum():
    w = nn.Linear(FAN_IN, FAN_OUT, rng=np.random.default_rng(0), init="glorot").weight.data.astype(np.float64)
    limit = math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.999 * limit
    var = 2 / (FAN_IN + FAN_OUT)
    assert abs(w.var() - var) < 5 * math.sqrt(4 / 45) * limit**2 / math.sqrt(N)  # sd of a uniform's sample var
    assert abs(np.mean(np.abs(w) < limit / 2) - 0.5) < 5 * 0.5 / math.sqrt(N)


def test_initializer_functions_keep_shape_and_dtype_and_follow_the_generator():
    for make in (lambda r: nn.normal_((3, 5), 0.01, r), lambda r: nn.he_normal((3, 5), r),
                 lambda r: nn.glorot_uniform((3, 5), r)):
        w = make(np.random.default_rng(3))
        assert w.shape == (3, 5) and w.dtype == np.float32
        assert np.array_equal(w, make(np.random.default_rng(3)))
    assert nn.normal_((2,), 1.0, np.random.default_rng(0), dtype=np.float64).dtype == np.float64
    layer = nn.Linear(3, 5, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(layer.bias.data, 0)


def test_linear_std_sets_the_scale_of_the_normal_init():
    w = nn.Linear(FAN_IN, FAN_OUT, rng=np.random.default_rng(0), std=0.2).weight.data.astype(np.float64)
    assert abs(w.std() - 0.2) < 5 * 0.2 / math.sqrt(2 * N)


def test_unknown_init_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown init 'xavier'; expected one of \['glorot', 'he', 'normal'\]"):
        nn.Linear(2, 2, init="xavier")


# ---------------------------------------------------------------------------------------------------
# Modes, Dropout, GaussianNoise
# ---------------------------------------------------------------------------------------------------


def test_train_and_eval_reach_every_submodule():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5, rng), nn.Sequential(nn.BatchNorm1d(2))))
    modules = [m for _, m in model.named_modules()]
    assert len(modules) == 6 and all(m.training for m in modules)
    assert model.eval() is model
    assert not any(m.training for m in modules)
    model.train()
    assert all(m.training for m in modules)
    model.train(False)
    assert not any(m.training for m in modules)


def values(out):
    """The array of a module's output (GaussianNoise passes its input through as it came in eval mode)."""
    return out.data if isinstance(out, Tensor) else out


def test_dropout_zeroes_a_fraction_p_and_scales_survivors_by_one_over_one_minus_p():
    p, n = 0.3, 200_000
    drop = nn.Dropout(p, np.random.default_rng(0))
    x = np.random.default_rng(1).uniform(1, 2, (n // 100, 100)).astype(np.float32)
    out = drop(x).data
    assert out.dtype == np.float32
    dropped = out == 0
    assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(out[~dropped], x[~dropped] / (1 - p), rtol=1e-6)  # inverted dropout
    assert not np.array_equal(drop(x).data == 0, dropped)  # a fresh mask each call
    drop.eval()
    np.testing.assert_array_equal(values(drop(x)), x)


def test_dropout_gradient_uses_the_same_mask():
    drop = nn.Dropout(0.5, np.random.default_rng(0))
    x = Tensor(np.ones((50, 4)), requires_grad=True)
    out = drop(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)  # d(out)/dx = mask / (1 − p) = out / x with x = 1


def test_dropout_and_noise_reject_invalid_settings():
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\), got 1"):
        nn.Dropout(1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="std must be >= 0, got -0.1"):
        nn.GaussianNoise(-0.1, np.random.default_rng(0))


@pytest.mark.parametrize("make", [lambda: nn.Dropout(0.5, None), lambda: nn.GaussianNoise(0.3, None)])
def test_dropout_and_noise_need_an_explicit_generator(make):
    with pytest.raises(TypeError, match=r"pass the run's random generator"):
        make()


def test_dropout_draws_from_the_given_generator_only():
    x = np.ones((20, 30), np.float32)
    a, b = nn.Dropout(0.5, np.random.default_rng(9)), nn.Dropout(0.5, np.random.default_rng(9))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    n1, n2 = nn.GaussianNoise(0.3, np.random.default_rng(9)), nn.GaussianNoise(0.3, np.random.default_rng(9))
    np.testing.assert_array_equal(n1(x).data, n2(x).data)


def test_gaussian_noise_adds_zero_mean_noise_of_the_given_std_in_training_only():
    std, n = 0.3, 100_000
    noise = nn.GaussianNoise(std, np.random.default_rng(0))
    x = np.full((n // 50, 50), 2.0, np.float32)
    out = noise(x).data
    assert out.dtype == np.float32
    e = out.astype(np.float64) - 2
    assert abs(e.mean()) < 5 * std / math.sqrt(n) and abs(e.std() - std) < 5 * std / math.sqrt(2 * n)
    assert not np.array_equal(noise(x).data, out)
    t = Tensor(x.astype(np.float64), requires_grad=True)
    noise(t).sum().backward()
    np.testing.assert_array_equal(t.grad, 1.0)  # noise is added, so the gradient passes through unchanged
    noise.eval()
    np.testing.assert_array_equal(values(noise(x)), x)
    np.testing.assert_array_equal(values(nn.GaussianNoise(0.0, np.random.default_rng(0))(x)), x)


# ---------------------------------------------------------------------------------------------------
# BatchNorm1d
# ---------------------------------------------------------------------------------------------------


def batch(rng, n=64):
    return rng.standard_normal((n, 3)) * [1.0, 5.0, 0.2] + [3.0, -2.0, 10.0]


def test_batchnorm_training_output_has_zero_mean_unit_variance_then_gamma_beta():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    x = batch(rng)
    y = bn(x).data
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(0), x.var(0) / (x.var(0) + 1e-5), rtol=1e-12)  # biased batch variance
    bn.gamma.data[:] = [2.0, 0.5, -1.0]
    bn.beta.data[:] = [1.0, 0.0, 3.0]
    y = bn(x).data
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) * bn.gamma.data + bn.beta.data,
                               rtol=1e-12, atol=1e-12)


def test_batchnorm_running_statistics_follow_the_momentum_rule_with_unbiased_variance():
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm1d(3, momentum=0.1, dtype=np.float64)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = batch(rng)
        bn(x)
        mean = 0.9 * mean + 0.1 * x.mean(0)
        var = 0.9 * var + 0.1 * x.var(0, ddof=1)
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    np.testing.assert_allclose(bn.state_dict()["running_var"], var, rtol=1e-12)  # the saved buffer is the live one


def test_batchnorm_eval_is_the_fixed_affine_map_of_the_running_statistics():
    rng = np.random.default_rng(2)
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    for _ in range(5):
        bn(batch(rng))
    bn.gamma.data[:] = [2.0, 0.5, -1.0]
    bn.beta.data[:] = [1.0, 0.0, 3.0]
    bn.eval()
    stats = bn.running_mean.copy(), bn.running_var.copy()
    x = batch(rng, n=7) + 4.0  # a shifted batch: batch statistics would differ from the running ones
    expected = (x - stats[0]) / np.sqrt(stats[1] + 1e-5) * bn.gamma.data + bn.beta.data
    np.testing.assert_allclose(bn(x).data, expected, rtol=1e-12)
    np.testing.assert_allclose(bn(x[:1]).data, expected[:1], rtol=1e-12)  # one row alone: same answer
    np.testing.assert_array_equal(bn.running_mean, stats[0])  # eval leaves the statistics alone
    np.testing.assert_array_equal(bn.running_var, stats[1])


@pytest.mark.parametrize("kw, message", [(dict(num_features=0), "num_features must be a positive integer, got 0"),
                                         (dict(num_features=3, momentum=1.5), r"momentum must be in \[0, 1\], got 1.5"),
                                         (dict(num_features=3, eps=0), "eps must be > 0, got 0")])
def test_batchnorm_rejects_invalid_settings(kw, message):
    with pytest.raises(ValueError, match=message):
        nn.BatchNorm1d(**kw)


def test_batchnorm_needs_two_examples_to_train():
    with pytest.raises(ValueError, match="at least 2 examples"):
        nn.BatchNorm1d(3)(np.ones((1, 3), np.float32))


# ---------------------------------------------------------------------------------------------------
# Gradients through whole modules (float64)
# ---------------------------------------------------------------------------------------------------


def float64_net(rng):
    """Every layer type with parameters or a nonlinearity; random weights keep ReLU inputs away from 0."""
    return nn.Sequential(nn.Linear(4, 5, rng=rng, dtype=np.float64, init="he"), nn.BatchNorm1d(5, dtype=np.float64),
                         nn.Tanh(), nn.Linear(5, 4, rng=rng, dtype=np.float64, init="he"), nn.LeakyReLU(0.2),
                         nn.Linear(4, 4, rng=rng, dtype=np.float64, init="glorot"), nn.Sigmoid(),
                         nn.Linear(4, 3, rng=rng, dtype=np.float64, init="he"), nn.ReLU(),
                         nn.Linear(3, 2, rng=rng, dtype=np.float64, init="glorot"))


def resolve(model, dotted):
    *path, leaf = dotted.split(".")
    owner = model
    for part in path:
        owner = getattr(owner, part)
    return owner, leaf


def test_gradcheck_of_a_network_loss_with_respect_to_its_weights():
    """The module's own forward, with its parameters swapped for gradcheck's leaves."""
    rng = np.random.default_rng(0)
    model = float64_net(rng)
    names = [n for n, _ in model.named_parameters()]
    for p in model.parameters():
        p.data[...] = rng.standard_normal(p.shape) * 0.7  # biases, γ, β away from their special initial values
    x, t = rng.standard_normal((6, 4)), rng.random((6, 2))

    def loss(*weights):
        originals = [getattr(*resolve(model, n)) for n in names]
        for n, w in zip(names, weights):
            object.__setattr__(*resolve(model, n), w)  # bypass registration: only for the duration of one call
        try:
            return F.binary_cross_entropy_with_logits(model(Tensor(x)), t)
        finally:
            for n, p in zip(names, originals):
                object.__setattr__(*resolve(model, n), p)

    assert gradcheck(loss, [p.data for p in model.parameters()])


def test_parameter_gradients_match_a_directional_finite_difference():
    """vᵀ·J·u with the parameters themselves: backward fills p.grad; central differences move p.data along u."""
    rng = np.random.default_rng(1)
    model = float64_net(rng)
    x, v = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))

    def objective():
        return float((model(x).data * v).sum())

    model(x).backward(v)
    directions = [rng.standard_normal(p.shape) for p in model.parameters()]
    analytic = sum(float((p.grad * u).sum()) for p, u in zip(model.parameters(), directions))
    h = 1e-6
    for p, u in zip(model.parameters(), directions):
        p.data += h * u
    up = objective()
    for p, u in zip(model.parameters(), directions):
        p.data -= 2 * h * u
    down = objective()
    assert analytic == pytest.approx((up - down) / (2 * h), rel=1e-6)


# ---------------------------------------------------------------------------------------------------
# Devices
# ---------------------------------------------------------------------------------------------------


def test_to_cpu_is_a_no_op_that_keeps_values():
    model = nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(0)), nn.BatchNorm1d(2))
    before = model.state_dict()
    assert model.to("cpu") is model and model.device == "cpu"
    after = model.state_dict()
    assert list(after) == list(before)
    for k in before:
        assert after[k].dtype == before[k].dtype and np.array_equal(after[k], before[k]), k


def test_to_keeps_parameters_and_their_gradients():
    model = nn.mlp([3, 2], rng=np.random.default_rng(0))
    params = model.parameters()
    model[0].weight.grad = np.ones((3, 2), np.float32)
    model.to("cpu")
    assert model.parameters() == params and model[0].weight.grad is not None


def test_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown device 'gpu'; expected one of \('cpu', 'cuda'\)"):
        nn.Linear(2, 2).to("gpu")


@pytest.mark.skipif(cupy_available(), reason="CuPy and a GPU are present: moving to cuda succeeds here")
def test_to_cuda_without_cupy_says_how_to_install_it():
    with pytest.raises(RuntimeError, match=r"needs CuPy and an NVIDIA GPU.*minaae\[cuda\]"):
        nn.Linear(2, 2).to("cuda")


@pytest.mark.cuda
def test_to_cuda_and_back_keeps_values_and_outputs():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2, rng=rng)).eval()
    x = rng.standard_normal((5, 3)).astype(np.float32)
    before, y_cpu = model.state_dict(), model(x).data
    model.to("cuda")
    assert model.device == "cuda"
    np.testing.assert_allclose(model(to_device(x, "cuda")).numpy(), y_cpu, rtol=1e-5, atol=1e-6)
    model.to("cpu")
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
