"""The course end to end on the shipped example submissions (`make demo`).

In a scratch course directory (default results/demo_course): nbgrader generates the
release, the example submissions (autograder/examples.py, plus the untouched release
notebook) are autograded, feedback HTML is generated, grades.csv is exported, and a
per-student, per-cell score table is printed.
"""
import argparse
import time
from pathlib import Path

import nbformat

from autograder.course import ASSIGNMENT
from autograder.examples import all_examples
from autograder.pipeline import Course, score_table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("results/demo_course"),
                        help="scratch course directory (deleted and made anew)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    course = Course.scratch(args.dir)
    release = course.generate_release()
    print(f"Release generated: {release}")
    submissions, _ = all_examples()
    submissions["untouched_release"] = nbformat.read(release / f"{ASSIGNMENT}.ipynb", as_version=4)
    for student, notebook in submissions.items():
        course.add_submission(student, notebook)
    print(f"Autograding {len(submissions)} submissions ...", flush=True)
    graded = time.perf_counter()
    course.autograde()
    graded = time.perf_counter() - graded
    feedback = course.generate_feedback()
    rows = course.export()
    print()
    print(score_table(course.scores()))
    print()
    print(f"Autograded {len(submissions)} submissions in {graded:.0f} s "
          f"({graded / len(submissions):.1f} s each); total {time.perf_counter() - start:.0f} s")
    print(f"Feedback:   {feedback}/<student>/{ASSIGNMENT}/{ASSIGNMENT}.html")
    print(f"Grades:     {course.root / 'grades.csv'} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
