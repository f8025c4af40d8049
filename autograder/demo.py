"""The course's main job end to end on the shipped example submissions (`make demo`).

1. The example submissions (autograder/examples.py: the reference solution, one typical
   mistake of the catalogue for each part, valid alternatives of the catalogue, a deleted and
   an edited test cell, plus the untouched release) are packed as an LMS delivers them: one
   zip of `mlp_optimizers_<student>_attempt_<time>_mlp_optimizers.ipynb` files, the LMS's
   time of each submission in its name. The course's course_policy.toml (DEMO_POLICY) sets a
   deadline; the reference solution (LATE_STUDENT) was submitted a day and a half after it.
2. `grade` grades that zip in a scratch course (results/demo/course): nbgrader's release,
   each notebook's cells in the sandbox, the hidden checks, the gradebook, feedback pages,
   grades.csv and report.html, with a progress bar.
3. The aligned per-student, per-cell table, the named mistakes per part (as report.html
   counts them), and where the report and a feedback page are.
4. The similarity page (autograder/similarity.py) next to the report: the examples are all
   the reference solution with one part changed, so every pair is alike there.
"""
import argparse
import shutil
import sys
import time
import zipfile
from pathlib import Path

import nbformat

from autograder import grade, report, similarity
from autograder.manifest import MANIFEST, Manifest
from autograder.course import ASSIGNMENT, RELEASE_DIR
from autograder.course_policy import POLICY_FILE
from autograder.examples import all_examples


DEMO_POLICY = """\
[deadline]
due = 2026-12-01T23:59:00
time_zone = "Asia/Shanghai"

[late_penalty]
per = "day"
percent = 10
max_percent = 50
cutoff = 2026-12-08T23:59:00
"""
LATE_STUDENT = "reference-solution"
LATE_TIME = "2026-12-03-09-30-00"       # in the LMS's zone (the deadline's): 2 started days late


def pack_lms_zip(path):
    """Writes the examples as an LMS download (the LMS's submission time in each name: on the
    evening of the due date, LATE_STUDENT's at LATE_TIME); returns the number of submissions."""
    submissions, _ = all_examples()
    submissions["untouched_release"] = nbformat.read(RELEASE_DIR / f"{ASSIGNMENT}.ipynb", as_version=4)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, (name, notebook) in enumerate(submissions.items(), start=1):
            student = name.replace("_", "-")  # an LMS id has no '_': it separates the name's fields
            when = LATE_TIME if student == LATE_STUDENT else f"2026-12-01-20-{number:02d}-00"
            archive.writestr(f"{ASSIGNMENT}_{student}_attempt_{when}_{ASSIGNMENT}.ipynb", nbformat.writes(notebook))
    return len(submissions)


def print_late(course):
    """Prints the late submissions of grades.csv: raw total, lateness, penalty, final."""
    import csv
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        late = [row for row in csv.DictReader(f) if row["penalty_percent"] not in ("", "0")]
    print("Late submissions (course_policy.toml: due 2026-12-01 23:59 Asia/Shanghai, 10 % per started day):")
    for row in late:
        print(f"  {row['student']:28} submitted {row['submitted']}, {row['late_hours']} h late: "
              f"{row['total']} - {row['penalty_percent']} % = {row['final']}")
    if not late:
        print("  none")


def print_mistake_counts(course):
    """Prints, part by part, how many students made each catalogued mistake (report.html's
    "Known mistakes, per part"), from the course's grading manifest."""
    manifest = Manifest(course / MANIFEST)
    counts = report.mistake_counts({student: manifest.result(student) for student in manifest.students})
    print("Known mistakes, per part:")
    for grade_id, mistakes in counts.items():
        for entry_id, students in mistakes.items():
            print(f"  {grade_id or '(not in the catalogue)':28} {entry_id:38} {len(students)}")
    if not counts:
        print("  none named")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("results/demo"),
                        help="scratch folder (deleted and made anew)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    if args.dir.exists():
        shutil.rmtree(args.dir)
    args.dir.mkdir(parents=True)
    archive = args.dir / "lms_download.zip"
    count = pack_lms_zip(archive)
    print(f"Packed {count} example submissions as an LMS download: {archive}", flush=True)
    course = args.dir / "course"
    course.mkdir()
    (course / POLICY_FILE).write_text(DEMO_POLICY, encoding="utf-8")
    code = grade.main([str(archive), "--course", str(course)])
    if code:
        return code
    print()
    print_mistake_counts(course)
    print()
    print_late(course)
    print()
    similarity.main(["--course", str(course), "--top", "5"])
    print()
    print(f"Demo finished in {time.monotonic() - start:.0f} s.")
    print(f"  Report:         {course / 'report.html'}")
    print(f"  Similarity:     {course / 'similarity.html'}")
    for student in (LATE_STUDENT, "bug-momentum-out-of-place"):
        print(f"  Feedback page:  {course / 'feedback' / student / ASSIGNMENT / (ASSIGNMENT + '.html')}")
    print(f"  Gradebook:      {course / 'gradebook.db'} (nbgrader formgrader / export work on it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
