"""How a check talks to the code under test and what it records.

Code          the code under test behind a Student interface (Direct for a mapping ns):
              every call, attribute, item and fetch goes through it, and an exception of the
              student's code or an untransferable value becomes a Stop
Stop          the code under test cannot go on (message, comparable key, cause)
Obs           one observation (kind, what, where, value, options)
Record        what a scenario observed on one code: its Obs in order, the Stop that ended
              it early, what later runs need from it (given)
first_nonfinite, nonfinite_stop   where a NaN or inf is, and the Stop that reports it
"""
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from autograder.sandbox.interface import Direct, NotTransferable, Student, StudentError


# --------------------------------------------------------------------------------------
# Talking to the code under test. Every interaction goes through Code, which turns the
# code's exceptions and untransferable values into a Stop: the scenario cannot go on.
# --------------------------------------------------------------------------------------

class Stop(Exception):
    """The code under test cannot go on. message: the Chinese failure; key: what happened,
    comparable between two codes (a mistake that raises the same error at the same point
    matches); cause: the student's exception, if any."""

    def __init__(self, message, key, cause=None):
        super().__init__(message)
        self.message, self.key, self.cause = message, key, cause


class Code:
    """The code under test behind a Student interface (Direct for a mapping ns)."""

    def __init__(self, ns):
        self.student = ns if isinstance(ns, Student) else Direct(ns)

    def lookup(self, name):
        """The Ref of name, or a stop telling the student to run the cell that defines it."""
        try:
            return self.student.lookup(name)
        except KeyError:
            raise Stop(f"没有找到 {name} 的定义：请先运行定义 {name} 的代码单元，并且不要修改它的名字。",
                        ("missing", name)) from None

    def call(self, what, fn, *args, **kwargs):
        """fn(*args, **kwargs) -> Ref; an exception inside the code becomes a stop."""
        try:
            return self.student.call(fn, *args, **kwargs)
        except StudentError as e:
            raise Stop(f"调用 {what} 时出错：{e.type_name}: {e.message}", ("raised", what, e.type_name),
                        e.__cause__ or e) from None

    def attr(self, obj, name, owner):
        """obj.name -> Ref; owner names obj in the message (e.g. "Affine")."""
        try:
            return self.student.getattr(obj, name)
        except StudentError as e:
            if e.type_name == "AttributeError":
                raise Stop(f"{owner} 对象没有属性 {name}（请不要修改它的名字）。",
                            ("no attribute", owner, name)) from None
            raise Stop(f"读取 {owner}.{name} 时出错：{e.type_name}: {e.message}",
                        ("raised", f"{owner}.{name}", e.type_name), e.__cause__ or e) from None

    def method(self, obj, name, what, *args, **kwargs):
        """obj.name(*args, **kwargs) -> Ref; what names the method (e.g. "Affine.forward")."""
        return self.call(what, self.attr(obj, name, what.split(".")[0]), *args, **kwargs)

    def item(self, obj, key, what):
        """obj[key] -> Ref; what names the expression in messages."""
        try:
            return self.student.getitem(obj, key)
        except StudentError as e:
            raise Stop(f"调用 {what} 时出错：{e.type_name}: {e.message}", ("raised", what, e.type_name),
                        e.__cause__ or e) from None

    def get(self, ref, what):
        """A local copy of the value behind ref; what names it in the message when it is not
        an array, a number, a string or a container of those."""
        try:
            return self.student.fetch(ref)
        except NotTransferable as e:
            raise Stop(f"{what}：应为 numpy 数组、数，或由它们组成的 list/tuple/dict，实际得到 {e.type_name}。",
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
class Obs:
    """One observation of a scenario: kind says how it compares (COMPARE); what and where
    name it in messages; value is what was observed; options say how to compare it;
    context says what the relations to the reference (relations.py) may use: the quantity
    observed ("dW"; for a dict of arrays, its keys are the quantities), the named numbers of
    the case (named: {"N": batch size, "alpha": ...}), the region x > 0 of a layer's input
    (region: bool array of the value's shape), the upstream gradient a backward multiplies
    by (factor), the bias b (bias), the array a sum over axis 0 made it from (summand);
    keys: {key: context} what holds for one key of a dict of arrays only."""
    kind: str
    what: str
    where: str
    value: object
    options: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)


def observation_label(kind, what, path):
    """How a message names the value at path (keys, as first_nonfinite gives them) inside
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


class Record:
    """What a scenario observed on one code: items (Obs in order), stop (the Stop that
    ended it early, or None), given (what later runs need from this one: the network's
    parameters)."""

    def __init__(self):
        self.items, self.stop, self.given = [], None, {}

    def add(self, kind, what, where, value, context=None, **options):
        """Records an observation (context: Obs.context); one that holds a NaN or inf (in value, or in the
        numerical gradient of a "numeric" one) ends the scenario there instead: the
        reference's are finite, and no comparison of values ever takes NaN for NaN."""
        if kind != "state":
            for observed, label_path in ((value, None), (options.get("numeric") if kind == "numeric" else None, "numeric")):
                found = first_nonfinite(observed)
                if found:
                    label = observation_label(kind, what, found[0])
                    if label_path:
                        label = f"由 forward 的输出差分得到的数值梯度（用来检查 {label}）"
                    raise nonfinite_stop(found, label, where, (kind, what, where, label_path))
        self.items.append(Obs(kind, what, where, value, options, context or {}))


def dtype_name(dtype):
    return np.dtype(dtype).name


def call_text(name, args=(), kwargs=None):
    """How a call looks in the notebook, for messages: Adam(learning_rate=0.05, ...)."""
    def show(value):
        return f"np.{dtype_name(value)}" if isinstance(value, type) else repr(value)
    parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


def first_nonfinite(value, path=()):
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
        found = first_nonfinite(item, (*path, key))
        if found:
            return found
    return None


def nonfinite_stop(found, label, where, key):
    """The Stop for a NaN or inf (found: what first_nonfinite returned) in the value label
    names; key identifies the observation (a mistake matches only a stop at the same one)."""
    _, index, number, positions = found
    at = f"（第一个在位置 {index}）" if index != () else ""
    where = f"（{where}）" if where else ""
    space = "" if label.endswith("）") else " "  # none after full-width punctuation
    return Stop(f"{label}{space}中出现 NaN 或 inf{at}：值为 {number}{where}，而参考实现在这里得到的都是有限的数。"
                 "请检查是否有除以 0、对负数开方、log(0) 或数值溢出。",
                 ("non-finite", *key, tuple(found[0]), positions))

