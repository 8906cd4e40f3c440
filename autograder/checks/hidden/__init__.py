"""Hidden checks: they count when work is graded, and students never get their code.

One module per assignment, named like its public check module. Only the registry imports
them (`registry.checks_for`, after the public module, so they run after the public
checks), and `autograder release --student` leaves this package out of the student kit,
where the registry then finds the public checks only. Each module is the private half of
its public module: it registers with that module's `check` and uses its helpers,
underscored ones included, rather than copies.
"""
