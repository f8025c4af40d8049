"""Submission intake (autograder.intake): which notebook belongs to which student, and that
no submission, however hostile, stops the batch, merges with another student, or writes
outside scratch. The hostile archives are built by tests/intake_corpus.py; the limits are
made small here so that every case takes milliseconds."""
import hashlib
import json
import os
import re
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import intake
from autograder.course import ASSIGNMENT
from autograder.student_ids import ID_BYTES, StudentIds

sys.path.insert(0, str(Path(__file__).parent))
import intake_corpus as corpus  # noqa: E402
from intake_corpus import Member, notebook, write_zip, zip_of  # noqa: E402

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
MB = 1024 * 1024
SMALL = intake.Limits(notebook_bytes=256 * 1024, student_bytes=MB, student_files=200, depth=16, zip_depth=3,
                      zip_members=500, total_bytes=64 * MB)


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(intake, "LIMITS", SMALL)
    return SMALL


def marker(submission):
    return json.loads(submission.path.read_bytes())["metadata"]["corpus"]


def tree(root, leave_out=None):
    """{relative path: (kind, size, mtime)} of everything under root but leave_out."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            if leave_out is not None and (path == leave_out or leave_out in path.parents):
                continue
            info = path.lstat()
            found[path.relative_to(root).as_posix()] = (info.st_mode >> 12, info.st_size, info.st_mtime_ns)
    return found


def valid_id(student):
    return (re.fullmatch(r"[\w.\-]+", student) is not None and not student.startswith((".", "-", "_"))
            and len(student.encode()) <= ID_BYTES)


def check_scratch(scratch):
    """Everything in scratch is a plain file or folder inside it; returns its total size."""
    total = 0
    for path in scratch.rglob("*"):
        assert not path.is_symlink(), path
        assert path.resolve().is_relative_to(scratch.resolve()), path
        total += path.stat().st_size if path.is_file() else 0
    return total


# --------------------------------------------------------------------------------------
# The corpus: every case, in an LMS zip with an honest student beside it
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(corpus.CASES))
def test_corpus_case(tmp_path, small, name):
    case = corpus.CASES[name](small)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    archive = corpus.build(case, inputs)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    scratch = tmp_path / "course" / "scratch"
    scratch.mkdir(parents=True)
    before = tree(tmp_path, scratch)

    submissions, skipped = intake.collect(archive, scratch)

    expected = dict(case.students, **{corpus.CONTROL: "control"})
    assert sorted(submissions) == sorted(expected)
    for student, want in expected.items():
        submission = submissions[student]
        assert submission.student == student and valid_id(student), student
        if isinstance(want, corpus.Problem):
            assert submission.path is None and submission.sha256 == "", student
            assert want.text in submission.problem, (student, submission.problem)
        elif isinstance(want, corpus.Chosen):
            assert not submission.problem and submission.rel.endswith(want.name), (student, submission.rel)
        else:
            assert not submission.problem, (student, submission.problem)
            assert marker(submission) == want, student
            assert submission.sha256 == hashlib.sha256(submission.path.read_bytes()).hexdigest()
            assert scratch in submission.path.parents
    reasons = "\n".join(f"{file}: {why}" for file, why in skipped)
    for text in case.skipped:
        assert text in reasons, text
    for student, text in case.notes.items():
        assert text in " ".join(submissions[student].notes), (student, submissions[student].notes)
    assert all("\n" not in file for file, _ in skipped)                 # names shown escaped

    assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest    # the input is left alone
    assert tree(tmp_path, scratch) == before                            # nothing written outside scratch
    for rel in case.absent:
        assert not (scratch / rel).exists() and not (inputs / rel).exists() and not Path(rel).exists(), rel
    assert check_scratch(scratch) <= (case.max_extracted or SMALL.student_bytes * len(expected))

    again, skipped_again = intake.collect(archive, scratch)   # deterministic, and scratch may be reused
    assert {s: (a.rel, a.sha256, a.notes, a.problem) for s, a in again.items()} == \
           {s: (a.rel, a.sha256, a.notes, a.problem) for s, a in submissions.items()}
    assert skipped_again == skipped


def test_one_batch_of_every_case(tmp_path, small):
    """All the cases in one zip: the same students as case by case, none lost or merged."""
    cases = [make(small) for make in corpus.CASES.values()]
    archive = tmp_path / "batch.zip"
    archive.write_bytes(write_zip([m for case in cases for m in case.members] + [corpus.control()]))
    submissions, _ = intake.collect(archive, tmp_path / "scratch")
    expected = {corpus.CONTROL} | {s for case in cases for s in case.students}
    assert set(submissions) == expected


# --------------------------------------------------------------------------------------
# Layouts and identity
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("rel, student", [
    (f"alice_1001_{ASSIGNMENT}.ipynb", "alice"),
    (f"Zhang San_20231234_assignsubmission_file_{ASSIGNMENT}.ipynb", "Zhang_San"),
    (f"ps1_hacker_attempt_2016-01-30-20-30-10_{ASSIGNMENT}.ipynb", "hacker"),
    (f"submitted/bitdiddle/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", "bitdiddle"),
    (f"张三/{ASSIGNMENT}.ipynb", "张三"),
    (f"downloads/eve_1005_{ASSIGNMENT}/{ASSIGNMENT}.ipynb", "eve"),
    (f"Course-Assignment-1234/bob_1_{ASSIGNMENT}.ipynb", "bob"),
    (f"zoe_1_{ASSIGNMENT}/work/draft.ipynb", "zoe"),
    (f"ps1_ann_attempt_2016-01-30-20-30-10_{ASSIGNMENT}.zip/{ASSIGNMENT}.ipynb", "ann"),
    ("scratch.ipynb", None),
])
@pytest.mark.parametrize("as_zip", [False, True])
def test_student_of_each_layout(tmp_path, rel, student, as_zip):
    if ".zip/" in rel:                                 # a zip of the student's inside the input
        outer, inner = rel.split(".zip/")
        files = {f"{outer}.zip": zip_of(Member(inner, notebook("x")))}
    else:
        files = {rel: notebook("x")}
    if as_zip:
        source = tmp_path / "in.zip"
        source.write_bytes(write_zip([Member(name, data) for name, data in files.items()]))
    else:
        source = tmp_path / "in"
        for name, data in files.items():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes(data)
    if student is None:
        with pytest.raises(intake.IntakeError, match="no notebook could be matched to a student"):
            intake.collect(source, tmp_path / "scratch")
    else:
        submissions, _ = intake.collect(source, tmp_path / "scratch")
        assert list(submissions) == [student]
        assert marker(submissions[student]) == "x"


@pytest.mark.parametrize("name, kind, raw", [
    (f"alice_1_{NOTEBOOK}", "notebook", "alice"),
    (f"alice_1_{ASSIGNMENT}.zip", "zip", "alice"),
    ("alice.ZIP", "zip", "alice"),
    (f"alice_1_{ASSIGNMENT}", "folder", "alice"),
    ("Zhang San", "folder", "Zhang San"),
    ("notes.ipynb", "notebook", None),
])
def test_student_of_a_top_level_name(name, kind, raw):
    assert intake.student_of(name, kind)[0] == raw


def test_a_lone_submission_is_never_taken_for_a_wrapper(tmp_path):
    """A batch of one LMS-named zip: the names inside it are still its student's."""
    archive = tmp_path / "in.zip"
    archive.write_bytes(zip_of(Member(f"eve_1_{ASSIGNMENT}.zip", zip_of(
        Member(f"mallory_1_{NOTEBOOK}", notebook("forged")), Member(f"trent_2_{NOTEBOOK}", notebook("forged"))))))
    submissions, _ = intake.collect(archive, tmp_path / "scratch")
    assert list(submissions) == ["eve"]


def test_a_wrapper_zip_in_a_folder_is_stepped_into(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "downloads.zip").write_bytes(zip_of(
        Member(f"alice_1_{NOTEBOOK}", notebook("a")), Member(f"bob_2_{NOTEBOOK}", notebook("b"))))
    (tmp_path / "in" / "readme.txt").write_text("LMS export")
    submissions, skipped = intake.collect(tmp_path / "in", tmp_path / "scratch")
    assert {s: marker(x) for s, x in submissions.items()} == {"alice": "a", "bob": "b"}
    assert ("readme.txt", "not a notebook") in skipped
    assert not list((tmp_path / "scratch").glob("*/wrappers/*"))


def test_a_wrapper_zip_in_a_zip_shows_its_paths_once(tmp_path):
    archive = tmp_path / "in.zip"
    archive.write_bytes(zip_of(Member("downloads.zip", zip_of(
        Member(f"alice_1_{NOTEBOOK}", notebook("a")), Member(f"bob_2_{ASSIGNMENT}.zip", b"not a zip")))))
    submissions, skipped = intake.collect(archive, tmp_path / "scratch")
    assert submissions["alice"].rel == f"in.zip!downloads.zip!alice_1_{NOTEBOOK}"
    assert submissions["bob"].rel == f"in.zip!downloads.zip!bob_2_{ASSIGNMENT}.zip"
    assert "不是可读取的 zip 文件" in submissions["bob"].problem


def test_a_batch_of_broken_submissions_still_gives_every_student_a_row(tmp_path):
    archive = tmp_path / "in.zip"
    archive.write_bytes(zip_of(Member(f"alice_1_{ASSIGNMENT}.zip", b"PK\x03\x04 truncated"),
                               Member(f"bob_1_{ASSIGNMENT}.zip", zip_of(Member("a/" * 40 + NOTEBOOK, notebook("x"))))))
    submissions, _ = intake.collect(archive, tmp_path / "scratch")
    assert sorted(submissions) == ["alice", "bob"] and all(s.problem for s in submissions.values())


def test_lms_timestamps_compare_as_times():
    assert intake._time_key("2024-5-2-9-0-0") > intake._time_key("2024-05-01-23-00-00")
    assert intake._time_key("Thu May 2 09:00:00 2024") > intake._time_key("2024-05-01 23:00:00")
    assert intake._time_key("") < intake._time_key("1")


def test_regexp_decides_from_the_top_level_name_only(tmp_path):
    archive = tmp_path / "in.zip"
    archive.write_bytes(zip_of(
        Member("alice-1.ipynb", notebook("alice-1"), date=corpus.day(5)),
        Member("alice-2.ipynb", notebook("alice-2"), date=corpus.day(1)),
        Member("dave-3.zip", zip_of(Member("mallory-9.ipynb", notebook("dave")))),
        Member("nobody.ipynb", notebook("x"))))
    regexp = r"^(?P<student_id>[a-z]+)-(?P<timestamp>\d+)"
    submissions, skipped = intake.collect(archive, tmp_path / "scratch", regexp)
    assert {s: marker(x) for s, x in submissions.items()} == {"alice": "alice-2", "dave": "dave"}
    assert ("in.zip!nobody.ipynb", "does not match --regexp") in skipped
    with pytest.raises(intake.IntakeError, match="not a valid regular expression"):
        intake.collect(archive, tmp_path / "scratch", "(?P<student_id>")


def assign(raws, registry=None):
    """({raw: id}, {raw: note}) as collect gives them."""
    ids, renamed = (registry or StudentIds()).assign(raws)
    return ids, intake.id_notes(ids, renamed)


def test_ids_stay_distinct_and_are_deterministic():
    raws = ["a b", "a_b", "a-b", "A_B", "a  b", "", "..", "-", "x" * 200 + "1", "x" * 200 + "2",
            "Jos\u00e9", "李" * 60, "李" * 61, "con", "a/b", "a\\b", ".hidden", "$(x)"]
    ids, notes = assign(raws)
    assert len(set(i.casefold() for i in ids.values())) == len(raws)
    assert all(valid_id(i) for i in ids.values()), ids
    assert ids["a-b"] == "a-b" and ids["A_B"] == "A_B"          # clean: first in code-point order keeps it
    assert ids["a_b"].startswith("a_b-")                         # differs only in case: suffixed
    assert ids["a b"].startswith("a_b-") and ids["a b"] in notes["a b"]
    assert ids[""].startswith("student-") and ids["李" * 60] != ids["李" * 61]
    assert assign(list(reversed(raws))) == (ids, notes)
    alone, _ = assign(["group a"])                # no collision: no suffix
    assert alone == {"group a": "group_a"}


def own(raw):
    """The id a raw id ('Li Wei', 'li_wei', ...) gets when its clean id is taken: derived from
    the raw id alone."""
    return raw.replace(" ", "_") + "-" + hashlib.sha256(raw.encode()).hexdigest()[:8]


def test_an_id_once_given_stays_with_its_raw_id_across_runs(tmp_path):
    path = tmp_path / "student_ids.json"
    first = StudentIds.load(path)
    assert assign(["Li Wei", "bob"], first)[0] == {"Li Wei": "Li_Wei", "bob": "bob"}
    first.save()
    # a later run: a newcomer whose raw id is the clean id, and a case-only variant, listed first
    later = StudentIds.load(path)
    ids, notes = assign(["li_wei", "Li_Wei", "Li Wei", "bob"], later)
    assert ids["Li Wei"] == "Li_Wei" and ids["bob"] == "bob"   # existing students are never renamed
    assert ids["Li_Wei"] == own("Li_Wei") and ids["li_wei"] == own("li_wei")
    assert set(notes) == {"Li_Wei", "li_wei"} and "与其他学生重复" in notes["Li_Wei"]
    later.save()
    # the newcomers keep their own ids, alone or with others, in any order
    again = StudentIds.load(path)
    assert assign(["Li_Wei"], again)[0] == {"Li_Wei": own("Li_Wei")}
    assert json.loads(path.read_text())["owners"]["Li Wei"] == "Li_Wei"


def test_ids_in_the_gradebook_without_a_recorded_owner(tmp_path):
    # a course graded before the registry existed: its students keep their ids
    migrating = StudentIds.load(tmp_path / "a.json", known=["Li_Wei", "carol"])
    assert assign(["Li Wei", "carol"], migrating)[0] == {"Li Wei": "Li_Wei", "carol": "carol"}
    # once the registry exists, an id added to the gradebook otherwise (the exchange, nbgrader db)
    # goes only to the raw id equal to it
    path = tmp_path / "b.json"
    StudentIds.load(path).save()
    registry = StudentIds.load(path, known=["Li_Wei"])
    ids, _ = assign(["Li Wei", "Li_Wei"], registry)
    assert ids == {"Li_Wei": "Li_Wei", "Li Wei": own("Li Wei")}


def test_an_unreadable_registry_stops_the_run_and_says_why(tmp_path):
    path = tmp_path / "student_ids.json"
    path.write_text("{not json")
    with pytest.raises(Exception, match="student_ids.json cannot be read.*do not delete it"):
        StudentIds.load(path)


def test_the_same_student_in_nfc_and_nfd_folders_is_one(tmp_path):
    for form, day in (("NFC", 1), ("NFD", 2)):
        path = tmp_path / "in" / __import__("unicodedata").normalize(form, "Zoë") / NOTEBOOK
        path.parent.mkdir(parents=True)
        path.write_bytes(notebook(form))
        os.utime(path, (1714550400 + day * 86400,) * 2)
    submissions, skipped = intake.collect(tmp_path / "in", tmp_path / "scratch")
    assert list(submissions) == ["Zoë"] and marker(submissions["Zoë"]) == "NFD"
    assert "提交了 2 个笔记本" in submissions["Zoë"].notes[0]


# --------------------------------------------------------------------------------------
# A folder as input: links, special files, undecodable names, unreadable files, depth
# --------------------------------------------------------------------------------------

def test_hostile_folder(tmp_path, small, monkeypatch):
    root = tmp_path / "in"
    secret = tmp_path / "secret.ipynb"
    secret.write_bytes(notebook("secret"))
    (root / "alice").mkdir(parents=True)
    (root / "alice" / NOTEBOOK).symlink_to(secret)
    (root / "bob").symlink_to(tmp_path)                                  # a linked folder
    (root / "carol").mkdir()
    os.mkfifo(root / "carol" / NOTEBOOK)                                   # would block a reader
    gbk = os.fsencode(root) + b"/" + "张三".encode("gbk")
    os.makedirs(gbk)
    with open(gbk + b"/" + NOTEBOOK.encode(), "wb") as f:
        f.write(notebook("gbk"))
    odd = os.fsencode(root) + b"/\xff\xfe"
    os.makedirs(odd)
    with open(odd + b"/" + NOTEBOOK.encode(), "wb") as f:
        f.write(notebook("odd"))
    deep = root / "dave" / Path(*["d"] * 40)
    deep.mkdir(parents=True)
    (deep / NOTEBOOK).write_bytes(notebook("deep"))
    (root / "erin").mkdir()
    (root / "erin" / "old.ipynb").write_bytes(notebook("erin-old"))
    (root / "erin" / NOTEBOOK).write_bytes(notebook("erin-new"))
    os.utime(root / "erin" / "old.ipynb", (1714550400,) * 2)
    os.utime(root / "erin" / NOTEBOOK, (1714636800,) * 2)
    real = intake.sha256_file

    def unreadable(path):
        if Path(path).parent.name == "erin" and Path(path).name == NOTEBOOK:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(intake, "sha256_file", unreadable)
    before = tree(tmp_path)
    submissions, skipped = intake.collect(root, tmp_path / "scratch")
    odd_id = next(s for s in submissions if s.startswith("student-"))
    assert sorted(submissions) == sorted(["alice", "carol", "dave", "erin", "张三", odd_id])
    assert "符号链接" in submissions["alice"].problem
    assert "不是普通文件" in submissions["carol"].problem
    assert "目录层级超过" in submissions["dave"].problem
    assert marker(submissions["张三"]) == "gbk" and marker(submissions[odd_id]) == "odd"
    assert marker(submissions["erin"]) == "erin-old" and "无法读取" in submissions["erin"].notes[1]
    assert ("bob", "symbolic link, not read") in skipped
    assert any("\\xff\\xfe" in file for file, _ in skipped + [(s.rel, "") for s in submissions.values()])
    assert tree(tmp_path, tmp_path / "scratch") == before


def test_the_run_budget_gives_later_students_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "LIMITS", intake.Limits(total_bytes=1000))
    archive = tmp_path / "in.zip"
    archive.write_bytes(zip_of(*[Member(f"s{k}_1_{NOTEBOOK}", notebook(f"s{k}")) for k in range(6)]))
    submissions, _ = intake.collect(archive, tmp_path / "scratch")
    assert len(submissions) == 6
    graded = [s for s in submissions.values() if s.path]
    assert 0 < len(graded) < 6
    assert all("超过本次评分" in s.problem for s in submissions.values() if not s.path)


def test_a_single_notebook_is_read_in_place(tmp_path):
    path = tmp_path / f"alice_1_{NOTEBOOK}"
    path.write_bytes(notebook("one"))
    submissions, _ = intake.collect(path, tmp_path / "scratch")
    assert submissions["alice"].path == path


def test_shown_names_escape_control_characters():
    assert intake.shown("a\nb\u202ec\udcff") == "a\\x0ab\\u202ec\\xff"
    assert len(intake.shown("x" * 1000)) <= 160


# --------------------------------------------------------------------------------------
# Bad input as a whole: a clear error
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


BAD_INPUTS = [
    (lambda tmp: tmp / "missing.zip", "no such file or folder"),
    (lambda tmp: empty_zip(tmp / "empty.zip"), "holds no notebooks"),
    (lambda tmp: zip_without_notebooks(tmp / "other.zip"), "holds no notebooks (.ipynb) (2 other files skipped)"),
    (lambda tmp: not_a_zip(tmp / "broken.bin"), "not a readable zip file"),
    (lambda tmp: (tmp / "grades.xlsx").write_bytes(b"x") and tmp / "grades.xlsx", "neither a .zip file"),
]


@pytest.mark.parametrize("make, message", BAD_INPUTS)
def test_bad_input_gives_a_clear_error(tmp_path, make, message):
    with pytest.raises(intake.IntakeError) as error:
        intake.collect(make(tmp_path), tmp_path / "scratch")
    assert message in str(error.value)


@pytest.mark.parametrize("make, message", BAD_INPUTS)
def test_bad_input_gives_a_clear_error_from_the_command(tmp_path, make, message, monkeypatch, capsys):
    from autograder import grade
    monkeypatch.setattr(grade, "check_sandbox", lambda *args, **kwargs: "bwrap", raising=False)
    assert grade.main([str(make(tmp_path)), "--course", str(tmp_path / "course")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# --------------------------------------------------------------------------------------
# Kept from the first version of the intake
# --------------------------------------------------------------------------------------

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
                f"autograded/alice/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", f"source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                "submitted/bob/hw2/hw2.ipynb", f"submitted/carol/{ASSIGNMENT}/scratch.ipynb"):
        (tmp_path / "course" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "course" / rel).write_text(rel)
    submissions, skipped = intake.collect(tmp_path / "course", tmp_path / "scratch")
    assert list(submissions) == ["alice"]
    assert submissions["alice"].path.read_text().startswith("submitted/")
    assert submissions["alice"].path == tmp_path / "course" / f"submitted/alice/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    submissions, _ = intake.collect(tmp_path / "course" / "submitted", tmp_path / "scratch2")
    assert list(submissions) == ["alice"]


def test_the_latest_attempt_is_graded(tmp_path):
    for stamp in ("2024-05-01-10-00-00", "2024-05-02-09-00-00", "2024-04-30-23-00-00"):
        (tmp_path / f"ps_bob_attempt_{stamp}_{ASSIGNMENT}.ipynb").write_text(stamp)
    submissions, skipped = intake.collect(tmp_path, tmp_path / "scratch")
    assert submissions["bob"].path.read_text() == "2024-05-02-09-00-00"
    assert len(skipped) == 2 and "提交了 3 个笔记本" in submissions["bob"].notes[0]
