"""The supervised AAE (docs/paper.md §4.4, Fig. 7): the decoder reads the one-hot label beside a code z with
a N(0, I) prior, so the label carries the digit and z only the style.

    python examples/mnist_supervised.py                   # a 2-D z: one style per row of styles.png
    python examples/mnist_supervised.py --latent-dim 15   # the paper's 15-D z: z keeps the digit too

The size of z decides whether the decoder reads the digit from the label: nothing in the paper's objective
forbids z to carry it as well, and a 15-D z has room to, a 2-D z has room for little more than the style
(docs/results.md measures 2, 5 and 15).

--label-to-discriminator also gives the discriminator the label (not in the paper): with prior samples
that ignore it, D matches the pairs (z, y) to p(z) p(y), which drives the digit out of z (docs/variants.md).

styles.png: each row one style z drawn from the prior, each column one digit 0–9. metrics.json: test
reconstruction error, and how often a classifier (trained here, with minaae) reads the intended digit
from 1,000 generated images (100 styles × 10 digits).
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
    positive_float,
    positive_int,
    report_files,
    run,
    write_metrics,
)

from minaae import aae, data, metrics, nn, optim, plot, priors
from minaae import functional as F
from minaae.autograd import no_grad


def parse_args(argv=None):
    p = parser(__doc__, epochs=10, out="runs/mnist_supervised")
    p.add_argument("--latent-dim", type=positive_int, default=2, help="the paper's is 15 (see above)")
    p.add_argument("--prior-std", type=positive_float, default=1.0, help="z's prior is N(0, std² I)")
    p.add_argument("--hidden", type=positive_int, default=1000)
    add_lr_flags(p, 1e-3)
    p.add_argument("--classifier-epochs", type=positive_int, default=3)
    p.add_argument("--label-to-discriminator", action="store_true",
                   help="D also reads the one-hot label (z independent of the digit; not in the paper)")
    return check_common(p, p.parse_args(argv))


def train_classifier(ds, epochs, rng, batch_size=100):
    """A 784-512-10 ReLU network trained with Adam: the judge of the generated digits."""
    net = nn.mlp([784, 512, 10], rng=rng, init="he")
    opt = optim.Adam(net.named_parameters(), lr=1e-3)
    for _ in range(epochs):
        for x, y in data.batches(ds.x_train, ds.y_train, batch_size=batch_size, rng=rng):
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
    with no_grad():
        return net, metrics.classification_error(net(ds.x_test).numpy(), ds.y_test)


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ds = load(args)
    prior = priors.Gaussian(args.latent_dim, args.prior_std)
    model = aae.AAE(784, args.latent_dim, (args.hidden, args.hidden), decoder_classes=10,
                    d_label_classes=11 if args.label_to_discriminator else 0, rng=rng).to(args.device)
    opts = make_optimizers(args, model, beta1=0.5)
    print(f"{ds.name}: {len(ds.x_train)} labeled training images; z is {args.latent_dim}-D, "
          f"N(0, {args.prior_std:g}² I)")

    eval_rng = np.random.default_rng(args.seed + 1)  # the styles and the judge never touch training's rng
    styles = prior.sample(100, rng=eval_rng)
    z = np.repeat(styles, 10, axis=0)  # row-major: style i, digits 0..9
    digits = np.tile(np.arange(10), 100)
    judge, judge_error = train_classifier(ds, args.classifier_epochs, eval_rng)

    def generate_and_read(m):
        """The 1,000 generated digits (eval mode), and the share the judge reads as the digit asked for."""
        images = aae.batched(m, lambda c: m.generate(c, digits), z, batch_size=len(z))
        with no_grad():
            return images, 1 - metrics.classification_error(judge(images).numpy(), digits)

    start = time.perf_counter()
    history = fit(args, model, lambda b: aae.train_step(model, b[0], prior, rng, opts, labels=b[1]),
                  lambda: data.batches(ds.x_train, ds.y_train, batch_size=args.batch_size, rng=rng), opts, rng,
                  evaluate=lambda m: {"read_as_intended": generate_and_read(m)[1]})
    generated, read_as_intended = generate_and_read(model)
    plot.plot_image_grid(os.path.join(args.out, "styles.png"), generated[:100], 10,
                         title="each row one style z, each column one digit")
    plot.plot_curves(os.path.join(args.out, "curves.png"), history)
    results = {"test_rec_error": aae.reconstruction_error(model, ds.x_test, labels=ds.y_test),
               "generated_read_as_intended": read_as_intended, "classifier_test_error": judge_error}
    write_metrics(args, history, start, results)
    print("test: " + ", ".join(f"{k}={v:.4g}" for k, v in results.items()))
    report_files(args.out)


if __name__ == "__main__":
    run(main)
