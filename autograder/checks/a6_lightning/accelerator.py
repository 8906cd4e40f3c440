"""a6, part 4: the device the student's Trainer picks and trains on.

A CUDA device is faked while the Trainer is built, never used, to see what `"cpu"` and
`"auto"` pick; only the GPU-only check trains on a real GPU, and names a tensor that
Lightning could not move there.
"""
from __future__ import annotations

import contextlib
import tempfile
from types import ModuleType
from typing import Iterator
from unittest import mock

from lightning.pytorch.callbacks import Callback

from autograder.checks.a6_lightning import check
from autograder.checks.a6_lightning.harness import (
    TOY_TRAIN_BATCHES,
    TOY_VAL_BATCHES,
    run_lightning,
    scratch_dir,
    student_module,
    student_trainer,
)
from autograder.checks.support import fail, require_cuda
from autograder.checks.toy_data import toy_loader


@contextlib.contextmanager
def _fake_cuda() -> Iterator[None]:
    """Make one CUDA device look available to Lightning, for building a Trainer only."""
    with mock.patch("torch.cuda.is_available", return_value=True), \
            mock.patch("torch.cuda.device_count", return_value=1):
        yield


@check(points=1)
def accelerator_is_honoured(submission: ModuleType) -> None:
    """accelerator="cpu" trains on the CPU even where a GPU exists, and "auto" picks the GPU

    with a CUDA device faked (`torch.cuda.is_available`, `device_count`) while the Trainer
    is built, never used: `"cpu"` gives a CPU Trainer, `"auto"` a CUDA one
    """
    picked = {}
    with _fake_cuda(), tempfile.TemporaryDirectory() as root:
        for accelerator in ("cpu", "auto"):
            trainer = student_trainer(submission, root, max_epochs=1, patience=1,
                                      accelerator=accelerator)
            picked[accelerator] = trainer.strategy.root_device.type
    expected = {"cpu": "cpu", "auto": "cuda"}
    if picked == expected:
        return
    hint = (" Pass `accelerator=accelerator` to `L.Trainer`." if picked["cpu"] == picked["auto"]
            else "")
    fail(f"on a machine with a GPU, `make_trainer(..., accelerator=\"cpu\")` built a Trainer "
         f"on {picked['cpu']!r} and `accelerator=\"auto\"` one on {picked['auto']!r}; "
         f"expected 'cpu' and 'cuda'.{hint}")


class DeviceRecorder(Callback):
    """Notes where the parameters and the batch are at each training step."""

    def __init__(self):
        self.devices: set[tuple[str, str]] = set()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.devices.add((next(pl_module.parameters()).device.type, batch["X"].device.type))


@check(points=1, timeout_s=120, gpu_only=True)  # never measured on a CPU
def auto_accelerator_trains_on_the_gpu(submission: ModuleType) -> None:
    """with accelerator="auto" on a GPU machine, the module and its batches are on the GPU

    GPU only (`require_cuda()`; skipped, 0 of 0, elsewhere): with `"auto"` the parameters
    and batches are on CUDA at every training step; a tensor attribute left on the CPU is
    named
    """
    require_cuda()
    module = student_module(submission)
    recorder = DeviceRecorder()
    with scratch_dir() as scratch:
        trainer = student_trainer(submission, str(scratch / "run"), max_epochs=1, patience=1,
                                  accelerator="auto")
        trainer.callbacks.append(recorder)
        try:
            run_lightning("training your module with `accelerator=\"auto\"`", trainer.fit,
                          module, toy_loader(TOY_TRAIN_BATCHES, seed=1),
                          toy_loader(TOY_VAL_BATCHES, seed=2))
        except RuntimeError as exc:
            if "device" not in str(exc):
                raise
            fail(f"with `accelerator=\"auto\"` on a machine with a GPU, your module raised "
                 f"{type(exc).__name__}: {str(exc)[:300]}. Lightning moves the module's "
                 "parameters and buffers to the GPU, but not a tensor kept as a plain "
                 "attribute (`self.w = torch.ones(2)`): register it with "
                 "`self.register_buffer(\"w\", torch.ones(2))`, or create tensors in a step "
                 "with `device=self.device`.")
    if recorder.devices == {("cuda", "cuda")}:
        return
    fail(f"with `accelerator=\"auto\"` on a machine with a GPU, the training steps ran with "
         f"(parameters, batch) on {sorted(recorder.devices)}; expected both on 'cuda'. Pass "
         "`accelerator=accelerator` to `L.Trainer` and let Lightning move the module and "
         "the batches (no `.to(...)` or `.cpu()` in your steps).")
