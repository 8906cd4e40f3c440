"""Grade a submission: find each assignment's file, check it in a sandboxed
pytest child, and turn the child's verdicts into one report per assignment.

Scores are computed here, from the registry, never from what the child says a
check is worth; a check with no verdict from the child scores zero and says why.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder import verdicts
from autograder.checks import ASSIGNMENTS, Check, checks_for
from autograder.checks.registry import datasets_for
from autograder.checks.support import GPU_ONLY_SKIPPED, gpu_checks_skipped_here
from autograder.course import course_settings, settings_path, time_limit
from autograder.data.manifest import DATA_DIR_ENV, MANIFEST_PATH, DataError, data_dir
from autograder.data.prepare import prepare_dataset
from autograder.outcome import FAILED, PASSED, SKIPPED
from autograder.sandbox import SANDBOXED, ChildResult, isolation
from autograder.submitted_file import note_on_other_file, pick
from autograder.workers import runner

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
    seconds: float | None = None  # how long the check ran, when it gave a verdict
    figures: list[dict] = field(default_factory=list)  # {"title", "png_base64"}, for pages


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


def grade(path: Path, *, assignment: str | None = None, public_only: bool = False,
          cold: bool = False) -> list[AssignmentReport]:
    """Grade every assignment found at `path` (or only `assignment`), several at once."""
    found = find_submissions(path, assignment)
    with ThreadPoolExecutor(max_workers=parallel_gradings()) as pool:
        return list(pool.map(lambda item: grade_file(*item, public_only=public_only,
                                                     cold=cold), found))


def parallel_gradings() -> int:
    """Gradings run at once by default: one per CPU core this process may use (each
    grading child computes on one thread)."""
    return len(os.sched_getaffinity(0))


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
    """The submission in `folder/<assignment>/`, else in `folder` itself."""
    for base in (folder / assignment, folder):
        if (file := pick(base, assignment)) is not None:
            return file
    return None


def grade_file(assignment: str, file: Path | None, *, public_only: bool = False,
               cold: bool = False) -> AssignmentReport:
    """Run one assignment's checks on `file` in a sandboxed child process: forked from a
    warm worker, or with `cold`, a fresh interpreter."""
    checks = [c for c in checks_for(assignment) if not (public_only and c.hidden)]
    if file is None:
        missing = (f"no submission found: expected {assignment}/{assignment}.ipynb "
                   f"(or .py) in the submitted folder")
        return AssignmentReport(assignment, None, [unjudged(c, missing) for c in checks])
    _prepare_data(assignment)
    # Under bubblewrap the data is read-only to the child; without it, it is checked.
    data_before = None if isolation().sandboxed else _fingerprint(data_dir())
    readable = (data_dir().resolve(), MANIFEST_PATH, settings_path())
    env = {DATA_DIR_ENV: str(data_dir().resolve())}
    cold = cold or not course_settings().get("grading", {}).get("warm_workers", True)
    with runner(readable, env, cold=cold) as child_runner, tempfile.TemporaryDirectory(
            prefix="autograder-", dir=child_runner.scratch_parent) as scratch:
        workdir = Path(scratch)
        results_file = workdir / "results.jsonl"
        copy = workdir / "submission" / file.name  # the child sees this copy, not the folder
        copy.parent.mkdir()
        shutil.copyfile(file, copy)
        key = verdicts.new_key()
        args = _pytest_args(assignment, copy, results_file, public_only, workdir)
        child = child_runner.run(args, workdir=workdir, timeout_s=grading_limit_s(checks), key=key)
        records, rejected = verdicts.read(results_file, key)
        report = _report(assignment, file, checks, records, rejected, child)
    report.problems[:0] = note_on_other_file(file, assignment)
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


def grading_limit_s(checks: list[Check]) -> float:
    default = sum(c.timeout_s for c in checks) + STARTUP_ALLOWANCE_S
    return time_limit("assignment_s", default)


def _pytest_args(assignment: str, file: Path, results: Path, public_only: bool,
                 workdir: Path) -> list[str]:
    """pytest's arguments for one grading (the plugin and the key's pipe are the
    runner's to add)."""
    ini = workdir / "pytest.ini"
    ini.write_text("[pytest]\n")
    args = ["-c", str(ini), "--rootdir", str(workdir), "-p", "no:cacheprovider", "-q",
            "--submission", str(file.resolve()), "--assignment", assignment,
            "--results", str(results), "--pyargs", "autograder.pytest_checks"]
    return args + (["--public-only"] if public_only else [])


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
            results.append(unjudged(check, f"{child.describe_end()} {when}"))
            continue
        status = verdict["status"]  # signed, so written by the grader's own plugin
        results.append(CheckResult(check.name, check.title,
                                   check.points if status == PASSED else 0.0,
                                   0.0 if status == SKIPPED else check.points,
                                   check.hidden, status, verdict["message"], verdict["detail"],
                                   verdict["seconds"], verdict.get("figures", [])))
    return AssignmentReport(assignment, str(file), results, problems, child.log_tail)


def unjudged(check: Check, why: str, status: str = FAILED) -> CheckResult:
    """A check that got no verdict: zero points, and why. A GPU-only check where it would
    have been skipped is skipped, so every report of this machine has the same maximum."""
    if check.gpu_only and gpu_checks_skipped_here():
        return CheckResult(check.name, check.title, 0.0, 0.0, check.hidden, SKIPPED,
                           GPU_ONLY_SKIPPED)
    return CheckResult(check.name, check.title, 0.0, check.points, check.hidden, status,
                       f"not graded: {why}.")
