"""a7's hash-stability check where the detector suite cannot reach: inside a notebook
kernel (nbgrader's front-end), whose functions live in `__main__` and have no file a
fresh process could load."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.notebook import run_check

FIXTURES = Path(__file__).parent / "fixtures" / "a7_langid"
CHECK = "a7_langid.ngram_ids_stable_across_processes"


def kernel_namespace(fixture: str) -> dict:
    """The globals a notebook kernel would hold after running the fixture's cells."""
    namespace = {"__name__": "__main__"}
    exec(compile((FIXTURES / f"{fixture}.py").read_text(), f"<{fixture}>", "exec"), namespace)
    return namespace


def test_stable_hash_passes_in_a_kernel(capsys: pytest.CaptureFixture) -> None:
    run_check(CHECK, kernel_namespace("correct_counter_tensors_best_epoch"))
    assert "passed" in capsys.readouterr().out


def test_salted_hash_fails_in_a_kernel() -> None:
    with pytest.raises(AssertionError, match="PYTHONHASHSEED=1 and .* PYTHONHASHSEED=2"):
        run_check(CHECK, kernel_namespace("bug_python_hash"))
