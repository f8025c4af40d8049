"""The batch: grading submissions in parallel worker processes, recording each result as it
arrives, and resuming after an interruption.

    grade_batch(course, pending, options, workers, manifest, fingerprint, report_line, grader_time)
        -> number graded
    record_ungraded(course, result)   0 (or no score) with the reason replaces what a student had

Each worker is a process of its own (multiprocessing "spawn") that grades one submission
at a time with grade_submission: nbgrader's autograde through the sandbox
(nbgrader_adapter.Course.autograde), then nbgrader's feedback page with the verified note
on top, made readable offline. Workers never run student code themselves; they die with
the main process (PR_SET_PDEATHSIG), and the sandboxes die with their worker (bwrap
--die-with-parent), so a killed `grade` leaves nothing running and a re-run proceeds.
A submission may take options['wall_time'] + grader_time seconds; past that the workers are
stopped, it gets 0 with the reason, and the others in flight are graded again.

The manifest (grade_manifest.json in the course) holds, per student, the sha256 of the
graded file, the fingerprint of what a grade depends on (the assignment's source and the
limits), and the SubmissionResult; it is written after every result, so a re-run grades
only new or changed submissions.
"""
import ctypes
import json
import os
import signal
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path

from autograder.course import ASSIGNMENT
from autograder.result import SubmissionResult

MANIFEST = "grade_manifest.json"
MANIFEST_VERSION = 2
STATE_DIR = ".grade"   # inside the course: logs, lock, scratch
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


class Manifest:
    """grade_manifest.json: {'version', 'students': {student: {'sha256', 'fingerprint',
    'code', 'result'}}}, written atomically after each graded submission."""

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
        # a submission without a score (sandbox unavailable, grading error) is retried
        return bool(entry and entry.get("sha256") == submission.sha256
                    and entry.get("fingerprint") == fingerprint
                    and (entry.get("result") or {}).get("scores") is not None)

    def record(self, submission, fingerprint, result):
        self.students[submission.student] = {"sha256": submission.sha256, "fingerprint": fingerprint,
                                             "code": self.code, "result": result.to_json()}
        self.save()

    def result(self, student):
        return SubmissionResult.from_json(self.students[student]["result"])

    def save(self):
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"version": MANIFEST_VERSION, "students": self.students},
                                  ensure_ascii=False, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


# --------------------------------------------------------------------------------------
# One submission (in a worker process)
# --------------------------------------------------------------------------------------

def grade_submission(course_root, student, options, notes, source):
    """Autograde (in the sandbox), gradebook and feedback of one submission. Never raises:
    a failure of the grader itself gives a result without scores (graded again next run)."""
    try:
        return _grade_submission(course_root, student, options, notes, source)
    except Exception as e:
        from autograder.nbgrader_adapter import Course
        why = f"评分程序出错（{type(e).__name__}，评分日志：{_log_error(Course(course_root), student)}）；下次运行会重新评分"
        return SubmissionResult(student, notes=[*notes, why], source=source)


def _grade_submission(course_root, student, options, notes, source):
    """grade_submission's work. A submission that cannot be graded (nbgrader or the grader fails on it) gets 0 in every
    cell with the reason, in the gradebook and on its feedback page, and is not graded again
    until it changes; when no sandbox can start (the machine's problem) the scores are None
    and it is graded again next run."""
    from autograder import report
    from autograder.nbgrader_adapter import Course, hand_graded
    from autograder.verify import SandboxUnavailable

    started = time.monotonic()
    course = Course(course_root)
    try:
        verified = course.autograde(student, options)
    except SandboxUnavailable as e:
        why = f"沙箱无法启动，没有评分（下次运行会重新评分）：{e}"
        return record_ungraded(course, SubmissionResult(student, notes=[*notes, why], source=source), started)
    except Exception as e:
        why = (f"这份笔记本无法自动评分（{type(e).__name__}），记 0 分：请从发布的笔记本开始，不要改动测试单元格"
               f"及其元数据；修改后重新提交即会重新评分（评分日志：{_log_error(course, student)}）")
        return record_ungraded(course, SubmissionResult.zero(student, why, notes=list(notes), source=source), started)
    step = time.monotonic()
    result = SubmissionResult(
        student, scores=dict(verified.scores), messages=dict(verified.messages), mistakes=dict(verified.mistakes),
        limits=list(verified.limits), sandbox=verified.sandbox, source=source, timings=dict(verified.timings),
        notes=[*notes, verified.reason] if verified.reason and not verified.limits else list(notes))  # e.g. not a notebook
    result.timings["gradebook"] = round(step - started - verified.seconds, 3)
    page = course.feedback_path(student)
    try:
        page = course.feedback(student) or page
        report.add_feedback_note(page, result, sum(hand_graded(course.root).values()))
        _make_offline(page, course.root / "release" / ASSIGNMENT)
    except Exception as e:  # the scores stand; the page holds the note alone
        result.notes.append(f"完整的反馈页面无法生成（{type(e).__name__}，评分日志：{_log_error(course, student)}），"
                            f"这里只有评分结果")
        page.unlink(missing_ok=True)
        report.add_feedback_note(page, result, sum(hand_graded(course.root).values()))
    result.feedback = str(page.relative_to(course.root))
    result.timings["feedback"] = round(time.monotonic() - step, 3)
    result.seconds = round(time.monotonic() - started, 2)
    return result


def record_ungraded(course, result, started=None):
    """result (0 in every cell, or None: not graded) replaces whatever the student had: 0 in
    the gradebook's autograded cells, the autograded notebook removed, and a feedback page
    with the note and its reason. Returns result, with its feedback page."""
    from autograder import report
    from autograder.nbgrader_adapter import hand_graded

    course.record_zero(result.student)
    page = course.feedback_path(result.student)
    report.add_feedback_note(page, result, sum(hand_graded(course.root).values()))
    result.feedback = str(page.relative_to(course.root))
    if started is not None:
        result.seconds = round(time.monotonic() - started, 2)
    return result


def _log_error(course, student):
    """Writes the current exception's traceback to the student's log; its path in the course."""
    log = course.root / STATE_DIR / "logs" / f"{student}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(traceback.format_exc(), errors="backslashreplace")
    return str(log.relative_to(course.root))


def _make_offline(page, assignment_dir):
    """The feedback page with formulas pre-rendered and figures embedded (no network)."""
    from autograder.feedback_page import make_offline
    page.write_text(make_offline(page.read_text(encoding="utf-8"), assignment_dir), encoding="utf-8")


def _die_with_parent():
    """Worker initializer: SIGKILL this process when the main process dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle


# --------------------------------------------------------------------------------------
# The batch (in the main process)
# --------------------------------------------------------------------------------------

def grade_batch(course, pending, options, workers, manifest, fingerprint, report_line=None, grader_time=300):
    """Grades the pending Submissions (already in course/submitted/), at most `workers` at a
    time, with a progress bar; records each result in the manifest as it arrives. Returns
    the number graded. A submission may take options['wall_time'] (its sandbox) plus
    grader_time seconds (nbgrader, the checks, the feedback page); past that its worker is
    stopped, it gets 0 with the reason (record_ungraded), and the other submissions in
    flight are graded again. On Ctrl-C the workers (and their sandboxes) are stopped and
    KeyboardInterrupt is raised; what was recorded stays recorded."""
    from tqdm import tqdm

    for name in BLAS_THREADS:  # the workers' checks: small arrays, one thread each
        os.environ.setdefault(name, "1")
    budget = options["wall_time"] + grader_time
    queue = list(pending)
    done = 0
    retried = set()  # students whose worker died once: not sent again
    bar = tqdm(total=len(queue), unit="nb", desc="grading", dynamic_ncols=True, file=sys.stderr)
    pool = None

    def record(submission, result):
        nonlocal done
        manifest.record(submission, fingerprint, result)
        done += 1
        bar.set_postfix_str(submission.student[:30])
        bar.update(1)
        bar.write((report_line or str)(result))

    try:
        while queue:
            pool = ProcessPoolExecutor(max_workers=min(workers, len(queue)), mp_context=get_context("spawn"),
                                       initializer=_die_with_parent)
            running = {}   # future -> (submission, deadline)
            try:
                while queue or running:
                    while queue and len(running) < workers:
                        submission = queue.pop(0)
                        future = pool.submit(grade_submission, str(course.root), submission.student, options,
                                             submission.notes, submission.rel)
                        running[future] = (submission, time.monotonic() + budget)
                    first_deadline = min(deadline for _, deadline in running.values())
                    finished, _ = wait(running, timeout=max(0.0, first_deadline - time.monotonic()),
                                       return_when=FIRST_COMPLETED)
                    for future in finished:
                        submission, _ = running.pop(future)
                        record(submission, future.result())
                    overdue = [f for f, (_, deadline) in running.items() if time.monotonic() >= deadline]
                    if overdue:
                        # a worker cannot be stopped alone: stop them all; the others are graded again
                        _kill_workers(pool)
                        for future in overdue:
                            submission, _ = running.pop(future)
                            why = (f"评分超过了时间上限（每份提交 {budget:g} 秒：沙箱 {options['wall_time']:g} 秒，"
                                   f"评分程序 {grader_time:g} 秒），记 0 分；修改后重新提交即会重新评分")
                            record(submission, record_ungraded(course, SubmissionResult.zero(
                                submission.student, why, notes=list(submission.notes), source=submission.rel)))
                        bar.write(f"stopped {len(overdue)} submission(s) over the time limit; grading "
                                  f"{len(running)} other(s) again")
                        queue = [submission for submission, _ in running.values()] + queue
                        running = {}
                        break
            except BrokenProcessPool:
                # a worker died (the grading machine, not a submission: student code never runs
                # in a worker): the submissions in flight go back to the queue once
                lost = [submission for submission, _ in running.values()]
                bar.write(f"a grading worker died; grading {len(lost)} submission(s) again")
                queue = [s for s in lost if s.student not in retried] + queue
                retried.update(s.student for s in lost)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
                pool = None
    except BaseException:
        if pool is not None:
            bar.write("Stopping the grading workers ...")
            _kill_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        bar.close()
    return done


def _kill_workers(pool):
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
