"""The training loop: epochs of mini-batches, a progress bar with the live losses, a per-epoch log,
atomic checkpoints, exact resume, and a clear stop when a loss diverges.

`fit` knows nothing about AAEs: it calls `step(batch) -> {name: float}` for each batch of an epoch,
averages what the step returns, and saves everything needed to continue (model, optimizers, the random
generator, the history). An epoch is one pass over the training set (PAPER.md §7).
"""

import json
import math
import os
import tempfile
import time

import numpy as np
from tqdm import tqdm

from .backend import as_numpy, is_cupy_array


class DivergedError(RuntimeError):
    """A loss became NaN or infinite; the message names the epoch, the batch and the loss."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, or does not fit the model."""


# ---------------------------------------------------------------------------------------------------
# Checkpoints: one .npz holding every array, plus the JSON-able rest under the key "meta"
# ---------------------------------------------------------------------------------------------------


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


def _publish(tmp, path):
    """Rename a finished temporary file over `path`, with the permissions a plain open() would give."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def save_checkpoint(path, model, optimizers, rng, state):
    """Write model, optimizers, generator state and `state` (JSON-able) atomically to `path`.

    The file is written next to its destination and renamed over it, so a crash or Ctrl-C during
    the write leaves the previous checkpoint intact.
    """
    arrays, meta = {}, {}
    _flatten({"model": model.state_dict(), "optim": {k: o.state_dict() for k, o in optimizers.items()}},
             "", arrays, meta)
    meta["rng"] = rng.bit_generator.state
    meta["state"] = state
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        _publish(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_checkpoint(path, model, optimizers, rng):
    """Restore what `save_checkpoint` wrote (in place) and return its `state`."""
    if not os.path.exists(path):
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except Exception as e:
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({type(e).__name__}: {e}); "
                              "delete it to start over") from None
    try:
        model.load_state_dict(_unflatten("/model", arrays, meta))
    except ValueError as e:  # other sizes or flags than the run that wrote it
        raise CheckpointError(f"checkpoint {path} does not fit this model ({e}); resume with the flags that "
                              "wrote it, or choose another --out") from None
    saved = _unflatten("/optim", arrays, meta)
    if set(saved) != set(optimizers):
        raise CheckpointError(f"checkpoint {path} has optimizers {sorted(saved)}, this run has {sorted(optimizers)}")
    for name, opt in optimizers.items():
        opt.load_state_dict(saved[name])
    rng.bit_generator.state = meta["rng"]
    return meta["state"]


# ---------------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------------


def fit(model, step, epoch_batches, epochs, optimizers, rng, out_dir, evaluate=None, resume=False,
        schedules=(), progress=True, on_epoch=None):
    """Train for `epochs` epochs and return the history (a list of per-epoch dicts).

    step(batch) -> dict of floats: one training iteration (all phases of one mini-batch).
    epoch_batches() -> iterable of batches for one epoch, drawn from `rng` (so resume is exact).
    evaluate(model) -> dict of floats, run after each epoch (e.g. test error); merged into the log.
    schedules: learning-rate schedules stepped once per epoch.
    Writes out_dir/checkpoint.npz after every epoch and appends a JSON line per epoch to out_dir/log.jsonl.
    With resume=True a run continues from out_dir/checkpoint.npz, bit for bit on the CPU.
    """
    ckpt = os.path.join(out_dir, "checkpoint.npz")
    history, done = [], 0
    if resume and os.path.exists(ckpt):
        state = load_checkpoint(ckpt, model, optimizers, rng)
        history, done = state["history"], state["epoch"]
        saved = state.get("schedules", [])
        for i, schedule in enumerate(schedules):  # a schedule new to this run counts the epochs already done
            schedule.load_state_dict(saved[i] if i < len(saved) else {"epoch": done, "base_lr": schedule.base_lr})
        print(f"resumed from {ckpt} after epoch {done}")
    elif resume:
        print(f"no checkpoint at {ckpt}: starting from scratch")
    os.makedirs(out_dir, exist_ok=True)
    iterations = history[-1]["iterations"] if history else 0
    wall = history[-1]["wall_time"] if history else 0.0

    for epoch in range(done + 1, epochs + 1):
        model.train()
        start, sums, count = time.perf_counter(), {}, 0
        batches = tqdm(epoch_batches(), desc=f"epoch {epoch}/{epochs}", leave=False, disable=not progress,
                       dynamic_ncols=True)
        try:
            for b, batch in enumerate(batches, start=1):
                stats = step(batch)
                for name, value in stats.items():
                    if not math.isfinite(value):
                        kept = f"the checkpoint of epoch {epoch - 1} is kept in {ckpt}" if epoch > 1 else \
                            "no checkpoint was written yet"
                        raise DivergedError(f"loss '{name}' became {value} at epoch {epoch}, batch {b}; {kept}. "
                                            "Lower the learning rates.")
                    sums[name] = sums.get(name, 0.0) + value
                count += 1
                if b % 10 == 0:
                    batches.set_postfix({k: f"{v / count:.3g}" for k, v in sums.items()}, refresh=False)
        except KeyboardInterrupt:
            batches.close()
            print(f"\ninterrupted in epoch {epoch}; the checkpoint of epoch {epoch - 1} is kept at {ckpt}: "
                  "run again with --resume to continue")
            raise
        batches.close()
        for schedule in schedules:
            schedule.step()
        iterations += count
        wall += time.perf_counter() - start
        record = {"epoch": epoch, "iterations": iterations, "wall_time": wall,
                  **{k: v / max(count, 1) for k, v in sums.items()}}
        if evaluate is not None:
            record.update(evaluate(model))
        history.append(record)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()),
              flush=True)
        if on_epoch is not None:
            on_epoch(record)
        save_checkpoint(ckpt, model, optimizers, rng,
                        {"epoch": epoch, "history": history,
                         "schedules": [s.state_dict() for s in schedules]})
        with open(os.path.join(out_dir, "log.jsonl"), "a") as f:  # after the checkpoint: no duplicates on resume
            f.write(json.dumps(record) + "\n")
    return history


def write_json_atomic(path, obj):
    """Write `obj` as JSON to `path` through a temporary file and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2)
    _publish(tmp, path)
