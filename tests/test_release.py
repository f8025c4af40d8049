"""The committed release/ is what nbgrader generates from source/ now, and holds nothing
a student must not see."""
import re

import pytest

from autograder.course import ASSIGNMENT, RELEASE_DIR
from autograder.nbgrader_adapter import Course

FORBIDDEN = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|(^|[^_a-zA-Z])(import|from) autograder",
                       re.MULTILINE)


def files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_committed_release_is_fresh(tmp_path):
    fresh = Course.scratch(tmp_path / "course").generate_release()
    committed, generated = files(RELEASE_DIR), files(fresh)
    assert sorted(committed) == sorted(generated), "run `make release` and commit release/"
    stale = [name for name in generated if committed[name] != generated[name]]
    assert not stale, f"release/ is stale ({', '.join(stale)}): run `make release` and commit it"


def test_release_holds_no_solution_hidden_test_or_autograder_import():
    assert (RELEASE_DIR / f"{ASSIGNMENT}.ipynb").is_file()
    for name, content in files(RELEASE_DIR).items():
        if name.endswith((".py", ".ipynb", ".md", ".txt")):
            text = content.decode("utf-8")
            assert not FORBIDDEN.search(text), f"{name} leaks instructor-only content"
            assert "autograder" not in text, name


def test_the_release_holds_a_stub_for_each_question_not_the_model_answer():
    import nbformat

    from autograder.course import SOURCE_DIR

    def answers(path):
        notebook = nbformat.read(path, as_version=4)
        return {c.metadata["nbgrader"]["grade_id"]: c.source for c in notebook.cells
                if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")}

    source, release = answers(SOURCE_DIR / f"{ASSIGNMENT}.ipynb"), answers(RELEASE_DIR / f"{ASSIGNMENT}.ipynb")
    assert set(source) == set(release) and len(source) == 4
    for grade_id, stub in release.items():
        assert stub == "请在这里写你的回答", grade_id
        assert source[grade_id] != stub
