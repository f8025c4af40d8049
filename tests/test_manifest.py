"""The manifest's regrade decision (autograder/manifest.py), in this process: which submissions a
re-run of `grade` grades again. tests/test_regrade.py runs the same decision through `grade`."""
import json

import pytest

from autograder.intake import Submission
from autograder.manifest import MANIFEST, Manifest, fingerprint
from autograder.nbgrader_adapter import Course
from autograder.parts import TEST_CELLS
from autograder.result import SubmissionResult
from autograder.task import Limits

FULL = {g: float(p) for g, p in TEST_CELLS.items()}
LIMITS = Limits(cell_timeout=30, wall_time=300, memory_mb=2048)


def submission(student, sha="a" * 64):
    return Submission(student, None, f"{student}.ipynb", sha)


@pytest.fixture
def recorded(tmp_path):
    """A manifest on disk with alice (graded), bob (no score: the sandbox was unavailable)."""
    manifest = Manifest(tmp_path / MANIFEST, code="code-1")
    manifest.record(submission("alice"), "fp-1", SubmissionResult("alice", scores=FULL, notes=["笔记"]))
    manifest.record(submission("bob"), "fp-1", SubmissionResult("bob", scores=None, notes=["沙箱不可用"]))
    return tmp_path / MANIFEST


def test_a_graded_submission_is_current_only_with_the_same_file_and_fingerprint(recorded):
    manifest = Manifest(recorded)
    assert manifest.is_current(submission("alice"), "fp-1")
    assert not manifest.is_current(submission("alice", sha="b" * 64), "fp-1")  # the file changed
    assert not manifest.is_current(submission("alice"), "fp-2")               # what grades depend on changed
    assert not manifest.is_current(submission("carol"), "fp-1")               # never graded
    assert not manifest.is_current(submission("bob"), "fp-1")                 # no score: graded again


def test_pending_is_what_is_not_current_or_everything_when_forced(recorded):
    manifest = Manifest(recorded)
    batch = [submission("alice"), submission("bob"), submission("carol"), submission("dave", sha="c" * 64)]
    assert [s.student for s in manifest.pending(batch, "fp-1")] == ["bob", "carol", "dave"]
    assert [s.student for s in manifest.pending(batch, "fp-2")] == ["alice", "bob", "carol", "dave"]
    assert [s.student for s in manifest.pending(batch, "fp-1", force=True)] == ["alice", "bob", "carol", "dave"]


def test_a_recorded_result_reads_back_as_it_was(recorded):
    manifest = Manifest(recorded)
    alice = manifest.result("alice")
    assert alice.scores == FULL and alice.total == 100 and alice.notes == ["笔记"]
    assert manifest.result("bob").scores is None and not manifest.result("bob").graded
    data = json.loads(recorded.read_text(encoding="utf-8"))
    assert data["version"] == 2 and set(data["students"]) == {"alice", "bob"}
    assert data["students"]["alice"]["code"] == "code-1" and data["students"]["alice"]["sha256"] == "a" * 64
    assert [p.name for p in recorded.parent.iterdir()] == [MANIFEST]  # written in place, no temporary left


def test_a_manifest_of_another_version_or_unreadable_grades_everything_again(recorded, capsys):
    data = json.loads(recorded.read_text(encoding="utf-8"))
    recorded.write_text(json.dumps({**data, "version": 1}), encoding="utf-8")
    assert Manifest(recorded).students == {}
    recorded.write_text("{not json", encoding="utf-8")
    manifest = Manifest(recorded)
    assert manifest.students == {} and not manifest.is_current(submission("alice"), "fp-1")
    assert "unreadable" in capsys.readouterr().out


def test_the_fingerprint_follows_each_thing_a_grade_depends_on(tmp_path):
    course = Course(tmp_path / "course")
    course.root.mkdir()
    config = course.root / "nbgrader_config.py"
    config.write_text("c = get_config()\n", encoding="utf-8")
    first = fingerprint(course, "source-1", LIMITS, 60)
    assert fingerprint(course, "source-1", LIMITS, 60) == first
    assert len(first) == 16 and int(first, 16) >= 0
    changed = {
        "source": fingerprint(course, "source-2", LIMITS, 60),
        "limits": fingerprint(course, "source-1", Limits(30, 300, 1024), 60),
        "weak sandbox": fingerprint(course, "source-1", Limits(30, 300, 2048, allow_weak=True), 60),
        "grader time": fingerprint(course, "source-1", LIMITS, 120),
    }
    config.write_text("c = get_config()\nc.Exchange.timezone = 'UTC'\n", encoding="utf-8")
    changed["nbgrader_config.py"] = fingerprint(course, "source-1", LIMITS, 60)
    assert first not in changed.values() and len(set(changed.values())) == len(changed), changed


def test_a_manifest_without_its_students_has_none(recorded):
    recorded.write_text(json.dumps({"version": 2}), encoding="utf-8")
    manifest = Manifest(recorded)
    assert manifest.students == {} and manifest.pending([submission("alice")], "fp-1") == [submission("alice")]
