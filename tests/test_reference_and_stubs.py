"""The reference solutions earn full marks on the real data, with the pictures the
feedback pages show even when a check passes; the stubs earn zero, each check saying
"not implemented yet" rather than crashing the grader. A GPU check on a machine without
CUDA is skipped (0 of 0), never passed or failed."""
from __future__ import annotations

import base64

import pytest
import torch

from autograder.checks import ASSIGNMENTS
from autograder.grading import grade
from autograder.outcome import PASSED, SKIPPED
from autograder.release import RELEASE, SOLUTIONS

# The pictures a passing check attaches: check -> a fragment of the picture's title.
PICTURES = {"a2_training_loop": {"sst2_dev_accuracy": "the grader's SST-2 run"},
            "a7_langid": {"held_out_accuracy": "by true and predicted language"}}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _skipped_without_gpu(result) -> bool:
    return result.status == SKIPPED and not torch.cuda.is_available()


@pytest.mark.sst2
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_earns_full_marks(assignment):
    [report] = grade(SOLUTIONS / assignment)
    failures = {r.name: r.message for r in report.results
                if r.status != PASSED and not _skipped_without_gpu(r)}
    assert not failures
    assert report.score == report.max_score > 0
    assert not report.problems
    for result in report.results:
        expected = PICTURES.get(assignment, {}).get(result.name)
        titles = [figure["title"] for figure in result.figures]
        assert [t for t in titles if expected in t] if expected else not titles, titles
        assert all(base64.b64decode(f["png_base64"]).startswith(PNG_SIGNATURE)
                   for f in result.figures)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stub_earns_zero_saying_not_implemented(assignment):
    [report] = grade(RELEASE / assignment)
    assert report.score == 0
    unexpected = {r.name: r.message for r in report.results
                  if not r.message.startswith("not implemented yet")
                  and not _skipped_without_gpu(r)}
    assert not unexpected
