"""The pytest front-end: one test item per registered check.

Loaded with `-p autograder.pytest_plugin` together with the test module
`autograder.pytest_checks`. Each verdict is appended to `--results` as a JSON
line the moment it is known, so a crash later in the run loses nothing before it.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from autograder.checks import checks_for
from autograder.course import time_limit
from autograder.outcome import Outcome
from autograder.submission import Submission, SubmissionError, load_submission


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder")
    group.addoption("--submission", help="the student's notebook or module")
    group.addoption("--assignment", help="which assignment's checks to run")
    group.addoption("--results", help="file to append one JSON line per verdict to")
    group.addoption("--public-only", action="store_true", help="skip hidden checks")


def pytest_configure(config: pytest.Config) -> None:
    torch.set_num_threads(1)  # faster than 2 on a shared 2-core machine, and reproducible


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "check" not in metafunc.fixturenames:
        return
    options = metafunc.config.option
    checks = [c for c in checks_for(options.assignment) if not (options.public_only and c.hidden)]
    metafunc.parametrize("check", checks, ids=[c.name for c in checks])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        check = getattr(item, "callspec", None) and item.callspec.params.get("check")
        if check is not None:
            item.add_marker(pytest.mark.timeout(time_limit("check_s", check.timeout_s),
                                                method="signal"))


def _write(config: pytest.Config, record: dict) -> None:
    with open(config.option.results, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


@pytest.fixture(scope="session")
def submission(pytestconfig: pytest.Config) -> Submission | SubmissionError:
    try:
        loaded = load_submission(Path(pytestconfig.option.submission))
    except SubmissionError as exc:
        return exc
    _write(pytestconfig, {"problems": loaded.problems})
    return loaded


@pytest.fixture
def record_outcome(pytestconfig: pytest.Config):
    def record(check, outcome: Outcome) -> None:
        _write(pytestconfig, {"check": check.name, "status": outcome.status,
                              "message": outcome.message, "detail": outcome.detail})
    return record
