"""Verified grading: the hidden checks run in the grader's process, the student's code in a
sandbox, so that nothing the student's code does to its own interpreter (replacing
np.allclose, a fake ``autograder`` in sys.modules, IPython input transformers that blank
the test cells, exiting, hanging, exhausting memory) can change a check's verdict.

    verify_cells([(source, nbgrader metadata)], ...) -> VerifiedResult(scores, messages,
                                       mistakes, reason, sandbox, limits, timings, ...)
    verify_notebook(path, ...)          the same for a notebook file (read, never written)

`grade` calls verify_cells from nbgrader's autograde (nbgrader_adapter.SandboxExecute), on
the notebook nbgrader has sanitized. How the cells are verified:

1. The code cells, in order, make a plan. Autograder test cells -- found by their nbgrader
   grade_id (parts.TEST_CELLS) and also by their content (``### BEGIN HIDDEN TESTS``,
   ``public_tests.test_<part>(``, ``checks.check_<part>(``), so stripped metadata changes
   nothing -- are not run: at the position of each one, the plan runs that cell's check
   instead (a cell found by its content alone still runs its other code: without the
   hidden block, the test calls and the import of the checks). A check whose cell is
   missing runs after the last cell. Unmodified release cells that only train or plot
   (every statement a bare call, e.g. ``run('Adam', ...)``, ``plot_histories(histories)``,
   or any cell after the last test cell) are skipped unless run_training=True: the checks
   never depend on them, and they take most of the time (about 11 s instead of 2-3 s per
   submission).
2. A sandbox (autograder.sandbox.proxy.Sandbox: bubblewrap; the weak subprocess only
   when allowed) runs the cells one by one under IPython with NBGRADER_EXECUTION=verify, each with
   cell_timeout; an exception in a cell is recorded and execution goes on.
3. Each check of autograder.checks runs here against a Remote proxy of the sandbox's
   names, on the inputs of the student's seed (none: the fixed inputs), with
   check_timeout seconds: passing earns the cell's points, an AssertionError
   earns 0 with its message; a checks.CheckFailure that names a known mistake of the
   catalogue (autograder/catalogue.py) records its id in mistakes, and one that names a
   published variant earns its credit (Part.variant_credit of the cell's points).
4. If the sandbox dies (os._exit, a hang that ignores interruption, wall_time exceeded),
   the checks not yet run earn 0 with the reason; those already run keep their points.

Messages are the checks' Chinese messages; they never contain the reference's code or the
grader's file paths (an unexpected error inside a check is reported by its type only, and
logged in full).
"""
import ast
import json
import logging
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from autograder import checks
from autograder.course import ASSIGNMENT, RELEASE_DIR
from autograder.parts import PARTS, TEST_CELLS
from autograder.sandbox.interface import NotTransferable, StudentError
from autograder.sandbox.proxy import RequestTimeout, Sandbox, SandboxError

__all__ = ["Limit", "VerifiedResult", "verify_notebook", "verify_cells", "read_cells",
           "NotANotebook", "SandboxUnavailable"]

log = logging.getLogger(__name__)

MAX_NOTEBOOK_BYTES = 256 * 1024 * 1024  # the file, saved outputs included
MAX_CODE_BYTES = 50 * 1024 * 1024       # the code of its cells
MAX_MESSAGE = 2000
FORGET_TIMEOUT = 10  # seconds for the sandbox to drop a check's objects

# The check of each part, and the name it grades (for hints when a cell defining it failed).
CHECKS = {part.grade_id: getattr(checks, part.check) for part in PARTS.values()}
GRADED_NAMES = {part.grade_id: part.name for part in PARTS.values()}

_HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?(^[ \t]*### END HIDDEN TESTS[^\n]*$|\Z)",
                           re.S | re.M)
_TEST_CALL = re.compile(r"\b(?:public_tests\.test|checks\.check)_(\w+?)\s*\(")
_TEST_LINE = re.compile(r"^[ \t]*(?:(?:public_tests\.test|checks\.check)_\w+\s*\(.*|from autograder import checks.*)$",
                        re.M)


@dataclass
class Limit:
    """A limit a submission hit. kind: "cell_timeout", "wall_time", "memory", "died" (the
    sandbox process ended: os._exit, a signal, the CPU or memory limit), "unresponsive",
    "protocol" (it wrote garbage into the protocol pipe); where: "cell:N" (code cell number from 1) or a grade id;
    text: the Chinese explanation shown to the student."""
    kind: str
    where: str
    text: str


@dataclass
class VerifiedResult:
    """scores: grade_id -> points earned (0..max); messages: grade_id -> Chinese failure
    message ('' when passed); mistakes: grade_id -> id of the catalogued mistake the
    failure was diagnosed as (only failed cells whose mistake was named); relations:
    grade_id -> id of the relation to the reference that explains a failure no catalogue
    entry matched (autograder/checks/relations.py, Relation.id); reason: why
    grading stopped early ('' normally); sandbox:
    'bwrap' or 'weak: <why>'. cell_errors: (code cell number from 1, error) of the
    student's cells that raised; ran: numbers of the code cells that ran; limits: the
    Limits hit; seconds: wall time; timings: seconds of sandbox_start, student_cells, checks."""
    scores: dict
    messages: dict
    mistakes: dict = field(default_factory=dict)
    relations: dict = field(default_factory=dict)
    reason: str = ""
    sandbox: str = ""
    cell_errors: list = field(default_factory=list)
    seconds: float = 0.0
    limits: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    ran: list = field(default_factory=list)

    @property
    def total(self):
        return sum(self.scores.values())


class SandboxUnavailable(RuntimeError):
    """No sandbox could start (bubblewrap missing or broken, and the weak sandbox not
    allowed): a problem of the grading machine, not of the submission (no score is given)."""


# --------------------------------------------------------------------------------------
# Reading the notebook and making the plan
# --------------------------------------------------------------------------------------

class NotANotebook(Exception):
    """The file cannot be read as a notebook; the message is the Chinese reason."""


def _code_cells(data):
    """[(source, nbgrader metadata dict)] of the code cells of a notebook's bytes."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotANotebook(f"笔记本文件过大（超过 {MAX_NOTEBOOK_BYTES // 2**20} MB）")
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise NotANotebook("笔记本不是有效的 JSON") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotANotebook("文件不是 Jupyter 笔记本（没有 cells 列表）")
    cells = []
    for cell in notebook["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            continue
        metadata = cell.get("metadata")
        nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
        cells.append((source, nbgrader if isinstance(nbgrader, dict) else {}))
    return cells


def _tests_in(source, nbgrader):
    """The grade ids whose test this cell holds, by metadata and by content."""
    found = []
    grade_id = nbgrader.get("grade_id")
    if isinstance(grade_id, str) and grade_id in TEST_CELLS:
        found.append(grade_id)
    for part in _TEST_CALL.findall(source):
        grade_id = f"test_{part}"
        if grade_id in TEST_CELLS and grade_id not in found:
            found.append(grade_id)
    if not found and "### BEGIN HIDDEN TESTS" in source:
        found.append(None)  # a test cell of unknown part: not run, no check here
    return found


def _normalized(source):
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


@lru_cache(maxsize=1)
def _output_only_release_cells():
    """Normalized sources of the release notebook's cells that only train, plot or show:
    cells with no nbgrader role that either consist of bare expressions (calls such as
    run('Adam', ...) or plot_histories(histories)) or come after the last test cell (the
    optimizer-path and misclassified-digit figures)."""
    try:
        cells = _code_cells((RELEASE_DIR / f"{ASSIGNMENT}.ipynb").read_bytes())
    except (OSError, NotANotebook):
        return frozenset()
    last_test = max((i for i, (source, nbgrader) in enumerate(cells) if _tests_in(source, nbgrader)),
                    default=len(cells))
    result = set()
    for i, (source, nbgrader) in enumerate(cells):
        if nbgrader:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        if i > last_test or all(isinstance(node, ast.Expr) for node in tree.body):
            result.add(_normalized(source))
    return frozenset(result)


def _plan(cells, run_training):
    """[("cell", number, source) | ("check", grade_id)] in notebook order; number counts
    code cells from 1."""
    plan, planned = [], set()
    skippable = frozenset() if run_training else _output_only_release_cells()
    for number, (source, nbgrader) in enumerate(cells, start=1):
        tests = _tests_in(source, nbgrader)
        if tests:
            if not any(t in TEST_CELLS and t == nbgrader.get("grade_id") for t in tests):
                # Marked by content only: whatever else the cell holds still runs.
                rest = _TEST_LINE.sub("", _HIDDEN_BLOCK.sub("", source))
                if rest.strip() and not all(line.strip().startswith("#") or not line.strip()
                                            for line in rest.splitlines()):
                    plan.append(("cell", number, rest))
            for grade_id in tests:
                if grade_id is not None and grade_id not in planned:
                    plan.append(("check", grade_id))
                    planned.add(grade_id)
            continue
        if _normalized(source) in skippable:
            continue
        plan.append(("cell", number, source))
    plan += [("check", grade_id) for grade_id in TEST_CELLS if grade_id not in planned]
    return plan


# --------------------------------------------------------------------------------------
# Verifying
# --------------------------------------------------------------------------------------

def _clip(text):
    """text cut to MAX_MESSAGE characters, with a note when it is that long: then it was
    cut, here or already in the sandbox (which cuts a cell's error to the same length)."""
    return text if len(text) < MAX_MESSAGE else text[:MAX_MESSAGE] + "（已截断）"


def _all_zero(reason, sandbox="", started=None):
    return VerifiedResult(scores={g: 0.0 for g in TEST_CELLS}, messages={g: reason for g in TEST_CELLS},
                          reason=reason, sandbox=sandbox,
                          seconds=time.monotonic() - started if started else 0.0)


def _failed_definition_hint(grade_id, cell_errors, cell_sources):
    """For a "没有找到 X" failure: the error of a cell that should have defined X. The
    pattern never crosses a line (only spaces and tabs around the keyword), so a search is
    linear in the cell's length whatever it holds (60 000 blank lines included)."""
    name = GRADED_NAMES[grade_id]
    pattern = re.compile(rf"^[ \t]*(?:class|def)[ \t]+{name}\b", re.M)
    for number, error in cell_errors:
        if pattern.search(cell_sources.get(number, "")):
            return f"（定义 {name} 的第 {number} 个代码单元运行时出错：{error}）"
    return ""


def read_cells(data):
    """[(source, nbgrader metadata)] of the code cells of a notebook's bytes; raises
    NotANotebook with the Chinese reason. Saved outputs play no part: the size limit
    applies to the code (MAX_CODE_BYTES), the file itself may be up to MAX_NOTEBOOK_BYTES."""
    cells = _code_cells(data)
    if sum(len(source) for source, _ in cells) > MAX_CODE_BYTES:
        raise NotANotebook(f"笔记本中的代码过多（超过 {MAX_CODE_BYTES // 2**20} MB）")
    return cells


def verify_notebook(notebook_path, **options):
    """verify_cells of the notebook file at notebook_path (never modified); a file that is
    not a notebook scores 0 everywhere with the reason."""
    started = time.monotonic()
    try:
        cells = read_cells(Path(notebook_path).read_bytes())
    except NotANotebook as e:
        return _all_zero(str(e), started=started)
    except OSError:
        return _all_zero("无法读取笔记本文件", started=started)
    return verify_cells(cells, **options)


def verify_cells(cells, *, cell_timeout=30, wall_time=300, memory_mb=2048, check_timeout=60,
                 run_training=False, sandbox_mode=None, allow_weak=False, seed=None):
    """Grades code cells [(source, nbgrader metadata)] with the student's code in a sandbox.

    cell_timeout: seconds per code cell; wall_time: seconds for the whole verification;
    memory_mb: memory budget of the sandbox (sandbox/limits.py); check_timeout: seconds per check;
    run_training: also run the release's unmodified train/plot cells (slower, same
    scores); sandbox_mode: "auto" (default, or AUTOGRADER_SANDBOX), "bwrap", "weak";
    allow_weak: run without bubblewrap when it is unavailable (a weaker sandbox); seed: the
    student's seed of the checks' inputs (autograder/course_secret.py; None: the fixed
    inputs). A cell's error is kept to MAX_MESSAGE characters.
    Raises SandboxUnavailable when no sandbox can start.
    """
    started = time.monotonic()
    wall_deadline = started + wall_time
    plan = _plan(cells, run_training)
    cell_sources = {number: source for number, (source, _) in enumerate(cells, start=1)}
    timings = {"sandbox_start": 0.0, "student_cells": 0.0, "checks": 0.0}

    try:
        sandbox = Sandbox(memory_mb=memory_mb, cpu_seconds=int(wall_time) + 30, mode=sandbox_mode,
                          **({"allow_weak": True} if allow_weak else {}))
    except SandboxError as e:
        raise SandboxUnavailable(e.reason) from e
    timings["sandbox_start"] = time.monotonic() - started

    scores, messages, mistakes, relations, cell_errors, limits, reason = {}, {}, {}, {}, [], [], ""
    ran = set()
    try:
        remote = sandbox.remote()
        for step in plan:
            if time.monotonic() >= wall_deadline:
                reason = f"超过时间限制 {wall_time:g} s"
                limits.append(Limit("wall_time", "", reason))
                break
            step_started = time.monotonic()
            if step[0] == "cell":
                _, number, source = step
                timeout = min(cell_timeout, wall_deadline - time.monotonic())
                try:
                    error, timed_out = sandbox.run_cell(source, timeout)
                except SandboxError as e:
                    reason = _stop_reason(e, wall_deadline, wall_time, f"第 {number} 个代码单元：")
                    limits.append(_limit_of(e, reason, f"cell:{number}", wall_deadline))
                    break
                finally:
                    timings["student_cells"] += time.monotonic() - step_started
                ran.add(number)
                if timed_out:
                    if timeout >= cell_timeout:
                        error = f"超过时间限制 {cell_timeout:g} s"
                        limits.append(Limit("cell_timeout", f"cell:{number}", f"第 {number} 个代码单元{error}"))
                    else:
                        error = f"超过总时间限制 {wall_time:g} s"
                        limits.append(Limit("wall_time", f"cell:{number}", f"第 {number} 个代码单元{error}"))
                elif error is not None and error.startswith("MemoryError"):
                    limits.append(Limit("memory", f"cell:{number}",
                                        f"第 {number} 个代码单元超过内存限制 {memory_mb} MB（MemoryError）"))
                if error is not None:
                    cell_errors.append((number, _clip(error)))
                continue

            grade_id = step[1]
            try:
                stop = _run_check(grade_id, remote, scores, messages, (mistakes, relations), cell_errors,
                                  cell_sources, min(time.monotonic() + check_timeout, wall_deadline),
                                  wall_deadline, wall_time, check_timeout, seed)
            finally:
                timings["checks"] += time.monotonic() - step_started
            if stop:
                reason = stop.text
                limits.append(stop)
                break
    finally:
        sandbox.close()

    for grade_id in TEST_CELLS:
        if grade_id not in scores:
            scores[grade_id] = 0.0
            messages[grade_id] = f"没有完成检查：{reason}" if reason else "没有完成检查"
    return VerifiedResult(scores={g: scores[g] for g in TEST_CELLS},
                          messages={g: messages[g] for g in TEST_CELLS},
                          mistakes={g: mistakes[g] for g in TEST_CELLS if g in mistakes},
                          relations={g: relations[g] for g in TEST_CELLS if g in relations}, reason=reason,
                          sandbox=sandbox.kind, cell_errors=cell_errors,
                          seconds=time.monotonic() - started, limits=limits,
                          timings={k: round(v, 3) for k, v in timings.items()}, ran=sorted(ran))


def _run_check(grade_id, remote, scores, messages, named, cell_errors, cell_sources, deadline,
               wall_deadline, wall_time, check_timeout, seed):
    """Runs one check (on the inputs of seed) against the sandbox; records its score, message and what
    named its failure (named: the dicts of mistakes and relations).
    Returns a Limit when grading must stop (the sandbox is gone or the wall time is spent),
    else None."""
    remote.deadline = deadline
    stop = None
    try:
        getattr(checks, PARTS[grade_id].check)(remote, seed)
        scores[grade_id], messages[grade_id] = float(TEST_CELLS[grade_id]), ""
    except AssertionError as e:
        credit = 0.0
        if isinstance(e, checks.CheckFailure):
            mistakes, relations = named
            mistakes.update({grade_id: e.mistake} if e.mistake else {})
            relations.update({grade_id: e.relation.id} if e.relation is not None else {})
            credit = min(max(float(e.credit), 0.0), 1.0)
        message = str(e)
        if message.startswith("没有找到"):
            message += _failed_definition_hint(grade_id, cell_errors, cell_sources)
        scores[grade_id], messages[grade_id] = float(TEST_CELLS[grade_id]) * credit, _clip(message)
    except RequestTimeout:
        scores[grade_id] = 0.0
        if deadline >= wall_deadline:
            messages[grade_id] = f"超过时间限制 {wall_time:g} s"
            return Limit("wall_time", grade_id, messages[grade_id])
        messages[grade_id] = (f"检查超过时间限制 {check_timeout:g} s：请检查代码中是否有"
                              f"死循环或过慢的计算。")
    except SandboxError as e:
        text = _stop_reason(e, wall_deadline, wall_time, "")
        scores[grade_id], messages[grade_id] = 0.0, text
        return _limit_of(e, text, grade_id, wall_deadline)
    except (StudentError, NotTransferable) as e:
        scores[grade_id] = 0.0
        messages[grade_id] = _clip(f"检查时无法使用学生代码返回的值：{e}")
    except Exception as e:
        log.exception("check %s raised an unexpected error", grade_id)
        scores[grade_id] = 0.0
        messages[grade_id] = f"检查时出现意外错误（{type(e).__name__}），请联系老师。"
    remote.deadline = min(time.monotonic() + FORGET_TIMEOUT, wall_deadline)
    try:
        remote.forget()  # runs the student's __del__ methods: under a time limit too
    except SandboxError as e:
        stop = _limit_of(e, _stop_reason(e, wall_deadline, wall_time, ""), grade_id, wall_deadline)
    except RequestTimeout:
        pass
    return stop


def _limit_of(error, text, where, wall_deadline):
    """The Limit for a SandboxError: the wall time, an unresponsive, dead or misbehaving
    sandbox, or one stopped for its memory (read from its cgroup by the sandbox)."""
    if time.monotonic() >= wall_deadline - 0.5:
        return Limit("wall_time", where, text)
    kind = {"SandboxTimeout": "unresponsive", "ProtocolError": "protocol",
            "SandboxMemory": "memory"}.get(type(error).__name__, "died")
    return Limit(kind, where, text)


def _stop_reason(error, wall_deadline, wall_time, prefix):
    if time.monotonic() >= wall_deadline - 0.5:
        return f"超过时间限制 {wall_time:g} s"
    return prefix + error.reason
