"""The bubblewrap command line of the sandbox, the user namespace it enters when the
grader runs as root (Keeper), and the weak sandbox's layout.

command() runs ``student_server.py`` under bubblewrap:

* new pid, network (only loopback), ipc, uts and cgroup namespaces and a user namespace,
  ``--die-with-parent``, ``--new-session``, all capabilities dropped, no new privileges,
  uid/gid 65534;
* no nested user namespaces: the student's code cannot make one (nor, therefore, a
  network or mount namespace of its own): ``--disable-userns`` when bwrap makes the user
  namespace, the keeper's limit of 0 user namespaces (below) otherwise, and
  ``--assert-userns-disabled`` in both cases (bwrap refuses to start when it does not hold);
* when the grader runs as root, the user namespace is made by a small keeper process
  (``--userns``, see Keeper): uid/gid 65534 inside are 65534 (nobody) outside, and root
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
  other submissions, not /sys (so not the sandbox's memory cgroup), not the grader's
  processes (the pid namespace holds only the sandbox's own, so the student's code cannot
  signal the grader);
* inherited: the arena's memfd (arena.py), which both sides map.

The environment is cleared (NBGRADER_EXECUTION=verify, single-threaded BLAS, Agg
matplotlib). weak_layout() makes the weak sandbox's working directory (no isolation: see
proxy.py).
"""
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from autograder.course import DATA_DIR, RELEASE_DIR
from autograder.sandbox.errors import SandboxError

HERE = Path(__file__).resolve().parent
SERVER_FILES = ("student_server.py", "wire.py")
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0    # seconds for the sandbox's processes to be gone once killed
SANDBOX_HOME = "/home/student"
SANDBOX_WORKDIR = f"{SANDBOX_HOME}/mlp_optimizers"
SANDBOX_SERVER_DIR = "/opt/verify"
SANDBOX_UID = 65534
DEVICES = ("null", "zero", "full", "random", "urandom")
TMPFS_BYTES = 256 * 1024 * 1024


def environment(home, workdir):
    """The sandboxed server's whole environment."""
    return {
        "HOME": home, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
        "TMPDIR": "/tmp", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib",
        "NBGRADER_EXECUTION": "verify", "STUDENT_WORKDIR": workdir,
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
    }


def site_dirs():
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


# The keeper (see Keeper): makes the user namespace, allows no user namespace inside it,
# then kills the sandbox's first process when the grader closes the channel or dies. It
# ignores the signals a terminal or a batch runner sends to a whole process group, so that
# it outlives a grader killed that way.
_KEEPER = """
import ctypes, signal, socket, sys
for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(number, signal.SIG_IGN)
if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:  # CLONE_NEWUSER
    sys.exit("unshare: errno %d" % ctypes.get_errno())
try:  # the limit of this namespace: nothing in it can make another one
    with open("/proc/sys/user/max_user_namespaces", "w") as limit:
        limit.write("0")
except OSError as e:
    sys.exit("max_user_namespaces: %s" % e)
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


class Keeper:
    """(grader running as root) A small process that makes the sandbox's user namespace
    and then guards the sandbox.

    The namespace (userns_fd): uid/gid SANDBOX_UID inside are SANDBOX_UID outside, and
    the outside's root is uid/gid 1 inside; its user.max_user_namespaces is 0, so no
    process in it can make a user namespace (nor raise that limit: only the keeper holds
    capabilities in it). With no uid 0 inside, bwrap's switch to
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


def command(bwrap, python, sites, *, userns_fd, info_fd, server_args):
    """The bwrap command line (see the module docstring for what it binds). sites: the
    folders of site_dirs(); userns_fd: the user namespace to enter (grader running as root: the Keeper's, which allows no
    nested one) or None (bwrap makes one, and disables nested ones)."""
    if userns_fd is None:
        cmd = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns"]
    else:
        cmd = [bwrap, "--userns", str(userns_fd), "--unshare-pid", "--unshare-net", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try"]
    cmd += ["--assert-userns-disabled"]
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
    for folder in [sys.base_prefix, sys.prefix, *sites]:
        folder = str(Path(folder).resolve())
        if not _under(folder, bound):
            cmd += ["--ro-bind", folder, folder]
            bound.append(folder)
    # The grader's own package must not be importable or readable from inside.
    import autograder
    package = Path(autograder.__file__).resolve().parent
    if _under(package, bound):
        cmd += ["--tmpfs", str(package)]
    for folder in sites:
        for hook in sorted(Path(folder).glob("__editable__*autograder*")):
            cmd += ["--ro-bind", "/dev/null", str(hook)]
    for name in ("utils.py", "public_tests.py"):
        cmd += ["--ro-bind", str(RELEASE_DIR / name), f"{SANDBOX_WORKDIR}/{name}"]
    cmd += ["--ro-bind", str(DATA_DIR), f"{SANDBOX_WORKDIR}/data/mnist"]
    for name in SERVER_FILES:
        cmd += ["--ro-bind", str(HERE / name), f"{SANDBOX_SERVER_DIR}/{name}"]
    cmd += ["--chdir", SANDBOX_WORKDIR, "--clearenv"]
    for key, value in environment(SANDBOX_HOME, SANDBOX_WORKDIR).items():
        cmd += ["--setenv", key, value]
    cmd += ["--", python, "-I", "-B", "-S", f"{SANDBOX_SERVER_DIR}/student_server.py", *server_args]
    return cmd


def weak_layout(root):
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

