"""The grader's side of the sandbox: starting the student server, and Remote, the Student
interface (interface.py) over its pipe and the shared arena.

Sandbox() starts ``student_server.py`` under bubblewrap:

* new pid, network (only loopback), ipc, uts and cgroup namespaces and a user namespace,
  ``--die-with-parent``, ``--new-session``, all capabilities dropped, no new privileges,
  uid/gid 65534;
* when the grader runs as root, the user namespace is made by a small keeper process
  (``--userns``, see _Keeper): uid/gid 65534 inside are 65534 (nobody) outside, and root
  outside is uid 1 inside, so that bwrap can still read the bound folders while it sets
  up, but the student's processes are not root's: RLIMIT_NPROC, which the kernel does not
  apply to root's processes, bounds them. Otherwise bwrap makes it (``--unshare-user``),
  mapping 65534 to the grader's own uid;
* read-only: /usr (and /bin /lib /lib64 /sbin as on the host), the Python installation
  (sys.base_prefix), the virtual environment (sys.prefix) and the site-packages folders
  that hold numpy and IPython, with any ``autograder`` package or editable-install hook in
  them masked; the server's two files at /opt/verify; the release's utils.py and
  public_tests.py and the MNIST folder in the working directory
  /home/student/mlp_optimizers (/home/student is a small private tmpfs, so the notebook
  may write files there);
* a private /tmp (tmpfs, size-limited), a new /proc, a /dev with only null, zero, full,
  random and urandom;
* nothing else: not the repository, not autograder/, not source/ or a gradebook, not
  other submissions, not the grader's processes (the pid namespace holds only the
  sandbox's own, so the student's code cannot signal the grader);
* inherited: the arena's memfd (arena.py), which both sides map.

Limits: address space (memory_mb), CPU seconds per process, file size, open files and no
core dumps (set before exec); processes and threads (max_tasks, RLIMIT_NPROC set by the
server inside the user namespace, before any student code); wall time (wall_seconds from
the start: the sandbox is then killed). The environment is cleared (NBGRADER_EXECUTION=
verify, single-threaded BLAS, Agg matplotlib). Nothing outlives the sandbox: close() ends
the pid namespace's first process (bwrap reports its pid on --info-fd; the grader holds a
pidfd of it), and the kernel then kills every process in the namespace, daemons that
setsid() included; close() returns once they are gone. When the grader dies instead,
--die-with-parent ends bwrap, and the namespace's first process with it (as root, the
keeper does that part: see _Keeper).

No weak sandbox by default: when bwrap is missing or fails to start, Sandbox() raises
SandboxError saying how to install it, unless allow_weak=True. Then (or with mode="weak",
or the environment variable AUTOGRADER_SANDBOX=weak) the server runs as a plain
subprocess with the same arena, environment and rlimits in a temporary working directory,
and Sandbox.kind says ``"weak: <why>"`` (a warning is logged). That still keeps every
check out of the student's interpreter, but gives no filesystem or network isolation, no
bound on the number of processes, and a process that leaves the session may outlive the
sandbox unless it keeps the sandbox's environment (close() kills those that do). mode
"bwrap" never runs the weak sandbox.

Wall time of requests is enforced here too: every request carries a time limit that the
server applies with SIGALRM (the student's code is interrupted, the server answers
"timeout"); if no answer arrives within that limit plus a grace period, the sandbox is
killed. Nothing from the sandbox is unpickled or evaluated: frames are length-prefixed
JSON and .npy bytes, at most wire.MAX_FRAME (64 MB) each (wire.py), and they carry only
the student's values: the grader never sends the sandbox anything but the student's code
and the checks' inputs.
"""
import ctypes
import json
import logging
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder.course import DATA_DIR, RELEASE_DIR
from autograder.sandbox import wire
from autograder.sandbox.arena import ARENA_BYTES, Arena
from autograder.sandbox.interface import NotTransferable, Ref, Student, StudentError

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SERVER_FILES = ("student_server.py", "wire.py")
GRACE = 3.0            # seconds the grader waits beyond a request's own time limit
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0    # seconds for the sandbox's processes to be gone once killed
SANDBOX_HOME = "/home/student"
SANDBOX_WORKDIR = f"{SANDBOX_HOME}/mlp_optimizers"
SANDBOX_SERVER_DIR = "/opt/verify"
SANDBOX_UID = 65534
DEVICES = ("null", "zero", "full", "random", "urandom")
TMPFS_BYTES = 256 * 1024 * 1024
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_TASKS = 64         # processes and threads of one sandbox
PROTOCOL_ERROR = "沙箱发来了无效的消息（例如学生代码向通信管道写入了数据），已停止运行学生代码"
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap), or grade anyway "
                "in a weak sandbox (a plain subprocess with limits, no isolation) with "
                "--allow-weak-sandbox (Sandbox(allow_weak=True), or AUTOGRADER_SANDBOX=weak)")
MODES = ("auto", "bwrap", "weak")


class SandboxError(Exception):
    """The sandbox is gone or unusable; reason says why (in Chinese when it concerns the
    student's code, in English when the sandbox cannot start on this machine)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class SandboxDied(SandboxError):
    """The sandboxed process exited or was killed."""


class SandboxTimeout(SandboxError):
    """A request got no answer in time: the sandbox has been killed."""


class ProtocolError(SandboxError):
    """The sandbox sent something that is not a valid answer: it has been killed."""


class RequestTimeout(Exception):
    """The server interrupted the student's code at the request's time limit (the sandbox
    is still usable), or the deadline had passed before the request was sent."""


# --------------------------------------------------------------------------------------
# Starting the process
# --------------------------------------------------------------------------------------

def _limits(memory_mb, cpu_seconds):
    """preexec_fn: resource limits of the sandboxed process tree, and SIGKILL when the
    grader dies (bwrap's --die-with-parent does that for its own child too)."""
    def apply():
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        memory = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def _environment(home, workdir):
    return {
        "HOME": home, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
        "TMPDIR": "/tmp", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib",
        "NBGRADER_EXECUTION": "verify", "STUDENT_WORKDIR": workdir,
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
    }


def _site_dirs():
    """Folders to put on the server's sys.path: those holding numpy and IPython."""
    import IPython
    import numpy
    dirs = []
    for module in (numpy, IPython):
        folder = str(Path(module.__file__).resolve().parent.parent)
        if folder not in dirs:
            dirs.append(folder)
    return dirs


def _under(path, folders):
    path = Path(path)
    return any(path == Path(f) or Path(f) in path.parents for f in folders)


# The keeper (see _Keeper): makes the user namespace, then kills the sandbox's first process
# when the grader closes the channel or dies. It ignores the signals a terminal or a batch
# runner sends to a whole process group, so that it outlives a grader killed that way.
_KEEPER = """
import ctypes, signal, socket, sys
for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(number, signal.SIG_IGN)
if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:  # CLONE_NEWUSER
    sys.exit("unshare: errno %d" % ctypes.get_errno())
channel = socket.socket(fileno=0)
channel.sendall(b"ok")
try:
    _, fds, _, _ = socket.recv_fds(channel, 1, 1)
except OSError:
    fds = []
if fds:
    try:
        while channel.recv(1):
            pass
    except OSError:
        pass
    try:
        signal.pidfd_send_signal(fds[0], signal.SIGKILL)
    except OSError:
        pass
"""


class _Keeper:
    """(grader running as root) A small process that makes the sandbox's user namespace
    and then guards the sandbox.

    The namespace (userns_fd): uid/gid SANDBOX_UID inside are SANDBOX_UID outside, and
    the outside's root is uid/gid 1 inside. With no uid 0 inside, bwrap's switch to
    SANDBOX_UID keeps the capabilities it needs for the setup, and root's files stay
    readable to it; the student's processes are then not root's, so RLIMIT_NPROC, which
    the kernel does not apply to root's processes, bounds them.

    Guarding: bwrap's parent-death signal cannot reach the namespace's first process any
    more (it runs under another uid than bwrap's outer process, which has dropped its
    capabilities). The keeper holds a pidfd of that process (guard()) and, having every
    capability in the namespace, kills it when its channel from the grader reaches EOF:
    at close(), or when the grader dies. The kernel then kills the rest of the sandbox.
    """

    def __init__(self):
        self.channel, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _KEEPER], stdin=theirs,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         close_fds=True, start_new_session=True)
        finally:
            theirs.close()
        try:
            self.channel.settimeout(STARTUP_TIMEOUT)
            if self.channel.recv(2, socket.MSG_WAITALL) != b"ok":
                self.channel.close()
                error = self.proc.stderr.read(500).decode("utf-8", "replace").strip()
                raise SandboxError(f"bwrap: cannot create a user namespace ({error or 'no reason given'})")
            mapping = f"1 0 1\n{SANDBOX_UID} {SANDBOX_UID} 1\n"
            for name in ("uid_map", "gid_map"):
                with open(f"/proc/{self.proc.pid}/{name}", "w") as f:
                    f.write(mapping)
            self.userns_fd = os.open(f"/proc/{self.proc.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            self.close()
            raise SandboxError(f"bwrap: cannot set up a user namespace ({e})") from None
        except BaseException:
            self.close()
            raise

    def guard(self, pidfd):
        """From now on, pidfd's process is killed when the channel closes."""
        socket.send_fds(self.channel, [b"p"], [pidfd])

    def close(self):
        """Closes the channel (the keeper kills what it guards, then exits)."""
        self.channel.close()
        if getattr(self, "userns_fd", None) is not None:
            os.close(self.userns_fd)
            self.userns_fd = None
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()


def _bwrap_command(bwrap, python, site_dirs, *, userns_fd, info_fd, server_args):
    """The bwrap command line (see the module docstring for what it binds). userns_fd:
    the user namespace to enter (grader running as root) or None (bwrap makes one)."""
    if userns_fd is None:
        cmd = [bwrap, "--unshare-all"]
    else:
        cmd = [bwrap, "--userns", str(userns_fd), "--unshare-pid", "--unshare-net", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try"]
    cmd += ["--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox",
            "--info-fd", str(info_fd),
            "--proc", "/proc", "--size", str(1024 * 1024), "--tmpfs", "/dev"]
    for name in DEVICES:
        cmd += ["--dev-bind", f"/dev/{name}", f"/dev/{name}"]
    # the private /tmp before the folders: bwrap mounts in order, and the Python install
    # or the course may themselves live under /tmp (a CI checkout), bound below
    cmd += ["--symlink", "/proc/self/fd", "/dev/fd",
            "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp",
            "--size", str(TMPFS_BYTES), "--tmpfs", SANDBOX_HOME,
            "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    bound = ["/usr"]
    for folder in [sys.base_prefix, sys.prefix, *site_dirs]:
        folder = str(Path(folder).resolve())
        if not _under(folder, bound):
            cmd += ["--ro-bind", folder, folder]
            bound.append(folder)
    # The grader's own package must not be importable or readable from inside.
    import autograder
    package = Path(autograder.__file__).resolve().parent
    if _under(package, bound):
        cmd += ["--tmpfs", str(package)]
    for folder in site_dirs:
        for hook in sorted(Path(folder).glob("__editable__*autograder*")):
            cmd += ["--ro-bind", "/dev/null", str(hook)]
    for name in ("utils.py", "public_tests.py"):
        cmd += ["--ro-bind", str(RELEASE_DIR / name), f"{SANDBOX_WORKDIR}/{name}"]
    cmd += ["--ro-bind", str(DATA_DIR), f"{SANDBOX_WORKDIR}/data/mnist"]
    for name in SERVER_FILES:
        cmd += ["--ro-bind", str(HERE / name), f"{SANDBOX_SERVER_DIR}/{name}"]
    cmd += ["--chdir", SANDBOX_WORKDIR, "--clearenv"]
    for key, value in _environment(SANDBOX_HOME, SANDBOX_WORKDIR).items():
        cmd += ["--setenv", key, value]
    cmd += ["--", python, "-I", "-B", "-S", f"{SANDBOX_SERVER_DIR}/student_server.py", *server_args]
    return cmd


def _weak_layout(root):
    """A working directory like the sandbox's, for the weak sandbox: root/server/ holds
    the server, root/home/mlp_optimizers the release's helpers and a link to the data."""
    server = root / "server"
    workdir = root / "home" / "mlp_optimizers"
    server.mkdir(parents=True)
    (workdir / "data").mkdir(parents=True)
    for name in SERVER_FILES:
        shutil.copy2(HERE / name, server / name)
    for name in ("utils.py", "public_tests.py"):
        shutil.copy2(RELEASE_DIR / name, workdir / name)
    (workdir / "data" / "mnist").symlink_to(DATA_DIR, target_is_directory=True)
    (root / "tmp").mkdir()
    return server / "student_server.py", workdir


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


_BWRAP_BROKEN = None  # why bwrap failed to start in this process, once it has


class Sandbox:
    """A running student server. Use as a context manager, or call close().

    mode: "auto" (bwrap; the weak sandbox only if allow_weak), "bwrap" (bwrap only),
    "weak" (the weak sandbox); default: AUTOGRADER_SANDBOX, else "auto" (the environment
    variable set to "weak" also allows the weak sandbox).
    kind: "bwrap" or "weak: <why>".
    memory_mb: address space per process; cpu_seconds: CPU time per process;
    wall_seconds: wall time of the whole sandbox (default cpu_seconds + 60);
    max_tasks: processes and threads (bwrap only); arena_bytes: size of the shared arena.
    """

    def __init__(self, *, memory_mb=2048, cpu_seconds=600, mode=None, allow_weak=False,
                 wall_seconds=None, max_tasks=MAX_TASKS, arena_bytes=ARENA_BYTES,
                 startup_timeout=STARTUP_TIMEOUT):
        global _BWRAP_BROKEN
        from_environment = os.environ.get("AUTOGRADER_SANDBOX", "")
        chosen_by = f"mode={mode!r}" if mode else f"AUTOGRADER_SANDBOX={from_environment}"
        mode = mode or from_environment or "auto"
        if mode not in MODES:
            raise ValueError(f"unknown sandbox mode {mode!r}: auto, bwrap or weak")
        allow_weak = allow_weak or from_environment == "weak"
        self.memory_mb = memory_mb
        self.cpu_seconds = cpu_seconds
        self.wall_seconds = wall_seconds if wall_seconds is not None else cpu_seconds + 60
        self.max_tasks = max_tasks
        self.kind = None
        self.proc = None
        self.dead = None  # the reason, once the process is gone
        self._init_pidfd = None  # bwrap: the first process of the sandbox's pid namespace
        self._keeper = None  # bwrap, grader running as root: see _Keeper
        self._token = None  # weak: an environment entry that marks the sandbox's processes
        self._timer = None
        self._tmp = Path(tempfile.mkdtemp(prefix="verify-"))
        self.arena = None
        try:
            try:
                self.arena = Arena(arena_bytes)
            except OSError as e:
                raise SandboxError(f"cannot create the shared arena (a sealed memfd): {e}") from None
            why = None
            bwrap = shutil.which("bwrap")
            if mode == "weak":
                why = f"forced ({chosen_by})"
            elif bwrap is None:
                why = "bwrap not found"
            elif _BWRAP_BROKEN and mode != "bwrap":
                why = _BWRAP_BROKEN
            if why is None:
                try:
                    self._start_bwrap(bwrap, startup_timeout)
                    self.kind = "bwrap"
                    return
                except SandboxError as e:
                    if self._keeper is not None:
                        self._keeper.close()
                        self._keeper = None
                    why = f"bwrap failed to start: {e.reason}"
                    if "bwrap:" in e.reason:  # bwrap itself refused (not a slow start)
                        _BWRAP_BROKEN = why
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

    def _server_args(self, max_tasks):
        return [str(self.arena.fd), str(self.arena.size), str(max_tasks), *_site_dirs()]

    def _start_bwrap(self, bwrap, startup_timeout):
        root = os.geteuid() == 0
        if root:
            self._keeper = _Keeper()
        userns = self._keeper.userns_fd if root else None
        info_read, info_write = os.pipe()
        open_fds = [info_read, info_write]

        def close_info_write():  # once bwrap holds it: EOF on info_read when bwrap is done
            os.close(info_write)
            open_fds.remove(info_write)

        try:
            cmd = _bwrap_command(bwrap, sys.executable, _site_dirs(), userns_fd=userns, info_fd=info_write,
                                 server_args=self._server_args(self.max_tasks))
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
        server, workdir = _weak_layout(root)
        env = _environment(str(workdir.parent), str(workdir))
        env["TMPDIR"] = str(root / "tmp")
        env["MPLCONFIGDIR"] = str(root / "tmp" / "matplotlib")
        self._token = f"AUTOGRADER_SANDBOX_ID={os.urandom(16).hex()}"
        env.update([self._token.split("=", 1)])
        self._start([sys.executable, "-I", "-B", "-S", str(server), *self._server_args(0)],
                    cwd=workdir, env=env, startup_timeout=startup_timeout, pass_fds=[self.arena.fd])

    def _start(self, cmd, cwd, startup_timeout, env=None, pass_fds=(), extra_groups=None,
               before_hello=None):
        self._stderr = tempfile.TemporaryFile(dir=self._tmp)
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            cwd=cwd, env=env if env is not None else {}, start_new_session=True,
            preexec_fn=_limits(self.memory_mb, self.cpu_seconds), close_fds=True,
            pass_fds=pass_fds, extra_groups=extra_groups)
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
                raise SandboxDied(self._death_reason())
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
                raise SandboxDied(self._death_reason()) from None
            view = view[written:]

    def _receive(self, deadline):
        header = self._read(wire.HEADER_SIZE, deadline)
        try:
            length = wire.frame_length(header, wire.MAX_FRAME)
            return wire.parse(self._read(length, deadline))
        except wire.WireError as e:
            raise self._protocol_error(e) from None

    def _protocol_error(self, detail):
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
            return self._receive(deadline)
        except SandboxError as e:
            self._kill(e.reason)
            raise

    # --- running cells ------------------------------------------------------------------

    def run_cell(self, source, timeout):
        """Runs one cell of student code. Returns (error text or None, timed out)."""
        reply, _ = self.request({"op": "run_cell", "source": source}, timeout=timeout)
        if not reply.get("ok"):
            raise self._protocol_error(reply)
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
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None
        if self.arena is not None:
            self.arena.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------------------
# The Student interface over the pipe and the arena
# --------------------------------------------------------------------------------------

class _ShareEncoder(wire.Encoder):
    """Encodes a value for "share": each array is copied into the arena."""

    def __init__(self, arena):
        super().__init__()
        self.arena = arena

    def array(self, value):
        offset, dtype, shape = self.arena.put(value)
        return {"arena": [offset, dtype.str, list(shape)]}


class Remote(Student):
    """The Student interface (interface.py) for the names defined in a Sandbox.

    deadline: time.monotonic() after which requests that run student code fail with
    RequestTimeout (None: no deadline); the server interrupts the student's code there.
    share/observe use the sandbox's arena: observe never sends a request.
    """

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.deadline = None

    def _ref_of(self, value):
        return self._own(value) if isinstance(value, Ref) else None

    def _encode(self, values):
        encoder = wire.Encoder(ref_of=self._ref_of)
        return [encoder.value(v) for v in values], encoder.blobs

    def _request(self, message, blobs=()):
        timeout = None
        if self.deadline is not None:
            timeout = self.deadline - time.monotonic()
            if timeout <= 0:
                raise RequestTimeout()
        reply, reply_blobs = self.sandbox.request(message, blobs, timeout=timeout)
        if reply.get("ok") is True:
            return reply, reply_blobs
        if reply.get("timeout") is True:
            raise RequestTimeout()
        error = reply.get("error")
        if type(error) is dict:
            return self._raise(StudentError(str(error.get("type"))[:200], str(error.get("message"))[:2000]))
        if "not_transferable" in reply:
            raise NotTransferable(str(reply["not_transferable"])[:200])
        if "too_large" in reply:
            raise NotTransferable(f"超过 {wire.MAX_FRAME // 2**20} MB 的值")
        if reply.get("missing") is True:
            raise KeyError(message.get("name"))
        raise self.sandbox._protocol_error(reply)

    @staticmethod
    def _raise(error):
        raise error

    def _new_ref(self, reply, shared=None):
        handle = reply.get("ref")
        if type(handle) is not int:
            raise self.sandbox._protocol_error(reply)
        return Ref(self, handle, shared)

    def lookup(self, name):
        return self._new_ref(self._request({"op": "lookup", "name": name})[0])

    def call(self, fn, *args, **kwargs):
        encoded, blobs = self._encode([*args, *kwargs.values()])
        message = {"op": "call", "ref": self._own(fn), "args": encoded[:len(args)],
                   "kwargs": [[k, v] for k, v in zip(kwargs, encoded[len(args):])]}
        return self._new_ref(self._request(message, blobs)[0])

    def getattr(self, ref, name):
        return self._new_ref(self._request({"op": "getattr", "ref": self._own(ref), "name": name})[0])

    def getitem(self, ref, key):
        (key,), blobs = self._encode([key])
        return self._new_ref(self._request({"op": "getitem", "ref": self._own(ref), "key": key}, blobs)[0])

    def send(self, value):
        (tree,), blobs = self._encode([value])
        return self._new_ref(self._request({"op": "send", "value": tree}, blobs)[0])

    def fetch(self, ref):
        reply, blobs = self._request({"op": "fetch", "ref": self._own(ref)})
        try:
            return wire.Decoder(blobs).value(reply.get("value"))
        except wire.WireError as e:
            raise self.sandbox._protocol_error(e) from None

    def share(self, value):
        arena = self.sandbox.arena
        encoder = _ShareEncoder(arena)
        tree = encoder.value(value)
        reply, _ = self._request({"op": "share", "value": tree}, encoder.blobs)
        return self._new_ref(reply, shared=(arena.generation, tree, encoder.blobs))

    def observe(self, ref):
        self._own(ref)
        if ref.shared is None:
            raise TypeError("observe() needs a Ref made by share()")
        generation, tree, blobs = ref.shared
        arena = self.sandbox.arena
        if generation != arena.generation:
            raise ValueError("this shared value was released by forget()")
        return wire.Decoder(blobs, arena=arena.copy_out).value(tree)

    def forget(self):
        """Lets the server drop every object it holds for Refs made so far, and starts the
        arena afresh (Refs shared before can no longer be observed)."""
        try:
            self._request({"op": "forget"})
        finally:
            self.sandbox.arena.reset()
