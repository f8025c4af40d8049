"""A failing hidden check shows its message, and nothing of the checks' code, in the
traceback that the notebook (and so nbgrader's feedback) displays."""
import re

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

WRONG_ADAM = """
import numpy as np
from autograder.reference import Adam as _Adam

class Adam(_Adam):
    def update(self, params, grads):
        self.t = 0          # t never counts past 1
        super().update(params, grads)
"""


def files_shown(text):
    """The files of the frames a displayed traceback shows (a notebook cell's are "Cell In[n]")."""
    return re.findall(r"^File (.+?):\d+", text, re.MULTILINE)


@pytest.fixture(scope="module")
def shell():
    return InteractiveShell.instance(colors="nocolor")


def test_failure_traceback_shows_the_message_but_not_the_checks_code(shell):
    shell.run_cell(WRONG_ADAM)
    with capture_output() as shown:
        result = shell.run_cell("from autograder import checks\nchecks.check_adam(globals())")
    assert isinstance(result.error_in_exec, AssertionError)
    text = shown.stdout + shown.stderr
    assert "Adam.t 应为 2" in text
    assert "<隐藏测试>" in text
    assert files_shown(text) == ["<隐藏测试>"], text
    for leak in ("_run_public_check", "check_part", "reference", "def ", "site-packages"):
        assert leak not in text, leak


def test_passing_check_shows_nothing(shell):
    shell.run_cell("from autograder.reference import Affine")
    with capture_output() as shown:
        result = shell.run_cell("from autograder import checks\nchecks.check_affine(globals())")
    assert result.success
    assert shown.stdout == "" and shown.stderr == ""


def test_an_error_in_the_students_code_shows_the_students_frames_only(shell):
    shell.run_cell("""
from autograder.reference import LeakyRelu as _LeakyRelu

class LeakyRelu(_LeakyRelu):
    def backward(self, dout):
        raise NotImplementedError('student stub')
""")
    with capture_output() as shown:
        result = shell.run_cell("from autograder import checks\nchecks.check_leaky_relu(globals())")
    assert isinstance(result.error_in_exec, AssertionError)
    assert isinstance(result.error_in_exec.__cause__, NotImplementedError)
    text = shown.stdout + shown.stderr
    assert "student stub" in text and "def backward" in text
    assert files_shown(text) == ["<隐藏测试>"], text
    for leak in ("_run_public_check", "check_part", "site-packages"):
        assert leak not in text, leak
