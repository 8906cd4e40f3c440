"""A folder with both the notebook and a `.py` module: the one the student changed is
graded, never silently the untouched stub, and the report says which."""
from __future__ import annotations

import shutil
from pathlib import Path

from autograder.grading import grade
from autograder.release import RELEASE, SOLUTIONS

A1 = "a1_backprop"
CORRECT_MODULE = Path(__file__).parent / "fixtures" / A1 / "correct_mlp_loops.py"
BUGGY_MODULE = Path(__file__).parent / "fixtures" / A1 / "bug_poly_loss_sum.py"


def folder_with(tmp_path: Path, notebook: Path, module: Path) -> Path:
    folder = tmp_path / A1
    folder.mkdir()
    shutil.copyfile(notebook, folder / f"{A1}.ipynb")
    shutil.copyfile(module, folder / f"{A1}.py")
    return folder


def test_an_untouched_stub_notebook_gives_way_to_the_module(tmp_path):
    folder = folder_with(tmp_path, RELEASE / A1 / f"{A1}.ipynb", CORRECT_MODULE)
    [report] = grade(folder)
    assert report.submission.endswith(f"{A1}.py")
    assert report.score == report.max_score
    assert f"graded {A1}.py: {A1}.ipynb beside it is the unchanged stub" in report.problems


def test_a_changed_notebook_is_graded_and_the_module_beside_it_named(tmp_path):
    folder = folder_with(tmp_path, SOLUTIONS / A1 / f"{A1}.ipynb", BUGGY_MODULE)
    [report] = grade(folder)
    assert report.submission.endswith(f"{A1}.ipynb")
    assert report.score == report.max_score
    assert any(p.startswith(f"graded {A1}.ipynb; {A1}.py beside it was not graded")
               for p in report.problems), report.problems
