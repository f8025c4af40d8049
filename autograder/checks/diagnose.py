"""Naming what the student's code does wrong, after a check failed: the catalogue entry
(a known mistake or published variant, or a pair of the part's own) whose behaviour the
student's record matches everywhere (catalogue_match), and, for an optimizer that matches
none, how its state attributes compare with the text's at the failing step (state_hint).
"""
import logging
import warnings
from collections.abc import Mapping

import numpy as np

from autograder import catalogue
from autograder.checks.compare import largest_difference, matches
from autograder.checks.scenarios import optimizer_scenario, record_of, reference_namespace, scenario_of
from autograder.parts import PARTS

log = logging.getLogger(__name__)


def catalogue_match(part, student, seed):
    """(the catalogue entry the student's record matches, where text) or (None, ""): each
    mistake or variant of the part and of the parts it uses, then each pair of the part's own
    (catalogue.combined; at most n(n-1)/2 runs of the scenario for the part's n entries)."""
    own = catalogue.entries(part.grade_id, valid=False)
    candidates = [(entry, "") for entry in own]
    for used in part.uses:
        candidates += [(entry, f"{part.name} 用到的 {PARTS[used].name} ")
                       for entry in catalogue.entries(used, valid=False)]
    for entry, where in candidates:
        if behaves_like(entry, part, student, seed):
            return entry, where
    for i, first in enumerate(own):
        for second in own[i + 1:]:
            pair = catalogue.combined(first, second)
            if pair is not None and behaves_like(pair, part, student, seed):
                return pair, ""
    return None, ""


def behaves_like(entry, part, student, seed):
    """The student's record equals the record of the catalogue entry's code (in this process)."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # mistakes divide by zero, overflow, ...
            record = record_of(scenario_of(part), catalogue.namespace(entry), part, student.given, seed)
        return matches(student, record)
    except Exception:  # a problem of the catalogue must not change a verdict
        log.exception("catalogue entry %s could not run", entry.id)
        return False


def state_hint(ns, part, failed, seed):
    """For an optimizer whose parameters differ from the reference's at a step: how its
    state attributes at that step compare with the text's (a hint; never graded)."""
    if part.kind != "optimizer" or failed is None or failed.kind != "params" or not part.state:
        return ""
    at = (failed.options["run"], failed.options["step"])
    student = record_of(optimizer_scenario, ns, part, seed=seed, state_at=at)
    expected = record_of(optimizer_scenario, reference_namespace(), part, seed=seed, state_at=at)
    if not (student.items and student.items[-1].kind == "state"):
        return ""
    got, want = student.items[-1].value, expected.items[-1].value
    notes, different, same = [], [], []
    missing = [attribute for attribute in part.state if attribute not in got]
    if missing:
        names = "、".join(f"{part.name}.{a}" for a in missing)
        notes.append(f"没有找到 {names}（如果你用别的名字保存{'它们' if len(missing) > 1 else '它'}，"
                     f"可以忽略这一条）。")
    for attribute in part.state:
        if attribute not in got:
            continue
        value = got[attribute]
        if attribute == "t":
            if np.ndim(value) != 0 or value != want["t"]:
                notes.append(f"{part.name}.t 应为 {want['t']}，实际为 {value}：t 应从 0 开始，并在每次 update 开始时加 1。")
            continue
        expected_state = want[attribute]
        if (isinstance(value, Mapping) and set(value) == set(expected_state)
                and all(same_value_loosely(value[k], expected_state[k]) for k in expected_state)):
            same.append(attribute)
        else:
            different.append(attribute)
    if different:
        names = "、".join(f"self.{a}" for a in different)
        notes.append(f"你的 {names} 在这一步与课文公式中的值不同（如果你有意用了另一种等价的记法，可以忽略这一条）。")
    elif same:
        names = "、".join(f"self.{a}" for a in same)
        notes.append(f"{names} 与课文的公式一致，问题在用它们更新参数的那一步。")
    return ("（参考：" + "".join(notes) + "）") if notes else ""


def same_value_loosely(a, b):
    """a is an array of b's shape within 1e-4 of b (relative to b's largest value): a state
    kept in another dtype or summed in another order is still the text's."""
    return isinstance(a, np.ndarray) and a.shape == b.shape and largest_difference(a, b, 1e-4) is None


