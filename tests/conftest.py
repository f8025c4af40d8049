"""Shared fixtures."""
import pytest

from autograder.course import load_data


@pytest.fixture(scope="session")
def mnist():
    """((x_train, y_train), (x_test, y_test)) from the repository's data/mnist, one-hot labels."""
    return load_data(one_hot_label=True)


@pytest.fixture(scope="session", autouse=True)
def fresh_reference_records():
    """The reference's records the checks cache, emptied once the tests are collected: collecting
    runs some checks (the parametrized cases), and a record cached then must not stand in for the
    code a test session runs (`make mutation` forks each mutant's session from a process that has
    collected the tests with the original code: docs/mutation.md)."""
    from autograder.checks.scenarios import reference_record
    from autograder.verify import _output_only_release_cells

    reference_record.cache_clear()
    _output_only_release_cells.cache_clear()
