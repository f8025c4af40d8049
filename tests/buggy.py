"""Typical student mistakes, and valid alternatives, as small variants of the reference.

BUGS: name -> (grade id of the notebook cell whose hidden check must fail,
               {name in the notebook's namespace: buggy object}).
ALTERNATIVES: name -> {name in the notebook's namespace: object}; every check must pass.
UNFINISHED: name -> (grade id, {name: object raising NotImplementedError}, the call the
               failure message must start with).

Each variant is a subclass of the reference class overriding one method, or a function,
so that it differs from the reference only by the mistake it stands for. Other tests may
use them as fake submissions (a namespace = the reference's names updated with one entry,
see namespace()). tests/test_checks.py also imports this module inside a student server
(autograder.sandbox), to run the same variants behind the Remote interface.
"""
import math

import numpy as np

from autograder import reference as ref
from autograder.reference import (AdaBelief, AdaGrad, Adam, Affine, LeakyRelu, Momentum,
                                  Nesterov, RMSprop, ThreeLayerNet, cross_entropy_error, softmax)


def reference_namespace():
    """The names a notebook defines, taken from the reference solution."""
    return {name: getattr(ref, name) for name in ref.__all__}


def namespace(objects):
    """The reference's names, with objects (name -> variant) in place of some."""
    ns = reference_namespace()
    ns.update(objects)
    return ns


# ---------------------------------------------------------------------------------------
# initialize_parameters
# ---------------------------------------------------------------------------------------

def _init(draw_order=("W1", "W2", "W3"), scale=True, bias=0.0, keep_dtype=True, seed="once",
          w3_transposed=False):
    """An initialize_parameters with the given mistakes (defaults: none)."""
    def initialize_parameters(input_size, hidden_size, output_size, weight_init_std,
                              dtype=np.float32):
        if seed == "once":
            np.random.seed(1)
        shapes = {"W1": (input_size, hidden_size), "W2": (hidden_size, hidden_size),
                  "W3": (output_size, hidden_size) if w3_transposed else (hidden_size, output_size)}
        out_dtype = dtype if keep_dtype else np.float64
        params = {}
        for name in draw_order:
            if seed == "every":
                np.random.seed(1)
            w = np.random.randn(*shapes[name])
            params[name] = (w * weight_init_std if scale else w).astype(out_dtype)
        sizes = {"b1": hidden_size, "b2": hidden_size, "b3": output_size}
        for name, size in sizes.items():
            params[name] = np.full(size, bias, dtype=out_dtype)
        return {key: params[key] for key in ref.PARAM_KEYS}
    return initialize_parameters


def init_with_normal(input_size, hidden_size, output_size, weight_init_std, dtype=np.float32):
    """Valid: np.random.normal(0, std, shape) draws the same numbers as randn * std."""
    np.random.seed(1)
    W1 = np.random.normal(0, weight_init_std, (input_size, hidden_size))
    W2 = np.random.normal(0, weight_init_std, (hidden_size, hidden_size))
    W3 = np.random.normal(0, weight_init_std, (hidden_size, output_size))
    return {"W1": W1.astype(dtype), "b1": np.zeros(hidden_size, dtype),
            "W2": W2.astype(dtype), "b2": np.zeros(hidden_size, dtype),
            "W3": W3.astype(dtype), "b3": np.zeros(output_size, dtype)}


def init_cast_then_scale(input_size, hidden_size, output_size, weight_init_std, dtype=np.float32):
    """Valid: cast first, multiply in the target dtype (differs by rounding only)."""
    np.random.seed(1)
    params = {}
    for i, shape in enumerate([(input_size, hidden_size), (hidden_size, hidden_size),
                               (hidden_size, output_size)], start=1):
        params[f"W{i}"] = np.random.randn(*shape).astype(dtype) * weight_init_std
        params[f"b{i}"] = np.zeros(shape[1], dtype=dtype)
    return params


# ---------------------------------------------------------------------------------------
# LeakyRelu
# ---------------------------------------------------------------------------------------

class MaskedLeakyRelu(LeakyRelu):
    """The reference's behaviour written with a mask (True where x > 0), independent of
    how the reference stores its state: each variant below overrides one method of it."""

    def forward(self, x):
        self.mask = x > 0
        return np.where(self.mask, x, self.alpha * x)

    def backward(self, dout):
        return np.where(self.mask, dout, self.alpha * dout)


class ReluBackward(MaskedLeakyRelu):
    """backward with slope 0 for x <= 0 (plain ReLU)."""
    def backward(self, dout):
        return np.where(self.mask, dout, 0 * dout)


class AlphaOnPositiveSide(MaskedLeakyRelu):
    def backward(self, dout):
        return np.where(self.mask, self.alpha * dout, dout)


class BackwardMaskFromDout(MaskedLeakyRelu):
    """backward decides the slope from the sign of dout, not of the forward input."""
    def backward(self, dout):
        return np.where(dout > 0, dout, self.alpha * dout)


class BackwardModifiesDout(MaskedLeakyRelu):
    def backward(self, dout):
        dout[~self.mask] *= self.alpha
        return dout


class ForwardModifiesX(MaskedLeakyRelu):
    def forward(self, x):
        self.mask = x > 0
        x[~self.mask] *= self.alpha
        return x


class ForwardWrongMask(MaskedLeakyRelu):
    """alpha applied to the positive inputs."""
    def forward(self, x):
        self.mask = x > 0
        return np.where(x < 0, x, self.alpha * x)


class ForwardFloat64(MaskedLeakyRelu):
    """float32 in -> float64 out (np.float64 scalar promotes under NumPy 2)."""
    def forward(self, x):
        self.mask = x > 0
        return np.where(self.mask, x, np.float64(self.alpha) * x)


class LeakyMaximum(LeakyRelu):
    """Valid: np.maximum, mask x >= 0."""
    def forward(self, x):
        self.mask = x >= 0
        return np.maximum(x, self.alpha * x)

    def backward(self, dout):
        dx = dout.copy()
        dx[~self.mask] *= self.alpha
        return dx


class LeakyCourseStyle(LeakyRelu):
    """Valid: the notebook's style, mask True where x <= 0, copy then scale."""
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = self.alpha * out[self.mask]
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = self.alpha * dx[self.mask]
        return dx


# ---------------------------------------------------------------------------------------
# Affine
# ---------------------------------------------------------------------------------------

class AffineNoBias(Affine):
    def forward(self, x):
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.W


class AffineNoReshape(Affine):
    """forward does not flatten (N, d1, d2) inputs."""
    def forward(self, x):
        self.original_x_shape = x.shape
        self.x = x
        return x @ self.W + self.b


class AffineDbAxis1(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = dout.sum(axis=1)
        return dx


class AffineDbNotSummed(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = dout
        return dx


class AffineDwTransposed(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = dout.T @ self.x
        return dx


class AffineDxNotReshaped(Affine):
    def backward(self, dout):
        super().backward(dout)
        return dout @ self.W.T


class AffineEinsum(Affine):
    """Valid: einsum everywhere."""
    def forward(self, x):
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return np.einsum("nd,dm->nm", self.x, self.W) + self.b

    def backward(self, dout):
        dx = np.einsum("nm,dm->nd", dout, self.W)
        self.dW = np.einsum("nd,nm->dm", self.x, dout)
        self.db = np.einsum("nm->m", dout)
        return dx.reshape(self.original_x_shape)


class AffineDot(Affine):
    """Valid: np.dot and np.sum, as in the notebook."""
    def forward(self, x):
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


# ---------------------------------------------------------------------------------------
# ThreeLayerNet
# ---------------------------------------------------------------------------------------

class PredictSkipsLastLayer(ThreeLayerNet):
    def predict(self, x):
        for layer in list(self.layers.values())[:-1]:
            x = layer.forward(x)
        return x


class PredictSkipsActivations(ThreeLayerNet):
    def predict(self, x):
        for name, layer in self.layers.items():
            if name.startswith("Affine"):
                x = layer.forward(x)
        return x


class PredictAppliesSoftmax(ThreeLayerNet):
    def predict(self, x):
        return softmax(super().predict(x))


class LossSoftmaxTwice(ThreeLayerNet):
    def loss(self, x, y):
        return self.lastLayer.forward(softmax(self.predict(x)), y)


class LossWithoutLastLayer(ThreeLayerNet):
    def loss(self, x, y):
        return cross_entropy_error(softmax(self.predict(x)), y)


class NetworkExplicitLayers(ThreeLayerNet):
    """Valid: predict calls each layer by name."""
    def predict(self, x):
        h = self.layers["LeakyRelu1"].forward(self.layers["Affine1"].forward(x))
        h = self.layers["LeakyRelu2"].forward(self.layers["Affine2"].forward(h))
        return self.layers["Affine3"].forward(h)

    def loss(self, x, y):
        pred = self.predict(x)
        return self.lastLayer.forward(pred, y)


# ---------------------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------------------

def _zeros(params):
    return {key: np.zeros_like(p) for key, p in params.items()}


class AdaGradNoAccumulation(AdaGrad):
    def update(self, params, grads):
        self.grads_squared = self.grads_squared or _zeros(params)
        for key in params:
            self.grads_squared[key] = grads[key] * grads[key]
            params[key] -= self.learning_rate * grads[key] / (np.sqrt(self.grads_squared[key]) + self.epsilon)


class AdaGradEpsilonInsideSqrt(AdaGrad):
    def update(self, params, grads):
        self.grads_squared = self.grads_squared or _zeros(params)
        for key in params:
            self.grads_squared[key] += grads[key] * grads[key]
            params[key] -= self.learning_rate * grads[key] / np.sqrt(self.grads_squared[key] + self.epsilon)


class AdaGradNoSqrt(AdaGrad):
    def update(self, params, grads):
        self.grads_squared = self.grads_squared or _zeros(params)
        for key in params:
            self.grads_squared[key] += grads[key] * grads[key]
            params[key] -= self.learning_rate * grads[key] / (self.grads_squared[key] + self.epsilon)


class AdaGradOutOfPlace(AdaGrad):
    def update(self, params, grads):
        self.grads_squared = self.grads_squared or _zeros(params)
        for key in params:
            self.grads_squared[key] += grads[key] * grads[key]
            params[key] = params[key] - self.learning_rate * grads[key] / (
                np.sqrt(self.grads_squared[key]) + self.epsilon)


class AdaGradSliceAssign(AdaGrad):
    """Valid: np.add(..., out=) and params[key][...] = ..."""
    def update(self, params, grads):
        self.grads_squared = self.grads_squared or _zeros(params)
        for key in params:
            g = grads[key]
            np.add(self.grads_squared[key], g ** 2, out=self.grads_squared[key])
            params[key][...] = params[key] - self.learning_rate * g / (
                np.sqrt(self.grads_squared[key]) + self.epsilon)


class RMSpropBetaSwapped(RMSprop):
    def update(self, params, grads):
        self.grads_squared = self.grads_squared or _zeros(params)
        for key in params:
            g = grads[key]
            self.grads_squared[key] = (1 - self.beta) * self.grads_squared[key] + self.beta * g * g
            params[key] -= self.learning_rate * g / (np.sqrt(self.grads_squared[key]) + self.epsilon)


class RMSpropAdaGradAccumulation(RMSprop):
    def update(self, params, grads):
        self.grads_squared = self.grads_squared or _zeros(params)
        for key in params:
            g = grads[key]
            self.grads_squared[key] += g * g
            params[key] -= self.learning_rate * g / (np.sqrt(self.grads_squared[key]) + self.epsilon)


class RMSpropFixedEpsilon(RMSprop):
    """Ignores the epsilon argument (hard-coded 1e-7)."""
    def update(self, params, grads):
        self.grads_squared = self.grads_squared or _zeros(params)
        for key in params:
            g = grads[key]
            self.grads_squared[key] = self.beta * self.grads_squared[key] + (1 - self.beta) * g * g
            params[key] -= self.learning_rate * g / (np.sqrt(self.grads_squared[key]) + 1e-7)


class RMSpropOutOfPlace(RMSprop):
    def update(self, params, grads):
        self.grads_squared = self.grads_squared or _zeros(params)
        for key in params:
            g = grads[key]
            self.grads_squared[key] = self.beta * self.grads_squared[key] + (1 - self.beta) * g * g
            step = self.learning_rate * g / (np.sqrt(self.grads_squared[key]) + self.epsilon)
            params[key] = params[key] - step


class RMSpropInPlaceState(RMSprop):
    """Valid: u *= beta; u += (1 - beta) g^2."""
    def update(self, params, grads):
        self.grads_squared = self.grads_squared or _zeros(params)
        for key in params:
            g = grads[key]
            u = self.grads_squared[key]
            u *= self.beta
            u += (1 - self.beta) * g * g
            params[key] -= self.learning_rate * g / (np.sqrt(u) + self.epsilon)


class MomentumVWithoutLr(Momentum):
    """v = beta v + g; p -= lr v: the same parameters, but v is not the course's v."""
    def update(self, params, grads):
        self.v = self.v or _zeros(params)
        for key in params:
            self.v[key] = self.beta * self.v[key] + grads[key]
            params[key] -= self.learning_rate * self.v[key]


class MomentumSignError(Momentum):
    def update(self, params, grads):
        self.v = self.v or _zeros(params)
        for key in params:
            self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]
            params[key] += self.v[key]


class MomentumStateNotCarried(Momentum):
    def update(self, params, grads):
        self.v = _zeros(params)
        for key in params:
            self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]
            params[key] -= self.v[key]


class MomentumOutOfPlace(Momentum):
    def update(self, params, grads):
        self.v = self.v or _zeros(params)
        for key in params:
            self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]
            params[key] = params[key] - self.v[key]


class MomentumInPlaceState(Momentum):
    """Valid: v *= beta; v += lr g."""
    def update(self, params, grads):
        self.v = self.v or _zeros(params)
        for key in params:
            self.v[key] *= self.beta
            self.v[key] += self.learning_rate * grads[key]
            params[key] -= self.v[key]


class NesterovAsMomentum(Nesterov):
    def update(self, params, grads):
        self.v = self.v or _zeros(params)
        for key in params:
            self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]
            params[key] -= self.v[key]


class NesterovOutOfPlace(Nesterov):
    def update(self, params, grads):
        self.v = self.v or _zeros(params)
        for key in params:
            step = self.learning_rate * grads[key]
            self.v[key] = self.beta * self.v[key] + step
            params[key] = params[key] - (self.beta * self.v[key] + step)


class NesterovStateNotCarried(Nesterov):
    def update(self, params, grads):
        v = _zeros(params)
        self.v = v
        for key in params:
            step = self.learning_rate * grads[key]
            self.v[key] = self.beta * self.v[key] + step
            params[key] -= self.beta * self.v[key] + step


class NesterovClassicForm(Nesterov):
    """Valid: p -= (1 + beta) v_new - beta v_old, algebraically the course's update."""
    def update(self, params, grads):
        self.v = self.v or _zeros(params)
        for key in params:
            v_old = self.v[key]
            self.v[key] = self.beta * v_old + self.learning_rate * grads[key]
            params[key] -= (1 + self.beta) * self.v[key] - self.beta * v_old


def _adam_like(second_moment, bias_correction=True, t_after=False, t_increment=True,
               eps_inside=False, swap_betas=False, out_of_place=False, folded_lr=False,
               belief_old_v=False, g_squared=False, state_every_update=False, fixed_epsilon=None):
    """An Adam (second_moment "u") or AdaBelief ("s") update with the given mistakes."""
    def update(self, params, grads):
        if self.v is None or state_every_update:
            self.v = _zeros(params)
            setattr(self, second_moment, _zeros(params))
        second = getattr(self, second_moment)
        if not t_after and t_increment:
            self.t += 1
        t = self.t if t_increment else self.t + 1
        b1, b2 = (self.beta2, self.beta1) if swap_betas else (self.beta1, self.beta2)
        eps = self.epsilon if fixed_epsilon is None else fixed_epsilon
        for key in params:
            g = grads[key]
            v_old = self.v[key]
            self.v[key] = b1 * v_old + (1 - b1) * g
            if second_moment == "u" or g_squared:
                d = g
            else:
                d = g - (v_old if belief_old_v else self.v[key])
            second[key] = b2 * second[key] + (1 - b2) * d * d
            if folded_lr:
                lr_t = self.learning_rate * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                step = lr_t * self.v[key] / (np.sqrt(second[key]) + eps)
            else:
                v_hat = self.v[key] / (1 - b1 ** t) if bias_correction else self.v[key]
                s_hat = second[key] / (1 - b2 ** t) if bias_correction else second[key]
                step = self.learning_rate * v_hat / (np.sqrt(s_hat + eps) if eps_inside
                                                     else np.sqrt(s_hat) + eps)
            if out_of_place:
                params[key] = params[key] - step
            else:
                params[key] -= step
        if t_after:
            self.t += 1
    return update


def _variant(base, name, **mistakes):
    second = "u" if base is Adam else "s"
    return type(name, (base,), {"update": _adam_like(second, **mistakes)})


class AdamInPlaceState(Adam):
    """Valid: in-place moment updates."""
    def update(self, params, grads):
        if self.v is None:
            self.v, self.u = _zeros(params), _zeros(params)
        self.t += 1
        for key in params:
            g = grads[key]
            self.v[key] *= self.beta1
            self.v[key] += (1 - self.beta1) * g
            self.u[key] *= self.beta2
            self.u[key] += (1 - self.beta2) * g ** 2
            params[key] -= self.learning_rate * (self.v[key] / (1 - self.beta1 ** self.t)) / (
                np.sqrt(self.u[key] / (1 - self.beta2 ** self.t)) + self.epsilon)


class AdamRearranged(Adam):
    """Valid: the same formula, grouped differently (sqrt(u)/sqrt(1-b2^t), lr / denominator)."""
    def update(self, params, grads):
        if self.v is None:
            self.v = {k: np.zeros_like(p) for k, p in params.items()}
            self.u = {k: np.zeros_like(p) for k, p in params.items()}
        self.t += 1
        c1 = 1.0 - self.beta1 ** self.t
        c2 = math.sqrt(1.0 - self.beta2 ** self.t)
        for key, p in params.items():
            g = grads[key]
            self.v[key] = self.beta1 * self.v[key] + (1.0 - self.beta1) * g
            self.u[key] = self.beta2 * self.u[key] + (1.0 - self.beta2) * np.square(g)
            denominator = np.sqrt(self.u[key]) / c2 + self.epsilon
            p -= self.learning_rate / denominator * (self.v[key] / c1)


class AdaBeliefInPlaceState(AdaBelief):
    """Valid: in-place moment updates, state built in a loop."""
    def update(self, params, grads):
        if self.v is None:
            self.v, self.s = {}, {}
            for key, p in params.items():
                self.v[key] = np.zeros(p.shape, dtype=p.dtype)
                self.s[key] = np.zeros(p.shape, dtype=p.dtype)
        self.t += 1
        for key in params:
            g = grads[key]
            self.v[key] *= self.beta1
            self.v[key] += (1 - self.beta1) * g
            self.s[key] *= self.beta2
            self.s[key] += (1 - self.beta2) * np.square(g - self.v[key])
            v_hat = self.v[key] / (1 - self.beta1 ** self.t)
            s_hat = self.s[key] / (1 - self.beta2 ** self.t)
            params[key] -= self.learning_rate * v_hat / (np.sqrt(s_hat) + self.epsilon)


# ---------------------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------------------

BUGS = {
    "init_wrong_shape": ("test_initialize_parameters", {"initialize_parameters": _init(w3_transposed=True)}),
    "init_bias_nonzero": ("test_initialize_parameters", {"initialize_parameters": _init(bias=0.01)}),
    "init_not_scaled": ("test_initialize_parameters", {"initialize_parameters": _init(scale=False)}),
    "init_ignores_dtype": ("test_initialize_parameters", {"initialize_parameters": _init(keep_dtype=False)}),
    "init_w2_before_w1": ("test_initialize_parameters",
                          {"initialize_parameters": _init(draw_order=("W2", "W1", "W3"))}),
    "init_seeds_every_draw": ("test_initialize_parameters", {"initialize_parameters": _init(seed="every")}),
    "init_no_seed": ("test_initialize_parameters", {"initialize_parameters": _init(seed=None)}),

    "leaky_backward_slope_zero": ("test_leaky_relu", {"LeakyRelu": ReluBackward}),
    "leaky_backward_alpha_on_positive": ("test_leaky_relu", {"LeakyRelu": AlphaOnPositiveSide}),
    "leaky_backward_mask_from_dout": ("test_leaky_relu", {"LeakyRelu": BackwardMaskFromDout}),
    "leaky_backward_modifies_dout": ("test_leaky_relu", {"LeakyRelu": BackwardModifiesDout}),
    "leaky_forward_modifies_x": ("test_leaky_relu", {"LeakyRelu": ForwardModifiesX}),
    "leaky_forward_wrong_mask": ("test_leaky_relu", {"LeakyRelu": ForwardWrongMask}),
    "leaky_forward_float64": ("test_leaky_relu", {"LeakyRelu": ForwardFloat64}),

    "affine_no_bias": ("test_affine", {"Affine": AffineNoBias}),
    "affine_no_reshape": ("test_affine", {"Affine": AffineNoReshape}),
    "affine_db_axis1": ("test_affine", {"Affine": AffineDbAxis1}),
    "affine_db_not_summed": ("test_affine", {"Affine": AffineDbNotSummed}),
    "affine_dW_transposed": ("test_affine", {"Affine": AffineDwTransposed}),
    "affine_dx_not_reshaped": ("test_affine", {"Affine": AffineDxNotReshaped}),

    "net_predict_skips_last_layer": ("test_network", {"ThreeLayerNet": PredictSkipsLastLayer}),
    "net_predict_skips_activations": ("test_network", {"ThreeLayerNet": PredictSkipsActivations}),
    "net_predict_applies_softmax": ("test_network", {"ThreeLayerNet": PredictAppliesSoftmax}),
    "net_loss_softmax_twice": ("test_network", {"ThreeLayerNet": LossSoftmaxTwice}),
    "net_loss_without_last_layer": ("test_network", {"ThreeLayerNet": LossWithoutLastLayer}),

    "adagrad_no_accumulation": ("test_adagrad", {"AdaGrad": AdaGradNoAccumulation}),
    "adagrad_epsilon_inside_sqrt": ("test_adagrad", {"AdaGrad": AdaGradEpsilonInsideSqrt}),
    "adagrad_no_sqrt": ("test_adagrad", {"AdaGrad": AdaGradNoSqrt}),
    "adagrad_out_of_place": ("test_adagrad", {"AdaGrad": AdaGradOutOfPlace}),

    "rmsprop_beta_swapped": ("test_rmsprop", {"RMSprop": RMSpropBetaSwapped}),
    "rmsprop_adagrad_accumulation": ("test_rmsprop", {"RMSprop": RMSpropAdaGradAccumulation}),
    "rmsprop_fixed_epsilon": ("test_rmsprop", {"RMSprop": RMSpropFixedEpsilon}),
    "rmsprop_out_of_place": ("test_rmsprop", {"RMSprop": RMSpropOutOfPlace}),

    "momentum_v_without_lr": ("test_momentum", {"Momentum": MomentumVWithoutLr}),
    "momentum_sign_error": ("test_momentum", {"Momentum": MomentumSignError}),
    "momentum_state_not_carried": ("test_momentum", {"Momentum": MomentumStateNotCarried}),
    "momentum_out_of_place": ("test_momentum", {"Momentum": MomentumOutOfPlace}),

    "nesterov_as_momentum": ("test_nesterov", {"Nesterov": NesterovAsMomentum}),
    "nesterov_state_not_carried": ("test_nesterov", {"Nesterov": NesterovStateNotCarried}),
    "nesterov_out_of_place": ("test_nesterov", {"Nesterov": NesterovOutOfPlace}),

    "adam_no_bias_correction": ("test_adam", {"Adam": _variant(Adam, "AdamNoBias", bias_correction=False)}),
    "adam_t_from_zero": ("test_adam", {"Adam": _variant(Adam, "AdamTAfter", t_after=True)}),
    "adam_t_not_incremented": ("test_adam", {"Adam": _variant(Adam, "AdamTFixed", t_increment=False)}),
    "adam_epsilon_inside_sqrt": ("test_adam", {"Adam": _variant(Adam, "AdamEpsInside", eps_inside=True)}),
    "adam_betas_swapped": ("test_adam", {"Adam": _variant(Adam, "AdamSwapped", swap_betas=True)}),
    "adam_folded_learning_rate": ("test_adam", {"Adam": _variant(Adam, "AdamFolded", folded_lr=True)}),
    "adam_fixed_epsilon": ("test_adam", {"Adam": _variant(Adam, "AdamFixedEps", fixed_epsilon=1e-2)}),
    "adam_state_not_carried": ("test_adam", {"Adam": _variant(Adam, "AdamFresh", state_every_update=True)}),
    "adam_out_of_place": ("test_adam", {"Adam": _variant(Adam, "AdamOutOfPlace", out_of_place=True)}),

    "adabelief_old_v": ("test_adabelief",
                        {"AdaBelief": _variant(AdaBelief, "BeliefOldV", belief_old_v=True)}),
    "adabelief_is_adam": ("test_adabelief",
                          {"AdaBelief": _variant(AdaBelief, "BeliefIsAdam", g_squared=True)}),
    "adabelief_no_bias_correction": ("test_adabelief",
                                     {"AdaBelief": _variant(AdaBelief, "BeliefNoBias",
                                                            bias_correction=False)}),
    "adabelief_state_recreated": ("test_adabelief",
                                  {"AdaBelief": _variant(AdaBelief, "BeliefFresh", state_every_update=True)}),
    "adabelief_out_of_place": ("test_adabelief",
                               {"AdaBelief": _variant(AdaBelief, "BeliefOutOfPlace", out_of_place=True)}),
}

ALTERNATIVES = {
    "init_with_normal": {"initialize_parameters": init_with_normal},
    "init_cast_then_scale": {"initialize_parameters": init_cast_then_scale},
    "leaky_np_maximum": {"LeakyRelu": LeakyMaximum},
    "leaky_course_style": {"LeakyRelu": LeakyCourseStyle},
    "affine_einsum": {"Affine": AffineEinsum},
    "affine_np_dot": {"Affine": AffineDot},
    "network_explicit_layers": {"ThreeLayerNet": NetworkExplicitLayers},
    "adagrad_slice_assign": {"AdaGrad": AdaGradSliceAssign},
    "rmsprop_in_place_state": {"RMSprop": RMSpropInPlaceState},
    "momentum_in_place_state": {"Momentum": MomentumInPlaceState},
    "nesterov_classic_form": {"Nesterov": NesterovClassicForm},
    "adam_in_place_state": {"Adam": AdamInPlaceState},
    "adam_rearranged": {"Adam": AdamRearranged},
    "adabelief_in_place_state": {"AdaBelief": AdaBeliefInPlaceState},
}


# ---------------------------------------------------------------------------------------
# Unfinished code: the notebook's placeholders raise NotImplementedError
# ---------------------------------------------------------------------------------------

def _raise(*args, **kwargs):
    raise NotImplementedError("请完成这里的代码")


class UnfinishedLeakyRelu(MaskedLeakyRelu):
    backward = _raise


class UnfinishedAffine(Affine):
    forward = _raise


class UnfinishedNet(ThreeLayerNet):
    loss = _raise


class UnfinishedAdam(Adam):
    update = _raise


UNFINISHED = {
    "initialize_parameters": ("test_initialize_parameters", {"initialize_parameters": _raise},
                              "initialize_parameters(5, 4, 3, 0.5)"),
    "leaky_relu_backward": ("test_leaky_relu", {"LeakyRelu": UnfinishedLeakyRelu}, "LeakyRelu.backward"),
    "affine_forward": ("test_affine", {"Affine": UnfinishedAffine}, "Affine.forward"),
    "network_loss": ("test_network", {"ThreeLayerNet": UnfinishedNet}, "ThreeLayerNet.loss"),
    "adam_update": ("test_adam", {"Adam": UnfinishedAdam}, "Adam.update"),
}
