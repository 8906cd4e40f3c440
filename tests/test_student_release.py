"""`autograder release --student` writes what students get, and nothing in it shows a
hidden check or a solution; the kit in it installs, and what it installs grades the
public checks: the reference passes them, the untouched stub fails them saying "not
implemented yet", and a stub or solution written as a module grades as the notebook does.

The release is written once; the kit is installed with pip into a target folder and run
in subprocesses from there, so the student copy grades, never this checkout.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.checks.support import gpu_checks_skipped_here
from autograder.cli import OWN_VERSIONS_NOTE, main
from autograder.data.manifest import DATA_DIR_ENV, data_dir
from autograder.grading import grade_file
from autograder.outcome import FAILED
from autograder.paths import BUNDLED, REPO_ROOT
from autograder.release import RELEASE, SOLUTIONS
from autograder.student_release import INSTRUCTOR_ONLY, KIT, STUDENT_DISTRIBUTION, stub_module

A1, A4, A5 = "a1_backprop", "a4_early_stopping", "a5_ffn_gpu"
RUN_TIMEOUT_S = 300
MIN_SOLUTION_LINE = 16  # shorter lines (`return loss`) are no one's secret
# Lines the grader writes as every solution does: a loop of one name over another, seeding.
COMMON_IDIOM = re.compile(r"for \w+ in \w+:|torch\.manual_seed\(\w+\)")


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("student") / "release"
    result = CliRunner().invoke(main, ["release", "--student", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def installed(release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The student package installed by pip into a folder of its own (from a copy of the
    kit, so that pip's build leftovers stay out of the release)."""
    work = tmp_path_factory.mktemp("install")
    source = shutil.copytree(release / KIT, work / KIT)
    target = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target), str(source)],
                   check=True, capture_output=True, text=True)
    return target


def public_and_hidden(assignment: str) -> tuple[list[str], list[str]]:
    checks = checks_for(assignment)
    return [c.name for c in checks if not c.hidden], [c.name for c in checks if c.hidden]


def run_student(*args: str, path: Path, cwd: Path,
                env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess:
    """`python ARGS` with only `path` in front of the environment's packages (`-P`: not
    the working folder either), as on a student's machine, with `env`'s changes (None
    unsets a variable)."""
    changed = {**os.environ, "PYTHONPATH": str(path), "COLUMNS": "250", **(env or {})}
    env = {name: value for name, value in changed.items() if value is not None}
    return subprocess.run([sys.executable, "-P", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S)


def student_check(assignment: str, *, path: Path, cwd: Path) -> subprocess.CompletedProcess:
    return run_student("-m", "autograder", "check", assignment, path=path, cwd=cwd)


def rows(output: str) -> dict[str, str]:
    """The check table's rows by check name: the points cell."""
    return dict(re.findall(r"^│ (\w+)\s+│\s+(\S+) │", output, re.M))


def work_folder(release: Path, tmp_path: Path, assignment: str) -> Path:
    """A student's copy of the assignment's folder, as released."""
    return shutil.copytree(release / assignment, tmp_path / assignment)


# --- what the release holds ------------------------------------------------------------


def test_release_holds_the_stubs_the_kit_and_a_readme_only(release):
    assert sorted(p.name for p in release.iterdir()) == sorted([*ASSIGNMENTS, KIT, "README.md"])
    bundled = release / KIT / BUNDLED.relative_to(REPO_ROOT)
    for assignment in ASSIGNMENTS:
        assert sorted(p.name for p in (release / assignment).iterdir()) == \
            [f"{assignment}.ipynb", f"{assignment}.py"]
        stub = RELEASE / assignment / f"{assignment}.ipynb"
        assert (release / assignment / stub.name).read_bytes() == stub.read_bytes()
        assert (bundled / "assignments" / assignment / stub.name).read_bytes() == \
            stub.read_bytes()
    unwanted = {"solutions", "tests", "fixtures", "__pycache__"}
    assert not [p for p in release.rglob("*") if unwanted & set(p.relative_to(release).parts)]
    package = release / KIT / "autograder"
    assert not [path for path in INSTRUCTOR_ONLY if (package / path).exists()]
    assert (bundled / "datasets" / "manifest.json").is_file()
    readme = (release / "README.md").read_text()
    assert f"pip install ./{KIT}" in readme and f"autograder check {A1}" in readme


def test_release_refuses_to_overwrite_the_repository():
    readme = (REPO_ROOT / "README.md").read_bytes()
    result = CliRunner().invoke(main, ["release", "--student", str(REPO_ROOT), A1])
    assert result.exit_code == 2
    assert "is or holds the kit's own files" in result.output
    assert (REPO_ROOT / "README.md").read_bytes() == readme and not (REPO_ROOT / KIT).exists()


def test_kit_is_its_own_distribution_with_the_kits_dependencies(release):
    def project(path: Path) -> dict:
        with open(path, "rb") as handle:
            return tomllib.load(handle)["project"]
    student, kit = project(release / KIT / "pyproject.toml"), project(REPO_ROOT / "pyproject.toml")
    assert student["name"] == STUDENT_DISTRIBUTION
    assert student["dependencies"] == kit["dependencies"]
    assert student["scripts"] == kit["scripts"]


def _texts(release: Path) -> dict[Path, str]:
    """Every file's text; a notebook's cell sources only. nbgrader's metadata does name
    each autograder cell after its check (`grade_id`), the hidden ones too: nbgrader
    needs those cells in the release to grade, and they hold no test code."""
    texts = {}
    for path in release.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".ipynb":
                text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
            texts[path] = text
    return texts


def test_no_file_names_a_hidden_check(release):
    hidden = {name for a in ASSIGNMENTS for name in public_and_hidden(a)[1]}
    found = sorted(f"{path.relative_to(release)}: {name}"
                   for path, text in _texts(release).items() for name in hidden
                   if re.search(rf"\b{name}\b", text))
    assert not found, f"hidden checks named in the student release: {found}"


def _code_lines(notebook: Path) -> set[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return {line.strip() for cell in cells if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines()}


def _solution_lines() -> dict[str, str]:
    """{line: assignment} for each line of a solution's code that students are not given
    (in no stub of any assignment), long enough to be someone's answer, not a comment."""
    given = set().union(*(_code_lines(RELEASE / a / f"{a}.ipynb") for a in ASSIGNMENTS))
    return {line: a for a in ASSIGNMENTS for line in _code_lines(SOLUTIONS / a / f"{a}.ipynb")
            if line not in given and len(line) >= MIN_SOLUTION_LINE
            and not line.startswith("#") and not COMMON_IDIOM.fullmatch(line)}


def test_no_file_holds_a_solution_line(release):
    """Not even the trusted versions of the students' code that checks run in place of
    theirs: those stay in the instructor's kit (checks/trusted)."""
    secret = _solution_lines()
    leaked = sorted(f"{path.relative_to(release)}: {line.strip()} ({secret[line.strip()]})"
                    for path, text in _texts(release).items()
                    for line in text.splitlines() if line.strip() in secret)
    assert not leaked, f"solution lines in the student release: {leaked}"


# --- the installed kit grades the public checks ----------------------------------------------


def test_installed_kit_is_the_one_that_runs_and_knows_no_hidden_check(installed, tmp_path):
    """Nor any trusted stand-in: the kit's checks run the student's own versions."""
    probe = ("import sys, autograder.cli, autograder.pytest_plugin, autograder.pytest_checks\n"
             "from autograder.checks import checks_for\n"
             "from autograder.checks.stand_ins import have_trusted_versions\n"
             f"print(len(checks_for({A1!r})), have_trusted_versions())\n"
             "print('\\n'.join(m.__file__ for n, m in sys.modules.items()\n"
             "                 if n.split('.')[0] == 'autograder' and m.__file__))\n"
             "import autograder.checks.hidden\n")
    done = run_student("-c", probe, path=installed, cwd=tmp_path)
    assert "ModuleNotFoundError: No module named 'autograder.checks.hidden'" in done.stderr
    count, trusted, *files = done.stdout.split()
    assert (int(count), trusted) == (len(public_and_hidden(A1)[0]), "False")
    assert files and all(Path(f).is_relative_to(installed / "autograder") for f in files), files


# a1, and assignments whose public checks, SST-2 runs included, use a trusted model, net
# or EarlyStopping in the instructor's kit: in the student kit they run the student's own,
# here the reference's (every stand-in's quick checks run that way in-process in
# tests/test_stand_ins.py).
@pytest.mark.parametrize("assignment", [A1, A4, A5])
def test_installed_kit_passes_the_reference_on_public_checks_only(assignment, installed, release,
                                                                   tmp_path):
    folder = work_folder(release, tmp_path, assignment)
    shutil.copyfile(SOLUTIONS / assignment / f"{assignment}.ipynb",
                    folder / f"{assignment}.ipynb")
    done = run_student("-m", "autograder", "--data-dir", str(data_dir()), "check", assignment,
                       path=installed, cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    public, hidden = public_and_hidden(assignment)
    graded = rows(done.stdout)
    assert sorted(graded) == sorted(public), done.stdout
    assert not [name for name in hidden if name in done.stdout]
    points = sum(c.points for c in checks_for(assignment)
                 if not c.hidden and not (c.gpu_only and gpu_checks_skipped_here()))
    assert f"{assignment}: {points:g} / {points:g}" in done.stdout


def test_installed_kit_on_the_untouched_stub_says_not_implemented(installed, release, tmp_path):
    done = student_check(A1, path=installed, cwd=work_folder(release, tmp_path, A1))
    assert done.returncode == 1, done.stdout + done.stderr  # failures, not a grader error
    assert sorted(rows(done.stdout)) == sorted(public_and_hidden(A1)[0]), done.stdout
    assert done.stdout.count("not implemented yet") == len(public_and_hidden(A1)[0])
    assert OWN_VERSIONS_NOTE in done.stdout  # the kit has no trusted stand-ins
    assert "Traceback" not in done.stdout + done.stderr


# --- the stub as a module ------------------------------------------------------------------


def test_solution_as_a_module_beside_the_untouched_notebook_is_graded_and_passes(
        installed, release, tmp_path):
    """The installed kit's own copy of the stubs tells the untouched notebook from the
    student's module."""
    folder = work_folder(release, tmp_path, A1)
    (folder / f"{A1}.py").write_text(stub_module(SOLUTIONS / A1 / f"{A1}.ipynb"))
    done = student_check(A1, path=installed, cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"graded {A1}.py: {A1}.ipynb beside it is the unchanged stub" in done.stdout
    assert sorted(rows(done.stdout)) == sorted(public_and_hidden(A1)[0])


def test_stub_module_earns_zero_saying_not_implemented_like_the_notebook(release):
    report = grade_file(A1, release / A1 / f"{A1}.py")
    assert report.score == 0
    assert report.problems == [f"graded {A1}.py: {A1}.ipynb beside it is the unchanged stub"]
    assert {r.status for r in report.results} == {FAILED}
    assert all(r.message.startswith("not implemented yet") for r in report.results)


def test_installed_kit_fetches_data_into_the_users_data_folder(installed, shared_sst2_dir,
                                                              tmp_path):
    """With its own manifest, and with no checkout around it, into the platform's user
    data folder (here under a HOME of the test's own)."""
    home = tmp_path / "home"
    done = run_student("-m", "autograder", "data", "fetch", "sst2", "--from",
                       str(shared_sst2_dir), path=installed, cwd=tmp_path,
                       env={"HOME": str(home), "XDG_DATA_HOME": None, DATA_DIR_ENV: None})
    assert done.returncode == 0, done.stdout + done.stderr
    fetched = home / ".local" / "share" / "nn-autograder" / "datasets" / "sst2"
    assert sorted(p.name for p in fetched.iterdir()) == ["dev.tsv", "train.tsv"]
