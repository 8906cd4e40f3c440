"""The student release is generated, never hand-edited, and leaks nothing.

- regenerating with nbgrader reproduces the committed `assignments/` exactly;
- no solution line or hidden test appears in the release;
- the notebook's autograder cells are exactly the registry's checks, with the
  same points and visibility (points live in one place).
"""
from __future__ import annotations

import re

import nbformat
import pytest

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.release import RELEASE, SOLUTIONS, generate
from autograder.submission import SKIP_TAG

REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)(.*?)### END \1", re.S)
MIN_LEAK_LINE = 12  # shorter lines (`return loss`) occur legitimately in stubs


def _notebook(folder, assignment):
    return nbformat.read(folder / assignment / f"{assignment}.ipynb", as_version=4)


def _sources(notebook) -> str:
    return "\n".join(cell.source for cell in notebook.cells)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_a_fresh_generation(assignment, tmp_path):
    fresh = generate(assignment, tmp_path)
    committed = RELEASE / assignment
    assert sorted(p.name for p in fresh.iterdir()) == sorted(p.name for p in committed.iterdir())
    assert _notebook(tmp_path, assignment) == _notebook(RELEASE, assignment), (
        f"assignments/{assignment} differs from a fresh generation: run "
        f"`autograder release {assignment}` and commit the result, never edit it by hand")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_leaks_no_solution_or_hidden_test(assignment):
    source = _sources(_notebook(SOLUTIONS, assignment))
    release = _sources(_notebook(RELEASE, assignment))
    assert "### BEGIN" not in release and "### END" not in release
    outside = {line.strip() for line in REGION.sub("", source).splitlines()}
    released = {line.strip() for line in release.splitlines()}
    secret = {line.strip() for match in REGION.finditer(source)
              for line in match.group(2).splitlines()}
    leaked = sorted(line for line in secret - outside
                    if len(line) >= MIN_LEAK_LINE and line in released)
    assert not leaked, f"solution or hidden-test lines in the release: {leaked}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_cells_match_the_registry(assignment):
    cells = {}
    for cell in _notebook(SOLUTIONS, assignment).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            assert f'run_check("{assignment}.{meta["grade_id"]}", globals())' in cell.source
            cells[meta["grade_id"]] = (meta["points"], "BEGIN HIDDEN TESTS" in cell.source)
    registry = {c.name: (c.points, c.hidden) for c in checks_for(assignment)}
    assert cells == registry


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_keeps_the_experiment_tags_the_grader_skips(assignment):
    def tagged(folder):
        return [cell.source for cell in _notebook(folder, assignment).cells
                if SKIP_TAG in cell.metadata.get("tags", [])]
    assert tagged(RELEASE) == tagged(SOLUTIONS)
    assert all(source.startswith("# Experiment: the grader skips this cell")
               for source in tagged(SOLUTIONS))
