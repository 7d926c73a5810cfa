"""The training loop: exact resume, atomic checkpoints, a clear stop on divergence, Ctrl-C."""

import json
import os
import re

import numpy as np
import pytest

from minaae import aae, data, priors, train


def setup(seed=0):
    rng = np.random.default_rng(seed)
    x = np.random.default_rng(42).random((200, 12)).astype(np.float32)  # the same data in every "process"
    model = aae.AAE(12, 2, (16,), rng=rng, init="he")
    opts = aae.make_optimizers(model, lr=1e-3)
    prior = priors.GaussianMixture()
    step = lambda batch: aae.train_step(model, batch[0], prior, rng, opts)
    epoch_batches = lambda: data.batches(x, batch_size=50, rng=rng)
    return model, opts, rng, step, epoch_batches


def test_resume_after_interruption_equals_an_uninterrupted_run_bit_for_bit(tmp_path):
    model, opts, rng, step, batches = setup()
    train.fit(model, step, batches, 4, opts, rng, str(tmp_path / "straight"), progress=False)

    model2, opts2, rng2, step2, batches2 = setup()
    train.fit(model2, step2, batches2, 2, opts2, rng2, str(tmp_path / "split"), progress=False)
    model3, opts3, rng3, step3, batches3 = setup(seed=123)  # a fresh process: other weights, other generator
    history = train.fit(model3, step3, batches3, 4, opts3, rng3, str(tmp_path / "split"), resume=True,
                        progress=False)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    for k, v in model.state_dict().items():
        assert np.array_equal(v, model3.state_dict()[k]), k


def test_a_schedule_added_on_resume_counts_the_epochs_already_done(tmp_path):
    """A decay at epoch 3 given only when resuming after epoch 2 acts from epoch 4, as if set from the start."""
    from minaae import optim

    model, opts, rng, step, batches = setup()
    train.fit(model, step, batches, 2, opts, rng, str(tmp_path), progress=False)
    model2, opts2, rng2, step2, batches2 = setup()
    base = {name: o.lr for name, o in opts2.items()}
    seen = []
    schedules = [optim.MultiStepLR(o, [3]) for o in opts2.values()]

    def recording_step(batch):
        seen.append({n: o.lr for n, o in opts2.items()})
        return step2(batch)

    train.fit(model2, recording_step, batches2, 4, opts2, rng2, str(tmp_path), resume=True, schedules=schedules,
              progress=False)
    assert len(seen) == 8 and seen[:4] == [base] * 4  # epoch 3 at the base rate, epoch 4 at a tenth of it
    assert seen[4:] == [{n: lr * 0.1 for n, lr in base.items()}] * 4


def test_checkpoint_round_trip_restores_model_optimizers_and_generator(tmp_path):
    model, opts, rng, step, batches = setup()
    train.fit(model, step, batches, 1, opts, rng, str(tmp_path), progress=False)
    path = str(tmp_path / "checkpoint.npz")
    model2, opts2, rng2, _, _ = setup(seed=5)
    state = train.load_checkpoint(path, model2, opts2, rng2)
    assert state["epoch"] == 1
    assert rng2.random() == rng.random()
    for name in opts:
        a, b = opts[name].state_dict(), opts2[name].state_dict()
        assert a["steps"] == b["steps"] == 4
        for p in a["state"]:
            for k, v in a["state"][p].items():
                assert np.array_equal(v, b["state"][p][k])


def test_a_corrupt_checkpoint_is_a_clear_error(tmp_path):
    model, opts, rng, _, _ = setup()
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(train.CheckpointError, match="corrupt"):
        train.load_checkpoint(str(path), model, opts, rng)
    with pytest.raises(train.CheckpointError, match="no checkpoint"):
        train.load_checkpoint(str(tmp_path / "missing.npz"), model, opts, rng)


def test_a_checkpoint_of_another_model_names_the_mismatch(tmp_path):
    model, opts, rng, step, batches = setup()
    train.fit(model, step, batches, 1, opts, rng, str(tmp_path), progress=False)
    other = aae.AAE(12, 3, (16,), rng=rng)
    with pytest.raises(train.CheckpointError, match="does not fit this model.*'encoder.net.2.weight' has shape"):
        train.load_checkpoint(str(tmp_path / "checkpoint.npz"), other, aae.make_optimizers(other), rng)


def test_a_nan_loss_stops_with_epoch_and_batch(tmp_path):
    model, opts, rng, step, batches = setup()
    calls = []

    def diverging(batch):
        calls.append(1)
        return {"rec": float("nan") if len(calls) == 7 else 1.0}

    with pytest.raises(train.DivergedError, match="'rec' became nan at epoch 2, batch 3"):
        train.fit(model, diverging, batches, 3, opts, rng, str(tmp_path), progress=False)
    assert os.path.exists(tmp_path / "checkpoint.npz")  # epoch 1 is kept


def test_ctrl_c_keeps_the_last_checkpoint_and_no_temporary_files(tmp_path):
    model, opts, rng, step, batches = setup()
    calls = []

    def interrupted(batch):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return step(batch)

    with pytest.raises(KeyboardInterrupt):
        train.fit(model, interrupted, batches, 3, opts, rng, str(tmp_path), progress=False)
    model2, opts2, rng2, _, _ = setup(seed=9)
    assert train.load_checkpoint(str(tmp_path / "checkpoint.npz"), model2, opts2, rng2)["epoch"] == 1
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_log_has_one_line_per_epoch_with_iterations_and_wall_time(tmp_path):
    model, opts, rng, step, batches = setup()
    history = train.fit(model, step, batches, 2, opts, rng, str(tmp_path), progress=False,
                        evaluate=lambda m: {"val": 1.5})
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert history[-1]["iterations"] == 8 and history[-1]["val"] == 1.5 and history[-1]["wall_time"] > 0


# --- reliability (docs/reliability.md) -------------------------------------------------------------------


def test_a_folder_holding_another_run_is_refused_unless_resumed_or_overwritten(tmp_path):
    model, opts, rng, step, batches = setup()
    train.fit(model, step, batches, 2, opts, rng, str(tmp_path), progress=False)
    model2, opts2, rng2, step2, batches2 = setup()
    with pytest.raises(train.CheckpointError, match="already holds a run.*--resume.*--out.*--overwrite"):
        train.fit(model2, step2, batches2, 2, opts2, rng2, str(tmp_path), progress=False)
    history = train.fit(model2, step2, batches2, 1, opts2, rng2, str(tmp_path), progress=False, overwrite=True)
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1] and len(history) == 1  # not 1, 2, 1


def test_stale_temporaries_are_removed_when_a_run_starts(tmp_path):
    for name in (".minaae-abc.npz", "tmpq8x1.tmp", ".plot-xyz.png"):  # killed writers, today's and older
        (tmp_path / name).write_bytes(b"half")
    (tmp_path / "notes.tmp").write_text("the user's")
    model, opts, rng, step, batches = setup()
    train.fit(model, step, batches, 1, opts, rng, str(tmp_path), progress=False)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.npz", "log.jsonl", "notes.tmp"]


def test_learning_rates_set_on_resume_apply_from_that_epoch_and_are_logged(tmp_path):
    from minaae import optim

    model, opts, rng, step, batches = setup()
    schedules = [optim.MultiStepLR(opts["discriminator"], [3])]
    train.fit(model, step, batches, 2, opts, rng, str(tmp_path), progress=False, schedules=schedules)
    model2, opts2, rng2, step2, batches2 = setup()
    schedules2 = [optim.MultiStepLR(opts2["discriminator"], [3])]
    history = train.fit(model2, step2, batches2, 4, opts2, rng2, str(tmp_path), resume=True, progress=False,
                        schedules=schedules2, set_lr={"reconstruction": 5e-4, "discriminator": 2e-3})
    logged = [json.loads(line)["lr"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert logged == [h["lr"] for h in history]
    assert [lr["reconstruction"] for lr in logged] == [1e-3, 1e-3, 5e-4, 5e-4]
    assert [lr["generator"] for lr in logged] == [1e-3] * 4  # not given: kept
    # the new base rate, and the schedule's decay after epoch 3 still applies to it
    assert [lr["discriminator"] for lr in logged] == [1e-3, 1e-3, 2e-3, pytest.approx(2e-4)]


@pytest.mark.parametrize("batches", [lambda: data.batches(np.zeros((30, 12), np.float32), batch_size=50,
                                                          rng=np.random.default_rng(0)),
                                     lambda: iter([])])  # with and without a length
def test_an_epoch_without_batches_is_a_clear_error(tmp_path, batches):
    model, opts, rng, step, _ = setup()
    with pytest.raises(train.TrainingError, match="epoch 1 ha.* no mini-batches.*--batch-size"):
        train.fit(model, step, batches, 2, opts, rng, str(tmp_path), progress=False)
    assert not os.path.exists(tmp_path / "checkpoint.npz")


def rewrite_meta(path, change):
    """Rewrite the JSON metadata of a checkpoint file with `change(meta)`."""
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["meta"].tobytes().decode())
    change(meta)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


@pytest.mark.parametrize("change", [lambda m: m.pop("rng"), lambda m: m["state"].pop("history"),
                                    lambda m: m["state"].update(epoch="two"), lambda m: m["state"].update(epoch=5),
                                    lambda m: m.update(rng={"state": "x"})])
def test_checkpoint_metadata_with_a_missing_or_wrong_field_is_a_clear_error(tmp_path, change):
    model, opts, rng, step, batches = setup()
    train.fit(model, step, batches, 1, opts, rng, str(tmp_path), progress=False)
    rewrite_meta(tmp_path / "checkpoint.npz", change)
    model2, opts2, rng2, step2, batches2 = setup()
    with pytest.raises(train.CheckpointError, match="corrupt"):
        train.fit(model2, step2, batches2, 2, opts2, rng2, str(tmp_path), resume=True, progress=False)


def test_the_run_record_is_saved_and_read_back(tmp_path):
    model, opts, rng, step, batches = setup()
    train.fit(model, step, batches, 1, opts, rng, str(tmp_path), progress=False, run={"--seed": 0, "ids": [3, 1]})
    assert train.read_run(str(tmp_path / "checkpoint.npz")) == {"--seed": 0, "ids": [3, 1]}


def test_the_progress_bar_shows_the_epochs_total_and_an_eta(tmp_path, capsys):
    model, opts, rng, step, batches = setup()
    train.fit(model, step, batches, 1, opts, rng, str(tmp_path), progress=True)
    err = capsys.readouterr().err
    assert re.search(r"epoch 1/1: +\d+%\|.*\| \d/4 \[\d\d:\d\d<", err), err  # done/total [elapsed<remaining


def test_a_checkpoint_of_a_model_with_other_layers_is_a_clear_error_not_a_key_error(tmp_path):
    """A toggled layer (e.g. batch normalization) changes the parameter names, not only their shapes."""
    model, opts, rng, step, batches = setup()
    train.fit(model, step, batches, 1, opts, rng, str(tmp_path), progress=False)
    deeper = aae.AAE(12, 2, (16, 16), rng=rng)
    with pytest.raises(train.CheckpointError, match="does not fit this model.*missing keys"):
        train.load_checkpoint(str(tmp_path / "checkpoint.npz"), deeper, aae.make_optimizers(deeper), rng)
