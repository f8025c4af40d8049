"""How two observations compare: one function per kind of observation (COMPARE), the one
comparison of numbers (largest_difference), the first observation where two records differ
(first_difference) and whether two records agree everywhere (matches).

Tolerances: RTOL per dtype, applied to a scale that includes the largest value of the
compared array (relation_fit.largest_difference, with the smallest largest value
SCALE_FLOOR); INIT_RTOL for initialize_parameters (the same random numbers, only
rounding apart).
"""
from collections.abc import Mapping

import numpy as np

from autograder.checks.observe import dtype_name, first_nonfinite
from autograder.checks.relation_fit import largest_difference
from autograder.gradcheck import rel_error

# Relative tolerance per dtype, applied to a scale that includes the largest value of the
# compared array (see largest_difference): a different but exact way of computing (np.maximum,
# einsum, in-place state updates, another state convention) passes, a wrong formula does not.
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}
INIT_RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}


def array_difference(actual, expected, what, where, rtol=None, scale=None, hint="", shape_hint="",
                      fact=None):
    """None if actual is an ndarray with expected's shape, dtype and values (within rtol),
    else (fact, hint) for the message. fact replaces the generic fact of any difference."""
    def differs(text, text_hint=hint):
        return (fact or text), text_hint
    if not isinstance(expected, np.ndarray):
        return None if same_value(actual, expected) else differs(f"{what}：与预期不同（{where}）。")
    if not isinstance(actual, np.ndarray):
        return differs(f"{what}：应该是 numpy 数组，实际得到 {type(actual).__name__}（{where}）。", "")
    if actual.shape != expected.shape:
        return differs(f"{what}：形状应为 {expected.shape}，实际为 {actual.shape}（{where}）。", shape_hint)
    if actual.dtype != expected.dtype:
        return differs(f"{what}：dtype 应为 {dtype_name(expected.dtype)}，实际为 {dtype_name(actual.dtype)}"
                       f"（{where}）。", "输入是什么 dtype，结果就应该保持什么 dtype。")
    # a NaN or inf never arrives here: observe.Record.add ends a scenario at one (and
    # largest_difference would call it a difference)
    error = largest_difference(actual, expected, RTOL.get(expected.dtype, 1e-10) if rtol is None else rtol, scale)
    if error is not None:
        return differs(f"{what}：数值不正确（{where}；最大绝对误差 {error:.3g}）。")
    return None


def same_value(a, b):
    """a and b hold the same values: mappings with the same keys and the same value under each,
    or arrays of one shape and dtype within RTOL of that dtype (NaN equals nothing). Every
    observation a scenario records is an array or a mapping of arrays (scenarios.py)."""
    if isinstance(b, Mapping):
        return isinstance(a, Mapping) and set(a) == set(b) and all(same_value(a[k], b[k]) for k in b)
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
            and largest_difference(a, b, RTOL.get(b.dtype, 1e-10)) is None)


def identical(a, b):
    """Exactly the same arrays (a dict of named arrays, or one array), every number finite."""
    if isinstance(b, Mapping):
        return isinstance(a, Mapping) and set(a) == set(b) and all(identical(a[k], b[k]) for k in b)
    return (isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
            and largest_difference(a, b, 0.0, scale=0.0) is None)


def _compare_array(actual, expected):
    return array_difference(actual.value, expected.value, expected.what, expected.where, **expected.options)


def _compare_keys(actual, expected):
    """A returned dict's keys (value: the sorted keys, None when it is no dict)."""
    return None if actual.value == expected.value else (expected.options["message"], "")


def _compare_unchanged(actual, expected):
    """Inputs (a dict name -> array observed after the call) left as they were given."""
    original = expected.options["original"]
    if identical(expected.value, original):
        for name, array in original.items():
            if not identical(actual.value.get(name), array):
                return (f"输入被修改了：{expected.what} 改变了传入的 {name}（{expected.where}）。",
                        "请不要原地修改输入数组，需要时先 copy()。")
        return None
    # the expected code changes its input too (a catalogued mistake): the same way?
    return None if same_value(actual.value, expected.value) else ("输入被改成了不同的值。", "")


def _compare_scalar(actual, expected):
    what, where, value, rtol = expected.what, expected.where, actual.value, expected.options["rtol"]
    if np.ndim(value) != 0:
        return f"{what} 应该返回一个标量，实际得到形状为 {np.shape(value)} 的值（{where}）。", ""
    try:
        value = float(value)
    except Exception:
        return f"{what} 应该返回一个数，实际得到 {type(actual.value).__name__}（{where}）。", ""
    want = float(expected.value)
    error = largest_difference(value, want, rtol, scale=abs(want) + 1e-12)
    if error is not None:
        return f"{what}：值不正确（{where}；得到 {value:.6g}，误差 {error:.3g}）。", ""
    return None


def _compare_numeric(actual, expected):
    """A gradient (value: an array, or a dict of arrays) against the numerical gradient of
    the same code (options numeric): the student's must agree when the expected code's does."""
    tol = expected.options["tol"]

    def errors(obs):
        value, numeric = obs.value, obs.options["numeric"]
        if not isinstance(numeric, Mapping):
            value, numeric = {"": value}, {"": numeric}
        if not isinstance(value, Mapping) or set(value) != set(numeric):
            return {"": float("inf")}
        return {k: (rel_error(value[k], numeric[k])
                    if np.shape(value[k]) == np.shape(numeric[k]) and first_nonfinite((value[k], numeric[k])) is None
                    else float("inf")) for k in numeric}

    expected_errors = errors(expected)
    if all(e < tol for e in expected_errors.values()):
        for key, error in errors(actual).items():
            if not error < tol:
                what = expected.what.format(key=key)
                if error == float("inf"):
                    return f"{what}：形状不正确（{expected.where}）。", ""
                return f"{what}与数值梯度不一致（{expected.where}；相对误差 {error:.3g}）。", ""
        return None
    if same_value(actual.value, expected.value):
        return None
    return f"{expected.what.format(key='').rstrip(' 的')} 与参考实现的梯度不一致（{expected.where}）。", ""


def _compare_init(actual, expected):
    """The dict initialize_parameters returned: keys, then each array (shape, dtype, values)."""
    call, params, want = expected.what, actual.value, expected.value
    if not isinstance(params, Mapping):
        return f"{call} 应返回一个字典，实际得到 {type(params).__name__}。", ""
    if set(params) != set(want):
        return f"{call} 返回的字典的键应为 {sorted(want)}，实际为 {sorted(params)}。", ""
    for key in want:
        hint = ("偏置应初始化为全 0。" if key.startswith("b") else
                "请检查：只在开头调用一次 np.random.seed(1)；按 W1、W2、W3 的顺序用 np.random.randn 生成；"
                "乘以 weight_init_std。")
        difference = array_difference(params[key], want[key], f"{call} 返回的 {key}", expected.where,
                                       rtol=INIT_RTOL.get(want[key].dtype, 1e-12), scale=np.abs(want[key]),
                                       hint=hint)
        if difference:
            return difference
    return None


def compare_structure(actual, expected):
    """A params dict: the keys, and each value an array of the expected shape and dtype."""
    call, params, want = expected.what, actual.value, expected.value
    if not isinstance(params, Mapping):
        return f"{call} 的 params 应该是字典，实际为 {type(params).__name__}。", ""
    if set(params) != set(want):
        return f"{call} 的 params 的键应为 {sorted(want)}，实际为 {sorted(params)}。", ""
    for key, value in want.items():
        got = params[key]
        if not isinstance(got, np.ndarray) or got.shape != value.shape or got.dtype != value.dtype:
            return (f"{call} 的 params['{key}'] 应为形状 {value.shape}、dtype {dtype_name(value.dtype)} 的数组，"
                    f"实际为 {getattr(got, 'shape', type(got).__name__)}、"
                    f"{dtype_name(got.dtype) if isinstance(got, np.ndarray) else '-'}。",
                    "ThreeLayerNet 用 initialize_parameters 初始化参数。")
    return None


def _compare_last_loss(actual, expected):
    """lastLayer.loss after loss(): the loss that was returned (value: (lastLayer.loss, loss))."""
    def consistent(value):
        last, returned = value
        try:
            return (last is not None and np.ndim(last) == 0
                    and largest_difference(float(last), float(returned), 0.0, scale=0.0) is None)
        except (TypeError, ValueError):
            return False
    if consistent(expected.value) == consistent(actual.value):
        return None
    return (f"ThreeLayerNet.loss 应通过 self.lastLayer.forward 计算损失（之后 lastLayer.loss 应等于返回的损失；"
            f"{expected.where}）。", "gradient 的反向传播要用到 lastLayer 在正向传播时保存的结果。")


def _compare_params(actual, expected):
    """An optimizer's parameters after a step, as the grader observes them (value: dict
    key -> array; options before: the observed parameters before the step, scale: per key)."""
    name, where = expected.options["name"], expected.where
    got, want = actual.value, expected.value
    before, expected_before = actual.options["before"], expected.options["before"]
    for key in want:
        moved = not identical(want[key], expected_before[key])
        if moved and identical(got[key], before[key]):
            return (f"参数没有原地更新（请使用 -= ）：{name}.update 之后，传入的 params['{key}'] 这个数组没有改变"
                    f"（{where}）。",
                    "写成 params[key] = params[key] - ... 会让字典指向一个新数组，而网络的各层持有原来的数组，"
                    "它们看不到这次更新。")
    for key in want:
        difference = array_difference(got[key], want[key], f"{name}.update 之后的 params['{key}']", where,
                                       scale=expected.options["scale"][key], hint=expected.options["hint"])
        if difference:
            return difference
    return None


COMPARE = {"array": _compare_array, "unchanged": _compare_unchanged, "scalar": _compare_scalar,
            "numeric": _compare_numeric, "init": _compare_init, "structure": compare_structure,
            "last_loss": _compare_last_loss, "params": _compare_params, "keys": _compare_keys}


def first_difference(student, expected):
    """(fact, hint, cause, the expected Obs or None) of the first observation where the
    student's record differs from the expected one, or None when they agree."""
    for i, want in enumerate(expected.items):
        if i >= len(student.items):
            stop = student.stop
            return stop.message, "", stop.cause, want
        if want.kind == "state":
            continue
        difference = COMPARE[want.kind](student.items[i], want)
        if difference:
            return difference[0], difference[1], None, want
    if student.stop is not None:  # even where the expected code stopped too
        return student.stop.message, "", student.stop.cause, None
    return None


def matches(student, other):
    """The two records agree everywhere: the same observations, and the same stop if any."""
    if len(student.items) != len(other.items) or (student.stop is None) != (other.stop is None):
        return False
    if student.stop is not None and student.stop.key != other.stop.key:
        return False
    return all(want.kind == "state" or COMPARE[want.kind](got, want) is None
               for got, want in zip(student.items, other.items))


