"""A check's verdict: check_part runs a part's scenario on the student's code and on the
reference, and raises CheckFailure with the first difference and what the student's code
does wrong: the catalogue entry it behaves like (diagnose.py), else the relation to the
reference that explains every observation (relations.py), else a neutral hint.
"""
import numpy as np

from autograder.checks.compare import first_difference
from autograder.checks.diagnose import catalogue_match, state_hint
from autograder.checks.relations import explain
from autograder.checks.scenarios import expected_record, record_of, scenario_of


class CheckFailure(AssertionError):
    """A failed check: str() is the Chinese message; mistake is the id of the catalogue
    entry (autograder/catalogue.py) whose behaviour the student's code showed, or None
    ("a+b" for two entries at once); credit is the share of the cell's points it still earns
    (a published variant: its part's Part.variant_credit; else 0); relation is the
    relations.Relation that explains every observation when no catalogue entry does, or None."""

    def __init__(self, message, mistake=None, credit=0.0, relation=None):
        super().__init__(message)
        self.mistake = mistake
        self.credit = credit
        self.relation = relation


def check_part(ns, part, seed=None):
    """Runs the check of part (a parts.Part) on ns; raises CheckFailure when it fails.
    seed (a non-negative int, from autograder.course_secret.student_seed): the check's
    random inputs and non-default hyper-parameters are drawn from it, the same for the same
    seed; None: the fixed inputs (the notebook's own hidden-test cells, the tests)."""
    saved = np.random.get_state()  # the scenarios seed numpy's global generator
    try:
        scenario = scenario_of(part)
        student = record_of(scenario, ns, part, seed=seed)
        expected = expected_record(part, student, seed)
        found = first_difference(student, expected)
        if found is None:
            return
        fact, hint, cause, failed = found
        mistake, where = catalogue_match(part, student, seed)
        relation = explain(part, student, expected, seed) if mistake is None else None
        fact = fact if fact.endswith(("。", "）", "：")) else fact + "。"
        credit = part.variant_credit if mistake is not None and mistake.variant and not where else 0.0
        if mistake is not None:
            message = fact + mistake.diagnosis(where)
            if mistake.variant and not where:
                message += f"（已发表的写法：这一格得 {part.points * credit:g} / {part.points:g} 分。）"
        elif relation is not None:
            message = fact + relation.message
        else:
            message = fact + hint + state_hint(ns, part, failed, seed)
    finally:
        np.random.set_state(saved)
    raise CheckFailure(message, mistake.id if mistake is not None else None, credit, relation) from cause


