"""Grades into the LMS (autograder.lms_export) on a real course graded by `grade`: a zip of
LMS-named notebooks (alice: the reference solution, bob: an Adam mistake, carol: the
reference, not in the roster), real nbgrader gradebook, hand grades entered through nbgrader's
Gradebook API as formgrader stores them.

The documented rules the files are checked against:

Canvas, Gradebook CSV import ("How do I import grades in the Gradebook?",
https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807;
the importer: https://github.com/instructure/canvas-lms/blob/master/app/models/gradebook_importer.rb):
  - the header's first column contains "Student", the second "ID", and the row has more than
    three columns; "SIS User ID" is recognised only when "SIS Login ID" follows it; the last
    identity column is "Section" (it must exist, values may be blank);
  - an assignment column is "Title (assignment id)" (regex `\\A(.*)\\s\\((\\d+)\\)\\z`,
    app/models/assignment.rb title_and_id), or an exact title;
  - a row whose first cell contains "Points Possible" gives the points possible;
  - a student is matched by ID (Canvas user id), else SIS User ID, else SIS Login ID, else name;
  - scores are numbers ("EX" excused, blank or "-" no score); the file is UTF-8.

Moodle, grade import from CSV (https://docs.moodle.org/405/en/Grade_import; the importer:
https://github.com/moodle/moodle/blob/main/grade/import/csv/classes/load_data.php):
  - users are mapped, in the import form, from one column to the user's email address, ID
    number, username or Moodle id; every other column maps to a grade item, to the feedback of
    a grade item, or is ignored;
  - one row whose user is not found aborts the whole import (so unknown students must not be
    in the file); a blank or "-" cell is no grade; numbers use a decimal point here.
"""
import csv
import os
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest

from autograder.course import ASSIGNMENT
from autograder.examples import source_notebook, with_entry
from autograder.parts import TEST_CELLS

TRAINING = ("run(", "plot_", "path_optimizers", "best =")
MAX = 112          # 100 autograded + 4 written answers of 3 points (README)
ADAM_BUG = "adam_no_bias_correction"


def without_training(notebook):
    notebook.cells = [c for c in notebook.cells if c.cell_type != "code" or c.metadata.get("nbgrader")
                      or not c.source.lstrip().startswith(TRAINING)]
    return notebook


def run(module, *args, cwd):
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=1200, env=dict(os.environ))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course graded by `grade`, with hand grades for alice's written answers (3 + 2.5)."""
    folder = tmp_path_factory.mktemp("export")
    archive = folder / "downloads.zip"
    reference = nbformat.writes(without_training(source_notebook()))
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"alice_1001_{ASSIGNMENT}.ipynb", reference)
        z.writestr(f"bob_1002_{ASSIGNMENT}.ipynb", nbformat.writes(without_training(with_entry(ADAM_BUG))))
        z.writestr(f"carol_1003_{ASSIGNMENT}.ipynb", reference)
    course = folder / "course"
    result = run("autograder.grade", archive, "--course", course, "--workers", 2, "--cell-timeout", 20, cwd=folder)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "alice")
        written = sorted((g for g in notebook.grades if g.name not in TEST_CELLS), key=lambda g: g.name)
        assert len(written) == 4 and sum(g.max_score for g in written) == MAX - 100
        written[0].manual_score, written[1].manual_score = 3, 2.5
        gradebook.db.commit()
    roster = folder / "roster.csv"
    roster.write_text("\ufeffStudent,Name,Canvas_ID,SIS_User_ID,SIS_Login_ID,Section,Email,ID_Number,Extra\n"
                      "alice,\"Liddell, Alice\",1001,S1001,aliddell,A,alice@example.edu,S1001,x\n"
                      "bob,Bob Roe,1002,S1002,broe,B,bob@example.edu,S1002,y\n"
                      "dave,Dave Poe,1004,S1004,dpoe,B,dave@example.edu,S1004,z\n", encoding="utf-8")
    return folder, course, roster


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def canvas_accepts(header):
    """Canvas's header rules (module docstring): the identity columns it recognises, and the
    index of the first assignment column."""
    assert "Student" in header[0] and "ID" in header[1] and len(header) > 3
    identity = ["Student", "ID"]
    rest = header[2:]
    if rest[:2] == ["SIS User ID", "SIS Login ID"]:
        identity += rest[:2]
    elif rest[:1] == ["SIS Login ID"]:
        identity += rest[:1]
    assert header[len(identity)] == "Section", header
    return len(identity) + 1


@pytest.mark.slow
def test_canvas_file_follows_canvas_import_rules_with_a_roster(course):
    folder, course_dir, roster = course
    out = folder / "canvas.csv"
    result = run("autograder.lms_export", "canvas", "--course", course_dir, "--roster", roster, "--out", out,
                 "--canvas-assignment-id", 4242, cwd=folder)
    assert result.returncode == 0, result.stderr
    rows = read(out)
    first = canvas_accepts(rows[0])
    assert re.fullmatch(r"(.*)\s\((\d+)\)", rows[0][first]).groups() == (ASSIGNMENT, "4242")
    bob = 100 - TEST_CELLS["test_adam"]
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{ASSIGNMENT} (4242)"],
        ["Points Possible", "", "", "", "", str(MAX)],
        ["Liddell, Alice", "1001", "S1001", "aliddell", "A", "105.5"],
        ["Bob Roe", "1002", "S1002", "broe", "B", f"{bob:g}"],
        ["Dave Poe", "1004", "S1004", "dpoe", "B", "0"],
    ]
    notes = out.with_name("canvas_notes.txt").read_text(encoding="utf-8")
    for text in (result.stdout, notes):
        assert f"out of {MAX}" in text and "written answers graded by hand" in text
        assert "without a submission" in text and "Dave Poe" in text
        assert re.search(r"not in the roster.*\n\s+carol\s+100 / 112", text)
        assert "bob (4)" in text and "alice (2)" in text      # written answers not graded yet


@pytest.mark.slow
def test_moodle_file_maps_by_email_or_id_number_and_names_no_unknown_user(course):
    folder, course_dir, roster = course
    out = folder / "moodle.csv"
    result = run("autograder.lms_export", "moodle", "--course", course_dir, "--roster", roster, "--out", out,
                 cwd=folder)
    assert result.returncode == 0, result.stderr
    rows = read(out)
    bob = 100 - TEST_CELLS["test_adam"]
    assert rows == [
        ["Student", "Username", "Email address", "ID number", ASSIGNMENT, f"{ASSIGNMENT} (feedback)"],
        ["Liddell, Alice", "", "alice@example.edu", "S1001", "105.5",
         "自动评分 100 / 100，书面回答 5.5 / 12（人工评分，2 题尚未评分），共 105.5 / 112 分。"],
        ["Bob Roe", "", "bob@example.edu", "S1002", f"{bob:g}",
         f"自动评分 {bob:g} / 100，书面回答 0 / 12（人工评分，4 题尚未评分），共 {bob:g} / 112 分。"],
        ["Dave Poe", "", "dave@example.edu", "S1004", "0", "没有收到提交，计 0 分。"],
    ]
    assert all(float(row[4]) <= MAX for row in rows[1:])
    assert "carol" not in out.read_text(encoding="utf-8") and "carol" in result.stdout


@pytest.mark.slow
def test_without_a_roster_the_lms_names_are_the_roster_and_the_plain_csv_keeps_everyone(course):
    folder, course_dir, _ = course
    result = run("autograder.lms_export", "csv", "--course", course_dir, cwd=folder)
    assert result.returncode == 0, result.stderr
    rows = read(course_dir / "lms_grades.csv")
    bob = 100 - TEST_CELLS["test_adam"]
    assert rows[0] == ["student", "name", "score", "max_score", "autograded", "autograded_max", "hand_graded",
                       "hand_graded_max", "hand_pending", "note"]
    assert rows[1:] == [["alice", "alice", "105.5", "112", "100", "100", "5.5", "12", "2", ""],
                        ["bob", "bob", f"{bob:g}", "112", f"{bob:g}", "100", "0", "12", "4", ""],
                        ["carol", "carol", "100", "112", "100", "100", "0", "12", "4", ""]]
    canvas = run("autograder.lms_export", "canvas", "--course", course_dir, cwd=folder)
    assert canvas.returncode == 0 and "matches these rows by name" in canvas.stdout
    assert [row[0] for row in read(course_dir / "lms_canvas.csv")[2:]] == ["alice", "bob", "carol"]
    moodle = run("autograder.lms_export", "moodle", "--course", course_dir, cwd=folder)
    assert moodle.returncode == 0 and "warning: Moodle matches users by email" in moodle.stdout


def test_a_roster_without_a_student_column_is_refused(tmp_path):
    (tmp_path / "gradebook.db").write_bytes(b"")
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email\nAlice,a@example.edu\n", encoding="utf-8")
    result = run("autograder.lms_export", "canvas", "--course", tmp_path, "--roster", roster, cwd=tmp_path)
    assert result.returncode == 2 and "needs a 'student' column" in result.stderr


@pytest.mark.slow
def test_grade_only_regrades_one_student_and_leaves_everyone_elses_rows(course):
    """`grade --only` (autograder/grade.py) on the same course, after the exports above."""
    import hashlib
    import json
    folder, course_dir, _ = course

    def state():
        manifest = json.loads((course_dir / "grade_manifest.json").read_text())["students"]
        with open(course_dir / "grades.csv", newline="", encoding="utf-8") as f:
            rows = {row["student"]: row for row in csv.DictReader(f)}
        files = {s: {kind: hashlib.sha256((course_dir / kind / s / ASSIGNMENT / name).read_bytes()).hexdigest()
                     for kind, name in (("autograded", f"{ASSIGNMENT}.ipynb"), ("feedback", f"{ASSIGNMENT}.html"))}
                 for s in ("alice", "bob", "carol")}
        mtimes = {s: (course_dir / "autograded" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").stat().st_mtime_ns
                  for s in ("alice", "bob", "carol")}
        return manifest, rows, files, mtimes

    before = state()
    export_before = read(course_dir / "lms_grades.csv")
    result = run("autograder.grade", folder / "downloads.zip", "--course", course_dir, "--only", "bob",
                 "--workers", 1, "--cell-timeout", 20, cwd=folder)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "--only: grading bob again" in result.stdout
    after = state()
    for student in ("alice", "carol"):
        assert after[0][student] == before[0][student]
        assert after[1][student] == before[1][student]
        assert after[2][student] == before[2][student]
        assert after[3][student] == before[3][student]
    assert after[3]["bob"] > before[3]["bob"]                     # bob's notebook was graded again
    assert after[1]["bob"]["total"] == before[1]["bob"]["total"]  # to the same score
    assert run("autograder.lms_export", "csv", "--course", course_dir, cwd=folder).returncode == 0
    assert read(course_dir / "lms_grades.csv") == export_before   # alice's hand grades are still there
    refused = run("autograder.grade", folder / "downloads.zip", "--course", course_dir, "--only", "zoe", cwd=folder)
    assert refused.returncode == 2 and "--only zoe: no submission" in refused.stderr
