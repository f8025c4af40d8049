"""`grade` end to end (real nbgrader, real sandbox, notebooks zipped with LMS names) on
what the checks must not be fooled by or give away:

* nadia's ThreeLayerNet has two catalogued bugs and a NaN in W1 (a NaN once made the
  reference, evaluated at her parameters, agree with her network everywhere): 0 for
  test_network, the non-finite message in her feedback, full points elsewhere;
* leo and paul submit the same notebook, whose Adam records the hyper-parameters it is
  given and whose last cell raises an exception carrying them and a long dump: each
  feedback page shows that student's own inputs (different for the two, never the fixed
  ones of the notebook's hidden-test cells), cut with a note; a regraded leo gets the
  same inputs again;
* the course secret is made once (mode 0600) and kept across runs.
"""
import re
import stat
import subprocess
import sys
import zipfile

import nbformat
import pytest

from autograder import catalogue
from autograder.course import ASSIGNMENT
from autograder.examples import cell_by_grade_id, source_notebook
from autograder.parts import TEST_CELLS

pytestmark = pytest.mark.slow

TRAINING = ("run(", "plot_", "path_optimizers", "best =")
NONFINITE = "中出现 NaN 或 inf"
SPY = """

_seen = []

class Adam(Adam):
    def __init__(self, **hyper_params):
        _seen.append('/'.join(repr(hyper_params.get(k)) for k in ('learning_rate', 'epsilon', 'beta1', 'beta2')))
        super().__init__(**hyper_params)
"""
# each student's moved hyper-parameters (3 significant digits each, so one alone may coincide
# between two students by chance; all four together practically never do)
LEAK = ("raise RuntimeError('SEEN ' + ' '.join('HP=%s;' % hp for hp in _seen if hp != 'None/None/None/None') "
        "+ ' ' + 'x' * 10000)")


def without_training(notebook):
    notebook.cells = [c for c in notebook.cells if c.cell_type != "code" or c.metadata.get("nbgrader")
                      or not c.source.lstrip().startswith(TRAINING)]
    return notebook


def nan_two_bug_network():
    """The solution with a ThreeLayerNet that skips the activations in predict, applies
    softmax twice in loss, and has a NaN in W1."""
    edits = (*catalogue.get("network_predict_skips_activations").edits,
             *catalogue.get("network_loss_softmax_twice").edits,
             ("        self.lastLayer = SoftmaxWithLoss()\n",
              "        self.lastLayer = SoftmaxWithLoss()\n        self.params['W1'][0, 0] = np.nan\n"))
    source = catalogue.Entry("nan two bugs", "test_network", "坏", "坏。", "改。", edits).source
    return without_training(catalogue.with_definition(source_notebook(), "ThreeLayerNet", source))


def leaking(extra=""):
    notebook = without_training(source_notebook())
    cell_by_grade_id(notebook, "adam").source += SPY
    notebook.cells.append(nbformat.v4.new_code_cell(extra + LEAK))
    return notebook


def write_zip(path, notebooks):
    with zipfile.ZipFile(path, "w") as z:
        for number, (student, notebook) in enumerate(notebooks.items(), start=1001):
            z.writestr(f"{student}_{number}_{ASSIGNMENT}.ipynb", nbformat.writes(notebook))
    return path


def run_grade(archive, course):
    result = subprocess.run([sys.executable, "-m", "autograder.grade", str(archive), "--course", str(course),
                             "--workers", "2", "--cell-timeout", "30", "--wall-time", "300"],
                            cwd=course.parent, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def feedback(course, student):
    return (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")


def scores(course):
    from autograder.nbgrader_adapter import Course
    return Course(course).scores()


def shown_rates(page):
    """The hyper-parameters (learning_rate/epsilon/beta1/beta2) the leaking cell showed."""
    return re.findall(r"HP=([0-9.eNone/-]+);", page)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(course, secret after the first run, secret's mode, leo's rates after the first run)
    after three runs: the batch, the same batch again, leo's notebook changed."""
    folder = tmp_path_factory.mktemp("integrity")
    course = folder / "course"
    notebooks = {"nadia": nan_two_bug_network(), "leo": leaking(), "paul": leaking()}
    run_grade(write_zip(folder / "first.zip", notebooks), course)
    secret_file = course / ".grade" / "secret"
    first = {"secret": secret_file.read_bytes(), "mode": stat.S_IMODE(secret_file.stat().st_mode),
             "scores": scores(course), "pages": {s: feedback(course, s) for s in notebooks}}
    run_grade(write_zip(folder / "second.zip", notebooks), course)
    notebooks["leo"] = leaking(extra="# regraded\n")
    run_grade(write_zip(folder / "third.zip", notebooks), course)
    return course, first


def test_a_nan_in_w1_earns_nothing_for_a_network_with_two_bugs(graded):
    _, first = graded
    nadia = first["scores"]["nadia"]
    assert nadia["test_network"] == 0.0
    assert {g: s for g, s in nadia.items() if g != "test_network"} == {
        g: float(p) for g, p in TEST_CELLS.items() if g != "test_network"}
    assert NONFINITE in first["pages"]["nadia"]


def test_each_student_sees_only_their_own_inputs_cut_short(graded):
    course, first = graded
    rates = {s: shown_rates(first["pages"][s]) for s in ("leo", "paul")}
    for student, shown in rates.items():
        assert first["scores"][student] == {g: float(p) for g, p in TEST_CELLS.items()}, student
        assert len(shown) == 2 and shown[0] == shown[1] and not shown[0].startswith("0.05/"), (student, shown)
        page = first["pages"][student]
        assert "（已截断）" in page and "x" * 2100 not in page
    assert rates["leo"] != rates["paul"]
    assert shown_rates(feedback(course, "leo")) == rates["leo"]   # regraded: the same inputs
    for folder in ("submitted", "autograded"):   # leo was graded again
        assert "# regraded" in (course / folder / "leo" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "# regraded" in feedback(course, "leo")


def test_the_course_secret_is_made_once_and_kept(graded):
    course, first = graded
    assert len(first["secret"]) == 32 and first["mode"] == 0o600
    assert (course / ".grade" / "secret").read_bytes() == first["secret"]
