"""Every use of nbgrader, in one place: the course directory, the release, the gradebook,
autograding through the sandbox, feedback and export.

A Course wraps a course directory (nbgrader_config.py, source/mlp_optimizers/,
data/mnist) and calls nbgrader's own Python API in this process:

    Course.scratch(dest)           a fresh course made from this repository
    course.prepare()               make it a course if it is not one, release when stale
    course.autograde(student, options) -> VerifiedResult
                                   nbgrader's Autograde converter with its Execute step
                                   replaced by SandboxExecute: nbgrader sanitizes the
                                   submission (clears outputs, restores test cells from the
                                   gradebook, adds deleted ones back), SandboxExecute grades
                                   the cells in the sandbox (autograder.verify) and writes
                                   each test cell's verdict as its output, and nbgrader's
                                   SaveAutoGrades stores the scores in the gradebook.
    course.record_zero(student)    0 in every autograded cell (a submission that cannot be graded)
    course.feedback(student)       nbgrader's GenerateFeedback for one student -> the HTML path
                                   (the student's cells cut to size first: feedback_page/cells.py)
    course.export(path)            nbgrader export (CSV of the gradebook)
    course.students()              the ids in the gradebook
    course.scores()                {student: {grade_id: score}} from the gradebook
    course.totals()                {student: Totals} autograded and hand-graded points apart
    course.record_lateness(policy, lateness)
                                   the course policy's due date, times, extensions and
                                   late penalties in nbgrader's own gradebook fields

No student code runs in this process or in any process nbgrader starts: the only executor
is the sandbox. Formgrader, manual grading, `nbgrader export`, `generate_feedback` and
`release_feedback` see an ordinary autograded submission.
"""
import json
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from nbformat.v4 import new_code_cell, new_output
from sqlalchemy.exc import SAWarning

from autograder.course import ASSIGNMENT, DATA_DIR, ROOT
from autograder.feedback_page import cells as feedback_cells
from autograder.parts import TEST_CELLS
from autograder.verify import _clip, read_cells, verify_cells, NotANotebook, VerifiedResult

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
DB_BUSY_TIMEOUT = 60  # seconds a gradebook writer waits for SQLite's lock (parallel workers)


class NbgraderError(RuntimeError):
    """An nbgrader step failed; the message holds the end of its log."""


# --------------------------------------------------------------------------------------
# The Execute step of autograde, in the sandbox
# --------------------------------------------------------------------------------------

def _verdict_outputs(grade_id, score, message):
    """The outputs of a test cell that nbgrader turns into its score
    (nbgrader.utils.determine_grade): a stream for a pass (full points), an AssertionError
    for a failure (0 points), and for partial credit (a published variant) the message as a
    stream followed by the score as the cell's result, a number nbgrader's get_partial_grade
    reads."""
    points = TEST_CELLS[grade_id]
    if score >= points:
        return [new_output("stream", name="stdout", text=f"隐藏测试通过：{points:g} / {points:g} 分\n")]
    if score > 0:
        return [new_output("stream", name="stdout", text=f"隐藏测试部分通过（{score:g} / {points:g} 分）：{message}\n"),
                new_output("execute_result", data={"text/plain": f"{score:g}"}, execution_count=None)]
    return [new_output("error", ename="AssertionError", evalue=message,
                       traceback=[f"隐藏测试没有通过（0 / {points:g} 分）：", message])]


def _error_outputs(error):
    """The outputs of a student's cell that raised: error ("Type: text") cut to
    verify.MAX_MESSAGE characters, so a long dump cannot fill the feedback page."""
    error = _clip(error)
    ename, _, evalue = error.partition(": ")
    return [new_output("error", ename=ename or "Error", evalue=evalue,
                       traceback=[f"评分时这个单元格出错：{error}"])]


def _restore_missing_test_cells(nb, resources):
    """Puts back the test cells a submission lacks (deleted, or their metadata stripped),
    from the gradebook's source cells: after the part's solution cell when there is one,
    else at the end. (nbgrader's own OverwriteCells.add_missing_cells fails when the
    preceding solution cell is missing too, so it is off in this course's grading.)"""
    from nbgrader.api import Gradebook

    present = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
    missing = [grade_id for grade_id in TEST_CELLS if grade_id not in present]
    if not missing:
        return
    info = resources["nbgrader"]
    with Gradebook(info["db_url"]) as gradebook:
        for grade_id in missing:
            source = gradebook.find_source_cell(grade_id, info["notebook"], info["assignment"])
            points = gradebook.find_grade_cell(grade_id, info["notebook"], info["assignment"]).max_score
            cell = new_code_cell(source.source, metadata={"nbgrader": {
                "grade": True, "grade_id": grade_id, "locked": True, "points": points,
                "schema_version": 3, "solution": False, "task": False}})
            part = grade_id[len("test_"):]
            after = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == part]
            nb.cells.insert(after[-1] + 1 if after else len(nb.cells), cell)


def _make_sandbox_execute():
    from nbgrader.preprocessors import NbGraderPreprocessor

    class SandboxExecute(NbGraderPreprocessor):
        """Stands in for nbgrader's Execute: the notebook's code cells run in the sandbox and
        the hidden checks in this process (autograder.verify.verify_cells). Each test cell
        gets its verdict as output; a student cell that raised gets its error; the release's
        training and plotting cells, which grading skips, get a note."""

        def __init__(self, options, **kwargs):
            super().__init__(**kwargs)
            self.options = options
            self.result = None

        def preprocess(self, nb, resources):
            _restore_missing_test_cells(nb, resources)
            code = [cell for cell in nb.cells if cell.cell_type == "code"]
            cells = [(cell.source, dict(cell.metadata.get("nbgrader", {}))) for cell in code]
            self.result = verify_cells(cells, **self.options)
            errors = dict(self.result.cell_errors)
            ran = set(self.result.ran)
            for number, cell in enumerate(code, start=1):
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id in TEST_CELLS:
                    cell.outputs = _verdict_outputs(grade_id, self.result.scores[grade_id],
                                                    self.result.messages[grade_id])
                elif number in errors:
                    cell.outputs = _error_outputs(errors[number])
                elif number not in ran and not cell.metadata.get("nbgrader", {}).get("grade"):
                    cell.outputs = [new_output("stream", name="stdout",
                                               text="（评分时没有运行这个单元格：它只训练或画图，不影响分数）\n")]
                cell.execution_count = number if number in ran else None
            return nb, resources

    return SandboxExecute


def _make_replay_execute():
    from nbgrader.preprocessors import NbGraderPreprocessor

    class ReplayExecute(NbGraderPreprocessor):
        """Stands in for nbgrader's Execute with a notebook autograded elsewhere (bytes): the
        sanitized submission is replaced by it, cell for cell (the same submission, sanitized
        against the same assignment, has the same cells)."""

        def __init__(self, notebook, **kwargs):
            super().__init__(**kwargs)
            self.notebook = notebook
            self.result = None

        def preprocess(self, nb, resources):
            import nbformat
            _restore_missing_test_cells(nb, resources)
            graded = nbformat.reads(self.notebook.decode("utf-8"), as_version=4)
            ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
            if ids != [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in graded.cells]:
                raise NbgraderError("the autograded notebook does not have the submission's cells")
            self.result = graded
            return graded, resources

    return ReplayExecute


# --------------------------------------------------------------------------------------
# The course
# --------------------------------------------------------------------------------------

def _tree_files(base):
    base = Path(base)
    return [base] if base.is_file() else sorted(
        p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        and ".ipynb_checkpoints" not in p.parts and p.suffix != ".npz")


def tree_digest(paths):
    """sha256 of the files (relative names and contents) under each of paths."""
    import hashlib
    digest = hashlib.sha256()
    for base in paths:
        base = Path(base)
        for path in _tree_files(base):
            digest.update(str(path.relative_to(base.parent)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _page_digest(scores, comments, penalty):
    """A short digest of the gradebook's facts a feedback page shows (Course.page_facts)."""
    import hashlib
    return hashlib.sha256(json.dumps([scores, comments, penalty], ensure_ascii=False).encode()).hexdigest()[:16]


UNMARKED = _page_digest([], [], 0.0)   # no teacher's score or comment, no late penalty


class Course:
    """A course directory: root/nbgrader_config.py, root/source/mlp_optimizers/, root/data/mnist."""

    def __init__(self, root):
        self.root = Path(root).resolve()

    @classmethod
    def scratch(cls, dest):
        """A fresh course directory at dest with this repository's config, source and data."""
        dest = Path(dest)
        if dest.exists():
            shutil.rmtree(dest)
        course = cls(dest)
        course.prepare(release=False)
        return course

    @property
    def db_url(self):
        return f"sqlite:///{self.root / 'gradebook.db'}?timeout={DB_BUSY_TIMEOUT}"

    def submission_path(self, student):
        return self.root / "submitted" / student / ASSIGNMENT / NOTEBOOK

    def autograded_path(self, student):
        return self.root / "autograded" / student / ASSIGNMENT / NOTEBOOK

    def feedback_path(self, student):
        return self.root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"

    def copy_feedback_files(self, student):
        """The files beside student's autograded notebook (nbgrader's timestamp.txt and
        submission_secret.txt, which release_feedback needs) into the feedback folder, as
        nbgrader's generate_feedback copies them; regular files only, never through a link."""
        source, target = self.autograded_path(student).parent, self.feedback_path(student).parent
        target.mkdir(parents=True, exist_ok=True)
        for path in source.iterdir() if source.is_dir() else ():
            if path.suffix != ".ipynb" and path.is_file() and not path.is_symlink():
                shutil.copyfile(path, target / path.name)

    # --- setting up ---------------------------------------------------------------------

    def prepare(self, release=True):
        """Makes root a course directory (config, source, data link) if it is not one,
        copies this repository's source again when it changed, decodes MNIST once (the
        sandbox reads the cache), and generates the release when it is missing or stale.
        Returns the digest of the source (a change means every grade may change)."""
        self.root.mkdir(parents=True, exist_ok=True)
        repo_source = ROOT / "source" / ASSIGNMENT
        source = self.root / "source" / ASSIGNMENT
        if self.root != ROOT.resolve():
            if not (self.root / "nbgrader_config.py").exists():
                shutil.copy2(ROOT / "nbgrader_config.py", self.root / "nbgrader_config.py")
            if not source.exists() or tree_digest([source]) != tree_digest([repo_source]):
                if source.exists():
                    shutil.rmtree(source)
                shutil.copytree(repo_source, source,
                                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.npz"))
            data = self.root / "data" / "mnist"
            if not data.exists():
                data.parent.mkdir(exist_ok=True)
                data.symlink_to(DATA_DIR, target_is_directory=True)
        from autograder.course import load_data
        load_data()  # writes data/mnist's decoded cache, which the sandbox reads
        digest = tree_digest([source])
        stamp = self.root / ".grade" / "release.sha256"
        if release and not ((self.root / "release" / ASSIGNMENT / NOTEBOOK).exists()
                            and (self.root / "gradebook.db").exists()
                            and stamp.exists() and stamp.read_text() == digest):
            print("Generating the assignment (nbgrader generate_assignment) ...", flush=True)
            self.generate_release()
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(digest)
        return digest

    def nbgrader(self, *args, check=True, timeout=600):
        """Runs the command `nbgrader <args>` in the course (this interpreter's bin/ first on
        PATH: nbgrader runs alembic through PATH); timeout in seconds, None for none."""
        env = dict(os.environ)
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env.setdefault("MPLBACKEND", "Agg")
        try:
            result = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args],
                                    cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise NbgraderError(f"nbgrader {' '.join(args)} took more than {timeout} s") from None
        if check and result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise NbgraderError(f"nbgrader {' '.join(args)} failed in {self.root}:\n  " + "\n  ".join(tail))
        return result

    def generate_release(self):
        self.nbgrader("generate_assignment", ASSIGNMENT, "--force")
        return self.root / "release" / ASSIGNMENT

    def register_students(self, students):
        """Adds the students to the gradebook in one transaction (before parallel grading)."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gradebook:
            for student in students:
                gradebook.update_or_create_student(student)

    def add_submission(self, student, notebook):
        """Writes notebook (an nbformat node, or bytes) as student's submission."""
        import nbformat
        path = self.submission_path(student)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(notebook, bytes):
            path.write_bytes(notebook)
        else:
            nbformat.write(notebook, path)
        return path

    # --- grading --------------------------------------------------------------------------

    def _api(self):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = self.db_url
        config.NbGraderAPI.log_level = "WARN"
        config.OverwriteCells.add_missing_cells = False  # SandboxExecute restores them (see there)
        # nbgrader's own late penalty at autograde time follows the course policy (grade applies it again after)
        config.AssignLatePenalties.plugin_class = "autograder.course_policy.CoursePolicyPenalty"
        feedback_cells.configure(config)  # the feedback page renders the student's cells cut to size
        coursedir = CourseDirectory(config=config)
        return NbGraderAPI(coursedir=coursedir, config=config)

    def autograde(self, student, options):
        """Autogrades student's submission through nbgrader with SandboxExecute (see the
        module docstring). options: keyword arguments of autograder.verify.verify_cells
        but seed, which is the student's (autograder/course_secret.py: from the course's
        secret, made on first use, and the student id). Returns the VerifiedResult; a file
        that is not a notebook gets record_zero."""
        from autograder.course_secret import course_secret, student_seed

        if "seed" not in options:  # a task sent to a worker carries its seed
            options = dict(options, seed=student_seed(course_secret(self.root), student))

        try:
            read_cells(self.submission_path(student).read_bytes())
        except (NotANotebook, OSError) as e:
            why = str(e) if isinstance(e, NotANotebook) else "无法读取笔记本文件"
            self.record_zero(student)
            return VerifiedResult(scores={g: 0.0 for g in TEST_CELLS}, messages={g: why for g in TEST_CELLS},
                                  reason=why)
        return self._autograde(student, _make_sandbox_execute(), options).result

    def import_autograded(self, student, notebook):
        """Records student's notebook autograded elsewhere (bytes of the autograded notebook
        of autograde() in a private copy of this course: autograder/task.py) through
        nbgrader's autograde, its execution replaced by that notebook: the gradebook gets
        the scores and comments, autograded/ the notebook, as autograde() gives them."""
        self._autograde(student, _make_replay_execute(), notebook)

    def _autograde(self, student, executor_class, argument):
        """nbgrader's Autograde of student with its Execute step an executor_class(argument)
        (a preprocessor keeping what it did in .result); returns the executor."""
        from nbgrader.converters import Autograde
        from nbgrader.preprocessors import Execute
        from nbgrader.utils import capture_log, temp_attrs

        api = self._api()
        executor = executor_class(argument, parent=api)
        with temp_attrs(api.coursedir, assignment_id=ASSIGNMENT, student_id=student):
            app = Autograde(coursedir=api.coursedir, parent=api)
            app.force = True
            app.create_student = True
            app.autograde_preprocessors = [executor if step is Execute else step
                                           for step in app.autograde_preprocessors]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SAWarning)  # autoflush notes about nbgrader's new rows
                outcome = capture_log(app)
        if executor.result is None or not outcome["success"]:
            raise NbgraderError(f"nbgrader autograde failed for {student}: "
                                + (outcome.get("error") or outcome.get("log") or "")[-3000:])
        return executor

    def autograde_plain(self, student=None):
        """Plain `nbgrader autograde` (every student, or one): it runs the notebooks in an
        ordinary kernel, UNPROTECTED, as this user. For trusted notebooks only (the course's
        own tests of the nbgrader conventions); students' submissions go through autograde()."""
        return self.nbgrader("autograde", ASSIGNMENT, "--force", *([f"--student={student}"] if student else []),
                             timeout=None)

    def generate_feedback(self):
        """nbgrader generate_feedback for every autograded submission; returns root/feedback."""
        self.nbgrader("generate_feedback", ASSIGNMENT, "--force")
        return self.root / "feedback"

    def record_zero(self, student):
        """student's submission with 0 in every autograded cell (it could not be graded): the
        scores of an earlier submission never stay. A cell the teacher scored by hand keeps
        that score and is marked for review, as nbgrader's autograde does. The autograded
        notebook and feedback page of an earlier submission are removed."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gradebook, warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # autoflush notes about nbgrader's new rows
            gradebook.update_or_create_student(student)
            submission = gradebook.update_or_create_submission(ASSIGNMENT, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.name in TEST_CELLS:
                        grade.auto_score = 0
                        grade.needs_manual_grade = grade.manual_score is not None
            gradebook.db.commit()
        for path in (self.autograded_path(student), self.feedback_path(student)):
            if path.exists():
                path.unlink()

    def remove_students(self):
        """Deletes every student and their submissions from the gradebook (the assignment stays)."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gradebook:
            for student in [student.id for student in gradebook.students]:
                gradebook.remove_student(student)

    def page_facts(self, students):
        """{student: digest} of what a feedback page shows from the gradebook besides the
        autograded scores: the teacher's scores and comments (formgrader) and the late penalty.
        Students without a submission in the gradebook are left out. A page made by a worker
        shows none of them: UNMARKED."""
        from nbgrader.api import Gradebook, MissingEntry

        facts = {}
        with Gradebook(self.db_url) as gradebook:
            for student in students:
                try:
                    notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
                except MissingEntry:
                    continue
                facts[student] = _page_digest(
                    sorted((g.name, float(g.manual_score)) for g in notebook.grades if g.manual_score is not None),
                    sorted((c.name, c.manual_comment) for c in notebook.comments if c.manual_comment),
                    float(notebook.late_submission_penalty or 0.0))
        return facts

    def feedback(self, student):
        """nbgrader's feedback page of student's autograded notebook; None without one."""
        if not self.autograded_path(student).exists():
            return None
        outcome = self._api().generate_feedback(ASSIGNMENT, student, force=True)
        if not outcome["success"]:
            raise NbgraderError(f"nbgrader generate_feedback failed for {student}: "
                                + (outcome.get("error") or outcome.get("log") or "")[-3000:])
        return self.feedback_path(student)

    def export(self, path="grades_nbgrader.csv"):
        """nbgrader export of the gradebook to root/path; returns the rows."""
        import csv
        self.nbgrader("export", f"--to={path}")
        with open(self.root / path, newline="") as f:
            return list(csv.DictReader(f))

    def record_lateness(self, policy, lateness):
        """Writes the course policy (autograder/course_policy.py) into the gradebook with
        nbgrader's own fields: the assignment's duedate; for each student of lateness
        ({student: Lateness}) the submission's timestamp (None when unknown: on time), its
        extension, and the notebook's late_submission_penalty, the policy's percent of the
        notebook's score (autograded and hand-graded) at nbgrader's total_seconds_late.
        policy None (no deadline) clears the due date, extensions and penalties. Returns
        whether anything changed."""
        from nbgrader.api import Gradebook, MissingEntry

        if not (self.root / "gradebook.db").exists():
            return False
        changed = False

        def put(row, name, value):
            nonlocal changed
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True

        with Gradebook(self.db_url) as gradebook, warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            try:
                assignment = gradebook.find_assignment(ASSIGNMENT)
            except MissingEntry:
                return False
            put(assignment, "duedate", None if policy is None else naive_utc(policy.due))
            for submission in assignment.submissions:
                student = submission.student.id
                if policy is None:
                    put(submission, "extension", None)
                elif student in lateness:
                    late = lateness[student]
                    put(submission, "timestamp", naive_utc(late.submitted))
                    put(submission, "extension", (late.due - policy.due) if late.extended else None)
                else:
                    continue                         # not in this input: kept as it is
                gradebook.db.flush()
                for notebook in submission.notebooks:
                    percent = 0.0 if policy is None else policy.percent(submission.total_seconds_late)
                    put(notebook, "late_submission_penalty",
                        round(float(notebook.score or 0.0) * percent / 100, 6) if percent else None)
            gradebook.db.commit()
        return changed

    def students(self):
        """The ids of the students in the gradebook ([] before the course has one)."""
        from nbgrader.api import Gradebook

        if not (self.root / "gradebook.db").exists():
            return []
        with Gradebook(self.db_url) as gradebook:
            return [student.id for student in gradebook.students]

    def _submitted_notebooks(self):
        """(student id, nbgrader SubmittedNotebook) of every student with a submission of the
        assignment in the gradebook; none before the course has a gradebook."""
        from nbgrader.api import Gradebook, MissingEntry

        if not (self.root / "gradebook.db").exists():
            return
        with Gradebook(self.db_url) as gradebook:
            for student in gradebook.students:
                try:
                    yield student.id, gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student.id)
                except MissingEntry:
                    continue

    def scores(self):
        """{student: {grade_id: score}} of the autograded test cells, from the gradebook."""
        return {student: {grade.name: float(grade.score or 0.0) for grade in notebook.grades
                          if grade.name in TEST_CELLS}
                for student, notebook in self._submitted_notebooks()}

    def totals(self):
        """{student: Totals} of every student with a submission of the assignment in the
        gradebook: the autograded test cells and the hand-graded cells (written answers,
        formgrader) summed apart, each cell's score as nbgrader counts it (a manual score
        replaces the automatic one)."""
        result = {}
        for student, notebook in self._submitted_notebooks():
            seconds_late = float(notebook.assignment.total_seconds_late or 0.0)
            auto = hand = hand_max = 0.0
            pending = 0
            for grade in notebook.grades:
                if grade.name in TEST_CELLS:
                    auto += float(grade.score or 0.0)
                else:
                    hand += float(grade.score or 0.0)
                    hand_max += float(grade.max_score or 0.0)
                    pending += grade.manual_score is None
            result[student] = Totals(auto, hand, hand_max, pending, seconds_late)
        return result


@dataclass(frozen=True)
class Totals:
    """One student's points in the gradebook: autograded (the test cells), hand_graded (the
    written answers as graded in formgrader), hand_max (their maximum), pending (how many of
    those cells have no score from the teacher yet: they count 0), seconds_late (nbgrader's
    total_seconds_late of the submission: after its due date, extension included)."""
    autograded: float
    hand_graded: float
    hand_max: float
    pending: int
    seconds_late: float = 0.0


def naive_utc(moment):
    """An aware datetime as the gradebook stores times (naive UTC); None stays None."""
    from datetime import timezone
    return None if moment is None else moment.astimezone(timezone.utc).replace(tzinfo=None)


def hand_graded(course_root):
    """{grade_id: points} of the grade cells of the course's source notebook that are graded
    by hand in formgrader (written answers), outside the autograded TEST_CELLS."""
    import nbformat
    path = Path(course_root) / "source" / ASSIGNMENT / NOTEBOOK
    cells = nbformat.read(path, as_version=4).cells if path.exists() else []
    found = {}
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and meta.get("grade_id") not in TEST_CELLS:
            found[meta["grade_id"]] = float(meta.get("points", 0))
    return found


def autograded_outputs(path):
    """{grade_id: [output text]} of the test cells of an autograded notebook (for tests)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    found = {}
    for cell in cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in TEST_CELLS:
            texts = [o.get("text") or o.get("data", {}).get("text/plain") or o.get("evalue", "")
                     for o in cell.get("outputs", [])]
            found[grade_id] = ["".join(t) if isinstance(t, list) else t for t in texts]
    return found
