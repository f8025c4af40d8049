"""The grader's side of the sandbox: starting the student server, and Remote, the Student
interface (interface.py) over its pipe.

Sandbox() starts ``student_server.py`` under bubblewrap:

* every namespace unshared (no network: a fresh network namespace with only loopback),
  ``--die-with-parent``, ``--new-session``, all capabilities dropped, uid/gid 65534;
* read-only: /usr (and /bin /lib /lib64 /sbin as on the host), the Python installation
  (sys.base_prefix), the virtual environment (sys.prefix) and the site-packages folders
  that hold numpy and IPython, with any ``autograder`` package or editable-install hook in
  them masked; the server's two files at /opt/verify; the release's utils.py and
  public_tests.py and the MNIST folder in the working directory
  /home/student/mlp_optimizers (/home/student is a small private tmpfs, so the notebook
  may write files there);
* a private /tmp (tmpfs, size-limited), a new /proc, a minimal /dev;
* nothing else: not the repository, not autograder/, not source/ or a gradebook, not
  other submissions;
* limits set before exec: address space (memory_mb), CPU seconds, file size, open files,
  no core dumps; the environment is cleared (NBGRADER_EXECUTION=verify, single-threaded
  BLAS, Agg matplotlib).

When bwrap is missing or fails to start, the server runs as a plain subprocess with the same
limits and environment in a temporary working directory, and Sandbox.kind says
``"fallback: <why>"`` (a warning is logged). That still keeps every check out of the
student's interpreter, but gives no filesystem or network isolation. Setting the
environment variable AUTOGRADER_SANDBOX=fallback (or mode="fallback") forces it.

Wall time is enforced here: every request carries a time limit that the server applies
with SIGALRM (the student's code is interrupted, the server answers "timeout"); if no
answer arrives within that limit plus a grace period, the process group is killed.
Nothing from the sandbox is unpickled or evaluated: frames are length-prefixed JSON and
.npy bytes, at most wire.MAX_FRAME (64 MB) each (wire.py).
"""
import ctypes
import logging
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.course import DATA_DIR, RELEASE_DIR
from autograder.sandbox import wire
from autograder.sandbox.interface import NotTransferable, Ref, Student, StudentError

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SERVER_FILES = ("student_server.py", "wire.py")
GRACE = 3.0            # seconds the grader waits beyond a request's own time limit
STARTUP_TIMEOUT = 60.0
SANDBOX_HOME = "/home/student"
SANDBOX_WORKDIR = f"{SANDBOX_HOME}/mlp_optimizers"
SANDBOX_SERVER_DIR = "/opt/verify"
TMPFS_BYTES = 256 * 1024 * 1024
PROTOCOL_ERROR = "沙箱发来了无效的消息（例如学生代码向通信管道写入了数据），已停止运行学生代码"
MAX_FILE_BYTES = 256 * 1024 * 1024


class SandboxError(Exception):
    """The sandbox is gone or unusable; reason is a Chinese text for the student."""

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


def _bwrap_command(bwrap, python, site_dirs, memory_mb):
    """The bwrap command line (see the module docstring for what it binds)."""
    cmd = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
           "--uid", "65534", "--gid", "65534", "--hostname", "sandbox",
           # the private /tmp first: bwrap mounts in order, and the Python install or
           # the course may themselves live under /tmp (a CI checkout), bound below
           "--proc", "/proc", "--dev", "/dev",
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
    cmd += ["--", python, "-I", "-B", "-S", f"{SANDBOX_SERVER_DIR}/student_server.py", *site_dirs]
    return cmd


def _fallback_layout(root):
    """A working directory like the sandbox's, for the fallback: root/server/ holds the
    server, root/home/mlp_optimizers the release's helpers and a link to the data."""
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


_BWRAP_BROKEN = None  # why bwrap failed to start in this process, once it has


class Sandbox:
    """A running student server. Use as a context manager, or call close().

    mode: "auto" (bwrap, else the fallback), "bwrap" (no fallback), "fallback".
    kind: "bwrap" or "fallback: <why>".
    """

    def __init__(self, *, memory_mb=2048, cpu_seconds=600, mode=None,
                 startup_timeout=STARTUP_TIMEOUT):
        global _BWRAP_BROKEN
        mode = mode or os.environ.get("AUTOGRADER_SANDBOX", "auto")
        self.memory_mb = memory_mb
        self.cpu_seconds = cpu_seconds
        self.proc = None
        self.dead = None  # the reason, once the process is gone
        self._tmp = Path(tempfile.mkdtemp(prefix="verify-"))
        try:
            why = None
            bwrap = shutil.which("bwrap")
            if mode == "fallback":
                why = "forced (AUTOGRADER_SANDBOX=fallback)"
            elif bwrap is None:
                why = "bwrap not found"
            elif _BWRAP_BROKEN and mode != "bwrap":
                why = _BWRAP_BROKEN
            if why is None:
                try:
                    self._start(_bwrap_command(bwrap, sys.executable, _site_dirs(), memory_mb),
                                cwd=self._tmp, startup_timeout=startup_timeout)
                    self.kind = "bwrap"
                    return
                except SandboxError as e:
                    if mode == "bwrap":
                        raise
                    why = f"bwrap failed to start: {e.reason}"
                    if "bwrap:" in e.reason:  # bwrap itself refused (not a slow start)
                        _BWRAP_BROKEN = why
            log.warning("verification runs the student's code WITHOUT bubblewrap (%s): "
                        "limits and a separate process only, no filesystem or network isolation", why)
            server, workdir = _fallback_layout(self._tmp / "fallback")
            env = _environment(str(workdir.parent), str(workdir))
            env["TMPDIR"] = str(self._tmp / "fallback" / "tmp")
            env["MPLCONFIGDIR"] = str(self._tmp / "fallback" / "tmp" / "matplotlib")
            self._start([sys.executable, "-I", "-B", "-S", str(server), *_site_dirs()],
                        cwd=workdir, env=env, startup_timeout=startup_timeout)
            self.kind = f"fallback: {why}"
        except BaseException:
            self.close()
            raise

    def _start(self, cmd, cwd, startup_timeout, env=None):
        self._stderr = tempfile.TemporaryFile(dir=self._tmp)
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            cwd=cwd, env=env if env is not None else {}, start_new_session=True,
            preexec_fn=_limits(self.memory_mb, self.cpu_seconds), close_fds=True)
        self.dead = None
        self._in = self.proc.stdout.fileno()
        self._out = self.proc.stdin.fileno()
        os.set_blocking(self._out, False)
        try:
            hello, _ = self._receive(time.monotonic() + startup_timeout)
            if not hello.get("ok") or "hello" not in hello:
                raise SandboxDied(f"student server failed to start: {str(hello.get('error'))[:500]}")
        except SandboxError as e:
            detail = self._stderr_tail()
            self._release(e.reason)
            raise SandboxDied(f"{e.reason}{': ' + detail if detail else ''}") from None

    def _stderr_tail(self, limit=2000):
        try:
            self._stderr.seek(0)
            return self._stderr.read(limit).decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    # --- frames -------------------------------------------------------------------------

    def _death_reason(self):
        """Why the process ended, once it has (waits briefly for its status)."""
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
        if self.dead is None:
            self.dead = reason
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def _release(self, reason):
        """Kills the process and closes its pipes and log."""
        self._kill(reason)
        for stream in (self.proc.stdin, self.proc.stdout, self._stderr):
            try:
                stream.close()
            except OSError:
                pass

    def close(self):
        """Stops the process (politely if it still answers) and removes temporary files."""
        if self.proc is not None:
            if self.dead is None and self.proc.poll() is None:
                try:
                    self._write(wire.frame({"op": "exit"}), time.monotonic() + 1)
                    self.proc.wait(timeout=1)
                except (SandboxError, subprocess.TimeoutExpired):
                    pass
            self._release("已关闭")
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------------------
# The Student interface over the pipe
# --------------------------------------------------------------------------------------

class Remote(Student):
    """The Student interface (interface.py) for the names defined in a Sandbox.

    deadline: time.monotonic() after which requests that run student code fail with
    RequestTimeout (None: no deadline); the server interrupts the student's code there.
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

    def _new_ref(self, reply):
        handle = reply.get("ref")
        if type(handle) is not int:
            raise self.sandbox._protocol_error(reply)
        return Ref(self, handle)

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

    def same(self, a, b):
        reply, _ = self._request({"op": "same", "a": self._own(a), "b": self._own(b)})
        if type(reply.get("same")) is not bool:
            raise self.sandbox._protocol_error(reply)
        return reply["same"]

    def forget(self):
        """Lets the server drop every object it holds for Refs made so far."""
        self._request({"op": "forget"})
