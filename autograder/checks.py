"""Hidden tests of the mlp_optimizers assignment: one check per graded notebook cell.

Each autograder cell of the notebook calls, between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS``::

    from autograder import checks
    checks.check_affine(globals())

``ns`` is either a mapping of the names the student's notebook defines (the objects are in
this interpreter) or an ``autograder.sandbox.interface.Student`` such as
``autograder.sandbox.proxy.Remote``, whose objects live in a sandboxed process
(autograder.verify grades that way, so that no check shares an interpreter with the
student's code). A check reads only the name(s) it grades (``check_affine`` reads
``Affine``, ``check_adam`` reads ``Adam``, ...), so a bug in one part never costs points
in another; the one exception is ``check_network``, which grades the student's
``ThreeLayerNet`` and therefore runs the student's layers and ``initialize_parameters``
too. Every check compares the student's objects with ``autograder.reference`` on seeded
random inputs (float32 and float64) and raises ``AssertionError`` with a message in
Chinese that says what is wrong (function or method, input shape and dtype, which
quantity, the largest absolute error, the first optimizer step that diverged) without
showing the reference's code. An exception raised inside the student's code becomes an
``AssertionError`` whose message starts with ``调用 <name> 时出错``.

How a check talks to the student's code: only through _StudentCode below, i.e. the
Student interface (lookup, call, getattr, getitem, send, fetch, share, observe). It

* calls a student function, constructor or method with copies of numpy arrays and plain
  Python values, and fetches copies of the results;
* reads attributes of the objects such calls returned (dW, db, grads_squared, v, u, s, t,
  params, layers, lastLayer, lastLayer.loss);
* shares the inputs whose fate it checks (x, W, b, dout of the layers, x of predict, the
  optimizers' params and grads) and observes them after each call: inputs left unchanged;
  for an optimizer, the observed params arrays are the parameters that are graded, so an
  update that puts new arrays into the dict instead of changing the given ones in place
  leaves them unchanged and fails. These facts never rest on an answer of the student's
  process (see autograder/sandbox/interface.py).

It writes into the student's objects in one place only: to see that the network's layers
use the very arrays of its params, check_network subtracts a delta from each params[key]
in place (``params[key] -= delta``, in the student's world) and compares predict with a
reference network holding the changed values. Elsewhere, where the network must be
evaluated at chosen parameters, the student's parameters are copied into a reference
network.
"""
import functools
import linecache
import os
from collections.abc import Mapping

import numpy as np

from autograder import reference
from autograder.gradcheck import numerical_gradient, numerical_gradient_array, rel_error
from autograder.sandbox.interface import Direct, NotTransferable, Student, StudentError

__all__ = [
    "check_initialize_parameters", "check_leaky_relu", "check_affine", "check_network",
    "check_adagrad", "check_rmsprop", "check_momentum", "check_nesterov", "check_adam",
    "check_adabelief",
]

DTYPES = (np.float64, np.float32)
# Relative tolerance per dtype, applied to a scale that includes the largest value of the
# compared array (see _max_error): a different but exact way of computing (np.maximum,
# einsum, in-place state updates) passes, a wrong formula does not.
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}
# Numerical gradients (float64, centered differences) against analytic ones.
GRADCHECK_TOL = {"layer": 1e-7, "network": 1e-6}
OPTIMIZER_STEPS = 6


# --------------------------------------------------------------------------------------
# Talking to the student's code. Every interaction goes through _StudentCode, which turns
# the student's exceptions and untransferable values into failures with a message.
# --------------------------------------------------------------------------------------

class _StudentCode:
    """The student's code behind a Student interface (Direct for a mapping ns)."""

    def __init__(self, ns):
        self.student = ns if isinstance(ns, Student) else Direct(ns)

    def lookup(self, name):
        """The Ref of name, or a failure telling the student to run the cell that defines it."""
        try:
            return self.student.lookup(name)
        except KeyError:
            raise AssertionError(f"没有找到 {name} 的定义：请先运行定义 {name} 的代码单元，"
                                 f"并且不要修改它的名字。") from None

    def call(self, what, fn, *args, **kwargs):
        """fn(*args, **kwargs) -> Ref; an exception inside the student's code becomes a failure."""
        try:
            return self.student.call(fn, *args, **kwargs)
        except StudentError as e:
            raise AssertionError(f"调用 {what} 时出错: {e.type_name}: {e.message}") \
                from (e.__cause__ or e)

    def attr(self, obj, name, owner):
        """obj.name -> Ref; owner names obj in the message (e.g. "Affine")."""
        try:
            return self.student.getattr(obj, name)
        except StudentError as e:
            if e.type_name == "AttributeError":
                raise AssertionError(f"{owner} 对象没有属性 {name}（请不要修改它的名字）。") from None
            raise AssertionError(f"读取 {owner}.{name} 时出错: {e.type_name}: {e.message}") \
                from (e.__cause__ or e)

    def method(self, obj, name, what, *args, **kwargs):
        """obj.name(*args, **kwargs) -> Ref; what names the method (e.g. "Affine.forward")."""
        return self.call(what, self.attr(obj, name, what.split(".")[0]), *args, **kwargs)

    def item(self, obj, key, what):
        """obj[key] -> Ref; what names the expression in messages."""
        try:
            return self.student.getitem(obj, key)
        except StudentError as e:
            raise AssertionError(f"调用 {what} 时出错: {e.type_name}: {e.message}") \
                from (e.__cause__ or e)

    def get(self, ref, what):
        """A local copy of the value behind ref; what names it in the message when it is not
        an array, a number, a string or a container of those."""
        try:
            return self.student.fetch(ref)
        except NotTransferable as e:
            raise AssertionError(f"{what}：应为 numpy 数组、数，或由它们组成的 list/tuple/dict，"
                                 f"实际得到 {e.type_name}。") from None

    def put(self, value):
        """A copy of value in the student's world -> Ref."""
        return self.student.send(value)

    def share(self, value):
        """A copy of value in the student's world whose arrays the check can observe -> Ref."""
        return self.student.share(value)

    def observe(self, ref):
        """The current value of what share() gave the student (arrays copied), as the grader
        sees it. Called right after the call that may have changed it."""
        return self.student.observe(ref)


# --------------------------------------------------------------------------------------
# Comparing results
# --------------------------------------------------------------------------------------

def _dtype_name(dtype):
    return np.dtype(dtype).name


def _call_text(name, args=(), kwargs=None):
    """How a call looks in the notebook, for messages: Adam(learning_rate=0.05, ...)."""
    def show(value):
        return f"np.{_dtype_name(value)}" if isinstance(value, type) else repr(value)
    parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


def _max_error(actual, expected, rtol, scale=None):
    """Largest |actual - expected| if some element is off by more than rtol * scale, else None.

    scale defaults to |expected| + max|expected| (elementwise): rounding differences of
    an equivalent computation are far below rtol of the array's largest value.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if scale is None:
        scale = np.abs(e) + np.max(np.abs(e), initial=0.0)
    error = np.abs(a - e)
    if np.all(error <= rtol * scale):
        return None
    return float(np.max(error))


def _check_array(actual, expected, what, where, rtol=None, scale=None, hint="", shape_hint=""):
    """actual must be an ndarray with expected's shape, dtype and values (within rtol).
    hint is added to a message about wrong values, shape_hint to one about a wrong shape."""
    if not isinstance(actual, np.ndarray):
        raise AssertionError(f"{what}：应该是 numpy 数组，实际得到 {type(actual).__name__}（{where}）。")
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}：形状应为 {expected.shape}，实际为 {actual.shape}（{where}）。"
                             f"{shape_hint}")
    if actual.dtype != expected.dtype:
        raise AssertionError(f"{what}：dtype 应为 {_dtype_name(expected.dtype)}，"
                             f"实际为 {_dtype_name(actual.dtype)}（{where}）。输入是什么 dtype，"
                             f"结果就应该保持什么 dtype。")
    if not np.all(np.isfinite(actual)) and np.all(np.isfinite(expected)):
        raise AssertionError(f"{what}：出现了 nan 或 inf（{where}）。{hint}")
    if rtol is None:
        rtol = RTOL[expected.dtype]
    error = _max_error(actual, expected, rtol, scale)
    if error is not None:
        raise AssertionError(f"{what}：数值不正确（{where}；最大绝对误差 {error:.3g}）。{hint}")


def _check_unchanged(array, before, what, name, where):
    """An input the check shared, observed after the call, must still equal the local
    original (which the student's code never saw)."""
    if (not isinstance(array, np.ndarray) or array.shape != before.shape
            or array.dtype != before.dtype or not np.array_equal(array, before, equal_nan=True)):
        raise AssertionError(f"输入被修改了：{what} 改变了传入的 {name}（{where}）。"
                             f"请不要原地修改输入数组，需要时先 copy()。")


def _check_scalar(actual, expected, what, where, rtol):
    if np.ndim(actual) != 0:
        raise AssertionError(f"{what} 应该返回一个标量，实际得到形状为 {np.shape(actual)} 的值（{where}）。")
    try:
        value = float(actual)
    except Exception as e:
        raise AssertionError(f"{what} 应该返回一个数，实际得到 {type(actual).__name__}（{where}）。") from e
    if not abs(value - expected) <= rtol * (abs(expected) + 1e-12):
        raise AssertionError(f"{what}：值不正确（{where}；得到 {value:.6g}，"
                             f"误差 {abs(value - expected):.3g}）。")


def _away_from_zero(rng, shape):
    """Random values with 0.1 <= |x| <= 2: a nudge of 1e-5 never crosses LeakyReLU's kink."""
    return rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# --------------------------------------------------------------------------------------
# initialize_parameters
# --------------------------------------------------------------------------------------

def check_initialize_parameters(ns):
    """Shapes, dtype (float32 default, float64 on request), zero biases, and the values of
    the reference (np.random.seed(1), then W1, W2, W3 in order, times weight_init_std)."""
    code = _StudentCode(ns)
    initialize_parameters = code.lookup("initialize_parameters")
    # The student's function and the reference seed numpy's global generator: in the
    # notebook's kernel (Direct) that is the notebook's generator too.
    saved_state = np.random.get_state()
    try:
        cases = [((5, 4, 3, 0.5), None), ((784, 300, 10, 0.01), None),
                 ((5, 4, 3, 0.5), np.float64), ((6, 2, 7, 0.1), np.float32)]
        for args, dtype in cases:
            kwargs = {} if dtype is None else {"dtype": dtype}
            call = _call_text("initialize_parameters", args, kwargs)
            params = code.get(code.call(call, initialize_parameters, *args, **kwargs),
                              f"{call} 的返回值")
            expected = reference.initialize_parameters(*args, **kwargs)
            _check_initial_params(params, expected, call, weight_init_std=args[3])
    finally:
        np.random.set_state(saved_state)


def _check_initial_params(params, expected, call, weight_init_std):
    if not isinstance(params, Mapping):
        raise AssertionError(f"{call} 应返回一个字典，实际得到 {type(params).__name__}。")
    if set(params) != set(expected):
        raise AssertionError(f"{call} 返回的字典的键应为 {sorted(expected)}，实际为 {sorted(params)}。")
    rtol = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}
    for key in reference.PARAM_KEYS:
        value, want = params[key], expected[key]
        what = f"{call} 返回的 {key}"
        if key.startswith("b"):
            _check_array(value, want, what, f"dtype {_dtype_name(want.dtype)}",
                         hint="偏置应初始化为全 0。")
            continue
        hint = (f"请先调用一次 np.random.seed(1)（只调用一次），再按 W1、W2、W3 的顺序用 "
                f"np.random.randn 生成，并乘以 weight_init_std。")
        if (isinstance(value, np.ndarray) and value.shape == want.shape
                and value.dtype == want.dtype and np.all(np.isfinite(value))):
            if _max_error(value, want / weight_init_std, 1e-5, np.abs(want / weight_init_std)) is None:
                raise AssertionError(f"{what}：数值不正确，没有乘以 weight_init_std。")
        _check_array(value, want, what, f"dtype {_dtype_name(want.dtype)}",
                     rtol=rtol[want.dtype], scale=np.abs(want), hint=hint)


# --------------------------------------------------------------------------------------
# LeakyRelu
# --------------------------------------------------------------------------------------

def check_leaky_relu(ns):
    """forward and backward against the reference on several shapes in float32 and float64
    (one layer object reused, as in a network), inputs unchanged, and backward against a
    numerical gradient in float64. Inputs are never exactly 0 (either convention is fine)."""
    code = _StudentCode(ns)
    LeakyRelu = code.lookup("LeakyRelu")
    rng = np.random.default_rng(20240601)
    layer = code.call("LeakyRelu()", LeakyRelu)
    for shape in [(4, 5), (3, 2, 4), (7,)]:
        for dtype in DTYPES:
            where = f"输入形状 {shape}，dtype {_dtype_name(dtype)}"
            x = _away_from_zero(rng, shape).astype(dtype)
            dout = rng.standard_normal(shape).astype(dtype)
            expected_layer = reference.LeakyRelu()
            expected_out = expected_layer.forward(x.copy())
            expected_dx = expected_layer.backward(dout.copy())

            x_sent = code.share(x)
            out = code.method(layer, "forward", "LeakyRelu.forward", x_sent)
            _check_unchanged(code.observe(x_sent), x, "LeakyRelu.forward", "x", where)
            out = code.get(out, "LeakyRelu.forward 的输出")
            _check_array(out, expected_out, "LeakyRelu.forward 的输出", where,
                         hint="x > 0 时输出 x，x <= 0 时输出 alpha * x。")

            dout_sent = code.share(dout)
            dx = code.method(layer, "backward", "LeakyRelu.backward", dout_sent)
            _check_unchanged(code.observe(dout_sent), dout, "LeakyRelu.backward", "dout", where)
            _check_unchanged(code.observe(x_sent), x, "LeakyRelu.backward", "x", where)
            dx = code.get(dx, "LeakyRelu.backward 返回的 dx")
            _check_array(dx, expected_dx, "LeakyRelu.backward 返回的 dx", where,
                         hint="x > 0 处梯度为 dout，x <= 0 处为 alpha * dout"
                              "（按上一次 forward 的输入 x 判断）。")

    shape = (4, 6)
    x = _away_from_zero(rng, shape)
    dout = rng.standard_normal(shape)
    layer = code.call("LeakyRelu()", LeakyRelu)
    code.method(layer, "forward", "LeakyRelu.forward", x)
    dx = code.get(code.method(layer, "backward", "LeakyRelu.backward", dout),
                  "LeakyRelu.backward 返回的 dx")

    def forward(x_):
        out = code.method(code.call("LeakyRelu()", LeakyRelu), "forward", "LeakyRelu.forward", x_)
        return code.get(out, "LeakyRelu.forward 的输出")

    dx_num = numerical_gradient_array(forward, x, dout)
    error = rel_error(dx, dx_num)
    if not error < GRADCHECK_TOL["layer"]:
        raise AssertionError(f"LeakyRelu.backward 的 dx 与数值梯度不一致（输入形状 {shape}，float64；"
                             f"相对误差 {error:.3g}）。")


# --------------------------------------------------------------------------------------
# Affine
# --------------------------------------------------------------------------------------

def check_affine(ns):
    """forward (out), backward (dx, dW, db) against the reference for 2-D and 3-D inputs in
    float32 and float64, inputs (x, W, b, dout) unchanged, and dx, dW, db against numerical
    gradients in float64."""
    code = _StudentCode(ns)
    Affine = code.lookup("Affine")
    rng = np.random.default_rng(20240602)
    # (x shape, M): D != M and N != M, so that a transposed dW or a sum over the wrong
    # axis changes the shape.
    for x_shape, M in [((5, 4), 3), ((3, 2, 2), 5), ((1, 6), 2)]:
        D = int(np.prod(x_shape[1:]))
        for dtype in DTYPES:
            where = (f"x 形状 {x_shape}，W 形状 {(D, M)}，b 形状 {(M,)}，"
                     f"dtype {_dtype_name(dtype)}")
            x = rng.standard_normal(x_shape).astype(dtype)
            W = rng.standard_normal((D, M)).astype(dtype)
            b = rng.standard_normal(M).astype(dtype)
            dout = rng.standard_normal((x_shape[0], M)).astype(dtype)
            expected_layer = reference.Affine(W.copy(), b.copy())
            expected_out = expected_layer.forward(x.copy())
            expected_dx = expected_layer.backward(dout.copy())

            inputs = {"x": x, "W": W, "b": b}
            sent = {name: code.share(a) for name, a in inputs.items()}
            layer = code.call("Affine(W, b)", Affine, sent["W"], sent["b"])
            out = code.method(layer, "forward", "Affine.forward", sent["x"])
            for name, a in inputs.items():
                _check_unchanged(code.observe(sent[name]), a, "Affine.forward", name, where)
            _check_array(code.get(out, "Affine.forward 的输出"), expected_out, "Affine.forward 的输出", where)

            inputs["dout"] = dout
            sent["dout"] = code.share(dout)
            dx = code.method(layer, "backward", "Affine.backward", sent["dout"])
            for name, a in inputs.items():
                _check_unchanged(code.observe(sent[name]), a, "Affine.backward", name, where)
            dx = code.get(dx, "Affine.backward 返回的 dx")
            _check_array(dx, expected_dx, "Affine.backward 返回的 dx", where,
                         shape_hint="dx 的形状应与 forward 的输入 x 相同。")
            _check_array(code.get(code.attr(layer, "dW", "Affine"), "Affine.dW"), expected_layer.dW,
                         "Affine.backward 之后的 dW", where, shape_hint="dW 的形状应与 W 相同。")
            _check_array(code.get(code.attr(layer, "db", "Affine"), "Affine.db"), expected_layer.db,
                         "Affine.backward 之后的 db", where,
                         shape_hint="db 的形状应与 b 相同（对 batch 维求和）。")

    for x_shape, M in [((4, 5), 3), ((2, 3, 2), 4)]:
        _check_affine_numerically(code, Affine, rng, x_shape, M)


def _check_affine_numerically(code, Affine, rng, x_shape, M):
    D = int(np.prod(x_shape[1:]))
    x = rng.standard_normal(x_shape)
    W = rng.standard_normal((D, M))
    b = rng.standard_normal(M)
    dout = rng.standard_normal((x_shape[0], M))
    where = f"x 形状 {x_shape}，W 形状 {(D, M)}，float64"

    def out(x_, W_, b_):
        layer = code.call("Affine(W, b)", Affine, W_, b_)
        return code.get(code.method(layer, "forward", "Affine.forward", x_), "Affine.forward 的输出")

    layer = code.call("Affine(W, b)", Affine, W, b)
    code.method(layer, "forward", "Affine.forward", x)
    analytic = {"dx": code.get(code.method(layer, "backward", "Affine.backward", dout),
                               "Affine.backward 返回的 dx"),
                "dW": code.get(code.attr(layer, "dW", "Affine"), "Affine.dW"),
                "db": code.get(code.attr(layer, "db", "Affine"), "Affine.db")}
    numeric = {"dx": numerical_gradient_array(lambda x_: out(x_, W, b), x, dout),
               "dW": numerical_gradient_array(lambda W_: out(x, W_, b), W, dout),
               "db": numerical_gradient_array(lambda b_: out(x, W, b_), b, dout)}
    for name, grad in analytic.items():
        if np.shape(grad) != numeric[name].shape:
            raise AssertionError(f"Affine.backward 的 {name} 形状应为 {numeric[name].shape}，"
                                 f"实际为 {np.shape(grad)}（{where}）。")
        error = rel_error(grad, numeric[name])
        if not error < GRADCHECK_TOL["layer"]:
            raise AssertionError(f"Affine.backward 的 {name} 与数值梯度不一致（{where}；"
                                 f"相对误差 {error:.3g}）。")


# --------------------------------------------------------------------------------------
# ThreeLayerNet
# --------------------------------------------------------------------------------------

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


def _copy_into_reference(student_params, sizes, dtype, call):
    """A reference ThreeLayerNet whose parameters equal the student's (copied, after
    checking keys, shapes and dtypes)."""
    if not isinstance(student_params, Mapping):
        raise AssertionError(f"{call} 的 params 应该是字典，实际为 {type(student_params).__name__}。")
    net = reference.ThreeLayerNet(*sizes, dtype=dtype)
    if set(student_params) != set(net.params):
        raise AssertionError(f"{call} 的 params 的键应为 {sorted(net.params)}，"
                             f"实际为 {sorted(student_params)}。")
    for key, value in net.params.items():
        got = student_params[key]
        if not isinstance(got, np.ndarray) or got.shape != value.shape or got.dtype != value.dtype:
            raise AssertionError(
                f"{call} 的 params['{key}'] 应为形状 {value.shape}、dtype {_dtype_name(dtype)} 的数组，"
                f"实际为 {getattr(got, 'shape', type(got).__name__)}、"
                f"{_dtype_name(got.dtype) if isinstance(got, np.ndarray) else '-'}"
                f"（ThreeLayerNet 用 initialize_parameters 初始化参数）。")
        value[...] = got
    return net


def check_network(ns):
    """The student's ThreeLayerNet (with their layers) at its own initial parameters, copied
    into a reference network: predict, loss (one-hot and index labels), gradient (against the
    reference's analytic gradient and a numerical gradient of the exact cross-entropy),
    lastLayer.loss, float32 kept, accuracy; then params updated in place (as an optimizer
    does) must change predict as they change the reference's."""
    code = _StudentCode(ns)
    ThreeLayerNet = code.lookup("ThreeLayerNet")
    rng = np.random.default_rng(20240603)
    sizes, n = (7, 6, 4), 5
    for dtype in DTYPES:
        kwargs = {"weight_init_std": 0.5, "dtype": dtype}
        call = _call_text("ThreeLayerNet", sizes, kwargs)
        net = code.call(call, ThreeLayerNet, *sizes, **kwargs)
        params = code.attr(net, "params", "ThreeLayerNet")
        expected_net = _copy_into_reference(code.get(params, f"{call} 的 params"), sizes, dtype, call)

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
        _check_network_outputs(code, net, expected_net, x, labels, y_one_hot, where)
        if dtype == np.float64:
            _check_network_numerically(code, net, expected_net, x, labels, where)
        _check_shared_params(code, net, params, expected_net, x, rng, sizes, call)


def _check_shared_params(code, net, params, expected_net, x, rng, sizes, call):
    """The optimizers update params in place; the Affine layers must see that, i.e. hold
    the very arrays of params. In the student's world, params[key] -= delta for one key
    after another; after each, predict must equal that of a reference network whose
    parameters changed the same way. Runs last: it changes the student's network."""
    dtype = x.dtype
    updated = _copy_into_reference(expected_net.params, sizes, dtype, call)
    for key in reference.PARAM_KEYS:
        delta = (0.1 * rng.standard_normal(updated.params[key].shape)).astype(dtype)
        array = code.item(params, key, f"ThreeLayerNet.params['{key}']")
        code.call(f"ThreeLayerNet.params['{key}'] -= delta",
                  code.attr(array, "__isub__", f"ThreeLayerNet.params['{key}']"), delta)
        updated.params[key] -= delta  # the reference's layers hold these arrays
        scores = code.get(code.method(net, "predict", "ThreeLayerNet.predict", x),
                          "ThreeLayerNet.predict 的输出")
        expected = updated.predict(x)
        if (not isinstance(scores, np.ndarray) or scores.shape != expected.shape
                or _max_error(scores, expected, RTOL[dtype]) is not None):
            i = key[1:]
            raise AssertionError(
                f"{call}：原地更新 params['{key}']（params['{key}'] -= delta，"
                f"优化器就是这样更新参数的）之后，predict 的输出没有随之改变（x 形状 {x.shape}）："
                f"layers['Affine{i}'].{key[0]} 应该就是 params['{key}'] 这个数组本身，"
                f"而不是它的副本或另一个数组，否则这一层看不到参数的原地更新。")


def _check_network_outputs(code, net, expected_net, x, labels, y_one_hot, where):
    rtol = RTOL[x.dtype]
    x_sent = code.share(x)
    scores = code.method(net, "predict", "ThreeLayerNet.predict", x_sent)
    _check_unchanged(code.observe(x_sent), x, "ThreeLayerNet.predict", "x", where)
    scores = code.get(scores, "ThreeLayerNet.predict 的输出")
    predict_hint = "predict 应依次调用 self.layers 中每一层的 forward，返回 softmax 之前的得分。"
    _check_array(scores, expected_net.predict(x), "ThreeLayerNet.predict 的输出", where,
                 hint=predict_hint, shape_hint=predict_hint)

    for y, kind in ((y_one_hot, "one-hot 标签"), (labels, "类别索引标签")):
        expected_loss = float(expected_net.loss(x, y))
        loss = code.get(code.method(net, "loss", "ThreeLayerNet.loss", x, y), "ThreeLayerNet.loss 的返回值")
        _check_scalar(loss, expected_loss, "ThreeLayerNet.loss", f"{where}，{kind}", rtol * 10)
        last_loss = code.get(code.attr(code.attr(net, "lastLayer", "ThreeLayerNet"), "loss", "SoftmaxWithLoss"),
                             "lastLayer.loss")
        if last_loss is None or np.ndim(last_loss) != 0 or not float(last_loss) == float(loss):
            raise AssertionError(f"ThreeLayerNet.loss 应通过 self.lastLayer.forward 计算损失"
                                 f"（之后 lastLayer.loss 应等于返回的损失；{where}，{kind}）："
                                 f"gradient 的反向传播要用到 lastLayer 在前向时保存的结果。")

    grads = code.get(code.method(net, "gradient", "ThreeLayerNet.gradient", x, y_one_hot),
                     "ThreeLayerNet.gradient 的返回值")
    expected_grads = expected_net.gradient(x, y_one_hot)
    gwhere = f"{where}，one-hot 标签"
    last_layer = code.attr(net, "lastLayer", "ThreeLayerNet")
    _check_scalar(code.get(code.attr(last_layer, "loss", "SoftmaxWithLoss"), "lastLayer.loss"),
                  float(expected_net.lastLayer.loss),
                  "ThreeLayerNet.gradient 之后的 lastLayer.loss", gwhere, rtol * 10)
    if not isinstance(grads, Mapping) or set(grads) != set(expected_grads):
        raise AssertionError(f"ThreeLayerNet.gradient 应返回与 params 同键的字典（{gwhere}）。")
    for key in reference.PARAM_KEYS:
        # float32 backpropagation through three layers: allow a little more rounding.
        _check_array(grads[key], expected_grads[key], f"ThreeLayerNet.gradient 的 {key}", gwhere,
                     rtol=rtol * 10, hint="gradient 依次调用各层的 backward：请先确认 LeakyRelu "
                                          "和 Affine 的测试都已通过。")

    expected_scores = expected_net.predict(x)
    wrong = labels.copy()
    wrong[:2] = (np.argmax(expected_scores[:2], axis=1) + 1) % y_one_hot.shape[1]
    wrong[2:] = np.argmax(expected_scores[2:], axis=1)
    expected_accuracy = (len(wrong) - 2) / len(wrong)
    for y, kind in ((wrong, "类别索引标签"), (np.eye(y_one_hot.shape[1], dtype=x.dtype)[wrong], "one-hot 标签")):
        accuracy = code.get(code.method(net, "accuracy", "ThreeLayerNet.accuracy", x, y),
                            "ThreeLayerNet.accuracy 的返回值")
        _check_scalar(accuracy, expected_accuracy, "ThreeLayerNet.accuracy", f"{where}，{kind}", 1e-12)


def _check_network_numerically(code, net, expected_net, x, labels, where):
    """The student's gradient against a numerical gradient of the exact cross-entropy,
    evaluated on the reference network that holds the student's parameters (the student's
    predict equals the reference's there, as checked before)."""
    grads = code.get(code.method(net, "gradient", "ThreeLayerNet.gradient", x, labels),
                     "ThreeLayerNet.gradient 的返回值")
    if not isinstance(grads, Mapping) or set(grads) != set(expected_net.params):
        raise AssertionError(f"ThreeLayerNet.gradient 应返回与 params 同键的字典（{where}，类别索引标签）。")
    for key, param in expected_net.params.items():
        numeric = numerical_gradient(lambda _: _exact_cross_entropy(expected_net.predict(x), labels), param)
        error = rel_error(grads[key], numeric)
        if not error < GRADCHECK_TOL["network"]:
            raise AssertionError(f"ThreeLayerNet.gradient 的 {key} 与数值梯度不一致"
                                 f"（{where}，类别索引标签；相对误差 {error:.3g}）。")


# --------------------------------------------------------------------------------------
# Optimizers
# --------------------------------------------------------------------------------------

# Parameters of several keys and shapes, like a small network's.
_PARAM_SHAPES = {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}
# Gradient magnitudes, fixed per element across steps: tiny ones show where epsilon sits.
_GRAD_SCALES = (1e-4, 1e-2, 1.0, 10.0)


def _first_moment(g_max, lr):
    return g_max


def _lr_first_moment(g_max, lr):
    return lr * g_max


def _second_moment(g_max, lr):
    return g_max * g_max


class _OptimizerSpec:
    """What check_<optimizer> needs to know about one optimizer."""

    def __init__(self, name, hyper_params, state, hint, diagnoses=()):
        self.name = name
        self.reference = reference.OPTIMIZERS[name]
        self.hyper_params = hyper_params  # not the defaults
        self.state = state  # state attribute -> (scale of its values from max|g|, hint)
        self.has_t = name in ("Adam", "AdaBelief")
        self.hint = hint  # common causes of wrong parameters
        # (message, fn(reference optimizer after the step, key, g) -> the step taken
        # under that mistake), tried when the state is right but the parameters are not
        self.diagnoses = diagnoses


def _bias(opt, moment, beta):
    return moment / (1 - beta ** opt.t)


_ADAPTIVE_EPSILON = [
    ("epsilon 应该加在平方根的外面。",
     lambda o, k, g: o.learning_rate * g / np.sqrt(o.grads_squared[k] + o.epsilon)),
    ("分母缺少平方根。",
     lambda o, k, g: o.learning_rate * g / (o.grads_squared[k] + o.epsilon)),
]


def _adam_like_diagnoses(second):
    def no_bias(o, k, g):
        return o.learning_rate * o.v[k] / (np.sqrt(getattr(o, second)[k]) + o.epsilon)

    def eps_inside(o, k, g):
        return o.learning_rate * _bias(o, o.v[k], o.beta1) / np.sqrt(
            _bias(o, getattr(o, second)[k], o.beta2) + o.epsilon)

    def folded_lr(o, k, g):
        lr_t = o.learning_rate * np.sqrt(1 - o.beta2 ** o.t) / (1 - o.beta1 ** o.t)
        return lr_t * o.v[k] / (np.sqrt(getattr(o, second)[k]) + o.epsilon)

    return [("缺少偏差修正（bias correction）。", no_bias),
            ("epsilon 应该加在平方根的外面。", eps_inside),
            ("把偏差修正合并进学习率的写法改变了 epsilon 的作用位置，与要求的公式不等价："
             "请分别计算修正后的两个矩估计。", folded_lr)]


_OPTIMIZER_SPECS = {spec.name: spec for spec in [
    _OptimizerSpec(
        "AdaGrad", {"learning_rate": 0.05, "epsilon": 1e-3},
        {"grads_squared": (_second_moment, "grads_squared 应在每次 update 时累加 g*g，"
                                           "并在两次 update 之间保留。")},
        "请检查 epsilon 的位置和平方根。", _ADAPTIVE_EPSILON),
    _OptimizerSpec(
        "RMSprop", {"learning_rate": 0.05, "epsilon": 1e-3, "beta": 0.8},
        {"grads_squared": (_second_moment, "grads_squared 应是 g*g 的指数加权平均："
                                           "请检查 beta 与 1 - beta 的位置。")},
        "请检查 epsilon 的位置和平方根。", _ADAPTIVE_EPSILON),
    _OptimizerSpec(
        "Momentum", {"learning_rate": 0.05, "beta": 0.8},
        {"v": (_lr_first_moment, "请对照公式检查 v 的更新（学习率、beta 的位置）。")},
        "请对照公式检查参数的更新。"),
    _OptimizerSpec(
        "Nesterov", {"learning_rate": 0.05, "beta": 0.8},
        {"v": (_lr_first_moment, "请对照公式检查 v 的更新（学习率、beta 的位置）。")},
        "请对照 Nesterov 的公式检查参数的更新。",
        [("参数的更新写成了普通 Momentum 的形式，请对照 Nesterov 的公式。",
          lambda o, k, g: o.v[k])]),
    _OptimizerSpec(
        "Adam", {"learning_rate": 0.05, "epsilon": 1e-3, "beta1": 0.8, "beta2": 0.9},
        {"v": (_first_moment, "v 应是梯度的指数加权平均（系数 beta1）。"),
         "u": (_second_moment, "u 应是梯度平方的指数加权平均（系数 beta2）：请检查 beta1 与 "
                               "beta2 是否用反。")},
        "请检查偏差修正（t 从 1 开始）和 epsilon 的位置。", _adam_like_diagnoses("u")),
    _OptimizerSpec(
        "AdaBelief", {"learning_rate": 0.05, "epsilon": 1e-3, "beta1": 0.8, "beta2": 0.9},
        {"v": (_first_moment, "v 应是梯度的指数加权平均（系数 beta1）。"),
         "s": (_second_moment, "s 应是 (g - v)^2 的指数加权平均（系数 beta2），其中 v 是本次"
                               "已经更新过的 v；注意不是 g*g。")},
        "请检查偏差修正（t 从 1 开始）和 epsilon 的位置。", _adam_like_diagnoses("s")),
]}


def _optimizer_problem(rng, dtype):
    """Initial parameters (0.5 <= |p| <= 2) and OPTIMIZER_STEPS gradient dicts whose
    magnitude is fixed per element, from 1e-4 to 10."""
    params = {k: (rng.choice([-1.0, 1.0], size=s) * rng.uniform(0.5, 2.0, size=s)).astype(dtype)
              for k, s in _PARAM_SHAPES.items()}
    scales = {k: rng.choice(_GRAD_SCALES, size=s) for k, s in _PARAM_SHAPES.items()}
    grads = [{k: (rng.standard_normal(s) * scales[k]).astype(dtype) for k, s in _PARAM_SHAPES.items()}
             for _ in range(OPTIMIZER_STEPS)]
    return params, grads


def _check_optimizer(ns, name):
    spec = _OPTIMIZER_SPECS[name]
    code = _StudentCode(ns)
    cls = code.lookup(name)
    rng = np.random.default_rng(20240604)
    for dtype in DTYPES:
        for hyper_params in (spec.hyper_params, {}):
            params, grads = _optimizer_problem(rng, dtype)
            _run_optimizer(code, spec, cls, hyper_params, params, grads)


def _run_optimizer(code, spec, cls, hyper_params, params0, grads_sequence):
    """OPTIMIZER_STEPS updates of the student's optimizer and of the reference on the same
    parameters and gradients, compared after every step."""
    name = spec.name
    dtype = params0["W1"].dtype
    hp_text = ", ".join(f"{k}={v}" for k, v in hyper_params.items()) or "默认超参数"
    optimizer = code.call(_call_text(name, (), hyper_params), cls, **hyper_params)
    expected = spec.reference(**hyper_params)

    # The student's params dict; its arrays are those a network's layers would hold, and
    # their observed values after each step are the parameters graded.
    params_sent = code.share(params0)
    params = {k: p.copy() for k, p in params0.items()}
    expected_params = {k: p.copy() for k, p in params0.items()}
    passed_grads = []  # (grads dict given to the student, the local original)
    abs_steps = {k: np.zeros(p.shape) for k, p in params0.items()}  # sum of |reference steps|
    g_max = {k: np.zeros(p.shape) for k, p in params0.items()}  # max |g| so far

    for step, grads in enumerate(grads_sequence, start=1):
        at = f"第 {step} 次 update 后；{hp_text}；参数 dtype {_dtype_name(dtype)}"
        previous = params
        before = {k: p.astype(np.float64) for k, p in params.items()}
        grads_sent = code.share(grads)
        passed_grads.append((grads_sent, grads))
        code.method(optimizer, "update", f"{name}.update", params_sent, grads_sent)
        params = code.observe(params_sent)
        given_grads = [(code.observe(given), original) for given, original in passed_grads]

        expected_before = {k: p.astype(np.float64) for k, p in expected_params.items()}
        expected.update(expected_params, {k: g.copy() for k, g in grads.items()})
        for k in _PARAM_SHAPES:
            abs_steps[k] += np.abs(expected_params[k] - expected_before[k])
            g_max[k] = np.maximum(g_max[k], np.abs(grads[k].astype(np.float64)))

        for given, original in given_grads:
            for k in original:
                _check_unchanged(given[k], original[k], f"{name}.update", f"grads['{k}']", at)
        _check_params_in_place(code, name, params_sent, params, previous, expected_params,
                               expected_before, at)
        if spec.has_t:
            t = code.get(code.attr(optimizer, "t", name), f"{name}.t")
            if np.ndim(t) != 0 or t != step:
                raise AssertionError(f"{name}.t 应为 {step}，实际为 {t}（{at}）："
                                     f"t 应从 0 开始，并在每次 update 开始时加 1。")
        for attribute in spec.state:
            _check_state(code, spec, optimizer, attribute, expected, step, g_max, at,
                         hyper_params, before, grads)
        for k in _PARAM_SHAPES:
            scale = (np.abs(expected_params[k].astype(np.float64))
                     + np.abs(params0[k].astype(np.float64)) + abs_steps[k])
            _check_param_values(spec, k, params[k], before[k], expected_params[k], scale,
                                expected, grads[k], at)


def _check_params_in_place(code, name, params_sent, observed, previous, expected_params,
                           expected_before, at):
    """The arrays the caller put into params (a network's layers hold them) must have
    changed where the reference's parameters did: observed, not asked."""
    for k in _PARAM_SHAPES:
        moved = np.any(expected_params[k].astype(np.float64) != expected_before[k])
        if not moved or not np.array_equal(observed[k], previous[k]):
            continue
        try:  # which message: asking the student's side only chooses the wording
            code.student.getitem(params_sent, k)
        except StudentError:
            raise AssertionError(f"{name}.update 删除了 params['{k}']（{at}）。") from None
        raise AssertionError(
            f"参数没有原地更新（请使用 -= ）：{name}.update 之后，传入的 params['{k}'] 这个数组没有改变"
            f"（{at}）。写成 params[key] = params[key] - ... 会让字典指向一个新数组，"
            f"而网络的各层持有原来的数组，它们看不到这次更新。")


def _state_dict(code, optimizer, attribute, name, at):
    state = code.get(code.attr(optimizer, attribute, name), f"{name}.{attribute}")
    if not isinstance(state, Mapping):
        raise AssertionError(f"{name}.{attribute} 应该是以参数名为键的字典，实际为 "
                             f"{type(state).__name__}（{at}）。")
    if set(state) != set(_PARAM_SHAPES):
        raise AssertionError(f"{name}.{attribute} 的键应与 params 相同：{sorted(_PARAM_SHAPES)}，"
                             f"实际为 {sorted(state)}（{at}）。")
    return state


def _check_state(code, spec, optimizer, attribute, expected, step, g_max, at, hyper_params,
                 before, grads):
    """The student's state dict after this step against the reference's; the scale of the
    rounding errors grows with the gradients' magnitude (sums of terms of either sign)."""
    name = spec.name
    scale_of, hint = spec.state[attribute]
    state = _state_dict(code, optimizer, attribute, name, at)
    want = getattr(expected, attribute)
    for k in _PARAM_SHAPES:
        value = state[k]
        if not isinstance(value, np.ndarray) or value.shape != want[k].shape:
            raise AssertionError(f"{name}.{attribute}['{k}'] 应为形状 {want[k].shape} 的数组，"
                                 f"实际为 {getattr(value, 'shape', type(value).__name__)}（{at}）。")
        scale = np.abs(want[k].astype(np.float64)) + step * scale_of(g_max[k], expected.learning_rate)
        error = _max_error(value, want[k], RTOL[want[k].dtype], scale)
        if error is None:
            continue
        if step > 1:
            # Would a new optimizer, making its first update now, hold this state?
            fresh = spec.reference(**hyper_params)
            fresh.update({key: p.astype(want[key].dtype) for key, p in before.items()},
                         {key: g.copy() for key, g in grads.items()})
            fresh_state = getattr(fresh, attribute)
            if all(_max_error(state[key], fresh_state[key], 1e-4) is None for key in fresh_state):
                raise AssertionError(f"状态没有在两次 update 之间保留：{name}.{attribute} 在第 {step} "
                                     f"次 update 后的值与一个新建的优化器第一次 update 后的值相同"
                                     f"（{at}）。状态只应在第一次 update 时创建为全 0，"
                                     f"之后每次 update 都在原有的值上继续计算。")
        raise AssertionError(f"{name}.{attribute}['{k}']：数值不正确（{at}；最大绝对误差 "
                             f"{error:.3g}）。{hint}")


def _check_param_values(spec, k, got, before, want, scale, expected, g, at):
    """params[k] after the step against the reference's; when it differs, name the mistake
    if the step the student took matches a known one."""
    name = spec.name
    what = f"{name}.update 之后的 params['{k}']"
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"{what}：出现了 nan 或 inf（{at}）。"
                             + ("是否除以了 0？偏差修正中的 t 在第一次 update 时应为 1。"
                                if spec.has_t else ""))
    error = _max_error(got, want, RTOL[want.dtype], scale)
    if error is None:
        return
    taken = before - got.astype(np.float64)
    if not np.any(taken):
        raise AssertionError(f"{what}：没有改变（{at}）。参数需要原地更新（请使用 -= ）。")
    expected_step = before - want.astype(np.float64)
    diagnoses = [("更新的方向反了（符号错误）：参数应减去更新量。", lambda o, k_, g_: -expected_step)]
    for message, candidate in diagnoses + list(spec.diagnoses):
        if _max_error(taken, candidate(expected, k, g.astype(np.float64)), 1e-3) is None:
            raise AssertionError(f"{what}：数值不正确（{at}；最大绝对误差 {error:.3g}）。{message}")
    raise AssertionError(f"{what}：数值不正确（{at}；最大绝对误差 {error:.3g}）。{spec.hint}")


def check_adagrad(ns):
    """AdaGrad: 6 updates per run, compared with the reference after every step (parameters
    in place, dtype kept, grads unchanged, grads_squared), with lr 0.05 / epsilon 1e-3 and
    with the defaults, in float64 and float32."""
    _check_optimizer(ns, "AdaGrad")


def check_rmsprop(ns):
    """RMSprop: as check_adagrad, with beta 0.8 besides the defaults."""
    _check_optimizer(ns, "RMSprop")


def check_momentum(ns):
    """Momentum: as check_adagrad; state v."""
    _check_optimizer(ns, "Momentum")


def check_nesterov(ns):
    """Nesterov momentum: as check_adagrad; state v."""
    _check_optimizer(ns, "Nesterov")


def check_adam(ns):
    """Adam: as check_adagrad; states v, u and t (t == number of updates)."""
    _check_optimizer(ns, "Adam")


def check_adabelief(ns):
    """AdaBelief: as check_adagrad; states v, s and t (t == number of updates)."""
    _check_optimizer(ns, "AdaBelief")


# --------------------------------------------------------------------------------------
# What a failure shows. In the notebook a failing check is displayed, and copied into the
# feedback, as a traceback; a plain raise would show the lines of this module around it.
# Each public check therefore re-raises its failure with only its message, from a
# one-line frame named <隐藏测试> that has no source to show, and hides its own frame
# (IPython skips frames whose locals hold __tracebackhide__).
# --------------------------------------------------------------------------------------

_RAISE_FAILURE = compile("raise AssertionError(message) from cause", "<隐藏测试>", "exec")
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


def _message_only(check):
    @functools.wraps(check)
    def run(ns):
        __tracebackhide__ = True  # noqa: F841  (read by IPython)
        try:
            check(ns)
            return
        except AssertionError as failure:
            message, cause = str(failure), _student_frames_only(failure.__cause__)
        # raised outside the except clause, so the check's own traceback is not chained;
        # the student's exception, if any, stays the cause (with the student's frames only)
        exec(_RAISE_FAILURE, {"message": message, "cause": cause})
    return run


for _name in __all__:
    globals()[_name] = _message_only(globals()[_name])
del _name
