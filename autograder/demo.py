"""The course's main job end to end on the shipped example submissions (`make demo`).

1. The example submissions (autograder/examples.py: the reference solution, one typical
   mistake of the catalogue for each part, valid alternatives of the catalogue, a deleted and
   an edited test cell, plus the untouched release) are packed as an LMS delivers them: one
   zip of `<student>_<id>_mlp_optimizers.ipynb` files.
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
from autograder.batch import MANIFEST, Manifest
from autograder.course import ASSIGNMENT, RELEASE_DIR
from autograder.examples import all_examples


def pack_lms_zip(path):
    """Writes the examples as an LMS download; returns the number of submissions."""
    submissions, _ = all_examples()
    submissions["untouched_release"] = nbformat.read(RELEASE_DIR / f"{ASSIGNMENT}.ipynb", as_version=4)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, (name, notebook) in enumerate(submissions.items(), start=1):
            student = name.replace("_", "-")  # an LMS id has no '_': it separates the name's fields
            archive.writestr(f"{student}_{20260000 + number}_{ASSIGNMENT}.ipynb", nbformat.writes(notebook))
    return len(submissions)


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
    code = grade.main([str(archive), "--course", str(course)])
    if code:
        return code
    print()
    print_mistake_counts(course)
    print()
    similarity.main(["--course", str(course), "--top", "5"])
    print()
    print(f"Demo finished in {time.monotonic() - start:.0f} s.")
    print(f"  Report:         {course / 'report.html'}")
    print(f"  Similarity:     {course / 'similarity.html'}")
    for student in ("reference-solution", "bug-momentum-out-of-place"):
        print(f"  Feedback page:  {course / 'feedback' / student / ASSIGNMENT / (ASSIGNMENT + '.html')}")
    print(f"  Gradebook:      {course / 'gradebook.db'} (nbgrader formgrader / export work on it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
