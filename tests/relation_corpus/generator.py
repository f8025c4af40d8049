"""The held-apart corpus: one-bug submissions of each graded part written the way students
write them, independently of the catalogue (autograder/catalogue.py) -- other variable
names, loops or vectorised code, state updated in place or not -- to measure how often a
failed check names the mistake (a catalogue entry or a relation to the reference).

A template per part holds slots; a variant fills them with a student's code (the correct
one, or one slip). Each Variant says what naming it would be right (expect: catalogue
ids "mistake:<id>" and relation ids "relation:<kind:detail>"; empty: no name is right,
i.e. any name is wrong) or that it is valid (a different but correct way: it must pass).

    variants()      every Variant, in part order
    namespace(v)    a notebook-like namespace with v's source in place of its part's name
"""
from dataclasses import dataclass

from autograder import catalogue


@dataclass(frozen=True)
class Variant:
    id: str
    part: str            # grade id
    source: str          # the student's cell: defines the part's name
    expect: tuple = ()   # acceptable names ("mistake:…", "relation:…"); () with valid: must pass
    valid: bool = False


def namespace(variant):
    """A fresh notebook-like namespace (the reference's names) with variant's source run in it."""
    ns = catalogue.namespace()
    exec(compile(variant.source, f"<corpus {variant.id}>", "exec"), ns)
    return ns


def _fill(template, **slots):
    text = template
    for name, code in slots.items():
        text = text.replace("{" + name + "}", code)
    return text


# ---------------------------------------------------------------------------- init
_INIT = '''def initialize_parameters(input_size, hidden_size, output_size, weight_init_std, dtype=np.float32):
    {seed}
    sizes = [input_size, hidden_size, hidden_size, output_size]
    params = {}
    for i in range(3):
        fan_in, fan_out = sizes[i], sizes[i + 1]
        params['W' + str(i + 1)] = {W}
        params['b' + str(i + 1)] = {b}
    return params
'''
_INIT_OK = dict(seed="np.random.seed(1)", W="(np.random.randn(fan_in, fan_out) * weight_init_std).astype(dtype)",
                b="np.zeros(fan_out, dtype=dtype)")


def _init(id, expect=(), valid=False, **slots):
    return Variant(f"init_{id}", "test_initialize_parameters", _fill(_INIT, **dict(_INIT_OK, **slots)), expect, valid)


INIT = [
    _init("loop_ok", valid=True),
    _init("normal_ok", valid=True, W="np.random.normal(0.0, weight_init_std, size=(fan_in, fan_out)).astype(dtype)"),
    _init("no_std", ("relation:scale:1/weight_init_std", "mistake:init_not_scaled"),
          W="np.random.randn(fan_in, fan_out).astype(dtype)"),
    _init("fixed_std", ("relation:scale:×0.01/weight_init_std",),
          W="(0.01 * np.random.randn(fan_in, fan_out)).astype(dtype)"),
    _init("sqrt_std", ("relation:scale:weight_init_std^-0.5",),
          W="(np.random.randn(fan_in, fan_out) * np.sqrt(weight_init_std)).astype(dtype)"),
    _init("std_squared", ("relation:scale:weight_init_std",),
          W="(np.random.randn(fan_in, fan_out) * weight_init_std ** 2).astype(dtype)"),
    _init("bias_ones", ("relation:shift:+1",), b="np.ones(fan_out, dtype=dtype)"),
    _init("float64", ("relation:dtype:dtype=float64", "mistake:init_ignores_dtype"),
          W="np.random.randn(fan_in, fan_out) * weight_init_std", b="np.zeros(fan_out)"),
    _init("bias_float64", ("relation:dtype:dtype=float64",), b="np.zeros(fan_out)"),
    _init("no_seed", ("mistake:init_no_seed",), seed="pass"),
    _init("he_scale", (), W="(np.random.randn(fan_in, fan_out) * np.sqrt(2.0 / fan_in)).astype(dtype)"),
]

# ---------------------------------------------------------------------------- LeakyRelu
_LEAKY = '''class LeakyRelu:
    def __init__(self):
        self.alpha = 0.1
        self.neg = None

    def forward(self, x):
        self.neg = {mask}
{forward}

    def backward(self, dout):
{backward}
'''
_LEAKY_OK = dict(mask="x <= 0", forward="        return np.where(self.neg, self.alpha * x, x)",
                 backward="        return np.where(self.neg, self.alpha * dout, dout)")
_LEAKY_LOOPY = dict(forward="        y = x.copy()\n        y[self.neg] = y[self.neg] * self.alpha\n        return y",
                    backward="        grad = dout.copy()\n        grad[self.neg] *= self.alpha\n        return grad")


def _leaky(id, expect=(), valid=False, **slots):
    return Variant(f"leaky_{id}", "test_leaky_relu", _fill(_LEAKY, **dict(_LEAKY_OK, **slots)), expect, valid)


_SLOPE_001 = "relation:piecewise:x>0:×1,x<=0:×0.1"
LEAKY = [
    _leaky("where_ok", valid=True),
    _leaky("copy_ok", valid=True, **_LEAKY_LOOPY),
    _leaky("strict_mask_ok", valid=True, mask="x < 0"),
    _leaky("maximum_ok", valid=True, forward="        return np.maximum(x, self.alpha * x)"),
    _leaky("slope_001", (_SLOPE_001,), forward="        return np.where(self.neg, 0.01 * x, x)",
           backward="        return np.where(self.neg, 0.01 * dout, dout)"),
    _leaky("slope_001_copy", (_SLOPE_001,),
           forward="        y = x.copy()\n        y[self.neg] *= 0.01\n        return y",
           backward="        grad = dout.copy()\n        grad[self.neg] *= 0.01\n        return grad"),
    _leaky("backward_ignores_dout", ("relation:without:without dout",),
           backward="        return np.where(self.neg, self.alpha, 1.0)"),
    _leaky("backward_relu", ("relation:piecewise:x>0:×1,x<=0:×0", "mistake:leaky_backward_slope_zero"),
           backward="        return np.where(self.neg, 0, dout)"),
    _leaky("forward_relu", ("relation:piecewise:x>0:×1,x<=0:×0", "mistake:leaky_forward_relu"),
           forward="        return np.maximum(x, 0)"),
    _leaky("mask_inverted", ("relation:piecewise:x>0:×0.1,x<=0:×10", "mistake:leaky_mask_inverted"),
           mask="x > 0"),
    _leaky("backward_alpha_on_positive", ("relation:piecewise:x>0:×0.1,x<=0:×10",
                                          "mistake:leaky_backward_alpha_on_positive"),
           backward="        return np.where(self.neg, dout, self.alpha * dout)"),
    _leaky("backward_negated", ("relation:scale:-1",),
           backward="        return -np.where(self.neg, self.alpha * dout, dout)"),
    _leaky("backward_mask_of_dout", ("mistake:leaky_backward_mask_from_dout",),
           backward="        return np.where(dout <= 0, self.alpha * dout, dout)"),
    _leaky("forward_in_place", ("mistake:leaky_forward_modifies_x",),
           forward="        x[self.neg] *= self.alpha\n        return x"),
    _leaky("forward_alpha_not_times_x", (), forward="        return np.where(self.neg, self.alpha, x)"),
]

# ---------------------------------------------------------------------------- Affine
_AFFINE = '''class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.in_shape = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.in_shape = x.shape
        flat = x.reshape(len(x), -1)
        self.x = flat
        {out}
        return out

    def backward(self, dout):
        batch = dout.shape[0]
        {dW}
        {db}
        dx = {dx}
        {ret}
'''
_AFFINE_OK = dict(out="out = flat @ self.W + self.b", dW="self.dW = self.x.T @ dout",
                  db="self.db = dout.sum(axis=0)", dx="dout @ self.W.T", ret="return dx.reshape(self.in_shape)")


def _affine(id, expect=(), valid=False, **slots):
    return Variant(f"affine_{id}", "test_affine", _fill(_AFFINE, **dict(_AFFINE_OK, **slots)), expect, valid)


AFFINE = [
    _affine("matmul_ok", valid=True),
    _affine("dot_ok", valid=True, out="out = np.dot(flat, self.W) + self.b", dW="self.dW = np.dot(self.x.T, dout)",
            db="self.db = np.sum(dout, 0)", dx="np.dot(dout, self.W.T)"),
    _affine("dW_over_batch", ("relation:scale:1/N",), dW="self.dW = self.x.T @ dout / batch"),
    _affine("db_mean", ("relation:scale:1/N", "mistake:affine_db_mean"), db="self.db = dout.mean(axis=0)"),
    _affine("both_over_batch", ("relation:scale:1/N",), dW="self.dW = np.dot(self.x.T, dout) / batch",
            db="self.db = np.sum(dout, axis=0) / batch"),
    _affine("no_bias", ("relation:shift:-b", "mistake:affine_no_bias"), out="out = flat @ self.W"),
    _affine("bias_subtracted", ("relation:shift:-2·b",), out="out = flat @ self.W - self.b"),
    _affine("dx_negated", ("relation:scale:-1",), dx="-(dout @ self.W.T)"),
    _affine("db_keepdims", ("relation:shape:shape",), db="self.db = dout.sum(axis=0, keepdims=True)"),
    _affine("dx_not_reshaped", ("relation:shape:shape", "mistake:affine_dx_not_reshaped"), ret="return dx"),
    _affine("dW_transposed", ("relation:transpose:transpose", "mistake:affine_dW_transposed"),
            dW="self.dW = dout.T @ self.x"),
    _affine("dW_times_batch", ("relation:scale:N",), dW="self.dW = batch * (self.x.T @ dout)"),
    _affine("db_total", ("relation:summed:all",), db="self.db = dout.sum()"),
    _affine("db_rows", ("mistake:affine_db_axis1", "relation:summed:axis=1"), db="self.db = np.sum(dout, axis=-1)"),
    _affine("dx_without_transpose", (), dx="dout @ self.W"),
]

# ---------------------------------------------------------------------------- ThreeLayerNet
_NET_PREDICT = "        pred = x\n        for layer in self.layers.values():\n            pred = layer.forward(pred)\n"


def _net(id, predict=None, expect=(), valid=False, old=_NET_PREDICT, new=None):
    source = catalogue.reference_source("ThreeLayerNet")
    if predict is not None:
        new = "        pred = x\n" + "".join(f"        pred = self.layers['{name}'].forward(pred)\n" for name in predict)
    assert source.count(old) == 1
    return Variant(f"net_{id}", "test_network", source.replace(old, new), expect, valid)


NETWORK = [
    _net("explicit_ok", ("Affine1", "LeakyRelu1", "Affine2", "LeakyRelu2", "Affine3"), valid=True),
    _net("swap_relu_affine", ("Affine1", "Affine2", "LeakyRelu1", "LeakyRelu2", "Affine3"),
         ("relation:layer_order:swap LeakyRelu1 Affine2",)),
    _net("skip_relu2", ("Affine1", "LeakyRelu1", "Affine2", "Affine3"), ("relation:layer_order:skip LeakyRelu2",)),
    _net("repeat_affine2", ("Affine1", "LeakyRelu1", "Affine2", "Affine2", "LeakyRelu2", "Affine3"),
         ("relation:layer_order:repeat Affine2",)),
    _net("skip_all_relu", ("Affine1", "Affine2", "Affine3"), ("mistake:network_predict_skips_activations",)),
    _net("softmax_in_predict", None, ("mistake:network_predict_applies_softmax",),
         old="        return pred\n\n    def loss", new="        return softmax(pred)\n\n    def loss"),
    _net("loss_by_hand", None, ("mistake:network_loss_without_last_layer",),
         old="self.lastLayer.forward(pred, y)", new="cross_entropy_error(softmax(pred), y)"),
    _net("first_layer_copy", None, (),
         old="Affine(self.params['W1'], self.params['b1'])", new="Affine(self.params['W1'].copy(), self.params['b1'])"),
]

# ---------------------------------------------------------------------------- optimizers
_ADAGRAD = '''class AdaGrad:
    def __init__(self, learning_rate=0.001, epsilon=1e-7):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.grads_squared = None

    def update(self, params, grads):
        if self.grads_squared is None:
            self.grads_squared = {}
            for name, p in params.items():
                self.grads_squared[name] = np.zeros_like(p)
        for name, g in grads.items():
            h = self.grads_squared
            {acc}
            params[name] {op} {lr} * g / ({den})
'''
_ADAGRAD_OK = dict(acc="h[name] += g ** 2", op="-=", lr="self.learning_rate", den="np.sqrt(h[name]) + self.epsilon")


def _adagrad(id, expect=(), valid=False, **slots):
    return Variant(f"adagrad_{id}", "test_adagrad", _fill(_ADAGRAD, **dict(_ADAGRAD_OK, **slots)), expect, valid)


ADAGRAD = [
    _adagrad("ok", valid=True),
    _adagrad("eps_inside", ("mistake:adagrad_epsilon_inside_sqrt",), den="np.sqrt(h[name] + self.epsilon)"),
    _adagrad("no_accumulation", ("mistake:adagrad_no_accumulation", "relation:update_rule:second_moment_not_accumulated"),
             acc="h[name] = g * g"),
    _adagrad("no_lr", ("relation:update_rule:learning_rate_missing",), lr="1"),
    _adagrad("plus", ("mistake:adagrad_sign_error", "relation:update_rule:sign_flipped"), op="+="),
    _adagrad("eps_fixed", ("mistake:adagrad_fixed_epsilon", "relation:update_rule:ignores_epsilon"),
             den="np.sqrt(h[name]) + 1e-7"),
    _adagrad("no_sqrt", ("mistake:adagrad_no_sqrt", "relation:update_rule:no_root"), den="h[name] + self.epsilon"),
]

_RMSPROP = '''class RMSprop:
    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta=0.999):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.beta = beta
        self.grads_squared = None

    def update(self, params, grads):
        {init}
        for k in params.keys():
            cache = self.grads_squared
            cache[k] = {avg}
            params[k] {op} self.learning_rate * grads[k] / (np.sqrt(cache[k]) + self.epsilon)
'''
_RMS_INIT = ("if self.grads_squared is None:\n"
             "            self.grads_squared = {k: np.zeros_like(v) for k, v in params.items()}")
_RMSPROP_OK = dict(init=_RMS_INIT, avg="self.beta * cache[k] + (1 - self.beta) * np.square(grads[k])", op="-=")


def _rmsprop(id, expect=(), valid=False, **slots):
    return Variant(f"rmsprop_{id}", "test_rmsprop", _fill(_RMSPROP, **dict(_RMSPROP_OK, **slots)), expect, valid)


RMSPROP = [
    _rmsprop("ok", valid=True),
    _rmsprop("swapped", ("mistake:rmsprop_beta_swapped", "relation:update_rule:second_moment_coefficients_swapped"),
             avg="(1 - self.beta) * cache[k] + self.beta * np.square(grads[k])"),
    _rmsprop("no_one_minus", ("relation:update_rule:second_moment_without_one_minus_beta",),
             avg="self.beta * cache[k] + np.square(grads[k])"),
    _rmsprop("beta_fixed", ("relation:update_rule:ignores_beta",),
             avg="0.999 * cache[k] + (1 - 0.999) * np.square(grads[k])"),
    _rmsprop("reset", ("mistake:rmsprop_state_reset", "relation:update_rule:state_reset"),
             init="self.grads_squared = {k: np.zeros_like(v) for k, v in params.items()}"),
    _rmsprop("plus", ("relation:update_rule:sign_flipped",), op="+="),
]

_MOMENTUM = '''class Momentum:
    def __init__(self, learning_rate=0.001, beta=0.9):
        self.learning_rate = learning_rate
        self.beta = beta
        self.v = None

    def update(self, params, grads):
        {init}
        for key in params:
            {velocity}
            {step}
'''
_MOM_INIT = ("if self.v is None:\n"
             "            self.v = dict((key, np.zeros_like(val)) for key, val in params.items())")
_MOMENTUM_OK = dict(init=_MOM_INIT, velocity="self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]",
                    step="params[key] -= self.v[key]")


def _momentum(id, expect=(), valid=False, **slots):
    return Variant(f"momentum_{id}", "test_momentum", _fill(_MOMENTUM, **dict(_MOMENTUM_OK, **slots)), expect, valid)


MOMENTUM = [
    _momentum("ok", valid=True),
    _momentum("negative_velocity_ok", valid=True,
              velocity="self.v[key] = self.beta * self.v[key] - self.learning_rate * grads[key]",
              step="params[key] += self.v[key]"),
    _momentum("lr_twice", ("mistake:momentum_learning_rate_twice", "relation:update_rule:learning_rate_twice"),
              step="params[key] -= self.learning_rate * self.v[key]"),
    _momentum("one_minus_beta", ("mistake:momentum_one_minus_beta", "relation:update_rule:momentum_gain_one_minus_beta"),
              velocity="self.v[key] = self.beta * self.v[key] + (1 - self.beta) * self.learning_rate * grads[key]"),
    _momentum("no_lr", ("mistake:momentum_without_learning_rate", "relation:update_rule:learning_rate_missing"),
              velocity="self.v[key] = self.beta * self.v[key] + grads[key]"),
    _momentum("reset", ("mistake:momentum_state_reset", "relation:update_rule:state_reset"),
              init="self.v = {key: np.zeros_like(val) for key, val in params.items()}"),
    _momentum("beta_fixed", ("relation:update_rule:ignores_beta",),
              velocity="self.v[key] = 0.9 * self.v[key] + self.learning_rate * grads[key]"),
    _momentum("plus", ("mistake:momentum_sign_error", "relation:update_rule:sign_flipped"),
              step="params[key] += self.v[key]"),
]

_NESTEROV = '''class Nesterov:
    def __init__(self, learning_rate=0.001, beta=0.9):
        self.learning_rate = learning_rate
        self.beta = beta
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = {}
            for key in params:
                self.v[key] = np.zeros_like(params[key])
        lr, mu = {lr}, self.beta
        for key in params:
            g = grads[key]
            self.v[key] = mu * self.v[key] + lr * g
            {step}
'''
_NESTEROV_OK = dict(lr="self.learning_rate", step="params[key] -= mu * self.v[key] + lr * g")


def _nesterov(id, expect=(), valid=False, **slots):
    return Variant(f"nesterov_{id}", "test_nesterov", _fill(_NESTEROV, **dict(_NESTEROV_OK, **slots)), expect, valid)


NESTEROV = [
    _nesterov("ok", valid=True),
    _nesterov("as_momentum", ("mistake:nesterov_as_momentum", "relation:update_rule:nesterov_as_momentum"),
              step="params[key] -= self.v[key]"),
    _nesterov("no_gradient_term", ("mistake:nesterov_missing_gradient_term",
                                   "relation:update_rule:nesterov_without_gradient_term"),
              step="params[key] -= mu * self.v[key]"),
    _nesterov("book_form", ("mistake:nesterov_lookahead_on_new_velocity",
                            "relation:update_rule:nesterov_book_form_with_new_v"),
              step="params[key] -= mu * mu * self.v[key] + (1 + mu) * lr * g"),
    _nesterov("plus", ("relation:update_rule:sign_flipped",), step="params[key] += mu * self.v[key] + lr * g"),
    _nesterov("lr_fixed", ("relation:update_rule:ignores_learning_rate",), lr="0.001"),
]

_ADAM = '''class Adam:
    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta1=0.9, beta2=0.999):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.beta1 = beta1
        self.beta2 = beta2
        self.v = None
        self.u = None
        self.t = 0

    def update(self, params, grads):
        {init}
        {tick}
        b1, b2 = {b1}, self.beta2
        for key in params:
            g = grads[key]
            {m}
            {r}
            m_hat = {m_hat}
            r_hat = {r_hat}
            params[key] -= self.learning_rate * {num} / ({den})
        {tock}
'''
_ADAM_INIT = ("if self.v is None:\n"
              "            self.v = {key: np.zeros_like(p) for key, p in params.items()}\n"
              "            self.u = {key: np.zeros_like(p) for key, p in params.items()}")
_ADAM_OK = dict(init=_ADAM_INIT, tick="self.t += 1", tock="", b1="self.beta1",
                m="self.v[key] = b1 * self.v[key] + (1 - b1) * g",
                r="self.u[key] = b2 * self.u[key] + (1 - b2) * g * g",
                m_hat="self.v[key] / (1 - b1 ** self.t)", r_hat="self.u[key] / (1 - b2 ** self.t)",
                num="m_hat", den="np.sqrt(r_hat) + self.epsilon")


def _adam(id, expect=(), valid=False, **slots):
    return Variant(f"adam_{id}", "test_adam", _fill(_ADAM, **dict(_ADAM_OK, **slots)), expect, valid)


ADAM = [
    _adam("ok", valid=True),
    _adam("in_place_ok", valid=True, m="self.v[key] *= b1\n            self.v[key] += (1 - b1) * g",
          r="self.u[key] *= b2\n            self.u[key] += (1 - b2) * g ** 2"),
    _adam("no_correction", ("mistake:adam_no_bias_correction", "relation:update_rule:no_bias_correction"),
          m_hat="self.v[key]", r_hat="self.u[key]"),
    _adam("only_m_corrected", ("relation:update_rule:no_second_bias_correction",), r_hat="self.u[key]"),
    _adam("only_r_corrected", ("relation:update_rule:no_first_bias_correction",), m_hat="self.v[key]"),
    _adam("eps_inside", ("mistake:adam_epsilon_inside_sqrt", "relation:update_rule:epsilon_inside_root"),
          den="np.sqrt(r_hat + self.epsilon)"),
    _adam("t_plus_one", ("mistake:adam_t_off_by_one", "relation:update_rule:bias_correction_one_step_ahead"),
          m_hat="self.v[key] / (1 - b1 ** (self.t + 1))", r_hat="self.u[key] / (1 - b2 ** (self.t + 1))"),
    _adam("t_at_end", ("mistake:adam_t_late", "relation:update_rule:bias_correction_one_step_behind"),
          tick="", tock="self.t += 1"),
    _adam("m_sum", ("mistake:adam_first_moment_sum", "relation:update_rule:first_moment_without_one_minus_beta"),
          m="self.v[key] = b1 * self.v[key] + g"),
    _adam("r_sum", ("relation:update_rule:second_moment_without_one_minus_beta",),
          r="self.u[key] = b2 * self.u[key] + g * g"),
    _adam("r_swapped", ("relation:update_rule:second_moment_coefficients_swapped",),
          r="self.u[key] = (1 - b2) * self.u[key] + b2 * g * g"),
    _adam("gradient_numerator", ("relation:update_rule:numerator_is_gradient",), num="g"),
    _adam("beta1_fixed", ("relation:update_rule:ignores_beta1",), b1="0.9"),
    _adam("reset", ("mistake:adam_state_reset", "relation:update_rule:state_reset"),
          init="self.v = {key: np.zeros_like(p) for key, p in params.items()}\n"
               "        self.u = {key: np.zeros_like(p) for key, p in params.items()}"),
]

_ADABELIEF = '''class AdaBelief:
    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta1=0.9, beta2=0.999):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.beta1 = beta1
        self.beta2 = beta2
        self.v = None
        self.s = None
        self.t = 0

    def update(self, params, grads):
        if self.v is None:
            self.v, self.s = {}, {}
            for key, value in params.items():
                self.v[key] = np.zeros_like(value)
                self.s[key] = np.zeros_like(value)
        self.t += 1
        for key, g in grads.items():
            {m}
            {s}
            v_hat = self.v[key] / (1 - self.beta1 ** self.t)
            s_hat = self.s[key] / (1 - self.beta2 ** self.t)
            params[key] -= self.learning_rate * v_hat / (np.sqrt(s_hat) + {eps})
'''
_ADABELIEF_OK = dict(m="self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * g",
                     s="self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * (g - self.v[key]) ** 2",
                     eps="self.epsilon")


def _adabelief(id, expect=(), valid=False, **slots):
    return Variant(f"adabelief_{id}", "test_adabelief", _fill(_ADABELIEF, **dict(_ADABELIEF_OK, **slots)), expect,
                   valid)


ADABELIEF = [
    _adabelief("ok", valid=True),
    _adabelief("old_v", ("mistake:adabelief_old_v", "relation:update_rule:belief_with_old_v"),
               m="diff = g - self.v[key]\n            self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * g",
               s="self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * diff ** 2"),
    _adabelief("is_adam", ("mistake:adabelief_is_adam", "relation:update_rule:belief_of_gradient"),
               s="self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * g ** 2"),
    _adabelief("s_sum", ("relation:update_rule:second_moment_without_one_minus_beta",),
               s="self.s[key] = self.beta2 * self.s[key] + (g - self.v[key]) ** 2"),
    _adabelief("v_swapped", ("relation:update_rule:first_moment_coefficients_swapped",),
               m="self.v[key] = (1 - self.beta1) * self.v[key] + self.beta1 * g"),
    _adabelief("eps_fixed", ("relation:update_rule:ignores_epsilon",), eps="1e-7"),
]


def variants():
    """Every Variant of the corpus, in part order."""
    return INIT + LEAKY + AFFINE + NETWORK + ADAGRAD + RMSPROP + MOMENTUM + NESTEROV + ADAM + ADABELIEF
