"""The optimizers of the course as one family of update rules, and the single changes to a
rule that students make: what relations.py fits to an optimizer's observed trajectory.

Every optimizer of the text is a Rule of

    v <- a·v + b·g                      (first moment; Momentum and Nesterov: b = lr)
    s <- c·s + d·q,  q = g² or (g - v)²  (second moment; AdaGrad: c = d = 1)
    v̂ = v / (1 - beta1^t),  ŝ = s / (1 - beta2^t)   (Adam, AdaBelief)
    p <- p - m·v                        (Momentum)
    p <- p - (beta·v + lr·g)            (Nesterov)
    p <- p - lr·n / (sqrt(ŝ) + eps)     (adaptive; n = g or v̂)

with its coefficients named in COEFFICIENTS (functions of the hyper-parameters). A Change
alters one thing of a rule (a coefficient, the place of epsilon, the bias correction, the
sign, the state kept between steps, a hyper-parameter ignored ...); rule_class builds the
optimizer class of a rule, which runs in this process like a catalogue entry.
"""
import dataclasses
import inspect
from dataclasses import dataclass
from functools import partial

import numpy as np

from autograder import reference

COEFFICIENTS = {
    "0": lambda h: 0.0, "1": lambda h: 1.0, "lr": lambda h: h["learning_rate"],
    "beta": lambda h: h["beta"], "1-beta": lambda h: 1 - h["beta"],
    "(1-beta)*lr": lambda h: (1 - h["beta"]) * h["learning_rate"],
    "beta1": lambda h: h["beta1"], "1-beta1": lambda h: 1 - h["beta1"],
    "beta2": lambda h: h["beta2"], "1-beta2": lambda h: 1 - h["beta2"],
}


@dataclass(frozen=True)
class Rule:
    """first: (a, b) names of COEFFICIENTS or None; second: (c, d) or None; belief: q is
    (g - v)² with the new v ("new"), the old one ("old"), or g² (""); correction: divide v
    and s by 1 - beta^(t + offset); step: "plain" (p -= m·v), "nesterov", "nesterov_book"
    (p -= beta²·v + (1 + beta)·lr·g), "nesterov_no_gradient" (p -= beta·v), "adaptive";
    numerator: "g" or "v" (adaptive); epsilon: "outside", "inside" the root; root: take the
    root of ŝ; rate: the coefficient of the adaptive step; momentum_rate: m; sign: -1
    subtracts the step (the text), +1 adds it; reset: state zeroed at every update; ignored:
    a hyper-parameter whose default is used whatever the constructor was given."""
    first: tuple = None
    second: tuple = None
    belief: str = ""
    correction: bool = False
    correct_first: bool = True
    correct_second: bool = True
    betas_swapped: bool = False
    offset: int = 0
    step: str = "adaptive"
    numerator: str = "g"
    epsilon: str = "outside"
    root: bool = True
    rate: str = "lr"
    momentum_rate: str = "1"
    sign: int = -1
    reset: bool = False
    ignored: str = None


RULES = {
    "AdaGrad": Rule(second=("1", "1")),
    "RMSprop": Rule(second=("beta", "1-beta")),
    "Momentum": Rule(first=("beta", "lr"), step="plain"),
    "Nesterov": Rule(first=("beta", "lr"), step="nesterov"),
    "Adam": Rule(first=("beta1", "1-beta1"), second=("beta2", "1-beta2"), correction=True, numerator="v"),
    "AdaBelief": Rule(first=("beta1", "1-beta1"), second=("beta2", "1-beta2"), belief="new", correction=True,
                      numerator="v"),
}


def defaults(name):
    """The reference's constructor defaults of optimizer name: {hyper-parameter: value}."""
    signature = inspect.signature(getattr(reference, name).__init__)
    return {k: p.default for k, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}


def rule_class(name, rule):
    """An optimizer class named name that updates by rule (constructor: the reference's
    hyper-parameters and defaults)."""
    hyper_defaults = defaults(name)

    class RuleOptimizer:
        def __init__(self, **hyper):
            self.h = dict(hyper_defaults, **hyper)
            if rule.ignored:
                self.h[rule.ignored] = hyper_defaults[rule.ignored]
            self.v = self.s = None
            self.t = 0

        def update(self, params, grads):
            h, c = self.h, COEFFICIENTS
            if self.v is None or rule.reset:
                self.v = {key: np.zeros_like(value) for key, value in params.items()}
                self.s = {key: np.zeros_like(value) for key, value in params.items()}
            self.t += 1
            for key in params:
                g, old_v = grads[key], self.v[key]
                if rule.first:
                    self.v[key] = c[rule.first[0]](h) * self.v[key] + c[rule.first[1]](h) * g
                if rule.second:
                    q = (g * g if not rule.belief else (g - (self.v[key] if rule.belief == "new" else old_v)) ** 2)
                    self.s[key] = c[rule.second[0]](h) * self.s[key] + c[rule.second[1]](h) * q
                params[key] += rule.sign * self._step(key, g, old_v)

        def _step(self, key, g, old_v):
            h, c, t = self.h, COEFFICIENTS, self.t + rule.offset
            v, s = self.v[key], self.s[key]
            if rule.step == "plain":
                return c[rule.momentum_rate](h) * v
            if rule.step == "nesterov":
                return h["beta"] * v + h["learning_rate"] * g
            if rule.step == "nesterov_book":
                return h["beta"] * h["beta"] * v + (1 + h["beta"]) * h["learning_rate"] * g
            if rule.step == "nesterov_no_gradient":
                return h["beta"] * v
            beta_v, beta_s = ("beta2", "beta1") if rule.betas_swapped else ("beta1", "beta2")
            if rule.correction and rule.correct_first:
                v = v / (1 - h[beta_v] ** t)
            if rule.correction and rule.correct_second:
                s = s / (1 - h[beta_s] ** t)
            numerator = v if rule.numerator == "v" else g
            if rule.epsilon == "inside":
                denominator = np.sqrt(s + h["epsilon"]) if rule.root else s + h["epsilon"]
            else:
                denominator = (np.sqrt(s) if rule.root else s) + h["epsilon"]
            return c[rule.rate](h) * numerator / denominator

    RuleOptimizer.__name__ = RuleOptimizer.__qualname__ = name
    return RuleOptimizer


@dataclass(frozen=True)
class Change:
    """One change of a rule: id (stable, English), text (Chinese: the fact and what to look
    at), edit(rule) -> the changed rule, or None when the change does not apply to it."""
    id: str
    text: str
    edit: object


def _changed(condition, fields, rule):
    """rule with fields replaced (a dict), when condition(rule) holds (condition None: always);
    else None."""
    return dataclasses.replace(rule, **fields) if condition is None or condition(rule) else None


def _first_gain(name, rule):
    """rule whose first moment's gain lr (Momentum, Nesterov: v = beta·v + lr·g) is name; None for
    a rule without that gain."""
    return dataclasses.replace(rule, first=(rule.first[0], name)) if rule.first and rule.first[1] == "lr" else None


def _without_one_minus(moment, rule):
    """rule whose moment ("first" or "second") lost its (1 - beta) gain; None without one."""
    pair = getattr(rule, moment)
    if not pair or not pair[1].startswith("1-"):
        return None
    return dataclasses.replace(rule, **{moment: (pair[0], "1")})


def _swapped(moment, rule):
    """rule whose moment's two coefficients (beta, 1 - beta) trade places; None without them."""
    pair = getattr(rule, moment)
    if not pair or not pair[1].startswith("1-"):
        return None
    return dataclasses.replace(rule, **{moment: (pair[1], pair[0])})


def _betas_swapped(rule):
    if not rule.correction:
        return None
    return dataclasses.replace(rule, first=("beta2", "1-beta2"), second=("beta1", "1-beta1"), betas_swapped=True)


CHANGES = [
    Change("sign_flipped", "参数沿梯度的方向移动了（更新量的符号反了）：参数应减去更新量。",
           partial(_changed, None, dict(sign=1))),
    Change("state_reset", "状态在每次 update 时都从 0 开始，上一步积累的值丢失了：只在第一次 update 时创建状态。",
           partial(_changed, lambda r: bool(r.first or r.second), dict(reset=True))),
    Change("first_moment_without_one_minus_beta", "v 的梯度项少了 (1 - beta1)：v = beta1·v + (1 - beta1)·g。",
           partial(_without_one_minus, "first")),
    Change("second_moment_without_one_minus_beta",
           "梯度平方的平均少了 (1 - beta) 这个系数：新的一项要乘以 (1 - beta)。", partial(_without_one_minus, "second")),
    Change("first_moment_coefficients_swapped", "v 的两个系数用反了：旧的 v 乘 beta1，新的 g 乘 (1 - beta1)。",
           partial(_swapped, "first")),
    Change("second_moment_coefficients_swapped",
           "梯度平方的平均中 beta 与 1 - beta 用反了：旧的值乘 beta，新的一项乘 (1 - beta)。", partial(_swapped, "second")),
    Change("second_moment_accumulated", "梯度平方被累加了，而不是指数加权平均：应为 beta·s + (1 - beta)·g²。",
           partial(_changed, lambda r: bool(r.second) and r.second[0] != "1", dict(second=("1", "1")))),
    Change("second_moment_not_accumulated", "梯度平方没有累加，只保存了本次的 g²：应把每一步的 g² 加起来。",
           partial(_changed, lambda r: r.second == ("1", "1"), dict(second=("0", "1")))),
    Change("betas_swapped", "beta1 与 beta2 用反了：v 和它的修正用 beta1，梯度平方的平均和它的修正用 beta2。",
           _betas_swapped),
    Change("epsilon_inside_root", "epsilon 在平方根里面：分母应为 sqrt(…) + epsilon。",
           partial(_changed, lambda r: r.step == "adaptive", dict(epsilon="inside"))),
    Change("no_bias_correction", "没有做偏差修正：v 和 s 要先除以 1 - beta^t。",
           partial(_changed, lambda r: r.correction, dict(correction=False))),
    Change("no_first_bias_correction", "v 没有做偏差修正：要先除以 1 - beta1^t。",
           partial(_changed, lambda r: r.correction, dict(correct_first=False))),
    Change("no_second_bias_correction", "梯度平方的平均没有做偏差修正：要先除以 1 - beta2^t。",
           partial(_changed, lambda r: r.correction, dict(correct_second=False))),
    Change("bias_correction_one_step_ahead", "偏差修正中的 t 多了 1：第一次 update 时 t 应为 1。",
           partial(_changed, lambda r: r.correction, dict(offset=1))),
    Change("bias_correction_one_step_behind",
           "偏差修正中的 t 少了 1（t 在 update 结束时才加 1，或没有加 1），第一次 update 时除以了 0："
           "在 update 开始时先 self.t += 1。", partial(_changed, lambda r: r.correction, dict(offset=-1))),
    Change("no_root", "分母缺少平方根：应为 sqrt(…) + epsilon。",
           partial(_changed, lambda r: r.step == "adaptive", dict(root=False))),
    Change("learning_rate_missing", "更新中没有乘学习率：参数的每一步都差了 learning_rate 这个因子。",
           lambda r: (dataclasses.replace(r, rate="1") if r.step == "adaptive"
                      else dataclasses.replace(r, first=(r.first[0], "1")) if r.first and r.first[1] == "lr" else None)),
    Change("learning_rate_twice", "学习率乘了两次：v 里已经乘了学习率，参数更新时不要再乘。",
           partial(_changed, lambda r: r.step == "plain", dict(momentum_rate="lr"))),
    Change("momentum_gain_one_minus_beta", "梯度项多乘了 (1 - beta)：课文的公式是 v = beta·v + lr·g。",
           partial(_first_gain, "(1-beta)*lr")),
    Change("nesterov_as_momentum", "参数只减去了 v，写成了普通的 Momentum：Nesterov 的参数更新是 beta·v + lr·g。",
           partial(_changed, lambda r: r.step == "nesterov", dict(step="plain"))),
    Change("nesterov_without_gradient_term", "参数更新漏掉了梯度项：应减去 beta·v + lr·g。",
           partial(_changed, lambda r: r.step == "nesterov", dict(step="nesterov_no_gradient"))),
    Change("nesterov_book_form_with_new_v",
           "用了 p -= beta²·v + (1 + beta)·lr·g，但 v 已经更新过了：这个式子要配更新前的 v，课文的写法是 p -= beta·v + lr·g。",
           partial(_changed, lambda r: r.step == "nesterov", dict(step="nesterov_book"))),
    Change("belief_of_gradient", "s 累积的是 g²（写成了 Adam），AdaBelief 的 s 是 (g - v)² 的平均。",
           partial(_changed, lambda r: r.belief == "new", dict(belief=""))),
    Change("belief_with_old_v", "s 中的 (g - v)² 用了更新前的 v：先更新 v，再用它更新 s。",
           partial(_changed, lambda r: r.belief == "new", dict(belief="old"))),
    Change("numerator_is_gradient", "参数更新的分子用了本次的梯度 g，而不是修正后的 v：应为 lr·v̂ / (sqrt(ŝ) + epsilon)。",
           partial(_changed, lambda r: r.numerator == "v", dict(numerator="g"))),
]


def ignored_changes(name):
    """One Change per hyper-parameter of optimizer name: its constructor argument ignored."""
    return [Change(f"ignores_{hyper}",
                   f"构造时传入的 {hyper} 没有被使用（用的总是默认值 {value}）：update 中请用 self.{hyper}。",
                   partial(_changed, None, dict(ignored=hyper))) for hyper, value in defaults(name).items()]


def changed_rules(name):
    """[(Change, the changed Rule)] of optimizer name (empty for an optimizer not in RULES),
    each rule distinct from the base rule and from those before it."""
    base = RULES.get(name)
    if base is None:
        return []
    found, seen = [], {base}
    for change in CHANGES + ignored_changes(name):
        rule = change.edit(base)
        if rule is not None and rule not in seen:
            seen.add(rule)
            found.append((change, rule))
    return found
