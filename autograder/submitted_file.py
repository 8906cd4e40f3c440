"""Which file of a folder is the submission, when it holds both the notebook and a
`.py` module: the one the student changed, never silently the untouched stub.

The notebook is graded unless its code is exactly the released stub's (a student who
worked in an editor left it as it came); either way the report says which file was
graded and that the other was not.
"""
from __future__ import annotations

import json
from pathlib import Path

from autograder.release import RELEASE

SUFFIXES = (".ipynb", ".py")


def pick(folder: Path, assignment: str) -> Path | None:
    """`assignment`'s notebook or module in `folder`, the changed one where both are."""
    notebook, module = (folder / f"{assignment}{suffix}" for suffix in SUFFIXES)
    if notebook.is_file() and module.is_file():
        return module if _is_released_stub(notebook, assignment) else notebook
    return next((f for f in (notebook, module) if f.is_file()), None)


def note_on_other_file(file: Path, assignment: str) -> list[str]:
    """What the report says when `file` has the other kind of submission beside it."""
    others = [file.with_suffix(s) for s in SUFFIXES if s != file.suffix]
    other = next((o for o in others if o.is_file()), None)
    if other is None:
        return []
    if file.suffix == ".py" and _is_released_stub(other, assignment):
        return [f"graded {file.name}: {other.name} beside it is the unchanged stub"]
    return [f"graded {file.name}; {other.name} beside it was not graded (keep only the file "
            "you want graded, or leave the notebook as it was released to have the module "
            "graded)"]


def _is_released_stub(notebook: Path, assignment: str) -> bool:
    stub = RELEASE / assignment / f"{assignment}.ipynb"
    return stub.is_file() and _code_of(notebook) == _code_of(stub)


def _code_of(notebook: Path) -> list[str] | None:
    """The notebook's code cells (outputs and markdown aside), None if it is not one."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        return ["".join(c["source"]) for c in cells if c.get("cell_type") == "code"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
