"""Load a student's notebook or module as a namespace the checks can call.

The top-level code runs in order, as Jupyter and nbgrader run it, except notebook
cells tagged `skip-execution` (nbclient, and so `nbgrader autograde`, skips them too)
and `if __name__ == "__main__":` blocks in a module (the namespace is not
`__main__`). Each top-level statement has a time budget: one that fails or runs
past it is reported and skipped, and the rest still loads, so a correct submission
loads whatever its style and an experiment left at the top level costs seconds.
"""
from __future__ import annotations

import ast
import linecache
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Iterator

from autograder import limits
from autograder.course import time_limit
from autograder.student_code import register_source, shown

SKIP_TAG = "skip-execution"
STATEMENT_BUDGET_S = 5.0  # per top-level statement; a course sets [time_limits] statement_s
# After the budget, the stop is tried again this often: the code may have swallowed it,
# or been inside an import, which is never interrupted (a half-imported module left in
# sys.modules would break the checks that import it next).
_RESTOP_S = 0.5


class SubmissionError(Exception):
    """The submission cannot be read at all (missing, not a notebook, wrong type)."""


class StatementOverBudget(BaseException):
    """Raised into a top-level statement that ran past its budget; a BaseException so
    that the student's `except Exception:` does not swallow it."""


@dataclass
class Submission:
    module: ModuleType
    problems: list[str] = field(default_factory=list)


def statement_budget_s() -> float:
    return time_limit("statement_s", STATEMENT_BUDGET_S)


def load_submission(path: Path, module_name: str = "submission") -> Submission:
    """Run the top-level code of `path` (.ipynb or .py) in a fresh module."""
    module = ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module
    submission = Submission(module)
    budget = statement_budget_s()
    for filename, source in _code_units(path):
        _run_unit(source, filename, submission, budget)
    return submission


def _code_units(path: Path) -> list[tuple[str, str]]:
    """(filename for tracebacks, source) for each code cell, or the whole module."""
    if not path.is_file():
        raise SubmissionError(f"no file at {path}")
    if path.suffix == ".py":
        return [(str(path), path.read_text(encoding="utf-8", errors="replace"))]
    if path.suffix != ".ipynb":
        raise SubmissionError(f"{path.name} is neither a notebook (.ipynb) nor a module (.py)")
    import nbformat  # only for notebooks: its JSON-schema machinery takes seconds to import

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for bad files
        raise SubmissionError(
            f"{path.name} could not be read as a Jupyter notebook ({type(exc).__name__}: "
            f"{str(exc)[:300]}). Was it saved from Jupyter, and not renamed from another file?"
        ) from exc
    units = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code" or is_grader_cell(cell) or is_experiment(cell):
            continue
        filename = f"<{path.name}, cell {number}>"
        source = without_magics(cell.source)
        register_source(filename)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        units.append((filename, source))
    return units


def is_grader_cell(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def is_experiment(cell) -> bool:
    return SKIP_TAG in cell.metadata.get("tags", [])


def without_magics(source: str) -> str:
    """Comment out IPython magics and shell escapes so the cell parses as Python."""
    return "\n".join(
        "# " + line if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines()
    )


def _run_unit(source: str, filename: str, submission: Submission, budget_s: float) -> None:
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        submission.problems.append(
            f"syntax error at line {exc.lineno} of {shown(filename)}: {exc.msg}; "
            "nothing in that cell was loaded."
        )
        return
    for statement in tree.body:
        code = compile(ast.Module([statement], type_ignores=[]), filename, "exec")
        where = f"line {statement.lineno} of {shown(filename)}"
        try:
            with _time_budget(budget_s):
                exec(code, submission.module.__dict__)
        except StatementOverBudget:
            submission.problems.append(
                f"{where} ran past its {budget_s:g}-second budget and was stopped, so "
                "whatever it would have defined is missing. The grader runs your top-level "
                "code before the checks: move long runs (training, big plots) into a cell "
                f"tagged `{SKIP_TAG}`, or in a .py file under `if __name__ == \"__main__\":`.")
        except SystemExit:
            submission.problems.append(
                f"{where} called exit(); that statement was skipped and loading went on.")
        except Exception as exc:  # noqa: BLE001 - report and keep loading
            cap = limits.cap_reached(exc)
            said = f"{cap[0]} at {where}. {cap[1]} That" if cap else \
                f"{where} raised {type(exc).__name__}: {exc}; that"
            submission.problems.append(f"{said} statement was skipped.")


@contextmanager
def _time_budget(seconds: float) -> Iterator[None]:
    """Raise StatementOverBudget into the code after `seconds` of wall time. Any timer
    already running (pytest-timeout's) is put back with the time it had left."""
    def stop(signum, frame):
        if not _importing(frame):  # else the timer's interval tries again shortly
            raise StatementOverBudget

    previous_handler = signal.signal(signal.SIGALRM, stop)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds, _RESTOP_S)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:
            left = max(previous_delay - (time.monotonic() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, previous_interval)


def _importing(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False
