"""The verifier's check runner on real submissions, graded in a real sandbox: a change of how a
check's outcome becomes points (a published variant's share, a named mistake, the hint of a cell
that failed to define its name) fails here. tests/test_report_mutants.py adds such points up.

The submission: the course's solution with
* AdaBelief written as a published variant (its part earns Part.variant_credit of its points),
* Momentum with a known mistake (0 points, the mistake named),
* the cell that defines Nesterov raising before the class is defined (0 points, the message says
  the class was not found and quotes that cell's error),
and every other part right (full points); the hidden check of one of those raises an error of its
own (a bug of the grader's: 0 points for that part only, a message to ask the teacher, the error in
the grader's log).

A second submission runs out of time and memory (below: a cell over cell_timeout, a cell over
the memory budget, checks over check_timeout, the wall time ending during a check), and a
sandbox dies during a check: a change of which limit is reported where, of what the checks
left over earn, or of the options that reach the sandbox fails there.
"""
import ast
import copy
import logging
import time
from typing import NamedTuple

import nbformat
import pytest

from autograder import catalogue, checks, verify
from autograder.examples import source_notebook
from autograder.parts import PARTS, TEST_CELLS
from autograder.sandbox import limits
from autograder.sandbox.proxy import Sandbox
from autograder.verify import VerifiedResult, verify_notebook
from test_verify import write

pytestmark = [pytest.mark.slow, pytest.mark.mutation]

VARIANT = next(e for e in catalogue.entries("test_adabelief", kind="variant"))
MISTAKE = catalogue.get("momentum_sign_error")
BROKEN_PART = PARTS["test_nesterov"]
BROKEN_CELL_ERROR = "ValueError: 这一行在定义之前出错"
CHECK_BUG = PARTS["test_adagrad"]
RIGHT = [g for g in PARTS if g not in (VARIANT.part, MISTAKE.part, BROKEN_PART.grade_id, CHECK_BUG.grade_id)]


def submission():
    notebook = catalogue.notebook_with(source_notebook(), VARIANT, MISTAKE)
    broken = 'raise ValueError("这一行在定义之前出错")\n' + catalogue.reference_source(BROKEN_PART.name)
    return catalogue.with_definition(notebook, BROKEN_PART.name, broken)


class Logged(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def check_with_a_bug(ns, seed=None):
    raise KeyError("a bug of the check")


@pytest.fixture(scope="module")
def verification(tmp_path_factory):
    """The VerifiedResult of the submission above, and the records the verifier logged."""
    folder = tmp_path_factory.mktemp("check_runner")
    logged, logger = Logged(), logging.getLogger(verify.__name__)
    logger.addHandler(logged)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(checks, CHECK_BUG.check, check_with_a_bug)
            result = verify_notebook(write(folder, "mixed", submission()), cell_timeout=20, check_timeout=60)
    finally:
        logger.removeHandler(logged)
    return result, logged.records


def each_outcome_of_a_check_gives_its_points(graded):
    assert graded.reason == "" and graded.limits == []
    for grade_id in RIGHT:
        assert graded.scores[grade_id] == TEST_CELLS[grade_id], (grade_id, graded.messages[grade_id])
        assert graded.messages[grade_id] == ""
    points = TEST_CELLS[VARIANT.part]
    assert graded.scores[VARIANT.part] == pytest.approx(points * PARTS[VARIANT.part].variant_credit)
    assert 0 < graded.scores[VARIANT.part] < points
    assert graded.scores[MISTAKE.part] == 0.0
    assert graded.scores[BROKEN_PART.grade_id] == 0.0


def named_mistakes_are_the_variant_and_the_mistake(graded):
    assert graded.mistakes == {VARIANT.part: VARIANT.id, MISTAKE.part: MISTAKE.id}
    assert VARIANT.title in graded.messages[VARIANT.part]
    assert MISTAKE.title in graded.messages[MISTAKE.part]


def a_name_never_defined_is_reported_with_the_error_of_its_cell(graded):
    message = graded.messages[BROKEN_PART.grade_id]
    assert message.startswith(f"没有找到 {BROKEN_PART.name} 的定义")
    assert f"（定义 {BROKEN_PART.name} 的第 " in message and BROKEN_CELL_ERROR in message
    assert any(BROKEN_CELL_ERROR in error for _, error in graded.cell_errors)


def the_total_adds_the_points_of_the_cells(graded):
    expected = sum(TEST_CELLS[g] for g in RIGHT) + TEST_CELLS[VARIANT.part] * PARTS[VARIANT.part].variant_credit
    assert graded.total == pytest.approx(expected)


def an_error_of_a_check_costs_its_part_only_and_is_logged_for_the_teacher(graded, logged):
    assert graded.scores[CHECK_BUG.grade_id] == 0.0
    assert graded.messages[CHECK_BUG.grade_id] == "检查时出现意外错误（KeyError），请联系老师。"
    assert CHECK_BUG.grade_id not in graded.mistakes
    [record] = [r for r in logged if r.levelno >= logging.ERROR]
    assert record.getMessage() == f"check {CHECK_BUG.grade_id} raised an unexpected error"
    assert record.exc_info[0] is KeyError


def test_the_mixed_submission_gets_each_outcome_its_points_and_message(verification):
    """Every outcome of the one verification above. mutmut runs a mutant against the tests in which
    its code ran, and a module's fixture runs in the first test that uses it: so each verification
    has one test, which checks all of it."""
    graded, logged = verification
    for outcome in (each_outcome_of_a_check_gives_its_points,
                    named_mistakes_are_the_variant_and_the_mistake,
                    a_name_never_defined_is_reported_with_the_error_of_its_cell,
                    the_total_adds_the_points_of_the_cells):
        outcome(graded)
    an_error_of_a_check_costs_its_part_only_and_is_logged_for_the_teacher(graded, logged)


# --------------------------------------------------------------------------------------
# Limits: a second submission, whose cells and checks run out of time and memory
# --------------------------------------------------------------------------------------
# Its code cells: the imports; a cell that never ends (cell_timeout); a cell asking for more
# memory than the budget (MemoryError); a cell whose error reports the sandbox's address space
# limit; the definitions, with the test cell of the first part kept in place (its check runs
# there) and the other test cells left out (their checks run after the last cell); the release's
# last cell, which the checks never use (skipped). No optimizer's update ever returns: the first
# one's check runs out of CHECK_TIMEOUT, and the wall time ends during one of the later ones,
# whichever runs by then (the six take 6 * CHECK_TIMEOUT seconds, more than all of WALL_TIME).
# This holds however fast the machine is, as long as the first optimizer's check starts within
# WALL_TIME - CHECK_TIMEOUT = 32 s (about 5 s on an idle machine).

CELL_TIMEOUT, CHECK_TIMEOUT, WALL_TIME, MEMORY_MB = 2, 8, 40, 1536
OPTIMIZERS = [g for g, part in PARTS.items() if part.kind == "optimizer"]
IN_PLACE = "test_initialize_parameters"
HANGS = "import time\nwhile True:\n    time.sleep(0.05)"
TOO_MUCH_MEMORY = "block = bytearray(64 * 1024 ** 3)"
ADDRESS_SPACE = "import resource\nraise RuntimeError(f'RLIMIT_AS={resource.getrlimit(resource.RLIMIT_AS)[0]}')"
UPDATE = "    def update(self, params, grads):\n"


class Limited(NamedTuple):
    """The submission's cell numbers (code cells from 1), its VerifiedResult and the seconds
    verify_notebook took as seen from the test."""
    cells: int
    hangs: int
    memory: int
    address_space: int
    test_cell: int
    skipped: int
    result: VerifiedResult
    elapsed: float


def only_definitions(source):
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and all(isinstance(node, (ast.FunctionDef, ast.ClassDef)) for node in body)


def limits_submission():
    """The submission described above."""
    source = source_notebook()
    code = [cell for cell in source.cells if cell.cell_type == "code"]
    solution_cells = {part.solution_cell for part in PARTS.values()}
    notebook = copy.deepcopy(source)
    notebook.cells = [code[0], *(nbformat.v4.new_code_cell(s) for s in (HANGS, TOO_MUCH_MEMORY, ADDRESS_SPACE))]
    for cell in code[1:]:
        role = cell.metadata.get("nbgrader", {}).get("grade_id")
        if role in solution_cells or role == IN_PLACE or (role is None and only_definitions(cell.source)):
            notebook.cells.append(cell)
    notebook.cells.append(code[-1])
    for grade_id in OPTIMIZERS:
        name = PARTS[grade_id].name
        assert catalogue.reference_source(name).count(UPDATE) == 1
        hanging = catalogue.reference_source(name).replace(UPDATE, UPDATE + "        while True:\n"
                                                                            "            time.sleep(0.05)\n")
        notebook = catalogue.with_definition(notebook, name, hanging)
    return notebook


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    notebook = limits_submission()
    path = write(tmp_path_factory.mktemp("limits"), "limits", notebook)
    started = time.monotonic()
    result = verify_notebook(path, cell_timeout=CELL_TIMEOUT, check_timeout=CHECK_TIMEOUT, wall_time=WALL_TIME,
                             memory_mb=MEMORY_MB)
    elapsed = time.monotonic() - started
    number = {cell.source: n for n, cell in enumerate(notebook.cells, start=1)}
    test_cell = 1 + next(i for i, cell in enumerate(notebook.cells)
                         if cell.metadata.get("nbgrader", {}).get("grade_id") == IN_PLACE)
    return Limited(len(notebook.cells), number[HANGS], number[TOO_MUCH_MEMORY], number[ADDRESS_SPACE], test_cell,
                   len(notebook.cells), result, elapsed)


def a_cell_over_its_time_limit_is_stopped_and_the_later_cells_still_run(limited):
    result = limited.result
    limit = result.limits[0]
    assert (limit.kind, limit.where) == ("cell_timeout", f"cell:{limited.hangs}")
    assert f"第 {limited.hangs} 个代码单元" in limit.text and "超过时间限制" in limit.text
    assert f"{CELL_TIMEOUT} s" in limit.text
    assert [number for number, _ in result.cell_errors] == [limited.hangs, limited.memory, limited.address_space]
    assert "超过时间限制" in result.cell_errors[0][1] and f"{CELL_TIMEOUT} s" in result.cell_errors[0][1]
    # every cell ran but the test cell (its check ran instead) and the release's cell the checks never use
    assert result.ran == [n for n in range(1, limited.cells + 1) if n not in (limited.test_cell, limited.skipped)]


def a_cell_out_of_memory_is_a_memory_limit_of_the_budget_the_sandbox_got(limited):
    result = limited.result
    limit = result.limits[1]
    assert (limit.kind, limit.where) == ("memory", f"cell:{limited.memory}")
    assert f"第 {limited.memory} 个代码单元" in limit.text and f"{MEMORY_MB} MB" in limit.text
    assert result.cell_errors[1][1].startswith("MemoryError")
    error = result.cell_errors[2][1]
    address_space = int(error[error.index("RLIMIT_AS=") + len("RLIMIT_AS="):].split()[0])
    budget = MEMORY_MB * 1024 * 1024
    assert address_space in (budget, budget // limits.FEW_TASKS)  # with a memory cgroup, or without one


def passing_checks_earn_exactly_their_points_where_their_cell_is_and_after_the_last_cell(limited):
    result = limited.result
    for grade_id in [g for g in PARTS if g not in OPTIMIZERS]:
        assert result.scores[grade_id] == float(TEST_CELLS[grade_id]) and result.messages[grade_id] == ""


def a_check_over_its_time_limit_earns_nothing_and_the_next_check_runs(limited):
    result = limited.result
    first = OPTIMIZERS[0]
    assert result.scores[first] == 0.0
    assert result.messages[first].startswith(f"检查超过时间限制 {CHECK_TIMEOUT} s")
    assert result.limits[-1].where != first


def the_wall_time_ends_during_a_check_and_the_checks_left_earn_nothing(limited):
    result = limited.result
    limit = result.limits[-1]
    assert len(result.limits) == 3 and limit.kind == "wall_time" and limit.where in OPTIMIZERS[1:]
    assert f"{WALL_TIME} s" in limit.text and result.reason == limit.text == result.messages[limit.where]
    stopped = OPTIMIZERS.index(limit.where)
    for grade_id in OPTIMIZERS[:stopped]:
        assert result.messages[grade_id].startswith("检查超过时间限制")
    for grade_id in OPTIMIZERS[stopped + 1:]:
        assert result.messages[grade_id].startswith("没有完成检查") and result.reason in result.messages[grade_id]
    assert all(result.scores[grade_id] == 0.0 for grade_id in OPTIMIZERS)


def the_timings_add_up_within_the_time_it_took(limited):
    result = limited.result
    assert set(result.timings) == {"sandbox_start", "student_cells", "checks"}
    assert all(seconds >= 0 and round(seconds, 3) == seconds for seconds in result.timings.values())  # ms
    assert sum(result.timings.values()) <= result.seconds <= limited.elapsed
    # the cell and the checks that ran out of time count in full (10 % less for the clocks' rounding)
    assert result.timings["student_cells"] >= 0.9 * CELL_TIMEOUT
    timed_out = sum(message.startswith("检查超过时间限制") for message in result.messages.values())
    assert timed_out >= 1 and result.timings["checks"] >= 0.9 * CHECK_TIMEOUT * timed_out


def test_the_limits_of_the_second_submission_are_reported_where_they_were_hit(limited):
    """Every outcome of the second verification (one test, as above)."""
    for outcome in (a_cell_over_its_time_limit_is_stopped_and_the_later_cells_still_run,
                    a_cell_out_of_memory_is_a_memory_limit_of_the_budget_the_sandbox_got,
                    passing_checks_earn_exactly_their_points_where_their_cell_is_and_after_the_last_cell,
                    a_check_over_its_time_limit_earns_nothing_and_the_next_check_runs,
                    the_wall_time_ends_during_a_check_and_the_checks_left_earn_nothing,
                    the_timings_add_up_within_the_time_it_took):
        outcome(limited)


def test_a_sandbox_that_dies_during_a_check_gives_its_reason_and_stops_grading_there():
    """One check against a sandbox whose optimizer exits when called (a sandbox, no verification)."""
    name = PARTS[OPTIMIZERS[0]].name
    exits = "import os\nimport numpy as np\n" + catalogue.reference_source(name).replace(
        UPDATE, UPDATE + "        os._exit(3)\n")
    scores, messages, mistakes, relations = {}, {}, {}, {}
    with Sandbox() as sandbox:
        assert sandbox.run_cell(exits, 30) == (None, False)
        now = time.monotonic()
        stop = verify._run_check(OPTIMIZERS[0], sandbox.remote(), scores, messages, (mistakes, relations), [], {},
                                 now + 30, now + 60, 60, 30, None)
        reason = sandbox.dead
    assert reason and "3" in reason
    assert stop == verify.Limit("died", OPTIMIZERS[0], reason)
    assert scores == {OPTIMIZERS[0]: 0.0} and messages == {OPTIMIZERS[0]: reason}
    assert mistakes == {} and relations == {}


def test_the_wall_time_ending_during_a_cell_is_a_wall_time_limit_of_that_cell(tmp_path):
    """A cell that would have had cell_timeout longer than the wall time left: stopped when the wall
    time ends, reported as the wall time (not the cell's own limit), every check left earns 0."""
    notebook = copy.deepcopy(source_notebook())
    notebook.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(HANGS)]
    result = verify_notebook(write(tmp_path, "hangs", notebook), cell_timeout=60, wall_time=6)
    # the cell's limit, then the end of grading before the first check
    assert [(limit.kind, limit.where) for limit in result.limits] == [("wall_time", "cell:2"), ("wall_time", "")]
    assert result.limits[0].text == "第 2 个代码单元超过总时间限制 6 s" and result.reason == "超过时间限制 6 s"
    assert result.cell_errors == [(2, "超过总时间限制 6 s")] and result.ran == [1, 2]
    assert result.scores == {g: 0.0 for g in TEST_CELLS}
