"""Gradescope: build the autograder zip, and grade one submission inside it.

The zip holds, at its root, what Gradescope asks for and what the kit needs:

    setup.sh          run once as root when Gradescope builds the image: bubblewrap, a
                      Python venv, torch as pyproject.toml pins it (CPU build), the kit,
                      and each dataset the assignments declare (`autograder data fetch`)
    run_autograder    run for every submission: `autograder gradescope-run`
    gradescope.json   the bundled assignments and the platform's time limit
    kit/              the kit's source: the package, pyproject.toml, README.md,
                      datasets/manifest.json (and the course's autograder.toml)
    data/NAME/        with `--data-from`: verified copies, fetched from there

Never solutions/ or tests/. The kit is installed editable from kit/, because it finds
its manifest and the course's settings beside its package (`autograder.paths`).

At grading time Gradescope unpacks the zip in /autograder/source, puts the student's
files in /autograder/submission and reads /autograder/results/results.json (its
autograder specification). `run` grades the assignments one at a time, each with
`grading.grade_file`, and keeps results.json valid from its first second: every
assignment not yet graded is written as such, so a crash or the platform's kill still
leaves a results file, and an assignment whose time limit no longer fits before the
deadline is not started.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import stat
import time
import tomllib
import traceback
import zipfile
from dataclasses import dataclass
from pathlib import Path

import autograder
from autograder.checks import ASSIGNMENTS, Check, checks_for
from autograder.checks.registry import datasets_for
from autograder.course import settings_path
from autograder.data.fetch import FetchError, verify_copy
from autograder.data.manifest import MANIFEST_PATH, DataError, dataset_spec, fetch_arguments
from autograder.grading import (
    AssignmentReport,
    grade_file,
    grading_limit_s,
    unjudged,
)
from autograder.outcome import ERROR
from autograder.paths import README, REPO_ROOT
from autograder.report import gradescope
from autograder.submitted_file import SUFFIXES, pick

ROOT = Path("/autograder")  # Gradescope's; `ROOT_ENV` moves it (tests, a local dry run)
ROOT_ENV = "AUTOGRADER_GRADESCOPE_ROOT"
DEADLINE_ENV = "AUTOGRADER_GRADESCOPE_DEADLINE_S"
CONFIG_NAME = "gradescope.json"
KIT = "kit"
DATA = "data"
VENV = "/autograder/venv"
# Gradescope's autograder timeout is set per assignment, 10 minutes unless the
# instructor raises it, 40 at most (its troubleshooting page).
DEFAULT_TIME_LIMIT_MIN = 40
# Left between the grader's deadline and the platform's limit: the interpreter's start
# before the clock starts here, the last results.json, and the platform's own clock.
MARGIN_S = 120.0
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"  # Gradescope's machines have no GPU
EXECUTABLE = 0o755
REGULAR = 0o644
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the same inputs give the same zip, byte for byte
_IGNORED_UPLOADS = ("__MACOSX", ".ipynb_checkpoints", "__pycache__")


class GradescopeError(Exception):
    """The zip cannot be built as asked; the message says why and what to do."""


@dataclass(frozen=True)
class BuiltZip:
    path: Path
    assignments: tuple[str, ...]
    datasets: tuple[str, ...]
    bundled_data: bool
    time_limit_min: int
    members: tuple[str, ...]


# --- building the zip ---------------------------------------------------------------

def build_zip(assignments: list[str] | tuple[str, ...], out: Path, *,
              data_from: Path | None = None,
              time_limit_min: int = DEFAULT_TIME_LIMIT_MIN) -> BuiltZip:
    """Write Gradescope's autograder zip for `assignments` to `out` (atomically).

    `data_from`: a data folder laid out like datasets/ (`sst2/train.tsv`, …) whose
    verified copies are bundled, instead of a download in setup.sh. `time_limit_min`:
    the autograder timeout set in the assignment's Gradescope settings."""
    assignments = tuple(dict.fromkeys(assignments))
    unknown = [a for a in assignments if a not in ASSIGNMENTS]
    if not assignments or unknown:
        raise GradescopeError(f"unknown assignment(s) {', '.join(unknown) or '(none given)'}; "
                              f"known: {', '.join(ASSIGNMENTS)}")
    datasets = tuple(sorted({d for a in assignments for d in datasets_for(a)}))
    files = _kit_files()
    bundled = data_from is not None
    if bundled:
        files += [(f"{DATA}/{name}/{f}", path, REGULAR)
                  for name in datasets for f, path in _verified_copy(data_from, name).items()]
    config = {"assignments": list(assignments), "platform_limit_s": 60 * time_limit_min}
    texts = [("setup.sh", setup_script(datasets, bundled=bundled), EXECUTABLE),
             ("run_autograder", RUN_AUTOGRADER, EXECUTABLE),
             (CONFIG_NAME, json.dumps(config, indent=2) + "\n", REGULAR)]
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text, mode in texts:
                archive.writestr(_entry(name, mode), text)
            for name, path, mode in sorted(files):
                archive.writestr(_entry(name, mode), path.read_bytes())
            members = tuple(archive.namelist())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return BuiltZip(out, assignments, datasets, bool(datasets) and bundled,
                    time_limit_min, members)


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.external_attr = (stat.S_IFREG | mode) << 16  # kept by unzip: run_autograder runs
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _kit_files() -> list[tuple[str, Path, int]]:
    """The kit's source, as the zip names it: the package, what installs it, the data
    manifest and the course's settings; never solutions/, tests/ or fetched data."""
    pyproject = REPO_ROOT / "pyproject.toml"
    if not pyproject.is_file():
        raise GradescopeError(f"no pyproject.toml in {REPO_ROOT}: build the zip from the kit's "
                              "repository (an editable install, `pip install -e .`), whose "
                              "source the zip carries")
    package = Path(autograder.__file__).resolve().parent
    files = [(f"{KIT}/{path.relative_to(REPO_ROOT).as_posix()}", path, REGULAR)
             for path in sorted(package.rglob("*"))
             if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"]
    files += [(f"{KIT}/{path.relative_to(REPO_ROOT).as_posix()}", path, REGULAR)
              for path in (pyproject, README, MANIFEST_PATH, MANIFEST_PATH.with_name("README.md"))
              if path.is_file()]
    if settings_path().is_file():  # the course's thresholds and limits travel with the kit
        files.append((f"{KIT}/autograder.toml", settings_path(), REGULAR))
    return files


def _verified_copy(data_from: Path, name: str) -> dict[str, Path]:
    """The files of `data_from/name`, each checked against the manifest's sha256."""
    spec = dataset_spec(name)
    folder = data_from / name
    fetch = f"`autograder --data-dir {data_from} data fetch {name}`"
    missing = [f for f in spec["files"] if not (folder / f).is_file()]
    if missing:
        raise GradescopeError(
            f"--data-from {data_from}: {folder} has no {', '.join(missing)}; expected a data "
            f"folder laid out like datasets/, holding {spec['title']} as {name}/"
            f"{{{','.join(spec['files'])}}}. Put a verified copy there with {fetch}.")
    try:
        verify_copy(folder, spec, str(folder))
    except FetchError as exc:
        raise GradescopeError(f"--data-from {data_from}: {exc} Fetch a verified copy with "
                              f"{fetch}.") from exc
    return {fname: folder / fname for fname in spec["files"]}


def torch_requirement() -> str:
    """torch as pyproject.toml pins it (its thresholds are calibrated on that release)."""
    with open(REPO_ROOT / "pyproject.toml", "rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    pins = [d for d in dependencies if re.match(r"torch\s*([=<>!~;]|$)", d)]
    if not pins:
        raise GradescopeError(f"pyproject.toml in {REPO_ROOT} does not list torch among its "
                              "dependencies; the zip installs the torch the kit pins")
    return pins[0]


def _fetch_command(name: str, *, bundled: bool) -> str:
    """setup.sh's line that puts `name` in the kit's data folder, checksums verified."""
    fetch = f'"$VENV/bin/autograder" data fetch {name}'
    if bundled:
        return f'{fetch} --from "$SOURCE/{DATA}/{name}"'
    try:
        return fetch + fetch_arguments(name)
    except DataError as exc:
        raise GradescopeError(f"{exc}: bundle a verified copy with --data-from DIR "
                              f"(DIR/{name}/)") from exc


def setup_script(datasets: tuple[str, ...], *, bundled: bool) -> str:
    """setup.sh: what Gradescope runs once, as root on Ubuntu, to build the image."""
    data = [line for name in datasets for line in (
        _fetch_command(name, bundled=bundled),
        f'"$VENV/bin/python" -c {shlex.quote(_PREPARE.format(name=name))}')]
    return _SETUP.format(venv=VENV, torch=shlex.quote(torch_requirement()), index=TORCH_INDEX,
                         kit=KIT, data="\n".join(data) or "# (these assignments read no dataset)")


_PREPARE = 'from autograder.data.prepare import prepare_dataset; prepare_dataset("{name}")'

_SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
# Written by `autograder gradescope`; the kit's source is in kit/.
set -euo pipefail
SOURCE=/autograder/source
VENV={venv}
export DEBIAN_FRONTEND=noninteractive

apt-get update
apt-get install -y --no-install-recommends bubblewrap python3 python3-venv
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  # the kit needs Python 3.11 or later (Ubuntu 22.04's python3 is 3.10)
  apt-get install -y --no-install-recommends python3.11 python3.11-venv
  PYTHON=python3.11
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip
# torch as the kit's pyproject.toml pins it, the CPU build: Gradescope has no GPU
"$VENV/bin/pip" install --index-url {index} {torch}
# editable: the kit reads its data manifest and autograder.toml beside its package
"$VENV/bin/pip" install -e "$SOURCE/{kit}"

# The datasets the assignments declare, sha256-verified, and their caches built once
{data}
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission into
# /autograder/results/results.json. AUTOGRADER_GRADESCOPE_ROOT moves /autograder.
python="${AUTOGRADER_GRADESCOPE_PYTHON:-%s/bin/python}"
exec "$python" -P -m autograder gradescope-run 2>&1
""" % VENV


# --- grading a submission -----------------------------------------------------------

def run(root: Path = ROOT, *, deadline_s: float | None = None) -> dict:
    """Grade `root`/submission for the zip's assignments into `root`/results/results.json
    and return what was written. Assignments are graded one at a time; one whose time
    limit no longer fits before the deadline (`deadline_s` after the start, by default
    the zip's platform limit less `MARGIN_S`) is reported as not graded."""
    started = time.monotonic()
    results = root / "results" / "results.json"
    try:
        config = _read_config(root / "source" / CONFIG_NAME)
    except GradescopeError as exc:
        return _write(results, [AssignmentReport("autograder", None, [], [str(exc)])], started)
    if deadline_s is None:
        deadline_s = config["platform_limit_s"] - MARGIN_S
    assignments = config["assignments"]
    reports: list[AssignmentReport] = []
    for i, assignment in enumerate(assignments):
        # Until graded, every assignment stands as not graded, should grading die here.
        pending = [_not_reached(a) for a in assignments[i:]]
        _write(results, reports + pending, started)
        left = deadline_s - (time.monotonic() - started)
        reports.append(_grade_one(root / "submission", assignment, left, deadline_s,
                                  only=len(assignments) == 1))
    return _write(results, reports, started)


def _read_config(path: Path) -> dict:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        assignments = [str(a) for a in config["assignments"]]
        platform_limit_s = float(config["platform_limit_s"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GradescopeError(
            f"the autograder could not read {path} ({type(exc).__name__}: {exc}); expected the "
            "file `autograder gradescope` writes into the zip. Rebuild the zip and upload it "
            "again.") from exc
    return {"assignments": assignments, "platform_limit_s": platform_limit_s}


def _grade_one(submission: Path, assignment: str, left_s: float, deadline_s: float, *,
               only: bool) -> AssignmentReport:
    """One assignment's report, whatever happens: graded, not started for lack of
    time, or a grader error that costs the student nothing but this assignment."""
    checks: list[Check] = []
    try:
        checks = checks_for(assignment)
        limit = grading_limit_s(checks)
        if left_s < limit:
            return _out_of_time(assignment, checks, left_s, deadline_s, limit)
        file, problems = find_submission(submission, assignment, only=only)
        report = grade_file(assignment, file)
        report.problems[:0] = problems
        return report
    except Exception as exc:  # noqa: BLE001 - results.json must be written whatever broke
        traceback.print_exc()  # Gradescope shows this output to instructors only
        why = (f"the grader itself failed ({type(exc).__name__}: {exc}); this is not your "
               "submission's fault, and the instructor sees the traceback in the autograder's "
               "output")
        return AssignmentReport(assignment, None, [unjudged(c, why, ERROR) for c in checks],
                                [f"not graded: {why}"])


def _out_of_time(assignment: str, checks: list[Check], left_s: float, deadline_s: float,
                 limit_s: float) -> AssignmentReport:
    why = (f"the platform's time limit was near: {max(left_s, 0):.0f} s were left before the "
           f"grader's deadline ({deadline_s:.0f} s after it started) and {assignment} may take "
           f"up to {limit_s:.0f} s")
    fix = ("not graded: the platform's time limit was near. Instructors: raise the autograder "
           "timeout in the assignment's Gradescope settings and rebuild the zip with the same "
           "--time-limit-min, or split the assignments over several Gradescope assignments")
    return AssignmentReport(assignment, None, [unjudged(c, why) for c in checks], [fix])


def _not_reached(assignment: str) -> AssignmentReport:
    why = ("grading did not finish: the platform's time limit ended it, or the grader itself "
           "was stopped")
    try:
        checks = checks_for(assignment)
    except Exception:  # noqa: BLE001 - reported when its grading is tried
        checks = []
    return AssignmentReport(assignment, None, [unjudged(c, why) for c in checks])


def find_submission(folder: Path, assignment: str, *, only: bool) -> tuple[Path | None,
                                                                          list[str]]:
    """The uploaded `assignment.ipynb` (or `.py`), wherever it lies in the upload (a zip
    or a repository adds folders), and what the report should say about it. With `only`
    (the zip grades one assignment), a single notebook of another name is graded."""
    uploaded = sorted((p for p in folder.rglob("*") if p.is_file()
                       and not any(part in _IGNORED_UPLOADS or part.startswith(".")
                                   for part in p.relative_to(folder).parts)),
                      key=lambda p: (len(p.parts), str(p))) if folder.is_dir() else []
    for suffix in SUFFIXES:
        named = [p for p in uploaded if p.name == f"{assignment}{suffix}"]
        if named:  # beside the other kind, the one the student changed
            return pick(named[0].parent, assignment), []
    notebooks = [p for p in uploaded if p.suffix == ".ipynb"]
    if only and len(notebooks) == 1:
        return notebooks[0], [f"graded {notebooks[0].relative_to(folder)} as {assignment}.ipynb "
                              "(no file of that name was uploaded)"]
    listing = ", ".join(str(p.relative_to(folder)) for p in uploaded[:10]) or "no file at all"
    more = f" and {len(uploaded) - 10} more" if len(uploaded) > 10 else ""
    return None, [f"no {assignment}.ipynb (or .py) was uploaded; the upload holds {listing}"
                  f"{more}. Submit the notebook under that name."]


def _write(results: Path, reports: list[AssignmentReport], started: float) -> dict:
    """Write results.json atomically (Gradescope never reads half a file) via
    `report.gradescope`, and return what was written."""
    written = {**gradescope(reports), "execution_time": round(time.monotonic() - started)}
    results.parent.mkdir(parents=True, exist_ok=True)
    partial = results.with_name(f".{results.name}.partial")
    partial.write_text(json.dumps(written, indent=2), encoding="utf-8")
    os.replace(partial, results)
    return written
