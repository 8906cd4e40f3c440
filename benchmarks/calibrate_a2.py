"""Calibrate a2's SST-2 threshold: run the grader's SST-2 training of a submission
(the reference solution by default) over several seeds and print the figures.

    python benchmarks/calibrate_a2.py [--submission PATH] [--seeds 10]
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import click
import torch

from autograder.checks.a2_training_loop import SST2_MIN_DEV_ACCURACY, sst2_run
from autograder.submission import load_submission

REFERENCE = Path(__file__).resolve().parents[1] / "solutions/a2_training_loop/a2_training_loop.ipynb"


@click.command()
@click.option("--submission", type=click.Path(exists=True, path_type=Path), default=REFERENCE)
@click.option("--seeds", default=10, show_default=True)
def main(submission: Path, seeds: int) -> None:
    torch.set_num_threads(1)
    module = load_submission(submission).module
    accuracies = []
    for seed in range(seeds):
        start = time.perf_counter()
        accuracies.append(sst2_run(module, seed))
        click.echo(f"seed {seed}: dev accuracy {accuracies[-1]:.4f} "
                   f"({time.perf_counter() - start:.1f} s for the run)")
    low = min(accuracies)
    click.echo(f"min {low:.4f}  mean {statistics.mean(accuracies):.4f}  "
               f"max {max(accuracies):.4f}  threshold {SST2_MIN_DEV_ACCURACY} "
               f"(margin {low - SST2_MIN_DEV_ACCURACY:.4f} below the minimum)")


if __name__ == "__main__":
    main()
