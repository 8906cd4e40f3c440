"""Load a student's notebook or module as a namespace the checks can call.

Only definitions run: imports, `def`, `class`, and assignments that call
nothing (`HIDDEN = 128`). Training runs, plots and prints at the top level are
skipped, so grading never waits on a student's experiments. One statement that
fails to run is reported and skipped; the rest of the submission still loads.
"""
from __future__ import annotations

import ast
import linecache
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

_SOURCES: set[str] = set()
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class SubmissionError(Exception):
    """The submission cannot be read at all (missing, not a notebook, wrong type)."""


@dataclass
class Submission:
    module: ModuleType
    problems: list[str] = field(default_factory=list)


def is_submission_source(filename: str) -> bool:
    return filename in _SOURCES


def location(frame: traceback.FrameSummary) -> str:
    """'line 7 of a2.ipynb, cell 5' for a frame of student code."""
    return f"line {frame.lineno} of {_shown(frame.filename)}"


def _shown(filename: str) -> str:
    """How a source is named to the student: 'a2.ipynb, cell 5' or 'a2.py'."""
    return filename.strip("<>") if filename in _SOURCES else Path(filename).name


def load_submission(path: Path, module_name: str = "submission") -> Submission:
    """Run the definitions of `path` (.ipynb or .py) in a fresh module."""
    module = ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module
    submission = Submission(module)
    for filename, source in _code_units(path):
        _run_definitions(source, filename, submission)
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
        if cell.cell_type != "code" or _is_grader_cell(cell):
            continue
        filename = f"<{path.name}, cell {number}>"
        source = _without_magics(cell.source)
        _SOURCES.add(filename)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        units.append((filename, source))
    return units


def _is_grader_cell(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def _without_magics(source: str) -> str:
    """Comment out IPython magics and shell escapes so the cell parses as Python."""
    return "\n".join(
        "# " + line if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines()
    )


def _run_definitions(source: str, filename: str, submission: Submission) -> None:
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        submission.problems.append(
            f"syntax error at line {exc.lineno} of {_shown(filename)}: {exc.msg}; "
            "nothing in that cell was loaded."
        )
        return
    for statement in tree.body:
        if not _is_definition(statement):
            continue
        code = compile(ast.Module([statement], type_ignores=[]), filename, "exec")
        try:
            exec(code, submission.module.__dict__)
        except Exception as exc:  # noqa: BLE001 - report and keep loading
            submission.problems.append(
                f"line {statement.lineno} of {_shown(filename)} raised "
                f"{type(exc).__name__}: {exc}; that statement was skipped."
            )


def _is_definition(statement: ast.stmt) -> bool:
    if isinstance(statement, _DEFINITIONS):
        return True
    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
        value = statement.value
        return value is not None and not any(isinstance(n, ast.Call) for n in ast.walk(value))
    if isinstance(statement, (ast.If, ast.Try)):
        nested = statement.body + statement.orelse + getattr(statement, "finalbody", [])
        nested += [s for handler in getattr(statement, "handlers", []) for s in handler.body]
        return all(_is_definition(s) for s in nested)
    return False
