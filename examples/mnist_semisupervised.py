"""Semi-supervised classification with an adversarial autoencoder (PAPER.md §4 row 5, Table 2).

    python examples/mnist_semisupervised.py --labels 100              # minutes: a first look
    python examples/mnist_semisupervised.py --labels 100 --epochs 300 --out runs/ss100   # the long run
    python examples/mnist_semisupervised.py --labels 100 --resume --out runs/ss100        # continue it

The labeled examples come from the training split only (balanced, chosen by the seed, printed at
start-up); labeled batches are drawn with replacement. One epoch is one pass over the 50,000 training
images (500 iterations of batch 100). Validation error guides choices; the test error is logged per
epoch for the curve, and the reported number is the last epoch's, never a minimum over epochs.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from minaae import data, metrics, plot, train  # noqa: E402
from minaae import semisupervised as ss  # noqa: E402
from minaae.backend import check_device  # noqa: E402


def labels_arg(text):
    if text == "all":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--labels must be an integer or 'all', got {text!r}") from None
    if value <= 0 or value % 10:
        raise argparse.ArgumentTypeError(f"--labels must be a positive multiple of 10 (balanced classes), got {value}")
    return value


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--labels", type=labels_arg, default=100, help="100, 1000, ... or all")
    p.add_argument("--epochs", type=positive_int, default=5)
    p.add_argument("--preset", choices=["sgd", "adam"], default="sgd", help="optimizers (see make_optimizers)")
    p.add_argument("--adam-lr", type=float, default=1e-4, help="learning rate of every phase with --preset adam")
    p.add_argument("--hidden", type=positive_int, default=1000)
    p.add_argument("--style-dim", type=positive_int, default=10)
    p.add_argument("--input-noise", type=float, default=0.3)
    p.add_argument("--batch-size", type=positive_int, default=100)
    p.add_argument("--train-size", type=positive_int, default=None,
                   help="use only the first N training images (a quick look; default all 50,000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default="runs/mnist_semisupervised")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    try:
        check_device(args.device)
    except ValueError as e:
        p.error(str(e))
    if not args.adam_lr > 0:
        p.error(f"--adam-lr must be positive, got {args.adam_lr}")
    if args.input_noise < 0:
        p.error(f"--input-noise must be >= 0, got {args.input_noise}")
    if args.data_dir is not None and not os.path.isdir(args.data_dir):
        p.error(f"--data-dir {args.data_dir} is not a folder")
    return args


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    try:
        ds = data.load_mnist(args.data_dir, train_size=args.train_size)
    except data.DataError as e:
        sys.exit(f"error: {e}")
    labeled = (np.arange(len(ds.y_train)) if args.labels == "all"
               else data.balanced_labeled_subset(ds.y_train, args.labels, rng))
    x_lab, y_lab = ds.x_train[labeled], ds.y_train[labeled]
    print(f"{ds.name}: {len(labeled)} labeled training examples "
          f"(per class {np.bincount(y_lab, minlength=10).tolist()}), {len(ds.x_train)} unlabeled")

    model = ss.CategoricalAAE(rng, hidden=(args.hidden, args.hidden), style_dim=args.style_dim,
                              input_noise=args.input_noise)
    model.to(args.device)
    opts = ss.make_optimizers(model, args.preset, adam_lr=args.adam_lr)
    schedules = ss.paper_schedules(opts) if args.preset == "sgd" else []

    def step(batch):
        pick = rng.integers(0, len(x_lab), size=args.batch_size)  # with replacement (PAPER.md §7)
        return ss.train_step(model, batch[0], rng, opts, labeled=(x_lab[pick], y_lab[pick]))

    def epoch_batches():
        return data.batches(ds.x_train, batch_size=args.batch_size, rng=rng)

    def evaluate(m):
        return {"val_error": metrics.classification_error(ss.class_probabilities(m, ds.x_val), ds.y_val),
                "test_error": metrics.classification_error(ss.class_probabilities(m, ds.x_test), ds.y_test)}

    start = time.perf_counter()
    try:
        history = train.fit(model, step, epoch_batches, args.epochs, opts, rng, args.out, evaluate=evaluate,
                            resume=args.resume, schedules=schedules, progress=not args.no_progress)
    except KeyboardInterrupt:
        sys.exit(130)
    except train.DivergedError as e:
        sys.exit(f"error: {e}")

    final = history[-1]
    plot.plot_curves(os.path.join(args.out, "curves.png"), history, keys=["rec", "ce", "d_cat", "d_gauss", "g",
                     "val_error", "test_error"], title=f"semi-supervised AAE, {args.labels} labels")
    plot.plot_image_grid(os.path.join(args.out, "heads.png"), ss.decode_heads(model), 1,
                         title="decoded class heads (z = 0)")
    train.write_json_atomic(os.path.join(args.out, "metrics.json"), {
        "test_error": final["test_error"], "val_error": final["val_error"], "epochs": final["epoch"],
        "iterations": final["iterations"], "train_wall_time_s": final["wall_time"],
        "total_wall_time_s": round(time.perf_counter() - start, 1), "labels": len(labeled),
        "args": vars(args), "seed": args.seed})
    print(f"test error {100 * final['test_error']:.2f}% after {final['epoch']} epochs "
          f"({final['wall_time'] / 60:.1f} min of training); outputs in {args.out}")


if __name__ == "__main__":
    main()
