"""nbgrader's course directory mapped onto the kit.

Run nbgrader from the repository root: `solutions/` is nbgrader's source,
`assignments/` its release; the submitted, autograded and feedback folders and
the gradebook (SQLite by default) are the course's working data, git-ignored.
"""
c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
