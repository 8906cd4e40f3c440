"""Fixtures shared by the kit's own tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.course import CONFIG_ENV, course_settings

SHARED_SST2_ENV = "AUTOGRADER_SHARED_SST2"
SHARED_LANGID_ENV = "AUTOGRADER_SHARED_LANGID"


@pytest.fixture(scope="session")
def shared_sst2_dir() -> Path:
    """The verified SST-2 copy that stands in for GLUE's download (no internet here)."""
    default = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sst2"
    folder = Path(os.environ.get(SHARED_SST2_ENV) or default)
    missing = [f for f in ("train.tsv", "dev.tsv") if not (folder / f).is_file()]
    if missing:
        pytest.fail(
            f"The verified SST-2 copy is not in {folder} (missing {', '.join(missing)}). "
            f"Set {SHARED_SST2_ENV} to a directory holding GLUE's train.tsv and dev.tsv.",
            pytrace=False,
        )
    return folder


@pytest.fixture(scope="session")
def shared_langid_dir() -> Path:
    """The verified language-identification split (built from the Tatoeba Challenge;
    no internet here to build it again)."""
    default = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "langid"
    folder = Path(os.environ.get(SHARED_LANGID_ENV) or default)
    missing = [f for f in ("train.tsv", "dev.tsv", "test.tsv") if not (folder / f).is_file()]
    if missing:
        pytest.fail(
            f"The verified langid copy is not in {folder} (missing {', '.join(missing)}). "
            f"Set {SHARED_LANGID_ENV} to a directory holding its train.tsv, dev.tsv and test.tsv.",
            pytrace=False,
        )
    return folder


@pytest.fixture
def course_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a course's autograder.toml for this test: `course_config("[thresholds] …")`."""
    def write(text: str) -> None:
        path = tmp_path / "autograder.toml"
        path.write_text(text)
        monkeypatch.setenv(CONFIG_ENV, str(path))
        course_settings.cache_clear()
    yield write
    course_settings.cache_clear()
