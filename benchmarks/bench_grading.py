"""Time nbgrader autograde per submission, and the full notebook on the original schedule.

    .venv/bin/python benchmarks/bench_grading.py            # autograde timing
    .venv/bin/python benchmarks/bench_grading.py --full     # also run the whole notebook, 7 x 10000 iterations

Autograde timing: a scratch course, the release generated, N copies of the reference
solution submitted; each is autograded by its own `nbgrader autograde --student` call
(kernel start, the notebook under NBGRADER_EXECUTION, hidden tests, gradebook update).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.course import ASSIGNMENT, SOURCE_DIR
from autograder.examples import source_notebook
from autograder.nbgrader_adapter import Course


def autograde_times(count):
    with tempfile.TemporaryDirectory() as tmp:
        course = Course.scratch(Path(tmp) / "course")
        course.generate_release()
        times = []
        for i in range(count):
            student = f"student{i:02d}"
            course.add_submission(student, source_notebook())
            start = time.perf_counter()
            course.autograde_plain(student)
            times.append(time.perf_counter() - start)
            print(f"  {student}: {times[-1]:.1f} s", flush=True)
        return times


def full_notebook_time():
    """Executes the source notebook with the original schedule (no NBGRADER_EXECUTION)."""
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "executed.ipynb"
        start = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "jupyter"), "nbconvert", "--to", "notebook",
                        "--execute", "--ExecutePreprocessor.timeout=3600", f"--output={out}",
                        str(SOURCE_DIR / f"{ASSIGNMENT}.ipynb")],
                       cwd=SOURCE_DIR, env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="also time the whole notebook, 7 x 10000 iterations")
    args = parser.parse_args()
    print(f"Autograding {args.submissions} submissions one at a time ({os.cpu_count()} cores):")
    times = autograde_times(args.submissions)
    print(f"Autograde per submission: median {statistics.median(times):.1f} s, "
          f"min {min(times):.1f} s, max {max(times):.1f} s")
    if args.full:
        print("Running the whole notebook with the original schedule (7 x 10000 iterations) ...", flush=True)
        print(f"Full notebook: {full_notebook_time():.0f} s wall")


if __name__ == "__main__":
    main()
