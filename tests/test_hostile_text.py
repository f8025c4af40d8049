"""Student text the grader handles is bounded in time and size, and cannot reach the grader's
note or a spreadsheet's formulas.

Every step that reads text a student controls gets 200 kB of adversarial input (many
``$``, unbalanced ``$$``, ``\\begin{`` without end, nested brackets, 60 000 blank lines,
long lines without spaces, deeply nested or unclosed HTML, comments, styles, huge
outputs): the formula splitter, the offline page (parser, styles, formulas, paths),
nbconvert's rendering of cut cells, the hint of a failed definition, the note, grades.csv
and report.html. Each must finish (within a generous bound of CPU time, which load does
not inflate; these are not timing tests) and keep the text or mark where it was cut.

The slow tests grade, with the real `grade` command, a zip with a hostile submission (all
of the above in its cells, styles that try to hide the note and show a fake full score)
and a student folder named like a spreadsheet formula, and open the hostile student's
feedback page in headless Chromium.
"""
import csv
import importlib.util
import re
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.course import ASSIGNMENT
from autograder.examples import cell_by_grade_id, source_notebook
from autograder.feedback_page import cells as cells_module
from autograder.feedback_page import formulas
from autograder.feedback_page.note import NOTE_BEGIN, NOTE_END, add_feedback_note, feedback_note
from autograder.feedback_page.offline import _PathScrubber, make_offline
from autograder.parts import TEST_CELLS
from autograder.result import SubmissionResult
from autograder.verify import _failed_definition_hint

BOUND = 20.0     # CPU seconds of this process for one step on 200 kB; the fixed code takes well under 5
                 # (CPU time, not wall time: a loaded machine slows a step down, it does not add work)
N = 200_000
END = "END-OF-CELL-7f3a"

ADVERSARIAL = {
    "dollars": "$" * N,
    "dollar_braces": "${" * (N // 2),
    "double_dollars_unbalanced": "$$x " * (N // 4),
    "begin_without_end": "\\begin{x}" * (N // 9),
    "open_parens": "\\(" * (N // 2),
    "nested_brackets": "[" * (N // 2) + "]" * (N // 2),
    "braces": "{" * N,
    "blank_lines": "\n" * 60_000 + "x" * (N - 60_000),
    "long_line": "x" * N,
    "path_without_spaces": "/usr/lib/x" * (N // 10),
    "deep_html": "<div><span>" * (N // 11),
    "unclosed_then_stray_ends": "<b>" * (N // 6) + "</i>" * (N // 8),
    "styles": "x<style>p{}</style>" * (N // 19),
    "escaped_dollars": "x\\$<i></i>" * (N // 10),
    "emphasis": "*_" * (N // 2),
    "formulas": "$x$ " * (N // 4),
}


def timed(function, *args):
    start = time.process_time()
    value = function(*args)
    seconds = time.process_time() - start
    assert seconds < BOUND, f"{seconds:.1f} CPU s"
    return value


def page(body):
    return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\"/>\n<title>t</title>\n</head>\n"
            f"<body>\n<a name=\"top\"></a>\n{body}\n</body>\n</html>\n")


def markdown(inner):
    return f'<div class="text_cell_render border-box-sizing rendered_html">{inner}</div>'


def text_of(html):
    from bs4 import BeautifulSoup
    return BeautifulSoup(html, "html.parser").get_text()


# --------------------------------------------------------------------------------------
# Each step on 200 kB
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_the_formula_splitter_is_linear_and_keeps_the_text(name):
    text = ADVERSARIAL[name]
    pieces = timed(formulas._split_math, text)
    rebuilt = "".join(piece if isinstance(piece, str) else piece[2] for piece in pieces)
    assert rebuilt == text.replace("\\$", "$")
    found = [piece for piece in pieces if not isinstance(piece, str)]
    if name == "formulas":   # past the count cap the formulas stay as text
        assert len(found) == formulas.MAX_FORMULAS
    elif name != "double_dollars_unbalanced":
        assert found == []


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_the_offline_page_is_produced_with_the_text(name, tmp_path):
    text = ADVERSARIAL[name]
    html = page(markdown(text) + markdown(f"<p>{END}</p>"))
    out = timed(make_offline, html, tmp_path)
    visible = text_of(out)
    assert END in visible
    if "<" not in text:
        plain = text.replace("\\$", "$").replace("\n", "")
        assert plain[:1000] in visible.replace("\n", "") or name in ("formulas", "double_dollars_unbalanced",
                                                                   "path_without_spaces")


def test_paths_are_shortened_in_linear_time(tmp_path):
    scrub = _PathScrubber(tmp_path)
    for text in ("/usr/lib/x" * (N // 10), "(/home" * (N // 6), "/" * N, "a/" * (N // 2)):
        out = timed(scrub, text)
        assert "/usr/lib/x/usr" not in out and len(out) <= len(text)


def render(notebook):
    """(HTML, resources) of notebook as nbgrader's feedback renders it (cells.configure)."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = cells_module.configure(Config())
    exporter = HTMLExporter(template_name="classic", config=config)
    for preprocessor in config.GenerateFeedback.preprocessors[:1]:   # BoundCells (the others need a gradebook)
        exporter.register_preprocessor(preprocessor)
    return exporter.from_notebook_node(notebook)


@pytest.mark.parametrize("kind", ["markdown", "raw", "code"])
@pytest.mark.parametrize("name", ["begin_without_end", "dollars", "nested_brackets", "blank_lines",
                                  "deep_html", "emphasis", "long_line", "fences"])
def test_nbconvert_renders_cells_cut_to_size(kind, name):
    make = {"markdown": nbformat.v4.new_markdown_cell, "raw": nbformat.v4.new_raw_cell,
            "code": nbformat.v4.new_code_cell}[kind]
    cell = make(ADVERSARIAL[name] if name != "fences" else "```ipython3\n" + "*_" * (N // 2) + "\n```\n")
    if kind == "raw":
        cell.metadata["format"] = "text/html"
    notebook = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_markdown_cell(END)])
    html, _ = timed(render, notebook)
    assert f"反馈页面只显示前 {cells_module.MAX_CELL_CHARS} 个字符" in html
    assert END in html


def test_a_long_notebook_and_huge_outputs_are_cut():
    notebook = source_notebook()
    test_cell = cell_by_grade_id(notebook, "test_adam")
    test_cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="x" * N,
                                                traceback=["y" * N] * 5)]
    notebook.cells.insert(1, nbformat.v4.new_code_cell("print()", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="z" * (10 * N)),
        nbformat.v4.new_output("display_data", data={"text/html": "<b>" * N, "image/png": "A" * (30 * N)})]))
    notebook.cells += [nbformat.v4.new_markdown_cell("w" * 1000) for _ in range(5000)]
    notebook.cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {"grade": True, "grade_id": "x"}}))
    html, _ = timed(render, notebook)
    assert len(html) < 3 * cells_module.MAX_PAGE_CHARS + 2_000_000   # nbconvert's CSS is 1-2 MB
    assert "反馈页面省略了这里的" in html and "个单元格" in html
    assert "y" * 1000 in html            # the verdict of a test cell stays
    assert "A" * 1000 not in html and "z" * (MAX := cells_module.MAX_OUTPUT_CHARS + 1) not in html, MAX


def test_code_past_the_highlighting_bound_is_plain_text(tmp_path):
    # 200 kB of code that Pygments turns into one element per character
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("*_" * 10_000) for _ in range(10)])
    html, _ = timed(render, notebook)
    highlighted = html.count('<span class="o">*</span>')
    assert 0 < highlighted <= cells_module.MAX_HIGHLIGHT_CHARS // 2 + 10_000
    assert "*_" * 1000 in html                       # the rest is there, as plain text
    timed(make_offline, html, tmp_path)


def test_the_hint_of_a_failed_definition_is_linear():
    error = [(3, "ValueError: boom")]
    for source in ("\n" * 60_000, " " * N, "\n \t" * (N // 3), "x" * N, "class\n" * (N // 6)):
        assert timed(_failed_definition_hint, "test_adam", error, {3: source}) == ""
    hint = timed(_failed_definition_hint, "test_adam", error, {3: "\n" * 60_000 + "class Adam:\n    pass\n"})
    assert "定义 Adam 的第 3 个代码单元" in hint and "ValueError: boom" in hint


def test_the_note_escapes_and_bounds_the_text_it_shows(tmp_path):
    hostile = "<style>*{display:none}</style>$x$" * (N // 34)
    result = SubmissionResult("alice", scores={g: 0.0 for g in TEST_CELLS},
                              messages={"test_adam": hostile}, notes=[hostile])
    note = timed(feedback_note, result)
    assert "<style>*{" not in note and "&lt;style&gt;" in note
    # a page whose student text holds many note markers: one note, first in the body
    path = tmp_path / "page.html"
    path.write_text(page(markdown(f"{NOTE_BEGIN}x" * (N // 25) + NOTE_END)), encoding="utf-8")
    timed(add_feedback_note, path, result)
    timed(add_feedback_note, path, result)   # a second note replaces the first
    text = path.read_text(encoding="utf-8")
    assert text.count("<div id='grade-verified'>") == 1
    assert re.search(r"<body>\s*" + re.escape(NOTE_BEGIN) + r"\n<div class='grade-verified-host'>", text)


def test_grades_csv_and_report_take_long_text(tmp_path):
    from autograder import report, report_page

    long_note = "说明" * N
    results = {f"s{i}": SubmissionResult(f"s{i}", scores={g: 1.0 for g in TEST_CELLS},
                                         messages={"test_adam": "<b>" * N}, notes=[long_note])
               for i in range(3)}
    timed(report.write_grades_csv, results, tmp_path / "grades.csv")
    timed(report_page.write_report, results, tmp_path / "report.html", tmp_path / "report.png")
    assert "&lt;b&gt;" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_csv_text_cells_that_look_like_formulas_are_escaped(tmp_path):
    from autograder import report
    from autograder.verify import Limit

    formulas_like = ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    results = {name: SubmissionResult(name, scores={g: 0.0 for g in TEST_CELLS}, source=name + "/nb.ipynb",
                                      notes=[name], sandbox=name, limits=[Limit("died", name, name)])
               for name in formulas_like}
    results["plain"] = SubmissionResult("plain", scores={g: 1.0 for g in TEST_CELLS}, source="plain.ipynb")
    report.write_grades_csv(results, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for column in ("student", "mistakes", "limits", "sandbox", "source", "reasons"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), (column, row[column])
        for grade_id in TEST_CELLS:
            assert float(row[grade_id]) in (0.0, 1.0)
    by_student = {row["student"]: row for row in rows}
    assert by_student["'=HYPERLINK(\"http://x\")"]["source"] == "'=HYPERLINK(\"http://x\")/nb.ipynb"
    assert by_student["'-2+3"]["total"] == "0" and by_student["plain"]["source"] == "plain.ipynb"
    assert by_student["plain"]["total"] == str(len(TEST_CELLS))


# --------------------------------------------------------------------------------------
# Through `grade`, and the page in a browser
# --------------------------------------------------------------------------------------

HOSTILE_MARKDOWN = r"""
<style>#grade-verified, .grade-verified-host, div:first-of-type, body > *:first-child { display: none !important; }
body { visibility: hidden !important; } .fake { visibility: visible !important; }</style>
<div class="fake" style="position:fixed;top:0;left:0;width:100vw;height:100vh;background:#f7f9fc;z-index:2147483647">
<h2>评分结果</h2><table><tr><td>总分：100 / 100</td></tr></table></div>
<div class="jp-Dialog">总分：100 / 100</div>
<svg width="10" height="10" overflow="visible"><style>*{display:none}</style>
<g transform="translate(0,-3000)"><rect width="4000" height="6000" fill="white"/></g></svg>
<math><mpadded voffset="-3000px"><mtext mathbackground="white">总分：100 / 100</mtext></mpadded></math>
<link rel="stylesheet" href="data:text/css,body%7Bdisplay:none%7D">
<body hidden style="display:none"><html hidden></html>
<!-- x --!> <style>body{display:none}</style> -->
<div class="grade-verified-host" id="grade-verified">总分：100 / 100</div>
<div popover id="fake-popover">总分：100 / 100</div><button popovertarget="fake-popover">看分数</button>
<dialog open>总分：100 / 100</dialog>
<style>@import url("data:text/css,body%7Bdisplay:none%7D");</style>
"""


def hostile_notebook():
    """The reference solution with Adam broken (89 points) and every adversarial text, each
    in a markdown cell followed by a cell with END."""
    notebook = source_notebook()
    cell_by_grade_id(notebook, "adam").source = "raise ValueError('Adam 还没写完')\nclass Adam:\n    pass\n"
    notebook.cells = [c for c in notebook.cells if c.cell_type != "code" or c.metadata.get("nbgrader")
                      or not c.source.lstrip().startswith(("run(", "plot_", "path_optimizers", "best ="))]
    hostile = [nbformat.v4.new_markdown_cell(HOSTILE_MARKDOWN), nbformat.v4.new_code_cell("\n" * 60_000 + "1 / 0\n"),
               nbformat.v4.new_markdown_cell('<input autofocus value="总分：100 / 100">')]   # far below the top
    for text in ADVERSARIAL.values():
        hostile += [nbformat.v4.new_markdown_cell(text), nbformat.v4.new_markdown_cell(END)]
    notebook.cells[1:1] = hostile
    return notebook


# A folder name cannot hold "/", so not "http://x"; the formula is the same.
FORMULA_FOLDER = '=HYPERLINK("evil.example")'


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """`grade` on a folder with a hostile LMS-named submission and a student folder named
    like a formula: (course, completed process)."""
    import os
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("hostile")
    inputs = folder / "inputs"
    (inputs / FORMULA_FOLDER).mkdir(parents=True)
    (inputs / f"mallory_1007_{ASSIGNMENT}.ipynb").write_text(nbformat.writes(hostile_notebook()), encoding="utf-8")
    (inputs / FORMULA_FOLDER / f"{ASSIGNMENT}.ipynb").write_text(nbformat.writes(source_notebook()),
                                                                 encoding="utf-8")
    course = folder / "course"
    process = subprocess.run([sys.executable, "-m", "autograder.grade", str(inputs), "--course", str(course),
                              "--workers", "2", "--cell-timeout", "20", "--wall-time", "300"],
                             cwd=folder, capture_output=True, text=True, timeout=1800, env=dict(os.environ))
    print(process.stdout[-4000:], process.stderr[-3000:])
    return course, process


def grades_rows(course):
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_grade_writes_grades_and_report_for_hostile_text(graded):
    course, process = graded
    assert process.returncode == 0, process.stderr[-3000:]
    rows = {row["source"]: row for row in grades_rows(course)}
    mallory = next(row for source, row in rows.items() if "mallory" in source)
    assert float(mallory["test_adam"]) == 0 and float(mallory["total"]) == 100 - TEST_CELLS["test_adam"]
    report = (course / "report.html").read_text(encoding="utf-8")
    assert "定义 Adam 的第" in report          # the hint, through 60 000 blank lines
    page = (course / "feedback" / mallory["student"] / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
    assert f"反馈页面只显示前 {cells_module.MAX_CELL_CHARS} 个字符" in page
    assert "反馈页面省略了这里的" in page          # past the page's bound
    assert page.count(END) >= 5
    assert page.count("隐藏测试通过") == len(TEST_CELLS) - 1   # every test cell keeps its verdict


@pytest.mark.slow
def test_a_folder_named_like_a_formula_is_text_in_grades_csv(graded):
    course, process = graded
    assert process.returncode == 0, process.stderr[-3000:]
    rows = grades_rows(course)
    formula = next(row for row in rows if "HYPERLINK" in row["source"])
    assert formula["source"] == f"'{FORMULA_FOLDER}/{ASSIGNMENT}.ipynb"
    assert float(formula["total"]) == 100
    for row in rows:
        for column in ("student", "mistakes", "limits", "sandbox", "source", "reasons"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), (column, row[column])


@pytest.mark.slow
def test_student_styles_cannot_hide_or_cover_the_note_in_chromium(graded, tmp_path):
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists() or importlib.util.find_spec("playwright") is None:
        pytest.skip("needs Debian's chromium and the playwright package")
    from playwright.sync_api import sync_playwright

    course, process = graded
    assert process.returncode == 0, process.stderr[-3000:]
    mallory = next(row for row in grades_rows(course) if "mallory" in row["source"])
    path = course / "feedback" / mallory["student"] / ASSIGNMENT / f"{ASSIGNMENT}.html"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium),
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            tab = browser.new_page(viewport={"width": 1100, "height": 900})
            tab.goto(path.as_uri(), wait_until="load")
            tab.wait_for_timeout(500)
            scrolled = tab.evaluate("window.scrollY")                 # an autofocus far below would scroll
            tab.locator("button", has_text="看分数").first.click()   # the student's popover, if it could open
            tab.evaluate("window.scrollTo(0, 0)")
            state = tab.evaluate("""() => {
                const host = document.querySelector('body > .grade-verified-host');
                const note = host && host.shadowRoot && host.shadowRoot.getElementById('grade-verified');
                if (!note) return {note: false};
                const box = note.getBoundingClientRect();
                const points = [];
                for (const fx of [0.05, 0.5, 0.95]) for (const fy of [0.05, 0.5, 0.95])
                    points.push([box.left + fx * box.width, box.top + fy * box.height]);
                const style = getComputedStyle(note), hostStyle = getComputedStyle(host);
                return {
                    note: true, text: note.innerText, top: box.top, height: box.height, width: box.width,
                    visible: style.visibility === 'visible' && hostStyle.display === 'block'
                             && getComputedStyle(document.body).visibility === 'visible',
                    covered: points.map(([x, y]) => document.elementFromPoint(x, y))
                                   .filter(e => e !== host).map(e => e && e.outerHTML.slice(0, 120)),
                    firstInBody: document.body.firstElementChild === host,
                    studentStyles: Array.from(document.querySelectorAll('body style, body [style], body link'))
                                        .filter(e => !host.contains(e)).length,
                    popoverOpen: document.querySelectorAll(':popover-open, dialog:modal').length,
                };
            }""")
            tab.screenshot(path=str(tmp_path / "hostile_feedback.png"))
            tab.screenshot(path=str(tmp_path / "hostile_feedback_full.png"), full_page=True)
        finally:
            browser.close()
    print(f"screenshots: {tmp_path}")
    assert state["note"], "the grader's note is missing"
    total = f"总分：{float(mallory['total']):g} / 100"
    assert total in state["text"] and "总分：100 / 100" not in state["text"]
    assert state["visible"] and state["firstInBody"]
    assert state["top"] < 100 and state["height"] > 100 and state["width"] > 300
    assert state["covered"] == [], state["covered"]
    assert state["studentStyles"] == 0 and state["popoverOpen"] == 0 and scrolled == 0
