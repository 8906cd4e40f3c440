"""Seconds to grade one a5 submission, and per SST-2 epoch of the feedforward net, on the
CPU and, when there is one, on the GPU.

    python benchmarks/ffn_epoch.py [--hidden 128] [--batch-size 256] [--skip-grading]

Three figures per device: the grader's own SST-2 run of the reference (a5's setting, the
run `sst2_dev_accuracy` times), and one full epoch of a 13,774 → hidden → 2 net with
default Adam and with `Adam(fused=True)`. The grading time is the wall time of
`autograder grade solutions/a5_ffn_gpu` (child start-up and loading included).
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import click
import torch
import torch.nn.functional as F

from autograder.checks.a5_ffn_gpu import sst2_gpu
from autograder.data.sst2 import sst2_loaders
from autograder.submission import load_submission

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "solutions" / "a5_ffn_gpu" / "a5_ffn_gpu.ipynb"


def grading_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(REFERENCE)], cwd=REPO,
                   check=False, capture_output=True)
    return time.perf_counter() - start


def epoch_seconds(net_class, hidden: int, batch_size: int, device: torch.device,
                  fused: bool) -> float:
    """One epoch over the whole training set, batches moved to `device` as students do."""
    train_loader, _, vocab_size = sst2_loaders(batch_size, seed=0)
    torch.manual_seed(0)
    model = net_class(vocab_size, [hidden]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)
    start = time.perf_counter()
    for batch in train_loader:
        X, y = batch["X"].to(device), batch["y"].to(device)
        optimizer.zero_grad()
        F.cross_entropy(model(X), y).backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def grader_run_seconds(reference, device: str) -> tuple[float, float]:
    start = time.perf_counter()
    accuracy = sst2_gpu.sst2_run(reference, device=device)
    return time.perf_counter() - start, accuracy


@click.command()
@click.option("--hidden", default=128, show_default=True)
@click.option("--batch-size", default=256, show_default=True)
@click.option("--skip-grading", is_flag=True, help="only the epoch timings")
def main(hidden: int, batch_size: int, skip_grading: bool) -> None:
    """Print the grading time, then the epoch timings per device."""
    torch.set_num_threads(1)
    if not skip_grading:
        click.echo(f"grading one a5 submission (the reference): {grading_seconds():.1f} s")
    reference = load_submission(REFERENCE).module
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        seconds, accuracy = grader_run_seconds(reference, device.type)
        click.echo(f"{device}: the grader's SST-2 run ({sst2_gpu.SST2_SETTING}): "
                   f"{seconds:.1f} s, dev accuracy {accuracy:.4f}")
        for fused in (False, True):
            seconds = epoch_seconds(reference.FeedforwardNet, hidden, batch_size, device, fused)
            click.echo(f"{device}: one epoch, 13,774 -> {hidden} -> 2, batch {batch_size}, "
                       f"Adam(fused={fused}): {seconds:.1f} s")


if __name__ == "__main__":
    main()
