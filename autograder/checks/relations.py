"""Naming a mistake nobody catalogued: after a check failed and no catalogue entry matched,
the student's observations compared with the reference's under simple relations, named
only when one explains every observation of the scenario exactly (to the check's
tolerance).

    layers and initialize_parameters   each observed quantity (out, dx, dW, db, W1, ...) in
        every case of the scenario: the quantities that differ must all fit one relation of
        relation_fit (a scale by a constant or by the batch size, a slope, a transpose, a
        shift by the bias, ...); every other observation (inputs left unchanged, the other
        quantities) agrees with the reference
    optimizers   the observed parameters after every step of every run equal those of the
        optimizer's rule (update_rules.RULES) with one change (update_rules.CHANGES)
    the network  its observations equal those of the reference network whose predict skips,
        repeats or swaps layers (LAYER_ORDERS)

explain(part, student, expected, seed) -> a Relation or None. A valid alternative passes its
check, so it never comes here; the catalogue is asked first, so a catalogued mistake or
published variant is named by the catalogue.
"""
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from autograder import reference
from autograder.checks.compare import COMPARE, RTOL, matches
from autograder.checks.relation_fit import Leaf, close, fit
from autograder.checks.scenarios import network_scenario, optimizer_scenario, record_of, reference_namespace
from autograder.checks.update_rules import CHANGES, changed_rules, rule_class


@dataclass(frozen=True)
class Relation:
    """A relation to the reference that explains every observation of a failed check.
    kind: a relation_fit kind, "update_rule" or "layer_order"; detail: which one ("1/N",
    "no_bias_correction", "skip LeakyRelu2"); quantities: what it concerns ("dW", "db";
    "Adam.update"); message: the Chinese text (the fact, then what to look at)."""
    kind: str
    detail: str
    quantities: tuple
    message: str

    @property
    def id(self):
        """kind:detail, the name reports and tests use: "scale:1/N"."""
        return f"{self.kind}:{self.detail}"


# How a message names a quantity of a layer.
QUANTITY_TEXT = {"out": "forward 的输出", "dx": "backward 返回的 dx", "dW": "dW", "db": "db"}


def _rtol(dtype):
    return RTOL.get(np.dtype(dtype), 1e-10)


def _leaves(student, expected):
    """{quantity: [Leaf]} of the two records, or None when they differ somewhere no leaf
    relation can explain (a stop, an input changed, another kind of observation)."""
    if student.stop is not None or expected.stop is not None or len(student.items) != len(expected.items):
        return None
    leaves = {}
    for got, want in zip(student.items, expected.items):
        context = want.context
        if want.kind == "state":
            continue
        per_key = {}
        if want.kind in ("array", "numeric") and isinstance(want.value, np.ndarray) and "quantity" in context:
            pairs = [(context["quantity"], got.value, want.value)]
        elif want.kind in ("init", "numeric") and isinstance(want.value, Mapping):
            if not isinstance(got.value, Mapping) or set(got.value) != set(want.value):
                return None
            pairs = [(key, got.value[key], want.value[key]) for key in want.value]
            per_key = context.get("keys", {})
        elif COMPARE[want.kind](got, want) is None:
            continue
        else:
            return None
        for quantity, S, R in pairs:
            known = dict(context, **per_key.get(quantity, {}))
            leaves.setdefault(quantity, []).append(
                Leaf(S, R, named=known.get("named", {}), region=known.get("region"), factor=known.get("factor"),
                     bias=known.get("bias"), summand=known.get("summand")))
    return leaves


def _agrees(leaf):
    S, R = leaf.S, leaf.R
    return isinstance(S, np.ndarray) and S.dtype == R.dtype and close(S, R, _rtol(R.dtype))


def _array_relation(part, student, expected):
    leaves = _leaves(student, expected)
    if not leaves:
        return None
    differing = [q for q, cases in leaves.items() if not all(_agrees(leaf) for leaf in cases)]
    if not differing:
        return None
    fits = [fit(leaves[q], _rtol) for q in differing]
    if any(f is None for f in fits) or len({(f.kind, f.detail) for f in fits}) != 1:
        return None
    names = "、".join(QUANTITY_TEXT.get(q, q) for q in differing)
    subject = f"{part.name} 的 {names}" if part.kind == "layer" else f"{part.name} 返回的 {names}"
    found = fits[0]
    return Relation(found.kind, found.detail, tuple(differing),
                    f"与参考实现对照：{subject} {found.fact}：{found.advice}")


def _quietly_matches(student, namespace, scenario, part, seed):
    """The student's record equals the record of scenario on namespace's code (in this process)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            other = record_of(scenario, namespace, part, student.given, seed)
        except Exception:  # a rule that cannot run explains nothing
            return False
    return matches(student, other)


def _optimizer_relation(part, student, seed):
    for change, rule in changed_rules(part.name):
        namespace = {"np": np, part.name: rule_class(part.name, rule)}
        if _quietly_matches(student, namespace, optimizer_scenario, part, seed):
            return Relation("update_rule", change.id, (f"{part.name}.update",),
                            f"与参考实现对照：参数的轨迹恰好符合只改了一处的 {part.name}：{change.text}")
    return None


LAYERS = ("Affine1", "LeakyRelu1", "Affine2", "LeakyRelu2", "Affine3")


# pragma: no mutate start (runs only when the module is imported: docs/mutation.md)
def _layer_orders():
    """[(detail, Chinese description, order of layer names)]: one layer skipped, repeated
    (right after itself), or two neighbours swapped."""
    orders = []
    for i, name in enumerate(LAYERS):
        orders.append((f"skip {name}", f"跳过了 {name}", LAYERS[:i] + LAYERS[i + 1:]))
    for i, name in enumerate(LAYERS):
        orders.append((f"repeat {name}", f"{name} 被调用了两次", LAYERS[:i + 1] + LAYERS[i:]))
    for i in range(len(LAYERS) - 1):
        swapped = LAYERS[:i] + (LAYERS[i + 1], LAYERS[i]) + LAYERS[i + 2:]
        orders.append((f"swap {LAYERS[i]} {LAYERS[i + 1]}", f"{LAYERS[i]} 与 {LAYERS[i + 1]} 的顺序颠倒了", swapped))
    return orders


# pragma: no mutate end
LAYER_ORDERS = _layer_orders()


def _network_with_order(order):
    """The reference ThreeLayerNet whose predict runs the layers in order."""
    class ThreeLayerNet(reference.ThreeLayerNet):
        def predict(self, x):
            pred = x
            for name in order:
                pred = self.layers[name].forward(pred)
            return pred
    return ThreeLayerNet


def _network_relation(part, student, seed):
    for detail, text, order in LAYER_ORDERS:
        namespace = dict(reference_namespace(), ThreeLayerNet=_network_with_order(order), OrderedDict=OrderedDict)
        if _quietly_matches(student, namespace, network_scenario, part, seed):
            return Relation("layer_order", detail, ("ThreeLayerNet.predict",),
                            f"与参考实现对照：网络的输出恰好等于这样一个参考网络：predict 中 {text}。"
                            f"请检查 predict 是否按 Affine1、LeakyRelu1、Affine2、LeakyRelu2、Affine3 的顺序"
                            f"各调用一次 forward。")
    return None


def explain(part, student, expected, seed):
    """The Relation that explains every observation of student's record (observe.Record)
    against the expected (reference's) one, or None."""
    if part.kind == "optimizer":
        return _optimizer_relation(part, student, seed)
    if part.kind == "network":
        return _network_relation(part, student, seed)
    return _array_relation(part, student, expected)


# What an instructor can say of a relation of each kind (relation_fit's kinds).
KIND_SENTENCES = {
    "dtype": "数值正确，但 dtype 与输入不一致：计算中混入了 float64 的数组或常数。",
    "shape": "数值正确，但形状不对：少了 reshape，或求和时用了 keepdims。",
    "transpose": "结果恰好是正确值的转置：矩阵乘法中两个因子的顺序或转置写反了。",
    "summed": "求和的轴不对（{detail}）：对批求和应沿 axis=0。",
    "scale": "结果恰好是正确值的 {detail} 倍。",
    "piecewise": "x > 0 与 x <= 0 两侧乘的系数不对（{detail}）：斜率或掩码的方向写错了。",
    "without": "backward 没有乘上游传来的梯度 dout（链式法则）。",
    "shift": "结果恰好差了 {detail}：偏置少加、多加了，或多了一个常数。",
}
SCALE_SENTENCES = {"1/N": "结果恰好是正确值的 1/N：损失已经对批取过平均，反向传播时不要再除以批大小。",
                   "N": "结果恰好是正确值的 N 倍：多乘了批大小。",
                   "-1": "结果恰好是正确值的相反数：符号写反了。",
                   "1/weight_init_std": "权重恰好是正确值的 1/weight_init_std：生成权重后没有乘以 weight_init_std。"}


def sentence(relation_id):
    """What an instructor can say in class of the relation with this Relation.id (Chinese)."""
    kind, _, detail = relation_id.partition(":")
    if kind == "update_rule":
        change = next((c for c in CHANGES if c.id == detail), None)
        if change is not None:
            return change.text
        hyper = detail[len("ignores_"):]
        return f"构造时传入的 {hyper} 没有被使用：update 中请用 self.{hyper}。"
    if kind == "layer_order":
        text = next((t for d, t, _ in LAYER_ORDERS if d == detail), detail)
        return f"predict 中 {text}：predict 应按顺序各调用每一层的 forward 一次。"
    if kind == "scale" and detail in SCALE_SENTENCES:
        return SCALE_SENTENCES[detail]
    return KIND_SENTENCES.get(kind, "{detail}").format(detail=detail)
