"""Figures: valid PNGs written atomically, the image tiling, the percentile grid, shape errors."""

import os

import matplotlib.image
import numpy as np
import pytest

from minaae import plot

PNG = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    assert open(path, "rb").read(8) == PNG
    assert matplotlib.image.imread(path).shape[0] > 50
    assert not [f for f in os.listdir(os.path.dirname(path)) if f.endswith(".tmp")]


def test_every_figure_is_a_png(tmp_path):
    rng = np.random.default_rng(0)
    codes, labels, prior = rng.standard_normal((300, 2)), rng.integers(0, 10, 300), rng.standard_normal((2000, 2))
    images = rng.random((20, 784))
    history = [{"epoch": e, "iterations": 10 * e, "wall_time": 1.0, "rec": 1 / e, "d": 1.3, "g": 0.7,
                "d_real": 0.6, "d_fake": 0.4, "test_error": 0.5 / e} for e in (1, 2, 3)]
    written = [
        plot.plot_codes(str(tmp_path / "codes.png"), codes, labels, prior, title="t"),
        plot.plot_codes(str(tmp_path / "codes8.png"), rng.standard_normal((50, 8))),
        plot.plot_side_by_side(str(tmp_path / "side.png"), [{"codes": codes, "labels": labels}] * 2, ["a", "b"]),
        plot.plot_image_grid(str(tmp_path / "grid.png"), images, 4),
        plot.plot_reconstructions(str(tmp_path / "rec.png"), images[:5], images[5:10]),
        plot.plot_manifold(str(tmp_path / "manifold.png"), lambda z: np.tile(z[:, :1], (1, 784)) % 1,
                           plot.gaussian_percentile_grid(5)),
        plot.plot_curves(str(tmp_path / "curves.png"), history),
    ]
    for path in written:
        assert_png(path)


def test_tile_images_places_image_i_at_row_i_div_cols_and_column_i_mod_cols():
    images = np.repeat(np.arange(6, dtype=float)[:, None], 4, axis=1)  # image i is constant i, 2×2
    canvas = plot.tile_images(images, 2, image_shape=(2, 2))
    assert canvas.shape == (4, 6)
    for i in range(6):
        r, c = divmod(i, 3)
        assert np.all(canvas[2 * r : 2 * r + 2, 2 * c : 2 * c + 2] == i)


def test_gaussian_percentile_grid_known_quantiles():
    np.testing.assert_allclose(plot.gaussian_percentile_grid(3, low=0.025, high=0.975), [-1.959964, 0, 1.959964],
                               atol=1e-6)
    np.testing.assert_allclose(plot.gaussian_percentile_grid(2, std=5, low=0.5, high=0.8413447), [0, 5], atol=1e-5)


def test_shape_errors_name_the_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"\(N, >=2\), got \(5, 1\)"):
        plot.plot_codes(str(tmp_path / "x.png"), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="3 labels for 5 codes"):
        plot.plot_codes(str(tmp_path / "x.png"), np.zeros((5, 2)), labels=np.zeros(3))
    with pytest.raises(ValueError, match=r"\(N, 784\), got \(2, 10\)"):
        plot.plot_image_grid(str(tmp_path / "x.png"), np.zeros((2, 10)), 1)
