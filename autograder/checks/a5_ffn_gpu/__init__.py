"""Checks for a5: a feedforward net on SST-2, trained by hand on the GPU.

The architecture is observed through the layers `forward` really calls (recorded with
a torch function mode), so a layer kept out of `parameters()` is still seen and blamed
on registration alone. `train_model` and `predict` run on a trusted net where the kit
has one (`checks.stand_ins`; a bug in the student's net then costs its own checks only),
else on the student's own, and on small seeded data: the optimizer's steps, the gradient
at the first step, and every dev pass are watched from outside.
Device discipline is observed without a GPU on PyTorch's `meta` device
(`checks/devices.py`); the GPU checks run only where CUDA is, and say "skipped: no
CUDA device" elsewhere.

Five parts, one module each, imported in the order their checks run: the student's net
(`net`), `get_device`, training and prediction (`training`), device discipline
(`device_discipline`), and SST-2 and the GPU (`sst2_gpu`); what they share is `toy_runs`.
"""
from __future__ import annotations

import importlib

from autograder.checks.registry import checker

check = checker("a5_ffn_gpu", datasets=("sst2",))

PARTS = ("net", "get_device", "training", "device_discipline", "sst2_gpu")  # in check order
for _part in PARTS:
    importlib.import_module(f"{__name__}.{_part}")

# benchmarks/calibrate.py finds an assignment's calibrated run on its module.
from autograder.checks.a5_ffn_gpu.sst2_gpu import calibration_run as calibration_run  # noqa: E402
