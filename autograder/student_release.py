"""Write what students get (`autograder release --student DIR`), from the instructor's kit:

    DIR/README.md                         the two commands: install the kit, check your work
    DIR/<assignment>/<assignment>.ipynb   the nbgrader stub, as in assignments/
    DIR/<assignment>/<assignment>.py      the same stub as a module, for those who use an editor
    DIR/kit/                              the student package, installed with `pip install kit`

The kit is this package copied without its hidden checks (`checks/hidden`), the trusted
versions of the students' code that checks run in place of theirs (`checks/trusted`:
solutions) and the instructor's tools, with the measured times of the public checks only
and a pyproject.toml with the kit's own dependencies. Its `bundled/` folder holds the
data manifest (so `autograder data fetch` works) and the stubs again, from which the
grader tells a notebook left as released from a worked one (`submitted_file`); found
there by `paths.kit_path`, they let the kit install as a plain package. Never
solutions/, tests/ or fixtures.
"""
from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import nbformat

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.checks.registry import REFERENCE_TIMES, datasets_for
from autograder.data.manifest import DATA_DIR_ENV, MANIFEST_PATH, fetch_hint
from autograder.paths import BUNDLED, REPO_ROOT
from autograder.release import RELEASE, SOLUTIONS
from autograder.submission import SKIP_TAG, is_experiment, is_grader_cell, without_magics

PACKAGE = Path(__file__).resolve().parent
KIT = "kit"
STUDENT_DISTRIBUTION = "nn-autograder-student"
# Paths in the package that students never get: the hidden checks, the trusted versions
# of their code (solutions), and instructor tools nothing a student runs imports (README
# check tables, nbgrader's feedback preprocessor).
INSTRUCTOR_ONLY = ("checks/hidden", "checks/trusted", "check_tables.py", "feedback.py")
_BUILD_LEFTOVERS = ("__pycache__", ".pyc")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TIMES_LINE = re.compile(r'"(?P<id>[^"]+)"\s*=')


class StudentReleaseError(Exception):
    """The student release cannot be written as asked; the message says what to do."""


def write_student_release(destination: Path, *,
                          assignments: tuple[str, ...] = ASSIGNMENTS) -> Path:
    """Write the student release of `assignments` (the kit always holds every assignment's
    public checks) to `destination` and return it."""
    _refuse_the_kits_own_folders(destination)
    stubs = {a: RELEASE / a / f"{a}.ipynb" for a in assignments}
    missing = [str(path) for path in stubs.values() if not path.is_file()]
    if missing:
        raise StudentReleaseError(f"no stub at {', '.join(missing)}: generate it first with "
                                  "`autograder release` (nbgrader)")
    destination.mkdir(parents=True, exist_ok=True)
    kit = destination / KIT
    _copy_package(kit)
    (kit / "pyproject.toml").write_text(student_pyproject(), encoding="utf-8")
    _bundle(kit, MANIFEST_PATH)
    for assignment, stub in stubs.items():
        _bundle(kit, stub)
        folder = destination / assignment
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        shutil.copyfile(stub, folder / stub.name)
        (folder / f"{assignment}.py").write_text(stub_module(stub), encoding="utf-8")
    (destination / "README.md").write_text(student_readme(assignments), encoding="utf-8")
    return destination


def _refuse_the_kits_own_folders(destination: Path) -> None:
    """The release replaces README.md and whole folders in `destination`: never the
    repository's own (a folder of its own inside the repository is fine)."""
    target = destination.resolve()
    if REPO_ROOT.is_relative_to(target) or any(target.is_relative_to(folder)
                                               for folder in (RELEASE, SOLUTIONS, PACKAGE)):
        raise StudentReleaseError(f"{destination} is or holds the kit's own files, which the "
                                  "release would overwrite; write it to a folder of its own "
                                  "(e.g. student-release)")


def _copy_package(kit: Path) -> None:
    """The package without INSTRUCTOR_ONLY, and the times of the public checks only."""
    shutil.rmtree(kit, ignore_errors=True)  # nothing of an earlier build may survive
    copy = kit / PACKAGE.name
    shutil.copytree(PACKAGE, copy, ignore=_not_for_students)
    times = copy / REFERENCE_TIMES.relative_to(PACKAGE)
    times.write_text(public_reference_times(), encoding="utf-8")


def _not_for_students(directory: str, names: list[str]) -> set[str]:
    """shutil.copytree's `ignore`: what in `directory` stays out of the student kit."""
    here = Path(directory).relative_to(PACKAGE)
    return {name for name in names if (here / name).as_posix() in INSTRUCTOR_ONLY
            or name.endswith(_BUILD_LEFTOVERS)}


def _bundle(kit: Path, file: Path) -> None:
    """Copy a file the kit reads from the checkout into the kit's package, under
    `bundled/` at its place in the repository (where `paths.kit_path` looks first)."""
    target = kit / BUNDLED.relative_to(REPO_ROOT) / file.relative_to(REPO_ROOT)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(file, target)


def public_reference_times() -> str:
    """reference_times.toml without the lines of hidden checks, which would name them."""
    hidden = {c.id for a in ASSIGNMENTS for c in checks_for(a) if c.hidden}
    lines = REFERENCE_TIMES.read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(line for line in lines
                   if not ((found := _TIMES_LINE.match(line)) and found["id"] in hidden))


def student_pyproject() -> str:
    """The kit's pyproject.toml for the student package: the same dependencies, entry
    point and package data under another distribution name, and none of the tool
    settings (pytest, ruff) that only the kit's own tests use."""
    pyproject = REPO_ROOT / "pyproject.toml"
    if not pyproject.is_file():
        raise StudentReleaseError(f"no pyproject.toml in {REPO_ROOT}: write the student "
                                  "release from the kit's repository (`pip install -e .`)")
    with open(pyproject, "rb") as handle:
        source = tomllib.load(handle)
    project, setuptools = source["project"], source["tool"]["setuptools"]
    tables = {
        "build-system": source["build-system"],
        "project": {"name": STUDENT_DISTRIBUTION, "version": project["version"],
                    "description": f"{project['description']} The students' kit.",
                    "requires-python": project["requires-python"],
                    "dependencies": project["dependencies"]},
        "project.scripts": project["scripts"],
        "tool.setuptools.packages.find": setuptools["packages"]["find"],
        "tool.setuptools.package-data": setuptools["package-data"],
    }
    return "\n".join(f"[{name}]\n" + "".join(f"{_toml_key(key)} = {json.dumps(value, indent=4)}\n"
                                              for key, value in table.items())
                     for name, table in tables.items())


def _toml_key(key: str) -> str:
    """A TOML key: bare where it may be, else quoted (JSON strings are TOML strings)."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def stub_module(notebook: Path) -> str:
    """The notebook as a module in the percent format editors read as cells (`# %%`): its
    markdown as comments, its code as is, the cells tagged as experiments under
    `if __name__ == "__main__":` (skipped by the grader, as the tag is in the notebook)
    and no autograder cells. `autograder check` loads it as it loads the notebook."""
    cells = nbformat.read(notebook, as_version=4).cells
    parts = [f"# {notebook.stem}: the released stub as a module. Work in this file or in\n"
             f"# {notebook.name}, not both: `autograder check {notebook.stem}` grades the one "
             "you changed."]
    for cell in cells:
        if cell.cell_type == "markdown":
            parts.append("# %% [markdown]\n" + _as_comment(cell.source))
        elif cell.cell_type == "code" and not is_grader_cell(cell):
            parts.append("# %%\n" + _code(cell))
    return "\n\n\n".join(parts) + "\n"


def _as_comment(text: str) -> str:
    return "\n".join(f"# {line}".rstrip() for line in text.splitlines())


def _code(cell) -> str:
    source = without_magics(cell.source)
    if not is_experiment(cell):
        return source
    body = "\n".join(f"    {line}".rstrip() for line in source.splitlines())
    return f'if __name__ == "__main__":  # a cell tagged {SKIP_TAG}\n{body}'


def student_readme(assignments: tuple[str, ...]) -> str:
    """The release's README: install once, then check an assignment."""
    first = assignments[0]
    data = sorted({name for a in assignments for name in datasets_for(a)})
    fetch = "".join(f"- {name} ({', '.join(a for a in assignments if name in datasets_for(a))})"
                    f": {fetch_hint(name)}\n" for name in data)
    return (
        "# Your assignments\n\n"
        "Install the kit once, from this folder (Python 3.11 or newer):\n\n"
        f"    pip install ./{KIT}\n\n"
        "Then check your work on an assignment, from this folder:\n\n"
        f"    autograder check {first}\n\n"
        f"Write your code in `{first}/{first}.ipynb`, or in `{first}/{first}.py` if you "
        "prefer an editor; the check grades the one you changed. It runs the public checks "
        "only: hidden checks run when your work is graded.\n"
        + (f"\nSome assignments read data; fetch it once before checking them (it goes to "
           f"your user data folder; `autograder --data-dir DIR ...` or the environment "
           f"variable {DATA_DIR_ENV} puts it elsewhere):\n\n{fetch}" if data else "")
        + "\nAssignments in this release: " + ", ".join(assignments) + ".\n")
