"""The faults a user meets with the example scripts, each met by one line and no lost run
(docs/reliability.md lists them, each with the test here or in test_train/test_data/test_autograd)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = ["mnist_aae.py", "mnist_aae_vs_vae.py", "mnist_clustering.py", "mnist_dimreduction.py",
            "mnist_label_regularized.py", "mnist_likelihood.py", "mnist_semisupervised.py", "mnist_supervised.py"]
TINY = ["--train-size", "200", "--hidden", "16", "--no-progress"]


def run(script, *args):
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), *args], capture_output=True,
                          text=True, timeout=300, env=env)


def one_line_error(result, code=1):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code and "Traceback" not in result.stderr, result.stderr[-2000:]
    return lines[-1]


def test_examples_list_is_complete():
    assert sorted(EXAMPLES) == sorted(f for f in os.listdir(os.path.join(ROOT, "examples"))
                                      if f.startswith("mnist_"))


@pytest.mark.parametrize("script", EXAMPLES)
def test_every_example_refuses_an_out_that_holds_another_run(tmp_path, script):
    folder = tmp_path / ("aae_gaussian" if script == "mnist_aae_vs_vae.py" else "")  # its first model's folder
    folder.mkdir(exist_ok=True)
    (folder / "checkpoint.npz").write_bytes(b"another run's")
    result = run(script, "--out", str(tmp_path), "--data-dir", str(tmp_path), *TINY[-1:])  # refused before loading
    line = one_line_error(result)
    assert f"--out {str(folder).rstrip('/')} already holds a run" in line
    assert "--resume" in line and "another --out" in line and "--overwrite" in line
    assert (folder / "checkpoint.npz").read_bytes() == b"another run's"


def test_overwrite_starts_the_run_over(tmp_path):
    out = str(tmp_path / "run")
    assert run("mnist_aae.py", "--epochs", "2", *TINY, "--out", out).returncode == 0
    again = run("mnist_aae.py", "--epochs", "1", *TINY, "--out", out, "--overwrite")
    assert again.returncode == 0, again.stderr[-2000:]
    log = [json.loads(line)["epoch"] for line in open(os.path.join(out, "log.jsonl"))]
    assert log == [1]  # not 1, 2, 1


@pytest.mark.parametrize("make, reason", [
    (lambda t: (t / "file").write_text("x") and t / "file", "File exists"),
    (lambda t: (t / "file").write_text("x") and t / "file" / "sub", "Not a directory"),
    (lambda t: "/proc/minaae-out", "No such file or directory"),
])
def test_an_out_that_cannot_be_written_is_one_line_before_any_data_is_read(tmp_path, make, reason):
    out = str(make(tmp_path))
    result = run("mnist_aae.py", "--out", out, "--data-dir", str(tmp_path), "--no-progress")  # no MNIST there
    assert one_line_error(result) == f"error: --out {out} cannot be written ({reason}); choose another folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_one_line(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    result = run("mnist_aae.py", "--out", str(tmp_path / "ro"), "--no-progress")
    assert "cannot be written (Permission denied)" in one_line_error(result)


@pytest.fixture(scope="module")
def semisupervised_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("ss") / "run")
    result = run("mnist_semisupervised.py", "--labels", "100", "--epochs", "1", *TINY, "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def copy_run(src, dst):
    os.makedirs(dst)
    for name in ("checkpoint.npz", "log.jsonl"):
        with open(os.path.join(src, name), "rb") as f, open(os.path.join(dst, name), "wb") as g:
            g.write(f.read())
    return dst


@pytest.mark.parametrize("flags, message", [
    (["--seed", "1"], "was written with --seed 0, this command gives 1"),
    (["--labels", "200"], "was written with --labels 100, this command gives 200"),
    (["--no-batch-norm"], "was written with --batch-norm on, this command gives off"),
    (["--optimizer", "sgd"], "was written with --optimizer adam, this command gives sgd"),
    (["--hidden", "32"], "was written with --hidden 16, this command gives 32"),
    (["--train-size", "300"], "was written with --train-size 200, this command gives 300"),
])
def test_a_resume_with_other_flags_that_define_the_run_is_refused(semisupervised_run, tmp_path, flags, message):
    out = copy_run(semisupervised_run, str(tmp_path / "run"))
    args = {"--labels": "100", "--train-size": "200", "--hidden": "16"}
    for flag in flags:
        args.pop(flag, None)
    given = [x for kv in args.items() for x in kv]
    result = run("mnist_semisupervised.py", "--epochs", "2", *given, *flags, "--no-progress", "--out", out, "--resume")
    line = one_line_error(result)
    assert message in line and "resume with the value it was written with" in line


def rewrite_run(path, change):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["meta"].tobytes().decode())
    change(meta["state"])
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_a_resume_on_another_labeled_subset_is_refused(semisupervised_run, tmp_path):
    out = copy_run(semisupervised_run, str(tmp_path / "run"))
    rewrite_run(os.path.join(out, "checkpoint.npz"),
                lambda state: state["run"]["labeled subset (indices)"].__setitem__(7, 49_999))
    result = run("mnist_semisupervised.py", "--labels", "100", "--epochs", "2", *TINY, "--out", out, "--resume")
    assert "trained on another labeled subset (100 indices, now 100, first differing at position 7)" in \
        one_line_error(result)


def test_a_checkpoint_without_a_run_record_resumes_with_a_warning(semisupervised_run, tmp_path):
    """Runs started before minaae recorded the run's identity still resume."""
    out = copy_run(semisupervised_run, str(tmp_path / "run"))
    rewrite_run(os.path.join(out, "checkpoint.npz"), lambda state: state.pop("run"))
    result = run("mnist_semisupervised.py", "--labels", "100", "--epochs", "2", *TINY, "--out", out, "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the run identity cannot be checked" in result.stderr and "resumed from" in result.stdout


def test_a_run_recorded_before_a_flag_existed_resumes_only_with_the_value_it_trained_with(tmp_path):
    """Swiss-roll runs recorded before --generator-steps trained with one step; the default is now two."""
    out = str(tmp_path / "roll")
    args = ["--prior", "swissroll", "--labeled", "100", *TINY, "--out", out]
    assert run("mnist_label_regularized.py", "--epochs", "1", "--generator-steps", "1", *args).returncode == 0
    rewrite_run(os.path.join(out, "checkpoint.npz"), lambda state: state["run"].pop("--generator-steps"))
    result = run("mnist_label_regularized.py", "--epochs", "2", *args, "--resume")
    assert "was written with --generator-steps 1, this command gives 2" in one_line_error(result)
    result = run("mnist_label_regularized.py", "--epochs", "2", "--generator-steps", "1", *args, "--resume")
    assert result.returncode == 0 and "resumed from" in result.stdout, result.stderr[-2000:]


def test_learning_rates_given_on_resume_apply_and_the_others_keep_their_saved_values(tmp_path):
    out = str(tmp_path / "run")
    assert run("mnist_aae.py", "--epochs", "1", "--d-lr", "5e-4", *TINY, "--out", out).returncode == 0
    result = run("mnist_aae.py", "--epochs", "2", "--lr", "2e-4", *TINY, "--out", out, "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    lrs = [json.loads(line)["lr"] for line in open(os.path.join(out, "log.jsonl"))]
    assert lrs == [{"reconstruction": 1e-3, "discriminator": 5e-4, "generator": 1e-3},
                   {"reconstruction": 2e-4, "discriminator": 5e-4, "generator": 2e-4}]
    args = json.load(open(os.path.join(out, "metrics.json")))["args"]
    assert (args["lr"], args["d_lr"]) == (2e-4, 5e-4)  # what was applied


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "--seed: must be an integer >= 0, got -1"),
    (["--train-size", "50"], "--train-size 50 is smaller than one batch (--batch-size 100)"),
    (["--resume", "--overwrite"], "give one of them"),
])
def test_bad_run_flags_are_one_line(tmp_path, args, message):
    result = run("mnist_aae.py", *args, "--out", str(tmp_path))
    assert message in one_line_error(result, code=2)


@pytest.mark.skipif(__import__("minaae.backend").backend.cupy_available(), reason="CuPy and a GPU are here")
def test_device_cuda_without_cupy_is_refused_when_parsing(tmp_path):
    result = run("mnist_aae.py", "--device", "cuda", "--out", str(tmp_path))
    assert "--device cuda needs CuPy" in one_line_error(result, code=2)


def test_sizes_too_large_for_memory_are_one_line(tmp_path):
    result = run("mnist_aae.py", "--hidden", "1000000000000", *TINY[:2], "--out", str(tmp_path))
    assert "not enough memory for the sizes asked for" in one_line_error(result)


def test_data_of_another_image_size_is_one_line(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    try:
        from test_data import STEMS, make_idx_folder
    finally:
        sys.path.pop(0)
    rng = np.random.default_rng(0)
    arrays = dict(zip(STEMS, (rng.integers(0, 256, (12, 32, 32)), rng.integers(0, 10, 12),
                              rng.integers(0, 256, (5, 32, 32)), rng.integers(0, 10, 5))))
    folder = make_idx_folder(tmp_path / "cifar-like", arrays)
    env_cache = ["--out", str(tmp_path / "out")]
    result = run("mnist_aae.py", "--data-dir", str(folder), "--batch-size", "5", *env_cache)
    assert "holds 32×32 images; the models here take 28×28" in one_line_error(result)


def test_snapshots_animate_the_codes_of_every_epoch_across_a_resume(tmp_path):
    from PIL import Image

    out = str(tmp_path / "run")
    first = run("mnist_aae.py", "--epochs", "2", *TINY, "--out", out)
    assert first.returncode == 0, first.stderr[-2000:]
    assert sorted(os.listdir(os.path.join(out, "snapshots"))) == ["codes-0001.npy", "codes-0002.npy"]
    assert np.load(os.path.join(out, "snapshots", "codes-0002.npy")).shape == (10_000, 2)  # the test codes
    assert Image.open(os.path.join(out, "codes.gif")).n_frames == 2
    second = run("mnist_aae.py", "--epochs", "3", *TINY, "--out", out, "--resume")
    assert second.returncode == 0, second.stderr[-2000:]
    assert Image.open(os.path.join(out, "codes.gif")).n_frames == 3
    assert "codes.gif" in second.stdout.splitlines()[-1]


def test_no_snapshots_writes_none(tmp_path):
    out = str(tmp_path / "run")
    assert run("mnist_aae.py", "--epochs", "1", *TINY, "--out", out, "--no-snapshots").returncode == 0
    assert not os.path.exists(os.path.join(out, "snapshots")) and not os.path.exists(os.path.join(out, "codes.gif"))


@pytest.mark.parametrize("script, extra", [
    ("mnist_aae.py", []),  # with its default --snapshots
    ("mnist_semisupervised.py", ["--labels", "100", "--decay-at", "1"]),  # a labeled subset, a decay
    ("mnist_clustering.py", []),
    ("mnist_label_regularized.py", ["--labeled", "100"]),
])
def test_a_resumed_example_equals_the_uninterrupted_run_bit_for_bit(tmp_path, script, extra):
    straight, split = str(tmp_path / "straight"), str(tmp_path / "split")
    assert run(script, "--epochs", "2", *TINY, *extra, "--out", straight).returncode == 0
    assert run(script, "--epochs", "1", *TINY, *extra, "--out", split).returncode == 0
    resumed = run(script, "--epochs", "2", *TINY, *extra, "--out", split, "--resume")
    assert resumed.returncode == 0 and "resumed from" in resumed.stdout, resumed.stderr[-2000:]
    with np.load(os.path.join(straight, "checkpoint.npz")) as a, np.load(os.path.join(split, "checkpoint.npz")) as b:
        assert a.files == b.files
        for name in a.files:
            if name != "meta":
                assert np.array_equal(a[name], b[name]), name
        meta_a, meta_b = (json.loads(f["meta"].tobytes().decode()) for f in (a, b))
    assert meta_a["rng"] == meta_b["rng"]
    assert {k: v for k, v in meta_a.items() if k != "state"} == {k: v for k, v in meta_b.items() if k != "state"}


def test_every_test_named_in_docs_reliability_exists():
    import re

    page = open(os.path.join(ROOT, "docs", "reliability.md")).read()
    named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", page)
    assert len(named) >= 30
    for file, name in named:
        source = open(os.path.join(ROOT, "tests", file)).read()
        assert re.search(rf"^def {name}\(", source, re.M), f"docs/reliability.md names {file}::{name}, which is missing"
