"""Figures of the paper's §4: codes over the prior (Fig. 2, 4), image grids (prior samples, Fig. 7 styles,
cluster rows), reconstructions, the 2-D manifold, and training curves.

Every function takes NumPy arrays (CuPy arrays are copied to the host), writes one PNG (or, for the
codes' evolution over training, one animated GIF) atomically and returns its path.
Figures are `matplotlib.figure.Figure` objects drawn on an Agg canvas: they never touch
a display or pyplot's global list of open figures, so nothing is left open once a function returns.
"""

import numbers
from statistics import NormalDist

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .backend import as_numpy
from .data import atomic_write

DPI = 110
SKIP_KEYS = ("epoch", "iterations", "wall_time")
PRIOR_GREYS = ListedColormap(colormaps["Greys"](np.linspace(0.15, 0.6, 64)))  # light: points stay visible


def _save(fig, path):
    """Render `fig` to the PNG `path`, atomically."""
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, bbox_inches="tight"))


# --- codes over the prior (Fig. 2, Fig. 4) -------------------------------------------------------------

def _points(a, name, where):
    """(N, >=2) array -> its first two columns as float64 (N, 2)."""
    a = as_numpy(a)
    if a.ndim != 2 or a.shape[1] < 2 or len(a) == 0:
        raise ValueError(f"{where}: {name} must have shape (N, >=2) with N >= 1, got {a.shape}")
    return a[:, :2].astype(np.float64)


def _robust_limits(*point_sets):
    """((xmin, xmax), (ymin, ymax)) covering the 0.5–99.5 percentiles of each set, plus a 10% margin."""
    finite = [p[np.isfinite(p).all(axis=1)] for p in point_sets]
    finite = [p for p in finite if len(p)]
    if not finite:
        return (-1.0, 1.0), (-1.0, 1.0)
    lo = np.min([np.percentile(p, 0.5, axis=0) for p in finite], axis=0)
    hi = np.max([np.percentile(p, 99.5, axis=0) for p in finite], axis=0)
    pad = np.where(hi > lo, 0.1 * (hi - lo), 1.0)
    return tuple(zip((lo - pad).tolist(), (hi + pad).tolist()))


def class_colors(n_classes):
    """A qualitative colour per class: tab10 up to 10 classes, tab20 up to 20, evenly spaced turbo beyond."""
    if n_classes <= 10:
        return ListedColormap(colormaps["tab10"].colors[:n_classes])
    if n_classes <= 20:
        tab20 = colormaps["tab20"].colors
        return ListedColormap((tab20[0::2] + tab20[1::2])[:n_classes])  # the ten strong colours first
    return ListedColormap(colormaps["turbo"](np.linspace(0, 1, n_classes)))


def _draw_codes(ax, codes, labels, prior_samples, title, n_classes, lims, where):
    """Scatter codes (N, >=2) coloured by label (N,) over a grey 2-D histogram of prior samples (M, >=2)."""
    dims = as_numpy(codes).shape[-1]
    codes = _points(codes, "codes", where)
    prior = None if prior_samples is None else _points(prior_samples, "prior_samples", where)
    if lims is None:
        lims = _robust_limits(codes) if prior is None else _robust_limits(codes, prior)
    elif np.shape(lims) != (2, 2):
        raise ValueError(f"{where}: lims must be ((xmin, xmax), (ymin, ymax)), got shape {np.shape(lims)}")
    if prior is not None:
        ax.hist2d(prior[:, 0], prior[:, 1], bins=100, range=lims, cmap=PRIOR_GREYS, cmin=1, zorder=0)
    order = np.random.default_rng(0).permutation(len(codes))  # no class is always drawn on top of the others
    size = float(np.clip(20000 / len(codes), 2, 12))
    if labels is None:
        ax.scatter(*codes[order].T, s=size, alpha=0.6, color="tab:blue", linewidths=0)
    else:
        labels = as_numpy(labels)
        if labels.shape != (len(codes),):
            raise ValueError(f"{where}: labels of shape {labels.shape} do not match codes of shape "
                             f"{(len(codes), dims)}; expected ({len(codes)},)")
        if labels.min() < 0 or labels.max() >= n_classes:
            raise ValueError(f"{where}: labels span [{labels.min()}, {labels.max()}], outside [0, {n_classes})")
        ax.scatter(*codes[order].T, c=labels[order], cmap=class_colors(n_classes),
                   norm=BoundaryNorm(np.arange(n_classes + 1) - 0.5, n_classes), s=size, alpha=0.6, linewidths=0)
    ax.set_xlim(lims[0])
    ax.set_ylim(lims[1])
    ax.set_aspect("equal")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title(title + (f" (first 2 of {dims} dims)" if dims > 2 else ""), fontsize=9)
    return labels is not None


def _class_colorbar(fig, axes, n_classes):
    """One discrete colour bar, class k at tick k, for all `axes` (opaque, unlike the points)."""
    mappable = ScalarMappable(BoundaryNorm(np.arange(n_classes + 1) - 0.5, n_classes), class_colors(n_classes))
    step = 1 if n_classes <= 20 else -(-n_classes // 10)
    bar = fig.colorbar(mappable, ax=axes, ticks=range(0, n_classes, step), fraction=0.046, pad=0.03)
    bar.set_label("label", fontsize=8)


def _fit_height(fig, axes, panel_width, extra_width):
    """Size the figure to the panels' data aspect (equal axes), so wide or tall code clouds leave no gaps."""
    ratio = max(np.ptp(ax.get_ylim()) / np.ptp(ax.get_xlim()) for ax in axes)
    fig.set_size_inches(panel_width * len(axes) + extra_width, panel_width * float(np.clip(ratio, 0.3, 3)) + 0.6)


def plot_codes(path, codes, labels=None, prior_samples=None, title="", n_classes=10, lims=None):
    """The paper's Fig. 2 / 4: test codes (N, 2) coloured by label (N,) over the prior's density.

    The prior is a light grey 2-D histogram of `prior_samples` (M, 2); codes with more than two dims are
    shown by their first two. `lims` = ((xmin, xmax), (ymin, ymax)), by default `_robust_limits`."""
    fig = Figure(layout="constrained")
    ax = fig.add_subplot()
    if _draw_codes(ax, codes, labels, prior_samples, title, n_classes, lims, "plot_codes"):
        _class_colorbar(fig, ax, n_classes)
    _fit_height(fig, [ax], 5.2, 0.9)
    return _save(fig, path)


def plot_side_by_side(path, panels, titles, n_classes=10, lims=None):
    """A row of code plots (the paper's Fig. 2: AAE vs VAE, Gaussian vs mixture prior).

    Each panel is a dict with "codes" (N, 2) and optionally "labels" (N,), "prior_samples" (M, 2) and
    "lims" (which overrides `lims`). One colour bar serves all panels."""
    if len(panels) == 0 or len(panels) != len(titles):
        raise ValueError(f"plot_side_by_side: {len(panels)} panels and {len(titles)} titles; need equal, >= 1")
    fig = Figure(layout="constrained")
    axes, labelled = fig.subplots(1, len(panels), squeeze=False)[0], False
    for i, (ax, panel, title) in enumerate(zip(axes, panels, titles)):
        unknown = set(panel) - {"codes", "labels", "prior_samples", "lims"}
        if "codes" not in panel or unknown:
            raise ValueError(f"plot_side_by_side: panel {i} needs 'codes' and has unknown keys {sorted(unknown)}")
        labelled |= _draw_codes(ax, panel["codes"], panel.get("labels"), panel.get("prior_samples"), title,
                                n_classes, panel.get("lims", lims), f"plot_side_by_side (panel {i})")
    if labelled:
        _class_colorbar(fig, list(axes), n_classes)
    _fit_height(fig, axes, 4.4, 0.9)
    return _save(fig, path)


def animate_codes(path, frames, labels=None, prior_samples=None, titles=None, n_classes=10, fps=2):
    """An animated GIF of the codes over the prior, one frame per array of `frames` (each (N, 2), e.g. the
    test codes after every epoch), with the same axes throughout so that the motion is the codes' own.
    Written with matplotlib's PillowWriter (Pillow comes with matplotlib)."""
    from matplotlib.animation import PillowWriter

    if len(frames) == 0:
        raise ValueError("animate_codes: no frames")
    titles = titles or [f"frame {i + 1}" for i in range(len(frames))]
    points = [_points(f, "frames", "animate_codes") for f in frames]
    if prior_samples is not None:
        points.append(_points(prior_samples, "prior_samples", "animate_codes"))
    lims = _robust_limits(*points)
    fig = Figure(figsize=(5.6, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()

    def write(tmp):
        writer = PillowWriter(fps=fps)
        with writer.saving(fig, tmp, dpi=80):
            for i, (codes, title) in enumerate(zip(frames, titles)):
                ax.clear()
                if _draw_codes(ax, codes, labels, prior_samples, title, n_classes, lims, "animate_codes") and i == 0:
                    _class_colorbar(fig, ax, n_classes)
                writer.grab_frame()

    return atomic_write(path, write)


# --- image grids (prior samples, Fig. 7, clusters, reconstructions, the manifold) ----------------------

def _images(images, image_shape, where):
    images = as_numpy(images)
    size = int(np.prod(image_shape))
    if images.ndim != 2 or images.shape[1] != size or len(images) == 0:
        raise ValueError(f"{where}: images must have shape (N, {size}) for image_shape {tuple(image_shape)}, "
                         f"got {images.shape}")
    return images.astype(np.float64)


def tile_images(images, n_rows, image_shape=(28, 28)):
    """Images (N, h·w) -> one (n_rows·h, n_cols·w) array, image i at block (i // n_cols, i % n_cols).

    n_cols = ceil(N / n_rows); cells left over at the end are white (1.0)."""
    images = _images(images, image_shape, "tile_images")
    if int(n_rows) != n_rows or n_rows < 1:
        raise ValueError(f"tile_images: n_rows must be a positive integer, got {n_rows}")
    (h, w), n_rows = image_shape, int(n_rows)
    n_cols = -(-len(images) // n_rows)
    blank = np.ones((n_rows * n_cols - len(images), h * w))
    blocks = np.concatenate([images, blank]).reshape(n_rows, n_cols, h, w)
    return blocks.transpose(0, 2, 1, 3).reshape(n_rows * h, n_cols * w)


def plot_image_grid(path, images, n_rows, title="", image_shape=(28, 28)):
    """Images (N, 784) in [0, 1] tiled row by row into `n_rows` rows, grey scale, no ticks.

    Used for decoded prior samples, the paper's Fig. 7 (rows = styles, columns = digits) and cluster rows."""
    canvas = tile_images(images, n_rows, image_shape)
    inch_per_px = max(min(1 / 40, 12 / max(canvas.shape)), 2 / max(canvas.shape))  # 2–12 inches wide
    fig = Figure(figsize=(canvas.shape[1] * inch_per_px, canvas.shape[0] * inch_per_px))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)


def plot_reconstructions(path, x, x_hat, n=10, image_shape=(28, 28)):
    """The first n inputs x (N, 784) and their reconstructions x_hat (N, 784): rows of up to 10 inputs,
    each followed by the row of their reconstructions."""
    x, x_hat = _images(x, image_shape, "plot_reconstructions"), _images(x_hat, image_shape, "plot_reconstructions")
    if x.shape != x_hat.shape:
        raise ValueError(f"plot_reconstructions: inputs {x.shape} and reconstructions {x_hat.shape} differ")
    n = min(n, len(x))
    cols = min(n, 10)
    rows = -(-n // cols)
    pad = np.ones((rows * cols - n, x.shape[1]))
    pairs = [np.concatenate([a[:n], pad]).reshape(rows, 1, cols, -1) for a in (x, x_hat)]
    tiled = np.concatenate(pairs, axis=1).reshape(2 * rows * cols, -1)
    title = "inputs (top), reconstructions (bottom)" if rows == 1 else "rows alternate: inputs, reconstructions"
    return plot_image_grid(path, tiled, 2 * rows, title, image_shape)


def gaussian_percentile_grid(n=20, std=1.0, low=0.05, high=0.95):
    """(n,) points of N(0, std²) at evenly spaced percentiles in [low, high]: equal prior mass between them."""
    if not (0 < low <= high < 1) or n < 1 or std <= 0:
        raise ValueError(f"gaussian_percentile_grid: need n >= 1, std > 0, 0 < low <= high < 1; "
                         f"got n={n}, std={std}, low={low}, high={high}")
    normal = NormalDist(0.0, std)
    return np.array([normal.inv_cdf(p) for p in np.linspace(low, high, n)])


def manifold_codes(z_grid_1d_x, z_grid_1d_y):
    """Grid (Kx,), (Ky,) -> codes (Ky·Kx, 2) row by row: the top row has the largest y, so the tiled
    manifold reads like the code plot (x to the right, y upward)."""
    gx, gy = as_numpy(z_grid_1d_x), as_numpy(z_grid_1d_y)
    if gx.ndim != 1 or gy.ndim != 1 or not len(gx) or not len(gy):
        raise ValueError(f"manifold_codes: grids must be non-empty 1-D arrays, got {gx.shape} and {gy.shape}")
    ys, xs = np.meshgrid(gy[::-1], gx, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def plot_manifold(path, decode, z_grid_1d_x, z_grid_1d_y=None, image_shape=(28, 28), title=""):
    """The learned 2-D manifold: decode (K, 2) -> (K, 784) applied to every point of the grid x × y.

    Typical grid: gaussian_percentile_grid(20, std) for each axis (equal prior mass between neighbours)."""
    z_grid_1d_y = z_grid_1d_x if z_grid_1d_y is None else z_grid_1d_y
    codes = manifold_codes(z_grid_1d_x, z_grid_1d_y)
    images = as_numpy(decode(codes))
    size = int(np.prod(image_shape))
    if images.shape != (len(codes), size):
        raise ValueError(f"plot_manifold: decode mapped codes {codes.shape} to {images.shape}; "
                         f"expected ({len(codes)}, {size})")
    return plot_image_grid(path, images, len(as_numpy(z_grid_1d_y)), title, image_shape)


# --- training curves -----------------------------------------------------------------------------------

def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def curve_groups(keys):
    """Split metric names into subplots: reconstruction / adversarial losses / the discriminator's mean
    outputs on real and fake codes (…_real, …_fake) / everything else (errors, MMD, …)."""
    groups = {"reconstruction & classification": [], "adversarial losses": [], "mean D(real), D(fake)": [],
              "metrics": []}
    for k in keys:
        if k.endswith(("_real", "_fake")):
            groups["mean D(real), D(fake)"].append(k)
        elif k in ("d", "g") or k.startswith(("d_", "g_")):
            groups["adversarial losses"].append(k)
        elif k in ("kl", "loss", "elbo", "ce") or k.startswith("rec"):
            groups["reconstruction & classification"].append(k)
        else:
            groups["metrics"].append(k)
    return {name: ks for name, ks in groups.items() if ks}


def plot_curves(path, history, keys=None, title=""):
    """Training curves from per-epoch dicts [{"epoch": 1, "rec": …, "d": …, "d_real": …}, …], x = epoch.

    One subplot per group of `curve_groups`; the confidences get a dotted line at 0.5 (a discriminator
    that cannot tell). 'epoch', 'iterations' and 'wall_time' are not plotted; a metric missing from some
    epochs (evaluated every few epochs) is plotted where present."""
    if len(history) == 0:
        raise ValueError("plot_curves: empty history")
    seen = list(dict.fromkeys(k for record in history for k in record))
    numeric = [k for k in seen if k not in SKIP_KEYS and any(_is_number(r.get(k)) for r in history)]
    if keys is None:
        keys = numeric
    elif missing := [k for k in keys if k not in numeric]:
        raise ValueError(f"plot_curves: no numeric values for keys {missing}; available: {numeric}")
    if not keys:
        raise ValueError(f"plot_curves: nothing to plot; the history has keys {seen}")
    epochs = [r.get("epoch", i + 1) for i, r in enumerate(history)]
    groups = curve_groups(keys)
    fig = Figure(figsize=(4.2 * len(groups), 3.4), layout="constrained")
    for ax, (name, group) in zip(fig.subplots(1, len(groups), squeeze=False)[0], groups.items()):
        for k in group:  # a metric evaluated every few epochs: a line through the epochs that have it
            xs, ys = zip(*[(e, r[k]) for e, r in zip(epochs, history) if _is_number(r.get(k))])
            ax.plot(xs, ys, marker="o" if len(xs) <= 40 else None, ms=3, label=k)
        if name.startswith("mean D"):
            ax.axhline(0.5, ls=":", color="grey", lw=1)
            ax.set_ylim(-0.02, 1.02)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if min(epochs) == max(epochs):
            ax.set_xlim(epochs[0] - 1, epochs[0] + 1)
        ax.set_xlabel("epoch")
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
