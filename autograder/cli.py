"""The `autograder` command: a subcommand per verb, each a thin call.

Exit codes: 0 every check passed, 1 some check failed, 2 usage, setup or grader error.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click
from rich.console import Console

from autograder import gradescope
from autograder.batch import grade_students
from autograder.checks import ASSIGNMENTS
from autograder.checks.stand_ins import have_trusted_versions
from autograder.classroom import classroom_command
from autograder.data.fetch import fetch_dataset
from autograder.data.manifest import DATA_DIR_ENV, DataError, data_dir
from autograder.gradebook import CANVAS_GRADEBOOK, GRADEBOOK
from autograder.grading import AssignmentReport, UsageError, grade
from autograder.outcome import ERROR, PASSED, SKIPPED
from autograder.release import RELEASE, ReleaseError, generate
from autograder.report import FORMATS, render
from autograder.sandbox import end_every_child, isolation
from autograder.student_release import StudentReleaseError, write_student_release


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help=f"Where datasets live (default: ${DATA_DIR_ENV}, else the kit's datasets/, "
                   "or the user data folder for a kit installed without its checkout).")
def main(data_dir: Path | None) -> None:
    """Autograded neural-network assignments."""
    if data_dir is not None:
        os.environ[DATA_DIR_ENV] = str(data_dir.resolve())
    # A platform's time limit sends SIGTERM, a person Ctrl-C: every grading child and warm
    # worker is killed, and none started, before the exit.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def _stop(signum: int, frame) -> None:
    end_every_child()
    sys.exit(128 + signum)


# The student kit has no trusted versions of the students' code (checks.stand_ins).
OWN_VERSIONS_NOTE = ("note: where the grader runs a check with its own trusted version of "
                     "another of your functions or classes, this kit runs it with yours, so "
                     "one bug can fail several checks here: fix the first failure first.")


@main.command("grade")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--assignment", type=click.Choice(ASSIGNMENTS), help="Grade only this one.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report here instead of the terminal.")
def grade_command(path: Path, assignment: str | None, fmt: str, out: Path | None) -> None:
    """Grade a submission folder, a notebook or a module, hidden checks included.

    \b
    Example:
      autograder grade solutions/a2_training_loop
      autograder grade submission/ --format gradescope --out results/results.json
      autograder grade submission/ --format html --out feedback.html
    """
    _grade_and_exit(path, assignment=assignment, fmt=fmt, out=out, public_only=False)


@main.command("grade-all")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--assignment", type=click.Choice(ASSIGNMENTS), help="Grade only this one.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("grades"), show_default=True,
              help="Where grades.csv, the LMS grade books, one <student>.json report and one "
                   "<student>/<assignment>.html feedback page each are written.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Students graded at once (each in its own sandboxed child).")
@click.option("--resume", is_flag=True,
              help="Skip students who already have a report in --out-dir.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Grade on this Dask cluster's workers instead (e.g. tcp://head:8786); "
                   "--jobs is then the cluster's.")
def grade_all_command(folder: Path, assignment: str | None, out_dir: Path, jobs: int,
                      resume: bool, scheduler: str | None) -> None:
    """Grade every student folder in FOLDER (one sub-folder per student).

    \b
    Example, with submissions/<student>/a2_training_loop/a2_training_loop.ipynb:
      autograder grade-all submissions --assignment a2_training_loop --jobs 2
      autograder grade-all submissions --resume      # after an interruption
      autograder grade-all submissions --scheduler tcp://head:8786
    """
    warn_if_not_sandboxed()
    table, failures = grade_students(folder, out_dir, assignment=assignment, jobs=jobs,
                                     resume=resume, scheduler=scheduler)
    graded = table["student"].nunique() if len(table) else 0
    click.echo(f"graded {graded} student(s): {out_dir / 'grades.csv'}; for the LMS: "
               f"{out_dir / GRADEBOOK}, {out_dir / CANVAS_GRADEBOOK}")
    for failure in failures:
        click.echo(f"not graded: {failure} (run again with --resume)", err=True)
    grader_errors = bool(len(table)) and (table["grader_errors"] > 0).any()
    sys.exit(2 if failures or grader_errors else 0)


@main.command("check")
@click.argument("assignment", type=click.Choice(ASSIGNMENTS))
@click.argument("path", type=click.Path(path_type=Path), default=".")
def check_command(assignment: str, path: Path) -> None:
    """Run an assignment's public checks on your work (what students run).

    \b
    Example, from the folder that holds a2_training_loop/:
      autograder check a2_training_loop
    """
    _grade_and_exit(path, assignment=assignment, fmt="table", out=None, public_only=True)


def _grade_and_exit(path: Path, *, assignment: str | None, fmt: str, out: Path | None,
                    public_only: bool) -> None:
    warn_if_not_sandboxed()
    try:
        reports = grade(path, assignment=assignment, public_only=public_only)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc
    if out is None:
        render(reports, fmt, Console())
        if exit_code(reports) and not have_trusted_versions():
            click.echo(OWN_VERSIONS_NOTE)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", encoding="utf-8") as handle:
            render(reports, fmt, Console(file=handle, width=120, color_system=None))
    sys.exit(exit_code(reports))


def warn_if_not_sandboxed() -> None:
    """Say once, on the terminal, that grading runs without the sandbox."""
    if not isolation().sandboxed:
        click.echo(f"warning: {isolation().description}", err=True)


def exit_code(reports: list[AssignmentReport]) -> int:
    statuses = {r.status for report in reports for r in report.results}
    if ERROR in statuses:
        return 2
    return 0 if statuses <= {PASSED, SKIPPED} else 1


@main.command("release")
@click.argument("assignments", nargs=-1, type=click.Choice(ASSIGNMENTS))
@click.option("--student", "student_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Instead, write what students get to this folder: the stubs from "
                   "assignments/ as notebooks and modules, and the kit without hidden checks.")
def release_command(assignments: tuple[str, ...], student_dir: Path | None) -> None:
    """Regenerate the student stubs in assignments/ from solutions/ (nbgrader), or with
    --student, write the student release from them.

    \b
    Example, after editing a solution notebook, then for the students:
      autograder release a2_training_loop
      autograder release --student student-release
    """
    if student_dir is not None:
        try:
            folder = write_student_release(student_dir, assignments=assignments or ASSIGNMENTS)
        except StudentReleaseError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        click.echo(f"student release written to {folder} (what students run: its README.md)")
        return
    for assignment in assignments or ASSIGNMENTS:
        try:
            folder = generate(assignment, RELEASE)
        except ReleaseError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        click.echo(f"{assignment}: released to {folder}")


@main.group("data")
def data_group() -> None:
    """Fetch and locate the datasets."""


@data_group.command("fetch")
@click.argument("name")
@click.option("--from", "source", metavar="DIR_OR_URL",
              help="A local copy (folder or zip) or a URL, instead of the official source.")
def fetch_command(name: str, source: str | None) -> None:
    """Download (or copy) a dataset into the data directory, verifying its sha256.

    \b
    Example:
      autograder data fetch sst2
      autograder data fetch sst2 --from ~/Downloads/SST-2.zip
    """
    try:
        folder = fetch_dataset(name, root=data_dir(), source=source)
    except DataError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{name} is ready in {folder}")


@main.command("gradescope")
@click.argument("assignments", nargs=-1, required=True, type=click.Choice(ASSIGNMENTS))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("autograder.zip"), show_default=True, help="The zip to write.")
@click.option("--data-from", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A data folder like datasets/ whose verified copies are bundled in the zip "
                   "(instead of a download when Gradescope builds the image).")
@click.option("--time-limit-min", type=click.IntRange(min=1),
              default=gradescope.DEFAULT_TIME_LIMIT_MIN, show_default=True,
              help="The autograder timeout set in the assignment's Gradescope settings; "
                   "grading stops before it.")
def gradescope_command(assignments: tuple[str, ...], out: Path, data_from: Path | None,
                       time_limit_min: int) -> None:
    """Build Gradescope's autograder zip (setup.sh, run_autograder, the kit) for ASSIGNMENTS.

    \b
    Example:
      autograder gradescope a1_backprop --out a1.zip
      autograder gradescope a7_langid --data-from datasets --out a7.zip
    """
    try:
        built = gradescope.build_zip(assignments, out, data_from=data_from,
                                     time_limit_min=time_limit_min)
    except (gradescope.GradescopeError, DataError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    data = ("none" if not built.datasets else ", ".join(built.datasets)
            + (" (bundled)" if built.bundled_data else " (downloaded by setup.sh)"))
    settings = "; the course's autograder.toml" if "kit/autograder.toml" in built.members else ""
    click.echo(f"{built.path}: {', '.join(built.assignments)}; datasets: {data}{settings}; "
               f"{len(built.members)} files")
    click.echo(f"On Gradescope: upload it as the assignment's autograder and set its timeout to "
               f"{built.time_limit_min} minutes (the grader stops "
               f"{gradescope.MARGIN_S:.0f} s before).")


@main.command("gradescope-run")
@click.option("--root", envvar=gradescope.ROOT_ENV, default=gradescope.ROOT, show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help=f"Gradescope's folder (source/, submission/, results/); "
                   f"also ${gradescope.ROOT_ENV}.")
@click.option("--deadline-s", envvar=gradescope.DEADLINE_ENV, type=click.FloatRange(min=0),
              help="Seconds after the start by which grading must end (default: the zip's "
                   f"time limit less {gradescope.MARGIN_S:.0f} s); also "
                   f"${gradescope.DEADLINE_ENV}.")
def gradescope_run_command(root: Path, deadline_s: float | None) -> None:
    """Grade a Gradescope submission into results/results.json (what run_autograder runs).

    Exit code 0 whenever results.json was written, whatever the score.

    \b
    Example, in a folder laid out like Gradescope's /autograder:
      autograder gradescope-run --root /tmp/autograder --deadline-s 600
    """
    written = gradescope.run(root, deadline_s=deadline_s)
    for test in written["tests"]:
        click.echo(f"{test['score']:g}/{test['max_score']:g}  {test['name']}")
    click.echo(f"score {written['score']:g} in {written['execution_time']} s: "
               f"{root / 'results' / 'results.json'}")
    if written["output"]:
        click.echo(written["output"])


main.add_command(classroom_command)
