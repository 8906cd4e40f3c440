"""Calibrate the SST-2 thresholds: run the grader's own SST-2 run of a submission (the
reference solution by default) over several seeds and print the figures.

    python benchmarks/calibrate.py a2_training_loop [--submission PATH] [--seeds 10]
    python benchmarks/calibrate.py a3_regularization
    python benchmarks/calibrate.py a4_early_stopping

For a4 each line also gives where the run stopped: the thresholds assume every run stops
before its last epoch.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import click
import torch

from autograder.checks import a2_training_loop as a2
from autograder.checks import a3_regularization as a3
from autograder.checks import a4_early_stopping as a4
from autograder.submission import load_submission

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def a2_seed(module: ModuleType, seed: int) -> tuple[float, str]:
    return a2.sst2_run(module, seed), f"{a2.SST2_EPOCHS} epochs"


def a3_seed(module: ModuleType, seed: int) -> tuple[float, str]:
    return a3.sst2_run(module, seed), f"{a3.SST2_EPOCHS} epochs"


def a4_seed(module: ModuleType, seed: int) -> tuple[float, str]:
    run, accuracy, total = a4.sst2_run(module, seed)
    best = run.result["best_step"] if isinstance(run.result, dict) else "?"
    return accuracy, (f"stopped at step {run.steps} of {total} (epoch "
                      f"{1 + (run.steps - 1) * a4.SST2_RUN['max_epochs'] // total}), "
                      f"best step {best}, {len(run.evaluated_steps)} evaluations")


RUNS: dict[str, tuple[Callable[[ModuleType, int], tuple[float, str]], float]] = {
    "a2_training_loop": (a2_seed, a2.SST2_MIN_DEV_ACCURACY),
    "a3_regularization": (a3_seed, a3.SST2_MIN_DEV_ACCURACY),
    "a4_early_stopping": (a4_seed, a4.SST2_MIN_DEV_ACCURACY),
}


def calibrate(run: Callable[[ModuleType, int], tuple[float, str]], module: ModuleType,
              seeds: int, minimum: float) -> None:
    """One grader run per seed, then min / mean / max and the margin to `minimum`."""
    accuracies = []
    for seed in range(seeds):
        start = time.perf_counter()
        accuracy, note = run(module, seed)
        accuracies.append(accuracy)
        click.echo(f"seed {seed}: dev accuracy {accuracy:.4f}, {note} "
                   f"({time.perf_counter() - start:.1f} s for the run)")
    low = min(accuracies)
    click.echo(f"min {low:.4f}  mean {statistics.mean(accuracies):.4f}  "
               f"max {max(accuracies):.4f}  threshold {minimum} "
               f"(margin {low - minimum:.4f} below the minimum)")


@click.command()
@click.argument("assignment", type=click.Choice(sorted(RUNS)))
@click.option("--submission", type=click.Path(exists=True, path_type=Path),
              help="default: the reference solution")
@click.option("--seeds", default=10, show_default=True)
def main(assignment: str, submission: Path | None, seeds: int) -> None:
    torch.set_num_threads(1)
    path = submission or SOLUTIONS / assignment / f"{assignment}.ipynb"
    run, minimum = RUNS[assignment]
    calibrate(run, load_submission(path).module, seeds, minimum)


if __name__ == "__main__":
    main()
