"""The constants of the visible tests (source/mlp_optimizers/public_tests.py) that come from
the catalogue (autograder/catalogue.py): for each optimizer, the parameters after each update
of the visible test's float64 case for every public mistake whose parameters differ from the
reference's. With them a failing visible test names the mistake that the student's parameters
match, and the release holds no catalogue code. tests/test_public_tests.py checks that the file
holds exactly what known_mistakes() computes. To refresh the block after the catalogue or the
test's inputs change, print it and paste it over KNOWN_MISTAKES in public_tests.py:

    python -m autograder.public_constants

The relations the visible tests fit between a student's array and the expected one (how a
layer's mistake is named without the reference) are the hidden checks' own:
autograder/checks/relation_fit.py, whose body public_tests.py holds between RELATIONS_BEGIN
and RELATIONS_END (the release holds no import of this package). After changing that file:

    python -m autograder.public_constants relations     (rewrites the block in place)
"""
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from autograder import catalogue, reference
from autograder.checks import relation_fit
from autograder.course import SOURCE_DIR, load_module
from autograder.parts import PARTS

PUBLIC_TESTS = SOURCE_DIR / "public_tests.py"
RELATIONS_BEGIN = "# ---- 以下由课程的关系拟合代码生成（与隐藏测试所用的相同），请勿修改 ----\n"
RELATIONS_END = "# ---- 关系拟合代码到此为止 ----\n"


def relations_block():
    """The text public_tests.py holds between RELATIONS_BEGIN and RELATIONS_END: the body of
    relation_fit.py after its docstring and imports (public_tests imports the same names)."""
    source = Path(relation_fit.__file__).read_text(encoding="utf-8")
    body = source[source.index("\nimport numpy as np\n") + len("\nimport numpy as np\n"):].lstrip("\n")
    return RELATIONS_BEGIN + body + RELATIONS_END


def write_relations(path=PUBLIC_TESTS):
    """Replaces the relations block of the visible tests at path by relations_block()."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(RELATIONS_BEGIN), text.index(RELATIONS_END) + len(RELATIONS_END)
    path.write_text(text[:start] + relations_block() + text[end:], encoding="utf-8")


def trajectory(optimizer_class, hyper, params0, grads_sequence, dtype=np.float64):
    """The parameters after each update: [{key: array}], one dict per element of
    grads_sequence; params0 and each grads are {key: nested lists}, e.g. W (2, 2), b (2,)."""
    optimizer = optimizer_class(**hyper)
    params = {key: np.array(value, dtype=dtype) for key, value in params0.items()}
    after = []
    for grads in grads_sequence:
        optimizer.update(params, {key: np.array(value, dtype=dtype) for key, value in grads.items()})
        after.append({key: np.array(value, dtype=dtype) for key, value in params.items()})
    return after


def _same(a, b):
    return all(np.array_equal(x[key], y[key], equal_nan=True) for x, y in zip(a, b) for key in x)


def known_mistakes(public_tests):
    """{optimizer name: [{"title", "explanation", ["published": True,] "params": trajectory as
    nested lists}]} for the public mistakes and published variants of each optimizer part on public_tests' float64 case (its
    OPTIMIZER_CASES[name]["hyper"], OPT_PARAMS0, OPT_GRADS). A mistake whose parameters equal
    the reference's (an out-of-place update, modified gradients) is left out: the visible test
    finds those by identity and by comparing the inputs."""
    found = {}
    for part in PARTS.values():
        case = public_tests.OPTIMIZER_CASES.get(part.name) if part.kind == "optimizer" else None
        if case is None:
            continue
        run = lambda cls: trajectory(cls, case["hyper"], public_tests.OPT_PARAMS0,  # noqa: E731
                                     public_tests.OPT_GRADS)
        expected = run(getattr(reference, part.name))
        for entry in catalogue.entries(part.grade_id, valid=False):
            if not entry.public:
                continue
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                params = run(entry.namespace()[part.name])
            if not _same(params, expected):
                found.setdefault(part.name, []).append({
                    "title": entry.title, "explanation": entry.explanation,
                    **({"published": True} if entry.variant else {}),
                    "params": [{key: value.tolist() for key, value in step.items()} for step in params]})
    return found


def _literal(value):
    if isinstance(value, float):
        return {"nan": "np.nan", "inf": "np.inf", "-inf": "-np.inf"}.get(repr(value), repr(value))
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def render(mistakes):
    """The Python text of KNOWN_MISTAKES, as public_tests.py holds it."""
    lines = ["KNOWN_MISTAKES = {"]
    for name, entries in mistakes.items():
        lines.append(f"    {_literal(name)}: [")
        for entry in entries:
            lines.append(f"        {{\"title\": {_literal(entry['title'])},")
            lines.append(f"         \"explanation\": {_literal(entry['explanation'])},")
            if entry.get("published"):
                lines.append("         \"published\": True,")
            lines.append("         \"params\": [")
            for step, params in enumerate(entry["params"], start=1):
                lines.append(f"             # 第 {step} 次更新之后")
                lines.append("             {" + ",\n              ".join(
                    f"{_literal(key)}: {_literal(value)}" for key, value in params.items()) + "},")
            lines.append("         ]},")
        lines.append("    ],")
    lines.append("}")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] == ["relations"]:
        write_relations()
    else:
        print(render(known_mistakes(load_module(PUBLIC_TESTS.name))))
