"""mlp_optimizers 作业的辅助函数：读取 MNIST、限制 BLAS 线程数、数值梯度、画图。

load_mnist() 自己找到数据，校验每个文件，并在数据旁边保存一份解码后的副本（.npz 文件），
再次读取只要零点几秒。读取数据只用到 numpy 和标准库；画图的函数另外需要 matplotlib。

数据的查找顺序：
    1. 参数 path；没有给出时用环境变量 MNIST_DATA；
    2. 当前目录及其上级目录里的 data/mnist 文件夹，然后是本文件所在目录及其上级目录里的；
    3. 下载缓存（环境变量 MNIST_CACHE，默认 ~/.cache/mlp_optimizers/mnist）；
    4. 从公开的 MNIST 镜像下载到这个缓存。

学生包解压后的文件夹结构（load_mnist 会在作业文件夹的上级目录里找到 data/mnist）：

    mlp_optimizers_student/
        mlp_optimizers/      mlp_optimizers.ipynb、utils.py、public_tests.py、images/
        data/mnist/          train-images-idx3-ubyte.gz 等四个 .gz 文件
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
LAYOUT_HINT = ("解决办法：保持学生包 mlp_optimizers_student.zip 解压后的文件夹结构，即作业文件夹 "
               "mlp_optimizers/ 的旁边是 data/mnist/，里面是四个 .gz 文件；或者把环境变量 MNIST_DATA "
               "设为存放这四个文件的文件夹，例如 export MNIST_DATA=$HOME/mlp_optimizers_student/data/mnist"
               "（Windows 上用 set MNIST_DATA=C:\\mlp_optimizers_student\\data\\mnist），然后重启内核。")
FIX_HINT = ("解决办法：从学生包的 data/mnist 文件夹重新复制这个文件；如果它在下载缓存里，"
            "删除它后重新运行 load_mnist(download=True) 会下载一份新的。")


class MnistDataError(RuntimeError):
    """MNIST 文件缺失、不完整或已损坏；错误信息说明怎样解决。"""


def load_mnist(path=None, normalize=True, flatten=True, one_hot_label=False,
               dtype=np.float32, *, download=True, mirrors=MIRRORS, cache_dir=None):
    """读取 MNIST。

    path：存放四个 IDX .gz 文件的文件夹；None 时自己查找（见本模块开头的说明）。
        明确给出的 path（或 MNIST_DATA）按原样使用，不会往里面下载。
    normalize：把像素值缩放到 [0, 1]；否则保持 0～255。
    flatten：图片是形状为 (N, 784) 的行；否则是 (N, 1, 28, 28)。
    one_hot_label：标签是 (N, 10) 的 one-hot 行（类型为 dtype）；否则是 (N,) 的 int64 类别。
    dtype：图片（以及 one-hot 标签）的类型。
    download、mirrors、cache_dir：找不到数据时是否下载、从哪里下载、下载到哪里。

    返回 ((x_train, y_train), (x_test, y_test))，N 分别为 60000 和 10000。
    文件缺失、不完整或损坏时抛出 MnistDataError。
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
        _require_all(folder, "参数 path 指定的文件夹" if path is not None else "环境变量 MNIST_DATA 指向的文件夹")
        return folder
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    searched = []
    for start in starts:
        for parent in (start, *start.parents):
            candidate = parent / "data" / "mnist"
            searched.append(candidate)
            if candidate.is_dir() and _has_any(candidate):
                _require_all(candidate, "找到的数据文件夹")
                return candidate
    if all((cache_dir / name).exists() for name in FILES.values()):
        return cache_dir
    if not download:
        raise MnistDataError(
            f"没有找到 MNIST：{starts[0]}、{starts[1]} 及它们的上级目录里都没有 data/mnist 文件夹，"
            f"下载缓存 {cache_dir} 里也没有。" + LAYOUT_HINT + "也可以允许下载：load_mnist(download=True)。")
    _download_all(cache_dir, mirrors)
    return cache_dir


def _require_all(folder, what):
    missing = [name for name in FILES.values() if not (folder / name).exists()]
    if missing:
        raise MnistDataError(
            f"{what} {folder} 缺少 {'、'.join(missing)}；四个文件 {'、'.join(FILES.values())} "
            "都要在同一个文件夹里。" + LAYOUT_HINT
            + "不设置 MNIST_DATA 也找不到数据时，load_mnist(download=True) 会从镜像下载。")


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
        problem = "不完整（gzip 数据提前结束）"
    except (gzip.BadGzipFile, zlib.error, OSError) as err:
        problem = f"不是有效的 gzip 文件（{err}）"
    raise MnistDataError(f"{file} {problem}。{FIX_HINT}")


def _check_content(file, content):
    """Raises MnistDataError unless content is the IDX content that file must hold."""
    name = Path(file).name
    digest = hashlib.sha256(content).hexdigest()
    if digest != CONTENT_SHA256[name]:
        raise MnistDataError(
            f"{file} 已损坏：内容的 SHA256 是 {digest}，应为 {CONTENT_SHA256[name]}。{FIX_HINT}")


def _read_idx(file):
    """IDX .gz file -> uint8 array of its layout's shape, after all checks."""
    name = file.name
    content = _decompress(file, file.read_bytes())
    magic, shape = IDX_LAYOUT[name]
    header_size = 4 * (1 + len(shape))
    if len(content) < header_size or struct.unpack(">I", content[:4])[0] != magic:
        raise MnistDataError(f"{file} 不是 MNIST 的 IDX 文件（文件头不对）。{FIX_HINT}")
    if len(content) != header_size + int(np.prod(shape)):
        raise MnistDataError(
            f"{file} 不完整：数据有 {len(content) - header_size} 字节，应为 {int(np.prod(shape))} 字节。"
            f"{FIX_HINT}")
    _check_content(file, content)
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape)


# --- download ----------------------------------------------------------------------

def _download_all(cache_dir, mirrors, timeout=60):
    """Downloads each missing file into cache_dir, trying the mirrors in order.
    A file is kept only after its content checks out."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise MnistDataError(f"无法创建下载文件夹 {cache_dir}（{err}）。解决办法：把环境变量 MNIST_CACHE "
                             "设为一个可写的文件夹再运行 load_mnist(download=True)；" + LAYOUT_HINT) from None
    for name in FILES.values():
        target = cache_dir / name
        if target.exists():
            continue
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            print(f"正在下载 {url}")
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    data = response.read()
                _check_content(url, _decompress(url, data))
            except (urllib.error.URLError, OSError, http.client.HTTPException,
                    MnistDataError) as err:  # HTTPException: e.g. a connection dropped midway
                failures.append(f"{url}: {err}")
                continue
            if not _write_atomically(target, lambda f: f.write(data)):
                raise MnistDataError(f"无法写入 {target}。解决办法：把环境变量 MNIST_CACHE 设为一个可写的文件夹"
                                     "再运行 load_mnist(download=True)；" + LAYOUT_HINT)
            break
        else:
            raise MnistDataError(
                f"无法下载 {name}，每个镜像都失败了：\n  " + "\n  ".join(failures)
                + "\n检查网络后可以重新运行 load_mnist(download=True)。" + LAYOUT_HINT)


# --- BLAS threads ------------------------------------------------------------------

def limit_blas_threads(threads=1):
    """把 numpy 所用 BLAS 库（OpenBLAS、MKL）的线程数限制为 threads，返回一句说明。

    BLAS 默认每个核心一个线程，这些线程每做一次矩阵乘法都要互相等待；在几个人共用的机器上
    （例如 JupyterHub 的节点）别人占着核心时，它们就一起空等：本作业的训练在繁忙的 2 核机器上
    因此慢了 5～7 倍。单线程不受这种影响。threads=None 不做限制（保持 BLAS 的默认）。
    环境变量 MLP_BLAS_THREADS 优先于参数：MLP_BLAS_THREADS=default 不做限制，
    MLP_BLAS_THREADS=2 用两个线程。没有安装 threadpoolctl 时不做限制，只在说明里提一句。
    """
    setting = os.environ.get("MLP_BLAS_THREADS", "").strip().lower()
    if setting:
        threads = None if setting in ("default", "none", "0") else int(setting)
    if threads is None:
        return "BLAS 线程数保持默认。"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return "没有安装 threadpoolctl，BLAS 线程数保持默认（pip install threadpoolctl 之后可以限制它）。"
    threadpool_limits(limits=threads, user_api="blas")
    return f"BLAS 线程数限制为 {threads}（改用默认：limit_blas_threads(None)，或设置 MLP_BLAS_THREADS=default）。"


# --- gradient check ----------------------------------------------------------------

def numerical_gradient(f, params, h=1e-5):
    """f 对 params 中每个数组的数值梯度（中心差分），返回与 params 同键、同形状的 float64 字典。

    f：不带参数的函数，返回标量损失，例如 lambda: network.loss(x, y)。它读取的必须就是
        params 里的这些数组（ThreeLayerNet 的各层正是如此），因为这里原地修改它们。
    每个元素依次加上、减去 h，取 (f(+h) - f(-h)) / (2h)，然后恢复原值。
    请用 float64 的参数：float32 的舍入误差会淹没差分。
    """
    grads = {}
    for key, value in params.items():
        grad = np.zeros(value.shape, dtype=np.float64)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + h
            plus = float(f())
            value[index] = original - h
            minus = float(f())
            value[index] = original
            grad[index] = (plus - minus) / (2 * h)
        grads[key] = grad
    return grads


def rel_error(a, b):
    """a 与 b 的最大相对误差：max |a - b| / max(|a| + |b|, 1e-8)，逐元素计算。"""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


# --- plots -------------------------------------------------------------------------

# A fixed look for the seven optimizers of the assignment: Momentum and Nesterov end up
# almost on top of each other, so they differ in colour, line style and marker.
STYLES = {
    "SGD": dict(color="black", linestyle="-", marker="s"),
    "AdaGrad": dict(color="tab:brown", linestyle="-", marker="v"),
    "RMSprop": dict(color="tab:blue", linestyle="-", marker="^"),
    "Momentum": dict(color="tab:orange", linestyle="-", marker="o"),
    "Nesterov": dict(color="tab:purple", linestyle="--", marker="x"),
    "Adam": dict(color="tab:green", linestyle="-", marker="D"),
    "AdaBelief": dict(color="tab:red", linestyle="-.", marker="P"),
}
_OTHER_STYLES = [dict(color=c, linestyle=ls, marker=m) for c, ls, m in (
    ("tab:cyan", ":", "*"), ("tab:olive", "--", "h"), ("tab:pink", "-.", "X"),
    ("tab:gray", ":", "d"), ("darkblue", "--", "p"), ("darkred", ":", "<"))]


def _styles(names):
    """name -> line style: the fixed one of each known optimizer, then the others in turn."""
    others = iter(_OTHER_STYLES * (1 + len(names) // len(_OTHER_STYLES)))
    return {name: STYLES.get(name) or next(others) for name in names}


def plot_histories(histories, smooth=50, zoom=0.012, path=None):
    """Three panels comparing several training runs.

    Training loss: the loss of each iteration, as a moving average over `smooth`
        iterations, log scale.
    Test accuracy per epoch: every optimizer over the whole range.
    Test accuracy (zoom): the last part of training on a y range `zoom` wide below the best
        final accuracy, so that optimizers a few tenths of a percent apart are told apart;
        the last accuracy of each run is written at its end.

    histories: dict name -> history as returned by train_network (train_loss per
        iteration; eval_iter, test_acc per epoch).
    path: if given, the figure is also saved there. Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    styles = _styles(list(histories))
    fig, (ax_loss, ax_acc, ax_zoom) = plt.subplots(1, 3, figsize=(17, 4.8))
    for name, history in histories.items():
        style = styles[name]
        loss = np.asarray(history["train_loss"], dtype=np.float64)
        window = max(1, min(smooth, len(loss)))
        smoothed = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax_loss.plot(np.arange(window - 1, len(loss)), smoothed, label=name, linewidth=1.3,
                     markevery=max(1, len(smoothed) // 8), markersize=5, **style)
        for ax in (ax_acc, ax_zoom):
            ax.plot(history["eval_iter"], history["test_acc"], label=name, linewidth=1.3,
                    markersize=5, **style)
    ax_loss.set(xlabel="iteration", ylabel=f"training loss (mean of {smooth} iterations)",
                yscale="log", title="Training loss")
    ax_acc.set(xlabel="iteration", ylabel="test accuracy", title="Test accuracy per epoch")
    finals = {name: h["test_acc"][-1] for name, h in histories.items() if h["test_acc"]}
    if finals:
        low = min(min(h["test_acc"][1:] or h["test_acc"]) for h in histories.values())
        ax_acc.set_ylim(max(0.0, low - 0.02), 1.0)
        best = max(finals.values())
        last_iter = max(h["eval_iter"][-1] for h in histories.values() if h["eval_iter"])
        # room on the right for the labels "0.9783 name": the longest one decides
        longest = max(len(f"{value:.4f} {name}") for name, value in finals.items())
        ax_zoom.set_xlim(0.45 * last_iter, max(1.2, 1.05 + 0.012 * longest) * last_iter)
        ax_zoom.set_ylim(best - zoom, best + zoom / 6)
        label_y = best + zoom  # labels top-down, at least zoom/16 apart so that none overlap
        below = []  # runs that end under the zoomed range: named at the panel's bottom instead
        for name, value in sorted(finals.items(), key=lambda item: -item[1]):
            if value < best - zoom:
                below.append(f"{value:.4f} {name}")
            else:
                label_y = min(value, label_y - zoom / 16)
                ax_zoom.annotate(f"{value:.4f} {name}", (histories[name]["eval_iter"][-1], value),
                                 xytext=(histories[name]["eval_iter"][-1] + 0.01 * last_iter, label_y),
                                 textcoords="data", va="center", fontsize=8, color=styles[name]["color"])
        if below:
            ax_zoom.text(0.02, 0.03, "below this range: " + ", ".join(below), transform=ax_zoom.transAxes,
                         fontsize=8, va="bottom", ha="left",
                         bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})
    ax_zoom.set(xlabel="iteration", ylabel="test accuracy",
                title=f"Test accuracy (zoom: {100 * zoom:.1f} points below the best)")
    for ax in (ax_loss, ax_acc, ax_zoom):
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=8, loc="lower right")
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
    """Horizontal bars of the final test accuracy of each optimizer, best on top, on an axis
    that starts just below the worst one so that tenths of a percent show.
    accuracies: dict name -> float."""
    import matplotlib.pyplot as plt

    ranked = sorted(accuracies.items(), key=lambda item: item[1])
    names, values = [n for n, _ in ranked], [v for _, v in ranked]
    styles = _styles(list(accuracies))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.2))
    bars = ax.barh(names, values, color=[styles[n]["color"] for n in names], height=0.6)
    for bar, value in zip(bars, values):
        ax.text(value, bar.get_y() + bar.get_height() / 2, f" {value:.4f}", va="center", fontsize=9)
    low = min(values) if values else 0.0
    ax.set(xlabel="test accuracy", title="Final test accuracy (after the last iteration)",
           xlim=(max(0.0, low - 0.01), 1.0))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_optimizer_paths(optimizers, start=(-7.0, 2.0), steps=30):
    """Path of each optimizer minimising f(x, y) = x**2 / 20 + y**2 from start.

    optimizers: dict name -> optimizer object with update(params, grads); it is
        given params {"x": (1,) array, "y": (1,) array} and updates them in place.
    A subplot per optimizer over the contour lines of f, titled with the point reached
    after `steps` updates; an optimizer that raises gets a subplot that names the error.
    """
    import matplotlib.pyplot as plt

    xs, ys = np.meshgrid(np.linspace(-10, 10, 200), np.linspace(-5, 5, 100))
    f = xs ** 2 / 20 + ys ** 2
    columns = min(4, len(optimizers))
    rows = -(-len(optimizers) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.2 * rows), squeeze=False)
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
            x, y = path[-1]
            ax.set_title(f"{name}: ({x:.2f}, {y:.2f}) after {steps} steps", fontsize=10)
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
