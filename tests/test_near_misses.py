"""Answers that are nearly right are wrong, and a check that cannot use the student's values
gives no points.

* Hidden checks: the reference with every value one part observes moved by a relative
  1e-4 in float32 or 1e-8 in float64 (far above rounding, far below a mistake a student
  would notice) fails that part's check, for each kind of part.
* Visible tests: an optimizer whose default learning rate is wrong is right in the
  float64 case (explicit hyper-parameters) and wrong in the float32 one (defaults): the
  release's test of that optimizer fails.
* A student server that refuses the grader's requests (found through gc, as a hostile
  submission can) earns 0 points and the message that says why.
"""
import warnings

import numpy as np
import pytest

from autograder import checks, reference
from autograder.course import load_module
from autograder.parts import PARTS

# relative moves: well above a float's rounding, well below what a student would notice
NEAR = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-8}


def nudged(value):
    """value (an array, or a dict of arrays) times 1 + NEAR[dtype], in its own dtype."""
    if isinstance(value, dict):
        return {k: nudged(v) for k, v in value.items()}
    return (value * value.dtype.type(1 + NEAR[value.dtype])).astype(value.dtype)


def nearly_initialize_parameters(*args, **kwargs):
    return nudged(reference.initialize_parameters(*args, **kwargs))


class NearlyLeakyRelu(reference.LeakyRelu):
    def forward(self, x):
        return nudged(super().forward(x))


class NearlyAffine(reference.Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = nudged(self.dW)
        return dx


class NearlyThreeLayerNet(reference.ThreeLayerNet):
    def predict(self, x):
        return nudged(super().predict(x))


def nearly(optimizer):
    """optimizer's class whose update leaves the parameters slightly off, in place."""
    def update(self, params, grads):
        optimizer.update(self, params, grads)
        for key in params:
            params[key][...] = nudged(params[key])
    return type("Nearly" + optimizer.__name__, (optimizer,), {"update": update})


NEARLY = {"initialize_parameters": nearly_initialize_parameters, "LeakyRelu": NearlyLeakyRelu,
          "Affine": NearlyAffine, "ThreeLayerNet": NearlyThreeLayerNet,
          **{p.name: nearly(getattr(reference, p.name)) for p in PARTS.values() if p.kind == "optimizer"}}


def namespace(**replaced):
    return {"np": np, **{name: getattr(reference, name) for name in reference.__all__}, **replaced}


@pytest.mark.parametrize("grade_id", list(PARTS))
def test_the_reference_nudged_by_a_near_miss_fails_its_check(grade_id):
    part = PARTS[grade_id]
    check = getattr(checks, part.check)
    check(namespace(), seed=3)   # the reference itself passes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AssertionError) as failure:
            check(namespace(**{part.name: NEARLY[part.name]}), seed=3)
    assert getattr(failure.value, "mistake", None) is None   # wrong values, no mistake named
    assert failure.value.credit == 0


OPTIMIZER_PARTS = [p for p in PARTS.values() if p.kind == "optimizer"]


@pytest.mark.parametrize("part", OPTIMIZER_PARTS, ids=[p.grade_id for p in OPTIMIZER_PARTS])
def test_a_wrong_default_learning_rate_fails_the_visible_test(part):
    """Right with explicit hyper-parameters (the float64 case), wrong with the defaults (the
    float32 case): only the float32 case can see it."""
    visible = getattr(load_module("public_tests.py"), part.grade_id)
    optimizer = getattr(reference, part.name)

    def __init__(self, learning_rate=0.01, **kwargs):   # the defaults say 0.001
        optimizer.__init__(self, learning_rate, **kwargs)
    wrong_default = type(part.name, (optimizer,), {"__init__": __init__})
    visible(optimizer)   # the reference passes
    with pytest.raises(AssertionError):
        visible(wrong_default)
