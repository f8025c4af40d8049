"""Published variants (catalogue entries of kind "variant"): the share of a cell's points
the parts table gives them reaches the check's failure and nbgrader's score; when no single
entry matches, pairs of a part's entries are tried, within a small time."""
import dataclasses
import time

import numpy as np
import pytest
from nbformat.v4 import new_code_cell

from autograder import catalogue, checks
from autograder.nbgrader_adapter import _verdict_outputs
from autograder.parts import PARTS, VARIANT_CREDIT, Part


def failure(ns, part, seed=None):
    with pytest.raises(checks.CheckFailure) as caught, np.errstate(all="ignore"):
        checks.check_part(ns, part, seed)
    return caught.value


@pytest.mark.parametrize("credit", [0.0, 0.25, 1.0])
def test_the_parts_table_sets_a_variants_share(credit):
    entry = catalogue.get("adam_folded_step")
    part = dataclasses.replace(PARTS[entry.part], variant_credit=credit)
    found = failure(entry.namespace(), part)
    assert found.mistake == entry.id and found.credit == credit
    assert f"这一格得 {part.points * credit:g} / {part.points:g} 分" in str(found)


def test_the_default_share_is_half_and_a_share_outside_0_1_is_refused():
    assert VARIANT_CREDIT == 0.5 and all(p.variant_credit == 0.5 for p in PARTS.values())
    with pytest.raises(ValueError):
        Part("test_x", "X", 5, "optimizer", variant_credit=1.5)


def test_a_mistake_earns_nothing_and_a_variant_with_a_mistake_neither():
    mistake = catalogue.get("adam_no_bias_correction")
    assert failure(mistake.namespace(), PARTS[mistake.part]).credit == 0.0
    pair = catalogue.combined(catalogue.get("adam_folded_step"), catalogue.get("adam_fixed_epsilon_1e7"))
    found = failure(pair.namespace(), PARTS[pair.part])
    assert found.mistake == pair.id and found.credit == 0.0
    assert "同时有两处与课文不同的地方" in str(found)


def test_two_edits_of_the_same_text_make_no_pair():
    assert catalogue.combined(catalogue.get("adam_fixed_epsilon"), catalogue.get("adam_fixed_epsilon_1e7")) is None


@pytest.mark.parametrize("score, points", [(0.0, 0.0), (5.5, 5.5), (11.0, 11.0)])
def test_nbgrader_reads_the_verdicts_score(score, points):
    from nbgrader.utils import determine_grade
    cell = new_code_cell("", metadata={"nbgrader": {"grade": True, "solution": False, "points": 11,
                                                     "grade_id": "test_adam"}})
    cell.outputs = _verdict_outputs("test_adam", score, "这是一种已发表的写法")
    assert determine_grade(cell) == (points, 11.0)


def test_trying_pairs_is_bounded_and_quick():
    """The part with the most entries: a failure no entry or pair explains tries every pair."""
    part = max((p for p in PARTS.values() if p.kind == "optimizer"), key=lambda p: len(catalogue.entries(p.grade_id, valid=False)))
    n = len(catalogue.entries(part.grade_id, valid=False))
    ns = catalogue.namespace()
    exec("class Unknown(" + part.name + "):\n"
         "    def update(self, params, grads):\n"
         "        super().update(params, {k: 1.01 * g for k, g in grads.items()})\n", ns)
    ns[part.name] = ns["Unknown"]
    start = time.monotonic()
    found = failure(ns, part, seed=7)
    seconds = time.monotonic() - start
    assert found.mistake is None
    print(f"{part.name}: {n} entries, {n * (n - 1) // 2} pairs at most, {seconds:.2f} s")
    assert n * (n - 1) // 2 <= 100 and seconds < 15


def test_the_report_counts_a_pair_under_its_part_and_marks_a_variant():
    from autograder.report import mistake_counts
    from autograder.result import SubmissionResult
    pair = "adam_folded_step+adam_fixed_epsilon_1e7"
    results = {"x": SubmissionResult("x", scores={"test_adam": 0.0}, mistakes={"test_adam": pair}),
               "y": SubmissionResult("y", scores={"test_adam": 5.5}, mistakes={"test_adam": "adam_folded_step"})}
    assert mistake_counts(results) == {"test_adam": {"adam_folded_step": ["y"], pair: ["x"]}}
