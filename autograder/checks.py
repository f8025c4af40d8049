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

Numbers that are not finite: no comparison takes NaN for NaN (_difference). An
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
Valid alternatives pass, so they are never named.

How a check talks to the student's code: only through _Code below, i.e. the Student
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
import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from autograder import reference
from autograder.gradcheck import numerical_gradient, numerical_gradient_array, rel_error
from autograder.parts import PARTS
from autograder.sandbox.interface import Direct, NotTransferable, Student, StudentError

log = logging.getLogger(__name__)

DTYPES = (np.float64, np.float32)
# Relative tolerance per dtype, applied to a scale that includes the largest value of the
# compared array (see _difference): a different but exact way of computing (np.maximum,
# einsum, in-place state updates, another state convention) passes, a wrong formula does not.
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}
INIT_RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}
# The smallest "largest value" of an array that scales the tolerance: an array of values
# that cancel to about 0 (a sum over the wrong axis of a softmax gradient) compares with
# rounding noise in mind; arrays of the reference's inputs are far above these.
SCALE_FLOOR = {np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-6}
# Numerical gradients (float64, centered differences) against analytic ones.
GRADCHECK_TOL = {"layer": 1e-7, "network": 1e-6}
OPTIMIZER_STEPS = 6
# The state of numpy's global generator each call of initialize_parameters starts from,
# so that a function that forgets to seed gives the same numbers in every run (without a
# seed; with one, the state is drawn from it).
GLOBAL_SEED = 12345
# Each scenario's stream of random inputs: alone (no seed) it gives the fixed inputs of the
# notebook's own hidden-test cells; with a seed, [stream, seed] seeds the Generator.
STREAMS = {"LeakyRelu": 20240601, "Affine": 20240602, "ThreeLayerNet": 20240603, "optimizer": 20240604}
# How a seed moves the optimizers' non-default hyper-parameters of parts.py: learning_rate
# and epsilon by a factor from these ranges, each beta by a factor on 1 - beta. Within them
# every catalogued mistake stays distinguishable: beta1 (0.75-0.85) never meets beta2
# (0.875-0.925), no beta comes near 0.5, epsilon stays far from the constants a mistake
# writes in its place (1e-7, 1e-8) and large enough to matter for the smallest gradients.
HYPER_FACTORS = {"learning_rate": (0.6, 1.5), "epsilon": (0.5, 2.0), "beta": (0.75, 1.25)}


class CheckFailure(AssertionError):
    """A failed check: str() is the Chinese message; mistake is the id of the catalogue
    entry (autograder/catalogue.py) whose behaviour the student's code showed, or None
    ("a+b" for two entries at once); credit is the share of the cell's points it still earns
    (a published variant: its part's Part.variant_credit; else 0)."""

    def __init__(self, message, mistake=None, credit=0.0):
        super().__init__(message)
        self.mistake = mistake
        self.credit = credit


# --------------------------------------------------------------------------------------
# Talking to the code under test. Every interaction goes through _Code, which turns the
# code's exceptions and untransferable values into a _Stop: the scenario cannot go on.
# --------------------------------------------------------------------------------------

class _Stop(Exception):
    """The code under test cannot go on. message: the Chinese failure; key: what happened,
    comparable between two codes (a mistake that raises the same error at the same point
    matches); cause: the student's exception, if any."""

    def __init__(self, message, key, cause=None):
        super().__init__(message)
        self.message, self.key, self.cause = message, key, cause


class _Code:
    """The code under test behind a Student interface (Direct for a mapping ns)."""

    def __init__(self, ns):
        self.student = ns if isinstance(ns, Student) else Direct(ns)

    def lookup(self, name):
        """The Ref of name, or a stop telling the student to run the cell that defines it."""
        try:
            return self.student.lookup(name)
        except KeyError:
            raise _Stop(f"没有找到 {name} 的定义：请先运行定义 {name} 的代码单元，并且不要修改它的名字。",
                        ("missing", name)) from None

    def call(self, what, fn, *args, **kwargs):
        """fn(*args, **kwargs) -> Ref; an exception inside the code becomes a stop."""
        try:
            return self.student.call(fn, *args, **kwargs)
        except StudentError as e:
            raise _Stop(f"调用 {what} 时出错：{e.type_name}: {e.message}", ("raised", what, e.type_name),
                        e.__cause__ or e) from None

    def attr(self, obj, name, owner):
        """obj.name -> Ref; owner names obj in the message (e.g. "Affine")."""
        try:
            return self.student.getattr(obj, name)
        except StudentError as e:
            if e.type_name == "AttributeError":
                raise _Stop(f"{owner} 对象没有属性 {name}（请不要修改它的名字）。",
                            ("no attribute", owner, name)) from None
            raise _Stop(f"读取 {owner}.{name} 时出错：{e.type_name}: {e.message}",
                        ("raised", f"{owner}.{name}", e.type_name), e.__cause__ or e) from None

    def method(self, obj, name, what, *args, **kwargs):
        """obj.name(*args, **kwargs) -> Ref; what names the method (e.g. "Affine.forward")."""
        return self.call(what, self.attr(obj, name, what.split(".")[0]), *args, **kwargs)

    def item(self, obj, key, what):
        """obj[key] -> Ref; what names the expression in messages."""
        try:
            return self.student.getitem(obj, key)
        except StudentError as e:
            raise _Stop(f"调用 {what} 时出错：{e.type_name}: {e.message}", ("raised", what, e.type_name),
                        e.__cause__ or e) from None

    def get(self, ref, what):
        """A local copy of the value behind ref; what names it in the message when it is not
        an array, a number, a string or a container of those."""
        try:
            return self.student.fetch(ref)
        except NotTransferable as e:
            raise _Stop(f"{what}：应为 numpy 数组、数，或由它们组成的 list/tuple/dict，实际得到 {e.type_name}。",
                        ("not transferable", what, e.type_name)) from None

    def share(self, value):
        """A copy of value in the code's world whose arrays the check can observe -> Ref."""
        return self.student.share(value)

    def observe(self, ref):
        """The current value of what share() gave the code (arrays copied), as the grader
        sees it. Called right after the call that may have changed it."""
        return self.student.observe(ref)

    def seed_global_random(self, seed):
        """np.random.seed(seed) in the code's world, if its np is numpy; else nothing."""
        try:
            random = self.student.getattr(self.student.lookup("np"), "random")
            self.student.call(self.student.getattr(random, "seed"), seed)
        except (KeyError, StudentError):
            pass

    def local(self, ref):
        """The object behind ref, for code that runs in this process (the reference and
        the catalogue's entries only)."""
        if not isinstance(self.student, Direct):
            raise TypeError("local() is only for code in this process")
        return self.student._own(ref)


# --------------------------------------------------------------------------------------
# Observations, and how two of them compare
# --------------------------------------------------------------------------------------

@dataclass
class _Obs:
    """One observation of a scenario: kind says how it compares (_COMPARE); what and where
    name it in messages; value is what was observed; options say how to compare it."""
    kind: str
    what: str
    where: str
    value: object
    options: dict = field(default_factory=dict)


def _label(kind, what, path):
    """How a message names the value at path (keys, as _first_nonfinite gives them) inside
    an observation of kind whose what is what."""
    key = path[0] if path else ""
    if kind == "numeric":
        return what.format(key=key).rstrip()
    if kind == "init":
        return f"{what} 返回的 {key}"
    if kind == "structure":
        return f"{what} 的 params['{key}']"
    if kind == "params":
        return f"{what}['{key}']"
    if kind == "unchanged":
        return f"调用 {what} 之后，传入的 {key}"
    if kind == "last_loss":
        return "lastLayer.loss" if key == 0 else f"{what} 的返回值"
    return what


class _Record:
    """What a scenario observed on one code: items (_Obs in order), stop (the _Stop that
    ended it early, or None), given (what later runs need from this one: the network's
    parameters)."""

    def __init__(self):
        self.items, self.stop, self.given = [], None, {}

    def add(self, kind, what, where, value, **options):
        """Records an observation; one that holds a NaN or inf (in value, or in the
        numerical gradient of a "numeric" one) ends the scenario there instead: the
        reference's are finite, and no comparison of values ever takes NaN for NaN."""
        if kind != "state":
            for observed, label_path in ((value, None), (options.get("numeric") if kind == "numeric" else None, "numeric")):
                found = _first_nonfinite(observed)
                if found:
                    label = _label(kind, what, found[0])
                    if label_path:
                        label = f"由 forward 的输出差分得到的数值梯度（用来检查 {label}）"
                    raise _nonfinite_stop(found, label, where, (kind, what, where, label_path))
        self.items.append(_Obs(kind, what, where, value, options))


def _dtype_name(dtype):
    return np.dtype(dtype).name


def _call_text(name, args=(), kwargs=None):
    """How a call looks in the notebook, for messages: Adam(learning_rate=0.05, ...)."""
    def show(value):
        return f"np.{_dtype_name(value)}" if isinstance(value, type) else repr(value)
    parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


def _difference(actual, expected, rtol, scale=None):
    """The one comparison of numbers in the checks: None when actual is within rtol * scale
    of expected elementwise, else the largest |actual - expected|, which is inf when either
    side holds a NaN or inf (a non-finite number equals nothing, not even NaN).

    actual, expected: arrays of the same shape, or numbers. scale defaults to
    |expected| + max|expected| (elementwise; max|expected| at least SCALE_FLOOR of
    expected's dtype): rounding differences of an equivalent computation are far below
    rtol of the array's largest value.
    """
    floor = SCALE_FLOOR.get(np.asarray(expected).dtype, 0.0)
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        return float("inf")
    if scale is None:
        scale = np.abs(e) + max(np.max(np.abs(e), initial=0.0), floor)
    error = np.abs(a - e)
    if np.all(error <= rtol * scale):
        return None
    return float(np.max(error))


def _first_nonfinite(value, path=()):
    """(path, index, number, positions) of the first NaN or inf in value -- an array, a
    number, or a dict / list / tuple of those; path: the keys leading to it; index: its
    position in its array (() for a number); positions: the flat indices of every non-finite
    element of that array -- or None when every number in value is finite."""
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
            bad = ~np.isfinite(value)
            if np.any(bad):
                index = tuple(int(i) for i in np.argwhere(bad)[0])
                return path, index, value[index], tuple(int(i) for i in np.flatnonzero(bad))
        elif (isinstance(value, (float, complex, np.floating, np.complexfloating))
              and not np.isfinite(value)):
            return path, (), value, (0,)
        return None
    for key, item in items:
        found = _first_nonfinite(item, (*path, key))
        if found:
            return found
    return None


def _nonfinite_stop(found, label, where, key):
    """The _Stop for a NaN or inf (found: what _first_nonfinite returned) in the value label
    names; key identifies the observation (a mistake matches only a stop at the same one)."""
    _, index, number, positions = found
    at = f"（第一个在位置 {index}）" if index != () else ""
    where = f"（{where}）" if where else ""
    return _Stop(f"{label} 中出现 NaN 或 inf{at}：值为 {number}{where}，而参考实现在这里得到的都是有限的数。"
                 "请检查是否有除以 0、对负数开方、log(0) 或数值溢出。",
                 ("non-finite", *key, tuple(found[0]), positions))


def _array_difference(actual, expected, what, where, rtol=None, scale=None, hint="", shape_hint="",
                      fact=None):
    """None if actual is an ndarray with expected's shape, dtype and values (within rtol),
    else (fact, hint) for the message. fact replaces the generic fact of any difference."""
    def differs(text, text_hint=hint):
        return (fact or text), text_hint
    if not isinstance(expected, np.ndarray):
        return None if _same_value(actual, expected) else differs(f"{what}：与预期不同（{where}）。")
    if not isinstance(actual, np.ndarray):
        return differs(f"{what}：应该是 numpy 数组，实际得到 {type(actual).__name__}（{where}）。", "")
    if actual.shape != expected.shape:
        return differs(f"{what}：形状应为 {expected.shape}，实际为 {actual.shape}（{where}）。", shape_hint)
    if actual.dtype != expected.dtype:
        return differs(f"{what}：dtype 应为 {_dtype_name(expected.dtype)}，实际为 {_dtype_name(actual.dtype)}"
                       f"（{where}）。", "输入是什么 dtype，结果就应该保持什么 dtype。")
    found = _first_nonfinite(actual)
    if found:
        return differs(_nonfinite_stop(found, what, where, ()).message, "")
    error = _difference(actual, expected, RTOL.get(expected.dtype, 1e-10) if rtol is None else rtol, scale)
    if error is not None:
        return differs(f"{what}：数值不正确（{where}；最大绝对误差 {error:.3g}）。")
    return None


def _same_value(a, b):
    """a and b hold the same values (arrays within float32 rounding; NaN equals nothing)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return set(a) == set(b) and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind not in "fc":
            return np.array_equal(a, b)
        return _difference(a, b, RTOL.get(b.dtype, 1e-10)) is None
    try:
        if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
            return _difference(a, b, 1e-10) is None
        return bool(a == b)
    except Exception:
        return False


def _identical(a, b):
    """Exactly the same arrays (a dict of named arrays, or one array), every number finite."""
    if isinstance(b, Mapping):
        return isinstance(a, Mapping) and set(a) == set(b) and all(_identical(a[k], b[k]) for k in b)
    return (isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
            and _difference(a, b, 0.0, scale=0.0) is None)


def _compare_array(actual, expected):
    return _array_difference(actual.value, expected.value, expected.what, expected.where, **expected.options)


def _compare_keys(actual, expected):
    """A returned dict's keys (value: the sorted keys, None when it is no dict)."""
    return None if actual.value == expected.value else (expected.options["message"], "")


def _compare_unchanged(actual, expected):
    """Inputs (a dict name -> array observed after the call) left as they were given."""
    original = expected.options["original"]
    if _identical(expected.value, original):
        for name, array in original.items():
            if not _identical(actual.value.get(name), array):
                return (f"输入被修改了：{expected.what} 改变了传入的 {name}（{expected.where}）。",
                        "请不要原地修改输入数组，需要时先 copy()。")
        return None
    # the expected code changes its input too (a catalogued mistake): the same way?
    return None if _same_value(actual.value, expected.value) else ("输入被改成了不同的值。", "")


def _compare_scalar(actual, expected):
    what, where, value, rtol = expected.what, expected.where, actual.value, expected.options["rtol"]
    if np.ndim(value) != 0:
        return f"{what} 应该返回一个标量，实际得到形状为 {np.shape(value)} 的值（{where}）。", ""
    try:
        value = float(value)
    except Exception:
        return f"{what} 应该返回一个数，实际得到 {type(actual.value).__name__}（{where}）。", ""
    want = float(expected.value)
    error = _difference(value, want, rtol, scale=abs(want) + 1e-12)
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
                    if np.shape(value[k]) == np.shape(numeric[k]) and _first_nonfinite((value[k], numeric[k])) is None
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
    return None if _same_value(actual.value, expected.value) else ("梯度不同。", "")


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
        difference = _array_difference(params[key], want[key], f"{call} 返回的 {key}", expected.where,
                                       rtol=INIT_RTOL.get(want[key].dtype, 1e-12), scale=np.abs(want[key]),
                                       hint=hint)
        if difference:
            return difference
    return None


def _compare_structure(actual, expected):
    """A params dict: the keys, and each value an array of the expected shape and dtype."""
    call, params, want = expected.what, actual.value, expected.value
    if not isinstance(params, Mapping):
        return f"{call} 的 params 应该是字典，实际为 {type(params).__name__}。", ""
    if set(params) != set(want):
        return f"{call} 的 params 的键应为 {sorted(want)}，实际为 {sorted(params)}。", ""
    for key, value in want.items():
        got = params[key]
        if not isinstance(got, np.ndarray) or got.shape != value.shape or got.dtype != value.dtype:
            return (f"{call} 的 params['{key}'] 应为形状 {value.shape}、dtype {_dtype_name(value.dtype)} 的数组，"
                    f"实际为 {getattr(got, 'shape', type(got).__name__)}、"
                    f"{_dtype_name(got.dtype) if isinstance(got, np.ndarray) else '-'}。",
                    "ThreeLayerNet 用 initialize_parameters 初始化参数。")
    return None


def _compare_last_loss(actual, expected):
    """lastLayer.loss after loss(): the loss that was returned (value: (lastLayer.loss, loss))."""
    def consistent(value):
        last, returned = value
        try:
            return (last is not None and np.ndim(last) == 0
                    and _difference(float(last), float(returned), 0.0, scale=0.0) is None)
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
        moved = not _identical(want[key], expected_before[key])
        if moved and _identical(got[key], before[key]):
            return (f"参数没有原地更新（请使用 -= ）：{name}.update 之后，传入的 params['{key}'] 这个数组没有改变"
                    f"（{where}）。",
                    "写成 params[key] = params[key] - ... 会让字典指向一个新数组，而网络的各层持有原来的数组，"
                    "它们看不到这次更新。")
    for key in want:
        difference = _array_difference(got[key], want[key], f"{name}.update 之后的 params['{key}']", where,
                                       scale=expected.options["scale"][key], hint=expected.options["hint"])
        if difference:
            return difference
    return None


_COMPARE = {"array": _compare_array, "unchanged": _compare_unchanged, "scalar": _compare_scalar,
            "numeric": _compare_numeric, "init": _compare_init, "structure": _compare_structure,
            "last_loss": _compare_last_loss, "params": _compare_params, "keys": _compare_keys}


def _first_difference(student, expected):
    """(fact, hint, cause, the expected _Obs or None) of the first observation where the
    student's record differs from the expected one, or None when they agree."""
    for i, want in enumerate(expected.items):
        if i >= len(student.items):
            stop = student.stop
            return stop.message, "", stop.cause, want
        if want.kind == "state":
            continue
        difference = _COMPARE[want.kind](student.items[i], want)
        if difference:
            return difference[0], difference[1], None, want
    if student.stop is not None:  # even where the expected code stopped too
        return student.stop.message, "", student.stop.cause, None
    return None


def _matches(student, other):
    """The two records agree everywhere: the same observations, and the same stop if any."""
    if len(student.items) != len(other.items) or (student.stop is None) != (other.stop is None):
        return False
    if student.stop is not None and student.stop.key != other.stop.key:
        return False
    return all(want.kind == "state" or _COMPARE[want.kind](got, want) is None
               for got, want in zip(student.items, other.items))


# --------------------------------------------------------------------------------------
# Scenarios: what each check does. scenario(code, record, part, given, seed, **options)
# calls the code under test and records what it observes; given holds what the student's
# run recorded in record.given (the network's parameters), for the runs of the expected
# codes; seed chooses the random inputs (None: the fixed ones).
# --------------------------------------------------------------------------------------

def _away_from_zero(rng, shape):
    """Random values with 0.1 <= |x| <= 2: a nudge of 1e-5 never crosses LeakyReLU's kink."""
    return rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def _inputs_rng(stream, seed):
    """The Generator of a scenario's random inputs: stream (STREAMS) alone without a seed,
    stream and seed (a non-negative int, the student's) with one."""
    return np.random.default_rng(stream if seed is None else [stream, seed])


def _hyper_params(part, rng, seed):
    """The optimizer part's non-default hyper-parameters: parts.py's without a seed, else
    each moved by a factor drawn from rng within HYPER_FACTORS (3 significant digits)."""
    if seed is None:
        return dict(part.hyper_params)
    moved = {}
    for name, value in part.hyper_params.items():
        is_beta = name.startswith("beta")
        factor = rng.uniform(*HYPER_FACTORS["beta" if is_beta else name])
        moved[name] = float(f"{(1 - (1 - value) * factor) if is_beta else value * factor:.3g}")
    return moved


def _initialize_parameters_scenario(code, record, part, given, seed):
    """Several sizes, scales and dtypes (float32 by default, float64 on request); each call
    starts from the same state of numpy's global generator."""
    initialize_parameters = code.lookup(part.name)
    global_seed = GLOBAL_SEED if seed is None else int(_inputs_rng(GLOBAL_SEED, seed).integers(2, 2**32))
    cases = [((5, 4, 3, 0.5), None), ((784, 300, 10, 0.01), None),
             ((5, 4, 3, 0.5), np.float64), ((6, 2, 7, 0.1), np.float32)]
    for args, dtype in cases:
        kwargs = {} if dtype is None else {"dtype": dtype}
        call = _call_text(part.name, args, kwargs)
        code.seed_global_random(global_seed)
        params = code.get(code.call(call, initialize_parameters, *args, **kwargs), f"{call} 的返回值")
        record.add("init", call, f"dtype {_dtype_name(dtype or np.float32)}", params)


def _leaky_relu_scenario(code, record, part, given, seed):
    """forward and backward on several shapes in float32 and float64 (one layer object
    reused, as in a network), inputs unchanged, and backward against a numerical gradient of
    forward in float64. Inputs are never exactly 0 (either convention is fine)."""
    LeakyRelu = code.lookup(part.name)
    rng = _inputs_rng(STREAMS["LeakyRelu"], seed)
    layer = code.call("LeakyRelu()", LeakyRelu)
    for shape in [(4, 5), (3, 2, 4), (7,)]:
        for dtype in DTYPES:
            where = f"输入形状 {shape}，dtype {_dtype_name(dtype)}"
            x = _away_from_zero(rng, shape).astype(dtype)
            dout = rng.standard_normal(shape).astype(dtype)
            x_sent = code.share(x)
            out = code.method(layer, "forward", "LeakyRelu.forward", x_sent)
            record.add("unchanged", "LeakyRelu.forward", where, {"x": code.observe(x_sent)}, original={"x": x})
            record.add("array", "LeakyRelu.forward 的输出", where, code.get(out, "LeakyRelu.forward 的输出"),
                       hint="x > 0 时输出 x，x <= 0 时输出 alpha * x。")
            dout_sent = code.share(dout)
            dx = code.method(layer, "backward", "LeakyRelu.backward", dout_sent)
            record.add("unchanged", "LeakyRelu.backward", where,
                       {"dout": code.observe(dout_sent), "x": code.observe(x_sent)}, original={"dout": dout, "x": x})
            record.add("array", "LeakyRelu.backward 返回的 dx", where, code.get(dx, "LeakyRelu.backward 返回的 dx"),
                       hint="x > 0 处梯度为 dout，x <= 0 处为 alpha * dout（按上一次 forward 的输入 x 判断）。")

    shape = (4, 6)
    x = _away_from_zero(rng, shape)
    dout = rng.standard_normal(shape)
    layer = code.call("LeakyRelu()", LeakyRelu)
    code.method(layer, "forward", "LeakyRelu.forward", x)
    dx = code.get(code.method(layer, "backward", "LeakyRelu.backward", dout), "LeakyRelu.backward 返回的 dx")

    def forward(x_):
        out = code.method(code.call("LeakyRelu()", LeakyRelu), "forward", "LeakyRelu.forward", x_)
        return code.get(out, "LeakyRelu.forward 的输出")

    record.add("numeric", "LeakyRelu.backward 的 dx ", f"输入形状 {shape}，float64", dx,
               numeric=numerical_gradient_array(forward, x, dout), tol=GRADCHECK_TOL["layer"])


def _affine_scenario(code, record, part, given, seed):
    """forward (out), backward (dx, dW, db) for 2-D and 3-D inputs in float32 and float64,
    inputs (x, W, b, dout) unchanged, and dx, dW, db against numerical gradients of forward
    in float64."""
    Affine = code.lookup(part.name)
    rng = _inputs_rng(STREAMS["Affine"], seed)
    # (x shape, M): D != M and N != M, so that a transposed dW or a sum over the wrong
    # axis changes the shape.
    for x_shape, M in [((5, 4), 3), ((3, 2, 2), 5), ((1, 6), 2)]:
        D = int(np.prod(x_shape[1:]))
        for dtype in DTYPES:
            where = f"x 形状 {x_shape}，W 形状 {(D, M)}，b 形状 {(M,)}，dtype {_dtype_name(dtype)}"
            inputs = {"x": rng.standard_normal(x_shape).astype(dtype), "W": rng.standard_normal((D, M)).astype(dtype),
                      "b": rng.standard_normal(M).astype(dtype)}
            dout = rng.standard_normal((x_shape[0], M)).astype(dtype)
            sent = {name: code.share(a) for name, a in inputs.items()}
            layer = code.call("Affine(W, b)", Affine, sent["W"], sent["b"])
            out = code.method(layer, "forward", "Affine.forward", sent["x"])
            record.add("unchanged", "Affine.forward", where, {n: code.observe(r) for n, r in sent.items()},
                       original=dict(inputs))
            record.add("array", "Affine.forward 的输出", where, code.get(out, "Affine.forward 的输出"))
            inputs["dout"], sent["dout"] = dout, code.share(dout)
            dx = code.method(layer, "backward", "Affine.backward", sent["dout"])
            record.add("unchanged", "Affine.backward", where, {n: code.observe(r) for n, r in sent.items()},
                       original=dict(inputs))
            record.add("array", "Affine.backward 返回的 dx", where, code.get(dx, "Affine.backward 返回的 dx"),
                       shape_hint="dx 的形状应与 forward 的输入 x 相同。")
            record.add("array", "Affine.backward 之后的 dW", where,
                       code.get(code.attr(layer, "dW", "Affine"), "Affine.dW"), shape_hint="dW 的形状应与 W 相同。")
            record.add("array", "Affine.backward 之后的 db", where,
                       code.get(code.attr(layer, "db", "Affine"), "Affine.db"),
                       shape_hint="db 的形状应与 b 相同（对 batch 维求和）。")

    for x_shape, M in [((4, 5), 3), ((2, 3, 2), 4)]:
        D = int(np.prod(x_shape[1:]))
        x, W, b = rng.standard_normal(x_shape), rng.standard_normal((D, M)), rng.standard_normal(M)
        dout = rng.standard_normal((x_shape[0], M))

        def out(x_, W_, b_):
            layer_ = code.call("Affine(W, b)", Affine, W_, b_)
            return code.get(code.method(layer_, "forward", "Affine.forward", x_), "Affine.forward 的输出")

        layer = code.call("Affine(W, b)", Affine, W, b)
        code.method(layer, "forward", "Affine.forward", x)
        analytic = {"dx": code.get(code.method(layer, "backward", "Affine.backward", dout), "Affine.backward 返回的 dx"),
                    "dW": code.get(code.attr(layer, "dW", "Affine"), "Affine.dW"),
                    "db": code.get(code.attr(layer, "db", "Affine"), "Affine.db")}
        numeric = {"dx": numerical_gradient_array(lambda x_: out(x_, W, b), x, dout),
                   "dW": numerical_gradient_array(lambda W_: out(x, W_, b), W, dout),
                   "db": numerical_gradient_array(lambda b_: out(x, W, b_), b, dout)}
        record.add("numeric", "Affine.backward 的 {key} ", f"x 形状 {x_shape}，W 形状 {(D, M)}，float64",
                   analytic, numeric=numeric, tol=GRADCHECK_TOL["layer"])


def _exact_cross_entropy(scores, labels):
    """Mean cross-entropy of softmax(scores) without the 1e-7 guard inside the log: the
    function whose gradient SoftmaxWithLoss.backward computes. labels: (N,) indices."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels].mean()


def _pre_activations(net, x):
    """The inputs of the two LeakyRelu layers of a reference network."""
    a1 = net.layers["Affine1"].forward(x)
    a2 = net.layers["Affine2"].forward(net.layers["LeakyRelu1"].forward(a1))
    return a1, a2


def _reference_network(params, sizes, dtype):
    """A reference ThreeLayerNet holding copies of params."""
    net = reference.ThreeLayerNet(*sizes, dtype=dtype)
    for key, value in net.params.items():
        value[...] = params[key]
    return net


def _reference_input(params, like, call):
    """params (a dict of arrays read from the student's code) checked before it becomes an
    input of the reference: the keys, shapes and dtypes of like, every number finite. Returns
    params, or raises a _Stop."""
    if _compare_structure(_Obs("structure", call, "", params), _Obs("structure", call, "", like)):
        raise _Stop("params 的结构不对，无法继续检查。", ("structure", call))
    found = _first_nonfinite(params)
    if found:
        raise _nonfinite_stop(found, _label("structure", call, found[0]), "", ("input", call))
    return params


def _network_scenario(code, record, part, given, seed):
    """The network (with the layers and initialize_parameters it uses) at the parameters of
    the student's network: predict, loss (one-hot and index labels), lastLayer.loss,
    gradient (and against a numerical gradient of the exact cross-entropy), accuracy, float32
    kept; then params updated in place (as an optimizer does) must change predict."""
    ThreeLayerNet = code.lookup(part.name)
    rng = _inputs_rng(STREAMS["ThreeLayerNet"], seed)
    sizes, n = (7, 6, 4), 5
    for dtype in DTYPES:
        kwargs = {"weight_init_std": 0.5, "dtype": dtype}
        call = _call_text(part.name, sizes, kwargs)
        net = code.call(call, ThreeLayerNet, *sizes, **kwargs)
        params = code.attr(net, "params", part.name)
        own = code.get(params, f"{call} 的 params")
        structure = reference.initialize_parameters(*sizes, 0.5, dtype)
        record.add("structure", call, "", own)
        own = _reference_input(own, structure, call)
        if dtype in given:  # an expected code: evaluated at the student's parameters
            for key, value in code.local(net).params.items():
                value[...] = given[dtype][key]
        record.given[dtype] = given.get(dtype, own)
        expected_net = _reference_network(record.given[dtype], sizes, dtype)

        # x with every hidden pre-activation away from 0, so that the numerical gradient
        # never straddles LeakyReLU's kink.
        for _ in range(1000):
            x = rng.standard_normal((n, sizes[0]))
            if min(np.min(np.abs(a)) for a in _pre_activations(expected_net, x.astype(dtype))) > 1e-3:
                break
        x = x.astype(dtype)
        labels = rng.permutation(np.arange(n) % sizes[2])
        y_one_hot = np.eye(sizes[2], dtype=dtype)[labels]
        where = f"{call}，x 形状 {x.shape}"
        rtol = RTOL[np.dtype(dtype)]

        x_sent = code.share(x)
        scores = code.method(net, "predict", "ThreeLayerNet.predict", x_sent)
        record.add("unchanged", "ThreeLayerNet.predict", where, {"x": code.observe(x_sent)}, original={"x": x})
        predict_hint = "predict 应依次调用 self.layers 中每一层的 forward，返回 softmax 之前的得分。"
        record.add("array", "ThreeLayerNet.predict 的输出", where, code.get(scores, "ThreeLayerNet.predict 的输出"),
                   hint=predict_hint, shape_hint=predict_hint)

        last_layer = code.attr(net, "lastLayer", part.name)
        for y, kind in ((y_one_hot, "one-hot 标签"), (labels, "类别索引标签")):
            loss = code.get(code.method(net, "loss", "ThreeLayerNet.loss", x, y), "ThreeLayerNet.loss 的返回值")
            record.add("scalar", "ThreeLayerNet.loss", f"{where}，{kind}", loss, rtol=rtol * 10)
            last_loss = code.get(code.attr(last_layer, "loss", "SoftmaxWithLoss"), "lastLayer.loss")
            record.add("last_loss", "ThreeLayerNet.loss", f"{where}，{kind}", (last_loss, loss))

        grads = code.get(code.method(net, "gradient", "ThreeLayerNet.gradient", x, y_one_hot),
                         "ThreeLayerNet.gradient 的返回值")
        gwhere = f"{where}，one-hot 标签"
        record.add("scalar", "ThreeLayerNet.gradient 之后的 lastLayer.loss", gwhere,
                   code.get(code.attr(last_layer, "loss", "SoftmaxWithLoss"), "lastLayer.loss"), rtol=rtol * 10)
        record.add("keys", "ThreeLayerNet.gradient", gwhere, sorted(grads) if isinstance(grads, Mapping) else None,
                   message=f"ThreeLayerNet.gradient 应返回与 params 同键的字典（{gwhere}）。")
        for key in reference.PARAM_KEYS:
            # float32 backpropagation through three layers: allow a little more rounding.
            record.add("array", f"ThreeLayerNet.gradient 的 {key}", gwhere,
                       grads.get(key) if isinstance(grads, Mapping) else None, rtol=rtol * 10,
                       hint="gradient 依次调用各层的 backward：请先确认 LeakyRelu 和 Affine 的测试都已通过。")

        expected_scores = expected_net.predict(x)
        wrong = labels.copy()
        wrong[:2] = (np.argmax(expected_scores[:2], axis=1) + 1) % sizes[2]
        wrong[2:] = np.argmax(expected_scores[2:], axis=1)
        for y, kind in ((wrong, "类别索引标签"), (np.eye(sizes[2], dtype=dtype)[wrong], "one-hot 标签")):
            accuracy = code.get(code.method(net, "accuracy", "ThreeLayerNet.accuracy", x, y),
                                "ThreeLayerNet.accuracy 的返回值")
            record.add("scalar", "ThreeLayerNet.accuracy", f"{where}，{kind}", accuracy, rtol=1e-12)

        if dtype == np.float64:
            grads = code.get(code.method(net, "gradient", "ThreeLayerNet.gradient", x, labels),
                             "ThreeLayerNet.gradient 的返回值")
            numeric = {key: numerical_gradient(lambda _: _exact_cross_entropy(expected_net.predict(x), labels), param)
                       for key, param in expected_net.params.items()}
            record.add("numeric", "ThreeLayerNet.gradient 的 {key} ", f"{where}，类别索引标签", grads,
                       numeric=numeric, tol=GRADCHECK_TOL["network"])

        # The optimizers update params in place; the Affine layers must see that, i.e.
        # hold the very arrays of params. Runs last: it changes the network.
        for key in reference.PARAM_KEYS:
            delta = (0.1 * rng.standard_normal(structure[key].shape)).astype(dtype)
            array = code.item(params, key, f"ThreeLayerNet.params['{key}']")
            code.call(f"ThreeLayerNet.params['{key}'] -= delta",
                      code.attr(array, "__isub__", f"ThreeLayerNet.params['{key}']"), delta)
            i = key[1:]
            record.add("array", "ThreeLayerNet.predict 的输出", f"{call}，x 形状 {x.shape}",
                       code.get(code.method(net, "predict", "ThreeLayerNet.predict", x), "ThreeLayerNet.predict 的输出"),
                       fact=(f"{call}：原地更新 params['{key}']（params['{key}'] -= delta，优化器就是这样更新参数的）之后，"
                             f"predict 的输出没有随之改变（x 形状 {x.shape}）：layers['Affine{i}'].{key[0]} 应该就是 "
                             f"params['{key}'] 这个数组本身。"),
                       hint="如果它是副本或另一个数组，这一层就看不到参数的原地更新。")


# Parameters of several keys and shapes, like a small network's.
_PARAM_SHAPES = {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}
# Gradient magnitudes, fixed per element across steps: tiny ones show where epsilon sits.
_GRAD_SCALES = (1e-4, 1e-2, 1.0, 10.0)


def _optimizer_problem(rng, dtype):
    """Initial parameters (0.5 <= |p| <= 2) and OPTIMIZER_STEPS gradient dicts whose
    magnitude is fixed per element, from 1e-4 to 10."""
    params = {k: (rng.choice([-1.0, 1.0], size=s) * rng.uniform(0.5, 2.0, size=s)).astype(dtype)
              for k, s in _PARAM_SHAPES.items()}
    scales = {k: rng.choice(_GRAD_SCALES, size=s) for k, s in _PARAM_SHAPES.items()}
    grads = [{k: (rng.standard_normal(s) * scales[k]).astype(dtype) for k, s in _PARAM_SHAPES.items()}
             for _ in range(OPTIMIZER_STEPS)]
    return params, grads


def _optimizer_runs(part, rng, seed):
    """[(dtype, hyper-parameters)] of the optimizer scenario's runs."""
    hyper_params = _hyper_params(part, rng, seed)
    return [(dtype, chosen) for dtype in DTYPES for chosen in (hyper_params, {})]


def _optimizer_scenario(code, record, part, given, seed, state_at=None):
    """OPTIMIZER_STEPS updates of one optimizer per run (float64 and float32; the part's
    non-default hyper-parameters and the defaults): after every step, the gradients given
    so far unchanged, and the parameters as the grader observes them (in place, values).
    state_at=(run, step): stop after that step and record the state attributes the text
    names (for a hint)."""
    name = part.name
    cls = code.lookup(name)
    rng = _inputs_rng(STREAMS["optimizer"], seed)
    hint = f"请对照课文中 {name} 的公式逐项检查 update（状态的更新、参数的更新、超参数的位置）。"
    for run, (dtype, hyper_params) in enumerate(_optimizer_runs(part, rng, seed)):
        params0, grads_sequence = _optimizer_problem(rng, dtype)
        hp_text = ", ".join(f"{k}={v}" for k, v in hyper_params.items()) or "默认超参数"
        optimizer = code.call(_call_text(name, (), hyper_params), cls, **hyper_params)
        # The params dict the code updates; its arrays are those a network's layers would
        # hold, and their observed values after each step are the parameters graded.
        params_sent = code.share(params0)
        before = params0
        abs_steps = {k: np.zeros(p.shape) for k, p in params0.items()}  # sum of |steps| so far
        given_grads = []
        for step, grads in enumerate(grads_sequence, start=1):
            where = f"第 {step} 次 update 后；{hp_text}；参数 dtype {_dtype_name(dtype)}"
            grads_sent = code.share(grads)
            given_grads.append((step, grads_sent, grads))

            def label(given_step, key):
                return f"grads['{key}']" if given_step == step else f"第 {given_step} 次 update 的 grads['{key}']"
            code.method(optimizer, "update", f"{name}.update", params_sent, grads_sent)
            observed = code.observe(params_sent)
            record.add("unchanged", f"{name}.update", where,
                       {label(s, k): v for s, sent, _ in given_grads for k, v in code.observe(sent).items()},
                       original={label(s, k): v for s, _, grads_ in given_grads for k, v in grads_.items()})
            scale = {}
            for k in _PARAM_SHAPES:
                abs_steps[k] += np.nan_to_num(np.abs(observed[k].astype(np.float64) - before[k]), posinf=0.0)
                scale[k] = np.abs(np.nan_to_num(observed[k].astype(np.float64))) + np.abs(params0[k]) + abs_steps[k]
            record.add("params", f"{name}.update 之后的 params", where, observed, before=before, scale=scale,
                       name=name, hint=hint, run=run, step=step)
            before = observed
            if state_at == (run, step):
                state = {}  # an attribute the object lacks (or that cannot be read) is left out
                for attribute in part.state:
                    try:
                        state[attribute] = code.get(code.attr(optimizer, attribute, name), f"{name}.{attribute}")
                    except _Stop:
                        pass
                record.add("state", name, where, state, step=step)
                return


_SCENARIOS = {"initialize_parameters": _initialize_parameters_scenario, "LeakyRelu": _leaky_relu_scenario,
              "Affine": _affine_scenario, "ThreeLayerNet": _network_scenario}


def _scenario(part):
    if part.name in _SCENARIOS:
        return _SCENARIOS[part.name]
    if part.kind == "optimizer":
        return _optimizer_scenario
    raise KeyError(f"no scenario for {part.name} ({part.kind})")


# --------------------------------------------------------------------------------------
# Running a check: the student's record against the reference's; naming the mistake
# --------------------------------------------------------------------------------------

def _record(scenario, ns, part, given=None, seed=None, **options):
    """The record of scenario on the code of ns (a mapping or a Student), on the inputs of
    seed (None: the fixed inputs)."""
    record = _Record()
    try:
        scenario(_Code(ns), record, part, given or {}, seed, **options)
    except _Stop as stop:
        record.stop = stop
    return record


def _reference_namespace():
    return {"np": np, **{name: getattr(reference, name) for name in reference.__all__}}


@lru_cache(maxsize=64)
def _reference_record(grade_id, seed):
    """The reference's record of a part whose scenario needs nothing from the student's."""
    part = PARTS[grade_id]
    return _record(_scenario(part), _reference_namespace(), part, seed=seed)


def _expected_record(part, student, seed):
    if student.given:
        return _record(_scenario(part), _reference_namespace(), part, student.given, seed)
    return _reference_record(part.grade_id, seed)


def _diagnose(part, student, seed):
    """(the catalogue entry the student's record matches, where text) or (None, ""): each
    mistake or variant of the part and of the parts it uses, then each pair of the part's own
    (catalogue.combined; at most n(n-1)/2 runs of the scenario for the part's n entries)."""
    from autograder import catalogue
    scenario = _scenario(part)
    own = catalogue.entries(part.grade_id, valid=False)
    candidates = [(entry, "") for entry in own]
    for used in part.uses:
        candidates += [(entry, f"{part.name} 用到的 {PARTS[used].name} ")
                       for entry in catalogue.entries(used, valid=False)]
    for entry, where in candidates:
        if _behaves_like(entry, part, student, seed):
            return entry, where
    for i, first in enumerate(own):
        for second in own[i + 1:]:
            pair = catalogue.combined(first, second)
            if pair is not None and _behaves_like(pair, part, student, seed):
                return pair, ""
    return None, ""


def _behaves_like(entry, part, student, seed):
    """The student's record equals the record of the catalogue entry's code (in this process)."""
    from autograder import catalogue
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # mistakes divide by zero, overflow, ...
            record = _record(_scenario(part), catalogue.namespace(entry), part, student.given, seed)
        return _matches(student, record)
    except Exception:  # a problem of the catalogue must not change a verdict
        log.exception("catalogue entry %s could not run", entry.id)
        return False


def _state_hint(ns, part, failed, seed):
    """For an optimizer whose parameters differ from the reference's at a step: how its
    state attributes at that step compare with the text's (a hint; never graded)."""
    if part.kind != "optimizer" or failed is None or failed.kind != "params" or not part.state:
        return ""
    at = (failed.options["run"], failed.options["step"])
    student = _record(_optimizer_scenario, ns, part, seed=seed, state_at=at)
    expected = _record(_optimizer_scenario, _reference_namespace(), part, seed=seed, state_at=at)
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
                and all(_same_value_loosely(value[k], expected_state[k]) for k in expected_state)):
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


def _same_value_loosely(a, b):
    return (isinstance(a, np.ndarray) and a.shape == b.shape
            and _difference(a, b, 1e-4, np.abs(b) + np.max(np.abs(b), initial=0.0) + 1e-12) is None)


def check_part(ns, part, seed=None):
    """Runs the check of part (a parts.Part) on ns; raises CheckFailure when it fails.
    seed (a non-negative int, from autograder.course_secret.student_seed): the check's
    random inputs and non-default hyper-parameters are drawn from it, the same for the same
    seed; None: the fixed inputs (the notebook's own hidden-test cells, the tests)."""
    saved = np.random.get_state()  # the scenarios seed numpy's global generator
    try:
        scenario = _scenario(part)
        student = _record(scenario, ns, part, seed=seed)
        found = _first_difference(student, _expected_record(part, student, seed))
        if found is None:
            return
        fact, hint, cause, failed = found
        mistake, where = _diagnose(part, student, seed)
        fact = fact if fact.endswith(("。", "）", "：")) else fact + "。"
        credit = part.variant_credit if mistake is not None and mistake.variant and not where else 0.0
        if mistake is not None:
            message = fact + mistake.diagnosis(where)
            if mistake.variant and not where:
                message += f"（已发表的写法：这一格得 {part.points * credit:g} / {part.points:g} 分。）"
        else:
            message = fact + hint + _state_hint(ns, part, failed, seed)
    finally:
        np.random.set_state(saved)
    raise CheckFailure(message, mistake.id if mistake is not None else None, credit) from cause


# --------------------------------------------------------------------------------------
# The public checks, one per part. In the notebook a failing check is displayed, and
# copied into the feedback, as a traceback; a plain raise would show the lines of this
# module around it. Each public check therefore re-raises its failure with only its
# message, from a one-line frame named <隐藏测试> that has no source to show, and hides its
# own frame (IPython skips frames whose locals hold __tracebackhide__).
# --------------------------------------------------------------------------------------

_RAISE_FAILURE = compile("raise CheckFailure(message, mistake, credit) from cause", "<隐藏测试>", "exec")
# the line a traceback shows for that frame
linecache.cache["<隐藏测试>"] = (1, None, ["# 隐藏测试没有通过，原因见下面一行\n"], "<隐藏测试>")
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _student_frames_only(error):
    """error (an exception raised in the student's code, or None) with the grader's frames
    cut from the front of its traceback: what remains is the student's own code."""
    if error is None:
        return None
    tb = error.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        tb = tb.tb_next
    return error.with_traceback(tb)


_DOCS = {
    "initialize_parameters": _initialize_parameters_scenario.__doc__,
    "LeakyRelu": _leaky_relu_scenario.__doc__,
    "Affine": _affine_scenario.__doc__,
    "ThreeLayerNet": _network_scenario.__doc__,
}


def _public_check(part):
    grade_id = part.grade_id

    def check(ns, seed=None):
        __tracebackhide__ = True  # noqa: F841  (read by IPython)
        try:
            check_part(ns, PARTS[grade_id], seed)
            return
        except AssertionError as failure:
            message, mistake = str(failure), getattr(failure, "mistake", None)
            credit = getattr(failure, "credit", 0.0)
            cause = _student_frames_only(failure.__cause__)
        # raised outside the except clause, so the check's own traceback is not chained;
        # the student's exception, if any, stays the cause (with the student's frames only)
        exec(_RAISE_FAILURE, {"CheckFailure": CheckFailure, "message": message, "mistake": mistake,
                              "credit": credit, "cause": cause})

    check.__name__ = check.__qualname__ = part.check
    check.__doc__ = (f"Hidden check of {part.name} ({grade_id}, {part.points} points): "
                     + (_DOCS.get(part.name) or _optimizer_scenario.__doc__).strip())
    return check


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
