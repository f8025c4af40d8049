"""Former home of the nbgrader course wrapper and the parts table; both live elsewhere now
(autograder.nbgrader_adapter.Course, autograder.parts.TEST_CELLS). Kept as names only."""
from autograder.nbgrader_adapter import Course, NbgraderError  # noqa: F401
from autograder.parts import TEST_CELLS  # noqa: F401
