"""Scores of the written answers on the feedback page: shown once the teacher has graded them.

nbgrader's GetGrades puts every graded cell's score into the page, so a page made right
after autograding says "Written response (Score: 0.0 / 3.0)" for answers nobody has read yet,
and a total out of the autograded points plus every written answer's points. GradesSoFar
leaves such a cell without a score (the page shows the student's answer, as for an ungraded
cell) and counts the total out of the points graded so far. Once the teacher has scored a
written answer (formgrader's manual grading), the page made again shows its score and counts
it in the total.
"""
from nbgrader.preprocessors import GetGrades

__all__ = ["GradesSoFar"]


class GradesSoFar(GetGrades):
    """nbgrader's GetGrades, without the scores of hand-graded cells the teacher has not
    graded yet. resources["nbgrader"]["ungraded_points"]: their points."""

    def preprocess(self, nb, resources):
        resources["nbgrader"]["ungraded_points"] = 0.0
        nb, resources = super().preprocess(nb, resources)
        resources["nbgrader"]["max_score"] -= resources["nbgrader"]["ungraded_points"]
        return nb, resources

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        if grade.auto_score is None and grade.manual_score is None:
            cell.metadata.nbgrader["grade"] = False   # the template then shows no score
            resources["nbgrader"]["ungraded_points"] += float(grade.max_score)
