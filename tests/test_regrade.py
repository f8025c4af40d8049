"""A submission is graded again when anything its grade depends on changed, not only its own
bytes: real `grade` runs on two unchanged submissions (the reference and an Adam bug).

Run 1 grades them; run 2 (nothing changed) grades nothing; run 3 after a change to the
course's nbgrader_config.py grades both again; run 4 runs a copy of the grading code whose
Adam hyper-parameters of the hidden check differ (autograder/parts.py) and grades both again.
"""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import ASSIGNMENT, ROOT
from autograder.examples import source_notebook, with_entry
from autograder.parts import TEST_CELLS
from test_grade_cli import without_training

pytestmark = pytest.mark.slow

OPTIONS = ["--workers", "2", "--cell-timeout", "20", "--wall-time", "300"]


def run_grade(submitted, course, code_root=ROOT):
    """`grade` with the autograder package of code_root; returns its standard output."""
    env = dict(os.environ, PYTHONPATH=str(code_root))
    result = subprocess.run([sys.executable, "-m", "autograder.grade", str(submitted), "--course", str(course),
                             *OPTIONS], capture_output=True, text=True, timeout=1200, cwd=code_root, env=env)
    print(result.stdout[-3000:], result.stderr[-3000:])
    assert result.returncode == 0, result.stderr
    return result.stdout


def code_copy(folder):
    """A copy of the project's grading code at folder (the data linked), whose hidden check of
    Adam uses another non-default learning rate."""
    shutil.copytree(ROOT / "autograder", folder / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "source", folder / "source", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    (folder / "data").symlink_to(ROOT / "data", target_is_directory=True)
    (folder / "release").symlink_to(ROOT / "release", target_is_directory=True)
    parts = folder / "autograder" / "parts.py"
    text = parts.read_text()
    old = '_ADAM_LIKE = {"learning_rate": 0.05,'
    assert text.count(old) == 1
    parts.write_text(text.replace(old, '_ADAM_LIKE = {"learning_rate": 0.04,'))
    return folder


def test_a_change_to_what_grades_depend_on_grades_every_submission_again(tmp_path):
    submitted = tmp_path / "submitted"
    for student, notebook in {"alice": source_notebook(), "bob": with_entry("adam_no_bias_correction")}.items():
        path = submitted / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(without_training(notebook), path)
    course = tmp_path / "course"
    assert "2 to grade, 0 unchanged" in run_grade(submitted, course)
    assert "0 to grade, 2 unchanged" in run_grade(submitted, course)
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "\n# the instructor changed the course's configuration\n")
    assert "2 to grade, 0 unchanged" in run_grade(submitted, course)
    out = run_grade(submitted, course, code_copy(tmp_path / "code"))
    assert "2 to grade, 0 unchanged" in out
    # the copy's checks graded them: bob still loses Adam's points, alice still has full marks
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        totals = {row["student"]: float(row["total"]) for row in csv.DictReader(f)}
    assert totals == {"alice": 100.0, "bob": 100.0 - TEST_CELLS["test_adam"]}
