"""Submission intake (autograder.intake): which notebook belongs to which student, and
that no submission, however hostile, can stop the batch or write outside scratch."""
import subprocess
import sys
import zipfile

import pytest

from autograder import intake
from autograder.course import ASSIGNMENT


def run_grade(*args, cwd):
    return subprocess.run([sys.executable, "-m", "autograder.grade", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


# --------------------------------------------------------------------------------------
# Bad input as a whole: a clear error, never a traceback
# --------------------------------------------------------------------------------------

def empty_zip(path):
    zipfile.ZipFile(path, "w").close()
    return path


def zip_without_notebooks(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("report.pdf", b"%PDF-1.4")
        z.writestr("alice/notes.txt", "hello")
    return path


def not_a_zip(path):
    path.write_bytes(b"PK\x03\x04 but truncated")
    return path.rename(path.with_suffix(".zip"))


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing.zip", "no such file or folder"),
    (lambda tmp: empty_zip(tmp / "empty.zip"), "holds no notebooks"),
    (lambda tmp: zip_without_notebooks(tmp / "other.zip"), "holds no notebooks (.ipynb) (2 other files skipped)"),
    (lambda tmp: not_a_zip(tmp / "broken.bin"), "not a readable zip file"),
    (lambda tmp: (tmp / "grades.xlsx").write_bytes(b"x") and tmp / "grades.xlsx", "neither a .zip file"),
])
def test_bad_input_gives_a_clear_error(tmp_path, make, message):
    result = run_grade(make(tmp_path), "--course", tmp_path / "course", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr




@pytest.mark.parametrize("rel, student", [
    (f"alice_1001_{ASSIGNMENT}.ipynb", "alice"),
    (f"Zhang San_20231234_assignsubmission_file_{ASSIGNMENT}.ipynb", "Zhang_San"),
    (f"ps1_hacker_attempt_2016-01-30-20-30-10_{ASSIGNMENT}.ipynb", "hacker"),
    (f"submitted/bitdiddle/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", "bitdiddle"),
    (f"张三/{ASSIGNMENT}.ipynb", "张三"),
    (f"downloads/eve_1005_{ASSIGNMENT}/{ASSIGNMENT}.ipynb", "eve"),
    ("scratch.ipynb", None),
])
def test_student_of_each_layout(rel, student):
    assert intake.student_of(rel)[0] == student


def test_zip_members_outside_the_target_are_not_extracted(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"../escape_1_{ASSIGNMENT}.ipynb", b"{}")
        z.writestr(f"/abs_1_{ASSIGNMENT}.ipynb", b"{}")
        z.writestr(f"ok_1_{ASSIGNMENT}.ipynb", b"{}")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    submissions, skipped = intake.collect(archive, scratch)
    assert set(submissions) == {"ok"}
    assert not (tmp_path / f"escape_1_{ASSIGNMENT}.ipynb").exists()
    assert all(p.resolve().is_relative_to(scratch.resolve()) for p in scratch.rglob("*"))


def test_a_course_folder_is_read_from_submitted_only(tmp_path):
    for rel in (f"submitted/alice/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", f"release/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                f"autograded/alice/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", f"source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"):
        (tmp_path / "course" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "course" / rel).write_text(rel)
    submissions, _ = intake.collect(tmp_path / "course", tmp_path / "scratch")
    assert list(submissions) == ["alice"]
    assert submissions["alice"].path.read_text().startswith("submitted/")


def test_the_latest_attempt_is_graded(tmp_path):
    for stamp in ("2024-05-01-10-00-00", "2024-05-02-09-00-00", "2024-04-30-23-00-00"):
        (tmp_path / f"ps_bob_attempt_{stamp}_{ASSIGNMENT}.ipynb").write_text(stamp)
    submissions, skipped = intake.collect(tmp_path, tmp_path / "scratch")
    assert submissions["bob"].path.read_text() == "2024-05-02-09-00-00"
    assert len(skipped) == 2 and "提交了 3 个笔记本" in submissions["bob"].notes[0]
