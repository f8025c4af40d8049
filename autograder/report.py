"""The class's numbers from the per-student SubmissionResults (autograder.result): grades.csv
and the text table `grade` prints, each part's pass rate, and per part which students made each
catalogued mistake or relation to the reference (class_summary: what the class gets wrong,
with a sentence to say in class). The columns follow the table of parts (autograder/parts.py).
report.html and report.png show these numbers (autograder/report_page.py). The note at the top
of each student's feedback page is autograder/feedback_page/note.py's (add_feedback_note,
imported here for the batch)."""
import csv
from zoneinfo import ZoneInfo

from autograder import catalogue
from autograder.checks import relations
from autograder.feedback_page.note import add_feedback_note, feedback_note  # noqa: F401 (the batch's entry)
from autograder.parts import PARTS, TEST_CELLS
from autograder.result import MAX_POINTS

TOLERANCE = 1e-6
SHORT = {part.grade_id: part.short for part in PARTS.values()}
WEAK_WARNING = ("WARNING: graded WITHOUT bubblewrap (--allow-weak-sandbox): the student's code ran as the "
                "grader's user with the grading machine's files and network in reach")


def _fmt(value):
    return "" if value is None else f"{value:g}"


# --------------------------------------------------------------------------------------
# grades.csv and the text table
# --------------------------------------------------------------------------------------

def mistakes_text(result):
    """The named mistakes of a result, in the table's order: 'test_adam:adam_no_bias_correction ...'."""
    return " ".join(f"{g}:{result.mistakes[g]}" for g in TEST_CELLS if result.mistakes.get(g))


# A text cell starting with one of these is a formula to a spreadsheet (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value):
    """A text cell of grades.csv as spreadsheets show it as text: one that starts like a
    formula gets a leading single quote (its text comes from students' folder names and
    notes). Score columns are numbers and never pass through here."""
    value = "" if value is None else str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


LATE_COLUMNS = ("submitted", "due", "late_hours", "penalty_percent", "penalty", "final")


def late_cells(result):
    """The cells of LATE_COLUMNS for result: when it was submitted and its due date (ISO, UTC
    offset of the policy's zone), hours late, the penalty in percent and in points, and the
    total after it; empty without a course policy, submitted empty when the time is unknown."""
    late = result.lateness
    if late is None:
        return ["", "", "", "", "", _fmt(result.total)]
    stamp = lambda moment: moment.astimezone(ZoneInfo(late.time_zone)).isoformat(timespec="seconds")  # noqa: E731
    return [stamp(late.submitted) if late.known else "", stamp(late.due), _fmt(late.hours()), _fmt(late.percent),
            _fmt(None if result.total is None else late.penalty(result.total)), _fmt(result.final)]


def write_grades_csv(results, path):
    """student, the score of each test cell, total (before any late penalty), mistakes
    (grade_id:catalogue id of each named mistake), limits (kind@where), sandbox, source,
    reasons, then LATE_COLUMNS (late_cells). Cells are empty for a submission that could not
    be graded; text cells go through csv_text."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *TEST_CELLS, "total", "mistakes", "limits", "sandbox", "source", "reasons",
                         *LATE_COLUMNS])
        for student, result in sorted(results.items()):
            scores = result.scores
            writer.writerow([csv_text(student),
                             *[_fmt(None if scores is None else scores.get(g, 0.0)) for g in TEST_CELLS],
                             _fmt(result.total), csv_text(mistakes_text(result)),
                             csv_text(" ".join(f"{l.kind}@{l.where}" for l in result.limits)),
                             csv_text(result.sandbox), csv_text(result.source),
                             csv_text(" | ".join(result.reasons())), *late_cells(result)])


def text_table(results):
    """Aligned table: the score of each test cell, the total, and the first reason; a student id
    longer than 30 characters is cut to its first 30."""
    width = min(max([8] + [len(s) for s in results]), 30)
    header = f"{'student':<{width}}" + "".join(f"{SHORT[g][:8]:>9}" for g in TEST_CELLS) + f"{'total':>7}  notes"
    lines = [header, f"{'(points)':<{width}}" + "".join(f"{p:>9}" for p in TEST_CELLS.values())
             + f"{MAX_POINTS:>7}"]
    for student, result in sorted(results.items()):
        scores = result.scores or {}
        cells = "".join(f"{_fmt(scores.get(g)):>9}" if result.graded else f"{'-':>9}" for g in TEST_CELLS)
        reasons = result.reasons()
        note = (reasons[0][:60] + (f" (+{len(reasons) - 1})" if len(reasons) > 1 else "")) if reasons else ""
        lines.append(f"{student[:width]:<{width}}{cells}{_fmt(result.total) or '-':>7}  {note}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# The class's numbers (report.html shows them)
# --------------------------------------------------------------------------------------

def pass_rates(results):
    """{grade_id: (fraction of graded submissions with full points, mean points, count)}."""
    graded = [r.scores for r in results.values() if r.graded]
    rates = {}
    for grade_id, points in TEST_CELLS.items():
        scores = [v.get(grade_id, 0.0) for v in graded]
        full = sum(s >= points - TOLERANCE for s in scores)
        rates[grade_id] = (full / len(scores) if scores else 0.0,
                           sum(scores) / len(scores) if scores else 0.0, len(scores))
    return rates


def mistake_counts(results):
    """{grade_id of the mistake's own part: {catalogue id: sorted students}}: which graded
    students made each catalogued mistake (named in any cell: an Affine mistake named in
    test_network too counts once, under test_affine), parts and mistakes in the table's and
    the catalogue's order."""
    students = {}
    for student, result in results.items():
        if result.graded:
            for entry_id in set(result.mistakes.values()):
                students.setdefault(entry_id, set()).add(student)
    counts = {}
    for entry in catalogue.entries(valid=False):
        if entry.id in students:
            counts.setdefault(entry.part, {})[entry.id] = sorted(students.pop(entry.id))
    for entry_id, names in students.items():  # a pair ("a+b", under a's part), or no longer in the catalogue
        first = next((e for e in catalogue.ENTRIES if e.id == entry_id.split("+")[0]), None)
        counts.setdefault(first.part if first and "+" in entry_id else "", {})[entry_id] = sorted(names)
    return counts


def relation_counts(results):
    """{grade_id: {relation id: sorted students}}: which graded students' failures were named
    by a relation to the reference (no catalogue entry matched), parts in the table's order."""
    counts = {}
    for student, result in results.items():
        if result.graded:
            for grade_id, relation_id in result.relations.items():
                counts.setdefault(grade_id, {}).setdefault(relation_id, []).append(student)
    return {g: {r: sorted(names) for r, names in counts[g].items()} for g in TEST_CELLS if g in counts}


def class_summary(results):
    """{grade_id: [(students, name, sentence)]} ordered by how many students: every catalogued
    mistake and relation named in the part (sentence: what an instructor can say in class, in
    Chinese), then the failures nothing named ("wrong values")."""
    items = {}
    for grade_id, mistakes in mistake_counts(results).items():
        for entry_id, students in mistakes.items():
            entry = next((e for e in catalogue.ENTRIES if e.id == entry_id), None)
            text = f"{entry.title}：{entry.explanation}{entry.fix}" if entry else entry_id
            items.setdefault(grade_id, []).append((students, entry_id, text))
    for grade_id, found in relation_counts(results).items():
        for relation_id, students in found.items():
            items.setdefault(grade_id, []).append((students, relation_id, relations.sentence(relation_id)))
    for grade_id, points in TEST_CELLS.items():
        unnamed = sorted(s for s, r in results.items() if r.graded and r.scores.get(grade_id, 0.0) < points - TOLERANCE
                         and not r.mistakes.get(grade_id) and not r.relations.get(grade_id))
        if unnamed:
            items.setdefault(grade_id, []).append((unnamed, "", "数值不对，没有找到可以说明的原因（见各人的反馈）。"))
    return {g: sorted(items[g], key=lambda item: (-len(item[0]), item[1] == "")) for g in TEST_CELLS if g in items}
