"""Feedback pages: pictures travel from a check to the page, and the page works in a real
browser (headless Chromium) at phone width: it renders, its images load, nothing errors.

One real grading of a buggy a2 submission (zero_grad never called) is shared by the
module: both its zero_grad check and the grader's SST-2 run fail and carry pictures.
"""
from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from autograder.batch import grade_students
from autograder.checks import check_by_id, figures
from autograder.grading import AssignmentReport, grade_file
from autograder.html_report import page
from autograder.outcome import FAILED, run_check
from autograder.report import render
from autograder.submission import load_submission

A2 = "a2_training_loop"
FIXTURES = Path(__file__).parent / "fixtures" / A2
ZERO_GRAD_NEVER = FIXTURES / "bug_zero_grad_never.py"
ZERO_GRAD = f"{A2}.zero_grad_once_per_batch"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PHONE = (390, 844)
SECRET = "the hidden check's message, which must not reach the page"

# Installed first, so an error anywhere on the page is caught; on load it measures the
# page and writes the result into the DOM, which --dump-dom prints.
PROBE = """<script>
window.__errors = [];
window.onerror = function (message) { window.__errors.push(String(message)); };
window.addEventListener("load", function () {
  var images = Array.from(document.images);
  var result = {
    errors: window.__errors,
    images: images.length,
    images_loaded: images.every(function (i) { return i.complete && i.naturalWidth > 0; }),
    scroll_width: document.documentElement.scrollWidth,
    inner_width: window.innerWidth,
    text_length: document.body.innerText.trim().length
  };
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"""


def open_in_chromium(page_html: str, folder: Path) -> dict:
    """What the probe measured on a copy of the page in headless Chromium at phone width."""
    chromium = shutil.which("chromium")
    assert chromium, ("chromium is not installed; the feedback pages are checked in a real "
                      "browser (`apt-get install chromium`, as .ci/run does)")
    probed = folder / "probed.html"
    probed.write_text(page_html.replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8")
    run = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu",
         f"--window-size={PHONE[0]},{PHONE[1]}", "--virtual-time-budget=5000",
         f"--user-data-dir={folder / 'profile'}", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, (f"the probe wrote no result: Chromium exited {run.returncode}; "
                   f"its stderr ends with: {run.stderr[-2000:]}")
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def report() -> AssignmentReport:
    return grade_file(A2, ZERO_GRAD_NEVER)


@pytest.fixture(scope="module")
def report_with_failed_hidden_check(report: AssignmentReport) -> AssignmentReport:
    """The real report, with one hidden check failed, message and picture included."""
    picture = next(r for r in report.results if r.figures).figures
    results = [replace(r, status=FAILED, points=0.0, message=SECRET, figures=picture)
               if r.hidden else r for r in report.results]
    return replace(report, results=results)


def by_name(report: AssignmentReport, name: str):
    return next(r for r in report.results if r.name == name)


@pytest.mark.sst2
def test_failures_carry_their_pictures_from_the_sandboxed_child(report):
    for name in ("zero_grad_once_per_batch", "sst2_dev_accuracy"):
        result = by_name(report, name)
        assert result.status == FAILED, f"{name}: {result.message}"
        assert result.figures, f"{name} failed without the picture that explains it"
        for figure in result.figures:
            assert set(figure) == {"title", "png_base64"}
            assert base64.b64decode(figure["png_base64"]).startswith(PNG_SIGNATURE)
    passed = by_name(report, "loss_is_mean_bce")
    assert passed.figures == [], "a check that draws nothing should carry no picture"
    saved = json.loads(json.dumps(report.to_dict()))  # as grade-all writes it
    kept = {c["name"]: c["figures"] for c in saved["results"]}
    assert kept["zero_grad_once_per_batch"] == by_name(report, "zero_grad_once_per_batch").figures


def test_a_check_run_in_process_returns_what_it_attached():
    module = load_submission(ZERO_GRAD_NEVER).module
    outcome = run_check(check_by_id(ZERO_GRAD), module)
    assert outcome.status == FAILED
    assert [f["title"] for f in outcome.figures] == [
        "gradient norm at each optimizer step of your train_epoch"]


def test_a_forked_check_sends_its_pictures_back_to_the_parent():
    """In a fresh interpreter with one thread, `run_isolated` really forks."""
    script = f"""
import json
from pathlib import Path
from autograder.checks import check_by_id
from autograder.forked_check import _other_threads_run, run_isolated
from autograder.submission import load_submission
module = load_submission(Path({str(ZERO_GRAD_NEVER)!r})).module
forks = not _other_threads_run()
outcome = run_isolated(check_by_id({ZERO_GRAD!r}), module)
print(json.dumps({{"forks": forks, "status": outcome.status,
                  "titles": [f["title"] for f in outcome.figures]}}))
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["forks"], "this process runs other threads, so the check did not run in a fork"
    assert seen["status"] == FAILED
    assert seen["titles"] == ["gradient norm at each optimizer step of your train_epoch"]


def test_a_check_keeps_a_few_well_formed_pictures_only():
    """Caps on count, and what student code appends to the list by hand is dropped."""
    for i in range(figures.MAX_FIGURES_PER_CHECK + 2):
        figures.attach_confusion_matrix(f"matrix {i}", [[3, 1], [0, 4]], ["deu", "eng"])
    taken = figures.take()
    assert [f["title"] for f in taken] == [
        f"matrix {i}" for i in range(figures.MAX_FIGURES_PER_CHECK)]
    assert base64.b64decode(taken[0]["png_base64"]).startswith(PNG_SIGNATURE)
    figures._attached.append({"title": "forged", "png_base64": "x" * 10**7})
    figures._attached.append({"title": "<img onerror=alert(1)>", "png_base64": "", "x": 1})
    assert figures.take() == [] and figures.take() == []


@pytest.mark.sst2
def test_the_page_works_in_chromium_at_phone_width(report, tmp_path):
    probe = open_in_chromium(page([report], "alice"), tmp_path)
    assert probe["errors"] == []
    assert probe["images"] == sum(len(r.figures) for r in report.results) >= 2
    assert probe["images_loaded"], "an image on the page did not load"
    assert probe["scroll_width"] <= probe["inner_width"], (
        f"at {PHONE[0]} px the page is {probe['scroll_width']} px wide: readers must "
        "scroll sideways")
    assert probe["text_length"] > 0


def test_the_probe_notices_a_broken_image(tmp_path):
    """The browser check is a detector: a page whose picture is not a PNG fails it."""
    broken = ('<!DOCTYPE html><html><head></head><body><p>text</p>'
              '<img src="data:image/png;base64,bm90IGEgcG5n"></body></html>')
    assert not open_in_chromium(broken, tmp_path)["images_loaded"]


@pytest.mark.sst2
def test_the_page_shows_score_checks_and_messages_but_not_hidden_ones(
        report_with_failed_hidden_check):
    report = report_with_failed_hidden_check
    text = page([report], "alice")
    assert "<script" not in text
    assert f"{report.score:g} / {report.max_score:g}" in text
    zero_grad = by_name(report, "zero_grad_once_per_batch")
    assert html.escape(zero_grad.title) in text
    assert html.escape(zero_grad.message, quote=False)[:60] in text
    hidden = [r for r in report.results if r.hidden]
    assert hidden and all(html.escape(r.title) in text for r in hidden)
    assert SECRET not in text
    shown = sum(len(r.figures) for r in report.results if not r.hidden)
    assert text.count("data:image/png;base64,") == shown


@pytest.mark.sst2
def test_grade_format_html_writes_one_page_for_all_assignments(report, tmp_path):
    out = tmp_path / "page.html"
    with open(out, "w", encoding="utf-8") as handle:
        render([report, report], "html", Console(file=handle, width=120, color_system=None))
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.count(f"<h2>{A2}</h2>") == 2


def test_grade_all_writes_a_page_per_student_and_assignment_next_to_the_csv(tmp_path):
    """A student who submitted nothing still gets a page saying so (no grading needed)."""
    (tmp_path / "class" / "bob").mkdir(parents=True)
    out = tmp_path / "out"
    grade_students(tmp_path / "class", out, assignment=A2)
    assert (out / "grades.csv").is_file()
    text = (out / "bob" / f"{A2}.html").read_text(encoding="utf-8")
    assert "bob: a2_training_loop" in text and "no submission found" in text
