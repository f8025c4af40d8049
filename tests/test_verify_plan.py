"""The verifier's reading of a notebook and its plan (autograder/verify.py), in this process and
without a sandbox: what is a notebook and why a file is not one, which cells are code cells,
where each check runs and which cells run, the hint for a name a failed cell should have
defined, the kind of limit each way a sandbox fails stands for, and how a message is cut.

The expected values come from the verifier's specification (its docstrings): the plan is
[("cell", number, source) | ("check", grade_id)] in notebook order with code cells numbered
from 1; a test cell is found by its nbgrader grade id or by its content and never runs; the
check of a missing test cell runs after the last cell, in the order of parts.TEST_CELLS.
tests/test_check_runner_mutants.py grades in a real sandbox.
"""
import json
import time
from types import SimpleNamespace

import nbformat
import pytest

from autograder import verify
from autograder.course import ASSIGNMENT, RELEASE_DIR
from autograder.parts import PARTS, TEST_CELLS
from autograder.sandbox.errors import ProtocolError, SandboxDied, SandboxError, SandboxMemory, SandboxTimeout
from autograder.verify import NotANotebook, read_cells, verify_notebook

NOT_JSON = "笔记本不是有效的 JSON"
NOT_A_NOTEBOOK = "文件不是 Jupyter 笔记本（没有 cells 列表）"
UNREADABLE = "无法读取笔记本文件"


def notebook_bytes(cells):
    """A notebook file's bytes holding the given cells (dicts or anything else) as they are."""
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                      ensure_ascii=False).encode("utf-8")


def code(source, **metadata):
    return {"cell_type": "code", "source": source, "metadata": metadata, "outputs": [],
            "execution_count": None}


def markdown(source):
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def plan(*cells, run_training=False):
    """The plan of code cells given as (source, nbgrader metadata)."""
    return verify._plan(list(cells), run_training)


def checks_in_order(grade_ids):
    """The check steps of the given grade ids."""
    return [("check", grade_id) for grade_id in grade_ids]


def all_checks_but(*grade_ids):
    """The checks of every test cell except grade_ids, in the order of TEST_CELLS."""
    return checks_in_order(g for g in TEST_CELLS if g not in grade_ids)


def code_lines(source):
    """The lines of source that hold code (neither blank nor comments)."""
    return [line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]


# --------------------------------------------------------------------------------------
# Files that are not notebooks
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"\x00\x01 not json at all",
    b'{"cells": [',                          # cut short
    "{\"cells\": []}".encode("utf-16"),      # not UTF-8
    b"\xff\xfe\xfd",
    b"[" * 100_000 + b"]" * 100_000,         # nested deeper than the parser recurses
])
def test_bytes_that_are_not_json_are_refused_with_the_reason(data):
    with pytest.raises(NotANotebook) as refused:
        read_cells(data)
    assert str(refused.value) == NOT_JSON


@pytest.mark.parametrize("data", [b"[1, 2, 3]", b'"cells"', b"null", b"42", b'{"nbformat": 4}',
                                  b'{"cells": 5, "nbformat": 4}', b'{"cells": {"0": {}}}'])
def test_json_that_is_no_notebook_is_refused_with_the_reason(data):
    with pytest.raises(NotANotebook) as refused:
        read_cells(data)
    assert str(refused.value) == NOT_A_NOTEBOOK


def test_a_file_over_the_size_limit_is_refused_and_one_at_the_limit_is_read(monkeypatch):
    monkeypatch.setattr(verify, "MAX_NOTEBOOK_BYTES", 2 * 2**20)
    data = notebook_bytes([code("x = 1")])
    at_limit = data + b" " * (2 * 2**20 - len(data))  # trailing white space is still JSON
    assert len(at_limit) == 2 * 2**20
    assert read_cells(at_limit) == [("x = 1", {})]
    with pytest.raises(NotANotebook) as refused:
        read_cells(at_limit + b" ")
    assert str(refused.value) == "笔记本文件过大（超过 2 MB）"


def test_code_over_the_limit_is_refused_counting_every_cell_but_no_output(monkeypatch):
    monkeypatch.setattr(verify, "MAX_CODE_BYTES", 2**20)
    half = "x" * (2**19)
    big_output = {"output_type": "stream", "name": "stdout", "text": "y" * (3 * 2**20)}
    cells = [code(half), markdown("z" * 2**20), dict(code(half), outputs=[big_output])]
    assert read_cells(notebook_bytes(cells)) == [(half, {}), (half, {})]  # exactly at the limit
    with pytest.raises(NotANotebook) as refused:
        read_cells(notebook_bytes(cells + [code("1")]))
    assert str(refused.value) == "笔记本中的代码过多（超过 1 MB）"


@pytest.mark.parametrize("data, reason", [
    (b"\x00\x01 not json at all", NOT_JSON),
    (b'{"cells": 5, "nbformat": 4}', NOT_A_NOTEBOOK),
])
def test_verify_notebook_gives_zero_everywhere_with_the_reason(tmp_path, data, reason):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(data)
    result, elapsed = timed(verify_notebook, path)
    assert_zero_everywhere(result, reason, elapsed)


@pytest.mark.parametrize("where", ["missing", "a folder"])
def test_a_file_that_cannot_be_read_gives_zero_everywhere(tmp_path, where):
    path = tmp_path / "missing.ipynb" if where == "missing" else tmp_path
    result, elapsed = timed(verify_notebook, path)
    assert_zero_everywhere(result, UNREADABLE, elapsed)


def timed(function, *args):
    """(function(*args), the seconds it took as seen from here)."""
    started = time.monotonic()
    result = function(*args)
    return result, time.monotonic() - started


def assert_zero_everywhere(result, reason, elapsed):
    assert result.scores == {grade_id: 0.0 for grade_id in TEST_CELLS}
    assert result.messages == {grade_id: reason for grade_id in TEST_CELLS}
    assert result.reason == reason and result.total == 0
    assert result.sandbox == "" and result.limits == [] and result.mistakes == {} and result.ran == []
    assert 0 < result.seconds <= elapsed  # the time it took, not a time since some other moment


# --------------------------------------------------------------------------------------
# The code cells of a notebook
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("between", [
    markdown("## 第二部分"),
    {"cell_type": "raw", "source": "raw text"},
    {"source": "no cell type", "metadata": {}},
    "a string instead of a cell",
    17,
    None,
    ["a", "list"],
    code(42),                       # a code cell whose source is neither text nor lines
    code({"text": "x = 1"}),
    code(None),
], ids=lambda cell: repr(cell)[:40])
def test_what_is_no_code_cell_is_skipped_and_reading_goes_on(between):
    cells = read_cells(notebook_bytes([code("a = 1"), between, code("b = 2")]))
    assert cells == [("a = 1", {}), ("b = 2", {})]


def test_a_source_given_as_lines_is_joined_and_a_missing_one_is_empty():
    cells = read_cells(notebook_bytes([
        code(["def f(x):\n", "    return x\n", "\n", "y = f(1)"]),
        code(["a = 1\n", 5, None, "b = 2"]),   # what is not text is left out
        code([]),
        {"cell_type": "code", "metadata": {}},
    ]))
    assert cells == [("def f(x):\n    return x\n\ny = f(1)", {}), ("a = 1\nb = 2", {}), ("", {}), ("", {})]


def test_the_nbgrader_metadata_is_kept_when_it_is_a_dict_and_empty_otherwise():
    nbgrader = {"grade": True, "grade_id": "test_adam", "points": 11}
    cells = read_cells(notebook_bytes([
        code("a = 1", nbgrader=nbgrader),
        code("b = 2", nbgrader="test_adam"),
        code("c = 3", nbgrader=None),
        code("d = 4", other={"grade_id": "test_adam"}),
        dict(code("e = 5"), metadata="not a dict"),
        dict(code("f = 6"), metadata=None),
        {"cell_type": "code", "source": "g = 7"},
    ]))
    assert cells == [("a = 1", nbgrader), ("b = 2", {}), ("c = 3", {}), ("d = 4", {}), ("e = 5", {}),
                     ("f = 6", {}), ("g = 7", {})]


def test_cells_are_numbered_among_the_code_cells_only():
    data = notebook_bytes([markdown("# 标题"), code("a = 1"), markdown("说明"), "junk",
                           code("public_tests.test_adam(Adam)"), code("b = 2")])
    assert plan(*read_cells(data)) == [("cell", 1, "a = 1"), ("check", "test_adam"), ("cell", 3, "b = 2"),
                                       *all_checks_but("test_adam")]


# --------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------

def test_cells_without_tests_run_in_order_and_every_check_runs_after_them():
    assert plan(("a = 1", {}), ("b = 2", {})) == [("cell", 1, "a = 1"), ("cell", 2, "b = 2"),
                                                  *checks_in_order(TEST_CELLS)]
    assert plan() == checks_in_order(TEST_CELLS)


@pytest.mark.parametrize("grade_id", TEST_CELLS)
def test_a_test_cell_found_by_its_grade_id_is_replaced_by_its_check(grade_id):
    metadata = {"grade": True, "grade_id": grade_id, "points": TEST_CELLS[grade_id]}
    # whatever the cell holds never runs: the check runs in its place
    steps = plan(("a = 1", {}), ("print('the test cell was emptied')\nx = 2", metadata), ("b = 2", {}))
    assert steps == [("cell", 1, "a = 1"), ("check", grade_id), ("cell", 3, "b = 2"), *all_checks_but(grade_id)]


@pytest.mark.parametrize("grade_id", TEST_CELLS)
@pytest.mark.parametrize("call", ["public_tests.{test}({name})", "checks.check_{part}(globals())",
                                  "public_tests.{test} ( {name} )"])
def test_a_test_cell_found_by_its_content_is_replaced_by_its_check(grade_id, call):
    source = call.format(test=grade_id, part=grade_id[len("test_"):], name=PARTS[grade_id].name)
    assert plan(("a = 1", {}), (source, {}), ("b = 2", {})) == [
        ("cell", 1, "a = 1"), ("check", grade_id), ("cell", 3, "b = 2"), *all_checks_but(grade_id)]


def test_a_cell_with_hidden_tests_of_no_known_part_never_runs_and_plans_no_check():
    hidden = "### BEGIN HIDDEN TESTS\nassert secret() == 42\n### END HIDDEN TESTS"
    assert plan(("a = 1", {}), (hidden, {}), ("b = 2", {})) == [
        ("cell", 1, "a = 1"), ("cell", 3, "b = 2"), *checks_in_order(TEST_CELLS)]


def test_a_cell_marked_by_content_keeps_its_other_code_without_the_test_lines():
    source = ("from autograder import checks\n"
              "x = 1\n"
              "public_tests.test_adam(Adam)\n"
              "y = 2\n"
              "### BEGIN HIDDEN TESTS\n"
              "from autograder import checks\n"
              "checks.check_adam(globals())\n"
              "### END HIDDEN TESTS\n"
              "z = 3")
    steps = plan(("a = 1", {}), (source, {}))
    assert [step[:2] for step in steps[:3]] == [("cell", 1), ("cell", 2), ("check", "test_adam")]
    assert code_lines(steps[1][2]) == ["x = 1", "y = 2", "z = 3"]
    assert steps[3:] == all_checks_but("test_adam")


@pytest.mark.parametrize("source", [
    "x = 1\n### BEGIN HIDDEN TESTS\nassert secret() == 42\n### END HIDDEN TESTS",
    "x = 1\n### BEGIN HIDDEN TESTS\nassert secret() == 42",      # a block never ended hides the rest
    "### BEGIN HIDDEN TESTS\nassert secret() == 42\n### END HIDDEN TESTS\nx = 1",
])
def test_the_code_beside_hidden_tests_of_no_known_part_still_runs(source):
    steps = plan((source, {}))
    assert steps[0][:2] == ("cell", 1) and steps[1:] == checks_in_order(TEST_CELLS)
    assert code_lines(steps[0][2]) == ["x = 1"]


@pytest.mark.parametrize("source", [
    "# 检查 Adam\npublic_tests.test_adam(Adam)",
    "\n\npublic_tests.test_adam(Adam)\n\n   \n",
    "public_tests.test_adam(Adam)\n    # 注释\n"
    "### BEGIN HIDDEN TESTS\nchecks.check_adam(globals())\n### END HIDDEN TESTS\n",
])
def test_a_cell_marked_by_content_with_only_comments_besides_plans_no_cell(source):
    assert plan((source, {})) == [("check", "test_adam"), *all_checks_but("test_adam")]


def test_a_test_cell_found_by_its_grade_id_runs_none_of_its_code():
    source = "x = 1\npublic_tests.test_adam(Adam)\ny = 2"
    assert plan((source, {"grade_id": "test_adam"})) == [("check", "test_adam"), *all_checks_but("test_adam")]


def test_each_check_is_planned_once_at_its_first_cell():
    steps = plan(("public_tests.test_adam(Adam)", {}),
                 ("a = 1", {}),
                 ("checks.check_adam(globals())", {}),
                 ("pass", {"grade_id": "test_adam"}),
                 ("public_tests.test_adam(Adam)\n### BEGIN HIDDEN TESTS\nchecks.check_adam(globals())\n"
                  "### END HIDDEN TESTS", {"grade_id": "test_adam"}))
    assert steps == [("check", "test_adam"), ("cell", 2, "a = 1"), *all_checks_but("test_adam")]


def test_a_cell_with_several_tests_plans_their_checks_in_its_order():
    assert plan(("public_tests.test_momentum(Momentum)\npublic_tests.test_adagrad(AdaGrad)", {})) == [
        *checks_in_order(["test_momentum", "test_adagrad"]), *all_checks_but("test_momentum", "test_adagrad")]
    # the grade id first, then the calls in the cell
    assert plan(("public_tests.test_adam(Adam)", {"grade_id": "test_nesterov"})) == [
        *checks_in_order(["test_nesterov", "test_adam"]), *all_checks_but("test_nesterov", "test_adam")]


def test_checks_of_cells_found_out_of_order_run_where_found_and_the_missing_ones_in_table_order():
    steps = plan(("public_tests.test_adam(Adam)", {}), ("a = 1", {}), ("pass", {"grade_id": "test_affine"}))
    assert steps == [("check", "test_adam"), ("cell", 2, "a = 1"), ("check", "test_affine"),
                     *all_checks_but("test_adam", "test_affine")]


@pytest.mark.parametrize("source, nbgrader", [
    ("class Adam:\n    pass", {"grade_id": "adam", "solution": True}),   # a solution cell
    ("x = 1", {"grade_id": "test_dropout"}),                              # no such test cell
    ("x = 1", {"grade_id": ["test_adam"]}),
    ("x = 1", {"grade_id": 5}),
    ("public_tests.test_dropout(Dropout)", {}),                           # no such part
    ("public_tests.check_overfit(net)", {}),                              # a visible helper, not a test
    ("checks.check_adam", {}),                                            # not a call
    ("x = public_tests.test_adamant(Adam)", {}),
])
def test_cells_that_are_no_test_cell_run_as_they_are(source, nbgrader):
    assert plan((source, nbgrader)) == [("cell", 1, source), *checks_in_order(TEST_CELLS)]


# --- the release's cells that only train or plot --------------------------------------

def release_cell(start):
    """The source of the release notebook's code cell that starts with start."""
    notebook = nbformat.read(RELEASE_DIR / f"{ASSIGNMENT}.ipynb", as_version=4)
    return next(cell.source for cell in notebook.cells if cell.cell_type == "code" and cell.source.startswith(start))


TRAINING = "run('Adam'"            # a bare call that trains
PLOTTING = "plot_histories("       # bare calls that plot
AFTER_LAST_TEST = "path_optimizers"  # after the last test cell: a figure, with assignments


@pytest.mark.parametrize("start", [TRAINING, PLOTTING, AFTER_LAST_TEST])
def test_a_release_cell_that_only_trains_or_plots_is_skipped_unless_training_is_asked(start):
    source = release_cell(start)
    cells = [("a = 1", {}), (source, {}), ("b = 2", {})]
    assert plan(*cells) == [("cell", 1, "a = 1"), ("cell", 3, "b = 2"), *checks_in_order(TEST_CELLS)]
    assert plan(*cells, run_training=True) == [("cell", 1, "a = 1"), ("cell", 2, source), ("cell", 3, "b = 2"),
                                               *checks_in_order(TEST_CELLS)]


@pytest.mark.parametrize("start", [TRAINING, AFTER_LAST_TEST])
def test_white_space_around_an_unmodified_release_cell_changes_nothing(start):
    source = "\n\n" + "\n".join(line + "  \t" for line in release_cell(start).splitlines()) + "\n\n"
    assert plan((source, {})) == checks_in_order(TEST_CELLS)


def test_a_modified_release_cell_and_one_that_computes_before_the_tests_run():
    modified = release_cell(TRAINING).replace("0.001", "0.002")
    computes = release_cell("params = initialize_parameters(")  # an assignment before the first test
    assert modified != release_cell(TRAINING)
    assert plan((modified, {}), (computes, {})) == [("cell", 1, modified), ("cell", 2, computes),
                                                   *checks_in_order(TEST_CELLS)]


def test_a_skipped_release_cell_does_not_stop_the_plan():
    source = release_cell(TRAINING)
    assert plan((source, {}), ("public_tests.test_adam(Adam)", {}), ("b = 2", {})) == [
        ("check", "test_adam"), ("cell", 3, "b = 2"), *all_checks_but("test_adam")]


# --------------------------------------------------------------------------------------
# The hint for a name that a failed cell should have defined
# --------------------------------------------------------------------------------------

def test_the_hint_quotes_the_error_of_the_first_failed_cell_that_defines_the_name():
    sources = {1: "import numpy as np", 2: "x = 1\nclass AdamW:\n    pass",
               3: "raise ValueError('早')\n\nclass Adam:\n    pass", 4: "class Adam:\n    pass"}
    errors = [(1, "ImportError: 没有 numpy"), (2, "NameError: AdamW"), (3, "ValueError: 早"), (4, "KeyError: 晚")]
    hint = verify._failed_definition_hint("test_adam", errors, sources)
    assert hint.startswith("（") and hint.endswith("）")
    assert "定义 Adam" in hint and "第 3 个代码单元" in hint and "ValueError: 早" in hint
    assert "第 4 " not in hint and "晚" not in hint and "AdamW" not in hint


@pytest.mark.parametrize("source", [
    "def initialize_parameters(input_size, hidden_size):\n    pass",
    "import numpy as np\n\n\tdef  initialize_parameters():\n    pass",   # indented, after other lines
    "if True:\n    def initialize_parameters(): pass",
])
def test_a_function_defined_anywhere_in_a_failed_cell_is_found(source):
    hint = verify._failed_definition_hint("test_initialize_parameters", [(7, "TypeError: 坏")], {7: source})
    assert "定义 initialize_parameters" in hint and "第 7 个代码单元" in hint and "TypeError: 坏" in hint


@pytest.mark.parametrize("errors, sources", [
    ([], {1: "class Adam:\n    pass"}),                                   # no cell failed
    ([(1, "ValueError: x")], {1: "class AdamW:\n    pass"}),               # another name
    ([(1, "ValueError: x")], {1: "name = 'class Adam'\n# class Adam"}),    # not a definition
    ([(1, "ValueError: x")], {1: "class\nAdam:\n    pass"}),               # never across lines
    ([(1, "ValueError: x")], {2: "class Adam:\n    pass"}),                # that cell did not fail
    ([(3, "ValueError: x")], {1: "class Adam:\n    pass"}),                # a cell of no known source
])
def test_no_hint_when_no_failed_cell_defines_the_name(errors, sources):
    assert verify._failed_definition_hint("test_adam", errors, sources) == ""


# --------------------------------------------------------------------------------------
# Limits: which kind each failure of the sandbox is, and its text
# --------------------------------------------------------------------------------------

NOW = 1000.0


@pytest.fixture
def clock(monkeypatch):
    """The verifier's clock, stopped at NOW."""
    monkeypatch.setattr(verify, "time", SimpleNamespace(monotonic=lambda: NOW))


@pytest.mark.parametrize("error, kind", [
    (SandboxTimeout("没有回应"), "unresponsive"),
    (ProtocolError("无效的消息"), "protocol"),
    (SandboxMemory("内存超过了限制"), "memory"),
    (SandboxDied("进程退出了"), "died"),
    (SandboxError("沙箱不可用"), "died"),
])
def test_each_failure_of_the_sandbox_is_its_kind_of_limit(clock, error, kind):
    for wall_deadline in (NOW + 0.75, NOW + 3600):
        for where in ("test_adam", "cell:4"):
            assert verify._limit_of(error, "说明", where, wall_deadline) == verify.Limit(kind, where, "说明")


@pytest.mark.parametrize("error", [SandboxTimeout("x"), ProtocolError("x"), SandboxMemory("x"), SandboxDied("x")])
@pytest.mark.parametrize("wall_deadline", [NOW + 0.5, NOW + 0.25, NOW, NOW - 60])
def test_any_failure_within_half_a_second_of_the_wall_time_is_the_wall_time(clock, error, wall_deadline):
    assert verify._limit_of(error, "说明", "cell:2", wall_deadline) == verify.Limit("wall_time", "cell:2", "说明")


def test_the_reason_is_the_sandboxs_with_the_prefix_before_the_wall_time_and_the_wall_time_after(clock):
    died = SandboxDied("进程调用了 os._exit")
    prefix = "第 3 个代码单元："
    assert verify._stop_reason(died, NOW + 0.75, 300, prefix) == prefix + "进程调用了 os._exit"
    assert verify._stop_reason(died, NOW + 3600, 300, "") == "进程调用了 os._exit"
    for wall_deadline in (NOW + 0.5, NOW - 1):
        for wall_time, shown in ((300, "300 s"), (300.0, "300 s"), (2.5, "2.5 s")):
            reason = verify._stop_reason(died, wall_deadline, wall_time, "第 3 个代码单元：")
            assert "超过时间限制" in reason and reason.endswith(shown) and "os._exit" not in reason


# --------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------

def test_a_message_is_cut_at_the_limit_with_a_note():
    limit = verify.MAX_MESSAGE
    short = "错" * (limit - 1)
    assert verify._clip(short) == short
    assert verify._clip(short + "尾") == short + "尾（已截断）"  # that long: it may have been cut already
    for length in (limit + 1, 10 * limit):
        assert verify._clip("错" * (length - 1) + "尾") == "错" * limit + "（已截断）"
