"""grade: autograde a batch of mlp_optimizers submissions in parallel, with limits, and
export the verified scores.

    grade SUBMISSIONS [--course grading] [--workers N] [--cell-timeout 60]
          [--wall-time 600] [--memory-mb 2048] [--regexp REGEX] [--force]
    python -m autograder.grade SUBMISSIONS ...

SUBMISSIONS is a .zip of LMS downloads or a folder (read only; zips are extracted into
the course's scratch area, never next to the input), in any of these layouts:

    <student>_<anything>_mlp_optimizers.ipynb        LMS download (nbgrader zip_collect style)
    <anything>_<student>_attempt_<time>_<file>.ipynb nbgrader docs' zip_collect example
    <student>/<anything>.ipynb                       a folder per student
    [submitted/]<student>/mlp_optimizers/mlp_optimizers.ipynb   nbgrader's submitted/ tree
    nested zips of any of these (one level per student, as zip_collect extracts them)

--regexp takes an nbgrader FileNameCollectorPlugin.named_regexp (searched in the path
relative to the input) with a (?P<student_id>...) group and optionally (?P<timestamp>...).

A folder holding a submitted/ folder (an nbgrader course) is read from submitted/ only.

Each new or changed submission is graded by a worker process of its own (--workers at a
time): `nbgrader autograde mlp_optimizers --student=X --force` (cell timeout, wall-time
limit, memory limit on the kernel), `nbgrader generate_feedback --student=X`, and
autograder.verify.verify_notebook (the hidden checks outside the student's kernel). The
course directory (default ./grading, made on first use) then holds:

    grades.csv            the exported grades: VERIFIED per-cell scores, total, nbgrader
                          total, flag (nbgrader and verified disagree), reasons
    grades_nbgrader.csv   nbgrader's own export
    report.html, report.png, feedback/<student>/mlp_optimizers/mlp_optimizers.html
    grade_manifest.json   sha256 and results per student: a re-run grades only new or
                          changed submissions, and resumes after Ctrl-C or a crash
"""
import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from autograder import limits
from autograder.course import ASSIGNMENT, DATA_DIR, ROOT
from autograder.intake import IntakeError, collect, sha256_file  # noqa: F401
from autograder.pipeline import TEST_CELLS

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
MANIFEST = "grade_manifest.json"
STATE_DIR = ".grade"                  # inside the course: scratch, kernelspec, tasks, logs, lock
MANIFEST_VERSION = 1
DB_BUSY_TIMEOUT = 60                  # seconds a gradebook writer waits for the SQLite lock
DB_LOCK_RETRIES = 3                   # autograde attempts when 'database is locked' anyway


class GradeError(Exception):
    """A problem with the input or the course that stops the whole run (no traceback)."""


def sha256_tree(paths):
    """One digest of the files (relative names and contents) under each of paths."""
    digest = hashlib.sha256()
    for base in paths:
        base = Path(base)
        files = [base] if base.is_file() else sorted(
            p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            and ".ipynb_checkpoints" not in p.parts and p.suffix != ".npz")
        for path in files:
            digest.update(str(path.relative_to(base.parent)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def notebook_problem(path):
    """'' when path holds a JSON notebook nbgrader can grade, else the reason in Chinese."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except UnicodeDecodeError:
        return "笔记本不是 UTF-8 文本"
    except (ValueError, OSError):
        return "笔记本不是有效的 JSON"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return "文件不是 Jupyter 笔记本（没有 cells）"
    if data.get("nbformat") != 4:
        return f"不支持的笔记本格式 nbformat={data.get('nbformat')!r}"
    return ""


# ======================================================================================
# The course directory
# ======================================================================================

def bin_dir():
    return Path(sys.executable).parent


def nbgrader_env(extra=None):
    env = dict(os.environ)
    env["PATH"] = str(bin_dir()) + os.pathsep + env.get("PATH", "")   # nbgrader runs alembic via PATH
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("MNIST_DATA", str(DATA_DIR))
    env.update(extra or {})
    return env


def run_nbgrader(course, *args, timeout=None, env=None):
    """Runs nbgrader in the course; raises GradeError with its output tail when it fails."""
    try:
        result = subprocess.run([str(bin_dir() / "nbgrader"), *args], cwd=course, env=env or nbgrader_env(),
                                capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise GradeError(f"nbgrader {' '.join(args)} took more than {timeout} s") from None
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise GradeError(f"nbgrader {' '.join(args)} failed in {course}:\n  " + "\n  ".join(tail))
    return result


def code_digest():
    """Digest of the instructor code that decides a grade (checks, reference, verification,
    sandbox, limits). A change is reported (run with --force to regrade), not acted on: a
    re-run grades only new or changed submissions."""
    package = Path(__file__).resolve().parent
    return sha256_tree([package / name for name in ("checks.py", "gradcheck.py", "reference", "verify.py",
                                                    "sandbox", "limits.py") if (package / name).exists()])[:16]


def prepare_course(course):
    """Makes course a course directory like Course.scratch (config, source, data link) if it is
    not one, copies the repository's source again when it changed, and runs
    generate_assignment when the release is missing or stale. Returns the source digest."""
    course.mkdir(parents=True, exist_ok=True)
    repo_source = ROOT / "source" / ASSIGNMENT
    source = course / "source" / ASSIGNMENT
    is_repo = course.resolve() == ROOT.resolve()
    if not is_repo:
        if not (course / "nbgrader_config.py").exists():
            shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        if not source.exists() or sha256_tree([source]) != sha256_tree([repo_source]):
            if source.exists():
                shutil.rmtree(source)
            shutil.copytree(repo_source, source,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.npz"))
        data = course / "data" / "mnist"
        if not data.exists():
            data.parent.mkdir(exist_ok=True)
            data.symlink_to(DATA_DIR, target_is_directory=True)
    digest = sha256_tree([source])
    stamp = course / STATE_DIR / "release.sha256"
    if not ((course / "release" / ASSIGNMENT / NOTEBOOK).exists() and (course / "gradebook.db").exists()
            and stamp.exists() and stamp.read_text() == digest):
        print("Generating the assignment (nbgrader generate_assignment) ...", flush=True)
        run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", timeout=600)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    return digest


def db_url(course):
    return f"sqlite:///{course / 'gradebook.db'}?timeout={DB_BUSY_TIMEOUT}"


def register_students(course, students):
    """Adds the students to the gradebook in one transaction (before the workers start, so
    that the parallel autogrades never create students concurrently)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url(course)) as gradebook:
        for student in students:
            gradebook.update_or_create_student(student)


class Manifest:
    """grade_manifest.json: {'version', 'students': {student: {'sha256', 'fingerprint',
    'source', 'result'}}}, written atomically after each graded submission."""

    def __init__(self, path, code=""):
        self.path = Path(path)
        self.code = code
        self.students = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text())
                if data.get("version") == MANIFEST_VERSION:
                    self.students = data.get("students", {})
            except (ValueError, OSError):
                print(f"warning: {self.path} is unreadable; every submission is graded again")

    def is_current(self, submission, fingerprint):
        entry = self.students.get(submission.student)
        # a submission without a verified score (sandbox unavailable, grading error) is retried
        return bool(entry and entry.get("sha256") == submission.sha256
                    and entry.get("fingerprint") == fingerprint
                    and (entry.get("result") or {}).get("verified") is not None)

    def record(self, submission, fingerprint, result):
        self.students[submission.student] = {"sha256": submission.sha256, "fingerprint": fingerprint,
                                             "code": self.code, "source": submission.rel, "result": result}
        self.save()

    def save(self):
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"version": MANIFEST_VERSION, "students": self.students},
                                  ensure_ascii=False, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


# ======================================================================================
# One submission (runs in a worker process)
# ======================================================================================

def run_limited(cmd, cwd, env, wall_time, log_path):
    """Runs cmd in a session of its own; past wall_time kills it and its descendants.
    Returns (returncode or None when killed, seconds)."""
    start = time.monotonic()
    with open(log_path, "ab") as log:
        log.write(f"\n$ {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            returncode = proc.wait(timeout=wall_time)
        except subprocess.TimeoutExpired:
            limits.kill_tree(proc.pid)
            proc.wait()
            returncode = None
        finally:
            if proc.poll() is None:
                limits.kill_tree(proc.pid)
                proc.wait()
    return returncode, time.monotonic() - start


def _log_tail(log_path, start_offset):
    with open(log_path, "rb") as f:
        f.seek(start_offset)
        return f.read().decode(errors="replace")


def nbgrader_scores(course, student):
    """{grade_id: score} of student's autograded cells in the gradebook ({} when absent)."""
    from nbgrader.api import Gradebook, MissingEntry

    for attempt in range(DB_LOCK_RETRIES):
        try:
            with Gradebook(db_url(course)) as gradebook:
                try:
                    notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
                except MissingEntry:
                    return {}
                return {g.name: float(g.score or 0.0) for g in notebook.grades if g.name in TEST_CELLS}
        except Exception as e:            # sqlalchemy OperationalError: database is locked
            if "locked" not in str(e) or attempt == DB_LOCK_RETRIES - 1:
                raise
            time.sleep(2 ** attempt)
    return {}


def cell_problems(autograded_notebook, memory_mb, cell_timeout):
    """Reasons (Chinese) from the errors nbgrader recorded in the autograded notebook:
    cells stopped by the cell timeout or the memory limit."""
    try:
        cells = json.loads(Path(autograded_notebook).read_text()).get("cells", [])
    except (OSError, ValueError):
        return []
    reasons, number = [], 0
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        names = {o.get("ename") for o in cell.get("outputs", []) if o.get("output_type") == "error"}
        where = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"第 {number} 个代码单元"
        if names & {"CellTimeoutError", "KeyboardInterrupt"}:
            reasons.append(f"nbgrader：{where} 超过单元格时间限制 {cell_timeout:g} s，已中断")
        if "MemoryError" in names:
            reasons.append(f"nbgrader：{where} 内存超过 {memory_mb:g} MB（MemoryError）")
    return reasons


def run_autograde(task, log_path):
    """nbgrader autograde of one student, retried while the gradebook is locked.
    Returns (status, scores, reasons)."""
    course, student, opts = Path(task["course"]), task["student"], task["options"]
    cmd = [str(bin_dir() / "nbgrader"), "autograde", ASSIGNMENT, f"--student={student}", "--force",
           f"--Execute.timeout={opts['cell_timeout']}", f"--CourseDirectory.db_url={db_url(course)}"]
    env = nbgrader_env(task["env"])
    for attempt in range(DB_LOCK_RETRIES):
        offset = log_path.stat().st_size if log_path.exists() else 0
        returncode, seconds = run_limited(cmd, course, env, opts["wall_time"], log_path)
        if returncode is None:
            return "timeout", {g: 0.0 for g in TEST_CELLS}, [
                f"nbgrader：超过每份作业的时间限制 {opts['wall_time']:g} s，已终止（nbgrader 分数记为 0）"]
        output = _log_tail(log_path, offset)
        if returncode != 0 and "database is locked" in output and attempt < DB_LOCK_RETRIES - 1:
            time.sleep(2 * 2 ** attempt)
            continue
        break
    autograded = course / "autograded" / student / ASSIGNMENT / NOTEBOOK
    reasons = cell_problems(autograded, opts["memory_mb"], opts["cell_timeout"]) if autograded.exists() else []
    scores = nbgrader_scores(course, student)
    if returncode != 0 or not autograded.exists():
        if "DeadKernelError" in output or "Kernel died" in output:
            reasons.append(f"nbgrader：内核意外退出（例如学生代码调用了 os._exit、崩溃，或超过内存限制 "
                           f"{opts['memory_mb']:g} MB），nbgrader 分数记为 0")
        else:
            errors = [line for line in output.splitlines() if "ERROR" in line or "Error" in line]
            reasons.append("nbgrader autograde 失败" + (f"：{errors[-1].strip()[:300]}" if errors else ""))
        return "error", {g: scores.get(g, 0.0) for g in TEST_CELLS}, reasons
    return "ok", {g: scores.get(g, 0.0) for g in TEST_CELLS}, reasons


def run_verify(path, opts):
    """verify_notebook of autograder.verify (the VERIFY helper's module): returns
    (scores or None, messages, reason, sandbox, error)."""
    try:
        from autograder.verify import verify_notebook
    except ImportError as e:                       # integration point: verify.py missing
        return None, {}, "", "", f"autograder.verify 不可用：{e}"
    try:
        result = verify_notebook(path, cell_timeout=opts["cell_timeout"], wall_time=opts["wall_time"],
                                 memory_mb=opts["memory_mb"])
    except Exception as e:                         # SandboxUnavailable, or a bug: no verified score
        return None, {}, "", "", f"核验失败：{type(e).__name__}: {e}"
    scores = {g: float(result.scores.get(g, 0.0)) for g in TEST_CELLS}
    # cells the sandbox stopped (cell timeout, memory): cell_errors is an extra of verify.py
    limited = [f"核验：第 {number} 个代码单元{error if str(error).startswith('超过') else '：' + str(error)}"
               for number, error in getattr(result, "cell_errors", [])
               if "时间限制" in str(error) or "MemoryError" in str(error) or "内存" in str(error)]
    return scores, dict(result.messages), result.reason, result.sandbox, "\n".join(limited)


def grade_one(task):
    """Autograde, feedback and verification of one submission. Never raises: problems
    become reasons in the returned result (a JSON-able dict)."""
    start = time.monotonic()
    course, student, opts = Path(task["course"]), task["student"], task["options"]
    for key, value in task["env"].items():     # BLAS threads etc. for verify's sandbox too
        os.environ[key] = value
    log_path = course / STATE_DIR / "logs" / f"{student}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("")
    submitted = course / "submitted" / student / ASSIGNMENT / NOTEBOOK
    result = {"student": student, "nbgrader": None, "nbgrader_status": "not run", "verified": None,
              "messages": {}, "verify_reason": "", "sandbox": "", "reasons": list(task.get("notes", [])),
              "feedback": "", "seconds": 0.0, "timings": {}}
    timings = result["timings"]
    try:
        problem = notebook_problem(submitted)
        if problem:
            result["reasons"].append(f"{problem}：没有运行 nbgrader")
            result["nbgrader"] = {g: 0.0 for g in TEST_CELLS}
        else:
            step = time.monotonic()
            status, scores, reasons = run_autograde(task, log_path)
            timings["autograde"] = round(time.monotonic() - step, 1)
            result.update(nbgrader=scores, nbgrader_status=status)
            result["reasons"] += reasons
        step = time.monotonic()
        verified, messages, reason, sandbox, error = run_verify(submitted, opts)
        timings["verify"] = round(time.monotonic() - step, 1)
        result.update(verified=verified, messages=messages, verify_reason=reason, sandbox=sandbox)
        if reason:
            result["reasons"].append(f"核验：{reason}")
        if error:
            result["reasons"] += error.splitlines()
        step = time.monotonic()
        result["feedback"] = make_feedback(course, student, result, log_path, problem)
        timings["feedback"] = round(time.monotonic() - step, 1)
    except Exception as e:      # a bug here must not stop the batch: record it for this student
        import traceback
        with open(log_path, "a") as log:
            log.write(traceback.format_exc())
        result["reasons"].append(f"评分程序出错：{type(e).__name__}: {e}（见 {log_path}）")
    result["seconds"] = round(time.monotonic() - start, 1)
    return result


def make_feedback(course, student, result, log_path, problem):
    """nbgrader generate_feedback for the student, with the verified grade and the reasons
    added at the top; a page with only those when nbgrader produced none."""
    from autograder import report

    html = course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
    if not problem and result["nbgrader_status"] in ("ok", "error") and \
            (course / "autograded" / student / ASSIGNMENT / NOTEBOOK).exists():
        returncode, _ = run_limited([str(bin_dir() / "nbgrader"), "generate_feedback", ASSIGNMENT,
                                     f"--student={student}", "--force"],
                                    course, nbgrader_env(), 300, log_path)
        if returncode != 0:
            result["reasons"].append("nbgrader generate_feedback 失败")
    else:
        html.unlink(missing_ok=True)
    report.add_feedback_note(html, result)
    return str(html.relative_to(course))


# ======================================================================================
# The batch
# ======================================================================================

def kernel_threads(workers):
    return max(1, (os.cpu_count() or 1) // workers)


def check_paths(input_path, course):
    """The course directory and the input must not contain each other: nothing may be
    written under the input, and the input must not pick up the course's own notebooks."""
    source, target = input_path.resolve(), course.resolve()
    if target == source or source in target.parents:
        raise GradeError(f"the course directory {course} is inside the input {input_path}; "
                         f"use --course to put it elsewhere")
    if target in source.parents:
        raise GradeError(f"the input {input_path} is inside the course directory {course}; "
                         f"copy the submissions out of it or use another --course")


def lock_course(course):
    """An exclusive lock on the course for this run (released when the process exits)."""
    path = course / STATE_DIR / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise GradeError(f"another grade run is using {course}") from None
    return handle


def grade_pending(course, pending, options, workers, manifest, fingerprint, lock):
    """Grades the pending submissions, at most `workers` at a time, each in a worker process
    of its own (`python -m autograder.grade --worker TASK`, in a session of its own), with a
    progress bar. Records each result in the manifest as it arrives. Returns the number
    graded; on Ctrl-C kills the running workers and everything they started, then re-raises."""
    from tqdm import tqdm

    threads = str(kernel_threads(workers))
    env = {name: os.environ.get(name, threads) for name in
           ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")}
    jupyter_dir = limits.write_kernelspec(course / STATE_DIR / "jupyter", options["memory_mb"],
                                          cpu_seconds=options["wall_time"] * int(threads) + 60)
    env["JUPYTER_PATH"] = str(jupyter_dir) + (os.pathsep + os.environ["JUPYTER_PATH"]
                                               if os.environ.get("JUPYTER_PATH") else "")
    tasks_dir = course / STATE_DIR / "tasks"
    tasks_dir.mkdir(parents=True, exist_ok=True)
    (course / STATE_DIR / "logs").mkdir(parents=True, exist_ok=True)
    queue = list(pending)
    by_student = {s.student: s for s in pending}
    running = {}                      # student -> (Popen, result path, started)
    # a worker past this is stuck (its own limits bound nbgrader, verification and feedback)
    watchdog = 2 * options["wall_time"] + 900
    done = 0
    bar = tqdm(total=len(queue), unit="nb", desc="grading", dynamic_ncols=True, file=sys.stderr)
    try:
        while queue or running:
            while queue and len(running) < workers:
                submission = queue.pop(0)
                task = {"course": str(course), "student": submission.student, "options": options,
                        "env": env, "notes": submission.notes, "sha256": submission.sha256,
                        "fingerprint": fingerprint}
                task_path = tasks_dir / f"{submission.student}.json"
                result_path = tasks_dir / f"{submission.student}.result.json"
                result_path.unlink(missing_ok=True)
                task_path.write_text(json.dumps(task, ensure_ascii=False))
                with open(course / STATE_DIR / "logs" / f"{submission.student}.worker.log", "wb") as log:
                    # the worker inherits the course lock: a worker left behind by a crashed run
                    # keeps the next run from grading the same student at the same time
                    proc = subprocess.Popen([sys.executable, "-m", "autograder.grade", "--worker", str(task_path)],
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True, pass_fds=(lock.fileno(),))
                running[submission.student] = (proc, result_path, time.monotonic())
            time.sleep(0.2)
            for student, (proc, result_path, started) in list(running.items()):
                if proc.poll() is None:
                    if time.monotonic() - started < watchdog:
                        continue
                    limits.kill_tree(proc.pid)
                    proc.wait()
                del running[student]
                result = _read_result(result_path, student, proc.returncode)
                manifest.record(by_student[student], fingerprint, result)
                done += 1
                bar.set_postfix_str(student[:30])
                bar.update(1)
                bar.write(status_line(result))
    except BaseException:
        if running:
            bar.write(f"Stopping {len(running)} running worker(s) ...")
        for proc, _, _ in running.values():
            limits.kill_tree(proc.pid)
            proc.wait()
        raise
    finally:
        bar.close()
    return done


def _read_result(path, student, returncode):
    """The result a worker wrote, or a failure result (no verified score: retried next run)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        why = "被终止（超过时间限制）" if returncode in (None, -9, -15) else f"退出码 {returncode}"
        return {"student": student, "nbgrader": None, "nbgrader_status": "not run", "verified": None,
                "messages": {}, "verify_reason": "", "sandbox": "", "feedback": "", "seconds": 0.0,
                "reasons": [f"评分进程意外结束（{why}），没有结果；下次运行会重新评分"]}


def recover_results(course, submissions, manifest, fingerprint):
    """Records the results that workers of an interrupted or crashed run wrote after their
    main process stopped listening (same file content and grading options only)."""
    for path in sorted((course / STATE_DIR / "tasks").glob("*.result.json")):
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        submission = submissions.get(result.get("student"))
        if (submission and not manifest.is_current(submission, fingerprint)
                and result.get("graded") == {"sha256": submission.sha256, "fingerprint": fingerprint}):
            manifest.record(submission, fingerprint, result)
            print(f"recovered the result of {submission.student} from an interrupted run")


def worker_main(task_path):
    """`python -m autograder.grade --worker TASK`: grade_one(task), result written next to TASK."""
    task = json.loads(Path(task_path).read_text())
    result = grade_one(task)
    result["graded"] = {"sha256": task["sha256"], "fingerprint": task["fingerprint"]}
    out = Path(task_path).with_suffix(".result.json")
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False))
    os.replace(tmp, out)
    return 0


def status_line(result):
    """One line per graded submission for the progress log."""
    from autograder.report import disagreements, total

    verified = total(result.get("verified"))
    nbgrader = total(result.get("nbgrader"))
    text = (f"  {result['student']:<28}  verified {'-' if verified is None else f'{verified:g}':>5}"
            f"  nbgrader {'-' if nbgrader is None else f'{nbgrader:g}':>5} ({result['nbgrader_status']})"
            f"  {result['seconds']:.0f} s")
    if disagreements(result):
        text += "  DISAGREE"
    if result["reasons"]:
        text += "  | " + "; ".join(result["reasons"])[:200]
    return text


def export_nbgrader(course):
    run_nbgrader(course, "export", "--to=grades_nbgrader.csv", timeout=600)


def run(args):
    start = time.monotonic()
    input_path = Path(args.submissions).expanduser()
    course = Path(args.course).expanduser().absolute()
    if not input_path.exists():
        raise GradeError(f"{input_path}: no such file or folder")
    check_paths(input_path, course)
    if course.exists() and not course.is_dir():
        raise GradeError(f"--course {course} is not a folder")
    lock = lock_course(course)
    scratch = course / STATE_DIR / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)       # left by an interrupted run
    scratch.mkdir(parents=True)
    try:
        submissions, skipped = collect(input_path, scratch, args.regexp)
        for rel, why in skipped:
            print(f"skipped {rel}: {why}")
        source_digest = prepare_course(course)
        options = {"cell_timeout": args.cell_timeout, "wall_time": args.wall_time, "memory_mb": args.memory_mb}
        # what a grade depends on: the assignment (source) and the limits; a change regrades all.
        fingerprint = hashlib.sha256(json.dumps([source_digest, options], sort_keys=True).encode()).hexdigest()[:16]
        manifest = Manifest(course / MANIFEST, code_digest())
        if not args.force:
            recover_results(course, submissions, manifest, fingerprint)
        pending = [s for s in submissions.values() if args.force or not manifest.is_current(s, fingerprint)]
        print(f"{len(submissions)} submissions in {input_path}: {len(pending)} to grade, "
              f"{len(submissions) - len(pending)} unchanged", flush=True)
        graded = 0
        if pending:
            for submission in pending:
                target = course / "submitted" / submission.student / ASSIGNMENT / NOTEBOOK
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(submission.path, target)
            register_students(course, [s.student for s in pending])
            workers = max(1, args.workers or os.cpu_count() or 1)
            print(f"Grading with {min(workers, len(pending))} worker processes "
                  f"(cell timeout {args.cell_timeout:g} s, {args.wall_time:g} s and {args.memory_mb} MB "
                  f"per submission) ...", flush=True)
            try:
                graded = grade_pending(course, pending, options, workers, manifest, fingerprint, lock)
            except KeyboardInterrupt:
                done = sum(manifest.is_current(s, fingerprint) for s in submissions.values())
                print(f"Interrupted: {done} of {len(submissions)} submissions are graded and recorded in "
                      f"{course / MANIFEST}; run the same command again to grade the rest.", file=sys.stderr)
                return 130
        exported = course / "grades_nbgrader.csv"
        if not exported.exists() or exported.stat().st_mtime < (course / "gradebook.db").stat().st_mtime:
            export_nbgrader(course)
        return finish(course, submissions, manifest, start, graded)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        lock.close()


def finish(course, submissions, manifest, start, graded):
    from autograder import report

    results = {}
    for student in sorted(submissions):
        entry = manifest.students[student]
        results[student] = dict(entry["result"], source=entry.get("source", ""))
    report.write_grades_csv(results, course / "grades.csv")
    report.write_report(results, course / "report.html", course / "report.png", course=course)
    print()
    print(report.text_table(results))
    print()
    absent = sorted(set(manifest.students) - set(submissions))
    if absent:
        print(f"{len(absent)} students graded earlier are not in this input (kept in the gradebook): "
              + ", ".join(absent[:10]) + (" ..." if len(absent) > 10 else ""))
    stale = [s for s in submissions if manifest.students[s].get("code") != manifest.code]
    if stale:
        print(f"note: the grading code (autograder checks/verify/sandbox) changed since {len(stale)} of these "
              f"submissions were graded; run with --force to grade them again.")
    flagged = [s for s, r in results.items() if report.flag(r)]
    print(f"Graded {graded} of {len(submissions)} submissions in {time.monotonic() - start:.0f} s; "
          f"{len(flagged)} flagged (nbgrader and verified scores disagree, or no verified score).")
    for name in ("grades.csv", "grades_nbgrader.csv", "report.html", "report.png"):
        print(f"  {course / name}")
    print(f"  {course}/feedback/<student>/{ASSIGNMENT}/{ASSIGNMENT}.html")
    return 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="grade", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", help="a .zip of submissions or a folder of them (never modified)")
    parser.add_argument("--course", default="grading",
                        help="course directory for the gradebook and outputs (default: ./grading)")
    parser.add_argument("--workers", type=int, default=None,
                        help="parallel worker processes (default: os.cpu_count())")
    parser.add_argument("--cell-timeout", type=float, default=60,
                        help="seconds per notebook cell (nbgrader's Execute.timeout; default 60)")
    parser.add_argument("--wall-time", type=float, default=600,
                        help="seconds per submission for nbgrader autograde, and for the verification (default 600)")
    parser.add_argument("--memory-mb", type=int, default=2048,
                        help="address-space limit of the student's kernel in MiB (default 2048)")
    parser.add_argument("--regexp", default=None,
                        help="named regexp with (?P<student_id>...) searched in each notebook's path")
    parser.add_argument("--force", action="store_true", help="grade every submission again")
    args = parser.parse_args(argv)
    if args.cell_timeout <= 0 or args.wall_time <= 0 or args.memory_mb <= 0:
        parser.error("--cell-timeout, --wall-time and --memory-mb must be positive")
    if args.cell_timeout != int(args.cell_timeout):
        parser.error("--cell-timeout must be a whole number of seconds (nbgrader's Execute.timeout)")
    args.cell_timeout = int(args.cell_timeout)
    if args.regexp:
        try:
            if "student_id" not in re.compile(args.regexp).groupindex:
                parser.error("--regexp needs a (?P<student_id>...) group")
        except re.error as e:
            parser.error(f"--regexp is not a valid regular expression: {e}")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"] and len(argv) == 2:
        return worker_main(argv[1])
    args = parse_args(argv)
    try:
        return run(args)
    except (GradeError, IntakeError) as e:
        print(f"grade: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grade: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
