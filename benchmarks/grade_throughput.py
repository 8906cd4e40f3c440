"""Seconds per graded submission, submissions per minute and the children's peak
memory, grading the reference solution of each assignment through the real
sandboxed pipeline (the same path `autograder grade` takes).

    python benchmarks/grade_throughput.py [--repeats 3]
"""
from __future__ import annotations

import resource
import statistics
import time

import click

from autograder.checks import ASSIGNMENTS
from autograder.grading import grade
from autograder.release import SOLUTIONS


@click.command()
@click.option("--repeats", default=3, show_default=True)
def main(repeats: int) -> None:
    for assignment in ASSIGNMENTS:
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            [report] = grade(SOLUTIONS / assignment)
            seconds.append(time.perf_counter() - start)
        median = statistics.median(seconds)
        click.echo(f"{assignment}: {median:.1f} s per submission (median of {repeats}), "
                   f"{60 / median:.1f} submissions/minute, "
                   f"score {report.score:g}/{report.max_score:g}")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    click.echo(f"peak memory of a grading child: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
