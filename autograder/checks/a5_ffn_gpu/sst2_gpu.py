"""a5, part 5: the student's net and `train_model` on SST-2, the one check with a threshold
a course may move, then on the GPU: where CUDA is, `train_model` must keep its work there
and reach the CPU run's accuracy; elsewhere these checks say "skipped: no CUDA device".
"""
from __future__ import annotations

from types import ModuleType

import numpy as np
import torch
from torch.utils.data import DataLoader

from autograder.checks.a5_ffn_gpu import check
from autograder.checks.a5_ffn_gpu.device_discipline import forward_devices
from autograder.checks.a5_ffn_gpu.net import student_net
from autograder.checks.a5_ffn_gpu.toy_runs import TOY_LR, toy_accuracy, toy_loaders, toy_net
from autograder.checks.devices import DeviceWatch
from autograder.checks.registry import threshold
from autograder.checks.support import fail, require, require_cuda
from autograder.data.sst2 import batch_loader, load_sst2_features

# SST-2 run, sized so that grading one submission takes under 20 s on 2 CPU cores
# (benchmarks/ffn_epoch.py): one epoch over a seeded subset of the training set, batch 256,
# a net with one hidden layer of 16 units, lr 0.01, whatever Adam the student builds.
SST2_SEED = 0
SST2_SUBSET = 20_480
SST2_BATCH_SIZE = 256
SST2_HIDDEN = [16]
SST2_LR = 0.01
SST2_EPOCHS = 1
SST2_SETTING = (f"{SST2_EPOCHS} epoch over {SST2_SUBSET:,} training sentences, batch "
                f"{SST2_BATCH_SIZE}, hidden_dims={SST2_HIDDEN}, lr {SST2_LR}")
# Measured with benchmarks/calibrate.py a5_ffn_gpu, reference solution, seeds 0-9, torch
# 2.13 CPU: min 0.7867, mean 0.7976, max 0.8108 (the short run costs ~0.03 against a full
# epoch). The threshold sits 0.0267 below the minimum, room for correct variants (NAdam,
# fused Adam, other initialisations); a loop that stops after one batch per epoch fails.
SST2_MIN_DEV_ACCURACY = 0.76
# GPU and CPU runs of one seed differ only by floating-point summation order; a run
# that silently trains elsewhere or not at all differs by far more.
GPU_ACCURACY_TOLERANCE = 0.02


def sst2_loaders_for_a5(seed: int) -> tuple[DataLoader, DataLoader, int]:
    """The grader's SST-2 setting: (train loader over a seeded subset, dev loader,
    vocabulary size), then torch seeded so the net built next starts the same way."""
    features = load_sst2_features()
    rows = np.random.default_rng(seed).permutation(features.X_train.shape[0])[:SST2_SUBSET]
    train = batch_loader(features.X_train[rows], features.y_train[rows], SST2_BATCH_SIZE,
                         shuffle=True, seed=seed)
    dev = batch_loader(features.X_dev, features.y_dev, SST2_BATCH_SIZE, shuffle=False)
    torch.manual_seed(seed)
    return train, dev, features.vocab_size


def sst2_run(submission: ModuleType, seed: int = SST2_SEED, device: str = "cpu") -> float:
    """The student's net trained by their train_model with the grader's setting; the
    grader's measure of its dev accuracy."""
    train_model = require(submission, "train_model")
    train_loader, dev_loader, vocab_size = sst2_loaders_for_a5(seed)
    model = student_net(submission, vocab_size, SST2_HIDDEN)
    train_model(model, train_loader, dev_loader, SST2_EPOCHS, SST2_LR, torch.device(device))
    return toy_accuracy(model, dev_loader, device)


# The CPU run's accuracy per (FeedforwardNet, train_model), so the GPU check reuses it.
_CPU_ACCURACY: dict[tuple, float] = {}


def _cpu_accuracy(submission: ModuleType) -> float:
    key = (require(submission, "FeedforwardNet"), require(submission, "train_model"))
    if key not in _CPU_ACCURACY:
        _CPU_ACCURACY[key] = sst2_run(submission)
    return _CPU_ACCURACY[key]


def calibration_run(submission: ModuleType, seed: int) -> tuple[float, str]:
    """The run the threshold is calibrated on (benchmarks/calibrate.py): (accuracy, what ran)."""
    return sst2_run(submission, seed), SST2_SETTING


@check(points=3, threshold=SST2_MIN_DEV_ACCURACY)
def sst2_dev_accuracy(submission: ModuleType) -> None:
    """your net and train_model reach the expected SST-2 dev accuracy

    The student's net (hidden_dims [16]) trained by their `train_model` for one epoch over
    20,480 training sentences (batch 256, lr 0.01, seed 0, CPU) reaches 0.76 dev accuracy.
    """
    accuracy = _cpu_accuracy(submission)
    minimum = threshold("a5_ffn_gpu.sst2_dev_accuracy")
    if accuracy < minimum:
        fail(f"after your `train_model` ({SST2_SETTING}, seed {SST2_SEED}, on the CPU) your "
             f"net reaches {accuracy:.4f} dev accuracy; at least {minimum} is expected (the "
             "reference reaches 0.79-0.81 in this short run). The other checks point at the "
             "likely cause.")


@check(points=2, timeout_s=120, gpu_only=True)
def gpu_training_runs_on_cuda(submission: ModuleType) -> None:
    """on a GPU, train_model keeps the model and batches on CUDA and launches CUDA kernels

    GPU only ("skipped: no CUDA device" elsewhere): on a trusted net, every forward's batch
    and weights and every step's parameters are on CUDA, and the profiler sees CUDA kernels
    (or the allocator, CUDA allocations).
    """
    require_cuda()
    train_model = require(submission, "train_model")
    model = toy_net(submission)
    seen = forward_devices(model)
    watch = DeviceWatch(model, torch.device("cuda"))
    train_loader, dev_loader = toy_loaders()
    allocations = torch.cuda.memory_stats().get("allocation.all.allocated", 0)
    # CPU too: without it, a torch whose profiler cannot reach CUDA (no CUPTI) refuses to run.
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as profile, watch:
        train_model(model, train_loader, dev_loader, 1, TOY_LR, torch.device("cuda"))
    torch.cuda.synchronize()
    allocations = torch.cuda.memory_stats().get("allocation.all.allocated", 0) - allocations
    off = [(batch, sorted(params)) for batch, params in seen
           if batch != "cuda" or params != {"cuda"}]
    if not seen or off:
        fail(f"on a GPU, `train_model(..., device=cuda)` ran forward passes with (batch, "
             f"weights) on {off[:3] or 'nothing'}; the model and every batch belong on CUDA.")
    if any(devices != {"cuda"} for devices in watch.step_devices) or not watch.step_devices:
        fail("on a GPU the optimizer did not step parameters on CUDA; move the model before "
             "building the optimizer.")
    # Kernels as the profiler saw them; where it cannot see them (no CUPTI), the caching
    # allocator's count of CUDA allocations made during the run.
    kernels = [e for e in profile.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    if not kernels and not allocations:
        fail("on a GPU, `train_model` launched no CUDA kernel: the work ran on the CPU.")


@check(points=2, timeout_s=300, gpu_only=True)
def gpu_dev_accuracy_matches_cpu(submission: ModuleType) -> None:
    """on a GPU, the SST-2 run reaches the CPU run's dev accuracy

    GPU only: the SST-2 run of `sst2_dev_accuracy` with `device=cuda` ends within 0.02 of
    the CPU run's dev accuracy.
    """
    require_cuda()
    gpu, cpu = sst2_run(submission, device="cuda"), _cpu_accuracy(submission)
    if abs(gpu - cpu) > GPU_ACCURACY_TOLERANCE:
        fail(f"the grader's SST-2 run ({SST2_SETTING}) reaches {gpu:.4f} dev accuracy on the "
             f"GPU and {cpu:.4f} on the CPU; they should agree within "
             f"{GPU_ACCURACY_TOLERANCE}. Check that every batch and the model are on "
             "`device` and that nothing depends on where the code runs.")
