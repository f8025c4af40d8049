"""Real nbgrader runs in a scratch copy of the course: generate_assignment, autograde,
generate_feedback and export on the example submissions of autograder/examples.py."""
import hashlib

import nbformat
import pytest

from autograder.course import ASSIGNMENT, SOURCE_DIR
from autograder.examples import all_examples
from autograder.nbgrader_adapter import Course
from autograder.parts import TEST_CELLS

pytestmark = pytest.mark.slow

SUBMISSIONS, LOSING = all_examples()


def manual_points():
    """Points of the source notebook's grade cells that are not autograder test cells."""
    notebook = nbformat.read(SOURCE_DIR / f"{ASSIGNMENT}.ipynb", as_version=4)
    return sum(float(c.metadata["nbgrader"].get("points", 0)) for c in notebook.cells
               if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"]["grade_id"] not in TEST_CELLS)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course after grading every example and the untouched release, with the
    digests of the submitted files taken before grading."""
    course = Course.scratch(tmp_path_factory.mktemp("course") / "course")
    release = course.generate_release()
    submissions = dict(SUBMISSIONS)
    submissions["untouched_release"] = nbformat.read(release / f"{ASSIGNMENT}.ipynb", as_version=4)
    before = {student: digest(course.add_submission(student, nb)) for student, nb in submissions.items()}
    course.autograde_plain()
    course.generate_feedback()
    rows = course.export()
    return course, course.scores(), rows, before


def test_every_submission_is_graded_and_exported(graded):
    course, scores, rows, before = graded
    assert set(scores) == set(before)
    assert {row["student_id"] for row in rows} == set(before)
    for student in before:
        feedback = course.root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert feedback.is_file(), student


def test_reference_solution_gets_full_marks(graded):
    _, scores, rows, _ = graded
    assert scores["reference_solution"] == {name: float(p) for name, p in TEST_CELLS.items()}
    row = next(r for r in rows if r["student_id"] == "reference_solution")
    # the written answers are graded by hand (their points are not in the autograded 100)
    assert float(row["score"]) == 100.0
    assert float(row["max_score"]) == 100.0 + manual_points()


def test_untouched_release_gets_zero(graded):
    _, scores, _, _ = graded
    assert scores["untouched_release"] == {name: 0.0 for name in TEST_CELLS}


@pytest.mark.parametrize("student", [s for s in SUBMISSIONS if s != "reference_solution"])
def test_points_are_lost_exactly_in_the_right_cells(graded, student):
    _, scores, _, _ = graded
    lost = {name for name, points in TEST_CELLS.items() if scores[student][name] < points}
    assert lost == LOSING[student]
    for name in lost:
        assert scores[student][name] == 0.0


def test_grading_leaves_the_submissions_alone(graded):
    course, _, _, before = graded
    for student, expected in before.items():
        assert digest(course.submission_path(student)) == expected, student
