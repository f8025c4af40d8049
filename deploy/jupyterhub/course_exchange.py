"""The course hub's nbgrader file exchange: who submitted is the Unix owner of the submission,
not the name of its folder.

nbgrader's default exchange trusts names: `nbgrader collect` runs as the instructor, takes the
student from the folder name (a wrong owner is only a warning), follows symbolic links and
aborts for everyone on one oversized folder. The classes here are nbgrader's, with these
changes; the hub's common nbgrader_config.py (course_hub.write_role_configs) names them in
c.ExchangeFactory, so the students' Assignments tab, the instructor's `nbgrader collect` and the
formgrader's buttons all use them:

  every step   the exchange root and the course's folders are made by course_hub.py setup;
               nobody needs to write the root (nbgrader's own check wants it writable by
               everyone, and its release makes it 0777)
  Release      the released notebooks carry this environment's kernel language_info
  Submit       the submission folder is 0750: its owner and the instructor's group (inherited
               from inbound's setgid bit) read it; nbgrader makes it 0777
  Collect      an entry of inbound is collected only when the folder and everything in it
               belong to the student its name says (their Unix account's uid, or on
               Kubernetes the uid the hub gave their pod: COURSE_EXCHANGE_UIDS), its date
               is not after the folder was made, it holds at most Limits' files and bytes
               (apparent size and blocks on disk), and it holds a notebook; anything else is skipped with its reason in the log and the
               others are collected. Only regular .ipynb files (and submission_secret.txt) are
               copied, read through file descriptors opened without following links;
               timestamp.txt is written from the folder's name, or from the time the folder was
               made (its ctime, which its owner cannot set back) when the name is dated earlier:
               a student cannot backdate a submission to before the deadline.

The layout course_hub.py setup makes (see prepare_exchange there):

  ROOT                  root, 0755: no student creates folders there
  ROOT/COURSE           instructor, 0755
    outbound/           instructor, 0755: the released assignment, readable by everyone
    inbound/            instructor:instructor, 3733: students create their submission folder
                        but cannot list the others'; sticky: nobody renames or removes
                        another's; setgid: a submission folder gets the instructor's group
    feedback/           instructor, 0711: a student opens only the page whose name they know
"""
import datetime
import errno
import glob
import json
import os
import pwd
import shutil
import stat
from dataclasses import dataclass, field

from ipykernel.ipkernel import IPythonKernel
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.exchange.default.exchange import Exchange
from nbgrader.exchange.default.fetch_assignment import ExchangeFetchAssignment
from nbgrader.exchange.default.fetch_feedback import ExchangeFetchFeedback
from nbgrader.exchange.default.list import ExchangeList
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import check_directory, parse_utc

SUBMISSION_MODE = 0o750          # a submission folder: its student, and the instructor's group
KEPT_FILES = {"submission_secret.txt"}   # besides notebooks: what release_feedback needs
SECRET_BYTES = 1024              # submission_secret.txt is 128 hex digits
CLOCK_SLACK = datetime.timedelta(minutes=2)   # a name's date may be this much after the folder's
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
DIR_FLAGS = READ_FLAGS | os.O_DIRECTORY
UIDS_VARIABLE = "COURSE_EXCHANGE_UIDS"   # {student: uid} where students are no Unix accounts


class CourseExchange(Exchange):
    """The exchange root exists (course_hub.py setup made it) and only has to be entered."""

    def ensure_root(self):
        if not check_directory(self.root, execute=True):
            self.fail(f"课程的作业交换目录 {self.root} 不存在或无法进入，请联系老师。")


class ReleaseAssignment(CourseExchange, ExchangeReleaseAssignment):
    """nbgrader's release, without making the root 0777; the released notebooks carry the
    language_info of this environment's kernel (the students' servers run the same one), which
    JupyterLab would otherwise write into the notebook when the kernel starts, marking the
    untouched notebook as changed."""

    def copy_files(self):
        super().copy_files()
        for path in glob.glob(os.path.join(glob.escape(self.dest_path), "**", "*.ipynb"), recursive=True):
            with open(path, encoding="utf-8") as handle:
                notebook = json.load(handle)
            notebook.setdefault("metadata", {})["language_info"] = IPythonKernel.language_info
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


class FetchAssignment(CourseExchange, ExchangeFetchAssignment):
    """nbgrader's fetch."""


class FetchFeedback(CourseExchange, ExchangeFetchFeedback):
    """nbgrader's fetch_feedback."""


class ReleaseFeedback(CourseExchange, ExchangeReleaseFeedback):
    """nbgrader's release_feedback."""


class List(CourseExchange, ExchangeList):
    """nbgrader's list."""


class Submit(CourseExchange, ExchangeSubmit):
    """nbgrader's submit; the submission folder ends 0750 instead of 0777."""

    def copy_files(self):
        super().copy_files()
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), SUBMISSION_MODE)


# ----------------------------------------------------------------------------------------
# collect
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    """What one inbound entry may hold."""
    max_bytes: int                # all its files together: apparent size, and blocks on disk
    max_file_bytes: int           # one kept notebook
    max_entries: int = 1000       # files and folders
    max_depth: int = 16


@dataclass
class Scan:
    """What an inbound entry holds: the files to copy (relative paths), what is left out
    (relative path, why), and the reason to skip the whole entry (None: collect it)."""
    kept: list = field(default_factory=list)
    left_out: list = field(default_factory=list)
    skip: str = None


class Skip(Exception):
    """An inbound entry that is not collected; the message says why."""


def printable(text):
    """text for the log: control characters (a newline in a folder name would forge a log
    line) escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def account_uids():
    """{student: uid} from the environment variable UIDS_VARIABLE (JSON), where the students are
    no Unix accounts of this machine (Kubernetes: the hub gives every user's pod a uid of its
    own and the instructor's pod this table); None: the Unix accounts say."""
    text = os.environ.get(UIDS_VARIABLE)
    return None if text is None else {str(name): int(uid) for name, uid in json.loads(text).items()}


def uid_of(student):
    """The uid whose files are student's; KeyError when no such student exists."""
    table = account_uids()
    return pwd.getpwnam(student).pw_uid if table is None else table[student]


def _owner_name(uid):
    table = account_uids()
    try:
        if table is None:
            return pwd.getpwuid(uid).pw_name
        return next(name for name, known in table.items() if known == uid)
    except (KeyError, StopIteration):
        return f"uid {uid}"


def _kept(relative, info, limits):
    """None when the file is copied, else why it is left out."""
    name = relative.rsplit("/", 1)[-1]
    if not stat.S_ISREG(info.st_mode):
        return "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
    if any(part.startswith(".") for part in relative.split("/")):
        return "hidden"
    if name.endswith(".ipynb"):
        return None if info.st_size <= limits.max_file_bytes else f"larger than {limits.max_file_bytes} bytes"
    if relative in KEPT_FILES:
        return None if info.st_size <= SECRET_BYTES else f"larger than {SECRET_BYTES} bytes"
    return "not a notebook"


def scan_entry(entry_fd, uid, limits):
    """Walks an opened inbound entry without following links: every file and folder must belong
    to uid; the entry is too big when its files' apparent size or their blocks exceed
    limits.max_bytes. Returns a Scan."""
    scan = Scan()
    totals = {"apparent": 0, "disk": 0, "entries": 0}

    def walk(folder_fd, prefix, depth):
        for name in sorted(os.listdir(folder_fd)):
            relative = prefix + name
            info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
            totals["entries"] += 1
            totals["apparent"] += info.st_size
            totals["disk"] += info.st_blocks * 512
            if info.st_uid != uid:
                raise Skip(f"{relative} belongs to {_owner_name(info.st_uid)}, not to {_owner_name(uid)}")
            if totals["entries"] > limits.max_entries:
                raise Skip(f"more than {limits.max_entries} files and folders")
            if max(totals["apparent"], totals["disk"]) > limits.max_bytes:
                raise Skip(f"too big: more than {limits.max_bytes} bytes (apparent size "
                           f"{totals['apparent']}, on disk {totals['disk']} so far)")
            if stat.S_ISDIR(info.st_mode):
                if depth >= limits.max_depth:
                    raise Skip(f"folders nested deeper than {limits.max_depth}")
                child = os.open(name, DIR_FLAGS, dir_fd=folder_fd)
                try:
                    walk(child, relative + "/", depth + 1)
                finally:
                    os.close(child)
                continue
            why = _kept(relative, info, limits)
            if why is None:
                scan.kept.append(relative)
            elif why not in ("hidden", "not a notebook"):
                scan.left_out.append((relative, why))

    try:
        walk(entry_fd, "", 0)
    except Skip as e:
        scan.skip = str(e)
    except OSError as e:
        scan.skip = f"cannot be read ({e.strerror})"
    if scan.skip is None and not any(path.endswith(".ipynb") for path in scan.kept):
        scan.skip = "holds no notebook (a regular .ipynb file)" + "".join(
            f"; {relative}: {why}" for relative, why in scan.left_out)
    return scan


def open_entry(inbound, name, uid):
    """The entry's folder opened without following links; Skip unless it is a folder of uid."""
    try:
        fd = os.open(os.path.join(inbound, name), DIR_FLAGS)
    except OSError as e:
        raise Skip("not a folder" if e.errno in (errno.ENOTDIR, errno.ELOOP) else f"cannot be opened ({e.strerror})") from None
    owner = os.fstat(fd).st_uid
    if owner != uid:
        os.close(fd)
        raise Skip(f"the folder belongs to {_owner_name(owner)}, not to {_owner_name(uid)}")
    return fd


def copy_kept(entry_fd, uid, relatives, limits, dest):
    """Copies the files relatives of the opened entry into the new folder dest, each opened
    without following links and checked again (a regular file of uid, within the limits)."""
    os.makedirs(dest)
    for relative in relatives:
        parts = relative.split("/")
        folder_fd = os.dup(entry_fd)
        try:
            for part in parts[:-1]:
                child = os.open(part, DIR_FLAGS, dir_fd=folder_fd)
                os.close(folder_fd)
                folder_fd = child
            fd = os.open(parts[-1], READ_FLAGS, dir_fd=folder_fd)
        finally:
            os.close(folder_fd)
        with os.fdopen(fd, "rb") as source:
            info = os.fstat(source.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_uid != uid or _kept(relative, info, limits):
                raise Skip(f"{relative} changed while being collected")
            data = source.read(limits.max_file_bytes + 1)
        if len(data) > limits.max_file_bytes:
            raise Skip(f"{relative} grew while being collected")
        target = os.path.join(dest, *parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out:
            out.write(data)


class Collect(CourseExchange, ExchangeCollect):
    """nbgrader's collect, where the owner of an inbound entry says whose it is; every entry
    that cannot be collected is skipped with its reason (self.skipped, and a warning in the
    log), and the others are collected."""

    def limits(self):
        return Limits(max_bytes=1000 * self.coursedir.max_dir_size,
                      max_file_bytes=1000 * self.coursedir.max_file_size)

    def check_entry(self, name):
        """The record of the inbound entry name, or Skip with the reason."""
        parts = name.rsplit("+", 3)
        if len(parts) < 3 or parts[1] != self.coursedir.assignment_id:
            raise Skip("the name is not STUDENT+ASSIGNMENT+TIME[+RANDOM]")
        student = parts[0]
        try:
            timestamp = parse_utc(parts[2])
        except (ValueError, OverflowError):
            raise Skip(f"the time in its name ({parts[2]!r}) cannot be read") from None
        try:
            uid = uid_of(student)
        except KeyError:
            raise Skip(f"no account is called {student!r}") from None
        fd = open_entry(self.inbound_path, name, uid)
        try:
            made = datetime.datetime.fromtimestamp(os.fstat(fd).st_ctime, datetime.timezone.utc).replace(tzinfo=None)
            if timestamp > made + CLOCK_SLACK:
                raise Skip(f"dated in the future: its name says {timestamp:%Y-%m-%d %H:%M:%S} UTC, "
                           f"the folder was made at {made:%Y-%m-%d %H:%M:%S} UTC")
            if timestamp < made - CLOCK_SLACK:    # dated before the folder existed: the exchange's clock
                timestamp = made                  # says when it was submitted (the deadline is checked on it)
                parts[2] = f"{made:%Y-%m-%d %H:%M:%S.%f} UTC"
            scan = scan_entry(fd, uid, self.limits())
        finally:
            os.close(fd)
        if scan.skip:
            raise Skip(scan.skip)
        return {"username": student, "filename": name, "timestamp": timestamp, "time_text": parts[2],
                "uid": uid, "kept": scan.kept, "left_out": scan.left_out}

    def skip(self, name, reason):
        self.skipped.append((name, reason))
        self.log.warning("Skipped (%s): %s", printable(reason), printable(name))

    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        self.skipped = []
        student_id = self.coursedir.student_id if self.coursedir.student_id else "*"
        pattern = os.path.join(glob.escape(self.inbound_path), f"{student_id}+{self.coursedir.assignment_id}+*")
        records = []
        for path in sorted(glob.glob(pattern)):
            name = os.path.basename(path)
            try:
                records.append(self.check_entry(name))
            except Skip as e:
                self.skip(name, str(e))
        # the rest as nbgrader's: each student's latest entry (before the due date, when asked)
        usergroups = groupby(records, lambda item: item["username"])
        self.duedate = self._duedate()
        self.src_records = []
        for group in usergroups.values():
            ordered = self._sort_by_timestamp(group)
            if self.duedate is not None and self.before_duedate:
                ordered = [r for r in ordered if r["timestamp"] <= self.duedate] or ordered
            self.src_records.append(ordered[0])

    def _duedate(self):
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                return gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                return None

    def copy_files(self):
        assignment = self.coursedir.assignment_id
        if not self.src_records:
            self.log.warning("No submissions of '%s' for course '%s' to collect", assignment, self.coursedir.course_id)
        else:
            self.log.info("Processing %d submissions of '%s' for course '%s'", len(self.src_records),
                          assignment, self.coursedir.course_id)
        for record in self.src_records:
            student = record["username"]
            dest = self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment)
            updating = os.path.isdir(dest)
            if updating:
                existing = self.coursedir.get_existing_timestamp(dest)
                newer = existing is None or record["timestamp"] > existing
                if not ((self.update and newer) or (self.before_duedate and existing != record["timestamp"])):
                    if self.update:
                        self.log.info("No newer submission to collect: %s %s", student, assignment)
                    else:
                        self.log.info("Submission already exists, use --update to update: %s %s", student, assignment)
                    continue
            for relative, why in record["left_out"]:
                self.log.warning("Left out of %s's submission %s: %s (%s)", student, record["filename"], relative, why)
            self.log.info("%s submission: %s %s", "Updating" if updating else "Collecting", student, assignment)
            try:
                self.copy_entry(record, dest)
            except Skip as e:
                self.skip(record["filename"], str(e))
            except OSError as e:
                self.skip(record["filename"], f"cannot be copied ({e.strerror})")

    def copy_entry(self, record, dest):
        """Copies the record's kept files into dest (replacing an earlier collection only once
        the copy is complete), and writes timestamp.txt from the entry's name."""
        staging = f"{dest}.collecting"
        shutil.rmtree(staging, ignore_errors=True)
        fd = open_entry(self.inbound_path, record["filename"], record["uid"])
        try:
            copy_kept(fd, record["uid"], record["kept"], self.limits(), staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            os.close(fd)
        with open(os.path.join(staging, "timestamp.txt"), "w") as handle:
            handle.write(record["time_text"])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.rmtree(dest, ignore_errors=True)
        os.rename(staging, dest)
