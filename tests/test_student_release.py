"""`autograder release --student` writes what students get, and nothing in it shows a
hidden check or a solution; the kit in it installs, and what it installs grades the
public checks: the reference passes them, the untouched stub fails them saying "not
implemented yet", and a stub or solution written as a module grades as the notebook does.

The release is written once; the kit is installed with pip into a target folder and run
in subprocesses from there, so the student copy grades, never this checkout.
"""
from __future__ import annotations

import ast
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
from autograder.cli import main
from autograder.grading import grade_file
from autograder.outcome import FAILED
from autograder.paths import REPO_ROOT
from autograder.release import RELEASE, SOLUTIONS
from autograder.student_release import INSTRUCTOR_ONLY, KIT, STUDENT_DISTRIBUTION, stub_module

A1 = "a1_backprop"
RUN_TIMEOUT_S = 300
MIN_SOLUTION_LINE = 16  # shorter lines (`return loss`) are no one's secret
# The trusted versions of student functions that public checks run in their place (so a
# bug is charged to its own check only): they ship with the public checks, and each is a
# solution of the function it stands in for. Listed by file and definition, their lines
# are the one exception to "no solution line in the release".
TRUSTED_STAND_INS = {
    "checks/a1_backprop/poly.py": ("_poly_predict", "_poly_loss", "_poly_loss_and_grad"),
    "checks/a4_early_stopping.py": ("TrustedEarlyStopping",),
    "checks/a5_ffn_gpu.py": ("OracleFeedforwardNet",),
    "checks/a7_langid.py": ("reference_char_ngrams", "reference_ngram_ids", "reference_collate",
                            "relative_frequencies"),
    "checks/toy_data.py": ("OracleLogisticRegression", "oracle_train_epoch"),
}
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


def run_student(*args: str, path: Path, cwd: Path) -> subprocess.CompletedProcess:
    """`python ARGS` with only `path` in front of the environment's packages (`-P`: not
    the working folder either), as on a student's machine."""
    env = {**os.environ, "PYTHONPATH": str(path), "COLUMNS": "250"}
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
    for assignment in ASSIGNMENTS:
        assert sorted(p.name for p in (release / assignment).iterdir()) == \
            [f"{assignment}.ipynb", f"{assignment}.py"]
        stub = RELEASE / assignment / f"{assignment}.ipynb"
        assert (release / assignment / stub.name).read_bytes() == stub.read_bytes()
        assert (release / KIT / "assignments" / assignment / stub.name).read_bytes() == \
            stub.read_bytes()
    unwanted = {"solutions", "tests", "fixtures", "__pycache__"}
    assert not [p for p in release.rglob("*") if unwanted & set(p.relative_to(release).parts)]
    package = release / KIT / "autograder"
    assert not [path for path in INSTRUCTOR_ONLY if (package / path).exists()]
    assert (release / KIT / "datasets" / "manifest.json").is_file()
    readme = (release / "README.md").read_text()
    assert f"pip install -e {KIT}" in readme and f"autograder check {A1}" in readme


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


def _stand_in_lines(path: Path, names: tuple[str, ...]) -> set[int]:
    """The line numbers of the named top-level definitions in `path`."""
    found = {node.name: range(node.lineno, node.end_lineno + 1)
             for node in ast.parse(path.read_text(encoding="utf-8")).body
             if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert set(names) <= set(found), f"{path} no longer defines {set(names) - set(found)}"
    return {number for name in names for number in found[name]}


def test_no_file_holds_a_solution_line(release):
    secret = _solution_lines()
    package = release / KIT / "autograder"
    skipped = {package / file: _stand_in_lines(package / file, names)
               for file, names in TRUSTED_STAND_INS.items()}
    leaked = sorted(f"{path.relative_to(release)}: {line.strip()} ({secret[line.strip()]})"
                    for path, text in _texts(release).items()
                    for number, line in enumerate(text.splitlines(), start=1)
                    if line.strip() in secret and number not in skipped.get(path, ()))
    assert not leaked, f"solution lines in the student release: {leaked}"


# --- the installed kit grades the public checks ----------------------------------------------


def test_installed_kit_is_the_one_that_runs_and_knows_no_hidden_check(installed, tmp_path):
    probe = ("import sys, autograder.cli, autograder.pytest_plugin, autograder.pytest_checks\n"
             "from autograder.checks import checks_for\n"
             f"print(len(checks_for({A1!r})))\n"
             "print('\\n'.join(m.__file__ for n, m in sys.modules.items()\n"
             "                 if n.split('.')[0] == 'autograder' and m.__file__))\n"
             "import autograder.checks.hidden\n")
    done = run_student("-c", probe, path=installed, cwd=tmp_path)
    assert "ModuleNotFoundError: No module named 'autograder.checks.hidden'" in done.stderr
    count, *files = done.stdout.split()
    assert int(count) == len(public_and_hidden(A1)[0])
    assert files and all(Path(f).is_relative_to(installed / "autograder") for f in files), files


def test_installed_kit_passes_the_reference_on_public_checks_only(installed, release, tmp_path):
    folder = work_folder(release, tmp_path, A1)
    shutil.copyfile(SOLUTIONS / A1 / f"{A1}.ipynb", folder / f"{A1}.ipynb")
    done = student_check(A1, path=installed, cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    public, hidden = public_and_hidden(A1)
    graded = rows(done.stdout)
    assert sorted(graded) == sorted(public), done.stdout
    assert not [name for name in hidden if name in done.stdout]
    points = sum(c.points for c in checks_for(A1) if not c.hidden)
    assert f"{A1}: {points:g} / {points:g}" in done.stdout


def test_installed_kit_on_the_untouched_stub_says_not_implemented(installed, release, tmp_path):
    done = student_check(A1, path=installed, cwd=work_folder(release, tmp_path, A1))
    assert done.returncode == 1, done.stdout + done.stderr  # failures, not a grader error
    assert sorted(rows(done.stdout)) == sorted(public_and_hidden(A1)[0]), done.stdout
    assert done.stdout.count("not implemented yet") == len(public_and_hidden(A1)[0])
    assert "Traceback" not in done.stdout + done.stderr


# --- the stub as a module ------------------------------------------------------------------


def test_solution_as_a_module_beside_the_untouched_notebook_is_graded_and_passes(release,
                                                                                tmp_path):
    """In the kit's own layout, the one `pip install -e kit` puts on the path: the kit's
    copy of the stubs tells the untouched notebook from the student's module."""
    folder = work_folder(release, tmp_path, A1)
    (folder / f"{A1}.py").write_text(stub_module(SOLUTIONS / A1 / f"{A1}.ipynb"))
    done = student_check(A1, path=release / KIT, cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"graded {A1}.py: {A1}.ipynb beside it is the unchanged stub" in done.stdout
    assert sorted(rows(done.stdout)) == sorted(public_and_hidden(A1)[0])


def test_stub_module_earns_zero_saying_not_implemented_like_the_notebook(release):
    report = grade_file(A1, release / A1 / f"{A1}.py")
    assert report.score == 0
    assert report.problems == [f"graded {A1}.py: {A1}.ipynb beside it is the unchanged stub"]
    assert {r.status for r in report.results} == {FAILED}
    assert all(r.message.startswith("not implemented yet") for r in report.results)


def test_kit_fetches_data_with_its_own_manifest(release, shared_sst2_dir, tmp_path):
    done = run_student("-m", "autograder", "--data-dir", str(tmp_path / "data"), "data", "fetch",
                       "sst2", "--from", str(shared_sst2_dir), path=release / KIT, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (tmp_path / "data" / "sst2").iterdir()) == ["dev.tsv",
                                                                             "train.tsv"]
