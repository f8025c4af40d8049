"""The MNIST loader source/mlp_optimizers/utils.py on the real data: what it returns, where it
finds the files, its decoded cache, its errors, and its download (from local HTTP servers only).

Every test runs in an empty working directory with MNIST_DATA unset and MNIST_CACHE pointing
into its own tmp_path, so nothing reads or writes the user's ~/.cache. The repository's
data/mnist is only read (and its gitignored mnist-decoded.npz may be refreshed); every file
that a test changes is a copy under tmp_path.

The loader also searches data/mnist above its own file, which from the repository always finds
the repository's data. Tests that need that search to fail (or to reach a particular folder)
therefore import a copy of utils.py placed in a tmp folder, as in a student's or a grader's tree.
"""
import functools
import gzip
import hashlib
import http.server
import importlib.util
import itertools
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
UTILS_FILE = ROOT / "source" / "mlp_optimizers" / "utils.py"
REPO_DATA = ROOT / "data" / "mnist"

_module_ids = itertools.count()


def import_utils(file):
    """The module at file, imported under a name of its own (not registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location(f"mnist_loader_{next(_module_ids)}", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


utils = import_utils(UTILS_FILE)
MnistDataError = utils.MnistDataError
NAMES = tuple(utils.FILES.values())
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
FIX_WORDS = re.compile(r"fix|copy|download", re.IGNORECASE)


# --- helpers -----------------------------------------------------------------------

def copy_data(folder, names=NAMES):
    """Writable copies of the repository's .gz files in folder (created); returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(REPO_DATA / name, folder / name)
    return folder


def import_utils_copy(folder):
    """A copy of utils.py in folder (created), imported: its own search starts there."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(UTILS_FILE, folder / "utils.py")
    return import_utils(folder / "utils.py")


def gzipped(content, level=9):
    return gzip.compress(content, compresslevel=level, mtime=0)


def snapshot(folder):
    """{file name: bytes} of every file in folder."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def assert_same_mnist(got, expected):
    for a, b in zip((*got[0], *got[1]), (*expected[0], *expected[1])):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def assert_helpful_error(err, *names):
    """The message of a MnistDataError names each of names and says how to fix the problem."""
    message = str(err.value)
    for name in names:
        assert str(name) in message
    assert FIX_WORDS.search(message), message


def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# --- fixtures ----------------------------------------------------------------------

@pytest.fixture(autouse=True)
def controlled_environment(monkeypatch, tmp_path):
    """Empty working directory, no MNIST_DATA, a private MNIST_CACHE, no HTTP proxy.
    Afterwards tmp_path is emptied: its copies and decoded caches weigh ~60 MB a test."""
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setenv("MNIST_CACHE", str(tmp_path / "env-cache"))
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    yield
    monkeypatch.undo()  # leave tmp_path before removing it
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture(scope="session")
def repo_mnist(tmp_path_factory):
    """load_mnist() of the repository's data with default arguments."""
    return utils.load_mnist(path=REPO_DATA, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def contents():
    """{file name: decompressed IDX bytes} of the repository's data."""
    return {name: gzip.decompress((REPO_DATA / name).read_bytes()) for name in NAMES}


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of the four .gz files, in a folder of its own."""
    return copy_data(tmp_path / "mnist-copy")


@pytest.fixture
def load(tmp_path):
    """utils.load_mnist with a private cache_dir."""
    return functools.partial(utils.load_mnist, cache_dir=tmp_path / "cache")


@pytest.fixture
def student_utils(tmp_path):
    """A copy of utils.py in a tree without any data/mnist above it or above the cwd."""
    for folder in (tmp_path, *tmp_path.parents):
        assert not (folder / "data" / "mnist").exists(), f"{folder} holds data/mnist"
    return import_utils_copy(tmp_path / "student" / "mlp_optimizers")


class MirrorHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, counts the requests, and for the names in server.drop_midway
    announces the whole file but sends half of it and closes the connection."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        name = self.path.lstrip("/")
        if name not in self.server.drop_midway:
            return super().do_GET()
        data = Path(self.directory, name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:len(data) // 2])
        self.close_connection = True


class Mirror:
    def __init__(self, server):
        self.url = f"http://127.0.0.1:{server.server_address[1]}/"
        self.requests = server.requests


@pytest.fixture
def serve():
    """serve(folder, drop_midway=()) -> Mirror: an HTTP server on 127.0.0.1 for the test."""
    running = []

    def start(folder, drop_midway=()):
        handler = functools.partial(MirrorHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.requests = []
        server.drop_midway = set(drop_midway)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        running.append((server, thread))
        return Mirror(server)

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join()


# --- 1. shapes, dtypes and values --------------------------------------------------

def test_default_shapes_and_dtypes(repo_mnist):
    (x_train, y_train), (x_test, y_test) = repo_mnist
    assert x_train.shape == (60000, 784) and x_train.dtype == np.float32
    assert y_train.shape == (60000,) and y_train.dtype == np.int64
    assert x_test.shape == (10000, 784) and x_test.dtype == np.float32
    assert y_test.shape == (10000,) and y_test.dtype == np.int64


def test_flatten_false_gives_image_tensors(load, repo_mnist):
    (x_train, _), (x_test, _) = load(path=REPO_DATA, flatten=False)
    assert x_train.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    assert np.array_equal(x_train.reshape(60000, 784), repo_mnist[0][0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_hot_labels_are_rows_of_dtype_summing_to_one(load, repo_mnist, dtype):
    (_, y_train), (_, y_test) = load(path=REPO_DATA, one_hot_label=True, dtype=dtype)
    for one_hot, classes in ((y_train, repo_mnist[0][1]), (y_test, repo_mnist[1][1])):
        assert one_hot.shape == (len(classes), 10) and one_hot.dtype == dtype
        assert np.all(one_hot.sum(axis=1) == 1)
        assert np.array_equal(one_hot.argmax(axis=1), classes)


def test_dtype_float64_is_respected(load, repo_mnist):
    (x_train, y_train), (x_test, _) = load(path=REPO_DATA, dtype=np.float64)
    assert x_train.dtype == np.float64 and x_test.dtype == np.float64
    assert y_train.dtype == np.int64
    assert np.abs(x_test - repo_mnist[1][0]).max() < 1e-7


def test_normalized_pixels_span_exactly_0_to_1(repo_mnist):
    for x in (repo_mnist[0][0], repo_mnist[1][0]):
        assert x.min() == 0.0 and x.max() == 1.0


def test_unnormalized_pixels_are_integers_0_to_255(load):
    (x_train, _), (x_test, _) = load(path=REPO_DATA, normalize=False)
    for x in (x_train, x_test):
        assert x.dtype == np.float32
        assert x.min() == 0 and x.max() == 255
        assert np.array_equal(x, np.round(x))


# --- 2. content ---------------------------------------------------------------------

def test_first_labels_are_those_of_mnist(repo_mnist):
    (_, y_train), (_, y_test) = repo_mnist
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_label_counts_are_those_of_mnist(repo_mnist):
    (_, y_train), (_, y_test) = repo_mnist
    assert np.bincount(y_train, minlength=10).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test, minlength=10).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_train_pixel_mean_and_std_are_those_of_mnist(repo_mnist):
    x_train = repo_mnist[0][0]
    assert x_train.mean(dtype=np.float64) == pytest.approx(0.1307, abs=1e-3)
    assert x_train.std(dtype=np.float64) == pytest.approx(0.3081, abs=1e-3)


# --- 3. where the data is found -----------------------------------------------------

def test_finds_course_data_from_a_deep_subfolder(tmp_path, monkeypatch, repo_mnist):
    course = tmp_path / "course"
    data = copy_data(course / "data" / "mnist")
    notebook_folder = course / "autograded" / "alice" / "mlp_optimizers"
    graded_utils = import_utils_copy(notebook_folder)
    monkeypatch.chdir(notebook_folder)
    got = graded_utils.load_mnist(download=False, cache_dir=tmp_path / "cache")
    assert_same_mnist(got, repo_mnist)
    assert (data / utils.CACHE_NAME).exists()  # this very folder was read


def test_mnist_data_env_var_is_used(data_copy, load, monkeypatch, repo_mnist):
    monkeypatch.setenv("MNIST_DATA", str(data_copy))
    assert_same_mnist(load(download=False), repo_mnist)
    assert (data_copy / utils.CACHE_NAME).exists()


def test_explicit_path_is_used_before_mnist_data(data_copy, load, monkeypatch, tmp_path,
                                                 repo_mnist):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("MNIST_DATA", str(empty))
    assert_same_mnist(load(path=data_copy, download=False), repo_mnist)
    assert (data_copy / utils.CACHE_NAME).exists()


# --- 4. the decoded cache -----------------------------------------------------------

def test_first_load_writes_decoded_cache_next_to_the_data(data_copy, load):
    assert not (data_copy / utils.CACHE_NAME).exists()
    load(path=data_copy)
    assert (data_copy / utils.CACHE_NAME).exists()


def test_second_load_reads_the_cache_quickly(data_copy, load, repo_mnist):
    load(path=data_copy)
    start = time.perf_counter()
    got = load(path=data_copy)
    assert time.perf_counter() - start < 2.0
    assert_same_mnist(got, repo_mnist)


@pytest.mark.parametrize("how", ["cache path is a directory", "read-only folder"])
def test_cache_goes_to_cache_dir_when_data_folder_cannot_hold_it(data_copy, tmp_path, how,
                                                                 repo_mnist):
    cache_dir = tmp_path / "cache"
    if how == "cache path is a directory":
        (data_copy / utils.CACHE_NAME).mkdir()
    else:
        data_copy.chmod(0o555)
        probe = data_copy / "probe"
        try:
            probe.touch()
        except PermissionError:
            pass
        else:
            probe.unlink()
            data_copy.chmod(0o755)
            pytest.skip("chmod 0o555 does not stop this user (root) from writing")
    try:
        utils.load_mnist(path=data_copy, cache_dir=cache_dir)
        caches = list(cache_dir.glob(f"*-{utils.CACHE_NAME}"))
        assert len(caches) == 1
        assert not (data_copy / utils.CACHE_NAME).is_file()
        # the second load reads that cache: blank the content of a .gz file but keep its
        # size and mtime (the cache's fingerprint), so decoding it again would fail
        target = data_copy / TRAIN_LABELS
        stat = target.stat()
        target.write_bytes(bytes(stat.st_size))
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert_same_mnist(utils.load_mnist(path=data_copy, cache_dir=cache_dir), repo_mnist)
        assert [p.name for p in cache_dir.iterdir()] == [caches[0].name]
    finally:
        data_copy.chmod(0o755)


@pytest.mark.parametrize("change", ["truncated", "one byte flipped"])
def test_changed_gz_after_caching_raises_instead_of_stale_data(data_copy, load, change):
    load(path=data_copy)
    target = data_copy / TRAIN_LABELS
    data = bytearray(target.read_bytes())
    if change == "truncated":
        data = data[:len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(MnistDataError) as err:
        load(path=data_copy)
    assert_helpful_error(err, TRAIN_LABELS)
    assert target.read_bytes() == data


# --- 5. errors ----------------------------------------------------------------------

def _remove(folder, contents):
    (folder / TRAIN_LABELS).unlink()
    return TRAIN_LABELS


def _truncate_gz(folder, contents):
    data = (folder / TEST_IMAGES).read_bytes()
    (folder / TEST_IMAGES).write_bytes(data[:len(data) // 2])
    return TEST_IMAGES


def _garbage(folder, contents):
    (folder / TEST_LABELS).write_bytes(b"this is not gzip at all\n" * 200)
    return TEST_LABELS


def _wrong_content(folder, contents):
    content = bytearray(contents[TRAIN_LABELS])
    content[100] = (content[100] + 1) % 10  # one label changed: the layout stays valid
    (folder / TRAIN_LABELS).write_bytes(gzipped(bytes(content)))
    return TRAIN_LABELS


def _wrong_header(folder, contents):
    content = (2051).to_bytes(4, "big") + contents[TEST_LABELS][4:]  # an images magic number
    (folder / TEST_LABELS).write_bytes(gzipped(content))
    return TEST_LABELS


def _truncated_content(folder, contents):
    (folder / TEST_LABELS).write_bytes(gzipped(contents[TEST_LABELS][:-100]))
    return TEST_LABELS


@pytest.mark.parametrize("damage", [_remove, _truncate_gz, _garbage, _wrong_content,
                                    _wrong_header, _truncated_content],
                         ids=["missing file", "truncated gz", "garbage bytes",
                              "content mismatch", "wrong idx header", "truncated content"])
def test_damaged_data_raises_helpful_error_and_leaves_files_alone(data_copy, load, contents,
                                                                   damage):
    bad_file = damage(data_copy, contents)
    before = snapshot(data_copy)
    with pytest.raises(MnistDataError) as err:
        load(path=data_copy, download=False)
    assert_helpful_error(err, bad_file)
    assert snapshot(data_copy) == before


def test_missing_file_is_reported_when_found_by_search(tmp_path, monkeypatch):
    course = tmp_path / "course"
    data = copy_data(course / "data" / "mnist", [n for n in NAMES if n != TEST_IMAGES])
    graded_utils = import_utils_copy(course / "mlp_optimizers")
    monkeypatch.chdir(course / "mlp_optimizers")
    before = snapshot(data)
    with pytest.raises(graded_utils.MnistDataError) as err:
        graded_utils.load_mnist(cache_dir=tmp_path / "cache", mirrors=[closed_port_url()])
    assert_helpful_error(err, TEST_IMAGES, data)
    assert snapshot(data) == before


def test_explicit_path_without_files_names_the_four_files(tmp_path, load):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MnistDataError) as err:
        load(path=empty)
    assert_helpful_error(err, empty, *NAMES)
    assert list(empty.iterdir()) == []


def test_mnist_data_without_files_is_reported(tmp_path, load, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("MNIST_DATA", str(empty))
    with pytest.raises(MnistDataError) as err:
        load()
    assert_helpful_error(err, "MNIST_DATA", empty, *NAMES)


def test_nothing_found_without_download_lists_where_it_looked(student_utils, tmp_path):
    cache_dir = tmp_path / "cache"
    with pytest.raises(student_utils.MnistDataError) as err:
        student_utils.load_mnist(download=False, cache_dir=cache_dir)
    assert_helpful_error(err, Path.cwd(), Path(student_utils.__file__).resolve().parent,
                         cache_dir)
    assert not cache_dir.exists()


# --- 6. download (local HTTP servers only) -------------------------------------------

@pytest.fixture
def good_files(tmp_path):
    return copy_data(tmp_path / "served-good")


def test_download_fills_cache_dir_once_and_matches_repo_data(student_utils, serve, good_files,
                                                             tmp_path, repo_mnist):
    mirror = serve(good_files)
    cache_dir = tmp_path / "cache"
    got = student_utils.load_mnist(mirrors=[mirror.url], cache_dir=cache_dir)
    assert_same_mnist(got, repo_mnist)
    assert sorted(mirror.requests) == sorted(f"/{name}" for name in NAMES)
    for name in NAMES:
        assert (cache_dir / name).read_bytes() == (REPO_DATA / name).read_bytes()

    again = student_utils.load_mnist(mirrors=[mirror.url], cache_dir=cache_dir)
    assert_same_mnist(again, repo_mnist)
    assert len(mirror.requests) == len(NAMES)  # no new request


def _serve_truncated(serve, folder):
    data = (folder / TRAIN_LABELS).read_bytes()
    (folder / TRAIN_LABELS).write_bytes(data[:len(data) // 2])
    return serve(folder)


def _serve_dropping_connection(serve, folder):
    return serve(folder, drop_midway=[TRAIN_LABELS])


@pytest.mark.parametrize("bad_mirror", [_serve_truncated, _serve_dropping_connection],
                         ids=["truncated file", "connection dropped midway"])
def test_corrupt_first_mirror_falls_back_to_the_second(student_utils, serve, good_files,
                                                       tmp_path, repo_mnist, bad_mirror):
    bad = bad_mirror(serve, copy_data(tmp_path / "served-bad"))
    good = serve(good_files)
    cache_dir = tmp_path / "cache"
    got = student_utils.load_mnist(mirrors=[bad.url, good.url], cache_dir=cache_dir)
    assert_same_mnist(got, repo_mnist)
    assert f"/{TRAIN_LABELS}" in bad.requests and f"/{TRAIN_LABELS}" in good.requests
    assert sorted(snapshot(cache_dir)) == sorted([*NAMES, utils.CACHE_NAME])
    for name in NAMES:
        assert (cache_dir / name).read_bytes() == (REPO_DATA / name).read_bytes()


def test_all_mirrors_failing_lists_each_url_and_leaves_no_partial_file(student_utils, serve,
                                                                       tmp_path, good_files):
    empty = tmp_path / "served-nothing"
    empty.mkdir()
    missing = serve(empty)  # 404 for every file
    corrupt = _serve_truncated(serve, copy_data(tmp_path / "served-bad"))
    cache_dir = tmp_path / "cache"
    with pytest.raises(student_utils.MnistDataError) as err:
        student_utils.load_mnist(mirrors=[missing.url, corrupt.url], cache_dir=cache_dir)
    assert_helpful_error(err, missing.url + TRAIN_LABELS, corrupt.url + TRAIN_LABELS)
    # the file before it checked out and is kept; nothing of the failed one is left
    assert snapshot(cache_dir) == {TRAIN_IMAGES: (REPO_DATA / TRAIN_IMAGES).read_bytes()}

    # a later call with a good mirror downloads only what is still missing
    good = serve(good_files)
    student_utils.load_mnist(mirrors=[good.url], cache_dir=cache_dir)
    assert sorted(good.requests) == sorted(f"/{name}" for name in NAMES if name != TRAIN_IMAGES)


def test_unreachable_mirror_is_skipped(student_utils, serve, good_files, tmp_path, repo_mnist):
    good = serve(good_files)
    got = student_utils.load_mnist(mirrors=[closed_port_url(), good.url],
                                   cache_dir=tmp_path / "cache")
    assert_same_mnist(got, repo_mnist)
    assert len(good.requests) == len(NAMES)


def test_regzipped_copy_is_accepted_because_content_is_checked(student_utils, serve, contents,
                                                               tmp_path, repo_mnist):
    served = tmp_path / "served-regzipped"
    served.mkdir()
    for name in NAMES:
        (served / name).write_bytes(gzipped(contents[name], level=1))
        assert (served / name).read_bytes() != (REPO_DATA / name).read_bytes()
    mirror = serve(served)
    got = student_utils.load_mnist(mirrors=[mirror.url], cache_dir=tmp_path / "cache")
    assert_same_mnist(got, repo_mnist)
