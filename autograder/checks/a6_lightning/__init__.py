"""Checks for a6: a LightningModule and a Trainer with early stopping and checkpointing.

The module's hooks are called directly (`forward`, `training_step`,
`configure_optimizers`) or run by a trusted Trainer that records every `self.log` call.
The student's `make_trainer` is judged by what its Trainer does to a trusted module
whose validation logs a scripted `val_acc` per epoch: the epoch it stops at, the
checkpoint it keeps, where it writes, and the device it picks (a CUDA device is faked,
never used, except by the GPU-only check).

Lightning is imported with this package (`harness`), before the submission loads, so
that the student's own `import lightning` (about 5 s) fits in the loader's per-statement
budget.
"""
from __future__ import annotations

import importlib

from autograder.checks.registry import checker

check = checker("a6_lightning", datasets=("sst2",))

# imported in this order, the order the checks run in
PARTS = ("hooks", "logged_metrics", "scripted_trainer", "accelerator", "sst2")
for _part in PARTS:
    importlib.import_module(f"{__name__}.{_part}")

# benchmarks/calibrate.py looks for `calibration_run` on an assignment's check module
from autograder.checks.a6_lightning.sst2 import calibration_run as calibration_run  # noqa: E402
