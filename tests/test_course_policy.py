"""Deadlines, late penalties and extensions (autograder/course_policy.py) on real files: a
course_policy.toml, an nbgrader submitted/ tree with the timestamp.txt nbgrader's collect
writes, LMS downloads, `grade` with real sandboxes, nbgrader's gradebook and `nbgrader export`.

The policy is the demo's (due 2026-12-01 23:59 in Asia/Shanghai, 15:59 UTC; 10 % per started
day, at most 50 %; 0 after 2026-12-08 23:59) with one extension. The exchange's times are UTC,
so a submission at 15:58 UTC is on time and one at 16:01 UTC (00:01 the next day in Shanghai)
is late, although both are on 1 December in UTC.
"""
import csv
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_gradebook_integrity import OPTIONS, exported, feedback, read_grades, reference, run_grade  # noqa: E402

from autograder.course import ASSIGNMENT  # noqa: E402
from autograder.course_policy import POLICY_FILE, PolicyError, load  # noqa: E402
from autograder.demo import DEMO_POLICY  # noqa: E402
from autograder.intake import collect  # noqa: E402

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
POLICY = DEMO_POLICY + """
[extensions]
"erin" = 2026-12-04T23:59:00
"""
# exchange time (UTC, as nbgrader writes timestamp.txt): percent taken, by the rule above
SUBMITTED = {
    "alice": ("2026-12-01 15:58:00.000000 UTC", 0),     # 23:58 in Shanghai: on time
    "bob": ("2026-12-01 16:01:00.000000 UTC", 10),      # 00:01 on 2 Dec in Shanghai: 1 started day
    "carol": ("2026-12-03 17:00:00.000000 UTC", 30),    # 01:00 on 4 Dec: 2 days 1 h 1 min, 3 started days
    "dave": ("2026-12-09 00:00:00.000000 UTC", 100),    # 08:00 on 9 Dec: past the cut-off
    "erin": ("2026-12-04 15:00:00.000000 UTC", 0),      # 23:00 on 4 Dec: within the extension
}


def write_policy(course, text):
    course.mkdir(parents=True, exist_ok=True)
    (course / POLICY_FILE).write_text(text, encoding="utf-8")


def submitted_tree(root, times):
    """root/submitted/<student>/mlp_optimizers/ with the reference notebook and timestamp.txt."""
    notebook = reference()
    for student, stamp in times.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_bytes(notebook)
        (folder / "timestamp.txt").write_text(stamp)
    return root / "submitted"


def nbgrader_export(course):
    """{student: (raw_score, late_submission_penalty, score)} of a fresh `nbgrader export`."""
    out = course / "export_check.csv"
    subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export", f"--to={out.name}"], cwd=course,
                   check=True, capture_output=True, env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"})
    with open(out, newline="") as f:
        return {row["student_id"]: (float(row["raw_score"]), float(row["late_submission_penalty"]), float(row["score"]))
                for row in csv.DictReader(f)}


# --------------------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------------------

def test_no_file_is_no_deadline(tmp_path):
    assert load(tmp_path) is None


@pytest.mark.parametrize("text, says", [
    ("[deadline]\ndue = 2026-12-01T23:59:00\n", "[deadline] with due and time_zone is missing"),
    ('[deadline]\ndue = 2026-12-01T23:59:00\ntime_zone = "Asia/Shangai"\n', "not a time zone"),
    ('[deadline]\ndue = "Monday"\ntime_zone = "UTC"\n', "is not a date and time"),
    ('[deadline]\ndue = 2026-12-01T23:59:00\ntime_zone = "UTC"\n[late_penalty]\nper = "week"\n', "per = 'week'"),
    ('[deadline]\ndue = 2026-12-01T23:59:00\ntime_zone = "UTC"\n[late_penalty]\npercent = 150\n',
     "percent = 150 must be a number from 0 to 100"),
    ('[deadline]\ndue = 2026-12-01T23:59:00\ntime_zone = "UTC"\n[late_penalty]\ncutoff = 2026-11-30T00:00:00\n',
     "is not after the due date"),
    ('[deadline]\ndue = 2026-12-01T23:59:00\ntime_zone = "UTC"\n[extensions]\nbob = 2026-11-01T00:00:00\n',
     "extension of 'bob'"),
    ('[deadline]\ndue = 2026-12-01T23:59:00\ntime_zone = "UTC"\ngrace = 5\n', "unknown key 'grace' in [deadline]"),
    ('[deadlines]\n', "unknown table [deadlines]"),
    ('[deadline\n', "not valid TOML"),
])
def test_a_bad_file_says_what_and_how(tmp_path, text, says):
    write_policy(tmp_path, text)
    with pytest.raises(PolicyError) as error:
        load(tmp_path)
    assert says in str(error.value) and str(tmp_path / POLICY_FILE) in str(error.value)


def test_the_rule_counts_started_days_caps_and_cuts_off(tmp_path):
    write_policy(tmp_path, POLICY.replace('"erin"', '"nobody"') + "")
    policy = load(tmp_path)
    hour, day = 3600, 86400
    assert [policy.percent(s) for s in (0, 1, day, day + 1, 4 * day + hour, 7 * day, 7 * day + 1)] == \
        [0, 10, 10, 20, 50, 50, 100]
    grace = POLICY.replace('time_zone = "Asia/Shanghai"', 'time_zone = "Asia/Shanghai"\ngrace_minutes = 10')
    write_policy(tmp_path, grace)
    policy = load(tmp_path)
    assert (policy.percent(600), policy.percent(601)) == (0, 10)
    on_time = policy.lateness("x", "2026-12-01 16:05:00 UTC", "exchange")
    assert on_time.percent == 0 and not on_time.late


def test_lms_names_give_the_time_in_the_lms_zone(tmp_path):
    """`_attempt_<time>_` names (the LMS's time, no zone: the policy's [submissions] zone, else
    the deadline's); a Canvas-style name gives none; a zip entry's date inside a student's zip
    (the student's) is never used."""
    archive = tmp_path / "download.zip"
    notebook = reference()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"hw_ann_attempt_2026-12-01-23-58-00_{NOTEBOOK}", notebook)
        z.writestr(f"hw_ben_attempt_2026-12-02-00-01-00_{NOTEBOOK}", notebook)
        z.writestr(zipfile.ZipInfo(f"cid_LATE_123_456_{NOTEBOOK}", date_time=(2020, 1, 1, 0, 0, 0)), notebook)
    submissions, _ = collect(archive, tmp_path / "scratch")
    assert (submissions["ann"].timestamp, submissions["ann"].timestamp_source) == ("2026-12-01-23-58-00", "lms")
    assert (submissions["cid"].timestamp, submissions["cid"].timestamp_source) == ("", "")
    write_policy(tmp_path, POLICY)
    policy = load(tmp_path)
    late = {s: policy.lateness(s, sub.timestamp, sub.timestamp_source) for s, sub in submissions.items()}
    assert (late["ann"].percent, late["ben"].percent, late["cid"].percent) == (0, 10, 0)
    assert not late["cid"].known and "unknown" in late["cid"].text()
    write_policy(tmp_path, POLICY + '\n[submissions]\ntime_zone = "UTC"\n')
    policy = load(tmp_path)           # 23:58 UTC is 07:58 on 2 Dec in Shanghai
    assert policy.lateness("ann", submissions["ann"].timestamp, "lms").percent == 10


def test_a_bad_policy_stops_grade_before_grading(tmp_path):
    write_policy(tmp_path / "course", '[deadline]\ndue = 2026-12-01T23:59:00\ntime_zone = "Mars/Olympus"\n')
    tree = submitted_tree(tmp_path / "input", {"alice": SUBMITTED["alice"][0]})
    result = subprocess.run([sys.executable, "-m", "autograder.grade", str(tree), "--course", str(tmp_path / "course")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Mars/Olympus" in result.stderr
    assert not (tmp_path / "course" / "gradebook.db").exists()


# --------------------------------------------------------------------------------------
# grade, the gradebook, nbgrader export, the feedback note, the LMS export
# --------------------------------------------------------------------------------------

def test_penalties_through_grade_gradebook_and_export(tmp_path):
    course = tmp_path / "course"
    write_policy(course, POLICY)
    tree = submitted_tree(tmp_path / "input", {s: stamp for s, (stamp, _) in SUBMITTED.items()})
    run_grade(tree, course, *OPTIONS)

    grades = read_grades(course)
    for student, (_, percent) in SUBMITTED.items():
        row = grades[student]
        assert float(row["total"]) == 100, student                     # the raw score stands
        assert float(row["penalty_percent"]) == percent, student
        assert float(row["final"]) == 100 - percent, student
        assert float(row["penalty"]) == percent, student
    assert grades["bob"]["submitted"] == "2026-12-02T00:01:00+08:00"
    assert grades["erin"]["due"] == "2026-12-04T23:59:00+08:00" and grades["alice"]["due"] == "2026-12-01T23:59:00+08:00"
    assert float(grades["bob"]["late_hours"]) == 0.03 and float(grades["alice"]["late_hours"]) == 0

    # nbgrader's own export of the gradebook: the same final score, its penalty in its own column
    ours = exported(course)
    fresh = nbgrader_export(course)
    for student, (_, percent) in SUBMITTED.items():
        assert fresh[student] == (100, percent, 100 - percent), student
        assert ours[student] == 100 - percent, student

    # the gradebook holds the due date, the extension and the times
    from nbgrader.api import Gradebook
    from autograder.nbgrader_adapter import Course
    with Gradebook(Course(course).db_url) as gradebook:
        assert str(gradebook.find_assignment(ASSIGNMENT).duedate) == "2026-12-01 15:59:00"
        erin = gradebook.find_submission(ASSIGNMENT, "erin")
        assert str(erin.duedate) == "2026-12-04 15:59:00" and erin.total_seconds_late == 0
        assert gradebook.find_submission(ASSIGNMENT, "bob").total_seconds_late == 120

    # the student's note, in Chinese
    page = feedback(course, "bob")
    assert "迟交 2 分钟" in page and "扣除得分的 10%" in page and "迟交扣分后得分：90 / 100" in page
    assert "超过最晚提交时间，记 0 分" in feedback(course, "dave")
    assert "按时提交" in feedback(course, "alice") and "已延期" in feedback(course, "erin")
    report = (course / "report.html").read_text(encoding="utf-8")
    assert "Deadline and late penalties" in report and "3 of 5 submissions late" in report

    # the LMS export gives the score after the penalty
    out = tmp_path / "lms.csv"
    subprocess.run([sys.executable, "-m", "autograder.lms_export", "csv", "--course", str(course), "--out", str(out)],
                   check=True, capture_output=True)
    with open(out, newline="", encoding="utf-8") as f:
        lms = {row["student"]: float(row["score"]) for row in csv.DictReader(f)}
    assert lms == {s: 100 - percent for s, (_, percent) in SUBMITTED.items()}

    # a new extension for bob and a changed rule: no submission is graded again, every score follows
    write_policy(course, POLICY.replace("percent = 10\n", "percent = 20\n")
                 + '"bob" = 2026-12-02T12:00:00\n')
    again = run_grade(tree, course, *OPTIONS)
    assert "0 to grade" in again.stdout
    grades = read_grades(course)
    expected = {"alice": 100, "bob": 100, "carol": 50, "dave": 0, "erin": 100}   # carol: 3 days x 20 %, cap 50
    assert {s: float(r["final"]) for s, r in grades.items()} == expected
    assert {s: score for s, (_, _, score) in nbgrader_export(course).items()} == expected
    assert exported(course) == expected
    assert "按时提交" in feedback(course, "bob") and "已延期" in feedback(course, "bob")
    # the same policy again: no feedback page is written again (nothing about it changed)
    pages = {path: path.stat().st_mtime_ns for path in (course / "feedback").rglob("*.html")}
    run_grade(tree, course, *OPTIONS)
    assert len(pages) == len(SUBMITTED) and all(path.stat().st_mtime_ns == when for path, when in pages.items())

    # the policy removed: today's behaviour, no deadline anywhere
    (course / POLICY_FILE).unlink()
    run_grade(tree, course, *OPTIONS)
    assert {s: float(r["final"]) for s, r in read_grades(course).items()} == {s: 100 for s in SUBMITTED}
    assert {s: score for s, (_, _, score) in nbgrader_export(course).items()} == {s: 100 for s in SUBMITTED}
    assert "截止时间" not in feedback(course, "dave")


def test_the_hub_records_the_due_date_before_any_grading(tmp_path, monkeypatch):
    """course_hub.py setup calls record_due_date: nbgrader's gradebook gets the due date (UTC)
    before anything is collected, and loses it with the policy."""
    from nbgrader.api import Gradebook
    from autograder.course_policy import record_due_date
    from autograder.nbgrader_adapter import Course

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")   # nbgrader runs alembic
    with Gradebook(Course(tmp_path).db_url) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT)
    write_policy(tmp_path, POLICY)
    assert record_due_date(tmp_path)
    with Gradebook(Course(tmp_path).db_url) as gradebook:
        assert str(gradebook.find_assignment(ASSIGNMENT).duedate) == "2026-12-01 15:59:00"
    assert not record_due_date(tmp_path)             # nothing changes the second time
    (tmp_path / POLICY_FILE).unlink()
    assert record_due_date(tmp_path)
    with Gradebook(Course(tmp_path).db_url) as gradebook:
        assert gradebook.find_assignment(ASSIGNMENT).duedate is None


def test_nbgrader_late_penalty_plugin_follows_the_policy(tmp_path):
    """CoursePolicyPenalty, as nbgrader's AssignLatePenalties calls it (score, seconds late
    after the due date with the extension): the same rule."""
    from traitlets.config import Config
    from autograder.course_policy import CoursePolicyPenalty

    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    plugin = CoursePolicyPenalty(config=config)
    assert plugin.late_submission_penalty("bob", 80.0, 3600) is None          # no policy yet
    write_policy(tmp_path, POLICY)
    assert [plugin.late_submission_penalty("bob", 80.0, s) for s in (0, 60, 86401, 8 * 86400)] == [0, 8, 16, 80]
