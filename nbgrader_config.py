"""nbgrader configuration of the course. The repository root is the course directory:
source/mlp_optimizers/ -> release/mlp_optimizers/ (generate_assignment), and
submitted/<student>/mlp_optimizers/ -> autograded/ -> feedback/ (autograde, generate_feedback)."""
import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "mlp_optimizers"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# What replaces each solution in the release: a hint in Chinese and a stub that fails loudly.
c.ClearSolutions.code_stub = {"python": "# 请在这里写你的代码\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "请在这里写你的回答"

# Files never copied between the course folders (the decoded MNIST cache, editor files).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.npz",
                            ".pytest_cache"]

# Grading: each cell may take up to 60 s (the training cells run a short schedule under
# NBGRADER_EXECUTION; the slowest hidden test takes a few seconds); a submission that
# deleted or edited a test cell gets the original cell back.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.OverwriteCells.add_missing_cells = True
c.ExecutePreprocessor.timeout = 60
