"""Shared fixtures."""
import pytest

from autograder.course import load_data


@pytest.fixture(scope="session")
def mnist():
    """((x_train, y_train), (x_test, y_test)) from the repository's data/mnist, one-hot labels."""
    return load_data(one_hot_label=True)
