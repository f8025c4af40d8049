"""The held-apart corpus (tests/relation_corpus/): one-bug submissions written the way
students write them, independently of the catalogue. Every check runs in this process on
each variant (the fixed inputs, and a student's seed as `grade` gives it): no valid variant
may fail or be named, no mistake may be named wrongly, and at least 90 % of the mistakes
are named (by a catalogue entry or a relation to the reference). The relations themselves
(autograder/checks/relation_fit.py) are tested on arrays built here; the report lists them
per part, and verification in the sandbox records them."""
import nbformat
import numpy as np
import pytest

from autograder import catalogue, checks
from autograder.catalogue import with_definition
from autograder.checks.relation_fit import Leaf, fit
from autograder.checks.relations import Relation
from autograder.examples import source_notebook
from autograder.parts import PARTS, TEST_CELLS
from autograder.report_page import write_report
from autograder.result import SubmissionResult
from autograder.verify import verify_notebook
from relation_corpus.generator import namespace, variants
from relation_corpus.measure import outcomes

SEED = 4242  # a student's seed: the optimizers' hyper-parameters move, the inputs change


@pytest.fixture(scope="module", params=[None, SEED], ids=["fixed inputs", "a student's seed"])
def results(request):
    return outcomes(request.param)


def test_the_corpus_covers_every_part_with_sixty_mistakes_or_more():
    mistakes = [v for v in variants() if not v.valid]
    assert len(mistakes) >= 60
    assert {v.part for v in mistakes} == set(PARTS)
    assert all(v.expect for v in mistakes if v.id not in UNNAMEABLE)
    assert len({v.id for v in variants()}) == len(variants())


# mistakes no relation explains (no name is right for them): they must stay unnamed
UNNAMEABLE = {"init_he_scale", "leaky_forward_alpha_not_times_x", "affine_dx_without_transpose", "net_first_layer_copy"}


def test_no_valid_variant_fails_or_is_named(results):
    bad = [(r.variant.id, r.verdict, r.name) for r in results if r.variant.valid and r.verdict != "passed"]
    assert bad == []


def test_no_mistake_is_named_wrongly_or_passes(results):
    bad = [(r.variant.id, r.name, r.message[:160]) for r in results
           if not r.variant.valid and r.verdict in ("wrong", "missed")]
    assert bad == []


def test_ninety_percent_of_the_mistakes_are_named_correctly(results):
    mistakes = [r for r in results if not r.variant.valid]
    correct = [r for r in mistakes if r.verdict == "correct"]
    assert len(correct) >= 0.9 * len(mistakes), [r.variant.id for r in mistakes if r.verdict != "correct"]


def test_a_failure_names_its_relation_in_a_typed_field():
    variant = next(v for v in variants() if v.id == "affine_dW_over_batch")
    with pytest.raises(checks.CheckFailure) as failure:
        checks.check_affine(namespace(variant))
    relation = failure.value.relation
    assert isinstance(relation, Relation) and failure.value.mistake is None
    assert (relation.kind, relation.detail, relation.quantities) == ("scale", "1/N", ("dW",))
    assert "1/N" in str(failure.value) and "不要除以批大小" in str(failure.value)


def _rtol(dtype):
    return {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}[np.dtype(dtype)]


def test_a_gradient_divided_by_the_batch_size_is_named_with_its_batch_size():
    rng = np.random.default_rng(0)
    leaves = []
    for n in (2, 5, 9):
        R = rng.standard_normal((4, 3))
        leaves.append(Leaf(R / n, R, named={"N": n}))
    found = fit(leaves, _rtol)
    assert (found.kind, found.detail) == ("scale", "1/N")
    # one constant factor is a constant, not the batch size
    constant = fit([Leaf(leaf.R * 0.5, leaf.R, named=leaf.named) for leaf in leaves], _rtol)
    assert (constant.kind, constant.detail) == ("scale", "×0.5")


def test_a_slope_is_fitted_on_each_side_of_zero():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 5))
    R = np.where(x > 0, x, 0.1 * x)
    found = fit([Leaf(np.where(x > 0, x, 0.3 * x), R, named={"alpha": 0.1}, region=x > 0)], _rtol)
    assert found.kind == "piecewise" and "0.3" in found.fact


def test_noise_or_a_difference_in_one_element_is_no_relation():
    rng = np.random.default_rng(2)
    R = rng.standard_normal((5, 4))
    assert fit([Leaf(R + 1e-3 * rng.standard_normal(R.shape), R, named={"N": 5})], _rtol) is None
    S = R.copy()
    S[0, 0] *= 2
    assert fit([Leaf(S, R, named={"N": 5})], _rtol) is None
    # a relation must hold on every case: a factor 1/N in one case only explains nothing
    assert fit([Leaf(R / 5, R, named={"N": 5}), Leaf(R, R, named={"N": 4})], _rtol) is None


def _graded(variant_ids):
    """A SubmissionResult per student from the real checks on the corpus variants they wrote
    (every other cell full points)."""
    by_id = {v.id: v for v in variants()}
    results = {}
    for student, variant_id in variant_ids.items():
        variant = by_id[variant_id]
        scores, mistakes, relations = dict(TEST_CELLS), {}, {}
        try:
            checks.check_part(namespace(variant), PARTS[variant.part])
        except checks.CheckFailure as failure:
            scores[variant.part] = 0.0
            mistakes.update({variant.part: failure.mistake} if failure.mistake else {})
            relations.update({variant.part: failure.relation.id} if failure.relation else {})
        results[student] = SubmissionResult(student, scores={g: float(p) for g, p in scores.items()},
                                            mistakes=mistakes, relations=relations)
    return results


def test_the_report_names_relations_next_to_catalogue_names_and_says_what_the_class_gets_wrong(tmp_path):
    results = _graded({"ann": "affine_dW_over_batch", "ben": "affine_both_over_batch", "cat": "affine_no_bias",
                       "dan": "affine_dx_without_transpose", "eve": "adam_no_correction", "fay": "affine_matmul_ok"})
    page = write_report(results, tmp_path / "report.html", tmp_path / "report.png").read_text(encoding="utf-8")
    table = page.split("Known mistakes, per part")[1].split("What the class gets wrong")[0]
    assert "affine_no_bias" in table and "adam_no_bias_correction" in table  # catalogue names
    assert "scale:1/N" in table and "2 (33%)" in table and "ann, ben" in table  # the relation, next to them
    summary = page.split("What the class gets wrong")[1].split("Scores per student")[0]
    affine = summary.split("(test_affine)")[1].split("</ol>")[0].split("<li>")[1:]
    assert affine[0].startswith("<b>2</b>") and "不要再除以批大小" in affine[0]  # most students first
    assert any("<b>1</b>" in item and "漏掉了 b" in item for item in affine[1:])
    assert "没有找到可以说明的原因" in affine[-1] and "<b>1</b>" in affine[-1]  # dan: nothing named it
    assert "(test_adam)" in summary and "缺少偏差修正" in summary


def test_verification_in_the_sandbox_records_the_relation_of_a_failure(tmp_path):
    """Through autograder.verify (the student's code in the sandbox, the checks in this
    process): the relation lands in VerifiedResult.relations, typed apart from mistakes."""
    by_id = {v.id: v for v in variants()}
    notebook = with_definition(source_notebook(), "Affine", by_id["affine_dW_over_batch"].source)
    notebook = with_definition(notebook, "Adam", by_id["adam_r_sum"].source)
    path = tmp_path / "submission.ipynb"
    nbformat.write(notebook, path)
    result = verify_notebook(path)
    assert result.relations["test_affine"] == "scale:1/N"
    assert result.relations["test_adam"] == "update_rule:second_moment_without_one_minus_beta"
    assert "test_affine" not in result.mistakes and result.scores["test_affine"] == 0.0
    assert "不要除以批大小" in result.messages["test_affine"]


@pytest.mark.parametrize("entry_id", [e.id for e in catalogue.entries(kind="variant")])
def test_a_published_variant_keeps_its_catalogue_name_and_credit(entry_id):
    """Relations come after the catalogue: a variant is named as the variant, never as a relation."""
    entry = catalogue.get(entry_id)
    with pytest.raises(checks.CheckFailure) as failure:
        checks.check_part(entry.namespace(), PARTS[entry.part])
    assert failure.value.mistake == entry_id and failure.value.relation is None
    assert failure.value.credit == PARTS[entry.part].variant_credit
