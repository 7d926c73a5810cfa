"""Label information in the adversarial regularization (PAPER.md §2.3, Fig. 4): the discriminator also
reads a one-hot label — the mixture component (or swiss-roll segment) for prior samples, the image's label
for codes, an extra "unlabeled" class for everything unlabeled — so digit k is pushed into component k.

    python examples/mnist_label_regularized.py                       # mixture of 10 Gaussians
    python examples/mnist_label_regularized.py --prior swissroll

The paper's setting: 10,000 labeled + 40,000 unlabeled training images. metrics.json holds the fraction
of test codes that land in their own digit's component (or segment).
"""

import os
import time

import numpy as np
from common import (
    check_common,
    fit,
    load,
    parser,
    positive_float,
    positive_int,
    report_files,
    run,
    snapshots,
    write_metrics,
)

from minaae import aae, data, plot, priors
from minaae.autograd import no_grad


def parse_args(argv=None):
    p = parser(__doc__, epochs=10, out="runs/mnist_label_regularized", snapshots=True)
    p.add_argument("--prior", choices=["mixture", "swissroll"], default="mixture")
    p.add_argument("--labeled", type=positive_int, default=10_000, help="labeled training images (rest unlabeled)")
    p.add_argument("--hidden", type=positive_int, default=1000)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--d-lr", type=positive_float, default=1e-3)
    return check_common(p, p.parse_args(argv))


def component_of(prior, z):
    """The mixture component (largest component density) or swiss-roll segment (from the radius) of z."""
    if isinstance(prior, priors.GaussianMixture):
        return prior.component_log_densities(z).argmax(1)
    u = (np.hypot(z[:, 0], z[:, 1]) / 3) ** 2  # radius 3√u
    return np.clip((u * prior.n_classes).astype(int), 0, prior.n_classes - 1)


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ds = load(args)
    labels = ds.y_train.copy()
    labels[rng.permutation(len(labels))[: max(len(labels) - args.labeled, 0)]] = -1  # hide all but --labeled
    print(f"{ds.name}: {(labels >= 0).sum()} labeled + {(labels < 0).sum()} unlabeled training images; "
          f"prior {args.prior}")
    prior = priors.make_prior(args.prior, 2)
    model = aae.AAE(784, 2, (args.hidden, args.hidden), d_label_classes=11, rng=rng).to(args.device)
    opts = aae.make_optimizers(model, "adam", lr=args.lr, d_lr=args.d_lr, beta1=0.5)

    def evaluate(m):
        m.eval()
        return {"val_in_own_component": float((component_of(prior, aae.encode(m, ds.x_val)) == ds.y_val).mean())}

    snapshot, animate = snapshots(args, lambda: aae.encode(model.eval(), ds.x_test), ds.y_test,
                                  prior.sample(20000, rng=np.random.default_rng(args.seed + 2)))
    start = time.perf_counter()
    history = fit(args, model, lambda b: aae.train_step(model, b[0], prior, rng, opts, labels=b[1]),
                  lambda: data.batches(ds.x_train, labels, batch_size=args.batch_size, rng=rng), opts, rng,
                  evaluate=evaluate, labeled=np.flatnonzero(labels >= 0), on_epoch=snapshot)
    animate(len(history))
    model.eval()
    codes = aae.encode(model, ds.x_test)
    in_own = float((component_of(prior, codes) == ds.y_test).mean())
    eval_rng = np.random.default_rng(args.seed + 1)
    out = args.out
    plot.plot_codes(os.path.join(out, "codes.png"), codes, ds.y_test, prior.sample(20000, rng=eval_rng),
                    title=f"label-regularized AAE, {args.prior} prior, {len(history)} epochs")
    with no_grad():
        if args.prior == "mixture":  # rows: components 0..9; columns: outward along each component's axis
            radii = np.linspace(0.2, 2.6, 12)
            z = np.array([r * np.array([np.cos(a), np.sin(a)]) for a in 2 * np.pi * np.arange(10) / 10 for r in radii])
            grid, rows, title = model.generate(z.astype(np.float32)).numpy(), 10, "along each mixture component"
        else:  # along the roll's axis, u from 0 to 1
            root_u = np.sqrt(np.linspace(0.01, 0.99, 100))
            z = 3 * root_u[:, None] * np.stack([np.cos(4 * np.pi * root_u), np.sin(4 * np.pi * root_u)], 1)
            grid, rows, title = model.generate(z.astype(np.float32)).numpy(), 5, "along the swiss-roll axis"
    plot.plot_image_grid(os.path.join(out, "manifold.png"), grid, rows, title=title)
    plot.plot_curves(os.path.join(out, "curves.png"), history)
    write_metrics(args, history, start, {
        "test_in_own_component": in_own, "test_rec_error": aae.reconstruction_error(model, ds.x_test)})
    print(f"{100 * in_own:.1f}% of test codes in their digit's {'component' if args.prior == 'mixture' else 'segment'}")
    report_files(out)


if __name__ == "__main__":
    run(main)
