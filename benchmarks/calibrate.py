"""Calibrate a threshold: run the grader's own calibrated run of a submission (the
reference solution by default) over several seeds and print the figures.

    python benchmarks/calibrate.py a2_training_loop [--submission PATH] [--seeds 10]

Every assignment whose check module defines `calibration_run(submission, seed) ->
(value, note)` can be calibrated; the threshold printed is its check's, as the registry
(and a course's autograder.toml) sets it.
"""
from __future__ import annotations

import importlib
import statistics
import time
from pathlib import Path

import click
import torch

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.checks.registry import thresholds
from autograder.release import SOLUTIONS
from autograder.submission import load_submission

CALIBRATED = [a for a in ASSIGNMENTS
              if hasattr(importlib.import_module(f"autograder.checks.{a}"), "calibration_run")]


@click.command()
@click.argument("assignment", type=click.Choice(CALIBRATED))
@click.option("--submission", type=click.Path(exists=True, path_type=Path),
              help="default: the reference solution")
@click.option("--seeds", default=10, show_default=True)
def main(assignment: str, submission: Path | None, seeds: int) -> None:
    """One grader run per seed, then min / mean / max and the margin to the threshold."""
    torch.set_num_threads(1)
    run = importlib.import_module(f"autograder.checks.{assignment}").calibration_run
    (check_id,) = [c.id for c in checks_for(assignment) if c.threshold is not None]
    module = load_submission(submission or SOLUTIONS / assignment / f"{assignment}.ipynb").module
    values = []
    for seed in range(seeds):
        start = time.perf_counter()
        value, note = run(module, seed)
        values.append(value)
        click.echo(f"seed {seed}: {value:.4f}, {note} "
                   f"({time.perf_counter() - start:.1f} s for the run)")
    limit = thresholds()[check_id]
    click.echo(f"min {min(values):.4f}  mean {statistics.mean(values):.4f}  "
               f"max {max(values):.4f}  threshold {limit} for {check_id} "
               f"(margin {min(values) - limit:.4f} below the minimum)")


if __name__ == "__main__":
    main()
