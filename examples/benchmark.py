"""Speed and memory of one AAE training iteration (reconstruction + discriminator + generator step) of the
paper's MNIST model — 784-1000-1000-8 encoder, 8-1000-1000-784 decoder, 8-1000-1000-1 discriminator,
batch 100, float32, Adam — for minaae, the same iteration in PyTorch (when installed), and the same
iteration written directly in NumPy with hand-derived gradients (no autograd: the speed of light for NumPy).

    python examples/benchmark.py                     # all contenders, 2 threads, 7 interleaved rounds
    python examples/benchmark.py --threads 1 --rounds 11
    python examples/benchmark.py --device cuda       # minaae on a GPU (needs CuPy)

Each contender runs in its own process (so OpenBLAS's idle threads never slow PyTorch and peak memory is
per contender), contenders are interleaved round by round (the machine's speed drifts), and the figures
are medians over rounds after warm-up. Achieved GFLOP/s counts the matmul FLOPs of the iteration; the
machine's matmul peak is a large square float32 matmul through NumPy.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

import numpy as np  # noqa: E402

ENC, DEC, DIS = [784, 1000, 1000, 8], [8, 1000, 1000, 784], [8, 1000, 1000, 1]
BATCH = 100


def mlp_flops(sizes, batch, input_grad):
    """Matmul FLOPs of forward + backward of an MLP: 2·B·in·out forward, twice that backward
    (weight gradient and input gradient), minus the first layer's input gradient when none is needed."""
    fwd = sum(2 * batch * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    first_input_grad = 0 if input_grad else 2 * batch * sizes[0] * sizes[1]
    return fwd, 2 * fwd - first_input_grad


def iteration_flops():
    """The AAE iteration of minaae.aae.train_step, counted matmul by matmul."""
    enc_f, enc_b = mlp_flops(ENC, BATCH, input_grad=False)
    dec_f, dec_b = mlp_flops(DEC, BATCH, input_grad=True)
    dis_f, dis_b = mlp_flops(DIS, BATCH, input_grad=True)
    dis_b_weights_only = dis_b - 2 * BATCH * DIS[0] * DIS[1]
    reconstruction = enc_f + dec_f + enc_b + dec_b
    discriminator = enc_f + 2 * dis_f + 2 * dis_b_weights_only  # codes once; D on prior and codes
    dis_input_only = dis_f  # input gradients through a frozen D: one matmul per layer
    generator = dis_f + dis_input_only + enc_b
    return reconstruction + discriminator + generator


# ---------------------------------------------------------------------------------------------------
# Contenders: each returns a function that runs one iteration
# ---------------------------------------------------------------------------------------------------


def minaae_iteration(device):
    from minaae import aae, priors
    from minaae.backend import to_device

    rng = np.random.default_rng(0)
    model = aae.AAE(784, 8, (1000, 1000), rng=rng).to(device)
    opts = aae.make_optimizers(model, "adam", lr=1e-4, d_lr=1e-4)
    prior = priors.Gaussian(8, 5.0)
    x = to_device(rng.random((BATCH, 784), dtype=np.float32), device)

    def run():
        aae.train_step(model, x, prior, rng, opts)
        if device == "cuda":
            import cupy

            cupy.cuda.Stream.null.synchronize()
    return run


def minaae_semisupervised_iteration(device):
    from minaae import aae
    from minaae import semisupervised as ss
    from minaae.backend import to_device

    rng = np.random.default_rng(0)
    model = ss.CategoricalAAE(rng).to(device)
    opts = aae.make_optimizers(model, "adam", lr=1e-4, beta1=0.1)
    x = to_device(rng.random((BATCH, 784), dtype=np.float32), device)
    labels = rng.integers(0, 10, BATCH)
    return lambda: ss.train_step(model, x, rng, opts, labeled=(x, labels))


def numpy_iteration(device):
    """The same iteration with every gradient written out by hand (the Adam update is the library's kernel)."""
    from minaae import kernels

    rng = np.random.default_rng(0)
    f32 = np.float32

    def init(sizes):
        return [[(rng.standard_normal((a, b)) * 0.01).astype(f32), np.zeros(b, f32)]
                for a, b in zip(sizes[:-1], sizes[1:])]

    nets = {"enc": init(ENC), "dec": init(DEC), "dis": init(DIS)}
    adam = {}

    def forward(layers, x):
        acts = [x]
        for i, (w, b) in enumerate(layers):
            h = acts[-1] @ w
            h += b
            if i < len(layers) - 1:
                np.maximum(h, 0, out=h)
            acts.append(h)
        return acts

    def backward(layers, acts, g, need_input=True, need_weights=True):
        grads = []
        for i in range(len(layers) - 1, -1, -1):
            w = layers[i][0]
            if need_weights:
                grads.append((acts[i].T @ g, g.sum(0)))
            if i > 0 or need_input:
                g = g @ w.T
                if i > 0:
                    g *= acts[i] > 0
        return grads[::-1], g

    def step(key, layers, grads, lr=1e-4, b1=0.5, b2=0.999, eps=1e-8):
        if key not in adam:
            adam[key] = {"t": 0, "m": [[np.zeros_like(a) for a in lb] for lb in layers],
                         "v": [[np.zeros_like(a) for a in lb] for lb in layers]}
        state = adam[key]
        state["t"] += 1
        t = state["t"]
        for lb, gb, mb, vb in zip(layers, grads, state["m"], state["v"]):
            for p, g, m, v in zip(lb, gb, mb, vb):  # the library's fused update, without its bookkeeping
                kernels.adam_step(p, g, m, v, t, lr, b1, b2, eps, 0.0)

    def sigmoid(z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1, e) / (1 + e)

    x = rng.random((BATCH, 784), dtype=f32)

    def run():
        enc, dec, dis = nets["enc"], nets["dec"], nets["dis"]
        a_enc = forward(enc, x)  # reconstruction: d(mean BCE)/d logits = (σ − x) / size
        a_dec = forward(dec, a_enc[-1])
        g = (sigmoid(a_dec[-1]) - x) / x.size
        g_dec, g_z = backward(dec, a_dec, g)
        g_enc, _ = backward(enc, a_enc, g_z, need_input=False)
        step("rec", enc + dec, g_enc + g_dec)
        z_prior = (rng.standard_normal((BATCH, 8)) * 5).astype(f32)
        a_enc = forward(enc, x)  # regularization: one encoder pass for both steps
        a_real, a_fake = forward(dis, z_prior), forward(dis, a_enc[-1])
        g_real = (sigmoid(a_real[-1]) - 1) / BATCH
        g_fake = sigmoid(a_fake[-1]) / BATCH
        gr, _ = backward(dis, a_real, g_real, need_input=False)
        gf, _ = backward(dis, a_fake, g_fake, need_input=False)
        for (gw, gb), (fw, fb) in zip(gr, gf):  # the two halves of L_D add up
            gw += fw
            gb += fb
        step("dis", dis, gr)
        a_gen = forward(dis, a_enc[-1])  # generator: through the updated, frozen D
        _, g_z = backward(dis, a_gen, (sigmoid(a_gen[-1]) - 1) / BATCH, need_weights=False)
        g_enc, _ = backward(enc, a_enc, g_z, need_input=False)
        step("gen", enc, g_enc)
    return run


def torch_iteration(device):
    import torch

    torch.manual_seed(0)

    def mlp(sizes):
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)

    enc, dec, dis = mlp(ENC), mlp(DEC), mlp(DIS)
    opt_rec = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-4, betas=(0.5, 0.999))
    opt_dis = torch.optim.Adam(dis.parameters(), lr=1e-4, betas=(0.5, 0.999))
    opt_gen = torch.optim.Adam(enc.parameters(), lr=1e-4, betas=(0.5, 0.999))
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    x = torch.rand(BATCH, 784)
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)

    def run():
        opt_rec.zero_grad()
        bce(dec(enc(x)), x).backward()
        opt_rec.step()
        z = enc(x)
        opt_dis.zero_grad()
        (bce(dis(torch.randn(BATCH, 8) * 5), ones) + bce(dis(z.detach()), zeros)).backward()
        opt_dis.step()
        opt_gen.zero_grad()
        for p in dis.parameters():
            p.requires_grad_(False)
        bce(dis(z), ones).backward()
        for p in dis.parameters():
            p.requires_grad_(True)
        opt_gen.step()
    return run


def matmul_peak(device):
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    out = np.empty_like(a)
    return lambda: np.matmul(a, a, out=out)


CONTENDERS = {"minaae": minaae_iteration, "minaae-semisupervised": minaae_semisupervised_iteration,
              "numpy-by-hand": numpy_iteration, "pytorch": torch_iteration, "matmul-2048": matmul_peak}


def measure(name, device, iterations, warmup):
    """Run in a child process: time `iterations` calls after `warmup`, report seconds per call and peak RSS."""
    run = CONTENDERS[name](device)
    for _ in range(warmup):
        run()
    start = time.perf_counter()
    for _ in range(iterations):
        run()
    per_call = (time.perf_counter() - start) / iterations
    return {"seconds": per_call, "max_rss_mb": peak_rss_mb()}


def peak_rss_mb():
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it starts afresh at exec)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--iterations", type=int, default=20, help="timed iterations per round")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--only", nargs="*", choices=sorted(CONTENDERS), help="run only these contenders")
    p.add_argument("--child", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name in ("threads", "rounds", "iterations"):
        if getattr(args, name) <= 0:
            p.error(f"--{name} must be positive, got {getattr(args, name)}")
    return args


def available(name):
    if name != "pytorch":
        return True
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def child_env(threads):
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        if args.child == "pytorch":
            import torch

            torch.set_num_threads(args.threads)
        print(json.dumps(measure(args.child, args.device, args.iterations, args.warmup)))
        return
    names = [n for n in (args.only or CONTENDERS) if available(n)]
    if args.device == "cuda":
        names = [n for n in names if n.startswith("minaae")]
    results = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names:  # interleaved: every round runs every contender once
            command = [sys.executable, __file__, "--child", name, "--threads", str(args.threads), "--iterations",
                       str(args.iterations), "--warmup", str(args.warmup), "--device", args.device]
            out = subprocess.run(command, capture_output=True, text=True, env=child_env(args.threads))
            if out.returncode:
                sys.exit(f"error: contender {name} failed:\n{out.stderr[-2000:]}")
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    report(results, args)


def report(results, args):
    flops = iteration_flops()
    median = {n: statistics.median(r["seconds"] for r in rs) for n, rs in results.items()}
    memory = {n: max(r["max_rss_mb"] for r in rs) for n, rs in results.items()}
    peak = 2 * 2048**3 / median["matmul-2048"] / 1e9 if "matmul-2048" in median else None
    print(f"\nthreads={args.threads} rounds={args.rounds} iterations/round={args.iterations} device={args.device}")
    print(f"AAE iteration: {flops / 1e9:.2f} GFLOP of matmul"
          + (f"; machine matmul peak {peak:.1f} GFLOP/s" if peak else ""))
    print(f"{'contender':24s} {'ms/iter':>9s} {'iter/s':>8s} {'samples/s':>10s} {'GFLOP/s':>8s} {'% peak':>7s} "
          f"{'peak MB':>8s}")
    for name, sec in median.items():
        if name == "matmul-2048":
            print(f"{name:24s} {sec * 1e3:9.2f} {'':>8s} {'':>10s} {peak:8.1f} {100.0:6.0f}% {memory[name]:8.0f}")
            continue
        gflops = flops / sec / 1e9 if name != "minaae-semisupervised" else float("nan")
        share = f"{100 * gflops / peak:6.0f}%" if peak and name != "minaae-semisupervised" else f"{'':>7s}"
        print(f"{name:24s} {sec * 1e3:9.2f} {1 / sec:8.2f} {BATCH / sec:10.0f} {gflops:8.1f} {share} "
              f"{memory[name]:8.0f}")
    if "minaae" in median and "minaae-semisupervised" in median:  # each round's two runs are neighbours in time
        ratios = [s["seconds"] / p["seconds"] for s, p in zip(results["minaae-semisupervised"], results["minaae"])]
        print(f"minaae-semisupervised / minaae time: {statistics.median(ratios):.3f} (median of the rounds' ratios)")
    if "minaae" in median:
        for other in ("pytorch", "numpy-by-hand"):
            if other in median:
                print(f"minaae throughput / {other}: {median[other] / median['minaae']:.3f}")
        if "pytorch" in memory:
            print(f"minaae peak memory / pytorch: {memory['minaae'] / memory['pytorch']:.2f}")


if __name__ == "__main__":
    main()
