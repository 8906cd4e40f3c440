"""`autograder classroom` writes GitHub Classroom's autograding workflow into a starter
repository: one command-grader test per public check, worth its points, and no hidden
check named anywhere. The workflow's own commands, taken from the YAML and run as the
runner runs them (each test's command with only PATH and HOME, as the command grader
passes them), grade a correct submission to all passes, fail exactly the check a known
bug breaks with that check's message, and fail every test cleanly when the grading left
no report."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from autograder.checks import checks_for
from autograder.classroom import JOB_ID, WORKFLOW, classroom_command, verdict, workflow
from autograder.course import CONFIG_ENV
from autograder.data.manifest import DATA_DIR_ENV
from autograder.gradescope import TORCH_INDEX, torch_requirement
from autograder.paths import REPO_ROOT

A1 = "a1_backprop"
REFERENCE = REPO_ROOT / "solutions" / A1 / f"{A1}.ipynb"
# One known bug, and the one public check it fails (tests/fixtures/a1_backprop/expected.toml).
BUG = REPO_ROOT / "tests" / "fixtures" / A1 / "bug_poly_grad_missing_factor_2.py"
BUG_CHECK = "poly_gradient"
BUG_MESSAGE = "factor 2 is missing"
COMMAND_GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
GRADE_STEP = "Grade the public checks"
GRADE_TIMEOUT_S = 300
VERDICT_TIMEOUT_S = 60


def public_checks(assignment: str = A1) -> list:
    return [c for c in checks_for(assignment) if not c.hidden]


def write(tmp: Path, assignment: str, *options: str) -> tuple[str, list[dict]]:
    """The workflow `autograder classroom` writes into a fresh starter repository, as text
    and as the job's steps."""
    repo = tmp / f"{assignment}-starter"
    repo.mkdir()
    result = CliRunner().invoke(classroom_command, [assignment, "--repo", str(repo), *options])
    assert result.exit_code == 0, result.output
    text = (repo / WORKFLOW).read_text(encoding="utf-8")
    return text, yaml.safe_load(text)["jobs"][JOB_ID]["steps"]


@pytest.fixture(scope="module")
def a1_workflow(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict]]:
    return write(tmp_path_factory.mktemp("classroom"), A1)


def grader_steps(steps: list[dict]) -> list[dict]:
    return [s for s in steps if s.get("uses") == COMMAND_GRADER]


# --- the workflow ---------------------------------------------------------------------

def test_one_test_per_public_check_worth_its_points(a1_workflow) -> None:
    text, steps = a1_workflow
    tests = grader_steps(steps)
    public = public_checks()
    assert [t["id"] for t in tests] == [c.name for c in public]
    assert [t["with"]["max-score"] for t in tests] == [c.points for c in public]
    for test, check in zip(tests, public, strict=True):
        assert check.title in test["with"]["test-name"]
        assert check.id in test["with"]["command"]
        assert test["if"] == "${{ !cancelled() }}", "a test must run after a failed grading"
    reporter = next(s for s in steps if s.get("uses") == REPORTER)
    assert reporter["with"]["runners"].split(",") == [t["id"] for t in tests]
    assert reporter["env"] == {f"{t['id'].upper()}_RESULTS": f"${{{{steps.{t['id']}.outputs"
                               ".result}}" for t in tests}
    assert yaml.safe_load(text)["name"] == "Autograding Tests"


def test_no_hidden_check_is_named(a1_workflow) -> None:
    text, _ = a1_workflow
    hidden = [c for c in checks_for(A1) if c.hidden]
    assert hidden, f"{A1} has no hidden check: pick an assignment that has one"
    for check in hidden:
        assert check.name not in text and check.title not in text, check.id


def test_installs_cpu_torch_the_kit_and_bubblewrap_before_grading(tmp_path: Path) -> None:
    text, steps = write(tmp_path, "a2_training_loop", "--kit-spec",
                        "nn-autograder-student @ git+https://example.org/kit@v1")
    runs = [s.get("run", "") for s in steps]
    torch_at = next(i for i, r in enumerate(runs) if f"--index-url {TORCH_INDEX}" in r)
    assert torch_requirement() in runs[torch_at]
    kit = runs[torch_at].index("'nn-autograder-student @ git+https://example.org/kit@v1'")
    assert kit > runs[torch_at].index(torch_requirement()), "torch's CPU build comes first"
    grade_at = next(i for i, s in enumerate(steps) if s.get("name") == GRADE_STEP)
    bwrap_at = next(i for i, r in enumerate(runs) if "apt-get install -y bubblewrap" in r)
    fetch_at = next(i for i, r in enumerate(runs) if "autograder data fetch sst2" in r)
    assert torch_at < bwrap_at < fetch_at < grade_at
    assert "a2_training_loop" in runs[grade_at] and "timeout-minutes" in steps[grade_at]


def test_gpu_only_checks_are_left_out_and_said_to_be() -> None:
    text = workflow("a5_ffn_gpu")
    steps = yaml.safe_load(text)["jobs"][JOB_ID]["steps"]
    gpu_only = ["gpu_training_runs_on_cuda", "gpu_dev_accuracy_matches_cpu"]
    ids = [t["id"] for t in grader_steps(steps)]
    assert ids == [c.name for c in public_checks("a5_ffn_gpu") if c.name not in gpu_only]
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    for name in gpu_only:
        assert name in comments and name not in text.replace(comments, ""), name


# --- the workflow's commands, run as the runner runs them ------------------------------

def starter_repo(tmp: Path, submission: Path, home: Path) -> Path:
    """A checked-out student repository holding `submission` as the assignment's file."""
    repo = tmp / "repo"
    (repo / A1).mkdir(parents=True)
    shutil.copyfile(submission, repo / A1 / f"{A1}{submission.suffix}")
    home.mkdir(exist_ok=True)
    return repo


def path_with_python() -> str:
    """PATH with this interpreter's `python` first, as setup-python leaves it."""
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


def run_grade_step(steps: list[dict], repo: Path, home: Path) -> subprocess.CompletedProcess:
    command = next(s["run"] for s in steps if s.get("name") == GRADE_STEP)
    env = {k: v for k, v in os.environ.items() if k not in (DATA_DIR_ENV, CONFIG_ENV)}
    return subprocess.run(["bash", "-c", command], cwd=repo, capture_output=True, text=True,
                          env={**env, "HOME": str(home), "PATH": path_with_python()},
                          timeout=GRADE_TIMEOUT_S)


def run_test_commands(steps: list[dict], repo: Path, home: Path) -> dict[str, tuple[int, str]]:
    """Each test's command, with only the environment the command grader gives it:
    {step id: (exit code, output)}."""
    outcomes = {}
    for test in grader_steps(steps):
        done = subprocess.run(test["with"]["command"], shell=True, cwd=repo,
                              env={"PATH": path_with_python(), "HOME": str(home)},
                              capture_output=True, text=True, timeout=VERDICT_TIMEOUT_S)
        outcomes[test["id"]] = (done.returncode, done.stdout + done.stderr)
    return outcomes


@pytest.fixture(scope="module")
def graded_reference(a1_workflow, tmp_path_factory) -> tuple[Path, Path]:
    """(repository, home) after the grading step ran on the reference solution."""
    tmp = tmp_path_factory.mktemp("reference")
    repo, home = starter_repo(tmp, REFERENCE, tmp / "home"), tmp / "home"
    done = run_grade_step(a1_workflow[1], repo, home)
    assert done.returncode == 0, done.stdout + done.stderr
    return repo, home


def test_correct_submission_passes_every_test(a1_workflow, graded_reference) -> None:
    outcomes = run_test_commands(a1_workflow[1], *graded_reference)
    failed = {name: output for name, (code, output) in outcomes.items() if code != 0}
    assert not failed, failed
    assert all(output.startswith("passed") for _, output in outcomes.values())


def test_known_bug_fails_its_check_alone_with_its_message(a1_workflow, tmp_path) -> None:
    repo = starter_repo(tmp_path, BUG, tmp_path / "home")
    done = run_grade_step(a1_workflow[1], repo, tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr  # the score is the tests' to give
    outcomes = run_test_commands(a1_workflow[1], repo, tmp_path / "home")
    failed = {name for name, (code, _) in outcomes.items() if code != 0}
    assert failed == {BUG_CHECK}, {name: outcomes[name][1] for name in failed}
    code, output = outcomes[BUG_CHECK]
    assert code == 1 and BUG_MESSAGE in output, output


def test_no_report_fails_every_test_cleanly(a1_workflow, tmp_path) -> None:
    """A grading that ran past its time limit, or never ran, left no report."""
    repo = starter_repo(tmp_path, REFERENCE, tmp_path / "home")
    outcomes = run_test_commands(a1_workflow[1], repo, tmp_path / "home")
    assert len(outcomes) == len(public_checks())
    for name, (code, output) in outcomes.items():
        assert code == 1 and output.startswith("not graded: no report at"), (name, output)
        assert "Traceback" not in output, output


def test_failed_grading_removes_an_earlier_report(a1_workflow, graded_reference,
                                                  tmp_path) -> None:
    """A report left from before (or committed by a student) never scores a grading that
    failed: the grading step deletes it first."""
    _, reference_home = graded_reference
    home = tmp_path / "home"
    shutil.copytree(reference_home, home)  # holds the reference's all-passing report
    empty_repo = tmp_path / "empty"
    empty_repo.mkdir()
    command = next(s["run"] for s in a1_workflow[1] if s.get("name") == GRADE_STEP)
    done = subprocess.run(["bash", "-c", command.replace(" --out", " missing/ --out")],
                          cwd=empty_repo, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HOME": str(home), "PATH": path_with_python()})
    assert done.returncode == 2, done.stdout + done.stderr  # no such submission folder
    outcomes = run_test_commands(a1_workflow[1], empty_repo, home)
    assert all(code == 1 and "no report" in output for code, output in outcomes.values())


# --- verdicts on reports the grading step did not write as expected ---------------------

def report_path(home: Path) -> Path:
    return home / "autograder-classroom" / "report.json"


def test_a_skipped_check_does_not_pass(graded_reference, tmp_path) -> None:
    """A check skipped on the runner (0 of 0: no GPU) earned nothing, so its test fails."""
    graded = json.loads(report_path(graded_reference[1]).read_text())
    result = graded[0]["results"][0]
    result.update(status="skipped", points=0.0, max_points=0.0,
                  message="skipped: no CUDA device on the grading machine")
    report = tmp_path / "report.json"
    report.write_text(json.dumps(graded))
    passed, message = verdict(report, f"{A1}.{result['name']}")
    assert not passed and "skipped: no CUDA device" in message and "(0/0)" in message


def test_a_report_without_the_check_or_unreadable_fails_with_the_fix(tmp_path) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps([{"assignment": A1, "results": [], "problems": []}]))
    passed, message = verdict(report, f"{A1}.poly_gradient")
    assert not passed and "no verdict for a1_backprop.poly_gradient" in message
    assert "`autograder classroom`" in message
    report.write_text('[{"assignment": ')
    passed, message = verdict(report, f"{A1}.poly_gradient")
    assert not passed and message.startswith("not graded: the report at") and "JSON" in message
