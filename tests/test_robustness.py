"""Bad input gets a clear error and loses nothing.

Each broken or hostile a2 submission in `fixtures/robustness/` must still yield a
report for that student, with messages that say in plain words what happened,
and the grader must go on to grade the next student. Every grading here is a
real sandboxed child process (about 10 s each), so each test grades once.
"""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from autograder.checks import checks_for
from autograder.cli import main
from autograder.data.manifest import DATA_DIR_ENV
from autograder.data.sst2 import load_sst2_features
from autograder.grading import AssignmentReport, CheckResult, grade, grade_file
from autograder.limits import file_bytes
from autograder.outcome import FAILED, PASSED
from autograder.sandbox import LOG_TAIL_BYTES

A2 = "a2_training_loop"
FIXTURES = Path(__file__).parent / "fixtures" / "robustness"
GOOD_STUDENT = FIXTURES / "good_student"

# a2's checks by the function they exercise, in the order the child runs them: the
# public ones first, then the hidden ones (autograder/checks/hidden).
FORWARD = ["forward_output_contract", "forward_batch_of_one", "loss_is_mean_bce",
           "loss_finite_for_large_logits"]
TRAIN_EPOCH = ["train_epoch_returns_mean_loss", "zero_grad_once_per_batch"]
EVALUATE = ["evaluate_in_eval_mode_without_graph", "evaluate_returns_accuracy"]
TRAIN = ["train_returns_history", "sst2_dev_accuracy"]
HIDDEN = {c.name for c in checks_for(A2) if c.hidden}
ALL_CHECKS = sorted(FORWARD + TRAIN_EPOCH + EVALUATE + TRAIN, key=lambda name: name in HIDDEN)
FULL_MARKS = sum(c.points for c in checks_for(A2))

# Time limits shortened for tests, through a course's autograder.toml.
SHORT_CHECK_TIMEOUT_S = 5
SHORT_ASSIGNMENT_TIMEOUT_S = 60  # well above the child's start-up (12 s on 2 busy cores)
# For a grading stopped while loading: a warm worker's child starts in about a second.
LOADING_ASSIGNMENT_TIMEOUT_S = 20
# What one grading may take here before the shortened limits count as ignored.
GRADING_BUDGET_S = 120


def by_name(report: AssignmentReport) -> dict[str, CheckResult]:
    return {r.name: r for r in report.results}


def summary(report: AssignmentReport) -> str:
    """The report in a few lines, for assertion messages."""
    lines = [f"{r.name}: {r.status} {r.points:g}/{r.max_points:g} {r.message[:200]}"
             for r in report.results]
    return "\n".join(lines + [f"problem: {p}" for p in report.problems])


def assert_every_check_judged(report: AssignmentReport) -> None:
    """One result per registered check, each a student verdict with words, never a grader error."""
    assert [r.name for r in report.results] == ALL_CHECKS, summary(report)
    for r in report.results:
        assert r.status in (PASSED, FAILED), summary(report)
        assert r.status == PASSED or r.message.strip(), summary(report)
        assert r.points == (r.max_points if r.status == PASSED else 0), summary(report)


def assert_checks(report: AssignmentReport, names: list[str], status: str, *phrases: str) -> None:
    """Each named check has `status` and (when failed) a message holding every phrase."""
    results = by_name(report)
    for name in names:
        result = results[name]
        assert result.status == status, f"{name}\n{summary(report)}"
        for phrase in phrases:
            assert phrase.lower() in result.message.lower(), \
                f"{name}: expected {phrase!r} in {result.message!r}"


def notebook(path: Path, *cells: tuple[str, str]) -> Path:
    """Write ("markdown" | "code", source) cells as a notebook at `path`."""
    new = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb = nbformat.v4.new_notebook(cells=[new[kind](source) for kind, source in cells])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def short_time_limits(course_config) -> None:
    course_config(f"[time_limits]\ncheck_s = {SHORT_CHECK_TIMEOUT_S}\n"
                  f"assignment_s = {SHORT_ASSIGNMENT_TIMEOUT_S}\n")


@pytest.fixture
def sst2_data(shared_sst2_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data directory holding SST-2 and its feature cache, for this test only."""
    root = tmp_path / "data"
    (root / "sst2").mkdir(parents=True)
    for name in ("train.tsv", "dev.tsv"):
        shutil.copyfile(shared_sst2_dir / name, root / "sst2" / name)
    load_sst2_features(root)  # writes the cache the children read
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    return root


def test_check_groups_name_every_check_in_order():
    assert ALL_CHECKS == [c.name for c in checks_for(A2)]


# --- submissions that cannot be read ---------------------------------------------------------


def test_missing_submission_scores_zero_and_names_the_expected_file():
    (report,) = grade(FIXTURES / "misnamed_submission", assignment=A2)
    assert report.submission is None
    assert report.score == 0
    assert_checks(report, ALL_CHECKS, FAILED, "no submission found",
                  "a2_training_loop/a2_training_loop.ipynb")


def test_notebook_that_is_not_json_fails_every_check_saying_why():
    (report,) = grade(FIXTURES / "not_a_notebook", assignment=A2)
    assert report.score == 0
    assert_checks(report, ALL_CHECKS, FAILED, "could not be read as a Jupyter notebook")


# --- submissions that load in part -----------------------------------------------------------

MODEL_CELL = '''\
import torch
import torch.nn.functional as F
from torch import nn


class BinaryLogisticRegression(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.linear = nn.Linear(vocab_size, 1)

    def forward(self, X, y=None):
        logits = self.linear(X).squeeze(-1)
        probs = torch.sigmoid(logits)
        loss = None if y is None else F.binary_cross_entropy_with_logits(logits, y.float())
        return {"py_logits": logits, "py_probs": probs, "py": (probs > 0.5).long(), "loss": loss}
'''
BROKEN_TRAIN_EPOCH_CELL = '''\
def train_epoch(model, loader, optimizer, device="cpu")
    return 0.0
'''
EVALUATE_CELL = '''\
def evaluate(model, loader, device="cpu"):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for batch in loader:
            correct += (model(batch["X"])["py"] == batch["y"]).sum().item()
            total += len(batch["y"])
    return correct / total
'''


def test_syntax_error_in_one_cell_spares_the_other_cells(tmp_path):
    submission = notebook(
        tmp_path / A2 / f"{A2}.ipynb",
        ("markdown", "A notebook whose train_epoch cell has a syntax error (a missing colon); "
                     "the model and evaluate cells are fine."),
        ("code", MODEL_CELL),
        ("code", BROKEN_TRAIN_EPOCH_CELL),
        ("code", EVALUATE_CELL),
    )
    report = grade_file(A2, submission)
    assert any("syntax error" in p and "cell 3" in p for p in report.problems), summary(report)
    assert_checks(report, FORWARD + EVALUATE, PASSED)
    assert_checks(report, TRAIN_EPOCH, FAILED, "`train_epoch` is not defined")


@pytest.fixture(scope="module")
def top_level_report() -> AssignmentReport:
    return grade_file(A2, FIXTURES / "top_level_statements.py")


def test_failing_top_level_statement_is_reported_and_the_rest_loads(top_level_report):
    report = top_level_report
    assert any("not_a_module" in p and "line 6" in p and "skipped" in p
               for p in report.problems), summary(report)
    assert_checks(report, FORWARD, PASSED)


def test_global_set_by_a_call_is_defined_like_any_other(top_level_report):
    assert_checks(top_level_report, TRAIN_EPOCH, PASSED)


# --- time limits -----------------------------------------------------------------------------


@pytest.mark.timeout(GRADING_BUDGET_S)
def test_endless_loop_fails_its_checks_and_the_others_still_get_verdicts(short_time_limits):
    report = grade_file(A2, FIXTURES / "endless_train_epoch.py")
    assert_every_check_judged(report)
    assert_checks(report, TRAIN_EPOCH, FAILED, "time limit", "`train_epoch`", "endless loop")
    assert_checks(report, EVALUATE, PASSED)


@pytest.mark.timeout(GRADING_BUDGET_S)
def test_endless_python_loop_while_loading_costs_its_statement_budget(short_time_limits):
    report = grade_file(A2, FIXTURES / "endless_class_body.py")
    assert any(p.startswith("line 4 of endless_class_body.py ran past its 5-second budget")
               for p in report.problems), summary(report)
    assert_every_check_judged(report)
    assert_checks(report, FORWARD, FAILED, "`BinaryLogisticRegression` is not defined")


@pytest.mark.timeout(GRADING_BUDGET_S)
def test_endless_loop_inside_one_c_call_while_loading_stops_the_whole_child(course_config):
    course_config(f"[time_limits]\nassignment_s = {LOADING_ASSIGNMENT_TIMEOUT_S}\n")
    # a loop inside one C call cannot be interrupted: the assignment's limit stops the child
    report = grade_file(A2, FIXTURES / "endless_default_argument.py")
    assert report.score == 0
    assert_checks(report, ALL_CHECKS, FAILED, "not graded", "time limit",
                  "while your submission's top-level code was running")


# --- crashes and exits -----------------------------------------------------------------------


def test_os_exit_costs_its_check_alone_and_names_the_exit():
    report = grade_file(A2, FIXTURES / "exits_in_train_epoch.py")
    assert_checks(report, FORWARD, PASSED)
    assert_checks(report, TRAIN_EPOCH, FAILED, "not graded", "exit code 3", "os._exit()",
                  "while this check was running")
    assert_checks(report, EVALUATE + TRAIN, FAILED, "is not defined")  # graded all the same


def test_segfault_costs_its_check_alone_and_names_the_crash():
    report = grade_file(A2, FIXTURES / "segfault_in_evaluate.py")
    assert_checks(report, FORWARD, FAILED, "`BinaryLogisticRegression` is not defined")
    assert_checks(report, TRAIN_EPOCH, PASSED)
    assert_checks(report, EVALUATE, FAILED, "not graded", "SIGSEGV", "segmentation fault",
                  "while this check was running")
    assert_checks(report, TRAIN, FAILED, "`train` is not defined")  # graded all the same


def test_sys_exit_fails_its_check_saying_exit_was_called():
    report = grade_file(A2, FIXTURES / "exit_in_train.py")
    assert_checks(report, ["train_returns_history"], FAILED, "called exit()", "`train`")
    assert_checks(report, FORWARD + TRAIN_EPOCH + EVALUATE, FAILED, "is not defined")


class LargestFile:
    """Watch a folder from a thread and remember the largest file seen in it."""

    def __init__(self, folder: Path):
        self.folder, self.largest = folder, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "LargestFile":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            for path in self.folder.rglob("*"):
                try:
                    self.largest = max(self.largest, path.stat().st_size)
                except OSError:  # removed between listing and stat
                    pass


def test_huge_print_is_capped_and_the_report_comes_back(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the sandbox makes its folder
    with LargestFile(scratch) as watch:
        report = grade_file(A2, FIXTURES / "huge_print_in_forward.py")
    assert watch.largest <= file_bytes()
    assert list(scratch.iterdir()) == []
    assert len(report.log_tail.encode()) <= LOG_TAIL_BYTES
    assert_every_check_judged(report)
    for name in FORWARD:
        assert "not graded" not in by_name(report)[name].message, summary(report)


# --- submissions that attack the grader ------------------------------------------------------


def test_killing_the_grading_process_still_yields_a_report(tmp_path):
    submission = tmp_path / f"{A2}.py"
    shutil.copyfile(FIXTURES / "kills_grader.py", submission)
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submission),
                           "--format", "json"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode in (0, 1), (
        f"the grader exited with {done.returncode} (negative: killed by that signal) and "
        f"wrote no report; stderr: {done.stderr[-2000:]}")
    (report,) = json.loads(done.stdout)
    assert [r["name"] for r in report["results"]] == ALL_CHECKS
    assert report["score"] == 0


def test_wiping_the_scratch_folder_still_yields_a_report():
    try:
        report = grade_file(A2, FIXTURES / "wipes_scratch.py")
    except Exception as exc:  # noqa: BLE001 - the defect this test exists to catch
        pytest.fail(f"the grader crashed instead of reporting: {type(exc).__name__}: {exc}")
    assert_every_check_judged(report)
    assert_checks(report, FORWARD, FAILED, "`BinaryLogisticRegression` is not defined")


def test_writing_into_the_results_file_changes_nothing():
    try:
        report = grade_file(A2, FIXTURES / "tampers_with_results.py")
    except Exception as exc:  # noqa: BLE001 - the defect this test exists to catch
        pytest.fail(f"the grader crashed instead of reporting: {type(exc).__name__}: {exc}")
    assert report.score == 0, summary(report)
    assert_checks(report, ALL_CHECKS, FAILED)


@pytest.mark.sst2
def test_broken_submissions_do_not_spoil_the_next_students_grade(sst2_data):
    grade_file(A2, FIXTURES / "poisons_data_cache.py")
    (report,) = grade(GOOD_STUDENT, assignment=A2)
    assert report.score == FULL_MARKS, summary(report)


# --- the command line ------------------------------------------------------------------------


def test_cli_on_a_path_that_does_not_exist_exits_2_saying_so(tmp_path):
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(main, ["grade", str(missing)])
    assert result.exit_code == 2, result.output
    assert f"{missing} does not exist" in result.output


GRADESCOPE_TEST_KEYS = {"name", "number", "score", "max_score", "status", "output", "visibility"}


@pytest.mark.sst2
def test_cli_on_a_correct_submission_exits_0_with_gradescope_results(sst2_data, tmp_path):
    out = tmp_path / "results" / "results.json"
    result = CliRunner().invoke(main, ["grade", str(GOOD_STUDENT), "--assignment", A2,
                                       "--format", "gradescope", "--out", str(out)])
    assert result.exit_code == 0, result.output
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["score"] == FULL_MARKS
    assert len(results["tests"]) == len(ALL_CHECKS)
    for entry in results["tests"]:
        assert set(entry) >= GRADESCOPE_TEST_KEYS, entry
        assert entry["status"] == "passed" and entry["score"] == entry["max_score"], entry
        assert entry["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert isinstance(entry["number"], str) and isinstance(entry["output"], str)


def test_cli_on_a_buggy_submission_exits_1_and_shows_its_error_verbatim():
    result = CliRunner().invoke(main, ["grade", str(FIXTURES / "markup_in_message.py"),
                                       "--assignment", A2], env={"COLUMNS": "300"})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"the CLI crashed: {result.exception!r}")
    assert result.exit_code == 1, result.output
    assert "shapes [/] and [bold] do not match" in " ".join(result.output.split())


def test_grade_all_reports_every_student_whatever_their_submission(tmp_path):
    """A class of four: a good one, a file that is not a notebook, a crash, and nothing."""
    students = tmp_path / "submissions"
    shutil.copytree(GOOD_STUDENT, students / "good")
    shutil.copytree(FIXTURES / "not_a_notebook", students / "broken")
    crash = students / "crash" / A2
    crash.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "segfault_in_evaluate.py", crash / f"{A2}.py")
    (students / "empty").mkdir()
    out = tmp_path / "grades"
    result = CliRunner().invoke(main, ["grade-all", str(students), "--assignment", A2,
                                       "--out-dir", str(out)])
    assert result.exit_code == 0, result.output
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"good", "broken", "crash", "empty"}
    assert float(rows["good"]["score"]) == FULL_MARKS
    assert float(rows["broken"]["score"]) == float(rows["empty"]["score"]) == 0
    assert float(rows["crash"]["score"]) == sum(
        c.points for c in checks_for(A2) if c.name in TRAIN_EPOCH)
    assert {p.stem for p in out.glob("*.json")} == set(rows)
