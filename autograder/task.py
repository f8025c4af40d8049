"""One submission's grading as a function of its inputs alone, for a worker on any machine.

    Assignment.from_course(course)          the assignment's material, made once per batch
    grade_task(task, assignment) -> GradedSubmission

A worker needs this project installed (its MNIST copy, bubblewrap) and nothing of the course:
grade_task unpacks the assignment (nbgrader_config.py, source/ and release/ of the
assignment, and a gradebook holding the assignment without any student) into a private
course in a temporary folder of the worker, writes the submission's bytes there, runs
nbgrader's autograde through the sandbox (nbgrader_adapter.Course.autograde) and
nbgrader's feedback page, made readable offline, and returns them with the scores. The
temporary folder is removed afterwards; nothing is written anywhere else. The course
secret stays with the coordinating process: the task carries the student's seed.

The coordinating process (autograder/batch.py) alone writes the course: it imports the
autograded notebook into its gradebook, writes the feedback page with its note, the
manifest, grades.csv and the report.
"""
import io
import os
import platform
import shutil
import tarfile
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.course import ASSIGNMENT, DATA_DIR
from autograder.result import SubmissionResult

TEMPLATE_GRADEBOOK = "gradebook.db"
LOGS = ".grade/logs"   # in the course: a failed grading's traceback, one file per student
# what of the course a worker needs, relative to the course root
MATERIAL = ("nbgrader_config.py", f"source/{ASSIGNMENT}", f"release/{ASSIGNMENT}")


@dataclass(frozen=True)
class Limits:
    """What the sandbox allows one submission: cell_timeout and wall_time in seconds,
    memory_mb in MiB; allow_weak: grade without bubblewrap (--allow-weak-sandbox)."""
    cell_timeout: float
    wall_time: float
    memory_mb: int
    allow_weak: bool = False

    def options(self):
        """Keyword arguments of autograder.verify.verify_cells."""
        return asdict(self)


@dataclass(frozen=True)
class Assignment:
    """The assignment as a worker needs it: archive is a gzipped tar of MATERIAL and a
    gradebook with the assignment and no student; digest is its sha256 (a worker keeps
    nothing between tasks, the digest names it in logs)."""
    archive: bytes
    digest: str

    @classmethod
    def from_course(cls, course):
        """The material of nbgrader_adapter.Course course (released: prepare() done)."""
        import hashlib

        from autograder.nbgrader_adapter import Course

        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory(prefix="assignment-") as scratch:
            template = Path(scratch) / TEMPLATE_GRADEBOOK
            shutil.copyfile(course.root / "gradebook.db", template)
            template_course = Course(scratch)
            template_course.remove_students()
            template_course.record_lateness(None, {})   # no due date: the worker's page shows no penalty
            with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
                for name in MATERIAL:
                    tar.add(course.root / name, arcname=name,
                            filter=lambda info: None if "__pycache__" in info.name or
                            ".ipynb_checkpoints" in info.name else info)
                tar.add(template, arcname=TEMPLATE_GRADEBOOK)
        archive = buffer.getvalue()
        return cls(archive, hashlib.sha256(archive).hexdigest()[:16])

    def unpack(self, root):
        """A private course at root (a new folder) with MNIST from this machine's project."""
        root = Path(root)
        with tarfile.open(fileobj=io.BytesIO(self.archive), mode="r:gz") as tar:
            # the grader's own material; the "data" filter where this Python has it (3.11.4+;
            # Debian 12's 3.11.2, the course hub's, has not)
            tar.extractall(root, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        (root / "data").mkdir()
        (root / "data" / "mnist").symlink_to(DATA_DIR, target_is_directory=True)
        return root


@dataclass(frozen=True)
class GradingTask:
    """One submission to grade: student (nbgrader id), submission (the notebook file's
    bytes), timestamp (nbgrader's timestamp.txt of the submission, None without one),
    seed (the student's seed of the hidden inputs, autograder/course_secret.py), limits,
    notes (remarks of the intake, kept first in the result) and source (the file's path in
    the input)."""
    student: str
    submission: bytes
    seed: int
    limits: Limits
    notes: tuple = ()
    source: str = ""
    timestamp: str = None


@dataclass
class GradedSubmission:
    """What grade_task returns: result (scores None: not graded, e.g. no sandbox on the
    worker); autograded (the autograded notebook's bytes; None when nbgrader produced none:
    not a notebook, or the grading failed, and the coordinator records 0 or nothing);
    feedback_page (nbgrader's page, offline, without the note; None when it could not be
    made); log (the traceback of a failure, for the course's grading log); worker (host and
    process that graded it)."""
    result: SubmissionResult
    autograded: bytes = None
    feedback_page: str = None
    log: str = ""
    worker: str = ""


@dataclass(frozen=True)
class SandboxCheck:
    """Whether this machine can grade: kind ('bwrap' or 'weak: <why>'; '' when no sandbox
    starts), description (kind and how memory is enforced), problem (why it must not grade,
    with how to fix it; '' when it may), code (code_digest() of its autograder package)."""
    kind: str
    description: str
    problem: str
    code: str


def check_sandbox(allow_weak):
    """Starts and stops one sandbox on this machine: a SandboxCheck. Grading in the weak
    sandbox is a problem unless allow_weak."""
    from autograder.sandbox.proxy import Sandbox, SandboxError

    install = "Install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap)"
    try:
        with Sandbox(memory_mb=512, cpu_seconds=30, **({"allow_weak": True} if allow_weak else {})) as sandbox:
            kind, description = sandbox.kind, sandbox.description
    except SandboxError as e:
        return SandboxCheck("", "", f"the sandbox cannot start: {e.reason}\n  {install}, or grade "
                                    f"anyway in a weaker sandbox with --allow-weak-sandbox.", code_digest())
    problem = "" if kind == "bwrap" or allow_weak else \
        f"bubblewrap is not usable ({kind}). {install}, or grade anyway in a weaker sandbox " \
        f"with --allow-weak-sandbox."
    return SandboxCheck(kind, description, problem, code_digest())


def code_digest():
    """Digest of the grading code: every file of the autograder package (the checks, the
    parts' hyper-parameters, the reference, verification, sandbox, nbgrader's use, the
    feedback page)."""
    from autograder.nbgrader_adapter import tree_digest
    return tree_digest([Path(__file__).resolve().parent])[:16]


def log_path(student):
    """Where the coordinating process writes student's grading log, relative to the course."""
    return f"{LOGS}/{student}.log"


def worker_name():
    return f"{platform.node()}:{os.getpid()}"


def grade_task(task, assignment):
    """GradedSubmission of task (a GradingTask) against assignment (an Assignment). Never
    raises: a failure of the grader itself gives a result without scores (graded again on
    the next run) and its traceback in .log."""
    with tempfile.TemporaryDirectory(prefix=f"grade-{task.student[:20]}-") as scratch:
        try:
            return _grade_task(task, assignment, Path(scratch) / "course")
        except Exception as e:
            why = f"评分程序出错（{type(e).__name__}，评分日志：{log_path(task.student)}）；下次运行会重新评分"
            return GradedSubmission(SubmissionResult(task.student, notes=[*task.notes, why], source=task.source),
                                    log=traceback.format_exc(), worker=worker_name())


def _grade_task(task, assignment, root):
    """grade_task's work in the private course root. A submission that cannot be graded
    (nbgrader or the grader fails on it) gets 0 in every cell with the reason; when no sandbox
    can start (the worker's problem) the scores are None."""
    from autograder.feedback_page import make_offline
    from autograder.nbgrader_adapter import Course
    from autograder.verify import SandboxUnavailable

    started = time.monotonic()
    course = Course(assignment.unpack(root))
    path = course.add_submission(task.student, task.submission)
    if task.timestamp is not None:
        (path.parent / "timestamp.txt").write_text(task.timestamp)
    notes = list(task.notes)
    try:
        verified = course.autograde(task.student, dict(task.limits.options(), seed=task.seed))
    except SandboxUnavailable as e:
        why = f"沙箱无法启动，没有评分（下次运行会重新评分）：评分机器 {platform.node()}：{e}"
        return GradedSubmission(SubmissionResult(task.student, notes=[*notes, why], source=task.source),
                                worker=worker_name())
    except Exception as e:
        why = (f"这份笔记本无法自动评分（{type(e).__name__}），记 0 分：请从发布的笔记本开始，不要改动测试单元格"
               f"及其元数据；修改后重新提交即会重新评分（评分日志：{log_path(task.student)}）")
        return GradedSubmission(SubmissionResult.zero(task.student, why, notes=notes, source=task.source),
                                log=traceback.format_exc(), worker=worker_name())
    step = time.monotonic()
    result = SubmissionResult(
        task.student, scores=dict(verified.scores), messages=dict(verified.messages),
        mistakes=dict(verified.mistakes), relations=dict(verified.relations), limits=list(verified.limits),
        sandbox=verified.sandbox, source=task.source, timings=dict(verified.timings),
        notes=[*notes, verified.reason] if verified.reason and not verified.limits else notes)  # e.g. not a notebook
    result.timings["autograde"] = round(step - started - verified.seconds, 3)
    autograded = course.autograded_path(task.student)
    graded = GradedSubmission(result, autograded=autograded.read_bytes() if autograded.exists() else None,
                              worker=worker_name())
    if graded.autograded is not None:
        try:
            page = course.feedback(task.student)
            graded.feedback_page = make_offline(page.read_text(encoding="utf-8"), course.root / "release" / ASSIGNMENT)
        except Exception as e:  # the scores stand; the page holds the note alone
            result.notes.append(f"完整的反馈页面无法生成（{type(e).__name__}，评分日志：{log_path(task.student)}），"
                                f"这里只有评分结果")
            graded.log = traceback.format_exc()
    result.timings["feedback"] = round(time.monotonic() - step, 3)
    result.seconds = round(time.monotonic() - started, 2)
    return graded
