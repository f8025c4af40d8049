"""The batch: grading submissions in parallel, recording each result as it arrives, and
resuming after an interruption. This process (the coordinator) alone writes the course.

    grade_batch(course, pending, limits, runner, manifest, fingerprint, report_line, grader_time)
        -> number graded
    record_graded(course, graded, hand_points)   a worker's GradedSubmission into the course
    record_ungraded(course, result)   0 (or no score) with the reason replaces what a student had

Each submission becomes a GradingTask (its bytes, the student's seed, the limits) that a
worker grades with autograder.task.grade_task against the Assignment (sent once per
worker): on this machine a pool of worker processes (LocalPool, the default), or a Dask
cluster (autograder/cluster.py). Workers never run student code themselves and never
touch the course: the coordinator imports each autograded notebook into nbgrader's
gradebook (Course.import_autograded), writes the feedback page with its note, and records
the result in the manifest. Local workers die with the main process (PR_SET_PDEATHSIG), and
the sandboxes die with their worker (bwrap --die-with-parent), so a killed `grade` leaves
nothing running and a re-run proceeds. A submission may take limits.wall_time + grader_time
seconds; past that it gets 0 with the reason (the local pool's workers are stopped and the
others in flight are graded again).

The coordinator records each result in the manifest (autograder/manifest.py) as it arrives,
so a re-run grades only new or changed submissions.
"""
import ctypes
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from autograder.course import ASSIGNMENT
from autograder.result import SubmissionResult
from autograder.task import GradingTask, grade_task, log_path

STATE_DIR = ".grade"   # inside the course: logs, lock, scratch
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


class WorkerLost(Exception):
    """The worker grading a task died or could not run it (the machine's problem, never a
    submission's: student code runs only in the sandbox)."""


# --------------------------------------------------------------------------------------
# Writing a worker's result into the course (in this process)
# --------------------------------------------------------------------------------------

def task_of(course, submission, limits):
    """The GradingTask of a Submission already in course/submitted/."""
    from autograder.course_secret import course_secret, student_seed

    path = course.submission_path(submission.student)
    stamp = path.parent / "timestamp.txt"
    return GradingTask(submission.student, path.read_bytes(), student_seed(course_secret(course.root), submission.student),
                       limits, notes=tuple(submission.notes), source=submission.rel,
                       timestamp=stamp.read_text() if stamp.exists() else None)


def record_graded(course, graded, hand_points):
    """Writes graded (a GradedSubmission) into the course: the gradebook and autograded/
    (nbgrader's autograde with the worker's notebook), the worker's feedback page with its
    note (refresh_feedback makes it again when the gradebook holds what the worker's page
    cannot show), the log of a failure. Returns the SubmissionResult."""
    from autograder import report

    result = graded.result
    if graded.log:
        log = course.root / log_path(result.student)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(graded.log, errors="backslashreplace")
    if graded.autograded is None:
        return record_ungraded(course, result)
    started = time.monotonic()
    page = course.feedback_path(result.student)
    try:
        course.import_autograded(result.student, graded.autograded)
    except Exception as e:
        log = _log_error(course, result.student)
        return record_ungraded(course, SubmissionResult.zero(
            result.student, f"这份笔记本无法自动评分（{type(e).__name__}），记 0 分：请从发布的笔记本开始，不要改动测试"
                            f"单元格及其元数据；修改后重新提交即会重新评分（评分日志：{log}）",
            notes=list(result.notes), source=result.source))
    result.timings["gradebook"] = round(time.monotonic() - started, 3)
    page.parent.mkdir(parents=True, exist_ok=True)
    if graded.feedback_page is None:
        page.unlink(missing_ok=True)
    else:
        page.write_text(graded.feedback_page, encoding="utf-8")
        course.copy_feedback_files(result.student)
    report.add_feedback_note(page, result, hand_points)
    result.feedback = str(page.relative_to(course.root))
    return result


def refresh_feedback(course, manifest, results, hand_points):
    """Makes again, from the gradebook, the feedback page of each student of results ({student:
    SubmissionResult}) whose page no longer shows what the gradebook holds besides the
    autograded scores: the teacher's scores and comments of formgrader, the late penalty
    (Course.page_facts; a worker's page shows none: UNMARKED). The facts a page shows are kept
    in the manifest, so an unchanged page is not made again. Returns the students whose page
    was made again."""
    from autograder import report
    from autograder.nbgrader_adapter import UNMARKED

    facts = course.page_facts(list(results))
    made = []
    for student, shown in facts.items():
        entry = manifest.students.get(student)
        if entry is None or entry.get("page", UNMARKED) == shown or not course.autograded_path(student).exists():
            continue
        try:
            _make_offline(course.feedback(student), course.root / "release" / ASSIGNMENT)
        except Exception:
            print(f"warning: the feedback page of {student} could not be made again from the gradebook "
                  f"(log: {_log_error(course, student)}); it stays as it was", file=sys.stderr)
            continue
        report.add_feedback_note(course.feedback_path(student), results[student], hand_points)
        entry["page"] = shown
        made.append(student)
    if made:
        manifest.save()
    return made


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
    import traceback
    log = course.root / log_path(student)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(traceback.format_exc(), errors="backslashreplace")
    return str(log.relative_to(course.root))


def _make_offline(page, assignment_dir):
    """The feedback page with formulas pre-rendered and figures embedded (no network)."""
    from autograder.feedback_page import make_offline
    page.write_text(make_offline(page.read_text(encoding="utf-8"), assignment_dir), encoding="utf-8")


# --------------------------------------------------------------------------------------
# Worker processes on this machine
# --------------------------------------------------------------------------------------

class LocalPool:
    """`workers` worker processes (multiprocessing "spawn") on this machine, each with its
    copy of the assignment (sent once, when it starts). A worker cannot be stopped alone:
    stop() stops them all and the pool starts again on the next submit(); a worker that dies
    breaks the pool, losing the work of all (loses_all)."""

    loses_all = True

    sandbox = None   # `grade` checks this machine's sandbox itself

    def __init__(self, workers):
        self.workers, self.assignment, self.pool = workers, None, None
        for name in BLAS_THREADS:  # the workers' checks: small arrays, one thread each
            os.environ.setdefault(name, "1")

    def describe(self):
        return f"{self.workers} local worker processes"

    def send(self, assignment):
        """The assignment each worker process gets when it starts."""
        self.assignment = assignment

    def slots(self):
        return self.workers

    def submit(self, task):
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"),
                                            initializer=_start_worker, initargs=(self.assignment,))
        return self.pool.submit(_grade_in_worker, task)

    def wait(self, futures, timeout):
        return wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)[0]

    def outcome(self, future):
        try:
            return future.result()
        except BrokenProcessPool:
            self.close(kill=True)
            raise WorkerLost("a grading worker process died") from None

    def stop(self, overdue, others):
        """Stops every worker: the work on others is lost (they are graded again)."""
        self.close(kill=True)
        return list(others)

    def close(self, kill=False):
        if self.pool is not None:
            if kill:
                for process in list(getattr(self.pool, "_processes", {}).values()):
                    process.kill()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


_worker_assignment = []   # in a LocalPool worker process: its copy of the Assignment


def _start_worker(assignment):
    """LocalPool's initializer: die with the main process, leave Ctrl-C to it, keep the assignment."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _worker_assignment.append(assignment)


def _grade_in_worker(task):
    return grade_task(task, _worker_assignment[0])


# --------------------------------------------------------------------------------------
# The batch (in the main process)
# --------------------------------------------------------------------------------------

def grade_batch(course, pending, limits, runner, manifest, fingerprint, report_line=None, grader_time=300):
    """Grades the pending Submissions (already in course/submitted/) on runner (LocalPool or
    cluster.DaskCluster), at most runner.slots() at a time, with a progress bar; records each
    result in the course and the manifest as it arrives. Returns the number graded. A
    submission may take limits.wall_time (its sandbox) plus grader_time seconds (nbgrader,
    the checks, the feedback page); past that it gets 0 with the reason (record_ungraded),
    and the submissions whose work the runner lost stopping it are graded again. A worker
    lost while grading a submission: it is graded again once. On Ctrl-C the workers (and
    their sandboxes) are stopped and KeyboardInterrupt is raised; what was recorded stays
    recorded."""
    from tqdm import tqdm

    from autograder.nbgrader_adapter import hand_graded

    hand_points = sum(hand_graded(course.root).values())
    budget = limits.wall_time + grader_time
    queue = list(pending)
    done = 0
    retried = set()  # students whose worker died once: not sent again
    bar = tqdm(total=len(queue), unit="nb", desc="grading", dynamic_ncols=True, file=sys.stderr)

    def record(submission, result):
        nonlocal done
        manifest.record(submission, fingerprint, result)
        done += 1
        bar.set_postfix_str(submission.student[:30])
        bar.update(1)
        bar.write((report_line or str)(result))

    running = {}   # future -> (submission, deadline)
    try:
        while queue or running:
            while queue and len(running) < runner.slots():
                submission = queue.pop(0)
                running[runner.submit(task_of(course, submission, limits))] = (submission, time.monotonic() + budget)
            first_deadline = min(deadline for _, deadline in running.values())
            for future in runner.wait(list(running), max(0.0, first_deadline - time.monotonic())):
                if future not in running:
                    continue   # lost with a worker reported earlier in this round
                submission, _ = running.pop(future)
                try:
                    graded = runner.outcome(future)
                except WorkerLost as e:
                    # the other submissions of a lost local pool are lost with it
                    lost = [submission] + ([s for s, _ in running.values()] if runner.loses_all else [])
                    if runner.loses_all:
                        running = {}
                    bar.write(f"{e}; grading {len(lost)} submission(s) again")
                    queue = [s for s in lost if s.student not in retried] + queue
                    retried.update(s.student for s in lost)
                    continue
                record(submission, record_graded(course, graded, hand_points))
            overdue = [f for f, (_, deadline) in running.items() if time.monotonic() >= deadline]
            if overdue:
                again = runner.stop(overdue, [f for f in running if f not in overdue])
                for future in overdue:
                    submission, _ = running.pop(future)
                    why = (f"评分超过了时间上限（每份提交 {budget:g} 秒：沙箱 {limits.wall_time:g} 秒，"
                           f"评分程序 {grader_time:g} 秒），记 0 分；修改后重新提交即会重新评分")
                    record(submission, record_ungraded(course, SubmissionResult.zero(
                        submission.student, why, notes=list(submission.notes), source=submission.rel)))
                bar.write(f"stopped {len(overdue)} submission(s) over the time limit; grading "
                          f"{len(again)} other(s) again")
                queue = [running.pop(f)[0] for f in again] + queue
        runner.close()
    except BaseException:
        bar.write("Stopping the grading workers ...")
        runner.close(kill=True)
        raise
    finally:
        bar.close()
    return done
