"""The graded parts of the assignment: one row per autograder test cell, in notebook order
(100 points in all). Every list of graded parts derives from PARTS: the verifier's plan and
hints (autograder/verify.py), the public checks (autograder/checks/), the columns of
grades.csv and report.html (autograder/report.py), the catalogue's entries
(autograder/catalogue.py), the tests' parametrisation. README's "Adding a part" says what
else a new part needs.

    Part(grade_id, name, points, kind, solution_cell, uses, hyper_params, state, variant_credit)

grade_id       nbgrader grade id of the autograder test cell ("test_adam")
name           the name the notebook defines and the check grades ("Adam")
points         the cell's points
kind           "function", "layer", "network" or "optimizer"
solution_cell  nbgrader grade id of the notebook cell that defines name ("adam"), or None
uses           grade ids of the parts whose names this part's code calls (the network runs
               the student's initialize_parameters and layers): a mistake there may cost
               points here too, and is named here too
hyper_params   optimizers: the non-default hyper-parameters the check runs besides the defaults
               (with a student's seed, `grade` moves each within checks.HYPER_FACTORS of its value
               here; this table stays the one place that holds them)
state          optimizers: the state attributes the text names (read for hints only, never
               graded: any state that gives the same parameters earns the points)
variant_credit the share of the cell's points that a published variant of the catalogue
               (catalogue.Entry.variant: a textbook's or a paper's formula, not the course's)
               earns: VARIANT_CREDIT (half) unless set here; 0 gives nothing, 1 full points

Part.check is the name of the part's public check in autograder.checks;
catalogue.entries(grade_id) its catalogue entries (known mistakes and valid alternatives).
This module imports nothing of the package: everything else is built on it.
"""
from collections.abc import Mapping
from dataclasses import dataclass, field

KINDS = ("function", "layer", "network", "optimizer")
VARIANT_CREDIT = 0.5  # a published variant's share of its cell's points, unless a Part sets its own


@dataclass(frozen=True)
class Part:
    grade_id: str
    name: str
    points: int
    kind: str
    solution_cell: str = None
    uses: tuple = ()
    hyper_params: dict = field(default_factory=dict)
    state: tuple = ()
    variant_credit: float = VARIANT_CREDIT

    def __post_init__(self):
        if not 0 <= self.variant_credit <= 1:
            raise ValueError(f"{self.grade_id}: variant_credit must lie in [0, 1], not {self.variant_credit}")

    @property
    def variant_points(self):
        """The points a published variant earns in this cell."""
        return self.points * self.variant_credit

    @property
    def check(self):
        """The public check of autograder.checks that grades this part: check_adam."""
        return "check_" + self.grade_id[len("test_"):]

    @property
    def short(self):
        """A short column label: adam, init."""
        return self.grade_id[len("test_"):].replace("initialize_parameters", "init")


_ADAPTIVE = {"learning_rate": 0.05, "epsilon": 1e-3}
_MOMENTUM = {"learning_rate": 0.05, "beta": 0.8}
_ADAM_LIKE = {"learning_rate": 0.05, "epsilon": 1e-3, "beta1": 0.8, "beta2": 0.9}

PARTS = {part.grade_id: part for part in [
    Part("test_initialize_parameters", "initialize_parameters", 5, "function", "initialize_parameters"),
    Part("test_leaky_relu", "LeakyRelu", 10, "layer", "leaky_relu"),
    Part("test_affine", "Affine", 15, "layer", "affine"),
    Part("test_network", "ThreeLayerNet", 15, "network", "three_layer_net",
         uses=("test_initialize_parameters", "test_leaky_relu", "test_affine")),
    Part("test_adagrad", "AdaGrad", 8, "optimizer", "adagrad",
         hyper_params=_ADAPTIVE, state=("grads_squared",)),
    Part("test_rmsprop", "RMSprop", 8, "optimizer", "rmsprop",
         hyper_params=dict(_ADAPTIVE, beta=0.8), state=("grads_squared",)),
    Part("test_momentum", "Momentum", 8, "optimizer", "momentum", hyper_params=_MOMENTUM, state=("v",)),
    Part("test_nesterov", "Nesterov", 9, "optimizer", "nesterov", hyper_params=_MOMENTUM, state=("v",)),
    Part("test_adam", "Adam", 11, "optimizer", "adam", hyper_params=_ADAM_LIKE, state=("v", "u", "t")),
    Part("test_adabelief", "AdaBelief", 11, "optimizer", "adabelief",
         hyper_params=_ADAM_LIKE, state=("v", "s", "t")),
]}


class _Points(Mapping):
    """grade id -> points, read from PARTS whenever it is used (so it follows the table)."""

    def __getitem__(self, grade_id):
        return PARTS[grade_id].points

    def __iter__(self):
        return iter(PARTS)

    def __len__(self):
        return len(PARTS)

    def __repr__(self):
        return repr(dict(self))


TEST_CELLS = _Points()  # grade id -> points, in notebook order


def by_name(name):
    """The Part that grades the notebook's name (KeyError if none does)."""
    for part in PARTS.values():
        if part.name == name:
            return part
    raise KeyError(name)


def dependents(grade_id):
    """Grade ids of the parts whose code uses the part grade_id (the network uses the layers)."""
    return [p.grade_id for p in PARTS.values() if grade_id in p.uses]
