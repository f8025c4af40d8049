"""What a failing check tells the student when two catalogued edits are made at once: the message
names both (a change that drops or garbles one of the titles fails here). Direct checks, in this
process: `make mutation` runs this file."""
import numpy as np
import pytest

from autograder import catalogue, checks
from autograder.parts import PARTS

PAIRS = [("adam_folded_step", "adam_fixed_epsilon_1e7"), ("adam_no_bias_correction", "adam_fixed_epsilon_1e7")]


@pytest.mark.parametrize("seed", [None, 20261207], ids=["fixed inputs", "the verifier's seeded inputs"])
@pytest.mark.parametrize("first, second", PAIRS)
def test_two_edits_at_once_are_named_with_both_titles(first, second, seed):
    pair = catalogue.combined(catalogue.get(first), catalogue.get(second))
    with pytest.raises(checks.CheckFailure) as caught, np.errstate(all="ignore"):
        checks.check_part(pair.namespace(), PARTS[pair.part], seed)
    message = str(caught.value)
    assert caught.value.mistake == f"{first}+{second}"
    assert "同时有两处" in message
    for entry_id in (first, second):
        assert catalogue.get(entry_id).title in message, entry_id


@pytest.mark.parametrize("grade_id, key", [("test_adam", "b2"), ("test_momentum", "W1")])
def test_a_nan_in_an_updated_parameter_is_named_by_its_key(grade_id, key):
    part = PARTS[grade_id]
    ns = catalogue.namespace()
    exec(f"class Spoiled({part.name}):\n"
         f"    def update(self, params, grads):\n"
         f"        super().update(params, grads)\n"
         f"        params[{key!r}].flat[-1] = np.nan\n", ns)
    ns[part.name] = ns["Spoiled"]
    with pytest.raises(checks.CheckFailure) as caught, np.errstate(all="ignore"):
        checks.check_part(ns, part)
    message = str(caught.value)
    assert message.startswith(f"{part.name}.update 之后的 params['{key}'] 中出现 NaN 或 inf"), message
    assert "log(0)" in message and caught.value.mistake is None


def test_a_visible_test_tells_a_student_who_returns_a_list_to_return_an_array():
    from autograder import reference
    from autograder.course import load_module

    class ListRelu(reference.LeakyRelu):
        def forward(self, x):
            return super().forward(x).tolist()

    with pytest.raises(AssertionError) as caught:
        load_module("public_tests.py").test_leaky_relu(ListRelu)
    assert str(caught.value).startswith("forward(x) 的输出 应是 numpy 数组，得到 list"), str(caught.value)


@pytest.mark.parametrize("key, hint", [("b2", "偏置应初始化为全 0"), ("W2", "np.random.seed")])
def test_a_parameter_nothing_names_gets_the_hint_of_its_kind(key, hint):
    """A wrong bias is told how biases start, a wrong weight how weights are drawn (values no
    catalogue entry and no relation explain)."""
    part = PARTS["test_initialize_parameters"]
    ns = catalogue.namespace()
    exec("_initialize = initialize_parameters\n"
         "def initialize_parameters(*args, **kwargs):\n"
         "    params = _initialize(*args, **kwargs)\n"
         f"    wrong = params[{key!r}]\n"
         "    wrong.flat[:] = np.cos(np.arange(wrong.size) + 0.5)\n"
         "    return params\n", ns)
    with pytest.raises(checks.CheckFailure) as caught, np.errstate(all="ignore"):
        checks.check_part(ns, part)
    message = str(caught.value)
    assert f"返回的 {key}：" in message and hint in message and caught.value.mistake is None, message


@pytest.mark.parametrize("what, named", [("ThreeLayerNet.gradient 的 {key} ", "ThreeLayerNet.gradient"),
                                         ("LeakyRelu.backward 的 dx ", "LeakyRelu.backward 的 dx")])
def test_a_gradient_the_reference_cannot_check_numerically_is_told_against_the_reference(what, named):
    """Where even the reference's gradient misses the numerical one (tolerance), the student's is
    compared with the reference's, and a difference names the gradient and the inputs."""
    from autograder.checks.compare import first_difference
    from autograder.checks.observe import Obs, Record

    def record(gradient):
        record = Record()
        record.items.append(Obs("numeric", what, "x 形状 (5, 7)", gradient,
                                options={"numeric": {"W1": np.ones((2, 2))}, "tol": 1e-7}))
        return record

    expected = record({"W1": np.full((2, 2), 3.0)})
    assert first_difference(record({"W1": np.full((2, 2), 3.0)}), expected) is None
    fact = first_difference(record({"W1": np.full((2, 2), 4.0)}), expected)[0]
    assert fact == f"{named} 与参考实现的梯度不一致（x 形状 (5, 7)）。"
