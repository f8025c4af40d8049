"""Submission intake: which notebook of the input belongs to which student.

    collect(input_path, scratch, regexp=None) -> ({student: Submission}, [(file, why skipped)])

The input is a .zip of LMS downloads, a folder, or one notebook. It is read only, never
modified, and nothing is written outside scratch (zips are extracted into a new folder
there, under names made here, never under the names inside the zip; notebooks of an input
folder are graded in place).

Who: the outside decides, never the names inside a student's own archive or folder.

  The batch root is the input zip or folder, after two steps (in this order, repeated at
  most LIMITS.wrappers times):
    - a root holding a folder named submitted/ (an nbgrader course, or a copy of its tree)
      is read from submitted/ only, and there only <student>/mlp_optimizers/mlp_optimizers.ipynb
      counts (a student folder without it is skipped: another assignment); an input folder
      itself named submitted/ is read the same way;
    - a root holding exactly one folder or zip and no notebook (other files are skipped) is
      a wrapper when that folder's or zip's own name follows none of the layouts below but
      the name of an entry inside it does (e.g. downloads/ around the LMS files): its content
      becomes the root. A batch of one LMS-named zip is therefore never unwrapped.
  Each top-level entry of the batch root is one student's submission, and its own name
  alone says whose:
    <student>_<anything>_mlp_optimizers<anything>.ipynb   LMS download (nbgrader zip_collect style)
    <anything>_<student>_attempt_<time>_<anything>        nbgrader docs' zip_collect example
                                                          (a notebook, a zip or a folder)
    <student>_<anything>_mlp_optimizers<anything>.zip     LMS download of a zip, or the folder
    <student>_<anything>_mlp_optimizers<anything>/        an unzipped one
    <student>.zip, <student>/                             a zip or a folder per student
  A top-level notebook named in none of these ways, and a top-level file that is neither a
  notebook nor a zip, are skipped (no student). With --regexp (nbgrader's
  FileNameCollectorPlugin.named_regexp: a (?P<student_id>...) group, optionally
  (?P<timestamp>...)) the regexp replaces these layouts: it is searched in the path of each
  top-level entry (relative to the input, or to a wrapper zip), and an entry it does not
  match is skipped.
  Everything inside a student's zip or folder (nested zips included, LIMITS.zip_depth zip
  levels per submission) is that student's, whatever its names. Links in the input folder
  are never followed; hidden files and folders (.name) are not read; __MACOSX/,
  .ipynb_checkpoints/ and __pycache__/ are ignored silently. Top-level entries giving
  the same id (after Unicode NFC normalisation) are one student: e.g. two attempts.

Ids: autograder/student_ids.py gives each raw id (NFC) its id, usable as an nbgrader id and
  a folder name, and never merges students: distinct raw ids get distinct ids, and with the
  course's registry (grade passes it) an id, once given, stays with its raw id in every later
  run. A raw id given an id of its own (its clean id was taken, or nothing of it was usable)
  has that in its notes.

Which notebook: every notebook (.ipynb, any case) in a student's submission is a candidate,
  apart from refused ones (empty, too large, unsafe path, link, hidden, too deep, ...).
  The graded one is the first of the candidates ordered by
    1. the LMS timestamp of the top-level entry (_attempt_ names, --regexp's timestamp), newest first;
    2. the modification time (the zip entry's date, or the file's mtime), newest first;
    3. a file named mlp_optimizers.ipynb first;
    4. the path in code-point order (then the later of two equal names in a zip);
  that can be read (a candidate that fails to extract is passed over, with its reason).
  The choice is reported in Submission.notes and the others in skipped.

When: Submission.timestamp is the time of submission as the outside recorded it, never from
  the student's own files (notebook metadata, file or zip-entry dates inside a submission,
  which the student controls): in an nbgrader submitted/ tree the timestamp.txt nbgrader's
  collect writes next to the notebook (the exchange's time); in an LMS download the time in
  the top-level entry's name (`_attempt_<time>_`, --regexp's timestamp group), written by
  the LMS. Canvas's and Moodle's "download all submissions" give no time in their names (Canvas
  marks a late one with LATE, by its own due date) and the dates of a zip's entries carry no
  time zone and are not documented as the submission time, so their submissions have none
  ('': autograder/course_policy.py treats them as on time and says the time is unknown).

No student stops the batch: every problem inside one submission skips that file, or, when
  nothing gradable is left, gives a Submission with path=None, sha256="" and problem = the
  reason (so the student still gets a row). IntakeError is raised only for the input as a
  whole: no such file, not a readable zip, no notebooks at all, no student found.

Budgets (LIMITS): per student, bytes extracted (nested zips and the graded notebook), files
  looked at, folder depth and zip depth; per notebook, its size; per run, bytes extracted.
  Sizes are checked against the declared size and again against the decompressed stream.
  Only the graded notebook (and the nested zips on the way to it) is extracted.
"""
import hashlib
import os
import re
import stat
import tempfile
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder.course import ASSIGNMENT
from autograder.student_ids import StudentIds, sanitize_student

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
MB = 1024 * 1024


class IntakeError(Exception):
    """The input as a whole cannot be read (no such file, not a zip, no notebooks)."""


@dataclass(frozen=True)
class Limits:
    notebook_bytes: int = 100 * MB     # one notebook
    student_bytes: int = 250 * MB      # extracted for one student: nested zips and the graded notebook
    student_files: int = 1000          # files looked at in one student's submission (all its zips)
    depth: int = 16                    # folder levels inside one student's folder or zip
    zip_depth: int = 3                 # zip levels inside one submission (its zip, a zip inside, ...)
    zip_members: int = 10000           # entries of one zip inside a submission
    total_bytes: int = 4096 * MB       # extracted in one run
    wrappers: int = 3                  # folders or zips around the batch root
    skipped_lines: int = 50            # skipped entries reported per student (then a count)


LIMITS = Limits()
IGNORED_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".DS_Store"}

# The built-in layouts, tried on the name of a top-level entry.
ATTEMPT_RE = re.compile(r"(?:^|.*_)(?P<student_id>[^_/]+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>[^/]+)$")
LMS_RE = re.compile(rf"^(?P<student_id>[^_/]+)_(?:.*_)?{ASSIGNMENT}(?:[^/]*)\.ipynb$")
LMS_DIR_RE = re.compile(rf"^(?P<student_id>[^_/]+)_(?:.*_)?{ASSIGNMENT}[^/]*$")
DRIVE_RE = re.compile(r"^[A-Za-z]:")

# why a file is not read: (for the skipped list, for the student's row)
REASONS = {
    "unsafe": ("unsafe path in the zip (absolute, '..' or a drive), not extracted",
               "压缩包内的路径不安全（绝对路径、.. 或盘符）"),
    "link": ("symbolic link, not read", "符号链接"),
    "special": ("not a regular file, not read", "不是普通文件"),
    "hidden": ("hidden file or folder, not read", "隐藏文件"),
    "deep": ("nested more than {n} folders deep, not read", "目录层级超过 {n} 层"),
    "zip_deep": ("zip nested more than {n} levels deep, not extracted", "压缩包嵌套超过 {n} 层"),
    "many_members": ("zip of {count} entries (limit {n}), not read", "压缩包内有 {count} 个文件（上限 {n}）"),
    "empty": ("empty file", "空文件"),
    "large": ("too large ({mb} MB; limit {n} MB per notebook), not extracted",
              "文件过大（{mb} MB，每个笔记本上限 {n} MB）"),
    "budget": ("over the {n} MB extracted per student, not extracted", "超过每名学生 {n} MB 的解压上限"),
    "run_budget": ("over the {n} MB extracted per run, not extracted", "超过本次评分 {n} MB 的解压总量上限"),
    "bomb": ("expands beyond its declared size (zip bomb?), not extracted", "解压后超过声明的大小（疑似压缩炸弹）"),
    "encrypted": ("encrypted (password), not extracted", "文件已加密"),
    "broken": ("cannot be extracted ({error})", "无法解压（{error}）"),
    "bad_zip": ("not a readable zip file ({error})", "不是可读取的 zip 文件（{error}）"),
    "unreadable": ("cannot be read ({error})", "无法读取（{error}）"),
    "not_notebook": ("not a notebook", "不是笔记本"),
}


class Refused(Exception):
    """A file of a submission that is not read, with the reason (REASONS key and values)."""

    def __init__(self, key, **values):
        super().__init__(key)
        self.key = key
        self.values = values

    @property
    def en(self):
        return REASONS[self.key][0].format(**self.values)

    @property
    def zh(self):
        return REASONS[self.key][1].format(**self.values)


@dataclass
class Submission:
    student: str
    path: Path | None          # the notebook to grade (in the input folder, or extracted into scratch)
    rel: str                   # where it is in the input, for messages ('a.zip!x/y.ipynb')
    sha256: str
    notes: list = field(default_factory=list)
    problem: str = ""          # why nothing is gradable (then path is None and sha256 "")
    timestamp: str = ""        # when it was submitted, as the outside recorded it ('' unknown)
    timestamp_source: str = "" # 'exchange' (nbgrader's timestamp.txt) or 'lms' (the top-level name)


@dataclass
class Entry:
    """A file of the input: in the input folder, or a member of a zip."""
    parts: tuple               # path parts (decoded) below the current root
    where: str = ""            # the zip it is in, for messages ('a.zip!'; '' in the input folder)
    lead: tuple = ()           # path parts above the current root (wrappers, the student's folder)
    size: int = 0              # declared size
    mtime: float = 0.0
    order: int = 0             # position in its listing (a later duplicate name wins ties)
    problem: str = ""          # a REASONS key: never read
    raw: str = ""              # the name as written, shown for unsafe names
    path: Path | None = None   # a file of the input folder
    archive: zipfile.ZipFile | None = None
    info: zipfile.ZipInfo | None = None

    @property
    def shown(self):
        """For messages ('a.zip!x/y.ipynb'), control characters escaped."""
        return self.where + shown(self.raw or "/".join(self.lead + self.parts))

    def below(self, n=1):
        """The entry with its first n parts moved above the root."""
        return replace(self, parts=self.parts[n:], lead=self.lead + self.parts[:n])

    def open(self):
        return open(self.path, "rb") if self.path is not None else self.archive.open(self.info)


@dataclass
class Group:
    """A top-level entry of the batch root: one student's submission."""
    name: str
    kind: str                  # 'notebook', 'zip' or 'folder'
    entries: list              # a notebook or zip: [it]; a folder: its files, parts relative to it
    shown: str
    path: str                  # relative to the input, for --regexp
    timestamp: str = ""
    timestamp_source: str = "" # 'exchange' or 'lms' (see Submission)


@dataclass
class Candidate:
    entry: Entry
    timestamp: str


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------

def shown(name, limit=160):
    """name for messages: control, format and undecodable characters escaped, long names cut."""
    out = []
    for ch in name:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:                          # an undecodable byte (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                       else f"\\U{code:08x}")
        else:
            out.append(ch)
    text = "".join(out)
    return text if len(text) <= limit else text[:limit // 2 - 1] + "…" + text[-(limit // 2):]


def megabytes(size):
    """A size in MB for messages: '199', '0.25'."""
    return f"{size / MB:.3g}"


def id_notes(ids, renamed):
    """{raw id: Chinese note} for the raw ids that StudentIds.assign gave their own id."""
    notes = {}
    for raw in renamed:
        clean = sanitize_student(raw)
        notes[raw] = (f"学号“{shown(raw, 80)}”规范化后为 {clean}，与其他学生重复，为区分记为 {ids[raw]}"
                      if clean else f"学号“{shown(raw, 80)}”中没有可用作文件夹名的字符，记为 {ids[raw]}")
    return notes


def student_of(name, kind="notebook", regexp=None, path=None):
    """(raw student id, timestamp) that the name of a top-level entry gives (kind 'notebook',
    'zip' or 'folder'; path: relative to the input, for regexp), or (None, why not)."""
    if regexp is not None:
        match = regexp.search(path or name)
        if not match or not match.groupdict().get("student_id"):
            return None, "does not match --regexp"
        return match.group("student_id"), match.groupdict().get("timestamp") or ""
    match = ATTEMPT_RE.match(name)
    if match:
        return match.group("student_id"), match.group("timestamp")
    if kind == "notebook":
        match = LMS_RE.match(name)
        return (match.group("student_id"), "") if match else (None, "cannot tell the student from the file name")
    stem = name[:-4] if kind == "zip" and name.lower().endswith(".zip") else name
    match = LMS_DIR_RE.match(stem)
    return (match.group("student_id") if match else stem), ""


def _names_a_student(name, kind, regexp, path):
    """Whether the name follows a layout (for wrappers: a folder or zip name is not enough)."""
    if regexp is not None:
        return student_of(name, kind, regexp, path)[0] is not None
    if kind == "notebook":
        return student_of(name)[0] is not None
    if kind == "folder" and name == "submitted":
        return True
    stem = name[:-4] if kind == "zip" and name.lower().endswith(".zip") else name
    return bool(ATTEMPT_RE.match(name) or LMS_DIR_RE.match(stem))


def _kind(name):
    lower = name.lower()
    return "notebook" if lower.endswith(".ipynb") else "zip" if lower.endswith(".zip") else "other"


def _hidden(parts):
    """'ignored' (silently: __MACOSX, checkpoints, ...), 'hidden' (a part starting with '.'), or ''."""
    if any(p in IGNORED_PARTS for p in parts):
        return "ignored"
    return "hidden" if any(p.startswith(".") for p in parts) else ""


def _time_key(timestamp):
    """An LMS timestamp as a comparable key: its numbers in order (newest is largest)."""
    if not timestamp:
        return ()
    if re.search(r"[A-Za-z]{3}", timestamp):                   # 'Mon May 1 10:00:00 2024'
        try:
            from dateutil import parser
            timestamp = parser.parse(timestamp).isoformat()
        except (ValueError, OverflowError, ImportError):
            pass
    return tuple((len(d.lstrip("0")), d.lstrip("0")) for d in re.findall(r"\d+", timestamp))


# --------------------------------------------------------------------------------------
# Listings: a zip's members, a folder's files
# --------------------------------------------------------------------------------------

def _zip_name(info):
    """A member's name; names without the UTF-8 flag (Windows zips) are tried as UTF-8, then GBK."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            return name
        for encoding in ("utf-8", "gbk"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
    return name


def _zip_mtime(info):
    try:
        return time.mktime(tuple(info.date_time) + (0, 0, -1))
    except (OverflowError, ValueError, TypeError):
        return 0.0


def zip_entries(archive, prefix):
    """Entries of an open zip ('prefix!name' shown); unsafe members and links carry a problem."""
    entries = []
    for order, info in enumerate(archive.infolist()):
        name = _zip_name(info)
        posix = name.replace("\\", "/")
        if posix.endswith("/"):
            continue                                           # a folder
        parts = tuple(p for p in posix.split("/") if p not in ("", "."))
        if not parts:
            continue
        entry = Entry(parts, f"{prefix}!", (), info.file_size, _zip_mtime(info), order,
                      archive=archive, info=info)
        if posix.startswith("/") or ".." in parts or DRIVE_RE.match(parts[0]) or ":" in parts[0]:
            entry.problem, entry.raw = "unsafe", name
        elif stat.S_ISLNK(info.external_attr >> 16):
            entry.problem = "link"
        entries.append(entry)
    return entries


def _fs_name(name):
    """A file name as text: names that are not UTF-8 are tried as GBK (Windows zips unzipped)."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        try:
            return os.fsencode(name).decode("gbk")
        except UnicodeDecodeError:
            return name


def folder_entries(root, skipped, max_depth):
    """Entries (files) of a folder, without following links; hidden files are left out."""
    entries = []
    stack = [(Path(root), ())]
    order = 0
    while stack:
        folder, parts = stack.pop()
        try:
            with os.scandir(folder) as listing:
                items = sorted(listing, key=lambda d: d.name, reverse=True)
        except OSError as e:
            skipped.append((shown("/".join(parts)) or shown(str(folder)), f"cannot be read ({e.strerror})"))
            continue
        subfolders = []
        for item in items:
            if item.name.startswith(".") or item.name in IGNORED_PARTS:
                continue
            here = parts + (_fs_name(item.name),)
            rel = shown("/".join(here))
            order += 1
            try:
                if item.is_symlink():
                    entries.append(Entry(here, order=order, problem="link"))
                elif item.is_dir(follow_symlinks=False):
                    if len(here) > max_depth:           # read no further; its student is told
                        entries.append(Entry(here, order=order, problem="deep"))
                    else:
                        subfolders.append((Path(item.path), here))
                elif item.is_file(follow_symlinks=False):
                    info = item.stat(follow_symlinks=False)
                    entries.append(Entry(here, "", (), info.st_size, info.st_mtime, order, path=Path(item.path)))
                else:
                    entries.append(Entry(here, order=order, problem="special"))
            except OSError as e:
                skipped.append((rel, f"cannot be read ({e.strerror})"))
        stack.extend(subfolders)
    entries.sort(key=lambda e: e.parts)
    return entries


def _zip_count(path):
    """The number of entries a zip file declares (from its end record), or None."""
    try:
        with open(path, "rb") as f:
            end = zipfile._EndRecData(f)
        return end[zipfile._ECD_ENTRIES_TOTAL] if end else None
    except Exception:
        return None


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _error_text(error):
    text = str(error) or type(error).__name__
    return shown(text if isinstance(error, (OSError, zipfile.BadZipFile)) else f"{type(error).__name__}: {text}", 120)


# --------------------------------------------------------------------------------------
# The run and each student
# --------------------------------------------------------------------------------------

class _Run:
    def __init__(self, scratch, regexp):
        self.scratch = scratch
        self.regexp = regexp
        self.skipped = []
        self.archives = []           # open for the whole run (the input, wrappers)
        self.extracted = 0           # bytes, the whole run
        self.notebooks = 0           # notebook files seen (read or not)
        self.others = 0              # other files skipped
        self.refused = 0             # notebooks and zips of students refused
        self.count = 0               # files made in scratch

    def close(self):
        for archive in self.archives:
            archive.close()

    def new_path(self, folder, suffix):
        self.count += 1
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{self.count:05d}{suffix}"

    def extract(self, entry, target, budgets):
        """entry's bytes into target (a new file) -> sha256. budgets: [(REASONS key, bytes left,
        limit shown)]: the declared size must fit each, and so must the decompressed stream,
        which may not exceed the declared size either. Raises Refused."""
        for key, left, limit in budgets:
            if entry.size > left:
                raise Refused(key, n=megabytes(limit), mb=megabytes(entry.size))
        left = min(left for _, left, _ in budgets)
        written = 0
        digest = hashlib.sha256()
        try:
            with entry.open() as src, open(target, "xb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > entry.size or written > left:
                        raise Refused("bomb")
                    digest.update(chunk)
                    out.write(chunk)
        except Refused:
            target.unlink(missing_ok=True)
            raise
        except Exception as e:
            target.unlink(missing_ok=True)
            if isinstance(e, RuntimeError) and "encrypted" in str(e):
                raise Refused("encrypted") from None
            raise Refused("broken", error=_error_text(e)) from None
        finally:
            self.extracted += written
        return written, digest.hexdigest()

    def run_budget(self):
        return ("run_budget", LIMITS.total_bytes - self.extracted, LIMITS.total_bytes)

    def open_zip(self, path, prefix, archives, max_members=None):
        """zip_entries of the zip file at path (the open zip added to archives). Raises Refused."""
        count = _zip_count(path)
        if max_members is not None and count is not None and count > max_members:
            raise Refused("many_members", count=count, n=max_members)
        try:
            archive = zipfile.ZipFile(path)
        except Exception as e:
            raise Refused("bad_zip", error=_error_text(e)) from None
        archives.append(archive)
        try:
            return zip_entries(archive, prefix)
        except Exception as e:
            raise Refused("bad_zip", error=_error_text(e)) from None

    # the batch root ------------------------------------------------------------------

    def root(self, entries, course):
        """(entries, course) of the batch root: submitted/ and wrappers stepped into."""
        for _ in range(LIMITS.wrappers + 1):
            if course:
                break
            tops = {}
            for e in entries:
                if not _top_problem(e) and not _hidden(e.parts):
                    tops.setdefault(e.parts[0], set()).add("folder" if len(e.parts) > 1 else _kind(e.parts[0]))
            if "folder" in tops.get("submitted", ()):
                return [e.below() for e in entries if e.parts[0] == "submitted" and len(e.parts) > 1], True
            containers = [(n, k) for n, kinds in tops.items() for k in kinds if k in ("folder", "zip")]
            if len(containers) != 1 or any("notebook" in kinds for kinds in tops.values()):
                break
            name, kind = containers[0]
            if _names_a_student(name, kind, self.regexp, _path_of(entries, name)):
                break
            inner = self._inside(entries, name, kind)
            if inner is None or not any(
                    _names_a_student(e.parts[0], "folder" if len(e.parts) > 1 else _kind(e.parts[0]),
                                     self.regexp, "/".join(e.lead + e.parts[:1]))
                    for e in inner if not _top_problem(e) and not _hidden(e.parts)):
                break
            for e in entries:
                if e.parts[0] != name and _hidden(e.parts[:1]) != "ignored":
                    self.skip_top(e, _top_problem(e) or _hidden(e.parts[:1]) or "not_notebook")
            entries = inner
        return entries, course

    def _inside(self, entries, name, kind):
        """The entries inside a wrapper folder or zip (None: not readable)."""
        if kind == "folder":
            return [e.below() for e in entries if e.parts[0] == name and len(e.parts) > 1]
        entry = [e for e in entries if e.parts == (name,)][-1]
        try:
            if entry.path is None:
                path = self.new_path(self.scratch / "wrappers", ".zip")
                self.extract(entry, path, [self.run_budget()])
            else:
                path = entry.path
            inner = self.open_zip(path, entry.shown, self.archives)
        except Refused:
            return None
        return inner

    def skip_top(self, entry, key):
        if _kind(entry.parts[-1]) == "notebook":
            self.notebooks += 1
        else:
            self.others += 1
        self.skipped.append((entry.shown, Refused(key, n=LIMITS.depth).en))

    def groups(self, entries, course):
        """{raw id (NFC): [Group]} of the batch root's top-level entries."""
        tops = {}
        for e in entries:
            hidden = _hidden(e.parts[:1])
            if hidden == "ignored":
                continue
            if _top_problem(e) or hidden:
                self.skip_top(e, _top_problem(e) or hidden)
                continue
            kind = "folder" if len(e.parts) > 1 else _kind(e.parts[0])
            if kind == "other":
                self.skip_top(e, "not_notebook")
                continue
            tops.setdefault((e.parts[0], kind), []).append(e)
        students = {}
        for (name, kind), items in sorted(tops.items()):
            path = _path_of(items, name)
            top_shown = items[0].where + shown(path)
            exchange_time = ""
            if kind == "folder":
                items = [e.below() for e in items]
                if course:
                    exchange_time = exchange_timestamp(items)
                    items = [e for e in items if e.parts == (ASSIGNMENT, NOTEBOOK)]
                    if not items:
                        self.skipped.append((top_shown, f"no {ASSIGNMENT}/{NOTEBOOK} (another assignment)"))
                        continue
            raw, timestamp = student_of(name, kind, self.regexp, path)
            if raw is None:
                if kind == "notebook":
                    self.notebooks += len(items)
                self.skipped.append((top_shown, timestamp))
                continue
            key = unicodedata.normalize("NFC", raw)
            source = "exchange" if exchange_time else "lms" if timestamp else ""
            students.setdefault(key, []).append(Group(name, kind, items, top_shown, path,
                                                      exchange_time or timestamp, source))
        return students


def exchange_timestamp(entries):
    """The text of <assignment>/timestamp.txt among a student's entries of an nbgrader
    submitted/ tree (what nbgrader's collect recorded: the exchange's time of the submission),
    '' without one. Only a small regular file of the input folder or zip is read."""
    for e in entries:
        if e.parts == (ASSIGNMENT, "timestamp.txt") and not e.problem and 0 < e.size <= 200:
            try:
                with e.open() as f:
                    return f.read(200).decode("utf-8", "replace").strip()
            except (OSError, zipfile.BadZipFile, RuntimeError):
                return ""
    return ""


def _top_problem(entry):
    """The problem of an entry that cannot be a student's (an unsafe path, a top-level link or
    special file); problems deeper down are their student's."""
    return entry.problem if entry.problem == "unsafe" or len(entry.parts) == 1 else ""


def _path_of(entries, name):
    """The path (relative to the input) of the top-level entry name among entries."""
    lead = next(e.lead for e in entries if e.parts[0] == name)
    return "/".join(lead + (name,))


class _Student:
    """One student's submission: its files looked at within the budgets, the graded one chosen."""

    def __init__(self, run, student, folder, groups):
        self.run = run
        self.student = student
        self.folder = folder
        self.tops = [g.shown for g in groups]
        self.archives = []
        self.extracted = 0
        self.files = 0
        self.over = 0                 # files not looked at (over the budget)
        self.lines = 0                # skipped entries reported
        self.candidates = []
        self.refused = []             # (entry shown, Refused) of notebooks and zips
        self.others = 0               # files that are not notebooks

    def close(self):
        for archive in self.archives:
            archive.close()
        for path in self.folder.glob("*.zip"):
            path.unlink(missing_ok=True)

    def skip(self, shown_name, why):
        self.lines += 1
        if self.lines <= LIMITS.skipped_lines:
            self.run.skipped.append((shown_name, why))

    def refuse(self, entry, refusal, counts=True):
        self.skip(entry.shown, refusal.en)
        if counts:
            self.refused.append((entry.shown, refusal))
            self.run.refused += 1

    def label(self, shown_name):
        """A file of this submission for the student's notes: its path inside the submission."""
        for top in self.tops:
            if shown_name.startswith(top) and shown_name[len(top):len(top) + 1] in ("/", "!"):
                return shown(shown_name[len(top) + 1:], 80)
        return shown(re.split(r"!", shown_name)[-1], 80)

    def gather(self, entries, timestamp, zip_level):
        for e in sorted(entries, key=lambda e: (e.parts, e.order)):
            if self.files >= LIMITS.student_files:
                self.over += 1
                continue
            self.files += 1
            kind = _kind(e.parts[-1])
            if kind == "notebook":
                self.run.notebooks += 1
            hidden = _hidden(e.parts)
            if hidden == "ignored":
                continue
            if e.problem or hidden:
                self.refuse(e, Refused(e.problem or hidden, n=LIMITS.depth),
                            counts=kind != "other" or e.problem == "deep")
            elif len(e.parts) > LIMITS.depth:
                self.refuse(e, Refused("deep", n=LIMITS.depth), counts=kind != "other")
            elif kind == "notebook":
                if e.size == 0:
                    self.refuse(e, Refused("empty"))
                elif e.size > LIMITS.notebook_bytes:
                    self.refuse(e, Refused("large", mb=megabytes(e.size), n=megabytes(LIMITS.notebook_bytes)))
                else:
                    self.candidates.append(Candidate(e, timestamp))
            elif kind == "zip":
                self.gather_zip(e, timestamp, zip_level + 1)
            else:
                self.others += 1
                self.run.others += 1
                self.skip(e.shown, REASONS["not_notebook"][0])

    def gather_zip(self, entry, timestamp, zip_level):
        if zip_level > LIMITS.zip_depth:
            self.refuse(entry, Refused("zip_deep", n=LIMITS.zip_depth))
            return
        try:
            if entry.path is not None:
                path = entry.path
            else:
                path = self.run.new_path(self.folder, ".zip")
                self.extract(entry, path)
            entries = self.run.open_zip(path, entry.shown, self.archives, LIMITS.zip_members)
        except Refused as refusal:
            self.refuse(entry, refusal)
            return
        self.gather(entries, timestamp, zip_level)

    def extract(self, entry, path, notebook=False):
        budgets = [("large", LIMITS.notebook_bytes, LIMITS.notebook_bytes)] if notebook else []
        budgets += [("budget", LIMITS.student_bytes - self.extracted, LIMITS.student_bytes), self.run.run_budget()]
        before = self.run.extracted
        try:
            return self.run.extract(entry, path, budgets)
        finally:
            self.extracted += self.run.extracted - before

    def materialize(self, candidate):
        """(path, sha256) of a candidate: extracted from its zip, or the input file itself."""
        entry = candidate.entry
        if entry.path is None:
            path = self.run.new_path(self.folder, ".ipynb")
            _, digest = self.extract(entry, path, notebook=True)
            return path, digest
        try:
            info = os.stat(entry.path, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                raise Refused("special")
            if info.st_size > LIMITS.notebook_bytes:
                raise Refused("large", mb=megabytes(info.st_size), n=megabytes(LIMITS.notebook_bytes))
            return entry.path, sha256_file(entry.path)
        except OSError as e:
            raise Refused("unreadable", error=_error_text(e)) from None

    def submission(self, top_shown, notes):
        """The Submission (graded notebook chosen), or one with the problem."""
        ordered = sorted(self.candidates, key=lambda c: (c.entry.shown, -c.entry.order))
        ordered.sort(key=lambda c: (_time_key(c.timestamp), c.entry.mtime,
                                    c.entry.parts[-1].lower() == NOTEBOOK), reverse=True)
        failed = []
        for i, candidate in enumerate(ordered):
            try:
                path, digest = self.materialize(candidate)
            except Refused as refusal:
                self.refuse(candidate.entry, refusal)
                failed.append((candidate, refusal))
                continue
            rest = ordered[i + 1:]
            chosen = self.label(candidate.entry.shown)
            if failed:
                notes.insert(0, "；".join(f"{self.label(c.entry.shown)} {r.zh}，未评分" for c, r in failed[:3])
                             + ("等" if len(failed) > 3 else ""))
            if len(ordered) > 1:
                others = rest + [c for c, _ in failed]
                listed = "、".join(self.label(c.entry.shown) for c in others[:5])
                more = f" 等 {len(others)} 个" if len(others) > 5 else ""
                why = _why_chosen(candidate, rest[0]) if rest else "其余的无法读取"
                notes.insert(0, f"提交了 {len(ordered)} 个笔记本，评分使用 {chosen}（{why}；其余：{listed}{more}）")
                for other in rest:
                    self.skip(other.entry.shown, f"older or extra notebook of {self.student} (graded: {chosen})")
            self.report_over()
            return Submission(self.student, path, candidate.entry.shown, digest, notes, timestamp=candidate.timestamp)
        self.report_over()
        return Submission(self.student, None, top_shown, "", notes, self.problem())

    def report_over(self):
        if self.over:
            self.run.skipped.append((f"{self.tops[0]} ({self.over} files)",
                                     f"more than {LIMITS.student_files} files in one submission, not read"))
        if self.lines > LIMITS.skipped_lines:
            self.run.skipped.append((f"{self.tops[0]} ({self.lines - LIMITS.skipped_lines} more files)",
                                     "skipped (not listed one by one)"))

    def problem(self):
        if self.refused:
            listed = "；".join(f"{self.label(s)} {r.zh}" for s, r in self.refused[:3])
            return f"没有可评分的笔记本：{listed}{'等' if len(self.refused) > 3 else ''}"
        if self.over:
            return f"没有可评分的笔记本：提交中的文件超过 {LIMITS.student_files} 个，其余未读取"
        if self.others:
            return f"提交中没有笔记本（.ipynb），只有 {self.others} 个其他文件"
        return "提交中没有笔记本（.ipynb）"


def _why_chosen(chosen, other):
    if _time_key(chosen.timestamp) != _time_key(other.timestamp):
        return "LMS 提交时间最新"
    if chosen.entry.mtime != other.entry.mtime:
        return "修改时间最新"
    if (chosen.entry.parts[-1].lower() == NOTEBOOK) != (other.entry.parts[-1].lower() == NOTEBOOK):
        return f"文件名为 {NOTEBOOK}"
    return "时间相同，按路径排序"


# --------------------------------------------------------------------------------------
# collect
# --------------------------------------------------------------------------------------

def collect(input_path, scratch, regexp=None, ids=None):
    """{student: Submission} of the input, and [(file, why)] of the files skipped. ids: the
    course's StudentIds (autograder/student_ids.py), which gives each raw id its id and
    records the newcomers; None: ids for this input alone."""
    input_path = Path(input_path)
    if not input_path.exists():
        raise IntakeError(f"{input_path}: no such file or folder")
    scratch = Path(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        pattern = re.compile(regexp) if regexp else None
    except re.error as e:
        raise IntakeError(f"--regexp is not a valid regular expression: {e}") from None
    run = _Run(Path(tempfile.mkdtemp(prefix="intake-", dir=scratch)), pattern)
    try:
        return _collect(run, input_path, StudentIds() if ids is None else ids)
    finally:
        run.close()
        for path in (run.scratch / "wrappers").glob("*.zip"):
            path.unlink(missing_ok=True)


def _collect(run, input_path, registry):
    course = False
    if input_path.is_file():
        if input_path.suffix.lower() == ".zip" or zipfile.is_zipfile(input_path):
            try:
                archive = zipfile.ZipFile(input_path)
                run.archives.append(archive)
                entries = zip_entries(archive, input_path.name)
            except Exception as e:
                raise IntakeError(f"{input_path}: not a readable zip file ({_error_text(e)})") from None
        elif input_path.suffix.lower() == ".ipynb":
            info = input_path.stat()
            entries = [Entry((input_path.name,), size=info.st_size, mtime=info.st_mtime, path=input_path)]
        else:
            raise IntakeError(f"{input_path}: neither a .zip file, a notebook nor a folder")
    else:
        course = input_path.name == "submitted"
        entries = folder_entries(input_path, run.skipped, LIMITS.depth + LIMITS.wrappers + 3)
    entries, course = run.root(entries, course)
    by_key = run.groups(entries, course)
    ids, renamed = registry.assign(list(by_key))
    notes_of = id_notes(ids, renamed)
    submissions = {}
    for n, key in enumerate(sorted(by_key, key=lambda k: ids[k])):
        groups, student = by_key[key], ids[key]
        state = _Student(run, student, run.scratch / f"s{n:04d}", groups)
        notes = [notes_of[key]] if key in notes_of else []
        try:
            for group in groups:
                if group.kind == "zip":
                    state.gather_zip(group.entries[0], group.timestamp, 1)
                else:
                    state.gather(group.entries, group.timestamp, 0)
            submissions[student] = state.submission(groups[0].shown, notes)
            if submissions[student].timestamp:
                submissions[student].timestamp_source = groups[0].timestamp_source
        except Exception as e:           # a last resort: one submission never stops the batch
            run.skipped.append((groups[0].shown, f"cannot be read ({_error_text(e)})"))
            submissions[student] = Submission(student, None, groups[0].shown, "", notes,
                                              f"读取提交时出错（{_error_text(e)}）")
        finally:
            state.close()
    if not run.notebooks and not run.refused:
        what = "zip" if input_path.is_file() else "folder"
        detail = f" ({run.others} other files skipped)" if run.others else ""
        raise IntakeError(f"{input_path}: the {what} holds no notebooks (.ipynb){detail}")
    if not submissions:
        raise IntakeError(f"{input_path}: no notebook could be matched to a student "
                          f"({len(run.skipped)} files skipped; see --regexp)")
    return dict(sorted(submissions.items())), run.skipped
