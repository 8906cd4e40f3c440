"""The data registry (`datasets/manifest.json`) and where fetched data lives.

Checks and loaders call `require_dataset`, which only looks for the files: hashing
belongs to the fetch step, not to every grading run.
"""
from __future__ import annotations

import functools
import json
import os
import shlex
from pathlib import Path

from autograder.paths import DATASETS, kit_path

MANIFEST_PATH = kit_path("datasets/manifest.json")
DATA_DIR_ENV = "AUTOGRADER_DATA_DIR"


class DataError(Exception):
    """A dataset is unknown, missing or unusable; the message says how to fix it."""


def data_dir() -> Path:
    """`$AUTOGRADER_DATA_DIR` if set, so data can live outside the checkout."""
    if value := os.environ.get(DATA_DIR_ENV):
        return Path(value).expanduser()
    return DATASETS


@functools.cache
def load_manifest() -> dict:
    with MANIFEST_PATH.open(encoding="utf-8") as f:
        return json.load(f)


def dataset_spec(name: str) -> dict:
    manifest = load_manifest()
    if name not in manifest:
        raise DataError(
            f"No dataset named {name!r} in {MANIFEST_PATH}; "
            f"known datasets: {', '.join(sorted(manifest))}."
        )
    return manifest[name]


def fetch_hint(name: str) -> str:
    """The command that gets `name`: datasets without a download need `--from`."""
    if dataset_spec(name).get("url"):
        return f"`autograder data fetch {name}` (or `--from DIR` for a local copy)"
    return f"`autograder data fetch {name} --from DIR` from a local copy"


def fetch_arguments(name: str) -> str:
    """What `autograder data fetch NAME` needs on a fresh machine with internet: nothing
    for a download, `--from URL` for data built from its public source; a `DataError`
    when it has neither (only a local copy will do)."""
    spec = dataset_spec(name)
    if spec.get("url"):
        return ""
    if "build" in spec:
        return f" --from {shlex.quote(spec['build']['url'])}"
    raise DataError(f"{spec['title']} ({name}) has neither a download nor a public source in "
                    f"the manifest: it needs a local copy ({', '.join(spec['files'])})")


def require_dataset(name: str, root: Path | None = None) -> Path:
    """The dataset's directory, or a `DataError` saying how to fetch it."""
    spec = dataset_spec(name)
    folder = (data_dir() if root is None else Path(root)) / name
    missing = [f for f in spec["files"] if not (folder / f).is_file()]
    if missing:
        raise DataError(
            f"{spec['title']} is not in {folder} (missing {', '.join(missing)}). "
            f"Fetch it with {fetch_hint(name)}, or point {DATA_DIR_ENV} at a "
            "directory that holds it."
        )
    return folder
