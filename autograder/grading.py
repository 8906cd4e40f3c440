"""Grade a submission: find each assignment's file, check it in a sandboxed
pytest child, and turn the child's verdicts into one report per assignment.

Scores are computed here, from the registry, never from what the child says a
check is worth; a check with no verdict from the child scores zero and says why.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder import verdicts
from autograder.checks import ASSIGNMENTS, Check, checks_for
from autograder.checks.registry import datasets_for
from autograder.course import settings_path, time_limit
from autograder.data.manifest import DATA_DIR_ENV, MANIFEST_PATH, DataError, data_dir
from autograder.data.prepare import prepare_dataset
from autograder.outcome import FAILED, PASSED, SKIPPED
from autograder.sandbox import SANDBOXED, ChildResult, isolation, run_sandboxed

SUFFIXES = (".ipynb", ".py")
STARTUP_ALLOWANCE_S = 120.0


class UsageError(Exception):
    """The path or options given cannot be graded as asked."""


@dataclass
class CheckResult:
    name: str
    title: str
    points: float
    max_points: float
    hidden: bool
    status: str
    message: str = ""
    detail: str = ""


@dataclass
class AssignmentReport:
    assignment: str
    submission: str | None
    results: list[CheckResult]
    problems: list[str] = field(default_factory=list)
    log_tail: str = ""
    isolation: str = field(default_factory=lambda: isolation().description)

    @property
    def sandboxed(self) -> bool:
        return self.isolation.startswith(SANDBOXED)

    @property
    def score(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_points for r in self.results)

    def to_dict(self) -> dict:
        return {**asdict(self), "score": self.score, "max_score": self.max_score}


def grade(path: Path, *, assignment: str | None = None,
          public_only: bool = False) -> list[AssignmentReport]:
    """Grade every assignment found at `path` (or only `assignment`)."""
    return [grade_file(name, file, public_only=public_only)
            for name, file in find_submissions(path, assignment)]


def find_submissions(path: Path, assignment: str | None = None) -> list[tuple[str, Path | None]]:
    """(assignment, file or None when missing) for what `path` holds."""
    if assignment is not None and assignment not in ASSIGNMENTS:
        raise UsageError(f"unknown assignment {assignment!r}; known: {', '.join(ASSIGNMENTS)}")
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if path.is_file():
        name = assignment or _assignment_named_by(path)
        return [(name, path)]
    if assignment is None and path.name in ASSIGNMENTS:
        assignment = path.name
    wanted = [assignment] if assignment else list(ASSIGNMENTS)
    return [(name, _file_in(path, name)) for name in wanted]


def _assignment_named_by(file: Path) -> str:
    for candidate in (file.stem, file.parent.name):
        if candidate in ASSIGNMENTS:
            return candidate
    raise UsageError(f"cannot tell which assignment {file} is for: name it after the "
                     f"assignment (e.g. {ASSIGNMENTS[0]}.ipynb) or pass --assignment")


def _file_in(folder: Path, assignment: str) -> Path | None:
    for base in (folder / assignment, folder):
        for suffix in SUFFIXES:
            if (base / f"{assignment}{suffix}").is_file():
                return base / f"{assignment}{suffix}"
    return None


def grade_file(assignment: str, file: Path | None, *, public_only: bool = False
               ) -> AssignmentReport:
    """Run one assignment's checks on `file` in a sandboxed child process."""
    checks = [c for c in checks_for(assignment) if not (public_only and c.hidden)]
    if file is None:
        missing = (f"no submission found: expected {assignment}/{assignment}.ipynb "
                   f"(or .py) in the submitted folder")
        return AssignmentReport(assignment, None, [_unjudged(c, missing) for c in checks])
    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch:
        workdir = Path(scratch)
        results_file = workdir / "results.jsonl"
        copy = workdir / "submission" / file.name  # the child sees this copy, not the folder
        copy.parent.mkdir()
        shutil.copyfile(file, copy)
        key, key_fd = verdicts.new_key_pipe()
        _prepare_data(assignment)
        # Under bubblewrap the data is read-only to the child; without it, it is checked.
        data_before = None if isolation().sandboxed else _fingerprint(data_dir())
        try:
            argv = _pytest_argv(assignment, copy, results_file, public_only, workdir, key_fd)
            child = run_sandboxed(argv, workdir=workdir, timeout_s=_time_limit(checks),
                                  readable=(data_dir(), MANIFEST_PATH, settings_path()),
                                  env={DATA_DIR_ENV: str(data_dir().resolve())},
                                  pass_fds=(key_fd,))
        finally:
            os.close(key_fd)
        records, rejected = verdicts.read(results_file, key)
        report = _report(assignment, file, checks, records, rejected, child)
    if data_before is not None:
        report.problems += _undo_data_changes(data_dir(), data_before)
    return report


def _prepare_data(assignment: str) -> None:
    """Build what the assignment's checks read from each dataset they declare."""
    for name in datasets_for(assignment):
        try:
            prepare_dataset(name)
        except DataError:
            pass  # a check that needs the data reports it missing, with the fix


def _fingerprint(root: Path) -> dict[Path, str]:
    """sha256 of every file in the data folder's datasets and cache (not the kit's own
    files beside them, such as the manifest), to see whether a submission changed any."""
    if not root.is_dir():
        return {}
    return {path: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in root.glob("*/**/*") if path.is_file()}


def _undo_data_changes(root: Path, before: dict[Path, str]) -> list[str]:
    """Delete data files a submission added or changed, so the next student is graded
    on the real data: the feature cache is rebuilt, a changed dataset must be fetched
    again (grading says so) rather than be used."""
    after = _fingerprint(root)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    for path in changed:
        path.unlink(missing_ok=True)
    if not changed:
        return []
    names = ", ".join(str(p.relative_to(root)) for p in changed)
    return [f"the submission changed files in the grader's data folder ({names}); "
            "they were deleted so that no other submission is graded on them"]


def _time_limit(checks: list[Check]) -> float:
    default = sum(time_limit("check_s", c.timeout_s) for c in checks) + STARTUP_ALLOWANCE_S
    return time_limit("assignment_s", default)


def _pytest_argv(assignment: str, file: Path, results: Path, public_only: bool,
                 workdir: Path, key_fd: int) -> list[str]:
    ini = workdir / "pytest.ini"
    ini.write_text("[pytest]\n")
    argv = [sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(workdir),
            "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider", "-q",
            "--submission", str(file.resolve()), "--assignment", assignment,
            "--results", str(results), "--key-fd", str(key_fd),
            "--pyargs", "autograder.pytest_checks"]
    return argv + (["--public-only"] if public_only else [])


def _report(assignment: str, file: Path, checks: list[Check], records: list[dict],
            rejected: int, child: ChildResult) -> AssignmentReport:
    verdicts_by_check: dict[str, dict] = {}
    for record in records:  # the first verdict for a check is the one that counts
        if "check" in record:
            verdicts_by_check.setdefault(record["check"], record)
    started = [r["started"] for r in records if "started" in r]
    running = next((name for name in reversed(started) if name not in verdicts_by_check), None)
    problems = [p for r in records for p in r.get("problems", [])]
    if rejected:
        problems.append(f"{rejected} line(s) in the grader's results file were not written by "
                        "the grader and were ignored")
    results = []
    for check in checks:
        verdict = verdicts_by_check.get(check.name)
        if verdict is None:
            when = ("while this check was running" if check.name == running else
                    "while your submission's top-level code was running"
                    if running == verdicts.LOADING else "before this check ran")
            results.append(_unjudged(check, f"{child.describe_end()} {when}"))
            continue
        status = verdict["status"]  # signed, so written by the grader's own plugin
        results.append(CheckResult(check.name, check.title,
                                   check.points if status == PASSED else 0.0,
                                   0.0 if status == SKIPPED else check.points,
                                   check.hidden, status, verdict["message"], verdict["detail"]))
    return AssignmentReport(assignment, str(file), results, problems, child.log_tail)


def _unjudged(check: Check, why: str) -> CheckResult:
    return CheckResult(check.name, check.title, 0.0, check.points, check.hidden, FAILED,
                       f"not graded: {why}.")
