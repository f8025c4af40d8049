"""Time the diagnosis of a failed check on the held-apart corpus (tests/relation_corpus):
per part, the seconds of check_part on its failing variants (the scenario on the student's code
and the reference, the catalogue's entries, the relations), and of the student's scenario plus
relations.explain alone (the share of the relations).

    .venv/bin/python benchmarks/bench_relations.py [--repeat 3]
"""
import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autograder import checks  # noqa: E402
from autograder.checks.relations import explain  # noqa: E402
from autograder.checks.scenarios import expected_record, record_of, scenario_of  # noqa: E402
from autograder.parts import PARTS  # noqa: E402
from tests.relation_corpus.generator import namespace, variants  # noqa: E402


def timed(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| part | failing variants | check_part, median s | scenario + relations.explain, median s |")
    print("|---|---:|---:|---:|")
    for grade_id, part in PARTS.items():
        chosen = [v for v in variants() if v.part == grade_id and not v.valid]
        check_times, explain_times = [], []
        for variant in chosen:
            ns = namespace(variant)

            def check():
                try:
                    checks.check_part(ns, part)
                except checks.CheckFailure:
                    pass

            def relation():
                student = record_of(scenario_of(part), ns, part)
                explain(part, student, expected_record(part, student, None), None)

            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                check_times.append(min(timed(check) for _ in range(args.repeat)))
                explain_times.append(min(timed(relation) for _ in range(args.repeat)))
        print(f"| {part.name} | {len(chosen)} | {statistics.median(check_times):.3f} | "
              f"{statistics.median(explain_times):.3f} |")


if __name__ == "__main__":
    main()
