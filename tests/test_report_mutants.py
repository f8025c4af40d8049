"""The report's totals: grades.csv, the console table, the pass rates and report.html add up the
points of three students as a batch grades them -- one with a published variant (its share of the
cell), a known mistake (0) and a part not found (0), one with full points, one not graded. A
change of how the report counts or adds fails here. In this process: `make mutation` runs it."""
import csv

import pytest

from autograder import catalogue
from autograder.parts import PARTS, TEST_CELLS
from autograder.report import class_summary, mistake_counts, pass_rates, relation_counts, text_table, write_grades_csv
from autograder.report_page import write_report
from autograder.result import SubmissionResult

VARIANT = catalogue.entries("test_adabelief", kind="variant")[0]
MISTAKE = catalogue.get("momentum_sign_error")
MISSING = "test_nesterov"
FULL_CELLS = [g for g in TEST_CELLS if g not in (VARIANT.part, MISTAKE.part, MISSING)]
MAX = sum(TEST_CELLS.values())


def mixed_scores():
    scores = {g: float(TEST_CELLS[g]) for g in FULL_CELLS}
    scores.update({VARIANT.part: TEST_CELLS[VARIANT.part] * PARTS[VARIANT.part].variant_credit,
                   MISTAKE.part: 0.0, MISSING: 0.0})
    return scores


def results():
    mixed = SubmissionResult("mixed", scores=mixed_scores(), messages={g: "" for g in TEST_CELLS},
                             mistakes={VARIANT.part: VARIANT.id, MISTAKE.part: MISTAKE.id})
    full = SubmissionResult("full", scores=dict(TEST_CELLS), messages={g: "" for g in TEST_CELLS})
    return {"mixed": mixed, "full": full, "late": SubmissionResult("late")}


def mixed_total():
    return sum(TEST_CELLS[g] for g in FULL_CELLS) + TEST_CELLS[VARIANT.part] * PARTS[VARIANT.part].variant_credit


def test_grades_csv_holds_each_cells_points_and_the_sum(tmp_path):
    write_grades_csv(results(), tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert header == ["student", *TEST_CELLS, "total", "mistakes", "limits", "sandbox", "source", "reasons",
                      "submitted", "due", "late_hours", "penalty_percent", "penalty", "final"]
    assert set(rows) == {"mixed", "full", "late"}
    for grade_id in TEST_CELLS:
        assert float(rows["mixed"][grade_id]) == pytest.approx(mixed_scores()[grade_id])
        assert float(rows["full"][grade_id]) == TEST_CELLS[grade_id]
        assert rows["late"][grade_id] == ""
    assert float(rows["mixed"]["total"]) == pytest.approx(mixed_total())
    assert float(rows["full"]["total"]) == MAX and rows["late"]["total"] == ""
    assert rows["mixed"]["mistakes"] == f"{MISTAKE.part}:{MISTAKE.id} {VARIANT.part}:{VARIANT.id}"


def test_pass_rates_count_full_points_among_graded_submissions():
    rates = pass_rates(results())
    assert list(rates) == list(TEST_CELLS)
    for grade_id, (rate, mean, count) in rates.items():
        assert count == 2  # "late" was not graded
        assert rate == (1.0 if grade_id in FULL_CELLS else 0.5), grade_id
        assert mean == pytest.approx((mixed_scores()[grade_id] + TEST_CELLS[grade_id]) / 2)


def test_the_table_and_the_page_show_the_totals(tmp_path):
    rows = {line.split()[0]: line.split() for line in text_table(results()).splitlines()}
    total, cells = f"{mixed_total():g}", len(TEST_CELLS)
    assert rows["mixed"][1:cells + 2] == [f"{mixed_scores()[g]:g}" for g in TEST_CELLS] + [total]
    assert rows["full"][1:cells + 2] == [f"{p:g}" for p in TEST_CELLS.values()] + [f"{MAX:g}"]
    assert rows["late"][1:cells + 2] == ["-"] * (cells + 1)
    assert rows["(points)"][1:] == [f"{p:g}" for p in TEST_CELLS.values()] + [f"{MAX:g}"]
    page = write_report(results(), tmp_path / "r.html", tmp_path / "r.png").read_text(encoding="utf-8")
    assert f"<td><b>{total}</b></td>" in page and f"<td><b>{MAX:g}</b></td>" in page
    assert "3 submissions; 2 graded;" in page and "<b>1 not graded</b>" in page
    assert f"mean total {(mixed_total() + MAX) / 2:.1f} / {MAX}" in page
    for grade_id in TEST_CELLS:
        full = 2 if grade_id in FULL_CELLS else 1
        assert f"<td class='name'>{grade_id}</td><td>{TEST_CELLS[grade_id]}</td><td>{full / 2:.0%} ({full}/2)</td>" in page


def test_a_mistake_no_longer_in_the_catalogue_is_counted_apart():
    named = {"ann": SubmissionResult("ann", scores=dict(TEST_CELLS), mistakes={"test_affine": "no_longer_listed"}),
             "ben": SubmissionResult("ben", scores=dict(TEST_CELLS), mistakes={MISTAKE.part: MISTAKE.id})}
    assert mistake_counts(named) == {MISTAKE.part: {MISTAKE.id: ["ben"]}, "": {"no_longer_listed": ["ann"]}}


def test_what_the_class_gets_wrong_counts_each_failure_once_most_frequent_first():
    """Per part: named mistakes and relations, then the failures nothing named; a score within
    rounding of full points is no failure."""
    adam, affine = "test_adam", "test_affine"
    scores = dict(TEST_CELLS)

    def student(name, **changes):
        mistakes, relations = changes.pop("mistakes", {}), changes.pop("relations", {})
        return SubmissionResult(name, scores={**scores, **changes}, mistakes=mistakes, relations=relations)

    relation = "update_rule:sign_flipped"
    batch = {"a": student("a", test_adam=0.0, mistakes={adam: "adam_no_bias_correction"}),
             "b": student("b", test_adam=0.0, relations={adam: relation}),
             "c": student("c", test_adam=0.0, relations={adam: relation}),
             "d": student("d", test_adam=0.0),
             "e": student("e", test_adam=0.0),
             "f": student("f", test_adam=0.0),
             "g": student("g", test_affine=TEST_CELLS[affine] - 1e-9),   # full points, as stored
             "h": student("h", test_affine=TEST_CELLS[affine] - 0.5),
             "i": SubmissionResult("i")}                                  # not graded
    assert relation_counts(batch) == {adam: {relation: ["b", "c"]}}
    summary = class_summary(batch)
    assert list(summary) == [affine, adam]  # the table's order of parts
    assert [(students, name) for students, name, _ in summary[adam]] == [
        (["d", "e", "f"], ""), (["b", "c"], relation), (["a"], "adam_no_bias_correction")]
    assert [(students, name) for students, name, _ in summary[affine]] == [(["h"], "")]
    entry = catalogue.get("adam_no_bias_correction")
    sentences = {name: text for _, name, text in summary[adam]}
    assert entry.title in sentences["adam_no_bias_correction"] and entry.fix in sentences["adam_no_bias_correction"]
    assert "符号" in sentences[relation] and "没有找到" in sentences[""]


def test_the_table_cuts_a_long_id_and_keeps_the_columns_aligned():
    long_id = "x" * 29 + "yz" + "w" * 9  # 40 characters
    table = text_table({long_id: SubmissionResult(long_id, scores=dict(TEST_CELLS)),
                        "bo": SubmissionResult("bo", scores=dict(TEST_CELLS))})
    header, points, second, first = table.splitlines()  # sorted: "bo" first
    assert first.startswith("x" * 29 + "y ") and "z" not in first and "w" not in first
    assert second.startswith("bo" + " " * 28 + " ")
    assert len(first) == len(second) and first.index(f"{MAX:g}") == points.index(f"{MAX:g}")


def test_a_late_submission_shows_its_times_penalty_and_final_total():
    from datetime import datetime, timedelta, timezone

    from autograder.course_policy import Lateness
    from autograder.report import late_cells

    due = datetime(2026, 12, 1, 15, 59, tzinfo=timezone.utc)
    late = Lateness(submitted=due + timedelta(hours=30), source="exchange", due=due, extended=False,
                    late=timedelta(hours=30), percent=20.0, past_cutoff=False, time_zone="Asia/Shanghai")
    result = SubmissionResult("ann", scores=dict(TEST_CELLS), lateness=late)
    assert late_cells(result) == ["2026-12-03T05:59:00+08:00", "2026-12-01T23:59:00+08:00", "30", "20",
                                  f"{MAX * 0.2:g}", f"{MAX * 0.8:g}"]
    unknown = Lateness(None, "", due, False, timedelta(0), 0.0, False, "Asia/Shanghai")
    assert late_cells(SubmissionResult("bo", scores=dict(TEST_CELLS), lateness=unknown))[:2] == [
        "", "2026-12-01T23:59:00+08:00"]
    assert late_cells(SubmissionResult("cy")) == ["", "", "", "", "", ""]  # not graded, no policy


def test_a_missing_text_is_an_empty_cell_and_a_formula_is_quoted():
    from autograder.report import csv_text
    assert csv_text(None) == "" and csv_text(0) == "0" and csv_text("=1+1") == "'=1+1"
