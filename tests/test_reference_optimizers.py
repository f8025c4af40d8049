"""Each reference optimizer over three steps against trajectories derived by hand from
docs/design.md's formulas, with learning_rate 0.1, two parameters p0 = (1, -2) and the
gradient sequence g1 = (1, 2), g2 = (2, -1), g3 = (-1, 0.5)."""
import inspect

import numpy as np
import pytest

from autograder.reference import (SGD, AdaBelief, AdaGrad, Adam, Momentum, Nesterov, RMSprop,
                                  ThreeLayerNet)

P0 = [1.0, -2.0]
GRADS = [[1.0, 2.0], [2.0, -1.0], [-1.0, 0.5]]

# Parameters after steps 1, 2, 3.
TRAJECTORIES = {
    # p -= 0.1 g
    "SGD": (SGD(0.1), [[0.9, -2.2], [0.7, -2.1], [0.8, -2.15]]),
    # G = 1 -> p = 1 - 0.1*1/(1 + 1e-7); G = 5 -> p = 0.9 - 0.2/sqrt(5); ...
    "AdaGrad": (AdaGrad(0.1), [[0.90000001, -2.099999995], [0.8105572949, -2.055278637],
                               [0.8513821223, -2.077100426]]),
    # beta 0.9 (not the default): u = 0.1 -> p = 1 - 0.1/sqrt(0.1) = 0.683772...
    "RMSprop": (RMSprop(0.1, beta=0.9), [[0.683772334, -2.316227716], [0.3980580891, -2.168785782],
                                         [0.5340150063, -2.244249409]]),
    # v = 0.1 -> p = 0.9; v = 0.09 + 0.2 = 0.29 -> p = 0.61; v = 0.261 - 0.1 = 0.161 -> p = 0.449
    "Momentum": (Momentum(0.1), [[0.9, -2.2], [0.61, -2.28], [0.449, -2.402]]),
    # v = 0.1 -> p = 1 - (0.09 + 0.1) = 0.81; v = 0.29 -> p = 0.81 - (0.261 + 0.2) = 0.349
    "Nesterov": (Nesterov(0.1), [[0.81, -2.38], [0.349, -2.352], [0.3041, -2.5118]]),
    # t = 1: v_hat = g, u_hat = g^2 -> p = 1 - 0.1 * 1/(1 + 1e-7)
    "Adam": (Adam(0.1), [[0.90000001, -2.099999995], [0.8034818135, -2.126633697],
                         [0.7614728861, -2.16067661]]),
    # t = 1: v = 0.1, s = 0.001*(1-0.1)^2 -> v_hat = 1, s_hat = 0.81 -> p = 1 - 0.1/0.9
    "AdaBelief": (AdaBelief(0.1), [[0.8888889012, -2.111111105], [0.7772013167, -2.139481182],
                                   [0.7315581274, -2.176051401]]),
}

DEFAULTS = {
    SGD: {"learning_rate": 0.001},
    AdaGrad: {"learning_rate": 0.001, "epsilon": 1e-7},
    RMSprop: {"learning_rate": 0.001, "epsilon": 1e-7, "beta": 0.999},
    Momentum: {"learning_rate": 0.001, "beta": 0.9},
    Nesterov: {"learning_rate": 0.001, "beta": 0.9},
    Adam: {"learning_rate": 0.001, "epsilon": 1e-7, "beta1": 0.9, "beta2": 0.999},
    AdaBelief: {"learning_rate": 0.001, "epsilon": 1e-7, "beta1": 0.9, "beta2": 0.999},
}


@pytest.mark.parametrize("name", TRAJECTORIES)
def test_three_steps_follow_the_hand_derived_trajectory(name):
    optimizer, expected = TRAJECTORIES[name]
    params = {"w": np.array(P0)}
    w = params["w"]
    for step, g in enumerate(GRADS):
        optimizer.update(params, {"w": np.array(g)})
        assert params["w"] is w, "update must change the array in place"
        np.testing.assert_allclose(w, expected[step], rtol=1e-8, err_msg=f"{name} step {step + 1}")


@pytest.mark.parametrize("cls", DEFAULTS)
def test_defaults_equal_the_originals(cls):
    signature = inspect.signature(cls.__init__)
    defaults = {k: p.default for k, p in signature.parameters.items() if k != "self"}
    assert defaults == DEFAULTS[cls]


@pytest.mark.parametrize("cls", [Adam, AdaBelief])
def test_t_is_one_during_the_first_update(cls):
    optimizer = cls(learning_rate=0.5, epsilon=0.0)
    params = {"w": np.array([3.0])}
    optimizer.update(params, {"w": np.array([-4.0])})
    assert optimizer.t == 1
    # bias correction with t = 1 makes the first step exactly lr * sign(g) for Adam
    if cls is Adam:
        np.testing.assert_allclose(params["w"], [3.5])


@pytest.mark.parametrize("cls", list(DEFAULTS))
def test_float32_network_stays_float32_and_layers_see_the_update(cls):
    net = ThreeLayerNet(6, 5, 3)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    y = np.array([0, 1, 2, 1])
    optimizer = cls()
    before = {k: v.copy() for k, v in net.params.items()}
    for _ in range(3):
        optimizer.update(net.params, net.gradient(x, y))
    for key, value in net.params.items():
        assert value.dtype == np.float32, key
    assert not np.array_equal(before["W3"], net.params["W3"])
    np.testing.assert_array_equal(net.layers["Affine3"].W, net.params["W3"])
    assert net.layers["Affine1"].W is net.params["W1"]


@pytest.mark.parametrize("cls", list(DEFAULTS))
def test_update_leaves_the_gradients_alone(cls):
    params = {"w": np.array([1.0, -2.0])}
    grads = {"w": np.array([0.5, -0.25])}
    optimizer = cls(learning_rate=0.1)
    optimizer.update(params, grads)
    optimizer.update(params, grads)
    np.testing.assert_array_equal(grads["w"], [0.5, -0.25])
