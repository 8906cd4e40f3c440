"""The pytest front-end: one test item per registered check.

Loaded with `-p autograder.pytest_plugin` together with the test module
`autograder.pytest_checks`. Each verdict is appended to `--results` the moment
it is known, signed (see `verdicts`), so a crash later in the run loses nothing
before it and lines the submission writes there are not trusted.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from autograder import verdicts
from autograder.checks import checks_for
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
            item.add_marker(pytest.mark.timeout(check.timeout_s, method="signal"))


@pytest.fixture(scope="session")
def record(pytestconfig: pytest.Config):
    return pytestconfig._autograder_record


def pytest_collection_finish(session: pytest.Session) -> None:
    """Load the submission once, before any check and outside every check's time limit
    (each top-level statement has its own budget)."""
    config = session.config
    _import_what_training_imports()
    config._autograder_record({"started": verdicts.LOADING})
    config._autograder_submission = _load(Path(config.option.submission))
    if isinstance(config._autograder_submission, Submission):
        config._autograder_record({"problems": config._autograder_submission.problems})


def _import_what_training_imports() -> None:
    """torch imports some 800 modules (sympy among them) at the first optimizer step. Done
    here, that import can never be cut half-way by a time limit, which would leave a
    half-imported module behind for every later check, nor count against the student.
    The gradient is set by hand: on a machine with a GPU the first backward pass starts
    autograd's device threads, and no fork of this process could run backward after it."""
    model = torch.nn.Linear(1, 1)
    for parameter in model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    torch.optim.SGD(model.parameters(), lr=0.0).step()


def _load(path: Path) -> Submission | SubmissionError:
    try:
        return load_submission(path)
    except SubmissionError as exc:
        return exc
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - whatever escapes the statements' guards
        return SubmissionError(f"loading it did not finish: {classify(exc).message}")


@pytest.fixture(scope="session")
def submission(pytestconfig: pytest.Config) -> Submission | SubmissionError:
    return pytestconfig._autograder_submission


@pytest.fixture
def record_outcome(record):
    def record_one(check, outcome: Outcome, seconds: float) -> None:
        record({"check": check.name, "status": outcome.status, "message": outcome.message,
                "detail": outcome.detail, "seconds": round(seconds, 3),
                "figures": outcome.figures})
    return record_one
