"""Example submissions, made from the source notebook: the reference solution, typical
mistakes and valid alternatives of the catalogue (autograder/catalogue.py), and tampered
notebooks.

An example of a catalogue entry is the source notebook with the entry's source in its
part's solution cell, so the examples follow the catalogue and keep no mistake of their own.
"""
import copy
import warnings
from functools import lru_cache

import nbformat
import numpy as np

from autograder import catalogue, checks
from autograder.course import SOURCE_DIR
from autograder.parts import PARTS, dependents

SOURCE_NOTEBOOK = SOURCE_DIR / "mlp_optimizers.ipynb"

# catalogue ids: one typical mistake for each graded part, and valid alternatives (full marks)
EXAMPLE_MISTAKES = ("init_not_scaled", "leaky_backward_slope_zero", "affine_db_axis1",
                    "network_predict_skips_activations", "adagrad_no_sqrt",
                    "rmsprop_beta_swapped", "momentum_out_of_place", "nesterov_as_momentum",
                    "adam_no_bias_correction", "adabelief_old_v")
EXAMPLE_ALTERNATIVES = ("leaky_boolean_indexing", "affine_matmul_einsum", "momentum_negative_velocity",
                        "momentum_velocity_without_lr", "adam_folded_factors")


def source_notebook():
    """The source notebook (with solutions and hidden tests)."""
    return nbformat.read(SOURCE_NOTEBOOK, as_version=4)


def cell_by_grade_id(notebook, grade_id):
    """The cell of notebook whose nbgrader grade id is grade_id (KeyError if none)."""
    for cell in notebook.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def with_entry(entry_id, notebook=None):
    """A copy of notebook (default: the source) whose solution cell of the catalogue entry's
    part holds the entry's source."""
    return catalogue.notebook_with(notebook or source_notebook(), catalogue.get(entry_id))


def without_cell(grade_id, notebook=None):
    """A copy of notebook with the cell grade_id deleted."""
    notebook = copy.deepcopy(notebook or source_notebook())
    notebook.cells.remove(cell_by_grade_id(notebook, grade_id))
    return notebook


def with_cell_source(grade_id, source, notebook=None):
    """A copy of notebook whose cell grade_id holds source instead."""
    notebook = copy.deepcopy(notebook or source_notebook())
    cell_by_grade_id(notebook, grade_id).source = source
    return notebook


def all_examples():
    """{student name: notebook} of every example submission whose grade is known in advance,
    and {student name: set of test cells that must lose points}: reference_solution,
    bug_<id> for each of EXAMPLE_MISTAKES (the cells lost_cells names),
    alt_<id> for each of EXAMPLE_ALTERNATIVES (none), and two tampered notebooks (none: the
    grader restores the test cells)."""
    submissions = {"reference_solution": source_notebook()}
    losing = {"reference_solution": set()}
    for prefix, ids, valid in (("bug", EXAMPLE_MISTAKES, False), ("alt", EXAMPLE_ALTERNATIVES, True)):
        for entry_id in ids:
            entry = catalogue.get(entry_id)
            if entry.valid != valid:
                raise ValueError(f"{entry_id}: expected a catalogue {'alternative' if valid else 'mistake'}")
            submissions[f"{prefix}_{entry_id}"] = with_entry(entry_id)
            losing[f"{prefix}_{entry_id}"] = lost_cells(entry)
    submissions["tampered_deleted_test_cell"] = without_cell("test_affine")
    losing["tampered_deleted_test_cell"] = set()
    submissions["tampered_edited_test_cell"] = with_cell_source("test_adam", "print('all tests passed')")
    losing["tampered_edited_test_cell"] = set()
    return submissions, losing


def lost_cells(entry):
    """The grade ids of the cells that a submission with this entry alone (and the
    reference everywhere else) loses: its own part's, and those of the parts that use it
    where the mistake shows (an Affine whose db is summed over the wrong axis breaks the
    network; one that overwrites its input does not). Empty for a valid alternative. What
    example submissions expect (the checks run here, on this process's copy of the entry)."""
    return set(_lost_cells(entry.id))


@lru_cache(maxsize=None)
def _lost_cells(entry_id):
    entry = catalogue.get(entry_id)
    ns = entry.namespace()
    lost = []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for grade_id in [entry.part, *dependents(entry.part)]:
            try:
                checks.check_part(ns, PARTS[grade_id])
            except checks.CheckFailure:
                lost.append(grade_id)
    return tuple(lost)
