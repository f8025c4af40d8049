"""autograder.feedback_page.offline.make_offline: feedback pages that need no network.

Fast tests run make_offline on small pages. The slow tests grade the reference solution
with the real nbgrader pipeline, make its feedback page offline and check it as text and
in headless Chromium (Debian's chromium driven by the pinned playwright package; no
browser is downloaded): no request leaves the page, every formula is MathML, every image
is embedded and loads. The Chromium test saves results/feedback/feedback_page.png.
"""
import base64
import importlib.util
import io
import re
from pathlib import Path

import pytest

from autograder.feedback_page.offline import _make_offline, make_offline

REPO = Path(__file__).resolve().parents[1]
SOURCE_NOTEBOOK = REPO / "source" / "mlp_optimizers" / "mlp_optimizers.ipynb"
RESULTS = REPO / "results" / "feedback"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def page(body, head=""):
    return (f"<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\"/>\n<title>t</title>\n{head}</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")


def markdown(inner):
    return f'<div class="text_cell_render border-box-sizing rendered_html">{inner}</div>'


def png_bytes(color="red", size=(3, 2)):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def soup(html):
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser")


def visible_text(html):
    """Text of the page without code, pre, scripts, styles and TeX annotations."""
    tree = soup(html)
    for tag in tree.find_all(["pre", "code", "script", "style", "annotation", "title"]):
        tag.decompose()
    return tree.get_text()


# --------------------------------------------------------------------------------------
# Formulas
# --------------------------------------------------------------------------------------

def test_inline_and_display_formulas_become_mathml(tmp_path):
    html = page(markdown(
        r"<p>预测 $\hat{y}_i = \frac{e^{x_i}}{\sum_j e^{x_j}}$ 与 \(\sqrt{x} \odot \partial y\)。</p>"
        "<p>$$\n\\left(\\frac{\\partial L}{\\partial \\text{out}}\\right)^{2}\n$$</p>"
        r"<p>\[ W^{[1]}_{ij} \]</p>"))
    out = make_offline(html, tmp_path)
    tree = soup(out)
    maths = tree.find_all("math")
    assert [m.get("display") for m in maths] == ["inline", "inline", "block", "block"]
    assert [m.annotation.get_text() for m in maths] == [
        r"\hat{y}_i = \frac{e^{x_i}}{\sum_j e^{x_j}}", r"\sqrt{x} \odot \partial y",
        r"\left(\frac{\partial L}{\partial \text{out}}\right)^{2}", r"W^{[1]}_{ij}"]
    assert maths[0].find("mfrac") and maths[0].find("mover")      # \frac, \hat
    assert maths[1].find("msqrt") and "⊙" in maths[1].get_text()  # \sqrt, \odot
    assert maths[2].find("mtext").get_text() == "out"
    assert maths[3].find("msubsup")
    assert "$" not in visible_text(out) and "\\" not in visible_text(out)


def test_aligned_and_cases_become_tables(tmp_path):
    html = page(markdown(
        "<p>$$\n\\begin{aligned}\nu^{t+1} &amp;= \\rho\\, u^t + (1-\\rho)\\, g^2\\\\\n"
        "\\theta^{t+1} &amp;= \\theta^t - \\frac{\\alpha}{\\sqrt{u^{t+1}}+\\epsilon}\n\\end{aligned}\n$$</p>"
        "<p>$$y = \\left\\{\\begin{matrix}x &amp; (x&gt;0)\\\\\n\\alpha x &amp; (x \\leq 0)\\end{matrix}\\right.$$</p>"
        "<p>$\\mathrm{onehot}(1)=\\begin{bmatrix}0 &amp; 1\\end{bmatrix}^{\\top}$</p>"))
    out = _make_offline(html, tmp_path)
    assert not out.unconverted
    aligned, cases, matrix = soup(out.html).find_all("math")
    rows = aligned.find_all("mtr")
    assert len(rows) == 2 and [td["columnalign"] for td in rows[0].find_all("mtd")] == ["right", "left"]
    assert "&" not in aligned.semantics.contents[0].get_text()   # no stray alignment marks
    assert len(cases.find_all("mtr")) == 2 and "{" in cases.semantics.contents[0].get_text()
    # the matrix with its brackets is the base of ^T (latex2mathml alone gives <msup> 4 children)
    msup = matrix.find("msup")
    assert len(msup.find_all(recursive=False)) == 2 and msup.find("mtable")
    assert matrix.find("mi", string="onehot")                  # \mathrm: one upright identifier


def test_environment_without_dollars_is_math(tmp_path):
    html = page(markdown("<p>\\begin{aligned}a &amp;= b\\\\ c &amp;= d\\end{aligned}</p>"))
    maths = soup(make_offline(html, tmp_path)).find_all("math")
    assert len(maths) == 1 and maths[0]["display"] == "block" and len(maths[0].find_all("mtr")) == 2


def test_sums_take_limits_below_in_display_style(tmp_path):
    html = page(markdown(r"<p>$$\sigma = \sqrt{\frac{1}{t} \sum_{i=0}^{t} g_i}$$</p>"))
    math = soup(make_offline(html, tmp_path)).math
    assert math.find("munderover") and not math.find("msubsup")


def test_code_pre_and_escaped_dollars_are_left_alone(tmp_path):
    html = page(markdown("<p>价格 \\$5 和 \\$6，<code>cost = $x$</code></p>")
                + '<div class="output_area"><pre>loss $a$ = 1</pre></div>'
                + markdown("<p>only one $ sign</p>"))
    out = make_offline(html, tmp_path)
    tree = soup(out)
    assert not tree.find("math")
    assert "价格 $5 和 $6" in tree.get_text()
    assert tree.code.get_text() == "cost = $x$" and tree.pre.get_text() == "loss $a$ = 1"
    assert "only one $ sign" in tree.get_text()


def test_unknown_macro_stays_visible_as_tex(tmp_path):
    out = _make_offline(page(markdown(r"<p>见 $\foo{x} + 1$ 与 $x$</p>")), tmp_path)
    assert [tex for tex, _ in out.unconverted] == [r"\foo{x} + 1"]
    tree = soup(out.html)
    assert tree.find("code", class_="tex-unconverted").get_text() == r"$\foo{x} + 1$"
    assert len(tree.find_all("math")) == 1


def test_every_formula_of_the_course_notebook_converts(tmp_path):
    """The notebook rendered by nbconvert (as nbgrader does): all formulas convert."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(notebook)
    out = _make_offline(html, SOURCE_NOTEBOOK.parent)
    assert out.unconverted == []
    assert len(out.formulas) == count_notebook_formulas() > 100
    assert len(soup(out.html).find_all("math")) == len(out.formulas)
    assert not re.search(r"\$[^$\n]+\$", visible_text(out.html))


def count_notebook_formulas(path=SOURCE_NOTEBOOK):
    """$$..$$ and $..$ formulas of the markdown cells (code spans and fences left out)."""
    import nbformat

    count = 0
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"```.*?```", "", cell.source, flags=re.S)
        text = re.sub(r"`[^`\n]*`", "", text).replace("\\$", "")
        display = re.findall(r"\$\$.+?\$\$", text, flags=re.S)
        text = re.sub(r"\$\$.+?\$\$", "", text, flags=re.S)
        count += len(display) + len(re.findall(r"\$[^$]+\$", text))
    return count


# --------------------------------------------------------------------------------------
# Images, remote resources, paths
# --------------------------------------------------------------------------------------

def test_images_of_the_assignment_are_embedded(tmp_path):
    (tmp_path / "images").mkdir()
    data = png_bytes()
    (tmp_path / "images" / "fig 1.png").write_bytes(data)
    html = page(markdown('<p><img alt="图1" src="images/fig%201.png"/></p>'
                         f'<img src="{tmp_path}/images/fig 1.png"/>'
                         '<img src="data:image/png;base64,AAAA"/>'))
    out = make_offline(html, tmp_path)
    srcs = [img["src"] for img in soup(out).find_all("img")]
    assert srcs[:2] == ["data:image/png;base64," + base64.b64encode(data).decode()] * 2
    assert srcs[2] == "data:image/png;base64,AAAA"
    assert str(tmp_path) not in out


def test_images_outside_the_assignment_or_remote_are_not_embedded(tmp_path):
    assignment = tmp_path / "release" / "mlp_optimizers"
    assignment.mkdir(parents=True)
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not for students")
    (assignment / "link.png").symlink_to(secret)
    (assignment / "notes.txt").write_text("text, not an image")
    html = page(markdown(
        '<img alt="a" src="../../secret.png"/><img alt="b" src="link.png"/>'
        f'<img alt="c" src="file://{secret}"/><img alt="d" src="https://example.org/x.png"/>'
        '<img alt="e" src="notes.txt"/><img alt="f" src="missing.png" srcset="https://example.org/2x.png 2x"/>'))
    out = make_offline(html, assignment)
    imgs = soup(out).find_all("img")
    assert [img["alt"] for img in imgs] == list("abcdef")
    assert all(not img.get("src") and not img.get("srcset") for img in imgs)
    assert base64.b64encode(secret.read_bytes()).decode() not in out
    assert "example.org" not in out


def test_remote_scripts_styles_and_frames_are_removed(tmp_path):
    head = ('<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full"></script>\n'
            '<script type="text/x-mathjax-config">MathJax.Hub.Config({});</script>\n'
            '<script src="https://cdn.example.org/require.min.js"></script>\n'
            '<link rel="stylesheet" href="https://fonts.example.org/css?family=Noto"/>\n'
            '<link rel="preconnect" href="https://fonts.example.org"/>\n'
            "<style>@import url('https://example.org/a.css');\n"
            "@font-face{font-family:G;src:url(../fonts/g.woff2) format('woff2')}\n"
            "@font-face{font-family:D;src:url(data:font/woff2;base64,AAAA)}\n"
            ".x{background:url(https://example.org/bg.png) no-repeat}</style>\n"
            '<meta http-equiv="refresh" content="0; url=https://example.org/"/>\n')
    body = ('<iframe src="https://example.org/frame"></iframe>'
            '<video poster="https://example.org/p.png"><source src="https://example.org/v.mp4"/></video>'
            '<div style="background-image: url(\'https://example.org/x.png\')">x</div>'
            '<svg><image href="https://example.org/i.png"/></svg>'
            '<script>fetch("https://example.org/track")</script>'
            '<script type="application/vnd.jupyter.widget-state+json">{"state": {}}</script>'
            '<p onclick="fetch(1)"><a href="https://numpy.org/doc/">numpy 文档</a></p>')
    out = make_offline(page(body, head), tmp_path)
    tree = soup(out)
    # the only remaining mention of another host is the link a student can follow
    assert re.findall(r"https?://[^\s\"')<>]+", out) == ["https://numpy.org/doc/"]
    # the page is static: no script stays, not even an inert one (its text is the student's)
    assert not tree.find_all("script")
    assert not tree.find_all(["link", "iframe"]) and not tree.find("p").get("onclick")
    assert "../fonts" not in out and "data:font/woff2;base64,AAAA" in out
    assert "MathJax" not in out
    csp = tree.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert "default-src 'none'" in csp and "img-src data:" in csp


def test_absolute_paths_of_the_machine_are_shortened(tmp_path):
    assignment = tmp_path / "autograded" / "alice" / "mlp_optimizers"
    assignment.mkdir(parents=True)
    traceback = (
        f'File <span class="ansi-green-fg">{assignment}/utils.py:12</span>, in load()\n'
        "File /work/main/.venv/lib/python3.11/site-packages/numpy/_core/fromnumeric.py:59, in _wrapfunc\n"
        "File /usr/lib/python3.11/json/decoder.py:337, in decode\n"
        "FileNotFoundError: /home/grader/course/data/mnist/train.npz，找不到\n"
        "File /tmp/ipykernel_4242/3141592.py:3")
    html = page(f'<div class="output_area"><pre>{traceback}</pre></div>'
                + markdown(f'<p><a href="file://{assignment}/mlp_optimizers.ipynb">笔记本</a> 1/2 和 km/h</p>'),
                head="")
    html = html.replace("<title>t</title>", f"<title>{assignment}/mlp_optimizers.ipynb</title>")
    out = make_offline(html, assignment)
    for machine_path in (str(tmp_path), "/work/", "/home/", "/usr/lib", "/tmp/", "file://"):
        assert machine_path not in out
    text = soup(out).get_text()
    assert "utils.py:12" in text
    assert ".../site-packages/numpy/_core/fromnumeric.py:59" in text
    assert ".../python3.11/json/decoder.py:337" in text
    assert "train.npz，找不到" in text and "3141592.py:3" in text
    assert soup(out).title.get_text() == "mlp_optimizers.ipynb"
    assert "1/2 和 km/h" in text


def test_text_and_the_verified_score_note_are_kept(tmp_path):
    from autograder.feedback_page.note import feedback_note
    from autograder.result import SubmissionResult

    result = SubmissionResult("alice", scores={"test_leaky_relu": 10.0}, messages={"test_adam": "没有找到 Adam"})
    html = page(feedback_note(result) + markdown("<p>纯文本，没有公式。</p>"))
    out = make_offline(html, tmp_path)
    assert "纯文本，没有公式。" in out
    assert re.search(r"<body>\s*<!-- grade:verified -->.*总分：10 / 100.*没有找到 Adam.*<!-- /grade:verified -->"
                     r"\s*<div class=\"student-content\">.*纯文本", out, re.S)
    assert soup(out).find("template", shadowrootmode="open").find("style")   # the note keeps its style
    again = make_offline(out, tmp_path)   # running twice changes nothing more
    assert again.count("Content-Security-Policy") == 1 and again.count('id="offline-math"') == 1


# --------------------------------------------------------------------------------------
# The reference solution's feedback page, end to end
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference_feedback(tmp_path_factory):
    """(course, the feedback page of the reference solution as nbgrader writes it)."""
    from autograder.examples import source_notebook
    from autograder.nbgrader_adapter import Course

    course = Course.scratch(tmp_path_factory.mktemp("feedback") / "course")
    course.generate_release()
    course.add_submission("alice", source_notebook())
    # The reference solution is trusted: plain `nbgrader autograde` runs it.
    course.nbgrader("autograde", "mlp_optimizers", "--force", "--student=alice")
    course.generate_feedback()
    path = course.root / "feedback" / "alice" / "mlp_optimizers" / "mlp_optimizers.html"
    return course, path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def offline_page(reference_feedback):
    course, html = reference_feedback
    outcome = _make_offline(html, course.root / "release" / "mlp_optimizers")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "feedback_page.html"
    path.write_text(outcome.html, encoding="utf-8")
    return course, html, outcome, path


@pytest.mark.slow
def test_reference_feedback_page_is_self_contained(offline_page):
    course, original, outcome, _ = offline_page
    assert "cdnjs.cloudflare.com" in original            # what nbgrader gives
    html = outcome.html
    assert outcome.unconverted == []
    assert len(outcome.formulas) == count_notebook_formulas()
    figures = sorted(p.name for p in (REPO / "source" / "mlp_optimizers" / "images").glob("fig*.png"))
    assert sorted(Path(src).name for src in outcome.embedded) == figures
    tree = soup(html)
    assert not tree.find_all(["script", "link", "iframe"])
    for tag in tree.find_all(src=True):
        assert tag["src"].startswith("data:"), tag["src"][:80]
    assert not re.search(r"url\((?!\s*['\"]?data:)", html)
    assert str(course.root) not in html and "/tmp/" not in html
    assert not re.search(r"\$[^$\n]+\$", visible_text(html))
    print(f"\nfeedback page: {len(original.encode()) / 1e3:.0f} kB -> {len(html.encode()) / 1e3:.0f} kB, "
          f"{len(outcome.formulas)} formulas, {len(outcome.embedded)} figures embedded")


def _chromium_or_skip():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium; .ci/run installs it as root)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the playwright package is missing (pip install -r requirements.txt)")


@pytest.mark.slow
def test_reference_feedback_page_renders_offline_in_chromium(offline_page):
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    _, _, outcome, path = offline_page
    attempts, console_errors = [], []

    def only_local(route):
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            attempts.append(url)
            route.abort()

    def open_page(browser, bypass_csp):
        tab = browser.new_page(viewport={"width": 1100, "height": 900}, bypass_csp=bypass_csp)
        tab.route("**/*", only_local)
        tab.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        tab.on("requestfailed", lambda r: attempts.append(r.url))
        tab.goto(path.as_uri(), wait_until="load")
        tab.wait_for_load_state("networkidle")
        return tab

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # Without its Content-Security-Policy the page must not try to load anything
            # either: the CSP would hide such attempts from the route.
            open_page(browser, bypass_csp=True).close()
            tab = open_page(browser, bypass_csp=False)
            state = tab.evaluate("""() => {
                const clone = document.body.cloneNode(true);
                clone.querySelectorAll('pre, code, script, style, annotation').forEach(e => e.remove());
                const maths = Array.from(document.querySelectorAll('math'));
                return {
                    text: clone.textContent,
                    maths: maths.length,
                    mathml: maths.every(m => m instanceof MathMLElement),
                    empty: maths.filter(m => {
                        const r = m.getBoundingClientRect(); return !(r.width > 0 && r.height > 0);
                    }).map(m => m.textContent.slice(0, 80)),
                    merrors: document.querySelectorAll('merror').length,
                    mathjax: document.querySelectorAll('[class*="MathJax"], [class*="mjx-"]').length,
                    images: Array.from(document.images).map(i => ({
                        src: i.src.slice(0, 40), complete: i.complete, width: i.naturalWidth})),
                };
            }""")
            RESULTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(RESULTS / "feedback_page.png"), full_page=True)
        finally:
            browser.close()

    assert attempts == [], f"the page tried to load {attempts}"
    assert console_errors == []
    assert state["maths"] >= count_notebook_formulas() and state["maths"] == len(outcome.formulas)
    assert state["mathml"] and state["empty"] == [] and state["merrors"] == 0 and state["mathjax"] == 0
    assert "Math input error" not in state["text"] and "MathJax" not in state["text"]
    assert not re.search(r"\$[^$\n]+\$", state["text"]), re.search(r"\$[^$\n]+\$", state["text"]).group(0)
    assert not re.search(r"\\(frac|hat|sqrt|partial|odot|begin|end|left|right|text|mathrm)\b", state["text"])
    assert len(state["images"]) >= 9
    for image in state["images"]:
        assert image["src"].startswith("data:image/") and image["complete"] and image["width"] > 0, image
