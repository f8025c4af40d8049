"""Student ids: the nbgrader id each raw student id (from an LMS file name or a folder) gets,
for the life of a course.

    ids = StudentIds.load(course / "student_ids.json", known)   # known: ids already in the gradebook
    mapping, renamed = ids.assign(raw_ids)                      # {raw: id}, raw ids given their own id
    ids.save()

An id, once given, belongs to its raw id: the registry (student_ids.json, next to the
manifest) records every raw id (NFC) with its id, and a later run gives the same raw id the
same id, whoever else is in that run. An existing student is never renamed, so the hand
grades, comments, feedback pages and gradebook rows of an id never change owner.

A raw id seen for the first time (a newcomer) gets its clean id, sanitize_student(raw), when
that id is free (compared case-insensitively with every id given so far and every id already
in the gradebook) and no other newcomer of the run cleans alike, or, if several do, when the
raw id is already clean (the first in code-point order of those). Otherwise it gets its own
id, derived from the raw id alone: the clean id, '-' and the first 8 hex digits of the
SHA-256 of the raw id (more digits in the unlikely case those are taken too), or
'student-<hash>' when nothing of the raw id is usable. A run's result does not depend on
the order of its input.

Ids in the gradebook with no owner in the registry (graded before the registry existed, or
added by `nbgrader db student add` / the exchange) go only to the raw id equal to them;
when the registry is first made in a course that was graded before, a raw id that cleans to
one of them takes it, as earlier runs did.
"""
import hashlib
import json
import os
import re
import unicodedata
from pathlib import Path

ID_BYTES = 100         # an id, in UTF-8
REGISTRY = "student_ids.json"
REGISTRY_VERSION = 1


def _truncate_utf8(text, limit):
    return text.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")


def sanitize_student(raw):
    """raw id -> id usable as an nbgrader id and a folder name: NFC, every run of characters
    other than letters (any script), digits, '_', '.', '-' replaced by '_', no leading '_',
    '.', '-', no trailing '_', '.', at most ID_BYTES bytes of UTF-8 (may be '')."""
    name = re.sub(r"[^\w.\-]+", "_", unicodedata.normalize("NFC", raw))
    name = re.sub(r"^[_.\-]+", "", name)
    return re.sub(r"[_.]+$", "", _truncate_utf8(name, ID_BYTES))


def own_id(raw, taken):
    """The id derived from raw alone: clean id + '-' + hex digits of sha256(raw), the first 8
    that are not in taken (casefolded ids)."""
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    for n in range(8, 65, 4):
        suffix = f"-{digest[:n]}"
        student = re.sub(r"[_.]+$", "", _truncate_utf8(sanitize_student(raw) or "student", ID_BYTES - len(suffix)))
        student += suffix
        if student.casefold() not in taken:
            return student
    raise ValueError(f"no free id for {raw!r}")   # 15 lengths of one digest all taken: cannot happen


class StudentIds:
    """The registry of one course ({raw id: id}); path None keeps it in memory (one run)."""

    def __init__(self, owners=None, known=(), path=None, migrating=False):
        self.owners = dict(owners or {})
        given = set(self.owners.values())
        self.unowned = {i for i in known if i not in given}   # in the gradebook, no raw id recorded
        self.path = Path(path) if path else None
        self.migrating = migrating

    @classmethod
    def load(cls, path, known=()):
        """The registry at path (made on first save); known: ids already in the course."""
        path = Path(path)
        if not path.exists():
            return cls(known=known, path=path, migrating=bool(known))
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != REGISTRY_VERSION:
                raise ValueError(f"version {data.get('version')!r}")
            owners = data["owners"]
        except (ValueError, KeyError, OSError) as e:
            raise RegistryError(f"{path} cannot be read ({e}); it records which student owns which id. "
                                f"Restore it from a backup; do not delete it.") from None
        return cls(owners, known, path)

    def assign(self, raw_ids):
        """({raw id: id}, [raw ids whose clean id was taken or empty: they got their own id])
        for raw_ids (NFC); records the newcomers."""
        ids, renamed = {}, []
        taken = {i.casefold() for i in [*self.owners.values(), *self.unowned]}
        newcomers = []
        for raw in raw_ids:
            if raw in self.owners:
                ids[raw] = self.owners[raw]
            else:
                newcomers.append(raw)
        base = {raw: sanitize_student(raw) for raw in newcomers}
        alike = {}
        for raw in newcomers:
            alike.setdefault(base[raw].casefold(), []).append(raw)
        for raw in sorted(newcomers, key=lambda r: (r != base[r], r)):
            clean = base[raw]
            # of newcomers that clean alike, only a raw id that is already clean may take the clean id
            alone = len(alike[clean.casefold()]) == 1 or raw == clean
            if clean in self.unowned and (raw == clean or (self.migrating and alone)):
                student = clean
                self.unowned.discard(clean)
            elif clean and alone and clean.casefold() not in taken:
                student = clean
            else:
                student = own_id(raw, taken)
                renamed.append(raw)
            taken.add(student.casefold())
            self.owners[raw] = student
            ids[raw] = student
        return ids, renamed

    def save(self):
        """Writes the registry atomically (ASCII JSON: raw ids may hold undecodable bytes)."""
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"version": REGISTRY_VERSION, "owners": self.owners}, indent=1, sort_keys=True),
                       encoding="ascii")
        os.replace(tmp, self.path)


class RegistryError(Exception):
    """The course's registry of ids cannot be read."""
