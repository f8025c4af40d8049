"""`grade --scheduler` on a real Dask cluster on 127.0.0.1: a `dask scheduler` and three
`dask worker` processes started here (free ports) and stopped at the end, nothing left running.

Each worker runs in a working folder of its own and in a mount namespace of its own in which
the folder of the courses is an empty, inaccessible tmpfs: a worker cannot open any path of a
course (checked), so whatever it grades came through the task. Workers "a" and "b" have
bubblewrap; worker "weak" is made to have only the weak sandbox (AUTOGRADER_SANDBOX=weak)
and must be refused with the reason, its tasks going to the others.

The batch of tests/test_grade_cli.py (the reference, an Adam bug, the untouched release, an
infinite loop and a memory bomb, a notebook patching the checks, a file that is not a
notebook, a hostile student) is graded once on this machine's worker processes and once on
the cluster, with the same course secret: grades.csv, the gradebook's scores and the
feedback pages must be the same. Then a worker is killed while it grades: every submission
still has exactly one row. Last, an unreachable scheduler: a clear error and no course.
"""
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_grade_cli import (CELL_TIMEOUT, ROOT, lms_zip, notebooks, read_grades,  # noqa: E402
                            feedback)

from autograder.course import ASSIGNMENT  # noqa: E402
from autograder.examples import source_notebook, with_entry  # noqa: E402
from autograder.nbgrader_adapter import Course, autograded_outputs  # noqa: E402
from autograder.parts import TEST_CELLS  # noqa: E402

pytestmark = pytest.mark.slow

DASK = Path(sys.executable).parent / "dask"
OPTIONS = ["--cell-timeout", CELL_TIMEOUT, "--wall-time", 300]
STUDENTS = ("alice", "bob", "carol", "dave", "eve", "frank", "mallory")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, log, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{Path(log).read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"port {port} not open after {seconds} s:\n{Path(log).read_text()[-3000:]}")


class LocalDaskCluster:
    """A dask scheduler and workers, each a process of this test, on 127.0.0.1."""

    def __init__(self, folder, hidden):
        self.folder, self.hidden = folder, hidden
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.processes = {}
        log = folder / "scheduler.log"
        self.processes["scheduler"] = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"],
            stdout=open(log, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for_port(self.port, self.processes["scheduler"], log)

    def start_worker(self, name, **env):
        """A worker (no nanny: killing it kills it) in folder/worker-<name>, in a mount namespace
        where self.hidden is an empty tmpfs nobody may enter."""
        workdir = self.folder / f"worker-{name}"
        workdir.mkdir()
        script = ('mount -t tmpfs -o size=1m,mode=000 hidden "$1" && cd "$2" && exec "$3" worker "$4" '
                  '--name "$5" --nthreads 1 --no-nanny --no-dashboard --death-timeout 60 --local-directory "$2"')
        self.processes[name] = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             str(self.hidden), str(workdir), str(DASK), self.address, name],
            stdout=open(self.folder / f"worker-{name}.log", "w"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=dict(os.environ, TMPDIR=str(workdir), HOME=str(workdir), **env))

    def client(self):
        from distributed import Client
        return Client(self.address, timeout=30, set_as_default=False)

    def stop(self):
        """Stops every process started here and everything they started."""
        everything = []
        for process in self.processes.values():
            try:
                everything += [process.pid] + [child.pid for child in
                                               psutil.Process(process.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return [pid for pid in everything if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    """The folder of every course and input of this module (hidden from the workers)."""
    return tmp_path_factory.mktemp("courses")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, courses):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare: each worker runs in a mount namespace hiding the courses")
    cluster = LocalDaskCluster(tmp_path_factory.mktemp("dask"), courses)
    try:
        cluster.start_worker("a")
        cluster.start_worker("b")
        cluster.start_worker("weak", AUTOGRADER_SANDBOX="weak")
        with cluster.client() as client:
            client.wait_for_workers(3, timeout=120)
        yield cluster
    finally:
        left = cluster.stop()
        assert not left, f"processes left running: {left}"


def run_grade(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "autograder.grade", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=1800, env=dict(os.environ, **(env or {})))


@pytest.fixture(scope="module")
def both(courses, cluster):
    """The batch graded by local worker processes and by the cluster: (local course,
    cluster course, the cluster run's CompletedProcess, expected scores)."""
    local, remote = courses / "local", courses / "remote"
    data, expected = notebooks(remote)    # mallory's code names the cluster's course
    archive = lms_zip(courses / "downloads.zip", data)
    first = run_grade(archive, "--course", local, "--workers", 2, *OPTIONS, cwd=courses)
    print(first.stdout[-4000:], first.stderr[-2000:])
    assert first.returncode == 0
    (remote / ".grade").mkdir(parents=True)
    shutil.copy2(local / ".grade" / "secret", remote / ".grade" / "secret")   # the same hidden inputs
    second = run_grade(archive, "--course", remote, *OPTIONS, cwd=courses,
                       env={"DASK_SCHEDULER_ADDRESS": cluster.address})
    print(second.stdout[-4000:], second.stderr[-2000:])
    assert second.returncode == 0
    return local, remote, second, expected


def test_the_workers_cannot_see_the_courses(cluster, courses, both):
    local, remote, *_ = both
    with cluster.client() as client:
        seen = client.run(lambda folder, paths: [os.listdir(folder)] + [os.path.exists(p) for p in paths],
                          str(courses), [str(remote / "gradebook.db"), str(local / "gradebook.db")])
    assert len(seen) == 3 and all(found == [[], False, False] for found in seen.values()), seen
    assert (remote / "gradebook.db").exists() and (local / "gradebook.db").exists()


def test_the_weak_worker_is_refused_with_the_reason(both):
    *_, run, _ = both
    refused = [line for line in run.stdout.splitlines() if "REFUSED" in line]
    assert len(refused) == 1 and "bubblewrap is not usable" in refused[0] and "--allow-weak-sandbox" in refused[0]
    accepted = [line for line in run.stdout.splitlines() if line.strip().startswith("worker ") and "sandbox bwrap" in line]
    assert len(accepted) == 2, run.stdout[:3000]


def test_the_cluster_gives_the_expected_scores(both):
    _, remote, _, expected = both
    rows = read_grades(remote)
    assert sorted(rows) == sorted(STUDENTS)
    for student, scores in expected.items():
        assert {g: float(rows[student][g]) for g in TEST_CELLS} == scores, student
        assert rows[student]["sandbox"] == ("" if student == "frank" else "bwrap")   # frank: nothing ran


def test_the_cluster_and_the_local_pool_agree(both):
    local, remote, *_ = both
    assert (local / "grades.csv").read_text(encoding="utf-8") == (remote / "grades.csv").read_text(encoding="utf-8")
    assert Course(local).scores() == Course(remote).scores()
    assert len(Course(remote).scores()) == len(STUDENTS)
    for student in STUDENTS:
        assert feedback(local, student) == feedback(remote, student), student
        path = Course(remote).autograded_path(student)
        if student != "frank":   # not a notebook: no autograded notebook
            assert autograded_outputs(path) == autograded_outputs(Course(local).autograded_path(student))


def test_a_worker_killed_while_grading(courses, cluster, both):
    """Worker "a" is killed while it grades one of six submissions: the scheduler gives its
    work to "b"; grades.csv has each student once, with the expected scores."""
    import nbformat

    course = courses / "killed"
    inputs = courses / "killed-inputs"
    inputs.mkdir()
    correct = nbformat.writes(source_notebook()).encode()
    buggy = nbformat.writes(with_entry("adam_no_bias_correction")).encode()
    students = {f"s{i}": (correct if i % 2 else buggy) for i in range(6)}
    for student, data in students.items():
        (inputs / f"{student}_{ASSIGNMENT}.ipynb").write_bytes(data)
    grade = subprocess.Popen([sys.executable, "-m", "autograder.grade", str(inputs), "--course", str(course),
                              "--scheduler", cluster.address, *map(str, OPTIONS)], cwd=courses,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = cluster.processes["a"]
    with cluster.client() as client:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and grade.poll() is None:
            names = {address: info["name"] for address, info in client.scheduler_info()["workers"].items()}
            busy = [names.get(address) for address, keys in client.processing().items() if keys]
            if "a" in busy:
                time.sleep(2)   # in the middle of the task
                victim.kill()
                break
            time.sleep(0.2)
    out, err = grade.communicate(timeout=1800)
    print(out[-3000:], err[-3000:])
    assert victim.poll() is not None, "worker a never got a task"
    assert grade.returncode == 0
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        rows = [row["student"] for row in csv.DictReader(f)]
    assert sorted(rows) == sorted(students)          # none lost, none twice
    scores = Course(course).scores()
    for student, data in students.items():
        assert scores[student]["test_adam"] == (float(TEST_CELLS["test_adam"]) if data is correct else 0.0), student


def test_an_unreachable_scheduler_is_a_clear_error_before_anything_is_written(courses):
    course = courses / "never"
    inputs = courses / "never-inputs"
    inputs.mkdir()
    (inputs / f"zoe_{ASSIGNMENT}.ipynb").write_bytes((ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes())
    result = run_grade(inputs, "--course", course, "--scheduler", f"tcp://127.0.0.1:{free_port()}", cwd=courses)
    assert result.returncode == 2
    assert "unreachable" in result.stderr and "dask scheduler" in result.stderr, result.stderr
    assert not course.exists()
