"""Figures: codes over the prior (the paper's Fig. 2 and 4), image grids (samples, Fig. 7, clusters),
reconstructions, the 2-D manifold, training curves. Every function takes NumPy arrays and writes a PNG
atomically; figures are drawn off-screen (matplotlib's Agg canvas), so no display is needed."""

import os
import tempfile
from statistics import NormalDist

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

SKIP_KEYS = {"epoch", "iterations", "wall_time"}


def _save(fig, path):
    """Write the figure to `path` through a temporary file and a rename."""
    FigureCanvasAgg(fig)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def tile_images(images, n_rows, image_shape=(28, 28)):
    """(N, h·w) images -> one (n_rows·h, n_cols·w) array, image i at row i // n_cols, column i % n_cols."""
    images = np.asarray(images)
    h, w = image_shape
    if images.ndim != 2 or images.shape[1] != h * w:
        raise ValueError(f"tile_images: expected images of shape (N, {h * w}), got {images.shape}")
    n_cols = -(-len(images) // n_rows)
    canvas = np.ones((n_rows * h, n_cols * w))
    for i, img in enumerate(images):
        r, c = divmod(i, n_cols)
        canvas[r * h : (r + 1) * h, c * w : (c + 1) * w] = img.reshape(h, w)
    return canvas


def _scatter_codes(ax, codes, labels, prior_samples, title, lims=None):
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError(f"plot_codes: expected codes of shape (N, >=2), got {codes.shape}")
    if labels is not None and len(labels) != len(codes):
        raise ValueError(f"plot_codes: {len(labels)} labels for {len(codes)} codes")
    both = codes[:, :2] if prior_samples is None else np.concatenate([codes[:, :2], np.asarray(prior_samples)[:, :2]])
    if lims is None:
        lo, hi = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
        pad = 0.1 * (hi - lo)
        lims = [(lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])]
    if prior_samples is not None:
        ax.hist2d(prior_samples[:, 0], prior_samples[:, 1], bins=120, range=lims, cmap="Greys", cmin=1)
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=2, alpha=0.5, color="tab:blue")
    else:
        points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=2, alpha=0.6)
        ax.figure.colorbar(points, ax=ax, ticks=range(10), fraction=0.046, pad=0.04)
    ax.set_xlim(lims[0])
    ax.set_ylim(lims[1])
    ax.set_aspect("equal")
    ax.set_title(title + (f" (first 2 of {codes.shape[1]} dims)" if codes.shape[1] > 2 else ""), fontsize=9)


def plot_codes(path, codes, labels=None, prior_samples=None, title="", lims=None):
    """Codes (N, 2) coloured by label over a grey histogram of prior samples (M, 2): the paper's Fig. 2."""
    fig = Figure(figsize=(6, 5.2))
    _scatter_codes(fig.add_subplot(), codes, labels, prior_samples, title, lims)
    return _save(fig, path)


def plot_side_by_side(path, panels, titles):
    """A row of code plots; each panel is a dict(codes=..., labels=..., prior_samples=...)."""
    fig = Figure(figsize=(5 * len(panels), 4.6))
    for i, (panel, title) in enumerate(zip(panels, titles)):
        _scatter_codes(fig.add_subplot(1, len(panels), i + 1), panel["codes"], panel.get("labels"),
                       panel.get("prior_samples"), title)
    return _save(fig, path)


def plot_image_grid(path, images, n_rows, title="", image_shape=(28, 28)):
    """Images (N, 784) in [0, 1] as a grid with n_rows rows."""
    canvas = tile_images(images, n_rows, image_shape)
    fig = Figure(figsize=(canvas.shape[1] / 40, canvas.shape[0] / 40 + 0.4))
    ax = fig.add_subplot()
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def plot_reconstructions(path, x, x_hat, image_shape=(28, 28)):
    """Inputs (top row) above their reconstructions (bottom row)."""
    x, x_hat = np.asarray(x), np.asarray(x_hat)
    if x.shape != x_hat.shape:
        raise ValueError(f"plot_reconstructions: inputs {x.shape} and reconstructions {x_hat.shape} differ")
    return plot_image_grid(path, np.concatenate([x, x_hat]), 2, "inputs (top) and reconstructions (bottom)",
                           image_shape)


def gaussian_percentile_grid(n=20, std=1.0, low=0.05, high=0.95):
    """n points of N(0, std²) at evenly spaced percentiles: a grid that covers the prior's mass evenly."""
    return np.array([NormalDist(0, std).inv_cdf(p) for p in np.linspace(low, high, n)])


def plot_manifold(path, decode, grid_x, grid_y=None, image_shape=(28, 28), title=""):
    """Decode every point of the grid (grid_x × grid_y) and tile the images, y increasing upward."""
    grid_y = grid_x if grid_y is None else grid_y
    zs = np.array([[x, y] for y in grid_y[::-1] for x in grid_x], dtype=np.float32)
    return plot_image_grid(path, decode(zs), len(grid_y), title, image_shape)


def plot_curves(path, history, keys=None, title=""):
    """Per-epoch curves: losses, the discriminator's mean confidences, and any other metrics."""
    if not history:
        raise ValueError("plot_curves: empty history")
    keys = keys or [k for k in history[0] if k not in SKIP_KEYS and isinstance(history[0][k], (int, float))]
    keys = [k for k in keys if k in history[0]]
    groups = [[k for k in keys if k.startswith(("rec", "d", "g", "ce", "kl")) and "_real" not in k
               and "_fake" not in k and "error" not in k],
              [k for k in keys if "_real" in k or "_fake" in k],
              [k for k in keys if "error" in k or "mmd" in k]]
    groups = [g for g in groups if g]
    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(4.5 * len(groups), 3.5))
    for i, group in enumerate(groups):
        ax = fig.add_subplot(1, len(groups), i + 1)
        for k in group:
            ax.plot(epochs, [h[k] for h in history], marker="o" if len(epochs) < 30 else None, ms=3, label=k)
        if any("_real" in k for k in group):
            ax.axhline(0.5, ls=":", color="grey")
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)
