"""The source notebook follows the course's nbgrader conventions (docs/design.md)."""
import re

import nbformat
import pytest

from autograder.course import SOURCE_DIR
from autograder.parts import PARTS, TEST_CELLS

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


@pytest.mark.parametrize("part", PARTS.values(), ids=list(PARTS))
def test_each_test_cell_runs_its_visible_test_then_its_hidden_check(part):
    cell = next(c for c in CODE if nbgrader(c).get("grade_id") == part.grade_id)
    meta = nbgrader(cell)
    assert meta["locked"] and not meta["solution"]
    assert cell.source.splitlines() == [f"public_tests.{part.grade_id}({part.name})",
                                        "### BEGIN HIDDEN TESTS", "from autograder import checks",
                                        f"checks.{part.check}(globals())", "### END HIDDEN TESTS"]


@pytest.mark.parametrize("part", PARTS.values(), ids=list(PARTS))
def test_each_part_is_defined_in_its_solution_cell_just_before_its_test(part):
    cells = [c for c in CODE if nbgrader(c)]
    test = next(i for i, c in enumerate(cells) if nbgrader(c).get("grade_id") == part.grade_id)
    solution = cells[test - 1]
    assert nbgrader(solution).get("grade_id") == part.solution_cell and nbgrader(solution)["solution"]
    assert re.search(rf"^(class|def) {part.name}\b", solution.source, re.M)


def test_every_solution_sits_in_a_start_code_here_region_with_a_size_hint():
    solution_cells = [c for c in CODE if nbgrader(c).get("solution")]
    assert len(solution_cells) == len(PARTS)
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
        if nbgrader(cell).get("solution") and cell.cell_type == "code":
            assert NOTEBOOK.cells[i - 1].cell_type == "markdown", "explain an exercise before its code"


# --------------------------------------------------------------------------------------
# The questions: manually graded answers, apart from the 100 autograded points
# --------------------------------------------------------------------------------------

QUESTIONS = {"q1_adagrad_vs_rmsprop": 3, "q2_adaptive_learning_rates": 3, "q3_momentum_vs_nesterov": 3,
             "q4_momentum_learning_rate": 3}
ANSWERS = [c for c in NOTEBOOK.cells if c.cell_type == "markdown" and nbgrader(c)]


def test_the_questions_are_manually_graded_answer_cells_with_their_own_points():
    assert {nbgrader(c)["grade_id"]: nbgrader(c)["points"] for c in ANSWERS} == QUESTIONS
    assert [nbgrader(c)["grade_id"] for c in ANSWERS] == list(QUESTIONS)
    for cell in ANSWERS:
        meta = nbgrader(cell)
        assert meta["grade"] and meta["solution"] and not meta["locked"], meta["grade_id"]
        assert len(cell.source) > 200, f"{meta['grade_id']}: the source holds a model answer"
    assert not set(QUESTIONS) & set(TEST_CELLS)


def test_each_answer_follows_its_question_after_the_last_autograded_cell():
    cells = NOTEBOOK.cells
    last_test = max(i for i, c in enumerate(cells) if nbgrader(c).get("grade_id") in TEST_CELLS)
    for number, cell in enumerate(ANSWERS, start=1):
        i = cells.index(cell)
        assert i > last_test, "the questions come after the comparison of the optimizers"
        question = next(c for c in reversed(cells[:i]) if c.cell_type == "markdown" and not nbgrader(c))
        assert f"**问题 {number}**" in question.source


def test_cells_that_only_train_or_plot_after_the_tests_are_bare_calls():
    """Grading skips the release's cells that only train or plot; new ones keep that form."""
    import ast
    cells = NOTEBOOK.cells
    last_test = max(i for i, c in enumerate(cells) if nbgrader(c).get("grade_id") in TEST_CELLS)
    for cell in cells[last_test + 1:]:
        if cell.cell_type == "code" and ("run(" in cell.source or "plot_" in cell.source):
            if "RUN_CHALLENGE" in cell.source or "path_optimizers" in cell.source or "best =" in cell.source:
                continue
            assert all(isinstance(node, ast.Expr) for node in ast.parse(cell.source).body), cell.source
