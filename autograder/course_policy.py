"""The course's deadline, late penalty and extensions: <course>/course_policy.toml.

    load(course_dir) -> CoursePolicy | None      None without the file (no deadline)
    policy.lateness(student, submission) -> Lateness
    policy.percent(seconds_late) -> percent of the score taken away
    apply(course_dir, submissions, results) -> results with their Lateness   (grade.finish)
    record_due_date(course_dir)                  the due date alone into the gradebook (the hub)

The file (times without an offset are in `time_zone`; an offset such as +08:00 is kept):

    [deadline]
    due = 2026-12-01T23:59:00
    time_zone = "Asia/Shanghai"      # an IANA name
    grace_minutes = 10               # optional: this late still counts as on time (default 0)

    [late_penalty]                   # optional: without it a late submission keeps its score
    per = "day"                      # "day" or "hour": each started day (hour) late costs `percent`
    percent = 10                     # percent of the score per started day (hour)
    max_percent = 50                 # optional cap (default 100)
    cutoff = 2026-12-08T23:59:00     # optional: submitted after this, the score is 0

    [extensions]                     # optional: a student's own due date (the course's id, or the
    "li-wei" = 2026-12-04T23:59:00   # raw id the LMS download gave, as student_ids.json records it)

    [submissions]                    # optional
    time_zone = "Asia/Shanghai"      # the zone of the times in LMS file names (default: the deadline's)

Lateness is measured from the student's due date (the extension's, when there is one); the
cut-off moves with an extension by as much as the due date. The penalty is a fraction of the
score (autograded and hand-graded points alike), so a later hand grade keeps it in proportion.

The submission time comes from outside the student's files (autograder/intake.py): the
timestamp.txt nbgrader's collect writes in submitted/<student>/<assignment>/ (UTC unless it
names a zone), or the time in the LMS file name (`_attempt_<time>_`, --regexp's timestamp).
A submission without one is treated as on time and reported with the time unknown.

The gradebook gets the same numbers through nbgrader's own fields: the assignment's duedate,
each submission's timestamp and extension, and each submitted notebook's
late_submission_penalty (points), so that `nbgrader export`, formgrader and the LMS export
agree with grades.csv. CoursePolicyPenalty is the same rule as nbgrader's LateSubmissionPlugin,
for a plain `nbgrader autograde`.
"""
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.plugins import LateSubmissionPlugin


POLICY_FILE = "course_policy.toml"
UNITS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
UNITS_ZH = {"day": "天", "hour": "小时"}
SOURCES = {"exchange": ("nbgrader exchange (timestamp.txt)", "nbgrader 收集作业时记录的时间"),
           "lms": ("LMS file name", "教学平台下载文件名中的时间")}
ALLOWED = {"deadline": {"due", "time_zone", "grace_minutes"},
           "late_penalty": {"per", "percent", "max_percent", "cutoff"},
           "extensions": None,
           "submissions": {"time_zone"}}
EXAMPLE = ('[deadline]\ndue = 2026-12-01T23:59:00\ntime_zone = "Asia/Shanghai"\n\n'
           '[late_penalty]\nper = "day"\npercent = 10\nmax_percent = 50\ncutoff = 2026-12-08T23:59:00')


class PolicyError(Exception):
    """course_policy.toml cannot be used: what is wrong and how to fix it."""


@dataclass(frozen=True)
class Penalty:
    """per: 'day' or 'hour'; percent: of the score per started unit late; max_percent: the
    cap; cutoff: how long after the due date the score becomes 0 (None: never)."""
    per: str = "day"
    percent: float = 0.0
    max_percent: float = 100.0
    cutoff: timedelta | None = None


@dataclass(frozen=True)
class Lateness:
    """One submission against its due date. submitted: when (aware), None when the input
    gives no time; source: a SOURCES key ('' when unknown); due: the student's due date
    (aware, the extension's when extended); late: how long after due (zero when on time or
    unknown); percent: the penalty in percent of the score (100 past the cut-off)."""
    submitted: datetime | None
    source: str
    due: datetime
    extended: bool
    late: timedelta
    percent: float
    past_cutoff: bool
    time_zone: str

    @property
    def known(self):
        return self.submitted is not None

    def final(self, raw):
        """The score after the penalty (raw: points before it)."""
        return round(raw * (1 - self.percent / 100), 6)

    def penalty(self, raw):
        """The points the penalty takes from raw."""
        return round(raw - self.final(raw), 6)

    def hours(self):
        """How late in hours (2 decimals), for grades.csv."""
        return round(self.late.total_seconds() / 3600, 2)

    def local(self, moment):
        return moment.astimezone(ZoneInfo(self.time_zone)).strftime("%Y-%m-%d %H:%M")

    def text(self, language="en"):
        """What the lateness is, in English (the report) or Chinese ('zh', the student's note):
        on time, late by how long with the penalty, or the time unknown; the due date."""
        words = WORDING[language]
        source = SOURCES[self.source][words["source"]] if self.known else ""
        due = words["due"].format(when=self.local(self.due), zone=self.time_zone,
                                  extended=words["extended"] if self.extended else "")
        if not self.known:
            return words["unknown"].format(due=due)
        when = words["when"].format(when=self.local(self.submitted), source=source, due=due)
        if not self.late:
            return words["on_time"].format(when=when)
        cut = words["cutoff"] if self.past_cutoff else words["percent"].format(percent=self.percent)
        return words["late"].format(duration=duration(self.late, language), cut=cut, when=when)


# the texts of Lateness.text, per language; source: the index of the SOURCES text
WORDING = {
    "en": {"source": 0, "due": "due {when}{extended}", "extended": " (extension)",
           "unknown": "submission time unknown (counted as on time); {due}",
           "when": "submitted {when} ({source}); {due}", "on_time": "on time: {when}",
           "cutoff": "past the cut-off, score 0", "percent": "-{percent:g}%", "late": "late by {duration}, {cut}: {when}",
           "units": ("d", "h", "min")},
    "zh": {"source": 1, "due": "截止时间：{when}（{zone}{extended}）", "extended": "，已延期",
           "unknown": "这份提交没有可靠的提交时间，按按时提交计算；{due}",
           "when": "提交时间：{when}（{source}）；{due}", "on_time": "按时提交。{when}",
           "cutoff": "超过最晚提交时间，记 0 分", "percent": "按迟交规则扣除得分的 {percent:g}%",
           "late": "迟交 {duration}，{cut}。{when}", "units": ("天", "小时", "分钟")},
}


def duration(delta, language="en"):
    """'1 d 2 h 5 min' ('1 天 2 小时 5 分钟'): delta rounded up to whole minutes."""
    minutes = math.ceil(delta.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    units = WORDING[language]["units"]
    return " ".join(f"{n} {u}" for n, u in zip((days, rest // 60, rest % 60), units) if n) or f"0 {units[2]}"


@dataclass(frozen=True)
class CoursePolicy:
    """due: the deadline (aware); time_zone: its IANA name; grace: late by at most this is on
    time; penalty: the Penalty; extensions: {student as written in the file: own due date
    (aware)}; lms_time_zone: the zone of times in LMS file names."""
    due: datetime
    time_zone: str
    grace: timedelta = timedelta(0)
    penalty: Penalty = field(default_factory=Penalty)
    extensions: dict = field(default_factory=dict)
    lms_time_zone: str = ""
    path: Path | None = None

    def percent(self, seconds_late):
        """Percent of the score taken away for a submission seconds_late after its due date
        (extension included): 0 within the grace period, 100 past the cut-off, else each
        started day (hour) costs penalty.percent, at most penalty.max_percent."""
        late = timedelta(seconds=max(0.0, float(seconds_late or 0)))
        if late <= self.grace or not late:
            return 0.0
        if self.penalty.cutoff is not None and late > self.penalty.cutoff:
            return 100.0
        units = math.ceil(late / UNITS[self.penalty.per])
        return float(min(self.penalty.max_percent, units * self.penalty.percent))

    def due_of(self, student, raw_ids=()):
        """(due date, extended) of a student: their extension (by the course's id or one of
        raw_ids, the raw ids it was made from), else the course's."""
        for key in (student, *raw_ids):
            if key in self.extensions:
                return self.extensions[key], True
        return self.due, False

    def lateness(self, student, timestamp="", source="", raw_ids=()):
        """The Lateness of student's submission made at timestamp (text as intake found it;
        '' when unknown) from source (a SOURCES key)."""
        due, extended = self.due_of(student, raw_ids)
        submitted = self.parse_time(timestamp, source) if timestamp else None
        late = max(timedelta(0), submitted - due) if submitted else timedelta(0)
        percent = self.percent(late.total_seconds())
        if late <= self.grace:
            late = timedelta(0)
        return Lateness(submitted, source if submitted else "", due, extended, late, percent,
                        percent == 100.0 and self.penalty.cutoff is not None and late > self.penalty.cutoff,
                        self.time_zone)

    def parse_time(self, text, source):
        """An aware datetime from a submission time: nbgrader's timestamp.txt ('2026-12-01
        15:59:00.123456 UTC'; no zone: UTC, as nbgrader reads it) or an LMS name's time
        ('2026-12-01-23-59-00'; in the LMS's zone). None when it cannot be read."""
        text = text.strip()
        zone = timezone.utc if source == "exchange" else ZoneInfo(self.lms_time_zone or self.time_zone)
        numbers = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})[-_ T](\d{1,2})[-:](\d{1,2})[-:](\d{1,2})", text)
        try:
            if numbers:
                return datetime(*map(int, numbers.groups()), tzinfo=zone)
            from dateutil import parser
            moment = parser.parse(text)
        except (ValueError, OverflowError):
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)

    def unknown_extensions(self, known):
        """The students named in [extensions] that are none of known (ids and raw ids)."""
        return sorted(set(self.extensions) - set(known))


# --------------------------------------------------------------------------------------
# Reading course_policy.toml
# --------------------------------------------------------------------------------------

def _fail(path, what, fix):
    raise PolicyError(f"{path}: {what}. {fix}")


def _zone(path, value, key):
    if not isinstance(value, str) or not value:
        _fail(path, f"{key} must be an IANA time zone name in quotes", 'Write e.g. time_zone = "Asia/Shanghai"')
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        _fail(path, f"{key} = {value!r} is not a time zone this machine knows",
              'Use an IANA name such as "Asia/Shanghai", "Europe/Berlin" or "UTC"')
    return value


def _moment(path, value, key, zone):
    """An aware datetime from a TOML date-time (local: in zone)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59), ZoneInfo(zone))
    _fail(path, f"{key} = {value!r} is not a date and time",
          "Write a TOML date-time without quotes, e.g. 2026-12-01T23:59:00 (in the deadline's time_zone)")


def _number(path, value, key, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        _fail(path, f"{key} = {value!r} must be a number from {low:g} to {high:g}", "Correct the value")
    return float(value)


def _check_keys(path, data):
    for table, value in data.items():
        if table not in ALLOWED:
            _fail(path, f"unknown table [{table}]", f"The tables are {', '.join(f'[{t}]' for t in ALLOWED)}")
        if not isinstance(value, dict):
            _fail(path, f"{table} must be a table ([{table}])", f"See the example:\n{EXAMPLE}")
        if ALLOWED[table] is not None:
            for key in value:
                if key not in ALLOWED[table]:
                    _fail(path, f"unknown key {key!r} in [{table}]",
                          f"The keys of [{table}] are {', '.join(sorted(ALLOWED[table]))}")


def parse(path, text):
    """The CoursePolicy of the TOML text of path; PolicyError saying what is wrong and how to fix it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        _fail(path, f"not valid TOML ({e})", f"Fix the syntax; an example:\n{EXAMPLE}")
    _check_keys(path, data)
    deadline = data.get("deadline")
    if not deadline or "due" not in deadline or "time_zone" not in deadline:
        _fail(path, "[deadline] with due and time_zone is missing", f"Add it, e.g.\n{EXAMPLE}")
    zone = _zone(path, deadline["time_zone"], "[deadline] time_zone")
    due = _moment(path, deadline["due"], "[deadline] due", zone)
    grace = timedelta(minutes=_number(path, deadline.get("grace_minutes", 0), "[deadline] grace_minutes", 0, 7 * 24 * 60))
    rule = data.get("late_penalty", {})
    per = rule.get("per", "day")
    if per not in UNITS:
        _fail(path, f"[late_penalty] per = {per!r} is neither \"day\" nor \"hour\"", 'Write per = "day" or per = "hour"')
    percent = _number(path, rule.get("percent", 0), "[late_penalty] percent", 0, 100)
    cap = _number(path, rule.get("max_percent", 100), "[late_penalty] max_percent", 0, 100)
    cutoff = None
    if "cutoff" in rule:
        moment = _moment(path, rule["cutoff"], "[late_penalty] cutoff", zone)
        if moment <= due:
            _fail(path, f"the cut-off {moment.isoformat()} is not after the due date {due.isoformat()}",
                  "Put the cut-off after the due date, or remove it")
        cutoff = moment - due
    extensions = {}
    for student, value in data.get("extensions", {}).items():
        moment = _moment(path, value, f"[extensions] {student!r}", zone)
        if moment <= due:
            _fail(path, f"the extension of {student!r} ({moment.isoformat()}) is not after the due date",
                  "Give the student's own due date, later than the course's, or remove the line")
        extensions[student] = moment
    lms_zone = _zone(path, data["submissions"]["time_zone"], "[submissions] time_zone") \
        if "time_zone" in data.get("submissions", {}) else ""
    return CoursePolicy(due, zone, grace, Penalty(per, percent, cap, cutoff), extensions, lms_zone, Path(path))


def load(course_dir):
    """The CoursePolicy of course_dir/course_policy.toml; None without the file."""
    path = Path(course_dir) / POLICY_FILE
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"{path}: cannot be read ({e}). Save it as UTF-8 text") from None
    return parse(path, text)


class CoursePolicyPenalty(LateSubmissionPlugin):
    """nbgrader's late-penalty plugin with the course's rule: the penalty in points of a
    notebook scoring score, total_seconds_late (nbgrader's, extension included) after its
    due date. Configure as c.AssignLatePenalties.plugin_class for a plain nbgrader autograde."""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        policy = load(self.config.CourseDirectory.get("root") or ".")
        return None if policy is None else round(score * policy.percent(total_seconds_late) / 100, 6)


def record_due_date(course_dir):
    """The due date of course_dir's policy (none without one) in its gradebook, before any
    grading (the course hub's setup): nbgrader marks a submission collected after it late."""
    from autograder.nbgrader_adapter import Course
    return Course(course_dir).record_lateness(load(course_dir), {})


# --------------------------------------------------------------------------------------
# After grading
# --------------------------------------------------------------------------------------

def apply(course_dir, submissions, results):
    """results ({student: SubmissionResult}) with the Lateness of each submission under the
    course's policy (None without a policy): the gradebook gets the due date, each
    submission's time, extension and penalty (nbgrader's fields), grades_nbgrader.csv is
    exported again when that changed anything, and the feedback notes that say something else
    about lateness are written again (the others are left as they are).
    submissions: {student: intake.Submission}; students without one keep their rows as they are."""
    from autograder.feedback_page.note import refresh_feedback_note
    from autograder.nbgrader_adapter import Course, hand_graded
    from autograder.student_ids import REGISTRY, StudentIds

    course_dir = Path(course_dir)
    policy = load(course_dir)
    course = Course(course_dir)
    raw_ids = {}
    for raw, student in StudentIds.load(course_dir / REGISTRY).owners.items():
        raw_ids.setdefault(student, []).append(raw)
    lateness = {}
    if policy is not None:
        for student, submission in submissions.items():
            if student in results:
                lateness[student] = policy.lateness(student, getattr(submission, "timestamp", ""),
                                                    getattr(submission, "timestamp_source", ""), raw_ids.get(student, ()))
        unknown = policy.unknown_extensions([*submissions, *(r for s in submissions for r in raw_ids.get(s, ()))])
        if unknown:
            print(f"note: {POLICY_FILE} gives extensions to students without a submission in this input: "
                  + ", ".join(unknown))
    if course.record_lateness(policy, lateness):
        course.export("grades_nbgrader.csv")
    hand_points = sum(hand_graded(course_dir).values())
    updated = {}
    for student, result in results.items():
        result = replace(result, lateness=lateness.get(student)) if student in submissions else result
        updated[student] = result
        page = course_dir / result.feedback if result.feedback else None
        if student in submissions and page is not None and page.exists():
            refresh_feedback_note(page, result, hand_points)
    return updated


__all__ = ["POLICY_FILE", "PolicyError", "CoursePolicy", "Penalty", "Lateness", "load", "parse", "apply", "record_due_date",
           "CoursePolicyPenalty", "ASSIGNMENT"]
