"""Example submissions, made from the source notebook: the reference solution, one typical
bug each, valid alternative solutions, and tampered notebooks.

Each example is a list of edits of the source notebook's solution cells, so the examples
follow the source when it changes. An edit whose text is not found raises, so a stale
example fails loudly instead of silently becoming the reference solution.
"""
import copy

import nbformat

from autograder.course import SOURCE_DIR

SOURCE_NOTEBOOK = SOURCE_DIR / "mlp_optimizers.ipynb"

# name -> (edits [(grade_id of the cell, old text, new text)], test cells that must lose points)
BUGS = {
    "affine_db_wrong_axis": (
        [("affine", "self.db = np.sum(dout, axis=0)", "self.db = np.sum(dout, axis=1)")],
        {"test_affine", "test_network"}),
    "leaky_relu_backward_slope_zero": (
        [("leaky_relu", "dx = np.where(self.mask, self.alpha * dout, dout)",
          "dx = dout.copy()\n        dx[self.mask] = 0")],
        {"test_leaky_relu", "test_network"}),
    "init_without_weight_scale": (
        [("initialize_parameters",
          "params['W2'] = (np.random.randn(hidden_size, hidden_size) * weight_init_std).astype(dtype)",
          "params['W2'] = np.random.randn(hidden_size, hidden_size).astype(dtype)")],
        {"test_initialize_parameters"}),
    "adagrad_epsilon_inside_sqrt": (
        [("adagrad", "(np.sqrt(self.grads_squared[key]) + self.epsilon)",
          "np.sqrt(self.grads_squared[key] + self.epsilon)")],
        {"test_adagrad"}),
    "rmsprop_betas_swapped": (
        [("rmsprop", "self.beta * self.grads_squared[key] + (1 - self.beta) * grads[key]",
          "(1 - self.beta) * self.grads_squared[key] + self.beta * grads[key]")],
        {"test_rmsprop"}),
    "momentum_out_of_place": (
        [("momentum", "params[key] -= self.v[key]", "params[key] = params[key] - self.v[key]")],
        {"test_momentum"}),
    "nesterov_written_as_momentum": (
        [("nesterov", "params[key] -= self.beta * self.v[key] + self.learning_rate * grads[key]",
          "params[key] -= self.v[key]")],
        {"test_nesterov"}),
    "adam_without_bias_correction": (
        [("adam", "v_corrected = self.v[key] / (1 - self.beta1 ** self.t)", "v_corrected = self.v[key]"),
         ("adam", "u_corrected = self.u[key] / (1 - self.beta2 ** self.t)", "u_corrected = self.u[key]")],
        {"test_adam"}),
    "adabelief_uses_old_v": (
        [("adabelief",
          "            self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * grads[key]\n"
          "            self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * (grads[key] - self.v[key]) ** 2\n",
          "            self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * (grads[key] - self.v[key]) ** 2\n"
          "            self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * grads[key]\n")],
        {"test_adabelief"}),
    "predict_skips_a_layer": (
        [("three_layer_net", "pred = layer.forward(pred)",
          "pred = layer.forward(pred) if not isinstance(layer, LeakyRelu) else pred")],
        {"test_network"}),
}

# name -> edits; each must get full marks
ALTERNATIVES = {
    "leaky_relu_with_boolean_indexing": [
        ("leaky_relu", "out = np.where(self.mask, self.alpha * x, x)",
         "out[self.mask] = self.alpha * out[self.mask]"),
        ("leaky_relu", "dx = np.where(self.mask, self.alpha * dout, dout)",
         "dx = dout.copy()\n        dx[self.mask] = self.alpha * dx[self.mask]"),
    ],
    "affine_with_matmul_and_einsum": [
        ("affine", "out = np.dot(x, self.W) + self.b", "out = x @ self.W + self.b"),
        ("affine", "self.dW = np.dot(self.x.T, dout)", "self.dW = np.einsum('nd,nm->dm', self.x, dout)"),
        ("affine", "self.db = np.sum(dout, axis=0)", "self.db = dout.sum(0)"),
    ],
    "adam_rearranged": [
        ("adam",
         "            v_corrected = self.v[key] / (1 - self.beta1 ** self.t)\n"
         "            u_corrected = self.u[key] / (1 - self.beta2 ** self.t)\n"
         "            params[key] -= self.learning_rate * v_corrected / (np.sqrt(u_corrected) + self.epsilon)\n",
         "            step_size = self.learning_rate / (1 - self.beta1 ** self.t)\n"
         "            denominator = np.sqrt(self.u[key] / (1 - self.beta2 ** self.t)) + self.epsilon\n"
         "            params[key] -= step_size * self.v[key] / denominator\n"),
    ],
}


def source_notebook():
    """The source notebook (with solutions and hidden tests)."""
    return nbformat.read(SOURCE_NOTEBOOK, as_version=4)


def cell_by_grade_id(notebook, grade_id):
    for cell in notebook.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def edited(edits, notebook=None):
    """A copy of notebook (default: the source) with each (grade_id, old, new) edit applied once."""
    notebook = copy.deepcopy(notebook or source_notebook())
    for grade_id, old, new in edits:
        cell = cell_by_grade_id(notebook, grade_id)
        if cell.source.count(old) != 1:
            raise ValueError(f"example edit of cell {grade_id!r}: {old!r} found "
                             f"{cell.source.count(old)} times, expected once")
        cell.source = cell.source.replace(old, new)
    return notebook


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
    and {student name: set of test cells that must lose points}."""
    submissions = {"reference_solution": source_notebook()}
    losing = {"reference_solution": set()}
    for name, (edits, cells) in BUGS.items():
        submissions[f"bug_{name}"] = edited(edits)
        losing[f"bug_{name}"] = cells
    for name, edits in ALTERNATIVES.items():
        submissions[f"alt_{name}"] = edited(edits)
        losing[f"alt_{name}"] = set()
    submissions["tampered_deleted_test_cell"] = without_cell("test_affine")
    losing["tampered_deleted_test_cell"] = set()
    submissions["tampered_edited_test_cell"] = with_cell_source("test_adam", "print('all tests passed')")
    losing["tampered_edited_test_cell"] = set()
    return submissions, losing
