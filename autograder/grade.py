"""grade: grade a batch of mlp_optimizers submissions, each once, with the student's code in a
sandbox, and write the scores into nbgrader's gradebook, feedback pages and a report.

    grade SUBMISSIONS [--course grading] [--workers N] [--cell-timeout 60]
          [--wall-time 600] [--grader-time 300] [--memory-mb 2048] [--regexp REGEX] [--force]
          [--only STUDENT ...] [--allow-weak-sandbox] [--scheduler tcp://HOST:8786]
    python -m autograder.grade SUBMISSIONS ...

SUBMISSIONS is a .zip of LMS downloads, a folder of them, or an nbgrader submitted/ tree,
the course's own included (`grade COURSE/submitted --course COURSE` after `nbgrader collect`);
it is read only (see autograder/intake.py for the layouts and how a student is recognised).

Each new or changed submission is graded by a worker process (--workers at a time,
autograder/batch.py), or by the workers of a Dask cluster (--scheduler, autograder/cluster.py),
knowing nothing but the submission and the assignment (autograder/task.py): nbgrader's
autograde with the notebook's cells run in a bubblewrap sandbox and the hidden checks in the
grader (autograder/nbgrader_adapter.py), then nbgrader's feedback page; this process alone
writes the course. Without bubblewrap `grade` refuses to start, unless
--allow-weak-sandbox is given. The course directory (default ./grading, made on first
use) then holds:

    gradebook.db          nbgrader's gradebook: every submission and the score of each
                          grade cell (formgrader, manual grading, export, feedback work as usual)
    grades.csv            per-cell scores, total, limits hit, sandbox, source file, reasons
    grades_nbgrader.csv   nbgrader's own export of the gradebook
    report.html, report.png, feedback/<student>/mlp_optimizers/mlp_optimizers.html
    grade_manifest.json   sha256 and result per student: a re-run grades only new or
                          changed submissions, and resumes after Ctrl-C or a crash
    student_ids.json      which raw student id (LMS name, folder) owns which id, for the
                          life of the course (autograder/student_ids.py); back it up with
                          the gradebook
"""
import argparse
import fcntl
import os
import shutil
import sys
import time
from pathlib import Path

from autograder.batch import STATE_DIR, LocalPool, grade_batch, record_ungraded, refresh_feedback
from autograder.course import ASSIGNMENT
from autograder import course_policy
from autograder.course_policy import PolicyError
from autograder.intake import IntakeError, collect
from autograder.manifest import MANIFEST, Manifest, fingerprint
from autograder.nbgrader_adapter import Course, NbgraderError, hand_graded
from autograder.result import SubmissionResult, is_weak
from autograder.sandbox.limits import FEW_TASKS
from autograder.student_ids import REGISTRY, RegistryError, StudentIds
from autograder import task
from autograder.task import Assignment, Limits, code_digest

NOTEBOOK = f"{ASSIGNMENT}.ipynb"


class GradeError(Exception):
    """A problem with the input, the course or the machine that stops the whole run."""


def check_paths(input_path, course):
    """The course directory and the input must not contain each other: nothing may be
    written under the input, and the input must not pick up the course's own notebooks."""
    source, target = input_path.resolve(), course.resolve()
    if source == target / "submitted":
        return  # the course's own submitted/ tree (nbgrader collect, the exchange)
    if target == source or source in target.parents:
        raise GradeError(f"the course directory {course} is inside the input {input_path}; "
                         f"use --course to put it elsewhere")
    if target in source.parents:
        raise GradeError(f"the input {input_path} is inside the course directory {course}; "
                         f"copy the submissions out of it or use another --course")


def lock_course(course):
    """An exclusive lock on the course for this run (released when the process exits)."""
    path = course / STATE_DIR / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise GradeError(f"another grade run is using {course}") from None
    return handle


def check_sandbox(allow_weak):
    """Starts and stops one sandbox: 'bwrap', or 'weak: <why>' when allowed; GradeError
    with how to fix it otherwise. Prints how the sandbox enforces its memory budget."""
    check = task.check_sandbox(allow_weak)
    if check.problem:
        raise GradeError(check.problem)
    print(f"Sandbox: {check.description}", flush=True)
    return check.kind


def only_students(wanted, submissions, ids):
    """The ids of the students named by --only (each an id of the course or the raw id it was
    made from, e.g. the name in the LMS download); GradeError for one without a submission in
    the input."""
    found = set()
    for name in wanted:
        student = name if name in submissions else ids.owners.get(name)
        if student not in submissions:
            raise GradeError(f"--only {name}: no submission of that student in the input")
        found.add(student)
    return found


def status_line(result):
    """One line per graded submission for the progress log."""
    text = (f"  {result.student[:28]:<28}  {'-' if result.total is None else f'{result.total:g}':>5} / 100"
            f"  {result.seconds:5.1f} s")
    reasons = result.reasons()
    if reasons:
        text += "  | " + "; ".join(reasons)[:160]
    return text


def run(args):
    input_path = Path(args.submissions).expanduser()
    course_dir = Path(args.course).expanduser().absolute()
    if not input_path.exists():
        raise GradeError(f"{input_path}: no such file or folder")
    check_paths(input_path, course_dir)
    course_policy.load(course_dir)  # a bad course_policy.toml stops the run before any grading
    if course_dir.exists() and not course_dir.is_dir():
        raise GradeError(f"--course {course_dir} is not a folder")
    cluster = connect_cluster(args.scheduler, args.allow_weak_sandbox) if args.scheduler else None
    sandbox = cluster.sandbox if cluster else check_sandbox(args.allow_weak_sandbox)
    try:
        return grade(args, input_path, course_dir, sandbox, cluster)
    finally:
        if cluster:
            cluster.close()


def connect_cluster(address, allow_weak):
    """The cluster.DaskCluster at address, its workers checked; GradeError when it cannot grade."""
    from autograder.cluster import ClusterError, DaskCluster

    print(f"Connecting to the Dask scheduler at {address} ...", flush=True)
    try:
        return DaskCluster.connect(address, allow_weak)
    except ClusterError as e:
        raise GradeError(str(e)) from None


def grade(args, input_path, course_dir, sandbox, cluster):
    """run's work once the sandbox (here, or on every worker of cluster) is known to work."""
    start = time.monotonic()
    if sandbox != "bwrap":
        print("!" * 100 + f"\n{sandbox}\nWARNING: grading WITHOUT bubblewrap: the student's code runs as your user, "
              f"with your files and network in reach.\n" + "!" * 100, file=sys.stderr, flush=True)
    lock = lock_course(course_dir)
    scratch = course_dir / STATE_DIR / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)       # left by an interrupted run
    scratch.mkdir(parents=True)
    try:
        course = Course(course_dir)
        manifest = Manifest(course_dir / MANIFEST, code_digest())
        ids = StudentIds.load(course_dir / REGISTRY, known=set(manifest.students) | set(course.students()))
        submissions, skipped = collect(input_path, scratch, args.regexp, ids)
        ids.save()
        for rel, why in skipped:
            print(f"skipped {rel}: {why}")
        source_digest = course.prepare()
        limits = Limits(args.cell_timeout, args.wall_time, args.memory_mb, args.allow_weak_sandbox)
        current = fingerprint(course, source_digest, limits, args.grader_time)
        only = only_students(args.only, submissions, ids) if args.only else None
        if only is None:
            pending = manifest.pending(submissions.values(), current, args.force)
            print(f"{len(submissions)} submissions in {input_path}: {len(pending)} to grade, "
                  f"{len(submissions) - len(pending)} unchanged", flush=True)
        else:
            pending = [submissions[student] for student in sorted(only)]
            # the others keep their rows: only students graded before (and these) are reported
            submissions = {k: v for k, v in submissions.items() if k in only or k in manifest.students}
            print(f"--only: grading {', '.join(sorted(only))} again; nobody else's results change", flush=True)
        gradable = [s for s in pending if not s.problem]
        if pending:
            course.register_students([s.student for s in pending])
        for submission in pending:
            if submission.problem:
                manifest.record(submission, current, record_ungraded(course, SubmissionResult.zero(
                    submission.student, submission.problem, notes=list(submission.notes), source=submission.rel,
                    sandbox=sandbox)))
                continue
            target = course.submission_path(submission.student)
            target.parent.mkdir(parents=True, exist_ok=True)
            if Path(submission.path).resolve() != target.resolve():
                shutil.copyfile(submission.path, target)
        graded = 0
        if gradable:
            runner = cluster or LocalPool(max(1, min(args.workers or os.cpu_count() or 1, len(gradable))))
            runner.send(Assignment.from_course(course))
            print(f"Grading with {runner.describe()} (sandbox: {sandbox}; cell timeout "
                  f"{args.cell_timeout:g} s, {args.wall_time:g} s and {args.memory_mb} MB per submission) ...",
                  flush=True)
            try:
                graded = grade_batch(course, gradable, limits, runner, manifest, current, status_line,
                                     grader_time=args.grader_time)
            except KeyboardInterrupt:
                done = sum(manifest.is_current(s, current) for s in submissions.values())
                print(f"Interrupted: {done} of {len(submissions)} submissions are graded and recorded in "
                      f"{course_dir / MANIFEST}; run the same command again to grade the rest.", file=sys.stderr)
                return 130
        exported = course_dir / "grades_nbgrader.csv"
        if pending or not exported.exists():
            course.export(exported.name)
        return finish(course_dir, submissions, manifest, start, graded, only)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        lock.close()


def finish(course_dir, submissions, manifest, start, graded, only=None):
    """Writes grades.csv and the report from the manifest, applies the course policy and makes
    again the feedback pages that no longer show what the gradebook holds (only those of the
    students of `only` when it is given: nobody else's page changes)."""
    from autograder import report, report_page

    results = {}
    for student in sorted(submissions):
        results[student] = manifest.result(student) if student in manifest.students else \
            SubmissionResult(student, notes=["没有评分结果"])
    results = course_policy.apply(course_dir, submissions, results)  # deadline, penalties (course_policy.toml)
    hand_points = sum(hand_graded(course_dir).values())
    remade = refresh_feedback(Course(course_dir), manifest,
                              {s: r for s, r in results.items() if only is None or s in only}, hand_points)
    if remade:
        print(f"{len(remade)} feedback page(s) made again from the gradebook (the teacher's scores or comments, "
              f"or a late penalty, changed)")
    report.write_grades_csv(results, course_dir / "grades.csv")
    report_page.write_report(results, course_dir / "report.html", course_dir / "report.png", course=course_dir,
                             hand_graded=hand_graded(course_dir))
    print()
    print(report.text_table(results))
    print()
    absent = sorted(set(manifest.students) - set(submissions))
    if absent:
        print(f"{len(absent)} students graded earlier are not in this input (kept in the gradebook): "
              + ", ".join(absent[:10]) + (" ..." if len(absent) > 10 else ""))
    stale = [s for s in submissions if manifest.students.get(s, {}).get("code") != manifest.code]
    if stale:
        print(f"note: the grading code changed since {len(stale)} of these submissions were graded; "
              f"run with --force to grade them again.")
    ungraded = [s for s, r in results.items() if not r.graded]
    print(f"Graded {graded} of {len(submissions)} submissions in {time.monotonic() - start:.0f} s; "
          f"{len(ungraded)} without a score (graded again on the next run).")
    if any(is_weak(r) for r in results.values()):
        print(report.WEAK_WARNING, file=sys.stderr)
    for name in ("grades.csv", "grades_nbgrader.csv", "report.html", "report.png"):
        print(f"  {course_dir / name}")
    print(f"  {course_dir}/feedback/<student>/{ASSIGNMENT}/{ASSIGNMENT}.html")
    return 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="grade", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", help="a .zip of submissions or a folder of them (never modified)")
    parser.add_argument("--course", default="grading",
                        help="course directory for the gradebook and outputs (default: ./grading)")
    parser.add_argument("--workers", type=int, default=None,
                        help="parallel worker processes (default: os.cpu_count())")
    parser.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"), metavar="ADDRESS",
                        help="grade on the workers of this Dask scheduler, e.g. tcp://HOST:8786 (default: "
                             "$DASK_SCHEDULER_ADDRESS; without either, worker processes on this machine)")
    parser.add_argument("--cell-timeout", type=float, default=60,
                        help="seconds per notebook cell (default 60)")
    parser.add_argument("--wall-time", type=float, default=600,
                        help="seconds per submission (default 600)")
    parser.add_argument("--grader-time", type=float, default=300,
                        help="seconds per submission for the grader's own steps (nbgrader, checks, feedback "
                             "page) beyond --wall-time; a submission over both gets 0 with the reason (default 300)")
    parser.add_argument("--memory-mb", type=int, default=2048,
                        help="memory budget of each sandbox in MiB, all its processes together where the "
                             f"machine allows a memory cgroup, else split between at most {FEW_TASKS} processes "
                             "(default 2048)")
    parser.add_argument("--regexp", default=None,
                        help="named regexp with (?P<student_id>...) matched against the path of each top-level entry of the input")
    parser.add_argument("--force", action="store_true", help="grade every submission again")
    parser.add_argument("--only", action="append", metavar="STUDENT", default=None,
                        help="grade only this student again (an id of the course or its raw id, e.g. the name "
                             "in the LMS download; repeat for several), changed or not; nobody else's results, "
                             "feedback or gradebook rows are touched")
    parser.add_argument("--allow-weak-sandbox", action="store_true",
                        help="grade even without bubblewrap, in a weaker sandbox (a plain subprocess with "
                             "limits; no filesystem or network isolation); every page says so")
    args = parser.parse_args(argv)
    if min(args.cell_timeout, args.wall_time, args.memory_mb, args.grader_time) <= 0:
        parser.error("--cell-timeout, --wall-time, --grader-time and --memory-mb must be positive")
    if args.regexp:
        import re
        try:
            if "student_id" not in re.compile(args.regexp).groupindex:
                parser.error("--regexp needs a (?P<student_id>...) group")
        except re.error as e:
            parser.error(f"--regexp is not a valid regular expression: {e}")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except (GradeError, IntakeError, NbgraderError, RegistryError, PolicyError) as e:
        print(f"grade: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grade: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
