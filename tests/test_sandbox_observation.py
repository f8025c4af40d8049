"""What the grader observes itself, and what the sandbox contains, with real sandboxes and
real notebooks.

* Submissions that patch the student server (found through gc) so that it answers falsely
  -- identity always true, fetch returning a snapshot of what was sent -- earn exactly
  what the same code earns without the patch: whether params were updated in place and
  whether inputs were left unchanged are read from the grader's own mapping of the arena.
  A server patched to refuse the values the grader passes in earns nothing for the parts
  that need them, with the reason.
* The arena's memfd cannot be shrunk or grown from inside; punching holes only zeroes it.
* Processes: a fork bomb stays within the sandbox's bound, a daemon that left the session
  dies with the sandbox (closed, or its grader killed), the student's code cannot signal
  the grader, and the sandbox ends at its wall time.
* Without bubblewrap, no sandbox starts unless the weak one is explicitly allowed.
"""
import logging
import os
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

from autograder import catalogue
from autograder.course import ROOT
from autograder.examples import source_notebook
from autograder.parts import PARTS
from autograder.sandbox import bwrap, proxy
from autograder.sandbox.arena import ARENA_BYTES
from autograder.sandbox.proxy import MAX_TASKS, Sandbox, SandboxError
from autograder.verify import verify_notebook
from test_verify import FULL, assert_clean_messages, inserted_after, lost, write

pytestmark = pytest.mark.slow

# Makes the student server lie: `same` (the identity question it used to answer) is always
# true, and fetching an array that the grader sent or shared returns a snapshot taken when
# it arrived, whatever the student's code did to it since.
LYING_SERVER = '''
import copy, gc
_server = next(o for o in gc.get_objects() if isinstance(getattr(o, "__dict__", None), dict)
               and isinstance(o.__dict__.get("refs"), dict) and hasattr(o, "handle"))
_honest_handle = _server.handle
_snapshots = {}
def _lying_handle(message, blobs):
    op = message.get("op")
    if op == "same":
        return {"ok": True, "same": True}
    if op == "fetch" and message.get("ref") in _snapshots:
        encoder = _server.wire.Encoder()
        return {"ok": True, "value": encoder.value(_snapshots[message["ref"]])}, encoder.blobs
    answer = _honest_handle(message, blobs)
    if op in ("send", "share") and isinstance(answer, dict) and answer.get("ok") \\
            and type(_server.refs[answer["ref"]]).__name__ == "ndarray":
        _snapshots[answer["ref"]] = copy.deepcopy(_server.refs[answer["ref"]])
    return answer
_server.handle = _lying_handle
'''
# Makes the student server refuse what the grader shares with the student's code (the
# arrays it passes in): an error for every "share" and "send".
REFUSING_SERVER = '''
import gc
_server = next(o for o in gc.get_objects() if isinstance(getattr(o, "__dict__", None), dict)
               and isinstance(o.__dict__.get("refs"), dict) and hasattr(o, "handle"))
_honest_handle = _server.handle
def _refusing_handle(message, blobs):
    if message.get("op") in ("share", "send"):
        return {"ok": False, "error": {"type": "RuntimeError", "message": "refused"}}
    return _honest_handle(message, blobs)
_server.handle = _refusing_handle
'''
MOMENTUM_OUT_OF_PLACE = catalogue.get("momentum_out_of_place")
LEAKY_RELU_CLOBBERS_X = catalogue.get("leaky_forward_modifies_x")


def edited(entry):
    """The source notebook with a mistake of the catalogue in place of its solution."""
    return catalogue.notebook_with(source_notebook(), entry)

# Tries everything that would let the grader's mapping of the arena fault (SIGBUS) or be
# changed from outside: returns {attempt: "ok" or the exception's type}.
ARENA_ATTACKS = '''
import ctypes, fcntl, gc, mmap, os

def _memfds():
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("/memfd:"):
                found.append(int(name))
        except OSError:
            pass
    return found

def _attempt(results, name, action):
    try:
        action()
        results[name] = "ok"
    except Exception as e:
        results[name] = type(e).__name__

def attack_arena(punch_holes=False):
    results = {}
    for fd in _memfds():
        size = os.fstat(fd).st_size
        _attempt(results, "shrink", lambda: os.ftruncate(fd, 0))
        _attempt(results, "grow", lambda: os.ftruncate(fd, 2 * size))
        _attempt(results, "seal_write", lambda: fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE))
        reopened = os.open(f"/proc/self/fd/{fd}", os.O_RDWR)
        _attempt(results, "shrink_reopened", lambda: os.ftruncate(reopened, 0))
        os.close(reopened)
        for m in [o for o in gc.get_objects() if isinstance(o, mmap.mmap)]:
            _attempt(results, "mmap_resize", lambda: m.resize(4096))
        if punch_holes:  # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE over everything
            libc = ctypes.CDLL(None, use_errno=True)
            libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
            results["punch_hole"] = "ok" if libc.fallocate(fd, 3, 0, size) == 0 else "failed"
        results["size"] = os.fstat(fd).st_size
    results["memfds"] = len(_memfds())
    return results
'''


def verify(tmp_path, name, notebook):
    result = verify_notebook(write(tmp_path, name, notebook), cell_timeout=10, check_timeout=30)
    assert result.sandbox == "bwrap" and result.reason == "", result.reason
    assert_clean_messages(result)
    return result


# --------------------------------------------------------------------------------------
# Falsified answers of the student server
# --------------------------------------------------------------------------------------

def test_the_lying_server_really_lies_but_observe_does_not_ask_it():
    with Sandbox(mode="bwrap") as sandbox:
        assert sandbox.run_cell(LYING_SERVER + "def double(x):\n    x *= 2\n", 30) == (None, False)
        remote = sandbox.remote()
        x = np.arange(4.0)
        sent, shared = remote.send(x), remote.share(x)
        for ref in (sent, shared):
            remote.call(remote.lookup("double"), ref)
            assert np.array_equal(remote.fetch(ref), x)  # the lie: "unchanged"
        assert np.array_equal(remote.observe(shared), 2 * x)  # the fact


def test_out_of_place_momentum_with_a_lying_server_loses_exactly_the_momentum_points(tmp_path):
    notebook = inserted_after("initialize_parameters", LYING_SERVER, edited(MOMENTUM_OUT_OF_PLACE))
    result = verify(tmp_path, "lying_out_of_place_momentum", notebook)
    assert result.scores == dict(FULL, test_momentum=0.0)
    assert result.messages["test_momentum"].startswith("参数没有原地更新（请使用 -= ）")
    assert result.mistakes == {"test_momentum": MOMENTUM_OUT_OF_PLACE.id}


def test_leaky_relu_that_overwrites_x_with_a_lying_server_earns_what_it_earns_honestly(tmp_path):
    honest = verify(tmp_path, "leaky_relu_overwrites_x", edited(LEAKY_RELU_CLOBBERS_X))
    lying = verify(tmp_path, "lying_leaky_relu_overwrites_x",
                   inserted_after("initialize_parameters", LYING_SERVER, edited(LEAKY_RELU_CLOBBERS_X)))
    assert honest.scores["test_leaky_relu"] == 0.0 and "输入被修改了" in honest.messages["test_leaky_relu"]
    assert lost(honest) == {"test_leaky_relu"}  # the network's own layers never get its input
    assert lying.scores == honest.scores and lying.messages == honest.messages
    assert lying.mistakes == honest.mistakes == {"test_leaky_relu": LEAKY_RELU_CLOBBERS_X.id}


def test_a_server_that_refuses_the_graders_values_earns_nothing_for_what_needs_them(tmp_path):
    result = verify(tmp_path, "refusing_server", inserted_after("initialize_parameters", REFUSING_SERVER))
    needs_values = {g for g, p in PARTS.items() if p.name != "initialize_parameters"}
    assert {g for g in needs_values if result.scores[g] > 0} == set()
    for grade_id in needs_values:
        assert result.messages[grade_id].startswith("检查时无法使用学生代码返回的值"), result.messages[grade_id]
    assert result.mistakes == {}


# --------------------------------------------------------------------------------------
# The arena
# --------------------------------------------------------------------------------------

def test_the_arena_cannot_be_resized_from_inside_and_holes_only_zero_it():
    with Sandbox(mode="bwrap") as sandbox:
        assert sandbox.run_cell(ARENA_ATTACKS, 30) == (None, False)
        remote = sandbox.remote()
        shared = remote.share({"W": np.ones((3, 4)), "b": np.arange(4, dtype=np.float32)})
        attempts = remote.fetch(remote.call(remote.lookup("attack_arena"), punch_holes=True))
        assert attempts["memfds"] == 1 and attempts["size"] == ARENA_BYTES
        for name in ("shrink", "grow", "seal_write", "shrink_reopened"):
            assert attempts[name] == "PermissionError", attempts
        assert attempts["mmap_resize"] != "ok" and attempts["punch_hole"] == "ok"
        seen = remote.observe(shared)  # the grader's mapping still reads: zeros now
        assert np.array_equal(seen["W"], np.zeros((3, 4))) and np.array_equal(seen["b"], np.zeros(4))
        assert sandbox.run_cell("y = 1", 30) == (None, False)


def test_an_update_that_attacks_the_arena_gains_nothing(tmp_path):
    attacking = MOMENTUM_OUT_OF_PLACE.source.replace("params[key] = params[key] - (self.v[key])",
                                                     "params[key] = params[key] - self.v[key]\n            attack_arena()")
    assert "attack_arena()" in attacking
    notebook = catalogue.with_definition(source_notebook(), "Momentum", attacking)
    notebook = inserted_after("initialize_parameters", ARENA_ATTACKS, notebook)
    result = verify(tmp_path, "attacks_the_arena", notebook)
    assert result.scores == dict(FULL, test_momentum=0.0)
    assert result.messages["test_momentum"].startswith("参数没有原地更新（请使用 -= ）")


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------

def namespace_pids(sandbox):
    """Pids (as the grader sees them) of every process in the sandbox's pid namespace."""
    bwrap = sandbox.proc.pid
    with open(f"/proc/{bwrap}/task/{bwrap}/children") as f:
        init = int(f.read().split()[0])
    namespace = os.readlink(f"/proc/{init}/ns/pid")
    pids = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and os.readlink(f"/proc/{name}/ns/pid") == namespace:
                pids.append(int(name))
        except OSError:
            pass
    return pids


def pids_with_argument(marker):
    found = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and marker.encode() in open(f"/proc/{name}/cmdline", "rb").read().split(b"\0"):
                found.append(int(name))
        except OSError:
            pass
    return found


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("Uid:")).split()[1])


FORK_BOMB = '''
import os, time
me = os.getpid()
forks = failures = 0
end = time.monotonic() + 3
while time.monotonic() < end:
    try:
        pid = os.fork()
    except OSError:
        failures += 1
        time.sleep(0.01)
        continue
    if pid == 0:
        forks = failures = 0  # every child forks too
        continue
    forks += 1
if os.getpid() != me:  # the children never return to the server's loop
    time.sleep(3600)
    os._exit(0)
bomb = (forks, failures)
'''


def test_a_fork_bomb_stays_within_the_bound_and_ends_with_the_sandbox():
    with Sandbox(mode="bwrap", max_tasks=16) as sandbox:
        assert sandbox.run_cell(FORK_BOMB, 30) == (None, False)
        pids = namespace_pids(sandbox)
        assert 10 < len(pids) <= 16
        assert all(uid_of(pid) != 0 for pid in pids)  # not root's: the bound applies
        remote = sandbox.remote()
        forks, failures = remote.fetch(remote.lookup("bomb"))
        assert forks < 16 and failures > 0
        assert sandbox.run_cell("import resource\nlimit = resource.getrlimit(resource.RLIMIT_NPROC)", 30)[0] is None
        assert remote.fetch(remote.lookup("limit")) == (16, 16)
    assert not [pid for pid in pids if os.path.exists(f"/proc/{pid}")]
    with Sandbox(mode="bwrap") as sandbox:  # the next sandbox starts, with the default bound
        assert sandbox.run_cell("import resource\nlimit = resource.getrlimit(resource.RLIMIT_NPROC)", 30)[0] is None
        remote = sandbox.remote()
        assert remote.fetch(remote.lookup("limit")) == (MAX_TASKS, MAX_TASKS)


DAEMON = '''
import os, sys
first = os.fork()
if first == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c",
                 "import os, time\\nwhile True:\\n"
                 "    open(os.environ['TMPDIR'] + '/alive', 'w').write(str(time.time()))\\n"
                 "    time.sleep(0.2)", "MARKER"])
    os._exit(0)
os.waitpid(first, 0)
'''


@pytest.mark.parametrize("mode", ["bwrap", "weak"])
def test_a_daemon_that_left_the_session_dies_with_the_sandbox(mode):
    marker = f"daemon-{uuid.uuid4().hex}"
    sandbox = Sandbox(mode=mode)
    try:
        assert sandbox.run_cell(DAEMON.replace("MARKER", marker), 30) == (None, False)
        for _ in range(100):
            if pids_with_argument(marker):
                break
            time.sleep(0.05)
        daemons = pids_with_argument(marker)
        assert len(daemons) == 1 and os.getsid(daemons[0]) != os.getsid(sandbox.proc.pid)
    finally:
        sandbox.close()
    assert pids_with_argument(marker) == []


def test_a_daemon_dies_when_the_grader_is_killed():
    marker = f"daemon-{uuid.uuid4().hex}"
    grader = subprocess.Popen([sys.executable, "-c", f"""
import time
from autograder.sandbox.proxy import Sandbox
sandbox = Sandbox(mode="bwrap")
print(sandbox.run_cell({DAEMON.replace("MARKER", marker)!r}, 30), flush=True)
time.sleep(600)
"""], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert grader.stdout.readline().strip() == "(None, False)"
        for _ in range(100):
            if pids_with_argument(marker):
                break
            time.sleep(0.05)
        assert len(pids_with_argument(marker)) == 1
    finally:
        grader.kill()
        grader.wait()
        grader.stdout.close()
    for _ in range(100):  # the kernel delivers the parent-death signals asynchronously
        if not pids_with_argument(marker):
            break
        time.sleep(0.05)
    assert pids_with_argument(marker) == []


def test_the_student_code_cannot_signal_the_grader():
    with Sandbox(mode="bwrap") as sandbox:
        cell = f'''
import os, signal
seen = {{"ppid": os.getppid(), "pid": os.getpid(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}}
for name, target in [("parent", os.getppid()), ("init", 1), ("grader", {os.getpid()}), ("bwrap", {sandbox.proc.pid})]:
    try:
        os.kill(target, signal.SIGKILL)
        seen[name] = "sent"
    except OSError as e:
        seen[name] = type(e).__name__
'''
        assert sandbox.run_cell(cell, 30) == (None, False)
        remote = sandbox.remote()
        seen = remote.fetch(remote.lookup("seen"))
        assert seen["ppid"] == 1 and seen["pid"] == 2 and seen["pids"] == [1, 2]  # its own namespace
        assert seen["grader"] == "ProcessLookupError" and seen["bwrap"] == "ProcessLookupError"
        assert sandbox.proc.poll() is None and sandbox.run_cell("y = 1", 30) == (None, False)
        assert sandbox.run_cell("import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\n"
                                "except ProcessLookupError:\n    pass", 30) == (None, False)
        assert sandbox.proc.poll() is None and sandbox.run_cell("y = 2", 30) == (None, False)


def test_the_sandbox_ends_at_its_wall_time():
    with Sandbox(mode="bwrap", wall_seconds=2) as sandbox:
        started = time.monotonic()
        with pytest.raises(SandboxError, match="总时间限制 2 s"):
            sandbox.run_cell("import time\ntime.sleep(60)", 60)
        assert time.monotonic() - started < 10 and sandbox.proc.poll() is not None


# --------------------------------------------------------------------------------------
# No weak sandbox unless allowed
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("breakage", ["missing", "failing"])
def test_without_bubblewrap_no_sandbox_starts_unless_the_weak_one_is_allowed(monkeypatch, caplog, breakage):
    monkeypatch.delenv("AUTOGRADER_SANDBOX", raising=False)
    if breakage == "missing":
        monkeypatch.setattr(proxy.shutil, "which", lambda name: None)
    else:
        monkeypatch.setattr(bwrap, "command", lambda *a, **k: ["bwrap", "--no-such-option"])
    for kwargs in ({}, {"mode": "auto"}, {"mode": "bwrap"}, {"mode": "bwrap", "allow_weak": True}):
        with pytest.raises(SandboxError) as refused:
            Sandbox(**kwargs)
        assert "apt-get install bubblewrap" in refused.value.reason
        assert ("--allow-weak-sandbox" in refused.value.reason) == (kwargs.get("mode") != "bwrap")
    with caplog.at_level(logging.WARNING, logger="autograder.sandbox.proxy"):
        with Sandbox(allow_weak=True) as sandbox:
            assert sandbox.kind.startswith("weak: bwrap")
            assert sandbox.run_cell("x = 6 * 7", 30) == (None, False)
    assert "WITHOUT bubblewrap" in caplog.text
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "weak")
    with Sandbox() as sandbox:
        assert sandbox.kind == "weak: forced (AUTOGRADER_SANDBOX=weak)"

