"""The loader runs a submission's top-level code as Jupyter would, except experiment
cells (tag `skip-execution`) and `if __name__ == "__main__":` blocks, with a time
budget per statement: a correct submission loads whatever its style, and a long or
failing statement is reported and skipped while the rest still loads."""
from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder.checks import checks_for
from autograder.grading import grade_file
from autograder.outcome import PASSED
from autograder.submission import SKIP_TAG, load_submission

FIXTURES = Path(__file__).parent / "fixtures" / "loading"
SHORT_BUDGET_S = 1


@pytest.fixture
def short_budget(course_config) -> None:
    course_config(f"[time_limits]\nstatement_s = {SHORT_BUDGET_S}\n")


def module(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent(source))
    return path


def notebook(tmp_path: Path, *cells: tuple[str, list[str]]) -> Path:
    """A notebook of (source, tags) code cells."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {})
        for source, tags in cells])
    path = tmp_path / "student.ipynb"
    nbformat.write(nb, path)
    return path


def test_module_level_objects_built_by_calls_are_defined(tmp_path):
    loaded = load_submission(module(tmp_path, """
        import itertools
        import numpy as np
        import torch
        from torch import nn

        _POWERS = np.arange(4)
        _ids = itertools.count()
        DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        loss_fn = nn.BCEWithLogitsLoss()
        if torch.cuda.is_available():
            BATCH = 256
        else:
            BATCH = 64

        def uses_them(x):
            return (x ** _POWERS).sum(), next(_ids), DEVICE.type, BATCH, type(loss_fn).__name__
    """))
    assert not loaded.problems
    assert loaded.module.uses_them(2) == (15, 0, "cpu", 64, "BCEWithLogitsLoss")


def test_main_block_and_skip_execution_cells_never_run(tmp_path):
    loaded = load_submission(module(tmp_path, """
        RAN = []
        if __name__ == "__main__":
            RAN.append("main block")
            raise SystemExit("the experiment must not run")
    """))
    assert not loaded.problems and loaded.module.RAN == []
    loaded = load_submission(notebook(
        tmp_path,
        ("RAN = []", []),
        ("RAN.append('experiment')\nraise RuntimeError('must not run')", [SKIP_TAG]),
        ("RAN.append('demo')", ["other-tag"])))
    assert not loaded.problems and loaded.module.RAN == ["demo"]


def test_failing_statement_is_reported_with_its_cell_and_the_rest_loads(tmp_path):
    loaded = load_submission(notebook(
        tmp_path, ("x = 1", []), ("import not_a_module\nAFTER = 2", []), ("exit()", [])))
    assert loaded.module.AFTER == 2
    assert loaded.problems[0] == ("line 1 of student.ipynb, cell 2 raised ModuleNotFoundError: "
                                  "No module named 'not_a_module'; that statement was skipped.")
    assert "line 1 of student.ipynb, cell 3 called exit()" in loaded.problems[1]


@pytest.mark.parametrize("loop", [
    "while True:\n    pass",
    "try:\n    while True:\n        pass\nexcept Exception:\n    pass",  # swallows what it can
    "__import__(\"time\").sleep(600)",
])
def test_statement_past_its_budget_is_stopped_and_the_rest_loads(tmp_path, short_budget, loop):
    loaded = load_submission(module(tmp_path, f"BEFORE = 1\n{loop}\nAFTER = 2\n"))
    assert (loaded.module.BEFORE, loaded.module.AFTER) == (1, 2)
    [problem] = loaded.problems
    assert problem.startswith("line 2 of student.py ran past its 1-second budget")
    assert SKIP_TAG in problem and '__name__ == "__main__"' in problem


def test_the_budget_puts_back_a_timer_that_was_running(tmp_path, short_budget):
    fired = []

    def handler(*_):
        fired.append(True)

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        load_submission(module(tmp_path, "while True:\n    pass\n"))
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 20 < left < 30 and not fired
        assert signal.getsignal(signal.SIGALRM) is handler
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.sst2
def test_a_training_run_left_at_the_top_level_costs_its_budget_not_the_grade(short_budget):
    report = grade_file("a2_training_loop", FIXTURES / "training_run_at_top_level.py")
    failed = {r.name: r.message for r in report.results if r.status != PASSED}
    assert not failed
    assert report.score == sum(c.points for c in checks_for("a2_training_loop"))
    assert any(p.startswith("line 58 of training_run_at_top_level.py ran past its 1-second")
               for p in report.problems), report.problems
