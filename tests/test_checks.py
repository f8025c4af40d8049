"""The hidden checks (autograder.checks) on the reference, on every entry of the catalogue
(autograder/catalogue.py: known mistakes and valid alternatives), and on code the catalogue
does not know.

Every check runs on two paths: Direct (a dict of objects in this interpreter, as in the
notebook's hidden-test cells) and Remote (the same objects in a student server process,
reached through autograder.sandbox.remote, as autograder.verify grades). The Remote server
here is a plain subprocess (Sandbox mode "weak") that builds the catalogue's namespaces
itself, so that it holds the very same variants.

* Direct: the reference passes every check; every mistake fails its own check, names
  itself, and costs points elsewhere only in the parts that use its part; every valid
  alternative passes every check, so it is never named.
* Remote: every mistake fails its own check with exactly the message and the name the
  Direct path gives; every alternative passes the checks of the parts that read it.
"""
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest

from autograder import catalogue, checks, examples
from autograder.catalogue import reference_source
from autograder.course import ROOT
from autograder.parts import PARTS, dependents
from autograder.sandbox import wire
from autograder.sandbox.arena import ArenaFull
from autograder.sandbox.interface import Direct, NotTransferable, Ref, StudentError
from autograder.sandbox.proxy import Sandbox

CHECKS = {part.grade_id: getattr(checks, part.check) for part in PARTS.values()}
MISTAKES = {entry.id: entry for entry in catalogue.entries(valid=False)}
ALTERNATIVES = {entry.id: entry for entry in catalogue.entries(valid=True)}

# What the message of some mistakes must say besides the mistake's name.
EXPECTED_MESSAGES = {
    "init_ignores_dtype": "dtype 应为 float32",
    "init_w3_transposed": "形状应为",
    "leaky_backward_modifies_dout": "输入被修改了：LeakyRelu.backward 改变了传入的 dout",
    "leaky_forward_modifies_x": "输入被修改了：LeakyRelu.forward 改变了传入的 x",
    "leaky_forward_float64": "dtype 应为 float32",
    "affine_db_axis1": "db：形状应为",
    "affine_dW_transposed": "dW：形状应为",
    "affine_no_reshape": "调用 Affine.forward 时出错：ValueError",
    "network_loss_without_last_layer": "self.lastLayer.forward",
    "network_predict_skips_last_layer": "ThreeLayerNet.predict",
    "network_loss_softmax_twice": "ThreeLayerNet.loss",
    "network_layer_copies_param": "layers['Affine2'].W 应该就是 params['W2'] 这个数组本身",
    "adam_t_late": "中出现 NaN 或 inf",
    "adabelief_t_late": "中出现 NaN 或 inf",
    **{m: "参数没有原地更新（请使用 -= ）" for m in MISTAKES if m.endswith("_out_of_place")},
}

# Unfinished code: a function or method of the reference whose body starts by raising, as
# the release's placeholders do: grade id -> (name, the def that raises, the call the
# failure message must start with).
UNFINISHED = {
    "test_initialize_parameters": ("initialize_parameters", "def initialize_parameters(",
                                   "initialize_parameters(5, 4, 3, 0.5)"),
    "test_leaky_relu": ("LeakyRelu", "    def backward(", "LeakyRelu.backward"),
    "test_affine": ("Affine", "    def forward(", "Affine.forward"),
    "test_network": ("ThreeLayerNet", "    def loss(", "ThreeLayerNet.loss"),
    "test_adam": ("Adam", "    def update(", "Adam.update"),
}


def unfinished_source(grade_id):
    name, definition, _ = UNFINISHED[grade_id]
    source = reference_source(name)
    assert source.count(definition) == 1
    start = source.index(definition)
    end = source.index(":\n", start) + 2
    indent = " " * (len(definition) - len(definition.lstrip()) + 4)
    return source[:end] + f"{indent}raise NotImplementedError('请完成这里的代码')\n" + source[end:]


@pytest.fixture(autouse=True)
def quiet_numpy():
    """Mistakes divide by zero on purpose."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def run_all(ns, grade_ids=CHECKS):
    """grade id -> (message, named mistake), or None when the check passes."""
    results = {}
    for grade_id in grade_ids:
        try:
            CHECKS[grade_id](ns)
            results[grade_id] = None
        except checks.CheckFailure as e:
            results[grade_id] = (str(e), e.mistake)
    return results


def failed(results):
    return {g for g, r in results.items() if r is not None}


# --------------------------------------------------------------------------------------
# The Remote path: a student server holding the catalogue's variants
# --------------------------------------------------------------------------------------

SERVER_SETUP = f"""
import sys, warnings
import numpy as np
sys.path[:0] = [{str(ROOT)!r}, {str(Path(__file__).parent)!r}]
from autograder import catalogue
np.seterr(all="ignore")
warnings.simplefilter("ignore", RuntimeWarning)
_names = {{k for k in catalogue.namespace() if not k.startswith("__")}}

def _use(entry_id, drop=()):
    for key in _names:
        globals().pop(key, None)
    chosen = [catalogue.get(entry_id)] if entry_id else []
    globals().update({{k: v for k, v in catalogue.namespace(*chosen).items() if not k.startswith("__")}})
    for key in drop:
        del globals()[key]
"""


@pytest.fixture(scope="module")
def server():
    with Sandbox(mode="weak") as sandbox:
        error, _ = sandbox.run_cell(SERVER_SETUP, timeout=120)
        assert error is None, error
        yield sandbox


def remote(server, entry_id=None, drop=(), source=None):
    """A Remote whose names are the reference's, with the catalogue entry entry_id in place
    (None: the reference), without the names in drop, then source run."""
    error, _ = server.run_cell(f"_use({entry_id!r}, {tuple(drop)!r})", timeout=60)
    assert error is None, error
    if source:
        error, _ = server.run_cell(source, timeout=60)
        assert error is None, error
    return server.remote()


# --------------------------------------------------------------------------------------
# Direct and Remote
# --------------------------------------------------------------------------------------

def test_every_check_passes_on_the_reference():
    assert run_all(catalogue.namespace()) == {grade_id: None for grade_id in CHECKS}


def test_every_check_passes_on_the_reference_package():
    ns = {"np": np, **{name: getattr(catalogue.reference, name) for name in catalogue.reference.__all__}}
    assert run_all(ns) == {grade_id: None for grade_id in CHECKS}


def test_every_check_passes_on_the_reference_through_remote(server):
    assert run_all(remote(server)) == {grade_id: None for grade_id in CHECKS}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_fails_its_own_check_names_itself_and_costs_nothing_elsewhere(mistake):
    entry = MISTAKES[mistake]
    results = run_all(entry.namespace())
    assert results[entry.part] is not None, f"{mistake} passes {entry.part}"
    message, named = results[entry.part]
    assert named == mistake, message
    assert f"「{entry.title}」" in message and entry.explanation in message
    assert failed(results) <= {entry.part, *dependents(entry.part)}
    assert failed(results) == examples.lost_cells(entry)
    for grade_id in failed(results) - {entry.part}:  # a part that uses it names it too
        assert results[grade_id][1] == mistake
        assert f"{PARTS[entry.part].name} 有一个常见错误「{entry.title}」" in results[grade_id][0]
    if mistake in EXPECTED_MESSAGES:
        assert EXPECTED_MESSAGES[mistake] in message
    # the first hint is the diagnosis: no other mistake of the part is suggested
    others = [e.title for e in MISTAKES.values() if e.part == entry.part and e.id != mistake]
    assert not [title for title in others if f"「{title}」" in message]


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_a_valid_alternative_passes_every_check(alternative):
    assert run_all(ALTERNATIVES[alternative].namespace()) == {grade_id: None for grade_id in CHECKS}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_fails_its_check_through_remote_with_the_same_message_and_name(server, mistake):
    entry = MISTAKES[mistake]
    direct = run_all(entry.namespace(), [entry.part])[entry.part]
    through_remote = run_all(remote(server, mistake), [entry.part])[entry.part]
    assert through_remote == direct


@pytest.mark.parametrize("grade_id", CHECKS)
def test_one_mistake_per_part_through_remote_costs_nothing_elsewhere(server, grade_id):
    entry = catalogue.entries(grade_id, valid=False)[0]
    results = run_all(remote(server, entry.id))
    assert results[grade_id][1] == entry.id
    assert failed(results) <= {grade_id, *dependents(grade_id)}


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_a_valid_alternative_passes_through_remote(server, alternative):
    entry = ALTERNATIVES[alternative]
    readers = {entry.part, *dependents(entry.part)}
    assert run_all(remote(server, alternative), sorted(readers)) == {g: None for g in readers}


# --------------------------------------------------------------------------------------
# Code the catalogue does not know
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("grade_id", UNFINISHED)
def test_unfinished_code_fails_with_a_message_naming_the_call(grade_id):
    ns = catalogue.namespace()
    exec(unfinished_source(grade_id), ns)
    with pytest.raises(checks.CheckFailure) as failure:
        CHECKS[grade_id](ns)
    message = str(failure.value)
    assert message.startswith(f"调用 {UNFINISHED[grade_id][2]}")
    assert "NotImplementedError" in message and failure.value.mistake is None
    assert isinstance(failure.value.__cause__, NotImplementedError)


@pytest.mark.parametrize("grade_id", UNFINISHED)
def test_unfinished_code_fails_with_the_same_message_through_remote(server, grade_id):
    ns = catalogue.namespace()
    exec(unfinished_source(grade_id), ns)
    with pytest.raises(checks.CheckFailure) as failure:
        CHECKS[grade_id](remote(server, source=unfinished_source(grade_id)))
    assert str(failure.value) == run_all(ns, [grade_id])[grade_id][0]
    assert isinstance(failure.value.__cause__, StudentError)
    assert failure.value.__cause__.type_name == "NotImplementedError"


def test_missing_name_fails_with_a_hint(server):
    ns = catalogue.namespace()
    del ns["Nesterov"]
    with pytest.raises(AssertionError, match="没有找到 Nesterov"):
        checks.check_nesterov(ns)
    with pytest.raises(AssertionError, match="没有找到 Nesterov"):
        checks.check_nesterov(remote(server, drop=["Nesterov"]))


ADAM_T_STUCK = """
class Adam(Adam):
    def update(self, params, grads):
        self.t = 0          # t never counts past 1
        super().update(params, grads)
"""
MOMENTUM_SCALED = """
class Momentum(Momentum):
    def update(self, params, grads):
        super().update(params, {key: 1.01 * g for key, g in grads.items()})
"""
NETWORK_B3_COPY = """
class ThreeLayerNet(ThreeLayerNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.layers['Affine3'] = Affine(self.params['W3'], self.params['b3'] + 0)
"""


@pytest.mark.parametrize("source, grade_id, says", [
    (ADAM_T_STUCK, "test_adam", ["Adam.t 应为 2，实际为 1", "self.v、self.u 与课文的公式一致"]),
    (MOMENTUM_SCALED, "test_momentum", ["第 1 次 update 后", "self.v 在这一步与课文公式中的值不同"]),
    (NETWORK_B3_COPY, "test_network", ["layers['Affine3'].b 应该就是 params['b3'] 这个数组本身",
                                       "看不到参数的原地更新"]),
])
def test_an_unknown_mistake_is_not_named_and_gets_neutral_hints(server, source, grade_id, says):
    ns = catalogue.namespace()
    exec(source, ns)
    message, named = run_all(ns, [grade_id])[grade_id]
    assert named is None and "常见错误" not in message
    for text in says:
        assert text in message, message
    assert run_all(remote(server, source=source), [grade_id])[grade_id] == (message, None)


def test_an_adam_hint_does_not_blame_the_bias_correction_when_it_is_right():
    for mistake in ("adam_epsilon_inside_sqrt", "adam_t_off_by_one", "adam_betas_swapped"):
        message, _ = run_all(MISTAKES[mistake].namespace(), ["test_adam"])["test_adam"]
        assert "偏差修正」" not in message.split("这是一个常见错误")[0]


def test_state_in_another_convention_earns_full_points_for_the_same_trajectory():
    """The stored state is never graded: an optimizer whose v is the text's v times -1 or
    divided by the learning rate passes, while one with a different trajectory fails."""
    for alternative in ("momentum_negative_velocity", "momentum_velocity_without_lr",
                        "nesterov_torch_buffer", "nesterov_negative_velocity"):
        entry = ALTERNATIVES[alternative]
        assert run_all(entry.namespace(), [entry.part]) == {entry.part: None}


def test_checks_leave_the_global_random_state_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    checks.check_initialize_parameters(catalogue.namespace())
    with pytest.raises(checks.CheckFailure):
        checks.check_initialize_parameters(MISTAKES["init_no_seed"].namespace())
    assert np.random.rand() == expected


def test_the_public_checks_follow_the_table():
    assert checks.__all__ == ["CheckFailure", "check_part", *(p.check for p in PARTS.values())]
    for part in PARTS.values():
        check = getattr(checks, part.check)
        assert check.__name__ == part.check and part.name in check.__doc__


# --------------------------------------------------------------------------------------
# The interface itself
# --------------------------------------------------------------------------------------

STUDENT_CODE = """
import numpy as np

class Hoarder:
    \"\"\"Keeps what it is given, and changes it.\"\"\"

    def keep(self, x):
        self.kept = x
        x *= 2
        return x

def update(params, grads):
    \"\"\"W in place, b out of place (a new array in the dict), and a new key.\"\"\"
    params["W"] -= grads["W"]
    params["b"] = params["b"] - grads["b"]
    params["extra"] = 1.0
    grads.clear()
"""


@pytest.fixture(params=["direct", "remote"])
def student(request):
    if request.param == "direct":
        ns = {}
        exec(STUDENT_CODE, ns)
        yield Direct(ns)
    else:
        server = request.getfixturevalue("server")
        error, _ = server.run_cell(STUDENT_CODE, timeout=30)
        assert error is None
        yield server.remote()


def test_values_travel_as_copies_and_refs_keep_identity(student):
    x = np.arange(6.0).reshape(2, 3)
    hoarder = student.call(student.lookup("Hoarder"))
    sent = student.send(x)
    out = student.call(student.getattr(hoarder, "keep"), sent)
    assert np.array_equal(x, np.arange(6.0).reshape(2, 3))  # the local original is untouched
    assert np.array_equal(student.fetch(sent), 2 * x)       # the student's copy changed
    # out, hoarder.kept and sent are one object: changing it through one Ref shows in all
    student.call(student.getattr(hoarder, "keep"), student.getattr(hoarder, "kept"))
    assert np.array_equal(student.fetch(sent), 4 * x) and np.array_equal(student.fetch(out), 4 * x)
    fetched = student.fetch(out)
    fetched[...] = 0
    assert np.array_equal(student.fetch(sent), 4 * x)       # fetch gives a copy


def test_observe_shows_what_happened_to_the_shared_arrays(student):
    W, b = np.arange(6.0).reshape(2, 3), np.ones(3, dtype=np.float32)
    params = student.share({"W": W, "b": b, "lr": 0.5, "shape": (2, np.int64(3))})
    grads = student.share({"W": np.ones((2, 3)), "b": np.ones(3, dtype=np.float32)})
    student.call(student.lookup("update"), params, grads)
    seen = student.observe(params)
    assert set(seen) == {"W", "b", "lr", "shape"} and seen["lr"] == 0.5 and seen["shape"] == (2, 3)
    assert np.array_equal(seen["W"], W - 1)                 # updated in place
    assert seen["b"].dtype == np.float32 and np.array_equal(seen["b"], b)  # replaced: unchanged
    reported = student.fetch(params)                        # what the student's side holds
    assert np.array_equal(reported["b"], b - 1) and reported["extra"] == 1.0
    assert set(student.observe(grads)) == {"W", "b"}        # clearing the dict changes no array
    seen["W"][...] = 7
    assert np.array_equal(student.observe(params)["W"], W - 1)  # observe gives a copy
    assert np.array_equal(W, np.arange(6.0).reshape(2, 3))  # the local original is untouched
    x = student.share(np.arange(4, dtype=np.int16))
    student.call(student.getattr(student.call(student.lookup("Hoarder")), "keep"), x)
    assert student.observe(x).dtype == np.int16 and np.array_equal(student.observe(x), 2 * np.arange(4))
    with pytest.raises(TypeError):
        student.observe(student.send(W))                    # not shared


def test_a_shared_value_cannot_be_observed_after_forget(server):
    remote = server.remote()
    shared = remote.share(np.ones(3))
    remote.forget()
    with pytest.raises(ValueError):
        remote.observe(shared)
    assert np.array_equal(remote.observe(remote.share(np.zeros(2))), np.zeros(2))


def test_an_arena_that_is_too_small_fails_clearly():
    with Sandbox(mode="weak", arena_bytes=1 << 20) as sandbox:
        remote = sandbox.remote()
        remote.share(np.zeros(100_000))
        with pytest.raises(ArenaFull, match="arena is full"):
            remote.share({"a": np.zeros(100_000)})
        remote.forget()  # the arena starts afresh
        assert np.array_equal(remote.observe(remote.share(np.ones(100_000))), np.ones(100_000))


def test_every_kind_of_value_travels_unchanged(student):
    value = {"a": np.arange(3, dtype=np.float32), 1: [None, True, 2, 2.5, "字", 1 + 2j],
             (1, "t"): (np.float32(1.5), np.int64(7), np.bool_(True)), "dtype": np.float32,
             "nan": float("nan"), "big": np.zeros((2, 0, 3), dtype=np.uint8)}
    back = student.fetch(student.send(value))
    assert set(back) == set(value)
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], value["a"])
    assert back[1] == value[1] and back["dtype"] is np.float32
    assert [type(v) for v in back[(1, "t")]] == [np.float32, np.int64, np.bool_]
    assert back["big"].shape == (2, 0, 3) and np.isnan(back["nan"])
    getitem = student.getitem(student.send(value), (1, "t"))
    assert student.fetch(getitem) == (1.5, 7, True)


def test_what_cannot_travel_fails_clearly(student):
    hoarder = student.call(student.lookup("Hoarder"))
    with pytest.raises(NotTransferable) as failure:
        student.fetch(hoarder)
    assert failure.value.type_name == "Hoarder"
    with pytest.raises(NotTransferable):
        student.fetch(student.call(student.getattr(student.lookup("np"), "array"), [1], dtype=object))
    with pytest.raises(NotTransferable):
        student.send({"f": len})


def test_student_exceptions_and_missing_names(student):
    hoarder = student.call(student.lookup("Hoarder"))
    with pytest.raises(StudentError) as failure:
        student.getattr(hoarder, "nothing")
    assert failure.value.type_name == "AttributeError"
    with pytest.raises(StudentError) as failure:
        student.call(student.getattr(hoarder, "keep"), None)
    assert failure.value.type_name == "TypeError"
    with pytest.raises(KeyError):
        student.lookup("NotDefinedAnywhere")


def test_a_ref_belongs_to_its_student():
    other = Direct({"x": 1})
    with pytest.raises(TypeError):
        Direct({}).fetch(other.lookup("x"))
    with pytest.raises(TypeError):
        Direct({}).fetch(Ref(None, 1))


class SubArray(np.ndarray):
    pass


def test_copy_and_roundtrip_agree():
    values = [np.arange(4, dtype=np.int16).reshape(2, 2)[:, ::-1], np.float64(2.0), [1, (2, {"k": None})],
              {"W": np.ones(3, dtype=">f8")}, np.arange(2.0).view(SubArray), 3 + 0j, np.float16]
    for value in values:
        a, b = wire.copy(value), wire.roundtrip(value)
        assert type(a) is type(b)
        if isinstance(a, np.ndarray):
            assert type(a) is np.ndarray and a.dtype == b.dtype and np.array_equal(a, b)


def test_the_wire_refuses_pickles_oversized_frames_and_deep_nesting():
    import io
    import pickle
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(wire.WireError):
        wire.Decoder([buffer.getvalue()]).value({"nd": 0})
    with pytest.raises(wire.WireError):
        wire.Decoder([pickle.dumps(np.ones(3))]).value({"nd": 0})
    header = io.BytesIO()  # a header announcing 8 TB of data that is not there
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10 ** 12,)})
    with pytest.raises(wire.WireError):
        wire.Decoder([header.getvalue()]).value({"nd": 0})
    with pytest.raises(wire.WireError):
        wire.frame_length(wire.frame({"x": "y" * 100})[:wire.HEADER_SIZE], limit=50)
    deep = 1
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.WireError):
        wire.Decoder([]).value(deep)
    with pytest.raises(NotTransferable):
        wire.Encoder().value(deep)
    with pytest.raises(wire.WireError):
        wire.parse(wire.frame({"a": 1}, [b"xx"])[wire.HEADER_SIZE:-1])
    with pytest.raises(wire.WireError):
        wire.Decoder([]).value({"eval": "__import__('os')"})


RENAMED_STATE = """
class Adam:
    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta1=0.9, beta2=0.999):
        self.lr, self.eps, self.b1, self.b2 = learning_rate, epsilon, beta1, beta2
        self.iter, self.v, self.s = 0, {}, {}

    def update(self, params, grads):
        self.iter += 1
        for key in params:
            g = 1.01 * grads[key]  # a mistake no entry describes
            self.v[key] = self.b1 * self.v.get(key, 0) + (1 - self.b1) * g
            self.s[key] = self.b2 * self.s.get(key, 0) + (1 - self.b2) * g * g
            v_hat, s_hat = self.v[key] / (1 - self.b1 ** self.iter), self.s[key] / (1 - self.b2 ** self.iter)
            params[key] -= self.lr * v_hat / (np.sqrt(s_hat) + self.eps)
"""


def test_state_the_object_lacks_is_said_not_found_never_none():
    ns = catalogue.namespace()
    exec(RENAMED_STATE, ns)
    with pytest.raises(checks.CheckFailure) as info:
        checks.check_part(ns, PARTS["test_adam"])
    message = str(info.value)
    assert info.value.mistake is None
    assert "没有找到 Adam.u、Adam.t（如果你用别的名字保存它们，可以忽略这一条）" in message
    assert "None" not in message and "应为 1" not in message


def test_the_checks_module_gives_each_parts_check_by_its_name_and_nothing_else():
    """check_<part> of a part added to the table after import comes from the module's __getattr__:
    the check of that part, and an AttributeError for a name that is no part's check."""
    for part in PARTS.values():
        assert checks.__getattr__(part.check).__name__ == part.check
    assert not hasattr(checks, "check_no_such_part")
    with pytest.raises(AttributeError, match="check_no_such_part"):
        checks.__getattr__("check_no_such_part")


def test_an_assertion_that_is_no_check_failure_earns_nothing_and_names_nothing(monkeypatch):
    """An AssertionError of other code inside a check (not a verdict of the check's) reaches the
    notebook as a failure of no credit, with no mistake and no relation, from <隐藏测试>."""
    def asserting(ns, part, seed=None):
        raise AssertionError("an assertion of other code")

    monkeypatch.setattr(checks, "check_part", asserting)
    with pytest.raises(checks.CheckFailure) as caught:
        checks.check_adam({})
    failure = caught.value
    assert (str(failure), failure.mistake, failure.credit, failure.relation) == ("an assertion of other code", None, 0.0, None)
    tb = failure.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code.co_filename == "<隐藏测试>"


def test_the_cause_of_a_failure_keeps_the_students_frames_only():
    """The exception the student's code raised stays the cause of the check's failure, its
    traceback cut to the student's own frames (what the notebook shows under it)."""
    ns = catalogue.namespace()
    exec(compile("class LeakyRelu(LeakyRelu):\n"
                 "    def backward(self, dout):\n"
                 "        raise NotImplementedError('student stub')\n", "<student cell>", "exec"), ns)
    with pytest.raises(checks.CheckFailure) as caught:
        checks.check_leaky_relu(ns)
    cause = caught.value.__cause__
    assert isinstance(cause, NotImplementedError) and str(cause) == "student stub"
    assert [frame.filename for frame in traceback.extract_tb(cause.__traceback__)] == ["<student cell>"]
