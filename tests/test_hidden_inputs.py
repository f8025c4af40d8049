"""Per-student hidden inputs: the course secret (autograder/course_secret.py), the student's
seed, the checks' inputs drawn from it, and what a student's code can carry of them into
its own feedback (a cell's error, cut to verify.MAX_MESSAGE characters).

With any seed every catalogued mistake and published variant is still named (a variant with
its part's credit, a mistake with none), pairs of entries made at once are named, and every
valid alternative still earns full points; the same seed gives the same inputs, another seed others, no seed the
fixed inputs of the notebook's own hidden-test cells.
"""
import multiprocessing
import re
import stat
import warnings

import nbformat
import numpy as np
import pytest

from autograder import catalogue, checks, examples
from autograder.course_secret import BadSecret, course_secret, secret_path, student_seed
from autograder.examples import cell_by_grade_id, source_notebook
from autograder.parts import PARTS, dependents
from autograder.verify import MAX_MESSAGE, verify_notebook

MISTAKES = catalogue.entries(valid=False)
ALTERNATIVES = catalogue.entries(valid=True)
# Seeds as `grade` makes them, for a few student ids of some course.
SEEDS = [student_seed(bytes(range(32)), student) for student in ("alice", "1002", "王小明", "z" * 40)]


@pytest.fixture(autouse=True)
def quiet_numpy():
    """Mistakes divide by zero on purpose."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# --------------------------------------------------------------------------------------
# The course secret and the student's seed
# --------------------------------------------------------------------------------------

def test_the_secret_is_made_once_private_and_never_replaced(tmp_path):
    secret = course_secret(tmp_path)
    path = secret_path(tmp_path)
    assert path == tmp_path / ".grade" / "secret" and path.read_bytes() == secret and len(secret) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert course_secret(tmp_path) == secret
    assert course_secret(tmp_path / "other") != secret           # another course, another secret
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary file left behind
    path.write_bytes(b"short")
    with pytest.raises(BadSecret):
        course_secret(tmp_path)
    assert path.read_bytes() == b"short"


def _make_secret(root, queue):
    queue.put(course_secret(root))


def test_workers_that_ask_at_once_get_the_same_secret(tmp_path):
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_make_secret, args=(tmp_path, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    secrets = {queue.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(timeout=60)
    assert secrets == {secret_path(tmp_path).read_bytes()}


def test_a_students_seed_is_fixed_by_the_secret_and_the_id():
    secret = bytes(range(32))
    assert student_seed(secret, "alice") == student_seed(bytes(range(32)), "alice")
    seeds = {student_seed(secret, s) for s in ("alice", "bob", "alice ", "Alice")}
    seeds.add(student_seed(bytes(32), "alice"))
    assert len(seeds) == 5 and all(0 <= seed < 2**64 for seed in seeds)


# --------------------------------------------------------------------------------------
# The checks' inputs: per seed, and any seed still names every mistake
# --------------------------------------------------------------------------------------

SPY = """
_seen = []

class Adam(Adam):
    def __init__(self, **hyper_params):
        _seen.append(('hyper', sorted(hyper_params.items())))
        super().__init__(**hyper_params)

    def update(self, params, grads):
        _seen.append(('grads', {k: v.tolist() for k, v in grads.items()}))
        super().update(params, grads)


class Affine(Affine):
    def forward(self, x):
        _seen.append(('x', x.tolist()))
        return super().forward(x)
"""


def seen_by(seed):
    """What a student's Adam and Affine (the reference's, recording their inputs) are
    given by their checks run with seed; both checks pass."""
    ns = catalogue.namespace()
    exec(SPY, ns)
    checks.check_adam(ns, seed)
    checks.check_affine(ns, seed)
    return ns["_seen"]


def test_the_same_seed_gives_the_same_inputs_another_seed_others():
    fixed, first, again, other = seen_by(None), seen_by(SEEDS[0]), seen_by(SEEDS[0]), seen_by(SEEDS[1])
    assert first == again
    assert ("hyper", sorted(PARTS["test_adam"].hyper_params.items())) in fixed   # parts.py's, unmoved
    for seen in (first, other):
        assert len(seen) == len(fixed) and seen != fixed
        assert ("hyper", sorted(PARTS["test_adam"].hyper_params.items())) not in seen
    assert all(a != b for a, b in zip(first, other) if a[0] != "hyper" or a[1])  # every array differs
    assert seen_by(None) == fixed


def test_moved_hyper_parameters_stay_in_their_ranges():
    low = {"learning_rate": 0.05 * 0.6, "epsilon": 1e-3 * 0.5, "beta1": 0.75, "beta2": 0.875}
    high = {"learning_rate": 0.05 * 1.5, "epsilon": 1e-3 * 2.0, "beta1": 0.85, "beta2": 0.925}
    for seed in SEEDS:
        hyper = dict(next(value for kind, value in seen_by(seed) if kind == "hyper" and value))
        assert set(hyper) == set(PARTS["test_adam"].hyper_params)
        assert all(low[k] * 0.999 <= v <= high[k] * 1.001 for k, v in hyper.items()), hyper


def outcome(ns, grade_id, seed):
    """(message, named mistake, credit), or None when the check passes."""
    try:
        getattr(checks, PARTS[grade_id].check)(ns, seed)
    except checks.CheckFailure as failure:
        return str(failure), failure.mistake, failure.credit
    return None


@pytest.mark.parametrize("seed", SEEDS)
def test_with_any_seed_every_mistake_is_named_and_every_alternative_passes(seed):
    for entry in MISTAKES:
        ns = entry.namespace()
        for grade_id in examples.lost_cells(entry):   # where the fixed inputs show it
            found = outcome(ns, grade_id, seed)
            assert found is not None and found[1] == entry.id, (entry.id, grade_id, found)
            assert f"「{entry.title}」" in found[0]
            own_variant = entry.variant and grade_id == entry.part
            assert found[2] == (PARTS[grade_id].variant_credit if own_variant else 0.0), (entry.id, grade_id)
    for entry in ALTERNATIVES:
        ns = entry.namespace()
        for grade_id in (entry.part, *dependents(entry.part)):
            assert outcome(ns, grade_id, seed) is None, (entry.id, grade_id)


# Pairs a book writes at once: Deep Learning from Scratch's Adam folds the step and hard-codes
# 1e-7; a d2l RMSprop with the epsilon inside the root and the state reset every call.
PAIRS = [("adam_folded_step", "adam_fixed_epsilon_1e7"), ("rmsprop_epsilon_inside_sqrt", "rmsprop_state_reset"),
         ("adabelief_epsilon_in_s", "adabelief_epsilon_inside_sqrt")]


@pytest.mark.parametrize("seed", [None, *SEEDS])
@pytest.mark.parametrize("first, second", PAIRS)
def test_with_any_seed_two_entries_made_at_once_are_named_together(seed, first, second):
    pair = catalogue.combined(catalogue.get(first), catalogue.get(second))
    found = outcome(pair.namespace(), pair.part, seed)
    assert found is not None and found[1] == f"{first}+{second}", found
    assert f"「{catalogue.get(first).title}」" in found[0] and f"「{catalogue.get(second).title}」" in found[0]
    both_variants = catalogue.get(first).variant and catalogue.get(second).variant
    assert found[2] == (PARTS[pair.part].variant_credit if both_variants else 0.0)


# --------------------------------------------------------------------------------------
# End to end: what a cell after the last test can show of the inputs (real sandbox)
# --------------------------------------------------------------------------------------

LEAK = """
raise RuntimeError('SEEN ' + ' '.join('LR=%r;' % dict(v)['learning_rate'] for k, v in _seen if k == 'hyper' and v)
                   + ' ' + 'x' * 10000)
"""


@pytest.fixture(scope="module")
def leaking_notebook(tmp_path_factory):
    """The solution with an Adam that records what it is given, and a last cell that raises
    an exception carrying it and a long dump."""
    notebook = source_notebook()
    cell = cell_by_grade_id(notebook, "adam")
    cell.source += "\n" + SPY.split("\n\nclass Affine")[0]
    notebook.cells.append(nbformat.v4.new_code_cell(LEAK))
    notebook.cells = [c for c in notebook.cells if c.cell_type != "code" or c.metadata.get("nbgrader")
                      or not c.source.lstrip().startswith(("run(", "plot_", "path_optimizers", "best ="))
                      or c.source == LEAK]
    path = tmp_path_factory.mktemp("leak") / "leak.ipynb"
    nbformat.write(notebook, path)
    return path


def last_error(result):
    number, error = result.cell_errors[-1]
    return error


@pytest.mark.slow
def test_a_cell_after_the_tests_shows_only_the_students_own_inputs_and_is_cut(leaking_notebook):
    results = {seed: verify_notebook(leaking_notebook, seed=seed) for seed in (None, SEEDS[0], SEEDS[1])}
    shown = {}
    for seed, result in results.items():
        assert result.total == 100, result.messages
        error = last_error(result)
        assert error.startswith("RuntimeError: SEEN LR=") and error.endswith("（已截断）")
        assert len(error) == MAX_MESSAGE + len("（已截断）")
        shown[seed] = re.findall(r"LR=([0-9.e-]+);", error)
    assert shown[None] == ["0.05", "0.05"]
    assert shown[SEEDS[0]] != shown[None] and shown[SEEDS[1]] != shown[None] and shown[SEEDS[0]] != shown[SEEDS[1]]
    assert last_error(verify_notebook(leaking_notebook, seed=SEEDS[0])) == last_error(results[SEEDS[0]])


def test_a_long_cell_error_is_cut_in_the_autograded_notebook():
    from autograder.nbgrader_adapter import _error_outputs
    [output] = _error_outputs("RuntimeError: SEEN " + "x" * 10000)
    assert output.ename == "RuntimeError" and output.evalue.startswith("SEEN x")
    for text in (output.evalue, *output.traceback):
        assert text.endswith("（已截断）") and len(text) < MAX_MESSAGE + 50
    [short] = _error_outputs("ValueError: bad")
    assert short.evalue == "bad" and "已截断" not in "".join(short.traceback)
