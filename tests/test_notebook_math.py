"""Every LaTeX formula in the course notebook's markdown cells must render in JupyterLab 4.

Math is found the way JupyterLab 4 finds it (a port of ``removeMath`` from
``@jupyterlab/rendermime``'s ``latex.ts``, which protects math from the markdown
parser), and every formula is compiled by the real MathJax 3 TeX input jax
(``tests/mathjax_check.mjs``, npm package ``mathjax-full``, the version JupyterLab
4.6.6 bundles).  The npm package is installed on first use into the gitignored
``.cache/node``; the MathJax tests are skipped only when node/npm are missing or
npm cannot reach the registry.

Pure-Python checks guard against the broken patterns of the original assignment
(``\\left{``, rows not separated by ``\\\\``, ``^{t+1}{corrected}``), unbalanced
delimiters and missing images.
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "source" / "mlp_optimizers" / "mlp_optimizers.ipynb"
IMAGES = NOTEBOOK.parent / "images"
CHECKER = Path(__file__).resolve().parent / "mathjax_check.mjs"

MATHJAX_VERSION = "3.2.2"  # = the mathjax-full bundled by jupyterlab 4.6.6 (pyproject.toml)
NODE_PREFIX = REPO / ".cache" / "node"
NODE_MODULES = NODE_PREFIX / "node_modules"

# npm error codes/messages that mean "no network", as opposed to a real failure.
_NETWORK_ERRORS = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH"
    r"|network|proxy|socket hang up|request to https?://\S+ failed",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------
# Finding math the way JupyterLab does
# --------------------------------------------------------------------------

def markdown_cells(path=NOTEBOOK):
    """[(cell index, source)] of the markdown cells; the index counts all cells."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            src = cell["source"]
            out.append((i, src if isinstance(src, str) else "".join(src)))
    return out


# Port of @jupyterlab/rendermime latex.ts (JupyterLab 4.6.6, checked against the
# bundled jlab_core chunk in .venv/share/jupyter/lab/static).
_MATHSPLIT = re.compile(
    r"(\$\$?|\\(?:begin|end)\{[a-z]*\*?\}|\\[{}$]|[{}]|(?:\n\s*)+|@@\d+@@|\\\\[()[\]])",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^(?P<fence>`{3,}|(~T){3,})[^`\n]*\n([\s\S]*?)^(?P=fence)`*$", re.MULTILINE)
_CODE_SPAN = re.compile(r"(^|[^\\])(`+)([^\n]*?[^`\n])\2(?!`)", re.MULTILINE)


def remove_math(text):
    """JupyterLab's removeMath.

    Returns (math blocks with their delimiters, the text left for the markdown
    parser *before* code-span dollars are restored, i.e. with ``~D`` for them).
    """
    has_code = "`" in text or "~~~" in text
    if has_code:
        text = text.replace("~", "~T")
        text = _FENCE.sub(lambda m: m.group(0).replace("$", "~D"), text)
        text = _CODE_SPAN.sub(lambda m: m.group(0).replace("$", "~D"), text)

        def de_tilde(s):
            return re.sub(r"~([TD])", lambda m: "~" if m.group(1) == "T" else "$", s)
    else:
        def de_tilde(s):
            return s

    math = []
    blocks = _MATHSPLIT.split(text.replace("\r\n", "\n").replace("\r", "\n"))

    def process_math(i, j):
        block = "".join(blocks[i:j + 1])
        for k in range(i + 1, j + 1):
            blocks[k] = ""
        blocks[i] = f"@@{len(math)}@@"
        math.append(de_tilde(block))

    start = end = last = None
    braces = 0
    i = 1
    while i < len(blocks):
        block = blocks[i]
        if block.startswith("@"):
            # literal @@N@@ in the source: stored and restored verbatim, not math
            blocks[i] = f"@@{len(math)}@@"
            math.append(block)
        elif start is not None:
            if block == end:
                if braces:
                    last = i
                else:
                    process_math(start, i)
                    start = end = last = None
            elif re.search(r"\n.*\n", block):  # a blank line ends the math
                if last is not None:
                    i = last
                    process_math(start, i)
                start = end = last = None
                braces = 0
            elif block == "{":
                braces += 1
            elif block == "}" and braces:
                braces -= 1
        else:
            if block in ("$", "$$"):
                start, end, braces = i, block, 0
            elif block in ("\\\\(", "\\\\["):
                start, end, braces = i, "\\\\)" if block.endswith("(") else "\\\\]", 0
            elif block[1:6] == "begin":
                start, end, braces = i, "\\end" + block[6:], 0
        i += 2
    if start is not None and last is not None:
        process_math(start, last)
    return [m for m in math if not re.fullmatch(r"@@\d+@@", m)], "".join(blocks)


def split_delimiters(block):
    """(TeX given to MathJax, display?) for one math block found by remove_math."""
    if block.startswith("$$") and block.endswith("$$") and len(block) >= 4:
        return block[2:-2], True
    if block.startswith("$") and block.endswith("$") and len(block) >= 2:
        return block[1:-1], False
    # JupyterLab's replaceMath turns \\( \\) and \\[ \\] into \( \) and \[ \]
    if block.startswith("\\\\(") and block.endswith("\\\\)"):
        return block[3:-3], False
    if block.startswith("\\\\[") and block.endswith("\\\\]"):
        return block[3:-3], True
    if block.startswith("\\begin"):  # processEnvironments: the whole environment is TeX
        return block, True
    raise AssertionError(f"unexpected math block {block!r}")


def extract_formulas(cells):
    """[{'cell', 'block', 'tex', 'display'}] for [(cell index, markdown source)]."""
    out = []
    for idx, src in cells:
        blocks, _ = remove_math(src)
        for block in blocks:
            tex, display = split_delimiters(block)
            out.append({"cell": idx, "block": block, "tex": tex, "display": display})
    return out


def strip_code(text):
    """Markdown text with fenced code blocks and code spans blanked out."""
    text = re.sub(r"^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[`~]*$", "", text, flags=re.MULTILINE)
    return re.sub(r"(`+)[^\n]*?[^`\n]?\1", "", text)


# --------------------------------------------------------------------------
# MathJax (node)
# --------------------------------------------------------------------------

def _installed_version():
    pkg = NODE_MODULES / "mathjax-full" / "package.json"
    if not pkg.exists():
        return None
    return json.loads(pkg.read_text(encoding="utf-8")).get("version")


@pytest.fixture(scope="session")
def mathjax():
    """A function: [{'tex', 'display'}] -> [{'ok', 'error', 'errorId'}] (same order)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm must be on PATH to check formulas with MathJax")
    if _installed_version() != MATHJAX_VERSION:
        NODE_PREFIX.mkdir(parents=True, exist_ok=True)
        cmd = [npm, "install", "--prefix", str(NODE_PREFIX), "--no-audit", "--no-fund",
               "--save-exact", f"mathjax-full@{MATHJAX_VERSION}"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm install mathjax-full@{MATHJAX_VERSION} timed out (no network?)")
        if proc.returncode != 0:
            log = proc.stdout + proc.stderr
            if _NETWORK_ERRORS.search(log):
                first = next(line for line in log.splitlines() if _NETWORK_ERRORS.search(line))
                pytest.skip(f"cannot install mathjax-full@{MATHJAX_VERSION} with npm (no network?): {first.strip()}")
            pytest.fail(f"{' '.join(cmd)} failed:\n{log[-4000:]}")
        assert _installed_version() == MATHJAX_VERSION, "npm installed an unexpected mathjax-full"

    def check(items):
        payload = [{"id": k, "tex": it["tex"], "display": bool(it["display"])} for k, it in enumerate(items)]
        proc = subprocess.run([node, str(CHECKER), str(NODE_MODULES)], input=json.dumps(payload),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"mathjax_check.mjs failed:\n{proc.stderr}"
        out = json.loads(proc.stdout)
        assert out["version"] == MATHJAX_VERSION
        assert "noerrors" not in out["packages"] and "noundefined" not in out["packages"]
        results = sorted(out["results"], key=lambda r: r["id"])
        assert [r["id"] for r in results] == list(range(len(items)))
        return results

    return check


def _report(formulas, results):
    return "\n".join(
        f"cell {f['cell']}: {f['block']!r}\n    -> {r['error']} [{r['errorId']}]"
        for f, r in zip(formulas, results) if not r["ok"]
    )


def test_every_notebook_formula_compiles_with_mathjax(mathjax):
    formulas = extract_formulas(markdown_cells())
    assert len(formulas) >= 50, f"only {len(formulas)} formulas found: is the extractor broken?"
    assert any(f["display"] for f in formulas) and any(not f["display"] for f in formulas)
    results = mathjax(formulas)
    failures = _report(formulas, results)
    assert not failures, f"TeX errors in {NOTEBOOK.name}:\n{failures}"


# Negative control: the checker must report broken TeX and accept good TeX.
BROKEN = [
    (r"\left{x\right.", "MissingOrUnrecognizedDelim"),
    (r"\frac{a}{b", "MissingCloseBrace"),
    (r"\undefinedmacro x", "UndefinedControlSequence"),
    (r"a & b", "Misplaced"),
    (r"\begin{aligned} a &= b \end{matrix}", None),
    (r"x^{t+1}_", None),
    (r"\begin{bmatrix}1 & 0\end{bmatrix}}", None),
]
GOOD = [
    r"\left\{\begin{matrix} x & (x>0)\\ \alpha x & (x \leq 0) \end{matrix}\right.",
    r"\frac{a}{b}",
    r"\begin{aligned} u^{t+1}_{\mathrm{corrected}} &= \frac{u^{t+1}}{1-\rho_2^{\,t}} \\ v &= 0 \end{aligned}",
    r"\mathrm{softmax}(x)_i=\frac{e^{x_i}}{\sum_{j=1}^{C}{e^{x_j}}}",
    r"\begin{bmatrix}1 & 0 & 0\end{bmatrix}^{\top},\qquad \hat{Y} \odot \nabla J",
    r"\begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}",  # 'cases' env (ams)
    r"\boldsymbol{x} \cancel{y} \ce{H2O}",  # packages JupyterLab loads
]


def test_checker_reports_broken_and_accepts_good_formulas(mathjax):
    items = [{"tex": t, "display": True} for t, _ in BROKEN] + [{"tex": t, "display": d} for t in GOOD for d in (True, False)]
    results = mathjax(items)
    for (tex, error_id), r in zip(BROKEN, results):
        assert not r["ok"], f"broken formula {tex!r} was not reported"
        assert r["error"]
        if error_id:
            assert r["errorId"] == error_id, (tex, r)
    for item, r in zip(items[len(BROKEN):], results[len(BROKEN):]):
        assert r["ok"], f"good formula {item['tex']!r} was rejected: {r['error']}"


def test_end_to_end_report_names_cell_and_formula(mathjax):
    cells = [
        (3, "ok $a_1$ and `$not math$` and \\$5, then\n\n$$\n\\frac{a}{b\n$$\n"),
        (7, "```\n$$ \\nope $$\n```\n$$\\sum_i x_i$$ and $y = \\left{x\\right.$"),
    ]
    formulas = extract_formulas(cells)
    assert [(f["cell"], f["tex"]) for f in formulas] == [
        (3, "a_1"), (3, "\n\\frac{a}{b\n"), (7, "\\sum_i x_i"), (7, "y = \\left{x\\right."),
    ]
    report = _report(formulas, mathjax(formulas))
    assert "cell 3: '$$\\n\\\\frac{a}{b\\n$$'" in report and "Missing close brace" in report
    assert "cell 7: '$y = \\\\left{x\\\\right.$'" in report and "unrecognized delimiter" in report
    assert "a_1" not in report and "sum_i" not in report


# --------------------------------------------------------------------------
# The extractor itself
# --------------------------------------------------------------------------

@pytest.mark.parametrize("text, blocks", [
    ("$a$ and $$b$$", ["$a$", "$$b$$"]),
    ("price \\$5 and \\$6, $x$", ["$x$"]),                   # \$ is not a delimiter
    ("`$a$` and ``$b$`` then $c$", ["$c$"]),                  # code spans
    ("```python\nx = '$a$'\n```\n$d$", ["$d$"]),              # fenced code
    ("~~~\n$a$\n~~~\n$e$", ["$e$"]),
    ("$$\n\\begin{aligned}\na &= b\\\\\nc\n\\end{aligned}\n$$", ["$$\n\\begin{aligned}\na &= b\\\\\nc\n\\end{aligned}\n$$"]),
    ("$a\n\nb$", []),                                         # a blank line ends math
    ("$\\{x$ and $\\}$", ["$\\{x$", "$\\}$"]),
    ("\\begin{align}x\\end{align}", ["\\begin{align}x\\end{align}"]),
    ("$a^{b$c}$", ["$a^{b$c}$"]),                             # braces are balanced
    # ... so an unbalanced '{' (e.g. \left{) makes the rest of the paragraph
    # invisible to the math protection, exactly as in JupyterLab
    ("$\\left{x$ and $$b$$", ["$\\left{x$"]),
])
def test_remove_math_matches_jupyterlab(text, blocks):
    assert remove_math(text)[0] == blocks


# --------------------------------------------------------------------------
# Pure-Python checks of the notebook source
# --------------------------------------------------------------------------

CELLS = markdown_cells()


def _fail(problems, what):
    assert not problems, what + ":\n" + "\n".join(problems)


def test_no_left_brace_without_backslash():
    pattern = re.compile(r"\\(left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr)\s*[{}]")
    _fail([f"cell {i}: {m.group(0)!r} (write \\{m.group(1)}\\{{ or \\{m.group(1)}\\}})"
           for i, src in CELLS for m in pattern.finditer(src)],
          "\\left{ / \\right} (the brace delimiter needs a backslash)")


def test_no_superscript_followed_by_lost_subscript():
    # '^{t+1}{corrected}' renders 'corrected' on the baseline: the '_' was lost.
    pattern = re.compile(r"\^\{[^{}]*\}\{\s*(?:\\(?:mathrm|text|rm|mathit)\s*\{)?\s*[A-Za-z]{3,}")
    problems = [f"cell {i}: {m.group(0)!r}" for i, src in CELLS for m in pattern.finditer(src)]
    problems += [f"cell {i}: contains '^{{t+1}}{{corrected}}'" for i, src in CELLS if "^{t+1}{corrected}" in src]
    _fail(problems, "superscript directly followed by a {word} group (missing '_')")


_MULTILINE_ENVS = ("aligned", "align", "align*", "gathered", "gather", "gather*", "split", "array",
                   "matrix", "bmatrix", "pmatrix", "vmatrix", "Vmatrix", "Bmatrix", "smallmatrix",
                   "cases", "alignat", "alignedat", "eqnarray", "multline")


def _display_blocks():
    for i, src in CELLS:
        for block in remove_math(src)[0]:
            if not block.startswith("$") or block.startswith("$$"):
                yield i, block


def test_rows_of_display_math_end_with_double_backslash():
    problems = []
    env_re = re.compile(r"\\begin\{(" + "|".join(re.escape(e) for e in _MULTILINE_ENVS)
                        + r")\}(?:\{[^}]*\})?(.*?)\\end\{\1\}", re.S)
    for i, block in _display_blocks():
        for line in block.split("\n"):
            stripped = re.sub(r"(?<!\\)%.*$", "", line).rstrip()  # drop a TeX comment
            trailing = len(stripped) - len(stripped.rstrip("\\"))
            if trailing % 2 == 1:
                problems.append(f"cell {i}: line ends with a single backslash: {line!r}")
        for m in env_re.finditer(block):
            rows = [r.strip() for r in m.group(2).split("\n") if r.strip()]
            for row in rows[:-1]:
                if not row.endswith("\\\\"):
                    problems.append(f"cell {i}: row of {m.group(1)} not ended by \\\\: {row!r}")
    _fail(problems, "rows of multi-line environments must be separated by \\\\")


def test_math_delimiters_are_balanced():
    problems = []
    for i, src in CELLS:
        code_free = strip_code(src)
        n = len(re.findall(r"(?<!\\)\$\$", code_free))
        if n % 2:
            problems.append(f"cell {i}: odd number ({n}) of $$")
        _, left_over = remove_math(src)
        # every unescaped $ outside code must have been taken as a math delimiter;
        # one that is left goes to the markdown parser (and marked eats its backslashes)
        for m in re.finditer(r"(?<!\\)\$+", left_over):
            ctx = left_over[max(0, m.start() - 30): m.end() + 30].replace("\n", "\\n")
            problems.append(f"cell {i}: unmatched {m.group(0)!r} near {ctx!r}")
    _fail(problems, "unbalanced math delimiters")


def test_referenced_images_exist():
    problems = []
    refs = 0
    img_re = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|<img\s[^>]*src=[\"']([^\"']+)[\"']")
    for i, src in CELLS:
        for m in img_re.finditer(strip_code(src)):
            target = m.group(1) or m.group(2)
            if re.match(r"[a-z]+:", target):  # http:, data:, attachment: are not files
                continue
            refs += 1
            path = (NOTEBOOK.parent / target).resolve()
            if not path.is_file():
                problems.append(f"cell {i}: {target} does not exist")
            elif path.parent != IMAGES.resolve():
                problems.append(f"cell {i}: {target} is not in {IMAGES.relative_to(REPO)}")
    assert refs > 0, "no image references found: is the regex broken?"
    _fail(problems, "missing images")
