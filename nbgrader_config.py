"""nbgrader's course directory mapped onto the kit.

Run nbgrader from the repository root: `solutions/` is nbgrader's source,
`assignments/` its release; the submitted, autograded and feedback folders and
the gradebook (SQLite by default) are the course's working data, git-ignored.
"""
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from autograder.feedback import CheckMessagesOnly

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# A deleted autograder cell is put back and run, so a check is graded whether or
# not the student kept its cell, as `autograder grade` does.
c.OverwriteCells.add_missing_cells = True

# Per-cell time limit when autograding. The slowest cells train on SST-2:
# 2.3 s on an idle 2-core machine, about 63 s on a heavily loaded one with torch's
# default two threads (benchmarks/notebook_cells.py). 300 s is about 5x the worst.
c.Execute.timeout = 300

# Students see each check's title and message, never a hidden test's source.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CheckMessagesOnly,
                                    CSSHTMLHeaderPreprocessor]

# `nbgrader zip_collect`: an LMS download (Canvas style) of files named
# <student>_<user id>_<submission id>_<notebook>[-<n>].ipynb, e.g.
# smithjane_1234_56789_a2_training_loop.ipynb (LATE_ may follow the student).
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[^/_]+)_(?:LATE_)?\d+_\d+_(?P<file_id>[^/]+?)(?:-\d+)?\.ipynb$"
)
