"""What `grade` writes from the per-student results: grades.csv (the verified scores),
report.html + report.png (per-cell table with disagreements, reasons, histogram, pass
rates), the note added to each student's feedback page, and the text table it prints.

A result is the dict autograder.grade.grade_one returns: student, verified and nbgrader
({grade_id: points} or None), nbgrader_status, messages ({grade_id: Chinese message}),
verify_reason, sandbox, reasons ([Chinese text]), feedback (path relative to the course),
seconds.
"""
import base64
import csv
import html
import io
import re
from pathlib import Path

from autograder.pipeline import TEST_CELLS

MAX_POINTS = sum(TEST_CELLS.values())
TOLERANCE = 1e-6
NOTE_BEGIN, NOTE_END = "<!-- grade:verified -->", "<!-- /grade:verified -->"
SHORT = {name: name.replace("test_", "").replace("initialize_parameters", "init") for name in TEST_CELLS}


def total(scores):
    return None if scores is None else round(sum(scores.get(g, 0.0) for g in TEST_CELLS), 6)


def disagreements(result):
    """[(grade_id, nbgrader score, verified score)] of the cells where they differ."""
    verified, nbgrader = result.get("verified"), result.get("nbgrader")
    if verified is None or nbgrader is None:
        return []
    return [(g, nbgrader.get(g, 0.0), verified.get(g, 0.0)) for g in TEST_CELLS
            if abs(nbgrader.get(g, 0.0) - verified.get(g, 0.0)) > TOLERANCE]


def flag(result):
    """'' when nbgrader and the verification agree; 'disagree'; 'no verified score'."""
    if result.get("verified") is None:
        return "no verified score"
    return "disagree" if disagreements(result) else ""


def _fmt(value):
    return "" if value is None else f"{value:g}"


# --------------------------------------------------------------------------------------
# grades.csv and the text table
# --------------------------------------------------------------------------------------

def write_grades_csv(results, path):
    """student, the verified score of each test cell, total (verified), nbgrader_total, flag,
    disagree_cells (cell:nbgrader/verified), reasons. Cells are empty without a verified score."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *TEST_CELLS, "total", "nbgrader_total", "flag", "disagree_cells", "reasons"])
        for student, result in sorted(results.items()):
            verified = result.get("verified")
            writer.writerow([student, *[_fmt(None if verified is None else verified.get(g, 0.0)) for g in TEST_CELLS],
                             _fmt(total(verified)), _fmt(total(result.get("nbgrader"))), flag(result),
                             " ".join(f"{g}:{n:g}/{v:g}" for g, n, v in disagreements(result)),
                             " | ".join(result.get("reasons", []))])


def text_table(results):
    """Compact table: verified score per cell, total, nbgrader total, flag."""
    width = max([8] + [len(s) for s in results])
    width = min(width, 30)
    header = f"{'student':<{width}}" + "".join(f"{SHORT[g][:8]:>9}" for g in TEST_CELLS) + \
        f"{'total':>7}{'nbgr':>6}  flag"
    lines = [header, f"{'(points)':<{width}}" + "".join(f"{p:>9}" for p in TEST_CELLS.values())
             + f"{MAX_POINTS:>7}"]
    for student, result in sorted(results.items()):
        verified = result.get("verified") or {}
        differ = {g for g, _, _ in disagreements(result)}
        cells = "".join(f"{_fmt(verified.get(g)) + ('*' if g in differ else ''):>9}" if result.get("verified")
                        else f"{'-':>9}" for g in TEST_CELLS)
        lines.append(f"{student[:width]:<{width}}{cells}{_fmt(total(result.get('verified'))) or '-':>7}"
                     f"{_fmt(total(result.get('nbgrader'))) or '-':>6}  {flag(result)}")
    lines.append("(* = nbgrader gave a different score for this cell)")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# report.html / report.png
# --------------------------------------------------------------------------------------

def histogram_png(results, path=None):
    """PNG bytes of the histogram of verified totals (nbgrader totals outlined); also saved to path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    verified = [total(r["verified"]) for r in results.values() if r.get("verified") is not None]
    nbgrader = [total(r["nbgrader"]) for r in results.values() if r.get("nbgrader") is not None]
    bins = list(range(0, MAX_POINTS + 5, 5))
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    ax.hist(verified, bins=bins, color="#4c72b0", edgecolor="white", label=f"verified (n={len(verified)})")
    ax.hist(nbgrader, bins=bins, histtype="step", color="#dd8452", linewidth=1.8,
            label=f"nbgrader (n={len(nbgrader)})")
    ax.set_xlim(0, MAX_POINTS)
    ax.set_xlabel(f"total score (of {MAX_POINTS})")
    ax.set_ylabel("submissions")
    ax.set_title("Distribution of total scores")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def pass_rates(results):
    """{grade_id: (fraction of verified submissions with full points, mean points, count)}."""
    verified = [r["verified"] for r in results.values() if r.get("verified") is not None]
    rates = {}
    for grade_id, points in TEST_CELLS.items():
        scores = [v.get(grade_id, 0.0) for v in verified]
        full = sum(s >= points - TOLERANCE for s in scores)
        rates[grade_id] = (full / len(scores) if scores else 0.0,
                           sum(scores) / len(scores) if scores else 0.0, len(scores))
    return rates


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; vertical-align: top; }
th { background: #f3f3f3; } td.name, td.text { text-align: left; }
td.disagree { background: #ffd6d6; font-weight: bold; }
td.zero { color: #b00; } tr.flagged td.name { border-left: 4px solid #d33; }
td.text { max-width: 40em; font-size: 0.85em; }
.bar { background: #4c72b0; height: 0.8em; display: inline-block; }
.small { color: #666; font-size: 0.85em; }
"""


def write_report(results, html_path, png_path, course=None):
    """Self-contained report.html (inline CSS, histogram embedded as PNG) and report.png."""
    html_path = Path(html_path)
    png = histogram_png(results, png_path)
    esc = html.escape
    verified_totals = [total(r["verified"]) for r in results.values() if r.get("verified") is not None]
    flagged = [s for s, r in results.items() if flag(r)]
    sandboxes = sorted({r.get("sandbox") or "none" for r in results.values()})
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Grading report</title>"
             f"<style>{CSS}</style></head><body>",
             "<h1>Grading report: mlp_optimizers</h1>",
             f"<p>{len(results)} submissions; {len(verified_totals)} with a verified score; "
             f"mean verified total {(sum(verified_totals) / len(verified_totals)) if verified_totals else 0:.1f}"
             f" / {MAX_POINTS}; <b>{len(flagged)} flagged</b> (nbgrader and the verified score disagree "
             f"in at least one cell, or no verified score). Sandbox: {esc(', '.join(sandboxes))}.</p>",
             "<p class='small'>The verified score (hidden checks run outside the student's kernel) is the "
             "exported grade (grades.csv); nbgrader's own scores are in grades_nbgrader.csv. A red cell is "
             "one where nbgrader gave a different score (shown as <i>nb</i>).</p>",
             "<h2>Distribution of totals</h2>",
             f"<img alt='histogram of total scores' src='data:image/png;base64,{base64.b64encode(png).decode()}'>",
             "<h2>Pass rate of each test cell</h2>",
             "<table><tr><th>test cell</th><th>points</th><th>full points</th><th></th><th>mean</th></tr>"]
    for grade_id, (rate, mean, count) in pass_rates(results).items():
        parts.append(f"<tr><td class='name'>{grade_id}</td><td>{TEST_CELLS[grade_id]}</td>"
                     f"<td>{rate:.0%} ({round(rate * count)}/{count})</td>"
                     f"<td class='name'><span class='bar' style='width:{rate * 12:.2f}em'></span></td>"
                     f"<td>{mean:.1f}</td></tr>")
    parts.append("</table><h2>Scores per student (verified)</h2><table><tr><th>student</th>"
                 + "".join(f"<th title='{g}'>{SHORT[g]}<br><span class='small'>{p}</span></th>"
                           for g, p in TEST_CELLS.items())
                 + "<th>total</th><th>nbgrader total</th><th>flag</th><th>reasons</th><th>feedback</th></tr>")
    for student, result in sorted(results.items()):
        verified, nbgrader = result.get("verified"), result.get("nbgrader") or {}
        differ = {g for g, _, _ in disagreements(result)}
        row = [f"<tr class='{'flagged' if flag(result) else ''}'><td class='name'>{esc(student)}</td>"]
        for grade_id in TEST_CELLS:
            if verified is None:
                row.append("<td>-</td>")
                continue
            score = verified.get(grade_id, 0.0)
            message = (result.get("messages") or {}).get(grade_id, "")
            classes = ("disagree " if grade_id in differ else "") + ("zero" if score == 0 else "")
            extra = f"<br><span class='small'>nb {nbgrader.get(grade_id, 0.0):g}</span>" if grade_id in differ else ""
            row.append(f"<td class='{classes.strip()}' title='{esc(message)}'>{score:g}{extra}</td>")
        link = result.get("feedback", "")
        if link and course is not None:
            target = Path(course) / link
            try:
                link = target.relative_to(html_path.parent).as_posix()
            except ValueError:
                link = target.as_uri()
        link_html = f"<a href='{esc(link)}'>feedback</a>" if link else ""
        row.append(f"<td><b>{_fmt(total(verified)) or '-'}</b></td><td>{_fmt(total(result.get('nbgrader'))) or '-'}"
                   f"<br><span class='small'>{esc(result.get('nbgrader_status', ''))}</span></td>"
                   f"<td class='text'>{esc(flag(result))}</td>"
                   f"<td class='text'>{'<br>'.join(esc(r) for r in result.get('reasons', []))}</td>"
                   f"<td class='text'>{link_html}</td></tr>")
        parts.append("".join(row))
    parts.append("</table>")
    if flagged:
        parts.append("<h2>Disagreements</h2><ul>")
        for student in flagged:
            result = results[student]
            cells = ", ".join(f"{g}: nbgrader {n:g}, verified {v:g}" for g, n, v in disagreements(result))
            parts.append(f"<li><b>{esc(student)}</b>: {esc(cells or flag(result))}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    html_path.write_text("\n".join(parts), encoding="utf-8")
    return html_path


# --------------------------------------------------------------------------------------
# The note at the top of a student's feedback page
# --------------------------------------------------------------------------------------

def feedback_note(result):
    """HTML (Chinese) with the verified score of each test cell, its message, and the reasons."""
    esc = html.escape
    verified, nbgrader = result.get("verified"), result.get("nbgrader") or {}
    messages = result.get("messages") or {}
    style = ("border:2px solid #4c72b0;border-radius:6px;padding:0.8em 1.2em;margin:1em auto;"
             "max-width:60em;background:#f7f9fc;font-family:sans-serif;font-size:14px")
    parts = [NOTE_BEGIN, f"<div id='grade-verified' style='{style}'>", "<h2 style='margin-top:0'>最终成绩（核验评分）</h2>"]
    if verified is None:
        parts.append("<p>这份作业还没有核验评分，请联系老师。</p>")
    else:
        parts.append(f"<p><b>总分：{total(verified):g} / {MAX_POINTS}</b>。隐藏测试在独立的进程中重新检查了你的代码，"
                     "成绩以本表为准；下方 nbgrader 页面中的分数仅供参考，若与本表不同，以本表为准。</p>")
        parts.append("<table style='border-collapse:collapse'><tr>" + "".join(
            f"<th style='border:1px solid #ccc;padding:2px 6px'>{h}</th>" for h in ("测试单元", "满分", "得分", "说明"))
            + "</tr>")
        for grade_id, points in TEST_CELLS.items():
            score = verified.get(grade_id, 0.0)
            note = messages.get(grade_id, "")
            if abs(nbgrader.get(grade_id, score) - score) > TOLERANCE:
                note = (note + " " if note else "") + f"（nbgrader 页面显示 {nbgrader.get(grade_id, 0.0):g} 分）"
            cell = "border:1px solid #ccc;padding:2px 6px"
            parts.append(f"<tr><td style='{cell}'>{grade_id}</td><td style='{cell};text-align:right'>{points}</td>"
                         f"<td style='{cell};text-align:right'>{score:g}</td>"
                         f"<td style='{cell};white-space:pre-wrap'>{esc(note) or '通过'}</td></tr>")
        parts.append("</table>")
    reasons = result.get("reasons") or []
    if reasons:
        parts.append("<p><b>说明：</b></p><ul>" + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>")
    parts += ["</div>", NOTE_END]
    return "\n".join(parts)


def add_feedback_note(html_path, result):
    """Puts feedback_note(result) at the top of the feedback page html_path (replacing an
    earlier note); writes a page with only the note when there is no feedback page."""
    html_path = Path(html_path)
    note = feedback_note(result)
    if html_path.exists():
        text = html_path.read_text(encoding="utf-8", errors="replace")
        text = re.sub(re.escape(NOTE_BEGIN) + ".*?" + re.escape(NOTE_END), "", text, flags=re.S)
        match = re.search(r"<body[^>]*>", text)
        position = match.end() if match else 0
        text = text[:position] + "\n" + note + "\n" + text[position:]
    else:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        text = (f"<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>"
                f"<title>{html.escape(result.get('student', ''))} 的评分</title></head><body>\n{note}\n</body></html>")
    if html_path.exists():
        html_path.chmod(0o644)          # nbgrader may leave its outputs read-only
    html_path.write_text(text, encoding="utf-8")
