"""Mutation testing of the modules that decide points (`make mutation`).

mutmut (pinned in requirements-mutation.txt) is configured in pyproject.toml's [tool.mutmut]:
which files it mutates (only_mutate) and which fast, in-process tests judge a mutant
(pytest_add_cli_args_test_selection). This script

1. makes every mutant of those files afresh (mutants/, a copy of the project),
2. draws a fixed, seeded sample of them, the same share of each module,
3. runs mutmut on the sample (each mutant against the tests that reach its function), and
4. prints the mutation score of each module and of the whole: killed / (sampled - equivalent),
   where a mutant that no selected test reaches counts as surviving, and the equivalent
   mutants are those listed in docs/mutation.md (a change of code that cannot change any
   verdict; the list holds the reason of each).

The names of the mutants (module.x_function__mutmut_N) follow the source: after the code of a
listed function changes, check the list again (docs/mutation.md says how).

    python scripts/mutation.py [--sample 240] [--seed 22] [--workers 2]
    python scripts/mutation.py --score-only [--sample 240] [--seed 22]

--score-only prints the scores of the last run again from mutants/ (after the list of equivalent
mutants in docs/mutation.md changed), without making or running any mutant.
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT_LIST = ROOT / "docs" / "mutation.md"
# a row of the table under this heading of docs/mutation.md: | `mutant name` | why |
EQUIVALENT_HEADING = "## Equivalent mutants"
EQUIVALENT_ROW = re.compile(r"^\|\s*`([\w.]+__mutmut_\d+)`\s*\|")
KILLED = {"killed", "timeout", "caught by type check", "segfault"}


def loaded_as():
    """{mutant-name prefix mutmut derives from a file's path: the module name the tests load the
    file under}. The visible tests are loaded from their file by autograder.course.load_module
    under another name; mutmut knows a function's mutants by its module's __name__."""
    from autograder.course import SOURCE_DIR, load_module
    return {".".join(path.relative_to(ROOT).with_suffix("").parts) + ".": load_module(path.name).__name__ + "."
            for path in SOURCE_DIR.glob("public_tests.py")}


@dataclass
class ModuleScore:
    """The sampled mutants of one source file and what became of them."""
    path: str
    mutants: int = 0      # all mutants of the file
    sampled: int = 0
    killed: int = 0
    survived: int = 0     # including mutants no selected test reaches
    equivalent: int = 0   # sampled mutants listed in docs/mutation.md

    @property
    def score(self):
        judged = self.sampled - self.equivalent
        return self.killed / judged if judged else 1.0


def equivalent_mutants():
    """Names of the mutants docs/mutation.md lists as equivalent."""
    text = EQUIVALENT_LIST.read_text(encoding="utf-8") if EQUIVALENT_LIST.exists() else ""
    section = text.partition(EQUIVALENT_HEADING)[2].partition("\n## ")[0]
    return {m.group(1) for line in section.splitlines() if (m := EQUIVALENT_ROW.match(line))}


def make_mutants():
    """All mutants of the configured files, made afresh: {source path: [mutant name]}."""
    from mutmut.__main__ import create_mutants
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, walk_mutatable_files

    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    set_mutant_under_test("mutant_generation")
    copy_src_dir()
    copy_also_copy_files()
    create_mutants(max(1, min(4, len(list(walk_mutatable_files())))))
    names, renamed = {}, loaded_as()
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        data.exit_code_by_key = {_renamed(name, renamed): code for name, code in data.exit_code_by_key.items()}
        data.save()
        names[str(path)] = sorted(data.exit_code_by_key, key=_natural)
    if not any(names.values()):
        sys.exit(f"no mutants were made: check only_mutate in [tool.mutmut] of {ROOT / 'pyproject.toml'}")
    return names


def made_mutants():
    """The mutants of the last run, read from mutants/: {source path: [mutant name]}."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.utils.file_utils import walk_mutatable_files

    names = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        names[str(path)] = sorted(data.exit_code_by_key, key=_natural)
    if not any(names.values()):
        sys.exit(f"no mutants in {ROOT / 'mutants'}: run make mutation first")
    return names


def _renamed(name, renamed):
    prefix = next((p for p in renamed if name.startswith(p)), None)
    return renamed[prefix] + name[len(prefix):] if prefix else name


def _natural(name):
    function, _, number = name.rpartition("__mutmut_")
    return function, int(number)


def draw_sample(names, size, seed):
    """A fixed sample of about size mutants, each module's share proportional to its mutants
    (at least 10 of a module that has them)."""
    total = sum(len(v) for v in names.values())
    rng = random.Random(seed)
    sample = {}
    for path, mutants in sorted(names.items()):
        share = min(len(mutants), max(10, round(size * len(mutants) / total)))
        sample[path] = sorted(rng.sample(mutants, share), key=_natural)
    return sample


def run_mutmut(sample, workers):
    """mutmut run on the sampled mutants (results land in mutants/*.meta)."""
    mutmut = Path(sys.executable).with_name("mutmut")
    names = [name for mutants in sample.values() for name in mutants]
    run = subprocess.run([str(mutmut), "run", "--max-children", str(workers), *names], cwd=ROOT, check=False)
    if run.returncode != 0:
        sys.exit(f"mutmut failed (exit status {run.returncode}): its output above says why; the tests it "
                 f"runs are pytest_add_cli_args_test_selection in [tool.mutmut] of {ROOT / 'pyproject.toml'}")


def scores(names, sample, equivalent):
    """{path: ModuleScore} read from mutmut's results; also the surviving mutants' names."""
    from mutmut.stats import status_by_exit_code

    result, survivors = {}, []
    for path, mutants in sorted(names.items()):
        meta = json.loads((ROOT / "mutants" / (path + ".meta")).read_text(encoding="utf-8"))
        codes = meta["exit_code_by_key"]
        module = result[path] = ModuleScore(path, mutants=len(mutants), sampled=len(sample[path]))
        for name in sample[path]:
            status = status_by_exit_code[codes.get(name)]
            if name in equivalent:
                module.equivalent += 1
            elif status in KILLED:
                module.killed += 1
            else:
                module.survived += 1
                survivors.append((name, status))
    return result, survivors


def table(result):
    lines = [f"{'module':<40} {'mutants':>7} {'sampled':>7} {'killed':>6} {'survived':>8} {'equiv.':>6} {'score':>6}"]
    rows = list(result.values())
    total = ModuleScore("grading core", *(sum(getattr(r, f) for r in rows)
                                          for f in ("mutants", "sampled", "killed", "survived", "equivalent")))
    for r in rows + [total]:
        lines.append(f"{r.path:<40} {r.mutants:>7} {r.sampled:>7} {r.killed:>6} {r.survived:>8} "
                     f"{r.equivalent:>6} {r.score:>6.1%}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=240, help="about how many mutants to run (default 240)")
    parser.add_argument("--seed", type=int, default=22, help="seed of the sample (default 22)")
    parser.add_argument("--workers", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--score-only", action="store_true", help="the scores of the last run again (mutants/)")
    args = parser.parse_args(argv)
    if args.sample < 1 or args.workers < 1:
        parser.error("--sample and --workers must be at least 1")

    os.chdir(ROOT)  # mutmut reads pyproject.toml and writes mutants/ in the working directory
    started = time.monotonic()
    names = made_mutants() if args.score_only else make_mutants()
    sample = draw_sample(names, args.sample, args.seed)
    if not args.score_only:
        run_mutmut(sample, args.workers)
    result, survivors = scores(names, sample, equivalent_mutants())
    print(f"\nsample of {sum(len(v) for v in sample.values())} mutants (seed {args.seed}), "
          f"{time.monotonic() - started:.0f} s\n")
    print(table(result))
    if survivors:
        print("\nsurviving mutants (mutmut show NAME; equivalent ones belong in docs/mutation.md):")
        for name, status in survivors:
            print(f"  {name}  ({status})")


if __name__ == "__main__":
    main()
