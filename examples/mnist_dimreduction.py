"""Dimensionality reduction with an adversarial autoencoder (docs/paper.md §4.7): a 2-D representation
W_Cᵀ y + z in which each class head y picks a learned cluster centre and the style z spreads around it.

    python examples/mnist_dimreduction.py --labels 1000           # semi-supervised, 10 heads
    python examples/mnist_dimreduction.py --labels 0 --clusters 20  # unsupervised, 20 heads
    python examples/mnist_dimreduction.py --labels 1000 --resume --epochs 30 --decay-at 15  # lr ÷10 after 15

test error: from the class head (semi-supervised), or the paper's clustering rule (unsupervised).
representation.png: the 2-D representation of the test set coloured by digit.
"""

import os
import time

import numpy as np
from common import (
    add_categorical_flags,
    add_lr_flags,
    check_common,
    fit,
    labeled_subset,
    load,
    make_optimizers,
    mean_of_last_five,
    parser,
    positive_float,
    positive_int,
    report_files,
    run,
    snapshots,
    write_metrics,
)

from minaae import aae, data, metrics, plot
from minaae import semisupervised as ss


def parse_args(argv=None):
    p = parser(__doc__, epochs=5, out="runs/mnist_dimreduction", snapshots=True)
    p.add_argument("--labels", type=int, default=1000, help="labeled examples (a multiple of 10); 0: unsupervised")
    p.add_argument("--clusters", type=positive_int, default=10, help="cluster heads (10 when --labels > 0)")
    p.add_argument("--dim", type=positive_int, default=2)
    p.add_argument("--eta", type=positive_float, default=6.0, help="minimum distance between cluster heads")
    p.add_argument("--hidden", type=positive_int, default=1000)
    # the semi-supervised model's recipe (Adam 3e-4, batch norm in the encoder, D input noise 0.3): with 100 labels
    # in 10-D 4.03% after 57 epochs, against 13.1% after 44 at Adam 1e-3 without them (docs/results.md)
    # (in 2-D with 1000 labels the noise costs 0.6 points: --d-noise 0 --decay-at 12, 4.04% after 100 epochs)
    add_lr_flags(p, 3e-4, decay=True)
    add_categorical_flags(p, d_noise=0.3, batch_norm=True)
    args = check_common(p, p.parse_args(argv))
    if args.labels < 0 or args.labels % 10:
        p.error(f"--labels must be 0 or a positive multiple of 10, got {args.labels}")
    if args.labels and args.clusters != 10:
        p.error("with --labels > 0 there is one head per digit: --clusters must be 10")
    if args.clusters < 2:
        p.error(f"--clusters must be at least 2, got {args.clusters}")
    if args.dim != 2 and "snapshots" not in p.given:  # on by default for a 2-D representation only
        args.snapshots = False
    return args


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ds = load(args)
    labeled = labeled_subset(ds, args.labels, rng) if args.labels else None
    model = ss.DimReductionAAE(rng, n_clusters=args.clusters, dim=args.dim, eta=args.eta,
                               hidden=(args.hidden, args.hidden), batch_norm=args.batch_norm,
                               output_batch_norm=args.output_batch_norm, d_hidden=(args.hidden, args.hidden),
                               joint_discriminator=args.joint_discriminator,
                               d_input_noise=args.d_noise).to(args.device)
    opts = make_optimizers(args, model, beta1=0.1)
    schedules = aae.step_decays(opts, args.decay_at)
    print(f"{ds.name}: {args.labels} labeled training examples; {args.clusters} heads in {args.dim}-D")

    def step(batch):
        if labeled is None:
            return ss.train_step(model, batch[0], rng, opts)
        pick = rng.choice(labeled, args.batch_size)
        return ss.train_step(model, batch[0], rng, opts, labeled=(ds.x_train[pick], ds.y_train[pick]))

    def evaluate(m):
        test = ss.class_probabilities(m, ds.x_test)
        if labeled is not None:
            return {"val_error": metrics.classification_error(ss.class_probabilities(m, ds.x_val), ds.y_val),
                    "test_error": metrics.classification_error(test, ds.y_test)}
        mapping = metrics.cluster_label_map(ss.class_log_probabilities(m, ds.x_val), ds.y_val)
        return {"test_error": metrics.clustering_error(test, ds.y_test, mapping)}

    snapshot, animate = snapshots(args, lambda: ss.representations(model, ds.x_test), ds.y_test)
    start = time.perf_counter()
    history = fit(args, model, step, lambda: data.batches(ds.x_train, batch_size=args.batch_size, rng=rng),
                  opts, rng, evaluate=evaluate, schedules=schedules, labeled=labeled, on_epoch=snapshot)
    animate(len(history))
    rep = ss.representations(model, ds.x_test)
    plot.plot_codes(os.path.join(args.out, "representation.png"), rep, ds.y_test,
                    title=f"W_Cᵀy + z, {args.labels} labels, {args.clusters} heads")
    plot.plot_curves(os.path.join(args.out, "curves.png"), history)
    final = history[-1]
    last5 = mean_of_last_five(history, "test_error")
    write_metrics(args, history, start, {**{k: final[k] for k in ("test_error", "val_error") if k in final},
                                         "test_error_mean_last_5": last5})
    print(f"test error {100 * final['test_error']:.2f}%" + ("" if last5 is None else
                                                           f"; mean of the last 5 epochs {100 * last5:.2f}%"))
    report_files(args.out)


if __name__ == "__main__":
    run(main)
