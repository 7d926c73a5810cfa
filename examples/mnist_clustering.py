"""Unsupervised clustering with an adversarial autoencoder (docs/paper.md §4.6, Table 3): the
semi-supervised model without its labeled phase; its categorical head becomes the cluster assignment.

    python examples/mnist_clustering.py --clusters 16
    python examples/mnist_clustering.py --clusters 16 --hidden 2000 --decay-at 20 --epochs 30 --out runs/c16  # 19.7%
    python examples/mnist_clustering.py --clusters 30 --decay-at 30 --epochs 45 --out runs/c30  # 14.4%

The clustering error follows the paper: each cluster takes the label of the validation image with the
largest q(y = k|x), then the test set is scored (the majority vote, an optimistic bound, beside it).
clusters.png: one row per cluster — its head decoded with z = 0, then the test images it is surest of.
"""

import os
import time

import numpy as np
from common import (
    add_categorical_flags,
    add_lr_flags,
    check_common,
    fit,
    load,
    make_optimizers,
    mean_of_last_five,
    parser,
    positive_int,
    report_files,
    run,
    write_metrics,
)

from minaae import aae, data, metrics, plot
from minaae import semisupervised as ss


def parse_args(argv=None):
    p = parser(__doc__, epochs=5, out="runs/mnist_clustering")
    p.add_argument("--clusters", type=positive_int, default=16)
    p.add_argument("--style-dim", type=positive_int, default=5)
    p.add_argument("--hidden", type=positive_int, default=1000, help="the paper uses 3000")
    p.add_argument("--input-dropout", type=float, default=0.2)
    add_lr_flags(p, 1e-4, decay=True)
    # the paper's clustering encoder (docs/paper.md §5), with batch normalization on its outputs too, and the joint
    # discriminator (docs/results.md measures both)
    add_categorical_flags(p, batch_norm=True, output_batch_norm=True, joint_discriminator=True)
    args = check_common(p, p.parse_args(argv))
    if not 0 <= args.input_dropout < 1:
        p.error(f"--input-dropout must be in [0, 1), got {args.input_dropout}")
    if args.clusters < 2:
        p.error(f"--clusters must be at least 2, got {args.clusters}")
    return args


def cluster_scores(model, ds):
    """Test errors by the paper's rule and by majority vote, the mapping chosen on the validation set, and
    the number of clusters that are the most likely cluster of some test image (a dead cluster is of none)."""
    val, test = ss.class_log_probabilities(model, ds.x_val), ss.class_log_probabilities(model, ds.x_test)
    paper = metrics.clustering_error(test, ds.y_test, metrics.cluster_label_map(val, ds.y_val))
    majority = metrics.majority_cluster_map(val.argmax(1), ds.y_val, val.shape[1])
    return {"test_error": paper, "test_error_majority": metrics.clustering_error(test, ds.y_test, majority),
            "clusters_used": len(np.unique(test.argmax(1)))}


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ds = load(args)
    model = ss.CategoricalAAE(rng, n_classes=args.clusters, style_dim=args.style_dim,
                              hidden=(args.hidden, args.hidden), input_noise=0.0, input_dropout=args.input_dropout,
                              batch_norm=args.batch_norm, output_batch_norm=args.output_batch_norm,
                              d_hidden=(args.hidden, args.hidden), joint_discriminator=args.joint_discriminator,
                              d_input_noise=args.d_noise).to(args.device)
    opts = make_optimizers(args, model, beta1=0.1)
    schedules = aae.step_decays(opts, args.decay_at)
    print(f"{ds.name}: {len(ds.x_train)} unlabeled training images; {args.clusters} clusters, "
          f"{args.style_dim}-D style; no labels are used for training")

    start = time.perf_counter()
    history = fit(args, model, lambda b: ss.train_step(model, b[0], rng, opts),
                  lambda: data.batches(ds.x_train, batch_size=args.batch_size, rng=rng), opts, rng,
                  evaluate=lambda m: cluster_scores(m, ds), schedules=schedules)
    log_q = ss.class_log_probabilities(model, ds.x_test)
    rows, heads = [], ss.decode_heads(model)
    for k in range(args.clusters):  # the head, then the 9 test images most surely in cluster k
        rows.append(heads[k])
        rows.extend(ds.x_test[np.argsort(-log_q[:, k])[:9]])
    plot.plot_image_grid(os.path.join(args.out, "clusters.png"), np.array(rows), args.clusters,
                         title="each row one cluster: its head (z = 0), then its surest test images")
    plot.plot_curves(os.path.join(args.out, "curves.png"), history)
    final = history[-1]
    last5 = {f"{k}_mean_last_5": mean_of_last_five(history, k) for k in ("test_error", "test_error_majority")}
    write_metrics(args, history, start, {**{k: final[k] for k in ("test_error", "test_error_majority", "clusters_used")
                                            if k in final}, **last5})  # runs logged before clusters_used lack it
    mean = "" if last5["test_error_mean_last_5"] is None else (
        f"; mean of the last 5 epochs {100 * last5['test_error_mean_last_5']:.2f}% "
        f"({100 * last5['test_error_majority_mean_last_5']:.2f}%)")
    print(f"clustering test error {100 * final['test_error']:.2f}% (majority vote "
          f"{100 * final['test_error_majority']:.2f}%) with {args.clusters} clusters{mean}")
    report_files(args.out)


if __name__ == "__main__":
    run(main)
