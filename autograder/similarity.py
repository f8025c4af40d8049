"""Similarity report: which pairs of students wrote unusually similar code, as leads for a
human check. It never changes a score.

    python -m autograder.similarity [--course grading] [--out COURSE/similarity.html]
                                    [--time-limit 300] [--top 30]

What is compared: the code each student wrote inside the `### START CODE HERE ###` …
`### END CODE HERE ###` regions of their submitted notebook
(<course>/submitted/<student>/mlp_optimizers/mlp_optimizers.ipynb), nothing else. The
release notebook's code (the given code and the regions' stubs) is boilerplate: what matches
it is not counted.

How: copydetect's winnowing fingerprints (the MOSS algorithm): the code is tokenized with
Pygments, names become one letter (so renaming variables changes nothing), comments and
whitespace are dropped, and each pair's score is the mean of the two shares of a student's
fingerprinted code found in the other's (0 to 1; a student with little code of their own
does not make every pair with them high). All fingerprints are made and compared in
one child process: copydetect hashes with Python's salted hash(), so fingerprints mean
nothing across processes.

The rank: this assignment fixes much of the code's shape (a few lines per region, the same
formulas for everyone), so honest pairs are already alike and a fixed threshold would flag
the whole class. Each pair is therefore measured against the class's own baseline: its robust
z-score, (score − median of all pairs) / (1.4826 × MAD of all pairs) (MAD at least 0.01).
Pairs are ranked by score (the same order as by z); a pair is flagged at z ≥ 3. A flag is a
lead, not proof: two students who both write the textbook formula look alike, and a copy that
was rewritten line by line does not.

Bounds (the code is the student's): a region over 100 kB is cut, at most 200 regions and
300 kB per student, notebooks over 20 MB are skipped, students with fewer than
MIN_TOKENS fingerprinted characters of their own are listed and not ranked, and the whole
analysis runs in a child process that is killed after --time-limit seconds (comparisons stop
at 80 % of it; the page says which pairs were compared). The page escapes everything and
loads nothing from elsewhere.

Files: similarity.html (ranked pairs; the top pairs' regions side by side with the matching
code marked) and similarity.json (every compared pair) in the course directory.
"""
import argparse
import html
import json
import multiprocessing
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.course import ASSIGNMENT

START, END = "### START CODE HERE ###", "### END CODE HERE ###"
REGION_BYTES = 100_000
STUDENT_BYTES = 300_000
MAX_REGIONS = 200
NOTEBOOK_BYTES = 20_000_000
NOISE = 15               # copydetect noise_t = guarantee_t: k-grams of 15 filtered characters, all kept
MIN_TOKENS = 30          # fingerprinted characters of a student's own code needed to be ranked
FLAG_Z = 3.0
SHOWN_BYTES = 30_000     # of each side of a pair on the page
SIDE_BY_SIDE = 10        # pairs shown side by side


@dataclass
class Code:
    """A student's code: text (the regions, each after a '# region n' line), notes (English:
    cuts, skips)."""
    student: str
    text: str = ""
    regions: int = 0
    notes: list = field(default_factory=list)


@dataclass
class Pair:
    """Two students: score = the mean of share_a and share_b, share_x = the part of x's fingerprinted
    code found in the other's; z: robust z-score against the class; slices: [start, end]
    ranges of the matching code in each text (only for the pairs shown side by side)."""
    a: str
    b: str
    score: float
    share_a: float
    share_b: float
    z: float = 0.0
    flagged: bool = False
    slices_a: list = field(default_factory=list)
    slices_b: list = field(default_factory=list)


@dataclass
class Analysis:
    """The result: ranked pairs, the baseline (median, mad), the students not ranked
    {student: why}, notes, whether every pair was compared, seconds."""
    pairs: list
    median: float
    mad: float
    codes: dict
    unranked: dict
    notes: list
    complete: bool
    seconds: float


# --------------------------------------------------------------------------------------
# The regions of a notebook
# --------------------------------------------------------------------------------------

def _cut(text, limit):
    data = text.encode("utf-8", "surrogatepass")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def regions_of(cells):
    """[region text] of the code cells' sources ([str]), in order: the lines between a line
    holding START and the next line holding END (a START without END runs to the cell's end).
    Linear in the size of the sources."""
    found = []
    for source in cells:
        inside, lines = False, []
        for line in source.splitlines():
            if not inside and START in line:
                inside, lines = True, []
            elif inside and END in line:
                found.append("\n".join(lines))
                inside = False
            elif inside:
                lines.append(line)
        if inside:
            found.append("\n".join(lines))
    return found


def code_cells(data):
    """The sources of the code cells of notebook bytes ([] for anything else)."""
    try:
        notebook = json.loads(data.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return []
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    sources = []
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(s for s in source if isinstance(s, str))
            if isinstance(source, str):
                sources.append(source)
    return sources


def student_code(student, path):
    """The Code of one submitted notebook, within the bounds of the module docstring."""
    code = Code(student)
    try:
        if path.is_symlink() or not path.is_file():
            code.notes.append("no notebook")
            return code
        if path.stat().st_size > NOTEBOOK_BYTES:
            code.notes.append(f"notebook over {NOTEBOOK_BYTES // 1_000_000} MB: skipped")
            return code
        data = path.read_bytes()
    except OSError as e:
        code.notes.append(f"cannot read the notebook ({type(e).__name__})")
        return code
    regions = regions_of(code_cells(data))
    if len(regions) > MAX_REGIONS:
        code.notes.append(f"{len(regions)} regions: only the first {MAX_REGIONS} compared")
        regions = regions[:MAX_REGIONS]
    parts, size = [], 0
    for number, region in enumerate(regions, start=1):
        if len(region.encode("utf-8", "surrogatepass")) > REGION_BYTES:
            code.notes.append(f"region {number} over {REGION_BYTES // 1000} kB: cut")
            region = _cut(region, REGION_BYTES)
        part = f"# region {number}\n{region}\n"
        size += len(part.encode("utf-8", "surrogatepass"))
        if size > STUDENT_BYTES:
            code.notes.append(f"over {STUDENT_BYTES // 1000} kB of regions: the rest not compared")
            break
        parts.append(part)
    code.text = "".join(parts).encode("utf-8", "replace").decode("utf-8")
    code.regions = len(parts)
    return code


def boilerplate(release_notebook):
    """The code of the release notebook (given code and stubs), as one text."""
    return "\n".join(code_cells(Path(release_notebook).read_bytes()))


# --------------------------------------------------------------------------------------
# The comparison, in one child process (copydetect's hashes are salted per process)
# --------------------------------------------------------------------------------------

def _compare(texts, stub, soft_deadline, shown, noise=NOISE):
    """In the child: ({(a, b): (share_a, share_b)}, {student: fingerprinted characters},
    complete). texts: {student: code}; pairs compared in sorted order until soft_deadline
    (time.monotonic()); shown: how many of the top pairs get their matching slices."""
    import io

    import numpy as np
    from copydetect import CodeFingerprint, compare_files

    base = CodeFingerprint("boilerplate.py", noise, 1, fp=io.StringIO(stub))
    stub_hashes = np.unique(np.array(list(base.hashes)))
    prints = {s: CodeFingerprint(f"{s}.py", noise, 1, stub_hashes, fp=io.StringIO(t)) for s, t in texts.items()}
    coverage = {s: int(p.token_coverage) for s, p in prints.items()}
    ranked = sorted(s for s in prints if coverage[s] >= MIN_TOKENS)
    shares, complete = {}, True
    for i, a in enumerate(ranked):
        if time.monotonic() > soft_deadline:
            complete = False
            break
        for b in ranked[i + 1:]:
            _, (share_a, share_b), _ = compare_files(prints[a], prints[b])
            shares[(a, b)] = (float(share_a), float(share_b))
    top = sorted(shares, key=lambda k: -sum(shares[k]))[:shown]
    slices = {}
    for a, b in top:
        _, _, (sa, sb) = compare_files(prints[a], prints[b])
        slices[(a, b)] = (np.asarray(sa).T.astype(int).tolist(), np.asarray(sb).T.astype(int).tolist())
    return shares, coverage, complete, slices


def _child(conn, texts, stub, soft_seconds, shown, noise):
    try:
        result = _compare(texts, stub, time.monotonic() + soft_seconds, shown, noise)
        conn.send(("ok", result))
    except Exception as e:  # reported by the parent
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def compare_in_child(texts, stub, time_limit, shown, noise=NOISE):
    """_compare in a child process killed after time_limit seconds; raises SimilarityError
    when it fails or runs out of time."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, texts, stub, 0.8 * time_limit, shown, noise), daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(time_limit):
            raise SimilarityError(f"the comparison took more than {time_limit:g} s and was stopped")
        status, result = receive.recv()
    except EOFError:
        raise SimilarityError("the comparison process ended without a result") from None
    finally:
        process.kill()
        process.join()
    if status != "ok":
        raise SimilarityError(f"the comparison failed: {result}")
    return result


class SimilarityError(Exception):
    """The analysis could not be made."""


# --------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------

def analyse(course_dir, release_notebook=None, time_limit=300, shown=SIDE_BY_SIDE, noise=NOISE):
    """The Analysis of every submission in course_dir/submitted/ (see the module docstring);
    noise: copydetect's k (filtered characters per fingerprinted k-gram)."""
    start = time.monotonic()
    course_dir = Path(course_dir)
    release_notebook = release_notebook or course_dir / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    if not Path(release_notebook).exists():
        raise SimilarityError(f"no release notebook at {release_notebook}: grade the course first")
    submitted = course_dir / "submitted"
    folders = sorted(p for p in submitted.iterdir() if p.is_dir() and not p.is_symlink()) if submitted.is_dir() else []
    codes = {p.name: student_code(p.name, p / ASSIGNMENT / f"{ASSIGNMENT}.ipynb") for p in folders}
    texts = {s: c.text for s, c in codes.items() if c.text}
    shares, coverage, complete, slices = compare_in_child(texts, boilerplate(release_notebook), time_limit, shown, noise) \
        if texts else ({}, {}, True, {})
    unranked = {}
    for student, code in codes.items():
        if coverage.get(student, 0) < MIN_TOKENS:
            unranked[student] = "; ".join(code.notes) or "too little code of its own (beyond the release's) to compare"
    pairs = [Pair(a, b, (sa + sb) / 2, sa, sb) for (a, b), (sa, sb) in shares.items()]
    scores = [p.score for p in pairs]
    median = statistics.median(scores) if scores else 0.0
    mad = statistics.median(abs(s - median) for s in scores) if scores else 0.0
    scale = 1.4826 * max(mad, 0.01)
    for pair in pairs:
        pair.z = (pair.score - median) / scale
        pair.flagged = pair.z >= FLAG_Z
        pair.slices_a, pair.slices_b = slices.get((pair.a, pair.b), ([], []))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    notes = []
    if not complete:
        notes.append(f"stopped at {0.8 * time_limit:g} s: only {len(pairs)} pairs were compared")
    if len(texts) - len(unranked) < 4:
        notes.append("fewer than 4 students to rank: the class baseline means little")
    return Analysis(pairs, median, mad, codes, unranked, notes, complete, time.monotonic() - start)


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; vertical-align: top; }
th { background: #f3f3f3; } td.name { text-align: left; }
tr.flagged td { background: #ffe9e9; }
.pair { display: flex; gap: 1em; } .pair > div { flex: 1; min-width: 0; }
pre { background: #f8f8f8; border: 1px solid #ddd; padding: 0.5em; overflow-x: auto; font-size: 0.8em; white-space: pre-wrap; }
mark { background: #ffd27a; }
.small { color: #666; font-size: 0.85em; }
"""


def marked(text, slices, limit=SHOWN_BYTES):
    """text escaped, the [start, end] ranges in <mark>, cut to limit characters."""
    out, position = [], 0
    cut = len(text) > limit
    text = text[:limit]
    for start, end in sorted(slices):
        start, end = max(start, position), min(end, len(text))
        if start >= end:
            continue
        out += [html.escape(text[position:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        position = end
    out.append(html.escape(text[position:]))
    if cut:
        out.append("\n… (cut here on this page)")
    return "".join(out)


def write_page(analysis, path, top=30):
    """similarity.html: the method, the baseline, the ranked pairs, the top pairs side by side."""
    esc = html.escape
    flagged = [p for p in analysis.pairs if p.flagged]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Similarity report</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>Similarity report: {esc(ASSIGNMENT)}</h1>",
             "<p>Compared: the code each student wrote inside the START CODE HERE … END CODE HERE regions, "
             "without the release's own code (copydetect's winnowing fingerprints; names, comments and layout "
             "do not count). A pair's score is the mean of the two shares of one student's code found in the "
             "other's (0 to 1). <b>It never changes a score.</b></p>",
             f"<p>Class baseline: median {analysis.median:.2f}, MAD {analysis.mad:.2f} over {len(analysis.pairs)} "
             f"pairs. Honest pairs are alike in this assignment (few lines, the same formulas), so pairs are "
             f"ranked against this baseline: z = (score − median) / (1.4826 × MAD); <b>{len(flagged)}</b> pairs "
             f"stand out at z ≥ {FLAG_Z:g}. A flagged pair is a lead for a human check, not proof of copying; "
             f"an unflagged pair is not proof of honesty.</p>"]
    parts += [f"<p><b>{esc(note)}</b></p>" for note in analysis.notes]
    parts.append(f"<h2>Pairs, most similar first (top {min(top, len(analysis.pairs))})</h2>"
                 "<table><tr><th>#</th><th>student</th><th>student</th><th>score</th><th>z</th>"
                 "<th>share of first</th><th>share of second</th></tr>")
    for rank, pair in enumerate(analysis.pairs[:top], start=1):
        link = f"<a href='#pair-{rank}'>{rank}</a>" if pair.slices_a or pair.slices_b else str(rank)
        parts.append(f"<tr class='{'flagged' if pair.flagged else ''}'><td>{link}</td>"
                     f"<td class='name'>{esc(pair.a)}</td><td class='name'>{esc(pair.b)}</td>"
                     f"<td>{pair.score:.2f}</td><td>{pair.z:.1f}</td><td>{pair.share_a:.2f}</td>"
                     f"<td>{pair.share_b:.2f}</td></tr>")
    parts.append("</table>")
    if analysis.unranked:
        parts.append("<h2>Not ranked</h2><ul>" + "".join(
            f"<li>{esc(s)}: {esc(why)}</li>" for s, why in sorted(analysis.unranked.items())) + "</ul>")
    cut = {s: c.notes for s, c in analysis.codes.items() if c.notes and s not in analysis.unranked}
    if cut:
        parts.append("<h2>Cut</h2><ul>" + "".join(
            f"<li>{esc(s)}: {esc('; '.join(n))}</li>" for s, n in sorted(cut.items())) + "</ul>")
    parts.append("<h2>Side by side</h2><p class='small'>Marked: code found in both (after names become one "
                 "letter, so renamed copies are marked too).</p>")
    for rank, pair in enumerate(analysis.pairs[:top], start=1):
        if not (pair.slices_a or pair.slices_b):
            continue
        parts.append(f"<h3 id='pair-{rank}'>#{rank}: {esc(pair.a)} and {esc(pair.b)} — score {pair.score:.2f}, "
                     f"z {pair.z:.1f}</h3><div class='pair'>"
                     f"<div><b>{esc(pair.a)}</b><pre>{marked(analysis.codes[pair.a].text, pair.slices_a)}</pre></div>"
                     f"<div><b>{esc(pair.b)}</b><pre>{marked(analysis.codes[pair.b].text, pair.slices_b)}</pre></div>"
                     f"</div>")
    parts.append(f"<p class='small'>{analysis.seconds:.1f} s.</p></body></html>")
    Path(path).write_text("\n".join(parts), encoding="utf-8")
    return Path(path)


def write_json(analysis, path):
    """similarity.json: the baseline and every compared pair (without slices)."""
    pairs = [{k: v for k, v in asdict(p).items() if not k.startswith("slices")} for p in analysis.pairs]
    Path(path).write_text(json.dumps({"median": analysis.median, "mad": analysis.mad, "complete": analysis.complete,
                                      "unranked": analysis.unranked, "notes": analysis.notes, "pairs": pairs},
                                     indent=1, ensure_ascii=True), encoding="ascii")
    return Path(path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.similarity", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default="grading", help="the course graded by grade (default: ./grading)")
    parser.add_argument("--out", type=Path, default=None, help="the page (default: <course>/similarity.html)")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds for the whole comparison (default 300)")
    parser.add_argument("--top", type=int, default=30, help="pairs listed on the page and the console (default 30)")
    args = parser.parse_args(argv)
    if args.time_limit <= 0 or args.top <= 0:
        parser.error("--time-limit and --top must be positive")
    course = Path(args.course)
    out = args.out or course / "similarity.html"
    try:
        analysis = analyse(course, time_limit=args.time_limit)
    except SimilarityError as e:
        print(f"similarity: error: {e}", file=sys.stderr)
        return 2
    write_page(analysis, out, args.top)
    write_json(analysis, out.with_suffix(".json"))
    flagged = sum(p.flagged for p in analysis.pairs)
    print(f"Similarity of {len(analysis.codes)} submissions ({len(analysis.pairs)} pairs) in {analysis.seconds:.1f} s: "
          f"median {analysis.median:.2f}, MAD {analysis.mad:.2f}; {flagged} pairs at z >= {FLAG_Z:g} "
          f"(leads for a human check, not proof; scores are not changed).")
    for note in analysis.notes:
        print(f"  note: {note}")
    for pair in analysis.pairs[:min(args.top, 10)]:
        print(f"  {'*' if pair.flagged else ' '} {pair.score:.2f}  z {pair.z:5.1f}  {pair.a[:30]}  {pair.b[:30]}")
    print(f"  {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
