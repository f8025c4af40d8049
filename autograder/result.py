"""The result of grading one submission, as `grade` records it (grade_manifest.json), exports
it (grades.csv) and reports it (report.html, the console, the feedback note)."""
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

from autograder.parts import TEST_CELLS
from autograder.verify import Limit

if TYPE_CHECKING:
    from autograder.course_policy import Lateness

MAX_POINTS = sum(TEST_CELLS.values())
UNGRADED = "这份提交无法评分，原因见下方说明"


def clean_text(text):
    """text with every lone surrogate (from a student's error message or file name) replaced
    by U+FFFD, so that it can be written as UTF-8 anywhere."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if isinstance(text, str) else text


def is_weak(result):
    """Whether result was graded without bubblewrap (--allow-weak-sandbox)."""
    return result.sandbox.startswith("weak")


@dataclass
class SubmissionResult:
    """student: the nbgrader id; scores: {grade_id: points} as stored in the gradebook, None
    when the submission could not be graded (it is graded again next run); messages:
    {grade_id: Chinese failure message, '' when passed}; mistakes: {grade_id: id of the
    catalogued mistake named in that cell's failure} (autograder/catalogue.py); relations:
    {grade_id: id of the relation to the reference that named a failure no catalogue entry
    matched} (autograder/checks/relations.py); limits:
    the verify.Limits hit;
    notes: Chinese remarks for the student and the instructor (which file was graded, why
    nothing could be graded, a grading error); sandbox: 'bwrap' or 'weak: <why>'; source:
    the submission's path in the input; feedback: the feedback page, relative to the course;
    seconds: wall time; timings: seconds per step (sandbox_start, student_cells, checks,
    gradebook, feedback); lateness: the course_policy.Lateness of the submission (None without
    a course policy), set after grading from the policy of the day, never recorded with the
    result."""
    student: str
    scores: dict = None
    messages: dict = field(default_factory=dict)
    mistakes: dict = field(default_factory=dict)
    relations: dict = field(default_factory=dict)
    limits: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    sandbox: str = ""
    source: str = ""
    feedback: str = ""
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)
    lateness: "Lateness | None" = None

    def __post_init__(self):
        self.messages = {g: clean_text(m) for g, m in self.messages.items()}
        self.notes = [clean_text(n) for n in self.notes]
        self.source = clean_text(self.source)
        self.limits = [replace(limit, text=clean_text(limit.text)) for limit in self.limits]

    @classmethod
    def zero(cls, student, reason, **fields):
        """The result of a submission that could not be graded: 0 in every test cell, reason
        as its last note (it is not graded again until it changes)."""
        notes = [*fields.pop("notes", []), reason]
        return cls(student, scores={g: 0.0 for g in TEST_CELLS}, messages={g: UNGRADED for g in TEST_CELLS},
                   notes=notes, **fields)

    @property
    def total(self):
        return None if self.scores is None else round(sum(self.scores.get(g, 0.0) for g in TEST_CELLS), 6)

    @property
    def graded(self):
        return self.scores is not None

    def reasons(self):
        """Everything a reader of grades.csv should know, in order: limits, then notes."""
        return [limit.text for limit in self.limits] + list(self.notes)

    @property
    def final(self):
        """The total after the late penalty (the total without a course policy)."""
        return self.total if self.total is None or self.lateness is None else self.lateness.final(self.total)

    def to_json(self):
        data = asdict(replace(self, lateness=None))
        del data["lateness"]
        return data

    @classmethod
    def from_json(cls, data):
        data = dict(data)
        data["limits"] = [Limit(**limit) for limit in data.get("limits", [])]
        return cls(**data)
