"""NaN and inf from the student's code: every check (each part of autograder/parts.py) fails,
with the non-finite message and no mistake named, when one array the student's code
provides -- an output, a gradient, a parameter, an updated parameter, a stored W or b --
holds a NaN or an inf. The student code is the reference's source with one edit that puts
the NaN or inf there; it runs in this interpreter (Direct) and in the real sandbox (Remote).

Evaluating the reference at the student's own parameters once let one NaN in W1 pass the
network check with two bugs (NaN compared equal to NaN on both sides):
test_a_nan_in_w1_does_not_hide_two_bugs_of_the_network, and in
tests/test_grade_cli.py through `grade`.
"""
import warnings

import numpy as np
import pytest

from autograder import catalogue, checks
from autograder.catalogue import reference_source
from autograder.checks.compare import identical, largest_difference, same_value
from autograder.parts import PARTS, dependents
from autograder.sandbox.proxy import Sandbox

NONFINITE = "中出现 NaN 或 inf"
_RETURN_PARAMS = "    return params\n"
_NET_INIT_END = "        self.lastLayer = SoftmaxWithLoss()\n"


def _spoil(target, value):
    """Code that puts value (np.nan or np.inf) into the last element of the array target."""
    return f"{target}.flat[-1] = np.{value}"


def _before(line, code, indent):
    return (line, f"{indent}{code}\n{line}")


def _after(line, code, indent):
    return (line, f"{line}{indent}{code}\n")


def _returned(name, value, indent="        "):
    """The edit that spoils a returned local array name (a copy, so no input changes)."""
    line = f"{indent}return {name}\n"
    return (line, f"{indent}{name} = {name}.copy()\n{indent}{_spoil(name, value)}\n{line}")


def _optimizer_cases(name):
    """Parameters after the first update (NaN in W1), after the third (inf in b2)."""
    source = reference_source(name)
    step = next(line for line in source.splitlines(keepends=True) if line.strip().startswith("params[key] -="))
    counter = "        for key in params:\n"
    return {
        "params after update 1": [_after(step, f"if key == 'W1': {_spoil('params[key]', 'nan')}", "            ")],
        "params after update 3": [_before(counter, "self.n_updates = getattr(self, 'n_updates', 0) + 1", "        "),
                                  _after(step, f"if key == 'b2' and self.n_updates == 3: "
                                               f"{_spoil('params[key]', 'inf')}", "            ")],
    }


# part's grade id -> {what is spoiled: edits of the reference's source of the part's name}
CASES = {
    "test_initialize_parameters": {
        f"returned {key}": [_before(_RETURN_PARAMS, _spoil(f"params['{key}']", value), "    ")]
        for key, value in (("W1", "nan"), ("b1", "inf"), ("W2", "nan"), ("b2", "nan"), ("W3", "inf"), ("b3", "nan"))},
    "test_leaky_relu": {
        "forward output": [_returned("out", "nan")],
        "backward dx": [_returned("dx", "inf")],
        "stored alpha": [("        self.alpha = 0.1\n", "        self.alpha = np.nan\n")],
    },
    "test_affine": {
        "forward output": [_returned("out", "inf")],
        "backward dx": [("        return dx.reshape(*self.original_x_shape)\n",
                         f"        dx = dx.copy()\n        {_spoil('dx', 'nan')}\n"
                         "        return dx.reshape(*self.original_x_shape)\n")],
        "dW": [_after("        self.dW = np.dot(self.x.T, dout)\n", _spoil("self.dW", "nan"), "        ")],
        "db": [_after("        self.db = np.sum(dout, axis=0)\n", _spoil("self.db", "inf"), "        ")],
        "stored W": [("        self.W = W\n", f"        self.W = W.copy()\n        {_spoil('self.W', 'nan')}\n")],
        "stored b": [("        self.b = b\n", f"        self.b = b.copy()\n        {_spoil('self.b', 'inf')}\n")],
    },
    "test_network": {
        **{f"params['{key}']": [_after(_NET_INIT_END, _spoil(f"self.params['{key}']", value), "        ")]
           for key, value in (("W1", "nan"), ("b1", "inf"), ("W2", "nan"), ("b2", "nan"), ("W3", "inf"),
                              ("b3", "nan"))},
        **{f"layers['Affine{i}'].{p}": [_after(_NET_INIT_END, f"self.layers['Affine{i}'].{p} = "
                                                               f"self.params['{p}{i}'] * np.nan", "        ")]
           for i, p in (("1", "W"), ("2", "b"), ("3", "W"))},
        "predict output": [_returned("pred", "nan")],
        "loss": [("        return loss\n", "        return loss * np.inf\n")],
        "lastLayer.loss": [("        return loss\n", "        self.lastLayer.loss = np.nan\n        return loss\n")],
        "accuracy": [("        return correct / float(x.shape[0])\n", "        return np.nan\n")],
        **{f"gradient {key}": [("        return grads\n", f"        grads['{key}'] = grads['{key}'].copy()\n"
                                                         f"        {_spoil(f'grads[{key!r}]', value)}\n"
                                                         "        return grads\n")]
           for key, value in (("W1", "nan"), ("b1", "inf"), ("W2", "inf"), ("b2", "nan"), ("W3", "nan"),
                              ("b3", "inf"))},
    },
    **{part.grade_id: _optimizer_cases(part.name) for part in PARTS.values() if part.kind == "optimizer"},
}
SWEEP = [(grade_id, case) for grade_id, cases in CASES.items() for case in cases]


def spoiled_source(grade_id, case):
    """The reference's source of the part's name with the case's edits (each found once)."""
    entry = catalogue.Entry(f"spoiled {case}", grade_id, "坏", "坏。", "改。", tuple(CASES[grade_id][case]))
    return entry.source


def results(ns, grade_ids):
    """grade id -> (message, named mistake) of each failing check, None for a passing one."""
    found = {}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for grade_id in grade_ids:
            try:
                getattr(checks, PARTS[grade_id].check)(ns)
                found[grade_id] = None
            except checks.CheckFailure as failure:
                found[grade_id] = (str(failure), failure.mistake)
    return found


def assert_nonfinite_failures(found, grade_id):
    """The part's check fails with the non-finite message and names no mistake; so does
    the check of every part that uses it."""
    assert found[grade_id] is not None, f"{grade_id} passed"
    for checked, outcome in found.items():
        assert outcome is not None, f"{checked} passed"
        message, mistake = outcome
        assert NONFINITE in message and mistake is None, (checked, message, mistake)


def test_the_sweep_covers_every_part():
    assert set(CASES) == set(PARTS)
    for grade_id, cases in CASES.items():
        for case in cases:
            assert spoiled_source(grade_id, case) != reference_source(PARTS[grade_id].name)


@pytest.mark.parametrize("grade_id, case", SWEEP)
def test_a_nan_or_inf_fails_every_check_that_sees_it(grade_id, case):
    ns = catalogue.namespace()
    exec(spoiled_source(grade_id, case), ns)
    assert_nonfinite_failures(results(ns, [grade_id, *dependents(grade_id)]), grade_id)


@pytest.fixture(scope="module")
def sandbox():
    """The real sandbox holding the reference's names, defined by running their sources as
    a notebook's cells do."""
    with Sandbox() as box:
        names = [name for name in catalogue.namespace() if not name.startswith("__")
                 and name not in ("np", "OrderedDict")]
        cells = ["import numpy as np\nfrom collections import OrderedDict"]
        cells += [reference_source(name) for name in names]
        for cell in cells:
            error, _ = box.run_cell(cell, timeout=60)
            assert error is None, error
        yield box


@pytest.mark.slow
@pytest.mark.parametrize("grade_id, case", SWEEP)
def test_a_nan_or_inf_fails_every_check_that_sees_it_in_the_sandbox(sandbox, grade_id, case):
    name = PARTS[grade_id].name
    error, _ = sandbox.run_cell(spoiled_source(grade_id, case), timeout=60)
    assert error is None, error
    try:
        found = results(sandbox.remote(), [grade_id, *dependents(grade_id)])
    finally:
        error, _ = sandbox.run_cell(reference_source(name), timeout=60)
        assert error is None, error
    assert_nonfinite_failures(found, grade_id)
    direct = catalogue.namespace()
    exec(spoiled_source(grade_id, case), direct)
    assert found == results(direct, list(found))  # the same messages on both paths


def two_bug_network(nan_in_w1):
    """The source of a ThreeLayerNet with two catalogued mistakes (activations skipped in
    predict, softmax applied twice in loss), and optionally a NaN in its W1."""
    edits = [*catalogue.get("network_predict_skips_activations").edits,
             *catalogue.get("network_loss_softmax_twice").edits]
    if nan_in_w1:
        edits.append(_after(_NET_INIT_END, "self.params['W1'][0, 0] = np.nan", "        "))
    return catalogue.Entry("two bugs", "test_network", "坏", "坏。", "改。", tuple(edits)).source


def test_a_nan_in_w1_does_not_hide_two_bugs_of_the_network():
    for nan_in_w1 in (False, True):
        ns = catalogue.namespace()
        exec(two_bug_network(nan_in_w1), ns)
        message, _ = results(ns, ["test_network"])["test_network"]
        assert (NONFINITE in message) == nan_in_w1, message
    assert "params['W1']" in message and "位置 (0, 0)" in message


def test_no_comparison_takes_nan_for_nan():
    """The comparisons the checks and the catalogue's matching use: a NaN or inf on either
    side is a difference, even where the other side holds the same NaN or inf."""
    a = np.array([[1.0, np.nan], [np.inf, 2.0]])
    assert largest_difference(a, a.copy(), 1e-3) == float("inf")
    assert not same_value(a, a.copy()) and not identical(a, a.copy())
    assert same_value(np.nan_to_num(a, posinf=5.0), np.nan_to_num(a, posinf=5.0)) and identical(np.ones(2), np.ones(2))
    assert largest_difference(np.nan, np.nan, 1.0) == float("inf")
    assert largest_difference(np.array([1.0, 2.0]), np.array([1.0, np.nan]), 1.0) == float("inf")
