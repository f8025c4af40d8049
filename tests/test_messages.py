"""The texts students read when a check fails, pinned: for every catalogued mistake and published
variant and every one-bug variant of the held-apart corpus (tests/relation_corpus/), the message of
the hidden check (fixed inputs) and of the visible test, compared with tests/messages.json.

The file is the reviewed feedback of the course: a change of wording, of which call, input, shape,
dtype or step a message names, of the named mistake or of the relation shows here as a difference
to review. When the change is wanted, write the file again and review its diff:

    UPDATE_MESSAGES=1 .venv/bin/python -m pytest tests/test_messages.py

Numbers with a fraction or an exponent (largest errors, moved hyper-parameters) are compared as
<数>: their last digits may differ between CPUs (float32 sums in another order); integers
(shapes, steps, counts) are compared as written, and the spacing of printed arrays is not compared. tests/test_near_misses.py and the checks' own
tests assert the numbers that decide a verdict.
"""
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from autograder import catalogue, checks
from autograder.course import load_module
from autograder.parts import PARTS
from relation_corpus.generator import namespace, variants

GOLDEN = Path(__file__).with_name("messages.json")
UPDATE = os.environ.get("UPDATE_MESSAGES") == "1"
public_tests = load_module("public_tests.py")

_DECIMAL = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE][-+]?\d))(?:[eE][-+]?\d+)?(?![\w])")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def normalized(message):
    """message with its decimals as <数>, and the spacing numpy gives printed arrays (which follows
    the values' widths) as one space, none around brackets."""
    text = _ADDRESS.sub("0x…", _DECIMAL.sub("<数>", message))
    return re.sub(r" ?([\[\]]) ?", r"\1", re.sub(r"[ \t]+", " ", text))


def _quiet(run):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run()


def hidden(ns, part):
    """'<message> | mistake=<id> | relation=<id>' of the part's hidden check on ns, or '通过'."""
    def run():
        try:
            checks.check_part(ns, PARTS[part], None)
        except checks.CheckFailure as failure:
            relation = failure.relation.id if failure.relation is not None else None
            return f"{failure} | mistake={failure.mistake} | relation={relation} | credit={failure.credit:g}"
        return "通过"
    return normalized(_quiet(run))


def visible(ns, part):
    """The message of the part's visible test on ns's graded name, '通过', or the exception the
    student's code raised through it (its type and text)."""
    def run():
        try:
            getattr(public_tests, part)(ns[PARTS[part].name])
        except AssertionError as failure:
            return str(failure)
        except Exception as error:  # the student's own exception goes through the visible test
            return f"{type(error).__name__}: {error}"
        return "通过"
    return normalized(_quiet(run))


# Failures neither the catalogue nor the corpus holds, for the paths only they reach: a value the
# checks cannot use, a slope and a scale named by the layer's own numbers, state under another name,
# a NaN where the reference's numbers are finite, a label kind only one of two calls gets wrong, a
# relation found at the student's own parameters.
EXTRA = {
    "forward_returns_a_function": ("test_leaky_relu", """
class LeakyRelu(LeakyRelu):
    def forward(self, x):
        super().forward(x)
        return lambda: 0
"""),
    "backward_slope_alpha_squared": ("test_leaky_relu", """
class LeakyRelu(LeakyRelu):
    def backward(self, dout):
        return np.where(self.mask, self.alpha * self.alpha * dout, dout)
"""),
    "leaky_relu_forward_nan_after_many_calls": ("test_leaky_relu", """
class LeakyRelu(LeakyRelu):
    calls = 0

    def forward(self, x):
        LeakyRelu.calls += 1
        out = super().forward(x)
        return out if LeakyRelu.calls <= 12 else out * np.nan
"""),
    "affine_backward_modifies_dout": ("test_affine", """
class Affine(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        dout[...] = 0
        return dx
"""),
    "affine_backward_returns_a_function": ("test_affine", """
class Affine(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        return lambda: dx
"""),
    "affine_db_is_a_function": ("test_affine", """
class Affine(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = lambda: 0
        return dx
"""),
    "affine_db_twice": ("test_affine", """
class Affine(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = 2 * self.db
        return dx
"""),
    "affine_forward_squeezes_a_batch_of_one": ("test_affine", """
class Affine(Affine):
    def forward(self, x):
        return super().forward(x).squeeze()
"""),
    "affine_forward_in_float64_squeezes_a_batch_of_one": ("test_affine", """
class Affine(Affine):
    def forward(self, x):
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        out = self.x.astype(np.float64) @ self.W.astype(np.float64) + self.b
        return out.astype(x.dtype).squeeze()
"""),
    "adam_step_counter_as_an_array": ("test_adam", """
class Adam(Adam):
    def update(self, params, grads):
        super().update(params, grads)
        for key in params:
            params[key] -= self.learning_rate * grads[key]
        self.t = np.array([self.t])
"""),
    "network_predict_modifies_x": ("test_network", """
class ThreeLayerNet(ThreeLayerNet):
    def predict(self, x):
        out = super().predict(x)
        x[...] = 0
        return out
"""),
    "network_gradient_returns_a_function": ("test_network", """
class ThreeLayerNet(ThreeLayerNet):
    def gradient(self, x, t):
        grads = super().gradient(x, t)
        return lambda: grads
"""),
    "network_last_loss_not_kept": ("test_network", """
class ThreeLayerNet(ThreeLayerNet):
    def loss(self, x, t):
        value = super().loss(x, t)
        self.lastLayer.loss = 0.0
        return value
"""),
    "network_params_as_a_list": ("test_network", """
class ThreeLayerNet(ThreeLayerNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params = list(self.params.values())
"""),
    "network_accuracy_divides_by_label_size": ("test_network", """
class ThreeLayerNet(ThreeLayerNet):
    def accuracy(self, x, t):
        n = t.size
        y = np.argmax(self.predict(x), axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        return np.sum(y == t) / float(n)
"""),
    "network_gradient_index_labels_not_averaged": ("test_network", """
class ThreeLayerNet(ThreeLayerNet):
    def gradient(self, x, t):
        if t.ndim != 1:
            return super().gradient(x, t)
        self.loss(x, t)
        dout = self.lastLayer.backward(1) * x.shape[0]
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        return {key: getattr(self.layers["Affine" + key[1]], "d" + key[0]) for key in self.params}
"""),
    "network_gradient_keys_renamed": ("test_network", """
class ThreeLayerNet(ThreeLayerNet):
    def gradient(self, x, t):
        return {"d" + key: value for key, value in super().gradient(x, t).items()}
"""),
    "network_predict_unusable_after_an_update": ("test_network", """
class ThreeLayerNet(ThreeLayerNet):
    def predict(self, x):
        out = super().predict(x)
        if not hasattr(self, "first_W1"):
            self.first_W1 = self.params["W1"].copy()
        return out if np.array_equal(self.first_W1, self.params["W1"]) else (row for row in out)
"""),
    "network_predict_writes_nan_into_x": ("test_network", """
class ThreeLayerNet(ThreeLayerNet):
    def predict(self, x):
        out = super().predict(x)
        x[0, 0] = np.nan
        return out
"""),
    "network_last_loss_nan": ("test_network", """
class ThreeLayerNet(ThreeLayerNet):
    def loss(self, x, t):
        value = super().loss(x, t)
        self.lastLayer.loss = np.nan
        return value
"""),
    "network_own_initialization_skips_relu2": ("test_network", """
class ThreeLayerNet(ThreeLayerNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rng = np.random.default_rng(7)
        for value in self.params.values():
            value[...] = 0.5 * rng.standard_normal(value.shape)

    def predict(self, x):
        for name in ("Affine1", "LeakyRelu1", "Affine2", "Affine3"):
            x = self.layers[name].forward(x)
        return x
"""),
    "init_bias_nan": ("test_initialize_parameters", """
_initialize = initialize_parameters
def initialize_parameters(input_size, hidden_size, output_size, weight_init_std=0.01, dtype=np.float32):
    params = _initialize(input_size, hidden_size, output_size, weight_init_std, dtype)
    params["b2"] = params["b2"] / params["b2"]
    return params
"""),
    "init_bias_as_a_list": ("test_initialize_parameters", """
_initialize = initialize_parameters
def initialize_parameters(input_size, hidden_size, output_size, weight_init_std=0.01, dtype=np.float32):
    params = _initialize(input_size, hidden_size, output_size, weight_init_std, dtype)
    params["b1"] = params["b1"].tolist()
    return params
"""),
    "init_weight_init_std_twice": ("test_initialize_parameters", """
_initialize = initialize_parameters
def initialize_parameters(input_size, hidden_size, output_size, weight_init_std=0.01, dtype=np.float32):
    params = _initialize(input_size, hidden_size, output_size, weight_init_std, dtype)
    for key in ("W1", "W2", "W3"):
        params[key] = (params[key] * weight_init_std).astype(dtype)
    return params
"""),
    "momentum_state_renamed_and_lr_twice": ("test_momentum", """
class Momentum(Momentum):
    def update(self, params, grads):
        if getattr(self, "velocity", None) is None:
            self.velocity = {key: np.zeros_like(value) for key, value in params.items()}
        for key in params:
            self.velocity[key] = self.beta * self.velocity[key] + 2 * self.learning_rate * grads[key]
            params[key] -= self.velocity[key]
        del self.v
"""),
}


def extra_namespace(source):
    ns = catalogue.namespace()
    exec(source, ns)
    return ns


CASES = {}
for _name, (_part, _source) in EXTRA.items():
    CASES[f"hidden/extra/{_name}"] = (hidden, lambda s=_source: extra_namespace(s), _part)
    CASES[f"visible/extra/{_name}"] = (visible, lambda s=_source: extra_namespace(s), _part)
for _entry in catalogue.entries(valid=False):
    CASES[f"hidden/catalogue/{_entry.id}"] = (hidden, _entry.namespace, _entry.part)
    CASES[f"visible/catalogue/{_entry.id}"] = (visible, _entry.namespace, _entry.part)
for _variant in variants():
    if not _variant.valid:
        CASES[f"hidden/corpus/{_variant.id}"] = (hidden, lambda v=_variant: namespace(v), _variant.part)
        CASES[f"visible/corpus/{_variant.id}"] = (visible, lambda v=_variant: namespace(v), _variant.part)


def message_of(case):
    kind, make_namespace, part = CASES[case]
    return kind(make_namespace(), part)


@pytest.fixture(scope="module")
def golden():
    if UPDATE:
        GOLDEN.write_text(json.dumps({case: message_of(case) for case in CASES}, ensure_ascii=False, indent=1,
                                     sort_keys=True) + "\n", encoding="utf-8")
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_every_case_has_a_reviewed_message_and_no_other(golden):
    assert sorted(golden) == sorted(CASES), "UPDATE_MESSAGES=1 writes tests/messages.json again (module docstring)"


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_message_is_the_reviewed_one(golden, case):
    assert message_of(case) == golden.get(case), case
