"""The table of graded parts (autograder/parts.py) and the places that derive from it.

The last test adds a part to the table -- an eighth optimizer, SGD, with a known mistake in
the catalogue -- in a fresh interpreter, before anything else is imported, and shows that
the checks, the verifier (its plan, scores, named mistakes and hints), grades.csv,
report.html, the console table, the maximum score, the example notebooks built from the
catalogue and the tests' parametrisation all follow, with no other change."""
import json
import subprocess
import sys
import textwrap

from autograder import catalogue, checks, reference, report, verify
from autograder.course import ROOT
from autograder.parts import KINDS, PARTS, TEST_CELLS, Part, by_name, dependents
from autograder.result import MAX_POINTS

# The graded cells, their points and their order: fixed (gradebooks of past runs use them).
GRADED_CELLS = [("test_initialize_parameters", 5), ("test_leaky_relu", 10), ("test_affine", 15),
                ("test_network", 15), ("test_adagrad", 8), ("test_rmsprop", 8), ("test_momentum", 8),
                ("test_nesterov", 9), ("test_adam", 11), ("test_adabelief", 11)]


def test_the_graded_cells_their_points_and_order_do_not_change():
    assert [(p.grade_id, p.points) for p in PARTS.values()] == GRADED_CELLS
    assert list(TEST_CELLS.items()) == GRADED_CELLS and dict(TEST_CELLS) == dict(GRADED_CELLS)
    assert MAX_POINTS == sum(TEST_CELLS.values()) == 100


def test_every_row_is_complete():
    for position, part in enumerate(PARTS.values()):
        assert part.kind in KINDS and part.grade_id.startswith("test_")
        assert callable(getattr(checks, part.check)) and part.name in reference.__all__
        assert by_name(part.name) is part
        assert all(list(PARTS).index(used) < position for used in part.uses)
        if part.kind == "optimizer":
            assert part.hyper_params and set(part.hyper_params) < set(
                getattr(reference, part.name).__init__.__code__.co_varnames)
            optimizer = getattr(reference, part.name)()
            assert all(hasattr(optimizer, attribute) for attribute in part.state)
        assert catalogue.entries(part.grade_id, valid=False)
    assert dependents("test_affine") == ["test_network"] and dependents("test_adam") == []


def test_the_derived_places_follow_the_table():
    assert verify.GRADED_NAMES == {p.grade_id: p.name for p in PARTS.values()}
    assert list(verify.CHECKS) == list(PARTS)
    assert list(report.SHORT) == list(PARTS)
    assert checks.__all__[2:] == [p.check for p in PARTS.values()]
    assert {e.part for e in catalogue.ENTRIES} == set(PARTS)


EXTRA_PART = r'''
import csv, json, sys, tempfile, warnings
from pathlib import Path
import numpy as np
np.seterr(all="ignore"); warnings.simplefilter("ignore")

from autograder import parts
parts.PARTS["test_sgd"] = parts.Part("test_sgd", "SGD", 4, "optimizer", None,
                                     hyper_params={"learning_rate": 0.05})
from autograder import catalogue
catalogue.ENTRIES.append(catalogue.Entry(
    "sgd_sign_error", "test_sgd", "更新的方向反了", "参数应沿梯度的反方向移动。", "用 -= 而不是 +=。",
    (("params[key] -= ", "params[key] += "),)))

from autograder import checks, report, report_page, result, verify
from autograder.examples import source_notebook
import nbformat

out = {"all": checks.__all__, "max_points": result.MAX_POINTS, "graded_names": verify.GRADED_NAMES,
       "short": report.SHORT, "test_cells": dict(parts.TEST_CELLS)}
entry = catalogue.get("sgd_sign_error")
checks.check_sgd(catalogue.namespace())
try:
    checks.check_sgd(entry.namespace())
    out["direct"] = None
except checks.CheckFailure as failure:
    out["direct"] = [failure.mistake, str(failure)]

folder = Path(tempfile.mkdtemp())
verified = {}
for name, notebook in {"right": source_notebook(),
                       "wrong": catalogue.notebook_with(source_notebook(), entry)}.items():
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    v = verify.verify_notebook(path)
    verified[name] = v
    out[name] = {"scores": v.scores, "mistakes": v.mistakes, "message": v.messages["test_sgd"]}
results = {name: result.SubmissionResult(name, scores=v.scores, messages=v.messages, mistakes=v.mistakes)
           for name, v in verified.items()}
report.write_grades_csv(results, folder / "grades.csv")
with open(folder / "grades.csv", newline="", encoding="utf-8") as f:
    out["csv"] = list(csv.DictReader(f))
out["html"] = report_page.write_report(results, folder / "r.html", folder / "r.png").read_text(encoding="utf-8")
out["table"] = report.text_table(results)
out["totals"] = {name: r.total for name, r in results.items()}

import pytest
class Collect:
    def __init__(self):
        self.ids = []
    def pytest_collection_modifyitems(self, items):
        self.ids = [item.nodeid for item in items]
collect = Collect()
pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", str(Path(sys.argv[1]) / "tests" / "test_checks.py")],
            plugins=[collect])
out["collected"] = collect.ids
print("RESULT" + json.dumps(out, ensure_ascii=False))
'''


def test_an_extra_part_added_to_the_table_is_followed_everywhere():
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(EXTRA_PART), str(ROOT)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.split("RESULT", 1)[1])
    # the table and what derives from it
    assert out["test_cells"] == dict(GRADED_CELLS, test_sgd=4) and out["max_points"] == 104
    assert out["all"][-1] == "check_sgd" and out["graded_names"]["test_sgd"] == "SGD"
    assert out["short"]["test_sgd"] == "sgd"
    # the check, and the mistake named
    assert out["direct"][0] == "sgd_sign_error" and "「更新的方向反了」" in out["direct"][1]
    # the verifier: the notebook defines SGD, its check runs after the last cell
    assert out["right"]["scores"] == dict(GRADED_CELLS, test_sgd=4.0) and out["right"]["mistakes"] == {}
    assert out["wrong"]["scores"] == dict(GRADED_CELLS, test_sgd=0.0)
    assert out["wrong"]["mistakes"] == {"test_sgd": "sgd_sign_error"}
    assert "SGD.update 之后的 params" in out["wrong"]["message"]
    # grades.csv, report.html, the console table
    rows = {row["student"]: row for row in out["csv"]}
    assert rows["wrong"]["test_sgd"] == "0" and rows["wrong"]["total"] == "100"
    assert rows["wrong"]["mistakes"] == "test_sgd:sgd_sign_error" and rows["right"]["total"] == "104"
    assert "test_sgd" in out["html"] and "sgd_sign_error" in out["html"]
    assert "sgd" in out["table"].splitlines()[0] and out["totals"] == {"right": 104, "wrong": 100}
    # the tests' parametrisation
    collected = "\n".join(out["collected"])
    assert "test_one_mistake_per_part_through_remote_costs_nothing_elsewhere[test_sgd]" in collected
    assert "test_a_mistake_fails_its_own_check_names_itself_and_costs_nothing_elsewhere[sgd_sign_error]" in collected


def _autograder_imports(path):
    """(module-level imports of autograder modules, imports of them inside a function or class) of path."""
    import ast
    tree = ast.parse(path.read_text())
    top, inner = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autograder"):
            names = {f"{node.module}.{a.name}" if node.module == "autograder" else node.module for a in node.names}
        elif isinstance(node, ast.Import):
            names = {a.name for a in node.names if a.name.startswith("autograder")}
        else:
            continue
        (top if node in tree.body else inner).update(names)
    return top, inner


def test_parts_catalogue_and_checks_import_each_other_in_no_circle():
    """parts imports nothing of the package; no module of the three hides an import inside a
    function; the graph of their module-level imports has no cycle."""
    modules = {"autograder.parts": ROOT / "autograder" / "parts.py",
               "autograder.catalogue": ROOT / "autograder" / "catalogue.py",
               **{f"autograder.checks.{p.stem}" if p.stem != "__init__" else "autograder.checks": p
                  for p in (ROOT / "autograder" / "checks").glob("*.py")}}
    graph = {}
    for name, path in modules.items():
        top, inner = _autograder_imports(path)
        assert not inner, f"{name} imports {inner} inside a function"
        graph[name] = {m for m in top if m in modules and m != name}
    assert graph["autograder.parts"] == set() and _autograder_imports(modules["autograder.parts"])[0] == set()
    done, active = set(), []

    def visit(name):
        assert name not in active, f"import circle: {' -> '.join(active + [name])}"
        if name in done:
            return
        active.append(name)
        for other in graph[name]:
            visit(other)
        active.pop()
        done.add(name)
    for name in graph:
        visit(name)
    assert "autograder.catalogue" in graph["autograder.checks.diagnose"]  # the edge that used to close a circle
