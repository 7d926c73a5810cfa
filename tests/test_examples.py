"""The example scripts as a user runs them: bad arguments give a one-line message, and a short run on a
slice of MNIST writes its figures, checkpoint and metrics.json and resumes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(script, *args, timeout=300):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": ROOT}  # this checkout's minaae, as `pip install -e` gives
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("args, message", [
    (["--prior", "banana"], "invalid choice: 'banana'"),
    (["--epochs", "-3"], "must be a positive integer, got -3"),
    (["--data-dir", "/nonexistent/mnist"], "--data-dir /nonexistent/mnist is not a folder"),
    (["--prior", "mixture", "--latent-dim", "8"], "--prior mixture with --latent-dim 8: prior 'mixture' is 2-D"),
    (["--device", "tpu"], "unknown device 'tpu'"),
])
def test_mnist_aae_rejects_bad_arguments_with_one_line(args, message):
    result = run("mnist_aae.py", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--labels", "15"], "positive multiple of 10"),
    (["--labels", "some"], "integer or 'all'"),
    (["--input-noise", "-1"], "--input-noise: must be a finite number >= 0"),
])
def test_mnist_semisupervised_rejects_bad_arguments(args, message):
    result = run("mnist_semisupervised.py", *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_mnist_aae_short_run_writes_outputs_and_resumes(tmp_path):
    out = str(tmp_path / "run")
    common = ["--train-size", "1000", "--hidden", "64", "--out", out, "--no-progress"]
    first = run("mnist_aae.py", "--epochs", "1", *common)
    assert first.returncode == 0, first.stderr[-2000:]
    for name in ["codes.png", "samples.png", "reconstructions.png", "manifold.png", "curves.png",
                 "checkpoint.npz", "metrics.json", "log.jsonl"]:
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    after_first = json.load(open(os.path.join(out, "metrics.json")))
    second = run("mnist_aae.py", "--epochs", "2", "--resume", *common)
    assert second.returncode == 0 and "resumed" in second.stdout
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert metrics["epochs"] == 2 and metrics["seed"] == 0 and metrics["args"]["prior"] == "mixture"
    assert 0 < metrics["test_rec_error"] <= 784 and 0 <= metrics["discriminator_accuracy"] <= 1  # finite, in range
    # the training time adds up over resumed runs; the process time is the last invocation's alone
    assert metrics["iterations"] == 2 * after_first["iterations"] > 0
    assert metrics["train_wall_time_s"] > after_first["train_wall_time_s"] > 0 and metrics["process_wall_time_s"] > 0


@pytest.mark.parametrize("script", ["mnist_semisupervised.py", "mnist_dimreduction.py"])
def test_more_labels_than_the_training_slice_holds_is_a_one_line_error(tmp_path, script):
    # 500 images hold ~50 of each digit: 100 labels per class cannot be balanced
    result = run(script, "--labels", "1000", "--train-size", "500", "--out", str(tmp_path), "--no-progress")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "--labels 1000" in result.stderr and "need 100" in result.stderr


@pytest.mark.slow
def test_mnist_semisupervised_short_run_learns_above_chance(tmp_path):
    out = str(tmp_path / "ss")
    result = run("mnist_semisupervised.py", "--labels", "100", "--epochs", "8", "--train-size", "2000",
                 "--hidden", "128", "--optimizer", "adam", "--lr", "1e-3", "--out", out, "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "100 labeled training examples" in result.stdout
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert metrics["labels"] == 100 and metrics["test_error"] < 0.75  # chance is 0.9


QUICK = ["--epochs", "1", "--train-size", "1000", "--hidden", "32", "--no-progress"]


@pytest.mark.slow
@pytest.mark.parametrize("script, extra, outputs, key", [
    ("mnist_label_regularized.py", [], ["codes.png", "manifold.png"], "test_in_own_component"),
    ("mnist_label_regularized.py", ["--prior", "swissroll", "--roll-noise", "0.2", "--encoder", "gaussian"],
     ["codes.png", "manifold.png"], "test_in_own_component"),
    ("mnist_supervised.py", ["--classifier-epochs", "1", "--prior-std", "0.5"], ["styles.png"],
     "generated_read_as_intended"),
    ("mnist_supervised.py", ["--classifier-epochs", "1", "--label-to-discriminator"], ["styles.png"],
     "generated_read_as_intended"),
    ("mnist_likelihood.py", ["--samples", "500", "--val-points", "200"], ["samples.png"], "parzen_test_log_likelihood"),
    ("mnist_aae_vs_vae.py", [], ["aae_vs_vae.png"], "aae_mixture"),
    ("mnist_semisupervised.py", ["--no-batch-norm"], ["curves.png", "heads.png"], "test_error"),
    ("mnist_clustering.py", [], ["clusters.png"], "test_error"),
    ("mnist_clustering.py", ["--no-joint-discriminator"], ["clusters.png"], "test_error"),
    ("mnist_clustering.py", ["--d-noise", "0.3"], ["clusters.png"], "clusters_used"),
    ("mnist_dimreduction.py", ["--labels", "100"], ["representation.png"], "test_error"),
    ("mnist_dimreduction.py", ["--labels", "100", "--no-batch-norm", "--d-noise", "0"], ["representation.png"],
     "test_error"),
])
def test_each_example_runs_as_a_user_would_and_writes_its_outputs(tmp_path, script, extra, outputs, key):
    out = str(tmp_path / "out")
    result = run(script, *QUICK, *extra, "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in [*outputs, "metrics.json"]:
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert key in metrics and metrics["seed"] == 0
    last = result.stdout.strip().splitlines()[-1]  # every example ends by naming the files it wrote
    assert last.startswith(f"wrote in {out}: ") and all(name in last for name in [*outputs, "metrics.json"]), last


@pytest.mark.slow
def test_mnist_likelihood_refines_sigma_on_validation_and_decays_the_learning_rates(tmp_path):
    out = str(tmp_path / "lk")
    result = run("mnist_likelihood.py", "--epochs", "2", "--decay-at", "1", "--train-size", "1000", "--hidden", "32",
                 "--samples", "300", "--val-points", "100", "--no-progress", "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    m = json.load(open(os.path.join(out, "metrics.json")))
    coarse, fine = m["parzen_validation_scores"], m["parzen_validation_scores_fine"]
    fine_sigmas = [float(k) for k in fine]
    # the fine grid spans the best coarse value's neighbours, and holds that value itself
    assert min(fine_sigmas) <= m["parzen_sigma_gan_grid"] <= max(fine_sigmas)
    assert max(fine.values()) >= max(coarse.values()) - 1e-9
    assert abs(float(max(fine, key=fine.get)) - m["parzen_sigma"]) < 1e-4
    checkpoint = np.load(os.path.join(out, "checkpoint.npz"))
    meta = json.loads(checkpoint["meta"].tobytes().decode())
    for phase in ("reconstruction", "discriminator", "generator"):  # ÷10 after epoch 1
        assert meta[f"/optim/{phase}/hyperparameters/lr"] == pytest.approx(1e-4)


@pytest.mark.slow
def test_clustering_reports_the_mean_of_the_last_five_epochs_as_its_log_holds_them(tmp_path):
    out = str(tmp_path / "cl")
    result = run("mnist_clustering.py", *QUICK[2:], "--epochs", "7", "--clusters", "4", "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    logged = [json.loads(line) for line in open(os.path.join(out, "log.jsonl"))]
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    for key in ("test_error", "test_error_majority"):
        values = [row[key] for row in logged if key in row]
        assert len(values) == 7 and metrics[key] == values[-1]
        assert metrics[f"{key}_mean_last_5"] == pytest.approx(sum(values[2:]) / 5, abs=1e-12)
    assert f"mean of the last 5 epochs {100 * metrics['test_error_mean_last_5']:.2f}%" in result.stdout


def _example(script):
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        return __import__(script[:-3])
    finally:
        sys.path.pop(0)


def test_the_mean_of_the_last_five_skips_epochs_that_did_not_log_the_key_and_needs_five():
    mean_of_last_five = _example("common.py").mean_of_last_five
    history = [{"epoch": e, "test_error": e / 10} for e in range(1, 8)]
    history.insert(5, {"epoch": 5.5})  # an epoch without the key
    assert mean_of_last_five(history, "test_error") == pytest.approx((0.3 + 0.4 + 0.5 + 0.6 + 0.7) / 5)
    assert mean_of_last_five(history[:4], "test_error") is None  # four epochs logged it


def test_the_swiss_roll_defaults_to_a_slower_discriminator_two_generator_steps_and_a_decay_the_mixture_does_not():
    parse = _example("mnist_label_regularized.py").parse_args
    roll, mixture = parse(["--prior", "swissroll"]), parse([])
    assert (roll.lr, roll.d_lr, roll.generator_steps, roll.decay_at) == (1e-3, 2e-4, 2, [2, 6])
    assert (mixture.lr, mixture.d_lr, mixture.generator_steps, mixture.decay_at) == (1e-3, None, 1, None)
    given = parse(["--prior", "swissroll", "--d-lr", "1e-3", "--generator-steps", "1", "--decay-at"])
    assert (given.d_lr, given.generator_steps, given.decay_at) == (1e-3, 1, [])  # given flags win, even empty ones


@pytest.mark.slow
def test_the_swiss_roll_run_divides_every_learning_rate_after_the_decay_epoch(tmp_path):
    out = str(tmp_path / "roll")
    result = run("mnist_label_regularized.py", "--prior", "swissroll", "--epochs", "2", "--decay-at", "1",
                 "--train-size", "1000", "--labeled", "500", "--hidden", "32", "--no-progress", "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    meta = json.loads(np.load(os.path.join(out, "checkpoint.npz"))["meta"].tobytes().decode())
    assert meta["/optim/reconstruction/hyperparameters/lr"] == pytest.approx(1e-4)
    assert meta["/optim/discriminator/hyperparameters/lr"] == pytest.approx(2e-5)


@pytest.mark.parametrize("script, args, message", [
    ("mnist_clustering.py", ["--input-dropout", "1.5"], "--input-dropout must be in [0, 1)"),
    ("mnist_clustering.py", ["--d-noise", "nan"], "--d-noise: must be a finite number >= 0"),
    ("mnist_clustering.py", ["--clusters", "1"], "--clusters must be at least 2"),
    ("mnist_clustering.py", ["--lr", "inf"], "--lr: must be a positive number, got inf"),
    ("mnist_semisupervised.py", ["--d-lr", "0"], "--d-lr: must be a positive number, got 0"),
    ("mnist_dimreduction.py", ["--labels", "15"], "multiple of 10"),
    ("mnist_dimreduction.py", ["--labels", "100", "--clusters", "20"], "--clusters must be 10"),
    ("mnist_likelihood.py", ["--prior-std", "0"], "must be a positive number"),
    ("mnist_label_regularized.py", ["--prior", "gaussian"], "invalid choice"),
    ("mnist_label_regularized.py", ["--roll-noise", "0.2"], "--roll-noise applies to --prior swissroll only"),
    ("mnist_label_regularized.py", ["--prior", "swissroll", "--roll-noise", "nan"], "--roll-noise must be positive"),
    ("mnist_label_regularized.py", ["--generator-steps", "0"], "--generator-steps: must be a positive integer"),
    ("mnist_supervised.py", ["--prior-std", "-1"], "--prior-std: must be a positive number"),
    ("benchmark.py", ["--rounds", "0"], "--rounds must be positive"),
])
def test_other_examples_reject_bad_arguments(script, args, message):
    result = run(script, *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("script, default", [("mnist_clustering.py", True), ("mnist_semisupervised.py", True),
                                             ("mnist_dimreduction.py", True)])
def test_batch_norm_in_the_encoder_defaults(script, default):
    """On for clustering (the paper's setting), semi-supervised classification and dimensionality reduction
    (faster, docs/results.md)."""
    module = _example(script)
    assert module.parse_args([]).batch_norm is default
    assert module.parse_args(["--batch-norm"]).batch_norm and not module.parse_args(["--no-batch-norm"]).batch_norm
    # output batch normalization: on for clustering only, so far (docs/results.md)
    assert module.parse_args([]).output_batch_norm is (script == "mnist_clustering.py")
    assert not module.parse_args(["--no-output-batch-norm"]).output_batch_norm
    # the joint discriminator: on for clustering only, so far (docs/results.md)
    assert module.parse_args([]).joint_discriminator is (script == "mnist_clustering.py")
    assert not module.parse_args(["--no-joint-discriminator"]).joint_discriminator
