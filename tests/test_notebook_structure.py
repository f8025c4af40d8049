"""The source notebook follows the course's nbgrader conventions (docs/design.md)."""
import re

import nbformat
import pytest

from autograder.course import SOURCE_DIR
from autograder.pipeline import TEST_CELLS

NOTEBOOK = nbformat.read(SOURCE_DIR / "mlp_optimizers.ipynb", as_version=4)
CODE = [c for c in NOTEBOOK.cells if c.cell_type == "code"]


def nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def test_outputs_are_stripped():
    assert all(not c.outputs and c.execution_count is None for c in CODE)


def test_graded_cells_are_the_designed_ones_worth_100_points():
    graded = {nbgrader(c)["grade_id"]: nbgrader(c)["points"] for c in CODE if nbgrader(c).get("grade")}
    assert graded == TEST_CELLS
    assert list(graded) == list(TEST_CELLS), "test cells in the designed order"
    assert sum(graded.values()) == 100


@pytest.mark.parametrize("grade_id", TEST_CELLS)
def test_each_test_cell_runs_its_visible_test_then_its_hidden_check(grade_id):
    cell = next(c for c in CODE if nbgrader(c).get("grade_id") == grade_id)
    meta = nbgrader(cell)
    assert meta["locked"] and not meta["solution"]
    lines = cell.source.splitlines()
    assert re.fullmatch(rf"public_tests\.{grade_id}\(\w+\)", lines[0])
    assert lines[1:] == ["### BEGIN HIDDEN TESTS", "from autograder import checks",
                         f"checks.{grade_id.replace('test_', 'check_')}(globals())",
                         "### END HIDDEN TESTS"]


def test_every_solution_sits_in_a_start_code_here_region_with_a_size_hint():
    solution_cells = [c for c in CODE if nbgrader(c).get("solution")]
    assert len(solution_cells) == 10
    for cell in solution_cells:
        src = cell.source
        assert "BEGIN SOLUTION" in src, nbgrader(cell)["grade_id"]
        regions = re.findall(r"### START CODE HERE ###([^\n]*)\n\s*### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION\n"
                             r"\s*### END CODE HERE ###", src, re.S)
        assert len(regions) == src.count("### BEGIN SOLUTION"), nbgrader(cell)["grade_id"]
        for hint, _ in regions:
            assert re.search(r"约 \d+ 行", hint), f"size hint missing in {nbgrader(cell)['grade_id']}"


def test_no_other_cell_holds_solution_or_hidden_tests():
    for cell in CODE:
        if not nbgrader(cell):
            assert "BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source
            assert "autograder" not in cell.source


def test_training_runs_a_short_schedule_under_nbgrader():
    assert any("NBGRADER_EXECUTION" in c.source and "ITERS_NUM" in c.source for c in CODE)


def test_every_exercise_is_explained_before_its_code():
    assert NOTEBOOK.cells[0].cell_type == "markdown"
    for i, cell in enumerate(NOTEBOOK.cells):
        if nbgrader(cell).get("solution"):
            assert NOTEBOOK.cells[i - 1].cell_type == "markdown", "explain an exercise before its code"
