"""The hidden checks (autograder.checks) on the reference, on typical mistakes and on valid
alternatives (tests/buggy.py): each mistake fails exactly the check of its own cell."""
import warnings

import numpy as np
import pytest

from autograder import checks, reference
from buggy import ALTERNATIVES, BUGS, reference_namespace

CHECKS = {
    "test_initialize_parameters": checks.check_initialize_parameters,
    "test_leaky_relu": checks.check_leaky_relu,
    "test_affine": checks.check_affine,
    "test_network": checks.check_network,
    "test_adagrad": checks.check_adagrad,
    "test_rmsprop": checks.check_rmsprop,
    "test_momentum": checks.check_momentum,
    "test_nesterov": checks.check_nesterov,
    "test_adam": checks.check_adam,
    "test_adabelief": checks.check_adabelief,
}

# What the failure message of some mistakes must say.
EXPECTED_MESSAGES = {
    "init_not_scaled": "weight_init_std",
    "init_ignores_dtype": "dtype",
    "init_wrong_shape": "形状",
    "init_bias_nonzero": "全 0",
    "leaky_backward_modifies_dout": "输入被修改了",
    "leaky_forward_modifies_x": "输入被修改了",
    "leaky_forward_float64": "dtype",
    "affine_db_axis1": "db 的形状",
    "affine_dW_transposed": "dW 的形状",
    "affine_no_reshape": "调用 Affine.forward 时出错",
    "net_loss_without_last_layer": "self.lastLayer.forward",
    "net_predict_skips_last_layer": "ThreeLayerNet.predict",
    "net_loss_softmax_twice": "ThreeLayerNet.loss",
    "adagrad_epsilon_inside_sqrt": "epsilon 应该加在平方根的外面",
    "adagrad_no_sqrt": "平方根",
    "adagrad_no_accumulation": "grads_squared",
    "adagrad_out_of_place": "参数没有原地更新（请使用 -= ）",
    "rmsprop_out_of_place": "参数没有原地更新（请使用 -= ）",
    "momentum_out_of_place": "参数没有原地更新（请使用 -= ）",
    "nesterov_out_of_place": "参数没有原地更新（请使用 -= ）",
    "adam_out_of_place": "参数没有原地更新（请使用 -= ）",
    "adabelief_out_of_place": "参数没有原地更新（请使用 -= ）",
    "momentum_state_not_carried": "状态没有在两次 update 之间保留",
    "nesterov_state_not_carried": "状态没有在两次 update 之间保留",
    "adam_state_not_carried": "状态没有在两次 update 之间保留",
    "adabelief_state_recreated": "状态没有在两次 update 之间保留",
    "momentum_sign_error": "符号错误",
    "momentum_v_without_lr": "Momentum.v",
    "nesterov_as_momentum": "普通 Momentum",
    "adam_no_bias_correction": "偏差修正",
    "adabelief_no_bias_correction": "偏差修正",
    "adam_t_from_zero": "nan 或 inf",
    "adam_t_not_incremented": "Adam.t 应为",
    "adam_epsilon_inside_sqrt": "epsilon 应该加在平方根的外面",
    "adam_folded_learning_rate": "不等价",
    "adam_betas_swapped": "Adam.v",
    "adabelief_is_adam": "AdaBelief.s",
    "adabelief_old_v": "AdaBelief.s",
}


@pytest.fixture(autouse=True)
def quiet_numpy():
    """Buggy variants divide by zero on purpose."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def run_all(ns):
    """grade id -> failure message, or None when the check passes."""
    results = {}
    for grade_id, check in CHECKS.items():
        try:
            check(ns)
            results[grade_id] = None
        except AssertionError as e:
            results[grade_id] = str(e)
    return results


def namespace(objects):
    ns = reference_namespace()
    ns.update(objects)
    return ns


def test_every_check_passes_on_the_reference():
    assert run_all(reference_namespace()) == {grade_id: None for grade_id in CHECKS}


def test_every_grade_id_has_bugs():
    assert {grade_id for grade_id, _ in BUGS.values()} == set(CHECKS)


@pytest.mark.parametrize("bug", BUGS)
def test_bug_fails_exactly_its_own_check(bug):
    grade_id, objects = BUGS[bug]
    results = run_all(namespace(objects))
    assert results[grade_id] is not None, f"{bug} passes {grade_id}"
    assert {g: m for g, m in results.items() if g != grade_id and m is not None} == {}
    if bug in EXPECTED_MESSAGES:
        assert EXPECTED_MESSAGES[bug] in results[grade_id]


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_valid_alternative_passes_every_check(alternative):
    assert run_all(namespace(ALTERNATIVES[alternative])) == {grade_id: None for grade_id in CHECKS}


def _raise(*args, **kwargs):
    raise NotImplementedError("请完成这里的代码")


class UnfinishedLeakyRelu(reference.LeakyRelu):
    backward = _raise


class UnfinishedAffine(reference.Affine):
    forward = _raise


class UnfinishedNet(reference.ThreeLayerNet):
    loss = _raise


class UnfinishedAdam(reference.Adam):
    update = _raise


@pytest.mark.parametrize("grade_id, objects, mentioned", [
    ("test_initialize_parameters", {"initialize_parameters": _raise}, "initialize_parameters(5, 4, 3, 0.5)"),
    ("test_leaky_relu", {"LeakyRelu": UnfinishedLeakyRelu}, "LeakyRelu.backward"),
    ("test_affine", {"Affine": UnfinishedAffine}, "Affine.forward"),
    ("test_network", {"ThreeLayerNet": UnfinishedNet}, "ThreeLayerNet.loss"),
    ("test_adam", {"Adam": UnfinishedAdam}, "Adam.update"),
])
def test_unfinished_code_fails_with_a_message_naming_it(grade_id, objects, mentioned):
    with pytest.raises(AssertionError) as failure:
        CHECKS[grade_id](namespace(objects))
    message = str(failure.value)
    assert message.startswith(f"调用 {mentioned}")
    assert "NotImplementedError" in message
    assert isinstance(failure.value.__cause__, NotImplementedError)


def test_missing_name_fails_with_a_hint():
    ns = reference_namespace()
    del ns["Nesterov"]
    with pytest.raises(AssertionError, match="没有找到 Nesterov"):
        checks.check_nesterov(ns)


def test_checks_leave_the_global_random_state_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    checks.check_initialize_parameters(reference_namespace())
    assert np.random.rand() == expected
