"""Where the course's files are, and the student-facing modules loaded from them.

The MNIST loader lives in source/mlp_optimizers/utils.py and the visible tests in
public_tests.py, both shipped to students; the instructor tools import those same files
instead of keeping a copy.
"""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "mlp_optimizers"
SOURCE_DIR = ROOT / "source" / ASSIGNMENT
RELEASE_DIR = ROOT / "release" / ASSIGNMENT
DATA_DIR = ROOT / "data" / "mnist"


def load_module(filename):
    """A student-facing module of source/mlp_optimizers/ loaded from its file: "utils.py"
    (load_mnist, plotting helpers) or "public_tests.py" (the visible tests)."""
    spec = importlib.util.spec_from_file_location(f"{ASSIGNMENT}_{Path(filename).stem}", SOURCE_DIR / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_utils():
    """The module source/mlp_optimizers/utils.py (load_mnist, plotting helpers)."""
    return load_module("utils.py")


def load_data(one_hot_label=True, dtype=None):
    """MNIST from the repository's data/mnist: ((x_train, y_train), (x_test, y_test))."""
    import numpy as np
    return load_utils().load_mnist(path=DATA_DIR, one_hot_label=one_hot_label,
                                   dtype=dtype or np.float32)
