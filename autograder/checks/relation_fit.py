"""Relations between an array the student's code gave and the one the reference gives on
the same input, fitted exactly: numpy only, no import of the package, so that the visible
tests of the release can ship this very file (public_tests.py holds the correct side as constants
from its own inputs there).

A quantity ("dW", "out", "W1") is observed in several cases (shapes, dtypes, batch sizes);
each case is a Leaf: the student's array S, the reference's R, and what the case knows (the
named numbers of the case such as the batch size N, the region x > 0 of a layer's input,
the upstream gradient dout a backward multiplies by, the bias b). fit(leaves, rtol) returns
the first relation of RELATION_KINDS that holds on every leaf to the tolerance of the
comparison, or None:

    dtype       the same values, another dtype
    shape       the same values in another shape (a missing reshape, keepdims)
    transpose   S = Rᵀ
    summed      S is the sum of what R sums over axis 0, taken over another axis or over all
    scale       S = k·R, k a constant or a named number's power (1/N, alpha, 1/weight_init_std)
    piecewise   S = k₊·R where x > 0 and k₋·R where x <= 0 (a slope, a mask)
    without     S = R / dout (a backward that does not multiply by dout)
    shift       S = R + c or S = R + k·b (a bias missing, added twice, a constant)

Tolerances: close(actual, expected, rtol) is the one comparison of numbers of the checks
(relative to |expected| plus the largest |expected|, at least SCALE_FLOOR of its dtype;
NaN and inf equal nothing).
"""
from dataclasses import dataclass, field

import numpy as np

# The smallest "largest value" of an array that scales the tolerance: an array of values
# that cancel to about 0 (a sum over the wrong axis of a softmax gradient) compares with
# rounding noise in mind; arrays of the checks' inputs are far above these.
SCALE_FLOOR = {np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-6}
# How closely the factors fitted on two cases must agree to be one constant, per dtype.
FACTOR_RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-8}
POWERS = (-1, 1, -2, 2, -0.5, 0.5)
# A constant factor this close to 1 is no slip a student writes (a near miss): not named.
NEAR_ONE = 1e-3
RELATION_KINDS = ("dtype", "shape", "transpose", "summed", "scale", "piecewise", "without", "shift")

# The named numbers of a case: name -> (how a message writes it, what it is).
NAMED = {"N": ("N", "批大小"), "alpha": ("alpha", "LeakyReLU 在 x <= 0 一侧的斜率"),
         "weight_init_std": ("weight_init_std", "权重的标准差参数")}
# What to look at when a quantity is exactly the correct value times a named number to a
# power: (name, power) -> advice.
ADVICE = {
    ("N", -1): "不要除以批大小（损失已经对批取过平均，反向传播时各样本的梯度直接相加）。",
    ("N", 1): "多乘了批大小。",
    ("weight_init_std", -1): "权重没有乘以 weight_init_std。",
    ("weight_init_std", 1): "weight_init_std 乘了两次。",
    ("weight_init_std", -0.5): "乘的是 weight_init_std 的平方根，而不是 weight_init_std 本身。",
    ("alpha", 1): "多乘了 alpha。",
    ("alpha", -1): "在不该乘 alpha 的地方乘了 alpha，或少乘了一次。",
}


def largest_difference(actual, expected, rtol, scale=None):
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


@dataclass
class Leaf:
    """One case of a quantity: S the student's array, R the correct one (any shape); named
    numbers of the case; region (bool, R's shape): where the layer's input x > 0; factor
    (R's shape): the upstream gradient dout; bias ((M,)): b, for an output of shape (N, M);
    summand: the array whose sum over axis 0 is R (db: dout)."""
    S: object
    R: np.ndarray
    named: dict = field(default_factory=dict)
    region: np.ndarray = None
    factor: np.ndarray = None
    bias: np.ndarray = None
    summand: np.ndarray = None


@dataclass(frozen=True)
class Fit:
    """A relation that holds on every leaf: kind (RELATION_KINDS), detail (a short stable
    text: "1/N", "x<=0:×0", "dtype=float64"), fact (Chinese: what the quantity is, in terms
    of the correct value) and advice (Chinese: what to look at)."""
    kind: str
    detail: str
    fact: str
    advice: str = ""


def close(actual, expected, rtol):
    """actual equals expected (same shape) to rtol of expected's dtype scale."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    return actual.shape == expected.shape and largest_difference(actual, expected, rtol) is None


def _number(value):
    """A short decimal for a message: 0.1, 1/3 as 0.333, -1."""
    return f"{value:.3g}"


def _factor(S, R):
    """The least-squares k of S ≈ k·R (float64), None when R is 0."""
    S, R = np.asarray(S, np.float64).ravel(), np.asarray(R, np.float64).ravel()
    norm = float(R @ R)
    return None if norm == 0 else float(S @ R) / norm


def _agree(values, dtype_rtol):
    """The values (floats) are one constant to dtype_rtol."""
    first = values[0]
    return all(abs(v - first) <= dtype_rtol * max(abs(first), 1e-12) for v in values)


def _same_arrays(leaves):
    """Every S a float array of R's shape (its dtype may differ: a backward that returns
    float64 because it never multiplied by dout is named by what it computes)."""
    return all(isinstance(leaf.S, np.ndarray) and leaf.S.shape == leaf.R.shape and leaf.S.dtype.kind == "f"
               for leaf in leaves)


def _fit_dtype(leaves, rtol):
    if not all(isinstance(leaf.S, np.ndarray) and leaf.S.shape == leaf.R.shape for leaf in leaves):
        return None
    if all(leaf.S.dtype == leaf.R.dtype for leaf in leaves):
        return None
    if not all(leaf.S.dtype.kind == "f" and close(leaf.S.astype(leaf.R.dtype), leaf.R, rtol(leaf.R.dtype))
               for leaf in leaves):
        return None
    dtypes = sorted({leaf.S.dtype.name for leaf in leaves})
    if len(dtypes) == 1:
        return Fit("dtype", f"dtype={dtypes[0]}", f"数值正确，但 dtype 总是 {dtypes[0]}",
                   "输入是什么 dtype，结果就应该是什么 dtype：检查是否混入了 float64 的数组或常数（如 np.ones、np.zeros 默认 float64）。")
    return Fit("dtype", "dtype", "数值正确，但 dtype 与输入不一致", "输入是什么 dtype，结果就应该是什么 dtype。")


def _fit_shape(leaves, rtol):
    if not all(isinstance(leaf.S, np.ndarray) and leaf.S.size == leaf.R.size and leaf.S.dtype == leaf.R.dtype
               for leaf in leaves):
        return None
    if all(leaf.S.shape == leaf.R.shape for leaf in leaves):
        return None
    if not all(close(leaf.S.reshape(leaf.R.shape), leaf.R, rtol(leaf.R.dtype)) for leaf in leaves):
        return None
    wrong = next(leaf for leaf in leaves if leaf.S.shape != leaf.R.shape)
    return Fit("shape", "shape", f"数值正确，但形状是 {wrong.S.shape}，应为 {wrong.R.shape}",
               "检查 reshape（是否还原成了输入的形状）和求和时的 keepdims。")


def _fit_transpose(leaves, rtol):
    if not all(isinstance(leaf.S, np.ndarray) and leaf.R.ndim == 2 and leaf.S.shape == leaf.R.T.shape
               and leaf.S.dtype == leaf.R.dtype for leaf in leaves):
        return None
    if all(leaf.S.shape == leaf.R.shape for leaf in leaves):
        return None
    if not all(close(leaf.S, leaf.R.T, rtol(leaf.R.dtype)) for leaf in leaves):
        return None
    wrong = next(leaf for leaf in leaves if leaf.S.shape != leaf.R.shape)
    return Fit("transpose", "transpose", f"恰好是正确值的转置（形状 {wrong.S.shape}，应为 {wrong.R.shape}）",
               "检查矩阵乘法中两个因子的顺序和转置。")


def _fit_summed(leaves, rtol):
    """S (an array, or a number: a sum over all) is a sum of the summand over another axis."""
    if any(leaf.summand is None or not isinstance(leaf.S, (np.ndarray, np.floating, float)) for leaf in leaves):
        return None
    if all(np.shape(leaf.S) == leaf.R.shape for leaf in leaves):
        return None
    ndim = leaves[0].summand.ndim
    for axis in [*range(1, ndim), None]:
        if all(close(np.asarray(leaf.S, np.float64), leaf.summand.astype(np.float64).sum(axis=axis),
                     rtol(leaf.R.dtype)) for leaf in leaves):
            if axis is None:
                return Fit("summed", "all", "恰好是所有元素之和（一个数）",
                           "只沿批维求和：axis=0，得到与 b 同形状的数组。")
            return Fit("summed", f"axis={axis}", f"恰好是沿 axis={axis} 求和的结果",
                       "应沿批维（axis=0）求和，得到与 b 同形状的数组。")
    return None


def _describe_factor(factors, leaves, dtype_rtol, any_constant):
    """(detail, fact, advice) of S = k_i·R on the leaves, or None: a named number's power
    (times 1 or -1), -1 or 0; then, with any_constant, one constant, else a constant times a
    named number's power."""
    named = [name for name in NAMED if all(name in leaf.named for leaf in leaves)]
    candidates = []
    for name in named:
        for power in POWERS:
            ratios = [k / float(leaf.named[name]) ** power for k, leaf in zip(factors, leaves)]
            if _agree(ratios, dtype_rtol):
                candidates.append((name, power, ratios[0]))
    for name, power, c in candidates:
        for sign in (1.0, -1.0):
            if abs(c - sign) <= dtype_rtol:
                symbol, meaning = NAMED[name]
                text = symbol if power == 1 else f"1/{symbol}" if power == -1 else f"{symbol}^{power:g}"
                detail = ("-" if sign < 0 else "") + (name if power == 1 else f"1/{name}" if power == -1
                                                      else f"{name}^{power:g}")
                value = float(leaves[0].named[name])
                fact = (f"恰好是正确值的 {'-' if sign < 0 else ''}{text} 倍（{symbol} 是{meaning}，"
                        f"这里 {symbol} = {_number(value)}）")
                advice = ("符号也反了。" if sign < 0 else "") + ADVICE.get((name, power), "")
                return detail, fact, advice
    if _agree(factors, dtype_rtol):
        k = factors[0]
        if abs(k + 1) <= dtype_rtol:
            return "-1", "恰好是正确值的相反数", "检查符号：减号写成了加号，或少了一个负号。"
        if abs(k) <= dtype_rtol:
            return "×0", "全部为 0", "这个值没有被计算出来（或被乘以了 0）。"
    if not any_constant:
        return None
    if _agree(factors, dtype_rtol) and abs(factors[0] - 1) > NEAR_ONE:
        return f"×{factors[0]:.3g}", f"恰好是正确值的 {_number(factors[0])} 倍", "检查公式中的常数系数。"
    for name, power, c in candidates:
        symbol, meaning = NAMED[name]
        if power == -1:
            return (f"×{_number(c)}/{name}", f"恰好是正确值乘以 {_number(c)}/{symbol}",
                    f"这里用的是常数 {_number(c)}，而不是 {symbol}（{meaning}）。")
        return (f"×{_number(c)}·{name}^{power:g}", f"恰好是正确值的 {_number(c)}·{symbol}^{power:g} 倍",
                f"检查 {symbol}（{meaning}）的用法和公式中的常数。")
    return None


def _fit_scale(leaves, rtol, any_constant=False):
    """S = k·R with k a named number's power, -1 or 0 (any_constant: any constant, or a
    constant times a named number's power: tried last, after the relations that say more)."""
    if not _same_arrays(leaves):
        return None
    factors = []
    for leaf in leaves:
        k = _factor(leaf.S, leaf.R)
        if k is None or not close(leaf.S, (k * leaf.R.astype(np.float64)).astype(leaf.R.dtype), rtol(leaf.R.dtype)):
            return None
        factors.append(k)
    dtype_rtol = max(FACTOR_RTOL.get(leaf.R.dtype, 1e-8) for leaf in leaves)
    if all(abs(k - 1) <= dtype_rtol for k in factors):
        return None
    described = _describe_factor(factors, leaves, dtype_rtol, any_constant)
    return Fit("scale", *described) if described else None


def _fit_any_scale(leaves, rtol):
    return _fit_scale(leaves, rtol, any_constant=True)


def _fit_piecewise(leaves, rtol):
    if not _same_arrays(leaves) or any(leaf.region is None or leaf.region.shape != leaf.R.shape for leaf in leaves):
        return None
    sides = {True: [], False: []}
    for leaf in leaves:
        expected = np.empty(leaf.R.shape, np.float64)
        for side in (True, False):
            where = leaf.region == side
            k = _factor(leaf.S[where], leaf.R[where]) if np.any(where) else None
            if k is None:
                return None
            sides[side].append(k)
            expected[where] = k * leaf.R[where].astype(np.float64)
        if not close(leaf.S, expected.astype(leaf.R.dtype), rtol(leaf.R.dtype)):
            return None
    dtype_rtol = max(FACTOR_RTOL.get(leaf.R.dtype, 1e-8) for leaf in leaves)
    if not (_agree(sides[True], dtype_rtol) and _agree(sides[False], dtype_rtol)):
        return None
    up, down = sides[True][0], sides[False][0]
    if abs(up - down) <= dtype_rtol:
        return None  # one factor everywhere: a scale
    one = lambda k: abs(k - 1) <= dtype_rtol  # noqa: E731
    alpha = leaves[0].named.get("alpha")
    detail = f"x>0:×{_number(up)},x<=0:×{_number(down)}"
    if one(up) and abs(down) <= dtype_rtol:
        return Fit("piecewise", detail, "在 x > 0 处正确，x <= 0 处却是 0（写成了 ReLU）",
                   f"x <= 0 处应乘以 alpha = {_number(alpha)}，而不是 0。" if alpha else "x <= 0 处不应为 0。")
    if one(up) and alpha:
        slope = down * alpha
        return Fit("piecewise", detail, f"在 x > 0 处正确，x <= 0 处的斜率是 {_number(slope)}，而 alpha = {_number(alpha)}",
                   "检查 x <= 0 一侧乘的系数：应是 self.alpha。")
    if alpha and abs(up - alpha) <= dtype_rtol * 10 and abs(down * alpha - 1) <= dtype_rtol * 10:
        return Fit("piecewise", detail, "把 alpha 乘在了 x > 0 的一侧，x <= 0 的一侧反而没有乘",
                   "检查掩码的方向：x <= 0 的位置乘 alpha。")
    if one(down):
        return Fit("piecewise", detail, f"在 x <= 0 处正确，x > 0 处却是正确值的 {_number(up)} 倍",
                   "x > 0 处应原样通过（斜率 1）。")
    return Fit("piecewise", detail, f"在 x > 0 处是正确值的 {_number(up)} 倍，x <= 0 处是 {_number(down)} 倍",
               "检查两侧各乘的系数和掩码的方向。")


def _fit_without(leaves, rtol):
    if not _same_arrays(leaves) or any(leaf.factor is None or leaf.factor.shape != leaf.R.shape for leaf in leaves):
        return None
    if not all(close((leaf.S.astype(np.float64) * leaf.factor).astype(leaf.R.dtype), leaf.R, rtol(leaf.R.dtype))
               for leaf in leaves):
        return None
    return Fit("without", "without dout", "恰好是正确值除以 dout（没有乘上游传来的梯度 dout）",
               "backward 的结果应是局部导数乘以 dout（链式法则）。")


def _fit_shift(leaves, rtol):
    if not _same_arrays(leaves):
        return None
    dtype_rtol = max(FACTOR_RTOL.get(leaf.R.dtype, 1e-8) for leaf in leaves) * 10
    if all(leaf.bias is not None and leaf.R.ndim == 2 and leaf.bias.shape == leaf.R.shape[1:] for leaf in leaves):
        ks = []
        for leaf in leaves:
            d = leaf.S.astype(np.float64) - leaf.R
            k = _factor(d.mean(axis=0), leaf.bias)
            if k is None or not close(leaf.S, (leaf.R + k * leaf.bias.astype(np.float64)).astype(leaf.R.dtype),
                                      rtol(leaf.R.dtype)):
                break
            ks.append(k)
        else:
            if _agree(ks, dtype_rtol) and abs(ks[0]) > dtype_rtol:
                k = ks[0]
                if abs(k + 1) <= dtype_rtol:
                    return Fit("shift", "-b", "每一行都恰好少加了偏置 b", "输出应为 x·W + b：加上 self.b。")
                if abs(k - 1) <= dtype_rtol:
                    return Fit("shift", "+b", "每一行都恰好多了一个偏置 b（b 加了两次）", "输出应为 x·W + b，b 只加一次。")
                return Fit("shift", f"{_number(k)}·b", f"每一行都恰好差了 {_number(k)}·b", "检查偏置 b 的系数和符号。")
    shifts = []
    for leaf in leaves:
        c = float(np.mean(leaf.S.astype(np.float64) - leaf.R))
        if not close(leaf.S, (leaf.R + c).astype(leaf.R.dtype), rtol(leaf.R.dtype)):
            return None
        shifts.append(c)
    if not _agree(shifts, dtype_rtol) or abs(shifts[0]) <= dtype_rtol:
        return None
    c = shifts[0]
    return Fit("shift", f"{c:+.3g}", f"每个元素都恰好{'多' if c > 0 else '少'}了 {_number(abs(c))}",
               "检查是否多加（或少加）了一个常数，例如用 np.ones 代替了 np.zeros。")


# In this order: on the checks' random cases at most one holds; on a visible test's single
# case of simple numbers the one that says most comes first.
_FITS = (_fit_dtype, _fit_shape, _fit_transpose, _fit_summed, _fit_scale, _fit_piecewise, _fit_without, _fit_shift,
         _fit_any_scale)


def fit(leaves, rtol):
    """The first relation (a Fit) that holds on every leaf, or None. rtol(dtype) -> the
    relative tolerance of the comparison for arrays of that dtype."""
    if not leaves:
        return None
    for fitter in _FITS:
        found = fitter(leaves, rtol)
        if found is not None:
            return found
    return None
