"""Throughput of `grade` (every submission once, in the sandbox, parallel workers) against plain
sequential nbgrader autograde, and the hostile submissions it is given.

    .venv/bin/python benchmarks/bench_scale.py                 # 20 submissions, os.cpu_count() workers
    .venv/bin/python benchmarks/bench_scale.py --submissions 8 --skip-baseline
    .venv/bin/python benchmarks/bench_scale.py --submissions 12 --distributed --skip-baseline --skip-hostile

1. N full submissions (the whole notebook, training cells included: the examples of
   autograder/examples.py, the untouched release, then copies of the reference solution),
   zipped as an LMS download.
2. `grade` on the zip: autograde through the sandbox + gradebook + feedback per submission,
   in parallel; per-submission breakdown (sandbox start, student cells, checks, gradebook,
   feedback) from its manifest.
3. Plain nbgrader on the same N in a scratch course: `nbgrader autograde mlp_optimizers`
   (one process, one submission after the other, no limits), then
   `nbgrader generate_feedback mlp_optimizers` (timed separately).
4. The hostile submissions of tests/test_verify.py (HOSTILE: patched numpy, a fake
   autograder module, input transformers, infinite loops, memory bombs, os._exit, ...),
   training cells removed, through `grade` (never through plain nbgrader: no limits there).
   Caught = the score loses points exactly in the cells the case expects.
   --submissions 0 runs only this part.

5. --distributed: the same N through `grade --scheduler` on a Dask LocalCluster (worker
   processes, one thread each) of 1 and 2 workers against the local pool of 1 and 2 worker
   processes: submissions per minute, the overhead per submission of Dask against the pool
   (wall time), and the parallel efficiency of 2 workers (rate with 2 / twice the rate with 1).

Peak memory: the largest total RSS of this process's descendants, sampled every 0.5 s,
and getrusage(RUSAGE_CHILDREN).ru_maxrss (the largest single process).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import nbformat
import psutil

from autograder.course import ASSIGNMENT, RELEASE_DIR, ROOT
from autograder.examples import all_examples, source_notebook
from autograder.nbgrader_adapter import Course
from autograder.parts import TEST_CELLS

TRAINING = ("run(", "plot_", "path_optimizers", "best =")
# seconds per step of a submission: in the worker (sandbox, nbgrader, feedback page), then in
# the coordinating process (the gradebook)
PHASES = ("sandbox_start", "student_cells", "checks", "autograde", "feedback", "gradebook")


class PeakRss:
    """Samples the total RSS of this process's descendants in a thread."""

    def __init__(self, interval=0.5):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def __enter__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self.thread.join()

    def _run(self):
        while not self._stop.wait(self.interval):
            total = 0
            for child in psutil.Process().children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)


def submissions(count):
    """name -> notebook: the examples, the untouched release, then copies of the reference."""
    examples, _ = all_examples()
    examples["untouched_release"] = nbformat.read(RELEASE_DIR / f"{ASSIGNMENT}.ipynb", as_version=4)
    chosen = dict(list(examples.items())[:count])
    reference = source_notebook()
    for i in range(count - len(chosen)):
        chosen[f"reference_copy{i + 1}"] = reference
    return chosen


def without_training(notebook):
    notebook.cells = [c for c in notebook.cells if c.cell_type != "code" or c.metadata.get("nbgrader")
                      or not c.source.lstrip().startswith(TRAINING)]
    return notebook


def write_zip(path, notebooks):
    with zipfile.ZipFile(path, "w") as z:
        for i, (name, notebook) in enumerate(notebooks.items()):
            student = name.replace("_", "-")          # the student id is the part before the first '_'
            z.writestr(f"{student}_{1000 + i}_{ASSIGNMENT}.ipynb", nbformat.writes(notebook))
    return path


def run_grade(archive, course, extra, log):
    cmd = [sys.executable, "-m", "autograder.grade", str(archive), "--course", str(course), *extra]
    start = time.monotonic()
    with PeakRss() as peak, open(log, "w") as out:
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"grade failed ({result.returncode}); see {log}")
    manifest = json.loads((course / "grade_manifest.json").read_text())["students"]
    return seconds, peak.peak, manifest


def plain_nbgrader(folder, notebooks):
    course = Course.scratch(folder / "course_plain")
    course.generate_release()
    for name, notebook in notebooks.items():
        course.add_submission(name.replace("_", "-"), notebook)
    start = time.monotonic()
    with PeakRss() as peak:
        course.autograde_plain()
    autograde_s = time.monotonic() - start
    start = time.monotonic()
    course.generate_feedback()
    return autograde_s, time.monotonic() - start, peak.peak, course.scores()


def hostile_cases():
    """name -> (notebook, cells that must lose points) from the VERIFY helper's tests."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from test_verify import HOSTILE
    except Exception as e:                              # noqa: BLE001 (any import problem)
        print(f"(no hostile cases: tests/test_verify.py not importable: {e})")
        return {}
    return {name: (without_training(nbformat.from_dict(notebook)), losing)
            for name, (notebook, losing, _) in HOSTILE.items()}


def per_minute(count, seconds):
    return 60.0 * count / seconds if seconds else float("nan")


def distributed(folder, archive, count):
    """Lines of the summary: the local pool against a Dask LocalCluster, 1 and 2 workers."""
    from distributed import LocalCluster

    rates, lines = {}, []
    for workers in (1, 2):
        for path in ("pool", "dask"):
            course = folder / f"course_{path}{workers}"
            if path == "pool":
                seconds, _, manifest = run_grade(archive, course, ["--workers", str(workers)],
                                                 folder / f"{path}{workers}.log")
            else:
                with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
                    seconds, _, manifest = run_grade(archive, course, ["--scheduler", cluster.scheduler_address],
                                                     folder / f"{path}{workers}.log")
            gradebook = sum(e["result"].get("timings", {}).get("gradebook", 0.0) for e in manifest.values()) / count
            rates[path, workers] = per_minute(count, seconds)
            lines.append(f"  {path} {workers} worker(s)  {seconds:6.0f} s  {rates[path, workers]:6.2f} /min  "
                         f"({seconds / count:.1f} s per submission; gradebook in the coordinator {gradebook:.2f} s)")
            print(lines[-1], flush=True)
    for workers in (1, 2):
        pool, dask = 60 / rates["pool", workers], 60 / rates["dask", workers]
        lines.append(f"  Dask overhead, {workers} worker(s): {dask - pool:+.2f} s per submission "
                     f"({dask / pool - 1:+.1%} against the local pool)")
    for path in ("pool", "dask"):
        lines.append(f"  parallel efficiency of 2 workers, {path}: {rates[path, 2] / (2 * rates[path, 1]):.0%}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=20, help="0: only the hostile cases")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--skip-baseline", action="store_true", help="do not run plain nbgrader")
    parser.add_argument("--skip-hostile", action="store_true")
    parser.add_argument("--distributed", action="store_true",
                        help="also grade through Dask (LocalCluster) and the local pool, 1 and 2 workers")
    parser.add_argument("--keep", type=Path, default=None, help="keep the courses in this folder")
    args = parser.parse_args()

    temp = None if args.keep else tempfile.TemporaryDirectory(prefix="bench_scale_")
    folder = args.keep or Path(temp.name)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    summary = []
    count = args.submissions
    if count:
        notebooks = submissions(count)
        archive = write_zip(folder / "submissions.zip", notebooks)
        print(f"grade on {count} submissions (full notebooks), {args.workers} workers ...", flush=True)
        grade_s, grade_peak, manifest = run_grade(archive, folder / "course_grade",
                                                  ["--workers", str(args.workers)], folder / "grade.log")
        results = [entry["result"] for entry in manifest.values()]
        busy = sum(r["seconds"] for r in results)
        phases = {phase: sum(r.get("timings", {}).get(phase, 0.0) for r in results) / count
                  for phase in PHASES}
        print(f"  {grade_s:.0f} s wall, {per_minute(count, grade_s):.2f} submissions/min; worker time "
              f"{busy / count:.1f} s per submission (" + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())
              + f"); parallel efficiency {busy / grade_s / args.workers:.0%}", flush=True)
        summary.append(f"  grade, {args.workers} workers (sandbox + gradebook + feedback)  {grade_s:6.0f} s  "
                       f"{per_minute(count, grade_s):6.2f} /min  peak RSS {grade_peak / 2**20:6.0f} MiB")
        summary.append("  per submission (mean, worker time): " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))
        if not args.skip_baseline:
            print("plain nbgrader autograde (sequential), then generate_feedback ...", flush=True)
            plain_s, feedback_s, plain_peak, plain_scores = plain_nbgrader(folder, notebooks)
            print(f"  autograde {plain_s:.0f} s wall, {per_minute(count, plain_s):.2f} submissions/min; "
                  f"generate_feedback {feedback_s:.0f} s", flush=True)
            differ = [student for student, entry in manifest.items()
                      if entry["result"]["scores"] != plain_scores.get(student)]
            summary += [
                f"  plain nbgrader autograde (sequential)          {plain_s:6.0f} s  "
                f"{per_minute(count, plain_s):6.2f} /min  peak RSS {plain_peak / 2**20:6.0f} MiB",
                f"  plain nbgrader autograde + generate_feedback   {plain_s + feedback_s:6.0f} s  "
                f"{per_minute(count, plain_s + feedback_s):6.2f} /min",
                f"  ratio grade / plain autograde (submissions per minute)  {plain_s / grade_s:.2f}x; "
                f"grade / plain autograde+feedback  {(plain_s + feedback_s) / grade_s:.2f}x",
                f"  scores per cell equal to plain nbgrader's for {count - len(differ)} of {count} submissions"
                + (f" (differ: {', '.join(differ)})" if differ else "")]

        if args.distributed:
            print("local pool against Dask LocalCluster, 1 and 2 workers ...", flush=True)
            summary += distributed(folder, archive, count)

    hostile = {} if args.skip_hostile else hostile_cases()
    if hostile:
        print(f"{len(hostile)} hostile submissions through grade (training cells removed) ...", flush=True)
        hostile_zip = write_zip(folder / "hostile.zip", {n: nb for n, (nb, _) in hostile.items()})
        hostile_s, hostile_peak, results = run_grade(
            hostile_zip, folder / "course_hostile",
            ["--workers", str(args.workers), "--cell-timeout", "30", "--wall-time", "300"], folder / "hostile.log")
        caught = []
        for name, (_, losing) in hostile.items():
            result = results[name.replace("_", "-")]["result"]
            scores = result.get("scores")
            lost = {g for g, p in TEST_CELLS.items() if scores and scores[g] < p}
            if scores is not None and lost == losing:
                caught.append(name)
            shown = f"{sum(scores.values()):g}" if scores else "-"
            reasons = [limit["text"] for limit in result.get("limits", [])] + result.get("notes", [])
            print(f"  {name:<32} {shown:>5}  {'caught' if name in caught else 'MISSED'}  "
                  f"{'; '.join(reasons)[:160]}", flush=True)
        print(f"  {hostile_s:.0f} s wall, peak RSS {hostile_peak / 2**20:.0f} MiB")
        summary.append(f"  hostile cases: {len(hostile)} tried, {len(caught)} caught (score lost exactly where "
                       f"the code is wrong)")

    print()
    print("Summary")
    print("\n".join(summary))
    rusage = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  largest single process (getrusage children maxrss)  {rusage:.0f} MiB")
    print(f"  load average now {os.getloadavg()[0]:.1f}")
    if temp:
        temp.cleanup()


if __name__ == "__main__":
    main()
