"""The likelihood experiment of PAPER.md §4 (Table 1): an 8-D AAE with prior N(0, 5²I), scored by the
Parzen-window log-likelihood of the MNIST test set under 10,000 decoded prior samples.

    python examples/mnist_likelihood.py                        # 10 epochs, minutes
    python examples/mnist_likelihood.py --epochs 200 --out runs/likelihood   # longer; --resume continues

σ of the Parzen window is chosen on the validation set over 10 values log-spaced in [0.1, 1] (the GAN
paper's protocol); the test set is scored once with that σ. The paper reports 340 ± 2.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from minaae import aae, data, metrics, plot, priors, train  # noqa: E402
from minaae.autograd import no_grad  # noqa: E402
from minaae.backend import check_device  # noqa: E402


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--hidden", type=positive_int, default=1000)
    p.add_argument("--latent-dim", type=positive_int, default=8)
    p.add_argument("--prior-std", type=float, default=5.0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--d-lr", type=float, default=1e-3)
    p.add_argument("--samples", type=positive_int, default=10_000, help="decoded prior samples of the window")
    p.add_argument("--val-points", type=positive_int, default=1000, help="validation images for choosing σ")
    p.add_argument("--train-size", type=positive_int, default=None)
    p.add_argument("--batch-size", type=positive_int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default="runs/mnist_likelihood")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    try:
        check_device(args.device)
    except ValueError as e:
        p.error(str(e))
    for name in ("prior_std", "lr", "d_lr"):
        if not getattr(args, name) > 0:
            p.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
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
    prior = priors.Gaussian(args.latent_dim, args.prior_std)
    model = aae.AAE(784, args.latent_dim, (args.hidden, args.hidden), rng=rng).to(args.device)
    opts = aae.make_optimizers(model, "adam", lr=args.lr, d_lr=args.d_lr, beta1=0.5)
    print(f"{ds.name}: {len(ds.x_train)} training images; prior N(0, {args.prior_std}² I) in {args.latent_dim}-D")

    start = time.perf_counter()
    try:
        history = train.fit(model, lambda b: aae.train_step(model, b[0], prior, rng, opts),
                            lambda: data.batches(ds.x_train, batch_size=args.batch_size, rng=rng),
                            args.epochs, opts, rng, args.out, resume=args.resume, progress=not args.no_progress)
    except KeyboardInterrupt:
        sys.exit(130)
    except train.DivergedError as e:
        sys.exit(f"error: {e}")

    model.eval()
    eval_rng = np.random.default_rng(args.seed + 1)
    with no_grad():
        z = prior.sample(args.samples, rng=eval_rng)
        samples = np.concatenate([model.generate(z[i : i + 1000]).numpy() for i in range(0, len(z), 1000)])
    t = time.perf_counter()
    sigma, scores = metrics.select_parzen_sigma(ds.x_val[: args.val_points], samples)
    mean, stderr = metrics.parzen_report(ds.x_test, samples, sigma)
    parzen_time = time.perf_counter() - t
    plot.plot_image_grid(os.path.join(args.out, "samples.png"), samples[:100], 10, title="decoded N(0, 5²I) samples")
    plot.plot_curves(os.path.join(args.out, "curves.png"), history, title="8-D AAE")
    final = history[-1]
    train.write_json_atomic(os.path.join(args.out, "metrics.json"), {
        "parzen_test_log_likelihood": mean, "parzen_standard_error": stderr, "parzen_sigma": sigma,
        "parzen_validation_scores": dict(zip(np.logspace(-1, 0, 10).round(4).tolist(), scores.tolist())),
        "parzen_seconds": round(parzen_time, 1), "samples": args.samples, "epochs": final["epoch"],
        "iterations": final["iterations"], "train_wall_time_s": final["wall_time"],
        "total_wall_time_s": round(time.perf_counter() - start, 1), "args": vars(args), "seed": args.seed})
    print(f"Parzen test log-likelihood {mean:.1f} ± {stderr:.1f} (σ = {sigma:.3f}, {args.samples} samples; "
          f"paper: 340 ± 2) after {final['epoch']} epochs; outputs in {args.out}")


if __name__ == "__main__":
    main()
