"""The student's cells cut to size before nbconvert renders the feedback page.

nbconvert's own rendering is not linear in what a student can write: its markdown parser
takes seconds for 20 kB of ``\\begin{x}`` and a minute for 200 kB, and every later step
(the page's parser, the formulas, the paths) grows with the page. ``BoundCells``, a
preprocessor of nbgrader's GenerateFeedback (nbgrader_adapter.Course), bounds what is
rendered:

* the source of one cell (markdown, raw or code) to ``MAX_CELL_CHARS`` characters,
* each text of an output (stream, error, each text-like MIME type) to
  ``MAX_OUTPUT_CHARS``; binary outputs and markdown attachments larger than
  ``MAX_BINARY_CHARS`` (base64) are dropped,
* code is highlighted with Pygments' Python lexer only: IPython's lexer (the notebook's
  default) takes 10 s for 20 kB of ``*_``, and neither the notebook's metadata nor a
  markdown code fence (both the student's) chooses a lexer (``highlight_python``; a fence
  of another language is shown as plain text); a highlighted character can become an
  element of its own (25 times the bytes, and every later step works per element), so
  only the first ``MAX_HIGHLIGHT_CHARS`` of code are highlighted, later cells are plain
  text;
* the whole page to ``MAX_PAGE_CHARS`` characters of sources and outputs (each cell
  counts ``CELL_CHARS`` more): later cells are left out, with a note in their place,
  except the graded ones (a test cell keeps its verdict).

Whatever is cut is marked with a Chinese note where it was cut, so a student sees that
the page is shorter than the notebook. Scores do not depend on any of this: nbgrader
reads them from the gradebook.
"""
import html
import re

from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbformat.v4 import new_markdown_cell
from traitlets import Bool

__all__ = ["BoundCells", "configure", "cut", "highlight_python", "PLAIN"]

MAX_CELL_CHARS = 20_000        # the course text's longest cell: 2 357
MAX_OUTPUT_CHARS = 20_000
MAX_BINARY_CHARS = 4_000_000   # base64 of one image or attachment
MAX_PAGE_CHARS = 200_000       # the course notebook: 42 kB of sources
CELL_CHARS = 100               # what each cell counts for besides its text (its markup)
MAX_HIGHLIGHT_CHARS = 50_000   # code highlighted per page (the course notebook: 20 kB)
PLAIN = "autograder_plain"     # cell metadata: show this code cell without highlighting

_TEXT_TYPES = ("text/", "application/json", "application/javascript", "image/svg+xml")
# A code fence, also in a list item or a quote (what precedes it on its line: blanks and markers).
_FENCE = re.compile(r"^([ \t>*+\-.)\d]*?)(`{3,}|~{3,})([^\n]*)$", re.M)
_PYTHON = {"python", "py", "python3", "ipython", "ipython3"}


def configure(config):
    """The settings of nbgrader's GenerateFeedback (a traitlets Config) that bound its
    rendering: BoundCells before nbgrader's own preprocessors, GradesSoFar for GetGrades
    (feedback_page/hand_grades.py), highlight_python for code."""
    from autograder.feedback_page.hand_grades import GradesSoFar
    config.GenerateFeedback.preprocessors = [BoundCells, GradesSoFar, CSSHTMLHeaderPreprocessor]
    config.HTMLExporter.filters = {"highlight_code": highlight_python}
    return config


def highlight_python(source, language=None, metadata=None, **_):
    """nbconvert's highlight_code filter with Pygments' Python lexer, whatever the notebook
    or the cell's metadata say; plain text for a cell BoundCells marked PLAIN."""
    if metadata and metadata.get(PLAIN):
        return f'<div class="highlight"><pre>{html.escape(source)}</pre></div>'
    return Highlight2HTML(pygments_lexer="python")(source, language="python")


def _plain_fence(match):
    """A markdown code fence with Python's lexer or none (the student's choice of lexer
    is not trusted)."""
    info = match.group(3).strip()
    language = info.split()[0].lower() if info and "`" not in info else ""
    return match.group(1) + match.group(2) + ("python" if language in _PYTHON else "")


def _cut_note(kept):
    return f"（内容过长，反馈页面只显示前 {kept} 个字符。）"


def cut(text, limit, comment=None):
    """text, or its first limit characters and a Chinese note that it was cut, on a line
    of its own after comment (e.g. "# " in code); comment None: no note (the caller adds
    one) and a tag that the cut left open is dropped."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    if comment is None:
        return head[:head.rfind("<")] if head.rfind("<") > head.rfind(">") else head
    return head + f"\n{comment}{_cut_note(limit)}\n"


class BoundCells(Preprocessor):
    """Cuts each cell, output and the whole notebook to the bounds of the module docstring."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        left, cells, omitted = MAX_PAGE_CHARS, [], 0
        highlight = MAX_HIGHLIGHT_CHARS
        for cell in nb.cells:
            graded = bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade"))
            if left <= 0 and not graded:
                omitted += 1
                continue
            if omitted:
                cells.append(_omitted_cell(omitted))
                omitted = 0
            notes_after = []
            limit = min(MAX_CELL_CHARS, max(left, 0))
            if cell.cell_type == "code":
                cell.source = cut(cell.source, limit, "# ")
                highlight -= len(cell.source)
                cell.metadata[PLAIN] = highlight < 0
            elif len(cell.source) > limit:   # the note in a cell of its own: an open fence or tag cannot hide it
                cell.source = cut(cell.source, limit)
                notes_after = [new_markdown_cell(_cut_note(limit))]
            if cell.cell_type == "markdown":
                cell.source = _FENCE.sub(_plain_fence, cell.source)
            left -= len(cell.source) + CELL_CHARS
            for name in [name for name, data in (cell.get("attachments") or {}).items()
                         if sum(len(v) for v in data.values() if isinstance(v, str)) > MAX_BINARY_CHARS]:
                del cell.attachments[name]
            for output in cell.get("outputs", []):
                # a test cell's verdict (our own text, clipped by the verifier) is always shown
                left -= _bound_output(output, MAX_OUTPUT_CHARS if graded else min(MAX_OUTPUT_CHARS, max(left, 0)))
            cells.append(cell)
            cells += notes_after
        if omitted:
            cells.append(_omitted_cell(omitted))
        nb.cells = cells
        return nb, resources


def _omitted_cell(count):
    return new_markdown_cell(f"（笔记本过长，反馈页面省略了这里的 {count} 个单元格。）")


def _bound_output(output, limit):
    """Cuts output in place to limit characters per text; returns the characters it keeps."""
    kept = 0
    if "text" in output:
        output.text = cut(output.text, limit, "")
        kept += len(output.text)
    if output.get("output_type") == "error":
        output.evalue = cut(output.get("evalue", ""), limit, "")
        lines, room = [], limit
        for line in output.get("traceback", []):
            lines.append(cut(line, max(room, 0), ""))
            room -= len(line)
            if room <= 0:
                break
        output.traceback = lines
        kept += len(output.evalue) + sum(len(line) for line in lines)
    data = output.get("data") or {}
    for mime in list(data):
        value = data[mime]
        if not isinstance(value, str):
            continue
        if mime.startswith(_TEXT_TYPES):
            data[mime] = cut(value, limit, "")
        elif len(value) > MAX_BINARY_CHARS:
            del data[mime]
            data["text/plain"] = _cut_note(0)
        kept += len(data.get(mime, ""))
    return kept
