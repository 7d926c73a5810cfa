"""The training loop: epochs of mini-batches, a progress bar with the live losses, a per-epoch log,
atomic checkpoints, exact resume, and a clear stop when a loss diverges.

`fit` knows nothing about AAEs: it calls `step(batch) -> {name: float}` for each batch of an epoch,
averages what the step returns, and saves everything needed to continue (model, optimizers, the random
generator, the history, a record of what defines the run). An epoch is one pass over the training set
(docs/paper.md §7).
"""

import json
import math
import os
import time

import numpy as np
from tqdm import tqdm

from .backend import as_numpy, is_cupy_array, to_device
from .data import atomic_write, remove_temporaries


class TrainingError(RuntimeError):
    """The run cannot go on; the one-line message says why and what to do."""


class DivergedError(TrainingError):
    """A loss became NaN or infinite; the message names the epoch, the batch and the loss."""


class CheckpointError(TrainingError):
    """A checkpoint is missing, corrupt, does not fit the model, or belongs to another run."""


# ---- Checkpoints: one .npz holding every array, plus the JSON-able rest under the key "meta" ------

def _flatten(tree, prefix, arrays, meta):
    """Split a nested dict into arrays (stored in the npz) and plain values (stored as JSON)."""
    for key, value in tree.items():
        name = f"{prefix}/{key}"
        if isinstance(value, dict):
            meta[name] = "<dict>"
            _flatten(value, name, arrays, meta)
        elif isinstance(value, np.ndarray) or is_cupy_array(value):
            arrays[name] = as_numpy(value)
        else:
            meta[name] = value


def _unflatten(prefix, arrays, meta):
    tree = {}
    for source in (meta, arrays):
        for name, value in source.items():
            if not name.startswith(prefix + "/"):
                continue
            *path, leaf = name[len(prefix) + 1 :].split("/")
            node = tree
            for part in path:
                node = node.setdefault(part, {})
            if source is meta and value == "<dict>":
                node.setdefault(leaf, {})  # keeps empty dicts (e.g. a parameter with no state yet)
            else:
                node[leaf] = value
    return tree


def save_checkpoint(path, model, optimizers, rng, state):
    """Write model, optimizers, generator state and `state` (JSON-able) atomically to `path`: a crash or
    Ctrl-C during the write leaves the previous checkpoint intact."""
    arrays, meta = {}, {}
    _flatten({"model": model.state_dict(), "optim": {k: o.state_dict() for k, o in optimizers.items()}},
             "", arrays, meta)
    meta["rng"] = rng.bit_generator.state
    meta["state"] = state
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    atomic_write(path, lambda tmp: np.savez(tmp, **arrays))


def _read(path):
    """The arrays and the metadata of a checkpoint file, or a CheckpointError."""
    if not os.path.exists(path):
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        state = meta["state"]
        if not (isinstance(meta["rng"], dict) and isinstance(state["epoch"], int) and state["epoch"] >= 0
                and isinstance(state["history"], list) and len(state["history"]) == state["epoch"]):
            raise ValueError("its epoch, history or generator state is malformed")
    except Exception as e:
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({type(e).__name__}: {e}); "
                              "delete it to start over") from None
    return arrays, meta


def read_run(path):
    """The record of the run that wrote the checkpoint at `path` (see `fit`); None for a checkpoint written
    before minaae kept one."""
    return _read(path)[1]["state"].get("run")


def load_checkpoint(path, model, optimizers, rng):
    """Restore what `save_checkpoint` wrote (in place) and return its `state`."""
    arrays, meta = _read(path)
    try:
        model.load_state_dict(_unflatten("/model", arrays, meta))
    except (KeyError, ValueError) as e:  # other sizes or flags than the run that wrote it
        raise CheckpointError(f"checkpoint {path} does not fit this model ({e}); resume with the flags that "
                              "wrote it, or choose another --out") from None
    saved = _unflatten("/optim", arrays, meta)
    if set(saved) != set(optimizers):
        raise CheckpointError(f"checkpoint {path} has optimizers {sorted(saved)}, this run has {sorted(optimizers)}")
    try:
        for name, opt in optimizers.items():
            opt.load_state_dict(saved[name])
        rng.bit_generator.state = meta["rng"]
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path} is corrupt: its optimizer or generator state does not load "
                              f"({type(e).__name__}: {e}); delete it to start over") from None
    return meta["state"]


# ---- The loop -------------------------------------------------------------------------------------

def fit(model, step, epoch_batches, epochs, optimizers, rng, out_dir, evaluate=None, resume=False,
        schedules=(), progress=True, on_epoch=None, run=None, overwrite=False, set_lr=None, device="cpu"):
    """Train for `epochs` epochs and return the history (a list of per-epoch dicts).

    step(batch) -> dict of floats: one training iteration (all phases of one mini-batch).
    epoch_batches() -> iterable of batches for one epoch, drawn from `rng` (so resume is exact); with a
        len() the progress bar shows the epoch's total and an ETA. Float arrays move to `device`.
    evaluate(model) -> dict of floats, run after each epoch (e.g. test error); merged into the log.
    schedules: learning-rate schedules stepped once per epoch.
    run: a JSON-able record of what defines the run, saved in every checkpoint (`read_run` reads it back).
    Writes out_dir/checkpoint.npz after every epoch and appends a JSON line per epoch to out_dir/log.jsonl,
    with the learning rate each optimizer used ("lr"). With resume=True a run continues from
    out_dir/checkpoint.npz, bit for bit on the CPU; set_lr {optimizer: lr} then replaces the saved base
    rates from this epoch on (a schedule's decays still apply). Without resume, a folder that holds a
    checkpoint is refused unless overwrite=True (then the run starts over)."""
    ckpt, log = os.path.join(out_dir, "checkpoint.npz"), os.path.join(out_dir, "log.jsonl")
    remove_temporaries(out_dir)  # left by a process killed while it wrote
    if not resume and not overwrite and os.path.exists(ckpt):
        raise CheckpointError(f"{out_dir} already holds a run (checkpoint.npz): continue it with --resume, "
                              "choose another --out, or start it over with --overwrite")
    history, done = [], 0
    if resume and os.path.exists(ckpt):
        state = load_checkpoint(ckpt, model, optimizers, rng)
        history, done = state["history"], state["epoch"]
        saved = state.get("schedules", [])
        for i, schedule in enumerate(schedules):  # a schedule new to this run counts the epochs already done
            schedule.load_state_dict(saved[i] if i < len(saved) else {"epoch": done, "base_lr": schedule.base_lr})
        for name, lr in (set_lr or {}).items():
            scheduled = [s for s in schedules if s.optimizer is optimizers[name]]
            for s in scheduled:
                s.load_state_dict({"epoch": s.epoch, "base_lr": lr})
            if not scheduled:
                optimizers[name].lr = lr
        print(f"resumed from {ckpt} after epoch {done}")
    else:
        if resume:
            print(f"no checkpoint at {ckpt}: starting from scratch")
        if os.path.exists(log):  # a run started over: its log starts over too
            os.unlink(log)
    os.makedirs(out_dir, exist_ok=True)
    iterations = history[-1]["iterations"] if history else 0
    wall = history[-1]["wall_time"] if history else 0.0

    for epoch in range(done + 1, epochs + 1):
        model.train()
        start, sums, count = time.perf_counter(), {}, 0
        lr = {name: opt.lr for name, opt in optimizers.items()}  # this epoch's, before the schedules step
        bar = tqdm(epoch_batches(), desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False,
                   disable=not progress, dynamic_ncols=True)
        try:
            for b, batch in enumerate(bar, start=1):
                if device != "cpu":
                    batch = tuple(to_device(a, device) if a.dtype.kind == "f" else a for a in batch)
                stats = step(batch)
                for name, value in stats.items():
                    if not math.isfinite(value):
                        kept = f"the checkpoint of epoch {epoch - 1} is kept in {ckpt}" if epoch > 1 else \
                            "no checkpoint was written yet"
                        raise DivergedError(f"loss '{name}' became {value} at epoch {epoch}, batch {b}; {kept}. "
                                            "Run again with lower learning rates (and --resume to continue).")
                    sums[name] = sums.get(name, 0.0) + value
                count += 1
                if b % 10 == 0:
                    bar.set_postfix({k: f"{v / count:.3g}" for k, v in sums.items()}, refresh=False)
        except KeyboardInterrupt:
            bar.close()
            print(f"\ninterrupted in epoch {epoch}; the checkpoint of epoch {epoch - 1} is kept at {ckpt}: "
                  "run again with --resume to continue")
            raise
        bar.close()
        if count == 0:
            raise TrainingError(f"epoch {epoch} had no mini-batches: the training set is smaller than one batch; "
                                "lower --batch-size or raise --train-size")
        for schedule in schedules:
            schedule.step()
        iterations += count
        wall += time.perf_counter() - start
        record = {"epoch": epoch, "iterations": iterations, "wall_time": wall,
                  **{k: v / count for k, v in sums.items()}}
        if evaluate is not None:
            record.update(evaluate(model))
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()),
              flush=True)
        record["lr"] = lr
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        save_checkpoint(ckpt, model, optimizers, rng,
                        {"epoch": epoch, "history": history, "run": run,
                         "schedules": [s.state_dict() for s in schedules]})
        with open(log, "a") as f:  # after the checkpoint: no duplicates on resume
            f.write(json.dumps(record) + "\n")
    return history


def write_json_atomic(path, obj):
    """Write `obj` as JSON to `path` through a temporary file and a rename."""
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2)

    atomic_write(path, write)
