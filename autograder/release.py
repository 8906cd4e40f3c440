"""Generate the student release (`assignments/`) from the solutions with nbgrader.

Generation happens in a scratch course directory, so the instructor's gradebook
is never touched and a test can regenerate and compare without side effects.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.paths import REPO_ROOT, kit_path

SOLUTIONS = REPO_ROOT / "solutions"
RELEASE = kit_path("assignments")  # the stubs as released


class ReleaseError(Exception):
    """nbgrader refused to generate the release; the message carries its log."""


def run_nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`nbgrader ARGS` with this environment's Python, from `cwd` (where nbgrader looks
    for nbgrader_config.py). nbgrader runs `alembic` by name, so the environment's
    scripts go first on PATH even when the environment is not activated."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "PATH": path})


def generate(assignment: str, destination: Path) -> Path:
    """Write the release of `assignment` to `destination/assignment` and return it."""
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as scratch:
        course = Path(scratch)
        shutil.copytree(SOLUTIONS / assignment, course / "solutions" / assignment)
        done = run_nbgrader("generate_assignment", assignment, "--force",
                            f"--CourseDirectory.root={course}",
                            f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}",
                            cwd=REPO_ROOT)
        if done.returncode != 0:
            raise ReleaseError(f"nbgrader generate_assignment {assignment} failed:\n"
                               f"{done.stdout}{done.stderr}")
        target = destination / assignment
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(course / "assignments" / assignment, target)
    return target
