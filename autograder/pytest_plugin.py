"""The pytest front-end: one test item per registered check.

Loaded with `-p autograder.pytest_plugin` together with the test module
`autograder.pytest_checks`. Each verdict is appended to `--results` the moment
it is known, signed (see `verdicts`), so a crash later in the run loses nothing
before it and lines the submission writes there are not trusted.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder import verdicts
from autograder.checks import checks_for
from autograder.course import time_limit
from autograder.outcome import Outcome, classify
from autograder.submission import Submission, SubmissionError, load_submission


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder")
    group.addoption("--submission", help="the student's notebook or module")
    group.addoption("--assignment", help="which assignment's checks to run")
    group.addoption("--results", help="file to append one signed record per verdict to")
    group.addoption("--key-fd", type=int, help="pipe holding the key that signs records")
    group.addoption("--public-only", action="store_true", help="skip hidden checks")


def pytest_configure(config: pytest.Config) -> None:
    """Take the signing key before any student code runs. Run by hand, without the
    grader's channel, records are not kept and pytest's own report is the result."""
    if config.option.key_fd is None:
        config._autograder_record = lambda record: None
        return
    key = verdicts.read_key(config.option.key_fd)
    results = Path(config.option.results)
    config._autograder_record = lambda record: verdicts.append(results, key, record)


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


@pytest.fixture(scope="session")
def record(pytestconfig: pytest.Config):
    return pytestconfig._autograder_record


@pytest.fixture(scope="session")
def submission(pytestconfig: pytest.Config, record) -> Submission | SubmissionError:
    try:
        loaded = load_submission(Path(pytestconfig.option.submission))
    except SubmissionError as exc:
        return exc
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - a time limit or exit() while loading
        return SubmissionError(f"loading it did not finish: {classify(exc).message}")
    record({"problems": loaded.problems})
    return loaded


@pytest.fixture
def record_outcome(record):
    def record_one(check, outcome: Outcome) -> None:
        record({"check": check.name, "status": outcome.status,
                "message": outcome.message, "detail": outcome.detail})
    return record_one
