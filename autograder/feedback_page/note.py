"""The grader's note at the top of a student's feedback page: the verified score of each
test cell, its message and the reasons, in Chinese.

    feedback_note(result, hand_points) -> HTML
    add_feedback_note(html_path, result, hand_points)   puts it first in the page's body
    refresh_feedback_note(html_path, result, hand_points)
                                 the same, only when the page's lateness lines differ
    take(soup) -> [nodes]        the note of a parsed page, taken out of it (offline.py
                                 cleans the rest of the page, which is the student's)
    put_back(soup, nodes)        the note first in the body again

The page around the note is rendered from the student's notebook, so the note is out of
reach of anything the student writes there:

* it is the first thing in the body, between the markers NOTE_BEGIN and NOTE_END, and only
  a note in that place is taken as the grader's (nbgrader's template puts its own markup
  there, never a student's cell);
* its content lives in a declarative shadow root (``<template shadowrootmode="open">``):
  the page's CSS cannot select anything inside it, and the ``!important`` rules of its
  ``:host`` win over any rule of the page for the host element itself;
* offline.py removes every student-authored style from the rest of the page and paints the
  student's content inside a box of its own (CSS containment) that begins below the note.

Every text of the result in the note (messages hold the student's exception texts) is
escaped; the messages are clipped by the verifier (verify.MAX_MESSAGE).
"""
import html
import re
from pathlib import Path

from bs4 import BeautifulSoup, Comment, NavigableString
from bs4.element import Tag

from autograder.parts import TEST_CELLS
from autograder.result import MAX_POINTS, is_weak

__all__ = ["NOTE_BEGIN", "NOTE_END", "WEAK_WARNING_ZH", "feedback_note", "add_feedback_note", "refresh_feedback_note",
           "take", "put_back"]

NOTE_BEGIN, NOTE_END = "<!-- grade:verified -->", "<!-- /grade:verified -->"
HOST_CLASS = "grade-verified-host"
WEAK_WARNING_ZH = "注意：这次评分没有使用 bubblewrap 沙箱（--allow-weak-sandbox），隔离较弱。"

# The shadow root's own style sheet. :host's !important rules win over the page's rules,
# important or not, for the host element (CSS Cascade: the inner context wins for
# important declarations).
_NOTE_CSS = """
:host { all: initial !important; display: block !important; position: relative !important;
        visibility: visible !important; opacity: 1 !important; transform: none !important;
        filter: none !important; clip-path: none !important; mask: none !important;
        z-index: 2147483647 !important; margin: 1em auto !important; max-width: 60em !important;
        width: auto !important; height: auto !important; overflow: visible !important; }
#grade-verified { border: 2px solid #4c72b0; border-radius: 6px; padding: 0.8em 1.2em;
                  background: #f7f9fc; color: #222; font-family: sans-serif; font-size: 14px;
                  line-height: 1.45; text-align: left; }
h2 { margin-top: 0; font-size: 1.5em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 2px 6px; }
th { white-space: nowrap; }
td.points, td.score { text-align: right; }
td.message { white-space: pre-wrap; }
.weak, .late b { color: #b00; font-weight: bold; }
"""


def feedback_note(result, hand_points=0):
    """HTML (Chinese) with the score of each test cell, its message, the deadline (result.lateness:
    submission time, due date, how late, the penalty and the score after it) and the reasons;
    hand_points: points of the written answers, which the teacher grades by hand."""
    esc = html.escape
    parts = [NOTE_BEGIN, f"<div class='{HOST_CLASS}'><template shadowrootmode='open'>",
             f"<style>{_NOTE_CSS}</style>", "<div id='grade-verified'>", "<h2>评分结果</h2>"]
    if is_weak(result):
        parts.append(f"<p class='weak'>{esc(WEAK_WARNING_ZH)}</p>")
    if not result.graded:
        parts.append("<p>这份作业还没有评分，请联系老师。</p>")
    else:
        lateness = result.lateness
        if lateness is not None and lateness.percent:
            parts.append(f"<p class='late'><b>迟交扣分后得分：{result.final:g} / {MAX_POINTS}</b>"
                         f"（扣分前 {result.total:g}，扣除 {lateness.penalty(result.total):g} 分）。</p>")
        parts.append(f"<p><b>总分：{result.total:g} / {MAX_POINTS}</b>"
                     f"{'（扣除迟交罚分之前）' if lateness is not None and lateness.percent else ''}。你的代码在隔离的沙箱中运行，"
                     "隐藏测试在评分程序中检查它的行为；下面的笔记本里，每个测试单元格的输出给出同样的结果。</p>")
        parts.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in ("测试单元", "满分", "得分", "说明")) + "</tr>")
        for grade_id, points in TEST_CELLS.items():
            parts.append(f"<tr><td>{grade_id}</td><td class='points'>{points}</td>"
                         f"<td class='score'>{result.scores.get(grade_id, 0.0):g}</td>"
                         f"<td class='message'>{esc(result.messages.get(grade_id, '')) or '通过'}</td></tr>")
        parts.append("</table>")
    if result.lateness is not None:
        parts.append(f"<p class='late'>{esc(result.lateness.text('zh'))}</p>")
    if hand_points:
        parts.append(f"<p>书面回答共 {hand_points:g} 分，由老师另行评分，不在上面的 {MAX_POINTS} 分之内。</p>")
    reasons = result.reasons()
    if reasons:
        parts.append("<p><b>说明：</b></p><ul>" + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>")
    parts += ["</div>", "</template></div>", NOTE_END]
    return "\n".join(parts)


def _body_start(text):
    """Index just after the page's <body ...> tag (the first one), or 0."""
    start = text.find("<body")
    end = text.find(">", start) if start >= 0 else -1
    return end + 1 if end >= 0 else 0


def add_feedback_note(html_path, result, hand_points=0):
    """Puts feedback_note(result, hand_points) first in the body of the feedback page
    html_path (replacing a note already there); writes a page with only the note when
    there is none."""
    html_path = Path(html_path)
    note = feedback_note(result, hand_points)
    if html_path.exists():
        text = html_path.read_text(encoding="utf-8", errors="replace")
        position = _body_start(text)
        rest = text[position:]
        if rest.lstrip().startswith(NOTE_BEGIN):
            end = rest.find(NOTE_END)
            rest = rest[end + len(NOTE_END):] if end >= 0 else rest
        text = text[:position] + "\n" + note + "\n" + rest.lstrip("\n")
        html_path.chmod(0o644)          # nbgrader may leave its outputs read-only
    else:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        text = (f"<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>"
                f"<title>{html.escape(result.student)} 的评分</title></head><body>\n{note}\n</body></html>")
    html_path.write_text(text, encoding="utf-8")


def _late_lines(text):
    """The texts of the lateness paragraphs (class late) of the note in a page's text."""
    start, end = text.find(NOTE_BEGIN), text.find(NOTE_END)
    note = text[start:end] if 0 <= start < end else ""
    return [html.unescape(re.sub(r"<[^>]+>", "", line)) for line in re.findall(r"<p class=['\"]late['\"]>(.*?)</p>", note, re.S)]


def refresh_feedback_note(html_path, result, hand_points=0):
    """add_feedback_note when the page's note says something else about lateness than
    result.lateness (a course policy changed, or the page was written without it); a page
    whose note already agrees is left as it is. Returns whether the page was written."""
    html_path = Path(html_path)
    text = html_path.read_text(encoding="utf-8", errors="replace") if html_path.exists() else ""
    if text and _late_lines(text) == _late_lines(feedback_note(result, hand_points)):
        return False
    add_feedback_note(html_path, result, hand_points)
    return True


def _is_marker(node, marker):
    return isinstance(node, Comment) and f"<!--{node}-->" == marker


def take(soup: BeautifulSoup) -> list:
    """The grader's note of the parsed page soup (its marker comments and host element, when
    they are the first nodes of the body), extracted from the page; [] when there is none."""
    body = soup.body
    if body is None:
        return []
    nodes = [node for node in body.contents[:12]
             if not (isinstance(node, NavigableString) and not isinstance(node, Comment) and not node.strip())]
    if len(nodes) < 3 or not _is_marker(nodes[0], NOTE_BEGIN) or not _is_marker(nodes[2], NOTE_END):
        return []
    host = nodes[1]
    if not (isinstance(host, Tag) and host.name == "div" and HOST_CLASS in (host.get("class") or ())):
        return []
    return [node.extract() for node in nodes[:3]]


def put_back(soup: BeautifulSoup, nodes: list) -> None:
    """The note taken by take() first in the body again."""
    for node in reversed(nodes):
        soup.body.insert(0, node)
        soup.body.insert(1, NavigableString("\n"))
