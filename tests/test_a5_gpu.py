"""a5's GPU checks as detectors, on a machine with CUDA (skipped elsewhere, with the
reason "no CUDA device"). Each fixture is graded whole, in its sandboxed child, and must
get exactly these verdicts from the GPU checks and from the meta-device check beside
them: correct styles pass both GPU checks (one trains on the GPU at its top level, before
any check, so its checks run without a fork), a model or batches never moved fail them, and
the bugs in gpu_only/ (which only show on a real GPU) fail one GPU check each, alone."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from autograder.grading import AssignmentReport, grade_file
from autograder.outcome import FAILED, PASSED

pytestmark = [pytest.mark.gpu, pytest.mark.sst2,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]

FIXTURES = Path(__file__).parent / "fixtures" / "a5_ffn_gpu"
DEVICE_CHECKS = ("train_model_follows_device", "gpu_training_runs_on_cuda",
                 "gpu_dev_accuracy_matches_cpu")
# fixture -> {check: fragment of its message}; the other DEVICE_CHECKS must pass.
EXPECTED = {
    "correct_reference_style": {},
    "correct_modulelist_functional": {},
    "correct_module_globals": {},
    "gpu_only/correct_top_level_experiment": {},
    "bug_model_not_moved": {"train_model_follows_device": "never moved",
                            "gpu_training_runs_on_cuda": "never moved",
                            "gpu_dev_accuracy_matches_cpu": "device"},
    "bug_batches_not_moved": {"train_model_follows_device": "batch",
                              "gpu_training_runs_on_cuda": "batch",
                              "gpu_dev_accuracy_matches_cpu": "device"},
    "gpu_only/bug_cuda_falls_back_to_cpu": {"gpu_training_runs_on_cuda": "belong on CUDA"},
    "gpu_only/bug_cuda_one_batch_per_epoch": {"gpu_dev_accuracy_matches_cpu": "on the GPU"},
}
GRADE_WORKERS = 2


@pytest.fixture(scope="module")
def reports() -> dict[str, AssignmentReport]:
    def grade(name: str) -> AssignmentReport:
        return grade_file("a5_ffn_gpu", FIXTURES / f"{name}.py")

    with ThreadPoolExecutor(max_workers=GRADE_WORKERS) as pool:
        return dict(zip(EXPECTED, pool.map(grade, EXPECTED), strict=True))


@pytest.mark.parametrize("name", EXPECTED)
def test_device_checks_give_the_expected_verdicts(name: str, reports) -> None:
    results = {r.name: r for r in reports[name].results}
    got = {check: results[check].status for check in DEVICE_CHECKS}
    expected = {check: FAILED if check in EXPECTED[name] else PASSED for check in DEVICE_CHECKS}
    messages = {check: results[check].message for check in DEVICE_CHECKS}
    assert got == expected, f"{name}: {messages}"
    for check, fragment in EXPECTED[name].items():
        assert fragment.lower() in results[check].message.lower(), f"{name}: {messages}"


def test_gpu_checks_count_towards_the_maximum_on_a_gpu(reports) -> None:
    report = reports["correct_reference_style"]
    assert report.score == report.max_score == sum(r.max_points for r in report.results)
    assert all(r.max_points > 0 for r in report.results)
