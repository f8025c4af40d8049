"""The catalogue of known mistakes and valid alternatives (autograder/catalogue.py): its
entries are well formed small variants of the reference, it holds what the course must
know, and -- end to end, each entry alone in a notebook graded by autograder.verify with
the real sandbox -- a mistake loses points only in its own cell (and in the cells of the
parts that use it) and is named there, while a valid alternative earns full points with no
name attached. The report counts the named mistakes per part."""
import ast
import csv
import re

import nbformat
import pytest

from autograder import catalogue, examples, reference
from autograder.course import ROOT
from autograder.examples import source_notebook
from autograder.parts import PARTS, TEST_CELLS, dependents
from autograder.report import mistake_counts, write_grades_csv
from autograder.report_page import write_report
from autograder.result import SubmissionResult
from autograder.verify import verify_notebook

ENTRIES = {entry.id: entry for entry in catalogue.ENTRIES}

# What the course must know: typical mistakes of each part, and the valid alternatives.
REQUIRED_MISTAKES = [
    "adam_no_bias_correction", "adabelief_no_bias_correction",         # missing bias correction
    "adam_t_off_by_one", "adam_t_late", "adabelief_t_late",            # t off by one
    "adagrad_epsilon_inside_sqrt", "rmsprop_epsilon_inside_sqrt",      # epsilon inside the root
    "adam_epsilon_inside_sqrt", "adabelief_epsilon_inside_sqrt",
    "adam_betas_swapped", "rmsprop_beta_swapped",                      # betas swapped
    "rmsprop_sum", "adagrad_no_accumulation", "adam_first_moment_sum",  # EMA vs sum
    "rmsprop_state_reset", "momentum_state_reset", "nesterov_state_reset",  # state reset each call
    "adam_state_reset", "adabelief_state_reset",
    *(f"{o}_out_of_place" for o in ("adagrad", "rmsprop", "momentum", "nesterov", "adam", "adabelief")),
    "adabelief_old_v", "adam_folded_step", "adabelief_epsilon_in_s",
    "affine_db_axis1", "leaky_backward_slope_zero", "init_not_scaled", "network_predict_skips_activations",
    "momentum_sign_error", "nesterov_as_momentum", "network_layer_copies_param",
    "adagrad_fixed_epsilon", "adam_fixed_epsilon_1e7", "nesterov_lookahead_on_new_velocity",  # a book's code
]
# Published variants: a textbook's or a paper's formula, not the course's (partial credit).
REQUIRED_VARIANTS = ["adagrad_epsilon_inside_sqrt", "rmsprop_epsilon_inside_sqrt",   # d2l
                     "adam_folded_step",                                             # Kingma & Ba, section 2
                     "adabelief_epsilon_in_s"]                                       # AdaBelief, Algorithm 2
REQUIRED_ALTERNATIVES = [
    "momentum_negative_velocity", "momentum_velocity_without_lr",      # the two Momentum conventions
    "nesterov_torch_buffer", "adam_folded_factors", "adabelief_folded_factors",
    "leaky_boolean_indexing", "leaky_np_maximum", "affine_matmul_einsum",
]
CJK = "\u4e00-\u9fff"


def test_entries_have_unique_ids_and_belong_to_a_part():
    assert len(ENTRIES) == len(catalogue.ENTRIES)
    assert all(entry.part in PARTS for entry in catalogue.ENTRIES)
    assert [e.id for e in catalogue.entries()] == [e.id for p in PARTS.values() for e in catalogue.entries(p.grade_id)]


def test_every_part_has_mistakes():
    for part in PARTS.values():
        assert catalogue.entries(part.grade_id, valid=False), part.grade_id
        assert set(catalogue.entries(part.grade_id)) == set(catalogue.entries(part.grade_id, valid=False)) | set(catalogue.entries(part.grade_id, valid=True))


def test_the_published_variants_are_there_and_say_where_they_come_from():
    assert [e.id for e in catalogue.entries(kind="variant")] == REQUIRED_VARIANTS
    for entry in catalogue.entries(kind="variant"):
        assert entry.kind == "variant" and not entry.valid and entry.public
        assert re.search(r"d2l|论文|《", entry.title), entry.id           # where it comes from
        assert "课文的公式" in entry.explanation and entry.fix.startswith("本作业要求"), entry.id
        assert entry.diagnosis().startswith(f"这是一种已发表的写法「{entry.title}」")
    assert {e.kind for e in catalogue.ENTRIES} == {"mistake", "variant", "alternative"}
    assert set(catalogue.entries(valid=False)) == set(catalogue.entries(kind="mistake")) | set(
        catalogue.entries(kind="variant"))


def test_the_known_mistakes_and_alternatives_are_there():
    missing = [m for m in REQUIRED_MISTAKES if m not in ENTRIES or ENTRIES[m].valid]
    assert missing == []
    missing = [a for a in REQUIRED_ALTERNATIVES if a not in ENTRIES or not ENTRIES[a].valid]
    assert missing == []


@pytest.mark.parametrize("entry_id", ENTRIES)
def test_an_entry_is_a_small_variant_that_defines_its_name(entry_id):
    entry = ENTRIES[entry_id]
    reference_code = catalogue.reference_source(entry.name)
    assert entry.edits and entry.source != reference_code
    tree = ast.parse(entry.source)
    assert [node.name for node in tree.body] == [entry.name]
    ns = entry.namespace()
    assert ns[entry.name] is not getattr(reference, entry.name)
    assert ns[entry.name].__doc__.startswith(entry_id)
    # every other name stays the reference's
    plain = catalogue.namespace()
    for name in plain:
        if name not in (entry.name, "__builtins__"):
            assert type(ns[name]) is type(plain[name])


@pytest.mark.parametrize("entry_id", ENTRIES)
def test_an_entry_speaks_chinese_with_full_width_punctuation(entry_id):
    entry = ENTRIES[entry_id]
    texts = [entry.title, entry.explanation] + ([entry.fix] if not entry.valid else [])
    assert all(re.search(f"[{CJK}]", text) for text in texts)
    assert entry.explanation.endswith("。") and not entry.title.endswith("。")
    assert entry.valid == (entry.fix == "")
    if not entry.valid:
        assert entry.fix.endswith("。")
    for text in texts:
        assert not re.search(f"[{CJK}][,;:()]|[,;:()][{CJK}]", text), text


def test_an_edit_that_no_longer_fits_the_reference_fails_loudly():
    broken = catalogue.Entry("broken", "test_adam", "坏", "坏。", "改。", (("no such text", "x"),))
    with pytest.raises(ValueError, match="found 0 times"):
        broken.source


def test_a_notebook_with_an_entry_holds_its_source_in_the_solution_cell():
    entry = ENTRIES["adam_no_bias_correction"]
    notebook = catalogue.notebook_with(source_notebook(), entry)
    cells = [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "adam"]
    assert len(cells) == 1 and cells[0].source == entry.source
    assert source_notebook().cells != notebook.cells  # a copy; the source is left alone


def test_no_catalogue_code_goes_into_the_release():
    for path in (ROOT / "release").rglob("*"):
        if path.is_file() and path.suffix in (".py", ".ipynb"):
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "catalogue" not in text, path
            assert not any(f"「{e.title}」" in text for e in ENTRIES.values() if not e.public), path


# --------------------------------------------------------------------------------------
# The report: per part, how many students made each named mistake
# --------------------------------------------------------------------------------------

def graded(student, mistakes):
    scores = {g: 0.0 if g in mistakes else float(p) for g, p in TEST_CELLS.items()}
    return SubmissionResult(student, scores=scores, mistakes=mistakes, messages={g: "x" for g in mistakes})


def test_the_report_counts_named_mistakes_per_part(tmp_path):
    results = {
        "ann": graded("ann", {"test_affine": "affine_db_axis1", "test_network": "affine_db_axis1",
                              "test_adam": "adam_no_bias_correction"}),
        "ben": graded("ben", {"test_adam": "adam_no_bias_correction"}),
        "cat": graded("cat", {}),
        "dan": SubmissionResult("dan"),  # not graded: counts nowhere
    }
    assert mistake_counts(results) == {"test_affine": {"affine_db_axis1": ["ann"]},
                                       "test_adam": {"adam_no_bias_correction": ["ann", "ben"]}}
    write_grades_csv(results, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["ann"]["mistakes"] == ("test_affine:affine_db_axis1 test_network:affine_db_axis1 "
                                       "test_adam:adam_no_bias_correction")
    assert rows["cat"]["mistakes"] == "" and rows["dan"]["mistakes"] == ""
    page = write_report(results, tmp_path / "report.html", tmp_path / "report.png").read_text(encoding="utf-8")
    section = page.split("Known mistakes, per part")[1].split("Scores per student")[0]
    assert ENTRIES["adam_no_bias_correction"].title in section and "2 (67%)" in section
    assert "affine_db_axis1" in section and "1 (33%)" in section


# --------------------------------------------------------------------------------------
# End to end: each entry alone in a notebook, graded as a submission is
# --------------------------------------------------------------------------------------

def essential(notebook):
    """notebook without the code cells that only load data, show or train (no nbgrader role,
    no definition, no import): they take time and are never graded."""
    def keep(cell):
        if cell.cell_type != "code" or cell.get("metadata", {}).get("nbgrader"):
            return True
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:
            return True
        return any(isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)) for node in body)
    notebook.cells = [cell for cell in notebook.cells if keep(cell)]
    return notebook


@pytest.fixture(scope="module")
def submitted(tmp_path_factory):
    """entry id -> VerifiedResult of the source notebook with that entry alone in place."""
    folder = tmp_path_factory.mktemp("catalogue")
    base = essential(source_notebook())
    results = {}
    for entry_id, entry in ENTRIES.items():
        path = folder / f"{entry_id}.ipynb"
        nbformat.write(catalogue.notebook_with(base, entry), path)
        results[entry_id] = verify_notebook(path)
    return results


def lost(result):
    return {g for g, points in TEST_CELLS.items() if result.scores[g] < points}


@pytest.mark.slow
@pytest.mark.parametrize("entry_id", [e.id for e in catalogue.entries(valid=False)])
def test_a_mistake_submitted_alone_loses_points_only_where_it_is_and_is_named(submitted, entry_id):
    entry, result = ENTRIES[entry_id], submitted[entry_id]
    assert result.reason == "" and result.sandbox == "bwrap"
    assert entry.part in lost(result) and lost(result) <= {entry.part, *dependents(entry.part)}
    assert lost(result) == examples.lost_cells(entry)
    assert result.mistakes == {g: entry_id for g in lost(result)}, result.messages
    assert f"「{entry.title}」" in result.messages[entry.part]


@pytest.mark.slow
@pytest.mark.parametrize("entry_id", REQUIRED_VARIANTS)
def test_a_published_variant_submitted_alone_earns_its_share_and_is_named(submitted, entry_id):
    entry, result = ENTRIES[entry_id], submitted[entry_id]
    part = PARTS[entry.part]
    assert part.variant_credit == 0.5                                 # the table's default: half
    assert result.scores[entry.part] == part.points / 2
    assert {g: s for g, s in result.scores.items() if g != entry.part} == {
        g: float(p) for g, p in TEST_CELLS.items() if g != entry.part}
    assert result.mistakes == {entry.part: entry_id}
    assert f"这是一种已发表的写法「{entry.title}」" in result.messages[entry.part]
    assert f"{part.points / 2:g} / {part.points:g} 分" in result.messages[entry.part]


@pytest.mark.slow
@pytest.mark.parametrize("entry_id", [e.id for e in catalogue.entries(valid=True)])
def test_a_valid_alternative_submitted_alone_earns_full_points_and_no_name(submitted, entry_id):
    result = submitted[entry_id]
    assert examples.lost_cells(ENTRIES[entry_id]) == set()
    assert result.total == sum(TEST_CELLS.values()) and result.mistakes == {}, result.messages
    assert all(message == "" for message in result.messages.values())
