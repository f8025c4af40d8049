"""The visible tests shipped to students (source/mlp_optimizers/public_tests.py).

1. Every hard-coded expected constant equals what the reference computes from the module's
   own input constants, and the known mistakes' constants are the catalogue's.
2. Every visible test passes on the reference and on every valid alternative of the catalogue
   (autograder/catalogue.py).
3. Every mistake of the catalogue makes its part's visible test fail; a public mistake is
   named, no other one is, and the message is the student's call and the Chinese text only.
4. The file contains no solution code and does not import the instructor-only package.
"""
import ast
import re
import traceback
import warnings

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from autograder import catalogue, public_constants
from autograder import reference as R
from autograder.course import load_module, load_utils
from autograder.parts import PARTS, by_name

PUBLIC_TESTS_PATH = public_constants.PUBLIC_TESTS
pt = load_module("public_tests.py")

OPTIMIZER_NAMES = [part.name for part in PARTS.values() if part.kind == "optimizer"]


def assert_same(got, literal, dtype=np.float64):
    """The literal, read in dtype, equals the reference's result to the last few bits."""
    expected = np.asarray(literal, dtype=dtype)
    assert np.shape(got) == expected.shape
    assert np.asarray(got).dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-12 if dtype == np.float64 else 1e-7, atol=0)


# ---------------------------------------------------------------------------------------------
# 1. The hard-coded constants are the reference's results
# ---------------------------------------------------------------------------------------------

def test_initialize_parameters_constants():
    params = R.initialize_parameters(*pt.INIT_SMALL_ARGS, dtype=np.float64)
    assert {k: v.shape for k, v in params.items()} == pt.INIT_SMALL_SHAPES
    for key in ("W1", "W2", "W3"):
        np.testing.assert_array_equal(params[key], np.array(getattr(pt, "INIT_SMALL_" + key)))
    params = R.initialize_parameters(*pt.INIT_FULL_ARGS)
    assert {k: v.shape for k, v in params.items()} == pt.INIT_FULL_SHAPES
    for (key, index), value in pt.INIT_FULL_SAMPLES.items():
        assert params[key].dtype == np.float32
        assert params[key][index] == np.float32(value)


@pytest.mark.parametrize("suffix, dtype", [("", np.float64), ("_F32", np.float32)])
def test_leaky_relu_constants(suffix, dtype):
    layer = R.LeakyRelu()
    assert_same(layer.forward(np.array(getattr(pt, "LEAKY_RELU_X" + suffix), dtype)),
                getattr(pt, "LEAKY_RELU_OUT" + suffix), dtype)
    assert_same(layer.backward(np.array(getattr(pt, "LEAKY_RELU_DOUT" + suffix), dtype)),
                getattr(pt, "LEAKY_RELU_DX" + suffix), dtype)


@pytest.mark.parametrize("suffix, dtype", [("_ONES", np.float64), ("", np.float64), ("_F32", np.float32)])
def test_affine_constants(suffix, dtype):
    get = lambda name: getattr(pt, "AFFINE_" + name + suffix)  # noqa: E731
    layer = R.Affine(np.array(get("W"), dtype), np.array(get("B"), dtype))
    out = layer.forward(np.array(get("X"), dtype))
    assert_same(out, get("OUT"), dtype)
    assert_same(layer.backward(np.array(get("DOUT"), dtype)), get("DX"), dtype)
    assert_same(layer.dW, get("DW"), dtype)
    assert_same(layer.db, get("DB"), dtype)
    if suffix == "_ONES":
        assert np.sum(out) == pt.AFFINE_SUM_ONES
    if suffix == "":  # the same case with a three-dimensional input
        x = np.reshape(get("X"), pt.AFFINE_X_SHAPE_3D)
        assert_same(layer.forward(x), get("OUT"))
        assert_same(layer.backward(np.array(get("DOUT"))), np.reshape(get("DX"), pt.AFFINE_X_SHAPE_3D))


def test_network_constants():
    net = R.ThreeLayerNet(*pt.NETWORK_SIZES, weight_init_std=pt.NETWORK_WEIGHT_INIT_STD,
                          dtype=np.float64)
    x = np.array(pt.NETWORK_X)
    assert_same(net.predict(x), pt.NETWORK_SCORES)
    for labels in (pt.NETWORK_Y, pt.NETWORK_Y_ONEHOT):
        assert net.loss(x, np.array(labels)) == pytest.approx(pt.NETWORK_LOSS, rel=1e-12)
    assert_same(net.gradient(x, np.array(pt.NETWORK_Y))["b1"], pt.NETWORK_GRAD_B1)
    np.testing.assert_array_equal(np.argmax(pt.NETWORK_Y_ONEHOT, axis=1), pt.NETWORK_Y)
    for key in net.params:
        net.params[key][...] = pt.NETWORK_FILL[key[0]]
    np.testing.assert_allclose(net.predict(x), pt.NETWORK_SCORES_FILLED, rtol=1e-12)


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_optimizer_constants(name):
    case = pt.OPTIMIZER_CASES[name]
    assert case["hyper"] is getattr(pt, name.upper() + "_HYPER")
    assert case["expected"] is getattr(pt, name.upper() + "_EXPECTED")
    assert case["expected_f32"] is getattr(pt, name.upper() + "_EXPECTED_F32")
    trajectory = public_constants.trajectory(R.OPTIMIZERS[name], case["hyper"], pt.OPT_PARAMS0, pt.OPT_GRADS)
    assert len(case["expected"]) == 3
    for got, want in zip(trajectory, case["expected"]):
        for key in ("W", "b"):
            assert_same(got[key], want[key])
    part = by_name(name)
    optimizer = R.OPTIMIZERS[name]()
    optimizer.update({"W": np.zeros(2)}, {"W": np.ones(2)})
    assert tuple(a for a in part.state if a != "t") == case["state"]
    assert all(isinstance(getattr(optimizer, attr), dict) for attr in case["state"])
    assert hasattr(optimizer, "t") == case["counter"] == ("t" in part.state)
    trajectory32 = public_constants.trajectory(R.OPTIMIZERS[name], {}, pt.OPT_PARAMS0, pt.OPT_GRADS[:2],
                                               np.float32)
    assert len(case["expected_f32"]) == 2
    for got, want in zip(trajectory32, case["expected_f32"]):
        for key in ("W", "b"):
            assert_same(got[key], want[key], np.float32)


def test_the_known_mistakes_are_the_catalogues():
    """The constants that name a mistake are what the catalogue's public mistakes compute,
    exactly as `python -m autograder.public_constants` prints them."""
    block = public_constants.render(public_constants.known_mistakes(pt))
    assert block in PUBLIC_TESTS_PATH.read_text(encoding="utf-8")
    titles = {m["title"] for mistakes in pt.KNOWN_MISTAKES.values() for m in mistakes}
    assert {"每次 update 都重置了状态", "更新的方向反了", "t 在第一次 update 时为 0"} <= titles


def test_the_optimizer_cases_use_non_default_hyper_parameters():
    for name in OPTIMIZER_NAMES:
        defaults = R.OPTIMIZERS[name]().__dict__
        hyper = pt.OPTIMIZER_CASES[name]["hyper"]
        assert all(defaults[k] != v for k, v in hyper.items()), name
    # a large epsilon makes its placement visible; distinct betas make a swap visible
    assert pt.ADAM_HYPER["beta1"] != pt.ADAM_HYPER["beta2"]
    assert pt.ADAGRAD_HYPER["epsilon"] >= 1e-3


# ---------------------------------------------------------------------------------------------
# 2. The visible tests pass on the reference and on valid alternatives
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("part", PARTS.values(), ids=list(PARTS))
def test_public_test_passes_on_the_reference(part, capsys):
    getattr(pt, part.grade_id)(getattr(R, part.name))
    assert capsys.readouterr().out == f"{part.grade_id}：全部通过 ✓\n"


def test_every_graded_cell_has_a_public_test():
    assert set(PARTS) == {n for n in dir(pt) if n.startswith("test_")}
    assert {n for n in dir(pt) if n.startswith("check_")} == {"check_gradients", "check_overfit"}


@pytest.mark.parametrize("entry", catalogue.entries(valid=True), ids=lambda e: e.id)
def test_public_test_accepts_every_valid_alternative(entry, capsys):
    getattr(pt, entry.part)(entry.namespace()[entry.name])
    assert capsys.readouterr().out == f"{entry.part}：全部通过 ✓\n"


# ---------------------------------------------------------------------------------------------
# 3. Every known mistake fails its visible test, with a message that says what is wrong
# ---------------------------------------------------------------------------------------------

# What the message must say, for the mistakes whose cause the visible test can tell.
PHRASES = {
    "init_w3_transposed": "params['W3'] 的形状不对",
    "init_bias_random": "params['b2'] 应全为 0",
    "init_not_scaled": "再乘以参数 weight_init_std",
    "init_ignores_dtype": "params['W2'] 的 dtype 不对：期望 float32",
    "init_w3_before_w2": "按 W1、W2、W3 的顺序",
    "init_seeds_every_draw": "不要再次调用 np.random.seed",
    "leaky_backward_slope_zero": "x <= 0 处却是 0（写成了 ReLU）",
    "leaky_forward_relu": "x <= 0 处却是 0（写成了 ReLU）",
    "leaky_backward_alpha_on_positive": "把 alpha 乘在了 x > 0 的一侧",
    "leaky_mask_inverted": "把 alpha 乘在了 x > 0 的一侧",
    "leaky_backward_modifies_dout": "dout 被修改了",
    "leaky_forward_modifies_x": "输入 x 被修改了",
    "leaky_forward_float64": "dtype 不对：期望 float32，得到 float64",
    "affine_no_bias": "少加了偏置 b",
    "affine_no_reshape": "（x 的形状为 (2, 1, 2)） 的形状不对：期望 (2, 3)，得到 (2, 1, 3)",
    "affine_db_axis1": "self.db（W、b、x 全为 1） 的形状不对：期望 (3,)，得到 (1,)",
    "affine_db_not_summed": "self.db（W、b、x 全为 1） 的形状不对：期望 (3,)，得到 (1, 3)",
    "affine_db_mean": "沿 batch 维（axis=0）求和",
    "affine_dW_transposed": "self.dW（W、b、x 全为 1） 的形状不对：期望 (2, 3)，得到 (3, 2)",
    "affine_dx_not_reshaped": "dx（x 的形状为 (2, 1, 2)） 的形状不对：期望 (2, 1, 2)，得到 (2, 2)",
    "network_predict_applies_softmax": "softmax 之前的得分",
    "network_loss_softmax_twice": "不要自己再做一次 softmax",
    "network_loss_without_last_layer": "self.lastLayer.forward",
    "network_predict_skips_last_layer": "predict(x) 的形状不对：期望 (2, 3)，得到 (2, 5)",
    "network_predict_skips_activations": "依次传过 self.layers 中的每一层",
    "network_layer_copies_param": "各层应直接使用 self.params 中的数组（不要复制）",
    "adagrad_epsilon_inside_sqrt": "epsilon 加在 sqrt 外面",
    "rmsprop_sum": "beta 乘旧的 u",
    "momentum_modifies_grads": "grads['W'] 被修改了",
    "nesterov_as_momentum": "不是 Momentum 的 p -= v",
    "adam_epsilon_inside_sqrt": "epsilon 加在 sqrt(修正后的 u) 外面",
    "adam_betas_swapped": "v 用 beta1、u 用 beta2",
    "adabelief_old_v": "用更新后的 v 计算",
    "adabelief_is_adam": "不是 Adam 的 g*g",
    **{f"{name.lower()}_out_of_place": "参数没有原地更新" for name in OPTIMIZER_NAMES},
}


def _failure(entry, capsys):
    """The AssertionError the entry's part's visible test raises on the entry's code."""
    with pytest.raises(AssertionError) as info, np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(pt, entry.part)(entry.namespace()[entry.name])
    assert "全部通过" not in capsys.readouterr().out
    return info


@pytest.mark.parametrize("entry", catalogue.entries(valid=False), ids=lambda e: e.id)
def test_each_known_mistake_fails_its_visible_test_with_a_message_that_says_why(entry, capsys):
    message = str(_failure(entry, capsys).value)
    assert PHRASES.get(entry.id, "") in message, message
    named = f"「{entry.title}」" in message
    known = any(m["title"] == entry.title for m in pt.KNOWN_MISTAKES.get(entry.name, ()))
    assert named == (entry.public and known), "only public mistakes are named, and each of them is"
    if named:
        kind = "一种已发表的写法" if entry.variant else "一个常见错误"
        assert message.split("提示：")[1].startswith(f"你的结果与{kind}相同"), "the diagnosis comes first"


RENAMED_STATE = """
class Adam:
    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta1=0.9, beta2=0.999):
        self.lr, self.eps, self.b1, self.b2 = learning_rate, epsilon, beta1, beta2
        self.iter, self.m, self.s = 0, {}, {}

    def update(self, params, grads):
        self.iter += 1
        for key in params:
            g = 1.01 * grads[key]  # a mistake no entry describes
            self.m[key] = self.b1 * self.m.get(key, 0) + (1 - self.b1) * g
            self.s[key] = self.b2 * self.s.get(key, 0) + (1 - self.b2) * g * g
            m_hat, s_hat = self.m[key] / (1 - self.b1 ** self.iter), self.s[key] / (1 - self.b2 ** self.iter)
            params[key] -= self.lr * m_hat / (np.sqrt(s_hat) + self.eps)
"""


def test_state_under_other_names_is_said_not_found_never_none(capsys):
    ns = {"np": np}
    exec(RENAMED_STATE, ns)
    with pytest.raises(AssertionError) as info:
        pt.test_adam(ns["Adam"])
    message = str(info.value)
    assert "没有找到 self.v、self.u、self.t（如果你用别的名字保存它们，可以忽略这一条）" in message
    assert "None" not in message


def test_the_phrases_belong_to_known_mistakes():
    assert set(PHRASES) <= {entry.id for entry in catalogue.entries(valid=False)}


def test_a_failure_shows_the_message_without_the_tests_internals(capsys):
    info = _failure(catalogue.get("momentum_state_reset"), capsys)
    frames = traceback.extract_tb(info.value.__traceback__)
    inside = [f for f in frames if f.filename == str(PUBLIC_TESTS_PATH)]
    assert [f.name for f in inside] == ["run"], "one frame of the visible tests, none of its helpers"
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_failure_in_a_notebook_shows_the_call_and_the_message(tmp_path):
    """In a real kernel: the traceback is the student's cell and the Chinese message."""
    (tmp_path / "public_tests.py").write_text(PUBLIC_TESTS_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nimport public_tests"),
        nbformat.v4.new_code_cell(catalogue.get("momentum_state_reset").source),
        nbformat.v4.new_code_cell("public_tests.test_momentum(Momentum)")])
    NotebookClient(notebook, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    error = notebook.cells[2].outputs[0]
    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.traceback))
    assert error.ename == "AssertionError"
    assert "public_tests.test_momentum(Momentum)" in shown
    assert "「每次 update 都重置了状态」" in shown
    assert "public_tests.py" not in shown, "no frame of the visible tests"
    for internal in ("_run_optimizer", "_check_array", "_named_mistake", "_with_hint"):
        assert internal not in shown, shown


def test_the_visible_tests_hold_the_checks_relation_fitting_code():
    """The relations block of public_tests.py is relation_fit.py's body (refresh it with
    `python -m autograder.public_constants relations`)."""
    source = PUBLIC_TESTS_PATH.read_text(encoding="utf-8")
    start = source.index(public_constants.RELATIONS_BEGIN)
    end = source.index(public_constants.RELATIONS_END) + len(public_constants.RELATIONS_END)
    assert source[start:end] == public_constants.relations_block()


LEAKY_IGNORES_DOUT = """
class LeakyRelu:
    def __init__(self):
        self.alpha = 0.1

    def forward(self, x):
        self.mask = x <= 0
        return np.where(self.mask, self.alpha * x, x)

    def backward(self, dout):
        return np.where(self.mask, self.alpha, 1)
"""

AFFINE_DW_OVER_BATCH = """
class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.shape = x.shape
        self.x = x.reshape(len(x), -1)
        return self.x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout / len(dout)
        self.db = dout.sum(axis=0)
        return (dout @ self.W.T).reshape(self.shape)
"""


def _defined(source, name):
    ns = {"np": np}
    exec(source, ns)
    return ns[name]


def test_a_backward_that_ignores_dout_is_named_before_its_dtype(capsys):
    """Found in JupyterLab: np.where(mask, alpha, 1) passed with dout of ones, then failed on dtype."""
    with pytest.raises(AssertionError) as info:
        pt.test_leaky_relu(_defined(LEAKY_IGNORES_DOUT, "LeakyRelu"))
    message = str(info.value)
    assert "backward(dout) 的输出 dx[0, 0] 的数值不对" in message and "dtype" not in message
    assert message.split("提示：")[1].startswith("与正确结果对照：它恰好是正确值除以 dout")


def test_a_layer_mistake_is_named_by_its_relation_from_the_tests_own_inputs(capsys):
    with pytest.raises(AssertionError) as info:
        pt.test_affine(_defined(AFFINE_DW_OVER_BATCH, "Affine"))
    message = str(info.value)
    assert "self.dW" in message and "恰好是正确值的 1/N 倍" in message and "不要除以批大小" in message


def test_adam_without_bias_correction_is_named_by_the_visible_test(capsys):
    message = str(_failure(catalogue.get("adam_no_bias_correction"), capsys).value)
    assert "「缺少偏差修正」" in message


def test_values_are_compared_before_the_dtype(capsys):
    """A right answer in the wrong dtype says the values are right."""
    class Float64Out(R.LeakyRelu):
        def forward(self, x):
            return super().forward(x).astype(np.float64)
    with pytest.raises(AssertionError) as info:
        pt.test_leaky_relu(Float64Out)
    assert "数值正确，但 dtype 不对：期望 float32，得到 float64" in str(info.value)


def test_a_stub_raises_its_own_exception():
    class Stub(R.Affine):
        def forward(self, x):
            raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        pt.test_affine(Stub)


# ---------------------------------------------------------------------------------------------
# 4. What students receive holds no solution and needs nothing of the instructor's
# ---------------------------------------------------------------------------------------------

def test_public_tests_contain_no_solution_and_no_autograder():
    source = PUBLIC_TESTS_PATH.read_text(encoding="utf-8")
    assert "autograder" not in source
    assert "BEGIN SOLUTION" not in source
    assert "reference" not in source.lower()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported == {"functools", "linecache", "sys", "dataclasses", "numpy"}


def test_public_tests_leave_the_caller_alone():
    """Running a visible test neither changes numpy's print options nor needs any global state."""
    options = np.get_printoptions()
    pt.test_network(R.ThreeLayerNet)
    pt.test_adam(R.Adam)
    assert np.get_printoptions() == options


# ---------------------------------------------------------------------------------------------
# 5. The two checks that score nothing: the gradient check and memorising 50 samples
# ---------------------------------------------------------------------------------------------

def _gradient_check_inputs(net_class=R.ThreeLayerNet):
    utils = load_utils()
    net = net_class(6, 5, 3, weight_init_std=1.0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((4, 6))
    y = np.array([0, 2, 1, 2])
    analytic = {key: value.copy() for key, value in net.gradient(x, y).items()}

    def exact_loss():  # as in the notebook: the cross-entropy without the 1e-7 in the log
        pred = R.softmax(net.predict(x))
        return -np.mean(np.log(pred[np.arange(len(y)), y]))

    numerical = utils.numerical_gradient(exact_loss, net.params)
    return analytic, numerical


def test_the_gradient_check_passes_on_the_notebook_sized_example(capsys):
    analytic, numerical = _gradient_check_inputs()
    assert max(load_utils().rel_error(analytic[k], numerical[k]) for k in analytic) < 1e-7
    pt.check_gradients(analytic, numerical)
    assert capsys.readouterr().out == "check_gradients：全部通过 ✓\n"


def test_the_gradient_check_names_the_wrong_gradient():
    class WrongDb(R.Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.db = self.db * 2
            return dx

    class Net(R.ThreeLayerNet):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.layers["Affine2"] = WrongDb(self.params["W2"], self.params["b2"])

    analytic, numerical = _gradient_check_inputs(Net)
    with pytest.raises(AssertionError) as info:
        pt.check_gradients(analytic, numerical)
    assert "grads['" in str(info.value) and "梯度检查没有通过" in str(info.value)


def test_numerical_gradient_restores_the_parameters():
    utils = load_utils()
    params = {"w": np.array([1.0, -2.0, 0.5])}
    before = params["w"].copy()
    grad = utils.numerical_gradient(lambda: float(np.sum(params["w"] ** 3)), params)
    np.testing.assert_allclose(grad["w"], 3 * before ** 2, rtol=1e-8)
    assert np.array_equal(params["w"], before)


@pytest.mark.slow
def test_fifty_samples_are_memorised_by_the_reference_and_not_by_a_broken_update(capsys):
    from autograder.course import load_data
    (x_train, y_train), _ = load_data()
    x, y = x_train[:50], y_train[:50]
    history = R.train_network(R.ThreeLayerNet(784, 300, 10), R.SGD(0.1), x, y, x, y,
                              iters_num=OVERFIT_ITERS, batch_size=50, verbose=False)
    pt.check_overfit(history)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("训练准确率：1.00，损失：") and printed[1:] == ["check_overfit：全部通过 ✓"]

    class OutOfPlaceSGD(R.SGD):
        def update(self, params, grads):
            for key in params:
                params[key] = params[key] - self.learning_rate * grads[key]

    history = R.train_network(R.ThreeLayerNet(784, 300, 10), OutOfPlaceSGD(0.1), x, y, x, y,
                              iters_num=OVERFIT_ITERS, batch_size=50, verbose=False)
    with pytest.raises(AssertionError, match="没有记住"):
        pt.check_overfit(history)


def _overfit_iters():
    import json
    notebook = json.loads((PUBLIC_TESTS_PATH.parent / "mlp_optimizers.ipynb").read_text(encoding="utf-8"))
    source = next("".join(c["source"]) for c in notebook["cells"] if "check_overfit" in "".join(c["source"]))
    return int(re.search(r"iters_num=(\d+)", source).group(1))


OVERFIT_ITERS = _overfit_iters()


# ---------------------------------------------------------------------------------------------
# 6. The plots compare: Momentum and Nesterov look different, the zoom shows tenths of a percent
# ---------------------------------------------------------------------------------------------

def test_the_comparison_plot_tells_close_optimizers_apart():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    utils = load_utils()
    momentum, nesterov = utils.STYLES["Momentum"], utils.STYLES["Nesterov"]
    assert momentum["linestyle"] != nesterov["linestyle"] and momentum["marker"] != nesterov["marker"]
    evals = list(range(0, 10000, 600))
    finals = {"SGD": 0.9778, "RMSprop": 0.9800, "Adam": 0.9808, "Momentum": 0.9129, "Nesterov": 0.9128}
    histories = {name: {"train_loss": list(np.linspace(2.3, 0.05, 10000)), "eval_iter": evals,
                        "test_acc": list(np.linspace(0.1, final, len(evals)))} for name, final in finals.items()}
    fig = utils.plot_histories(histories)
    loss, accuracy, zoom = fig.axes
    low, high = zoom.get_ylim()
    assert high - low < 0.02 and low < 0.9778 < 0.9808 < high, "the zoom shows the best three apart"
    assert accuracy.get_ylim()[1] - accuracy.get_ylim()[0] > 0.1
    labels = [text.get_text() for text in zoom.texts]
    assert {"0.9808 Adam", "0.9800 RMSprop", "0.9778 SGD"} <= set(labels)
    positions = sorted(text.get_position()[1] for text in zoom.texts)
    assert all(b - a > 0 for a, b in zip(positions, positions[1:])), "labels do not overlap"
    lines = {line.get_label(): line for line in accuracy.get_lines()}
    assert lines["Momentum"].get_linestyle() != lines["Nesterov"].get_linestyle()
    plt.close(fig)
    fig = utils.plot_final_accuracy(finals)
    assert fig.axes[0].get_xlim()[0] > 0.85
    plt.close(fig)


def test_a_rising_loss_is_reported_as_rising_with_the_number_printed(capsys):
    losses = [2.303] * 10 + [13.0 + 0.2 * i for i in range(10)]      # the last 10 average 13.9
    with pytest.raises(AssertionError) as failure:
        pt.check_overfit({"train_loss": losses, "train_acc": [0.1, 0.12]})
    printed = capsys.readouterr().out
    assert "2.303 -> 13.9000" in printed
    assert "没有下降，反而升到 13.9000" in str(failure.value) and "降到" not in str(failure.value).replace("没有下降", "")


def test_a_failure_prints_the_arrays_to_ten_decimals(capsys):
    """Float64 values that differ past the eighth digit (a float32 step in a float64 test) must
    show that they differ."""
    message = str(_failure(catalogue.get("adam_no_bias_correction"), capsys).value)
    printed = message.split("期望的", 1)[1].split("你的", 1)[0]
    digits = [len(m.group(1).lstrip("0")) for m in re.finditer(r"\d\.(\d+)", printed)]
    assert digits and max(digits) >= 9, printed
