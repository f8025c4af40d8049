"""The catalogue of typical mistakes and valid alternatives: each entry a named, small
variant of the reference (autograder/reference) for one graded part (autograder/parts.py).

An entry is a list of edits (old text -> new text, each old text found exactly once) of the
reference's source of the part's name. Its source (Entry.source) is therefore plain code
that defines that name in a notebook's namespace: it replaces the part's solution cell in
an example notebook (notebook_with), it runs in a namespace built like a notebook's
(namespace), and the hidden checks run it, after a failure, to name the mistake that the
student's code behaves like (autograder/checks/diagnose.py). Nothing else keeps a copy of a mistake:
tests, example submissions and `make demo` take their variants from here.

    entries(part=None, valid=None, kind=None)  the entries, in table order (valid: False
                                    mistakes and variants, True alternatives, None all; kind:
                                    only "mistake", "variant" or "alternative")
    get(entry_id)                   one entry
    namespace(*entries)             a notebook-like namespace: the reference's names, with
                                    the entries' variants in place of their parts' names
    notebook_with(notebook, *entries)  a copy of a notebook whose solution cells hold the
                                    entries' sources
    with_definition(notebook, name, source)  a copy of a notebook whose cell defining name
                                    holds source

    combined(first, second)         one entry that makes both entries' edits (None when they
                                    overlap): what the checks try when no single entry matches

An entry: id, part (grade id), title (Chinese name), explanation (one line: what it means),
fix (what to change; mistakes and variants), valid (a valid alternative: full points, never
named), variant (a published variant: a textbook's or a paper's way of writing the formula,
not the course's; named with where it comes from, it earns the share of the cell's points
that its part's Part.variant_credit sets), public (its title and explanation do not give the
answer away: the visible tests may name it; the visible tests never import this module, no
catalogue code goes into the release). Entry.kind is "mistake", "variant" or "alternative".

A valid alternative here is a different way of writing the reference that the checks must
accept: same returned values and gradients for a layer, same parameters after every step for
an optimizer (whatever it stores in its state).
"""
import copy
import inspect
import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from autograder import reference
from autograder.parts import PARTS

__all__ = ["Entry", "ENTRIES", "entries", "get", "combined", "namespace", "notebook_with", "with_definition",
           "reference_source"]

# Names a notebook defines besides the graded ones (given code), taken from the reference.
_GIVEN = ("softmax", "cross_entropy_error", "SoftmaxWithLoss", "SGD")


@lru_cache(maxsize=None)
def reference_source(name):
    """The reference's source of name (a function or a class), as a notebook cell would hold it."""
    return inspect.getsource(getattr(reference, name))


@dataclass(frozen=True)
class Entry:
    id: str
    part: str
    title: str
    explanation: str
    fix: str = ""
    edits: tuple = ()
    valid: bool = False
    public: bool = False
    variant: bool = False

    @property
    def kind(self):
        """"alternative" (full points), "variant" (a published variant: partial credit) or "mistake"."""
        return "alternative" if self.valid else "variant" if self.variant else "mistake"

    @property
    def name(self):
        """The notebook name this entry defines (its part's graded name)."""
        return PARTS[self.part].name

    @property
    def source(self):
        """The reference's source of the part's name with this entry's edits; its docstring
        names the entry instead of stating the reference's formula."""
        source = _edited(reference_source(self.name), self.edits, self.id)
        return _DOCSTRING.sub(lambda m: f'{m.group(1)}"""{self.id}：{self.title}"""', source, count=1)

    def namespace(self):
        """A notebook-like namespace in which this entry's variant replaces the reference's name."""
        return namespace(self)

    def diagnosis(self, where=""):
        """The Chinese text a failure message gives when the student's code behaves like this
        mistake; where names the part when it is not the failing cell's own (the network's layers)."""
        if "+" in self.id:  # a combined entry: two edits at once
            prefix = f"{where}同时有两处" if where else "同时有两处"
            kind = "已发表的写法" if self.variant else "与课文不同的地方"
            return f"{prefix}{kind}「{self.title}」：{self.explanation}" + (f"修改方法：{self.fix}" if self.fix else "")
        if self.variant:
            prefix = f"{where}用了一种已发表的写法" if where else "这是一种已发表的写法"
            return f"{prefix}「{self.title}」：{self.explanation}{self.fix}"
        prefix = f"{where}有一个常见错误" if where else "这是一个常见错误"
        return f"{prefix}「{self.title}」：{self.explanation}" + (f"修改方法：{self.fix}" if self.fix else "")


# the docstring right after the first line of a class or function
_DOCSTRING = re.compile(r'\A((?:class|def)[^\n]*\n[ \t]+)"""(?:.|\n)*?"""')


def _edited(source, edits, what):
    for old, new in edits:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"catalogue entry {what}: {old!r} found {count} times in the reference, "
                             f"expected once")
        source = source.replace(old, new)
    return source


# pragma: no mutate start (the table's builders run only when the module is imported: docs/mutation.md)
def _mistake(id, part, title, explanation, fix, *edits, public=False):
    return Entry(id, part, title, explanation, fix, tuple(edits), valid=False, public=public)


def _variant(id, part, title, explanation, requirement, *edits):
    """A published variant: title says where it comes from, explanation how it differs from
    the course's formula, requirement what the assignment asks instead."""
    return Entry(id, part, title, explanation, requirement, tuple(edits), valid=False, public=True, variant=True)


def _fixed_epsilon(id, part, constant, public=True):
    """The constructor's epsilon ignored: constant written into the denominator instead."""
    return _mistake(id, part, f"没有使用 epsilon 参数（写死了 {constant}）",
                    f"分母里写死了常数 {constant}，而不是构造时传入的 self.epsilon。", "使用 self.epsilon。",
                    ("+ self.epsilon)", f"+ {constant})"), public=public)


def _alternative(id, part, title, explanation, *edits):
    return Entry(id, part, title, explanation, "", tuple(edits), valid=True, public=True)
# pragma: no mutate end


# --------------------------------------------------------------------------------------
# The entries, part by part (in the table's order). Edits refer to autograder/reference.
# --------------------------------------------------------------------------------------

_INIT = "test_initialize_parameters"
_W2 = "    params['W2'] = (np.random.randn(hidden_size, hidden_size) * weight_init_std).astype(dtype)\n"
_W3 = "    params['W3'] = (np.random.randn(hidden_size, output_size) * weight_init_std).astype(dtype)\n"
_B2 = "    params['b2'] = np.zeros(hidden_size, dtype=dtype)\n"
_B3 = "    params['b3'] = np.zeros(output_size, dtype=dtype)\n"

_LEAKY = "test_leaky_relu"
_LEAKY_FORWARD = "np.where(self.mask, self.alpha * x, x)"
_LEAKY_BACKWARD = "np.where(self.mask, self.alpha * dout, dout)"

_AFFINE = "test_affine"
_NET = "test_network"

_ADAGRAD, _RMSPROP, _MOMENTUM, _NESTEROV, _ADAM, _ADABELIEF = (
    "test_adagrad", "test_rmsprop", "test_momentum", "test_nesterov", "test_adam", "test_adabelief")
_ADAPTIVE_STEP = "params[key] -= self.learning_rate * grads[key] / (np.sqrt(self.grads_squared[key]) + self.epsilon)"
_RMS_STATE = ("self.grads_squared[key] = self.beta * self.grads_squared[key] "
              "+ (1 - self.beta) * grads[key] * grads[key]")
_MOMENTUM_V = "self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]"
_NESTEROV_STEP = "params[key] -= self.beta * self.v[key] + self.learning_rate * grads[key]"
_ADAM_V = "self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * grads[key]"
_ADAM_U = "self.u[key] = self.beta2 * self.u[key] + (1 - self.beta2) * grads[key] * grads[key]"
_BELIEF_S = "self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * (grads[key] - self.v[key]) ** 2"
_V_HAT = "v_corrected = self.v[key] / (1 - self.beta1 ** self.t)"
_U_HAT = "u_corrected = self.u[key] / (1 - self.beta2 ** self.t)"
_S_HAT = "s_corrected = self.s[key] / (1 - self.beta2 ** self.t)"
_ADAM_STEP = "params[key] -= self.learning_rate * v_corrected / (np.sqrt(u_corrected) + self.epsilon)"
_BELIEF_STEP = "params[key] -= self.learning_rate * v_corrected / (np.sqrt(s_corrected) + self.epsilon)"

_OUT_OF_PLACE = ("参数没有原地更新",
                 "写成了 params[key] = params[key] - …，字典里放进了一个新数组，网络各层持有的原数组没有改变，"
                 "网络看不到这次更新。",
                 "请用 params[key] -= … 原地更新。")
_STATE_RESET = ("每次 update 都重置了状态",
                "状态在每次调用 update 时都重新创建为全 0，上一步积累的信息丢失了。",
                "只在第一次 update（状态为 None）时创建状态，之后在原有的值上继续计算。")


# pragma: no mutate start (the table's builders run only when the module is imported: docs/mutation.md)
def _state_reset(id, part, attributes):
    """The state created anew at every update: the `if ... is None:` around it removed."""
    edits = [(f"        if self.{attributes[0]} is None:\n", "")]
    edits += [(f"            self.{a} = {{", f"        self.{a} = {{") for a in attributes]
    return _mistake(id, part, *_STATE_RESET, *edits, public=True)


def _out_of_place(id, part, step):
    return _mistake(id, part, *_OUT_OF_PLACE, (step, step.replace("params[key] -= ", "params[key] = params[key] - (")
                                               + ")"), public=True)
# pragma: no mutate end


ENTRIES = [
    # initialize_parameters
    _mistake("init_w3_transposed", _INIT, "W3 的形状写反了",
             "W3 应是 (hidden_size, output_size)，与上一层的输出和下一层的输入对应。",
             "按（输入维度，输出维度）的顺序生成 W3。",
             ("np.random.randn(hidden_size, output_size)", "np.random.randn(output_size, hidden_size)"),
             public=True),
    _mistake("init_bias_random", _INIT, "偏置用随机数初始化",
             "偏置也用 np.random.randn 生成了，既不是全 0，又多消耗了随机数，使后面的权重也变了。",
             "偏置用 np.zeros 初始化为全 0。",
             (_B2, "    params['b2'] = (np.random.randn(hidden_size) * weight_init_std).astype(dtype)\n")),
    _mistake("init_not_scaled", _INIT, "权重没有乘以 weight_init_std",
             "标准正态分布的权重太大，网络一开始的输出就会饱和。",
             "生成权重后乘以 weight_init_std。",
             (_W2, "    params['W2'] = np.random.randn(hidden_size, hidden_size).astype(dtype)\n"),
             (_W3, "    params['W3'] = np.random.randn(hidden_size, output_size).astype(dtype)\n")),
    _mistake("init_ignores_dtype", _INIT, "没有使用 dtype 参数",
             "np.random.randn 和 np.zeros 默认得到 float64，参数应是调用者要求的 dtype。",
             "用 .astype(dtype) 转换权重，用 np.zeros(…, dtype=dtype) 创建偏置。",
             (_W2, "    params['W2'] = np.random.randn(hidden_size, hidden_size) * weight_init_std\n"),
             (_B2, "    params['b2'] = np.zeros(hidden_size)\n"),
             (_W3, "    params['W3'] = np.random.randn(hidden_size, output_size) * weight_init_std\n"),
             (_B3, "    params['b3'] = np.zeros(output_size)\n"), public=True),
    _mistake("init_w3_before_w2", _INIT, "生成权重的顺序不对",
             "先生成了 W3 再生成 W2，两者取到的随机数与要求的顺序不同。",
             "按 W1、W2、W3 的顺序调用 np.random.randn。",
             (_W2 + _B2 + _W3, _W3 + _W2 + _B2)),
    _mistake("init_seeds_every_draw", _INIT, "每次生成前都重新设置了种子",
             "每个权重前都调用了 np.random.seed(1)，几个权重矩阵取到的是同一串随机数。",
             "只在函数开头调用一次 np.random.seed(1)。",
             (_W2, "    np.random.seed(1)\n" + _W2), (_W3, "    np.random.seed(1)\n" + _W3)),
    _mistake("init_no_seed", _INIT, "没有设置随机种子",
             "没有调用 np.random.seed(1)，每次运行得到的参数都不同，结果无法复现。",
             "在函数开头调用一次 np.random.seed(1)。",
             ("    np.random.seed(1)\n", "")),
    _mistake("init_uniform", _INIT, "用了均匀分布",
             "np.random.rand 生成 [0, 1) 上的均匀分布，而要求的是标准正态分布。",
             "用 np.random.randn 生成权重。",
             (_W2, _W2.replace("randn", "rand")), (_W3, _W3.replace("randn", "rand"))),
    _alternative("init_normal", _INIT, "用 np.random.normal 生成",
                 "np.random.normal(0, weight_init_std, shape) 与 randn * weight_init_std 取到同样的数。",
                 (_W2, "    params['W2'] = np.random.normal(0, weight_init_std, (hidden_size, hidden_size)).astype(dtype)\n"),
                 (_W3, "    params['W3'] = np.random.normal(0, weight_init_std, (hidden_size, output_size)).astype(dtype)\n")),
    _alternative("init_cast_then_scale", _INIT, "先转换 dtype 再乘以 weight_init_std",
                 "在目标 dtype 中做乘法，只有舍入误差的差别。",
                 (_W2, "    params['W2'] = np.random.randn(hidden_size, hidden_size).astype(dtype) * weight_init_std\n"),
                 (_W3, "    params['W3'] = np.random.randn(hidden_size, output_size).astype(dtype) * weight_init_std\n")),

    # LeakyRelu
    _mistake("leaky_backward_slope_zero", _LEAKY, "反向传播写成了 ReLU",
             "x <= 0 处的梯度被设为 0，而 LeakyReLU 在这里的斜率是 alpha。",
             "x <= 0 处的梯度应为 alpha * dout。",
             (_LEAKY_BACKWARD, "np.where(self.mask, 0 * dout, dout)")),
    _mistake("leaky_backward_alpha_on_positive", _LEAKY, "反向传播把 alpha 乘在了 x > 0 的一侧",
             "backward 中的掩码方向与 forward 相反。",
             "x <= 0 处乘以 alpha，x > 0 处梯度就是 dout。",
             (_LEAKY_BACKWARD, "np.where(self.mask, dout, self.alpha * dout)")),
    _mistake("leaky_backward_mask_from_dout", _LEAKY, "反向传播按 dout 的符号判断",
             "斜率由正向传播的输入 x 决定，而不是由上游梯度 dout 决定。",
             "使用 forward 中保存的 self.mask。",
             (_LEAKY_BACKWARD, "np.where(dout <= 0, self.alpha * dout, dout)")),
    _mistake("leaky_backward_modifies_dout", _LEAKY, "backward 修改了传入的 dout",
             "dx = dout 没有复制，随后的原地修改改写了调用者的数组。",
             "先 dx = dout.copy()，或用 np.where 得到一个新数组。",
             ("        dx = " + _LEAKY_BACKWARD + "\n", "        dx = dout\n        dx[self.mask] *= self.alpha\n"),
             public=True),
    _mistake("leaky_forward_modifies_x", _LEAKY, "forward 修改了传入的 x",
             "out = x 没有复制，随后的原地修改改写了调用者的数组。",
             "先 out = x.copy()，或用 np.where 得到一个新数组。",
             ("        out = " + _LEAKY_FORWARD + "\n", "        out = x\n        out[self.mask] *= self.alpha\n"),
             public=True),
    _mistake("leaky_forward_relu", _LEAKY, "正向传播写成了 ReLU",
             "x <= 0 处的输出被设为 0，而 LeakyReLU 在这里输出 alpha * x。",
             "x <= 0 处输出 alpha * x。",
             (_LEAKY_FORWARD, "np.where(self.mask, 0 * x, x)")),
    _mistake("leaky_mask_inverted", _LEAKY, "掩码的方向反了",
             "self.mask 标记的是 x > 0 的位置，于是 alpha 被乘在了正的一侧（正向和反向都是）。",
             "self.mask 应标记 x <= 0 的位置。",
             ("        self.mask = (x <= 0)\n", "        self.mask = (x > 0)\n")),
    _mistake("leaky_forward_float64", _LEAKY, "正向传播把 float32 变成了 float64",
             "x 乘以一个 float64 的斜率数组后结果升为 float64，而输出应保持输入的 dtype。",
             "确保参与运算的数组与 x 同 dtype，例如用 np.where(mask, alpha * x, x)。",
             (_LEAKY_FORWARD, "x * np.where(self.mask, self.alpha, 1.0)"), public=True),
    _alternative("leaky_boolean_indexing", _LEAKY, "复制后按掩码赋值",
                 "在 x 的副本上只修改 x <= 0 的元素，与 np.where 的结果相同。",
                 ("        out = " + _LEAKY_FORWARD + "\n",
                  "        out = x.copy()\n        out[self.mask] = self.alpha * out[self.mask]\n"),
                 ("        dx = " + _LEAKY_BACKWARD + "\n",
                  "        dx = dout.copy()\n        dx[self.mask] = self.alpha * dx[self.mask]\n")),
    _alternative("leaky_np_maximum", _LEAKY, "用 np.maximum 实现",
                 "alpha < 1 时 max(x, alpha * x) 就是 LeakyReLU。",
                 (_LEAKY_FORWARD, "np.maximum(x, self.alpha * x)")),

    # Affine
    _mistake("affine_no_bias", _AFFINE, "正向传播没有加偏置",
             "输出应为 x·W + b，漏掉了 b。",
             "在矩阵乘积上加上 self.b。",
             ("        out = np.dot(x, self.W) + self.b\n", "        out = np.dot(x, self.W)\n")),
    _mistake("affine_no_reshape", _AFFINE, "没有把输入展平成二维",
             "形状为 (N, d1, d2, …) 的输入要先变成 (N, d1*d2*…) 才能与 W 相乘。",
             "在 forward 开头用 x.reshape(x.shape[0], -1) 展平。",
             ("        x = x.reshape(x.shape[0], -1)\n", "")),
    _mistake("affine_db_axis1", _AFFINE, "db 沿错误的轴求和",
             "db 要对 batch 维（axis=0）求和，得到形状 (M,)。",
             "用 np.sum(dout, axis=0)。",
             ("np.sum(dout, axis=0)", "np.sum(dout, axis=1)"), public=True),
    _mistake("affine_db_not_summed", _AFFINE, "db 没有对 batch 求和",
             "每个样本都贡献偏置的梯度，db 应是它们的和，形状为 (M,)。",
             "对 dout 沿 axis=0 求和。",
             ("self.db = np.sum(dout, axis=0)", "self.db = dout"), public=True),
    _mistake("affine_db_mean", _AFFINE, "db 用了平均而不是求和",
             "损失已经对 batch 取过平均，反向传播时各样本的梯度应相加，不能再除以 N。",
             "用 np.sum 而不是 np.mean。",
             ("np.sum(dout, axis=0)", "np.mean(dout, axis=0)")),
    _mistake("affine_dW_transposed", _AFFINE, "dW 的形状写反了",
             "dW 应与 W 同形状 (D, M)，即 xᵀ·dout。",
             "检查矩阵乘法的顺序和转置。",
             ("np.dot(self.x.T, dout)", "np.dot(dout.T, self.x)"), public=True),
    _mistake("affine_dx_not_reshaped", _AFFINE, "dx 没有还原成输入的形状",
             "输入是多维时，dx 要变回 forward 时 x 的原始形状。",
             "用 self.original_x_shape 还原 dx 的形状。",
             ("return dx.reshape(*self.original_x_shape)", "return dx"), public=True),
    _alternative("affine_matmul_einsum", _AFFINE, "用 @ 和 np.einsum 实现",
                 "x @ W 与 np.dot(x, W) 相同，einsum 写出的求和也相同。",
                 ("np.dot(x, self.W) + self.b", "x @ self.W + self.b"),
                 ("np.dot(dout, self.W.T)", "np.einsum('nm,dm->nd', dout, self.W)"),
                 ("np.dot(self.x.T, dout)", "np.einsum('nd,nm->dm', self.x, dout)"),
                 ("np.sum(dout, axis=0)", "dout.sum(0)")),

    # ThreeLayerNet
    _mistake("network_predict_skips_last_layer", _NET, "predict 漏掉了最后一层",
             "for 循环没有经过 self.layers 中的每一层。",
             "依次调用 self.layers 中每一层的 forward。",
             ("        for layer in self.layers.values():\n",
              "        for layer in list(self.layers.values())[:-1]:\n")),
    _mistake("network_predict_skips_activations", _NET, "predict 跳过了激活层",
             "LeakyRelu 层没有被调用，网络退化成了线性模型。",
             "依次调用 self.layers 中每一层的 forward，包括 LeakyRelu。",
             ("            pred = layer.forward(pred)\n",
              "            pred = layer.forward(pred) if not isinstance(layer, LeakyRelu) else pred\n")),
    _mistake("network_predict_applies_softmax", _NET, "predict 多做了 softmax",
             "predict 应返回 softmax 之前的得分，softmax 由最后的 SoftmaxWithLoss 层完成。",
             "predict 直接返回最后一个 Affine 层的输出。",
             ("        return pred\n\n    def loss", "        return softmax(pred)\n\n    def loss")),
    _mistake("network_loss_softmax_twice", _NET, "loss 做了两次 softmax",
             "SoftmaxWithLoss 自己会做 softmax，传给它的应是得分。",
             "把 predict 的输出直接传给 self.lastLayer.forward。",
             ("self.lastLayer.forward(pred, y)", "self.lastLayer.forward(softmax(pred), y)")),
    _mistake("network_loss_without_last_layer", _NET, "loss 没有通过 lastLayer 计算",
             "gradient 的反向传播要用到 lastLayer 在正向传播时保存的结果。",
             "用 self.lastLayer.forward(pred, y) 计算损失。",
             ("self.lastLayer.forward(pred, y)", "cross_entropy_error(softmax(pred), y)")),
    _mistake("network_layer_copies_param", _NET, "层持有参数的副本",
             "Affine 层拿到的是 params 中数组的副本，优化器原地更新 params 时这一层看不到。",
             "把 self.params 中的数组本身传给 Affine。",
             ("Affine(self.params['W2'], self.params['b2'])", "Affine(self.params['W2'].copy(), self.params['b2'])"),
             public=True),
    _alternative("network_explicit_layers", _NET, "逐层写出 predict",
                 "按名字依次调用各层，与循环的结果相同。",
                 ("        pred = x\n        for layer in self.layers.values():\n            pred = layer.forward(pred)\n",
                  "        h = self.layers['LeakyRelu1'].forward(self.layers['Affine1'].forward(x))\n"
                  "        h = self.layers['LeakyRelu2'].forward(self.layers['Affine2'].forward(h))\n"
                  "        pred = self.layers['Affine3'].forward(h)\n")),

    # AdaGrad
    _variant("adagrad_epsilon_inside_sqrt", _ADAGRAD, "d2l《动手学深度学习》的 AdaGrad（ε 在根号内）",
             "这是 d2l 的写法：分母为 sqrt(G + epsilon)，而课文的公式是 sqrt(G) + epsilon，梯度很小时两者的步长差别很大。",
             "本作业要求 epsilon 在根号外：把 epsilon 加在 np.sqrt(…) 的外面。",
             ("(np.sqrt(self.grads_squared[key]) + self.epsilon)", "np.sqrt(self.grads_squared[key] + self.epsilon)")),
    _mistake("adagrad_no_sqrt", _ADAGRAD, "分母缺少平方根",
             "分母应为梯度平方和的平方根再加 epsilon。",
             "对 grads_squared 开平方根。",
             ("(np.sqrt(self.grads_squared[key]) + self.epsilon)", "(self.grads_squared[key] + self.epsilon)")),
    _mistake("adagrad_no_accumulation", _ADAGRAD, "没有累加梯度平方",
             "grads_squared 只保存了本次的 g*g（写成了 = 而不是 +=，或每次都重新创建），"
             "AdaGrad 要的是从第一步起所有 g*g 的和。",
             "用 += 把每一步的 g*g 累加到 grads_squared 上。",
             ("self.grads_squared[key] += grads[key] * grads[key]",
              "self.grads_squared[key] = grads[key] * grads[key]")),
    _fixed_epsilon("adagrad_fixed_epsilon", _ADAGRAD, "1e-7"),
    _mistake("adagrad_sign_error", _ADAGRAD, "更新的方向反了",
             "参数应沿梯度的反方向移动（减去更新量）。",
             "用 -= 而不是 +=。",
             (_ADAPTIVE_STEP, _ADAPTIVE_STEP.replace("-=", "+=")), public=True),
    _out_of_place("adagrad_out_of_place", _ADAGRAD, _ADAPTIVE_STEP),
    _alternative("adagrad_out_arguments", _ADAGRAD, "用 np.add(…, out=) 和切片赋值",
                 "状态用 out= 原地累加，参数用 params[key][...] = … 原地赋值，结果相同。",
                 ("self.grads_squared[key] += grads[key] * grads[key]",
                  "np.add(self.grads_squared[key], grads[key] ** 2, out=self.grads_squared[key])"),
                 ("params[key] -= self.learning_rate", "params[key][...] = params[key] - self.learning_rate")),

    # RMSprop
    _mistake("rmsprop_beta_swapped", _RMSPROP, "beta 与 1 - beta 用反了",
             "指数加权平均中，旧的值乘以 beta，新的 g*g 乘以 1 - beta。",
             "对照公式交换两个系数。",
             (_RMS_STATE, "self.grads_squared[key] = (1 - self.beta) * self.grads_squared[key] "
                          "+ self.beta * grads[key] * grads[key]")),
    _mistake("rmsprop_sum", _RMSPROP, "用累加代替了指数加权平均",
             "RMSprop 的 u 是 g*g 的指数加权平均，不是像 AdaGrad 那样的累加和。",
             "用 beta * u + (1 - beta) * g*g 更新。",
             (_RMS_STATE, "self.grads_squared[key] = self.grads_squared[key] + grads[key] * grads[key]")),
    _variant("rmsprop_epsilon_inside_sqrt", _RMSPROP, "d2l《动手学深度学习》的 RMSprop（ε 在根号内）",
             "这是 d2l 的写法：分母为 sqrt(u + epsilon)，而课文的公式是 sqrt(u) + epsilon，梯度很小时两者的步长差别很大。",
             "本作业要求 epsilon 在根号外：把 epsilon 加在 np.sqrt(…) 的外面。",
             ("(np.sqrt(self.grads_squared[key]) + self.epsilon)", "np.sqrt(self.grads_squared[key] + self.epsilon)")),
    _fixed_epsilon("rmsprop_fixed_epsilon", _RMSPROP, "1e-7"),
    _state_reset("rmsprop_state_reset", _RMSPROP, ("grads_squared",)),
    _out_of_place("rmsprop_out_of_place", _RMSPROP, _ADAPTIVE_STEP),
    _alternative("rmsprop_in_place_state", _RMSPROP, "原地更新状态",
                 "u *= beta; u += (1 - beta) * g*g 与公式的结果相同。",
                 (_RMS_STATE, "self.grads_squared[key] *= self.beta\n"
                              "            self.grads_squared[key] += (1 - self.beta) * grads[key] * grads[key]")),

    # Momentum
    _mistake("momentum_sign_error", _MOMENTUM, "更新的方向反了",
             "参数应沿梯度的反方向移动：v 里已经乘了学习率，参数要减去 v。",
             "对照公式检查 v 和参数更新中的符号。",
             ("params[key] -= self.v[key]", "params[key] += self.v[key]"), public=True),
    _mistake("momentum_without_learning_rate", _MOMENTUM, "没有乘学习率",
             "v 累加的是 g 本身，参数减去 v 时也没有乘学习率。",
             "对照公式，学习率应出现在 v 的更新中。",
             (_MOMENTUM_V, "self.v[key] = self.beta * self.v[key] + grads[key]")),
    _mistake("momentum_learning_rate_twice", _MOMENTUM, "学习率乘了两次",
             "v 里已经乘了学习率，参数更新时又乘了一次。",
             "每一步只乘一次学习率。",
             ("params[key] -= self.v[key]", "params[key] -= self.learning_rate * self.v[key]")),
    _mistake("momentum_one_minus_beta", _MOMENTUM, "给梯度乘了 (1 - beta)",
             "课文中的 Momentum 是 v = beta * v + lr * g，梯度项没有 (1 - beta) 这个系数。",
             "去掉梯度项上的 (1 - beta)。",
             (_MOMENTUM_V, "self.v[key] = self.beta * self.v[key] + (1 - self.beta) * self.learning_rate * grads[key]")),
    _mistake("momentum_modifies_grads", _MOMENTUM, "修改了传入的梯度",
             "update 在 grads 的数组上做了原地运算（grads[key] *= …），调用者手里的梯度被改变了。",
             "不要对 grads[key] 做原地运算，需要时用新的变量保存中间结果。",
             (_MOMENTUM_V, "grads[key] *= self.learning_rate\n"
                           "            self.v[key] = self.beta * self.v[key] + grads[key]"), public=True),
    _state_reset("momentum_state_reset", _MOMENTUM, ("v",)),
    _out_of_place("momentum_out_of_place", _MOMENTUM, "params[key] -= self.v[key]"),
    _alternative("momentum_negative_velocity", _MOMENTUM, "速度取相反的符号（CS231n、《深度学习入门》的写法）",
                 "v = beta * v - lr * g，参数加上 v：参数的轨迹与课文的公式完全相同。",
                 (_MOMENTUM_V, "self.v[key] = self.beta * self.v[key] - self.learning_rate * grads[key]"),
                 ("params[key] -= self.v[key]", "params[key] += self.v[key]")),
    _alternative("momentum_velocity_without_lr", _MOMENTUM, "速度中不含学习率（torch.optim 的写法）",
                 "v = beta * v + g，参数减去 lr * v：参数的轨迹与课文的公式相同。",
                 (_MOMENTUM_V, "self.v[key] = self.beta * self.v[key] + grads[key]"),
                 ("params[key] -= self.v[key]", "params[key] -= self.learning_rate * self.v[key]")),
    _alternative("momentum_in_place_state", _MOMENTUM, "原地更新速度",
                 "v *= beta; v += lr * g 与公式的结果相同。",
                 (_MOMENTUM_V, "self.v[key] *= self.beta\n            self.v[key] += self.learning_rate * grads[key]")),

    # Nesterov
    _mistake("nesterov_as_momentum", _NESTEROV, "写成了普通 Momentum",
             "参数只减去了 v，缺少 Nesterov 的“向前看一步”。",
             "对照 Nesterov 的公式更新参数。",
             (_NESTEROV_STEP, "params[key] -= self.v[key]")),
    _mistake("nesterov_missing_gradient_term", _NESTEROV, "参数更新漏掉了梯度项",
             "Nesterov 的参数更新是 beta * v + lr * g，只减去 beta * v 就少了本次梯度的那一项。",
             "对照 Nesterov 的公式补上 lr * g。",
             (_NESTEROV_STEP, "params[key] -= self.beta * self.v[key]")),
    _mistake("nesterov_lookahead_on_new_velocity", _NESTEROV, "向前看的一步用了更新后的 v（《深度学习入门》的写法）",
             "《深度学习入门》的 Nesterov 先更新 v，再按 p -= beta² * v + (1 + beta) * lr * g 更新参数；"
             "这个式子要用更新前的 v 才与 Nesterov 等价，用更新后的 v 就多看了一步。",
             "对照课文的公式：先 v = beta * v + lr * g，再 p -= beta * v + lr * g。",
             (_NESTEROV_STEP, "params[key] -= self.beta * self.beta * self.v[key] "
                              "+ (1 + self.beta) * self.learning_rate * grads[key]"), public=True),
    _state_reset("nesterov_state_reset", _NESTEROV, ("v",)),
    _out_of_place("nesterov_out_of_place", _NESTEROV, _NESTEROV_STEP),
    _alternative("nesterov_classic_form", _NESTEROV, "用新旧两个 v 表示",
                 "p -= (1 + beta) * v_new - beta * v_old，代数上与课文的更新相同。",
                 (_MOMENTUM_V + "\n            " + _NESTEROV_STEP,
                  "v_old = self.v[key]\n            " + _MOMENTUM_V + "\n            "
                  "params[key] -= (1 + self.beta) * self.v[key] - self.beta * v_old")),
    _alternative("nesterov_torch_buffer", _NESTEROV, "torch.optim 的 Nesterov 写法",
                 "缓冲 b = beta * b + g，参数减去 lr * (g + beta * b)：参数的轨迹与课文的公式相同。",
                 (_MOMENTUM_V, "self.v[key] = self.beta * self.v[key] + grads[key]"),
                 (_NESTEROV_STEP, "params[key] -= self.learning_rate * (grads[key] + self.beta * self.v[key])")),
    _alternative("nesterov_negative_velocity", _NESTEROV, "速度取相反的符号",
                 "v = beta * v - lr * g，参数加上 beta * v - lr * g：参数的轨迹与课文的公式相同。",
                 (_MOMENTUM_V, "self.v[key] = self.beta * self.v[key] - self.learning_rate * grads[key]"),
                 (_NESTEROV_STEP, "params[key] += self.beta * self.v[key] - self.learning_rate * grads[key]")),

    # Adam
    _mistake("adam_no_bias_correction", _ADAM, "缺少偏差修正",
             "直接用 v 和 u 更新参数；v、u 从 0 开始，前几步偏小，要除以 1 - beta^t 修正。",
             "先算 v_corrected = v / (1 - beta1^t) 和 u_corrected = u / (1 - beta2^t)，再用它们更新参数。",
             (_V_HAT, "v_corrected = self.v[key]"), (_U_HAT, "u_corrected = self.u[key]"), public=True),
    _mistake("adam_t_late", _ADAM, "t 在第一次 update 时为 0",
             "t 在 update 结束时才加 1（或没有加 1），第一次 update 中 1 - beta^t = 0，出现除以 0。",
             "在 update 开始时先 self.t += 1，第一次 update 用 t = 1。",
             ("        self.t += 1\n        for key in params:\n", "        for key in params:\n"),
             ("            " + _ADAM_STEP + "\n", "            " + _ADAM_STEP + "\n        self.t += 1\n"),
             public=True),
    _mistake("adam_t_off_by_one", _ADAM, "偏差修正中的 t 多加了 1",
             "偏差修正用了 t + 1，第一次 update 时应为 t = 1。",
             "偏差修正直接用 self.t。",
             (_V_HAT, "v_corrected = self.v[key] / (1 - self.beta1 ** (self.t + 1))"),
             (_U_HAT, "u_corrected = self.u[key] / (1 - self.beta2 ** (self.t + 1))"), public=True),
    _mistake("adam_epsilon_inside_sqrt", _ADAM, "epsilon 放在了平方根里",
             "分母应为 sqrt(u_corrected) + epsilon；放进根号后，梯度很小时步长差别很大。",
             "把 epsilon 加在 np.sqrt(…) 的外面。",
             ("(np.sqrt(u_corrected) + self.epsilon)", "np.sqrt(u_corrected + self.epsilon)")),
    _mistake("adam_betas_swapped", _ADAM, "beta1 与 beta2 用反了",
             "beta1 属于梯度的平均 v，beta2 属于梯度平方的平均 u。",
             "v 和它的偏差修正用 beta1，u 和它的偏差修正用 beta2。",
             (_ADAM_V, _ADAM_V.replace("beta1", "beta2")), (_ADAM_U, _ADAM_U.replace("beta2", "beta1")),
             (_V_HAT, _V_HAT.replace("beta1", "beta2")), (_U_HAT, _U_HAT.replace("beta2", "beta1"))),
    _mistake("adam_first_moment_sum", _ADAM, "v 少了 (1 - beta1)",
             "v 应是梯度的指数加权平均 beta1 * v + (1 - beta1) * g，而不是 beta1 * v + g。",
             "给梯度项乘上 (1 - beta1)。",
             (_ADAM_V, "self.v[key] = self.beta1 * self.v[key] + grads[key]")),
    _variant("adam_folded_step", _ADAM, "Adam 论文第 2 节的“更高效的顺序”（ε̂ 写法，《深度学习入门》也这样写）",
             "这是 Kingma 与 Ba 论文中的写法：lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)，再除以 "
             "sqrt(u) + epsilon，其中的 epsilon 是论文的 ε̂，相当于课文公式中的 epsilon * sqrt(1 - beta2^t)，"
             "前几步的步长与课文的公式不同。",
             "本作业要求课文的公式：分别计算 v_corrected 和 u_corrected，epsilon 加在 sqrt(u_corrected) 外面。",
             (_V_HAT + "\n            " + _U_HAT + "\n            " + _ADAM_STEP,
              "lr_t = self.learning_rate * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)\n"
              "            params[key] -= lr_t * self.v[key] / (np.sqrt(self.u[key]) + self.epsilon)")),
    _fixed_epsilon("adam_fixed_epsilon", _ADAM, "1e-8"),
    _fixed_epsilon("adam_fixed_epsilon_1e7", _ADAM, "1e-7"),
    _state_reset("adam_state_reset", _ADAM, ("v", "u")),
    _out_of_place("adam_out_of_place", _ADAM, _ADAM_STEP),
    _alternative("adam_folded_factors", _ADAM, "把修正系数合并成标量",
                 "lr / (1 - beta1^t) 乘以 v，再除以 sqrt(u / (1 - beta2^t)) + epsilon：与课文的公式相同。",
                 (_V_HAT + "\n            " + _U_HAT + "\n            " + _ADAM_STEP,
                  "step_size = self.learning_rate / (1 - self.beta1 ** self.t)\n"
                  "            denominator = np.sqrt(self.u[key] / (1 - self.beta2 ** self.t)) + self.epsilon\n"
                  "            params[key] -= step_size * self.v[key] / denominator")),
    _alternative("adam_split_sqrt", _ADAM, "分开开平方",
                 "sqrt(u) / sqrt(1 - beta2^t) 与 sqrt(u / (1 - beta2^t)) 相同。",
                 (_ADAM_STEP, "params[key] -= self.learning_rate * v_corrected / "
                              "(np.sqrt(self.u[key]) / np.sqrt(1 - self.beta2 ** self.t) + self.epsilon)")),
    _alternative("adam_in_place_state", _ADAM, "原地更新矩估计",
                 "v *= beta1; v += (1 - beta1) * g（u 同理）与公式的结果相同。",
                 (_ADAM_V, "self.v[key] *= self.beta1\n            self.v[key] += (1 - self.beta1) * grads[key]"),
                 (_ADAM_U, "self.u[key] *= self.beta2\n            self.u[key] += (1 - self.beta2) * grads[key] ** 2")),

    # AdaBelief
    _mistake("adabelief_old_v", _ADABELIEF, "s 用了更新前的 v",
             "s 中的 (g - v)² 要用本次已经更新过的 v。",
             "先更新 v，再更新 s。",
             (_ADAM_V + "\n            " + _BELIEF_S, _BELIEF_S + "\n            " + _ADAM_V)),
    _mistake("adabelief_is_adam", _ADABELIEF, "s 写成了 Adam 的 u",
             "AdaBelief 的 s 是 (g - v)² 的指数加权平均，不是 g² 的。",
             "把 g*g 换成 (g - v)²。",
             (_BELIEF_S, _BELIEF_S.replace("(grads[key] - self.v[key]) ** 2", "grads[key] ** 2"))),
    _mistake("adabelief_no_bias_correction", _ADABELIEF, "缺少偏差修正",
             "直接用 v 和 s 更新参数；v、s 从 0 开始，前几步偏小，要除以 1 - beta^t 修正。",
             "先算 v_corrected 和 s_corrected，再用它们更新参数。",
             (_V_HAT, "v_corrected = self.v[key]"), (_S_HAT, "s_corrected = self.s[key]")),
    _variant("adabelief_epsilon_in_s", _ADABELIEF, "AdaBelief 论文算法 2 的写法（s 中加 ε）",
             "这是 AdaBelief 论文（Zhuang 等，2020）算法 2 和作者的 adabelief-pytorch 的写法：每一步在 s 上再加 "
             "epsilon，而课文的公式中 s 只是 (g - v)² 的指数加权平均。",
             "本作业要求课文的公式：s 的更新中不加 epsilon，epsilon 只加在分母上。",
             (_BELIEF_S, _BELIEF_S + " + self.epsilon")),
    _mistake("adabelief_epsilon_inside_sqrt", _ADABELIEF, "epsilon 放在了平方根里",
             "分母应为 sqrt(s_corrected) + epsilon；放进根号后，梯度很小时步长差别很大。",
             "把 epsilon 加在 np.sqrt(…) 的外面。",
             ("(np.sqrt(s_corrected) + self.epsilon)", "np.sqrt(s_corrected + self.epsilon)")),
    _mistake("adabelief_t_late", _ADABELIEF, "t 在第一次 update 时为 0",
             "t 在 update 结束时才加 1（或没有加 1），第一次 update 中 1 - beta^t = 0，出现除以 0。",
             "在 update 开始时先 self.t += 1，第一次 update 用 t = 1。",
             ("        self.t += 1\n        for key in params:\n", "        for key in params:\n"),
             ("            " + _BELIEF_STEP + "\n", "            " + _BELIEF_STEP + "\n        self.t += 1\n"),
             public=True),
    _state_reset("adabelief_state_reset", _ADABELIEF, ("v", "s")),
    _out_of_place("adabelief_out_of_place", _ADABELIEF, _BELIEF_STEP),
    _alternative("adabelief_in_place_state", _ADABELIEF, "原地更新矩估计",
                 "v *= beta1; v += (1 - beta1) * g（s 同理）与公式的结果相同。",
                 (_ADAM_V, "self.v[key] *= self.beta1\n            self.v[key] += (1 - self.beta1) * grads[key]"),
                 (_BELIEF_S, "self.s[key] *= self.beta2\n"
                             "            self.s[key] += (1 - self.beta2) * np.square(grads[key] - self.v[key])")),
    _alternative("adabelief_folded_factors", _ADABELIEF, "把修正系数合并成标量",
                 "lr / (1 - beta1^t) 乘以 v，再除以 sqrt(s / (1 - beta2^t)) + epsilon：与课文的公式相同。",
                 (_V_HAT + "\n            " + _S_HAT + "\n            " + _BELIEF_STEP,
                  "step_size = self.learning_rate / (1 - self.beta1 ** self.t)\n"
                  "            denominator = np.sqrt(self.s[key] / (1 - self.beta2 ** self.t)) + self.epsilon\n"
                  "            params[key] -= step_size * self.v[key] / denominator")),
]


# --------------------------------------------------------------------------------------
# Looking entries up
# --------------------------------------------------------------------------------------

def entries(part=None, valid=None, kind=None):
    """The entries (of the part with grade id part, if given), in the table's order: all,
    or (valid False) the mistakes and variants, (valid True) the alternatives; kind
    ("mistake", "variant", "alternative") chooses one kind."""
    order = {grade_id: i for i, grade_id in enumerate(PARTS)}
    chosen = [e for e in ENTRIES if (part is None or e.part == part) and (valid is None or e.valid == valid)
              and (kind is None or e.kind == kind)]
    return sorted(chosen, key=lambda e: order.get(e.part, len(order)))


def combined(first, second):
    """One entry of first's part that makes the edits of both (first's, then second's):
    id "first+second", the titles joined; a variant only when both are. None when an edit
    of second no longer finds its text once first's are made (the two change the same line)."""
    if first.part != second.part:
        raise ValueError(f"{first.id} and {second.id} belong to different parts")
    edits = first.edits + second.edits
    try:
        _edited(reference_source(first.name), edits, f"{first.id}+{second.id}")
    except ValueError:
        return None
    return Entry(f"{first.id}+{second.id}", first.part, f"{first.title}」和「{second.title}",
                 first.explanation + second.explanation, "".join((first.fix, second.fix)),
                 edits, valid=False, public=False, variant=first.variant and second.variant)


def get(entry_id):
    """The entry with this id (KeyError if none)."""
    for entry in ENTRIES:
        if entry.id == entry_id:
            return entry
    raise KeyError(entry_id)


# --------------------------------------------------------------------------------------
# Running entries: a namespace built as a notebook builds it
# --------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _compiled(source, filename):
    return compile(source, filename, "exec")


def namespace(*chosen):
    """A fresh namespace holding what a notebook defines: np, OrderedDict, the given code
    (softmax, cross_entropy_error, SoftmaxWithLoss, SGD) and every graded name, each from
    the reference's source, then each chosen entry's source in place of its name. Names
    resolve in this namespace, as in a notebook: the reference's ThreeLayerNet here uses
    an entry's Affine."""
    ns = {"__name__": "__catalogue__", "np": np, "OrderedDict": OrderedDict}
    names = list(dict.fromkeys([*_GIVEN, *(part.name for part in PARTS.values())]))
    for name in names:
        exec(_compiled(reference_source(name), f"<reference {name}>"), ns)
    for entry in chosen:
        exec(_compiled(entry.source, f"<catalogue {entry.id}>"), ns)
    return ns


def notebook_with(notebook, *chosen):
    """A copy of notebook (an nbformat notebook) in which, for each chosen entry, the cell
    that defines its name holds the entry's source instead: the part's solution cell
    (found by its nbgrader grade id), else the code cell that defines the name."""
    for entry in chosen:
        notebook = with_definition(notebook, entry.name, entry.source)
    return notebook


def with_definition(notebook, name, source):
    """A copy of notebook whose cell defining name (a graded part's solution cell, found by
    its grade id, else the code cell with `class name` or `def name`) holds source instead."""
    notebook = copy.deepcopy(notebook)
    part = next((p for p in PARTS.values() if p.name == name), None)
    for cell in notebook.cells:
        if part and part.solution_cell and cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == part.solution_cell:
            cell.source = source
            return notebook
    pattern = re.compile(rf"^(class|def)\s+{re.escape(name)}\b", re.M)
    for cell in notebook.cells:
        if cell.cell_type == "code" and pattern.search(cell.source):
            cell.source = source
            return notebook
    raise KeyError(f"no cell defines {name}")
