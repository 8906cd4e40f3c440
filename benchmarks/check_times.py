"""How long each check takes on the reference solution, and each check's time limit
(derived from that time by `registry.limit_from_reference`, unless the check declares
one). With `--write`, the medians of the checks that passed are saved to
`autograder/checks/reference_times.toml`, where the registry reads them.

    python benchmarks/check_times.py [--repeats 3] [--write]
"""
from __future__ import annotations

import statistics
from collections import defaultdict

import click

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.checks.registry import REFERENCE_TIMES
from autograder.grading import grade_file
from autograder.outcome import PASSED
from autograder.release import SOLUTIONS


@click.command()
@click.option("--repeats", default=3, show_default=True)
@click.option("--write", is_flag=True, help="Save the medians for the registry.")
def main(repeats: int, write: bool) -> None:
    seconds: dict[str, list[float]] = defaultdict(list)
    for assignment in ASSIGNMENTS:
        notebook = SOLUTIONS / assignment / f"{assignment}.ipynb"
        for _ in range(repeats):
            for result in grade_file(assignment, notebook).results:
                if result.status == PASSED:  # a skipped GPU check's time says nothing
                    seconds[f"{assignment}.{result.name}"].append(result.seconds)
    medians = {check_id: statistics.median(times) for check_id, times in seconds.items()}
    click.echo(f"{'check':60} {'reference s':>11} {'limit s':>8}")
    for assignment in ASSIGNMENTS:
        for check in checks_for(assignment):
            measured = f"{medians[check.id]:11.2f}" if check.id in medians else f"{'-':>11}"
            click.echo(f"{check.id:60} {measured} {check.timeout_s:8.0f}")
    total = {a: sum(medians.get(c.id, 0.0) for c in checks_for(a)) for a in ASSIGNMENTS}
    limits = {a: sum(c.timeout_s for c in checks_for(a)) for a in ASSIGNMENTS}
    for assignment in ASSIGNMENTS:
        click.echo(f"{assignment}: checks take {total[assignment]:.1f} s on the reference; "
                   f"a submission that hangs every check costs at most {limits[assignment]:.0f} s")
    if write:
        lines = [f'"{check_id}" = {value:.2f}' for check_id, value in sorted(medians.items())]
        REFERENCE_TIMES.write_text(
            "# Median seconds each check takes on the reference solution, measured by\n"
            "# benchmarks/check_times.py --write; the registry derives time limits from them.\n"
            + "\n".join(lines) + "\n")
        click.echo(f"written to {REFERENCE_TIMES}")


if __name__ == "__main__":
    main()
