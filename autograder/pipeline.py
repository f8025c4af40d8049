"""The nbgrader pipeline on a course directory: release, autograde, feedback, export, scores.

A Course wraps a course directory (a folder with nbgrader_config.py and
source/mlp_optimizers/) and runs the real nbgrader commands in it. Course.scratch()
makes such a folder from this repository, for the demo and the tests, so that their
gradebook and submissions never touch the repository itself.
"""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.course import ASSIGNMENT, DATA_DIR, ROOT

# grade_id -> points of the autograder test cells, in notebook order (DESIGN.md)
TEST_CELLS = {
    "test_initialize_parameters": 5, "test_leaky_relu": 10, "test_affine": 15, "test_network": 15,
    "test_adagrad": 8, "test_rmsprop": 8, "test_momentum": 8, "test_nesterov": 9,
    "test_adam": 11, "test_adabelief": 11,
}


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message holds its output."""


class Course:
    """A course directory: root/nbgrader_config.py, root/source/mlp_optimizers/, root/data/mnist."""

    def __init__(self, root):
        self.root = Path(root).resolve()

    @classmethod
    def scratch(cls, dest):
        """A fresh course directory at dest with this repository's config, source and data."""
        dest = Path(dest)
        if dest.exists():
            shutil.rmtree(dest)
        (dest / "source").mkdir(parents=True)
        shutil.copy2(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
        shutil.copytree(ROOT / "source" / ASSIGNMENT, dest / "source" / ASSIGNMENT,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.npz"))
        (dest / "data").mkdir()
        (dest / "data" / "mnist").symlink_to(DATA_DIR, target_is_directory=True)
        return cls(dest)

    # --- nbgrader commands --------------------------------------------------------

    def nbgrader(self, *args, check=True):
        """Runs `nbgrader <args>` in the course directory with this interpreter's bin/ first
        on PATH (nbgrader runs alembic through PATH). Returns the CompletedProcess."""
        env = dict(os.environ)
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env.setdefault("MPLBACKEND", "Agg")
        result = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args],
                                cwd=self.root, env=env, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise NbgraderError(f"nbgrader {' '.join(args)} failed ({result.returncode}):\n"
                                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return result

    def generate_release(self):
        self.nbgrader("generate_assignment", ASSIGNMENT, "--force")
        return self.root / "release" / ASSIGNMENT

    def autograde(self, student=None):
        args = ["autograde", ASSIGNMENT, "--force"]
        if student:
            args.append(f"--student={student}")
        return self.nbgrader(*args)

    def generate_feedback(self):
        self.nbgrader("generate_feedback", ASSIGNMENT, "--force")
        return self.root / "feedback"

    def export(self, path="grades.csv"):
        self.nbgrader("export", f"--to={path}")
        with open(self.root / path, newline="") as f:
            return list(csv.DictReader(f))

    # --- submissions and results --------------------------------------------------

    def submission_path(self, student):
        return self.root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

    def add_submission(self, student, notebook):
        """Writes notebook (an nbformat NotebookNode, or bytes for a raw file) as student's submission."""
        import nbformat
        path = self.submission_path(student)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(notebook, bytes):
            path.write_bytes(notebook)
        else:
            nbformat.write(notebook, path)
        return path

    def scores(self):
        """{student: {grade_id: score}} of the autograded test cells, from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            result = {}
            for student in gradebook.students:
                try:
                    notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student.id)
                except Exception:  # MissingEntry: not (yet) autograded
                    continue
                result[student.id] = {grade.name: grade.score for grade in notebook.grades
                                      if grade.name in TEST_CELLS}
            return result


def score_table(scores):
    """Plain-text table: one row per student, one column per test cell, and the total."""
    short = [name.replace("test_", "").replace("initialize_parameters", "init") for name in TEST_CELLS]
    header = f"{'student':<24}" + "".join(f"{s:>10}" for s in short) + f"{'total':>8}"
    lines = [header, f"{'(points)':<24}" + "".join(f"{p:>10}" for p in TEST_CELLS.values())
             + f"{sum(TEST_CELLS.values()):>8}"]
    for student, cells in sorted(scores.items()):
        row = [cells.get(name, 0.0) for name in TEST_CELLS]
        lines.append(f"{student:<24}" + "".join(f"{v:>10g}" for v in row) + f"{sum(row):>8g}")
    return "\n".join(lines)
