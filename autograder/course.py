"""A course's own settings, read from `autograder.toml`, over the kit's defaults.

    [thresholds]                      # calibrated minimums, per check id (see registry)
    "a2_training_loop.sst2_dev_accuracy" = 0.81

    [time_limits]
    check_s = 120                     # replaces every check's own limit
    "a2_training_loop.sst2_dev_accuracy" = 900   # replaces one check's limit
    assignment_s = 1800               # replaces the limit on a whole assignment

    [grading]
    warm_workers = false              # a fresh interpreter per grading (slower)

The file is `$AUTOGRADER_CONFIG`, else `autograder.toml` at the repository root;
without one, the defaults beside each check apply.
"""
from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path

from autograder.paths import REPO_ROOT

CONFIG_ENV = "AUTOGRADER_CONFIG"


def settings_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or REPO_ROOT / "autograder.toml")


@cache
def course_settings() -> dict:
    path = settings_path()
    if not path.is_file():
        return {}
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def time_limit(key: str, default: float) -> float:
    return float(course_settings().get("time_limits", {}).get(key, default))
