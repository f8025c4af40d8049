"""Verified grading (autograder.verify) with the real sandbox on real notebooks: the example
submissions of autograder/examples.py, the untouched release, hostile submissions that
defeat grading inside the student's own kernel, broken files; and the sandbox itself
(what the student's code can reach, the weak sandbox when bubblewrap is unavailable and
it is allowed). tests/test_sandbox_observation.py covers submissions that falsify the
student server's answers, and the sandbox's limits."""
import copy
import hashlib
import logging
import socket

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell

from autograder import catalogue
from autograder.catalogue import with_definition
from autograder.course import ASSIGNMENT, RELEASE_DIR, ROOT
from autograder.examples import all_examples, cell_by_grade_id, source_notebook
from autograder.parts import PARTS, TEST_CELLS
from autograder.sandbox import bwrap, proxy
from autograder.sandbox.interface import NotTransferable
from autograder.sandbox.proxy import Sandbox
from autograder.verify import verify_notebook

pytestmark = pytest.mark.slow

SUBMISSIONS, LOSING = all_examples()
OPTIMIZER_CELLS = {p.grade_id for p in PARTS.values() if p.kind == "optimizer"}
FULL = {name: float(points) for name, points in TEST_CELLS.items()}


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lost(result):
    return {name for name, points in TEST_CELLS.items() if result.scores[name] < points}


def assert_clean_messages(result):
    """Messages name no file of the grader and show no code of the reference."""
    for message in [*result.messages.values(), result.reason]:
        assert str(ROOT) not in message and "autograder/" not in message
        assert "def " not in message and "self.db =" not in message


def write(folder, name, notebook):
    path = folder / f"{name}.ipynb"
    if isinstance(notebook, bytes):
        path.write_bytes(notebook)
    else:
        nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """name -> VerifiedResult of every example submission; the files are left as they were."""
    folder = tmp_path_factory.mktemp("examples")
    results = {}
    for name, notebook in SUBMISSIONS.items():
        path = write(folder, name, notebook)
        before = digest(path)
        results[name] = verify_notebook(path)
        assert digest(path) == before, f"verification changed {name}"
    return results


def test_reference_solution_gets_full_marks(examples):
    result = examples["reference_solution"]
    assert result.scores == FULL and result.total == 100
    assert result.messages == {name: "" for name in TEST_CELLS} and result.mistakes == {}
    assert result.reason == "" and result.sandbox == "bwrap"


@pytest.mark.parametrize("student", [s for s in SUBMISSIONS if s != "reference_solution"])
def test_points_are_lost_exactly_in_the_right_cells(examples, student):
    result = examples[student]
    assert lost(result) == LOSING[student]
    for name in LOSING[student]:
        assert result.scores[name] == 0.0 and result.messages[name]
    assert set(result.mistakes) <= LOSING[student]  # a mistake is named only where points are lost
    assert result.reason == ""
    assert_clean_messages(result)


def test_untouched_release_gets_zero():
    result = verify_notebook(RELEASE_DIR / f"{ASSIGNMENT}.ipynb")
    assert result.scores == {name: 0.0 for name in TEST_CELLS}
    assert all(result.messages.values()) and result.reason == ""
    assert_clean_messages(result)


# --------------------------------------------------------------------------------------
# Hostile submissions: each must score 0 exactly where its code is wrong
# --------------------------------------------------------------------------------------

def inserted_after(grade_id, source, notebook=None):
    """A copy of notebook (default: the source) with a new code cell after cell grade_id."""
    notebook = copy.deepcopy(notebook or source_notebook())
    position = notebook.cells.index(cell_by_grade_id(notebook, grade_id))
    notebook.cells.insert(position + 1, new_code_cell(source))
    return notebook


def with_mistakes(*entry_ids, notebook=None):
    """notebook (default: the source) with the catalogue's mistakes in place of its solutions."""
    return catalogue.notebook_with(notebook or source_notebook(), *(catalogue.get(i) for i in entry_ids))


def with_changed(entry_id, old, new, notebook=None):
    """notebook (default: the source) whose cell of the entry's part holds the entry's source
    with old replaced by new."""
    entry = catalogue.get(entry_id)
    assert entry.source.count(old) == 1
    return with_definition(notebook or source_notebook(), entry.name, entry.source.replace(old, new))


WRONG_AFFINE, WRONG_ADAM, WRONG_NESTEROV = "affine_db_axis1", "adam_no_bias_correction", "nesterov_as_momentum"
REFERENCE_FILE = ROOT / "autograder" / "reference" / "layers.py"

FAKE_AUTOGRADER = """
import sys, types
fake = types.ModuleType("autograder")
fake.checks = types.SimpleNamespace(**{f"check_{part}": (lambda ns: None) for part in
    ["initialize_parameters", "leaky_relu", "affine", "network", "adagrad", "rmsprop",
     "momentum", "nesterov", "adam", "adabelief"]})
sys.modules["autograder"] = fake
sys.modules["autograder.checks"] = fake.checks
"""
BLANKING_TRANSFORMER = """
def _blank(lines):
    text = "".join(lines)
    return [] if "HIDDEN TESTS" in text or "public_tests." in text else lines
get_ipython().input_transformers_cleanup.append(_blank)
"""
STEAL_REFERENCE = f"""
try:
    from autograder.reference import Affine as _Affine
except Exception:
    try:
        exec(open({str(REFERENCE_FILE)!r}).read())
    except Exception:
        pass
class Affine:"""

# name -> (notebook, cells that must lose points, text the reason must hold or "")
HOSTILE = {
    "allclose_always_true": (
        inserted_after("initialize_parameters",
                       "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                       "np.testing.assert_allclose = lambda *a, **k: None\n"
                       "np.array_equal = lambda *a, **k: True",
                       with_mistakes(WRONG_AFFINE)),
        {"test_affine", "test_network"}, ""),
    "fake_autograder_module": (
        inserted_after("initialize_parameters", FAKE_AUTOGRADER, with_mistakes(WRONG_ADAM)),
        {"test_adam"}, ""),
    "input_transformer_blanks_tests": (
        inserted_after("initialize_parameters", BLANKING_TRANSFORMER, with_mistakes(WRONG_NESTEROV)),
        {"test_nesterov"}, ""),
    "reads_the_reference": (
        with_changed(WRONG_AFFINE, "class Affine:", STEAL_REFERENCE),
        {"test_affine", "test_network"}, ""),
    "infinite_loop_in_a_cell": (inserted_after("affine", "while True:\n    pass"), set(), ""),
    "infinite_loop_in_a_method": (
        with_definition(source_notebook(), "Momentum", catalogue.reference_source("Momentum").replace(
            "params[key] -= self.v[key]", "params[key] -= self.v[key]\n            while True: pass")),
        {"test_momentum"}, ""),
    "loop_that_ignores_the_alarm": (
        inserted_after("test_network", "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                                       "while True:\n    pass"),
        OPTIMIZER_CELLS, "时限"),
    "memory_bomb": (
        inserted_after("affine", "huge = bytearray(64 * 1024 ** 3)\n"
                                 "def grow():\n    chunks = []\n    while True:\n"
                                 "        chunks.append(bytearray(100 * 1024 ** 2))\ngrow()"),
        set(), ""),
    "sys_exit": (inserted_after("affine", "import sys\nsys.exit(0)"), set(), ""),
    "os_exit": (inserted_after("test_network", "import os\nos._exit(0)"), OPTIMIZER_CELLS, "os._exit"),
    "huge_print": (
        inserted_after("affine", "print('x' * (300 * 1024 ** 2))\nimport os, sys\n"
                                 "os.write(1, b'y' * (50 * 1024 ** 2))\nsys.stderr.write('z' * 10 ** 7)"),
        set(), ""),
    "writes_into_the_protocol": (
        inserted_after("test_network", "import os\nfor fd in range(3, 10):\n    try:\n"
                                       "        os.write(fd, b'\\xff' * 64)\n    except OSError:\n        pass"),
        OPTIMIZER_CELLS, "无效的消息"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_submission_scores_zero_exactly_where_it_is_wrong(tmp_path, case):
    notebook, losing, reason = HOSTILE[case]
    result = verify_notebook(write(tmp_path, case, notebook), cell_timeout=3, check_timeout=5)
    assert lost(result) == losing, result.messages
    assert all(result.scores[name] == 0.0 for name in losing)
    assert set(result.mistakes) <= losing
    assert reason in result.reason if reason else result.reason == ""
    assert_clean_messages(result)


@pytest.mark.parametrize("content, reason", [
    (b"\x00\x01 not json at all", "不是有效的 JSON"),
    (b'{"cells": 5, "nbformat": 4}', "不是 Jupyter 笔记本"),
    (b"[1, 2, 3]", "不是 Jupyter 笔记本"),
])
def test_a_file_that_is_no_notebook_scores_zero(tmp_path, content, reason):
    result = verify_notebook(write(tmp_path, "broken", content))
    assert result.scores == {name: 0.0 for name in TEST_CELLS}
    assert reason in result.reason and all(reason in m for m in result.messages.values())


def test_stripped_metadata_changes_nothing(tmp_path):
    """Test cells found by content alone: the hidden-test code never runs in the sandbox,
    and each check still runs at its cell's position."""
    notebook = with_mistakes(WRONG_ADAM)
    for cell in notebook.cells:
        cell.metadata.pop("nbgrader", None)
    result = verify_notebook(write(tmp_path, "stripped", notebook))
    assert lost(result) == {"test_adam"} and result.reason == ""
    assert result.mistakes == {"test_adam": WRONG_ADAM}
    assert f"「{catalogue.get(WRONG_ADAM).title}」" in result.messages["test_adam"]


# --------------------------------------------------------------------------------------
# The sandbox itself
# --------------------------------------------------------------------------------------

PROBE = f"""
import os, socket
probe = {{}}
def attempt(name, action):
    try:
        action()
        probe[name] = "ok"
    except BaseException as e:
        probe[name] = type(e).__name__
attempt("read_reference", lambda: open({str(REFERENCE_FILE)!r}).read())
attempt("import_autograder", lambda: __import__("autograder.reference"))
attempt("write_usr", lambda: open("/usr/verify-probe", "w"))
def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=2)
    s.close()
attempt("connect", connect)
probe["uid"] = os.getuid()
probe["visible"] = [p for p in {[str(ROOT / d) for d in ("autograder", "source", "tests", "release", ".git")]!r}
                    if os.path.exists(p)]
probe["cwd"] = os.getcwd()
probe["files"] = sorted(os.listdir("."))
"""


def test_the_student_code_cannot_reach_the_grader_or_the_network():
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    try:
        with Sandbox(mode="bwrap") as sandbox:
            port = listener.getsockname()[1]
            error, _ = sandbox.run_cell(PROBE.replace("PORT", str(port)), timeout=30)
            assert error is None, error
            remote = sandbox.remote()
            probe = remote.fetch(remote.lookup("probe"))
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing ever arrived
    finally:
        listener.close()
    assert probe["read_reference"] in ("FileNotFoundError", "PermissionError")
    assert probe["import_autograder"] == "ModuleNotFoundError"
    assert probe["write_usr"] in ("OSError", "PermissionError")
    assert probe["connect"] in ("ConnectionRefusedError", "OSError", "TimeoutError")
    assert probe["uid"] == 65534 and probe["visible"] == []
    assert probe["files"] == ["data", "public_tests.py", "utils.py"]


def test_a_reply_above_the_size_limit_is_refused_and_the_sandbox_goes_on():
    with Sandbox() as sandbox:
        assert sandbox.run_cell("import numpy as np\nbig = np.zeros(10_000_000)\nsmall = np.ones(3)", 30)[0] is None
        remote = sandbox.remote()
        with pytest.raises(NotTransferable):
            remote.fetch(remote.lookup("big"))  # 80 MB > wire.MAX_FRAME
        assert np.array_equal(remote.fetch(remote.lookup("small")), np.ones(3))


def test_weak_sandbox_when_forced(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "weak")
    with caplog.at_level(logging.WARNING, logger="autograder.sandbox.proxy"):
        result = verify_notebook(write(tmp_path, "wrong_adam", with_mistakes(WRONG_ADAM)))
    assert result.sandbox.startswith("weak: forced")
    assert lost(result) == {"test_adam"}
    assert "WITHOUT bubblewrap" in caplog.text


@pytest.mark.parametrize("breakage, why", [
    ("missing", "weak: bwrap not found"),
    ("failing", "weak: bwrap failed to start"),
])
def test_weak_sandbox_when_bwrap_is_missing_or_fails_and_it_is_allowed(monkeypatch, breakage, why):
    monkeypatch.delenv("AUTOGRADER_SANDBOX", raising=False)
    if breakage == "missing":
        monkeypatch.setattr(proxy.shutil, "which", lambda name: None)
    else:
        monkeypatch.setattr(bwrap, "command", lambda *a, **k: ["bwrap", "--no-such-option"])
    with Sandbox(allow_weak=True) as sandbox:
        assert sandbox.kind.startswith(why)
        assert sandbox.run_cell("x = 6 * 7", 30) == (None, False)
        remote = sandbox.remote()
        assert remote.fetch(remote.lookup("x")) == 42
