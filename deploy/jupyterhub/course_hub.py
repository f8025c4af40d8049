#!/usr/bin/env python3
"""The course on a JupyterHub of its own: install, set up, start and remove it (run as root).

    python3 deploy/jupyterhub/course_hub.py up        # = make hub: install, set up, print the
                                                      #   login URL and accounts, run the hub
    python3 deploy/jupyterhub/course_hub.py install   # the environment only (venv + proxy)
    python3 deploy/jupyterhub/course_hub.py setup     # accounts, course directory, exchange
    python3 deploy/jupyterhub/course_hub.py start     # run the hub (foreground, Ctrl-C stops it)
    python3 deploy/jupyterhub/course_hub.py accounts  # print the login URL and accounts again
    python3 deploy/jupyterhub/course_hub.py teardown  # remove the accounts, exchange and state
    python3 deploy/jupyterhub/course_hub.py config --out DIR   # only the role configurations

What it builds (the README's "Running the course on JupyterHub" explains it for instructors):

  PREFIX (/opt/mlp-course-hub)    software, world-readable: venv/ (Debian's /usr/bin/python3, the
                                  pinned requirements.txt of this folder: JupyterHub, JupyterLab,
                                  nbgrader, numpy ...), proxy/ (configurable-http-proxy from npm,
                                  pinned by package-lock.json)
  STATE (/srv/mlp-course-hub)     this hub, mode 0711: hub.json (settings), accounts.json
                                  (passwords), jupyterhub.sqlite, the cookie secret (each root
                                  only), etc/jupyter/ (the nbgrader and server configuration that
                                  the user servers read through JUPYTER_CONFIG_PATH, with
                                  course_exchange.py), data/mnist (read-only, decoded once)
  EXCHANGE (/srv/nbgrader/exchange)  nbgrader's exchange, made here (prepare_exchange): the root
                                  root's and 0755, the course's folders the instructor's (inbound
                                  3733: students create their submission but cannot list, rename
                                  or read the others'); course_exchange.py's classes collect a
                                  submission only from the student who owns it
  Unix users                      one instructor and the students (useradd -m, random passwords;
                                  PAM checks them at the hub's login page); each created account
                                  carries the comment "mlp-course-hub" and only such accounts are
                                  ever changed or removed
  /home/INSTRUCTOR/course         the nbgrader course directory (source/, release/, the autograder
                                  package, data/, gradebook.db), owned by the instructor, mode 0700
  a student's server              StudentTotals: memory, CPU and processes of everything the
                                  server starts together, in a cgroup of the student's
                                  (student_cgroup.py, jupyterhub_config.py); STUDENT_LIMITS, hard
                                  rlimits per process: processes of the account, address space,
                                  size of one file (all that holds where no cgroup can be made)
  STATE/disks/                    root only: a student's home is an ext4 image of
                                  StudentTotals.home_bytes mounted on it, inbound one of
                                  INBOUND_BYTES (mount_limited); filling either stops there

`start` (and `up`) refuse to run the hub while a student could read this checkout (solutions,
hidden checks), the course directory or the hub's state; the message names the chmod that fixes it.

Only the standard library: this runs with the system's python3 before any venv exists.
"""
import argparse
import contextlib
import fcntl
import grp
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
COURSE_ID = "mlp_optimizers"
ASSIGNMENT = "mlp_optimizers"
MARKER = "mlp-course-hub"          # the comment (GECOS) of every account this script creates
DEFAULT_PREFIX = Path("/opt/mlp-course-hub")
DEFAULT_STATE = Path("/srv/mlp-course-hub")
DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")
SYSTEM_PYTHON = "/usr/bin/python3"
BLAS_THREADS = 1                   # per user server: OpenBLAS/OpenMP/MKL threads
# a student's server and everything it starts (kernels, Validate, terminals): hard limits set
# before the server drops to the student's account (apply_limits), which the student cannot raise
STUDENT_LIMITS = {
    "RLIMIT_NPROC": 512,            # processes and threads of the student's account, all together
    "RLIMIT_AS": 4 * 2**30,         # address space of one process (a kernel after Run All: ~1.5 GB)
    "RLIMIT_FSIZE": 2**30,          # one file written (or truncated) by the student: 1 GiB
    "RLIMIT_CORE": 0,               # no core dumps
}


@dataclass(frozen=True)
class StudentTotals:
    """What one student's server and everything it starts may take together (a cgroup per
    student, student_cgroup.py) and the size of the student's home (a filesystem of its own)."""
    memory_bytes: int = 3 * 2**29   # 1.5 GiB: measured 1146 MB while Validate's second kernel runs
    cpus: float = 1.0               # CPU time: one core's worth, however many processes
    tasks: int = 512                # processes and threads
    home_bytes: int = 2 * 2**30     # the home: the notebook, figures, checkpoints, pip's cache


INBOUND_BYTES = 4 * 2**30           # the exchange's inbound: every submission of the term (~1 MB each)
NODE_MAJOR = 20                    # configurable-http-proxy 5.3.0 needs node >= 20

# nbgrader's JupyterLab plugins and server extensions, and who gets which (nbgrader's docs,
# "Using nbgrader with JupyterHub": students get the assignment list; instructors also the
# course list, the formgrader and Create Assignment; everyone gets Validate)
LAB_PLUGINS = {
    "@jupyter/nbgrader:assignment-list": {"student", "instructor"},
    "@jupyter/nbgrader:validate-assignment": {"student", "instructor"},
    "@jupyter/nbgrader:course-list": {"instructor"},
    "@jupyter/nbgrader:formgrader": {"instructor"},
    "@jupyter/nbgrader:create-assignment": {"instructor"},
}
# JupyterLab's news popup fetches from the internet: off on the course hub
LAB_OFF = ["@jupyterlab/apputils-extension:announcements"]
SERVER_EXTENSIONS = {
    "nbgrader.server_extensions.assignment_list": {"student", "instructor"},
    "nbgrader.server_extensions.validate_assignment": {"student", "instructor"},
    "nbgrader.server_extensions.course_list": {"instructor"},
    "nbgrader.server_extensions.formgrader": {"instructor"},
}
# nbgrader's exchange steps (c.ExchangeFactory) and their classes in course_exchange.py
EXCHANGE_CLASSES = {"exchange": "CourseExchange", "fetch_assignment": "FetchAssignment",
                    "fetch_feedback": "FetchFeedback", "release_assignment": "ReleaseAssignment",
                    "release_feedback": "ReleaseFeedback", "list": "List", "submit": "Submit",
                    "collect": "Collect"}
# the exchange's folders below the root: (name, mode), all the instructor's (course_exchange.py)
EXCHANGE_FOLDERS = [(".", 0o755), ("outbound", 0o755), ("inbound", 0o3733), ("feedback", 0o711)]
# what the instructor's course directory holds, copied from this repository
COURSE_FILES = ["nbgrader_config.py", "source", "autograder", "data/mnist"]
DATA_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz", "SHA256SUMS"]


class HubError(Exception):
    """Something the person running the script has to fix; the message says what."""


def log(message):
    print(f"[course-hub] {message}", flush=True)


def run(cmd, check=True, timeout=900, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        tail = "\n  ".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise HubError(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n  {tail}")
    return result


def digest(*paths):
    """sha256 of the files without their comment lines (a changed comment installs nothing anew)."""
    h = hashlib.sha256()
    for path in paths:
        lines = Path(path).read_text().splitlines()
        h.update("\n".join(line for line in lines if not line.lstrip().startswith("#")).encode())
    return h.hexdigest()


@contextlib.contextmanager
def locked(path):
    """An exclusive lock (two installs into one prefix wait for each other)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def write_private(path, text):
    """Writes text into path, readable and writable by its owner (root) only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def world_readable(top):
    """a+rX on top and everything below it (users' servers run the venv, read the data)."""
    for folder, dirs, files in os.walk(top):
        os.chmod(folder, os.stat(folder).st_mode | 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                mode = os.stat(path).st_mode
                os.chmod(path, mode | 0o444 | (0o111 if mode & 0o100 else 0))


# ----------------------------------------------------------------------------------------
# install: the venv and the proxy
# ----------------------------------------------------------------------------------------

def missing_tools():
    """What install needs and this machine lacks (a list of sentences)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (the hub reads /etc/shadow through PAM and starts servers as the users)")
    if not Path(SYSTEM_PYTHON).exists():
        missing.append(f"{SYSTEM_PYTHON} (apt-get install python3 python3-venv)")
    elif run([SYSTEM_PYTHON, "-c", "import venv, ensurepip"], check=False).returncode != 0:
        missing.append("the venv module of the system Python (apt-get install python3-venv)")
    for tool, package in (("node", "nodejs"), ("npm", "npm")):
        if not shutil.which(tool):
            missing.append(f"{tool} (apt-get install {package})")
    if shutil.which("node"):
        version = run(["node", "--version"], check=False).stdout.strip().lstrip("v")
        if not version.split(".")[0].isdigit() or int(version.split(".")[0]) < NODE_MAJOR:
            missing.append(f"node >= {NODE_MAJOR} for configurable-http-proxy 5.3.0 (this is node {version}; "
                           f"Debian 12's nodejs package is 18: take node from nodesource.com or nvm)")
    for tool in ("useradd", "userdel", "chpasswd", "runuser"):
        if not shutil.which(tool):
            missing.append(f"{tool} (the passwd and util-linux packages)")
    return missing


def install(prefix=DEFAULT_PREFIX):
    """Creates (or reuses) PREFIX/venv and PREFIX/proxy; returns {"venv": ..., "proxy": ...}.
    A second call with the same lock files does nothing (a stamp holds their sha256)."""
    missing = missing_tools()
    if missing:
        raise HubError("cannot install the course hub; missing: " + "; ".join(missing))
    prefix = Path(prefix)
    requirements = HERE / "requirements.txt"
    venv = prefix / "venv"
    proxy = prefix / "proxy"
    with locked(prefix / ".install.lock"):
        stamp = venv / ".course-hub-installed"
        wanted = digest(requirements)
        if not (stamp.exists() and stamp.read_text() == wanted):
            log(f"creating {venv} from {SYSTEM_PYTHON} with {requirements.relative_to(REPO)} (about a minute) ...")
            shutil.rmtree(venv, ignore_errors=True)
            run([SYSTEM_PYTHON, "-m", "venv", str(venv)])
            run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 "-r", str(requirements)])
            stamp.write_text(wanted)
        lock_files = [HERE / "package.json", HERE / "package-lock.json"]
        stamp = proxy / ".course-hub-installed"
        wanted = digest(*lock_files)
        if not (stamp.exists() and stamp.read_text() == wanted):
            log(f"installing configurable-http-proxy into {proxy} (npm ci) ...")
            shutil.rmtree(proxy, ignore_errors=True)
            proxy.mkdir(parents=True)
            for path in lock_files:
                shutil.copy2(path, proxy / path.name)
            run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=proxy)
            stamp.write_text(wanted)
        world_readable(prefix)
    return {"venv": str(venv), "proxy": str(proxy / "node_modules" / ".bin" / "configurable-http-proxy")}


# ----------------------------------------------------------------------------------------
# setup: accounts, data, exchange, course directory, configuration
# ----------------------------------------------------------------------------------------

def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def ours(name):
    """True when the account exists and was made by this script."""
    try:
        return pwd.getpwnam(name).pw_gecos.split(",")[0] == MARKER
    except KeyError:
        return False


def user_processes(name):
    """PIDs of the processes running as the user name (read from /proc)."""
    uid = pwd.getpwnam(name).pw_uid
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def stop_user_processes(name, grace=5.0):
    """SIGTERM, then SIGKILL, to every process of an account this script made."""
    if not ours(name):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = user_processes(name)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while user_processes(name) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not user_processes(name):
            return


def remove_user(name):
    """Removes an account this script made (with its home); other accounts are never touched."""
    if not ours(name):
        return False
    stop_user_processes(name)
    run(["userdel", "--remove", name], check=False)
    with contextlib.suppress(KeyError):
        grp.getgrnam(name)
        run(["groupdel", name], check=False)
    return not user_exists(name)


def make_user(name, password=None, fresh=False):
    """Creates the account name (home, own group, bash) with a random password; keeps one made
    earlier by this script, and its password when given (fresh=True: removes it first).
    Returns the password."""
    if user_exists(name):
        if not ours(name):
            raise HubError(f"the account {name!r} exists and was not made by this script; choose other names")
        if fresh:
            remove_user(name)
    if not user_exists(name):
        run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", "--comment", MARKER, name])
        password = None
    if password is None:
        password = secrets.token_urlsafe(9)
        run(["chpasswd"], input=f"{name}:{password}\n")
    home = Path(pwd.getpwnam(name).pw_dir)
    os.chmod(home, 0o700)   # classmates cannot read each other's work
    return password


def as_user(name, cmd, env, cwd=None, timeout=900, check=True):
    """Runs cmd as the account name with exactly env (plus HOME, USER, LOGNAME)."""
    entry = pwd.getpwnam(name)
    full = {"HOME": entry.pw_dir, "USER": name, "LOGNAME": name, "SHELL": "/bin/bash", **env}
    return run(["runuser", "-u", name, "--", "env", "-i", *[f"{k}={v}" for k, v in full.items()], *cmd],
               cwd=cwd or entry.pw_dir, timeout=timeout, check=check)


def mount_limited(image, target, size, owner, mode):
    """Mounts on target an ext4 filesystem of size bytes kept in the file image (sparse, root's
    only; made on first use holding what target held), its root owned by owner (uid, gid) with
    mode. Nothing when target is a mount point already (after a reboot: mounted again)."""
    image, target = Path(image), Path(target)
    if os.path.ismount(target):
        return
    if not image.exists():
        image.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = image.with_name(image.name + ".partial")
        with open(partial, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.truncate(size)
        run(["mkfs.ext4", "-q", "-F", "-m", "0", str(partial)])
        staging = Path(tempfile.mkdtemp(prefix="mlp-course-disk-"))
        try:
            run(["mount", "-o", "loop", str(partial), str(staging)])
            try:
                (staging / "lost+found").rmdir()
                run(["cp", "-a", f"{target}/.", str(staging)])
            finally:
                run(["umount", str(staging)])
        finally:
            staging.rmdir()
        partial.rename(image)
    run(["mount", "-o", "loop,nosuid,nodev", str(image), str(target)])
    os.chown(target, *owner)
    os.chmod(target, mode)


def unmount(target):
    """Unmounts target when it is a mount point (lazily, when something still holds it)."""
    if os.path.ismount(target) and run(["umount", str(target)], check=False).returncode != 0:
        run(["umount", "--lazy", str(target)], check=False)


def limited_disks(settings):
    """[(image, mount point, size, (uid, gid), mode)]: each student's home, and the exchange's
    inbound (the instructor's, EXCHANGE_FOLDERS' mode), on filesystems of their own; only those
    whose account exists."""
    disks = Path(settings["state"]) / "disks"
    totals = student_totals(settings)
    found = []
    for name in settings["students"]:
        if user_exists(name):
            entry = pwd.getpwnam(name)
            found.append((disks / f"home-{name}.ext4", entry.pw_dir, totals.home_bytes,
                          (entry.pw_uid, entry.pw_gid), 0o700))
    if user_exists(settings["instructor"]):
        teacher = pwd.getpwnam(settings["instructor"])
        found.append((disks / "inbound.ext4", Path(settings["exchange"]) / COURSE_ID / "inbound",
                      settings.get("inbound_bytes", INBOUND_BYTES), (teacher.pw_uid, teacher.pw_gid),
                      dict(EXCHANGE_FOLDERS)["inbound"]))
    return found


def mount_disks(settings):
    """Mounts the students' homes and inbound on their size-limited filesystems; where this
    machine cannot (no loop devices), says so and leaves them on the shared disk."""
    for image, target, size, owner, mode in limited_disks(settings):
        try:
            mount_limited(image, target, size, owner, mode)
        except (HubError, OSError) as e:
            log(f"warning: {target} is not size-limited (no filesystem of its own: {e})")


def remove_cgroups(students):
    """Removes the cgroups that a hub stopped without stopping the servers left for the students'
    servers (student_cgroup.py; the checkout's autograder.sandbox.limits finds the hierarchies)."""
    for path in (str(HERE), str(REPO)):
        if path not in sys.path:
            sys.path.append(path)
    from student_cgroup import StudentCgroup
    for name in students:
        StudentCgroup.remove_all(name)


def student_totals(settings):
    """The StudentTotals of the hub (hub.json's "totals", else the defaults)."""
    return StudentTotals(**settings.get("totals", {}))


def apply_limits(limits):
    """Sets each resource limit ({"RLIMIT_...": value}) as both soft and hard limit of this
    process (and what it starts). Run as root before switching to the user: they cannot raise them."""
    import resource
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def role_of(settings, name):
    return "instructor" if name == settings["instructor"] else "student"


def user_environment(settings, name):
    """The environment of a user's server (also used for the instructor's commands)."""
    role = role_of(settings, name)
    state = Path(settings["state"])
    env = {
        "PATH": f"{settings['venv']}/bin:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "JUPYTER_CONFIG_PATH": f"{state}/etc/jupyter/{role}{os.pathsep}{state}/etc/jupyter/common",
        # BLAS threads per user server: one each (many students share the cores)
        "OPENBLAS_NUM_THREADS": str(BLAS_THREADS),
        "OMP_NUM_THREADS": str(BLAS_THREADS),
        "MKL_NUM_THREADS": str(BLAS_THREADS),
        "MLP_BLAS_THREADS": str(BLAS_THREADS),
        "MNIST_DATA": settings["data"],
    }
    if role == "instructor":
        env["PYTHONPATH"] = settings["course_dir"]     # the autograder package (hidden tests, grade)
    elif settings.get("short_schedule"):
        # the notebook's training cells run the grading schedule (200 iterations): for demos and tests
        env["NBGRADER_EXECUTION"] = "short-schedule"
    return env


def write_configuration(settings):
    """STATE/etc/jupyter/{common,student,instructor}: what the user servers read through
    JUPYTER_CONFIG_PATH (nbgrader's exchange and course, the extensions of each role)."""
    write_role_configs(Path(settings["state"]) / "etc" / "jupyter", settings["exchange"])


def write_role_configs(etc, exchange, course_root=None):
    """etc/common/nbgrader_config.py (course, exchange through etc/common/course_exchange.py,
    JupyterHubAuthPlugin) and etc/{student,instructor}/ (the role's JupyterLab plugins and
    server extensions, idle culling; with course_root, the instructor's nbgrader_config.py
    pointing at the course directory). Also used by the Kubernetes image (k8s/Dockerfile:
    `course_hub.py config`)."""
    etc = Path(etc)
    common = etc / "common"
    common.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "course_exchange.py", common / "course_exchange.py")
    exchange_steps = "\n".join(
        ['', "# every exchange step through course_exchange.py (beside this file): the owner of a",
         "# submission says whose it is; nobody but root writes the exchange root",
         "import os.path, sys  # noqa: E401,E402",
         "if os.path.dirname(__file__) not in sys.path:  # noqa: F821",
         "    sys.path.insert(0, os.path.dirname(__file__))  # noqa: F821",
         *[f'c.ExchangeFactory.{step} = "course_exchange.{name}"' for step, name in EXCHANGE_CLASSES.items()]]) + "\n"
    (common / "nbgrader_config.py").write_text(f'''\
"""nbgrader, for every user of the course hub (nbgrader's docs put this file in /etc/jupyter/;
the hub passes this folder to the user servers in JUPYTER_CONFIG_PATH instead)."""
from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{COURSE_ID}"
c.Exchange.root = "{exchange}"
c.Exchange.path_includes_course = True
# a student sees the courses of their JupyterHub groups only (nbgrader-<course>, formgrade-<course>)
c.Authenticator.plugin_class = JupyterHubAuthPlugin
{exchange_steps}''')
    for role in ("student", "instructor"):
        folder = etc / role
        (folder / "labconfig").mkdir(parents=True, exist_ok=True)
        disabled = {plugin: role not in roles for plugin, roles in LAB_PLUGINS.items()}
        disabled.update({plugin: True for plugin in LAB_OFF})
        (folder / "labconfig" / "page_config.json").write_text(json.dumps({
            "disabledExtensions": disabled,
            # locked: the plugin manager cannot switch them back on
            "lockedExtensions": {plugin: True for plugin, off in disabled.items() if off},
        }, indent=2) + "\n")
        (folder / "jupyter_server_config.json").write_text(json.dumps({
            "ServerApp": {
                "jpserver_extensions": {ext: role in roles for ext, roles in SERVER_EXTENSIONS.items()},
                # a server nobody used for 8 hours stops (its kernels' memory comes back)
                "shutdown_no_activity_timeout": 8 * 3600,
            },
            # a kernel idle for 2 hours is shut down (a student kernel holds about 0.5 GB)
            "MappingKernelManager": {"cull_idle_timeout": 2 * 3600, "cull_interval": 300},
        }, indent=2) + "\n")
    if course_root:
        (etc / "instructor" / "nbgrader_config.py").write_text(
            f'c = get_config()  # noqa: F821\nc.CourseDirectory.root = "{course_root}"\n')
    world_readable(etc)


def prepare_data(settings):
    """STATE/data/mnist: the course's MNIST files, decoded once into the folder's cache (the
    students' loader reads it from MNIST_DATA), then read-only."""
    data = Path(settings["data"])
    if (data / ".ready").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    for name in DATA_FILES:
        shutil.copy2(REPO / "data" / "mnist" / name, data / name)
    python = Path(settings["venv"]) / "bin" / "python"
    run([str(python), "-c", "import sys; sys.path.insert(0, sys.argv[1]); import utils; "
         "utils.load_mnist(path=sys.argv[2])", str(REPO / "source" / ASSIGNMENT), str(data)],
        env={"PATH": "/usr/bin:/bin", "HOME": str(data.parent), "MNIST_CACHE": str(data.parent / ".cache")})
    shutil.rmtree(data.parent / ".cache", ignore_errors=True)
    (data / ".ready").write_text("")
    world_readable(data.parent)


def prepare_exchange(settings):
    """The exchange root (root's, 0755: no student creates the course's folder before the
    instructor) and the course's folders in it, the instructor's (EXCHANGE_FOLDERS: inbound
    3733, students write but do not list; sticky, nobody renames another's entry; setgid, a
    submission folder gets the instructor's group). Submission folders already in inbound get
    the instructor's group and mode 0750 (nbgrader's submit made them 0777)."""
    exchange = Path(settings["exchange"])
    exchange.mkdir(parents=True, exist_ok=True)
    os.chown(exchange, 0, 0)
    os.chmod(exchange, 0o755)
    entry = pwd.getpwnam(settings["instructor"])
    course = exchange / COURSE_ID
    for name, mode in EXCHANGE_FOLDERS:
        folder = course / name
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            folder.unlink()
        folder.mkdir(exist_ok=True)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        os.chmod(folder, mode)
    for submission in (course / "inbound").iterdir():
        if submission.is_dir() and not submission.is_symlink():
            os.chown(submission, -1, entry.pw_gid)
            os.chmod(submission, 0o750)


def prepare_course(settings, fresh=False):
    """/home/INSTRUCTOR/course: the nbgrader course directory (this repository's config, source,
    autograder package and data), owned by the instructor, mode 0700; the instructor's
    ~/.jupyter/nbgrader_config.py points nbgrader (and the formgrader) at it; the assignment is
    generated as the instructor (nbgrader generate_assignment, through grade's own course setup),
    and the due date of the course's course_policy.toml, if it has one, recorded in the
    gradebook (nbgrader then marks a later submission late; grade applies the penalties)."""
    instructor = settings["instructor"]
    entry = pwd.getpwnam(instructor)
    course = Path(settings["course_dir"])
    if fresh:
        shutil.rmtree(course, ignore_errors=True)
    if not course.exists():
        copy_course(course)
        run(["chown", "-R", f"{instructor}:{instructor}", str(course)])
        os.chmod(course, 0o700)
    jupyter_dir = Path(entry.pw_dir) / ".jupyter"
    jupyter_dir.mkdir(exist_ok=True)
    (jupyter_dir / "nbgrader_config.py").write_text(
        f'c = get_config()  # noqa: F821\nc.CourseDirectory.root = "{course}"\n')
    run(["chown", "-R", f"{instructor}:{instructor}", str(jupyter_dir)])
    env = user_environment(settings, instructor)
    as_user(instructor, ["python", "-c", "from autograder.nbgrader_adapter import Course; "
                         "from autograder.course_policy import record_due_date; "
                         f"Course({str(course)!r}).prepare(); record_due_date({str(course)!r})"], env, cwd=str(course))


def copy_course(course):
    """A new course directory: this repository's config, source, autograder package and data,
    and the instructor's collect-and-grade script."""
    course.mkdir(parents=True)
    for name in COURSE_FILES:
        source, target = REPO / name, course / name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
                "__pycache__", ".ipynb_checkpoints", "*.npz", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shutil.copy2(HERE / "collect-and-grade", course / "collect-and-grade")
    os.chmod(course / "collect-and-grade", 0o755)


def setup(state=DEFAULT_STATE, prefix=DEFAULT_PREFIX, exchange=DEFAULT_EXCHANGE, instructor="mlp-teacher",
          students=("mlp-student1", "mlp-student2", "mlp-student3"), port=8000, hub_port=None,
          proxy_api_port=None, short_schedule=False, fresh=False, totals=StudentTotals(),
          inbound_bytes=INBOUND_BYTES):
    """Everything the hub needs besides the software; returns the settings (STATE/hub.json).
    Accounts made earlier by this script are kept with their work (fresh=True: made anew)."""
    installed = install(prefix)
    state = Path(state).absolute()
    if fresh and (state / "hub.json").exists():
        teardown(state)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o711)    # users traverse it to their configuration and data; nothing else is readable
    names = [instructor, *students]
    if len(set(names)) != len(names):
        raise HubError("the instructor and the students need distinct account names")
    previous = {}
    if (state / "hub.json").exists():
        previous = json.loads((state / "hub.json").read_text())
    settings = {
        "course_id": COURSE_ID, "state": str(state), "prefix": str(Path(prefix).absolute()),
        "venv": installed["venv"], "proxy": installed["proxy"], "ip": "127.0.0.1", "port": port,
        "hub_port": hub_port or previous.get("hub_port") or free_port(),
        "proxy_api_port": proxy_api_port or previous.get("proxy_api_port") or free_port(),
        "instructor": instructor, "students": list(students),
        "course_dir": str(Path("/home") / instructor / "course"),
        "exchange": str(Path(exchange).absolute()), "data": str(state / "data" / "mnist"),
        "short_schedule": short_schedule, "repo": str(REPO),
        "totals": asdict(totals), "inbound_bytes": inbound_bytes,
    }
    settings["made_exchange"] = previous.get("made_exchange", not Path(exchange).exists())
    # every account this hub ever made, recorded before any is made: teardown removes them all
    settings["users"] = sorted(set(previous.get("users", [])) | set(names))
    write_private(state / "hub.json", json.dumps(settings, indent=2) + "\n")
    secret = state / "accounts.json"
    known = {} if fresh or not secret.exists() else json.loads(secret.read_text())
    accounts = {name: make_user(name, known.get(name), fresh=fresh) for name in names}
    settings["course_dir"] = str(Path(pwd.getpwnam(instructor).pw_dir) / "course")
    write_private(state / "hub.json", json.dumps(settings, indent=2) + "\n")
    write_private(secret, json.dumps(accounts, indent=2) + "\n")
    write_configuration(settings)
    prepare_data(settings)
    prepare_exchange(settings)
    mount_disks(settings)
    log(f"preparing the course directory {settings['course_dir']} (nbgrader generate_assignment) ...")
    prepare_course(settings, fresh=fresh)
    return settings


def load(state=DEFAULT_STATE):
    path = Path(state) / "hub.json"
    if not path.exists():
        raise HubError(f"{path} does not exist: run `course_hub.py setup` (or `make hub`) first")
    return json.loads(path.read_text())


# ----------------------------------------------------------------------------------------
# start, accounts, teardown
# ----------------------------------------------------------------------------------------

def hub_command(settings):
    return [f"{settings['venv']}/bin/jupyterhub", "-f", str(HERE / "jupyterhub_config.py")]


def hub_environment(settings):
    return {"PATH": f"{settings['venv']}/bin:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
            "COURSE_HUB_STATE": settings["state"]}


def url(settings):
    return f"http://{settings['ip']}:{settings['port']}/hub/login"


def print_accounts(settings):
    accounts = json.loads((Path(settings["state"]) / "accounts.json").read_text())
    print()
    print(f"  Course hub: {url(settings)}")
    print(f"  instructor  {settings['instructor']:<16} password {accounts[settings['instructor']]}")
    for name in settings["students"]:
        print(f"  student     {name:<16} password {accounts[name]}")
    print(f"  formgrader  http://{settings['ip']}:{settings['port']}/user/{settings['instructor']}/formgrader/")
    print(f"  course dir  {settings['course_dir']} (the instructor's; release with the formgrader's "
          f"Release button or `nbgrader release_assignment {ASSIGNMENT}` in a terminal there)")
    print(f"  stop: Ctrl-C; remove the accounts and the exchange: "
          f"python3 {Path(__file__).relative_to(REPO)} teardown --state {settings['state']}")
    print(flush=True)


def private_state(settings):
    """Every file of the state folder (hub.json, accounts.json, the hub's database, cookie
    secret and pid files) readable by root only; the folder itself 0711: the users traverse it
    to their configuration and data (etc/, data/, world-readable) but cannot list it."""
    state = Path(settings["state"])
    (state / "jupyterhub.sqlite").touch(mode=0o600, exist_ok=True)
    os.chmod(state, 0o711)
    for path in state.iterdir():
        if path.is_file() and not path.is_symlink():
            os.chmod(path, 0o600)


def student_groups(students):
    """The uids of the accounts students and the gids of every group one of them is in."""
    entries = [pwd.getpwnam(name) for name in students if user_exists(name)]
    gids = {entry.pw_gid for entry in entries}
    gids |= {group.gr_gid for group in grp.getgrall() if set(group.gr_mem) & set(students)}
    return {entry.pw_uid for entry in entries}, gids


def open_to_students(path, students, enterable=False):
    """Why a student could read what is below path: a list of sentences, each with the command
    that fixes it; empty when they cannot. They cannot when path or a folder above it denies
    them entry (no x for others, nor for a group of a student), and no student can change or
    rename any of these folders. enterable: path is meant to be entered (the state folder,
    0711): then it must only not be listable."""
    path = Path(path).resolve()
    uids, gids = student_groups(students)
    problems = []
    shut = False
    for folder in [path, *path.parents]:
        info = folder.stat()
        mine = info.st_gid in gids
        if info.st_uid in uids:
            problems.append(f"{folder} belongs to a student: chown root: {folder}")
        writable = info.st_mode & 0o002 or (mine and info.st_mode & 0o020)
        if writable and not info.st_mode & stat.S_ISVTX:
            problems.append(f"students can rename what {folder} holds: chmod go-w {folder}")
        if not (info.st_mode & 0o001 or (mine and info.st_mode & 0o010)):
            shut = True
    if enterable:
        info = path.stat()
        if info.st_mode & 0o004 or (info.st_gid in gids and info.st_mode & 0o040):
            problems.append(f"students can list {path}: chmod 711 {path}")
    elif not shut:
        problems.append(f"students can read {path} (it and every folder above it let them in): chmod go-rwx {path}")
    return problems


def exposed(settings):
    """Why students could read the instructor's files: this checkout (solutions, hidden checks),
    the course directory, the hub's state (accounts, database). Empty when they cannot."""
    students = settings["students"]
    return (open_to_students(REPO, students) + open_to_students(settings["course_dir"], students)
            + open_to_students(settings["state"], students, enterable=True))


def refuse_exposed(problems):
    if problems:
        raise HubError("students could read the instructor's files; the hub does not start until "
                       "this is fixed:\n  " + "\n  ".join(problems))


def start(settings):
    """Runs the hub in the foreground until it exits (Ctrl-C: the hub stops the proxy and
    the user servers); refuses while students could read the instructor's files."""
    private_state(settings)
    refuse_exposed(exposed(settings))
    mount_disks(settings)
    os.chdir(settings["state"])
    os.execve(hub_command(settings)[0], hub_command(settings), hub_environment(settings))


def kill_pid_file(path, grace=10.0):
    """Stops the process whose id the file holds (the hub's or the proxy's pid file)."""
    path = Path(path)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                path.unlink(missing_ok=True)
                return
            time.sleep(0.1)


def teardown(state=DEFAULT_STATE):
    """Stops the hub and the proxy of STATE, removes the accounts this script made (with their
    homes and processes), the exchange it made, and STATE. The software in PREFIX stays."""
    state = Path(state)
    try:
        settings = load(state)
    except HubError:
        return
    kill_pid_file(state / "jupyterhub.pid")
    kill_pid_file(state / "proxy.pid")
    for name in settings.get("users", []):
        stop_user_processes(name)
    remove_cgroups(settings["students"])
    for _, target, *_ in limited_disks(settings):
        unmount(target)
    for name in settings.get("users", []):
        remove_user(name)
    if settings.get("made_exchange"):
        shutil.rmtree(settings["exchange"], ignore_errors=True)
        with contextlib.suppress(OSError):        # /srv/nbgrader, when the exchange was all it held
            os.rmdir(Path(settings["exchange"]).parent)
    shutil.rmtree(state, ignore_errors=True)
    log(f"removed the hub in {state} and its accounts")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("command", choices=["up", "install", "setup", "start", "accounts", "teardown", "config"])
    parser.add_argument("--out", help="config: the folder to write the role configurations into")
    parser.add_argument("--course-root", help="config: the instructor's course directory")
    parser.add_argument("--prefix", default=str(DEFAULT_PREFIX), help=f"software (default {DEFAULT_PREFIX})")
    parser.add_argument("--state", default=str(DEFAULT_STATE), help=f"this hub's files (default {DEFAULT_STATE})")
    parser.add_argument("--exchange", default=str(DEFAULT_EXCHANGE), help=f"nbgrader exchange (default {DEFAULT_EXCHANGE})")
    parser.add_argument("--port", type=int, default=8000, help="the hub's port on 127.0.0.1 (default 8000)")
    parser.add_argument("--instructor", default="mlp-teacher")
    parser.add_argument("--students", default="mlp-student1,mlp-student2,mlp-student3",
                        help="comma-separated account names")
    parser.add_argument("--short-schedule", action="store_true",
                        help="students' training cells run 200 iterations instead of 10000 (demos)")
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            print(json.dumps(install(args.prefix), indent=2))
        elif args.command in ("setup", "up"):
            if args.command == "up":        # before any account is made
                refuse_exposed(open_to_students(REPO, [s for s in args.students.split(",") if s]))
            settings = setup(args.state, args.prefix, args.exchange, args.instructor,
                             [s for s in args.students.split(",") if s], port=args.port,
                             short_schedule=args.short_schedule)
            print_accounts(settings)
            if args.command == "up":
                start(settings)
        elif args.command == "start":
            start(load(args.state))
        elif args.command == "accounts":
            print_accounts(load(args.state))
        elif args.command == "teardown":
            teardown(args.state)
        elif args.command == "config":
            if not args.out:
                raise HubError("config needs --out")
            write_role_configs(args.out, args.exchange, args.course_root)
    except HubError as e:
        print(f"course-hub: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
