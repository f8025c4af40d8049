"""The verifier's check runner and the report's totals on one real submission, graded in a real
sandbox: a change of how a check's outcome becomes points (a published variant's share, a named
mistake, the hint of a cell that failed to define its name) or of how the report adds the points
up fails here.

The submission: the course's solution with
* AdaBelief written as a published variant (its part earns Part.variant_credit of its points),
* Momentum with a known mistake (0 points, the mistake named),
* the cell that defines Nesterov raising before the class is defined (0 points, the message says
  the class was not found and quotes that cell's error),
and every other part right (full points).
"""
import csv

import pytest

from autograder import catalogue
from autograder.examples import source_notebook
from autograder.parts import PARTS, TEST_CELLS
from autograder.report import mistake_counts, pass_rates, text_table, write_grades_csv, write_report
from autograder.result import SubmissionResult
from autograder.verify import verify_notebook
from test_verify import write

pytestmark = pytest.mark.slow

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


def results_of(graded):
    """Three students as a batch reports them: the mixed submission, a full one and one not graded."""
    mixed = SubmissionResult("mixed", scores=graded.scores, messages=graded.messages, mistakes=graded.mistakes)
    full = SubmissionResult("full", scores=dict(TEST_CELLS), messages={g: "" for g in TEST_CELLS})
    return {"mixed": mixed, "full": full, "late": SubmissionResult("late")}


def test_grades_csv_holds_each_cells_points_and_the_sum(graded, tmp_path):
    results = results_of(graded)
    write_grades_csv(results, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"mixed", "full", "late"}
    for grade_id in TEST_CELLS:
        assert float(rows["mixed"][grade_id]) == pytest.approx(graded.scores[grade_id])
        assert float(rows["full"][grade_id]) == TEST_CELLS[grade_id]
        assert rows["late"][grade_id] == ""
    assert float(rows["mixed"]["total"]) == pytest.approx(graded.total)
    assert float(rows["full"]["total"]) == sum(TEST_CELLS.values())
    assert rows["late"]["total"] == ""
    assert rows["mixed"]["mistakes"] == f"{MISTAKE.part}:{MISTAKE.id} {VARIANT.part}:{VARIANT.id}"


def test_pass_rates_count_full_points_among_graded_submissions(graded):
    rates = pass_rates(results_of(graded))
    assert list(rates) == list(TEST_CELLS)
    for grade_id, (rate, mean, count) in rates.items():
        assert count == 2  # "late" was not graded
        full = 2 if grade_id in RIGHT else 1
        assert rate == full / 2, grade_id
        assert mean == pytest.approx((graded.scores[grade_id] + TEST_CELLS[grade_id]) / 2)


def test_the_table_and_the_page_show_the_totals(graded, tmp_path):
    results = results_of(graded)
    rows = {line.split()[0]: line.split() for line in text_table(results).splitlines()}
    total, cells = f"{graded.total:g}", len(TEST_CELLS)
    assert rows["mixed"][1:cells + 2] == [f"{graded.scores[g]:g}" for g in TEST_CELLS] + [total]
    assert rows["full"][1:cells + 2] == [f"{p:g}" for p in TEST_CELLS.values()] + [f"{sum(TEST_CELLS.values()):g}"]
    assert rows["late"][1:cells + 2] == ["-"] * (cells + 1)
    page = write_report(results, tmp_path / "r.html", tmp_path / "r.png").read_text(encoding="utf-8")
    assert f"<td><b>{total}</b></td>" in page
    assert "3 submissions; 2 graded;" in page and "<b>1 not graded</b>" in page
    mean = (graded.total + sum(TEST_CELLS.values())) / 2
    assert f"mean total {mean:.1f} / {sum(TEST_CELLS.values())}" in page


def test_grades_csv_has_one_column_per_cell_and_the_documented_ones(graded, tmp_path):
    write_grades_csv(results_of(graded), tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == ["student", *TEST_CELLS, "total", "mistakes", "limits", "sandbox", "source", "reasons"]


def test_a_mistake_no_longer_in_the_catalogue_is_counted_apart():
    results = {"ann": SubmissionResult("ann", scores=dict(TEST_CELLS), mistakes={"test_affine": "no_longer_listed"}),
               "ben": SubmissionResult("ben", scores=dict(TEST_CELLS), mistakes={"test_adam": MISTAKE.id})}
    assert mistake_counts(results) == {MISTAKE.part: {MISTAKE.id: ["ben"]}, "": {"no_longer_listed": ["ann"]}}
