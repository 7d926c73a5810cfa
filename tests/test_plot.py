"""Figures: valid PNGs written atomically (no temporary files left, an old figure kept when drawing
fails), the image tiling and the layouts built on it, the percentile grid, the curve groups, and errors
that name the shapes."""

import os

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

from minaae import plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path):
    """The PNG at `path` as an (H, W, 4) float array, after checking its signature."""
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4) and min(image.shape[:2]) > 20
    return image


def darkness(image):
    """Per-pixel darkness in [0, 1] (1 = black) of an RGB(A) image."""
    return 1 - image[..., :3].mean(-1)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def history():
    return [{"epoch": e, "iterations": 10 * e, "wall_time": 1.0 * e, "rec": 1 / e, "d": 1.3, "g": 0.7,
             "d_real": 0.6, "d_fake": 0.4, "test_error": 0.5 / e if e != 2 else None} for e in (1, 2, 3)]


FIGURES = {
    "codes": lambda p, r: plot.plot_codes(p, r.standard_normal((300, 2)), r.integers(0, 10, 300),
                                          r.standard_normal((2000, 2)), title="codes"),
    "codes_8d_unlabelled": lambda p, r: plot.plot_codes(p, r.standard_normal((50, 8))),
    "codes_30_clusters": lambda p, r: plot.plot_codes(p, r.standard_normal((200, 2)), r.integers(0, 30, 200),
                                                      n_classes=30, lims=((-3, 3), (-3, 3))),
    "side_by_side": lambda p, r: plot.plot_side_by_side(
        p, [{"codes": r.standard_normal((100, 2)), "labels": r.integers(0, 10, 100)},
            {"codes": r.standard_normal((100, 2)), "prior_samples": r.standard_normal((500, 2))}], ["a", "b"]),
    "image_grid": lambda p, r: plot.plot_image_grid(p, r.random((20, 784)), 4, title="samples"),
    "reconstructions": lambda p, r: plot.plot_reconstructions(p, r.random((5, 784)), r.random((5, 784))),
    "manifold": lambda p, r: plot.plot_manifold(p, lambda z: np.tile(z[:, :1], (1, 784)) % 1,
                                                plot.gaussian_percentile_grid(5)),
    "curves": lambda p, r: plot.plot_curves(p, history(), title="run"),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_every_figure_function_writes_one_valid_png_and_no_temporary_file(tmp_path, rng, name):
    path = str(tmp_path / "out" / f"{name}.png")  # the folder does not exist yet
    assert FIGURES[name](path, rng) == path
    read_png(path)
    assert os.listdir(tmp_path / "out") == [f"{name}.png"]
    assert os.stat(path).st_mode & 0o777 == 0o644  # readable by others, unlike mkstemp's 0o600


def test_figures_leave_no_pyplot_figure_open(tmp_path, rng):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    FIGURES["codes"](str(tmp_path / "a.png"), rng)
    FIGURES["curves"](str(tmp_path / "b.png"), rng)
    assert plt.get_fignums() == before


def test_a_failed_drawing_leaves_the_previous_figure_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "grid.png"
    path.write_bytes(b"the previous figure")

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        plot.plot_image_grid(str(path), np.zeros((4, 784)), 2)
    assert path.read_bytes() == b"the previous figure"
    assert os.listdir(tmp_path) == ["grid.png"]


def test_an_image_grid_png_shows_image_0_in_the_top_left_cell(tmp_path):
    images = np.full((6, 784), 0.8)
    images[0] = 0  # one black image among light grey ones, 2 rows × 3 columns
    image = darkness(read_png(plot.plot_image_grid(str(tmp_path / "g.png"), images, 2)))
    rows, cols = np.nonzero(image > 0.1)  # the whole grid (the PNG has a white margin around it)
    top, left, h, w = rows.min(), cols.min(), rows.max() + 1 - rows.min(), cols.max() + 1 - cols.min()
    assert w / h == pytest.approx(3 / 2, rel=0.03)
    black_rows, black_cols = np.nonzero(image > 0.9)
    assert (black_rows.min(), black_cols.min()) == (top, left)
    assert black_rows.max() + 1 - top == pytest.approx(h / 2, abs=2)
    assert black_cols.max() + 1 - left == pytest.approx(w / 3, abs=2)


def test_a_code_plot_puts_the_points_where_the_codes_are(tmp_path):
    # every code in the upper-right quadrant of fixed limits: the points' colour lands there only
    codes = np.random.default_rng(1).uniform(0.3, 0.9, (400, 2))
    image = read_png(plot.plot_codes(str(tmp_path / "c.png"), codes, lims=((-1, 1), (-1, 1))))
    blue = (image[..., 2] > 0.6) & (image[..., 0] < 0.5)  # tab:blue points on a white background
    rows, cols = np.nonzero(blue)
    h, w = image.shape[:2]
    assert len(rows) > 100 and rows.max() < h / 2 and cols.min() > w / 2


# ---------------------------------------------------------------------------------------------------
# Tiling and the layouts built on it
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_images, n_rows", [(6, 2), (6, 3), (7, 2), (5, 1), (1, 1)])
def test_tile_images_places_image_i_at_block_i_div_cols_i_mod_cols(n_images, n_rows):
    h, w = 2, 3  # not square, so a swapped height and width cannot pass
    pixel = np.arange(h * w, dtype=float) / 100  # distinct pixels, so a transposed block cannot pass either
    images = np.arange(n_images, dtype=float)[:, None] + pixel[None]
    canvas = plot.tile_images(images, n_rows, image_shape=(h, w))
    n_cols = -(-n_images // n_rows)
    assert canvas.shape == (n_rows * h, n_cols * w)
    for i in range(n_rows * n_cols):
        r, c = divmod(i, n_cols)
        block = canvas[r * h : (r + 1) * h, c * w : (c + 1) * w]
        expected = images[i].reshape(h, w) if i < n_images else np.ones((h, w))  # left-over cells are white
        np.testing.assert_array_equal(block, expected)


def test_tile_images_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"tile_images: images must have shape \(N, 6\) for image_shape \(2, 3\), "
                                         r"got \(4, 5\)"):
        plot.tile_images(np.zeros((4, 5)), 2, image_shape=(2, 3))
    with pytest.raises(ValueError, match="n_rows must be a positive integer, got 0"):
        plot.tile_images(np.zeros((4, 784)), 0)


def captured_grid(monkeypatch):
    """Replace plot_image_grid by a recorder of the images and rows it is asked to draw."""
    calls = []
    monkeypatch.setattr(plot, "plot_image_grid", lambda path, images, n_rows, *a, **k: calls.append(
        (np.array(images), n_rows)) or path)
    return calls


def test_reconstructions_alternate_rows_of_inputs_and_their_reconstructions(tmp_path, monkeypatch):
    calls = captured_grid(monkeypatch)
    x = np.repeat(np.arange(12, dtype=float)[:, None], 784, 1) / 100  # input i is constant i/100
    x_hat = x + 0.5
    plot.plot_reconstructions(str(tmp_path / "r.png"), x, x_hat, n=12)
    ((images, n_rows),) = calls
    assert n_rows == 4 and images.shape == (40, 784)  # rows of 10: inputs 0-9, their recs, inputs 10-11, recs
    values = images[:, 0].reshape(4, 10)
    np.testing.assert_allclose(values[0], np.arange(10) / 100)
    np.testing.assert_allclose(values[1], np.arange(10) / 100 + 0.5)
    np.testing.assert_allclose(values[2, :2], [0.10, 0.11])
    np.testing.assert_allclose(values[3, :2], [0.60, 0.61])
    np.testing.assert_array_equal(values[2:, 2:], 1.0)  # padding is white


def test_manifold_decodes_the_grid_with_x_to_the_right_and_y_upward(tmp_path, monkeypatch):
    calls = captured_grid(monkeypatch)
    gx, gy = np.array([-1.0, 0.0, 1.0, 2.0]), np.array([10.0, 20.0, 30.0])
    decoded = []

    def decode(z):
        decoded.append(z.copy())
        return np.repeat(z[:, :1] + z[:, 1:2], 784, 1)  # image value x + y identifies its code

    plot.plot_manifold(str(tmp_path / "m.png"), decode, gx, gy)
    ((images, n_rows),) = calls
    (codes,) = decoded
    assert codes.shape == (12, 2) and n_rows == 3
    canvas = images[:, 0].reshape(3, 4)
    np.testing.assert_allclose(canvas, gx[None, :] + gy[::-1, None])  # top row: the largest y
    np.testing.assert_allclose(plot.manifold_codes(gx, gy), codes)


def test_manifold_rejects_a_decoder_of_the_wrong_shape(tmp_path):
    with pytest.raises(ValueError, match=r"decode mapped codes \(4, 2\) to \(4, 10\); expected \(4, 784\)"):
        plot.plot_manifold(str(tmp_path / "m.png"), lambda z: np.zeros((len(z), 10)), np.array([0.0, 1.0]))


# ---------------------------------------------------------------------------------------------------
# The percentile grid and the curve groups
# ---------------------------------------------------------------------------------------------------


def test_gaussian_percentile_grid_known_quantiles():
    np.testing.assert_allclose(plot.gaussian_percentile_grid(3, low=0.025, high=0.975), [-1.959964, 0, 1.959964],
                               atol=1e-6)
    np.testing.assert_allclose(plot.gaussian_percentile_grid(2, std=5, low=0.5, high=0.8413447), [0, 5], atol=1e-5)
    np.testing.assert_allclose(plot.gaussian_percentile_grid(1, low=0.975, high=0.975), [1.959964], atol=1e-6)


def test_gaussian_percentile_grid_has_equal_prior_mass_between_neighbours():
    from scipy import stats

    grid = plot.gaussian_percentile_grid(20, std=5.0)
    assert grid.shape == (20,) and np.all(np.diff(grid) > 0)
    np.testing.assert_allclose(grid, -grid[::-1], atol=1e-12)  # symmetric about 0
    np.testing.assert_allclose(np.diff(stats.norm.cdf(grid, scale=5.0)), 0.9 / 19, rtol=1e-9)


@pytest.mark.parametrize("kwargs", [dict(n=0), dict(std=0.0), dict(low=0.0), dict(high=1.0),
                                    dict(low=0.6, high=0.4)])
def test_gaussian_percentile_grid_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="gaussian_percentile_grid: need n >= 1"):
        plot.gaussian_percentile_grid(**kwargs)


def test_curve_groups_split_losses_confidences_and_metrics():
    groups = plot.curve_groups(["rec", "ce", "d", "g", "d_z", "d_real", "d_fake", "test_error", "mmd"])
    assert groups == {"reconstruction & classification": ["rec", "ce"], "adversarial losses": ["d", "g", "d_z"],
                      "mean D(real), D(fake)": ["d_real", "d_fake"], "metrics": ["test_error", "mmd"]}
    assert plot.curve_groups(["mmd"]) == {"metrics": ["mmd"]}  # empty groups are left out


def test_plot_curves_errors():
    with pytest.raises(ValueError, match="empty history"):
        plot.plot_curves("unused.png", [])
    with pytest.raises(ValueError, match=r"no numeric values for keys \['acc'\]; available: \['rec', 'd'\]"):
        plot.plot_curves("unused.png", [{"epoch": 1, "rec": 0.1, "d": 1.0}], keys=["rec", "acc"])
    with pytest.raises(ValueError, match="nothing to plot"):
        plot.plot_curves("unused.png", [{"epoch": 1, "wall_time": 3.0, "note": "x"}])


# ---------------------------------------------------------------------------------------------------
# Shape errors name the shapes
# ---------------------------------------------------------------------------------------------------


def test_code_plot_errors_name_the_shapes(tmp_path):
    path = str(tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"plot_codes: codes must have shape \(N, >=2\) with N >= 1, got \(5, 1\)"):
        plot.plot_codes(path, np.zeros((5, 1)))
    with pytest.raises(ValueError, match=r"labels of shape \(3,\) do not match codes of shape \(5, 2\); "
                                         r"expected \(5,\)"):
        plot.plot_codes(path, np.zeros((5, 2)), labels=np.zeros(3, int))
    with pytest.raises(ValueError, match=r"prior_samples must have shape \(N, >=2\) with N >= 1, got \(7,\)"):
        plot.plot_codes(path, np.zeros((5, 2)), prior_samples=np.zeros(7))
    with pytest.raises(ValueError, match=r"labels span \[0, 10\], outside \[0, 10\)"):
        plot.plot_codes(path, np.zeros((2, 2)), labels=np.array([0, 10]))
    with pytest.raises(ValueError, match=r"lims must be \(\(xmin, xmax\), \(ymin, ymax\)\), got shape \(4,\)"):
        plot.plot_codes(path, np.zeros((2, 2)), lims=(0, 1, 0, 1))
    assert not os.listdir(tmp_path)


def test_side_by_side_errors_name_the_panel(tmp_path):
    path = str(tmp_path / "x.png")
    with pytest.raises(ValueError, match="2 panels and 1 titles"):
        plot.plot_side_by_side(path, [{"codes": np.zeros((3, 2))}] * 2, ["a"])
    with pytest.raises(ValueError, match=r"panel 1 needs 'codes' and has unknown keys \['colour'\]"):
        plot.plot_side_by_side(path, [{"codes": np.zeros((3, 2))}, {"codes": np.zeros((3, 2)), "colour": 1}],
                               ["a", "b"])
    with pytest.raises(ValueError, match=r"plot_side_by_side \(panel 0\): codes must have shape \(N, >=2\)"):
        plot.plot_side_by_side(path, [{"codes": np.zeros((3, 1))}], ["a"])


def test_image_errors_name_the_shapes(tmp_path):
    path = str(tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"images must have shape \(N, 784\) for image_shape \(28, 28\), "
                                         r"got \(2, 10\)"):
        plot.plot_image_grid(path, np.zeros((2, 10)), 1)
    with pytest.raises(ValueError, match=r"inputs \(3, 784\) and reconstructions \(2, 784\) differ"):
        plot.plot_reconstructions(path, np.zeros((3, 784)), np.zeros((2, 784)))
    with pytest.raises(ValueError, match=r"grids must be non-empty 1-D arrays, got \(2, 2\) and \(2, 2\)"):
        plot.manifold_codes(np.zeros((2, 2)), np.zeros((2, 2)))
