"""The visible tests shipped to students (source/mlp_optimizers/public_tests.py).

1. Every hard-coded expected constant equals what the reference computes from the
   module's own input constants.
2. Every visible test passes on the reference (and on valid alternative implementations).
3. Typical student bugs make the right visible test fail with a message that names the problem.
4. The file contains no solution code and does not import the instructor-only package.
"""
import ast
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from autograder import reference as R

PUBLIC_TESTS_PATH = Path(__file__).resolve().parents[1] / "source" / "mlp_optimizers" / "public_tests.py"


def _load_public_tests():
    spec = importlib.util.spec_from_file_location("public_tests", PUBLIC_TESTS_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pt = _load_public_tests()

OPTIMIZER_NAMES = ["AdaGrad", "RMSprop", "Momentum", "Nesterov", "Adam", "AdaBelief"]


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


def test_network_constants():
    net = R.ThreeLayerNet(*pt.NETWORK_SIZES, weight_init_std=pt.NETWORK_WEIGHT_INIT_STD,
                          dtype=np.float64)
    x = np.array(pt.NETWORK_X)
    assert_same(net.predict(x), pt.NETWORK_SCORES)
    for labels in (pt.NETWORK_Y, pt.NETWORK_Y_ONEHOT):
        assert net.loss(x, np.array(labels)) == pytest.approx(pt.NETWORK_LOSS, rel=1e-12)
    assert_same(net.gradient(x, np.array(pt.NETWORK_Y))["b1"], pt.NETWORK_GRAD_B1)
    np.testing.assert_array_equal(np.argmax(pt.NETWORK_Y_ONEHOT, axis=1), pt.NETWORK_Y)


def _reference_trajectory(name, hyper, dtype, steps):
    optimizer = R.OPTIMIZERS[name](**hyper)
    params = {k: np.array(v, dtype) for k, v in pt.OPT_PARAMS0.items()}
    trajectory, velocities = [], []
    for grads in pt.OPT_GRADS[:steps]:
        optimizer.update(params, {k: np.array(v, dtype) for k, v in grads.items()})
        trajectory.append({k: v.copy() for k, v in params.items()})
        velocities.append({k: np.array(v) for k, v in (getattr(optimizer, "v", None) or {}).items()})
    return optimizer, trajectory, velocities


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_optimizer_constants(name):
    case = pt.OPTIMIZER_CASES[name]
    assert case["hyper"] is getattr(pt, name.upper() + "_HYPER")
    assert case["expected"] is getattr(pt, name.upper() + "_EXPECTED")
    assert case["expected_f32"] is getattr(pt, name.upper() + "_EXPECTED_F32")
    optimizer, trajectory, velocities = _reference_trajectory(name, case["hyper"], np.float64, 3)
    assert len(case["expected"]) == 3
    for got, want in zip(trajectory, case["expected"]):
        for key in ("W", "b"):
            assert_same(got[key], want[key])
    if case["expected_v"] is not None:
        assert case["expected_v"] is getattr(pt, name.upper() + "_EXPECTED_V")
        for got, want in zip(velocities, case["expected_v"]):
            for key in ("W", "b"):
                assert_same(got[key], want[key])
    for attr in case["state"]:
        assert isinstance(getattr(optimizer, attr), dict)
    assert hasattr(optimizer, "t") == case["counter"]
    _, trajectory32, _ = _reference_trajectory(name, {}, np.float32, 2)
    assert len(case["expected_f32"]) == 2
    for got, want in zip(trajectory32, case["expected_f32"]):
        for key in ("W", "b"):
            assert_same(got[key], want[key], np.float32)


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

REFERENCE_TARGETS = [
    ("test_initialize_parameters", R.initialize_parameters),
    ("test_leaky_relu", R.LeakyRelu),
    ("test_affine", R.Affine),
    ("test_network", R.ThreeLayerNet),
] + [("test_" + name.lower(), R.OPTIMIZERS[name]) for name in OPTIMIZER_NAMES]


@pytest.mark.parametrize("test_name, target", REFERENCE_TARGETS, ids=[t for t, _ in REFERENCE_TARGETS])
def test_public_test_passes_on_the_reference(test_name, target, capsys):
    getattr(pt, test_name)(target)
    assert capsys.readouterr().out == f"{test_name}：全部通过 ✓\n"


def test_every_graded_cell_has_a_public_test():
    names = {"test_initialize_parameters", "test_leaky_relu", "test_affine", "test_network",
             "test_adagrad", "test_rmsprop", "test_momentum", "test_nesterov", "test_adam",
             "test_adabelief"}
    assert names == {n for n in dir(pt) if n.startswith("test_")}
    assert {n for n in dir(pt) if n.startswith("check_")} == {"check_gradients", "check_overfit"}


class MaskCopyLeakyRelu(R.LeakyRelu):
    """The notebook's template style: mask x <= 0, copy, assign."""

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = self.alpha * out[self.mask]
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] *= self.alpha
        return dx


class MaximumLeakyRelu(R.LeakyRelu):
    def forward(self, x):
        self.x = x
        return np.maximum(x, self.alpha * x)

    def backward(self, dout):
        return dout * np.where(self.x > 0, 1.0, self.alpha).astype(dout.dtype)


class EinsumAffine(R.Affine):
    def forward(self, x):
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return np.einsum("nd,dm->nm", self.x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.einsum("nd,nm->dm", self.x, dout)
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


def loop_initialize_parameters(input_size, hidden_size, output_size, weight_init_std,
                               dtype=np.float32):
    """float32 rounding in a different order: cast first, then scale."""
    np.random.seed(1)
    sizes = [input_size, hidden_size, hidden_size, output_size]
    params = {}
    for i in range(3):
        params[f"W{i + 1}"] = np.random.randn(sizes[i], sizes[i + 1]).astype(dtype) * dtype(weight_init_std)
        params[f"b{i + 1}"] = np.zeros((sizes[i + 1],), dtype=dtype)
    return params


class InPlaceStateMomentum(R.Momentum):
    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
        for key in params:
            self.v[key] *= self.beta
            self.v[key] += self.learning_rate * grads[key]
            params[key] -= self.v[key]


class RearrangedAdam(R.Adam):
    """In-place state, bias corrections as factors, the same epsilon placement."""

    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
            self.u = {key: np.zeros_like(p) for key, p in params.items()}
        self.t += 1
        c1 = 1.0 / (1 - self.beta1 ** self.t)
        c2 = 1.0 / (1 - self.beta2 ** self.t)
        for key, g in grads.items():
            self.v[key] *= self.beta1
            self.v[key] += (1 - self.beta1) * g
            self.u[key] *= self.beta2
            self.u[key] += (1 - self.beta2) * np.square(g)
            params[key] -= self.learning_rate * (self.v[key] * c1) / (np.sqrt(self.u[key] * c2) + self.epsilon)


VALID_ALTERNATIVES = [
    ("test_leaky_relu", MaskCopyLeakyRelu),
    ("test_leaky_relu", MaximumLeakyRelu),
    ("test_affine", EinsumAffine),
    ("test_initialize_parameters", loop_initialize_parameters),
    ("test_momentum", InPlaceStateMomentum),
    ("test_adam", RearrangedAdam),
]


@pytest.mark.parametrize("test_name, target", VALID_ALTERNATIVES,
                         ids=[t.__name__ for _, t in VALID_ALTERNATIVES])
def test_public_test_accepts_valid_alternatives(test_name, target, capsys):
    getattr(pt, test_name)(target)
    assert "全部通过" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# 3. Typical bugs fail the right test with a message naming the problem
# ---------------------------------------------------------------------------------------------

# -- initialize_parameters

def init_w2_first(input_size, hidden_size, output_size, weight_init_std, dtype=np.float32):
    np.random.seed(1)
    W2 = np.random.randn(hidden_size, hidden_size) * weight_init_std
    W1 = np.random.randn(input_size, hidden_size) * weight_init_std
    W3 = np.random.randn(hidden_size, output_size) * weight_init_std
    return {"W1": W1.astype(dtype), "b1": np.zeros(hidden_size, dtype), "W2": W2.astype(dtype),
            "b2": np.zeros(hidden_size, dtype), "W3": W3.astype(dtype), "b3": np.zeros(output_size, dtype)}


def init_reseeds(input_size, hidden_size, output_size, weight_init_std, dtype=np.float32):
    params = {}
    for i, (rows, cols) in enumerate([(input_size, hidden_size), (hidden_size, hidden_size),
                                      (hidden_size, output_size)], start=1):
        np.random.seed(1)
        params[f"W{i}"] = (np.random.randn(rows, cols) * weight_init_std).astype(dtype)
        params[f"b{i}"] = np.zeros(cols, dtype)
    return params


def init_hard_coded_std(input_size, hidden_size, output_size, weight_init_std, dtype=np.float32):
    return R.initialize_parameters(input_size, hidden_size, output_size, 0.01, dtype)


def init_nonzero_bias(*args, **kwargs):
    params = R.initialize_parameters(*args, **kwargs)
    params["b2"] += 1
    return params


def init_no_dtype(input_size, hidden_size, output_size, weight_init_std, dtype=np.float32):
    params = R.initialize_parameters(input_size, hidden_size, output_size, weight_init_std, dtype)
    np.random.seed(1)
    np.random.randn(input_size, hidden_size)
    params["W2"] = np.random.randn(hidden_size, hidden_size) * weight_init_std  # float64
    return params


def init_missing_w3(*args, **kwargs):
    params = R.initialize_parameters(*args, **kwargs)
    del params["W3"]
    return params


# -- LeakyRelu

class _PositiveMask(R.LeakyRelu):
    """The reference's layer with self.mask = (x > 0), whatever mask the reference keeps."""

    def forward(self, x):
        out = super().forward(x)
        self.mask = x > 0
        return out


class ReluBackward(_PositiveMask):
    def backward(self, dout):
        return np.where(self.mask, dout, 0 * dout)


class Relu(R.LeakyRelu):
    def forward(self, x):
        self.mask = x > 0
        return np.where(self.mask, x, 0 * x)


class AlphaOnPositiveSide(R.LeakyRelu):
    def forward(self, x):
        self.mask = x > 0
        return np.where(self.mask, self.alpha * x, x)


class BackwardModifiesDout(_PositiveMask):
    """The seed's bug: dout[mask] = alpha * dout[mask]; return dout."""

    def backward(self, dout):
        dout[~self.mask] = self.alpha * dout[~self.mask]
        return dout


class ForwardModifiesX(R.LeakyRelu):
    def forward(self, x):
        self.mask = x > 0
        x[~self.mask] *= self.alpha
        return x


class BackwardIgnoresDout(_PositiveMask):
    def backward(self, dout):
        return np.where(self.mask, 1.0, self.alpha).astype(dout.dtype)


class Float64LeakyRelu(R.LeakyRelu):
    def forward(self, x):
        return super().forward(x).astype(np.float64)


# -- Affine

class DbOverAxis1(R.Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = dout.sum(axis=1)
        return dx


class DbNotSummed(R.Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = dout
        return dx


class DwTransposed(R.Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = dout.T @ self.x
        return dx


class ForwardWithoutBias(R.Affine):
    def forward(self, x):
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.W


class DbNotSet(R.Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = None
        return dx


# -- ThreeLayerNet

class SoftmaxInPredict(R.ThreeLayerNet):
    def predict(self, x):
        return R.softmax(super().predict(x))


class LossWithoutLastLayer(R.ThreeLayerNet):
    def loss(self, x, y):
        return R.cross_entropy_error(R.softmax(self.predict(x)), y)


class PredictSkipsLastAffine(R.ThreeLayerNet):
    def predict(self, x):
        for name, layer in self.layers.items():
            if name != "Affine3":
                x = layer.forward(x)
        return x


class PredictWithoutActivations(R.ThreeLayerNet):
    def predict(self, x):
        for name, layer in self.layers.items():
            if name.startswith("Affine"):
                x = layer.forward(x)
        return x


# -- Optimizers

class OutOfPlaceAdaGrad(R.AdaGrad):
    def update(self, params, grads):
        if self.grads_squared is None:
            self.grads_squared = {key: np.zeros_like(p) for key, p in params.items()}
        for key in params:
            self.grads_squared[key] += grads[key] * grads[key]
            params[key] = params[key] - (self.learning_rate * grads[key]
                                         / (np.sqrt(self.grads_squared[key]) + self.epsilon))


class AdaGradNotAccumulating(R.AdaGrad):
    def update(self, params, grads):
        if self.grads_squared is None:
            self.grads_squared = {key: np.zeros_like(p) for key, p in params.items()}
        for key in params:
            self.grads_squared[key] = grads[key] * grads[key]
            params[key] -= self.learning_rate * grads[key] / (np.sqrt(self.grads_squared[key]) + self.epsilon)


class AdaGradEpsilonInside(R.AdaGrad):
    def update(self, params, grads):
        if self.grads_squared is None:
            self.grads_squared = {key: np.zeros_like(p) for key, p in params.items()}
        for key in params:
            self.grads_squared[key] += grads[key] * grads[key]
            params[key] -= self.learning_rate * grads[key] / np.sqrt(self.grads_squared[key] + self.epsilon)


class AdaGradModifiesGrads(R.AdaGrad):
    def update(self, params, grads):
        super().update(params, grads)
        for key in grads:
            grads[key] *= 0


class AdaGradWithoutState(R.AdaGrad):
    def update(self, params, grads):
        squared = {key: g * g for key, g in grads.items()}
        for key in params:
            params[key] -= self.learning_rate * grads[key] / (np.sqrt(squared[key]) + self.epsilon)


class RMSpropBetaSwapped(R.RMSprop):
    def update(self, params, grads):
        if self.grads_squared is None:
            self.grads_squared = {key: np.zeros_like(p) for key, p in params.items()}
        for key in params:
            g = grads[key]
            self.grads_squared[key] = (1 - self.beta) * self.grads_squared[key] + self.beta * g * g
            params[key] -= self.learning_rate * g / (np.sqrt(self.grads_squared[key]) + self.epsilon)


class RMSpropAsAdaGrad(R.RMSprop):
    def update(self, params, grads):
        if self.grads_squared is None:
            self.grads_squared = {key: np.zeros_like(p) for key, p in params.items()}
        for key in params:
            self.grads_squared[key] += grads[key] * grads[key]
            params[key] -= self.learning_rate * grads[key] / (np.sqrt(self.grads_squared[key]) + self.epsilon)


class MomentumStateNotCarried(R.Momentum):
    def update(self, params, grads):
        self.v = {key: np.zeros_like(p) for key, p in params.items()}
        for key in params:
            self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]
            params[key] -= self.v[key]


class MomentumWithoutLrInV(R.Momentum):
    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
        for key in params:
            self.v[key] = self.beta * self.v[key] + grads[key]
            params[key] -= self.learning_rate * self.v[key]


class MomentumSignError(R.Momentum):
    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
        for key in params:
            self.v[key] = self.beta * self.v[key] - self.learning_rate * grads[key]
            params[key] -= self.v[key]


class NesterovAsMomentum(R.Nesterov):
    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
        for key in params:
            self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]
            params[key] -= self.v[key]


class NesterovWithOldV(R.Nesterov):
    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
        for key in params:
            step = self.learning_rate * grads[key]
            params[key] -= self.beta * self.v[key] + step
            self.v[key] = self.beta * self.v[key] + step


def _adam_like(self, params, grads, second, correct=True, t_offset=0, eps_inside=False,
               swap=False, lr_t=False):
    """A configurable Adam/AdaBelief update, for the buggy variants below."""
    b1, b2 = (self.beta2, self.beta1) if swap else (self.beta1, self.beta2)
    if self.v is None:
        self.v = {key: np.zeros_like(p) for key, p in params.items()}
        setattr(self, second, {key: np.zeros_like(p) for key, p in params.items()})
    self.t += 1
    t = self.t - t_offset
    state = getattr(self, second)
    for key in params:
        g = grads[key]
        self.v[key] = b1 * self.v[key] + (1 - b1) * g
        deviation = g if second == "u" else g - self.v[key]
        state[key] = b2 * state[key] + (1 - b2) * deviation * deviation
        v_hat = self.v[key] / (1 - b1 ** t) if correct else self.v[key]
        u_hat = state[key] / (1 - b2 ** t) if correct else state[key]
        if lr_t:
            lr = self.learning_rate * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            params[key] -= lr * self.v[key] / (np.sqrt(state[key]) + self.epsilon)
        elif eps_inside:
            params[key] -= self.learning_rate * v_hat / np.sqrt(u_hat + self.epsilon)
        else:
            params[key] -= self.learning_rate * v_hat / (np.sqrt(u_hat) + self.epsilon)


def adam_variant(**bug):
    return type("Adam_" + "_".join(bug), (R.Adam,),
                {"update": lambda self, p, g: _adam_like(self, p, g, "u", **bug)})


def adabelief_variant(**bug):
    return type("AdaBelief_" + "_".join(bug), (R.AdaBelief,),
                {"update": lambda self, p, g: _adam_like(self, p, g, "s", **bug)})


class AdaBeliefOldV(R.AdaBelief):
    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
            self.s = {key: np.zeros_like(p) for key, p in params.items()}
        self.t += 1
        for key in params:
            g = grads[key]
            self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * (g - self.v[key]) ** 2
            self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * g
            v_hat = self.v[key] / (1 - self.beta1 ** self.t)
            s_hat = self.s[key] / (1 - self.beta2 ** self.t)
            params[key] -= self.learning_rate * v_hat / (np.sqrt(s_hat) + self.epsilon)


class AdaBeliefAsAdam(R.AdaBelief):
    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
            self.s = {key: np.zeros_like(p) for key, p in params.items()}
        self.t += 1
        for key in params:
            g = grads[key]
            self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * g
            self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * g * g
            v_hat = self.v[key] / (1 - self.beta1 ** self.t)
            s_hat = self.s[key] / (1 - self.beta2 ** self.t)
            params[key] -= self.learning_rate * v_hat / (np.sqrt(s_hat) + self.epsilon)


class AdamTNotIncremented(R.Adam):
    def update(self, params, grads):
        self.t -= 1
        super().update(params, grads)  # increments t back: t stays 0, 1 - beta**0 = 0


class AdamWithoutStateU(R.Adam):
    def update(self, params, grads):
        super().update(params, grads)
        self.u = None


BUGS = [
    # (visible test, buggy target, phrase the message must contain)
    ("test_initialize_parameters", init_w2_first, "按 W1、W2、W3 的顺序"),
    ("test_initialize_parameters", init_reseeds, "不要再次调用 np.random.seed"),
    ("test_initialize_parameters", init_hard_coded_std, "weight_init_std"),
    ("test_initialize_parameters", init_nonzero_bias, "params['b2'] 应全为 0"),
    ("test_initialize_parameters", init_no_dtype, "params['W2'] 的 dtype 不对：期望 float32"),
    ("test_initialize_parameters", init_missing_w3, "缺少键 ['W3']"),
    ("test_leaky_relu", ReluBackward, "不是 0（那是 ReLU）"),
    ("test_leaky_relu", Relu, "不是 0（那是 ReLU）"),
    ("test_leaky_relu", AlphaOnPositiveSide, "x > 0 的位置不应乘以 alpha"),
    ("test_leaky_relu", BackwardModifiesDout, "dout 被修改了"),
    ("test_leaky_relu", ForwardModifiesX, "输入 x 被修改了"),
    ("test_leaky_relu", BackwardIgnoresDout, "backward(dout) 的输出 dx（float32 输入）[0, 1] 的数值不对"),
    ("test_leaky_relu", Float64LeakyRelu, "dtype 不对：期望 float32，得到 float64"),
    ("test_affine", DbOverAxis1, "self.db（W、b、x 全为 1） 的形状不对：期望 (3,)，得到 (1,)"),
    ("test_affine", DbNotSummed, "self.db（W、b、x 全为 1） 的形状不对：期望 (3,)，得到 (1, 3)"),
    ("test_affine", DwTransposed, "self.dW（W、b、x 全为 1） 的形状不对：期望 (2, 3)，得到 (3, 2)"),
    ("test_affine", ForwardWithoutBias, "少加了偏置 b"),
    ("test_affine", DbNotSet, "self.db（W、b、x 全为 1） 应是 numpy 数组，得到 NoneType"),
    ("test_network", SoftmaxInPredict, "softmax 之前的得分"),
    ("test_network", LossWithoutLastLayer, "self.lastLayer.forward"),
    ("test_network", PredictSkipsLastAffine, "predict(x) 的形状不对：期望 (2, 3)，得到 (2, 5)"),
    ("test_network", PredictWithoutActivations, "依次传过 self.layers 中的每一层"),
    ("test_adagrad", OutOfPlaceAdaGrad, "参数没有原地更新：请用 params[key] -= ..."),
    ("test_adagrad", AdaGradNotAccumulating, "状态没有在两次 update 之间保留"),
    ("test_adagrad", AdaGradEpsilonInside, "epsilon 加在 sqrt 外面"),
    ("test_adagrad", AdaGradModifiesGrads, "grads['W'] 被修改了"),
    ("test_adagrad", AdaGradWithoutState, "应有属性 self.grads_squared"),
    ("test_rmsprop", RMSpropBetaSwapped, "第 1 次 update 之后的 params['W']"),
    ("test_rmsprop", RMSpropAsAdaGrad, "beta 乘旧的 u"),
    ("test_momentum", MomentumStateNotCarried, "状态没有在两次 update 之间保留"),
    ("test_momentum", MomentumWithoutLrInV, "第 1 次 update 之后的 self.v['W']"),
    ("test_momentum", MomentumSignError, "第 1 次 update 之后的 params['W']"),
    ("test_nesterov", NesterovAsMomentum, "不是 Momentum 的 p -= v"),
    ("test_nesterov", NesterovWithOldV, "第 1 次 update 之后的 params['W']"),
    ("test_adam", adam_variant(correct=False), "第 1 步的结果与期望不符：检查偏差修正，t 应从 1 开始"),
    ("test_adam", adam_variant(t_offset=1), "结果里有 nan 或 inf"),
    ("test_adam", adam_variant(eps_inside=True), "epsilon 加在 sqrt(修正后的 u) 外面"),
    ("test_adam", adam_variant(swap=True), "v 用 beta1、u 用 beta2"),
    ("test_adam", adam_variant(lr_t=True), "第 1 次 update 之后的 params['W']"),
    ("test_adam", AdamTNotIncremented, "self.t 应为 1，得到 0"),
    ("test_adam", AdamWithoutStateU, "应有属性 self.u"),
    ("test_adabelief", AdaBeliefOldV, "用更新后的 v 计算"),
    ("test_adabelief", AdaBeliefAsAdam, "不是 Adam 的 g*g"),
    ("test_adabelief", adabelief_variant(correct=False), "检查偏差修正"),
    ("test_adabelief", adabelief_variant(eps_inside=True), "epsilon 加在 sqrt 外面"),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the division by zero of t = 0
@pytest.mark.parametrize("test_name, target, phrase", BUGS,
                         ids=[f"{t}-{getattr(b, '__name__', b)}" for t, b, _ in BUGS])
def test_public_test_catches_the_bug(test_name, target, phrase, capsys):
    with pytest.raises(AssertionError) as info:
        getattr(pt, test_name)(target)
    assert phrase in str(info.value), str(info.value)
    assert "全部通过" not in capsys.readouterr().out


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
    assert imported == {"numpy"}


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
    utils = _load_utils()
    net = net_class(6, 5, 3, weight_init_std=1.0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((4, 6))
    y = np.array([0, 2, 1, 2])
    analytic = {key: value.copy() for key, value in net.gradient(x, y).items()}

    def exact_loss():  # as in the notebook: the cross-entropy without the 1e-7 in the log
        pred = R.softmax(net.predict(x))
        return -np.mean(np.log(pred[np.arange(len(y)), y]))

    numerical = utils.numerical_gradient(exact_loss, net.params)
    return analytic, numerical


def _load_utils():
    spec = importlib.util.spec_from_file_location("course_utils", PUBLIC_TESTS_PATH.parent / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gradient_check_passes_on_the_notebook_sized_example(capsys):
    analytic, numerical = _gradient_check_inputs()
    assert max(_load_utils().rel_error(analytic[k], numerical[k]) for k in analytic) < 1e-7
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
    utils = _load_utils()
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
    assert capsys.readouterr().out == "check_overfit：全部通过 ✓\n"

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

    utils = _load_utils()
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
