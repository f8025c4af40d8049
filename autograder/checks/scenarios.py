"""The scenarios: what each check does to the code under test, one function per kind of
part (SCENARIOS, scenario_of), the inputs they draw from a seed, and running a scenario on
a namespace or a Student (record_of) and on the reference (expected_record).

scenario(code, record, part, given, seed, **options) calls the code under test through
code (observe.Code) and records what it observes in record (observe.Record).
"""
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from autograder import reference
from autograder.checks.compare import RTOL, compare_structure
from autograder.checks.observe import Code, Obs, Record, Stop, call_text, dtype_name, first_nonfinite, nonfinite_stop, observation_label
from autograder.gradcheck import numerical_gradient, numerical_gradient_array
from autograder.parts import PARTS

DTYPES = (np.float64, np.float32)
LEAKY_ALPHA = reference.LeakyRelu().alpha  # the slope x <= 0 the text asks for (named in relations)
# Numerical gradients (float64, centered differences) against analytic ones.
GRADCHECK_TOL = {"layer": 1e-7, "network": 1e-6}
OPTIMIZER_STEPS = 6
# The state of numpy's global generator each call of initialize_parameters starts from,
# so that a function that forgets to seed gives the same numbers in every run (without a
# seed; with one, the state is drawn from it).
GLOBAL_SEED = 12345
# Each scenario's stream of random inputs: alone (no seed) it gives the fixed inputs of the
# notebook's own hidden-test cells; with a seed, [stream, seed] seeds the Generator.
STREAMS = {"LeakyRelu": 20240601, "Affine": 20240602, "ThreeLayerNet": 20240603, "optimizer": 20240604}
# How a seed moves the optimizers' non-default hyper-parameters of parts.py: learning_rate
# and epsilon by a factor from these ranges, each beta by a factor on 1 - beta. Within them
# every catalogued mistake stays distinguishable: beta1 (0.75-0.85) never meets beta2
# (0.875-0.925), no beta comes near 0.5, epsilon stays far from the constants a mistake
# writes in its place (1e-7, 1e-8) and large enough to matter for the smallest gradients.
HYPER_FACTORS = {"learning_rate": (0.6, 1.5), "epsilon": (0.5, 2.0), "beta": (0.75, 1.25)}


# --------------------------------------------------------------------------------------
# Scenarios: what each check does. scenario(code, record, part, given, seed, **options)
# calls the code under test and records what it observes; given holds what the student's
# run recorded in record.given (the network's parameters), for the runs of the expected
# codes; seed chooses the random inputs (None: the fixed ones).
# --------------------------------------------------------------------------------------

def _away_from_zero(rng, shape):
    """Random values with 0.1 <= |x| <= 2: a nudge of 1e-5 never crosses LeakyReLU's kink."""
    return rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def inputs_rng(stream, seed):
    """The Generator of a scenario's random inputs: stream (STREAMS) alone without a seed,
    stream and seed (a non-negative int, the student's) with one."""
    return np.random.default_rng(stream if seed is None else [stream, seed])


def hyper_params_of(part, rng, seed):
    """The optimizer part's non-default hyper-parameters: parts.py's without a seed, else
    each moved by a factor drawn from rng within HYPER_FACTORS (3 significant digits)."""
    if seed is None:
        return dict(part.hyper_params)
    moved = {}
    for name, value in part.hyper_params.items():
        is_beta = name.startswith("beta")
        factor = rng.uniform(*HYPER_FACTORS["beta" if is_beta else name])
        moved[name] = float(f"{(1 - (1 - value) * factor) if is_beta else value * factor:.3g}")
    return moved


def initialize_parameters_scenario(code, record, part, given, seed):
    """Several sizes, scales and dtypes (float32 by default, float64 on request); each call
    starts from the same state of numpy's global generator."""
    initialize_parameters = code.lookup(part.name)
    global_seed = GLOBAL_SEED if seed is None else int(inputs_rng(GLOBAL_SEED, seed).integers(2, 2**32))
    cases = [((5, 4, 3, 0.5), None), ((784, 300, 10, 0.01), None),
             ((5, 4, 3, 0.5), np.float64), ((6, 2, 7, 0.1), np.float32)]
    for args, dtype in cases:
        kwargs = {} if dtype is None else {"dtype": dtype}
        call = call_text(part.name, args, kwargs)
        code.seed_global_random(global_seed)
        params = code.get(code.call(call, initialize_parameters, *args, **kwargs), f"{call} 的返回值")
        record.add("init", call, f"dtype {dtype_name(dtype or np.float32)}", params,
                   context={"named": {"weight_init_std": args[3]}})


def leaky_relu_scenario(code, record, part, given, seed):
    """forward and backward on several shapes in float32 and float64 (one layer object
    reused, as in a network), inputs unchanged, and backward against a numerical gradient of
    forward in float64. Inputs are never exactly 0 (either convention is fine)."""
    LeakyRelu = code.lookup(part.name)
    rng = inputs_rng(STREAMS["LeakyRelu"], seed)
    layer = code.call("LeakyRelu()", LeakyRelu)
    for shape in [(4, 5), (3, 2, 4), (7,)]:
        for dtype in DTYPES:
            where = f"输入形状 {shape}，dtype {dtype_name(dtype)}"
            x = _away_from_zero(rng, shape).astype(dtype)
            dout = rng.standard_normal(shape).astype(dtype)
            context = {"region": x > 0, "named": {"alpha": LEAKY_ALPHA}}
            x_sent = code.share(x)
            out = code.method(layer, "forward", "LeakyRelu.forward", x_sent)
            record.add("unchanged", "LeakyRelu.forward", where, {"x": code.observe(x_sent)}, original={"x": x})
            record.add("array", "LeakyRelu.forward 的输出", where, code.get(out, "LeakyRelu.forward 的输出"),
                       context=dict(context, quantity="out"),
                       hint="x > 0 时输出 x，x <= 0 时输出 alpha * x。")
            dout_sent = code.share(dout)
            dx = code.method(layer, "backward", "LeakyRelu.backward", dout_sent)
            record.add("unchanged", "LeakyRelu.backward", where,
                       {"dout": code.observe(dout_sent), "x": code.observe(x_sent)}, original={"dout": dout, "x": x})
            record.add("array", "LeakyRelu.backward 返回的 dx", where, code.get(dx, "LeakyRelu.backward 返回的 dx"),
                       context=dict(context, quantity="dx", factor=dout),
                       hint="x > 0 处梯度为 dout，x <= 0 处为 alpha * dout（按上一次 forward 的输入 x 判断）。")

    shape = (4, 6)
    x = _away_from_zero(rng, shape)
    dout = rng.standard_normal(shape)
    layer = code.call("LeakyRelu()", LeakyRelu)
    code.method(layer, "forward", "LeakyRelu.forward", x)
    dx = code.get(code.method(layer, "backward", "LeakyRelu.backward", dout), "LeakyRelu.backward 返回的 dx")

    def forward(x_):
        out = code.method(code.call("LeakyRelu()", LeakyRelu), "forward", "LeakyRelu.forward", x_)
        return code.get(out, "LeakyRelu.forward 的输出")

    record.add("numeric", "LeakyRelu.backward 的 dx ", f"输入形状 {shape}，float64", dx,
               numeric=numerical_gradient_array(forward, x, dout), tol=GRADCHECK_TOL["layer"],
               context={"quantity": "dx", "region": x > 0, "factor": dout, "named": {"alpha": LEAKY_ALPHA}})


def affine_scenario(code, record, part, given, seed):
    """forward (out), backward (dx, dW, db) for 2-D and 3-D inputs in float32 and float64,
    inputs (x, W, b, dout) unchanged, and dx, dW, db against numerical gradients of forward
    in float64."""
    Affine = code.lookup(part.name)
    rng = inputs_rng(STREAMS["Affine"], seed)
    # (x shape, M): D != M and N != M, so that a transposed dW or a sum over the wrong
    # axis changes the shape.
    for x_shape, M in [((5, 4), 3), ((3, 2, 2), 5), ((1, 6), 2)]:
        D = int(np.prod(x_shape[1:]))
        for dtype in DTYPES:
            where = f"x 形状 {x_shape}，W 形状 {(D, M)}，b 形状 {(M,)}，dtype {dtype_name(dtype)}"
            inputs = {"x": rng.standard_normal(x_shape).astype(dtype), "W": rng.standard_normal((D, M)).astype(dtype),
                      "b": rng.standard_normal(M).astype(dtype)}
            dout = rng.standard_normal((x_shape[0], M)).astype(dtype)
            sent = {name: code.share(a) for name, a in inputs.items()}
            layer = code.call("Affine(W, b)", Affine, sent["W"], sent["b"])
            out = code.method(layer, "forward", "Affine.forward", sent["x"])
            record.add("unchanged", "Affine.forward", where, {n: code.observe(r) for n, r in sent.items()},
                       original=dict(inputs))
            named = {"N": x_shape[0]}
            record.add("array", "Affine.forward 的输出", where, code.get(out, "Affine.forward 的输出"),
                       context={"quantity": "out", "named": named, "bias": inputs["b"]})
            inputs["dout"], sent["dout"] = dout, code.share(dout)
            dx = code.method(layer, "backward", "Affine.backward", sent["dout"])
            record.add("unchanged", "Affine.backward", where, {n: code.observe(r) for n, r in sent.items()},
                       original=dict(inputs))
            record.add("array", "Affine.backward 返回的 dx", where, code.get(dx, "Affine.backward 返回的 dx"),
                       shape_hint="dx 的形状应与 forward 的输入 x 相同。", context={"quantity": "dx", "named": named})
            record.add("array", "Affine.backward 之后的 dW", where,
                       code.get(code.attr(layer, "dW", "Affine"), "Affine.dW"), shape_hint="dW 的形状应与 W 相同。",
                       context={"quantity": "dW", "named": named})
            record.add("array", "Affine.backward 之后的 db", where,
                       code.get(code.attr(layer, "db", "Affine"), "Affine.db"),
                       shape_hint="db 的形状应与 b 相同（对 batch 维求和）。",
                       context={"quantity": "db", "named": named, "summand": dout})

    for x_shape, M in [((4, 5), 3), ((2, 3, 2), 4)]:
        D = int(np.prod(x_shape[1:]))
        x, W, b = rng.standard_normal(x_shape), rng.standard_normal((D, M)), rng.standard_normal(M)
        dout = rng.standard_normal((x_shape[0], M))

        def out(x_, W_, b_):
            layer_ = code.call("Affine(W, b)", Affine, W_, b_)
            return code.get(code.method(layer_, "forward", "Affine.forward", x_), "Affine.forward 的输出")

        layer = code.call("Affine(W, b)", Affine, W, b)
        code.method(layer, "forward", "Affine.forward", x)
        analytic = {"dx": code.get(code.method(layer, "backward", "Affine.backward", dout), "Affine.backward 返回的 dx"),
                    "dW": code.get(code.attr(layer, "dW", "Affine"), "Affine.dW"),
                    "db": code.get(code.attr(layer, "db", "Affine"), "Affine.db")}
        numeric = {"dx": numerical_gradient_array(lambda x_: out(x_, W, b), x, dout),
                   "dW": numerical_gradient_array(lambda W_: out(x, W_, b), W, dout),
                   "db": numerical_gradient_array(lambda b_: out(x, W, b_), b, dout)}
        record.add("numeric", "Affine.backward 的 {key} ", f"x 形状 {x_shape}，W 形状 {(D, M)}，float64",
                   analytic, numeric=numeric, tol=GRADCHECK_TOL["layer"],
                   context={"named": {"N": x_shape[0]}, "keys": {"db": {"summand": dout}}})


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


def _reference_network(params, sizes, dtype):
    """A reference ThreeLayerNet holding copies of params."""
    net = reference.ThreeLayerNet(*sizes, dtype=dtype)
    for key, value in net.params.items():
        value[...] = params[key]
    return net


def _reference_input(params, like, call):
    """params (a dict of arrays read from the student's code) checked before it becomes an
    input of the reference: the keys, shapes and dtypes of like, every number finite. Returns
    params, or raises a Stop."""
    if compare_structure(Obs("structure", call, "", params), Obs("structure", call, "", like)):
        raise Stop("params 的结构不对，无法继续检查。", ("structure", call))
    found = first_nonfinite(params)
    if found:
        raise nonfinite_stop(found, observation_label("structure", call, found[0]), "", ("input", call))
    return params


def network_scenario(code, record, part, given, seed):
    """The network (with the layers and initialize_parameters it uses) at the parameters of
    the student's network: predict, loss (one-hot and index labels), lastLayer.loss,
    gradient (and against a numerical gradient of the exact cross-entropy), accuracy, float32
    kept; then params updated in place (as an optimizer does) must change predict."""
    ThreeLayerNet = code.lookup(part.name)
    rng = inputs_rng(STREAMS["ThreeLayerNet"], seed)
    sizes, n = (7, 6, 4), 5
    for dtype in DTYPES:
        kwargs = {"weight_init_std": 0.5, "dtype": dtype}
        call = call_text(part.name, sizes, kwargs)
        net = code.call(call, ThreeLayerNet, *sizes, **kwargs)
        params = code.attr(net, "params", part.name)
        own = code.get(params, f"{call} 的 params")
        structure = reference.initialize_parameters(*sizes, 0.5, dtype)
        record.add("structure", call, "", own)
        own = _reference_input(own, structure, call)
        if dtype in given:  # an expected code: evaluated at the student's parameters
            for key, value in code.local(net).params.items():
                value[...] = given[dtype][key]
        record.given[dtype] = given.get(dtype, own)
        expected_net = _reference_network(record.given[dtype], sizes, dtype)

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
        rtol = RTOL[np.dtype(dtype)]

        x_sent = code.share(x)
        scores = code.method(net, "predict", "ThreeLayerNet.predict", x_sent)
        record.add("unchanged", "ThreeLayerNet.predict", where, {"x": code.observe(x_sent)}, original={"x": x})
        predict_hint = "predict 应依次调用 self.layers 中每一层的 forward，返回 softmax 之前的得分。"
        record.add("array", "ThreeLayerNet.predict 的输出", where, code.get(scores, "ThreeLayerNet.predict 的输出"),
                   hint=predict_hint, shape_hint=predict_hint)

        last_layer = code.attr(net, "lastLayer", part.name)
        for y, kind in ((y_one_hot, "one-hot 标签"), (labels, "类别索引标签")):
            loss = code.get(code.method(net, "loss", "ThreeLayerNet.loss", x, y), "ThreeLayerNet.loss 的返回值")
            record.add("scalar", "ThreeLayerNet.loss", f"{where}，{kind}", loss, rtol=rtol * 10)
            last_loss = code.get(code.attr(last_layer, "loss", "SoftmaxWithLoss"), "lastLayer.loss")
            record.add("last_loss", "ThreeLayerNet.loss", f"{where}，{kind}", (last_loss, loss))

        grads = code.get(code.method(net, "gradient", "ThreeLayerNet.gradient", x, y_one_hot),
                         "ThreeLayerNet.gradient 的返回值")
        gwhere = f"{where}，one-hot 标签"
        record.add("scalar", "ThreeLayerNet.gradient 之后的 lastLayer.loss", gwhere,
                   code.get(code.attr(last_layer, "loss", "SoftmaxWithLoss"), "lastLayer.loss"), rtol=rtol * 10)
        record.add("keys", "ThreeLayerNet.gradient", gwhere, sorted(grads) if isinstance(grads, Mapping) else None,
                   message=f"ThreeLayerNet.gradient 应返回与 params 同键的字典（{gwhere}）。")
        for key in reference.PARAM_KEYS:
            # float32 backpropagation through three layers: allow a little more rounding.
            record.add("array", f"ThreeLayerNet.gradient 的 {key}", gwhere,
                       grads.get(key) if isinstance(grads, Mapping) else None, rtol=rtol * 10,
                       hint="gradient 依次调用各层的 backward：请先确认 LeakyRelu 和 Affine 的测试都已通过。")

        expected_scores = expected_net.predict(x)
        wrong = labels.copy()
        wrong[:2] = (np.argmax(expected_scores[:2], axis=1) + 1) % sizes[2]
        wrong[2:] = np.argmax(expected_scores[2:], axis=1)
        for y, kind in ((wrong, "类别索引标签"), (np.eye(sizes[2], dtype=dtype)[wrong], "one-hot 标签")):
            accuracy = code.get(code.method(net, "accuracy", "ThreeLayerNet.accuracy", x, y),
                                "ThreeLayerNet.accuracy 的返回值")
            record.add("scalar", "ThreeLayerNet.accuracy", f"{where}，{kind}", accuracy, rtol=1e-12)

        if dtype == np.float64:
            grads = code.get(code.method(net, "gradient", "ThreeLayerNet.gradient", x, labels),
                             "ThreeLayerNet.gradient 的返回值")
            numeric = {key: numerical_gradient(lambda _: _exact_cross_entropy(expected_net.predict(x), labels), param)
                       for key, param in expected_net.params.items()}
            record.add("numeric", "ThreeLayerNet.gradient 的 {key} ", f"{where}，类别索引标签", grads,
                       numeric=numeric, tol=GRADCHECK_TOL["network"])

        # The optimizers update params in place; the Affine layers must see that, i.e.
        # hold the very arrays of params. Runs last: it changes the network.
        for key in reference.PARAM_KEYS:
            delta = (0.1 * rng.standard_normal(structure[key].shape)).astype(dtype)
            array = code.item(params, key, f"ThreeLayerNet.params['{key}']")
            code.call(f"ThreeLayerNet.params['{key}'] -= delta",
                      code.attr(array, "__isub__", f"ThreeLayerNet.params['{key}']"), delta)
            i = key[1:]
            record.add("array", "ThreeLayerNet.predict 的输出", f"{call}，x 形状 {x.shape}",
                       code.get(code.method(net, "predict", "ThreeLayerNet.predict", x), "ThreeLayerNet.predict 的输出"),
                       fact=(f"{call}：原地更新 params['{key}']（params['{key}'] -= delta，优化器就是这样更新参数的）之后，"
                             f"predict 的输出没有随之改变（x 形状 {x.shape}）：layers['Affine{i}'].{key[0]} 应该就是 "
                             f"params['{key}'] 这个数组本身。"),
                       hint="如果它是副本或另一个数组，这一层就看不到参数的原地更新。")


# Parameters of several keys and shapes, like a small network's.
PARAM_SHAPES = {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}
# Gradient magnitudes, fixed per element across steps: tiny ones show where epsilon sits.
_GRAD_SCALES = (1e-4, 1e-2, 1.0, 10.0)


def optimizer_problem(rng, dtype):
    """Initial parameters (0.5 <= |p| <= 2) and OPTIMIZER_STEPS gradient dicts whose
    magnitude is fixed per element, from 1e-4 to 10."""
    params = {k: (rng.choice([-1.0, 1.0], size=s) * rng.uniform(0.5, 2.0, size=s)).astype(dtype)
              for k, s in PARAM_SHAPES.items()}
    scales = {k: rng.choice(_GRAD_SCALES, size=s) for k, s in PARAM_SHAPES.items()}
    grads = [{k: (rng.standard_normal(s) * scales[k]).astype(dtype) for k, s in PARAM_SHAPES.items()}
             for _ in range(OPTIMIZER_STEPS)]
    return params, grads


def optimizer_runs(part, rng, seed):
    """[(dtype, hyper-parameters)] of the optimizer scenario's runs."""
    hyper_params = hyper_params_of(part, rng, seed)
    return [(dtype, chosen) for dtype in DTYPES for chosen in (hyper_params, {})]


def optimizer_scenario(code, record, part, given, seed, state_at=None):
    """OPTIMIZER_STEPS updates of one optimizer per run (float64 and float32; the part's
    non-default hyper-parameters and the defaults): after every step, the gradients given
    so far unchanged, and the parameters as the grader observes them (in place, values).
    state_at=(run, step): stop after that step and record the state attributes the text
    names (for a hint)."""
    name = part.name
    cls = code.lookup(name)
    rng = inputs_rng(STREAMS["optimizer"], seed)
    hint = f"请对照课文中 {name} 的公式逐项检查 update（状态的更新、参数的更新、超参数的位置）。"
    for run, (dtype, hyper_params) in enumerate(optimizer_runs(part, rng, seed)):
        params0, grads_sequence = optimizer_problem(rng, dtype)
        hp_text = ", ".join(f"{k}={v}" for k, v in hyper_params.items()) or "默认超参数"
        optimizer = code.call(call_text(name, (), hyper_params), cls, **hyper_params)
        # The params dict the code updates; its arrays are those a network's layers would
        # hold, and their observed values after each step are the parameters graded.
        params_sent = code.share(params0)
        before = params0
        abs_steps = {k: np.zeros(p.shape) for k, p in params0.items()}  # sum of |steps| so far
        given_grads = []
        for step, grads in enumerate(grads_sequence, start=1):
            where = f"第 {step} 次 update 后；{hp_text}；参数 dtype {dtype_name(dtype)}"
            grads_sent = code.share(grads)
            given_grads.append((step, grads_sent, grads))

            def label(given_step, key):
                return f"grads['{key}']" if given_step == step else f"第 {given_step} 次 update 的 grads['{key}']"
            code.method(optimizer, "update", f"{name}.update", params_sent, grads_sent)
            observed = code.observe(params_sent)
            record.add("unchanged", f"{name}.update", where,
                       {label(s, k): v for s, sent, _ in given_grads for k, v in code.observe(sent).items()},
                       original={label(s, k): v for s, _, grads_ in given_grads for k, v in grads_.items()})
            scale = {}
            for k in PARAM_SHAPES:
                abs_steps[k] += np.nan_to_num(np.abs(observed[k].astype(np.float64) - before[k]), posinf=0.0)
                scale[k] = np.abs(np.nan_to_num(observed[k].astype(np.float64))) + np.abs(params0[k]) + abs_steps[k]
            record.add("params", f"{name}.update 之后的 params", where, observed, before=before, scale=scale,
                       name=name, hint=hint, run=run, step=step)
            before = observed
            if state_at == (run, step):
                state = {}  # an attribute the object lacks (or that cannot be read) is left out
                for attribute in part.state:
                    try:
                        state[attribute] = code.get(code.attr(optimizer, attribute, name), f"{name}.{attribute}")
                    except Stop:
                        pass
                record.add("state", name, where, state, step=step)
                return


SCENARIOS = {"initialize_parameters": initialize_parameters_scenario, "LeakyRelu": leaky_relu_scenario,
              "Affine": affine_scenario, "ThreeLayerNet": network_scenario}


def scenario_of(part):
    if part.name in SCENARIOS:
        return SCENARIOS[part.name]
    if part.kind == "optimizer":
        return optimizer_scenario
    raise KeyError(f"no scenario for {part.name} ({part.kind})")

# --------------------------------------------------------------------------------------
# Running a check: the student's record against the reference's; naming the mistake
# --------------------------------------------------------------------------------------

def record_of(scenario, ns, part, given=None, seed=None, **options):
    """The record of scenario on the code of ns (a mapping or a Student), on the inputs of
    seed (None: the fixed inputs)."""
    record = Record()
    try:
        scenario(Code(ns), record, part, given or {}, seed, **options)
    except Stop as stop:
        record.stop = stop
    return record


def reference_namespace():
    return {"np": np, **{name: getattr(reference, name) for name in reference.__all__}}


@lru_cache(maxsize=64)
def reference_record(grade_id, seed):
    """The reference's record of a part whose scenario needs nothing from the student's."""
    part = PARTS[grade_id]
    return record_of(scenario_of(part), reference_namespace(), part, seed=seed)


def expected_record(part, student, seed):
    if student.given:
        return record_of(scenario_of(part), reference_namespace(), part, student.given, seed)
    return reference_record(part.grade_id, seed)


