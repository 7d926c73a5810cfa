"""The paper's central comparison (docs/paper.md §4.1, Fig. 2): an AAE and a VAE with the same networks,
each with a 2-D Gaussian prior and with the mixture of 10 Gaussians, their test codes side by side.

    python examples/mnist_aae_vs_vae.py                 # 4 models × 5 epochs
    python examples/mnist_aae_vs_vae.py --epochs 20 --hidden 1000

The AAE matches the whole aggregated posterior q(z) to p(z) and needs only samples of the prior; the VAE
penalizes KL(q(z|x) ‖ p(z)) image by image and needs the prior's density. Expect the AAE's codes to fill
the prior and the VAE's to leave gaps. Each model trains in its own subfolder of --out (resumable).
"""

import argparse
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
    public_args,
    report_files,
    run,
    snapshots,
)

from minaae import aae, data, metrics, optim, plot, priors, train

PRIORS, KINDS = ("gaussian", "mixture"), ("aae", "vae")


def parse_args(argv=None):
    p = parser(__doc__, epochs=5, out="runs/mnist_aae_vs_vae", snapshots=True)
    p.add_argument("--hidden", type=positive_int, default=500)
    add_lr_flags(p, 1e-3)
    return check_common(p, p.parse_args(argv))


def main(argv=None):
    args = parse_args(argv)
    ds = load(args, runs=[f"{kind}_{prior}" for prior in PRIORS for kind in KINDS])
    root, start = args.out, time.perf_counter()
    panels, titles, results = [], [], {}
    for prior_name in PRIORS:
        prior = priors.make_prior(prior_name, 2)
        eval_rng = np.random.default_rng(args.seed + 1)
        z_prior = prior.sample(len(ds.x_test), rng=eval_rng)
        for kind in KINDS:
            rng = np.random.default_rng(args.seed)
            run_args = argparse.Namespace(**{**vars(args), "out": os.path.join(root, f"{kind}_{prior_name}")})
            if kind == "aae":
                model = aae.AAE(784, 2, (args.hidden, args.hidden), rng=rng).to(args.device)
                opts = make_optimizers(args, model, beta1=0.5)
                step = lambda b, m=model, o=opts, p=prior, r=rng: aae.train_step(m, b[0], p, r, o)  # noqa: E731
            else:
                model = aae.VAE(784, 2, (args.hidden, args.hidden), rng=rng).to(args.device)
                opts = {"elbo": optim.Adam(model.named_parameters(), lr=args.lr)}
                step = lambda b, m=model, o=opts, p=prior: aae.vae_step(m, b[0], p, o["elbo"])  # noqa: E731
            print(f"--- {kind.upper()}, {prior_name} prior")
            snapshot, animate = snapshots(run_args, lambda m=model: aae.encode(m, ds.x_test), ds.y_test,
                                          prior.sample(20000, rng=np.random.default_rng(args.seed + 2)))
            history = fit(run_args, model, step, lambda r=rng: data.batches(ds.x_train, batch_size=args.batch_size,
                                                                            rng=r), opts, rng, on_epoch=snapshot)
            animate(len(history))
            model.eval()
            codes = aae.encode(model, ds.x_test)
            results[f"{kind}_{prior_name}"] = {"mmd_codes_vs_prior": metrics.mmd_rbf(codes[:2000], z_prior[:2000]),
                                               **metrics.moment_gap(codes, z_prior)}
            panels.append({"codes": codes, "labels": ds.y_test, "prior_samples": prior.sample(20000, rng=eval_rng)})
            titles.append(f"{kind.upper()}, {prior_name} prior")
    plot.plot_side_by_side(os.path.join(root, "aae_vs_vae.png"), panels, titles)
    train.write_json_atomic(os.path.join(root, "metrics.json"), {
        **results, "epochs": args.epochs, "process_wall_time_s": round(time.perf_counter() - start, 1),
        "args": public_args(args), "seed": args.seed})
    for name, r in results.items():
        print(f"{name}: MMD to the prior {r['mmd_codes_vs_prior']:.4f}")
    report_files(root)


if __name__ == "__main__":
    run(main)
