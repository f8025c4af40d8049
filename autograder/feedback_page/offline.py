"""Make an nbgrader feedback page readable offline, and the student's part of it harmless.

nbgrader's ``generate_feedback`` writes an HTML page per graded notebook, but that page
is not self-contained:

* its formulas are raw TeX typeset in the browser by MathJax 2 loaded from a CDN, so
  without network a student sees TeX source;
* the figures of the course text are referenced as ``images/fig*.png`` next to the
  notebook, so a page sent on its own shows broken images;
* its stylesheet has ``@font-face`` rules pointing to ``../fonts/`` and may, like any
  HTML output of a notebook, load scripts, styles or media from other hosts;
* text such as tracebacks, the title or HTML outputs can hold absolute paths of the
  machine that ran the notebook;
* the student's markdown cells are HTML: they can hold styles that hide or imitate the
  grader's note at the top of the page.

``make_offline`` rewrites such a page so that it needs nothing but itself:

* Formulas become MathML (autograder/feedback_page/formulas.py).
* ``<img>`` sources that are files inside ``assignment_dir`` are embedded as ``data:``
  URIs; any other source (another host, a file outside the assignment) is dropped and the
  alternative text stays. Files outside ``assignment_dir`` are never read, so a
  submission cannot copy a file of the grading machine into its page.
* Scripts (the MathJax loader and its configuration included; a feedback page is static),
  ``<link>`` elements, frames, embedded objects, media sources and CSS ``@import`` /
  ``url(...)`` references that are not ``data:`` URIs are removed, and a
  Content-Security-Policy ``<meta>`` tag forbids any other load as a second line of
  defence.
* Everything in the body except the grader's note (autograder/feedback_page/note.py) is
  rendered from the student's notebook and loses every way to style the page: ``<style>``
  elements (in SVG and MathML too), ``style`` attributes, comments, processing
  instructions and CDATA (Python's parser and the browser's may end them at different
  places), scripts of any type (the same), nested ``html``/``head``/``body`` tags (a
  browser merges their attributes into the page's own), dialogs, the attributes that open
  the top layer (popovers, invoker commands) or scroll the page on load (autofocus), and
  the note's ids and classes. It is moved into one ``<div class="student-content">`` that
  the page's CSS contains (``contain: paint``): what it holds is painted inside its own
  box, below the note, whatever its markup. The ``<head>``'s styles are nbconvert's and
  stay.
* Absolute paths of this machine (any path under one of its top-level folders, ``file://``
  URLs included) in text and attributes are shortened: the part after the assignment's
  folder, after ``site-packages/`` or after ``pythonX.Y/`` is kept, otherwise only the
  file name.

Each step is one pass over the page (the page's size is bounded before: nbgrader renders
cells cut to size, autograder/feedback_page/cells.py).
"""
from __future__ import annotations

import base64
import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup, CData, Comment, Declaration, Doctype, ProcessingInstruction
from bs4.element import Tag

from autograder.feedback_page import formulas, note
from autograder.feedback_page.tree import replace_child, walk

__all__ = ["make_offline"]

_CSP = ("default-src 'none'; img-src data:; media-src data:; font-src data:; "
        "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")

STUDENT_CLASS = "student-content"

# The page's own rules, after nbconvert's: formulas, images, and the student's box.
_PAGE_CSS = formulas.MATH_CSS + f"""
img {{ max-width: 100%; height: auto; }}
div.output_area pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
body > div.{STUDENT_CLASS} {{ contain: paint !important; position: relative !important; z-index: 0 !important;
                             overflow-x: auto !important; }}
"""

_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".gif": "image/gif", ".svg": "image/svg+xml", ".webp": "image/webp"}

_EXECUTABLE_SCRIPT_TYPES = {"", "text/javascript", "application/javascript", "module",
                            "text/ecmascript", "application/ecmascript", "text/x-mathjax-config"}
_RESOURCE_ATTRS = ("src", "srcset", "poster", "data", "background", "lowsrc", "dynsrc")
_REMOVED_TAGS = {"link", "base", "iframe", "frame", "frameset", "object", "embed", "applet", "portal"}

# What the student's part of the page may not hold (see the module docstring).
_STUDENT_REMOVED_TAGS = {"style", "script", "meta", "noscript", "noembed", "noframes"}
_STUDENT_RENAMED_TAGS = {"html": "div", "head": "div", "body": "div", "xmp": "pre", "plaintext": "pre",
                         "dialog": "div"}
_STUDENT_REMOVED_ATTRS = {"style", "autofocus", "popover", "popovertarget", "popovertargetaction", "commandfor", "command",
                          "interestfor", "shadowrootmode", "shadowroot", "shadowrootdelegatesfocus",
                          "shadowrootclonable", "shadowrootserializable"}
_RAW_NODES = (Comment, CData, ProcessingInstruction, Declaration, Doctype)

_CSS_IMPORT = re.compile(r"@import\s+[^;]*;?", re.I)
_CSS_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.I)
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.I | re.S)


@dataclass
class _Outcome:
    html: str
    formulas: list = field(default_factory=list)      # TeX of the converted formulas
    unconverted: list = field(default_factory=list)   # (TeX, reason) of formulas left as TeX
    embedded: list = field(default_factory=list)      # image sources embedded
    dropped: list = field(default_factory=list)       # resources removed (URLs)


def make_offline(html: str, assignment_dir: Path) -> str:
    """The feedback page ``html`` rewritten to need no network and no other file:
    formulas as MathML, images of ``assignment_dir`` embedded, remote resources and
    scripts removed, the student's part of the page without styles and in a box of its
    own, absolute paths of this machine shortened (see the module docstring)."""
    return _make_offline(html, Path(assignment_dir)).html


def _make_offline(html: str, assignment_dir: Path) -> _Outcome:
    assignment_dir = Path(assignment_dir).resolve()
    soup = BeautifulSoup(html, "html.parser")
    outcome = _Outcome(html="")
    grader_note = note.take(soup)

    _remove_active_content(soup, outcome)
    student = _contain_student_content(soup)
    _embed_images(soup, assignment_dir, outcome)
    _clean_css(soup, outcome)

    nonce = secrets.token_hex(6)
    budget = formulas.MathBudget()
    mathml = formulas.replace_math(soup, student, nonce, budget)
    outcome.formulas, outcome.unconverted = budget.converted, budget.unconverted

    note.put_back(soup, grader_note)
    _scrub_tree(soup, _PathScrubber(assignment_dir))
    _add_head(soup)
    outcome.html = formulas.put_math(str(soup), nonce, mathml)
    return outcome


# --------------------------------------------------------------------------------------
# Scripts, links, frames, media, CSS
# --------------------------------------------------------------------------------------

def _is_data_uri(value: str) -> bool:
    return value.strip().lower().startswith("data:")


def _remove_active_content(soup: BeautifulSoup, outcome: _Outcome) -> None:
    """Scripts, links, frames, embedded objects, meta refreshes, remote resources and
    event handlers, anywhere in the page."""
    def visit(node, depth) -> bool:
        if not isinstance(node, Tag):
            return False
        if node.name == "script":
            kind = (node.get("type") or "").strip().lower()
            if node.get("src") or kind in _EXECUTABLE_SCRIPT_TYPES or "javascript" in kind:
                if node.get("src"):
                    outcome.dropped.append(node["src"])
                return True
            return False
        if node.name in _REMOVED_TAGS:
            outcome.dropped.extend(node[attr] for attr in ("href", "src", "data")
                                   if isinstance(node.get(attr), str) and not _is_data_uri(node[attr]))
            return True
        if node.name == "meta" and (node.get("http-equiv") or "").lower() in (
                "refresh", "content-security-policy", "link"):
            return True
        for attr in _RESOURCE_ATTRS if node.name != "img" else ():  # images: _embed_images
            if node.get(attr) and not _is_data_uri(node[attr]):
                outcome.dropped.append(node[attr])
                del node[attr]
        if node.name in ("image", "use", "feimage"):  # SVG references
            for attr in ("href", "xlink:href"):
                if node.get(attr) and not _is_data_uri(node[attr]) and not node[attr].startswith("#"):
                    outcome.dropped.append(node[attr])
                    del node[attr]
        for attr in [a for a in node.attrs if a.lower().startswith("on")]:  # inline event handlers
            del node[attr]
        return False

    walk(soup, visit)


def _contain_student_content(soup: BeautifulSoup) -> Tag:
    """Everything of the page outside its <head> (the grader's note is taken out before)
    without styles and the other constructs of the module docstring, moved into one
    <div class="student-content"> at the end of the body; returns that div."""
    body = soup.body
    if body is None:
        body = soup.new_tag("body")
        (soup.find("html") or soup).append(body)
    html_tag = body.parent
    # Markup after a student's </body> or </html> is the student's too.
    strays = [node for node in body.next_siblings]
    if html_tag is not soup:
        strays += [node for node in html_tag.next_siblings]
    box = soup.new_tag("div", attrs={"class": STUDENT_CLASS})
    for node in list(body.contents) + strays:   # each is the first of its list: no search
        box.append(node)
    body.append(box)

    def visit(node, depth) -> bool:
        if isinstance(node, _RAW_NODES):
            return True
        if not isinstance(node, Tag):
            return False
        if node.name in _STUDENT_REMOVED_TAGS:
            return True
        if node.name in _STUDENT_RENAMED_TAGS:
            node.name = _STUDENT_RENAMED_TAGS[node.name]
            node.attrs = {}
        for attr in [a for a in node.attrs if a.lower() in _STUDENT_REMOVED_ATTRS]:
            del node[attr]
        if str(node.get("id", "")).startswith("grade-"):
            del node["id"]
        classes = node.get("class")
        if classes and (note.HOST_CLASS in classes or STUDENT_CLASS in classes):
            node["class"] = [c for c in classes if c not in (note.HOST_CLASS, STUDENT_CLASS)]
        return False

    walk(box, visit)
    return box


def _clean_css_text(css: str, outcome: _Outcome) -> str:
    def font_face(match):
        urls = [u for _, u in _CSS_URL.findall(match.group(0))]
        if all(_is_data_uri(u) for u in urls):
            return match.group(0)
        outcome.dropped.extend(u for u in urls if not _is_data_uri(u))
        return ""

    def url(match):
        if _is_data_uri(match.group(2)):
            return match.group(0)
        outcome.dropped.append(match.group(2))
        return "none"

    def imports(match):
        outcome.dropped.append(match.group(0))
        return ""

    css = _CSS_IMPORT.sub(imports, css)
    css = _CSS_FONT_FACE.sub(font_face, css)
    return _CSS_URL.sub(url, css)


def _clean_css(soup: BeautifulSoup, outcome: _Outcome) -> None:
    """The page's own styles (the student's are gone) without remote references."""
    for style in soup.find_all("style"):
        css = style.string if style.string is not None else style.get_text()
        cleaned = _clean_css_text(css, outcome)
        if cleaned != css:
            style.string = cleaned
    for tag in soup.find_all(style=True):
        tag["style"] = _clean_css_text(tag["style"], outcome)


# --------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------

def _local_image(src: str, assignment_dir: Path) -> Path | None:
    """The image file inside assignment_dir that src names, or None."""
    parts = urlsplit(src.strip())
    if parts.scheme and parts.scheme.lower() != "file" or parts.netloc:
        return None
    relative = unquote(parts.path)
    if not relative:
        return None
    path = Path(relative) if os.path.isabs(relative) else assignment_dir / relative
    try:
        path = path.resolve()
    except OSError:
        return None
    if not path.is_relative_to(assignment_dir) or not path.is_file():
        return None
    if path.suffix.lower() not in _IMAGE_TYPES:
        return None
    return path


def _embed_images(soup: BeautifulSoup, assignment_dir: Path, outcome: _Outcome) -> None:
    for img in soup.find_all(["img", "input"]):
        if img.name == "input" and (img.get("type") or "").lower() != "image":
            continue
        for attr in ("srcset", "lowsrc", "dynsrc"):
            if img.get(attr):
                del img[attr]
        src = img.get("src")
        if not src or _is_data_uri(src):
            continue
        path = _local_image(src, assignment_dir)
        if path is None:
            outcome.dropped.append(src)
            del img["src"]
            img["data-offline"] = "not embedded"
            continue
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        img["src"] = f"data:{_IMAGE_TYPES[path.suffix.lower()]};base64,{data}"
        outcome.embedded.append(src)


# --------------------------------------------------------------------------------------
# Absolute paths
# --------------------------------------------------------------------------------------

_COMMON_ROOTS = {"home", "root", "tmp", "work", "var", "usr", "opt", "srv", "mnt", "media",
                 "run", "etc", "private", "Users", "Volumes", "data", "scratch", "builds",
                 "workspace", "github", "lib", "lib64", "bin", "sbin", "snap", "nix", "proc"}


class _PathScrubber:
    """Shortens absolute paths of this machine in a string."""

    def __init__(self, assignment_dir: Path):
        roots = set(_COMMON_ROOTS)
        try:
            roots.update(name for name in os.listdir("/") if re.fullmatch(r"[\w.-]+", name))
        except OSError:
            pass
        for path in (assignment_dir, Path.home(), Path(sys.prefix), Path(sys.base_prefix), Path.cwd()):
            parts = Path(path).resolve().parts
            if len(parts) > 1:
                roots.add(parts[1])
        self.assignment = assignment_dir.name
        alternatives = "|".join(re.escape(r) for r in sorted(roots, key=len, reverse=True))
        self.pattern = re.compile(
            rf"(?<![\w.~$/-])(?:file://)?/(?:{alternatives})(?=/|\b)[^\s\"'<>:;,()\[\]{{}}|*?`，。、；：！？（）【】「」《》]*")

    def shorten(self, path: str) -> str:
        path = path.removeprefix("file://").rstrip("/")
        parts = path.split("/")
        if self.assignment in parts[:-1]:
            index = len(parts) - 1 - parts[::-1].index(self.assignment)
            return "/".join(parts[index + 1:])
        for marker in ("site-packages", "dist-packages"):
            if marker in parts[:-1]:
                index = len(parts) - 1 - parts[::-1].index(marker)
                return ".../" + "/".join(parts[index:])
        for index in range(len(parts) - 2, -1, -1):
            if re.fullmatch(r"python\d+(\.\d+)?", parts[index]):
                return ".../" + "/".join(parts[index:])
        return parts[-1] or "..."

    def __call__(self, text: str) -> str:
        if "/" not in text:
            return text
        return self.pattern.sub(lambda m: self.shorten(m.group(0)), text)


def _scrub_tree(soup: BeautifulSoup, scrub: _PathScrubber) -> None:
    """Absolute paths shortened in every text and attribute of the page (CSS and inert
    data scripts excepted), in one pass."""
    stack = [soup]
    while stack:
        tag = stack.pop()
        for attr, value in list(tag.attrs.items()):
            if isinstance(value, list):
                tag[attr] = [scrub(v) for v in value]
            elif isinstance(value, str) and not _is_data_uri(value):
                tag[attr] = scrub(value)
        for index in range(len(tag.contents) - 1, -1, -1):
            node = tag.contents[index]
            if isinstance(node, Tag):
                stack.append(node)
            elif isinstance(node, Doctype) or tag.name == "style" or (tag.name == "script" and not isinstance(node, Comment)):
                continue
            else:
                scrubbed = scrub(str(node))
                if scrubbed != str(node):
                    replace_child(tag, index, [type(node)(scrubbed)])


# --------------------------------------------------------------------------------------
# <head>
# --------------------------------------------------------------------------------------

def _add_head(soup: BeautifulSoup) -> None:
    head = soup.head
    if head is None:
        head = soup.new_tag("head")
        html_tag = soup.find("html")
        if isinstance(html_tag, Tag):
            html_tag.insert(0, head)
        else:
            soup.insert(0, head)
    charset = head.find("meta", charset=True)
    if charset is None:
        charset = soup.new_tag("meta", attrs={"charset": "utf-8"})
        head.insert(0, charset)
    if head.find("style", id="offline-math") is None:
        style = soup.new_tag("style", id="offline-math")
        style.string = _PAGE_CSS
        charset.insert_after(style)
    charset.insert_after(soup.new_tag("meta", attrs={"http-equiv": "Content-Security-Policy", "content": _CSP}))
