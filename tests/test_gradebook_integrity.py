"""The gradebook across runs of `grade`, as a hostile student would try it: real nbgrader,
real sandboxes, real notebooks.

Run 1 grades four students with the reference solution; the teacher then grades Li_Wei's
written answers by hand (run 2 then makes Li Wei's feedback page again: it shows the teacher's
scores and comments). Run 2 brings, besides Li Wei's unchanged notebook:
  - newcomers whose raw ids clean to Li Wei's id ('Li_Wei', and the case-only 'li_wei',
    whose notebook nbgrader cannot autograde): they must not take Li Wei's id, hand grades
    or feedback page;
  - resubmissions that nbgrader cannot autograde (a test cell's metadata forged, a lone
    surrogate in a cell): the earlier 100 must not stay anywhere, and the submission is not
    graded again until it changes.
A separate batch over a tiny time budget checks that a submission whose grading takes too
long gets 0 with the reason and that the batch finishes.
"""
import csv
import hashlib
import json
import os
import subprocess
import sys
import time
import zipfile

import nbformat
import psutil
import pytest

from autograder.course import ASSIGNMENT, RELEASE_DIR
from autograder.examples import cell_by_grade_id, source_notebook
from autograder.parts import TEST_CELLS

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
TRAINING = ("run(", "plot_", "path_optimizers", "best =")
OPTIONS = ["--workers", 2, "--cell-timeout", 20, "--wall-time", 300]
UNGRADABLE = "这份笔记本无法自动评分"


def without_training(notebook):
    notebook.cells = [c for c in notebook.cells if c.cell_type != "code" or c.metadata.get("nbgrader")
                      or not c.source.lstrip().startswith(TRAINING)]
    return notebook


def reference():
    return nbformat.writes(without_training(source_notebook())).encode()


def forged_metadata():
    """The reference with a test cell's metadata forged: a locked solution cell."""
    notebook = without_training(source_notebook())
    cell = cell_by_grade_id(notebook, "test_adam")
    cell.metadata["nbgrader"].update(solution=True, locked=True)
    return nbformat.writes(notebook).encode()


def lone_surrogate():
    """The reference with a lone surrogate (\\ud800, as JSON allows) in a markdown cell."""
    text = nbformat.writes(without_training(source_notebook()))
    marker = "SURROGATE-HERE"
    notebook = json.loads(text)
    notebook["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": marker})
    return json.dumps(notebook).replace(marker, "\\ud800 x").encode()


def blank():
    return (RELEASE_DIR / NOTEBOOK).read_bytes()


def zip_of(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def run_grade(archive, course, *options):
    result = subprocess.run([sys.executable, "-m", "autograder.grade", str(archive), "--course", str(course),
                             *map(str, options)], capture_output=True, text=True, timeout=1200)
    print(result.stdout[-5000:], result.stderr[-3000:])
    assert result.returncode == 0, result.stderr
    return result


def read_grades(course):
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def exported(course):
    """{student: score} of nbgrader's own export (autograded and hand-graded cells)."""
    with open(course / "grades_nbgrader.csv", newline="") as f:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}


def feedback(course, student):
    return (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")


def own_id(raw):
    """What the design gives a newcomer whose clean id is taken: clean id, '-', 8 hex digits
    of the SHA-256 of its raw id."""
    return raw.replace(" ", "_") + "-" + hashlib.sha256(raw.encode()).hexdigest()[:8]


def hand_grade(course, student, points):
    """The teacher's grades of the written answers, and a comment, as formgrader stores them."""
    from nbgrader.api import Gradebook
    from autograder.nbgrader_adapter import Course, hand_graded

    written = hand_graded(course)
    with Gradebook(Course(course).db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        for grade in notebook.grades:
            if grade.name in written:
                grade.manual_score = points[grade.name]
        for comment in notebook.comments:
            comment.manual_comment = f"comment for {student}"
        gradebook.db.commit()


def gradebook_view(course):
    """{student: (autograded total, hand-graded total, comments)} from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry
    from autograder.nbgrader_adapter import Course

    found = {}
    with Gradebook(Course(course).db_url) as gradebook:
        for student in gradebook.students:
            try:
                notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student.id)
            except MissingEntry:
                continue
            auto = sum(float(g.score or 0) for g in notebook.grades if g.name in TEST_CELLS)
            hand = sum(float(g.score or 0) for g in notebook.grades if g.name not in TEST_CELLS)
            comments = sorted(c.manual_comment for c in notebook.comments if c.manual_comment)
            found[student.id] = (auto, hand, comments)
    return found


@pytest.fixture(scope="module")
def semester(tmp_path_factory):
    from autograder.nbgrader_adapter import hand_graded

    folder = tmp_path_factory.mktemp("semester")
    course = folder / "course"
    first = {f"Li Wei/{NOTEBOOK}": reference(), f"grace_1002_{NOTEBOOK}": reference(),
             f"heidi_1003_{NOTEBOOK}": reference()}
    run1 = run_grade(zip_of(folder / "run1.zip", first), course, *OPTIONS)
    points = {grade_id: max_points - 1 for grade_id, max_points in hand_graded(course).items()}
    hand_grade(course, "Li_Wei", points)
    before = {"page": feedback(course, "Li_Wei"), "gradebook": gradebook_view(course),
              "pages": {s: feedback(course, s) for s in ("grace", "heidi")}}
    second = {f"Li Wei/{NOTEBOOK}": reference(),          # unchanged
              f"li_wei/{NOTEBOOK}": forged_metadata(),    # a newcomer listed first, nbgrader fails on it
              f"Li_Wei/{NOTEBOOK}": blank(),              # a newcomer whose raw id is Li Wei's id
              f"grace_1002_{NOTEBOOK}": forged_metadata(),
              f"heidi_1003_{NOTEBOOK}": lone_surrogate()}
    archive = zip_of(folder / "run2.zip", second)
    run2 = run_grade(archive, course, *OPTIONS)
    after = {"grades": read_grades(course), "gradebook": gradebook_view(course), "exported": exported(course),
             "page": feedback(course, "Li_Wei")}
    run3 = run_grade(archive, course, *OPTIONS)
    after["page_after_run3"] = feedback(course, "Li_Wei")
    return {"course": course, "run1": run1, "run2": run2, "run3": run3, "before": before, "after": after,
            "hand": sum(points.values())}


@pytest.mark.slow
def test_an_id_stays_with_its_owner_and_newcomers_get_their_own(semester):
    course, after, before = semester["course"], semester["after"], semester["before"]
    newcomers = {own_id("Li_Wei"), own_id("li_wei")}
    assert set(after["grades"]) == {"Li_Wei", "grace", "heidi"} | newcomers
    # Li Wei keeps the id, the hand grades, the comments and the feedback page
    assert after["gradebook"]["Li_Wei"] == before["gradebook"]["Li_Wei"]
    auto, hand, comments = after["gradebook"]["Li_Wei"]
    assert (auto, hand) == (100.0, semester["hand"])
    assert comments and set(comments) == {"comment for Li_Wei"}       # the teacher's comments, all still there
    # Li Wei's page, made again from the gradebook once the teacher had graded: the teacher's
    # scores and comment, counted in its total; made once, not again on the next run
    hand = semester["hand"]
    page = after["page"]
    assert page != before["page"] and "comment for Li_Wei" in page and "comment for Li_Wei" not in before["page"]
    assert f"(Score: {100 + hand:.1f} / 112.0)" in page and "(Score: 100.0 / 100.0)" in before["page"]
    assert "总分：100 / 100" in page
    assert after["page_after_run3"] == page
    assert "1 feedback page(s) made again" in semester["run2"].stdout and "made again" not in semester["run3"].stdout
    assert float(after["grades"]["Li_Wei"]["total"]) == 100
    # the newcomers: their own rows, nothing of Li Wei's, and a note that says why
    for student in newcomers:
        assert after["gradebook"][student] == (0.0, 0.0, []), student
        assert after["exported"][student] == 0, student
        assert float(after["grades"][student]["total"]) == 0, student
        assert "与其他学生重复" in after["grades"][student]["reasons"], student
        assert "总分：0 / 100" in feedback(course, student)
    assert after["exported"]["Li_Wei"] == 100 + semester["hand"]
    owners = json.loads((course / "student_ids.json").read_text())["owners"]
    assert owners == {"Li Wei": "Li_Wei", "Li_Wei": own_id("Li_Wei"), "li_wei": own_id("li_wei"),
                      "grace": "grace", "heidi": "heidi"}


@pytest.mark.slow
def test_a_resubmission_that_cannot_be_graded_replaces_the_old_scores_everywhere(semester):
    course, after = semester["course"], semester["after"]
    for student in ("grace", "heidi"):                                 # run 1 gave them 100
        assert semester["before"]["gradebook"][student][0] == 100
        assert "总分：100 / 100" in semester["before"]["pages"][student]
    for student in ("grace", "heidi", own_id("li_wei")):
        row = after["grades"][student]
        assert {g: float(row[g]) for g in TEST_CELLS} == {g: 0.0 for g in TEST_CELLS}, student
        assert UNGRADABLE in row["reasons"], student
        assert after["gradebook"][student][0] == 0, student
        assert after["exported"][student] == 0, student
        page = feedback(course, student)
        assert UNGRADABLE in page and "总分：0 / 100" in page and "总分：100" not in page, student
        assert not (course / "autograded" / student / ASSIGNMENT / NOTEBOOK).exists(), student
    report = (course / "report.html").read_text(encoding="utf-8")
    assert report.count(UNGRADABLE) >= 3


@pytest.mark.slow
def test_an_ungradable_submission_is_not_graded_again_until_it_changes(semester):
    run3 = semester["run3"]
    assert "5 submissions in" in run3.stdout and "0 to grade" in run3.stdout, run3.stdout
    assert read_grades(semester["course"]) == semester["after"]["grades"]


@pytest.mark.slow
def test_a_submission_over_the_time_budget_gets_zero_and_the_batch_finishes(tmp_path):
    course = tmp_path / "course"
    archive = zip_of(tmp_path / "in.zip", {f"ann_1_{NOTEBOOK}": reference(), f"ben_2_{NOTEBOOK}": reference()})
    started = time.monotonic()
    # 1.5 s for a whole submission: less than any grading takes (a worker's imports alone)
    run = run_grade(archive, course, "--workers", 2, "--wall-time", 1, "--grader-time", 0.5)
    seconds = time.monotonic() - started
    grades = read_grades(course)
    assert set(grades) == {"ann", "ben"}
    for student, row in grades.items():
        assert float(row["total"]) == 0 and "评分超过了时间上限" in row["reasons"], student
        assert "评分超过了时间上限" in feedback(course, student)
    assert (course / "report.html").exists() and seconds < 600
    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(course) in " ".join(p.info["cmdline"] or []) and p.pid != os.getpid()]
    again = run_grade(archive, course, "--workers", 2, "--wall-time", 1, "--grader-time", 0.5)
    assert "0 to grade" in again.stdout
    print(run.stdout[-2000:])
