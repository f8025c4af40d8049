"""Each relation of autograder/checks/relation_fit.py on arrays built here, one case per kind of
slip its docstring lists: the relation found (kind and the stable detail that becomes part of
the relation's id), what its text says, and the near cases that are no relation. The visible
tests ship a generated copy of the same code (public_tests.py): every case runs on both."""
import numpy as np
import pytest

from autograder.checks import relation_fit
from autograder.course import load_module

IMPLEMENTATIONS = {"hidden": relation_fit, "visible": load_module("public_tests.py")}
ALPHA = 0.1


def _rtol(dtype):
    return {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}[np.dtype(dtype)]


@pytest.fixture(params=list(IMPLEMENTATIONS))
def impl(request):
    return IMPLEMENTATIONS[request.param]


def rng(seed=0):
    return np.random.default_rng(seed)


def found(impl, *leaves):
    result = impl.fit(list(leaves), _rtol)
    return None if result is None else (result.kind, result.detail)


def test_another_dtype_of_the_same_values(impl):
    R = rng().standard_normal((3, 4)).astype(np.float32)
    assert found(impl, impl.Leaf(R.astype(np.float64), R)) == ("dtype", "dtype=float64")
    fact = impl.fit([impl.Leaf(R.astype(np.float64), R)], _rtol).fact
    assert "float64" in fact
    R64 = R.astype(np.float64)
    mixed = [impl.Leaf(R.astype(np.float64), R), impl.Leaf(R64.astype(np.float32), R64)]
    assert found(impl, *mixed) == ("dtype", "dtype")


def test_the_same_values_in_another_shape(impl):
    R = rng().standard_normal((3, 4))
    result = impl.fit([impl.Leaf(R.reshape(12), R)], _rtol)
    assert (result.kind, result.detail) == ("shape", "shape")
    assert "(12,)" in result.fact and "(3, 4)" in result.fact


def test_the_transpose(impl):
    R = rng().standard_normal((3, 4))
    result = impl.fit([impl.Leaf(R.T.copy(), R)], _rtol)
    assert (result.kind, result.detail) == ("transpose", "transpose")
    assert "(4, 3)" in result.fact and "(3, 4)" in result.fact


def test_a_sum_over_another_axis_or_over_all(impl):
    dout = rng().standard_normal((5, 3))
    R = dout.sum(axis=0)
    for S, detail in ((dout.sum(axis=1), "axis=1"), (np.float64(dout.sum()), "all")):
        result = impl.fit([impl.Leaf(S, R, summand=dout)], _rtol)
        assert (result.kind, result.detail) == ("summed", detail) and "axis=0" in result.advice


@pytest.mark.parametrize("make, expected", [
    (lambda R, n: -R, ("scale", "-1")),
    (lambda R, n: 0 * R, ("scale", "×0")),
    (lambda R, n: R / n, ("scale", "1/N")),
    (lambda R, n: R * n, ("scale", "N")),
    (lambda R, n: -R / n, ("scale", "-1/N")),
    (lambda R, n: 0.5 * R, ("scale", "×0.5")),
    (lambda R, n: 2 * R, ("scale", "×2")),
    (lambda R, n: 0.5 * R / n, ("scale", "×0.5/N")),
    (lambda R, n: R / n ** 2, ("scale", "N^-2")),
    (lambda R, n: R * (1 + 1e-4), None),   # a near miss: no slip a student writes
    (lambda R, n: R, None),
])
def test_a_factor_named_by_the_batch_size_or_a_constant(impl, make, expected):
    leaves = [impl.Leaf(make(R, n), R, named={"N": n})
              for n, R in ((2, rng(1).standard_normal((4, 3))), (5, rng(2).standard_normal((4, 3))))]
    assert found(impl, *leaves) == expected


def test_a_factor_says_which_named_number_and_what_to_change(impl):
    R = rng().standard_normal((4, 3))
    leaves = [impl.Leaf(R / n, R, named={"N": n}) for n in (2, 7)]
    result = impl.fit(leaves, _rtol)
    assert "1/N" in result.fact and "N = 2" in result.fact and "不要除以批大小" in result.advice
    leaves = [impl.Leaf(-R / n, R, named={"N": n}) for n in (2, 7)]
    assert impl.fit(leaves, _rtol).advice.startswith("符号也反了。不要除以批大小")


def _leaky(seed=3):
    x = rng(seed).standard_normal((6, 5))
    return x, np.where(x > 0, x, ALPHA * x)


@pytest.mark.parametrize("slip, detail_has, fact_has", [
    (lambda x: np.where(x > 0, x, 0.0), "x<=0:×0", "写成了 ReLU"),
    (lambda x: np.where(x > 0, x, 0.3 * x), "x<=0:×3", "斜率是 0.3"),
    (lambda x: np.where(x > 0, ALPHA * x, x), "x>0:×0.1", "把 alpha 乘在了 x > 0 的一侧"),
    (lambda x: np.where(x > 0, 2 * x, ALPHA * x), "x>0:×2", "x <= 0 处正确"),
])
def test_a_slope_on_each_side_of_zero(impl, slip, detail_has, fact_has):
    x, R = _leaky()
    result = impl.fit([impl.Leaf(slip(x), R, named={"alpha": ALPHA}, region=x > 0)], _rtol)
    assert result.kind == "piecewise" and detail_has in result.detail and fact_has in result.fact


def test_both_sides_wrong_without_alpha(impl):
    x, R = _leaky()
    result = impl.fit([impl.Leaf(np.where(x > 0, 2 * x, 0.5 * x), R, region=x > 0)], _rtol)
    assert result.kind == "piecewise" and "2 倍" in result.fact and "5 倍" in result.fact


def test_a_backward_that_does_not_multiply_by_dout(impl):
    x, R = _leaky()
    dout = rng(4).standard_normal(R.shape) + 3.0
    result = impl.fit([impl.Leaf(R / dout, R, factor=dout)], _rtol)
    assert (result.kind, result.detail) == ("without", "without dout") and "dout" in result.advice


@pytest.mark.parametrize("k, expected, fact_has", [(-1.0, "-b", "每一行都恰好少加了偏置 b"),
                                                  (1.0, "+b", "每一行都恰好多了一个偏置 b"),
                                                  (0.5, "0.5·b", "每一行都恰好差了 0.5·b")])
def test_a_bias_missing_added_twice_or_scaled(impl, k, expected, fact_has):
    leaves = []
    for seed in (5, 6):
        R, b = rng(seed).standard_normal((4, 3)), rng(seed + 10).standard_normal(3)
        leaves.append(impl.Leaf(R + k * b, R, bias=b))
    assert found(impl, *leaves) == ("shift", expected)
    result = impl.fit(leaves, _rtol)
    assert result.fact.startswith(fact_has) and "b" in result.advice and result.advice.endswith("。")


def test_a_bias_term_that_differs_between_cases_is_no_relation(impl):
    (R1, b1), (R2, b2) = [(rng(s).standard_normal((4, 3)), rng(s + 10).standard_normal(3)) for s in (7, 8)]
    assert found(impl, impl.Leaf(R1 + b1, R1, bias=b1), impl.Leaf(R2 + 2 * b2, R2, bias=b2)) is None


def test_a_constant_added_everywhere(impl):
    R = rng(9).standard_normal((4, 3))
    result = impl.fit([impl.Leaf(R + 1.0, R), impl.Leaf(R * 2 + 1.0, R * 2)], _rtol)
    assert (result.kind, result.detail) == ("shift", "+1") and "多了 1" in result.fact
    assert found(impl, impl.Leaf(R - 1e-12, R)) is None  # rounding, not a constant


def test_the_comparison_is_relative_to_the_largest_value(impl):
    expected = np.full((2, 2), 1000.0)
    rtol = 1e-6
    assert impl.largest_difference(expected * (1 + rtol / 2), expected, rtol) is None
    assert impl.largest_difference(expected * (1 + 3 * rtol), expected, rtol) == pytest.approx(3e-3)
    assert impl.largest_difference(np.array([np.nan]), np.array([np.nan]), rtol) == float("inf")
