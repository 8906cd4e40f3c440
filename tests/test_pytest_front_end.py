"""The pytest front-end runs by hand too (as a CI platform would run it), without the
grader's signed results channel: pytest's own report is then the result."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "a2_training_loop"


def _pytest(submission: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(tmp_path / "pytest.ini"), "-p",
         "autograder.pytest_plugin", "-p", "no:cacheprovider", "--submission", str(submission),
         "--assignment", "a2_training_loop", "-k", "not sst2", "--pyargs",
         "autograder.pytest_checks"], cwd=tmp_path, capture_output=True, text=True)


@pytest.mark.parametrize("fixture, returncode, words", [
    ("correct_model_zero_grad", 0, "9 passed"),
    ("bug_zero_grad_never", 1, "`zero_grad()` is never called in `train_epoch`"),
])
def test_pytest_front_end_without_the_grader(fixture, returncode, words, tmp_path):
    done = _pytest(FIXTURES / f"{fixture}.py", tmp_path)
    assert done.returncode == returncode, done.stdout[-3000:]
    assert words in done.stdout
