"""The feedback page of a submission (nbgrader's, made self-contained and safe), one job per
module:

    cells.py     the student's cells cut to size before nbconvert renders them
    formulas.py  TeX -> MathML: the formula splitter and its bounds
    offline.py   the page made self-contained, the student's part of it without styles
    note.py      the grader's note at the top, out of reach of the student's HTML and CSS
    tree.py      linear-time edits of a parsed page

``make_offline(html, assignment_dir)`` (offline.py) is the batch's entry.
"""
from autograder.feedback_page.offline import make_offline

__all__ = ["make_offline"]
