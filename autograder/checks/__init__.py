"""Hidden tests of the mlp_optimizers assignment: one check per graded part
(autograder/parts.py), named by Part.check.

Each autograder cell of the notebook calls, between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS``::

    from autograder import checks
    checks.check_affine(globals())

``ns`` is either a mapping of the names the student's notebook defines (the objects are in
this interpreter) or an ``autograder.sandbox.interface.Student`` such as
``autograder.sandbox.remote.Remote``, whose objects live in a sandboxed process
(autograder.verify grades that way, so that no check shares an interpreter with the
student's code).

How a check judges: by behaviour. A check is a scenario -- a fixed series of calls on
seeded random inputs (float32 and float64) -- that records what it observes: the values a call
returned, the gradients a layer exposes (dW, db), the parameters after each of several
optimizer steps (non-default hyper-parameters and the defaults, state carried across
steps), whether an input was left unchanged, whether parameters were updated in place. The
same scenario runs on the student's code and on autograder.reference; the first
observation that differs fails the check, with a message in Chinese that says which call,
on which input, what differs (shape, dtype, values and the largest error, a changed input,
the first optimizer step that diverged). Nothing else is graded: an optimizer that keeps
its state in another convention (v with the opposite sign, v without the learning rate)
earns full points when its parameters follow the same trajectory; the state attributes the
text names are read only, after a failure, to add a hint.

The inputs: without a seed (the notebook's own hidden-test cells) they are fixed; `grade`
gives each check the student's seed (autograder/course_secret.py: from a course secret
and the student id), from which the scenario draws its arrays and the optimizers'
non-default hyper-parameters (moved within HYPER_FACTORS of parts.py's values). The same
student always gets the same inputs; another student gets others, so what one student's
code learns about them (and shows in its own output) tells nobody else anything.

Numbers that are not finite: no comparison takes NaN for NaN (relation_fit.largest_difference). An
observation holding a NaN or inf ends the scenario with its own message (the reference's
observations are finite on the check's inputs); a catalogued mistake matches it only when
it ended at the same observation with NaN or inf in the same places, the way a mistake
that raises matches only the same exception at the same call. Arrays read from the
student's code are checked (structure, finite) before the reference runs at them.

A check reads only the name it grades (check_affine reads Affine, check_adam reads Adam,
...), so a mistake costs points only in its own part and in the parts that use it
(Part.uses: check_network runs the student's ThreeLayerNet with the student's layers and
initialize_parameters).

Naming the mistake: when a check fails, it runs the same scenario on each known mistake and
published variant of the catalogue (autograder/catalogue.py) for that part -- and, for a
part that uses others, on their mistakes -- in this process, and compares the student's
observations with the entry's with the same tolerances. If one matches everywhere, the
message names it (which mistake, what it means, what to change) and the failure
(CheckFailure) carries its id. When none does, each pair of the part's own entries made at
once (catalogue.combined: a book's Adam folds the step and hard-codes epsilon) is tried the
same way. A published variant (or a pair of them) of the part's own code earns the part's
Part.variant_credit: the failure carries that credit and the message says the points.
Valid alternatives pass, so they are never named. When no entry or pair matches, relations.py
names the relation to the reference that explains every observation (an array that is the
correct one times 1/N, a slope, a transpose, an optimizer's rule with one change, a layer
skipped ...), carried as CheckFailure.relation; else the message stays the first difference
with a neutral hint.

The package, one module per job: observe (Code, Record), compare (one comparison per kind
of observation), scenarios (one per kind of part), diagnose (the catalogue), relations
(with relation_fit and update_rules), verdict (check_part); this module holds the public
checks.

How a check talks to the student's code: only through observe.Code, i.e. the Student
interface (lookup, call, getattr, getitem, send, fetch, share, observe). It

* calls a student function, constructor or method with copies of numpy arrays and plain
  Python values, and fetches copies of the results;
* reads attributes of the objects such calls returned (dW, db, params, layers, lastLayer,
  lastLayer.loss; an optimizer's state only for a hint);
* shares the inputs whose fate it checks (x, W, b, dout of the layers, x of predict, the
  optimizers' params and grads) and observes them after each call: whether an input was
  left unchanged, and which parameters an optimizer's update changed, are read from the
  grader's own mapping, never taken from an answer of the student's process (see
  autograder/sandbox/interface.py). An update that puts new arrays into the params dict
  leaves the observed arrays unchanged, so its parameters do not move.

It writes into the student's objects in two places: to make every run of the network
scenario start from numpy's same global random state it seeds the student's np.random
before each call of initialize_parameters, and to see that the network's layers use the
very arrays of its params, it subtracts a delta from each params[key] in place
(``params[key] -= delta``, in the student's world) and compares predict.
"""
import linecache
import os

from autograder.checks.scenarios import scenario_of
from autograder.checks.verdict import CheckFailure, check_part
from autograder.parts import PARTS

# --------------------------------------------------------------------------------------
# The public checks, one per part. In the notebook a failing check is displayed, and
# copied into the feedback, as a traceback; a plain raise would show the lines of this
# module around it. Each public check therefore re-raises its failure with only its
# message, from a one-line frame named <隐藏测试> that has no source to show, and hides its
# own frame (IPython skips frames whose locals hold __tracebackhide__).
# --------------------------------------------------------------------------------------

_RAISE_FAILURE = compile("raise CheckFailure(message, mistake, credit, relation) from cause", "<隐藏测试>", "exec")
# the line a traceback shows for that frame
linecache.cache["<隐藏测试>"] = (1, None, ["# 隐藏测试没有通过，原因见下面一行\n"], "<隐藏测试>")
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # autograder/


def _student_frames_only(error):
    """error (an exception raised in the student's code, or None) with the grader's frames
    cut from the front of its traceback: what remains is the student's own code."""
    if error is None:
        return None
    tb = error.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        tb = tb.tb_next
    return error.with_traceback(tb)


def _run_public_check(grade_id, ns, seed):
    """The body of every public check: check_part, its failure re-raised as described above."""
    __tracebackhide__ = True  # noqa: F841  (read by IPython)  # pragma: no mutate
    try:
        check_part(ns, PARTS[grade_id], seed)
        return
    except AssertionError as failure:  # a CheckFailure, or another assertion (no mistake, no credit)
        verdict = failure if isinstance(failure, CheckFailure) else CheckFailure(str(failure))
        message, mistake, credit, relation = str(verdict), verdict.mistake, verdict.credit, verdict.relation
        cause = _student_frames_only(failure.__cause__)
    # raised outside the except clause, so the check's own traceback is not chained;
    # the student's exception, if any, stays the cause (with the student's frames only)
    exec(_RAISE_FAILURE, {"CheckFailure": CheckFailure, "message": message, "mistake": mistake,
                          "credit": credit, "relation": relation, "cause": cause})


# pragma: no mutate start (runs only when the module is imported: docs/mutation.md)
def _public_check(part):
    """check_<part>(ns, seed=None): made once per part, when this module is imported; what it
    does is _run_public_check's, looked up at each call."""
    grade_id = part.grade_id

    def check(ns, seed=None):
        __tracebackhide__ = True  # noqa: F841  (read by IPython)
        _run_public_check(grade_id, ns, seed)

    check.__name__ = check.__qualname__ = part.check
    check.__doc__ = (f"Hidden check of {part.name} ({grade_id}, {part.points} points): "
                     + scenario_of(part).__doc__.strip())
    return check
# pragma: no mutate end


def __getattr__(name):
    """check_<part> of a part added to the table after this module was imported."""
    for part in PARTS.values():
        if part.check == name:
            return _public_check(part)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


for _part in PARTS.values():
    globals()[_part.check] = _public_check(_part)
del _part

__all__ = ["CheckFailure", "check_part", *(part.check for part in PARTS.values())]
