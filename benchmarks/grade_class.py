"""A class of submissions graded three ways: serially, with `--jobs 2`, and on a Dask
cluster of two single-threaded worker processes on loopback (`distributed.LocalCluster`,
a real scheduler and real workers). Prints each run's time, its ratio to the serial
run, and whether the three `grades.csv` agree check by check.

The class is built from a1's detector fixtures (correct ones and buggy ones, in turn).

    python benchmarks/grade_class.py [--students 40]
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import click
import pandas as pd
from distributed import LocalCluster

from autograder.batch import grade_students

A1 = "a1_backprop"
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / A1


def make_class(root: Path, students: int) -> Path:
    fixtures = sorted(FIXTURES.glob("*.py"))
    for number in range(students):
        folder = root / f"student{number:03d}" / A1
        folder.mkdir(parents=True)
        shutil.copyfile(fixtures[number % len(fixtures)], folder / f"{A1}.py")
    return root


@click.command()
@click.option("--students", default=40, show_default=True)
def main(students: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        submissions = make_class(root / "class", students)
        runs: dict[str, tuple[float, pd.DataFrame]] = {}
        for name, options in (("serial", {"jobs": 1}), ("--jobs 2", {"jobs": 2})):
            start = time.perf_counter()
            table, _ = grade_students(submissions, root / name, assignment=A1, **options)
            runs[name] = (time.perf_counter() - start, table)
        with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            start = time.perf_counter()
            table, _ = grade_students(submissions, root / "dask", assignment=A1,
                                      scheduler=cluster.scheduler_address)
            runs["Dask, 2 workers"] = (time.perf_counter() - start, table)
    serial_s, serial = runs["serial"]
    for name, (seconds, table) in runs.items():
        same = table.equals(serial)
        click.echo(f"{name}: {students} students in {seconds:.0f} s "
                   f"({serial_s / seconds:.2f}x the serial speed), "
                   f"{3600 * students / seconds:.0f} per hour; same CSV as serial: {same}")


if __name__ == "__main__":
    main()
