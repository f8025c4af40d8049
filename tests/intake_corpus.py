"""Hostile and odd submissions for autograder.intake, built by code (never committed blobs).

Each case is a function limits -> Case: the top-level members of an LMS download (a zip of
the students' files) and what collect must make of them: which students, the notebook each
one is graded on (a marker inside it) or the problem reported, and reasons expected among
the skipped files. Sizes follow the limits given (tests pass small limits; the batch of
benchmarks/build_batch.py the defaults). Student ids differ between cases, so that every
case can go into one batch.

    build(case, folder) -> the LMS zip of the case (plus an honest control student)
    write_zip(members) -> bytes      a zip written byte by byte (lying sizes, raw names, ...)
                                     without holding long runs of zeros in memory
"""
import functools
import hashlib
import json
import stat
import struct
import unicodedata
import zlib
from dataclasses import dataclass, field

ASSIGNMENT = "mlp_optimizers"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
DATE = (2024, 5, 1, 12, 0, 0)
FUTURE = (2099, 1, 1, 0, 0, 0)
CONTROL = "honest"


def day(n):
    """A date in May 2024 (day n), for zip members."""
    return (2024, 5, n, 12, 0, 0)


def notebook(marker, source="x = 1"):
    """A tiny valid nbformat v4 notebook; marker identifies it (in its metadata and a cell)."""
    return json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {"corpus": marker},
        "cells": [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": f"marker: {marker}"},
                  {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": None,
                   "outputs": [], "source": source}]}, indent=1).encode()


# --------------------------------------------------------------------------------------
# A zip writer with every field under control
# --------------------------------------------------------------------------------------

@dataclass
class Member:
    name: str | bytes                  # bytes: written as is, without the UTF-8 flag
    data: bytes | list = b""           # bytes, or segments: bytes and ints (a run of that many zero bytes)
    zeros: int = 0                     # instead of data: this many zero bytes
    date: tuple = DATE
    deflate: bool = True
    declared: int | None = None        # the uncompressed size written in the headers (a lie if set)
    crc: int | None = None             # the CRC written (a lie if set)
    mode: int = stat.S_IFREG | 0o644   # unix mode (stat.S_IFLNK | 0o777: a symbolic link)
    flags: int = 0                     # extra general purpose flags (0x1: encrypted)
    method: int | None = None          # compression method written (99: unsupported)
    utf8: bool | None = None           # the UTF-8 flag (default: str names that are not ASCII)


CHUNK = 1 << 20


def _pieces(segments):
    """The bytes of segments, a chunk at a time (zero runs never held whole)."""
    for segment in segments:
        if isinstance(segment, int):
            for start in range(0, segment, CHUNK):
                yield bytes(min(CHUNK, segment - start))
        else:
            yield segment


def _size(segments):
    return sum(s if isinstance(s, int) else len(s) for s in segments)


def _deflate(segments):
    """(deflated bytes, crc) of segments (a run of zeros alone: computed once per size)."""
    if len(segments) == 1 and isinstance(segments[0], int):
        return _deflated_zeros(segments[0])
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    crc, out = 0, []
    for piece in _pieces(segments):
        crc = zlib.crc32(piece, crc)
        out.append(compressor.compress(piece))
    out.append(compressor.flush())
    return b"".join(out), crc


@functools.lru_cache(maxsize=8)
def _deflated_zeros(size):
    return _deflate((b"", size))


def _dos(date):
    y, mo, d, h, mi, s = date
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def write_zip(members, comment=b"", segments=False):
    """The bytes of a zip holding members (no zip64: members under 4 GB); with segments=True,
    its segments instead (zero runs of stored members kept as ints, for a zip inside a zip)."""
    parts, central = [], []
    offset = 0
    for m in members:
        name = m.name if isinstance(m.name, bytes) else m.name.encode("utf-8")
        utf8 = m.utf8 if m.utf8 is not None else (isinstance(m.name, str) and not m.name.isascii())
        data = [m.zeros] if m.zeros else ([m.data] if isinstance(m.data, bytes) else list(m.data))
        size = _size(data)
        if m.deflate:
            payload, crc = _deflate(tuple(data))
            payload = [payload]
        else:
            crc = 0
            for piece in _pieces(data):
                crc = zlib.crc32(piece, crc)
            payload = data
        method = m.method if m.method is not None else (8 if m.deflate else 0)
        flags = m.flags | (0x800 if utf8 else 0)
        crc = m.crc if m.crc is not None else crc
        declared = m.declared if m.declared is not None else size
        dos_time, dos_date = _dos(m.date)
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, dos_time, dos_date,
                             crc, _size(payload), declared, len(name), 0)
        parts += [header + name, *payload]
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 20, 20, flags, method,
                                   dos_time, dos_date, crc, _size(payload), declared, len(name), 0, 0,
                                   0, 0, (m.mode & 0xFFFF) << 16, offset) + name)
        offset += len(header) + len(name) + _size(payload)
    directory = b"".join(central)
    parts.append(directory + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                                         len(directory), offset, len(comment)) + comment)
    return parts if segments else b"".join(_pieces(parts))


def zip_of(*members):
    return write_zip(list(members))


def suffixed(raw, base, id_bytes=100):
    """The id collect gives to raw when its sanitised form base is taken (see intake's docstring)."""
    suffix = "-" + hashlib.sha256(unicodedata.normalize("NFC", raw).encode("utf-8")).hexdigest()[:8]
    stem = (base or "student").encode()[:id_bytes - len(suffix)].decode("utf-8", "ignore").rstrip("_.")
    return stem + suffix


# --------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------

@dataclass
class Problem:
    """The student gets a row without a graded notebook; text is part of Submission.problem."""
    text: str


@dataclass
class Chosen:
    """The student is graded on the file whose path (as shown) ends with name (not a notebook
    with a marker: e.g. zeros)."""
    name: str


@dataclass
class Case:
    name: str
    about: str
    members: list                                    # top-level members of the LMS zip
    students: dict                                   # id -> marker of the graded notebook, Chosen or Problem
    skipped: list = field(default_factory=list)      # texts expected among the skipped reasons
    notes: dict = field(default_factory=dict)        # id -> text expected in its notes
    absent: list = field(default_factory=list)       # paths (outside scratch) that must not appear
    max_extracted: int | None = None                 # bytes left in scratch at most


def lms(student, data, number=1, **kw):
    """An LMS download: <student>_<number>_mlp_optimizers.ipynb."""
    return Member(f"{student}_{number}_{NOTEBOOK}", data, **kw)


def case_injection(limits):
    eve = zip_of(Member(NOTEBOOK, notebook("eve-own"), date=DATE),
                 lms("inj-mallory", notebook("forged-mallory", ""), 9, date=FUTURE),
                 lms("inj-trent", notebook("forged-trent", ""), 9, date=FUTURE))
    return Case("injection", "a student's zip holds notebooks named for two other students, dated 2099",
                [Member(f"inj-eve_1_{ASSIGNMENT}.zip", eve),
                 lms("inj-mallory", notebook("mallory-own"), 2),
                 lms("inj-trent", notebook("trent-own"), 3)],
                {"inj-eve": "forged-mallory", "inj-mallory": "mallory-own", "inj-trent": "trent-own"},
                ["older or extra notebook of inj-eve"], {"inj-eve": "提交了 3 个笔记本"})


def case_long_names(limits):
    inner = zip_of(Member("d" * 300 + "/" + NOTEBOOK, notebook("long-folder")),
                   Member("n" * 300 + ".ipynb", notebook("long-file"), date=day(2)))
    long_id = "L" * 300
    return Case("long_names", "a 300-byte folder and file name inside a zip, a 300-character student id, "
                "two ids equal in their first 100 characters",
                [Member(f"longname_1_{ASSIGNMENT}.zip", inner),
                 lms(long_id, notebook("long-id")),
                 Member("P" * 100 + "x/" + NOTEBOOK, notebook("prefix-x")),
                 Member("P" * 100 + "y/" + NOTEBOOK, notebook("prefix-y"))],
                {"longname": "long-file", "L" * 100: "long-id",
                 suffixed("P" * 100 + "x", "P" * 100): "prefix-x",
                 suffixed("P" * 100 + "y", "P" * 100): "prefix-y"},
                notes={suffixed("P" * 100 + "x", "P" * 100): "与其他学生重复"})


def case_clash(limits):
    inner = zip_of(Member(NOTEBOOK, notebook("clash-file"), date=day(1)),
                   Member(f"{NOTEBOOK}/inner.ipynb", notebook("clash-inner"), date=day(2)),
                   Member("a", b"a file", date=day(1)),
                   Member("a/b.ipynb", notebook("clash-b"), date=day(1)))
    return Case("clash", "a file and a folder with the same name inside a zip",
                [Member(f"clash_1_{ASSIGNMENT}.zip", inner)], {"clash": "clash-inner"})


def case_merge_ids(limits):
    return Case("merge_ids", "ids that sanitise alike: 'group a' / 'group_a', 'Case' / 'case'",
                [Member(f"group a/{NOTEBOOK}", notebook("group-space")),
                 Member(f"group_a/{NOTEBOOK}", notebook("group-underscore")),
                 Member(f"Case/{NOTEBOOK}", notebook("case-upper")),
                 Member(f"case/{NOTEBOOK}", notebook("case-lower"))],
                {"group_a": "group-underscore", suffixed("group a", "group_a"): "group-space",
                 "Case": "case-upper", suffixed("case", "case"): "case-lower"},
                notes={suffixed("group a", "group_a"): "group_a"})


def case_parts(limits):
    inner = zip_of(*[Member(f"part{k}_{NOTEBOOK}", notebook(f"part{k}"), date=day(k)) for k in range(1, 7)])
    return Case("parts", "one zip with six part<K>_mlp_optimizers.ipynb members",
                [Member(f"parts_1_{ASSIGNMENT}.zip", inner)], {"parts": "part6"},
                ["older or extra notebook of parts"], {"parts": "提交了 6 个笔记本"})


def case_choice(limits):
    newer = zip_of(Member(NOTEBOOK, notebook("exact-name-older"), date=day(1)),
                   Member(f"{ASSIGNMENT}_v2.ipynb", notebook("v2-newer"), date=day(3)))
    tie = zip_of(Member("copy.ipynb", notebook("tie-copy")), Member(NOTEBOOK, notebook("tie-exact")),
                 Member("b/x.ipynb", notebook("tie-b")), Member("a/x.ipynb", notebook("tie-a")))
    path_tie = zip_of(Member("b/x.ipynb", notebook("path-b")), Member("a/x.ipynb", notebook("path-a")))
    duplicate = zip_of(Member(NOTEBOOK, notebook("dup-first")), Member(NOTEBOOK, notebook("dup-second")))
    return Case("choice", "several notebooks of one student: newest, then the exact name, then the path",
                [Member(f"newer_1_{ASSIGNMENT}.zip", newer), Member(f"tie_1_{ASSIGNMENT}.zip", tie),
                 Member(f"pathtie_1_{ASSIGNMENT}.zip", path_tie), Member(f"dup_1_{ASSIGNMENT}.zip", duplicate),
                 Member(f"ps_att_attempt_2024-05-01-10-00-00_{NOTEBOOK}", notebook("attempt-old"), date=day(9)),
                 Member(f"ps_att_attempt_2024-05-02-09-00-00_{NOTEBOOK}", notebook("attempt-new"), date=day(1))],
                {"newer": "v2-newer", "tie": "tie-exact", "pathtie": "path-a", "dup": "dup-second",
                 "att": "attempt-new"},
                notes={"newer": "修改时间最新", "tie": f"文件名为 {NOTEBOOK}", "pathtie": "按路径",
                       "att": "LMS 提交时间最新"})


def case_bomb_honest(limits):
    over = limits.notebook_bytes + (limits.notebook_bytes * 99) // 100       # 100 MB -> 199 MB
    under = (limits.notebook_bytes * 99) // 100                              # 100 MB -> 99 MB
    return Case("bomb_honest", "six members of 1.99 times the notebook limit each in one zip (honestly "
                "declared); six of 0.99 times the limit: only the graded one is extracted",
                [Member(f"bomb_1_{ASSIGNMENT}.zip", zip_of(*[Member(f"part{k}.ipynb", zeros=over) for k in range(6)])),
                 Member(f"bombunder_1_{ASSIGNMENT}.zip", zip_of(*[Member(f"part{k}.ipynb", zeros=under)
                                                                  for k in range(6)]))],
                {"bomb": Problem("文件过大"), "bombunder": Chosen("!part0.ipynb")},
                ["too large"], {"bombunder": "时间相同，按路径排序"}, max_extracted=under + 64 * 1024)


def case_bomb_lying(limits):
    inner = zip_of(Member(NOTEBOOK, zeros=2 * limits.notebook_bytes + 1, declared=600, date=day(3)),
                   Member("backup.ipynb", notebook("liar-backup"), date=day(1)))
    return Case("bomb_lying", "a member declaring 600 bytes that inflates to twice the notebook limit",
                [Member(f"liar_1_{ASSIGNMENT}.zip", inner)], {"liar": "liar-backup"},
                ["cannot be extracted (Bad CRC-32"], {"liar": "其余的无法读取"})


def case_budget(limits):
    size = int(limits.student_bytes * 0.4)
    nested = [write_zip([Member(NOTEBOOK, notebook(f"budget-{k}"), date=day(k)),
                         Member("data.bin", zeros=size, deflate=False)], segments=True) for k in (1, 2, 3)]
    inner = zip_of(*[Member(f"zip{k}.zip", z) for k, z in zip((1, 2, 3), nested)])
    return Case("budget", "three nested zips of 40% of the per-student budget each",
                [Member(f"budget_1_{ASSIGNMENT}.zip", inner)], {"budget": "budget-2"},
                ["extracted per student"])


def case_deep(limits):
    level = zip_of(Member(NOTEBOOK, notebook("deepzip")))
    for _ in range(limits.zip_depth):
        level = zip_of(Member("inner.zip", level))
    folder = zip_of(Member("d/" * (limits.depth + 10) + NOTEBOOK, notebook("deepdir")))
    return Case("deep", "zips nested deeper than the limit, folders nested deeper than the limit",
                [Member(f"deepzip_1_{ASSIGNMENT}.zip", level), Member(f"deepdir_1_{ASSIGNMENT}.zip", folder)],
                {"deepzip": Problem("压缩包嵌套超过"), "deepdir": Problem("目录层级超过")},
                ["zip nested more than", "folders deep"])


SLIP_NAMES = ["../../slip-evil.ipynb", "/tmp/slip-evil-abs.ipynb", "..\\..\\slip-evil-bs.ipynb",
              "C:\\slip-evil-drive.ipynb", "D:/slip-evil-drive2.ipynb", "ok/../../slip-evil-mixed.ipynb",
              "\\\\server\\share\\slip-evil-unc.ipynb"]


def case_zip_slip(limits):
    inner = zip_of(Member(NOTEBOOK, notebook("slip-honest"), date=day(1)),
                   *[Member(name, notebook("slip-evil"), date=FUTURE) for name in SLIP_NAMES])
    return Case("zip_slip", "'..', absolute, backslash, drive-letter and UNC names, at the top and in a zip",
                [Member(f"../slip-top_1_{NOTEBOOK}", notebook("evil")),
                 Member(f"/tmp/slip-abs_1_{NOTEBOOK}", notebook("evil")),
                 Member(f"..\\slip-bs_1_{NOTEBOOK}", notebook("evil")),
                 Member(f"C:\\slip-drive_1_{NOTEBOOK}", notebook("evil")),
                 Member(f"slip_1_{ASSIGNMENT}.zip", inner)],
                {"slip": "slip-honest"}, ["unsafe path"],
                absent=["../slip-top_1_" + NOTEBOOK, "/tmp/slip-abs_1_" + NOTEBOOK, "/tmp/slip-evil-abs.ipynb",
                        "../../slip-evil.ipynb"])


def case_symlink(limits):
    link = stat.S_IFLNK | 0o777
    inner = zip_of(Member(NOTEBOOK, b"/etc/passwd", mode=link, date=FUTURE),
                   Member("real.ipynb", notebook("link-real")))
    return Case("symlink", "symbolic links (to /etc/passwd) at the top and inside a zip",
                [Member(f"linktop_1_{NOTEBOOK}", b"/etc/passwd", mode=link),
                 Member(f"link_1_{ASSIGNMENT}.zip", inner)],
                {"link": "link-real"}, ["symbolic link"])


def case_odd_ids(limits):
    return Case("odd_ids", "shell metacharacters, newlines, a right-to-left override, a leading dash "
                "and nothing usable in ids",
                [lms("$(touch pwned);rm -rf ~ ", notebook("shell")),
                 lms("`id`|x&&y>z", notebook("backticks")),
                 lms("new\nline", notebook("newline")),
                 lms("evil\u202egnp", notebook("rtl")),
                 lms("-rf", notebook("dash")),
                 lms("…", notebook("nothing"))],
                {"touch_pwned_rm_-rf": "shell", "id_x_y_z": "backticks", "new_line": "newline",
                 "evil_gnp": "rtl", "rf": "dash", suffixed("…", ""): "nothing"},
                notes={suffixed("…", ""): "没有可用作文件夹名的字符"})


def case_unicode(limits):
    nfc, nfd = unicodedata.normalize("NFC", "José"), unicodedata.normalize("NFD", "José")
    return Case("unicode", "the NFC and NFD forms of one name are one student; Chinese ids",
                [lms(nfc, notebook("jose-nfc"), date=day(1)), lms(nfd, notebook("jose-nfd"), 2, date=day(2)),
                 lms("张三", notebook("zhangsan"))],
                {nfc: "jose-nfd", "张三": "zhangsan"}, notes={nfc: "提交了 2 个笔记本"})


def case_gbk(limits):
    inner = zip_of(Member("作业.ipynb".encode("gbk"), notebook("gbk-inner")))
    return Case("gbk", "member names in GBK without the UTF-8 flag (Windows zips), and bytes that are "
                "neither UTF-8 nor GBK",
                [Member(f"李四_1_{NOTEBOOK}".encode("gbk"), notebook("lisi")),
                 Member(f"gbk_1_{ASSIGNMENT}.zip", inner),
                 Member(b"\xff\xfe_1_" + NOTEBOOK.encode(), notebook("cp437"))],
                {"李四": "lisi", "gbk": "gbk-inner", suffixed("\xa0■", ""): "cp437"})


def case_zip_errors(limits):
    good = notebook("never")
    crc = zip_of(Member(NOTEBOOK, good, crc=zlib.crc32(good) ^ 1))
    encrypted = zip_of(Member(NOTEBOOK, good, flags=0x1))
    method = zip_of(Member(NOTEBOOK, good, method=99))
    truncated = zip_of(Member(NOTEBOOK, good))[:-30]
    bad_name = zip_of(Member(b"\xff\xfe.ipynb", good, utf8=True))
    return Case("zip_errors", "a bad CRC, an encrypted member, an unknown compression method, a truncated "
                "zip, a name flagged UTF-8 that is not",
                [Member(f"crc_1_{ASSIGNMENT}.zip", crc), Member(f"enc_1_{ASSIGNMENT}.zip", encrypted),
                 Member(f"method_1_{ASSIGNMENT}.zip", method), Member(f"trunc_1_{ASSIGNMENT}.zip", truncated),
                 Member(f"badname_1_{ASSIGNMENT}.zip", bad_name)],
                {"crc": Problem("无法解压"), "enc": Problem("文件已加密"), "method": Problem("无法解压"),
                 "trunc": Problem("不是可读取的 zip 文件"), "badname": Problem("不是可读取的 zip 文件")},
                ["encrypted", "not a readable zip file"])


def case_nothing_gradable(limits):
    return Case("nothing_gradable", "a folder with a PDF only, an empty notebook, hidden and checkpoint files",
                [Member("nothing/report.pdf", b"%PDF-1.4"),
                 lms("emptynb", b""),
                 Member(f"hidden/__MACOSX/._{NOTEBOOK}", notebook("evil"), date=FUTURE),
                 Member(f"hidden/.ipynb_checkpoints/{ASSIGNMENT}-checkpoint.ipynb", notebook("evil"), date=FUTURE),
                 Member("hidden/.secret.ipynb", notebook("evil"), date=FUTURE),
                 Member(f"hidden/{NOTEBOOK}", notebook("hidden-real"))],
                {"nothing": Problem("只有 1 个其他文件"), "emptynb": Problem("空文件"), "hidden": "hidden-real"},
                ["hidden file"])


def case_many_files(limits):
    members = zip_of(*[Member(f"f{k:05d}.txt", b"", deflate=False) for k in range(limits.zip_members + 1)],
                     Member(NOTEBOOK, notebook("never")))
    files = [Member(f"manyfiles/f{k:05d}.txt", b"", deflate=False) for k in range(limits.student_files + 10)]
    return Case("many_files", "a zip of more entries than the limit; a folder of more files than the limit",
                [Member(f"manyzip_1_{ASSIGNMENT}.zip", members), *files,
                 Member(f"manyfiles/zz_{NOTEBOOK}", notebook("never"))],
                {"manyzip": Problem("压缩包内有"), "manyfiles": Problem("文件超过")},
                ["entries (limit", "files in one submission"])


CASES = {f.__name__[len("case_"):]: f for f in (
    case_injection, case_long_names, case_clash, case_merge_ids, case_parts, case_choice, case_bomb_honest,
    case_bomb_lying, case_budget, case_deep, case_zip_slip, case_symlink, case_odd_ids, case_unicode,
    case_gbk, case_zip_errors, case_nothing_gradable, case_many_files)}


def control():
    return lms(CONTROL, notebook("control"))


def build(case, folder):
    """The LMS zip of case in folder, with the control student."""
    path = folder / f"{case.name}.zip"
    path.write_bytes(write_zip([*case.members, control()]))
    return path
