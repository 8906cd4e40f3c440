"""`autograder gradescope` builds Gradescope's autograder zip (setup.sh, run_autograder,
the kit, never solutions/ or tests/), and the zip's own run_autograder, run against a
folder laid out like Gradescope's /autograder, writes a valid results.json whatever it
is given: the reference solution, a notebook that is not JSON, an empty upload, a grader
that breaks, or too little time left before the platform's limit."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import gradescope
from autograder.checks import checks_for
from autograder.cli import main
from autograder.course import CONFIG_ENV
from autograder.data.manifest import DATA_DIR_ENV
from autograder.paths import REPO_ROOT

A1 = "a1_backprop"
A2 = "a2_training_loop"
REFERENCE = REPO_ROOT / "solutions" / A1 / f"{A1}.ipynb"
RUN_TIMEOUT_S = 300


def build(out: Path, *args: str) -> Path:
    result = CliRunner().invoke(main, ["gradescope", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def a1_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("zip") / "autograder.zip", A1)


def unzip(archive: Path, dest: Path) -> None:
    """Extract as `unzip` does on Gradescope: with each member's permission bits."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, dest))
            if mode := stat.S_IMODE(info.external_attr >> 16):
                path.chmod(mode)


def gradescope_root(tmp_path: Path, archive: Path, *uploads: tuple[str, bytes]) -> Path:
    """A folder laid out like Gradescope's /autograder, the student's files uploaded."""
    root = tmp_path / "autograder"
    unzip(archive, root / "source")
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    for name, content in uploads:
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_bytes(content)
    (root / "submission").mkdir(exist_ok=True)
    (root / "results").mkdir()
    return root


def run_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment run_autograder gets: this interpreter instead of setup.sh's venv,
    the zip's kit (not this checkout's) first on the path, no course or data overrides."""
    env = {k: v for k, v in os.environ.items()
           if k not in (DATA_DIR_ENV, CONFIG_ENV, gradescope.DEADLINE_ENV)}
    return {**env, gradescope.ROOT_ENV: str(root), "AUTOGRADER_GRADESCOPE_PYTHON": sys.executable,
            "PYTHONPATH": str(root / "source" / gradescope.KIT), **extra}


def run_autograder(root: Path, **extra: str) -> dict:
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=run_env(root, **extra),
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert done.returncode == 0, done.stdout + done.stderr
    return valid_results(root)


def valid_results(root: Path) -> dict:
    """results.json as Gradescope's specification has it, with one test per a1 check."""
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert isinstance(results["execution_time"], int)
    assert isinstance(results["output"], str)
    assert len(results["tests"]) == len(checks_for(A1))
    for test in results["tests"]:
        assert test["name"].startswith(f"{A1}: ") and test["output"]
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in {"passed", "failed"}
        assert test["visibility"] in {"visible", "after_published"}
    assert results["score"] == sum(test["score"] for test in results["tests"])
    return results


def test_the_zip_holds_setup_run_autograder_and_the_kit_but_no_solution_or_test(a1_zip):
    with zipfile.ZipFile(a1_zip) as zf:
        infos = {info.filename: info for info in zf.infolist()}
        config = json.loads(zf.read(gradescope.CONFIG_NAME))
    for script in ("setup.sh", "run_autograder"):
        assert stat.S_IMODE(infos[script].external_attr >> 16) == 0o755, script
    kit = {"kit/pyproject.toml", "kit/README.md", "kit/datasets/manifest.json",
           "kit/autograder/grading.py", "kit/autograder/checks/a1_backprop/poly.py",
           "kit/autograder/checks/reference_times.toml"}
    assert kit <= infos.keys()
    leaked = [name for name in infos
              if {"solutions", "tests", "assignments", "__pycache__"} & set(name.split("/"))
              or name.endswith((".ipynb", ".pyc"))]
    assert leaked == []
    assert config == {"assignments": [A1], "platform_limit_s": 60 * 40}


def test_setup_sh_is_valid_bash_that_installs_the_kit_and_fetches_each_declared_dataset(
        tmp_path, a1_zip, shared_sst2_dir):
    data = tmp_path / "data"
    data.mkdir()
    (data / "sst2").symlink_to(shared_sst2_dir)
    zips = {"a1": a1_zip, "a2": build(tmp_path / "a2.zip", A2),
            "a2 bundled": build(tmp_path / "a2_bundled.zip", A2, "--data-from", str(data))}
    scripts = {}
    for label, archive in zips.items():
        with zipfile.ZipFile(archive) as zf:
            scripts[label] = zf.read("setup.sh").decode()
            names = set(zf.namelist())
        checked = subprocess.run(["bash", "-n"], input=scripts[label], capture_output=True,
                                 text=True)
        assert checked.returncode == 0, f"{label}: {checked.stderr}"
        assert "apt-get install -y --no-install-recommends bubblewrap" in scripts[label]
        assert "--index-url https://download.pytorch.org/whl/cpu torch==" in scripts[label]
        assert 'pip" install -e "$SOURCE/kit"' in scripts[label]
        assert ({"data/sst2/train.tsv", "data/sst2/dev.tsv"} <= names) == (label == "a2 bundled")
    assert "data fetch" not in scripts["a1"]
    assert '"$VENV/bin/autograder" data fetch sst2\n' in scripts["a2"]
    assert 'data fetch sst2 --from "$SOURCE/data/sst2"' in scripts["a2 bundled"]
    assert 'prepare_dataset("sst2")' in scripts["a2"]


def test_data_from_refuses_a_copy_that_is_missing_or_fails_its_checksum(tmp_path):
    empty = tmp_path / "empty"
    (empty / "sst2").mkdir(parents=True)
    result = CliRunner().invoke(main, ["gradescope", A2, "--data-from", str(empty),
                                       "--out", str(tmp_path / "a2.zip")])
    assert result.exit_code == 2
    assert "has no train.tsv, dev.tsv" in result.output
    assert f"autograder --data-dir {empty} data fetch sst2" in result.output

    corrupt = tmp_path / "corrupt"
    (corrupt / "sst2").mkdir(parents=True)
    for name in ("train.tsv", "dev.tsv"):
        (corrupt / "sst2" / name).write_text("sentence\tlabel\n")
    result = CliRunner().invoke(main, ["gradescope", A2, "--data-from", str(corrupt),
                                       "--out", str(tmp_path / "a2.zip")])
    assert result.exit_code == 2
    assert "but the manifest expects" in result.output
    assert not (tmp_path / "a2.zip").exists()


def test_the_reference_earns_full_marks_with_hidden_checks_after_published(tmp_path, a1_zip):
    root = gradescope_root(tmp_path, a1_zip, (f"{A1}.ipynb", REFERENCE.read_bytes()))
    where = "import autograder; print(autograder.__file__)"  # the zip's kit runs, not ours
    imported = subprocess.run([sys.executable, "-P", "-c", where], env=run_env(root), cwd=root,
                              capture_output=True, text=True, check=True)
    assert Path(imported.stdout.strip()).is_relative_to(root / "source" / "kit")

    results = run_autograder(root)

    checks = checks_for(A1)
    assert results["score"] == sum(c.points for c in checks)
    assert {t["status"] for t in results["tests"]} == {"passed"}
    visibility = {t["name"]: t["visibility"] for t in results["tests"]}
    assert visibility == {f"{A1}: {c.title}": "after_published" if c.hidden else "visible"
                          for c in checks}
    assert "after_published" in visibility.values()


def test_a_notebook_that_is_not_json_scores_zero_and_says_so(tmp_path, a1_zip):
    root = gradescope_root(tmp_path, a1_zip, (f"{A1}.ipynb", b"print('hello')\n"))
    results = run_autograder(root)
    assert results["score"] == 0
    for test in results["tests"]:
        assert test["status"] == "failed"
        assert "could not be read as a Jupyter notebook" in test["output"]
        assert "does not appear to be JSON" in test["output"]


def test_an_empty_upload_scores_zero_and_says_what_was_expected(tmp_path, a1_zip):
    root = gradescope_root(tmp_path, a1_zip)
    results = run_autograder(root)
    assert results["score"] == 0
    assert all(t["output"].startswith("not graded: no submission found") for t in results["tests"])
    assert (f"{A1}: no {A1}.ipynb (or .py) was uploaded; the upload holds no file at all"
            in results["output"])


def test_with_the_platform_limit_near_nothing_is_started_and_the_results_say_why(
        tmp_path, a1_zip):
    root = gradescope_root(tmp_path, a1_zip, (f"{A1}.ipynb", REFERENCE.read_bytes()))
    results = run_autograder(root, **{gradescope.DEADLINE_ENV: "5"})
    assert results["score"] == 0
    for test in results["tests"]:
        assert test["status"] == "failed"
        assert test["output"].startswith("not graded: the platform's time limit was near:")
        assert f"{A1} may take up to" in test["output"]
    assert "raise the autograder timeout in the assignment's Gradescope settings" in (
        results["output"])


def test_a_grader_that_breaks_still_leaves_valid_results_at_every_moment(
        tmp_path, a1_zip, monkeypatch):
    root = gradescope_root(tmp_path, a1_zip, (f"{A1}.ipynb", REFERENCE.read_bytes()))
    seen = {}

    def broken_grade_file(assignment, file):
        seen["while grading"] = valid_results(root)  # written before grading started
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(gradescope, "grade_file", broken_grade_file)
    written = gradescope.run(root)

    assert seen["while grading"]["score"] == 0
    assert all(t["output"].startswith("not graded: grading did not finish")
               for t in seen["while grading"]["tests"])
    assert valid_results(root) == written
    assert written["score"] == 0
    assert all("the grader itself failed (RuntimeError: disk on fire)" in t["output"]
               for t in written["tests"])


def test_a_zip_without_its_configuration_still_gives_a_results_file_that_says_so(tmp_path):
    root = tmp_path / "autograder"
    written = gradescope.run(root)
    assert written["score"] == 0 and written["tests"] == []
    assert f"could not read {root / 'source' / gradescope.CONFIG_NAME}" in written["output"]
    assert json.loads((root / "results" / "results.json").read_text()) == written


def test_the_notebook_is_found_wherever_the_upload_puts_it(tmp_path):
    upload = tmp_path / "submission"
    (upload / "repo" / A1).mkdir(parents=True)
    (upload / "repo" / A1 / f"{A1}.ipynb").write_text("{}")
    (upload / ".ipynb_checkpoints").mkdir()
    (upload / ".ipynb_checkpoints" / f"{A1}.ipynb").write_text("{}")
    assert gradescope.find_submission(upload, A1, only=True) == (
        upload / "repo" / A1 / f"{A1}.ipynb", [])

    renamed = tmp_path / "renamed"
    renamed.mkdir()
    (renamed / f"{A1} (2).ipynb").write_text("{}")
    (renamed / "notes.txt").write_text("")
    file, problems = gradescope.find_submission(renamed, A1, only=True)
    assert file == renamed / f"{A1} (2).ipynb"
    assert problems == [f"graded {A1} (2).ipynb as {A1}.ipynb (no file of that name was uploaded)"]
    file, problems = gradescope.find_submission(renamed, A1, only=False)
    assert file is None
    assert problems == [f"no {A1}.ipynb (or .py) was uploaded; the upload holds {A1} (2).ipynb, "
                        "notes.txt. Submit the notebook under that name."]
