"""A batch of N submissions as an LMS download, for a scale run of `grade`.

    .venv/bin/python benchmarks/build_batch.py OUT.zip [--n 200] [--check]

OUT.zip holds, as top-level members of an LMS download:
  - the hostile and odd archives of tests/intake_corpus.py (every case whose students fit in
    35% of N), sized for the default limits of autograder.intake (e.g. six 199 MB members in
    one zip, a 600-byte member inflating to 200 MB, three nested zips of 100 MB);
  - up to 10% of N odd but honest layouts (8 at most): an _attempt_ name, a folder per student, a zip per
    student with macOS junk, a Moodle name with a space, two attempts of one student, the
    untouched release notebook, a file that is not a notebook;
  - buggy submissions (the source notebook with each of autograder.examples.EXAMPLE_MISTAKES,
    catalogue mistakes, in turn);
  - honest submissions (the reference solution: autograder.examples.source_notebook()).
It prints the student ids `grade` must report, one per line (a summary goes to stderr).
The batch is deterministic: the same N gives the same bytes. --check collects it with
autograder.intake (no grading) and exits 1 if the students differ.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from autograder import intake  # noqa: E402
from autograder.course import ASSIGNMENT, RELEASE_DIR  # noqa: E402
from autograder.examples import EXAMPLE_MISTAKES, source_notebook, with_entry  # noqa: E402
from intake_corpus import CASES, Member, day, write_zip, zip_of  # noqa: E402

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
HOSTILE_SHARE = 0.35
BUGGY_SHARE = 0.4          # of the submissions that are neither hostile nor odd


def odd_cases(solution, buggy):
    """[(members, ids)]: honest work in unusual layouts."""
    release = (RELEASE_DIR / NOTEBOOK).read_bytes()
    return [
        ([Member(f"ps1_odd-attempt_attempt_2024-05-01-10-00-00_{NOTEBOOK}", solution)], ["odd-attempt"]),
        ([Member(f"odd-folder/{NOTEBOOK}", solution)], ["odd-folder"]),
        ([Member(f"odd-zip_1003_{ASSIGNMENT}.zip", zip_of(
            Member(f"work/{NOTEBOOK}", solution), Member(f"__MACOSX/work/._{NOTEBOOK}", b"\x00\x05\x16\x07"),
            Member("work/.DS_Store", b"\x00\x00\x00\x01Bud1")))], ["odd-zip"]),
        ([Member(f"Wang Wu_20231235_assignsubmission_file_{NOTEBOOK}", solution)], ["Wang_Wu"]),
        ([Member(f"ps1_odd-twice_attempt_2024-05-01-10-00-00_{NOTEBOOK}", solution, date=day(2)),
          Member(f"ps1_odd-twice_attempt_2024-05-02-10-00-00_{NOTEBOOK}", buggy, date=day(1))], ["odd-twice"]),
        ([Member(f"odd-release_1006_{NOTEBOOK}", release)], ["odd-release"]),
        ([Member(f"odd-text_1007_{NOTEBOOK}", b"this is not a notebook")], ["odd-text"]),
        ([Member(f"odd-crlf_1008_{NOTEBOOK}", solution.replace(b"\n", b"\r\n"))], ["odd-crlf"]),
    ]


def build(n):
    """(members of the LMS zip, expected student ids, summary)."""
    solution = nbformat.writes(source_notebook()).encode()
    bugs = [(entry_id, nbformat.writes(with_entry(entry_id)).encode()) for entry_id in sorted(EXAMPLE_MISTAKES)]
    members, ids = [], []
    counts = {}
    room = int(n * HOSTILE_SHARE)
    for name, make in CASES.items():
        case = make(intake.Limits())
        if len(case.students) <= room:
            members += case.members
            ids += list(case.students)
            room -= len(case.students)
            counts["hostile"] = counts.get("hostile", 0) + len(case.students)
    for case_members, case_ids in odd_cases(solution, bugs[0][1])[:max(0, min(n // 10, n - len(ids)))]:
        members += case_members
        ids += case_ids
        counts["odd"] = counts.get("odd", 0) + len(case_ids)
    rest = max(0, n - len(ids))
    buggy = int(rest * BUGGY_SHARE)
    for k in range(rest):
        student = f"s{k + 1:04d}"
        if k < buggy:
            _, data = bugs[k % len(bugs)]
            counts["buggy"] = counts.get("buggy", 0) + 1
        else:
            data = solution
            counts["honest"] = counts.get("honest", 0) + 1
        members.append(Member(f"{student}_{10000 + k}_assignsubmission_file_{NOTEBOOK}", data))
        ids.append(student)
    assert len(set(ids)) == len(ids), "two cases give the same student id"
    return members, sorted(ids), counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the zip to write")
    parser.add_argument("--n", type=int, default=200, help="number of students (default 200)")
    parser.add_argument("--check", action="store_true", help="collect the batch with autograder.intake and compare")
    args = parser.parse_args(argv)
    members, ids, counts = build(args.n)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(write_zip(members))
    for student in ids:
        print(student)
    print(f"{args.out}: {len(ids)} students ({', '.join(f'{v} {k}' for k, v in counts.items())}), "
          f"{args.out.stat().st_size / 2**20:.1f} MB", file=sys.stderr)
    if args.check:
        with tempfile.TemporaryDirectory() as scratch:
            submissions, _ = intake.collect(args.out, Path(scratch))
            found = sorted(submissions)
            problems = sum(1 for s in submissions.values() if s.problem)
        if found != ids:
            print(f"check: collect found {len(found)} students; missing {sorted(set(ids) - set(found))[:10]}, "
                  f"unexpected {sorted(set(found) - set(ids))[:10]}", file=sys.stderr)
            return 1
        print(f"check: collect finds the same {len(ids)} students ({problems} without a gradable notebook)",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
