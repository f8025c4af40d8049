"""The `grade` command (autograder.grade) end to end: real nbgrader (release, gradebook,
feedback, export), real sandboxes, real notebooks.

The batch: one zip in LMS / zip_collect layouts (file names with the student first, the
nbgrader docs' `_attempt_` names, a folder per student, a nested zip per student) with:
the reference solution, an Adam bug, the untouched release, an infinite loop plus a memory
bomb, a notebook that patches the checks inside its own process, a file that is not a
notebook, and a hostile student who tries to read the reference, the grader's environment
and other submissions, to overwrite submitted files, to kill the grader and to leave a
daemon behind. The training and plotting cells are removed (they are not graded).
"""
import csv
import hashlib
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder.course import ASSIGNMENT, RELEASE_DIR, ROOT
from autograder.examples import cell_by_grade_id, source_notebook, with_entry
from autograder.parts import TEST_CELLS

TRAINING = ("run(", "plot_", "path_optimizers", "best =")
CELL_TIMEOUT = 20
SECRET = "grader-secret-7f3a91"      # in the grader's environment; must never reach a student page
REFERENCE_MARK = (ROOT / "autograder" / "reference" / "optimizers.py").read_text().splitlines()[0]
CHECKS_MARK = (ROOT / "autograder" / "checks" / "__init__.py").read_text().splitlines()[0]
DAEMON_MARK = "mallory-daemon-4711"


def without_training(notebook):
    """notebook without the cells that train or plot (not graded)."""
    notebook.cells = [c for c in notebook.cells if c.cell_type != "code" or c.metadata.get("nbgrader")
                      or not c.source.lstrip().startswith(TRAINING)]
    return notebook


def prepend(notebook, grade_id, code):
    cell = cell_by_grade_id(notebook, grade_id)
    cell.source = code + cell.source
    return notebook


def append(notebook, grade_id, code):
    cell = cell_by_grade_id(notebook, grade_id)
    cell.source = cell.source + code
    return notebook


ADAM_BUG = "adam_no_bias_correction"
PATCH_CHECKS = """
import public_tests as _pt
_pt.test_adam = lambda *args, **kwargs: None
import autograder.checks as _checks
_checks.check_adam = lambda *args, **kwargs: None
"""


def hostile(course):
    """Code that tries what a student must not manage, then raises what it found (a
    cell's error is what of a student cell reaches the feedback page)."""
    submitted = str(course / "submitted" / "*" / ASSIGNMENT / "*.ipynb")
    targets = [str(ROOT / "autograder" / "reference" / "optimizers.py"), str(ROOT / "autograder" / "checks" / "__init__.py"),
               str(course / "gradebook.db")]
    return f'''
import glob, os, signal, subprocess, sys
_found = []
for _path in {targets!r} + glob.glob({submitted!r}):
    try:
        _found.append(open(_path, errors="replace").read()[:300])
    except Exception as _e:
        _found.append(type(_e).__name__)
for _path in glob.glob({submitted!r}) + [{str(course / "submitted" / "alice" / ASSIGNMENT / "x.ipynb")!r}]:
    try:
        open(_path, "w").write("{{}}")
        _found.append("WROTE " + _path)
    except Exception as _e:
        _found.append(type(_e).__name__)
_found.append(repr(dict(os.environ)))
for _pid in [os.getppid(), 1] + list(range(2, 300)):
    if _pid != os.getpid():
        try:
            os.kill(_pid, signal.SIGKILL)
        except Exception:
            pass
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", {DAEMON_MARK!r}],
                 start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
raise RuntimeError("FOUND " + " | ".join(_found))
'''


def notebooks(course):
    """student -> notebook bytes, and student -> expected scores per cell."""
    full = {g: float(p) for g, p in TEST_CELLS.items()}
    release = nbformat.read(RELEASE_DIR / f"{ASSIGNMENT}.ipynb", as_version=4)
    looping = prepend(prepend(without_training(source_notebook()), "adam", "while True:\n    pass\n"),
                      "adagrad", "_hog = bytearray(64 * 1024 ** 3)\n")
    mallory = without_training(source_notebook())
    mallory.cells.insert(1, nbformat.v4.new_code_cell(hostile(course)))
    made = {
        "alice": (without_training(source_notebook()), full),
        "bob": (without_training(with_entry(ADAM_BUG)), dict(full, test_adam=0.0)),
        "carol": (without_training(release), {g: 0.0 for g in TEST_CELLS}),
        "dave": (looping, dict(full, test_adam=0.0, test_adagrad=0.0)),
        "eve": (append(without_training(with_entry(ADAM_BUG)), "adam", PATCH_CHECKS), dict(full, test_adam=0.0)),
        "mallory": (mallory, full),
    }
    data = {name: nbformat.writes(nb).encode() for name, (nb, _) in made.items()}
    data["frank"] = b"this is not a notebook"
    expected = {name: scores for name, (_, scores) in made.items()}
    expected["frank"] = {g: 0.0 for g in TEST_CELLS}
    return data, expected


def lms_zip(path, data):
    """The submissions in the layouts `grade` reads from an LMS download."""
    inner = path.parent / "eve_inner.zip"
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr(f"{ASSIGNMENT}.ipynb", data["eve"])
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"alice_1001_{ASSIGNMENT}.ipynb", data["alice"])
        z.writestr(f"bob_1002_assignsubmission_file_{ASSIGNMENT}.ipynb", data["bob"])
        z.writestr(f"ps_carol_attempt_2024-05-01-10-00-00_{ASSIGNMENT}.ipynb", data["carol"])
        z.writestr(f"dave/{ASSIGNMENT}.ipynb", data["dave"])
        z.write(inner, f"eve_1005_{ASSIGNMENT}.zip")
        z.writestr(f"frank_1006_{ASSIGNMENT}.ipynb", data["frank"])
        z.writestr(f"mallory_1007_{ASSIGNMENT}.ipynb", data["mallory"])
        z.writestr("readme.txt", "not a submission")
    inner.unlink()
    return path


def tree_digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run_grade(*args, cwd):
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "autograder.grade", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True, timeout=1200,
                            env=dict(os.environ, GRADER_SECRET=SECRET))
    return result, time.monotonic() - start


def read_grades(course):
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def feedback(course, student):
    return (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")


def daemons():
    """pids of live processes whose command line holds DAEMON_MARK."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if DAEMON_MARK.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            pass
    return found


OPTIONS = ["--workers", 2, "--cell-timeout", CELL_TIMEOUT, "--wall-time", 300]


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """The first run on the zip; returns (folder, course, result, seconds, input digests,
    expected, data)."""
    folder = tmp_path_factory.mktemp("grade")
    inputs = folder / "inputs"
    inputs.mkdir()
    course = folder / "course"
    data, expected = notebooks(course)
    archive = lms_zip(inputs / "downloads.zip", data)
    before = tree_digest(inputs)
    result, seconds = run_grade(archive, "--course", course, *OPTIONS, cwd=folder)
    print(result.stdout[-6000:], result.stderr[-3000:])
    return folder, course, result, seconds, before, expected, data


@pytest.fixture(scope="module")
def second(first):
    """The same command again."""
    folder, course, *_ = first
    return run_grade(folder / "inputs" / "downloads.zip", "--course", course, *OPTIONS, cwd=folder)


@pytest.fixture(scope="module")
def third(first, second):
    """The same students as an nbgrader submitted/ tree, bob's notebook now fixed."""
    folder, course, _, _, _, _, data = first
    tree = folder / "tree"
    for student, content in data.items():
        path = tree / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(data["alice"] if student == "bob" else content)
    before = tree_digest(tree)
    autograded = {s: (course / "autograded" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").stat().st_mtime_ns
                  for s in ("alice", "carol", "dave", "eve")}
    result, seconds = run_grade(tree, "--course", course, *OPTIONS, cwd=folder)
    print(result.stdout[-4000:], result.stderr[-3000:])
    return tree, before, autograded, result, seconds


@pytest.mark.slow
def test_the_batch_is_graded_and_the_gradebook_holds_the_same_scores(first):
    _, course, result, seconds, _, expected, _ = first
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    grades = read_grades(course)
    assert set(grades) == set(expected)
    for student, scores in expected.items():
        row = grades[student]
        assert {g: float(row[g]) for g in TEST_CELLS} == scores, student
        assert float(row["total"]) == sum(scores.values()), student
    assert {row["sandbox"] for s, row in grades.items() if s != "frank"} == {"bwrap"}
    with open(course / "grades_nbgrader.csv", newline="") as f:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert exported == {s: sum(scores.values()) for s, scores in expected.items()}
    print(f"first run: {seconds:.0f} s")


@pytest.mark.slow
def test_each_test_cell_of_the_autograded_notebook_shows_its_verdict(first):
    from autograder.nbgrader_adapter import autograded_outputs
    _, course, *_ = first
    bob = autograded_outputs(course / "autograded" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert set(bob) == set(TEST_CELLS)
    assert "Adam" in " ".join(bob["test_adam"])
    assert all("隐藏测试通过" in " ".join(bob[g]) for g in TEST_CELLS if g != "test_adam")


@pytest.mark.slow
def test_limits_and_bad_files_give_reasons_and_the_batch_goes_on(first):
    _, course, *_ = first
    grades = read_grades(course)
    assert f"超过时间限制 {CELL_TIMEOUT:g} s" in grades["dave"]["reasons"]
    assert "内存限制" in grades["dave"]["reasons"]
    assert {limit.split("@")[0] for limit in grades["dave"]["limits"].split()} == {"memory", "cell_timeout"}
    assert "不是有效的 JSON" in grades["frank"]["reasons"]
    assert "超过时间限制" in feedback(course, "dave")


@pytest.mark.slow
def test_a_hostile_student_reaches_nothing_and_earns_what_the_honest_code_earns(first):
    _, course, _, _, _, _, data = first
    grades = read_grades(course)
    assert float(grades["mallory"]["total"]) == 100
    assert "FOUND" in feedback(course, "mallory")   # the hostile cell ran, and its error is shown
    for student in grades:
        page = feedback(course, student)
        for secret in (SECRET, REFERENCE_MARK, CHECKS_MARK, "WROTE /", "SQLite format"):
            assert secret not in page, (secret, student)
        if student != "mallory":  # mallory's own code names the grader's paths
            assert str(course) not in page and str(ROOT) not in page, student
    for student, content in data.items():
        assert (course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes() == content
    assert not (course / "submitted" / "alice" / ASSIGNMENT / "x.ipynb").exists()
    assert not daemons(), "a process started by a submission outlived its grading"


@pytest.mark.slow
def test_report_and_feedback(first):
    _, course, result, *_ = first
    report = (course / "report.html").read_text(encoding="utf-8")
    assert re.search(r"<img[^>]+src='data:image/png;base64,[A-Za-z0-9+/=]{1000,}'", report)
    passed = sum(float(row["test_adam"]) == TEST_CELLS["test_adam"] for row in read_grades(course).values())
    assert "Pass rate of each test cell" in report
    assert f"{round(100 * passed / 7)}% ({passed}/7)" in report   # the report agrees with grades.csv
    assert (course / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert re.search(r"^bob( +\d+){10} +89\b", result.stdout, re.M)     # the text table
    for student in ("alice", "bob", "carol", "dave", "eve", "frank", "mallory"):
        assert "grade-verified" in feedback(course, student), student
    assert "总分：89 / 100" in feedback(course, "eve")
    from autograder.nbgrader_adapter import hand_graded
    hand = sum(hand_graded(course).values())   # the written answers, graded by hand
    assert hand > 0 and f"{hand:g} points in all" in report
    assert f"书面回答共 {hand:g} 分" in feedback(course, "alice")
    # written answers nobody has graded yet have no score on the page, nor in its total
    assert "Written response" not in feedback(course, "alice") and "(Score: 100.0 / 100.0)" in feedback(course, "alice")


@pytest.mark.slow
def test_the_input_is_left_alone(first, second, third):
    folder, _, _, _, before, _, _ = first
    assert tree_digest(folder / "inputs") == before
    tree, tree_before, *_ = third
    assert tree_digest(tree) == tree_before


@pytest.mark.slow
def test_an_unchanged_rerun_grades_nothing(first, second):
    _, course, *_ = first
    result, seconds = second
    assert result.returncode == 0, result.stderr
    assert "0 to grade, 7 unchanged" in result.stdout
    assert "grading:" not in result.stderr          # no progress bar: no worker started
    assert float(read_grades(course)["alice"]["total"]) == 100
    print(f"unchanged re-run: {seconds:.0f} s")


@pytest.mark.slow
def test_a_changed_submission_is_the_only_one_graded_again(first, third):
    _, course, *_ = first
    _, _, autograded, result, seconds = third
    assert result.returncode == 0, result.stderr
    assert "1 to grade, 6 unchanged" in result.stdout
    grades = read_grades(course)
    assert float(grades["bob"]["total"]) == 100
    assert float(grades["dave"]["total"]) == 81
    for student, mtime in autograded.items():
        path = course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert path.stat().st_mtime_ns == mtime, f"{student} was autograded again"
    print(f"regrading one: {seconds:.0f} s")


# --------------------------------------------------------------------------------------
# Bad input: a clear error, never a traceback (no nbgrader run needed; the bad
# inputs of the intake itself are in test_intake.py)
# --------------------------------------------------------------------------------------

def test_the_course_may_not_be_inside_the_input(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    result, _ = run_grade(tmp_path / "a", "--course", tmp_path / "a" / "course", cwd=tmp_path)
    assert result.returncode == 2 and "inside the input" in result.stderr


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().decode(errors="replace")
        return state[state.rindex(")") + 2] != "Z"
    except (OSError, ValueError, IndexError):
        return False


@pytest.mark.slow
def test_a_killed_grade_leaves_nothing_running_and_a_rerun_proceeds(tmp_path):
    """SIGKILL of the main process mid-batch: its workers and their sandboxes die with it,
    the course lock is free, and the same command then grades everything."""
    notebook = nbformat.writes(without_training(source_notebook())).encode()
    archive = tmp_path / "downloads.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(4):
            z.writestr(f"s{i}_{1000 + i}_{ASSIGNMENT}.ipynb", notebook)
    course = tmp_path / "course"
    command = [sys.executable, "-m", "autograder.grade", str(archive), "--course", str(course), "--workers", "2"]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    tree = []
    while time.monotonic() < deadline:            # wait until the workers run sandboxes
        tree = [child.pid for child in psutil.Process(proc.pid).children(recursive=True)]
        servers = [pid for pid in tree if b"student_server" in _cmdline(pid)]
        if servers:
            break
        time.sleep(0.2)
    assert tree, "grade started no workers"
    proc.kill()
    proc.wait()
    time.sleep(3)
    assert [pid for pid in tree if _alive(pid)] == [], "processes of a killed grade are still running"
    result, _ = run_grade(archive, "--course", course, "--workers", 2, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    grades = read_grades(course)
    assert {s: float(r["total"]) for s, r in grades.items()} == {f"s{i}": 100.0 for i in range(4)}


def _without_bwrap(tmp_path):
    """An environment whose PATH has this venv's bin/ and no bwrap."""
    return dict(os.environ, PATH=str(Path(sys.executable).parent))


def test_grade_refuses_to_start_without_bubblewrap(tmp_path):
    archive = tmp_path / "downloads.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"alice_1_{ASSIGNMENT}.ipynb", nbformat.writes(source_notebook()))
    result = subprocess.run([sys.executable, "-m", "autograder.grade", str(archive), "--course", str(tmp_path / "c")],
                            capture_output=True, text=True, env=_without_bwrap(tmp_path), timeout=300)
    assert result.returncode == 2
    assert "apt-get install bubblewrap" in result.stderr and "--allow-weak-sandbox" in result.stderr
    assert not (tmp_path / "c" / "gradebook.db").exists()


@pytest.mark.slow
def test_the_weak_sandbox_grades_only_when_allowed_and_says_so_everywhere(tmp_path):
    archive = tmp_path / "downloads.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"alice_1_{ASSIGNMENT}.ipynb", nbformat.writes(without_training(source_notebook())))
    course = tmp_path / "c"
    result = subprocess.run([sys.executable, "-m", "autograder.grade", str(archive), "--course", str(course),
                             "--allow-weak-sandbox"], capture_output=True, text=True,
                            env=_without_bwrap(tmp_path), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WITHOUT bubblewrap" in result.stderr
    row = read_grades(course)["alice"]
    assert float(row["total"]) == 100 and row["sandbox"].startswith("weak")
    assert "WITHOUT bubblewrap" in (course / "report.html").read_text(encoding="utf-8")
    assert "没有使用 bubblewrap 沙箱" in feedback(course, "alice")


@pytest.mark.slow
def test_a_notebook_without_the_release_cells_is_graded_with_every_test_cell_restored(tmp_path):
    """A notebook of the student's own making (no solution or test cells): nbgrader's own
    restoring of missing cells would fail on it; every test cell is put back and scores 0."""
    from autograder.nbgrader_adapter import Course, autograded_outputs
    course = Course(tmp_path / "course")
    course.prepare()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    course.add_submission("zoe", notebook)
    result = course.autograde("zoe", {"cell_timeout": 20, "wall_time": 120})
    assert result.total == 0
    outputs = autograded_outputs(course.autograded_path("zoe"))
    assert set(outputs) == set(TEST_CELLS)
    assert all("没有找到" in " ".join(texts) for texts in outputs.values())
    assert course.scores()["zoe"] == {g: 0.0 for g in TEST_CELLS}


@pytest.mark.slow
def test_the_courses_own_submitted_tree_can_be_graded(first, second, third):
    """After `nbgrader collect` the submissions are in the course's submitted/ tree."""
    folder, course, *_ = first
    result, _ = run_grade(course / "submitted", "--course", course, *OPTIONS, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "0 to grade, 7 unchanged" in result.stdout
