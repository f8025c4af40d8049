"""The hidden checks (autograder.checks) on the reference, on typical mistakes and on valid
alternatives (tests/buggy.py): each mistake fails exactly the check of its own cell.

Every check runs on two paths: Direct (a dict of objects in this interpreter, as in the
notebook's hidden-test cells) and Remote (the same objects in a student server process,
reached through autograder.sandbox.proxy, as autograder.verify grades). The Remote server
here is a plain subprocess (Sandbox mode "weak") that imports tests/buggy.py, so that it
can hold the very same variants. On the Remote path:

* the reference passes all ten checks, and one mistake per cell fails exactly its own check;
* every mistake fails its own check with exactly the message the Direct path gives;
* every valid alternative passes the checks of every cell that uses the replaced name.

The full cross product (every mistake x all ten checks) runs on the Direct path only.
"""
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from autograder import checks
from autograder.course import ROOT
from autograder.sandbox import wire
from autograder.sandbox.arena import ArenaFull
from autograder.sandbox.interface import Direct, NotTransferable, Ref, StudentError
from autograder.sandbox.proxy import Sandbox
from buggy import ALTERNATIVES, BUGS, UNFINISHED, namespace, reference_namespace

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

# The checks that read a name (check_network also runs the student's init and layers).
READERS = {
    "initialize_parameters": {"test_initialize_parameters", "test_network"},
    "LeakyRelu": {"test_leaky_relu", "test_network"},
    "Affine": {"test_affine", "test_network"},
    "ThreeLayerNet": {"test_network"},
    **{name: {f"test_{name.lower()}"} for name in
       ("AdaGrad", "RMSprop", "Momentum", "Nesterov", "Adam", "AdaBelief")},
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

# Mistakes whose values depend on the unseeded global random generator.
UNSEEDED = {"init_no_seed"}

# One mistake per cell, run through all ten checks on the Remote path too.
REPRESENTATIVE_BUGS = {grade_id: next(bug for bug, (g, _) in BUGS.items() if g == grade_id)
                       for grade_id in CHECKS}


@pytest.fixture(autouse=True)
def quiet_numpy():
    """Buggy variants divide by zero on purpose."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def run_all(ns, grade_ids=CHECKS):
    """grade id -> failure message, or None when the check passes."""
    results = {}
    for grade_id in grade_ids:
        try:
            CHECKS[grade_id](ns)
            results[grade_id] = None
        except AssertionError as e:
            results[grade_id] = str(e)
    return results


# --------------------------------------------------------------------------------------
# The Remote path: a student server holding the variants of tests/buggy.py
# --------------------------------------------------------------------------------------

SERVER_SETUP = f"""
import sys, warnings
import numpy as np
sys.path[:0] = [{str(ROOT)!r}, {str(Path(__file__).parent)!r}]
import buggy
np.seterr(all="ignore")
warnings.simplefilter("ignore", RuntimeWarning)

def _use(table, name, drop=()):
    entry = getattr(buggy, table)[name] if table else {{}}
    objects = entry if isinstance(entry, dict) else entry[1]
    for key in list(buggy.reference_namespace()):
        globals().pop(key, None)
    globals().update(buggy.namespace(objects))
    for key in drop:
        del globals()[key]
"""


@pytest.fixture(scope="module")
def server():
    with Sandbox(mode="weak") as sandbox:
        error, _ = sandbox.run_cell(SERVER_SETUP, timeout=120)
        assert error is None, error
        yield sandbox


def remote(server, table=None, name=None, drop=()):
    """A Remote whose names are the reference's, with BUGS / ALTERNATIVES / UNFINISHED
    [name] in place (table None: the reference), without the names in drop."""
    error, _ = server.run_cell(f"_use({table!r}, {name!r}, {tuple(drop)!r})", timeout=60)
    assert error is None, error
    return server.remote()


# --------------------------------------------------------------------------------------
# Direct and Remote
# --------------------------------------------------------------------------------------

def test_every_check_passes_on_the_reference():
    assert run_all(reference_namespace()) == {grade_id: None for grade_id in CHECKS}


def test_every_check_passes_on_the_reference_through_remote(server):
    assert run_all(remote(server)) == {grade_id: None for grade_id in CHECKS}


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


def without_numbers(message):
    return re.sub(r"[0-9][0-9.e+-]*", "#", message)


@pytest.mark.parametrize("bug", BUGS)
def test_bug_fails_its_check_through_remote_with_the_same_message(server, bug):
    grade_id, objects = BUGS[bug]
    direct = run_all(namespace(objects), [grade_id])[grade_id]
    through_remote = run_all(remote(server, "BUGS", bug), [grade_id])[grade_id]
    assert direct is not None
    if bug in UNSEEDED:  # draws from each process's own global generator
        direct, through_remote = without_numbers(direct), without_numbers(through_remote)
    assert through_remote == direct


@pytest.mark.parametrize("grade_id", REPRESENTATIVE_BUGS)
def test_representative_bug_fails_exactly_its_own_check_through_remote(server, grade_id):
    results = run_all(remote(server, "BUGS", REPRESENTATIVE_BUGS[grade_id]))
    assert results[grade_id] is not None
    assert {g: m for g, m in results.items() if g != grade_id and m is not None} == {}


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_valid_alternative_passes_every_check(alternative):
    assert run_all(namespace(ALTERNATIVES[alternative])) == {grade_id: None for grade_id in CHECKS}


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_valid_alternative_passes_through_remote(server, alternative):
    readers = set().union(*(READERS[name] for name in ALTERNATIVES[alternative]))
    results = run_all(remote(server, "ALTERNATIVES", alternative), sorted(readers))
    assert results == {grade_id: None for grade_id in readers}


@pytest.mark.parametrize("unfinished", UNFINISHED)
def test_unfinished_code_fails_with_a_message_naming_it(unfinished):
    grade_id, objects, mentioned = UNFINISHED[unfinished]
    with pytest.raises(AssertionError) as failure:
        CHECKS[grade_id](namespace(objects))
    message = str(failure.value)
    assert message.startswith(f"调用 {mentioned}")
    assert "NotImplementedError" in message
    assert isinstance(failure.value.__cause__, NotImplementedError)


@pytest.mark.parametrize("unfinished", UNFINISHED)
def test_unfinished_code_fails_with_the_same_message_through_remote(server, unfinished):
    grade_id, objects, mentioned = UNFINISHED[unfinished]
    with pytest.raises(AssertionError) as failure:
        CHECKS[grade_id](remote(server, "UNFINISHED", unfinished))
    assert str(failure.value) == run_all(namespace(objects), [grade_id])[grade_id]
    assert str(failure.value).startswith(f"调用 {mentioned}")
    assert isinstance(failure.value.__cause__, StudentError)
    assert failure.value.__cause__.type_name == "NotImplementedError"


def test_missing_name_fails_with_a_hint(server):
    ns = reference_namespace()
    del ns["Nesterov"]
    with pytest.raises(AssertionError, match="没有找到 Nesterov"):
        checks.check_nesterov(ns)
    with pytest.raises(AssertionError, match="没有找到 Nesterov"):
        checks.check_nesterov(remote(server, drop=["Nesterov"]))


# A network whose layer holds a copy of one parameter: an optimizer's in-place update of
# params never reaches it. Defined in the namespace of the reference (buggy.py's names).
LAYER_COPIES = {
    "W2": "self.layers['Affine2'] = Affine(self.params['W2'].copy(), self.params['b2'])",
    "b3": "self.layers['Affine3'] = Affine(self.params['W3'], self.params['b3'] + 0)",
}
LAYER_COPY_NET = """
class LayerCopiesParam(ThreeLayerNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        {assignment}
ThreeLayerNet = LayerCopiesParam
"""


@pytest.mark.parametrize("key", LAYER_COPIES)
def test_a_layer_that_copies_its_parameter_fails_the_network_check(server, key):
    source = LAYER_COPY_NET.format(assignment=LAYER_COPIES[key])
    ns = reference_namespace()
    exec(source, ns)
    direct = run_all(ns, ["test_network"])["test_network"]
    assert direct is not None
    assert f"layers['Affine{key[1]}'].{key[0]}" in direct and "看不到参数的原地更新" in direct
    student = remote(server)
    error, _ = server.run_cell(source, timeout=30)
    assert error is None, error
    assert run_all(student, ["test_network"])["test_network"] == direct


def test_checks_leave_the_global_random_state_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    checks.check_initialize_parameters(reference_namespace())
    assert np.random.rand() == expected


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
