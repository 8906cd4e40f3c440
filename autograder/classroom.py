"""GitHub Classroom: the autograding workflow of a student starter repository.

Classroom's autograding is a GitHub Actions workflow, `.github/workflows/classroom.yml`:
one `classroom-resources/autograding-command-grader` step per test, worth its `max-score`
when its `command` exits 0, and `autograding-grading-reporter`, which decodes each of
those steps' `result` output (base64 JSON) from `<STEP_ID>_RESULTS` and sends the total
to the classroom. The workflow written here installs the kit and bubblewrap, fetches the
assignment's data, grades the submission once on the public checks into a JSON report
(`python -m autograder.classroom grade`), and then runs one test per public check whose
command reads that check's verdict from the report (`python -m autograder.classroom
verdict`). A report that was never written (the grading ran past its time limit, or the
kit did not install) fails every test with that reason, so the reporter always gets a
valid result for each.

Hidden checks are never named in the workflow: they are graded at the deadline on the
collected repositories (`autograder grade-all`). GPU-only checks are left out too, with a
comment saying so: GitHub's hosted runners have no GPU, so they could only ever be
skipped there, and a test worth points that cannot pass has no place in the total.

The verdict runs once per check on the runner, so this module imports the grader (and
with it torch) only inside the functions that grade or build the workflow.
"""
from __future__ import annotations

import json
import math
import os
import shlex
import sys
import textwrap
from pathlib import Path

import click

from autograder.checks import ASSIGNMENTS, Check, checks_for
from autograder.checks.registry import datasets_for
from autograder.data.manifest import DataError, fetch_arguments

WORKFLOW = Path(".github") / "workflows" / "classroom.yml"
DEFAULT_KIT_SPEC = "nn-autograder"
PYTHON_VERSION = "3.11"  # the kit's oldest supported Python, on which it is developed
# Outside the checkout, so a report committed to the repository never stands in for a
# grading; `~` is expanded by the shell in both the grading step and each test's command.
REPORT = "~/autograder-classroom/report.json"
# The job id GitHub Classroom's reporter looks up to attach the points to the run.
JOB_ID = "run-autograding-tests"
INSTALL_TIMEOUT_MIN = 20
FETCH_TIMEOUT_MIN = 15
# Beyond the checks' own limits: preparing the data's cache before the first check.
GRADE_MARGIN_MIN = 5
VERDICT_TIMEOUT_MIN = 1  # a verdict only reads the report
NOT_CANCELLED = "${{ !cancelled() }}"  # run even when an earlier step failed or timed out


class ClassroomError(Exception):
    """The workflow cannot be written as asked; the message says why."""


# --- the workflow ---------------------------------------------------------------------

def classroom_tests(assignment: str) -> tuple[list[Check], list[Check]]:
    """(the checks that become tests, the public ones left out because only a GPU runs
    them). Hidden checks are in neither."""
    public = [c for c in checks_for(assignment) if not c.hidden]
    gpu_only = [c for c in public if c.gpu_only]
    return [c for c in public if c not in gpu_only], gpu_only


def workflow(assignment: str, *, kit_spec: str = DEFAULT_KIT_SPEC,
             torch_index_url: str | None = None) -> str:
    """The text of `classroom.yml` for `assignment`."""
    from autograder.gradescope import TORCH_INDEX, torch_requirement
    from autograder.grading import grading_limit_s

    tests, gpu_only = classroom_tests(assignment)
    if not tests:
        raise ClassroomError(f"{assignment} has no public check that runs without a GPU, so a "
                             "classroom workflow would have no test")
    install = [f"python -m pip install --index-url {torch_index_url or TORCH_INDEX} "
               f"{shlex.quote(torch_requirement())}",
               f"python -m pip install {shlex.quote(kit_spec)}"]
    grade_min = math.ceil(grading_limit_s(tests) / 60) + GRADE_MARGIN_MIN
    steps = [_SETUP.format(python=PYTHON_VERSION, install_timeout=INSTALL_TIMEOUT_MIN,
                           install=_indented(install, 10))]
    try:
        steps += [_FETCH.format(name=name, timeout=FETCH_TIMEOUT_MIN,
                                source=fetch_arguments(name))
                  for name in datasets_for(assignment)]
    except DataError as exc:
        raise ClassroomError(f"{exc}, so the runner cannot fetch it") from exc
    steps.append(_GRADE.format(timeout=grade_min, assignment=assignment, report=REPORT))
    steps += [_test_step(check) for check in tests]
    steps.append(_reporter(tests))
    return _header(assignment, tests, gpu_only) + _JOB.format(job=JOB_ID) + "".join(steps)


def write_workflow(assignment: str, repo: Path, **options: str | None) -> Path:
    """Write `repo/.github/workflows/classroom.yml` (replacing one already there)."""
    text = workflow(assignment, **options)
    path = repo / WORKFLOW
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _header(assignment: str, tests: list[Check], gpu_only: list[Check]) -> str:
    paragraphs = [
        f"GitHub Classroom autograding for {assignment}, written by `autograder classroom` "
        "(write it again with that command rather than editing it).",
        "Every push grades the submission once on the public checks; each public check is "
        f"then one test worth its points ({_total(tests):g} in all), and the reporter sends the "
        "total to the classroom. Hidden checks do not run here: they are graded at the "
        "deadline, on the collected repositories."]
    if gpu_only:
        paragraphs.append("Left out, as GitHub's hosted runners have no GPU (graded at the "
                          "deadline, on one): " + ", ".join(f"{c.id} ({c.points:g} points)"
                                                            for c in gpu_only) + ".")
    lines = "\n#\n".join("\n".join(f"# {line}" for line in textwrap.wrap(text, 86))
                         for text in paragraphs)
    return lines + "\n"


def _test_step(check: Check) -> str:
    name = json.dumps(f"{check.name}: {check.title}", ensure_ascii=False)
    command = f"python -m autograder.classroom verdict {REPORT} {check.id}"
    return _TEST.format(name=name, id=check.name, if_=NOT_CANCELLED, command=command,
                        timeout=VERDICT_TIMEOUT_MIN, points=_max_score(check))


def _reporter(tests: list[Check]) -> str:
    env = "".join(f'          {c.name.upper()}_RESULTS: "${{{{steps.{c.name}.outputs.result}}}}"\n'
                  for c in tests)
    return _REPORTER.format(if_=NOT_CANCELLED, env=env,
                            runners=",".join(c.name for c in tests))


def _max_score(check: Check) -> int:
    """The check's points as the command grader reads `max-score`: a whole number."""
    if not float(check.points).is_integer():
        raise ClassroomError(f"{check.id} is worth {check.points:g} points, but GitHub "
                             "Classroom's command grader reads max-score as a whole number "
                             "(parseInt); give the check whole points")
    return int(check.points)


def _total(checks: list[Check]) -> float:
    return sum(c.points for c in checks)


def _indented(lines: list[str], spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in lines)


_JOB = """\
name: Autograding Tests
"on":
  - push
  - repository_dispatch
  - workflow_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  {job}:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
"""

_SETUP = """\
      - name: Check out the submission
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "{python}"
      - name: Install the grading kit (torch's CPU build; the runner has no GPU)
        timeout-minutes: {install_timeout}
        run: |
          python -m pip install --upgrade pip
{install}
      - name: Install bubblewrap (the grading sandbox)
        timeout-minutes: {install_timeout}
        run: |
          sudo apt-get update
          sudo apt-get install -y bubblewrap
          # Ubuntu 24.04 denies bubblewrap its user namespaces unless this is relaxed
          sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true
"""

_FETCH = """\
      - name: Fetch the {name} data (sha256-verified)
        timeout-minutes: {timeout}
        run: python -m autograder data fetch {name}{source}
"""

_GRADE = """\
      - name: Grade the public checks
        timeout-minutes: {timeout}
        run: python -m autograder.classroom grade {assignment} --out {report}
"""

_TEST = """\
      - name: {name}
        id: {id}
        if: {if_}
        uses: classroom-resources/autograding-command-grader@v1
        with:
          test-name: {name}
          command: {command}
          timeout: {timeout}
          max-score: {points}
"""

_REPORTER = """\
      - name: Autograding Reporter
        if: {if_}
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{env}        with:
          runners: {runners}
"""


# --- on the runner: grade once, then one verdict per test -----------------------------

def grade_public(assignment: str, submission: Path, out: Path) -> list:
    """Grade `submission` on the assignment's public checks and write the report, as JSON
    in the layout of `autograder grade --format json`, atomically: a grading stopped
    halfway leaves no report rather than half of one."""
    from autograder.grading import grade

    out.unlink(missing_ok=True)  # a report from before never stands in for this grading
    reports = grade(submission, assignment=assignment, public_only=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(json.dumps([r.to_dict() for r in reports], indent=1), encoding="utf-8")
    os.replace(partial, out)
    return reports


def verdict(report: Path, check_id: str) -> tuple[bool, str]:
    """(whether the check earned its points in `report`, what to tell the student)."""
    assignment, _, name = check_id.partition(".")
    try:
        graded = json.loads(report.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False, (f"not graded: no report at {report}. The step \"Grade the public "
                       "checks\" did not finish (it ran past its time limit or failed) or did "
                       "not run (an earlier step failed); its log says why.")
    except (OSError, ValueError) as exc:
        return False, (f"not graded: the report at {report} could not be read "
                       f"({type(exc).__name__}: {exc}); expected the JSON the step \"Grade the "
                       "public checks\" writes.")
    try:
        entry, result = _find(graded, assignment, name)
        if result is not None:
            return _judged(entry, result)
    except (KeyError, TypeError, ValueError) as exc:
        return False, (f"not graded: the report at {report} does not have the layout the "
                       f"step \"Grade the public checks\" writes ({type(exc).__name__}: {exc}).")
    return False, (f"not graded: the report at {report} holds no verdict for {check_id}. The "
                   "kit that graded is not the one this workflow was written for: write the "
                   "workflow again with `autograder classroom`.")


def _find(graded: list[dict], assignment: str, name: str) -> tuple[dict, dict | None]:
    """The assignment's report and the check's result in it (None when it has none)."""
    entry = next((e for e in graded if e["assignment"] == assignment), {})
    return entry, next((r for r in entry.get("results", []) if r["name"] == name), None)


def _judged(entry: dict, result: dict) -> tuple[bool, str]:
    """A check passes here only when it earned its points; a skipped one (0 of 0) did not."""
    score = f"{result['points']:g}/{result['max_points']:g}"
    if result["max_points"] > 0 and result["points"] >= result["max_points"]:
        return True, f"passed ({score}): {result['title']}"
    lines = [f"{result['title']} ({score}): {result['message']}"]
    lines += [f"while loading your submission: {p}" for p in entry.get("problems", [])]
    return False, "\n".join(lines)


# --- commands -------------------------------------------------------------------------

@click.command("classroom")
@click.argument("assignment", type=click.Choice(ASSIGNMENTS))
@click.option("--repo", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help=f"The student starter repository; the workflow goes to {WORKFLOW}.")
@click.option("--kit-spec", default=DEFAULT_KIT_SPEC, show_default=True,
              help="What the runner pip-installs as the kit: a name, a pinned version or a "
                   "git URL (the student kit, which has no hidden checks).")
@click.option("--torch-index-url", metavar="URL",
              help="Where torch comes from (default: PyTorch's CPU wheels, as the runner has "
                   "no GPU).")
def classroom_command(assignment: str, repo: Path, kit_spec: str,
                      torch_index_url: str | None) -> None:
    """Write the GitHub Classroom autograding workflow into a student starter repository.

    \b
    Example:
      autograder classroom a1_backprop --repo ../a1-starter
      autograder classroom a2_training_loop --repo ../a2-starter \\
          --kit-spec "git+https://github.com/COURSE/nn-kit-student@v1"
    """
    try:
        path = write_workflow(assignment, repo, kit_spec=kit_spec,
                              torch_index_url=torch_index_url)
    except ClassroomError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    tests, gpu_only = classroom_tests(assignment)
    click.echo(f"{path}: {len(tests)} tests, one per public check of {assignment}, "
               f"{_total(tests):g} points; the hidden checks are graded at the deadline "
               "(autograder grade-all).")
    if gpu_only:
        names = ", ".join(c.name for c in gpu_only)
        click.echo(f"Left out, as GitHub's hosted runners have no GPU: {names}.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def runner() -> None:
    """What the classroom workflow runs on GitHub's runner (`python -m autograder.classroom`)."""


@runner.command("grade")
@click.argument("assignment", type=click.Choice(ASSIGNMENTS))
@click.argument("path", type=click.Path(path_type=Path), default=".")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where the JSON report goes.")
def grade_command(assignment: str, path: Path, out: Path) -> None:
    """Grade PATH (the checked-out repository) on ASSIGNMENT's public checks into --out.

    Exit code 0 whenever the report was written, whatever the score: the tests score it.
    """
    from rich.console import Console

    from autograder.grading import UsageError
    from autograder.report import render

    try:
        reports = grade_public(assignment, path, out.expanduser())
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc
    render(reports, "table", Console())


@runner.command("verdict")
@click.argument("report", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("check_id")
def verdict_command(report: Path, check_id: str) -> None:
    """Exit 0 when CHECK_ID (assignment.check) passed in REPORT, else print why and exit 1."""
    passed, message = verdict(report.expanduser(), check_id)
    click.echo(message)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    runner()
