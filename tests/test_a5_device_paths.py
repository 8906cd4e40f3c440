"""a5's device checks where there is no GPU: the GPU checks say "skipped: no CUDA device"
(or stop with a grader error when the course requires a GPU), and the meta-device checks
tell an error only `meta` raises apart from the student's own bugs and stubs."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from autograder.checks.registry import check_by_id
from autograder.outcome import ERROR, FAILED, PASSED, SKIPPED, run_check
from autograder.submission import load_submission

FIXTURES = Path(__file__).parent / "fixtures" / "a5_ffn_gpu"
GPU_CHECKS = ("gpu_training_runs_on_cuda", "gpu_dev_accuracy_matches_cpu")
no_gpu_here = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")


def _module(source: str, tmp_path: Path, name: str):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    submission = load_submission(path, module_name=name)
    assert not submission.problems
    return submission.module


def _outcome(check: str, module):
    return run_check(check_by_id(f"a5_ffn_gpu.{check}"), module)


@pytest.fixture(scope="module")
def reference():
    return load_submission(FIXTURES / "correct_reference_style.py", module_name="a5_ref").module


@no_gpu_here
@pytest.mark.parametrize("check", GPU_CHECKS)
def test_gpu_check_is_skipped_without_cuda(check, reference):
    outcome = _outcome(check, reference)
    assert outcome.status == SKIPPED
    assert outcome.message.startswith("skipped: no CUDA device")


@no_gpu_here
@pytest.mark.parametrize("check", GPU_CHECKS)
def test_require_gpu_turns_a_missing_gpu_into_a_grader_error(check, reference, course_config):
    course_config("require_gpu = true\n")
    outcome = _outcome(check, reference)
    assert outcome.status == ERROR
    assert "requires a GPU" in outcome.message


def _with_predict_line(line: str) -> str:
    """The reference, with one extra statement at the end of predict's batch loop."""
    source = (FIXTURES / "correct_reference_style.py").read_text()
    anchor = "            predictions.append(model(batch[\"X\"].to(device)).argmax(dim=1).cpu())\n"
    assert source.count(anchor) == 1
    return source.replace(anchor, anchor + f"            {line}\n")


def test_an_operator_meta_lacks_is_a_grader_error_not_the_students(tmp_path):
    # torch.bincount has no meta kernel: PyTorch raises NotImplementedError from the
    # student's own line, which must not read as "not implemented yet".
    line = 'torch.bincount(model(batch["X"].to(device)).argmax(dim=1))'
    module = _module(_with_predict_line(line), tmp_path, "a5_bincount")
    outcome = _outcome("predict_follows_device", module)
    assert outcome.status == ERROR
    assert "not a bug in your code" in outcome.message
    assert "not implemented" not in outcome.message.lower()
    assert _outcome("predict_returns_cpu_labels", module).status == PASSED


def test_reading_values_back_on_meta_is_allowed(tmp_path):
    latest = 'model(batch["X"].to(device))'
    line = (f"print(f'{{{latest}.mean():.3f}}', {latest}.tolist()[:1], float({latest}.sum()), "
            f"{latest}.cpu().numpy().shape, bool({latest}.any()), {latest}.argmax(1)[0].item())")
    module = _module(_with_predict_line(line), tmp_path, "a5_reads_back")
    assert _outcome("predict_follows_device", module).status == PASSED


def test_a_stub_under_meta_still_says_not_implemented(tmp_path):
    source = (FIXTURES / "correct_reference_style.py").read_text()
    stub = source.replace("def predict(model, loader, device):\n",
                          "def predict(model, loader, device):\n    raise NotImplementedError()\n")
    outcome = _outcome("predict_follows_device", _module(stub, tmp_path, "a5_stub"))
    assert outcome.status == FAILED
    assert outcome.message.startswith("not implemented yet")
