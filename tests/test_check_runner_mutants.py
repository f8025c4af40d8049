"""The verifier's check runner on one real submission, graded in a real sandbox: a change of how a
check's outcome becomes points (a published variant's share, a named mistake, the hint of a cell
that failed to define its name) fails here. tests/test_report_mutants.py adds such points up.

The submission: the course's solution with
* AdaBelief written as a published variant (its part earns Part.variant_credit of its points),
* Momentum with a known mistake (0 points, the mistake named),
* the cell that defines Nesterov raising before the class is defined (0 points, the message says
  the class was not found and quotes that cell's error),
and every other part right (full points).
"""
import pytest

from autograder import catalogue
from autograder.examples import source_notebook
from autograder.parts import PARTS, TEST_CELLS
from autograder.verify import verify_notebook
from test_verify import write

pytestmark = [pytest.mark.slow, pytest.mark.mutation]

VARIANT = next(e for e in catalogue.entries("test_adabelief", kind="variant"))
MISTAKE = catalogue.get("momentum_sign_error")
BROKEN_PART = PARTS["test_nesterov"]
BROKEN_CELL_ERROR = "ValueError: 这一行在定义之前出错"
RIGHT = [g for g in PARTS if g not in (VARIANT.part, MISTAKE.part, BROKEN_PART.grade_id)]


def submission():
    notebook = catalogue.notebook_with(source_notebook(), VARIANT, MISTAKE)
    broken = 'raise ValueError("这一行在定义之前出错")\n' + catalogue.reference_source(BROKEN_PART.name)
    return catalogue.with_definition(notebook, BROKEN_PART.name, broken)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("check_runner")
    return verify_notebook(write(folder, "mixed", submission()), cell_timeout=20, check_timeout=60)


def test_each_outcome_of_a_check_gives_its_points(graded):
    assert graded.reason == "" and graded.limits == []
    for grade_id in RIGHT:
        assert graded.scores[grade_id] == TEST_CELLS[grade_id], (grade_id, graded.messages[grade_id])
        assert graded.messages[grade_id] == ""
    points = TEST_CELLS[VARIANT.part]
    assert graded.scores[VARIANT.part] == pytest.approx(points * PARTS[VARIANT.part].variant_credit)
    assert 0 < graded.scores[VARIANT.part] < points
    assert graded.scores[MISTAKE.part] == 0.0
    assert graded.scores[BROKEN_PART.grade_id] == 0.0


def test_named_mistakes_are_the_variant_and_the_mistake(graded):
    assert graded.mistakes == {VARIANT.part: VARIANT.id, MISTAKE.part: MISTAKE.id}
    assert VARIANT.title in graded.messages[VARIANT.part]
    assert MISTAKE.title in graded.messages[MISTAKE.part]


def test_a_name_never_defined_is_reported_with_the_error_of_its_cell(graded):
    message = graded.messages[BROKEN_PART.grade_id]
    assert message.startswith(f"没有找到 {BROKEN_PART.name} 的定义")
    assert f"（定义 {BROKEN_PART.name} 的第 " in message and BROKEN_CELL_ERROR in message
    assert any(BROKEN_CELL_ERROR in error for _, error in graded.cell_errors)


def test_the_total_adds_the_points_of_the_cells(graded):
    expected = sum(TEST_CELLS[g] for g in RIGHT) + TEST_CELLS[VARIANT.part] * PARTS[VARIANT.part].variant_credit
    assert graded.total == pytest.approx(expected)
