"""Grading speed, warm workers against the cold path (a fresh interpreter per grading),
measured in the same run through the real sandboxed pipeline:

- `autograder grade solutions` (all seven reference solutions, in parallel on this
  machine's cores), as the CLI runs it: cold, then warm with the workers' start-up
  included, then warm again;
- seconds per grading of each reference, cold and warm, and submissions per hour
  per core;
- the warm worker's overhead per grading: a warm grading's time minus the same pytest
  run in this (already warm) process, without sandbox or fork.

    python benchmarks/grade_throughput.py [--assignment a1_backprop]
"""
from __future__ import annotations

import resource
import time

import click
import pytest

from autograder import pytest_plugin
from autograder.checks import ASSIGNMENTS
from autograder.grading import grade, grade_file, parallel_gradings
from autograder.release import SOLUTIONS


def timed(action, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = action(*args, **kwargs)
    return time.perf_counter() - start, result


@click.command()
@click.option("--assignment", "overhead_assignment", default="a1_backprop", show_default=True,
              help="The reference whose warm grading is compared with an in-process run.")
def main(overhead_assignment: str) -> None:
    cores = parallel_gradings()
    click.echo(f"{cores} core(s); every figure from this run")
    cold_all, _ = timed(grade, SOLUTIONS, cold=True)
    warm_first, _ = timed(grade, SOLUTIONS)
    warm_all, reports = timed(grade, SOLUTIONS)
    click.echo(f"grade solutions: cold {cold_all:.1f} s, warm with start-up {warm_first:.1f} s "
               f"({cold_all / warm_first:.2f}x faster), warm {warm_all:.1f} s "
               f"({cold_all / warm_all:.2f}x faster); scores "
               + ", ".join(f"{r.score:g}/{r.max_score:g}" for r in reports))

    cold_total = warm_total = 0.0
    for assignment in ASSIGNMENTS:
        notebook = SOLUTIONS / assignment / f"{assignment}.ipynb"
        cold, _ = timed(grade_file, assignment, notebook, cold=True)
        warm, _ = timed(grade_file, assignment, notebook)
        cold_total, warm_total = cold_total + cold, warm_total + warm
        click.echo(f"{assignment}: cold {cold:.1f} s, warm {warm:.1f} s per grading "
                   f"({cold / warm:.2f}x)")
    per_hour = 3600 * len(ASSIGNMENTS)
    click.echo(f"submissions (one assignment each) per hour per core: cold "
               f"{per_hour / cold_total:.0f}, warm {per_hour / warm_total:.0f} "
               f"({cold_total / warm_total:.2f}x)")

    notebook = SOLUTIONS / overhead_assignment / f"{overhead_assignment}.ipynb"
    warm, _ = timed(grade_file, overhead_assignment, notebook)
    args = ["-q", "-p", "no:cacheprovider", "--submission", str(notebook), "--assignment",
            overhead_assignment, "--pyargs", "autograder.pytest_checks"]
    in_process = min(timed(pytest.main, args, plugins=[pytest_plugin])[0]
                     for _ in range(2))  # the first run pays this process's own imports
    click.echo(f"warm worker overhead per grading ({overhead_assignment}): "
               f"{warm - in_process:.2f} s (warm {warm:.1f} s, in-process {in_process:.1f} s)")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    click.echo(f"peak memory of a grading child or worker: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
