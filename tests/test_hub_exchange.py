"""The course hub's nbgrader exchange against a hostile student, without the hub or a browser:
real Unix accounts (an instructor, two honest students, one attacker), the exchange as
course_hub.py setup makes it, the configuration the users' servers read, and real nbgrader
commands (release_assignment, fetch_assignment, submit, collect) run as each account.

The attacker, from their own account, tries what nbgrader's default exchange lets through:
creating folders at the exchange root before the release, listing inbound, reading, renaming or
writing into a classmate's submission, a submission whose notebook is a symbolic link to the
instructor's solutions (and one to the hidden checks), submissions in a classmate's name (one
dated in the future), a submission with a sparse 2 GB file, an unreadable date. Each is refused
or skipped with its reason; the honest students' work is collected, and a later real
submission replaces the earlier one. Also: `grade` refuses a symlinked notebook in a
submitted/ tree. Needs root and the hub's software (course_hub.py install); skips otherwise.
"""
import datetime
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HUB_DIR = ROOT / "deploy" / "jupyterhub"
sys.path.insert(0, str(HUB_DIR))
import course_hub  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from hostile_student import attempts, forge, from_now, skip_reason  # noqa: E402

from autograder import intake  # noqa: E402

ASSIGNMENT = "mlp_optimizers"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
INSTRUCTOR, ALICE, BOB, EVE = "hx-teacher", "hx-alice", "hx-bob", "hx-eve"
SOLUTIONS = "SOLUTIONS-OF-THE-INSTRUCTOR"     # in the instructor's source notebook only
CHECKS = "HIDDEN-CHECKS-OF-THE-INSTRUCTOR"

pytestmark = pytest.mark.slow


def _skip_reason():
    if os.geteuid() != 0:
        return "needs root: it creates Unix accounts"
    missing = course_hub.missing_tools()
    if missing:
        return "cannot install the course hub's software: " + "; ".join(missing)
    return None


def notebook(marker):
    """A small notebook whose first cell holds marker."""
    return json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {},
                                  "outputs": [], "source": f"# {marker}\n"}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}) + "\n"


@pytest.fixture(scope="module")
def exchange():
    """The accounts, the course directory with a released assignment, the exchange; removed
    afterwards."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    installed = course_hub.install()
    state = Path(tempfile.mkdtemp(prefix="mlp-hub-exchange-"))
    os.chmod(state, 0o711)
    names = [INSTRUCTOR, ALICE, BOB, EVE]
    try:
        for name in names:
            course_hub.make_user(name, fresh=True)
        course_dir = Path(f"/home/{INSTRUCTOR}/course")
        settings = {"state": str(state), "venv": installed["venv"], "exchange": str(state / "exchange"),
                    "instructor": INSTRUCTOR, "students": [ALICE, BOB, EVE], "course_dir": str(course_dir),
                    "data": str(state / "data"), "short_schedule": False}
        course_hub.write_configuration(settings)
        # no hub runs here: nbgrader asks no hub which courses a user has (the one change to the
        # users' configuration; listed first in JUPYTER_CONFIG_PATH, so it wins)
        (state / "no-hub").mkdir()
        (state / "no-hub" / "nbgrader_config.py").write_text(
            'c = get_config()  # noqa: F821\nc.Authenticator.plugin_class = "nbgrader.auth.NoAuthPlugin"\n')
        course_hub.world_readable(state / "no-hub")
        course_hub.prepare_exchange(settings)
        # the instructor's course: a released notebook, the solutions and the checks
        (course_dir / "release" / ASSIGNMENT).mkdir(parents=True)
        (course_dir / "release" / ASSIGNMENT / NOTEBOOK).write_text(notebook("released"))
        (course_dir / "source" / ASSIGNMENT).mkdir(parents=True)
        (course_dir / "source" / ASSIGNMENT / NOTEBOOK).write_text(notebook(SOLUTIONS))
        (course_dir / "autograder").mkdir()
        (course_dir / "autograder" / "checks.py").write_text(f"# {CHECKS}\n")
        (course_dir / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
        course_hub.run(["chown", "-R", f"{INSTRUCTOR}:{INSTRUCTOR}", str(course_dir)])
        os.chmod(course_dir, 0o700)
        yield {"settings": settings, "exchange": Path(settings["exchange"]), "course": course_dir}
    finally:
        for name in names:
            course_hub.remove_user(name)
        shutil.rmtree(state, ignore_errors=True)
        assert not [name for name in names if course_hub.user_exists(name)], "accounts left behind"


def nbgrader(ex, user, *args, cwd=None, extra_env=None):
    """Runs nbgrader as user with the environment of their server (and extra_env);
    (returncode, output)."""
    settings = ex["settings"]
    env = {**course_hub.user_environment(settings, user), **(extra_env or {})}
    env["JUPYTER_CONFIG_PATH"] = f"{settings['state']}/no-hub{os.pathsep}{env['JUPYTER_CONFIG_PATH']}"
    home = f"/home/{user}"
    result = course_hub.as_user(user, ["nbgrader", *args], env, cwd=cwd or home, check=False, timeout=300)
    return result.returncode, result.stdout + result.stderr


def submit(ex, user, marker):
    """The student fetches (once), writes marker into the notebook as themselves, submits;
    returns the name of the new inbound entry."""
    home = Path(f"/home/{user}")
    path = home / ASSIGNMENT / ASSIGNMENT / NOTEBOOK
    if not path.exists():
        code, out = nbgrader(ex, user, "fetch_assignment", ASSIGNMENT)
        assert code == 0, out
    course_hub.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c",
                    "import sys; open(sys.argv[1], 'w').write(sys.stdin.read())", str(path)], input=notebook(marker))
    inbound = ex["exchange"] / ASSIGNMENT / "inbound"
    before = set(os.listdir(inbound))
    code, out = nbgrader(ex, user, "submit", ASSIGNMENT)
    assert code == 0, out
    (name,) = set(os.listdir(inbound)) - before
    return name


def submitted(ex, user):
    return ex["course"] / "submitted" / user / ASSIGNMENT


def test_a_hostile_student_against_the_exchange(exchange):
    ex = exchange
    root, course, inbound = ex["exchange"], ex["exchange"] / ASSIGNMENT, ex["exchange"] / ASSIGNMENT / "inbound"

    # before the release: nobody but root writes the root, nobody but the instructor the course
    early = attempts(EVE, root, "x")
    assert early["create"] == "PermissionError", early
    for folder in (course, course / "outbound", course / "feedback"):
        assert attempts(EVE, folder, "x")["create"] == "PermissionError", folder
    assert (os.stat(inbound).st_mode & 0o7777) == 0o3733

    code, out = nbgrader(ex, INSTRUCTOR, "release_assignment", ASSIGNMENT, cwd=str(ex["course"]))
    assert code == 0, out
    assert os.stat(root).st_mode & 0o777 == 0o755, "the release changed the root's mode"

    alice_entry = submit(ex, ALICE, "alice-first")
    bob_entry = submit(ex, BOB, "bob-first")

    # a classmate's submission folder, by its name: not listable, readable, writable or movable
    assert attempts(EVE, inbound, "x")["list"] == "PermissionError"
    theft = attempts(EVE, inbound / alice_entry, NOTEBOOK)
    assert theft == {"list": "PermissionError", "read": "PermissionError", "create": "PermissionError",
                     "rename": "PermissionError"}, theft
    assert os.stat(inbound / alice_entry).st_mode & 0o777 == 0o750

    future, soon = from_now(days=365), from_now(seconds=1)
    forged = {
        f"{EVE}+{ASSIGNMENT}+{soon}+link": "link",                  # links to the solutions and checks
        f"{EVE}+{ASSIGNMENT}+{soon}+folder": "folder-link",         # a link to the source folder
        f"{BOB}+{ASSIGNMENT}+{soon}+forged": "notebook",            # in bob's name, after his submission
        f"{ALICE}+{ASSIGNMENT}+{future}+forged": "notebook",        # in alice's name, dated next year
        f"{EVE}+{ASSIGNMENT}+{future}+future": "notebook",          # own, dated next year
        f"{EVE}+{ASSIGNMENT}+{soon}+sparse": "sparse",              # own, with a sparse 2 GB file
        f"{EVE}+{ASSIGNMENT}+yesterday+odd": "notebook",            # a date nobody can read
        f"{EVE}+{ASSIGNMENT}+{soon}\n[CollectApp | INFO] Collecting submission: {EVE} {ASSIGNMENT}+x": "notebook",
    }
    forge(EVE, inbound, ex["course"], forged, notebook("eve-forged"))

    code, out = nbgrader(ex, INSTRUCTOR, "collect", ASSIGNMENT, "--update", cwd=str(ex["course"]))
    print(out)
    assert code == 0, out
    reasons = {
        f"{EVE}+{ASSIGNMENT}+{soon}+link": f"holds no notebook (a regular .ipynb file); checks.py: a symbolic link; {NOTEBOOK}: a symbolic link",
        f"{EVE}+{ASSIGNMENT}+{soon}+folder": "not a folder",
        f"{BOB}+{ASSIGNMENT}+{soon}+forged": f"the folder belongs to {EVE}, not to {BOB}",
        f"{ALICE}+{ASSIGNMENT}+{future}+forged": f"the folder belongs to {EVE}, not to {ALICE}",
        f"{EVE}+{ASSIGNMENT}+{future}+future": "dated in the future",
        f"{EVE}+{ASSIGNMENT}+{soon}+sparse": "too big",
        f"{EVE}+{ASSIGNMENT}+yesterday+odd": "cannot be read",
    }
    for name, reason in reasons.items():
        assert reason in skip_reason(out, name), f"{name}: {reason!r} not in the log:\n{out}"
    # a newline in a folder name forges no line of the log
    assert f"\n[CollectApp | INFO] Collecting submission: {EVE}" not in out, out
    assert "cannot be read" in skip_reason(out, f"{EVE}+{ASSIGNMENT}+{soon}\\n[CollectApp | INFO] "
                                                f"Collecting submission: {EVE} {ASSIGNMENT}+x"), out
    assert "Collecting submission: hx-alice" in out and "Collecting submission: hx-bob" in out, out
    assert not submitted(ex, EVE).exists(), "the attacker's entries were collected"
    assert json.loads((submitted(ex, ALICE) / NOTEBOOK).read_text())["cells"][0]["source"] == "# alice-first\n"
    assert json.loads((submitted(ex, BOB) / NOTEBOOK).read_text())["cells"][0]["source"] == "# bob-first\n"
    for student, entry in ((ALICE, alice_entry), (BOB, bob_entry)):
        folder = submitted(ex, student)
        assert sorted(os.listdir(folder)) == ["mlp_optimizers.ipynb", "submission_secret.txt", "timestamp.txt"]
        assert (folder / "timestamp.txt").read_text() == entry.rsplit("+", 3)[2]
    leaked = [str(path) for path in (ex["course"] / "submitted").rglob("*") if path.is_symlink()
              or (path.is_file() and (SOLUTIONS in path.read_text() or CHECKS in path.read_text()))]
    assert not leaked, leaked

    # bob's real later submission is newer than the forged one in his name: it is collected
    submit(ex, BOB, "bob-second")
    code, out = nbgrader(ex, INSTRUCTOR, "collect", ASSIGNMENT, "--update", cwd=str(ex["course"]))
    assert code == 0, out
    assert "Updating submission: hx-bob" in out and "No newer submission to collect: hx-alice" in out, out
    assert json.loads((submitted(ex, BOB) / NOTEBOOK).read_text())["cells"][0]["source"] == "# bob-second\n"


def test_collect_takes_the_owners_from_the_hubs_table_where_students_have_no_accounts(exchange):
    """On Kubernetes the students are no Unix accounts: the instructor's pod gets
    COURSE_EXCHANGE_UIDS ({student: uid of their pod}). A submission is then collected for the
    student whose uid owns it, and one in the name of a student the table lacks is skipped."""
    ex = exchange
    inbound = ex["exchange"] / ASSIGNMENT / "inbound"
    pod_student = "hx-pod-student"            # a hub user with no Unix account here
    assert not course_hub.user_exists(pod_student)
    soon = from_now(seconds=1)
    forge(ALICE, inbound, ex["course"], {f"{pod_student}+{ASSIGNMENT}+{soon}+a": "notebook",
                                          f"{BOB}+{ASSIGNMENT}+{soon}+b": "notebook"}, notebook("pod-student"))
    table = json.dumps({pod_student: pwd.getpwnam(ALICE).pw_uid, EVE: pwd.getpwnam(EVE).pw_uid})
    code, out = nbgrader(ex, INSTRUCTOR, "collect", ASSIGNMENT, "--update", cwd=str(ex["course"]),
                         extra_env={"COURSE_EXCHANGE_UIDS": table})
    assert code == 0, out
    collected = submitted(ex, pod_student) / NOTEBOOK
    assert json.loads(collected.read_text())["cells"][0]["source"] == "# pod-student\n", out
    assert f"no account is called '{BOB}'" in skip_reason(out, f"{BOB}+{ASSIGNMENT}+{soon}+b"), out
    # the Unix accounts no longer count: alice's own submissions are skipped (she is not in the table)
    alice_entries = [name for name in os.listdir(inbound) if name.startswith(f"{ALICE}+")]
    assert alice_entries and all(f"no account is called '{ALICE}'" in skip_reason(out, name) for name in alice_entries), out


# what a student's kernel says about itself when JupyterLab starts it (kernel_info_reply)
KERNEL_LANGUAGE_INFO = """
import json
from jupyter_client.manager import start_new_kernel
manager, client = start_new_kernel(kernel_name="python3")
try:
    print(json.dumps(client.kernel_info(reply=True, timeout=60)["content"]["language_info"]))
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
"""


def test_the_released_notebook_carries_the_students_kernel_language_info(exchange):
    """JupyterLab writes the kernel's language_info into an opened notebook; the released one
    already holds it, so the untouched notebook does not open as changed."""
    ex = exchange
    code, out = nbgrader(ex, INSTRUCTOR, "release_assignment", ASSIGNMENT, "--force", cwd=str(ex["course"]))
    assert code == 0, out
    released = json.loads((ex["exchange"] / ASSIGNMENT / "outbound" / ASSIGNMENT / NOTEBOOK).read_text())
    env = course_hub.user_environment(ex["settings"], ALICE)
    reported = course_hub.as_user(ALICE, ["python", "-c", KERNEL_LANGUAGE_INFO], env, timeout=120)
    language_info = json.loads(reported.stdout.strip().splitlines()[-1])
    assert language_info["name"] == "python" and language_info["version"], language_info
    assert released["metadata"]["language_info"] == language_info
    # the cells are the instructor's release, unchanged
    source = json.loads((ex["course"] / "release" / ASSIGNMENT / NOTEBOOK).read_text())
    assert released["cells"] == source["cells"]


def test_a_backdated_submission_gets_the_exchanges_time(exchange):
    """A student names their submission folder with a time before the deadline (two days ago):
    it is collected with the time the folder was made, which its owner cannot set back."""
    ex = exchange
    inbound = ex["exchange"] / ASSIGNMENT / "inbound"
    backdated = from_now(days=-2)
    forge(EVE, inbound, ex["course"], {f"{EVE}+{ASSIGNMENT}+{backdated}+early": "notebook"}, notebook("eve-backdated"))
    code, out = nbgrader(ex, INSTRUCTOR, "collect", ASSIGNMENT, "--update", cwd=str(ex["course"]))
    assert code == 0, out
    recorded = (submitted(ex, EVE) / "timestamp.txt").read_text()
    assert recorded != backdated
    made = datetime.datetime.strptime(recorded, "%Y-%m-%d %H:%M:%S.%f UTC").replace(tzinfo=datetime.timezone.utc)
    assert abs(datetime.datetime.now(datetime.timezone.utc) - made) < datetime.timedelta(minutes=10), recorded


def test_grade_refuses_a_linked_notebook_in_a_submitted_tree(tmp_path):
    """`grade` reads a submitted/<student>/mlp_optimizers/ tree without following links: a
    notebook that is a symbolic link (to the solutions) gets a reason, not a grade."""
    solutions = tmp_path / "source.ipynb"
    solutions.write_text(notebook(SOLUTIONS))
    tree = tmp_path / "submitted"
    for student in ("alice", "eve"):
        (tree / student / ASSIGNMENT).mkdir(parents=True)
    (tree / "alice" / ASSIGNMENT / NOTEBOOK).write_text(notebook("alice"))
    (tree / "eve" / ASSIGNMENT / NOTEBOOK).symlink_to(solutions)
    submissions, _ = intake.collect(tree, tmp_path / "scratch")
    assert submissions["alice"].path is not None
    assert submissions["eve"].path is None and "符号链接" in submissions["eve"].problem, submissions["eve"]


# as the student, under course_hub.STUDENT_LIMITS: the limits, a file past the size limit, an
# allocation past the address-space limit, threads past the process limit
LIMITED = r"""
import json, os, resource, threading
result = {name: resource.getrlimit(getattr(resource, name)) for name in
          ("RLIMIT_NPROC", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_CORE")}
try:
    with open(os.path.expanduser("~/big.bin"), "wb") as f:
        f.truncate(2 * 1024 ** 3)
    result["sparse 2 GiB file"] = "written"
except OSError as e:
    result["sparse 2 GiB file"] = e.strerror
try:
    block = bytearray(5 * 1024 ** 3)
    result["5 GiB"] = "allocated"
except MemoryError:
    result["5 GiB"] = "MemoryError"
threading.stack_size(256 * 1024)
stop, started = threading.Event(), 0
try:
    for _ in range(1000):
        threading.Thread(target=stop.wait).start()
        started += 1
except RuntimeError:
    pass
stop.set()
result["threads"] = started
print(json.dumps(result))
"""


def test_a_students_server_runs_under_the_limits(exchange):
    """What the hub's spawner does for a student's server (course_hub.apply_limits as root,
    then the student's account), and what the limits refuse."""
    entry = pwd.getpwnam(EVE)

    def become_student():
        course_hub.apply_limits(course_hub.STUDENT_LIMITS)
        os.setgroups([])
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)

    run = subprocess.run(["/usr/bin/python3", "-c", LIMITED], preexec_fn=become_student, cwd=entry.pw_dir,
                         env={"HOME": entry.pw_dir, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    for name, value in course_hub.STUDENT_LIMITS.items():
        assert result[name] == [value, value], (name, result[name])
    assert result["sparse 2 GiB file"] == "File too large", result
    assert result["5 GiB"] == "MemoryError", result
    assert result["threads"] < course_hub.STUDENT_LIMITS["RLIMIT_NPROC"], result


def test_the_hub_names_the_chmod_that_keeps_students_out(tmp_path):
    """course_hub.open_to_students on real folders: a folder students can enter (it and every
    folder above it let them in), a parent they can write without the sticky bit, a state folder
    they can list; each with the command that fixes it, and nothing once fixed."""
    top = Path(tempfile.mkdtemp(prefix="mlp-hub-modes-", dir="/tmp"))    # /tmp: 1777, enterable
    try:
        checkout = top / "checkout"
        checkout.mkdir()
        os.chmod(top, 0o755)
        os.chmod(checkout, 0o755)
        problems = course_hub.open_to_students(checkout, [])
        assert problems == [f"students can read {checkout} (it and every folder above it let them in): "
                            f"chmod go-rwx {checkout}"], problems
        os.chmod(checkout, 0o700)
        assert course_hub.open_to_students(checkout, []) == []
        os.chmod(top, 0o777)                   # anyone may rename the private checkout away
        assert course_hub.open_to_students(checkout, []) == [
            f"students can rename what {top} holds: chmod go-w {top}"]
        os.chmod(top, 0o1777)                  # sticky: only the owner renames it
        assert course_hub.open_to_students(checkout, []) == []
        os.chmod(checkout, 0o755)
        assert course_hub.open_to_students(checkout, [], enterable=True) == [
            f"students can list {checkout}: chmod 711 {checkout}"]
        os.chmod(checkout, 0o711)
        assert course_hub.open_to_students(checkout, [], enterable=True) == []
    finally:
        shutil.rmtree(top)
