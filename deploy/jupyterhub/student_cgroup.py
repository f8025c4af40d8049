"""A student's server and everything it starts in one cgroup: memory, CPU and processes as
totals per student (course_hub.StudentTotals), set by the hub (root) before the server starts.

Where the machine offers cgroup v2 with the memory, cpu and pids controllers delegated to the
hub's cgroup (or its parent), one cgroup `mlp-course-hub-<student>` holds memory.max,
memory.swap.max = 0, cpu.max and pids.max; otherwise, with cgroup v1, one such cgroup in each of
the memory, cpu and pids hierarchies (memory.limit_in_bytes and memsw, cpu.cfs_quota_us,
pids.max). The hub's spawner moves the server's first process into it (join, in the preexec
step, before the switch to the student's account), so all its kernels, terminals and Validate
runs are counted together; the student cannot leave it (they cannot write the cgroup files).
When the processes together exceed the memory total the kernel kills one of them (an OOM kill,
counted in the cgroup); past the tasks total fork fails; past the CPU total the processes wait.

The cgroup hierarchies are found as the grader's sandbox finds them (autograder.sandbox.limits);
no writable hierarchy: StudentCgroup.create says why and the hub falls back to the rlimits of
course_hub.STUDENT_LIMITS (per process, and processes per account).
"""
import os
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox.limits import MemoryCgroup, _v1_parents, _v2_parents

PREFIX = "mlp-course-hub-"
CPU_PERIOD_US = 100_000
CONTROLLERS = ("memory", "cpu", "pids")
# the files each version writes: (controller, file, value from StudentTotals); a file the kernel
# lacks (memory.memsw without swap accounting, memory.swap.max without swap) is optional
CGROUP_FILES = {
    2: [("memory", "memory.max", lambda t: t.memory_bytes),
        ("memory", "memory.swap.max", lambda t: 0),
        ("cpu", "cpu.max", lambda t: f"{int(t.cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}"),
        ("pids", "pids.max", lambda t: t.tasks)],
    1: [("memory", "memory.limit_in_bytes", lambda t: t.memory_bytes),
        ("memory", "memory.memsw.limit_in_bytes", lambda t: t.memory_bytes),
        ("cpu", "cpu.cfs_period_us", lambda t: CPU_PERIOD_US),
        ("cpu", "cpu.cfs_quota_us", lambda t: int(t.cpus * CPU_PERIOD_US)),
        ("pids", "pids.max", lambda t: t.tasks)],
}
OPTIONAL_FILES = {"memory.swap.max", "memory.memsw.limit_in_bytes"}


@dataclass(frozen=True)
class CgroupUsage:
    """What a student's cgroup has counted: oom_kills (processes killed for the memory total),
    tasks (processes and threads now), tasks_refused (forks refused at pids.max), throttled
    (CPU periods in which the student's processes waited for the CPU total)."""
    oom_kills: int
    tasks: int
    tasks_refused: int
    throttled: int


def _counter(path, key):
    """The value of key in a flat keyed cgroup file ("key value" lines)."""
    for line in Path(path).read_text().splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    raise ValueError(f"{path} has no {key}")


@dataclass
class StudentCgroup:
    """The cgroup(s) of one student's server: version 1 or 2; paths {controller: folder}."""
    version: int
    paths: dict

    @classmethod
    def places(cls, student):
        """The cgroups student's server may get on this machine, first choice first (none made)."""
        name = PREFIX + student
        v1 = {controller: _v1_parents(controller) for controller in CONTROLLERS}
        options = [cls(2, {controller: parent / name for controller in CONTROLLERS})
                   for parent in _v2_parents(CONTROLLERS)]
        if all(v1.values()):
            options.append(cls(1, {controller: parents[0] / name for controller, parents in v1.items()}))
        return options

    @classmethod
    def remove_all(cls, student):
        """Removes the cgroups of student's server that a stopped hub left (with their processes)."""
        for cgroup in cls.places(student):
            cgroup.remove()

    @classmethod
    def create(cls, student, totals):
        """(a new cgroup for student limited to totals, None) or (None, why none could be made).
        A cgroup of that name left by an earlier hub is emptied (its processes killed) first."""
        why = "no cgroup hierarchy with the memory, cpu and pids controllers"
        for cgroup in cls.places(student):
            version, paths = cgroup.version, cgroup.paths
            try:
                cgroup.remove()
                for path in set(paths.values()):
                    path.mkdir()
                cgroup._limit(totals)
                cgroup.usage()     # the counters must be readable
                return cgroup, None
            except (OSError, ValueError) as e:
                why = f"cannot make a limited cgroup v{version} ({e})"
                cgroup.remove()
        return None, why

    def _limit(self, totals):
        for controller, name, value in CGROUP_FILES[self.version]:
            path = self.paths[controller] / name
            if name in OPTIONAL_FILES and not path.exists():
                continue
            path.write_text(str(value(totals)))

    def join(self):
        """Moves the calling process into the cgroup (the spawner's preexec step, as root)."""
        for path in set(self.paths.values()):
            (path / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self):
        """The processes in the cgroup."""
        text = (self.paths["pids"] / "cgroup.procs").read_text()
        return [int(pid) for pid in text.split()]

    def usage(self):
        memory, cpu, pids = (self.paths[c] for c in CONTROLLERS)
        if self.version == 2:
            oom = _counter(memory / "memory.events", "oom_kill")
            throttled = _counter(cpu / "cpu.stat", "nr_throttled")
        else:
            oom = _counter(memory / "memory.oom_control", "oom_kill")
            throttled = _counter(cpu / "cpu.stat", "nr_throttled")
        return CgroupUsage(oom_kills=oom, tasks=int((pids / "pids.current").read_text()),
                           tasks_refused=_counter(pids / "pids.events", "max"), throttled=throttled)

    def remove(self):
        """Kills whatever still runs in the cgroup and removes it; never raises."""
        for path in set(self.paths.values()):
            MemoryCgroup(path, self.version).remove()
