"""Resource limits for the kernels that run students' notebooks under `nbgrader autograde`.

nbgrader starts the kernel named in the notebook's metadata (``python3``; nbgrader's
OverwriteKernelspec puts the source notebook's kernelspec back). ``write_kernelspec``
writes a ``python3`` kernelspec into a private Jupyter data directory; with that
directory first on ``JUPYTER_PATH`` nbgrader starts the kernel through this file,
which caps the kernel's address space (RLIMIT_AS) and CPU time (RLIMIT_CPU) and then
execs the usual ``python -m ipykernel_launcher``. A student's cell that allocates past
the cap gets a MemoryError (the cell fails, the other cells still run); one that spins
forever is interrupted by nbgrader's per-cell timeout.

This file is also run as a script (``python -I autograder/limits.py ...``), so it
imports only the standard library at module level.

``kill_tree`` ends a process and all its descendants (the kernel runs in a session of
its own, so killing nbgrader's process group alone would leave it running).
"""
import json
import os
import signal
import sys
import time
from pathlib import Path


def kernel_argv(memory_mb, cpu_seconds=None, python=None):
    """The argv of a kernelspec whose kernel runs with the given limits."""
    python = python or sys.executable
    argv = [python, "-I", str(Path(__file__).resolve()), f"--memory-mb={int(memory_mb)}"]
    if cpu_seconds:
        argv.append(f"--cpu-seconds={int(cpu_seconds)}")
    return argv + ["--", python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def write_kernelspec(jupyter_dir, memory_mb, cpu_seconds=None):
    """Writes jupyter_dir/kernels/python3/kernel.json (a limited python3 kernel) and returns
    jupyter_dir, to be put first on JUPYTER_PATH."""
    spec_dir = Path(jupyter_dir) / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": kernel_argv(memory_mb, cpu_seconds),
        "display_name": f"Python 3 (grading, {int(memory_mb)} MB)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return Path(jupyter_dir)


def apply_limits(memory_mb=None, cpu_seconds=None):
    """Sets RLIMIT_AS (memory_mb MiB of address space) and RLIMIT_CPU on this process."""
    import resource

    if memory_mb:
        limit = int(memory_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu_seconds:
        # soft limit: SIGXCPU (kills the kernel); hard limit a little later: SIGKILL
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_seconds), int(cpu_seconds) + 5))


def descendants(pid):
    """pids of every live descendant of pid (from /proc, children before grandchildren)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid, grace=2.0):
    """SIGTERM then SIGKILL pid, its process group and every descendant (the kernel included)."""
    targets = [pid] + descendants(pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for target in targets:
            try:
                os.kill(target, sig)
            except ProcessLookupError:
                pass
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        if sig == signal.SIGTERM:
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(_alive(t) for t in targets):
                time.sleep(0.1)
    return targets


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().decode(errors="replace")
        return state[state.rindex(")") + 2] != "Z"
    except (OSError, ValueError, IndexError):
        return False


def _main(argv):
    """limits.py --memory-mb=N [--cpu-seconds=S] -- program args... : exec program with the limits."""
    if "--" not in argv:
        sys.exit("usage: limits.py --memory-mb=N [--cpu-seconds=S] -- program [args...]")
    split = argv.index("--")
    options = dict(arg.lstrip("-").split("=", 1) for arg in argv[:split])
    command = argv[split + 1:]
    apply_limits(options.get("memory-mb"), options.get("cpu-seconds"))
    os.execv(command[0], command)


if __name__ == "__main__":
    _main(sys.argv[1:])
