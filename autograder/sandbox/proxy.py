"""The sandbox's lifecycle, on the grader's side: Sandbox starts the student server
(student_server.py), sends it requests over its pipe, and stops it so that nothing it
started outlives it. remote() gives the Student interface over it (remote.py).

Where the rest lives: bwrap.py, the bubblewrap command line and what the sandbox can see;
limits.py, the memory, CPU, process and file-size limits (the sandbox's memory cgroup);
errors.py, the exceptions; arena.py, the shared memory; wire.py, the message format.

Starting: the launcher's preexec step puts the process into the sandbox's memory cgroup
and sets its rlimits (limits.Limits) before it execs bwrap, so before any student code
runs. A start that fails is retried once, with nothing carried over from the failure: the
next sandbox of the same process starts afresh. The server sets RLIMIT_NPROC inside the
user namespace itself, before any student code.

Stopping: wall_seconds from the start the sandbox is killed. Nothing outlives the sandbox:
close() ends the pid namespace's first process (bwrap reports its pid on --info-fd; the
grader holds a pidfd of it), and the kernel then kills every process in the namespace,
daemons that setsid() included; close() returns once they are gone, then removes the
memory cgroup. When the grader dies instead, --die-with-parent ends bwrap, and the
namespace's first process with it (as root, the keeper does that part: see bwrap.Keeper).

Memory: when the kernel kills a process of the sandbox for the sandbox's memory budget
(counted in its cgroup, read by the grader), the sandbox is stopped and the request fails
with SandboxMemory, whichever process was killed and whatever the server answered.

No weak sandbox by default: when bwrap is missing or fails to start (twice), Sandbox()
raises SandboxError saying how to install it, unless allow_weak=True. Then (or with
mode="weak", or the environment variable AUTOGRADER_SANDBOX=weak) the server runs as a
plain subprocess with the same arena, environment, limits and memory cgroup in a temporary
working directory, and Sandbox.kind says ``"weak: <why>"`` (a warning is logged). That
still keeps every check out of the student's interpreter, but gives no filesystem or
network isolation, no bound on the number of processes, and a process that leaves the
session may outlive the sandbox unless it keeps the sandbox's environment (close() kills
those that do). mode "bwrap" never runs the weak sandbox.

Wall time of requests is enforced here too: every request carries a time limit that the
server applies with SIGALRM (the student's code is interrupted, the server answers
"timeout"); if no answer arrives within that limit plus a grace period, the sandbox is
killed. Nothing from the sandbox is unpickled or evaluated: frames are length-prefixed
JSON and .npy bytes, at most wire.MAX_FRAME (64 MB) each (wire.py), and they carry only
the student's values: the grader never sends the sandbox anything but the student's code
and the checks' inputs.
"""
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder.sandbox import bwrap, wire
from autograder.sandbox.arena import ARENA_BYTES, Arena
from autograder.sandbox.bwrap import STARTUP_TIMEOUT, STOP_TIMEOUT
from autograder.sandbox.errors import (ProtocolError, RequestTimeout, SandboxDied, SandboxError,
                                       SandboxMemory, SandboxTimeout)
from autograder.sandbox.limits import MAX_TASKS, Limits
from autograder.sandbox.remote import Remote

__all__ = ["Sandbox", "SandboxError", "SandboxDied", "SandboxMemory", "SandboxTimeout", "ProtocolError",
           "RequestTimeout", "MAX_TASKS", "MODES"]

log = logging.getLogger(__name__)

GRACE = 3.0            # seconds the grader waits beyond a request's own time limit
START_ATTEMPTS = 2     # a failed start of bwrap is retried once
PROTOCOL_ERROR = "沙箱发来了无效的消息（例如学生代码向通信管道写入了数据），已停止运行学生代码"
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap), or grade anyway "
                "in a weak sandbox (a plain subprocess with limits, no isolation) with "
                "--allow-weak-sandbox (Sandbox(allow_weak=True), or AUTOGRADER_SANDBOX=weak)")
MODES = ("auto", "bwrap", "weak")


def _read_all(fd, deadline):
    """Everything written to the pipe fd until its writers close it (or the deadline)."""
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _processes_with_environment(entry):
    """Pids of the processes whose environment holds entry (bytes "KEY=value")."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if entry in f.read().split(b"\0"):
                    pids.append(int(name))
        except OSError:
            pass
    return pids


class Sandbox:
    """A running student server. Use as a context manager, or call close().

    mode: "auto" (bwrap; the weak sandbox only if allow_weak), "bwrap" (bwrap only),
    "weak" (the weak sandbox); default: AUTOGRADER_SANDBOX, else "auto" (the environment
    variable set to "weak" also allows the weak sandbox).
    kind: "bwrap" or "weak: <why>"; memory: how the memory budget is enforced ("cgroup v1",
    "cgroup v2" or "per-process", see limits.py); description: both, for a report.
    memory_mb: the memory budget of the whole sandbox; cpu_seconds: CPU time per process;
    wall_seconds: wall time of the whole sandbox (default cpu_seconds + 60);
    max_tasks: processes and threads (bwrap only; at most limits.FEW_TASKS without a memory
    cgroup); memory_cgroup: False enforces the budget per process even where a memory
    cgroup could be made; arena_bytes: size of the shared arena.
    """

    def __init__(self, *, memory_mb=2048, cpu_seconds=600, mode=None, allow_weak=False,
                 wall_seconds=None, max_tasks=MAX_TASKS, memory_cgroup=True, arena_bytes=ARENA_BYTES,
                 startup_timeout=STARTUP_TIMEOUT):
        from_environment = os.environ.get("AUTOGRADER_SANDBOX", "")
        chosen_by = f"mode={mode!r}" if mode else f"AUTOGRADER_SANDBOX={from_environment}"
        mode = mode or from_environment or "auto"
        if mode not in MODES:
            raise ValueError(f"unknown sandbox mode {mode!r}: auto, bwrap or weak")
        allow_weak = allow_weak or from_environment == "weak"
        self.memory_mb = memory_mb
        self.cpu_seconds = cpu_seconds
        self.wall_seconds = wall_seconds if wall_seconds is not None else cpu_seconds + 60
        self.kind = None
        self.proc = None
        self.dead = None  # the reason, once the process is gone
        self._init_pidfd = None  # bwrap: the first process of the sandbox's pid namespace
        self._keeper = None  # bwrap, grader running as root: see bwrap.Keeper
        self._token = None  # weak: an environment entry that marks the sandbox's processes
        self._timer = None
        self._tmp = Path(tempfile.mkdtemp(prefix="verify-"))
        self.arena = None
        self.limits = None
        self.memory = None
        try:
            try:
                self.arena = Arena(arena_bytes)
            except OSError as e:
                raise SandboxError(f"cannot create the shared arena (a sealed memfd): {e}") from None
            self.limits = Limits.make(memory_mb, cpu_seconds, max_tasks, cgroup=memory_cgroup)
            self.memory = self.limits.memory
            why = None
            program = shutil.which("bwrap")
            if mode == "weak":
                why = f"forced ({chosen_by})"
            elif program is None:
                why = "bwrap not found"
            else:
                for attempt in range(1, START_ATTEMPTS + 1):
                    try:
                        self._start_bwrap(program, startup_timeout)
                        self.kind = "bwrap"
                        return
                    except SandboxError as e:
                        self._close_keeper()
                        why = f"bwrap failed to start: {e.reason}"
                        log.warning("bwrap failed to start (attempt %d of %d): %s", attempt, START_ATTEMPTS,
                                    e.reason)
            if mode == "bwrap":
                raise SandboxError(f"the bubblewrap sandbox is unavailable ({why}): install bubblewrap "
                                   f"(Debian/Ubuntu: apt-get install bubblewrap)")
            if mode != "weak" and not allow_weak:
                raise SandboxError(f"the student's code cannot run in a bubblewrap sandbox ({why}): "
                                   f"{INSTALL_HINT}")
            log.warning("verification runs the student's code WITHOUT bubblewrap (%s): limits and a "
                        "separate process only, no filesystem or network isolation", why)
            self._start_weak(startup_timeout)
            self.kind = f"weak: {why}"
        except BaseException:
            self.close()
            raise
        finally:
            if self.arena is not None:
                self.arena.close_fd()  # the server has its own copy, or failed

    @property
    def description(self):
        """The kind of sandbox and how its memory is enforced, e.g. "bwrap; memory: cgroup v1"."""
        return f"{self.kind}; memory: {self.memory}"

    def _server_args(self, max_tasks):
        return [str(self.arena.fd), str(self.arena.size), str(max_tasks), *bwrap.site_dirs()]

    def _start_bwrap(self, program, startup_timeout):
        root = os.geteuid() == 0
        if root:
            self._keeper = bwrap.Keeper()
        userns = self._keeper.userns_fd if root else None
        info_read, info_write = os.pipe()
        open_fds = [info_read, info_write]

        def close_info_write():  # once bwrap holds it: EOF on info_read when bwrap is done
            os.close(info_write)
            open_fds.remove(info_write)

        try:
            cmd = bwrap.command(program, sys.executable, bwrap.site_dirs(), userns_fd=userns,
                                info_fd=info_write, server_args=self._server_args(self.limits.max_tasks))
            fds = [self.arena.fd, info_write] + ([userns] if root else [])
            self._start(cmd, cwd=self._tmp, startup_timeout=startup_timeout, pass_fds=fds,
                        extra_groups=[] if root else None, before_hello=close_info_write)
            info = _read_all(info_read, time.monotonic() + 5)
            try:
                init_pid = json.loads(info.decode("utf-8"))["child-pid"]
                # The server is running, so the namespace's first process is too.
                self._init_pidfd = os.pidfd_open(init_pid)
                if root:
                    self._keeper.guard(self._init_pidfd)
            except (ValueError, KeyError, TypeError, OSError) as e:
                self._release("bwrap")
                raise SandboxDied(f"bwrap: no usable --info-fd output ({type(e).__name__})") from None
        finally:
            for fd in open_fds:
                os.close(fd)

    def _start_weak(self, startup_timeout):
        root = self._tmp / "weak"
        server, workdir = bwrap.weak_layout(root)
        env = bwrap.environment(str(workdir.parent), str(workdir))
        env["TMPDIR"] = str(root / "tmp")
        env["MPLCONFIGDIR"] = str(root / "tmp" / "matplotlib")
        self._token = f"AUTOGRADER_SANDBOX_ID={os.urandom(16).hex()}"
        env.update([self._token.split("=", 1)])
        self._start([sys.executable, "-I", "-B", "-S", str(server), *self._server_args(0)],
                    cwd=workdir, env=env, startup_timeout=startup_timeout, pass_fds=[self.arena.fd])

    def _start(self, cmd, cwd, startup_timeout, env=None, pass_fds=(), extra_groups=None,
               before_hello=None):
        self._stderr = tempfile.TemporaryFile(dir=self._tmp)
        try:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                cwd=cwd, env=env if env is not None else {}, start_new_session=True,
                preexec_fn=self.limits.preexec(), close_fds=True,
                pass_fds=pass_fds, extra_groups=extra_groups)
        except (OSError, subprocess.SubprocessError) as e:  # e.g. the cgroup refused the process
            self._stderr.close()
            raise SandboxDied(f"the sandbox's process could not be launched ({e})") from None
        if before_hello is not None:
            before_hello()
        self.dead = None
        self._in = self.proc.stdout.fileno()
        self._out = self.proc.stdin.fileno()
        os.set_blocking(self._out, False)
        why = None
        try:
            hello, _ = self._receive(time.monotonic() + startup_timeout)
            if not hello.get("ok") or "hello" not in hello:
                why = f"it reported {str(hello.get('error'))[:500]}"
        except SandboxTimeout:
            why = f"no answer within {startup_timeout:g} s"
        except ProtocolError:
            why = "it sent an invalid message"
        except SandboxError:
            why = "it exited"
        if why is not None:
            self._kill("start")
            detail = self._stderr_tail()
            self._release("start")
            raise SandboxDied(f"the student server did not start ({why}; exit status "
                              f"{self.proc.returncode}){': ' + detail if detail else ''}")
        self._timer = threading.Timer(self.wall_seconds, self._kill,
                                      [f"超过沙箱的总时间限制 {self.wall_seconds:g} s，已终止"])
        self._timer.daemon = True
        self._timer.start()

    def _stderr_tail(self, limit=2000):
        try:
            self._stderr.seek(0)
            return self._stderr.read(limit).decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    # --- frames -------------------------------------------------------------------------

    def _memory_exceeded(self):
        """If the kernel has killed a process of the sandbox for the sandbox's memory budget
        (read from its cgroup, not from the sandbox): stops the sandbox and returns the
        error to raise, SandboxMemory (SandboxDied if it had already been stopped for
        another reason). Else None."""
        if not self.limits.oom_killed():
            return None
        reason = (f"沙箱中的进程合计使用的内存超过了限制 {self.memory_mb} MB（按整个沙箱计算，"
                  f"包括学生代码创建的子进程），已停止运行学生代码")
        earlier = self.dead  # e.g. the wall time, when the timer stopped it meanwhile
        self._kill(reason)
        return SandboxMemory(reason) if earlier is None else SandboxDied(earlier)

    def _died(self):
        """The error for a sandbox whose process has ended."""
        return self._memory_exceeded() or SandboxDied(self._death_reason())

    def _death_reason(self):
        """Why the process ended, once it has (waits briefly for its status)."""
        if self.dead is not None:  # killed here, for that reason
            return self.dead
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "沙箱进程停止了响应"
        if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
            return "超过 CPU 时间限制"
        number = -code if code < 0 else code - 128 if code > 128 else None
        if number is not None:  # bwrap reports its child's death by signal n as 128 + n
            memory = (f"（可能超过了内存限制 {self.memory_mb} MB）"
                      if number in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS) else "")
            return f"运行学生代码的进程被信号 {number} 终止{memory}"
        return f"运行学生代码的进程提前退出（退出码 {code}），例如调用了 os._exit() 或关闭了通信管道"

    def _read(self, n, deadline):
        chunks = []
        while n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxTimeout("沙箱没有在时限内回应（学生代码无法被中断），已终止")
            ready, _, _ = select.select([self._in], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._in, min(n, 1 << 20))
            if not chunk:
                raise self._died()
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _write(self, data, deadline):
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxTimeout("沙箱没有在时限内接收请求")
            _, ready, _ = select.select([], [self._out], [], remaining)
            if not ready:
                continue
            try:
                written = os.write(self._out, view)
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError):
                raise self._died() from None
            view = view[written:]

    def _receive(self, deadline):
        header = self._read(wire.HEADER_SIZE, deadline)
        try:
            length = wire.frame_length(header, wire.MAX_FRAME)
            return wire.parse(self._read(length, deadline))
        except wire.WireError as e:
            raise self.protocol_error(e) from None

    def protocol_error(self, detail):
        """Stops the sandbox for an invalid message (detail is logged); returns the ProtocolError
        to raise."""
        log.warning("invalid message from the sandbox: %s", str(detail)[:300])
        self._kill(PROTOCOL_ERROR)
        return ProtocolError(PROTOCOL_ERROR)

    def request(self, message, blobs=(), timeout=None):
        """Sends one request and returns (reply, blobs). timeout: seconds the server gives
        the student's code (None: no limit there; the grader then waits up to 10 minutes)."""
        if self.dead:
            raise SandboxDied(self.dead)
        if timeout is not None:
            message = dict(message, timeout=max(timeout, 0.001))
        deadline = time.monotonic() + (timeout if timeout is not None else 600) + GRACE
        try:
            self._write(wire.frame(message, blobs), deadline)
            answer = self._receive(deadline)
        except SandboxError as e:
            self._kill(e.reason)
            raise
        memory = self._memory_exceeded()  # e.g. a child of the student's code was killed
        if memory is not None:
            raise memory
        return answer

    # --- running cells ------------------------------------------------------------------

    def run_cell(self, source, timeout):
        """Runs one cell of student code. Returns (error text or None, timed out)."""
        reply, _ = self.request({"op": "run_cell", "source": source}, timeout=timeout)
        if not reply.get("ok"):
            raise self.protocol_error(reply)
        error = reply.get("error")
        return (str(error)[:2000] if error is not None else None), bool(reply.get("timeout"))

    def remote(self):
        """A Remote for the student's names in this sandbox."""
        return Remote(self)

    # --- stopping -----------------------------------------------------------------------

    def _kill(self, reason):
        """Kills every process of the sandbox and waits until they are gone."""
        if self.dead is None:
            self.dead = reason
        if self.proc is None:
            return
        if self._init_pidfd is not None:
            # The pid namespace ends with its first process: the kernel kills the rest and
            # waits until they are gone before that process counts as exited (its pidfd
            # becomes readable); bwrap's outer process then reaps it and exits.
            try:
                signal.pidfd_send_signal(self._init_pidfd, signal.SIGKILL)
                select.select([self._init_pidfd], [], [], STOP_TIMEOUT)
            except (OSError, ValueError):  # already gone, or closed by a concurrent close()
                pass
        elif self.proc.poll() is None:
            self._kill_group()
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill_group()
            self.proc.wait(timeout=STOP_TIMEOUT)
        if self._token is not None:  # weak: processes that left the session
            for pid in _processes_with_environment(self._token.encode()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def _kill_group(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _release(self, reason):
        """Kills the processes and closes the pipes, the log and the namespace's handle."""
        self._kill(reason)
        for stream in (self.proc.stdin, self.proc.stdout, self._stderr):
            try:
                stream.close()
            except OSError:
                pass
        if self._init_pidfd is not None:
            os.close(self._init_pidfd)
            self._init_pidfd = None

    def close(self):
        """Stops the processes and removes temporary files; nothing of the sandbox runs
        afterwards. (The weak sandbox's server is first asked to exit.)"""
        if self._timer is not None:
            self._timer.cancel()
        if self.proc is not None:
            if self._init_pidfd is None and self.dead is None and self.proc.poll() is None:
                try:
                    self._write(wire.frame({"op": "exit"}), time.monotonic() + 1)
                    self.proc.wait(timeout=1)
                except (SandboxError, subprocess.TimeoutExpired):
                    pass
            self._release("已关闭")
        self._close_keeper()
        if self.limits is not None:
            self.limits.close()  # the processes are gone: removes the memory cgroup
        if self.arena is not None:
            self.arena.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _close_keeper(self):
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

