"""report.html and report.png, the class's page, from the per-student SubmissionResults
(autograder.result): the per-cell table with limits and reasons, the histogram of totals, each
part's pass rate, the named mistakes and relations per part, what the class gets wrong and the
late penalties. The numbers are autograder/report.py's; this module only shows them."""
import base64
import html
import io
from pathlib import Path

from autograder import catalogue
from autograder.checks import relations
from autograder.parts import PARTS, TEST_CELLS
from autograder.report import (SHORT, WEAK_WARNING, _fmt, class_summary, mistake_counts, pass_rates,
                               relation_counts)
from autograder.result import MAX_POINTS, is_weak


def histogram_png(results, path=None):
    """PNG bytes of the histogram of totals; also saved to path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = [r.total for r in results.values() if r.graded]
    bins = list(range(0, MAX_POINTS + 5, 5))
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    ax.hist(totals, bins=bins, color="#4c72b0", edgecolor="white", label=f"graded (n={len(totals)})")
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


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; vertical-align: top; }
th { background: #f3f3f3; } td.name, td.text { text-align: left; }
.warning { background: #ffd6d6; border: 2px solid #d33; padding: 0.6em; font-weight: bold; }
td.zero { color: #b00; } tr.flagged td.name { border-left: 4px solid #d33; }
td.text { max-width: 40em; font-size: 0.85em; }
.bar { background: #4c72b0; height: 0.8em; display: inline-block; }
.small { color: #666; font-size: 0.85em; }
"""


def write_report(results, html_path, png_path, course=None, hand_graded=None):
    """Self-contained report.html (inline CSS, histogram embedded as PNG) and report.png.
    hand_graded: {grade_id: points} of the written answers graded by hand in formgrader."""
    html_path = Path(html_path)
    png = histogram_png(results, png_path)
    esc = html.escape
    totals = [r.total for r in results.values() if r.graded]
    ungraded = [s for s, r in results.items() if not r.graded]
    limited = [s for s, r in results.items() if r.limits]
    sandboxes = sorted({r.sandbox or "none" for r in results.values()})
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Grading report</title>"
             f"<style>{CSS}</style></head><body>",
             "<h1>Grading report: mlp_optimizers</h1>"]
    if any(is_weak(r) for r in results.values()):
        parts.append(f"<p class='warning'>{esc(WEAK_WARNING)}</p>")
    parts += [f"<p>{len(results)} submissions; {len(totals)} graded; mean total "
              f"{(sum(totals) / len(totals)) if totals else 0:.1f} / {MAX_POINTS}; "
              f"<b>{len(ungraded)} not graded</b> (graded again on the next run); {len(limited)} hit a limit. "
              f"Sandbox: {esc(', '.join(sandboxes))}.</p>",
              "<p class='small'>Every score comes from the hidden checks run in the grader's process against "
              "the student's code in the sandbox; the same scores are in nbgrader's gradebook "
              "(grades_nbgrader.csv, formgrader). Hover over a score for its message.</p>",
              *([f"<p>Written answers graded by hand in formgrader, not part of the {MAX_POINTS} "
                 f"autograded points: {esc(', '.join(f'{g} ({p:g})' for g, p in hand_graded.items()))}; "
                 f"{sum(hand_graded.values()):g} points in all.</p>"] if hand_graded else []),
              "<h2>Distribution of totals</h2>",
              f"<img alt='histogram of total scores' src='data:image/png;base64,{base64.b64encode(png).decode()}'>",
              "<h2>Pass rate of each test cell</h2>",
              "<table><tr><th>test cell</th><th>points</th><th>full points</th><th></th><th>mean</th></tr>"]
    for grade_id, (rate, mean, count) in pass_rates(results).items():
        parts.append(f"<tr><td class='name'>{grade_id}</td><td>{TEST_CELLS[grade_id]}</td>"
                     f"<td>{rate:.0%} ({round(rate * count)}/{count})</td>"
                     f"<td class='name'><span class='bar' style='width:{rate * 12:.2f}em'></span></td>"
                     f"<td>{mean:.1f}</td></tr>")
    parts.append("</table>")
    parts += _mistakes_section(results)
    parts += _summary_section(results)
    parts += _lateness_section(results)
    parts.append("<h2>Scores per student</h2><table><tr><th>student</th>"
                 + "".join(f"<th title='{g}'>{SHORT[g]}<br><span class='small'>{p}</span></th>"
                           for g, p in TEST_CELLS.items())
                 + "<th>total</th><th>mistakes</th><th>limits</th><th>reasons</th><th>seconds</th>"
                 "<th>feedback</th></tr>")
    for student, result in sorted(results.items()):
        row = [f"<tr class='{'' if result.graded else 'flagged'}'><td class='name'>{esc(student)}</td>"]
        for grade_id in TEST_CELLS:
            if not result.graded:
                row.append("<td>-</td>")
                continue
            score = result.scores.get(grade_id, 0.0)
            message = result.messages.get(grade_id, "")
            row.append(f"<td class='{'zero' if score == 0 else ''}' title='{esc(message)}'>{score:g}</td>")
        link = result.feedback
        if link and course is not None:
            target = Path(course) / link
            try:
                link = target.relative_to(html_path.parent).as_posix()
            except ValueError:
                link = target.as_uri()
        link_html = f"<a href='{esc(link)}'>feedback</a>" if link else ""
        row.append(f"<td><b>{_fmt(result.total) or '-'}</b></td>"
                   f"<td class='text'>{esc(', '.join(sorted(set(result.mistakes.values()))))}</td>"
                   f"<td class='text'>{esc(' '.join(l.kind for l in result.limits))}</td>"
                   f"<td class='text'>{'<br>'.join(esc(r) for r in result.reasons())}</td>"
                   f"<td>{result.seconds:.1f}</td><td class='text'>{link_html}</td></tr>")
        parts.append("".join(row))
    parts.append("</table></body></html>")
    html_path.write_text("\n".join(parts), encoding="utf-8")
    return html_path


def _mistakes_section(results):
    """The per-part counts of named mistakes: what to discuss in the next lecture."""
    esc = html.escape
    graded = sum(r.graded for r in results.values())
    parts = ["<h2>Known mistakes, per part</h2>",
             "<p class='small'>When a hidden check fails, the grader runs that part's known mistakes "
             "(autograder/catalogue.py) on the same inputs; a mistake is named when the student's code behaves "
             "exactly like it. Each student counts once per mistake.</p>"]
    counts = mistake_counts(results)
    found = relation_counts(results)
    if not counts and not found:
        return parts + ["<p>No known mistake was named.</p>"]
    parts.append("<table><tr><th>part</th><th>mistake</th><th>students</th><th></th><th>who</th></tr>")
    for grade_id, mistakes in counts.items():
        for entry_id, students in sorted(mistakes.items(), key=lambda item: -len(item[1])):
            try:
                entry = catalogue.get(entry_id)
                kind = ", published variant" if entry.variant else ""
                title = f"{esc(entry.title)} <span class='small'>({esc(entry_id)}{kind})</span>"
                explanation = esc(entry.explanation)
            except KeyError:
                title, explanation = esc(entry_id), ""
            share = len(students) / graded if graded else 0.0
            parts.append(f"<tr><td class='name'>{esc(grade_id)}</td><td class='name' title='{explanation}'>{title}</td>"
                         f"<td>{len(students)} ({share:.0%})</td>"
                         f"<td class='name'><span class='bar' style='width:{share * 12:.2f}em'></span></td>"
                         f"<td class='text'>{esc(', '.join(students))}</td></tr>")
    for grade_id, named in found.items():  # failures no entry matched, named by their relation to the reference
        for relation_id, students in sorted(named.items(), key=lambda item: -len(item[1])):
            share = len(students) / graded if graded else 0.0
            parts.append(f"<tr><td class='name'>{esc(grade_id)}</td><td class='name' "
                         f"title='{esc(relations.sentence(relation_id))}'>{esc(relation_id)} "
                         f"<span class='small'>(relation to the reference)</span></td>"
                         f"<td>{len(students)} ({share:.0%})</td>"
                         f"<td class='name'><span class='bar' style='width:{share * 12:.2f}em'></span></td>"
                         f"<td class='text'>{esc(', '.join(students))}</td></tr>")
    parts.append("</table>")
    return parts


def _summary_section(results):
    """What the class gets wrong: per part, each mistake by how many students made it, with
    the sentence an instructor can say in class."""
    esc = html.escape
    summary = class_summary(results)
    parts = ["<h2>What the class gets wrong</h2>",
             "<p class='small'>Per part, most frequent first: the catalogued mistakes and the relations to the "
             "reference named in failed checks, and the failures nothing named; each with a sentence to say in "
             "class.</p>"]
    if not summary:
        return parts + ["<p>Every graded cell passed.</p>"]
    for grade_id, items in summary.items():
        parts.append(f"<h3>{esc(PARTS[grade_id].name)} <span class='small'>({esc(grade_id)})</span></h3><ol>")
        for students, name, text in items:
            label = f" <span class='small'>{esc(name)}</span>" if name else ""
            parts.append(f"<li><b>{len(students)}</b> students: {esc(text)}{label}</li>")
        parts.append("</ol>")
    return parts


def _lateness_section(results):
    """Each submission against the course policy's due date (course_policy.toml): raw total,
    lateness, penalty and final total; nothing without a policy."""
    esc = html.escape
    rows = {s: r for s, r in sorted(results.items()) if r.lateness is not None}
    if not rows:
        return []
    late = sum(bool(r.lateness.late) for r in rows.values())
    unknown = [s for s, r in rows.items() if not r.lateness.known]
    parts = ["<h2>Deadline and late penalties</h2>",
             f"<p>{late} of {len(rows)} submissions late; {len(unknown)} without a submission time (counted as on "
             "time: the input gives none). The penalty is a share of the score; nbgrader's gradebook holds the same "
             "due date, times, extensions and penalties.</p>",
             "<table><tr><th>student</th><th>total</th><th>penalty</th><th>final</th><th>lateness</th></tr>"]
    for student, result in rows.items():
        lateness = result.lateness
        parts.append(f"<tr class='{'flagged' if lateness.late else ''}'><td class='name'>{esc(student)}</td>"
                     f"<td>{_fmt(result.total) or '-'}</td><td>{lateness.percent:g}%</td>"
                     f"<td><b>{_fmt(result.final) or '-'}</b></td><td class='text'>{esc(lateness.text())}</td></tr>")
    parts.append("</table>")
    return parts
