"""Grades into the LMS: the file that Canvas's or Moodle's grade import accepts, from a course
graded by `grade`.

    python -m autograder.lms_export canvas|moodle|csv [--course grading] [--roster roster.csv]
                                    [--out FILE] [--item NAME] [--canvas-assignment-id N]

The score of a student is the autograded total (the ten test cells) plus the hand-graded
points (the written answers, graded in formgrader), both read from nbgrader's gradebook,
out of the assignment's maximum (100 + the written answers' points), less the late penalty
of the course's course_policy.toml (autograder/course_policy.py, at the gradebook's lateness);
a written answer not graded yet counts 0 and is named on the console and in the notes.

Who is who. The roster (--roster, CSV with a header; names case-insensitive) has one row per
student of the LMS course:

    student       the id in this course, or the raw id it was made from (the name in the LMS
                  download, as student_ids.json records it)           (required)
    name          the name the LMS shows (Canvas matches on it when no id is given)
    canvas_id     Canvas user id (numeric)          sis_user_id, sis_login_id, section  (Canvas)
    email         email address                     id_number, username            (Moodle)

Without --roster the roster is student_ids.json: each raw id (the LMS download's name) with
its id, the name being the raw id. A roster student without a submission gets 0 with the
note "no submission"; a submission whose student is not in the roster is never dropped: it
is listed on the console and in the notes file with its score, and left out of the Canvas or
Moodle file (Moodle aborts an import on one unknown user), kept in the plain csv.

Files (default in the course directory): lms_canvas.csv, lms_moodle.csv or lms_grades.csv,
and next to it <name>_notes.txt (what the score is, who is missing, who is not in the roster).

Canvas (Grades > Import): `Student,ID,SIS User ID,SIS Login ID,Section,<item> (<assignment id>)`
(the assignment id only with --canvas-assignment-id; without it Canvas matches the column
by its exact title or makes a new assignment), a `Points Possible` row, then one row per
student. Canvas matches a row by ID, else SIS User ID, else SIS Login ID, else the name.

Moodle (Grades > Import > CSV file): `Student,Username,Email address,ID number,<item>,
<item> (feedback)`; map Email address to "Email address" (or ID number, Username) and the
two item columns to the grade item and its feedback in the import form. The feedback, read
by the student, is in Chinese.
"""
import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder import course_policy
from autograder.course import ASSIGNMENT
from autograder.nbgrader_adapter import Course, hand_graded
from autograder.report import csv_text
from autograder.result import MAX_POINTS
from autograder.student_ids import REGISTRY, RegistryError, StudentIds

FORMATS = ("canvas", "moodle", "csv")
ROSTER_FIELDS = ("student", "name", "canvas_id", "sis_user_id", "sis_login_id", "section",
                 "email", "id_number", "username")
NO_SUBMISSION = "no submission"


class ExportError(Exception):
    """A problem with the roster or the course that stops the export."""


@dataclass
class Row:
    """One student of the roster with the points to export. student: the id in this course
    (None: no submission matched); lms: the roster's fields; autograded, hand: points; pending:
    written answers not graded yet; note: 'no submission' or ''."""
    student: str
    lms: dict
    score: float
    autograded: float
    hand: float
    pending: int
    note: str = ""
    late_percent: float = 0.0


@dataclass
class Export:
    """What export() made: the rows of the roster, the submissions not in the roster
    ({student: score}), the maximum and the maximum of the hand-graded part."""
    rows: list
    unrostered: dict
    max_score: float
    hand_max: float


def _num(value):
    return f"{round(float(value), 2):g}"


def read_roster(path):
    """[{field: value}] of a roster CSV (UTF-8, a BOM allowed; field names case-insensitive;
    unknown columns ignored). ExportError without a student column, or for a canvas_id that
    is not a number."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [h.strip().lower() for h in next(reader, [])]
            if "student" not in header:
                raise ExportError(f"{path}: the roster needs a 'student' column (the id in this course or the "
                                  f"name in the LMS download); its columns: {', '.join(header) or 'none'}")
            rows = []
            for line, values in enumerate(reader, start=2):
                row = {h: v.strip() for h, v in zip(header, values) if h in ROSTER_FIELDS}
                if not row.get("student"):
                    continue
                if row.get("canvas_id") and not row["canvas_id"].isdigit():
                    raise ExportError(f"{path}, line {line}: canvas_id {row['canvas_id']!r} is not a Canvas user id "
                                      f"(a number)")
                rows.append(row)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ExportError(f"{path}: cannot read the roster ({e})") from None
    return rows


def owners(course_dir):
    """{raw id: id} of the course's student_ids.json ({} without one)."""
    try:
        return StudentIds.load(Path(course_dir) / REGISTRY).owners
    except RegistryError as e:
        raise ExportError(str(e)) from None


def registry_roster(course_dir):
    """The roster made from student_ids.json: each raw id (the LMS download's name) as the
    name of its id."""
    return [{"student": student, "name": raw} for raw, student in sorted(owners(course_dir).items(),
                                                                         key=lambda i: i[1])]


def export(course_dir, roster=None):
    """The Export of a graded course: roster rows ([{field: value}], default the registry's)
    joined with the gradebook's totals (autograder/nbgrader_adapter.py Course.totals)."""
    course_dir = Path(course_dir)
    if not (course_dir / "gradebook.db").exists():
        raise ExportError(f"{course_dir} has no gradebook.db: grade the submissions first (grade ... --course {course_dir})")
    totals = Course(course_dir).totals()
    policy = course_policy.load(course_dir)
    late_percent = {s: policy.percent(t.seconds_late) if policy else 0.0 for s, t in totals.items()}
    final = {s: round((t.autograded + t.hand_graded) * (1 - late_percent[s] / 100), 6) for s, t in totals.items()}
    registry = owners(course_dir)
    hand_max = sum(hand_graded(course_dir).values())
    roster = registry_roster(course_dir) if roster is None else roster
    rows, seen = [], set()
    for entry in roster:
        key = entry["student"]
        student = key if key in totals else registry.get(key, key)
        if student in seen:
            raise ExportError(f"the roster names {student!r} twice")
        seen.add(student)
        lms = dict(entry)
        lms.setdefault("name", key)
        if student in totals:
            t = totals[student]
            rows.append(Row(student, lms, final[student], t.autograded, t.hand_graded, t.pending,
                            late_percent=late_percent[student]))
        else:
            rows.append(Row(None, lms, 0.0, 0.0, 0.0, 0, NO_SUBMISSION))
    unrostered = {s: final[s] for s in sorted(totals) if s not in seen}
    return Export(rows, unrostered, MAX_POINTS + hand_max, hand_max)


def feedback_zh(row, result):
    """The Chinese feedback of a row for Moodle's feedback column (the student reads it)."""
    if row.note == NO_SUBMISSION:
        return "没有收到提交，计 0 分。"
    written = f"书面回答 {_num(row.hand)} / {_num(result.hand_max)}（人工评分"
    written += f"，{row.pending} 题尚未评分）" if row.pending else "）"
    late = f"，迟交扣除 {row.late_percent:g}%" if row.late_percent else ""
    return (f"自动评分 {_num(row.autograded)} / {MAX_POINTS}，{written}{late}，"
            f"共 {_num(row.score)} / {_num(result.max_score)} 分。")


def write(result, fmt, path, item=ASSIGNMENT, canvas_assignment_id=None):
    """Writes result in fmt ('canvas', 'moodle', 'csv') to path (UTF-8, comma-separated)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if fmt == "canvas":
            column = f"{item} ({canvas_assignment_id})" if canvas_assignment_id else item
            writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column])
            writer.writerow(["Points Possible", "", "", "", "", _num(result.max_score)])
            for row in result.rows:
                lms = row.lms
                writer.writerow([csv_text(lms.get("name", "")), lms.get("canvas_id", ""), lms.get("sis_user_id", ""),
                                 lms.get("sis_login_id", ""), lms.get("section", ""), _num(row.score)])
        elif fmt == "moodle":
            writer.writerow(["Student", "Username", "Email address", "ID number", item, f"{item} (feedback)"])
            for row in result.rows:
                lms = row.lms
                writer.writerow([csv_text(lms.get("name", "")), lms.get("username", ""), lms.get("email", ""),
                                 lms.get("id_number", ""), _num(row.score), feedback_zh(row, result)])
        elif fmt == "csv":
            writer.writerow(["student", "name", "score", "max_score", "autograded", "autograded_max",
                             "hand_graded", "hand_graded_max", "hand_pending", "note"])
            rows = [(row.student or "", row.lms.get("name", ""), row.score, row.autograded, row.hand, row.pending,
                     row.note) for row in result.rows]
            rows += [(student, "", score, None, None, None, "not in the roster")
                     for student, score in result.unrostered.items()]
            for student, name, score, auto, hand, pending, note in rows:
                writer.writerow([csv_text(student), csv_text(name), _num(score), _num(result.max_score),
                                 "" if auto is None else _num(auto), MAX_POINTS,
                                 "" if hand is None else _num(hand), _num(result.hand_max),
                                 "" if pending is None else pending, note])
        else:
            raise ValueError(fmt)
    return Path(path)


def notes_lines(result, fmt, path):
    """What an instructor must know about the export, in English (console and notes file)."""
    lines = [f"{fmt} grade import file: {path}",
             f"Score exported: the autograded test cells (of {MAX_POINTS}) plus the written answers graded by hand "
             f"in formgrader (of {_num(result.hand_max)}), from nbgrader's gradebook: out of {_num(result.max_score)}; "
             f"less the late penalty of course_policy.toml, if any.",
             f"{len(result.rows)} students in the roster."]
    missing = [row.lms.get("name") or row.lms["student"] for row in result.rows if row.note == NO_SUBMISSION]
    if missing:
        lines.append(f"{len(missing)} without a submission (exported as 0, '{NO_SUBMISSION}'): " + ", ".join(missing))
    late = [f"{row.student} (-{row.late_percent:g}%)" for row in result.rows if row.late_percent]
    if late:
        lines.append(f"{len(late)} with a late penalty (exported after it): " + ", ".join(late))
    pending = [f"{row.student} ({row.pending})" for row in result.rows if row.pending]
    if pending:
        lines.append(f"{len(pending)} with written answers not graded by hand yet (they count 0): " + ", ".join(pending))
    if result.unrostered:
        where = "kept in this file" if fmt == "csv" else "NOT in this file: add them to the roster"
        lines.append(f"{len(result.unrostered)} submissions whose student is not in the roster ({where}):")
        lines += [f"  {student}  {_num(score)} / {_num(result.max_score)}" for student, score in result.unrostered.items()]
    if fmt == "moodle" and result.rows and not any(row.lms.get(k) for row in result.rows
                                                   for k in ("email", "id_number", "username")):
        lines.append("warning: Moodle matches users by email, ID number or username only; this roster has none "
                     "(give --roster with an email, id_number or username column).")
    if fmt == "canvas" and result.rows and not any(row.lms.get(k) for row in result.rows
                                                   for k in ("canvas_id", "sis_user_id", "sis_login_id")):
        lines.append("note: no Canvas ids in the roster; Canvas matches these rows by name and asks about the rest.")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.lms_export", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("format", choices=FORMATS)
    parser.add_argument("--course", default="grading", help="the course graded by grade (default: ./grading)")
    parser.add_argument("--roster", type=Path, default=None, help="roster CSV (default: student_ids.json)")
    parser.add_argument("--out", type=Path, default=None, help="output file (default: <course>/lms_<format>.csv)")
    parser.add_argument("--item", default=ASSIGNMENT, help=f"the assignment's name in the LMS (default {ASSIGNMENT})")
    parser.add_argument("--canvas-assignment-id", default=None, help="Canvas's assignment id (a number)")
    args = parser.parse_args(argv)
    if args.canvas_assignment_id and not args.canvas_assignment_id.isdigit():
        parser.error("--canvas-assignment-id must be a number")
    course = Path(args.course)
    out = args.out or course / {"canvas": "lms_canvas.csv", "moodle": "lms_moodle.csv", "csv": "lms_grades.csv"}[args.format]
    try:
        result = export(course, read_roster(args.roster) if args.roster else None)
    except (ExportError, course_policy.PolicyError) as e:
        print(f"lms_export: error: {e}", file=sys.stderr)
        return 2
    write(result, args.format, out, args.item, args.canvas_assignment_id)
    lines = notes_lines(result, args.format, out)
    notes = out.with_name(out.stem + "_notes.txt")
    notes.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"Notes: {notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
