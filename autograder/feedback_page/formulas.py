"""Formulas of a feedback page: TeX found with MathJax 2's delimiters, converted to MathML.

    replace_math(soup, root, nonce, budget) -> [MathML]   each formula under root replaced
                                                          by a placeholder @@math-<nonce>-<i>@@
    put_math(text, nonce, mathml) -> text                 the placeholders replaced by MathML

Every formula outside ``pre``/``code``/``script``/``style``/``textarea`` (the elements
MathJax skips) is found with MathJax 2's delimiters (``$...$``, ``$$...$$``, ``\\(...\\)``,
``\\[...\\]``, ``\\begin{env}...\\end{env}``; ``processEscapes`` and
``processEnvironments`` on, as in nbconvert's template) and converted to MathML with the
pure-Python ``latex2mathml``. Chromium, Firefox and Safari render MathML natively, so no
script and no web font is needed, and the page grows by a few hundred bytes per formula
(55 kB for the 162 formulas of the course notebook) instead of the 1-2 MB that a bundled
MathJax with its fonts would add to every page. A few TeX constructs that ``latex2mathml``
handles badly are rewritten before conversion (``aligned`` becomes ``align*``,
environments are braced so that ``\\begin{bmatrix}..\\end{bmatrix}^T`` is one base), and
each result is checked (well-formed XML, the right number of children for
``msub``/``mfrac``/..., no unknown ``\\macro`` left as an identifier). A formula that fails
is left as TeX in a ``<code class="tex-unconverted">`` element, so it is never silently
wrong; there are none in the course notebook. The TeX is kept as an ``application/x-tex``
annotation of each ``<math>`` element.

The text is the student's, so the work is bounded per page (``MathBudget``): a formula is
at most ``MAX_FORMULA_CHARS`` long (a closing delimiter is looked for that far and no
further), the splitter reads at most ``MAX_SCAN_CHARS`` characters looking for closing
delimiters, and at most ``MAX_FORMULAS`` formulas and ``MAX_TEX_CHARS`` characters of TeX
are converted. Past a bound the rest of the text stays as it is (TeX source), so the time
is linear in the page's size whatever the text holds.
"""
from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, NavigableString
from bs4.element import Tag

from autograder.feedback_page.tree import replace_child
from latex2mathml.converter import convert as _latex2mathml

__all__ = ["MathBudget", "replace_math", "MATH_CSS"]

MAX_FORMULA_CHARS = 4000      # one formula, delimiters included (the course text's longest: 336)
MAX_SCAN_CHARS = 2_000_000    # read while looking for closing delimiters, per page
MAX_FORMULAS = 1000           # converted per page (the course text has 162)
MAX_TEX_CHARS = 200_000       # TeX converted per page (the course text has 7 kB)

# Math fonts that students' systems usually have (Chromium falls back to its default).
# Chromium lays out the content of <mtd> as blocks and ignores columnalign: the -webkit-
# alignments of blocks align the columns of aligned/cases as TeX does (Firefox and Safari
# follow columnalign themselves).
MATH_CSS = """
math { font-family: "STIX Two Math", "Cambria Math", "Latin Modern Math", "DejaVu Math TeX Gyre", math; }
math[display="block"] { display: block math; margin: 0.6em 0; overflow-x: auto; overflow-y: hidden; }
mtd[columnalign="left"] { text-align: -webkit-left; }
mtd[columnalign="right"] { text-align: -webkit-right; }
mtable[columnspacing^="0em"] > mtr > mtd[columnalign="right"] { padding-right: 0; }
mtable[columnspacing^="0em"] > mtr > mtd[columnalign="left"] { padding-left: 0; }
code.tex-unconverted { white-space: pre-wrap; color: #a00; }
"""

# Elements whose text is never math (MathJax 2's skipTags, plus math/svg/head content).
_NO_MATH_TAGS = {"script", "noscript", "style", "textarea", "pre", "code", "annotation",
                 "annotation-xml", "math", "svg", "title", "head", "option"}
_NO_MATH_CLASSES = {"tex2jax_ignore", "mathjax_ignore", "tex-unconverted"}

# MathML elements with a fixed number of children.
_ARITY = {"msub": 2, "msup": 2, "mfrac": 2, "mover": 2, "munder": 2, "mroot": 2,
          "msubsup": 3, "munderover": 3}

# Environments latex2mathml lacks or renders poorly, and what it handles instead.
_ENV_ALIASES = {"aligned": "align*", "align": "align*", "split": "align*",
                "gathered": "displaylines", "gather": "displaylines", "gather*": "displaylines"}
_UNWRAPPED_ENVS = ("equation", "equation*", "displaymath")


@dataclass
class MathBudget:
    """What is left of a page's bounds (see the module docstring); one per page."""
    scan: int = MAX_SCAN_CHARS
    formulas: int = MAX_FORMULAS
    tex: int = MAX_TEX_CHARS
    converted: list = field(default_factory=list)     # TeX of the converted formulas
    unconverted: list = field(default_factory=list)   # (TeX, reason) of formulas left as TeX

    @property
    def spent(self) -> bool:
        return self.scan <= 0 or self.formulas <= 0 or self.tex <= 0


# --------------------------------------------------------------------------------------
# Finding formulas
# --------------------------------------------------------------------------------------

_MATH_START = re.compile(r"\\\$|\$\$|\$|\\\(|\\\[|\\begin\{([^{}]{1,40})\}")
_CLOSING = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}


@functools.lru_cache(maxsize=64)
def _tokens(end: str, env: str | None) -> re.Pattern:
    """The tokens _find_end looks at: the closing delimiter, a nested \\begin{env}, an
    escaped character, a brace."""
    begin = [re.escape(f"\\begin{{{env}}}")] if env else []
    return re.compile("|".join([re.escape(end), *begin, r"\\.", r"[{}]"]), re.S)


def _find_end(text: str, pos: int, end: str, env: str | None, budget: MathBudget) -> int:
    """Index of the closing delimiter end at brace depth 0 from pos, or -1 (tex2jax rules:
    a backslash escapes the next character; environments nest). Reads at most
    MAX_FORMULA_CHARS characters, charged to budget.scan."""
    stop = min(len(text), pos + MAX_FORMULA_CHARS, pos + max(budget.scan, 0))
    depth = braces = 0
    for token in _tokens(end, env).finditer(text, pos, stop):
        value = token.group(0)
        if value == end:
            if braces > 0:
                continue
            if depth == 0:
                budget.scan -= token.end() - pos
                return token.start()
            depth -= 1
        elif value == "{":
            braces += 1
        elif value == "}":
            braces -= 1
        elif env and value == f"\\begin{{{env}}}":
            depth += 1
    budget.scan -= stop - pos + 1
    return -1


def _split_math(text: str, budget: MathBudget | None = None) -> list:
    """[str | (tex, display, source)]: text with the formulas found by MathJax 2's
    tex2jax ($..$, $$..$$, \\(..\\), \\[..\\], \\begin{env}..\\end{env}; \\$ is a dollar),
    within budget (a new MathBudget when None); past it the rest of the text is kept as is."""
    budget = MathBudget() if budget is None else budget
    out, buffer, i = [], [], 0
    while True:
        match = None if budget.spent else _MATH_START.search(text, i)
        if match is None:
            buffer.append(text[i:])
            break
        buffer.append(text[i:match.start()])
        token = match.group(0)
        if token == "\\$":
            buffer.append("$")
            i = match.end()
            continue
        if match.group(1) is not None:  # \begin{env}
            env = match.group(1)
            close = f"\\end{{{env}}}"
            stop = _find_end(text, match.end(), close, env, budget)
            if stop >= 0:
                tex = text[match.start():stop + len(close)]
                parts = (tex, True, tex)
            else:
                parts = None
        else:
            close = _CLOSING[token]
            stop = _find_end(text, match.end(), close, None, budget)
            tex = text[match.end():stop] if stop >= 0 else ""
            parts = (tex, token in ("$$", "\\["), text[match.start():stop + len(close)]) \
                if stop >= 0 and tex.strip() else None
        if parts is None:  # no closing delimiter: the opening one is plain text
            buffer.append(token)
            i = match.end()
            continue
        out.append("".join(buffer))
        buffer = []
        out.append(parts)
        budget.formulas -= 1
        budget.tex -= len(parts[0])
        i = match.start() + len(parts[2])
    out.append("".join(buffer))
    return [piece for piece in out if piece != ""]


# --------------------------------------------------------------------------------------
# Converting them
# --------------------------------------------------------------------------------------

def _prepare_tex(tex: str) -> str:
    """TeX rewritten around latex2mathml's gaps (see _ENV_ALIASES)."""
    def env(match):
        kind, name = match.group(1), match.group(2)
        if name in _UNWRAPPED_ENVS:
            return ""
        name = _ENV_ALIASES.get(name, name)
        # Brace each environment so that it is a single base for ^ and _.
        return f"{{\\begin{{{name}}}" if kind == "begin" else f"\\end{{{name}}}}}"
    return re.sub(r"\\(begin|end)\{([^{}]+)\}", env, tex.strip())


_LARGE_OPERATORS = set("\u2211\u220f\u2210\u22c0\u22c1\u22c2\u22c3\u2a00\u2a01\u2a02\u2a04\u2a06")
_LIMIT_WORDS = {"lim", "max", "min", "sup", "inf", "argmax", "argmin", "limsup", "liminf", "det", "Pr", "gcd"}
_SCRIPTS_AS_LIMITS = {"msub": "munder", "msup": "mover", "msubsup": "munderover"}
# Unicode Mathematical Alphanumeric Symbols: mathvariant values other than "normal" are
# not part of MathML Core, so letters are mapped to their styled code points instead.
_STYLED_LETTERS = {"bold": (0x1D400, 0x1D41A, 0x1D7CE), "bold-italic": (0x1D468, 0x1D482, None)}


def _styled(text: str, variant: str) -> str | None:
    upper, lower, digit = _STYLED_LETTERS[variant]
    out = []
    for c in text:
        if "A" <= c <= "Z":
            out.append(chr(upper + ord(c) - ord("A")))
        elif "a" <= c <= "z":
            out.append(chr(lower + ord(c) - ord("a")))
        elif "0" <= c <= "9" and digit:
            out.append(chr(digit + ord(c) - ord("0")))
        else:
            return None
    return "".join(out)


def _check_mathml(root: ET.Element) -> str | None:
    """What is wrong with the MathML tree root, or None."""
    for element in root.iter():
        name = element.tag
        if name in _ARITY and len(element) != _ARITY[name]:
            return f"<{name}> with {len(element)} children"
        if name in ("mi", "mo", "mn") and re.fullmatch(r"\\[A-Za-z]+", element.text or ""):
            return f"unknown command {element.text}"
        if name == "merror":
            return "merror"
        if name == "mspace" and element.get("linebreak") == "newline":
            return "line break outside a table"
    return None


def _polish_mathml(root: ET.Element) -> None:
    """MathML Core (what browsers render) versions of latex2mathml's constructs."""
    for element in root.iter():
        # Scripts of large operators and lim/max/...: limits below/above in display style
        # and beside in text style, as in TeX (MathML Core's movablelimits).
        if element.tag in _SCRIPTS_AS_LIMITS and len(element):
            base = element[0]
            while base.tag == "mrow" and len(base) == 1:
                base = base[0]
            text = (base.text or "").strip()
            if (base.tag == "mo" and text in _LARGE_OPERATORS) or \
                    (base.tag in ("mi", "mo") and text in _LIMIT_WORDS):
                element.tag = _SCRIPTS_AS_LIMITS[element.tag]
                if text in _LIMIT_WORDS:
                    base.tag = "mo"
                    base.set("movablelimits", "true")
        if element.tag in ("mi", "mn") and element.get("mathvariant") in _STYLED_LETTERS:
            styled = _styled(element.text or "", element.attrib.pop("mathvariant"))
            if styled is None:
                element.set("mathvariant", "normal")
            else:
                element.text = styled
        # \mathrm{softmax}: one <mi>softmax</mi> (a multi-letter mi is upright) instead of
        # one <mi mathvariant="normal"> per letter.
        children, merged, run = list(element), [], []
        for child in children + [None]:
            single = (child is not None and child.tag == "mi" and child.get("mathvariant") == "normal"
                      and len(child.text or "") == 1 and not len(child) and not (child.tail or "").strip())
            if single:
                run.append(child)
                continue
            if len(run) > 1:
                merged.append(run)
            run = []
        for run in merged:
            first = run[0]
            first.text = "".join(child.text for child in run)
            del first.attrib["mathvariant"]
            for child in run[1:]:
                element.remove(child)


@functools.lru_cache(maxsize=4096)  # every student's page holds the same formulas of the text
def _tex_to_mathml(tex: str, display: bool) -> str:
    """MathML for tex, or ValueError with the reason it cannot be converted faithfully."""
    try:
        mathml = _latex2mathml(_prepare_tex(tex), display="block" if display else "inline")
    except Exception as error:  # latex2mathml raises its own and plain Python errors
        raise ValueError(f"{type(error).__name__}: {error}") from error
    mathml = mathml.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "", 1)
    try:
        root = ET.fromstring(mathml)
    except ET.ParseError as error:
        raise ValueError(f"not well-formed MathML: {error}") from error
    problem = _check_mathml(root)
    if problem:
        raise ValueError(problem)
    _polish_mathml(root)
    # Keep the TeX: the first child of <semantics> is rendered, the annotation is not.
    semantics = ET.Element("semantics")
    semantics.extend(list(root))
    for child in list(root):
        root.remove(child)
    annotation = ET.SubElement(semantics, "annotation", encoding="application/x-tex")
    annotation.text = tex.strip()
    root.append(semantics)
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)



# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------

def _math_text_nodes(root: Tag) -> list:
    """[(parent, index, text node)] of the text under root that may hold formulas, in
    document order: nodes with a $ or a backslash outside the elements and classes MathJax
    skips (one pass, whatever the depth of the tree)."""
    found, stack = [], [(root, False)]
    while stack:
        tag, skip = stack.pop()
        for index in range(len(tag.contents) - 1, -1, -1):
            node = tag.contents[index]
            if isinstance(node, Tag):
                stack.append((node, skip or node.name in _NO_MATH_TAGS
                              or bool(_NO_MATH_CLASSES.intersection(node.get("class") or ()))))
            elif not skip and type(node) is NavigableString and ("$" in node or "\\" in node):
                found.append((tag, index, node))
    found.reverse()
    return found


def replace_math(soup: BeautifulSoup, root: Tag, nonce: str, budget: MathBudget) -> list:
    """Replaces each formula of the text under root by the placeholder
    @@math-<nonce>-<i>@@ of the i-th MathML of the returned list (a formula that cannot be
    converted becomes a <code class="tex-unconverted"> with its TeX); within budget."""
    mathml, edits = [], []
    for parent, index, node in _math_text_nodes(root):
        pieces = _split_math(str(node), budget)
        if all(isinstance(piece, str) for piece in pieces):
            if "".join(pieces) != str(node):  # \$ became $
                edits.append((parent, index, ["".join(pieces)]))
            continue
        new_nodes = []
        for piece in pieces:
            if isinstance(piece, str):
                new_nodes.append(piece)
                continue
            tex, display, source = piece
            try:
                mathml.append(_tex_to_mathml(tex, display))
            except ValueError as error:
                budget.unconverted.append((tex, str(error)))
                code = soup.new_tag("code", attrs={"class": "tex-unconverted", "title": str(error)})
                code.string = source
                new_nodes.append(code)
                continue
            budget.converted.append(tex)
            new_nodes.append(f"@@math-{nonce}-{len(mathml) - 1}@@")
        edits.append((parent, index, new_nodes))
    for parent, index, new_nodes in reversed(edits):  # later siblings first: indices stay right
        replace_child(parent, index, new_nodes)
    return mathml


def put_math(text: str, nonce: str, mathml: list) -> str:
    """text with the placeholders of replace_math replaced by their MathML."""
    return re.sub(rf"@@math-{nonce}-(\d+)@@", lambda m: mathml[int(m.group(1))], text)
