"""a7's public checks in the student kit, which has no trusted versions (checks/trusted).

There `ngram_ids` runs with the student's own `char_ngrams` and the detector on the
student's own `collate`, while the n-grams and counts the checks expect are data in the
public module. So a correct submission still passes every check that used a trusted
version, and a bug those checks catch in the instructor's kit is caught there too, with
the same message (tests/fixtures/a7_langid/expected.toml).
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from autograder.checks.registry import check_by_id, reference_times
from autograder.checks.stand_ins import TRUSTED, have_trusted_versions
from autograder.outcome import FAILED, PASSED, Outcome, run_check
from autograder.submission import load_submission

A7 = "a7_langid"
FIXTURES = Path(__file__).parent / "fixtures" / A7
TABLE = tomllib.loads((FIXTURES / "expected.toml").read_text(encoding="utf-8"))
CORRECT = ("correct_md5_loops_module_globals", "correct_counter_tensors_best_epoch")
# The public checks that ran a trusted version or took their expected values from one.
STAND_IN_CHECKS = ("char_ngrams_overlapping_in_order", "ngram_ids_in_range",
                   "ngram_weights_are_relative_frequencies",
                   "detector_has_one_weighted_bag_per_order", "detector_bags_are_weighted_means")
FAST_S = 1.0  # reference seconds; slower checks (training) are the detector suite's
# Looked up now, in the instructor's kit: looking a check up imports a7's hidden checks,
# which import checks/trusted.
CHECKS = {name: check_by_id(f"{A7}.{name}") for name in STAND_IN_CHECKS
          if reference_times().get(f"{A7}.{name}", 0.0) <= FAST_S}
# (fixture, check, message fragment) for each of those checks a fixture's table says it fails.
CAUGHT = [(fixture, check, fragment) for fixture, table in TABLE.items()
          for check, fragments in table.items() if check in CHECKS
          for fragment in ([fragments] if isinstance(fragments, str) else fragments)]


@pytest.fixture(scope="module")
def submissions() -> dict[str, ModuleType]:
    """Every a7 fixture, loaded once (in the instructor's kit: loading needs no check)."""
    loaded = {}
    for path in sorted(FIXTURES.glob("*.py")):
        submission = load_submission(path, module_name=f"stand_ins_{path.stem}")
        assert not submission.problems, (path.name, submission.problems)
        loaded[path.stem] = submission.module
    return loaded


@pytest.fixture
def student_kit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide checks/trusted, as `autograder release --student` leaves it out."""
    monkeypatch.setitem(sys.modules, TRUSTED, None)
    assert not have_trusted_versions()


def _outcome(check: str, submission: ModuleType) -> Outcome:
    return run_check(CHECKS[check], submission)


def _matches(message: str, fragment: str) -> bool:
    """expected.toml's rule: a fragment in any case, or "re:" and a regular expression."""
    if fragment.startswith("re:"):
        return re.search(fragment[3:], message, re.S) is not None
    return fragment.lower() in message.lower()


def test_every_stand_in_check_is_fast_and_caught_by_some_fixture():
    assert set(CHECKS) == set(STAND_IN_CHECKS)
    assert {check for _, check, _ in CAUGHT} == set(STAND_IN_CHECKS)


@pytest.mark.usefixtures("student_kit")
@pytest.mark.parametrize("fixture", CORRECT)
@pytest.mark.parametrize("check", STAND_IN_CHECKS)
def test_correct_submission_passes_without_trusted_versions(check, fixture, submissions):
    outcome = _outcome(check, submissions[fixture])
    assert outcome.status == PASSED, outcome.message


@pytest.mark.usefixtures("student_kit")
@pytest.mark.parametrize(("fixture", "check", "fragment"), CAUGHT)
def test_bug_fails_its_check_without_trusted_versions(fixture, check, fragment, submissions):
    outcome = _outcome(check, submissions[fixture])
    assert outcome.status == FAILED, outcome.message
    assert _matches(outcome.message, fragment), outcome.message


def test_the_student_kit_runs_the_students_own_char_ngrams(submissions, monkeypatch):
    # A char_ngrams that drops the last n-gram costs only char_ngrams' check in the
    # instructor's kit; in the student's, ngram_ids runs on it and finds no 2-gram in "ba",
    # so the weight check fails too (the price `autograder check` warns of).
    buggy = submissions["bug_last_ngram_dropped"]
    check = "ngram_weights_are_relative_frequencies"
    assert _outcome(check, buggy).status == PASSED
    monkeypatch.setitem(sys.modules, TRUSTED, None)
    outcome = _outcome(check, buggy)
    assert outcome.status == FAILED
    assert "`ngram_ids('ba', 2, 1048576)` returned 0 ids" in outcome.message
