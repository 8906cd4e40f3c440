"""Trusted versions of the students' code: solutions, which checks run in place of a
student's own so that a bug costs its own check only (see `checks.stand_ins`).

One module per part. Only the instructor's kit holds this package: `autograder release
--student` leaves it out, as it leaves out `checks/hidden`.
"""
