"""How the hidden checks name the held-apart corpus (generator.py): per part, how many
one-bug variants are named correctly (a name the variant accepts), wrongly (any other
name) or not at all, and how many valid variants are named (they must pass).

    python -m tests.relation_corpus.measure [--seed N]

prints the table (markdown). Run from another checkout (PYTHONPATH=<checkout>) to measure
that checkout's checks on the same corpus: a checks package without relations names
catalogue entries only.
"""
import argparse
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np

from autograder import checks
from autograder.parts import PARTS
from .generator import namespace, variants


@dataclass(frozen=True)
class Outcome:
    """What the check did with one variant: verdict "correct", "wrong", "unnamed" (a
    mistake), "passed" or "named" (a valid variant); name: the name given, if any."""
    variant: object
    verdict: str
    name: str = None
    message: str = ""


def name_of(failure):
    """The name a CheckFailure gives: "mistake:<catalogue id>", "relation:<kind:detail>" or None."""
    if failure.mistake:
        return f"mistake:{failure.mistake}"
    relation = getattr(failure, "relation", None)
    return f"relation:{relation.id}" if relation is not None else None


def outcome(variant, seed=None):
    """Runs variant's part's check in this process on variant's code."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            checks.check_part(namespace(variant), PARTS[variant.part], seed)
        except checks.CheckFailure as failure:
            name = name_of(failure)
            if variant.valid:
                verdict = "named" if name else "failed"
            else:
                verdict = "unnamed" if name is None else "correct" if name in variant.expect else "wrong"
            return Outcome(variant, verdict, name, str(failure))
    return Outcome(variant, "passed" if variant.valid else "missed")


def outcomes(seed=None):
    return [outcome(variant, seed) for variant in variants()]


def table(results):
    """The markdown table: one row per part, then the total."""
    rows = ["| part | mistakes | named correctly | named wrongly | unnamed | valid | valid named or failed |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    total = Counter()
    for grade_id, part in PARTS.items():
        counts = Counter(r.verdict for r in results if r.variant.part == grade_id)
        valid = sum(1 for r in results if r.variant.part == grade_id and r.variant.valid)
        mistakes = sum(1 for r in results if r.variant.part == grade_id and not r.variant.valid)
        if not (mistakes or valid):
            continue
        row = Counter(mistakes=mistakes, correct=counts["correct"], wrong=counts["wrong"],
                      unnamed=counts["unnamed"] + counts["missed"], valid=valid,
                      bad_valid=counts["named"] + counts["failed"])
        total.update(row)
        rows.append(f"| {part.name} | {row['mistakes']} | {row['correct']} | {row['wrong']} | {row['unnamed']} | "
                    f"{row['valid']} | {row['bad_valid']} |")
    share = 100.0 * total["correct"] / max(total["mistakes"], 1)
    rows.append(f"| **all** | {total['mistakes']} | {total['correct']} ({share:.0f} %) | {total['wrong']} | "
                f"{total['unnamed']} | {total['valid']} | {total['bad_valid']} |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None, help="a student's seed of the checks' inputs")
    parser.add_argument("--verbose", action="store_true", help="list every variant that is not named correctly")
    args = parser.parse_args()
    results = outcomes(args.seed)
    print(table(results))
    if args.verbose:
        for r in results:
            if r.verdict not in ("correct", "passed"):
                print(f"{r.variant.id}: {r.verdict} {r.name or ''} | {r.message[:200]}")


if __name__ == "__main__":
    main()
