"""Helpers of the mlp_optimizers assignment: the MNIST loader.

load_mnist() finds the data by itself, checks every file, and keeps a decoded copy
(an .npz file) so that loading again takes a fraction of a second. Only numpy and
the standard library are used.

Where the data is looked for, in order:
    1. the `path` argument, or else the MNIST_DATA environment variable;
    2. a folder `data/mnist` in the working directory or one of its parents,
       then in this file's folder or one of its parents;
    3. the download cache (MNIST_CACHE, default ~/.cache/mlp_optimizers/mnist);
    4. a download from the public MNIST mirrors into that cache.
"""
import gzip
import hashlib
import http.client
import os
import struct
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

FILES = {
    "train_img": "train-images-idx3-ubyte.gz",
    "train_label": "train-labels-idx1-ubyte.gz",
    "test_img": "t10k-images-idx3-ubyte.gz",
    "test_label": "t10k-labels-idx1-ubyte.gz",
}

# SHA256 of the decompressed IDX content of each file: the same for every faithful
# copy of MNIST, whatever gzip settings the mirror used.
CONTENT_SHA256 = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# (magic number, shape after the header) of each file
IDX_LAYOUT = {
    "train-images-idx3-ubyte.gz": (2051, (60000, 28, 28)),
    "train-labels-idx1-ubyte.gz": (2049, (60000,)),
    "t10k-images-idx3-ubyte.gz": (2051, (10000, 28, 28)),
    "t10k-labels-idx1-ubyte.gz": (2049, (10000,)),
}

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

CACHE_NAME = "mnist-decoded.npz"
FIX_HINT = ("Copy the four .gz files again from the course repository's data/mnist folder, "
            "or delete the bad file and run load_mnist() again to download a fresh copy.")


class MnistDataError(RuntimeError):
    """The MNIST files are missing, truncated or corrupt; the message says how to fix it."""


def load_mnist(path=None, normalize=True, flatten=True, one_hot_label=False,
               dtype=np.float32, *, download=True, mirrors=MIRRORS, cache_dir=None):
    """Load MNIST.

    path: folder holding the four IDX .gz files; None searches for it (see the module
        docstring). An explicit path (or MNIST_DATA) is used as is, never downloaded into.
    normalize: scale pixels to [0, 1]; otherwise they keep their values 0..255.
    flatten: images as (N, 784) rows; otherwise (N, 1, 28, 28).
    one_hot_label: labels as (N, 10) one-hot rows of dtype; otherwise (N,) int64 classes.
    dtype: dtype of the images (and of one-hot labels).
    download, mirrors, cache_dir: where a missing copy may be downloaded from and to.

    Returns ((x_train, y_train), (x_test, y_test)) with N = 60000 and 10000.
    Raises MnistDataError when a file is missing, truncated or corrupt.
    """
    folder = _find_data(path, download, mirrors, _cache_dir(cache_dir))
    raw = _decoded(folder, _cache_dir(cache_dir))

    def images(key):
        x = raw[key].astype(dtype)
        if normalize:
            x /= 255
        return x.reshape(-1, 784) if flatten else x.reshape(-1, 1, 28, 28)

    def labels(key):
        y = raw[key].astype(np.int64)
        return np.eye(10, dtype=dtype)[y] if one_hot_label else y

    return (images("train_img"), labels("train_label")), (images("test_img"), labels("test_label"))


# --- where the data is -------------------------------------------------------------

def _cache_dir(cache_dir):
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("MNIST_CACHE", Path.home() / ".cache" / "mlp_optimizers" / "mnist"))


def _has_any(folder):
    return any((folder / name).exists() for name in FILES.values())


def _find_data(path, download, mirrors, cache_dir):
    """Returns the folder to read. Raises MnistDataError when none can be had."""
    explicit = path if path is not None else os.environ.get("MNIST_DATA")
    if explicit is not None:
        folder = Path(explicit).expanduser()
        _require_all(folder, "the folder you named" if path is not None else "MNIST_DATA")
        return folder
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    searched = []
    for start in starts:
        for parent in (start, *start.parents):
            candidate = parent / "data" / "mnist"
            searched.append(candidate)
            if candidate.is_dir() and _has_any(candidate):
                _require_all(candidate, "the course data folder")
                return candidate
    if all((cache_dir / name).exists() for name in FILES.values()):
        return cache_dir
    if not download:
        raise MnistDataError(
            "MNIST not found. Looked for a folder data/mnist in and above "
            f"{starts[0]} and {starts[1]}, and in the cache {cache_dir}. "
            "Fix: copy data/mnist from the course repository next to the notebook's folder, "
            "set MNIST_DATA to the folder holding the four .gz files, or allow the download.")
    _download_all(cache_dir, mirrors)
    return cache_dir


def _require_all(folder, what):
    missing = [name for name in FILES.values() if not (folder / name).exists()]
    if missing:
        raise MnistDataError(
            f"{what} {folder} lacks {', '.join(missing)}. "
            f"Fix: put all four MNIST files there ({', '.join(FILES.values())}), "
            "copied from the course repository's data/mnist.")


# --- reading and checking ----------------------------------------------------------

def _fingerprint(folder):
    """Sizes and modification times of the four files: a changed file invalidates the cache."""
    parts = []
    for name in FILES.values():
        stat = (folder / name).stat()
        parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return ";".join(parts)


def _decoded(folder, cache_dir):
    """The four decoded uint8 arrays of folder, from its cache when that is current."""
    fingerprint = _fingerprint(folder)
    cache_files = [folder / CACHE_NAME,
                   cache_dir / f"{hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]}-{CACHE_NAME}"]
    for cache in cache_files:
        try:
            with np.load(cache) as cached:
                if str(cached["fingerprint"]) == fingerprint:
                    return {key: cached[key] for key in FILES}
        except (OSError, KeyError, ValueError, zlib.error, EOFError):
            pass  # no cache yet, or an unreadable one: decode again
    raw = {key: _read_idx(folder / name) for key, name in FILES.items()}
    for cache in cache_files:
        if _write_atomically(cache, lambda f: np.savez(f, fingerprint=fingerprint, **raw)):
            break
    return raw


def _write_atomically(target, write):
    """Writes through a temporary file then renames it; returns False if the folder is read-only."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, target)
        return True
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # a read-only file system refuses even that
            pass
        return False


def _decompress(file, data):
    """gzip bytes -> content bytes; MnistDataError naming file when they are not valid gzip."""
    try:
        return gzip.decompress(data)
    except EOFError:
        problem = "is truncated (the gzip stream ends early)"
    except (gzip.BadGzipFile, zlib.error, OSError) as err:
        problem = f"is not a valid gzip file ({err})"
    raise MnistDataError(f"{file} {problem}. {FIX_HINT}")


def _check_content(file, content):
    """Raises MnistDataError unless content is the IDX content that file must hold."""
    name = Path(file).name
    digest = hashlib.sha256(content).hexdigest()
    if digest != CONTENT_SHA256[name]:
        raise MnistDataError(
            f"{file} is corrupt: the SHA256 of its content is {digest}, "
            f"expected {CONTENT_SHA256[name]}. {FIX_HINT}")


def _read_idx(file):
    """IDX .gz file -> uint8 array of its layout's shape, after all checks."""
    name = file.name
    content = _decompress(file, file.read_bytes())
    magic, shape = IDX_LAYOUT[name]
    header_size = 4 * (1 + len(shape))
    if len(content) < header_size or struct.unpack(">I", content[:4])[0] != magic:
        raise MnistDataError(f"{file} is not an MNIST IDX file (wrong header). {FIX_HINT}")
    if len(content) != header_size + int(np.prod(shape)):
        raise MnistDataError(
            f"{file} is truncated: {len(content) - header_size} bytes of data, "
            f"expected {int(np.prod(shape))}. {FIX_HINT}")
    _check_content(file, content)
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape)


# --- download ----------------------------------------------------------------------

def _download_all(cache_dir, mirrors, timeout=60):
    """Downloads each missing file into cache_dir, trying the mirrors in order.
    A file is kept only after its content checks out."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise MnistDataError(f"Cannot create the download folder {cache_dir} ({err}). "
                             "Fix: set MNIST_CACHE to a writable folder.") from None
    for name in FILES.values():
        target = cache_dir / name
        if target.exists():
            continue
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            print(f"Downloading {url}")
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    data = response.read()
                _check_content(url, _decompress(url, data))
            except (urllib.error.URLError, OSError, http.client.HTTPException,
                    MnistDataError) as err:  # HTTPException: e.g. a connection dropped midway
                failures.append(f"{url}: {err}")
                continue
            if not _write_atomically(target, lambda f: f.write(data)):
                raise MnistDataError(f"Cannot write {target}. Fix: set MNIST_CACHE to a writable folder.")
            break
        else:
            raise MnistDataError(
                f"Could not download {name}; every mirror failed:\n  " + "\n  ".join(failures)
                + "\nFix: copy data/mnist from the course repository and set MNIST_DATA to it.")


# --- plots -------------------------------------------------------------------------

def plot_histories(histories, smooth=50, path=None):
    """Training loss and test accuracy of several runs on shared axes.

    histories: dict name -> history as returned by train_network (train_loss per
        iteration; eval_iter, test_acc per epoch).
    smooth: the loss curve is a moving average over this many iterations.
    path: if given, the figure is also saved there. Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, history in histories.items():
        loss = np.asarray(history["train_loss"], dtype=np.float64)
        window = max(1, min(smooth, len(loss)))
        smoothed = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax_loss.plot(np.arange(window - 1, len(loss)), smoothed, label=name, linewidth=1.2)
        ax_acc.plot(history["eval_iter"], history["test_acc"], marker="o", markersize=3,
                    label=name, linewidth=1.2)
    ax_loss.set(xlabel="iteration", ylabel=f"training loss (mean of {smooth})", yscale="log",
                title="Training loss")
    ax_acc.set(xlabel="iteration", ylabel="test accuracy", title="Test accuracy per epoch")
    ax_acc.set_ylim(max(0.0, min(min(h["test_acc"][1:] or h["test_acc"]) for h in histories.values()) - 0.02), 1.0)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _labels(y):
    """(N, C) one-hot or (N,) indices -> (N,) indices."""
    y = np.asarray(y)
    return y.argmax(axis=1) if y.ndim == 2 else y


def show_digits(images, labels, columns=8):
    """A grid of digits with their labels. images: (N, 784) or (N, 1, 28, 28); labels: one-hot or indices."""
    import matplotlib.pyplot as plt

    labels = _labels(labels)
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, label in zip(axes.flat, images, labels):
        ax.imshow(np.reshape(image, (28, 28)), cmap="Greys")
        ax.set_title(f"label {label}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_final_accuracy(accuracies):
    """Bar chart of the final test accuracy of each optimizer. accuracies: dict name -> float."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    names, values = list(accuracies), list(accuracies.values())
    bars = ax.bar(names, values, color="tab:blue")
    for bar, value in zip(bars, values):
        ax.text(bar.get_x() + bar.get_width() / 2, value, f"{value:.4f}", ha="center", va="bottom", fontsize=8)
    low = min(values) if values else 0.0
    ax.set(ylabel="test accuracy", title="Final test accuracy", ylim=(max(0.0, low - 0.05), 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_optimizer_paths(optimizers, start=(-7.0, 2.0), steps=30):
    """Path of each optimizer minimising f(x, y) = x**2 / 20 + y**2 from start.

    optimizers: dict name -> optimizer object with update(params, grads); it is
        given params {"x": (1,) array, "y": (1,) array} and updates them in place.
    A subplot per optimizer over the contour lines of f; an optimizer that raises
    gets an empty subplot that names the error.
    """
    import matplotlib.pyplot as plt

    xs, ys = np.meshgrid(np.linspace(-10, 10, 200), np.linspace(-5, 5, 100))
    f = xs ** 2 / 20 + ys ** 2
    columns = min(4, len(optimizers))
    rows = -(-len(optimizers) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    for ax in axes.flat[len(optimizers):]:
        ax.axis("off")
    for ax, (name, optimizer) in zip(axes.flat, optimizers.items()):
        ax.contour(xs, ys, f, levels=np.logspace(-1.5, 1.8, 12), colors="0.75", linewidths=0.7)
        ax.plot(0, 0, "+", color="black")
        params = {"x": np.array([start[0]]), "y": np.array([start[1]])}
        path = [start]
        try:
            for _ in range(steps):
                grads = {"x": params["x"] / 10.0, "y": 2.0 * params["y"]}
                optimizer.update(params, grads)
                path.append((float(params["x"][0]), float(params["y"][0])))
        except Exception as err:  # show the others even if one optimizer is unfinished
            ax.set_title(f"{name}: {type(err).__name__}", fontsize=10, color="tab:red")
        else:
            ax.set_title(name, fontsize=10)
        path = np.array(path)
        ax.plot(path[:, 0], path[:, 1], "o-", color="tab:red", markersize=3, linewidth=1)
        ax.set(xlim=(-10, 10), ylim=(-5, 5))
    fig.tight_layout()
    return fig


def plot_misclassified(scores, images, labels, count=24, columns=8):
    """The first `count` test digits whose highest score is not the label.

    scores: (N, 10) network outputs; images: (N, 784); labels: one-hot or indices.
    Each title reads "label -> predicted".
    """
    import matplotlib.pyplot as plt

    labels = _labels(labels)
    predicted = np.argmax(scores, axis=1)
    wrong = np.flatnonzero(predicted != labels)[:count]
    rows = max(1, -(-len(wrong) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(np.reshape(images[i], (28, 28)), cmap="Greys")
        ax.set_title(f"{labels[i]} -> {predicted[i]}", fontsize=9, color="tab:red")
    fig.suptitle(f"{np.count_nonzero(predicted != labels)} of {len(labels)} test digits misclassified "
                 f"(label -> predicted)", fontsize=10)
    fig.tight_layout()
    return fig
