"""The sandbox's memory budget, nested namespaces and failed starts, with real sandboxes
and real student code.

* Memory is a budget for the whole sandbox: children that together exceed it (each one
  under the per-process limit) get the sandbox stopped, for "memory", as read from its
  cgroup; without a cgroup the budget is split between few processes. The cgroup is gone
  once the sandbox is closed, and one left by a killed grader is removed by the next.
* The student's code cannot make user or network namespaces.
* A sandbox that fails to start costs one retry, never the later sandboxes of the process.
"""
import csv
import html
import logging
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.course import ASSIGNMENT, ROOT
from autograder.examples import source_notebook
from autograder.parts import TEST_CELLS
from autograder.sandbox import bwrap
from autograder.sandbox.errors import SandboxMemory
from autograder.sandbox.proxy import Sandbox, SandboxError
from autograder.verify import verify_notebook
from test_verify import FULL, write

pytestmark = pytest.mark.slow

# hog(megabytes, children): forks the children, each allocating and touching that much
# memory; returns each child's exit status (0: it held the memory; 3: MemoryError), or
# "no fork" where the fork failed. Only the standard library: a cell before any import.
HOG = '''
import os, time
def hog(megabytes, children):
    pids, statuses = [], []
    for _ in range(children):
        try:
            pid = os.fork()
        except OSError:
            statuses.append("no fork")
            continue
        if pid == 0:
            code = 0
            try:
                block = bytearray(b"\\x01") * (megabytes * 1024 * 1024)
                time.sleep(1)
            except MemoryError:
                code = 3
            os._exit(code)
        pids.append(pid)
    return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids] + statuses
'''


def oom_kills(cgroup):
    """The kernel's count of OOM kills in a memory cgroup folder (v1 or v2)."""
    for name in ("memory.events", "memory.oom_control"):
        if (cgroup / name).exists():
            for line in (cgroup / name).read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    raise AssertionError(f"no oom_kill counter in {cgroup}")


def hogging(megabytes, children):
    """The source notebook with a first cell that runs hog(megabytes, children)."""
    notebook = source_notebook()
    notebook.cells.insert(0, nbformat.v4.new_code_cell(HOG + f"hogged = hog({megabytes}, {children})\n"))
    return notebook


@pytest.fixture(scope="module")
def cgroup_memory():
    """How this machine's sandboxes enforce memory; skips where no memory cgroup can be made."""
    with Sandbox(mode="bwrap", memory_mb=600) as sandbox:
        memory = sandbox.memory
    if not memory.startswith("cgroup"):
        pytest.skip("no writable memory cgroup on this machine: the budget is enforced per process")
    return memory


# --------------------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------------------

def test_children_together_over_the_budget_stop_the_sandbox_for_memory(cgroup_memory):
    with Sandbox(mode="bwrap", memory_mb=600) as sandbox:
        assert sandbox.description == f"bwrap; memory: {cgroup_memory}"
        cgroup = sandbox.limits.cgroup.path
        assert str(sandbox.proc.pid) in (cgroup / "cgroup.procs").read_text().split()
        assert sandbox.run_cell(HOG, 30) == (None, False)
        remote = sandbox.remote()
        hog = remote.lookup("hog")
        assert remote.fetch(remote.call(hog, 360, 1)) == [0]  # one process alone: under both limits
        assert oom_kills(cgroup) == 0
        with pytest.raises(SandboxMemory, match="内存超过了限制 600 MB"):
            remote.call(hog, 360, 3)  # each under the per-process limit, together over the budget
        assert oom_kills(cgroup) > 0
        assert sandbox.proc.poll() is not None  # stopped, although the server itself survived
    assert not cgroup.exists()


def test_without_a_cgroup_the_budget_is_split_between_few_processes():
    with Sandbox(mode="bwrap", memory_mb=600, memory_cgroup=False) as sandbox:
        assert sandbox.memory == "per-process" and sandbox.limits.cgroup is None
        assert sandbox.run_cell(HOG + "import resource\nlimits = [resource.getrlimit(resource.RLIMIT_AS)[0], "
                                "resource.getrlimit(resource.RLIMIT_NPROC)[0]]", 30) == (None, False)
        remote = sandbox.remote()
        address_space, tasks = remote.fetch(remote.lookup("limits"))
        assert tasks * address_space <= 600 * 1024 * 1024 and tasks <= 3
        statuses = remote.fetch(remote.call(remote.lookup("hog"), 360, 3))
        assert statuses.count("no fork") >= 1 and 0 not in statuses  # no child held 360 MB
        assert sandbox.run_cell("y = 1", 30) == (None, False)


def test_verify_reports_memory_for_children_over_the_budget(tmp_path, cgroup_memory):
    over = verify_notebook(write(tmp_path, "hog_over", hogging(600, 3)), memory_mb=1000)
    assert [(limit.kind, limit.where) for limit in over.limits] == [("memory", "cell:1")]
    assert "1000 MB" in over.reason and over.scores == {g: 0.0 for g in TEST_CELLS}
    under = verify_notebook(write(tmp_path, "hog_under", hogging(600, 1)), memory_mb=1000)
    assert under.limits == [] and under.reason == "" and under.scores == FULL


def test_the_cgroup_of_a_killed_grader_is_removed_by_the_next_sandbox(cgroup_memory):
    grader = subprocess.Popen([sys.executable, "-c", """
import time
from autograder.sandbox.proxy import Sandbox
sandbox = Sandbox(mode="bwrap", memory_mb=600)
print(sandbox.limits.cgroup.path, flush=True)
time.sleep(600)
"""], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        cgroup = Path(grader.stdout.readline().strip())
        assert (cgroup / "cgroup.procs").read_text().split()
    finally:
        grader.kill()
        grader.wait()
        grader.stdout.close()
    for _ in range(100):  # the sandbox dies with its grader
        if not (cgroup / "cgroup.procs").read_text().split():
            break
        time.sleep(0.05)
    assert cgroup.exists() and not (cgroup / "cgroup.procs").read_text().split()  # left behind, empty
    with Sandbox(mode="bwrap", memory_mb=600) as sandbox:
        assert sandbox.limits.cgroup.path.parent == cgroup.parent
        assert not cgroup.exists()


def test_grade_reports_memory_and_grades_the_next_submission(tmp_path, cgroup_memory):
    archive = tmp_path / "downloads.zip"
    honest = source_notebook()
    honest.cells = [c for c in honest.cells if c.cell_type != "code" or c.metadata.get("nbgrader")
                    or not c.source.lstrip().startswith(("run(", "plot_", "path_optimizers", "best ="))]
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"hog_1_{ASSIGNMENT}.ipynb", nbformat.writes(hogging(600, 3)))
        # zoe's last cell tries to make namespaces and shows what it got on her feedback page
        honest.cells.append(nbformat.v4.new_code_cell(UNSHARE + "raise RuntimeError(f'NAMESPACES {unshared}')"))
        z.writestr(f"zoe_2_{ASSIGNMENT}.ipynb", nbformat.writes(honest))
    course = tmp_path / "course"
    result = subprocess.run([sys.executable, "-m", "autograder.grade", str(archive), "--course", str(course),
                             "--workers", "1", "--memory-mb", "1000"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"memory: {cgroup_memory}" in result.stdout
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        grades = {row["student"]: row for row in csv.DictReader(f)}
    assert grades["hog"]["limits"].split() == ["memory@cell:1"] and float(grades["hog"]["total"]) == 0
    assert "1000 MB" in grades["hog"]["reasons"]
    assert float(grades["zoe"]["total"]) == 100 and grades["zoe"]["limits"] == ""
    page = html.unescape((course / "feedback" / "zoe" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8"))
    shown = page[page.index("NAMESPACES {'"):][:200]     # the error, not the cell's source
    assert "'user'" in shown and "'net'" in shown and "made" not in shown, shown


# --------------------------------------------------------------------------------------
# Nested namespaces
# --------------------------------------------------------------------------------------

UNSHARE = '''
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
unshared = {}
for _name, _flag in (("user", 0x10000000), ("net", 0x40000000), ("user+net", 0x50000000)):
    unshared[_name] = "made" if _libc.unshare(_flag) == 0 else ctypes.get_errno()
'''


def test_the_student_code_cannot_make_user_or_network_namespaces():
    with Sandbox(mode="bwrap") as sandbox:
        assert sandbox.run_cell(UNSHARE, 30) == (None, False)
        remote = sandbox.remote()
        unshared = remote.fetch(remote.lookup("unshared"))
    assert "made" not in unshared.values(), unshared


def _readable_by_others(path):
    path = Path(path).resolve()
    return all(os.stat(folder).st_mode & stat.S_IXOTH for folder in path.parents) and \
        os.stat(path).st_mode & stat.S_IROTH


@pytest.mark.skipif(os.geteuid() != 0 or not _readable_by_others(sys.executable)
                    or not _readable_by_others(ROOT / "autograder" / "__init__.py"),
                    reason="needs root, and an interpreter and a checkout that uid 65534 can read")
def test_nor_when_bwrap_makes_the_user_namespace():
    """A grader that is not root: bwrap makes the user namespace itself."""
    probe = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", f"""
from autograder.sandbox.proxy import Sandbox
with Sandbox(mode="bwrap") as sandbox:
    assert sandbox.run_cell({UNSHARE!r}, 30) == (None, False)
    remote = sandbox.remote()
    print(remote.fetch(remote.lookup("unshared")))
"""], cwd=ROOT, capture_output=True, text=True, timeout=120, env=dict(os.environ, HOME="/tmp"))
    assert probe.returncode == 0, probe.stderr
    assert "made" not in probe.stdout and "user" in probe.stdout


# --------------------------------------------------------------------------------------
# Failed starts
# --------------------------------------------------------------------------------------

def failing_once(monkeypatch):
    """bwrap.command whose first command line bwrap refuses; returns the list of calls."""
    calls = []
    command = bwrap.command

    def patched(*args, **kwargs):
        calls.append(1)
        cmd = command(*args, **kwargs)
        return cmd[:1] + ["--no-such-option"] + cmd[1:] if len(calls) == 1 else cmd
    monkeypatch.setattr(bwrap, "command", patched)
    return calls


def test_a_start_that_fails_once_is_retried(monkeypatch, caplog):
    monkeypatch.delenv("AUTOGRADER_SANDBOX", raising=False)
    calls = failing_once(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="autograder.sandbox.proxy"):
        with Sandbox() as sandbox:
            assert sandbox.kind == "bwrap" and sandbox.run_cell("x = 1", 30) == (None, False)
    assert len(calls) == 2 and "no-such-option" in caplog.text


@pytest.mark.parametrize("failure", ["bwrap refuses", "startup timeout"])
def test_a_failed_start_does_not_block_the_next_sandbox(monkeypatch, failure):
    monkeypatch.delenv("AUTOGRADER_SANDBOX", raising=False)
    with monkeypatch.context() as patch:
        if failure == "bwrap refuses":
            patch.setattr(bwrap, "command", lambda *a, **k: ["bwrap", "--no-such-option"])
            options = {}
        else:
            options = {"startup_timeout": 0.001}
        with pytest.raises(SandboxError) as refused:
            Sandbox(**options)
        assert "bwrap failed to start" in refused.value.reason
    with Sandbox() as sandbox:  # the same process, bwrap working again
        assert sandbox.kind == "bwrap" and sandbox.run_cell("x = 1", 30) == (None, False)


def test_a_grader_under_lower_limits_still_starts_sandboxes():
    """A grader started under `ulimit -t 120 -n 200` (a SLURM job, a shell's limits): the
    sandbox keeps those lower hard limits instead of failing to raise them."""
    grader = subprocess.run([sys.executable, "-c", """
import resource
resource.setrlimit(resource.RLIMIT_CPU, (120, 120))
resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))
from autograder.sandbox.proxy import Sandbox
with Sandbox(mode="bwrap", memory_mb=600, cpu_seconds=300) as sandbox:
    assert sandbox.run_cell("import resource\\nlimits = [resource.getrlimit(resource.RLIMIT_CPU)[1], "
                            "resource.getrlimit(resource.RLIMIT_NOFILE)[1]]", 30) == (None, False)
    remote = sandbox.remote()
    print(remote.fetch(remote.lookup("limits")))
"""], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert grader.returncode == 0, grader.stderr[-2000:]
    assert grader.stdout.split() == ["[120,", "200]"]
