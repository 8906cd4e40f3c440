"""Which code is the student's, and how to name a line of it in a message.

Checks, the classifier and the loader all ask "did this pass through the student's
code, and where?"; this module answers it below all of them, so that checks need
neither the loader nor the classifier. The loader registers the pseudo-filenames it
gives notebook cells (`<a2.ipynb, cell 5>`); any other file is the student's unless
it belongs to the grader or to an installed library.
"""
from __future__ import annotations

import sysconfig
import traceback
from pathlib import Path

_SOURCES: set[str] = set()
_GRADER_DIR = str(Path(__file__).resolve().parent)
_LIBRARY_DIRS = tuple(
    {str(Path(p).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib")
     if (p := sysconfig.get_path(key))}
)


def register_source(filename: str) -> None:
    """Remember a pseudo-filename the loader gave some of the student's code."""
    _SOURCES.add(filename)


def is_submission_source(filename: str) -> bool:
    return filename in _SOURCES


def is_student_file(filename: str) -> bool:
    if is_submission_source(filename):
        return True
    if filename.startswith("<"):
        return False
    resolved = str(Path(filename).resolve())
    return not resolved.startswith(_LIBRARY_DIRS + (_GRADER_DIR,))


def shown(filename: str) -> str:
    """How a source is named to the student: 'a2.ipynb, cell 5' or 'a2.py'."""
    return filename.strip("<>") if filename in _SOURCES else Path(filename).name


def location(frame: traceback.FrameSummary) -> str:
    """'line 7 of a2.ipynb, cell 5' for a frame of student code."""
    return f"line {frame.lineno} of {shown(frame.filename)}"


def student_frames(frames: traceback.StackSummary) -> list[traceback.FrameSummary]:
    return [f for f in frames if is_student_file(f.filename)]


def raised_by_student(exc: BaseException) -> bool:
    """Whether the exception passed through the student's code (a bug of theirs), not
    only through the grader's and the libraries' (a call the submission cannot take)."""
    return bool(student_frames(traceback.extract_tb(exc.__traceback__)))
