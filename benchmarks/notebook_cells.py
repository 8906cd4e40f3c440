"""Seconds per cell when a solution notebook runs top to bottom, slowest first: the
figure behind nbgrader's per-cell time limit (`c.Execute.timeout` in nbgrader_config.py).

    python benchmarks/notebook_cells.py [ASSIGNMENT ...] [--top 5]
"""
from __future__ import annotations

import time

import click
import nbformat
from nbclient import NotebookClient

from autograder.checks import ASSIGNMENTS
from autograder.paths import REPO_ROOT
from autograder.release import SOLUTIONS


class TimedClient(NotebookClient):
    """Records each cell's wall time as it executes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds: list[tuple[float, int, str]] = []

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        start = time.perf_counter()
        result = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or cell.source[:40]
        self.seconds.append((time.perf_counter() - start, cell_index, label.replace("\n", " ")))
        return result


@click.command()
@click.argument("assignments", nargs=-1)
@click.option("--top", default=5, show_default=True)
def main(assignments: tuple[str, ...], top: int) -> None:
    for assignment in assignments or ASSIGNMENTS:
        notebook = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
        client = TimedClient(notebook, timeout=1800, kernel_name="python3",
                             resources={"metadata": {"path": str(REPO_ROOT)}})
        start = time.perf_counter()
        client.execute()
        click.echo(f"{assignment}: {time.perf_counter() - start:.1f} s in all; slowest cells:")
        for seconds, index, label in sorted(client.seconds, reverse=True)[:top]:
            click.echo(f"  cell {index:3d} {seconds:6.1f} s  {label}")


if __name__ == "__main__":
    main()
