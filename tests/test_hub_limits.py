"""The course hub's limits per student, against a hostile student working from their own Jupyter
server (a kernel they start there through the server's API, in their browser session):

  a fork bomb (bash's :(){ :|:& };:) stops at the student's processes total; a process tree
  that together allocates more than the student's memory total loses a process to the kernel's
  OOM killer (each process alone is within the limits); CPU hogs wait for the student's CPU total
  while a classmate's server still runs code; filling the home stops at the home's size, and
  filling a folder of their own in the exchange's inbound stops at inbound's size, neither on
  the disk that holds the hub's state or the classmates' homes. After each attack the hub's API
  and the classmate's server answer, and so does the attacker's own server.

The hub is the deployment of deploy/jupyterhub/ (course_hub.py setup and start) with small totals
(TOTALS, INBOUND_BYTES) so that the attacks end quickly; the totals are read back from the
cgroup files of the student's running server. The CPU share the hogs got is written to
results/hub-limits/measurements.json. Everything made is removed afterwards (accounts, mounts,
cgroups, the hub). Needs root, Debian's chromium, node and npm, a writable cgroup hierarchy and
loop devices; skips with the reason otherwise.
"""
import json
import os
import pwd
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HUB_DIR = ROOT / "deploy" / "jupyterhub"
RESULTS = ROOT / "results" / "hub-limits"
sys.path.insert(0, str(HUB_DIR))
import course_hub  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from hostile_student import CPU_HOG, FILL_DISK, FORK_BOMB, MEMORY_TREE, attack, run_in_server  # noqa: E402
from hub_harness import CHROMIUM, browser_hub_skip_reason, responds, start_hub, stop_hub  # noqa: E402

from autograder.sandbox.limits import _inside, _mounts  # noqa: E402

INSTRUCTOR, ALICE, EVE = "hl-teacher", "hl-alice", "hl-eve"
MiB = 2**20
TOTALS = course_hub.StudentTotals(memory_bytes=1024 * MiB, cpus=0.25, tasks=128, home_bytes=256 * MiB)
INBOUND_BYTES = 192 * MiB
LOGIN_TIMEOUT = 120_000        # ms: the first login starts the user's server

pytestmark = pytest.mark.slow


def _skip_reason():
    if browser_hub_skip_reason():
        return browser_hub_skip_reason()
    if not any("memory" in options for _, _, options in _mounts("cgroup")) and not _mounts("cgroup2"):
        return "no cgroup hierarchy is mounted"
    if not Path("/dev/loop-control").exists():
        return "no loop devices (/dev/loop-control): the homes cannot have filesystems of their own"
    return None


if _skip_reason():
    pytest.skip(_skip_reason(), allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def hub():
    """A course hub on 127.0.0.1 with the small totals; removed afterwards."""
    state = Path(tempfile.mkdtemp(prefix="mlp-hub-limits-"))
    checkout_mode = os.stat(ROOT).st_mode & 0o7777
    process = log = None
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        settings = course_hub.setup(state, exchange=state / "exchange", instructor=INSTRUCTOR, students=[ALICE, EVE],
                                    port=course_hub.free_port(), short_schedule=True, fresh=True, totals=TOTALS,
                                    inbound_bytes=INBOUND_BYTES)
        os.chmod(ROOT, checkout_mode & ~0o077)      # the hub starts only with a private checkout
        log = open(RESULTS / "hub.log", "w")
        process = start_hub(state, log)
        base = f"http://127.0.0.1:{settings['port']}"
        assert responds(f"{base}/hub/login", 90), "the hub did not start (results/hub-limits/hub.log)"
        yield {"settings": settings, "base": base, "state": state,
               "accounts": json.loads((state / "accounts.json").read_text())}
    finally:
        os.chmod(ROOT, checkout_mode)
        if process is not None:
            stop_hub(process)         # the hub stops the user servers (and so removes their cgroups)
        if log is not None:
            log.close()
        homes = [Path(pwd.getpwnam(name).pw_dir) for name in (ALICE, EVE) if course_hub.user_exists(name)]
        course_hub.teardown(state)
        shutil.rmtree(state, ignore_errors=True)
        assert not [name for name in (INSTRUCTOR, ALICE, EVE) if course_hub.user_exists(name)], "accounts left"
        assert not [home for home in homes if os.path.ismount(home)], "a home is still mounted"
        assert not [path for path in cgroup_folders() if path.name.endswith((ALICE, EVE))], "cgroups left"


def cgroup_folders():
    """Every cgroup folder on the machine (depth 3 below each hierarchy)."""
    found = []
    for mount, _, _ in _mounts("cgroup") + _mounts("cgroup2"):
        for depth in ("*", "*/*", "*/*/*"):
            found += [path for path in mount.glob(depth) if path.is_dir()]
    return found


def server_pid(user):
    """The pid of the user's jupyterhub-singleuser."""
    uid = pwd.getpwnam(user).pw_uid
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                if b"jupyterhub-singleuser" in Path(f"/proc/{entry}/cmdline").read_bytes():
                    return int(entry)
        except OSError:
            pass
    raise AssertionError(f"{user} has no server running")


def cgroups_of(pid):
    """{controller: folder} of the cgroups process pid is in (memory, cpu, pids), from /proc."""
    lines = [line.split(":", 2) for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()]
    folders = {}
    for controller in ("memory", "cpu", "pids"):
        for _, controllers, path in lines:
            if controller in controllers.split(","):
                for mount, root, options in _mounts("cgroup"):
                    if controller in options:
                        folders[controller] = _inside(mount, root, path)
        if controller not in folders:    # cgroup v2: the one hierarchy
            (path,) = [path for _, controllers, path in lines if controllers == ""]
            mount, root, _ = _mounts("cgroup2")[0]
            folders[controller] = _inside(mount, root, path)
    return folders


def read(folder, name, key=None):
    text = (folder / name).read_text()
    if key is None:
        return text.strip()
    return int(dict(line.split(" ", 1) for line in text.splitlines())[key])


def limits_of(folders):
    """(memory bytes, CPUs, tasks) that the cgroup files of folders say."""
    memory, cpu, pids = folders["memory"], folders["cpu"], folders["pids"]
    if (cpu / "cpu.max").exists():
        quota, period = read(cpu, "cpu.max").split()
        return int(read(memory, "memory.max")), int(quota) / int(period), int(read(pids, "pids.max"))
    return (int(read(memory, "memory.limit_in_bytes")),
            int(read(cpu, "cpu.cfs_quota_us")) / int(read(cpu, "cpu.cfs_period_us")), int(read(pids, "pids.max")))


def oom_kills(folders):
    name = "memory.events" if (folders["memory"] / "memory.events").exists() else "memory.oom_control"
    return read(folders["memory"], name, "oom_kill")


def group_pids(folders, group):
    """The processes of the cgroup in process group group."""
    found = []
    for pid in map(int, read(folders["pids"], "cgroup.procs").split()):
        try:
            if os.getpgid(pid) == group:
                found.append(pid)
        except ProcessLookupError:
            pass
    return found


def end_group(folders, group, timeout=60):
    """SIGKILL to every process of the cgroup in process group group, until none is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = group_pids(folders, group)
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"the processes of group {group} did not end")


def cpu_seconds(pids):
    """User + system CPU seconds of the processes (those still alive)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def login(browser, hub, user):
    page = browser.new_context().new_page()
    page.goto(f"{hub['base']}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub["accounts"][user])
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=LOGIN_TIMEOUT)
    page.locator("#jp-main-dock-panel").wait_for(timeout=LOGIN_TIMEOUT)
    return page


def still_going(hub, alice, eve):
    """The hub's API, the classmate's server and the attacker's own server all answer."""
    assert responds(f"{hub['base']}/hub/api"), "the hub's API does not answer"
    assert run_in_server(alice, "print(6 * 7)").strip() == "42", "the classmate's server does not run code"
    assert run_in_server(eve, "print(6 * 7)").strip() == "42", "the attacker's own server does not run code"


def test_a_hostile_student_against_the_limits_per_student(hub):
    measurements = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            alice, eve = login(browser, hub, ALICE), login(browser, hub, EVE)
            folders = cgroups_of(server_pid(EVE))
            assert all(folder.name == f"mlp-course-hub-{EVE}" for folder in folders.values()), folders
            assert limits_of(folders) == (TOTALS.memory_bytes, TOTALS.cpus, TOTALS.tasks)
            assert cgroups_of(server_pid(ALICE))["memory"] != folders["memory"]

            # a fork bomb: stops at the processes total
            out = run_in_server(eve, attack(FORK_BOMB, SECONDS=8))
            group = json.loads(out.strip().splitlines()[-1])["group"]
            deadline = time.monotonic() + 120
            while read(folders["pids"], "pids.events", "max") == 0 and time.monotonic() < deadline:
                time.sleep(1)
            assert read(folders["pids"], "pids.events", "max") > 0, "no fork was refused"
            assert int(read(folders["pids"], "pids.current")) <= TOTALS.tasks
            assert responds(f"{hub['base']}/hub/api") and run_in_server(alice, "print(6 * 7)").strip() == "42"
            end_group(folders, group)
            still_going(hub, alice, eve)

            # processes that together take more memory than the total, each within it
            before = oom_kills(folders)
            out = run_in_server(eve, attack(MEMORY_TREE, COUNT=4, EACH=400 * MiB))
            codes = json.loads(out.strip().splitlines()[-1])["returncodes"]
            assert -signal.SIGKILL in codes, codes
            assert oom_kills(folders) > before
            measurements["memory_tree_returncodes"] = codes
            still_going(hub, alice, eve)

            # CPU hogs: more busy processes than the total allows; the classmate still runs code
            throttled = read(folders["cpu"], "cpu.stat", "nr_throttled")
            out = run_in_server(eve, attack(CPU_HOG, COUNT=4))
            group = json.loads(out.strip().splitlines()[-1])["group"]
            time.sleep(2)
            hogs = group_pids(folders, group)
            start, used = time.monotonic(), cpu_seconds(hogs)
            assert run_in_server(alice, "print(sum(range(10**6)))").strip() == str(sum(range(10**6)))
            time.sleep(max(0.0, 10 - (time.monotonic() - start)))
            used, elapsed = cpu_seconds(hogs) - used, time.monotonic() - start
            measurements.update(cpu_hogs_cores=round(used / elapsed, 2), cpu_total_cores=TOTALS.cpus,
                                cpu_periods_throttled=read(folders["cpu"], "cpu.stat", "nr_throttled") - throttled)
            # the kernel gives the cgroup at most its quota in each period (how much less the hogs got
            # depends on what else the machine runs: without the limit, on an idle machine, they take
            # every core); slack: a few periods and the clock ticks of /proc
            assert used <= TOTALS.cpus * elapsed + 0.25, measurements
            end_group(folders, group)
            still_going(hub, alice, eve)

            # filling the home: stops at the home's size, on a filesystem of its own
            out = run_in_server(eve, attack(FILL_DISK, FOLDER="~", LIMIT=4 * TOTALS.home_bytes))
            filled = json.loads(out.strip().splitlines()[-1])
            assert filled["error"] in ("ENOSPC", "EDQUOT") and filled["written"] <= TOTALS.home_bytes, filled
            state_device = os.stat(hub["state"]).st_dev
            assert os.stat(filled["path"]).st_dev != state_device
            out = run_in_server(alice, attack(FILL_DISK, FOLDER="~", LIMIT=16 * MiB))
            assert json.loads(out.strip().splitlines()[-1])["error"] is None, "the classmate cannot write their home"
            still_going(hub, alice, eve)

            # filling a folder of one's own in inbound: stops at inbound's size, not on the hub's disk
            inbound = Path(hub["settings"]["exchange"]) / "mlp_optimizers" / "inbound"
            folder = inbound / f"{EVE}+mlp_optimizers+2026-01-01 00:00:00.000000 UTC+fill"
            out = run_in_server(eve, attack(FILL_DISK, FOLDER=str(folder), LIMIT=4 * INBOUND_BYTES))
            filled = json.loads(out.strip().splitlines()[-1])
            assert filled["error"] in ("ENOSPC", "EDQUOT") and filled["written"] <= INBOUND_BYTES, filled
            assert os.stat(filled["path"]).st_dev not in (state_device, os.stat(pwd.getpwnam(ALICE).pw_dir).st_dev)
            still_going(hub, alice, eve)
        finally:
            browser.close()
            (RESULTS / "measurements.json").write_text(json.dumps(measurements, indent=2) + "\n")
