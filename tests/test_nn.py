"""Layers and modules against NumPy references and closed forms."""

import numpy as np
import pytest

from minaae import Tensor, gradcheck, nn
from minaae import functional as F


def test_linear_is_x_w_plus_b_with_w_in_by_out():
    rng = np.random.default_rng(0)
    layer = nn.Linear(4, 3, rng=rng)
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (3,)
    layer.bias.data[:] = [1.0, -2.0, 0.5]
    x = rng.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data + layer.bias.data, rtol=1e-6)


def test_mlp_parameter_names_are_deterministic_and_ordered():
    model = nn.mlp([6, 5, 4, 2], rng=np.random.default_rng(0))
    assert [n for n, _ in model.named_parameters()] == \
        ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert model.num_parameters() == 6 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2


def test_state_dict_round_trip_reproduces_outputs_exactly():
    a = nn.mlp([6, 8, 3], rng=np.random.default_rng(1))
    b = nn.mlp([6, 8, 3], rng=np.random.default_rng(2))
    x = np.random.default_rng(3).standard_normal((4, 6)).astype(np.float32)
    assert not np.array_equal(a(x).data, b(x).data)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x).data, b(x).data)
    state = a.state_dict()
    state["0.weight"][:] = 0  # a copy: changing it leaves the model alone
    assert np.any(a[0].weight.data != 0)


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


@pytest.mark.parametrize("init, fan_in, fan_out", [("normal", 400, 300), ("he", 400, 300), ("glorot", 400, 300)])
def test_initializer_statistics(init, fan_in, fan_out):
    w = nn.Linear(fan_in, fan_out, rng=np.random.default_rng(0), init=init).weight.data
    if init == "normal":
        assert abs(w.std() - 0.01) < 0.0005
    elif init == "he":
        assert abs(w.std() - np.sqrt(2 / fan_in)) < 0.03 * np.sqrt(2 / fan_in)
    else:
        limit = np.sqrt(6 / (fan_in + fan_out))
        assert np.abs(w).max() <= limit and abs(w.var() - 2 / (fan_in + fan_out)) < 0.03 * 2 / (fan_in + fan_out)
    assert abs(w.mean()) < 0.01 * w.std() * 100 / np.sqrt(w.size) * 5


def test_unknown_init_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown init 'xavier'"):
        nn.Linear(2, 2, init="xavier")


def test_train_and_eval_reach_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5, np.random.default_rng(0))))
    model.eval()
    assert not model[1][0].training
    model.train()
    assert model[1][0].training


def test_dropout_and_noise_are_identity_in_eval_and_random_in_training():
    rng = np.random.default_rng(0)
    x = np.ones((2000, 50), np.float32)
    drop, noise = nn.Dropout(0.3, rng), nn.GaussianNoise(0.3, rng)
    out = drop(x).data
    assert abs((out == 0).mean() - 0.3) < 0.01 and abs(out.mean() - 1) < 0.02
    noisy = noise(x).data - 1
    assert abs(noisy.std() - 0.3) < 0.005 and abs(noisy.mean()) < 0.005
    drop.eval()
    noise.eval()
    assert np.array_equal(drop(x).data, x) and noise(x) is x


def test_batchnorm_normalizes_in_training_and_uses_running_statistics_in_eval():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm1d(3)
    x = (rng.standard_normal((500, 3)) * [1, 5, 0.2] + [3, -2, 10]).astype(np.float32)
    y = bn(x).data
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(y.var(0), 1, atol=1e-3)
    for _ in range(100):
        bn(x)
    bn.eval()
    np.testing.assert_allclose(bn.running_mean, x.mean(0), rtol=1e-3)
    np.testing.assert_allclose(bn(x).data.mean(0), 0, atol=1e-2)
    assert {"running_mean", "running_var", "gamma", "beta"} <= set(bn.state_dict())


def test_gradients_of_a_small_network_against_finite_differences():
    rng = np.random.default_rng(0)
    w1, b1 = rng.standard_normal((4, 5)), rng.standard_normal(5)
    w2, b2 = rng.standard_normal((5, 2)), rng.standard_normal(2)
    x, t = rng.standard_normal((3, 4)), rng.random((3, 2))

    def loss(w1, b1, w2, b2):
        return F.binary_cross_entropy_with_logits(F.linear(F.tanh(F.linear(Tensor(x), w1, b1)), w2, b2), t)

    assert gradcheck(loss, [w1, b1, w2, b2])


def test_to_cpu_keeps_values():
    model = nn.mlp([3, 2], rng=np.random.default_rng(0))
    before = model.state_dict()
    model.to("cpu")
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="unknown device"):
        model.to("gpu")
