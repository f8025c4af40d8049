"""The manifest: what has been graded, and whether a grade is still current.

grade_manifest.json in the course holds, per student, the sha256 of the graded file, the
fingerprint of what a grade depends on, the digest of the grading code and the
SubmissionResult. It is written after every result, so a re-run of `grade` grades only the
submissions whose grade is not current: new or changed files, a changed fingerprint, or a
result without a score (the sandbox was unavailable, the grader failed).
"""
import hashlib
import json
import os
from pathlib import Path

from autograder.result import SubmissionResult

MANIFEST = "grade_manifest.json"
MANIFEST_VERSION = 2


def fingerprint(course, source_digest, limits, grader_time):
    """Digest of everything a grade depends on: the assignment's source (source_digest: its
    notebook, helpers and figures), the course's nbgrader_config.py, the grading code, the
    limits (a task.Limits) and the grader's time budget (seconds). A submission recorded with
    another fingerprint is graded again."""
    from autograder.nbgrader_adapter import tree_digest
    from autograder.task import code_digest

    return hashlib.sha256(json.dumps([source_digest, tree_digest([course.root / "nbgrader_config.py"]),
                                      code_digest(), limits.options(), grader_time],
                                     sort_keys=True).encode()).hexdigest()[:16]


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

    def pending(self, submissions, fingerprint, force=False):
        """The submissions (intake.Submission) to grade: all with force, else those whose
        grade is not current."""
        return [s for s in submissions if force or not self.is_current(s, fingerprint)]
