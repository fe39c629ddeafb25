"""Course assignments: solution regions in the notebooks, student/instructor builds, checks.

Syntax (inside any code cell of ``notebooks/*.ipynb``)::

    def my_triplet(features, labels, margin=0.3):
        # BEGIN SOLUTION triplet
        ...reference code...
        # END SOLUTION

The student build replaces everything between the markers by a stub that raises
:class:`tsgan.checks.ExerciseNotDone` (keeping the indentation), so the notebook runs up to the
exercise's check cell and stops there with a message that says what to do. The instructor build
keeps the solution and only removes the marker lines. See ``docs/TEACHING.md``.
"""

from .build import build_assignments, instructor_source, student_source
from .grade import grade_notebook

__all__ = ["build_assignments", "grade_notebook", "student_source", "instructor_source"]
