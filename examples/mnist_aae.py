"""Train an adversarial autoencoder on MNIST and shape its codes into a chosen prior (docs/paper.md §2).

    python examples/mnist_aae.py                          # 2-D codes, mixture of 10 Gaussians, minutes on a CPU
    python examples/mnist_aae.py --prior swissroll --epochs 20
    python examples/mnist_aae.py --prior gaussian --latent-dim 8 --encoder gaussian

Writes to --out: codes.png (test codes over the prior, the paper's Fig. 2), samples.png (decoded prior
samples), reconstructions.png, manifold.png (2-D codes only), curves.png, checkpoint.npz, log.jsonl and
metrics.json (test reconstruction error, discriminator accuracy, how well the codes match the prior).
"""

import os
import time

import numpy as np
from common import (
    add_lr_flags,
    check_common,
    fit,
    load,
    make_optimizers,
    parser,
    positive_int,
    report_files,
    run,
    snapshots,
    write_metrics,
)

from minaae import aae, data, metrics, plot, priors


def parse_args(argv=None):
    p = parser(__doc__, epochs=10, out="runs/mnist_aae", snapshots=True)
    p.add_argument("--prior", choices=list(priors.PRIORS), default="mixture")
    p.add_argument("--latent-dim", type=positive_int, default=2, help="mixture and swissroll are 2-D")
    p.add_argument("--encoder", choices=["deterministic", "gaussian", "universal"], default="deterministic")
    p.add_argument("--hidden", type=positive_int, default=1000, help="units of each of the 2 hidden layers")
    add_lr_flags(p, 1e-3)
    args = check_common(p, p.parse_args(argv))
    try:
        priors.make_prior(args.prior, args.latent_dim)
    except ValueError as e:
        p.error(f"--prior {args.prior} with --latent-dim {args.latent_dim}: {e}")
    if args.latent_dim != 2 and "snapshots" not in p.given:  # on by default for 2-D codes only
        args.snapshots = False
    return args


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ds = load(args)
    prior = priors.make_prior(args.prior, args.latent_dim)
    model = aae.AAE(784, args.latent_dim, (args.hidden, args.hidden), encoder=args.encoder, rng=rng)
    model.to(args.device)
    opts = make_optimizers(args, model, beta1=0.5)
    print(f"{ds.name}: {len(ds.x_train)} training images; prior {args.prior} ({args.latent_dim}-D); "
          f"encoder {args.encoder}; {model.num_parameters():,} parameters; device {args.device}")

    def step(batch):
        return aae.train_step(model, batch[0], prior, rng, opts)

    def epoch_batches():
        return data.batches(ds.x_train, batch_size=args.batch_size, rng=rng)

    def evaluate(m):
        m.eval()
        return {"val_rec_error": aae.reconstruction_error(m, ds.x_val)}

    snapshot, animate = snapshots(args, lambda: aae.encode(model.eval(), ds.x_test), ds.y_test,
                                  prior.sample(20000, rng=np.random.default_rng(args.seed + 2)))

    def on_epoch(record):
        message = aae.discriminator_warning(record["epoch"], record["d_real"], record["d_fake"])
        if message:
            print(f"warning: {message}")
        snapshot(record)

    start = time.perf_counter()
    history = fit(args, model, step, epoch_batches, opts, rng, evaluate=evaluate, on_epoch=on_epoch)
    animate(len(history))

    model.eval()
    eval_rng = np.random.default_rng(args.seed + 1)  # evaluation draws do not disturb the training stream
    codes = aae.encode(model, ds.x_test)
    z_prior = prior.sample(len(codes), rng=eval_rng)
    results = {
        "test_rec_error": aae.reconstruction_error(model, ds.x_test),
        "discriminator_accuracy": aae.discriminator_accuracy(model, ds.x_test, z_prior),
        "mmd_codes_vs_prior": metrics.mmd_rbf(codes[:2000], z_prior[:2000]),
        **{f"codes_{k}": v for k, v in metrics.moment_gap(codes, z_prior).items()},
    }
    write_figures(args, model, prior, ds, codes, history, eval_rng)
    write_metrics(args, history, start, results)
    print("test: " + ", ".join(f"{k}={v:.4g}" for k, v in results.items()))
    report_files(args.out)


def write_figures(args, model, prior, ds, codes, history, rng):
    from minaae.autograd import no_grad

    out = args.out
    title = f"{args.prior} prior, {args.encoder} encoder, {len(history)} epochs"
    plot.plot_codes(os.path.join(out, "codes.png"), codes, ds.y_test, prior.sample(20000, rng=rng), title=title)
    with no_grad():
        samples = model.generate(prior.sample(100, rng=rng)).numpy()
        recon = model.reconstruct(ds.x_test[:10]).numpy()
    plot.plot_image_grid(os.path.join(out, "samples.png"), samples, 10, title="decoded prior samples")
    plot.plot_reconstructions(os.path.join(out, "reconstructions.png"), ds.x_test[:10], recon)
    if args.latent_dim == 2:
        z = prior.sample(20000, rng=rng)
        gx, gy = (np.percentile(z[:, i], np.linspace(2, 98, 20)) for i in (0, 1))

        def decode(codes2d):
            with no_grad():
                return model.generate(codes2d.astype(np.float32)).numpy()

        plot.plot_manifold(os.path.join(out, "manifold.png"), decode, gx, gy, title="decoded grid of prior percentiles")
    if history:
        plot.plot_curves(os.path.join(out, "curves.png"), history, title=title)


if __name__ == "__main__":
    run(main)
