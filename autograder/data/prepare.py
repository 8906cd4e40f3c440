"""Build what grading reads from a dataset before any grading child starts, so that the
children only read the data folder (and a submission that changes it is caught).

A dataset's module in this package, named like the dataset (`sst2.py` for `sst2`), may
define `prepare(root)`; SST-2's builds its feature cache. A dataset whose module defines
none, or that has no module, needs nothing built.
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path


def prepare_dataset(name: str, root: Path | None = None) -> None:
    """Run `name`'s prepare step, if it has one, on the data under `root` (default:
    the data folder). A missing dataset raises `DataError` only if its step needs it."""
    module_name = f"{__package__}.{name}"
    if importlib.util.find_spec(module_name) is None:
        return
    step = getattr(importlib.import_module(module_name), "prepare", None)
    if step is not None:
        step(root)
