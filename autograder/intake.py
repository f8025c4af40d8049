"""Submission intake: which notebook of the input belongs to which student.

    collect(input_path, scratch, regexp=None) -> ({student: Submission}, [(file, why skipped)])

The input is a .zip of LMS downloads or a folder (read only; zips are extracted into
scratch, never next to the input), in any of these layouts:

    <student>_<anything>_mlp_optimizers.ipynb        LMS download (nbgrader zip_collect style)
    <anything>_<student>_attempt_<time>_<file>.ipynb nbgrader docs' zip_collect example
    <student>/<anything>.ipynb                       a folder per student
    [submitted/]<student>/mlp_optimizers/mlp_optimizers.ipynb   nbgrader's submitted/ tree
    nested zips of any of these (one level per student, as zip_collect extracts them)

A folder holding a submitted/ folder (an nbgrader course) is read from submitted/ only.
"""
import hashlib
import os
import re
import stat
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.course import ASSIGNMENT

NOTEBOOK = f"{ASSIGNMENT}.ipynb"


class IntakeError(Exception):
    """The input as a whole cannot be read (no such file, not a zip, no notebooks)."""

# zip safety: what extraction accepts
MAX_MEMBER_BYTES = 200 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
MAX_ZIP_DEPTH = 3
IGNORED_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}

# The built-in layouts, tried in order on the path relative to the input root.
ATTEMPT_RE = re.compile(r"(?:^|.*_)(?P<student_id>[^_/]+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>[^/]+)$")
LMS_RE = re.compile(rf"^(?P<student_id>[^_/]+)_(?:.*_)?{ASSIGNMENT}(?:[^/]*)\.ipynb$")
LMS_DIR_RE = re.compile(rf"^(?P<student_id>[^_/]+)_(?:.*_)?{ASSIGNMENT}[^/]*$")


@dataclass
class Candidate:
    path: Path                 # the file to read (inside the input, or extracted into scratch)
    rel: str                   # its path relative to the input, for messages ('a.zip!x/y.ipynb')
    mtime: float = 0.0
    timestamp: str = ""


@dataclass
class Submission:
    student: str
    path: Path
    rel: str
    sha256: str
    notes: list = field(default_factory=list)


def sanitize_student(raw):
    """A student id usable as an nbgrader id and folder name: letters (any script), digits,
    '_', '.', '-'; other characters become '_'."""
    name = re.sub(r"[^\w.\-]+", "_", raw.strip()).strip("_.")
    return name[:100]


def student_of(rel, regexp=None):
    """(student, timestamp) for a notebook at rel (posix path relative to the input root),
    or (None, why) when no layout matches."""
    parts = PurePosixPath(rel).parts
    name = parts[-1]
    if regexp is not None:
        match = regexp.search(rel)
        if not match or not match.groupdict().get("student_id"):
            return None, "does not match --regexp"
        return sanitize_student(match.group("student_id")), match.groupdict().get("timestamp") or ""
    if len(parts) >= 3 and parts[-2] == ASSIGNMENT:
        return sanitize_student(parts[-3]), ""                 # <student>/mlp_optimizers/x.ipynb
    match = ATTEMPT_RE.match(name)
    if match:
        return sanitize_student(match.group("student_id")), match.group("timestamp")
    match = LMS_RE.match(name)
    if match:
        return sanitize_student(match.group("student_id")), ""
    if len(parts) >= 2:                                         # <student>/<anything>.ipynb
        folder = parts[-2]
        match = LMS_DIR_RE.match(folder)                        # an extracted <student>_..._mlp_optimizers.zip
        return sanitize_student(match.group("student_id") if match else folder), ""
    return None, "cannot tell the student from the file name"


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


def _safe_member(name):
    """The member's relative posix path parts, or None for absolute / '..' / ignored paths."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or any(p in ("..", "") for p in path.parts) or ":" in path.parts[0]:
        return None
    if any(p in IGNORED_PARTS or p.startswith(".") for p in path.parts):
        return None
    return path.parts


def extract_zip(zip_path, dest, rel_prefix, skipped, depth=0, budget=None):
    """Extracts the notebooks (and nested zips, recursively) of zip_path into dest.
    Returns Candidates; records skipped members with the reason in skipped."""
    budget = budget if budget is not None else [MAX_TOTAL_BYTES]
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise IntakeError(f"{rel_prefix}: not a readable zip file ({e})") from None
    found = []
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = _zip_name(info)
            rel = f"{rel_prefix}!{name}"
            parts = _safe_member(name)
            if parts is None:
                if not any(p in IGNORED_PARTS for p in PurePosixPath(name).parts):
                    skipped.append((rel, "unsafe or hidden path in the zip, not extracted"))
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                skipped.append((rel, "symbolic link in the zip, not extracted"))
                continue
            suffix = parts[-1].lower()
            is_zip = suffix.endswith(".zip")
            if not (suffix.endswith(".ipynb") or is_zip):
                skipped.append((rel, "not a notebook"))
                continue
            if info.file_size > MAX_MEMBER_BYTES or info.file_size > budget[0]:
                skipped.append((rel, f"too large ({info.file_size / 2**20:.0f} MB), not extracted"))
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as src, open(target, "wb") as out:
                    copied = 0
                    while chunk := src.read(1 << 20):
                        copied += len(chunk)
                        if copied > info.file_size or copied > budget[0]:
                            raise IntakeError(f"{rel}: expands beyond its declared size (zip bomb?)")
                        out.write(chunk)
                budget[0] -= copied
            except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, NotImplementedError, EOFError) as e:
                skipped.append((rel, f"cannot be extracted ({e})"))
                target.unlink(missing_ok=True)
                continue
            try:
                mtime = time.mktime(info.date_time + (0, 0, -1))
                os.utime(target, (mtime, mtime))
            except (OverflowError, ValueError, OSError):
                mtime = 0.0
            if is_zip:
                if depth + 1 >= MAX_ZIP_DEPTH:
                    skipped.append((rel, "zip nested too deeply"))
                    continue
                inner = target.with_suffix("")                   # <student>_..._mlp_optimizers/
                try:
                    found += extract_zip(target, inner, rel, skipped, depth + 1, budget)
                except IntakeError as e:
                    skipped.append((rel, str(e)))
            else:
                found.append(Candidate(target, rel, mtime))
    return found


def find_candidates(input_path, scratch, skipped):
    """Candidates (notebook files) of the input (a zip, a folder, or one notebook)."""
    if input_path.is_file():
        if input_path.suffix.lower() == ".zip" or zipfile.is_zipfile(input_path):
            return [_relative_to(c, scratch) for c in extract_zip(input_path, scratch, input_path.name, skipped)]
        if input_path.suffix.lower() == ".ipynb":
            return [Candidate(input_path, input_path.name, input_path.stat().st_mtime)]
        raise IntakeError(f"{input_path}: neither a .zip file, a notebook nor a folder")
    found = []
    if (input_path / "submitted").is_dir():     # an nbgrader course (or a copy of its tree):
        input_path = input_path / "submitted"    # not release/, source/, autograded/, feedback/
    for folder, dirs, files in os.walk(input_path):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_PARTS and not d.startswith("."))
        for name in sorted(files):
            path = Path(folder) / name
            rel = path.relative_to(input_path).as_posix()
            if name.startswith("."):
                continue
            if name.lower().endswith(".zip"):
                dest = scratch / rel
                try:
                    found += [_relative_to(c, scratch) for c in extract_zip(path, dest.with_suffix(""), rel, skipped)]
                except IntakeError as e:
                    skipped.append((rel, str(e)))
            elif name.lower().endswith(".ipynb"):
                found.append(Candidate(path, rel, path.stat().st_mtime))
            else:
                skipped.append((rel, "not a notebook"))
    return found


def _relative_to(candidate, scratch):
    """(Candidate with rel = its path inside the extracted tree, for the layouts; the
    zip-qualified name, for messages)."""
    inner = candidate.path.relative_to(scratch).as_posix()
    return Candidate(candidate.path, inner, candidate.mtime), candidate.rel


def collect(input_path, scratch, regexp=None):
    """{student: Submission} of the input, and [(file, why)] of the files skipped."""
    input_path = Path(input_path)
    if not input_path.exists():
        raise IntakeError(f"{input_path}: no such file or folder")
    skipped = []
    raw = find_candidates(input_path, scratch, skipped)
    candidates = []
    for item in raw:
        candidate, shown = item if isinstance(item, tuple) else (item, item.rel)
        candidates.append((candidate, shown))
    if not candidates:
        what = "zip" if input_path.is_file() else "folder"
        detail = f" ({len(skipped)} other files skipped)" if skipped else ""
        raise IntakeError(f"{input_path}: the {what} holds no notebooks (.ipynb){detail}")
    pattern = re.compile(regexp) if regexp else None
    by_student = {}
    for candidate, shown in candidates:
        student, timestamp = student_of(candidate.rel, pattern)
        if not student:
            skipped.append((shown, timestamp))
            continue
        candidate.timestamp = timestamp
        by_student.setdefault(student, []).append((candidate, shown))
    if not by_student:
        raise IntakeError(f"{input_path}: no notebook could be matched to a student "
                         f"({len(skipped)} files skipped; see --regexp)")
    submissions = {}
    for student, items in sorted(by_student.items()):
        items.sort(key=lambda it: (it[0].timestamp, PurePosixPath(it[0].rel).name == NOTEBOOK,
                                   it[0].mtime, it[0].rel))
        chosen, shown = items[-1]
        notes = []
        if len(items) > 1:
            others = ", ".join(s for _, s in items[:-1])
            notes.append(f"提交了 {len(items)} 个笔记本，评分使用 {shown}（其余：{others}）")
            for _, other in items[:-1]:
                skipped.append((other, f"older or extra notebook of {student}"))
        submissions[student] = Submission(student, chosen.path, shown, sha256_file(chosen.path), notes)
    return submissions, skipped


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
