"""The resource limits of one sandbox: memory, CPU time, processes, file size.

Memory is a budget for the sandbox as a whole (memory_mb), enforced in one of two ways:

* **cgroup** (``"cgroup v2"`` or ``"cgroup v1"``), where the machine lets the grader make
  memory cgroups: a cgroup of its own per sandbox, limited to the budget (swap included),
  which every process of the sandbox joins before it execs (the launcher's preexec step,
  so before any student code runs; children inherit it). When the sandbox's processes
  together exceed the budget, the kernel kills one of them (cgroup v2: all of them,
  memory.oom.group) and counts it in the cgroup's ``oom_kill`` (v1: memory.oom_control;
  v2: memory.events): the grader reads that counter, never anything the sandbox says.
  Each process is also limited to the budget's address space (RLIMIT_AS), so that one
  process asking for more than the whole budget gets a MemoryError rather than a kill.
  The cgroup lives under the grader's own (v2: under it or its parent, wherever the memory
  controller is delegated to children), named ``autograder-sandbox-<grader pid>-<random>``;
  it is removed when the sandbox closes, and one left by a grader that was killed (empty:
  the sandbox's processes die with the grader) is removed by the next sandbox made there.
* **per-process** (no writable memory cgroup, or cgroup=False): at most FEW_TASKS
  processes and threads (RLIMIT_NPROC; bwrap's first process of the namespace included),
  each with an address space of memory_mb / FEW_TASKS, so that together they stay within
  the budget. (The weak sandbox cannot bound its processes: there the budget only holds
  per process.)

Also per process: CPU seconds (RLIMIT_CPU), file size, open files, no core dumps (never above
the hard limits the grader itself runs under: an unprivileged process cannot raise them), and
SIGKILL when the grader dies (PR_SET_PDEATHSIG).
"""
import ctypes
import logging
import os
import re
import resource
import signal
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_OPEN_FILES = 256


def _lower(kind, soft, hard):
    """Sets the limit kind (resource.RLIMIT_*) to (soft, hard), never above the hard limit
    this process already has: the grader may itself run under a lower one (a SLURM job's CPU
    time, ``ulimit -t`` or ``-n`` of the shell that started it), and an unprivileged process
    cannot raise a hard limit, so asking for more would stop every sandbox from starting."""
    current = resource.getrlimit(kind)[1]
    if current != resource.RLIM_INFINITY:
        hard = min(hard, current)
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, hard))
MAX_TASKS = 64         # processes and threads of one sandbox (with a memory cgroup)
FEW_TASKS = 3          # ... without one: bwrap's init, the server and one more
CGROUP_PREFIX = "autograder-sandbox-"
REMOVE_TIMEOUT = 5.0   # seconds for an emptied cgroup to become removable


class MemoryCgroup:
    """A memory cgroup made for one sandbox: memory the grader owns (bwrap mounts no /sys,
    so the sandbox cannot see or write it). version: 1 or 2."""

    def __init__(self, path, version):
        self.path = Path(path)
        self.version = version

    @classmethod
    def create(cls, limit_bytes):
        """(a new cgroup limited to limit_bytes, None), or (None, why none could be made)."""
        why = "no memory cgroup hierarchy"
        for version, parents in ((2, _v2_parents()), (1, _v1_parents())):
            for parent in parents:
                _remove_leftovers(parent)
                path = parent / f"{CGROUP_PREFIX}{os.getpid()}-{os.urandom(4).hex()}"
                try:
                    path.mkdir()
                except OSError as e:
                    why = f"cannot make a cgroup in {parent}: {e.strerror}"
                    continue
                cgroup = cls(path, version)
                try:
                    cgroup._set_limit(limit_bytes)
                    cgroup.oom_kills()  # the counter the verdict rests on must be readable
                    return cgroup, None
                except (OSError, ValueError) as e:
                    why = f"cannot limit a cgroup in {parent}: {e}"
                    cgroup.remove()
        return None, why

    def _set_limit(self, limit_bytes):
        if self.version == 2:
            self._write("memory.max", limit_bytes)
            if (self.path / "memory.swap.max").exists():
                self._write("memory.swap.max", 0)
            self._write("memory.oom.group", 1)  # an OOM kill ends the whole sandbox
        else:
            self._write("memory.limit_in_bytes", limit_bytes)
            if (self.path / "memory.memsw.limit_in_bytes").exists():  # no swap beyond the budget
                self._write("memory.memsw.limit_in_bytes", limit_bytes)

    def _write(self, name, value):
        with open(self.path / name, "w") as f:
            f.write(str(value))

    def join(self):
        """Moves the calling process into the cgroup (called in the preexec step)."""
        self._write("cgroup.procs", os.getpid())

    def oom_kills(self):
        """How many processes of the cgroup the kernel has killed for its memory limit."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        with open(self.path / name) as f:
            for line in f:
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        raise ValueError(f"{name} has no oom_kill counter")

    def remove(self):
        """Removes the cgroup (SIGKILL to any process still in it); never raises."""
        deadline = time.monotonic() + REMOVE_TIMEOUT
        while True:
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError as e:
                if time.monotonic() > deadline:
                    log.warning("cannot remove the sandbox's cgroup %s: %s", self.path, e)
                    return
            for pid in _pids_in(self.path):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)


def _pids_in(path):
    try:
        return [int(line) for line in (path / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _remove_leftovers(parent):
    """Removes the empty cgroups of sandboxes whose grader has died."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        match = re.fullmatch(re.escape(CGROUP_PREFIX) + r"(\d+)-[0-9a-f]+", name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            try:
                os.rmdir(parent / name)  # fails, harmlessly, while processes are in it
            except OSError:
                pass


def _mounts(fstype):
    """[(mount point, mount root, super options)] of the mounts of that type."""
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields, _, rest = line.partition(" - ")
                fields, rest = fields.split(), rest.split()
                if len(fields) >= 5 and len(rest) >= 3 and rest[0] == fstype:
                    found.append((Path(fields[4]), fields[3], rest[2].split(",")))
    except OSError:
        pass
    return found


def _own_cgroup(matches):
    """The path of this process's cgroup in the hierarchy whose controller list matches."""
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if matches(controllers.split(",")):
                    return path
    except (OSError, ValueError):
        pass
    return None


def _inside(mount, root, path):
    """The folder of cgroup path under a mount of the hierarchy at root, or None."""
    if path is None or not (path == root or path.startswith(root.rstrip("/") + "/")):
        return None
    return mount / path[len(root):].lstrip("/")


def _v1_parents(controller="memory"):
    """This process's cgroup in the v1 hierarchy of controller (a list of one, or empty)."""
    own = _own_cgroup(lambda controllers: controller in controllers)
    for mount, root, options in _mounts("cgroup"):
        if controller in options:
            folder = _inside(mount, root, own)
            if folder is not None and folder.is_dir():
                return [folder]
    return []


def _v2_parents(controllers=("memory",)):
    """The grader's cgroup and its parent, where their children get all of controllers."""
    own = _own_cgroup(lambda controllers: controllers == [""])
    parents = []
    for mount, root, _ in _mounts("cgroup2"):
        folder = _inside(mount, root, own)
        if folder is None:
            continue
        for candidate in (folder, folder.parent):
            if candidate == mount or mount in candidate.parents:
                try:
                    if set(controllers) <= set((candidate / "cgroup.subtree_control").read_text().split()):
                        parents.append(candidate)
                except OSError:
                    pass
        break
    return parents


@dataclass
class Limits:
    """The limits of one sandbox, and its memory cgroup if it has one.

    memory_mb: the sandbox's memory budget; cpu_seconds: CPU time per process; max_tasks:
    processes and threads (RLIMIT_NPROC, applied by the student server inside the user
    namespace); address_space: bytes per process (RLIMIT_AS); cgroup: the MemoryCgroup,
    or None (per-process enforcement)."""
    memory_mb: int
    cpu_seconds: int
    max_tasks: int
    address_space: int
    cgroup: MemoryCgroup | None = None

    @classmethod
    def make(cls, memory_mb, cpu_seconds, max_tasks=MAX_TASKS, cgroup=True):
        """The limits for a new sandbox: a memory cgroup when cgroup is true and the
        machine allows it, else the per-process split (see the module docstring)."""
        budget = memory_mb * 1024 * 1024
        why = "not requested"
        if cgroup:
            made, why = MemoryCgroup.create(budget)
            if made is not None:
                return cls(memory_mb, cpu_seconds, max_tasks, budget, made)
        log.info("no memory cgroup for the sandbox (%s): %d MB split between at most %d processes",
                 why, memory_mb, FEW_TASKS)
        return cls(memory_mb, cpu_seconds, min(max_tasks, FEW_TASKS), budget // FEW_TASKS)

    @property
    def memory(self):
        """How the memory budget is enforced: "cgroup v1", "cgroup v2" or "per-process"."""
        return f"cgroup v{self.cgroup.version}" if self.cgroup is not None else "per-process"

    def preexec(self):
        """The preexec_fn of the sandbox's launcher (runs in the child, before exec)."""
        cgroup, address_space, cpu = self.cgroup, self.address_space, self.cpu_seconds

        def apply():
            try:
                ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            except (OSError, AttributeError):
                pass
            if cgroup is not None:
                cgroup.join()
            _lower(resource.RLIMIT_AS, address_space, address_space)
            _lower(resource.RLIMIT_CPU, cpu, cpu + 5)
            _lower(resource.RLIMIT_FSIZE, MAX_FILE_BYTES, MAX_FILE_BYTES)
            _lower(resource.RLIMIT_NOFILE, MAX_OPEN_FILES, MAX_OPEN_FILES)
            _lower(resource.RLIMIT_CORE, 0, 0)
        return apply

    def oom_killed(self):
        """Whether the kernel has killed a process of the sandbox for its memory (read
        from the cgroup; always False without one)."""
        if self.cgroup is None:
            return False
        try:
            return self.cgroup.oom_kills() > 0
        except (OSError, ValueError):
            return False

    def close(self):
        """Removes the cgroup (once the sandbox's processes are gone); memory still says
        how the budget was enforced."""
        if self.cgroup is not None:
            self.cgroup.remove()
