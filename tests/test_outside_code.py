"""Code from textbooks, course notes and papers (tests/outside_code: Deep Learning from
Scratch, d2l, the CS231n notes, the AdaBelief authors' package), each behind a thin adapter
with its arithmetic unchanged, earns what the course's formulas give it: an equivalent full
points, a published variant its named share, a deviation 0 with its name; the visible test
says the same.

In this process for several seeds (the hidden checks, the visible tests), and end to end:
one notebook per source, built from the source notebook with each of its optimizer cells
replaced by the source's adapter, graded in one batch by `grade` (real nbgrader, real
sandboxes): grades.csv, nbgrader's gradebook (its export), the autograded notebooks'
outputs and the feedback pages carry the same scores and names.
"""
import csv
import os
import subprocess
import sys
import time
import zipfile
from collections import defaultdict

import nbformat
import numpy as np
import pytest

from autograder import catalogue, checks
from autograder.course import ASSIGNMENT, load_module
from autograder.course_secret import student_seed
from autograder.examples import source_notebook
from autograder.nbgrader_adapter import autograded_outputs
from autograder.parts import TEST_CELLS, by_name
from outside_code import SOURCES, adapters

ADAPTERS = adapters()
SEEDS = [None, *(student_seed(bytes(range(32)), student) for student in ("alice", "王小明"))]
TRAINING = ("run(", "plot_", "path_optimizers", "best =")


def student(source):
    """The source's student id in the batch (an LMS file name ends the id at its first "_")."""
    return source.replace("_", "")


def adapter_id(adapter):
    return f"{adapter[0]}-{adapter[1]}"


def hidden(text, name, seed):
    """(points earned, named catalogue id) of the hidden check of the cell grading name, on
    the reference's namespace with the adapter's class in place of name."""
    ns = catalogue.namespace()
    exec(compile(text, "<adapter>", "exec"), ns)
    part = by_name(name)
    try:
        with np.errstate(all="ignore"):
            checks.check_part(ns, part, seed)
    except checks.CheckFailure as failure:
        return part.points * failure.credit, failure.mistake
    return float(part.points), None


def test_the_corpus_covers_the_sources_and_every_kind_of_outcome():
    assert {source for source, *_ in ADAPTERS} == set(SOURCES)
    outcomes = {expected[1] is None and expected[0] > 0 for *_, expected in ADAPTERS}
    assert outcomes == {True, False}                                    # equivalents and others
    variants = {expected[1] for *_, expected in ADAPTERS if expected[1] and 0 < expected[0]}
    assert variants and all(catalogue.get(v).variant for v in variants)
    assert any("+" in (expected[1] or "") for *_, expected in ADAPTERS)   # a pair named together


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("adapter", ADAPTERS, ids=adapter_id)
def test_an_adapter_earns_its_score_and_name_for_any_seed(adapter, seed):
    source, name, text, (points, named, _) = adapter
    assert hidden(text, name, seed) == (points, named)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=adapter_id)
def test_the_visible_test_says_the_same(adapter):
    source, name, text, (points, named, visible) = adapter
    public_tests = load_module("public_tests.py")
    ns = {"np": np}
    exec(compile(text, "<adapter>", "exec"), ns)
    test = getattr(public_tests, "test_" + name.lower())
    if visible is None:
        with np.errstate(all="ignore"):
            test(ns[name])
        return
    with pytest.raises(AssertionError) as failure, np.errstate(all="ignore"):
        test(ns[name])
    message = str(failure.value)
    assert visible in message
    assert "实际为 None" not in message and "是 None" not in message   # a missing attribute is not None
    if named and catalogue.get(named.split("+")[0]).variant and "+" not in named:
        assert "已发表的写法" in message


# --------------------------------------------------------------------------------------
# End to end through `grade`
# --------------------------------------------------------------------------------------

def source_submission(source):
    """The source notebook, training cells removed, each optimizer cell holding source's adapter."""
    notebook = source_notebook()
    notebook.cells = [c for c in notebook.cells if c.cell_type != "code" or c.metadata.get("nbgrader")
                      or not c.source.lstrip().startswith(TRAINING)]
    for adapter_source, name, text, _ in ADAPTERS:
        if adapter_source == source:
            notebook = catalogue.with_definition(notebook, name, text)
    return notebook


def expected_scores(source):
    """{grade_id: points} and {grade_id: catalogue id} a source's notebook must get."""
    scores = {g: float(points) for g, points in TEST_CELLS.items()}
    named = {}
    for adapter_source, name, _, (points, entry, _) in ADAPTERS:
        if adapter_source == source:
            scores[by_name(name).grade_id] = points
            if entry:
                named[by_name(name).grade_id] = entry
    return scores, named


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(course, seconds) of one `grade` run on a zip holding one notebook per source."""
    folder = tmp_path_factory.mktemp("outside")
    archive = folder / "downloads.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for source in SOURCES:
            z.writestr(f"{student(source)}_1_{ASSIGNMENT}.ipynb", nbformat.writes(source_submission(source)))
    course = folder / "course"
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "autograder.grade", str(archive), "--course", str(course),
                             "--workers", "2"], cwd=folder, capture_output=True, text=True, timeout=1200,
                            env=dict(os.environ))
    seconds = time.monotonic() - start
    print(result.stdout[-4000:], result.stderr[-3000:])
    assert result.returncode == 0, result.stderr[-3000:]
    return course, seconds


@pytest.mark.slow
def test_grade_gives_each_source_its_scores_in_every_record(graded):
    course, seconds = graded
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    with open(course / "grades_nbgrader.csv", newline="") as f:
        exported = defaultdict(float)
        for row in csv.DictReader(f):
            exported[row["student_id"]] += float(row["score"])
    assert set(rows) == {student(source) for source in SOURCES}
    for source in SOURCES:
        scores, named = expected_scores(source)
        row, name = rows[student(source)], student(source)
        assert {g: float(row[g]) for g in TEST_CELLS} == scores, source
        assert float(row["total"]) == sum(scores.values()) == exported[name], source
        assert row["mistakes"] == " ".join(f"{g}:{named[g]}" for g in TEST_CELLS if g in named), source
        outputs = autograded_outputs(course / "autograded" / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        page = (course / "feedback" / name / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
        for grade_id, entry_id in named.items():
            entry = catalogue.get(entry_id.split("+")[0])
            text = "".join(outputs[grade_id])
            assert f"「{entry.title}" in text and f"「{entry.title}" in page, (source, grade_id)
            if 0 < scores[grade_id] < TEST_CELLS[grade_id]:
                assert outputs[grade_id][-1] == f"{scores[grade_id]:g}"        # the number nbgrader reads
                assert "已发表的写法" in text
    report = (course / "report.html").read_text(encoding="utf-8")
    for *_, (points, entry_id, _) in ADAPTERS:
        if entry_id:
            assert entry_id in report
    assert "published variant" in report
    print(f"grade, {len(SOURCES)} sources: {seconds:.0f} s")
