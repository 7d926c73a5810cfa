"""Label information in the adversarial regularization (docs/paper.md §4.2, Fig. 4): the discriminator also
reads a one-hot label — the mixture component (or swiss-roll segment) for prior samples, the image's label
for codes, an extra "unlabeled" class for everything unlabeled — so digit k is pushed into component k.

    python examples/mnist_label_regularized.py                       # mixture of 10 Gaussians
    python examples/mnist_label_regularized.py --prior swissroll --epochs 12

The paper's setting: 10,000 labeled + 40,000 unlabeled training images. metrics.json holds the fraction
of test codes that land in their own digit's component (or segment). With the swiss roll the defaults
change to what docs/results.md measured: the discriminator at --d-lr 2e-4, two encoder updates against it
per batch (--generator-steps 2), and every lr ÷10 after epoch 2, once the digits lie in order along the
roll, and again after epoch 6 (--decay-at 2 6), before the discriminator pulls ahead.
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

from minaae import aae, data, plot, priors
from minaae.autograd import no_grad

# A slower D, two generator steps, and every lr ÷10 once the digits are in order along the roll and again
# before D pulls ahead (docs/results.md measures each).
SWISS_ROLL_DEFAULTS = {"d_lr": 2e-4, "generator_steps": 2, "decay_at": [2, 6]}


def parse_args(argv=None):
    p = parser(__doc__, epochs=10, out="runs/mnist_label_regularized", snapshots=True)
    p.add_argument("--prior", choices=[n for n in priors.PRIORS if priors.make_prior(n).n_classes], default="mixture")
    p.add_argument("--labeled", type=positive_int, default=10_000, help="labeled training images (rest unlabeled)")
    p.add_argument("--hidden", type=positive_int, default=1000)
    p.add_argument("--encoder", choices=["deterministic", "gaussian", "universal"], default="deterministic")
    p.add_argument("--roll-noise", type=float, default=0.05, help="std of the swiss roll around its axis")
    p.add_argument("--generator-steps", type=positive_int, default=1,
                   help="encoder updates against D per batch (the paper: 1; the swiss roll's default: 2)")
    add_lr_flags(p, 1e-3, decay=True)
    args = check_common(p, p.parse_args(argv))
    if not args.roll_noise > 0:
        p.error(f"--roll-noise must be positive, got {args.roll_noise}")
    if args.prior != "swissroll" and "roll_noise" in p.given:
        p.error("--roll-noise applies to --prior swissroll only")
    if args.prior == "swissroll":  # the flags the command line did not give take the swiss roll's defaults
        for name, value in SWISS_ROLL_DEFAULTS.items():
            if name not in p.given:
                setattr(args, name, value)
    return args


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ds = load(args)
    labels = ds.y_train.copy()
    labels[rng.permutation(len(labels))[: max(len(labels) - args.labeled, 0)]] = -1  # hide all but --labeled
    print(f"{ds.name}: {(labels >= 0).sum()} labeled + {(labels < 0).sum()} unlabeled training images; "
          f"prior {args.prior}")
    prior = priors.SwissRoll(noise=args.roll_noise) if args.prior == "swissroll" else priors.make_prior(args.prior, 2)
    model = aae.AAE(784, 2, (args.hidden, args.hidden), encoder=args.encoder, d_label_classes=11,
                    rng=rng).to(args.device)
    opts = make_optimizers(args, model, beta1=0.5)
    schedules = aae.step_decays(opts, args.decay_at)

    def evaluate(m):
        m.eval()
        return {"val_in_own_component": float((prior.label_of(aae.encode(m, ds.x_val)) == ds.y_val).mean())}

    snapshot, animate = snapshots(args, lambda: aae.encode(model.eval(), ds.x_test), ds.y_test,
                                  prior.sample(20000, rng=np.random.default_rng(args.seed + 2)))
    start = time.perf_counter()
    history = fit(args, model, lambda b: aae.train_step(model, b[0], prior, rng, opts, labels=b[1],
                                                            generator_steps=args.generator_steps),
                  lambda: data.batches(ds.x_train, labels, batch_size=args.batch_size, rng=rng), opts, rng,
                  evaluate=evaluate, schedules=schedules, labeled=np.flatnonzero(labels >= 0),
                  on_epoch=snapshot)
    animate(len(history))
    model.eval()
    codes = aae.encode(model, ds.x_test)
    in_own = float((prior.label_of(codes) == ds.y_test).mean())
    eval_rng = np.random.default_rng(args.seed + 1)
    out = args.out
    plot.plot_codes(os.path.join(out, "codes.png"), codes, ds.y_test, prior.sample(20000, rng=eval_rng),
                    title=f"label-regularized AAE, {args.prior} prior, {len(history)} epochs")
    z, rows = prior.tour()  # points along the prior's axes: one row per component, or along the roll
    with no_grad():
        grid = model.generate(z).numpy()
    plot.plot_image_grid(os.path.join(out, "manifold.png"), grid, rows, title=f"along the {args.prior}'s axes")
    plot.plot_curves(os.path.join(out, "curves.png"), history)
    write_metrics(args, history, start, {
        "test_in_own_component": in_own, "test_rec_error": aae.reconstruction_error(model, ds.x_test)})
    print(f"{100 * in_own:.1f}% of test codes in their digit's component (or segment)")
    report_files(out)


if __name__ == "__main__":
    run(main)
